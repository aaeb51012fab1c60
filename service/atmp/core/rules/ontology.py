"""The ontology as the rule book: what each class means for the result, and how card codes map to IRIs.

Nothing here decides anything about a product. It reads annotations the ontology carries
(``atmp:resultField``, ``atmp:resultCode``, ``atmp:criterionNumber``, ``atmp:cardField``,
``atmp:code``, ``atmp:valueWhenAbsent``) so that editing the ontology in Protégé changes the
answers without touching Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

from rdflib import OWL, RDF, RDFS, XSD, Graph, Literal, URIRef

from atmp.core.rules import resources as paths
from atmp.core.rules.layout import RISK_TIER as RISK_TIER_FIELD
from atmp.core.rules.namespaces import ATMP, DCT, PRODUCT_NS, SKOS, local_name


class OntologyError(RuntimeError):
    """The ontology file cannot serve as a rule book (parse error or inconsistent annotations)."""


def bilingual(graph: Graph, subject: URIRef, predicate: URIRef) -> dict[str, str]:
    """Literals of one predicate keyed by language tag (``en``, ``zh``)."""
    out: dict[str, str] = {}
    for value in graph.objects(subject, predicate):
        if isinstance(value, Literal) and value.language and value.language not in out:
            out[value.language] = str(value)
    return out


@dataclass(frozen=True)
class CardProperty:
    """One card field and the OWL property that carries it."""

    field: str  # dotted card path, e.g. "substance.kind"
    iri: URIRef
    is_object: bool
    functional: bool
    default: URIRef | bool | None
    codes: dict[str, URIRef]  # card code -> vocabulary individual (object properties only)

    @cached_property
    def section(self) -> str:
        return self.field.split(".", 1)[0]

    @cached_property
    def key(self) -> str:
        return self.field.split(".", 1)[1]


@dataclass(frozen=True)
class ResultClass:
    """A class whose membership fills a field of the result."""

    iri: URIRef
    field: str
    code: str | None
    number: int | None
    severity: str | None
    label: dict[str, str]
    definition: dict[str, str]
    source: str
    rank: int | None = None  # atmp:rank: the value's place in its field's order (tiers: high first)


@dataclass(frozen=True)
class ResultFieldWords:
    """A result field in words (``atmp:ResultField``): its label, and how an explanation joins reasons to a conclusion in it."""

    path: str
    label: dict[str, str]
    verb: dict[str, str]  # atmp:conclusionVerb ("so it is classed as")
    negation: dict[str, str]  # atmp:negationVerb ("so it is not an"), for a class the product is not in


@dataclass(eq=False)
class OntologyModel:
    path: Path
    graph: Graph
    properties: list[CardProperty] = field(default_factory=list)
    result_classes: list[ResultClass] = field(default_factory=list)
    code_of: dict[URIRef, str] = field(default_factory=dict)
    version_iri: str = ""
    version_info: str = ""  # owl:versionInfo: the rule version results and reports carry (see rule_version)
    _labels: dict[URIRef, dict[str, str]] = field(default_factory=dict, repr=False)
    _sources: dict[URIRef, str] = field(default_factory=dict, repr=False)
    _definitions: dict[URIRef, dict[str, str]] = field(default_factory=dict, repr=False)
    memo: dict = field(default_factory=dict, repr=False)  # per-model caches of derived renderings (see atmp.core.explain.walk)

    # Labels, sources and definitions are read for every explanation line; the graph is immutable
    # once loaded, so each is looked up once (copies are returned: callers may edit their result).
    def label(self, iri: URIRef) -> dict[str, str]:
        if iri not in self._labels:
            self._labels[iri] = bilingual(self.graph, iri, RDFS.label) or {"en": local_name(iri), "zh": local_name(iri)}
        return dict(self._labels[iri])

    def source(self, iri: URIRef) -> str:
        if iri not in self._sources:
            self._sources[iri] = "; ".join(sorted(str(s) for s in self.graph.objects(iri, DCT.source)))
        return self._sources[iri]

    def definition(self, iri: URIRef) -> dict[str, str]:
        if iri not in self._definitions:
            self._definitions[iri] = bilingual(self.graph, iri, SKOS.definition)
        return dict(self._definitions[iri])

    def field_words(self, path: str) -> ResultFieldWords:
        """A result field's words from its ``atmp:ResultField`` (QC's missing-result-field check makes sure there is one);
        a field without one reads as its path, so nothing breaks on an edited copy."""
        found = self.memo.get("field_words")
        if found is None:
            found = {}
            for ind in self.graph.subjects(RDF.type, ATMP.ResultField):
                fp = self.graph.value(ind, ATMP.fieldPath)
                if fp is not None:
                    found[str(fp)] = ResultFieldWords(
                        str(fp), bilingual(self.graph, ind, RDFS.label), bilingual(self.graph, ind, ATMP.conclusionVerb), bilingual(self.graph, ind, ATMP.negationVerb)
                    )
            self.memo["field_words"] = found
        return found.get(path) or ResultFieldWords(path, {"en": path, "zh": path}, {}, {})

    def ordered(self, result_field: str) -> list[ResultClass]:
        """The classes that fill one result field, in the ontology's order (``atmp:rank``, then number, then code)."""
        rcs = [rc for rc in self.result_classes if rc.field == result_field]
        return sorted(rcs, key=lambda rc: (rc.rank is None, rc.rank or 0, rc.number or 0, rc.code or ""))

    def codes(self, result_field: str) -> list[str]:
        """The codes a result field can take, in the ontology's order."""
        return [rc.code for rc in self.ordered(result_field) if rc.code is not None]

    def grouping(self, name: str | URIRef) -> frozenset[str]:
        """The card codes a vocabulary grouping enumerates (``owl:equivalentClass [ owl:oneOf (…) ]``), by local name or IRI."""
        from rdflib.collection import Collection

        iri = name if isinstance(name, URIRef) else ATMP[name]
        codes: set[str] = set()
        for expr in self.graph.objects(iri, OWL.equivalentClass):
            members = self.graph.value(expr, OWL.oneOf)
            if members is not None:
                codes.update(self.code_of[m] for m in Collection(self.graph, members) if m in self.code_of)  # type: ignore[index]
        if not codes:
            raise OntologyError(f"{local_name(iri)} is not an enumerated grouping of card codes")
        return frozenset(codes)

    def criteria_by_tier(self) -> list[tuple[ResultClass | None, list[int]]]:
        """The criteria grouped by the tier whose definition counts them, tiers in rank order.

        A tier's definition (``graded and not high and (criterion 7 or 8 or 9 or 10)``) names the criteria that
        put a product in it; a criterion under ``owl:complementOf`` is a precedence condition, not one of the
        tier's own. Criteria that no tier's definition counts (T 6(三)'s low-risk criteria, whose tier is "neither
        high nor medium") come last, under ``None``. This is the one grouping of criteria by tier: views read it
        instead of keeping a copy, so an edit of a tier's definition moves the criterion everywhere.
        """
        number_of = {rc.iri: rc.number for rc in self.result_classes if rc.number is not None}
        groups: list[tuple[ResultClass | None, list[int]]] = []
        counted: set[int] = set()
        for rc in self.ordered(RISK_TIER_FIELD):
            numbers = sorted({n for n in (number_of.get(c) for c in self._positive_names(rc.iri)) if n is not None} - counted)
            counted.update(numbers)
            groups.append((rc, numbers))
        groups.append((None, sorted(set(number_of.values()) - counted)))
        return groups

    def _positive_names(self, iri: URIRef) -> list[URIRef]:
        """Named classes in a class's definition reached through intersections and unions only (not complements)."""
        from rdflib.collection import Collection

        found: list[URIRef] = []

        def walk(node, depth: int) -> None:
            if isinstance(node, URIRef):
                found.append(node)
                return
            if depth > 12:
                return
            for p, o in self.graph.predicate_objects(node):
                if p in (OWL.intersectionOf, OWL.unionOf):
                    for item in Collection(self.graph, o):
                        walk(item, depth + 1)

        for expr in self.graph.objects(iri, OWL.equivalentClass):
            walk(expr, 0)
        return found

    def property_for(self, card_field: str) -> CardProperty:
        for prop in self.properties:
            if prop.field == card_field:
                return prop
        raise KeyError(card_field)

    def jsonld_context(self) -> dict:
        """A JSON-LD 1.1 context that turns a product card into the same triples as :mod:`atmp.core.card.facts`.

        Built from the ontology's ``atmp:cardField`` and ``atmp:code`` annotations, so it never
        drifts from the rules.
        """
        ctx: dict = {
            "@version": 1.1,
            "@base": str(PRODUCT_NS),
            "atmp": str(ATMP),
            "id": "@id",
            "label": {"@id": str(RDFS.label), "@container": "@language"},
            "substance": "@nest",
            "process": "@nest",
            "function": "@nest",
        }
        for prop in self.properties:
            if prop.is_object:
                ctx[prop.key] = {
                    "@id": str(prop.iri),
                    "@type": "@vocab",
                    "@context": {code: str(iri) for code, iri in prop.codes.items()},
                }
                if not prop.functional:
                    ctx[prop.key]["@container"] = "@set"
            else:
                ctx[prop.key] = {"@id": str(prop.iri), "@type": str(XSD.boolean)}
        return {"@context": ctx}


