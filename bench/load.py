"""Load test of ``kg serve`` with locust: 32+ concurrent clients for a fixed time.

Builds the real graph (``ontology/`` + ``data/``) into a temporary store (or takes
``--store``), starts ``kg serve`` on a free loopback port with a low time limit
(``KG_QUERY_TIMEOUT``, default 2 s) so that the heavy queries run into it, and drives it
with locust (as a library, headless) for ``--seconds`` (default 60):

- ``cheap``: label lookups of random divisions by SPARQL, and their ``/id/`` pages;
- ``competency``: the competency questions of ``queries/*.rq``, POSTed as they are;
- ``heavy``: deliberate cross joins (a 3-way count, a 2-way result cut at KG_MAX_ROWS, a
  regex over every pair) — they must end in the intended ``503`` (time limit).

The first third runs the light clients only (the baseline), then ``--heavy-users`` heavy
clients join. Measured and printed as Markdown: requests and throughput, latency
percentiles per class, status codes per class, cheap-query p99 with and without heavy
queries in flight, and the RSS of the server's main process, workers and query processes at
start and end
(sampled every 5 s). ``--write`` replaces the "Load test" section of ``bench/RESULTS.md``.

    .venv/bin/python bench/load.py                    # ~60 s of load, plus ~20 s to build
    .venv/bin/python bench/load.py --seconds 20 --store var/store
"""

from __future__ import annotations

# locust patches the standard library with gevent: import it before anything else
from locust import FastHttpUser, between, events, task  # isort: skip
from locust.env import Environment  # isort: skip

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import gevent
import psutil
import requests
from _common import KG, ROOT, machine, table, write_section

from kg.localservers import free_port

QUERIES = ROOT / "queries"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
DIVISION = "https://w3id.org/duikou/id/division/"
SPARQL_QUERY = "application/sparql-query"
HEAVY = {
    "heavy:count-3way": "SELECT (COUNT(*) AS ?n) WHERE { ?a ?p ?b . ?c ?q ?d . ?e ?r ?f }",
    "heavy:rows-2way": "SELECT * WHERE { ?a ?p ?b . ?c ?q ?d }",
    "heavy:regex-pairs": 'SELECT (COUNT(*) AS ?n) WHERE { ?a ?p ?b . ?c ?q ?d '
                         'FILTER(REGEX(CONCAT(STR(?b), STR(?d)), "^(a+)+$")) }',
}


@dataclass
class Sample:
    name: str
    klass: str
    start: float
    end: float
    status: int


SAMPLES: list[Sample] = []
STATE: dict[str, object] = {}


@events.request.add_listener
def _record(request_type: str, name: str, response_time: float, response_length: int,
            response: object = None, exception: object = None, **_: object) -> None:
    end = time.time()
    status = getattr(response, "status_code", 0) or 0
    if exception is not None and not status:
        status = 0
    SAMPLES.append(Sample(name, name.split(":")[0], end - response_time / 1000, end, status))


class LightUser(FastHttpUser):
    """Cheap lookups and competency questions, as a browser or script would send them."""

    weight = 1
    wait_time = between(0.05, 0.3)

    def _no_failure(self, resp: object) -> None:
        resp.success()  # type: ignore[attr-defined]  # statuses are counted by _record

    @task(4)
    def label(self) -> None:
        div = random.choice(STATE["divisions"])  # type: ignore[arg-type]
        q = f"SELECT ?l WHERE {{ <{div}> <{RDFS_LABEL}> ?l }}"
        with self.client.get("/sparql", params={"query": q}, name="cheap:label",
                             catch_response=True) as resp:
            self._no_failure(resp)

    @task(2)
    def page(self) -> None:
        div = random.choice(STATE["divisions"])  # type: ignore[arg-type]
        with self.client.get("/id/division/" + div.removeprefix(DIVISION), name="cheap:page",
                             headers={"Accept": "text/html"}, catch_response=True) as resp:
            self._no_failure(resp)

    @task(3)
    def competency(self) -> None:
        name, text = random.choice(STATE["competency"])  # type: ignore[arg-type]
        with self.client.post("/sparql", data=text.encode(), name=f"competency:{name}",
                              headers={"Content-Type": SPARQL_QUERY,
                                       "Accept": "application/sparql-results+json"},
                              catch_response=True) as resp:
            self._no_failure(resp)


