# %% [markdown]
# # Qualitative figures
#
# The paper's figures redrawn from our runs: the inputs (Fig. 1), superpixels and
# super-features (Fig. 2), the attention map (Fig. 3), direct superpixel matching for
# three temperatures (Fig. 4), fusion without and with attention (Fig. 5), and the
# comparison grid (Fig. 6). All images are the bundled photos at a longer side of
# `max_side` pixels (see the parameters cell).

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
n_pairs = 4

# %%
import matplotlib.pyplot as plt
import torch

from companion.book import record
from companion.colortransfer import figures, matching
from companion.colortransfer.data import PAIRS, load_pair, pairs
from companion.colortransfer.evaluate import METHOD_LABELS, METHODS, evaluate_pairs
from companion.colortransfer.pipeline import cached_extractor, transfer
from companion.core import seed_everything, select_device

seed_everything(seed)
if cpu_threads:
    torch.set_num_threads(cpu_threads)
dev = select_device(device)
pair = PAIRS[0]
target, reference = load_pair(pair, max_side)

# %% [markdown]
# ## Fig. 1: the inputs

# %%
figures.image_row([target, reference], [f"target ({pair.target})", f"reference ({pair.reference})"], height=3)
plt.show()

# %% [markdown]
# ## Figs. 2-3: superpixels, super-features and attention

# %%
result, det = transfer(target, reference, features=features, device=dev, return_details=True)
feats = cached_extractor(features, "shallow", None, str(dev))(target).cpu()
figures.super_feature_figure(target, det["target_labels"], feats, det["target_super_features"])
plt.show()
figures.attention_heatmap(det["attention"], f"attention map A, τ = 0.02 ({pair.name})")
plt.show()

# %% [markdown]
# ## Fig. 4: direct superpixel matching for τ ∈ {0.1, 0.02, 9·10⁻⁴}
# Large τ spreads each row of A over many reference superpixels (washed-out, averaged
# colours); small τ makes it nearly one-to-one.

# %%
taus = [0.1, 0.02, 9e-4]
ref_colors = matching.mean_colors(reference, det["reference_labels"])
attn = [matching.attention_map(det["target_super_features"], det["reference_super_features"], tau) for tau in taus]
direct = [matching.paint_superpixels(matching.direct_matching(a, ref_colors), det["target_labels"]) for a in attn]
figures.tau_sweep_figure(direct, attn, taus)
plt.show()

# %% [markdown]
# ## Fig. 5: colour fusion with a hard match and with attention
# Left, the hard argmax of the same deep super-features (the τ → 0 limit, fusion kept);
# right, the attention map of Eq. 1. Both before and after the regrain. The paper's Fig. 5
# compares with Giraud et al.'s transfer instead; its stand-in here (colour statistics,
# capacity-constrained matching) is measured on the ablation and evaluation pages.

# %%
hard_fused = transfer(target, reference, features=features, device=dev, attention="hard", regrain=False)
hard = transfer(target, reference, features=features, device=dev, attention="hard")
figures.image_row([hard_fused, det["fused"], hard, result],
                  ["hard argmax, fusion", "attention, fusion", "hard argmax + regrain", "attention + regrain"],
                  ncols=2, height=3)
plt.show()

# %% [markdown]
# ## Fig. 6: comparison with the baselines

# %%
chosen = pairs(n_pairs)
_, images = evaluate_pairs(chosen, METHODS, max_side=max_side, seed=seed, device=dev, keep_images=True,
                           features=features)
figures.comparison_grid(images, [p.name for p in chosen], ["target", "reference", *METHODS],
                        {"target": "target", "reference": "reference", **METHOD_LABELS})
plt.show()

# %%
record("colortransfer/06-qualitative",
       {f"row_max_tau_{str(t).replace('.', 'p').replace('-', 'm')}": a.max(1).values.mean().item()
        for t, a in zip(taus, attn)},
       profile=profile, seed=seed, device=str(dev), data=f"pair {pair.name}, longer side {max_side} px")

# %% [markdown]
# The mean of each attention row's largest weight measures how peaked the matching is:
# {glue:text}`row_max_tau_0p1:.3f` at τ = 0.1, {glue:text}`row_max_tau_0p02:.3f` at τ = 0.02 and
# {glue:text}`row_max_tau_0p0009:.3f` at τ = 9·10⁻⁴ on this pair.
