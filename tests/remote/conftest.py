"""Remote-store fixtures: real SPARQL servers on loopback, each built with ``kg build --store
URL`` from the repository's ontology and data.

- Virtuoso open source 7 from Debian (``virtuoso-t``): a throwaway database folder, free
  ports, the dba password changed offline to a random one first; stopped at the end.
- The Oxigraph server from PyPI (``oxigraph serve``), a separate process.

Without ``virtuoso-t`` the Virtuoso half is skipped with the reason, except under CI
(``CI`` set), where it fails: ``.ci/run`` installs ``virtuoso-opensource``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from integration.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
KG = [sys.executable, "-m", "kg"]

VIRTUOSO_INI = """\
[Database]
DatabaseFile = virtuoso.db
ErrorLogFile = virtuoso.log
LockFile = virtuoso.lck
TransactionFile = virtuoso.trx
xa_persistent_file = virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
MaxCheckpointRemap = 2000
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = virtuoso-temp.db
TransactionFile = virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping = 0

[Parameters]
ServerPort = 127.0.0.1:{sql_port}
DisableUnixSocket = 1
DisableTcpSocket = 0
MaxClientConnections = 10
CheckpointInterval = 60
O_DIRECT = 0
CaseMode = 2
MaxStaticCursorRows = 5000
AllowOSCalls = 0
DirsAllowed = .
NumberOfBuffers = 100000
MaxDirtyBuffers = 75000
ThreadsPerQuery = 2

[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = .
MaxClientConnections = 10
ServerThreads = 10
Charset = UTF-8
EnabledGzipContent = 0

[SPARQL]
ResultSetMaxRows = 1000000
MaxQueryExecutionTime = 120
MaxQueryCostEstimationTime = 400
"""
"""A minimal virtuoso.ini: no VADInstallDir (it adds ~20 s to the first start), loopback
only, and a result cap above any of our graphs (Debian's default is 10000 rows)."""


@dataclass
class Remote:
    """A running SPARQL server and how ``kg`` reaches it."""

    name: str
    query: str
    update: str
    data: str
    process: subprocess.Popen
    folder: Path
    env: dict[str, str] = field(default_factory=dict)  # credentials, as KG_STORE_* vars

    @property
    def store_args(self) -> list[str]:
        return ["--store", self.query, "--store-update", self.update, "--store-data", self.data]

    def kg(self, *args: str, check: bool = True, timeout: float = 300
           ) -> subprocess.CompletedProcess[str]:
        """``kg ARGS --store URL …`` with the server's credentials in the environment."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("KG_")}
        env.update(self.env)
        result = subprocess.run([*KG, *args, *self.store_args], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"kg {' '.join(args)} on {self.name} exited "
                                 f"{result.returncode}\n{result.stdout}\n{result.stderr}")
        return result

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _wait_ready(url: str, process: subprocess.Popen, log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{url}: the server exited {process.returncode}:\n"
                                 + (log.read_text(errors="replace") if log.exists() else ""))
        try:
            resp = requests.get(url, params={"query": "ASK {}"}, timeout=2,
                                headers={"Accept": "application/sparql-results+json"})
            if resp.status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {seconds} s:\n"
                         + (log.read_text(errors="replace") if log.exists() else ""))


def start_virtuoso(folder: Path) -> Remote:
    """Virtuoso in ``folder`` on free loopback ports, with a random dba password."""
    binary = shutil.which("virtuoso-t")
    if binary is None:
        message = ("virtuoso-t is not installed (Debian package virtuoso-opensource; "
                   ".ci/run installs it)")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    folder.mkdir(parents=True, exist_ok=True)
    http_port, sql_port = free_port(), free_port()
    ini = folder / "virtuoso.ini"
    ini.write_text(VIRTUOSO_INI.format(http_port=http_port, sql_port=sql_port))
    password = "kg-" + secrets.token_hex(8)
    # the password is changed offline, on a database that listens to nobody yet
    subprocess.run([binary, "+foreground", "+configfile", str(ini), "+pwdold", "dba",
                    "+pwddba", password], cwd=folder, check=True, timeout=120,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(folder / "stdout.log", "wb") as out:
        process = subprocess.Popen([binary, "+foreground", "+configfile", str(ini)],
                                   cwd=folder, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{http_port}"
    remote = Remote("virtuoso", base + "/sparql", base + "/sparql-auth",
                    base + "/sparql-graph-crud-auth", process, folder,
                    {"KG_STORE_USER": "dba", "KG_STORE_PASSWORD": password})
    try:
        _wait_ready(remote.query, process, folder / "virtuoso.log", 90)
    except BaseException:
        remote.stop()
        raise
    return remote


def start_oxigraph(folder: Path) -> Remote:
    """``oxigraph serve`` on a free loopback port, with its database in ``folder``."""
    binary = shutil.which("oxigraph") or str(Path(sys.executable).parent / "oxigraph")
    if not Path(binary).exists():
        pytest.fail("the oxigraph server is not installed (PyPI package oxigraph, in the "
                    "test extra)")
    port = free_port()
    with open(folder.parent / f"{folder.name}.log", "wb") as out:
        process = subprocess.Popen([binary, "serve", "--location", str(folder), "--bind",
                                    f"127.0.0.1:{port}"], stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    remote = Remote("oxigraph", base + "/query", base + "/update", base + "/store",
                    process, folder)
    try:
        _wait_ready(remote.query, process, folder.parent / f"{folder.name}.log", 30)
    except BaseException:
        remote.stop()
        raise
    return remote


SERVERS = {"virtuoso": start_virtuoso, "oxigraph": start_oxigraph}


@pytest.fixture(scope="session", params=sorted(SERVERS))
def remote(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Remote]:
    """Each server in turn, running and built with ``kg build --store URL`` from ontology/
    and data/ (the same inputs as the embedded ``built_store``)."""
    server = SERVERS[request.param](tmp_path_factory.mktemp(request.param) / "db")
    try:
        server.kg("build", "--ontology", str(ROOT / "ontology"), "--data", str(ROOT / "data"),
                  "--quiet")
        yield server
    finally:
        server.stop()
