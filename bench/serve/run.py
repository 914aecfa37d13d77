#!/usr/bin/env python3
"""`scorewell serve` vs a FastAPI + XGBoost app, same model, same request, same run.

    bash bench/serve/setup.sh                   # venv + fastapi/uvicorn (pinned)
    .venv/bin/python bench/serve/run.py         # ~1 min: builds, checks, 2 x (warmup + 10 s)
    .venv/bin/python bench/serve/run.py --duration 5 --connections 8,16 --no-write

Steps:
  1. the 500-tree depth-6 binary:logistic XGBoost model of bench/run.py (trained with xgboost
     if it is not cached in bench/out/)
  2. release builds of `scorewell` and the load generator (crates/scorewell-server/examples/loadgen.rs)
  3. both servers on 127.0.0.1: `scorewell serve` and uvicorn with the FastAPI app
     (bench/serve/baseline_app.py), one worker per core each
  4. correctness gate: both answer the same single-row request with the same prediction
  5. for each connection count: the load generator (keep-alive connections, the same one-row
     body back to back, a warm-up, then a bounded measured window) against each server in turn
  6. a markdown table to stdout and bench/results/serve-YYYY-MM-DD.md
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
import run as batch_bench  # noqa: E402  (bench/run.py: data, model training, machine facts)

TARGET_RPS = 20_000
TARGET_P99_MS = 5.0
TARGET_RATIO = 10.0


def log(msg: str) -> None:
    print(f"[serve-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen, what: str, timeout: float = 60.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with {proc.returncode} before it was ready")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{what} was not ready after {timeout:.0f}s")


def post(url: str, body: bytes) -> dict:
    req = urllib.request.Request(url, data=body, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def loadgen(exe: Path, port: int, path: str, body_file: Path, a, connections: int) -> dict:
    cmd = [
        str(exe), "--addr", f"127.0.0.1:{port}", "--path", path, "--body-file", str(body_file),
        "--connections", str(connections), "--duration", str(a.duration),
        "--warmup", str(a.warmup), "--threads", str(a.loadgen_threads),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=a.duration + a.warmup + 60)
    if out.returncode != 0:
        raise SystemExit(f"loadgen failed: {out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds per run")
    p.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds first")
    p.add_argument("--connections", default="16", help="comma-separated connection counts")
    p.add_argument("--loadgen-threads", type=int, default=1)
    p.add_argument("--workers", type=int, default=0, help="server workers (0 = one per core)")
    p.add_argument("--no-build", action="store_true", help="use the binaries in target/release")
    p.add_argument("--no-write", action="store_true", help="print only")
    a = p.parse_args()
    conns = [int(c) for c in a.connections.split(",")]
    workers = a.workers or os.cpu_count() or 1
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    batch_bench.GIT_REV_AT_START = batch_bench.git_rev()

    # 1. model
    margs = argparse.Namespace(trees=500, depth=6, leaves=63, train_rows=30_000, seed=42)
    model = batch_bench.ensure_models(out, margs, ["xgboost"])["xgboost"]

    # 2. binaries
    if not a.no_build:
        log("cargo build --release (scorewell, loadgen)")
        subprocess.run(
            ["cargo", "build", "--release", "-q", "-p", "scorewell-cli",
             "-p", "scorewell-server", "--example", "loadgen"],
            cwd=ROOT, check=True,
        )
    exe = ROOT / "target" / "release" / "scorewell"
    gen = ROOT / "target" / "release" / "examples" / "loadgen"

    # one row, the first row of bench/run.py's seeded data (with its NaNs as null)
    X = batch_bench.make_data(1, 42)
    row = {f: (None if x != x else float(x)) for f, x in zip(batch_bench.FEATURES, X[0])}
    body = json.dumps({"rows": [row]}).encode()
    body_file = out / "serve_row.json"
    body_file.write_bytes(body)
    path = "/v1/models/xgb/score"

    # 3. servers
    sw_port, fa_port = free_port(), free_port()
    sw = subprocess.Popen(
        [str(exe), "serve", f"xgb={model}", "--port", str(sw_port), "--workers", str(workers),
         "--poll-interval-ms", "0", "--log-level", "warn"],
        cwd=ROOT,
    )
    env = dict(os.environ, SCOREWELL_BENCH_MODEL=str(model), OMP_NUM_THREADS="1")
    fa = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "baseline_app:app", "--host", "127.0.0.1",
         "--port", str(fa_port), "--workers", str(workers), "--log-level", "warning",
         "--no-access-log"],
        cwd=ROOT / "bench" / "serve", env=env,
    )
    results: dict[str, dict[int, dict]] = {"scorewell": {}, "fastapi": {}}
    try:
        wait_ready(f"http://127.0.0.1:{sw_port}/v2/health/ready", sw, "scorewell serve")
        wait_ready(f"http://127.0.0.1:{fa_port}/docs", fa, "uvicorn")

        # 4. correctness gate
        a_pred = post(f"http://127.0.0.1:{sw_port}{path}", body)["rows"][0]["prediction"]
        b_pred = post(f"http://127.0.0.1:{fa_port}{path}", body)["rows"][0]["prediction"]
        if abs(a_pred - b_pred) > 1e-6 * max(1.0, abs(b_pred)):
            raise SystemExit(f"predictions differ: scorewell {a_pred} vs xgboost {b_pred}")
        log(f"same prediction from both: {a_pred:.9g} vs {b_pred:.9g}")

        # 5. load
        for c in conns:
            for name, port in (("scorewell", sw_port), ("fastapi", fa_port)):
                log(f"{name}: {c} connections, {a.warmup:g}s warm-up + {a.duration:g}s")
                results[name][c] = loadgen(gen, port, path, body_file, a, c)
                log(f"  {results[name][c]}")
    finally:
        stop(sw)
        stop(fa)

    # 6. report
    env_facts = batch_bench.environment(exe, exe)
    import fastapi
    import uvicorn

    env_facts["fastapi"] = fastapi.__version__
    env_facts["uvicorn"] = uvicorn.__version__
    env_facts["load average at the end"] = batch_bench.loadavg()
    env_facts.pop("lightgbm", None)
    md = render(a, conns, workers, model, results, env_facts)
    print(md)
    if not a.no_write:
        dst = ROOT / "bench" / "results" / f"serve-{_dt.date.today().isoformat()}.md"
        dst.write_text(md)
        log(f"wrote {dst.relative_to(ROOT)}")


def render(a, conns, workers, model, results, env_facts) -> str:
    lines = [
        f"# `scorewell serve` vs FastAPI + XGBoost — {_dt.date.today().isoformat()}",
        "",
        f"Single-row `POST /v1/models/xgb/score` requests (50 features) on loopback, keep-alive "
        f"connections sending back to back; {a.warmup:g} s warm-up, then {a.duration:g} s measured. "
        f"Model: `{model.name}` (XGBoost, 500 trees, depth 6, binary:logistic). Both servers use "
        f"{workers} workers (scorewell: tokio threads; FastAPI: uvicorn processes, XGBoost "
        f"`nthread=1` each); the load generator (`loadgen`, {a.loadgen_threads} thread) runs on the "
        f"same machine. Made by `bench/serve/run.py`.",
        "",
        "| connections | server | req/s | p50 ms | p90 ms | p99 ms | errors | scorewell ÷ FastAPI |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for c in conns:
        s, f = results["scorewell"][c], results["fastapi"][c]
        ratio = s["rps"] / f["rps"] if f["rps"] else float("inf")
        for name, r in (("scorewell", s), ("FastAPI + xgboost", f)):
            lines.append(
                f"| {c} | {name} | {r['rps']:,.0f} | {r['p50_ms']:.2f} | {r['p90_ms']:.2f} | "
                f"{r['p99_ms']:.2f} | {r['errors']} | {f'{ratio:.1f}×' if name == 'scorewell' else ''} |"
            )
    lines += ["", "## Targets (issue 4)", "", "| connections | ≥ 20,000 req/s | p99 ≤ 5 ms | ≥ 10× FastAPI |", "|---:|---|---|---|"]
    for c in conns:
        s, f = results["scorewell"][c], results["fastapi"][c]
        ratio = s["rps"] / f["rps"] if f["rps"] else float("inf")
        yes = lambda ok: "yes" if ok else "no"  # noqa: E731
        lines.append(
            f"| {c} | {yes(s['rps'] >= TARGET_RPS)} ({s['rps']:,.0f}) | {yes(s['p99_ms'] <= TARGET_P99_MS)} "
            f"({s['p99_ms']:.2f} ms) | {yes(ratio >= TARGET_RATIO)} ({ratio:.1f}×) |"
        )
    lines += ["", "## Machine", ""]
    lines += [f"- {k}: {v}" for k, v in env_facts.items()]
    lines += [
        "",
        "Shared 2-core VMs are noisy: other processes (builds, tests) on the machine take CPU from "
        "both the server and the load generator; compare rows from the same run only.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
