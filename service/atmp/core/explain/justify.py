"""Minimal explanations: for one conclusion, only the card facts that decide it, found by counterfactuals.

Why counterfactuals and not the definition walk: the walk (:func:`atmp.core.explain.walk.because`) lists
every superclass and negated sibling on the way ("meets: product", "does not meet: neoantigen"),
which is true but not what a committee needs. Here each fact the concluding class *reads* is
dropped in turn — a listed code removed, a stated single value made absent, a flag flipped, and for
a value that is absent or at its ``atmp:valueWhenAbsent`` the first other code that would change the
answer — and the compiled evaluator re-decides the class. A fact whose drop changes the conclusion
is a deciding reason. Facts that only decide together (two substantial manipulations, either of
which suffices) are found by a greedy search and shrunk to a minimal group, reported as one reason.
So dropping any one reason changes the conclusion (``tests/test_justify.py`` re-classifies every
example and catalogue product to prove it).

The search depends only on the product's values on what the class reads, so products with the same
projection share it (bounded cache, see :data:`CACHE_LIMIT`). Nothing here names a rule: classes,
properties, codes, defaults and labels come from the ontology.
"""

from __future__ import annotations

from dataclasses import replace

from rdflib import URIRef

from atmp.core.card.facts import ProductFacts
from atmp.core.engines.evaluator import Evaluator, ProductContext
from atmp.core.explain.justify_fast import MISS, BitVariants, LazyRules
from atmp.core.rules.ontology import CardProperty, OntologyModel

CACHE_LIMIT = 200_000  # cached searches per model; beyond this the cache starts afresh (bounded memory)
FAST = True  # re-decide on the compiled bitsets (atmp.core.explain.justify_fast); False: the reference path, kept for the tests
LANES = 250  # products whose searches run together on lanes (see prefetch); 0 or 1: one search at a time
LANES_MIN = 32  # fewer cards than this in a call: one search at a time (a lane batch's set-up outweighs it)

Change = tuple  # (property IRI, op, value): op in remove | add | absent | set


def _props(model: OntologyModel, ev: Evaluator) -> dict[URIRef, CardProperty]:
    """Canonical property IRI (as the evaluator reads it) -> card property, in the model's field order."""
    found = model.memo.get("justify_props")
    if found is None:
        found = model.memo["justify_props"] = {ev.canon.get(p.iri, p.iri): p for p in model.properties}
    return found


def _behaviours(model: OntologyModel, ev: Evaluator) -> dict[URIRef, dict[URIRef, tuple]]:
    """Per property, each code's behaviour in the rules: which fillers of ``some``/``only`` it satisfies
    and whether a ``hasValue`` names it. Codes that behave alike are interchangeable for every class,
    so a counterfactual needs to try only one of them (this cuts the search several-fold)."""
    found = model.memo.get("justify_behaviours")
    if found is not None:
        return found
    from atmp.core.engines.expressions import And, HasValue, Not, Only, Or, Some

    fillers: dict[URIRef, list] = {}
    named: dict[URIRef, set] = {}
    stack = [e for exprs in ev.defs.equivalents.values() for e in exprs]
    while stack:
        e = stack.pop()
        if isinstance(e, (And, Or)):
            stack.extend(e.items)
        elif isinstance(e, Not):
            stack.append(e.item)
        elif isinstance(e, (Some, Only)):
            if e.filler not in fillers.setdefault(e.prop, []):
                fillers[e.prop].append(e.filler)
        elif isinstance(e, HasValue):
            named.setdefault(e.prop, set()).add(e.value)
    found = {}
    for canon_prop, prop in _props(model, ev).items():
        found[canon_prop] = {}
        for code in prop.codes.values():
            c = ev.canon.get(code, code)
            found[canon_prop][code] = (tuple(ev._vocab_eval(c, f, frozenset()) for f in fillers.get(canon_prop, ())), c if c in named.get(canon_prop, ()) else None)
    model.memo["justify_behaviours"] = found
    return found


def _distinct(behaviour: dict[URIRef, tuple], present: tuple) -> list[URIRef]:
    """One code per behaviour, leaving out the behaviours of the values already present."""
    seen = {behaviour.get(v) for v in present}
    out = []
    for code, b in behaviour.items():
        if b not in seen:
            seen.add(b)
            out.append(code)
    return out


def _default(prop: CardProperty) -> tuple:
    return () if prop.default is None else (prop.default,)


