"""The build pipeline: load → validate → reason → store.

One direction, no back and forth (see ARCHITECTURE.md): each stage takes the previous
stage's output. The store is written as a new generation and swapped in only when every
stage has succeeded, so a failed or killed build leaves the previous store answering.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pyoxigraph as ox
from rdflib import Graph

from kg import __version__
from kg.errors import InputError, ValidationFailed
from kg.loading import load_into
from kg.namespaces import Graphs
from kg.reasoning import get_reasoner
from kg.store import BuildInfo, Generation, count_graphs, generations_dir, write_lock
from kg.terms import quads_to_graph, triples_to_quads
from kg.validation import ValidationReport, load_shapes, validate

log = logging.getLogger(__name__)


class Progress(Protocol):
    """Receives the pipeline's progress; the CLI shows it, tests may record it."""

    def start(self, stage: str) -> None: ...

    def done(self, stage: str, triples: int, seconds: float, detail: str = "") -> None: ...


class SilentProgress:
    """Progress that goes to the log only."""

    def start(self, stage: str) -> None:
        log.debug("stage %s started", stage)

    def done(self, stage: str, triples: int, seconds: float, detail: str = "") -> None:
        log.info("stage %s: %d triples in %.2f s %s", stage, triples, seconds, detail)


@dataclass
class BuildOptions:
    """What to build from and how."""

    ontology: Sequence[Path] = (Path("ontology"),)
    data: Sequence[Path] = (Path("data"),)
    store: Path = Path("var/store")
    shapes: Path | None = None
    validate: bool = True
    reasoner: str = "fast"


@dataclass
class StageResult:
    stage: str
    triples: int
    seconds: float
    detail: str = ""


@dataclass
class BuildResult:
    info: BuildInfo
    stages: list[StageResult] = field(default_factory=list)
    validation: ValidationReport | None = None


def default_shapes(options: BuildOptions) -> Path | None:
    """The shapes file: ``--shapes``, else ``shapes.ttl`` in an ontology folder."""
    if options.shapes is not None:
        return options.shapes
    for root in options.ontology:
        candidate = root / "shapes.ttl" if root.is_dir() else root.parent / "shapes.ttl"
        if candidate.exists():
            return candidate
    return None


def graphs_as_rdflib(db: ox.Store, graphs: Sequence[str]) -> Graph:
    """One rdflib graph holding every triple of the named ``graphs`` of ``db``."""
    return quads_to_graph(
        q for g in graphs for q in db.quads_for_pattern(None, None, None, ox.NamedNode(g))
    )


def validate_store(db: ox.Store, shapes_path: Path) -> ValidationReport:
    """Validate every graph but the ontology against the shapes, with the ontology's class
    hierarchy available to the validator."""
    ontology = str(Graphs.ONTOLOGY)
    names = [g.value for g in db.named_graphs() if isinstance(g, ox.NamedNode)]
    return validate(
        graphs_as_rdflib(db, [g for g in names if g != ontology]),
        load_shapes(shapes_path),
        graphs_as_rdflib(db, [ontology]),
    )


def validate_inputs(options: BuildOptions) -> ValidationReport:
    """Load the inputs in memory and validate them; writes no store (``kg validate``)."""
    shapes_path = default_shapes(options)
    if shapes_path is None:
        raise InputError("no shapes file found; pass --shapes")
    db = ox.Store()
    load_into(db, options.ontology, options.data)
    return validate_store(db, shapes_path)


def run_build(options: BuildOptions, progress: Progress | None = None) -> BuildResult:
    """Build the store from the inputs; raises a :class:`~kg.errors.KGError` on bad input
    or data that fails validation, leaving any previous store untouched.

    The inputs are parsed straight into the new generation's database, under the store's
    write lock; the generation is published only when every stage succeeded.
    """
    progress = progress or SilentProgress()
    reasoner = get_reasoner(options.reasoner)
    shapes_path = default_shapes(options) if options.validate else None
    stages: list[StageResult] = []

    def timed(stage: str, triples: int, started: float, detail: str = "") -> None:
        seconds = time.perf_counter() - started
        stages.append(StageResult(stage, triples, seconds, detail))
        progress.done(stage, triples, seconds, detail)

    options.store.parent.mkdir(parents=True, exist_ok=True)
    with write_lock(options.store):
        _remove_dead_generations(options.store)
        gen = Generation(options.store)
        try:
            db = gen.create()
            progress.start("load")
            t = time.perf_counter()
            loaded = load_into(db, options.ontology, options.data)
            timed("load", loaded.total, t, f"{len(loaded.files)} files")

            report: ValidationReport | None = None
            if shapes_path is not None:
                progress.start("validate")
                t = time.perf_counter()
                report = validate_store(db, shapes_path)
                validated = loaded.total - loaded.counts.get(str(Graphs.ONTOLOGY), 0)
                timed("validate", validated, t, f"{len(report.violations)} violations")
                if not report.conforms:
                    raise ValidationFailed(report.text(), len(report.violations))

            progress.start("reason")
            t = time.perf_counter()
            inferred = reasoner(db)
            timed("reason", len(inferred), t, f"{options.reasoner}, new triples")

            progress.start("store")
            t = time.perf_counter()
            db.bulk_extend(triples_to_quads(inferred, str(Graphs.INFERRED)))
            db.flush()
            db.optimize()
            counts = count_graphs(db)
            del db
            timed("store", sum(counts.values()), t, str(gen.path))
            info = BuildInfo(
                build_id=gen.build_id,
                built_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                reasoner=options.reasoner,
                counts=counts,
                inputs=[str(f.path) for f in loaded.files],
                stages=[
                    {"stage": s.stage, "triples": s.triples, "seconds": round(s.seconds, 3)}
                    for s in stages
                ],
                kg_version=__version__,
            )
            gen.publish(info)
        except BaseException:
            gen.discard()
            raise
    return BuildResult(info, stages, report)


def _remove_dead_generations(store: Path) -> None:
    """Remove generations left unpublished by builds that died (we hold the lock)."""
    root = generations_dir(store)
    if not root.is_dir():
        return
    for path in root.iterdir():
        if path.is_dir() and not (path / "build.json").exists():
            shutil.rmtree(path, ignore_errors=True)
