"""What-if analysis: every single-field change of one card, and the smallest changes that cross a boundary.

The variants come from the vocabulary, not from a list written here: every card field the ontology
carries (``atmp:cardField``) with the codes the ontology and the contract's JSON schema both know.

* single-valued code fields: every other code; booleans: the flip;
* list fields (manipulations, combined_with, mechanism): add or remove each code;
* optional fields (not required by the schema): also "absent", unless the ontology declares an
  ``atmp:valueWhenAbsent`` for the property, in which case absent means that value and is already a variant.

Variants that the contract's schema refuses (e.g. an empty mechanism list) are skipped and listed.
All variants are classified in one :func:`atmp.classify.classify_cards` batch, so what a variant
answers is exactly what ``atmp classify`` would answer for it (SHACL violations included).

A *boundary* is a result field whose value moves: ``exclusion`` (in or out of ATMP scope and why),
``class`` (NMPA class), ``subclass`` (NMPA subclass), ``subcategory`` (Tianjin) and ``tier`` (Tianjin
risk tier). The *counterfactuals* are, per boundary and new value, the single changes that get there,
with the rule (ontology class, its label and source) that concludes the new value. Two-field changes
are searched only where no single change reaches a neighbouring tier (the tiers are an ordered scale)
or no single change crosses a boundary at all; the search is bounded (``max_pairs``) and screened with
the compiled evaluation before the hits are classified in full.

The *ranking* (:func:`ranked`, the report's ``ranked``) lists each change once, with every boundary it crosses
and the rule that concludes each new value, in the order a sponsor would read them: first the changes that keep
the card coherent (it still conforms to the shapes) and keep the product's nature (the substance section's
required fields: its kind — a sponsor changes how a product is made or used, not what it is), and among those the
ones that stay in scope (no exclusion, no result field emptied) and move the tier or the subclass; then the rest. The workbench shows the first
ten and the rest behind "more"; the report's nearest boundaries are the head of the same list.
"""

from __future__ import annotations

import copy
import itertools
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from atmp.core.card.schema import CardError, validate_card
from atmp.core.rules import layout
from atmp.core.rules.layout import CRITERIA, SUMMARY_FIELDS
from atmp.core.rules.namespaces import local_name
from atmp.core.rules.ontology import OntologyModel, load_model
from atmp.core.rules.resources import CARD_SCHEMA, RESULT_SCHEMA, schema, words

from .render import grid

# boundary name -> result field (dotted path into the contract result)
BOUNDARIES: dict[str, str] = {
    "exclusion": "exclusion",
    "class": "nmpa.class",
    "subclass": "nmpa.subclass",
    "subcategory": "tianjin.subcategory",
    "tier": "tianjin.risk_tier",
}
#: the order in which a crossed boundary ranks a change: a tier or subclass move is what a sponsor asks about first
RANK_ORDER = ("tier", "subclass", "class", "subcategory", "exclusion")
ABSENT = "(absent)"
DEFAULT_MAX_PAIRS = 150
VARIANT_ID = "whatif-{:04d}"


@dataclass(frozen=True)
class FieldSpec:
    """One card field as the variant generator sees it."""

    path: str  # "substance.kind"
    kind: str  # "code" | "bool" | "list"
    codes: tuple[str, ...]  # allowed codes (code and list fields), schema order
    optional: bool
    default: Any  # the card value the ontology asserts when the field is absent (atmp:valueWhenAbsent), or None
    min_items: int
    label: dict[str, str]

    @property
    def section(self) -> str:
        return self.path.split(".", 1)[0]

    @property
    def key(self) -> str:
        return self.path.split(".", 1)[1]


