"""The result and RDF formats the CLI and the endpoint offer, by short name and media type."""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox


@dataclass(frozen=True)
class Format:
    """One serialisation: its short name (``--format``/``format=``), media type and
    the pyoxigraph format that writes it."""

    name: str
    media_type: str
    extension: str
    oxigraph: ox.QueryResultsFormat | ox.RdfFormat
    aliases: tuple[str, ...] = ()


RESULT_FORMATS: tuple[Format, ...] = (
    Format("json", "application/sparql-results+json", "srj", ox.QueryResultsFormat.JSON,
           ("srj", "application/json")),
    Format("xml", "application/sparql-results+xml", "srx", ox.QueryResultsFormat.XML,
           ("srx", "application/xml", "text/xml")),
    Format("csv", "text/csv", "csv", ox.QueryResultsFormat.CSV),
    Format("tsv", "text/tab-separated-values", "tsv", ox.QueryResultsFormat.TSV),
)
"""Formats of SELECT and ASK results; the first is the default."""

GRAPH_FORMATS: tuple[Format, ...] = (
    Format("turtle", "text/turtle", "ttl", ox.RdfFormat.TURTLE, ("ttl",)),
    Format("nt", "application/n-triples", "nt", ox.RdfFormat.N_TRIPLES,
           ("ntriples", "n-triples", "text/plain")),
    Format("jsonld", "application/ld+json", "jsonld", ox.RdfFormat.JSON_LD,
           ("json-ld", "json", "application/json")),
    Format("xml", "application/rdf+xml", "rdf", ox.RdfFormat.RDF_XML,
           ("rdf", "rdfxml", "rdf-xml", "application/xml", "text/xml")),
    Format("nq", "application/n-quads", "nq", ox.RdfFormat.N_QUADS, ("nquads", "n-quads")),
    Format("trig", "application/trig", "trig", ox.RdfFormat.TRIG),
)
"""Formats of CONSTRUCT and DESCRIBE results and of exports; the first is the default."""


def find(formats: tuple[Format, ...], key: str) -> Format | None:
    """The format named ``key`` (short name, alias or media type), or None."""
    key = key.strip().lower()
    for f in formats:
        if key in (f.name, f.media_type, f.extension, *f.aliases):
            return f
    return None
