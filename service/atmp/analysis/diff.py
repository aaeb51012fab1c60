"""What a rule change does, before it is adopted: the rule changes in words, and every product that moves.

A committee deciding on an edit of N or T asks two questions: *what changed in the rules* and *which
products move, and why*. :func:`diff_rules` answers both for two ontologies (files, edit sources with the
modules they import, or git revisions): class definitions before and after in a Manchester-like syntax with
labels, citations added or removed, vocabulary codes moved between groupings, labels and definitions
changed, and -- from classifying the same cards with both -- every result field that moves, with the rule
(label + N/T source) that decides the new value.

Nothing here knows a class, code or criterion: groupings are whatever enumerated classes (``owl:oneOf``)
the ontology defines, result fields are whatever :mod:`atmp.core.result.assemble` assembles, and the "rule that
decides" is read from the new result's own explanation.

May import: :mod:`atmp.core` (and :mod:`atmp.kg`, not needed here).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import OWL, RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection

from atmp.core.card.schema import CardError, load_cards
from atmp.core.classify import classify_cards
from atmp.core.rules import layout
from atmp.core.rules.layout import CRITERIA, INTERNAL_ERROR
from atmp.core.rules.ontology import ATMP, CATALOG_FILE, DCT, SKOS, OntologyError, OntologyModel, load_model, parse_catalog
from atmp.core.rules.resources import catalogue_file

ONTOLOGY_IN_REPO = "ontology/atmp.ttl"
"""Where ``git:REV`` finds the merged ontology in a revision of the repository (``git:REV:path`` picks another)."""

CHUNK = 1000
"""Cards classified per side and step: a 10,000-card comparison never holds 20,000 full results."""

DEFINING = (OWL.equivalentClass, RDFS.subClassOf, OWL.disjointWith, OWL.complementOf)
"""Predicates whose change alters what a class means (rendered before/after in Manchester-like syntax)."""
TEXTS = {RDFS.label: "label", SKOS.definition: "definition"}


class DiffInputError(ValueError):
    """An OLD/NEW argument that cannot be read as an ontology (missing file, unknown revision, parse error)."""


# --------------------------------------------------------------------------- reading rule versions


@dataclass
class RuleSource:
    """One side of the comparison: where it came from, the merged graph, and the model built from it."""

    spec: str
    path: Path  # a Turtle file holding the merged graph (a temporary copy for git revisions and edit sources)
    graph: Graph
    model: OntologyModel
    imported: list[str] = field(default_factory=list)  # modules loaded from beside the file
    unresolved_imports: list[str] = field(default_factory=list)  # owl:imports not found beside it (reported, not dropped)

    @property
    def version(self) -> dict[str, str]:
        return {"iri": self.model.version_iri, "info": self.model.version_info}


def _git(args: list[str], cwd: Path) -> bytes:
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=60)
    except FileNotFoundError:
        raise DiffInputError("git is not installed") from None
    if proc.returncode != 0:
        raise DiffInputError(proc.stderr.decode(errors="replace").strip().splitlines()[-1] if proc.stderr else f"git {' '.join(args)} failed")
    return proc.stdout


def repo_root(start: Path | None = None) -> Path:
    """The git checkout ``git:`` revisions are read from: the one holding the working directory."""
    try:
        out = _git(["rev-parse", "--show-toplevel"], start or Path.cwd())
    except DiffInputError:
        raise DiffInputError(f"{start or Path.cwd()}: not inside a git repository (needed for git: revisions)") from None
    return Path(out.decode().strip())


class _Files:
    """Reads files of one side: the file system, or one git revision (so imports come from the same revision)."""

    def __init__(self, rev: str | None, root: Path | None):
        self.rev, self.root = rev, root

    def read(self, path: str) -> bytes:
        if self.rev is None:
            from atmp.core.rules.files import FileRefused, read_file

            try:
                return read_file(path, what="rule file")  # a regular file of bounded size (not /dev/zero, not a FIFO)
            except FileRefused as exc:
                raise DiffInputError(str(exc)) from None
        assert self.root is not None
        try:
            return _git(["show", f"{self.rev}:{path}"], self.root)
        except DiffInputError as exc:
            raise DiffInputError(f"git:{self.rev}:{path}: {exc}") from None

    def exists(self, path: str) -> bool:
        if self.rev is None:
            return Path(path).is_file()
        assert self.root is not None
        return subprocess.run(["git", "cat-file", "-e", f"{self.rev}:{path}"], cwd=self.root, capture_output=True, timeout=60).returncode == 0

    def normal(self, path: Path) -> str:
        """A path with ``..`` folded (git revisions only know normalised paths)."""
        return os.path.normpath(str(path))

    def siblings(self, path: str) -> list[str]:
        """Turtle files in the folder of ``path`` and below it (where an edit source's modules sit)."""
        if self.rev is None:
            folder = Path(path).parent
            return sorted(str(p) for p in folder.rglob("*.ttl") if p.resolve() != Path(path).resolve())
        assert self.root is not None
        folder = str(Path(path).parent)
        out = _git(["ls-tree", "-r", "--name-only", self.rev, "--", "." if folder == "." else folder + "/"], self.root).decode().split("\n")
        return sorted(p for p in out if p.endswith(".ttl") and p != path)


def _parse(data: bytes, name: str) -> Graph:
    graph = Graph()
    try:
        graph.parse(data=data, format="turtle")
    except Exception as exc:  # noqa: BLE001 - any parser failure means the input is unusable
        first = " ".join(str(exc).split())[:300] or type(exc).__name__  # one line on stderr, whatever the parser said
        raise DiffInputError(f"{name}: not readable as Turtle: {first}") from None
    return graph


def _with_imports(files: _Files, path: str, graph: Graph, name: str) -> tuple[Graph, list[str], list[str]]:
    """Merge the modules an edit source ``owl:imports`` when they sit beside it (matched by ontology IRI).

    The merged ``ontology/atmp.ttl`` imports nothing, so it passes through unchanged. Imports found nowhere
    beside the file are returned so the report names them: nothing the input asks for is silently dropped.
    """
    wanted = [o for o in graph.objects(None, OWL.imports) if isinstance(o, URIRef)]
    if not wanted:
        return graph, [], []
    by_iri: dict[URIRef, tuple[str, Graph]] = {}
    candidates = files.siblings(path)
    folder = Path(path).parent
    catalog = str(folder / CATALOG_FILE)
    if files.exists(catalog):  # resolve as Protégé and the build do: the catalogue beside the edit source first
        try:
            entries = parse_catalog(files.read(catalog))
        except OntologyError as exc:
            raise DiffInputError(f"{name}: {exc}") from None
        candidates = [files.normal(folder / rel) for rel in entries.values()] + candidates
    for sib in candidates:
        if not files.exists(sib):
            continue
        g = _parse(files.read(sib), sib)
        for ont in g.subjects(RDF.type, OWL.Ontology):
            if isinstance(ont, URIRef):
                by_iri[ont] = (sib, g)
    merged, loaded, missing, seen = Graph(), [], [], set()
    for t in graph:
        merged.add(t)
    queue = list(wanted)
    while queue:
        iri = queue.pop(0)
        if iri in seen:
            continue
        seen.add(iri)
        if iri not in by_iri:
            missing.append(str(iri))
            continue
        sib, g = by_iri[iri]
        loaded.append(sib)
        for t in g:
            merged.add(t)
        queue.extend(o for o in g.objects(None, OWL.imports) if isinstance(o, URIRef))
    return merged, loaded, missing


def load_source(spec: str, workdir: Path, root: Path | None = None) -> RuleSource:
    """Read OLD or NEW: a Turtle file, or ``git:REV`` (``REV:ontology/atmp.ttl``) / ``git:REV:path``.

    Git revisions are written to ``workdir`` (the caller's temporary folder) because the model is loaded
    from a file; so are merged edit sources. Raises :class:`DiffInputError` naming the argument.
    """
    if spec.startswith("git:"):
        rest = spec[4:]
        if not rest:
            raise DiffInputError(f"{spec}: expected git:REV or git:REV:path")
        rev, _, path = rest.partition(":")
        path = path or ONTOLOGY_IN_REPO
        base = root or repo_root()
        if not _rev_exists(rev, base):
            raise DiffInputError(f"{spec}: unknown git revision {rev!r}")
        files = _Files(rev, base)
    else:
        path = spec
        files = _Files(None, None)
    data = files.read(path)
    graph = _parse(data, spec)
    graph, loaded, missing = _with_imports(files, path, graph, spec)
    # always a fresh file: models are cached per path, and a file edited in place must not answer from the cache
    target = workdir / f"rules-{len(list(workdir.iterdir()))}.ttl"
    if loaded:
        graph.serialize(target, format="turtle")
    else:
        target.write_bytes(data)
    try:
        model = load_model(target)
    except Exception as exc:  # noqa: BLE001 - OntologyError and parser errors: the input is not a rule book
        raise DiffInputError(f"{spec}: {str(exc).splitlines()[0].replace(str(target) + ': ', '').replace(str(target), spec)}") from None
    return RuleSource(spec, target, model.graph, model, loaded, missing)


def _rev_exists(rev: str, root: Path) -> bool:
    proc = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], cwd=root, capture_output=True, timeout=60)
    return proc.returncode == 0


