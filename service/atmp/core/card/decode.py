"""Input that is not understood is never silently dropped: the one JSON decoder of every input path, and unknown-field warnings.

Every card input — a file or standard input of the command line, each line of a ``.jsonl`` file, an HTTP
body, the workbench's file upload, ``atmp diff --cards`` — is decoded by :func:`decode_bytes` (or
:func:`decode_json` for text), so each refuses the same things with the same words. Python's ``json``
keeps the last of two duplicate keys, accepts ``NaN``/``Infinity``, hands back lone surrogates
(``"\\ud800"``, which no UTF-8 reply can carry) and fails with ``RecursionError`` or ``ValueError`` on
100,000-level nesting or 5,000-digit integers. Each of these is a :class:`~atmp.core.card.errors.CardError`
(exit 2 / HTTP 422) that names the *field* where it is — ``substance.kind``, ``[3].process.manipulations[1]``
— not just the line: json.loads runs first (fast, in C) with hooks that only notice a problem, and then
:func:`_locate` reads the text again, token by token, to find where the first problem stands. That second
reading runs only for refused input, so a good card costs one ``json.loads``.

The contract schema allows richer input (``additionalProperties``), so a field it does not define is
accepted but *warned about* in the result (``warnings``, with a "did you mean" from the schema's own
property names): a card with ``function.tumourigenic_risk`` (British spelling) otherwise loses its
tumorigenicity claim with no word. Under ``strict`` the same finding refuses the card.

The messages of decoding are made here (:data:`PROBLEMS`) and nowhere else, so a change of wording — or a
"did you mean" — has one place to go.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from atmp.core.card.errors import CardError
from atmp.core.rules.resources import CARD_SCHEMA, schema

MAX_INPUT_BYTES = 64 * 1024 * 1024  # a whole JSON input (a file, standard input); HTTP bodies have their own, smaller limit
MAX_INT_DIGITS = 100  # no card value needs more; Python refuses 4,300+ with a ValueError of its own
MAX_DEPTH = 32  # levels of nested arrays and objects; a catalogue card has 4 (card, provenance, approvals, approval)
_SURROGATE = re.compile("[\ud800-\udfff]")
EXPECTED_CARDS = "one product card (a JSON object) or a JSON array of cards"

# what is wrong, in words, by kind; {…} filled from the finding
PROBLEMS = {
    "duplicate": "duplicate key in a JSON object: the value would be ambiguous (JSON parsers keep either one)",
    "constant": "{text} is not a JSON number (non-finite numbers are refused)",
    "digits": "integer with {digits} digits (more than {limit}): not a value a card can hold",
    "infinite": "number {text} is too large to be finite",
    "depth": "JSON nested too deeply (more than {limit} levels of arrays and objects): not a product card",
    "surrogate": "contains a lone surrogate (such as \\ud800): not valid Unicode text",
    "key_surrogate": "key contains a lone surrogate (such as \\ud800): not valid Unicode text",
    "syntax": "invalid JSON at line {line} column {column}: {reason}",
    "too_large": "{what} too large ({size} bytes > {limit})",
    "not_utf8": "{what} is not UTF-8: {reason} at byte {start} (line {line} column {column})",
    "empty": "empty {what}: expected {expected}",
}


def _error(field: str, message: str) -> CardError:
    return CardError(field, message)


def problem(kind: str, **values: Any) -> str:
    """The message of one kind of decoding problem (:data:`PROBLEMS`)."""
    return PROBLEMS[kind].format(**values)


def safe(text: str) -> str:
    """``text`` with lone surrogates written as ``\\udXXX`` escapes, so an error message can always be encoded."""
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


def field_path(parts: Sequence[str | int]) -> str:
    """``["substance", "kind"]`` -> ``substance.kind``; ``[3, "process", "manipulations", 1]`` -> ``[3].process.manipulations[1]``."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{safe(part)}" if out else safe(part))
    return out


