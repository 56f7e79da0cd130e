"""Progress bars for work that takes more than a few seconds (data generation, embedding, training).

In JupyterLab and a terminal they show; on a rendered page they are noise, so the book's runner sets
``COMPANION_PROGRESS=0`` for its kernels and ``progress`` then returns the iterable unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Iterable


def progress_enabled(progress: bool | None = None) -> bool:
    """``progress`` when given, else whether the environment allows bars (``COMPANION_PROGRESS`` is not "0")."""
    if progress is not None:
        return progress
    return os.environ.get("COMPANION_PROGRESS", "1") != "0"


def progress(iterable: Iterable, desc: str, total: int | None = None, enabled: bool | None = None) -> Iterable:
    """``iterable`` wrapped in a tqdm bar (notebook widget in Jupyter, text elsewhere) when bars are enabled.

    >>> import os; os.environ["COMPANION_PROGRESS"] = "0"
    >>> list(progress(range(3), "counting"))
    [0, 1, 2]
    """
    if not progress_enabled(enabled):
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=total, leave=False)
