"""The human-facing pages through Flask's test client, over the fixture in tests/fixtures/web.

The fixture is a slice of the Duikou ontology plus three pairings (one handed over to
another), an exit, a figure with unit, approximation and quote, and Wikidata links; its
data hold HTML in a quote and a label, which every page must escape.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from rdflib import Dataset, Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF, RDFS, SKOS, VOID

from kg.config import Settings
from kg.web import create_app
from kg.web.ui import parse_query_file, with_prefixes

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "web"
DK = Namespace("https://w3id.org/duikou/ontology#")
DIV = Namespace("https://w3id.org/duikou/id/division/")
WD = Namespace("http://www.wikidata.org/entity/")


def build(store: Path, *data: Path) -> Path:
    args = [sys.executable, "-m", "kg", "build", "--ontology", str(FIXTURE / "ontology"),
            "--store", str(store), "--no-validate", "--quiet"]
    for d in data or (FIXTURE / "data",):
        args += ["--data", str(d)]
    result = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return store


class Client:
    """Flask's test client, reading each response whole and closing it (files included)."""

    def __init__(self, app) -> None:
        self._client = app.test_client()

    def get(self, path: str, **kwargs):
        r = self._client.get(path, **kwargs)
        r.get_data()
        r.close()
        return r

    def head(self, path: str, **kwargs):
        r = self._client.head(path, **kwargs)
        r.close()
        return r


def make_app(store: Path, queries: Path = FIXTURE / "queries"):
    """The real app factory, with the page blueprints registered if it does not yet."""
    from kg.web import dataset, ontology_docs, resources, ui

    app = create_app(Settings(store=store))
    app.config["KG_QUERIES_DIR"] = str(queries)
    for module in (ui, resources, ontology_docs, dataset):
        if module.bp.name not in app.blueprints:
            app.register_blueprint(module.bp)
    app.config["TESTING"] = True
    return app


@pytest.fixture(scope="session")
def web_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("web") / "store")


@pytest.fixture(scope="session")
def client(web_store: Path):
    return Client(make_app(web_store))


def html(client, path: str, status: int = 200) -> str:
    r = client.get(path, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert r.status_code == status, r.data[:500]
    assert r.mimetype == "text/html"
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]
    return r.get_data(as_text=True)


# --- / ---------------------------------------------------------------------------------------

def test_index_offers_every_query_as_an_example(client) -> None:
    page = html(client, "/")
    for path in sorted((FIXTURE / "queries").glob("*.rq")):
        q = parse_query_file(path)
        assert q.title in page and q.title_zh in page
        assert f'data-name="{q.name}"' in page
    assert "结对关系及其起止年份" in page and "Pairings and their years" in page


def test_index_loads_nothing_from_another_origin(client) -> None:
    page = html(client, "/")
    refs = re.findall(r'<(?:script|link|img)[^>]*(?:src|href)="([^"]+)"', page)
    assert refs and all(r.startswith("/") or r == "data:," for r in refs), refs
    assert "/assets/vendor/yasgui/yasgui.min.js" in refs
    assert "prefix.cc" not in page
    js = client.get("/assets/kg/ui.js").get_data(as_text=True)
    assert '"/prefixes.json"' in page or "prefixesUrl" in page
    assert "disableCompleter" in js and '["prefixes", "variables"]' in js
    csp = client.get("/").headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "unsafe" not in csp
    assert "style-src 'self' 'sha256-" in csp          # YASGUI's one <style>, by its hash
    for path in ("/network", "/ontology", "/void", "/download/", "/id/division/522300"):
        assert "style-src 'self';" in client.get(path).headers["Content-Security-Policy"]


def test_vendored_yasgui_is_served_with_its_licence() -> None:
    folder = ROOT / "src" / "kg" / "static" / "vendor" / "yasgui"
    assert (folder / "VERSION").read_text().strip() == "4.6.2"
    assert "MIT License" in (folder / "LICENSE").read_text()
    assert (folder / "yasgui.min.js").stat().st_size > 500_000


def test_static_assets(client) -> None:
    for path, mimetype in [("/assets/vendor/yasgui/yasgui.min.js", "text/javascript"),
                           ("/assets/vendor/yasgui/yasgui.min.css", "text/css"),
                           ("/assets/geo/east-asia-land-50m.geojson", None)]:
        r = client.get(path)
        assert r.status_code == 200, path
        if mimetype:
            assert r.mimetype == mimetype
    land = json.loads(client.get("/assets/geo/east-asia-land-50m.geojson").data)
    assert land["features"][0]["geometry"]["type"] == "MultiPolygon"


