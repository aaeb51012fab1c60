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
from atmp.core.rules.resources import CARD_SCHEMA, schema, words

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


def _describe(error) -> CardError:
    """Turn a jsonschema error into a :class:`CardError` a user can act on: the field, the message for the command
    line, the same in words in en and zh (no regular expression, no schema keyword), and what to type instead where
    it can be worked out (the code a misspelt one meant, by spelling or by label in either language; the nearest
    value a pattern accepts)."""
    path = _path(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        field = f"{path}.{missing}" if path else missing
        return CardError(field, "required field is missing", words={"en": "required: this field must be given", "zh": "必填：必须填写此字段"})
    if error.validator == "enum":
        allowed = [v for v in error.validator_value if v is not None]
        listed = ", ".join("null" if v is None else str(v) for v in error.validator_value)
        code, label = suggest_code(path, error.instance, allowed)
        if code is not None:
            shown = f'"{code}"' + (f" ({label['en']})" if label.get("en") and label["en"] != code else "")
            shown_zh = f"“{code}”" + (f"（{label['zh']}）" if label.get("zh") else "")
            return CardError(
                path,
                f"unknown code {_short(error.instance)}; did you mean {shown}? expected one of: {listed}",
                words={"en": f"unknown code {_short(error.instance)}: did you mean {shown}?", "zh": f"未知代码 {_short(error.instance)}：是否应为{shown_zh}？"},
                suggestion=code,
            )
        return CardError(
            path,
            f"unknown code {_short(error.instance)}; expected one of: {listed}",
            words={"en": f"unknown code {_short(error.instance)}: choose one of the listed values", "zh": f"未知代码 {_short(error.instance)}：请从所列取值中选择"},
        )
    if error.validator == "type":
        wanted = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        en = " or ".join(TYPE_WORDS.get(w, {"en": w})["en"] for w in wanted)
        zh = "或".join(TYPE_WORDS.get(w, {"zh": w})["zh"] for w in wanted)
        hint = _boolean_meant(error.instance) if "boolean" in wanted else None
        return CardError(
            path,
            f"wrong type: expected {error.validator_value}, got {_short(error.instance)}" + (f"; did you mean {str(hint).lower()}?" if hint is not None else ""),
            words={"en": f"expected {en}, got {_short(error.instance)}", "zh": f"应为{zh}，实际为 {_short(error.instance)}"},
            suggestion=hint,
        )
    if error.validator == "pattern":
        rule = schema.get("x-words") or {}
        nearest = nearest_match(error.validator_value, error.instance, schema.get("maxLength"))
        en = rule.get("en", "a value of the required form")
        zh = rule.get("zh", "符合要求格式的值")
        tail_en = f'; for example "{nearest}"' if nearest else ""
        tail_zh = f"；例如“{nearest}”" if nearest else ""
        return CardError(
            path,
            f"{_short(error.instance)} is not allowed here: use {en}{tail_en}",
            words={"en": f"use {en}{tail_en}", "zh": f"请使用{zh}{tail_zh}"},
            suggestion=nearest,
        )
    if error.validator == "maxLength":
        n, most = len(error.instance), error.validator_value
        return CardError(path, f"string too long ({n} > {most} characters)", words={"en": f"too long: {n} characters, at most {most}", "zh": f"过长：{n}个字符，最多{most}个"})
    if error.validator == "uniqueItems":
        return CardError(path, "duplicate items in list", words={"en": "a value is listed twice", "zh": "列表中有重复的取值"})
    if error.validator == "minItems":
        most = error.validator_value
        return CardError(path, f"at least {most} item(s) needed", words={"en": f"choose at least {most}", "zh": f"至少选择{most}项"})
    if error.validator == "additionalProperties":
        return CardError(path, error.message, words={"en": "only the listed fields are allowed here", "zh": "此处只允许所列字段"})
    return CardError(path, error.message, words={"en": error.message, "zh": f"不符合产品卡约定：{error.message}"})


def _unknown_field_problems(card: dict) -> list[CardError]:
    """The card's fields the contract does not define, as problems beside the schema's (a card refused for a
    misspelt code is often refused with a misspelt field: both are named at once), with the field meant."""
    from atmp.core.card.decode import unknown_fields

    out = []
    for w in unknown_fields(card):
        meant = w.get("suggestion")
        key = w["field"].rsplit(".", 1)[-1]
        name = _field_names().get(meant or "", {})
        said_en = f"“{name.get('en') or (meant or '').rsplit('.', 1)[-1]}”"  # the field by its name; its path is the suggestion
        said_zh = f"“{name.get('zh') or (meant or '').rsplit('.', 1)[-1]}”"
        out.append(
            CardError(
                w["field"],
                f"not a field of the product-card contract{f'; did you mean {meant}?' if meant else ''}",
                words={
                    "en": f"“{key}” is not a field of the card" + (f": did you mean {said_en}?" if meant else ""),
                    "zh": f"“{key}”不是产品卡字段" + (f"：是否应为{said_zh}？" if meant else ""),
                },
                suggestion=meant,
            )
        )
    return out


def _field_names() -> dict[str, dict[str, str]]:
    """Card fields in words (the ontology's property labels; "has X" reads "X"), for suggestions."""
    try:
        from atmp.core.rules.ontology import load_model

        model = load_model()
    except Exception:  # noqa: BLE001 - a suggestion is a help, never a second error
        return {}
    names = {}
    for prop in model.properties:
        label = model.label(prop.iri)
        en = label.get("en", "")
        names[prop.field] = {"en": en[4:] if en.startswith("has ") else en, "zh": label.get("zh", "")}
    return names


#: JSON Schema's type names in words (words/schema-types.json)
TYPE_WORDS = words("schema-types")


def _boolean_meant(value: Any) -> bool | None:
    """The yes/no a string or a number stands for (``"yes"``, ``"false"``, ``"是"``, ``0``), if it plainly does."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "yes", "y", "1", "是", "真"):
            return True
        if text in ("false", "no", "n", "0", "否", "假"):
            return False
    if isinstance(value, int) and not isinstance(value, bool) and value in (0, 1):
        return bool(value)
    return None


def _normal(text: str) -> str:
    return " ".join(text.lower().replace("-", " ").replace("_", " ").split())


def _code_labels(path: str, allowed: list) -> dict[str, dict[str, str]]:
    """The ontology's labels of the codes a field allows (none where the field is not the ontology's)."""
    try:
        from atmp.core.rules.ontology import load_model

        model = load_model()
        field = path.split("[", 1)[0]
        prop = next((p for p in model.properties if p.field == field), None)
    except Exception:  # noqa: BLE001 - a suggestion is a help, never a second error
        return {}
    if prop is None:
        return {}
    return {code: model.label(prop.codes[code]) for code in allowed if isinstance(code, str) and code in prop.codes}


def suggest_code(path: str, value: Any, allowed: list) -> tuple[str | None, dict[str, str]]:
    """The code ``value`` most likely meant, and its label: the same code written another way (``culture-expansion``,
    ``Cells``), a label in either language (``nucleated living cells``, ``有核活细胞``), then the nearest by spelling
    (``cell`` → ``cells``) or by label. None when nothing is close."""
    if not isinstance(value, str) or not value.strip():
        return None, {}
    import difflib

    codes = [c for c in allowed if isinstance(c, str)]
    labels = _code_labels(path, codes)
    wanted = _normal(value)
    by_form = {_normal(c): c for c in codes}
    by_label = {_normal(text): code for code, label in labels.items() for text in label.values() if text}
    for table in (by_form, by_label):
        if wanted in table:
            return table[wanted], labels.get(table[wanted], {})
    for table in (by_form, by_label):
        close = difflib.get_close_matches(wanted, list(table), n=1, cutoff=0.6)
        if close:
            return table[close[0]], labels.get(table[close[0]], {})
    return None, {}


def nearest_match(pattern: str, value: Any, max_length: int | None = None) -> str | None:
    """The value nearest to ``value`` that ``pattern`` accepts, built a character at a time: each character kept if
    the pattern still accepts the text so far, else written as ``-`` when that is allowed (``my product`` →
    ``my-product``), else dropped. None when nothing acceptable is left."""
    import re

    if not isinstance(value, str):
        return None
    rx = re.compile(pattern)

    def ok(text: str) -> bool:
        return bool(rx.fullmatch(text))

    out = ""
    for ch in value.strip():
        if ok(out + ch):
            out += ch
        elif out and not out.endswith("-") and ok(out + "-"):
            out += "-"
    out = out.rstrip("-")
    if max_length:
        out = out[:max_length].rstrip("-")
    return out if out and ok(out) and out != value else None


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
        if errors:  # every problem of the card at once, the first (shallowest) leading; unknown fields too
            problems = [_describe(e) for e in errors] + _unknown_field_problems(card)
            raise CardError(problems[0].field, problems[0].detail, words=problems[0].words, suggestion=problems[0].suggestion, others=problems[1:])
    card_id = card["id"]
    if ".." in card_id or "/" in card_id:
        nearest = nearest_match(_schema()["properties"]["id"].get("pattern", ".*"), card_id.replace("/", "-").replace("..", "-"))
        raise CardError(
            "id",
            f"{_short(card_id)} must not contain '/' or '..'",
            words={"en": "an id must not contain “/” or “..”", "zh": "标识不得包含“/”或“..”"},
            suggestion=nearest,
        )
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
                raise exc.at(index) from None
            if card["id"] in seen:
                raise CardError("id", f"duplicate id {card['id']!r} (also at index {seen[card['id']]})", index)
            seen[card["id"]] = index
        return data, True
    return [validate_card(data)], False
