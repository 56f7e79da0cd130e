import pytest
import torch

from companion.core.backbones import efficientnet_lite0, imagenet_weights_path, parameter_counts


def test_imagenet_weights_load_and_a_new_head_keeps_the_trunk():
    reference = torch.load(imagenet_weights_path(), map_location="cpu", weights_only=True)
    net = efficientnet_lite0()
    assert torch.equal(net.state_dict()["_conv_stem.weight"], reference["_conv_stem.weight"])
    three = efficientnet_lite0(num_classes=3)
    assert three._fc.out_features == 3
    assert torch.equal(three.state_dict()["_blocks.15._project_conv.weight"],
                       reference["_blocks.15._project_conv.weight"])
    random = efficientnet_lite0(weights=None)
    assert not torch.equal(random.state_dict()["_conv_stem.weight"], reference["_conv_stem.weight"])


def test_a_local_weights_file_loads_and_a_missing_one_is_named(tmp_path):
    torch.manual_seed(0)
    net = efficientnet_lite0(weights=None)
    path = tmp_path / "mine.pth"
    torch.save(net.state_dict(), path)
    again = efficientnet_lite0(weights=path)
    assert torch.equal(again.state_dict()["_conv_stem.weight"], net.state_dict()["_conv_stem.weight"])
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        efficientnet_lite0(weights=tmp_path / "nope.pth")


def test_parameter_counts_split_trainable_and_frozen():
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(3, 1))
    model[0].requires_grad_(False)
    assert parameter_counts(model) == {"trainable": 4, "frozen": 15, "total": 19}
