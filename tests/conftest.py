"""Shared fixtures: the examples (our own copy, checked against ../shared when it is there) and a card builder."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from atmp.core.classify import classify_cards
from atmp.core.rules.ontology import load_model

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
SHARED = ROOT.parent / "shared"


def catalogue_size() -> int:
    """How many products catalogue/products.json holds: tests read it rather than hard-code a number."""
    return len(json.loads((ROOT / "catalogue" / "products.json").read_text(encoding="utf-8")))


def load_cases() -> list[dict]:
    return json.loads((FIXTURES / "examples" / "products.json").read_text(encoding="utf-8"))


BASE_CARD = {
    "id": "base",
    "substance": {
        "kind": "cells",
        "cell_type": "t_cell",
        "origin": "autologous",
        "pluripotent_derived": False,
        "payload": "none",
        "nucleic_acid": "none",
        "vector": "none",
        "gene_editing_tool": "none",
        "genetically_engineered": False,
        "replication_competent": False,
        "oncolytic": False,
        "novel_species": False,
        "neoantigen": False,
        "first_human_use": False,
    },
    "process": {"manipulations": ["culture_expansion", "washing"], "combined_with": []},
    "function": {"intended_use": "treatment", "mechanism": ["immunological"], "homologous_use": True, "systemic_effect": True},
}


def make_card(card_id: str = "base", **sections) -> dict:
    """A coherent unmodified autologous T-cell card, with fields of ``substance``/``process``/``function`` replaced."""
    card = copy.deepcopy(BASE_CARD)
    card["id"] = card_id
    for section, fields in sections.items():
        for key, value in fields.items():
            if value is ...:
                card[section].pop(key, None)
            else:
                card[section][key] = value
    return card


@pytest.fixture(scope="session")
def model():
    return load_model()


@pytest.fixture(scope="session")
def classify(model):
    """Classify one card with the reference (warm HermiT) and check the compiled path agrees."""

    def run(card: dict, engine: str = "hermit") -> dict:
        result = classify_cards([card], engine=engine, model=model)[0]
        if engine == "hermit":
            compiled = classify_cards([card], engine="compiled", model=model)[0]
            assert compiled == result, f"compiled evaluation disagrees with HermiT on {card['id']}"
        return result

    return run


def without_explanations(result: dict) -> dict:
    """A result with every explanation list emptied: the top-level one and each regime block's (eu, us, jp)."""
    out = {**result, "explanation": []}
    for key, value in result.items():
        if isinstance(value, dict) and "explanation" in value:
            out[key] = {**value, "explanation": []}
    return out
