# %% [markdown]
# # 3. Training
#
# One contrastive run with the paper's loss, through the book's shared training loop
# `companion.core.fit` (seeded shuffling, bf16 autocast on CUDA, an atomic checkpoint after every
# epoch). The checkpoint lands under `build/cache/radiology-<profile>/`, keyed by the full
# configuration and the data, so pages 5 and 6 reuse this run, and retrain it when it is absent.
#
# The same run outside Jupyter, e.g. on a GPU with the paper's settings:
# `python -m companion.radiology.train --data /path/to/iu_xray --split paper --image-size 312 --device cuda`.

# %% tags=["parameters"]
profile = "default"
seed = 0
device = "auto"
data_root = ""
split = "file"
n_studies = 240
image_size = 96
vision_trunk = "densenet-small"
text_layers = 2
n_prompts = 16
epochs = 6
batch_size = 16
max_length = 64
lr = 0.0005
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
                     max_length=max_length, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed)
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
        "first_train_loss": history["train_loss"].iloc[0]},
       profile=profile, seed=seed, data=source, device=result.device)

# %% [markdown]
# The training loss fell from {glue:text}`first_train_loss:.3f` in the first epoch to
# {glue:text}`final_train_loss:.3f` in the last; the final validation loss is
# {glue:text}`final_val_loss:.3f` (data and profile as printed above the curves).
