"""Seeded generator of valid random product cards (benchmarks, equivalence tests, service load tests).

    from benchmarks.cardgen import generate_cards
    cards = generate_cards(10_000, seed=7)                                # consistent cards only
    cards = generate_cards(1_000, seed=7, inconsistent_fraction=0.1)      # ~10 % self-contradictory cards
    cards = generate_unconstrained(50_000, seed=1)                        # any card the schema allows

Also a command line: ``python -m benchmarks.cardgen 1000 --seed 7 [--inconsistent 0.1 | --unconstrained] [--jsonl] > cards.json``.

**Vocabularies come from the JSON schema** (``atmp/rules/schemas/product-card.schema.json``) at run time:
every enum, boolean and list field of ``substance``/``process``/``function`` is read from it, so a code
added to the schema is generated without touching this file. **Groupings the ontology defines** (microorganism
kinds, conventional molecules, viral vector types, genetic manipulations, living-activity mechanisms, living cells
or tissue) are read from its enumerated classes, so an edit in Protégé reaches the generator; so is the list of
vectors that carry no genes, from the shape that forbids genetic modification without them. What this file adds is the contract's
*consistency knowledge* (PRODUCT-CARD.md and the SHACL Violation shapes in ``shapes/product-shapes.ttl``),
written as restrictions on the schema's codes:

* which kinds a code makes sense for (``*_KINDS`` tables: a code not listed there is allowed for every kind);
* dependencies between fields, applied in a fixed order while a card is built (kind first, then origin,
  cell type, microbe flags, payload, nucleic acid, vector, editing tool, manipulations, use, mechanism...).

Each restriction that a SHACL Violation shape enforces is marked ``[shape: code]``. The named groups are
checked against the schema when the vocabulary is loaded, so a renamed code fails loudly.

**Coverage.** Until every item of the vocabulary (every code of every field, ``true``/``false`` of every
flag, ``null`` where allowed, an absent optional field, an empty list) has appeared, each new card is built
*around* the first item not yet seen: the generator forces that value wherever the rules allow it and retries
(same random stream) until the card contains it. About 50 cards cover the whole vocabulary; after that
cards are plainly random. Everything depends only on ``seed``.

**Inconsistent cards.** With ``inconsistent_fraction > 0`` that share of cards is built by a *breaker*: a
consistent card of a suitable kind, then one edit that contradicts exactly one Violation shape
(:data:`BREAKERS`, keyed by the shape's ``atmp:resultCode``; breakers are used in turn so all are exercised).
:func:`generate` returns which rule each card breaks.

The same building code drives the hypothesis strategy in ``tests/strategies.py``: only the source of the
decisions (:class:`Chooser`) differs.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from atmp.core.rules.resources import CARD_SCHEMA, schema_file

SCHEMA_FILE = schema_file(CARD_SCHEMA)
SECTIONS = ("substance", "process", "function")

# Coverage markers (never valid codes: codes are snake_case words).
ABSENT = "<absent>"
EMPTY = "<empty>"


# ============================================================================================ vocabulary
@dataclass(frozen=True)
class FieldSpec:
    """One card field as the schema declares it."""

    path: str  # "substance.kind"
    type: str  # "enum" | "bool" | "list"
    values: tuple  # codes in schema order (None included when the enum allows null); (False, True) for flags
    required: bool
    min_items: int = 0
    max_items: int | None = None

    @property
    def section(self) -> str:
        return self.path.split(".", 1)[0]

    @property
    def key(self) -> str:
        return self.path.split(".", 1)[1]

    @property
    def codes(self) -> tuple:
        """The values without ``None``."""
        return tuple(v for v in self.values if v is not None)


def _read_schema(path: Path) -> dict[str, FieldSpec]:
    schema = json.loads(path.read_text(encoding="utf-8"))
    fields: dict[str, FieldSpec] = {}
    for section in SECTIONS:
        sec = schema["properties"][section]
        required = set(sec.get("required", ()))
        for key, spec in sec["properties"].items():
            name = f"{section}.{key}"
            if "enum" in spec:
                fields[name] = FieldSpec(name, "enum", tuple(spec["enum"]), key in required)
            elif spec.get("type") == "boolean":
                fields[name] = FieldSpec(name, "bool", (False, True), key in required)
            elif spec.get("type") == "array" and "enum" in spec.get("items", {}):
                fields[name] = FieldSpec(name, "list", tuple(spec["items"]["enum"]), key in required, spec.get("minItems", 0), spec.get("maxItems"))
            elif spec.get("type") == "object" and key not in required and all(s.get("type") == "string" for s in spec.get("properties", {}).values()):
                continue  # optional free text per language that no rule reads (function.indication): nothing to vary
            else:
                raise ValueError(f"{path}: field {name} has a shape the generator does not know: {spec}")
    return fields


@lru_cache(maxsize=1)
def vocabulary() -> dict[str, FieldSpec]:
    """Every card field of the schema, keyed by dotted path, with the group names below checked against it."""
    fields = _read_schema(SCHEMA_FILE)
    _check_groups(fields)
    return fields


def codes(field: str) -> tuple:
    return vocabulary()[field].codes


def vocabulary_items() -> list[tuple[str, Any]]:
    """Everything a batch should exercise, in schema order: ``(field, value)`` pairs.

    Values are each code (and ``None`` where the enum allows it), ``False``/``True`` for flags, each list
    item, :data:`EMPTY` for a list that may be empty and :data:`ABSENT` for an optional field.
    """
    items: list[tuple[str, Any]] = []
    for f in vocabulary().values():
        items.extend((f.path, v) for v in f.values)
        if f.type == "list" and f.min_items == 0:
            items.append((f.path, EMPTY))
        if not f.required:
            items.append((f.path, ABSENT))
    return items


def card_items(card: dict) -> set[tuple[str, Any]]:
    """The vocabulary items one card exercises (see :func:`vocabulary_items`)."""
    out: set[tuple[str, Any]] = set()
    for f in vocabulary().values():
        section = card.get(f.section) or {}
        if f.key not in section:
            out.add((f.path, ABSENT))
            continue
        value = section[f.key]
        if f.type == "list":
            out.update((f.path, v) for v in value)
            if not value:
                out.add((f.path, EMPTY))
        else:
            out.add((f.path, value))
    return out


def missing_items(cards: Iterable[dict]) -> list[tuple[str, Any]]:
    """Vocabulary items that none of ``cards`` exercises (empty when the batch covers the vocabulary)."""
    seen: set[tuple[str, Any]] = set()
    for card in cards:
        seen |= card_items(card)
    return [item for item in vocabulary_items() if item not in seen]


# ============================================================================================ consistency knowledge
# Kind groups (PRODUCT-CARD.md, substance.kind).
def _grouping(name: str) -> frozenset[str]:
    """A vocabulary grouping read from the ontology (``ATMP_ONTOLOGY`` or the shipped one), never a second copy of it."""
    from atmp.core.rules.ontology import load_model

    return load_model().grouping(name)


CELLS = "cells"
CELLULAR = _grouping("LivingCellOrTissueKind")  # living human cells with a cell type; editing tools used ex vivo
HUMAN_MATERIAL = frozenset(
    {
        "cells",
        "tissue",
        "extracellular_vesicles",
        "organelles",
        "platelets",
        "enucleated_cells",
        "blood_component",
        "germ_cells_or_embryos",
    }
)  # have a human (or animal) donor: a real origin, homologous use can be true
MICROBES = _grouping("MicroorganismKind")  # [shape: oncolytic_needs_microorganism]
CHEMICALS = _grouping("ConventionalMoleculeKind")  # [shape: no_genetic_manipulation_of_chemicals]
NON_LIVING = frozenset({"nucleic_acid"}) | CHEMICALS  # [shape: mechanical_with_living_mechanism]
ENGINEERABLE = MICROBES | {"viral_vector"}  # genetically_engineered applies to microorganisms and viruses
PLURIPOTENT_KINDS = frozenset({"cells", "tissue", "extracellular_vesicles", "platelets", "enucleated_cells"})  # iPSC/ESC-derived
PLURIPOTENT_SHAPE_KINDS = HUMAN_MATERIAL  # [shape: pluripotent_derived_needs_cells] allows cells and cell-derived kinds
NEOANTIGEN_KINDS = frozenset({"cells", "nucleic_acid", "peptide", "protein", "viral_vector", "extracellular_vesicles"})

# Code groups.
NOT_APPLICABLE = "not_applicable"
NONE = "none"
GENETIC = "genetic_material"
VIRAL_VECTORS = _grouping("ViralVectorType")  # [shape: viral_vector_kind_needs_viral_vector]
GENETIC_VECTORS = VIRAL_VECTORS | {"plasmid", "lipid_nanoparticle", "polymer_nanoparticle", "extracellular_vesicle", "bacterium"}  # can carry genetic material
CARGO_VECTORS = frozenset({"lipid_nanoparticle", "polymer_nanoparticle", "extracellular_vesicle", "bacterium", "cell"})  # can carry proteins, peptides, drugs


def _shape_in(result_code: str, prop: str) -> frozenset[str]:
    """The card codes a Violation shape's ``sh:in`` lists for one property, read from the shipped shapes.

    Why read and not restate: the generator must avoid exactly the combination the shape forbids, and a
    hand-kept version of this rule drifted once already (issue 12 added ``cell`` to the shape, the generator
    lagged and 19 cards in 10,000 broke it). Every node of the shape with ``sh:path`` ``prop`` contributes its list.
    """
    from atmp.core.result.validate import load_shapes
    from atmp.core.rules.namespaces import ATMP, SH
    from atmp.core.rules.ontology import load_model
    from rdflib import Literal, URIRef
    from rdflib.collection import Collection

    graph = load_shapes()  # the shapes the card path validates with (ATMP_SHAPES honoured, parsed once)
    shapes = list(graph.subjects(ATMP.resultCode, Literal(result_code)))
    if len(shapes) != 1:
        raise LookupError(f"{len(shapes)} shapes have atmp:resultCode {result_code!r}; expected exactly one")
    code_of, target = load_model().code_of, URIRef(ATMP[prop])
    codes: set[str] = set()
    seen, stack = set(shapes), list(shapes)
    while stack:
        node = stack.pop()
        if (node, SH.path, target) in graph:
            for listed in graph.objects(node, SH["in"]):
                codes.update(code_of[m] for m in Collection(graph, listed) if m in code_of)  # type: ignore[index]
        for _p, o in graph.predicate_objects(node):
            if not isinstance(o, (URIRef, Literal)) and o not in seen:  # blank nodes: the shape's own structure
                seen.add(o)
                stack.append(o)
    if not codes:
        raise LookupError(f"shape {result_code!r} lists no codes of atmp:{prop} under sh:in")
    return frozenset(codes)


# vectors that introduce no genes (a cell carries actives), as the shape lists them [shape: genetic_modification_needs_material]
NO_GENES = _shape_in("genetic_modification_needs_material", "hasVector")
GENETIC_MANIPULATIONS = _grouping("GeneticManipulation")
# nucleic-acid types that bind a target outside cells (aptamers): the one case a nucleic acid needs no genetic payload
# [shape: nucleic_acid_needs_genetic_payload]
EXTRACELLULAR_NUCLEIC_ACIDS = _grouping("ExtracellularActingNucleicAcidType")
ENGINEERING_MANIPULATIONS = GENETIC_MANIPULATIONS | {"engineering_modification"}
LIVING_MECHANISMS = _grouping("LivingActivityMechanism")
MECHANICAL = "mechanical"
ONCOLYSIS = "oncolysis"
PROPHYLACTIC = "prophylactic_vaccine"

# Where a code makes sense: code -> kinds. Codes not listed are allowed for every kind.
CELL_TYPE_KINDS = {"red_blood_cell": frozenset({"enucleated_cells"})}  # other cell types: CELLULAR (kind cells needs one)
PAYLOAD_KINDS = {
    GENETIC: CELLULAR | MICROBES | {"nucleic_acid", "viral_vector", "extracellular_vesicles"},
    "protein": CELLULAR | {"bacterium", "bacteriophage", "other_microorganism", "extracellular_vesicles", "platelets", "enucleated_cells", "protein"},
    "peptide": frozenset({"cells", "bacterium", "other_microorganism", "extracellular_vesicles", "enucleated_cells", "peptide"}),
    "small_molecule": frozenset({"cells", "bacterium", "extracellular_vesicles", "platelets", "enucleated_cells", "small_molecule"}),
    NONE: frozenset(HUMAN_MATERIAL | MICROBES | CHEMICALS | {"nucleic_acid"}),  # viral vectors always carry genetic material; nucleic acids too, but aptamers
}
VECTOR_KINDS = {
    **dict.fromkeys(VIRAL_VECTORS, CELLULAR | {"viral_vector", "virus"}),  # ex vivo transduction; a virus is its own vector
    "plasmid": CELLULAR | {"nucleic_acid", "bacterium"},
    "lipid_nanoparticle": CELLULAR | CHEMICALS | {"nucleic_acid"},
    "polymer_nanoparticle": CELLULAR | CHEMICALS | {"nucleic_acid"},
    "extracellular_vesicle": frozenset({"extracellular_vesicles"}),
    "bacterium": frozenset({"bacterium"}),
    "cell": frozenset({"cells", "enucleated_cells", "platelets"}),
}
EDITING_TOOL_KINDS = CELLULAR | {"nucleic_acid", "viral_vector", "protein", "extracellular_vesicles"}  # for every tool but "none"
MANIPULATION_KINDS = {
    "enzymatic_digestion": CELLULAR | {"organelles"},
    "culture_expansion": CELLULAR | MICROBES | {"viral_vector", "extracellular_vesicles", "organelles", "platelets", "enucleated_cells", "germ_cells_or_embryos"},
    "induced_differentiation": CELLULAR | {"platelets", "enucleated_cells"},
    "reprogramming": CELLULAR,
    "activation": frozenset({"cells", "platelets", "blood_component"}),
    "genetic_modification": CELLULAR | MICROBES | {"nucleic_acid", "viral_vector"},
    "gene_editing": CELLULAR | MICROBES,
    "engineering_modification": MICROBES | {"extracellular_vesicles", "enucleated_cells"},
    "cutting": CELLULAR,
    "grinding": frozenset({"tissue"}),
    "sterilization": CHEMICALS | {"nucleic_acid", "tissue"},
    "chemical_synthesis": CHEMICALS | {"nucleic_acid"},
    "decellularisation": frozenset({"tissue"}),
    "loading": frozenset({"cells", "enucleated_cells", "platelets", "extracellular_vesicles"}),
    "three_d_printing": CELLULAR,
    "irradiation": CELLULAR | {"blood_component", "platelets", "virus"},
}
USE_KINDS = {
    "assisted_reproduction": frozenset({"germ_cells_or_embryos", "organelles", "cells"}),
    "transfusion": frozenset({"blood_component", "platelets", "enucleated_cells", "cells"}),
    "transplantation": CELLULAR,
    PROPHYLACTIC: frozenset({"nucleic_acid", "viral_vector", "virus", "bacterium", "other_microorganism", "peptide", "protein"}),
    "therapeutic_vaccine": frozenset({"cells", "nucleic_acid", "viral_vector", "virus", "bacterium", "peptide", "protein", "extracellular_vesicles"}),
}
MECHANISM_KINDS = {
    ONCOLYSIS: MICROBES,  # and exactly when the card says oncolytic
    "cell_replacement": CELLULAR | {"blood_component", "platelets", "enucleated_cells", "germ_cells_or_embryos"},
}

# Fields whose absence means the same as one value (the ontology's atmp:valueWhenAbsent; the test suite
# checks this table against the ontology): such a field may be left out only when it has that value.
OMIT_ONLY_AS = {
    "substance.payload": NONE,
    "substance.nucleic_acid": NONE,
    "substance.vector": NONE,
    "substance.gene_editing_tool": NONE,
    "substance.pluripotent_derived": False,
    "substance.genetically_engineered": False,
    "substance.replication_competent": False,
    "substance.oncolytic": False,
    "substance.novel_species": False,
    "substance.neoantigen": False,
    "substance.first_human_use": False,
}
# How often an optional field is left out when it may be.
OMIT_P = {
    "substance.cell_type": 0.3,
    "substance.origin": 0.1,
    "process.combined_with": 0.3,
    "function.homologous_use": 0.05,
    "function.systemic_effect": 0.05,
    "function.tumorigenic_risk": 0.7,
    "function.depends_on_living_cell_metabolism": 0.7,
}
OMIT_DEFAULT_P = 0.15


def _check_groups(fields: dict[str, FieldSpec]) -> None:
    """Every code named above must be a code of its field in the schema."""
    expect = {
        "substance.kind": CELLULAR
        | HUMAN_MATERIAL
        | MICROBES
        | CHEMICALS
        | NON_LIVING
        | ENGINEERABLE
        | PLURIPOTENT_KINDS
        | NEOANTIGEN_KINDS
        | EDITING_TOOL_KINDS
        | frozenset().union(
            *CELL_TYPE_KINDS.values(), *PAYLOAD_KINDS.values(), *VECTOR_KINDS.values(), *MANIPULATION_KINDS.values(), *USE_KINDS.values(), *MECHANISM_KINDS.values()
        ),
        "substance.origin": {NOT_APPLICABLE},
        "substance.cell_type": set(CELL_TYPE_KINDS),
        "substance.payload": set(PAYLOAD_KINDS),
        "substance.vector": set(VECTOR_KINDS) | GENETIC_VECTORS | CARGO_VECTORS | {NONE},
        "substance.nucleic_acid": {NONE} | EXTRACELLULAR_NUCLEIC_ACIDS,
        "substance.gene_editing_tool": {NONE},
        "process.manipulations": set(MANIPULATION_KINDS) | ENGINEERING_MANIPULATIONS,
        "function.intended_use": set(USE_KINDS),
        "function.mechanism": set(MECHANISM_KINDS) | LIVING_MECHANISMS | {MECHANICAL},
    }
    for field, names in expect.items():
        unknown = sorted(set(names) - set(fields[field].codes))
        if unknown:
            raise ValueError(f"benchmarks.cardgen: {field} has no code(s) {unknown} in {SCHEMA_FILE.name}; update the generator's groups")
    for field in OMIT_ONLY_AS:
        if field not in fields or fields[field].required:
            raise ValueError(f"benchmarks.cardgen: {field} is not an optional field of {SCHEMA_FILE.name}")


def _fits(table: dict, code: Any, kind: str) -> bool:
    return kind in table.get(code, (kind,))


# ============================================================================================ decisions
class Chooser:
    """Where the generator's decisions come from: a seeded ``random.Random`` or hypothesis draws."""

    def pick(self, field: str, options: Sequence, weights: Sequence[float] | None = None):
        """One of ``options`` (never empty) for ``field``."""
        raise NotImplementedError

    def subset(self, field: str, options: Sequence, required: Sequence = (), min_size: int = 0, max_size: int = 6) -> list:
        """``required`` plus distinct further items of ``options``, between ``min_size`` and ``max_size`` in all."""
        raise NotImplementedError

    def omit(self, field: str, p: float) -> bool:
        """Whether to leave an optional field out (``p``: how often, for a random chooser)."""
        raise NotImplementedError

    def coin(self, p: float = 0.5) -> bool:
        """A decision not tied to one field value."""
        raise NotImplementedError

    def prefers(self, field: str, value: Any) -> bool:
        """Whether ``value`` of ``field`` is being forced (random chooser covering the vocabulary)."""
        return False


