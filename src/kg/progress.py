"""Build progress on stderr, stage by stage, with triple counts and seconds (rich)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console

if TYPE_CHECKING:
    from kg.build import BuildResult


class ConsoleProgress:
    """Shows each stage as it starts and ends; ``quiet`` silences everything."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.console = Console(stderr=True, highlight=False)
        self._status = None

    def start(self, stage: str) -> None:
        if self.quiet:
            return
        if self.console.is_terminal:
            self._status = self.console.status(f"{stage} …")
            self._status.start()
        else:
            self.console.print(f"{stage} …")

    def done(self, stage: str, triples: int, seconds: float, detail: str = "") -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None
        if self.quiet:
            return
        extra = f"  ({detail})" if detail else ""
        self.console.print(f"{stage:<9} {triples:>10,} triples {seconds:>8.2f} s{extra}")

    def summary(self, result: BuildResult) -> None:
        if self.quiet:
            return
        info = result.info
        total = sum(info.counts.values())
        self.console.print(f"built {info.build_id}: {total:,} triples in {len(info.counts)} graphs")
        for graph, n in info.counts.items():
            self.console.print(f"  {n:>10,}  <{graph}>")
