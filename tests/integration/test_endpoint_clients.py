"""Real clients against the real server: SPARQLWrapper in every result format, each response
parsed by a real parser and compared with the expected rows or triples."""

from __future__ import annotations

import csv
import io
import json

import pytest
import rdflib
import requests
from rdflib import Literal, URIRef
from rdflib.namespace import RDFS, SKOS
from SPARQLWrapper import CSV, JSON, JSONLD, N3, RDFXML, TSV, TURTLE, XML, SPARQLWrapper

from .conftest import DIV, DK, Server

PREFIXES = f"PREFIX div: <{DIV}>\nPREFIX dk: <{DK}>\nPREFIX rdfs: <{RDFS}>\n"
LABELS = PREFIXES + "SELECT ?label WHERE { div:330000 rdfs:label ?label } ORDER BY ?label"
EXPECTED_LABELS = [("Zhejiang", "en"), ("浙江省", "zh")]  # (value, language)
CONSTRUCT = PREFIXES + "CONSTRUCT { div:330000 rdfs:label ?l } WHERE { div:330000 rdfs:label ?l }"
EXPECTED_TRIPLES = {
    (URIRef(DIV + "330000"), RDFS.label, Literal("Zhejiang", lang="en")),
    (URIRef(DIV + "330000"), RDFS.label, Literal("浙江省", lang="zh")),
}


def wrapper(server: Server, query: str, fmt: str, method: str = "GET") -> SPARQLWrapper:
    sw = SPARQLWrapper(server.sparql)
    sw.setQuery(query)
    sw.setReturnFormat(fmt)
    sw.setMethod(method)
    return sw


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_select_json(server: Server, method: str) -> None:
    data = wrapper(server, LABELS, JSON, method).queryAndConvert()
    assert data["head"]["vars"] == ["label"]
    rows = [(b["label"]["value"], b["label"].get("xml:lang"))
            for b in data["results"]["bindings"]]
    assert rows == EXPECTED_LABELS


def test_select_xml(server: Server) -> None:
    doc = wrapper(server, LABELS, XML).queryAndConvert()
    literals = doc.getElementsByTagName("literal")
    rows = [(lit.firstChild.data, lit.getAttribute("xml:lang") or None) for lit in literals]
    assert rows == EXPECTED_LABELS


def test_select_csv(server: Server) -> None:
    body = wrapper(server, LABELS, CSV).queryAndConvert()
    rows = list(csv.reader(io.StringIO(body.decode("utf-8"))))
    assert rows == [["label"], ["Zhejiang"], ["浙江省"]]


def test_select_tsv(server: Server) -> None:
    body = wrapper(server, LABELS, TSV).queryAndConvert().decode("utf-8")
    assert body.splitlines() == ["?label", '"Zhejiang"@en', '"浙江省"@zh']


@pytest.mark.parametrize("fmt", [JSON, XML])
def test_ask(server: Server, fmt: str) -> None:
    yes = wrapper(server, PREFIXES + "ASK { div:330000 a dk:Division }", fmt).queryAndConvert()
    no = wrapper(server, PREFIXES + "ASK { div:330000 a dk:County }", fmt).queryAndConvert()
    if fmt == JSON:
        assert (yes["boolean"], no["boolean"]) == (True, False)
    else:
        values = [d.getElementsByTagName("boolean")[0].firstChild.data for d in (yes, no)]
        assert values == ["true", "false"]


@pytest.mark.parametrize("fmt", [TURTLE, N3, RDFXML, JSONLD, XML])
def test_construct_with_sparqlwrapper(server: Server, fmt: str) -> None:
    result = wrapper(server, CONSTRUCT, fmt).queryAndConvert()
    if isinstance(result, bytes):
        result = rdflib.Graph().parse(data=result, format="turtle")
    assert set(result) == EXPECTED_TRIPLES


@pytest.mark.parametrize(("accept", "rdflib_format"), [
    ("text/turtle", "turtle"),
    ("application/n-triples", "nt"),
    ("application/ld+json", "json-ld"),
    ("application/rdf+xml", "xml"),
    ("application/n-quads", "nquads"),
])
def test_construct_every_graph_format(server: Server, accept: str, rdflib_format: str) -> None:
    sw = SPARQLWrapper(server.sparql)
    sw.setQuery(CONSTRUCT)
    sw.setOnlyConneg(True)
    sw.addCustomHttpHeader("Accept", accept)
    response = sw.query().response
    assert response.headers["Content-Type"].split(";")[0] == accept
    body = response.read()
    if rdflib_format == "nquads":
        triples = {(s, p, o) for s, p, o, _ in rdflib.Dataset().parse(
            data=body, format="nquads").quads()}
    else:
        triples = set(rdflib.Graph().parse(data=body, format=rdflib_format))
    assert triples == EXPECTED_TRIPLES


