"""OWL 2 RL reasoning: what the ontology implies, as a graph of its own.

Reasoners sit behind a small registry (:data:`REASONERS`), as in py-brickschema: an
unknown name raises, and each reasoner returns only the *new, meaningful* triples — the
statements a user would want to query — never owlrl's noise (reflexive ``owl:sameAs``,
triples about RDF/RDFS/OWL's own vocabulary, literal subjects, trivial schema axioms).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD

log = logging.getLogger(__name__)

Reasoner = Callable[[Graph], Graph]

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


def is_builtin(term: object) -> bool:
    """True for IRIs of RDF, RDFS, OWL and XSD themselves."""
    return isinstance(term, URIRef) and str(term).startswith(_BUILTIN_NAMESPACES)


def is_meaningful(s: object, p: object, o: object) -> bool:
    """Whether an inferred triple says something about the user's own terms or data.

    Dropped: literal subjects (pyoxigraph refuses them anyway), statements whose subject is
    a term of RDF/RDFS/OWL/XSD (axiomatic triples), ``x owl:sameAs x`` and other reflexive
    schema axioms, memberships of ``owl:Thing``/``rdfs:Resource``, and subclass, domain or range
    axioms pointing at ``owl:Thing``/``rdfs:Resource``/``rdfs:Literal``.
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


def owlrl_closure(graph: Graph) -> Graph:
    """The OWL 2 RL closure by owlrl (the reference reasoner), new meaningful triples only."""
    import owlrl  # imported lazily: slow to import and only needed at build time

    work = Graph()
    for triple in graph:
        work.add(triple)
    owlrl.DeductiveClosure(
        owlrl.OWLRL_Semantics, axiomatic_triples=False, datatype_axioms=False
    ).expand(work)
    inferred = Graph()
    for s, p, o in work:
        if (s, p, o) not in graph and is_meaningful(s, p, o):
            inferred.add((s, p, o))
    log.debug("owlrl: %d input, %d closed, %d kept", len(graph), len(work), len(inferred))
    return inferred


def no_reasoning(graph: Graph) -> Graph:
    """No reasoning: the inferred graph stays empty."""
    return Graph()


REASONERS: dict[str, Reasoner] = {
    "owlrl": owlrl_closure,
    "none": no_reasoning,
}
"""Reasoner name → function from the asserted union graph to the inferred triples."""


def get_reasoner(name: str) -> Reasoner:
    """The reasoner registered as ``name``; raises ``ValueError`` listing the known ones."""
    try:
        return REASONERS[name]
    except KeyError:
        known = ", ".join(sorted(REASONERS))
        raise ValueError(f"unknown reasoner {name!r}; known: {known}") from None


def infer(graph: Graph, reasoner: str = "owlrl") -> Graph:
    """The new, meaningful triples that ``reasoner`` derives from ``graph``."""
    return get_reasoner(reasoner)(graph)
