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
