"""Closed-world evaluation of the ontology's classes on a product: membership and its reasons.

Why this exists: the reasoner says *that* a product is in a class; to say *why*, we walk the
class's own definition over the product's card facts and collect the facts and named classes
that made it true. Because every product carries closure axioms (see :mod:`atmp.core.card.facts`), the
closed-world evaluation here gives the same memberships as HermiT; the test suite checks that.
"""

from __future__ import annotations

from rdflib import OWL, URIRef

from atmp.core.card.facts import ProductFacts
from atmp.core.engines.compiled import CompiledClasses
from atmp.core.engines.expressions import And, Definitions, Expr, HasValue, MaxZero, Named, Not, OneOf, Only, Or, Some, UnsupportedAxiom, kleene_and, kleene_or

SHARE_MAX_READS = 6  # see ProductContext.truth

Reason = tuple  # ("fact", prop, value) | ("absent", prop) | ("member", individual, class) | ("class", class) | ("not", class)


class Evaluator:
    """Closed-world evaluation of the ontology's classes on products and vocabulary individuals."""

    def __init__(self, defs: Definitions):
        self.defs = defs
        self.canon = defs.canon
        self.thing = defs.canon.setdefault(OWL.Thing, OWL.Thing)
        self._vocab_cache: dict[tuple[URIRef, URIRef], bool] = {}
        self._reads: dict[tuple, tuple[URIRef, ...] | None] = {}
        self._decided: dict[tuple, bool] = {}
        # (class, the product's values on what the class reads) -> truth; shared by all products
        self.shared: dict[tuple, bool | None] = {}
        self.interned: dict[tuple, int] = {}
        self.shared_why: dict[tuple, list] = {}
        # the compiled form (atmp.core.engines.compiled), per asserted product types; needs the card
        # properties' value universe, which only the ontology model knows (see use_vocabulary)
        self.universe: tuple[tuple[URIRef, ...], dict[URIRef, tuple]] | None = None
        self._compiled: dict[frozenset, object] = {}
        self.cached_code = None  # types -> code object compiled earlier (atmp.core.rules.cache), or None
        self._filler_cache: dict[tuple, bool] = {}  # (vocabulary value, id of a filler in defs) -> membership

    def use_vocabulary(self, props: tuple[URIRef, ...], universe: dict[URIRef, tuple]) -> None:
        """Enable the compiled form: ``props`` are the card properties, ``universe`` each one's possible values."""
        self.universe = (tuple(props), dict(universe))  # the model's own objects: the facts' keys and values are these
        self._compiled.clear()

    def compiled_for(self, types: frozenset):
        """The :class:`atmp.core.engines.compiled.CompiledClasses` for products asserting ``types`` (None without a vocabulary)."""
        if self.universe is None:
            return None
        found = self._compiled.get(types)
        if found is None:
            code = self.cached_code(types) if self.cached_code is not None else None
            try:
                found = CompiledClasses(self, self.universe[0], self.universe[1], types, code)
            except ValueError:  # cached code that does not fit: compile afresh
                found = CompiledClasses(self, self.universe[0], self.universe[1], types)
            self._compiled[types] = found
        return found

    def decided(self, cls: URIRef, types: frozenset = frozenset(), _stack: frozenset = frozenset()) -> bool:
        """Is the class's truth two-valued on every closed product, without consulting its subclasses?

        True when one of its definitions reaches card facts through defined classes only, with no
        cycle. Then :meth:`ProductContext.truth` never returns unknown for it and never looks at its
        subclasses, so its answer depends only on what its definitions read. A "no" is cautious: a
        cycle or a primitive class on the way (criterion 14) may leave it unknown. ``types`` are the
        product's asserted classes (``atmp:Product``...), which truth answers at once.
        """
        key = (cls, types)
        if key in self._decided:
            return self._decided[key]
        if cls is self.thing or cls in types:
            return True
        if cls in _stack:
            return False
        stack = _stack | {cls}
        result = any(self._expr_decided(e, types, stack) for e in self.defs.equivalents.get(cls, ()))
        if result or not _stack:  # a "no" reached inside a cycle may be the cycle's fault: not final
            self._decided[key] = result
        return result

    def _expr_decided(self, e: Expr, types: frozenset, stack: frozenset) -> bool:
        if isinstance(e, Named):
            return self.decided(e.iri, types, stack)
        if isinstance(e, (And, Or)):
            return all(self._expr_decided(i, types, stack) for i in e.items)
        if isinstance(e, Not):
            return self._expr_decided(e.item, types, stack)
        return True  # restrictions and enumerations are decided on a closed product

    def reads(self, cls: URIRef, types: frozenset = frozenset(), explaining: bool = False) -> tuple[URIRef, ...] | None:
        """The product properties a class's truth can depend on.

        ``None`` when the truth may depend on the product's identity (an enumeration of products),
        which forbids sharing answers between products. Fillers of restrictions are evaluated on
        vocabulary terms, not on the product, so they add nothing. A decided class reads what its
        definitions read; any other class also reads what its subclasses read (truth may ask them).
        ``explaining``: what :meth:`ProductContext.why` reads, which may cite any subclass (even of an
        asserted class), so every definition and subclass reached counts.
        """
        key = (cls, types, explaining)
        if key not in self._reads:
            # a closure over classes and expressions, so any order finds the same set; an explicit stack,
            # not nested recursive functions (a reference cycle per call, kept while a batch pauses the GC)
            props: set[URIRef] = set()
            identity = False
            seen: set[URIRef] = set()
            todo: list = [Named(cls)]
            while todo:
                e = todo.pop()
                if isinstance(e, Named):
                    c = e.iri
                    if c in seen or (c in types and not explaining):  # an asserted class is true at once: nothing read
                        continue
                    seen.add(c)
                    todo.extend(self.defs.equivalents.get(c, ()))
                    if explaining or not self.decided(c, types):
                        todo.extend(Named(sub) for sub in self.defs.subclasses.get(c, ()))
                elif isinstance(e, (And, Or)):
                    todo.extend(e.items)
                elif isinstance(e, Not):
                    todo.append(e.item)
                elif isinstance(e, OneOf):
                    identity = True
                elif isinstance(e, (Some, Only, HasValue, MaxZero)):
                    props.add(e.prop)
            self._reads[key] = None if identity else tuple(sorted(props))
        return self._reads[key]

    # -- individuals of the vocabulary (no facts of their own, only types and enumerations)
    def vocab_member(self, ind: URIRef, cls: URIRef, _stack: frozenset = frozenset()) -> bool:
        key = (ind, cls)
        if key in self._vocab_cache:
            return self._vocab_cache[key]
        if key in _stack:
            return False
        stack = _stack | {key}
        result = cls is self.thing or cls in self.defs.asserted.get(ind, ())
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
    SHARED_LIMIT = 2_000_000  # entries; a long-running service starts afresh beyond this (~0.5 GB)

    def product_context(self, facts: ProductFacts) -> ProductContext:
        if len(self.shared) + len(self.shared_why) > self.SHARED_LIMIT:
            self.shared.clear()
            self.shared_why.clear()
            self.interned.clear()
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
        canon = ev.canon
        self._values_canon: dict | None = None
        self.types = frozenset(canon.get(t, t) for t in facts.types)
        self.memo: dict[URIRef, bool | None] = {}
        self._active: set[URIRef] = set()
        self._codes: dict[URIRef, int] | None = None
        self._signatures: dict[tuple, tuple] = {}
        self._why_memo: dict[URIRef, list] = {}  # reasons of classes too specific to share (see why)
        # the compiled path: bitsets of the facts and a memo per class (None: interpret everything)
        self._cc = ev.compiled_for(self.types)
        self._bits = None if self._cc is None else self._cc.encode(facts.values)  # type: ignore[attr-defined]
        if self._bits is None:
            self._cc = None
        else:
            self._cmemo = self._cc.new_memo(facts.iri)  # type: ignore[attr-defined]

    def signature(self, reads: tuple[URIRef, ...]) -> tuple:
        """The product's values on ``reads`` (and its asserted types) as small interned integers.

        rdflib terms hash and compare in Python, slowly; each distinct value tuple is interned once
        per evaluator, so the keys of the shared cache are tuples of ints.
        """
        found = self._signatures.get(reads)
        if found is None and self._cc is not None:  # the bitsets already are small ints; "b" keeps the two key kinds apart
            found = self._signatures[reads] = ("b", self.types, *(self._ordered(p) for p in reads))
        if found is None:
            if self._codes is None:
                intern = self.ev.interned
                self._codes = {}
                for prop, values in (*self.values.items(), (None, self.types)):
                    self._codes[prop] = intern.setdefault(values, len(intern))  # type: ignore[index]
            codes = self._codes
            found = self._signatures[reads] = (codes[None], *(codes.get(p, -1) for p in reads))  # type: ignore[index]
        return found

    @property
    def values(self) -> dict:
        """The facts with every term replaced by the evaluator's one object for it (identity lookups)."""
        if self._values_canon is None:
            canon = self.ev.canon
            self._values_canon = {canon.get(p, p): tuple(canon.get(v, v) if isinstance(v, URIRef) else v for v in vals) for p, vals in self.facts.values.items()}
        return self._values_canon

    def _ordered(self, prop: URIRef):
        """A prop's values as bits, in card order when there are several: reasons list values in that order."""
        cc = self._cc
        slot = cc.slot.get(prop)  # type: ignore[attr-defined]
        if slot is None:
            return 0
        vals = self.values.get(prop, ())
        if len(vals) < 2:
            return self._bits[slot]  # type: ignore[index]
        bits = cc.bits[slot]  # type: ignore[attr-defined]
        return tuple(bits[v] for v in vals)

    def member(self, cls: URIRef) -> bool:
        return self.truth(self.ev.canon.get(cls, cls)) is True

    def members(self, classes) -> set[URIRef]:
        """The classes (canonical IRIs) of ``classes`` the product is a member of."""
        cc = self._cc
        if cc is None:
            return {c for c in classes if self.member(c)}
        plan = cc.plan(classes)
        bits, memo = self._bits, self._cmemo
        return {c for c, f in plan if (f(bits, memo) is True if f is not None else self.member(c))}

    def truth(self, cls: URIRef) -> bool | None:
        """Three-valued membership of a class (given as its canonical IRI object, see Definitions.canon).

        Compiled (:mod:`atmp.core.engines.compiled`) when the class is not on a definitional cycle and the
        facts are in the compiled vocabulary; interpreted otherwise. Both give the same answer.
        """
        cc = self._cc
        if cc is not None:
            i = cc.index.get(cls)
            if i is not None:
                return cc.functions[i](self._bits, self._cmemo)
        return self._interpreted(cls)

    def _interpreted(self, cls: URIRef) -> bool | None:
        if cls in self.memo:
            return self.memo[cls]
        reads = self.ev.reads(cls, self.types)
        # Sharing pays only when other products are likely to have the same values on what the
        # class reads; a class reading most of the card is nearly unique per product.
        shared_key = None if reads is None or len(reads) > SHARE_MAX_READS else (cls, self.signature(reads))
        if shared_key is not None and shared_key in self.ev.shared:
            result = self.memo[cls] = self.ev.shared[shared_key]
            return result
        if cls in self._active:  # a definitional cycle decides nothing; results above it are not cached
            self._cycle = True
            return None
        outer_cycle, self._cycle = getattr(self, "_cycle", False), False
        self._active.add(cls)
        result: bool | None = None
        if cls is self.ev.thing or cls in self.types:
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
        # A definite answer reached while a class on the stack counted as unknown is final: Kleene's
        # three-valued logic is monotone, so no value of that class could change it. Only an unknown
        # reached through a cycle may still become definite, so only that one is not remembered.
        if not self._cycle or result is not None:
            self.memo[cls] = result
            if shared_key is not None:
                self.ev.shared[shared_key] = result
        self._cycle = outer_cycle or self._cycle
        return result

    def _values(self, prop: URIRef) -> tuple:
        return self.values.get(prop, ())

    def filler_holds(self, value, filler: Expr) -> bool:
        """Is a card value (a vocabulary term) a member of a restriction's filler? Flags always are (data ranges are not used beyond hasValue)."""
        if isinstance(value, bool):
            return True  # data ranges are not used beyond hasValue
        key = (value, id(filler))  # the filler lives as long as the definitions: its id is stable
        cache = self.ev._filler_cache
        found = cache.get(key)
        if found is None:
            found = cache[key] = self.ev._vocab_eval(value, filler, frozenset())
        return found

    def holds(self, e: Expr) -> bool | None:
        if self._cc is not None:
            fn = self._cc.node_functions.get(id(e))  # type: ignore[attr-defined]
            if fn is not None:
                return fn(self._bits, self._cmemo)
        return self._holds(e)

    def _holds(self, e: Expr) -> bool | None:
        if isinstance(e, Named):
            return self.truth(e.iri)
        if isinstance(e, And):
            return kleene_and(self.holds(i) for i in e.items)
        if isinstance(e, Or):
            return kleene_or(self.holds(i) for i in e.items)
        if isinstance(e, Not):
            v = self.holds(e.item)
            return None if v is None else not v
        if isinstance(e, OneOf):
            return self.facts.iri in e.members
        if isinstance(e, Some):
            return any(self.filler_holds(v, e.filler) for v in self._values(e.prop))
        if isinstance(e, Only):
            return all(self.filler_holds(v, e.filler) for v in self._values(e.prop))
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
        """Reasons for a named class the product is a member of: its first true definition.

        Like truth, the reasons depend only on the values the class reads, so products with the
        same values there share them. A class reading most of the card is remembered for this
        product only: one product's explanations ask for the same class many times (every result
        class's walk passes through the ATMP definition), other products rarely.
        """
        cls = self.ev.canon.get(cls, cls)
        reads = self.ev.reads(cls, self.types, explaining=True)
        if reads is None or len(reads) > SHARE_MAX_READS:
            mine = self._why_memo.get(cls)
            if mine is None:
                mine = self._why_memo[cls] = self._why(cls)
            return list(mine)
        key = (cls, self.signature(reads))
        found = self.ev.shared_why.get(key)
        if found is None:
            found = self.ev.shared_why[key] = self._why(cls)
        return list(found)

    def _why(self, cls: URIRef) -> list[Reason]:
        for e in self.ev.defs.equivalents.get(cls, ()):
            if self.holds(e) is True:
                return self.reasons(e)
        for sub in self.ev.defs.subclasses.get(cls, ()):
            if self.member(sub):
                return [("class", sub)]
        return [("asserted", cls)] if cls in self.types else []

    def why_not(self, cls: URIRef) -> list[Reason]:
        """Reasons a named class the product is *not* a member of fails: what made its first definition false.

        A flag such as ``eu.atmp = false`` needs this: there is no true definition to cite, only the
        facts and rules that made each part of the definition fail.
        """
        cls = self.ev.canon.get(cls, cls)
        for e in self.ev.defs.equivalents.get(cls, ()):
            if self.holds(e) is False:
                out: list[Reason] = []
                self._reasons(e, False, out)
                return list(dict.fromkeys(out))
        return []

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
                    if self.filler_holds(v, e.filler):
                        out.append(("fact", e.prop, v, named) if named else ("fact", e.prop, v))
            elif isinstance(e, HasValue) and positive:
                out.append(("fact", e.prop, e.value))
            else:
                for v in vals:
                    out.append(("fact", e.prop, v))
