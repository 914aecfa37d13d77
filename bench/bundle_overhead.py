#!/usr/bin/env python3
"""Pipeline-machinery overhead: a bundle holding only a model vs the bare model file.

    .venv/bin/python bench/bundle_overhead.py            # 100k rows, 5 alternating rounds
    .venv/bin/python bench/bundle_overhead.py --rows 1000000

The bar (issue 3): scoring a model-only bundle is within 5% of scoring the bare model. Both
are timed with `scorewell bench` (release build) on the same rows, at 1 thread pinned to one
CPU (taskset), alternating bare/bundle round by round so machine noise hits both alike; the
medians are compared.
Uses bench/run.py's seeded data and its 500-tree depth-6 XGBoost model (made if missing).
Writes bench/results/bundle-overhead-YYYY-MM-DD.md.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402  (bench/run.py: data, models, scorewell_bench)

TARGET_OVERHEAD = 0.05


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--single", type=int, default=5000, help="single-row calls per round")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()

    out = bench.BENCH / "out"
    out.mkdir(parents=True, exist_ok=True)
    model_args = argparse.Namespace(trees=500, depth=6, leaves=63, train_rows=30_000, seed=42)
    model = bench.ensure_models(out, model_args, ["xgboost"])["xgboost"]
    _, data = bench.load_or_make_data(out, a.rows, 42)

    bench.log("building the release binary")
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "scorewell-cli"], check=True, cwd=bench.ROOT)
    exe = bench.ROOT / "target" / "release" / "scorewell"
    bundle = out / "overhead-bundle"
    shutil.rmtree(bundle, ignore_errors=True)
    subprocess.run([str(exe), "bundle", "create", "--model", str(model),
                    "--name", "overhead", "-o", str(bundle)], check=True)

    runs: dict[str, list[dict]] = {"bare": [], "bundle": []}
    for r in range(a.rounds):
        for name, target in (("bare", model), ("bundle", bundle)):
            res = bench.scorewell_bench(exe, target, data, a.threads, 2, a.single, pin=True)
            runs[name].append(res)
            bench.log(f"round {r + 1} {name}: {res['rows_per_s']:.0f} rows/s, p50 {res['latency_p50_us']} µs")
        if runs["bare"][-1]["checksum"] != runs["bundle"][-1]["checksum"]:
            raise SystemExit("the bundle's predictions differ from the bare model's")

    def med(name: str, key: str) -> float:
        return statistics.median(float(x[key]) for x in runs[name] if x[key] is not None)

    rate = {n: med(n, "rows_per_s") for n in runs}
    p50 = {n: med(n, "latency_p50_us") for n in runs}
    p99 = {n: med(n, "latency_p99_us") for n in runs}
    slow_batch = rate["bare"] / rate["bundle"] - 1.0
    slow_p50 = p50["bundle"] / p50["bare"] - 1.0
    ok = "met" if max(slow_batch, slow_p50) <= TARGET_OVERHEAD else "NOT met"
    env = {
        "scorewell": f"{bench.sh([str(exe), '--version'])}, git {bench.git_rev()}",
        "nproc": bench.sh(["nproc"]),
        "load average at end": bench.loadavg(),
    }
    lines = [
        f"# Bundle overhead — {_dt.date.today().isoformat()}",
        "",
        f"Model-only bundle vs the bare model file: XGBoost 500 trees depth 6, {a.rows:,} rows x 50 features,",
        f"{a.threads} thread(s), {a.rounds} alternating rounds (medians). Bar: within {TARGET_OVERHEAD:.0%} — **{ok}**.",
        "",
        "| | bare model | bundle | overhead |",
        "|---|---:|---:|---:|",
        f"| batch rows/s | {rate['bare']:,.0f} | {rate['bundle']:,.0f} | {slow_batch:+.1%} |",
        f"| single-row p50 | {p50['bare']:.1f} µs | {p50['bundle']:.1f} µs | {slow_p50:+.1%} |",
        f"| single-row p99 | {p99['bare']:.1f} µs | {p99['bundle']:.1f} µs | |",
        "",
        "Machine: " + ", ".join(f"{k}: {v}" for k, v in env.items()),
        "",
        "Reproduce: `.venv/bin/python bench/bundle_overhead.py" + (f" --rows {a.rows}" if a.rows != 100_000 else "") + "`",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    dest = bench.BENCH / "results" / f"bundle-overhead-{_dt.date.today().isoformat()}.md"
    dest.write_text(text)
    bench.log(f"wrote {dest}")


if __name__ == "__main__":
    main()
