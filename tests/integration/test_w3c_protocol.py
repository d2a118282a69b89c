"""The W3C SPARQL 1.1 Protocol test suite, replayed against the real ``kg serve``.

The manifest (``tests/fixtures/w3c/manifest.ttl``) drives the tests: each test's
``ut:graphData`` is loaded through the update operation, then each ``ht:Request`` is sent
as written (path ``/sparql/`` mapped to our endpoint) and the response checked for the
expected status class, format family and ASK answer. The server runs with an update token
on a throwaway store; every request carries the token.

Known failures: none.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import rdflib
import requests
from rdflib.collection import Collection

from .conftest import ROOT, TOKEN, Server, build_fixture, start_server

W3C = ROOT / "tests" / "fixtures" / "w3c"
MF = rdflib.Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = rdflib.Namespace("http://www.w3.org/2011/http#")
CNT = rdflib.Namespace("http://www.w3.org/2011/content#")
UT = rdflib.Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
HTS = rdflib.Namespace("http://www.w3.org/2011/http-statusCodes#")

KNOWN_FAILURES: dict[str, str] = {}
"""Test name → why it fails. Empty: every test of the manifest passes."""

FORMATS = {
    "boolean": {"application/sparql-results+json", "application/sparql-results+xml"},
    "tabular": {"application/sparql-results+json", "application/sparql-results+xml",
                "text/csv", "text/tab-separated-values"},
    "RDF": {"text/turtle", "application/n-triples", "application/rdf+xml",
            "application/ld+json", "application/n-quads", "application/trig"},
}


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: str | None
    statuses: set[str]
    format: str | None
    boolean: bool | None


@dataclass
class ProtocolTest:
    name: str
    label: str
    graph_data: list[tuple[Path, str]] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)


def load_manifest() -> list[ProtocolTest]:
    g = rdflib.Graph().parse(W3C / "manifest.ttl", format="turtle",
                             publicID=(W3C / "manifest.ttl").as_uri())
    manifest = next(g.subjects(rdflib.RDF.type, MF.Manifest))
    tests = []
    for entry in Collection(g, g.value(manifest, MF.entries)):
        test = ProtocolTest(str(entry).rsplit("#", 1)[-1], str(g.value(entry, MF.name)))
        for data in g.objects(entry, UT.graphData):
            path = Path(str(g.value(data, UT.graph)).removeprefix("file://"))
            test.graph_data.append((path, str(g.value(data, rdflib.RDFS.label))))
        action = g.value(entry, MF.action)
        for req in Collection(g, g.value(action, HT.requests)):
            headers = {}
            header_list = g.value(req, HT.headers)
            if header_list is not None:
                for h in Collection(g, header_list):
                    headers[str(g.value(h, HT.fieldName))] = str(g.value(h, HT.fieldValue))
            body = g.value(req, HT.body)
            resp = g.value(req, HT.resp)
            boolean = g.value(resp, MF.expectedBoolean)
            fmt = g.value(resp, MF.expectedFormat)
            test.requests.append(Request(
                method=str(g.value(req, HT.methodName)),
                path=str(g.value(req, HT.absolutePath)),
                headers=headers,
                body=str(g.value(body, CNT.chars)) if body is not None else None,
                statuses={str(s).rsplit("#", 1)[-1] for s in g.objects(resp, MF.expectedStatus)},
                format=str(fmt) if fmt is not None else None,
                boolean=boolean.toPython() if boolean is not None else None,
            ))
        tests.append(test)
    return tests


TESTS = load_manifest()


def test_manifest_is_complete() -> None:
    assert len(TESTS) == 34
    assert sum(len(t.requests) for t in TESTS) > 34


@pytest.fixture(scope="module")
def w3c_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    store = build_fixture(tmp_path_factory.mktemp("w3c") / "store", "--reasoner", "none")
    srv = start_server(store, tmp_path_factory.mktemp("logs"), "--workers", "2",
                       "--update-token", TOKEN)
    yield srv
    srv.stop()


def _load(server: Server, graph_data: list[tuple[Path, str]]) -> None:
    parts = "".join(f"GRAPH <{label}> {{ {path.read_text()} }}\n" for path, label in graph_data)
    r = requests.post(server.sparql, data={"update": f"DROP ALL ; INSERT DATA {{ {parts} }}"},
                      headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    assert r.status_code == 200, r.text


def _boolean(response: requests.Response) -> bool:
    if response.headers["Content-Type"].startswith("application/sparql-results+json"):
        return response.json()["boolean"]
    root = ET.fromstring(response.content)
    node = root.find("{http://www.w3.org/2005/sparql-results#}boolean")
    assert node is not None
    return node.text == "true"


@pytest.mark.parametrize("test", TESTS, ids=[t.name for t in TESTS])
def test_w3c_protocol(w3c_server: Server, test: ProtocolTest) -> None:
    if test.name in KNOWN_FAILURES:
        pytest.xfail(KNOWN_FAILURES[test.name])
    if test.graph_data:
        _load(w3c_server, test.graph_data)
    for req in test.requests:
        assert req.path.startswith("/sparql/")
        url = w3c_server.sparql + req.path.removeprefix("/sparql/")
        headers = {"Authorization": f"Bearer {TOKEN}", **req.headers}
        r = requests.request(req.method, url, headers=headers, timeout=30,
                             data=req.body.encode("utf-8") if req.body is not None else None,
                             allow_redirects=False)
        status_class = f"StatusCode{r.status_code // 100}xx"
        assert status_class in req.statuses, f"{req.method} {req.path}: {r.status_code} {r.text}"
        if req.format is not None:
            assert r.headers["Content-Type"].split(";")[0] in FORMATS[req.format]
        if req.boolean is not None:
            assert _boolean(r) is req.boolean, f"{req.method} {req.path}"
