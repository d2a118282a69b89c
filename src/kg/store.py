"""The store: where a build's graphs live and where every query is answered.

The embedded store is pyoxigraph on disk, kept as *generations*: ``--store var/store`` is
a symbolic link to ``var/store.builds/<build id>/``, which holds the Oxigraph database
(``oxigraph/``) and the build's description (``build.json``). A build or an update writes a
new generation beside the current one and then swaps the link with one atomic
``rename(2)``, so readers see either the old graph or the new one, never half of either,
and a failed build leaves the previous store answering. Readers check the link on each
use (:meth:`EmbeddedStore.refresh`) and reopen when it moved, so a running server serves
a new build without a restart.

A store can also be a SPARQL 1.1 server (``--store URL``): :class:`kg.remote.RemoteStore`
implements the same :class:`Store` interface, and :func:`open_store`, :func:`check_store`
and :func:`apply_update` choose the implementation from the location, so that nothing
above this module branches on which kind of store it has.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import pyoxigraph as ox

from kg.config import RemoteLocation, is_remote, store_location
from kg.errors import StoreError
from kg.namespaces import Graphs
from kg.sparqltext import has_dataset_clause

log = logging.getLogger(__name__)

KEEP_GENERATIONS = 3
"""Generations kept on disk: the current one and two before it, so that a reader still
finishing a request on an older one is never cut off."""

QueryResult = ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples
Term = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple


class QueryTimeout(StoreError):
    """The store stopped a query at its time limit (a remote server's own limit)."""


@dataclass
class BuildInfo:
    """What ``build.json`` says about a generation."""

    build_id: str
    built_at: str
    reasoner: str
    counts: dict[str, int] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)
    stages: list[dict[str, Any]] = field(default_factory=list)
    kg_version: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2, sort_keys=True)

    @classmethod
    def from_path(cls, path: Path) -> BuildInfo:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def new_build_id() -> str:
    """A sortable, unique build id: UTC time plus a random suffix."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + uuid.uuid4().hex[:8]


def generations_dir(store: Path) -> Path:
    """The folder holding every generation of the store linked at ``store``."""
    return store.with_name(store.name + ".builds")


def lock_path(store: Path) -> Path:
    return store.with_name(store.name + ".lock")


@contextlib.contextmanager
def write_lock(store: Path) -> Iterator[None]:
    """Hold the store's write lock, or fail at once if another build or update holds it.

    The lock is an advisory ``flock`` on ``<store>.lock``: the kernel releases it when the
    holder dies, so a killed build never leaves a stale lock behind.
    """
    path = lock_path(store)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StoreError(
                f"another build or update is writing to {store} (lock {path}); "
                "try again when it has finished"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def current_generation(store: Path) -> Path | None:
    """The generation folder ``store`` links to, or None when there is none yet."""
    if store.is_symlink():
        target = store.parent / os.readlink(store)
        return target if target.is_dir() else None
    return None


class Generation:
    """A new generation being written; :meth:`publish` makes it the current one."""

    def __init__(self, store: Path, build_id: str | None = None) -> None:
        self.store = store
        self.build_id = build_id or new_build_id()
        self.path = generations_dir(store) / self.build_id
        self.db_path = self.path / "oxigraph"

    def create(self, copy_from: Path | None = None) -> ox.Store:
        """Create the generation's folder and open its database for writing.

        With ``copy_from`` (an existing generation) the database starts as a checkpoint
        of that one (hard links, so cheap), which is how updates are applied.
        """
        _check_store_path(self.store)
        self.path.mkdir(parents=True)
        if copy_from is not None:
            source = ox.Store.read_only(str(copy_from / "oxigraph"))
            source.backup(str(self.db_path))
            del source
        return ox.Store(str(self.db_path))

    def publish(self, info: BuildInfo) -> None:
        """Write ``build.json`` and swap the store link to this generation atomically."""
        (self.path / "build.json").write_text(info.to_json(), encoding="utf-8")
        link_tmp = self.store.with_name(f".{self.store.name}.{self.build_id}.link")
        relative = os.path.relpath(self.path, self.store.parent)
        os.symlink(relative, link_tmp)
        os.replace(link_tmp, self.store)
        _fsync_dir(self.store.parent)
        prune_generations(self.store)

    def discard(self) -> None:
        """Remove a generation that was never published (after a failure)."""
        shutil.rmtree(self.path, ignore_errors=True)


def _check_store_path(store: Path) -> None:
    if store.exists() and not store.is_symlink():
        if store.is_dir() and not any(store.iterdir()):
            store.rmdir()
            return
        raise StoreError(
            f"{store} exists and is not a Duikou store (expected a link to a generation "
            f"in {generations_dir(store)}); choose another --store or remove it"
        )


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def prune_generations(store: Path, keep: int = KEEP_GENERATIONS) -> None:
    """Delete all but the newest ``keep`` generations (never the current one)."""
    root = generations_dir(store)
    current = current_generation(store)
    gens = sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.name)
    published = [p for p in gens if (p / "build.json").exists()]
    for old in published[:-keep]:
        if current is None or old.resolve() != current.resolve():
            shutil.rmtree(old, ignore_errors=True)


@runtime_checkable
class Store(Protocol):
    """What every store offers: the embedded one and a remote SPARQL 1.1 server.

    Results are pyoxigraph's own types (``QuerySolutions``, ``QueryBoolean``,
    ``QueryTriples``, ``Quad``) whichever store answered.
    """

    def refresh(self) -> bool:
        """Follow a newly published build; True when the store moved to one."""
        ...

    @property
    def info(self) -> BuildInfo:
        """The current build's description."""
        ...

    @property
    def generation(self) -> object:
        """A key that changes with every published build (for per-build caches)."""
        ...

    def query(self, sparql: str, *, inference: bool = True,
              default_graphs: Sequence[str] | None = None,
              named_graphs: Sequence[str] | None = None,
              base_iri: str | None = None) -> QueryResult:
        """Run a SPARQL query; ``SyntaxError`` when the query is malformed."""
        ...

    def quads(self, graphs: Iterable[str] | None = None) -> Iterator[ox.Quad]:
        """Every quad, or those of the given named graphs."""
        ...

    def quads_for_pattern(self, subject: Term | None, predicate: ox.NamedNode | None,
                          object: Term | None, graph_name: ox.NamedNode | None = None,
                          ) -> Iterator[ox.Quad]:
        """The quads matching a pattern, in every named graph or in ``graph_name``."""
        ...

    def counts(self) -> dict[str, int]:
        """Triples per named graph of the current build."""
        ...


