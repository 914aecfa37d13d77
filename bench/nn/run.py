#!/usr/bin/env python3
"""Neural networks (issue 11, part 5): scorewell against TensorFlow and ONNX Runtime on the same
Keras models and the same rows, in one run.

    bash bench/nn/setup.sh                              # .venv-bench-nn (TensorFlow, tf2onnx, ORT)
    bash scripts/setup-python-package.sh                # scorewell's Python package in .venv
    cargo build --release -p scorewell-cli              # or --build
    .venv-bench-nn/bin/python bench/nn/run.py           # ~6-8 min on 2 quiet cores; writes
                                                        # bench/results/nn-<date>.md (raw numbers:
                                                        # bench/out/nn/nn-<date>.json)
    .venv-bench-nn/bin/python bench/nn/run.py --quick   # small counts, prints only: a smoke test

Models (built by this script with seeded random weights, saved by TensorFlow's Keras 3 as
`.keras`, exported to ONNX by tf2onnx; cached in bench/out/nn/):
  mlp   Input features (50,) -> Dense 256 relu -> Dense 128 relu -> Dense 1 sigmoid
  lstm  Input tokens (100,) int32 -> Embedding(10000, 64, mask_zero=True) -> LSTM(64) -> Dense 1
  conv  Input signal (100, 16) -> Conv1D(64, 5, relu) -> MaxPooling1D(2) -> Conv1D(64, 3, relu)
        -> GlobalAveragePooling1D -> Dense 1
Data, two datasets per model (the summary quotes the lower ratio of the two):
  mlp, conv  "normal": seeded standard normal; "uniform": seeded uniform on [-3, 3]
  lstm       "right-pad": token ids then zeros, lengths uniform on 1..100;
             "left-pad": zeros then ids (Keras pad_sequences' default), short lengths
             (geometric, mean ~20, clipped to 1..100)
The scorewell side reads the same rows from Parquet: one list<float> column named as the Keras
input layer, each row the input tensor flattened row-major (token ids as whole floats).

Contenders, at each thread count (--threads, 1,2 by default):
  scorewell CLI     `scorewell bench MODEL.keras --input ROWS.parquet --threads N`: batch passes
                    over the rows in memory, and one-row Arrow batches through Scorer::score
                    (in process, no Python)
  scorewell Python  scorewell.load(path): .score(pa.Table) for batch, .score_one(dict) for one
                    row (a list of floats per input), in a subprocess under the project's .venv
                    with RAYON_NUM_THREADS=N
  TF eager          model(x, training=False).numpy(), a subprocess with TensorFlow's intra-op
                    threads N and inter-op 1
  TF predict        model.predict(x, batch_size=len(x), verbose=0), the same subprocess
  ONNX Runtime      InferenceSession on the tf2onnx export, intra_op_num_threads N,
                    inter_op_num_threads 1, sequential execution
Batch: --repeat passes of one call over all --rows rows (best and median rows/s). Single row:
up to --single calls, each on a 1-row input, cycling over the rows, stopped early after
--single-seconds (so a slow peer takes seconds, not minutes), after --warmup calls.

Parity first: Keras `predict` on the reloaded .keras file, on every benchmark row, is the
reference. scorewell (CLI `score` and Python `score`, plus `score_one` on the first rows) must be
within 1e-5 * (1 + |keras|) of it, or the model is not timed; ONNX Runtime within 1e-4 * (1 +
|keras|), or ONNX Runtime is not timed on that model. The report says which and why.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib.metadata
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "bench" / "out" / "nn"
RESULTS = ROOT / "bench" / "results"
SEED = 20261205

SW_TOL = 1e-5  # the conformance suite's tolerance: |a - keras| <= tol * (1 + |keras|)
ORT_TOL = 1e-4  # float32 graph rewritten by tf2onnx: its own op order and fusions

MODELS = {
    "mlp": {"input": "features", "shape": (50,), "dtype": "float32",
            "desc": "MLP 50 → 256 → 128 → 1 (relu, sigmoid out)"},
    "lstm": {"input": "tokens", "shape": (100,), "dtype": "int32",
             "desc": "Embedding(10000, 64, mask_zero) + LSTM(64) + Dense(1), 100 tokens"},
    "conv": {"input": "signal", "shape": (100, 16), "dtype": "float32",
             "desc": "Conv1D(64,5) → MaxPool(2) → Conv1D(64,3) → GlobalAvgPool → Dense(1), input (100, 16)"},
}
DATASETS = {"mlp": ["normal", "uniform"], "lstm": ["right-pad", "left-pad"], "conv": ["normal", "uniform"]}
VOCAB = 10000
# Rows per dataset: enough that one batch call takes milliseconds, not microseconds, for each model.
DEFAULT_ROWS = {"mlp": 16384, "lstm": 2048, "conv": 2048}

TF_EAGER, TF_PREDICT, TF_FUNCTION = "TF eager", "TF predict", "TF tf.function"
ORT, SW_CLI, SW_PY = "ONNX Runtime", "scorewell CLI", "scorewell Python"


def log(msg: str) -> None:
    print(f"[nn {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def busy_processes() -> int:
    """rustc/cargo/cc1/ld processes running now: other tenants' builds that slow every contender."""
    n = 0
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if (p / "comm").read_text().strip() in ("rustc", "cargo", "cc1", "cc1plus", "ld", "maturin"):
                    n += 1
            except OSError:
                pass
    return n


