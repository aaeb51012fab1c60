"""Minimal explanations: for one conclusion, only the card facts that decide it, found by counterfactuals.

Why counterfactuals and not the definition walk: the walk (:func:`atmp.core.explain.because`) lists
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

from .evaluator import Evaluator, ProductContext
from .facts import ProductFacts
from .justify_fast import MISS, BitVariants, LazyRules
from .ontology import CardProperty, OntologyModel

CACHE_LIMIT = 200_000  # cached searches per model; beyond this the cache starts afresh (bounded memory)
FAST = True  # re-decide on the compiled bitsets (atmp.core.justify_fast); False: the reference path, kept for the tests

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
    from .evaluator import And, HasValue, Not, Only, Or, Some

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
    """The product's changed bitsets (:mod:`atmp.core.justify_fast`), kept on its context like :func:`variants_of`."""
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
    props = _props(model, ev)
    plans = model.memo.setdefault("justify_read_props", {})
    read_props = plans.get((cls, ctx.types))
    if read_props is None:  # the properties the class reads, in the model's field order (once per class and types)
        reads = ev.reads(cls, ctx.types)
        wanted = None if reads is None else set(reads)
        read_props = plans[(cls, ctx.types)] = [p for p in props if wanted is None or p in wanted]
    key = (cls, expected, ctx.types, tuple(ctx.values.get(p, ()) for p in read_props))
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
    from .evaluator import And, Named, Or

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
    from .ontology import SKOS

    cache = model.memo.setdefault("justify_notes", {})
    if iri not in cache:
        notes: dict[str, str] = {}
        for n in model.graph.objects(iri, SKOS.editorialNote):
            notes.setdefault(getattr(n, "language", None) or "en", str(n))
        cache[iri] = notes
    return cache[iri]
