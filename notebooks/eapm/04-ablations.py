# %% [markdown]
# # Ablations: μ (Table 1) and θ (Table 2) over seeds
#
# The paper varies the EAPM strengths μ ∈ {1, 1.5, 2} (classification) and θ ∈ {1, 1.5, 2}
# (regression) and reports one run each. Differences of 0.2 AP on COCO are close to seed noise,
# so here every setting is trained with several seeds and we report mean ± std, and a paired
# comparison with its baseline (same seed = same initialisation and data order).
#
# **What each profile runs.** The `default` profile runs Table 1's μ sweep for RetinaNet, its control
# row and Table 2's θ ∈ {off, 1.0} for Libra RetinaNet (μ = 1.5), three seeds each, on this CPU. This
# build's profile (top of the page) ran {glue:text}`n_runs:.0f` runs of `epochs` epochs (the control
# 1.5× as many), which trained for {glue:text}`train_minutes_total:.0f` minutes of CPU-thread time in
# all, `workers` at a time. Shorter runs stop far below the AP the learning curve on the training page
# reaches, and the gains would then measure speed of learning more than anything else. FCOS, Libra
# R-CNN (several times a RetinaNet run on this CPU) and θ = 1.5, 2.0 would take the chapter well past
# its 20-minute budget, so they are in the `full` profile only; the rows of this page are the ones the
# profile ran (`fcos_mus`, `rcnn_thetas`, `thetas` in `profiles.yml`).

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
threads = 1
coco_root = ""
n_train = 512
n_val = 256
image_size = 96
backbone = "mobilenet_v3_small"
fpn_channels = 32
epochs = 12
batch_size = 8
optimizer = "adamw"
lr = 0.002
lr_steps = [8, 11]
warmup_iters = 50
grad_clip = 10.0
head_groups = 8
workers = 2
seeds = [0, 1, 2]
mus = [None, 1.0, 1.5, 2.0]
thetas = [None, 1.0]
fcos_mus = []
rcnn_thetas = []

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from companion.book import record
from companion.book.paths import cache_dir
from companion.eapm.train import TrainConfig, load_data

if threads:  # torch CPU threads: 1 is the fastest on a CPU shared with other jobs (landing page)
    torch.set_num_threads(threads)

data = load_data(coco_root, n_train, n_val, image_size, seed, profile)
train_data, val_data, data_tag, data_desc = data
cache = cache_dir(f"eapm-{profile}")  # trained detectors, keyed by data, configuration and seed
settings = dict(backbone=backbone, fpn_channels=fpn_channels, image_size=image_size, epochs=epochs,
                batch_size=batch_size, optimizer=optimizer, lr=lr, lr_steps=lr_steps, warmup_iters=warmup_iters,
                grad_clip=grad_clip, head_groups=head_groups)
print(f"profile {profile!r}: {data_desc}")

# %%
from companion.eapm.evaluate import COCO_KEYS, ablation_rows, seed_summary
from companion.eapm.train import ablation_plan, train_or_load_many

# The control row ("RetinaNet", "control") is the plain focal loss with 1.5x the optimiser steps:
# the check that EAPM does more than speed learning up.
plan = ablation_plan(settings, mus, thetas, fcos_mus, rcnn_thetas, control_factor=1.5)
# every (setting, seed) run, side by side in `workers` processes when not cached yet; the pair the
# first claim compares (baseline, mu = 1.5) trains first, seed by seed, then the control, then the rest
first = [("RetinaNet", None), ("RetinaNet", 1.5), ("RetinaNet", "control")]
jobs = sorted([(family, knob, config, s) for family, config, knob in plan for s in seeds],
              key=lambda job: ((job[0], job[1]) not in first, job[1] == "control", seeds.index(job[3])))
done = dict(zip([(family, knob, s) for family, knob, _, s in jobs],
                train_or_load_many([(config, s) for _, _, config, s in jobs], data, cache, workers=workers,
                                   device=device, threads=threads)))
results = {(family, knob): [done[(family, knob, s)] for s in seeds] for family, _, knob in plan}
print(f"{len(plan)} settings x {len(seeds)} seeds on {data_desc}")

# %%
from companion.eapm.paper import paper_row

rows = ablation_rows(results)
spread = pd.DataFrame({index: {k: f"{100 * m:.2f} ± {100 * s:.2f}" for k, (m, s) in seed_summary([r["coco"] for r in runs]).items()}
                       for index, runs in zip(rows.index, results.values())}).T
spread.index = rows.index
ours = pd.concat([spread, rows[["gain", "gain SE", "paired p", "verdict"]].round(3)], axis=1)
theirs = pd.DataFrame([{k: (paper_row(f, None if s == "baseline" else float(s.split("= ")[1])) or {}).get(k, np.nan)
                        if not s.startswith("control") else np.nan for k in COCO_KEYS} for f, s in rows.index],
                      index=rows.index)
ablation = pd.concat({f"ours ({profile}, seeds {seeds}), AP ×100": ours.astype(object).where(ours.notna(), ""),
                      "paper (COCO val-2017, R50-FPN, one run)": theirs.round(1).astype(object).where(theirs.notna(), "")},
                     axis=1)
ablation