def _apply(values: dict, props: dict[URIRef, CardProperty], changes: tuple[Change, ...]) -> dict:
    out = dict(values)
    for canon_prop, op, value in changes:
        prop = props[canon_prop]
        current = out.get(prop.iri, ())
        if op == "remove":
            out[prop.iri] = tuple(v for v in current if v != value)
        elif op == "add":
            out[prop.iri] = (*current, value)
        elif op == "absent":
            out[prop.iri] = _default(prop)
        else:  # set
            out[prop.iri] = (value,)
    return out


class Search:
    """Re-decides one class on changed copies of one product's facts."""

    def __init__(
        self, ev: Evaluator, props: dict[URIRef, CardProperty], facts: ProductFacts, cls: URIRef, expected: bool, variants: dict | None = None, fast: BitVariants | None = None
    ):
        self.ev, self.props, self.facts, self.cls, self.expected = ev, props, facts, cls, expected
        self.behaviour: dict[URIRef, dict[URIRef, tuple]] = {}
        # changed facts -> their context, shared by all conclusions of one product: the same change is
        # tried for many conclusions, and its context's memo answers the later ones almost for free
        self.variants = {} if variants is None else variants
        self.fast = fast  # the same re-decision on the compiled bitsets, when the product has them
        self.fn = None if fast is None else fast.function(cls)

    def changes(self, changes: tuple[Change, ...]) -> bool:
        """Does applying ``changes`` move the class away from its current truth?"""
        if self.fn is not None:
            truth = self.fast.truth(self.fn, changes)  # type: ignore[union-attr]
            if truth is not MISS:
                return (truth is True) != self.expected
        key = frozenset(changes)
        ctx = self.variants.get(key)
        if ctx is None:
            ctx = self.variants[key] = self.ev.product_context(replace(self.facts, values=_apply(self.facts.values, self.props, changes)))
        return (ctx.truth(self.cls) is True) != self.expected

    def candidates(self, canon_prop: URIRef) -> tuple[list[Change], list[Change]]:
        """(drops of stated values, alternatives for an absent or default value) of one property.

        They depend only on the product's value and the model, so all conclusions of one product share
        them (kept beside its changed-facts contexts; callers only read them).
        """
        shared = self.variants.get(_CANDIDATES)
        if shared is None:
            shared = self.variants[_CANDIDATES] = {}
        found = shared.get(canon_prop)
        if found is None:
            found = shared[canon_prop] = self._candidates(canon_prop)
        return found

    def _candidates(self, canon_prop: URIRef) -> tuple[list[Change], list[Change]]:
        prop = self.props[canon_prop]
        values = self.facts.values.get(prop.iri, ())
        if not prop.is_object:  # a true flag is a stated fact to drop; a false one is the absence of it
            flag = bool(values and values[0])
            return ([(canon_prop, "set", False)], []) if flag else ([], [(canon_prop, "set", True)])
        if not prop.functional:
            if values:
                return [(canon_prop, "remove", v) for v in values], []
            return [], [(canon_prop, "add", c) for c in _distinct(self.behaviour[canon_prop], values)]
        if values and values != _default(prop):
            return [(canon_prop, "absent", None)], []
        return [], [(canon_prop, "set", c) for c in _distinct(self.behaviour[canon_prop], values)]


_CANDIDATES = ("candidates",)  # the key of the shared candidates in a product's variants (never a change set)


def variants_of(ctx: ProductContext) -> dict:
    """The product's changed-facts contexts, kept on its context so they go when the product's result is made."""
    found = ctx.__dict__.get("_justify_variants")
    if found is None:
        found = ctx.__dict__["_justify_variants"] = {}
    return found


def bit_variants(ctx: ProductContext, props: dict[URIRef, CardProperty]) -> BitVariants | None:
    """The product's changed bitsets (:mod:`atmp.core.explain.justify_fast`), kept on its context like :func:`variants_of`."""
    found = ctx.__dict__.get("_justify_bits")
    if found is None and ctx._cc is not None:
        found = ctx.__dict__["_justify_bits"] = BitVariants(ctx._cc, ctx._bits, ctx.facts.iri, props)
    return found


