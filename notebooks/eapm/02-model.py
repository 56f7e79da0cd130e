# %% [markdown]
# # Model: EAPM inside torchvision's detectors
#
# EAPM changes only the loss. We keep torchvision's RetinaNet, FCOS and Faster R-CNN and subclass
# their heads so that the loss methods call `companion.eapm.losses`:
#
# | detector | classification | regression |
# | --- | --- | --- |
# | RetinaNet | focal ± EAPM (`mu`) | L1 (torchvision) or balanced L1 ± EAPM (`theta`) = "Libra RetinaNet" |
# | FCOS | focal ± EAPM (`mu`) | GIoU + centerness, unchanged |
# | Faster R-CNN | softmax CE | balanced L1 ± EAPM (`theta`) in the box head = "Libra R-CNN" without its other parts |
#
# Every model starts from `weights=None`: no ResNet or detection weights exist offline.
# The small backbone here (MobileNetV3-small + a narrow FPN) is for CPU runs; the full profile uses
# ResNet-50-FPN with 256 channels, the paper's setting.

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

# %%
import torch

from companion.eapm.data import collate
from companion.eapm.models import build_detector, parameters_by_part

counts = {}
for name, kw in {"RetinaNet + EAPM": dict(detector="retinanet", mu=1.5, reg_loss="balanced_l1", theta=1.0),
                 "FCOS + EAPM": dict(detector="fcos", mu=1.5),
                 "Faster R-CNN + EAPM": dict(detector="faster_rcnn", theta=1.0)}.items():
    torch.manual_seed(seed)
    det = kw.pop("detector")
    model = build_detector(det, train_data.num_classes, backbone=backbone, fpn_channels=fpn_channels,
                           image_size=image_size, head_groups=head_groups, **kw)
    counts[name] = parameters_by_part(model)
pd.DataFrame(counts).fillna(0).astype(int)

# %% [markdown]
# ## Where the losses are replaced
# The head classes are thin subclasses; their `compute_loss` is the only code that differs:

# %%
from companion.eapm import models

print(type(model.roi_heads).__mro__[:2])
retina = build_detector("retinanet", train_data.num_classes, mu=1.5, reg_loss="balanced_l1", theta=1.0,
                        backbone=backbone, fpn_channels=fpn_channels, image_size=image_size, head_groups=head_groups)
print(type(retina.head.classification_head).__name__, "mu =", retina.head.classification_head.mu)
print(type(retina.head.regression_head).__name__, "loss =", retina.head.regression_head.loss,
      "theta =", retina.head.regression_head.theta)

# %% [markdown]
# ## A forward pass: feature maps, anchors and the loss terms

# %%
images, targets = collate([train_data[i] for i in range(2)])
torch.manual_seed(seed)
retina.eval()
with torch.no_grad():
    transformed, _ = retina.transform(images)
    features = retina.backbone(transformed.tensors)
    anchors = retina.anchor_generator(transformed, list(features.values()))
shapes = pd.DataFrame([(k, tuple(v.shape)) for k, v in features.items()], columns=["FPN level", "shape"])
print("anchors per image:", anchors[0].shape[0])
shapes

# %% [markdown]
# ## Anchors must match the feature strides
# An anchor only becomes a positive training example when its IoU with a ground-truth box reaches 0.5.
# On small images the paper's anchors (32–512 px at 800 px) cannot simply be scaled with the image:
# an earlier version of this chapter did that, placing 3.8 px anchors on a stride-8 grid, and only a
# small fraction of the synthetic boxes had any anchor at IoU ≥ 0.5 (last row of the table below) —
# the detectors could hardly learn. Below
# 800 px every detector here uses the levels P2–P6 (strides 4–64) with anchors of 2 × stride
# (RetinaNet: three octave scales × three aspect ratios; FCOS: size = stride, which torchvision's
# FCOS assumes for its centre sampling and scale ranges); `companion.eapm.models.anchor_layout` holds
# the rule. The coverage of this run's training boxes:

# %%
from companion.eapm.models import anchor_coverage, anchor_layout, detector_anchors, scaled_paper_anchors

gt_boxes = torch.cat([train_data[i][1]["boxes"] for i in range(len(train_data))])
coverage, strides = {}, {}
for det in ("retinanet", "faster_rcnn"):
    m = build_detector(det, train_data.num_classes, backbone=backbone, fpn_channels=fpn_channels, image_size=image_size)
    coverage[det] = anchor_coverage(gt_boxes, detector_anchors(m, image_size))
    strides[det] = anchor_layout(det, image_size)["strides"]
