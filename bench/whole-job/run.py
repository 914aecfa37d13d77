#!/usr/bin/env python3
"""Whole-job throughput: `scorewell score MODEL --input in.parquet --output out.parquet` against
the same job written in Python, same rows, same threads, same machine, same run.

    cargo build --release -p scorewell-cli --locked
    .venv/bin/python bench/whole-job/run.py                     # 300k rows timed, 2.4M for memory
    .venv/bin/python bench/whole-job/run.py --baseline /tmp/scorewell-main   # A/B two binaries
    .venv/bin/python bench/whole-job/run.py --quick --no-write  # smoke test

Jobs, each a fresh process, timed from start to exit (process start, model load, Parquet
decode, scoring, Parquet encode, rename):
  scorewell  `scorewell score MODEL --input IN --output OUT --threads N --quiet` (every input
             column copied, `prediction` appended, snappy Parquet written to a temporary file
             and renamed)
  python     this script with --python-job: pyarrow.parquet.read_table -> numpy (n x 50
             float32) -> XGBoost Booster.inplace_predict / LightGBM Booster.predict ->
             Table.append_column("prediction") -> pyarrow.parquet.write_table (snappy). Threads:
             OMP_NUM_THREADS, XGBoost nthread, LightGBM num_threads, pyarrow's CPU and I/O pools.
             Its own timer (model load to written file, imports excluded) is reported too.
Data and models are bench/run.py's (make_data, write_parquet, ensure_models): 50 float32
features with NaN in 10 columns; XGBoost 500 trees depth 6, LightGBM 500 trees 63 leaves.
Runs take turns (baseline, scorewell, python per round) so the machine's slow spells fall on
all alike; medians are reported. Before anything is timed the outputs must agree: every input
column bit for bit, XGBoost's prediction exactly as float32, LightGBM's within 1e-12; the
baseline's file must equal the tested binary's byte for byte.
Peak memory: each job once more on --mem-rows rows, peak RSS of the job's process from GNU time
(/usr/bin/time -f %M); CPU seconds (user + sys) from the same.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import filecmp
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
sys.path.insert(0, str(BENCH))
import shared  # noqa: E402  (bench/shared.py)

core = shared.load_core()
LGB_TOL = 1e-12


def log(msg: str) -> None:
    print(f"[whole-job {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def rel(p: Path) -> str:
    p = Path(p)
    return str(p.relative_to(ROOT)) if p.is_absolute() and p.is_relative_to(ROOT) else str(p)


# --------------------------------------------------------------------------------------------
# the Python job (runs in a child process of its own)
# --------------------------------------------------------------------------------------------


def python_job(kind: str, model: Path, src: Path, dst: Path, threads: int) -> None:
    """The job as a Python user writes it; prints its own timings as one JSON line."""
    t0 = time.perf_counter()
    import pyarrow as pa
    import pyarrow.parquet as papq

    pa.set_cpu_count(threads)
    pa.set_io_thread_count(threads)
    if kind == "xgboost":
        import xgboost as xgb
    else:
        import lightgbm as lgb
    t1 = time.perf_counter()
    if kind == "xgboost":
        booster = xgb.Booster(model_file=str(model))
        booster.set_param({"nthread": threads})
    else:
        booster = lgb.Booster(model_file=str(model))
    t2 = time.perf_counter()
    table = papq.read_table(src)
    X = np.column_stack([table.column(name).to_numpy() for name in core.FEATURES])
    t3 = time.perf_counter()
    if kind == "xgboost":
        pred = booster.inplace_predict(X, missing=np.nan)
    else:
        pred = booster.predict(X, num_threads=threads)
    t4 = time.perf_counter()
    papq.write_table(table.append_column("prediction", pa.array(pred)), dst, compression="snappy")
    t5 = time.perf_counter()
    print(json.dumps({
        "import_s": t1 - t0, "load_s": t2 - t1, "read_s": t3 - t2, "predict_s": t4 - t3,
        "write_s": t5 - t4, "job_s": t5 - t1,
    }))


# --------------------------------------------------------------------------------------------
# running and checking
# --------------------------------------------------------------------------------------------


TIME = Path("/usr/bin/time")


def run_child(cmd: list[str], env: dict[str, str] | None = None) -> dict:
    """Run cmd: wall seconds, the process's peak RSS (bytes) and CPU seconds, stdout.

    The RSS comes from GNU time (/usr/bin/time), which forks the job from its own small
    process: a child forked from this Python inherits its high-water RSS through exec, so
    wait4's or RUSAGE_CHILDREN's ru_maxrss would report this script's RSS for a small job."""
    if not TIME.exists():
        raise SystemExit("the peak-RSS figures need GNU time at /usr/bin/time (apt-get install time)")
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r") as usage:
        t = time.perf_counter()
        p = subprocess.run([str(TIME), "-f", "%M %U %S", "-o", usage.name, *cmd], stdout=out, stderr=err, env=env)
        wall = time.perf_counter() - t
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
        fields = usage.read().split()
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({p.returncode}):\n{stderr}")
    kb, user, sys_s = fields[-3:]
    return {"wall_s": wall, "rss": int(kb) * 1024, "cpu_s": float(user) + float(sys_s), "stdout": stdout}


