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

from atmp.core.card.errors import CardError
from atmp.core.rules.files import FileRefused
from atmp.core.rules.layout import DEFAULT_ENGINE, ENGINES
from atmp.core.rules.resources import words_by_language

EXIT_OK, EXIT_NONCONFORMING, EXIT_INPUT, EXIT_INTERNAL = 0, 1, 2, 3


class InputError(Exception):
    """Bad command-line input (file missing, unreadable...)."""


def _read_input(path: str) -> bytes:
    """A card file or standard input (``-``), at most the input limit: a device, a FIFO or a huge file is refused (exit 2)."""
    from atmp.core.card.schema import MAX_INPUT_BYTES
    from atmp.core.rules.files import read_file, read_stream

    if path == "-":
        return read_stream(sys.stdin.buffer, limit=MAX_INPUT_BYTES, what="input")
    return read_file(path, limit=MAX_INPUT_BYTES, what="card file", hint=STDIN_HINT)


STDIN_HINT = " (or - for standard input)"


def parse_cards(data):
    """The card schema's reader, imported when a command runs: a refused rule or words file is then an exit 2 of
    :func:`main`, not a traceback at import."""
    from atmp.core.card.schema import parse_cards as parse

    return parse(data)


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


def _table(results: list[dict], model, lang: str = "en", names: dict[str, dict] | None = None) -> str:
    """The batch for people: each product by its name, each conclusion by its label in ``lang``, the criteria by
    number with a legend of those met below the table (label and citation), so the table reads without T at hand."""
    from atmp.analysis.render import table, width
    from atmp.analysis.sources import source_text

    words = words_by_language("table")[lang]  # the table's own words; every value is the ontology's label in ``lang``
    by_code = {(rc.field, rc.code): rc for rc in model.result_classes if rc.code is not None}
    by_number = {rc.number: rc for rc in model.result_classes if rc.number is not None}

    def named(field: str, code) -> str:
        if code is None:
            return "-"
        rc = by_code.get((field, code))
        return rc.label.get(lang, code) if rc else str(code)

    def clip(text: str, most: int) -> str:
        """At most ``most`` columns of a terminal (the JSON output has every word)."""
        if width(text) <= most:
            return text
        while width(text) > most - 1:
            text = text[:-1]
        return text.rstrip() + "…"

    headers = [words[k] for k in ("product", "atmp", "class", "subcategory", "tier", "criteria", "borderline", "ok")]
    rows = []
    met: set[int] = set()
    for r in results:
        if r["atmp"]:
            nm = f"{named('nmpa.class', r['nmpa']['class'])}: {named('nmpa.subclass', r['nmpa']['subclass'])}"
        else:
            nm = named("exclusion", r["exclusion"])
        met.update(r["tianjin"]["criteria"])
        rows.append(
            [
                clip(((names or {}).get(r["id"]) or {}).get(lang) or r["id"], 40),
                words["yes"] if r["atmp"] else words["no"],
                nm,
                named("tianjin.subcategory", r["tianjin"]["subcategory"]),
                named("tianjin.risk_tier", r["tianjin"]["risk_tier"]),
                ",".join(map(str, r["tianjin"]["criteria"])) or "-",
                clip("; ".join(named("borderline", b["code"]) for b in r["borderline"]) or "-", 60),
                words["yes"] if r["conforms"] else words["NO"],
            ]
        )
    lines = [table(headers, rows)]
    if met:
        lines += ["", words["legend"]]
        for n in sorted(met):
            rc = by_number.get(n)
            if rc is not None:
                lines.append(f"  {n:>2}  {rc.label.get(lang, '')} ({source_text(model, rc.source, lang)})")
    return "\n".join(lines)


# cards classified and written per step: bounds memory (10,000 brief cards, 2 workers: 1,000 a step peaked
# at 465 MB PSS, 500 at 360 MB, in the same wall time; brief's lanes take 250 cards at once)
CHUNK = 500


def cmd_classify(args: argparse.Namespace) -> int:
    """Classify and write results as they are made, a chunk at a time (see :mod:`atmp.cli.stream`).

    A JSON input is parsed and checked whole first; JSON Lines is streamed (checked in a first pass
    when it is a file going to standard output). Either way a bad card refuses the batch before any
    output is final.
    """
    collecting = gc.isenabled()
    gc.disable()  # start-up (rdflib, the cached model) makes ~300,000 lasting objects and no garbage: a tenth of a cold run went to collecting them
    try:
        return _classify(args, collecting)
    finally:
        if collecting:
            gc.enable()


