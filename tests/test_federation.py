"""The SERVICE/LOAD allow-list (kg.federation): every way of writing a target is resolved
before the check, and nothing outside the allow-list gets through. Pure: no connection is
ever made here (the federated query that really runs is in test_importing.py)."""

from __future__ import annotations

import doctest

import pytest

import kg.federation
from kg.errors import KGError
from kg.federation import (
    ForbiddenService,
    check_service_targets,
    find_service_targets,
    parse_allow_list,
)

WDQS = "https://query.wikidata.org/sparql"
LOCAL = "http://127.0.0.1:7878/query"
ALLOW = [WDQS, LOCAL]
EVIL = "http://169.254.169.254/latest/meta-data/"


def refused(query: str, *, base_iri: str | None = None) -> ForbiddenService:
    with pytest.raises(ForbiddenService) as info:
        check_service_targets(query, ALLOW, base_iri=base_iri)
    return info.value


def test_doctests() -> None:
    result = doctest.testmod(kg.federation)
    assert result.attempted > 0 and result.failed == 0


def test_is_a_kg_error_naming_the_target() -> None:
    e = refused(f"SELECT * {{ SERVICE <{EVIL}> {{ ?s ?p ?o }} }}")
    assert isinstance(e, KGError)
    assert e.target == EVIL
    assert EVIL in str(e)


@pytest.mark.parametrize("query", [
    "SELECT * { ?s ?p ?o }",
    f"SELECT * {{ SERVICE <{WDQS}> {{ ?s ?p ?o }} }}",
    "PREFIX wdqs: <https://query.wikidata.org/>\nSELECT * { SERVICE wdqs:sparql { ?s ?p ?o } }",
    "BASE <https://query.wikidata.org/>\nSELECT * { SERVICE <sparql> { ?s ?p ?o } }",
    f"select * {{ service silent <{LOCAL}> {{ ?s ?p ?o }} }}",
    # the word service in strings, comments, IRIs and names is not a SERVICE clause
    'SELECT * { ?s ?p "SERVICE <http://evil/> {}" } # SERVICE <http://evil/>',
    "PREFIX ex: <http://ex/> SELECT ?service { ?service ex:SERVICE <http://ex/service> }",
    "SELECT * { ?s ?p 'load <http://evil/>' }",
    f"SELECT * {{ SERVICE <{WDQS}> {{ ?s ?p ?o }} SERVICE <{LOCAL}> {{ ?s ?p ?o }} }}",
])
def test_allowed(query: str) -> None:
    check_service_targets(query, ALLOW)


def test_nested_service_all_allowed_passes() -> None:
    check_service_targets(
        f"SELECT * {{ SERVICE <{LOCAL}> {{ SERVICE <{WDQS}> {{ ?s ?p ?o }} }} }}", ALLOW)


