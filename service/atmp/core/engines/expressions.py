"""OWL class expressions of the ontology, read into a tree the engines evaluate on a closed product.

The tree is what every engine shares: the interpreter (:mod:`atmp.core.engines.evaluator`), the generated
code (:mod:`atmp.core.engines.compiled`), the explanations and the authoring checks all walk it. Only the
constructs the ontology uses are known; another one raises :class:`UnsupportedAxiom` (the reasoner path still
works).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rdflib import OWL, RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection


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


def kleene_and(values) -> bool | None:
    """Kleene's conjunction of three-valued truths (None = unknown): one false decides, else one unknown wins.
    ``values`` may be a generator: it is read only until a false one."""
    unknown = False
    for v in values:
        if v is False:
            return False
        unknown = unknown or v is None
    return None if unknown else True


def kleene_or(values) -> bool | None:
    """Kleene's disjunction: one true decides, else one unknown wins over false."""
    unknown = False
    for v in values:
        if v is True:
            return True
        unknown = unknown or v is None
    return None if unknown else False


def parts(e: Expr) -> list[Expr]:
    """The named classes and the restrictions (or enumerations) an expression is built from, through its
    conjunctions, disjunctions and complements but not into restriction fillers (those read vocabulary terms)."""
    out: list[Expr] = []
    todo = [e]
    while todo:
        x = todo.pop()
        if isinstance(x, (And, Or)):
            todo.extend(x.items)
        elif isinstance(x, Not):
            todo.append(x.item)
        else:
            out.append(x)
    return out


def parse_expr(graph: Graph, node, canon: dict | None = None) -> Expr:
    """``canon`` maps each IRI to one shared object, so that lookups during evaluation hit by identity."""
    canon = {} if canon is None else canon

    def c(term):
        return canon.setdefault(term, term) if isinstance(term, URIRef) else term

    def sub(n) -> Expr:
        return parse_expr(graph, n, canon)

    if isinstance(node, URIRef):
        return Named(c(node))
    if (node, OWL.intersectionOf, None) in graph:
        return And(tuple(sub(n) for n in Collection(graph, graph.value(node, OWL.intersectionOf))))
    if (node, OWL.unionOf, None) in graph:
        return Or(tuple(sub(n) for n in Collection(graph, graph.value(node, OWL.unionOf))))
    if (node, OWL.complementOf, None) in graph:
        return Not(sub(graph.value(node, OWL.complementOf)))
    if (node, OWL.oneOf, None) in graph:
        return OneOf(frozenset(c(m) for m in Collection(graph, graph.value(node, OWL.oneOf))))  # type: ignore[arg-type]
    prop = c(graph.value(node, OWL.onProperty))
    if prop is not None:
        if (node, OWL.someValuesFrom, None) in graph:
            return Some(prop, sub(graph.value(node, OWL.someValuesFrom)))  # type: ignore[arg-type]
        if (node, OWL.allValuesFrom, None) in graph:
            return Only(prop, sub(graph.value(node, OWL.allValuesFrom)))  # type: ignore[arg-type]
        if (node, OWL.hasValue, None) in graph:
            value = graph.value(node, OWL.hasValue)
            return HasValue(prop, bool(value.toPython()) if isinstance(value, Literal) else c(value))  # type: ignore[arg-type]
        for card in (OWL.maxCardinality, OWL.cardinality):
            n = graph.value(node, card)
            if n is not None and int(n) == 0:
                return MaxZero(prop)  # type: ignore[arg-type]
    raise UnsupportedAxiom(f"unsupported class expression at {node!r}")


@dataclass
class Definitions:
    """Named-class definitions (equivalent classes), subclass links and asserted vocabulary types."""

    equivalents: dict[URIRef, list[Expr]] = field(default_factory=dict)
    subclasses: dict[URIRef, set[URIRef]] = field(default_factory=dict)  # class -> direct named subclasses (sorted tuples once built)
    asserted: dict[URIRef, set[URIRef]] = field(default_factory=dict)  # individual -> asserted classes
    canon: dict[URIRef, URIRef] = field(default_factory=dict)  # IRI -> the one object used for it everywhere here

    @classmethod
    def from_graph(cls, graph: Graph) -> Definitions:
        defs = cls()
        canon = defs.canon
        canon[OWL.Thing] = OWL.Thing

        def k(term):
            return canon.setdefault(term, term)

        back: list[tuple[URIRef, URIRef]] = []
        for c, e in graph.subject_objects(OWL.equivalentClass):
            if isinstance(c, URIRef):
                defs.equivalents.setdefault(k(c), []).append(parse_expr(graph, e, canon))
                if isinstance(e, URIRef):  # named equivalence works both ways
                    back.append((k(e), k(c)))
        # a class's own definitions come before the classes declared equal to it, whatever the order of
        # the triples in the file: explanations cite the first equivalent that holds (see ProductContext._why)
        for e, c in sorted(back, key=lambda pair: (str(pair[0]), str(pair[1]))):
            defs.equivalents.setdefault(e, []).append(Named(c))
        for sub, sup in graph.subject_objects(RDFS.subClassOf):
            if isinstance(sub, URIRef) and isinstance(sup, URIRef):
                defs.subclasses.setdefault(k(sup), set()).add(k(sub))
            elif isinstance(sub, URIRef) and isinstance(sup, BNode):
                raise UnsupportedAxiom(f"anonymous superclass of {sub}: add it as a named class")
        for ind in graph.subjects(RDF.type, OWL.NamedIndividual):
            defs.asserted[k(ind)] = {k(t) for t in graph.objects(ind, RDF.type) if isinstance(t, URIRef)}  # type: ignore[index]
        # subclasses are visited in IRI order: a set's order changes with Python's hash seed, and
        # with it which subclass an explanation cites first
        defs.subclasses = {sup: tuple(sorted(subs, key=str)) for sup, subs in defs.subclasses.items()}  # type: ignore[misc]
        return defs
