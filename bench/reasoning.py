"""The full LUBM(1) differential: ``owlrl`` (the reference) against ``fast``.

Both reasoners run on the same in-memory pyoxigraph store (the LUBM ontology plus LUBM(1),
loaded as ``kg build`` loads them), so blank-node labels agree and the two inferred graphs
can be compared as sets. Prints a Markdown table and replaces the section
"Reasoning: fast vs owlrl on LUBM(1)" of bench/RESULTS.md.

    .venv/bin/python bench/reasoning.py [--max-seconds 600] [--no-results]

Bounded: each reasoner is stopped after ``--max-seconds`` (owlrl takes about 80-100 s).
"""

from __future__ import annotations

import argparse
import sys
import time

import pyoxigraph as ox
from _common import LUBM, TimedOut, fmt_int, fmt_s, machine, table, time_limit, write_section

from kg.loading import load_into
from kg.reasoning import get_reasoner

HEADING = "Reasoning: fast vs owlrl on LUBM(1)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-seconds", type=float, default=600,
                        help="budget per reasoner (default 600 s)")
    parser.add_argument("--no-results", action="store_true",
                        help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args(argv)

    db = ox.Store()
    t = time.perf_counter()
    report = load_into(db, [LUBM / "univ-bench.owl"], [LUBM / "lubm1.nt.gz"])
    load_s = time.perf_counter() - t
    print(f"loaded {report.total:,} triples in {load_s:.1f} s", file=sys.stderr)

    results: dict[str, tuple[float | None, set | None]] = {}
    for name in ("fast", "owlrl"):
        print(f"running {name} …", file=sys.stderr)
        t = time.perf_counter()
        try:
            with time_limit(args.max_seconds):
                inferred = set(get_reasoner(name)(db))
            results[name] = (time.perf_counter() - t, inferred)
        except TimedOut:
            results[name] = (None, None)
        seconds, got = results[name]
        print(f"  {name}: {fmt_s(seconds)} s, {fmt_int(len(got) if got else None)} inferred",
              file=sys.stderr)

    fast_s, fast = results["fast"]
    ref_s, ref = results["owlrl"]
    budget = f"> {args.max_seconds:.0f} (stopped)"
    rows = [
        ["owlrl (reference)", fmt_int(report.total), budget if ref_s is None else fmt_s(ref_s),
         fmt_int(len(ref) if ref is not None else None), "1.0"],
        ["fast", fmt_int(report.total), budget if fast_s is None else fmt_s(fast_s),
         fmt_int(len(fast) if fast is not None else None),
         f"{ref_s / fast_s:.1f}" if ref_s and fast_s else "–"],
    ]
    md = table(["reasoner", "input triples", "seconds", "inferred (new, meaningful)",
                "speed-up vs owlrl"], rows)
    if ref is not None and fast is not None:
        missing, extra = ref - fast, fast - ref
        verdict = ("**identical**: the two inferred sets are equal"
                   if not missing and not extra else
                   f"**different**: fast misses {len(missing):,} and adds {len(extra):,}")
        for label, diff in (("missing in fast", missing), ("extra in fast", extra)):
            for triple in sorted(diff, key=str)[:5]:
                verdict += f"\n- {label}: `{triple}`"
    else:
        verdict = "not compared: a reasoner did not finish within the budget"
    body = (
        f"`.venv/bin/python bench/reasoning.py` — {machine()}\n\n"
        f"Input: `univ-bench.owl` + `lubm1.nt.gz`, parsed once into one in-memory store "
        f"({load_s:.1f} s); both reasoners read that store, so blank-node labels agree. "
        "Times are the reasoner calls alone (closure plus the noise filter, no store writes).\n\n"
        f"{md}\n\nResult: {verdict}\n"
    )
    print(body)
    if not args.no_results:
        write_section(HEADING, body)
    return 0 if (ref is not None and fast is not None and ref == fast) else 1


if __name__ == "__main__":
    sys.exit(main())