def deciding(model: OntologyModel, ev: Evaluator, ctx: ProductContext, cls: URIRef, expected: bool = True) -> list[tuple[Change, ...]]:
    """The deciding reasons of ``cls`` (currently ``expected``) for this product: each a tuple of changes.

    A one-change tuple is a fact that decides alone; a longer one is a minimal group of facts that
    decide together. Cached per (class, truth, values on what the class reads).
    """
    cls = ev.canon.get(cls, cls)
    decided = ctx.__dict__.get("_justify_decided")
    if decided is not None:  # found for this product by a batch (:func:`prefetch`)
        found = decided.get((cls, expected))
        if found is not None:
            return found
    props = _props(model, ev)
    read_props, key = _plan(model, ev, ctx, cls, expected)
    cache = model.memo.setdefault("justify_cache", {})
    found = cache.get(key)
    if found is not None:
        return found
    if len(cache) > CACHE_LIMIT:
        cache.clear()
    search = Search(ev, props, ctx.facts, cls, expected, variants_of(ctx), bit_variants(ctx, props) if FAST else None)
    search.behaviour = _behaviours(model, ev)
    singles: list[tuple[Change, ...]] = []
    rest: list[Change] = []
    for p in read_props:
        drops, alternatives = search.candidates(p)
        for d in drops:
            if search.changes((d,)):
                singles.append((d,))
            else:
                rest.append(d)
        for alt in alternatives:
            if search.changes((alt,)):
                singles.append((alt,))
                break
    groups: list[tuple[Change, ...]] = []
    applied: list[Change] = []
    for d in rest:  # facts that decide only together: grow until the conclusion moves, then shrink
        applied.append(d)
        if search.changes(tuple(applied)):
            group = list(applied)
            for member in list(group):
                trial = tuple(g for g in group if g != member)
                if trial and search.changes(trial):
                    group.remove(member)
            groups.append(tuple(group))
            break
    if not singles and not groups:  # nothing stated decides by its absence (a negation): which value would change it?
        for p in read_props:
            prop = props[p]
            values = ctx.facts.values.get(prop.iri, ())
            if not prop.is_object or not values:
                continue
            op = "set" if prop.functional else "add"
            for code in _distinct(search.behaviour[p], values):
                if search.changes(((p, op, code),)):
                    singles.append(((p, op, code),))
                    break
    found = cache[key] = singles + groups
    return found


def _plan(model: OntologyModel, ev: Evaluator, ctx: ProductContext, cls: URIRef, expected: bool) -> tuple[list[URIRef], tuple]:
    """(the properties ``cls`` reads, in the model's field order; the search's cache key for this product)."""
    plans = model.memo.setdefault("justify_read_props", {})
    read_props = plans.get((cls, ctx.types))
    if read_props is None:  # once per class and types
        reads = ev.reads(cls, ctx.types)
        wanted = None if reads is None else set(reads)
        read_props = plans[(cls, ctx.types)] = [p for p in _props(model, ev) if wanted is None or p in wanted]
    return read_props, (cls, expected, ctx.types, tuple(ctx.values.get(p, ()) for p in read_props))


# -- the same search for many conclusions of many products at once, on lanes (atmp.core.explain.lanes)


class _Job:
    """One conclusion's search, advanced a round at a time: the steps of :func:`deciding`, in its order."""

    __slots__ = ("ctx", "cls", "expected", "key", "read_props", "search", "lanes", "singles", "rest", "group", "members", "at", "trial", "failed", "others", "negations")

    def __init__(self, ctx: ProductContext, cls: URIRef, expected: bool, read_props: list[URIRef], key: tuple, search: Search, lanes: _ProductLanes):
        self.ctx, self.cls, self.expected, self.read_props, self.key, self.search, self.lanes = ctx, cls, expected, read_props, key, search, lanes
        self.singles: list[tuple[Change, ...]] = []
        self.rest: list[Change] = []
        self.group: list[Change] | None = None  # the group found, being shrunk
        self.members: list[Change] = []
        self.at = 0
        self.trial: tuple[Change, ...] = ()
        self.failed = False  # a change outside the compiled vocabulary: left to deciding()
        self.others: list[ProductContext] = []  # products with the same key: the same answer
        self.negations: list[list[tuple[Change, ...]]] = []


