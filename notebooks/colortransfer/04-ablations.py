# %% [markdown]
# # Ablations: what the paper's contribution changes
#
# The paper adds three things to Giraud et al.'s superpixel colour transfer
# {cite}`ct-giraud2017`: **deep super-features** (CNN features averaged over superpixels),
# an **attention map** between them (a temperature softmax, Eq. 1) and the **fusion of
# that map** into the per-pixel colours (Eqs. 3-6); it ends with Pitié's **regrain**
# {cite}`ct-pitie2005`. The first table below takes each of them out in turn, on the same
# photo pairs, and measures every result with and without the regrain:
#
# - *features*: the chapter's CNN super-features, or hand-crafted **colour statistics**
#   (mean and spread of L\*, a\*, b\* per superpixel, standardised within each image);
# - *matching*: the soft attention of Eq. 1, a **hard argmax** of the same correlation (the
#   τ → 0 limit: deep features kept, only the softmax removed), or a **capacity-constrained**
#   one-to-few assignment in which each reference superpixel may serve at most twice its fair
#   share of target superpixels (in the spirit of Giraud et al.'s constrained matching, the
#   paper's Fig. 5 comparison; solved exactly with scipy's linear assignment);
# - *fusion*: over adjacent superpixels (the chapter's default, linear cost) or over all of
#   them (**exact Eq. 4**);
# - *regrain* on or off, for every method, with Reinhard {cite}`ct-reinhard2001` and Pitié's
#   IDT {cite}`ct-pitie2007` + regrain as controls, and the untouched target.
#
# Measures (lower is better unless said): **segment chroma spread** (chroma standard
# deviation of the result inside regions of a Felzenszwalb segmentation of the *target*,
# not the method's own superpixels: the paper's "spatial consistency"), **flat chroma
# edges** (the result's chroma gradient where the target has no luminance edge: halos,
# blotches, seams), **colourfulness** (no better direction: the paper expects "opaque"
# results), luminance **SSIM** to the target (higher keeps more structure; the identity
# scores 1) and the **sliced Wasserstein** distance to the reference's colours. The method
# is deterministic: the spread is across photo pairs, and each row is compared with ours
# pair by pair (Wilcoxon signed-rank test and win counts).

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
n_pairs = 3
contribution_pairs = 12

# %%
import matplotlib.pyplot as plt
import pandas as pd
import torch

from companion.book import record
from companion.book.paths import cache_dir
from companion.colortransfer import figures
from companion.colortransfer.data import pairs
from companion.colortransfer.evaluate import ABLATIONS, CONTRIBUTION_ROWS, ablation_summary, ablation_table
from companion.colortransfer.train import TrainConfig, train_or_load
from companion.core import seed_everything, select_device

pd.set_option("display.max_columns", None)
pd.set_option("display.width", 250)
seed_everything(seed)
if cpu_threads:
    torch.set_num_threads(cpu_threads)
dev = select_device(device)
config = TrainConfig.from_params(dict(max_side=max_side, contribution_pairs=contribution_pairs, features=features,
                                      seed=seed, cpu_threads=cpu_threads))
run = train_or_load(config, cache_dir=cache_dir(f"colortransfer-{profile}"), device=dev)
table = run.table
print(f"{table.pair.nunique()} photo pairs, longer side {max_side} px, profile {profile}; "
      f"{'loaded from the cache' if run.cached else 'computed'}: {run.seconds:.0f} s on {run.device} "
      f"(load average {run.load_average[0]:.1f} at the start)")

# %% [markdown]
# ## The contribution table
# One line per method and regrain setting: its factors, the mean of each measure over the
# pairs, and for each measure in how many pairs **ours** (same regrain setting) is better
# ("ours better k/n"; for colourfulness "ours lower k/n") with the two-sided Wilcoxon p-value
# of the paired difference. The identity line is compared with ours + regrain.

# %%
summary = ablation_summary(table)
summary.round(3)

# %% [markdown]
# ## Per pair
# Each dot is one photo pair: a row's segment chroma spread minus ours (both with the
# regrain). Dots right of zero are pairs where ours is more uniform inside the target's
# regions.

# %%
rows = [r for r in CONTRIBUTION_ROWS if r != "ours"]
figures.paired_differences(table, "segment_chroma_spread", rows)
plt.show()
figures.paired_differences(table, "colorfulness", rows)
plt.show()

# %%
metrics = {}
for (row, regrain), line in summary.iterrows():
    tag = f"{row}_{'regrain' if regrain else 'raw'}"
    for m in ("segment_chroma_spread", "flat_chroma_edges", "colorfulness", "ssim_L", "diff_from_ours"):
        metrics[f"{m}_{tag}"] = line[m]
    if row != "ours":
        metrics[f"ours_wins_spread_{tag}"] = float(line["segment_chroma_spread: ours better"].split("/")[0])
