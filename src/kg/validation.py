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
    """
    import pyshacl  # imported lazily: slow to import, only needed at build time

    conforms, results, _text = pyshacl.validate(
        data,
        shacl_graph=shapes,
        ont_graph=ontology,
        inference="rdfs",
        abort_on_first=False,
        allow_warnings=True,
        advanced=True,
    )
    violations = [_violation(results, r) for r in results.subjects(RDF.type, SH.ValidationResult)]
    return ValidationReport(bool(conforms), violations)


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
