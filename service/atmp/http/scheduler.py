"""Card work in turns: a first-come-first-served lock taken per chunk of cards, with a deadline per request.

The compiled evaluator keeps per-projection caches, so classification runs one batch at a time; holding
one lock for a whole 1,000-card batch made a one-card request wait 12.75 s behind it. Here a batch takes
the lock for ``chunk`` cards at a time and queues again, in arrival order (a ticket lock: a plain
``threading.Lock`` lets the releasing thread take it straight back), so a small request waits for at most
one chunk of each request ahead of it. A request whose deadline passes between chunks is refused with 503.
"""

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


class TooSlow(Exception):
    """A card request that used up its time limit (waiting for its turn included): 503."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class FairLock:
    """A FIFO lock: threads get it in the order they asked (tickets), optionally giving up at a deadline."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._next = 0  # next ticket to hand out
        self._serving = 0  # ticket that may hold the lock
        self._abandoned: set[int] = set()

    @contextmanager
    def hold(self, deadline: float | None = None) -> Iterator[None]:
        with self._cond:
            ticket = self._next
            self._next += 1
            while self._serving != ticket:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    self._abandoned.add(ticket)
                    raise TooSlow("waited past the time limit for the card engine")
                self._cond.wait(remaining)
        try:
            yield
        finally:
            with self._cond:
                self._serving += 1
                while self._serving in self._abandoned:  # skip the tickets of those who gave up
                    self._abandoned.discard(self._serving)
                    self._serving += 1
                self._cond.notify_all()


def in_turns(lock: FairLock, items: Sequence[T], work: Callable[[Sequence[T]], list[R]], *, chunk: int, timeout: float) -> list[R]:
    """``work`` over ``items`` in chunks, each under ``lock``; TooSlow once ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    out: list[R] = []
    for start in range(0, len(items), chunk):
        if time.monotonic() > deadline:
            raise TooSlow(f"the request took longer than the limit of {timeout:g} s ({start} of {len(items)} cards done); split the batch")
        try:
            with lock.hold(deadline):
                out.extend(work(items[start : start + chunk]))
        except TooSlow:
            raise TooSlow(f"the request waited longer than the limit of {timeout:g} s for its turn ({start} of {len(items)} cards done); try again or split the batch") from None
    return out