@pytest.mark.parametrize(("query", "target"), [
    # plain IRI
    (f"SELECT * {{ SERVICE <{EVIL}> {{ ?s ?p ?o }} }}", EVIL),
    # prefixed name
    ("PREFIX m: <http://169.254.169.254/latest/>\nSELECT * { SERVICE m:meta-data { ?s ?p ?o } }",
     "http://169.254.169.254/latest/meta-data"),
    # prefix redefined: the last declaration counts
    ("PREFIX w: <https://query.wikidata.org/>\nPREFIX w: <http://evil.test/>\n"
     "SELECT * { SERVICE w:sparql {} }", "http://evil.test/sparql"),
    # prefixed name with a local-name escape
    ("PREFIX e: <http://evil.test/>\nSELECT * { SERVICE e:a\\/b {} }", "http://evil.test/a/b"),
    # base-relative, and scheme-relative against an allowed base
    ("BASE <https://query.wikidata.org/>\nSELECT * { SERVICE <//evil.test/sparql> {} }",
     "https://evil.test/sparql"),
    ("BASE <http://evil.test/x/>\nSELECT * { SERVICE <sparql> {} }", "http://evil.test/x/sparql"),
    ("BASE <http://evil.test/>\nPREFIX w: <q/>\nSELECT * { SERVICE w:sparql {} }",
     "http://evil.test/q/sparql"),
    # comments and line breaks between the keyword and the target
    ("SELECT * { SERVICE # a comment\n\n  SILENT # another\n <http://evil.test/> { } }",
     "http://evil.test/"),
    ("SELECT * {\r\n\tSERVICE\r\n<http://evil.test/>\r\n{ ?s ?p ?o } }", "http://evil.test/"),
    # upper, lower and mixed case keywords
    ("select * { service <http://evil.test/> { } }", "http://evil.test/"),
    ("SeLeCt * { SeRvIcE SiLeNt <http://evil.test/> { } }", "http://evil.test/"),
    # unicode escapes in the IRI and in the keyword
    ("SELECT * { SERVICE <\\u0068ttp://evil.test/> { } }", "http://evil.test/"),
    ("SELECT * { \\u0053ERVICE <http://evil.test/> { } }", "http://evil.test/"),
    ("SELECT * { SERVICE <http://evil\\U0000002Etest/> { } }", "http://evil.test/"),
    # nested: the outer one allowed, the inner one not (and the other way round)
    (f"SELECT * {{ SERVICE <{WDQS}> {{ SERVICE <http://evil.test/> {{ ?s ?p ?o }} }} }}",
     "http://evil.test/"),
    (f"SELECT * {{ SERVICE <http://evil.test/> {{ SERVICE <{WDQS}> {{ ?s ?p ?o }} }} }}",
     "http://evil.test/"),
    # hidden in every kind of group
    ("SELECT * { ?s ?p ?o OPTIONAL { SERVICE <http://evil.test/> {} } }", "http://evil.test/"),
    ("SELECT * { { ?s ?p ?o } UNION { SERVICE <http://evil.test/> {} } }", "http://evil.test/"),
    ("SELECT * { ?s ?p ?o MINUS { SERVICE <http://evil.test/> {} } }", "http://evil.test/"),
    ("SELECT * { ?s ?p ?o FILTER EXISTS { SERVICE <http://evil.test/> {} } }",
     "http://evil.test/"),
    ("SELECT * { ?s ?p ?o FILTER NOT EXISTS { SERVICE <http://evil.test/> {} } }",
     "http://evil.test/"),
    ("SELECT * { { SELECT * { SERVICE <http://evil.test/> {} } } }", "http://evil.test/"),
    ("SELECT * { GRAPH ?g { SERVICE <http://evil.test/> {} } }", "http://evil.test/"),
    ("ASK { SERVICE <http://evil.test/> {} }", "http://evil.test/"),
    ("CONSTRUCT { ?s ?p ?o } WHERE { SERVICE <http://evil.test/> { ?s ?p ?o } }",
     "http://evil.test/"),
    ("DESCRIBE ?s WHERE { SERVICE <http://evil.test/> { ?s ?p ?o } }", "http://evil.test/"),
    # the second of several
    (f"SELECT * {{ SERVICE <{WDQS}> {{}} SERVICE <http://evil.test/> {{}} }}",
     "http://evil.test/"),
    # near misses of an allowed IRI are different IRIs
    ("SELECT * { SERVICE <https://query.wikidata.org/sparql/> {} }",
     "https://query.wikidata.org/sparql/"),
    ("SELECT * { SERVICE <https://query.wikidata.org:443/sparql> {} }",
     "https://query.wikidata.org:443/sparql"),
    ("SELECT * { SERVICE <https://query.wikidata.org@evil.test/sparql> {} }",
     "https://query.wikidata.org@evil.test/sparql"),
    ("SELECT * { SERVICE <http://query.wikidata.org/sparql> {} }",
     "http://query.wikidata.org/sparql"),
    ("SELECT * { SERVICE <file:///etc/passwd> {} }", "file:///etc/passwd"),
])
def test_refused(query: str, target: str) -> None:
    assert refused(query).target == target


@pytest.mark.parametrize("query", [
    "SELECT * { SERVICE ?x { ?s ?p ?o } }",
    "SELECT * { SERVICE SILENT $x { ?s ?p ?o } }",
    f"SELECT * {{ VALUES ?x {{ <{WDQS}> }} SERVICE ?x {{ ?s ?p ?o }} }}",
    f"SELECT * {{ BIND(<{WDQS}> AS ?x) SERVICE ?x {{ }} }}",
])
def test_variable_targets_are_refused(query: str) -> None:
    e = refused(query)
    assert e.target.startswith(("?", "$"))
    assert "variable" in str(e)


def test_base_iri_of_the_request_is_used() -> None:
    query = "SELECT * { SERVICE <sparql> {} }"
    check_service_targets(query, ALLOW, base_iri="https://query.wikidata.org/")
    assert refused(query, base_iri="http://evil.test/").target == "http://evil.test/sparql"


