"""The server's process tree, read from ``/proc``: the server's workers, their query processes,
and the CPU time they spend."""

from __future__ import annotations

import time
from pathlib import Path


def _stats() -> dict[int, list[str]]:
    """The fields after the command name of every process's ``/proc/<pid>/stat``."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            found[int(stat.parent.name)] = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
    return found


def worker_pids(main: int) -> set[int]:
    """The pids of the workers: the children of the server's main process."""
    return {pid for pid, fields in _stats().items() if int(fields[1]) == main}


def tree_pids(root: int) -> set[int]:
    """``root`` and every process descended from it."""
    stats = _stats()
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, fields in stats.items() if int(fields[1]) in tree} - tree
        tree |= more
        grew = bool(more)
    return tree


def cpu_ticks(pid: int) -> int:
    """User plus system CPU time of a process, in clock ticks (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def tree_cpu_ticks(root: int) -> int:
    """CPU time of ``root`` and its living descendants, in clock ticks."""
    return sum(cpu_ticks(pid) for pid in tree_pids(root))


def settled_workers(main: int, count: int, timeout: float = 10) -> set[int]:
    """The worker pids once ``count`` workers run (they start one by one)."""
    deadline = time.monotonic() + timeout
    pids = worker_pids(main)
    while len(pids) < count and time.monotonic() < deadline:
        time.sleep(0.1)
        pids = worker_pids(main)
    assert len(pids) == count, f"{len(pids)} workers, not {count}"
    return pids
