"""Codes in words: a result code, a card field, a card value or a quoted code in a message, as the ontology names them.

Shared by everything that writes for people (the report, the what-if table, the workbench's pages), so a code is named the
same way everywhere. May import :mod:`atmp.core` only.
"""

from __future__ import annotations

import re
from typing import Any

from atmp.core.explain.words import field_text, value_text
from atmp.core.rules.ontology import OntologyModel
from atmp.core.rules.resources import words

T = words("report")


class Glossary:
    """Codes -> labels and sources, from the ontology's result classes and vocabulary."""

    def __init__(self, model: OntologyModel):
        self.model = model
        self.by_code = {(rc.field, rc.code): rc for rc in model.result_classes if rc.code}
        self.by_number = {rc.number: rc for rc in model.result_classes if rc.number is not None}
        self.props = {p.field: p for p in model.properties}

    def result(self, result_field: str, code: Any):
        return self.by_code.get((result_field, code))

    def result_label(self, result_field: str, code: Any, lang: str) -> str:
        rc = self.result(result_field, code)
        return rc.label.get(lang, "") if rc else str(code)

    def criterion(self, number: int):
        return self.by_number.get(number)

    def borderline(self, code: str):
        return self.by_code.get(("borderline", code))

    def card_value(self, card_field: str, value: Any, lang: str) -> str:
        prop = self.props.get(card_field)
        if value is None:
            return T["absent"][lang]
        if isinstance(value, bool):
            return value_text(self.model, value)[lang]
        if prop is not None and value in prop.codes:
            return self.model.label(prop.codes[value]).get(lang, value)
        return str(value)

    def card_field(self, card_field: str, lang: str) -> str:
        prop = self.props.get(card_field)
        return field_text(self.model, prop)[lang] if prop else card_field

    def code_words(self, text: str, lang: str) -> str:
        """``text`` with each code it quotes in backticks (```genetic_modification```, ```first_human_use```,
        ```payload: genetic_material```) written as its label in ``lang``: a card code or a result code by its label,
        a card field by its name. A quoted token the ontology does not name is kept as written."""
        if "`" not in text:
            return text
        codes = self.model.memo.get("report_code_words")
        if codes is None:
            codes = {}
            for rc in self.model.result_classes:
                if rc.code:
                    codes.setdefault(rc.code, rc.label)
            for prop in self.model.properties:
                codes[prop.key] = field_text(self.model, prop)
            for prop in self.model.properties:  # a card code reads as the card's word, before a field or a result code
                for code, iri in prop.codes.items():
                    codes[code] = self.model.label(iri)
            self.model.memo["report_code_words"] = codes

        def word(token: str) -> str | None:
            if token in codes:
                return codes[token].get(lang) or codes[token].get("en")
            key, sep, value = token.partition(": ")
            if sep and key in codes and value in codes:
                return f"{codes[key].get(lang)}{'：' if lang == 'zh' else ': '}{codes[value].get(lang)}"
            return None

        return re.sub(r"`([^`]+)`", lambda m: word(m.group(1)) or m.group(0), text)
