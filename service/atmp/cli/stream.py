"""``atmp classify`` at scale: JSON Lines in and out, chunked, optionally over worker processes.

Why a module of its own: a 100,000-card batch must not sit in memory (the 64 MiB JSON limit exists
because a whole array does), and a bad line must not leave half an output behind. The contract:

* input: a JSON card or array (``parse_cards``, 64 MiB at most), or JSON Lines — one card per line,
  chosen by ``--jsonl`` or a ``.jsonl`` name; blank lines are skipped; no size limit, because only
  one chunk of cards is held at a time. JSON Lines in gives JSON Lines out (one compact result per
  line, in input order); a JSON array gives a JSON array.
* a bad card refuses the whole batch (exit 2, ``line N: field: message``), with nothing half-written:
  with ``-o FILE`` the results go to a temporary file next to it, renamed over ``FILE`` only when the
  batch is complete; to standard output from a file, every line is checked in a first pass before
  anything is classified or written. Reading standard input into standard output is the one
  streaming case: results are written as their chunk completes, so on exit 2 the lines already
  written are the results of the cards before the bad line and the consumer must discard them.
* ``--jobs N`` classifies chunks in N forked worker processes (the warm model is inherited); chunks
  are written in input order and each result is serialised the same way, so the bytes equal
  ``--jobs 1``'s.
"""

from __future__ import annotations

import gc
import itertools
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from atmp.core.card.decode import decode_bytes
from atmp.core.card.schema import CardError, validate_card
from atmp.core.rules.layout import DEFAULT_ENGINE

MAX_LINE_BYTES = 16 * 1024 * 1024  # one card; the schema's string limits keep real cards far below


class LineError(Exception):
    """A JSON Lines card that cannot be used; the message names the line and the field."""


def is_jsonl(path: str, flag: bool) -> bool:
    return flag or path.endswith(".jsonl")


def iter_jsonl(stream: IO[bytes]) -> Iterator[tuple[int, dict]]:
    """``(line number, validated card)`` per non-blank line; duplicate ids are refused like in an array.

    Each line goes through the one decoder (:func:`atmp.core.card.decode.decode_bytes`): duplicate keys at any
    depth, NaN, deep nesting, huge integers and lone surrogates are refused as in a JSON file, in the same
    words, with ``line N:`` before the field. A line is read with a bound (``readline(MAX_LINE_BYTES + 1)``),
    so input without a newline (``/dev/zero`` on standard input) is refused instead of filling memory.
    """
    seen: dict[str, int] = {}
    number = 0
    while True:
        raw = stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            break
        number += 1
        if len(raw.rstrip(b"\r\n")) > MAX_LINE_BYTES:
            raise LineError(f"line {number}: longer than {MAX_LINE_BYTES} bytes")
        if not raw.strip():
            continue
        try:
            card = validate_card(decode_bytes(raw, limit=MAX_LINE_BYTES + 2, what="line", expected="one product card (a JSON object)"))
        except CardError as exc:
            raise LineError(f"line {number}: {exc}") from None
        first = seen.setdefault(card["id"], number)
        if first != number:
            raise LineError(f"line {number}: id: duplicate id {card['id']!r} (also on line {first})")
        yield number, card


def chunks(cards: Iterator[dict], size: int) -> Iterator[list[dict]]:
    chunk: list[dict] = []
    for card in cards:
        chunk.append(card)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# --------------------------------------------------------------------------- classifying a chunk
_WORKER: dict[str, Any] = {}  # set in the parent before forking: the workers inherit it


Problem = tuple[str, str, str]  # (card id, finding code, message in English): a rule conflict or an internal error


def problems_of(results: list[dict]) -> list[Problem]:
    """The findings the path itself added (``atmp.core.rules.layout``): what ``atmp classify`` says on stderr and exits by."""
    from atmp.core.rules.layout import INTERNAL_ERROR, RULE_CONFLICT

    return [(r["id"], v["code"], v["message"]["en"]) for r in results for v in r.get("violations", []) if v.get("code") in (RULE_CONFLICT, INTERNAL_ERROR)]


def _serialise_chunk(cards: list[dict], engine: str, option: int, model=None, explain: str = "full", regimes: frozenset[str] | None = None) -> tuple[list[bytes], list[Problem]]:
    import orjson

    from atmp.core.card.decode import with_warnings
    from atmp.core.classify import classify_cards

    model = model if model is not None else _WORKER["model"]
    results = with_warnings(classify_cards(cards, engine=engine, model=model, explain=explain, regimes=regimes), cards)
    return [orjson.dumps(r, option=option) for r in results], problems_of(results)


def _worker_chunk(job: tuple[list[dict], str, int, None, str, frozenset[str] | None]) -> tuple[list[bytes], list[Problem]]:
    return _serialise_chunk(*job)


AUTO = "auto"
AUTO_MAX = 4  # --jobs auto: workers at most (each holds its own copy of what it builds; the model pages are shared)