# --------------------------------------------------------------------------- rendering class expressions


class Renderer:
    """Class expressions in a Manchester-like syntax with the ontology's labels (``lang``, falling back to the local name)."""

    def __init__(self, graph: Graph, lang: str = "en", labels: bool = True):
        self.g, self.lang, self.labels = graph, lang, labels  # labels=False: local names, to compare structure only

    def name(self, node) -> str:
        if isinstance(node, Literal):
            return json.dumps(str(node), ensure_ascii=False)
        if isinstance(node, URIRef):
            if not self.labels:
                return str(node)
            labels = {lit.language: str(lit) for lit in self.g.objects(node, RDFS.label) if isinstance(lit, Literal)}
            return labels.get(self.lang) or labels.get("en") or _local(node)
        return self.expr(node)

    def code(self, node: URIRef) -> str:
        """``culture_expansion (培养扩增 / culture expansion)``: the card code with both labels."""
        labels = {lit.language: str(lit) for lit in self.g.objects(node, RDFS.label) if isinstance(lit, Literal)}
        code = self.g.value(node, ATMP.code)
        shown = " / ".join(v for v in (labels.get("zh"), labels.get("en")) if v)
        return f"{code or _local(node)} ({shown})" if shown else str(code or _local(node))

    def _items(self, node) -> list:
        try:
            return list(Collection(self.g, node))
        except Exception:  # noqa: BLE001 - a malformed list is shown as the node itself
            return [node]

    def expr(self, node, top: bool = True) -> str:
        """Render one class expression; nested compound expressions are parenthesised."""
        if not isinstance(node, BNode):
            return self.name(node)
        g = self.g
        wrap = (lambda s: s) if top else (lambda s: f"({s})")
        if (lst := g.value(node, OWL.intersectionOf)) is not None:
            return wrap(" and ".join(self.expr(i, False) for i in self._items(lst)))
        if (lst := g.value(node, OWL.unionOf)) is not None:
            return wrap(" or ".join(self.expr(i, False) for i in self._items(lst)))
        if (c := g.value(node, OWL.complementOf)) is not None:
            return f"not {self.expr(c, False)}"
        if (lst := g.value(node, OWL.oneOf)) is not None:
            return "{" + ", ".join(sorted(self.name(i) for i in self._items(lst))) + "}"
        prop = g.value(node, OWL.onProperty)
        if prop is not None:
            p = self.name(prop)
            for pred, word in ((OWL.someValuesFrom, "some"), (OWL.allValuesFrom, "only")):
                if (v := g.value(node, pred)) is not None:
                    return wrap(f"{p} {word} {self.expr(v, False)}")
            if (v := g.value(node, OWL.hasValue)) is not None:
                return wrap(f"{p} value {self.name(v)}")
            for pred, word in (
                (OWL.minCardinality, "min"),
                (OWL.maxCardinality, "max"),
                (OWL.cardinality, "exactly"),
                (OWL.minQualifiedCardinality, "min"),
                (OWL.maxQualifiedCardinality, "max"),
                (OWL.qualifiedCardinality, "exactly"),
            ):
                if (v := g.value(node, pred)) is not None:
                    on = g.value(node, OWL.onClass)
                    return wrap(f"{p} {word} {v}" + (f" {self.expr(on, False)}" if on is not None else ""))
        # anything else (an axiom node such as owl:AllDifferent): its triples, so no change goes unseen
        parts = [
            f"{_local(p)} {self.expr(o, False) if isinstance(o, BNode) and (o, RDF.first, None) not in g else self._list_or_name(o)}"
            for p, o in sorted(g.predicate_objects(node), key=lambda po: str(po[0]))
        ]
        return "[" + "; ".join(parts) + "]"

    def _list_or_name(self, node) -> str:
        if isinstance(node, BNode) and (node, RDF.first, None) in self.g:
            return "(" + ", ".join(self.name(i) for i in self._items(node)) + ")"
        return self.name(node)


