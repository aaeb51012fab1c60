"""The release habit: rule changes that move catalogue answers must be named in the CHANGELOG, and a release
records version, diff and tag.

The gate (first test) is what CI runs on every change: products whose decided answer differs from the last
release (``ontology/released-answers.json``, written only by ``atmp release``; no tags or history needed) must be
named by id in the CHANGELOG's ``## Unreleased`` section. The other tests prove it can fail and that a release
in a fresh clone (no tags) finds its baseline, writes the entry and tags.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from atmp.authoring.release import VERSION_IRI, check_changelog, moved_since_release, set_version, unreleased_section
from atmp.core.rules.ontology import ATMP, load_model
from rdflib import OWL, Graph
from rdflib.collection import Collection

ROOT = Path(__file__).resolve().parents[1]
GIT_ENV = {"GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.invalid", "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.invalid"}


def test_every_moved_product_is_named_in_the_changelog() -> None:
    """THE GATE: edit the rules so catalogue answers move, and this fails until Unreleased names each product."""
    missing = check_changelog(ROOT)
    assert not missing, f"ontology/CHANGELOG.md '## Unreleased' must name the products whose answers moved since the last release: {missing}"


def _culture_expansion_not_substantial(src: Path, dst: Path) -> None:
    g = Graph().parse(src)
    for cls, add in ((ATMP.SubstantialManipulation, False), (ATMP.NonSubstantialManipulation, True)):
        coll = Collection(g, g.value(g.value(cls, OWL.equivalentClass), OWL.oneOf))
        if add:
            coll.append(ATMP.manip_culture_expansion)
        else:
            kept = [i for i in coll if i != ATMP.manip_culture_expansion]
            coll.clear()
            for i in kept:
                coll.append(i)
    g.serialize(dst, format="turtle")


def _fake_root(tmp_path: Path, changelog: str) -> Path:
    root = tmp_path / "repo"
    (root / "ontology").mkdir(parents=True)
    (root / "catalogue").mkdir()
    shutil.copy(ROOT / "ontology" / "released-answers.json", root / "ontology" / "released-answers.json")
    shutil.copy(ROOT / "catalogue" / "products.json", root / "catalogue" / "products.json")
    _culture_expansion_not_substantial(ROOT / "ontology" / "atmp.ttl", root / "ontology" / "atmp.ttl")
    (root / "ontology" / "CHANGELOG.md").write_text(changelog, encoding="utf-8")
    return root


def test_the_gate_fails_until_the_unreleased_section_names_each_moved_product(tmp_path: Path) -> None:
    root = _fake_root(tmp_path, "# Ontology changelog\n\n## Unreleased\n- Culture expansion is no longer substantial.\n\n## 0.1.1 — 2026-11-23\n- old\n")
    _, moved = moved_since_release(root)
    _, already = moved_since_release(ROOT)  # unreleased rule changes of the checkout itself move products too
    assert len(set(moved) - set(already)) == 9 and "azficel-t" in moved
    assert check_changelog(root) == moved
    named_in_old_entry = "# c\n\n## Unreleased\n- culture expansion\n\n## 0.1.1 — 2026-11-23\n" + "".join(f"- {m}\n" for m in moved)
    (root / "ontology" / "CHANGELOG.md").write_text(named_in_old_entry, encoding="utf-8")
    assert check_changelog(root) == moved, "ids in a released entry do not count"
    partly = "# c\n\n## Unreleased\n" + "".join(f"- `{m}`\n" for m in moved if m != "azficel-t") + "- azficel-tx, azficel-t-2\n"
    (root / "ontology" / "CHANGELOG.md").write_text(partly, encoding="utf-8")
    assert check_changelog(root) == ["azficel-t"], "an id inside a longer id does not count"
    (root / "ontology" / "CHANGELOG.md").write_text("# c\n\n## Unreleased\n" + "".join(f"- `{m}`: moved\n" for m in moved), encoding="utf-8")
    assert check_changelog(root) == []


def test_unreleased_section_and_version_edit() -> None:
    text = "# x\n\n## Unreleased\n- a\n- b\n\n## 0.1.0 — d\n- c\n"
    assert unreleased_section(text) == "- a\n- b\n\n"
    assert unreleased_section("# x\n## 0.1.0\n- c\n") == ""
    ttl = '<o> a owl:Ontology ;\n    owl:versionIRI atmp:0.1.1 ;\n    owl:versionInfo "0.1.1" .\n'
    out = set_version(ttl, "0.2.0")
    assert f"owl:versionIRI <{VERSION_IRI.format(version='0.2.0')}> ;" in out and 'owl:versionInfo "0.2.0"' in out


def _run(args: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600, env={**os.environ, **GIT_ENV})
    assert not check or proc.returncode == 0, f"{args}: {proc.stderr}"
    return proc


def test_release_in_a_fresh_clone_without_tags(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    _run(["git", "clone", "-q", "--no-tags", str(ROOT), str(clone)], tmp_path)
    assert _run(["git", "tag"], clone).stdout == ""
    ontology = clone / "ontology" / "atmp.ttl"
    _culture_expansion_not_substantial(ontology, ontology)
    _, moved = moved_since_release(clone)
    changelog = clone / "ontology" / "CHANGELOG.md"
    text = changelog.read_text(encoding="utf-8")
    note = "- Culture expansion (N 293-295) is no longer a substantial manipulation: " + ", ".join(moved) + ".\n"
    changelog.write_text(text.replace("## Unreleased\n\n", "## Unreleased\n\n" + note, 1), encoding="utf-8")
    assert check_changelog(clone) == []
    _run(["git", "commit", "-qam", "culture expansion not substantial"], clone)

    atmp = [sys.executable, "-m", "atmp.cli"]
    proc = _run([*atmp, "release", "0.2.0", "--date", "2026-12-03"], clone)
    assert "## 0.2.0 — 2026-12-03" in proc.stdout
    assert _run(["git", "cat-file", "-t", "ontology-v0.2.0"], clone).stdout.strip() == "tag"  # annotated
    assert _run(["git", "status", "--porcelain"], clone).stdout == ""  # everything committed
    model = load_model(ontology)
    assert (model.version_iri, model.version_info) == (VERSION_IRI.format(version="0.2.0"), "0.2.0")
    entry = changelog.read_text(encoding="utf-8")
    assert unreleased_section(entry).strip() == ""
    released = entry.split("## 0.2.0 — 2026-12-03", 1)[1].split("\n## ", 1)[0]
    assert note.strip() in released
    # the grouping move is listed (the line may name other groupings too: the previous release predates the regime modules)
    grouping = [line for line in released.splitlines() if "culture_expansion (培养扩增 / culture expansion) moved from SubstantialManipulation" in line]
    assert grouping and "NonSubstantialManipulation" in grouping[0], released
    assert all(f"`{m}`" in released for m in moved) and "no ontology-v* tag" in released
    answers = json.loads((clone / "ontology" / "released-answers.json").read_text(encoding="utf-8"))
    assert answers["version"]["info"] == "0.2.0"
    assert moved_since_release(clone)[1] == [] and check_changelog(clone) == []
    golden = json.loads((clone / "tests" / "fixtures" / "golden" / "answers.json").read_text(encoding="utf-8"))
    assert {r["result"]["rule_version"]["info"] for s in golden.values() for r in s.values()} == {"0.2.0"}

    again = _run([*atmp, "release", "0.2.0"], clone, check=False)
    assert again.returncode == 2 and "tag ontology-v0.2.0 exists already" in again.stderr
    bad = _run([*atmp, "release", "two"], clone, check=False)
    assert bad.returncode == 2 and "version" in bad.stderr

    dry = _run([*atmp, "release", "0.2.1", "--dry-run", "--date", "2026-12-04"], clone)
    assert "tag ontology-v0.2.0" in dry.stdout and "No rule changed." in dry.stdout and "No product's answer changed." in dry.stdout
    diff = _run([*atmp, "diff", "git:ontology-v0.2.0", "git:HEAD~2", "--format", "md"], clone, check=False)
    assert diff.returncode == 1 and "| `azficel-t`" in diff.stdout
