# %% [markdown]
# # 3. Training on English captions only
#
# The MLP is trained on **English** captions with in-batch hardest negatives
# (Section 3.2): for every caption, the closest image in the batch that is not its
# own; the negative text is that image's caption. Two losses: the paper's M3L
# (Eq. 1, ρ = 4, α1 = 0.5, α2 = 1) and PATR (Eq. 2, η at our feature scale). Adam with the
# profile's learning rate and β1 (the paper's 1e-3 and 0.99 in `full`; 3e-4 and 0.9 in
# `smoke` and `default`, see the reading notes); epochs and batch size also come from the profile.
# Training runs through `companion.core.fit` (bf16 autocast on CUDA, seeded
# shuffling, an atomic checkpoint per epoch under `build/cache/`, keyed by encoder,
# configuration, seed and data).

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
n_train = 1000
n_test = 300
image_size = 96
captions_per_image = 2
encoders = ["muse", "e5"]
epochs = 20
batch_size = 128
lr = 0.0003
beta1 = 0.9

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from companion.book import record
from companion.book.paths import cache_dir
from companion.core import select_device
from companion.crosslingual.features import chapter_features
from companion.crosslingual.grammar import LANGUAGES

dev = select_device(device)
feats = chapter_features(profile, n_train=n_train, n_test=n_test, seed=seed, image_size=image_size,
                         captions_per_image=captions_per_image, encoders=encoders)
root, encoders_run, data_desc = feats.root, feats.encoders, feats.description

# %%
from companion.crosslingual.evaluate import recall_table
from companion.crosslingual.train import TrainConfig, train_or_load

runs = {}
for enc in encoders_run:
    for loss in ("m3l", "patr"):
        cfg = TrainConfig(encoder=enc, loss=loss, epochs=epochs, batch_size=batch_size, lr=lr, beta1=beta1,
                          seed=seed)
        model, result, eta = train_or_load(cfg, feats, cache_dir("crosslingual-checkpoints"), device=device)
        runs[(enc, loss)] = (model, result, eta)
        print(f"{enc}/{loss}: device {result.device}, precision {result.precision}, "
              f"resumed from epoch {result.resumed_from_epoch}, {result.seconds:.1f} s"
              + (f", eta {eta:.1f}" if eta else ""))

# %% [markdown]
# ```{exercise} Derive: what the exponent ρ does to M3L's gradient
# :label: crosslingual-ex-m3l-rho
#
# Write M3L's image term (Eq. 1) as $\alpha_1 r^\rho$ with $r = d(t, i^+) / d(t, i^-)$, the
# ratio of the squared distances to the own image and to the hardest negative image.
# 1. Compute $\partial (\alpha_1 r^\rho) / \partial r$. For two triplets of one batch with
#    ratios $r_a < r_b$, what is the ratio of their gradient weights, and what happens to it as
#    $\rho$ grows? Which triplets dominate the batch's gradient at $\rho = 4$?
# 2. Show that the loss does not change when every feature (mapped captions and images) is
#    multiplied by a constant $c > 0$. How does the gradient with respect to the mapped caption
#    scale with $c$, and what does this mean for the learning rate at our feature scale (the
#    output scale printed on [the model page](02-model))?
# 3. Predict from 1 which of ρ = 1 and ρ = 4 reaches a good validation score in fewer
#    epochs; [the evaluation page](05-evaluation) trains both to their best epoch.
# ```

