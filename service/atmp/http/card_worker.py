"""What a card worker process does: card work of the HTTP service, away from the server's event loop and GIL.

Why processes: card work is CPU-bound Python. Run in a thread of the server it still held the server's one GIL,
and pyshacl's SHACL run (a 1,000-card Turtle report, 10 s) held it for up to 2 s at a stretch, so ``/health``
waited 5 s and a one-card ``/classify`` up to 9 s behind it. Here each worker loads the rules once (from the
on-disk compiled cache, under a second), says ``ready`` and answers one job at a time; the server only moves
bytes (:mod:`atmp.http.card_pool`). The worker also parses the body (the one decoder,
:func:`atmp.core.card.decode.decode_bytes`) and serialises its answers (orjson, as the routes did), so neither a
4 MiB body nor a 15 MB answer is ever a Python object in the server.

A job is a dict with ``op`` and either ``body`` (the request body: parse it, refuse it with the field named, and
do the first chunk) or ``cards`` (a JSON array of cards an earlier job parsed: do them). Replies are
``("ok", value)``, ``("card_error", problems)`` (:meth:`CardError.to_data`), ``("too_large", message)`` or ``("error", text)``;
the server turns them into the answer, a 422, a 413 or a logged 500.
"""

from __future__ import annotations

import gc
import json
import threading
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import orjson

from atmp.core.card.errors import CardError


class TooLarge(Exception):
    """A batch or an answer over a service limit (the server answers 413)."""


