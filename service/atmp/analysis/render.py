"""The one text-table renderer: columns padded by display width, so Chinese labels line up in a terminal.

Used by ``atmp classify --format table``, the what-if report (:func:`atmp.analysis.whatif.render_table`) and
``atmp query`` (:func:`query_table`), so every table the project prints lines up the same way.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import pyoxigraph as ox

from atmp.kg.results import QueryResult
from atmp.kg.terms import Term, compact


def width(text: str) -> int:
    """Display width: East Asian wide and full-width characters take two columns in a terminal."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def grid(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    """Header, a rule of dashes and the rows, two spaces between columns, trailing blanks trimmed."""
    cells = [[str(c) for c in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(width(c) for c in col) for col in zip(*cells, strict=True)]

    def line(row: list[str]) -> str:
        return "  ".join(c + " " * (w - width(c)) for c, w in zip(row, widths, strict=True)).rstrip()

    return [line(cells[0]), line(["-" * w for w in widths]), *map(line, cells[1:])]


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    return "\n".join(grid(headers, rows))


def query_table(result: QueryResult) -> str:
    """A query result for people: IRIs compacted with the project's prefixes, literals on one line, a row count."""
    if result.boolean is not None:
        return "yes" if result.boolean else "no"

    def cell(term: Term | None) -> str:
        if term is None:
            return ""
        if isinstance(term, ox.NamedNode):
            return compact(term.value)
        if isinstance(term, ox.BlankNode):
            return "_:" + term.value
        return " ".join(term.value.split())

    rows = [[cell(row.get(v)) for v in result.variables] for row in result.rows]
    return table(result.variables, rows) + f"\n({len(rows)} row{'s' if len(rows) != 1 else ''})"
