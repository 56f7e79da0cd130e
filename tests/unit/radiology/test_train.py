"""Training: configuration, steps, caches, the command line."""

import pytest
import torch

from companion.radiology.train import TrainConfig, build_model, clip_step, make_optimizer

from .helpers import _batch, _tiny_config


def test_seed_determinism_and_training_steps_decrease_loss(backbone):
    m1, tok = build_model(_tiny_config(5))
    m2, _ = build_model(_tiny_config(5))
    m3, _ = build_model(_tiny_config(6))
    batch = _batch(tok)
    for m in (m1, m2, m3):
        m.eval()
    with torch.no_grad():
        e1, e2, e3 = (m(batch["image"], batch["input_ids"], batch["attention_mask"])[0] for m in (m1, m2, m3))
    assert torch.equal(e1, e2) and not torch.allclose(e1, e3)
    m1.train()
    opt = make_optimizer(m1, _tiny_config(5))
    losses = []
    for _ in range(8):
        torch.manual_seed(0)
        loss = clip_step(m1, batch)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 0.1, losses


def test_training_cli_exposes_device_and_config_flags(capsys):
    from companion.radiology.train import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for flag in ("--device", "--data", "--split", "--vision-trunk", "--text-mode", "--n-prompts", "--image-size"):
        assert flag in text


def test_ablation_configs():
    from companion.radiology.train import TrainConfig, ablation_config

    base = TrainConfig(n_prompts=16)
    assert ablation_config(base, "plain").vision == "plain"
    assert ablation_config(base, "prompts_4").n_prompts == 4
    ft = ablation_config(base, "finetune_25")
    assert ft.text_mode == "finetune" and ft.train_fraction == 0.25 and ft.backbone_lr == 1e-4
    assert ablation_config(base, "frozen", seed=3).seed == 3
    assert ablation_config(base, "proposed").key() == base.key()
    with pytest.raises(ValueError, match="unknown ablation"):
        ablation_config(base, "dropout")


def test_training_cli_rejects_unknown_choices(capsys):
    from companion.radiology.train import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--vision", "resnet50", "--epochs", "1"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'resnet50'" in capsys.readouterr().err


def test_training_cli_runs_end_to_end_on_synthetic_data(tmp_path, capsys):
    import json

    from companion.radiology.train import main

    main(["--n-studies", "12", "--image-size", "48", "--vision-trunk", "densenet-small", "--text-layers", "1",
          "--n-prompts", "2", "--epochs", "1", "--batch-size", "4", "--max-length", "24", "--device", "cpu",
          "--out", str(tmp_path)])
    report = json.loads(capsys.readouterr().out)
    assert [h["epoch"] for h in report["history"]] == [1]
    assert report["history"][0]["train_loss"] > 0 and "val_loss" in report["history"][0]
    assert report["device"] == "cpu" and report["config"]["n_prompts"] == 2
    assert (tmp_path / "data" / "annotation.json").is_file()
    # the checkpoint, named by the configuration's key, and the best-validation weights beside it
    assert sorted(p.name.split(".", 1)[1] for p in tmp_path.glob("*.pt")) == ["best.pt", "pt"]
    assert "val_finding_f1" in report["history"][0]


def test_max_train_studies_trains_on_a_prefix_but_returns_every_study(tmp_path):
    from companion.radiology.synthetic import make_synthetic
    from companion.radiology.train import TrainConfig, train

    root = make_synthetic(tmp_path / "iu", 16, 48, seed=0)
    config = TrainConfig(vision_trunk="densenet-small", text_layers=1, n_prompts=2, image_size=48, max_length=24,
                         epochs=1, batch_size=4, max_train_studies=4)
    _, result, datasets = train(config, root, device="cpu", progress=False)
    assert len(datasets["train"]) > 4  # retrieval candidates stay complete
    assert result.samples_per_second > 0 and len(result.history) == 1
    head = datasets["train"].head(4)
    assert head.reports == datasets["train"].reports[:4] and head.images.shape[0] == 4
    assert config.key() != TrainConfig(**{**config.__dict__, "max_train_studies": None}).key()
    with pytest.raises(ValueError, match="max_train_studies"):
        train(TrainConfig(**{**config.__dict__, "max_train_studies": 1}), root, device="cpu", progress=False)


def test_frozen_trunk_run_caches_features_and_keeps_the_trunk(tmp_path):
    """A freeze_trunk run trains the heads on cached trunk maps; the trunk is the seed's, untouched; a second
    run reuses the cached maps and the checkpoint; the returned model embeds images as usual."""
    from companion.radiology import train as rtrain
    from companion.radiology.evaluate import run_retrieval
    from companion.radiology.synthetic import make_synthetic
    from companion.radiology.train import TrainConfig, build_model, train, trunk_feature_datasets

    root = make_synthetic(tmp_path / "iu", 16, 48, seed=0)
    config = TrainConfig(vision_trunk="densenet-small", text_layers=1, n_prompts=2, image_size=48, max_length=24,
                         epochs=2, batch_size=4, freeze_trunk=True, seed=4)
    fresh, _ = build_model(config)
    model, result, datasets = train(config, root, device="cpu", checkpoint_dir=tmp_path / "ck", progress=False)
    assert len(result.history) == 2 and not model.vision.inputs_are_features
    for (k, a), b in zip(fresh.vision.trunk.state_dict().items(), model.vision.trunk.state_dict().values()):
        assert torch.equal(a, b), k  # the trunk did not train, BatchNorm statistics included
    assert any(not torch.equal(a, b) for a, b in zip(fresh.vision.head.parameters(), model.vision.head.parameters()))
    cached = sorted((tmp_path / "ck").glob("trunk-*.pt"))
    assert len(cached) == 2  # training and validation images
    maps = torch.load(cached[0], weights_only=True)
    assert maps.ndim == 4 and maps.shape[1] == model.vision.trunk.out_channels
    # the second process reads the maps from disk: computing them again is an error here
    rtrain._FEATURES.clear()
    fresh.vision.trunk_features = None  # not called: the files are found by key
    sets = trunk_feature_datasets(fresh, datasets, ("train", "val"), tmp_path / "ck")
    assert sets["train"].images.shape[0] == len(datasets["train"]) and sets["train"].reports == datasets["train"].reports
    again, result2, _ = train(config, root, device="cpu", checkpoint_dir=tmp_path / "ck", datasets=datasets,
                              progress=False)
    assert result2.resumed_from_epoch == 2
    assert run_retrieval(model, datasets)["retrieved"] == run_retrieval(again, datasets)["retrieved"]
    with pytest.raises(ValueError, match="freeze_trunk"):
        trunk_feature_datasets(build_model(TrainConfig(**{**config.__dict__, "freeze_trunk": False}))[0], datasets)


def test_config_key_changes_with_the_cache_version(monkeypatch):
    from companion.radiology import train as rtrain
    from companion.radiology.train import TrainConfig

    key = TrainConfig().key()
    assert key == TrainConfig().key()
    monkeypatch.setattr(rtrain, "CACHE_VERSION", rtrain.CACHE_VERSION + 1)
    assert TrainConfig().key() != key, "checkpoints of older training code would be reused"
