"""Words from the proof's data: card fields and values, reasons and conclusions, in Chinese and English.

Every word comes from the ontology — property and vocabulary labels, the result field's name and verb
(``atmp:ResultField``), the rule's label and ``dcterms:source`` — except the few joining phrases below,
which are the language of the sentence itself, not rules. Sentences depend only on the data they are made
from, so they are remembered per model (most products share them).
"""

from __future__ import annotations

import json
import re

from rdflib import URIRef

from atmp.core.rules.namespaces import ATMP, local_name
from atmp.core.rules.ontology import CardProperty, OntologyModel, bilingual
from atmp.core.rules.resources import WORD_LANGUAGES, words

CACHE_LIMIT = 200_000  # remembered phrases per kind and model (bounded memory over an unbounded stream)

#: how each kind of reason reads (presentation only: which reasons there are is the proof's business), in words/explain.json
PHRASES = {key: entry for key, entry in words("explain").items() if not key.startswith("sep_")}
#: between reasons, between values, within a branch
SEPARATORS = {lang: tuple(words("explain")[f"sep_{part}"][lang] for part in ("reasons", "values", "branch")) for lang in WORD_LANGUAGES}
LANGS = WORD_LANGUAGES


def _memo(model: OntologyModel, name: str) -> dict:
    memo = model.memo.setdefault(f"words_{name}", {})
    if len(memo) > CACHE_LIMIT:
        memo.clear()
    return memo


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


def values_text(model: OntologyModel, values: tuple) -> dict[str, str]:
    words = [value_text(model, v) for v in values]
    return {lang: SEPARATORS[lang][1].join(w.get(lang, "") for w in words) for lang in LANGS}


def fact_text(model: OntologyModel, prop: CardProperty, values: tuple) -> dict[str, str]:
    """``field: value[, value]`` in both languages; an empty value reads "none stated" (a shared dict: do not change it)."""
    memo = _memo(model, "fact")
    key = (prop.iri, values)
    found = memo.get(key)
    if found is None:
        name = field_text(model, prop)
        if not values:
            found = {lang: PHRASES["none"][lang].format(field=name[lang]) for lang in LANGS}
        else:
            shown = values_text(model, values)
            found = {lang: f"{name[lang]}{'：' if lang == 'zh' else ': '}{shown[lang]}" for lang in LANGS}
        memo[key] = found
    return found


def reason_text(model: OntologyModel, prop: CardProperty, test: str, values: tuple, filler: URIRef | None, defaulted: bool) -> dict[str, str]:
    """One fact reason in words, as the rule reads it (``test``, see :data:`atmp.core.explain.proof.Reason`)."""
    memo = _memo(model, "reason")
    key = (prop.iri, test, values, filler, defaulted)
    found = memo.get(key)
    if found is None:
        name = field_text(model, prop)
        shown = values_text(model, values)
        asked = model.label(filler) if filler is not None else None
        if not values and test != "is":
            found = dict(fact_text(model, prop, ()))
        elif test in ("lacks", "outside") and asked is not None:
            phrase = PHRASES["lacks_value" if test == "lacks" and filler in model.code_of else test]
            found = {lang: phrase[lang].format(field=name[lang], values=shown[lang], **{"as": asked.get(lang, "")}) for lang in LANGS}
        elif test == "only" and len(values) > 0:
            found = {lang: PHRASES["only"][lang].format(field=name[lang], values=shown[lang]) for lang in LANGS}
        else:
            found = dict(fact_text(model, prop, values))
        if defaulted:
            found = {lang: PHRASES["default"][lang].format(text=found[lang]) for lang in LANGS}
        memo[key] = found
    return found


def headline(model: OntologyModel, field: str, value_label: dict[str, str]) -> dict[str, str]:
    """``NMPA class (N): cell therapy medicinal product`` — the conclusion's name in words."""
    words = model.field_words(field).label
    return {lang: PHRASES["headline"][lang].format(field=words.get(lang, field), value=value_label.get(lang, "")) for lang in LANGS}


