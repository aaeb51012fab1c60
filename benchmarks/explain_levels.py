"""What each explanation level costs: bytes per card, batch time and peak memory (issues 14, 15, 13.8).

    .venv/bin/python benchmarks/explain_levels.py                 # 10,000 cards, levels full, brief, none
    .venv/bin/python benchmarks/explain_levels.py --n 1000 --levels brief

Each level runs in its own process (so peak RSS is that level's alone): ``classify_cards(cards,
explain=level)`` on one batch of seeded ``cardgen`` cards, as the library is called (the cyclic GC
paused for the batch), then the results serialised with orjson as ``atmp classify`` writes them.
Figures are wall-clock on a shared machine; the results file records the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one(n: int, level: str, seed: int) -> dict:
    import orjson
    from atmp.core.classify import classify_cards
    from atmp.core.rules.ontology import load_model

    sys.path.insert(0, str(ROOT))
    from benchmarks.cardgen import generate_cards

    cards = generate_cards(n, seed=seed)
    model = load_model()
    classify_cards(cards[:20], model=model, explain=level)  # warm: ontology parsed, evaluator compiled
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    results = classify_cards(cards, model=model, explain=level)
    seconds = time.perf_counter() - t0
    size = sum(len(orjson.dumps(r)) for r in results)
    return {
        "level": level,
        "cards": n,
        "seconds": round(seconds, 2),
        "ms_per_card": round(seconds * 1000 / n, 3),
        "bytes_total": size,
        "bytes_per_card": size // n,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "rss_before_mb": round(rss0 / 1024),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--levels", default="full,brief,none")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", help="write the rows as JSON here (default benchmarks/results/explain-levels-<time>.json)")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(one(args.n, args.child, args.seed)))
        return 0
    rows = []
    load = os.getloadavg()
    for level in args.levels.split(","):
        proc = subprocess.run([sys.executable, __file__, "--n", str(args.n), "--seed", str(args.seed), "--child", level], capture_output=True, text=True, check=True, cwd=ROOT)
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        r = rows[-1]
        print(
            f"{level:<6} {r['cards']:>6} cards  {r['seconds']:>8.2f} s  {r['ms_per_card']:>7.3f} ms/card  {r['bytes_per_card']:>7} B/card  peak RSS {r['peak_rss_mb']} MB",
            flush=True,
        )
    out = Path(args.out) if args.out else ROOT / "benchmarks" / "results" / f"explain-levels-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"load_start": load, "load_end": os.getloadavg(), "rows": rows}, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
