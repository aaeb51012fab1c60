"""Brief explanation entries: one conclusion, its proof as data, and the sentence made from it.

An entry keeps the program's keys beside the words: ``conclusion`` (``nmpa.class = CTMP``), ``field`` and
``value`` for programs; ``headline`` (``NMPA class (N): cell therapy medicinal product``) and ``text`` (one
sentence per language) for people; ``because`` the reasons as data, each with its ``kind``:

* ``fact`` / ``default`` — a card fact as the rule reads it (``field``, ``test``, ``value``; ``rule`` and
  ``source`` when a named condition inside the deciding definition reads it), ``default`` when the card does
  not state the field and the ontology's reading of an absent value (or the closure) decides;
* ``any`` — branches of which any one decides (``of``: a list per branch of its own reasons);
* ``rule`` — a conclusion with its own entry that this one rests on (``rule``, ``holds``, ``source``), and
  the deciding rule itself (``role: decides``);
* ``decision`` — an interpretation decision of the contract the deciding rule cites, named by its label;
* ``priority`` — "also fits X, but N 263-271 ranks Y above it" (read from the borderline classes that pair a
  class with the descriptions it outranks).

Nothing here names a rule: classes, properties, labels, verbs and sources come from the ontology.
"""

from __future__ import annotations

from rdflib import URIRef

from atmp.core.engines.evaluator import ProductContext
from atmp.core.engines.expressions import And, Named, Or
from atmp.core.explain.proof import Prover, Reason
from atmp.core.rules.namespaces import ATMP, local_name
from atmp.core.rules.ontology import CardProperty, OntologyModel, ResultClass


def _props(model: OntologyModel, ctx: ProductContext) -> dict[URIRef, CardProperty]:
    found = model.memo.get("brief_props")
    if found is None:
        found = model.memo["brief_props"] = {ctx.ev.canon.get(p.iri, p.iri): p for p in model.properties}
    return found


def priorities(model: OntologyModel, ctx: ProductContext) -> dict[URIRef, list[tuple[URIRef, list[URIRef]]]]:
    """Concluded class -> [(borderline class naming it as a conjunct, the alternatives it names)].

    A priority rule is a borderline class defined as "the class it files the product in, and a description the
    product also fits" (e.g. ex vivo modified CTMP and a GTMP description); read from the definitions, so a new
    priority rule in the ontology is reported without code.
    """
    found = model.memo.get("brief_priorities")
    if found is not None:
        return found
    ev = ctx.ev
    found = {}
    concluding = {ev.canon.get(r.iri, r.iri) for r in model.result_classes if r.severity is None}
    for rc in model.result_classes:
        if rc.severity is None:
            continue
        for e in ev.defs.equivalents.get(ev.canon.get(rc.iri, rc.iri), ()):
            if not isinstance(e, And):
                continue
            named = [i.iri for i in e.items if isinstance(i, Named)]
            alts = [j.iri for i in e.items if isinstance(i, Or) for j in i.items if isinstance(j, Named)]
            for n in named:
                if alts and n in concluding:
                    found.setdefault(n, []).append((ev.canon.get(rc.iri, rc.iri), alts))
    model.memo["brief_priorities"] = found
    return found


def decisions(model: OntologyModel, cls: URIRef) -> list[dict]:
    """The contract's interpretation decisions a rule cites (``atmp:citation`` → ``atmp:decision``), by label."""
    memo = model.memo.setdefault("brief_decisions", {})
    found = memo.get(cls)
    if found is None:
        found = []
        for citation in sorted(model.graph.objects(cls, ATMP.citation), key=str):
            for decision in sorted(model.graph.objects(citation, ATMP.decision), key=str):
                item = {"kind": "decision", "decision": local_name(decision)}
                if item not in found:
                    found.append(item)
        memo[cls] = found
    return found


def _stated(card: dict, prop: CardProperty) -> bool:
    return card.get(prop.section, {}).get(prop.key) is not None


def _value(model: OntologyModel, prop: CardProperty, values: tuple):
    """The card's value(s) as codes: a list for a list field, one code or flag otherwise (None when there is none)."""
    codes = [v if isinstance(v, bool) else model.code_of.get(v, local_name(v)) for v in values]
    if prop.is_object and not prop.functional:
        return codes
    return codes[0] if codes else None


def _fact(model: OntologyModel, props: dict, card: dict, reason: Reason, decider: URIRef) -> dict:
    """A fact reason as data: the field, how the rule reads it (``test``, left out when it is the plain ``has``/``is``),
    the card's value(s), the condition that reads it when that is not the deciding rule, and what it is measured
    against (``as``) when the fact is a failure ("none of them substantial", "not chemical synthesis")."""
    _, prop_iri, test, values, rule, filler = reason
    prop = props[prop_iri]
    item: dict = {"kind": "fact" if _stated(card, prop) else "default", "field": prop.field, "value": _value(model, prop, values)}
    if test not in ("has", "is"):
        item["test"] = test
    if rule != decider:
        item["rule"] = local_name(rule)
    if filler is not None:
        item["as"] = model.code_of.get(filler) or local_name(filler)
    return item


def _items(model: OntologyModel, props: dict, card: dict, reasons: tuple, decider: URIRef) -> list[dict]:
    """Reasons as data, in the proof's order (a group's branches as lists of their own reasons)."""
    out: list[dict] = []
    for reason in reasons:
        if reason[0] == "fact":
            out.append(_fact(model, props, card, reason, decider))
        elif reason[0] == "any":
            out.append({"kind": "any", "of": [_items(model, props, card, branch, decider) for branch in reason[1]]})
        else:  # ("ref", class, holds)
            out.append({"kind": "rule", "rule": local_name(reason[1]), "holds": reason[2]})
    return out


def brief_entry(model: OntologyModel, prover: Prover, rc: ResultClass, conclusion: str, value, card: dict, holds: bool = True, deciding: ResultClass | None = None) -> dict:
    """The brief entry of one conclusion: ``rc``'s proof (or, for ``holds=False``, why it fails), as data.

    ``deciding``: the class whose proof explains the conclusion when it is not ``rc`` itself (``atmp = false`` is
    told by the class the applied exclusion belongs to, ``atmp:NotAnATMP``). The words are made from this data
    by :func:`atmp.core.explain.words.render` where people read it (the report, the workbench, the table).
    """
    ctx = prover.ctx
    rule = deciding or rc
    cls = ctx.ev.canon.get(rule.iri, rule.iri)
    props = _props(model, ctx)
    because = _items(model, props, card, prover.prove(cls, holds), cls)
    because.extend(decisions(model, cls))
    if holds:
        for border, alts in priorities(model, ctx).get(cls, []):
            also = tuple(a for a in alts if ctx.truth(a) is True)
            if also and ctx.truth(border) is True:
                because.append({"kind": "priority", "rule": local_name(border), "also": [local_name(a) for a in also]})
    entry = {"conclusion": conclusion, "field": rc.field, "value": value, "rule": local_name(cls), "source": rule.source, "because": because}
    if not holds:
        entry["holds"] = False  # the proof is of the failing part: the product is not in ``rule``
    return entry
