"""core.io.read_json names the file it cannot read."""

import pytest

from companion.core.io import read_json


def test_read_json_names_a_missing_or_malformed_file(tmp_path):
    good = tmp_path / "index.json"
    good.write_text('{"train": []}')
    assert read_json(good) == {"train": []}
    with pytest.raises(FileNotFoundError, match="annotation file .*missing.json does not exist"):
        read_json(tmp_path / "missing.json", "annotation file")
    (tmp_path / "bad.json").write_text('{"train": [')
    with pytest.raises(ValueError, match="bad.json is not valid JSON"):
        read_json(tmp_path / "bad.json")
    (tmp_path / "latin.json").write_bytes(b'{"a": "\xe9"}')
    with pytest.raises(ValueError, match="latin.json is not valid JSON"):
        read_json(tmp_path / "latin.json")