def version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def rel_err(got: np.ndarray, ref: np.ndarray) -> float:
    """max |got - ref| / (1 + |ref|): the conformance suite's measure. NaN where a shape differs."""
    got, ref = np.asarray(got, np.float64).reshape(-1), np.asarray(ref, np.float64).reshape(-1)
    if got.shape != ref.shape:
        return float("nan")
    return float(np.max(np.abs(got - ref) / (1.0 + np.abs(ref)))) if ref.size else 0.0


def latency(times_ns: list[int]) -> dict:
    a = np.asarray(times_ns, np.float64) / 1e3
    return {"p50_us": float(np.percentile(a, 50)), "p99_us": float(np.percentile(a, 99)),
            "mean_us": float(a.mean()), "calls": int(a.size)}


MIN_CALLS = 10  # a slow peer (TF eager LSTM: ~0.3 s a call) still gets this many timed calls


def time_single(call, rows: list, warmup: int, single: int, seconds: float) -> dict:
    """One-row calls cycling over `rows`: up to `single` calls or until `seconds` have passed
    (at least MIN_CALLS), after up to `warmup` untimed ones (at least 2; warm-up stops after a
    third of `seconds`, so a slow peer is not warmed up for longer than it is timed)."""
    deadline = time.perf_counter() + seconds / 3
    for i in range(min(warmup, single)):
        call(rows[i % len(rows)])
        if i >= 1 and time.perf_counter() > deadline:
            break
    times = []
    deadline = time.perf_counter() + seconds
    for i in range(single):
        t = time.perf_counter_ns()
        call(rows[i % len(rows)])
        times.append(time.perf_counter_ns() - t)
        if len(times) >= MIN_CALLS and time.perf_counter() > deadline:
            break
    return latency(times)


def time_batch(call, x, n_rows: int, repeat: int) -> dict:
    call(x)  # warm-up: graph tracing, buffers, thread pools
    secs = []
    for _ in range(repeat):
        t = time.perf_counter()
        call(x)
        secs.append(time.perf_counter() - t)
    return {"rows_per_s": n_rows / min(secs), "median_rows_per_s": n_rows / statistics.median(secs),
            "rows": n_rows, "passes": repeat}


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------


def make_rows(model: str, dataset: str, rows: int) -> np.ndarray:
    """Seeded rows for one model and dataset; the same seed whatever the model's row count."""
    spec = MODELS[model]
    seed = SEED + 1000 * list(MODELS).index(model) + DATASETS[model].index(dataset)
    rng = np.random.default_rng(seed)
    shape = (rows, *spec["shape"])
    if dataset == "normal":
        return rng.standard_normal(shape, dtype=np.float32)
    if dataset == "uniform":
        return rng.uniform(-3.0, 3.0, shape).astype(np.float32)
    steps = spec["shape"][0]
    if dataset == "right-pad":
        lengths = rng.integers(1, steps + 1, rows)
    else:
        lengths = np.clip(rng.geometric(1 / 20, rows), 1, steps)
    ids = rng.integers(1, VOCAB, (rows, steps), dtype=np.int32)
    pos = np.arange(steps)[None, :]
    used = pos < lengths[:, None] if dataset == "right-pad" else pos >= (steps - lengths)[:, None]
    return np.where(used, ids, 0).astype(np.int32)


