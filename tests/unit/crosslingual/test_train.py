import numpy as np
import pytest
import torch

from companion.crosslingual.models import build_mlp
from companion.crosslingual.train import TrainConfig, make_step, train_mapping


def _toy(n_images=24, per_image=2, dt=16, di=12, seed=0):
    g = np.random.default_rng(seed)
    latent = g.normal(size=(n_images, 4))
    text = np.repeat(latent @ g.normal(size=(4, dt)), per_image, axis=0)
    text += 0.05 * g.normal(size=text.shape)
    image = np.repeat(np.abs(latent @ g.normal(size=(4, di))) * 3, per_image, axis=0)
    ids = np.repeat(np.arange(n_images), per_image)
    return text.astype(np.float32), image.astype(np.float32), ids


@pytest.mark.parametrize("loss", ["m3l", "patr"])
def test_training_steps_decrease_the_loss(loss):
    text, image, ids = _toy()
    cfg = TrainConfig(loss=loss, epochs=1, batch_size=48, lr=1e-3, beta1=0.9, seed=0)
    torch.manual_seed(0)
    model = build_mlp(16, 12, n_blocks=3, width=32)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    step = make_step(cfg, eta=10.0)
    batch = (torch.from_numpy(text), torch.from_numpy(image), torch.from_numpy(ids))
    model.eval()  # no dropout noise: compare the same function before and after
    first = step(model, batch).item()
    for _ in range(30):
        opt.zero_grad()
        step(model, batch).backward()
        opt.step()
    assert step(model, batch).item() < first


def test_training_is_deterministic_on_cpu():
    text, image, ids = _toy()
    cfg = TrainConfig(loss="patr", epochs=2, batch_size=16, seed=3)
    m1, r1, eta1 = train_mapping(text, image, ids, cfg, device="cpu", progress=False)
    m2, r2, eta2 = train_mapping(text, image, ids, cfg, device="cpu", progress=False)
    assert eta1 == eta2
    assert r1.column("train_loss") == r2.column("train_loss")
    for p, q in zip(m1.parameters(), m2.parameters()):
        assert torch.equal(p, q)


@pytest.mark.parametrize("negatives", ["hard", "random"])
def test_one_block_m3l_stays_finite_when_images_share_a_caption(negatives):
    # the default run's n_blocks=1 ablation went to nan: a dropout-free net maps one sentence under two
    # images to one point, and a text negative at distance 0 makes M3L's ratio infinite
    text, image, ids = _toy(n_images=24, per_image=2)
    text[1::2] = text[0]  # every image's second caption is the same sentence
    cfg = TrainConfig(loss="m3l", epochs=3, batch_size=16, lr=1e-3, beta1=0.9, n_blocks=1, negatives=negatives)
    _, result, _ = train_mapping(text, image, ids, cfg, device="cpu", progress=False)
    assert np.isfinite(result.column("train_loss")).all()
    step = make_step(cfg, None)
    model = build_mlp(16, 12, n_blocks=1)
    assert torch.isfinite(step(model, tuple(map(torch.from_numpy, (text, image, ids))))).item()


def test_bad_config_is_rejected():
    with pytest.raises(ValueError, match="loss"):
        make_step(TrainConfig(loss="triplet"), None)
    with pytest.raises(ValueError, match="differ in length"):
        train_mapping(np.zeros((3, 4), np.float32), np.zeros((2, 4), np.float32), np.arange(3), TrainConfig())


def test_scaled_output_learns_faster_than_the_paper_net_at_large_feature_scale():
    # image features at a ResNet-like scale (norm ~ 40): in a few dozen steps the scaled net
    # gets much closer to its images than the unscaled one, whose output starts near zero
    text, image, ids = _toy(n_images=32, per_image=2, dt=16, di=12)
    image = image * 40 / np.sqrt((image ** 2).sum(1).mean())
    losses = {}
    for scaled in (True, False):
        cfg = TrainConfig(loss="patr", epochs=3, batch_size=16, seed=0, scale_output=scaled, init_bias=False)
        model, result, eta = train_mapping(text, image, ids, cfg, device="cpu", progress=False)
        mapped = model(torch.from_numpy(text)).detach().numpy()
        losses[scaled] = float(((mapped - image) ** 2).sum(1).mean())
    assert losses[True] < 0.5 * losses[False]