class _ProductLanes:
    """One product's changed copies: each change tuple as slot changes (kept), and its lane in the current round."""

    __slots__ = ("ctx", "base", "slots", "known", "round", "local", "rows", "start", "first", "bad")

    def __init__(self, ctx: ProductContext, fast: BitVariants):
        self.ctx, self.base, self.slots = ctx, fast.bits, fast.slots
        self.known: dict[tuple, tuple | None] = {}
        self.round = 0
        self.local: dict[tuple, int] = {}
        self.rows: list[tuple] = []
        self.start = 0
        self.first: dict[URIRef, int] = {}  # the first round: property -> its candidates' first lane
        self.bad: set[int] = set()  # the first round: lanes whose change the compiled vocabulary does not have

    def slot_changes(self, changes: tuple) -> tuple | None:
        """``((slot, new bits), ...)`` for ``changes`` applied in order (as :meth:`BitVariants._changed`), None outside the vocabulary."""
        known = self.known
        found = known.get(changes, MISS)
        if found is not MISS:
            return found  # type: ignore[return-value]
        base, current = self.base, {}
        todo = changes
        if len(changes) > 1:  # a growing group: start from the group one shorter, when it was asked
            before = known.get(changes[:-1], MISS)
            if before is None:
                known[changes] = None
                return None
            if before is not MISS:
                current, todo = dict(before), changes[-1:]  # type: ignore[arg-type]
        out: tuple | None = None
        for canon_prop, op, value in todo:
            entry = self.slots.get(canon_prop)
            if entry is None:
                break
            slot, bits, default = entry
            if op == "absent":
                new = default
            else:
                bit = bits.get(value)
                if bit is None:
                    break
                old = current.get(slot, base[slot])
                new = old & ~bit if op == "remove" else old | bit if op == "add" else bit
            if new is None:
                break
            current[slot] = new
        else:
            out = tuple((slot, v) for slot, v in current.items() if v != base[slot])
        self.known[changes] = out
        return out