def write_parquet(x: np.ndarray, column: str, path: Path) -> None:
    """One list<float> column, each row the input tensor flattened row-major."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    flat = np.ascontiguousarray(x.reshape(len(x), -1), dtype=np.float32)
    width = flat.shape[1]
    offsets = pa.array(np.arange(0, flat.size + 1, width, dtype=np.int32))
    col = pa.ListArray.from_arrays(offsets, pa.array(flat.reshape(-1), pa.float32()))
    tmp = path.with_suffix(".tmp")
    pq.write_table(pa.table({column: col}), tmp)
    os.replace(tmp, path)


def data_files(model: str, dataset: str, rows: int) -> tuple[Path, Path]:
    stem = OUT / f"{model}_{dataset}_{rows}_s{SEED}"
    npy, pq = stem.with_suffix(".npy"), stem.with_suffix(".parquet")
    if not (npy.exists() and pq.exists()):
        x = make_rows(model, dataset, rows)
        np.save(npy, x)
        write_parquet(x, MODELS[model]["input"], pq)
    return npy, pq


# --------------------------------------------------------------------------------------------
# workers (subprocesses): TensorFlow must be given its thread counts before it starts, and
# scorewell's Python package lives in the project's .venv
# --------------------------------------------------------------------------------------------


def tf_setup(threads: int):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras

    return tf, keras


def build_model(keras, name: str):
    spec = MODELS[name]
    keras.utils.set_random_seed(SEED + list(MODELS).index(name))
    inp = keras.Input(shape=spec["shape"], name=spec["input"], dtype=spec["dtype"])
    L = keras.layers
    if name == "mlp":
        h = L.Dense(256, activation="relu", name="dense_256")(inp)
        h = L.Dense(128, activation="relu", name="dense_128")(h)
        out = L.Dense(1, activation="sigmoid", name="score")(h)
    elif name == "lstm":
        h = L.Embedding(VOCAB, 64, mask_zero=True, name="embedding")(inp)
        h = L.LSTM(64, name="lstm")(h)
        out = L.Dense(1, name="score")(h)
    else:
        h = L.Conv1D(64, 5, activation="relu", name="conv_5")(inp)
        h = L.MaxPooling1D(2, name="pool")(h)
        h = L.Conv1D(64, 3, activation="relu", name="conv_3")(h)
        h = L.GlobalAveragePooling1D(name="gap")(h)
        out = L.Dense(1, name="score")(h)
    model = keras.Model(inp, out, name=name)
    # Glorot/orthogonal initial values, and non-zero biases so every weight tensor matters.
    rng = np.random.default_rng(SEED + 7)
    for layer in model.layers:
        for w in layer.weights:
            if w.path.endswith("bias"):
                w.assign(rng.normal(0, 0.1, w.shape).astype("float32"))
    return model


def export_onnx(tf, model, spec: dict, path: Path) -> str:
    """tf2onnx from a tf.function over the Keras call (from_keras needs tf.keras 2 objects)."""
    import tf2onnx

    sig = [tf.TensorSpec((None, *spec["shape"]), spec["dtype"], name=spec["input"])]

    @tf.function(input_signature=sig)
    def serve(x):
        return {"score": model(x, training=False)}

    tf2onnx.convert.from_function(serve, input_signature=sig, opset=17, output_path=str(path))
    return "tf2onnx.convert.from_function(model(x, training=False)), opset 17"


def worker_build(args) -> dict:
    """Builds and saves the models that are missing, exports them to ONNX, then computes the
    reference outputs: Keras predict on the reloaded .keras file, on every benchmark row."""
    tf, keras = tf_setup(max(args.threads_list))
    res = {}
    for name in args.models_list:
        keras_path, onnx_path = OUT / f"{name}_s{SEED}.keras", OUT / f"{name}_s{SEED}.onnx"
        info = {}
        if not (keras_path.exists() and onnx_path.exists()):
            t = time.perf_counter()
            model = build_model(keras, name)
            model.save(keras_path)
            info["onnx_export"] = export_onnx(tf, model, MODELS[name], onnx_path)
            info["build_s"] = time.perf_counter() - t
        t = time.perf_counter()
        model = keras.saving.load_model(keras_path)
        info["tf_load_ms"] = (time.perf_counter() - t) * 1e3
        info["params"] = int(model.count_params())
        for ds in DATASETS[name]:
            npy, _ = data_files(name, ds, args.rows_map[name])
            ref = model.predict(np.load(npy), batch_size=256, verbose=0)
            np.save(OUT / f"ref_{name}_{ds}_{args.rows_map[name]}.npy", ref.astype(np.float64))
        res[name] = info
    return res


def worker_tf(args) -> dict:
    tf, keras = tf_setup(args.threads_list[0])
    res = {}
    for name in args.models_list:
        model = keras.saving.load_model(OUT / f"{name}_s{SEED}.keras")
        for ds in DATASETS[name]:
            x = np.load(data_files(name, ds, args.rows_map[name])[0])
            ones = [x[i : i + 1] for i in range(min(len(x), args.single))]
            eager = lambda v: model(v, training=False).numpy()  # noqa: E731
            pred = lambda v: model.predict(v, batch_size=len(v), verbose=0)  # noqa: E731
            r = {}
            log(f"  TF t={args.threads_list[0]} {name}/{ds}: eager")
            r[TF_EAGER] = {"single": time_single(eager, ones, args.warmup, args.single, args.single_seconds),
                           "batch": time_batch(eager, x, len(x), args.repeat)}
            log(f"  TF t={args.threads_list[0]} {name}/{ds}: predict")
            r[TF_PREDICT] = {"single": time_single(pred, ones, args.warmup, args.single, args.single_seconds),
                             "batch": time_batch(pred, x, len(x), args.repeat)}
            # Not a bar: the same call traced into a graph, what a server that wraps the model
            # in tf.function gets (one trace per input shape, made in the warm-up).
            fn = tf.function(lambda v: model(v, training=False))
            graph = lambda v: fn(tf.constant(v)).numpy()  # noqa: E731
            log(f"  TF t={args.threads_list[0]} {name}/{ds}: tf.function")
            r[TF_FUNCTION] = {"single": time_single(graph, ones, args.warmup, args.single, args.single_seconds),
                              "batch": time_batch(graph, x, len(x), args.repeat)}
            res[f"{name}/{ds}"] = r
    return res


def sw_rows(x: np.ndarray, column: str, n: int) -> list[dict]:
    return [{column: [float(v) for v in x[i].reshape(-1)]} for i in range(min(len(x), n))]


def sw_table(x: np.ndarray, column: str):
    import pyarrow as pa

    flat = np.ascontiguousarray(x.reshape(len(x), -1), dtype=np.float32)
    offsets = pa.array(np.arange(0, flat.size + 1, flat.shape[1], dtype=np.int32))
    return pa.table({column: pa.ListArray.from_arrays(offsets, pa.array(flat.reshape(-1), pa.float32()))})


def worker_swpy(args) -> dict:
    """scorewell's Python package: in parity mode the outputs, else the timings."""
    import scorewell

    res = {"version": scorewell.__version__, "module": scorewell.__file__}
    for name in args.models_list:
        col = MODELS[name]["input"]
        t = time.perf_counter()
        scorer = scorewell.load(str(OUT / f"{name}_s{SEED}.keras"))
        res[f"{name}/load_ms"] = (time.perf_counter() - t) * 1e3
        for ds in DATASETS[name]:
            x = np.load(data_files(name, ds, args.rows_map[name])[0])
            table = sw_table(x, col)
            if args.parity:
                got = scorer.score(table).column("prediction").to_numpy()
                ones = [scorer.score_one(r)["prediction"] for r in sw_rows(x, col, args.parity_one)]
                np.save(OUT / f"swpy_{name}_{ds}_{args.rows_map[name]}.npy", np.asarray(got, np.float64))
                np.save(OUT / f"swpy1_{name}_{ds}_{args.rows_map[name]}.npy", np.asarray(ones, np.float64))
                continue
            rows = sw_rows(x, col, args.single)
            res[f"{name}/{ds}"] = {SW_PY: {
                "single": time_single(scorer.score_one, rows, args.warmup, args.single, args.single_seconds),
                "batch": time_batch(scorer.score, table, len(x), args.repeat)}}
    return res


