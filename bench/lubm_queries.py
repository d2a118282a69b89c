"""The 14 LUBM queries over LUBM(1), built by ``kg build`` with the default reasoner.

    .venv/bin/python bench/lubm_queries.py [--repeat 5] [--store DIR] [--max-seconds 600]

Builds LUBM(1) (``kg build --ontology univ-bench.owl --data lubm1.nt.gz``, in a subprocess
killed after ``--build-seconds``) unless ``--store`` names a built store, then runs each
query in process through ``kg.store.open_store(path).query(text)`` ``--repeat`` times and
reports the median time, the row count against ``reference-counts.json``, whether the
rows equal the official answers (``answers/answers_query*.csv``), and the count without
inference (the asserted graphs alone). Prints a Markdown table and replaces the section
"LUBM queries" of bench/RESULTS.md.

Bounded: the build by ``--build-seconds`` (default 600), the queries together by
``--max-seconds`` (default 600; checked between result rows).
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from _common import (
    KG,
    LUBM,
    OUT,
    TimedOut,
    fmt_int,
    machine,
    run_measured,
    store_build_info,
    table,
    time_limit,
    write_section,
)

HEADING = "LUBM queries"


def build_lubm(budget: float) -> tuple[Path, str]:
    root = OUT / "stores" / "lubm-queries"
    shutil.rmtree(root, ignore_errors=True)
    store = root / "store"
    cmd = [*KG, "build", "--ontology", str(LUBM / "univ-bench.owl"), "--data",
           str(LUBM / "lubm1.nt.gz"), "--store", str(store), "--quiet"]
    status, seconds, rss, err = run_measured(cmd, budget)
    if status != 0:
        raise SystemExit(f"kg build failed ({'over budget' if status is None else status}):"
                         f"\n{err[-2000:]}")
    info = store_build_info(store)
    stages = ", ".join(f"{s['stage']} {s['seconds']:.1f} s" for s in info["stages"])
    return store, (f"built in {seconds:.1f} s wall ({stages}; peak RSS "
                   f"{rss / 2**20:.0f} MiB), {sum(info['counts'].values()):,} triples")


def official_answers(n: int) -> Counter | None:
    path = LUBM / "answers" / f"answers_query{n}.csv"
    if not path.exists():
        return None
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return None
    header, body = rows[0], [tuple(r) for r in rows[1:] if r]
    return Counter(body) if header else None


def run_query(store, text: str, *, inference: bool = True) -> list[tuple[str, ...]]:
    result = store.query(text, inference=inference)
    names = [v.value for v in result.variables]
    return [tuple(row[name].value if row[name] is not None else "" for name in names)
            for row in result]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per query (median)")
    parser.add_argument("--store", type=Path, default=None,
                        help="a store already built from LUBM(1) (default: build one)")
    parser.add_argument("--build-seconds", type=float, default=600, help="build budget")
    parser.add_argument("--max-seconds", type=float, default=600,
                        help="budget for all queries together")
    parser.add_argument("--no-results", action="store_true",
                        help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args(argv)

    from kg.store import open_store

    if args.store is None:
        store_path, built = build_lubm(args.build_seconds)
    else:
        store_path, built = args.store, f"store {args.store} (built beforehand)"
    print(built, file=sys.stderr)
    store = open_store(store_path)
    reference = json.loads((LUBM / "reference-counts.json").read_text())
    queries = sorted((LUBM / "queries").glob("q*.rq"), key=lambda p: int(p.stem[1:]))
    if len(queries) != 14:
        raise SystemExit(f"expected the 14 LUBM queries in {LUBM / 'queries'}")

    rows, right, total = [], 0, 0.0
    try:
        with time_limit(args.max_seconds):
            for path in queries:
                n = int(path.stem[1:])
                text = path.read_text(encoding="utf-8")
                times, got = [], []
                for _ in range(args.repeat):
                    t = time.perf_counter()
                    got = run_query(store, text)
                    times.append(time.perf_counter() - t)
                median = statistics.median(times)
                total += median
                expected = reference[f"Q{n}"]
                answers = official_answers(n)
                same_rows = ("–" if answers is None else
                             "yes" if Counter(got) == answers else "**no**")
                asserted_only = len(run_query(store, text, inference=False))
                ok = len(got) == expected and same_rows != "**no**"
                right += ok
                rows.append([f"Q{n}", fmt_int(expected), fmt_int(len(got)),
                             "yes" if ok else "**no**", same_rows, fmt_int(asserted_only),
                             f"{median * 1000:.1f}", f"{min(times) * 1000:.1f}"])
                print(f"Q{n}: {len(got)} rows (expected {expected}), {median * 1000:.1f} ms",
                      file=sys.stderr)
    except TimedOut:
        rows.append(["…", "", "", f"stopped: over the {args.max_seconds:.0f} s budget",
                     "", "", "", ""])

    md = table(["query", "reference count", "count", "correct", "rows = official answers",
                "count without inference", "median ms", "min ms"], rows)
    body = (
        f"`.venv/bin/python bench/lubm_queries.py` — {machine()}\n\n"
        f"LUBM(1) with `kg build` defaults (`--reasoner fast`): {built}. Each query runs "
        f"{args.repeat} times in process (`kg.store.open_store(path).query(text)`, the union "
        "default graph, every result row materialised); median and fastest time. "
        "\"rows = official answers\" compares the rows as a multiset with "
        "`answers/answers_query*.csv`; \"without inference\" is the same query over the "
        "asserted graphs only.\n\n"
        f"{md}\n\n**{right} of {len(queries)} correct**; the 14 medians add up to "
        f"{total * 1000:.0f} ms.\n"
    )
    print(body)
    if not args.no_results:
        write_section(HEADING, body)
    return 0 if right == len(queries) else 1


if __name__ == "__main__":
    sys.exit(main())
