"""Browser fixtures: the real ``kg serve`` over the web fixture, and Debian's Chromium
driven by playwright (``executable_path=/usr/bin/chromium``; ``playwright install`` is never
run). Every page a test opens is watched: a request to any other origin, or a breach of the
Content-Security-Policy, fails the test. Screenshots go to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import os
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

from kg.localservers import free_port

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "web"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("KG_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"no Chromium at {CHROMIUM}: .ci/run must apt-get install chromium")
    pytest.skip(f"no Chromium at {CHROMIUM} (.ci/run installs Debian's chromium)",
                allow_module_level=True)

playwright_sync = pytest.importorskip("playwright.sync_api")


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="session")
def browser_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("browser") / "store"
    result = subprocess.run(
        [sys.executable, "-m", "kg", "build", "--ontology", str(FIXTURE / "ontology"),
         "--data", str(FIXTURE / "data"), "--store", str(store), "--no-validate", "--quiet"],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return store


@pytest.fixture(scope="session")
def server(browser_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``python -m kg serve`` on a free loopback port, with the fixture's queries."""
    port = free_port()
    log = tmp_path_factory.mktemp("serve-logs") / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KG_")}
    env["KG_QUERIES_DIR"] = str(FIXTURE / "queries")
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "kg", "serve", "--store", str(browser_store),
             "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)
    srv = Server(f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise AssertionError(f"kg serve exited {process.returncode}:\n{log.read_text()}")
        try:
            if requests.get(srv.url + "/healthz", timeout=2).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            srv.stop()
            raise AssertionError(f"kg serve did not start:\n{log.read_text()}")
        time.sleep(0.1)
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    with playwright_sync.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@dataclass
class Watch:
    """What a page did: every request, requests to other origins, CSP breaches, errors."""

    origin: str
    requests: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    csp: list[str] = field(default_factory=list)


@pytest.fixture()
def watch(server: Server) -> Watch:
    return Watch(server.url)


@pytest.fixture()
def page(browser, server: Server, watch: Watch) -> Iterator[object]:
    """A fresh page; fails the test if it called another origin or breached the CSP."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")

    def route(r) -> None:
        url = r.request.url
        watch.requests.append(url)
        if url.startswith(server.url + "/") or url.startswith(("data:", "blob:")):
            r.continue_()
        else:
            watch.foreign.append(url)
            r.abort()

    context.route("**/*", route)
    pg = context.new_page()
    pg.set_default_timeout(15_000)

    def on_console(msg) -> None:
        if msg.type == "error":
            watch.console_errors.append(msg.text)
            if "Content Security Policy" in msg.text:
                watch.csp.append(msg.text)

    pg.on("console", on_console)
    yield pg
    context.close()
    assert not watch.foreign, f"requests to other origins: {watch.foreign}"
    assert not watch.csp, f"Content-Security-Policy breaches: {watch.csp}"


@pytest.fixture(scope="session", autouse=True)
def _clean_screenshots() -> None:
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
