"""Where the rule files are: shipped in the package (:mod:`atmp.rules`), each overridable by environment.

Everything that reads a rule file asks here, so an installed wheel, an editable checkout and a rule-change
drill (``ATMP_ONTOLOGY=edited.ttl``) all resolve the same way. The package's files are found through
:mod:`importlib.resources`, never by counting parent folders of a module.
"""

from __future__ import annotations

import json
import os
from functools import cache
from importlib.resources import files
from pathlib import Path

from .files import FileRefused, read_text

ENV = {
    "ontology": "ATMP_ONTOLOGY",
    "shapes": "ATMP_SHAPES",
    "queries": "ATMP_QUERIES",
    "catalogue": "ATMP_CATALOGUE",
    "words": "ATMP_WORDS",
}


def packaged(name: str) -> Path:
    """A folder of :mod:`atmp.rules` as a real path (wheels are installed unzipped, so it always is one)."""
    return Path(str(files("atmp.rules") / name))


def _dir(name: str) -> Path:
    env = ENV[name]
    return Path(os.environ[env]) if os.environ.get(env) else packaged(name)


def ontology_file() -> Path:
    """The merged ontology every tool reads; ``ATMP_ONTOLOGY`` points elsewhere for rule-change drills."""
    env = os.environ.get(ENV["ontology"])
    return Path(env) if env else packaged("ontology") / "atmp.ttl"


def ontology_dir() -> Path:
    """The shipped ontology folder (QC checks, templates, the CHANGELOG), whatever ``ATMP_ONTOLOGY`` says."""
    return packaged("ontology")


def qc_dir() -> Path:
    return ontology_dir() / "qc"


def shapes_dir() -> Path:
    return _dir("shapes")


SHAPES_FILE = "product-shapes.ttl"


def shapes_file() -> Path:
    """The product shapes file (``ATMP_SHAPES`` may point at an edited copy of the shapes folder)."""
    return shapes_dir() / SHAPES_FILE


def queries_dir() -> Path:
    return _dir("queries")


def catalogue_dir() -> Path:
    """Real product cards with provenance (``ATMP_CATALOGUE`` points at another folder)."""
    return _dir("catalogue")


def catalogue_file() -> Path:
    return catalogue_dir() / "products.json"


def schema_file(name: str) -> Path:
    """``product-card.schema.json`` or ``result.schema.json``: the contract's machine form."""
    return packaged("schemas") / name


@cache
def schema(name: str) -> dict:
    """The parsed schema (cached: callers must not mutate it; deep-copy to change one)."""
    return json.loads(schema_file(name).read_text(encoding="utf-8"))


CARD_SCHEMA = "product-card.schema.json"
RESULT_SCHEMA = "result.schema.json"


WORD_LANGUAGES = ("en", "zh")


class WordsError(FileRefused):
    """A words file that is not one text per language for every entry (a packaging or editing slip, named where);
    a refused file, so the CLI says it in one line with exit 2 and the service refuses to start, never a traceback."""


def read_words(path: Path) -> dict[str, dict[str, str]]:
    """One words file, checked: every entry gives one text for each language (a missing language is refused here,
    naming the file and the entry, rather than printed as a blank or a KeyError later)."""
    try:
        data = json.loads(read_text(path, what="words file"))
    except json.JSONDecodeError as exc:
        raise WordsError(path, f"not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    entries = data.get("words") if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        raise WordsError(path, "expected an object with 'words'")
    for key, entry in entries.items():
        if not isinstance(entry, dict) or sorted(entry) != sorted(WORD_LANGUAGES) or not all(isinstance(v, str) for v in entry.values()):
            raise WordsError(path, f"{key!r} must give one text for each of {', '.join(WORD_LANGUAGES)}")
    return entries


@cache
def words(name: str) -> dict[str, dict[str, str]]:
    """The fixed words of one surface (``words/<name>.json``: the report's headings, the tables' column names, how a
    reason reads), each entry ``{"en": …, "zh": …}``. They are data beside the rules, so a translator edits a file,
    not Python (``ATMP_WORDS`` points at an edited copy of the folder). Cached: do not mutate."""
    return read_words(_dir("words") / f"{name}.json")


def words_by_language(name: str) -> dict[str, dict[str, str]]:
    """The same words turned around, language first (``{"en": {key: text}}``), for a renderer working in one language."""
    return {lang: {key: entry[lang] for key, entry in words(name).items()} for lang in WORD_LANGUAGES}
