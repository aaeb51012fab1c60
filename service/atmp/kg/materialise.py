"""The asserted and inferred named graphs, as pyoxigraph quads.

* ``asserted`` — what the product cards say (the same facts SHACL validates, see
  :func:`atmp.core.result.validate.data_graph`), labels and provenance;
* ``inferred`` — each product's classification as ``rdf:type`` of the ontology's result classes, found
  through their ``atmp:resultField``/``atmp:resultCode``/``atmp:criterionNumber`` annotations (never through
  names known to Python), and the result's borderline entries, violations and explanations as resources.

:func:`materialise` fills a store with the three graphs; the inferred graph is built from
:func:`atmp.core.classify.classify_cards` results, so any engine can fill it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

import pyoxigraph as ox
from rdflib import URIRef

from atmp.core.rules.ontology import ATMP, OntologyModel

from .catalogue import Vocabulary
from .terms import BASE, DCT_SOURCE, GRAPHS, RDF_TYPE, RDFS_COMMENT, RDFS_LABEL, kg, product_node, to_ox, valid_iri


class _Writer:
    """Collects quads for one named graph."""

    def __init__(self, graph: ox.NamedNode):
        self.graph = graph
        self.quads: list[ox.Quad] = []

    def add(self, s, p, o) -> None:
        self.quads.append(ox.Quad(s, p, o, self.graph))

    def text(self, s, p, value: str | None, language: str | None = None) -> None:
        if value is not None and value != "":
            self.add(s, p, ox.Literal(value, language=language) if language else ox.Literal(value))

    def bilingual(self, s, p, texts: Mapping[str, str] | None) -> None:
        for lang in ("en", "zh"):
            if texts and texts.get(lang):
                self.add(s, p, ox.Literal(texts[lang], language=lang))


def _asserted(model: OntologyModel, cards: list[dict], vocab: Vocabulary) -> list[ox.Quad]:
    from atmp.core.result.validate import data_graph

    w = _Writer(GRAPHS["asserted"])
    for s, p, o in data_graph(model, cards):
        w.add(to_ox(s), to_ox(p), to_ox(o))
    for card in cards:
        node = product_node(card["id"])
        w.text(node, ox.NamedNode(str(ATMP.cardId)), card["id"])
        w.bilingual(node, RDFS_LABEL, card.get("label"))
        prov = card.get("provenance")
        if not isinstance(prov, dict):
            continue
        w.text(node, DCT_SOURCE, prov.get("source"))
        if prov.get("url"):
            w.add(node, DCT_SOURCE, ox.NamedNode(prov["url"]))
        if prov.get("status") in vocab.statuses:
            w.add(node, kg("status"), vocab.statuses[prov["status"]])
        w.text(node, kg("country"), prov.get("country"))
        approvals = []
        if prov.get("agency") in vocab.agencies:
            approvals.append({"agency": prov["agency"], "year": prov.get("year"), "source": prov.get("url")})
        approvals.extend(a for a in prov.get("approvals", []) if a.get("agency") in vocab.agencies)
        for item in approvals:
            year = item.get("year")
            approval = ox.NamedNode(f"{node.value}/approval/{item['agency']}" + (f"-{year}" if year is not None else ""))
            w.add(node, kg("approval"), approval)
            w.add(approval, RDF_TYPE, kg("Approval"))
            w.add(approval, kg("agency"), vocab.agencies[item["agency"]])
            if year is not None:
                w.add(approval, kg("year"), ox.Literal(int(year)))
            source = item.get("source")
            if source:
                w.add(approval, DCT_SOURCE, ox.NamedNode(source) if valid_iri(source) else ox.Literal(source))
        from atmp.kg.decisions import add_decisions

        add_decisions(w, node, prov, vocab)
    return w.quads


@dataclass(frozen=True)
class _ResultClasses:
    """The ontology's result classes, found through their annotations."""

    single: dict[tuple[str, str], ox.NamedNode]  # (result field, code) -> class
    criteria: dict[int, ox.NamedNode]
    atmp: ox.NamedNode | None
    by_local: dict[str, ox.NamedNode]  # local name of any named class -> class (for explanation rules)

    @classmethod
    def of(cls, model: OntologyModel) -> _ResultClasses:
        from rdflib import OWL, RDF

        single: dict[tuple[str, str], ox.NamedNode] = {}
        criteria: dict[int, ox.NamedNode] = {}
        atmp = None
        for rc in model.result_classes:
            node = ox.NamedNode(str(rc.iri))
            if rc.field == "atmp":
                atmp = node
            elif rc.field == "tianjin.criteria" and rc.number is not None:
                criteria[rc.number] = node
            elif rc.code is not None:
                single[(rc.field, rc.code)] = node
        by_local = {}
        for c in model.graph.subjects(RDF.type, OWL.Class):
            if isinstance(c, URIRef):
                by_local.setdefault(re.split(r"[/#]", str(c))[-1], ox.NamedNode(str(c)))
        return cls(single, criteria, atmp, by_local)


def _literal_value(value) -> ox.Literal:
    if isinstance(value, bool):
        return ox.Literal(value)
    if isinstance(value, int):
        return ox.Literal(value)
    return ox.Literal(str(value))


