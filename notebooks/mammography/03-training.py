# %% [markdown]
# # Training
#
# The paper's optimisation: stochastic gradient descent with batch 50, momentum 0.9, weight decay
# 0.001, a learning rate of 0.001 divided by 10 every 2,500 iterations, internal validation by
# 6-fold cross-validation of the training data. We train with the book's shared loop
# `companion.core.fit` (seeded shuffling, bf16 autocast on a GPU, atomic checkpoints) and the
# step decay as a per-iteration `StepLR`. This page trains strategy (i), FFDM only, for one
# scenario: first one cross-validation fold with a validation curve, then the final model on all
# FFDM training patients, which the evaluation page reuses from its checkpoint.

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
train_scenario = 'malignant_vs_negative'
n_folds = 6

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from companion.book import record
from companion.book.paths import cache_dir
from companion.core import describe_device, select_device
from companion.mammography.data import SCENARIO_TITLES
from companion.mammography.figures import training_curves
from companion.mammography.train import (TrainConfig, chapter_data, cross_validate, scenario_subset,
                                         strategy_indices, train_fold, train_or_load)
from companion.metrics import roc

dev = select_device(device)
data, data_desc = chapter_data(profile, seed, manifest=manifest, n_ffdm=n_ffdm, n_ddsm=n_ddsm, n_interval=n_interval,
                            image_size=image_size, input_size=input_size, test_fraction=test_fraction)
config = TrainConfig.from_params(dict(backbone=backbone, batch_norm=batch_norm, alexnet_weights=alexnet_weights, width=width,
                     fc_features=fc_features, dropout=dropout, input_size=input_size, epochs=epochs, batch_size=batch_size, lr=lr,
                     lr_step_iterations=lr_step_iterations, flip=flip, seed=seed, strategy="ffdm", scenario=train_scenario))
checkpoints = cache_dir(f"mammography/{profile}")
pd.Series(describe_device(dev), name="value").to_frame()

# %% [markdown]
# ## The learning-rate schedule at this data size
# The paper's schedule is counted in iterations. With this profile's training set, an epoch is
# this many iterations, and the rate drops at these epochs:

# %%
n_train, _ = scenario_subset(data, strategy_indices(data, "ffdm")["train"], train_scenario, True, seed)
per_epoch = int(np.ceil(len(n_train) / batch_size))
drops = [step / per_epoch for step in range(lr_step_iterations, per_epoch * epochs + 1, lr_step_iterations)]
print(f"{len(n_train)} training images, batch {batch_size}: {per_epoch} iterations per epoch, "
      f"{per_epoch * epochs} in {epochs} epochs; lr drops after epochs {[round(d, 1) for d in drops]}")

# %% [markdown]
# ```{exercise} Derive: when does the paper's learning-rate step fire?
# :label: mammography-ex-lr-step
#
# The paper trains with batch $B = 50$ and divides the learning rate by 10 every $S = 2{,}500$
# iterations; it does not say for how many epochs. (a) For a class-balanced training set of $N$ images
# trained for $E$ epochs, write the number of rate drops $k$ and the final learning rate. (b) Table 1 gives
# $N = 1{,}734$ FFDM training images for every scenario but negative vs recalled-benign. How many epochs
# must the paper have trained before its first drop? (c) Why does the same step size act very differently
# on the six scenarios of one run, and what goes wrong if a CPU profile keeps one step size for all of
# them? Check your formula against the line printed above.
# ```

# %% [markdown] tags=["solution"]
# ```{solution} mammography-ex-lr-step
# :class: dropdown
#
# (a) An epoch is $\lceil N/B \rceil$ iterations (the last batch may be short), so a run has
# $T = E \lceil N/B \rceil$ iterations and the step schedule `StepLR(step_size=S, gamma=0.1)` drops
# the rate $k = \lfloor T / S \rfloor$ times; the last iterations run at $\eta_0 \cdot 10^{-k}$.
# There is at least one drop only when $E \ge S / \lceil N/B \rceil$.
#
# (b) $\lceil 1734 / 50 \rceil = 35$ iterations per epoch, so the first drop comes after
# $2500 / 35 \approx 71$ epochs: the paper trained at the initial rate for about 71 epochs, and for
# negative vs recalled-benign ($N = 3{,}040$, 61 iterations per epoch) for about 41.
#
# (c) $N$ differs between scenarios: balancing keeps twice the *smaller* class, so scenarios involving
# malignant (the rarest class) have the fewest images and iterations, and the "rest" scenarios the most.
# With one $S$, the large scenarios drop the rate several times while the small ones may never drop it: they
# end at the initial rate, where SGD still jumps between minima and the final model depends strongly on the
# seed. That was this chapter's default profile before its step was lowered so that $T \ge S$ holds for
# its smallest scenario (see `profiles.yml`). A schedule written as a fraction of $T$ would treat every
# scenario alike, but it is not the paper's.
# ```

