"""The regimes (N, T, EU, US, Japan) and their result blocks, read from the ontology; and the crosswalk.

Why a module of its own: the N and T result shape is fixed by the contract and assembled by
:mod:`atmp.core.result.assemble`; the EU, US and Japanese blocks and the crosswalk are assembled here, generically,
from the same annotations (``atmp:resultField``, ``atmp:resultCode``, ``atmp:severity``) plus the regime
individuals of ``ontology/src/crosswalk.ttl`` (``atmp:regimeCode``, ``atmp:resultBlock``,
``atmp:scopeClass``) and each crosswalk class's ``atmp:comparesRegime`` / ``atmp:crosswalkAxis``. A new
regime, field or disagreement is an ontology edit: nothing here names one.

The shape of a field follows from its classes: classes with an ``atmp:severity`` are entries of a list
(borderline), classes with an ``atmp:resultCode`` fill a single code (``null`` when none holds), and a
class without a code is a boolean flag (``false`` when it does not hold).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rdflib import RDF, URIRef

from atmp.core.rules.layout import SINGLE_FIELDS
from atmp.core.rules.namespaces import local_name as _local
from atmp.core.rules.ontology import ATMP, OntologyModel, ResultClass
from atmp.core.rules.resources import RESULT_SCHEMA, schema

CROSSWALK_FIELD = "crosswalk"


class RegimeError(ValueError):
    """A ``--regimes`` selection names a regime the ontology does not define."""


@dataclass(frozen=True)
class Regime:
    code: str
    iri: URIRef
    blocks: tuple[str, ...]
    scope_class: URIRef | None
    label: dict[str, str]
    always: bool  # its blocks are required by the result contract, so they are always computed


@dataclass(frozen=True)
class FieldShape:
    block: str
    key: str
    kind: str  # "list" | "code" | "flag"
    classes: tuple[ResultClass, ...]


@dataclass(frozen=True)
class Crosswalk:
    rc: ResultClass
    regimes: tuple[str, ...]
    axis: str


def regimes(model: OntologyModel) -> list[Regime]:
    """The regime individuals in the ontology, in the order of their codes' first appearance (n, t, eu...)."""
    if "regimes" not in model.memo:
        g = model.graph
        required = set(schema(RESULT_SCHEMA).get("required", []))
        out = []
        for ind in g.subjects(RDF.type, ATMP.Regime):
            code = g.value(ind, ATMP.regimeCode)
            if code is None:
                continue
            blocks = tuple(sorted(str(b) for b in g.objects(ind, ATMP.resultBlock)))
            scope = g.value(ind, ATMP.scopeClass)
            out.append(Regime(str(code), ind, blocks, scope if isinstance(scope, URIRef) else None, model.label(ind), bool(blocks) and set(blocks) <= required))  # type: ignore[arg-type]
        out.sort(key=lambda r: (not r.always, _local(r.iri)))
        model.memo["regimes"] = out
    return model.memo["regimes"]


def regime_codes(model: OntologyModel) -> list[str]:
    return [r.code for r in regimes(model)]


def parse_selection(model: OntologyModel, selection: str | Iterable[str] | None) -> frozenset[str]:
    """``"n,t,eu"`` or a list of codes -> the selected codes (``None`` = all). Unknown codes are an error."""
    known = regime_codes(model)
    if selection is None:
        return frozenset(known)
    items = [s.strip() for s in selection.split(",")] if isinstance(selection, str) else [str(s).strip() for s in selection]
    items = [s for s in items if s]
    if not items:
        raise RegimeError(f"no regime given; expected a comma-separated list of: {', '.join(known)}")
    unknown = [s for s in items if s not in known]
    if unknown:
        raise RegimeError(f"unknown regime {unknown[0]!r}; expected a comma-separated list of: {', '.join(known)}")
    return frozenset(items)


def block_owner(model: OntologyModel) -> dict[str, Regime]:
    return {b: r for r in regimes(model) for b in r.blocks}


