"""Golden answers: the examples' and the catalogue's results, held still across refactors.

``tests/fixtures/golden/answers.json`` keeps, per card, the result without its explanations and a SHA-256
of the whole result (explanations included, keys sorted). A refactor must leave every digest alone; a
rule change that moves answers regenerates the file (``ATMP_WRITE_GOLDEN=1 pytest tests/test_golden.py``)
and says in its commit and the ontology CHANGELOG which products moved and why.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import orjson
import pytest
from atmp.core.card.schema import load_cards
from atmp.core.classify import classify_cards

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "fixtures" / "golden" / "answers.json"
SETS = {"examples": ROOT / "tests" / "fixtures" / "examples" / "cards.json", "catalogue": ROOT / "catalogue" / "products.json"}


def answers(path: Path) -> dict[str, dict]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    cards, _ = load_cards([{k: v for k, v in c.items() if k != "provenance"} for c in raw])
    rows = {}
    for r in classify_cards(cards):
        digest = hashlib.sha256(orjson.dumps(r, option=orjson.OPT_SORT_KEYS)).hexdigest()
        rows[r["id"]] = {"result": {k: v for k, v in r.items() if k != "explanation"}, "sha256": digest}
    return rows


@pytest.fixture(scope="module")
def current() -> dict[str, dict]:
    found = {name: answers(path) for name, path in SETS.items()}
    if os.environ.get("ATMP_WRITE_GOLDEN"):
        GOLDEN.write_text(json.dumps(found, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return found


@pytest.mark.parametrize("name", sorted(SETS))
def test_answers_unchanged(current: dict, name: str) -> None:
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))[name]
    assert sorted(current[name]) == sorted(golden), "the set of cards changed"
    moved = [cid for cid in golden if current[name][cid]["result"] != golden[cid]["result"]]
    assert not moved, f"answers moved: {moved}"
    reworded = [cid for cid in golden if current[name][cid]["sha256"] != golden[cid]["sha256"]]
    assert not reworded, f"explanations changed: {reworded}"
