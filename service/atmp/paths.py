"""Where the project's rule files are, so that a copy of the ontology can replace the default."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parents[1]
SCHEMA_DIR = PACKAGE_DIR / "schemas"


def _dir(env: str, name: str) -> Path:
    return Path(os.environ[env]) if env in os.environ else PROJECT_ROOT / name


def ontology_file() -> Path:
    """The edited ontology source; ``ATMP_ONTOLOGY`` points elsewhere for rule-change drills."""
    return Path(os.environ.get("ATMP_ONTOLOGY", PROJECT_ROOT / "ontology" / "atmp.ttl"))


def shapes_dir() -> Path:
    return _dir("ATMP_SHAPES", "shapes")


def queries_dir() -> Path:
    return _dir("ATMP_QUERIES", "queries")


def catalogue_dir() -> Path:
    """Real product cards with provenance (``ATMP_CATALOGUE`` points at another folder)."""
    return _dir("ATMP_CATALOGUE", "catalogue")
