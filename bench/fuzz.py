"""Long fuzzing run: the protocol-layer strategies of ``tests/integration/test_fuzz.py`` and
schemathesis over ``/openapi.json``, against one real ``kg serve``, for a fixed time.

Builds the endpoint fixture into a temporary store, starts ``kg serve --workers 2`` on a free
loopback port, then spends two thirds of ``--minutes`` (default 5) on rounds of the three
hypothesis strategies (query strings, POST bodies and content types, paths and methods, each
with arbitrary headers) and one third on schemathesis (``--max-time``, every check but
``positive_data_acceptance``, random seed). Prints the cases run and the statuses seen, fails
(exit 1) on any 5xx for a client mistake, a crashed worker or a 500 in the log;
``--write`` replaces the "Fuzzing" section of ``bench/RESULTS.md``.

    .venv/bin/python bench/fuzz.py --minutes 5
    .venv/bin/python bench/fuzz.py --minutes 1 --examples 200
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

from _common import ROOT, machine, table, write_section


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--examples", type=int, default=500,
                        help="hypothesis examples per strategy and round")
    parser.add_argument("--write", action="store_true",
                        help="replace the 'Fuzzing' section of bench/RESULTS.md")
    args = parser.parse_args()
    os.environ["KG_FUZZ_EXAMPLES"] = str(args.examples)
    warnings.filterwarnings("ignore", message="Generating overly large repr")
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "tests"))  # the suite's conftest, as pytest would put it
    from tests.integration import test_fuzz as fuzz
    from tests.integration.conftest import build_fixture, start_server

    budget = args.minutes * 60
    tmp = Path(tempfile.mkdtemp(prefix="kg-fuzz-"))
    store = build_fixture(tmp / "store")
    srv = start_server(store, tmp / "logs", "--workers", "2",
                       env={"KG_QUERY_TIMEOUT": "5", "KG_MAX_ROWS": "200",
                            "KG_MAX_BODY": str(fuzz.MAX_BODY)})
    failures: list[str] = []
    started = time.monotonic()
    try:
        pids = fuzz.worker_pids(srv.process.pid)
        strategies = [fuzz.test_get_parameters, fuzz.test_post_bodies,
                      fuzz.test_paths_and_methods]
        per_strategy = {s.__name__: 0 for s in strategies}
        rounds = 0
        while time.monotonic() - started < budget * 2 / 3:
            rounds += 1
            for strategy in strategies:
                before = fuzz.TALLY.cases
                try:
                    strategy(fuzz_server=srv, pids_before=pids)
                except Exception as e:  # a falsified property: report it, keep the rest
                    text = str(e)  # starts with the (huge) example's repr: keep the end
                    failures.append(f"{strategy.__name__}: {type(e).__name__}: "
                                    f"{text[:300]} … {text[-1200:]}")
                per_strategy[strategy.__name__] += fuzz.TALLY.cases - before
        for target in fuzz.TRAVERSALS:
            fuzz.test_path_traversal_is_404_never_a_file(srv, target)
        hypothesis_seconds = time.monotonic() - started

        st = Path(sys.executable).with_name("st")
        left = max(10, int(budget - (time.monotonic() - started)))
        result = subprocess.run(
            [str(st), "run", srv.url + "/openapi.json", "--checks", "all",
             "--exclude-checks", "positive_data_acceptance", "--suppress-health-check",
             "filter_too_much", "--max-time", str(left), "--workers", "2",
             "--request-timeout", "20", "--output-truncate", "true", "--no-color"],
            cwd=tmp, capture_output=True, text=True, timeout=left + 120)
        out = result.stdout + result.stderr
        found = re.search(r"(\d+) generated, (\d+) (passed|found)", out)
        st_cases = int(found.group(1)) if found else 0
        if result.returncode != 0:
            failures.append("schemathesis: " + out[out.find("====="):][:4000])

        try:
            fuzz.test_no_worker_crashed(srv, pids)
        except AssertionError as e:
            failures.append(f"server after fuzzing: {e}")
    finally:
        srv.stop()
    seconds = time.monotonic() - started

    statuses = ", ".join(f"{code}: {n:,}" for code, n in sorted(fuzz.TALLY.statuses.items()))
    rows = [[name.removeprefix("test_").replace("_", " "), f"{n:,}"]
            for name, n in per_strategy.items()]
    rows.append(["path traversal list", str(len(fuzz.TRAVERSALS))])
    rows.append([f"schemathesis over /openapi.json ({left} s, all checks but "
                 "positive_data_acceptance)", f"{st_cases:,}"])
    body = "\n\n".join([
        f"`bench/fuzz.py --minutes {args.minutes:g}` — {seconds:.0f} s against one "
        "`kg serve --workers 2` (endpoint fixture, `KG_MAX_BODY=65536`, "
        f"`KG_QUERY_TIMEOUT=5`) over loopback. {machine()}",
        table(["strategy", "cases"], rows),
        f"Hypothesis: {fuzz.TALLY.cases:,} requests in {rounds} rounds "
        f"({hypothesis_seconds:.0f} s); statuses {statuses}. "
        + ("**No failure**: no 5xx, every error well-formed, no worker crashed, no 500 "
           "logged." if not failures else f"**{len(failures)} failures** (below)."),
        *(f"```\n{f[:1500]}\n```" for f in failures),
    ])
    print(body)
    if args.write:
        write_section("Fuzzing", body)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
