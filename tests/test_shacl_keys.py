"""The compiled shapes' memo keys a list only by what a shape can tell apart, and replays each product's own values.

Products listing different values the shape does not name (two manipulations no shape mentions)
share one memo entry; a failing value node is remembered by position, so each product's result
names its own value. Checked against pyshacl on a small shapes graph, and on the real shapes with
generated cards (where list-valued paths now hit the memo).
"""

from __future__ import annotations

import pyshacl
from atmp.core.result import shacl_compiled
from atmp.core.result.shacl_compiled import CompiledShapes
from rdflib import RDF, Graph, Namespace

EX = Namespace("https://example.org/")
SH = Namespace("http://www.w3.org/ns/shacl#")
SHAPES = """
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix ex: <https://example.org/> .
ex:only_known a sh:PropertyShape ; sh:targetClass ex:Product ; sh:severity sh:Violation ; sh:path ex:uses ; sh:in ( ex:a ex:b ) .
ex:not_both a sh:NodeShape ; sh:targetClass ex:Product ; sh:severity sh:Warning ;
    sh:not [ sh:and ( [ sh:path ex:uses ; sh:qualifiedValueShape [ sh:hasValue ex:a ] ; sh:qualifiedMinCount 1 ]
                      [ sh:path ex:uses ; sh:minCount 3 ] ) ] .
"""
PRODUCTS = {"p1": (EX.a, EX.x), "p2": (EX.a, EX.y), "p3": (EX.y, EX.a, EX.x), "p4": (EX.b, EX.a), "p5": (EX.z, EX.a, EX.b), "p6": ()}


def _compiled_results() -> set:
    shapes = Graph().parse(data=SHAPES, format="turtle")
    data = {EX[p]: {EX.uses: vals} for p, vals in PRODUCTS.items()}
    return {(r.focus, r.shape, r.severity, None if r.value == r.focus else r.value) for r in CompiledShapes(shapes, EX.Product).run([EX[p] for p in PRODUCTS], data)}


def _pyshacl_results() -> set:
    shapes = Graph().parse(data=SHAPES, format="turtle")
    data = Graph()
    for p, vals in PRODUCTS.items():
        data.add((EX[p], RDF.type, EX.Product))
        for v in vals:
            data.add((EX[p], EX.uses, v))
    _, report, _ = pyshacl.validate(data, shacl_graph=shapes)
    out = set()
    for r in report.subjects(RDF.type, SH.ValidationResult):
        value = report.value(r, SH.value)
        out.add((report.value(r, SH.focusNode), report.value(r, SH.sourceShape), report.value(r, SH.resultSeverity), None if value == report.value(r, SH.focusNode) else value))
    return out


def test_each_product_reports_its_own_value():
    found = _compiled_results()
    assert (EX.p1, EX.only_known, SH.Violation, EX.x) in found
    assert (EX.p2, EX.only_known, SH.Violation, EX.y) in found
    assert {r[3] for r in found if r[0] == EX.p3 and r[1] == EX.only_known} == {EX.x, EX.y}
    assert {r[0] for r in found if r[1] == EX.not_both} == {EX.p3, EX.p5}
    assert not [r for r in found if r[0] in (EX.p4, EX.p6)]


def test_small_shapes_agree_with_pyshacl():
    assert _compiled_results() == _pyshacl_results()


def test_lists_share_memo_entries(monkeypatch):
    """p1 and p2 list different unnamed values in the same places: one evaluation serves both."""
    calls = []
    original = shacl_compiled._positions
    monkeypatch.setattr(shacl_compiled, "_positions", lambda failing, focus, on_path: calls.append(focus) or original(failing, focus, on_path))
    _compiled_results()
    assert EX.p1 in calls and EX.p2 not in calls
