"""The README is a user's page and the docs hold together: short, every link resolves (files and headings), every
command shown is one the tools accept."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from atmp.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    out = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            out.add(re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", title)))
    return out


def code_lines(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return [line for block in re.findall(r"```(?:sh)?\n(.*?)```", text, re.S) for line in block.splitlines()]


def test_the_readme_is_a_users_page():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 150, len(lines)
    text = "\n".join(lines)
    for needed in ("make demo", "make test", "atmp serve", "docs/user-guide.md"):
        assert needed in text, needed


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_link_resolves(page):
    bad = []
    for target in LINK.findall(page.read_text(encoding="utf-8")):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        file, _, anchor = target.partition("#")
        path = (page.parent / file).resolve() if file else page
        if not path.exists():
            bad.append(target)
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            bad.append(target)
    assert not bad, bad


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_command_shown_parses(page):
    """`.venv/bin/atmp …` lines parse with the real parser (unknown commands or flags fail); `make X` targets exist."""
    parser = build_parser()
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z-]+):", makefile, re.M))
    for line in code_lines(page):
        command = line.split(" # ", 1)[0].strip()
        if command.startswith((".venv/bin/atmp ", "atmp ")):
            argv = shlex.split(re.split(r"\s[|<>]\s", command)[0])[1:]  # the command, not its redirections
            try:
                parser.parse_args(argv)
            except SystemExit:
                pytest.fail(f"{page.name}: {command!r} does not parse")
        elif command.startswith("make "):
            target = command.split()[1]
            assert target in targets, f"{page.name}: make {target} is no target"
