"""Check a built site: every local link and asset resolves, no page needs the network, no page shows noise.

Links to other sites (``<a href="https://...">``) are allowed; a script, stylesheet,
image or font loaded from another host is not, because the book must render offline.
A published page must not show what only the build machine knows or what a reader cannot act on: an output
printed to stderr (warnings, tracebacks) or a path of the machine that built it (the repository, the home or
temporary folder). Fix those at their source (the library or the notebook), not in the HTML.
"""

from __future__ import annotations

import re
import tempfile
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

_ASSET_ATTRS = {"script": "src", "img": "src", "source": "src", "iframe": "src", "video": "src", "audio": "src"}


class _Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []   # navigations: may be external
        self.assets: list[str] = []  # needed to render: must be local

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "link" and a.get("href"):
            rel = (a.get("rel") or "").lower()
            if any(r in rel for r in ("stylesheet", "icon", "preload", "modulepreload")):
                self.assets.append(a["href"])
            else:
                self.links.append(a["href"])
        elif tag in _ASSET_ATTRS and a.get(_ASSET_ATTRS[tag]):
            self.assets.append(a[_ASSET_ATTRS[tag]])


def _is_external(url: str) -> bool:
    parts = urlsplit(url)
    return bool(parts.scheme and parts.scheme not in ("file",)) or url.startswith("//")


def check_site(html_dir: str | Path) -> list[str]:
    """Problems found in ``html_dir``, one line each (empty: the site is self-contained)."""
    root = Path(html_dir)
    if not (root / "index.html").is_file():
        return [f"{root}/index.html does not exist: the book was not built"]
    problems = []
    paths = machine_paths()
    for page in sorted(root.rglob("*.html")):
        if page.relative_to(root).parts[0] in ("_static", "_sources"):
            continue  # theme template fragments, not pages
        parser = _Refs()
        parser.feed(page.read_text(errors="replace"))
        rel_page = page.relative_to(root)
        problems += [f"{rel_page}: {p}" for p in page_noise(page.read_text(errors="replace"), paths)]
        for url in parser.assets:
            if url.startswith("data:"):
                continue
            if _is_external(url):
                problems.append(f"{rel_page}: loads {url} from the network")
                continue
            problems += _check_local(root, page, url)
        for url in parser.links:
            if _is_external(url) or url.startswith(("mailto:", "javascript:", "#")):
                continue
            problems += _check_local(root, page, url)
    return problems


_STDERR = re.compile(r'<div class="output (stderr|traceback)[^"]*">(.*?)</div>', re.S)
_TAG = re.compile(r"<[^>]+>")


def machine_paths() -> list[str]:
    """Folders whose appearance on a page gives away the build machine (repository, home, temporary folder)."""
    from companion.book.paths import REPO_ROOT

    paths = {str(REPO_ROOT.parent), str(Path.home()), tempfile.gettempdir(), "/tmp"}
    return sorted((p.rstrip("/") + "/" for p in paths if p not in ("/", "")), key=len, reverse=True)


def page_noise(html: str, paths: list[str] | None = None) -> list[str]:
    """What a published page shows that it should not: stderr/traceback outputs and machine paths."""
    problems = []
    for kind, block in _STDERR.findall(html):
        first = unescape(_TAG.sub("", block)).strip().splitlines()
        problems.append(f"shows {kind} output: {first[0][:120] if first else '(empty)'}")
    text = unescape(_TAG.sub(" ", re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)))
    for path in paths if paths is not None else machine_paths():
        at = text.find(path)
        if at >= 0:
            problems.append(f"shows a path of the build machine: {text[at:at + 80].split()[0]}")
    return problems


def _check_local(root: Path, page: Path, url: str) -> list[str]:
    path = unquote(urlsplit(url).path)
    if not path:
        return []
    target = (root / path.lstrip("/")) if path.startswith("/") else (page.parent / path)
    if target.is_dir():
        target = target / "index.html"
    if not target.exists():
        return [f"{page.relative_to(root)}: {url} does not resolve"]
    return []