def _classify(args: argparse.Namespace, collecting: bool) -> int:
    import orjson

    from atmp.cli import stream
    from atmp.core.card.decode import refuse_unknown
    from atmp.core.rules.ontology import load_model

    jobs = stream.parse_jobs(args.jobs)
    if jobs is None:
        raise InputError(f"--jobs: expected auto or a whole number of 1 or more, got {args.jobs!r}")
    jsonl = stream.is_jsonl(args.path, args.jsonl)
    total: int | None
    if jsonl:
        from atmp.core.rules.files import open_file

        def source_stream():  # JSON Lines are streamed: no size limit, one bounded line at a time (stream.iter_jsonl)
            return sys.stdin.buffer if args.path == "-" else open_file(args.path, limit=None, what="JSON Lines file", hint=STDIN_HINT)

        if args.path != "-":
            source_stream().close()  # refused (exit 2) before anything starts: missing, a FIFO, a device

        def cards():
            source = source_stream()
            try:
                for number, card in stream.iter_jsonl(source):
                    if args.strict:
                        try:
                            refuse_unknown([card])
                        except CardError as exc:
                            raise stream.LineError(f"line {number}: {exc}") from None
                    yield card
            finally:
                if source is not sys.stdin.buffer:
                    source.close()

        total = None
        try:
            if args.path != "-" and (args.output is None or args.format == "table"):  # nothing half-written on stdout: check every line first
                total = sum(1 for _ in cards())
        except stream.LineError as exc:
            raise InputError(f"{args.path}: {exc}") from None
        source_cards = cards()
        mode = "jsonl"
    else:
        parsed, was_array = parse_cards(_read_input(args.path))
        if args.strict:
            refuse_unknown(parsed)
        total = len(parsed)
        source_cards = iter(parsed)
        mode = "array" if was_array else "single"
    model = load_model(Path(args.ontology) if args.ontology else None)
    from atmp.core.rules.regimes import RegimeError, parse_selection

    try:
        regimes = parse_selection(model, args.regimes)
    except RegimeError as exc:
        raise InputError(f"--regimes: {exc}") from None
    progress = Progress(sys.stderr, enabled=total is not None and total >= args.progress_min and (sys.stderr.isatty() or args.progress))
    done = [0]

    def advance(n: int) -> None:
        done[0] += n
        if total:
            progress(done[0], total)

    names: dict[str, dict] = {}  # the table names each product by its label, which the result does not carry
    if args.format == "table":
        source_cards = _named(source_cards, names)
    option = orjson.OPT_INDENT_2 if args.pretty and not jsonl else 0
    stream.warm(model, args.engine)  # freezes what start-up made, so the collections resumed here never scan it
    if collecting:
        gc.enable()
    explain = args.explain or explain_default(sys.stdout if args.output is None else None)
    problems: list = []
    pieces = stream.classified(stream.chunks(source_cards, CHUNK), args.engine, option, model, jobs, advance, explain, regimes, problems)
    try:
        if args.format == "table":
            rows = [orjson.loads(piece) for chunk in pieces for piece in chunk]
            print(_table(rows, model, args.lang, names))
            for r in rows:  # the table has no column for them: say them on stderr, one line each
                for w in r.get("warnings", []):
                    print(f"atmp: warning: {r['id']}: {w['message']['en']}", file=sys.stderr)
            return _problems_exit(problems)
        out = stream.Output(args.output)
    except stream.LineError as exc:
        raise InputError(f"{args.path}: {exc}") from None
    except OSError as exc:
        raise InputError(f"-o {args.output}: {exc.strerror or exc}") from None
    try:
        stream.write_results(out.stream, pieces, mode, args.pretty and not jsonl)
        if done[0] == 0:
            raise stream.LineError("no product card given")
        out.commit()
    except stream.LineError as exc:
        out.abort()
        raise InputError(f"{args.path}: {exc}") from None
    except BaseException:
        out.abort()
        raise
    return _problems_exit(problems)


