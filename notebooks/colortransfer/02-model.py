# %% [markdown]
# # The model: super-features and attention
#
# Nothing is trained. The "model" is a fixed pipeline (Sec. 3 of the paper):
# SLIC superpixels on each image, per-pixel features from the first layers of an
# ImageNet CNN, their average over each superpixel (the *super-features*, Fig. 2), and
# an attention map between target and reference super-features (Eqs. 1-2, Fig. 3).
# The paper uses VGG-19; no VGG weights ship offline, so the default is the early
# blocks of the ImageNet EfficientNet-Lite0 (offline package). `features="vgg19"`
# with a local weights file gives the paper's setting.

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

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from companion.book import record
from companion.colortransfer import figures, matching
from companion.colortransfer.data import PAIRS, load_pair
from companion.colortransfer.models import build_extractor, parameter_counts
from companion.core import seed_everything, select_device

seed_everything(seed)
if cpu_threads:
    torch.set_num_threads(cpu_threads)
dev = select_device(device)
pair = PAIRS[0]
target, reference = load_pair(pair, max_side)
print(pair.name, target.shape, reference.shape, dev)

# %% [markdown]
# ## Step 1: superpixels
# SLIC with `3·sqrt(n)` segments for an n-pixel image (Sec. 4.1), run on the colour image.

# %%
t_labels, r_labels = matching.superpixels(target), matching.superpixels(reference)
n_t, n_r = t_labels.max() + 1, r_labels.max() + 1
print(f"target: {n_t} superpixels (asked {matching.n_superpixels(target.shape[0] * target.shape[1])}), "
      f"reference: {n_r}")

# %% [markdown]
# ## Step 2: full-resolution features
# Each extractor returns an (H, W, C) map at the image's resolution; coarser layers are
# upsampled bilinearly. Parameters are all frozen.

# %%
rows = []
extractors = {}
for kind, depth in [(features, "shallow"), (features, "deep"), ("handcrafted", "shallow")]:
    ex = build_extractor(kind, depth=depth, device=dev)
    extractors[(kind, depth)] = ex
    f = ex(target)
    rows.append(dict(extractor=kind, depth=depth, taps=str(getattr(ex, "taps", "Lab, Sobel, local stats")),
                     shape=tuple(f.shape), **parameter_counts(ex)))
pd.DataFrame(rows)

# %%
extractor = extractors[(features, "shallow")]
f_t, f_r = extractor(target), extractor(reference)

# %% [markdown]
# ## Step 3: super-features (Fig. 2)
# `super_features(features, labels)` averages the C channels over each superpixel:
# (H, W, C) becomes (N, C). Below, the first three principal components of the features,
# and the same components pooled per superpixel.

# %%
sf_t, sf_r = matching.super_features(f_t, t_labels), matching.super_features(f_r, r_labels)
print("super-features:", tuple(sf_t.shape), tuple(sf_r.shape))
figures.super_feature_figure(target, t_labels, f_t.cpu(), sf_t)
plt.show()

# %% [markdown]
# ## Step 4: attention (Fig. 3)
# `M` is the centred cosine correlation of Eq. 2 (we subtract each image's mean
# super-feature; see the reading notes) and `A = softmax_rows(M / τ)` with τ = 0.02.
# Each row is a probability distribution over the reference superpixels.

# %%
M = matching.correlation(sf_t, sf_r)
A = matching.attention_map(sf_t, sf_r, tau=0.02)
row_err = (A.sum(1) - 1).abs().max().item()
print(f"M in [{M.min():.2f}, {M.max():.2f}]; A {tuple(A.shape)}, rows sum to 1 within {row_err:.1e}; "
      f"mean of each row's largest weight {A.max(1).values.mean():.3f}")
figures.attention_heatmap(A, f"A, τ = 0.02 ({pair.name})")
plt.show()

# %% [markdown]
# ## Step 5: colours per superpixel
# Each target superpixel receives `A @ Ī_R`, the attention-weighted mean colour of the
# reference superpixels (the paper's "direct matching", Fig. 4). The pixel-level fusion
# and regrain that follow are shown in the qualitative notebook.

# %%
direct = matching.paint_superpixels(matching.direct_matching(A, matching.mean_colors(reference, r_labels)), t_labels)
figures.image_row([target, reference, direct], ["target", "reference", "direct superpixel matching"])
plt.show()

# %%
sqrt_n = [np.sqrt(target.shape[0] * target.shape[1]), np.sqrt(reference.shape[0] * reference.shape[1])]
record("colortransfer/02-model",
       {"feature_channels": extractor.channels, "superpixels_per_sqrt_n": float(np.mean([n_t / sqrt_n[0], n_r / sqrt_n[1]])),
        "extractor_parameters": parameter_counts(extractor)["used"], "attention_row_sum_error": row_err,
        "attention_row_max_mean": A.max(1).values.mean().item()},
       profile=profile, seed=seed, device=str(dev), data=f"pair {pair.name}, longer side {max_side} px")

# %% [markdown]
# With {glue:text}`feature_channels:.0f` feature channels (the paper's VGG layers give 64 or
# 128) and SLIC returning {glue:text}`superpixels_per_sqrt_n:.2f`·sqrt(n) superpixels (asked: 3),
# the attention map is N_T x N_R, about 9n entries instead of the n² of pixel attention.

# %% [markdown]
# ## Exercises

