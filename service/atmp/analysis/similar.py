"""Precedents: the catalogue's real products nearest to a card as the rules see it, and where they differ.

A reviewer argues from precedent ("like Kymriah, except for the vector"), so the distance between two products
is read off the rule book, not off raw field overlap:

* **facts** — each card property weighs how many of the rule book's definitions read it (every class the chosen
  regimes' result classes depend on, counted where its own expression restricts the property), relative to the
  most-read property; a list field counts the share of its codes that differ (Jaccard). A property no rule reads
  weighs nothing in the distance and only breaks ties; free text (label, indication) is not a property at all.
* **conclusions** — each decided field of the two results that differs (exclusion, class, subclass, category,
  tier, criteria, and each EU, US and Japanese field) weighs more than all facts together, so a precedent the rules
  decide differently always ranks below every precedent they decide alike.

The distance is ``conclusions × (1 + Σ fact weights) + facts``; ties go to fewer differences read by no rule, then
the catalogue's order. For each precedent the differences are said in words, each with the conclusions of the
card it moves (the card with that one fact taken from the precedent, classified), and every published agency
decision of a precedent that the card's own answer contradicts on the same field is a **red flag**, explained by
the card's deciding rule and the differences that move that field.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from rdflib import URIRef

from atmp.core.card.facts import card_facts
from atmp.core.classify import classify_cards, evaluator_for
from atmp.core.engines.expressions import HasValue, MaxZero, Named, Only, Some, parts
from atmp.core.explain.words import field_text, render, value_text
from atmp.core.rules import layout
from atmp.core.rules.layout import BORDERLINE, CRITERIA, EXCLUSION
from atmp.core.rules.ontology import CardProperty, OntologyModel, load_model
from atmp.core.rules.regimes import regimes
from atmp.core.rules.resources import catalogue_file, words

from .diff import catalogue_entries, decided_fields

DEFAULT_K = 5
LANGS = ("en", "zh")
WORDS = words("similar")  # how differences and red flags read (words/similar.json)


def _lang_sep(lang: str) -> str:
    return "；" if lang == "zh" else "; "


@dataclass(frozen=True)
class Precedent:
    card: dict  # the card without provenance
    provenance: dict
    facts: dict  # property IRI -> frozenset of values
    conclusions: dict  # decided field -> value


def conclusions(result: dict) -> dict[str, Any]:
    """The decided fields two products can share or not: every single value, the criteria and each regime field.

    Borderline lists, findings and conformance are what a reviewer reads next to a conclusion, not conclusions.
    """
    return {k: v for k, v in decided_fields(result).items() if not (k.endswith(BORDERLINE) or k in ("violations", "conforms"))}


def regime_fields(model: OntologyModel, regime: str | None, fields: list[str]) -> list[str]:
    """The decided fields of one regime (``n``, ``t``, ``eu`` …: its result blocks, from the ontology), or all of them."""
    if regime is None:
        return fields
    found = {r.code: r for r in regimes(model)}
    if regime not in found:
        raise ValueError(f"regime {regime!r} is not one the ontology defines ({', '.join(found)})")
    blocks = set(found[regime].blocks)
    return [f for f in fields if f.split(".", 1)[0] in blocks]


class PrecedentBase:
    """The catalogue classified once, with its facts, and the weights the rule book gives each card property."""

    def __init__(self, model: OntologyModel, catalogue: list[tuple[dict, dict]]):
        """``catalogue``: (card, provenance) pairs, as :func:`atmp.analysis.diff.catalogue_entries` reads them."""
        self.model = model
        self.props: list[CardProperty] = list(model.properties)
        cards = [card for card, _ in catalogue]
        results = classify_cards(cards, model=model, explain="none")
        self.precedents = [Precedent(card, prov, self._facts(card), conclusions(r)) for (card, prov), r in zip(catalogue, results, strict=True)]
        self._weights: dict[str | None, dict] = {}

    def _facts(self, card: dict) -> dict:
        return {iri: frozenset(v) for iri, v in card_facts(self.model, card).values.items()}

    def weights(self, regime: str | None = None) -> dict:
        """Property IRI -> how many of the rule book's definitions read it directly, relative to the most-read one.

        The definitions are every class the regime's result classes depend on (their equivalents and, for a class
        whose truth may ask them, subclasses, followed through named classes); a property counts once per
        definition whose own expression restricts it. Following the chain (``Evaluator.reads``) would give nearly
        every property to nearly every class (each class sits below the exclusions and priorities), so it is the
        direct reading that tells the vector, read by a few gene-therapy definitions, from the substance kind.
        """
        if regime not in self._weights:
            ev = evaluator_for(self.model)
            fields = set(regime_fields(self.model, regime, sorted({rc.field for rc in self.model.result_classes})))
            todo = [rc.iri for rc in self.model.result_classes if rc.field in fields]
            seen: set[URIRef] = set()
            counts = dict.fromkeys((p.iri for p in self.props), 0)
            while todo:
                cls = todo.pop()
                if cls in seen:
                    continue
                seen.add(cls)
                todo.extend(ev.defs.subclasses.get(cls, ()))
                found = [p for e in ev.defs.equivalents.get(cls, ()) for p in parts(e)]
                todo.extend(p.iri for p in found if isinstance(p, Named))
                direct = {p.prop for p in found if isinstance(p, (Some, Only, HasValue, MaxZero))}
                for iri in direct & counts.keys():
                    counts[iri] += 1
            top = max(counts.values()) or 1
            self._weights[regime] = {iri: n / top for iri, n in counts.items()}
        return self._weights[regime]

    def distance(self, facts: dict, concl: dict, other: Precedent, regime: str | None = None) -> tuple[float, int, list[URIRef], list[str]]:
        """(distance, differences read by no rule, the differing properties, the differing conclusions)."""
        weights = self.weights(regime)
        fact_part, unread, differing = 0.0, 0, []
        for p in self.props:
            a, b = facts[p.iri], other.facts[p.iri]
            if a == b:
                continue
            differing.append(p.iri)
            w = weights[p.iri]
            if w == 0:
                unread += 1
            fact_part += w * (len(a ^ b) / len(a | b))
        fields = regime_fields(self.model, regime, list(concl))
        moved = [f for f in fields if concl.get(f) != other.conclusions.get(f)]
        return len(moved) * (1 + sum(weights.values())) + fact_part, unread, differing, moved


def precedent_base(model: OntologyModel | None = None, catalogue: Path | None = None) -> PrecedentBase:
    """The precedent base of a rule book and a catalogue, built once per model and catalogue (classified once)."""
    model = model or load_model()
    bases = model.memo.setdefault("precedent_bases", {})
    key = str(catalogue or catalogue_file())
    if key not in bases:
        bases[key] = PrecedentBase(model, catalogue_entries(Path(key)))
    return bases[key]


# ------------------------------------------------------------------------------------------------- words
def _codes_words(model: OntologyModel, prop: CardProperty, items: list, lang: str) -> str:
    words = [value_text(model, prop.codes[i] if prop.is_object else bool(i))[lang] for i in items]
    return ("、" if lang == "zh" else ", ").join(words) if words else WORDS["none"][lang]


def _values_words(model: OntologyModel, prop: CardProperty, card: dict, lang: str) -> str:
    raw = (card.get(prop.section) or {}).get(prop.key)
    if raw is None:
        return WORDS["absent"][lang]
    return _codes_words(model, prop, raw if isinstance(raw, list) else [raw], lang)


def difference_words(model: OntologyModel, prop: CardProperty, card: dict, other: dict) -> dict[str, str]:
    """One differing fact in words: both values, or for a list only the codes one side has and the other lacks."""
    here, there = (card.get(prop.section) or {}).get(prop.key), (other.get(prop.section) or {}).get(prop.key)
    out = {}
    for lang in LANGS:
        if isinstance(here, list) and isinstance(there, list):
            only_here, only_there = [c for c in here if c not in there], [c for c in there if c not in here]
            parts = []
            if only_here:
                parts.append(WORDS["only_here"][lang].format(codes=_codes_words(model, prop, only_here, lang)))
            if only_there:
                parts.append(WORDS["only_there"][lang].format(codes=_codes_words(model, prop, only_there, lang)))
            out[lang] = f"{field_text(model, prop)[lang]}{'：' if lang == 'zh' else ': '}" + ("，" if lang == "zh" else ", ").join(parts)
        else:
            out[lang] = WORDS["here_there"][lang].format(
                field=field_text(model, prop)[lang], here=_values_words(model, prop, card, lang), there=_values_words(model, prop, other, lang)
            )
    return out


def field_label(model: OntologyModel, path: str) -> dict[str, str]:
    """A result field in words (``atmp:ResultField``), the path where the ontology has none."""
    try:
        return dict(model.field_words(path).label) or {lang: path for lang in LANGS}
    except (KeyError, AttributeError, ValueError):
        return {lang: path for lang in LANGS}


def value_label(model: OntologyModel, path: str, value: Any) -> dict[str, str]:
    """A decided value in words: the label of the class that gives it, yes/no for a flag, numbers for criteria."""
    if value is None:
        return dict(WORDS["none"])
    if isinstance(value, bool):
        return value_text(model, value)
    if isinstance(value, list):
        return {lang: ", ".join(map(str, value)) or WORDS["none"][lang] for lang in LANGS}
    for rc in model.ordered(path):
        if rc.code == value:
            return {lang: rc.label.get(lang) or str(value) for lang in LANGS}
    return {lang: str(value) for lang in LANGS}


def _name(card: dict) -> dict[str, str]:
    label = card.get("label") or {}
    return {lang: label.get(lang) or label.get("en") or card["id"] for lang in LANGS}


# ------------------------------------------------------------------------------------------------- the search
def similar(card: dict, k: int = DEFAULT_K, regime: str | None = None, model: OntologyModel | None = None, catalogue: Path | None = None) -> dict:
    """The ``k`` nearest precedents of a (validated) card, with their decisions, differences in words and red flags."""
    model = model or load_model()
    base = precedent_base(model, catalogue)
    (result,) = classify_cards([card], model=model, explain="brief")
    concl = conclusions(result)
    facts = base._facts(card)
    scored = []
    for index, p in enumerate(base.precedents):
        if p.card["id"] == card["id"] and p.facts == facts:
            continue  # the product itself, when the card is a catalogue card: a precedent is another product
        d, unread, differing, moved = base.distance(facts, concl, p, regime)
        scored.append((d, unread, index, differing, moved))
    scored.sort(key=lambda s: s[:3])
    top = scored[:k]
    by_iri = {prop.iri: prop for prop in base.props}

    # each difference alone: the card with that one fact taken from the precedent, classified in one batch
    variants, where = [], []
    for _, _, index, differing, _ in top:
        p = base.precedents[index]
        for iri in differing:
            prop = by_iri[iri]
            variant = {**card, "id": f"{card['id']}--{p.card['id']}--{prop.section}.{prop.key}"}
            section = dict(variant.get(prop.section) or {})
            there = (p.card.get(prop.section) or {}).get(prop.key)
            if there is None:
                section.pop(prop.key, None)
            else:
                section[prop.key] = there
            variant[prop.section] = section
            variants.append(variant)
            where.append((index, iri))
    moves: dict[tuple[int, URIRef], list[str]] = {}
    fields = regime_fields(model, regime, list(concl))
    for (index, iri), r in zip(where, classify_cards(variants, model=model, explain="none") if variants else [], strict=True):
        changed = conclusions(r)
        moves[(index, iri)] = [f for f in fields if changed.get(f) != concl.get(f)]

    entries = {e.get("field"): e for e in _all_entries(result)}
    precedents = []
    flags = []
    for rank, (d, unread, index, differing, moved) in enumerate(top, 1):
        p = base.precedents[index]
        diffs = []
        for iri in differing:
            prop = by_iri[iri]
            text = difference_words(model, prop, card, p.card)
            diffs.append(
                {
                    "field": prop.field,
                    "here": (card.get(prop.section) or {}).get(prop.key),
                    "there": (p.card.get(prop.section) or {}).get(prop.key),
                    "weight": round(base.weights(regime)[iri], 4),
                    "moves": moves.get((index, iri), []),
                    "text": text,
                }
            )
        diffs.sort(key=lambda x: (-len(x["moves"]), -x["weight"], x["field"]))
        decisions = []
        for dec in p.provenance.get("decisions") or []:
            ours = layout.get(result, dec["field"]) if dec["field"] != CRITERIA else None
            entry = {k: dec.get(k) for k in ("field", "value", "agency", "year", "source", "certainty", "known_limit") if dec.get(k) is not None}
            entry["ours"] = ours
            agency = _agencies().get(dec.get("agency")) or {}
            when = f" ({dec['year']})" if dec.get("year") else ""
            entry["text"] = {
                lang: f"{agency.get(lang) or dec.get('agency') or '?'}{when}: {field_label(model, dec['field'])[lang]} — {value_label(model, dec['field'], dec['value'])[lang]}"
                for lang in LANGS
            }
            decisions.append(entry)
            if dec["field"] in fields and ours != dec["value"]:
                flags.append(_flag(model, card, result, entries, p, rank, dec, ours, diffs))
        precedents.append(
            {
                "rank": rank,
                "id": p.card["id"],
                "label": _name(p.card),
                "distance": round(d, 4),
                "differences_no_rule_reads": unread,
                "conclusions_that_differ": moved,
                "answers": {f: p.conclusions.get(f) for f in fields},
                "decisions": decisions,
                "approvals": p.provenance.get("approvals") or [],
                "differences": diffs,
            }
        )
    named = {*fields, *(d["field"] for p in precedents for d in p["decisions"])}
    return {
        "id": card["id"],
        "regime": regime,
        "answers": {f: concl.get(f) for f in fields},
        "precedents": precedents,
        "red_flags": flags,
        "compared": len(scored),
        "field_labels": {f: field_label(model, f) for f in sorted(named)},
    }


def _all_entries(result: dict) -> list[dict]:
    out = list(result.get("explanation") or [])
    for block in result.values():
        if isinstance(block, dict):
            out += block.get("explanation") or []
    return out


def _flag(model: OntologyModel, card: dict, result: dict, entries: dict, p: Precedent, rank: int, dec: dict, ours: Any, diffs: list[dict]) -> dict:
    """A published decision of a near precedent that the card's own answer contradicts, and why."""
    field = dec["field"]
    entry = entries.get(field) or (entries.get(EXCLUSION) if field == layout.ATMP_FIELD else None)
    because = render(model, entry)["text"] if entry else dict(WORDS["no_reason"])
    moving = [d for d in diffs if field in d["moves"]]
    vocab = _agencies()
    text = {}
    for lang in LANGS:
        line = WORDS["flag"][lang].format(
            name=_name(p.card)[lang],
            decided=value_label(model, field, dec["value"])[lang],
            field=field_label(model, field)[lang],
            agency=(vocab.get(dec.get("agency")) or {}).get(lang) or dec.get("agency") or "?",
            year=(f" ({dec['year']})" if lang == "en" else f"于{dec['year']}年") if dec.get("year") else "",
            ours=value_label(model, field, ours)[lang],
            because=(because[lang][:1].lower() + because[lang][1:] if lang == "en" else because[lang]).rstrip("。."),
        )
        if moving:
            line += WORDS["flag_moves"][lang].format(facts=_lang_sep(lang).join(d["text"][lang] for d in moving))
        elif p.conclusions.get(field) != dec["value"]:
            line += WORDS["flag_same"][lang].format(limit=dec.get("known_limit") or dec.get("source") or "")
        text[lang] = line + ("。" if lang == "zh" else ".")
    return {
        "precedent": p.card["id"],
        "rank": rank,
        "field": field,
        "decided": dec["value"],
        "agency": dec.get("agency"),
        "year": dec.get("year"),
        "source": dec.get("source"),
        "ours": ours,
        "rule": entry.get("rule") if entry else None,
        "rule_source": entry.get("source") if entry else None,
        "differences": [d["field"] for d in moving],
        "text": text,
    }


