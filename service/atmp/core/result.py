"""Assemble the contract's result from class memberships, driven by the ontology's result annotations."""

from __future__ import annotations

from rdflib import URIRef

from .evaluator import ProductContext
from .explain import explanation_entry
from .ontology import OntologyModel
from .regimes import assemble_blocks

SINGLE_FIELDS = ("exclusion", "nmpa.class", "nmpa.subclass", "tianjin.category", "tianjin.subcategory", "tianjin.risk_tier")


class RuleConflict(RuntimeError):
    """The ontology put a product in two classes that fill the same single-valued field."""


def assemble(model: OntologyModel, card: dict, members: set[URIRef], ctx: ProductContext, regimes: frozenset[str] | None = None) -> dict:
    single: dict[str, str | None] = dict.fromkeys(SINGLE_FIELDS)
    criteria: list[int] = []
    borderline: list[dict] = []
    explanation: list[dict] = []
    atmp = False
    atmp_rc = None
    for rc in model.result_classes:
        if rc.iri not in members:
            if rc.field == "atmp":
                atmp_rc = rc
            continue
        if rc.field == "atmp":
            atmp = True
            explanation.append(explanation_entry(model, ctx, rc, "atmp = true"))
        elif rc.field in single:
            if single[rc.field] is not None:
                raise RuleConflict(f"{card['id']}: {rc.field} is both {single[rc.field]!r} and {rc.code!r}")
            single[rc.field] = rc.code
            explanation.append(explanation_entry(model, ctx, rc, f"{rc.field} = {rc.code}"))
        elif rc.field == "tianjin.criteria":
            criteria.append(int(rc.number))  # type: ignore[arg-type]
            explanation.append(explanation_entry(model, ctx, rc, f"tianjin.criteria includes {rc.number}"))
        elif rc.field == "borderline":
            borderline.append({"code": rc.code, "severity": rc.severity or "warning", "message": rc.definition, "source": rc.source})
            explanation.append(explanation_entry(model, ctx, rc, f"borderline: {rc.code}"))
    if not atmp and atmp_rc is not None:
        explanation.insert(0, {
            "conclusion": "atmp = false",
            "rule": "AdvancedTherapyMedicinalProduct",
            "label": atmp_rc.label,
            "text": {"en": f"Not an ATMP because an exclusion applies: {single['exclusion']}.",
                     "zh": f"适用排除情形，故不属于先进治疗药品：{single['exclusion']}。"},
            "because": [{"rule": "NotAnATMP", "holds": True, "en": f"exclusion {single['exclusion']}", "zh": f"排除情形 {single['exclusion']}", "source": atmp_rc.source}],
            "source": atmp_rc.source,
        })
    return {
        "id": card["id"],
        "atmp": atmp,
        "exclusion": single["exclusion"],
        "nmpa": {"class": single["nmpa.class"], "subclass": single["nmpa.subclass"]},
        "tianjin": {
            "category": single["tianjin.category"],
            "subcategory": single["tianjin.subcategory"],
            "risk_tier": single["tianjin.risk_tier"],
            "criteria": sorted(criteria),
        },
        "borderline": borderline,
        "violations": [],
        "conforms": True,
        "explanation": explanation,
        # the EU/US/JP blocks and the crosswalk (atmp.core.regimes), keyed by their resultField annotations
        **assemble_blocks(model, members, ctx, regimes),
    }
