# %% [markdown]
# # Getting started
#
# This page checks the whole pipeline before any paper appears: it reports the
# environment, trains a tiny seeded model with the same training loop every
# chapter uses (`companion.core.fit`), records its numbers in the results
# registry, and shows them on the page through `glue`, never by copy and paste.
#
# The parameters below come from `notebooks/getting-started/profiles.yml`; the
# collapsed cell under this paragraph shows the values this page was run with.

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
epochs = 8
n_train = 1024
n_test = 512

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from companion.book import record
from companion.book.registry import git_commit
from companion.core import describe_device, select_device
from companion.getting_started import make_toy_dataset, run_toy

# %% [markdown]
# ## The environment
# Device selection is `auto` by default: CUDA when torch sees a GPU, else the CPU.
# On CUDA the training loop runs the forward pass under bf16 autocast.

# %%
info = describe_device(device)
info["git commit"] = git_commit()
pd.Series(info, name="value").to_frame()

# %% [markdown]
# ## A two-class toy problem
# Filled discs (label 0) against rings (label 1), with heavy pixel noise so the
# task is not trivially separable at 16×16 pixels.

# %%
examples = make_toy_dataset(8, seed=seed)
fig, axes = plt.subplots(1, 8, figsize=(10, 1.6))
for ax, image, label in zip(axes, *examples.tensors):
    ax.imshow(image[0], cmap="gray")
    ax.set_title("ring" if label else "disc", fontsize=9)
    ax.axis("off")
plt.show()

# %% [markdown]
# ## A seeded training run
# `run_toy` seeds everything, builds the data and a 5k-parameter CNN, and calls
# `companion.core.fit`, which shuffles each epoch from `(seed, epoch)` and can
# resume from an atomic checkpoint with identical results.

# %%
model, result, out = run_toy(epochs=epochs, n_train=n_train, n_test=n_test, seed=seed, device=device)
history = pd.DataFrame(result.history).set_index("epoch")
history

# %%
fig, ax = plt.subplots(figsize=(6, 3.2))
ax.plot(history.index, history["train_loss"], marker="o", label="train loss")
ax.set_xlabel("epoch")
ax.set_ylabel("cross-entropy")
ax2 = ax.twinx()
ax2.plot(history.index, history["test_accuracy"], marker="s", color="C1", label="test accuracy")
ax2.set_ylabel("test accuracy")
ax2.set_ylim(0.4, 1.0)
fig.legend(loc="center right", bbox_to_anchor=(0.85, 0.5))
ax.set_title(f"Toy run: profile {profile}, seed {seed}, {result.device}", fontsize=10)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Recording the run
# One call writes the numbers and the run's metadata (profile, seed, device,
# package versions, git commit, wall time) to `build/results/<profile>/` and
# glues each number for this page.

# %%
from sklearn.metrics import roc_auc_score

test_auc = roc_auc_score(out["labels"], out["scores"])
record(
    "getting-started/00-getting-started",
    {"test_accuracy": out["test_accuracy"], "test_auc": test_auc, "final_train_loss": out["final_train_loss"]},
    profile=profile, seed=seed, device=result.device,
    data=f"synthetic rings vs discs, {n_train} train / {n_test} test images",
)

# %% [markdown]
# In this run ({glue:text}`final_train_loss:.3f` final training loss) the model
# reached a test accuracy of {glue:text}`test_accuracy:.3f` and a test AUC of
# {glue:text}`test_auc:.3f` on held-out toy images. Throughput and device are in the
# table above; re-running with the same seed on a CPU gives the same digits.