def _local(iri) -> str:
    return str(iri).rsplit("/", 1)[-1].rsplit("#", 1)[-1]


# --------------------------------------------------------------------------- rule changes


def _groupings(graph: Graph) -> dict[URIRef, set[URIRef]]:
    """Named enumerated classes (``C ≡ {a, b, …}``): the vocabulary groupings a committee moves codes between."""
    out: dict[URIRef, set[URIRef]] = {}
    for cls, node in graph.subject_objects(OWL.equivalentClass):
        if isinstance(cls, URIRef) and isinstance(node, BNode) and (lst := graph.value(node, OWL.oneOf)) is not None:
            out[cls] = set(Collection(graph, lst))
    return out


def _is_enumeration(graph: Graph, node) -> bool:
    return isinstance(node, BNode) and graph.value(node, OWL.oneOf) is not None


def _annotations(graph: Graph, subject: URIRef, predicate: URIRef) -> dict[str, set[str]]:
    by_lang: dict[str, set[str]] = defaultdict(set)
    for o in graph.objects(subject, predicate):
        by_lang[o.language or "" if isinstance(o, Literal) else ""].add(str(o))
    return by_lang


def _without_generated_citations(graph: Graph) -> Graph:
    """The graph without the ``atmp:citation`` resources the build derives from each ``dcterms:source``.

    They restate the literal (which the diff compares as a citation change), and an edit source has none until
    it is built: comparing an edit source with the merged file must not list every citation as a new term.
    """
    cited = set(graph.objects(None, ATMP.citation))
    if not cited:
        return graph
    out = Graph()
    for s, p, o in graph:
        if p != ATMP.citation and s not in cited:
            out.add((s, p, o))
    return out


