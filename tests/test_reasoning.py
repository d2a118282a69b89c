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


@pytest.fixture(scope="module", params=["owlrl", "fast"])
def inferred(request: pytest.FixtureRequest, university: Graph) -> Graph:
    """What each OWL 2 RL reasoner infers; every expectation below holds for both."""
    return infer(university, request.param)


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
    with pytest.raises(ValueError, match="unknown reasoner 'quick'; known: fast, none, owlrl"):
        get_reasoner("quick")
    assert set(REASONERS) == {"owlrl", "fast", "none"}


# ---- the fast reasoner yields exactly owlrl's closure --------------------------------------

ROOT = Path(__file__).resolve().parent.parent
LUBM = ROOT.parent / "shared" / "bench-data" / "lubm"


def _same_closure(graph: Graph) -> None:
    """``fast`` and ``owlrl`` infer the same triples from the same in-memory graph (so that
    blank-node labels agree)."""
    reference, fast = set(infer(graph, "owlrl")), set(infer(graph, "fast"))
    assert reference, "the reference inferred nothing: the comparison would be empty"
    assert fast - reference == set(), "fast infers what owlrl does not"
    assert reference - fast == set(), "fast misses what owlrl infers"


def test_fast_equals_owlrl_on_the_university(university: Graph) -> None:
    _same_closure(university)


def test_fast_equals_owlrl_on_our_data() -> None:
    import pyoxigraph as ox

    from kg.loading import load_into
    from kg.terms import quads_to_graph

    db = ox.Store()
    load_into(db, [ROOT / "ontology"], [ROOT / "data"])
    _same_closure(quads_to_graph(db))


def test_fast_equals_owlrl_on_lubm_sample() -> None:
    """The LUBM ontology with the first 8,000 triples of LUBM(1): owlrl needs ~10 s for it.
    (The whole of LUBM(1) is compared in ``bench/reasoning.py``.)"""
    import gzip

    ontology = LUBM / "univ-bench.owl"
    if not ontology.exists():
        pytest.fail(f"LUBM benchmark data not found at {LUBM}")
    g = Graph()
    g.parse(ontology, format="xml")
    with gzip.open(LUBM / "lubm1.nt.gz", "rt", encoding="utf-8") as f:
        lines = [next(f) for _ in range(8000)]
    g.parse(data="".join(lines), format="nt")
    _same_closure(g)