class _Reasons:
    """Reasons are shared: "meets: X" or "substance.kind = cells" reads the same in every explanation.

    Each distinct reason becomes one resource with a readable IRI (``reason/meets/Rule``,
    ``reason/fails/Rule``, ``reason/fact/field/value``, ``reason/absent/field``), suffixed ``-2``, ``-3``...
    when the same key carries different wording.
    """

    def __init__(self) -> None:
        self._by_content: dict[str, ox.NamedNode] = {}
        self._content: dict[ox.NamedNode, dict] = {}

    def node(self, reason: dict) -> ox.NamedNode:
        content = json.dumps(reason, sort_keys=True, ensure_ascii=False)
        if content in self._by_content:
            return self._by_content[content]
        if "rule" in reason:
            key = f"{'meets' if reason.get('holds', True) else 'fails'}/{reason['rule']}"
        elif reason.get("value") is None:
            key = f"absent/{reason.get('field')}"
        else:
            value = reason["value"]
            key = f"fact/{reason.get('field')}/{str(value).lower() if isinstance(value, bool) else value}"
        base = BASE + "reason/" + quote(key, safe="/_.-")
        iri, n = ox.NamedNode(base), 1
        while iri in self._content:
            n += 1
            iri = ox.NamedNode(f"{base}-{n}")
        self._by_content[content] = iri
        self._content[iri] = reason
        return iri

    def items(self):
        return self._content.items()


def _inferred(model: OntologyModel, results: list[dict], engine: str) -> list[ox.Quad]:
    classes = _ResultClasses.of(model)
    reasons = _Reasons()
    w = _Writer(GRAPHS["inferred"])
    w.text(GRAPHS["inferred"], kg("engine"), engine)
    w.text(GRAPHS["inferred"], kg("ontologyVersion"), model.version_iri or None)
    for result in results:
        node = product_node(result["id"])
        types: list[ox.NamedNode] = []
        if result["atmp"] and classes.atmp is not None:
            types.append(classes.atmp)
        for fld, code in (
            ("exclusion", result["exclusion"]),
            ("nmpa.class", result["nmpa"]["class"]),
            ("nmpa.subclass", result["nmpa"]["subclass"]),
            ("tianjin.category", result["tianjin"]["category"]),
            ("tianjin.subcategory", result["tianjin"]["subcategory"]),
            ("tianjin.risk_tier", result["tianjin"]["risk_tier"]),
        ):
            if code is not None:
                types.append(classes.single[(fld, code)])
        types.extend(classes.criteria[n] for n in result["tianjin"]["criteria"])
        for entry in result["borderline"]:
            rule = classes.single.get(("borderline", entry["code"]))
            if rule is not None:
                types.append(rule)
        from atmp.kg.decisions import regime_types

        types.extend(regime_types(model, result))
        for t in dict.fromkeys(types):
            w.add(node, RDF_TYPE, t)
        w.add(node, kg("conforms"), ox.Literal(bool(result["conforms"])))
        for entry in result["borderline"]:
            b = ox.NamedNode(f"{node.value}/borderline/{entry['code']}")
            w.add(node, kg("borderline"), b)
            w.add(b, RDF_TYPE, kg("BorderlineEntry"))
            w.text(b, kg("code"), entry["code"])
            w.text(b, kg("severity"), entry.get("severity"))
            w.bilingual(b, RDFS_COMMENT, entry.get("message"))
            w.text(b, DCT_SOURCE, entry.get("source"))
            rule = classes.single.get(("borderline", entry["code"]))
            if rule is not None:
                w.add(b, kg("rule"), rule)
        for i, entry in enumerate(result["violations"], 1):
            v = ox.NamedNode(f"{node.value}/violation/{i}")
            w.add(node, kg("violation"), v)
            w.add(v, RDF_TYPE, kg("Violation"))
            w.text(v, kg("code"), entry.get("code"))
            w.text(v, kg("path"), entry.get("path"))
            w.text(v, kg("severity"), entry.get("severity"))
            w.bilingual(v, RDFS_COMMENT, entry.get("message"))
            w.text(v, DCT_SOURCE, entry.get("source"))
        for i, entry in enumerate(result["explanation"], 1):
            e = ox.NamedNode(f"{node.value}/explanation/{i}")
            w.add(node, kg("explanation"), e)
            w.add(e, RDF_TYPE, kg("Explanation"))
            w.add(e, kg("order"), ox.Literal(i))
            w.text(e, kg("conclusion"), entry["conclusion"])
            if entry.get("rule") in classes.by_local:
                w.add(e, kg("rule"), classes.by_local[entry["rule"]])
            w.bilingual(e, RDFS_LABEL, entry.get("label"))
            w.bilingual(e, RDFS_COMMENT, entry.get("text"))
            w.text(e, DCT_SOURCE, entry.get("source"))
            for reason in entry.get("because", []):
                w.add(e, kg("because"), reasons.node(reason))
    for r, reason in reasons.items():
        w.add(r, RDF_TYPE, kg("Reason"))
        if reason.get("rule") in classes.by_local:
            w.add(r, kg("rule"), classes.by_local[reason["rule"]])
        if "holds" in reason:
            w.add(r, kg("holds"), ox.Literal(bool(reason["holds"])))
        w.text(r, kg("field"), reason.get("field"))
        if reason.get("value") is not None:
            w.add(r, kg("value"), _literal_value(reason["value"]))
        w.bilingual(r, RDFS_LABEL, reason)
        w.text(r, DCT_SOURCE, reason.get("source"))
    return w.quads


def materialise(store: ox.Store, model: OntologyModel, cards: list[dict], results: list[dict], vocab: Vocabulary, engine: str) -> None:
    """Load the ontology and vocabulary into the ontology graph, then the asserted and inferred graphs."""
    ontology_nt = model.graph.serialize(format="nt", encoding="utf-8")
    store.load(input=ontology_nt, format=ox.RdfFormat.N_TRIPLES, to_graph=GRAPHS["ontology"])
    store.extend(ox.Quad(t.subject, t.predicate, t.object, GRAPHS["ontology"]) for t in vocab.triples)
    store.extend(_asserted(model, cards, vocab))
    store.extend(_inferred(model, results, engine))
