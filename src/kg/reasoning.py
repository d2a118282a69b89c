"""OWL 2 RL reasoning: what the ontology implies, as a graph of its own.

Reasoners sit behind a small registry (:data:`REASONERS`), as in py-brickschema: an unknown
name raises, and each reasoner takes the asserted quads (a pyoxigraph store) and returns
only the *new, meaningful* triples — the statements a user would want to query — never
owlrl's noise (reflexive ``owl:sameAs``, triples about RDF/RDFS/OWL's own vocabulary,
literal subjects, trivial schema axioms).

- ``owlrl``: the reference, owlrl's OWL 2 RL closure over the whole graph. Complete but slow
  (about a thousand input triples per CPU-second).
- ``fast``: the same closure, split where each engine is right. The schema (TBox) is closed by
  owlrl — it is small, and owlrl has the schema rules (``scm-*``) that ``reasonable`` lacks;
  the instance rules run in ``reasonable`` (Rust) over the data plus that closed schema; and
  property chains (``prp-spo2``), which ``reasonable`` does not apply, are joined here and fed
  back until nothing new appears. ``tests/test_reasoning.py`` checks it yields exactly what
  ``owlrl`` yields on our data, the foreign test ontology and LUBM data.
- ``none``: nothing.
"""

from __future__ import annotations

import logging
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, XSD
from rdflib.term import Node

from kg.terms import XSD_STRING, graph_to_quads, quads_to_graph, to_oxigraph

log = logging.getLogger(__name__)

Reasoner = Callable[[ox.Store], Graph]
"""A reasoner: from the asserted quads to the new, meaningful triples."""

Triple = tuple[Node, Node, Node]

_BUILTIN_NAMESPACES = (str(RDF), str(RDFS), str(OWL), str(XSD))
_TRIVIAL_TYPES = {OWL.Thing, RDFS.Resource, OWL.NamedIndividual}
_TOP_CLASSES = {OWL.Thing, RDFS.Resource, RDFS.Literal}
_TOP_AXIOM_PROPERTIES = {RDFS.subClassOf, OWL.equivalentClass, RDFS.domain, RDFS.range}
_REFLEXIVE_NOISE = {
    OWL.sameAs,
    RDFS.subClassOf,
    RDFS.subPropertyOf,
    OWL.equivalentClass,
    OWL.equivalentProperty,
}
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


def is_builtin(term: object) -> bool:
    """True for IRIs of RDF, RDFS, OWL and XSD themselves."""
    return isinstance(term, URIRef) and str(term).startswith(_BUILTIN_NAMESPACES)


def is_meaningful(s: object, p: object, o: object) -> bool:
    """Whether an inferred triple says something about the user's own terms or data.

    Dropped: literal subjects (pyoxigraph refuses them anyway), statements whose subject is
    a term of RDF/RDFS/OWL/XSD (axiomatic triples), ``x owl:sameAs x`` and other reflexive
    schema axioms, memberships of ``owl:Thing``/``rdfs:Resource`` and of datatypes, and
    subclass, domain or range axioms pointing at ``owl:Thing``/``rdfs:Resource``/
    ``rdfs:Literal``.
    """
    if isinstance(s, Literal) or isinstance(p, Literal):
        return False
    if is_builtin(s):
        return False
    if s == o and p in _REFLEXIVE_NOISE:
        return False
    if p == RDF.type and (o in _TRIVIAL_TYPES or (is_builtin(o) and _is_datatype(o))):
        return False
    return not (p in _TOP_AXIOM_PROPERTIES and o in _TOP_CLASSES)


def _is_datatype(term: object) -> bool:
    return isinstance(term, URIRef) and (
        str(term).startswith(str(XSD)) or term in (RDFS.Literal, RDF.PlainLiteral, RDF.langString)
    )


def _plain(o: Node) -> Node:
    """``"x"^^xsd:string`` as the plain literal ``"x"``, the form rdflib and we use."""
    if isinstance(o, Literal) and o.datatype is not None and str(o.datatype) == XSD_STRING:
        return Literal(str(o))
    return o


def _new_meaningful(closure: Iterable[Triple], asserted: Graph) -> Graph:
    """The meaningful triples of ``closure`` that ``asserted`` does not hold."""
    inferred = Graph()
    for s, p, o in closure:
        o = _plain(o)
        if (s, p, o) not in asserted and is_meaningful(s, p, o):
            inferred.add((s, p, o))
    return inferred


def _owlrl_expand(graph: Graph) -> None:
    import owlrl  # imported lazily: slow to import and only needed at build time

    owlrl.DeductiveClosure(
        owlrl.OWLRL_Semantics, axiomatic_triples=False, datatype_axioms=False
    ).expand(graph)