class EmbeddedStore:
    """The pyoxigraph store of one ``--store`` folder, following its current generation.

    >>> store = EmbeddedStore(Path("var/store"))  # doctest: +SKIP
    >>> bool(store.query("ASK { ?s ?p ?o }"))  # doctest: +SKIP
    True
    """

    def __init__(self, path: Path, *, read_only: bool = True) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._generation: Path | None = None
        self._target: str | None = None
        self._db: ox.Store | None = None
        self._info: BuildInfo | None = None
        self._asserted: tuple[str | None, list[ox.NamedNode | ox.BlankNode]] | None = None
        self._opening = threading.Lock()
        self.refresh()

    def refresh(self) -> bool:
        """Reopen the database if the store link moved to a new generation.

        Returns True when it reopened. Cheap enough (one ``readlink``, no lock) to call per
        request from many threads; only a thread that finds a new generation takes the lock
        to open it.
        """
        target = self._read_link()
        if target == self._target and self._db is not None:
            return False
        with self._opening:
            if target == self._target and self._db is not None:
                return False  # another thread opened it meanwhile
            self._open(target)
        return True

    def _read_link(self) -> str:
        try:
            target = os.readlink(self.path)
        except FileNotFoundError:
            raise StoreError(f"no store at {self.path}; run `kg build` first") from None
        except OSError as e:
            if self.path.is_dir():
                raise StoreError(
                    f"{self.path} is not a Duikou store (it is not a link to a generation)"
                ) from None
            raise StoreError(f"cannot open the store at {self.path}: {e.strerror}") from None
        return target

    def _open(self, target: str) -> None:
        generation = self.path.parent / target
        db_path = generation / "oxigraph"
        if not db_path.is_dir():
            raise StoreError(f"the store at {self.path} is broken: {db_path} is missing")
        try:
            db = ox.Store.read_only(str(db_path)) if self.read_only else ox.Store(str(db_path))
        except OSError as e:
            raise StoreError(f"cannot open the store at {self.path}: {e}") from None
        info_path = generation / "build.json"
        try:
            info = BuildInfo.from_path(info_path)
        except (OSError, ValueError, TypeError) as e:
            raise StoreError(f"the store at {self.path} is broken: {info_path}: {e}") from None
        self._db, self._generation, self._info = db, generation, info
        self._target = target  # last: a thread that sees it sees the rest
        log.info("opened store generation %s", info.build_id)

    @property
    def db(self) -> ox.Store:
        assert self._db is not None
        return self._db

    @property
    def info(self) -> BuildInfo:
        assert self._info is not None
        return self._info

    @property
    def generation(self) -> Path:
        assert self._generation is not None
        return self._generation

    def query(
        self,
        sparql: str,
        *,
        inference: bool = True,
        default_graphs: Sequence[str] | None = None,
        named_graphs: Sequence[str] | None = None,
        base_iri: str | None = None,
    ) -> QueryResult:
        """Run a SPARQL query.

        The dataset follows the SPARQL 1.1 Protocol: ``default_graphs``/``named_graphs``
        (the request's ``default-graph-uri``/``named-graph-uri``) win over the query's own
        ``FROM``/``FROM NAMED``; naming only ``named_graphs`` leaves the default graph empty.
        When neither names a dataset, the default graph is the union of all graphs, or
        with ``inference`` False the union of the asserted graphs (every graph but the
        inferred one). Raises ``SyntaxError`` for a malformed query.
        """
        kwargs: dict[str, Any] = {}
        if default_graphs or named_graphs:
            kwargs["default_graph"] = [ox.NamedNode(g) for g in default_graphs or ()]
            if named_graphs:
                kwargs["named_graphs"] = [ox.NamedNode(g) for g in named_graphs]
        elif has_dataset_clause(sparql):
            pass  # the query's FROM / FROM NAMED decide
        elif inference:
            kwargs["use_default_graph_as_union"] = True
        else:
            asserted = self._asserted_graphs()
            kwargs["default_graph"] = [ox.DefaultGraph(), *asserted]
            kwargs["named_graphs"] = asserted
        return self.db.query(sparql, base_iri=base_iri, **kwargs)

    def _asserted_graphs(self) -> list[ox.NamedNode | ox.BlankNode]:
        """Every named graph of the store except the inferred one."""
        if self._asserted is None or self._asserted[0] != self._target:
            inferred = str(Graphs.INFERRED)
            graphs = [g for g in self.db.named_graphs()
                      if not (isinstance(g, ox.NamedNode) and g.value == inferred)]
            self._asserted = (self._target, graphs)
        return self._asserted[1]

    def quads(self, graphs: Iterable[str] | None = None) -> Iterator[ox.Quad]:
        """Every quad, or those of the given named graphs."""
        if graphs is None:
            yield from self.db.quads_for_pattern(None, None, None, None)
            return
        for g in graphs:
            yield from self.db.quads_for_pattern(None, None, None, ox.NamedNode(g))

    def quads_for_pattern(self, subject: Term | None, predicate: ox.NamedNode | None,
                          object: Term | None, graph_name: ox.NamedNode | None = None,
                          ) -> Iterator[ox.Quad]:
        """The quads matching a pattern (pyoxigraph's ``quads_for_pattern``)."""
        return self.db.quads_for_pattern(subject, predicate, object, graph_name)

    def counts(self) -> dict[str, int]:
        """Triples per named graph, as recorded at build or update time."""
        return dict(self.info.counts)


