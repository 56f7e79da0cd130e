import pytest
import torch

from companion.mammography.losses import SoftmaxCrossEntropy, softmax_cross_entropy
from companion.mammography.models import (ModifiedAlexNet, build_model, layer_shapes, load_alexnet_weights,
                                          parameter_counts)


def test_paper_alexnet_shapes_at_227():
    shapes = dict(layer_shapes(ModifiedAlexNet(num_classes=3), 227))
    assert shapes["features.0 Conv2d"] == (1, 96, 55, 55)
    assert shapes["features.2 MaxPool2d"] == (1, 96, 27, 27)  # pool after conv1
    assert shapes["features.5 MaxPool2d"] == (1, 256, 13, 13)  # pool after conv2
    assert shapes["features.10 Conv2d"] == (1, 256, 13, 13)  # conv3-5 keep 13x13, no pooling
    assert shapes["features.12 MaxPool2d"] == (1, 256, 6, 6)  # pool after conv5
    assert shapes["avgpool + flatten"] == (1, 9216)
    linear = [v for k, v in shapes.items() if "Linear" in k]
    assert linear == [(1, 4096), (1, 4096), (1, 3)]  # two FC layers and the output layer
    convs = [k for k in shapes if "Conv2d" in k]
    pools = [k for k in shapes if "MaxPool" in k]
    assert len(convs) == 5 and len(pools) == 3


def test_paper_alexnet_parameter_count():
    conv = [(3, 96, 11), (96, 256, 5), (256, 384, 3), (384, 384, 3), (384, 256, 3)]
    fc = [(9216, 4096), (4096, 4096), (4096, 2)]
    expected = sum(i * o * k * k + o for i, o, k in conv) + sum(i * o + o for i, o in fc)
    assert parameter_counts(ModifiedAlexNet(num_classes=2))["total"] == expected


def test_small_alexnet_forward_and_errors():
    model = ModifiedAlexNet(num_classes=2, width=0.1, fc_features=16, batch_norm=True)
    assert model(torch.zeros(3, 3, 67, 67)).shape == (3, 2)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in ModifiedAlexNet(2, width=0.1).modules())
    with pytest.raises(ValueError, match="S >= 67"):
        model(torch.zeros(1, 3, 48, 48))
    with pytest.raises(ValueError, match="num_classes"):
        ModifiedAlexNet(num_classes=1)
    with pytest.raises(ValueError, match="unknown backbone"):
        build_model("vgg16")


def test_local_alexnet_weights_load_except_mismatched_head(tmp_path):
    torch.manual_seed(0)
    source = ModifiedAlexNet(num_classes=3, width=0.1, fc_features=16)
    torch.save(source.state_dict(), tmp_path / "w.pt")
    target = build_model("alexnet", 2, width=0.1, fc_features=16, weights_path=tmp_path / "w.pt")
    assert torch.equal(target.features[0].weight, source.features[0].weight)
    assert target.classifier[6].weight.shape == (2, 16)  # new output layer, not copied
    with pytest.raises(FileNotFoundError):
        load_alexnet_weights(target, tmp_path / "none.pt")
    torch.save({"something.else": torch.zeros(2)}, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="no tensor matches"):
        load_alexnet_weights(target, tmp_path / "bad.pt")


def test_lite0_pretrained_loads_imagenet_weights():
    pretrained = build_model("efficientnet_lite0", 2, pretrained=True)
    scratch = build_model("efficientnet_lite0", 2, pretrained=False)
    stem_p, stem_s = pretrained.net._conv_stem.weight, scratch.net._conv_stem.weight
    assert stem_p.shape == stem_s.shape and not torch.allclose(stem_p, stem_s)
    # ImageNet BN statistics are not the fresh-init ones
    assert not torch.allclose(pretrained.net._bn0.running_var, torch.ones_like(pretrained.net._bn0.running_var))
    assert pretrained(torch.zeros(1, 3, 64, 64)).shape == (1, 2)


def test_softmax_cross_entropy_matches_definition():
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    targets = torch.tensor([0, 1, 0])
    p = torch.softmax(logits, 1)[torch.arange(3), targets]
    assert torch.isclose(softmax_cross_entropy(logits, targets), -p.log().mean())
    weights = torch.tensor([1.0, 3.0])
    w = weights[targets]
    assert torch.isclose(SoftmaxCrossEntropy(weights)(logits, targets), -(w * p.log()).sum() / w.sum())
    with pytest.raises(ValueError, match="logits"):
        softmax_cross_entropy(logits[0], targets)