def any_text(parts: list[dict[str, str]]) -> dict[str, str]:
    """``any one of these suffices: (1) …; (2) …``."""
    return {lang: PHRASES["any"][lang].format(items=SEPARATORS[lang][0].join(f"({i}) {p[lang]}" for i, p in enumerate(parts, 1))) for lang in LANGS}


# ------------------------------------------------------------------------------------------ a brief entry in words
def source_words(model: OntologyModel, source: str, lang: str, cls: URIRef | None = None) -> str:
    """A ``dcterms:source`` literal for people: each contract decision it cites named by its label in ``lang``
    ("Contract decision 5" -> "Contract decision 5: Exclusions, in this order"); the other pieces by their citation
    label in ``lang`` (``atmp:citationLabel``), or as written where the ontology has none.

    A piece is matched to the generated citation resources by its text; a piece naming several decisions
    ("Contract decisions 4, 6") is matched through the decisions the class cites (``cls``), by their numbers.
    """
    memo = _memo(model, "source")
    key = (source, lang, cls)
    found = memo.get(key)
    if found is None:
        graph = model.graph
        by_text = model.memo.get("citation_by_text")
        if by_text is None:
            by_text = model.memo["citation_by_text"] = {str(t): c for c, t in graph.subject_objects(ATMP.citationText)}
        cited = [d for c in (graph.objects(cls, ATMP.citation) if cls is not None else ()) for d in graph.objects(c, ATMP.decision)]
        numbered = {str(graph.value(d, ATMP.decisionNumber)): d for d in cited}
        pieces = []
        for piece in source.split("; ") if source else []:
            citation = by_text.get(piece)
            named = sorted(graph.objects(citation, ATMP.decision), key=str) if citation is not None else []
            if not named and numbered and citation is None:
                named = [numbered[n] for n in dict.fromkeys(re.findall(r"\d+", piece)) if n in numbered]
            if named:
                pieces.extend(model.label(d).get(lang, piece) for d in named)
            else:  # the citation as this language writes it (``T 6(1) item 3`` / ``T 6(一)3``), else as written
                pieces.append(bilingual(graph, citation, ATMP.citationLabel).get(lang, piece) if citation is not None else piece)
        found = memo[key] = ("；" if lang == "zh" and any(not p.isascii() for p in pieces) else "; ").join(pieces)
    return found


def _cite(text: str, source: str, lang: str) -> str:
    return (f"{text}（{source}）" if lang == "zh" else f"{text} ({source})") if source else text


def _term(model: OntologyModel, prop: CardProperty, value) -> URIRef | bool:
    return value if isinstance(value, bool) else prop.codes.get(value) or ATMP[value]


def _fact_words(model: OntologyModel, item: dict, decider: str) -> dict[str, str]:
    prop = model.property_for(item["field"])
    raw = item["value"]
    values = tuple(_term(model, prop, v) for v in (raw if isinstance(raw, list) else [] if raw is None else [raw]))
    asked = item.get("as")
    filler = None if asked is None else (prop.codes.get(asked) or ATMP[asked])
    text = reason_text(model, prop, item.get("test", "is" if not isinstance(raw, list) else "has"), values, filler, item["kind"] == "default")
    rule = item.get("rule")
    if rule is None or rule == decider:
        return dict(text)
    cls = ATMP[rule]
    return {lang: _cite(text[lang], source_words(model, model.source(cls), lang, cls), lang) for lang in LANGS}


def _conclusion_class(model: OntologyModel, field: str, value):
    """The result class a conclusion names: the one filling ``field`` with ``value`` (a flag's own class for true/false)."""
    classes = [rc for rc in model.result_classes if rc.field == field]
    if isinstance(value, bool):
        return next((r for r in classes if r.code in (None, "true")), classes[0] if classes else None)
    return next((r for r in classes if r.code == value or (r.number is not None and r.number == value)), None)


def _label_of(model: OntologyModel, cls: URIRef, lang: str) -> str:
    return model.label(cls).get(lang, "")