def prefetch(model: OntologyModel, ev: Evaluator, requests: list[tuple[ProductContext, URIRef, bool]]) -> None:
    """Run :func:`deciding` for many (product, class, truth) requests at once; each product then finds its answers.

    Why: one by one, each re-decision runs the compiled class functions on one changed copy
    (~30 per conclusion, ~14 conclusions per card). Here every copy the search asks for in one step
    (all single changes; then the growing groups; then each shrinking step, with the values that
    would make a negation true) is a lane of one :mod:`atmp.core.explain.lanes` evaluation, for all requests
    together. The steps and their order are :func:`deciding`'s, so the answers are its answers
    (``tests/test_justify_fast.py`` compares them); a request this path cannot take (a product or
    class outside the compiled form, a change outside its vocabulary, a cycle that does not settle)
    is left to :func:`deciding`.
    """
    from atmp.core.explain.lanes import NotSettled, lane_classes

    props = _props(model, ev)
    behaviour = _behaviours(model, ev)
    cache = model.memo.setdefault("justify_cache", {})
    jobs: list[_Job] = []
    by_key: dict[tuple, _Job] = {}
    per_product: dict[int, _ProductLanes] = {}
    cc = None
    for ctx, cls, expected in requests:
        cls = ev.canon.get(cls, cls)
        if ctx._cc is None or cls not in ctx._cc.index or (cc is not None and ctx._cc is not cc):
            continue  # one compiled form per batch (products asserting other types go the scalar way)
        read_props, key = _plan(model, ev, ctx, cls, expected)
        found = cache.get(key)
        if found is not None:
            ctx.__dict__.setdefault("_justify_decided", {})[(cls, expected)] = found
            continue
        job = by_key.get(key)
        if job is not None:
            job.others.append(ctx)
            continue
        lanes = per_product.get(id(ctx))
        if lanes is None:
            fast = bit_variants(ctx, props)
            if fast is None:
                continue
            lanes = per_product[id(ctx)] = _ProductLanes(ctx, fast)
        cc = ctx._cc
        search = Search(ev, props, ctx.facts, cls, expected, variants_of(ctx), None)
        search.behaviour = behaviour
        job = by_key[key] = _Job(ctx, cls, expected, read_props, key, search, lanes)
        jobs.append(job)
    if not jobs:
        return
    try:
        evaluator = lane_classes(cc)
    except Exception:  # noqa: BLE001 - a lane form that does not generate: every request goes the scalar way
        return
    rounds = [0]

    def evaluate(asks: list[tuple[_Job, tuple]]):
        """One lane per distinct (product, changes) asked; returns each ask's (lanes, index) and the classes' true lanes."""
        rounds[0] += 1
        number = rounds[0]
        order: list[_ProductLanes] = []
        where: list = []
        for job, changes in asks:
            pl = job.lanes
            if pl.round != number:
                pl.round, pl.local, pl.rows = number, {}, []
                order.append(pl)
            local = pl.local.get(changes)
            if local is None:
                moved = pl.slot_changes(changes)
                if moved is None:
                    job.failed = True
                    where.append(None)
                    continue
                local = pl.local[changes] = len(pl.rows)
                pl.rows.append(moved)
            where.append((pl, local))
        start = 0
        for pl in order:
            pl.start = start
            start += len(pl.rows)
        result = evaluator.evaluate([(pl.base, pl.ctx.facts.iri, pl.rows) for pl in order])
        return where, result.true_bytes

    def moves(job: _Job, true: bytes, at) -> bool:
        """Does the ask at ``at`` (from :func:`evaluate`) move the class away from its truth?"""
        lane = at[0].start + at[1]
        return bool(true[lane >> 3] & (1 << (lane & 7))) is not job.expected

    try:
        # 1. every single change: drops of stated facts, alternatives for absent or default ones. They
        # depend only on the product and the property, so each product's lanes are its read
        # properties' candidates, once each, whichever conclusions read them
        number = rounds[0] = rounds[0] + 1
        order: list[_ProductLanes] = []
        for job in jobs:
            pl = job.lanes
            if pl.round != number:
                pl.round, pl.local, pl.rows = number, {}, []
                pl.first, pl.bad = {}, set()
                order.append(pl)
            for p in job.read_props:
                if p in pl.first:
                    continue
                drops, alternatives = job.search.candidates(p)
                pl.first[p] = len(pl.rows)
                for c in (*drops, *alternatives):
                    moved = pl.slot_changes((c,))
                    if moved is None:
                        pl.bad.add(len(pl.rows))
                        moved = ()
                    pl.rows.append(moved)
        start = 0
        for pl in order:
            pl.start = start
            start += len(pl.rows)
        true_of = evaluator.evaluate([(pl.base, pl.ctx.facts.iri, pl.rows) for pl in order]).true_bytes
        for job in jobs:
            true, expected, pl = true_of(job.cls), job.expected, job.lanes
            singles, rest, bad = job.singles, job.rest, pl.bad
            for p in job.read_props:
                drops, alternatives = job.search.candidates(p)
                local = pl.first[p]
                if bad and any(local + k in bad for k in range(len(drops) + len(alternatives))):
                    job.failed = True
                    break
                lane = pl.start + local
                for d in drops:
                    if bool(true[lane >> 3] & (1 << (lane & 7))) is not expected:
                        singles.append((d,))
                    else:
                        rest.append(d)
                    lane += 1
                for alt in alternatives:
                    if bool(true[lane >> 3] & (1 << (lane & 7))) is not expected:
                        singles.append((alt,))
                        break
                    lane += 1
        # 2. the facts that decide only together: every prefix of the rest (one alone is known not to)
        asks = [(job, tuple(job.rest[:k])) for job in jobs if not job.failed for k in range(2, len(job.rest) + 1)]
        if asks:
            where, true_of = evaluate(asks)
            i = 0
            for job, prefix in asks:
                at = where[i]
                i += 1
                if job.group is None and not job.failed and moves(job, true_of(job.cls), at):
                    job.group = list(prefix)
                    job.members = list(prefix)
        # 3. shrink each group one member at a time; with the first step, the values that would change a negation
        fallback = [job for job in jobs if not job.failed and not job.singles and job.group is None]
        for job in fallback:
            for p in job.read_props:
                prop = props[p]
                values = job.ctx.facts.values.get(prop.iri, ())
                if prop.is_object and values:
                    op = "set" if prop.functional else "add"
                    job.negations.append([((p, op, code),) for code in _distinct(behaviour[p], values)])
        first = True
        while True:
            asks = []
            shrinking = []
            for job in jobs:
                if job.failed or job.group is None:
                    continue
                while job.at < len(job.members):
                    member = job.members[job.at]
                    trial = tuple(g for g in job.group if g is not member)  # the group's changes are distinct: identity is equality
                    if trial:
                        job.trial = trial
                        asks.append((job, trial))
                        shrinking.append(job)
                        break
                    job.at += 1
            if first:
                asks += [(job, c) for job in fallback for options in job.negations for c in options]
            if not asks:
                break
            where, true_of = evaluate(asks)
            i = 0
            for job in shrinking:
                at = where[i]
                i += 1
                if not job.failed:
                    if moves(job, true_of(job.cls), at):
                        job.group = [g for g in job.group if g is not job.members[job.at]]  # type: ignore[union-attr]
                    job.at += 1
            if first:
                for job in fallback:
                    true = true_of(job.cls)
                    for options in job.negations:
                        found = False
                        for c in options:
                            at = where[i]
                            i += 1
                            if not (job.failed or found) and moves(job, true, at):
                                job.singles.append(c)
                                found = True
                first = False
    except NotSettled:
        return  # nothing stored: every request goes the scalar way
    for job in jobs:
        if job.failed:
            continue
        found = job.singles + ([tuple(job.group)] if job.group is not None else [])
        if len(cache) > CACHE_LIMIT:
            cache.clear()
        cache[job.key] = found
        for ctx in (job.ctx, *job.others):
            ctx.__dict__.setdefault("_justify_decided", {})[(job.cls, job.expected)] = found


