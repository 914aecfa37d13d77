#!/usr/bin/env python3
"""Soak `scorewell serve`: mixed load on loopback for a long while, with a model hot-reloaded
every few seconds and now and then replaced by a broken file.

    cargo build --release -p scorewell-cli
    python3 bench/soak/run.py                      # 10 minutes (the default)
    python3 bench/soak/run.py --seconds 3600       # an hour
    python3 bench/soak/run.py --seconds 20 --min-reloads 5 --scorewell target/debug/scorewell --no-write

Only the Python standard library is used, so any python3 runs it.

What runs (models from examples/fraud):
  * `fraud`: the example bundle (string indexers, XGBoost, a decision rule), never reloaded.
  * `live`: the bundle's bare XGBoost model, in a repository folder (`--repository`). Every
    `--reload-every` seconds it is rewritten (atomically, alternating two byte-different
    serialisations of the same model) and `POST /admin/reload` is called; the folder watcher
    polls every second too, so reloads race with both. Every `--broken-every`th round writes a
    truncated file instead: the reload must fail and the previous version keep serving.
  * `--clients` threads, each with its own keep-alive connection, send a mix of requests:
    single rows and 100-row batches to both models (`/v1`), Open Inference Protocol requests
    (`/v2/.../infer`), bad requests (malformed JSON, a wrong type, an unknown model, too many
    rows: each must get its own 4xx) and `/metrics` scrapes.
  * Every valid answer is checked against the answer the same row got before the soak began,
    bit for bit: a half-swapped model, a lost row or a wrong row order would show.

It reports requests, failures, p50/p99 per minute, resident memory and open file descriptors
over time, and writes the figures to bench/results/soak-YYYY-MM-DD.md (and .json). The exit
status is 1 when a bar is missed: a failed valid request, a mishandled bad request, fewer than
--min-reloads confirmed reloads, a broken file that stopped the old version serving, or
resident memory growing more than --max-rss-growth after the warm-up.
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import hashlib
import http.client
import json
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "fraud"
TOKEN = "soak-admin-token"
# The bare model's features: the bundle's string indexers turn country/channel into these.
COUNTRIES = ["NL", "DE", "BE", "FR", "GB", "US", "ES", "IT", "PL", "NG"]
CHANNELS = ["pos", "web", "app"]
NUMERIC = ["amount", "hour", "account_age_days", "n_tx_24h", "merchant_risk"]


def log(msg: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# requests


@dataclass(frozen=True)
class Call:
    """One request and what a correct answer is."""

    kind: str  # the mix's name for it, reported per kind
    method: str
    path: str
    body: bytes | None
    status: int  # the only acceptable status
    expect: object = None  # for 200: the exact decoded answer's checked part
    valid: bool = True  # a valid request (its failures are the soak's main bar)


def bundle_rows() -> list[dict]:
    with (EXAMPLE / "transactions.csv").open() as f:
        rows = list(csv.DictReader(f))
    out = []
    for r in rows[:200]:
        # An empty cell is a missing value: null in /v1, NaN in an OIP tensor.
        row: dict[str, object] = {k: float(r[k]) if r[k] else None for k in NUMERIC}
        row["country"] = r["country"]
        row["channel"] = r["channel"]
        out.append(row)
    return out


def bare_row(row: dict) -> dict:
    """The bundle row as the bare model's features (the indexers' `keep` bucket for unknowns)."""
    out = {k: row[k] for k in NUMERIC}
    c, ch = row["country"], row["channel"]
    out["country_index"] = float(COUNTRIES.index(c) if c in COUNTRIES else len(COUNTRIES))
    out["channel_index"] = float(CHANNELS.index(ch) if ch in CHANNELS else len(CHANNELS))
    return out


def oip_body(rows: list[dict]) -> bytes:
    inputs = [
        {"name": k, "shape": [len(rows)], "datatype": "FP64",
         "data": ["NaN" if r[k] is None else r[k] for r in rows]}
        for k in rows[0]
    ]
    return json.dumps({"inputs": inputs}).encode()


class Client:
    """A keep-alive connection; reconnects after a connection error (which still counts)."""

    def __init__(self, port: int):
        self.port = port
        self.conn: http.client.HTTPConnection | None = None

    def send(self, method: str, path: str, body: bytes | None, headers=None) -> tuple[int, bytes]:
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                h = {"content-type": "application/json"} if body is not None else {}
                h.update(headers or {})
                self.conn.request(method, path, body=body, headers=h)
                r = self.conn.getresponse()
                return r.status, r.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # The server may close an idle keep-alive connection; one retry on a fresh one.
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")


def checked_part(call_kind: str, status: int, payload: bytes):
    """The part of a 200 answer compared with the reference: the outputs, not timings."""
    doc = json.loads(payload)
    if call_kind.startswith("oip"):
        return [(o["name"], o["data"]) for o in doc["outputs"]]
    return doc["rows"]


# ---------------------------------------------------------------------------------------------
# the model file and its reloads


def write_atomic(path: Path, data: bytes) -> None:
    # A hidden temporary name: the repository watcher skips it, and the rename is atomic.
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


@dataclass
class Reloads:
    confirmed: int = 0  # a new good file serving with its own digest
    broken: int = 0  # broken files written
    broken_kept_serving: int = 0  # ... during which the old version went on answering
    problems: list[str] = field(default_factory=list)


def reloader(port: int, live: Path, variants: list[bytes], a, stop: threading.Event, out: Reloads) -> None:
    client = Client(port)
    auth = {"authorization": f"Bearer {TOKEN}"}
    good_digest = hashlib.sha256(live.read_bytes()).hexdigest()
    rnd = 0

    def reload_and_describe(data: bytes) -> tuple[dict, str] | None:
        """Write `data` as the model, reload, and return the model's metadata and digest."""
        write_atomic(live, data)
        status, body = client.send("POST", "/admin/reload", b"", auth)
        if status != 200:
            out.problems.append(f"round {rnd}: reload answered {status}: {body[:200]!r}")
            return None
        _, body = client.send("GET", "/v1/models/live", None)
        meta = json.loads(body)
        return meta, (meta.get("digest") or "").removeprefix("sha256:")

    while not stop.wait(a.reload_every):
        rnd += 1
        try:
            if rnd % a.broken_every == 0:
                good = variants[rnd % 2]
                out.broken += 1
                if (got := reload_and_describe(good[: len(good) // 2])) is None:
                    continue
                meta, digest = got
                if meta.get("ready") and digest == good_digest and meta.get("last_error"):
                    out.broken_kept_serving += 1
                else:
                    out.problems.append(f"round {rnd}: after a broken file: {meta}")
            else:
                data = variants[rnd % 2]
                if hashlib.sha256(data).hexdigest() == good_digest:
                    data = variants[(rnd + 1) % 2]
                want = hashlib.sha256(data).hexdigest()
                if (got := reload_and_describe(data)) is None:
                    continue
                meta, digest = got
                if digest == want and meta.get("ready") and not meta.get("last_error"):
                    out.confirmed += 1
                    good_digest = want
                else:
                    out.problems.append(f"round {rnd}: want digest {want[:12]}, got {meta}")
        except Exception as e:  # noqa: BLE001 - a soak records what went wrong and goes on
            out.problems.append(f"round {rnd}: {type(e).__name__}: {e}")
            client = Client(port)


# ---------------------------------------------------------------------------------------------
# load


@dataclass
class Sample:
    t: float  # seconds since the start
    kind: str
    ms: float
    ok: bool
    valid: bool
    note: str = ""


def worker(port: int, calls: list[tuple[float, Call]], seed: int, t0: float, stop: threading.Event,
           samples: list[Sample]) -> None:
    rng = random.Random(seed)
    client = Client(port)
    weights = [w for w, _ in calls]
    pool = [c for _, c in calls]
    local: list[Sample] = []
    while not stop.is_set():
        call = rng.choices(pool, weights)[0]
        start = time.perf_counter()
        note = ""
        try:
            status, payload = client.send(call.method, call.path, call.body)
            ok = status == call.status
            if ok and call.expect is not None:
                ok = checked_part(call.kind, status, payload) == call.expect
                if not ok:
                    note = "answer differs from the reference"
            elif not ok:
                note = f"status {status}: {payload[:160]!r}"
        except Exception as e:  # noqa: BLE001
            ok, note = False, f"{type(e).__name__}: {e}"
            client = Client(port)
        end = time.perf_counter()
        local.append(Sample(end - t0, call.kind, (end - start) * 1e3, ok, call.valid, note))
        if len(local) >= 512:
            samples.extend(local)  # list.extend is atomic under the GIL
            local = []
    samples.extend(local)


def process_figures(pid: int) -> tuple[int, int]:
    """(resident kB, open file descriptors) of the server process."""
    rss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def sampler(pid: int, t0: float, stop: threading.Event, out: list[tuple[float, int, int]]) -> None:
    while True:
        try:
            rss, fds = process_figures(pid)
            out.append((time.perf_counter() - t0, rss, fds))
        except OSError:
            return
        if stop.wait(2.0):
            return


# ---------------------------------------------------------------------------------------------
# main


def build_calls(port: int, rows: list[dict], max_rows: int) -> list[tuple[float, Call]]:
    """The mix, with every valid call's reference answer taken before the soak starts."""
    client = Client(port)

    def reference(kind: str, method: str, path: str, body: bytes) -> Call:
        status, payload = client.send(method, path, body)
        if status != 200:
            raise SystemExit(f"reference {kind} request failed: {status} {payload[:300]!r}")
        return Call(kind, method, path, body, 200, checked_part(kind, status, payload))

    calls: list[tuple[float, Call]] = []
    for i in range(0, 40, 4):
        r = rows[i]
        calls.append((3.0, reference("v1 row bundle", "POST", "/v1/models/fraud/score",
                                     json.dumps({"rows": [r]}).encode())))
        calls.append((3.5, reference("v1 row live", "POST", "/v1/models/live/score",
                                     json.dumps({"rows": [bare_row(r)]}).encode())))
        calls.append((2.0, reference("oip row live", "POST", "/v2/models/live/infer",
                                     oip_body([bare_row(r)]))))
    for i in range(0, 100, 50):
        batch = rows[i:i + 100]
        calls.append((0.5, reference("v1 batch100 bundle", "POST", "/v1/models/fraud/score",
                                     json.dumps({"rows": batch}).encode())))
        calls.append((0.5, reference("v1 batch100 live", "POST", "/v1/models/live/score",
                                     json.dumps({"rows": [bare_row(r) for r in batch]}).encode())))
        calls.append((0.5, reference("oip batch100 live", "POST", "/v2/models/live/infer",
                                     oip_body([bare_row(r) for r in batch]))))
    calls.append((1.0, Call("metrics", "GET", "/metrics", None, 200)))
    # Bad requests: each must get its own 4xx, never a 5xx or a dropped connection.
    bad = dict(rows[0])
    bad["amount"] = "lots"
    too_many = json.dumps({"rows": [bare_row(rows[0])] * (max_rows + 1)}).encode()
    for kind, path, body, status in [
        ("bad: malformed JSON", "/v1/models/live/score", b'{"rows": [{"amount": 1,', 400),
        ("bad: wrong type", "/v1/models/fraud/score", json.dumps({"rows": [bad]}).encode(), 400),
        ("bad: unknown model", "/v1/models/nope/score", json.dumps({"rows": [rows[0]]}).encode(), 404),
        ("bad: too many rows", "/v1/models/live/score", too_many, 413),
        ("bad: OIP shape", "/v2/models/live/infer",
         json.dumps({"inputs": [{"name": "amount", "shape": [3], "datatype": "FP64", "data": [1.0]}]}).encode(), 400),
    ]:
        calls.append((0.4, Call(kind, "POST", path, body, status, valid=False)))
    return calls


def percentile(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=600.0, help="how long to soak (default 600)")
    p.add_argument("--clients", type=int, default=4, help="client threads (keep-alive connections)")
    p.add_argument("--reload-every", type=float, default=3.0, help="seconds between reloads")
    p.add_argument("--broken-every", type=int, default=10, help="every Nth reload writes a broken file")
    p.add_argument("--warmup", type=float, default=60.0, help="seconds before resident memory is baselined")
    p.add_argument("--min-reloads", type=int, default=100, help="confirmed reloads the run needs")
    p.add_argument("--max-rss-growth", type=float, default=0.10, help="allowed growth after warm-up")
    p.add_argument("--max-rows", type=int, default=1000, help="the server's --max-rows")
    p.add_argument("--workers", type=int, default=0, help="server threads (0 = one per core)")
    p.add_argument("--scorewell", type=Path, default=ROOT / "target" / "release" / "scorewell")
    p.add_argument("--build", action="store_true", help="cargo build --release -p scorewell-cli first")
    p.add_argument("--results", type=Path, default=ROOT / "bench" / "results")
    p.add_argument("--no-write", action="store_true", help="print the report only")
    a = p.parse_args()
    if a.build:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "scorewell-cli"], cwd=ROOT, check=True)
    if not a.scorewell.exists():
        raise SystemExit(f"{a.scorewell} is missing: cargo build --release -p scorewell-cli (or --build)")
    warmup = min(a.warmup, a.seconds / 3)

    repo = Path(tempfile.mkdtemp(prefix="scorewell-soak-"))
    live = repo / "live.json"
    model = json.loads((EXAMPLE / "model.json").read_bytes())
    # Two serialisations of one model: different bytes (so each write is a change to reload),
    # the same trees (so every answer must stay bit-identical across reloads).
    variants = [json.dumps(model).encode(), json.dumps(model, indent=1).encode()]
    live.write_bytes(variants[0])
    port = free_port()
    cmd = [str(a.scorewell), "serve", f"fraud={EXAMPLE / 'bundle'}", "--repository", str(repo),
           "--port", str(port), "--workers", str(a.workers), "--max-rows", str(a.max_rows),
           "--poll-interval-ms", "1000", "--log-level", "error"]
    # The server's log (each broken file is an error line) goes to a file, shown if it dies.
    server_log = tempfile.TemporaryFile()
    server = subprocess.Popen(cmd, env=dict(os.environ, SCOREWELL_ADMIN_TOKEN=TOKEN),
                              stdout=server_log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 60
        while True:
            if server.poll() is not None:
                server_log.seek(0)
                sys.stderr.write(server_log.read()[-4000:].decode(errors="replace"))
                raise SystemExit(f"scorewell serve exited with {server.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/health/ready", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                if time.time() > deadline:
                    raise SystemExit("scorewell serve was not ready after 60 s")
                time.sleep(0.1)
        calls = build_calls(port, bundle_rows(), a.max_rows)
        log(f"{len(calls)} request shapes, {a.clients} clients, {a.seconds:g} s, reload every "
            f"{a.reload_every:g} s (every {a.broken_every}th broken)")

        stop = threading.Event()
        samples: list[Sample] = []
        figures: list[tuple[float, int, int]] = []
        reloads = Reloads()
        t0 = time.perf_counter()
        threads = [threading.Thread(target=worker, args=(port, calls, 1000 + i, t0, stop, samples))
                   for i in range(a.clients)]
        threads.append(threading.Thread(target=reloader, args=(port, live, variants, a, stop, reloads)))
        threads.append(threading.Thread(target=sampler, args=(server.pid, t0, stop, figures)))
        for t in threads:
            t.start()
        next_log = 60.0
        while (elapsed := time.perf_counter() - t0) < a.seconds:
            time.sleep(min(1.0, a.seconds - elapsed))
            if server.poll() is not None:
                log(f"the server exited with {server.returncode} during the soak")
                break
            if elapsed >= next_log:
                log(f"{elapsed / 60:.0f} min: {len(samples)} requests, {reloads.confirmed} reloads")
                next_log += 60.0
        stop.set()
        for t in threads:
            t.join()
        crashed = server.poll() is not None
        if crashed:
            server_log.seek(0)
            sys.stderr.write(server_log.read()[-4000:].decode(errors="replace"))
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        for f in repo.iterdir():
            f.unlink()
        repo.rmdir()

    report, passed = summarize(a, warmup, samples, figures, reloads, crashed)
    print(report["markdown"])
    if not a.no_write:
        a.results.mkdir(parents=True, exist_ok=True)
        stem = a.results / f"soak-{_dt.date.today().isoformat()}"
        stem.with_suffix(".md").write_text(report["markdown"])
        stem.with_suffix(".json").write_text(json.dumps(report["figures"], indent=1) + "\n")
        log(f"wrote {stem.with_suffix('.md').relative_to(ROOT)} and .json")
    return 0 if passed else 1


def summarize(a, warmup, samples, figures, reloads, crashed):
    valid = [s for s in samples if s.valid]
    bad = [s for s in samples if not s.valid]
    failed_valid = [s for s in valid if not s.ok]
    mishandled_bad = [s for s in bad if not s.ok]
    minutes = []
    for m in range(int(a.seconds // 60) + (1 if a.seconds % 60 else 0)):
        in_min = [s for s in valid if m * 60 <= s.t < (m + 1) * 60]
        figs = [f for f in figures if m * 60 <= f[0] < (m + 1) * 60]
        ms = [s.ms for s in in_min]
        minutes.append({
            "minute": m + 1,
            "valid_requests": len(in_min),
            "failed_valid": sum(not s.ok for s in in_min),
            "p50_ms": percentile(ms, 0.50),
            "p99_ms": percentile(ms, 0.99),
            "rss_mb": (max(f[1] for f in figs) / 1024) if figs else None,
            "fds": max(f[2] for f in figs) if figs else None,
        })
    after = [f for f in figures if f[0] >= warmup]
    base_window = [f[1] for f in after if f[0] < warmup + 30] or [f[1] for f in after[:5]]
    end_window = [f[1] for f in after if f[0] >= a.seconds - 30] or [f[1] for f in after[-5:]]
    rss_base = statistics.median(base_window) if base_window else 0
    rss_end = statistics.median(end_window) if end_window else 0
    growth = (rss_end - rss_base) / rss_base if rss_base else float("nan")
    fds_after = [f[2] for f in after]
    by_kind: dict[str, list[Sample]] = {}
    for s in samples:
        by_kind.setdefault(s.kind, []).append(s)

    checks = [
        ("server ran to the end", not crashed),
        ("failed valid requests = 0", not failed_valid),
        ("bad requests each got their own 4xx", not mishandled_bad),
        (f"confirmed reloads ≥ {a.min_reloads}", reloads.confirmed >= a.min_reloads),
        ("every broken file left the old version serving",
         reloads.broken_kept_serving == reloads.broken and not reloads.problems),
        (f"resident memory growth after warm-up < {a.max_rss_growth:.0%}",
         rss_base > 0 and growth < a.max_rss_growth),
    ]
    passed = all(ok for _, ok in checks)
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), "?")
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                         text=True).stdout.strip()
    lines = [
        f"# Soak of `scorewell serve` — {_dt.date.today().isoformat()}",
        "",
        f"{a.seconds:g} s of mixed load from {a.clients} keep-alive client threads on loopback, "
        f"while `live` was rewritten and reloaded every {a.reload_every:g} s (every "
        f"{a.broken_every}th time with a truncated file) and the folder watcher polled every "
        f"second. Made by `bench/soak/run.py`; machine: {os.cpu_count()} cores ({cpu}), "
        f"{platform.system()} {platform.release()}, load average at the end "
        f"{' '.join(Path('/proc/loadavg').read_text().split()[:3])}, commit {rev}.",
        "",
        "## Bars",
        "",
        *[f"- {'PASS' if ok else 'FAIL'}: {name}" for name, ok in checks],
        "",
        "## Totals",
        "",
        f"- requests: {len(samples):,} ({len(valid):,} valid, {len(bad):,} bad on purpose)",
        f"- failed valid requests: {len(failed_valid)}; mishandled bad requests: {len(mishandled_bad)}",
        f"- reloads confirmed: {reloads.confirmed}; broken files: {reloads.broken}, after which "
        f"the old version kept serving {reloads.broken_kept_serving} times",
        f"- resident memory after the {warmup:g} s warm-up: {rss_base / 1024:.1f} MB, at the end "
        f"{rss_end / 1024:.1f} MB ({growth:+.1%})",
        f"- open file descriptors after warm-up: {min(fds_after, default=0)}–{max(fds_after, default=0)}",
        "",
        "## Per minute (valid requests)",
        "",
        "| minute | requests | failed | p50 ms | p99 ms | max RSS MB | max fds |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in minutes:
        rss = f"{m['rss_mb']:.1f}" if m["rss_mb"] is not None else "-"
        lines.append(f"| {m['minute']} | {m['valid_requests']:,} | {m['failed_valid']} | "
                     f"{m['p50_ms']:.2f} | {m['p99_ms']:.2f} | {rss} | {m['fds'] if m['fds'] is not None else '-'} |")
    lines += ["", "## Per request kind", "", "| kind | requests | not as expected | p50 ms | p99 ms |",
              "|---|---:|---:|---:|---:|"]
    for kind in sorted(by_kind):
        ss = by_kind[kind]
        ms = [s.ms for s in ss]
        lines.append(f"| {kind} | {len(ss):,} | {sum(not s.ok for s in ss)} | "
                     f"{percentile(ms, 0.5):.2f} | {percentile(ms, 0.99):.2f} |")
    problems = reloads.problems + [f"{s.kind} at {s.t:.1f} s: {s.note}" for s in
                                   (failed_valid + mishandled_bad)[:20]]
    if problems:
        lines += ["", "## Problems (first 20)", "", *[f"- {p}" for p in problems[:20]]]
    lines.append("")
    figures_doc = {
        "seconds": a.seconds, "clients": a.clients, "reload_every": a.reload_every,
        "passed": passed, "checks": dict(checks), "requests": len(samples),
        "failed_valid": len(failed_valid), "mishandled_bad": len(mishandled_bad),
        "reloads_confirmed": reloads.confirmed, "broken_files": reloads.broken,
        "rss_kb_base": rss_base, "rss_kb_end": rss_end, "rss_growth": growth,
        "minutes": minutes, "samples_rss_fds": figures,
    }
    return {"markdown": "\n".join(lines), "figures": figures_doc}, passed


if __name__ == "__main__":
    sys.exit(main())
