import pytest
import torch

from companion.eapm.synthetic import synthetic_dataset
from companion.eapm.train import ChapterData, TrainConfig, ablation_plan, checkpoint_for, control_config, train_or_load_many


def test_from_params_refuses_unknown_keys_and_normalises():
    with pytest.raises(ValueError, match="no_such_knob"):
        TrainConfig.from_params({"no_such_knob": 1, "lr": 0.1})
    cfg = TrainConfig.from_params({"lr_steps": [3, 4], "detector": "faster_rcnn"})
    assert cfg.lr_steps == (3, 4) and cfg.reg_loss == "balanced_l1"  # Libra R-CNN's regression loss
    assert cfg == TrainConfig.from_params({"lr_steps": (3, 4), "detector": "faster_rcnn", "reg_loss": "l1"})


def test_ablation_plan_rows_and_control():
    settings = {"epochs": 20, "lr_steps": [14, 17]}
    plan = ablation_plan(settings, mus=(None, 1.5), thetas=(None, 1.0))
    assert [(f, k) for f, _, k in plan] == [("RetinaNet", None), ("RetinaNet", 1.5), ("RetinaNet", "control"),
                                           ("Libra RetinaNet (mu=1.5)", None), ("Libra RetinaNet (mu=1.5)", 1.0)]
    control = plan[2][1]
    assert control.mu is None and control.epochs == 30 and control.lr_steps == (21, 26)
    assert plan[4][1].reg_loss == "balanced_l1" and plan[4][1].theta == 1.0 and plan[4][1].mu == 1.5
    with pytest.raises(ValueError, match="unknown"):
        ablation_plan({"epoch": 3})


def test_parallel_workers_give_the_serial_numbers(tmp_path):
    """Runs trained side by side in worker processes are the runs trained one after the other."""
    torch.set_num_threads(1)
    data = ChapterData(*synthetic_dataset(tmp_path / "data", 4, 2, image_size=64, seed=0), "t", "tiny")
    cfg = TrainConfig.from_params(dict(backbone="mobilenet_v3_small", fpn_channels=16, image_size=64, epochs=2,
                                       batch_size=2, optimizer="adamw", lr=3e-3, lr_steps=[], warmup_iters=1))
    jobs = [(cfg, 0), (TrainConfig.from_params({**cfg.__dict__, "mu": 1.5}), 0)]
    parallel = train_or_load_many(jobs, data, tmp_path / "par", workers=2, device="cpu")
    serial = train_or_load_many(jobs, data, tmp_path / "ser", workers=1, device="cpu")
    for p, s in zip(parallel, serial):
        assert [h["train_loss"] for h in p["history"]] == [h["train_loss"] for h in s["history"]]
        assert p["coco"] == s["coco"]
    assert parallel[0]["history"] != parallel[1]["history"]  # mu changes the run
    assert checkpoint_for(cfg, 0, "t", tmp_path / "par").is_file()
    with pytest.raises(ValueError, match="workers"):
        train_or_load_many(jobs, data, tmp_path / "x", workers=0)


def test_control_config_refuses_a_shorter_run():
    assert control_config(2.0, epochs=4, lr_steps=[3]).epochs == 8
    with pytest.raises(ValueError, match="longer"):
        control_config(0.5, epochs=4)
