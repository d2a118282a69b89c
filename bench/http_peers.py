"""Our endpoint against its peers on the same data, under the same load tool.

Builds LUBM(1) (or ``--lubm 10``) with `kg build` (default reasoner) or takes ``--store``,
and serves it four ways: `kg serve` with every endpoint feature on (limits, logging off,
the allow-list, query processes) once with its answer cache and once without
(``--cache-mb 0``); the same quads with `oxigraph serve-read-only --union-default-graph`;
and (at LUBM(1), if installed) the same triples with `rdflib-endpoint serve`. First the
per-request overhead at one client over evaluating in process; then each server is loaded
in turn with `wrk` for short slices, interleaved, waiting after each slice until every
server is idle again: this machine's CPU speed swings within seconds, so only ratios
taken within one cycle hold; the table gives the medians of those ratios.

    .venv/bin/python bench/http_peers.py [--cycles 5] [--seconds 4] [--connections 16]

Needs `wrk` (Debian package), the `oxigraph` server (PyPI, in the test extra) and
`rdflib-endpoint` (PyPI, in the bench extra). Bounded: cycles × servers × 3 queries ×
seconds, plus the build.
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

import psutil
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
    "LUBM Q14 (large result: 5,916 rows at LUBM(1))": (LUBM / "queries" / "q14.rq"),
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
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds:g}s", "--latency", "--timeout", "30s",
         "-H", "Accept: application/sparql-results+json", url],
        capture_output=True, text=True, timeout=seconds + 30, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    timeouts = re.search(r"timeout (\d+)", out)
    return (rps, float(p99.group(1)) * scale,
            (int(errors.group(1)) if errors else 0) + (int(timeouts.group(1)) if timeouts else 0))


def in_process_ms(db: object, text: str, seconds: float) -> float:
    """Median milliseconds of evaluating ``text`` in process and writing its answer as
    SPARQL JSON: the work the endpoint itself must do for one request."""
    from kg.formats import RESULT_FORMATS
    from kg.web.results import Spool, write_result

    times: list[float] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline or len(times) < 20:
        started = time.perf_counter()
        write_result(db.query(text), RESULT_FORMATS[0], Spool(), 100_000)  # type: ignore[attr-defined]
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def run_wrk_one(url: str, seconds: float) -> float:
    """Mean latency in ms of one connection sending requests back to back."""
    out = subprocess.run(
        ["wrk", "-t1", "-c1", f"-d{seconds:g}s", "-H",
         "Accept: application/sparql-results+json", url],
        capture_output=True, text=True, timeout=seconds + 30, check=True).stdout
    mean = re.search(r"Latency\s+([\d.]+)(us|ms|s)\b", out)
    return float(mean.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[mean.group(2)]


def settle(servers: object, limit: float = 60) -> None:
    """Wait until the servers are idle: a request wrk abandoned at the end of its slice
    may still be evaluated, and would slow the next slice down."""
    procs = []
    for server in servers:  # type: ignore[attr-defined]
        try:
            root = psutil.Process(server.pid)
            procs += [root, *root.children(recursive=True)]
        except psutil.Error:
            continue

    def busy() -> float:
        total = 0.0
        for proc in procs:
            try:
                total += proc.cpu_percent(None)
            except psutil.Error:
                continue
        return total

    busy()  # the first reading only starts the count
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        time.sleep(0.5)
        if busy() < 10:
            return


def build_lubm(store: Path, scale: int) -> None:
    subprocess.run([sys.executable, "-m", "kg", "build", "--ontology",
                    str(LUBM / "univ-bench.owl"), "--data", str(LUBM / f"lubm{scale}.nt.gz"),
                    "--store", str(store), "--quiet"], check=True, timeout=1800)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--lubm", type=int, default=1, choices=(1, 10),
                        help="LUBM scale: 1 (~150k triples closed) or 10 (~1.9M)")
    parser.add_argument("--store", type=Path, help="serve this built store instead")
    parser.add_argument("--rdflib-endpoint", action=argparse.BooleanOptionalAction,
                        default=None, help="also load rdflib-endpoint (default: at LUBM(1))")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None or oxigraph_binary() is None:
        raise SystemExit("needs wrk (apt-get install wrk) and the oxigraph server (pip)")

    with tempfile.TemporaryDirectory(prefix="kg-peers-") as tmp_name:
        tmp = Path(tmp_name)
        store = args.store or tmp / "store"
        if args.store is None:
            build_lubm(store, args.lubm)
        dump = tmp / "all.nq"
        db = open_store(store)
        ox.serialize(db.quads(), str(dump), format=ox.RdfFormat.N_QUADS)
        triples = sum(db.info.counts.values())
        ox_db = tmp / "oxigraph"
        subprocess.run([oxigraph_binary(), "load", "--location", str(ox_db), "--file",
                        str(dump)], check=True, timeout=1800, capture_output=True)

        peers = SERVERS
        with_rdflib = (args.lubm == 1 if args.rdflib_endpoint is None else args.rdflib_endpoint)
        rdflib_endpoint = shutil.which("rdflib-endpoint", path=str(Path(sys.executable).parent))
        if with_rdflib and rdflib_endpoint:
            peers = (*SERVERS, RDFLIB)
        ports = {name: free_port() for name in peers}
        kg = [sys.executable, "-m", "kg", "serve", "--store", str(store), "--access-log", ""]
        servers = {
            "kg serve": subprocess.Popen(
                [*kg, "--port", str(ports["kg serve"])],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
            "kg serve, cache off": subprocess.Popen(
                [*kg, "--port", str(ports["kg serve, cache off"]), "--cache-mb", "0"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
            "Oxigraph server": subprocess.Popen(
                [oxigraph_binary(), "serve-read-only", "--location", str(ox_db), "--bind",
                 f"127.0.0.1:{ports['Oxigraph server']}", "--union-default-graph"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        }
        if RDFLIB in ports:  # rdflib reads one graph: every triple, in the default graph
            triples_file = tmp / "all.nt"
            ox.serialize((ox.Triple(q.subject, q.predicate, q.object) for q in db.quads()),
                         str(triples_file), format=ox.RdfFormat.N_TRIPLES)
            servers[RDFLIB] = subprocess.Popen(
                [rdflib_endpoint, "serve", "--host", "127.0.0.1", "--port", str(ports[RDFLIB]),
                 str(triples_file)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        paths = {"Oxigraph server": "query", RDFLIB: ""}
        urls = {name: f"http://127.0.0.1:{port}/{paths.get(name, 'sparql')}"
                for name, port in ports.items()}
        try:
            for url in urls.values():
                wait(url, 300)
            # first, while no abandoned heavy query still runs in any server
            overhead: dict[str, tuple[float, float, float]] = {}
            for qname, q in QUERIES.items():
                encoded = urllib.parse.quote(query_text(q))
                one = {s: run_wrk_one(f"{urls[s]}?query={encoded}", 3)
                       for s in ("kg serve, cache off", "Oxigraph server")}
                overhead[qname] = (in_process_ms(db, query_text(q), 3),
                                   one["kg serve, cache off"], one["Oxigraph server"])
            results: dict[tuple[str, str], list[tuple[float, float, int]]] = {}
            for cycle in range(args.cycles):
                for qname, q in QUERIES.items():
                    encoded = urllib.parse.quote(query_text(q))
                    for sname, url in urls.items():
                        r = run_wrk(f"{url}?query={encoded}", args.seconds, args.connections)
                        results.setdefault((qname, sname), []).append(r)
                        settle(servers.values())
                print(f"cycle {cycle + 1}/{args.cycles} done", file=sys.stderr)
        finally:
            for p in servers.values():
                p.terminate()
                p.wait(30)

    table = report(args, triples, results, overhead, peers)
    print(table)
    if not args.no_write:
        section = SECTION if args.lubm == 1 else f"{SECTION} at LUBM({args.lubm})"
        table = table.replace(SECTION, section, 1)
        text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Results\n"
        start = text.find(section + "\n")
        if start == -1:
            text = text.rstrip("\n") + "\n\n" + table
        else:
            end = text.find("\n## ", start + len(section))
            text = text[:start] + table + ("" if end == -1 else text[end:])
        RESULTS.write_text(text, encoding="utf-8")


SERVERS = ("kg serve", "kg serve, cache off", "Oxigraph server")
RDFLIB = "rdflib-endpoint"


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def report(args: argparse.Namespace, triples: int,
           results: dict[tuple[str, str], list[tuple[float, float, int]]],
           overhead: dict[str, tuple[float, float, float]],
           peers: tuple[str, ...] = SERVERS) -> str:
    lines = [
        SECTION, "",
        f"`.venv/bin/python bench/http_peers.py --cycles {args.cycles} --seconds "
        f"{args.seconds:g} --connections {args.connections} --lubm {args.lubm}` — run "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on this 2-core machine (the "
        f"client shares the cores with the servers). LUBM({args.lubm}) built with `kg build` "
        f"({triples:,} triples with the inferred graph); `kg serve` with its defaults (granian, "
        "2 workers, limits, allow-list, query processes; access log off), once with the "
        "answer cache and once without (`--cache-mb 0`), against `oxigraph serve-read-only "
        f"--union-default-graph` on the same quads"
        + (" and `rdflib-endpoint serve` (rdflib's SPARQL engine behind FastAPI/uvicorn) "
           "on the same triples" if RDFLIB in peers else "")
        + f"; `wrk -t2 -c{args.connections}`, each "
        f"server loaded in turn for {args.seconds:g} s per query and cycle; ratios taken "
        "within a cycle, medians over the cycles.", "",
        "| query | server | req/s | ratio to Oxigraph (median) | p99 ms | p99 ratio | "
        "non-2xx or timed out |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for qname in QUERIES:
        theirs = results[(qname, "Oxigraph server")]
        for sname in peers:
            ours = results[(qname, sname)]
            ratio = statistics.median(_ratio(a[0], b[0]) for a, b in zip(ours, theirs, strict=True))
            p99 = statistics.median(_ratio(a[1], b[1]) for a, b in zip(ours, theirs, strict=True))
            lines.append(
                f"| {qname} | {sname} | {statistics.median(r[0] for r in ours):,.0f} | "
                f"{ratio:.2f}× | {statistics.median(r[1] for r in ours):.1f} | {p99:.2f}× | "
                f"{sum(r[2] for r in ours)} |")
    lines += [
        "", "Per-request overhead at one client (`wrk -t1 -c1`, mean latency, 3 s each) over "
        "evaluating the query in process and writing its JSON answer (median); `kg serve` "
        "without the answer cache, so every request is evaluated:", "",
        "| query | in process ms | kg serve ms | overhead ms | Oxigraph server ms |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for qname, (inproc, ours, theirs) in overhead.items():
        lines.append(f"| {qname} | {inproc:.2f} | {ours:.2f} | {ours - inproc:.2f} | "
                     f"{theirs:.2f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
