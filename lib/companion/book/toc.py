"""Book order, read from book/_toc.yml (the single place it is written down)."""

from __future__ import annotations

import yaml

from companion.book.paths import BOOK_SOURCE


def _files(node) -> list[str]:
    out = []
    if isinstance(node, dict):
        if "file" in node:
            out.append(node["file"])
        for value in node.values():
            if isinstance(value, (list, dict)):
                out += _files(value)
    elif isinstance(node, list):
        for item in node:
            out += _files(item)
    return out


def toc_files() -> list[str]:
    with open(BOOK_SOURCE / "_toc.yml") as f:
        toc = yaml.safe_load(f)
    return [toc["root"]] + _files(toc)


def chapter_order() -> list[str]:
    """Chapter folder names in the order their notebooks appear in the toc."""
    order = []
    for path in toc_files():
        parts = path.split("/")
        if len(parts) >= 3 and parts[0] == "notebooks" and parts[1] not in order:
            order.append(parts[1])
    return order