CATALOG_FILE = "catalog-v001.xml"
_CATALOG_NS = "{urn:oasis:names:tc:entity:xmlns:xml:catalog}"


def parse_catalog(data: bytes) -> dict[str, str]:
    """IRI -> path relative to the catalogue's folder, from an OASIS XML catalogue (``catalog-v001.xml``).

    The file Protégé writes and reads beside an edit source to resolve its ``owl:imports`` offline; the build and
    ``atmp diff`` resolve imports through it the same way.
    """
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise OntologyError(f"{CATALOG_FILE}: not XML: {exc}") from None
    return {uri.attrib["name"]: uri.attrib["uri"] for uri in root.iter(f"{_CATALOG_NS}uri") if "name" in uri.attrib and "uri" in uri.attrib}


def load_graph(path: Path) -> Graph:
    """The ontology file parsed; read through :func:`~atmp.core.rules.files.read_file` (a regular file, size-capped)."""
    from rdflib.util import guess_format

    from atmp.core.rules.files import read_file

    data = read_file(path, what="ontology")  # FileRefused (exit 2) for /dev/zero, a FIFO, a huge file
    graph = Graph()
    try:
        graph.parse(data=data, format="turtle" if path.suffix in {".ttl", ".turtle"} else guess_format(str(path)) or "turtle", publicID=path.absolute().as_uri())
    except Exception as exc:  # rdflib raises many parser-specific types
        raise OntologyError(f"cannot parse ontology {path}: {exc}") from exc
    return graph


