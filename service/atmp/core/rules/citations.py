"""The citation grammar: a ``dcterms:source`` literal split into its cited pieces, each with its words in zh and en.

The literal (``"N 263-271, 313-315; T 6(一)2; Contract decision 1"``) stays the one thing an editor types,
because explanations quote it verbatim. :func:`parse` splits it into :class:`Citation` pieces (a line range of
N, an article/item of T, a contract decision, a section of the contract, a foreign instrument, a non-document
source). The build (:mod:`atmp.authoring.citations`) writes each piece into the ontology as an ``atmp:citation``
resource; the pages and the report read those resources back to name each piece in the reader's language and
link it to its document or decision. The grammar lives here, beside the rules it reads, so that both the build
and the views split a literal the same way.

The words of the grammar (``Contract decision`` / ``契约决定``, ``overall assessment`` / ``综合判定``, the
contract's sections) are written here once, per language: they are how a citation *reads*, not what it cites.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rdflib import URIRef

from atmp.core.rules.namespaces import ATMP

NUMERALS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}

#: the document individuals a citation key points to
DOCUMENTS = {"N": ATMP.document_N, "T": ATMP.document_T, "Contract": ATMP.document_contract}

#: sources that are not a document article: project conventions and background knowledge, with their words
OTHER_SOURCES = {
    "Project convention": "project_convention",
    "Developmental biology (descriptive)": "developmental_biology",
}
OTHER_WORDS = {
    "Project convention": {"en": "Project convention", "zh": "项目约定"},
    "Developmental biology (descriptive)": {"en": "Developmental biology (descriptive)", "zh": "发育生物学（描述性）"},
}

#: the other regimes' legal texts and agency documents (ontology/src/{eu,us,jp,crosswalk}.ttl): cited verbatim,
#: by the prefix that names the instrument; the locator after it is kept as written (no line/article model yet)
FOREIGN_PREFIXES = ("http://", "https://", "Reg ", "Dir ", "21 CFR ", "PHS Act ", "FD&C Act ", "ASRM", "PMD Act ", "MHLW ", "EMA/", "EMEA/", "FDA ", "COM(", "Issue ")

#: sections of the product-card contract that are cited by name, and how each reads
CONTRACT_SECTIONS = {
    "priority rules": {"en": "Contract, priority rules", "zh": "契约·优先规则"},
    "card fields": {"en": "Contract, card fields", "zh": "契约·产品卡字段"},
    "process.manipulations": {"en": "Contract, the manipulations field", "zh": "契约·体外操作字段"},
}

#: how a decision citation reads (``{n}`` the number or range)
DECISION_WORDS = {"one": {"en": "Contract decision {n}", "zh": "契约决定{n}"}, "many": {"en": "Contract decisions {n}", "zh": "契约决定{n}"}}
#: how a T citation reads: article, paragraph (一 … 十 in Chinese, arabic in English), item(s), the overall assessment
T_WORDS = {
    "en": {"paragraph": "({n})", "item": " item {n}", "items": " items {n}", "overall": " overall assessment"},
    "zh": {"paragraph": "({numeral})", "item": "{n}", "items": "{n}", "overall": " 综合判定"},
}

RANGE = r"\d+(?:-\d+)?"
N_PART = re.compile(rf"N ({RANGE}(?:, {RANGE})*)")
T_PART = re.compile(rf"T (\d+)(?:\(([{''.join(NUMERALS)}]+)\))?({RANGE})?( 综合判定)?")
DECISION_PART = re.compile(rf"Contract decisions? ({RANGE}(?:, {RANGE})*)")
SECTION_PART = re.compile(r"Contract ([a-z][a-z. ]*[a-z])")
SEED_PART = re.compile(r"seeds/([0-9a-f_]+)\.txt")
SEPARATOR = {"en": "; ", "zh": "；"}


class CitationError(ValueError):
    """A ``dcterms:source`` literal that does not follow the citation grammar."""


@dataclass(frozen=True)
class Citation:
    """One cited piece: its IRI, the text as it reads alone, its structured fields and its words per language."""

    iri: URIRef
    text: str
    locator: str
    document: URIRef | None = None
    lines: tuple[int, int] | None = None
    article: int | None = None
    paragraph: int | None = None
    items: tuple[int, int] | None = None
    decisions: tuple[int, ...] = field(default=())
    words: tuple[tuple[str, str], ...] = field(default=())  # (lang, text): how the piece reads in each language

    @property
    def label(self) -> dict[str, str]:
        """The piece in words, per language (the literal's own text where a language has no words of its own)."""
        return dict(self.words) or {"en": self.text, "zh": self.text}


def _span(text: str) -> tuple[int, int]:
    first, _, last = text.partition("-")
    return int(first), int(last or first)


def _same(text: str) -> tuple[tuple[str, str], ...]:
    return (("en", text), ("zh", text))


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


def _t_words(article: str, numeral: str | None, paragraph: int | None, items: str | None, overall: bool) -> tuple[tuple[str, str], ...]:
    out = []
    for lang, w in T_WORDS.items():
        text = f"T {article}"
        if paragraph is not None:
            text += w["paragraph"].format(n=paragraph, numeral=numeral)
        if items:
            text += w["items" if "-" in items else "item"].format(n=items)
        if overall:
            text += w["overall"]
        out.append((lang, text))
    return tuple(out)


def _ranges(text: str, what: str, literal: str) -> list[tuple[str, int, int]]:
    """``"35-50, 263"`` as (range, first, last) each; a range that runs backwards is refused, naming the literal."""
    out = []
    for rng in text.split(", "):
        first, last = _span(rng)
        if first > last:
            raise CitationError(f"{what} {rng} runs backwards in {literal!r}")
        out.append((rng, first, last))
    return out


def _parse_part(part: str, literal: str) -> list[Citation]:
    if m := N_PART.fullmatch(part):
        return [
            Citation(ATMP[f"cite_N_{rng}"], f"N {rng}", rng, DOCUMENTS["N"], lines=(first, last), words=_same(f"N {rng}"))
            for rng, first, last in _ranges(m.group(1), "line range", literal)
        ]
    if m := T_PART.fullmatch(part):
        article, numeral, items, overall = m.groups()
        paragraph = _numeral(numeral, literal) if numeral else None
        slug = "_".join([f"cite_T_{article}"] + ([f"p{paragraph}"] if paragraph else []) + ([f"i{items}"] if items else []) + (["overall"] if overall else []))
        locator = part[2:]
        words = _t_words(article, numeral, paragraph, items, bool(overall))
        return [Citation(ATMP[slug], part, locator, DOCUMENTS["T"], article=int(article), paragraph=paragraph, items=_span(items) if items else None, words=words)]
    if m := DECISION_PART.fullmatch(part):
        out = []
        for rng, first, last in _ranges(m.group(1), "decision range", literal):
            text = f"Contract decision {rng}" if first == last else f"Contract decisions {rng}"
            words = tuple((lang, w.format(n=rng)) for lang, w in DECISION_WORDS["one" if first == last else "many"].items())
            out.append(Citation(ATMP[f"cite_contract_decision_{rng}"], text, rng, DOCUMENTS["Contract"], decisions=tuple(range(first, last + 1)), words=words))
        return out
    if (m := SECTION_PART.fullmatch(part)) and m.group(1) in CONTRACT_SECTIONS:
        name = m.group(1)
        return [Citation(ATMP["cite_contract_" + name.replace(" ", "_")], part, name, DOCUMENTS["Contract"], words=tuple(CONTRACT_SECTIONS[name].items()))]
    if m := SEED_PART.fullmatch(part):
        return [Citation(ATMP[f"cite_seed_{m.group(1)}"], part, part, words=_same(part))]
    if part in OTHER_SOURCES:
        return [Citation(ATMP[f"cite_{OTHER_SOURCES[part]}"], part, part, words=tuple(OTHER_WORDS[part].items()))]
    if part in DOCUMENTS:  # a whole document (a regime individual's source)
        return [Citation(ATMP[f"cite_{part}"], part, "", DOCUMENTS[part], words=_same(part))]
    if part.startswith(FOREIGN_PREFIXES):
        return [Citation(ATMP["cite_ext_" + re.sub(r"\W+", "_", part).strip("_")], part, part, words=_same(part))]
    raise CitationError(
        f"cannot read {part!r} in source {literal!r}: expected 'N 12-34, 56', 'T 6(一)2', 'T 6 综合判定', "
        f"'Contract decision 1', 'Contract decisions 3-4', 'Contract <section>' ({', '.join(sorted(CONTRACT_SECTIONS))}), "
        f"'seeds/<file>.txt', a foreign instrument starting {list(FOREIGN_PREFIXES)} or one of {sorted(OTHER_SOURCES)}"
    )


def _numeral(numeral: str, literal: str) -> int:
    if numeral not in NUMERALS:
        raise CitationError(f"paragraph ({numeral}) is not a numeral 一…十 in {literal!r}")
    return NUMERALS[numeral]


_QUALIFIER = re.compile(r" \([^)]*\)(?= )")


def instrument_key(text: str, keys) -> str | None:
    """The citation key (of an ``atmp:SourceDocument``) that names the instrument ``text`` cites, if any.

    The longest key the text starts with, followed by the end, a space, ``.`` or ``/`` (``21 CFR 1271.10(a)`` is
    in ``21 CFR 1271``); a parenthesised qualifier after the first word is read past (``Reg (EC) 1394/2007``).
    """
    candidates = (text, _QUALIFIER.sub("", text, count=1))
    best = None
    for key in keys:
        for cand in candidates:
            if cand == key or (cand.startswith(key) and cand[len(key)] in " ./"):
                if best is None or len(key) > len(best):
                    best = key
    return best


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
