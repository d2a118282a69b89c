"""The store on a real SPARQL server (``--store URL``), against Virtuoso and Oxigraph server
through the same code path: the build's counts, the competency questions (identical to the
embedded store's answers), ``kg query``/``export``/``stats``, ``kg serve`` fronting the
server, a failed build leaving the previous graphs answering, and credentials."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pyoxigraph as ox
import pytest
import requests

from integration.conftest import start_server
from kg.build import BuildOptions, run_build
from kg.errors import StoreError
from kg.namespaces import Graphs
from kg.remote import BUILD_GRAPH, RemoteStore
from kg.store import BuildInfo, QueryTimeout, apply_update, open_store
from test_competency import QUERIES, expected, has_order_by, same

from .conftest import ROOT, Remote

DIV = "https://w3id.org/duikou/id/division/"


@pytest.fixture
def credentials(remote: Remote, monkeypatch: pytest.MonkeyPatch) -> Remote:
    """The server's credentials in this process's environment (for in-process writes)."""
    for name in ("KG_STORE_USER", "KG_STORE_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    for name, value in remote.env.items():
        monkeypatch.setenv(name, value)
    return remote


def rows(result: object) -> tuple[list[str], list[tuple[str, ...]]]:
    assert isinstance(result, ox.QuerySolutions)
    variables = [v.value for v in result.variables]
    return variables, [tuple("" if s[v] is None else s[v].value for v in variables)
                       for s in result]


def without_bnode_labels(text: str) -> list[str]:
    """N-Triples lines with blank node labels blanked (each server labels its own)."""
    return sorted(re.sub(r"_:\w+", "_:b", line) for line in text.splitlines())


def test_the_queries_are_there() -> None:
    assert len(QUERIES) >= 20


def test_build_counts_verified(remote: Remote, built_store: Path) -> None:
    embedded = open_store(built_store)
    store = open_store(remote.location)
    assert isinstance(store, RemoteStore)
    assert store.counts() == embedded.counts()
    assert {g: store.count(g) for g in store.counts()} == embedded.counts()
    assert store.count_graphs() == embedded.counts()  # no staging graph left behind
    info = store.info
    assert info.reasoner == "fast" and info.build_id


@pytest.mark.parametrize("query", QUERIES, ids=lambda p: p.stem)
def test_competency_question_as_embedded(remote: Remote, built_store: Path, query: Path
                                         ) -> None:
    text = query.read_text(encoding="utf-8")
    variables, got = rows(open_store(remote.location).query(text))
    want_vars, want = expected(query)
    _, embedded = rows(open_store(built_store).query(text))
    assert variables == want_vars
    assert same(got, want, has_order_by(text)), f"{remote.name}: {got}\nexpected {want}"
    assert same(got, embedded, has_order_by(text))


def test_asserted_graphs_only(remote: Remote, built_store: Path) -> None:
    text = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    for inference in (True, False):
        _, got = rows(open_store(remote.location).query(text, inference=inference))
        _, want = rows(open_store(built_store).query(text, inference=inference))
        assert got == want


def test_named_graphs_are_ours_only(remote: Remote) -> None:
    """Virtuoso's default graph is every graph, its own system graphs too: the adapter
    names the build's graphs, so neither the union nor GRAPH ?g sees anything else."""
    store = open_store(remote.location)
    _, got = rows(store.query("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"))
    assert sorted(g for (g,) in got) == sorted(str(g) for g in Graphs.ALL)
    _, got = rows(store.query("SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } } LIMIT 1",
                              named_graphs=[str(Graphs.LINKS)]))
    assert got == [(str(Graphs.LINKS),)]


def test_construct_and_ask(remote: Remote, built_store: Path) -> None:
    text = f"CONSTRUCT WHERE {{ <{DIV}330000> ?p ?o }}"
    got = open_store(remote.location).query(text)
    want = open_store(built_store).query(text)
    assert isinstance(got, ox.QueryTriples)
    assert sorted(map(str, got)) == sorted(map(str, want))
    assert bool(open_store(remote.location).query(f"ASK {{ <{DIV}330000> ?p ?o }}"))


def test_malformed_query_is_a_syntax_error(remote: Remote) -> None:
    with pytest.raises(SyntaxError):
        open_store(remote.location).query("SELECT WHERE {")