def count_graphs(db: ox.Store) -> dict[str, int]:
    """Triples per named graph, counted in the database."""
    counts: dict[str, int] = {}
    for row in db.query("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"):
        counts[row["g"].value] = int(row["n"].value)
    return dict(sorted(counts.items()))


def apply_update(store_path: Path | RemoteLocation | str, sparql_update: str, *,
                 base_iri: str | None = None) -> BuildInfo:
    """Apply a SPARQL 1.1 Update as a new generation, and publish it.

    The current generation is checkpointed, the update applied to the copy, and the link
    swapped; concurrent readers keep answering from the old generation meanwhile.
    Relative IRIs resolve against ``base_iri`` (the endpoint, for updates over HTTP).
    Raises ``SyntaxError`` for a malformed update, :class:`StoreError` when another build
    or update holds the lock. The inferred graph is not recomputed (that takes a build).
    On a remote store the update goes to the server's update endpoint
    (:meth:`kg.remote.RemoteStore.update`).
    """
    location = store_location(store_path)
    if isinstance(location, RemoteLocation):
        from kg.remote import RemoteStore

        with contextlib.closing(RemoteStore(location)) as remote:
            return remote.update(sparql_update, base_iri=base_iri)
    store_path = location
    with write_lock(store_path):
        current = current_generation(store_path)
        if current is None:
            raise StoreError(f"no store at {store_path}; run `kg build` first")
        old = BuildInfo.from_path(current / "build.json")
        gen = Generation(store_path)
        try:
            db = gen.create(copy_from=current)
            db.update(sparql_update, base_iri=base_iri)
            db.flush()
            counts = count_graphs(db)
            del db
            info = BuildInfo(
                build_id=gen.build_id,
                built_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                reasoner=old.reasoner,
                counts=counts,
                inputs=old.inputs,
                stages=[*old.stages, {"stage": "update", "from": old.build_id}],
                kg_version=old.kg_version,
            )
            gen.publish(info)
        except BaseException:
            gen.discard()
            raise
    return info