def rule_changes(old: Graph, new: Graph, lang: str = "en") -> list[dict]:
    """Every difference between two rule books, in words; ordered by kind, then by subject label.

    Kinds: ``definition`` (equivalence/subclass/disjointness, before → after), ``grouping`` (a code moved
    between, added to or removed from enumerated classes), ``citation`` (``dcterms:source`` added/removed),
    ``label`` / ``definition-text`` (per language), ``added`` / ``removed`` (a whole term), ``annotation``
    (any other triple about a named term) and ``axiom`` (anonymous axioms such as ``owl:AllDifferent``).
    """
    old, new = _without_generated_citations(old), _without_generated_citations(new)
    ro, rn = Renderer(old, lang), Renderer(new, lang)
    ko, kn = Renderer(old, labels=False), Renderer(new, labels=False)  # structure only: a relabel is one label change, not a redefinition
    changes: list[dict] = []
    subjects = {s for s in set(old.subjects()) | set(new.subjects()) if isinstance(s, URIRef)}

    def who(s: URIRef) -> dict:
        r = rn if (s, None, None) in new else ro
        return {
            "iri": str(s),
            "term": _local(s),
            "label": r.name(s),
            "labels": {k: v for k, v in ((lit.language, str(lit)) for lit in (new if (s, None, None) in new else old).objects(s, RDFS.label) if isinstance(lit, Literal))},
        }

    # groupings: codes that changed enumerations
    go, gn = _groupings(old), _groupings(new)
    members: dict[URIRef, tuple[set[URIRef], set[URIRef]]] = defaultdict(lambda: (set(), set()))
    for cls, items in go.items():
        for i in items:
            members[i][0].add(cls)
    for cls, items in gn.items():
        for i in items:
            members[i][1].add(cls)
    for item, (was, now) in sorted(members.items(), key=lambda kv: str(kv[0])):
        if was == now:
            continue
        left, joined = sorted(was - now, key=str), sorted(now - was, key=str)
        r = rn if (item, None, None) in new else ro
        name = r.code(item)
        if left and joined:
            text = f"{name} moved from {', '.join(_local(c) for c in left)} to {', '.join(_local(c) for c in joined)}"
        elif joined:
            text = f"{name} added to {', '.join(_local(c) for c in joined)}"
        else:
            text = f"{name} removed from {', '.join(_local(c) for c in left)}"
        changes.append({"kind": "grouping", **who(item), "from": [_local(c) for c in left], "to": [_local(c) for c in joined], "text": text})

    for s in sorted(subjects, key=str):
        in_old, in_new = (s, None, None) in old, (s, None, None) in new
        if in_old != in_new:
            r = rn if in_new else ro
            kinds = sorted(_local(t) for t in (new if in_new else old).objects(s, RDF.type))
            defs = [f"{'≡' if p == OWL.equivalentClass else '⊑'} {r.expr(o)}" for p in (OWL.equivalentClass, RDFS.subClassOf) for o in (new if in_new else old).objects(s, p)]
            text = f"{'added' if in_new else 'removed'} {'/'.join(kinds) or 'term'} {r.name(s)}" + (f" {'; '.join(sorted(defs))}" if defs else "")
            changes.append({"kind": "added" if in_new else "removed", **who(s), "text": text})
            continue
        # definitions, before → after
        for p in DEFINING:
            keep_o = [o for o in old.objects(s, p) if not (p == OWL.equivalentClass and _is_enumeration(old, o))]
            keep_n = [o for o in new.objects(s, p) if not (p == OWL.equivalentClass and _is_enumeration(new, o))]
            if sorted(ko.expr(o) for o in keep_o) != sorted(kn.expr(o) for o in keep_n):
                before, after = sorted(ro.expr(o) for o in keep_o), sorted(rn.expr(o) for o in keep_n)
                sym = {OWL.equivalentClass: "≡", RDFS.subClassOf: "⊑", OWL.disjointWith: "disjoint with", OWL.complementOf: "≡ not"}[p]
                name = rn.name(s)
                changes.append(
                    {
                        "kind": "definition",
                        **who(s),
                        "axiom": _local(p),
                        "before": before,
                        "after": after,
                        "delta": structural_delta(old, new, keep_o[0], keep_n[0]) if len(keep_o) == len(keep_n) == 1 else [],
                        "text": f"{name}: before {name} {sym} {' ; '.join(before) or '(nothing)'}; after {name} {sym} {' ; '.join(after) or '(nothing)'}",
                    }
                )
        # citations
        src_o, src_n = {str(o) for o in old.objects(s, DCT.source)}, {str(o) for o in new.objects(s, DCT.source)}
        if src_o != src_n:
            added, removed = sorted(src_n - src_o), sorted(src_o - src_n)
            changes.append(
                {
                    "kind": "citation",
                    **who(s),
                    "added": added,
                    "removed": removed,
                    "text": f"{rn.name(s)}: citation " + "; ".join([*(f"added \u201c{a}\u201d" for a in added), *(f"removed \u201c{x}\u201d" for x in removed)]),
                }
            )
        # labels and definition texts, per language
        for p, kind in TEXTS.items():
            ao, an = _annotations(old, s, p), _annotations(new, s, p)
            for language in sorted(set(ao) | set(an)):
                if ao.get(language, set()) != an.get(language, set()):
                    b, a = " | ".join(sorted(ao.get(language, ()))), " | ".join(sorted(an.get(language, ())))
                    changes.append(
                        {
                            "kind": "label" if kind == "label" else "definition-text",
                            **who(s),
                            "lang": language,
                            "before": b,
                            "after": a,
                            "text": f"{_local(s)}: {kind}@{language} \u201c{b}\u201d \u2192 \u201c{a}\u201d",
                        }
                    )
        # any other triple about the term
        handled = {*DEFINING, DCT.source, *TEXTS}
        for p in sorted({p for p in (*old.predicates(s, None), *new.predicates(s, None)) if p not in handled}, key=str):
            if sorted(ko.expr(o) if isinstance(o, BNode) else str(o) for o in old.objects(s, p)) != sorted(
                kn.expr(o) if isinstance(o, BNode) else str(o) for o in new.objects(s, p)
            ):
                vo = sorted(ro.expr(o) if isinstance(o, BNode) else str(o) for o in old.objects(s, p))
                vn = sorted(rn.expr(o) if isinstance(o, BNode) else str(o) for o in new.objects(s, p))
                changes.append(
                    {
                        "kind": "annotation",
                        **who(s),
                        "property": _local(p),
                        "before": vo,
                        "after": vn,
                        "text": f"{rn.name(s)}: {_local(p)} {', '.join(vo) or '(none)'} \u2192 {', '.join(vn) or '(none)'}",
                    }
                )
    # anonymous axioms (owl:AllDifferent, …): compared by their rendering
    ax_o = {ko.expr(b): ro.expr(b) for b in _top_bnodes(old)}
    ax_n = {kn.expr(b): rn.expr(b) for b in _top_bnodes(new)}
    for key in sorted(set(ax_o) - set(ax_n)):
        changes.append({"kind": "axiom", "text": f"removed axiom {ax_o[key]}"})
    for key in sorted(set(ax_n) - set(ax_o)):
        changes.append({"kind": "axiom", "text": f"added axiom {ax_n[key]}"})
    order = {"grouping": 0, "definition": 1, "added": 2, "removed": 3, "citation": 4, "label": 5, "definition-text": 6, "annotation": 7, "axiom": 8}
    changes.sort(key=lambda c: (order[c["kind"]], c.get("term", ""), c["text"]))
    return changes


