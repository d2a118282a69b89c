"""OWL 2 RL reasoning: what the ontology implies, as a graph of its own.

Reasoners sit behind a small registry (:data:`REASONERS`), as in py-brickschema: an unknown
name raises, and each reasoner takes the asserted quads (a pyoxigraph store) and returns
only the *new, meaningful* triples, as pyoxigraph triples — the statements a user would want
to query — never owlrl's noise (reflexive ``owl:sameAs``, triples about RDF/RDFS/OWL's own
vocabulary, literal subjects, blank-node predicates, trivial schema axioms).

- ``owlrl``: the reference, owlrl's OWL 2 RL closure over the whole graph. Complete but slow
  (about a thousand input triples per CPU-second: ~100 s for LUBM(1)).
- ``fast`` (the default): the same closure, split where each part is cheap. The schema
  (TBox) is closed by owlrl — it is small, and owlrl has the schema rules (``scm-*``). That
  closed schema is compiled into lookup tables (superclasses, superproperties, domains,
  ranges, inverses, property kinds, restrictions, intersections, chains, keys) and the OWL 2
  RL instance rules run over the data in :mod:`kg.instance_rules`, in Python over pyoxigraph
  terms, with a work list (each new triple is joined once against everything known). Should
  the data imply new schema statements (e.g. through ``owl:sameAs`` between classes), the
  schema is closed again with them and the instance rules rerun. Measured on LUBM(1)
  (100,836 triples, ``bench/reasoning.py``): 1.5 s against owlrl's 78.6 s, the same 49,745
  triples; the ``reasonable``-based engine it replaced took 8.7 s, most of it converting
  Rust terms to rdflib and filtering them in Python, which working on pyoxigraph terms end
  to end avoids. LUBM(10) (1.27M triples) takes ~14 s and 1.2 GB. ``tests/test_reasoning.py``
  checks it yields exactly what ``owlrl`` yields on our data, a foreign test ontology,
  rule-by-rule cases and LUBM data.
- ``none``: nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

import pyoxigraph as ox
from rdflib import Graph
from rdflib.namespace import OWL, RDF, RDFS, XSD

from kg.instance_rules import Fact, Saturation, Schema, Term
from kg.terms import graph_to_quads, to_oxigraph, to_rdflib

log = logging.getLogger(__name__)

Reasoner = Callable[[ox.Store], list[ox.Triple]]
"""A reasoner: from the asserted quads to the new, meaningful triples, each once and none
asserted in any graph (the build counts the inferred graph by this list)."""


def _ox(*terms: object) -> frozenset[ox.NamedNode]:
    return frozenset(ox.NamedNode(str(t)) for t in terms)


_BUILTIN_NAMESPACES = (str(RDF), str(RDFS), str(OWL), str(XSD))
_TYPE = ox.NamedNode(str(RDF.type))
_TRIVIAL_TYPES = _ox(OWL.Thing, RDFS.Resource, OWL.NamedIndividual)
_TOP_CLASSES = _ox(OWL.Thing, RDFS.Resource, RDFS.Literal)
_TOP_AXIOM_PROPERTIES = _ox(RDFS.subClassOf, OWL.equivalentClass, RDFS.domain, RDFS.range)
_REFLEXIVE_NOISE = _ox(OWL.sameAs, RDFS.subClassOf, RDFS.subPropertyOf, OWL.equivalentClass,
                       OWL.equivalentProperty)
_DATATYPE_CLASSES = _ox(RDFS.Literal, RDF.PlainLiteral, RDF.langString)
SCHEMA_PROPERTIES = frozenset({
    RDFS.subClassOf, RDFS.subPropertyOf, RDFS.domain, RDFS.range, OWL.equivalentClass,
    OWL.equivalentProperty, OWL.inverseOf, OWL.propertyChainAxiom, OWL.onProperty,
    OWL.someValuesFrom, OWL.allValuesFrom, OWL.hasValue, OWL.intersectionOf, OWL.unionOf,
    OWL.complementOf, OWL.oneOf, OWL.disjointWith, OWL.hasKey, RDF.first, RDF.rest,
    OWL.maxCardinality, OWL.maxQualifiedCardinality, OWL.onClass, OWL.onDataRange,
    OWL.propertyDisjointWith, OWL.members, OWL.distinctMembers, OWL.disjointUnionOf,
    OWL.onDatatype, OWL.withRestrictions, OWL.sourceIndividual, OWL.assertionProperty,
    OWL.targetIndividual, OWL.targetValue,
})
"""Predicates of schema (TBox) statements: what the ``fast`` reasoner closes with owlrl."""
_SCHEMA_PREDICATES = _ox(*SCHEMA_PROPERTIES)
_PROPERTY_KINDS = _ox(OWL.FunctionalProperty, OWL.InverseFunctionalProperty,
                      OWL.SymmetricProperty, OWL.TransitiveProperty)
"""Classes whose new members change what the instance rules do."""


class _Vocabulary:
    """Remembers, per term, whether it is an IRI of RDF, RDFS, OWL or XSD."""

    def __init__(self) -> None:
        self._builtin: dict[Term, bool] = {}

    def builtin(self, term: Term) -> bool:
        known = self._builtin.get(term)
        if known is None:
            known = self._builtin[term] = (isinstance(term, ox.NamedNode)
                                           and term.value.startswith(_BUILTIN_NAMESPACES))
        return known

    def meaningful(self, s: Term, p: Term, o: Term) -> bool:
        """See :func:`is_meaningful`."""
        return bool(self.keep([(s, p, o)]))

    def keep(self, facts: Iterable[Fact]) -> list[ox.Triple]:
        """The meaningful ``facts`` (see :func:`is_meaningful`) as pyoxigraph triples."""
        builtin = self.builtin
        literal, iri = ox.Literal, ox.NamedNode
        kept = []
        for s, p, o in facts:
            if isinstance(s, literal) or not isinstance(p, iri) or builtin(s):
                continue
            if p == _TYPE:
                if o in _TRIVIAL_TYPES or (builtin(o) and _is_datatype(o)):
                    continue
            elif (s == o and p in _REFLEXIVE_NOISE) or (
                    p in _TOP_AXIOM_PROPERTIES and o in _TOP_CLASSES):
                continue
            kept.append(ox.Triple(s, p, o))
        return kept

    def schema(self, s: Term, p: Term, o: Term) -> bool:
        """Whether a triple is a schema statement: a schema predicate, or ``rdf:type`` of a
        class of RDF, RDFS or OWL."""
        return p in _SCHEMA_PREDICATES or (p == _TYPE and self.builtin(o))


def _is_datatype(term: Term) -> bool:
    return term in _DATATYPE_CLASSES or (isinstance(term, ox.NamedNode)
                                         and term.value.startswith(str(XSD)))


def is_builtin(term: object) -> bool:
    """True for IRIs of RDF, RDFS, OWL and XSD themselves (rdflib or pyoxigraph terms)."""
    return _Vocabulary().builtin(_as_ox(term))


def _as_ox(term: object) -> Term:
    if isinstance(term, ox.NamedNode | ox.BlankNode | ox.Literal):
        return term
    return to_oxigraph(term)  # type: ignore[arg-type]


def is_meaningful(s: object, p: object, o: object) -> bool:
    """Whether an inferred triple says something about the user's own terms or data.

    Dropped: literal subjects (pyoxigraph refuses them anyway), predicates that are not IRIs
    (owlrl's generalized triples), statements whose subject is a term of RDF/RDFS/OWL/XSD
    (axiomatic triples), ``x owl:sameAs x`` and other reflexive schema axioms, memberships
    of ``owl:Thing``/``rdfs:Resource`` and of datatypes, and subclass, domain or range axioms
    pointing at ``owl:Thing``/``rdfs:Resource``/``rdfs:Literal``. Takes rdflib or pyoxigraph
    terms.
    """
    return _Vocabulary().meaningful(_as_ox(s), _as_ox(p), _as_ox(o))


def _asserted_facts(db: ox.Store) -> tuple[list[Fact], dict[Term, Term]]:
    """Every asserted triple of ``db`` (all graphs, duplicates kept) with interned terms, and
    the interning table."""
    terms: dict[Term, Term] = {}
    intern = terms.setdefault
    facts = [(intern(s, s), intern(p, p), intern(o, o)) for s, p, o, _ in db]
    return facts, terms


def _owlrl_expand(graph: Graph) -> None:
    import owlrl  # imported lazily: slow to import and only needed at build time

    owlrl.DeductiveClosure(
        owlrl.OWLRL_Semantics, axiomatic_triples=False, datatype_axioms=False
    ).expand(graph)


def _to_rdflib_graph(facts: Iterable[Fact]) -> Graph:
    g = Graph()
    for s, p, o in facts:
        g.add((to_rdflib(s), to_rdflib(p), to_rdflib(o)))
    return g


def owlrl_closure(db: ox.Store) -> list[ox.Triple]:
    """The OWL 2 RL closure by owlrl (the reference reasoner), new meaningful triples only."""
    asserted, terms = _asserted_facts(db)
    known = set(asserted)
    work = _to_rdflib_graph(known)
    _owlrl_expand(work)
    new = {tuple(terms.get(t, t) for t in map(to_oxigraph, triple)) for triple in work}
    inferred = _Vocabulary().keep(new - known)  # type: ignore[operator]
    log.debug("owlrl: %d input, %d closed, %d kept", len(known), len(work), len(inferred))
    return inferred


def fast_closure(db: ox.Store) -> list[ox.Triple]:
    """OWL 2 RL closure equal to owlrl's: owlrl on the schema, the compiled instance rules of
    :mod:`kg.instance_rules` on everything; new meaningful triples only."""
    asserted, terms = _asserted_facts(db)
    vocabulary = _Vocabulary()
    schema_facts = {f for f in asserted if vocabulary.schema(*f)}
    rounds = 0
    while True:
        rounds += 1
        closed = _to_rdflib_graph(schema_facts)
        _owlrl_expand(closed)
        closed_facts = [
            (terms.setdefault(s, s), terms.setdefault(p, p), terms.setdefault(o, o))
            for s, p, o in (tuple(map(to_oxigraph, t)) for t in closed)
        ]
        engine = Saturation(Schema.compile(closed_facts))
        engine.add_initial(asserted)
        from_schema = engine.add_initial(closed_facts)
        engine.type_literals()
        engine.run()
        new_schema = {f for f in engine.derived if f[1] in _SCHEMA_PREDICATES
                      or (f[2] in _PROPERTY_KINDS and f[1] == _TYPE)}
        if not new_schema or new_schema <= schema_facts:
            break
        log.debug("fast: the data imply %d schema statements; closing again", len(new_schema))
        schema_facts |= new_schema
    inferred = vocabulary.keep(from_schema) + vocabulary.keep(engine.derived)
    log.debug("fast: %d schema triples closed to %d, %d rounds, %d derived, %d kept",
              len(schema_facts), len(closed_facts), rounds, len(engine.derived), len(inferred))
    return inferred


def no_reasoning(db: ox.Store) -> list[ox.Triple]:
    """No reasoning: the inferred graph stays empty."""
    return []


REASONERS: dict[str, Reasoner] = {
    "owlrl": owlrl_closure,
    "fast": fast_closure,
    "none": no_reasoning,
}
"""Reasoner name → function from the asserted quads to the inferred triples."""


def get_reasoner(name: str) -> Reasoner:
    """The reasoner registered as ``name``; raises ``ValueError`` listing the known ones."""
    try:
        return REASONERS[name]
    except KeyError:
        known = ", ".join(sorted(REASONERS))
        raise ValueError(f"unknown reasoner {name!r}; known: {known}") from None


def infer(graph: Graph, reasoner: str = "owlrl") -> Graph:
    """The new, meaningful triples that ``reasoner`` derives from an rdflib ``graph``, as an
    rdflib graph."""
    db = ox.Store()
    db.bulk_extend(graph_to_quads(graph))
    return _to_rdflib_graph(get_reasoner(reasoner)(db))
