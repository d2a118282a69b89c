"""Links: the verified links in data/links/, and link discovery (kg link) against a local
Wikidata-shaped endpoint (the oxigraph server from PyPI on a loopback port) and file."""

from __future__ import annotations

import csv
import doctest
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from rdflib import Graph, URIRef
from rdflib.namespace import RDF, SKOS

import kg.linking
from conftest import ROOT, SHARED, run_kg
from kg.cli_linking import link as link_command
from kg.linking import (
    METHOD_REFERENCE,
    Candidate,
    Division,
    en_key,
    weigh,
    zh_key,
)
from kg.localservers import free_port
from kg.namespaces import DK

FIXTURES = ROOT / "tests" / "fixtures" / "linking"
WIKIDATA_FIXTURE = FIXTURES / "wikidata.ttl"
REFERENCE_CSV = SHARED / "reference" / "divisions.csv"
DIVISION = "https://w3id.org/duikou/id/division/"
TEST_NS = "http://wikidata.test.invalid/"


# --- a second, local SPARQL endpoint ---------------------------------------------------


def oxigraph_binary() -> str:
    found = shutil.which("oxigraph", path=str(Path(sys.executable).parent)) or shutil.which(
        "oxigraph")
    if found is None:
        raise RuntimeError("the oxigraph server is missing: pip install -e '.[test]'")
    return found


