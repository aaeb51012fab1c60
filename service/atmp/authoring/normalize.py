"""The normaliser: rewrite the edit source in one stable layout, organised by document and article.

A reader looks a rule up by its article ("where is T 6(二)8?"), so the file is cut into sections in
the order of the documents — N scope and exclusions, N classes and priority rules, T scope and
categories, T criteria and tiers, borderline situations, contract decisions — and sorted inside a
section by the first citation of the term's ``dcterms:source`` (N line, T article/paragraph/item),
then by IRI. The section is *derived* from data every term must carry anyway (its result field, its
place in the hierarchy, its source), never from a hand-kept tag that could go stale.

The section headers are comments, so they are regenerated on every run: after a Protégé save (which
drops comments and reorders everything) ``make normalize`` restores the layout, and the diff shows
only the real change. Keep explanations in ``rdfs:comment``/``skos:editorialNote``, not ``#`` comments.
"""

from __future__ import annotations

from pathlib import Path

from rdflib import OWL, RDF, RDFS, BNode, Graph, Literal, URIRef

from atmp.core.rules.namespaces import ATMP, DCT

from . import turtle
from .citations import DOCUMENTS, first_key

EDIT_BANNER = (
    "# ATMP-KG rules: THE hand-edited source (Protégé or a text editor).\n"
    "# `make normalize` rewrites this file in sections by document and article and sorts each section;\n"
    "# `make build-ontology` merges it with its imports (ontology/templates/*.tsv, other ontology/src modules)\n"
    "# into ontology/atmp.ttl. Section headers are regenerated: write notes as rdfs:comment, not # comments.\n"
    "# See ontology/README-editors.md."
)

#: sections in file order (the edit source uses all but the generated ones)
SECTIONS: list[tuple[str, str]] = [
    ("header", "Ontology header"),
    ("n-scope", "N scope and exclusions (N 35-50 and the exclusion conditions)"),
    ("n-classes", "N classes, subclasses and priority rules (N 56-485)"),
    ("t-scope", "T scope and categories (T 3, T 5)"),
    ("t-criteria", "T criteria and tiers (T 6, T 8)"),
    ("borderline", "Borderline situations"),
    ("decisions", "Contract decisions, source documents and result fields"),
    ("upper", "Upper classes (products, conditions, vocabulary roots)"),
    ("groupings", "Card vocabulary groupings (the individuals are in ontology/templates/vocabulary.tsv)"),
    ("fields", "Card fields (object and datatype properties)"),
    ("annotations", "Annotation properties"),
    ("axioms", "Other axioms"),
    ("vocabulary", "Card vocabulary (GENERATED from ontology/templates/vocabulary.tsv)"),
    ("vocabulary-axioms", "Distinct card codes per grouping (GENERATED from ontology/templates/vocabulary.tsv)"),
    ("citations", "Citations (GENERATED from the dcterms:source literals)"),
]

FIELD_SECTION = {
    "atmp": "n-scope",
    "exclusion": "n-scope",
    "nmpa.class": "n-classes",
    "nmpa.subclass": "n-classes",
    "tianjin.category": "t-scope",
    "tianjin.subcategory": "t-scope",
    "tianjin.criteria": "t-criteria",
    "tianjin.risk_tier": "t-criteria",
    "borderline": "borderline",
}
N_SCOPE_LAST_LINE = 55  # N 35-50 is scope and exclusions; the classes start at N 56


def _ancestors(graph: Graph, cls: URIRef) -> set[URIRef]:
    seen: set[URIRef] = set()
    todo = [cls]
    while todo:
        for sup in graph.objects(todo.pop(), RDFS.subClassOf):
            if isinstance(sup, URIRef) and sup not in seen:
                seen.add(sup)
                todo.append(sup)
    return seen


def _is_vocabulary_class(graph: Graph, cls: URIRef) -> bool:
    return cls == ATMP.VocabularyTerm or ATMP.VocabularyTerm in _ancestors(graph, cls)


def _source(graph: Graph, s: URIRef) -> str:
    return "; ".join(sorted(str(o) for o in graph.objects(s, DCT.source) if isinstance(o, Literal)))


def section_of(graph: Graph, s: URIRef | BNode) -> tuple[str, tuple]:
    """The section of a subject and its sort key inside the section (see the module docstring)."""
    if isinstance(s, BNode):
        members = [o for o in graph.objects(s, RDF.type)]
        if OWL.AllDifferent in members and any(True for _ in graph.objects(s, OWL.distinctMembers)):
            first = graph.value(graph.value(s, OWL.distinctMembers), RDF.first)
            if first is not None and (first, ATMP.code, None) in graph:
                return "vocabulary-axioms", ()
        return "axioms", ()
    types = set(graph.objects(s, RDF.type))
    key = first_key(_source(graph, s))
    if OWL.Ontology in types:
        return "header", ()
    if (s, ATMP.citationText, None) in graph:
        return "citations", ()
    if OWL.NamedIndividual in types and any(isinstance(t, URIRef) and t != OWL.NamedIndividual and _is_vocabulary_class(graph, t) for t in types):
        return "vocabulary", (min(turtle.curie(t) for t in types if t != OWL.NamedIndividual),)
    if types & {ATMP.ContractDecision, ATMP.SourceDocument, ATMP.ResultField} or s in (ATMP.ContractDecision, ATMP.SourceDocument, ATMP.ResultField):
        return "decisions", key
    if types & {OWL.ObjectProperty, OWL.DatatypeProperty}:
        return "fields", key
    if OWL.AnnotationProperty in types:
        return "annotations", ()
    result_field = graph.value(s, ATMP.resultField)
    if result_field is not None and str(result_field) in FIELD_SECTION:
        return FIELD_SECTION[str(result_field)], key
    if ATMP.BorderlineSituation in _ancestors(graph, s) or s == ATMP.BorderlineSituation:
        return "borderline", key
    if _is_vocabulary_class(graph, s):
        return "groupings", key
    return _by_citation(key), key


def _by_citation(key: tuple) -> str:
    """Helper classes (conditions, "fits" classes) go where their first citation points."""
    doc_rank = key[0]
    if doc_rank == 0:  # N, ranked by first line
        return "n-scope" if key[1] <= N_SCOPE_LAST_LINE else "n-classes"
    if doc_rank == 1:  # T, ranked by article
        return "t-scope" if key[1] <= 5 else "t-criteria"
    return "upper"


def render_edit(graph: Graph) -> str:
    """The edit source in its normal form."""
    return turtle.write(graph, SECTIONS, section_of, banner=EDIT_BANNER)


def normalize_file(path: Path) -> bool:
    """Rewrite ``path`` in normal form; True when the bytes changed."""
    before = path.read_text(encoding="utf-8")
    after = render_edit(Graph().parse(data=before, format="turtle", publicID=str(ATMP)))
    if after != before:
        path.write_text(after, encoding="utf-8")
    return after != before


__all__ = ["DOCUMENTS", "SECTIONS", "normalize_file", "render_edit", "section_of"]