def _problems_exit(problems: list) -> int:
    """After every result is written: one stderr line per card the path could not answer in full, and the exit status.

    A rule conflict (two classes of one single-valued field: the field is left empty) is a non-conforming card,
    exit 1; an internal error (a defect: the card has an ``internal_error`` result) is exit 3. The other cards'
    results are complete either way (issue 27: one card never loses a batch).
    """
    from atmp.core.rules.layout import INTERNAL_ERROR

    for card_id, code, message in problems:
        kind = "internal error" if code == INTERNAL_ERROR else "rule conflict"
        print(f"atmp: {kind}: card {card_id}: {message}", file=sys.stderr)
    if any(code == INTERNAL_ERROR for _, code, _ in problems):
        return EXIT_INTERNAL
    return EXIT_NONCONFORMING if problems else EXIT_OK


def _named(cards, names: dict[str, dict]):
    """The cards unchanged, each one's label noted by id on the way."""
    for card in cards:
        names[card["id"]] = card.get("label") or {}
        yield card


def explain_default(stream) -> str:
    """``full`` on a terminal (a person reading one answer), ``brief`` for a file or a pipe (a batch: 1/3 the bytes)."""
    try:
        return "full" if stream.isatty() else "brief"
    except (AttributeError, ValueError):
        return "brief"


def cmd_validate(args: argparse.Namespace) -> int:
    """SHACL report of the cards; the reasoner runs too, because borderline situations are inferred."""
    from atmp.core.card.decode import refuse_unknown
    from atmp.core.classify import memberships_for
    from atmp.core.result.validate import SH, bilingual_report, shacl_report, validate_cards
    from atmp.core.rules.ontology import load_model

    cards, was_array = parse_cards(_read_input(args.path))
    if args.strict:
        refuse_unknown(cards)
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
    from rdflib import Graph

    from atmp.authoring.qc import run_all
    from atmp.core.rules.files import read_file
    from atmp.core.rules.resources import ontology_file

    path = Path(args.ontology) if args.ontology else ontology_file()
    data = read_file(path, what="ontology")  # a regular file of bounded size, or exit 2, before the checks read it again
    try:
        Graph().parse(data=data, format="turtle")
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


def _one_card(args: argparse.Namespace, command: str) -> dict:
    """The one card a command analyses: the file's card, or the one ``--id`` names in an array."""
    cards, _ = parse_cards(_read_input(args.path))
    if args.id is not None:
        picked = [c for c in cards if c["id"] == args.id]
        if not picked:
            raise CardError("id", f"no card with id {args.id!r} in {args.path}")
        return picked[0]
    if len(cards) > 1:
        raise CardError("", f"{command} takes one card; the array holds {len(cards)} (pick one with --id)")
    return cards[0]


def cmd_similar(args: argparse.Namespace) -> int:
    """The catalogue's precedents nearest to one card under the rules, their decisions, differences and red flags."""
    from atmp.analysis.similar import render_markdown, render_table, similar
    from atmp.core.rules.ontology import load_model

    card = _one_card(args, "similar")
    if args.k < 1:
        raise CardError("k", f"-k must be at least 1, not {args.k}")
    model = load_model(Path(args.ontology) if args.ontology else None)
    try:
        report = similar(card, k=args.k, regime=args.regime, model=model)
    except ValueError as exc:  # a regime the ontology does not define
        raise CardError("regime", str(exc)) from None
    if args.format == "table":
        print(render_table(report, args.lang), end="")
    elif args.format == "md":
        print(render_markdown(report, args.lang), end="")
    else:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    return EXIT_OK


def cmd_whatif(args: argparse.Namespace) -> int:
    """Every single-field change of one card and the smallest changes that cross each boundary."""
    from atmp.analysis.whatif import render_table, whatif
    from atmp.core.rules.ontology import load_model

    card = _one_card(args, "whatif")
    model = load_model(Path(args.ontology) if args.ontology else None)
    report = whatif(card, model=model, engine=args.engine, boundaries=args.boundary, max_pairs=args.max_pairs)
    if args.format == "table":
        print(render_table(report, model, lang=args.lang, all_changes=not args.brief))
    else:
        print(json.dumps(report, ensure_ascii=False, indent=2 if args.pretty else None))
    return EXIT_OK


