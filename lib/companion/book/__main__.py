"""Command line of the book machinery.

    python -m companion.book run --profile smoke [--chapter radiology] [--notebook 01-data] [--device cuda]
                                 [--cell-timeout SECONDS] [--threads N] [--jobs N] [--strip-solutions]
    python -m companion.book student [--chapter eapm] [--out DIR]   # students' copies: solutions removed
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
    run_p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    run_p.add_argument("--cell-timeout", type=float, default=None, metavar="SECONDS",
                       help="stop the run when one cell runs longer (0: no limit); default $COMPANION_CELL_TIMEOUT, "
                            "else 900 s in smoke, 4 h in default, 48 h in full")
    run_p.add_argument("--jobs", type=int, default=1,
                       help="chapters executed at once (each kernel keeps its --threads; default 1)")
    run_p.add_argument("--threads", type=int, default=None,
                       help="torch/OpenMP threads of every kernel (default $COMPANION_THREADS, else 1, or torch's own count in full; "
                            "0: leave it to torch)")
    run_p.add_argument("--strip-solutions", action="store_true",
                       help="execute the students' copies (cells tagged 'solution' removed) in build/student, "
                            "leaving the book's results alone; the copies to hand out go to build/student/handouts")
    student_p = sub.add_parser("student", help="write students' copies of the notebooks (solutions removed)")
    student_p.add_argument("--chapter", action="append", help="repeatable; default: every chapter")
    student_p.add_argument("--out", default=None, help="folder (default build/student/handouts)")
    sub.add_parser("site", help="assemble build/site from book/")
    base_p = sub.add_parser("baselines", help="compare smoke results with tests/baselines")
    base_p.add_argument("--update", action="store_true", help="rewrite the baselines from the latest smoke run")
    base_p.add_argument("--chapter", action="append", help="restrict to these chapters")
    html_p = sub.add_parser("check-html", help="check a built site")
    html_p.add_argument("html_dir", nargs="?", default="_build/html")
    args = parser.parse_args(argv)

    if args.command == "run":
        import os

        from companion.book.profiles import ProfileError
        from companion.book.runner import THREADS_ENV, NotebookFailed, run

        try:
            threads = args.threads
            if threads is None:
                # smoke and default pin one thread (the baselines are made with one); full runs on a GPU
                # machine, where torch's own thread count feeds the data pipeline.
                text = os.environ.get(THREADS_ENV, "0" if args.profile == "full" else "1")
                if not text.isdigit():
                    raise ProfileError(f"{THREADS_ENV}={text!r} is not a non-negative integer")
                threads = int(text)
            if threads < 0:
                raise ProfileError(f"--threads must be >= 0 (0: torch's default), got {threads}")
            run(args.profile, args.chapter, args.notebook, args.device, cell_timeout=args.cell_timeout,
                threads=threads, jobs=args.jobs, strip_solutions=args.strip_solutions)
        except (ProfileError, NotebookFailed, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    elif args.command == "student":
        from companion.book.teaching import chapter_notebooks, write_handouts

        try:
            written = write_handouts(chapter_notebooks(args.chapter), args.out)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        removed = sum(n for _, n in written)
        folder = written[0][0].parents[1] if written else args.out
        print(f"wrote {len(written)} students' notebook(s) to {folder}/ ({removed} solution cell(s) removed)")
    elif args.command == "site":
        from companion.book.runner import assemble_site

        print(assemble_site())
    elif args.command == "baselines":
        from companion.book import baselines

        if args.update:
            try:
                written = baselines.update(chapters=args.chapter)
            except ValueError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
            for path in written:
                print(f"wrote {path}")
            return 0
        problems = baselines.compare(chapters=args.chapter)
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