def parse_jobs(value: str | int) -> int | str | None:
    """``--jobs``: a count of 1 or more, or :data:`AUTO`; None for anything else."""
    if isinstance(value, int):
        return value if value >= 1 else None
    text = str(value).strip().lower()
    if text == AUTO:
        return AUTO
    if not (text.isascii() and text.isdigit()):  # str.isdigit alone admits "²", which int() refuses
        return None
    return int(text) if int(text) >= 1 else None


def auto_jobs(engine: str) -> int:
    """Workers for ``--jobs auto``: one per usable core (at most :data:`AUTO_MAX`), on the default (compiled) engine where ``fork`` exists.

    The reasoner engines run a JVM per process (memory, start-up), and without ``fork`` (Windows) a
    worker would rebuild the model: both stay in this process.
    """
    import multiprocessing

    if engine != DEFAULT_ENGINE or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(cores, AUTO_MAX))


def classified(
    chunks: Iterator[list[dict]],
    engine: str,
    option: int,
    model,
    jobs: int | str,
    progress: Callable[[int], None],
    explain: str = "full",
    regimes: frozenset[str] | None = None,
    problems: list[Problem] | None = None,
) -> Iterator[list[bytes]]:
    """Serialised results per chunk, in input order, from this process or ``jobs`` forked workers.

    ``problems`` collects each chunk's rule conflicts and internal errors (:func:`problems_of`) as it is yielded.

    Workers start only once a second chunk exists: a single chunk is classified here, with no
    process start-up (``--jobs auto`` then costs a one-card run nothing).
    """
    if jobs != 1:
        first = next(chunks, None)
        if first is None:
            return
        second = next(chunks, None)
        chunks = itertools.chain([first], [] if second is None else [second], chunks)
        if second is None:
            jobs = 1
        elif jobs == AUTO:
            jobs = auto_jobs(engine)
    if jobs <= 1:  # type: ignore[operator]
        for chunk in chunks:
            out, found = _serialise_chunk(chunk, engine, option, model, explain, regimes)
            if problems is not None:
                problems.extend(found)
            progress(len(chunk))
            yield out
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    _WORKER["model"] = model
    pending = []
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork")) as pool:
        for chunk in chunks:
            pending.append((len(chunk), pool.submit(_worker_chunk, (chunk, engine, option, None, explain, regimes))))
            while len(pending) > 2 * jobs:  # a bounded window: memory stays a few chunks deep
                n, future = pending.pop(0)
                out, found = future.result()
                if problems is not None:
                    problems.extend(found)
                progress(n)
                yield out
        for n, future in pending:
            out, found = future.result()
            if problems is not None:
                problems.extend(found)
            progress(n)
            yield out


def warm(model, engine: str) -> None:
    """Compile the ontology and shapes once, then freeze the heap: collections skip the model."""
    from atmp.core.classify import evaluator_for
    from atmp.core.result.validate import compiled_shapes
    from atmp.core.rules.ontology import ATMP
    from atmp.core.warm import save

    if engine == "compiled":
        evaluator_for(model).compiled_for(frozenset({ATMP.Product}))
        compiled_shapes()
        save(model)  # for the next process (a no-op when this one came from the cache)
    gc.freeze()  # no full collection first: it scans every object (~30 ms) to free a few kB of start-up garbage


# --------------------------------------------------------------------------- output
class Output:
    """Standard output, or a temporary file renamed over the target when (and only when) complete."""

    def __init__(self, target: str | None):
        self.target = target
        self.tmp: str | None = None
        if target is None or target == "-":
            self.stream: IO[bytes] = sys.stdout.buffer
            self.target = None
        else:
            directory = Path(target).resolve().parent
            if not directory.is_dir():
                raise OSError(f"{target}: no such directory")
            fd, self.tmp = tempfile.mkstemp(prefix=".atmp-", suffix=".part", dir=directory)
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(fd, 0o666 & ~umask)  # mkstemp makes 0600; the result is an ordinary file, as a shell redirect would make it
            self.stream = os.fdopen(fd, "wb", buffering=1024 * 1024)

    def commit(self) -> None:
        self.stream.flush()
        if self.tmp is not None:
            self.stream.close()
            os.replace(self.tmp, self.target)  # type: ignore[arg-type]
            self.tmp = None

    def abort(self) -> None:
        if self.tmp is not None:
            self.stream.close()
            Path(self.tmp).unlink(missing_ok=True)
            self.tmp = None


def write_results(out: IO[bytes], pieces: Iterator[list[bytes]], mode: str, pretty: bool) -> None:
    """``mode``: ``jsonl`` (a line each), ``array`` (a JSON array, as ``atmp classify`` always wrote) or ``single``."""
    first = True
    for chunk in pieces:
        for piece in chunk:
            if mode == "jsonl" or mode == "single":
                out.write(piece + b"\n")
                continue
            out.write(b"[" if first else b",")
            out.write(b"\n" if pretty else b"")
            out.write(piece)
            first = False
    if mode == "array":
        out.write(b"]\n")