@dataclass(frozen=True)
class Change:
    """One edit of one field: ``set`` a value (``None`` = absent), ``add`` or ``remove`` a list item."""

    field: str
    op: str
    value: Any

    def apply(self, card: dict) -> dict:
        section, key = self.field.split(".", 1)
        part = card.setdefault(section, {})
        if self.op == "set":
            if self.value is None:
                part.pop(key, None)
            else:
                part[key] = self.value
        elif self.op == "add":
            part[key] = [*part.get(key, []), self.value]
        elif self.op == "remove":
            part[key] = [v for v in part.get(key, []) if v != self.value]
        else:  # pragma: no cover - ops are produced here only
            raise ValueError(self.op)
        return card

    def text(self, before: Any = None) -> str:
        if self.op == "add":
            return f"{self.field} + {self.value}"
        if self.op == "remove":
            return f"{self.field} - {self.value}"
        return f"{self.field}: {_show(before)} -> {_show(self.value)}"


def _show(value: Any) -> str:
    if value is None:
        return ABSENT
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


@lru_cache(maxsize=1)
def _schemas() -> tuple[dict, dict]:
    return schema(CARD_SCHEMA), schema(RESULT_SCHEMA)


def field_specs(model: OntologyModel) -> list[FieldSpec]:
    """The card fields to vary: those the ontology maps (``atmp:cardField``), in the schema's order."""
    schema, _ = _schemas()
    props = {p.field: p for p in model.properties}
    specs: list[FieldSpec] = []
    for section, sec_schema in schema["properties"].items():
        if sec_schema.get("type") != "object" or section not in ("substance", "process", "function"):
            continue
        required = set(sec_schema.get("required", ()))
        for key, fschema in sec_schema.get("properties", {}).items():
            path = f"{section}.{key}"
            prop = props.get(path)
            if prop is None:
                continue  # a field the ontology does not reason about cannot move a result
            if fschema.get("type") == "array":
                kind, enum = "list", fschema.get("items", {}).get("enum", [])
            elif fschema.get("type") == "boolean":
                kind, enum = "bool", []
            else:
                kind, enum = "code", fschema.get("enum", [])
            codes: tuple[str, ...] = ()
            if kind != "bool":
                known = set(prop.codes)
                codes = tuple(c for c in enum if c is not None and c in known)
                codes += tuple(sorted(known - set(codes)))  # ontology-only codes: tried, and skipped if the schema refuses them
            default = model.code_of.get(prop.default, prop.default) if prop.default is not None else None
            specs.append(FieldSpec(path, kind, codes, key not in required, default, int(fschema.get("minItems", 0)), model.label(prop.iri)))
    return specs


def _get(card: dict, path: str) -> Any:
    section, key = path.split(".", 1)
    return card.get(section, {}).get(key)


def single_changes(card: dict, specs: list[FieldSpec]) -> list[Change]:
    """Every single-field change of ``card``: other codes, flips, list additions/removals, absent."""
    out: list[Change] = []
    for spec in specs:
        current = _get(card, spec.path)
        if spec.kind == "list":
            items = list(current or [])
            out += [Change(spec.path, "remove", c) for c in items]
            out += [Change(spec.path, "add", c) for c in spec.codes if c not in items]
            continue
        if spec.kind == "bool":
            values: list[Any] = [False, True]
        else:
            values = list(spec.codes)
        effective = spec.default if current is None else current  # absent means the ontology's default, when it has one
        out += [Change(spec.path, "set", v) for v in values if v != effective]
        if spec.optional and spec.default is None and current is not None:
            out.append(Change(spec.path, "set", None))
    return out


def _summary(result: dict) -> dict:
    return {
        **layout.summary(result),
        "criteria": list(layout.get(result, CRITERIA)),
        "borderline": sorted({b["code"] for b in result["borderline"]}),
        "conforms": result["conforms"],
    }


def _violation_keys(result: dict) -> set[tuple]:
    return {(v.get("path"), json.dumps(v.get("message"), sort_keys=True, ensure_ascii=False)) for v in result["violations"]}