@lru_cache(maxsize=1)
def _agencies() -> dict[str, dict[str, str]]:
    from atmp.kg.catalogue import vocabulary_labels

    return vocabulary_labels().get("agency", {})


# ------------------------------------------------------------------------------------------------- formats
def render_table(report: dict, lang: str = "en") -> str:
    """Plain text for a terminal: one block per precedent, the red flags last."""
    out = [f"{report['id']}: {report['compared']} catalogue products compared" + (f" under {report['regime']}" if report["regime"] else "")]
    for p in report["precedents"]:
        out.append(f"{p['rank']}. {p['label'][lang]}  [{p['id']}]  distance {p['distance']}")
        for d in p["decisions"]:
            out.append(f"     {d['text'][lang]} ({d.get('source', '')})")
        for d in p["differences"] or []:
            moves = f"  -> moves {', '.join(report['field_labels'].get(d2, {}).get(lang, d2) for d2 in d['moves'])}" if d["moves"] else ""
            out.append(f"     {d['text'][lang]}{moves}")
        if not p["differences"]:
            out.append("     no fact differs")
    out.append(f"RED FLAGS ({len(report['red_flags'])})")
    out += [f"  ! {f['text'][lang]}" for f in report["red_flags"]]
    return "\n".join(out) + "\n"