def _operands(graph: Graph, node) -> tuple[str, list] | None:
    """``("and"|"or", items)`` for an n-ary class expression, else None."""
    if isinstance(node, BNode):
        for pred, word in ((OWL.intersectionOf, "and"), (OWL.unionOf, "or")):
            if (lst := graph.value(node, pred)) is not None:
                return word, list(Collection(graph, lst))
    return None


def _filler(graph: Graph, node):
    """The nested expression of a restriction or complement, with what identifies its wrapper (property, kind)."""
    if not isinstance(node, BNode):
        return None
    if (c := graph.value(node, OWL.complementOf)) is not None:
        return ("not",), c
    prop = graph.value(node, OWL.onProperty)
    for pred in (OWL.someValuesFrom, OWL.allValuesFrom):
        if prop is not None and (v := graph.value(node, pred)) is not None:
            return (str(prop), str(pred)), v
    return None


def structural_delta(old: Graph, new: Graph, a, b) -> list[str]:
    """What a definition lost (``- …``) and gained (``+ …``): the operands that differ, found by walking both
    expressions in step, so a reader sees "- criterion 8" rather than two long lines to compare."""
    ko, kn, ro, rn = Renderer(old, labels=False), Renderer(new, labels=False), Renderer(old), Renderer(new)
    if ko.expr(a) == kn.expr(b):
        return []
    oa, ob = _operands(old, a), _operands(new, b)
    if oa and ob and oa[0] == ob[0]:
        keys_a = {ko.expr(x): x for x in oa[1]}
        keys_b = {kn.expr(x): x for x in ob[1]}
        lost = [keys_a[k] for k in keys_a if k not in keys_b]
        gained = [keys_b[k] for k in keys_b if k not in keys_a]
        if len(lost) == 1 and len(gained) == 1:
            return structural_delta(old, new, lost[0], gained[0])
        return [*(f"- {ro.expr(x)}" for x in lost), *(f"+ {rn.expr(x)}" for x in gained)]
    fa, fb = _filler(old, a), _filler(new, b)
    if fa and fb and fa[0] == fb[0]:
        return structural_delta(old, new, fa[1], fb[1])
    return [f"- {ro.expr(a)}", f"+ {rn.expr(b)}"]


def _top_bnodes(graph: Graph) -> Iterable[BNode]:
    """Blank nodes that are subjects but never objects: stand-alone anonymous axioms."""
    objects = {o for o in graph.objects() if isinstance(o, BNode)}
    return [s for s in set(graph.subjects()) if isinstance(s, BNode) and s not in objects]


