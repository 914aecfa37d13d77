"""AWS Lambda: scorewell's packaged `bootstrap` against a Python + xgboost + boto3 handler,
same events, same stand-in Runtime API, same local S3-compatible server, same run.

For each of two models — the project's example (examples/fraud/model.json, 50 trees) and a
seeded 500-tree XGBoost model on normal data with 10% NaN — it measures:
- cold start: process start → first answer posted to the Runtime API (init includes fetching
  the model from S3 and building it), median of --cold runs, each with an empty /tmp cache;
- warm invocation latency: the time from handing out an event on /next to receiving its
  answer (one row per event, API Gateway HTTP API v2 shape), p50 and p99 over --warm events.
Every answer is checked against xgboost's own predictions for the same rows.
Also reports the package size (zipped/unzipped) next to Lambda's limit.

Usage: bash scripts/package-lambda.sh && .venv/bin/python bench/lambda/run.py [--cold 5] [--warm 300]
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import queue
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import xgboost as xgb

ROOT = Path(__file__).resolve().parents[2]
KEY, SECRET = "AKBENCH", "SKBENCH"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SeaweedFS:
    """SeaweedFS (`weed mini`) from .venv on loopback; objects seeded through the filer."""

    def __init__(self, workdir: Path) -> None:
        self.s3, self.filer = free_port(), free_port()
        ids = {"identities": [{"name": "b", "credentials": [{"accessKey": KEY, "secretKey": SECRET}],
                               "actions": ["Admin", "Read", "Write", "List"]}]}
        (workdir / "ids.json").write_text(json.dumps(ids))
        self.proc = subprocess.Popen(
            [str(ROOT / ".venv/bin/weed"), "mini", f"-dir={workdir / 'data'}", "-ip=127.0.0.1",
             "-ip.bind=127.0.0.1", f"-s3.config={workdir / 'ids.json'}", "-bucket=models",
             f"-master.port={free_port()}", f"-filer.port={self.filer}", f"-s3.port={self.s3}",
             "-admin.port=0", "-master.telemetry=false"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 60
        while True:
            try:
                self.put("ready", b"x")
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)

    def put(self, key: str, data: bytes) -> None:
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.filer}/buckets/models/{key}", data=data, method="PUT"
        )
        urllib.request.urlopen(req, timeout=10).read()

    def env(self) -> dict[str, str]:
        return {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{self.s3}", "AWS_ACCESS_KEY_ID": KEY,
                "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_REGION": "us-east-1",
                "AWS_DEFAULT_REGION": "us-east-1"}

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


class RuntimeAPI:
    """The Lambda Runtime API's invocation loop, timing each event from /next to its answer."""

    def __init__(self, events: list[dict]) -> None:
        self.events = queue.Queue()
        for i, e in enumerate(events):
            self.events.put((f"r{i}", json.dumps(e).encode()))
        self.handed: dict[str, float] = {}
        self.answers: queue.Queue = queue.Queue()
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes; without TCP_NODELAY, Nagle + delayed ACK
            # would add ~40 ms to every keep-alive exchange (the real Runtime API has no such stall).
            disable_nagle_algorithm = True

            def do_GET(self) -> None:  # noqa: N802
                rid, body = api.events.get()
                self.send_response(200)
                self.send_header("Lambda-Runtime-Aws-Request-Id", rid)
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:1:function:f")
                self.send_header("Lambda-Runtime-Trace-Id", "Root=1-0-0")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                api.handed[rid] = time.perf_counter()
                self.wfile.write(body)

            def do_POST(self) -> None:  # noqa: N802
                now = time.perf_counter()
                data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                parts = self.path.split("/")
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()
                api.answers.put((parts[-2] if parts[-1] in ("response", "error") else "init", parts[-1], now, data))

            def log_message(self, *a: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # A function killed between runs resets its connection; that is expected, not news.
        self.server.handle_error = lambda *a: None  # type: ignore[method-assign]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.addr = f"127.0.0.1:{self.server.server_address[1]}"

    def next_answer(self) -> tuple[str, str, float, bytes]:
        return self.answers.get(timeout=120)

    def stop(self) -> None:
        self.server.shutdown()


def event(row: dict) -> dict:
    body = json.dumps({"rows": [row]})
    return {"version": "2.0", "routeKey": "POST /score", "rawPath": "/score", "rawQueryString": "",
            "headers": {"content-type": "application/json"},
            "requestContext": {"accountId": "1", "apiId": "a", "domainName": "a.example", "domainPrefix": "a",
                               "http": {"method": "POST", "path": "/score", "protocol": "HTTP/1.1",
                                        "sourceIp": "10.0.0.1", "userAgent": "bench"},
                               "requestId": "r", "routeKey": "POST /score", "stage": "$default",
                               "time": "05/Dec/2026:00:00:00 +0000", "timeEpoch": 0},
            "body": body, "isBase64Encoded": False}


def prediction(answer: bytes) -> float:
    outer = json.loads(answer)
    return json.loads(outer["body"])["rows"][0]["prediction"]


def run_function(cmd: list[str], env: dict[str, str], rows: list[dict], expected: np.ndarray) -> tuple[float, list[float]]:
    api = RuntimeAPI([event(r) for r in rows])
    tmp = tempfile.mkdtemp()
    full_env = {"PATH": os.environ["PATH"], "AWS_LAMBDA_RUNTIME_API": api.addr,
                "AWS_LAMBDA_FUNCTION_NAME": "bench", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1769",
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "TMPDIR": tmp,
                "SCOREWELL_CACHE_DIR": os.path.join(tmp, "cache"), "OMP_NUM_THREADS": "1", **env}
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    latencies, cold = [], None
    try:
        for i, row in enumerate(rows):
            rid, kind, at, data = api.next_answer()
            if kind != "response":
                err = proc.stderr.read().decode() if proc.poll() is not None else ""
                raise SystemExit(f"{cmd[0]}: {kind}: {data.decode()} {err}")
            got = prediction(data)
            if abs(got - float(expected[i])) > 1e-5:
                raise SystemExit(f"{cmd[0]}: row {i}: {got} vs xgboost {expected[i]}")
            if cold is None:
                cold = at - start
            else:
                latencies.append(at - api.handed[rid])
    finally:
        proc.kill()
        proc.wait()
        api.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return cold, latencies


def models(workdir: Path) -> dict[str, tuple[Path, list[dict], np.ndarray]]:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(20000, 20)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] * x[:, 2] + rng.normal(size=len(x)) > 0).astype(np.float32)
    x[rng.random(x.shape) < 0.1] = np.nan
    names = [f"f{i}" for i in range(20)]
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 6, "eta": 0.05, "nthread": 2, "seed": 7},
                        xgb.DMatrix(x, y, feature_names=names), num_boost_round=500)
    random_path = workdir / "random500.json"
    booster.save_model(random_path)
    out = {}
    q = rng.normal(size=(1000, 20)).astype(np.float32)
    q[rng.random(q.shape) < 0.1] = np.nan
    rows = [{n: (None if np.isnan(v) else float(v)) for n, v in zip(names, r)} for r in q]
    out["random normal + NaN, 500 trees × depth 6"] = (random_path, rows, booster.inplace_predict(q))
    fraud_path = ROOT / "examples/fraud/model.json"
    fraud = xgb.Booster()
    fraud.load_model(fraud_path)
    fnames = fraud.feature_names
    fq = rng.random(size=(1000, len(fnames))).astype(np.float32) * np.array([500, 23, 3000, 10, 0.5, 5, 2], dtype=np.float32)
    frows = [{n: float(v) for n, v in zip(fnames, r)} for r in fq]
    out["examples/fraud (project), 50 trees"] = (fraud_path, frows, fraud.inplace_predict(fq))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cold", type=int, default=5)
    ap.add_argument("--warm", type=int, default=300)
    args = ap.parse_args()
    package = ROOT / "target/lambda/scorewell-lambda.zip"
    if not package.exists():
        raise SystemExit("build the package first: bash scripts/package-lambda.sh")
    work = Path(tempfile.mkdtemp())
    fn = work / "function"
    with zipfile.ZipFile(package) as z:
        z.extractall(fn)
    bootstrap = fn / "bootstrap"
    bootstrap.chmod(0o755)
    s3 = SeaweedFS(work)
    try:
        print(f"# Lambda: scorewell bootstrap vs Python + xgboost {xgb.__version__} + boto3\n")
        print(f"Machine: {os.cpu_count()} cores, {os.uname().sysname} {os.uname().release}; "
              "other processes idle; each function runs as one process, one event at a time.\n")
        unzipped = bootstrap.stat().st_size
        print(f"Package: `scorewell-lambda.zip` {package.stat().st_size / 1e6:.1f} MB zipped, "
              f"{unzipped / 1e6:.1f} MB unzipped (Lambda's limit: 250 MB unzipped; the Python "
              "stack of xgboost + numpy + pandas is ~500 MB).\n")
        print("| model | function | cold start, median | warm p50 | warm p99 |")
        print("|---|---|---|---|---|")
        ratios = []
        for name, (path, rows, expected) in models(work).items():
            key = f"bench/{path.name}"
            s3.put(key, path.read_bytes())
            n = args.warm + 1
            results = {}
            for label, cmd, env in [
                ("scorewell", [str(bootstrap)], {"SCOREWELL_MODEL": f"s3://models/{key}"}),
                ("python + xgboost", [sys.executable, str(ROOT / "bench/lambda/python_bootstrap.py")],
                 {"MODEL_BUCKET": "models", "MODEL_KEY": key}),
            ]:
                colds, warm = [], []
                for c in range(args.cold):
                    cold, lat = run_function(cmd, {**s3.env(), **env}, rows[:n] if c == 0 else rows[:1], expected)
                    colds.append(cold)
                    warm.extend(lat)
                warm.sort()
                p50 = statistics.median(warm)
                p99 = warm[int(0.99 * (len(warm) - 1))]
                results[label] = (statistics.median(colds), p50)
                print(f"| {name} | {label} | {statistics.median(colds) * 1e3:.0f} ms | {p50 * 1e3:.3f} ms | {p99 * 1e3:.3f} ms |")
            sw, py = results["scorewell"], results["python + xgboost"]
            ratios.append((name, py[0] / sw[0], py[1] / sw[1]))
        print()
        for name, cold, warm in ratios:
            print(f"- {name}: cold start {cold:.1f}x faster, warm p50 {warm:.1f}x faster than the Python handler")
        print(f"- lower ratio over both models: cold start {min(r[1] for r in ratios):.1f}x, "
              f"warm {min(r[2] for r in ratios):.1f}x")
        print("\nWarm latency includes the Runtime API round trip on loopback (the same stand-in "
              "server for both), so it bounds scorewell's own time from above.")
    finally:
        s3.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