def deciding_rule(result: dict, field: str, limit: int | None = 8) -> dict | None:
    """The explanation entry that concludes ``field``'s value in ``result`` (its rule, label and source).

    A null value is concluded by what took the product out: the exclusion (or, for the exclusion
    boundary itself, the ATMP class); otherwise by the borderline rule that says why (e.g. outside
    the Tianjin scope), when there is one.
    """
    value = _summary(result)[field]
    entries = result["explanation"]
    wanted: list[str] = []
    if value is not None:
        wanted.append(f"{field} = {value}")
    elif field == "exclusion":
        wanted.append("atmp = true")
    else:
        if result["exclusion"] is not None:
            wanted.append(f"exclusion = {result['exclusion']}")
        wanted += [f"borderline: {b['code']}" for b in result["borderline"]]
    for conclusion in wanted:
        for e in entries:
            if e.get("conclusion") == conclusion:
                because = [b for b in e.get("because", []) if b.get("holds", True) and ("rule" in b or "field" in b)]
                return {
                    "conclusion": e["conclusion"],
                    "rule": e.get("rule"),
                    "label": e.get("label"),
                    "source": e.get("source"),
                    "because": [{k: b[k] for k in ("rule", "field", "value", "source", "en", "zh") if k in b} for b in because[:limit]],
                }
    return None


def _variant_entry(changes: tuple[Change, ...], card: dict, base: dict, base_result: dict, result: dict, model: OntologyModel, specs: dict[str, FieldSpec]) -> dict:
    summary = _summary(result)
    delta = {f: [base[f], summary[f]] for f in SUMMARY_FIELDS if summary[f] != base[f]}
    crosses = [name for name, f in BOUNDARIES.items() if summary[f] != base[f]]
    known = _violation_keys(base_result)
    new_violations = [v for v in result["violations"] if (v.get("path"), json.dumps(v.get("message"), sort_keys=True, ensure_ascii=False)) not in known]
    return {
        "changes": [_change_entry(c, card, model, specs) for c in changes],
        "text": "; ".join(c.text(_get(card, c.field)) for c in changes),
        "result": {k: summary[k] for k in (*SUMMARY_FIELDS, "criteria")},
        "delta": delta,
        "criteria_added": sorted(set(summary["criteria"]) - set(base["criteria"])),
        "criteria_removed": sorted(set(base["criteria"]) - set(summary["criteria"])),
        "borderline_added": sorted(set(summary["borderline"]) - set(base["borderline"])),
        "borderline_removed": sorted(set(base["borderline"]) - set(summary["borderline"])),
        "new_violations": new_violations,
        "conforms": summary["conforms"],
        "crosses": crosses,
    }


def _value_label(model: OntologyModel, spec: FieldSpec | None, value: Any) -> dict[str, str]:
    if value is None:
        return {"en": "absent", "zh": "未说明"}
    if isinstance(value, bool):
        return {"en": "true" if value else "false", "zh": "是" if value else "否"}
    if spec is not None:
        prop = model.property_for(spec.path)
        if value in prop.codes:
            return model.label(prop.codes[value])
    return {"en": str(value), "zh": str(value)}


def _change_entry(change: Change, card: dict, model: OntologyModel, specs: dict[str, FieldSpec]) -> dict:
    spec = specs.get(change.field)
    before = _get(card, change.field)
    after = _get(change.apply(copy.deepcopy(card)), change.field)
    return {
        "field": change.field,
        "op": change.op,
        "value": change.value,
        "from": before,
        "to": after,
        "field_label": spec.label if spec else {"en": change.field, "zh": change.field},
        "value_label": _value_label(model, spec, change.value),
    }


def _variants(card: dict, changes: list[tuple[Change, ...]]) -> tuple[list[tuple[tuple[Change, ...], dict]], list[dict]]:
    """Apply each change set to a copy of ``card`` (with a fresh id); keep those the contract accepts."""
    kept, skipped = [], []
    for changes_ in changes:
        variant = copy.deepcopy(card)
        for c in changes_:
            c.apply(variant)
        variant["id"] = VARIANT_ID.format(len(kept) + 1)
        try:
            validate_card(variant)
        except CardError as exc:
            skipped.append({"text": "; ".join(c.text(_get(card, c.field)) for c in changes_), "reason": str(exc)})
            continue
        kept.append((changes_, variant))
    return kept, skipped