def test_init_output_bias_puts_the_untrained_output_at_the_mean_image():
    from companion.crosslingual.train import init_output_bias
    rng = np.random.default_rng(0)
    image = (20 + rng.random((10, 6))).astype(np.float32)
    model = build_mlp(8, 6, width=16, output_scale=5.0).eval()
    with torch.no_grad():
        model.blocks[-1][0].weight.zero_()
    init_output_bias(model, image)
    out = model(torch.randn(4, 8)).detach().numpy()
    assert np.allclose(out, image.mean(0), atol=1e-4)
    with pytest.raises(ValueError, match="dims"):
        init_output_bias(model, image[:, :5])


def test_init_bias_helps_m3l_when_the_features_share_a_large_offset():
    # pooled CNN features: a large common component plus a small image-specific one
    text, image, ids = _toy(n_images=32, per_image=2, dt=16, di=12)
    image = 30 + image
    final = {}
    for init in (True, False):
        cfg = TrainConfig(loss="m3l", epochs=3, batch_size=16, seed=0, init_bias=init)
        _, result, _ = train_mapping(text, image, ids, cfg, device="cpu", progress=False)
        final[init] = result.history[-1]["train_loss"]
    assert final[True] < 0.5 * final[False]


def test_checkpoint_key_changes_with_config_data_and_training_revision(monkeypatch, tmp_path):
    from types import SimpleNamespace

    import companion.crosslingual.train as train

    feats = SimpleNamespace(train=SimpleNamespace(captions=["a red cube", "two blue balls"]),
                            test=SimpleNamespace(image_names=["0001.png"]))
    path = train.checkpoint_for(TrainConfig(), feats, tmp_path)
    assert path == train.checkpoint_for(TrainConfig(), feats, tmp_path)
    assert path != train.checkpoint_for(TrainConfig(encoder="e5"), feats, tmp_path)
    assert path != train.checkpoint_for(TrainConfig(rho=2.0), feats, tmp_path)
    feats.train.captions = ["a red cube", "two blue cubes"]
    other_data = train.checkpoint_for(TrainConfig(), feats, tmp_path)
    assert other_data != path
    monkeypatch.setattr(train, "CACHE_VERSION", train.CACHE_VERSION + 1)
    assert train.checkpoint_for(TrainConfig(), feats, tmp_path) != other_data


def test_split_by_image_keeps_captions_of_an_image_together():
    from companion.crosslingual.train import split_by_image

    ids = np.repeat(np.arange(20), 2)
    tr, va = split_by_image(ids, 0.25, seed=1)
    assert len(np.unique(ids[va])) == 5 and not set(ids[tr]) & set(ids[va])
    assert sorted([*tr, *va]) == list(range(40))
    assert (split_by_image(ids, 0.25, seed=1)[1] == va).all()
    with pytest.raises(ValueError, match="empty split"):
        split_by_image(ids, 0.0)


def test_early_stopping_keeps_the_best_validation_epoch_and_reloads_it(tmp_path):
    from companion.crosslingual.models import map_texts
    from companion.crosslingual.train import train_early_stopped, validation_recall

    text, image, ids = _toy(n_images=80)
    cfg = TrainConfig(loss="m3l", epochs=6, batch_size=16, lr=3e-3, beta1=0.9, seed=0)
    run = train_early_stopped(text, image, ids, cfg, val_fraction=0.25, cache_path=tmp_path / "es.pt", device="cpu")
    val = [h["val_R@1"] for h in run.history]
    assert len(val) == 6 and run.best_epoch == int(np.argmax(val)) + 1
    assert run.best_steps == run.best_epoch * run.steps_per_epoch and run.n_val_images == 20
    # the returned model is the best epoch's: its validation recall is the best one recorded
    from companion.crosslingual.train import split_by_image
    _, va = split_by_image(ids, 0.25, 0)
    assert validation_recall(run.model, text[va], image[va], ids[va]) == pytest.approx(max(val))
    again = train_early_stopped(text, image, ids, cfg, val_fraction=0.25, cache_path=tmp_path / "es.pt")
    assert again.best_epoch == run.best_epoch
    assert np.allclose(map_texts(again.model, text), map_texts(run.model, text))


def test_matched_epochs_equalise_optimiser_steps():
    from companion.crosslingual.train import matched_epochs

    from companion.crosslingual.train import optimizer_steps

    assert optimizer_steps(400, 128, 60) == optimizer_steps(1200, 128, 20) == 180
    assert matched_epochs(180, 400, 128) == 60 and matched_epochs(10, 60, 32) == 10  # 60 rows: 1 step an epoch
    assert matched_epochs(181, 400, 128) == 61
    assert optimizer_steps(50, 128, 3) == 3
    # train_mapping really takes that many steps (fit drops the last partial batch)
    text, image, ids = _toy(n_images=70, per_image=1)
    _, result, _ = train_mapping(text, image, ids, TrainConfig(epochs=2, batch_size=16), device="cpu", progress=False)
    assert result.samples_seen == optimizer_steps(70, 16, 2) * 16
    with pytest.raises(ValueError, match="positive"):
        matched_epochs(20, 0, 128)


