"""The book machinery: profiles, the papermill runner, the results registry, baselines, scorecard."""

from companion.book.registry import load_results, record

__all__ = ["load_results", "record"]