def _screen(model: OntologyModel, cards: list[dict]) -> list[dict[str, Any]]:
    """Cheap result fields (no explanation, no SHACL) of cards, from the compiled evaluation of the ontology."""
    from atmp.core.card.facts import card_facts
    from atmp.core.classify import evaluator_for

    ev = evaluator_for(model)
    out = []
    for card in cards:
        ctx = ev.product_context(card_facts(model, card))
        fields: dict[str, Any] = dict.fromkeys(SUMMARY_FIELDS)
        fields["atmp"] = False
        for rc in model.result_classes:
            if rc.field in fields and ctx.member(rc.iri):
                fields[rc.field] = True if rc.field == "atmp" else rc.code
        out.append(fields)
    return out


def _normalise_boundaries(boundaries) -> list[str]:
    if not boundaries:
        return list(BOUNDARIES)
    names = []
    by_field = {v: k for k, v in BOUNDARIES.items()}
    for b in boundaries:
        name = by_field.get(b, b)
        if name not in BOUNDARIES:
            raise ValueError(f"unknown boundary {b!r}; expected one of {', '.join(BOUNDARIES)}")
        if name not in names:
            names.append(name)
    return names


def _ordered_neighbours(model: OntologyModel, field: str, value: Any) -> list[Any]:
    """For a result field whose values the ontology ranks (``atmp:rank``: the tiers), the adjacent values."""
    ranked = [rc for rc in model.ordered(field) if rc.rank is not None]
    scale = [rc.code for rc in ranked]
    if value is None or value not in scale:
        return []
    i = scale.index(value)
    return [scale[j] for j in (i - 1, i + 1) if 0 <= j < len(scale)]


def whatif(card: dict, model: OntologyModel | None = None, engine: str = "compiled", boundaries=None, max_pairs: int = DEFAULT_MAX_PAIRS) -> dict:
    """The what-if report of one validated card (see the module docstring). JSON-serialisable."""
    from atmp.core.classify import classify_cards

    model = model or load_model()
    validate_card(card)
    names = _normalise_boundaries(boundaries)
    specs = field_specs(model)
    by_path = {s.path: s for s in specs}
    singles = single_changes(card, specs)
    variants, skipped = _variants(card, [(c,) for c in singles])
    base_card = copy.deepcopy(card)
    base_card["id"] = VARIANT_ID.format(0)
    results = classify_cards([base_card, *(v for _, v in variants)], engine=engine, model=model)
    base_result, results = results[0], results[1:]
    base = _summary(base_result)
    entries = [_variant_entry(ch, card, base, base_result, r, model, by_path) for (ch, _), r in zip(variants, results, strict=True)]

    counterfactuals: list[dict] = []
    wanted_pairs: dict[str, set] = {}
    for name in names:
        field = BOUNDARIES[name]
        groups: dict[Any, list[int]] = {}
        for i, e in enumerate(entries):
            if name in e["crosses"]:
                groups.setdefault(e["result"][field], []).append(i)
        for value, idx in groups.items():
            counterfactuals.append(_counterfactual(name, field, base[field], value, [(entries[i], results[i]) for i in idx]))
        missing = {v for v in _ordered_neighbours(model, field, base[field]) if v not in groups}
        if not groups:
            missing.add("*")  # nothing crosses this boundary in one step: any new value will do
        if missing:
            wanted_pairs[name] = missing

    pair_info = {"searched": False}
    if wanted_pairs and max_pairs > 0:
        pair_cfs, pair_info = _pair_search(card, model, engine, entries, [ch for ch, _ in variants], base, base_result, wanted_pairs, max_pairs, by_path)
        counterfactuals += pair_cfs
    order = {n: i for i, n in enumerate(BOUNDARIES)}
    counterfactuals.sort(key=lambda c: (order[c["boundary"]], c["size"], str(c["to"])))
    unreached = [{"boundary": n, "to": sorted(map(str, v))} for n, v in wanted_pairs.items() if not any(c["boundary"] == n and (c["to"] in v or "*" in v) for c in counterfactuals)]
    return {
        "id": card["id"],
        "label": card.get("label"),
        "result": {k: base[k] for k in (*SUMMARY_FIELDS, "criteria", "borderline", "conforms")},
        "boundaries": names,
        "fields": [s.path for s in specs],
        "variants": len(entries),
        "changes": entries,
        "skipped": skipped,
        "counterfactuals": counterfactuals,
        "ranked": ranked(counterfactuals),
        "pairs": pair_info,
        "rule_version": {"iri": model.version_iri, "info": model.version_info},
        "unreached": unreached,
    }