class HeavyUser(FastHttpUser):
    """Deliberately heavy queries, from the second third of the run on."""

    fixed_count = 4
    wait_time = between(0.2, 0.5)

    def on_start(self) -> None:
        delay = float(STATE["heavy_from"]) - time.time()  # type: ignore[arg-type]
        if delay > 0:
            gevent.sleep(delay)

    @task
    def heavy(self) -> None:
        name = random.choice(list(HEAVY))
        with self.client.post("/sparql", data=HEAVY[name].encode(), name=name,
                              headers={"Content-Type": SPARQL_QUERY},
                              catch_response=True) as resp:
            resp.success()


# --- the server ----------------------------------------------------------------------------


def build_store(folder: Path) -> Path:
    store = folder / "store"
    print("building ontology/ + data/ …", file=sys.stderr)
    subprocess.run([*KG, "build", "--store", str(store), "--quiet"], cwd=ROOT, check=True,
                   timeout=600)
    return store


def start_server(store: Path, port: int, args: argparse.Namespace, logs: Path
                 ) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KG_")}
    env.update(KG_QUERY_TIMEOUT=str(args.query_timeout), KG_ACCESS_LOG="")
    out = open(logs / "serve.log", "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen([*KG, "serve", "--store", str(store), "--host", "127.0.0.1",
                             "--port", str(port), "--workers", str(args.workers)],
                            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"kg serve exited {proc.returncode}: "
                             f"{(logs / 'serve.log').read_text()[-2000:]}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).ok:
                return proc
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("kg serve did not become healthy")


def rss(main: int) -> tuple[int, int, int, int]:
    """(main process RSS, workers' RSS summed, number of workers, RSS of the workers' query
    processes and forkservers summed) in bytes."""
    try:
        parent = psutil.Process(main)
        children = parent.children()
        workers = sum(c.memory_info().rss for c in children if c.is_running())
        helpers = 0
        for child in children:
            for helper in child.children(recursive=True):
                try:
                    helpers += helper.memory_info().rss
                except psutil.Error:
                    continue
        return parent.memory_info().rss, workers, len(children), helpers
    except psutil.Error:
        return 0, 0, 0, 0


# --- statistics ----------------------------------------------------------------------------


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def ms(x: float) -> str:
    return "–" if x != x else f"{x * 1000:,.0f}"


