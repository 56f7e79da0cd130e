# %% [markdown]
# # 3. Training
#
# One contrastive run with the paper's loss, through the book's shared training loop
# `companion.core.fit` (seeded shuffling, bf16 autocast on CUDA, an atomic checkpoint after every
# epoch). The checkpoint lands under `build/cache/radiology-<profile>/`, keyed by the full
# configuration and the data, so pages 5 and 6 reuse this run, and retrain it when it is absent.
#
# After every epoch the run is validated the way it is used: each validation image retrieves its
# nearest training report, and the keyword labeller's findings of that report are compared with the
# validation study's (`val_finding_f1`, `val_exact_match`). The weights of the epoch with the best
# validation finding F1 are kept (`<key>.best.pt` beside the checkpoint) and are what pages 5 and 6
# evaluate; the test split is never looked at during training.
#
# In the smoke and default profiles (`freeze_trunk: true`) the DenseNet trunk keeps its seeded
# initial weights: its feature maps of the training and validation images are computed once and
# cached beside the checkpoints, and each step trains the vision head (multi-scale convolutions,
# attention, mixed pooling, projection), the prompts, $\alpha(x)$, the pooling, the projections
# and the temperature. The BERT layer still runs forward and backward on every step (the prompts'
# gradient passes through it), and that is now most of the time a step takes on the CPU.
#
# The same run outside Jupyter, e.g. on a GPU with the paper's settings:
# `python -m companion.radiology.train --data /path/to/iu_xray --split paper --image-size 312 --device cuda`.

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
data_root = ""
split = "file"
n_studies = 600
image_size = 96
vision_trunk = "densenet-small"
text_layers = 1
n_prompts = 16
epochs = 12
batch_size = 16
max_length = 64
lr = 0.0005
freeze_trunk = True
vision_weights = None
text_model = None
throughput_steps = 3

# %%
import matplotlib.pyplot as plt
import pandas as pd

from companion.book import record
from companion.core import describe_device, select_device
from companion.radiology.figures import training_curves
from companion.radiology.train import TrainConfig, cached_train, chapter_data

dev = select_device(device)
config = TrainConfig(vision_trunk=vision_trunk, text_layers=text_layers, n_prompts=n_prompts, image_size=image_size,
                     max_length=max_length, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
                     freeze_trunk=freeze_trunk, vision_weights=vision_weights, text_model=text_model)
root = chapter_data(profile, n_studies, image_size, seed, data_root)
source = f"real IU X-ray at {data_root}" if data_root else f"synthetic IU X-ray, {n_studies} studies, {image_size} px"
pd.Series(describe_device(dev), name="value").to_frame()

# %%
model, result, datasets = cached_train(config, root, profile, device=dev, split=split)
history = pd.DataFrame(result.history).set_index("epoch")
history

# %% [markdown]
# ## Curves
# Training loss (solid) and validation loss (dashed), the paper's symmetric cross-entropy. With
# a batch of $B$ pairs, chance level is $\ln B$.

# %%
import math

fig = training_curves({"proposed": result.history}, title=f"{source}, {profile} profile, seed {seed}")
fig.axes[0].axhline(math.log(batch_size), color="grey", lw=0.8, ls=":", label="chance (ln B)")
fig.axes[0].legend(fontsize=7)
plt.show()

# %% [markdown]
# ## Learning curve on the measure that matters
# Validation finding F1 and exact finding-set agreement of retrieval per epoch; the dotted line marks
# the kept (best-validation) epoch. A curve still rising at the last epoch means the run is
# under-trained; a curve that peaks and falls means the best-validation checkpoint matters.

# %%
fig = training_curves({"proposed": result.history}, keys=("val_finding_f1", "val_exact_match"),
                      title=f"validation retrieval, {profile} profile, seed {seed}")
fig.axes[0].axvline(result.best_epoch, color="grey", lw=0.8, ls=":")
fig.axes[0].set_ylabel("validation score")
plt.show()

# %% [markdown]
# ## Cost
# Throughput below is measured on this run's device. In the book's build that is the CPU of a
# 2-core machine shared with other jobs, so treat it as a pessimistic CPU number, not a GPU one.
# A run resumed from a finished checkpoint trains nothing and shows no throughput.

# %%
pd.Series({"device": result.device, "precision": result.precision, "epochs trained now": len(result.history) - result.resumed_from_epoch,
           "seconds": round(result.seconds, 1), "samples/s": round(result.samples_per_second, 2),
           "temperature tau": round(model.temperature.item(), 4),
           "pool weight w (GAP share)": round(model.vision.pool.weight.item(), 4)}, name="value").to_frame()

# %% [markdown]
# ## Images/s: modified vs plain DenseNet
# The paper credits its modified vision encoder for Table 3's gain; here is what that head costs.
# `companion.radiology.throughput` times one training step (forward, the symmetric loss, backward,
# AdamW) and one inference forward pass of each vision encoder alone, on this run's device, trunk,
# image size and batch (random images: the network is measured, not data loading). On CUDA it uses
# bf16 autocast and channels_last, as training does. The rate is the batch over the median of
# `throughput_steps` timed steps; on the shared CPU that builds this book, expect it to move by a
# factor of two between runs. `benchmarks/radiology_throughput.py` runs the same measurement from
# the command line (e.g. DenseNet121 at 312 px on a GPU).

# %%
import os

from companion.radiology.throughput import compare_vision_encoders

speed = compare_vision_encoders(("modified", "plain"), trunk=vision_trunk, image_size=image_size,
                                batch_size=batch_size, device=dev, steps=throughput_steps)
print(f"{describe_device(dev)['name']}; load average (1 min) {os.getloadavg()[0]:.2f}; {profile} profile")
speed[["trunk", "image_size", "batch_size", "precision", "channels_last", "params",
       "train_images_per_s", "infer_images_per_s"]].round(2)

# %%
record("radiology/03-training",
       {"final_train_loss": history["train_loss"].iloc[-1], "final_val_loss": history["val_loss"].iloc[-1],
        "first_train_loss": history["train_loss"].iloc[0], "best_epoch": result.best_epoch,
        "best_val_finding_f1": history.loc[result.best_epoch, "val_finding_f1"],
        "first_val_finding_f1": history["val_finding_f1"].iloc[0]},
       profile=profile, seed=seed, data=source, device=result.device)

# %% [markdown]
# The training loss fell from {glue:text}`first_train_loss:.3f` in the first epoch to
# {glue:text}`final_train_loss:.3f` in the last; the final validation loss is
# {glue:text}`final_val_loss:.3f` (data and profile as printed above the curves). Validation finding
# F1 rose from {glue:text}`first_val_finding_f1:.3f` after the first epoch to its best,
# {glue:text}`best_val_finding_f1:.3f`, at epoch {glue:text}`best_epoch:.0f`: those weights are the
# model of pages 5 and 6.
