"""``atmp diff OLD NEW`` and ``atmp release VERSION``: what a rule change does, and adopting it.

``diff`` exits 0 when no product moves and 1 when one does or a card cannot be compared (it uses a code one
rule book does not define), so it can gate CI; 2 on unusable input (one line on stderr naming the argument).
Registered from :func:`atmp.cli.build_parser` with :func:`add_commands`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

EXIT_OK, EXIT_MOVED = 0, 1


def cmd_diff(args: argparse.Namespace, input_error: type[Exception]) -> int:
    """Rule changes in words and every moved product; the exit code says whether anything moved."""
    from atmp.analysis.diff import DiffInputError, diff_specs, render_markdown, render_table

    if args.catalogue and args.cards:
        raise input_error("--catalogue and --cards: give one of them")
    cards = args.cards or args.catalogue
    try:
        report = diff_specs(args.old, args.new, Path(cards) if cards else None, lang=args.lang)
    except DiffInputError as exc:
        raise input_error(str(exc)) from None
    if args.format == "json":
        print(json.dumps(report, ensure_ascii=False, indent=2))
    elif args.format == "md":
        print(render_markdown(report, args.lang), end="")
    else:
        print(render_table(report, args.lang), end="")
    return EXIT_MOVED if report["moved"] or report["not_compared"] else EXIT_OK


def cmd_release(args: argparse.Namespace, input_error: type[Exception]) -> int:
    """Set the version in the ontology, write the CHANGELOG entry and the released answers, commit and tag."""
    from atmp.authoring.release import ReleaseError, release

    try:
        summary = release(args.version, date=args.date, tag=not args.no_tag, golden=not args.no_golden, dry_run=args.dry_run)
    except ReleaseError as exc:
        raise input_error(str(exc)) from None
    print(summary)
    return EXIT_OK


def add_commands(sub: argparse._SubParsersAction, input_error: type[Exception]) -> None:
    p = sub.add_parser("diff", help="what a rule change does: rule changes in words and every product that moves (exit 1 when one does)")
    p.add_argument("old", help="the current rules: an ontology file, an edit source (its imported modules beside it are loaded), git:REV or git:REV:path")
    p.add_argument("new", help="the proposed rules, same forms as OLD")
    p.add_argument("--catalogue", help="catalogue file (cards with provenance; default: the shipped catalogue)")
    p.add_argument("--cards", help="any JSON file of cards (one or an array) instead of the catalogue")
    p.add_argument("--format", choices=["table", "json", "md"], default="table")
    p.add_argument("--lang", choices=["en", "zh"], default="en", help="language of labels in class expressions and rule names")
    p.set_defaults(func=lambda a: cmd_diff(a, input_error))

    p = sub.add_parser("release", help="release the rules: version in the ontology, CHANGELOG entry with the diff since the last release, annotated tag ontology-vVERSION")
    p.add_argument("version", help="the new version, e.g. 0.2.0")
    p.add_argument("--date", help="release date for the CHANGELOG (default today, YYYY-MM-DD)")
    p.add_argument("--no-tag", action="store_true", help="commit but do not tag")
    p.add_argument("--no-golden", action="store_true", help="do not regenerate tests/fixtures/golden/answers.json (results carry the version, so their digests move)")
    p.add_argument("--dry-run", action="store_true", help="print the CHANGELOG entry; change nothing")
    p.set_defaults(func=lambda a: cmd_release(a, input_error))
