#!/usr/bin/env python3
"""scorewell vs the original libraries: same model, same rows, same machine, same run.

    .venv/bin/python bench/run.py                 # 1M rows (default)
    .venv/bin/python bench/run.py --quick         # 100k rows, fewer repeats (smoke test)
    .venv/bin/python bench/run.py --rows 2000000 --repeat 5

Steps (see bench/README.md):
  1. seeded data: N rows x 50 float32 features, some NaNs; cached under bench/out/
  2. two models trained on a small sample of it (cached): XGBoost 500 trees depth 6
     (binary:logistic, hist) and LightGBM 500 trees 63 leaves (binary)
  3. correctness gate: `scorewell score` on the first rows must equal the library's
     predictions (rtol 1e-6) before anything is timed
  4. library timings in this process (XGBoost `inplace_predict`, LightGBM `predict`),
     scorewell timings via `scorewell bench` on the same rows (parquet), at each thread count
  5. a markdown table to stdout and bench/results/YYYY-MM-DD.md
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
N_FEATURES = 50
NAN_FEATURES = 10  # the first NAN_FEATURES columns get missing values
NAN_RATE = 0.03
BATCH_ROWS = 65536  # scorewell bench's batch size (DEFAULT_BATCH_ROWS); noted in the results

# Targets from the issue, at the same thread count.
TARGET_RATIO = {"xgboost": 2.0, "lightgbm": 3.0}
TARGET_LATENCY_US = 10.0


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# data and models (cached under bench/out, keyed by parameters)
# --------------------------------------------------------------------------------------------

FEATURES = [f"f{i}" for i in range(N_FEATURES)]


def make_data(rows: int, seed: int) -> np.ndarray:
    """Seeded float32 features with some structure, NaNs in the first NAN_FEATURES columns."""
    rng = np.random.default_rng(seed)
    X = np.empty((rows, N_FEATURES), dtype=np.float32)
    for j in range(N_FEATURES):
        kind = j % 5
        if kind == 0:
            col = rng.standard_normal(rows)
        elif kind == 1:
            col = rng.uniform(0.0, 100.0, rows)
        elif kind == 2:
            col = rng.lognormal(3.0, 1.0, rows)
        elif kind == 3:
            col = rng.integers(0, 20, rows).astype(np.float64)  # integer-valued, many ties
        else:
            col = rng.exponential(2.0, rows)
        X[:, j] = col
    mask = rng.random((rows, NAN_FEATURES)) < NAN_RATE
    X[:, :NAN_FEATURES][mask] = np.nan
    return np.ascontiguousarray(X)


def make_labels(X: np.ndarray, seed: int) -> np.ndarray:
    """A nonlinear, noisy binary target so the trees grow to full size."""
    rng = np.random.default_rng(seed + 1)
    Z = np.nan_to_num(X.astype(np.float64), nan=0.0)
    logit = (
        0.8 * Z[:, 0]
        + 0.03 * (Z[:, 1] - 50.0)
        + 0.5 * np.sin(Z[:, 5])
        - 0.02 * np.minimum(Z[:, 2], 100.0)
        + 0.3 * (Z[:, 3] % 3 == 0)
        + 0.4 * Z[:, 10] * (Z[:, 11] > 50.0)
        + 0.2 * np.log1p(Z[:, 12])
        - 0.15 * Z[:, 14]
        + 0.25 * np.cos(Z[:, 20]) * Z[:, 25]
        + 0.5 * np.isnan(X[:, 4])
        + 0.05 * Z[:, 31]
        - 0.3 * (Z[:, 33] > 10)
        + 0.1 * Z[:, 40] * Z[:, 45]
    )
    for j in range(15, N_FEATURES, 3):  # many weak signals
        s = Z[:, j]
        logit += 0.05 * (s - s.mean()) / (s.std() + 1e-9)
    logit += rng.logistic(0.0, 1.0, len(logit)) * 0.5
    return (logit > np.median(logit)).astype(np.float32)


def load_or_make_data(out: Path, rows: int, seed: int) -> tuple[np.ndarray, Path]:
    npy = out / f"data_r{rows}_s{seed}.npy"
    pq = out / f"data_r{rows}_s{seed}.parquet"
    if npy.exists():
        X = np.load(npy, mmap_mode=None)
        log(f"data: cached {npy.name} {X.shape}")
    else:
        t = time.perf_counter()
        X = make_data(rows, seed)
        np.save(npy.with_suffix(".tmp.npy"), X)
        os.replace(npy.with_suffix(".tmp.npy"), npy)
        log(f"data: generated {X.shape} in {time.perf_counter() - t:.1f}s")
    if not pq.exists():
        write_parquet(X, pq)
    return X, pq


def write_parquet(X: np.ndarray, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as papq

    t = time.perf_counter()
    # NaN stays NaN (not NULL): the same bits the libraries see.
    table = pa.table({name: pa.array(X[:, j]) for j, name in enumerate(FEATURES)})
    tmp = path.with_suffix(".tmp")
    papq.write_table(table, tmp, compression="snappy", row_group_size=BATCH_ROWS * 4)
    os.replace(tmp, path)
    log(f"data: wrote {path.name} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.1f}s")


def train_xgboost(path: Path, X: np.ndarray, y: np.ndarray, trees: int, depth: int, seed: int) -> None:
    import xgboost as xgb

    t = time.perf_counter()
    d = xgb.DMatrix(X, label=y, feature_names=FEATURES, missing=np.nan)
    params = {
        "objective": "binary:logistic",
        "tree_method": "hist",
        "max_depth": depth,
        "eta": 0.1,
        "subsample": 0.8,
        "colsample_bytree": 0.8,
        "min_child_weight": 1.0,
        "seed": seed,
        "nthread": os.cpu_count() or 1,
    }
    booster = xgb.train(params, d, num_boost_round=trees)
    tmp = path.with_suffix(".tmp.json")
    booster.save_model(tmp)
    os.replace(tmp, path)
    log(f"xgboost: trained {trees} trees depth {depth} on {len(y)} rows in {time.perf_counter() - t:.1f}s")


def train_lightgbm(path: Path, X: np.ndarray, y: np.ndarray, trees: int, leaves: int, seed: int) -> None:
    import lightgbm as lgb

    t = time.perf_counter()
    params = {
        "objective": "binary",
        "num_leaves": leaves,
        "learning_rate": 0.1,
        "min_data_in_leaf": 20,
        "feature_fraction": 0.8,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "seed": seed,
        "deterministic": True,
        "num_threads": os.cpu_count() or 1,
        "verbose": -1,
    }
    ds = lgb.Dataset(X, label=y, feature_name=FEATURES, free_raw_data=True)
    booster = lgb.train(params, ds, num_boost_round=trees)
    tmp = path.with_suffix(".tmp")
    booster.save_model(str(tmp))
    os.replace(tmp, path)
    log(f"lightgbm: trained {trees} trees {leaves} leaves on {len(y)} rows in {time.perf_counter() - t:.1f}s")


def model_paths(out: Path, a) -> dict[str, Path]:
    key = f"t{a.trees}_n{a.train_rows}_s{a.seed}"
    return {
        "xgboost": out / f"xgb_{key}_d{a.depth}.json",
        "lightgbm": out / f"lgb_{key}_l{a.leaves}.txt",
    }


def ensure_models(out: Path, a, models: list[str]) -> dict[str, Path]:
    paths = model_paths(out, a)
    need = [m for m in models if not paths[m].exists()]
    if need:
        # Training sample: its own seeded rows (not a slice of the scored rows).
        Xt = make_data(a.train_rows, a.seed + 1000)
        yt = make_labels(Xt, a.seed)
        if "xgboost" in need:
            train_xgboost(paths["xgboost"], Xt, yt, a.trees, a.depth, a.seed)
        if "lightgbm" in need:
            train_lightgbm(paths["lightgbm"], Xt, yt, a.trees, a.leaves, a.seed)
    for m in models:
        if m not in need:
            log(f"{m}: cached model {paths[m].name}")
    return {m: paths[m] for m in models}


# --------------------------------------------------------------------------------------------
# library timings
# --------------------------------------------------------------------------------------------


@dataclass
class Timing:
    rows: int
    threads: int
    batch_s: list[float] = field(default_factory=list)
    lat_us: list[float] = field(default_factory=list)
    load_ms: float = float("nan")

    @property
    def rows_per_s(self) -> float:
        return self.rows / min(self.batch_s)

    def pct(self, p: float) -> float:
        v = sorted(self.lat_us)
        return v[round((len(v) - 1) * p)] if v else float("nan")

    def summary(self) -> dict:
        """The same keys as `scorewell bench` prints."""
        return {
            "rows": self.rows,
            "threads": self.threads,
            "load_ms": self.load_ms,
            "batch_best_s": min(self.batch_s),
            "batch_median_s": statistics.median(self.batch_s),
            "rows_per_s": self.rows_per_s,
            "single_rows": len(self.lat_us),
            "latency_p50_us": self.pct(0.5),
            "latency_p99_us": self.pct(0.99),
            "latency_mean_us": statistics.fmean(self.lat_us) if self.lat_us else float("nan"),
        }


def best_of(rounds: list[dict]) -> dict:
    """Each statistic's best value over the rounds (the machine's noise only ever slows a run)."""
    out = dict(rounds[0])
    for key in ("load_ms", "batch_best_s", "batch_median_s", "latency_p50_us", "latency_p99_us", "latency_mean_us"):
        out[key] = min(r[key] for r in rounds)
    out["rows_per_s"] = max(r["rows_per_s"] for r in rounds)
    return out


class XGBoostLib:
    name = "xgboost"

    def __init__(self, path: Path):
        import xgboost as xgb

        t = time.perf_counter()
        self.booster = xgb.Booster(model_file=str(path))
        self.load_ms = (time.perf_counter() - t) * 1e3

    def set_threads(self, n: int) -> None:
        self.booster.set_param({"nthread": n})

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.booster.inplace_predict(X, missing=np.nan)


class LightGBMLib:
    name = "lightgbm"

    def __init__(self, path: Path):
        import lightgbm as lgb

        t = time.perf_counter()
        self.booster = lgb.Booster(model_file=str(path))
        self.load_ms = (time.perf_counter() - t) * 1e3
        self.threads = 1

    def set_threads(self, n: int) -> None:
        self.threads = n

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.booster.predict(X, num_threads=self.threads)


def time_library(lib, X: np.ndarray, threads: int, repeat: int, single: int) -> Timing:
    lib.set_threads(threads)
    tm = Timing(rows=len(X), threads=threads, load_ms=lib.load_ms)
    lib.predict(X[: min(len(X), 65536)])  # warm-up
    for i in range(repeat):
        t = time.perf_counter()
        p = lib.predict(X)
        tm.batch_s.append(time.perf_counter() - t)
        assert len(p) == len(X)
        log(f"  {lib.name} threads={threads} pass {i + 1}/{repeat}: {tm.batch_s[-1]:.3f}s")
    if single > 0:
        n = min(single, len(X))
        rows = [X[i : i + 1] for i in range(n)]  # 1-row C-contiguous views, like a request
        for r in rows[: min(1000, n)]:
            lib.predict(r)  # warm-up
        pc = time.perf_counter_ns
        lat = tm.lat_us
        for r in rows:
            t = pc()
            lib.predict(r)
            lat.append((pc() - t) / 1e3)
    return tm


# --------------------------------------------------------------------------------------------
# scorewell
# --------------------------------------------------------------------------------------------


def scorewell_bench(
    exe: Path, model: Path, data: Path, threads: int, repeat: int, single: int, pin: bool = False
) -> dict:
    """`scorewell bench` as a subprocess. `pin` (1 thread only) keeps it on one CPU with
    taskset: unpinned single-row medians on these VMs come out either ~6 or ~9 µs from one
    process to the next, which drowns sub-microsecond comparisons of scorewell with itself."""
    cmd = [
        str(exe), "bench", str(model), "--input", str(data), "--threads", str(threads),
        "--repeat", str(repeat), "--single-rows", str(single),
    ]
    if pin and threads == 1 and shutil.which("taskset"):
        cmd = ["taskset", "-c", str((os.cpu_count() or 1) - 1), *cmd]
    log("  $ " + " ".join(cmd))
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"scorewell bench failed ({res.returncode}):\n{res.stderr}")
    line = [l for l in res.stdout.splitlines() if l.strip().startswith("{")][-1]
    return json.loads(line)


def check_outputs(exe: Path, lib, model: Path, X: np.ndarray, n: int, out: Path) -> tuple[int, float]:
    """`scorewell score` on the first n rows vs the library; returns (rows, max rel diff)."""
    import pyarrow.parquet as papq

    Xs = X[:n]
    src = out / f"check_{lib.name}_{n}.parquet"
    dst = out / f"check_{lib.name}_{n}_scored.parquet"
    write_parquet(Xs, src)
    cmd = [str(exe), "score", str(model), "--input", str(src), "--output", str(dst), "--quiet"]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"scorewell score failed ({res.returncode}):\n{res.stderr}")
    got = papq.read_table(dst, columns=["prediction"]).column("prediction").to_numpy()
    lib.set_threads(1)
    want = np.asarray(lib.predict(Xs), dtype=np.float64)
    rel = np.abs(got - want) / np.maximum(np.abs(want), 1e-300)
    bad = ~np.isclose(got, want, rtol=1e-6, atol=1e-6)
    if bad.any():
        i = int(np.argmax(bad))
        raise SystemExit(
            f"{lib.name}: scorewell disagrees with the library on {int(bad.sum())}/{n} rows "
            f"(first: row {i}: scorewell {got[i]!r} vs {lib.name} {want[i]!r}); not benchmarking"
        )
    return n, float(rel.max())


# --------------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------------


def sh(cmd: list[str], default: str = "?") -> str:
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=30)
        return r.stdout.strip() if r.returncode == 0 and r.stdout.strip() else default
    except (OSError, subprocess.TimeoutExpired):
        return default


GIT_REV_AT_START = "?"


def git_rev() -> str:
    rev = sh(["git", "rev-parse", "--short", "HEAD"], "no commit")
    dirty = sh(["git", "status", "--porcelain", "--untracked-files=no"], "")
    return rev + (" (+uncommitted changes)" if dirty else "")


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def environment(exe: Path, snap: Path) -> dict[str, str]:
    import lightgbm
    import xgboost

    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    rev = GIT_REV_AT_START
    mem = "?"
    try:
        kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        mem = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, IndexError, ValueError):
        pass
    return {
        "xgboost": xgboost.__version__,
        "lightgbm": lightgbm.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "scorewell": f"{sh([str(exe), '--version'])}, git {rev}",
        "scorewell binary": f"{exe.relative_to(ROOT) if exe.is_relative_to(ROOT) else exe}, built "
        f"{_dt.datetime.fromtimestamp(snap.stat().st_mtime).isoformat(timespec='seconds')} "
        f"(timed as a copy, {snap.name}; git rev is the tree's when the run started)",
        "nproc": sh(["nproc"], str(os.cpu_count())),
        "cpu": cpu,
        "memory": mem,
        "os": f"{platform.system()} {platform.release()}",
    }


def fmt_rate(x: float) -> str:
    if x >= 1e6:
        return f"{x / 1e6:.2f} M"
    return f"{x / 1e3:.0f} k"


def fmt_us(x: float) -> str:
    return f"{x:.1f}" if x < 100 else f"{x:.0f}"


def render(a, env, checks, results, total_s: float) -> str:
    L = []
    today = _dt.date.today().isoformat()
    L.append(f"# scorewell benchmark, {today}")
    L.append("")
    L.append(
        f"Command: `.venv/bin/python bench/run.py {' '.join(sys.argv[1:])}`".replace("`.venv/bin/python bench/run.py `", "`.venv/bin/python bench/run.py`")
    )
    L.append("")
    L.append(
        f"Rows scored: **{a.rows:,}** x {N_FEATURES} float32 features ({NAN_RATE:.0%} NaN in "
        f"{NAN_FEATURES} of them); models trained on a separate seeded sample of {a.train_rows:,} rows. "
        f"{a.rounds} round(s) per setting, library then scorewell, each statistic the best round's; "
        f"batch = best of {a.repeat} passes per round over all rows after a warm-up; library = one call over the "
        f"whole array, scorewell = `scorewell bench` ({BATCH_ROWS}-row Arrow batches from Parquet, "
        f"in memory). Latency = {a.single:,} calls with one row each (library: 1-row numpy array; "
        f"scorewell: 1-row RecordBatch through `Scorer::score`)."
    )
    L.append("")
    L.append("Models:")
    L.append(f"- xgboost: {a.trees} trees, max_depth {a.depth}, binary:logistic, hist")
    L.append(f"- lightgbm: {a.trees} trees, num_leaves {a.leaves}, binary")
    L.append("")
    L.append("## Batch throughput (rows/s, higher is better)")
    L.append("")
    L.append("| model | threads | library rows/s | scorewell rows/s | ratio | target | met |")
    L.append("|---|---:|---:|---:|---:|---:|:---:|")
    for r in results:
        ratio = r["sw"]["rows_per_s"] / r["lib"]["rows_per_s"]
        tgt = TARGET_RATIO[r["model"]]
        L.append(
            f"| {r['model']} | {r['threads']} | {fmt_rate(r['lib']['rows_per_s'])} | "
            f"{fmt_rate(r['sw']['rows_per_s'])} | {ratio:.2f}x | >= {tgt:.0f}x | "
            f"{'yes' if ratio >= tgt else 'no'} |"
        )
    L.append("")
    L.append("## Single-row latency (µs, lower is better)")
    L.append("")
    L.append(
        "| model | threads | library p50 | library p99 | scorewell p50 | scorewell p99 | "
        "scorewell mean | p50 speedup | p50 <= 10 µs |"
    )
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|:---:|")
    for r in results:
        sw = r["sw"]
        lib = r["lib"]
        p50 = sw["latency_p50_us"]
        L.append(
            f"| {r['model']} | {r['threads']} | {fmt_us(lib['latency_p50_us'])} | {fmt_us(lib['latency_p99_us'])} | "
            f"{fmt_us(p50)} | {fmt_us(sw['latency_p99_us'])} | {fmt_us(sw['latency_mean_us'])} | "
            f"{lib['latency_p50_us'] / p50:.1f}x | {'yes' if p50 <= TARGET_LATENCY_US else 'no'} |"
        )
    L.append("")
    L.append("## Details")
    L.append("")
    L.append(
        "| model | threads | library best / median s | scorewell best / median s | library load ms | "
        "scorewell load ms | library rows/s per round | scorewell rows/s per round |"
    )
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        lib = r["lib"]
        sw = r["sw"]
        L.append(
            f"| {r['model']} | {r['threads']} | {lib['batch_best_s']:.3f} / {lib['batch_median_s']:.3f} | "
            f"{sw['batch_best_s']:.3f} / {sw['batch_median_s']:.3f} | {lib['load_ms']:.0f} | {sw['load_ms']:.0f} | "
            f"{' '.join(fmt_rate(x['rows_per_s']) for x in r['lib_rounds'])} | "
            f"{' '.join(fmt_rate(x['rows_per_s']) for x in r['sw_rounds'])} |"
        )
    L.append("")
    L.append("Correctness gate (`scorewell score` vs the library on the first rows, rtol = atol = 1e-6):")
    for m, (n, rel) in checks.items():
        L.append(f"- {m}: {n:,} rows agree, max relative difference {rel:.2e}")
    L.append("")
    L.append("## Environment")
    L.append("")
    for k in ("scorewell", "scorewell binary", "load average", "xgboost", "lightgbm", "numpy", "python", "nproc", "cpu", "memory", "os"):
        L.append(f"- {k}: {env[k]}")
    L.append(f"- whole run: {total_s:.0f} s")
    L.append("")
    return "\n".join(L)


# --------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=None, help="rows to score (default 1,000,000; --quick 100,000)")
    ap.add_argument("--quick", action="store_true", help="100k rows, fewer repeats and latency calls")
    ap.add_argument("--repeat", type=int, default=None, help="timed batch passes per round (default 2)")
    ap.add_argument("--single", type=int, default=None, help="single-row calls (default 5000; --quick 2000)")
    ap.add_argument("--rounds", type=int, default=None,
                    help="alternating library/scorewell rounds per setting; each statistic is the best "
                         "round's (default 2; --quick 1)")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    ap.add_argument("--models", default="xgboost,lightgbm", help="which models (default xgboost,lightgbm)")
    ap.add_argument("--train-rows", type=int, default=30_000, help="training sample size (default 30,000)")
    ap.add_argument("--trees", type=int, default=500)
    ap.add_argument("--depth", type=int, default=6, help="XGBoost max_depth")
    ap.add_argument("--leaves", type=int, default=63, help="LightGBM num_leaves")
    ap.add_argument("--check-rows", type=int, default=10_000, help="rows in the correctness gate")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--scorewell", type=Path, default=ROOT / "target" / "release" / "scorewell")
    ap.add_argument("--build", action="store_true", help="run `cargo build --release -p scorewell-cli` first")
    ap.add_argument("--out", type=Path, default=BENCH / "out", help="cache dir (default bench/out)")
    ap.add_argument("--results", type=Path, default=BENCH / "results", help="results dir (default bench/results)")
    ap.add_argument("--no-write", action="store_true", help="print the table only")
    a = ap.parse_args()
    if a.rows is None:
        a.rows = 100_000 if a.quick else 1_000_000
    if a.repeat is None:
        a.repeat = 2
    if a.rounds is None:
        a.rounds = 1 if a.quick else 2
    if a.single is None:
        a.single = 2000 if a.quick else 5000
    threads = [int(t) for t in a.threads.split(",") if t.strip()]
    models = [m.strip() for m in a.models.split(",") if m.strip()]
    for m in models:
        if m not in TARGET_RATIO:
            raise SystemExit(f"unknown model {m!r} (xgboost, lightgbm)")

    start = time.perf_counter()
    a.out.mkdir(parents=True, exist_ok=True)
    exe = a.scorewell.resolve()
    if a.build or not exe.exists():
        if not shutil.which("cargo"):
            raise SystemExit(f"{exe} missing and cargo not found")
        log("building scorewell-cli (release)")
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "scorewell-cli"], cwd=ROOT, check=True)

    global GIT_REV_AT_START
    GIT_REV_AT_START = git_rev()  # the tree the timed binary was (presumably) built from
    load_before = loadavg()
    # Time a private copy: others rebuilding target/release mid-run must not mix builds.
    built = _dt.datetime.fromtimestamp(exe.stat().st_mtime)
    snap = a.out / f"scorewell-{built.strftime('%Y%m%dT%H%M%S')}"
    if not snap.exists():
        shutil.copy2(exe, snap.with_suffix(".tmp"))
        os.replace(snap.with_suffix(".tmp"), snap)
    log(f"timing {snap.relative_to(ROOT) if snap.is_relative_to(ROOT) else snap} (copy of {exe})")
    env_exe = exe
    exe = snap
    X, parquet = load_or_make_data(a.out, a.rows, a.seed)
    paths = ensure_models(a.out, a, models)
    libs = {"xgboost": XGBoostLib, "lightgbm": LightGBMLib}

    checks = {}
    results = []
    for m in models:
        lib = libs[m](paths[m])
        checks[m] = check_outputs(exe, lib, paths[m], X, min(a.check_rows, a.rows), a.out)
        log(f"{m}: correctness gate passed ({checks[m][0]} rows, max rel diff {checks[m][1]:.2e})")
        for n in threads:
            lib_rounds, sw_rounds = [], []
            for k in range(a.rounds):
                tag = f"threads={n} round {k + 1}/{a.rounds}"
                log(f"{m}: library, {tag}")
                lib_rounds.append(time_library(lib, X, n, a.repeat, a.single).summary())
                log(f"{m}: scorewell, {tag}")
                sw = scorewell_bench(exe, paths[m], parquet, n, a.repeat, a.single)
                if sw["rows"] != a.rows:
                    raise SystemExit(f"scorewell bench read {sw['rows']} rows, expected {a.rows}")
                sw_rounds.append(sw)
                log(
                    f"{m} {tag}: library {lib_rounds[-1]['rows_per_s']:,.0f} rows/s "
                    f"p50 {lib_rounds[-1]['latency_p50_us']:.1f}us | scorewell {sw['rows_per_s']:,.0f} rows/s "
                    f"p50 {sw['latency_p50_us']:.1f}us"
                )
            results.append({
                "model": m, "threads": n,
                "lib": best_of(lib_rounds), "sw": best_of(sw_rounds),
                "lib_rounds": lib_rounds, "sw_rounds": sw_rounds,
            })
        del lib

    env = environment(env_exe, exe)
    env["load average"] = f"{load_before} before, {loadavg()} after (1/5/15 min)"
    report = render(a, env, checks, results, time.perf_counter() - start)
    print(report)
    if not a.no_write:
        a.results.mkdir(parents=True, exist_ok=True)
        name = _dt.date.today().isoformat() + (f"-quick" if a.quick else "") + ".md"
        dest = a.results / name
        dest.write_text(report)
        raw = dest.with_suffix(".json")
        raw.write_text(json.dumps({
            "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(a).items()},
            "env": env,
            "checks": checks,
            "results": results,
        }, indent=1) + "\n")
        log(f"wrote {dest.relative_to(ROOT) if dest.is_relative_to(ROOT) else dest} (+ .json)")


if __name__ == "__main__":
    main()
