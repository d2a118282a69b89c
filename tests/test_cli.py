"""The CLI as users run it: a subprocess on temporary folders, every failure case included."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import KG, ROOT, run_kg, unprivileged

FIXTURES = Path(__file__).parent / "fixtures"
MINI = FIXTURES / "mini"
UNIV = FIXTURES / "university"
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"


def build(store: Path, *args: str, data: Path | None = None, ontology: Path | None = None):
    return run_kg("build", "--ontology", str(ontology or MINI / "ontology"),
                  "--data", str(data or MINI / "data"), "--store", str(store), *args)


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def mini_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("mini") / "store"
    result = build(store)
    assert result.returncode == 0, result.stderr
    return store


def test_build_shows_stages_and_routes_graphs(tmp_path: Path) -> None:
    store = tmp_path / "store"
    result = build(store)
    assert result.returncode == 0, result.stderr
    for stage in ("load", "validate", "reason", "store"):
        assert stage in result.stderr
    assert " s" in result.stderr and "triples" in result.stderr
    info = json.loads((store / "build.json").read_text())
    assert info["reasoner"] == "fast"
    counts = info["counts"]
    assert counts["https://w3id.org/duikou/graph/reference"] == 2
    assert counts["https://w3id.org/duikou/graph/data"] == 2
    assert counts["https://w3id.org/duikou/graph/inferred"] >= 2  # both cities are ex:City


def test_quiet_build_prints_nothing(tmp_path: Path) -> None:
    result = build(tmp_path / "store", "--quiet")
    assert result.returncode == 0
    assert result.stderr == "" and result.stdout == ""


def test_query_formats(mini_store: Path) -> None:
    q = "SELECT ?c WHERE { ?c a <http://example.org/mini#City> } ORDER BY ?c"
    js = run_kg("query", q, "--store", str(mini_store), "--format", "json", check=True)
    rows = json.loads(js.stdout)["results"]["bindings"]
    assert [r["c"]["value"] for r in rows] == ["http://example.org/mini#hangzhou",
                                               "http://example.org/mini#ningbo"]
    csv = run_kg("query", q, "--store", str(mini_store), "--format", "csv", check=True)
    assert csv.stdout.splitlines()[0] == "c"
    tsv = run_kg("query", q, "--store", str(mini_store), "--format", "tsv", check=True)
    assert tsv.stdout.splitlines()[1] == "<http://example.org/mini#hangzhou>"
    xml = run_kg("query", q, "--store", str(mini_store), "--format", "xml", check=True)
    assert "<sparql" in xml.stdout
    table = run_kg("query", q, "--store", str(mini_store), "--format", "table", check=True)
    assert "2 row(s)" in table.stdout
    ask = run_kg("query", "ASK { ?s ?p ?o }", "--store", str(mini_store), "-f", "json",
                 check=True)
    assert json.loads(ask.stdout)["boolean"] is True


def test_query_without_inference(mini_store: Path) -> None:
    q = "SELECT (COUNT(*) AS ?n) WHERE { ?c a <http://example.org/mini#City> }"
    on = run_kg("query", q, "--store", str(mini_store), "-f", "csv", check=True)
    off = run_kg("query", q, "--store", str(mini_store), "-f", "csv", "--no-inference",
                 check=True)
    assert on.stdout.split()[1] == "2" and off.stdout.split()[1] == "0"


def test_query_from_file_and_graph_formats(mini_store: Path, tmp_path: Path) -> None:
    qfile = tmp_path / "q.rq"
    qfile.write_text("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o FILTER(?o = \"宁波\") }",
                     encoding="utf-8")
    ttl = run_kg("query", str(qfile), "--store", str(mini_store), check=True)
    assert "宁波" in ttl.stdout
    nt = run_kg("query", str(qfile), "--store", str(mini_store), "-f", "nt", check=True)
    assert nt.stdout.strip().endswith('"宁波" .')
    bad = run_kg("query", str(qfile), "--store", str(mini_store), "-f", "csv")
    assert bad.returncode == 2 and "does not fit graph results" in bad.stderr


def test_malformed_query_is_a_usage_error(mini_store: Path) -> None:
    result = run_kg("query", "SELECT ?x WHERE { ?x ", "--store", str(mini_store))
    assert result.returncode == 2 and "malformed query" in result.stderr
    assert "Traceback" not in result.stderr


def test_export_is_deterministic_with_prefixes(mini_store: Path, tmp_path: Path) -> None:
    a, b = tmp_path / "a.ttl", tmp_path / "b.ttl"
    run_kg("export", "--store", str(mini_store), "-o", str(a), check=True)
    run_kg("export", "--store", str(mini_store), "-o", str(b), check=True)
    assert a.read_bytes() == b.read_bytes()
    text = a.read_text(encoding="utf-8")
    assert "@prefix rdfs:" in text and "宁波" in text


@pytest.mark.parametrize("fmt", ["turtle", "nt", "nq", "trig", "jsonld", "xml"])
def test_export_formats_parse_back(mini_store: Path, tmp_path: Path, fmt: str) -> None:
    import rdflib

    out = tmp_path / f"out.{fmt}"
    run_kg("export", "--store", str(mini_store), "--format", fmt, "-o", str(out), check=True)
    parse_as = {"turtle": "turtle", "nt": "nt", "nq": "nquads", "trig": "trig",
                "jsonld": "json-ld", "xml": "xml"}[fmt]
    ds = rdflib.Dataset()
    ds.parse(out, format=parse_as)
    assert len(ds) > 0 or sum(len(g) for g in ds.graphs()) > 0


def test_export_graph_selection(mini_store: Path) -> None:
    inferred = run_kg("export", "--store", str(mini_store), "--graph", "inferred", "-f", "nt",
                      check=True).stdout
    asserted = run_kg("export", "--store", str(mini_store), "--graph", "asserted", "-f", "nt",
                      check=True).stdout
    city = "<http://example.org/mini#City>"
    rdf_type = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
    assert f"<http://example.org/mini#ningbo> {rdf_type} {city}" in inferred
    assert city not in "".join(line for line in asserted.splitlines() if "ningbo" in line)


def test_stats(mini_store: Path) -> None:
    result = run_kg("stats", "--store", str(mini_store), "--json", check=True)
    stats = json.loads(result.stdout)
    assert stats["graphs"]["https://w3id.org/duikou/graph/data"] == 2
    assert stats["classes"]["http://example.org/mini#City"] == 2
    assert stats["properties"]["http://example.org/mini#name"] == 2
    text = run_kg("stats", "--store", str(mini_store), check=True).stdout
    assert "# instances per class" in text


def test_validate_reports_every_violation(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "bad.ttl").write_text(
        "@prefix ex: <http://example.org/mini#> .\n"
        "ex:a a ex:City .\nex:b a ex:EasternCity ; ex:name 5 .\n", encoding="utf-8")
    result = run_kg("validate", "--ontology", str(MINI / "ontology"), "--data", str(data))
    assert result.returncode == 1
    assert "2 violation(s)" in result.stderr
    assert "ex:a" in result.stderr or "mini#a" in result.stderr
    assert "a city needs a name" in result.stderr
    store = tmp_path / "store"
    failed = build(store, data=data)
    assert failed.returncode == 1 and "a city needs a name" in failed.stderr
    assert not store.exists()
    skipped = build(store, "--no-validate", data=data)
    assert skipped.returncode == 0, skipped.stderr


def test_validate_ok() -> None:
    result = run_kg("validate", "--ontology", str(MINI / "ontology"), "--data",
                    str(MINI / "data"), check=True)
    assert "conforms" in result.stdout


# ---- bad input: one readable line, exit status 2, no traceback -------------------------

def test_syntax_error_names_file_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttl"
    bad.write_text('@prefix ex: <http://e/> .\n\nex:a ex:b "unterminated .\n', encoding="utf-8")
    line = one_line_error(build(tmp_path / "s", data=bad))
    assert f"{bad}:3:" in line and "syntax error" in line


@pytest.mark.parametrize(("name", "content", "message"), [
    ("facts.docx", b"PK", "unknown file extension '.docx'"),
    ("empty.ttl", b"", "the file is empty"),
    ("prefixes.ttl", b"@prefix ex: <http://e/> .\n", "holds no triples"),
    ("broken.nt.gz", b"not gzip at all", "cannot read the file"),
    ("table.csv", b"a,b\n1,2\n", "needs CSVW metadata"),
])
def test_bad_input_files(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert message in one_line_error(build(tmp_path / "s", data=path))


def test_missing_path(tmp_path: Path) -> None:
    line = one_line_error(build(tmp_path / "s", data=tmp_path / "nowhere"))
    assert "no such file or folder" in line


def test_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert "no data input found" in one_line_error(build(tmp_path / "s", data=tmp_path / "empty"))


def test_unreadable_file() -> None:
    """Run without root's power to read files whatever their mode."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        work.chmod(0o777)
        path = work / "secret.ttl"
        path.write_text("<http://a> <http://b> <http://c> .", encoding="utf-8")
        path.chmod(0)
        command = unprivileged([*KG, "build", "--ontology", str(MINI / "ontology"),
                                "--data", str(path), "--store", str(work / "s")])
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "permission denied" in one_line_error(result)


