"""Scale → triples of ``bench/generate.py``: generation time, size on disk, peak memory.

    .venv/bin/python bench/generator_sizes.py [--scales 0.3,1,10,100,1000] [--max-seconds 300]

Generates each scale into a temporary folder (deleted afterwards) in a subprocess killed
after ``--max-seconds``, prints a Markdown table and replaces the section "Synthetic data:
scale → triples" of bench/RESULTS.md. Scale 1000 (≈ 10M triples) writes about 1.7 GB.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from pathlib import Path

from _common import BENCH, fmt_int, machine, run_measured, table, write_section

HEADING = "Synthetic data: scale → triples"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="0.3,1,10,100,1000")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-seconds", type=float, default=300, help="budget per scale")
    parser.add_argument("--no-results", action="store_true")
    args = parser.parse_args(argv)

    rows = []
    for scale in (float(s) for s in args.scales.split(",") if s.strip()):
        out = Path(tempfile.mkdtemp(prefix="kg-synthetic-"))
        try:
            cmd = [sys.executable, str(BENCH / "generate.py"), "--scale", f"{scale:g}",
                   "--seed", str(args.seed), "--out", str(out / "data")]
            status, seconds, rss, _err = run_measured(cmd, args.max_seconds)
            if status != 0:
                rows.append([f"{scale:g}", fmt_int(round(scale * 10_000)),
                             "over budget" if status is None else "failed", "", "", "", ""])
                continue
            readme = (out / "data" / "README.md").read_text(encoding="utf-8")
            total = int(re.search(r"\*\*total\*\* \| \*\*([\d,]+)\*\*", readme)
                        .group(1).replace(",", ""))
            files = sorted((out / "data").rglob("*.nt"))
            size = sum(f.stat().st_size for f in files)
            divisions = (out / "data" / "reference" / "divisions.nt").read_text(
                encoding="utf-8")
            counties = len(re.findall(r"#(County|District|CountyLevelCity)> \.$", divisions,
                                      re.M))
            rows.append([f"{scale:g}", fmt_int(round(scale * 10_000)), fmt_int(total),
                         fmt_int(counties), f"{len(files)}", f"{size / 1e6:,.1f}",
                         f"{seconds:.1f}", f"{rss / 2**20:.0f}"])
            print(f"scale {scale:g}: {total:,} triples, {seconds:.1f} s", file=sys.stderr)
        finally:
            shutil.rmtree(out, ignore_errors=True)
    md = table(["scale", "aimed at", "triples", "counties", "files", "MB (N-Triples)",
                "seconds", "peak RSS MiB"], rows)
    body = (
        f"`.venv/bin/python bench/generator_sizes.py --scales {args.scales}` — {machine()}\n\n"
        f"{md}\n\n"
        "Formula: `--scale N` aims at N × 10,000 triples. The geography (31 provinces, ~340 "
        "prefectures, ~2,850 counties) is complete from scale 10 (below it a share "
        "√(N/10) of each level is kept); pairings (~670, ~170 hand-overs), ~830 poverty "
        "exits and the divisions take ~45k triples at full geography; the rest is 5 % "
        "project agreements and 95 % observations (≈ 12.2 triples each, per county × year × "
        "indicator, at most 12 × 25 per county: the grid ends near scale 1,100 ≈ 11M "
        "triples). Generation is streamed (constant memory) at roughly 0.8M triples/s.\n"
    )
    print(body)
    if not args.no_results:
        write_section(HEADING, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
