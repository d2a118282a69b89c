"""Latency of the SPARQL endpoint over HTTP: a few competency-style questions at 1, 4 and 16
concurrent clients, and a cheap query's latency while a slow query runs into its time limit.

Starts its own ``kg serve`` (granian, default workers) on a free loopback port over a
store it builds from ``tests/fixtures/endpoint`` (or ``--store``), runs for a bounded time,
stops the server, and prints Markdown tables.

    .venv/bin/python bench/http_latency.py                 # fixture store, ~1 minute
    .venv/bin/python bench/http_latency.py --store var/store --seconds 5
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from kg.localservers import free_port

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "endpoint"
P = ("PREFIX dk: <https://w3id.org/duikou/ontology#>\n"
     "PREFIX div: <https://w3id.org/duikou/id/division/>\n"
     "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n")
QUERIES = {
    "lookup (labels of one division)": P + "SELECT ?l WHERE { div:330000 rdfs:label ?l }",
    "who assists whom": P + "SELECT ?a ?b ?l WHERE { ?a dk:assists ?b . ?b rdfs:label ?l }",
    "counties per prefecture (GROUP BY)": P + (
        "SELECT ?p (COUNT(?c) AS ?n) (SUM(?pop) AS ?people) WHERE { ?c a dk:County ; "
        "dk:partOf ?p ; dk:population ?pop } GROUP BY ?p"),
    "all divisions, inferred types": P + (
        "SELECT ?d ?l WHERE { ?d a dk:Division ; rdfs:label ?l FILTER(lang(?l) = 'zh') }"),
}
SLOW = "SELECT (COUNT(*) AS ?c) WHERE { ?a ?p ?b . ?c ?q ?d . ?e ?r ?f }"
CHEAP = P + "ASK { div:330000 a dk:Province }"


def start(store: Path, timeout: float, workers: int | None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    args = [sys.executable, "-m", "kg", "serve", "--store", str(store), "--port", str(port),
            "--query-timeout", str(timeout), "--access-log", ""]
    if workers:
        args += ["--workers", str(workers)]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if requests.get(url + "/healthz", timeout=1).ok:
                return proc, url
        except requests.ConnectionError:
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit("kg serve did not start")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run_load(url: str, query: str, clients: int, seconds: float) -> tuple[list[float], int]:
    """Each client sends the query back to back (keep-alive) for ``seconds``."""
    stop = time.monotonic() + seconds
    errors = 0

    def client() -> list[float]:
        nonlocal errors
        session = requests.Session()
        out = []
        while time.monotonic() < stop:
            t = time.perf_counter()
            r = session.get(url + "/sparql", params={"query": query}, timeout=30)
            out.append(time.perf_counter() - t)
            if r.status_code != 200:
                errors += 1
        return out

    with ThreadPoolExecutor(clients) as pool:
        results = [f.result() for f in [pool.submit(client) for _ in range(clients)]]
    return [x for r in results for x in r], errors


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, help="an existing store (default: build the fixture)")
    ap.add_argument("--seconds", type=float, default=3.0, help="per query and concurrency")
    ap.add_argument("--timeout", type=float, default=2.0, help="the server's query time limit")
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        store = args.store
        if store is None:
            store = Path(tmp) / "store"
            subprocess.run([sys.executable, "-m", "kg", "build", "--ontology",
                            str(FIXTURE / "ontology"), "--data", str(FIXTURE / "data"),
                            "--store", str(store), "--quiet"], cwd=ROOT, check=True)
        proc, url = start(store, args.timeout, args.workers)
        try:
            health = requests.get(url + "/healthz", timeout=5).json()
            print(f"store: {health['triples']} triples, build {health['build_id']}, "
                  f"reasoner {health['reasoner']}; {args.seconds:g} s per cell\n")
            print("| query | clients | requests | req/s | median ms | p95 ms | errors |")
            print("|---|---:|---:|---:|---:|---:|---:|")
            for name, query in QUERIES.items():
                for clients in (1, 4, 16):
                    lat, errors = run_load(url, query, clients, args.seconds)
                    print(f"| {name} | {clients} | {len(lat)} | {len(lat) / args.seconds:.0f} "
                          f"| {statistics.median(lat) * 1000:.1f} "
                          f"| {percentile(lat, 95) * 1000:.1f} | {errors} |", flush=True)

            # a cheap query's latency before, during and after a query runs into its limit
            print(f"\ncheap query while a slow query runs into its {args.timeout:g} s limit "
                  "(1 client sending the cheap query back to back):\n")
            baseline, _ = run_load(url, CHEAP, 1, 2)
            during: list[float] = []
            statuses: list[int] = []
            slow: dict[str, float] = {}

            def slow_query() -> None:
                t = time.perf_counter()
                r = requests.post(url + "/sparql", data={"query": SLOW}, timeout=60)
                slow["seconds"], slow["status"] = time.perf_counter() - t, r.status_code

            thread = threading.Thread(target=slow_query)
            thread.start()
            while thread.is_alive():
                t = time.perf_counter()
                r = requests.get(url + "/sparql", params={"query": CHEAP}, timeout=30)
                during.append(time.perf_counter() - t)
                statuses.append(r.status_code)
            after: list[float] = []
            stop = time.monotonic() + 3
            while time.monotonic() < stop:  # while the worker retires and is replaced
                t = time.perf_counter()
                r = requests.get(url + "/sparql", params={"query": CHEAP}, timeout=30)
                after.append(time.perf_counter() - t)
                statuses.append(r.status_code)
            print("| phase | requests | median ms | p95 ms | max ms |")
            print("|---|---:|---:|---:|---:|")
            for phase, lat in (("before", baseline), ("during the slow query", during),
                               ("3 s after (worker retiring)", after)):
                print(f"| {phase} | {len(lat)} | {statistics.median(lat) * 1000:.1f} | "
                      f"{percentile(lat, 95) * 1000:.1f} | {max(lat) * 1000:.1f} |")
            print(f"\nslow query: HTTP {slow['status']} after {slow['seconds']:.2f} s; "
                  f"cheap queries: {statuses.count(200)} of {len(statuses)} answered 200")
        finally:
            proc.terminate()
            proc.wait(30)


if __name__ == "__main__":
    main()