class RandomChooser(Chooser):
    """Decisions from ``rng``; ``target = (field, value)`` forces that value wherever the rules allow it."""

    def __init__(self, rng: random.Random, target: tuple[str, Any] | None = None):
        self.rng = rng
        self.target = target

    def _forced(self, field: str) -> Any:
        return self.target[1] if self.target is not None and self.target[0] == field else ABSENT

    def pick(self, field, options, weights=None):
        forced = self._forced(field)
        if forced is not ABSENT and forced in options:
            return forced
        if weights is not None:
            return self.rng.choices(list(options), weights=weights)[0]
        return options[self.rng.randrange(len(options))]

    def subset(self, field, options, required=(), min_size=0, max_size=6):
        chosen = list(dict.fromkeys(required))
        rest = [o for o in options if o not in chosen]
        forced = self._forced(field)
        if forced == EMPTY and not chosen and min_size == 0:
            return []
        if forced is not ABSENT and forced in rest:
            chosen.append(forced)
            rest.remove(forced)
        lo = max(0, min_size - len(chosen))
        hi = max(lo, min(len(rest), max_size - len(chosen)))
        chosen.extend(self.rng.sample(rest, self.rng.randint(lo, hi)))
        return chosen

    def omit(self, field, p):
        if self.target is not None and self.target[0] == field:
            return self.target[1] == ABSENT  # forcing absence, or keeping the forced value
        return self.rng.random() < p

    def prefers(self, field, value):
        return self.target == (field, value)

    def coin(self, p=0.5):
        return self.rng.random() < p