def test_describe_defaults_to_turtle(server: Server) -> None:
    r = requests.get(server.sparql, params={"query": f"DESCRIBE <{DIV}510000>"}, timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/turtle")
    g = rdflib.Graph().parse(data=r.text, format="turtle")
    assert (URIRef(DIV + "510000"), SKOS.prefLabel, Literal("四川省", lang="zh")) in g


def test_select_defaults_to_json(server: Server) -> None:
    r = requests.post(server.sparql, data={"query": LABELS}, timeout=10)
    assert r.headers["Content-Type"] == "application/sparql-results+json"
    assert len(r.json()["results"]["bindings"]) == 2


def test_direct_post(server: Server) -> None:
    r = requests.post(server.sparql, data=LABELS.encode(), timeout=10,
                      headers={"Content-Type": "application/sparql-query",
                               "Accept": "text/csv"})
    assert r.status_code == 200
    assert r.text.splitlines() == ["label", "Zhejiang", "浙江省"]


@pytest.mark.parametrize(("accept", "expected"), [
    ("text/csv;q=0.5, application/sparql-results+xml;q=0.9", "application/sparql-results+xml"),
    ("text/*;q=0.2, application/sparql-results+json;q=0.1", "text/csv"),
    ("application/sparql-results+json;q=0, */*;q=0.1", "application/sparql-results+xml"),
    ("text/tab-separated-values", "text/tab-separated-values"),
    ("*/*", "application/sparql-results+json"),
])
def test_q_values(server: Server, accept: str, expected: str) -> None:
    r = requests.get(server.sparql, params={"query": LABELS}, headers={"Accept": accept},
                     timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Type"].split(";")[0] == expected


@pytest.mark.parametrize(("param", "value", "expected"), [
    ("format", "csv", "text/csv"),
    ("output", "tsv", "text/tab-separated-values"),
    ("format", "application/sparql-results+xml", "application/sparql-results+xml"),
])
def test_format_parameter_overrides_accept(server: Server, param: str, value: str,
                                           expected: str) -> None:
    r = requests.get(server.sparql, params={"query": LABELS, param: value},
                     headers={"Accept": "application/sparql-results+json"}, timeout=10)
    assert r.headers["Content-Type"].split(";")[0] == expected


def _values(server: Server, query: str, **params: str) -> list[str]:
    r = requests.get(server.sparql, params={"query": PREFIXES + query, **params}, timeout=10)
    assert r.status_code == 200, r.text
    data = r.json()
    return sorted(b[data["head"]["vars"][0]]["value"] for b in data["results"]["bindings"])


def test_default_graph_is_the_union(server: Server) -> None:
    # the label is in the data graph, the notation in the reference graph, the link in links
    q = "SELECT ?x WHERE { div:330000 rdfs:label ?x ; skos:notation ?n ; skos:exactMatch ?w }"
    assert _values(server, f"PREFIX skos: <{SKOS}>\n" + q) == ["Zhejiang", "浙江省"]


def test_inference_none_hides_the_inferred_graph(server: Server) -> None:
    q = "SELECT ?c WHERE { div:330000 a ?c }"
    assert _values(server, q) == [DK + "Division", DK + "Province"]
    assert _values(server, q, inference="none") == [DK + "Province"]
    q2 = "SELECT ?x WHERE { div:513200 dk:assistedBy ?x }"
    assert _values(server, q2) == [DIV + "330000"]
    assert _values(server, q2, inference="none") == []


def test_dataset_parameters(server: Server) -> None:
    graph = "https://w3id.org/duikou/graph/"
    q = "SELECT ?c WHERE { div:330000 a ?c }"
    r = requests.get(server.sparql, timeout=10, params=[
        ("query", PREFIXES + q), ("default-graph-uri", graph + "data"),
        ("default-graph-uri", graph + "inferred")])
    rows = sorted(b["c"]["value"] for b in r.json()["results"]["bindings"])
    assert rows == [DK + "Division", DK + "Province"]
    q = "SELECT ?g WHERE { GRAPH ?g { div:330000 ?p ?o } }"
    r = requests.post(server.sparql, timeout=10, data=[
        ("query", PREFIXES + q), ("named-graph-uri", graph + "links"),
        ("named-graph-uri", graph + "reference")])
    rows = sorted({b["g"]["value"] for b in r.json()["results"]["bindings"]})
    assert rows == [graph + "links", graph + "reference"]
    # only named graphs given: the default graph is empty
    assert _values(server, "SELECT ?c WHERE { div:330000 a ?c }",
                   **{"named-graph-uri": graph + "data"}) == []


def test_query_from_clause_is_honoured(server: Server) -> None:
    q = "SELECT ?c FROM <https://w3id.org/duikou/graph/data> WHERE { div:330000 a ?c }"
    assert _values(server, q) == [DK + "Province"]


def test_json_results_keep_chinese_literals(server: Server) -> None:
    r = requests.get(server.sparql, params={"query": LABELS}, timeout=10)
    assert "浙江省".encode() in r.content  # not \\u escapes
    assert json.loads(r.content)["results"]["bindings"][1]["label"]["xml:lang"] == "zh"
