"""Where queries are evaluated: in a thread of the worker, or in a child process that can be
killed.

A request thread hands a :class:`QueryJob` to a *runner* and gets back the answer written
into a :class:`~kg.web.results.Spool`. Two runners share :func:`evaluate`:

- :class:`ThreadRunner` evaluates in a thread of this process (see :mod:`kg.web.limits`).
  It is cheap, but a query that overruns the time limit cannot be stopped there — pyoxigraph
  offers no cancellation and a signal handler never runs while Rust evaluates. Used by
  ``kg serve --dev``, by apps built in tests, and for remote stores (whose server stops its
  own queries).
- :class:`QueryProcesses` evaluates in up to ``KG_MAX_INFLIGHT`` child processes per worker,
  each with the store open read-only. A query that overruns is stopped by killing its
  process: its CPU and memory come back at once, the worker keeps serving (no retirement,
  no dropped keep-alive connections), and a fresh child is forked on demand from a
  ``forkserver`` that has pyoxigraph already imported. The answer streams back over a pipe
  in chunks, into the worker's own spool. ``kg serve`` uses it for the embedded store.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import pickle
import select
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import pyoxigraph as ox

from kg.config import StoreLocation
from kg.errors import StoreError
from kg.formats import GRAPH_FORMATS, RESULT_FORMATS, Format, find
from kg.store import Store, open_store
from kg.web.limits import Busy, QuerySlots, TimedOut
from kg.web.negotiation import NotAcceptable, choose
from kg.web.results import Spool, Written, write_result

log = logging.getLogger("kg.web")

CHUNK = 1024 * 1024
"""Bytes of an answer a child sends per message."""


@dataclass(frozen=True)
class QueryJob:
    """One query to evaluate, with everything needed to serialise its answer (picklable)."""

    text: str
    inference: bool
    default_graphs: tuple[str, ...]
    named_graphs: tuple[str, ...]
    base_iri: str | None
    accept: str | None
    asked: str | None
    format: str | None  # the format chosen before evaluation, when the form told it
    max_rows: int


@dataclass
class Answer:
    """An evaluated query: the answer's bytes in ``spool``, in ``format``."""

    build_id: str
    format: Format
    spool: Spool
    written: Written


class QueryRunner(Protocol):
    def run(self, job: QueryJob, timeout: float) -> Answer:
        """Evaluate ``job`` within ``timeout`` seconds.

        Raises :class:`~kg.web.limits.Busy` when no slot frees within the queue time,
        :class:`~kg.web.limits.TimedOut` when the limit passes, ``SyntaxError``,
        :class:`~kg.errors.StoreError` or :class:`~kg.web.negotiation.NotAcceptable`.
        """
        ...

    @property
    def size(self) -> int: ...

    @property
    def wait(self) -> float: ...

    @property
    def stops_overruns(self) -> bool:
        """True when an overrunning query is really stopped, not left running."""
        ...


def evaluate(store: Store, job: QueryJob, out: Spool | _ChunkWriter) -> tuple[str, Format,
                                                                            Written]:
    """Run ``job`` on ``store`` and write its answer into ``out``: ``(build id, format,
    written)``."""
    build_id = store.info.build_id
    result = store.query(job.text, inference=job.inference,
                         default_graphs=list(job.default_graphs),
                         named_graphs=list(job.named_graphs), base_iri=job.base_iri)
    formats = GRAPH_FORMATS if isinstance(result, ox.QueryTriples) else RESULT_FORMATS
    fmt = (find(formats, job.format) if job.format else None) or choose(
        formats, job.accept, job.asked)
    return build_id, fmt, write_result(result, fmt, out, job.max_rows)


