"""SPARQL Update over HTTP with and without the token, persistence across restarts, and a
new ``kg build`` served without a restart or a failed request."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
import requests
from SPARQLWrapper import JSON, POST, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import Unauthorized

from .conftest import DIV, FIXTURE, TOKEN, Server, build_fixture, start_server

NEW = "https://w3id.org/duikou/id/division/999999"
INSERT = (f'INSERT DATA {{ GRAPH <https://w3id.org/duikou/graph/data> {{ <{NEW}> '
          '<http://www.w3.org/2000/01/rdf-schema#label> "新县"@zh } }')
ASK_NEW = f"ASK {{ <{NEW}> ?p ?o }}"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def ask(server: Server, query: str) -> bool:
    r = requests.get(server.sparql, params={"query": query}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["boolean"]


def test_update_needs_the_token(update_server: Server) -> None:
    r = requests.post(update_server.sparql, data={"update": INSERT}, timeout=10)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    r = requests.post(update_server.sparql, data={"update": INSERT}, timeout=10,
                      headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401
    r = requests.post(update_server.sparql, data={"update": INSERT}, timeout=10,
                      headers={"Authorization": f"Basic {TOKEN}"})
    assert r.status_code == 401
    assert not ask(update_server, ASK_NEW)


def test_sparqlwrapper_update_without_token_is_refused(update_server: Server) -> None:
    sw = SPARQLWrapper(update_server.sparql)
    sw.setMethod(POST)
    sw.setQuery(INSERT)
    with pytest.raises(Unauthorized):
        sw.query()


def test_query_sent_as_update_is_400(update_server: Server) -> None:
    r = requests.post(update_server.sparql, data=b"SELECT * { ?s ?p ?o }", timeout=10,
                      headers={**AUTH, "Content-Type": "application/sparql-update"})
    assert r.status_code == 400
    assert "not an update" in r.text


def test_malformed_update_is_400(update_server: Server) -> None:
    r = requests.post(update_server.sparql, data={"update": "INSERT DATA { <a> }"},
                      headers=AUTH, timeout=10)
    assert r.status_code == 400
    assert "malformed update" in r.text and "error at 1:" in r.text


def test_update_round_trip_persists_across_restart(update_server: Server,
                                                   tmp_path: Path) -> None:
    sw = SPARQLWrapper(update_server.sparql)
    sw.setMethod(POST)
    sw.addCustomHttpHeader("Authorization", f"Bearer {TOKEN}")
    sw.setQuery(INSERT)
    result = sw.query()
    assert result.response.status == 200
    # every worker serves the new generation at once
    for _ in range(6):
        assert ask(update_server, ASK_NEW)
    sw = SPARQLWrapper(update_server.sparql)
    sw.setQuery(f"SELECT ?l WHERE {{ <{NEW}> ?p ?l }}")
    sw.setReturnFormat(JSON)
    rows = sw.queryAndConvert()["results"]["bindings"]
    assert rows == [{"l": {"type": "literal", "value": "新县", "xml:lang": "zh"}}]
    health = requests.get(update_server.url + "/healthz", timeout=10).json()
    assert health["graphs"]["https://w3id.org/duikou/graph/data"] == 311
    # direct POST form, then delete again
    delete = f"DELETE WHERE {{ GRAPH ?g {{ <{NEW}> ?p ?o }} }}"
    r = requests.post(update_server.sparql, data=delete.encode(),
                      headers={**AUTH, "Content-Type": "application/sparql-update"},
                      timeout=10)
    assert r.status_code == 200
    assert not ask(update_server, ASK_NEW)
    r = requests.post(update_server.sparql, data={"update": INSERT}, headers=AUTH, timeout=10)
    assert r.status_code == 200
    # restart: the update is in the store
    update_server.stop()
    again = start_server(update_server.store, tmp_path, "--workers", "1")
    try:
        assert ask(again, ASK_NEW)
    finally:
        again.stop()


def test_new_build_is_served_without_restart_or_failure(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(FIXTURE / "data", data)
    store = build_fixture(tmp_path / "store", "--reasoner", "none", data=data)
    server = start_server(store, tmp_path / "logs", "--workers", "2")
    try:
        before = requests.get(server.url + "/healthz", timeout=10).json()["build_id"]
        assert not ask(server, f"ASK {{ <{DIV}620000> ?p ?o }}")
        (data / "more.ttl").write_text(
            f'<{DIV}620000> <http://www.w3.org/2000/01/rdf-schema#label> "甘肃省"@zh .\n',
            encoding="utf-8")
        failures: list[object] = []
        count = 0
        stop = threading.Event()

        def hammer() -> None:
            nonlocal count
            while not stop.is_set():
                try:
                    r = requests.get(server.sparql, params={"query": "SELECT * { ?s ?p ?o }"},
                                     timeout=10)
                    if r.status_code != 200:
                        failures.append(r.status_code)
                    count += 1
                except requests.RequestException as e:
                    failures.append(e)

        threads = [threading.Thread(target=hammer) for _ in range(2)]
        for t in threads:
            t.start()
        build_fixture(store, "--reasoner", "none", data=data)
        for _ in range(10):
            ask(server, "ASK {}")
        stop.set()
        for t in threads:
            t.join()
        assert failures == []
        assert count > 10
        after = requests.get(server.url + "/healthz", timeout=10).json()["build_id"]
        assert after != before
        for _ in range(4):
            assert ask(server, f"ASK {{ <{DIV}620000> ?p ?o }}")
    finally:
        server.stop()
