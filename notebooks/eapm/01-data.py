# %% [markdown]
# # Data: objects whose shapes the anchors do not fit
#
# EAPM's regression half is about examples with **large shape variation**: boxes whose width or
# height is far from the anchor's, so that |t_w| or |t_h| is large. COCO has many (people lying
# down, skis, traffic lights); no COCO image ships offline, so this chapter writes a synthetic
# detection set in the **COCO format** (an `instances_*.json` and a folder of images) and reads it
# with the same loader a COCO 2017 user would use (`companion.eapm.data.CocoDetection`).
#
# Four categories with a deliberate imbalance: **bar** (aspect ratio 4–10, the anchors only span
# 1:2–2:1), **disc**, **box** (1.3–3) and a rare **triangle**; log-uniform scales from 6 px to 45 %
# of the image; textured backgrounds, unannotated ring distractors, and occlusion (a box covers the
# visible part, `area` counts visible pixels, which is what COCOeval's size buckets use).

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

# %% [markdown]
# ## What the files look like
# The first annotation of the training file, exactly as written to disk:

# %%
import json

coco = json.loads(train_data.annotation_file.read_text())
print(json.dumps({"images[0]": coco["images"][0], "annotations[0]": coco["annotations"][0],
                  "categories": coco["categories"]}, indent=1))
print("loader report (train):", train_data.report)

# %% [markdown]
# ## Example images with their boxes

# %%
from companion.eapm.figures import show_examples

names = [c["name"] for c in train_data.categories]
fig = show_examples(train_data, list(range(min(8, len(train_data)))), names)
plt.show()

# %% [markdown]
# ## Class imbalance, scales and aspect ratios

# %%
from companion.eapm.data import aspect_ratios

rows = []
for split, ds in (("train", train_data), ("val", val_data)):
    for items in ds._targets.values():
        for (x1, y1, x2, y2), label in items:
            w, h = x2 - x1, y2 - y1
            rows.append(dict(split=split, category=names[label - 1], w=w, h=h,
                             aspect=max(w, h) / min(w, h), sqrt_area=np.sqrt(w * h)))
boxes = pd.DataFrame(rows)
counts = boxes.groupby(["split", "category"]).size().unstack(0)
counts

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.4))
bins = np.geomspace(1, 12, 25)
for cat, g in boxes[boxes.split == "train"].groupby("category"):
    ax1.hist(g.aspect, bins=bins, alpha=0.6, label=cat)
ax1.axvspan(1, 2, color="0.85", zorder=0, label="anchor ratios 1:2-2:1")
ax1.set_xscale("log")
ax1.set_xlabel("aspect ratio (long / short side)")
ax1.set_ylabel("training boxes")
ax1.legend(fontsize=8)
ax2.hist(boxes.sqrt_area, bins=20, color="C4")
ax2.axvline(32, color="k", ls="--", lw=1)
ax2.set_xlabel("sqrt(box area) in px (COCO 'small' is < 32)")
ax2.set_ylabel("boxes")
fig.suptitle(f"{data_desc} (profile {profile})", fontsize=9)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Bad input is reported, not silently dropped
# Boxes reaching outside the image are clipped and counted; boxes entirely outside it, and boxes of
# zero (or negative) width or height, are dropped and counted; a non-finite or malformed `bbox`, an
# unknown category id or image id raises `ValueError`; a missing image raises `FileNotFoundError`
# naming the file (all tested in `tests/unit/eapm/test_data_models.py`). The loader's report for
# this run's files is printed above; for a COCO 2017 folder it is where such fixes show up.

# %% [markdown]
# ## Real COCO boxes beside the synthetic ones
# Does the synthetic set carry COCO's shape variation? `data/real/coco/` holds the real annotations
# of 79 COCO val2017 images (624 boxes; CC BY 4.0, source and terms in that folder's README; no
# images), read with the same loader (`real_coco_boxes()`: boxes only). For every box of each set we
# measure the attributes EAPM modulates on, against the anchors of this page's RetinaNet after the
# detector's own resizing (short side → `image_size`): aspect ratio, scale, IoU with the best
# anchor, and the regression targets t_w = log(w / w_anchor), t_h = log(h / h_anchor) against that
# anchor. |t_w| + |t_h| is the *shape variation* in the denominator of GoS = |t − t*| / (|t| + |t*|);
# GoS itself also needs a prediction t, so it exists only during training — the shape variation is
# the data's half of it.

# %%
from companion.eapm.data import real_coco_boxes
from companion.eapm.evaluate import box_attributes
from companion.eapm.models import build_detector

