#!/usr/bin/env python3
"""Online scoring from Python: scorewell's Python paths against the usual in-process peers, in
one process, on the same rows, at one thread.

    bash bench/python-online/setup.sh                          # .venv-bench-online (peers + wheel)
    .venv-bench-online/bin/python bench/python-online/run.py   # ~30 s on 2 cores once cached; the
                                                               # first run trains, converts and
                                                               # compiles the models (~2 min)
    .venv-bench-online/bin/python bench/python-online/run.py --quick --no-write

Models (trained once, cached in bench/out/python-online/ by their parameters):
  - xgboost: 500 trees, max_depth 6, binary:logistic, hist; lightgbm: 500 trees, 63 leaves,
    binary. Both on 30,000 seeded rows of bench/run.py's generator (50 float32 features,
    normal/uniform/lognormal/integer/exponential columns, 3% NaN in 10 of them).
  - fraud: the example bundle examples/fraud/bundle (string indexers + XGBoost + a decision),
    on the rows of examples/fraud/transactions.csv (an empty cell is missing: None in a dict).
Data for the tree models: held-out rows of the same generator ("project") and seeded
standard-normal rows with 5% NaN in every column ("normal").

Paths timed, each on the same rows:
  scorewell  score_one(dict), predict(numpy), score(DataFrame), score(pyarrow.Table),
             score_rows(list of dicts) (batch); and `scorewell bench` (the Rust engine alone,
             no Python) for the same model and rows
  peers      XGBoost Booster.inplace_predict, LightGBM Booster.predict, ONNX Runtime on the
             onnxmltools conversion, lleaves (LightGBM compiled with LLVM); for the fraud bundle
             a hand-written pandas/dict pipeline feeding XGBoost's inplace_predict
Single row: --warmup calls, then --calls calls, each timed with perf_counter_ns (GC off during
the timed loop, as timeit does); p50/p99 in µs. Batch: 1,000 rows per call, best of --repeat.
Everything runs at one thread. Before anything is timed the scorewell paths must agree with
each other bit for bit, and with the library within 1e-6 (ONNX Runtime: 1e-4, because its tree
ensembles compare and sum in float32); otherwise the script stops.

Parts the environment lacks (the new scorewell API in an older build, onnxruntime or lleaves
outside .venv-bench-online, target/release/scorewell) are skipped with a printed reason.
To time the in-tree build of the package instead of the installed wheel, put it first on the
path: PYTHONPATH=python .venv-bench-online/bin/python bench/python-online/run.py
"""

from __future__ import annotations

import os

# One thread everywhere, fixed before any library starts its pool: rayon (scorewell) reads
# RAYON_NUM_THREADS and OpenMP (XGBoost, LightGBM) OMP_NUM_THREADS when the pool first starts.
os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"

import argparse
import datetime as _dt
import functools
import gc
import importlib.metadata
import json
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as papq

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
FRAUD_BUNDLE = ROOT / "examples" / "fraud" / "bundle"
FRAUD_ROWS = ROOT / "examples" / "fraud" / "transactions.csv"
FRAUD_EXPECTED = ROOT / "examples" / "fraud" / "expected.csv"

LIB_TOL = 1e-6  # scorewell and lleaves vs the library (rtol = atol, as bench/run.py)
ONNX_TOL = 1e-4  # ONNX Runtime's TreeEnsemble thresholds and sums are float32
NORMAL_NAN_RATE = 0.05


sys.path.insert(0, str(BENCH))
import shared  # noqa: E402  (bench/shared.py)

core = shared.load_core()
FEATURES = core.FEATURES


