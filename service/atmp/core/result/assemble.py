"""Assemble the contract's result from class memberships, driven by the ontology's result annotations.

A single-valued field (``atmp:resultField`` of classes with an ``atmp:resultCode``) holds one code. The rule
book is proved to keep them apart (``atmp qc``: exclusive-result-fields), but an edited copy may not: then the
field is left empty and the result carries a ``rule_conflict`` violation naming the field, both classes and
their sources, so one such card never costs a batch its other results (issue 27).
"""

from __future__ import annotations

from dataclasses import replace

from rdflib import RDFS, URIRef

from atmp.core.engines.evaluator import ProductContext
from atmp.core.explain.brief import brief_entry
from atmp.core.explain.proof import Prover
from atmp.core.explain.walk import LEVELS, explanation_entry, not_atmp_entry, not_met_entry
from atmp.core.rules.layout import RULE_CONFLICT, SINGLE_FIELDS, skeleton
from atmp.core.rules.messages import specific_text
from atmp.core.rules.namespaces import local_name
from atmp.core.rules.ontology import OntologyModel, ResultClass
from atmp.core.rules.regimes import CROSSWALK_FIELD, block_owner, crosswalk_classes, field_shapes, regime_codes


class Explainer:
    """The explanation entries of one product at one level (``none`` makes none and does no work for them)."""

    def __init__(self, model: OntologyModel, ctx: ProductContext, card: dict, level: str, members: set[URIRef]):
        if level not in LEVELS:
            raise ValueError(f"unknown explanation level {level!r}; expected one of {LEVELS}")
        self.model, self.ctx, self.card, self.level, self.members = model, ctx, card, level, members
        if level == "brief":
            result_iris = model.memo.get("result_iris")
            if result_iris is None:
                result_iris = model.memo["result_iris"] = frozenset(ctx.ev.canon.get(rc.iri, rc.iri) for rc in model.result_classes)
            self.prover = Prover(model, ctx, frozenset(members) & result_iris)

    def entry(self, rc: ResultClass, conclusion: str, value, holds: bool = True) -> dict | None:
        if self.level == "none":
            return None
        if self.level == "brief":
            return brief_entry(self.model, self.prover, rc, conclusion, value, self.card, holds)
        return explanation_entry(self.model, self.ctx, rc, conclusion, value) if holds else not_met_entry(self.model, self.ctx, rc, conclusion, value)

    def not_atmp(self, atmp_rc: ResultClass) -> dict | None:
        """``atmp = false``, told at every level by the class the applied exclusion belongs to (``atmp:NotAnATMP``)."""
        if self.level == "none":
            return None
        exclusions = [rc.iri for rc in self.model.result_classes if rc.field == "exclusion" and rc.iri in self.members]
        outside = next((s for e in exclusions for s in self.model.graph.objects(e, RDFS.subClassOf) if isinstance(s, URIRef)), None)
        if self.level == "full":
            return not_atmp_entry(self.model, self.ctx, atmp_rc, outside, self.members)
        if outside is None:  # no exclusion holds: why the ATMP definition fails
            return brief_entry(self.model, self.prover, atmp_rc, f"{atmp_rc.field} = false", False, self.card, holds=False)
        deciding = replace(atmp_rc, iri=outside, label=self.model.label(outside), source=self.model.source(outside))
        return brief_entry(self.model, self.prover, atmp_rc, f"{atmp_rc.field} = false", False, self.card, holds=True, deciding=deciding)


def conflict_finding(model: OntologyModel, field: str, classes: list[ResultClass]) -> dict:
    """The violation for a single-valued field the rules filled twice: the field in words, each class and its source."""
    words = model.field_words(field).label
    listed = {
        lang: ("；" if lang == "zh" else "; ").join(
            f"{rc.label.get(lang, rc.code)}（{rc.source}）" if lang == "zh" else f"{rc.label.get(lang, rc.code)} ({rc.source})" for rc in classes
        )
        for lang in ("en", "zh")
    }
    return {
        "code": RULE_CONFLICT,
        "severity": "Violation",
        "path": field,
        "field": field,
        "classes": [local_name(rc.iri) for rc in classes],
        "codes": [rc.code for rc in classes],
        "message": {
            "en": f"The rules put this product in {len(classes)} classes of one field, {words.get('en', field)}: {listed['en']}. "
            "The field is left empty. The rule book needs a priority between them (atmp qc names such overlaps); until then a reviewer decides.",
            "zh": f"规则将本产品同时归入同一字段（{words.get('zh', field)}）的{len(classes)}个类别：{listed['zh']}。该字段留空。"
            "规则库需在二者之间规定优先顺序（atmp qc会指出此类重叠）；在此之前由审评人员判断。",
        },
        "source": "; ".join(dict.fromkeys(rc.source for rc in classes if rc.source)),
    }


