"""The fast path answers exactly as the reference: HermiT for the reasoning, pyshacl for SHACL.

Every engine of :data:`atmp.classify.ENGINES` other than the two HermiT runs is held to the
reference on: random cards from the hypothesis strategy (a few of them self-contradictory), a
seeded batch of the benchmark generator (which covers the whole card vocabulary), the shared
examples and the catalogue. "Answers" are every result field that carries one (see
``benchmarks.reference.summary``); the reference memberships come from the warm HermiT, which is
itself checked here against owlready2's one-batch realisation, the reference the benchmark times.

CI runs a few hundred cards; ``ATMP_EQUIVALENCE_CARDS`` (seeded batch, default 100) and
``ATMP_EQUIVALENCE_EXAMPLES`` (hypothesis batches of up to 10 cards, default 8) scale it up;
``python benchmarks/run.py --check N`` checks thousands.
"""

from __future__ import annotations

import json
import os

import pytest
from atmp.core.classify import ENGINES, classify_cards
from hypothesis import HealthCheck, given, settings

from benchmarks.cardgen import generate_cards
from benchmarks.reference import compare, hermit_memberships, owlready_batch, pyshacl_codes, summary_from_memberships
from tests.conftest import ROOT, load_cases
from tests.strategies import card_batches

REFERENCE_ENGINES = ("hermit", "owlready2")
FAST_ENGINES = [e for e in ENGINES if e not in REFERENCE_ENGINES]
SEEDED_CARDS = int(os.environ.get("ATMP_EQUIVALENCE_CARDS", "100"))  # the generator covers the whole vocabulary in 100 cards
HYPOTHESIS_BATCHES = int(os.environ.get("ATMP_EQUIVALENCE_EXAMPLES", "8"))

pytestmark = pytest.mark.skipif(not FAST_ENGINES, reason="no engine besides the HermiT reference")

_memo: dict[str, set] = {}


def reference(model, cards: list[dict]) -> dict[str, dict]:
    """Card id -> expected answers. HermiT memberships are memoised per card content (they do not
    depend on the rest of the batch); SHACL runs on the batch, as the project runs it."""
    keys = {card["id"]: json.dumps(card, sort_keys=True) for card in cards}
    todo = [card for card in cards if keys[card["id"]] not in _memo]
    for card_id, members in hermit_memberships(model, todo).items():
        _memo[keys[card_id]] = members
    members = {card["id"]: _memo[keys[card["id"]]] for card in cards}
    shacl = pyshacl_codes(model, cards, members)
    return {card["id"]: summary_from_memberships(model, members[card["id"]], shacl[card["id"]]) for card in cards}


def assert_same_answers(model, cards: list[dict], engine: str) -> None:
    problems = compare(classify_cards(cards, engine=engine, model=model), reference(model, cards))
    assert not problems, f"{engine} disagrees with the reference on {len(problems)} of {len(cards)} cards:\n" + "\n".join(problems[:20])


@pytest.mark.parametrize("engine", FAST_ENGINES)
def test_seeded_generator_batch(model, engine):
    assert_same_answers(model, generate_cards(SEEDED_CARDS, seed=20261123, inconsistent_fraction=0.1), engine)


@pytest.mark.parametrize("engine", FAST_ENGINES)
def test_examples(model, engine):
    assert_same_answers(model, [case["card"] for case in load_cases()], engine)


@pytest.mark.parametrize("engine", FAST_ENGINES)
def test_catalogue(model, engine):
    assert_same_answers(model, json.loads((ROOT / "catalogue" / "products.json").read_text(encoding="utf-8")), engine)


@pytest.mark.parametrize("engine", FAST_ENGINES)
@settings(max_examples=HYPOTHESIS_BATCHES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(batch=card_batches(1, 10, inconsistent=True))
def test_random_cards(model, engine, batch):
    assert_same_answers(model, batch, engine)


def test_warm_hermit_is_the_one_batch_owlready2_reference(model):
    """The benchmark's reference (owlready2 + HermiT realising one batch) and the warm HermiT used above agree."""
    cards = generate_cards(4, seed=3)
    assert owlready_batch(model, cards) == hermit_memberships(model, cards)
