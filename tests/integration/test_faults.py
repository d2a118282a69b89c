"""Faults while serving, on real processes: a worker killed mid-query, a build that fails
or races another while the server runs, and stores that cannot be served.

Covered elsewhere and not repeated here: SIGTERM drains requests in flight
(``test_endpoint_limits.py::test_sigterm_finishes_requests_in_flight``), a query over the
time limit retires its worker (same file), a killed or failed build leaves the previous
store and a second build refuses while one holds the lock (``tests/test_cli.py``), a new
build is served without restart (``test_endpoint_update.py``).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from conftest import unprivileged

from .conftest import (
    FIXTURE,
    ROOT,
    SLOW_QUERY,
    Server,
    build_fixture,
    start_server,
)
from .processes import cpu_ticks, settled_workers, tree_cpu_ticks, tree_pids, worker_pids

KG = [sys.executable, "-m", "kg"]
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
MANY = 300_000


def count(server: Server) -> tuple[int, str]:
    r = requests.get(server.sparql, params={"query": COUNT}, timeout=10)
    assert r.status_code == 200, r.text
    return int(r.json()["results"]["bindings"][0]["n"]["value"]), r.headers["X-KG-Build-Id"]


# --- a worker killed mid-query -------------------------------------------------------------


def test_worker_killed_mid_query_is_replaced(fixture_store: Path,
                                             tmp_path_factory: pytest.TempPathFactory) -> None:
    srv = start_server(fixture_store, tmp_path_factory.mktemp("logs"), "--workers", "2",
                       "--query-timeout", "20")
    try:
        before = settled_workers(srv.process.pid, 2)
        ticks = {pid: tree_cpu_ticks(pid) for pid in before}
        outcome: dict[str, object] = {}

        def slow() -> None:
            try:
                outcome["status"] = requests.post(srv.sparql, data={"query": SLOW_QUERY},
                                                  timeout=30).status_code
            except requests.RequestException as e:
                outcome["error"] = e

        thread = threading.Thread(target=slow)
        thread.start()
        time.sleep(1.0)  # the cross join now burns CPU in one worker's query process
        busy = max(before, key=lambda pid: tree_cpu_ticks(pid) - ticks[pid])
        helpers = tree_pids(busy) - {busy}  # its query processes, forkserver, tracker
        assert helpers
        os.kill(busy, signal.SIGKILL)
        thread.join(30)
        assert not thread.is_alive()
        # the client of the killed worker gets a closed connection (or a 5xx), not a hang
        assert "error" in outcome or outcome.get("status", 0) >= 500  # type: ignore[operator]
        # granian replaces the worker, and the next requests succeed
        deadline = time.monotonic() + 20
        after = worker_pids(srv.process.pid)
        while (busy in after or len(after) < 2) and time.monotonic() < deadline:
            time.sleep(0.1)
            after = worker_pids(srv.process.pid)
        assert busy not in after and len(after) == 2, srv.log()[-2000:]
        # the dead worker's query process stopped its runaway query and exited, and its
        # forkserver with it: nothing is left burning CPU for nobody
        deadline = time.monotonic() + 10
        while any(cpu_ticks(pid) for pid in helpers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(cpu_ticks(pid) for pid in helpers)
        for _ in range(20):
            assert count(srv)[0] > 0
        assert srv.process.poll() is None
    finally:
        assert srv.stop() == 0


# --- builds while the server runs ----------------------------------------------------------


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[Server]:
    """A server over its own store, which the test may rebuild."""
    store = build_fixture(tmp_path / "store", "--reasoner", "none")
    srv = start_server(store, tmp_path / "logs", "--workers", "2")
    yield srv
    srv.stop()


def test_failed_build_while_serving_keeps_the_previous_graph(own_server: Server,
                                                             tmp_path: Path) -> None:
    before = count(own_server)
    bad = tmp_path / "bad"
    bad.mkdir()
    shutil.copytree(FIXTURE / "data", bad, dirs_exist_ok=True)
    (bad / "broken.ttl").write_text("<http://e/a> <http://e/b> .\n", encoding="utf-8")
    seen: list[tuple[int, str]] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            seen.append(count(own_server))

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        result = subprocess.run(
            [*KG, "build", "--ontology", str(FIXTURE / "ontology"), "--data", str(bad),
             "--store", str(own_server.store), "--quiet"],
            cwd=ROOT, capture_output=True, text=True, timeout=120)
    finally:
        stop.set()
        poller.join()
    assert result.returncode == 2 and "broken.ttl:1:" in result.stderr
    assert "Traceback" not in result.stderr
    assert seen and set(seen) == {before}  # every answer during the build: the old graph
    assert count(own_server) == before
    # and a good build afterwards is picked up, so the server was really following the store
    build_fixture(own_server.store, "--reasoner", "none")
    deadline = time.monotonic() + 10
    while count(own_server)[1] == before[1] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert count(own_server)[1] != before[1]


def test_two_builds_at_once_second_refuses(own_server: Server, tmp_path: Path) -> None:
    """Two real builds race: the one that comes second refuses with a clear message, the
    first publishes, and the store stays whole and served throughout."""
    before = count(own_server)
    big = tmp_path / "big"
    shutil.copytree(FIXTURE / "data", big)
    with (big / "many.nt").open("w", encoding="utf-8") as f:
        for i in range(MANY):
            f.write(f"<http://e/s{i}> <http://e/p> \"{i}\" .\n")
    first = subprocess.Popen(
        [*KG, "build", "--ontology", str(FIXTURE / "ontology"), "--data", str(big),
         "--store", str(own_server.store), "--reasoner", "none", "--no-validate"],
        cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    assert first.stderr is not None
    for line in first.stderr:  # wait until the first build is under way (holds the lock)
        if line.startswith("load"):
            break
    second = subprocess.run(
        [*KG, "build", "--ontology", str(FIXTURE / "ontology"), "--data",
         str(FIXTURE / "data"), "--store", str(own_server.store), "--quiet"],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    first_rest = first.stderr.read()
    first.stderr.close()
    assert first.wait(120) == 0, first_rest
    assert second.returncode == 2, second.stderr
    errors = [x for x in second.stderr.splitlines() if x.startswith("error:")]
    assert len(errors) == 1 and "another build or update" in errors[0], second.stderr
    assert "Traceback" not in second.stderr
    assert count(own_server)[0] == before[0] + MANY
    builds = list((own_server.store.parent / "store.builds").iterdir())
    assert all((b / "build.json").exists() for b in builds), "a half-written generation"


# --- stores that cannot be served ----------------------------------------------------------


def serve_once(store: Path, *, privileged: bool = True, wait: float = 30
               ) -> subprocess.CompletedProcess[str]:
    command = [*KG, "serve", "--store", str(store), "--port", "0", "--workers", "1"]
    if not privileged:
        command = unprivileged(command)
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=wait)


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    out = result.stdout + result.stderr
    assert result.returncode == 2, out
    assert "Traceback" not in out and "Worker failed to boot" not in out, out
    lines = [x for x in result.stderr.splitlines() if x.startswith("error:")]
    assert len(lines) == 1, out
    return lines[0]


def _generation(store: Path) -> Path:
    return store.parent / os.readlink(store)


def _break(store: Path, how: str) -> None:
    gen = _generation(store)
    if how == "build.json":
        (gen / "build.json").write_text("{not json", encoding="utf-8")
    elif how == "no database":
        shutil.rmtree(gen / "oxigraph")
    elif how == "empty database":
        for f in (gen / "oxigraph").iterdir():
            f.unlink()
    elif how == "garbage database":
        for f in (gen / "oxigraph").iterdir():
            f.write_bytes(os.urandom(64))
    elif how == "dangling link":
        shutil.rmtree(gen)


@pytest.mark.parametrize(("how", "message"), [
    ("missing", "no store at"),
    ("not a store", "is not a Duikou store"),
    ("dangling link", "no store at"),
    ("build.json", "is broken"),
    ("no database", "is broken"),
    ("empty database", "cannot open the store"),
    ("garbage database", "cannot open the store"),
])
def test_serve_refuses_a_bad_store_with_one_line(fixture_store: Path, tmp_path: Path,
                                                 how: str, message: str) -> None:
    store = tmp_path / "store"
    if how == "not a store":
        store.mkdir()
        (store / "notes.txt").write_text("mine")
    elif how != "missing":
        shutil.copytree(fixture_store.parent, tmp_path, symlinks=True, dirs_exist_ok=True)
        _break(store, how)
    assert message in one_line_error(serve_once(store))


@pytest.fixture
def shared_copy(fixture_store: Path) -> Iterator[Path]:
    """A copy of the fixture store whose modes a test may change freely."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        root.chmod(0o755)
        shutil.copytree(fixture_store.parent, root / "s", symlinks=True)
        yield root / "s" / "store"


