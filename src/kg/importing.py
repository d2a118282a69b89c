"""Importing selected external facts about linked divisions, with their provenance.

``kg import`` asks an external graph (a SPARQL endpoint or an RDF file) for a few facts
about the entities our divisions are linked to (``skos:exactMatch``): population (P1082),
area (P2046), coordinates (P625) and official website (P856), kept as the source states them
(``wdt:`` properties on the external IRI, so that a query joins through the link exactly as
it would through ``SERVICE``). They go into a named graph of their own,
``https://w3id.org/duikou/graph/external/{source}``, which also describes itself:
``prov:wasDerivedFrom`` the endpoint or file, ``prov:generatedAtTime`` and the query used.

The graph is written as a TriG file, ``data/external/{source}.trig``: ``kg build`` keeps the
graph name a quad format gives, so the import survives rebuilds, works offline, and is
refreshed (rerun ``kg import``) or dropped (delete the file) on its own. With ``apply=True``
the same graph also replaces its previous version in the current store at once, as a new
generation (:func:`kg.store.apply_update`).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from kg.errors import LinkingError
from kg.linking import DEFAULT_TIMEOUT, open_source, source_name
from kg.namespaces import GRAPH, PREFIXES

log = logging.getLogger(__name__)

PROPERTIES: dict[str, str] = {
    "P1082": "population",
    "P2046": "area",
    "P625": "coordinates",
    "P856": "official website",
}
"""The Wikidata properties imported, by ID."""

WDT = "http://www.wikidata.org/prop/direct/"
PROV = "http://www.w3.org/ns/prov#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
DCTERMS = "http://purl.org/dc/terms/"
XSD = "http://www.w3.org/2001/XMLSchema#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"

LINKED_QUERY = """PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX dk: <https://w3id.org/duikou/ontology#>
SELECT DISTINCT ?ext WHERE { ?d dk:divisionCode ?code ; skos:exactMatch ?ext .
  FILTER(isIRI(?ext)) } ORDER BY ?ext"""


def graph_iri(source: str) -> str:
    """The named graph of the facts imported from ``source``.

    >>> graph_iri("wikidata")
    'https://w3id.org/duikou/graph/external/wikidata'
    """
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", source):
        raise LinkingError(f"source name {source!r}: use lower-case letters, digits and -")
    return f"{GRAPH}external/{source}"


def facts_query(entities: list[str]) -> str:
    """The CONSTRUCT query that selects the imported facts of ``entities``."""
    values = " ".join(f"<{e}>" for e in entities)
    unions = "\n  UNION ".join(
        f"{{ ?item <{WDT}{p}> ?v BIND(<{WDT}{p}> AS ?p) }}" for p in PROPERTIES)
    return (f"CONSTRUCT {{ ?item ?p ?v }}\nWHERE {{\n  VALUES ?item {{ {values} }}\n"
            f"  {unions}\n}}")


@dataclass
class ImportResult:
    """What :func:`import_facts` wrote."""

    source: str
    graph: str
    entities: int
    facts: int
    path: Path | None
    applied: bool


def _linked_entities(store: Any) -> list[str]:
    return [row["ext"].value for row in store.query(LINKED_QUERY)]


def import_facts(
    store_path: Path,
    target: str,
    *,
    source: str | None = None,
    out: Path | None = None,
    apply: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    now: dt.datetime | None = None,
) -> ImportResult:
    """Import the facts about the linked entities of the store at ``store_path`` from
    ``target`` into ``…/graph/external/{source}``: written to ``out`` (TriG) when given,
    and applied to the store when ``apply``."""
    from kg.store import apply_update, open_store

    name = source or source_name(target)
    graph = graph_iri(name)
    entities = _linked_entities(open_store(store_path))
    if not entities:
        raise LinkingError("no division of the store is linked (skos:exactMatch); "
                           "run `kg link` or add links to data/links/ first")
    src = open_source(target, timeout=timeout)
    triples: list[ox.Triple] = []
    queries: list[str] = []
    for i in range(0, len(entities), 200):
        query = facts_query(entities[i : i + 200])
        queries.append(query)
        triples.extend(src.construct(query))
    wanted = {f"{WDT}{p}" for p in PROPERTIES}
    facts = sorted({t for t in triples if t.predicate.value in wanted
                    and isinstance(t.subject, ox.NamedNode)}, key=str)
    when = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    g = ox.NamedNode(graph)
    quads = [ox.Quad(t.subject, t.predicate, t.object, g) for t in facts]
    quads += _provenance(g, src.iri, name, when, "\n\n".join(queries), len(facts))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.part")
        header = (f"# Facts imported by `kg import --target {src.iri}` into <{graph}>;\n"
                  "# rerun kg import to refresh them, delete this file to drop them.\n").encode()
        body = ox.serialize(quads, format=ox.RdfFormat.TRIG, prefixes={
            p: PREFIXES[p] for p in ("wd", "wdt", "prov", "rdfs", "dcterms", "xsd", "geo")})
        tmp.write_bytes(header + body)
        tmp.replace(out)
    if apply:
        data = "\n".join(f"{q.subject} {q.predicate} {q.object} ." for q in quads)
        apply_update(store_path, f"DROP SILENT GRAPH <{graph}> ;\n"
                                 f"INSERT DATA {{ GRAPH <{graph}> {{\n{data}\n}} }}")
    log.info("imported %d facts about %d entities into <%s>", len(facts), len(entities), graph)
    return ImportResult(name, graph, len(entities), len(facts), out, apply)


def _provenance(g: ox.NamedNode, derived_from: str, name: str, when: dt.datetime,
                query: str, count: int) -> list[ox.Quad]:
    def quad(p: str, o: ox.NamedNode | ox.Literal) -> ox.Quad:
        return ox.Quad(g, ox.NamedNode(p), o, g)

    return [
        quad(RDF_TYPE, ox.NamedNode(PROV + "Entity")),
        quad(PROV + "wasDerivedFrom", ox.NamedNode(derived_from)),
        quad(PROV + "generatedAtTime",
             ox.Literal(when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        datatype=ox.NamedNode(XSD + "dateTime"))),
        quad(DCTERMS + "title", ox.Literal(f"Facts imported from {name}", language="en")),
        quad(RDFS + "comment", ox.Literal(
            f"{count} statements (" + ", ".join(f"{p} {n}" for p, n in PROPERTIES.items())
            + f") about linked divisions, selected by this SPARQL query:\n\n{query}",
            language="en")),
    ]
