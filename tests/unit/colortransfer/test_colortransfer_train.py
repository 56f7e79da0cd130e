"""The chapter's train entry point (the pipeline run and its cost) and the claims table."""

import numpy as np
import pandas as pd
import pytest

from companion.colortransfer.data import pairs
from companion.colortransfer.evaluate import CONTRIBUTION_ROWS, claims_counts, claims_table
from companion.colortransfer.train import TrainConfig, main, profile_config, train_or_load


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


def _table(n, ours, others):
    """A contribution table where every measure of "ours" is ``ours`` and of each other row ``others[row]``."""
    rng = np.random.default_rng(0)
    lines = []
    for i in range(n):
        for row, base in [("ours", ours), *others.items()]:
            jitter = rng.uniform(0, 0.01)
            lines.append(dict(pair=f"p{i}", row=row, regrain=True, segment_chroma_spread=base + jitter,
                              flat_chroma_edges=base + jitter, colorfulness=base + jitter))
    return pd.DataFrame(lines)


def test_claims_hold_when_ours_is_lower_everywhere_and_fail_otherwise():
    rows = ("deep_hard_argmax", "stats_constrained", "reinhard", "pitie_idt")
    good = claims_table(_table(8, 1.0, {r: 2.0 for r in rows}), {"pixel": 2.1, "superpixel": 0.9})
    assert list(good.columns) == ["claim", "paper", "this run", "criterion", "holds"]
    assert claims_counts(good) == {"claims_total": 8, "claims_testable": 7, "claims_held": 7}
    bad = claims_table(_table(8, 3.0, {r: 2.0 for r in rows}), {"pixel": 1.2, "superpixel": 1.9})
    assert claims_counts(bad)["claims_held"] == 0
    few = claims_table(_table(3, 1.0, {r: 2.0 for r in rows}))  # 3 pairs: p >= 0.125, nothing can hold
    assert claims_counts(few) == {"claims_total": 8, "claims_testable": 5, "claims_held": 0}
    with pytest.raises(ValueError, match="pitie_idt"):
        claims_table(_table(3, 1.0, {"deep_hard_argmax": 2.0}))
