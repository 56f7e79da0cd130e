"""Feature extractors: per-pixel feature maps at full image resolution.

The paper takes the first layers of an ImageNet VGG-19. No VGG weights ship offline,
so the default is the early blocks of the ImageNet EfficientNet-Lite0 (offline
package); VGG-19 is used when a local weights file is given, and a hand-crafted
extractor (Lab colour + gradient/texture responses) needs no weights at all.

Every extractor maps an RGB float image (H, W, 3) in [0, 1] to a torch tensor
(H, W, C) on the requested device; coarser layers are bilinearly upsampled back to
(H, W), so super-features can pool any layer over the same superpixels.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from companion.core.backbones import efficientnet_lite0

# Taps into EfficientNet-Lite0: "stem" is the stride-2 stem (32 channels, H/2); an
# integer k is the output of MBConv block k (blocks 0: 16 ch H/2, 1-2: 24 ch H/4,
# 3-4: 40 ch H/8, 5-7: 80 ch H/16). "shallow" concatenates the first layers (the paper's
# regime); "deep" uses coarse, more semantic blocks for the depth ablation.
EFFICIENTNET_DEPTHS = {"shallow": ("stem", 0, 2), "deep": (4, 7)}
# VGG-19 feature indices after ReLU: relu1_1=1, relu1_2=3, relu2_1=6, relu2_2=8, relu3_1=11.
VGG_DEPTHS = {"shallow": (1, 6), "deep": (11, 20)}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _to_tensor(image: np.ndarray, device) -> torch.Tensor:
    """(H, W, 3) float in [0, 1] -> (1, 3, H, W) float32 on device."""
    return torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)).permute(2, 0, 1)[None].to(device)


def _upsample_concat(maps: list[torch.Tensor], size: tuple[int, int]) -> torch.Tensor:
    """Upsample each (1, C_k, h_k, w_k) to ``size`` and concatenate -> (H, W, sum C_k)."""
    ups = [m if m.shape[-2:] == size else F.interpolate(m, size=size, mode="bilinear", align_corners=False)
           for m in maps]
    return torch.cat(ups, dim=1)[0].permute(1, 2, 0).contiguous()


class FeatureExtractor:
    """Base class: ``extractor(image) -> (H, W, C)`` torch tensor; ``name``, ``channels``."""

    name = "base"
    channels = 0

    def __init__(self, device="cpu"):
        self.device = torch.device(device)

    def __call__(self, image: np.ndarray) -> torch.Tensor:
        with torch.inference_mode():
            return self.extract(image)

    def extract(self, image: np.ndarray) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError


class EfficientNetLiteFeatures(FeatureExtractor):
    """Early blocks of EfficientNet-Lite0 (ImageNet weights from the offline package).

    Parameters
    ----------
    depth : {"shallow", "deep"} or tuple
        Which taps to concatenate (see `EFFICIENTNET_DEPTHS`).
    weights : {"imagenet", None} or path
        "imagenet" loads the offline pretrained file; None keeps random init (for the
        "does pretraining matter" question); a path loads that state dict.
    """

    name = "efficientnet"

    def __init__(self, depth="shallow", weights="imagenet", device="cpu"):
        super().__init__(device)
        self.taps = EFFICIENTNET_DEPTHS[depth] if isinstance(depth, str) else tuple(depth)
        net = efficientnet_lite0(weights)
        self.net = net.eval().to(self.device)
        last = max((t for t in self.taps if t != "stem"), default=-1)
        self.blocks = self.net._blocks[: last + 1]
        widths = {"stem": 32}
        for i, b in enumerate(self.net._blocks):
            widths[i] = b._block_args.output_filters
        self.channels = sum(widths[t] for t in self.taps)

    def extract(self, image):
        x = _to_tensor(image, self.device)
        size = x.shape[-2:]
        # EfficientNet-Lite was trained on inputs scaled to [-1, 1].
        x = (x - 0.5) / 0.5
        x = self.net._swish(self.net._bn0(self.net._conv_stem(x)))
        maps = [x] if "stem" in self.taps else []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in self.taps:
                maps.append(x)
        return _upsample_concat(maps, tuple(size))


class VGG19Features(FeatureExtractor):
    """The paper's extractor: first ReLU layers of VGG-19 (torchvision architecture).

    Parameters
    ----------
    weights_path : str or Path or None
        A local torchvision ``vgg19`` state dict (e.g. ``vgg19-dcbb9e9d.pth``). None
        builds the network with random weights, which the chapter uses only to show
        that the pipeline runs; no VGG weights ship offline.
    """

    name = "vgg19"

    def __init__(self, weights_path=None, depth="shallow", device="cpu"):
        super().__init__(device)
        # Only the convolutional trunk is needed: build VGG-19's feature layers (config
        # "E") without the 120M-parameter classifier.
        from torchvision.models.vgg import cfgs, make_layers

        self.taps = VGG_DEPTHS[depth] if isinstance(depth, str) else tuple(depth)
        features = make_layers(cfgs["E"], batch_norm=False)[: max(self.taps) + 1]
        if weights_path is not None:
            state = torch.load(weights_path, map_location="cpu")
            own = features.state_dict()
            wanted = {k: state.get(f"features.{k}") for k in own}
            missing = sorted(k for k, v in wanted.items() if v is None)
            if missing:
                raise ValueError(f"{weights_path} lacks VGG-19 feature weights {missing[:4]} (expected a "
                                 "torchvision vgg19 state dict with 'features.<i>.weight' keys)")
            features.load_state_dict(wanted)
        self.features = features.eval().to(self.device)
        self.channels = sum(self.features[t - 1].out_channels for t in self.taps)
        self.pretrained = weights_path is not None

    def extract(self, image):
        x = _to_tensor(image, self.device)
        size = x.shape[-2:]
        mean = torch.tensor(IMAGENET_MEAN, device=self.device).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD, device=self.device).view(1, 3, 1, 1)
        x = (x - mean) / std
        maps = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.taps:
                maps.append(x)
        return _upsample_concat(maps, tuple(size))


class HandcraftedFeatures(FeatureExtractor):
    """Lab colour, Sobel gradients of L, and local mean/std of L at two scales (9 channels).

    The paper notes that any per-pixel features work; this is the weight-free option.
    Channels are scaled to comparable ranges (about unit spread) so no one dominates
    the cosine correlation.
    """

    name = "handcrafted"
    channels = 9

    def extract(self, image):
        from skimage.color import rgb2lab

        lab = torch.from_numpy(rgb2lab(image).astype(np.float32)).to(self.device)
        lab = lab / torch.tensor([100.0, 50.0, 50.0], device=self.device)
        L = lab[..., 0][None, None]
        sobel = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], device=self.device) / 8
        gx = F.conv2d(F.pad(L, (1, 1, 1, 1), mode="replicate"), sobel.view(1, 1, 3, 3))
        gy = F.conv2d(F.pad(L, (1, 1, 1, 1), mode="replicate"), sobel.t().reshape(1, 1, 3, 3))
        maps = [lab.permute(2, 0, 1)[None], gx * 10, gy * 10]
        for radius in (2, 5):
            k = 2 * radius + 1
            padded = F.pad(L, (radius,) * 4, mode="replicate")
            mean = F.avg_pool2d(padded, k, stride=1)
            sq = F.avg_pool2d(padded**2, k, stride=1)
            maps += [mean, (sq - mean**2).clamp_min(0).sqrt() * 10]
        return torch.cat(maps, dim=1)[0].permute(1, 2, 0).contiguous()


def build_extractor(kind: str = "efficientnet", *, depth="shallow", weights_path=None, device="cpu") -> FeatureExtractor:
    """Build a feature extractor by name.

    Parameters
    ----------
    kind : {"efficientnet", "efficientnet-random", "vgg19", "handcrafted"}
    depth : {"shallow", "deep"}
    weights_path : path, optional
        For "vgg19" (required for pretrained VGG) or to override EfficientNet weights.
    """
    if kind == "efficientnet":
        return EfficientNetLiteFeatures(depth, weights_path or "imagenet", device)
    if kind == "efficientnet-random":
        return EfficientNetLiteFeatures(depth, None, device)
    if kind == "vgg19":
        return VGG19Features(weights_path, depth, device)
    if kind == "handcrafted":
        return HandcraftedFeatures(device)
    raise ValueError(f"unknown feature extractor {kind!r}; choose efficientnet, efficientnet-random, vgg19 "
                     "or handcrafted")


def parameter_counts(extractor: FeatureExtractor) -> dict:
    """Parameters actually used by the extractor (all frozen: nothing is trained)."""
    if isinstance(extractor, EfficientNetLiteFeatures):
        mods = [extractor.net._conv_stem, extractor.net._bn0, *extractor.blocks]
    elif isinstance(extractor, VGG19Features):
        mods = [extractor.features]
    else:
        return {"used": 0, "trainable": 0}
    n = sum(p.numel() for m in mods for p in m.parameters())
    return {"used": n, "trainable": 0}