WORKERS = {"build": worker_build, "tf": worker_tf, "swpy": worker_swpy}


def run_worker(kind: str, python: str, a, threads: int, models: list[str], extra: list[str] = (), env=None) -> dict:
    out = OUT / f"worker_{kind}_{threads}.json"
    out.unlink(missing_ok=True)
    cmd = [python, str(Path(__file__).resolve()), "--worker", kind, "--worker-out", str(out),
           "--threads", str(threads), "--models", ",".join(models), "--rows", a.rows,
           "--single", str(a.single), "--single-seconds", str(a.single_seconds),
           "--warmup", str(a.warmup), "--repeat", str(a.repeat), *extra]
    log("  $ " + shlex.join(cmd[1:]))
    env = dict(os.environ, **(env or {}))
    res = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if res.returncode != 0 or not out.exists():
        raise RuntimeError(f"worker {kind} (threads {threads}) exited {res.returncode}:\n{res.stderr[-3000:]}")
    return json.loads(out.read_text())


# --------------------------------------------------------------------------------------------
# ONNX Runtime (in this process: each session has its own thread pool) and the CLI
# --------------------------------------------------------------------------------------------


def ort_session(name: str, threads: int):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(str(OUT / f"{name}_s{SEED}.onnx"), so, providers=["CPUExecutionProvider"])


def ort_call(sess):
    feed = sess.get_inputs()[0].name
    return lambda v: sess.run(None, {feed: v})[0]


def time_ort(name: str, ds: str, a, threads: int) -> dict:
    sess = ort_session(name, threads)
    x = np.load(data_files(name, ds, a.rows_map[name])[0])
    call = ort_call(sess)
    ones = [x[i : i + 1] for i in range(min(len(x), a.single))]
    return {ORT: {"single": time_single(call, ones, a.warmup, a.single, a.single_seconds),
                  "batch": time_batch(call, x, len(x), a.repeat)}}


def cli_score(exe: Path, model: Path, src: Path) -> np.ndarray:
    import pyarrow.parquet as pq

    dst = src.with_name(src.stem + "_scored.parquet")
    cmd = [str(exe), "score", str(model), "--input", str(src), "--output", str(dst), "--quiet"]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        last = (res.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise RuntimeError(f"`scorewell score` exited {res.returncode}: {last[-400:]}")
    return pq.read_table(dst, columns=["prediction"]).column("prediction").to_numpy()


def cli_bench(exe: Path, name: str, src: Path, a, threads: int) -> dict:
    model = OUT / f"{name}_s{SEED}.keras"
    cmd = [str(exe), "bench", str(model), "--input", str(src), "--threads", str(threads),
           "--repeat", str(a.repeat), "--single-rows", str(a.cli_single), "--batch-rows", str(a.rows_map[name])]
    log("  $ " + shlex.join(cmd))
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"`scorewell {shlex.join(cmd[1:])}` exited {res.returncode}: {res.stderr.strip()[-2000:]}")
    j = json.loads([l for l in res.stdout.splitlines() if l.strip().startswith("{")][-1])
    nan = lambda v: float("nan") if v is None else float(v)  # noqa: E731
    return {SW_CLI: {
        "single": {"p50_us": nan(j.get("latency_p50_us")), "p99_us": nan(j.get("latency_p99_us")),
                   "mean_us": nan(j.get("latency_mean_us")), "calls": j.get("single_rows")},
        "batch": {"rows_per_s": nan(j.get("rows_per_s")), "rows": j.get("rows"), "passes": a.repeat,
                  "median_rows_per_s": j["rows"] / j["batch_median_s"] if j.get("batch_median_s") else float("nan")},
        "load_ms": j.get("load_ms")}}