def start_endpoint(tmp: Path, data: Path = WIKIDATA_FIXTURE) -> tuple[str, subprocess.Popen]:
    """Load ``data`` into a fresh Oxigraph database and serve it read-only on a free
    loopback port; returns the query URL and the process."""
    binary = oxigraph_binary()
    db = tmp / "oxigraph-db"
    subprocess.run([binary, "load", "--location", str(db), "--file", str(data)], check=True,
                   capture_output=True, timeout=60)
    port = free_port()
    proc = subprocess.Popen([binary, "serve-read-only", "--location", str(db), "--bind",
                             f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/query"
    deadline = time.monotonic() + 20
    while True:
        try:
            r = requests.get(url, params={"query": "ASK {}"}, timeout=2)
            if r.status_code == 200:
                return url, proc
        except requests.ConnectionError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"oxigraph did not start on port {port}")
        time.sleep(0.05)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url, proc = start_endpoint(tmp_path_factory.mktemp("endpoint"))
    yield url
    stop(proc)


def build_fixture_store(tmp: Path, *extra_data: Path) -> Path:
    store = tmp / "store"
    data: list[str] = []
    for d in (FIXTURES / "data", *extra_data):
        data += ["--data", str(d)]
    run_kg("build", "--ontology", str(FIXTURES / "ontology"), *data, "--store", str(store),
           "--no-validate", "--quiet", check=True)
    return store


@pytest.fixture(scope="module")
def fixture_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_fixture_store(tmp_path_factory.mktemp("linking-store"))


def truth() -> dict[str, str]:
    with open(FIXTURES / "truth.csv", encoding="utf-8") as f:
        return {row["code"]: row["entity"] for row in csv.DictReader(f)}


def run_link(store: Path, target: str, out: Path) -> dict:
    result = CliRunner().invoke(link_command, ["--target", target, "-o", str(out),
                                               "--store", str(store), "--json"])
    assert result.exit_code == 0, result.output
    start = result.stdout.index("{")
    return json.loads(result.stdout[start:result.stdout.rindex("}") + 1])


# --- the verified links in data/links/ --------------------------------------------------


def reference_rows() -> list[dict[str, str]]:
    with open(REFERENCE_CSV, encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_data_links_are_exactly_the_verified_identifiers() -> None:
    rows = reference_rows()
    expected: set[tuple[str, str]] = set()
    for row in rows:
        if row["wikidata_qid"].strip() and row["qid_status"].startswith("verified"):
            expected.add((DIVISION + row["code"],
                          "http://www.wikidata.org/entity/" + row["wikidata_qid"].strip()))
        if row["geonames_id"].strip():
            expected.add((DIVISION + row["code"],
                          f"https://sws.geonames.org/{row['geonames_id'].strip()}/"))
    g = Graph()
    files = sorted((ROOT / "data" / "links").rglob("*.ttl"))
    assert files, "data/links/ holds no Turtle file"
    for path in files:
        g.parse(path)
    links = {(str(s), str(o)) for s, o in g.subject_objects(SKOS.exactMatch)}
    assert links == expected
    assert len(expected) == 22  # 7 Wikidata QIDs and 15 GeoNames features
    # never a guessed identifier: the unverified QIDs' divisions have no Wikidata link
    unverified = {DIVISION + r["code"] for r in rows if not r["wikidata_qid"].strip()}
    assert not any(s in unverified and "wikidata" in o for s, o in links)
    # every link carries its provenance
    for s, o in links:
        nodes = set(g.subjects(RDF.object, URIRef(o))) & set(g.subjects(RDF.subject, URIRef(s)))
        assert len(nodes) == 1, (s, o)
        node = nodes.pop()
        assert (node, RDF.predicate, SKOS.exactMatch) in g
        assert (node, DK.linkMethod, METHOD_REFERENCE) in g
        for p in ("http://www.w3.org/ns/prov#wasDerivedFrom", "http://purl.org/dc/terms/created",
                  str(DK.linkScore)):
            assert g.value(node, URIRef(p)) is not None, (node, p)
    # and nothing from the test namespace, nor owl:sameAs
    text = "".join(p.read_text(encoding="utf-8") for p in files)
    assert TEST_NS not in text
    assert not list(g.triples((None, URIRef("http://www.w3.org/2002/07/owl#sameAs"), None)))


def test_data_links_file_is_what_the_generator_writes() -> None:
    import datetime as dt

    g = kg.linking.reference_links(reference_rows(), created=dt.date(2026, 11, 29))
    on_disk = Graph().parse(ROOT / "data" / "links" / "reference.ttl")
    assert set(g) == set(on_disk)


def test_reasoning_over_links_stays_small(tmp_path: Path) -> None:
    """skos:exactMatch is not owl:sameAs: the reasoner copies nothing onto external IRIs."""
    store = build_fixture_store(tmp_path, ROOT / "data" / "links")
    out = run_kg("export", "--store", str(store), "--graph", "inferred", "--format", "nt",
                 check=True).stdout
    external = [line for line in out.splitlines()
                if line.startswith(("<http://www.wikidata.org/", "<https://sws.geonames.org/"))]
    assert external == []
    assert "owl#sameAs" not in out
    assert "http://www.wikidata.org/entity/" not in out


# --- names and evidence ------------------------------------------------------------------


def test_doctests() -> None:
    result = doctest.testmod(kg.linking)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize(("a", "b"), [
    ("台江县", "台江"), ("黔东南苗族侗族自治州", "黔東南苗族侗族自治州"),
    ("延边朝鲜族自治州", "延边州"), ("靖宇县", "靖宇縣"), ("浙江省", "浙江"),
    ("恩施土家族苗族自治州", "恩施州"),
])
def test_zh_keys_tolerate_suffixes_and_scripts(a: str, b: str) -> None:
    assert zh_key(a) == zh_key(b)


def test_zh_keys_keep_different_places_apart() -> None:
    assert zh_key("台江县") != zh_key("台州市")
    assert zh_key("白山市") != zh_key("白城市")


def test_en_keys() -> None:
    assert en_key("Xuan'en County") == en_key("Xuanen")
    assert en_key("Yanbian Korean Autonomous Prefecture") == en_key("Yanbian")
    assert en_key("Da'an City (county-level city)") != en_key("Dunhua City")


def test_code_without_a_fitting_name_is_not_acceptable() -> None:
    div = Division(DIVISION + "220822", "220822", ["通榆县"], ["Tongyu County"])
    cand = Candidate("urn:x", codes={"220822"}, labels_zh={"开通县"})
    ev = weigh(div, cand, set(), "220800")
    assert ev.code and ev.name is None and not ev.acceptable


def test_name_in_another_parent_is_not_acceptable() -> None:
    div = Division(DIVISION + "522630", "522630", ["台江县"], ["Taijiang County"])
    cand = Candidate("urn:x", labels_zh={"台江区"}, parents={"urn:fuzhou"},
                     parent_codes={"350100"})
    ev = weigh(div, cand, {"urn:qiandongnan"}, "522600")
    assert ev.name == "stem" and ev.parent == "mismatch" and not ev.acceptable


def test_type_of_another_level_is_not_acceptable() -> None:
    div = Division(DIVISION + "422802", "422802", ["利川市"], ["Lichuan City"])
    cand = Candidate("urn:x", codes={"422802"}, labels_zh={"利川市"},
                     classes={"prefecture-level city"})
    assert weigh(div, cand, set(), None).type == "mismatch"


# --- link discovery on the fixture --------------------------------------------------------


def _precision_recall(report: dict) -> tuple[float, float, int, int, int]:
    expected = truth()
    accepted = {a["code"]: a["target"] for a in report["accepted"]}
    correct = sum(1 for code, target in accepted.items() if expected.get(code) == target)
    precision = correct / len(accepted) if accepted else 1.0
    recall = correct / len(expected)
    return precision, recall, correct, len(accepted), len(expected)


def test_link_against_endpoint_has_precision_one(fixture_store: Path, endpoint: str,
                                                 tmp_path: Path) -> None:
    out = tmp_path / "links.ttl"
    report = run_link(fixture_store, endpoint, out)
    precision, recall, correct, accepted, expected = _precision_recall(report)
    assert precision == 1.0
    # 27 of the 29 divisions that have a counterpart in the fixture: China (no code, and a
    # name alone is not enough) and 通榆县 (its code is held by the former 开通县) are left.
    assert (correct, accepted, expected) == (27, 27, 29), report
    assert recall == pytest.approx(27 / 29)
    assert sorted(report["unmatched"]) == ["100000", "513429202000", "513429202201"]
    assert set(report["ambiguous"]) == {"220822"}
    # distractors are never linked
    targets = {a["target"] for a in report["accepted"]}
    for distractor in range(8000001, 8000011):
        assert f"{TEST_NS}entity/Q{distractor}" not in targets
    # the written Turtle carries each link with its score, method and source
    g = Graph().parse(out)
    assert len(set(g.subject_objects(SKOS.exactMatch))) == 27
    methods = {str(m) for m in g.objects(None, DK.linkMethod)}
    assert methods == {str(kg.linking.METHOD_CODE), str(kg.linking.METHOD_NAME)}
    assert {str(o) for o in g.objects(None, URIRef("http://www.w3.org/ns/prov#wasDerivedFrom"))
            } == {endpoint}
    assert len(set(g.objects(None, DK.linkScore))) >= 2


def test_link_routes(fixture_store: Path, endpoint: str, tmp_path: Path) -> None:
    report = run_link(fixture_store, endpoint, tmp_path / "links.ttl")
    by_code = {a["code"]: a for a in report["accepted"]}
    # code route, despite a same-named district in another province
    assert by_code["330106"]["target"] == f"{TEST_NS}entity/Q900002"
    # name-and-parent route, despite the same-named 台江区 of Fuzhou
    assert by_code["522630"]["method"].endswith("name-and-parent")
    # a traditional-only label (靖宇縣@zh-tw), matched through OpenCC
    assert by_code["220622"]["evidence"].startswith("no code, name exact")
    # the former 恩施县 shares 恩施市's code; the current, exactly named city wins
    assert by_code["422801"]["target"] == f"{TEST_NS}entity/Q900007"
    assert any("Q8000009" in reason for reason in report["ambiguous"]["220822"])


def test_link_against_file_gives_the_same_links(fixture_store: Path, endpoint: str,
                                                tmp_path: Path) -> None:
    from_endpoint = run_link(fixture_store, endpoint, tmp_path / "a.ttl")
    from_file = run_link(fixture_store, str(WIKIDATA_FIXTURE), tmp_path / "b.ttl")
    key = lambda r: sorted((a["code"], a["target"], a["score"]) for a in r["accepted"])  # noqa: E731
    assert key(from_endpoint) == key(from_file)


def test_existing_links_are_reported_not_rewritten(tmp_path: Path, endpoint: str) -> None:
    store = build_fixture_store(tmp_path, ROOT / "data" / "links")
    report = run_link(store, endpoint, tmp_path / "links.ttl")
    already = {a["code"] for a in report["already_linked"]}
    assert {"330000", "330100", "510000", "520000", "420000", "220000"} <= already
    assert not {a["code"] for a in report["accepted"]} & already


def test_link_cli_reports_unreachable_endpoint(fixture_store: Path) -> None:
    port = free_port()
    result = CliRunner().invoke(link_command, [
        "--target", f"http://127.0.0.1:{port}/query", "-o", os.devnull,
        "--store", str(fixture_store), "--timeout", "5"])
    assert result.exit_code != 0
    assert "cannot query" in str(result.exception)