def test_cli_query_export_stats(remote: Remote, built_store: Path) -> None:
    from conftest import run_kg

    text = (f"SELECT ?l WHERE {{ <{DIV}330000> <http://www.w3.org/2000/01/rdf-schema#label> "
            "?l FILTER(LANG(?l) = 'zh') }")
    got = remote.kg("query", text, "--format", "csv").stdout
    assert got == run_kg("query", text, "--format", "csv", "--store", str(built_store),
                         check=True).stdout
    exported = remote.kg("export", "--format", "nt").stdout
    embedded = run_kg("export", "--format", "nt", "--store", str(built_store), check=True)
    assert without_bnode_labels(exported) == without_bnode_labels(embedded.stdout)
    stats = json.loads(remote.kg("stats", "--json").stdout)
    assert stats == json.loads(run_kg("stats", "--json", "--store", str(built_store),
                                      check=True).stdout)


def test_serve_fronts_the_server(remote: Remote, built_store: Path,
                                 tmp_path: Path) -> None:
    served = start_server(remote.query, tmp_path / "remote", "--workers", "1")  # type: ignore[arg-type]
    local = start_server(built_store, tmp_path / "local", "--workers", "1")
    try:
        health = requests.get(served.url + "/healthz", timeout=10).json()
        assert health["build_id"] == open_store(remote.location).info.build_id
        assert health["graphs"] == open_store(built_store).counts()
        # (no ORDER BY: servers order literals of different languages differently, which
        # SPARQL leaves to them)
        query = {"query": f"SELECT ?p ?o WHERE {{ <{DIV}330000> ?p ?o }}"}
        for accept in ("text/csv", "text/tab-separated-values"):
            a = requests.get(served.sparql, params=query, headers={"Accept": accept},
                             timeout=30)
            b = requests.get(local.sparql, params=query, headers={"Accept": accept},
                             timeout=30)
            assert a.status_code == 200
            assert sorted(a.text.splitlines()) == sorted(b.text.splitlines())
        bad = requests.get(served.sparql, params={"query": "SELECT WHERE {"}, timeout=30)
        assert bad.status_code == 400
        for path in ("/id/division/330000.ttl", "/id/division/522600.nt"):
            a = requests.get(served.url + path, timeout=30)
            assert a.status_code == 200
            assert a.content == requests.get(local.url + path, timeout=30).content, path
        for path in ("/id/division/330000", "/", "/void", "/ontology", "/download/"):
            assert requests.get(served.url + path, timeout=60).status_code == 200, path
        dump = requests.get(served.url + "/download/duikou.nt", timeout=60)
        assert dump.status_code == 200
        assert without_bnode_labels(dump.text) == without_bnode_labels(
            requests.get(local.url + "/download/duikou.nt", timeout=60).text)
    finally:
        served.stop()
        local.stop()


def _small_build(remote: Remote, data: Path) -> BuildOptions:
    return BuildOptions(ontology=(ROOT / "ontology",), data=(data,),
                        store=remote.location, validate=False, reasoner="none")