def log(msg: str) -> None:
    print(f"[python-online {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# models and data (cached under bench/out/python-online, keyed by parameters)
# --------------------------------------------------------------------------------------------


def ensure_tree_models(out: Path, a, models: list[str]) -> dict[str, Path]:
    key = f"t{a.trees}_n{a.train_rows}_s{a.seed}"
    paths = {"xgboost": out / f"xgb_{key}_d{a.depth}.json", "lightgbm": out / f"lgb_{key}_l{a.leaves}.txt"}
    need = [m for m in models if m in paths and not paths[m].exists()]
    if need:
        # bench/run.py's trainers and seeds: the training rows are drawn with seed + 1000.
        xt = core.make_data(a.train_rows, a.seed + 1000)
        yt = core.make_labels(xt, a.seed)
        if "xgboost" in need:
            core.train_xgboost(paths["xgboost"], xt, yt, a.trees, a.depth, a.seed)
        if "lightgbm" in need:
            core.train_lightgbm(paths["lightgbm"], xt, yt, a.trees, a.leaves, a.seed)
    return {m: paths[m] for m in models if m in paths}


def tree_datasets(names: list[str], rows: int, seed: int) -> dict[str, np.ndarray]:
    """float32, C-contiguous: the dtype every peer takes without a copy (ONNX needs float32)."""
    data = {}
    if "project" in names:
        data["project"] = core.make_data(rows, seed)  # held out: training used seed + 1000
    if "normal" in names:
        rng = np.random.default_rng(seed + 7)
        x = rng.standard_normal((rows, len(FEATURES))).astype(np.float32)
        x[rng.random(x.shape) < NORMAL_NAN_RATE] = np.nan
        data["normal"] = np.ascontiguousarray(x)
    return data


def fraud_rows(rows: int) -> pd.DataFrame:
    """The example's transactions, repeated to `rows` rows, as pandas reads the CSV."""
    df = pd.read_csv(FRAUD_ROWS)
    return df.iloc[np.arange(rows) % len(df)].reset_index(drop=True)


def row_dicts(df: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    """Rows as a JSON request body would decode them: float/str values, None for missing."""
    out = []
    for rec in df[columns].to_dict("records"):
        out.append({
            k: None if (v is None or (isinstance(v, float) and v != v)) else (v if isinstance(v, str) else float(v))
            for k, v in rec.items()
        })
    return out


# --------------------------------------------------------------------------------------------
# paths: what is called, on which prepared input
# --------------------------------------------------------------------------------------------


@dataclass
class Call:
    """One way of scoring: a single-row call over prepared items and/or a 1,000-row call."""

    name: str  # e.g. "scorewell score_one"
    input: str  # what each call gets, for the report
    scorewell: bool
    one: Callable[[Any], Any] | None = None
    one_items: list | None = None
    batch: Callable[[Any], Any] | None = None
    batch_arg: Any = None
    batch_input: str = ""


@dataclass
class Result:
    model: str
    data: str
    path: str
    input: str
    scorewell: bool
    lat_us: list[float] = field(default_factory=list)
    batch_s: float = float("nan")
    batch_rows: int = 0
    batch_input: str = ""
    engine: dict | None = None  # `scorewell bench`'s JSON: percentiles, not samples

    def pct(self, p: float) -> float:
        # The same rank rule as `scorewell bench`: v[round((n - 1) * p)].
        v = sorted(self.lat_us)
        return v[round((len(v) - 1) * p)] if v else float("nan")

    @property
    def rows_per_s(self) -> float:
        return self.batch_rows / self.batch_s if self.batch_rows else float("nan")


def scorewell_api(s) -> dict[str, bool]:
    """Which of the online API's methods this build has (older wheels have score() only)."""
    return {m: hasattr(s, m) for m in ("score_one", "score_rows", "predict")}


def scorewell_tree_paths(s, api, x: np.ndarray, batch: int, n1: int) -> list[Call]:
    df = pd.DataFrame(x, columns=FEATURES)
    # NaN stays NaN in the Table (as in the engine's Parquet); in the DataFrame path pandas'
    # NaN becomes null. Both are "missing" to the model.
    table = pa.table({name: pa.array(x[:, j]) for j, name in enumerate(FEATURES)})
    dicts = [{k: (None if v != v else float(v)) for k, v in zip(FEATURES, row)} for row in x.tolist()]
    one_rows = [x[i : i + 1] for i in range(n1)]  # 1-row views, what the numpy peers get
    paths = []
    if api["score_one"]:
        paths.append(Call("scorewell score_one", "dict", True, one=s.score_one, one_items=dicts[:n1]))
    if api["predict"]:
        paths.append(Call("scorewell predict", "1-row float32 array", True, one=s.predict, one_items=one_rows,
                          batch=s.predict, batch_arg=x[:batch], batch_input="float32 array"))
    if api["score_rows"]:
        paths.append(Call("scorewell score_rows", "", True, batch=s.score_rows, batch_arg=dicts[:batch],
                          batch_input="list of dicts"))
    paths.append(Call("scorewell score(DataFrame)", "1-row DataFrame", True,
                      one=s.score, one_items=[df.iloc[i : i + 1] for i in range(n1)],
                      batch=s.score, batch_arg=df.iloc[:batch], batch_input="DataFrame"))
    paths.append(Call("scorewell score(Table)", "1-row Table", True,
                      one=s.score, one_items=[table.slice(i, 1) for i in range(n1)],
                      batch=s.score, batch_arg=table.slice(0, batch), batch_input="Table"))
    return paths


def numpy_peer(name: str, fn: Callable, x: np.ndarray, batch: int, n1: int) -> Call:
    return Call(name, "1-row float32 array", False, one=fn, one_items=[x[i : i + 1] for i in range(n1)],
                batch=fn, batch_arg=x[:batch], batch_input="float32 array")


# --------------------------------------------------------------------------------------------
# peers
# --------------------------------------------------------------------------------------------


def xgboost_booster(path: Path):
    import xgboost as xgb

    b = xgb.Booster(model_file=str(path))
    b.set_param({"nthread": 1})
    return b


def lightgbm_booster(path: Path):
    import lightgbm as lgb

    return lgb.Booster(model_file=str(path))


def onnx_session(model: str, booster, path: Path, out: Path):
    """The onnxmltools conversion (cached) in a one-thread InferenceSession. Returns
    (X -> positive-class probability, the bare `run` the timing calls with a feed dict, the
    input's name); raises ImportError when onnxruntime or onnxmltools is not installed."""
    import onnxmltools
    import onnxruntime as ort
    from onnxmltools.convert.common.data_types import FloatTensorType

    onnx_path = out / f"{path.stem}.onnxmltools-{onnxmltools.__version__}.onnx"
    if not onnx_path.exists():
        t = time.perf_counter()
        types = [("input", FloatTensorType([None, len(FEATURES)]))]
        if model == "xgboost":
            m = onnxmltools.convert_xgboost(booster, initial_types=types)
        else:
            m = onnxmltools.convert_lightgbm(booster, initial_types=types, zipmap=False)
        tmp = onnx_path.with_suffix(".tmp")
        tmp.write_bytes(m.SerializeToString())
        os.replace(tmp, onnx_path)
        log(f"{model}: converted to ONNX in {time.perf_counter() - t:.1f}s ({onnx_path.name})")
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    sess = ort.InferenceSession(str(onnx_path), so, providers=["CPUExecutionProvider"])
    outputs = [o.name for o in sess.get_outputs()]
    if "probabilities" not in outputs:
        raise RuntimeError(f"ONNX model has outputs {outputs}, expected 'probabilities'")
    run = functools.partial(sess.run, ["probabilities"])
    name = sess.get_inputs()[0].name

    def predict(x: np.ndarray) -> np.ndarray:
        return run({name: x})[0][:, 1]

    # The timed call is sess.run on a prepared feed dict, as a service would hold it.
    return predict, run, name


def lleaves_model(path: Path, out: Path):
    """lleaves, compiled once with its default flags; the machine code is cached (it is for
    this CPU, so the CPU name is in the file name)."""
    import lleaves
    import llvmlite
    import llvmlite.binding as llvm

    cpu = llvm.get_host_cpu_name()
    ver = importlib.metadata.version("lleaves")
    cache = out / f"{path.stem}.lleaves-{ver}-llvmlite-{llvmlite.__version__}-{cpu}.so"
    m = lleaves.Model(model_file=str(path))
    cached = cache.exists()
    t = time.perf_counter()
    m.compile(cache=str(cache))  # 500 trees x 63 leaves: ~100 s on a 2-core VM, once
    log(f"lightgbm: lleaves {'loaded from cache' if cached else 'compiled'} in {time.perf_counter() - t:.1f}s ({cache.name})")
    return m


# --------------------------------------------------------------------------------------------
# correctness gate
# --------------------------------------------------------------------------------------------


def same_bits(a, b) -> bool:
    a = np.ascontiguousarray(np.asarray(a, dtype=np.float64))
    b = np.ascontiguousarray(np.asarray(b, dtype=np.float64))
    return a.shape == b.shape and bool((a.view(np.uint64) == b.view(np.uint64)).all())


def require_close(what: str, got, want, tol: float) -> float:
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    bad = ~np.isclose(got, want, rtol=tol, atol=tol)
    if bad.any():
        i = int(np.argmax(bad))
        raise SystemExit(
            f"correctness gate: {what}: {int(bad.sum())}/{len(want)} rows differ by more than {tol:g} "
            f"(first: row {i}: {float(got[i])!r} vs {float(want[i])!r}); not benchmarking"
        )
    return float(np.abs(got - want).max())


def gate_scorewell(label: str, s, api, x: np.ndarray, n1: int, output: str = "prediction") -> np.ndarray:
    """Every scorewell path on the same rows must give the same bits; returns those values.
    The reference is score(DataFrame), the one path every build has."""
    df = pd.DataFrame(x, columns=FEATURES)
    table = pa.table({name: pa.array(x[:, j]) for j, name in enumerate(FEATURES)})
    dicts = [{k: (None if v != v else float(v)) for k, v in zip(FEATURES, row)} for row in x.tolist()]
    ref = s.score(df)[output].to_numpy()
    got = {
        "score(Table)": s.score(table).column(output).to_numpy(),
        "score(1-row DataFrame)": [s.score(df.iloc[i : i + 1])[output].iloc[0] for i in range(n1)],
        "score(1-row Table)": [s.score(table.slice(i, 1)).column(output)[0].as_py() for i in range(n1)],
    }
    if api["score_one"]:
        got["score_one"] = [s.score_one(d)[output] for d in dicts]
    if api["score_rows"]:
        got["score_rows"] = [r[output] for r in s.score_rows(dicts)]
    if api["predict"]:
        got["predict"] = s.predict(x)
        got["predict(1 row)"] = [s.predict(x[i : i + 1])[0] for i in range(n1)]
    for name, values in got.items():
        if not same_bits(values, ref[: len(values)]):
            v = np.asarray(values, dtype=np.float64)
            i = int(np.argmax(v != ref[: len(v)]))
            raise SystemExit(
                f"correctness gate: {label}: scorewell {name} differs from score(DataFrame) "
                f"(row {i}: {float(v[i])!r} vs {float(ref[i])!r}); not benchmarking"
            )
    return ref


# --------------------------------------------------------------------------------------------
# timing
# --------------------------------------------------------------------------------------------


def time_single(fn: Callable, items: list, warmup: int) -> list[float]:
    """Per-call µs over all items after `warmup` untimed calls. GC is off in the timed loop
    (as in timeit) so a collection triggered by one path's garbage does not land in another's p99."""
    for it in items[:warmup]:
        fn(it)
    pc = time.perf_counter_ns
    lat = [0] * len(items)
    gc.collect()
    gc.disable()
    try:
        for i, it in enumerate(items):
            t = pc()
            fn(it)
            lat[i] = pc() - t
    finally:
        gc.enable()
    return [v / 1e3 for v in lat]


def time_batch(fn: Callable, arg: Any, repeat: int) -> float:
    """Best seconds per call over `repeat` calls (noise only ever slows a call)."""
    fn(arg)
    fn(arg)  # warm-up
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn(arg)
        best = min(best, time.perf_counter() - t)
    return best


def run_paths(model: str, data: str, paths: list[Call], a) -> list[Result]:
    results = []
    for p in paths:
        r = Result(model, data, p.name, p.input, p.scorewell, batch_input=p.batch_input)
        if p.one is not None:
            r.lat_us = time_single(p.one, p.one_items, a.warmup)
        if p.batch is not None:
            r.batch_s = time_batch(p.batch, p.batch_arg, a.repeat)
            r.batch_rows = a.batch_rows
        log(
            f"  {model}/{data} {p.name}: "
            + (f"p50 {r.pct(0.5):.1f} µs p99 {r.pct(0.99):.1f} µs" if r.lat_us else "no single-row call")
            + (f" | batch {r.rows_per_s:,.0f} rows/s" if r.batch_rows else "")
        )
        results.append(r)
    return results


# --------------------------------------------------------------------------------------------
# the Rust engine alone: `scorewell bench`
# --------------------------------------------------------------------------------------------


def engine_binary(a, out: Path, skipped: list[str]) -> tuple[Path | None, str]:
    exe = a.scorewell.resolve()
    if not exe.exists():
        skipped.append(f"engine alone: {exe} missing (cargo build --release -p scorewell-cli)")
        return None, "missing"
    built = _dt.datetime.fromtimestamp(exe.stat().st_mtime).isoformat(timespec="seconds")
    # Time a private copy, as bench/run.py does: a rebuild of target/release mid-run must not
    # mix builds. One copy, replaced when the build changes.
    snap = out / "scorewell-cli"
    if not snap.exists() or snap.stat().st_mtime != exe.stat().st_mtime:
        shutil.copy2(exe, snap.with_suffix(".tmp"))
        os.replace(snap.with_suffix(".tmp"), snap)
    return snap, built


def write_rows(table: pa.Table, parquet: Path) -> Path:
    papq.write_table(table, parquet.with_suffix(".tmp"))
    os.replace(parquet.with_suffix(".tmp"), parquet)
    return parquet


def engine_check(exe: Path, model: Path, parquet: Path, ref: np.ndarray, output: str, label: str) -> str:
    """`scorewell score` on the engine's input file must give the Python paths' bits: the CLI
    binary and the Python extension are separate builds."""
    scored = parquet.with_name(parquet.stem + "_scored.parquet")
    cmd = [str(exe), "score", str(model), "--input", str(parquet), "--output", str(scored), "--quiet"]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"correctness gate: {label}: scorewell score failed ({res.returncode}): {res.stderr.strip()[-500:]}")
    got = papq.read_table(scored, columns=[output]).column(output).to_numpy()[: len(ref)]
    scored.unlink()
    if not same_bits(got, ref):
        i = int(np.argmax(got != ref))
        raise SystemExit(f"correctness gate: {label}: the engine (scorewell score) differs from the Python "
                         f"paths (row {i}: {float(got[i])!r} vs {float(ref[i])!r}); not benchmarking")
    return f"{label}: the engine binary (`scorewell score` on its input file) gives the same bits on {len(ref):,} rows"


def engine_bench(exe: Path, model: Path, parquet: Path, a) -> dict:
    """`scorewell bench` on the same rows, one thread, batches of --batch-rows rows."""
    cmd = [
        str(exe), "bench", str(model), "--input", str(parquet), "--threads", "1",
        "--repeat", str(a.repeat), "--single-rows", str(a.calls), "--batch-rows", str(a.batch_rows),
    ]
    log("  $ " + " ".join(str(Path(c).relative_to(ROOT)) if c.startswith(str(ROOT)) else c for c in cmd))
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"scorewell bench failed ({res.returncode}): {res.stderr.strip()[-500:]}")
    return json.loads([l for l in res.stdout.splitlines() if l.strip().startswith("{")][-1])


