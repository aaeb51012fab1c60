"""Counterfactual re-decisions on the compiled bitsets: what makes ``--explain brief`` cheap.

Why: :mod:`atmp.core.justify` decides which card facts a conclusion rests on by dropping or
flipping each fact the class reads and re-deciding the class (~190 re-decisions per card). Done
the reference way, each re-decision copies the facts, builds a new
:class:`atmp.core.evaluator.ProductContext` and encodes its bitsets again — about 8 ms per card.
Here a change is applied to the product's bitset tuple directly (one slot changed: a bit cleared
for a removed code, set for an added one, the slot replaced for a set or absent value) and only
the concluding class's compiled function runs on it, with a fresh memo, so it re-evaluates only
the classes that class reaches. The answers are the reference's (the compiled functions are the
ones the reference path uses for the same facts; ``tests/test_justify_fast.py`` compares the two
briefs on examples, catalogue and generated cards).

A change whose value is outside the compiled vocabulary, or a class the compiled form does not
hold, returns ``None``: the caller then re-decides the reference way.
"""

from __future__ import annotations

from rdflib import URIRef

from .compiled import UNSET
from .ontology import CardProperty


class BitVariants:
    """Changed copies of one product's bitsets, each with its own compiled memo (shared by all its conclusions)."""

    __slots__ = ("cc", "bits", "iri", "props", "memos", "base", "readers")

    def __init__(self, cc, bits: tuple[int, ...], iri: URIRef, props: dict[URIRef, CardProperty], base: list, ev):
        self.cc, self.bits, self.iri, self.props, self.base = cc, bits, iri, props, base
        self.memos: dict[frozenset, tuple[tuple[int, ...], list] | None] = {}
        self.readers = readers(ev, cc)

    def _changed(self, changes: tuple) -> tuple[int, ...] | None:
        """The bitsets with ``changes`` applied (``None``: a value the compiled vocabulary does not have)."""
        cc = self.cc
        out = list(self.bits)
        for canon_prop, op, value in changes:
            slot = cc.slot.get(canon_prop)
            if slot is None:
                return None
            bits = cc.bits[slot]
            if op == "absent":
                default = self.props[canon_prop].default
                new = 0 if default is None else bits.get(default)
            else:
                bit = bits.get(value)
                if bit is None:
                    return None
                new = out[slot] & ~bit if op == "remove" else out[slot] | bit if op == "add" else bit
            if new is None:
                return None
            out[slot] = new
        return tuple(out)

    def truth(self, cls: URIRef, changes: tuple) -> bool | None | object:
        """The class's three-valued truth on the changed facts, or :data:`MISS` when this path cannot tell."""
        i = self.cc.index.get(cls)
        if i is None:
            return MISS
        key = frozenset(changes)
        found = self.memos.get(key, MISS)
        if found is MISS:
            bits = self._changed(changes)
            found = self.memos[key] = None if bits is None else (bits, self.cc.new_memo(self.iri))
        if found is None:
            return MISS
        return self.cc.functions[i](found[0], found[1])

    def _memo(self, bits: tuple[int, ...]) -> list:
        """A memo for the changed bitsets: the product's own answers, less those of classes reading a changed slot.

        A class whose truth reads none of the changed slots (:meth:`Evaluator.reads`) has the same
        truth on the changed facts, so only the classes that read a changed slot are decided again.
        """
        cc = self.cc
        memo = cc.new_memo(self.iri)
        n = cc.n
        memo[:n] = self.base[:n]
        unset = UNSET
        for slot, (old, new) in enumerate(zip(self.bits, bits, strict=True)):
            if old != new:
                for i in self.readers[slot]:
                    memo[i] = unset
        return memo


def readers(ev, cc) -> list[tuple[int, ...]]:
    """Per slot of ``cc``: the indices of the classes whose truth may read it (all classes for the unread zero slot)."""
    found = cc.__dict__.get("_justify_readers")
    if found is None:
        found = [[] for _ in range(len(cc.props) + 1)]
        for i, cls in enumerate(cc.classes):
            reads = ev.reads(cls, cc.types)
            slots = range(len(found)) if reads is None else sorted({cc.slot[p] for p in reads if p in cc.slot})
            for slot in slots:
                found[slot].append(i)
        found = cc.__dict__["_justify_readers"] = [tuple(r) for r in found]
    return found


MISS = object()  # the fast path cannot decide this change; the reference path will
