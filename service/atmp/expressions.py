"""OWL class expressions of the ontology, read into a tree that can be evaluated on a closed product.

Why this exists: the reasoner says *that* a product is in a class; to say *why*, we walk the
class's own definition over the product's card facts and collect the facts and named classes
that made it true. Because every product carries closure axioms (see :mod:`atmp.graph`), the
closed-world evaluation here gives the same memberships as HermiT; the test suite checks that.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rdflib import OWL, RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection

from .graph import ProductFacts


class Expr:
    """Base of the expression tree."""


@dataclass(frozen=True)
class Named(Expr):
    iri: URIRef


@dataclass(frozen=True)
class And(Expr):
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Or(Expr):
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Not(Expr):
    item: Expr


@dataclass(frozen=True)
class OneOf(Expr):
    members: frozenset[URIRef]


@dataclass(frozen=True)
class Some(Expr):
    prop: URIRef
    filler: Expr


@dataclass(frozen=True)
class Only(Expr):
    prop: URIRef
    filler: Expr


@dataclass(frozen=True)
class HasValue(Expr):
    prop: URIRef
    value: URIRef | bool


@dataclass(frozen=True)
class MaxZero(Expr):
    prop: URIRef


class UnsupportedAxiom(ValueError):
    """The ontology uses a construct the evaluator does not know; the reasoner path still works."""


def parse_expr(graph: Graph, node) -> Expr:
    if isinstance(node, URIRef):
        return Named(node)
    if (node, OWL.intersectionOf, None) in graph:
        return And(tuple(parse_expr(graph, n) for n in Collection(graph, graph.value(node, OWL.intersectionOf))))
    if (node, OWL.unionOf, None) in graph:
        return Or(tuple(parse_expr(graph, n) for n in Collection(graph, graph.value(node, OWL.unionOf))))
    if (node, OWL.complementOf, None) in graph:
        return Not(parse_expr(graph, graph.value(node, OWL.complementOf)))
    if (node, OWL.oneOf, None) in graph:
        return OneOf(frozenset(Collection(graph, graph.value(node, OWL.oneOf))))  # type: ignore[arg-type]
    prop = graph.value(node, OWL.onProperty)
    if prop is not None:
        if (node, OWL.someValuesFrom, None) in graph:
            return Some(prop, parse_expr(graph, graph.value(node, OWL.someValuesFrom)))  # type: ignore[arg-type]
        if (node, OWL.allValuesFrom, None) in graph:
            return Only(prop, parse_expr(graph, graph.value(node, OWL.allValuesFrom)))  # type: ignore[arg-type]
        if (node, OWL.hasValue, None) in graph:
            value = graph.value(node, OWL.hasValue)
            return HasValue(prop, bool(value.toPython()) if isinstance(value, Literal) else value)  # type: ignore[arg-type]
        for card in (OWL.maxCardinality, OWL.cardinality):
            n = graph.value(node, card)
            if n is not None and int(n) == 0:
                return MaxZero(prop)  # type: ignore[arg-type]
    raise UnsupportedAxiom(f"unsupported class expression at {node!r}")


@dataclass
class Definitions:
    """Named-class definitions (equivalent classes), subclass links and asserted vocabulary types."""

    equivalents: dict[URIRef, list[Expr]] = field(default_factory=dict)
    subclasses: dict[URIRef, set[URIRef]] = field(default_factory=dict)  # class -> direct named subclasses
    asserted: dict[URIRef, set[URIRef]] = field(default_factory=dict)  # individual -> asserted classes

    @classmethod
    def from_graph(cls, graph: Graph) -> Definitions:
        defs = cls()
        for c, e in graph.subject_objects(OWL.equivalentClass):
            if isinstance(c, URIRef):
                defs.equivalents.setdefault(c, []).append(parse_expr(graph, e))
                if isinstance(e, URIRef):  # named equivalence works both ways
                    defs.equivalents.setdefault(e, []).append(Named(c))
        for sub, sup in graph.subject_objects(RDFS.subClassOf):
            if isinstance(sub, URIRef) and isinstance(sup, URIRef):
                defs.subclasses.setdefault(sup, set()).add(sub)
            elif isinstance(sub, URIRef) and isinstance(sup, BNode):
                raise UnsupportedAxiom(f"anonymous superclass of {sub}: add it as a named class")
        for ind in graph.subjects(RDF.type, OWL.NamedIndividual):
            defs.asserted[ind] = {t for t in graph.objects(ind, RDF.type) if isinstance(t, URIRef)}  # type: ignore[index]
        return defs


Reason = tuple  # ("fact", prop, value) | ("absent", prop) | ("member", individual, class) | ("class", class) | ("not", class)


class Evaluator:
    """Closed-world evaluation of the ontology's classes on products and vocabulary individuals."""

    def __init__(self, defs: Definitions):
        self.defs = defs
        self._vocab_cache: dict[tuple[URIRef, URIRef], bool] = {}

    # -- individuals of the vocabulary (no facts of their own, only types and enumerations)
    def vocab_member(self, ind: URIRef, cls: URIRef, _stack: frozenset = frozenset()) -> bool:
        key = (ind, cls)
        if key in self._vocab_cache:
            return self._vocab_cache[key]
        if key in _stack:
            return False
        stack = _stack | {key}
        result = cls == OWL.Thing or cls in self.defs.asserted.get(ind, ())
        if not result:
            result = any(self._vocab_eval(ind, e, stack) for e in self.defs.equivalents.get(cls, ()))
        if not result:
            result = any(self.vocab_member(ind, sub, stack) for sub in self.defs.subclasses.get(cls, ()))
        self._vocab_cache[key] = result
        return result

    def _vocab_eval(self, ind: URIRef, e: Expr, stack: frozenset) -> bool:
        if isinstance(e, Named):
            return self.vocab_member(ind, e.iri, stack)
        if isinstance(e, OneOf):
            return ind in e.members
        if isinstance(e, And):
            return all(self._vocab_eval(ind, i, stack) for i in e.items)
        if isinstance(e, Or):
            return any(self._vocab_eval(ind, i, stack) for i in e.items)
        if isinstance(e, Not):
            return not self._vocab_eval(ind, e.item, stack)
        return False  # vocabulary individuals carry no property values

    # -- products
    def product_context(self, facts: ProductFacts) -> ProductContext:
        return ProductContext(self, facts)