def report(samples: list[Sample], seconds: float, heavy_from: float, started: float,
           memory: list[tuple[float, int, int, int, int]], args: argparse.Namespace,
           graph_triples: int, retired: int, killed: int) -> str:
    by_class: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        by_class[s.klass].append(s)
    statuses: Counter = Counter(s.status for s in samples)
    rows = []
    for klass in ("cheap", "competency", "heavy"):
        group = by_class.get(klass, [])
        lat = [s.end - s.start for s in group]
        codes = Counter(s.status for s in group)
        rows.append([klass, f"{len(group):,}", f"{len(group) / seconds:.1f}", ms(pct(lat, 50)),
                     ms(pct(lat, 90)), ms(pct(lat, 95)), ms(pct(lat, 99)),
                     ms(max(lat) if lat else float("nan")),
                     ", ".join(f"{c or 'conn. error'}: {n:,}" for c, n in sorted(codes.items()))])
    heavy = [s for s in samples if s.klass == "heavy"]

    def overlaps(s: Sample) -> bool:
        return any(h.start <= s.start <= h.end for h in heavy)

    cheap = [s for s in samples if s.klass == "cheap"]
    alone = [s.end - s.start for s in cheap if s.start < heavy_from]
    under = [s.end - s.start for s in cheap if s.start >= heavy_from and overlaps(s)]
    cheap_rows = [
        ["light clients only (first third)", f"{len(alone):,}", ms(pct(alone, 50)),
         ms(pct(alone, 95)), ms(pct(alone, 99))],
        ["with heavy queries in flight", f"{len(under):,}", ms(pct(under, 50)),
         ms(pct(under, 95)), ms(pct(under, 99))],
    ]
    start_mem, end_mem = memory[0], memory[-1]
    mem_rows = [[f"{t - started:.0f} s", f"{a / 2**20:.0f}", f"{w / 2**20:.0f}", str(n),
                 f"{q / 2**20:.0f}"] for t, a, w, n, q in memory]
    workers_mb = [(w + q) / 2**20 for _, _, w, _, q in memory]
    slope = statistics.linear_regression(range(len(workers_mb)), workers_mb).slope \
        if len(workers_mb) > 2 else 0.0
    non_503_errors = sum(n for code, n in statuses.items() if code >= 500 and code != 503)
    light_errors = sum(1 for s in samples if s.klass != "heavy" and s.status != 200)
    return "\n\n".join([
        f"`bench/load.py --seconds {args.seconds:g} --users {args.users}` — "
        f"{args.users} concurrent clients ({args.users - args.heavy_users} light: cheap "
        f"lookups and competency questions; {args.heavy_users} heavy from the second third "
        f"on) for {seconds:.0f} s against `kg serve --workers {args.workers}` with "
        f"`KG_QUERY_TIMEOUT={args.query_timeout:g}`, other limits at their defaults, over "
        f"the real graph ({graph_triples:,} triples); client (locust, FastHttpUser) and "
        f"server on the same 2 cores, over loopback. {machine()}",
        f"**{len(samples):,} requests in {seconds:.0f} s ({len(samples) / seconds:.1f}/s)**; "
        "statuses: " + ", ".join(f"{c or 'connection error'}: {n:,}"
                                 for c, n in sorted(statuses.items()))
        + f"; 5xx other than 503: {non_503_errors}; light requests not answered 200: "
          f"{light_errors}; query processes killed at the time limit: {killed}; workers "
          f"retired: {retired}.",
        "Latency per class (ms):\n\n" + table(
            ["class", "requests", "req/s", "p50", "p90", "p95", "p99", "max", "statuses"],
            rows, "lrrrrrrrl"),
        "Cheap lookups with and without heavy queries running (ms):\n\n" + table(
            ["cheap lookups", "requests", "p50", "p95", "p99"], cheap_rows),
        "Memory (RSS, MiB) of the server's main process, its workers, and the workers' query "
        "processes with their forkservers (RSS counts the pages they share once per "
        "process), sampled every 5 s (workers and query processes: start "
        f"{(start_mem[2] + start_mem[4]) / 2**20:.0f} MiB → end "
        f"{(end_mem[2] + end_mem[4]) / 2**20:.0f} MiB; least-squares slope {slope:+.2f} MiB "
        "per sample; a killed query process is replaced by a fresh one, so its memory "
        "restarts then):\n\n"
        + table(["time", "main process", "workers", "worker processes", "query processes"],
                mem_rows),
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--heavy-users", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--query-timeout", type=float, default=2)
    parser.add_argument("--store", type=Path, help="serve this store instead of building one")
    parser.add_argument("--write", action="store_true",
                        help="replace the 'Load test' section of bench/RESULTS.md")
    args = parser.parse_args()
    HeavyUser.fixed_count = args.heavy_users

    tmp = Path(tempfile.mkdtemp(prefix="kg-load-"))
    store = args.store or build_store(tmp)
    port = free_port()
    proc = start_server(store, port, args, tmp)
    base = f"http://127.0.0.1:{port}"
    try:
        health = requests.get(base + "/healthz", timeout=10).json()
        r = requests.get(base + "/sparql", timeout=30, params={
            "query": f"SELECT DISTINCT ?d WHERE {{ ?d <{RDFS_LABEL}> ?l "
                     f'FILTER(STRSTARTS(STR(?d), "{DIVISION}")) }}'})
        STATE["divisions"] = [b["d"]["value"] for b in r.json()["results"]["bindings"]]
        STATE["competency"] = [(p.stem, p.read_text(encoding="utf-8"))
                               for p in sorted(QUERIES.glob("*.rq"))]
        assert STATE["divisions"] and STATE["competency"]
        for _, text in STATE["competency"]:  # warm up: each question once
            requests.post(base + "/sparql", data=text.encode(), timeout=30,
                          headers={"Content-Type": SPARQL_QUERY})

        started = time.time()
        STATE["heavy_from"] = started + args.seconds / 3
        memory = [(started, *rss(proc.pid))]

        def sample_memory() -> None:
            while True:
                gevent.sleep(5)
                memory.append((time.time(), *rss(proc.pid)))

        sampler = gevent.spawn(sample_memory)
        env = Environment(user_classes=[LightUser, HeavyUser], host=base, events=events)
        runner = env.create_local_runner()
        runner.start(args.users, spawn_rate=args.users)
        gevent.spawn_later(args.seconds, runner.quit)
        runner.greenlet.join()
        seconds = time.time() - started
        sampler.kill()
        memory.append((time.time(), *rss(proc.pid)))
        log = (tmp / "serve.log").read_text(errors="replace")
        retired = log.count("retires:")
        killed = log.count("killed the process of a query")
        body = report(SAMPLES, seconds, float(STATE["heavy_from"]), started, memory, args,
                      int(health["triples"]), retired, killed)
        crashes = [x for x in ("SIGSEGV", "Traceback", "WORKER TIMEOUT", " failed: ")
                   if x in log]
        if crashes:
            body += f"\n\nThe server log shows: {', '.join(crashes)}."
        print(body)
        if args.write:
            write_section("Load test", body)
            print("\nwrote the 'Load test' section of bench/RESULTS.md", file=sys.stderr)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    main()