def _counterfactual(name: str, field: str, old: Any, new: Any, hits: list[tuple[dict, dict]]) -> dict:
    hits = sorted(hits, key=lambda h: (not h[0]["conforms"], h[0]["text"]))
    options = []
    for entry, result in hits:
        decided = deciding_rule(result, field)
        options.append(
            {
                "changes": entry["changes"],
                "text": entry["text"],
                "conforms": entry["conforms"],
                "new_violations": len(entry["new_violations"]),
                "delta": entry["delta"],
                "criteria": entry["result"]["criteria"],
                "rule": {k: decided[k] for k in ("conclusion", "rule", "label", "source")} if decided else None,
                "because": decided["because"] if decided else [],
            }
        )
    rules = list(dict.fromkeys(o["rule"]["rule"] for o in options if o["rule"]))
    return {
        "boundary": name,
        "field": field,
        "from": old,
        "to": new,
        "size": len(hits[0][0]["changes"]),
        "rules": rules,
        "coherent_options": sum(1 for o in options if o["conforms"]),
        "options": options,
    }


@lru_cache(maxsize=1)
def nature_fields() -> tuple[str, ...]:
    """The fields that say what the product *is* (its substance section's required fields: the kind), read from
    the card schema: a change of one of them is a different product, not a change a sponsor makes to this one."""
    schema, _ = _schemas()
    substance = schema["properties"].get("substance", {})
    return tuple(f"substance.{key}" for key in substance.get("required", ()))


def _rank_key(entry: dict) -> tuple:
    crossed = [c["boundary"] for c in entry["crosses"]]
    first = min((RANK_ORDER.index(b) for b in crossed if b in RANK_ORDER), default=len(RANK_ORDER))
    return (
        not entry["plausible"],  # coherent and the same kind of product first
        "exclusion" in crossed or any(c["to"] is None for c in entry["crosses"]),  # then those that keep the product in each scope it is in
        first,  # tier, then subclass, class, subcategory moves
        entry["size"],  # one change before two
        len(crossed),  # the nearest: fewest boundaries moved at once
        entry["text"],
    )


def ranked(counterfactuals: list[dict]) -> list[dict]:
    """Every change that crosses a boundary, once, with all the boundaries it crosses, in the sponsor's order.

    Each entry: ``changes`` (field, op, value and their labels), ``text``, ``size``, ``conforms``, ``keeps_nature``
    (no field of :func:`nature_fields` changed), ``plausible`` (both), and ``crosses``: per boundary ``{boundary,
    field, from, to, rule}`` (the rule that concludes the new value). The order is :func:`_rank_key`'s: plausible
    changes first; among them those that stay in the ATMP scope; then by the first boundary they cross in
    :data:`RANK_ORDER` (tier, subclass, …); then single changes before pairs, fewer boundaries before more.
    """
    nature = set(nature_fields())
    by_text: dict[str, dict] = {}
    for cf in counterfactuals:
        for option in cf["options"]:
            entry = by_text.get(option["text"])
            if entry is None:
                keeps = not any(c["field"] in nature for c in option["changes"])
                entry = by_text[option["text"]] = {
                    "changes": option["changes"],
                    "text": option["text"],
                    "size": len(option["changes"]),
                    "conforms": option["conforms"],
                    "keeps_nature": keeps,
                    "plausible": option["conforms"] and keeps,
                    "crosses": [],
                }
            if not any(c["boundary"] == cf["boundary"] for c in entry["crosses"]):
                entry["crosses"].append({"boundary": cf["boundary"], "field": cf["field"], "from": cf["from"], "to": cf["to"], "rule": option["rule"]})
    order = {n: i for i, n in enumerate(BOUNDARIES)}
    for entry in by_text.values():
        entry["crosses"].sort(key=lambda c: order[c["boundary"]])
    return sorted(by_text.values(), key=_rank_key)


