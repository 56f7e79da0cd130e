"""Resolve requirements.txt for the platforms users install on, not only this Linux machine.

pip cannot do this from Linux (it evaluates torch's own platform markers against the running host), so the
check uses uv's resolver, which evaluates markers and wheel tags for the target platform:

    .venv/bin/python .ci/check_platforms.py          # or: make platforms

Every package must have a wheel for the platform, except the pure-Python packages that PyPI ships only as a
source distribution (SDIST_ONLY), which are resolved on their own. Exits 1 and names the package otherwise.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# (uv platform, environment): torch 2.14 ships macOS wheels for macOS 14 and later only.
PLATFORMS = {
    "macOS arm64": ("aarch64-apple-darwin", {"MACOSX_DEPLOYMENT_TARGET": "14.0"}),
    "Windows x86-64": ("x86_64-pc-windows-msvc", {}),
    "Linux x86-64": ("x86_64-manylinux_2_28", {}),
}
SDIST_ONLY = {"rouge-score", "rouge_score"}  # pure Python: a source build works everywhere
PYTHON = "3.11.7"


def _name(line: str) -> str:
    return line.split("==")[0].split(";")[0].strip().lower()


def _compile(uv: str, req: Path, platform: str, env: dict, wheels_only: bool) -> subprocess.CompletedProcess:
    cmd = [uv, "pip", "compile", str(req), "--python-platform", platform, "--python-version", PYTHON,
           "--quiet", "--no-header", "-o", os.devnull]
    if wheels_only:
        cmd += ["--only-binary", ":all:"]
    for attempt in range(3):  # the registry is remote: retry a dropped connection, never a resolution error
        proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **env})
        if proc.returncode == 0 or "No solution found" in proc.stderr:
            return proc
        time.sleep(5 * (attempt + 1))
    return proc


def main() -> int:
    uv = str(Path(sys.executable).with_name("uv"))
    lines = [l for l in (ROOT / "requirements.txt").read_text().splitlines() if l.strip() and not l.startswith("#")]
    binary = [l for l in lines if _name(l) not in SDIST_ONLY]
    source = [l for l in lines if _name(l) in SDIST_ONLY]
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "binary.txt").write_text("\n".join(binary) + "\n")
        (Path(tmp) / "source.txt").write_text("\n".join(source) + "\n")
        for label, (platform, env) in PLATFORMS.items():
            for name, wheels_only in (("binary.txt", True), ("source.txt", False)):
                proc = _compile(uv, Path(tmp) / name, platform, env, wheels_only)
                if proc.returncode:
                    failures += 1
                    print(f"requirements.txt does not install on {label}:\n{proc.stderr.strip()}", file=sys.stderr)
                    break
            else:
                print(f"requirements.txt resolves on {label} (Python {PYTHON}, wheels only except {sorted(SDIST_ONLY)[0]})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
