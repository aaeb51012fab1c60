#!/usr/bin/env python
"""Benchmark the web workbench: what each page weighs and costs to render, and what the form's live calls cost.

    .venv/bin/python benchmarks/workbench.py                 # 20 renders per page, what-if on 12 catalogue cards
    .venv/bin/python benchmarks/workbench.py --renders 50 --whatif-cards 30

In-process (FastAPI TestClient, no network), on the classified catalogue the service loads at start-up:

* **pages** — ``GET`` of each page (``/``, ``/catalogue``, a product page, ``/rules``, the SPARQL editor,
  ``/docs``): HTML bytes and render time (median, max of ``--renders``); plus the bytes of every asset the
  pages load (the workbench's own JS/CSS and the vendored Swagger UI / ReDoc bundles);
* **live calls** — what one edit of the form costs: ``POST /classify`` + ``POST /validate`` (the answer panel),
  then ``POST /whatif?max_pairs=60&options=3`` as the page asks it (the nearest boundaries), median and max over
  ``--whatif-cards`` catalogue cards.

Results also go to ``benchmarks/results/workbench-<time>.json``. The figures are wall-clock on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "benchmarks" / "results"
PAGES = {"describe": "/", "catalogue": "/catalogue", "product": "/catalogue/tisagenlecleucel", "rules": "/rules", "sparql": "/sparql", "docs": "/docs"}
ASSETS = [
    "/static/describe.js",
    "/static/catalogue.js",
    "/static/sparql.js",
    "/static/workbench.css",
    "/static/i18n.json",
    "/static/vendor/swagger-ui-bundle.js",
    "/static/vendor/swagger-ui.css",
    "/static/vendor/redoc.standalone.js",
]


def _ms(values: list[float]) -> dict:
    return {"median_ms": round(statistics.median(values) * 1000, 1), "max_ms": round(max(values) * 1000, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--renders", type=int, default=20)
    parser.add_argument("--whatif-cards", type=int, default=12)
    args = parser.parse_args(argv)

    from atmp.http.app import Settings, create_app
    from fastapi.testclient import TestClient

    t0 = time.perf_counter()
    app = create_app(Settings(sparql_workers=1))
    out: dict = {"started": datetime.now(UTC).isoformat(), "startup_s": round(time.perf_counter() - t0, 2), "pages": {}, "assets": {}, "live": {}}
    with TestClient(app) as client:
        for name, url in PAGES.items():
            times, size = [], 0
            for _ in range(args.renders):
                start = time.perf_counter()
                r = client.get(url, headers={"accept": "text/html"})
                times.append(time.perf_counter() - start)
                size = len(r.content)
            out["pages"][name] = {"url": url, "bytes": size, **_ms(times)}
        for url in ASSETS:
            out["assets"][url] = len(client.get(url).content)
        cards = [{k: v for k, v in c.items() if k != "provenance"} for c in json.loads((ROOT / "catalogue" / "products.json").read_text(encoding="utf-8"))]
        step = max(1, len(cards) // args.whatif_cards)
        sample = cards[::step][: args.whatif_cards]
        answer, nearest = [], []
        for card in sample:
            start = time.perf_counter()
            client.post("/classify", json=card)
            client.post("/validate", json=card)
            answer.append(time.perf_counter() - start)
            start = time.perf_counter()
            client.post("/whatif", params={"max_pairs": 60, "options": 3}, json=card)
            nearest.append(time.perf_counter() - start)
        out["live"] = {"cards": len(sample), "classify_and_validate": _ms(answer), "whatif": _ms(nearest)}
    print(f"start-up {out['startup_s']} s")
    print(f"{'page':<10} {'bytes':>9} {'median ms':>10} {'max ms':>8}")
    for name, p in out["pages"].items():
        print(f"{name:<10} {p['bytes']:>9} {p['median_ms']:>10} {p['max_ms']:>8}")
    print("assets: " + ", ".join(f"{u.rsplit('/', 1)[-1]} {b // 1024} KiB" for u, b in out["assets"].items()))
    live = out["live"]
    print(
        f"one edit ({live['cards']} cards): classify+validate {live['classify_and_validate']['median_ms']} ms median, "
        f"what-if {live['whatif']['median_ms']} ms median ({live['whatif']['max_ms']} max)"
    )
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"workbench-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(out, indent=2), encoding="utf-8")
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
