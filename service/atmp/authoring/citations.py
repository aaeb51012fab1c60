"""Citations as data: the ``dcterms:source`` literal of a term, parsed into citation resources.

The literal (``"N 263-271, 313-315; T 6(一)2; Contract decision 1"``) stays the one thing an editor
types, because explanations quote it verbatim. The build parses it into one resource per cited piece
(a line range of N, an article/item of T, a contract decision, a section of the contract, or a
non-document source), linked from the term by ``atmp:citation``. Because the resources are generated
from the literal, the two cannot disagree in a built file; ``source-format-violation.rq`` checks the
agreement on any copy that was edited by hand (for instance in Protégé).

All citation properties are annotation properties: they carry no logic, so adding them changes no
classification (the reasoners ignore annotations).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rdflib import OWL, RDF, XSD, Graph, Literal, URIRef

from atmp.core.rules.namespaces import ATMP, DCT

NUMERALS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}

#: the document individuals a citation key points to
DOCUMENTS = {"N": ATMP.document_N, "T": ATMP.document_T, "Contract": ATMP.document_contract}

#: sources that are not a document article: project conventions and background knowledge
OTHER_SOURCES = {
    "Project convention": "project_convention",
    "Developmental biology (descriptive)": "developmental_biology",
}

#: the other regimes' legal texts and agency documents (ontology/src/{eu,us,jp,crosswalk}.ttl): cited verbatim,
#: by the prefix that names the instrument; the locator after it is kept as written (no line/article model yet)
FOREIGN_PREFIXES = ("http://", "https://", "Reg ", "Dir ", "21 CFR ", "PHS Act ", "FD&C Act ", "ASRM", "PMD Act ", "MHLW ", "EMA/", "EMEA/", "FDA ", "COM(", "Issue ")

#: sections of the product-card contract that are cited by name
CONTRACT_SECTIONS = {"priority rules", "card fields", "process.manipulations"}

RANGE = r"\d+(?:-\d+)?"
N_PART = re.compile(rf"N ({RANGE}(?:, {RANGE})*)")
T_PART = re.compile(rf"T (\d+)(?:\(([{''.join(NUMERALS)}]+)\))?({RANGE})?( 综合判定)?")
DECISION_PART = re.compile(rf"Contract decisions? ({RANGE}(?:, {RANGE})*)")
SECTION_PART = re.compile(r"Contract ([a-z][a-z. ]*[a-z])")
SEED_PART = re.compile(r"seeds/([0-9a-f_]+)\.txt")

#: the predicates the build adds; ``strip`` removes exactly these
CITATION = ATMP.citation
PREDICATES = (
    ATMP.citationText,
    ATMP.citedDocument,
    ATMP.locator,
    ATMP.firstLine,
    ATMP.lastLine,
    ATMP.article,
    ATMP.paragraph,
    ATMP.firstItem,
    ATMP.lastItem,
    ATMP.decision,
)


class CitationError(ValueError):
    """A ``dcterms:source`` literal that does not follow the citation grammar."""


@dataclass(frozen=True)
class Citation:
    """One cited piece: its IRI, the text as it reads alone, and its structured fields."""

    iri: URIRef
    text: str
    locator: str
    document: URIRef | None = None
    lines: tuple[int, int] | None = None
    article: int | None = None
    paragraph: int | None = None
    items: tuple[int, int] | None = None
    decisions: tuple[int, ...] = field(default=())

    def triples(self) -> list[tuple]:
        s = self.iri
        out: list[tuple] = [(s, ATMP.citationText, Literal(self.text)), (s, ATMP.locator, Literal(self.locator))]
        if self.document is not None:
            out.append((s, ATMP.citedDocument, self.document))
        if self.lines:
            out += [(s, ATMP.firstLine, _int(self.lines[0])), (s, ATMP.lastLine, _int(self.lines[1]))]
        if self.article is not None:
            out.append((s, ATMP.article, _int(self.article)))
        if self.paragraph is not None:
            out.append((s, ATMP.paragraph, _int(self.paragraph)))
        if self.items:
            out += [(s, ATMP.firstItem, _int(self.items[0])), (s, ATMP.lastItem, _int(self.items[1]))]
        out += [(s, ATMP.decision, decision_iri(n)) for n in self.decisions]
        return out


def _int(n: int) -> Literal:
    return Literal(n, datatype=XSD.integer)


def _span(text: str) -> tuple[int, int]:
    first, _, last = text.partition("-")
    return int(first), int(last or first)


def decision_iri(number: int) -> URIRef:
    """The individual of contract decision ``number`` (``atmp:decision_1`` …)."""
    return ATMP[f"decision_{number}"]


def parse(literal: str) -> list[Citation]:
    """Split a source literal into citations, in the order written; raise :class:`CitationError` if malformed."""
    if not literal or literal != literal.strip():
        raise CitationError(f"empty source or surrounding spaces: {literal!r}")
    out: list[Citation] = []
    for part in literal.split("; "):
        out += _parse_part(part, literal)
    return out


def _parse_part(part: str, literal: str) -> list[Citation]:
    if m := N_PART.fullmatch(part):
        out = []
        for rng in m.group(1).split(", "):
            first, last = _span(rng)
            if first > last:
                raise CitationError(f"line range {rng} runs backwards in {literal!r}")
            out.append(Citation(ATMP[f"cite_N_{rng}"], f"N {rng}", rng, DOCUMENTS["N"], lines=(first, last)))
        return out
    if m := T_PART.fullmatch(part):
        article, numeral, items, overall = m.groups()
        paragraph = _numeral(numeral, literal) if numeral else None
        slug = "_".join([f"cite_T_{article}"] + ([f"p{paragraph}"] if paragraph else []) + ([f"i{items}"] if items else []) + (["overall"] if overall else []))
        locator = part[2:]
        return [Citation(ATMP[slug], part, locator, DOCUMENTS["T"], article=int(article), paragraph=paragraph, items=_span(items) if items else None)]
    if m := DECISION_PART.fullmatch(part):
        out = []
        for rng in m.group(1).split(", "):
            first, last = _span(rng)
            if first > last:
                raise CitationError(f"decision range {rng} runs backwards in {literal!r}")
            text = f"Contract decision {rng}" if first == last else f"Contract decisions {rng}"
            out.append(Citation(ATMP[f"cite_contract_decision_{rng}"], text, rng, DOCUMENTS["Contract"], decisions=tuple(range(first, last + 1))))
        return out
    if (m := SECTION_PART.fullmatch(part)) and m.group(1) in CONTRACT_SECTIONS:
        name = m.group(1)
        return [Citation(ATMP["cite_contract_" + name.replace(" ", "_")], part, name, DOCUMENTS["Contract"])]
    if m := SEED_PART.fullmatch(part):
        return [Citation(ATMP[f"cite_seed_{m.group(1)}"], part, part)]
    if part in OTHER_SOURCES:
        return [Citation(ATMP[f"cite_{OTHER_SOURCES[part]}"], part, part)]
    if part in DOCUMENTS:  # a whole document (a regime individual's source)
        return [Citation(ATMP[f"cite_{part}"], part, "", DOCUMENTS[part])]
    if part.startswith(FOREIGN_PREFIXES):
        return [Citation(ATMP["cite_ext_" + re.sub(r"\W+", "_", part).strip("_")], part, part)]
    raise CitationError(
        f"cannot read {part!r} in source {literal!r}: expected 'N 12-34, 56', 'T 6(一)2', 'T 6 综合判定', "
        f"'Contract decision 1', 'Contract decisions 3-4', 'Contract <section>' ({', '.join(sorted(CONTRACT_SECTIONS))}), "
        f"'seeds/<file>.txt', a foreign instrument starting {list(FOREIGN_PREFIXES)} or one of {sorted(OTHER_SOURCES)}"
    )


def _numeral(numeral: str, literal: str) -> int:
    if numeral not in NUMERALS:
        raise CitationError(f"paragraph ({numeral}) is not a numeral 一…十 in {literal!r}")
    return NUMERALS[numeral]


def first_key(literal: str) -> tuple:
    """A sort key for the term's first citation: document, then line or article/paragraph/item.

    Terms are sorted by it inside a section, so a reader finds a rule by its article or line.
    """
    try:
        first = parse(literal)[0]
    except (CitationError, IndexError):
        return (9, literal)
    doc_rank = {DOCUMENTS["N"]: 0, DOCUMENTS["T"]: 1, DOCUMENTS["Contract"]: 2}.get(first.document, 3)  # type: ignore[arg-type]
    if first.lines:
        return (doc_rank, first.lines[0], first.lines[1])
    if first.article is not None:
        return (doc_rank, first.article, first.paragraph or 0, first.items[0] if first.items else 0, first.text)
    if first.decisions:
        return (doc_rank, first.decisions[0], first.text)
    return (doc_rank, 0, first.text)


def strip(graph: Graph) -> None:
    """Remove generated citation triples (so a rebuild starts from the literals alone)."""
    for s, _, o in list(graph.triples((None, CITATION, None))):
        graph.remove((s, CITATION, o))
    for pred in PREDICATES:
        graph.remove((None, pred, None))


def add_citations(graph: Graph) -> list[str]:
    """Add ``atmp:citation`` resources for every ``dcterms:source`` literal; return the parse errors."""
    errors = []
    for term, literal in sorted(graph.subject_objects(DCT.source)):
        if not isinstance(term, URIRef) or not isinstance(literal, Literal):
            continue
        try:
            cites = parse(str(literal))
        except CitationError as exc:
            errors.append(f"{term}: {exc}")
            continue
        for cite in cites:
            graph.add((term, CITATION, cite.iri))
            for t in cite.triples():
                graph.add(t)
    return errors


def declarations() -> list[tuple]:
    """The annotation properties the citation resources use (declared, so the file stays in OWL 2 DL)."""
    return [(p, RDF.type, OWL.AnnotationProperty) for p in (CITATION, *PREDICATES)]
