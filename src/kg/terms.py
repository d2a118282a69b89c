"""Conversion between rdflib and pyoxigraph terms.

Files are parsed with pyoxigraph (fast, with exact line and column in syntax errors),
while pyshacl and owlrl work on rdflib graphs; these functions cross between the two.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"

Triple = tuple[Node, Node, Node]


def to_rdflib(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> Node:
    """An rdflib term equal to a pyoxigraph one (``xsd:string`` literals become plain)."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        datatype = term.datatype.value
        if datatype == XSD_STRING:
            return Literal(term.value)
        return Literal(term.value, datatype=URIRef(datatype))
    raise TypeError(f"RDF-star triple terms are not supported: {term!r}")


def to_oxigraph(term: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """A pyoxigraph term equal to an rdflib one (a pyoxigraph term is returned as is)."""
    if isinstance(term, ox.NamedNode | ox.BlankNode | ox.Literal):
        return term
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None and str(term.datatype) != RDF_LANGSTRING:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"unsupported rdflib term: {term!r}")


def triples_to_quads(triples: Iterable[Triple], graph: str) -> Iterator[ox.Quad]:
    """pyoxigraph quads in the named graph ``graph`` for rdflib (or pyoxigraph) triples."""
    g = ox.NamedNode(graph)
    for s, p, o in triples:
        yield ox.Quad(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o), g)


def quads_to_graph(quads: Iterable[ox.Quad]) -> Graph:
    """One rdflib graph holding the triples of ``quads`` (graph names dropped)."""
    g = Graph()
    g.addN((to_rdflib(q.subject), to_rdflib(q.predicate), to_rdflib(q.object), g) for q in quads)
    return g


def graph_to_quads(triples: Iterable[Triple]) -> list[ox.Quad]:
    """pyoxigraph quads in the default graph for rdflib triples (e.g. an rdflib graph)."""
    return [ox.Quad(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o)) for s, p, o in triples]
