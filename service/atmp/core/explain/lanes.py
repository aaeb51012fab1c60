"""The compiled class definitions evaluated on many products at once: one bit per product ("lane").

Why: ``--explain brief`` re-decides each conclusion on changed copies of the product's facts (about
a hundred copies per card, see :mod:`atmp.core.explain.justify`). One at a time, each copy runs the
generated class functions of :mod:`atmp.core.engines.compiled` — a Python call per class per copy, two
thirds of a brief batch. Here the copies of a whole chunk of products are lanes of Python integers:
a class's truth is two integers (the lanes where it is true, the lanes where it is false; neither is
unknown), and one pass over the definitions decides every class on every lane with a few integer
operations per class, at C speed however many lanes there are.

The three-valued rules are the scalar ones:

* ``P some F`` is true on the lanes that have a value in ``mask(F)`` (the same masks the scalar code
  tests), ``P only F`` where no value is outside it, ``P value x`` and ``P max 0`` likewise;
  restrictions are two-valued, their false lanes are the complement;
* ``and``/``or``/``not`` are Kleene's (an ``and`` is false where an item is false, true where all are);
* a class is true where a definition is, else false where one is, else true where a named subclass
  is, else unknown; ``owl:Thing`` and the product's asserted types are true everywhere.

Definitional cycles (5 groups of classes in this ontology: a class and its subclasses defined through
it) are decided by iterating their group from "unknown everywhere" until nothing changes: Kleene's
logic is monotone, so this reaches the least fixed point, which is what the scalar evaluation's
rules ("a class met again while being decided is unknown; such an unknown is not remembered")
answer whatever the order of asking. A group that does not settle within :data:`LIMIT` passes raises
:class:`NotSettled` and the caller re-decides the scalar way. ``tests/test_lanes.py`` holds every
class on every lane to the scalar functions.

Nothing here names a rule: the code is generated from the same :class:`~atmp.core.engines.evaluator.Definitions`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from rdflib import URIRef

from atmp.core.engines.compiled import CompiledClasses, _named
from atmp.core.engines.expressions import And, Expr, HasValue, MaxZero, Named, Not, OneOf, Only, Or, Some

LIMIT = 64  # passes over a cyclic group before giving up (each pass can only settle more lanes)


class NotSettled(RuntimeError):
    """A cyclic group of classes kept changing: the caller decides these lanes the scalar way."""


class LaneClasses:
    """Generated lane-parallel evaluation of one :class:`CompiledClasses` (same classes, slots, bits)."""

    def __init__(self, cc: CompiledClasses):
        self.cc = cc
        self.n = len(cc.classes)
        self.oneof: dict[str, frozenset] = {}
        self.source = self._generate()
        from atmp.core.rules.cache import cached_code

        code = cached_code("lanes", (self.source,), lambda: self.source)  # compiling is most of the cost: once per source
        namespace: dict = {"NotSettled": NotSettled}
        exec(code, namespace)  # noqa: S102 - our own generated code, from the ontology
        self._run = namespace["run"]

    # -- evaluation
    def evaluate(self, products: Sequence[tuple[tuple[int, ...], URIRef, Sequence[tuple]]]) -> Lanes:
        """Every class on every lane.

        ``products``: per product, its bitsets (as :meth:`CompiledClasses.encode` gives them), its IRI
        (enumerations of products test it) and its lanes, each a tuple of ``(slot, new bits)`` changes
        (``()``: the product as it is). A product's lanes are consecutive, in the order given.
        """
        width = [len(b) for b in self.cc.bits]
        n = sum(len(changed) for _, _, changed in products)
        nbytes = (n + 7) // 8 or 1
        arrays = [[bytearray(nbytes) for _ in range(w)] for w in width]  # per (slot, bit): the lanes having it
        oneof = {name: bytearray(nbytes) for name in self.oneof}
        start = 0
        for row, iri, changed in products:
            end = start + len(changed)
            for slot, value in enumerate(row[: len(width)]):  # every lane starts as the product
                k = 0
                while value:
                    if value & 1:
                        _fill(arrays[slot][k], start, end)
                    value >>= 1
                    k += 1
            for name, members in self.oneof.items():
                if iri in members:
                    _fill(oneof[name], start, end)
            for lane, changes in enumerate(changed, start):  # then each lane's own changes
                byte, bit = lane >> 3, 1 << (lane & 7)
                for slot, value in changes:
                    flips = _flips(row[slot], value)
                    per_slot = arrays[slot]
                    for k in flips[0]:
                        per_slot[k][byte] &= ~bit
                    for k in flips[1]:
                        per_slot[k][byte] |= bit
            start = end
        masks = [[int.from_bytes(a, "little") for a in per_slot] for per_slot in arrays]
        nonzero = []
        for per_slot in masks:
            acc = 0
            for m in per_slot:
                acc |= m
            nonzero.append(acc)
        true, false = [0] * self.n, [0] * self.n
        self._run(masks, nonzero, (1 << n) - 1, {name: int.from_bytes(a, "little") for name, a in oneof.items()}, true, false)
        return Lanes(self.cc, true, false, n)

    # -- code generation
    def _groups(self) -> list[list[URIRef]]:
        """The classes as strongly connected groups of the call graph, each after every group it calls (Tarjan, iterative)."""
        cc, ev = self.cc, self.cc.ev
        calls: dict[URIRef, list[URIRef]] = {}
        for cls in cc.classes:
            out: set[URIRef] = set()
            if not (cls is ev.thing or cls in cc.types):
                for e in ev.defs.equivalents.get(cls, ()):
                    out |= _named(e)
                out.update(ev.defs.subclasses.get(cls, ()))
            calls[cls] = sorted(out, key=str)
        index: dict[URIRef, int] = {}
        low: dict[URIRef, int] = {}
        stack: list[URIRef] = []
        on_stack: set[URIRef] = set()
        groups: list[list[URIRef]] = []
        for root in cc.classes:
            if root in index:
                continue
            work = [(root, iter(calls[root]))]
            index[root] = low[root] = len(index)
            stack.append(root)
            on_stack.add(root)
            while work:
                v, todo = work[-1]
                w = next(todo, None)
                if w is not None:
                    if w not in index:
                        index[w] = low[w] = len(index)
                        stack.append(w)
                        on_stack.add(w)
                        work.append((w, iter(calls.get(w, ()))))
                    elif w in on_stack:
                        low[v] = min(low[v], index[w])
                    continue
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    group = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        group.append(w)
                        if w is v:
                            break
                    groups.append(sorted(group, key=str))
        self.cyclic = {c for g in groups for c in g if len(g) > 1 or c in calls[c]}
        return groups

    def _generate(self) -> str:
        cc = self.cc
        hoisted: list[str] = []  # two-valued parts: computed once per evaluation, outside any iteration
        names: dict[int, str] = {}
        counter = [0]

        def bits_of(slot: int, mask: int) -> list[int]:
            return [k for k in range(len(cc.bits[slot])) if mask >> k & 1]

        def union(slot: int, ks: list[int]) -> str:
            return "(" + " | ".join(f"M[{slot}][{k}]" for k in ks) + ")" if ks else "0"

        def two_valued(e: Expr) -> bool:
            if isinstance(e, Named):
                return False
            if isinstance(e, (And, Or)):
                return all(two_valued(i) for i in e.items)
            if isinstance(e, Not):
                return two_valued(e.item)
            return True

        def flat(e: Expr) -> str:
            """A two-valued expression: the mask of the lanes where it is true."""
            if isinstance(e, OneOf):
                name = f"K{len(self.oneof)}"
                self.oneof[name] = frozenset(e.members)
                return f"O[{name!r}]"
            if isinstance(e, Not):
                return f"(A ^ {hoist(e.item)})"
            if isinstance(e, (And, Or)):
                if not e.items:
                    return "A" if isinstance(e, And) else "0"
                return "(" + (" & " if isinstance(e, And) else " | ").join(hoist(i) for i in e.items) + ")"
            slot = cc.slot.get(e.prop, cc.zero_slot)  # type: ignore[attr-defined]
            if isinstance(e, MaxZero):
                return "A" if slot == cc.zero_slot else f"(A ^ NZ[{slot}])"
            if slot == cc.zero_slot:  # no value ever: some/value false, only true
                return "A" if isinstance(e, Only) else "0"
            if isinstance(e, HasValue):
                bit = cc.bits[slot].get(e.value)
                return "0" if bit is None else f"M[{slot}][{bit.bit_length() - 1}]"
            mask = cc._mask(slot, e.filler)  # type: ignore[attr-defined]
            if isinstance(e, Some):
                return union(slot, bits_of(slot, mask))
            full = sum(cc.bits[slot].values())
            return f"(A ^ {union(slot, bits_of(slot, full & ~mask))})"

        def hoist(e: Expr) -> str:
            found = names.get(id(e))
            if found is None:
                counter[0] += 1
                found = names[id(e)] = f"h{counter[0]}"
                hoisted.append(f"    {found} = {flat(e)}")
            return found

        def pair(e: Expr, body: list[str]) -> tuple[str, str]:
            """(true lanes, false lanes) of ``e``, emitting the temporaries it needs into ``body``."""
            if two_valued(e):
                t = hoist(e)
                return t, f"(A ^ {t})"
            if isinstance(e, Named):
                j = cc.index[e.iri]
                return f"T[{j}]", f"F[{j}]"
            if isinstance(e, Not):
                t, f = pair(e.item, body)
                return f, t
            parts = [pair(i, body) for i in e.items]  # type: ignore[attr-defined]
            counter[0] += 1
            t, f = f"t{counter[0]}", f"f{counter[0]}"
            if isinstance(e, And):  # Kleene: false where any item is false, true where all are true
                body += [f"    {t} = " + " & ".join(p[0] for p in parts), f"    {f} = " + " | ".join(p[1] for p in parts)]
            else:
                body += [f"    {t} = " + " | ".join(p[0] for p in parts), f"    {f} = " + " & ".join(p[1] for p in parts)]
            return t, f

        def decide(cls: URIRef, body: list[str]) -> None:
            i = cc.index[cls]
            if cls is cc.ev.thing or cls in cc.types:
                body += [f"    T[{i}] = A", f"    F[{i}] = 0"]
                return
            defs = [pair(e, body) for e in cc.ev.defs.equivalents.get(cls, ())]
            if not defs:
                body += ["    rt = 0", "    rf = 0"]
            elif len(defs) == 1:
                body += [f"    rt = {defs[0][0]}", f"    rf = {defs[0][1]}"]
            else:  # true where a definition is true; else false where one is false
                body += ["    rt = " + " | ".join(d[0] for d in defs), "    rf = (" + " | ".join(d[1] for d in defs) + ") & (A ^ rt)"]
            subs = cc.ev.defs.subclasses.get(cls, ())
            if subs:  # still unknown: true where a named subclass is true
                body.append("    rt = rt | ((" + " | ".join(f"T[{cc.index[s]}]" for s in subs) + ") & (A ^ rf))")
            body += [f"    T[{i}] = rt", f"    F[{i}] = rf"]

        body: list[str] = []
        for group in self._groups():
            if not (set(group) & self.cyclic):
                decide(group[0], body)
                continue
            slots = ", ".join(f"T[{cc.index[c]}], F[{cc.index[c]}]" for c in group)
            body.append(f"    for _ in range({LIMIT}):")
            body.append(f"        before = ({slots},)")
            inner: list[str] = []
            for cls in group:
                decide(cls, inner)
            body += ["    " + line for line in inner]
            body += [f"        if ({slots},) == before:", "            break", "    else:", "        raise NotSettled()"]
        return "def run(M, NZ, A, O, T, F):\n" + "\n".join(hoisted + body) + "\n"


class Lanes:
    """Every class's true and false lanes after one :meth:`LaneClasses.evaluate`."""

    __slots__ = ("cc", "true", "false", "n", "_bytes")

    def __init__(self, cc: CompiledClasses, true: list[int], false: list[int], n: int):
        self.cc, self.true, self.false, self.n = cc, true, false, n
        self._bytes: dict[int, tuple[bytes, bytes]] = {}

    def true_bytes(self, cls: URIRef) -> bytes:
        """The lanes where ``cls`` is true, as little-endian bytes: lane ``l`` is bit ``l & 7`` of byte ``l >> 3``."""
        return self._pair(self.cc.index[cls])[0]

    def _pair(self, i: int) -> tuple[bytes, bytes]:
        found = self._bytes.get(i)
        if found is None:
            size = (self.n + 7) // 8 or 1
            found = self._bytes[i] = (self.true[i].to_bytes(size, "little"), self.false[i].to_bytes(size, "little"))
        return found

    def truth_of(self, cls: URIRef):
        """``lane -> True | False | None`` for one class (the masks turned into bytes once, so a look-up is O(1))."""
        t, f = self._pair(self.cc.index[cls])

        def truth(lane: int) -> bool | None:
            byte, bit = lane >> 3, 1 << (lane & 7)
            if t[byte] & bit:
                return True
            if f[byte] & bit:
                return False
            return None

        return truth


@lru_cache(maxsize=65536)
def _flips(old: int, new: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The bit positions a changed slot loses and gains (few distinct pairs: a value, a value dropped or added)."""
    gone, added = old & ~new, new & ~old
    return tuple(k for k in range(gone.bit_length()) if gone >> k & 1), tuple(k for k in range(added.bit_length()) if added >> k & 1)


def _fill(array: bytearray, start: int, end: int) -> None:
    """Set the bits of lanes ``start`` to ``end - 1``: whole bytes at once, a byte mask at each edge."""
    if start >= end:
        return
    a, b = start >> 3, (end - 1) >> 3
    head = (0xFF << (start & 7)) & 0xFF
    tail = 0xFF >> (7 - ((end - 1) & 7))
    if a == b:
        array[a] |= head & tail
        return
    array[a] |= head
    if b > a + 1:
        array[a + 1 : b] = b"\xff" * (b - a - 1)
    array[b] |= tail


def lane_classes(cc: CompiledClasses) -> LaneClasses:
    """The lane form of a compiled form, generated once per compiled form."""
    found = cc.__dict__.get("_lanes")
    if found is None:
        found = cc.__dict__["_lanes"] = LaneClasses(cc)
    return found