def engine_result(model: str, data: str, sw: dict, a) -> Result:
    """The CLI's numbers in a Result; its latencies come as percentiles, not samples."""
    return Result(model, data, "scorewell engine alone (CLI bench)", "1-row RecordBatch", True,
                  batch_rows=a.batch_rows, batch_s=a.batch_rows / sw["rows_per_s"],
                  batch_input="RecordBatch", engine=sw)


def pct_of(r: Result, p: float) -> float:
    sw = r.engine
    if sw is not None:
        v = sw.get({0.5: "latency_p50_us", 0.99: "latency_p99_us"}[p])
        return float("nan") if v is None else float(v)
    return r.pct(p)


def mean_of(r: Result) -> float:
    sw = r.engine
    if sw is not None:
        return float("nan") if sw.get("latency_mean_us") is None else float(sw["latency_mean_us"])
    return statistics.fmean(r.lat_us) if r.lat_us else float("nan")


# --------------------------------------------------------------------------------------------
# per model
# --------------------------------------------------------------------------------------------


def bench_tree(model: str, path: Path, datasets: dict[str, np.ndarray], a, out: Path, exe: Path | None,
               checks: list[str], skipped: list[str]) -> list[Result]:
    import scorewell

    s = scorewell.load(str(path))
    if list(s.inputs) != FEATURES:
        raise SystemExit(f"{model}: scorewell reads inputs {s.inputs[:5]}…, expected f0..f49 in order")
    api = scorewell_api(s)
    for m, ok in api.items():
        if not ok:
            note = f"scorewell.{m} not available in this build ({scorewell.__file__})"
            if note not in skipped:
                skipped.append(note)
                log(note)
    booster = xgboost_booster(path) if model == "xgboost" else lightgbm_booster(path)
    lib_predict = booster.inplace_predict if model == "xgboost" else functools.partial(booster.predict, num_threads=1)

    onnx = lle = None
    try:
        onnx = onnx_session(model, booster, path, out)
    except ImportError as e:
        skipped.append(f"{model}: ONNX Runtime peer: {e.name or e} not installed (use .venv-bench-online)")
    if model == "lightgbm":
        try:
            lle = lleaves_model(path, out)
        except ImportError as e:
            skipped.append(f"lightgbm: lleaves peer: {e.name or e} not installed (use .venv-bench-online)")
        except Exception as e:  # an llvmlite it cannot drive: say why, time the others
            skipped.append(f"lightgbm: lleaves peer: compile failed: {type(e).__name__}: {e}")

    n1 = a.calls
    results = []
    for data, x in datasets.items():
        label = f"{model}/{data}"
        # Gate on the batch rows (every single-row path also on the first rows).
        xg = x[: a.batch_rows]
        want = np.asarray(lib_predict(xg), dtype=np.float64)
        ref = gate_scorewell(label, s, api, xg, min(200, len(xg)))
        diff = require_close(f"{label}: scorewell vs {model}", ref, want, LIB_TOL)
        checks.append(f"{label}: every scorewell path gives the same bits on {len(xg):,} rows; "
                      f"vs {model}: max abs diff {diff:.1e} (tolerance {LIB_TOL:g})")
        if onnx is not None:
            d = require_close(f"{label}: onnxruntime vs {model}", onnx[0](xg), want, ONNX_TOL)
            checks.append(f"{label}: onnxruntime vs {model}: max abs diff {d:.1e} (tolerance {ONNX_TOL:g}, float32)")
        if lle is not None:
            d = require_close(f"{label}: lleaves vs lightgbm", lle.predict(xg, n_jobs=1), want, LIB_TOL)
            checks.append(f"{label}: lleaves vs lightgbm: max abs diff {d:.1e} (tolerance {LIB_TOL:g})")
        parquet = None
        if exe is not None:
            # NaN stays NaN in the file (not null), the same bits the numpy paths see.
            table = pa.table({name: pa.array(x[:, j]) for j, name in enumerate(FEATURES)})
            parquet = write_rows(table, out / f"rows_{data}_{len(x)}_s{a.seed}.parquet")
            checks.append(engine_check(exe, path, parquet, ref, "prediction", label))

        log(f"{label}: timing ({a.calls} single-row calls after {a.warmup} warm-up; batch {a.batch_rows} rows, best of {a.repeat})")
        paths = scorewell_tree_paths(s, api, x, a.batch_rows, n1)
        if model == "xgboost":
            paths.append(numpy_peer("xgboost inplace_predict", booster.inplace_predict, x, a.batch_rows, n1))
        else:
            paths.append(numpy_peer("lightgbm predict", lib_predict, x, a.batch_rows, n1))
        if onnx is not None:
            _, run, name = onnx
            paths.append(Call("onnxruntime run", "1-row float32 array", False, one=run,
                              one_items=[{name: x[i : i + 1]} for i in range(n1)],
                              batch=run, batch_arg={name: x[: a.batch_rows]}, batch_input="float32 array"))
        if lle is not None:
            paths.append(numpy_peer("lleaves predict", functools.partial(lle.predict, n_jobs=1), x, a.batch_rows, n1))
        results += run_paths(model, data, paths, a)

        if parquet is not None:
            try:
                sw = engine_bench(exe, path, parquet, a)
                results.append(engine_result(model, data, sw, a))
            except RuntimeError as e:
                skipped.append(f"{label}: engine alone: {e}")
    return results