def test_unreadable_store_is_one_line(shared_copy: Path) -> None:
    """Run subject to file modes (root reads whatever the modes say)."""
    for path in (shared_copy.parent, *shared_copy.parent.rglob("*")):
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() else 0o644)
    (_generation(shared_copy) / "oxigraph").chmod(0)
    line = one_line_error(serve_once(shared_copy, privileged=False))
    assert "cannot open the store" in line and "Permission denied" in line


def test_read_only_store_is_served(shared_copy: Path) -> None:
    """A store its user cannot write to is served all the same (workers open it read-only);
    run subject to file modes over a store where nothing is writable."""
    for path in (shared_copy.parent, *shared_copy.parent.rglob("*")):
        if not path.is_symlink():
            path.chmod(0o555 if path.is_dir() else 0o444)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        work.chmod(0o777)  # the unprivileged server's TMPDIR (dump cache) and logs
        srv = start_as(shared_copy, work)
        try:
            assert count(srv)[0] > 0
            assert requests.get(srv.url + "/download/duikou.nt", timeout=30).status_code == 200
            assert requests.get(srv.url + "/id/division/330000", timeout=30).status_code == 200
        finally:
            assert srv.stop() == 0


def start_as(store: Path, work: Path, *, wait: float = 30) -> Server:
    """``kg serve`` subject to file modes, logs and TMPDIR in ``work``."""
    return start_server(store, work, "--workers", "1", env={"TMPDIR": str(work)}, wait=wait,
                        privileged=False)