def test_debug_shows_traceback(tmp_path: Path) -> None:
    result = run_kg("--debug", "build", "--data", str(tmp_path / "nowhere"),
                    "--store", str(tmp_path / "s"))
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_gzip_and_rdfxml_inputs(tmp_path: Path) -> None:
    nt = (MINI / "data" / "reference" / "places.nt").read_bytes()
    (tmp_path / "places.nt.gz").write_bytes(gzip.compress(nt))
    result = build(tmp_path / "s", "--no-validate", data=tmp_path / "places.nt.gz")
    assert result.returncode == 0, result.stderr


# ---- the store is swapped atomically -------------------------------------------------

def _count(store: Path) -> int:
    return int(run_kg("query", COUNT, "--store", str(store), "-f", "csv",
                      check=True).stdout.split()[1])


def test_failed_build_leaves_previous_store(tmp_path: Path) -> None:
    store = tmp_path / "store"
    build(store, "--quiet")
    before, link = _count(store), os.readlink(store)
    bad = tmp_path / "bad.ttl"
    bad.write_text("<http://a> <http://b> .", encoding="utf-8")
    assert build(store, data=bad).returncode == 2
    assert os.readlink(store) == link and _count(store) == before


def test_killed_build_leaves_previous_store(tmp_path: Path) -> None:
    """SIGKILL a build while it reasons over a larger input: the old store still answers,
    and the next build cleans up what the dead one left."""
    store = tmp_path / "store"
    build(store, "--quiet")
    before, link = _count(store), os.readlink(store)
    big = tmp_path / "big.nt"
    with big.open("w") as f:
        for i in range(20000):
            f.write(f"<http://e/s{i}> <http://example.org/univ#colleagueOf> <http://e/s{i+1}> .\n")
    proc = subprocess.Popen([*KG, "build", "--ontology", str(UNIV / "university.ttl"),
                             "--data", str(big), "--store", str(store)], cwd=ROOT,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    for line in proc.stderr:  # wait until it is reasoning, then kill it
        if line.startswith("reason"):
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stderr.close()
    assert os.readlink(store) == link and _count(store) == before
    assert build(store, "--quiet").returncode == 0
    builds = [p for p in (tmp_path / "store.builds").iterdir()]
    assert all((p / "build.json").exists() for p in builds), "dead generation left behind"


def test_second_build_refuses_while_first_holds_lock(tmp_path: Path) -> None:
    store = tmp_path / "store"
    build(store, "--quiet")
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from kg.store import write_lock\n"
         f"with write_lock(Path({str(store)!r})):\n print('locked', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        result = build(store, "--quiet")
        assert result.returncode == 2 and "another build or update" in result.stderr
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()


def test_store_that_is_not_ours_is_refused(tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    (store / "precious.txt").write_text("keep me")
    line = one_line_error(build(store, "--quiet"))
    assert "is not a Duikou store" in line
    assert (store / "precious.txt").read_text() == "keep me"


def test_query_without_store(tmp_path: Path) -> None:
    line = one_line_error(run_kg("query", COUNT, "--store", str(tmp_path / "none")))
    assert "run `kg build` first" in line


def test_old_generations_are_pruned(tmp_path: Path) -> None:
    store = tmp_path / "store"
    for _ in range(5):
        assert build(store, "--quiet", "--reasoner", "none").returncode == 0
    assert len(list((tmp_path / "store.builds").iterdir())) == 3
    shutil.rmtree(tmp_path / "store.builds")