def fraud_labels() -> dict[str, list[str]]:
    """The bundle's string indexers' labels, by input column (from its manifest)."""
    manifest = json.loads((FRAUD_BUNDLE / "scorewell.json").read_text())
    return {st["params"]["input"]: st["params"]["labels"] for st in manifest["stages"] if st["kind"] == "string_indexer"}


class FraudByHand:
    """What a Python service would write without scorewell: index the strings (unseen or missing
    gets one extra index, Spark's handleInvalid="keep"), feed XGBoost, apply the decision."""

    NUMERIC = ["amount", "hour", "account_age_days", "n_tx_24h", "merchant_risk"]

    def __init__(self):
        self.booster = xgboost_booster(FRAUD_BUNDLE / "models" / "model.json")
        labels = fraud_labels()
        self.country = {v: float(i) for i, v in enumerate(labels["country"])}
        self.channel = {v: float(i) for i, v in enumerate(labels["channel"])}
        self.nan = float("nan")

    @staticmethod
    def _decide(p: float) -> str:
        return "block" if p >= 0.5 else "review" if p >= 0.2 else "allow" if p == p else "review"

    def one(self, row: dict) -> dict:
        nan = self.nan
        x = np.array([[
            *(nan if row[c] is None else row[c] for c in self.NUMERIC),
            self.country.get(row["country"], float(len(self.country))),
            self.channel.get(row["channel"], float(len(self.channel))),
        ]], dtype=np.float32)
        p = float(self.booster.inplace_predict(x)[0])
        return {"fraud_probability": p, "decision": self._decide(p)}

    def frame(self, df: pd.DataFrame) -> pd.DataFrame:
        x = np.empty((len(df), 7), dtype=np.float32)
        x[:, :5] = df[self.NUMERIC].to_numpy(np.float32, na_value=np.nan)
        x[:, 5] = df["country"].map(self.country).fillna(len(self.country)).to_numpy(np.float32)
        x[:, 6] = df["channel"].map(self.channel).fillna(len(self.channel)).to_numpy(np.float32)
        p = self.booster.inplace_predict(x).astype(np.float64)
        decision = np.select([p >= 0.5, p >= 0.2, np.isnan(p)], ["block", "review", "review"], "allow")
        return df.assign(fraud_probability=p, decision=decision)


