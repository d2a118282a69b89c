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


# ---- rule by rule: small graphs for the OWL 2 RL rules the university does not cover ---------

PREFIXES = """
@prefix : <http://example.org/t#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""
T = Namespace("http://example.org/t#")

RULE_CASES = {
    "cls-avf": ("""
        :R owl:onProperty :p ; owl:allValuesFrom :C .
        :x a :R ; :p :y .
        """, [(T.y, RDF.type, T.C)]),
    "cls-hv1 and cls-hv2": ("""
        :R owl:onProperty :p ; owl:hasValue :v .
        :x a :R .
        :z :p :v .
        """, [(T.x, T.p, T.v), (T.z, RDF.type, T.R)]),
    "cls-uni": ("""
        :U owl:unionOf ( :A :B ) .
        :x a :A . :y a :B .
        """, [(T.x, RDF.type, T.U), (T.y, RDF.type, T.U), (T.A, RDFS.subClassOf, T.U)]),
    "prp-fp and eq-rep": ("""
        :p a owl:ObjectProperty , owl:FunctionalProperty .
        :x :p :a , :b .
        :a :q :c .
        :d :r :b .
        """, [(T.a, OWL.sameAs, T.b), (T.b, OWL.sameAs, T.a), (T.b, T.q, T.c),
              (T.d, T.r, T.a)]),
    "prp-ifp": ("""
        :p a owl:InverseFunctionalProperty .
        :a :p :v . :b :p :v .
        """, [(T.a, OWL.sameAs, T.b)]),
    "cls-maxc2": ("""
        :R owl:onProperty :p ; owl:maxCardinality "1"^^xsd:nonNegativeInteger .
        :x a :R ; :p :a , :b .
        """, [(T.a, OWL.sameAs, T.b)]),
    "cls-maxqc3": ("""
        :R owl:onProperty :p ; owl:onClass :C ;
           owl:maxQualifiedCardinality "1"^^xsd:nonNegativeInteger .
        :x a :R ; :p :a , :b , :c .
        :a a :C . :b a :C .
        """, [(T.a, OWL.sameAs, T.b)]),
    "eq-sym, eq-trans, eq-rep-s/p/o": ("""
        :a owl:sameAs :b . :b owl:sameAs :c .
        :a :p :x . :y :p :c .
        :p owl:sameAs :q .
        """, [(T.c, OWL.sameAs, T.a), (T.c, T.p, T.x), (T.y, T.p, T.a), (T.a, T.q, T.x)]),
    "sameAs between classes closes the schema again": ("""
        :A owl:sameAs :B .
        :B rdfs:subClassOf :C .
        :x a :A .
        """, [(T.x, RDF.type, T.B), (T.x, RDF.type, T.C), (T.A, RDFS.subClassOf, T.C)]),
    "data implying a property kind": ("""
        :kind rdfs:range owl:Class .
        :relation rdfs:subPropertyOf rdf:type .
        :p :relation owl:TransitiveProperty .
        :a :p :b . :b :p :c .
        """, [(T.p, RDF.type, OWL.TransitiveProperty), (T.a, T.p, T.c)]),
    "someValuesFrom over an inverse property": ("""
        :R owl:onProperty [ owl:inverseOf :p ] ; owl:someValuesFrom :C .
        :a :p :b . :a a :C .
        """, [(T.b, RDF.type, T.R)]),
    "prp-spo2 with three steps, transitive and sub-properties": ("""
        :q owl:propertyChainAxiom ( :p1 :p2 :p3 ) .
        :sub rdfs:subPropertyOf :p2 .
        :p3 a owl:TransitiveProperty .
        :a :p1 :b . :b :sub :c . :c :p3 :d . :d :p3 :e .
        """, [(T.a, T.q, T.d), (T.a, T.q, T.e)]),
    "cls-svf1 with a datatype, dt-type2": ("""
        :R owl:onProperty :age ; owl:someValuesFrom xsd:decimal .
        :x :age "42"^^xsd:integer .
        """, [(T.x, RDF.type, T.R)]),
    "cls-int1 with three members": ("""
        :I owl:intersectionOf ( :A :B :C ) .
        :B rdfs:subClassOf :C .
        :x a :A , :B .
        """, [(T.x, RDF.type, T.I), (T.x, RDF.type, T.C)]),
    "functional datatype property, two values": ("""
        :p a owl:DatatypeProperty , owl:FunctionalProperty .
        :x :p "1" , "one" .
        :y :q "1" .
        """, [(T.y, T.q, Literal("one"))]),
    "plain and xsd:string literals are one literal": ("""
        :p a owl:FunctionalProperty ; rdfs:subPropertyOf :q .
        :x :p "a" , "a"^^xsd:string .
        """, [(T.x, T.q, Literal("a"))]),
    "cax-eqc both ways, scm-eqc": ("""
        :A owl:equivalentClass :B .
        :x a :A . :y a :B .
        """, [(T.x, RDF.type, T.B), (T.y, RDF.type, T.A), (T.A, RDFS.subClassOf, T.B)]),
    "prp-eqp1/2": ("""
        :p owl:equivalentProperty :q .
        :a :p :b . :c :q :d .
        """, [(T.a, T.q, T.b), (T.c, T.p, T.d)]),
}


def _turtle(text: str) -> Graph:
    return Graph().parse(data=PREFIXES + text, format="turtle")


@pytest.mark.parametrize("case", RULE_CASES, ids=list(RULE_CASES))
def test_rule_case(case: str) -> None:
    text, expected = RULE_CASES[case]
    g = _turtle(text)
    fast = infer(g, "fast")
    for triple in expected:
        assert triple in fast, f"{case}: missing {triple}"
    _same_closure(g)


def test_has_key_follows_the_specification() -> None:
    """prp-key: the same values for *every* key property make two members the same. (owlrl 7
    compares all but the last key property, so it is not the reference here.)"""
    g = _turtle("""
        :C owl:hasKey ( :k1 :k2 ) .
        :a a :C ; :k1 "1" ; :k2 "2" .
        :b a :C ; :k1 "1" ; :k2 "2" .
        :c a :C ; :k1 "1" ; :k2 "3" .
        :d :k1 "1" ; :k2 "2" .
        """)
    fast = infer(g, "fast")
    assert (T.a, OWL.sameAs, T.b) in fast
    assert (T.b, OWL.sameAs, T.a) in fast
    assert not {(T.a, OWL.sameAs, T.c), (T.c, OWL.sameAs, T.a), (T.a, OWL.sameAs, T.d)} & set(fast)


def test_inferred_triples_are_unique_pyoxigraph_triples() -> None:
    """The reasoner protocol: pyoxigraph triples, each once, none asserted."""
    import pyoxigraph as ox

    from kg.terms import graph_to_quads

    db = ox.Store()
    db.bulk_extend(graph_to_quads(_turtle(RULE_CASES["eq-sym, eq-trans, eq-rep-s/p/o"][0])))
    asserted = {q.triple for q in db}
    for name in ("fast", "owlrl"):
        got = get_reasoner(name)(db)
        assert all(isinstance(t, ox.Triple) for t in got)
        assert len(set(got)) == len(got), name
        assert not set(got) & asserted, name
