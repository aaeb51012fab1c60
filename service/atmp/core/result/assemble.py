"""Assemble the contract's result from class memberships, driven by the ontology's result annotations."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from rdflib import RDFS, URIRef

from atmp.core.engines.evaluator import ProductContext
from atmp.core.explain.walk import because, entry_maker, explanation_entry, render_reason
from atmp.core.rules.layout import SINGLE_FIELDS, skeleton
from atmp.core.rules.messages import specific_text
from atmp.core.rules.namespaces import local_name
from atmp.core.rules.ontology import OntologyModel, ResultClass
from atmp.core.rules.regimes import CROSSWALK_FIELD, block_owner, crosswalk_classes, field_shapes, regime_codes


class RuleConflict(RuntimeError):
    """The ontology put a product in two classes that fill the same single-valued field."""


def assemble(
    model: OntologyModel, card: dict, members: set[URIRef], ctx: ProductContext, explain: str = "full", regimes: frozenset[str] | None = None, pending: list | None = None
) -> dict:
    """The contract result; ``explain`` is ``full`` (the definition walk), ``brief`` (deciding reasons only) or ``none``.

    ``pending``: brief entries are left empty and listed there, for :func:`atmp.core.explain.walk.fill_pending`.
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
    # the EU/US/JP blocks and the crosswalk (atmp.core.rules.regimes), keyed by their resultField annotations
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


def _not_met(model: OntologyModel, ctx: ProductContext, rc: ResultClass, conclusion: str) -> dict:
    """An explanation of a flag that does not hold: the facts and rules that made its definition false."""
    return {
        "conclusion": conclusion,
        "rule": local_name(rc.iri),
        "label": rc.label,
        "text": {"en": f"Not met: {rc.definition.get('en', '')}", "zh": f"不满足：{rc.definition.get('zh', '')}"},
        "because": [render_reason(model, r) for r in ctx.why_not(rc.iri)],
        "source": rc.source,
    }


def assemble_blocks(
    model: OntologyModel, members: set[URIRef], ctx: ProductContext, selected: frozenset[str] | None = None, explain: str = "full", entry: Callable | None = None
) -> dict:
    """The EU/US/JP blocks and the crosswalk list for one product, from its memberships.

    ``entry`` is the result's explanation maker (:func:`atmp.core.explain.walk.entry_maker`), so the blocks'
    explanations follow the same level as N and T; ``none`` leaves their explanation lists empty.
    """
    entry = entry or (lambda rc, conclusion, holds=True: explanation_entry(model, ctx, rc, conclusion))
    selected = frozenset(regime_codes(model)) if selected is None else selected
    owner = block_owner(model)
    out: dict = {}
    for shape in field_shapes(model):
        if owner[shape.block].code not in selected:
            continue
        block = out.setdefault(shape.block, {"explanation": []})
        explanation = block["explanation"]
        fld = f"{shape.block}.{shape.key}"
        if shape.kind == "list":
            block[shape.key] = []
            for rc in shape.classes:
                if rc.iri in members:
                    block[shape.key].append({"code": rc.code, "severity": rc.severity or "warning", "message": rc.definition, "source": rc.source})
                    explanation.append(entry(rc, f"{fld}: {rc.code}"))
        elif shape.kind == "code":
            hits = [rc for rc in shape.classes if rc.iri in members]
            if len(hits) > 1:
                raise RuleConflict(f"{ctx.facts.card_id}: {fld} is both {hits[0].code!r} and {hits[1].code!r}")
            block[shape.key] = hits[0].code if hits else None
            if hits:
                explanation.append(entry(hits[0], f"{fld} = {hits[0].code}"))
        else:
            rc = shape.classes[0]
            block[shape.key] = rc.iri in members
            if rc.iri in members:
                explanation.append(entry(rc, f"{fld} = true"))
            elif explain == "full":
                explanation.append(_not_met(model, ctx, rc, f"{fld} = false"))
            else:
                explanation.append(entry(rc, f"{fld} = false", False))
    # blocks in a stable order: explanation last, the fields as the ontology's field order gives them
    for block in out.values():
        block["explanation"] = [e for e in block["explanation"] if e is not None]
    out = {b: {k: v for k, v in sorted(block.items(), key=lambda kv: kv[0] == "explanation")} for b, block in out.items()}
    crosswalk = []
    for c in crosswalk_classes(model):
        if c.rc.iri in members and set(c.regimes) <= selected:
            crosswalk.append({"code": c.rc.code, "regimes": list(c.regimes), "axis": c.axis, "summary": c.rc.label, "message": c.rc.definition, "source": c.rc.source})
    out[CROSSWALK_FIELD] = crosswalk
    return out
