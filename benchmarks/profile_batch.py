#!/usr/bin/env python
"""Where a batch's time goes: wall time per stage, then a cProfile breakdown by stage (issues 15, 28).

    .venv/bin/python benchmarks/profile_batch.py                          # 10,000 cards, --explain brief
    .venv/bin/python benchmarks/profile_batch.py --n 1000 --level full --top 25

Why a script and not a timed test: the split is what tells the next change where to look (a
benchmark's total only says that it is slow). The batch is the one ``benchmarks/run.py`` uses
(``cardgen``, seed 7), classified as ``atmp classify`` does (``classify_cards``, the cyclic GC
paused for the batch), then serialised with orjson. Start-up and the model load are not here (the generator has already
loaded the model): ``benchmarks/run.py`` times them as "cold".

First run without a profiler (true wall times): parse and check the cards,
``classify_cards`` (memberships, explanations, SHACL), ``orjson.dumps``. Then the same classification
under cProfile, reported as the share of profiled time spent under each stage function (profiling
slows Python-level calls more than C-level ones, so read shares, not seconds) and the functions with
the most time of their own.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.cardgen import generate_cards  # noqa: E402

# (label, file suffix, function name): the stages of atmp.core.classify._classify and what they call
STAGES = (
    ("memberships (compiled classes)", "core/classify.py", "of"),
    ("result assembly, all levels", "core/result/assemble.py", "assemble"),
    ("  EU/US/JP blocks", "core/result/assemble.py", "assemble_blocks"),
    ("  brief: the proof walk", "core/explain/proof.py", "prove"),
    ("  brief: entries as data", "core/explain/brief.py", "brief_entry"),
    ("  full: definition walk", "core/explain/walk.py", "because"),
    ("  full: flags not met", "core/explain/walk.py", "not_met_entry"),
    ("SHACL (compiled shapes)", "core/result/validate.py", "validate_cards"),
)


def _cumulative(stats: pstats.Stats, suffix: str, name: str) -> float:
    """Cumulative seconds of a function (the outermost calls only: cProfile's ``ct`` already excludes recursion)."""
    total = 0.0
    for (path, _line, func), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if func == name and path.replace(os.sep, "/").endswith(suffix):
            total += ct
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="cards (default 10,000)")
    parser.add_argument("--level", default="brief", choices=["full", "brief", "none"], help="--explain level (default brief)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--top", type=int, default=20, help="functions listed by own time (default 20)")
    args = parser.parse_args(argv)

    import orjson

    raw = generate_cards(args.n, seed=args.seed)
    t0 = time.perf_counter()
    from atmp.core.card.schema import load_cards
    from atmp.core.classify import classify_cards
    from atmp.core.rules.ontology import load_model

    t1 = time.perf_counter()
    model = load_model()
    t2 = time.perf_counter()
    cards, _ = load_cards(orjson.loads(orjson.dumps(raw)))  # a refused card raises atmp.core.card.schema.CardError
    t3 = time.perf_counter()
    results = classify_cards(cards, model=model, explain=args.level)
    t4 = time.perf_counter()
    out = orjson.dumps(results)
    t5 = time.perf_counter()
    print(f"{args.n:,} cards, --explain {args.level}, load average {os.getloadavg()[0]:.2f}")
    print()
    print("| stage (no profiler) | s |")
    print("|---|---:|")
    for label, seconds in (
        ("import atmp", t1 - t0),
        ("parse and check the cards", t3 - t2),
        ("classify_cards", t4 - t3),
        (f"orjson.dumps ({len(out) / 1e6:,.0f} MB)", t5 - t4),
    ):
        print(f"| {label} | {seconds:.2f} |")
    del results, out
    model.memo.pop("proof_cache", None)  # the profiled run proves afresh, as the first run did
    gc.collect()
    profiler = cProfile.Profile()
    profiler.enable()
    classify_cards(cards, model=model, explain=args.level)
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = stats.total_tt  # type: ignore[attr-defined]
    print()
    print(f"| stage (under cProfile, {total:.1f} s in all) | share |")
    print("|---|---:|")
    for label, suffix, name in STAGES:
        seconds = _cumulative(stats, suffix, name)
        if seconds:
            print(f"| {label} | {100 * seconds / total:.0f} % |")
    generated = sum(row[2] for (path, _l, _f), row in stats.stats.items() if path.startswith("<atmp"))  # type: ignore[attr-defined]
    print(f"| own time of the generated class functions (all stages) | {100 * generated / total:.0f} % |")
    print()
    print("| function (own time) | calls | own s | share |")
    print("|---|---:|---:|---:|")
    rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)[: args.top]  # type: ignore[attr-defined]
    for (path, line, func), (_cc, nc, tt, _ct, _callers) in rows:
        where = "compiled ontology" if path.startswith("<atmp") else Path(path).name if path != "~" else "builtin"
        print(f"| `{func}` ({where}{f':{line}' if line else ''}) | {nc:,} | {tt:.2f} | {100 * tt / total:.0f} % |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