def test_default_prefixes_of_the_engine_are_used() -> None:
    query = "SELECT * { SERVICE x:sparql {} }"
    check_service_targets(query, ALLOW, prefixes={"x": "https://query.wikidata.org/"})
    with pytest.raises(ForbiddenService):
        check_service_targets(query, ALLOW, prefixes={"x": "http://evil.test/"})
    with pytest.raises(ForbiddenService, match="not declared"):
        check_service_targets(query, ALLOW)


@pytest.mark.parametrize(("update", "target"), [
    ("LOAD <http://evil.test/data.ttl>", "http://evil.test/data.ttl"),
    ("load silent <http://evil.test/data.ttl> into graph <urn:g>", "http://evil.test/data.ttl"),
    ("PREFIX e: <http://evil.test/>\nLOAD e:x", "http://evil.test/x"),
    ("BASE <http://evil.test/>\nLOAD <x.ttl>", "http://evil.test/x.ttl"),
    ("LOAD <\\u0068ttp://evil.test/>", "http://evil.test/"),
    (f"INSERT DATA {{ <urn:a> <urn:b> <urn:c> }} ; LOAD <{WDQS}> ; LOAD <file:///etc/passwd>",
     "file:///etc/passwd"),
    ("INSERT { ?s ?p ?o } WHERE { SERVICE <http://evil.test/> { ?s ?p ?o } }",
     "http://evil.test/"),
    ("PREFIX w: <https://query.wikidata.org/> INSERT DATA { <urn:a> <urn:b> <urn:c> } ;\n"
     "PREFIX w: <http://evil.test/> DELETE { ?s ?p ?o } WHERE { SERVICE w:sparql { ?s ?p ?o } }",
     "http://evil.test/sparql"),
])
def test_updates(update: str, target: str) -> None:
    assert refused(update).target == target


def test_allowed_update() -> None:
    check_service_targets(
        f"INSERT {{ ?s ?p ?o }} WHERE {{ SERVICE <{LOCAL}> {{ ?s ?p ?o }} }}", ALLOW)
    check_service_targets("INSERT DATA { <urn:a> <urn:b> 'LOAD <http://evil/>' }", ALLOW)


def test_unparseable_request_with_service_is_judged_by_the_tokenizer() -> None:
    # rdflib cannot parse this (broken syntax after the SERVICE); the target is still read
    assert refused("SELECT * { SERVICE <http://evil.test/> { ?s ?p ?o . ] } }").target == (
        "http://evil.test/")
    # a malformed query without SERVICE is left to the engine to reject
    check_service_targets("SELECT * { ?s ?p ", ALLOW)


def test_unreadable_target_is_refused() -> None:
    with pytest.raises(ForbiddenService):
        check_service_targets("SELECT * { SERVICE ( <http://evil.test/> ) {} }", ALLOW)


def test_find_service_targets_reports_each_target() -> None:
    targets = find_service_targets(
        "PREFIX w: <https://query.wikidata.org/>\nSELECT * { SERVICE w:sparql {} "
        "SERVICE SILENT ?x {} }")
    assert {(t.keyword, t.iri, t.text) for t in targets} >= {
        ("SERVICE", WDQS, "w:sparql"), ("SERVICE", None, "?x")}


def test_empty_allow_list_refuses_every_service() -> None:
    with pytest.raises(ForbiddenService):
        check_service_targets(f"SELECT * {{ SERVICE <{WDQS}> {{}} }}", [])
    check_service_targets("SELECT * { ?s ?p ?o }", [])


@pytest.mark.parametrize(("value", "expected"), [
    (None, [WDQS]),
    ("", []),
    ("  ", []),
    ("none", []),
    (LOCAL, [LOCAL]),
    (f"{LOCAL},{WDQS}", [LOCAL, WDQS]),
    (f" {LOCAL} ,\n {WDQS} {LOCAL}", [LOCAL, WDQS]),
    (f"<{LOCAL}>", [LOCAL]),
])
def test_parse_allow_list(value: str | None, expected: list[str]) -> None:
    assert parse_allow_list(value) == expected


@pytest.mark.parametrize("value", ["query.wikidata.org", "ftp://x/", "sparql", "http://"])
def test_parse_allow_list_rejects_non_iris(value: str) -> None:
    with pytest.raises(ValueError, match="KG_SERVICE_ALLOW"):
        parse_allow_list(value)


def test_requests_without_the_keywords_are_not_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("parsed")

    monkeypatch.setattr(kg.federation, "_rdflib_targets", fail)
    check_service_targets("SELECT * { ?s ?p ?o } LIMIT 10", [])
    with pytest.raises(AssertionError, match="parsed"):
        check_service_targets("SELECT * { SERVICE <http://evil.test/> {} }", [])