def scorewell_binary(a) -> tuple[Path, Path]:
    """target/release/scorewell, built when missing, older than the sources, or --build; timed as
    a copy so a rebuild during the run cannot mix builds."""
    exe = Path(a.scorewell) if a.scorewell else ROOT / "target" / "release" / "scorewell"
    if not a.scorewell:
        newest = max((p.stat().st_mtime for d in ("crates",) for p in (ROOT / d).rglob("*")
                      if p.is_file() and p.suffix in (".rs", ".toml")), default=0.0)
        newest = max(newest, (ROOT / "Cargo.lock").stat().st_mtime)
        stale = not exe.exists() or exe.stat().st_mtime < newest
        if a.build or stale:
            log("building target/release/scorewell (" + ("--build" if a.build else "missing or older than the sources") + ")")
            subprocess.run(["cargo", "build", "--release", "-p", "scorewell-cli"], cwd=ROOT, check=True)
    if not exe.exists():
        raise SystemExit(f"no scorewell binary at {exe}")
    snap = OUT / f"scorewell-{int(exe.stat().st_mtime)}"
    if not snap.exists():
        shutil.copy2(exe, snap)
    return exe, snap


# --------------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------------


def best(rounds: list[dict]) -> dict:
    """Each statistic's best round: noise from other tenants only ever slows a run."""
    single = [r["single"] for r in rounds]
    batch = [r["batch"] for r in rounds]
    pick = min(single, key=lambda s: s["p50_us"] if s["p50_us"] == s["p50_us"] else float("inf"))
    return {"single": pick, "batch": max(batch, key=lambda b: b["rows_per_s"]),
            "batch_rounds": [b["rows_per_s"] for b in batch], "p50_rounds": [s["p50_us"] for s in single]}


def fmt_us(v) -> str:
    if v is None or v != v:
        return "—"
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}"


def fmt_rate(v) -> str:
    return "—" if v is None or v != v else f"{v:,.0f}"


def fmt_ratio(v) -> str:
    return "—" if v is None or v != v else (f"{v:.1f}×" if v >= 10 else f"{v:.2f}×")


