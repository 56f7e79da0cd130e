"""Results registry, regression baselines and the built-site check."""

import json

import pytest

from companion.book import baselines, record
from companion.book.htmlcheck import check_site
from companion.book.registry import load_results


@pytest.fixture
def build(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPANION_BUILD", str(tmp_path / "build"))
    monkeypatch.setattr(baselines, "BASELINES", tmp_path / "baselines")
    return tmp_path


def test_record_writes_metrics_and_metadata(build):
    recorded = record("demo/05-eval", {"auc": 0.75, "n": 3}, profile="smoke", seed=2, data="synthetic, 10 cases",
                      glue=False)
    path = recorded.path
    assert repr(recorded).startswith("recorded 2 numbers for demo/05-eval (profile 'smoke') in ")
    entry = json.loads(path.read_text())
    assert path == build / "build" / "results" / "smoke" / "demo" / "05-eval.json"
    assert entry["metrics"] == {"auc": 0.75, "n": 3.0}
    assert entry["profile"] == "smoke" and entry["seed"] == 2 and entry["data"] == "synthetic, 10 cases"
    assert "torch" in entry["versions"] and entry["wall_time_s"] >= 0
    assert entry["determinism"] is None  # no device given
    other = record("demo/06-fig", {"a": 1.0}, profile="smoke", seed=0, data="d", device="cuda:0", glue=False)
    assert "CUDA" in json.loads(other.path.read_text())["determinism"]
    # A second call in the same kernel adds to the same entry.
    record("demo/05-eval", {"ap": 0.5}, profile="smoke", seed=2, data="synthetic, 10 cases", glue=False)
    assert load_results("smoke")["demo/05-eval"]["metrics"] == {"auc": 0.75, "n": 3.0, "ap": 0.5}


@pytest.mark.parametrize("metrics, message", [
    ({"auc": float("nan")}, "finite"),
    ({"bad name": 1.0}, "metric name"),
    ({"auc": "0.7"}, "must be a number"),
    ({"flag": True}, "must be a number"),
])
def test_record_refuses_bad_metrics(build, metrics, message):
    with pytest.raises(ValueError, match=message):
        record("demo/x", metrics, profile="smoke", seed=0, data="d", glue=False)


def test_record_refuses_malformed_key(build):
    with pytest.raises(ValueError, match="<chapter>/<notebook>"):
        record("no-slash", {"a": 1.0}, profile="smoke", seed=0, data="d", glue=False)


def test_baselines_detect_changes_with_a_readable_diff(build):
    record("demo/05-eval", {"auc": 0.75, "ap": 0.5}, profile="smoke", seed=0, data="d", glue=False)
    baselines.update()
    assert baselines.compare() == []
    spec = json.loads((build / "baselines" / "demo" / "05-eval.json").read_text())
    spec["metrics"]["auc"]["value"] = 0.70
    spec["metrics"]["ap"]["atol"] = 0.1
    spec["metrics"]["ap"]["value"] = 0.55
    (build / "baselines" / "demo" / "05-eval.json").write_text(json.dumps(spec))
    problems = baselines.compare()
    assert problems == ["demo/05-eval: auc = 0.75, baseline 0.7 (diff +0.05, rtol 1e-06, atol 1e-09)"]
    baselines.update()  # refresh keeps the loosened tolerance
    spec = json.loads((build / "baselines" / "demo" / "05-eval.json").read_text())
    assert spec["metrics"]["ap"] == {"value": 0.5, "rtol": 1e-06, "atol": 0.1}


def test_baselines_report_missing_and_new_entries(build):
    record("demo/a", {"x": 1.0}, profile="smoke", seed=0, data="d", glue=False)
    baselines.update()
    (build / "baselines" / "demo" / "b.json").write_text(json.dumps({"metrics": {"y": {"value": 1.0}}}))
    record("demo/c", {"z": 1.0}, profile="smoke", seed=0, data="d", glue=False)
    problems = baselines.compare()
    assert any("demo/b: has a baseline but recorded nothing" in p for p in problems)
    assert any("demo/c: recorded ['z'] but has no baseline" in p for p in problems)


def test_check_site_finds_broken_links_and_network_assets(tmp_path):
    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "ok.css").write_text("")
    (tmp_path / "index.html").write_text(
        '<link rel="stylesheet" href="_static/ok.css"><a href="page.html#x">p</a>'
        '<a href="https://example.org">ext link is fine</a>')
    (tmp_path / "page.html").write_text(
        '<script src="https://cdn.example.org/mathjax.js"></script><img src="missing.png">'
        '<a href="index.html">home</a><link rel="stylesheet" href="//fonts.example.org/f.css">')
    problems = check_site(tmp_path)
    assert problems == [
        "page.html: loads https://cdn.example.org/mathjax.js from the network",
        "page.html: missing.png does not resolve",
        "page.html: loads //fonts.example.org/f.css from the network",
    ]
    assert check_site(tmp_path / "nothing") == [f"{tmp_path / 'nothing'}/index.html does not exist: the book was not built"]


def test_pages_showing_warnings_tracebacks_or_machine_paths_are_named(tmp_path):
    from companion.book.htmlcheck import page_noise

    html = ('<div class="output stderr highlight"><pre>/tmp/ipykernel_1/2.py:3: UserWarning: careful</pre></div>'
            '<p>images in <code>/build-host/repo/build/data/x.png</code></p>'
            '<div class="output traceback"><pre>Traceback (most recent call last):</pre></div>'
            '<script>var p = "/build-host/only-in-a-script";</script>')
    problems = page_noise(html, paths=["/build-host/"])
    assert problems == ["shows stderr output: /tmp/ipykernel_1/2.py:3: UserWarning: careful",
                        "shows traceback output: Traceback (most recent call last):",
                        "shows a path of the build machine: /build-host/repo/build/data/x.png"]
    assert page_noise('<div class="output stream"><pre>AUC 0.91 on /data</pre></div>', paths=["/build-host/"]) == []
    (tmp_path / "index.html").write_text(html)
    assert any("index.html: shows stderr output" in p for p in check_site(tmp_path))
