"""Where a build's time goes, and how it grows with the input: ``kg build`` stage by stage.

    .venv/bin/python bench/build_stages.py [--scales 1,10] [--no-lubm] [--max-seconds 900]

For each input — the synthetic national graph of ``bench/generate.py`` at each scale
(default 1 ≈ 10k and 10 ≈ 100k triples; add 100 for ≈ 1M) and LUBM(1) — runs the real
``kg build`` in a subprocess with ``--reasoner fast`` and reads the stages (load, validate,
reason, store: triples and seconds) from the new generation's ``build.json``; the peak RSS
of the build process comes from ``wait4``. On the inputs of at most ``--owlrl-max-triples``
(default 150,000) it builds again with ``--reasoner owlrl --no-validate`` (validation does
not depend on the reasoner) and reports owlrl/fast for the reason stage and both inferred
graph sizes, which must be equal.

Bounded: every build is killed after ``--max-seconds`` or when its resident memory exceeds
``--max-rss-gib`` (default 12), and reported as killed, with the stage it was in.
Synthetic inputs larger than ``--validate-max-triples`` (default 200,000) are built with
``--no-validate``: SHACL validation (pyshacl) is the slowest stage by far (see RESULTS.md).

Prints a Markdown table, replaces the "Build stages" section of bench/RESULTS.md, and plots
cost against size (log-log) to bench/out/build_stages.png (copied to bench/build_stages.png).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from _common import (
    BENCH,
    KG,
    LUBM,
    OUT,
    ROOT,
    OverMemory,
    fmt_int,
    fmt_s,
    machine,
    run_measured,
    store_build_info,
    table,
    write_section,
)

HEADING = "Build stages"
INFERRED = "https://w3id.org/duikou/graph/inferred"
STAGE_LINE = re.compile(r"^(load|validate|reason|store)\s+([\d,]+) triples\s+([\d.]+) s", re.M)


@dataclass
class Input:
    name: str
    ontology: Path
    data: Path
    synthetic: bool


@dataclass
class Run:
    input: Input
    reasoner: str
    validate: bool
    status: str = "ok"  # ok, "> budget", "failed"
    wall: float = 0.0
    rss: int = 0
    stages: dict[str, tuple[int, float]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    error: str = ""

    @property
    def asserted(self) -> int | None:
        load = self.stages.get("load")
        return load[0] if load else None

    @property
    def inferred(self) -> int | None:
        return self.counts.get(INFERRED) if self.counts else None

    def stage_s(self, stage: str) -> float | None:
        got = self.stages.get(stage)
        return got[1] if got else None


def prepare_inputs(scales: list[float], lubm: bool) -> list[Input]:
    inputs = []
    sys.path.insert(0, str(BENCH))
    from generate import generate

    for scale in scales:
        out = OUT / "data" / f"scale-{scale:g}"
        counts = generate(scale, 0, out)
        total = sum(counts.values())
        print(f"generated scale {scale:g}: {total:,} triples in {out}", file=sys.stderr)
        inputs.append(Input(f"synthetic ×{scale:g} ({_short(total)})", ROOT / "ontology", out,
                            True))
    if lubm:
        inputs.append(Input("LUBM(1)", LUBM / "univ-bench.owl", LUBM / "lubm1.nt.gz", False))
    return inputs


def _short(n: int) -> str:
    for div, unit in ((1_000_000, "M"), (1_000, "k")):
        if n >= div:
            return f"{n / div:.0f}{unit}" if n / div >= 10 else f"{n / div:.1f}{unit}"
    return str(n)


def build(inp: Input, reasoner: str, validate: bool, budget: float,
          max_rss: int | None = None) -> Run:
    slug = "".join(c if c.isalnum() else "-" for c in inp.name.lower()).strip("-")
    store_root = OUT / "stores" / f"{slug}-{reasoner}"
    shutil.rmtree(store_root, ignore_errors=True)
    store = store_root / "store"
    cmd = [*KG, "build", "--ontology", str(inp.ontology), "--data", str(inp.data),
           "--store", str(store), "--reasoner", reasoner]
    if not validate:
        cmd.append("--no-validate")
    print(f"building {inp.name} with {reasoner}{'' if validate else ' (no validation)'} …",
          file=sys.stderr)
    status, wall, rss, err = run_measured(cmd, budget, max_rss=max_rss)
    run = Run(inp, reasoner, validate, wall=wall, rss=rss)
    if status != 0:
        # the stages that finished, from the progress lines on stderr
        for m in STAGE_LINE.finditer(err):
            run.stages[m.group(1)] = (int(m.group(2).replace(",", "")), float(m.group(3)))
        busy = next((s for s in ("load", "validate", "reason", "store")
                     if s not in run.stages and (s != "validate" or validate)), "?")
    if isinstance(status, OverMemory):
        run.status = f"killed in {busy}: RSS > {max_rss / 2**30:.0f} GiB"
    elif status is None:
        run.status = f"killed in {busy}: > {budget:.0f} s"
    elif status != 0:
        run.status, run.error = f"failed in {busy} (exit {status})", err.strip()[-300:]
        if status == -9:
            run.status += ", probably the kernel's OOM killer"
    else:
        info = store_build_info(store)
        run.stages = {s["stage"]: (s["triples"], s["seconds"]) for s in info["stages"]}
        run.counts = info["counts"]
    print(f"  {run.status}: {wall:.1f} s, peak {rss / 2**20:.0f} MiB", file=sys.stderr)
    shutil.rmtree(store_root, ignore_errors=True)
    return run


def stage_cell(run: Run, stage: str) -> str:
    got = run.stages.get(stage)
    if got is None:
        if run.status != "ok":
            return "–"
        return "skipped" if stage == "validate" else "–"
    return f"{fmt_int(got[0])} / {fmt_s(got[1])}"


def render(runs: list[Run], owl: dict[str, Run], budget: float, args: argparse.Namespace
           ) -> str:
    rows = []
    for run in runs:
        rows.append([
            run.input.name, run.status, stage_cell(run, "load"), stage_cell(run, "validate"),
            stage_cell(run, "reason"), stage_cell(run, "store"), fmt_s(run.wall),
            f"{run.rss / 2**20:,.0f}",
        ])
    main = table(["input", "fast build", "load (triples / s)", "validate", "reason (inferred / s)",
                  "store (total / s)", "wall s", "peak RSS MiB"], rows)
    peer_rows = []
    for run in runs:
        o = owl.get(run.input.name)
        if o is None:
            continue
        fr, orr = run.stage_s("reason"), o.stage_s("reason")
        ratio = f"{orr / fr:.1f}" if fr and orr else "–"
        same = ("–" if run.inferred is None or o.inferred is None else
                "yes" if run.inferred == o.inferred else "**no**")
        peer_rows.append([
            run.input.name, fmt_s(fr), o.status if o.status != "ok" else fmt_s(orr), ratio,
            fmt_int(run.inferred), fmt_int(o.inferred), same,
            f"{run.rss / 2**20:,.0f} / {o.rss / 2**20:,.0f}",
        ])
    peer = table(["input", "reason s (fast)", "reason s (owlrl)", "owlrl / fast",
                  "inferred (fast)", "inferred (owlrl)", "equal", "peak RSS MiB fast / owlrl"],
                 peer_rows) if peer_rows else (
        f"None: every input is above --owlrl-max-triples ({args.owlrl_max_triples:,}).")
    cmd = "`.venv/bin/python bench/build_stages.py"
    cmd += f" --scales {args.scales}" + ("" if args.lubm else " --no-lubm")
    cmd += f" --max-seconds {budget:g}"
    cmd += "`" if args.section == HEADING else f" --section '{args.section}'`"
    when = machine()
    if args.replot:
        when += " (Table and plot rendered again with `--replot` from the saved run.)"
    return (
        f"{cmd} — {when}\n\n"
        "Each cell is triples / seconds from the generation's `build.json` (load: asserted "
        "triples read; validate: triples validated; reason: new triples inferred; store: all "
        "triples after writing the inferred graph). Wall time includes Python start-up and "
        "imports; peak RSS is the build process's (`wait4`). Synthetic inputs come from "
        "`bench/generate.py --seed 0`; LUBM(1) has no shapes, so it is not validated. "
        f"Synthetic inputs above {args.validate_max_triples:,} triples are built with "
        f"`--no-validate`. A build is killed after {budget:g} s or above "
        f"{args.max_rss_gib:g} GiB RSS (the machine has 24 GiB, shared).\n\n"
        f"### `--reasoner fast` (the default)\n\n{main}\n\n"
        "### `--reasoner owlrl` (the reference) as the peer\n\n"
        "Built with `--no-validate` (validation does not depend on the reasoner); the closure "
        "sizes are the inferred graphs' triple counts, which must be equal.\n\n"
        f"{peer}\n\n![cost against size](build_stages.png)\n"
    )


def plot(runs: list[Run], owl: dict[str, Run], path: Path) -> bool:
    """Seconds against asserted triples, log-log: one line per stage over the synthetic
    scales, LUBM(1) as separate hollow markers of the same colour."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed (pip install -e '.[bench]'): no plot", file=sys.stderr)
        return False
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    series: dict[str, dict[bool, list[tuple[int, float]]]] = {}
    for run in runs:
        n = run.asserted
        if n is None:
            continue
        points = {f"{stage} (fast)": run.stage_s(stage)
                  for stage in ("load", "validate", "reason", "store")}
        points["whole build, wall (fast)"] = run.wall
        o = owl.get(run.input.name)
        points["reason (owlrl)"] = o.stage_s("reason") if o is not None else None
        for label, seconds in points.items():
            if seconds:
                series.setdefault(label, {}).setdefault(run.input.synthetic, []).append(
                    (n, seconds))
    for i, (label, families) in enumerate(series.items()):
        colour = f"C{i}"
        style = "--" if "owlrl" in label else "-"
        synthetic = sorted(families.get(True, []))
        if synthetic:
            ax.plot([p[0] for p in synthetic], [p[1] for p in synthetic], style, marker="o",
                    color=colour, label=label)
        for n, seconds in families.get(False, []):
            ax.plot([n], [seconds], marker="s", markerfacecolor="none", color=colour,
                    linestyle="none", label=None if synthetic else label)
    ax.plot([], [], marker="s", markerfacecolor="none", color="grey", linestyle="none",
            label="hollow squares: LUBM(1)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("asserted triples (lines: synthetic graph; squares: LUBM(1))")
    ax.set_ylabel("seconds")
    ax.set_title("kg build: cost against size")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def save_runs(runs: list[Run], owl: dict[str, Run], path: Path) -> None:
    def one(r: Run) -> dict:
        return {"input": asdict(r.input), "reasoner": r.reasoner, "validate": r.validate,
                "status": r.status, "wall": r.wall, "rss": r.rss, "stages": r.stages,
                "counts": r.counts, "error": r.error}

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"runs": [one(r) for r in runs],
                                "owl": {k: one(v) for k, v in owl.items()}}, default=str,
                               indent=1), encoding="utf-8")


