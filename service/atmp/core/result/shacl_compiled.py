"""The product shapes compiled into Python predicates: the same SHACL results as pyshacl, ~100x faster.

Why: pyshacl spends ~50 ms per card on our shapes (it builds and stringifies a report node for
every inner ``sh:not``/``sh:and`` evaluation), which caps a 10,000-card screening at minutes. The
shapes stay the source of truth: this module reads ``shapes/product-shapes.ttl`` at start-up and
compiles each shape into a predicate over a product's values; nothing here names a rule.

Only the SHACL Core components our shapes need are compiled (targets by ``sh:targetClass``,
``sh:path`` with an IRI, ``sh:not/and/or/xone/node``, ``sh:minCount/maxCount``, ``sh:hasValue``,
``sh:in``, qualified value shapes). A shape using anything else raises :class:`NotCompilable`,
and :func:`atmp.validate.validate_cards` then uses pyshacl for the batch: an edited shapes file
is never silently mis-read. The tests hold this module to pyshacl's answers on the examples, the
catalogue and random cards.

Results are emitted as pyshacl emits them — one per failing constraint component (and per
failing value node for value-node components) — so the entries built from them are identical.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from rdflib import RDF, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

from atmp.core.rules.namespaces import SH

Value = object  # a data value: URIRef, or bool for xsd:boolean literals
Data = Mapping[object, Mapping[URIRef, tuple]]  # node -> property -> values
Check = Callable[[object, Data], bool]  # does this node conform to a (nested) shape?

# constraint parameters that name shapes or values, not constraints of their own
_PARAMETERS = {
    SH.path,
    SH.severity,
    SH.message,
    SH.targetClass,
    SH.deactivated,
    SH.name,
    SH.description,
    SH.order,
    SH.group,
    SH.qualifiedMinCount,
    SH.qualifiedMaxCount,
    SH.qualifiedValueShapesDisjoint,
    RDF.type,
}
_COMPILED = {SH["not"], SH["and"], SH["or"], SH.xone, SH.node, SH.minCount, SH.maxCount, SH.hasValue, SH["in"], SH.qualifiedValueShape}


class NotCompilable(ValueError):
    """The shapes use a construct this module does not compile; pyshacl must validate them."""


@dataclass(frozen=True)
class RawResult:
    """What the report needs of one ``sh:ValidationResult``."""

    focus: object
    shape: URIRef
    severity: URIRef
    value: object | None
    path: URIRef | None


def _term(node: Node) -> Value:
    if isinstance(node, Literal):
        value = node.toPython()
        if isinstance(value, bool):
            return value
        raise NotCompilable(f"literal {node!r}: only xsd:boolean values are compiled")
    return node


# -- the compiled checks: small callable objects, not closures, so the compiled shapes can be stored
# in the compiled cache (atmp.core.rules.cache) and a cold start does not walk the shapes graph again
class _Conforms:
    """Does a value node conform to a shape (none of its constraints fails)?"""

    __slots__ = ("checks",)

    def __init__(self, checks: list):
        self.checks = checks

    def __call__(self, node, data) -> bool:
        return not any(c(node, data) for c in self.checks)


class _Not:
    __slots__ = ("inner",)

    def __init__(self, inner):
        self.inner = inner

    def __call__(self, v, d) -> bool:
        return not self.inner(v, d)


class _All:
    __slots__ = ("parts",)

    def __init__(self, parts: list):
        self.parts = parts

    def __call__(self, v, d) -> bool:
        return all(p(v, d) for p in self.parts)


class _Any:
    __slots__ = ("parts",)

    def __init__(self, parts: list):
        self.parts = parts

    def __call__(self, v, d) -> bool:
        return any(p(v, d) for p in self.parts)


class _ExactlyOne:
    __slots__ = ("parts",)

    def __init__(self, parts: list):
        self.parts = parts

    def __call__(self, v, d) -> bool:
        return sum(1 for p in self.parts if p(v, d)) == 1


class _In:
    __slots__ = ("allowed",)

    def __init__(self, allowed: set):
        self.allowed = allowed

    def __call__(self, v, d) -> bool:
        return v in self.allowed


class _FocusFails:
    """A value-node test applied to the focus itself (a node shape): the failing focus, or nothing."""

    __slots__ = ("test",)

    def __init__(self, test):
        self.test = test

    def __call__(self, node, data) -> list:
        return [node] if not self.test(node, data) else []


class _ValuesFail:
    """A value-node test applied to each value on the path: the failing values, in order."""

    __slots__ = ("test", "path")

    def __init__(self, test, path: URIRef):
        self.test, self.path = test, path

    def __call__(self, node, data) -> list:
        return [v for v in data.get(node, {}).get(self.path, ()) if not self.test(v, data)]


class _IsValue:
    """``sh:hasValue`` on a node shape: the node itself must be the value."""

    __slots__ = ("wanted",)

    def __init__(self, wanted):
        self.wanted = wanted

    def __call__(self, node, data) -> list:
        return [] if node == self.wanted else [None]


class _MinCount:
    __slots__ = ("n", "path")

    def __init__(self, n: int, path: URIRef):
        self.n, self.path = n, path

    def __call__(self, node, data) -> list:
        return [None] if len(data.get(node, {}).get(self.path, ())) < self.n else []


class _MaxCount:
    __slots__ = ("n", "path")

    def __init__(self, n: int, path: URIRef):
        self.n, self.path = n, path

    def __call__(self, node, data) -> list:
        return [None] if len(data.get(node, {}).get(self.path, ())) > self.n else []


class _HasValue:
    __slots__ = ("wanted", "path")

    def __init__(self, wanted, path: URIRef):
        self.wanted, self.path = wanted, path

    def __call__(self, node, data) -> list:
        return [] if self.wanted in data.get(node, {}).get(self.path, ()) else [None]


class _Qualified:
    __slots__ = ("inner", "low", "high", "path")

    def __init__(self, inner, low: int | None, high: int | None, path: URIRef):
        self.inner, self.low, self.high, self.path = inner, low, high, path

    def __call__(self, node, data) -> list:
        count = sum(1 for v in data.get(node, {}).get(self.path, ()) if self.inner(v, data))
        fails = []
        if self.low is not None and count < self.low:
            fails.append(None)
        if self.high is not None and count > self.high:
            fails.append(None)
        return fails


class _Compiler:
    def __init__(self, shapes: Graph):
        self.g = shapes

    def _list(self, node: Node) -> list[Node]:
        return list(Collection(self.g, node))

    def components(self, shape: Node) -> list[tuple[URIRef, Node]]:
        out = []
        for p, o in self.g.predicate_objects(shape):
            if p in _COMPILED:
                out.append((p, o))
            elif p not in _PARAMETERS and str(p).startswith(str(SH)):
                raise NotCompilable(f"{shape}: {p} is not compiled")
        return out

    def path(self, shape: Node) -> URIRef | None:
        path = self.g.value(shape, SH.path)
        if path is not None and not isinstance(path, URIRef):
            raise NotCompilable(f"{shape}: only IRI paths are compiled")
        return path

    def conforms(self, shape: Node) -> Check:
        """A predicate: does a value node conform to ``shape`` (all of its constraints)?"""
        return _Conforms([c for _, c in self.failures(shape)])

    def failures(self, shape: Node) -> list[tuple[tuple[URIRef, Node], Callable[[object, Data], list]]]:
        """Per constraint of ``shape``: a function giving the failing value nodes (or ``[None]``)."""
        path = self.path(shape)
        out: list = []
        for component, param in self.components(shape):
            per_value = self._per_value(component, param)
            if per_value is not None:
                out.append(((component, param), _FocusFails(per_value) if path is None else _ValuesFail(per_value, path)))
            elif path is None and component == SH.hasValue:  # on a node shape: the node itself must be the value
                out.append(((component, param), _IsValue(_term(param))))
            else:
                if path is None:
                    raise NotCompilable(f"{shape}: {component} needs sh:path")
                out.append(((component, param), self._on_values(shape, component, param, path)))
        return out

    def _per_value(self, component: URIRef, param: Node) -> Check | None:
        """Value-node components: a test per value node, or None for components over the value set."""
        if component == SH["not"]:
            return _Not(self.conforms(param))
        if component == SH["and"]:
            return _All([self.conforms(s) for s in self._list(param)])
        if component == SH["or"]:
            return _Any([self.conforms(s) for s in self._list(param)])
        if component == SH.xone:
            return _ExactlyOne([self.conforms(s) for s in self._list(param)])
        if component == SH.node:
            return self.conforms(param)
        if component == SH["in"]:
            return _In({_term(x) for x in self._list(param)})
        return None

    def _on_values(self, shape: Node, component: URIRef, param: Node, path: URIRef) -> Callable[[object, Data], list]:
        if component == SH.minCount:
            return _MinCount(int(param), path)  # type: ignore[arg-type]
        if component == SH.maxCount:
            return _MaxCount(int(param), path)  # type: ignore[arg-type]
        if component == SH.hasValue:
            return _HasValue(_term(param), path)
        if component == SH.qualifiedValueShape:
            inner = self.conforms(param)
            low = self.g.value(shape, SH.qualifiedMinCount)
            high = self.g.value(shape, SH.qualifiedMaxCount)
            if self.g.value(shape, SH.qualifiedValueShapesDisjoint) not in (None, Literal(False)):
                raise NotCompilable(f"{shape}: sh:qualifiedValueShapesDisjoint is not compiled")
            return _Qualified(inner, None if low is None else int(low), None if high is None else int(high), path)  # type: ignore[arg-type]
        raise NotCompilable(f"{shape}: {component} is not compiled")


@dataclass
class CompiledShape:
    iri: URIRef
    severity: URIRef
    path: URIRef | None
    constraints: list[Callable[[object, Data], list]]
    reads: tuple[URIRef, ...]  # every sh:path in the shape's tree: the focus values its answer depends on
    terms: frozenset = frozenset()  # every value the shape's tree names (see _terms)


_FOCUS = object()  # stands for "the focus node itself" in memoised failures


def _paths(shapes: Graph, shape: Node, seen: set | None = None) -> set[URIRef]:
    """All sh:path IRIs reachable from a shape through nested shapes and lists."""
    seen = set() if seen is None else seen
    if shape in seen:
        return set()
    seen.add(shape)
    out = {p for p in shapes.objects(shape, SH.path) if isinstance(p, URIRef)}
    for pred, obj in shapes.predicate_objects(shape):
        if pred == SH.path:
            continue
        if (obj, RDF.first, None) in shapes:
            for item in Collection(shapes, obj):
                out |= _paths(shapes, item, seen)
        elif not isinstance(obj, Literal):
            out |= _paths(shapes, obj, seen)
    return out


def _terms(shapes: Graph, shape: Node, seen: set | None = None) -> set:
    """Every term a shape's tree names as a value (``sh:in`` members, ``sh:hasValue``, anything else it points at).

    A value node outside this set is treated alike by every constraint of the shape (it is in no
    ``sh:in`` list and equals no ``sh:hasValue``), so the memo may key it as "some other value".
    A superset is safe: it only tells more values apart than needed.
    """
    seen = set() if seen is None else seen
    if shape in seen:
        return set()
    seen.add(shape)
    out: set = set()
    for _, obj in shapes.predicate_objects(shape):
        if (obj, RDF.first, None) in shapes:
            for item in Collection(shapes, obj):
                out.add(item.toPython() if isinstance(item, Literal) else item)
                out |= _terms(shapes, item, seen)
        else:
            out.add(obj.toPython() if isinstance(obj, Literal) else obj)
            if not isinstance(obj, Literal):
                out |= _terms(shapes, obj, seen)
    return out


_OTHER = object()  # in a memo key: a listed value the shape cannot tell from any other value it does not name


class CompiledShapes:
    """All top-level shapes targeting one class, ready to run over products' values."""

    def __init__(self, shapes: Graph, target: URIRef):
        compiler = _Compiler(shapes)
        self.shapes: list[CompiledShape] = []
        for shape in sorted(set(shapes.subjects(SH.severity, None)) | set(shapes.subjects(SH.targetClass, None)), key=str):
            targets = set(shapes.objects(shape, SH.targetClass))
            if (shape, SH.deactivated, Literal(True)) in shapes:
                continue
            if targets != {target}:
                raise NotCompilable(f"{shape}: only sh:targetClass {target} is compiled")
            for other in (SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf):
                if (shape, other, None) in shapes:
                    raise NotCompilable(f"{shape}: {other} is not compiled")
            if not isinstance(shape, URIRef):
                raise NotCompilable("top-level shapes must be IRIs")
            severity = shapes.value(shape, SH.severity) or SH.Violation
            checks = [f for _, f in compiler.failures(shape)]
            reads = tuple(sorted(_paths(shapes, shape), key=str))
            self.shapes.append(CompiledShape(shape, severity, compiler.path(shape), checks, reads, frozenset(_terms(shapes, shape))))  # type: ignore[arg-type]

    def run(self, focus_nodes: Iterable[object], data: Data) -> list[RawResult]:
        """Results for every focus node, in focus order.

        A shape's failures depend only on the focus node's values on the paths it reads (deeper
        nodes — vocabulary terms, classes — are the same for every focus in one run), so they are
        memoised per shape and projection: a batch of 10,000 cards evaluates each shape once per
        distinct combination of the few fields it reads. A list of several values is keyed only by
        what the shape can tell apart (see :func:`_key`), and failing value nodes are remembered by
        their position in the focus's values on the shape's path, so a memo entry made for one list
        replays with the values of another that the shape cannot tell from it.
        """
        out = []
        memo: dict[tuple, list] = {}
        # The data's property keys are other objects than the shapes' equal IRIs; looking up with
        # the data's own objects lets every dict hit on identity instead of rdflib's Python __eq__.
        own: dict = {}
        reads: list[tuple] = [shape.reads for shape in self.shapes]
        paths: list = [shape.path for shape in self.shapes]
        for focus in focus_nodes:
            values = data.get(focus, {})
            if not own and values:
                own = {k: k for k in values}
                reads = [tuple(own.get(p, p) for p in shape.reads) for shape in self.shapes]
                paths = [own.get(shape.path, shape.path) for shape in self.shapes]
            for index, shape in enumerate(self.shapes):
                key = (index, *(_key(values.get(p), shape.terms, data) for p in reads[index]))
                failures = memo.get(key)
                on_path = values.get(paths[index], ()) if paths[index] is not None else ()
                if failures is None:
                    failures = [_positions(check(focus, data), focus, on_path) for check in shape.constraints]
                    memo[key] = failures
                for per_check in failures:
                    for value in per_check:
                        shown = focus if value is _FOCUS else None if value is None else on_path[value]
                        out.append(RawResult(focus, shape.iri, shape.severity, shown, shape.path))
        return out


def _key(vals: tuple | None, terms: frozenset, data: Data):
    """A focus's values on one path as the memo sees them: several values become what the shape can tell apart.

    A value the shape does not name is keyed as :data:`_OTHER`, unless it has data of its own (a
    node a nested shape could look into), which keeps it as itself. One value or none is kept as is.
    """
    if vals is None or len(vals) < 2:
        return vals
    return tuple(v if v in terms or v in data else _OTHER for v in vals)


def _positions(failing: list, focus, on_path: tuple) -> list:
    """Failing value nodes as positions in ``on_path`` (the focus's values on the shape's path), in order.

    ``None`` (a failure with no value node) and the focus itself (:data:`_FOCUS`) stay as they are;
    each other value is a value of ``on_path``, in the order the constraint met them.
    """
    out: list = []
    j = 0
    for v in failing:
        if v is None:
            out.append(None)
        elif v == focus:
            out.append(_FOCUS)
        else:
            while on_path[j] is not v and on_path[j] != v:
                j += 1
            out.append(j)
            j += 1
    return out
