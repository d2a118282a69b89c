"""Running a SPARQL query and writing its results in a chosen format."""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox

from kg.formats import GRAPH_FORMATS, RESULT_FORMATS, Format, find
from kg.namespaces import PREFIXES
from kg.store import QueryResult


@dataclass(frozen=True)
class Table:
    """SELECT or ASK results as rows of display strings, for terminals."""

    columns: list[str]
    rows: list[list[str]]


def is_graph_result(result: QueryResult) -> bool:
    """True for CONSTRUCT and DESCRIBE results."""
    return isinstance(result, ox.QueryTriples)


def result_format(result: QueryResult, name: str | None) -> Format:
    """The format named ``name`` that fits ``result`` (default JSON or Turtle)."""
    formats = GRAPH_FORMATS if is_graph_result(result) else RESULT_FORMATS
    if name is None:
        return formats[0]
    fmt = find(formats, name)
    if fmt is None:
        kind = "graph results" if is_graph_result(result) else "SELECT/ASK results"
        known = ", ".join(f.name for f in formats)
        raise ValueError(f"format {name!r} does not fit {kind}; use one of {known}")
    return fmt


def serialize(result: QueryResult, fmt: Format) -> bytes:
    """The whole result serialised in ``fmt``."""
    if isinstance(result, ox.QueryTriples):
        prefixes = PREFIXES if fmt.name in ("turtle", "trig") else None
        triples = iter(result)
        if fmt.oxigraph.supports_datasets:
            triples = (ox.Quad(t.subject, t.predicate, t.object) for t in triples)
        return ox.serialize(triples, format=fmt.oxigraph, prefixes=prefixes)
    return result.serialize(format=fmt.oxigraph)


def shorten(term: object) -> str:
    """A term for people: prefixed name where a project prefix fits, else N-Triples-ish."""
    if term is None:
        return ""
    if isinstance(term, ox.NamedNode):
        for prefix, ns in PREFIXES.items():
            if term.value.startswith(ns) and term.value != ns:
                return f"{prefix}:{term.value[len(ns):]}"
        return f"<{term.value}>"
    if isinstance(term, ox.Literal):
        if term.language:
            return f"{term.value}@{term.language}"
        return term.value
    return str(term)


def to_table(result: QueryResult) -> Table:
    """SELECT or ASK results as a :class:`Table`."""
    if isinstance(result, ox.QueryBoolean):
        return Table(["ask"], [["true" if bool(result) else "false"]])
    assert isinstance(result, ox.QuerySolutions)
    columns = [v.value for v in result.variables]
    rows = [[shorten(solution[c]) for c in columns] for solution in result]
    return Table(columns, rows)
