#!/usr/bin/env python
"""Benchmark ``atmp similar``: precedents of one card over the catalogue, warm in a process and cold from the CLI.

    .venv/bin/python benchmarks/similar.py              # 200 generated cards warm, 5 cold CLI runs
    .venv/bin/python benchmarks/similar.py --cards 1000 --runs 10

Warm: the precedent base (the catalogue classified once) is built, then ``similar(card, k=5)`` runs for each
generated card in turn (classification of the card with its brief explanation, distances to every precedent,
the single-difference variants of the five nearest classified in one batch, red flags); median and p95 per card.
Cold: a fresh ``atmp similar CARD --format json`` process each (start-up, imports, rules from the compiled cache,
the base built, one card); the median wall time. Results go to ``benchmarks/results/similar-<time>.json``.
No figure is asserted by a test (issue 31 aims at ≤ 50 ms warm, ≤ 0.5 s cold).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from atmp.analysis.similar import precedent_base, similar  # noqa: E402
from atmp.core.rules.ontology import load_model  # noqa: E402

from benchmarks.cardgen import generate_cards  # noqa: E402
from benchmarks.diff import run_meta  # noqa: E402

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cards", type=int, default=200, help="generated cards for the warm figure")
    parser.add_argument("--runs", type=int, default=5, help="cold CLI runs")
    args = parser.parse_args(argv)
    model = load_model()
    start = time.perf_counter()
    base = precedent_base(model)
    build = time.perf_counter() - start
    cards = generate_cards(args.cards, seed=31)
    times = []
    for card in cards:
        t = time.perf_counter()
        similar(card, model=model)
        times.append(time.perf_counter() - t)
    times.sort()
    cold = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "card.json"
        path.write_text(json.dumps(cards[0]), encoding="utf-8")
        for _ in range(args.runs):
            t = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "atmp.cli", "similar", str(path), "--format", "json"], capture_output=True, timeout=300)
            cold.append(time.perf_counter() - t)
            if proc.returncode != 0:
                raise SystemExit(proc.stderr.decode())
    row = {
        "precedents": len(base.precedents),
        "base_build_s": round(build, 3),
        "warm_median_ms": round(1000 * statistics.median(times), 1),
        "warm_p95_ms": round(1000 * times[int(0.95 * (len(times) - 1))], 1),
        "cold_cli_median_s": round(statistics.median(cold), 3),
        "cards": len(cards),
    }
    print(json.dumps(row, indent=2))
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"similar-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps({**run_meta(), **row}, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
