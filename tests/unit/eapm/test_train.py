"""Training (`companion.eapm.train`): configuration, the overfit check of issue 16, caching, workers, CLI."""

import json
import subprocess
import sys
import warnings

import pytest
import torch

from companion.eapm.data import CocoDetection, collate
from companion.eapm.evaluate import evaluate_detector
from companion.eapm.models import build_detector
from companion.eapm.synthetic import synthetic_dataset
from companion.eapm.train import (ChapterData, TrainConfig, ablation_plan, checkpoint_for, control_config, detection_step,
                                  detector_for, main, train, train_or_load, train_or_load_many)


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


def test_control_config_scales_the_budget():
    cfg = control_config(epochs=40, lr_steps=[30], batch_size=4)
    assert cfg.epochs == 60 and cfg.lr_steps == (45,) and cfg.mu is None
    with pytest.raises(ValueError, match="longer"):
        control_config(0.5, epochs=4)


def test_control_config_refuses_a_shorter_run():
    assert control_config(2.0, epochs=4, lr_steps=[3]).epochs == 8
    with pytest.raises(ValueError, match="longer"):
        control_config(0.5, epochs=4)


def test_training_steps_decrease_loss_and_are_seeded(tiny):
    root, paths = tiny
    ds = CocoDetection(root / "train", paths["train"])
    batch = collate([ds[i] for i in range(3)])

    def run():
        torch.manual_seed(0)
        model = build_detector("retinanet", ds.num_classes, mu=1.5, image_size=64).train()
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        values = []
        for _ in range(3):
            loss = detection_step(model, batch)["loss"]
            opt.zero_grad()
            loss.backward()
            opt.step()
            values.append(float(loss.detach()))
        return values

    first = run()
    assert first[-1] < first[0]
    assert run() == first  # same seed, same numbers on CPU


def test_overfit_two_images(tmp_path):
    """A detector that cannot fit two images cannot learn anything (before the fixes: AP 0.0)."""
    torch.set_num_threads(1)
    data, _ = synthetic_dataset(tmp_path, 2, 2, image_size=64, seed=0)
    cfg = TrainConfig(detector="retinanet", backbone="mobilenet_v3_small", fpn_channels=32, image_size=64,
                      epochs=80, batch_size=2, optimizer="adamw", lr=3e-3, lr_steps=(), warmup_iters=5,
                      grad_clip=10.0, weight_decay=0.0)
    run = train(cfg, data, seed=0, device="cpu", progress=False)
    assert run.history[-1]["train_loss"] < 0.3 * run.history[0]["train_loss"]
    # 0.32 here; BN fix alone 0.02, anchor fix alone 0.21, neither 0.0
    assert evaluate_detector(run.model, data)["AP"] >= 0.25


def test_corrupt_eval_cache_is_named_and_rebuilt(tmp_path):
    torch.set_num_threads(1)
    data = ChapterData(*synthetic_dataset(tmp_path / "data", 2, 2, image_size=64, seed=0), "t", "tiny")
    cfg = TrainConfig.from_params(dict(backbone="mobilenet_v3_small", fpn_channels=16, image_size=64, epochs=1,
                                       batch_size=2, lr_steps=[], warmup_iters=1))
    cache = tmp_path / "cache"
    first = train_or_load(cfg, data, cache, seed=0, device="cpu")
    cached = list(cache.glob("*.eval.json"))
    assert len(cached) == 1
    cached[0].write_text('{"coco": {"AP": ')  # truncated
    with pytest.warns(RuntimeWarning, match=r"\.eval\.json is corrupt"):
        again = train_or_load(cfg, data, cache, seed=0, device="cpu")
    assert again["coco"] == first["coco"]
    assert json.loads(cached[0].read_text())["coco"] == first["coco"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train_or_load(cfg, data, cache, seed=0, device="cpu")  # valid cache: silent


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


def test_learning_curve_leaves_the_trained_batch_norm_statistics_alone(tmp_path):
    """The validation points of the learning curve recompute BN statistics on a copy: the checkpoint
    holds the statistics training left (which page 3 compares with recomputed ones)."""
    torch.set_num_threads(1)
    train_set, val_set = synthetic_dataset(tmp_path / "data", 4, 2, image_size=64, seed=0)
    cfg = TrainConfig.from_params(dict(backbone="mobilenet_v3_small", fpn_channels=16, image_size=64, epochs=2,
                                       batch_size=2, optimizer="adamw", lr=3e-3, lr_steps=[], warmup_iters=1))
    states = {}
    for name, kw in (("plain", {}), ("curve", {"val_data": val_set, "eval_every": 1})):
        path = tmp_path / f"{name}.pt"
        run = train(cfg, train_set, seed=0, device="cpu", progress=False, checkpoint_path=path, **kw)
        states[name] = torch.load(path, map_location="cpu", weights_only=False)["model"]
    assert "val_AP" in run.history[-1]
    bn = [k for k in states["plain"] if k.endswith("running_mean")]
    assert bn and all(torch.equal(states["plain"][k], states["curve"][k]) for k in states["plain"])


def test_a_checkpoint_loads_into_the_detector_its_config_describes(tmp_path):
    """Every field that shapes the network (here the GroupNorm heads) reaches `detector_for`, so that
    page 3 can load a checkpoint without rebuilding the detector by hand."""
    torch.set_num_threads(1)
    train_set, _ = synthetic_dataset(tmp_path / "data", 2, 1, image_size=64, seed=0)
    cfg = TrainConfig.from_params(dict(backbone="mobilenet_v3_small", fpn_channels=16, image_size=64, epochs=1,
                                       batch_size=2, optimizer="adamw", lr=1e-3, lr_steps=[], warmup_iters=1,
                                       head_groups=4))
    path = tmp_path / "run.pt"
    train(cfg, train_set, seed=0, device="cpu", progress=False, checkpoint_path=path)
    model = detector_for(cfg, train_set.num_classes)
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=False)["model"])  # strict
    assert any(isinstance(m, torch.nn.GroupNorm) for m in model.head.modules())