def _meets(model: OntologyModel, cls: URIRef, phrase: str) -> dict[str, str]:
    return {lang: PHRASES[phrase][lang].format(label=_label_of(model, cls, lang), source=source_words(model, model.source(cls), lang, cls)) for lang in LANGS}


def _parts(model: OntologyModel, items, decider: str, deciding: URIRef) -> list[dict[str, str]]:
    """Reasons in words, in their order; the classes the product is not in said once, where the first stands."""
    parts: list[dict[str, str]] = []
    failed: list[URIRef] = []
    at = None
    for item in items:
        kind = item["kind"]
        if kind in ("fact", "default"):
            parts.append(_fact_words(model, item, decider))
        elif kind == "any":
            branches = [_parts(model, branch, decider, deciding) for branch in item["of"]]
            joined = [{lang: SEPARATORS[lang][2].join(p[lang] for p in b if p.get(lang)) for lang in LANGS} for b in branches]
            parts.append(any_text(joined))
        elif kind == "rule" and item.get("holds", True):
            parts.append(_meets(model, ATMP[item["rule"]], "meets"))
        elif kind == "rule":
            failed.append(ATMP[item["rule"]])
            if at is None:
                at = len(parts)
                parts.append({})
        elif kind == "priority":
            also = tuple(ATMP[a] for a in item["also"])
            border = ATMP[item["rule"]]
            listed = {lang: SEPARATORS[lang][1].join(model.label(a).get(lang, "") for a in also) for lang in LANGS}
            by = {lang: source_words(model, model.source(border), lang, border) for lang in LANGS}
            parts.append({lang: PHRASES["priority"][lang].format(also=listed[lang], source=by[lang], label=_label_of(model, deciding, lang)) for lang in LANGS})
    if failed:
        if len(failed) == 1:
            parts[at] = _meets(model, failed[0], "fails")  # type: ignore[index]
        else:
            items_ = {lang: SEPARATORS[lang][0].join(_cite(_label_of(model, c, lang), source_words(model, model.source(c), lang, c), lang) for c in failed) for lang in LANGS}
            parts[at] = {lang: PHRASES["none_of"][lang].format(items=items_[lang]) for lang in LANGS}  # type: ignore[index]
    return parts


def render(model: OntologyModel, entry: dict) -> dict[str, dict[str, str]]:
    """A brief entry (:mod:`atmp.core.explain.brief`) in words: its ``headline`` and its ``text``, one sentence per
    language, each reason with the article of the rule that reads it, contract decisions named by their labels.

    Remembered per entry (the same proof reads the same for every product that shares it).
    """
    memo = _memo(model, "render")
    key = json.dumps(entry, sort_keys=True, ensure_ascii=False)
    found = memo.get(key)
    if found is not None:
        return found
    decider = entry["rule"]
    deciding = ATMP[decider]
    holds = entry.get("holds", True)
    parts = _parts(model, entry.get("because", ()), decider, deciding)
    fw = model.field_words(entry["field"])
    rc = _conclusion_class(model, entry["field"], entry["value"])
    concluded = rc.label if rc is not None else {lang: str(entry["value"]) for lang in LANGS}
    if entry["value"] is False:
        concluded = {lang: PHRASES["not"][lang].format(label=concluded.get(lang, "")) for lang in LANGS}
    own = rc is not None and local_name(rc.iri) == decider  # the conclusion's own class decides: the field's verb
    verb = (fw.verb if own else {}) if holds else fw.negation  # {}: the plain "so"
    text = {}
    for lang in LANGS:
        reasons = SEPARATORS[lang][0].join(p[lang] for p in parts if p.get(lang)) or PHRASES["by_rule"][lang]
        source = source_words(model, entry.get("source", ""), lang, deciding)
        line = PHRASES["sentence"][lang].format(reasons=reasons, verb=verb.get(lang) or PHRASES["so"][lang], label=_label_of(model, deciding, lang), source=source)
        text[lang] = line[0].upper() + line[1:] if lang == "en" else line
    found = memo[key] = {"headline": headline(model, entry["field"], concluded), "text": text}
    return found