# %% [markdown]
# Our entries are AP ×100, mean ± sample std over the seeds listed in the parameters; the paper's
# are single runs on COCO (Tables 1 and 2; "Libra RetinaNet (mu=1.5)" is the first row of its
# Table 2). "gain" is the mean paired difference to the family's baseline with the same seeds (the
# same initialisation and data order), "paired p" a paired t-test (`companion.eapm.evaluate.ablation_rows`).
# A gain is beyond seed noise only where p < 0.05; with one seed (smoke) no test is made.
#
# The **control** row trains the plain focal loss 1.5× longer. If EAPM at the fixed budget only
# matched the plain loss trained longer, its gain would say "learns faster", not "learns better".
#
# ## Power: how many seeds would resolve the paper's gain?
# The paper's gains are relative to COCO APs of 35–38; at our AP level the same relative gain is
# smaller. "paper gain, scaled" = paper gain / paper baseline × our baseline; "seeds for 80 % power"
# is the number of paired seeds a two-sided paired t-test (α = 0.05) needs to detect that effect,
# given the SD of our paired differences (`seeds_needed`, statsmodels' `TTestPower`). NaN: fewer than
# two seeds, so no estimate of the noise.

# %%
power = rows[[c for c in ("seeds", "gain", "paper gain", "paper gain, scaled", "seeds for 80 % power") if c in rows]]
power = power[power.index.get_level_values("setting") != "baseline"]
print(power.round(3).to_string())

from myst_nb import glue

from companion.eapm.evaluate import power_text

glue("text_power_mu", power_text(rows, "RetinaNet", "mu = 1.5"), display=False)

# %% [markdown]
# In this run: {glue:text}`text_power_mu`. The same calculation for the difference between two μ
# settings (the paper's are 0.1–0.4 AP apart) would ask for far more seeds than "does EAPM help":
# the evaluation page's "μ = 1.5 is best" compares means only, and says so in its criterion.


# %% [markdown]
# ```{exercise} Predict, then run: seeds against noise
# :label: eapm-ex-power
#
# The power table says how many paired seeds would resolve the paper's μ = 1.5 gain (scaled to our AP)
# given the spread of our paired differences. Predict how that number changes if the seed-to-seed
# spread of the differences were halved, and if the effect to detect were the gain we measured instead
# of the paper's. Then compute both with `companion.eapm.evaluate.seeds_needed` from the runs in
# `results` (keep the mean difference, shrink the spread around it).
# ```

# %% [markdown] tags=["solution"]
# ```{solution-start} eapm-ex-power
# :class: dropdown
# ```

# %% tags=["solution"]
from myst_nb import glue

from companion.eapm.evaluate import seeds_needed

ex_diffs = np.array([t["coco"]["AP"] - b["coco"]["AP"]
                     for b, t in zip(results[("RetinaNet", None)], results[("RetinaNet", 1.5)])])
ex_effect = rows.loc[("RetinaNet", "mu = 1.5"), "paper gain, scaled"] / 100  # the table is in AP x 100
ex_half = ex_diffs.mean() + 0.5 * (ex_diffs - ex_diffs.mean())
ex_power = {"as measured": seeds_needed(ex_diffs, ex_effect),
            "spread halved": seeds_needed(ex_half, ex_effect),
            "effect = our mean gain": seeds_needed(ex_diffs, ex_diffs.mean())}
for key, value in zip(("ex_seeds_measured", "ex_seeds_half", "ex_seeds_own"), ex_power.values()):
    glue(key, value, display=False)
pd.Series(ex_power, name=f"paired seeds for 80 % power ({len(ex_diffs)} seed(s) measured)")

# %% [markdown] tags=["solution"]
# A paired t-test resolves an effect δ when δ is a few standard errors SD/√n away from zero, so the
# seeds needed grow like (SD/δ)²: halving the spread should cut them to about a quarter. This run:
# {glue:text}`ex_seeds_measured:.0f` seeds as measured, {glue:text}`ex_seeds_half:.0f` with the spread
# halved, {glue:text}`ex_seeds_own:.0f` to confirm our own mean gain (fewer when our gain is larger than
# the paper's scaled one, more when smaller; never below 2). NaN means fewer than two seeds, so no
# estimate of the spread: the smoke profile runs one seed, which is why no gain in it is testable.
#
# ```{solution-end}
# ```

# %%
from companion.eapm.figures import ablation_ap_plot

labels = [f"{family}, {setting}" for family, setting in rows.index]
fig = ablation_ap_plot({lab: [r["coco"]["AP"] for r in runs] for lab, runs in zip(labels, results.values())})
fig.axes[0].set_title(f"{data_desc}, profile {profile}", fontsize=8)
plt.show()

# %%
metrics = {}
for (family, knob), runs in results.items():
    key = {"RetinaNet": "retinanet", "Libra RetinaNet (mu=1.5)": "libra_mu1p5", "FCOS": "fcos",
           "Libra R-CNN": "libra_rcnn"}[family]
    if knob == "control":
        suffix = "_control"
    else:
        suffix = "" if knob is None else ("_mu" if family in ("RetinaNet", "FCOS") else "_theta") + f"{knob:g}".replace(".", "p")
    metrics[f"AP_{key}{suffix}"] = 100 * float(np.mean([r["coco"]["AP"] for r in runs]))
# the cost of the sweep: training time summed over every run (one thread each, as measured when it trained)
metrics["n_runs"] = sum(len(runs) for runs in results.values())
metrics["train_minutes_total"] = sum(r["train_seconds"] for runs in results.values() for r in runs) / 60
record("eapm/04-ablations", metrics, profile=profile, seed=seed, data=data_desc + f", seeds {seeds}")