# the layout before issue 16: the paper's anchors scaled with the image, on P3-P7
coverage["retinanet, paper anchors scaled (before)"] = anchor_coverage(gt_boxes, scaled_paper_anchors(image_size))
strides["retinanet, paper anchors scaled (before)"] = (8, 16, 32, 64, 128)
pd.DataFrame({det: {"strides": strides[det], "boxes with an anchor at IoU >= 0.5": round(c["coverage"], 3),
                    "median best-anchor IoU": round(c["median_best_iou"], 3)} for det, c in coverage.items()}).T

# %%
retina.train()
losses = retina(images, targets)
{k: round(v.item(), 4) for k, v in losses.items()}  # .item(): a number, without the autograd warning

# %%
fig, axes = plt.subplots(1, len(features), figsize=(2.2 * len(features), 2.4))
for ax, (name, fmap) in zip(axes, features.items()):
    ax.imshow(fmap[0].norm(dim=0).numpy(), cmap="magma")
    ax.set_title(f"level {name}: {tuple(fmap.shape[-2:])}", fontsize=8)
    ax.axis("off")
fig.suptitle("Feature-map energy (untrained network, first image)", fontsize=9)
plt.show()

# %%
record("eapm/02-model", {"params_retinanet": counts["RetinaNet + EAPM"]["total"],
                         "params_fcos": counts["FCOS + EAPM"]["total"],
                         "params_faster_rcnn": counts["Faster R-CNN + EAPM"]["total"],
                         "anchors_per_image": anchors[0].shape[0],
                         "anchor_coverage_retinanet": coverage["retinanet"]["coverage"],
                         "anchor_coverage_faster_rcnn": coverage["faster_rcnn"]["coverage"],
                         "anchor_coverage_before": coverage["retinanet, paper anchors scaled (before)"]["coverage"],
                         "median_best_iou_before":
                             coverage["retinanet, paper anchors scaled (before)"]["median_best_iou"]},
       profile=profile, seed=seed, data=data_desc)

# %% [markdown]
# In this run {glue:text}`anchor_coverage_retinanet:.2f` of the training boxes have
# a RetinaNet anchor at IoU ≥ 0.5 ({glue:text}`anchor_coverage_faster_rcnn:.2f` for Faster R-CNN's RPN
# anchors); with the paper's anchors scaled to the image, as before issue 16, only
# {glue:text}`anchor_coverage_before:.2f` (median best IoU {glue:text}`median_best_iou_before:.2f`).
# The rest are long bars and very small objects; the matcher still gives each its best anchor
# (torchvision's low-quality matches), which is exactly the shape-variation case EAPM's regression
# half is about.

# %% [markdown]
# ```{exercise} Derive: why gap-over-sum singles out large shape variation
# :label: eapm-ex-gos
#
# For a width delta t_w = log(w / w_a) with target t_w*, GoS = |t_w − t_w*| / (|t_w| + |t_w*|) and
# MF_reg = 1 + tanh(θ) − tanh(θ·GoS). Show that (a) 0 ≤ GoS ≤ 1; (b) at a fixed error |t_w − t_w*|, a
# box whose width is far from its anchor's (large |t_w*|, e.g. a 1:8 bar matched to a 1:2 anchor)
# gets a smaller GoS and so a larger MF_reg than a box close to its anchor; (c) the range of MF_reg.
# ```

# %% [markdown] tags=["solution"]
# ```{solution} eapm-ex-gos
# :class: dropdown
#
# (a) By the triangle inequality |t − t*| ≤ |t| + |t*|, so GoS ≤ 1; it is a ratio of non-negative
# numbers, so GoS ≥ 0 (the code defines GoS = 0 when both are 0, where the error is 0 too).
#
# (b) Fix the error e = |t − t*| > 0. Then |t| + |t*| ≥ |t*|, and for |t*| ≫ e also |t| ≈ |t*|, so
# GoS ≈ e / (2|t*|) shrinks as the shape variation |t*| = |log(w*/w_a)| grows. tanh is increasing, so
# MF_reg = 1 + tanh θ − tanh(θ·GoS) grows as GoS shrinks: the bar's inlier error is amplified more.
# A box matching its anchor (t* ≈ 0) has GoS ≈ e/|t| ≈ 1 for any error and keeps MF_reg ≈ 1.
#
# (c) GoS ∈ [0, 1] gives MF_reg ∈ [1, 1 + tanh θ]: between the plain loss and 1.76 × (θ = 1).
# Unlike MF_cls, MF_reg multiplies the *error* before balanced L1 is evaluated, so for inliers
# (error < 1) the gradient grows with it, while outliers stay at balanced L1's cap γ.
# ```