class ThreadRunner:
    """Evaluate on a pool of threads of this process (:class:`~kg.web.limits.QuerySlots`)."""

    stops_overruns = False

    def __init__(self, store: Store, size: int, wait: float) -> None:
        self._store = store
        self.slots = QuerySlots(size, wait)

    @property
    def size(self) -> int:
        return self.slots.size

    @property
    def wait(self) -> float:
        return self.slots.wait

    @property
    def in_use(self) -> int:
        return self.slots.in_use

    def run(self, job: QueryJob, timeout: float) -> Answer:
        def work() -> Answer:
            spool = Spool()
            try:
                build_id, fmt, written = evaluate(self._store, job, spool)
            except BaseException:
                spool.close()
                raise
            return Answer(build_id, fmt, spool, written)

        return self.slots.run(work, timeout)

    def close(self) -> None:
        """Nothing to release: the threads are daemons."""


# --- child processes --------------------------------------------------------------------

DATA, DONE, FAILED = b"D", b"E", b"X"
"""Tags of the messages a child sends: a chunk of the answer, the end, an error."""


class _ChunkWriter:
    """A file-like sink that sends what is written to the parent in chunks."""

    def __init__(self, conn: multiprocessing.connection.Connection) -> None:
        self._conn = conn
        self._buffer = bytearray(DATA)

    def write(self, data: bytes) -> int:
        self._buffer += data
        if len(self._buffer) >= CHUNK:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if len(self._buffer) > 1:
            self._conn.send_bytes(self._buffer)
            self._buffer = bytearray(DATA)