def nearest(report: dict, coherent_only: bool = True) -> list[dict]:
    """Per boundary and new value, the smallest changes that reach it (coherent ones only, by default)."""
    out = []
    for cf in report["counterfactuals"]:
        options = [o for o in cf["options"] if o["conforms"] or not coherent_only]
        if options:
            out.append(
                {
                    "id": report["id"],
                    "boundary": cf["boundary"],
                    "from": cf["from"],
                    "to": cf["to"],
                    "size": cf["size"],
                    "changes": [o["text"] for o in options],
                    "rules": list(dict.fromkeys(o["rule"]["rule"] for o in options if o["rule"])),
                }
            )
    return out


@lru_cache(maxsize=8)
def _class_iris(model: OntologyModel) -> dict[str, Any]:
    from rdflib import OWL, RDF, URIRef

    return {local_name(c): c for c in model.graph.subjects(RDF.type, OWL.Class) if isinstance(c, URIRef)}


def _deciding_reasons(model: OntologyModel, result: dict, field: str) -> list:
    """The named classes that hold in the explanation of ``field``'s current value (what a change must undo)."""
    decided = deciding_rule(result, field, limit=None)
    if decided is None:
        return []
    iris = _class_iris(model)
    return [iris[b["rule"]] for b in decided["because"] if b.get("rule") in iris]


def _pair_search(card, model, engine, entries, singles_of, base, base_result, wanted, max_pairs, specs):
    """Two-field changes for the boundaries in ``wanted`` that no single change crosses (bounded).

    The pool is the single changes that keep the boundary's field filled and undo at least one of the
    reasons (named classes) behind its current value, coherent or not (two changes can be coherent
    where each alone is not: a vector without payload, a payload without vector); pairs of the pool
    are screened with the compiled evaluation, most reasons undone first, and only the hits are
    classified in full.
    """
    from atmp.core.card.facts import card_facts
    from atmp.core.classify import classify_cards, evaluator_for

    ev = evaluator_for(model)
    singles = {id(e): (ch[0], e) for ch, e in zip(singles_of, entries, strict=True)}
    candidates: dict[tuple[Change, Change], int] = {}
    pool_size = 0
    for name in wanted:
        field = BOUNDARIES[name]
        reasons = _deciding_reasons(model, base_result, field)
        pool: list[tuple[int, Change]] = []
        for change, e in singles.values():
            if base[field] is not None and e["result"][field] is None:
                continue  # left the scope of this field: a second change will not bring it back to a neighbour
            variant = change.apply(copy.deepcopy(card))
            ctx = ev.product_context(card_facts(model, variant))
            undone = sum(1 for r in reasons if not ctx.member(r))
            if undone:
                pool.append((undone, change))
        pool_size += len(pool)
        pool.sort(key=lambda x: -x[0])
        for (na, a), (nb, b) in itertools.combinations(pool, 2):
            if a.field == b.field and not (a.op in ("add", "remove") and b.op in ("add", "remove")):
                continue  # two values of one single-valued field are not two changes
            key = (a, b)
            candidates[key] = max(candidates.get(key, 0), na + nb)
    ordered = sorted(candidates, key=lambda k: -candidates[k])
    truncated = len(ordered) > max_pairs
    ordered = ordered[:max_pairs]
    info = {"searched": True, "for": {n: sorted(map(str, v)) for n, v in wanted.items()}, "pool": pool_size, "pairs": len(ordered), "truncated": truncated, "hits": 0}
    variants, _ = _variants(card, ordered)
    screened = _screen(model, [v for _, v in variants])
    hits = []
    for (changes, variant), fields in zip(variants, screened, strict=True):
        for name, targets in wanted.items():
            f = BOUNDARIES[name]
            if fields[f] != base[f] and ("*" in targets or fields[f] in targets):
                hits.append((changes, variant))
                break
    info["hits"] = len(hits)
    if not hits:
        return [], info
    results = classify_cards([v for _, v in hits], engine=engine, model=model)
    groups: dict[tuple[str, Any], list[tuple[dict, dict]]] = {}
    for (changes, _), result in zip(hits, results, strict=True):
        entry = _variant_entry(changes, card, base, base_result, result, model, specs)
        for name, targets in wanted.items():
            f = BOUNDARIES[name]
            new = entry["result"][f]
            if new != base[f] and ("*" in targets or new in targets):
                groups.setdefault((name, new), []).append((entry, result))
    return [_counterfactual(name, BOUNDARIES[name], base[BOUNDARIES[name]], new, found) for (name, new), found in groups.items()], info


