"""The compiled model on disk, so a cold ``atmp classify`` of one card skips parsing and compiling.

Why: a fresh process spends ~0.25 s before its first answer parsing the ontology (rdflib's Turtle
parser), reading the class definitions and generating + compiling their Python
(:mod:`atmp.core.compiled`) — work whose result depends only on the rule files. This module stores
that result — the :class:`OntologyModel` (with its graph), the shapes graph, the parsed
:class:`Definitions` and the compiled code objects — in one file, keyed by a SHA-256 over the
ontology's and the shapes' bytes, the package version and the Python and rdflib versions. An edited
ontology or shapes file has another key, so it is compiled afresh; old entries are simply not read.

The file is never trusted blindly: it starts with a magic line and the SHA-256 of the payload, and
the payload names its own key; a short, corrupt, foreign or unreadable file is ignored (and
rewritten), and any failure while loading falls back to compiling. The cache is pickle, which runs
code when loaded: the directory must be the user's own (``$ATMP_CACHE_DIR``, else
``$XDG_CACHE_HOME/atmp-kg``, else ``~/.cache/atmp-kg``). ``ATMP_CACHE_DIR=off`` disables it.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import pickle
import sys
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

MAGIC = b"ATMP-KG compiled model v1\n"
_loaded: dict[str, Bundle | None] = {}  # key -> bundle (None: looked, nothing usable)


@dataclass
class Bundle:
    """Everything the card path builds from the rule files, ready to use."""

    key: str
    ontology: str  # resolved path the model was read from
    shapes: str  # resolved path of the shapes file
    shapes_digest: str
    model: Any  # OntologyModel
    shapes_graph: Any  # rdflib.Graph of the shapes
    definitions: Any  # evaluator.Definitions
    code: dict[frozenset, bytes] = field(default_factory=dict)  # asserted types -> marshalled code of the compiled classes


def cache_dir() -> Path | None:
    """Where the cache lives, or None when ``ATMP_CACHE_DIR=off``."""
    chosen = os.environ.get("ATMP_CACHE_DIR")
    if chosen:
        return None if chosen.lower() in {"off", "0", "none"} else Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "atmp-kg"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _versions() -> str:
    import rdflib

    from atmp import __version__

    return f"atmp {__version__}; python {sys.version}; rdflib {rdflib.__version__}; cache {MAGIC!r}"


def _shapes_path() -> Path:
    from .validate import shapes_file

    return shapes_file().resolve()


def key_for(ontology: Path) -> tuple[str, Path, str] | None:
    """(key, shapes path, shapes digest) for an ontology file and the current shapes, None if unreadable."""
    try:
        shapes = _shapes_path()
        shapes_digest = _digest(shapes)
        h = hashlib.sha256()
        for part in (_versions(), str(ontology.resolve()), _digest(ontology), str(shapes), shapes_digest):
            h.update(part.encode("utf-8") + b"\0")
        return h.hexdigest(), shapes, shapes_digest
    except OSError:
        return None


def _file(key: str) -> Path | None:
    directory = cache_dir()
    return None if directory is None else directory / f"{key}.bin"


def lookup(ontology: Path) -> Bundle | None:
    """The cached bundle for this ontology (and the current shapes), or None: compile."""
    found = key_for(ontology)
    if found is None:
        return None
    key = found[0]
    if key in _loaded:
        return _loaded[key]
    bundle = _read(key)
    _loaded[key] = bundle
    return bundle


def _read(key: str) -> Bundle | None:
    path = _file(key)
    if path is None:
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return None
    head = len(MAGIC) + 32
    if len(data) < head or not data.startswith(MAGIC) or hashlib.sha256(data[head:]).digest() != data[len(MAGIC) : head]:
        return None  # foreign, truncated or corrupt: not trusted
    try:
        bundle = pickle.loads(data[head:])  # noqa: S301 - our own file, checked above, in the user's cache dir
    except Exception:  # noqa: BLE001 - a cache that does not load is a cache miss
        return None
    if not isinstance(bundle, Bundle) or bundle.key != key:
        return None
    return bundle


def bundle_for_model(model: Any) -> Bundle | None:
    """The loaded bundle this very model object came from, if any."""
    for bundle in _loaded.values():
        if bundle is not None and bundle.model is model:
            return bundle
    return None


def shapes_graph(path: Path) -> Any | None:
    """The shapes graph of a loaded bundle when it was read from this same, unchanged file."""
    for bundle in _loaded.values():
        if bundle is not None and bundle.shapes == str(path.resolve()):
            try:
                if _digest(path) == bundle.shapes_digest:
                    return bundle.shapes_graph
            except OSError:
                return None
    return None


def code_for(model: Any, types: frozenset) -> Any | None:
    """The cached code object of the compiled classes for ``types``, or None."""
    bundle = bundle_for_model(model)
    if bundle is None or types not in bundle.code:
        return None
    try:
        return marshal.loads(bundle.code[types])
    except (ValueError, EOFError, TypeError):
        return None


def save(model: Any) -> bool:
    """Store what the card path has compiled for ``model``; True when a file was written.

    Called once the model, the shapes and the compiled classes exist (``atmp classify`` warms them
    before classifying). A bundle already loaded from disk is not written again.
    """
    if bundle_for_model(model) is not None or cache_dir() is None:
        return False
    from .classify import evaluator_for
    from .validate import load_shapes

    found = key_for(Path(model.path))
    if found is None:
        return False
    key, shapes, shapes_digest = found
    ev = evaluator_for(model)
    code = {types: marshal.dumps(cc.code) for types, cc in ev._compiled.items()}
    clean = replace(model, _labels={}, _sources={}, _definitions={}, memo={})
    bundle = Bundle(key, str(Path(model.path).resolve()), str(shapes), shapes_digest, clean, load_shapes(), ev.defs, code)
    try:
        payload = pickle.dumps(bundle, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - something unpicklable in an edited model: run uncached
        return False
    path = _file(key)
    assert path is not None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        with os.fdopen(fd, "wb") as out:
            out.write(MAGIC + hashlib.sha256(payload).digest() + payload)
        os.replace(tmp, path)
    except OSError:
        return False
    return True
