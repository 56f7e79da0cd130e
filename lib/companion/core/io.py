"""Reading the JSON index files of the real datasets, with errors that name the file."""

from __future__ import annotations

import json
from pathlib import Path


def read_json(path: str | Path, what: str = "file"):
    """The parsed contents of the JSON file ``path``.

    FileNotFoundError "<what> <path> does not exist" when it is missing; ValueError naming the file when it is
    not valid JSON (or not UTF-8 text).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} {path} does not exist")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from exc
