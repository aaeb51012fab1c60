"""The ``atmp`` command line.

Exit codes: 0 success, 1 a validation that does not conform, 2 unusable input (one line on
stderr naming the field, never a traceback), 3 an internal failure of the reasoner or ontology.

May import: any part of :mod:`atmp`, inside the command that needs it, so `atmp --help` stays fast.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
from pathlib import Path
from typing import TextIO

from atmp.core.card import CardError, parse_cards

EXIT_OK, EXIT_NONCONFORMING, EXIT_INPUT, EXIT_INTERNAL = 0, 1, 2, 3


class InputError(Exception):
    """Bad command-line input (file missing, unreadable...)."""


def _read_input(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{path}: no such file")
    try:
        return p.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None


class Progress:
    """A one-line progress bar on stderr, shown for long batches only."""

    def __init__(self, stream: TextIO, enabled: bool):
        self.stream = stream
        self.enabled = enabled
        self.last = -1

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        pct = done * 100 // total
        if pct == self.last and done != total:
            return
        self.last = pct
        bar = "#" * (pct // 4)
        self.stream.write(f"\rclassifying [{bar:<25}] {done}/{total}")
        if done == total:
            self.stream.write("\n")
        self.stream.flush()


def _table(results: list[dict]) -> str:
    headers = ["id", "ATMP", "exclusion / NMPA subclass", "Tianjin subcategory", "tier", "criteria", "borderline", "ok"]
    rows = []
    for r in results:
        nm = r["exclusion"] if not r["atmp"] else f"{r['nmpa']['class']}: {r['nmpa']['subclass']}"
        rows.append([
            r["id"],
            "yes" if r["atmp"] else "no",
            nm or "-",
            r["tianjin"]["subcategory"] or "-",
            r["tianjin"]["risk_tier"] or "-",
            ",".join(map(str, r["tianjin"]["criteria"])) or "-",
            ",".join(b["code"] for b in r["borderline"]) or "-",
            "yes" if r["conforms"] else "NO",
        ])
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=True)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


CHUNK = 1000  # cards classified and written per step: bounds memory on large batches


def cmd_classify(args: argparse.Namespace) -> int:
    """Classify and write results as they are made, so 10,000 cards never sit in memory twice.

    The whole input is parsed and checked first (a bad card anywhere refuses the batch before any
    output), then classified in chunks whose JSON goes straight to stdout.
    """
    import orjson

    from atmp.core.classify import classify_cards
    from atmp.core.ontology import load_model

    gc.disable()  # a one-shot batch of small acyclic objects: collection only costs time (see classify_cards)
    cards, was_array = parse_cards(_read_input(args.path))
    model = load_model(Path(args.ontology) if args.ontology else None)
    from atmp.core.regimes import RegimeError, parse_selection

    try:
        regimes = parse_selection(model, args.regimes)
    except RegimeError as exc:
        raise InputError(f"--regimes: {exc}") from None
    progress = Progress(sys.stderr, enabled=len(cards) >= args.progress_min and (sys.stderr.isatty() or args.progress))
    option = orjson.OPT_INDENT_2 if args.pretty else 0
    out = sys.stdout.buffer
    rows: list[dict] = []
    for start in range(0, len(cards), CHUNK):
        chunk = cards[start:start + CHUNK]
        results = classify_cards(chunk, engine=args.engine, model=model, progress=lambda done, _, s=start: progress(s + done, len(cards)), regimes=regimes)
        if args.format == "table":
            rows.extend(results)
            continue
        if not was_array:
            out.write(orjson.dumps(results[0], option=option) + b"\n")
            continue
        for i, result in enumerate(results):
            out.write(b"[" if start + i == 0 else b",")
            out.write(b"\n" if args.pretty else b"")
            out.write(orjson.dumps(result, option=option))
    if args.format == "table":
        print(_table(rows))
    elif was_array:
        out.write(b"]\n")
    out.flush()
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    """SHACL report of the cards; the reasoner runs too, because borderline situations are inferred."""
    from atmp.core.classify import memberships_for
    from atmp.core.ontology import load_model
    from atmp.core.validate import SH, bilingual_report, shacl_report, validate_cards

    cards, was_array = parse_cards(_read_input(args.path))
    model = load_model(Path(args.ontology) if args.ontology else None)
    memberships = memberships_for(cards, engine=args.engine, model=model)
    if args.format == "turtle":
        report = bilingual_report(model, shacl_report(model, cards, memberships))
        print(report.serialize(format="turtle"))
        conforms = not any(True for _ in report.subjects(SH.resultSeverity, SH.Violation))
    else:
        reports = validate_cards(model, cards, memberships)
        out = reports if was_array else reports[0]
        print(json.dumps(out, ensure_ascii=False, indent=2 if args.pretty else None))
        conforms = all(r["conforms"] for r in reports)
    return EXIT_OK if conforms else EXIT_NONCONFORMING


def cmd_qc(args: argparse.Namespace) -> int:
    """Ontology quality report: exit 0 when every check comes back empty, 1 otherwise."""
    from atmp.core.resources import ontology_file
    from atmp.qc import run_all

    path = Path(args.ontology) if args.ontology else ontology_file()
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    from rdflib import Graph

    try:
        Graph().parse(path, format="turtle")
    except Exception as exc:  # noqa: BLE001 - any parser failure means the file is unusable input
        raise InputError(f"{path}: not readable as Turtle: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    results = run_all(path, with_java=not args.no_java)
    if args.format == "json":
        print(json.dumps([{"check": r.name, "question": r.question, "passed": r.passed, "rows": r.rows} for r in results], ensure_ascii=False, indent=2))
    else:
        for r in results:
            print(f"{'ok  ' if r.passed else 'FAIL'}  {r.name:<36} {len(r.rows):>5}  {r.question}")
            for row in r.rows[: args.show]:
                print("        " + "  ".join(f"{k}={v}" for k, v in row.items()))
    return EXIT_OK if all(r.passed for r in results) else EXIT_NONCONFORMING


def cmd_whatif(args: argparse.Namespace) -> int:
    """Every single-field change of one card and the smallest changes that cross each boundary."""
    from atmp.analysis.whatif import render_table, whatif
    from atmp.core.ontology import load_model

    cards, _ = parse_cards(_read_input(args.path))
    if args.id is not None:
        picked = [c for c in cards if c["id"] == args.id]
        if not picked:
            raise CardError("id", f"no card with id {args.id!r} in {args.path}")
        card = picked[0]
    elif len(cards) > 1:
        raise CardError("", f"whatif takes one card; the array holds {len(cards)} (pick one with --id)")
    else:
        card = cards[0]
    model = load_model(Path(args.ontology) if args.ontology else None)
    report = whatif(card, model=model, engine=args.engine, boundaries=args.boundary, max_pairs=args.max_pairs)
    if args.format == "table":
        print(render_table(report, all_changes=not args.brief))
    else:
        print(json.dumps(report, ensure_ascii=False, indent=2 if args.pretty else None))
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the HTTP service until interrupted (uvicorn; see atmp.http.app)."""
    from atmp.http.app import Settings, serve

    if not 0 < args.port < 65536:
        raise InputError(f"--port: expected 1-65535, got {args.port}")
    try:
        settings = Settings.from_env(
            max_batch=args.max_batch, max_body_bytes=args.max_body_bytes, sparql_timeout=args.sparql_timeout,
            sparql_max_results=args.sparql_max_results, sparql_workers=args.sparql_workers,
            ontology=Path(args.ontology) if args.ontology else None,
        )
    except ValueError as exc:
        raise InputError(str(exc)) from None
    serve(settings, host=args.host, port=args.port, log_level=args.log_level)
    return EXIT_OK


