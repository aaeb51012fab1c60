"""The loaded service: the ontology, the classified catalogue and the SPARQL workers, shared by every router.

Loaded once by :func:`atmp.http.app.create_app`; nothing is loaded per request and no Java process is
started. Card work (``POST /classify``, ``/validate``, ``/whatif``, ``/report``) is sent to the card workers
(:class:`~atmp.http.card_pool.CardPool`), which run :func:`atmp.core.classify.classify_cards` with
``engine="compiled"``, the same code path as ``atmp classify --engine compiled``; this process keeps the model
for the pages and the classified catalogue for ``/products``.
"""

import sys
import time

from atmp.analysis import taxonomy

from .card_pool import CardPool
from .settings import Settings


def jvm_started() -> bool:
    """Whether this process started a JVM (the compiled engine never does; /health shows it)."""
    jpype = sys.modules.get("jpype")
    return bool(jpype is not None and jpype.isJVMStarted())


class Service:
    """What the endpoints share: the ontology, the classified catalogue, the SPARQL workers. Loaded once."""

    def __init__(self, settings: Settings):
        from atmp.core.classify import classify_cards
        from atmp.core.rules.ontology import load_model
        from atmp.kg.store import KnowledgeGraph
        from atmp.kg.terms import PREFIXES

        from .pool import SparqlPool

        t0 = time.perf_counter()
        self.settings = settings
        self.model = load_model(settings.ontology)  # a rule file refused here stops the service before any worker starts
        # card work runs in worker processes of its own, never on this process's event loop or GIL (issue 34);
        # they start now, loading the rules while this process builds the catalogue
        self.cards = CardPool(settings)
        self.cards.spawn()
        self._classify_cards = classify_cards
        try:
            self.kg = KnowledgeGraph.build(engine="compiled", model=self.model, catalogue=settings.catalogue)
        except BaseException:
            self.cards.close()
            raise
        self.products = {card["id"]: {"card": card, "result": self.kg.results[card["id"]]} for card in self.kg.cards}
        self.pool = SparqlPool(
            self.kg.serialize("nq"),
            size=settings.sparql_workers,
            timeout=settings.sparql_timeout,
            max_results=settings.sparql_max_results,
            prefixes=PREFIXES,
            queue_size=settings.sparql_queue,
            max_bytes=settings.sparql_max_bytes,
            memory_bytes=settings.sparql_worker_memory * 2**20,
        )
        self.codes = {f: sorted(rc.code for rc in self.model.result_classes if rc.field == f and rc.code) for f in ("nmpa.subclass", "tianjin.risk_tier", "borderline")}
        self.startup_seconds = time.perf_counter() - t0

    async def start(self) -> None:
        """Start the SPARQL workers and let the card workers take turns (from the app's lifespan, on its event loop);
        return once the card workers are ready, so that the app answers only when it can do card work."""
        self.pool.start(reopen=True)
        self.cards.start(reopen=True)
        await self.cards.wait_ready(self.cards.STARTUP_TIMEOUT)

    # -- cards in, answers out: every step in a card worker (atmp.http.card_pool), the answer as bytes
    async def classify(self, body: bytes, strict: bool = False, explain: str = "full") -> bytes:
        """The results of ``atmp classify --engine compiled``, serialised as the route answers them (orjson)."""
        results, was_array = await self.cards.batch("classify", body, strict=strict, explain=explain)
        return _json_list(results) if was_array else results[0]

    async def validate(self, body: bytes, turtle: bool, strict: bool = False) -> bytes:
        """JSON reports per card (as ``atmp validate``), or the batch's Turtle sh:ValidationReport (one pyshacl run: long work)."""
        if turtle:
            [report], _ = await self.cards.batch("turtle", body, long=True, chunk=0, strict=strict)
            return report
        reports, was_array = await self.cards.batch("validate", body, strict=strict)
        return _json_list(reports) if was_array else reports[0]

    async def whatif(self, body: bytes, max_pairs: int, options: int) -> bytes:
        """The what-if answer of one card (the workbench's nearest boundaries), as JSON bytes."""
        [answer], _ = await self.cards.batch("whatif", body, long=True, chunk=1, max_pairs=max_pairs, options=options)
        return answer

    async def similar(self, body: bytes, k: int, regime: str | None) -> bytes:
        """The precedents of one card (``atmp similar``), as JSON bytes."""
        [answer], _ = await self.cards.batch("similar", body, chunk=1, k=k, regime=regime)
        return answer

    async def decode(self, body: bytes) -> bytes:
        """A workbench upload decoded by the one decoder, as JSON bytes (a 4 MiB file is no event-loop work either)."""
        value = await self.cards.run({"op": "decode", "body": body}, time.monotonic() + self.settings.card_timeout)
        return value["out"]

    async def report(self, body: bytes, lang: str, fmt: str) -> list[str]:
        """One rendered report per card, each card a job of its own (about a second each)."""
        documents, _ = await self.cards.batch("report", body, long=True, chunk=1, lang=lang, format=fmt)
        return documents

    # -- catalogue
    def product_summary(self, card_id: str) -> dict:
        entry = self.products[card_id]
        card, result = entry["card"], entry["result"]
        indication = (card.get("function") or {}).get("indication")
        return {
            "id": card_id,
            "label": card.get("label", {}),
            **({"indication": indication} if indication else {}),  # free text no rule reads, shown beside the name
            "provenance": card.get("provenance"),
            "atmp": result["atmp"],
            "exclusion": result["exclusion"],
            "nmpa": result["nmpa"],
            "tianjin": result["tianjin"],
            "borderline": [b["code"] for b in result["borderline"]],
            "conforms": result["conforms"],
        }

    def find_products(self, subclass: str | None, tier: str | None, borderline: str | None) -> list[dict]:
        out = []
        for card_id, entry in self.products.items():
            result = entry["result"]
            if subclass is not None and result["nmpa"]["subclass"] != subclass:
                continue
            if tier is not None and (result["tianjin"]["risk_tier"] or "none") != tier:
                continue
            codes = {b["code"] for b in result["borderline"]}
            if borderline == "true" and not codes or borderline == "false" and codes:
                continue
            if borderline not in (None, "true", "false") and borderline not in codes:
                continue
            out.append(self.product_summary(card_id))
        return out

    # -- the taxonomy (built by atmp.analysis.taxonomy, so the CLI and notebooks show the same)
    def classes(self, lang: str) -> list[dict]:
        return taxonomy.classes(self.model, lang)

    def criteria(self, lang: str) -> list[dict]:
        return taxonomy.criteria(self.model, lang)

    def close(self) -> None:
        self.pool.close()
        self.cards.close()


def _json_list(items: list[bytes]) -> bytes:
    """JSON array of already-serialised items: the bytes orjson.dumps would write for the list."""
    return b"[" + b",".join(items) + b"]"