# --------------------------------------------------------------------------- product changes


def decided_fields(result: dict) -> dict[str, object]:
    """The values a committee compares: every decided field of a result, not its wording.

    Explanations, messages and the rule version are left out on purpose: relabelling a class rewords
    every explanation that cites it but moves no product. Lists compare as sorted codes.
    """
    return {
        **layout.summary(result),
        CRITERIA: sorted(layout.get(result, CRITERIA)),
        "borderline": sorted(b["code"] for b in result["borderline"]),
        "violations": sorted(v.get("code") or v.get("shape") or json.dumps(v, sort_keys=True) for v in result["violations"]),
        "conforms": result["conforms"],
        **_regime_fields(result),
    }


def _regime_fields(result: dict) -> dict[str, object]:
    """The decided values of the EU, US and Japanese blocks (any block with an explanation), by dotted name.

    Read off the result rather than a list of regimes so that a regime added to the ontology is compared too.
    """
    out: dict[str, object] = {}
    for block, value in result.items():
        if not (isinstance(value, dict) and isinstance(value.get("explanation"), list)):
            continue
        for key, v in value.items():
            if key == "explanation":
                continue
            if isinstance(v, list):
                v = sorted(e["code"] if isinstance(e, dict) and "code" in e else json.dumps(e, sort_keys=True, ensure_ascii=False) for e in v)
            out[f"{block}.{key}"] = v
    return out


def _deciding(result: dict, fld: str, value: object) -> list[dict]:
    """The explanation entries of ``result`` that conclude ``fld`` (its own record of which rule decided).

    Entries are the result's own and its regime blocks' (``jp.asrm_class = II``, ``jp.borderline: …``).
    """

    def said(v: object) -> str:
        return ("true" if v else "false") if isinstance(v, bool) else str(v)

    if fld == CRITERIA:
        wanted = {f"{fld} includes {v}" for v in value}  # type: ignore[union-attr]
    elif isinstance(value, list):
        wanted = {f"{fld}: {v}" for v in value}
    else:
        wanted = {f"{fld} = {said(value)}"}
    entries = [*result.get("explanation", []), *(e for b in result.values() if isinstance(b, dict) for e in b.get("explanation", []))]
    return [{"conclusion": e["conclusion"], "rule": e.get("rule"), "label": e.get("label", {}), "source": e.get("source", "")} for e in entries if e.get("conclusion") in wanted]


def product_changes(before: list[dict], after: list[dict], names: dict[str, dict] | None = None) -> list[dict]:
    """Per product whose decided fields differ: each field old → new and the rule that decides the new value.

    For list fields the rules cited are those of the codes that appear; where a value disappears (a tier
    no longer reached, a criterion dropped) the rule that used to decide it is given as ``no_longer``.
    """
    old_by_id = {r["id"]: r for r in before}
    out = []
    for new in after:
        old = old_by_id.get(new["id"])
        if old is None:
            continue
        fo, fn = decided_fields(old), decided_fields(new)
        fields = []
        for key in fo:
            if fo[key] == fn[key]:
                continue
            entry: dict = {"field": key, "old": fo[key], "new": fn[key]}
            if isinstance(fn[key], list):
                gained = [v for v in fn[key] if v not in fo[key]]  # type: ignore[operator]
                lost = [v for v in fo[key] if v not in fn[key]]  # type: ignore[operator,union-attr]
                entry["decided_by"] = _deciding(new, key, gained)
                entry["no_longer"] = _deciding(old, key, lost)
            elif key == "atmp" and fn[key] is False:
                # "not an ATMP" is decided by the exclusion that applies; the result records that rule under exclusion
                entry["decided_by"] = _deciding(new, "exclusion", fn["exclusion"])
                entry["no_longer"] = _deciding(old, key, fo[key])
            else:
                entry["decided_by"] = _deciding(new, key, fn[key]) if fn[key] is not None else []
                entry["no_longer"] = _deciding(old, key, fo[key]) if fo[key] is not None else []
            fields.append(entry)
        if fields:
            out.append({"id": new["id"], "label": (names or {}).get(new["id"], {}), "changes": fields})
    return out


# --------------------------------------------------------------------------- the report


def catalogue_entries(path: Path | None = None) -> list[tuple[dict, dict]]:
    """The catalogue's (card, provenance) pairs, read by the one decoder and each card checked by the card schema."""
    from atmp.core.card.decode import decode_bytes
    from atmp.core.card.schema import MAX_INPUT_BYTES
    from atmp.core.rules.files import FileRefused, read_file

    path = path or catalogue_file()
    try:
        raw = decode_bytes(read_file(path, limit=MAX_INPUT_BYTES, what="card file"))  # the one decoder every card input goes through
    except FileRefused as exc:
        raise DiffInputError(f"cannot read cards: {exc}") from None
    except CardError as exc:
        raise DiffInputError(f"{path}: cannot read cards ({exc})") from None
    if not isinstance(raw, list):
        raw = [raw]
    cards, _ = load_cards([{k: v for k, v in c.items() if k != "provenance"} if isinstance(c, dict) else c for c in raw])
    return [(card, (c.get("provenance") or {}) if isinstance(c, dict) else {}) for card, c in zip(cards, raw, strict=True)]