def error_at(parts: Sequence[str | int], message: str, *, array: bool = False) -> CardError:
    """A CardError at a JSON path; in a top-level array of cards the first index is the card's (``[3].field``)."""
    if array and parts and isinstance(parts[0], int):
        return CardError(field_path(parts[1:]), message, parts[0])
    return CardError(field_path(parts), message)


# -- the fast pass: json.loads with hooks that notice a problem (where it is, _locate finds)
class _Noticed(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _pairs(pairs: list[tuple[str, Any]]) -> dict:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _Noticed(problem("duplicate"))
    return out


def _constant(name: str):
    raise _Noticed(problem("constant", text=name))


def _int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise _Noticed(problem("digits", digits=digits, limit=MAX_INT_DIGITS))
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _Noticed(problem("infinite", text=text[:40]))
    return value


def decode_bytes(data: bytes, *, limit: int = MAX_INPUT_BYTES, what: str = "input", expected: str = EXPECTED_CARDS) -> Any:
    """Bytes of JSON (a file, standard input, a ``.jsonl`` line, an HTTP body) -> the decoded value, or CardError.

    Checked in this order: at most ``limit`` bytes, UTF-8 (the byte, line and column where it is not), not
    empty, then :func:`decode_json`. ``what`` names the input in the messages (``input``, ``body``, ``line``).
    """
    if len(data) > limit:
        raise CardError("", problem("too_large", what=what, size=len(data), limit=limit))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise CardError("", problem("not_utf8", what=what, reason=exc.reason, start=exc.start, line=line, column=column)) from None
    if not text.strip():
        raise CardError("", problem("empty", what=what, expected=expected))
    return decode_json(text)


def decode_json(text: str) -> Any:
    """``json.loads`` that refuses duplicate keys, non-finite and huge numbers, deep nesting and lone surrogates,
    each as a CardError naming the field (``substance.kind``; ``[3].substance.kind`` in an array)."""
    try:
        data = json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant, parse_int=_int, parse_float=_float)
    except _Noticed as exc:
        raise _located(text, exc.message) from None
    except RecursionError:
        raise _located(text, problem("depth", limit=MAX_DEPTH)) from None
    except json.JSONDecodeError as exc:
        found = _locate(text, stop=exc.pos)
        parts = found[0] if found else []
        raise error_at(parts, problem("syntax", line=exc.lineno, column=exc.colno, reason=exc.msg), array=_is_array(text)) from None
    may_hold_surrogate = _MAY_HOLD_SURROGATE.search(text) is not None  # most input cannot: skip the string checks
    may_be_deep = text.count("[") + text.count("{") > MAX_DEPTH
    if (may_hold_surrogate or may_be_deep) and _walk_finds_problem(data, may_hold_surrogate):
        raise _located(text, problem("depth", limit=MAX_DEPTH))
    return data


_MAY_HOLD_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]|[\ud800-\udfff]")


