"""Every chapter's cache key changes with the chapter's code, not only with a hand-bumped version."""

import importlib

import pytest

import companion.core.cache as cache

CHAPTERS = ["radiology", "eapm", "mammography", "colortransfer", "crosslingual"]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_a_code_change_changes_the_cache_key(chapter, monkeypatch):
    train = importlib.import_module(f"companion.{chapter}.train")
    cfg = train.TrainConfig()
    before = cfg.key()
    assert cfg.key() == before  # stable while nothing changes
    fingerprint = cache.source_fingerprint
    edited = lambda *sources: fingerprint(*sources) + "-edited"  # noqa: E731  (as if a .py file changed)
    monkeypatch.setattr(cache, "source_fingerprint", edited)
    if hasattr(train, "source_fingerprint"):
        monkeypatch.setattr(train, "source_fingerprint", edited)
    assert cfg.key() != before
