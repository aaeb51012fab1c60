"""Full explanations: each conclusion with the whole walk of its class — every superclass and negated sibling —
down to the card facts, in zh and en (what a rule author reads; the committee's brief is :mod:`atmp.core.explain.brief`).

The reasons come from the evaluator's walk of the class's definitions over the product's facts
(:meth:`atmp.core.engines.evaluator.ProductContext.why`); this module only renders them with the labels,
definitions and sources the ontology carries.
"""

from __future__ import annotations

from rdflib import URIRef

from atmp.core.engines.evaluator import ProductContext
from atmp.core.explain import words
from atmp.core.explain.proof import hidden as hidden_classes
from atmp.core.rules.messages import specific_text
from atmp.core.rules.namespaces import local_name
from atmp.core.rules.ontology import OntologyModel, ResultClass

MAX_DEPTH = 6


def _value_label(model: OntologyModel, value) -> tuple[str, dict[str, str]]:
    if isinstance(value, bool):
        text = "true" if value else "false"
        return text, {"en": text, "zh": "是" if value else "否"}
    return model.code_of.get(value, local_name(value)), model.label(value)


def _field(model: OntologyModel, prop: URIRef) -> str:
    for p in model.properties:
        if p.iri == prop:
            return p.field
    return local_name(prop)


def render_reason(model: OntologyModel, reason: tuple) -> dict:
    """One reason as a line of the explanation; the same reason renders the same for every product."""
    rendered = model.memo.setdefault("rendered_reasons", {})
    if reason not in rendered:
        rendered[reason] = _render(model, reason)
    return dict(rendered[reason])


def _render(model: OntologyModel, reason: tuple) -> dict:
    kind = reason[0]
    if kind == "fact":
        field = _field(model, reason[1])
        code, label = _value_label(model, reason[2])
        item = {"field": field, "value": code if not isinstance(reason[2], bool) else reason[2]}
        en, zh = f"{field} = {label.get('en', code)}", f"{field} = {label.get('zh', code)}"
        if len(reason) > 3 and reason[3] is not None:
            cls_label = model.label(reason[3])
            en += f" ({cls_label.get('en')})"
            zh += f"（{cls_label.get('zh')}）"
        item.update({"en": en, "zh": zh})
        return item
    if kind == "absent":
        field = _field(model, reason[1])
        return {"field": field, "value": None, "en": f"{field}: not stated on the card", "zh": f"{field}：产品卡未说明"}
    cls = reason[1]
    label = model.label(cls)
    source = model.source(cls)
    if kind == "not":
        return {"rule": local_name(cls), "holds": False, "source": source, "en": f"does not meet: {label.get('en')}", "zh": f"不符合：{label.get('zh')}"}
    if kind == "asserted":
        return {"rule": local_name(cls), "holds": True, "source": source, "en": f"asserted on the product: {label.get('en')}", "zh": f"直接断言于产品：{label.get('zh')}"}
    return {"rule": local_name(cls), "holds": True, "source": source, "en": f"meets: {label.get('en')}", "zh": f"符合：{label.get('zh')}"}


def because(model: OntologyModel, ctx: ProductContext, cls: URIRef) -> list[dict]:
    """Facts and rules behind ``cls``, following named classes down to card facts (deduplicated)."""
    # An explicit stack in the same depth-first order as the recursive walk it replaces: a nested
    # recursive function referred to itself through its closure, one reference cycle per call, which
    # the batch (GC paused) kept until the end -- 10,000 cards peaked at ~490 MB instead of ~126 MB.
    out: list[dict] = []
    seen: set[tuple] = set()
    hidden = hidden_classes(model)
    stack: list[tuple[list, int, int]] = [(ctx.why(cls), 0, 0)]
    while stack:
        reasons, i, depth = stack.pop()
        if i >= len(reasons):
            continue
        stack.append((reasons, i + 1, depth))
        reason = reasons[i]
        key = reason[:3]
        if key in seen or (reason[0] == "class" and reason[1] in hidden):
            continue
        seen.add(key)
        out.append(render_reason(model, reason))
        if reason[0] == "class" and depth < MAX_DEPTH:
            stack.append((ctx.why(reason[1]), 0, depth + 1))
    return out


def _head(model: OntologyModel, rc: ResultClass, conclusion: str, value) -> dict:
    """The keys every entry shares at every level: the conclusion for programs, its headline for people."""
    shown = rc.label if value is not False else {lang: words.PHRASES["not"][lang].format(label=rc.label.get(lang, "")) for lang in words.LANGS}
    return {"conclusion": conclusion, "field": rc.field, "value": value, "headline": words.headline(model, rc.field, shown)}


def explanation_entry(model: OntologyModel, ctx: ProductContext, rc: ResultClass, conclusion: str, value=True) -> dict:
    """A conclusion and the whole walk of its class (what a rule author reads)."""
    reasons = because(model, ctx, rc.iri)
    return {**_head(model, rc, conclusion, value), "rule": local_name(rc.iri), "label": rc.label, "text": rc.definition, "because": reasons, "source": rc.source}


def not_met_entry(model: OntologyModel, ctx: ProductContext, rc: ResultClass, conclusion: str, value=False) -> dict:
    """A flag that does not hold: the facts and rules that made its definition false."""
    return {
        **_head(model, rc, conclusion, value),
        "rule": local_name(rc.iri),
        "label": rc.label,
        "text": {"en": f"Not met: {rc.definition.get('en', '')}", "zh": f"不满足：{rc.definition.get('zh', '')}"},
        "because": [render_reason(model, r) for r in ctx.why_not(rc.iri)],
        "source": rc.source,
    }


def not_atmp_entry(model: OntologyModel, ctx: ProductContext, atmp_rc: ResultClass, outside: URIRef | None, members: set[URIRef]) -> dict:
    """``atmp = false``, told by the class the applied exclusion belongs to (``atmp:NotAnATMP``).

    Its text is that class's definition naming the exclusion by its label (``atmp:reportsApplied``), and its
    reasons are the walk of its definition over the product's facts, like every other conclusion.
    """
    conclusion = f"{atmp_rc.field} = false"
    if outside is None:  # no exclusion holds: the ATMP definition's failing part
        return not_met_entry(model, ctx, atmp_rc, conclusion, False)
    return {
        **_head(model, atmp_rc, conclusion, False),
        "rule": local_name(outside),
        "label": model.label(outside),
        "text": specific_text(model, outside, model.definition(outside), members),
        "because": because(model, ctx, outside),
        "source": model.source(outside),
    }


LEVELS = ("full", "brief", "none")
