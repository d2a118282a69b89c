"""kg import (external facts into a graph of their own, with provenance, offline afterwards)
and the federated example query, run for real against a local Wikidata-shaped endpoint."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from conftest import ROOT
from kg.cli_linking import import_ as import_command
from kg.federation import ForbiddenService, check_service_targets, parse_allow_list
from kg.store import open_store
from test_linking import build_fixture_store, run_link, start_endpoint, stop

WDQS = "https://query.wikidata.org/sparql"
FEDERATED = ROOT / "queries" / "federated" / "population.rq"
GRAPH = "https://w3id.org/duikou/graph/external/wikidata-test"
P1082 = "http://www.wikidata.org/prop/direct/P1082"


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url, proc = start_endpoint(tmp_path_factory.mktemp("endpoint"))
    yield url
    stop(proc)


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory, endpoint: str) -> Path:
    """A folder with links/ found by kg link against the endpoint (the store's own links)."""
    tmp = tmp_path_factory.mktemp("linked")
    plain = build_fixture_store(tmp / "plain")
    run_link(plain, endpoint, tmp / "extra" / "links" / "discovered.ttl")
    return tmp / "extra"


@pytest.fixture(scope="module")
def linked_store(tmp_path_factory: pytest.TempPathFactory, linked: Path) -> Path:
    return build_fixture_store(tmp_path_factory.mktemp("linked-store"), linked)


def run_import(store: Path, target: str, out: Path, *extra: str) -> str:
    result = CliRunner().invoke(import_command, [
        "--target", target, "--source", "wikidata-test", "-o", str(out), "--store", str(store),
        *extra])
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def graph_count(store: Path) -> int:
    rows = list(open_store(store).query(
        f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{GRAPH}> {{ ?s ?p ?o }} }}"))
    return int(rows[0]["n"].value)


def test_import_writes_a_graph_of_its_own_with_provenance(
        tmp_path: Path, endpoint: str, linked: Path) -> None:
    store = build_fixture_store(tmp_path, linked)
    out = tmp_path / "external" / "wikidata-test.trig"
    message = run_import(store, endpoint, out, "--apply")
    assert "applied to the store" in message
    quads = list(ox.parse(out.read_bytes(), format=ox.RdfFormat.TRIG))
    assert {q.graph_name.value for q in quads} == {GRAPH}
    g = ox.NamedNode(GRAPH)
    about_graph = {q.predicate.value: q.object for q in quads if q.subject == g}
    assert about_graph["http://www.w3.org/ns/prov#wasDerivedFrom"] == ox.NamedNode(endpoint)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",
                        about_graph["http://www.w3.org/ns/prov#generatedAtTime"].value)
    assert "CONSTRUCT" in about_graph["http://www.w3.org/2000/01/rdf-schema#comment"].value
    facts = [q for q in quads if q.subject != g]
    props = {q.predicate.value.rsplit("/", 1)[1] for q in facts}
    assert props == {"P1082", "P625", "P2046", "P856"}
    # only facts about linked entities: no distractor, nothing about an unlinked one
    assert not any("Q80000" in q.subject.value for q in facts)
    populated = {q.subject.value for q in facts if q.predicate.value == P1082}
    assert len(populated) == 27
    # applied to the store as a graph of its own
    assert graph_count(store) == len(quads)
    # refreshing replaces, never duplicates
    run_import(store, endpoint, out, "--apply")
    assert graph_count(store) == len(quads)


def test_imported_facts_work_offline_after_a_rebuild(
        tmp_path: Path, endpoint: str, linked: Path) -> None:
    store = build_fixture_store(tmp_path / "a", linked)
    extra = tmp_path / "extra"
    shutil.copytree(linked, extra)
    run_import(store, endpoint, extra / "external" / "wikidata-test.trig")
    # `kg build` keeps the graph name the TriG file gives; no endpoint is needed from here on
    rebuilt = build_fixture_store(tmp_path / "b", extra)
    rows = list(open_store(rebuilt).query(f"""
        PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
        SELECT ?pop WHERE {{
          <https://w3id.org/duikou/id/division/330200> skos:exactMatch ?item .
          GRAPH <{GRAPH}> {{ ?item <{P1082}> ?pop }} }}"""))
    assert [r["pop"].value for r in rows] == ["3302000"]


