"""Plain HTTP against the real server: every status code of the endpoint, its headers, the
Service Description, CORS, ``/healthz`` and the access log."""

from __future__ import annotations

import json
import time

import pytest
import rdflib
import requests
from rdflib.namespace import RDF, VOID

from kg.namespaces import SD

from .conftest import DIV, Server

Q_LABEL = f"SELECT ?l WHERE {{ <{DIV}330000> <http://www.w3.org/2000/01/rdf-schema#label> ?l }}"


def get(server: Server, **params: str) -> requests.Response:
    headers = params.pop("headers", None)
    return requests.get(server.sparql, params=params, headers=headers, timeout=10)


def test_200_has_size_build_and_request_id(server: Server) -> None:
    r = get(server, query=Q_LABEL)
    assert r.status_code == 200
    assert int(r.headers["Content-Length"]) == len(r.content)
    assert r.headers["X-KG-Truncated"] == "false"
    assert r.headers["X-KG-Rows"] == "2"
    assert r.headers["X-KG-Build-Id"]
    assert r.headers["X-Request-Id"]


def test_400_malformed_query_names_line_and_column(server: Server) -> None:
    r = get(server, query="SELECT ?s\nWHERE { ?s ?p }")
    assert r.status_code == 400
    assert r.headers["Content-Type"].startswith("text/plain")
    assert "malformed query" in r.text
    assert "error at 2:" in r.text  # line 2, then the column
    assert "Traceback" not in r.text


def test_400_json_when_asked(server: Server) -> None:
    r = get(server, query="SELECT {", headers={"Accept": "application/json"})
    assert r.status_code == 400
    body = r.json()
    assert body["status"] == 400 and "malformed query" in body["error"]
    assert body["request_id"] == r.headers["X-Request-Id"]


def test_400_update_sent_as_query(server: Server) -> None:
    r = requests.post(server.sparql, data={"query": "INSERT DATA { <a> <b> <c> }"}, timeout=10)
    assert r.status_code == 400
    assert "update" in r.text and "not a query" in r.text


def test_400_two_queries(server: Server) -> None:
    r = requests.get(server.sparql, params=[("query", "ASK {}"), ("query", "ASK {}")],
                     timeout=10)
    assert r.status_code == 400


def test_400_update_by_get(server: Server) -> None:
    assert get(server, update="CLEAR ALL").status_code == 400


def test_400_bad_inference_value(server: Server) -> None:
    r = get(server, query="ASK {}", inference="maybe")
    assert r.status_code == 400 and "inference=none" in r.text


def test_400_service_outside_allow_list(server: Server) -> None:
    r = get(server, query="SELECT * { SERVICE <http://169.254.169.254/> { ?s ?p ?o } }")
    assert r.status_code == 400
    assert "169.254.169.254" in r.text


def test_403_update_without_configured_token(server: Server) -> None:
    r = requests.post(server.sparql, data={"update": "CLEAR ALL"}, timeout=10,
                      headers={"Authorization": "Bearer anything"})
    assert r.status_code == 403
    assert "KG_UPDATE_TOKEN" in r.text


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_405_with_allow(server: Server, method: str) -> None:
    r = requests.request(method, server.sparql, timeout=10)
    assert r.status_code == 405
    assert {"GET", "POST"} <= {m.strip() for m in r.headers["Allow"].split(",")}


def test_406_lists_offered_formats(server: Server) -> None:
    r = get(server, query="ASK {}", headers={"Accept": "image/png"})
    assert r.status_code == 406
    assert "application/sparql-results+json" in r.text and "text/csv" in r.text
    r = get(server, query="CONSTRUCT WHERE { ?s ?p ?o }", format="csv")
    assert r.status_code == 406
    assert "text/turtle" in r.text


def test_413_body_too_large(server: Server) -> None:
    big = "ASK {}" + " " * 70_000  # the test server allows 64 KiB
    r = requests.post(server.sparql, data=big.encode(), timeout=10,
                      headers={"Content-Type": "application/sparql-query"})
    assert r.status_code == 413
    assert "KG_MAX_BODY" in r.text
    r = requests.post(server.sparql, data={"query": big}, timeout=10)
    assert r.status_code == 413


def test_414_query_string_too_long(server: Server) -> None:
    r = get(server, query="ASK {}" + " " * 70_000)
    assert r.status_code == 414


