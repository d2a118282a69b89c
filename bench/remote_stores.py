"""Remote stores: loading a build into Virtuoso and Oxigraph server against the embedded
store, and the competency questions' latency on each.

    .venv/bin/python bench/remote_stores.py [--scale 10] [--repeat 5] [--no-write]

For each input (the repository's data, and ``bench/generate.py --scale N`` data) the
inputs are loaded and reasoned once (``--reasoner fast``, no validation), then written:

- embedded: every quad into a new on-disk pyoxigraph store (``bulk_extend``, ``flush``,
  ``optimize``), what ``kg build`` does for its store;
- Virtuoso 7.2 (Debian's ``virtuoso-t``) and the Oxigraph server (PyPI ``oxigraph``), each
  a separate process on loopback: :meth:`kg.remote.RemoteStore.replace_graphs`, i.e. the
  Graph Store Protocol upload into staging graphs in batches, the count check, the
  ``MOVE`` swap with the union graph and the count check after.

Then the competency questions (``queries/*.rq``, on the repository's data) run ``--repeat``
times each through the Store interface in process, and over HTTP through ``kg serve`` in
front of each store; the table gives the median of each question's median.
Writes the "Remote stores" section of ``bench/RESULTS.md`` unless ``--no-write``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyoxigraph as ox
import requests
from _common import KG, ROOT, fmt_int, machine, table, write_section

from kg.build import BuildOptions, _load_validate_reason
from kg.localservers import LocalServer, free_port, start_oxigraph, start_virtuoso
from kg.namespaces import Graphs
from kg.remote import RemoteStore
from kg.store import BuildInfo, count_graphs, new_build_id, open_store
from kg.terms import triples_to_quads

QUERIES = sorted((ROOT / "queries").glob("*.rq"))

LABELS = {"virtuoso": "Virtuoso 7.2", "oxigraph": "Oxigraph server"}


def prepare(data: Path, folder: Path) -> tuple[ox.Store, dict[str, int]]:
    """Inputs loaded and reasoned once, on disk, as ``kg build`` would before its store."""
    db = ox.Store(str(folder))
    options = BuildOptions(ontology=(ROOT / "ontology",), data=(data,), validate=False,
                           reasoner="fast")
    _, _, inferred = _load_validate_reason(db, options, _Quiet(), [])
    db.bulk_extend(triples_to_quads(inferred, str(Graphs.INFERRED)))
    db.flush()
    return db, count_graphs(db)


class _Quiet:
    def start(self, stage: str) -> None:
        pass

    def done(self, stage: str, triples: int, seconds: float, detail: str = "") -> None:
        pass


class Stages:
    """Records upload and swap seconds (the build's Progress protocol)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def start(self, stage: str) -> None:
        pass

    def done(self, stage: str, triples: int, seconds: float, detail: str = "") -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds


def write_embedded(db: ox.Store, folder: Path) -> float:
    started = time.perf_counter()
    target = ox.Store(str(folder))
    target.bulk_extend(db.quads_for_pattern(None, None, None, None))
    target.flush()
    target.optimize()
    seconds = time.perf_counter() - started
    del target
    return seconds


def write_remote(server: LocalServer, db: ox.Store, counts: dict[str, int]
                 ) -> tuple[float, float]:
    os.environ.update(server.env)
    try:
        remote = RemoteStore(server.location, check=False)
        info = BuildInfo(build_id=new_build_id(), reasoner="fast", counts=counts,
                         built_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        stages = Stages()
        remote.replace_graphs(db, counts, info, stages)
        remote.close()
    finally:
        for name in server.env:
            os.environ.pop(name, None)
    return stages.seconds.get("upload", 0.0), stages.seconds.get("swap", 0.0)


def latencies_in_process(location: object, repeat: int) -> float:
    store = open_store(location)  # type: ignore[arg-type]
    medians = []
    for query in QUERIES:
        text = query.read_text(encoding="utf-8")
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            list(store.query(text))  # type: ignore[arg-type]
            times.append(time.perf_counter() - started)
        medians.append(statistics.median(times))
    return statistics.median(medians)


def latencies_http(location: object, repeat: int, logs: Path) -> float:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KG_")}
    with open(logs / f"serve-{port}.log", "wb") as out:
        process = subprocess.Popen([*KG, "serve", "--store", str(location), "--port", str(port),
                                    "--workers", "1", "--access-log", ""], cwd=ROOT, env=env,
                                   stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.2)
        session = requests.Session()
        medians = []
        for query in QUERIES:
            text = query.read_text(encoding="utf-8")
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                resp = session.get(url + "/sparql", params={"query": text}, timeout=60,
                                   headers={"Accept": "application/sparql-results+json"})
                resp.raise_for_status()
                times.append(time.perf_counter() - started)
            medians.append(statistics.median(times))
        return statistics.median(medians)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def rate(triples: int, seconds: float) -> str:
    return f"{triples / seconds:,.0f}" if seconds > 0 else "–"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=10,
                        help="bench/generate.py scale of the synthetic input (0: none)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="kg-bench-remote-"))
    inputs: list[tuple[str, Path]] = [("repository data", ROOT / "data")]
    if args.scale:
        synthetic = tmp / f"synthetic-{args.scale}"
        subprocess.run([sys.executable, str(ROOT / "bench" / "generate.py"), "--scale",
                        str(args.scale), "--seed", "0", "--out", str(synthetic)],
                       check=True, stdout=subprocess.DEVNULL)
        inputs.append((f"synthetic ×{args.scale}", synthetic))

    try:
        servers = [start_virtuoso(tmp / "virtuoso"), start_oxigraph(tmp / "oxigraph")]
    except RuntimeError as e:
        raise SystemExit(str(e)) from None
    load_rows = []
    try:
        # the synthetic input first, the repository's data last: it stays on the servers
        for label, data in reversed(inputs):
            db, counts = prepare(data, tmp / f"prepared-{len(load_rows)}")
            total = sum(counts.values())
            embedded = write_embedded(db, tmp / f"embedded-{len(load_rows)}")
            row = [label, fmt_int(total), f"{rate(total, embedded)} ({embedded:.2f} s)"]
            for server in servers:
                upload, swap = write_remote(server, db, counts)
                row.append(f"{rate(total, upload)} ({upload:.2f} s) + swap {swap:.2f} s")
                print(f"{label}: {LABELS[server.name]} upload {upload:.2f} s, swap {swap:.2f} s",
                      file=sys.stderr)
            load_rows.append(row)
            del db

        # the embedded store for the latencies: a real `kg build` of the repository's data
        embedded_store = tmp / "store"
        subprocess.run([*KG, "build", "--store", str(embedded_store), "--quiet",
                        "--no-validate"], cwd=ROOT, check=True)
        stores: list[tuple[str, object]] = [("embedded (pyoxigraph)", embedded_store)]
        stores += [(LABELS[s.name], s.location) for s in servers]
        latency_rows = []
        for name, where in stores:
            inproc = latencies_in_process(where, args.repeat)
            http = latencies_http(where, args.repeat, tmp)
            latency_rows.append([name, f"{inproc * 1000:.1f}", f"{http * 1000:.1f}"])
            print(f"{name}: in process {inproc * 1000:.1f} ms, HTTP {http * 1000:.1f} ms",
                  file=sys.stderr)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    names = [LABELS[s.name] for s in servers]
    body = "\n\n".join([
        f"`.venv/bin/python bench/remote_stores.py --scale {args.scale} --repeat "
        f"{args.repeat}` — {machine()}",
        "Writing a reasoned build (`--reasoner fast`) into each store, in triples per "
        "second. Embedded: every quad into a new on-disk pyoxigraph store (bulk load, "
        "flush, optimize). Remote: `kg build --store URL`'s upload (Graph Store Protocol "
        "POSTs of 50,000 N-Triples lines into staging graphs, then a count per graph), "
        "and the swap (one SPARQL Update: `MOVE` of every staging graph, the union graph "
        "rebuilt with `ADD`, the build description; counts checked again). Both servers "
        "run on the same 2 cores as the client, on loopback.",
        table(["input", "triples", "embedded", *names], load_rows),
        f"Competency questions (`queries/*.rq`, {len(QUERIES)} of them, on the repository's "
        f"data): the median over the questions of each question's median of {args.repeat} "
        "runs, in milliseconds. In process: `open_store(...).query(...)` and reading every "
        "row. HTTP: `GET /sparql` on `kg serve --workers 1` in front of the store, JSON "
        "results, one keep-alive connection.",
        table(["store", "in process (ms)", "over HTTP via kg serve (ms)"], latency_rows),
    ])
    print(body)
    if not args.no_write:
        write_section("Remote stores", body)


if __name__ == "__main__":
    main()