def bench_fraud(a, out: Path, exe: Path | None, checks: list[str], skipped: list[str]) -> list[Result]:
    import scorewell

    s = scorewell.load(str(FRAUD_BUNDLE))
    api = scorewell_api(s)
    inputs = list(s.inputs)
    df = fraud_rows(max(a.calls, a.batch_rows))[inputs]
    table = pa.Table.from_pandas(df, preserve_index=False)
    dicts = row_dicts(df, inputs)
    n = len(pd.read_csv(FRAUD_ROWS))
    by_hand = FraudByHand()

    # Gate: the CSV's own rows, every path the same bits, and xgboost's probabilities
    # (examples/fraud/expected.csv) within 1e-6.
    g = df.iloc[:n]
    ref = s.score(g)
    p, dec = ref["fraud_probability"].to_numpy(), ref["decision"].tolist()
    got = {"score(Table)": s.score(table.slice(0, n)).to_pandas()}
    got["score(1-row DataFrame)"] = pd.concat([s.score(g.iloc[i : i + 1]) for i in range(200)])
    if api["score_one"]:
        got["score_one"] = pd.DataFrame([s.score_one(d) for d in dicts[:n]])
    if api["score_rows"]:
        got["score_rows"] = pd.DataFrame(s.score_rows(dicts[:n]))
    got["by hand (python + xgboost)"] = by_hand.frame(g)
    for name, frame in got.items():
        k = len(frame)
        if name.startswith("by hand"):
            require_close("fraud: by-hand pipeline vs scorewell", frame["fraud_probability"], p, LIB_TOL)
        elif not same_bits(frame["fraud_probability"], p[:k]):
            raise SystemExit(f"correctness gate: fraud: scorewell {name} differs from score(DataFrame); not benchmarking")
        if frame["decision"].tolist() != dec[:k]:
            raise SystemExit(f"correctness gate: fraud: {name} decisions differ from score(DataFrame); not benchmarking")
    one = [by_hand.one(d) for d in dicts[:200]]
    require_close("fraud: by-hand single row vs scorewell", [o["fraud_probability"] for o in one], p[:200], LIB_TOL)
    expected = pd.read_csv(FRAUD_EXPECTED)["prediction"].to_numpy()
    d = require_close("fraud: scorewell vs xgboost (expected.csv)", p, expected, LIB_TOL)
    checks.append(f"fraud: every scorewell path gives the same fraud_probability bits and decisions on {n:,} rows; "
                  f"vs xgboost (examples/fraud/expected.csv): max abs diff {d:.1e} (tolerance {LIB_TOL:g}); "
                  f"the by-hand pipeline agrees within {LIB_TOL:g}")
    parquet = None
    if exe is not None:
        parquet = write_rows(table, out / f"fraud_rows_{len(df)}.parquet")
        checks.append(engine_check(exe, FRAUD_BUNDLE, parquet, p, "fraud_probability", "fraud"))

    log(f"fraud: timing ({a.calls} single-row calls after {a.warmup} warm-up; batch {a.batch_rows} rows, best of {a.repeat})")
    n1 = a.calls
    paths = []
    if api["score_one"]:
        paths.append(Call("scorewell score_one", "dict", True, one=s.score_one, one_items=dicts[:n1]))
    if api["score_rows"]:
        paths.append(Call("scorewell score_rows", "", True, batch=s.score_rows, batch_arg=dicts[: a.batch_rows],
                          batch_input="list of dicts"))
    paths.append(Call("scorewell score(DataFrame)", "1-row DataFrame", True,
                      one=s.score, one_items=[df.iloc[i : i + 1] for i in range(n1)],
                      batch=s.score, batch_arg=df.iloc[: a.batch_rows], batch_input="DataFrame"))
    paths.append(Call("scorewell score(Table)", "1-row Table", True,
                      one=s.score, one_items=[table.slice(i, 1) for i in range(n1)],
                      batch=s.score, batch_arg=table.slice(0, a.batch_rows), batch_input="Table"))
    paths.append(Call("by hand: python + xgboost inplace_predict", "dict", False,
                      one=by_hand.one, one_items=dicts[:n1],
                      batch=by_hand.frame, batch_arg=df.iloc[: a.batch_rows], batch_input="DataFrame"))
    results = run_paths("fraud", "transactions", paths, a)
    if parquet is not None:
        try:
            sw = engine_bench(exe, FRAUD_BUNDLE, parquet, a)
            results.append(engine_result("fraud", "transactions", sw, a))
        except RuntimeError as e:
            skipped.append(f"fraud: engine alone: {e}")
    return results


