"""The contract's result layout and the engine names: what a result holds, where, and who can compute it.

These are facts of the interchange contract (``result.schema.json``), not rules: which class fills which
field is the ontology's ``atmp:resultField``; the order of values within a field (e.g. the tiers) is the
ontology's ``atmp:rank``. Everything that reads or writes a result field by its dotted name uses these.
"""

from __future__ import annotations

from typing import Any

#: engines, the default first: the compiled closed-world evaluator, warm HermiT, owlready2's batch run
ENGINES = ("compiled", "hermit", "owlready2")
DEFAULT_ENGINE = ENGINES[0]

ATMP_FIELD = "atmp"
EXCLUSION = "exclusion"
NMPA_CLASS = "nmpa.class"
NMPA_SUBCLASS = "nmpa.subclass"
TIANJIN_CATEGORY = "tianjin.category"
TIANJIN_SUBCATEGORY = "tianjin.subcategory"
RISK_TIER = "tianjin.risk_tier"
CRITERIA = "tianjin.criteria"
BORDERLINE = "borderline"

#: codes of the findings the path itself adds to a result (not rules: the contract's own, like unknown_field)
RULE_CONFLICT = "rule_conflict"  # the rules filled a single-valued field twice; the field is left empty
INTERNAL_ERROR = "internal_error"  # this card could not be classified (a defect); every other card still is

#: fields that hold at most one code
SINGLE_FIELDS = (EXCLUSION, NMPA_CLASS, NMPA_SUBCLASS, TIANJIN_CATEGORY, TIANJIN_SUBCATEGORY, RISK_TIER)
#: the decision in one row: ATMP or not, then each single-valued field (whatif, tables, taxonomy)
SUMMARY_FIELDS = (ATMP_FIELD, *SINGLE_FIELDS)


def get(result: dict, field: str) -> Any:
    """A result's value at a dotted field name (``tianjin.risk_tier``); None where a level is missing."""
    value: Any = result
    for part in field.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def summary(result: dict) -> dict[str, Any]:
    """The summary fields of a result, flat (dotted names)."""
    return {f: get(result, f) for f in SUMMARY_FIELDS}


def failed(card_id: str, finding: dict) -> dict:
    """The result of a card the path could not classify: every field empty, the finding saying why (issue 27).

    ``atmp`` is false because the contract requires a boolean; ``conforms`` false and the ``internal_error``
    violation say that nothing here is an answer.
    """
    result = skeleton(card_id, dict.fromkeys(SINGLE_FIELDS), False, [], [], [])
    result["violations"] = [finding]
    result["conforms"] = False
    return result


def skeleton(card_id: str, single: dict[str, str | None], atmp: bool, criteria: list[int], borderline: list[dict], explanation: list[dict]) -> dict:
    """A result in the contract's nesting, from flat field values."""
    return {
        "id": card_id,
        "atmp": atmp,
        "exclusion": single[EXCLUSION],
        "nmpa": {"class": single[NMPA_CLASS], "subclass": single[NMPA_SUBCLASS]},
        "tianjin": {
            "category": single[TIANJIN_CATEGORY],
            "subcategory": single[TIANJIN_SUBCATEGORY],
            "risk_tier": single[RISK_TIER],
            "criteria": sorted(criteria),
        },
        "borderline": borderline,
        "violations": [],
        "conforms": True,
        "explanation": explanation,
    }