real = real_coco_boxes()
print("real COCO loader report:", real.report)
detector = build_detector("retinanet", train_data.num_classes, backbone=backbone, fpn_channels=fpn_channels,
                          image_size=image_size)
attrs = pd.concat({"real COCO (79 val2017 images)": box_attributes(real, detector, image_size),
                   f"synthetic ({profile})": box_attributes(train_data, detector, image_size)}, names=["set", None])
summary = attrs.groupby(level="set").agg(
    boxes=("aspect", "size"), aspect_ge_4=("aspect", lambda a: float(np.mean(a >= 4))),
    median_sqrt_area_px=("sqrt_area", "median"), anchor_iou_ge_0p5=("best_iou", lambda v: float(np.mean(v >= 0.5))),
    median_best_iou=("best_iou", "median"), median_shape_variation=("shape_variation", "median"),
    p90_shape_variation=("shape_variation", lambda v: float(np.quantile(v, 0.9))))
summary.round(3)

# %%
fig, axes = plt.subplots(1, 3, figsize=(12, 3.3))
for name, g in attrs.groupby(level="set"):
    axes[0].hist(g.aspect, bins=np.geomspace(1, 25, 25), alpha=0.5, density=True, label=name)
    axes[1].hist(g.sqrt_area, bins=np.geomspace(0.5, 130, 25), alpha=0.5, density=True, label=name)
    axes[2].hist(g.best_iou, bins=np.linspace(0, 1, 21), alpha=0.5, density=True, label=name)
axes[0].set_xscale("log")
axes[0].set_xlabel("aspect ratio (long / short side)")
axes[1].set_xscale("log")
axes[1].set_xlabel(f"sqrt(area) in px after resizing to {image_size} px")
axes[2].axvline(0.5, color="k", ls="--", lw=1)
axes[2].set_xlabel("IoU with the best anchor")
for ax in axes:
    ax.set_ylabel("density")
axes[0].legend(fontsize=7)
fig.suptitle(f"real COCO boxes vs {data_desc}", fontsize=9)
fig.tight_layout()
plt.show()

# %% [markdown]
# Read the table as a check on the synthetic set, not on COCO: the synthetic bars make long objects
# far more frequent than in COCO (that is deliberate — they carry EAPM's regression case — and it is
# a choice, not COCO's distribution), while resized to this page's small input COCO's boxes are
# mostly tiny, many below the smallest anchor (2 × stride 4 = 8 px). The shape variation measured
# against the best anchor mixes both mismatches — aspect and scale — so COCO's tiny boxes give it a
# long tail as well. The anchor coverage of the two sets (fraction with an anchor at IoU ≥ 0.5) is
# in the table; at the paper's 800 px input COCO's boxes would be 8–12× larger (from 96 or 64 px) and sit on the P3–P7
# anchors instead.

# %%
ratios = aspect_ratios(train_data)
real_summary = summary.loc["real COCO (79 val2017 images)"]
record("eapm/01-data", {
    "n_train_images": len(train_data), "n_val_images": len(val_data),
    "n_train_boxes": len(ratios), "frac_aspect_over_4": float(np.mean(ratios >= 4)),
    "frac_small": float(np.mean(boxes[boxes.split == "train"].sqrt_area < 32)),
    "real_n_boxes": float(real_summary["boxes"]), "real_frac_aspect_over_4": float(real_summary["aspect_ge_4"]),
    "real_anchor_coverage": float(real_summary["anchor_iou_ge_0p5"]),
    "syn_anchor_coverage": float(summary.loc[f"synthetic ({profile})", "anchor_iou_ge_0p5"]),
}, profile=profile, seed=seed, data=data_desc + "; real: 79 COCO val2017 images (data/real/coco)")

# %% [markdown]
# In this run ({glue:text}`n_train_images:.0f` training images, {glue:text}`n_train_boxes:.0f`
# boxes) a fraction {glue:text}`frac_aspect_over_4:.2f` of the training boxes have an aspect ratio
# of 4 or more, outside every anchor shape, and {glue:text}`frac_small:.2f` are COCO-small.

# %% [markdown]
# Real COCO ({glue:text}`real_n_boxes:.0f` boxes): a fraction {glue:text}`real_frac_aspect_over_4:.2f`
# has an aspect ratio of 4 or more and {glue:text}`real_anchor_coverage:.2f` has an anchor at
# IoU ≥ 0.5 at this input size; the synthetic training boxes: {glue:text}`syn_anchor_coverage:.2f`.
