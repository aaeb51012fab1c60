"""Explanations: each conclusion with the card facts and the ontology axioms behind it, in zh and en.

The reasons come from walking the deciding class's definition over the product's facts
(:class:`atmp.expressions.ProductContext`); this module only renders them with the labels,
definitions and sources the ontology carries.
"""

from __future__ import annotations

from rdflib import URIRef

from atmp.core.engines.evaluator import ProductContext
from atmp.core.rules.namespaces import ATMP, local_name
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


def hidden_classes(model: OntologyModel) -> frozenset:
    """Guard classes every product meets (``atmp:explanationHidden true``): a reason that says nothing about the card."""
    if "explanation_hidden" not in model.memo:
        model.memo["explanation_hidden"] = frozenset(s for s, v in model.graph.subject_objects(ATMP.explanationHidden) if v.toPython() is True)
    return model.memo["explanation_hidden"]


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


def explanation_entry(model: OntologyModel, ctx: ProductContext, rc: ResultClass, conclusion: str) -> dict:
    return {
        "conclusion": conclusion,
        "rule": local_name(rc.iri),
        "label": rc.label,
        "text": rc.definition,
        "because": because(model, ctx, rc.iri),
        "source": rc.source,
    }


LEVELS = ("full", "brief", "none")


def entry_maker(model: OntologyModel, ctx: ProductContext, card: dict, level: str, pending: list | None = None):
    """``(result class, conclusion[, holds]) -> entry or None`` for one explanation level.

    ``none`` returns ``None`` at once, so no explanation work is done; ``brief`` runs only the
    counterfactual search of :mod:`atmp.core.explain.justify`; ``full`` walks the definitions as before.
    With ``pending`` (a list), a brief entry is an empty dict, filled in place by
    :func:`fill_pending` once the searches of many products have been run together.
    """
    if level not in LEVELS:
        raise ValueError(f"unknown explanation level {level!r}; expected one of {LEVELS}")
    if level == "none":
        return lambda rc, conclusion, holds=True: None
    if level == "brief":
        from atmp.core.explain.justify import brief_entry

        if pending is not None:

            def later(rc, conclusion, holds=True):
                entry: dict = {}
                pending.append((entry, ctx, card, rc, conclusion, holds))
                return entry

            return later
        return lambda rc, conclusion, holds=True: brief_entry(model, ctx.ev, ctx, rc, conclusion, card, holds)
    return lambda rc, conclusion, holds=True: explanation_entry(model, ctx, rc, conclusion)


def fill_pending(model: OntologyModel, pending: list) -> None:
    """Fill the brief entries :func:`entry_maker` left empty: all their searches in one batch, then each entry in order."""
    from atmp.core.explain.justify import brief_entry, prefetch

    if not pending:
        return
    ev = pending[0][1].ev
    prefetch(model, ev, [(ctx, rc.iri, holds) for _, ctx, _, rc, _, holds in pending])
    for entry, ctx, card, rc, conclusion, holds in pending:
        entry.update(brief_entry(model, ev, ctx, rc, conclusion, card, holds))
    pending.clear()
