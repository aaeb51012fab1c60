"""Assemble the contract's result from class memberships, driven by the ontology's result annotations."""

from __future__ import annotations

from dataclasses import replace

from rdflib import RDFS, URIRef

from .evaluator import ProductContext
from .explain import because, entry_maker
from .layout import SINGLE_FIELDS, skeleton
from .messages import specific_text
from .namespaces import local_name
from .ontology import OntologyModel, ResultClass
from .regimes import assemble_blocks


class RuleConflict(RuntimeError):
    """The ontology put a product in two classes that fill the same single-valued field."""


def assemble(
    model: OntologyModel, card: dict, members: set[URIRef], ctx: ProductContext, explain: str = "full", regimes: frozenset[str] | None = None, pending: list | None = None
) -> dict:
    """The contract result; ``explain`` is ``full`` (the definition walk), ``brief`` (deciding reasons only) or ``none``.

    ``pending``: brief entries are left empty and listed there, for :func:`atmp.core.explain.fill_pending`.
    """
    explanation_entry = entry_maker(model, ctx, card, explain, pending)
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
            explanation.append(explanation_entry(rc, "atmp = true"))
        elif rc.field in single:
            if single[rc.field] is not None:
                raise RuleConflict(f"{card['id']}: {rc.field} is both {single[rc.field]!r} and {rc.code!r}")
            single[rc.field] = rc.code
            explanation.append(explanation_entry(rc, f"{rc.field} = {rc.code}"))
        elif rc.field == "tianjin.criteria":
            criteria.append(int(rc.number))  # type: ignore[arg-type]
            explanation.append(explanation_entry(rc, f"tianjin.criteria includes {rc.number}"))
        elif rc.field == "borderline":
            specific = replace(rc, definition=specific_text(model, rc.iri, rc.definition, members))
            borderline.append({"code": rc.code, "severity": rc.severity or "warning", "message": specific.definition, "source": rc.source})
            explanation.append(explanation_entry(specific, f"borderline: {rc.code}"))
    if not atmp and atmp_rc is not None and explain == "brief":
        explanation.insert(0, explanation_entry(atmp_rc, "atmp = false", False))
    elif not atmp and atmp_rc is not None and explain == "full":
        explanation.insert(0, not_atmp_entry(model, ctx, atmp_rc, members))
    explanation = [e for e in explanation if e is not None]
    result = skeleton(card["id"], single, atmp, criteria, borderline, explanation)
    # the EU/US/JP blocks and the crosswalk (atmp.core.regimes), keyed by their resultField annotations
    result.update(assemble_blocks(model, members, ctx, regimes, explain, explanation_entry))
    result["rule_version"] = {"iri": model.version_iri, "info": model.version_info}  # the rules that produced this answer
    return result


def not_atmp_entry(model: OntologyModel, ctx: ProductContext, atmp_rc: ResultClass, members: set[URIRef]) -> dict:
    """The ``atmp = false`` conclusion, told by the class the applied exclusion belongs to (``atmp:NotAnATMP``).

    Its text is that class's definition naming the exclusion by its label (``atmp:reportsApplied``), and its
    reasons are the walk of its definition over the product's facts, like every other conclusion.
    """
    exclusions = [rc.iri for rc in model.result_classes if rc.field == "exclusion" and rc.iri in members]
    outside = next((s for e in exclusions for s in model.graph.objects(e, RDFS.subClassOf) if isinstance(s, URIRef)), None)
    if outside is None:  # no exclusion class is a member: nothing to name (the definitions make this unreachable)
        rc = atmp_rc
        return {"conclusion": f"{rc.field} = false", "rule": local_name(rc.iri), "label": rc.label, "text": rc.definition, "because": [], "source": rc.source}
    return {
        "conclusion": f"{atmp_rc.field} = false",
        "rule": local_name(outside),
        "label": model.label(outside),
        "text": specific_text(model, outside, model.definition(outside), members),
        "because": because(model, ctx, outside),
        "source": model.source(outside),
    }