# %% [markdown]
# ## One cross-validation fold
# Fold 0 of the patient-grouped folds is held out and scored after every epoch.

# %%
fold_result, _ = train_fold(config, data, fold=0, n_folds=n_folds, device=dev, cache_dir=checkpoints)
fold_history = pd.DataFrame(fold_result.history).set_index("epoch")
fig = training_curves(fold_history, f"FFDM, {SCENARIO_TITLES[train_scenario]}: fold 0 of {n_folds} "
                                    f"(profile {profile}, seed {seed})")
plt.show()
fold_history.round(4)

# %% [markdown]
# ## All folds
# The paper validates with 6-fold cross-validation inside the training data. Every fold of the
# profile's `n_folds` is trained the same way (fold 0 is the one above, loaded from its checkpoint);
# the spread over folds says how much a validation AUC of this size moves with the patients it holds.

# %%
folds = cross_validate(config, data, n_folds=n_folds, device=dev, cache_dir=checkpoints)
cv_mean, cv_std = float(folds["val_auc"].mean()), float(folds["val_auc"].std())
folds.round(3)

# %% [markdown]
# ## The final model
# Trained on every FFDM training patient and tested on the held-out FFDM patients. The checkpoint
# lives in the build folder's cache, keyed by data, configuration and seed; a later page that asks
# for the same run loads it instead of training again (and retrains when the cache is empty).

# %%
run = train_or_load(config, data, checkpoints, device=dev)
history = pd.DataFrame(run.history).set_index("epoch")
fig = training_curves(history, f"final FFDM model, {SCENARIO_TITLES[train_scenario]}")
plt.show()
test_auc = roc.auc(run.y_true, run.scores)

# %% [markdown]
# ## Throughput
# Measured on this run's device while training the cross-validation fold (the per-epoch
# validation pass included). **These are CPU numbers
# from a 2-core machine shared with other jobs** when the page is built here; a GPU user should
# re-measure (the command line below prints images/s per scenario).

# %%
if fold_result.seconds > 1e-3 and fold_result.samples_seen:
    throughput = f"{fold_result.samples_per_second:.0f} images/s ({fold_result.precision}, {fold_result.device})"
else:
    throughput = "not measured: the fold was loaded from a cached checkpoint"
print(throughput)

# %%
record("mammography/03-training",
       {"cv_fold0_val_auc": fold_history["val_auc"].iloc[-1], "cv_fold0_val_loss": fold_history["val_loss"].iloc[-1],
        "final_train_loss": history["train_loss"].iloc[-1], "test_auc": test_auc,
        "cv_mean_val_auc": cv_mean, "cv_std_val_auc": cv_std, "n_folds": n_folds},
       profile=profile, seed=seed, data=data_desc, device=str(dev))

# %% [markdown]
# After {glue:text}`final_train_loss:.3f` final training loss, the FFDM model reaches a test AUC of
# {glue:text}`test_auc:.3f` (validation AUC over the {glue:text}`n_folds:.0f` folds
# {glue:text}`cv_mean_val_auc:.3f` ± {glue:text}`cv_std_val_auc:.3f`, mean ± standard deviation), in the
# profile and on the data named in the parameters cell. The throughput is printed above.
#
# The same training outside Jupyter, for any strategy and scenario (a GPU user adds `--device cuda`;
# `--manifest` points at real data):
#
# ```bash
# python -m companion.mammography.train --strategy incremental --scenario all \
#     --manifest my_manifest.csv --input-size 227 --epochs 100 --device cuda
# ```
