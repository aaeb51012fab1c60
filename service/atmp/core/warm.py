"""Warm start: everything the card path builds from the rule files, built once and stored for the next process.

Why a module of its own, at the top of :mod:`atmp.core`: a bundle holds the model (:mod:`atmp.core.rules`), the
compiled classes and what each class reads (:mod:`atmp.core.engines`) and the compiled shapes
(:mod:`atmp.core.result`), so only a module above all of them can gather it; :mod:`atmp.core.rules.cache`
stores and reads bundles and knows none of these.
"""

from __future__ import annotations

import marshal
from dataclasses import replace
from pathlib import Path
from typing import Any

from atmp.core.classify import evaluator_for
from atmp.core.result.validate import compiled_shapes, load_shapes
from atmp.core.rules.cache import Bundle, bundle_for_model, cache_dir, key_for, write


def save(model: Any) -> bool:
    """Store what the card path has compiled for ``model``; True when a file was written.

    Called once the model, the shapes and the compiled classes exist (``atmp classify`` warms them
    before classifying). A bundle already loaded from disk is not written again.
    """
    if bundle_for_model(model) is not None or cache_dir() is None:
        return False
    found = key_for(Path(model.path))
    if found is None:
        return False
    key, shapes, shapes_digest = found
    ev = evaluator_for(model)
    code = {types: marshal.dumps(cc.code) for types, cc in ev._compiled.items()}
    # what each class reads, for the types compiled: a one-card run asks ~60 of these (~25 ms of walks);
    # a pure function of the definitions, so stored with them (the same key covers both)
    for types, cc in ev._compiled.items():
        for cls in cc.classes:
            ev.reads(cls, types)
            ev.reads(cls, types, explaining=True)
    clean = replace(model, _labels={}, _sources={}, _definitions={}, memo={})
    return write(Bundle(key, str(Path(model.path).resolve()), str(shapes), shapes_digest, clean, load_shapes(), ev.defs, code, compiled_shapes(), dict(ev._reads)))
