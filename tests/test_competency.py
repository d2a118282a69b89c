"""Competency questions: every ``queries/*.rq`` against the built store, compared with its
``NAME.expected.csv``; queries marked ``# requires: reasoning`` must answer differently on a
store built without reasoning; ``queries/qc/*.rq`` quality checks must return no rows.

Expected files: a header row of the variable names, then one row per solution; IRIs are
written in full, literals as their lexical form, unbound variables as empty cells. Rows are
compared in order when the query has ORDER BY, else as a multiset.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg.namespaces import PREFIXES

ROOT = Path(__file__).resolve().parent.parent
QUERIES = sorted((ROOT / "queries").glob("*.rq"))
QC_QUERIES = sorted((ROOT / "queries" / "qc").glob("*.rq"))
HEADER_KEYS = ("title", "title@zh", "description", "description@zh")

Rows = list[tuple[str, ...]]


def header(path: Path) -> dict[str, str]:
    """The ``# key: value`` lines at the top of a query file."""
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(r"#\s*([\w@-]+):\s*(.*)$", line)
        if m:
            out[m.group(1)] = m.group(2).strip()
        elif line.strip() and not line.startswith("#"):
            break
    return out


def requires_reasoning(path: Path) -> bool:
    return header(path).get("requires", "") == "reasoning"


def has_order_by(text: str) -> bool:
    return re.search(r"\bORDER\s+BY\b", text, re.IGNORECASE) is not None


def run(store_path: Path, text: str) -> tuple[list[str], Rows]:
    """Variables and rows (lexical forms) of a SELECT query on a built store."""
    from kg.store import open_store

    result = open_store(store_path).query(text)
    assert isinstance(result, ox.QuerySolutions), "competency questions are SELECT queries"
    variables = [v.value for v in result.variables]
    rows = [tuple("" if sol[v] is None else sol[v].value for v in variables) for sol in result]
    return variables, rows


def expected(path: Path) -> tuple[list[str], Rows]:
    with path.with_suffix(".expected.csv").open(encoding="utf-8", newline="") as f:
        table = list(csv.reader(f))
    assert table, f"{path.name}: the expected file is empty (it needs at least a header row)"
    return table[0], [tuple(r) for r in table[1:]]


def same(a: Rows, b: Rows, ordered: bool) -> bool:
    return a == b if ordered else Counter(a) == Counter(b)


def test_there_are_competency_questions() -> None:
    assert len(QUERIES) >= 20, f"expected at least 20 queries in queries/, found {len(QUERIES)}"
    assert any(requires_reasoning(q) for q in QUERIES)


@pytest.mark.parametrize("query", QUERIES, ids=lambda p: p.stem)
def test_query_is_documented(query: Path) -> None:
    meta = header(query)
    missing = [k for k in HEADER_KEYS if not meta.get(k)]
    assert not missing, f"{query.name} lacks header lines: {missing}"
    assert query.with_suffix(".expected.csv").exists(), f"{query.name} has no expected answer"


@pytest.mark.parametrize("query", QUERIES + QC_QUERIES, ids=lambda p: p.stem)
def test_query_prefixes_agree_with_namespaces(query: Path) -> None:
    for prefix, iri in re.findall(r"PREFIX\s+([\w-]*):\s*<([^>]*)>", query.read_text("utf-8")):
        assert PREFIXES.get(prefix) == iri, f"{query.name}: PREFIX {prefix}: <{iri}>"


@pytest.mark.parametrize("query", QUERIES, ids=lambda p: p.stem)
def test_competency_question(query: Path, built_store: Path) -> None:
    text = query.read_text(encoding="utf-8")
    variables, rows = run(built_store, text)
    want_vars, want_rows = expected(query)
    assert variables == want_vars
    assert same(rows, want_rows, has_order_by(text)), (
        f"{query.name}: got {rows}\nexpected {want_rows}"
    )


@pytest.mark.parametrize(
    "query", [q for q in QUERIES if requires_reasoning(q)], ids=lambda p: p.stem
)
def test_needs_reasoning(query: Path, built_store_noreason: Path) -> None:
    text = query.read_text(encoding="utf-8")
    _, rows = run(built_store_noreason, text)
    _, want_rows = expected(query)
    assert not same(rows, want_rows, has_order_by(text)), (
        f"{query.name} is marked '# requires: reasoning' but answers the same without it"
    )


@pytest.mark.parametrize("query", QC_QUERIES, ids=lambda p: p.stem)
def test_quality_check(query: Path, built_store: Path) -> None:
    _, rows = run(built_store, query.read_text(encoding="utf-8"))
    assert rows == [], f"quality check {query.name} found: {rows}"
