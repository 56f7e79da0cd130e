"""Every way a notebook run can fail ends the run loudly, names the notebook and cell, and keeps the evidence.

Tiny throwaway chapters in a temporary folder, executed with the plain ``python3`` kernel.
"""

import json
import os
import time
from pathlib import Path

import pytest

from companion.book import baselines, profiles, registry
from companion.book.__main__ import main
from companion.book.runner import NotebookFailed, cell_timeout_for, check_device, execute, run
from companion.book.profiles import ProfileError, plan

LIB = Path(__file__).resolve().parents[3] / "lib"
PARAMS = 'profile = "default"\ndevice = "auto"\nseed = 0\nn = 10\n'


def _write_nb(path, cells):
    nb_cells = [{"cell_type": "code", "id": "params", "metadata": {"tags": ["parameters"]}, "source": PARAMS,
                 "outputs": [], "execution_count": None}]
    nb_cells += [{"cell_type": "code", "id": f"cell-{i}", "metadata": {}, "source": s, "outputs": [],
                  "execution_count": None} for i, s in enumerate(cells)]
    path.write_text(json.dumps({"cells": nb_cells, "metadata": {"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}}, "nbformat": 4, "nbformat_minor": 5}))


@pytest.fixture
def chapter(tmp_path, monkeypatch):
    """notebooks/demo/ with a smoke profile, a build folder and baselines, all under tmp_path."""
    root = tmp_path / "notebooks"
    (root / "demo").mkdir(parents=True)
    (root / "demo" / "profiles.yml").write_text("smoke:\n  all: {seed: 1, n: 2}\ndefault:\n  all: {seed: 0, n: 10}\n")
    monkeypatch.setattr(profiles, "NOTEBOOKS", root)
    monkeypatch.setattr(baselines, "BASELINES", tmp_path / "baselines")
    monkeypatch.setenv("COMPANION_BUILD", str(tmp_path / "build"))
    monkeypatch.setenv("PYTHONPATH", str(LIB))  # the kernel imports companion from this checkout
    monkeypatch.delenv("COMPANION_CELL_TIMEOUT", raising=False)
    monkeypatch.delenv("COMPANION_THREADS", raising=False)

    def write(cells, name="01-a"):
        _write_nb(root / "demo" / f"{name}.ipynb", cells)
        [job] = plan("smoke", ["demo"], [name], device="cpu")
        return job

    write.build = tmp_path / "build"
    return write


def _executed(build, name="01-a"):
    return build / "site" / "notebooks" / "demo" / f"{name}.ipynb"


def _code_cells(path):
    return [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


@pytest.mark.slow
def test_a_killed_kernel_names_notebook_and_cell_and_keeps_the_partial_copy(chapter):
    job = chapter(["x = n + 1\nprint('before', x)", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)",
                   "y = 2"])
    with pytest.raises(NotebookFailed) as info:
        execute(job, kernel="python3", timeout=60)
    message = str(info.value)
    assert "demo/01-a.ipynb failed in profile 'smoke' at code cell 4 (import os, signal): the kernel died" in message
    assert "partly executed copy kept at" in message
    cells = _code_cells(_executed(chapter.build))
    assert "before 3" in "".join(cells[2]["outputs"][0]["text"])       # the cell before ran, output kept
    assert cells[3]["outputs"][-1]["ename"] == "DeadKernelError"       # the cell reached is marked
    assert cells[3]["metadata"]["papermill"]["status"] == "failed"
    assert cells[4]["metadata"]["papermill"]["status"] == "pending"    # never ran
    run_log = registry.load_runs("smoke")["demo/01-a"]
    assert run_log["status"] == "failed" and "kernel died" in run_log["error"]


@pytest.mark.slow
def test_a_hung_cell_is_stopped_by_the_cell_timeout(chapter):
    job = chapter(["print('start')", "import time\ntime.sleep(120)", "y = 2"])
    t0 = time.perf_counter()
    with pytest.raises(NotebookFailed, match=r"01-a.ipynb failed in profile 'smoke' at code cell 4 \(import time\): "
                                             r"the cell ran longer than the 5 s cell timeout"):
        execute(job, kernel="python3", timeout=5)
    assert time.perf_counter() - t0 < 60, "the timeout did not stop the cell"
    cells = _code_cells(_executed(chapter.build))
    assert cells[3]["metadata"]["papermill"]["status"] == "failed"
    assert cells[3]["outputs"][-1]["ename"] == "CellTimeoutError"
    assert cells[4]["metadata"]["papermill"]["status"] == "pending"


@pytest.mark.slow
def test_a_raising_cell_fails_the_command_line_with_the_notebook_named(chapter, capsys):
    chapter(["total = n * 2", "raise RuntimeError('boom in the model')"])
    rc = main(["run", "--profile", "smoke", "--chapter", "demo", "--device", "cpu", "--cell-timeout", "60"])
    err = capsys.readouterr().err
    assert rc == 1
    assert "demo/01-a.ipynb failed in profile 'smoke' at code cell 4 (raise RuntimeError" in err
    assert "RuntimeError: boom in the model" in err and "partly executed copy kept at" in err
    assert _executed(chapter.build).is_file()


def test_bad_device_threads_and_timeout_are_refused_before_anything_runs(chapter, capsys, monkeypatch):
    chapter(["x = 1"])
    for device in ("gpu", "cuda:", "cuda:x", "CPU", "cuda:0,1"):
        assert main(["run", "--profile", "smoke", "--chapter", "demo", "--device", device]) == 1
        assert f"unknown device {device!r}" in capsys.readouterr().err
    for device in ("auto", "cpu", "cuda", "cuda:1", "mps"):
        assert check_device(device) == device
    assert main(["run", "--profile", "smoke", "--chapter", "demo", "--threads", "-1"]) == 1
    assert "--threads must be >= 0" in capsys.readouterr().err
    monkeypatch.setenv("COMPANION_THREADS", "two")
    assert main(["run", "--profile", "smoke", "--chapter", "demo"]) == 1
    assert "COMPANION_THREADS='two'" in capsys.readouterr().err
    monkeypatch.setenv("COMPANION_CELL_TIMEOUT", "soon")
    with pytest.raises(ProfileError, match="COMPANION_CELL_TIMEOUT='soon'"):
        cell_timeout_for("smoke")
    assert not (chapter.build / "site").exists(), "nothing may run after a refused option"


def test_cell_timeout_precedence(monkeypatch):
    monkeypatch.delenv("COMPANION_CELL_TIMEOUT", raising=False)
    assert cell_timeout_for("smoke") == 900 and cell_timeout_for("full") == 48 * 3600
    monkeypatch.setenv("COMPANION_CELL_TIMEOUT", "120")
    assert cell_timeout_for("smoke") == 120
    assert cell_timeout_for("smoke", 5) == 5
    assert cell_timeout_for("smoke", 0) is None


RECORDING_CELL = ("import os\nimport torch\nfrom companion.book import record\n"
                  "record('demo/01-a', {'x': float(n), 'threads_env': float(os.environ['OMP_NUM_THREADS'])}, "
                  "profile=profile, seed=seed, data='d', glue=False)")


@pytest.mark.slow
def test_a_failed_rerun_after_a_good_run_never_passes_the_baseline_check(chapter, capsys):
    chapter([RECORDING_CELL])
    logged = []
    [outcome] = run("smoke", ["demo"], device="cpu", kernel="python3", cell_timeout=60, threads=2, log=logged.append)
    assert any("results: " in line and "run log in runs/" in line for line in logged), logged
    entry = registry.load_results("smoke")["demo/01-a"]
    # the kernel's torch took the runner's thread count from OMP_NUM_THREADS
    assert entry["run_id"] == outcome.run_id and entry["threads"] == {"runner": 2, "torch": 2}
    assert entry["metrics"] == {"x": 2.0, "threads_env": 2.0}
    baselines.update()
    assert baselines.compare() == []
    assert main(["baselines"]) == 0 and "all smoke results match" in capsys.readouterr().out

    # the same notebook now fails after recording: its record and the old one must both be refused
    chapter([RECORDING_CELL, "raise ValueError('late failure')"])
    with pytest.raises(NotebookFailed, match="late failure"):
        run("smoke", ["demo"], device="cpu", kernel="python3", cell_timeout=60, log=logged.append)
    problems = baselines.compare()
    assert len(problems) == 1 and problems[0].startswith("demo/01-a: refused: its latest run demo/01-a-")
    assert "failed" in problems[0]
    assert main(["baselines", "--chapter", "demo"]) == 1
    assert "refused" in capsys.readouterr().out
    with pytest.raises(ValueError, match="refusing to write baselines from stale records"):
        baselines.update()
    # the earlier run's record was set aside, not deleted, and is never read as a result
    assert (chapter.build / "results" / "smoke" / "demo" / "01-a.json.stale").is_file()


def test_a_kernel_that_cannot_start_names_the_notebook(chapter):
    job = chapter(["x = 1"])
    with pytest.raises(NotebookFailed, match=r"demo/01-a.ipynb failed in profile 'smoke' at start-up \(no cell ran\): "
                                             r"NoSuchKernel") as info:
        execute(job, kernel="no-such-kernel-xyz", timeout=30)
    assert "no-such-kernel-xyz" in str(info.value)
    assert registry.load_runs("smoke")["demo/01-a"]["status"] == "failed"


@pytest.mark.parametrize("threads, expected", [(1, "1"), (3, "3"), (0, None)])
def test_threads_reach_the_kernel_environment_and_are_restored(chapter, monkeypatch, threads, expected):
    """What the kernel would inherit (papermill replaced by a stand-in: no kernel starts)."""
    import papermill

    seen = {}

    def fake_execute(source, output, **kwargs):
        seen.update({k: os.environ.get(k) for k in
                     ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "COMPANION_THREADS")})
        Path(output).write_text(Path(source).read_text())

    monkeypatch.setattr(papermill, "execute_notebook", fake_execute)
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    job = chapter(["x = 1"])
    execute(job, kernel="python3", timeout=5, threads=threads)
    assert seen["COMPANION_THREADS"] == expected and seen["MKL_NUM_THREADS"] == expected
    assert seen["OMP_NUM_THREADS"] == expected
    assert os.environ["OMP_NUM_THREADS"] == "7"            # the runner's own value is back
    assert registry.load_runs("smoke")["demo/01-a"]["threads"] == (threads or None)