# --------------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------------


def version(module: str, dist: str | None = None) -> str:
    try:
        mod = __import__(module)
        v = getattr(mod, "__version__", None)
        return v or importlib.metadata.version(dist or module)
    except Exception:
        return "not installed"


def environment(built: str, load_before: str) -> dict[str, str]:
    cpu = "?"
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                   if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        import scorewell

        where = Path(scorewell.__file__).parent
        where_s = str(where.relative_to(ROOT)) if where.is_relative_to(ROOT) else str(where)
        sw = f"{scorewell.__version__} ({where_s})"
    except ImportError:
        sw = "not installed"
    return {
        "scorewell package": sw,
        "scorewell engine binary": f"target/release/scorewell, built {built}" if built != "missing" else "missing",
        "git": core.git_rev(),
        "load average": f"{load_before} before, {core.loadavg()} after (1/5/15 min)",
        "python": f"{platform.python_version()} ({sys.executable})",
        "numpy": version("numpy"),
        "pandas": version("pandas"),
        "pyarrow": version("pyarrow"),
        "xgboost": version("xgboost", "xgboost-cpu"),
        "lightgbm": version("lightgbm"),
        "onnxruntime": version("onnxruntime"),
        "onnx": version("onnx"),
        "onnxmltools": version("onnxmltools"),
        "lleaves": version("lleaves"),
        "llvmlite": version("llvmlite"),
        # Not `nproc`: it honours the OMP_NUM_THREADS=1 this script sets.
        "nproc": str(len(os.sched_getaffinity(0))),
        "cpu": cpu,
        "os": f"{platform.system()} {platform.release()}",
    }