# ============================================================================================ building a card
def _flag(ch: Chooser, field: str, allowed: bool, weights: Sequence[float] = (3, 1)) -> bool:
    return ch.pick(field, (False, True), weights) if allowed else ch.pick(field, (False,))


def build_card(ch: Chooser, card_id: str, kinds: Iterable[str] | None = None) -> dict:
    """A schema-valid card that no SHACL Violation shape rejects, decided by ``ch``."""
    kind_options = [k for k in codes("substance.kind") if kinds is None or k in set(kinds)]
    kind = ch.pick("substance.kind", kind_options)
    human, cellular, microbe = kind in HUMAN_MATERIAL, kind in CELLULAR, kind in MICROBES

    s: dict[str, Any] = {"kind": kind}
    # origin: human material has a real source [shape: cells_need_origin]; the rest is not applicable
    s["origin"] = ch.pick("substance.origin", [o for o in codes("substance.origin") if (o != NOT_APPLICABLE) == human])
    # cell type: required for cells [shape: cells_need_cell_type]; optional for tissue and red cells; null otherwise
    cell_types = [c for c in codes("substance.cell_type") if _fits(CELL_TYPE_KINDS, c, kind) and (c in CELL_TYPE_KINDS or kind in CELLULAR)]
    s["cell_type"] = ch.pick("substance.cell_type", cell_types if kind == CELLS else [None, *cell_types])
    s["pluripotent_derived"] = _flag(ch, "substance.pluripotent_derived", kind in PLURIPOTENT_KINDS)  # [shape: pluripotent_derived_needs_cells]
    # [shapes: engineered_or_novel_needs_microorganism, replication_competence_needs_microorganism, oncolytic_needs_microorganism]
    engineered = s["genetically_engineered"] = _flag(ch, "substance.genetically_engineered", kind in ENGINEERABLE, (1, 1))
    s["replication_competent"] = _flag(ch, "substance.replication_competent", microbe, (1, 1))  # a viral vector is replication-defective
    oncolytic = s["oncolytic"] = _flag(ch, "substance.oncolytic", microbe, (1, 1))
    s["novel_species"] = _flag(ch, "substance.novel_species", microbe)
    neoantigen = s["neoantigen"] = _flag(ch, "substance.neoantigen", kind in NEOANTIGEN_KINDS)

    # payload -> nucleic acid -> vector: genetic material has a nucleic-acid type; a vector carries a payload
    payloads = [p for p in codes("substance.payload") if _fits(PAYLOAD_KINDS, p, kind)]
    if microbe and not engineered:
        payloads = [p for p in payloads if p != GENETIC]  # a microbe delivering genes has been engineered
    payload = s["payload"] = ch.pick("substance.payload", payloads)
    genetic = payload == GENETIC
    # [shapes: genetic_payload_needs_nucleic_acid, nucleic_acid_needs_genetic_payload, nucleic_acid_kind_needs_nucleic_acid]
    if genetic:
        nucleic_acids = [n for n in codes("substance.nucleic_acid") if n != NONE]
    elif kind == "nucleic_acid":  # no genetic payload: only an aptamer [shape: nucleic_acid_kind_needs_nucleic_acid]
        nucleic_acids = [n for n in codes("substance.nucleic_acid") if n in EXTRACELLULAR_NUCLEIC_ACIDS]
    else:
        nucleic_acids = [NONE]
    s["nucleic_acid"] = ch.pick("substance.nucleic_acid", nucleic_acids)
    vectors = [v for v in codes("substance.vector") if v != NONE and _fits(VECTOR_KINDS, v, kind)]
    vectors = [v for v in vectors if v in (GENETIC_VECTORS if genetic else CARGO_VECTORS)] if payload != NONE else []
    if kind == "viral_vector":  # [shape: viral_vector_kind_needs_viral_vector]
        vectors = [v for v in vectors if v in VIRAL_VECTORS]
    else:
        vectors.append(NONE)
    vector = s["vector"] = ch.pick("substance.vector", vectors)
    tools = [t for t in codes("substance.gene_editing_tool") if t == NONE or kind in EDITING_TOOL_KINDS]
    tool = s["gene_editing_tool"] = ch.pick("substance.gene_editing_tool", tools, [max(1, 2 * (len(tools) - 1)) if t == NONE else 1 for t in tools])
    s["first_human_use"] = _flag(ch, "substance.first_human_use", human, (4, 1))

    # manipulations
    manipulations = [m for m in codes("process.manipulations") if _fits(MANIPULATION_KINDS, m, kind)]
    required: list[str] = []
    if not genetic and vector in NO_GENES:  # [shape: genetic_modification_needs_material]
        manipulations = [m for m in manipulations if m != "genetic_modification"]
    if microbe and not engineered:
        manipulations = [m for m in manipulations if m not in ENGINEERING_MANIPULATIONS]
    if cellular:  # the editing tool is used ex vivo: tool <=> gene_editing [shapes: gene_editing_needs_tool, editing_tool_needs_gene_editing]
        if tool != NONE:
            required.append("gene_editing")
        else:
            manipulations = [m for m in manipulations if m != "gene_editing"]
        if genetic and tool == NONE:
            required.append("genetic_modification")  # genetic material put into cells ex vivo
        if payload not in (NONE, GENETIC) and "loading" in manipulations:
            required.append("loading")  # cells carrying a protein, peptide or drug were loaded with it
    manip = ch.subset("process.manipulations", manipulations, required, 0, 7)
    # combined products are the exception (each one meets high-risk criterion 5)
    combined = ch.subset("process.combined_with", codes("process.combined_with"), (), 0, 2 if ch.coin(0.3) else 0)

    # intended use: neoantigens are never prophylactic [shape: neoantigen_not_prophylactic]; oncolytics treat
    uses = [u for u in codes("function.intended_use") if _fits(USE_KINDS, u, kind)]
    if neoantigen or oncolytic:
        uses = [u for u in uses if u != PROPHYLACTIC]
    use = ch.pick("function.intended_use", uses)
    # mechanism: oncolysis exactly when oncolytic; non-living substances never mechanical and living at once
    mechanisms = [m for m in codes("function.mechanism") if _fits(MECHANISM_KINDS, m, kind) and (m != ONCOLYSIS or oncolytic)]
    mech = ch.subset("function.mechanism", mechanisms, [ONCOLYSIS] if oncolytic else (), 1, 3)
    if kind in NON_LIVING and MECHANICAL in mech and LIVING_MECHANISMS & set(mech):  # [shape: mechanical_with_living_mechanism]
        forced_living = any(ch.prefers("function.mechanism", m) for m in LIVING_MECHANISMS)
        keep_mechanical = ch.prefers("function.mechanism", MECHANICAL) or (not forced_living and ch.coin(0.5))
        mech = [MECHANICAL] if keep_mechanical else [m for m in mech if m != MECHANICAL]

    f: dict[str, Any] = {"intended_use": use, "mechanism": mech}
    f["homologous_use"] = _flag(ch, "function.homologous_use", human, (1, 1))  # false without a human donor (contract)
    f["systemic_effect"] = ch.pick("function.systemic_effect", (False, True))
    f["tumorigenic_risk"] = ch.pick("function.tumorigenic_risk", (False, True), (1, 3) if s["pluripotent_derived"] else (3, 1))
    f["depends_on_living_cell_metabolism"] = ch.pick("function.depends_on_living_cell_metabolism", (False, True), (1, 4) if cellular else (4, 1))

    card: dict[str, Any] = {"id": card_id}
    label = ch.pick("label", ("both", "en", "zh", "none"), (6, 2, 1, 1))
    if label != "none":
        en, zh = f"Generated {kind.replace('_', ' ')} product {card_id}", f"生成的测试产品 {card_id}（{kind}）"
        card["label"] = {"both": {"en": en, "zh": zh}, "en": {"en": en}, "zh": {"zh": zh}}[label]
    card["substance"] = s
    card["process"] = {"manipulations": manip, "combined_with": combined}
    card["function"] = f
    _omit_optional(ch, card)
    # the optional fields only the EU/US/JP rules read (ontology/src/card-extensions.ttl), after the omissions so the
    # choices above stay as they were: stated on about half the cards, the donor relation consistent with the origin
    donors = {"autologous": ["self"], "allogeneic": ["first_or_second_degree_relative", "unrelated"]}.get(s.get("origin"), ["not_applicable"])
    extras = {
        "substance.donor_relation": donors,
        "substance.viable": (False, True),
        "substance.structural_tissue": (False, True),
        "process.same_surgical_procedure": (False, True),
        "process.device_integral": (False, True),
        "function.effect_from_genetic_sequence": (False, True),
    }
    for path, options in extras.items():
        section, key = path.split(".")
        if ch.pick(f"{path}.stated", (False, True)):
            card[section][key] = ch.pick(path, options)
    return card


