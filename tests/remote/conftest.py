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
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kg.localservers import LocalServer, start_oxigraph, start_virtuoso, virtuoso_binary

ROOT = Path(__file__).resolve().parents[2]
KG = [sys.executable, "-m", "kg"]


@dataclass
class Remote(LocalServer):
    """A running SPARQL server, with ``kg`` verbs pointed at it."""

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


def _virtuoso(folder: Path) -> LocalServer:
    if virtuoso_binary() is None:
        message = ("virtuoso-t is not installed (Debian package virtuoso-opensource; "
                   ".ci/run installs it)")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return start_virtuoso(folder)


SERVERS: dict[str, Callable[[Path], LocalServer]] = {
    "virtuoso": _virtuoso, "oxigraph": start_oxigraph}


@pytest.fixture(scope="session", params=sorted(SERVERS))
def remote(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Remote]:
    """Each server in turn, running and built with ``kg build --store URL`` from ontology/
    and data/ (the same inputs as the embedded ``built_store``)."""
    started = SERVERS[request.param](tmp_path_factory.mktemp(request.param) / "db")
    server = Remote(**{f: getattr(started, f) for f in started.__dataclass_fields__})
    try:
        server.kg("build", "--ontology", str(ROOT / "ontology"), "--data", str(ROOT / "data"),
                  "--quiet")
        yield server
    finally:
        server.stop()