def render(a, env: dict, built: dict, parity: dict, skipped: dict, results: dict, total_s: float) -> tuple[str, list]:
    L = []
    L.append(f"# Neural networks: scorewell vs TensorFlow and ONNX Runtime ({a.date})\n")
    L.append(f"`bench/nn/run.py` (issue 11, part 5): rows per dataset {', '.join(f'{m} {a.rows_map[m]:,}' for m in a.models_list)}, threads {a.threads}, "
             f"{a.rounds} round(s), batch best of {a.repeat} passes, single row up to {a.single:,} calls "
             f"or {a.single_seconds:g} s per contender (scorewell CLI: {a.cli_single:,} calls), "
             f"{a.warmup} warm-up calls. Whole run {total_s / 60:.1f} min.\n")
    if a.note:
        L.append(f"**Note:** {a.note}\n")
    L.append("## Machine\n")
    for k, v in env.items():
        L.append(f"- {k}: {v}")
    L.append("")
    L.append("## Models and parity\n")
    L.append("Reference: Keras `predict` on the reloaded `.keras` file, every benchmark row. Error is "
             "max |x − keras| / (1 + |keras|); scorewell must be ≤ 1e-5 or the model is not timed, "
             "ONNX Runtime ≤ 1e-4 or it is not timed on that model.\n")
    L.append("| model | params | dataset | scorewell CLI `score` | scorewell Python `score` | `score_one` (first rows) | ONNX Runtime | timed |")
    L.append("|---|---|---|---|---|---|---|---|")
    for name in a.models_list:
        for ds in DATASETS[name]:
            p = parity.get(f"{name}/{ds}", {})
            e = lambda k: "—" if k not in p else (f"{p[k]:.1e}" if p[k] == p[k] else "failed")  # noqa: E731
            timed = "**no** (below)" if name in skipped else ("yes" + (", not ONNX Runtime (below)" if f"{name}/ort" in skipped else ""))
            L.append(f"| {name} | {built.get(name, {}).get('params', '?'):,} | {ds} | {e('cli')} | {e('py')} | {e('py1')} | {e('ort')} | {timed} |")
    L.append("")
    for name in a.models_list:
        L.append(f"- **{name}**: {MODELS[name]['desc']}; input column `{MODELS[name]['input']}`.")
        if f"{name}/ort" in skipped:
            L.append(f"  ONNX Runtime not timed: {skipped[f'{name}/ort']}")
        if name in skipped:
            L.append(f"  Not timed: {skipped[name]}")
    L.append("")

    L.append("## Results\n")
    L.append("Single row: p50 / p99 µs per call. Batch: rows/s, one call over all rows, best pass of "
             "the best round. The two × columns compare each row with the scorewell CLI row above it "
             "(the peer's p50 over scorewell's; scorewell's rows/s over the peer's): above 1× means "
             "the scorewell engine is faster.\n")
    contenders = [SW_CLI, SW_PY, ORT, TF_EAGER, TF_PREDICT, TF_FUNCTION]
    for name in a.models_list:
        if name in skipped:
            continue
        L.append(f"### {name}: {MODELS[name]['desc']}\n")
        L.append("| dataset | threads | contender | 1 row p50 µs | 1 row p99 µs | calls | p50 × | batch rows/s | batch × | batch rounds |")
        L.append("|---|---|---|---|---|---|---|---|---|---|")
        for ds in DATASETS[name]:
            for t in a.threads_list:
                r = results.get((name, ds, t), {})
                for c in contenders:
                    if c not in r:
                        continue
                    b = r[c]
                    sw = r.get(SW_CLI)
                    lat_x = b["single"]["p50_us"] / sw["single"]["p50_us"] if sw and c != SW_CLI else None
                    bat_x = sw["batch"]["rows_per_s"] / b["batch"]["rows_per_s"] if sw and c != SW_CLI else None
                    L.append(f"| {ds} | {t} | {c} | {fmt_us(b['single']['p50_us'])} | {fmt_us(b['single']['p99_us'])} | "
                             f"{b['single'].get('calls', '?')} | {fmt_ratio(lat_x)} | {fmt_rate(b['batch']['rows_per_s'])} | {fmt_ratio(bat_x)} | "
                             + ", ".join(fmt_rate(x) for x in b["batch_rounds"]) + " |")
        L.append("")

    L.append("## Bars (issue 11)\n")
    L.append("The lower ratio of the two datasets is quoted (the other in brackets). Single-row bars "
             "apply to the MLP and the LSTM; the batch bar to every model.\n")
    L.append("| model | threads | scorewell | bar | ratio | met? |")
    L.append("|---|---|---|---|---|---|")
    bars = []
    for name in a.models_list:
        if name in skipped:
            continue
        for t in a.threads_list:
            for sw in (SW_CLI, SW_PY):
                checks = []
                if name in ("mlp", "lstm"):
                    checks.append(("1-row p50 ≤ 1/20 of TF eager", TF_EAGER, "single", 20.0))
                    checks.append(("1-row p50 ≤ ONNX Runtime", ORT, "single", 1.0))
                checks.append(("batch rows/s ≥ ONNX Runtime", ORT, "batch", 1.0))
                for label, peer, kind, need in checks:
                    ratios = []
                    for ds in DATASETS[name]:
                        r = results.get((name, ds, t), {})
                        if sw not in r or peer not in r:
                            continue
                        if kind == "single":
                            ratios.append((r[peer]["single"]["p50_us"] / r[sw]["single"]["p50_us"], ds))
                        else:
                            ratios.append((r[sw]["batch"]["rows_per_s"] / r[peer]["batch"]["rows_per_s"], ds))
                    ratios = [x for x in ratios if x[0] == x[0]]
                    if not ratios:
                        L.append(f"| {name} | {t} | {sw} | {label} | — | not measured |")
                        continue
                    ratios.sort()
                    low = ratios[0]
                    other = f" ({fmt_ratio(ratios[1][0])} {ratios[1][1]})" if len(ratios) > 1 else ""
                    met = "met" if low[0] >= need else "**missed**"
                    bars.append((name, t, sw, label, low[0], met))
                    L.append(f"| {name} | {t} | {sw} | {label} | {fmt_ratio(low[0])} {low[1]}{other} | {met} |")
    L.append("")
    L.append("## How it was measured\n")
    L.append("- scorewell CLI: `scorewell bench MODEL.keras --input ROWS.parquet --threads N --batch-rows ROWS`: "
             "batch = the rows in memory as Arrow through the bound scorer (Parquet decoding not timed); "
             "single row = one-row Arrow batches through `Scorer::score`, in process, no Python.")
    L.append("- scorewell Python: `scorewell.load(path)` from the project's `.venv`, a fresh process per "
             "thread count with `RAYON_NUM_THREADS=N`; batch = `.score(pa.Table)` with one list<float> "
             "column; single row = `.score_one({column: [floats]})` (the list built before timing).")
    L.append("- TensorFlow: a fresh process per thread count, `tf.config.threading` intra-op N, inter-op 1; "
             "`model(x, training=False).numpy()` (eager) and `model.predict(x, batch_size=len(x), verbose=0)`, "
             "each on a NumPy array (1 row for latency). Not a bar, for context: `tf.function` over the "
             "same call (traced once per input shape during the warm-up), `tf.constant(x)` in, `.numpy()` out. "
             "Keras 3 runs an LSTM's steps as a `tf.while_loop`, which eager mode executes op by op from "
             "Python: that is why the eager LSTM call is hundreds of times slower than the others.")
    L.append("- ONNX Runtime: `InferenceSession` on the tf2onnx export, `intra_op_num_threads` N, "
             "`inter_op_num_threads` 1, sequential, CPU provider, `run` on a NumPy array.")
    L.append("- Rounds take turns (each contender once per round, per thread count); each figure is its "
             "best round. The per-round batch rows/s are listed so the noise is visible.")
    L.append("- Python-side latencies (scorewell Python, TF, ORT) include the interpreter and binding "
             "per call; the scorewell CLI column is the engine alone, on one-row slices of the "
             "in-memory batch. A slice's cost should not depend on the batch it was cut from: if the "
             "CLI's p50 is above `score_one`'s, that is the slice being converted whole (a "
             "sliced list<float> column's whole child array), not the model.\n")
    return "\n".join(L) + "\n", bars


