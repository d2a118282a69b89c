"""Local SPARQL servers on loopback: Virtuoso and the Oxigraph server, for trying a graph
on an established server, and for the remote-store tests and benchmarks.

Each starts in a throwaway folder on free loopback ports and is stopped with
:meth:`LocalServer.stop`. Virtuoso gets a random dba password, changed offline before it
listens to anyone; its credentials are returned as ``KG_STORE_*`` variables.
"""

from __future__ import annotations

import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from kg.config import RemoteLocation

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


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LocalServer:
    """A running SPARQL server and how ``kg`` reaches it."""

    name: str
    query: str
    update: str
    data: str
    process: subprocess.Popen
    folder: Path
    log: Path
    env: dict[str, str] = field(default_factory=dict)  # credentials, as KG_STORE_* vars

    @property
    def location(self) -> RemoteLocation:
        return RemoteLocation(self.query, self.update, self.data)

    @property
    def store_args(self) -> list[str]:
        """The ``kg`` options that point a verb at this server."""
        return ["--store", self.query, "--store-update", self.update, "--store-data", self.data]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def wait_ready(self, seconds: float) -> None:
        """Wait until the query endpoint answers ``ASK {}``; stop the server and raise
        ``RuntimeError`` with its log when it exits or does not answer in time."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.query}: the server exited "
                                   f"{self.process.returncode}:\n{self._log_text()}")
            try:
                resp = requests.get(self.query, params={"query": "ASK {}"}, timeout=2,
                                    headers={"Accept": "application/sparql-results+json"})
                if resp.status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.query} did not answer within {seconds} s:\n"
                           f"{self._log_text()}")

    def _log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def virtuoso_binary() -> str | None:
    """``virtuoso-t`` (Debian package virtuoso-opensource), or None."""
    return shutil.which("virtuoso-t")


def start_virtuoso(folder: Path, *, ready_seconds: float = 90) -> LocalServer:
    """Virtuoso in ``folder`` on free loopback ports, with a random dba password."""
    binary = virtuoso_binary()
    if binary is None:
        raise RuntimeError("virtuoso-t is not installed (Debian package virtuoso-opensource)")
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
    server = LocalServer("virtuoso", base + "/sparql", base + "/sparql-auth",
                         base + "/sparql-graph-crud-auth", process, folder,
                         folder / "virtuoso.log",
                         {"KG_STORE_USER": "dba", "KG_STORE_PASSWORD": password})
    server.wait_ready(ready_seconds)
    return server


def oxigraph_binary() -> str | None:
    """The ``oxigraph`` server CLI (PyPI package oxigraph) beside this Python, or None."""
    found = shutil.which("oxigraph") or str(Path(sys.executable).parent / "oxigraph")
    return found if Path(found).exists() else None


def start_oxigraph(folder: Path, *, ready_seconds: float = 30) -> LocalServer:
    """``oxigraph serve`` on a free loopback port, with its database in ``folder``."""
    binary = oxigraph_binary()
    if binary is None:
        raise RuntimeError("the oxigraph server is not installed (PyPI package oxigraph)")
    port = free_port()
    log = folder.parent / f"{folder.name}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([binary, "serve", "--location", str(folder), "--bind",
                                    f"127.0.0.1:{port}"], stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    server = LocalServer("oxigraph", base + "/query", base + "/update", base + "/store",
                         process, folder, log)
    server.wait_ready(ready_seconds)
    return server
