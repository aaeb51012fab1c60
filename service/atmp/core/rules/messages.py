"""Messages that name what applied to this product, composed from the ontology's labels.

A borderline situation (or ``atmp:NotAnATMP``) can be met in several ways: an exclusion out of seven, a
low-risk criterion out of three beside a high or a medium tier, one GTMP description out of three. Its
``skos:definition`` says what they share; ``atmp:reportsApplied`` lists the alternatives, and the message
appends the labels of those the product is a member of, with the per-language ``atmp:messageTemplate`` and
``atmp:listSeparator`` carried by that annotation property. Nothing here knows a code or a class: an
editor adds an alternative in the ontology and the message names it.
"""

from __future__ import annotations

from collections.abc import Iterable

from rdflib import URIRef

from atmp.core.rules.namespaces import ATMP
from atmp.core.rules.ontology import OntologyModel, bilingual


def alternatives(model: OntologyModel, cls: URIRef) -> list[URIRef]:
    """The classes ``cls`` names when they apply, in a stable order (by IRI; the message sorts by label)."""
    memo = model.memo.setdefault("reported_alternatives", {})
    if cls not in memo:
        memo[cls] = sorted(o for o in model.graph.objects(cls, ATMP.reportsApplied) if isinstance(o, URIRef))
    return memo[cls]


def reported_classes(model: OntologyModel) -> list[URIRef]:
    """Every class some message may name: the engines decide these memberships beside the result classes."""
    if "reported_classes" not in model.memo:
        model.memo["reported_classes"] = sorted({o for o in model.graph.objects(None, ATMP.reportsApplied) if isinstance(o, URIRef)})
    return model.memo["reported_classes"]


def _format(model: OntologyModel) -> tuple[dict[str, str], dict[str, str]]:
    if "message_format" not in model.memo:
        model.memo["message_format"] = (bilingual(model.graph, ATMP.reportsApplied, ATMP.messageTemplate), bilingual(model.graph, ATMP.reportsApplied, ATMP.listSeparator))
    return model.memo["message_format"]


def specific_text(model: OntologyModel, cls: URIRef, text: dict[str, str], members: Iterable[URIRef]) -> dict[str, str]:
    """``text`` (the class's definition) completed with the labels of its alternatives that hold for the product.

    Without alternatives, or when none of them holds, the definition is returned unchanged. The labels follow
    the order of ``atmp:reportsApplied`` values by IRI, so the same memberships always give the same text.
    """
    held = set(members)
    applied = [c for c in alternatives(model, cls) if c in held]
    if not applied:
        return dict(text)
    templates, separators = _format(model)
    out = dict(text)
    for lang, template in templates.items():
        if lang not in text:
            continue
        labels = [model.label(c).get(lang, model.label(c).get("en", "")) for c in applied]
        out[lang] = template.replace("{text}", text[lang]).replace("{applied}", separators.get(lang, "; ").join(labels))
    return out
