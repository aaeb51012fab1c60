"""``atmp report``: the committee document of one product or of a batch (one file per product plus an index)."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path


def cmd_report(args: argparse.Namespace, input_error: type[Exception]) -> int:
    """Write the report(s). One card: to stdout or ``-o FILE``; several cards: ``-o DIR`` (one file each plus index)."""
    from atmp.analysis.report import gather, index, render
    from atmp.cli import _read_input
    from atmp.core.card.schema import CardError, parse_cards
    from atmp.core.rules.ontology import load_model

    cards, _ = parse_cards(_read_input(args.path))
    if args.id is not None:
        cards = [c for c in cards if c["id"] == args.id]
        if not cards:
            raise CardError("id", f"no card with id {args.id!r} in {args.path}")
    if len(cards) > 1 and not args.output:
        raise input_error(f"{len(cards)} cards: give -o DIR for one report per product plus an index (or pick one with --id)")
    model = load_model(Path(args.ontology) if args.ontology else None)
    datas = gather(cards, model=model)
    suffix = "html" if args.format == "html" else "md"
    if len(datas) == 1 and (not args.output or not Path(args.output).is_dir()):
        text = render(datas[0], args.lang, args.format, model=model)
        if args.output:
            Path(args.output).write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
        return 0
    out = Path(args.output)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise input_error(f"{out}: cannot create directory ({exc.strerror})") from None
    names = []
    for data in datas:
        name = re.sub(r"[^A-Za-z0-9._-]", "_", data.card["id"]) + f".{suffix}"
        (out / name).write_text(render(data, args.lang, args.format, model=model), encoding="utf-8")
        names.append(name)
    (out / f"index.{suffix}").write_text(index(datas, names, args.lang, args.format, model=model), encoding="utf-8")
    print(f"atmp: wrote {len(names)} reports and index.{suffix} to {out}", file=sys.stderr)
    return 0


def add_command(sub, input_error: type[Exception]) -> None:
    p = sub.add_parser("report", help="a decision document per product (CAT-summary style) in zh and/or en, Markdown or self-contained HTML")
    p.add_argument("path", help="JSON file with one card or an array, or - for standard input")
    p.add_argument("--id", help="report only this card of the array")
    p.add_argument("--lang", choices=["zh", "en", "both"], default="both", help="language(s) of the report (default both: Chinese, then English)")
    p.add_argument("--format", choices=["md", "html"], default="md", help="md (default) or html (one self-contained file, prints well)")
    p.add_argument("-o", "--output", help="file for one card; directory for a batch (one file per product plus index)")
    p.set_defaults(func=lambda args: cmd_report(args, input_error))