def test_queries_json_and_files(client) -> None:
    listed = client.get("/queries.json").json
    assert [q["name"] for q in listed] == ["exits", "pairings-by-year"]
    exits = listed[0]
    assert exits["title_zh"] == "贫困县摘帽" and exits["description"].startswith("Counties")
    assert exits["url"] == "/queries/exits.rq"
    r = client.get("/queries/exits.rq")
    assert r.status_code == 200 and r.mimetype == "application/sparql-query"
    assert r.get_data(as_text=True) == (FIXTURE / "queries" / "exits.rq").read_text()
    assert "PREFIX dk:" in exits["query"]  # declared for the editor, the file is untouched
    for bad in ("/queries/nope.rq", "/queries/..%2Fconftest.rq", "/queries/.rq"):
        assert client.get(bad).status_code == 404


def test_prefixes_json(client) -> None:
    prefixes = client.get("/prefixes.json").json
    assert prefixes["dk"] == str(DK) and prefixes["div"] == str(DIV)


def test_with_prefixes_adds_only_missing_declarations() -> None:
    text = "# title: x\nPREFIX dk: <https://w3id.org/duikou/ontology#>\n" \
           "SELECT * { ?s a dk:Pairing ; rdfs:label \"a wd:Q1\" ; <http://x/skos:y> ?o }\n"
    out = with_prefixes(text)
    assert out.count("PREFIX dk:") == 1 and "PREFIX rdfs:" in out
    assert "PREFIX wd:" not in out and "PREFIX skos:" not in out
    assert out.startswith("# title: x\nPREFIX rdfs:")
    assert with_prefixes("SELECT * { ?s ?p ?o }") == "SELECT * { ?s ?p ?o }"


def test_queries_folder_is_reread(tmp_path: Path, web_store: Path) -> None:
    folder = tmp_path / "q"
    folder.mkdir()
    c = Client(make_app(web_store, folder))
    assert c.get("/queries.json").json == []
    assert "暂无示例查询" in html(c, "/")
    (folder / "new.rq").write_text("# title: New\n# title@zh: 新\nASK {}\n")
    assert [q["title_zh"] for q in c.get("/queries.json").json] == ["新"]


# --- the pairing network ---------------------------------------------------------------------

def test_network_json_comes_from_the_graph(client) -> None:
    data = client.get("/network.json").json
    pairs = {(p["assistant"].rsplit("/", 1)[1], p["recipient"].rsplit("/", 1)[1], p["start"],
              p["end"]) for p in data["pairings"]}
    assert pairs == {("330200", "522300", "2016", None), ("330100", "522600", "2013", "2016"),
                     ("330500", "522600", "2016", None)}
    assert data["handovers"] == [{
        "later": "https://w3id.org/duikou/id/pairing/330500-522600",
        "earlier": "https://w3id.org/duikou/id/pairing/330100-522600"}]
    assert [(e["county"], e["date"]) for e in data["exits"]] == [(str(DIV["522324"]),
                                                                    "2019-04-24")]
    nodes = {n["iri"]: n for n in data["nodes"]}
    assert nodes[str(DIV["330200"])]["zh"] == "宁波市"
    assert nodes[str(DIV["330200"])]["href"] == "/id/division/330200"
    assert nodes[str(DIV["522324"])]["roles"] == ["exited"]
    assert all(n["lat"] is not None for n in data["nodes"])


def test_network_page(client) -> None:
    page = html(client, "/network")
    assert 'data-src="/network.json"' in page and "/assets/kg/network.js" in page
    assert "Natural Earth" in page


