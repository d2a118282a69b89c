"""Shared fixtures: stores built from the repository's own ontology and data."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
KG = [sys.executable, "-m", "kg"]
ENDPOINT_FIXTURE = ROOT / "tests" / "fixtures" / "endpoint"


def build_endpoint_store(store: Path) -> Path:
    """The small endpoint fixture (``tests/fixtures/endpoint``) built in process into
    ``store``, without reasoning: what the web tests query."""
    from kg.build import BuildOptions, run_build

    run_build(BuildOptions(ontology=(ENDPOINT_FIXTURE / "ontology",),
                           data=(ENDPOINT_FIXTURE / "data",), store=store, reasoner="none"))
    return store


def unprivileged(command: list[str]) -> list[str]:
    """``command`` run so that file modes apply to it: as root, without the capabilities
    that let root read and write whatever the modes say (CAP_DAC_OVERRIDE and
    CAP_DAC_READ_SEARCH). It keeps root's uid, so it still reaches the checkout wherever
    that lies (a clone in a ``mktemp -d`` folder is closed to other users)."""
    if os.geteuid() != 0:
        return command
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *command]


def run_kg(*args: str, cwd: Path | None = None, check: bool = False,
           timeout: float = 300, env: dict[str, str] | None = None
           ) -> subprocess.CompletedProcess[str]:
    """Run the real ``kg`` command as a subprocess and capture its output."""
    full_env = {**os.environ, **(env or {})}
    result = subprocess.run([*KG, *args], cwd=cwd or ROOT, capture_output=True, text=True,
                            timeout=timeout, env=full_env)
    if check and result.returncode != 0:
        raise AssertionError(
            f"kg {' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
    return result


def _build(tmp: Path, *extra: str) -> Path:
    store = tmp / "store"
    run_kg("build", "--ontology", str(ROOT / "ontology"), "--data", str(ROOT / "data"),
           "--store", str(store), "--quiet", *extra, check=True)
    return store


@pytest.fixture(scope="session")
def built_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store built from ontology/ and data/ with the default reasoner (fast)."""
    return _build(tmp_path_factory.mktemp("built"))


@pytest.fixture(scope="session")
def built_store_noreason(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same store built with ``--reasoner none``."""
    return _build(tmp_path_factory.mktemp("built-noreason"), "--reasoner", "none")
