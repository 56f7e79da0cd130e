# %% [markdown]
# # Ablations
#
# The paper fixes its settings and reports no ablation table, but its text names the knobs:
# ImageNet pretraining, histogram equalisation and mean subtraction in the preprocessing, and, as
# future work, networks other than AlexNet. Each variant below trains the same strategy and
# scenario with several seeds (the data and split stay fixed; the seed changes initialisation,
# class-balancing draw and batch order), so a difference can be judged against the seed spread.

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
manifest = ''
n_ffdm = 500
n_ddsm = 450
n_interval = 16
image_size = 128
input_size = 96
test_fraction = 0.4
backbone = 'alexnet'
batch_norm = True
width = 0.25
fc_features = 256
dropout = 0.2
alexnet_weights = ''
epochs = 12
batch_size = 32
lr = 0.01
lr_step_iterations = 100
flip = True
ablation_strategy = 'ffdm'
ablation_scenario = 'malignant_vs_negative'
ablation_seeds = [0, 1, 2]
ablation_epochs = 5

# %%
from dataclasses import replace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from companion.book import record
from companion.book.paths import cache_dir
from companion.core import select_device
from companion.mammography.data import SCENARIO_TITLES
from companion.mammography.figures import STRATEGY_TITLES, ablation_points
from companion.mammography.evaluate import beyond_noise, constant_output
from companion.mammography.train import ABLATION_KEYS, TrainConfig, ablation_variants, chapter_data, train_or_load
from companion.metrics import roc

dev = select_device(device)
data_args = dict(manifest=manifest, n_ffdm=n_ffdm, n_ddsm=n_ddsm, n_interval=n_interval, image_size=image_size,
                 input_size=input_size, test_fraction=test_fraction)
data, data_desc = chapter_data(profile, seed, **data_args)
data_no_eq, _ = chapter_data(profile, seed, equalize=False, **data_args)
config = TrainConfig.from_params(dict(backbone=backbone, batch_norm=batch_norm, alexnet_weights=alexnet_weights, width=width,
                     fc_features=fc_features, dropout=dropout, input_size=input_size, epochs=ablation_epochs, batch_size=batch_size, lr=lr,
                     lr_step_iterations=lr_step_iterations, flip=flip, seed=seed, strategy=ablation_strategy, scenario=ablation_scenario))
checkpoints = cache_dir(f"mammography/{profile}")

# %% [markdown]
# ## The variants
# The reference is this profile's configuration, trained for `ablation_epochs` epochs (every
# variant gets the same budget, so that EfficientNet-Lite0 fits the CPU profiles). "AlexNet as in the paper" drops the BatchNorm
# the CPU profiles add (in the `full` profile the two coincide). The two EfficientNet-Lite0 rows
# compare ImageNet weights with random ones at the same budget: the closest we can get offline to
# the paper's ImageNet pretraining, and at the same time the "modern CNN" of its future work.

# %%
variants = ablation_variants(data, data_no_eq, config)
rows = []
for name, (variant_data, variant_config) in variants.items():
    for run_seed in ablation_seeds:
        run = train_or_load(replace(variant_config, seed=run_seed), variant_data, checkpoints, device=dev)
        flat = constant_output(run.proba)  # a constant-output model has no AUC (NaN), never 0.50
        auc = np.nan if flat else roc.pairwise_auc_summary(run.y_true, run.proba).mean if ablation_scenario == "triple" \
            else roc.auc(run.y_true, run.scores)
        rows.append(dict(variant=name, seed=run_seed, auc=auc, constant=flat))
results = pd.DataFrame(rows)
print("constant-output runs (no AUC, left out of the means):",
      ", ".join(f"{r.variant} seed {r.seed}" for r in results[results["constant"]].itertuples()) or "none")
fig = ablation_points(results, f"{STRATEGY_TITLES[ablation_strategy]}, {SCENARIO_TITLES[ablation_scenario]} "
                               f"(profile {profile}, seeds {list(ablation_seeds)})")
plt.show()

# %% [markdown]
# ## Within noise?
# For each variant: mean and standard deviation over seeds, the difference from the reference,
# and whether that difference exceeds twice the standard error of a difference of two means
# (with one seed there is no spread, and nothing can be called a difference), plus a paired t-test
# over the seeds (`evaluate.beyond_noise`).