def test_failed_upload_leaves_previous_graphs(remote: Remote, credentials: Remote,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store(remote.location)
    before = store.info
    calls = {"n": 0}
    real = RemoteStore._post_triples

    def flaky(self: RemoteStore, *args: object) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise StoreError("the connection dropped (simulated)")
        real(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(RemoteStore, "_post_triples", flaky)
    with pytest.raises(StoreError, match="simulated"):
        run_build(_small_build(remote, ROOT / "data"))
    assert calls["n"] == 3
    after = open_store(remote.location)
    assert after.info.build_id == before.build_id
    assert {g: after.count(g) for g in before.counts} == before.counts
    assert after.count_graphs() == before.counts  # the staging graphs were removed


def test_wrong_update_endpoint_leaves_previous_graphs(remote: Remote) -> None:
    before = open_store(remote.location).info
    broken = dataclasses.replace(remote, update=remote.query.rsplit("/", 1)[0] + "/no-such")
    result = broken.kg("build", "--quiet", "--no-validate", "--reasoner", "none",
                       check=False)
    assert result.returncode != 0
    assert "404" in result.stderr or "no such endpoint" in result.stderr
    after = open_store(remote.location)
    assert after.info.build_id == before.build_id
    assert {g: after.count(g) for g in before.counts} == before.counts


def test_update_through_the_store(remote: Remote, credentials: Remote) -> None:
    graph = "https://w3id.org/duikou/graph/external/test"
    before = open_store(remote.location).info
    info = apply_update(remote.location, f"INSERT DATA {{ GRAPH <{graph}> {{ "
                                          f"<{DIV}330000> <urn:x:p> \"测试\"@zh }} }}")
    try:
        assert isinstance(info, BuildInfo) and info.counts[graph] == 1
        store = open_store(remote.location)
        assert store.info.build_id == info.build_id != before.build_id
        _, got = rows(store.query("SELECT ?o WHERE { ?s <urn:x:p> ?o }"))
        assert got == [("测试",)]
    finally:
        info = apply_update(remote.location, f"DROP SILENT GRAPH <{graph}>")
    assert info.counts == before.counts


def test_no_password_option() -> None:
    from conftest import run_kg

    for verb in ("build", "query", "export", "stats", "serve"):
        help_text = run_kg(verb, "--help", check=True).stdout
        assert "--store-update" in help_text
        assert not re.search(r"--[\w-]*(pass|secret|cred)", help_text, re.IGNORECASE)


@pytest.mark.parametrize("remote", ["virtuoso"], indirect=True)  # Oxigraph has no auth
def test_credentials_from_netrc(remote: Remote, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    assert remote.env, "Virtuoso's update endpoint needs credentials"
    for name in ("KG_STORE_USER", "KG_STORE_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login {remote.env['KG_STORE_USER']} "
                     f"password {remote.env['KG_STORE_PASSWORD']}\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    info = apply_update(remote.location, "DROP SILENT GRAPH <urn:x:nothing>")
    assert info.counts == open_store(remote.location).counts()
    netrc.write_text("machine 127.0.0.1 login dba password wrong\n")
    with pytest.raises(StoreError, match="refused access"):
        apply_update(remote.location, "DROP SILENT GRAPH <urn:x:nothing>")


# --- Virtuoso's deviations, each handled ----------------------------------------------------

def test_virtuoso_json_results_are_normalised() -> None:
    from kg.remote import parse_json_results

    body = json.dumps({"head": {"link": [], "vars": ["o", "b"]}, "results": {
        "distinct": False, "ordered": True, "bindings": [
            {"o": {"type": "typed-literal", "value": "1",
                   "datatype": "http://www.w3.org/2001/XMLSchema#boolean"},
             "b": {"type": "bnode", "value": "nodeID://b10000"}},
            {"o": {"type": "literal", "xml:lang": "zh", "value": "浙江省"}}]}}).encode()
    solutions = list(parse_json_results(body))
    assert solutions[0]["o"] == ox.Literal(
        "true", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#boolean"))
    assert isinstance(solutions[0]["b"], ox.BlankNode)
    assert solutions[1]["o"] == ox.Literal("浙江省", language="zh")


@pytest.mark.parametrize("text", [
    # CONCAT of stored non-ASCII text with a non-ASCII constant (garbled by Virtuoso 7.2)
    f"SELECT (CONCAT(?l, \"（省）\") AS ?x) WHERE {{ <{DIV}330000> "
    "<http://www.w3.org/2000/01/rdf-schema#label> ?l FILTER(LANG(?l) = \"zh\") }",
    # a property path reached by two routes (Virtuoso returns it once per route)
    "SELECT ?c ?p WHERE { ?c <https://w3id.org/duikou/ontology#partOf>+ ?p } ORDER BY ?c ?p",
    # escaped characters in a prefixed name (Virtuoso 7.2: "Bad character '\\'")
    "PREFIX div: <https://w3id.org/duikou/id/> SELECT ?p WHERE { div:division\\/330000 ?p ?o }"
    " ORDER BY ?p",
    # booleans (Virtuoso's JSON writes 1/0)
    "SELECT ?s ?b WHERE { ?s <https://w3id.org/duikou/ontology#nationalPovertyCounty> ?b }"
    " ORDER BY ?s",
    # datatypes, language tags, numbers as the embedded store writes them
    "SELECT ?o (DATATYPE(?o) AS ?t) (LANG(?o) AS ?lang) WHERE { GRAPH ?g { ?s ?p ?o "
    "FILTER(isLiteral(?o)) } }",
])
def test_deviations_are_smoothed_over(remote: Remote, built_store: Path, text: str) -> None:
    got = open_store(remote.location).query(text)
    want = open_store(built_store).query(text)
    got_vars, got_rows = rows(got)
    want_vars, want_rows = rows(want)
    assert got_vars == want_vars
    assert same(got_rows, want_rows, has_order_by(text))


# The Oxigraph server takes no per-query time limit (only the client's time-out applies).
@pytest.mark.parametrize("remote", ["virtuoso"], indirect=True)
def test_time_limit_is_passed_on(remote: Remote) -> None:
    store = RemoteStore(remote.location, timeout=1.0)
    with pytest.raises(QueryTimeout):
        store.query("SELECT (COUNT(*) AS ?n) WHERE { ?a ?p ?b . ?c ?q ?d . ?e ?r ?f }")


def test_build_description_graph(remote: Remote) -> None:
    store = open_store(remote.location)
    _, got = rows(store.query(f"SELECT ?o WHERE {{ GRAPH <{BUILD_GRAPH}> {{ ?s ?p ?o }} }}",
                              named_graphs=[BUILD_GRAPH]))
    assert any(store.info.build_id == o for (o,) in got)