def catalogue_cards(path: Path | None = None) -> list[dict]:
    """The catalogue's cards without their ``provenance`` (the card schema does not know it)."""
    return [card for card, _ in catalogue_entries(path)]


def _codes(value: object) -> set[str]:
    """Every string a card holds below its top level but for its labels: the codes among them are what the rules must know."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(*(_codes(v) for k, v in value.items() if k != "label"))
    if isinstance(value, list):
        return set().union(*(_codes(v) for v in value))
    return set()


def not_comparable(old: RuleSource, new: RuleSource, cards: list[dict]) -> list[dict]:
    """Cards that use a code only one of the two rule books defines (vocabulary added or removed between them).

    Such a card has no answer under the other rules, so it cannot move: it is listed with the codes, not compared.
    """
    known_old, known_new = set(old.model.code_of.values()), set(new.model.code_of.values())
    out = []
    for card in cards:
        used = set().union(*(_codes(v) for k, v in card.items() if k not in ("id", "label")))
        for side, codes in ((old, used & (known_new - known_old)), (new, used & (known_old - known_new))):
            if codes:
                out.append({"id": card["id"], "label": card.get("label", {}), "rules": side.spec, "unknown_codes": sorted(codes)})
    return out


def diff_rules(old: RuleSource, new: RuleSource, cards: list[dict], lang: str = "en", classify: Callable[[list[dict], OntologyModel], list[dict]] | None = None) -> dict:
    """The full report: rule changes in words and every product that moves (``moved`` lists their ids).

    A card using a code one side does not define is listed under ``not_compared`` rather than classified by
    rules that cannot read it, unless that side imports modules that were not found: then the missing module,
    not the card, is the problem, and the diff is refused as bad input.
    """
    run = classify or (lambda cs, m: classify_cards(cs, engine="compiled", model=m))

    def hint(side: RuleSource) -> str:
        return f" (imports not found beside it: {', '.join(side.unresolved_imports)})" if side.unresolved_imports else ""

    def results(side: RuleSource, chunk: list[dict]) -> list[dict]:
        try:
            out = run(chunk, side.model)
        except Exception as exc:  # noqa: BLE001 - rules that cannot classify the cards are unusable input, not a crash
            raise DiffInputError(f"{side.spec}: these rules cannot classify the cards{hint(side)}: {type(exc).__name__}: {exc}") from None
        # classification isolates a card it cannot answer as an internal-error finding; a rule book that fails
        # on a catalogue card cannot be compared, so a diff says so instead of reporting the card as moved
        broken = [(r["id"], v["message"]["en"]) for r in out for v in r.get("violations", []) if v.get("code") == INTERNAL_ERROR]
        if broken:
            first_id, first_message = broken[0]
            raise DiffInputError(f"{side.spec}: these rules cannot classify {len(broken)} of the cards{hint(side)}, e.g. {first_id}: {first_message}")
        return out

    skipped = not_comparable(old, new, cards)
    for side in (old, new):
        unread = [s for s in skipped if s["rules"] == side.spec]
        if unread and side.unresolved_imports:
            codes = sorted({c for s in unread for c in s["unknown_codes"]})
            raise DiffInputError(f"{side.spec}: these rules do not define codes {len(unread)} cards use ({', '.join(codes[:8])}){hint(side)}")
    unread_ids = {s["id"] for s in skipped}
    compared = [c for c in cards if c["id"] not in unread_ids]
    names = {c["id"]: c.get("label", {}) for c in compared}
    products: list[dict] = []
    for start in range(0, len(compared), CHUNK):  # chunks bound memory: only the moved products' explanations are kept
        chunk = compared[start : start + CHUNK]
        products += product_changes(results(old, chunk), results(new, chunk), names)
    return {
        "old": {"spec": old.spec, "version": old.version, "imported": old.imported, "unresolved_imports": old.unresolved_imports},
        "new": {"spec": new.spec, "version": new.version, "imported": new.imported, "unresolved_imports": new.unresolved_imports},
        "cards": len(compared),
        "rule_changes": rule_changes(old.graph, new.graph, lang),
        "products": products,
        "moved": [p["id"] for p in products],
        "not_compared": skipped,
    }


def diff_specs(old: str, new: str, cards_path: Path | None = None, lang: str = "en", root: Path | None = None) -> dict:
    """:func:`diff_rules` from two command-line specs (files or ``git:`` revisions)."""
    with tempfile.TemporaryDirectory(prefix="atmp-diff-") as tmp:
        work = Path(tmp)
        a, b = load_source(old, work, root), load_source(new, work, root)
        return diff_rules(a, b, catalogue_cards(cards_path), lang)


def _fmt(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]" if value else "[]"
    return str(value)


def _rules_text(entries: list[dict], lang: str) -> str:
    return "; ".join(
        f"{e['label'].get(lang) or e['label'].get('en') or e['rule']} ({e['source']})" if e.get("source") else (e["label"].get(lang) or e["label"].get("en") or str(e["rule"]))
        for e in entries
    )


def _why(change: dict, lang: str) -> str:
    parts = []
    if change["decided_by"]:
        parts.append(_rules_text(change["decided_by"], lang))
    if change["no_longer"]:
        parts.append("no longer: " + _rules_text(change["no_longer"], lang))
    return "; ".join(parts) or "—"


def render_markdown(report: dict, lang: str = "en") -> str:
    """The report a committee reads: versions, rule changes in words, then a table of every moved product."""
    o, n = report["old"], report["new"]
    lines = [
        f"# Rule change: `{o['spec']}` → `{n['spec']}`",
        "",
        f"Rule versions: {o['version']['info'] or '?'} (`{o['version']['iri'] or '-'}`) → {n['version']['info'] or '?'} (`{n['version']['iri'] or '-'}`). "
        f"Cards compared: {report['cards']}; products that move: **{len(report['moved'])}**.",
        "",
    ]
    for side in (o, n):
        if side["unresolved_imports"]:
            lines.append(f"> `{side['spec']}` imports modules not found beside it: {', '.join(side['unresolved_imports'])}")
    lines += ["## Rule changes", ""]
    if not report["rule_changes"]:
        lines.append("None: the two rule books are the same.")
    for c in report["rule_changes"]:
        if c["kind"] == "definition":
            lines.append(f"- **{c['label']}** (`{c['term']}`, {c['axiom']}):")
            lines.append(f"  - before: {' ; '.join(c['before']) or '(nothing)'}")
            lines.append(f"  - after: {' ; '.join(c['after']) or '(nothing)'}")
            if c["delta"]:
                lines.append("  - change: " + "; ".join(f"`{d}`" for d in c["delta"]))
        else:
            lines.append(f"- *{c['kind']}*: {c['text']}")
    lines += ["", "## Products that move", ""]
    if not report["products"]:
        lines.append("None.")
    else:
        lines += ["| product | field | before | after | decided by (rule, source) |", "|---|---|---|---|---|"]
        for p in report["products"]:
            name = p["label"].get(lang) or p["label"].get("en") or ""
            for i, ch in enumerate(p["changes"]):
                who = f"`{p['id']}`" + (f" {name}" if name else "") if i == 0 else ""
                lines.append(f"| {who} | {ch['field']} | {_fmt(ch['old'])} | {_fmt(ch['new'])} | {_why(ch, lang).replace('|', '/')} |")
    if report.get("not_compared"):
        lines += ["", "## Products not compared", "", "Their cards use codes that one of the two rule books does not define, so they have no answer under it.", ""]
        lines += ["| product | rules | codes they do not define |", "|---|---|---|"]
        for s in report["not_compared"]:
            name = s["label"].get(lang) or s["label"].get("en") or ""
            lines.append(f"| `{s['id']}` {name} | `{s['rules']}` | {', '.join(f'`{c}`' for c in s['unknown_codes'])} |")
    return "\n".join(lines) + "\n"


def render_table(report: dict, lang: str = "en") -> str:
    """Plain text for a terminal: the same content as the markdown, without markup."""
    o, n = report["old"], report["new"]
    out = [
        f"rules {o['spec']} ({o['version']['info'] or '?'}) -> {n['spec']} ({n['version']['info'] or '?'}); {report['cards']} cards; {len(report['moved'])} move",
        "",
        f"RULE CHANGES ({len(report['rule_changes'])})",
    ]
    for side in (o, n):
        if side["unresolved_imports"]:
            out.append(f"  ! {side['spec']}: imports not found beside it: {', '.join(side['unresolved_imports'])}")
    for c in report["rule_changes"]:
        if c["kind"] == "definition":
            out.append(f"  definition  {c['label']} [{c['term']}] ({c['axiom']})")
            out.append(f"      before: {' ; '.join(c['before']) or '(nothing)'}")
            out.append(f"      after:  {' ; '.join(c['after']) or '(nothing)'}")
            out.extend(f"      {d}" for d in c["delta"])
        else:
            out.append(f"  {c['kind']:<11} {c['text']}")
    out += ["", f"PRODUCTS THAT MOVE ({len(report['products'])})"]
    for p in report["products"]:
        out.append(f"  {p['id']}  {p['label'].get(lang) or p['label'].get('en') or ''}".rstrip())
        for ch in p["changes"]:
            out.append(f"      {ch['field']}: {_fmt(ch['old'])} -> {_fmt(ch['new'])}    [{_why(ch, lang)}]")
    if report.get("not_compared"):
        out += ["", f"PRODUCTS NOT COMPARED ({len(report['not_compared'])}): their cards use codes one rule book does not define"]
        for s in report["not_compared"]:
            out.append(f"  {s['id']}  {s['label'].get(lang) or s['label'].get('en') or ''}".rstrip())
            out.append(f"      {s['rules']} does not define: {', '.join(s['unknown_codes'])}")
    return "\n".join(out) + "\n"
