"""bench/generate.py: the synthetic national graph is deterministic, conforms to the shapes,
builds, and answers competency-style questions plausibly after reasoning."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, run_kg

GENERATE = ROOT / "bench" / "generate.py"
SCALE = "0.3"  # about 3,000 triples: every province, a few prefectures and counties each

pytestmark = pytest.mark.slow

DK = "PREFIX dk: <https://w3id.org/duikou/ontology#>\n"
DIV = "PREFIX div: <https://w3id.org/duikou/id/division/>\n"


def _generate(out: Path, seed: int = 7) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(GENERATE), "--scale", SCALE, "--seed", str(seed), "--out", str(out)],
        capture_output=True, text=True, timeout=60, check=True,
    )


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synthetic") / "data"
    result = _generate(out)
    assert "| triples |" in result.stdout, "the generator prints a Markdown table"
    return out


@pytest.fixture(scope="module")
def store(generated: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built without validation (test_validates runs it once), with the default reasoner."""
    path = tmp_path_factory.mktemp("synthetic-store") / "store"
    run_kg("build", "--ontology", str(ROOT / "ontology"), "--data", str(generated),
           "--store", str(path), "--quiet", "--no-validate", check=True, timeout=120)
    return path


def _rows(store: Path, sparql: str) -> list[dict[str, str]]:
    from kg.store import open_store

    result = open_store(store).query(sparql)
    return [{v.value: row[v].value for v in result.variables if row[v] is not None}
            for row in result]


def test_layout_like_data(generated: Path) -> None:
    files = _files(generated)
    assert "reference/divisions.nt" in files
    assert any(name.startswith("synthetic/observations-") for name in files)
    assert {"synthetic/pairings.nt", "synthetic/exits.nt", "synthetic/sources.nt"} <= set(files)
    assert b"SYNTHETIC" in files["synthetic/sources.nt"]


def test_same_seed_gives_identical_bytes(generated: Path, tmp_path: Path) -> None:
    _generate(tmp_path / "again")
    assert _files(tmp_path / "again") == _files(generated)


def test_other_seed_gives_other_data(generated: Path, tmp_path: Path) -> None:
    _generate(tmp_path / "other", seed=8)
    assert _files(tmp_path / "other") != _files(generated)


def test_validates_against_the_shapes(generated: Path) -> None:
    result = run_kg("validate", "--ontology", str(ROOT / "ontology"), "--data", str(generated),
                    timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_size_is_about_the_scale(store: Path) -> None:
    from kg.store import open_store

    counts = open_store(store).counts()
    asserted = sum(n for g, n in counts.items()
                   if g.rsplit("/", 1)[-1] in ("data", "reference"))
    assert 2_400 <= asserted <= 3_600, counts


def test_all_31_provinces(store: Path) -> None:
    rows = _rows(store, DK + "SELECT (COUNT(*) AS ?n) { ?p a dk:Province }")
    assert rows == [{"n": "31"}]


def test_every_county_reaches_china(store: Path) -> None:
    counties = _rows(store, DK + "SELECT (COUNT(*) AS ?n) { ?c a dk:County }")
    assert int(counties[0]["n"]) >= 31
    orphans = _rows(store, DK + DIV + """
        SELECT ?c { ?c a dk:County FILTER NOT EXISTS { ?c dk:partOf div:100000 } }""")
    assert orphans == []


def test_exits_make_poverty_counties(store: Path) -> None:
    rows = _rows(store, DK + """SELECT (COUNT(DISTINCT ?c) AS ?exited)
        (SUM(IF(EXISTS { ?c a dk:PovertyCounty }, 1, 0)) AS ?poverty)
        { ?e a dk:PovertyExit ; dk:county ?c }""")
    assert int(rows[0]["exited"]) > 0
    assert rows[0]["exited"] == rows[0]["poverty"]


def test_pairings_give_assists_and_province_support(store: Path) -> None:
    pairs = _rows(store, DK + """SELECT (COUNT(*) AS ?n) {
        SELECT DISTINCT ?a ?r { ?p a dk:Pairing ; dk:assistant ?a ; dk:recipient ?r } }""")
    assists = _rows(store, DK + "SELECT (COUNT(*) AS ?n) { ?a dk:assists ?r }")
    assert pairs == assists and int(pairs[0]["n"]) > 0
    # every recipient province is supported by an eastern province, through its cities
    unsupported = _rows(store, DK + """SELECT ?west {
        ?p a dk:Pairing ; dk:recipient ?west . ?west a dk:Province .
        FILTER NOT EXISTS { ?east a dk:Province ; dk:supports ?west . FILTER (?east != ?west) }
    }""")
    assert unsupported == []


def test_handovers(store: Path) -> None:
    rows = _rows(store, DK + """SELECT (COUNT(*) AS ?n) {
        ?new dk:succeeds ?old ; dk:recipient ?r ; dk:startYear ?s .
        ?old dk:recipient ?r ; dk:isSucceededBy ?new ; dk:endYear ?e .
        FILTER (STR(?e) = STR(?s)) }""")
    assert int(rows[0]["n"]) > 0


def test_figures_have_wording_and_provenance(store: Path) -> None:
    rows = _rows(store, DK + """PREFIX prov: <http://www.w3.org/ns/prov#>
        SELECT (COUNT(*) AS ?n) (COUNT(DISTINCT ?approx) AS ?kinds) {
        ?o a dk:Observation ; dk:sourceValue ?sv ; dk:approximation ?approx ; dk:quote ?q ;
           prov:wasDerivedFrom ?doc . ?doc a dk:SourceDocument }""")
    assert int(rows[0]["n"]) > 0
    assert int(rows[0]["kinds"]) >= 2  # exact and at least one approximate wording
