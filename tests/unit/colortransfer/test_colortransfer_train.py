"""The chapter's train entry point: the pipeline run, its cost, its cache and its command line."""

import pandas as pd
import pytest

from companion.colortransfer.data import pairs
from companion.colortransfer.evaluate import CONTRIBUTION_ROWS
from companion.colortransfer.train import TrainConfig, main, profile_config, train, train_or_load


def test_from_params_refuses_unknown_keys_and_bad_pair_counts():
    cfg = TrainConfig.from_params({"max_side": 64, "contribution_pairs": 2})
    assert cfg.max_side == 64 and cfg.contribution_pairs == 2
    with pytest.raises(ValueError, match="bench_sizes"):
        TrainConfig.from_params({"max_side": 64, "bench_sizes": [1]})
    with pytest.raises(ValueError, match="contribution_pairs"):
        TrainConfig.from_params({"contribution_pairs": 0})
    assert TrainConfig(max_side=64).key() != TrainConfig(max_side=65).key()


def test_profiles_give_configs():
    smoke, default = profile_config("smoke"), profile_config("default")
    assert smoke.max_side < default.max_side and smoke.contribution_pairs <= default.contribution_pairs


def test_help_lists_the_profiles(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "--profile {smoke,default,full}" in capsys.readouterr().out


def test_train_or_load_caches_the_table(tmp_path):
    cfg = TrainConfig(max_side=32, contribution_pairs=1, features="handcrafted")
    first = train_or_load(cfg, cache_dir=tmp_path)
    assert not first.cached and first.seconds > 0 and len(list(tmp_path.glob("*.pkl"))) == 1
    second = train_or_load(cfg, cache_dir=tmp_path)
    assert second.cached
    pd.testing.assert_frame_equal(first.table, second.table)
    assert set(first.table.row) == set(CONTRIBUTION_ROWS)
    other = train_or_load(cfg, data=pairs(2)[1:], cache_dir=tmp_path)  # other pairs: not the cached table
    assert not other.cached and set(other.table.pair) != set(first.table.pair)


def test_train_runs_every_row_uncached_and_deterministically():
    cfg = TrainConfig(max_side=32, contribution_pairs=1, features="handcrafted")
    a, b = train(cfg), train(cfg)
    assert not a.cached and a.seconds > 0 and a.device == "cpu"
    assert list(a.table.pair.unique()) == [pairs(1)[0].name]
    # every row with and without the regrain, except the identity (listed once, raw)
    assert len(a.table) == 2 * len(CONTRIBUTION_ROWS) - 1
    measures = ["segment_chroma_spread", "flat_chroma_edges", "colorfulness", "ssim_L", "swd_lab"]
    pd.testing.assert_frame_equal(a.table[measures], b.table[measures])
    with pytest.raises(ValueError, match="at least one photo pair"):
        train(cfg, data=[])


def test_cli_flags_override_the_profile(tmp_path, capsys):
    info = main(["--profile", "smoke", "--max-side", "32", "--contribution-pairs", "1", "--features", "handcrafted",
                 "--device", "cpu", "--out", str(tmp_path)])
    smoke = profile_config("smoke")
    assert info["config"]["max_side"] == 32 and info["config"]["features"] == "handcrafted"
    assert info["config"]["seed"] == smoke.seed and info["config"]["cpu_threads"] == smoke.cpu_threads
    assert not info["cached"] and "claim" in capsys.readouterr().out
    assert main(["--profile", "smoke", "--max-side", "32", "--contribution-pairs", "1", "--features",
                 "handcrafted", "--device", "cpu", "--out", str(tmp_path)])["cached"]


def test_the_runs_use_the_papers_settings():
    """Every profile runs `transfer` at its defaults, so the defaults must be the paper's settings (Sec. 4.1)."""
    import inspect

    from companion.colortransfer.matching import n_superpixels
    from companion.colortransfer.paper import REPORTED
    from companion.colortransfer.pipeline import transfer

    paper = {n.quantity.split(" (")[0]: n.value for n in REPORTED if n.source == "Sec. 4.1"}
    defaults = {k: v.default for k, v in inspect.signature(transfer).parameters.items()}
    assert defaults["tau"] == paper["attention temperature tau"]
    assert defaults["delta_s"] == paper["fusion spatial scale delta_s"]
    assert defaults["delta_c"] == paper["fusion colour scale delta_c"]
    assert defaults["segments_factor"] == paper["superpixels per sqrt(n)"] and n_superpixels(10_000) == 300
    assert defaults["attention"] == "soft" and defaults["regrain"] and defaults["depth"] == "shallow"
    full = profile_config("full")
    assert full.contribution_pairs == len(pairs()) and full.max_side >= profile_config("default").max_side