RELIABILITY_FLAGS = {  # atmp serve flags for the limits of issue 13 (env ATMP_<NAME>; defaults in atmp.http.settings)
    "sparql_queue": "SPARQL requests that may wait for a worker; the next gets 503 + Retry-After (default 8)",
    "sparql_max_bytes": "bytes of one SPARQL answer (default 67108864)",
    "sparql_worker_memory": "MiB of memory a SPARQL worker may add while answering (default 1024)",
    "card_timeout": "seconds per card request (/classify, /validate, /whatif, /report), waiting for a worker included (default 30)",
    "card_chunk": "cards per job of a card worker, taken in turns (default 50)",
    "card_workers": "processes doing card work, away from the server's event loop (default 2)",
    "max_report_triples": "triples of a Turtle validation report (default 200000)",
    "body_timeout": "seconds to wait for the next part of a request body (default 30)",
    "header_timeout": "seconds for a request's line and headers to arrive; 408 after (default 10)",
    "keep_alive_timeout": "seconds an idle kept-alive connection stays open (default 5)",
    "max_connections": "open connections; the next gets 503 + Retry-After at once (default 256)",
    "max_header_bytes": "bytes of a request line and headers; 400 beyond (default 16384)",
}


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the HTTP service until interrupted (uvicorn; see atmp.http.app)."""
    from atmp.http.app import serve
    from atmp.http.settings import Settings

    if not 0 < args.port < 65536:
        raise InputError(f"--port: expected 1-65535, got {args.port}")
    try:
        settings = Settings.from_env(
            max_batch=args.max_batch,
            max_body_bytes=args.max_body_bytes,
            sparql_timeout=args.sparql_timeout,
            sparql_max_results=args.sparql_max_results,
            sparql_workers=args.sparql_workers,
            **{name: getattr(args, name) for name in RELIABILITY_FLAGS},
            ontology=Path(args.ontology) if args.ontology else None,
        )
    except ValueError as exc:
        raise InputError(str(exc)) from None
    serve(settings, host=args.host, port=args.port, log_level=args.log_level)
    return EXIT_OK


def cmd_context(args: argparse.Namespace) -> int:
    from atmp.core.rules.ontology import load_model

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
    p.add_argument("--lang", choices=["en", "zh"], default="en", help="table: the language of its labels and legend (default en)")
    p.add_argument(
        "--engine",
        choices=ENGINES,
        default=DEFAULT_ENGINE,
        help="compiled (default): the ontology's axioms evaluated in-process, proven identical to HermiT by the tests; "
        "hermit: warm in-process HermiT (the reference); owlready2: owlready2's batch run of HermiT",
    )
    p.add_argument("--pretty", action="store_true", help="indent JSON output")
    p.add_argument(
        "--regimes",
        default=None,
        help="comma-separated regimes to compute, e.g. n,t,eu (default all: n,t,eu,us,jp); "
        "the eu/us/jp blocks and the crosswalk entries of unselected regimes are left out, N and T are always present",
    )
    p.add_argument(
        "--explain",
        choices=["full", "brief", "none"],
        help="explanations: full (every rule walked), brief (deciding reasons only), none; default full on a terminal, brief to a file or pipe",
    )
    p.add_argument("--progress", action="store_true", help="show the progress bar even when stderr is not a terminal")
    p.add_argument("--progress-min", type=int, default=20, help=argparse.SUPPRESS)
    p.add_argument("--strict", action="store_true", help="refuse a card with a field the contract does not define (default: classify it and warn in the result's warnings)")
    p.add_argument("--jsonl", action="store_true", help="input is JSON Lines, one card per line (implied by a .jsonl name); output is JSON Lines, streamed")
    p.add_argument("-o", "--output", help="write here (via a temporary file, renamed when complete) instead of standard output")
    p.add_argument(
        "--jobs",
        default="auto",
        help=(
            "worker processes: a number, or auto (default: one per core, at most 4, once the input has more than"
            f" one chunk of {CHUNK:,} cards); output bytes are the same for any number"
        ),
    )
    p.set_defaults(func=cmd_classify)

    p = sub.add_parser("validate", help="SHACL report of one card or a JSON array: exit 0 when every card conforms, 1 when not")
    p.add_argument("path", help="JSON file, or - for standard input")
    p.add_argument("--format", choices=["json", "turtle"], default="json", help="json: per-card entries (default); turtle: the standard sh:ValidationReport")
    p.add_argument("--engine", choices=ENGINES, default=DEFAULT_ENGINE, help="reasoner that finds the borderline situations (as for classify)")
    p.add_argument("--pretty", action="store_true", help="indent JSON output")
    p.add_argument("--strict", action="store_true", help="refuse a card with a field the contract does not define")
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
    p.add_argument(
        "--boundary",
        action="append",
        choices=["exclusion", "class", "subclass", "subcategory", "tier"],
        help="report counterfactuals for this boundary only (repeatable; default: all)",
    )
    p.add_argument("--max-pairs", type=int, default=150, help="two-field changes screened where no single change crosses a boundary (0: none)")
    p.add_argument("--engine", choices=ENGINES, default=DEFAULT_ENGINE, help="compiled (default) or a reference reasoner")
    p.add_argument("--brief", action="store_true", help="table: counterfactuals only, not every change")
    p.add_argument("--lang", choices=["en", "zh"], default="en", help="table: the language of its labels (default en; the JSON has codes and both)")
    p.add_argument("--pretty", action="store_true", help="indent JSON output")
    p.set_defaults(func=cmd_whatif)

    p = sub.add_parser("similar", help="the catalogue's real products nearest to one card as the rules see it: decisions, differences in words, red flags")
    p.add_argument("path", help="JSON file with one card (or an array and --id), or - for standard input")
    p.add_argument("--id", help="the card to compare when the file holds an array")
    p.add_argument("-k", type=int, default=5, help="how many precedents (default 5)")
    p.add_argument("--regime", help="weigh facts and conclusions under one regime only: n, t, eu, us or jp (the ontology's regime codes)")
    p.add_argument("--format", choices=["json", "table", "md"], default="table")
    p.add_argument("--lang", choices=["en", "zh"], default="en")
    p.set_defaults(func=cmd_similar)

    from atmp.cli.kg import add_commands as add_kg_commands  # export, query, publish: the knowledge graph

    add_kg_commands(sub, InputError)

    from atmp.cli.diff import add_commands as add_diff_commands  # diff, release: rule versions

    add_diff_commands(sub, InputError)

    from atmp.cli.report import add_command as add_report_command  # report: the committee document

    add_report_command(sub, InputError)

    p = sub.add_parser(
        "serve",
        help="the workbench at / (describe a product, catalogue, rule book, SPARQL) and the HTTP API "
        "(POST /classify, /validate, /report, GET /products, /sparql …; OpenAPI at /docs)",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--max-batch", type=int, help="cards per POST /classify or /validate (env ATMP_MAX_BATCH, default 1000)")
    p.add_argument("--max-body-bytes", type=int, help="request body limit in bytes (env ATMP_MAX_BODY_BYTES, default 4194304)")
    p.add_argument("--sparql-timeout", type=float, help="seconds per SPARQL query (env ATMP_SPARQL_TIMEOUT, default 10)")
    p.add_argument("--sparql-max-results", type=int, help="solutions or triples per SPARQL query (env ATMP_SPARQL_MAX_RESULTS, default 10000)")
    p.add_argument("--sparql-workers", type=int, help="SPARQL worker processes (env ATMP_SPARQL_WORKERS, default 2)")
    for name, help_text in RELIABILITY_FLAGS.items():
        p.add_argument("--" + name.replace("_", "-"), type=float if name.endswith("timeout") else int, help=help_text)
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
    except FileRefused as exc:  # a rule or card file that is not a regular file, too large or unreadable
        flag = " --ontology" if getattr(args, "ontology", None) and exc.path == str(args.ontology) else ""
        print(f"atmp:{flag} {exc}", file=sys.stderr)
        return EXIT_INPUT
    except InputError as exc:
        print(f"atmp: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from atmp.core.rules.ontology import OntologyError

        if isinstance(exc, OntologyError) and getattr(args, "ontology", None):
            print(f"atmp: --ontology {args.ontology}: {' '.join(str(exc).split())[:300]}", file=sys.stderr)
            return EXIT_INPUT
        print(f"atmp: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