def test_import_needs_links(tmp_path: Path, endpoint: str) -> None:
    store = build_fixture_store(tmp_path)
    result = CliRunner().invoke(import_command, [
        "--target", endpoint, "--source", "x", "-o", str(tmp_path / "x.trig"),
        "--store", str(store)])
    assert result.exit_code != 0
    assert "linked" in str(result.exception)


# --- the federated example ------------------------------------------------------------


def test_federated_example_has_the_query_header() -> None:
    text = FEDERATED.read_text(encoding="utf-8")
    for key in ("# title:", "# title@zh:", "# description:", "# description@zh:"):
        assert key in text
    check_service_targets(text, parse_allow_list(None))  # allowed by default as written


def test_federated_query_runs_against_the_local_endpoint(
        endpoint: str, linked_store: Path) -> None:
    query = FEDERATED.read_text(encoding="utf-8").replace(WDQS, endpoint)
    assert endpoint in query
    # refused under the default allow-list, naming the target, before any connection
    with pytest.raises(ForbiddenService) as info:
        check_service_targets(query, parse_allow_list(None))
    assert info.value.target == endpoint
    # allowed once KG_SERVICE_ALLOW names the local endpoint, and then really federated
    check_service_targets(query, parse_allow_list(endpoint))
    rows = list(open_store(linked_store).query(query))
    got = sorted((r["code"].value, r["role"].value, r["population"].value) for r in rows)
    assert got == [
        ("330100", "assistant", "3301000"),
        ("330200", "assistant", "3302000"),
        ("522300", "recipient", "5223000"),
        ("522600", "recipient", "5226000"),
    ]
    assert all(r["coordinates"] is not None and r["coordinates"].value.startswith("Point(")
               for r in rows)


def test_federated_query_through_the_endpoint(endpoint: str, linked_store: Path,
                                              tmp_path: Path) -> None:
    """The same federated query sent to the real `kg serve` over HTTP: refused with 400
    naming the target however it is written, then answered once the allow-list names it."""
    import requests

    from integration.conftest import start_server

    query = FEDERATED.read_text(encoding="utf-8").replace(WDQS, endpoint)
    blocked = start_server(linked_store, tmp_path / "blocked", "--workers", "1")
    try:
        for sneaky in (
            query,
            f"PREFIX x: <{endpoint.rsplit('/', 1)[0]}/>\n"
            f"SELECT * {{ SERVICE x:{endpoint.rsplit('/', 1)[1]} {{ ?s ?p ?o }} }}",
            f"BASE <{endpoint}>\nSELECT * {{ SERVICE\n# a comment\n<> {{ ?s ?p ?o }} }}",
            "SELECT * { VALUES ?x { <http://127.0.0.1:1/> } SERVICE ?x { ?s ?p ?o } }",
        ):
            r = requests.get(blocked.url + "/sparql", params={"query": sneaky}, timeout=30)
            assert r.status_code == 400, (sneaky, r.text)
            assert "SERVICE" in r.text or "service" in r.text
        assert endpoint in requests.get(blocked.url + "/sparql", params={"query": query},
                                        timeout=30).text
    finally:
        blocked.stop()
    allowed = start_server(linked_store, tmp_path / "allowed", "--workers", "1",
                           "--service-allow", endpoint)
    try:
        r = requests.get(allowed.url + "/sparql", params={"query": query},
                         headers={"Accept": "application/sparql-results+json"}, timeout=60)
        assert r.status_code == 200, r.text
        rows = r.json()["results"]["bindings"]
        got = sorted((b["code"]["value"], b["role"]["value"], b["population"]["value"])
                     for b in rows)
        assert got == [
            ("330100", "assistant", "3301000"),
            ("330200", "assistant", "3302000"),
            ("522300", "recipient", "5223000"),
            ("522600", "recipient", "5226000"),
        ]
    finally:
        allowed.stop()
