"""Every namespace, prefix and named-graph IRI of the project, defined once.

The ontology, the data, the queries and the web pages all use these prefixes;
``tests/test_namespaces.py`` checks that the files agree with this module.
"""

from __future__ import annotations

from rdflib import Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, OWL, PROV, QB, RDF, RDFS, SDO, SKOS, VOID, XSD

BASE = "https://w3id.org/duikou/"

DK = Namespace(BASE + "ontology#")
"""The Duikou ontology: classes and properties (``dk:``)."""

ID = Namespace(BASE + "id/")
"""Instance IRIs: divisions, pairings, observations, people, documents (``dkid:``)."""

DIVISION = Namespace(BASE + "id/division/")
"""Administrative divisions by GB/T 2260 code (``div:``)."""

GRAPH = Namespace(BASE + "graph/")

ONTOLOGY_IRI = URIRef(BASE + "ontology")

VANN = Namespace("http://purl.org/vocab/vann/")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
SH = Namespace("http://www.w3.org/ns/shacl#")
CSVW = Namespace("http://www.w3.org/ns/csvw#")
WD = Namespace("http://www.wikidata.org/entity/")
WDT = Namespace("http://www.wikidata.org/prop/direct/")
GN = Namespace("https://sws.geonames.org/")
TIME = Namespace("http://www.w3.org/2006/time#")
ORG = Namespace("http://www.w3.org/ns/org#")
GEO = Namespace("http://www.opengis.net/ont/geosparql#")
WGS = Namespace("http://www.w3.org/2003/01/geo/wgs84_pos#")

PREFIXES: dict[str, str] = {
    "dk": str(DK),
    "dkid": str(ID),
    "div": str(DIVISION),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "owl": str(OWL),
    "xsd": str(XSD),
    "skos": str(SKOS),
    "dcterms": str(DCTERMS),
    "prov": str(PROV),
    "qb": str(QB),
    "schema": str(SDO),
    "foaf": str(FOAF),
    "org": str(ORG),
    "time": str(TIME),
    "vann": str(VANN),
    "void": str(VOID),
    "dcat": str(DCAT),
    "sd": str(SD),
    "sh": str(SH),
    "csvw": str(CSVW),
    "wd": str(WD),
    "wdt": str(WDT),
    "gn": str(GN),
    "geo": str(GEO),
    "wgs": str(WGS),
}
"""Prefix → namespace for every vocabulary the project uses."""


class Graphs:
    """The named graphs of the public contract."""

    ONTOLOGY = GRAPH["ontology"]
    DATA = GRAPH["data"]
    REFERENCE = GRAPH["reference"]
    LINKS = GRAPH["links"]
    INFERRED = GRAPH["inferred"]

    ASSERTED = (ONTOLOGY, DATA, REFERENCE, LINKS)
    ALL = (ONTOLOGY, DATA, REFERENCE, LINKS, INFERRED)

    @staticmethod
    def by_name(name: str) -> URIRef:
        """The graph IRI for a short name such as ``"data"``; raises ``KeyError``."""
        return {
            "ontology": Graphs.ONTOLOGY,
            "data": Graphs.DATA,
            "reference": Graphs.REFERENCE,
            "links": Graphs.LINKS,
            "inferred": Graphs.INFERRED,
        }[name]


def sparql_prologue() -> str:
    """``PREFIX`` lines for every project prefix, for queries built in code."""
    return "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in PREFIXES.items())