class ProductContext:
    """Memoised membership and reasons of one product.

    Membership is three-valued, like the reasoner's view: ``True`` (entailed), ``False``
    (its negation entailed) or ``None`` (neither: e.g. a primitive class such as criterion 14 that
    nothing asserts). Closure axioms make every defined class two-valued; only primitive classes
    stay unknown, and an unknown never counts as a membership.
    """

    def __init__(self, ev: Evaluator, facts: ProductFacts):
        self.ev = ev
        self.facts = facts
        self.memo: dict[URIRef, bool | None] = {}
        self._active: set[URIRef] = set()

    def member(self, cls: URIRef) -> bool:
        return self.truth(cls) is True

    def truth(self, cls: URIRef) -> bool | None:
        if cls in self.memo:
            return self.memo[cls]
        if cls in self._active:  # a definitional cycle decides nothing; results above it are not cached
            self._cycle = True
            return None
        outer_cycle, self._cycle = getattr(self, "_cycle", False), False
        self._active.add(cls)
        result: bool | None = None
        if cls == OWL.Thing or cls in self.facts.types:
            result = True
        else:
            defs = [self.holds(e) for e in self.ev.defs.equivalents.get(cls, ())]
            if True in defs:
                result = True
            elif False in defs:
                result = False  # C = E is complete: a subclass cannot make C true when E is false
            elif any(self.truth(sub) is True for sub in self.ev.defs.subclasses.get(cls, ())):
                result = True
        self._active.discard(cls)
        if not self._cycle:
            self.memo[cls] = result
        self._cycle = outer_cycle or self._cycle
        return result

    def _values(self, prop: URIRef) -> tuple:
        return self.facts.values.get(prop, ())

    def _filler_holds(self, value, filler: Expr) -> bool:
        if isinstance(value, bool):
            return True  # data ranges are not used beyond hasValue
        return self.ev._vocab_eval(value, filler, frozenset())

    def holds(self, e: Expr) -> bool | None:
        if isinstance(e, Named):
            return self.truth(e.iri)
        if isinstance(e, And):
            vals = [self.holds(i) for i in e.items]
            return False if False in vals else (True if all(v is True for v in vals) else None)
        if isinstance(e, Or):
            vals = [self.holds(i) for i in e.items]
            return True if True in vals else (False if all(v is False for v in vals) else None)
        if isinstance(e, Not):
            v = self.holds(e.item)
            return None if v is None else not v
        if isinstance(e, OneOf):
            return self.facts.iri in e.members
        if isinstance(e, Some):
            return any(self._filler_holds(v, e.filler) for v in self._values(e.prop))
        if isinstance(e, Only):
            return all(self._filler_holds(v, e.filler) for v in self._values(e.prop))
        if isinstance(e, HasValue):
            return e.value in self._values(e.prop)
        if isinstance(e, MaxZero):
            return not self._values(e.prop)
        raise UnsupportedAxiom(repr(e))

    # -- reasons: which facts and named classes made a true expression true
    def reasons(self, e: Expr) -> list[Reason]:
        out: list[Reason] = []
        self._reasons(e, True, out)
        seen, unique = set(), []
        for r in out:
            if r not in seen:
                seen.add(r)
                unique.append(r)
        return unique

    def why(self, cls: URIRef) -> list[Reason]:
        """Reasons for a named class the product is a member of: its first true definition."""
        for e in self.ev.defs.equivalents.get(cls, ()):
            if self.holds(e) is True:
                return self.reasons(e)
        for sub in self.ev.defs.subclasses.get(cls, ()):
            if self.member(sub):
                return [("class", sub)]
        return [("asserted", cls)] if cls in self.facts.types else []

    def _reasons(self, e: Expr, positive: bool, out: list[Reason]) -> None:
        if isinstance(e, Named):
            out.append(("class" if positive else "not", e.iri))
        elif isinstance(e, And) and positive or isinstance(e, Or) and not positive:
            for i in e.items:  # type: ignore[union-attr]
                self._reasons(i, positive, out)
        elif isinstance(e, Or) and positive or isinstance(e, And) and not positive:
            for i in e.items:  # type: ignore[union-attr]
                if self.holds(i) is positive:
                    self._reasons(i, positive, out)
        elif isinstance(e, Not):
            self._reasons(e.item, not positive, out)
        elif isinstance(e, (Some, Only, HasValue, MaxZero)):
            vals = self._values(e.prop)
            if not vals:
                out.append(("absent", e.prop))
            elif isinstance(e, Some) and positive:
                named = e.filler.iri if isinstance(e.filler, Named) else None
                for v in vals:
                    if self._filler_holds(v, e.filler):
                        out.append(("fact", e.prop, v, named) if named else ("fact", e.prop, v))
            elif isinstance(e, HasValue) and positive:
                out.append(("fact", e.prop, e.value))
            else:
                for v in vals:
                    out.append(("fact", e.prop, v))