def _omit_optional(ch: Chooser, card: dict) -> None:
    """Leave out optional fields whose absence says the same thing (or only makes the card less complete)."""
    for spec in vocabulary().values():
        section = card[spec.section]
        if spec.required or spec.key not in section:
            continue
        value = section[spec.key]
        if spec.path in OMIT_ONLY_AS:
            allowed = value == OMIT_ONLY_AS[spec.path]
        elif spec.path == "substance.cell_type":
            allowed = value is None
        elif spec.path == "substance.origin":
            allowed = card["substance"]["kind"] != CELLS
        elif spec.type == "list":
            allowed = not value
        else:
            allowed = True  # homologous_use / systemic_effect (a warning, not a violation), tumorigenic_risk, depends_on_...
        if allowed and ch.omit(spec.path, OMIT_P.get(spec.path, OMIT_DEFAULT_P)):
            del section[spec.key]


# ============================================================================================ breakers
def _pick_other(ch: Chooser, field: str, options: Sequence) -> Any:
    return ch.pick(field, list(options))


def _break_cell_type(ch: Chooser, card_id: str) -> dict:
    card = build_card(ch, card_id, [CELLS])
    if ch.coin():
        card["substance"]["cell_type"] = None
    else:
        card["substance"].pop("cell_type", None)
    return card