def _card_properties(graph: Graph) -> list[CardProperty]:
    props: list[CardProperty] = []
    for prop, card_field in graph.subject_objects(ATMP.cardField):
        is_object = (prop, RDF.type, OWL.ObjectProperty) in graph
        functional = (prop, RDF.type, OWL.FunctionalProperty) in graph
        default_node = graph.value(prop, ATMP.valueWhenAbsent)
        default: URIRef | bool | None
        if isinstance(default_node, Literal):
            default = bool(default_node.toPython())
        else:
            default = default_node if isinstance(default_node, URIRef) else None
        codes: dict[str, URIRef] = {}
        if is_object:
            range_cls = graph.value(prop, RDFS.range)
            for ind in graph.subjects(RDF.type, range_cls):
                code = graph.value(ind, ATMP.code)
                if code is not None:
                    codes[str(code)] = ind  # type: ignore[assignment]
        props.append(CardProperty(str(card_field), prop, is_object, functional, default, codes))  # type: ignore[arg-type]
    props.sort(key=lambda p: p.field)
    return props


def _result_classes(model: OntologyModel) -> list[ResultClass]:
    graph = model.graph
    out = []
    for cls, fld in graph.subject_objects(ATMP.resultField):
        code = graph.value(cls, ATMP.resultCode)
        number = graph.value(cls, ATMP.criterionNumber)
        severity = graph.value(cls, ATMP.severity)
        rank = graph.value(cls, ATMP.rank)
        out.append(
            ResultClass(
                iri=cls,  # type: ignore[arg-type]
                field=str(fld),
                code=None if code is None else str(code),
                number=None if number is None else int(number),
                severity=None if severity is None else str(severity),
                label=model.label(cls),  # type: ignore[arg-type]
                definition=model.definition(cls),  # type: ignore[arg-type]
                source=model.source(cls),  # type: ignore[arg-type]
                rank=None if rank is None else int(rank),
            )
        )
    out.sort(key=lambda r: (r.field, r.number or 0, r.code or ""))
    return out


def load_model(path: Path | None = None) -> OntologyModel:
    """Read the ontology and its result annotations. Cached per path: the ontology is parsed once."""
    return _load_model_cached(Path(path or paths.ontology_file()).resolve())


@lru_cache(maxsize=8)
def _load_model_cached(path: Path) -> OntologyModel:
    from atmp.core.rules.cache import lookup  # the model parsed and compiled by an earlier process, if still valid

    bundle = lookup(path)
    if bundle is not None:
        return bundle.model
    graph = load_graph(path)
    model = OntologyModel(path=path, graph=graph)
    model.properties = _card_properties(graph)
    if not model.properties:
        raise OntologyError(f"{path}: no property carries atmp:cardField; not an ATMP-KG ontology")
    model.result_classes = _result_classes(model)
    for prop in model.properties:
        for code, iri in prop.codes.items():
            model.code_of[iri] = code
    for ont in graph.subjects(RDF.type, OWL.Ontology):
        version = graph.value(ont, OWL.versionIRI)
        if version is not None:
            model.version_iri = str(version)
        info = graph.value(ont, OWL.versionInfo)
        if info is not None:
            model.version_info = str(info)
    return model
