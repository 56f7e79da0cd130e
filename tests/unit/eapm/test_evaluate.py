"""Evaluation (`companion.eapm.evaluate`): COCO AP, aspect buckets, seed statistics, claims, headroom."""

import json

import numpy as np
import pandas as pd
import pytest

from companion.eapm.data import CocoDetection, real_coco_boxes
from companion.eapm.evaluate import (ablation_rows, ap_by_aspect_ratio, box_attributes, claims_counts, claims_table,
                                     coco_stats, gain_verdict, headroom_table, paired_gain, seeds_needed)
from companion.eapm.models import build_detector


def _runs(aps, long=None):
    long = long if long is not None else aps
    return [{"coco": {"AP": a}, "ap_by_aspect": {"AP_ar4tomax": b}} for a, b in zip(aps, long)]


def _results(gain=0.02, noise=(0.0, 0.002, -0.001, 0.001)):
    base = np.array([0.30, 0.31, 0.29, 0.30])
    jit = np.array(noise)
    return {
        ("RetinaNet", None): _runs(base),
        ("RetinaNet", 1.0): _runs(base + gain / 2 + jit),
        ("RetinaNet", 1.5): _runs(base + gain + jit),
        ("RetinaNet", 2.0): _runs(base + gain / 3 + jit),
        ("RetinaNet", "control"): _runs(base + 0.005 + 2 * jit[::-1]),
        ("Libra RetinaNet (mu=1.5)", None): _runs(base, base / 2),
        ("Libra RetinaNet (mu=1.5)", 1.0): _runs(base - 0.001 + jit, base / 2 + 0.01 + jit),
    }


