"""Hostile data: what ``kg build`` does with malicious input, and how the pages show it.

Malformed terms — language tags that are not BCP 47, IRIs with spaces or markup — are
refused by the parser with ``file:line:col`` and exit status 2, before anything is
written. Well-formed but malicious content — script tags in labels, attribute-breaking
quotes, a 1 MB literal, a ``javascript:`` IRI, control characters — is stored exactly and
rendered escaped: the ``/id/`` pages (Jinja autoescaping) carry the Content-Security-Policy
that forbids inline script, RDF representations and SPARQL results round-trip it byte for
byte, and a ``javascript:`` IRI never becomes a link.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef

from conftest import ROOT, run_kg
from kg.config import Settings
from kg.web import create_app

ONTOLOGY = ROOT / "tests" / "fixtures" / "endpoint" / "ontology"
ID = "https://w3id.org/duikou/id/"
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
QUOTE = "https://w3id.org/duikou/ontology#quote"
SCRIPT = "<script>alert(1)</script>"
BREAKOUT = '"><img src=x onerror=alert(1)>'
HUGE = "长" * 350_000  # 1.05 MB in UTF-8
CONTROL = "a\u202eb\u0007c\u0000d"  # right-to-left override, bell, NUL


def build(tmp: Path, name: str, text: str, *extra: str):
    data = tmp / "data"
    data.mkdir(exist_ok=True)
    (data / name).write_text(text, encoding="utf-8")
    return run_kg("build", "--ontology", str(ONTOLOGY), "--data", str(data), "--store",
                  str(tmp / "store"), "--quiet", "--reasoner", "none", *extra)


def one_error_line(result) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [x for x in result.stderr.splitlines() if x.startswith("error:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


# --- refused: malformed terms --------------------------------------------------------------

@pytest.mark.parametrize(("triple", "column"), [
    ('<http://e/a> <http://e/b> "x"@not_a_tag! .', 34),
    ('<http://e/a> <http://e/b> "x"@en- .', 33),
    ('<http://e/a> <http://e/b> "x"@abcdefghijklmnop .', 31),
    ('<http://e/a> <http://e/b> "x"@123 .', 31),
    ('<http://e/a b> <http://e/b> "x" .', 1),
    ('<http://e/<script>> <http://e/b> "x" .', 1),
    ('<http://e/a"onmouseover="alert(1)> <http://e/b> "x" .', 1),
])
def test_malformed_terms_are_refused_with_file_line_column(tmp_path: Path, triple: str,
                                                           column: int) -> None:
    text = f'<http://e/ok> <http://e/b> "fine" .\n{triple}\n'
    line = one_error_line(build(tmp_path, "hostile.ttl", text))
    assert f"hostile.ttl:2:{column}: syntax error" in line
    assert not (tmp_path / "store").exists()  # nothing published


def test_malformed_terms_in_rdfxml_are_refused(tmp_path: Path) -> None:
    text = """<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#">
  <rdf:Description rdf:about="http://e/a"><rdfs:label xml:lang="not a tag!">x</rdfs:label>
  </rdf:Description>
</rdf:RDF>
"""
    line = one_error_line(build(tmp_path, "hostile.rdf", text))
    assert "hostile.rdf" in line and "language tag 'not a tag!'" in line


def test_jsonld_drops_invalid_terms_as_its_spec_says(tmp_path: Path) -> None:
    """JSON-LD 1.1 ignores an invalid IRI or language tag; a file of nothing else is
    refused as empty, and valid triples beside them are kept."""
    bad = {"@id": "http://e/a b", LABEL: {"@value": "x", "@language": "not a tag!"}}
    line = one_error_line(build(tmp_path, "hostile.jsonld", json.dumps(bad)))
    assert "hostile.jsonld" in line and "holds no triples" in line
    good = [bad, {"@id": ID + "ok", LABEL: "fine"}]
    assert build(tmp_path, "hostile.jsonld", json.dumps(good)).returncode == 0
    result = run_kg("query", "SELECT (COUNT(*) AS ?n) { GRAPH <https://w3id.org/duikou/graph/"
                    "data> { ?s ?p ?o } }", "--store", str(tmp_path / "store"), "-f", "csv")
    assert result.stdout.split()[1] == "1"


# --- stored and rendered safely ------------------------------------------------------------

def turtle_literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\u0000", "\\u0000") \
        .replace("\n", "\\n") + '"'


HOSTILE_TTL = f"""
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix dk: <https://w3id.org/duikou/ontology#> .
<{ID}hostile/script> rdfs:label {turtle_literal(SCRIPT)}@zh , {turtle_literal(BREAKOUT)}@en ;
    dk:quote {turtle_literal("引文 " + SCRIPT + " </td></tr></table>")} ;
    rdfs:seeAlso <javascript:alert(1)> , <data:text/html,%3Cscript%3Ealert(1)%3C/script%3E> ;
    rdfs:comment {turtle_literal(CONTROL)} .