def render_markdown(report: dict, lang: str = "en") -> str:
    """For a committee: a table of precedents with their decisions, the differences in words, the red flags."""
    from .report import md_text

    head = {
        "en": ("Precedents of", "precedent", "decisions", "differences (and what each moves)", "Red flags", "None."),
        "zh": ("先例：", "先例", "认定", "差别（及其影响的结论）", "警示", "无。"),
    }[lang]
    lines = [f"# {head[0]} `{md_text(report['id'])}`", "", f"| # | {head[1]} | {head[2]} | {head[3]} |", "|---|---|---|---|"]
    for p in report["precedents"]:
        decisions = "<br>".join(md_text(d["text"][lang]) for d in p["decisions"]) or "—"
        diffs = (
            "<br>".join(
                md_text(d["text"][lang] + (f" → {', '.join(report['field_labels'].get(m, {}).get(lang, m) for m in d['moves'])}" if d["moves"] else "")) for d in p["differences"]
            )
            or "—"
        )
        lines.append(f"| {p['rank']} | {md_text(p['label'][lang])} (`{p['id']}`) | {decisions} | {diffs} |")
    lines += ["", f"## {head[4]}", ""]
    lines += [f"- {md_text(f['text'][lang])}" for f in report["red_flags"]] or [head[5]]
    return "\n".join(lines) + "\n"


__all__ = ["PrecedentBase", "conclusions", "precedent_base", "render_markdown", "render_table", "similar"]
