"""The rule-edit drill: a regulatory scientist edits the ontology, the answers change, no code changes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from atmp.core.rules.ontology import ATMP
from atmp.core.rules.resources import ontology_file
from rdflib import OWL, Graph
from rdflib.collection import Collection

from .conftest import load_cases, make_card


def _enumeration(g: Graph, cls):
    node = g.value(cls, OWL.equivalentClass)
    return Collection(g, g.value(node, OWL.oneOf))


def _classify(cards: list[dict], ontology: Path | None = None) -> list[dict]:
    args = [sys.executable, "-m", "atmp.cli"]
    if ontology:
        args += ["--ontology", str(ontology)]
    proc = subprocess.run([*args, "classify", "-"], input=json.dumps(cards).encode(), capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout)


def test_moving_culture_expansion_to_not_substantial_changes_class_and_tier(tmp_path):
    card = make_card(
        "expanded-msc",
        substance={"cell_type": "mesenchymal_stromal_cell", "origin": "allogeneic"},
        process={"manipulations": ["culture_expansion", "washing"]},
        function={"homologous_use": True, "systemic_effect": False},
    )
    g = Graph().parse(ontology_file())
    substantial = _enumeration(g, ATMP.SubstantialManipulation)
    items = [i for i in substantial if i != ATMP.manip_culture_expansion]
    substantial.clear()
    for i in items:
        substantial.append(i)
    _enumeration(g, ATMP.NonSubstantialManipulation).append(ATMP.manip_culture_expansion)
    edited = tmp_path / "edited.ttl"
    g.serialize(edited, format="turtle")

    before = _classify([card])[0]
    after = _classify([card], edited)[0]
    assert (before["atmp"], before["nmpa"]["subclass"], before["tianjin"]["risk_tier"]) == (True, "non_genetically_modified_ctmp", "medium")
    assert 7 in before["tianjin"]["criteria"]
    assert (after["atmp"], after["exclusion"], after["tianjin"]["risk_tier"]) == (False, "no_substantial_manipulation", "low")
    assert after["tianjin"]["criteria"] == [11]


def test_taking_criterion_9_out_of_the_medium_tier_changes_the_tier(tmp_path):
    """Edit the precedence axiom of T 6: medium no longer counts criterion 9."""
    case = next(c for c in load_cases() if c["card"]["id"] == "allogeneic-bone-marrow-graft")
    g = Graph().parse(ontology_file())
    medium = g.value(ATMP.MediumRiskProduct, OWL.equivalentClass)
    union_node = next(n for n in Collection(g, g.value(medium, OWL.intersectionOf)) if (n, OWL.unionOf, None) in g)
    members = Collection(g, g.value(union_node, OWL.unionOf))
    kept = [m for m in members if m != ATMP.Criterion09Met]
    members.clear()
    for m in kept:
        members.append(m)
    edited = tmp_path / "medium-without-9.ttl"
    g.serialize(edited, format="turtle")
    before = _classify([case["card"]])[0]
    after = _classify([case["card"]], edited)[0]
    assert before["tianjin"]["criteria"] == [9, 11] and before["tianjin"]["risk_tier"] == "medium"
    assert after["tianjin"]["criteria"] == [9, 11] and after["tianjin"]["risk_tier"] == "low"
    assert "tier_conflict_low_criterion" not in {b["code"] for b in after["borderline"]}


def test_a_criterion_without_definition_is_never_met_by_any_engine(tmp_path, model):
    """Open world: a criterion left without a definition is unknown, so it is not listed and
    the tier that depends on it is not decided; HermiT and the compiled path agree on that."""
    from atmp.core.classify import classify_cards
    from atmp.core.rules.ontology import load_model

    g = Graph().parse(ontology_file())
    g.remove((ATMP.Criterion09Met, OWL.equivalentClass, None))
    edited = tmp_path / "no-criterion-9.ttl"
    g.serialize(edited, format="turtle")
    edited_model = load_model(edited)
    card = next(c for c in load_cases() if c["card"]["id"] == "allogeneic-bone-marrow-graft")["card"]
    hermit = classify_cards([card], engine="hermit", model=edited_model)[0]
    compiled = classify_cards([card], engine="compiled", model=edited_model)[0]
    assert hermit == compiled
    assert hermit["tianjin"]["criteria"] == [11] and hermit["tianjin"]["risk_tier"] is None
