"""The service's limits, from defaults, ``ATMP_…`` environment variables and ``atmp serve`` flags.

A module of its own so that ``atmp serve`` can check its flags, and a test can build settings, without
importing FastAPI or loading anything.
"""

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Settings:
    """Service limits; each can be set by an environment variable (``ATMP_…``) or an ``atmp serve`` flag."""

    max_batch: int = 1000  # cards per POST /classify or /validate
    max_body_bytes: int = 4 * 1024 * 1024  # request body, counted as it arrives
    sparql_timeout: float = 10.0  # seconds per query (and for a free worker)
    sparql_max_results: int = 10_000  # solutions or triples per query
    sparql_workers: int = 2  # worker processes holding the graph
    sparql_queue: int = 8  # SPARQL requests that may wait for a worker (without a thread); the next gets 503 + Retry-After
    sparql_max_bytes: int = 64 * 1024 * 1024  # bytes of one SPARQL answer
    sparql_worker_memory: int = 1024  # MiB of address space a worker may add while answering (RLIMIT_AS)
    card_timeout: float = 30.0  # seconds per card request (/classify, /validate, /whatif, /report), waiting for a worker included
    card_chunk: int = 50  # cards per job: a one-card request waits for at most one chunk of a big batch
    card_workers: int = 2  # processes that do card work (the server's event loop never does); long work takes all but one
    max_report_triples: int = 200_000  # triples of a Turtle validation report (a 1,000-card report is ~15 MB)
    body_timeout: float = 30.0  # seconds to wait for the next part of a request body
    header_timeout: float = 10.0  # seconds for a request line and headers to arrive (408 after; atmp.http.connections)
    keep_alive_timeout: float = 5.0  # seconds an idle kept-alive connection stays open
    max_connections: int = 256  # open connections; the next is answered 503 + Retry-After at once and closed
    max_header_bytes: int = 16 * 1024  # request line and headers (400 beyond)
    ontology: Path | None = None
    catalogue: Path | None = None

    ENV = {
        "max_batch": "ATMP_MAX_BATCH",
        "max_body_bytes": "ATMP_MAX_BODY_BYTES",
        "sparql_timeout": "ATMP_SPARQL_TIMEOUT",
        "sparql_max_results": "ATMP_SPARQL_MAX_RESULTS",
        "sparql_workers": "ATMP_SPARQL_WORKERS",
        "sparql_queue": "ATMP_SPARQL_QUEUE",
        "sparql_max_bytes": "ATMP_SPARQL_MAX_BYTES",
        "sparql_worker_memory": "ATMP_SPARQL_WORKER_MEMORY",
        "card_timeout": "ATMP_CARD_TIMEOUT",
        "card_chunk": "ATMP_CARD_CHUNK",
        "card_workers": "ATMP_CARD_WORKERS",
        "max_report_triples": "ATMP_MAX_REPORT_TRIPLES",
        "body_timeout": "ATMP_BODY_TIMEOUT",
        "header_timeout": "ATMP_HEADER_TIMEOUT",
        "keep_alive_timeout": "ATMP_KEEP_ALIVE_TIMEOUT",
        "max_connections": "ATMP_MAX_CONNECTIONS",
        "max_header_bytes": "ATMP_MAX_HEADER_BYTES",
    }
    SECONDS = ("sparql_timeout", "card_timeout", "body_timeout", "header_timeout", "keep_alive_timeout")

    def __post_init__(self) -> None:
        for name in self.ENV:
            value = getattr(self, name)
            if name in self.SECONDS:
                if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 86_400:
                    raise ValueError(f"{name} must be a number of seconds above 0 and below a day, got {value!r}")
            elif isinstance(value, bool) or not isinstance(value, int) or value < (0 if name == "sparql_queue" else 1):
                raise ValueError(f"{name} must be a {'non-negative' if name == 'sparql_queue' else 'positive'} integer, got {value!r}")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> "Settings":
        """Defaults, then environment variables, then ``overrides`` that are not None (the CLI flags)."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for name, var in cls.ENV.items():
            raw = env.get(var)
            if raw is None or raw.strip() == "":
                continue
            kind = float if name in cls.SECONDS else int
            try:
                values[name] = kind(raw)
            except ValueError:
                raise ValueError(f"{var}: expected {'a number' if kind is float else 'an integer'}, got {raw!r}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def public(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("ontology", "catalogue")}
