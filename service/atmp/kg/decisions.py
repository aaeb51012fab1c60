"""Published decisions (EPAR class, CAT recommendation, FDA BLA/NDA/361, PMDA approval, ASRM class) in the catalogue.

Why: the EU, US and Japanese rules are only as good as their agreement with what the agencies decided.
Each catalogue card may carry ``provenance.decisions``: ``{field, value, agency, source, certainty[, year, known_limit]}``
where ``field`` is a result field of a regime block (``eu.class``, ``us.pathway``...) and ``value`` a value
the result schema allows there. The knowledge graph holds them in the asserted graph (``kg:Decision``) and
the reasoner's EU/US/JP conclusions as ``rdf:type`` in the inferred graph, so ``queries/agency-disagreements.rq``
compares the two on any SPARQL server. ``year`` is the year of the decision (``kg:year``, as for approvals);
``known_limit`` says why the rules answer otherwise where they do.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pyoxigraph as ox
from jsonschema import Draft202012Validator

from atmp.core.rules.ontology import OntologyModel
from atmp.core.rules.regimes import field_shapes
from atmp.core.rules.resources import RESULT_SCHEMA, schema

KG = "https://w3id.org/atmp-kg/kg/"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
DCT_SOURCE = ox.NamedNode("http://purl.org/dc/terms/source")


def kg(local: str) -> ox.NamedNode:
    return ox.NamedNode(KG + local)


def decidable_fields() -> dict[str, dict]:
    """Result fields a decision may state, with the result schema's rule for their value (no list fields)."""
    props = schema(RESULT_SCHEMA)["properties"]
    out = {}
    for block, spec in props.items():
        if spec.get("type") != "object" or block in schema(RESULT_SCHEMA).get("required", []):
            continue
        for key, sub in spec.get("properties", {}).items():
            if sub.get("type") != "array" and key != "explanation":
                out[f"{block}.{key}"] = sub
    return out


def check_decisions(prov: dict, vocab, fail: Callable[[str, str], None]) -> None:
    """Refuse a decision that names no result field, a value that field cannot take, or no agency/source."""
    items = prov.get("decisions", [])
    if not isinstance(items, list):
        fail("decisions", "expected a list of {field, value, agency, source, certainty}")
    fields = decidable_fields()
    for i, item in enumerate(items):
        where = f"decisions[{i}]"
        if not isinstance(item, dict):
            fail(where, "expected an object {field, value, agency, source, certainty}")
        unknown = sorted(set(item) - {"field", "value", "agency", "source", "certainty", "year", "known_limit"})
        if unknown:
            fail(f"{where}.{unknown[0]}", "unknown key; expected field, value, agency, source, certainty, year, known_limit")
        if item.get("field") not in fields:
            fail(f"{where}.field", f"unknown field {json.dumps(item.get('field'))}; expected one of: {', '.join(sorted(fields))}")
        if "value" not in item:
            fail(f"{where}.value", "required: the decided code, boolean or null")
        errors = list(Draft202012Validator(fields[item["field"]]).iter_errors(item["value"]))
        if errors:
            fail(f"{where}.value", f"{json.dumps(item['value'])} is not a value of {item['field']}: {errors[0].message}")
        if item.get("agency") not in vocab.agencies:
            fail(f"{where}.agency", f"expected one of: {', '.join(sorted(vocab.agencies))}")
        if not isinstance(item.get("source"), str) or not item["source"].strip():
            fail(f"{where}.source", "required: the public document of this decision")
        if item.get("certainty") not in vocab.certainties:
            fail(f"{where}.certainty", f"unknown code {json.dumps(item.get('certainty'))}; expected one of: {', '.join(sorted(vocab.certainties))}")
        if "year" in item:
            y = item["year"]
            if not isinstance(y, int) or isinstance(y, bool) or not 1900 <= y <= 2100:
                fail(f"{where}.year", f"expected the year of the decision (1900-2100), got {json.dumps(y)}")
        if "known_limit" in item and (not isinstance(item["known_limit"], str) or not item["known_limit"].strip()):
            fail(f"{where}.known_limit", "expected the reason the rules answer otherwise, as text")


def add_decisions(w, node: ox.NamedNode, prov: dict, vocab) -> None:
    """Write the card's decisions into the asserted graph (``w`` is graph.py's writer for it)."""
    for i, item in enumerate(prov.get("decisions", []), 1):
        d = ox.NamedNode(f"{node.value}/decision/{i}")
        w.add(node, kg("decision"), d)
        w.add(d, RDF_TYPE, kg("Decision"))
        w.text(d, kg("field"), item["field"])
        if item["value"] is not None:
            w.add(d, kg("decidedValue"), ox.Literal(item["value"]) if isinstance(item["value"], bool) else ox.Literal(str(item["value"])))
        w.add(d, kg("agency"), vocab.agencies[item["agency"]])
        w.add(d, kg("certainty"), vocab.certainties[item["certainty"]])
        w.text(d, DCT_SOURCE, item["source"])
        if item.get("year") is not None:
            w.add(d, kg("year"), ox.Literal(int(item["year"])))
        w.text(d, kg("knownLimit"), item.get("known_limit"))


def regime_types(model: OntologyModel, result: dict) -> list[ox.NamedNode]:
    """The EU/US/JP classes and crosswalk classes a result states, for the inferred graph (by resultField/resultCode)."""
    out = []
    for shape in field_shapes(model):
        block = result.get(shape.block)
        if not isinstance(block, dict) or shape.key not in block:
            continue
        value = block[shape.key]
        for rc in shape.classes:
            if (shape.kind == "flag" and value is True) or (shape.kind == "code" and value == rc.code) or (shape.kind == "list" and any(e["code"] == rc.code for e in value)):
                out.append(ox.NamedNode(str(rc.iri)))
    codes = {e["code"] for e in result.get("crosswalk", [])}
    out.extend(ox.NamedNode(str(rc.iri)) for rc in model.result_classes if rc.field == "crosswalk" and rc.code in codes)
    return out
