"""Our endpoint against the Oxigraph server on the same data, under the same load tool.

Builds LUBM(1) with `kg build` (default reasoner), serves the store with `kg serve` (every
endpoint feature on: limits, logging, the allow-list) and the same quads with
`oxigraph serve-read-only --union-default-graph`, then loads each in turn with `wrk` for
short slices, interleaved: this machine's CPU speed swings within seconds, so only ratios
taken within one cycle hold; the table gives the medians of those ratios.

    .venv/bin/python bench/http_peers.py [--cycles 5] [--seconds 4] [--connections 16]

Needs `wrk` (Debian package) and the `oxigraph` server (PyPI, in the test extra). Bounded:
cycles × 2 servers × 3 queries × seconds, plus the build (~15 s).
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import pyoxigraph as ox
import requests

from kg.localservers import free_port, oxigraph_binary
from kg.store import open_store

ROOT = Path(__file__).resolve().parents[1]
LUBM = ROOT.parent / "shared" / "bench-data" / "lubm"
RESULTS = ROOT / "bench" / "RESULTS.md"
SECTION = "## HTTP throughput against the Oxigraph server"

QUERIES = {
    "cheap lookup": "SELECT ?p ?o WHERE { "
                    "<http://www.Department0.University0.edu/GraduateStudent1> ?p ?o }",
    "LUBM Q4 (selective join)": (LUBM / "queries" / "q4.rq"),
    "LUBM Q14 (5,916 rows)": (LUBM / "queries" / "q14.rq"),
}


def query_text(q: str | Path) -> str:
    return q.read_text(encoding="utf-8") if isinstance(q, Path) else q


def wait(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(url, params={"query": "ASK {}"}, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {seconds} s")


def run_wrk(url: str, seconds: float, connections: int) -> tuple[float, float, int]:
    """(requests/s, p99 ms, non-2xx count) of one wrk slice."""
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds:g}s", "--latency",
         "-H", "Accept: application/sparql-results+json", url],
        capture_output=True, text=True, timeout=seconds + 30, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return rps, float(p99.group(1)) * scale, int(errors.group(1)) if errors else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None or oxigraph_binary() is None:
        raise SystemExit("needs wrk (apt-get install wrk) and the oxigraph server (pip)")

    with tempfile.TemporaryDirectory(prefix="kg-peers-") as tmp_name:
        tmp = Path(tmp_name)
        store = tmp / "store"
        subprocess.run([sys.executable, "-m", "kg", "build", "--ontology",
                        str(LUBM / "univ-bench.owl"), "--data", str(LUBM / "lubm1.nt.gz"),
                        "--store", str(store), "--quiet"], check=True, timeout=600)
        dump = tmp / "all.nq"
        db = open_store(store)
        ox.serialize(db.quads(), str(dump), format=ox.RdfFormat.N_QUADS)
        triples = sum(db.info.counts.values())
        ox_db = tmp / "oxigraph"
        subprocess.run([oxigraph_binary(), "load", "--location", str(ox_db), "--file",
                        str(dump)], check=True, timeout=300, capture_output=True)

        kg_port, ox_port = free_port(), free_port()
        servers = {
            "kg serve": subprocess.Popen(
                [sys.executable, "-m", "kg", "serve", "--store", str(store), "--port",
                 str(kg_port), "--access-log", ""], stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL),
            "Oxigraph server": subprocess.Popen(
                [oxigraph_binary(), "serve-read-only", "--location", str(ox_db), "--bind",
                 f"127.0.0.1:{ox_port}", "--union-default-graph"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        }
        urls = {"kg serve": f"http://127.0.0.1:{kg_port}/sparql",
                "Oxigraph server": f"http://127.0.0.1:{ox_port}/query"}
        try:
            for url in urls.values():
                wait(url)
            results: dict[tuple[str, str], list[tuple[float, float, int]]] = {}
            for cycle in range(args.cycles):
                for qname, q in QUERIES.items():
                    encoded = urllib.parse.quote(query_text(q))
                    for sname, url in urls.items():
                        r = run_wrk(f"{url}?query={encoded}", args.seconds, args.connections)
                        results.setdefault((qname, sname), []).append(r)
                print(f"cycle {cycle + 1}/{args.cycles} done", file=sys.stderr)
        finally:
            for p in servers.values():
                p.terminate()
                p.wait(30)

    lines = [
        SECTION, "",
        f"`.venv/bin/python bench/http_peers.py --cycles {args.cycles} --seconds "
        f"{args.seconds:g} --connections {args.connections}` — run "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on this 2-core machine (the "
        "client shares the cores with the servers). LUBM(1) built with `kg build` "
        f"({triples:,} triples with the inferred graph); `kg serve` with its defaults (2 "
        "gthread workers, limits, allow-list; access log off) against `oxigraph "
        "serve-read-only --union-default-graph` on the same quads; `wrk -t2 "
        f"-c{args.connections}`, each server loaded in turn for {args.seconds:g} s per query "
        "and cycle; ratios taken within a cycle, medians over the cycles.", "",
        "| query | kg serve req/s | Oxigraph req/s | ratio (median) | kg p99 ms | "
        "Oxigraph p99 ms | non-2xx (kg / Oxigraph) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for qname in QUERIES:
        ours, theirs = results[(qname, "kg serve")], results[(qname, "Oxigraph server")]
        ratio = statistics.median(a[0] / b[0] for a, b in zip(ours, theirs, strict=True))
        lines.append(
            f"| {qname} | {statistics.median(r[0] for r in ours):,.0f} | "
            f"{statistics.median(r[0] for r in theirs):,.0f} | {ratio:.2f}× | "
            f"{statistics.median(r[1] for r in ours):.1f} | "
            f"{statistics.median(r[1] for r in theirs):.1f} | "
            f"{sum(r[2] for r in ours)} / {sum(r[2] for r in theirs)} |")
    table = "\n".join(lines) + "\n"
    print(table)
    if not args.no_write:
        text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Results\n"
        start = text.find(SECTION)
        if start == -1:
            text = text.rstrip("\n") + "\n\n" + table
        else:
            end = text.find("\n## ", start + len(SECTION))
            text = text[:start] + table + ("" if end == -1 else text[end:])
        RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