metrics["n_contribution_pairs"] = float(table.pair.nunique())  # recorded with the knob sweep at the end

# %% [markdown]
# ## Reading the table
# On these {glue:text}`n_contribution_pairs:.0f` pairs (profile and size in the first cell):
#
# - **Attention** (ours against the hard argmax of the same deep super-features): with the
#   regrain, the segment chroma spread is {glue:text}`segment_chroma_spread_ours_regrain:.2f`
#   for ours and {glue:text}`segment_chroma_spread_deep_hard_argmax_regrain:.2f` for the hard
#   match (ours better on {glue:text}`ours_wins_spread_deep_hard_argmax_regrain:.0f` pairs), and
#   the two results differ by {glue:text}`diff_from_ours_deep_hard_argmax_regrain:.3f` on average
#   (mean absolute RGB difference, 0-1 scale). At τ = 0.02 each attention row already puts
#   much of its weight on its best match (the model page records the mean largest weight per
#   row, and its τ exercise the effective number of matches), so compare this difference
#   with those below before crediting the softmax with much.
# - **Deep features** (colour statistics with the same soft attention): the results move by
#   {glue:text}`diff_from_ours_stats_soft_regrain:.3f`; the Giraud-like constrained match of
#   colour statistics by {glue:text}`diff_from_ours_stats_constrained_regrain:.3f`, with a
#   segment chroma spread of {glue:text}`segment_chroma_spread_stats_constrained_regrain:.2f`
#   (ours better on {glue:text}`ours_wins_spread_stats_constrained_regrain:.0f` pairs).
# - **Fusion neighbourhood**: the exact Eq. 4 moves the result by
#   {glue:text}`diff_from_ours_ours_exact_eq4_regrain:.3f` from the adjacent-only default.
# - **Regrain**: without it ours has a segment chroma spread of
#   {glue:text}`segment_chroma_spread_ours_raw:.2f` and a luminance SSIM of
#   {glue:text}`ssim_L_ours_raw:.3f` (with it: {glue:text}`ssim_L_ours_regrain:.3f`); Reinhard +
#   regrain reaches {glue:text}`ssim_L_reinhard_regrain:.3f`. The regrain gives every method the
#   target's fine structure back, so SSIM differences between regrained methods are small
#   and SSIM alone, which the identity maximises, does not rank methods.
#
# The consistency measures reward uniform colour inside the target's regions; a grey or
# flat result would win them, so read them beside colourfulness and the images of the
# qualitative page. Pairs are not fully independent (several share a photo or are the
# same two photos swapped), so the p-values are optimistic.

# %% [markdown]
# ## The settings the paper fixes, one at a time
# Each knob varied alone around the paper's settings, on the first `n_pairs` pairs: the
# distance of the colours to the reference (sliced Wasserstein in Lab, lower = closer), the
# luminance structure kept from the target (SSIM, higher = more kept), and how far the
# result moved from the one at the paper's settings. `attention = hard` is the hard argmax
# of the same deep super-features (not a method without attention: the fusion still uses
# the matched colours).

# %%
chosen = pairs(n_pairs)
sweep = ablation_table(chosen, ABLATIONS, max_side=max_side, seed=seed, device=dev, base={"features": features})
knobs_summary = (sweep.groupby(["knob", "value"], sort=False)[["swd_lab", "ssim_L", "diff_from_paper", "seconds"]]
                 .agg(["mean", "std"]))
knobs_summary.round(3)

# %%
knobs = list(ABLATIONS)
fig, axes = plt.subplots(2, len(knobs), figsize=(2.0 * len(knobs), 4.6), sharey="row")
for k, knob in enumerate(knobs):
    sub = knobs_summary.loc[knob]
    for r, measure in enumerate(["swd_lab", "ssim_L"]):
        ax = axes[r, k]
        ax.errorbar(range(len(sub)), sub[(measure, "mean")], yerr=sub[(measure, "std")].fillna(0), fmt="o-", capsize=3)
        ax.set_xticks(range(len(sub)))
        ax.set_xticklabels(sub.index, rotation=45, fontsize=7)
        if r == 0:
            ax.set_title(knob, fontsize=8)
    axes[0, 0].set_ylabel("SWD to reference (Lab)")
    axes[1, 0].set_ylabel("luminance SSIM to target")
fig.tight_layout()
plt.show()

# %% [markdown]
# - **τ**: larger τ averages many reference superpixels per target superpixel, pulling
#   colours towards the reference's mean (greyer); very small τ is a hard match.
# - **superpixels, δs, δc**: change how local the colour assignment is.
# - **depth / features**: which similarity drives the match; "efficientnet-random" keeps
#   the architecture but drops the ImageNet weights, and "handcrafted" uses Lab colour
#   and gradient statistics per pixel.
# - **neighbourhood**: the fusion sum of Eq. 4 over adjacent superpixels (default), two
#   rings, or all of them (exact).