def environment(exe: Path, snap: Path, load_before: str, busy_before: int) -> dict:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    def sh(cmd):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=30)
            return r.stdout.strip() or "?"
        except (OSError, subprocess.TimeoutExpired):
            return "?"

    dirty = sh(["git", "status", "--porcelain", "--untracked-files=no"])
    return {
        "cores (nproc)": sh(["nproc"]),
        "cpu": cpu,
        "load average (1/5/15 min) before → after": f"{load_before} → {loadavg()}",
        "rustc/cargo/cc1/ld processes before → after": f"{busy_before} → {busy_processes()}",
        "scorewell": f"{sh([str(exe), '--version'])}, git {sh(['git', 'rev-parse', '--short', 'HEAD'])}"
                     + (" (+uncommitted changes)" if dirty not in ("", "?") else ""),
        "scorewell binary": f"{exe}, built {_dt.datetime.fromtimestamp(snap.stat().st_mtime).isoformat(timespec='seconds')} (timed as a copy, {snap.name})",
        "TensorFlow / Keras": f"tensorflow-cpu {version('tensorflow-cpu')}, keras {version('keras')}",
        "tf2onnx / onnx / ONNX Runtime": f"{version('tf2onnx')} / {version('onnx')} / {version('onnxruntime')}",
        "numpy / pyarrow / python": f"{np.__version__} / {version('pyarrow')} / {platform.python_version()}",
    }