def cmd_context(args: argparse.Namespace) -> int:
    from atmp.core.ontology import load_model

    model = load_model(Path(args.ontology) if args.ontology else None)
    print(json.dumps(model.jsonld_context(), ensure_ascii=False, indent=2))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="atmp", description="Classify advanced therapy products under Chinese regulation (N and T), with reasons.")
    parser.add_argument("--ontology", help="ontology file to use instead of ontology/atmp.ttl (rule-change drills)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("classify", help="classify one card or a JSON array of cards")
    p.add_argument("path", help="JSON file, or - for standard input")
    p.add_argument("--format", choices=["json", "table"], default="json")
    p.add_argument("--engine", choices=["compiled", "hermit", "owlready2"], default="compiled",
                   help="compiled (default): the ontology's axioms evaluated in-process, proven identical to HermiT by the tests; "
                        "hermit: warm in-process HermiT (the reference); owlready2: owlready2's batch run of HermiT")
    p.add_argument("--pretty", action="store_true", help="indent JSON output")
    p.add_argument("--regimes", default=None, help="comma-separated regimes to compute, e.g. n,t,eu (default all: n,t,eu,us,jp); "
                   "the eu/us/jp blocks and the crosswalk entries of unselected regimes are left out, N and T are always present")
    p.add_argument("--progress", action="store_true", help="show the progress bar even when stderr is not a terminal")
    p.add_argument("--progress-min", type=int, default=20, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_classify)

    p = sub.add_parser("validate", help="SHACL report of one card or a JSON array: exit 0 when every card conforms, 1 when not")
    p.add_argument("path", help="JSON file, or - for standard input")
    p.add_argument("--format", choices=["json", "turtle"], default="json", help="json: per-card entries (default); turtle: the standard sh:ValidationReport")
    p.add_argument("--engine", choices=["compiled", "hermit", "owlready2"], default="compiled", help="reasoner that finds the borderline situations (as for classify)")
    p.add_argument("--pretty", action="store_true", help="indent JSON output")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("qc", help="ontology quality checks (ontology/qc/*-violation.rq, OWL API DL profile, HermiT satisfiability); exit 1 on a finding")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument("--no-java", action="store_true", help="only the SPARQL checks (no OWL API, no HermiT)")
    p.add_argument("--show", type=int, default=5, help="rows shown per failing check in the table")
    p.set_defaults(func=cmd_qc)

    p = sub.add_parser("whatif", help="what-if analysis of one card: every single-field change and the smallest changes across each boundary")
    p.add_argument("path", help="JSON file with one card (or an array and --id), or - for standard input")
    p.add_argument("--id", help="the card to analyse when the file holds an array")
    p.add_argument("--format", choices=["json", "table"], default="json")
    p.add_argument("--boundary", action="append", choices=["exclusion", "class", "subclass", "subcategory", "tier"],
                   help="report counterfactuals for this boundary only (repeatable; default: all)")
    p.add_argument("--max-pairs", type=int, default=150, help="two-field changes screened where no single change crosses a boundary (0: none)")
    p.add_argument("--engine", choices=["hermit", "owlready2", "compiled"], default="compiled", help="compiled (default) or a reference reasoner")
    p.add_argument("--brief", action="store_true", help="table: counterfactuals only, not every change")
    p.add_argument("--pretty", action="store_true", help="indent JSON output")
    p.set_defaults(func=cmd_whatif)

    from atmp.cli.kg import add_commands as add_kg_commands  # export, query, publish: the knowledge graph

    add_kg_commands(sub, InputError)

    p = sub.add_parser("serve", help="HTTP lookup service: POST /classify and /validate, GET /products, /classes, /criteria, /sparql (read-only), /health; OpenAPI at /docs")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--max-batch", type=int, help="cards per POST /classify or /validate (env ATMP_MAX_BATCH, default 1000)")
    p.add_argument("--max-body-bytes", type=int, help="request body limit in bytes (env ATMP_MAX_BODY_BYTES, default 4194304)")
    p.add_argument("--sparql-timeout", type=float, help="seconds per SPARQL query (env ATMP_SPARQL_TIMEOUT, default 10)")
    p.add_argument("--sparql-max-results", type=int, help="solutions or triples per SPARQL query (env ATMP_SPARQL_MAX_RESULTS, default 10000)")
    p.add_argument("--sparql-workers", type=int, help="SPARQL worker processes (env ATMP_SPARQL_WORKERS, default 2)")
    p.add_argument("--log-level", choices=["critical", "error", "warning", "info", "debug"], default="info")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("context", help="print the JSON-LD @context that maps a card onto the ontology")
    p.set_defaults(func=cmd_context)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except CardError as exc:
        print(f"atmp: invalid input: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except InputError as exc:
        print(f"atmp: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the last line of defence: one line, no traceback
        print(f"atmp: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
