"""Input that is not understood is never silently dropped: strict JSON decoding and unknown-field warnings.

Python's ``json`` keeps the last of two duplicate keys, accepts ``NaN``/``Infinity``, hands back lone
surrogates (``"\\ud800"``, which no UTF-8 reply can carry) and fails with ``RecursionError`` or
``ValueError`` on 100,000-level nesting or 5,000-digit integers (and so did every recursive check after it,
on nesting just under the parser's limit: :func:`atmp.core.card.schema.validate_card` turns that into a CardError). :func:`decode_json` turns each of these
into a :class:`~atmp.core.card.schema.CardError` naming the problem (exit 2 / HTTP 422).

The contract schema allows richer input (``additionalProperties``), so a field it does not define is
accepted but *warned about* in the result (``warnings``, with a "did you mean" from the schema's own
property names): a card with ``function.tumourigenic_risk`` (British spelling) otherwise loses its
tumorigenicity claim with no word. Under ``strict`` the same finding refuses the card.
"""

from __future__ import annotations

import difflib
import json
import re
from functools import lru_cache
from typing import Any

from atmp.core.card.errors import CardError
from atmp.core.rules.resources import CARD_SCHEMA, schema

MAX_INT_DIGITS = 100  # no card value needs more; Python refuses 4,300+ with a ValueError of its own
_SURROGATE = re.compile("[\ud800-\udfff]")


def _error(field: str, message: str) -> CardError:
    return CardError(field, message)


def safe(text: str) -> str:
    """``text`` with lone surrogates written as ``\\udXXX`` escapes, so an error message can always be encoded."""
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


def _pairs(pairs: list[tuple[str, Any]]) -> dict:
    out = dict(pairs)
    if len(out) != len(pairs):  # rare: find which key came twice
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _error(safe(key), "duplicate key in a JSON object: the value would be ambiguous (JSON parsers keep either one)")
            seen.add(key)
    return out


def _constant(name: str):
    raise _error("", f"{name} is not a JSON number (non-finite numbers are refused)")


def _int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise _error("", f"integer with {digits} digits (more than {MAX_INT_DIGITS}): not a value a card can hold")
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _error("", f"number {text[:40]} is too large to be finite")
    return value


def decode_json(text: str) -> Any:
    """``json.loads`` that refuses duplicate keys, non-finite and huge numbers, deep nesting and lone surrogates."""
    try:
        data = json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant, parse_int=_int, parse_float=_float)
    except json.JSONDecodeError as exc:
        raise CardError("", f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise CardError("", "JSON nested too deeply (more levels than the parser's recursion limit): not a product card") from None
    if _MAY_HOLD_SURROGATE.search(text):  # most input cannot: skip the walk over every string
        check_text(data)
    return data


_MAY_HOLD_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]|[\ud800-\udfff]")


def check_text(value: Any, path: str = "") -> None:
    """Refuse a lone surrogate in any string or key (it is not Unicode text; no reply could echo it)."""
    if isinstance(value, str):
        if _SURROGATE.search(value):
            raise _error(path, "contains a lone surrogate (such as \\ud800): not valid Unicode text")
    elif isinstance(value, dict):
        for key, item in value.items():
            sub = f"{path}.{safe(key)}" if path else safe(key)
            if _SURROGATE.search(key):
                raise _error(sub, "key contains a lone surrogate (such as \\ud800): not valid Unicode text")
            check_text(item, sub)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check_text(item, f"{path}[{i}]")


# -- patterns, matched in full
@lru_cache(maxsize=1)
def _pattern_fields() -> tuple[tuple[tuple[str, ...], str], ...]:
    """(path, pattern) of every ``pattern`` in the card schema; ``"[]"`` in a path stands for each list item."""
    found: list[tuple[tuple[str, ...], str]] = []

    def walk(node: dict, path: tuple[str, ...]) -> None:
        if "pattern" in node:
            found.append((path, node["pattern"]))
        for key, sub in node.get("properties", {}).items():
            walk(sub, (*path, key))
        if isinstance(node.get("items"), dict):
            walk(node["items"], (*path, "[]"))

    walk(schema(CARD_SCHEMA), ())
    return tuple(found)


