"""Citations in words: a ``dcterms:source`` literal as its pieces, each named in the reader's language and tied to
its document or contract decision, read from the ontology's ``atmp:citation`` resources.

A result quotes its sources verbatim (``"N 263-271; Contract decision 5"``): that is for programs and for the
expert who knows the documents. A page or a report says what each piece *is*: the piece's words in the page's
language (``atmp:citationLabel``: ``Contract decision 5`` / ``契约决定5``, ``T 6 overall assessment`` / ``T 6 综合
判定``), the title of the document it cites (the ``atmp:SourceDocument``'s ``rdfs:label``), and for a contract
decision its label and text (``atmp:ContractDecision``: ``rdfs:label`` and ``skos:definition`` in zh and en). The
literal is split by the one citation grammar (:mod:`atmp.core.rules.citations`); everything said about a piece
is read from the ontology, so a new document, decision or label needs no code here.
"""

from __future__ import annotations

import re
from typing import Any

from rdflib import OWL, RDF, URIRef

from atmp.core.rules.citations import SEPARATOR, CitationError, parse
from atmp.core.rules.namespaces import ATMP, DCT, local_name
from atmp.core.rules.ontology import OntologyModel, bilingual

LANGS = ("en", "zh")
LIST_SEPARATOR = {"en": ", ", "zh": "、"}  # between two line ranges of one document: "N 263-271, 313-315"


def _memo(model: OntologyModel, name: str) -> dict:
    return model.memo.setdefault(f"sources_{name}", {})


def documents(model: OntologyModel) -> dict[str, dict[str, Any]]:
    """Every ``atmp:SourceDocument`` by its citation key, in reading order: the documents the ontology is about (its
    header's ``dcterms:references``: N, T) first, then the contract, then the others by key."""
    memo = _memo(model, "documents")
    if "all" in memo:
        return memo["all"]
    g = model.graph
    about = [d for o in g.subjects(RDF.type, OWL.Ontology) for d in g.objects(o, DCT.references)]
    found = []
    for doc in set(g.subjects(RDF.type, ATMP.SourceDocument)):
        key = g.value(doc, ATMP.citationKey)
        if key is None or not isinstance(doc, URIRef):
            continue
        rank = (0, about.index(doc)) if doc in about else (1 if any(g.subjects(DCT.isPartOf, doc)) else 2, 0)
        found.append((rank, str(key), doc))
    out = {}
    for _, key, doc in sorted(found):
        out[key] = {
            "key": key,
            "iri": str(doc),
            "anchor": "doc-" + local_name(doc),
            "label": model.label(doc),
            "definition": model.definition(doc),
            "url": next((str(s) for s in g.objects(doc, DCT.source) if str(s).startswith(("http://", "https://"))), None),
        }
    memo["all"] = out
    return out


def decisions(model: OntologyModel) -> list[dict[str, Any]]:
    """Every contract decision (``atmp:ContractDecision``) by number: label and text in both languages."""
    memo = _memo(model, "decisions")
    if "all" in memo:
        return memo["all"]
    g = model.graph
    out = []
    for d in set(g.subjects(RDF.type, ATMP.ContractDecision)):
        number = g.value(d, ATMP.decisionNumber)
        out.append(
            {
                "number": int(number) if number is not None else 0,
                "name": local_name(d),
                "anchor": local_name(d),
                "iri": str(d),
                "label": model.label(d),
                "text": model.definition(d),
            }
        )
    out.sort(key=lambda x: x["number"])
    memo["all"] = out
    return out


def _document_key(model: OntologyModel, iri: URIRef | None) -> str | None:
    if iri is None:
        return None
    key = model.graph.value(iri, ATMP.citationKey)
    return str(key) if key is not None else None


def pieces(model: OntologyModel, literal: str) -> list[dict[str, Any]]:
    """The cited pieces of ``literal``, in the order written: each with its words per language (``label``), the
    citation resource (``iri``, ``anchor``), its document's key and the decisions it names (their ``name``).

    A literal the grammar cannot read (an edited copy) is one piece that reads as written.
    """
    memo = _memo(model, "pieces")
    found = memo.get(literal)
    if found is not None:
        return found
    g = model.graph
    try:
        cites = parse(literal)
    except CitationError:
        cites = []
    out = []
    for c in cites:
        label = bilingual(g, c.iri, ATMP.citationLabel) or c.label
        doc = g.value(c.iri, ATMP.citedDocument) or c.document
        out.append(
            {
                "text": c.text,
                "iri": str(c.iri),
                "anchor": local_name(c.iri),
                "label": {lang: label.get(lang, c.text) for lang in LANGS},
                "document": _document_key(model, doc),
                "lines": bool(c.lines),
                "decisions": [local_name(d) for d in sorted(g.objects(c.iri, ATMP.decision))] or [f"decision_{n}" for n in c.decisions],
                # passage order inside its document: lines, then article/paragraph/item, then decision number
                "order": (c.lines or (0, 0), c.article or 0, c.paragraph or 0, c.items or (0, 0), c.decisions or (0,), c.text),
            }
        )
    if not out and literal:
        out = [
            {
                "text": literal,
                "iri": None,
                "anchor": None,
                "label": dict.fromkeys(LANGS, literal),
                "document": None,
                "lines": False,
                "decisions": [],
                "order": ((0, 0), 0, 0, (0, 0), (0,), literal),
            }
        ]
    memo[literal] = out
    return out


