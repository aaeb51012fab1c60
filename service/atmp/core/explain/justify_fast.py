"""Counterfactual re-decisions on the compiled bitsets: what makes ``--explain brief`` cheap.

Why: :mod:`atmp.core.explain.justify` decides which card facts a conclusion rests on by dropping or
flipping each fact the class reads and re-deciding the class (~190 re-decisions per card). Done
the reference way, each re-decision copies the facts, builds a new
:class:`atmp.core.engines.evaluator.ProductContext` and encodes its bitsets again — about 8 ms per card.
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

from atmp.core.rules.ontology import CardProperty


class BitVariants:
    """Changed copies of one product's bitsets, each with its own compiled memo (shared by all its conclusions)."""

    __slots__ = ("cc", "bits", "iri", "props", "memos", "slots", "template")

    def __init__(self, cc, bits: tuple[int, ...], iri: URIRef, props: dict[URIRef, CardProperty]):
        self.cc, self.bits, self.iri, self.props = cc, bits, iri, props
        self.memos: dict[tuple, tuple[tuple[int, ...], list] | None] = {}
        self.slots = slots_of(cc, props)
        self.template = cc.new_memo(iri)  # copied per changed variant: one C-level list copy instead of building it

    def _changed(self, changes: tuple) -> tuple[int, ...] | None:
        """The bitsets with ``changes`` applied (``None``: a value the compiled vocabulary does not have)."""
        out = list(self.bits)
        for canon_prop, op, value in changes:
            found = self.slots.get(canon_prop)
            if found is None:
                return None
            slot, bits, default = found
            if op == "absent":
                new = default
            else:
                bit = bits.get(value)
                if bit is None:
                    return None
                new = out[slot] & ~bit if op == "remove" else out[slot] | bit if op == "add" else bit
            if new is None:
                return None
            out[slot] = new
        return tuple(out)

    def function(self, cls: URIRef):
        """The compiled membership function of ``cls``, or ``None`` when the compiled form does not hold it."""
        i = self.cc.index.get(cls)
        return None if i is None else self.cc.functions[i]

    def truth(self, fn, changes: tuple) -> bool | None | object:
        """``fn``'s three-valued truth on the changed facts, or :data:`MISS` when this path cannot tell.

        Keyed by the changes as given (the search builds each one the same way every time), so no
        frozenset is hashed per re-decision.
        """
        found = self.memos.get(changes, MISS)
        if found is MISS:
            bits = self._changed(changes)
            found = self.memos[changes] = None if bits is None else (bits, self.template[:])
        if found is None:
            return MISS
        return fn(found[0], found[1])


def slots_of(cc, props: dict[URIRef, CardProperty]) -> dict[URIRef, tuple[int, dict, int | None]]:
    """Canonical property -> (its slot, its value bits, the bits of its absent value), once per compiled form.

    Keyed by the objects the search uses, so the lookups hit by identity instead of comparing IRIs.
    """
    found = cc.__dict__.get("_justify_slots")
    if found is None:
        found = {}
        for canon_prop, prop in props.items():
            slot = cc.slot.get(canon_prop)
            if slot is not None:
                bits = cc.bits[slot]
                found[canon_prop] = (slot, bits, 0 if prop.default is None else bits.get(prop.default))
        cc.__dict__["_justify_slots"] = found
    return found


MISS = object()  # the fast path cannot decide this change; the reference path will


class LazyRules:
    """:func:`atmp.core.explain.justify._rules_of_facts`, walked only as far as the lookups need.

    The reference walks every class below the conclusion (up to ``limit``) for each conclusion,
    although a reason asks for one or two facts, usually found in the first class or two; and a
    conclusion with no card-fact reason asks for none. The walk is the same breadth-first walk,
    advanced one class at a time until the asked-for key is known or the walk ends, so each answer
    is the one the full walk gives (the first class reading the fact, as ``setdefault`` keeps).
    """

    __slots__ = ("ctx", "out", "seen", "queue", "limit")

    def __init__(self, ctx, cls: URIRef, limit: int = 64):
        self.ctx, self.limit = ctx, limit
        self.out: dict = {}
        self.seen = {cls}
        self.queue = [cls]

    def _step(self) -> bool:
        """Walk one more class; False when the walk is over."""
        queue, seen, out = self.queue, self.seen, self.out
        if not queue or len(seen) >= self.limit:
            return False
        c = queue.pop(0)
        for reason in self.ctx.why(c):
            kind = reason[0]
            if kind == "fact" or kind == "absent":
                out.setdefault((reason[1], reason[2] if kind == "fact" else None), c)
                out.setdefault((reason[1], None), c)
            elif (kind == "class" or kind == "not") and reason[1] not in seen:
                seen.add(reason[1])
                queue.append(reason[1])
        return True

    def get(self, key: tuple):
        """The nearest named class reading the fact ``key``, or ``None`` (as ``dict.get`` on the full walk)."""
        out = self.out
        while key not in out and self._step():
            pass
        return out.get(key)