# -- rendering -------------------------------------------------------------------------------------


def render_table(report: dict, model: OntologyModel | None = None, lang: str = "en", all_changes: bool = True) -> str:
    """The report for people, in ``lang``: the product's answers, the smallest changes across each boundary, then
    every single-field change, each code by its label and each source by its documents' names (the JSON has the codes)."""
    from .glossary import Glossary
    from .sources import source_text

    model = model or load_model()
    g = Glossary(model)
    t = {key: entry[lang] for key, entry in words("table").items()}  # the columns it shares with atmp classify's table
    w = {key: entry[lang] for key, entry in words("whatif").items()}
    sep = "；" if lang == "zh" else "; "

    def result(field: str, value: Any) -> str:
        if value is None:
            return "-"
        if isinstance(value, bool):
            return t["yes"] if value else t["no"]
        return g.result_label(field, value, lang)

    def change(c: dict) -> str:
        return g.card_field(c["field"], lang) + t["colon"] + w["op_" + c["op"]].format(value=g.card_value(c["field"], c.get("value"), lang))

    def options(opts: list[dict], most: int = 4) -> str:
        """Single changes of one field and kind merged (``substance kind: set to tissue | virus``), pairs in brackets."""
        merged: dict[tuple[str, str], list[str]] = {}
        pairs: list[str] = []
        for opt in opts:
            if len(opt["changes"]) != 1:
                pairs.append("(" + sep.join(change(c) for c in opt["changes"]) + ")")
                continue
            c = opt["changes"][0]
            merged.setdefault((c["field"], c["op"]), []).append(g.card_value(c["field"], c.get("value"), lang))
        parts = [g.card_field(f, lang) + t["colon"] + w["op_" + op].format(value=" | ".join(vals)) for (f, op), vals in merged.items()]
        if len(pairs) > most:
            pairs = [*pairs[:most], w["more"].format(n=len(pairs) - most)]
        return sep.join(parts + pairs)

    r = report["result"]
    labels = report.get("label") or {}
    name = labels.get(lang) or next((t for t in labels.values() if t), None) or report["id"]  # the card's name in another language before its id

    def said(key: str, value: str) -> str:
        return f"{w['head_' + key]}{t['colon']}{value}"

    answers = [
        said("atmp", result("atmp", r["atmp"])),
        said("nmpa", f"{result('nmpa.class', r['nmpa.class'])}{t['colon']}{result('nmpa.subclass', r['nmpa.subclass'])}")
        if r["atmp"]
        else said("exclusion", result("exclusion", r["exclusion"])),
        said("subcategory", result("tianjin.subcategory", r["tianjin.subcategory"])),
        said("tier", result("tianjin.risk_tier", r["tianjin.risk_tier"])),
        said("criteria", ",".join(map(str, r["criteria"])) or "-"),
    ]
    lines = [name, sep.join(answers), w["variants"].format(n=report["variants"], skipped=len(report["skipped"])), "", w["smallest"]]
    rows = []
    for cf in report["counterfactuals"]:
        groups: dict[tuple, list[dict]] = {}
        for opt in cf["options"]:
            rule = opt["rule"] or {}
            groups.setdefault((rule.get("rule"), rule.get("source"), opt["conforms"]), []).append(opt)
        for (rule, source, conforms), opts in groups.items():
            label = next(((o["rule"] or {}).get("label") or {} for o in opts), {}).get(lang) or rule or "-"
            rows.append(
                [
                    w["boundary_" + cf["boundary"]],
                    f"{result(cf['field'], cf['from'])} -> {result(cf['field'], cf['to'])}",
                    str(cf["size"]),
                    options(opts),
                    t["yes"] if conforms else t["NO"],
                    f"{label} ({source_text(model, source, lang) or '-'})" if source else label,
                ]
            )
    headers = [w["boundary"], w["move"], w["size"], w["change"], t["ok"], w["rule"]]
    lines += grid(headers, rows) if rows else [w["none"]]
    if report["unreached"]:
        items = sep.join(f"{w['boundary_' + u['boundary']]} -> {', '.join(result(BOUNDARIES[u['boundary']], t) for t in u['to'])}" for u in report["unreached"])
        lines.append(w["unreached"].format(items=items))
    if all_changes:
        lines += ["", w["every"]]
        rows = []
        for e in report["changes"]:
            res = e["result"]
            rows.append(
                [
                    sep.join(change(c) for c in e["changes"]),
                    _mark(e, "exclusion", result("exclusion", res["exclusion"]) if not res["atmp"] else t["yes"]),
                    _mark(e, "nmpa.subclass", result("nmpa.class", res["nmpa.class"]) + t["colon"] + result("nmpa.subclass", res["nmpa.subclass"]), also="nmpa.class"),
                    _mark(e, "tianjin.subcategory", result("tianjin.subcategory", res["tianjin.subcategory"])),
                    _mark(e, "tianjin.risk_tier", result("tianjin.risk_tier", res["tianjin.risk_tier"])),
                    " ".join([*(f"+{c}" for c in e["criteria_added"]), *(f"-{c}" for c in e["criteria_removed"])]) or "=",
                    str(len(e["new_violations"])) if e["new_violations"] else "",
                ]
            )
        headers = [w["change"], w["atmp_or_exclusion"], t["class"], t["subcategory"], t["tier"], t["criteria"], w["violations"]]
        lines += grid(headers, rows)
    return "\n".join(lines)


