"""Exporting the store's graphs as RDF files, deterministically.

The same store always gives a byte-identical file: N-Triples and N-Quads lines are
sorted, and Turtle, TriG, JSON-LD and RDF/XML are written by rdflib, whose serialisers
sort subjects and predicates, with the project's prefixes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import BinaryIO

import pyoxigraph as ox
from rdflib import Dataset, Graph, URIRef

from kg.formats import GRAPH_FORMATS, Format, find
from kg.namespaces import PREFIXES, Graphs
from kg.store import Store
from kg.terms import to_rdflib

SELECTIONS = ("all", "asserted", "inferred", "ontology", "data", "reference", "links")
"""What ``kg export --graph`` accepts."""


def selected_graphs(store: Store, selection: str) -> list[str]:
    """The named graph IRIs that ``selection`` stands for in this store."""
    present = sorted(store.counts())
    if selection == "all":
        return present
    if selection == "asserted":
        return [g for g in present if g != str(Graphs.INFERRED)]
    if selection in SELECTIONS:
        return [str(Graphs.by_name(selection))]
    raise ValueError(f"unknown graph selection {selection!r}; one of {', '.join(SELECTIONS)}")


def graph_format(name: str) -> Format:
    fmt = find(GRAPH_FORMATS, name)
    if fmt is None:
        known = ", ".join(f.name for f in GRAPH_FORMATS)
        raise ValueError(f"unknown format {name!r}; one of {known}")
    return fmt


def export(store: Store, selection: str, fmt: str, out: BinaryIO) -> int:
    """Write the selected graphs to ``out`` in format ``fmt``; returns the triple count."""
    graphs = selected_graphs(store, selection)
    f = graph_format(fmt)
    quads = store.quads(graphs)
    if f.name in ("nt", "nq"):
        return _write_sorted_lines(quads, f, out)
    if f.name == "trig":
        ds = Dataset()
        _bind(ds)
        count = 0
        for q in quads:
            ds.graph(URIRef(q.graph_name.value)).add(_triple(q))
            count += 1
        out.write(ds.serialize(format="trig").encode("utf-8"))
        return count
    g = Graph()
    _bind(g)
    for q in quads:
        g.add(_triple(q))
    rdflib_format = {"turtle": "turtle", "jsonld": "json-ld", "xml": "pretty-xml"}[f.name]
    kwargs = {"context": dict(PREFIXES), "auto_compact": True} if f.name == "jsonld" else {}
    out.write(g.serialize(format=rdflib_format, **kwargs).encode("utf-8"))
    return len(g)


def _triple(q: ox.Quad) -> tuple:
    return to_rdflib(q.subject), to_rdflib(q.predicate), to_rdflib(q.object)


def _bind(g: Graph) -> None:
    for prefix, ns in PREFIXES.items():
        g.bind(prefix, ns, override=True, replace=True)


def _write_sorted_lines(quads: Iterable[ox.Quad], f: Format, out: BinaryIO) -> int:
    if f.name == "nt":
        lines = {str(ox.Triple(q.subject, q.predicate, q.object)) + " .\n" for q in quads}
    else:
        lines = {str(q) + " .\n" for q in quads}
    for line in sorted(lines):
        out.write(line.encode("utf-8"))
    return len(lines)
