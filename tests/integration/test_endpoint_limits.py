"""The limits that protect the server, on the real process: the time limit really stops
the query (its process is killed) while others keep answering, the busy refusal, and
graceful shutdown."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from .conftest import SLOW_QUERY, Server, start_server
from .processes import settled_workers, tree_cpu_ticks, worker_pids

CHEAP = "ASK { ?s ?p ?o }"


def test_timeout_is_503_and_others_keep_being_answered(server: Server) -> None:
    workers = settled_workers(server.process.pid, 2)
    slow: dict[str, object] = {}

    def run_slow() -> None:
        started = time.monotonic()
        r = requests.post(server.sparql, data={"query": SLOW_QUERY}, timeout=30)
        slow["response"], slow["seconds"] = r, time.monotonic() - started

    thread = threading.Thread(target=run_slow)
    thread.start()
    latencies, statuses = [], []
    while thread.is_alive():
        started = time.monotonic()
        r = requests.get(server.sparql, params={"query": CHEAP}, timeout=10)
        latencies.append(time.monotonic() - started)
        statuses.append(r.status_code)
    thread.join()
    r = slow["response"]
    assert isinstance(r, requests.Response)
    assert r.status_code == 503
    assert "time limit of 1 s" in r.text and "KG_QUERY_TIMEOUT" in r.text
    assert r.headers["Retry-After"]
    assert 0.9 < slow["seconds"] < 5  # type: ignore[operator]
    assert statuses and set(statuses) == {200}
    assert max(latencies) < 1.0
    # the query's process was killed; the workers themselves serve on, unchanged
    assert "killed the process of a query that overran" in server.log()
    assert worker_pids(server.process.pid) == workers
    for _ in range(20):
        assert requests.get(server.sparql, params={"query": CHEAP}, timeout=10).ok
    assert "SIGSEGV" not in server.log() and "retires" not in server.log()
    # and nothing burns on: the whole server spends well under a core while idle
    before = tree_cpu_ticks(server.process.pid)
    time.sleep(1)
    assert tree_cpu_ticks(server.process.pid) - before < 30  # clock ticks (1/100 s)


def test_concurrent_timeouts_leave_the_server_healthy(server: Server) -> None:
    with ThreadPoolExecutor(4) as pool:
        slow = [pool.submit(requests.post, server.sparql, data={"query": SLOW_QUERY},
                            timeout=30) for _ in range(2)]
        cheap = [pool.submit(requests.get, server.sparql, params={"query": CHEAP}, timeout=10)
                 for _ in range(20)]
        assert {f.result().status_code for f in slow} == {503}
        assert {f.result().status_code for f in cheap} == {200}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if requests.get(server.url + "/healthz", timeout=10).status_code == 200:
            break
    assert requests.get(server.sparql, params={"query": CHEAP}, timeout=10).ok


@pytest.fixture(scope="module")
def busy_server(fixture_store: Path, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[Server]:
    """One worker with one query slot and a short queue; a 3 s time limit."""
    srv = start_server(fixture_store, tmp_path_factory.mktemp("logs"), "--workers", "1",
                       "--max-inflight", "1", "--queue-timeout", "0.2",
                       "--query-timeout", "3")
    yield srv
    srv.stop()


def test_busy_is_503_with_retry_after(busy_server: Server) -> None:
    with ThreadPoolExecutor(2) as pool:
        slow = pool.submit(requests.post, busy_server.sparql, data={"query": SLOW_QUERY},
                           timeout=30)
        time.sleep(0.5)
        r = requests.get(busy_server.sparql, params={"query": CHEAP}, timeout=10)
        assert r.status_code == 503
        assert r.headers["Retry-After"] == "1"
        assert "busy" in r.text and "KG_MAX_INFLIGHT" in r.text
        # health checks are not queries: they are answered meanwhile
        assert requests.get(busy_server.url + "/healthz", timeout=10).status_code == 200
        assert slow.result().status_code == 503


def test_sigterm_finishes_requests_in_flight(fixture_store: Path,
                                             tmp_path_factory: pytest.TempPathFactory) -> None:
    srv = start_server(fixture_store, tmp_path_factory.mktemp("logs"), "--workers", "1",
                       "--query-timeout", "1")
    with ThreadPoolExecutor(1) as pool:
        # a query that runs into its 1 s limit is in flight when SIGTERM arrives
        pending = pool.submit(requests.post, srv.sparql, data={"query": SLOW_QUERY},
                              timeout=30)
        time.sleep(0.3)
        started = time.monotonic()
        code = srv.stop()
        assert pending.result().status_code == 503  # answered, not dropped
    assert code == 0
    assert time.monotonic() - started < 10
    assert "Shutting down" in srv.log() or "Handling signal: term" in srv.log()


def test_slow_clients_do_not_hold_up_others(server: Server) -> None:
    """40 connections that never finish their headers (slowloris) hold no thread: other
    requests are answered at once meanwhile."""
    host, port = server.url.removeprefix("http://").split(":")
    slow = [socket.create_connection((host, int(port)), timeout=5) for _ in range(40)]
    try:
        for s in slow:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        latencies = []
        for _ in range(10):
            started = time.monotonic()
            assert requests.get(server.url + "/healthz", timeout=10).status_code == 200
            latencies.append(time.monotonic() - started)
            for s in slow:
                s.sendall(b"X-Slow: 1\r\n")
            time.sleep(0.1)
        assert max(latencies) < 1.0
    finally:
        for s in slow:
            s.close()
