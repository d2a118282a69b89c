"""Query processes (kg.web.executor.QueryProcesses): real child processes on a real store.

An overrunning query is killed with its process and the next query is answered; errors
cross the pipe as the same exceptions the thread runner raises; a large answer streams
across in chunks; a process that dies is replaced.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import build_endpoint_store
from kg.errors import StoreError
from kg.web.executor import CHUNK, QueryJob, QueryProcessDied, QueryProcesses
from kg.web.limits import Busy, TimedOut
from kg.web.negotiation import NotAcceptable

SLOW = "SELECT (COUNT(*) AS ?c) WHERE { ?a ?p ?b . ?c ?q ?d . ?e ?r ?f . ?g ?h ?i }"
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"


def job(text: str, *, accept: str | None = None, fmt: str | None = "json",
        max_rows: int = 100_000) -> QueryJob:
    return QueryJob(text, True, (), (), None, accept, None, fmt, max_rows)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_endpoint_store(tmp_path_factory.mktemp("executor") / "store")


@pytest.fixture
def processes(store: Path) -> Iterator[QueryProcesses]:
    runner = QueryProcesses(store, 2, 0.2, 30)
    yield runner
    runner.close()


def body(answer: object) -> bytes:
    data = answer.spool.body()  # type: ignore[attr-defined]
    return data if isinstance(data, bytes) else b"".join(data)


def count(runner: QueryProcesses) -> int:
    answer = runner.run(job(COUNT), 30)
    return int(json.loads(body(answer))["results"]["bindings"][0]["n"]["value"])


def test_answers_with_format_rows_and_build(processes: QueryProcesses, store: Path) -> None:
    answer = processes.run(job("SELECT ?s WHERE { ?s ?p ?o } LIMIT 3"), 30)
    assert answer.format.name == "json"
    assert answer.written.rows == 3 and not answer.written.truncated
    assert len(json.loads(body(answer))["results"]["bindings"]) == 3
    assert answer.build_id == (store.parent / os.readlink(store)).name
    assert processes.in_use == 0


def test_overrun_is_killed_and_the_next_query_answers(processes: QueryProcesses) -> None:
    processes.warm()
    [child] = processes._idle
    started = time.monotonic()
    with pytest.raises(TimedOut):
        processes.run(job(SLOW), 0.5)
    assert time.monotonic() - started < 3
    assert not child.process.is_alive(), "the overrunning process must be gone"
    assert processes.killed == 1 and processes.in_use == 0
    assert count(processes) > 0


def test_errors_cross_as_the_same_exceptions(processes: QueryProcesses) -> None:
    with pytest.raises(SyntaxError, match="1:"):
        processes.run(job("SELEC nothing"), 30)
    with pytest.raises(NotAcceptable):
        processes.run(job("CONSTRUCT WHERE { ?s ?p ?o }", accept="image/png", fmt=None), 30)
    assert count(processes) > 0  # the same process, still serving
    assert len(processes._idle) == 1


def test_graph_results_choose_a_graph_format(processes: QueryProcesses) -> None:
    answer = processes.run(job("CONSTRUCT WHERE { ?s ?p ?o }", accept="text/turtle",
                               fmt=None), 30)
    assert answer.format.media_type == "text/turtle"
    assert answer.written.rows and answer.written.rows > 0


def test_a_large_answer_streams_in_chunks(processes: QueryProcesses) -> None:
    rows = 60_000
    text = ("SELECT ?i ?pad WHERE { VALUES ?x { 0 1 2 3 4 5 6 7 8 9 } "
            "VALUES ?y { 0 1 2 3 4 5 6 7 8 9 } VALUES ?z { 0 1 2 3 4 5 6 7 8 9 } "
            "VALUES ?w { 0 1 2 3 4 5 6 7 8 9 } VALUES ?v { 0 1 2 3 4 5 } "
            "BIND(?x + 10 * ?y + 100 * ?z + 1000 * ?w + 10000 * ?v AS ?i) "
            'BIND("0123456789012345678901234567890123456789" AS ?pad) }')
    answer = processes.run(job(text, fmt="csv", max_rows=rows - 1), 30)
    data = body(answer)
    assert answer.spool.size == len(data) > CHUNK
    assert answer.written.rows == rows - 1 and answer.written.truncated
    lines = data.decode().splitlines()
    assert len(lines) == rows and lines[0] == "i,pad"
    numbers = {int(line.split(",")[0]) for line in lines[1:]}
    assert len(numbers) == rows - 1 and numbers <= set(range(rows))


def test_a_process_that_dies_is_replaced(processes: QueryProcesses) -> None:
    processes.warm()
    [child] = processes._idle
    stop = threading.Timer(0.3, os.kill, (child.process.pid, signal.SIGKILL))
    stop.start()
    with pytest.raises(QueryProcessDied, match="exit code -9"):
        processes.run(job(SLOW), 30)
    stop.join()
    assert count(processes) > 0
    assert processes.in_use == 0


def test_busy_when_every_process_stays_taken(processes: QueryProcesses) -> None:
    errors: list[BaseException] = []

    def overrun() -> None:
        try:
            processes.run(job(SLOW), 1.5)
        except BaseException as e:
            errors.append(e)

    holders = [threading.Thread(target=overrun) for _ in range(2)]
    for t in holders:
        t.start()
    time.sleep(0.5)
    with pytest.raises(Busy):
        processes.run(job(COUNT), 30)
    for t in holders:
        t.join()
    assert [type(e) for e in errors] == [TimedOut, TimedOut]
    assert count(processes) > 0


def test_a_missing_store_is_a_store_error(tmp_path: Path) -> None:
    runner = QueryProcesses(tmp_path / "nowhere", 1, 0.2, 30)
    try:
        with pytest.raises(StoreError, match="kg build"):
            runner.run(job(COUNT), 30)
    finally:
        runner.close()


def test_close_stops_every_process(store: Path) -> None:
    runner = QueryProcesses(store, 2, 0.2, 30)
    runner.warm()
    runner.warm()
    children = [c.process for c in runner._idle]
    runner.close()
    assert children and not any(p.is_alive() for p in children)