def field_shapes(model: OntologyModel) -> list[FieldShape]:
    """The generic fields (``eu.class``, ``us.borderline``...): those of regimes the contract does not fix."""
    if "field_shapes" not in model.memo:
        owner = block_owner(model)
        by_field: dict[str, list[ResultClass]] = {}
        for rc in model.result_classes:
            block = rc.field.split(".", 1)[0]
            if "." in rc.field and block in owner and not owner[block].always:
                by_field.setdefault(rc.field, []).append(rc)
        shapes = []
        for fld, classes in by_field.items():
            block, key = fld.split(".", 1)
            kind = "list" if any(c.severity for c in classes) else "code" if any(c.code for c in classes) else "flag"
            shapes.append(FieldShape(block, key, kind, tuple(classes)))
        model.memo["field_shapes"] = shapes
    return model.memo["field_shapes"]


def single_valued_fields(model: OntologyModel) -> list[str]:
    """Every result field that holds at most one code: the contract's (``layout.SINGLE_FIELDS``) and each regime's code fields."""
    return [*SINGLE_FIELDS, *(f"{s.block}.{s.key}" for s in field_shapes(model) if s.kind == "code")]


def crosswalk_classes(model: OntologyModel) -> list[Crosswalk]:
    if "crosswalk" not in model.memo:
        g = model.graph
        code_of = {r.iri: r.code for r in regimes(model)}
        out = []
        for rc in model.result_classes:
            if rc.field != CROSSWALK_FIELD:
                continue
            compared = tuple(sorted((code_of[r] for r in g.objects(rc.iri, ATMP.comparesRegime) if r in code_of), key=regime_codes(model).index))
            axis = g.value(rc.iri, ATMP.crosswalkAxis)
            out.append(Crosswalk(rc, compared, "" if axis is None else str(axis)))
        model.memo["crosswalk"] = out
    return model.memo["crosswalk"]


def selected_classes(model: OntologyModel, selected: frozenset[str] | None) -> list[ResultClass]:
    """The result classes to evaluate for a selection: every class of a selected (or always-computed) regime,
    and each crosswalk class whose compared regimes are all selected."""
    if selected is None:
        return list(model.result_classes)
    owner = block_owner(model)
    crosswalk = {c.rc.iri: c for c in crosswalk_classes(model)}
    out = []
    for rc in model.result_classes:
        if rc.iri in crosswalk:
            if set(crosswalk[rc.iri].regimes) <= selected:
                out.append(rc)
            continue
        regime = owner.get(rc.field.split(".", 1)[0])
        if regime is None or regime.always or regime.code in selected:
            out.append(rc)
    return out


def answers_of_result(result: dict) -> list[str]:
    """The EU/US/JP and crosswalk answers of a result as ``block.key=value`` lines (messages and explanations left out).

    Used to hold engines to the same answers (tests, benchmarks): any block with an ``explanation`` list
    is a regime block, so nothing here names a regime.
    """
    out = []
    for block, value in result.items():
        if isinstance(value, dict) and isinstance(value.get("explanation"), list):
            for key, v in value.items():
                if key == "explanation":
                    continue
                if isinstance(v, list):
                    out.extend(f"{block}.{key}={e['code']}" for e in v)
                else:
                    out.append(f"{block}.{key}={'null' if v is None else str(v).lower() if isinstance(v, bool) else v}")
    out.extend(f"{CROSSWALK_FIELD}={e['code']}" for e in result.get(CROSSWALK_FIELD, []))
    return sorted(out)


def answers_of_members(model: OntologyModel, members: Iterable[URIRef]) -> list[str]:
    """The same lines as :func:`answers_of_result`, straight from a set of memberships (e.g. HermiT's)."""
    members = set(members)
    out = []
    for shape in field_shapes(model):
        fld = f"{shape.block}.{shape.key}"
        hits = [rc for rc in shape.classes if rc.iri in members]
        if shape.kind == "list":
            out.extend(f"{fld}={rc.code}" for rc in hits)
        elif shape.kind == "code":
            out.append(f"{fld}={hits[0].code if hits else 'null'}")
        else:
            out.append(f"{fld}={'true' if hits else 'false'}")
    out.extend(f"{CROSSWALK_FIELD}={c.rc.code}" for c in crosswalk_classes(model) if c.rc.iri in members)
    return sorted(out)