def check_store(location: str | Path | RemoteLocation) -> BuildInfo:
    """Check that ``location`` is a usable store, *without* opening its database.

    For a process that forks workers (``kg serve``): RocksDB state opened before a fork is
    not safe to use after it (a forked worker that then writes, for an update, hangs), so
    the parent only checks and each worker opens the database itself. A remote store is
    asked for its build description (and the connection closed again).
    """
    where = store_location(location)
    if isinstance(where, RemoteLocation):
        from kg.remote import RemoteStore

        with contextlib.closing(RemoteStore(where)) as remote:
            return remote.info
    path = where
    generation = current_generation(path)
    if generation is None:
        if path.exists() and not path.is_symlink():
            raise StoreError(f"{path} is not a Duikou store (it is not a link to a generation)")
        raise StoreError(f"no store at {path}; run `kg build` first")
    if not (generation / "oxigraph").is_dir():
        raise StoreError(f"the store at {path} is broken: {generation / 'oxigraph'} is missing")
    try:
        return BuildInfo.from_path(generation / "build.json")
    except (OSError, ValueError, TypeError) as e:
        raise StoreError(f"the store at {path} is broken: {e}") from None


def open_store(location: str | Path | RemoteLocation, *, read_only: bool = True,
               timeout: float | None = None) -> Store:
    """Open the store at ``location`` for querying: a ``--store`` folder, or the query
    endpoint URL of a SPARQL 1.1 server (a :class:`~kg.config.RemoteLocation`).

    ``timeout`` (seconds) is the time limit a remote server is asked to stop a query at;
    the embedded store's queries are limited by their caller (:mod:`kg.web.limits`).
    """
    where = store_location(location)
    if isinstance(where, RemoteLocation):
        from kg.remote import RemoteStore

        return RemoteStore(where, timeout=timeout)
    return EmbeddedStore(where, read_only=read_only)


__all__ = [
    "KEEP_GENERATIONS", "BuildInfo", "EmbeddedStore", "Generation", "QueryResult",
    "QueryTimeout", "Store", "apply_update", "check_store", "count_graphs",
    "current_generation", "generations_dir", "is_remote", "lock_path", "new_build_id",
    "open_store", "prune_generations", "write_lock",
]
