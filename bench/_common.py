"""Shared helpers of the benchmarks: the machine they ran on, Markdown tables, and the
sections of ``bench/RESULTS.md`` each benchmark owns (replaced on every run)."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
RESULTS = BENCH / "RESULTS.md"
LUBM = ROOT.parent / "shared" / "bench-data" / "lubm"
KG = [sys.executable, "-m", "kg"]

PACKAGES = ("duikou-kg", "rdflib", "pyoxigraph", "owlrl", "pyshacl")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_total() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 2**20:.0f} GiB"
    except OSError:
        pass
    return "unknown"


def versions() -> str:
    found = []
    for name in PACKAGES:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return ", ".join(found)


def machine() -> str:
    """One Markdown paragraph: date, cores, CPU, memory, Python and package versions."""
    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"Run {now} on {os.cpu_count()} cores ({cpu_model()}), {memory_total()} RAM, "
        f"Python {platform.python_version()}; {versions()}. The cores are shared with other "
        "work on this machine, so times are noisy (expect ±20 %)."
    )


def table(headers: Sequence[str], rows: Sequence[Sequence[object]],
          align: str | None = None) -> str:
    """A Markdown table; ``align`` is one letter per column (``l`` or ``r``)."""
    align = align or "l" + "r" * (len(headers) - 1)
    marks = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(marks) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_section(heading: str, body: str, path: Path = RESULTS) -> None:
    """Replace the ``## heading`` section of RESULTS.md with ``body`` (append it if new)."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    section = f"## {heading}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(heading)}\n.*?(?=^## |\Z)", re.M | re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    path.write_text(text, encoding="utf-8")


def fmt_int(n: int | None) -> str:
    return "–" if n is None else f"{n:,}"


def fmt_s(s: float | None) -> str:
    if s is None:
        return "–"
    return f"{s:.2f}" if s < 10 else f"{s:.1f}"


def store_build_info(store: Path) -> dict:
    """``build.json`` of the generation ``store`` links to."""
    import json

    target = store.parent / os.readlink(store)
    return json.loads((target / "build.json").read_text(encoding="utf-8"))


class TimedOut(Exception):
    pass


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`TimedOut` in this (main) thread after ``seconds``. Pure-Python work
    (owlrl, rdflib) is interrupted at once; native calls when they return to Python."""

    def _raise(signum: int, frame: object) -> None:
        raise TimedOut(f"over the {seconds:.0f} s budget")

    old = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


class OverMemory(int):
    """The status of a run killed for going over its memory limit."""


def run_measured(cmd: Sequence[str], budget: float, cwd: Path = ROOT,
                 max_rss: int | None = None) -> tuple[int | None, float, int, str]:
    """Run ``cmd``, killing it (and its process group) after ``budget`` seconds, or as soon
    as its resident memory exceeds ``max_rss`` bytes (checked ten times a second, so that
    the machine's OOM killer never has to pick a victim among other people's processes).

    Returns (exit status, or None when killed over time, or an :class:`OverMemory` when
    killed over memory; wall seconds; peak RSS in bytes of the process and its waited-for
    children, from ``wait4``'s rusage; stderr).
    """
    started = time.perf_counter()
    with open(os.devnull, "wb") as devnull:
        proc = subprocess.Popen(list(cmd), cwd=cwd, stdout=devnull, stderr=subprocess.PIPE,
                                start_new_session=True)
    assert proc.stderr is not None
    os.set_blocking(proc.stderr.fileno(), False)
    err = bytearray()
    status: int | None = None
    rss = 0
    while True:
        chunk = proc.stderr.read()
        if chunk:
            err += chunk
        pid, raw, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            status = os.waitstatus_to_exitcode(raw)
            rss = usage.ru_maxrss * 1024
            proc.returncode = status
            break
        over_memory = max_rss is not None and _rss(proc.pid) > max_rss
        if over_memory or time.perf_counter() - started > budget:
            os.killpg(proc.pid, signal.SIGKILL)
            _, raw, usage = os.wait4(proc.pid, 0)
            rss = usage.ru_maxrss * 1024
            proc.returncode = -9
            status = OverMemory(-9) if over_memory else None
            break
        time.sleep(0.1)
    seconds = time.perf_counter() - started
    rest = proc.stderr.read()
    if rest:
        err += rest
    proc.stderr.close()
    return status, seconds, rss, err.decode("utf-8", "replace")