# %%
summary = beyond_noise(results, "profile config")
summary.round(3)

# %% [markdown]
# ```{exercise} Derive: how large must a difference be to count?
# :label: mammography-ex-noise
#
# `beyond_noise` calls a variant's mean AUC different from the reference's when the difference exceeds
# twice $\sqrt{(s_v^2 + s_r^2)/n}$, where $s_v, s_r$ are the standard deviations over the $n$ seeds.
# (a) Derive this expression as the standard error of a difference of two means, and say which assumption
# it makes about the two sets of runs. (b) Every variant here is trained with the same seeds and scored on
# the same test images. Write the variance of the mean *paired* difference $\bar d$ and say when it is
# smaller than (a)'s. (c) With $n = 3$ seeds and a seed standard deviation of 0.03 AUC for both variants,
# what is the smallest difference the rule of (a) can call?
# ```

# %% [markdown] tags=["solution"]
# ```{solution} mammography-ex-noise
# :class: dropdown
#
# (a) The mean over $n$ independent runs has variance $\sigma^2/n$. If the reference's runs and the
# variant's runs are independent, $\operatorname{Var}(\bar a_v - \bar a_r) = \sigma_v^2/n + \sigma_r^2/n$;
# plugging in the sample standard deviations gives the standard error $\sqrt{(s_v^2 + s_r^2)/n}$, and
# "twice the standard error" is a rough two-sided 95 % threshold (a normal approximation; with $n = 3$ the
# $t$ quantile with few degrees of freedom is larger, so the rule is optimistic). The assumption is
# independence between the two sets of runs.
#
# (b) With runs paired by seed, $d_i = a_{v,i} - a_{r,i}$ and
# $\operatorname{Var}(\bar d) = \frac{1}{n}\left(\sigma_v^2 + \sigma_r^2 - 2\rho\,\sigma_v\sigma_r\right)$.
# It is smaller than (a)'s whenever the two variants' AUCs are positively correlated over seeds
# ($\rho > 0$), e.g. because a seed that draws an easy balanced training subsample helps both; the paired
# $t$-test in the table (`p_paired`) uses exactly this variance, estimated from the $d_i$.
#
# (c) $2\sqrt{(0.03^2 + 0.03^2)/3} = 2 \cdot 0.03 \sqrt{2/3} \approx 0.049$: with three seeds, a
# difference of about five AUC points is the smallest this rule can separate from seed noise.
# ```

# %%
record("mammography/04-ablations", {**{f"auc_{ABLATION_KEYS[name]}_mean": row["mean"] for name, row in summary.iterrows()
                                      if np.isfinite(row["mean"])},
        "auc_reference_range": summary.loc["profile config", "max"] - summary.loc["profile config", "min"],
        "n_ablation_seeds": len(ablation_seeds), "n_constant_ablation_runs": int(results["constant"].sum())},
       profile=profile, seed=seed, data=data_desc, device=str(dev))

# %%
from myst_nb import glue

# Each variant's mean as text, so that a variant whose every run had a constant output reads "constant output".
for name, row in summary.iterrows():
    glue(f"text_{ABLATION_KEYS[name]}", f"{row['mean']:.3f}" if np.isfinite(row["mean"]) else "constant output",
         display=False)

# %% [markdown]
# Mean test AUC over the seeds: reference {glue:text}`text_reference`; without histogram
# equalisation {glue:text}`text_no_equalisation`; without mean subtraction
# {glue:text}`text_no_mean_subtraction`; the paper's AlexNet without BatchNorm
# {glue:text}`text_alexnet_no_bn`; EfficientNet-Lite0 from ImageNet
# {glue:text}`text_lite0_imagenet` and from random weights {glue:text}`text_lite0_scratch`.
# Read the "beyond noise" column before believing any of these differences: over the
# {glue:text}`n_ablation_seeds:.0f` seed(s) of this run the reference's AUC spans
# {glue:text}`auc_reference_range:.3f` (max - min; zero says nothing with one seed), to be set against
# the paper's 0.02-0.05 gains from incremental transfer.
