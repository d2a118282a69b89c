"""OWL 2 RL reasoning is general, not tuned to our ontology: a foreign university
ontology, each expected inference written by hand."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import OWL, RDF, RDFS

from kg.reasoning import REASONERS, get_reasoner, infer, is_meaningful

U = Namespace("http://example.org/univ#")
FIXTURE = Path(__file__).parent / "fixtures" / "university"


@pytest.fixture(scope="module")
def university() -> Graph:
    g = Graph()
    for name in ("university.ttl", "people.ttl"):
        g.parse(FIXTURE / name, format="turtle")
    return g


@pytest.fixture(scope="module")
def inferred(university: Graph) -> Graph:
    return infer(university, "owlrl")


EXPECTED = [
    # subclass chain
    (U.alice, RDF.type, U.Faculty, "rdfs:subClassOf"),
    (U.alice, RDF.type, U.Person, "rdfs:subClassOf, transitively"),
    (U.carol, RDF.type, U.Student, "rdfs:subClassOf"),
    # domain / range
    (U.carol, RDF.type, U.Faculty, "rdfs:domain of :teaches"),
    (U.logic, RDF.type, U.Course, "rdfs:range of :teaches and subclass"),
    # inverse
    (U.logic, U.taughtBy, U.alice, "owl:inverseOf"),
    (U.intro, U.taughtBy, U.carol, "owl:inverseOf"),
    # transitive
    (U.cs, U.subOrganizationOf, U.univ, "owl:TransitiveProperty"),
    # symmetric
    (U.bob, U.colleagueOf, U.alice, "owl:SymmetricProperty"),
    # sub-properties
    (U.alice, U.worksFor, U.cs, "rdfs:subPropertyOf"),
    (U.alice, U.memberOf, U.cs, "rdfs:subPropertyOf, transitively"),
    # someValuesFrom class definition
    (U.alice, RDF.type, U.Chair, "owl:someValuesFrom in an equivalent class"),
    # intersectionOf class definition
    (U.carol, RDF.type, U.TeachingStudent, "owl:intersectionOf"),
    # property chain
    (U.carol, U.affiliatedWith, U.cs, "owl:propertyChainAxiom"),
    # sameAs
    (U.david, OWL.sameAs, U.dave, "owl:sameAs is symmetric"),
    (U.dave, U.takesCourse, U.logic, "owl:sameAs copies statements"),
    (U.david, RDF.type, U.Student, "owl:sameAs copies types"),
]


@pytest.mark.parametrize(("s", "p", "o", "why"), EXPECTED, ids=[e[3] + f" {i}" for i, e in
                                                                 enumerate(EXPECTED)])
def test_expected_inference(inferred: Graph, s: URIRef, p: URIRef, o: URIRef, why: str) -> None:
    assert (s, p, o) in inferred, f"missing inference ({why}): {s} {p} {o}"


def test_not_inferred(inferred: Graph) -> None:
    assert (U.bob, RDF.type, U.Chair) not in inferred
    assert (U.alice, RDF.type, U.TeachingStudent) not in inferred  # not a Student
    assert (U.dave, RDF.type, U.TeachingStudent) not in inferred


def test_only_new_triples(university: Graph, inferred: Graph) -> None:
    assert not any(t in university for t in inferred)


def test_no_noise(inferred: Graph) -> None:
    for s, p, o in inferred:
        assert not isinstance(s, Literal)
        assert not (p == OWL.sameAs and s == o), "reflexive owl:sameAs"
        assert not str(s).startswith(str(OWL)), "axiomatic triple about OWL's own terms"
        assert not str(s).startswith(str(RDF)), "axiomatic triple about RDF's own terms"
        assert o not in (OWL.Thing, RDFS.Resource)


def test_noise_filter_rules() -> None:
    x = URIRef("http://example.org/x")
    assert not is_meaningful(x, OWL.sameAs, x)
    assert not is_meaningful(Literal("1"), RDF.type, RDFS.Literal)
    assert not is_meaningful(OWL.Thing, RDF.type, OWL.Class)
    assert not is_meaningful(x, RDF.type, OWL.Thing)
    assert not is_meaningful(x, RDFS.subClassOf, x)
    assert is_meaningful(x, RDF.type, U.Person)


def test_none_reasoner_adds_nothing(university: Graph) -> None:
    assert len(infer(university, "none")) == 0


def test_unknown_reasoner_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown reasoner 'fast'; known: none, owlrl"):
        get_reasoner("fast")
    assert set(REASONERS) == {"owlrl", "none"}
