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

from rdflib import OWL, RDF, RDFS, XSD, Graph, Literal, Namespace, URIRef

from . import resources as paths

ATMP = Namespace("https://w3id.org/atmp-kg/ontology/")
PRODUCT_NS = Namespace("https://w3id.org/atmp-kg/product/")
SKOS = Namespace("http://www.w3.org/2004/02/skos/core#")
DCT = Namespace("http://purl.org/dc/terms/")


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


@dataclass(eq=False)
class OntologyModel:
    path: Path
    graph: Graph
    properties: list[CardProperty] = field(default_factory=list)
    result_classes: list[ResultClass] = field(default_factory=list)
    code_of: dict[URIRef, str] = field(default_factory=dict)
    version_iri: str = ""
    _labels: dict[URIRef, dict[str, str]] = field(default_factory=dict, repr=False)
    _sources: dict[URIRef, str] = field(default_factory=dict, repr=False)
    _definitions: dict[URIRef, dict[str, str]] = field(default_factory=dict, repr=False)
    memo: dict = field(default_factory=dict, repr=False)  # per-model caches of derived renderings (see atmp.core.explain)

    # Labels, sources and definitions are read for every explanation line; the graph is immutable
    # once loaded, so each is looked up once (copies are returned: callers may edit their result).
    def label(self, iri: URIRef) -> dict[str, str]:
        if iri not in self._labels:
            self._labels[iri] = bilingual(self.graph, iri, RDFS.label) or {"en": _local(iri), "zh": _local(iri)}
        return dict(self._labels[iri])

    def source(self, iri: URIRef) -> str:
        if iri not in self._sources:
            self._sources[iri] = "; ".join(sorted(str(s) for s in self.graph.objects(iri, DCT.source)))
        return self._sources[iri]

    def definition(self, iri: URIRef) -> dict[str, str]:
        if iri not in self._definitions:
            self._definitions[iri] = bilingual(self.graph, iri, SKOS.definition)
        return dict(self._definitions[iri])

    def property_for(self, card_field: str) -> CardProperty:
        for prop in self.properties:
            if prop.field == card_field:
                return prop
        raise KeyError(card_field)

    def jsonld_context(self) -> dict:
        """A JSON-LD 1.1 context that turns a product card into the same triples as :mod:`atmp.core.facts`.

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


def _local(iri: URIRef) -> str:
    text = str(iri)
    return text.rsplit("/", 1)[-1].rsplit("#", 1)[-1]


def module_file(ontology: Path, module_iri: str) -> Path | None:
    """Where an ``owl:imports`` of one of our own modules (``https://w3id.org/atmp-kg/ontology/eu``) lives.

    Modules are ``src/<name>.ttl`` beside the ontology file; an edited copy of ``atmp.ttl`` alone (a
    rule-change drill) falls back to the shipped modules, so editing one file never loses the others.
    Foreign imports return ``None``: the machines are offline and nothing is fetched.
    """
    if not module_iri.startswith(str(ATMP)):
        return None
    name = module_iri[len(str(ATMP)) :].strip("/")
    if not name or "/" in name:
        return None
    for folder in (path_parent(ontology) / "src", paths.ontology_dir() / "src"):
        candidate = folder / f"{name}.ttl"
        if candidate.is_file():
            return candidate
    return None


def path_parent(path: Path) -> Path:
    return Path(path).resolve().parent


def load_graph(path: Path) -> Graph:
    """Parse the ontology and merge the modules it ``owl:imports`` (``ontology/src/*.ttl``) into one graph.

    Every consumer (the compiled engine, HermiT, SHACL, the knowledge graph, QC) reads this one graph, so a
    rule module takes effect exactly when ``atmp.ttl`` imports it. The import triples and the modules'
    own ontology headers are left out of the merge: their content is in the graph, and the OWL API would
    otherwise try to fetch the imported IRIs from the network.
    """
    graph = Graph()
    try:
        graph.parse(path, format="turtle" if path.suffix in {".ttl", ".turtle"} else None)
    except Exception as exc:  # rdflib raises many parser-specific types
        raise OntologyError(f"cannot parse ontology {path}: {exc}") from exc
    pending = [(s, o) for s, o in graph.subject_objects(OWL.imports)]
    merged: set[str] = set()
    while pending:
        subject, module = pending.pop(0)
        file = module_file(path, str(module))
        if file is None:
            raise OntologyError(f"{path}: owl:imports {module} names no module file (looked for src/<name>.ttl beside the ontology)")
        graph.remove((subject, OWL.imports, module))
        if str(module) in merged:
            continue
        merged.add(str(module))
        part = Graph()
        try:
            part.parse(file, format="turtle")
        except Exception as exc:  # noqa: BLE001 - rdflib raises many parser-specific types
            raise OntologyError(f"cannot parse ontology module {file}: {exc}") from exc
        pending.extend((s, o) for s, o in part.subject_objects(OWL.imports))
        for triple in part:
            if triple[0] != module and triple[1] != OWL.imports:
                graph.add(triple)
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
            )
        )
    out.sort(key=lambda r: (r.field, r.number or 0, r.code or ""))
    return out


def load_model(path: Path | None = None) -> OntologyModel:
    """Read the ontology and its result annotations. Cached per path: the ontology is parsed once."""
    return _load_model_cached(Path(path or paths.ontology_file()).resolve())


@lru_cache(maxsize=8)
def _load_model_cached(path: Path) -> OntologyModel:
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
    return model
