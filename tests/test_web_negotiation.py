"""Content negotiation and the SPARQL text helpers, as pure functions."""

from __future__ import annotations

import doctest

import pytest

import kg.sparqltext
import kg.web.negotiation
from kg.formats import GRAPH_FORMATS, RESULT_FORMATS
from kg.sparqltext import DatasetConflict, add_using, has_dataset_clause, operation
from kg.web.negotiation import NotAcceptable, choose, prefers


@pytest.mark.parametrize("module", [kg.sparqltext, kg.web.negotiation])
def test_doctests(module: object) -> None:
    result = doctest.testmod(module)  # type: ignore[arg-type]
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize(("accept", "asked", "expected"), [
    (None, None, "json"),
    ("", None, "json"),
    ("*/*", None, "json"),
    ("application/sparql-results+xml", None, "xml"),
    ("application/xml", None, "xml"),
    ("application/json", None, "json"),
    ("text/csv;q=0.9, text/tab-separated-values", None, "tsv"),
    ("text/*", None, "csv"),
    ("application/sparql-results+json;q=0, */*;q=0.5", None, "xml"),
    ("image/png", "csv", "csv"),
    ("text/csv", "application/sparql-results+json", "json"),
])
def test_choose_results(accept: str | None, asked: str | None, expected: str) -> None:
    assert choose(RESULT_FORMATS, accept, asked).name == expected


@pytest.mark.parametrize(("accept", "asked", "expected"), [
    (None, None, "turtle"),
    ("application/n-triples", None, "nt"),
    ("application/ld+json;q=0.5, application/rdf+xml;q=0.6", None, "xml"),
    (None, "rdf+xml", "xml"),  # SPARQLWrapper's format= value
    (None, "n3", "turtle"),
    (None, "json-ld", "jsonld"),
])
def test_choose_graphs(accept: str | None, asked: str | None, expected: str) -> None:
    assert choose(GRAPH_FORMATS, accept, asked).name == expected


def test_not_acceptable_lists_the_offer() -> None:
    with pytest.raises(NotAcceptable) as info:
        choose(RESULT_FORMATS, "image/png, text/html;q=0.9")
    assert "text/tab-separated-values" in str(info.value)
    with pytest.raises(NotAcceptable):
        choose(GRAPH_FORMATS, None, "csv")


def test_prefers() -> None:
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    assert prefers(browser, "text/html", "text/turtle")
    assert not prefers("*/*", "text/html", "text/turtle")
    assert not prefers(None, "application/json", "text/plain")


@pytest.mark.parametrize(("text", "expected"), [
    ("SELECT * {}", ("query", "SELECT")),
    ("# comment\nBASE <http://x/> PREFIX a: <http://a/> ask {}", ("query", "ASK")),
    ("PREFIX : <http://a/> CONSTRUCT WHERE { ?s ?p ?o }", ("query", "CONSTRUCT")),
    ("describe <x>", ("query", "DESCRIBE")),
    ("PREFIX insert: <http://a/> DELETE WHERE { ?s ?p ?o }", ("update", "DELETE")),
    ("WITH <g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }", ("update", "WITH")),
    ("CLEAR ALL", ("update", "CLEAR")),
    ("{ nonsense", (None, None)),
    ("", (None, None)),
])
def test_operation(text: str, expected: tuple[str, str]) -> None:
    assert operation(text) == expected


def test_dataset_clause_ignores_strings_iris_and_comments() -> None:
    assert has_dataset_clause("SELECT * FROM NAMED <g> { GRAPH ?g { ?s ?p ?o } }")
    assert not has_dataset_clause('SELECT * { ?s ?p "FROM" } # FROM <g>')
    assert not has_dataset_clause("SELECT * { ?s <http://x/FROM> ?from }")
    assert not has_dataset_clause("PREFIX from: <http://x/> SELECT * { ?s from:x ?o }")


def test_add_using() -> None:
    update = ("PREFIX ex: <http://ex/>\nINSERT { GRAPH <t> { ?s a ex:T } }\n"
              "WHERE { ?s ?p ?o { SELECT ?s WHERE { ?s ?q ?r } } } ;\n"
              "DELETE WHERE { ?a ?b 'WHERE' }")
    out = add_using(update, ["http://g1", "http://g2"], ["http://n"])
    assert out.count("USING <http://g1> USING <http://g2> USING NAMED <http://n> WHERE") == 1
    assert "DELETE WHERE { ?a ?b 'WHERE' }" in out
    assert add_using(update, [], []) == update


@pytest.mark.parametrize("update", [
    "WITH <g> INSERT { ?s ?p ?o } WHERE { ?s ?p ?o }",
    "INSERT { ?s ?p ?o } USING <g> WHERE { ?s ?p ?o }",
])
def test_add_using_conflict(update: str) -> None:
    with pytest.raises(DatasetConflict):
        add_using(update, ["http://g"], [])