def _break_origin(ch: Chooser, card_id: str) -> dict:
    card = build_card(ch, card_id, [CELLS])
    card["substance"]["origin"] = NOT_APPLICABLE
    return card


def _break_editing_without_tool(ch: Chooser, card_id: str) -> dict:
    card = build_card(ch, card_id, [CELLS])
    card["substance"]["gene_editing_tool"] = NONE
    manip = card["process"]["manipulations"]
    if "gene_editing" not in manip:
        manip.append("gene_editing")
    return card


def _break_tool_without_editing(ch: Chooser, card_id: str) -> dict:
    card = build_card(ch, card_id, [CELLS])
    card["substance"]["gene_editing_tool"] = _pick_other(ch, "substance.gene_editing_tool", [t for t in codes("substance.gene_editing_tool") if t != NONE])
    card["process"]["manipulations"] = [m for m in card["process"]["manipulations"] if m != "gene_editing"]
    return card


def _break_modification_without_material(ch: Chooser, card_id: str) -> dict:
    card = build_card(ch, card_id, sorted(CELLULAR | MICROBES))
    s = card["substance"]
    s["payload"] = _pick_other(ch, "substance.payload", [p for p in codes("substance.payload") if p != GENETIC])
    s["nucleic_acid"] = NONE
    s["vector"] = NONE
    manip = card["process"]["manipulations"]
    if "genetic_modification" not in manip:
        manip.append("genetic_modification")
    return card