def test_evaluation_perfect_and_aspect_buckets(tiny):
    root, paths = tiny
    ds = CocoDetection(root / "val", paths["val"])
    coco = json.loads(paths["val"].read_text())
    perfect = [{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": 1.0}
               for a in coco["annotations"]]
    assert coco_stats(ds, perfect)["AP"] == pytest.approx(1.0)
    buckets = ap_by_aspect_ratio(ds, perfect)
    assert all(np.isnan(v) or v == pytest.approx(1.0) for v in buckets.values())
    assert set(buckets) == {"AP_ar1to2", "AP_ar2to4", "AP_ar4tomax"}


def test_paired_gain():
    out = paired_gain([0.1, 0.2, 0.3], [0.2, 0.3, 0.45])
    assert out["gain"] == pytest.approx(0.35 / 3) and out["n_seeds"] == 3 and out["p_value"] < 0.05
    with pytest.raises(ValueError, match="equally many"):
        paired_gain([0.1], [0.1, 0.2])


def test_seed_summary_treats_missing_bucket_as_nan():
    from companion.eapm.evaluate import seed_summary

    out = seed_summary([{"AP": 0.2, "APl": -1.0}, {"AP": 0.4, "APl": -1.0}], keys=("AP", "APl"))
    assert out["AP"][0] == pytest.approx(0.3) and out["AP"][1] == pytest.approx(np.std([0.2, 0.4], ddof=1))
    assert np.isnan(out["APl"][0])


def test_claims_table_verdicts_and_counts():
    table = claims_table(_results())
    assert list(table.columns) == ["claim", "paper", "this run", "criterion", "holds"]
    by = dict(zip(table["claim"], table["holds"]))
    assert by["EAPM-focal (mu = 1.5) improves RetinaNet"] == True  # noqa: E712
    assert by["EAPM-focal's gain is more than faster learning (vs plain focal, 1.5x steps)"] == True  # noqa: E712
    assert by["mu = 1.5 is the best mu (RetinaNet)"] == True  # noqa: E712
    assert by["EAPM-focal (mu = 1.5) improves FCOS"] is None  # not run
    assert by["EAPM-balanced-L1 (theta = 1.0) improves Libra RetinaNet (mu = 1.5)"] == False  # noqa: E712
    assert by["EAPM-balanced-L1 helps objects of large shape variation (aspect ratio >= 4)"] == True  # noqa: E712
    assert "35.6 -> 37.1" in table["paper"].iloc[0]  # from paper.py
    counts = claims_counts(table)
    assert counts == {"claims_total": 7, "claims_testable": 5, "claims_held": 4}


def test_claims_one_seed_is_not_testable():
    res = {k: v[:1] for k, v in _results().items()}
    counts = claims_counts(claims_table(res))
    assert counts["claims_testable"] == 1  # only "mu = 1.5 is best" (a ranking, no test)


def test_gain_verdict_and_power():
    assert gain_verdict({"n_seeds": 1, "p_value": np.nan}) == "one seed: no test"
    assert gain_verdict({"n_seeds": 3, "p_value": np.nan}).startswith("no spread")
    assert gain_verdict({"n_seeds": 3, "p_value": 0.01}).startswith("beyond")
    noisy, quiet = [0.1, -0.1, 0.05, -0.05], [0.01, -0.01, 0.005, -0.005]
    assert seeds_needed(noisy, 0.05) > seeds_needed(quiet, 0.05) >= 2
    assert np.isnan(seeds_needed([0.1], 0.05))


def test_ablation_rows_paper_gain_scaled_to_our_ap():
    rows = ablation_rows(_results())
    r = rows.loc[("RetinaNet", "mu = 1.5")]
    assert r["gain"] == pytest.approx(100 * (0.02 + np.mean([0.0, 0.002, -0.001, 0.001])))
    assert r["paper gain"] == pytest.approx(1.5)
    assert r["paper gain, scaled"] == pytest.approx(1.5 / 35.6 * 30.0)
    assert np.isnan(rows.loc[("RetinaNet", "control: plain loss, 1.5x steps")]["paper gain"])


def test_box_attributes_real_vs_anchor_geometry():
    ds = real_coco_boxes()
    model = build_detector("retinanet", ds.num_classes, backbone="mobilenet_v3_small", fpn_channels=16, image_size=96)
    att = box_attributes(ds, model, 96)
    assert len(att) == len(ds.boxes())
    assert att.best_iou.between(0, 1).all() and (att.aspect >= 1).all()
    # the best anchor's log-size ratios are bounded by the octave spacing for boxes inside the anchor range
    mid = att[(att.aspect < 1.5) & att.sqrt_area.between(12, 100)]
    assert np.median(mid.shape_variation) < 0.5


def test_headroom_table_gap_closed():
    table = headroom_table(0.0, 0.25, 0.5)
    assert table.loc["ours", "gap closed"] == pytest.approx(0.5)
    assert table["value"].tolist() == [0.0, 0.25, 0.5]
    assert np.isnan(headroom_table(0.3, 0.2, 0.3).loc["ours", "gap closed"])  # no gap to close


def test_claim_verdict_words():
    from companion.eapm.evaluate import claim_verdict

    assert claim_verdict(True) == "held"
    assert claim_verdict(False) == "did not hold"
    assert claim_verdict(None) == claim_verdict(float("nan")) == "was not testable in this run"


def test_claim_verdicts_reads_each_named_claim():
    from companion.eapm.evaluate import CLAIM_PROSE_KEYS, claim_verdicts

    table = pd.DataFrame({"claim": [start + " ..." for start in CLAIM_PROSE_KEYS.values()],
                          "holds": [True, False, None, True, False]})
    assert claim_verdicts(table) == {"mu": "held", "best_mu": "did not hold", "theta": "was not testable in this run",
                                     "long": "held", "control": "did not hold"}
    with pytest.raises(KeyError, match="improves RetinaNet"):
        claim_verdicts(table.iloc[1:])


def test_power_text_states_the_seeds_needed_or_why_not():
    from companion.eapm.evaluate import power_text

    index = pd.MultiIndex.from_tuples([("RetinaNet", "mu = 1.5")], names=["family", "setting"])
    rows = pd.DataFrame({"seeds": [3], "gain": [2.0], "gain SE": [1.0], "paper gain, scaled": [1.5],
                         "seeds for 80 % power": [12.0]}, index=index)
    text = power_text(rows)
    assert "3 seeds give a paired gain of +2.00 ± 1.00" in text and "needs 12 seeds" in text
    assert "no power calculation" in power_text(rows.assign(seeds=1, **{"gain SE": np.nan}))
    assert "was not run" in power_text(rows, setting="mu = 2.0")