def fmt_us(x: float) -> str:
    return "–" if x != x else (f"{x:.1f}" if x < 100 else f"{x:,.0f}")


def fmt_rate(x: float) -> str:
    if x != x:
        return "–"
    return f"{x / 1e6:.2f} M" if x >= 1e6 else f"{x / 1e3:.0f} k"


def render(a, env, checks, skipped, results: list[Result], total_s: float) -> str:
    L = [f"# scorewell online scoring from Python, {_dt.date.today().isoformat()}", ""]
    args = " ".join(sys.argv[1:])
    py = Path(sys.executable)
    py_s = str(py.relative_to(ROOT)) if py.is_relative_to(ROOT) else str(py)
    env_s = f"PYTHONPATH={os.environ['PYTHONPATH']} " if os.environ.get("PYTHONPATH") else ""
    L += [f"Command: `{env_s}{py_s} bench/python-online/run.py{' ' + args if args else ''}`", ""]
    L.append(
        f"One process, one thread for everything (`RAYON_NUM_THREADS=1`, `OMP_NUM_THREADS=1`, XGBoost "
        f"`nthread` 1, LightGBM `num_threads=1`, ONNX Runtime intra/inter-op 1, lleaves `n_jobs=1`; the "
        f"engine with `--threads 1`). Single row: {a.warmup} warm-up calls, then {a.calls:,} timed calls, "
        f"each on its own row, each timed with `perf_counter_ns`, GC off in the timed loop. Batch: "
        f"{a.batch_rows:,} rows per call, best of {a.repeat} calls after 2 warm-up calls."
    )
    L.append("")
    L.append("Models:")
    L.append(f"- xgboost: {a.trees} trees, max_depth {a.depth}, binary:logistic, hist, {len(FEATURES)} float features, "
             f"trained on {a.train_rows:,} seeded rows of bench/run.py's generator")
    L.append(f"- lightgbm: {a.trees} trees, num_leaves {a.leaves}, binary, the same training rows")
    L.append("- fraud: examples/fraud/bundle (2 string indexers, XGBoost 50 trees depth 4, a decision) on "
             "examples/fraud/transactions.csv, repeated to fill the calls")
    L.append("")
    L.append("Data for the tree models: `project` = held-out rows of the training generator (3% NaN in 10 "
             f"columns); `normal` = seeded standard-normal rows, {NORMAL_NAN_RATE:.0%} NaN in every column. "
             "Dicts carry `None` for a missing value; the Tables keep NaN, as the engine's Parquet does.")
    L.append("")

    L += ["## Single-row latency (µs, 1 thread, lower is better)", ""]
    # "÷ engine": how much a Python path adds to the engine's own single-row time.
    engine_p50 = {(r.model, r.data): pct_of(r, 0.5) for r in results if r.engine}
    L += ["| model | data | path | input per call | p50 | p99 | mean | p50 ÷ engine p50 |",
          "|---|---|---|---|---:|---:|---:|---:|"]
    for r in results:
        if r.lat_us or r.engine:
            e = engine_p50.get((r.model, r.data), float("nan"))
            rel = pct_of(r, 0.5) / e
            L.append(f"| {r.model} | {r.data} | {r.path} | {r.input} | {fmt_us(pct_of(r, 0.5))} | "
                     f"{fmt_us(pct_of(r, 0.99))} | {fmt_us(mean_of(r))} | {'–' if rel != rel else f'{rel:.1f}x'} |")
    L.append("")

    L += ["## Single-row ratios (peer p50 ÷ scorewell p50; > 1 means scorewell is faster)", ""]
    groups: dict[tuple[str, str], list[Result]] = {}
    for r in results:
        groups.setdefault((r.model, r.data), []).append(r)
    sw_names = ["scorewell score_one", "scorewell predict", "scorewell score(DataFrame)", "scorewell score(Table)"]
    present = [n for n in sw_names if any(r.path == n and r.lat_us for r in results)]
    L.append("| model | data | peer | peer p50 µs | " + " | ".join(f"vs {n.removeprefix('scorewell ')}" for n in present) + " |")
    L.append("|---|---|---|---:|" + "---:|" * len(present))
    for (model, data), rs in groups.items():
        sw = {r.path: pct_of(r, 0.5) for r in rs if r.scorewell and r.lat_us}
        for peer in (r for r in rs if not r.scorewell and r.lat_us):
            p50 = pct_of(peer, 0.5)
            cells = [f"{p50 / sw[n]:.2f}x" if n in sw else "–" for n in present]
            L.append(f"| {model} | {data} | {peer.path} | {fmt_us(p50)} | " + " | ".join(cells) + " |")
    L.append("")

    L += [f"## Batch, {a.batch_rows:,} rows per call (rows/s, 1 thread, higher is better)", ""]
    L += ["| model | data | path | input | rows/s | ms per call |", "|---|---|---|---|---:|---:|"]
    for r in results:
        if r.batch_rows:
            L.append(f"| {r.model} | {r.data} | {r.path} | {r.batch_input} | {fmt_rate(r.rows_per_s)} | "
                     f"{r.batch_s * 1e3:.2f} |")
    L.append("")
    L.append("The engine-alone rows are `target/release/scorewell bench MODEL --input rows.parquet --threads 1 "
             f"--repeat {a.repeat} --single-rows {a.calls} --batch-rows {a.batch_rows}` on the same rows: Arrow "
             "RecordBatches already in memory, no Python; its batch figure is the best pass over all rows in "
             f"{a.batch_rows:,}-row batches, so its ms per call is derived from rows/s.")
    L.append("")

    L += ["## Correctness gate (before any timing)", ""]
    L += [f"- {c}" for c in checks]
    L.append("")
    if skipped:
        L += ["## Not measured", ""]
        L += [f"- {s}" for s in skipped]
        L.append("")
    L += ["## Environment", ""]
    L += [f"- {k}: {v}" for k, v in env.items()]
    L.append(f"- whole run: {total_s:.0f} s")
    L.append("")
    return "\n".join(L)


