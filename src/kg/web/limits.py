"""Limits that protect the server: queries in flight, and the time a query may take.

pyoxigraph cannot be interrupted from Python (a signal handler never runs while Rust
evaluates), but it releases the GIL. So a query runs in a daemon thread and the request
thread waits for it with the time limit. When the limit passes the client gets a 503 at
once, but the work cannot be stopped in its thread: it finishes in the background and keeps
its slot until it does. That is why ``kg serve`` evaluates queries on an embedded store in
killable processes instead (:mod:`kg.web.executor`); threads serve ``--dev``, apps built in
tests, and remote stores, whose server stops its own queries.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import TypeVar

log = logging.getLogger("kg.web")

T = TypeVar("T")


class Busy(Exception):
    """Every query slot stayed taken for the whole queue time."""


class TimedOut(Exception):
    """The work did not finish within the time limit; it may still be running."""


class _Job:
    __slots__ = ("abandoned", "done", "error", "value", "work")

    def __init__(self, work: Callable[[], object]) -> None:
        self.work = work
        self.done = threading.Event()
        self.value: object = None
        self.error: BaseException | None = None
        self.abandoned = False


class QuerySlots:
    """At most ``size`` queries evaluated at once in this process; others wait a while.

    The work runs on a small pool of daemon threads (one per slot, started on first use),
    which saves starting a thread per request. A thread stuck in a runaway query keeps its
    slot, so a free slot always finds a free thread.
    """

    def __init__(self, size: int, wait: float) -> None:
        self.size = max(1, size)
        self.wait = wait
        self._sem = threading.BoundedSemaphore(self.size)
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._threads = 0
        self._idle = 0
        self.in_use = 0
        self.runaway = 0

    def run(self, work: Callable[[], T], timeout: float) -> T:
        """Run ``work`` on a query thread and wait at most ``timeout`` seconds for it.

        Raises :class:`Busy` if no slot frees within the queue time, :class:`TimedOut`
        if the work overruns (the slot stays taken until the work really ends), and
        whatever ``work`` raised otherwise.
        """
        if not self._sem.acquire(timeout=self.wait):
            raise Busy
        job = _Job(work)
        with self._lock:
            self.in_use += 1
            if self._idle == 0:
                self._threads += 1
                self._idle += 1
                threading.Thread(target=self._serve, name=f"kg-query-{self._threads}",
                                 daemon=True).start()
            self._idle -= 1
        self._jobs.put(job)
        if not job.done.wait(timeout):
            with self._lock:
                if not job.done.is_set():
                    job.abandoned = True
                    self.runaway += 1
            if job.abandoned:
                raise TimedOut
        if job.error is not None:
            raise job.error
        return job.value  # type: ignore[return-value]

    def _serve(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                job.value = job.work()
            except BaseException as e:  # handed to the request thread
                job.error = e
            with self._lock:
                job.done.set()
                self.in_use -= 1
                self._idle += 1
                if job.abandoned:
                    self.runaway -= 1
                    log.warning("a query that overran its time limit has now finished")
            self._sem.release()
            del job  # the request thread holds the result; do not keep it alive here
