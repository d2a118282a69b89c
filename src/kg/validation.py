"""SHACL validation of the data with the shapes in ``ontology/shapes.ttl`` (pyshacl)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Graph
from rdflib.namespace import RDF
from rdflib.term import Node

from kg.errors import InputError
from kg.loading import parse_rdf
from kg.namespaces import SH
from kg.terms import to_rdflib

log = logging.getLogger(__name__)

DEFAULT_SHAPES = Path("ontology/shapes.ttl")


@dataclass(frozen=True)
class Violation:
    """One SHACL result: which node, along which path, what is wrong."""

    focus: str
    path: str
    message: str
    severity: str
    value: str = ""

    def __str__(self) -> str:
        value = f" (value: {self.value})" if self.value else ""
        return f"[{self.severity}] {self.focus} {self.path}: {self.message}{value}"


@dataclass
class ValidationReport:
    """The outcome of validating a graph: conforms or not, and every violation."""

    conforms: bool
    violations: list[Violation] = field(default_factory=list)

    def text(self) -> str:
        """A readable report, one violation a line, sorted."""
        if self.conforms:
            return "the data conforms to the shapes"
        lines = [f"{len(self.violations)} violation(s) of the SHACL shapes:"]
        lines += [f"  {v}" for v in sorted(self.violations, key=str)]
        return "\n".join(lines)


def load_shapes(path: Path) -> Graph:
    """The shapes graph from ``path`` (any RDF syntax the loader reads)."""
    if not path.exists():
        raise InputError("shapes file not found", path)
    shapes = Graph()
    for q in parse_rdf(path):
        shapes.add((to_rdflib(q.subject), to_rdflib(q.predicate), to_rdflib(q.object)))
    return shapes


def validate(data: Graph, shapes: Graph, ontology: Graph | None = None) -> ValidationReport:
    """Validate ``data`` against ``shapes``; ``ontology`` supplies class hierarchies.

    RDFS inference is on so that ``sh:targetClass`` reaches instances of subclasses
    (a county-level city is a county) without the shapes naming every subclass.

    Core SHACL runs in pyshacl. SHACL-SPARQL constraints of shapes with their own targets
    run in pyoxigraph instead, each query once over the whole graph rather than once per
    focus node as pyshacl does with rdflib's engine — on our data that was 85 % of the
    validation time (see :func:`split_sparql_constraints`); ``tests/test_data_shapes.py``
    checks both paths report the same focus nodes.
    """
    import pyshacl  # imported lazily: slow to import, only needed at build time

    expanded = _rdfs_expanded(data, ontology)
    core, constraints = split_sparql_constraints(shapes)
    conforms, results, _text = pyshacl.validate(
        expanded,
        shacl_graph=core,
        inference="none",
        abort_on_first=False,
        allow_warnings=True,
        advanced=True,
    )
    violations = [_violation(results, r) for r in results.subjects(RDF.type, SH.ValidationResult)]
    if constraints:
        violations += run_sparql_constraints(constraints, expanded, shapes)
    failing = [v for v in violations if v.severity == "Violation"]
    return ValidationReport(bool(conforms) and not failing, violations)


def _rdfs_expanded(data: Graph, ontology: Graph | None) -> Graph:
    """Data plus ontology with their RDFS entailments, exactly as pyshacl's
    ``inference="rdfs"`` computes them (its own variant of owlrl's RDFS closure, which
    adds no hidden literals), computed once for both validation paths."""
    import owlrl
    from pyshacl.inference import CustomRDFSSemantics

    expanded = Graph()
    for graph in (data, ontology or Graph()):
        for triple in graph:
            expanded.add(triple)
    owlrl.DeductiveClosure(CustomRDFSSemantics).expand(expanded)
    return expanded


@dataclass(frozen=True)
class SparqlConstraint:
    """A SHACL-SPARQL ``sh:select`` constraint of a node shape with its own targets."""

    shape: Node
    query: str
    message: str
    severity: str


_SHAPE_REFERENCES = (SH.node, SH.property, SH.qualifiedValueShape, SH["not"])
_SHAPE_LISTS = (SH["and"], SH["or"], SH.xone)
_TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)


def split_sparql_constraints(shapes: Graph) -> tuple[Graph, list[SparqlConstraint]]:
    """The shapes without the SPARQL constraints this module runs itself, and those.

    Only constraints of node shapes that have their own targets and that no other shape
    refers to are taken (their focus nodes are exactly their targets); everything else
    stays with pyshacl.
    """
    from rdflib.collection import Collection

    referenced = {o for p in _SHAPE_REFERENCES for o in shapes.objects(None, p)}
    for p in _SHAPE_LISTS:
        for head in shapes.objects(None, p):
            referenced.update(Collection(shapes, head))
    core = Graph()
    for triple in shapes:
        core.add(triple)
    for prefix, ns in shapes.namespaces():
        core.bind(prefix, ns)
    taken: list[SparqlConstraint] = []
    for shape, node in shapes.subject_objects(SH.sparql):
        select = shapes.value(node, SH.select)
        if (select is None or shape in referenced or (shape, SH.path, None) in shapes
                or not any((shape, t, None) in shapes for t in _TARGETS)
                or (node, SH.deactivated, None) in shapes):
            continue
        prologue = "".join(
            f"PREFIX {shapes.value(d, SH.prefix)}: <{shapes.value(d, SH.namespace)}>\n"
            for holder in shapes.objects(node, SH.prefixes)
            for d in shapes.objects(holder, SH.declare)
        )
        severity = shapes.value(shape, SH.severity)
        taken.append(SparqlConstraint(
            shape=shape,
            query=prologue + str(select),
            message=str(shapes.value(node, SH.message) or "SPARQL constraint not satisfied"),
            severity=str(severity).rsplit("#", 1)[-1] if severity is not None else "Violation",
        ))
        core.remove((shape, SH.sparql, node))
    return core, taken


def run_sparql_constraints(constraints: list[SparqlConstraint], data: Graph,
                           shapes: Graph) -> list[Violation]:
    """Every violation of ``constraints`` in ``data`` (already RDFS-expanded)."""
    import pyoxigraph as ox
    from rdflib import Literal

    from kg.terms import graph_to_quads, to_rdflib

    db = ox.Store()
    # owlrl's RDFS closure also states things about literals, which RDF cannot hold
    db.bulk_extend(graph_to_quads(t for t in data if not isinstance(t[0], Literal)))
    violations = []
    for c in constraints:
        focus = _focus_nodes(c.shape, shapes, data)
        results = db.query(c.query)
        has_value = "value" in {v.value for v in results.variables}
        for row in results:
            this = to_rdflib(row["this"])
            if this not in focus:
                continue
            value = row["value"] if has_value else None
            violations.append(Violation(
                focus=this.n3(shapes.namespace_manager),
                path="",
                message=c.message,
                severity=c.severity,
                value=to_rdflib(value).n3(shapes.namespace_manager) if value is not None else "",
            ))
    return violations


def _focus_nodes(shape: Node, shapes: Graph, data: Graph) -> set[Node]:
    """The targets of ``shape`` in ``data`` (SHACL 2.1.3)."""
    from rdflib.namespace import RDFS

    focus: set[Node] = set(shapes.objects(shape, SH.targetNode))
    for cls in shapes.objects(shape, SH.targetClass):
        classes = set(data.transitive_subjects(RDFS.subClassOf, cls)) | {cls}
        for c in classes:
            focus.update(data.subjects(RDF.type, c))
    for p in shapes.objects(shape, SH.targetSubjectsOf):
        focus.update(data.subjects(p, None))
    for p in shapes.objects(shape, SH.targetObjectsOf):
        focus.update(data.objects(None, p))
    return focus


def _violation(results: Graph, result: Node) -> Violation:
    def one(prop: Node) -> str:
        value = results.value(result, prop)
        if value is None:
            return ""
        return value.n3(results.namespace_manager) if prop != SH.resultMessage else str(value)

    severity = results.value(result, SH.resultSeverity)
    return Violation(
        focus=one(SH.focusNode),
        path=one(SH.resultPath),
        message=one(SH.resultMessage),
        severity=str(severity).rsplit("#", 1)[-1] if severity is not None else "Violation",
        value=one(SH.value),
    )