@pytest.mark.parametrize("content_type", [None, "text/plain",
                                          "application/sparql-query; charset=UTF-16"])
def test_415_wrong_content_type(server: Server, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    r = requests.post(server.sparql, data=b"ASK {}", headers=headers, timeout=10)
    assert r.status_code == 415


def test_truncation_is_signalled(server: Server) -> None:
    r = get(server, query="SELECT * WHERE { ?s ?p ?o }", format="csv")  # max 200 rows
    assert r.status_code == 200
    assert r.headers["X-KG-Truncated"] == "true"
    assert r.headers["X-KG-Max-Rows"] == "200"
    assert len(r.text.splitlines()) == 201  # header + 200 rows
    r = get(server, query="SELECT * WHERE { ?s ?p ?o } LIMIT 200", format="csv")
    assert r.headers["X-KG-Truncated"] == "false"
    r = get(server, query="CONSTRUCT WHERE { ?s ?p ?o }", format="nt")
    assert r.headers["X-KG-Truncated"] == "true"
    assert len(r.text.splitlines()) == 200


def test_service_description(server: Server) -> None:
    r = requests.get(server.sparql, timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/turtle")
    g = rdflib.Graph().parse(data=r.text, format="turtle")
    service = rdflib.URIRef(server.sparql)
    assert (service, RDF.type, SD.Service) in g
    assert (service, SD.endpoint, service) in g
    assert (service, SD.supportedLanguage, SD.SPARQL11Query) in g
    assert (service, SD.supportedLanguage, SD.SPARQL11Update) not in g
    assert (service, SD.feature, SD.UnionDefaultGraph) in g
    formats = set(g.objects(service, SD.resultFormat))
    assert rdflib.URIRef("http://www.w3.org/ns/formats/SPARQL_Results_JSON") in formats
    health = requests.get(server.url + "/healthz", timeout=10).json()
    counts = {}
    for named in g.objects(None, SD.namedGraph):
        name = g.value(named, SD.name)
        counts[str(name)] = int(g.value(g.value(named, SD.graph), VOID.triples))
    assert counts == health["graphs"]


def test_service_description_in_other_rdf_formats(server: Server) -> None:
    r = requests.get(server.sparql, headers={"Accept": "application/ld+json"}, timeout=10)
    assert r.headers["Content-Type"] == "application/ld+json"
    g = rdflib.Graph().parse(data=r.text, format="json-ld")
    assert (None, RDF.type, SD.Service) in g


def test_service_description_redirects_browsers(server: Server) -> None:
    r = requests.get(server.sparql, timeout=10, allow_redirects=False, headers={
        "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"})
    assert r.status_code == 303
    assert r.headers["Location"].endswith("/")


def test_cors(server: Server) -> None:
    r = requests.options(server.sparql, timeout=10, headers={
        "Origin": "https://yasgui.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, authorization"})
    assert r.status_code in (200, 204)
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in r.headers["Access-Control-Allow-Methods"]
    assert "authorization" in r.headers["Access-Control-Allow-Headers"].lower()
    r = get(server, query="ASK {}", headers={"Origin": "https://yasgui.example"})
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "X-KG-Truncated" in r.headers["Access-Control-Expose-Headers"]


def test_healthz(server: Server) -> None:
    r = requests.get(server.url + "/healthz", timeout=10)
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["reasoner"]
    assert body["build_id"] and body["built_at"]
    assert body["graphs"]["https://w3id.org/duikou/graph/inferred"] > 0


def test_access_log_line_per_request(server: Server) -> None:
    r = get(server, query=Q_LABEL)
    rid = r.headers["X-Request-Id"]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and rid not in server.stdout.read_text():
        time.sleep(0.05)
    line = next(x for x in server.stdout.read_text().splitlines() if rid in x)
    # status, body size and duration
    assert " 200 " in line
    assert f" {len(r.content)}B " in line
    assert "ms " in line


def test_error_bodies_never_show_tracebacks(server: Server) -> None:
    for r in (get(server, query="SELECT * {"), get(server, query="ASK {}", inference="x"),
              requests.post(server.sparql, data=b"x", timeout=10)):
        assert "Traceback" not in r.text
        assert len(r.text) < 2000
        assert r.headers["X-Request-Id"]
    assert json.loads(get(server, query="{", headers={"Accept": "application/json"}).text)