def test_early_stopping_with_patience_stops_and_keeps_the_best():
    from companion.crosslingual.train import train_early_stopped

    text, image, ids = _toy(n_images=80)
    cfg = TrainConfig(loss="patr", epochs=30, batch_size=16, lr=3e-2, beta1=0.9, seed=0)
    run = train_early_stopped(text, image, ids, cfg, val_fraction=0.25, patience=2, device="cpu")
    val = [h["val_R@1"] for h in run.history]
    assert len(val) == run.best_epoch + 2 < 30 and max(val) == val[run.best_epoch - 1]
    assert run.eta is not None and run.eta > 0


def test_train_config_from_params_refuses_unknown_keys_and_full_profile_is_the_paper():
    from companion.book.profiles import resolve

    assert TrainConfig.from_params({"loss": "patr", "rho": 2.0}) == TrainConfig(loss="patr", rho=2.0)
    with pytest.raises(ValueError, match="n_train"):
        TrainConfig.from_params({"lr": 1e-3, "n_train": 5})
    with pytest.raises(ValueError, match="bogus"):
        TrainConfig().replace(bogus=1)
    full = resolve("crosslingual", "03-training", "full")
    paper = TrainConfig()  # the paper's Section 3 values
    assert {k: full[k] for k in ("epochs", "batch_size", "lr", "beta1")} == \
        {"epochs": paper.epochs, "batch_size": paper.batch_size, "lr": paper.lr, "beta1": paper.beta1} == \
        {"epochs": 50, "batch_size": 128, "lr": 1e-3, "beta1": 0.99}


def test_cli_defaults_come_from_the_profile_and_flags_override_them():
    from companion.book.profiles import resolve
    from companion.crosslingual.train import build_parser

    smoke = resolve("crosslingual", "03-training", "smoke")
    args = build_parser("smoke").parse_args(["--profile", "smoke"])
    assert (args.epochs, args.lr, args.n_train, args.encoder) == (smoke["epochs"], smoke["lr"], smoke["n_train"],
                                                                 smoke["encoders"][0])
    args = build_parser("default").parse_args(["--epochs", "3", "--loss", "patr", "--scale-output", "false"])
    assert (args.epochs, args.loss, args.scale_output) == (3, "patr", False)
    assert args.lr == resolve("crosslingual", "03-training", "default")["lr"]
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--loss", "triplet"])


def _toy_features(n_images=40, per_image=2):
    from types import SimpleNamespace

    from companion.crosslingual.features import Features

    text, image, ids = _toy(n_images=n_images, per_image=per_image)
    train = SimpleNamespace(captions=[f"caption {i}" for i in range(len(text))])
    test = SimpleNamespace(image_names=[f"{i}.png" for i in range(5)])
    return Features({"toy": text}, image, ids, {}, image[:5], train, test)


def test_train_needs_the_configs_encoder():
    from companion.crosslingual.train import train

    with pytest.raises(ValueError, match="no training embeddings for encoder 'muse'"):
        train(TrainConfig(encoder="muse"), _toy_features())


def test_parallel_early_stopped_runs_equal_serial_ones(tmp_path):
    from companion.crosslingual.models import map_texts
    from companion.crosslingual.train import early_stopped_runs

    feats = _toy_features()
    cfgs = [TrainConfig(encoder="toy", loss=loss, epochs=3, batch_size=16, lr=3e-3, beta1=0.9, seed=s)
            for loss, s in (("m3l", 0), ("patr", 1))]
    kw = dict(val_fraction=0.25, patience=2, device="cpu")
    serial = early_stopped_runs(cfgs, feats, tmp_path / "serial", workers=1, **kw)
    parallel = early_stopped_runs(cfgs, feats, tmp_path / "parallel", workers=2, **kw)
    assert len(list((tmp_path / "parallel").glob("*.pt"))) == 2
    text = feats.train_text["toy"]
    for a, b in zip(serial, parallel):
        assert a.history == b.history and a.best_epoch == b.best_epoch
        assert np.array_equal(map_texts(a.model, text), map_texts(b.model, text))
    with pytest.raises(ValueError, match="workers"):
        early_stopped_runs(cfgs, feats, tmp_path, workers=0)
