"""Reading product cards: JSON text in, validated card dicts out, or one clear error naming the field.

The contract's JSON schema is the first gate; a few limits the schema leaves open are added here
because they protect the graph (ids become IRIs) and the process (unbounded strings).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from atmp.core.card.decode import _SURROGATE, MAX_INPUT_BYTES, decode_bytes, decode_json, safe
from atmp.core.card.errors import CardError
from atmp.core.rules.resources import CARD_SCHEMA, schema

__all__ = ["MAX_INPUT_BYTES", "CardError", "load_cards", "parse_cards", "validate_card"]
MAX_STRING = 4096
MAX_BATCH = 100_000


def _schema() -> dict:
    return schema(CARD_SCHEMA)


if TYPE_CHECKING:
    from jsonschema import Draft202012Validator


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    """The reference validator; imported when first needed (a valid card never needs it: see _fast_gate)."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(_schema())


@lru_cache(maxsize=1)
def _fast_gate() -> Callable[[Any], Any] | None:
    """The contract schema compiled to Python by fastjsonschema: ~50x faster on valid cards.

    jsonschema (the reference) still produces every error message: a card the gate refuses is
    re-checked with it, so users see the same field path and wording either way. The schema only
    uses keywords whose meaning is the same in draft 7 and 2020-12 (type, enum, required,
    properties, items, pattern, maxLength, uniqueItems, minItems); a test holds the two to the same
    verdicts. If the schema ever uses a keyword fastjsonschema cannot compile, the gate is off.
    """
    try:
        import fastjsonschema
        from fastjsonschema.ref_resolver import RefResolver

        from atmp.core.rules.cache import cached_code

        schema = {**_schema(), "$schema": "http://json-schema.org/draft-07/schema#"}
        text = json.dumps(schema, sort_keys=True, ensure_ascii=False)
        # fastjsonschema.compile, with the generated module's code object cached (a cold start's 25 ms)
        code = cached_code("card-gate", (text, fastjsonschema.VERSION), lambda: fastjsonschema.compile_to_code(schema))
        namespace: dict = {}
        exec(code, namespace)  # noqa: S102 - fastjsonschema's module for our own schema
        return namespace[RefResolver.from_schema(schema, handlers={}, store={}).get_scope_name()]  # the root, as compile() picks it
    except Exception:  # noqa: BLE001 - no gate is always correct, only slower
        return None


def _path(parts) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _describe(error) -> tuple[str, str]:
    """Turn a jsonschema error into (field, message) a user can act on."""
    path = _path(error.absolute_path)
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return (f"{path}.{missing}" if path else missing), "required field is missing"
    if error.validator == "enum":
        allowed = ", ".join("null" if v is None else str(v) for v in error.validator_value)
        return path, f"unknown code {_short(error.instance)}; expected one of: {allowed}"
    if error.validator == "type":
        return path, f"wrong type: expected {error.validator_value}, got {_short(error.instance)}"
    if error.validator == "pattern":
        return path, f"{_short(error.instance)} does not match {error.validator_value}"
    if error.validator == "maxLength":
        return path, f"string too long ({len(error.instance)} > {error.validator_value} characters)"
    if error.validator == "uniqueItems":
        return path, "duplicate items in list"
    return path, error.message


def _check_strings(value: Any, path: str) -> None:
    """Length limits, and no lone surrogate (``"\\ud800"`` decodes to one; no UTF-8 reply or IRI can carry it)."""
    if isinstance(value, str):
        if len(value) > MAX_STRING:
            raise CardError(path, f"string too long ({len(value)} > {MAX_STRING} characters)")
        if not value.isascii() and _SURROGATE.search(value):
            raise CardError(path, "contains a lone surrogate (such as \\ud800): not valid Unicode text")
    elif isinstance(value, dict):
        for key, item in value.items():
            if len(key) > MAX_STRING:
                raise CardError(path, "object key too long")
            if not key.isascii() and _SURROGATE.search(key):
                raise CardError(f"{path}.{safe(key)}" if path else safe(key), "key contains a lone surrogate (such as \\ud800): not valid Unicode text")
            _check_strings(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_strings(item, f"{path}[{i}]")


def _passes_gate(card: dict) -> bool:
    gate = _fast_gate()
    if gate is None:
        return False
    try:
        gate(card)
        return True
    except Exception:  # noqa: BLE001 - JsonSchemaValueException or a type error on odd input: ask jsonschema
        return False


def validate_card(card: Any) -> dict:
    """Return the card if it satisfies the contract, else raise :class:`CardError` for the first problem."""
    try:
        return _validate_card(card)
    except RecursionError:  # nesting just under the JSON parser's limit, in a field the schema leaves open
        raise CardError("", "nested too deeply to check: not a product card") from None


def _validate_card(card: Any) -> dict:
    if not isinstance(card, dict):
        raise CardError("", f"a product card must be a JSON object, got {type(card).__name__}")
    from atmp.core.card.decode import check_patterns

    if not _passes_gate(card):
        errors = sorted(_validator().iter_errors(card), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
        if errors:
            field, message = _describe(errors[0])
            raise CardError(field, message)
    card_id = card["id"]
    if ".." in card_id or "/" in card_id:
        raise CardError("id", f"{_short(card_id)} must not contain '/' or '..'")
    _check_strings(card, "")
    check_patterns(card)
    return card


def parse_cards(text: str | bytes, *, limit: int = MAX_INPUT_BYTES, what: str = "input") -> tuple[list[dict], bool]:
    """Parse one card or an array of cards through the one decoder (:func:`~atmp.core.card.decode.decode_bytes`).
    Returns (cards, was_array).

    The whole batch is refused when any card is bad, so nothing is half-processed.
    """
    if isinstance(text, bytes):
        return load_cards(decode_bytes(text, limit=limit, what=what))
    if len(text) > limit:
        raise CardError("", f"{what} too large ({len(text)} characters > {limit})")
    if not text.strip():
        return load_cards(decode_bytes(b"", what=what))  # the one "empty" message
    return load_cards(decode_json(text))


def load_cards(data: Any) -> tuple[list[dict], bool]:
    """Validate already-decoded JSON: one card or a list of cards."""
    if isinstance(data, list):
        if not data:
            raise CardError("", "empty array: no product card given")
        if len(data) > MAX_BATCH:
            raise CardError("", f"too many cards ({len(data)} > {MAX_BATCH})")
        seen: dict[str, int] = {}
        for index, card in enumerate(data):
            try:
                validate_card(card)
            except CardError as exc:
                raise CardError(exc.field, exc.detail, index) from None
            if card["id"] in seen:
                raise CardError("id", f"duplicate id {card['id']!r} (also at index {seen[card['id']]})", index)
            seen[card["id"]] = index
        return data, True
    return [validate_card(data)], False
