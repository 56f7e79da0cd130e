import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from companion.mammography.train import (TrainConfig, main, scenario_subset, strategy_indices, train, train_model,
                                         train_or_load)

TINY = TrainConfig(width=0.1, fc_features=16, dropout=0.2, batch_norm=True, input_size=67, epochs=2, batch_size=8, lr=0.01,
                   lr_step_iterations=100)


def test_strategy_indices(tiny_data):
    m = tiny_data.manifest
    for strategy, datasets in (("ffdm", {"ffdm"}), ("ddsm", {"ddsm"}), ("mixed", {"ffdm", "ddsm"})):
        stages = strategy_indices(tiny_data, strategy)
        assert set(m.iloc[stages["train"]]["dataset"]) == datasets
        assert set(m.iloc[stages["test"]]["split"]) == {"test"}
        assert not set(m.iloc[stages["train"]]["patient_id"]) & set(m.iloc[stages["test"]]["patient_id"])
    inc = strategy_indices(tiny_data, "incremental")
    assert set(m.iloc[inc["pretrain"]]["dataset"]) == {"ddsm"}
    assert np.array_equal(inc["test"], strategy_indices(tiny_data, "ffdm")["test"])
    with pytest.raises(ValueError, match="unknown strategy"):
        strategy_indices(tiny_data, "ffdm_then_ddsm")


def test_same_seed_same_numbers(tiny_data):
    a = train(replace(TINY, seed=5), tiny_data, device="cpu")
    b = train(replace(TINY, seed=5), tiny_data, device="cpu")
    c = train(replace(TINY, seed=6), tiny_data, device="cpu")
    np.testing.assert_array_equal(a.proba, b.proba)
    assert a.history == b.history
    assert not np.array_equal(a.proba, c.proba)
    np.testing.assert_array_equal(a.test_index, c.test_index)  # seeds share the balanced test images
    assert a.proba.shape == (len(a.y_true), 2)
    assert np.bincount(a.y_true).tolist()[0] == np.bincount(a.y_true).tolist()[1]  # balanced test set


