"""The oracle for brief explanations: is each reason necessary, and do the reasons suffice?

The run-time path reads a conclusion's reasons off its proof (:mod:`atmp.core.explain.proof`) and never
searches; here, in the tests, the counterfactual search that used to run on every card checks them:

* **counterfactual** — each card-fact reason, negated (its witnesses removed, its value changed, a value added
  where it says "none" or "only"; for a group "any one of these", all of its facts at once), must move the
  conclusion on some such change, re-decided by the compiled evaluator (the engine the path runs);
* **sufficient** — the deciding definition must hold on the reasons alone: a partial card that knows only
  the reasons' facts (every other field unknown), and the sub-conclusions cited by reference, evaluated in
  Kleene's three-valued logic (:class:`atmp.authoring.exclusive.Partial`), gives the conclusion.

A reason that fails the first is reported with its entry, so a test can say per class why a proof is not
minimal (a disjunction with several branches that hold, a default no edit can reach …).
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import replace

from atmp.authoring.exclusive import ClassOrder, Partial, Search, variables, witness_card
from atmp.core.card.facts import ProductFacts, card_facts
from atmp.core.classify import evaluator_for
from atmp.core.rules.namespaces import ATMP
from atmp.core.rules.ontology import CardProperty, OntologyModel
from rdflib import URIRef

MAX_COMBINATIONS = 400  # changes tried for one group reason ("any one of these")


def _iri(prop: CardProperty, value):
    return value if isinstance(value, bool) else prop.codes[value]


def _values(prop: CardProperty, item: dict) -> tuple:
    raw = item["value"]
    return tuple(_iri(prop, v) for v in (raw if isinstance(raw, list) else [] if raw is None else [raw]))


def _absent(prop: CardProperty) -> tuple:
    return () if prop.default is None else (prop.default,)


def _universe(prop: CardProperty) -> list:
    return list(prop.codes.values()) if prop.is_object else [False, True]


def negations(prop: CardProperty, item: dict, current: tuple) -> list[tuple]:
    """The new values of ``prop`` that undo the fact ``item`` (see the module docstring)."""
    test = item.get("test", "is" if not (prop.is_object and not prop.functional) else "has")
    named = _values(prop, item)
    if prop.is_object and not prop.functional:  # a list
        if test in ("has", "is", "outside"):
            return [tuple(v for v in current if v not in named)]
        if test == "stated":
            return [()]
        return [(*current, code) for code in _universe(prop) if code not in current]  # none, only, lacks: add a code
    options = [(v,) for v in _universe(prop)] + [_absent(prop)]
    return [o for o in dict.fromkeys(options) if o != current]


def _merge(a: dict, b: dict) -> dict:
    """Two sets of changes at once; two changes of one list field keep what both keep and add what either adds."""
    out = dict(a)
    for iri, new in b.items():
        old = out.get(iri)
        out[iri] = new if old is None else tuple(dict.fromkeys(v for v in (*old, *new) if (v in old) == (v in new) or len(new) > len(old) or len(old) > len(new)))
    return out


def kills(model: OntologyModel, facts: ProductFacts, item: dict, refs: dict, in_group: bool = False) -> list[dict]:
    """Ways to undo one reason: changes of the card's facts (a group: one of each branch's reasons at once)."""
    props = {p.field: p for p in model.properties}
    kind = item["kind"]
    if kind in ("fact", "default"):
        prop = props[item["field"]]
        return [{prop.iri: new} for new in negations(prop, item, facts.values[prop.iri])]
    if kind == "rule" and item.get("holds", True):  # a cited conclusion: undo one of its own reasons
        return [k for sub in refs.get(item["rule"], {}).get("because", []) for k in kills(model, facts, sub, refs, in_group)]
    if kind == "rule":  # a class the product is not in: a change of the fields it reads that puts it in and moves the conclusion
        return _put_in(model, facts, ATMP[item["rule"]], refs.get("", {}), move=not in_group)
    if kind == "any":
        per_branch = [[k for sub in branch for k in kills(model, facts, sub, refs, True)] for branch in item["of"]]
        out = []
        for combination in itertools.islice(itertools.product(*per_branch), MAX_COMBINATIONS):
            merged: dict = {}
            for changes in combination:
                merged = _merge(merged, changes)
            out.append(merged)
        return out
    return []


@functools.lru_cache(maxsize=4)
def _variables(model: OntologyModel) -> dict:
    return variables(model, evaluator_for(model))


def _put_in(model: OntologyModel, facts: ProductFacts, cls, entry: dict, move: bool = True) -> list[dict]:
    """The changes of the fields ``cls`` reads (every other field as on the card) that put the product in ``cls`` and
    (``move``) move ``entry``'s conclusion, found by the exact search of :mod:`atmp.authoring.exclusive` (one, or none).
    Inside a group the conclusion moves only when every branch is undone, so there only ``cls`` is asked for."""
    ev = evaluator_for(model)
    vars_ = _variables(model)
    product = ev.canon.get(ATMP.Product, ATMP.Product)
    reads = set(ev.reads(ev.canon.get(cls, cls), frozenset({product})) or ())
    start = Partial(ev, vars_)
    for iri, var in vars_.items():
        if ev.canon.get(iri, iri) in reads:
            continue
        values = facts.values[iri]
        if var.is_list:
            start.absent_list[iri] = False
            start.present[iri] = [any(v in values for v in group) for group in var.groups]
        else:
            start.fixed[iri] = values
    targets = [(cls, True)] + ([(ATMP[entry["rule"]], not entry.get("holds", True))] if move else [])
    found = Search(ev, vars_, targets).run(start)
    if not isinstance(found, Partial):
        return []
    _, values = witness_card(model, found)
    return [{iri: v for iri, v in values.items() if ev.canon.get(iri, iri) in reads}]


def _reasons(entry: dict) -> list[dict]:
    return [b for b in entry.get("because", []) if b["kind"] in ("fact", "default", "any") or (b["kind"] == "rule" and not b.get("holds", True))]


def moved(model: OntologyModel, facts: ProductFacts, entry: dict, changes: dict) -> bool:
    """Does the deciding class change its truth on the facts with ``changes`` applied?"""
    ev = evaluator_for(model)
    cls = ATMP[entry["rule"]]
    holds = entry.get("holds", True)
    ctx = ev.product_context(replace(facts, values={**facts.values, **changes}))
    return ctx.member(cls) != holds


def unnecessary(model: OntologyModel, card: dict, entry: dict, refs: dict | None = None, negated_rules: bool = True) -> list[dict]:
    """The reasons of ``entry`` that no undoing moves (empty: every reason is necessary).

    ``refs``: the result's entries by rule, so that a group whose branch is a cited conclusion can be undone.
    """
    facts = card_facts(model, card)
    refs = {**(refs or {}), "": entry}
    reasons = [r for r in _reasons(entry) if negated_rules or r["kind"] != "rule"]
    return [r for r in reasons if not any(moved(model, facts, entry, k) for k in kills(model, facts, r, refs)[:MAX_COMBINATIONS])]


_ORDERS: dict[tuple[int, URIRef], tuple[object, ClassOrder]] = {}  # the evaluator kept alive beside its order


def _order(ev, cls: URIRef) -> ClassOrder:
    """The dependency order of one deciding class: a property of the rule book, built once per class, not per entry."""
    key = (id(ev), cls)
    if key not in _ORDERS:
        _ORDERS[key] = (ev, ClassOrder(ev, frozenset({ev.canon.get(ATMP.Product, ATMP.Product)}), [cls]))
    return _ORDERS[key][1]


def sufficient(model: OntologyModel, entry: dict) -> bool:
    """Does the deciding definition give the conclusion on the reasons alone (every other fact unknown)?"""
    ev = evaluator_for(model)
    vars_ = _variables(model)
    by_field = {v.prop.field: (iri, v) for iri, v in vars_.items()}
    partial = Partial(ev, vars_)

    def add(item: dict) -> None:
        if item["kind"] == "any":  # any one branch suffices: the first
            for sub in item["of"][0]:
                add(sub)
            return
        if item["kind"] == "rule":
            partial.assume[ev.canon.get(ATMP[item["rule"]], ATMP[item["rule"]])] = item.get("holds", True)
            return
        iri, var = by_field[item["field"]]
        values = _values(var.prop, item)
        if not var.is_list:
            partial.fixed[iri] = values if values else _absent(var.prop)
            return
        test = item.get("test", "has")
        partial.absent_list[iri] = False
        present = partial.present[iri]
        for i, group in enumerate(var.groups):
            if any(v in group for v in values):
                present[i] = True
            elif test in ("none", "only", "lacks", "stated"):
                present[i] = False  # the card lists exactly these: nothing else

    for item in entry.get("because", []):
        if item["kind"] in ("fact", "default", "any", "rule"):
            add(item)
    cls = ev.canon.get(ATMP[entry["rule"]], ATMP[entry["rule"]])
    truth, _ = _order(ev, cls).evaluate(partial)
    return truth.get(cls) is entry.get("holds", True)