def owlrl_closure(db: ox.Store) -> Graph:
    """The OWL 2 RL closure by owlrl (the reference reasoner), new meaningful triples only."""
    asserted = quads_to_graph(db)
    work = Graph()
    for triple in asserted:
        work.add(triple)
    _owlrl_expand(work)
    inferred = _new_meaningful(work, asserted)
    log.debug("owlrl: %d input, %d closed, %d kept", len(asserted), len(work), len(inferred))
    return inferred


def _schema_quads(db: ox.Store) -> Iterable[ox.Quad]:
    """The schema (TBox) statements of ``db``: those with a schema predicate, and
    ``rdf:type`` statements whose class is a term of RDF, RDFS or OWL."""
    for p in SCHEMA_PROPERTIES:
        yield from db.quads_for_pattern(None, ox.NamedNode(str(p)), None, None)
    for q in db.quads_for_pattern(None, ox.NamedNode(str(RDF.type)), None, None):
        if isinstance(q.object, ox.NamedNode) and q.object.value.startswith(_BUILTIN_NAMESPACES):
            yield q


def _chains(schema: Graph) -> list[tuple[URIRef, list[Node]]]:
    """Every ``p owl:propertyChainAxiom (p1 … pn)`` of the schema."""
    return [
        (p, list(Collection(schema, head)))
        for p, head in schema.subject_objects(OWL.propertyChainAxiom)
        if isinstance(p, URIRef)
    ]


def _join_chain(index: dict[Node, dict[Node, set[Node]]], steps: list[Node]) -> set[tuple]:
    """Pairs (x, y) linked by the chain of properties ``steps`` in ``index``."""
    first = index.get(steps[0], {})
    pairs = {(x, y) for x, ys in first.items() for y in ys}
    for step in steps[1:]:
        hop = index.get(step, {})
        pairs = {(x, z) for x, y in pairs for z in hop.get(y, ())}
        if not pairs:
            break
    return pairs


def fast_closure(db: ox.Store) -> Graph:
    """OWL 2 RL closure equal to owlrl's: owlrl on the schema, reasonable on the instances,
    property chains joined here; new meaningful triples only."""
    import reasonable  # imported lazily: an engine only this reasoner needs

    schema = quads_to_graph(_schema_quads(db))
    closed_schema = Graph()
    for triple in schema:
        closed_schema.add(triple)
    _owlrl_expand(closed_schema)
    chains = _chains(closed_schema)

    engine = reasonable.PyReasoner()
    with tempfile.TemporaryDirectory(prefix="kg-reason-") as tmp:
        # reasonable reads Turtle files; N-Triples is Turtle.
        path = Path(tmp) / "asserted.ttl"
        ox.serialize((ox.Triple(q.subject, q.predicate, q.object) for q in db), str(path),
                     format=ox.RdfFormat.N_TRIPLES)
        engine.load_file(str(path))
    engine.from_graph(closed_schema)
    closure = engine.reason()
    rounds = 1
    while chains:
        index: dict[Node, dict[Node, set[Node]]] = defaultdict(lambda: defaultdict(set))
        wanted = {step for _, steps in chains for step in steps}
        known = set()
        for s, p, o in closure:
            if p in wanted:
                index[p][s].add(_plain(o))
            known.add((s, p, _plain(o)))
        extra = Graph()
        for p, steps in chains:
            for x, y in _join_chain(index, steps):
                if (x, p, y) not in known:
                    extra.add((x, p, y))
        if not extra:
            break
        engine.from_graph(extra)
        closure = engine.reason()
        rounds += 1
    inferred = Graph()
    for s, p, o in closure:
        o = _plain(o)
        if is_meaningful(s, p, o) and not _asserted(db, s, p, o):
            inferred.add((s, p, o))
    for triple in closed_schema:
        if is_meaningful(*triple) and not _asserted(db, *triple):
            inferred.add(triple)
    log.debug("fast: %d schema triples closed to %d, %d rounds, %d kept",
              len(schema), len(closed_schema), rounds, len(inferred))
    return inferred


def _asserted(db: ox.Store, s: Node, p: Node, o: Node) -> bool:
    """Whether ``db`` holds the rdflib triple (s, p, o) in any graph."""
    if isinstance(s, Literal):
        return False
    pattern = (to_oxigraph(s), to_oxigraph(p), to_oxigraph(o), None)
    return next(iter(db.quads_for_pattern(*pattern)), None) is not None


def no_reasoning(db: ox.Store) -> Graph:
    """No reasoning: the inferred graph stays empty."""
    return Graph()


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
    """The new, meaningful triples that ``reasoner`` derives from an rdflib ``graph``."""
    db = ox.Store()
    db.bulk_extend(graph_to_quads(graph))
    return get_reasoner(reasoner)(db)