def test_a_new_pairing_appears_after_a_rebuild(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(FIXTURE / "data", data)
    store = build(tmp_path / "store", data)
    c = Client(make_app(store))
    assert len(c.get("/network.json").json["pairings"]) == 3
    assert c.get("/id/pairing/330200-520000").status_code == 404
    (data / "more.ttl").write_text(
        "@prefix dk: <https://w3id.org/duikou/ontology#> .\n"
        "@prefix div: <https://w3id.org/duikou/id/division/> .\n"
        "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
        "<https://w3id.org/duikou/id/pairing/330200-520000> a dk:Pairing ;\n"
        "  dk:assistant div:330200 ; dk:recipient div:520000 ; "
        "dk:startYear \"2021\"^^xsd:gYear .\n")
    build(store, data)
    pairings = c.get("/network.json").json["pairings"]
    assert len(pairings) == 4
    assert {"start": "2021", "recipient": str(DIV["520000"])}.items() <= next(
        p for p in pairings if p["iri"].endswith("330200-520000")).items()
    assert c.get("/id/pairing/330200-520000").status_code == 200


# --- /id/… -----------------------------------------------------------------------------------

def test_division_page(client) -> None:
    page = html(client, "/id/division/522300")
    assert "黔西南布依族苗族自治州" in page and "Qianxinan Buyei and Miao" in page
    assert 'href="/id/division/520000"' in page          # internal IRIs are links here
    assert "贵州省 · Guizhou Province" in page              # labels, not bare IRIs
    assert 'href="/ontology#partOf"' in page
    assert "指向它的陈述" in page and 'href="/id/pairing/330200-522300"' in page
    assert "推理 inferred" in page                          # dk:hasPart, rdf:type inferred
    assert '<link rel="alternate" type="text/turtle" href="/id/division/522300.ttl">' in page


def test_inferred_statements_are_marked(client) -> None:
    page = html(client, "/id/division/330200")
    row = re.search(r"对口帮扶 · assists.*?</tr>", page, re.S)
    assert row and "推理 inferred" in row.group(0) and "/id/division/522300" in row.group(0)
    row = re.search(r"隶属于 · part of.*?</tr>", page, re.S)
    assert row and "推理 inferred" not in row.group(0)


def test_external_iris_are_outbound_links(client) -> None:
    page = html(client, "/id/division/330000")
    assert re.search(r'<a class="external" href="http://www.wikidata.org/entity/Q16967" '
                     r'rel="external noopener noreferrer"', page)


def test_figures_with_unit_approximation_and_quote(client) -> None:
    for path in ("/id/observation/ningbo-funds", "/id/division/522300"):
        page = html(client, path)
        figure = re.search(r'<tr class="figure">.*?</tr>', page, re.S).group(0)
        assert "1,200,000,000" in figure
        assert "元 · yuan (CNY)" in figure and "超过 · more than" in figure
        assert "宁波市累计投入财政帮扶资金超过12亿元" in figure
        assert 'href="/id/doc/article-1"' in figure


def test_data_is_escaped(client) -> None:
    page = html(client, "/id/observation/ningbo-funds")
    assert "<script>alert" not in page and "&lt;script&gt;alert(" in page
    page = html(client, "/id/doc/article-1")
    assert "<b>2020</b>" not in page and "&lt;b&gt;2020&lt;/b&gt;" in page


@pytest.mark.parametrize(("accept", "fmt", "mimetype"), [
    ("text/turtle", "turtle", "text/turtle"),
    ("application/ld+json", "json-ld", "application/ld+json"),
    ("application/n-triples", "nt", "application/n-triples"),
    ("application/rdf+xml", "xml", "application/rdf+xml"),
    ("application/rdf+xml;q=0.5, text/turtle;q=0.9, text/html;q=0.1", "turtle", "text/turtle"),
])
def test_resource_by_accept(client, accept: str, fmt: str, mimetype: str) -> None:
    r = client.get("/id/division/522300", headers={"Accept": accept})
    assert r.status_code == 200 and r.mimetype == mimetype
    assert r.headers["Vary"] == "Accept"
    suffix = {"turtle": "ttl", "json-ld": "jsonld", "nt": "nt", "xml": "rdf"}[fmt]
    assert r.headers["Content-Location"] == f"/id/division/522300.{suffix}"
    assert '<https://w3id.org/duikou/id/division/522300>; rel="canonical"' in r.headers["Link"]
    assert '</id/division/522300.jsonld>; rel="alternate"; type="application/ld+json"' in \
        r.headers["Link"]
    g = Graph().parse(data=r.data, format=fmt)
    assert (DIV["522300"], RDFS.label, Literal("黔西南布依族苗族自治州", lang="zh")) in g
    assert (DIV["520000"], DK.hasPart, DIV["522300"]) in g        # incoming, inferred
    assert (DIV["522300"], DK.partOf, DIV["520000"]) in g
    # the suffix gives the same document, without Vary
    by_suffix = client.get(f"/id/division/522300.{suffix}")
    assert by_suffix.status_code == 200 and by_suffix.data == r.data
    assert "Vary" not in by_suffix.headers


def test_resource_html_by_default_and_by_suffix(client) -> None:
    for headers in ({}, {"Accept": "*/*"}, {"Accept": "text/html"}):
        r = client.get("/id/division/522300", headers=headers)
        assert r.mimetype == "text/html", headers
    assert client.get("/id/division/522300.html").mimetype == "text/html"
    assert client.head("/id/division/522300").status_code == 200


def test_resource_errors(client) -> None:
    assert "404" in html(client, "/id/division/999999", status=404)
    assert client.get("/id/division/999999.ttl").status_code == 404
    r = client.get("/id/division/999999", headers={"Accept": "text/turtle"})
    assert r.status_code == 404 and r.mimetype == "text/plain"
    assert client.get("/id/division/522300",
                      headers={"Accept": "image/png"}).status_code == 406
    for bad in ("/id/../ontology", "/id/division/..%2F..%2Fetc", "/id/%3Cscript%3E",
                "/id/a//b", "/id/division/522300.exe"):
        assert client.get(bad).status_code == 404, bad


# --- /ontology -------------------------------------------------------------------------------

def test_ontology_documentation(client) -> None:
    page = html(client, "/ontology")
    assert 'id="Pairing"' in page and 'id="succeeds"' in page and 'id="CNY"' in page
    term = re.search(r'<div class="term" id="assists">.*?</div>', page, re.S).group(0)
    assert "对口帮扶" in term and "assists" in term
    assert "属性链 Property chain" in term and " ∘ " in term
    term = re.search(r'<div class="term" id="succeeds">.*?</div>', page, re.S).group(0)
    assert "逆属性 Inverse of" in term and 'href="#isSucceededBy"' in term
    assert "接力交接" in term and "A hand-over" in term
    assert 'href="#Pairing"' in term                      # domain and range
    term = re.search(r'<div class="term" id="partOf">.*?</div>', page, re.S).group(0)
    assert "owl:TransitiveProperty" in term
    assert "对口帮扶本体（测试片段）" in page


@pytest.mark.parametrize(("accept", "fmt"), [("text/turtle", "turtle"),
                                             ("application/rdf+xml", "xml"),
                                             ("application/ld+json", "json-ld")])
def test_ontology_by_content_negotiation(client, accept: str, fmt: str) -> None:
    r = client.get("/ontology", headers={"Accept": accept})
    assert r.status_code == 200 and r.headers["Vary"] == "Accept"
    g = Graph().parse(data=r.data, format=fmt)
    expected = Graph().parse(FIXTURE / "ontology" / "web.ttl")
    assert len(g) == len(expected)
    assert (DK.Pairing, RDFS.label, Literal("结对帮扶关系", lang="zh")) in g
    suffix = r.headers["Content-Location"].rsplit(".", 1)[1]
    assert client.get(f"/ontology.{suffix}").data == r.data


# --- /void and /download/ --------------------------------------------------------------------

def test_void_description(client) -> None:
    r = client.get("/void", headers={"Accept": "text/turtle"})
    assert r.status_code == 200
    g = Graph().parse(data=r.data, format="turtle")
    ds = URIRef("https://w3id.org/duikou/void#dataset")
    dcat = Namespace("http://www.w3.org/ns/dcat#")
    dct = Namespace("http://purl.org/dc/terms/")
    assert (ds, RDF.type, VOID.Dataset) in g and (ds, RDF.type, dcat.Dataset) in g
    assert g.value(ds, dct.license) == URIRef("https://creativecommons.org/licenses/by/4.0/")
    assert (ds, dct.source, URIRef("https://w3id.org/duikou/id/doc/article-1")) in g
    assert str(g.value(ds, VOID.sparqlEndpoint)).endswith("/sparql")
    health = client.get("/healthz").json
    counts = {str(s): int(g.value(s, VOID.triples)) for s in g.objects(ds, VOID.subset)
              if (s, RDF.type, VOID.Linkset) not in g}
    assert counts == health["graphs"]
    assert int(g.value(ds, VOID.triples)) == sum(health["graphs"].values())
    parts = {g.value(p, VOID["class"]): int(g.value(p, VOID.entities))
             for p in g.objects(ds, VOID.classPartition)}
    assert parts[DK.Pairing] == 3
    props = {g.value(p, VOID.property) for p in g.objects(ds, VOID.propertyPartition)}
    assert DK.assistant in props and SKOS.exactMatch in props
    linksets = [s for s in g.subjects(RDF.type, VOID.Linkset)]
    assert len(linksets) == 1
    ls = linksets[0]
    assert g.value(ls, VOID.linkPredicate) == SKOS.exactMatch
    assert g.value(ls, VOID.objectsTarget) == URIRef(str(WD))
    assert int(g.value(ls, VOID.triples)) == 2
    dumps = {str(u).rsplit("/", 1)[1] for u in g.objects(ds, VOID.dataDump)}
    assert {"duikou.ttl", "duikou.nt.gz", "duikou.nq", "duikou.trig", "duikou.jsonld"} <= dumps
    page = html(client, "/void")
    assert 'id="graph-data"' in page and "skos:exactMatch" in page


def test_downloads(client) -> None:
    page = html(client, "/download/")
    assert 'href="/download/duikou.nq.gz"' in page
    total = sum(client.get("/healthz").json["graphs"].values())
    r = client.get("/download/duikou.nq")
    assert r.status_code == 200 and r.mimetype == "application/n-quads"
    assert r.headers["Content-Disposition"] == "attachment; filename=duikou.nq"
    ds = Dataset()
    ds.parse(data=r.data, format="nquads")
    assert len({g.identifier for g in ds.graphs()} - {ds.default_graph.identifier}) == 5
    assert sum(1 for _ in ds.quads()) == total
    trig = client.get("/download/duikou.trig")
    d2 = Dataset()
    d2.parse(data=trig.data, format="trig")
    assert sum(1 for _ in d2.quads()) == total
    for name, fmt in (("duikou.ttl", "turtle"), ("duikou.nt", "nt"), ("duikou.jsonld", "json-ld")):
        r = client.get(f"/download/{name}")
        assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
        assert len(Graph().parse(data=r.data, format=fmt)) > 0
    gz = client.get("/download/duikou.nt.gz")
    assert gz.mimetype == "application/gzip"
    assert gz.headers["Content-Disposition"] == "attachment; filename=duikou.nt.gz"
    assert gzip.decompress(gz.data) == client.get("/download/duikou.nt").data
    enc = client.get("/download/duikou.nt", headers={"Accept-Encoding": "gzip, br"})
    assert enc.headers["Content-Encoding"] == "gzip" and enc.mimetype == "application/n-triples"
    assert "Accept-Encoding" in enc.headers["Vary"]
    assert gzip.decompress(enc.data) == client.get("/download/duikou.nt").data
    for bad in ("/download/duikou.exe", "/download/..%2F..%2Fetc%2Fpasswd", "/download/x.gz",
                "/download/.duikou.nt.tmp"):
        assert client.get(bad).status_code == 404, bad


# --- packaging -------------------------------------------------------------------------------

@pytest.mark.slow
def test_wheel_ships_templates_and_static_files(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
         "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    wheel = next(tmp_path.glob("duikou_kg-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("kg/static/vendor/yasgui/yasgui.min.js", "kg/static/vendor/yasgui/LICENSE",
                   "kg/static/vendor/yasgui/VERSION", "kg/static/geo/east-asia-land-50m.geojson",
                   "kg/static/kg/ui.js", "kg/static/kg/network.js", "kg/templates/base.html",
                   "kg/templates/resource.html", "kg/templates/ontology.html"):
        assert needed in names, needed


# --- the repository's own graph ----------------------------------------------------------------

@pytest.mark.slow
def test_pages_over_the_built_graph(built_store: Path) -> None:
    c = Client(make_app(built_store, ROOT / "queries"))
    data = c.get("/network.json").json
    assert data["pairings"], "the built graph has no pairings to draw"
    placed = {n["iri"] for n in data["nodes"] if n["lat"] is not None}
    unplaced = [p["iri"] for p in data["pairings"]
                if p["assistant"] not in placed or p["recipient"] not in placed]
    assert not unplaced, f"pairings with an end that has no coordinates: {unplaced}"
    for node in data["nodes"]:
        assert c.get(node["href"]).status_code == 200, node["href"]
    for p in data["pairings"]:
        assert c.get(p["href"]).status_code == 200, p["href"]
    ontology = Graph().parse(ROOT / "ontology" / "duikou.ttl")
    page = html(c, "/ontology")
    for term in {s for s in ontology.subjects() if str(s).startswith(str(DK))}:
        assert f'id="{str(term)[len(str(DK)):]}"' in page, term
    examples = c.get("/queries.json").json
    assert len(examples) == len(list((ROOT / "queries").glob("*.rq")))
    assert all(q["title"] and q["title_zh"] for q in examples)
    assert c.get("/void.ttl").status_code == 200
