"""A batch leaves no reference cycles behind (issue 13 item 8, issue 15).

Batches pause the cyclic collector (its scans over a growing heap cost a third of a run), so every
reference cycle a batch makes lives until the next explicit collection; a nested recursive function
(one cycle through its closure per call) was how they were made. The CLI's memory test
(``tests/test_streaming.py``) bounds their effect at 20,000 cards; here any cycle at all is named.
"""

from __future__ import annotations

import collections
import gc

import orjson
import pytest
from atmp.cli.stream import _serialise_chunk
from atmp.core.explain.walk import LEVELS
from atmp.core.rules.layout import DEFAULT_ENGINE

from benchmarks.cardgen import generate_cards

WARM = 40  # cards classified first: one-time caches (schema walks, the generated lane code at 32 cards) are made there


def _cards() -> list[dict]:
    cards = generate_cards(WARM + 150, seed=29)
    for i, card in enumerate(cards[::3]):  # fields the contract does not define, at the top and nested
        card["remarks" if i % 2 else "substanse"] = "x"
        card["substance"]["colour"] = {"hue": "red"}  # two warnings: one at the top, substance.colour (not inside it)
    return cards


@pytest.mark.parametrize("level", LEVELS)
def test_a_batch_makes_no_reference_cycles(model, level):
    cards = _cards()
    warm, batch = cards[:WARM], cards[WARM:]
    _serialise_chunk(warm, DEFAULT_ENGINE, 0, model, level)
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        # as atmp classify does a chunk: classified, the unknown-field warnings added, serialised
        results = [orjson.loads(line) for line in _serialise_chunk(batch, DEFAULT_ENGINE, 0, model, level)[0]]
        expected = 2 * sum("colour" in c["substance"] for c in batch)
        assert sum(w["code"] == "unknown_field" for r in results for w in r.get("warnings", ())) == expected > 0, "the cards exercise the unknown-field walk"
        del results
        found = gc.collect()
        kinds = collections.Counter(getattr(o, "__qualname__", type(o).__name__) for o in gc.garbage if callable(o) or type(o).__name__ == "cell")
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert found == 0, f"{found} objects in reference cycles: {kinds.most_common(5)}"