# %% [markdown]
# ```{exercise} Predict, then run: what does τ do to the attention map?
# :label: colortransfer-ex-tau
#
# The paper sets τ = 0.02 (Sec. 4.1) and shows in Fig. 4 that a larger τ "over-smooths" the
# attention while a small one gives a "hard one-to-one matching". On this page's pair,
# predict for τ = 0.2, 0.02 and 0.002: (a) the mean of each row's largest weight (printed
# above for τ = 0.02), (b) the *effective number* of reference superpixels a target
# superpixel draws from, exp(entropy of its row), and (c) how many distinct reference
# superpixels receive the largest weight of at least one row. Then compute the three with
# `matching.attention_map(sf_t, sf_r, tau=...)`. Which of the three does τ leave unchanged,
# and why?
# ```

# %% [markdown] tags=["solution"]
# ```{solution-start} colortransfer-ex-tau
# :class: dropdown
# ```

# %% tags=["solution"]
tau_rows = []
for tau_try in (0.2, 0.02, 0.002):
    attention_try = matching.attention_map(sf_t, sf_r, tau=tau_try)
    entropy = -(attention_try * attention_try.clamp_min(1e-30).log()).sum(1)
    tau_rows.append(dict(tau=tau_try, row_max_mean=attention_try.max(1).values.mean().item(),
                         effective_matches=entropy.exp().mean().item(),
                         distinct_argmax=len(set(attention_try.argmax(1).tolist())), reference_superpixels=n_r))
print(pd.DataFrame(tau_rows).round(3).to_string(index=False))

# %% [markdown] tags=["solution"]
# As τ falls, the largest weight of each row grows towards 1 and the effective number of
# matches falls towards 1: the softmax of M/τ sharpens (the printed table shows by how much
# on this pair and profile). The number of distinct argmax columns does not change at all:
# dividing a row by a positive τ does not reorder it, so every τ picks the same best
# reference superpixel for each target superpixel. τ only decides how much the *other*
# candidates contribute. That is also why a hard argmax is the τ → 0 limit of the same
# matching, and why it reuses the same few reference superpixels: nothing in Eq. 1 spreads
# the target superpixels over the reference (Giraud et al.'s constrained matching does).

# %% [markdown] tags=["solution"]
# ```{solution-end}
# ```

# %% [markdown]
# ```{exercise} Derive: direct matching is a soft nearest neighbour
# :label: colortransfer-ex-soft-nn
#
# Take Eqs. 3-4 with the fusion kernel replaced by superpixel membership,
# d(p, i) = 1 when pixel p lies in target superpixel i and 0 otherwise. (a) Show that every
# pixel of superpixel i then gets the colour $c_i = \sum_j A(i, j)\, \bar I_R(j)$, the "direct
# matching" of Fig. 4. (b) Write $c_i$ as a kernel-weighted average over the reference
# superpixels and say what "distance" the kernel uses. (c) What is $c_i$ in the limits
# τ → 0 and τ → ∞? (d) Why can the direct matching never produce a colour more saturated
# than the reference superpixel colours, and how does that bear on the paper's remark that
# its results are "realistic but opaque"?
# ```

# %% [markdown] tags=["solution"]
# ```{solution} colortransfer-ex-soft-nn
# :class: dropdown
#
# (a) With $d(p, i) = [p \in i]$, Eq. 4 gives $W(p, j) = A(i(p), j)$ for the superpixel
# $i(p)$ that contains p. Rows of A sum to one, so the denominator of Eq. 3 is 1 and
# $\hat I_T(p) = \sum_j A(i(p), j)\, \bar I_R(j) = c_{i(p)}$.
#
# (b) With $m_{ij} = \mathcal M_{TR}(i, j)$, the centred cosine similarity of Eq. 2,
#
# $$c_i = \frac{\sum_j e^{m_{ij}/\tau}\, \bar I_R(j)}{\sum_j e^{m_{ij}/\tau}}.$$
#
# This is a Nadaraya-Watson (kernel) regression of the reference colours on the
# super-features, with the kernel $e^{m/\tau}$. Since $m_{ij} = 1 - \tfrac12\|u_i - v_j\|^2$
# for the unit vectors $u_i, v_j$ of the centred super-features,
# $e^{m_{ij}/\tau} \propto e^{-\|u_i - v_j\|^2 / (2\tau)}$: a Gaussian kernel of width
# $\sqrt{\tau}$ on the unit sphere. A soft nearest neighbour in that distance.
#
# (c) Let $j^* = \arg\max_j m_{ij}$ (unique). Dividing numerator and denominator by
# $e^{m_{ij^*}/\tau}$, every other weight is $e^{-(m_{ij^*} - m_{ij})/\tau} \to 0$ as τ → 0, so
# $c_i \to \bar I_R(j^*)$: the hard nearest neighbour (the chapter's "hard argmax" row). As
# τ → ∞ every weight tends to 1, so $c_i \to \frac{1}{N_R}\sum_j \bar I_R(j)$, the unweighted
# mean of the reference superpixel colours, the same for every target superpixel. At the
# paper's τ = 0.02 a competitor whose similarity is 0.05 below the best keeps a relative
# weight $e^{-0.05/0.02} = e^{-2.5} \approx 0.08$; one 0.1 below keeps $e^{-5} \approx 0.007$.
#
# (d) $c_i$ is a convex combination of the $\bar I_R(j)$, so it lies in their convex hull, and
# each $\bar I_R(j)$ is itself an average of the pixels of superpixel j. Averaging colours
# moves them towards grey whenever they differ in hue, so both steps can only lose
# saturation: these are exactly the two causes the paper names (superpixel averages and the
# smoothing by τ). The fusion of Eq. 3 is a convex combination again; only the regrain can
# add back the target's detail, not the reference's saturation.
# ```
