"""Command line for the clinical rule catalogue.

``python -m ketaclinic.clinical catalogue`` prints every rule and policy setting;
``python -m ketaclinic.clinical docs`` writes ``docs/clinical-rules.md``, and with ``--check`` exits 1 if the
committed file differs from what the code would generate.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ketaclinic.clinical.catalogue_doc import DOCS_PATH, render_catalogue_text, render_markdown


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command named in ``argv`` (default: the process arguments); the return value is the exit status."""
    parser = argparse.ArgumentParser(prog="python -m ketaclinic.clinical", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("catalogue", help="print every rule and policy setting with its sources")
    docs = commands.add_parser("docs", help="write (or --check) docs/clinical-rules.md")
    docs.add_argument("--check", action="store_true", help="exit 1 if the file is not up to date; write nothing")
    docs.add_argument("--path", type=Path, default=DOCS_PATH, help=f"file to write or check (default {DOCS_PATH})")
    args = parser.parse_args(argv)

    if args.command == "catalogue":
        sys.stdout.write(render_catalogue_text())
        return 0
    path: Path = args.path
    text = render_markdown()
    if args.check:
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current != text:
            sys.stderr.write(f"{path} is out of date; run: python -m ketaclinic.clinical docs\n")
            return 1
        sys.stdout.write(f"{path} is up to date\n")
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised through main() in the tests
    sys.exit(main())