def _child_main(conn: multiprocessing.connection.Connection, location: StoreLocation,
                timeout: float, worker: int) -> None:
    """A query process: open the store, then evaluate jobs until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main server process's to handle
    _die_with(worker)
    failure = ""
    try:
        store: Store | None = open_store(location, timeout=timeout)
    except StoreError as e:
        store = None
        failure = str(e)
    while True:
        try:
            job: QueryJob = conn.recv()
        except (EOFError, OSError):
            return
        try:
            conn.send_bytes(_evaluated(store, failure, job, conn))
        except (BrokenPipeError, ConnectionResetError):
            return  # the worker is gone: nobody waits for this answer


def _evaluated(store: Store | None, failure: str, job: QueryJob,
               conn: multiprocessing.connection.Connection) -> bytes:
    """Evaluate ``job``, sending its answer in chunks; the last message to send."""
    try:
        if store is None:
            raise StoreError(failure)
        store.refresh()
        out = _ChunkWriter(conn)
        build_id, fmt, written = evaluate(store, job, out)
        out.flush()
        graph = fmt in GRAPH_FORMATS
        return DONE + pickle.dumps((build_id, graph, fmt.name, written))
    except SyntaxError as e:
        return FAILED + pickle.dumps(("syntax", (str(e),)))
    except StoreError as e:
        return FAILED + pickle.dumps(("store", (str(e),)))
    except NotAcceptable as e:
        graph = e.offered == [f.media_type for f in GRAPH_FORMATS]
        return FAILED + pickle.dumps(("acceptable", (graph, e.asked)))
    except (BrokenPipeError, ConnectionResetError):
        raise
    except Exception as e:  # reported to the client as a 500, logged by the parent
        return FAILED + pickle.dumps(("internal", (f"{type(e).__name__}: {e}",)))


def _die_with(worker: int) -> None:
    """Exit as soon as the worker process ``worker`` ends, even in the middle of a query.

    A worker that is SIGKILLed cannot stop its query processes, and they are not its
    children (the forkserver's), so each watches its worker on a thread of its own; without
    that a runaway query would burn on with nobody waiting for it.
    """
    def watch() -> None:
        try:
            fd = os.pidfd_open(worker)
        except (AttributeError, OSError):  # no pidfd (old kernel): poll instead
            while _alive(worker):
                time.sleep(1)
        else:
            select.select([fd], [], [])
        os._exit(0)

    threading.Thread(target=watch, name="kg-watch-worker", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class QueryProcessDied(RuntimeError):
    """A query process ended without answering (killed from outside, or crashed)."""


_ERRORS: dict[str, Callable[..., Exception]] = {
    "syntax": SyntaxError,
    "store": StoreError,
    "acceptable": lambda graph, asked: NotAcceptable(
        GRAPH_FORMATS if graph else RESULT_FORMATS, asked),
    "internal": RuntimeError,
}
"""How a child's error is raised again in the parent, by the kind the child named."""


class _Child:
    __slots__ = ("conn", "process")

    def __init__(self, process: multiprocessing.process.BaseProcess,
                 conn: multiprocessing.connection.Connection) -> None:
        self.process = process
        self.conn = conn

    def kill(self) -> None:
        self.process.kill()
        self.process.join()
        self.conn.close()


class QueryProcesses:
    """At most ``size`` queries evaluated at once, each in a child process of its own;
    an overrunning query is killed with its process."""

    stops_overruns = True

    def __init__(self, location: StoreLocation, size: int, wait: float,
                 store_timeout: float) -> None:
        self._location = location
        self._store_timeout = store_timeout
        self.size = max(1, size)
        self.wait = wait
        self._sem = threading.BoundedSemaphore(self.size)
        self._lock = threading.Lock()
        self._idle: list[_Child] = []
        self._busy: set[_Child] = set()
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(["kg.web.executor"])
        self.killed = 0

    @property
    def in_use(self) -> int:
        return len(self._busy)

    def warm(self) -> None:
        """Start one query process now, so that the first query does not wait for it."""
        child = self._spawn()
        with self._lock:
            self._idle.append(child)

    def _spawn(self) -> _Child:
        parent, child_end = self._context.Pipe()
        process = self._context.Process(
            target=_child_main, args=(child_end, self._location, self._store_timeout, os.getpid()),
            name="kg-query", daemon=True)
        process.start()
        child_end.close()
        return _Child(process, parent)

    def _take(self) -> _Child:
        with self._lock:
            while self._idle:
                child = self._idle.pop()
                if child.process.is_alive():
                    self._busy.add(child)
                    return child
                child.conn.close()
        child = self._spawn()
        with self._lock:
            self._busy.add(child)
        return child

    def _release(self, child: _Child, *, keep: bool) -> None:
        with self._lock:
            self._busy.discard(child)
            if keep:
                self._idle.append(child)
        if not keep:
            child.kill()

    def run(self, job: QueryJob, timeout: float) -> Answer:
        if not self._sem.acquire(timeout=self.wait):
            raise Busy
        try:
            return self._run(job, timeout)
        finally:
            self._sem.release()

    def _run(self, job: QueryJob, timeout: float) -> Answer:
        child = self._take()
        deadline = time.monotonic() + timeout
        spool = Spool()
        keep = False
        try:
            child.conn.send(job)
            while True:
                if not child.conn.poll(max(0.0, deadline - time.monotonic())):
                    self.killed += 1
                    log.warning("killed the process of a query that overran its time limit "
                                "of %g s", timeout)
                    raise TimedOut
                try:
                    message = child.conn.recv_bytes()
                except (EOFError, OSError):
                    child.process.join(1)
                    raise QueryProcessDied(
                        f"the query process ended without answering (exit code "
                        f"{child.process.exitcode})") from None
                tag, body = message[:1], memoryview(message)[1:]
                if tag == DATA:
                    spool.write(body)
                    continue
                keep = True
                if tag == FAILED:
                    kind, args = pickle.loads(body)
                    raise _ERRORS[kind](*args)
                build_id, graph, fmt_name, written = pickle.loads(body)
                fmt = find(GRAPH_FORMATS if graph else RESULT_FORMATS, fmt_name)
                assert fmt is not None
                return Answer(build_id, fmt, spool, written)
        except BaseException:
            spool.close()
            raise
        finally:
            self._release(child, keep=keep)

    def close(self) -> None:
        """Stop every query process (at worker exit)."""
        with self._lock:
            children = [*self._idle, *self._busy]
            self._idle.clear()
            self._busy.clear()
        for child in children:
            child.kill()