def assemble(model: OntologyModel, card: dict, members: set[URIRef], ctx: ProductContext, explain: str = "full", regimes: frozenset[str] | None = None) -> dict:
    """The contract result; ``explain`` is ``full`` (the definition walk), ``brief`` (the proof) or ``none``."""
    ex = Explainer(model, ctx, card, explain, members)
    hits: dict[str, list[ResultClass]] = {f: [] for f in SINGLE_FIELDS}
    criteria: list[int] = []
    borderline: list[dict] = []
    pending: list[tuple] = []  # (field or None, result class, conclusion, value), in the ontology's order
    atmp = False
    atmp_rc = None
    for rc in model.result_classes:
        if rc.field == "atmp":
            atmp_rc = rc
        if rc.iri not in members:
            continue
        if rc.field == "atmp":
            atmp = True
            pending.append((None, rc, "atmp = true", True))
        elif rc.field in hits:
            hits[rc.field].append(rc)
            pending.append((rc.field, rc, f"{rc.field} = {rc.code}", rc.code))
        elif rc.field == "tianjin.criteria":
            criteria.append(int(rc.number))  # type: ignore[arg-type]
            pending.append((None, rc, f"tianjin.criteria includes {rc.number}", rc.number))
        elif rc.field == "borderline":
            specific = replace(rc, definition=specific_text(model, rc.iri, rc.definition, members))
            borderline.append({"code": rc.code, "severity": rc.severity or "warning", "message": specific.definition, "source": rc.source})
            pending.append((None, specific, f"borderline: {rc.code}", rc.code))
    conflicts = [conflict_finding(model, f, classes) for f, classes in hits.items() if len(classes) > 1]
    conflicted = {c["field"] for c in conflicts}
    single = {f: (classes[0].code if len(classes) == 1 else None) for f, classes in hits.items()}
    explanation = [ex.entry(rc, conclusion, value) for f, rc, conclusion, value in pending if f not in conflicted]
    if not atmp and atmp_rc is not None:
        explanation.insert(0, ex.not_atmp(atmp_rc))
    result = skeleton(card["id"], single, atmp, criteria, borderline, [e for e in explanation if e is not None])
    blocks, block_conflicts = assemble_blocks(model, members, ex, regimes)
    result.update(blocks)
    result["violations"] = conflicts + block_conflicts  # SHACL's are added by the path (atmp.core.classify)
    result["conforms"] = not result["violations"]
    result["rule_version"] = {"iri": model.version_iri, "info": model.version_info}  # the rules that produced this answer
    return result


def assemble_blocks(model: OntologyModel, members: set[URIRef], ex: Explainer, selected: frozenset[str] | None = None) -> tuple[dict, list[dict]]:
    """The EU/US/JP blocks and the crosswalk list for one product, from its memberships; and any rule conflicts.

    The blocks' explanations follow the same level as N and T (``ex``); ``none`` leaves their lists empty.
    """
    selected = frozenset(regime_codes(model)) if selected is None else selected
    owner = block_owner(model)
    out: dict = {}
    conflicts: list[dict] = []
    for shape in field_shapes(model):
        if owner[shape.block].code not in selected:
            continue
        block = out.setdefault(shape.block, {"explanation": []})
        explanation = block["explanation"]
        fld = f"{shape.block}.{shape.key}"
        if shape.kind == "list":
            block[shape.key] = []
            for rc in shape.classes:
                if rc.iri in members:
                    block[shape.key].append({"code": rc.code, "severity": rc.severity or "warning", "message": rc.definition, "source": rc.source})
                    explanation.append(ex.entry(rc, f"{fld}: {rc.code}", rc.code))
        elif shape.kind == "code":
            hits = [rc for rc in shape.classes if rc.iri in members]
            if len(hits) > 1:
                conflicts.append(conflict_finding(model, fld, hits))
            block[shape.key] = hits[0].code if len(hits) == 1 else None
            if len(hits) == 1:
                explanation.append(ex.entry(hits[0], f"{fld} = {hits[0].code}", hits[0].code))
        else:
            rc = shape.classes[0]
            block[shape.key] = rc.iri in members
            if rc.iri in members:
                explanation.append(ex.entry(rc, f"{fld} = true", True))
            else:
                explanation.append(ex.entry(rc, f"{fld} = false", False, holds=False))
    # blocks in a stable order: explanation last, the fields as the ontology's field order gives them
    for block in out.values():
        block["explanation"] = [e for e in block["explanation"] if e is not None]
    out = {b: {k: v for k, v in sorted(block.items(), key=lambda kv: kv[0] == "explanation")} for b, block in out.items()}
    crosswalk = []
    for c in crosswalk_classes(model):
        if c.rc.iri in members and set(c.regimes) <= selected:
            crosswalk.append({"code": c.rc.code, "regimes": list(c.regimes), "axis": c.axis, "summary": c.rc.label, "message": c.rc.definition, "source": c.rc.source})
    out[CROSSWALK_FIELD] = crosswalk
    return out, conflicts
