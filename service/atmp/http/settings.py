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
    ontology: Path | None = None
    catalogue: Path | None = None

    ENV = {
        "max_batch": "ATMP_MAX_BATCH",
        "max_body_bytes": "ATMP_MAX_BODY_BYTES",
        "sparql_timeout": "ATMP_SPARQL_TIMEOUT",
        "sparql_max_results": "ATMP_SPARQL_MAX_RESULTS",
        "sparql_workers": "ATMP_SPARQL_WORKERS",
    }

    def __post_init__(self) -> None:
        for name in ("max_batch", "max_body_bytes", "sparql_max_results", "sparql_workers"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        if not isinstance(self.sparql_timeout, int | float) or not 0 < self.sparql_timeout < 86_400:
            raise ValueError(f"sparql_timeout must be a number of seconds above 0 and below a day, got {self.sparql_timeout!r}")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> "Settings":
        """Defaults, then environment variables, then ``overrides`` that are not None (the CLI flags)."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for name, var in cls.ENV.items():
            raw = env.get(var)
            if raw is None or raw.strip() == "":
                continue
            kind = float if name == "sparql_timeout" else int
            try:
                values[name] = kind(raw)
            except ValueError:
                raise ValueError(f"{var}: expected {'a number' if kind is float else 'an integer'}, got {raw!r}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def public(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("ontology", "catalogue")}