class CardWork:
    """The rules, loaded once, and one method per kind of job."""

    def __init__(self, init: dict):
        from atmp.core.classify import evaluator_for
        from atmp.core.result.validate import compiled_shapes
        from atmp.core.rules.ontology import ATMP, load_model

        self.limits = init
        self.model = load_model(Path(init["ontology"]) if init.get("ontology") else None)
        evaluator_for(self.model).compiled_for(frozenset({ATMP.Product}))  # the classes every card needs, compiled now
        compiled_shapes()
        import atmp.analysis.report  # noqa: F401 - imported before saying ready, not on the first report
        import atmp.analysis.whatif  # noqa: F401
        from atmp.analysis.similar import precedent_base

        self.catalogue = Path(init["catalogue"]) if init.get("catalogue") else None  # the one /products serves
        precedent_base(self.model, self.catalogue)  # classified once, before saying ready: /similar answers warm

        gc.freeze()  # what start-up made lives as long as the worker: collections need not scan it

    # -- the steps every job shares
    def parse(self, body: bytes, strict: bool, one: str | None = None) -> tuple[list[dict], bool]:
        """The body -> validated cards (the one decoder; CardError naming the field, TooLarge over the batch limit)."""
        from atmp.core.card.decode import decode_bytes, refuse_unknown
        from atmp.core.card.schema import load_cards

        data = decode_bytes(body, limit=self.limits["max_body_bytes"], what="body")
        if isinstance(data, list) and len(data) > self.limits["max_batch"]:
            raise TooLarge(f"too many cards ({len(data)} > {self.limits['max_batch']}); split the batch")
        cards, was_array = load_cards(data)
        if one and was_array:
            raise CardError("", f"POST /{one} takes one card (a JSON object), not an array")
        if strict:
            refuse_unknown(cards)
        return cards, was_array

    def _cards(self, job: dict) -> tuple[list[dict], dict]:
        """The cards to work on now, and what the reply says besides (for a body: was it an array, the cards left)."""
        if job.get("body") is None:
            return _loads(job["cards"]), {}
        cards, was_array = self.parse(job["body"], job.get("strict", False), one=job["op"] if job["op"] in ("whatif", "similar") else None)
        first = job.get("first", len(cards))
        return cards[:first], {"was_array": was_array, "rest": [_dumps(c) for c in cards[first:]]}

    # -- the jobs
    def classify(self, job: dict) -> dict:
        from atmp.core.card.decode import with_warnings
        from atmp.core.classify import classify_cards

        cards, reply = self._cards(job)
        results = with_warnings(classify_cards(cards, engine="compiled", model=self.model, explain=job.get("explain", "full")), cards)
        return {**reply, "out": [_dumps(r) for r in results]}

    def validate(self, job: dict) -> dict:
        from atmp.core.classify import memberships_for
        from atmp.core.result.validate import validate_cards

        cards, reply = self._cards(job)
        reports = validate_cards(self.model, cards, memberships_for(cards, engine="compiled", model=self.model))
        return {**reply, "out": [_dumps(r) for r in reports]}

    def turtle(self, job: dict) -> dict:
        """The standard sh:ValidationReport of the whole batch, in one pyshacl run (its set-up dominates a small one)."""
        from atmp.core.classify import memberships_for
        from atmp.core.result.validate import bilingual_report, shacl_report

        cards, reply = self._cards(job)
        if not cards:
            return {**reply, "out": None}
        report = bilingual_report(self.model, shacl_report(self.model, cards, memberships_for(cards, engine="compiled", model=self.model)))
        if len(report) > self.limits["max_report_triples"]:
            raise TooLarge(f"the Turtle report would have {len(report)} triples (more than {self.limits['max_report_triples']}); split the batch or ask for JSON")
        return {**reply, "out": report.serialize(format="turtle").encode("utf-8")}

    def whatif(self, job: dict) -> dict:
        from atmp.analysis.whatif import whatif

        cards, reply = self._cards(job)
        report = whatif(cards[0], model=self.model, max_pairs=job["max_pairs"])
        options = job["options"]
        nearest = []
        for cf in report["counterfactuals"]:
            coherent = [o for o in cf["options"] if o["conforms"]]
            if coherent:
                nearest.append(
                    {
                        "boundary": cf["boundary"],
                        "field": cf["field"],
                        "from": cf["from"],
                        "to": cf["to"],
                        "size": cf["size"],
                        "options": [{"text": o["text"], "changes": o["changes"], "rule": o["rule"]} for o in coherent[:options]],
                    }
                )
        ranked = [{k: e[k] for k in ("text", "changes", "size", "keeps_nature", "plausible", "crosses")} for e in report["ranked"] if e["conforms"]]
        answer = {"id": report["id"], "result": report["result"], "variants": report["variants"], "ranked": ranked, "nearest": nearest, "unreached": report["unreached"]}
        # as starlette's JSONResponse writes it (the route answered that before)
        return {**reply, "out": json.dumps(answer, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode("utf-8")}

    def similar(self, job: dict) -> dict:
        from atmp.analysis.similar import similar

        cards, reply = self._cards(job)
        try:
            answer = similar(cards[0], k=job["k"], regime=job.get("regime"), model=self.model, catalogue=self.catalogue)
        except ValueError as exc:  # a regime the ontology does not define
            raise CardError("regime", str(exc)) from None
        return {**reply, "out": json.dumps(answer, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")}

    def report(self, job: dict) -> dict:
        from atmp.analysis.report import gather, render

        cards, reply = self._cards(job)
        return {**reply, "out": [render(d, job["lang"], job["format"], model=self.model) for d in gather(cards, model=self.model, catalogue=self.catalogue)]}

    def decode(self, job: dict) -> dict:
        """A file the workbench uploads, as the one decoder reads it (no card check: a draft may be incomplete)."""
        from atmp.core.card.decode import decode_bytes

        return {"out": _dumps(decode_bytes(job["body"], limit=self.limits["max_body_bytes"], what="file"))}

    def answer(self, job: dict) -> tuple:
        op = job.get("op")
        if op not in OPS:
            return ("error", f"unknown card job {op!r}")
        try:
            return ("ok", getattr(self, op)(job))
        except CardError as exc:
            return ("card_error", exc.to_data())
        except TooLarge as exc:
            return ("too_large", str(exc))
        except Exception:  # noqa: BLE001 - the worker answers every job; the server logs it as an incident
            return ("error", traceback.format_exc(limit=20))


def _dumps(value: object) -> bytes:
    """orjson's bytes, or the standard library's where orjson cannot (an integer beyond 64 bits in a field the schema
    leaves open: valid input, so never an internal error)."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _loads(data: bytes) -> object:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


OPS = ("classify", "validate", "turtle", "whatif", "similar", "report", "decode")


def worker_main(read_fd: int, write_fd: int, parent: int, memory_bytes: int = 0) -> None:
    """A card worker (``python -c "...worker_main(r, w, ppid)"``): receive the limits, load the rules, say ready,
    then answer jobs one at a time until None or the end of the pipe."""
    from atmp.http.pool import _watch_parent

    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    inbox, outbox = Connection(read_fd, writable=False), Connection(write_fd, readable=False)
    try:
        init = inbox.recv()
    except (EOFError, OSError):
        return
    try:
        work = CardWork(init)
    except Exception as exc:  # noqa: BLE001 - said in one line to the pool, which logs it; no traceback on stderr
        outbox.send(f"failed: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}")
        return
    outbox.send("ready")
    while True:
        try:
            job = inbox.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        reply: Any = work.answer(job)
        try:
            outbox.send(reply)
        except (BrokenPipeError, OSError):
            return
