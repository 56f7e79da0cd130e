# %% [markdown]
# # Data: target and reference photos
#
# Colour transfer needs no dataset and has no ground truth: one run is a *target*
# photo whose colours are replaced and a *reference* photo that supplies them.
# The paper shows three pairs of its own (Fig. 6); none of them ships offline, so this
# chapter uses the real photos bundled with scikit-image, scikit-learn and matplotlib,
# curated into pairs of similar content (landscapes, portraits, objects) and one
# deliberately hard cross-domain pair. Any image path works with the same code
# (`companion.colortransfer.data.load_image`).

# %% tags=["remove-cell"]
# Installs the book's library when it is missing (Colab, a fresh Jupyter); does nothing otherwise.
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

if importlib.util.find_spec("companion") is None:
    source = os.environ.get("COMPANION_SOURCE", "https://github.com/companion-book/five-papers")
    clone = Path(os.environ.get("COMPANION_CLONE_DIR", Path.home() / "companion-book"))
    if not clone.exists():
        subprocess.run(["git", "clone", "--depth", "1", source, str(clone)], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-e", f"{clone / 'lib'}[notebook]"], check=True)
    sys.path.insert(0, str(clone / "lib"))
    print(f"installed the companion library from {source} into {clone}")

# %% tags=["parameters"]
profile = "default"
seed = 0
device = "auto"
max_side = 256
features = "efficientnet"
cpu_threads = 1
n_pairs = 12

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from skimage.color import rgb2lab

from companion.book import record
from companion.colortransfer.data import BUNDLED, load_image, load_pair, pairs

# %% [markdown]
# ## The photos
# Every bundled photo at its native size (the table's height and width), with its mean
# lightness and chroma in CIE Lab. The chapter downscales every photo so that its longer
# side is `max_side` pixels, a parameter of the profile (printed under the pair list).

# %%
rows = []
for name in BUNDLED:
    img = load_image(name)
    lab = rgb2lab(img)
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    rows.append(dict(name=name, height=img.shape[0], width=img.shape[1], megapixels=img.shape[0] * img.shape[1] / 1e6,
                     mean_L=lab[..., 0].mean(), mean_chroma=chroma.mean(), p95_chroma=np.percentile(chroma, 95)))
photos = pd.DataFrame(rows).set_index("name")
photos.round(2)

# %% [markdown]
# ## The pairs used in this profile
# Colours go from the reference to the target.

# %%
chosen = pairs(n_pairs)
print(f"profile {profile}: {len(chosen)} pairs, photos downscaled to a longer side of {max_side} px")
pd.DataFrame([dict(pair=p.name, target=p.target, reference=p.reference, kind=p.kind) for p in chosen])

# %%
fig, axes = plt.subplots(len(chosen), 2, figsize=(5.5, 2.2 * len(chosen)), squeeze=False)
for row, pair in zip(axes, chosen):
    target, reference = load_pair(pair, max_side)
    for ax, img, role in zip(row, (target, reference), ("target", "reference")):
        ax.imshow(img)
        ax.set_title(f"{role}: {getattr(pair, role)} {img.shape[1]}x{img.shape[0]}", fontsize=8)
        ax.axis("off")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Colour distributions
# What a transfer has to move: the distribution of each image in the chromatic plane
# (a*, b* of CIE Lab). Pairs whose clouds barely overlap (the cross-domain pair) are
# where global methods and local matching disagree most.

# %%
names = sorted({n for p in chosen for n in (p.target, p.reference)})
fig, axes = plt.subplots(1, len(names), figsize=(2.3 * len(names), 2.5), sharex=True, sharey=True, squeeze=False)
for ax, name in zip(axes[0], names):
    lab = rgb2lab(load_image(name, max_side)).reshape(-1, 3)
    ax.hist2d(lab[:, 1], lab[:, 2], bins=60, range=[[-60, 80], [-80, 80]], cmap="magma", cmin=1)
    ax.set_title(name, fontsize=8)
    ax.set_xlabel("a*")
axes[0, 0].set_ylabel("b*")
fig.tight_layout()
plt.show()

# %%
used = photos.loc[names]
record("colortransfer/01-data",
       {"n_pairs": len(chosen), "n_images": len(names), "mean_megapixels_native": used.megapixels.mean(),
        "mean_chroma_native": used.mean_chroma.mean()},
       profile=profile, seed=seed, data=f"{len(chosen)} pairs of bundled photos (skimage, sklearn, matplotlib)")

# %% [markdown]
# This profile ({glue:text}`n_pairs:.0f` pairs over {glue:text}`n_images:.0f` photos) uses
# images of {glue:text}`mean_megapixels_native:.2f` megapixels on average before they are
# downscaled to a longer side of `max_side` pixels; their mean CIE Lab chroma is
# {glue:text}`mean_chroma_native:.1f`.

# %% [markdown]
# ## Exercises

# %% [markdown]
# ```{exercise} Predict, then run: which pair is furthest apart in colour?
# :label: colortransfer-ex-pair-distance
#
# Look at the a\*, b\* clouds above. For the pairs of this profile, predict which one has
# the target and reference colour distributions furthest apart, and which is closest. Then
# measure it: `companion.colortransfer.evaluate.sliced_wasserstein(target, reference, seed=seed)`
# gives the sliced Wasserstein-2 distance between the two images' colours in CIE Lab. Is the
# cross-domain pair (microscopy and deep space) the furthest, and why might it not be?
# ```

# %% [markdown] tags=["solution"]
# ```{solution-start} colortransfer-ex-pair-distance
# :class: dropdown
# ```

# %% [markdown] tags=["solution"]
# One distance per pair of this profile, at the profile's image size:

# %% tags=["solution"]
from companion.colortransfer.evaluate import sliced_wasserstein

pair_distance = pd.Series({p.name: sliced_wasserstein(*load_pair(p, max_side), seed=seed) for p in chosen},
                          name="SWD target-reference (Lab)").sort_values()
print(pair_distance.round(2).to_string())
print(f"furthest: {pair_distance.index[-1]}, closest: {pair_distance.index[0]} (profile {profile})")

# %% [markdown] tags=["solution"]
# The printed table ranks the pairs. The distance compares whole colour distributions,
# including lightness: two photos of different scenes can be close if their L\* histograms
# and their dominant chroma agree, and a pair that "looks" cross-domain is not necessarily
# far (both microscopy and deep-space photos are dark with a few saturated blobs). A large
# distance says how much a global method must move the colours; it says nothing about
# whether a semantic match exists, which is what the superpixel matching needs.
# In the `smoke` profile only the first two pairs run (china and rocket, both directions):
# the distance is symmetric in its two images (each image gets the same seeded pixel
# subsample and the same random projections whichever role it plays), so both lines print
# the same number and "furthest" and "closest" are a tie.

# %% [markdown] tags=["solution"]
# ```{solution-end}
# ```