def load_runs(path: Path) -> tuple[list[Run], dict[str, Run]]:
    def one(d: dict) -> Run:
        i = d["input"]
        inp = Input(i["name"], Path(i["ontology"]), Path(i["data"]), i["synthetic"])
        return Run(inp, d["reasoner"], d["validate"], d["status"], d["wall"], d["rss"],
                   {k: tuple(v) for k, v in d["stages"].items()}, d["counts"], d["error"])

    data = json.loads(path.read_text(encoding="utf-8"))
    return [one(d) for d in data["runs"]], {k: one(v) for k, v in data["owl"].items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1,10",
                        help="synthetic scales, comma-separated (1 ≈ 10k, 10 ≈ 100k, 100 ≈ 1M "
                             "triples); default 1,10")
    parser.add_argument("--no-lubm", dest="lubm", action="store_false",
                        help="leave LUBM(1) out")
    parser.add_argument("--max-seconds", type=float, default=900,
                        help="budget per build; a build over it is killed (default 900)")
    parser.add_argument("--max-rss-gib", type=float, default=12,
                        help="kill a build whose resident memory exceeds this (default 12 GiB: "
                             "half this shared machine)")
    parser.add_argument("--owlrl-max-triples", type=int, default=150_000,
                        help="also build with owlrl inputs up to this size (default 150,000)")
    parser.add_argument("--validate-max-triples", type=int, default=200_000,
                        help="validate synthetic inputs up to this size (default 200,000)")
    parser.add_argument("--section", default=HEADING,
                        help=f"the RESULTS.md section to replace (default {HEADING!r}); the "
                             "plot is named after it")
    parser.add_argument("--no-results", action="store_true",
                        help="print only; leave bench/RESULTS.md and the plot copy alone")
    parser.add_argument("--replot", action="store_true",
                        help="no builds: render the table and plot again from the last run's "
                             "bench/out/<section>.json")
    args = parser.parse_args(argv)
    scales = [float(s) for s in args.scales.split(",") if s.strip()]
    max_rss = int(args.max_rss_gib * 2**30)

    slug = "build_stages" if args.section == HEADING else "".join(
        c if c.isalnum() else "_" for c in args.section.lower()).strip("_")
    runs: list[Run] = []
    owl: dict[str, Run] = {}
    inputs = [] if args.replot else prepare_inputs(scales, args.lubm)
    if args.replot:
        runs, owl = load_runs(OUT / f"{slug}.json")
    for inp in inputs:
        sized = inp.synthetic and _size(inp) > args.validate_max_triples
        run = build(inp, "fast", inp.synthetic and not sized, args.max_seconds, max_rss)
        if run.status != "ok" and run.validate and "validate" not in run.stages:
            # still measure the other stages: the same build without validation
            retry = build(inp, "fast", False, args.max_seconds, max_rss)
            if retry.status == "ok":
                retry.status = f"validation {run.status}; rest without it"
                run = retry
        runs.append(run)
        size = run.asserted if run.asserted is not None else _size(inp)
        if size <= args.owlrl_max_triples:
            owl[inp.name] = build(inp, "owlrl", False, args.max_seconds, max_rss)

    if not args.replot:
        save_runs(runs, owl, OUT / f"{slug}.json")
    body = render(runs, owl, args.max_seconds, args).replace("build_stages.png", f"{slug}.png")
    png = OUT / f"{slug}.png"
    plotted = len(runs) > 1 and plot(runs, owl, png)  # one input makes no curve
    if not plotted:
        body = body.replace(f"\n![cost against size]({slug}.png)\n", "\n")
    print(body)
    if not args.no_results:
        write_section(args.section, body)
        if plotted:
            shutil.copyfile(png, BENCH / f"{slug}.png")
    return 0 if all(r.status == "ok" for r in runs) else 1


def _size(inp: Input) -> int:
    """Triples of an input: from the generator's README for synthetic data, else a line
    count of the N-Triples file."""
    if inp.synthetic:
        import re

        text = (inp.data / "README.md").read_text(encoding="utf-8")
        found = re.search(r"\*\*total\*\* \| \*\*([\d,]+)\*\*", text)
        return int(found.group(1).replace(",", "")) if found else 0
    import gzip

    with gzip.open(inp.data, "rb") as f:
        return sum(1 for _ in f)


if __name__ == "__main__":
    sys.exit(main())