def _break_viral_vector(ch: Chooser, card_id: str) -> dict:
    card = build_card(ch, card_id, ["viral_vector"])
    card["substance"]["vector"] = _pick_other(ch, "substance.vector", [v for v in codes("substance.vector") if v not in VIRAL_VECTORS])
    return card


def _break_oncolytic(ch: Chooser, card_id: str) -> dict:
    card = build_card(ch, card_id, [k for k in codes("substance.kind") if k not in MICROBES])
    card["substance"]["oncolytic"] = True
    return card


def _break_neoantigen(ch: Chooser, card_id: str) -> dict:
    card = build_card(ch, card_id, sorted(NEOANTIGEN_KINDS))
    card["substance"]["neoantigen"] = True
    card["function"]["intended_use"] = PROPHYLACTIC
    return card


def _break_chemical(ch: Chooser, card_id: str) -> dict:
    card = build_card(ch, card_id, sorted(CHEMICALS))
    manip = card["process"]["manipulations"]
    # genetic_modification only with a gene-delivering vector, else it would also break genetic_modification_needs_material
    has_vector = card["substance"].get("vector", NONE) not in NO_GENES
    extra = _pick_other(ch, "process.manipulations", sorted(GENETIC_MANIPULATIONS) if has_vector else ["gene_editing"])
    if extra not in manip:
        manip.append(extra)
    return card