<{ID}hostile/huge> rdfs:label "huge" ; dk:quote {turtle_literal(HUGE)} .
<{ID}hostile/points-here> rdfs:seeAlso <{ID}hostile/script> ;
    rdfs:label {turtle_literal("</title><script>alert(2)</script>")} .
"""


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("hostile")
    result = build(tmp, "hostile.ttl", HOSTILE_TTL)
    assert result.returncode == 0, result.stderr
    return tmp / "store"


@pytest.fixture(scope="module")
def client(hostile_store: Path):
    app = create_app(Settings(store=hostile_store))
    app.config["TESTING"] = True
    return app.test_client()


def page(client, path: str) -> str:
    r = client.get(path, headers={"Accept": "text/html"})
    assert r.status_code == 200, r.data[:300]
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("style-src")[0]
    assert "object-src 'none'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    return r.get_data(as_text=True)


def test_pages_escape_script_and_attribute_breakouts(client) -> None:
    html = page(client, "/id/hostile/script")
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "</td></tr></table>" not in html.split("引文")[1][:200]
    assert not re.search(r"""<a\s[^>]*href=["']?\s*(javascript|data):""", html, re.I)
    assert "javascript:alert(1)" in html  # shown as text, not as a link
    # every <script> on the page is an external file of ours
    assert all('src="/assets/' in tag for tag in re.findall(r"<script[^>]*>", html))
    incoming = page(client, "/id/hostile/points-here")
    assert "</title><script>" not in incoming and "&lt;/title&gt;&lt;script&gt;" in incoming


def test_control_characters_are_kept_exactly(client) -> None:
    """Control and bidi characters are text: escaped like any other, kept byte for byte in
    RDF (an HTML parser shows a NUL as U+FFFD; it cannot open markup)."""
    html = page(client, "/id/hostile/script")
    assert "a\u202eb\u0007c" in html
    r = client.get("/id/hostile/script.nt")
    assert r.status_code == 200
    g = Graph().parse(data=r.data, format="nt")
    comments = {str(o) for o in g.objects(URIRef(ID + "hostile/script"),
                                          URIRef("http://www.w3.org/2000/01/rdf-schema#comment"))}
    assert comments == {CONTROL}


def test_huge_literal_is_stored_and_served_whole(client) -> None:
    html = page(client, "/id/hostile/huge")
    assert HUGE in html
    r = client.get("/id/hostile/huge.ttl")
    g = Graph().parse(data=r.data, format="turtle")
    assert Literal(HUGE) in set(g.objects(URIRef(ID + "hostile/huge"), URIRef(QUOTE)))


def test_rdf_and_sparql_results_round_trip_the_exact_text(client) -> None:
    r = client.get("/id/hostile/script", headers={"Accept": "application/ld+json"})
    g = Graph().parse(data=r.data, format="json-ld")
    labels = {str(o) for o in g.objects(URIRef(ID + "hostile/script"), URIRef(LABEL))}
    assert labels == {SCRIPT, BREAKOUT}
    r = client.get("/sparql", query_string={
        "query": f"SELECT ?l WHERE {{ <{ID}hostile/script> <{LABEL}> ?l }} ORDER BY ?l"})
    assert r.status_code == 200
    values = [b["l"]["value"] for b in r.get_json()["results"]["bindings"]]
    assert sorted(values) == sorted([SCRIPT, BREAKOUT])


def test_query_page_and_other_pages_carry_the_policy(client) -> None:
    for path in ("/", "/void", "/ontology", "/network", "/download/"):
        html = page(client, path)
        assert "<script>alert" not in html
