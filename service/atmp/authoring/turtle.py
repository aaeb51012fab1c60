"""A deterministic, sectioned Turtle writer: same graph, same bytes, whatever order the triples came in.

rdflib's own serialiser orders subjects by how often they are referenced and labels blank nodes at
random, so two saves of one graph (or a Protégé save) give noisy diffs. Here every subject is written
as its own block (its blank-node closure inlined, blank nodes relabelled canonically so that sorting
objects is stable), the blocks are grouped into named sections with comment headers, and sorted
inside a section by a key the caller gives (article/line, then IRI). The result is still plain Turtle
that rdflib, the OWL API and Protégé read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rdflib import OWL, RDF, RDFS, XSD, BNode, Graph, Namespace, URIRef
from rdflib.compare import to_canonical_graph

from atmp.core.rules.namespaces import ATMP, DCT, SKOS

OBO = Namespace("http://purl.obolibrary.org/obo/")
PREFIXES: dict[str, Namespace] = {
    "atmp": ATMP,
    "dcterms": DCT,
    "obo": OBO,
    "owl": Namespace(str(OWL)),
    "rdf": Namespace(str(RDF)),
    "rdfs": Namespace(str(RDFS)),
    "skos": SKOS,
    "xsd": Namespace(str(XSD)),
}

RULE = "#" * 100

#: (section id, heading) in file order; a classifier maps each subject to a section id and sort key
Sections = Sequence[tuple[str, str]]
Classifier = Callable[[Graph, URIRef | BNode], tuple[str, tuple]]


def _bind(graph: Graph) -> Graph:
    for prefix, ns in PREFIXES.items():
        graph.bind(prefix, ns, override=True, replace=True)
    return graph


def _closure(graph: Graph, subject: URIRef | BNode) -> Graph:
    """The triples of ``subject`` and of every blank node reachable from it."""
    out = Graph()
    todo, seen = [subject], set()
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        for p, o in graph.predicate_objects(node):
            out.add((node, p, o))
            if isinstance(o, BNode):
                todo.append(o)
    return out


def block(graph: Graph, subject: URIRef | BNode) -> str:
    """One subject as Turtle (no prefixes), blank nodes inlined and canonically ordered."""
    sub = _closure(graph, subject)
    if any(isinstance(x, BNode) for t in sub for x in t):
        canonical = Graph()
        for t in to_canonical_graph(sub):
            canonical.add(t)
        sub = canonical
    text = _bind(sub).serialize(format="turtle")
    lines = [line for line in text.splitlines() if not line.startswith("@prefix")]
    return "\n".join(lines).strip() + "\n"


def top_subjects(graph: Graph) -> list[URIRef | BNode]:
    """IRIs that are subjects, and blank nodes no triple points to (e.g. ``owl:AllDifferent`` axioms)."""
    referenced = {o for o in graph.objects() if isinstance(o, BNode)}
    return [s for s in set(graph.subjects()) if isinstance(s, URIRef) or s not in referenced]  # type: ignore[misc]


def write(graph: Graph, sections: Sections, classify: Classifier, banner: str = "") -> str:
    """The whole graph as sectioned Turtle; ``banner`` is a comment put above the prefixes."""
    known = {sid for sid, _ in sections}
    blocks: dict[str, list[tuple[tuple, str]]] = {sid: [] for sid in known}
    for subject in top_subjects(graph):
        sid, key = classify(graph, subject)
        if sid not in known:
            raise ValueError(f"classifier returned unknown section {sid!r} for {subject}")
        text = block(graph, subject)
        # IRIs sort by IRI after the key; blank-node axioms by their text (their labels are canonical)
        blocks[sid].append(((*key, str(subject) if isinstance(subject, URIRef) else "~" + text), text))
    out = [banner.rstrip() + "\n\n"] if banner else []
    out += [f"@prefix {p}: <{ns}> .\n" for p, ns in sorted(PREFIXES.items())]
    for sid, heading in sections:
        if not blocks[sid]:
            continue
        out.append(f"\n{RULE}\n# {heading}\n{RULE}\n")
        for _, text in sorted(blocks[sid], key=lambda kv: _sortable(kv[0])):
            out.append("\n" + text)
    return "".join(out)


def _sortable(key: tuple) -> tuple:
    """Keys mix ints and strings; compare ints as ints and strings as strings, never int with str."""
    return tuple((0, k, "") if isinstance(k, int) else (1, 0, str(k)) for k in key)


def curie(iri: URIRef) -> str:
    """``atmp:Foo`` for an IRI in a known namespace, else the IRI in angle brackets."""
    text = str(iri)
    for prefix, ns in sorted(PREFIXES.items(), key=lambda kv: -len(str(kv[1]))):
        if text.startswith(str(ns)):
            return f"{prefix}:{text[len(str(ns)) :]}"
    return f"<{text}>"
