"""The loaded service: the ontology, the classified catalogue and the SPARQL workers, shared by every router.

Loaded once by :func:`atmp.http.app.create_app`; nothing is loaded per request and no Java process is
started: ``POST /classify`` and ``POST /validate`` run :func:`atmp.core.classify.classify_cards` with
``engine="compiled"``, the same code path as ``atmp classify --engine compiled``.
"""

import json
import sys
import threading
import time
from typing import Any

from atmp.analysis import taxonomy
from atmp.core.card import CardError, load_cards

from .limits import TooLarge
from .settings import Settings


def jvm_started() -> bool:
    """Whether this process started a JVM (the compiled engine never does; /health shows it)."""
    jpype = sys.modules.get("jpype")
    return bool(jpype is not None and jpype.isJVMStarted())


class Service:
    """What the endpoints share: the ontology, the classified catalogue, the SPARQL workers. Loaded once."""

    def __init__(self, settings: Settings):
        from atmp.core.classify import classify_cards
        from atmp.core.ontology import load_model
        from atmp.kg.store import KnowledgeGraph
        from atmp.kg.terms import PREFIXES

        from .pool import SparqlPool

        t0 = time.perf_counter()
        self.settings = settings
        self.model = load_model(settings.ontology)
        self._classify_cards = classify_cards
        self.kg = KnowledgeGraph.build(engine="compiled", model=self.model, catalogue=settings.catalogue)
        self.products = {card["id"]: {"card": card, "result": self.kg.results[card["id"]]} for card in self.kg.cards}
        self.pool = SparqlPool(self.kg.serialize("nq"), size=settings.sparql_workers, timeout=settings.sparql_timeout, max_results=settings.sparql_max_results, prefixes=PREFIXES)
        # The compiled evaluator keeps per-projection caches; one batch at a time keeps them consistent.
        # (Classification is CPU-bound Python, so the lock costs no throughput under the GIL.)
        self._lock = threading.Lock()
        self.codes = {f: sorted(rc.code for rc in self.model.result_classes if rc.field == f and rc.code) for f in ("nmpa.subclass", "tianjin.risk_tier", "borderline")}
        self.startup_seconds = time.perf_counter() - t0

    # -- cards in
    def parse(self, body: bytes) -> tuple[list[dict], bool]:
        """Body -> validated cards; CardError (422) naming the field, TooLarge (413) for too many cards."""
        if len(body) > self.settings.max_body_bytes:
            raise TooLarge(f"request body too large: the limit is {self.settings.max_body_bytes} bytes")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CardError("", f"body is not UTF-8: {exc.reason} at byte {exc.start}") from None
        if not text.strip():
            raise CardError("", "empty body: expected one product card (a JSON object) or a JSON array of cards")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CardError("", f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
        except (RecursionError, ValueError) as exc:
            raise CardError("", f"unusable JSON: {type(exc).__name__}") from None
        if isinstance(data, list) and len(data) > self.settings.max_batch:
            raise TooLarge(f"too many cards ({len(data)} > {self.settings.max_batch}); split the batch")
        return load_cards(data)

    def classify(self, body: bytes) -> Any:
        cards, was_array = self.parse(body)
        with self._lock:
            results = self._classify_cards(cards, engine="compiled", model=self.model)
        return results if was_array else results[0]

    def validate(self, body: bytes, turtle: bool) -> tuple[Any, bool]:
        from atmp.core.classify import memberships_for
        from atmp.core.validate import bilingual_report, shacl_report, validate_cards

        cards, was_array = self.parse(body)
        with self._lock:
            memberships = memberships_for(cards, engine="compiled", model=self.model)
            if turtle:
                report = bilingual_report(self.model, shacl_report(self.model, cards, memberships))
                return report.serialize(format="turtle"), True
            reports = validate_cards(self.model, cards, memberships)
        return (reports if was_array else reports[0]), False

    # -- catalogue
    def product_summary(self, card_id: str) -> dict:
        entry = self.products[card_id]
        card, result = entry["card"], entry["result"]
        return {
            "id": card_id,
            "label": card.get("label", {}),
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