def card_edit(model: OntologyModel, ev: Evaluator, change: Change) -> dict:
    """A change as an edit of the card (what the justification test applies and a reader can redo); a fresh dict per call."""
    memo = model.memo.setdefault("justify_card_edit", {})
    found = memo.get(change)
    if found is None:
        found = memo[change] = _card_edit(model, ev, change)
    return dict(found)


def _card_edit(model: OntologyModel, ev: Evaluator, change: Change) -> dict:
    canon_prop, op, value = change
    prop = _props(model, ev)[canon_prop]
    out: dict = {"field": prop.field, "change": op}
    if op in ("remove", "add", "set"):
        out["value"] = value if isinstance(value, bool) else model.code_of.get(value, str(value))
    return out


def apply_edit(card: dict, edit: dict) -> dict:
    """Apply one :func:`card_edit` to a copy of ``card`` (used by tests and the report's what-if lines)."""
    import copy

    out = copy.deepcopy(card)
    section, key = edit["field"].split(".", 1)
    part = out.setdefault(section, {})
    current = part.get(key)
    op = edit["change"]
    if op == "remove":
        part[key] = [v for v in current if v != edit["value"]]
    elif op == "add":
        part[key] = [*(current or []), edit["value"]]
    elif op == "absent":
        part[key] = None
    else:  # set
        part[key] = edit["value"]
    return out


# -- rendering: each reason as a sentence in zh and en, with its kind (fact, default, rule, contract, priority)

# How a conclusion reads, per result field of the contract (presentation only: which class fills a field
# is the ontology's atmp:resultField).
VERBS = {
    "atmp": ("so it is an", "故属于"),
    "exclusion": ("so", "故"),
    "nmpa.class": ("so it is classed as", "故归入"),
    "nmpa.subclass": ("so it is classed as", "故归入"),
    "tianjin.category": ("so its Tianjin category is", "故天津类别为"),
    "tianjin.subcategory": ("so its Tianjin subcategory is", "故天津亚类为"),
    "tianjin.risk_tier": ("so it is rated", "故风险等级定为"),
    "tianjin.criteria": ("so it meets", "故符合"),
    "borderline": ("so a reviewer should note:", "故需注意："),
}
NOT_ATMP = ("so it is not an", "故不属于")


def value_text(model: OntologyModel, value) -> dict[str, str]:
    """A card value in words: a vocabulary label, or yes/no for a flag."""
    if isinstance(value, bool):
        return {"en": "yes" if value else "no", "zh": "是" if value else "否"}
    return model.label(value)


def field_text(model: OntologyModel, prop: CardProperty) -> dict[str, str]:
    """A card field in words (its property's label); English labels of the form "has X" read as "X"."""
    label = model.label(prop.iri)
    en = label.get("en", prop.field)
    return {"en": en[4:] if en.startswith("has ") else en, "zh": label.get("zh", prop.field)}


def fact_text(model: OntologyModel, prop: CardProperty, values: tuple) -> dict[str, str]:
    """``field: value[, value]`` in both languages; an empty value reads "none stated".

    The same words for every product, so remembered per model (bounded like the search cache); the
    dict is shared: read it, do not change it.
    """
    memo = model.memo.setdefault("justify_fact_text", {})
    key = (prop.iri, values)
    found = memo.get(key)
    if found is None:
        if len(memo) > CACHE_LIMIT:
            memo.clear()
        found = memo[key] = _fact_text(model, prop, values)
    return found


def _fact_text(model: OntologyModel, prop: CardProperty, values: tuple) -> dict[str, str]:
    name = field_text(model, prop)
    if not values:
        return {"en": f"{name['en']}: none stated", "zh": f"{name['zh']}：未说明"}
    words = [value_text(model, v) for v in values]
    return {"en": f"{name['en']}: {', '.join(w.get('en', '') for w in words)}", "zh": f"{name['zh']}：{'、'.join(w.get('zh', '') for w in words)}"}


def _card_states(card: dict, prop: CardProperty) -> bool:
    return card.get(prop.section, {}).get(prop.key) is not None


