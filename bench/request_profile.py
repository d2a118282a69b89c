"""Where an uncached request's time goes: a py-spy profile of `kg serve` and the hop costs.

Two measurements on one built store (LUBM(1) by default, built here unless ``--store``):

1. **Hops, in process** — the same query and JSON answer evaluated inline, through the
   thread runner and through the query-process runner (``kg.web.executor``), median of
   300 calls each: what handing a query to another thread or process costs.
2. **Profile, over HTTP** — ``kg serve --workers 1 --cache-mb 0`` under ``wrk -c1`` for each
   query, sampled by ``py-spy record --subprocesses``; samples are grouped by the layer
   they are in (granian's WSGI glue, Flask/Werkzeug, our request handling, the pipe to the
   query process, query evaluation, serialisation).

    .venv/bin/python bench/request_profile.py [--store PATH] [--seconds 6] [--write]

Needs `wrk` (Debian) and `py-spy` (PyPI, in the bench extra). Bounded: about
2 × (queries × seconds) plus the build.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from pathlib import Path

from _common import KG, ROOT, machine, table, write_section

from kg.formats import RESULT_FORMATS
from kg.localservers import free_port
from kg.store import open_store
from kg.web.executor import QueryJob, QueryProcesses, ThreadRunner
from kg.web.results import Spool, write_result

LUBM = ROOT.parent / "shared" / "bench-data" / "lubm"
QUERIES = {
    "cheap lookup": "SELECT ?p ?o WHERE { "
                    "<http://www.Department0.University0.edu/GraduateStudent1> ?p ?o }",
    "LUBM Q4 (selective join)": (LUBM / "queries" / "q4.rq").read_text(encoding="utf-8"),
}
BASE = "http://127.0.0.1/sparql"
LAYERS = (  # first match wins, from the innermost frame out
    ("query evaluation (pyoxigraph)", ("_Counter.__iter__", "_batches", "EmbeddedStore.query")),
    ("serialisation (SPARQL JSON)", ("write_result", "_write_json")),
    ("pipe to and from the query process", ("multiprocessing/connection",)),
    ("runner bookkeeping", ("kg/web/executor", "kg/web/limits")),
    ("our request handling", ("kg/web/",)),
    ("Flask and Werkzeug", ("flask/", "werkzeug/")),
    ("granian's WSGI glue", ("granian/",)),
)


def median_ms(work: object, n: int = 300) -> float:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        work()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def hops(store: Path) -> list[list[str]]:
    db = open_store(store)
    threads = ThreadRunner(db, 4, 5)
    processes = QueryProcesses(store, 4, 5, 30)
    processes.warm()
    rows = []
    try:
        for name, text in QUERIES.items():
            job = QueryJob(text, True, (), (), BASE, None, None, "json", 100_000)
            inline = median_ms(lambda text=text: write_result(
                db.query(text, base_iri=BASE), RESULT_FORMATS[0], Spool(), 100_000))
            thread = median_ms(lambda job=job: threads.run(job, 30))
            process = median_ms(lambda job=job: processes.run(job, 30))
            rows.append([name, f"{inline:.2f}", f"{thread:.2f}", f"{process:.2f}",
                         f"{process - inline:.2f}"])
    finally:
        processes.close()
    return rows


def layer(stack: str) -> str:
    frames = stack.split(";")
    for frame in reversed(frames):
        for name, marks in LAYERS:
            if any(mark in frame for mark in marks):
                return name
    return "other (interpreter, start-up, idle)"


def profile(store: Path, seconds: float, tmp: Path) -> dict[str, Counter]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KG_")}
    server = subprocess.Popen([*KG, "serve", "--store", str(store), "--port", str(port),
                               "--workers", "1", "--cache-mb", "0", "--access-log", ""],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shares: dict[str, Counter] = {}
    try:
        url = f"http://127.0.0.1:{port}/sparql"
        deadline = time.monotonic() + 60
        while subprocess.run(["curl", "-sf", "-o", "/dev/null", url + "?query=ASK%7B%7D"],
                             check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise SystemExit("kg serve did not start")
            time.sleep(0.3)
        worker = int(subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True,
                                    text=True, check=True).stdout.split()[0])
        for name, text in QUERIES.items():
            target = f"{url}?query={urllib.parse.quote(text)}"
            load = subprocess.Popen(["wrk", "-t1", "-c1", f"-d{seconds + 2:g}s", target],
                                    stdout=subprocess.DEVNULL)
            time.sleep(1)
            raw = tmp / "profile.txt"
            subprocess.run([str(Path(sys.executable).parent / "py-spy"), "record", "-p",
                            str(worker), "--subprocesses", "-d", f"{seconds:g}", "-r", "500",
                            "-f", "raw", "-o", str(raw), "--nonblocking"],
                           check=True, capture_output=True)
            load.wait()
            counts: Counter = Counter()
            for line in raw.read_text().splitlines():
                stack, _, n = line.rpartition(" ")
                counts[layer(stack)] += int(n)
            shares[name] = counts
    finally:
        server.terminate()
        server.wait(30)
    return shares


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, help="a built store (default: build LUBM(1))")
    parser.add_argument("--seconds", type=float, default=6)
    parser.add_argument("--write", action="store_true",
                        help="replace the 'Request profile' section of bench/RESULTS.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kg-profile-") as tmp_name:
        tmp = Path(tmp_name)
        store = args.store
        if store is None:
            store = tmp / "store"
            subprocess.run([*KG, "build", "--ontology", str(LUBM / "univ-bench.owl"),
                            "--data", str(LUBM / "lubm1.nt.gz"), "--store", str(store),
                            "--quiet"], check=True, timeout=600)
        hop_rows = hops(store)
        shares = profile(store, args.seconds, tmp)
    names = [name for name, _ in LAYERS] + ["other (interpreter, start-up, idle)"]
    profile_rows = []
    for name in names:
        row = [name]
        for query in QUERIES:
            total = sum(shares[query].values()) or 1
            row.append(f"{shares[query][name] / total * 100:.0f} %")
        profile_rows.append(row)
    body = "\n\n".join([
        f"`.venv/bin/python bench/request_profile.py --seconds {args.seconds:g}` — "
        f"{machine()}",
        "Hops, in process (median ms of 300 calls; the query evaluated and its SPARQL JSON "
        "answer written inline, on the thread runner, and on the query-process runner):\n\n"
        + table(["query", "inline", "thread runner", "query process", "process hop cost"],
                hop_rows),
        "Where `kg serve --workers 1 --cache-mb 0` spends its samples under `wrk -c1` "
        "(py-spy, 500 Hz, the worker and its query processes; a sample counts for the "
        "innermost layer it is in; py-spy counts a thread blocked reading a pipe as busy, "
        "so the pipe row includes each side waiting for the other, and the hop table "
        "above is the cleaner measure of what the hop costs):\n\n"
        + table(["layer", *QUERIES], profile_rows),
    ])
    print(body)
    if args.write:
        write_section("Request profile", body)


if __name__ == "__main__":
    main()
