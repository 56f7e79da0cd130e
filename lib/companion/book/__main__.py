"""Command line of the book machinery.

    python -m companion.book run --profile smoke [--chapter radiology] [--notebook 01-data] [--device cuda]
    python -m companion.book site                   # assemble build/site from book/ for Jupyter Book
    python -m companion.book baselines [--update]   # compare (or refresh) the smoke regression baselines
    python -m companion.book check-html _build/html # every local link/asset resolves, nothing loads from the network
"""

from __future__ import annotations

import argparse
import sys

from companion.book.paths import PROFILES


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m companion.book", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run_p = sub.add_parser("run", help="execute notebooks with papermill")
    run_p.add_argument("--profile", required=True, choices=PROFILES)
    run_p.add_argument("--chapter", action="append", help="repeatable; default: every chapter")
    run_p.add_argument("--notebook", action="append", help="notebook stem, e.g. 01-data (repeatable)")
    run_p.add_argument("--device", default="auto")
    sub.add_parser("site", help="assemble build/site from book/")
    base_p = sub.add_parser("baselines", help="compare smoke results with tests/baselines")
    base_p.add_argument("--update", action="store_true", help="rewrite the baselines from the latest smoke run")
    base_p.add_argument("--chapter", action="append", help="restrict to these chapters")
    html_p = sub.add_parser("check-html", help="check a built site")
    html_p.add_argument("html_dir", nargs="?", default="_build/html")
    args = parser.parse_args(argv)

    if args.command == "run":
        from companion.book.profiles import ProfileError
        from companion.book.runner import NotebookFailed, run

        try:
            run(args.profile, args.chapter, args.notebook, args.device)
        except (ProfileError, NotebookFailed) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    elif args.command == "site":
        from companion.book.runner import assemble_site

        print(assemble_site())
    elif args.command == "baselines":
        from companion.book import baselines
        from companion.book.registry import load_results

        keys = None
        if args.chapter:
            keys = {k for k in load_results(baselines.PROFILE) if k.split("/")[0] in args.chapter}
        if args.update:
            for path in baselines.update(keys=keys):
                print(f"wrote {path}")
            return 0
        problems = baselines.compare(keys=keys)
        print("\n".join(problems) or "all smoke results match their baselines")
        return 1 if problems else 0
    elif args.command == "check-html":
        from companion.book.htmlcheck import check_site

        problems = check_site(args.html_dir)
        print("\n".join(problems) or f"{args.html_dir}: every local link and asset resolves; nothing loads from the network")
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