def _reason_for(model: OntologyModel, ev: Evaluator, ctx: ProductContext, card: dict, group: tuple[Change, ...], rule_of) -> dict:
    """One deciding reason (a fact or a minimal group of facts) as an item of ``because``."""
    props = _props(model, ev)
    parts, kinds, rules = [], [], []
    for canon_prop, op, value in group:
        prop = props[canon_prop]
        current = ctx.facts.values.get(prop.iri, ())
        shown = (value,) if op == "remove" else current
        parts.append(fact_text(model, prop, shown))
        defaulted = op in ("set", "add") and not _card_states(card, prop) and not (prop.is_object and current and current != _default(prop))
        kinds.append("default" if defaulted else "fact")
        rule = rule_of.get((canon_prop, value if op == "remove" else None)) or rule_of.get((canon_prop, None))
        if rule is not None and rule not in rules:
            rules.append(rule)
    kind = "default" if all(k == "default" for k in kinds) else "fact"
    if len(parts) == 1:
        en, zh = parts[0]["en"], parts[0]["zh"]
    else:
        en = "any one of these suffices: " + "; ".join(p["en"] for p in parts)
        zh = "以下任一即可：" + "；".join(p["zh"] for p in parts)
    if kind == "default":
        en += " (not stated on the card: the ontology's reading of an absent value)"
        zh += "（产品卡未说明，按本体对缺省值的解读）"
    sources = [model.source(r) for r in rules if model.source(r)]
    item: dict = {"kind": kind, "en": en, "zh": zh, "changes": [card_edit(model, ev, c) for c in group]}
    if rules:
        item["rule"] = " ".join(str(r).rsplit("/", 1)[-1] for r in rules)
        item["source"] = "; ".join(dict.fromkeys(sources))
    return item


def _rules_of_facts(ctx: ProductContext, cls: URIRef, limit: int = 64) -> dict:
    """(property, value or None) -> the nearest named class whose definition reads that fact.

    A breadth-first walk over the reasons the evaluator already shares between products; iterative
    (no nested function), so a call leaves no reference cycle behind.
    """
    out: dict = {}
    seen = {cls}
    queue = [cls]
    while queue and len(seen) < limit:
        c = queue.pop(0)
        for reason in ctx.why(c):
            if reason[0] in ("fact", "absent"):
                out.setdefault((reason[1], reason[2] if reason[0] == "fact" else None), c)
                out.setdefault((reason[1], None), c)
            elif reason[0] in ("class", "not") and reason[1] not in seen:
                seen.add(reason[1])
                queue.append(reason[1])
    return out


def priorities(model: OntologyModel, ev: Evaluator) -> dict[URIRef, list[tuple[URIRef, list[URIRef]]]]:
    """Concluded class -> [(borderline class naming it as a conjunct, the alternatives it names)].

    A priority rule is a borderline class defined as "the class it files the product in, and a
    description the product also fits" (e.g. ex vivo modified CTMP and a GTMP description); read
    from the definitions, so a new priority rule in the ontology is reported without code.
    """
    found = model.memo.get("justify_priorities")
    if found is not None:
        return found
    from atmp.core.engines.expressions import And, Named, Or

    found = {}
    for rc in model.result_classes:
        if rc.field != "borderline":
            continue
        for e in ev.defs.equivalents.get(ev.canon.get(rc.iri, rc.iri), ()):
            if not isinstance(e, And):
                continue
            named = [i.iri for i in e.items if isinstance(i, Named)]
            alts = [j.iri for i in e.items if isinstance(i, Or) for j in i.items if isinstance(j, Named)]
            for n in named:
                if alts and any(r.iri == n or ev.canon.get(r.iri) == n for r in model.result_classes if r.field != "borderline"):
                    found.setdefault(n, []).append((rc.iri, alts))
    model.memo["justify_priorities"] = found
    return found


def _label_list(model: OntologyModel, classes: list[URIRef], lang: str) -> str:
    return ("、" if lang == "zh" else ", ").join(model.label(c).get(lang, "") for c in classes)