def _break_mechanical(ch: Chooser, card_id: str) -> dict:
    card = build_card(ch, card_id, sorted(NON_LIVING))
    living = _pick_other(ch, "function.mechanism", sorted(LIVING_MECHANISMS - {ONCOLYSIS}))
    card["function"]["mechanism"] = [MECHANICAL, living]
    return card


def _break_genetic_without_type(ch: Chooser, card_id: str) -> dict:
    card = build_card(ch, card_id, ["viral_vector"])  # always genetic material
    card["substance"]["nucleic_acid"] = NONE
    return card


def _break_type_without_genetic(ch: Chooser, card_id: str) -> dict:
    card = build_card(ch, card_id, sorted(CHEMICALS | {"organelles", "blood_component", "platelets", "germ_cells_or_embryos"}))  # never genetic
    # an aptamer may go without a genetic payload, so it would break nothing
    genetic_types = [n for n in codes("substance.nucleic_acid") if n != NONE and n not in EXTRACELLULAR_NUCLEIC_ACIDS]
    card["substance"]["nucleic_acid"] = _pick_other(ch, "substance.nucleic_acid", genetic_types)
    return card


def _break_nucleic_acid_kind(ch: Chooser, card_id: str) -> dict:
    card = build_card(ch, card_id, ["nucleic_acid"])
    s = card["substance"]
    s["payload"] = s["nucleic_acid"] = NONE  # payload none too, else genetic_payload_needs_nucleic_acid would fire as well
    if s.get("vector", NONE) == NONE:
        card["process"]["manipulations"] = [m for m in card["process"]["manipulations"] if m != "genetic_modification"]
    return card


def _break_flag(field: str, kinds: Callable[[], Iterable[str]]) -> Callable[[Chooser, str], dict]:
    def breaker(ch: Chooser, card_id: str) -> dict:
        card = build_card(ch, card_id, sorted(kinds()))
        card["substance"][field.split(".", 1)[1]] = True
        return card

    return breaker


def _break_engineered_or_novel(ch: Chooser, card_id: str) -> dict:
    field = _pick_other(ch, "breaker", ["substance.genetically_engineered", "substance.novel_species"])
    return _break_flag(field, lambda: set(codes("substance.kind")) - ENGINEERABLE)(ch, card_id)


BREAKERS: dict[str, Callable[[Chooser, str], dict]] = {
    "cells_need_cell_type": _break_cell_type,
    "cells_need_origin": _break_origin,
    "gene_editing_needs_tool": _break_editing_without_tool,
    "editing_tool_needs_gene_editing": _break_tool_without_editing,
    "genetic_modification_needs_material": _break_modification_without_material,
    "viral_vector_kind_needs_viral_vector": _break_viral_vector,
    "oncolytic_needs_microorganism": _break_oncolytic,
    "neoantigen_not_prophylactic": _break_neoantigen,
    "no_genetic_manipulation_of_chemicals": _break_chemical,
    "mechanical_with_living_mechanism": _break_mechanical,
    "genetic_payload_needs_nucleic_acid": _break_genetic_without_type,
    "nucleic_acid_needs_genetic_payload": _break_type_without_genetic,
    "nucleic_acid_kind_needs_nucleic_acid": _break_nucleic_acid_kind,
    "pluripotent_derived_needs_cells": _break_flag("substance.pluripotent_derived", lambda: set(codes("substance.kind")) - PLURIPOTENT_SHAPE_KINDS),
    "replication_competence_needs_microorganism": _break_flag("substance.replication_competent", lambda: set(codes("substance.kind")) - MICROBES),
    "engineered_or_novel_needs_microorganism": _break_engineered_or_novel,
}
"""SHACL Violation ``atmp:resultCode`` -> a builder of a card that contradicts exactly that shape."""