def _mark(entry: dict, field: str, text: str, also: str | None = None) -> str:
    moved = field in entry["delta"] or (also is not None and also in entry["delta"])
    return f"*{text}" if moved else "="


def changes_frame(report: dict):
    """The single-field changes as a pandas DataFrame (for notebooks; pandas is imported here only)."""
    import pandas as pd

    rows = []
    for e in report["changes"]:
        c = e["changes"][0]
        res = e["result"]
        rows.append(
            {
                "field": c["field"],
                "字段": c["field_label"].get("zh", c["field"]),
                "change": e["text"],
                "value": c["value_label"].get("en"),
                "取值": c["value_label"].get("zh"),
                "atmp": res["atmp"],
                "exclusion": res["exclusion"],
                "class": res["nmpa.class"],
                "subclass": res["nmpa.subclass"],
                "subcategory": res["tianjin.subcategory"],
                "tier": res["tianjin.risk_tier"],
                "criteria +": ",".join(map(str, e["criteria_added"])),
                "criteria -": ",".join(map(str, e["criteria_removed"])),
                "crosses": ",".join(e["crosses"]),
                "new violations": len(e["new_violations"]),
            }
        )
    return pd.DataFrame(rows).fillna("—")


def counterfactuals_frame(report: dict):
    """The counterfactuals, one row per option, as a pandas DataFrame."""
    import pandas as pd

    rows = []
    for cf in report["counterfactuals"]:
        for opt in cf["options"]:
            rule = opt["rule"] or {}
            rows.append(
                {
                    "boundary": cf["boundary"],
                    "from": cf["from"],
                    "to": cf["to"],
                    "size": cf["size"],
                    "change": opt["text"],
                    "coherent": opt["conforms"],
                    "rule": rule.get("rule"),
                    "规则": (rule.get("label") or {}).get("zh"),
                    "source": rule.get("source"),
                }
            )
    return pd.DataFrame(rows, columns=["boundary", "from", "to", "size", "change", "coherent", "rule", "规则", "source"]).fillna("—")
