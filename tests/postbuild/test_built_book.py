"""Run by `make test` after the smoke notebooks and the book build (not part of `make unit`).

These check what the previous steps produced: they fail, never skip, when it is missing.
"""

import json
from pathlib import Path

from companion.book import baselines
from companion.book.htmlcheck import check_site
from companion.book.paths import REPO_ROOT, executed_dir
from companion.book.registry import load_results
from companion.book.toc import toc_files

HTML = REPO_ROOT / "_build" / "html"


def test_smoke_numbers_match_the_committed_baselines():
    problems = baselines.compare("smoke")
    assert not problems, "smoke results differ from tests/baselines (refresh: make baselines):\n" + "\n".join(problems)


def test_every_recorded_run_says_which_data_and_profile_made_it():
    results = load_results("smoke")
    assert results, "nothing was recorded in the smoke profile"
    for key, entry in results.items():
        assert entry["profile"] == "smoke", key
        assert entry["data"].strip(), f"{key} does not say which data produced it"
        assert entry["git_commit"] is None or len(entry["git_commit"]) >= 40, key


def test_built_html_links_and_assets_resolve_offline():
    problems = check_site(HTML)
    assert not problems, "\n".join(problems)


def test_every_toc_page_was_rendered_with_its_outputs():
    for entry in toc_files():
        page = HTML / f"{entry}.html"
        assert page.is_file(), f"{entry} was not rendered"
        if entry.startswith("notebooks/"):
            executed = json.loads((executed_dir().parent / f"{entry}.ipynb").read_text())
            code = [c for c in executed["cells"] if c["cell_type"] == "code"]
            assert all(c.get("execution_count") for c in code if "".join(c["source"]).strip()), f"{entry} not fully executed"


def test_mathjax_is_served_locally():
    page = (HTML / "intro.html").read_text()
    assert "_static/mathjax/tex-mml-chtml.js" in page
    assert (HTML / "_static" / "mathjax" / "tex-mml-chtml.js").stat().st_size > 100_000
    assert list((HTML / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))
