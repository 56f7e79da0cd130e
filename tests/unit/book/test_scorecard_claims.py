"""The claims store and the scorecard's headroom and claims tables."""

import json

import numpy as np
import pandas as pd
import pytest

from companion.book import record, registry
from companion.book.claims import claims_path, load_claims, record_claims
from companion.book.scorecard import claims_rows, format_number, headroom_rows, styled


@pytest.fixture
def build(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPANION_BUILD", str(tmp_path / "build"))
    monkeypatch.setattr(registry, "_RUN_ID", "runner-test")  # as under the runner
    return tmp_path


def _claims():
    return pd.DataFrame([
        {"claim": "mu = 1.5 is best", "paper": "+1.6 AP", "this run": "+0.4 AP", "criterion": "paired t, p < 0.05",
         "holds": np.bool_(True)},
        {"claim": "long objects gain most", "paper": "Fig. 6", "this run": "n/a", "criterion": "AP by aspect ratio",
         "holds": "not testable here: no long objects"},
    ])


def test_claims_round_trip_outside_the_results_registry(build):
    path = record_claims("eapm", _claims(), profile="smoke")
    assert path == claims_path("eapm", "smoke") and "results" not in path.parts
    rows = load_claims("smoke")["eapm"]
    assert [r["holds"] for r in rows] == ["yes", "not testable here: no long objects"]
    assert claims_rows("smoke")[0]["chapter"] == "EAPM for object detection"
    assert load_claims("default") == {}
    untestable = pd.DataFrame([{"claim": "x", "paper": "1", "this run": "-", "criterion": "c", "holds": None}])
    record_claims("radiology", untestable, profile="smoke")
    assert load_claims("smoke")["radiology"][0]["holds"] == "not testable here"


@pytest.mark.parametrize("table, message", [
    (pd.DataFrame(columns=["claim", "paper", "this run", "criterion", "holds"]), "empty"),
    (pd.DataFrame([{"claim": "x", "paper": "1", "this run": "1", "holds": True}]), "criterion"),
])
def test_bad_claims_tables_are_refused(build, table, message):
    with pytest.raises(ValueError, match=message):
        record_claims("eapm", table, profile="smoke")


def test_a_corrupt_claims_file_is_named(build):
    path = claims_path("eapm", "smoke")
    path.parent.mkdir(parents=True)
    path.write_text('{"rows": [')
    with pytest.raises(ValueError, match="eapm.json"):
        load_claims("smoke")


def test_headroom_reads_the_measurement_contract_names(build):
    record("mammography/05-evaluation", {"headline_baseline": 0.5, "headline_ours": 0.8, "headline_ceiling": 0.9,
                                         "claims_total": 7, "claims_testable": 6, "claims_held": 4},
           profile="smoke", seed=0, data="synthetic, 200 patients", glue=False)
    rows = {r["chapter"]: r for r in headroom_rows("smoke")}
    mammo = rows["Recalled-benign mammograms"]
    assert mammo["gap closed"] == pytest.approx(0.75) and mammo["claims_held"] == 4
    assert rows["EAPM for object detection"]["gap closed"] is None
    assert "not run in profile 'smoke'" in rows["EAPM for object detection"]["data"]


def test_numbers_are_shown_at_three_significant_digits():
    assert [format_number(v) for v in (0.123456, 1234.5, None, float("nan"), "yes")] == \
        ["0.123", "1,234", "", "", "yes"]
    html = styled(pd.DataFrame({"name": ["a"], "auc": [0.87654]}), numeric=("auc",)).to_html()
    assert "0.877" in html and "0.87654" not in html and "padding" in html
