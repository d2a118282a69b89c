"""LUBM(1): after `kg build` with the default reasoner, all 14 benchmark queries return
exactly the reference answer counts (through `kg query`, as users run them)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import SHARED, run_kg

LUBM = SHARED / "bench-data" / "lubm"
QUERIES = sorted((LUBM / "queries").glob("q*.rq"), key=lambda p: int(p.stem[1:]))


def test_lubm_data_is_there() -> None:
    assert len(QUERIES) == 14, f"expected the 14 LUBM queries in {LUBM / 'queries'}"


@pytest.fixture(scope="module")
def lubm_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("lubm") / "store"
    run_kg("build", "--ontology", str(LUBM / "univ-bench.owl"), "--data",
           str(LUBM / "lubm1.nt.gz"), "--store", str(store), "--quiet", check=True, timeout=600)
    return store


@pytest.mark.parametrize("query", QUERIES, ids=[q.stem for q in QUERIES])
def test_lubm_query_count(lubm_store: Path, query: Path) -> None:
    expected = json.loads((LUBM / "reference-counts.json").read_text())[query.stem.upper()]
    result = run_kg("query", str(query), "--store", str(lubm_store), "--format", "json",
                    check=True)
    rows = json.loads(result.stdout)["results"]["bindings"]
    assert len(rows) == expected


def test_lubm_counts_over_http(lubm_store: Path, tmp_path: Path) -> None:
    """The same 14 queries through the real endpoint (SPARQL JSON over HTTP)."""
    import requests

    from integration.conftest import start_server

    counts = json.loads((LUBM / "reference-counts.json").read_text())
    server = start_server(lubm_store, tmp_path / "logs", "--workers", "1")
    try:
        got = {}
        for query in QUERIES:
            r = requests.post(server.url + "/sparql",
                              data={"query": query.read_text(encoding="utf-8")},
                              headers={"Accept": "application/sparql-results+json"},
                              timeout=120)
            assert r.status_code == 200, r.text
            got[query.stem.upper()] = len(r.json()["results"]["bindings"])
    finally:
        server.stop()
    assert got == counts
