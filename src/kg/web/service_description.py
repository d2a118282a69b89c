"""The SPARQL 1.1 Service Description of ``/sparql``, with VoID counts of each graph.

Built with rdflib once per store generation (and endpoint URL and format), then served
from a small cache: a plain ``GET /sparql`` costs a dictionary lookup.
"""

from __future__ import annotations

import threading

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, RDF, VOID, XSD

from kg.formats import GRAPH_FORMATS, RESULT_FORMATS, Format
from kg.namespaces import SD, Graphs
from kg.store import BuildInfo

FORMATS = Namespace("http://www.w3.org/ns/formats/")

FORMAT_IRIS = {
    "application/sparql-results+json": FORMATS.SPARQL_Results_JSON,
    "application/sparql-results+xml": FORMATS.SPARQL_Results_XML,
    "text/csv": FORMATS.SPARQL_Results_CSV,
    "text/tab-separated-values": FORMATS.SPARQL_Results_TSV,
    "text/turtle": FORMATS.Turtle,
    "application/n-triples": FORMATS["N-Triples"],
    "application/ld+json": FORMATS["JSON-LD"],
    "application/rdf+xml": FORMATS.RDF_XML,
    "application/n-quads": FORMATS["N-Quads"],
    "application/trig": FORMATS.TriG,
}

RDFLIB_FORMATS = {"turtle": "turtle", "nt": "nt", "jsonld": "json-ld", "xml": "xml",
                  "nq": "nquads", "trig": "trig"}


def describe(endpoint: str, info: BuildInfo, *, update: bool, federation: bool = False
             ) -> Graph:
    """The ``sd:Service`` description of the endpoint at ``endpoint``."""
    g = Graph()
    g.bind("sd", SD)
    g.bind("void", VOID)
    g.bind("dcterms", DCTERMS)
    g.bind("formats", FORMATS)
    service = URIRef(endpoint)
    g.add((service, RDF.type, SD.Service))
    g.add((service, SD.endpoint, service))
    g.add((service, DCTERMS.title, Literal("Duikou KG SPARQL endpoint", lang="en")))
    g.add((service, SD.supportedLanguage, SD.SPARQL11Query))
    if update:
        g.add((service, SD.supportedLanguage, SD.SPARQL11Update))
    g.add((service, SD.feature, SD.UnionDefaultGraph))
    if federation:
        g.add((service, SD.feature, SD.BasicFederatedQuery))
    for fmt in (*RESULT_FORMATS, *GRAPH_FORMATS):
        g.add((service, SD.resultFormat, FORMAT_IRIS[fmt.media_type]))
    dataset = BNode("dataset")
    g.add((service, SD.defaultDataset, dataset))
    g.add((dataset, RDF.type, SD.Dataset))
    g.add((dataset, RDF.type, VOID.Dataset))
    g.add((dataset, DCTERMS.identifier, Literal(info.build_id)))
    g.add((dataset, DCTERMS.modified, Literal(info.built_at, datatype=XSD.dateTime)))
    default = BNode("defaultGraph")
    g.add((dataset, SD.defaultGraph, default))
    g.add((default, RDF.type, SD.Graph))
    g.add((default, DCTERMS.description, Literal(
        "The union of all named graphs (without the inferred graph when the request "
        "says inference=none).", lang="en")))
    g.add((default, VOID.triples, Literal(sum(info.counts.values()))))
    g.add((dataset, VOID.triples, Literal(sum(info.counts.values()))))
    for i, (name, count) in enumerate(sorted(info.counts.items())):
        named = BNode(f"namedGraph{i}")
        graph = BNode(f"graph{i}")
        g.add((dataset, SD.namedGraph, named))
        g.add((named, RDF.type, SD.NamedGraph))
        g.add((named, SD.name, URIRef(name)))
        g.add((named, SD.graph, graph))
        g.add((graph, RDF.type, SD.Graph))
        g.add((graph, RDF.type, VOID.Dataset))
        g.add((graph, VOID.triples, Literal(count)))
        if name == str(Graphs.INFERRED):
            g.add((graph, DCTERMS.description, Literal(
                f"Triples derived by the {info.reasoner} reasoner (OWL 2 RL) at build time.",
                lang="en")))
    return g


class DescriptionCache:
    """Serialised descriptions by (build, endpoint, update enabled, format)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str, bool, bool, str], bytes] = {}
        self._lock = threading.Lock()

    def get(self, endpoint: str, info: BuildInfo, fmt: Format, *, update: bool,
            federation: bool = False) -> bytes:
        key = (info.build_id, endpoint, update, federation, fmt.name)
        body = self._cache.get(key)
        if body is None:
            body = describe(endpoint, info, update=update, federation=federation).serialize(
                format=RDFLIB_FORMATS[fmt.name], encoding="utf-8")
            with self._lock:
                if len(self._cache) > 64:
                    self._cache.clear()
                self._cache[key] = body
        return body
