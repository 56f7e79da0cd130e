"""Results registry, regression baselines and the built-site check."""

import json

import pytest

from companion.book import baselines, record, registry
from companion.book.htmlcheck import check_site
from companion.book.registry import load_results


def _run(monkeypatch, key, metrics, run_id=None, status="ok"):
    """What the runner does around one notebook, with the notebook's ``record`` call in between."""
    run_id = run_id or f"{key}-test{len(registry.load_runs('smoke'))}"
    registry.begin_run("smoke", key, run_id, threads=1)
    monkeypatch.setattr(registry, "_RUN_ID", run_id)
    record(key, metrics, profile="smoke", seed=0, data="d", glue=False)
    registry.end_run("smoke", key, run_id, status)
    return run_id


@pytest.fixture
def build(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPANION_BUILD", str(tmp_path / "build"))
    monkeypatch.setattr(baselines, "BASELINES", tmp_path / "baselines")
    monkeypatch.setattr(registry, "_RUN_ID", "runner-test")  # as under the runner
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


def test_baselines_detect_changes_with_a_readable_diff(build, monkeypatch):
    _run(monkeypatch, "demo/05-eval", {"auc": 0.75, "ap": 0.5})
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


def test_baselines_report_missing_and_new_entries(build, monkeypatch):
    _run(monkeypatch, "demo/a", {"x": 1.0})
    baselines.update()
    (build / "baselines" / "demo" / "b.json").write_text(json.dumps({"metrics": {"y": {"value": 1.0}}}))
    _run(monkeypatch, "demo/c", {"z": 1.0})
    problems = baselines.compare()
    assert any("demo/b: has a baseline but recorded nothing" in p for p in problems)
    assert any("demo/c: recorded ['z'] but has no baseline" in p for p in problems)


def test_a_record_made_outside_the_runner_is_refused(build):
    record("demo/a", {"x": 1.0}, profile="smoke", seed=0, data="d", glue=False)
    (build / "baselines" / "demo").mkdir(parents=True)
    (build / "baselines" / "demo" / "a.json").write_text(json.dumps({"metrics": {"x": {"value": 1.0}}}))
    [problem] = baselines.compare()
    assert problem.startswith("demo/a: refused: record made outside the runner")
    with pytest.raises(ValueError, match="demo/a: record made outside the runner"):
        baselines.update()


def test_each_kind_of_stale_record_is_refused_and_named(build, monkeypatch):
    """Run id, commit, time and the run's status are each checked, and the line says which failed."""
    for key in ("demo/a", "demo/b", "demo/c", "demo/d", "demo/e"):
        _run(monkeypatch, key, {"x": 1.0})
    baselines.update()
    assert baselines.compare() == []
    results = build / "build" / "results" / "smoke"
    runs = registry.load_runs("smoke")
    # a: a newer run began and the runner died before it ended
    registry.begin_run("smoke", "demo/a", "demo/a-newer", threads=1)
    # b: the record carries another run's id (copied in from an older build, say)
    entry = json.loads((results / "demo" / "b.json").read_text())
    (results / "demo" / "b.json").write_text(json.dumps(dict(entry, run_id="demo/b-old")))
    # c: recorded at another commit than the run started at
    entry = json.loads((results / "demo" / "c.json").read_text())
    (results / "demo" / "c.json").write_text(json.dumps(dict(entry, git_commit="0123abc")))
    # d: recorded long before the run started
    entry = json.loads((results / "demo" / "d.json").read_text())
    (results / "demo" / "d.json").write_text(json.dumps(dict(entry, recorded_at="2001-01-01T00:00:00+00:00")))
    # e: recorded without a run id at all
    entry = json.loads((results / "demo" / "e.json").read_text())
    entry.pop("run_id")
    (results / "demo" / "e.json").write_text(json.dumps(entry))
    problems = baselines.compare()
    assert len(problems) == 5, problems
    a, b, c, d, e = problems
    assert a.startswith("demo/a: refused: its latest run demo/a-newer") and "has not finished" in a
    assert b == f"demo/b: refused: record is from run 'demo/b-old', not from the latest run '{runs['demo/b']['run_id']}'"
    assert c.startswith("demo/c: refused: record was made at commit '0123abc'")
    assert d.startswith("demo/d: refused: record time '2001-01-01T00:00:00+00:00' is not within run")
    assert e.startswith("demo/e: refused: record is from run None")
    assert baselines.compare(chapters=["demo"]) == problems
    assert baselines.compare(chapters=["dmeo"]) == [
        "dmeo: no baselines, results or runs for this chapter in profile 'smoke' (misspelt?)"]
    with pytest.raises(ValueError, match=r"no results recorded for chapter\(s\) \['dmeo'\]"):
        baselines.update(chapters=["dmeo"])


def test_baselines_refuse_another_thread_count(build, monkeypatch):
    import torch

    _run(monkeypatch, "demo/a", {"x": 1.0})
    baselines.update()
    spec = json.loads((build / "baselines" / "demo" / "a.json").read_text())
    assert spec["threads"] == torch.get_num_threads()
    spec["threads"] = torch.get_num_threads() + 1
    (build / "baselines" / "demo" / "a.json").write_text(json.dumps(spec))
    [problem] = baselines.compare()
    assert f"ran with {torch.get_num_threads()} torch thread(s), the baseline was made with" in problem


def test_corrupt_record_and_baseline_files_are_named(build):
    path = build / "build" / "results" / "smoke" / "demo" / "a.json"
    path.parent.mkdir(parents=True)
    path.write_text('{"key": "demo/a", "metr')
    with pytest.raises(ValueError, match=r"a.json is not valid JSON"):
        load_results("smoke")
    path.unlink()
    (build / "baselines" / "demo").mkdir(parents=True)
    (build / "baselines" / "demo" / "b.json").write_text('{"data": "d"}')
    with pytest.raises(ValueError, match=r"b.json: a baseline needs a 'metrics' object"):
        baselines.compare()


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


def test_a_notebook_run_by_hand_records_apart_from_the_book(build, monkeypatch):
    monkeypatch.setattr(registry, "_RUN_ID", "interactive-123-456")
    recorded = record("demo/05-eval", {"auc": 0.75}, profile="default", seed=0, data="d", glue=False)
    assert recorded.path == build / "build" / "results" / "interactive" / "demo" / "05-eval.json"
    assert "book's registry is untouched" in repr(recorded)
    assert load_results("default") == {}
    entry = load_results("interactive")["demo/05-eval"]
    assert entry["profile"] == "interactive" and entry["parameters_profile"] == "default"
    monkeypatch.setenv("COMPANION_RECORD_PROFILE", "default")
    assert record("demo/05-eval", {"auc": 0.8}, profile="default", seed=0, data="d", glue=False).profile == "default"
    assert load_results("default")["demo/05-eval"]["metrics"] == {"auc": 0.8}


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