def brief_entry(model: OntologyModel, ev: Evaluator, ctx: ProductContext, rc, conclusion: str, card: dict, expected: bool = True) -> dict:
    """The minimal justification of one conclusion: deciding facts, the rule, contract decisions, priorities.

    The prose is in ``text`` (one sentence per language); ``because`` says what each reason is
    (``kind``) and, for card facts and defaults, the card edit that drops it (``changes``). Fact
    reasons carry no prose of their own: the sentence already says them, and a batch stays small.
    """
    cls = ev.canon.get(rc.iri, rc.iri)
    rule_id = str(rc.iri).rsplit("/", 1)[-1]
    groups = deciding(model, ev, ctx, cls, expected)
    rule_of = (LazyRules(ctx, cls) if FAST else _rules_of_facts(ctx, cls)) if expected else {}
    reasons = [_reason_for(model, ev, ctx, card, g, rule_of) for g in groups]
    label = rc.label
    because = [{k: v for k, v in r.items() if k not in ("en", "zh", "source")} for r in reasons]  # the sentence cites them
    because.append({"kind": "rule", "rule": rule_id, "source": rc.source})  # its label and definition: the entry's
    resting = []
    result_iris = model.memo.get("justify_result_iris")
    if result_iris is None:
        result_iris = model.memo["justify_result_iris"] = {ev.canon.get(r.iri, r.iri): r for r in model.result_classes if r.field != "atmp"}
    if not expected:  # a negated conclusion (not an ATMP) rests on the exclusion that holds, explained in its own entry
        for sub in result_iris.values():
            if sub.field == "exclusion" and ctx.truth(ev.canon.get(sub.iri, sub.iri)) is True:
                item = {
                    "kind": "rule",
                    "rule": str(sub.iri).rsplit("/", 1)[-1],
                    "source": sub.source,
                    "en": f"{sub.label.get('en')} ({sub.source})",
                    "zh": f"{sub.label.get('zh')}（{sub.source}）",
                }
                because.append(item)
                resting.append(item)
    if expected:  # conclusions that rest on other conclusions (a tier on its criteria, a class on its subclass)
        for reason in ctx.why(cls):
            sub = result_iris.get(reason[1]) if reason[0] == "class" else None
            if sub is not None and sub.iri != rc.iri:
                item = {
                    "kind": "rule",
                    "rule": str(sub.iri).rsplit("/", 1)[-1],
                    "source": sub.source,
                    "en": f"meets {sub.label.get('en')} ({sub.source})",
                    "zh": f"符合{sub.label.get('zh')}（{sub.source}）",
                }
                because.append(item)
                resting.append(item)
    notes = _notes(model, rc.iri)
    if notes:
        because.append({"kind": "contract", "source": rc.source, "en": f"contract decision: {notes.get('en', '')}", "zh": f"契约决定：{notes.get('zh', notes.get('en', ''))}"})
    if expected:
        for border, alts in priorities(model, ev).get(cls, []):
            also = [a for a in alts if ctx.truth(ev.canon.get(a, a)) is True]
            if also and ctx.truth(ev.canon.get(border, border)) is True:
                src = model.source(border)
                because.append(
                    {
                        "kind": "priority",
                        "rule": str(border).rsplit("/", 1)[-1],
                        "source": src,
                        "en": f"also fits {_label_list(model, also, 'en')}, but {src} ranks {label.get('en')} above it",
                        "zh": f"亦符合{_label_list(model, also, 'zh')}，但{src}规定优先归入{label.get('zh')}",
                    }
                )
    verb = VERBS.get(rc.field, ("so", "故")) if expected else NOT_ATMP
    en_parts = [r["en"] + (f" ({r['source']})" if r.get("source") else "") for r in reasons] + [r["en"] for r in resting]
    zh_parts = [r["zh"] + (f"（{r['source']}）" if r.get("source") else "") for r in reasons] + [r["zh"] for r in resting]
    en_facts = "; ".join(en_parts) or "by the rule alone"
    zh_facts = "；".join(zh_parts) or "依规则本身"
    text = {"en": f"{en_facts[0].upper()}{en_facts[1:]}, {verb[0]} {label.get('en')} ({rc.source}).", "zh": f"{zh_facts}，{verb[1]}{label.get('zh')}（{rc.source}）。"}
    return {"conclusion": conclusion, "rule": rule_id, "label": label, "text": text, "because": because, "source": rc.source}


def _notes(model: OntologyModel, iri: URIRef) -> dict[str, str]:
    """A class's contract decisions (``skos:editorialNote``) by language; read once per class."""
    from atmp.core.rules.ontology import SKOS

    cache = model.memo.setdefault("justify_notes", {})
    if iri not in cache:
        notes: dict[str, str] = {}
        for n in model.graph.objects(iri, SKOS.editorialNote):
            notes.setdefault(getattr(n, "language", None) or "en", str(n))
        cache[iri] = notes
    return cache[iri]