def segments(model: OntologyModel, literal: str | None, lang: str, named: bool = False) -> list[dict[str, Any]]:
    """``literal`` as it reads in ``lang``, piece by piece: ``{"sep", "text", "anchor", "title", "decisions"}``.

    Line ranges of one document run together (``N 263-271, 313-315``; ``N 263-271、313-315``); pieces are
    separated as the language writes them. ``named``: a decision piece reads as the decisions' labels
    (``Contract decision 5: Exclusions, in this order``), as a page does where the text is one click away.
    ``title`` is what a reader sees on hover: the cited document's title, or the decisions' labels.
    """
    if not literal:
        return []
    docs = documents(model)
    by_name = {d["name"]: d for d in decisions(model)}
    out: list[dict[str, Any]] = []
    previous = None
    for p in pieces(model, literal):
        named_decisions = [by_name[n] for n in p["decisions"] if n in by_name]
        if previous is not None and p["lines"] and previous["lines"] and p["document"] == previous["document"]:
            sep, text = LIST_SEPARATOR[lang], p["text"].split(" ", 1)[-1]
        else:
            sep = SEPARATOR[lang] if out else ""
            text = SEPARATOR[lang].join(d["label"].get(lang, "") for d in named_decisions) if named and named_decisions else p["label"][lang]
        if named_decisions:
            title = SEPARATOR[lang].join(d["label"].get(lang, "") for d in named_decisions)
        else:
            title = docs[p["document"]]["label"].get(lang, "") if p["document"] in docs else ""
        out.append({"sep": sep, "text": text, "anchor": p["anchor"], "title": title, "decisions": [d["anchor"] for d in named_decisions], "document": p["document"]})
        previous = p
    return out


def source_text(model: OntologyModel, literal: str | None, lang: str, named: bool = False) -> str:
    """``literal`` as it reads in ``lang`` (see :func:`segments`)."""
    return "".join(s["sep"] + s["text"] for s in segments(model, literal, lang, named))


def cited_decisions(model: OntologyModel, literals) -> list[dict[str, Any]]:
    """The contract decisions the given source literals cite, by number (for a report's appendix)."""
    names = {d for lit in literals if lit for p in pieces(model, lit) for d in p["decisions"]}
    return [d for d in decisions(model) if d["name"] in names]


def localise(model: OntologyModel, text: str, lang: str) -> str:
    """``text`` (a sentence that quotes source literals verbatim, as explanations do) with every quoted literal
    written as it reads in ``lang``. Only whole literals the ontology holds are replaced, longest first."""
    if not text:
        return text
    for literal in _literals_by_length(model):
        if literal in text:
            worded = source_text(model, literal, lang)
            if worded != literal:
                text = text.replace(literal, worded)
    return text


_T_CITATION = re.compile(r"T \d+(?:\([一二三四五六七八九十]+\)(?:\d+(?:-\d+)?)?)?(?![\w(])")


def citations_in_words(model: OntologyModel, text: str, lang: str) -> str:
    """``text`` (the contract's own words, which cite T as ``T 8(一)``) with each T citation as ``lang`` writes it.

    The decisions keep the contract's wording in the ontology; a page or report in English cites T in English.
    """
    if not text or lang == "zh":
        return text
    return _T_CITATION.sub(lambda m: source_text(model, m.group(0), lang) or m.group(0), text)


def _literals_by_length(model: OntologyModel) -> list[str]:
    memo = _memo(model, "literals")
    if "all" not in memo:
        lits = {str(o) for o in model.graph.objects(None, DCT.source)}
        # only literals that read differently in some language need replacing; short ones ("N", "T") never
        memo["all"] = sorted((x for x in lits if any(source_text(model, x, lg) != x for lg in LANGS)), key=len, reverse=True)
    return memo["all"]


def all_literals(model: OntologyModel, *graphs) -> set[str]:
    """Every ``dcterms:source`` literal of the ontology and the given graphs (the shapes)."""
    out = {str(o) for o in model.graph.objects(None, DCT.source)}
    for g in graphs:
        out |= {str(o) for o in g.objects(None, DCT.source)}
    return out


__all__ = ["LANGS", "all_literals", "citations_in_words", "cited_decisions", "decisions", "documents", "localise", "pieces", "segments", "source_text"]