# ============================================================================================ the whole schema
def build_unconstrained(ch: Chooser, card_id: str) -> dict:
    """Any card the schema allows, with none of the consistency rules above: every field independently.

    Each optional field is left out or given any of its values (``null`` where the enum allows it); each list
    any subset within its ``minItems``/``maxItems``. Most such cards contradict themselves (SHACL Violations):
    they are what a careless user sends, and no schema-valid card may make the classifier fail (issue 27).
    """
    card: dict[str, Any] = {"id": card_id, "substance": {}, "process": {}, "function": {}}
    for f in vocabulary().values():
        if not f.required and ch.omit(f.path, 0.3):
            continue
        part = card[f.section]
        if f.type == "list":
            cap = len(f.codes) if f.max_items is None else min(len(f.codes), f.max_items)
            part[f.key] = ch.subset(f.path, f.codes, (), f.min_items, cap)
        else:
            part[f.key] = ch.pick(f.path, f.values)
    if ch.coin(0.2):
        card["label"] = {"en": f"unconstrained card {card_id}"}
    return card


def generate_unconstrained(n: int, seed: int, id_prefix: str = "any") -> list[dict]:
    """``n`` cards from the whole schema (:func:`build_unconstrained`); ids ``{id_prefix}-{seed}-{index:06d}``."""
    rng = random.Random(seed)
    return [build_unconstrained(RandomChooser(rng), f"{id_prefix}-{seed}-{i:06d}") for i in range(n)]


# ============================================================================================ batches
@dataclass(frozen=True)
class GeneratedCard:
    card: dict
    broken: str | None  # the Violation shape's resultCode this card was built to trigger, None when consistent


COVERAGE_ATTEMPTS = 200


def generate(n: int, seed: int, inconsistent_fraction: float = 0.0, id_prefix: str = "gen") -> list[GeneratedCard]:
    """``n`` cards from ``seed``; ids ``{id_prefix}-{seed}-{index:06d}`` (unique, schema-valid).

    Consistent cards cover the vocabulary as early as possible (see the module docstring). Each card is
    inconsistent with probability ``inconsistent_fraction``; breakers are taken in turn.
    """
    if not 0.0 <= inconsistent_fraction <= 1.0:
        raise ValueError("inconsistent_fraction must be between 0 and 1")
    rng = random.Random(seed)
    pending = vocabulary_items()
    covered: set[tuple[str, Any]] = set()
    unreachable: set[tuple[str, Any]] = set()
    breakers = list(BREAKERS)
    broken = 0
    out: list[GeneratedCard] = []
    for i in range(n):
        card_id = f"{id_prefix}-{seed}-{i:06d}"
        if inconsistent_fraction and rng.random() < inconsistent_fraction:
            code = breakers[broken % len(breakers)]
            broken += 1
            out.append(GeneratedCard(BREAKERS[code](RandomChooser(rng), card_id), code))
            continue
        card = None
        while pending and card is None:
            target = pending[0]
            if target in covered or target in unreachable:
                pending.pop(0)
                continue
            for _ in range(COVERAGE_ATTEMPTS):
                candidate = build_card(RandomChooser(rng, target), card_id)
                if target in card_items(candidate):
                    card = candidate
                    break
            else:
                unreachable.add(target)
        if card is None:
            card = build_card(RandomChooser(rng), card_id)
        covered |= card_items(card)
        out.append(GeneratedCard(card, None))
    return out


def generate_cards(n: int, seed: int, inconsistent_fraction: float = 0.0, id_prefix: str = "gen") -> list[dict]:
    """``n`` schema-valid cards from ``seed`` (see :func:`generate`); consistent unless ``inconsistent_fraction``."""
    return [g.card for g in generate(n, seed, inconsistent_fraction, id_prefix)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cardgen", description="Write n generated product cards as a JSON array.")
    parser.add_argument("n", type=int)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--inconsistent", type=float, default=0.0, help="fraction of self-contradictory cards (default 0)")
    parser.add_argument("--id-prefix", default="gen")
    parser.add_argument("--unconstrained", action="store_true", help="any card the schema allows, no consistency rules (most contradict themselves)")
    parser.add_argument("--jsonl", action="store_true", help="one card per line (JSON Lines) instead of one JSON array")
    parser.add_argument("-o", "--output", help="file to write (default: standard output)")
    args = parser.parse_args(argv)
    cards = generate_unconstrained(args.n, args.seed, args.id_prefix) if args.unconstrained else generate_cards(args.n, args.seed, args.inconsistent, args.id_prefix)
    if args.jsonl:
        text = "\n".join(json.dumps(c, ensure_ascii=False) for c in cards)
    else:
        text = json.dumps(cards, ensure_ascii=False)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