# --------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", default=",".join(f"{m}={n}" for m, n in DEFAULT_ROWS.items()),
                    help="rows per dataset, timed in one batch call: N for every model, or per model "
                         "(default %(default)s)")
    ap.add_argument("--threads", default="1,2", help="thread counts (default 1,2)")
    ap.add_argument("--models", default="mlp,lstm,conv")
    ap.add_argument("--rounds", type=int, default=2, help="rounds, contenders taking turns (default 2)")
    ap.add_argument("--repeat", type=int, default=3, help="batch passes per round (default 3)")
    ap.add_argument("--single", type=int, default=2000, help="max one-row calls per contender and round (default 2000)")
    ap.add_argument("--single-seconds", type=float, default=1.0, help="stop one-row calls after this long (default 1.0)")
    ap.add_argument("--cli-single", type=int, default=2000, help="`scorewell bench --single-rows` (default 2000)")
    ap.add_argument("--warmup", type=int, default=20, help="untimed one-row calls first (default 20)")
    ap.add_argument("--quick", action="store_true", help="512 rows, 1 round, 1 pass, 200 single calls; prints only")
    ap.add_argument("--scorewell", help="time this binary instead of target/release/scorewell")
    ap.add_argument("--build", action="store_true", help="cargo build --release -p scorewell-cli first")
    ap.add_argument("--sw-python", default=str(ROOT / ".venv" / "bin" / "python"),
                    help="the Python that imports scorewell (default: the project's .venv)")
    ap.add_argument("--no-write", action="store_true", help="print the report only")
    ap.add_argument("--results", default=str(RESULTS), help="folder for nn-<date>.md")
    ap.add_argument("--note", help="a line for the top of the report (e.g. why this run is not one to cite)")
    ap.add_argument("--date", default=_dt.date.today().isoformat(), help="date in the results file name")
    ap.add_argument("--worker", choices=list(WORKERS), help=argparse.SUPPRESS)
    ap.add_argument("--worker-out", help=argparse.SUPPRESS)
    ap.add_argument("--parity", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--parity-one", type=int, default=50, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.quick:
        a.rows, a.rounds, a.repeat, a.single, a.cli_single, a.warmup = "512", 1, 1, 200, 500, 5
        a.single_seconds = min(a.single_seconds, 0.5)
        a.no_write = a.no_write or not any(x.startswith("--results") for x in (argv or sys.argv))
    a.threads_list = [int(t) for t in str(a.threads).split(",")]
    a.rows_map = {m: int(a.rows) for m in MODELS} if "=" not in a.rows else dict(DEFAULT_ROWS)
    if "=" in a.rows:
        for part in a.rows.split(","):
            m, _, n = part.partition("=")
            if m not in MODELS:
                ap.error(f"--rows: unknown model {m!r}")
            a.rows_map[m] = int(n)
    a.models_list = [m for m in a.models.split(",") if m]
    bad = [m for m in a.models_list if m not in MODELS]
    if bad:
        ap.error(f"unknown model(s) {bad}; known: {list(MODELS)}")
    return a


def main() -> None:
    a = parse_args()
    if a.worker:
        res = WORKERS[a.worker](a)
        Path(a.worker_out).write_text(json.dumps(res))
        return
    started = time.perf_counter()
    OUT.mkdir(parents=True, exist_ok=True)
    load_before, busy_before = loadavg(), busy_processes()
    log(f"load average {load_before}, {busy_before} build processes, {os.cpu_count()} cores")
    exe, snap = scorewell_binary(a)
    for name in a.models_list:
        for ds in DATASETS[name]:
            data_files(name, ds, a.rows_map[name])

    log("models: build/load, ONNX export, Keras predict references")
    built = run_worker("build", sys.executable, a, max(a.threads_list), a.models_list)

    # ---- parity
    parity, skipped = {}, {}
    log("parity: scorewell CLI score, scorewell Python, ONNX Runtime against Keras predict")
    try:
        run_worker("swpy", a.sw_python, a, 1, a.models_list, ["--parity"], env={"RAYON_NUM_THREADS": "1"})
        swpy_ok = True
    except RuntimeError as e:
        swpy_ok = False
        swpy_err = str(e).strip().splitlines()[-1][:300]
        log(f"scorewell Python unavailable: {swpy_err}")
    for name in a.models_list:
        why = []
        for ds in DATASETS[name]:
            npy, pq = data_files(name, ds, a.rows_map[name])
            ref = np.load(OUT / f"ref_{name}_{ds}_{a.rows_map[name]}.npy").reshape(-1)
            p = parity.setdefault(f"{name}/{ds}", {})
            try:
                p["cli"] = rel_err(cli_score(snap, OUT / f"{name}_s{SEED}.keras", pq), ref)
            except RuntimeError as e:
                why.append(f"{ds}: {e}")
                p["cli"] = float("nan")
            if swpy_ok:
                p["py"] = rel_err(np.load(OUT / f"swpy_{name}_{ds}_{a.rows_map[name]}.npy"), ref)
                py1 = np.load(OUT / f"swpy1_{name}_{ds}_{a.rows_map[name]}.npy")
                p["py1"] = rel_err(py1, ref[: len(py1)])
            for k in ("cli", "py", "py1"):
                if k in p and p[k] == p[k] and not p[k] <= SW_TOL:
                    why.append(f"{ds}: scorewell {k} error {p[k]:.2e} > {SW_TOL:g}")
            try:
                x = np.load(npy)
                p["ort"] = rel_err(ort_call(ort_session(name, 1))(x), ref)
                if not p["ort"] <= ORT_TOL:
                    skipped[f"{name}/ort"] = f"{ds}: error {p['ort']:.2e} > {ORT_TOL:g}"
            except Exception as e:  # noqa: BLE001  (any ORT failure: say it, time the rest)
                skipped[f"{name}/ort"] = f"{type(e).__name__}: {str(e)[:300]}"
        if why:
            skipped[name] = "; ".join(why)
            log(f"{name}: NOT timed: {skipped[name]}")
    timed = [m for m in a.models_list if m not in skipped]
    if not swpy_ok:
        skipped["scorewell Python"] = swpy_err

    # ---- timings: rounds, each contender taking its turn at each thread count
    rounds: dict[tuple, dict[str, list]] = {}
    for rnd in range(a.rounds):
        for t in a.threads_list:
            log(f"round {rnd + 1}/{a.rounds}, {t} thread(s)")
            if not timed:
                break
            for name in timed:
                for ds in DATASETS[name]:
                    acc = rounds.setdefault((name, ds, t), {})
                    for c, v in cli_bench(snap, name, data_files(name, ds, a.rows_map[name])[1], a, t).items():
                        acc.setdefault(c, []).append(v)
                    if f"{name}/ort" not in skipped:
                        log(f"  ORT t={t} {name}/{ds}")
                        for c, v in time_ort(name, ds, a, t).items():
                            acc.setdefault(c, []).append(v)
            if swpy_ok:
                res = run_worker("swpy", a.sw_python, a, t, timed, env={"RAYON_NUM_THREADS": str(t)})
                for key, v in res.items():
                    if "/" in key and not key.endswith("load_ms"):
                        name, ds = key.split("/")
                        for c, vv in v.items():
                            rounds[(name, ds, t)].setdefault(c, []).append(vv)
            res = run_worker("tf", sys.executable, a, t, timed,
                             env={"OMP_NUM_THREADS": str(t), "TF_NUM_INTRAOP_THREADS": str(t), "TF_NUM_INTEROP_THREADS": "1"})
            for key, v in res.items():
                name, ds = key.split("/")
                for c, vv in v.items():
                    rounds[(name, ds, t)].setdefault(c, []).append(vv)
    results = {k: {c: best(v) for c, v in cs.items()} for k, cs in rounds.items()}

    total = time.perf_counter() - started
    env = environment(exe, snap, load_before, busy_before)
    env["models"] = "; ".join(f"{n}: {b.get('params', '?'):,} params, TF load {b.get('tf_load_ms', 0):.0f} ms"
                              + (f", built now in {b['build_s']:.1f} s" if "build_s" in b else ", cached")
                              for n, b in built.items())
    if "scorewell Python" in skipped:
        env["scorewell Python"] = f"not timed: {skipped['scorewell Python']}"
    md, bars = render(a, env, built, parity, skipped, results, total)
    print(md)
    if not a.no_write:
        dst = Path(a.results)
        dst.mkdir(parents=True, exist_ok=True)
        (dst / f"nn-{a.date}.md").write_text(md)
        raw = {"args": {k: v for k, v in vars(a).items() if not k.startswith("worker")}, "env": env,
               "parity": parity, "skipped": skipped, "built": built,
               "results": {f"{n}/{d}/t{t}": v for (n, d, t), v in results.items()},
               "bars": [dict(zip(("model", "threads", "scorewell", "bar", "ratio", "met"), b)) for b in bars]}
        # The raw numbers stay beside the models (bench/out is not committed): the report is the record.
        (OUT / f"nn-{a.date}.json").write_text(json.dumps(raw, indent=1, default=str) + "\n")
        log(f"wrote {dst / f'nn-{a.date}.md'} and {OUT / f'nn-{a.date}.json'}")
    log(f"done in {total / 60:.1f} min")


if __name__ == "__main__":
    main()