def write_report(a, report: str, results: list[Result], env: dict, checks, skipped) -> None:
    a.results.mkdir(parents=True, exist_ok=True)
    dest = a.results / f"python-online-{_dt.date.today().isoformat()}{'-quick' if a.quick else ''}.md"
    dest.write_text(report)
    raw = {
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(a).items()},
        "env": env, "checks": checks, "skipped": skipped,
        "results": [{
            "model": r.model, "data": r.data, "path": r.path, "input": r.input,
            "p50_us": pct_of(r, 0.5), "p99_us": pct_of(r, 0.99), "mean_us": mean_of(r),
            "batch_rows": r.batch_rows, "batch_best_s": r.batch_s, "rows_per_s": r.rows_per_s,
            **({"engine": r.engine} if r.engine else {}),
        } for r in results],
    }
    # JSON has no NaN: an unmeasured figure is null.
    clean = json.loads(json.dumps(raw, default=str).replace("NaN", "null"))
    dest.with_suffix(".json").write_text(json.dumps(clean, indent=1) + "\n")
    log(f"wrote {dest.relative_to(ROOT) if dest.is_relative_to(ROOT) else dest} (+ .json)")


# --------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="500 calls, 100 warm-up, 5 batch repeats (smoke test)")
    ap.add_argument("--calls", type=int, default=None, help="timed single-row calls per path (default 2000; --quick 500)")
    ap.add_argument("--warmup", type=int, default=None, help="untimed calls first (default 300; --quick 100)")
    ap.add_argument("--repeat", type=int, default=None, help="timed batch calls per path, best kept (default 30; --quick 5)")
    ap.add_argument("--batch-rows", type=int, default=1000, help="rows per batch call (default 1000)")
    ap.add_argument("--models", default="xgboost,lightgbm,fraud", help="any of xgboost,lightgbm,fraud")
    ap.add_argument("--data", default="project,normal", help="tree-model datasets: project,normal")
    ap.add_argument("--leaves", type=int, default=63, help="LightGBM num_leaves")
    ap.add_argument("--scorewell", type=Path, default=ROOT / "target" / "release" / "scorewell",
                    help="the CLI for the engine-alone numbers (skipped if missing)")
    shared.add_model_and_output_args(ap, BENCH / "out" / "python-online")
    a = ap.parse_args()
    a.calls = a.calls if a.calls is not None else (500 if a.quick else 2000)
    a.warmup = a.warmup if a.warmup is not None else (100 if a.quick else 300)
    a.repeat = a.repeat if a.repeat is not None else (5 if a.quick else 30)
    models = [m.strip() for m in a.models.split(",") if m.strip()]
    datasets = [d.strip() for d in a.data.split(",") if d.strip()]
    for m in models:
        if m not in ("xgboost", "lightgbm", "fraud"):
            raise SystemExit(f"unknown model {m!r} (xgboost, lightgbm, fraud)")
    for d in datasets:
        if d not in ("project", "normal"):
            raise SystemExit(f"unknown dataset {d!r} (project, normal)")
    if a.calls < 1 or a.batch_rows < 1 or a.repeat < 1:
        raise SystemExit("--calls, --batch-rows and --repeat must be at least 1")
    try:
        import scorewell  # noqa: F401
    except ImportError:
        raise SystemExit("scorewell is not importable: run bash bench/python-online/setup.sh "
                         "(installs target/wheels/scorewell-*.whl) or set PYTHONPATH=python")

    start = time.perf_counter()
    load_before = core.loadavg()
    a.out.mkdir(parents=True, exist_ok=True)
    checks: list[str] = []
    skipped: list[str] = []
    exe, built = engine_binary(a, a.out, skipped)
    paths = ensure_tree_models(a.out, a, models)
    # Every row a single-row loop visits, and at least one batch.
    data = tree_datasets(datasets, max(a.calls, a.batch_rows), a.seed) if paths else {}

    results: list[Result] = []
    for m in models:
        if m == "fraud":
            results += bench_fraud(a, a.out, exe, checks, skipped)
        else:
            results += bench_tree(m, paths[m], data, a, a.out, exe, checks, skipped)

    env = environment(built, load_before)
    report = render(a, env, checks, skipped, results, time.perf_counter() - start)
    print(report)
    if not a.no_write:
        write_report(a, report, results, env, checks, skipped)


if __name__ == "__main__":
    main()
