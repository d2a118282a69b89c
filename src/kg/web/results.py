"""Writing query results into a bounded spool, cut at the row limit.

Results are written by the thread that evaluates the query (see :mod:`kg.web.limits`), so
the time limit covers evaluation *and* serialisation. They go into a :class:`Spool` that
keeps the first few MiB in memory and the rest in a temporary file, so a large result is
never held whole in memory; the response then streams the spool out in chunks. Producing
the result before sending headers is what lets the headers tell the truth: the exact
``Content-Length``, and whether the result was cut at ``KG_MAX_ROWS``.

SELECT results are serialised here row by row (so that they can be counted and cut);
booleans and graphs by pyoxigraph.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import IO
from xml.sax.saxutils import escape, quoteattr

import pyoxigraph as ox

from kg.formats import Format
from kg.namespaces import PREFIXES

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
MEMORY_LIMIT = 4 * 1024 * 1024
CHUNK = 64 * 1024
BATCH = 500


class Spool:
    """Bytes written in memory up to ``memory_limit``, then in a temporary file."""

    def __init__(self, memory_limit: int = MEMORY_LIMIT) -> None:
        self._memory: io.BytesIO | None = io.BytesIO()
        self._file: IO[bytes] | None = None
        self._limit = memory_limit
        self.size = 0

    def write(self, data: bytes) -> int:
        n = len(data)
        self.size += n
        if self._memory is not None:
            if self.size <= self._limit:
                return self._memory.write(data)
            self._file = tempfile.TemporaryFile(prefix="kg-result-")  # noqa: SIM115
            self._file.write(self._memory.getbuffer())
            self._memory = None
        assert self._file is not None
        return self._file.write(data)

    def flush(self) -> None:
        pass

    def body(self) -> bytes | Iterator[bytes]:
        """The bytes, or an iterator over chunks of the temporary file (closed at the end)."""
        if self._memory is not None:
            return self._memory.getvalue()
        assert self._file is not None
        return self._chunks(self._file)

    @staticmethod
    def _chunks(f: IO[bytes]) -> Iterator[bytes]:
        try:
            f.seek(0)
            while chunk := f.read(CHUNK):
                yield chunk
        finally:
            f.close()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


@dataclass
class Written:
    """What :func:`write_result` wrote."""

    rows: int | None = None  # rows or triples; None for ASK
    truncated: bool = False


def write_result(result: ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples, fmt: Format,
                 out: Spool, max_rows: int) -> Written:
    """Serialise ``result`` in ``fmt`` into ``out``, at most ``max_rows`` rows or triples."""
    if isinstance(result, ox.QueryBoolean):
        out.write(result.serialize(format=fmt.oxigraph))
        return Written()
    if isinstance(result, ox.QueryTriples):
        return _write_triples(result, fmt, out, max_rows)
    writer = _WRITERS[fmt.name]
    variables = [v.value for v in result.variables]
    counter = _Counter(result, max_rows)
    writer(variables, counter, out)
    return Written(counter.count, counter.truncated())


class _Counter:
    """Iterates at most ``limit`` items and can tell whether there were more."""

    def __init__(self, items: Iterable, limit: int) -> None:
        self._it = iter(items)
        self._limit = limit
        self.count = 0

    def __iter__(self) -> Iterator:
        for item in islice(self._it, self._limit):
            self.count += 1
            yield item

    def truncated(self) -> bool:
        if self.count < self._limit:
            return False
        return next(self._it, None) is not None


def _write_triples(triples: ox.QueryTriples, fmt: Format, out: Spool, max_rows: int
                   ) -> Written:
    counter = _Counter(triples, max_rows)
    items: Iterable = counter
    if fmt.name in ("nq", "trig"):
        items = (ox.Quad(t.subject, t.predicate, t.object) for t in counter)
    if fmt.name in ("turtle", "trig"):
        ox.serialize(items, out, format=fmt.oxigraph, prefixes=PREFIXES)
    else:
        ox.serialize(items, out, format=fmt.oxigraph)
    return Written(counter.count, counter.truncated())


# --- SELECT serialisers -------------------------------------------------------------------

def _batches(rows: Iterable[ox.QuerySolution]) -> Iterator[list[ox.QuerySolution]]:
    it = iter(rows)
    while batch := list(islice(it, BATCH)):
        yield batch


def _json_term(term: object) -> dict:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.Literal):
        d: dict = {"type": "literal", "value": term.value}
        if term.language:
            d["xml:lang"] = term.language
        elif term.datatype.value != XSD_STRING:
            d["datatype"] = term.datatype.value
        return d
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Triple):
        return {"type": "triple", "value": {
            "subject": _json_term(term.subject), "predicate": _json_term(term.predicate),
            "object": _json_term(term.object)}}
    raise TypeError(f"unexpected term {term!r}")


def _write_json(variables: list[str], rows: Iterable[ox.QuerySolution], out: Spool) -> None:
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    out.write(b'{"head":{"vars":' + dumps(variables).encode() + b'},"results":{"bindings":[')
    first = True
    for batch in _batches(rows):
        parts = []
        for row in batch:
            binding = {}
            for var in variables:
                term = row[var]
                if term is not None:
                    binding[var] = _json_term(term)
            parts.append(dumps(binding))
        out.write(("" if first else ",").encode() + ",".join(parts).encode())
        first = False
    out.write(b"]}}")


def _xml_term(term: object) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<uri>{escape(term.value)}</uri>"
    if isinstance(term, ox.Literal):
        if term.language:
            return f"<literal xml:lang={quoteattr(term.language)}>{escape(term.value)}</literal>"
        if term.datatype.value != XSD_STRING:
            return (f"<literal datatype={quoteattr(term.datatype.value)}>"
                    f"{escape(term.value)}</literal>")
        return f"<literal>{escape(term.value)}</literal>"
    if isinstance(term, ox.BlankNode):
        return f"<bnode>{escape(term.value)}</bnode>"
    if isinstance(term, ox.Triple):
        return (f"<triple><subject>{_xml_term(term.subject)}</subject>"
                f"<predicate>{_xml_term(term.predicate)}</predicate>"
                f"<object>{_xml_term(term.object)}</object></triple>")
    raise TypeError(f"unexpected term {term!r}")


def _write_xml(variables: list[str], rows: Iterable[ox.QuerySolution], out: Spool) -> None:
    head = "".join(f"<variable name={quoteattr(v)}/>" for v in variables)
    out.write(('<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">'
               f"<head>{head}</head><results>").encode())
    for batch in _batches(rows):
        parts = []
        for row in batch:
            parts.append("<result>")
            for var in variables:
                term = row[var]
                if term is not None:
                    parts.append(f"<binding name={quoteattr(var)}>{_xml_term(term)}</binding>")
            parts.append("</result>")
        out.write("".join(parts).encode())
    out.write(b"</results></sparql>\n")


def _csv_value(term: object) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.NamedNode | ox.Literal):
        return term.value
    if isinstance(term, ox.BlankNode):
        return "_:" + term.value
    return str(term)


def _write_csv(variables: list[str], rows: Iterable[ox.QuerySolution], out: Spool) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(variables)
    for batch in _batches(rows):
        writer.writerows([_csv_value(row[v]) for v in variables] for row in batch)
        out.write(buf.getvalue().encode())
        buf.seek(0)
        buf.truncate()
    out.write(buf.getvalue().encode())


def _tsv_value(term: object) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.Literal) and not term.language and (
        term.datatype.value == XSD_STRING
    ):
        return str(term)
    return str(term).replace("\t", "\\t")


def _write_tsv(variables: list[str], rows: Iterable[ox.QuerySolution], out: Spool) -> None:
    out.write(("\t".join("?" + v for v in variables) + "\n").encode())
    for batch in _batches(rows):
        lines = ["\t".join(_tsv_value(row[v]) for v in variables) for row in batch]
        out.write(("\n".join(lines) + "\n").encode())


_WRITERS = {"json": _write_json, "xml": _write_xml, "csv": _write_csv, "tsv": _write_tsv}
