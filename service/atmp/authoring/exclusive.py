"""Exclusivity of single-valued result fields, proved over every card the schema allows.

Why: a field such as ``us.pathway`` or ``nmpa.subclass`` holds one code, and its classes are defined one by
one. When two definitions can both hold, some card puts the product in both and the result cannot be
written. Random cards find such a card only by luck (2 in 10,000 found the first one); here the question
"is there any schema-valid card that is in class A and in class B?" is answered exactly, for every pair of
classes filling the same field, before any card meets the rule book.

How: a search over partial cards (DPLL). A card property is either unknown or fixed; a list property is a
set of behaviour groups, each present, absent or unknown. Codes that behave alike in every restriction of
the definitions (the same membership in every ``some``/``only`` filler, the same ``hasValue``) are one
group, so a list of 26 manipulations is a handful of yes/no questions. The classes are evaluated in Kleene's
three-valued logic on the partial card — a restriction on an unknown property is unknown, a definitional
cycle is the least fixed point from "unknown" — which is monotone: a class false on a partial card is false
on every completion, so that branch is pruned. A branch where both classes are true on a partial card gives
a witness; every witness is re-checked on the compiled evaluator (the engine the classifier runs) with the
card built from it, and reported as that card. No witness for a pair is a proof that the two never overlap
on any card the schema allows, self-contradicting ones included.

Nothing here names a field or a class: the fields are the single-valued result fields (the contract's and
each regime's ``code`` fields), their classes are read from ``atmp:resultField``, and the card's domain from
the ontology's card properties and the card schema (required fields are never absent, ``minItems`` holds).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field

from rdflib import URIRef

from atmp.core.card.facts import ProductFacts, product_iri
from atmp.core.classify import evaluator_for
from atmp.core.engines.evaluator import Evaluator
from atmp.core.engines.expressions import And, Expr, HasValue, MaxZero, Named, Not, OneOf, Only, Or, Some, kleene_and, kleene_or, parts
from atmp.core.rules.ontology import ATMP, CardProperty, OntologyModel, ResultClass
from atmp.core.rules.regimes import single_valued_fields
from atmp.core.rules.resources import CARD_SCHEMA, schema

NODE_LIMIT = 200_000  # search nodes per pair before the check gives up and says so (never reached by this ontology)


@dataclass(frozen=True)
class Variable:
    """One card property as the search sees it: its possible fact tuples, or its behaviour groups (lists)."""

    prop: CardProperty
    is_list: bool
    values: tuple[tuple, ...] = ()  # functional and boolean properties: every possible fact tuple (absent included)
    groups: tuple[tuple[URIRef, ...], ...] = ()  # list properties: codes that behave alike, one group each
    may_be_absent: bool = False  # list properties: the whole list may be missing (its default then applies)
    min_items: int = 0


@dataclass
class Overlap:
    """Two classes of one field that a schema-valid card satisfies together, with that card."""

    field: str
    first: ResultClass
    second: ResultClass
    card: dict

    def row(self) -> dict[str, str]:
        return {"field": self.field, "class": str(self.first.iri), "other": str(self.second.iri), "card": json.dumps(self.card, ensure_ascii=False, sort_keys=True)}


@dataclass
class Report:
    overlaps: list[Overlap] = field(default_factory=list)
    undecided: list[tuple[str, ResultClass, ResultClass]] = field(default_factory=list)  # node limit reached
    pairs: int = 0
    nodes: int = 0


# ------------------------------------------------------------------------------------------- the card's domain
def _schema_fields() -> dict[str, dict]:
    """Dotted card field -> its schema node, with ``required`` folded in."""
    root = schema(CARD_SCHEMA)
    out: dict[str, dict] = {}
    for section, sec in root.get("properties", {}).items():
        required = set(sec.get("required", ()))
        for key, spec in sec.get("properties", {}).items():
            out[f"{section}.{key}"] = {**spec, "_required": key in required}
    return out


def _leaves(ev: Evaluator) -> dict[URIRef, list[Expr]]:
    """Every restriction of every definition, per property (what a code's behaviour is measured against)."""
    out: dict[URIRef, list[Expr]] = {}
    stack: list[Expr] = [e for exprs in ev.defs.equivalents.values() for e in exprs]
    while stack:
        e = stack.pop()
        if isinstance(e, (And, Or)):
            stack.extend(e.items)
        elif isinstance(e, Not):
            stack.append(e.item)
        elif isinstance(e, (Some, Only, HasValue, MaxZero)):
            if e not in out.setdefault(e.prop, []):
                out[e.prop].append(e)
    return out


def _behaviour(ev: Evaluator, value, leaves: list[Expr]) -> tuple:
    sig = []
    for e in leaves:
        if isinstance(e, (Some, Only)):
            sig.append(True if isinstance(value, bool) else ev._vocab_eval(ev.canon.get(value, value), e.filler, frozenset()))
        elif isinstance(e, HasValue):
            sig.append(e.value == value)
    return tuple(sig)


def variables(model: OntologyModel, ev: Evaluator) -> dict[URIRef, Variable]:
    """The search's variables: every card property, its values cut to one per behaviour."""
    spec_of = _schema_fields()
    leaves = _leaves(ev)
    out: dict[URIRef, Variable] = {}
    for prop in model.properties:
        spec = spec_of.get(prop.field, {})
        required = spec.get("_required", False)
        absent = () if prop.default is None else (prop.default,)
        canon_prop = ev.canon.get(prop.iri, prop.iri)
        mine = leaves.get(canon_prop, [])
        if prop.is_object and not prop.functional:
            groups: dict[tuple, list[URIRef]] = {}
            for code in prop.codes.values():
                groups.setdefault(_behaviour(ev, code, mine), []).append(code)
            out[prop.iri] = Variable(prop, True, groups=tuple(tuple(g) for g in groups.values()), may_be_absent=not required, min_items=int(spec.get("minItems", 0)))
            continue
        enum = spec.get("enum")
        candidates = list(prop.codes.values()) if prop.is_object else [False, True]
        nullable = (not required) or (enum is not None and None in enum)
        seen: dict[tuple, tuple] = {}
        for value in candidates:
            seen.setdefault(_behaviour(ev, value, mine), (value,))
        values = list(seen.values())
        if nullable and absent not in values:
            values.append(absent)
        out[prop.iri] = Variable(prop, False, values=tuple(values))
    return out


# ------------------------------------------------------------------------------- three-valued, partial cards
class Partial:
    """A partial card: per property, the fact tuples still possible (functional) or each group's presence (lists).

    ``fixed`` holds the decided functional properties; ``present[prop][i]`` is True, False or None per group;
    ``absent_list[prop]`` is True when a list property is missing altogether (its default then stands).
    """

    def __init__(self, ev: Evaluator, vars_: dict[URIRef, Variable]):
        self.ev = ev
        self.vars = vars_
        self.canon_vars = {ev.canon.get(p, p): v for p, v in vars_.items()}
        self.fixed: dict[URIRef, tuple] = {}
        self.present: dict[URIRef, list[bool | None]] = {p: [None] * len(v.groups) for p, v in vars_.items() if v.is_list}
        self.absent_list: dict[URIRef, bool | None] = {p: (None if v.may_be_absent else False) for p, v in vars_.items() if v.is_list}
        self.assume: dict[URIRef, bool] = {}  # case splits on two-valued classes (see Search._branches)
        self._masks: dict[tuple, tuple[bool, ...]] = {}
        self._leaves: dict[tuple, bool] = {}

    def copy(self) -> Partial:
        other = Partial.__new__(Partial)
        other.ev, other.vars, other.canon_vars, other._masks, other._leaves = self.ev, self.vars, self.canon_vars, self._masks, self._leaves
        other.fixed = dict(self.fixed)
        other.present = {p: list(v) for p, v in self.present.items()}
        other.absent_list = dict(self.absent_list)
        other.assume = dict(self.assume)
        return other

    # -- leaves
    def _in(self, value, filler: Expr) -> bool:
        if isinstance(value, bool):
            return True
        return self.ev._vocab_eval(self.ev.canon.get(value, value), filler, frozenset())

    def _tuple_leaf(self, e: Expr, facts: tuple) -> bool:
        key = (id(e), facts)  # the leaf objects live as long as the definitions; the answer never changes
        found = self._leaves.get(key)
        if found is None:
            found = self._leaves[key] = self._tuple_leaf_uncached(e, facts)
        return found

    def _tuple_leaf_uncached(self, e: Expr, facts: tuple) -> bool:
        if isinstance(e, Some):
            return any(self._in(v, e.filler) for v in facts)
        if isinstance(e, Only):
            return all(self._in(v, e.filler) for v in facts)
        if isinstance(e, HasValue):
            return e.value in facts
        return not facts  # MaxZero

    def leaf(self, e: Expr) -> bool | None:
        var = self.canon_vars.get(e.prop)
        if var is None:  # a property no card field carries: never a value
            return self._tuple_leaf(e, ())
        iri = var.prop.iri
        if not var.is_list:
            if iri in self.fixed:
                return self._tuple_leaf(e, self.fixed[iri])
            answers = {self._tuple_leaf(e, t) for t in var.values}
            return answers.pop() if len(answers) == 1 else None
        absent = self.absent_list[iri]
        default = () if var.prop.default is None else (var.prop.default,)
        if absent is True:
            return self._tuple_leaf(e, default)
        listed = self._list_leaf(e, var, self.present[iri])
        if absent is None:
            on_absent = self._tuple_leaf(e, default)
            return listed if listed == on_absent else None
        return listed

    def _list_leaf(self, e: Expr, var: Variable, present: list[bool | None]) -> bool | None:
        key = (id(e), id(var))
        mask = self._masks.get(key)
        if mask is None:  # per group: does its representative satisfy the leaf's filler (or equal its value)?
            if isinstance(e, (Some, Only)):
                mask = tuple(self._in(g[0], e.filler) for g in var.groups)
            elif isinstance(e, HasValue):
                mask = tuple(e.value in g for g in var.groups)
            else:
                mask = tuple(True for _ in var.groups)
            self._masks[key] = mask
        if isinstance(e, (Some, HasValue, MaxZero)):
            hit = any(p is True and m for p, m in zip(present, mask, strict=True))
            possible = any(p is not False and m for p, m in zip(present, mask, strict=True))
            some = True if hit else False if not possible else None
            return some if not isinstance(e, MaxZero) else (None if some is None else not some)
        # Only: false when a present group lies outside the filler, true when every group outside is absent
        if any(p is True and not m for p, m in zip(present, mask, strict=True)):
            return False
        if all(p is False for p, m in zip(present, mask, strict=True) if not m):
            return True
        return None

    # -- expressions and classes
    def holds(self, e: Expr, truth: dict[URIRef, bool | None]) -> bool | None:
        if isinstance(e, Named):
            return truth.get(e.iri)
        if isinstance(e, And):
            return kleene_and(self.holds(i, truth) for i in e.items)
        if isinstance(e, Or):
            return kleene_or(self.holds(i, truth) for i in e.items)
        if isinstance(e, Not):
            v = self.holds(e.item, truth)
            return None if v is None else not v
        if isinstance(e, OneOf):
            return False  # an enumeration of named individuals: a new product is none of them
        return self.leaf(e)


class ClassOrder:
    """The classes two targets depend on, as strongly connected groups in dependency order (leaves first)."""

    def __init__(self, ev: Evaluator, types: frozenset, roots: list[URIRef]):
        self.ev, self.types = ev, types
        deps: dict[URIRef, list[URIRef]] = {}
        todo = list(roots)
        while todo:
            c = todo.pop()
            if c in deps:
                continue
            found: list[URIRef] = []
            if not (c is ev.thing or c in types):
                for e in ev.defs.equivalents.get(c, ()):
                    found.extend(_named(e))
                found.extend(ev.defs.subclasses.get(c, ()))
            deps[c] = sorted(set(found), key=str)
            todo.extend(deps[c])
        self.deps = deps
        self.groups = _sccs(deps)
        # two-valued class -> the definitions that make it so (its value on a complete card)
        self.two_valued = {c: self._two_valued_definitions(c) for c in deps}
        self.two_valued = {c: d for c, d in self.two_valued.items() if d is not None}

    def _two_valued_definitions(self, cls: URIRef) -> tuple[Expr, ...] | None:
        """The definitions that make ``cls`` true or false (never unknown) on every closed product, or None.

        An asserted type or a class with such a subclass (``atmp:RegimeSubject`` above ``atmp:Product``) is always
        true (``()``); otherwise the definitions over card facts and two-valued classes, with no cycle. On a
        complete card such a definition decides the class (another one, such as the named equivalence that links
        two names of one class, agrees with it, or the ontology would be inconsistent), so its subclasses and its
        other definitions never matter — and must not be read on a partial card, where an assumed subclass or
        a named equivalent could lend it the very truth it lends them.
        """
        return self._definite(cls, frozenset())

    def _definite(self, cls: URIRef, stack: frozenset) -> tuple[Expr, ...] | None:
        ev = self.ev
        if cls is ev.thing or cls in self.types or any(s in self.types for s in ev.defs.subclasses.get(cls, ())):
            return ()
        if cls in stack:
            return None
        inner = stack | {cls}

        def expr(e: Expr) -> bool:
            if isinstance(e, Named):
                return self._definite(e.iri, inner) is not None
            if isinstance(e, (And, Or)):
                return all(expr(i) for i in e.items)
            if isinstance(e, Not):
                return expr(e.item)
            return True

        found = tuple(e for e in ev.defs.equivalents.get(cls, ()) if expr(e))
        return found or None

    def evaluate(self, partial: Partial) -> tuple[dict[URIRef, bool | None], bool | None]:
        """Every class's Kleene value on the partial card (the least fixed point, group by group), and whether the
        assumed class values (:attr:`Partial.assume`) agree with what their definitions give: False when one is
        contradicted, True when all are confirmed, None while some are still unknown."""
        truth: dict[URIRef, bool | None] = dict(partial.assume)
        ev, types = self.ev, self.types
        agree: bool | None = True
        for group in self.groups:
            cyclic = len(group) > 1 or group[0] in self.deps[group[0]]
            computed: dict[URIRef, bool | None] = {}
            for _ in range(2 * len(group) + 2 if cyclic else 1):
                changed = False
                for c in group:
                    definite = self.two_valued.get(c)
                    if c is ev.thing or c in types or definite == ():
                        value: bool | None = True
                    else:
                        defs = [partial.holds(e, truth) for e in (definite if definite is not None else ev.defs.equivalents.get(c, ()))]
                        if True in defs:
                            value = True
                        elif False in defs:
                            value = False
                        elif definite is None and any(truth.get(s) is True for s in ev.defs.subclasses.get(c, ())):
                            value = True
                        else:
                            value = None
                    if c in partial.assume:
                        if computed.get(c) != value:
                            computed[c] = value
                            changed = True
                    elif truth.get(c) != value:
                        truth[c] = value
                        changed = True
                if not changed:
                    break
            for c in group:
                if c in partial.assume:
                    value = computed.get(c)
                    if value is None:
                        agree = None if agree else agree
                    elif value != partial.assume[c]:
                        agree = False
        return truth, agree


def _named(e: Expr) -> Iterator[URIRef]:
    stack = [e]
    while stack:
        x = stack.pop()
        if isinstance(x, Named):
            yield x.iri
        elif isinstance(x, (And, Or)):
            stack.extend(x.items)
        elif isinstance(x, Not):
            stack.append(x.item)


def _sccs(deps: dict[URIRef, list[URIRef]]) -> list[list[URIRef]]:
    """Tarjan's strongly connected components, iteratively; a component comes after those it depends on."""
    index: dict[URIRef, int] = {}
    low: dict[URIRef, int] = {}
    on_stack: set[URIRef] = set()
    stack: list[URIRef] = []
    out: list[list[URIRef]] = []
    counter = itertools.count()
    for root in sorted(deps, key=str):
        if root in index:
            continue
        work = [(root, iter(deps[root]))]
        index[root] = low[root] = next(counter)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = next(counter)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(deps.get(nxt, ()))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    group.append(w)
                    if w == node:
                        break
                out.append(sorted(group, key=str))
    return out


# --------------------------------------------------------------------------------------------------- search
_ORDERS: dict[tuple, ClassOrder] = {}  # (evaluator, target classes) -> their dependency order: a pure function of the definitions


class Search:
    """Is there a card on which each target class has the wanted truth? Depth-first over the properties they read.

    ``targets``: ``(class, True)`` for a class the card must be in, ``(class, False)`` for one it must not be in.
    Two targets that must both hold is the exclusivity question; the tests' oracle asks others (is there a card
    that meets X and not the conclusion?). A search may start from a partial card (some facts fixed).
    """

    def __init__(self, ev: Evaluator, vars_: dict[URIRef, Variable], targets: list[tuple[URIRef, bool]]):
        self.ev, self.vars = ev, vars_
        self.types = frozenset({ev.canon.get(ATMP.Product, ATMP.Product)})
        self.targets = [(ev.canon.get(c, c), want) for c, want in targets]
        roots = tuple(sorted({c for c, _ in self.targets}, key=str))
        self.order = _ORDERS.get((id(ev), roots))
        if self.order is None or self.order.ev is not ev:
            self.order = _ORDERS[(id(ev), roots)] = ClassOrder(ev, self.types, list(roots))
        read: set[URIRef] = set()
        for c, _ in self.targets:
            reads = ev.reads(c, self.types)
            read.update(reads if reads is not None else (ev.canon.get(p, p) for p in vars_))
        depth = self._depths()
        fields = list(vars_)
        self.props = sorted((p for p in vars_ if ev.canon.get(p, p) in read), key=lambda p: (depth.get(ev.canon.get(p, p), len(fields)), fields.index(p)))
        self.nodes = 0

    def _depths(self) -> dict[URIRef, int]:
        """Property -> how near to the two targets' definitions a restriction reads it (0: in their own definitions).

        The search asks the nearest properties first: a target's own restrictions decide it soonest (``kind some
        CellKind`` against its complement is settled by one question, not by every field read below it).
        """
        out: dict[URIRef, int] = {}
        seen = {c: 0 for c, _ in self.targets}
        queue = list(seen)
        while queue:
            c = queue.pop(0)
            for e in self.ev.defs.equivalents.get(c, ()):
                for x in parts(e):
                    if isinstance(x, (Some, Only, HasValue, MaxZero)):
                        out.setdefault(x.prop, seen[c])
            for d in self.order.deps.get(c, ()):
                if d not in seen:
                    seen[d] = seen[c] + 1
                    queue.append(d)
        return out

    def _closure(self, root: URIRef) -> list[URIRef]:
        """``root`` and every class it depends on, breadth first (nearest first)."""
        seen, queue = [root], [root]
        while queue:
            for d in self.order.deps.get(queue.pop(0), ()):
                if d not in seen:
                    seen.append(d)
                    queue.append(d)
        return seen

    def _direct(self, root: URIRef, want: bool = True) -> set[tuple[URIRef, bool, bool]]:
        """``(class, positive, alternative)`` for ``root`` itself and each named class in its own definitions: whether
        it is reached under an even number of complements, and whether it is one branch of a choice (a member of a
        union read positively, or of an intersection read negatively)."""
        out = {(root, want, False)}
        for e in self.ev.defs.equivalents.get(root, ()):
            stack = [(e, want, False)]
            while stack:
                x, pol, alt = stack.pop()
                if isinstance(x, Named):
                    out.add((x.iri, pol, alt))
                elif isinstance(x, (And, Or)):
                    choice = isinstance(x, Or) == pol
                    stack.extend((i, pol, choice) for i in x.items)
                elif isinstance(x, Not):
                    stack.append((x.item, not pol, alt))
        return out

    def _splits(self, partial: Partial, truth: dict[URIRef, bool | None]) -> list[URIRef]:
        """The classes to split on next, best first: two-valued, still unknown, not yet assumed.

        Kleene's logic cannot see that ``X and not A`` is false wherever ``A`` holds, so "B is its description and
        not A" (a priority rule) would be proved disjoint from A only by deciding A fact by fact. So the search
        unfolds the definitions of the targets and of every class assumed true so far: a class named there
        positively and negatively (A itself against "not A"; a description against "and none ranked above it")
        comes first, then the branches of a choice the targets need (the members of a union such as "CTMP = ex vivo
        modified or not modified", so that each member's own definition is unfolded in turn). The facts come last;
        a plain conjunct is never split on (it must hold anyway, and its facts decide it).
        """
        named: set[tuple[URIRef, bool]] = set()
        choices: set[URIRef] = set()
        for root, want in (*self.targets, *((c, True) for c, v in partial.assume.items() if v)):
            for c, pol, alt in self._direct(root, want):  # a class wanted false reads its definition negated
                named.add((c, pol))
                if alt:
                    choices.add(c)
        opposed = sorted({c for c, pol in named if (c, not pol) in named}, key=str)
        branches = sorted(choices - set(opposed), key=str)
        return [c for c in opposed + branches if c not in partial.assume and truth.get(c) is None and c in self.order.two_valued]

    def run(self, start: Partial | None = None) -> Partial | None | bool:
        """A partial card on which every target has its wanted truth (a witness), None when none exists, False at the node limit."""
        return self._search(start if start is not None else Partial(self.ev, self.vars))

    def _search(self, partial: Partial) -> Partial | None | bool:
        self.nodes += 1
        if self.nodes > NODE_LIMIT:
            return False
        truth, agree = self.order.evaluate(partial)
        values = [(truth.get(c), want) for c, want in self.targets]
        if agree is False or any(v is not None and v != want for v, want in values):
            return None
        if agree and all(v == want for v, want in values):
            return partial
        for child in self._branches(partial, truth):
            found = self._search(child)
            if found is not None:
                return found
        return None

    def _branches(self, partial: Partial, truth: dict[URIRef, bool | None]) -> Iterator[Partial]:
        """The children of the first undecided question: a shared class, a functional value, a list's absence, a group's presence.

        Kleene's logic cannot see that ``X and not A`` is false wherever ``A`` holds, so a priority rule ("B is
        its description and not A") would be proved disjoint from A only by deciding A fact by fact. So the
        search first splits on the classes both targets depend on (A itself, in that case), assuming each
        true, then false: a class that is two-valued on every closed product (``Evaluator.decided``) is one or
        the other on every card, and a branch whose assumption its definitions contradict is pruned.
        """
        for c in self._splits(partial, truth)[:1]:
            for value in (True, False):
                child = partial.copy()
                child.assume[c] = value
                yield child
            return
        for iri in self.props:
            var = self.vars[iri]
            if not var.is_list:
                if iri in partial.fixed:
                    continue
                for value in var.values:
                    child = partial.copy()
                    child.fixed[iri] = value
                    yield child
                return
            if partial.absent_list[iri] is None:
                for absent in (True, False):
                    child = partial.copy()
                    child.absent_list[iri] = absent
                    yield child
                return
            if partial.absent_list[iri]:
                continue
            present = partial.present[iri]
            for i, p in enumerate(present):
                if p is None:
                    for value in (True, False):
                        child = partial.copy()
                        child.present[iri][i] = value
                        if not value and var.min_items and all(x is False for x in child.present[iri]):
                            continue  # minItems: the list cannot be empty
                        yield child
                    return
        return


def witness_card(model: OntologyModel, partial: Partial, card_id: str = "overlap") -> tuple[dict, dict[URIRef, tuple]]:
    """A schema-valid card completing the partial one (unknowns take their first possible value), and its facts."""
    card: dict = {"id": card_id, "substance": {}, "process": {}, "function": {}}
    values: dict[URIRef, tuple] = {}
    for iri, var in partial.vars.items():
        prop = var.prop
        section = card.setdefault(prop.section, {})
        default = () if prop.default is None else (prop.default,)
        if not var.is_list:
            facts = partial.fixed.get(iri, var.values[0])
            values[iri] = facts
            if facts and not (facts == default and not _required(prop)):
                section[prop.key] = model.code_of[facts[0]] if prop.is_object else facts[0]
            continue
        if partial.absent_list[iri] is True:
            values[iri] = default
            continue
        present = [p is True for p in partial.present[iri]]
        if var.min_items and not any(present):
            present[0] = True
        codes = [g[0] for g, on in zip(var.groups, present, strict=True) if on]
        values[iri] = tuple(codes)
        section[prop.key] = [model.code_of[c] for c in codes]
    return card, values


def _required(prop: CardProperty) -> bool:
    return _schema_fields().get(prop.field, {}).get("_required", False)


def check(model: OntologyModel) -> Report:
    """Every pair of classes of every single-valued field: proved disjoint, or a witness card (verified)."""
    ev = evaluator_for(model)
    vars_ = variables(model, ev)
    report = Report()
    by_field: dict[str, list[ResultClass]] = {}
    for rc in model.result_classes:
        by_field.setdefault(rc.field, []).append(rc)
    for fld in single_valued_fields(model):
        for a, b in itertools.combinations(by_field.get(fld, []), 2):
            report.pairs += 1
            search = Search(ev, vars_, [(a.iri, True), (b.iri, True)])
            found = search.run()
            report.nodes += search.nodes
            if found is False:
                report.undecided.append((fld, a, b))
            elif found is not None:
                card, values = witness_card(model, found)  # type: ignore[arg-type]
                ctx = ev.product_context(ProductFacts(product_iri(card["id"]), card["id"], values))
                if not (ctx.member(a.iri) and ctx.member(b.iri)):  # the partial evaluation and the engine disagree: a defect here
                    raise AssertionError(f"witness for {a.iri} and {b.iri} is not confirmed by the compiled evaluator: {card}")
                report.overlaps.append(Overlap(fld, a, b, card))
    return report
