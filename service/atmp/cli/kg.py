"""``atmp export``, ``atmp query`` and ``atmp publish``: the knowledge graph on the command line.

Every problem the user can fix (unknown query, bad ``--param``, unreachable endpoint, missing file) is a
:class:`atmp.kg.KGError` here; :func:`add_commands` is handed the CLI's own ``InputError`` class and turns
those into it (one line on stderr, exit code 2). The class is passed in rather than imported because
``python -m atmp.cli`` runs the CLI as ``__main__``, whose ``InputError`` is not ``atmp.cli.InputError``.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from atmp.core.rules.layout import DEFAULT_ENGINE, ENGINES
from atmp.kg.names import EXPORT_FORMAT_NAMES, GRAPH_NAMES

if TYPE_CHECKING:  # the store (rdflib, pyoxigraph) is imported by the commands that use it, not to build --help
    from atmp.kg.store import KnowledgeGraph


def _wrap(func, input_error: type[Exception]):
    """Run a command, turning the knowledge graph's input errors into the CLI's InputError."""

    @functools.wraps(func)
    def wrapper(args: argparse.Namespace) -> int:
        from atmp.kg.terms import KGError

        try:
            return func(args)
        except KGError as exc:
            raise input_error(str(exc)) from None
        except BrokenPipeError:  # output piped into head & co.: stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0

    return wrapper


def _graph_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--engine",
        choices=ENGINES,
        default=DEFAULT_ENGINE,
        help="how the catalogue is classified: compiled (default, fast, checked against HermiT by the tests) or hermit / owlready2 (reference reasoner)",
    )
    p.add_argument("--catalogue", metavar="FILE", help="product cards with provenance to load instead of catalogue/products.json")


def build_graph(args: argparse.Namespace) -> KnowledgeGraph:
    from atmp.core.rules.ontology import load_model
    from atmp.kg.store import KnowledgeGraph

    model = load_model(Path(args.ontology) if args.ontology else None)
    return KnowledgeGraph.build(engine=args.engine, model=model, catalogue=Path(args.catalogue) if args.catalogue else None)


def cmd_export(args: argparse.Namespace) -> int:
    from atmp.kg.terms import KGError

    graph = build_graph(args)
    data = graph.serialize(args.format, args.graph)
    if args.output:
        try:
            Path(args.output).write_bytes(data)
        except OSError as exc:
            raise KGError(f"{args.output}: cannot write ({exc.strerror})") from None
        counts = graph.counts()
        chosen = [args.graph] if args.graph else list(GRAPH_NAMES)
        print(f"wrote {args.output}: {', '.join(f'{n} {counts[n]}' for n in chosen)} triples ({len(data)} bytes)", file=sys.stderr)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0


def _list_queries() -> str:
    from atmp.kg.queries import load_queries

    lines = []
    for name, q in load_queries().items():
        lines.append(f"{name}\n    {q.title}\n    {q.question}")
        for p in q.parameters:
            how = "required" if p.required else (f"default {p.default}" if p.default is not None else "optional")
            lines.append(f"    --param {p.name}=... ({p.type}, {how}) {p.description}")
    return "\n".join(lines)


def cmd_query(args: argparse.Namespace) -> int:
    from atmp.kg.queries import get_query, parse_params, run_embedded, run_remote
    from atmp.kg.store import KnowledgeGraph
    from atmp.kg.terms import KGError

    if args.list:
        print(_list_queries())
        return 0
    if not args.name:
        raise KGError("give a query name or a .rq file (atmp query --list shows the named queries)")
    query = get_query(args.name)
    bindings = query.bind(parse_params(args.param))
    if args.endpoint:
        result = run_remote(args.endpoint, query, bindings, timeout=args.timeout)
    else:
        graph = KnowledgeGraph.from_file(Path(args.data)) if args.data else build_graph(args)
        result = run_embedded(graph, query, bindings)
    if args.format == "json":
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    elif args.format == "csv":
        sys.stdout.write(result.to_csv())
    else:
        from atmp.analysis.render import query_table

        print(query_table(result))
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    from atmp.kg.publish import publish

    graph = build_graph(args)
    for item in publish(graph, args.endpoint, timeout=args.timeout):
        print(f"PUT <{item.graph}>  {item.triples} triples  HTTP {item.status}  {item.seconds:.2f}s")
    return 0


def add_commands(sub, input_error: type[Exception]) -> None:
    """Add the export, query and publish subcommands to the ``atmp`` parser; ``input_error`` is the CLI's InputError."""
    p = sub.add_parser("export", help="write the knowledge graph: ontology, asserted and inferred named graphs")
    p.add_argument("--format", choices=list(EXPORT_FORMAT_NAMES), default="trig", help="trig / nq keep the named graphs; turtle / nt merge them (or give --graph)")
    p.add_argument("--graph", choices=list(GRAPH_NAMES), help="one named graph only")
    p.add_argument("-o", "--output", metavar="FILE", help="file to write (default: standard output)")
    _graph_options(p)
    p.set_defaults(func=_wrap(cmd_export, input_error))

    p = sub.add_parser("query", help="run a named SPARQL query (queries/NAME.rq) or a .rq file, embedded or on a SPARQL endpoint")
    p.add_argument("name", nargs="?", help="query name (see --list) or path of a .rq file")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="a parameter of the query (repeatable); bound as an RDF term, never spliced into the text")
    p.add_argument("--format", choices=["table", "json", "csv"], default="table", help="table for people; json / csv are the SPARQL 1.1 results formats")
    p.add_argument("--endpoint", metavar="URL", help="SPARQL query endpoint (e.g. http://127.0.0.1:7878/query) instead of the embedded store")
    p.add_argument("--data", metavar="FILE", help="query an exported dataset (.trig or .nq from atmp export) instead of building the graph")
    p.add_argument("--timeout", type=float, default=60, help="seconds to wait for a remote endpoint")
    p.add_argument("--list", action="store_true", help="list the named queries with their questions and parameters")
    _graph_options(p)
    p.set_defaults(func=_wrap(cmd_query, input_error))

    p = sub.add_parser("publish", help="load the knowledge graph into a SPARQL 1.1 Graph Store Protocol endpoint (named graphs kept; PUT, so idempotent)")
    p.add_argument("--endpoint", required=True, metavar="URL", help="Graph Store Protocol URL (e.g. http://127.0.0.1:7878/store for Oxigraph)")
    p.add_argument("--timeout", type=float, default=300, help="seconds to wait for each graph")
    _graph_options(p)
    p.set_defaults(func=_wrap(cmd_publish, input_error))
