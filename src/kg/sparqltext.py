"""A light look at SPARQL text, for the decisions that must come before (or around) parsing.

Oxigraph parses and evaluates queries but does not tell Python what a query's form is or
whether it names its own dataset (``FROM``), and it offers no
way to give an update the protocol's ``using-graph-uri`` graphs. A lexer that knows IRIs,
strings, comments, variables and braces answers those reliably enough: it never has to
understand the grammar, only to find keywords outside strings and IRIs. (``SERVICE`` and
``LOAD`` targets are vetted by :mod:`kg.federation`.)

>>> operation("PREFIX ex: <http://ex/> select * { ?s ?p ?o }")
('query', 'SELECT')
>>> operation("INSERT DATA { <a> <b> <c> }")
('update', 'INSERT')
>>> has_dataset_clause("SELECT * FROM <http://g> { ?s ?p ?o }")
True
>>> has_dataset_clause("SELECT * { ?s <http://ex/from> 'FROM' }")
False
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
    |(?P<comment>\#[^\n]*)
    |(?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
    |(?P<string>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
              |'''(?:[^'\\]|\\.|'(?!''))*'''
              |"(?:[^"\\\n\r]|\\.)*"
              |'(?:[^'\\\n\r]|\\.)*')
    |(?P<var>[?$]\w+)
    |(?P<word>[^\W\d]\w*(?:[-.]\w+)*(?::[\w\-.:%]*)?|:[\w\-.:%]*)
    |(?P<punct>[{}()\[\];,.])
    |(?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)

QUERY_FORMS = frozenset({"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"})
UPDATE_KEYWORDS = frozenset({
    "INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH",
})


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    start: int
    depth: int  # brace depth before the token

    @property
    def keyword(self) -> str | None:
        """The upper-cased keyword, for bare words (not prefixed names)."""
        if self.kind == "word" and ":" not in self.text:
            return self.text.upper()
        return None


def tokens(text: str) -> Iterator[Token]:
    """Significant tokens (no whitespace or comments), with their brace depth."""
    depth = 0
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup or "other"
        if kind in ("ws", "comment"):
            continue
        value = m.group()
        if value == "}":
            depth = max(depth - 1, 0)
        yield Token(kind, value, m.start(), depth)
        if value == "{":
            depth += 1


def operation(text: str) -> tuple[str, str] | tuple[None, None]:
    """``("query", form)`` or ``("update", first keyword)`` by the first keyword after the
    prologue, or ``(None, None)`` when the text starts with neither."""
    skip = 0
    for tok in tokens(text):
        if skip:
            skip -= 1
            continue
        kw = tok.keyword
        if kw == "PREFIX":
            skip = 2
            continue
        if kw == "BASE":
            skip = 1
            continue
        if kw in QUERY_FORMS:
            return "query", kw
        if kw in UPDATE_KEYWORDS:
            return "update", kw
        return None, None
    return None, None


def has_dataset_clause(query: str) -> bool:
    """True when the query names its own dataset with ``FROM`` or ``FROM NAMED``."""
    return any(tok.keyword == "FROM" for tok in tokens(query))


class DatasetConflict(ValueError):
    """The update names its dataset (``USING``/``WITH``) and so does the protocol."""


def add_using(update: str, default_graphs: Sequence[str], named_graphs: Sequence[str]) -> str:
    """The update with ``USING``/``USING NAMED`` clauses for the protocol's
    ``using-graph-uri``/``using-named-graph-uri`` before each top-level ``WHERE``.

    Raises :class:`DatasetConflict` when the update has its own ``USING`` or ``WITH`` (the
    protocol forbids both). ``DELETE WHERE`` operations, which cannot take ``USING``, are
    left as they are.

    >>> add_using("INSERT { ?s a <T> } WHERE { ?s ?p ?o }", ["http://g"], [])
    'INSERT { ?s a <T> } USING <http://g> WHERE { ?s ?p ?o }'
    """
    if not default_graphs and not named_graphs:
        return update
    clause = "".join(f"USING <{g}> " for g in default_graphs)
    clause += "".join(f"USING NAMED <{g}> " for g in named_graphs)
    inserts: list[int] = []
    previous: Token | None = None
    for tok in tokens(update):
        if tok.depth == 0 and tok.keyword in ("USING", "WITH"):
            raise DatasetConflict(
                "the update has its own USING or WITH clause; it cannot also be given "
                "using-graph-uri or using-named-graph-uri"
            )
        if tok.depth == 0 and tok.keyword == "WHERE" and not (
            previous is not None and previous.keyword == "DELETE"
        ):
            inserts.append(tok.start)
        previous = tok
    for pos in reversed(inserts):
        update = update[:pos] + clause + update[pos:]
    return update
