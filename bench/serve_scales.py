"""Queries and the endpoint as the graph grows: competency questions in process and over
HTTP, and HTTP throughput at 1, 4, 16 and 64 clients, at each synthetic scale.

For each ``--scales`` value the synthetic national graph of ``bench/generate.py`` (seed 0)
is built with ``kg build --no-validate`` (validation is measured by ``build_stages.py``) and:

- every competency question of ``queries/*.rq`` runs ``--repeat`` times in process
  (``kg.store.open_store(...).query``, rows materialised): median and p95 per question,
  summarised over the 30 questions;
- the same questions over HTTP against ``kg serve --cache-mb 0`` (every request evaluated),
  the same number of times over one keep-alive connection: the same summary;
- ``wrk --latency`` at 1, 4, 16 and 64 connections on a cheap lookup and on one competency
  question (the pairings one), with and without the answer cache: requests/s, p50, p99;
- peak RSS of the build (``wait4``) and of the server's process tree (sampled during load).

    .venv/bin/python bench/serve_scales.py [--scales 1,10,100] [--seconds 2] [--write]

Needs ``wrk``. Bounded: about scales × (build + 2 × 30 questions × at most 10 s + 32 × seconds).
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import psutil
from _common import KG, ROOT, machine, table, write_section

from kg.localservers import free_port
from kg.store import open_store

QUERIES = sorted((ROOT / "queries").glob("*.rq"))
LOOKUP = ("SELECT ?l WHERE { <https://w3id.org/duikou/id/division/330000> "
          "<http://www.w3.org/2000/01/rdf-schema#label> ?l }")
CONCURRENCY = (1, 4, 16, 64)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def build(scale: float, folder: Path) -> tuple[Path, int, float, int]:
    """(store, triples, wall seconds, peak RSS bytes) of generating and building ``scale``."""
    data = folder / "data"
    subprocess.run([sys.executable, str(ROOT / "bench" / "generate.py"), "--scale",
                    f"{scale:g}", "--seed", "0", "--out", str(data)], check=True,
                   capture_output=True, timeout=600)
    store = folder / "store"
    started = time.monotonic()
    proc = subprocess.Popen([*KG, "build", "--ontology", str(ROOT / "ontology"), "--data",
                             str(data), "--store", str(store), "--no-validate", "--quiet"],
                            cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"kg build failed at scale {scale}")
    wall = time.monotonic() - started
    triples = sum(open_store(store).info.counts.values())
    return store, triples, wall, usage.ru_maxrss * 1024


def in_process(store: Path, repeat: int) -> tuple[float, float]:
    """(median of the questions' medians, p95 of the questions' p95s) in ms."""
    db = open_store(store)
    medians, p95s = [], []
    for path in QUERIES:
        text = path.read_text(encoding="utf-8")
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            result = db.query(text)
            if not isinstance(result, bool):
                list(result)
            times.append((time.perf_counter() - started) * 1000)
            if sum(times) > 10_000:  # a slow question: fewer runs, the bound holds
                print(f"  {path.stem}: {times[-1]:,.0f} ms per run", file=sys.stderr)
                break
        medians.append(statistics.median(times))
        p95s.append(pct(times, 95))
    return statistics.median(medians), pct(p95s, 95)


def wrk(url: str, connections: int, seconds: float) -> tuple[float, float, float]:
    """(requests/s, p50 ms, p99 ms)."""
    out = subprocess.run(["wrk", f"-t{min(2, connections)}", f"-c{connections}",
                          f"-d{seconds:g}s", "--latency", "--timeout", "30s", "-H",
                          "Accept: application/sparql-results+json", url],
                         capture_output=True, text=True, check=True,
                         timeout=seconds + 60).stdout

    def ms(label: str) -> float:
        m = re.search(rf"{label}\s+([\d.]+)(us|ms|s)\b", out)
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return rps, ms("50%"), ms("99%")


def tree_rss(pid: int) -> int:
    try:
        root = psutil.Process(pid)
        return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
    except psutil.Error:
        return 0


def serve(store: Path, cache_mb: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KG_")}
    proc = subprocess.Popen([*KG, "serve", "--store", str(store), "--port", str(port),
                             "--cache-mb", str(cache_mb), "--access-log", ""], env=env,
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/sparql"
    deadline = time.monotonic() + 60
    while subprocess.run(["curl", "-sf", "-o", "/dev/null", url + "?query=ASK%7B%7D"],
                         check=False).returncode != 0:
        if time.monotonic() > deadline or proc.poll() is not None:
            raise SystemExit("kg serve did not start")
        time.sleep(0.3)
    return proc, url


def over_http(url: str, repeat: int) -> tuple[float, float]:
    """Like :func:`in_process`, over one keep-alive HTTP connection (``http.client``)."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    medians, p95s = [], []
    try:
        for path in QUERIES:
            target = f"{parts.path}?query={urllib.parse.quote(path.read_text(encoding='utf-8'))}"
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                conn.request("GET", target,
                             headers={"Accept": "application/sparql-results+json"})
                response = conn.getresponse()
                response.read()
                times.append((time.perf_counter() - started) * 1000)
                if response.status != 200:
                    raise SystemExit(f"{path.stem}: HTTP {response.status}")
                if sum(times) > 10_000:
                    break
            medians.append(statistics.median(times))
            p95s.append(pct(times, 95))
    finally:
        conn.close()
    return statistics.median(medians), pct(p95s, 95)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default="1,10,100")
    parser.add_argument("--seconds", type=float, default=2)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--write", action="store_true",
                        help="replace the 'Queries and throughput by scale' section")
    args = parser.parse_args()
    question = ROOT / "queries" / "pairings.rq"
    size_rows, query_rows, load_rows = [], [], []
    for scale in (float(s) for s in args.scales.split(",")):
        with tempfile.TemporaryDirectory(prefix="kg-scales-") as tmp:
            store, triples, wall, build_rss = build(scale, Path(tmp))
            print(f"scale {scale:g}: {triples:,} triples built in {wall:.1f} s",
                  file=sys.stderr)
            med, p95 = in_process(store, args.repeat)
            peak = 0
            targets = {"lookup": LOOKUP, question.stem: question.read_text(encoding="utf-8")}
            for cache_mb in (0, 64):
                proc, url = serve(store, cache_mb)
                try:
                    if cache_mb == 0:
                        http_med, http_p95 = over_http(url, args.repeat)
                    for name, text in targets.items():
                        target = f"{url}?query={urllib.parse.quote(text)}"
                        for c in CONCURRENCY:
                            rps, p50, p99 = wrk(target, c, args.seconds)
                            peak = max(peak, tree_rss(proc.pid))
                            load_rows.append([f"{triples:,}", name,
                                              "on" if cache_mb else "off", str(c),
                                              f"{rps:,.0f}", f"{p50:.1f}", f"{p99:.1f}"])
                finally:
                    proc.terminate()
                    proc.wait(30)
            size_rows.append([f"{scale:g}", f"{triples:,}", f"{wall:.1f}",
                              f"{build_rss / 2**20:,.0f}", f"{peak / 2**20:,.0f}"])
            query_rows.append([f"{triples:,}", f"{med:.1f}", f"{p95:.1f}", f"{http_med:.1f}",
                               f"{http_p95:.1f}"])
    body = "\n\n".join([
        f"`.venv/bin/python bench/serve_scales.py --scales {args.scales} --seconds "
        f"{args.seconds:g} --repeat {args.repeat}` — {machine()}",
        "Builds (`generate.py --seed 0`, `kg build --no-validate`; server RSS: the whole "
        "process tree of `kg serve` — main process, 2 workers, their query processes — "
        "sampled under load, so shared pages count more than once):\n\n"
        + table(["scale", "triples", "build wall s", "build peak RSS MiB",
                 "server peak RSS MiB"], size_rows),
        f"The {len(QUERIES)} competency questions (`queries/*.rq`): in process, median of "
        "the per-question medians and p95 of their p95s over "
        f"{args.repeat} runs (fewer once a question has taken 10 s); the same over HTTP "
        "(`kg serve --cache-mb 0`, one keep-alive connection, every request evaluated) "
        "(ms):\n\n"
        + table(["triples", "in process median", "in process p95", "HTTP median",
                 "HTTP p95"], query_rows),
        "HTTP throughput and latency by concurrency (`wrk --latency`, "
        f"{args.seconds:g} s per cell; `lookup` is one division's labels, "
        f"`{question.stem}` a competency question; cache off: every request evaluated; "
        "on: the same request repeated, answered from the answer cache):\n\n"
        + table(["triples", "query", "cache", "connections", "req/s", "p50 ms", "p99 ms"],
                load_rows),
    ])
    print(body)
    if args.write:
        write_section("Queries and throughput by scale", body)


if __name__ == "__main__":
    main()