class Jobs:
    """The command lines of every job for one model."""

    def __init__(self, a, kind: str, model: Path, binaries: dict[str, Path]):
        self.a, self.kind, self.model, self.binaries = a, kind, model, binaries
        self.env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))

    def names(self) -> list[str]:
        return [*self.binaries, "python"]

    def run(self, name: str, src: Path, dst: Path) -> dict:
        if name == "python":
            cmd = [sys.executable, __file__, "--python-job", self.kind, str(self.model), str(src),
                   str(dst), str(self.a.threads)]
            r = run_child(cmd, self.env)
            return {**r, **json.loads(r.pop("stdout").strip().splitlines()[-1])}
        cmd = [str(self.binaries[name]), "score", str(self.model), "--input", str(src), "--output",
               str(dst), "--threads", str(self.a.threads), "--quiet"]
        r = run_child(cmd, self.env)
        del r["stdout"]
        return r


def check(jobs: Jobs, src: Path, outs: dict[str, Path]) -> list[str]:
    """Every output against the input and the Python job's; stops the run on a disagreement."""
    import pyarrow.parquet as papq

    want_in = papq.read_table(src)
    want = papq.read_table(outs["python"]).column("prediction").to_numpy()
    notes = []
    for name in jobs.binaries:
        got_t = papq.read_table(outs[name])
        if got_t.column_names != [*want_in.column_names, "prediction"]:
            raise SystemExit(f"{name}: columns {got_t.column_names}")
        for col in want_in.column_names:
            a = got_t.column(col).to_numpy().view(np.uint32)
            b = want_in.column(col).to_numpy().view(np.uint32)
            if not np.array_equal(a, b):
                raise SystemExit(f"{name}: input column {col} not copied bit for bit")
        got = got_t.column("prediction").to_numpy()
        if jobs.kind == "xgboost":
            # scorewell writes float64; XGBoost's float32 sums must come back exactly.
            same = np.array_equal(got.astype(np.float32), want) and np.array_equal(got, want.astype(np.float64))
            if not same:
                raise SystemExit(f"{name}: xgboost predictions differ from inplace_predict")
            notes.append(f"{name} vs python: {len(got):,} predictions equal as float32")
        else:
            diff = float(np.max(np.abs(got - want)))
            if diff > LGB_TOL:
                raise SystemExit(f"{name}: lightgbm predictions differ by up to {diff:.3e}")
            notes.append(f"{name} vs python: {len(got):,} predictions, max |diff| {diff:.1e}")
    names = list(jobs.binaries)
    for other in names[1:]:
        same = filecmp.cmp(outs[names[0]], outs[other], shallow=False)
        if not same:
            raise SystemExit(f"{names[0]} and {other} wrote different files")
        notes.append(f"{other} and {names[0]} wrote byte-identical files")
    return notes


def check_big(jobs: Jobs, rows: int, outs: dict[str, Path]) -> list[str]:
    """The memory runs' outputs: every row there (read by pyarrow), the binaries' files equal."""
    import pyarrow.parquet as papq

    notes = []
    for name in jobs.binaries:
        meta = papq.read_metadata(outs[name])
        if meta.num_rows != rows:
            raise SystemExit(f"{name}: {meta.num_rows} rows written of {rows}")
        notes.append(f"{name}, {rows:,} rows: {meta.num_row_groups} row groups, read back by pyarrow")
    names = list(jobs.binaries)
    for other in names[1:]:
        if not filecmp.cmp(outs[names[0]], outs[other], shallow=False):
            raise SystemExit(f"{names[0]} and {other} wrote different files ({rows:,} rows)")
        notes.append(f"{other} and {names[0]} wrote byte-identical files ({rows:,} rows)")
    return notes