def check_patterns(card: dict) -> None:
    """Every schema ``pattern`` matched against the *whole* string (JSON Schema's search lets ``$`` match
    before a final newline: ``"abc\\n"`` passed as an id and became an IRI with a raw newline)."""
    for path, pattern in _pattern_fields():
        for where, value in _values(card, path, ""):
            if isinstance(value, str) and not re.fullmatch(pattern, value):
                raise _error(where, f"{json.dumps(safe(value))[:60]} does not match {pattern} (in full: no trailing newline)")


def _values(value: Any, path: tuple[str, ...], where: str):
    if not path:
        yield where, value
    elif path[0] == "[]":
        if isinstance(value, list):
            for i, item in enumerate(value):
                yield from _values(item, path[1:], f"{where}[{i}]")
    elif isinstance(value, dict) and path[0] in value:
        yield from _values(value[path[0]], path[1:], f"{where}.{path[0]}" if where else path[0])


# -- unknown fields
@lru_cache(maxsize=1)
def _known() -> dict[str, tuple[str, ...]]:
    """Object path (``""`` for the card, ``substance``...) -> the property names the contract defines there."""
    out: dict[str, tuple[str, ...]] = {}

    def walk(node: dict, path: str) -> None:
        if "properties" in node:  # an object the contract leaves open (provenance) is not looked into
            out[path] = tuple(node["properties"])
            for key, sub in node["properties"].items():
                walk(sub, f"{path}.{key}" if path else key)

    walk(schema(CARD_SCHEMA), "")
    return out


def unknown_fields(card: dict) -> list[dict]:
    """A warning for every field of ``card`` that the contract does not define, with the closest defined name."""
    known = _known()
    found: list[dict] = []
    # an explicit stack of iterators, not a nested recursive function: that one referred to itself
    # through its closure, a reference cycle per call, which a batch (collector paused) kept until its
    # next collection. Same order: a nested section's fields are reported where the section stands
    if "" not in known:
        return found
    stack = [(iter(card.items()), "", known[""])]
    while stack:
        items, path, names = stack[-1]
        entry = next(items, None)
        if entry is None:
            stack.pop()
            continue
        key, item = entry
        sub = f"{path}.{key}" if path else key
        if key not in names:
            close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
            suggestion = f"{path}.{close[0]}" if close and path else (close[0] if close else None)
            hint = f"; did you mean {suggestion}?" if suggestion else ""
            hint_zh = f"；是否应为 {suggestion}？" if suggestion else ""
            found.append(
                {
                    "code": "unknown_field",
                    "field": sub,
                    "suggestion": suggestion,
                    "message": {
                        "en": f"{sub} is not a field of the product-card contract and was not used in classification{hint}",
                        "zh": f"{sub} 不是产品卡片约定中的字段，分类时未使用{hint_zh}",
                    },
                }
            )
        elif isinstance(item, dict) and sub in known:
            stack.append((iter(item.items()), sub, known[sub]))
    return found


def refuse_unknown(cards: list[dict]) -> None:
    """``strict``: the first unknown field refuses the batch (CardError naming it and the card's index)."""
    for index, card in enumerate(cards):
        for warning in unknown_fields(card):
            hint = f"; did you mean {warning['suggestion']}?" if warning["suggestion"] else ""
            raise CardError(warning["field"], f"not a field of the product-card contract{hint} (refused in strict mode)", index if len(cards) > 1 else None)


def with_warnings(results: list[dict], cards: list[dict]) -> list[dict]:
    """Results with a ``warnings`` list added where the card has fields the contract does not define."""
    for result, card in zip(results, cards, strict=True):
        warnings = unknown_fields(card)
        if warnings:
            result["warnings"] = warnings
    return results
