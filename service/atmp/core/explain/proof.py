"""The brief explanation of a conclusion, read off its proof: one walk of the deciding definition.

Why a walk and not a search: the reasons a committee reads are the card facts that make the deciding rule
hold, and they are where the definition's own structure puts them. So, for a class the product is in, the
first definition that holds is walked once over the product's facts:

* a conjunction gives the reasons of each conjunct;
* a disjunction that holds gives its satisfied branch — or, when several hold, one reason "any one of these
  suffices" with each branch's own reasons (so that every reason is necessary: dropping one branch leaves
  the others);
* ``P some F`` gives the card's codes that witness it, ``P only F`` the codes it lists (all within ``F``),
  ``P value x`` and ``P max 0`` the stated value or its absence;
* a complement is the failing part of the complemented expression: for a class the product is *not* in,
  the failing part of its definition (a conjunction that fails gives its failing conjunct, or its failing
  conjuncts as one "any one of these" reason; a disjunction that fails, each branch's failure);
* a named class that has its own entry in the result (ATMP, the NMPA class, the Tianjin category …), or that is a
  regime's scope (``atmp:scopeClass``: T's graded product), is cited by reference, not proven again; a named
  class the product is *not* in, met under a complement, gives its failing part when that is one fact
  ("neoantigen-based: no") and is cited by reference otherwise ("does not meet: blood for transfusion"); an
  explanation-hidden guard class (``atmp:explanationHidden``) is skipped;
  any other named class is walked through in place, and the facts found there carry it as their rule —
  unless it is cited from another regime's documents than the deciding rule (``dcterms:source`` of N or T
  against an EU, US or Japanese instrument), in which case the fact is the deciding rule's own: a proof walks
  only the definition that decides, and a JP conclusion never cites N.

The result is data (:data:`Reason` tuples), turned into words by :mod:`atmp.core.explain.words`. That each
reason is necessary and that together they suffice is a property of the rule book, proved by the test suite
(``tests/test_proof.py``) rather than searched for on every card. A proof depends only on the product's values
on what the class reads and on which of the classes it reaches have entries, so it is shared between products.
"""

from __future__ import annotations

from rdflib import RDF, URIRef

from atmp.core.engines.evaluator import ProductContext
from atmp.core.engines.expressions import And, Expr, HasValue, MaxZero, Named, Not, OneOf, Only, Or, Some, parts
from atmp.core.rules.namespaces import ATMP
from atmp.core.rules.ontology import OntologyModel

#: ("fact", property, test, values, rule class, filler class or None) — one card fact as the rule reads it;
#:   test: has (some of values witness a ``some``), only (every value lies within the filler), is (``value``),
#:   none (``max 0``, or an ``only`` over an empty list), lacks (no value satisfies a ``some``/``value``),
#:   outside (values outside an ``only``'s filler), stated (values that break a ``max 0``)
#: ("any", ((reason, ...), ...)) — branches of which any one decides (a disjunction with several that hold; a
#:   conjunction failing in several places), each with its own reasons
#: ("ref", class, holds) — a conclusion with its own entry, cited by reference
Reason = tuple

CACHE_LIMIT = 200_000  # proofs kept per model (bounded memory over an unbounded stream)
SHARE_MAX_READS = 8  # a proof is shared between products only for a class that reads at most this many fields


def hidden(model: OntologyModel) -> frozenset:
    """Guard classes every product meets (``atmp:explanationHidden true``): a reason that says nothing about the card."""
    if "explanation_hidden" not in model.memo:
        model.memo["explanation_hidden"] = frozenset(s for s, v in model.graph.subject_objects(ATMP.explanationHidden) if v.toPython() is True)
    return model.memo["explanation_hidden"]


def families(model: OntologyModel, cls: URIRef) -> frozenset:
    """The documents a class's citations point to (``atmp:citedDocument``); a foreign instrument, cited verbatim
    with no document individual, counts as the family ``"foreign"``. Two classes of one regime share a family."""
    memo = model.memo.setdefault("proof_families", {})
    found = memo.get(cls)
    if found is None:
        out = set()
        for citation in model.graph.objects(cls, ATMP.citation):
            document = model.graph.value(citation, ATMP.citedDocument)
            out.add(document if document is not None else "foreign")
        found = memo[cls] = frozenset(out)
    return found