def data(out: Path, rows: int, seed: int) -> Path:
    path = out / f"rows_{rows}_s{seed}.parquet"
    if not path.exists():
        core.write_parquet(core.make_data(rows, seed), path)  # held out: training used seed + 1000
    return path


def machine_state() -> str:
    procs = subprocess.run(["ps", "-eo", "comm="], capture_output=True, text=True).stdout.split()
    busy = sum(p in ("rustc", "cargo", "cc1", "cc1plus", "ld", "clang") for p in procs)
    return f"load average {core.loadavg()}, {busy} compiler/cargo processes running"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


# --------------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------------


def fmt_mb(b: float) -> str:
    return f"{b / 2**20:,.0f} MiB"


def render(a, env: dict, states: list[str], results: dict, checks: dict, mem: dict) -> str:
    names = list(results[next(iter(results))].keys())
    lines = [
        f"# Whole-job throughput: `scorewell score` vs Python, {_dt.date.today().isoformat()}",
        "",
        f"Command: `.venv/bin/python bench/whole-job/run.py {' '.join(sys.argv[1:])}`".rstrip(),
        "",
        f"Job: Parquet in ({a.rows:,} rows x 50 float32, snappy, row groups of 262,144) -> score -> "
        "Parquet out (every input column + `prediction`, snappy), each run a fresh process at "
        f"{a.threads} threads, timed from start to exit. {a.repeat} runs per job after a warm-up run, "
        "taking turns; medians (min-max). Python's own timer excludes the interpreter start and the "
        "imports of pyarrow and the library.",
        "",
        "| model | job | median s | min-max s | rows/s | CPU s (user + sys), median | Python's own timer s (read / predict / write) |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for kind, res in results.items():
        for name, runs in res.items():
            walls = [r["wall_s"] for r in runs]
            med = statistics.median(walls)
            own = ""
            if name == "python":
                own = (f"{statistics.median(r['job_s'] for r in runs):.2f} "
                       f"({statistics.median(r['read_s'] for r in runs):.2f} / "
                       f"{statistics.median(r['predict_s'] for r in runs):.2f} / "
                       f"{statistics.median(r['write_s'] for r in runs):.2f})")
            lines.append(f"| {kind} | {env['labels'][name]} | {med:.2f} | {min(walls):.2f}-{max(walls):.2f} "
                         f"| {core.fmt_rate(a.rows / med)} | {statistics.median(r['cpu_s'] for r in runs):.2f} | {own} |")
    lines += ["", "Ratios (rows/s of the first ÷ rows/s of the second = the second's median time ÷ the first's):", ""]
    for kind, res in results.items():
        med = {n: statistics.median(r["wall_s"] for r in runs) for n, runs in res.items()}
        own = statistics.median(r["job_s"] for r in res["python"])
        for name in names:
            if name == "python":
                continue
            lines.append(f"- {kind}: {env['labels'][name]} / Python: **{med['python'] / med[name]:.2f}x** "
                         f"(against Python's own timer, imports excluded: {own / med[name]:.2f}x)")
        if "baseline" in med:
            lines.append(f"- {kind}: scorewell (this tree) / baseline: {med['baseline'] / med['scorewell']:.2f}x "
                         f"({med['baseline']:.2f} s -> {med['scorewell']:.2f} s)")
    if mem:
        lines += ["", f"## Peak memory, {a.mem_rows:,} rows", "",
                  "One run each; peak RSS of the job's process from GNU time (`/usr/bin/time -f %M`).", "",
                  "| model | job | peak RSS | wall s | CPU s (user + sys) |", "|---|---|---:|---:|---:|"]
        for kind, res in mem.items():
            for name, r in res.items():
                lines.append(f"| {kind} | {env['labels'][name]} | {fmt_mb(r['rss'])} | {r['wall_s']:.2f} | {r['cpu_s']:.2f} |")
    lines += ["", "## Checks", ""]
    for kind, notes in checks.items():
        lines += [f"- {kind}: {n}" for n in notes]
    lines += ["", "## Machine", ""]
    lines += [f"- {s}" for s in states]
    for k, v in env["info"].items():
        lines.append(f"- {k}: {v}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--python-job":
        kind, model, src, dst, threads = sys.argv[2:7]
        python_job(kind, Path(model), Path(src), Path(dst), int(threads))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=300_000, help="rows of the timed jobs (default 300k)")
    ap.add_argument("--mem-rows", type=int, default=2_400_000, help="rows of the peak-memory runs (0: skip)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per job (default 5)")
    ap.add_argument("--models", default="xgboost,lightgbm")
    ap.add_argument("--leaves", type=int, default=63, help="LightGBM num_leaves")
    ap.add_argument("--scorewell", type=Path, default=ROOT / "target" / "release" / "scorewell")
    ap.add_argument("--baseline", type=Path, default=None, help="another scorewell binary to time alongside (A/B)")
    ap.add_argument("--quick", action="store_true", help="20k rows, 2 runs, no memory runs")
    shared.add_model_and_output_args(ap, BENCH / "out" / "whole-job")
    a = ap.parse_args()
    if a.quick:
        a.rows, a.repeat, a.mem_rows = 20_000, 2, 0
    models = [m.strip() for m in a.models.split(",") if m.strip()]
    if not models or any(m not in ("xgboost", "lightgbm") for m in models):
        raise SystemExit(f"--models: any of xgboost,lightgbm (got {a.models!r})")
    binaries = {"scorewell": a.scorewell} if a.baseline is None else {"baseline": a.baseline, "scorewell": a.scorewell}
    for p in binaries.values():
        if not p.exists():
            raise SystemExit(f"{p} does not exist (cargo build --release -p scorewell-cli --locked)")
    labels = {"scorewell": f"scorewell ({rel(a.scorewell)})", "python": "Python (pyarrow + library)"}
    if a.baseline is not None:
        labels["baseline"] = f"scorewell baseline ({rel(a.baseline)})"
    a.out.mkdir(parents=True, exist_ok=True)
    states = [f"at start: {machine_state()}"]
    paths = core.ensure_models(a.out, a, models)
    src = data(a.out, a.rows, a.seed)
    results: dict[str, dict[str, list[dict]]] = {}
    checks: dict[str, list[str]] = {}
    for kind in models:
        jobs = Jobs(a, kind, paths[kind], binaries)
        outs = {n: a.out / f"out_{kind}_{n}.parquet" for n in jobs.names()}
        for n in jobs.names():  # warm-up: page cache, model file; also the outputs checked
            jobs.run(n, src, outs[n])
        checks[kind] = check(jobs, src, outs)
        log(f"{kind}: " + "; ".join(checks[kind]))
        results[kind] = {n: [] for n in jobs.names()}
        for i in range(a.repeat):
            for n in jobs.names():
                r = jobs.run(n, src, outs[n])
                results[kind][n].append(r)
                log(f"{kind} {n} run {i + 1}/{a.repeat}: {r['wall_s']:.2f} s, peak {fmt_mb(r['rss'])}")
        states.append(f"after the {kind} timings: {machine_state()}")
    mem: dict[str, dict[str, dict]] = {}
    if a.mem_rows > 0:
        big = data(a.out, a.mem_rows, a.seed)
        for kind in models:
            jobs = Jobs(a, kind, paths[kind], binaries)
            mem[kind] = {}
            outs = {n: a.out / f"out_{kind}_{n}_big.parquet" for n in jobs.names()}
            for n in jobs.names():
                mem[kind][n] = jobs.run(n, big, outs[n])
                log(f"{kind} {n} {a.mem_rows:,} rows: peak {fmt_mb(mem[kind][n]['rss'])}, "
                    f"{mem[kind][n]['wall_s']:.1f} s")
            checks[kind] += check_big(jobs, a.mem_rows, outs)
            for dst in outs.values():
                dst.unlink()
        states.append(f"after the memory runs: {machine_state()}")
    import lightgbm
    import pyarrow
    import xgboost

    info = {
        "scorewell": f"{core.sh([str(a.scorewell), '--version'])}, git {core.git_rev()}",
        "python": f"{sys.version.split()[0]}, pyarrow {pyarrow.__version__}, xgboost {xgboost.__version__}, "
        f"lightgbm {lightgbm.__version__}, numpy {np.__version__}",
        "nproc": core.sh(["nproc"], str(os.cpu_count())),
        "cpu": cpu_model(),
    }
    report = render(a, {"labels": labels, "info": info}, states, results, checks, mem)
    print(report)
    if not a.no_write:
        a.results.mkdir(parents=True, exist_ok=True)
        tags = ("" if a.threads == 2 else f"-t{a.threads}") + ("-quick" if a.quick else "")
        dest = a.results / f"whole-job-{_dt.date.today().isoformat()}{tags}.md"
        dest.write_text(report)
        log(f"wrote {rel(dest)}")


if __name__ == "__main__":
    main()
