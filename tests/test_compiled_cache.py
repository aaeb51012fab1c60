"""The on-disk compiled model: used when valid, ignored when corrupt, stale or foreign; never changes an answer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from atmp.core.rules import cache as compiled_cache

from benchmarks.cardgen import generate_cards
from tests.conftest import FIXTURES, ROOT

ATMP = [sys.executable, "-m", "atmp.cli"]
CODE_PROBE = (
    "import sys, json\n"
    "from atmp.core.rules.ontology import load_model\n"
    "from atmp.core.rules import cache as compiled_cache\n"
    "m = load_model()\n"
    "print(json.dumps(compiled_cache.bundle_for_model(m) is not None))\n"
)


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    import os

    return {**os.environ, "ATMP_CACHE_DIR": str(tmp_path / "cache"), **extra}


def _classify(env: dict[str, str], path: Path, *options: str) -> bytes:
    done = subprocess.run([*ATMP, "classify", str(path), *options], capture_output=True, env=env, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _from_cache(env: dict[str, str]) -> bool:
    done = subprocess.run([sys.executable, "-c", CODE_PROBE], capture_output=True, env=env, timeout=300, cwd=ROOT, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture()
def cards() -> Path:
    return FIXTURES / "examples" / "cards.json"


def test_first_run_writes_the_cache_and_the_next_uses_it_with_the_same_answers(tmp_path, cards):
    env = _env(tmp_path)
    assert not _from_cache(env)
    first = _classify(env, cards)
    files = list((tmp_path / "cache").glob("*.bin"))
    assert len(files) == 1
    assert _from_cache(env)
    assert _classify(env, cards) == first
    off = _classify({**env, "ATMP_CACHE_DIR": "off"}, cards)
    assert off == first


@pytest.mark.parametrize("damage", ["flip", "truncate", "foreign"])
def test_a_damaged_cache_is_ignored_and_rewritten(tmp_path, cards, damage):
    env = _env(tmp_path)
    reference = _classify(env, cards)
    (path,) = (tmp_path / "cache").glob("*.bin")
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0xFF
    elif damage == "truncate":
        del data[len(data) // 3 :]
    else:
        data = bytearray(b"not a cache at all")
    path.write_bytes(bytes(data))
    assert not _from_cache(env), "a damaged file must not be loaded"
    assert _classify(env, cards) == reference
    assert _from_cache(env), "and the next run rewrote it"


def test_a_payload_with_a_valid_digest_but_another_key_is_refused(tmp_path, monkeypatch):
    """Copied between keys (e.g. by hand): the digest matches, the key inside does not."""
    monkeypatch.setenv("ATMP_CACHE_DIR", str(tmp_path))
    import hashlib
    import pickle

    bundle = compiled_cache.Bundle("other-key", "", "", "", None, None, None)
    payload = pickle.dumps(bundle)
    (tmp_path / "some-key.bin").write_bytes(compiled_cache.MAGIC + hashlib.sha256(payload).digest() + payload)
    assert compiled_cache._read("some-key") is None


def test_an_edited_ontology_or_shapes_file_gets_another_key(tmp_path, monkeypatch):
    ontology = ROOT / "ontology" / "atmp.ttl"
    key, _, _ = compiled_cache.key_for(ontology)
    edited = tmp_path / "atmp.ttl"
    edited.write_text(ontology.read_text(encoding="utf-8") + "\n# an edit\n", encoding="utf-8")
    assert compiled_cache.key_for(edited)[0] != key
    shapes = tmp_path / "shapes"
    shapes.mkdir()
    (shapes / "product-shapes.ttl").write_text((ROOT / "shapes" / "product-shapes.ttl").read_text(encoding="utf-8") + "\n# edit\n", encoding="utf-8")
    monkeypatch.setenv("ATMP_SHAPES", str(shapes))
    assert compiled_cache.key_for(ontology)[0] != key


def test_an_edited_ontology_is_compiled_afresh_not_served_from_the_cache(tmp_path):
    """A rule edit must change the answer even when the unedited ontology is cached."""
    env = _env(tmp_path)
    card = json.loads((FIXTURES / "examples" / "cards.json").read_text(encoding="utf-8"))[0]
    path = tmp_path / "card.json"
    path.write_text(json.dumps(card), encoding="utf-8")
    before = json.loads(_classify(env, path, "--explain", "full"))  # the full walk quotes the rule's label
    text = (ROOT / "ontology" / "atmp.ttl").read_text(encoding="utf-8")
    label = before["explanation"][0]["label"]["en"]
    assert text.count(f'"{label}"@en') == 1, "the label to edit is written once in the ontology"
    edited = tmp_path / "edited.ttl"
    edited.write_text(text.replace(f'"{label}"@en', '"an edited label"@en'), encoding="utf-8")
    after = json.loads(_classify({**env, "ATMP_ONTOLOGY": str(edited)}, path, "--explain", "full"))
    assert after["explanation"][0]["label"]["en"] == "an edited label"
    assert len(list((tmp_path / "cache").glob("*.bin"))) == 2


def test_only_the_most_recent_entries_are_kept(tmp_path):
    import os

    for i in range(compiled_cache.KEEP + 3):
        entry = tmp_path / f"{i:02d}.bin"
        entry.write_bytes(b"x")
        os.utime(entry, (1_000_000 + i, 1_000_000 + i))
    compiled_cache._prune(tmp_path)
    assert sorted(p.name for p in tmp_path.glob("*.bin")) == [f"{i:02d}.bin" for i in range(3, compiled_cache.KEEP + 3)]


def test_the_stored_terms_shapes_and_definitions_are_the_ones_parsed_afresh(tmp_path, monkeypatch, cards):
    """The cache stores rdflib terms by their parsed state (not through rdflib's constructors) and the compiled
    shapes as objects: read back, every triple, literal value and shape result must be what a fresh parse gives."""
    env = _env(tmp_path)
    _classify(env, cards)  # writes the bundle
    monkeypatch.setenv("ATMP_CACHE_DIR", str(tmp_path / "cache"))
    import io
    import pickle

    from atmp.core.card.schema import load_cards
    from atmp.core.classify import card_facts, memberships_for
    from atmp.core.result.shacl_compiled import CompiledShapes
    from atmp.core.result.validate import product_values, shapes_file
    from atmp.core.rules.ontology import ATMP
    from rdflib import BNode, Graph, Literal

    ontology = ROOT / "ontology" / "atmp.ttl"
    bundle = compiled_cache._read(compiled_cache.key_for(ontology)[0])
    assert bundle is not None and bundle.shapes_compiled is not None
    fresh = Graph().parse(ontology, format="turtle")
    named = {t for t in fresh if not any(isinstance(x, BNode) for x in t)}
    assert len(bundle.model.graph) == len(fresh) and named <= set(bundle.model.graph)  # blank nodes differ per parse
    buffer = io.BytesIO()
    compiled_cache._Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(fresh)
    again = pickle.loads(buffer.getvalue())  # noqa: S301 - the test's own bytes
    assert set(again) == set(fresh)
    stored = {t: t for t in again}
    pairs = [(x, y) for t in fresh for x, y in zip(t, stored[t], strict=True)]
    assert sum(isinstance(x, Literal) for x, _ in pairs) > 1000 and any(isinstance(x, BNode) for x, _ in pairs)
    for parsed, loaded in pairs:
        assert type(loaded) is type(parsed) and str(loaded) == str(parsed)
        if isinstance(parsed, Literal):
            assert (loaded.language, loaded.datatype, loaded.value, loaded.ill_typed) == (parsed.language, parsed.datatype, parsed.value, parsed.ill_typed)
    model = bundle.model
    batch, _ = load_cards(json.loads(cards.read_text(encoding="utf-8")) + generate_cards(60, seed=5, inconsistent_fraction=0.3))
    facts = [card_facts(model, c) for c in batch]
    data = product_values(model, batch, memberships_for(batch, model=model), facts)
    compiled = CompiledShapes(Graph().parse(shapes_file(), format="turtle"), ATMP.Product)
    results = bundle.shapes_compiled.run([f.iri for f in facts], data)
    assert results and results == compiled.run([f.iri for f in facts], data)


def test_what_each_class_reads_is_stored_and_equals_a_fresh_walk(tmp_path, monkeypatch, cards):
    """The bundle carries Evaluator.reads for every class (both ways of asking); an evaluator from a fresh
    parse walks the same answers, and one made from the bundle starts with them (a cold run walks none)."""
    env = _env(tmp_path)
    _classify(env, cards)  # writes the bundle
    monkeypatch.setenv("ATMP_CACHE_DIR", str(tmp_path / "cache"))  # read it there, not from the user's cache
    from atmp.core.classify import evaluator_for
    from atmp.core.engines.evaluator import Evaluator
    from atmp.core.engines.expressions import Definitions
    from atmp.core.rules.ontology import ATMP, load_model

    ontology = ROOT / "ontology" / "atmp.ttl"
    bundle = compiled_cache._read(compiled_cache.key_for(ontology)[0])
    assert bundle is not None
    product = frozenset({ATMP.Product})
    classes = {c for c, _types, _explaining in bundle.reads}
    assert len(classes) > 200 and {(c, product, e) for c in classes for e in (False, True)} == set(bundle.reads)
    fresh = Evaluator(Definitions.from_graph(load_model().graph))
    assert {k: fresh.reads(*k) for k in bundle.reads} == bundle.reads
    assert any(v is not None and len(v) > 10 for v in bundle.reads.values())
    compiled_cache._loaded[bundle.key] = bundle
    try:
        assert evaluator_for(bundle.model)._reads == bundle.reads
    finally:
        del compiled_cache._loaded[bundle.key]


def test_generated_code_is_cached_by_what_it_depends_on_and_never_trusted_damaged(tmp_path, monkeypatch):
    monkeypatch.setenv("ATMP_CACHE_DIR", str(tmp_path))
    built: list[str] = []

    def source(text: str):
        def make() -> str:
            built.append(text)
            return f"ANSWER = {text!r}\n"

        return make

    def answer(code) -> str:
        namespace: dict = {}
        exec(code, namespace)  # noqa: S102 - the test's own source
        return namespace["ANSWER"]

    assert answer(compiled_cache.cached_code("probe", ("a",), source("a"))) == "a"
    assert answer(compiled_cache.cached_code("probe", ("a",), source("a"))) == "a"
    assert built == ["a"], "the second call reads the file"
    assert answer(compiled_cache.cached_code("probe", ("b",), source("b"))) == "b", "other inputs, other code"
    for path in tmp_path.glob("probe-*.code"):
        data = bytearray(path.read_bytes())
        data[-3] ^= 0xFF
        path.write_bytes(bytes(data))
    assert answer(compiled_cache.cached_code("probe", ("a",), source("a"))) == "a"
    assert built == ["a", "b", "a"], "a damaged file is compiled afresh"
    monkeypatch.setenv("ATMP_CACHE_DIR", "off")
    assert answer(compiled_cache.cached_code("probe", ("a",), source("a"))) == "a" and built[-1] == "a" and len(built) == 4
