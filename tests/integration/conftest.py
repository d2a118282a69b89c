"""Integration fixtures: the real ``kg serve`` on a free loopback port, over a store built
from the self-contained fixture in ``tests/fixtures/endpoint/``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from conftest import unprivileged
from kg.localservers import free_port

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "endpoint"
TOKEN = "s3cret-test-token"
DIV = "https://w3id.org/duikou/id/division/"
DK = "https://w3id.org/duikou/ontology#"
SLOW_QUERY = "SELECT (COUNT(*) AS ?c) WHERE { ?a ?p ?b . ?c ?q ?d . ?e ?r ?f }"


def build_fixture(store: Path, *extra: str, data: Path | None = None) -> Path:
    """``kg build`` of the fixture (or of ``data`` with the fixture ontology) into ``store``."""
    result = subprocess.run(
        [sys.executable, "-m", "kg", "build", "--ontology", str(FIXTURE / "ontology"),
         "--data", str(data or FIXTURE / "data"), "--store", str(store), "--quiet", *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return store


@dataclass
class Server:
    """A running ``kg serve``: its base URL, process and log files."""

    url: str
    process: subprocess.Popen
    store: Path
    stdout: Path
    stderr: Path

    @property
    def sparql(self) -> str:
        return self.url + "/sparql"

    def log(self) -> str:
        return self.stdout.read_text() + self.stderr.read_text()

    def stop(self, timeout: float = 20) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode


def start_server(store: Path, logs: Path, *args: str, env: dict[str, str] | None = None,
                 wait: float = 30, privileged: bool = True) -> Server:
    """Start ``python -m kg serve`` and wait until ``/healthz`` answers 200; with
    ``privileged=False``, subject to file modes (see :func:`conftest.unprivileged`)."""
    port = free_port()
    logs.mkdir(parents=True, exist_ok=True)
    out, err = logs / f"serve-{port}.out", logs / f"serve-{port}.err"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("KG_")}
    full_env.update(env or {})
    command = [sys.executable, "-m", "kg", "serve", "--store", str(store), "--host",
               "127.0.0.1", "--port", str(port), *args]
    if not privileged:
        command = unprivileged(command)
    with open(out, "wb") as o, open(err, "wb") as e:
        # a session of its own, so that a server that will not stop can be killed whole
        process = subprocess.Popen(command, cwd=ROOT, stdout=o, stderr=e, env=full_env,
                                   start_new_session=True)
    server = Server(f"http://127.0.0.1:{port}", process, store, out, err)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"kg serve exited {process.returncode}:\n{server.log()}")
        try:
            if requests.get(server.url + "/healthz", timeout=2).status_code == 200:
                return server
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    server.stop()
    raise AssertionError(f"kg serve did not become healthy in {wait} s:\n{server.log()}")


@pytest.fixture(scope="session")
def fixture_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The endpoint fixture built once (owlrl), read by the read-only servers."""
    return build_fixture(tmp_path_factory.mktemp("endpoint") / "store")


@pytest.fixture(scope="session")
def server(fixture_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The read-only server: 2 workers, a 1 s time limit, at most 200 rows, 64 KiB bodies."""
    srv = start_server(fixture_store, tmp_path_factory.mktemp("logs"), "--workers", "2",
                       env={"KG_QUERY_TIMEOUT": "1", "KG_MAX_ROWS": "200",
                            "KG_MAX_BODY": "65536", "KG_CORS_ORIGINS": "*"})
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def update_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with an update token, over its own store."""
    store = build_fixture(tmp_path_factory.mktemp("updatable") / "store", "--reasoner", "none")
    srv = start_server(store, tmp_path_factory.mktemp("logs"), "--workers", "2",
                       "--update-token", TOKEN)
    yield srv
    srv.stop()
