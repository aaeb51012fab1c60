"""``python -m atmp.authoring {normalize,build,check}`` — the editors' commands (and CI's check).

Exit codes: 0 ok (``check``: everything current), 1 ``check`` found a stale or unnormalised file,
2 the sources cannot be built (the message names the file and the problem).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .build import BuildError, Layout, build, check, normalize
from .templates import TemplateError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m atmp.authoring", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=None, help="the ontology/ folder (default: the project's)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("normalize", help="rewrite ontology/src/atmp-edit.ttl and the templates in normal form")
    sub.add_parser("build", help="compile the templates and write the merged ontology/atmp.ttl")
    sub.add_parser("check", help="exit 1 unless sources are normalised and generated files are current")
    args = parser.parse_args(argv)
    layout = Layout(args.root.resolve()) if args.root else Layout()
    try:
        if args.command == "normalize":
            changed = normalize(layout)
        elif args.command == "build":
            changed = build(layout)
        else:
            problems = check(layout)
            for problem in problems:
                print(problem, file=sys.stderr)
            if not problems:
                print("ontology sources normalised and generated files current")
            return 1 if problems else 0
    except (BuildError, TemplateError, OSError, SyntaxError) as exc:
        print(f"atmp.authoring: {exc}", file=sys.stderr)
        return 2
    for path in changed:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