def test_training_steps_decrease_loss_on_a_batch(tiny_data):
    from companion.mammography.models import build_model
    from companion.mammography.train import classification_step, make_dataset

    index, targets = scenario_subset(tiny_data, strategy_indices(tiny_data, "mixed")["train"],
                                     "malignant_vs_negative", True, 0)
    x, y = make_dataset(tiny_data, index, targets, index, TINY).tensors(), torch.as_tensor(targets)
    torch.manual_seed(0)
    model = build_model("alexnet", 2, width=0.1, fc_features=32, batch_norm=True, dropout=0.0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def eval_loss():
        model.eval()
        with torch.no_grad():
            return torch.nn.functional.cross_entropy(model(x), y).item()

    before = eval_loss()
    for _ in range(15):
        model.train()
        loss = classification_step(model, (x, y))["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert eval_loss() < before - 0.05


def test_fit_history_and_mean_image(tiny_data):
    index = strategy_indices(tiny_data, "ffdm")["train"]
    _, result, centre = train_model(TINY, tiny_data, index, device="cpu")
    assert len(result.history) == TINY.epochs and result.samples_seen > 0
    assert centre.shape == (67, 67) and 0 < centre.mean() < 1


def test_trained_model_is_channels_last_and_layout_does_not_change_predictions(tiny_data):
    from companion.mammography.data import MammogramDataset
    from companion.mammography.train import predict_proba

    index = strategy_indices(tiny_data, "ffdm")["train"]
    model, _, centre = train_model(TINY, tiny_data, index, device="cpu")
    conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert not conv.weight.is_contiguous()
    test = strategy_indices(tiny_data, "ffdm")["test"]
    dataset = MammogramDataset(tiny_data.images[test], np.zeros(len(test), np.int64), centre)
    nhwc = predict_proba(model, dataset, "cpu")
    nchw = predict_proba(model.to(memory_format=torch.contiguous_format), dataset, "cpu")
    np.testing.assert_allclose(nhwc, nchw, atol=1e-5)


def test_checkpoint_is_reused_and_incremental_starts_from_ddsm(tiny_data, tmp_path):
    inc = replace(TINY, strategy="incremental", scenario="triple")
    first = train_or_load(inc, tiny_data, tmp_path, device="cpu")
    names = sorted(p.name for p in tmp_path.glob("*.pt"))
    assert any("-ddsm-triple" in n for n in names) and any("-incremental-triple" in n for n in names)
    again = train_or_load(inc, tiny_data, tmp_path, device="cpu")
    np.testing.assert_array_equal(first.proba, again.proba)
    assert again.seconds < first.seconds or again.seconds < 0.05  # loaded, not retrained
    assert first.proba.shape[1] == 3
    scratch = train(replace(inc, strategy="ffdm"), tiny_data, device="cpu")
    assert not np.allclose(scratch.proba, first.proba)  # the DDSM start changes the model


def test_scenario_subset_keeps_only_scenario_classes(tiny_data):
    index = np.arange(len(tiny_data.manifest))
    chosen, targets = scenario_subset(tiny_data, index, "malignant_vs_recalled", balance=False, seed=0)
    assert set(tiny_data.manifest.iloc[chosen]["label"]) == {"malignant", "recalled_benign"}
    assert (targets == (tiny_data.codes[chosen] == 2)).all()


def test_cli_runs_one_scenario_from_the_smoke_profile_with_overrides(tmp_path, capsys):
    results = main(["--profile", "smoke", "--strategy", "ddsm", "--scenario", "recalled_vs_negative", "--n-ffdm", "14",
                    "--n-ddsm", "8", "--n-interval", "1", "--image-size", "64", "--input-size", "67", "--width", "0.1",
                    "--fc-features", "16", "--epochs", "1", "--batch-size", "8", "--no-flip",
                    "--test-fraction", "0.3", "--device", "cpu", "--out", str(tmp_path)])
    saved = json.loads((tmp_path / "results.json").read_text())
    assert 0.0 <= results["recalled_vs_negative"]["auc"] <= 1.0
    assert saved["profile"] == "smoke" and saved["scenarios"] == ["recalled_vs_negative"]
    config = saved["config"]
    assert config["strategy"] == "ddsm" and config["epochs"] == 1 and config["flip"] is False
    assert config["batch_norm"] is True and config["lr"] == 0.01  # from the smoke profile, not the paper's
    assert saved["data"]["n_ffdm"] == 14 and saved["data"]["test_fraction"] == 0.3
    with pytest.raises(SystemExit):
        main(["--strategy", "nope"])


def test_from_params_refuses_unknown_keys_and_reads_empty_weights_as_none():
    with pytest.raises(ValueError, match="no_such_knob"):
        TrainConfig.from_params({"epochs": 3, "no_such_knob": 1})
    config = TrainConfig.from_params({"epochs": 3, "alexnet_weights": ""})
    assert config.epochs == 3 and config.alexnet_weights is None
    with pytest.raises(ValueError, match="unknown strategy"):
        TrainConfig.from_params({"strategy": "ffdm_then_ddsm"})
    with pytest.raises(ValueError, match="scenario"):
        TrainConfig.from_params({"scenario": "benign_vs_all"})


@pytest.mark.parametrize("profile", ["smoke", "default", "full"])
def test_every_profile_gives_a_valid_config(profile):
    from companion.mammography.train import config_params, profile_params

    params = profile_params(profile)
    config = TrainConfig.from_params(config_params(params))
    assert config.scenario == params["scenario"] and config.input_size == params["input_size"]


def test_full_profile_defaults_and_paper_agree():
    """TrainConfig's defaults are the paper's settings and the full profile's values (issue 15)."""
    from companion.mammography.data import PAPER_INTERVAL_CANCERS, PAPER_PATIENTS
    from companion.mammography.paper import TRAINING
    from companion.mammography.train import config_params, profile_params

    full = profile_params("full")
    defaults = TrainConfig()
    assert TrainConfig.from_params(config_params(full)) == defaults
    for name, value in TRAINING.items():
        assert getattr(defaults, name) == value, name
        assert full.get(name, value) == value, name
    assert full["n_ffdm"] == sum(PAPER_PATIENTS["ffdm"].values())
    assert full["n_ddsm"] == sum(PAPER_PATIENTS["ddsm"].values())
    assert full["n_interval"] == PAPER_INTERVAL_CANCERS


def test_config_key_changes_with_the_cache_version(monkeypatch):
    from companion.mammography import train as mtrain

    key = TrainConfig().key()
    assert key == TrainConfig().key() and key != replace(TrainConfig(), epochs=TrainConfig().epochs + 1).key()
    monkeypatch.setattr(mtrain, "CACHE_VERSION", mtrain.CACHE_VERSION + 1)
    assert TrainConfig().key() != key, "checkpoints of older training code would be reused"


def test_flip_vertical_flips_whole_images_and_keeps_the_rest():
    from companion.mammography.train import flip_vertical

    x = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).view(2, 3, 4, 4).repeat(8, 1, 1, 1)
    out = flip_vertical(x, torch.Generator().manual_seed(0))
    flipped = [bool(torch.equal(o, i.flip(-2))) for o, i in zip(out, x)]
    kept = [bool(torch.equal(o, i)) for o, i in zip(out, x)]
    assert all(f or k for f, k in zip(flipped, kept)) and any(flipped) and any(kept)


def test_flip_training_is_deterministic_and_changes_the_model(tiny_data):
    a = train(replace(TINY, flip=True, seed=5), tiny_data, device="cpu")
    b = train(replace(TINY, flip=True, seed=5), tiny_data, device="cpu")
    c = train(replace(TINY, seed=5), tiny_data, device="cpu")
    np.testing.assert_array_equal(a.proba, b.proba)
    assert not np.array_equal(a.proba, c.proba)


def test_cam_findings_of_run_uses_the_latent_masks(tiny_data):
    from companion.mammography.evaluate import cam_findings_of_run

    run = train(replace(TINY, strategy="mixed"), tiny_data, device="cpu")
    result = cam_findings_of_run(run, tiny_data, n_random=20)
    assert result is not None and 0 <= result["cam_share"] <= 1 and result["n"] >= 2
    saved, tiny_data.latent = tiny_data.latent, None
    try:
        assert cam_findings_of_run(run, tiny_data) is None
    finally:
        tiny_data.latent = saved


def test_cross_validate_covers_every_fold_and_reuses_checkpoints(tiny_data, tmp_path):
    from companion.mammography.train import cross_validate

    config = replace(TINY, epochs=1, strategy="mixed")
    table = cross_validate(config, tiny_data, n_folds=2, device="cpu", cache_dir=tmp_path)
    assert list(table.index) == [0, 1]
    assert ((table["val_auc"] >= 0) & (table["val_auc"] <= 1)).all() and (table["best_epoch"] == 1).all()
    assert len(list(tmp_path.glob("*fold*of2*.pt"))) == 2
    again = cross_validate(config, tiny_data, n_folds=2, device="cpu", cache_dir=tmp_path)
    assert again.equals(table)
