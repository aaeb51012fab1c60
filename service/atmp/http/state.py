"""The loaded service: the ontology, the classified catalogue and the SPARQL workers, shared by every router.

Loaded once by :func:`atmp.http.app.create_app`; nothing is loaded per request and no Java process is
started: ``POST /classify`` and ``POST /validate`` run :func:`atmp.core.classify.classify_cards` with
``engine="compiled"``, the same code path as ``atmp classify --engine compiled``.
"""

import sys
import time
from typing import Any

from atmp.analysis import taxonomy
from atmp.core.card.decode import decode_json, refuse_unknown, with_warnings
from atmp.core.card.schema import CardError, load_cards

from .limits import TooLarge
from .scheduler import FairLock, in_turns
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
        self.model = load_model(settings.ontology)
        self._classify_cards = classify_cards
        self.kg = KnowledgeGraph.build(engine="compiled", model=self.model, catalogue=settings.catalogue)
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
        # The compiled evaluator keeps per-projection caches; one chunk at a time keeps them consistent, and
        # taking turns per chunk (first come, first served) lets a small request through a big one.
        # (Classification is CPU-bound Python, so the lock costs no throughput under the GIL.)
        self._lock = FairLock()
        self._report_lock = FairLock()
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
        data = decode_json(text)  # duplicate keys, NaN, huge numbers, deep nesting, lone surrogates: 422
        if isinstance(data, list) and len(data) > self.settings.max_batch:
            raise TooLarge(f"too many cards ({len(data)} > {self.settings.max_batch}); split the batch")
        return load_cards(data)

    def exclusive(self):
        """Hold the evaluator for one piece of work that is not a card batch (what-if, a report), in turn with
        classification and within the card time limit (503 past it), so its shared caches stay consistent."""
        return self._lock.hold(time.monotonic() + self.settings.card_timeout)

    def _in_turns(self, cards: list[dict], work) -> list:
        return in_turns(self._lock, cards, work, chunk=self.settings.card_chunk, timeout=self.settings.card_timeout)

    def classify(self, body: bytes, strict: bool = False, explain: str = "full") -> Any:
        cards, was_array = self.parse(body)
        if strict:
            refuse_unknown(cards)
        results = self._in_turns(cards, lambda chunk: self._classify_cards(chunk, engine="compiled", model=self.model, explain=explain))
        with_warnings(results, cards)
        return results if was_array else results[0]

    def validate(self, body: bytes, turtle: bool, strict: bool = False) -> tuple[Any, bool]:
        from atmp.core.classify import memberships_for
        from atmp.core.result.validate import bilingual_report, shacl_report, validate_cards

        cards, was_array = self.parse(body)
        if strict:
            refuse_unknown(cards)
        memberships = self._in_turns(cards, lambda chunk: memberships_for(list(chunk), engine="compiled", model=self.model))
        if turtle:
            # pyshacl touches no evaluator cache: Turtle reports take turns among themselves, not with classification
            with self._report_lock.hold(time.monotonic() + self.settings.card_timeout):
                report = bilingual_report(self.model, shacl_report(self.model, cards, memberships))
            if len(report) > self.settings.max_report_triples:
                raise TooLarge(f"the Turtle report would have {len(report)} triples (more than {self.settings.max_report_triples}); split the batch or ask for JSON")
            return report.serialize(format="turtle"), True  # outside the lock: the report is this request's own
        reports = in_turns(
            self._lock,
            list(zip(cards, memberships, strict=True)),
            lambda pairs: validate_cards(self.model, [c for c, _ in pairs], [m for _, m in pairs]),
            chunk=self.settings.card_chunk,
            timeout=self.settings.card_timeout,
        )
        return (reports if was_array else reports[0]), False

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
