"""THE one SPARQL-results writer (JSON, XML, CSV, TSV of solutions and booleans) and the query-result model.

Both the embedded :class:`QueryResult` (``atmp query``, notebooks) and the HTTP endpoint's workers
(:mod:`atmp.http.pool`) write results here, so the two can never disagree on how a term, an unbound
variable or a control character is written.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

import pyoxigraph as ox

from .terms import Term, term_value

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"

# result formats by media type, for SELECT/ASK
SOLUTION_TYPES = {
    "application/sparql-results+json": "json",
    "application/sparql-results+xml": "xml",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
}


def _json_term(term) -> dict:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Triple):
        return {"type": "triple", "value": {"subject": _json_term(term.subject), "predicate": _json_term(term.predicate), "object": _json_term(term.object)}}
    out = {"type": "literal", "value": term.value}
    if term.language:
        out["xml:lang"] = term.language
    elif term.datatype.value != XSD_STRING:
        out["datatype"] = term.datatype.value
    return out


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    """Escaped for XML 1.0; the few characters XML 1.0 cannot carry at all (NUL, most C0 controls) become U+FFFD."""
    return escape(_NOT_XML.sub("\ufffd", text))


def _xml_term(term) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<uri>{_xml_text(term.value)}</uri>"
    if isinstance(term, ox.BlankNode):
        return f"<bnode>{_xml_text(term.value)}</bnode>"
    if isinstance(term, ox.Triple):
        return f"<triple><subject>{_xml_term(term.subject)}</subject><predicate>{_xml_term(term.predicate)}</predicate><object>{_xml_term(term.object)}</object></triple>"
    if term.language:
        return f"<literal xml:lang={quoteattr(_NOT_XML.sub('', term.language))}>{_xml_text(term.value)}</literal>"
    if term.datatype.value != XSD_STRING:
        return f"<literal datatype={quoteattr(term.datatype.value)}>{_xml_text(term.value)}</literal>"
    return f"<literal>{_xml_text(term.value)}</literal>"


def _csv_term(term) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.BlankNode):
        return "_:" + term.value
    if isinstance(term, ox.NamedNode | ox.Literal):
        return term.value
    return str(term)


def _tsv_term(term) -> str:
    """A term in its N-Triples form (which escapes line breaks and tabs in literals), as the TSV format asks."""
    if term is None:
        return ""
    return str(term).replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def solutions_json(variables: list[str], rows: Iterable[Sequence]) -> dict:
    """SELECT results as the SPARQL 1.1 JSON results object (unbound variables left out of a binding)."""
    bindings = [{v: _json_term(t) for v, t in zip(variables, row, strict=True) if t is not None} for row in rows]
    return {"head": {"vars": variables}, "results": {"bindings": bindings}}


def boolean_json(value: bool) -> dict:
    return {"head": {}, "boolean": bool(value)}


def serialize_solutions(variables: list[str], rows: list[Sequence], fmt: str) -> bytes:
    """SELECT results (rows of terms or None, in ``variables`` order) in one of the W3C result formats."""
    if fmt == "json":
        return json.dumps(solutions_json(variables, rows), ensure_ascii=False).encode("utf-8")
    if fmt == "xml":
        out = ['<?xml version="1.0" encoding="utf-8"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">\n<head>']
        out.extend(f"<variable name={quoteattr(v)}/>" for v in variables)
        out.append("</head>\n<results>\n")
        for row in rows:
            out.append("<result>")
            out.extend(f"<binding name={quoteattr(v)}>{_xml_term(t)}</binding>" for v, t in zip(variables, row, strict=True) if t is not None)
            out.append("</result>\n")
        out.append("</results>\n</sparql>\n")
        return "".join(out).encode("utf-8")
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow(variables)
        writer.writerows([_csv_term(t) for t in row] for row in rows)
        return buf.getvalue().encode("utf-8")
    if fmt == "tsv":
        lines = ["\t".join("?" + v for v in variables)]
        lines.extend("\t".join(_tsv_term(t) for t in row) for row in rows)
        return ("\n".join(lines) + "\n").encode("utf-8")
    raise ValueError(fmt)


def serialize_boolean(value: bool, fmt: str) -> bytes:
    """An ASK result in one of the W3C result formats (CSV/TSV: one column ``_askResult``)."""
    text = "true" if value else "false"
    if fmt == "json":
        return json.dumps(boolean_json(value)).encode("utf-8")
    if fmt == "xml":
        return (f'<?xml version="1.0" encoding="utf-8"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">\n<head/>\n<boolean>{text}</boolean>\n</sparql>\n').encode()
    if fmt == "csv":
        return f"_askResult\r\n{text}\r\n".encode()
    if fmt == "tsv":
        return f"?_askResult\n{text}\n".encode()
    raise ValueError(fmt)


@dataclass
class QueryResult:
    """Solutions of a SELECT (``variables`` + ``rows``, unbound variables left out of a row) or an ASK (``boolean``)."""

    variables: list[str]
    rows: list[dict[str, Term]] = field(default_factory=list)
    boolean: bool | None = None

    @classmethod
    def from_oxigraph(cls, res) -> QueryResult:
        if isinstance(res, ox.QueryBoolean):
            return cls([], [], bool(res))
        if isinstance(res, ox.QuerySolutions):
            variables = [v.value for v in res.variables]
            rows = []
            for solution in res:
                row = {}
                for name in variables:
                    value = solution[name]
                    if value is not None:
                        row[name] = value
                rows.append(row)
            return cls(variables, rows)
        rows = [{"subject": t.subject, "predicate": t.predicate, "object": t.object} for t in res]
        return cls(["subject", "predicate", "object"], rows)

    def __len__(self) -> int:
        return len(self.rows)

    def records(self) -> list[dict]:
        """Rows as plain Python values (see :func:`term_value`); unbound variables are None."""
        return [{v: term_value(row.get(v)) for v in self.variables} for row in self.rows]

    def column(self, name: str) -> list:
        return [term_value(row.get(name)) for row in self.rows]

    def keyed(self) -> list[tuple]:
        """Rows as tuples of N-Triples strings, for exact comparison of two result sets."""
        return [tuple(str(row[v]) if v in row else None for v in self.variables) for row in self.rows]

    def _rows(self) -> list[list]:
        return [[row.get(v) for v in self.variables] for row in self.rows]

    # -- serialisations: the W3C result formats, by the writers above (a table for people: atmp.analysis.render.query_table)
    def to_json(self) -> dict:
        return boolean_json(self.boolean) if self.boolean is not None else solutions_json(self.variables, self._rows())

    def serialize(self, fmt: str) -> bytes:
        """``json``, ``xml``, ``csv`` or ``tsv``, byte for byte what the HTTP endpoint sends."""
        return serialize_boolean(self.boolean, fmt) if self.boolean is not None else serialize_solutions(self.variables, self._rows(), fmt)

    def to_csv(self) -> str:
        return self.serialize("csv").decode("utf-8")