# %% [markdown] tags=["solution"]
# ```{solution} crosslingual-ex-m3l-rho
# :class: dropdown
#
# 1. $\partial(\alpha_1 r^\rho)/\partial r = \alpha_1 \rho\, r^{\rho - 1}$, so two triplets are
#    weighted in the ratio $(r_a / r_b)^{\rho - 1}$. At $\rho = 1$ every triplet gets the same
#    weight; as $\rho$ grows the weight of every triplet with $r < 1$ (the own image already
#    nearer than the hardest negative) shrinks like $r^{\rho-1}$ and that of violations
#    ($r > 1$) grows. At $\rho = 4$ a triplet at $r = 0.5$ gets $0.5^3 = 1/8$ of the weight of
#    one at $r = 1$, and one at $r = 2$ eight times as much: the batch's gradient comes from
#    the few violated triplets.
# 2. $d(c\,x, c\,y) = c^2 d(x, y)$, so $r$ and the loss are unchanged. The gradient with
#    respect to the mapped caption scales as $1/c$ (the loss is a function of $t / c$). With
#    image features of RMS norm in the tens, M3L's gradients are correspondingly small, while
#    PATR's, a squared distance, grow with $c$: the same learning rate is not the same step for
#    the two losses, which is why this chapter picks the learning rate per loss on validation
#    data (evaluation page).
# 3. Once most triplets are ranked correctly, $\rho = 4$ shrinks almost every triplet's weight,
#    so late progress is slow; $\rho = 1$ keeps learning from the correctly ranked majority.
#    Expect ρ = 4 to need more epochs to reach its best validation score; the evaluation page's
#    table of best epochs shows whether it does on this run.
# ```

# %% [markdown]
# ## Training curves
# The two losses live on different scales (M3L is a ratio raised to ρ, PATR a squared
# distance), so each gets its own panel, on a log axis.

# %%
from companion.crosslingual.figures import training_curves

training_curves({key: result.history for key, (_, result, _) in runs.items()},
                title=f"English-only training, profile {profile}, seed {seed}")
plt.show()

# %% [markdown]
# ## English retrieval after training (the upper bound of Table 2)

# %%
en_table = pd.DataFrame({f"{enc}/{loss}": recall_table(m, {"en": feats.test_text[enc]["en"]}, feats.test_image)["en"]
                         for (enc, loss), (m, _, _) in runs.items()})
en_table.round(3)

# %% [markdown]
# ## Throughput on this machine
# Embedding is the expensive, one-off part of the pipeline (the embeddings are then
# cached on disk); training the MLP is cheap. Measured live on the device of this run
# (the CPU of the machine that built the book, shared with other jobs, so pessimistic)
# on a small mixed-language sample of this run's test captions (64) and images (16). These timings are
# printed, not recorded, because they change from run to run. For steadier figures
# on larger samples, and the MLP's training speed on a GPU, run
# `python benchmarks/crosslingual_throughput.py` (add `--device cuda` on a GPU machine).

# %%
import os
import platform

from companion.crosslingual.data import load_images
from companion.crosslingual.models import embedding_throughput

# a small sample keeps this page quick; the benchmark script times larger ones
mixed = [c for row in zip(*(feats.test.captions[lang] for lang in LANGUAGES)) for c in row][:64]
imgs = load_images(root / "train2014", feats.test.image_names[:16], image_size)
rows = embedding_throughput(mixed, imgs, text_encoders=encoders_run)
for (enc, loss), (_, result, _) in runs.items():
    if result.seconds > 2:  # a reloaded checkpoint has no training time, and a tiny run is all overhead
        rows.append({"what": f"MLP training {enc}/{loss} (captions/s)", "items": len(feats.train),
                     "items/s": result.samples_per_second, "note": f"{result.device}, {result.precision}"})
print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, "
      f"load average {os.getloadavg()[0]:.2f}")
pd.DataFrame(rows).round(1)

# %% [markdown]
# On a GPU, `python -m companion.crosslingual.train --device cuda --epochs 50` trains the same MLP
# (bf16 autocast); the MLP is small, so on COCO-sized data (≈400k captions) an epoch is a few
# thousand batches of 128 and the run is bounded by the one-off embedding of captions and images.

# %%
metrics = {}
for (enc, loss), (_, result, _) in runs.items():
    metrics[f"final_loss_{enc}_{loss}"] = result.history[-1]["train_loss"]
    metrics[f"R@10_en_{enc}_{loss}"] = en_table.loc["R@10", f"{enc}/{loss}"]
record("crosslingual/03-training", metrics, profile=profile, seed=seed, data=data_desc, device=str(dev))

# %% [markdown]
# With mUSE and M3L the English Recall@10 of this run is {glue:text}`R@10_en_muse_m3l:.3f`; with PATR
# {glue:text}`R@10_en_muse_patr:.3f` (chance is `10 / number of test images`).
