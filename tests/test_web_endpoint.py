"""The SPARQL endpoint through Flask's test client: the paths that are hard to reach over a
real socket (500s, dev-mode timeouts, a vanished store, CORS lists, slot accounting)."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from flask import Flask
from flask.testing import FlaskClient

from conftest import build_endpoint_store
from kg.config import Settings
from kg.formats import RESULT_FORMATS, find
from kg.web import create_app
from kg.web.context import RUNNER, STORE
from kg.web.limits import Busy, QuerySlots, TimedOut
from kg.web.results import Spool, write_result

SLOW = "SELECT (COUNT(*) AS ?c) WHERE { ?a ?p ?b . ?c ?q ?d . ?e ?r ?f }"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_endpoint_store(tmp_path_factory.mktemp("web") / "store")


def make_app(store: Path, **overrides: object) -> Flask:
    return create_app(Settings.from_env({}, store=store, **overrides))


@pytest.fixture
def client(store: Path) -> Iterator[FlaskClient]:
    yield make_app(store).test_client()


def test_500_is_short_and_logged_with_request_id(store: Path, monkeypatch: pytest.MonkeyPatch,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    app = make_app(store)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(app.extensions[STORE], "query", broken)
    with caplog.at_level(logging.ERROR, logger="kg.web"):
        r = app.test_client().get("/sparql", query_string={"query": "ASK {}"})
    assert r.status_code == 500
    rid = r.headers["X-Request-Id"]
    assert rid in r.get_data(as_text=True)
    assert "Traceback" not in r.get_data(as_text=True)
    assert any(rid in rec.getMessage() and rec.exc_info for rec in caplog.records)


def test_dev_mode_timeout_answers_and_keeps_the_slot(store: Path) -> None:
    app = make_app(store, query_timeout=0.3)
    started = time.monotonic()
    r = app.test_client().post("/sparql", data={"query": SLOW})
    assert r.status_code == 503
    assert time.monotonic() - started < 2
    assert "0.3 s" in r.get_data(as_text=True)
    slots: QuerySlots = app.extensions[RUNNER].slots
    assert slots.runaway == 1 and slots.in_use == 1


def test_busy_answers_503(store: Path) -> None:
    app = make_app(store, max_inflight=1, queue_timeout=0.05)
    slots: QuerySlots = app.extensions[RUNNER].slots
    release = threading.Event()
    holder = threading.Thread(target=slots.run, args=(release.wait, 5))
    holder.start()
    time.sleep(0.05)
    try:
        r = app.test_client().get("/sparql", query_string={"query": "ASK {}"})
        assert r.status_code == 503
        assert r.headers["Retry-After"] == "1"
    finally:
        release.set()
        holder.join()
    assert app.test_client().get("/sparql", query_string={"query": "ASK {}"}).status_code == 200


def test_healthz_503_when_the_store_vanishes(store: Path, tmp_path: Path) -> None:
    link = tmp_path / "store"
    os.symlink(os.readlink(store) if os.path.isabs(os.readlink(store))
               else store.parent / os.readlink(store), link)
    app = make_app(link)
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    link.unlink()
    r = client.get("/healthz")
    assert r.status_code == 503
    assert r.get_json()["status"] == "unavailable"
    assert client.get("/sparql", query_string={"query": "ASK {}"}).status_code == 503


@pytest.mark.parametrize(("origins", "origin", "expected"), [
    ("https://a.example, https://b.example", "https://b.example", "https://b.example"),
    ("https://a.example", "https://evil.example", None),
    ("", "https://a.example", None),
    ("*", "https://any.example", "*"),
])
def test_cors_origins(store: Path, origins: str, origin: str, expected: str | None) -> None:
    client = make_app(store, cors_origins=origins).test_client()
    r = client.get("/sparql", query_string={"query": "ASK {}"}, headers={"Origin": origin})
    assert r.headers.get("Access-Control-Allow-Origin") == expected


def test_updates_are_forbidden_without_a_token(client: FlaskClient) -> None:
    r = client.post("/sparql", data={"update": "CLEAR ALL"})
    assert r.status_code == 403


def test_error_json_when_preferred(client: FlaskClient) -> None:
    r = client.get("/sparql", query_string={"query": "ASK {"},
                   headers={"Accept": "application/json, text/plain;q=0.5"})
    assert r.status_code == 400
    assert r.get_json()["error"].startswith("malformed query: error at 1:")


def test_query_slots_propagate_errors_and_release() -> None:
    slots = QuerySlots(1, 0.01)

    def fail() -> None:
        raise SyntaxError("bad")

    with pytest.raises(SyntaxError):
        slots.run(fail, 1)
    assert slots.run(lambda: 42, 1) == 42
    assert slots.in_use == 0
    gate = threading.Event()
    with pytest.raises(TimedOut):
        slots.run(gate.wait, 0.05)
    with pytest.raises(Busy):
        slots.run(lambda: 1, 1)
    gate.set()
    time.sleep(0.05)
    assert slots.run(lambda: 2, 1) == 2 and slots.runaway == 0


def _select(query: str) -> ox.QuerySolutions:
    db = ox.Store()
    db.update('INSERT DATA { <http://ex/s> <http://ex/p> "a,\\"b\\"\\n\\tc"@zh-Hans , '
              '"2"^^<http://www.w3.org/2001/XMLSchema#integer> , _:b1 , <http://ex/o> }')
    return db.query(query)


@pytest.mark.parametrize("name", ["json", "xml", "tsv"])
def test_select_serialisers_round_trip(name: str) -> None:
    fmt = find(RESULT_FORMATS, name)
    assert fmt is not None
    query = "SELECT ?s ?o ?unbound WHERE { ?s ?p ?o } ORDER BY ?o"
    expected = [[row[v] for v in ("s", "o", "unbound")] for row in _select(query)]
    spool = Spool()
    written = write_result(_select(query), fmt, spool, 100)
    assert written.rows == 4 and not written.truncated
    parsed = ox.parse_query_results(spool.body(), format=fmt.oxigraph)
    assert [v.value for v in parsed.variables] == ["s", "o", "unbound"]
    rows = [[row[v] for v in ("s", "o", "unbound")] for row in parsed]
    # blank node labels may differ; compare the rest exactly
    strip = [[t if not isinstance(t, ox.BlankNode) else "_" for t in r] for r in rows]
    want = [[t if not isinstance(t, ox.BlankNode) else "_" for t in r] for r in expected]
    assert strip == want


def test_csv_serialiser_and_truncation() -> None:
    fmt = find(RESULT_FORMATS, "csv")
    assert fmt is not None
    spool = Spool()
    written = write_result(_select("SELECT ?o WHERE { ?s ?p ?o } ORDER BY ?o"), fmt, spool, 2)
    assert written.rows == 2 and written.truncated
    body = spool.body()
    assert isinstance(body, bytes)
    assert body.startswith(b"o\r\n")
    assert body.count(b"\r\n") == 3


def test_spool_spills_to_a_file() -> None:
    spool = Spool(memory_limit=10)
    for _ in range(5):
        spool.write(b"0123456789")
    body = spool.body()
    assert not isinstance(body, bytes)
    assert b"".join(body) == b"0123456789" * 5
    assert spool.size == 50
