"""The build pipeline: load → validate → reason → store.

One direction, no back and forth (see ARCHITECTURE.md): each stage takes the previous
stage's output. The store is written as a new generation and swapped in only when every
stage has succeeded, so a failed or killed build leaves the previous store answering.

With ``--store URL`` (a SPARQL 1.1 server) the same stages run on a temporary on-disk
database, and the last stage uploads its graphs to the server, swapping each in only when
all are uploaded (:meth:`kg.remote.RemoteStore.replace_graphs`).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pyoxigraph as ox
from rdflib import Graph

from kg import __version__
from kg.config import RemoteLocation, store_location
from kg.errors import InputError, ValidationFailed
from kg.loading import load_into
from kg.namespaces import Graphs
from kg.reasoning import get_reasoner
from kg.store import (
    BuildInfo,
    Generation,
    count_graphs,
    generations_dir,
    new_build_id,
    write_lock,
)
from kg.terms import quads_to_graph
from kg.validation import ValidationReport, load_shapes, validate

log = logging.getLogger(__name__)

INFERRED = str(Graphs.INFERRED)


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
    store: Path | RemoteLocation = Path("var/store")
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


def inferred_quads(inferred: Sequence[ox.Triple]) -> list[ox.Quad]:
    """The reasoner's triples as quads of the inferred graph."""
    graph = ox.NamedNode(INFERRED)
    return [ox.Quad(s, p, o, graph) for s, p, o in inferred]


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

    The stages work on a database in memory (reading it back for reasoning is several times
    faster than from disk); the last stage writes it to the new generation's database, under
    the store's write lock, and the generation is published only when every stage succeeded.
    """
    progress = progress or SilentProgress()
    get_reasoner(options.reasoner)  # an unknown reasoner fails before any work
    location = store_location(options.store)
    if isinstance(location, RemoteLocation):
        return _run_remote_build(options, location, progress)
    stages: list[StageResult] = []
    store_path = location

    store_path.parent.mkdir(parents=True, exist_ok=True)
    with write_lock(store_path):
        _remove_dead_generations(store_path)
        gen = Generation(store_path)
        try:
            db = gen.create()
            work = ox.Store()
            copy = _Copy(work, db, gen.path / "asserted.nq")
            try:
                loaded, report, inferred = _load_validate_reason(work, options, progress,
                                                                 stages, copy.start)
            except BaseException:
                copy.join()
                raise
            progress.start("store")
            t = time.perf_counter()
            counts = count_graphs(work)
            copy.join()
            copy.check()
            del work
            if inferred:  # each triple once, none asserted: the reasoners' contract
                db.bulk_load(ox.serialize(inferred, format=ox.RdfFormat.N_TRIPLES),
                             format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(INFERRED))
                counts[INFERRED] = len(inferred)
                counts = dict(sorted(counts.items()))
            del inferred
            db.flush()
            db.optimize()
            del db
            _timed(progress, stages, "store", sum(counts.values()), t, str(gen.path))
            info = _build_info(gen.build_id, options, counts, loaded.files, stages)
            gen.publish(info)
        except BaseException:
            gen.discard()
            raise
    return BuildResult(info, stages, report)


class _Copy(threading.Thread):
    """Writes the asserted quads of the in-memory database to the generation's database
    while the reasoner runs (pyoxigraph releases the GIL while it loads), through an
    N-Quads file beside it, removed afterwards."""

    def __init__(self, source: ox.Store, target: ox.Store, spool: Path) -> None:
        super().__init__(name="kg-store-copy", daemon=True)
        self.source, self.target, self.spool = source, target, spool
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.source.dump(str(self.spool), format=ox.RdfFormat.N_QUADS)
            self.target.bulk_load(path=str(self.spool), format=ox.RdfFormat.N_QUADS)
        except BaseException as e:  # re-raised in the building thread by check()
            self.error = e
        finally:
            self.spool.unlink(missing_ok=True)

    def join(self, timeout: float | None = None) -> None:
        if self.is_alive() or self.ident is not None:
            super().join(timeout)

    def check(self) -> None:
        """Raise what went wrong in the copy, if anything."""
        if self.error is not None:
            raise self.error


def _timed(progress: Progress, stages: list[StageResult], stage: str, triples: int,
           started: float, detail: str = "") -> None:
    seconds = time.perf_counter() - started
    stages.append(StageResult(stage, triples, seconds, detail))
    progress.done(stage, triples, seconds, detail)


def _load_validate_reason(db: ox.Store, options: BuildOptions, progress: Progress,
                          stages: list[StageResult],
                          before_reasoning: Callable[[], None] | None = None) -> tuple:
    """The stages every build shares: ``(loaded, validation report, inferred triples)``;
    ``before_reasoning`` is called once the inputs are loaded and valid."""
    reasoner = get_reasoner(options.reasoner)
    shapes_path = default_shapes(options) if options.validate else None
    progress.start("load")
    t = time.perf_counter()
    loaded = load_into(db, options.ontology, options.data)
    _timed(progress, stages, "load", loaded.total, t, f"{len(loaded.files)} files")

    report: ValidationReport | None = None
    if shapes_path is not None:
        progress.start("validate")
        t = time.perf_counter()
        report = validate_store(db, shapes_path)
        validated = loaded.total - loaded.counts.get(str(Graphs.ONTOLOGY), 0)
        _timed(progress, stages, "validate", validated, t,
               f"{len(report.violations)} violations")
        if not report.conforms:
            raise ValidationFailed(report.text(), len(report.violations))

    if before_reasoning is not None:
        before_reasoning()
    progress.start("reason")
    t = time.perf_counter()
    inferred = reasoner(db)
    _timed(progress, stages, "reason", len(inferred), t, f"{options.reasoner}, new triples")
    return loaded, report, inferred


def _build_info(build_id: str, options: BuildOptions, counts: dict[str, int],
                files: Sequence, stages: list[StageResult]) -> BuildInfo:
    return BuildInfo(
        build_id=build_id,
        built_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        reasoner=options.reasoner,
        counts=counts,
        inputs=[str(f.path) for f in files],
        stages=[{"stage": s.stage, "triples": s.triples, "seconds": round(s.seconds, 3)}
                for s in stages],
        kg_version=__version__,
    )


def _run_remote_build(options: BuildOptions, location: RemoteLocation,
                      progress: Progress) -> BuildResult:
    """The build for a SPARQL server: the shared stages on a temporary database, then
    the upload, swap and count check of :meth:`~kg.remote.RemoteStore.replace_graphs`."""
    from kg.remote import RemoteStore

    stages: list[StageResult] = []
    remote = RemoteStore(location, check=False)
    try:
        with tempfile.TemporaryDirectory(prefix="kg-remote-build-") as tmp:
            db = ox.Store(tmp)
            loaded, report, inferred = _load_validate_reason(db, options, progress, stages)
            db.bulk_extend(inferred_quads(inferred))
            db.flush()
            counts = count_graphs(db)
            info = _build_info(new_build_id(), options, counts, loaded.files, stages)

            class Recorder:
                def start(self, stage: str) -> None:
                    progress.start(stage)

                def done(self, stage: str, triples: int, seconds: float,
                         detail: str = "") -> None:
                    stages.append(StageResult(stage, triples, seconds, detail))
                    progress.done(stage, triples, seconds, detail)

            recorder = Recorder()
            # the description written with the graphs names the stages run before the upload
            remote.replace_graphs(db, counts, info, recorder)
            del db
            info.stages = [{"stage": s.stage, "triples": s.triples,
                            "seconds": round(s.seconds, 3)} for s in stages]
    finally:
        remote.close()
    return BuildResult(info, stages, report)


def _remove_dead_generations(store: Path) -> None:
    """Remove generations left unpublished by builds that died (we hold the lock)."""
    root = generations_dir(store)
    if not root.is_dir():
        return
    for path in root.iterdir():
        if path.is_dir() and not (path / "build.json").exists():
            shutil.rmtree(path, ignore_errors=True)
