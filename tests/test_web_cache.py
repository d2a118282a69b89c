"""The per-worker cache of answers: keyed by build, never stale, never for volatile queries."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from conftest import build_endpoint_store
from kg.config import Settings
from kg.store import apply_update
from kg.web import create_app
from kg.web.cache import CachedAnswer, ResultCache, cacheable
from kg.web.context import RESULTS, STORE
from kg.web.wsgi import served

COUNT = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return build_endpoint_store(tmp_path / "store")


def answer(body: bytes) -> CachedAnswer:
    return CachedAnswer(body, "text/plain", ())


def test_lru_within_a_byte_budget() -> None:
    cache = ResultCache(max_bytes=10, max_entry=6)
    cache.put("a", answer(b"aaaa"))
    cache.put("b", answer(b"bbbb"))
    assert cache.get("a") is not None  # a is now the most recently used
    cache.put("c", answer(b"cccc"))  # 12 bytes > 10: the least recently used (b) goes
    assert cache.get("b") is None and cache.get("a") is not None
    assert cache.size == 8 and len(cache) == 2
    cache.put("big", answer(b"x" * 7))  # over max_entry: not kept
    assert cache.get("big") is None


def test_off_keeps_nothing() -> None:
    cache = ResultCache(max_bytes=0)
    cache.put("a", answer(b"a"))
    assert cache.get("a") is None


@pytest.mark.parametrize("query", [
    "SELECT * { SERVICE <http://example.org/sparql> { ?s ?p ?o } }",
    "SELECT (RAND() AS ?r) {}", "SELECT (now() AS ?t) {}", "SELECT (UUID() AS ?u) {}",
    "SELECT (STRUUID() AS ?u) {}", "CONSTRUCT { ?s ?p [] } WHERE { BIND(BNODE() AS ?s) }",
])
def test_volatile_queries_are_not_cacheable(query: str) -> None:
    assert not cacheable(query)


def test_repeated_query_is_a_hit_until_the_store_changes(store: Path) -> None:
    client = create_app(Settings.from_env({}, store=store)).test_client()
    first = client.get("/sparql", query_string={"query": COUNT})
    second = client.get("/sparql", query_string={"query": COUNT})
    assert (first.headers["X-KG-Cache"], second.headers["X-KG-Cache"]) == ("miss", "hit")
    assert first.get_data() == second.get_data()
    assert second.headers["X-KG-Build-Id"] == first.headers["X-KG-Build-Id"]
    assert second.headers["X-KG-Rows"] == "1"
    csv = client.get("/sparql", query_string={"query": COUNT, "format": "csv"})
    assert csv.headers["X-KG-Cache"] == "miss" and csv.mimetype == "text/csv"

    apply_update(store, "INSERT DATA { GRAPH <urn:x:g> { <urn:x:a> <urn:x:b> <urn:x:c> } }")
    third = client.get("/sparql", query_string={"query": COUNT})
    assert third.headers["X-KG-Cache"] == "miss"
    assert third.headers["X-KG-Build-Id"] != first.headers["X-KG-Build-Id"]
    before = int(first.get_json()["results"]["bindings"][0]["n"]["value"])
    after = int(third.get_json()["results"]["bindings"][0]["n"]["value"])
    assert after == before + 1


def test_volatile_query_is_answered_fresh(store: Path) -> None:
    client = create_app(Settings.from_env({}, store=store)).test_client()
    query = "SELECT (STRUUID() AS ?u) {}"
    a, b = (client.get("/sparql", query_string={"query": query}) for _ in range(2))
    assert a.headers["X-KG-Cache"] == b.headers["X-KG-Cache"] == "off"
    assert a.get_data() != b.get_data()


def test_cache_can_be_turned_off(store: Path) -> None:
    client = create_app(Settings.from_env({"KG_CACHE_MB": "0"}, store=store)).test_client()
    for _ in range(2):
        assert client.get("/sparql", query_string={"query": COUNT}).headers["X-KG-Cache"] == "off"


# --- whole GET responses, kept in the WSGI layer (kg.web.wsgi.RepeatedAnswers) -----------


def served_client(store: Path, **overrides: object) -> FlaskClient:
    """A test client of the app as ``kg serve`` wraps it (repeated answers, no access log)."""
    settings = Settings.from_env({}, store=store, access_log="", **overrides)
    app = create_app(settings)
    app.wsgi_app = served(app.wsgi_app, settings,  # type: ignore[method-assign]
                          app.extensions[STORE])
    return app.test_client()


def test_repeated_get_is_answered_without_flask(store: Path) -> None:
    client = served_client(store)
    first = client.get("/sparql", query_string={"query": COUNT},
                       headers={"Origin": "https://example.org", "X-Request-Id": "abc"})
    assert first.headers["X-KG-Cache"] == "miss" and first.headers["X-Request-Id"] == "abc"
    again = client.get("/sparql", query_string={"query": COUNT},
                       headers={"Origin": "https://example.org"})
    assert again.headers["X-KG-Cache"] == "hit"
    assert again.data == first.data
    same = {"Content-Type", "Content-Length", "X-KG-Build-Id", "X-KG-Rows", "Vary",
            "Access-Control-Allow-Origin"}
    assert {h: again.headers.get(h) for h in same} == {h: first.headers.get(h) for h in same}
    assert again.headers["X-Request-Id"] not in ("abc", first.headers["X-Request-Id"])
    # the layer answered it: the app's own cache saw only the first request
    assert len(client.application.extensions[RESULTS]) == 1


def test_repeated_answers_follow_the_request_and_the_build(store: Path) -> None:
    client = served_client(store)
    as_json = client.get("/sparql", query_string={"query": COUNT})
    as_csv = client.get("/sparql", query_string={"query": COUNT},
                        headers={"Accept": "text/csv"})
    assert as_csv.headers["X-KG-Cache"] == "miss"  # Accept is part of the key
    assert as_csv.data != as_json.data
    assert client.get("/sparql", query_string={"query": COUNT},
                      headers={"Accept": "text/csv"}).headers["X-KG-Cache"] == "hit"
    apply_update(store, "INSERT DATA { GRAPH <https://example.org/g> { "
                        "<https://example.org/s> <https://example.org/p> 1 } }")
    after = client.get("/sparql", query_string={"query": COUNT})
    assert after.headers["X-KG-Cache"] == "miss"
    assert after.headers["X-KG-Build-Id"] != as_json.headers["X-KG-Build-Id"]


def test_uncacheable_and_failed_requests_are_never_repeated(store: Path) -> None:
    client = served_client(store)
    for _ in range(2):
        r = client.get("/sparql", query_string={"query": "SELECT (RAND() AS ?r) {}"})
        assert r.headers["X-KG-Cache"] == "off"
        assert client.get("/sparql", query_string={"query": "SELECT * {"}).status_code == 400
    off = served_client(store, cache_mb=0)
    for _ in range(2):
        assert off.get("/sparql", query_string={"query": COUNT}).headers["X-KG-Cache"] == "off"