def scopes(model: OntologyModel, ctx: ProductContext) -> frozenset:
    """Each regime's scope class (``atmp:scopeClass`` of the ``atmp:Regime`` individuals), as the evaluator names it."""
    found = model.memo.get("proof_scopes")
    if found is None:
        found = model.memo["proof_scopes"] = frozenset(
            ctx.ev.canon.get(o, o) for r in model.graph.subjects(RDF.type, ATMP.Regime) for o in model.graph.objects(r, ATMP.scopeClass) if isinstance(o, URIRef)
        )
    return found


class Prover:
    """Proofs of one product's conclusions (one per product; the proofs themselves are shared per model)."""

    def __init__(self, model: OntologyModel, ctx: ProductContext, entries: frozenset):
        self.model, self.ctx, self.entries = model, ctx, entries
        self.ev = ctx.ev
        self.hidden = hidden(model)
        self.cache: dict = model.memo.setdefault("proof_cache", {})
        # cited by reference, not proven again: the conclusions with their own entry, and each regime's scope (the
        # ATMP of N, the graded product of T …), which every conclusion of that regime rests on
        self.cited = entries | scopes(model, ctx)

    # -- entry points
    def prove(self, cls: URIRef, holds: bool = True) -> tuple[Reason, ...]:
        """The reasons ``cls`` holds (``holds``) or fails (``not holds``) for this product."""
        cls = self.ev.canon.get(cls, cls)
        key = self._key(cls, holds)
        found = self.cache.get(key) if key is not None else None
        if found is None:
            self.decider = cls
            self.family = families(self.model, cls)
            reasons: list[Reason] = []
            if holds:
                self._class_true(cls, cls, reasons, frozenset({cls}), top=True)
            else:
                self._class_false(cls, cls, reasons, frozenset({cls}), top=True)
            found = tuple(dict.fromkeys(reasons))
            if key is not None:
                if len(self.cache) > CACHE_LIMIT:
                    self.cache.clear()
                self.cache[key] = found
        return found

    def _key(self, cls: URIRef, holds: bool):
        reads = self.ev.reads(cls, self.ctx.types, explaining=True)
        if reads is None or len(reads) > SHARE_MAX_READS:
            # an enumeration of products: the proof is this product's own; a class reading many fields: its
            # projection is as good as unique (40,034 misses for 336 hits on 3,000 cards), and the key costs 10 %
            return None
        reach = self._reach(cls)
        return (cls, holds, self.ctx.signature(reads), self.cited & reach)

    def _reach(self, cls: URIRef) -> frozenset:
        """Every class a walk from ``cls`` may meet (definitions and subclasses), once per model."""
        memo = self.model.memo.setdefault("proof_reach", {})
        found = memo.get(cls)
        if found is None:
            seen, todo = {cls}, [cls]
            while todo:
                c = todo.pop()
                nxt = list(self.ev.defs.subclasses.get(c, ()))
                nxt += [p.iri for e in self.ev.defs.equivalents.get(c, ()) for p in parts(e) if isinstance(p, Named)]
                for n in nxt:
                    if n not in seen:
                        seen.add(n)
                        todo.append(n)
            found = memo[cls] = frozenset(seen)
        return found

    # -- named classes
    def _rule_for(self, cls: URIRef, current: URIRef) -> URIRef:
        """The rule a fact found inside ``cls`` is attributed to: ``cls``, when it is of the deciding rule's regime."""
        return cls if families(self.model, cls) & self.family else current

    def _class_true(self, cls: URIRef, rule: URIRef, out: list, path: frozenset, top: bool = False) -> None:
        ctx = self.ctx
        if not top:
            if cls in self.hidden or cls in ctx.types or cls is self.ev.thing:
                return
            if cls in self.cited and families(self.model, cls) & self.family:
                out.append(("ref", cls, True))
                return
        rule = self._rule_for(cls, rule) if not top else cls
        for e in self.ev.defs.equivalents.get(cls, ()):
            if ctx.holds(e) is True:
                self._true(e, rule, out, path)
                return
        for sub in self.ev.defs.subclasses.get(cls, ()):
            if sub not in path and ctx.truth(sub) is True:
                self._class_true(sub, rule, out, path | {sub})
                return

    def _class_false(self, cls: URIRef, rule: URIRef, out: list, path: frozenset, top: bool = False) -> None:
        ctx = self.ctx
        if not top and cls in self.hidden:
            return
        rule = self._rule_for(cls, rule) if not top else cls
        for e in self.ev.defs.equivalents.get(cls, ()):
            if ctx.holds(e) is False:
                self._false(e, rule, out, path)
                return

    # -- expressions that hold
    def _true(self, e: Expr, rule: URIRef, out: list, path: frozenset) -> None:
        ctx = self.ctx
        if isinstance(e, Named):
            if e.iri not in path:
                self._class_true(e.iri, rule, out, path | {e.iri})
        elif isinstance(e, And):
            for item in e.items:
                self._true(item, rule, out, path)
        elif isinstance(e, Or):
            self._pick([i for i in e.items if ctx.holds(i) is True], rule, out, path, self._true)
        elif isinstance(e, Not):
            self._false(e.item, rule, out, path)
        elif isinstance(e, (Some, Only, HasValue, MaxZero)):
            out.append(self._leaf(e, rule, True))
        elif isinstance(e, OneOf):
            pass  # the product is named in an enumeration: nothing on the card to cite

    # -- expressions that fail
    def _false(self, e: Expr, rule: URIRef, out: list, path: frozenset) -> None:
        ctx = self.ctx
        if isinstance(e, Named):
            if e.iri not in path and e.iri not in self.hidden:
                # a named class the product is not in, met inside a proof ("and not X"): its failing part when that is
                # one fact ("neoantigen-based: no"), else the class itself ("does not meet X"), whose own walk is
                # the full explanation's (the exclusions an ATMP escapes would otherwise be a page each)
                found: list = []
                self._class_false(e.iri, rule, found, path | {e.iri})
                found = list(dict.fromkeys(found))
                if (len(found) == 1 and found[0][0] == "fact") or self._is_union(e.iri):
                    out.extend(found)  # one fact; or a union ("not an ATMP": any exclusion), said as its members
                else:
                    out.append(("ref", e.iri, False))
        elif isinstance(e, And):
            self._pick([i for i in e.items if ctx.holds(i) is False], rule, out, path, self._false)
        elif isinstance(e, Or):
            for item in e.items:
                self._false(item, rule, out, path)
        elif isinstance(e, Not):
            self._true(e.item, rule, out, path)
        elif isinstance(e, (Some, Only, HasValue, MaxZero)):
            out.append(self._leaf(e, rule, False))

    def _is_union(self, cls: URIRef) -> bool:
        """A class defined as a union of named classes: "not X" is said as "none of X's members"."""
        found = self.ev.defs.equivalents.get(cls, ())
        return bool(found) and isinstance(found[0], Or) and all(isinstance(i, Named) for i in found[0].items)

    def _pick(self, options: list[Expr], rule: URIRef, out: list, path: frozenset, walk) -> None:
        """The deciding branches among several (a disjunction that holds, a conjunction that fails).

        One branch: its reasons. Several: each is enough on its own, so none of them is necessary alone; they are
        one reason, "any one of these suffices", each branch with its own reasons (a branch whose reasons are
        the same as another's is said once).
        """
        proofs = []
        for option in options:
            found: list = []
            walk(option, rule, found, path)
            proof = tuple(dict.fromkeys(found))
            if proof not in proofs:
                proofs.append(proof)
        proofs = [p for p in proofs if p]
        if len(proofs) == 1:
            out.extend(proofs[0])
        elif proofs:
            out.append(("any", tuple(proofs)))

    # -- restrictions
    def _leaf(self, e: Expr, rule: URIRef, holds: bool) -> Reason:
        ctx = self.ctx
        values = ctx.values.get(e.prop, ())
        filler = e.filler.iri if isinstance(e, (Some, Only)) and isinstance(e.filler, Named) else None
        if isinstance(e, Some):
            inside = tuple(v for v in values if ctx.filler_holds(v, e.filler))
            return ("fact", e.prop, "has", inside, rule, filler) if holds else ("fact", e.prop, "lacks", values, rule, filler)
        if isinstance(e, Only):
            if holds:
                return ("fact", e.prop, "only" if values else "none", values, rule, filler)
            return ("fact", e.prop, "outside", tuple(v for v in values if not ctx.filler_holds(v, e.filler)), rule, filler)
        if isinstance(e, HasValue):
            asked = None if isinstance(e.value, bool) else e.value  # a flag reads as its value; a code as "not <code>"
            return ("fact", e.prop, "is", (e.value,), rule, None) if holds else ("fact", e.prop, "lacks", values, rule, asked)
        return ("fact", e.prop, "none", (), rule, None) if holds else ("fact", e.prop, "stated", values, rule, None)