def _walk_finds_problem(data: Any, strings: bool) -> bool:
    """Whether the decoded value is nested deeper than MAX_DEPTH or (``strings``) holds a lone surrogate.

    An explicit stack and no paths: the walk only says *whether*; :func:`_locate` says where."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if strings and isinstance(key, str) and not key.isascii() and _SURROGATE.search(key):
                return True
            if isinstance(item, dict | list):
                stack.append((item, depth + 1))
            elif strings and isinstance(item, str) and not item.isascii() and _SURROGATE.search(item):
                return True
    return False


def _located(text: str, fallback: str) -> CardError:
    """The CardError of the first problem in ``text``, at its field; ``fallback`` (the fast pass's words) if none is found."""
    found = _locate(text)
    array = _is_array(text)
    if found is None or found[1] is None:
        return error_at(found[0] if found else [], fallback, array=array)
    return error_at(found[0], found[1], array=array)


def _is_array(text: str) -> bool:
    return _ARRAY.match(text) is not None


_ARRAY = re.compile(r"[ \t\n\r]*\[")
_TOKEN = re.compile(
    r"""[ \t\n\r]*(?:
      (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<constant>-?Infinity|NaN)
    | (?P<number>-?(?:0|[1-9][0-9]*)(?P<fraction>\.[0-9]+)?(?P<exponent>[eE][-+]?[0-9]+)?)
    | (?P<literal>true|false|null)
    | (?P<punct>[\[\]{}:,])
    )""",
    re.VERBOSE | re.DOTALL,
)


def _locate(text: str, stop: int | None = None) -> tuple[list[str | int], str | None] | None:
    """Read ``text`` token by token (an explicit stack: no recursion) and return ``(path, message)`` of the first
    duplicate key, non-finite or huge number, nesting deeper than MAX_DEPTH or lone surrogate, in document order.

    With ``stop`` (the offset of a syntax error), return ``(path, None)`` of the value being read there instead.
    None if the text ends or stops being JSON before anything is found."""
    # a frame per open container: [kind ("{" or "["), keys seen, current key or index, state]
    # object states: "key" (a key or "}" next), "colon", "value", "comma"; array states: "value", "comma"
    stack: list[list] = []
    pos = 0

    def here() -> list[str | int]:  # the path of the value being read (an object waiting for its next key: the object's)
        return [frame[2] for frame in stack if frame[2] is not None and not (frame[0] == "{" and frame[3] == "key")]

    while True:
        match = _TOKEN.match(text, pos)
        if stop is not None and (match is None or match.start(match.lastgroup or 0) >= stop):
            return here(), None
        if match is None:
            return None
        pos = match.end()
        frame = stack[-1] if stack else None
        kind = match.lastgroup
        token = match.group(kind)
        if frame is not None and frame[0] == "{" and frame[3] == "key":
            if kind == "punct" and token == "}":
                stack.pop()
                _after_value(stack)
                continue
            if kind != "string":
                return None
            key = json.loads(token) if "\\" in token else token[1:-1]
            frame[2], frame[3] = key, "colon"
            if _SURROGATE.search(key):
                return here(), problem("key_surrogate")
            if key in frame[1]:
                return here(), problem("duplicate")
            frame[1].add(key)
            continue
        if kind == "punct":
            if token == ":" and frame is not None and frame[3] == "colon":
                frame[3] = "value"
            elif token == "," and frame is not None and frame[3] == "comma":
                if frame[0] == "{":
                    frame[3] = "key"
                else:
                    frame[2] += 1
                    frame[3] = "value"
            elif token in "]}" and frame is not None and frame[0] == ("[" if token == "]" else "{") and frame[3] in ("comma", "value"):
                stack.pop()
                _after_value(stack)
            elif token in "[{":
                if frame is not None and frame[0] == "[" and frame[2] is None:
                    frame[2] = 0
                if len(stack) + 1 > MAX_DEPTH:
                    return here(), problem("depth", limit=MAX_DEPTH)
                stack.append([token, set(), None, "key" if token == "{" else "value"])
            else:
                return None
            continue
        # a scalar value
        if frame is not None and frame[0] == "[" and frame[2] is None:
            frame[2] = 0
        if kind == "constant":
            return here(), problem("constant", text=token)
        if kind == "number" and not match.group("fraction") and not match.group("exponent"):
            digits = len(token.lstrip("-"))
            if digits > MAX_INT_DIGITS:
                return here(), problem("digits", digits=digits, limit=MAX_INT_DIGITS)
        elif kind == "number" and float(token) in (float("inf"), float("-inf")):
            return here(), problem("infinite", text=token[:40])
        elif kind == "string" and _MAY_HOLD_SURROGATE.search(token) and _SURROGATE.search(json.loads(token)):
            return here(), problem("surrogate")
        _after_value(stack)


def _after_value(stack: list[list]) -> None:
    if stack:
        stack[-1][3] = "comma"


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
