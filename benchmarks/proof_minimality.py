#!/usr/bin/env python
"""How minimal the brief proofs are on many cards: the oracle of ``tests/test_proof.py``, per class (issue 28).

    .venv/bin/python benchmarks/proof_minimality.py                      # 10,000 cardgen cards, a tenth contradictory
    .venv/bin/python benchmarks/proof_minimality.py --n 2000 --inconsistent 0.5 --negated

For every explanation entry: do the reasons suffice (the deciding definition holds on them alone), and is each card
fact necessary (undoing it moves the conclusion)? A fact that is not necessary is classified: "another branch" when
the conclusion stands on other reasons after the change (a union whose other member takes over), otherwise
"unexplained". ``--negated`` also checks the classes cited as not met ("none of these applies"), with the exact
search of :mod:`atmp.authoring.exclusive` (slow: about 10x). The suite checks the examples and the catalogue; this
gives the figure on generated cards, which a test suite cannot afford.
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.cardgen import generate_cards  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--inconsistent", type=float, default=0.1, help="share of self-contradictory cards (default 0.1)")
    parser.add_argument("--negated", action="store_true", help="also check the classes cited as not met (slow)")
    args = parser.parse_args(argv)

    from atmp.core.card.schema import load_cards
    from atmp.core.classify import classify_cards
    from atmp.core.rules.ontology import load_model

    from tests import oracle
    from tests.test_proof import _switches_branch, entries

    model = load_model()
    cards, _ = load_cards(generate_cards(args.n, seed=args.seed, inconsistent_fraction=args.inconsistent))
    t0 = time.perf_counter()
    total, insufficient, by_class, kinds = 0, collections.Counter(), collections.Counter(), collections.Counter()
    per_class = collections.Counter()
    for start in range(0, len(cards), 500):
        chunk = cards[start : start + 500]
        for card, result in zip(chunk, classify_cards(chunk, model=model, explain="brief"), strict=True):
            refs = {e["rule"]: e for e in entries(result)}
            for entry in entries(result):
                total += 1
                per_class[entry["rule"]] += 1
                if not oracle.sufficient(model, entry):
                    insufficient[entry["rule"]] += 1
                bad = oracle.unnecessary(model, card, entry, refs, negated_rules=args.negated)
                if bad:
                    by_class[entry["rule"]] += 1
                    for reason in bad:
                        kinds["another branch" if reason["kind"] != "rule" and _switches_branch(model, card, entry, reason) else "unexplained"] += 1
    minimal = total - sum(by_class.values())
    print(f"{len(cards):,} cards (seed {args.seed}, {args.inconsistent:.0%} contradictory), {total:,} entries, {time.perf_counter() - t0:.0f} s")
    print(f"sufficient: {total - sum(insufficient.values()):,} of {total:,}; every reason necessary: {minimal:,} ({100 * minimal / total:.2f} %)")
    print(f"reasons not necessary, by kind: {dict(kinds)}")
    print()
    print("| class | entries | not minimal | share |")
    print("|---|---:|---:|---:|")
    for cls, n in by_class.most_common():
        print(f"| {cls} | {per_class[cls]:,} | {n:,} | {100 * n / per_class[cls]:.1f} % |")
    for cls, n in insufficient.most_common():
        print(f"insufficient: {cls} {n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