# %%
means = sweep.groupby(["knob", "value"], sort=False)[["swd_lab", "ssim_L", "diff_from_paper"]].mean()
knob_metrics = {}
for (knob, value), line in means.iterrows():
    tag = f"{knob}_{value}".replace(".", "p").replace("-", "m")
    knob_metrics[f"swd_{tag}"] = line.swd_lab
    knob_metrics[f"ssim_{tag}"] = line.ssim_L
knob_metrics["diff_neighbourhood_all"] = means.loc[("neighbourhood", "all"), "diff_from_paper"]
knob_metrics["diff_no_regrain"] = means.loc[("regrain", "False"), "diff_from_paper"]
knob_metrics["n_knob_pairs"] = float(len(chosen))
record("colortransfer/04-ablations", {**metrics, **knob_metrics}, profile=profile, seed=seed, device=str(dev),
       data=f"{table.pair.nunique()} pairs (contribution table) and {len(chosen)} pairs (knobs) of bundled photos, "
            f"longer side {max_side} px")

# %% [markdown]
# On the {glue:text}`n_knob_pairs:.0f` pairs of the knob sweep, restricting the fusion to adjacent superpixels moves the result by
# {glue:text}`diff_neighbourhood_all:.3f` from the exact sum; switching the regrain off changes
# it by {glue:text}`diff_no_regrain:.3f`.

# %% [markdown]
# ## Exercises

# %% [markdown]
# ```{exercise} Extend: a histogram-matching row in the contribution table
# :label: colortransfer-ex-histogram-row
#
# Per-channel histogram matching (`skimage.exposure.match_histograms`) is the textbook
# global transfer between Reinhard's mean-and-spread match and Pitié's full distribution
# transfer. Add it as a new row of the contribution table: for each pair of the table
# (`pairs(contribution_pairs)`, loaded with `load_pair(pair, max_side)`), match the
# target's histograms to the reference, apply `baselines.regrain`, and measure the result
# like every row (`evaluate.color_measures`, `segment_chroma_spread` on `target_segments`
# of the target, `flat_chroma_edges`). Append your rows to a copy of `table` (row
# "histogram", regrain True) and compare them with ours + regrain using `evaluate.paired_test`.
# Before running: which measure do you expect histogram matching to win, and which to lose?
# ```

# %% [markdown] tags=["solution"]
# ```{solution-start} colortransfer-ex-histogram-row
# :class: dropdown
# ```

# %% tags=["solution"]
import numpy as np
from skimage.exposure import match_histograms

from companion.colortransfer.baselines import regrain
from companion.colortransfer.data import load_pair
from companion.colortransfer.evaluate import (color_measures, flat_chroma_edges, paired_test, segment_chroma_spread,
                                              target_segments)

hist_lines = []
for hist_pair in pairs(contribution_pairs):
    hist_target, hist_reference = load_pair(hist_pair, max_side)
    matched = np.clip(match_histograms(hist_target, hist_reference, channel_axis=-1), 0, 1).astype(np.float32)
    hist_out = regrain(hist_target, matched)
    hist_lines.append(dict(pair=hist_pair.name, row="histogram", regrain=True,
                           segment_chroma_spread=segment_chroma_spread(hist_out, target_segments(hist_target)),
                           flat_chroma_edges=flat_chroma_edges(hist_out, hist_target),
                           **color_measures(hist_out, hist_target, hist_reference, seed, w1=False)))
extended = pd.concat([table, pd.DataFrame(hist_lines)], ignore_index=True)
hist_tests = pd.DataFrame({m: paired_test(extended, m, "histogram", True)
                           for m in ("segment_chroma_spread", "flat_chroma_edges", "colorfulness", "ssim_L", "swd_lab")}).T
print(f"histogram + regrain (row) against ours + regrain (against), {len(hist_lines)} pairs, profile {profile}:")
print(hist_tests[["mean_row", "mean_against", "row_lower", "row_higher", "p"]].round(3).to_string())

# %% [markdown] tags=["solution"]
# `row_lower` counts the pairs where histogram matching has the lower value (p: two-sided
# Wilcoxon). Matching each channel's histogram to the reference's makes the marginal
# distributions equal by construction, so the colour distance to the reference (`swd_lab`)
# is where a global method is expected to win, even after the regrain pulls the result back
# towards the target's gradients. On spatial consistency it has no such advantage: the map
# of each channel is monotone but can be steep where the reference's histogram is wider
# than the target's, which stretches small colour differences inside a region into visible
# ones, and the three channels are remapped independently, which can create hues that
# neither image has (both raise the two consistency measures). Compare the printed means
# with the Reinhard and IDT lines of the contribution table above. In `smoke` two pairs
# cannot give a two-sided Wilcoxon p below 0.5, so there the table shows a direction, not
# evidence; the default profile's pairs can.

# %% [markdown] tags=["solution"]
# ```{solution-end}
# ```
