"""Hypothesis strategies for product cards, built on the benchmark generator's vocabulary and rules.

``benchmarks.cardgen.build_card`` decides every field through a :class:`~benchmarks.cardgen.Chooser`;
here the decisions are hypothesis draws, so the cards are the generator's (schema-valid, every code
of the schema reachable, consistent with the contract) and failures shrink to small cards.
"""

from __future__ import annotations

from hypothesis import strategies as st

from benchmarks.cardgen import BREAKERS, Chooser, build_card, build_unconstrained


class DrawChooser(Chooser):
    """Decisions drawn from hypothesis (weights are ignored: hypothesis explores on its own)."""

    def __init__(self, draw):
        self.draw = draw

    def pick(self, field, options, weights=None):
        return self.draw(st.sampled_from(list(options)))

    def subset(self, field, options, required=(), min_size=0, max_size=6):
        chosen = list(dict.fromkeys(required))
        rest = [o for o in options if o not in chosen]
        lo = max(0, min_size - len(chosen))
        hi = max(lo, min(len(rest), max_size - len(chosen)))
        if rest and hi:
            chosen.extend(self.draw(st.lists(st.sampled_from(rest), unique=True, min_size=lo, max_size=hi)))
        return chosen

    def omit(self, field, p):
        return self.draw(st.booleans())

    def coin(self, p=0.5):
        return self.draw(st.booleans())


@st.composite
def cards(draw, card_id: str = "hyp", inconsistent: bool = False, breakers: tuple[str, ...] | None = None) -> dict:
    """One card. ``inconsistent=True``: about half the cards break one SHACL Violation shape
    (any of ``breakers``, default all of :data:`benchmarks.cardgen.BREAKERS`)."""
    chooser = DrawChooser(draw)
    if inconsistent and draw(st.booleans()):
        code = draw(st.sampled_from(sorted(breakers or BREAKERS)))
        return BREAKERS[code](chooser, card_id)
    return build_card(chooser, card_id)


@st.composite
def any_cards(draw, card_id: str = "any") -> dict:
    """Any card the schema allows (:func:`benchmarks.cardgen.build_unconstrained`): no consistency rule, so most
    contradict themselves. Issue 27: no such card may make classify, validate, whatif, report or HTTP fail."""
    return build_unconstrained(DrawChooser(draw), card_id)


def any_card_batches(min_size: int = 1, max_size: int = 8) -> st.SearchStrategy[list[dict]]:
    """Lists of :func:`any_cards` with unique ids ``any-0``, ``any-1``..."""

    def renumber(batch: list[dict]) -> list[dict]:
        for i, card in enumerate(batch):
            card["id"] = f"any-{i}"
        return batch

    return st.lists(any_cards(), min_size=min_size, max_size=max_size).map(renumber)


def card_batches(min_size: int = 1, max_size: int = 10, inconsistent: bool = False) -> st.SearchStrategy[list[dict]]:
    """Lists of cards with unique ids ``hyp-0``, ``hyp-1``..."""

    def renumber(batch: list[dict]) -> list[dict]:
        for i, card in enumerate(batch):
            card["id"] = f"hyp-{i}"
        return batch

    return st.lists(cards(inconsistent=inconsistent), min_size=min_size, max_size=max_size).map(renumber)
