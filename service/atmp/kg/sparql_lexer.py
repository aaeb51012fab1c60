"""THE one SPARQL lexer: strings, IRIs, comments, words and punctuation, for the read-only guard and the query binder.

Two readers need to see a query's text the way the SPARQL grammar does, without parsing it: the HTTP
endpoint's read-only guard (:mod:`atmp.http.guard`: which bare words occur outside strings, IRIs and
comments) and the remote binder (:func:`atmp.kg.queries.bind_values`: where the ``WHERE`` group opens).
One tokenizer serves both, so a quirk fixed for one is fixed for the other.

Anything this scan cannot read as a closed string or IRI is read as code (one punctuation character), so an
odd quote can only make a keyword *visible* (a refusal), never hide one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

_UNICODE_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
IRIREF = re.compile(r"<[^<>\"{}|^`\\\x00-\x20]*>")
_NAME_CHARS = re.compile(r"[^\s<>\"'{}()\[\],;#=!&|*/+^]+")
QUERY_FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")


class Token(NamedTuple):
    """``kind`` is ``comment``, ``string``, ``iri``, ``word`` or ``punct``; ``start``/``end`` index the text."""

    kind: str
    start: int
    end: int
    text: str


def expand_unicode_escapes(text: str) -> str:
    """``\\uXXXX`` and ``\\UXXXXXXXX`` replaced by the character, as SPARQL 1.1 §19.2 does before parsing."""

    def repl(m: re.Match) -> str:
        code = int(m.group(1) or m.group(2), 16)
        return chr(code) if code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else m.group(0)

    return _UNICODE_ESCAPE.sub(repl, text)


def skip_string(text: str, i: int) -> int | None:
    """Index just past the string literal starting at ``text[i]``, or None when it does not close properly."""
    quote = text[i]
    long = text.startswith(quote * 3, i)
    j = i + (3 if long else 1)
    while j < len(text):
        ch = text[j]
        if ch == "\\":
            j += 2
            continue
        if long:
            if text.startswith(quote * 3, j):
                return j + 3
        elif ch == quote:
            return j + 1
        elif ch in "\r\n":
            return None  # a short string cannot span lines
        j += 1
    return None


def tokens(text: str) -> Iterator[Token]:
    """The query's tokens in order; whitespace is dropped."""
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch == "#":
            end = text.find("\n", i)
            end = n if end < 0 else end + 1
            yield Token("comment", i, end, text[i:end])
            i = end
            continue
        if ch in "\"'":
            end = skip_string(text, i)
            if end is not None:
                yield Token("string", i, end, text[i:end])
                i = end
                continue
        elif ch == "<":
            m = IRIREF.match(text, i)
            if m:
                yield Token("iri", i, m.end(), m.group(0))
                i = m.end()
                continue
        else:
            m = _NAME_CHARS.match(text, i)
            if m:
                yield Token("word", i, m.end(), m.group(0))
                i = m.end()
                continue
        yield Token("punct", i, i + 1, ch)
        i += 1


def bare_words(text: str) -> list[str]:
    """The words of a query that are neither inside a comment, a string, an IRI, a variable nor a prefixed name.

    In a read query these can only be keywords and function names.
    """
    words: list[str] = []
    for tok in tokens(text):
        if tok.kind != "word" or tok.text[0] in "?$" or ":" in tok.text:
            continue  # a variable, a prefixed name or a blank node label
        words.extend(w for w in re.split(r"[.\-]", tok.text) if w)
    return words


def where_group_start(text: str) -> int | None:
    """Index of the ``{`` that opens the query's WHERE group (strings, IRIs and comments skipped); None if there is none."""
    depth, form, saw_where = 0, None, False
    for tok in tokens(text):
        if tok.kind == "punct" and tok.text == "{":
            if depth == 0 and (saw_where or form in ("SELECT", "ASK", "DESCRIBE")):
                return tok.start
            depth += 1
        elif tok.kind == "punct" and tok.text == "}":
            depth -= 1
        elif tok.kind == "word" and depth == 0:
            upper = tok.text.upper()
            if form is None and upper in QUERY_FORMS:
                form = upper
            elif upper == "WHERE":
                saw_where = True
    return None
