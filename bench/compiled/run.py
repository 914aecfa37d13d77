#!/usr/bin/env python3
"""Compiled forests (issue 19): scorewell against the tree compilers and runtimes people reach
for when a library's own predict is too slow. Same model files, same rows, one run, ratios
against each peer measured in that run.

    bash bench/compiled/setup.sh                                  # .venv-bench-compiled
    .venv-bench-compiled/bin/python bench/compiled/run.py         # 300k rows; writes
                                                                  # bench/results/compiled-<date>.md
    .venv-bench-compiled/bin/python bench/compiled/run.py --quick # 50k rows, prints only
    .venv-bench-compiled/bin/python bench/compiled/run.py --quick --trees 50 --rf-trees 20

The first run trains the models (~6 min on a busy 2-core VM) and compiles them for lleaves
(~3 min) and tl2cgen (~1 min); all are cached in bench/out/compiled/, the compiled ones with the
time their first build took, which every report quotes. A --quick run after that takes ~5 min.

Models (bench/run.py's trainers and its seeded 30,000-row training sample):
  lightgbm  500 trees x 63 leaves, binary           LightGBM Booster.predict | lleaves (LLVM)
  xgboost   500 trees, max_depth 6, binary:logistic  XGBoost inplace_predict | treelite +
                                                     tl2cgen C code built with gcc
  sklearn   RandomForestRegressor, 100 trees,        scikit-learn predict | ONNX Runtime on the
            max_depth 12, saved with joblib          skl2onnx conversion
Data: held-out rows of bench/run.py's generator ("project") and seeded standard-normal rows with
5% NaN in every column ("normal"); the models are trained on project data only, both are scored.

Per model: a correctness gate on the first --check-rows rows of each dataset (`scorewell score`
against the library, which must pass, and against each compiled peer, whose max abs diff is
reported), then at each thread count, --rounds rounds taking turns: each peer in this process
(core.time_library: --repeat passes over all rows, then --single one-row calls at the first
thread count), and `scorewell bench` per engine. Each statistic is its best round's.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib.metadata
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
sys.path.insert(0, str(BENCH))
import shared  # noqa: E402  (bench/shared.py)

core = shared.load_core()
FEATURES = core.FEATURES
NORMAL_NAN_RATE = 0.05
CPUS = os.cpu_count() or 1

# Max abs diff allowed between a peer and scorewell in the gate, and why.
TOLERANCE = {
    "XGBoost": 0.0,  # scorewell reproduces XGBoost's float32 sums: the same bits
    "LightGBM": 1e-6,  # bench/run.py's tolerance (both sum in float64)
    "scikit-learn": 1e-12,  # bench/sklearn's: float64 means in tree order
    "lleaves": 1e-6,  # float64, but its own summation order: the last bits may differ
    "tl2cgen": 1e-6,  # float32 sums in its own order, then its own sigmoid
    "ONNX Runtime": 1e-4,  # TreeEnsemble thresholds and sums are float32 (python-online's)
}
# The library is the reference: scorewell must match it or nothing is timed. A compiled peer
# that misses its tolerance is still timed, and flagged in the report.
LIBRARY = {"lightgbm": "LightGBM", "xgboost": "XGBoost", "sklearn": "scikit-learn"}
COMPILED = {"lightgbm": "lleaves", "xgboost": "tl2cgen", "sklearn": "ONNX Runtime"}


def log(msg: str) -> None:
    print(f"[compiled {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


# --------------------------------------------------------------------------------------------
# builds cached with the time they first took
# --------------------------------------------------------------------------------------------


def cached_build(artifact: Path, build: Callable[[], dict | None], load: Callable[[], None] | None = None) -> dict:
    """Makes `artifact` with `build` unless it exists (then runs `load`, if any), timed. The
    first build's time, and whatever `build` returns, go into a sidecar file, so a rerun that
    only loads the cache still reports what compiling cost and on what machine state."""
    sidecar = artifact.with_name(artifact.name + ".build.json")
    built = not artifact.exists()
    t = time.perf_counter()
    extra = build() if built else (load() if load else None)
    seconds = time.perf_counter() - t
    if built:
        sidecar.write_text(json.dumps({
            "seconds": seconds, "when": _dt.datetime.now().isoformat(timespec="seconds"),
            "load_average": core.loadavg(), "nproc": CPUS, **(extra or {}),
        }) + "\n")
    first = json.loads(sidecar.read_text()) if sidecar.exists() else None
    return {"built_now": built, "this_run_s": seconds, "first": first}


# --------------------------------------------------------------------------------------------
# peers: what core.time_library drives (name, load_ms, set_threads(n), predict(X))
# --------------------------------------------------------------------------------------------


class Lleaves:
    name = "lleaves"
    single_cap = None

    def __init__(self, path: Path, out: Path):
        import lleaves
        import llvmlite
        import llvmlite.binding as llvm

        # Machine code for this CPU: the CPU name is part of the cache key.
        cache = out / (
            f"{path.stem}.lleaves-{version('lleaves')}-llvmlite-{llvmlite.__version__}-"
            f"{llvm.get_host_cpu_name()}.so"
        )
        t = time.perf_counter()
        self.model = lleaves.Model(model_file=str(path))
        parse_s = time.perf_counter() - t
        if not cache.exists():
            log(f"lleaves: compiling {path.name} (~1-2 min for 500 trees x 63 leaves on 2 cores)")
        # lleaves' defaults (float64, fblocksize 34): what a user gets from compile().
        def compile_() -> None:
            self.model.compile(cache=str(cache))  # loads the cache instead when it exists

        self.build = cached_build(cache, compile_, load=compile_)
        if self.build["built_now"]:
            # Load what was just compiled, as a rerun would: that is the load time to quote.
            t = time.perf_counter()
            self.model = lleaves.Model(model_file=str(path))
            compile_()
            parse_s, self.build["this_run_s"] = 0.0, time.perf_counter() - t
        self.load_ms = (parse_s + self.build["this_run_s"]) * 1e3
        self.note = (
            ("compiled in this run" if self.build["built_now"] else "loaded")
            + f" ({cache.name}); load = Model() + compile(cache=...) of the cached object"
        )
        self.threads = 1

    def set_threads(self, n: int) -> None:
        self.threads = n

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.model.predict(X, n_jobs=self.threads)


class Tl2cgen:
    name = "tl2cgen"
    single_cap = None

    def __init__(self, path: Path, out: Path):
        import tl2cgen
        import treelite

        self.tl2cgen = tl2cgen
        t = time.perf_counter()
        model = treelite.frontend.load_xgboost_model(str(path))
        self.import_s = time.perf_counter() - t
        src = out / f"{path.stem}.tl2cgen-{tl2cgen.__version__}-treelite-{treelite.__version__}"
        lib = src / "predictor.so"

        def build() -> dict:
            # One translation unit per core, or gcc compiles the whole forest on one core.
            t = time.perf_counter()
            tl2cgen.generate_c_code(model, src, params={"parallel_comp": CPUS})
            codegen_s = time.perf_counter() - t
            so = tl2cgen.create_shared("gcc", src, nthread=CPUS, long_build_time_warning=False)
            os.replace(so, lib)
            return {"codegen_s": codegen_s}

        if not lib.exists():
            log(f"tl2cgen: generating C for {path.name} and building it with gcc")
        self.build = cached_build(lib, build)
        self.lib = lib
        self.predictors: dict[int, object] = {}
        t = time.perf_counter()
        self.set_threads(1)
        self.load_ms = (time.perf_counter() - t) * 1e3
        codegen = (self.build["first"] or {}).get("codegen_s")
        self.note = (
            ("compiled in this run" if self.build["built_now"] else f"loaded {src.name}/{lib.name}")
            + f"; treelite import {self.import_s * 1e3:.0f} ms"
            + (f"; first build = C codegen {codegen:.1f} s + gcc" if codegen is not None else "")
        )

    def set_threads(self, n: int) -> None:
        # The thread count is fixed when the library is loaded: one Predictor per count.
        if n not in self.predictors:
            self.predictors[n] = self.tl2cgen.Predictor(self.lib, nthread=n)
        self.threads = n

    def predict(self, X: np.ndarray) -> np.ndarray:
        # The DMatrix is built in the timed call: tl2cgen takes nothing else.
        dm = self.tl2cgen.DMatrix(X, dtype="float32", missing=np.nan)
        return self.predictors[self.threads].predict(dm).reshape(len(X))


class Sklearn:
    name = "scikit-learn"
    # RandomForest.predict on one row goes through joblib for every tree: ~ms per call.
    single_cap = 500

    def __init__(self, path: Path):
        import joblib

        t = time.perf_counter()
        self.model = joblib.load(path)
        self.load_ms = (time.perf_counter() - t) * 1e3

    def set_threads(self, n: int) -> None:
        self.model.n_jobs = n

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.model.predict(X)


class Onnx:
    name = "ONNX Runtime"
    single_cap = None

    def __init__(self, path: Path, model, out: Path):
        import onnxruntime as ort

        self.ort = ort
        self.path = out / f"{path.stem}.skl2onnx-{version('skl2onnx')}-nanfix.onnx"

        def convert() -> None:
            from skl2onnx import convert_sklearn
            from skl2onnx.common.data_types import FloatTensorType

            onx = convert_sklearn(model, initial_types=[("input", FloatTensorType([None, len(FEATURES)]))])
            restore_nan_routing(onx, model)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_bytes(onx.SerializeToString())
            os.replace(tmp, self.path)

        self.build = cached_build(self.path, convert)
        self.sessions: dict[int, tuple] = {}
        t = time.perf_counter()
        self.set_threads(1)
        self.load_ms = (time.perf_counter() - t) * 1e3
        self.note = (
            ("converted in this run" if self.build["built_now"] else f"loaded {self.path.name}")
            + "; first build = skl2onnx conversion + NaN routing restored; load = InferenceSession"
        )

    def set_threads(self, n: int) -> None:
        if n not in self.sessions:
            so = self.ort.SessionOptions()
            so.intra_op_num_threads = n
            so.inter_op_num_threads = 1
            so.execution_mode = self.ort.ExecutionMode.ORT_SEQUENTIAL
            sess = self.ort.InferenceSession(str(self.path), so, providers=["CPUExecutionProvider"])
            self.sessions[n] = (sess, sess.get_inputs()[0].name, [sess.get_outputs()[0].name])
        self.threads = n

    def predict(self, X: np.ndarray) -> np.ndarray:
        sess, name, outputs = self.sessions[self.threads]
        return sess.run(outputs, {name: X})[0].reshape(len(X))


def restore_nan_routing(onx, forest) -> None:
    """skl2onnx (1.20) writes nodes_missing_value_tracks_true = 0 for every node of a decision
    tree, dropping the NaN routing scikit-learn learned (onnx/sklearn-onnx#1253): every NaN then
    takes the false branch and rows with a NaN come out wrong. Copy each node's
    missing_go_to_left in, as the proposed fix (onnx/sklearn-onnx#1254) does, so ONNX Runtime is
    timed giving scikit-learn's answers. The converter numbers trees by estimator and nodes by
    tree_ index, and the true branch is the left child (x <= threshold)."""
    ens = next(n for n in onx.graph.node if n.op_type.startswith("TreeEnsemble"))
    attrs = {a.name: a for a in ens.attribute}
    left = [e.tree_.missing_go_to_left for e in forest.estimators_]
    tracks = [
        int(mode != b"LEAF" and left[t][i])
        for t, i, mode in zip(attrs["nodes_treeids"].ints, attrs["nodes_nodeids"].ints, attrs["nodes_modes"].strings)
    ]
    del attrs["nodes_missing_value_tracks_true"].ints[:]
    attrs["nodes_missing_value_tracks_true"].ints.extend(tracks)


def library_peer(model: str, path: Path):
    """The reference: bench/run.py's wrappers (under the names the report uses) or scikit-learn."""
    if model == "sklearn":
        return Sklearn(path)
    lib = core.LightGBMLib(path) if model == "lightgbm" else core.XGBoostLib(path)
    lib.name = LIBRARY[model]
    lib.single_cap = None
    return lib


def compiled_peer(model: str, path: Path, lib, out: Path):
    if model == "lightgbm":
        return Lleaves(path, out)
    if model == "xgboost":
        return Tl2cgen(path, out)
    return Onnx(path, lib.model, out)


# --------------------------------------------------------------------------------------------
# models and data
# --------------------------------------------------------------------------------------------


def ensure_forest(out: Path, a) -> Path:
    """RandomForestRegressor on bench/run.py's training sample, fitted on a DataFrame so the file
    names its features (scorewell reads the input columns by those names)."""
    import joblib
    import pandas as pd
    from sklearn.ensemble import RandomForestRegressor

    path = out / (
        f"rf_t{a.rf_trees}_d{a.rf_depth}_n{a.train_rows}_s{a.seed}_sklearn{version('scikit-learn')}.joblib"
    )
    if path.exists():
        log(f"sklearn: cached model {path.name}")
        return path
    xt = core.make_data(a.train_rows, a.seed + 1000)  # bench/run.py's training rows and labels
    yt = core.make_labels(xt, a.seed)
    t = time.perf_counter()
    rf = RandomForestRegressor(n_estimators=a.rf_trees, max_depth=a.rf_depth, random_state=a.seed, n_jobs=CPUS)
    rf.fit(pd.DataFrame(xt, columns=FEATURES), yt)
    rf.n_jobs = None
    tmp = path.with_suffix(".tmp")
    joblib.dump(rf, tmp)
    os.replace(tmp, path)
    log(f"sklearn: trained {a.rf_trees} trees depth {a.rf_depth} in {time.perf_counter() - t:.1f}s")
    return path


def datasets(out: Path, names: list[str], rows: int, seed: int) -> dict[str, tuple[np.ndarray, Path]]:
    """float32, C-contiguous rows for the peers and the same values as Parquet for scorewell."""
    data = {}
    if "project" in names:
        data["project"] = core.load_or_make_data(out, rows, seed)  # held out: training used seed + 1000
    if "normal" in names:
        npy = out / f"normal_r{rows}_s{seed}.npy"
        pq = npy.with_suffix(".parquet")
        if not npy.exists():
            rng = np.random.default_rng(seed + 7)
            x = rng.standard_normal((rows, len(FEATURES))).astype(np.float32)
            x[rng.random(x.shape) < NORMAL_NAN_RATE] = np.nan
            np.save(npy.with_suffix(".tmp.npy"), np.ascontiguousarray(x))
            os.replace(npy.with_suffix(".tmp.npy"), npy)
        if not pq.exists():
            core.write_parquet(np.load(npy), pq)
        data["normal"] = (np.load(npy), pq)
    return data


# --------------------------------------------------------------------------------------------
# scorewell
# --------------------------------------------------------------------------------------------


class ScorewellFailed(RuntimeError):
    """A scorewell command exited non-zero (with its stderr)."""


def takes_engine(exe: Path, command: str) -> bool:
    """Whether this build's `scorewell <command>` has --engine (it is new: older builds don't)."""
    res = subprocess.run([str(exe), command, "--help"], capture_output=True, text=True)
    return "--engine" in res.stdout


def scorewell_bench(exe: Path, model: Path, data: Path, threads: int, repeat: int, single: int,
                    engine: str | None) -> dict:
    """core.scorewell_bench with --engine (it has no way to pass other flags). Latencies come
    back as null without single rows; NaN keeps core.best_of's min() working."""
    cmd = [str(exe), "bench", str(model), "--input", str(data), "--threads", str(threads),
           "--repeat", str(repeat), "--single-rows", str(single)]
    if engine:
        cmd += ["--engine", engine]
    log("  $ " + shlex.join(cmd))
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise ScorewellFailed(f"`scorewell {shlex.join(cmd[1:])}` exited {res.returncode}: {res.stderr.strip()}")
    out = json.loads([l for l in res.stdout.splitlines() if l.strip().startswith("{")][-1])
    for k, v in list(out.items()):
        if v is None:
            out[k] = float("nan")
    label = out.get("engine", "default")
    if engine and isinstance(label, str) and label != engine:
        label = f"{label}, asked {engine}"  # e.g. the compiler declined this model
    out["label"] = label
    return out


def scorewell_score(exe: Path, model: Path, src: Path, engine: str | None) -> np.ndarray:
    dst = src.with_name(f"{src.stem}_{engine or 'default'}_scored.parquet")
    cmd = [str(exe), "score", str(model), "--input", str(src), "--output", str(dst), "--quiet", "--keep", ""]
    if engine:
        cmd += ["--engine", engine]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise ScorewellFailed(f"`scorewell {shlex.join(cmd[1:])}` exited {res.returncode}: {res.stderr.strip()}")
    import pyarrow.parquet as papq

    return papq.read_table(dst, columns=["prediction"]).column("prediction").to_numpy()


def drop_engine(key: str, engine: str | None, err: Exception, engines: list, skipped: list[str]) -> None:
    """A non-default engine that fails is dropped from the run and listed; the interpreter
    (or a build without --engine) failing ends the benchmark."""
    if engine in (None, "interpret"):
        raise SystemExit(f"{key}: {err}")
    skipped.append(f"{key}: scorewell engine {engine}: {err}")
    engines.remove(engine)


def gate(exe, model_key, path, peers, data, a, engines: list, skipped: list[str]) -> list[dict]:
    """Checks every engine in `engines`; one that fails to run a non-default engine is dropped
    from the list (and noted in `skipped`), so it is not timed either."""
    rows = []
    for dname, (X, _) in data.items():
        Xs = X[: a.check_rows]
        src = a.out / f"check_{path.stem}_{dname}_{len(Xs)}.parquet"
        core.write_parquet(Xs, src)  # every run: the first rows depend on --rows as well as --seed
        wants = {}
        for p in peers:
            p.set_threads(1)
            wants[p.name] = np.asarray(p.predict(Xs), dtype=np.float64)
        for engine in list(engines):
            try:
                got = scorewell_score(exe, path, src, engine)
            except ScorewellFailed as e:
                drop_engine(model_key, engine, e, engines, skipped)
                continue
            for p in peers:
                # XGBoost returns float32 and scorewell writes float64: tolerance 0 holds only if
                # scorewell's value is XGBoost's float32, widened.
                want = wants[p.name]
                diff = np.abs(got - want)
                tol = TOLERANCE[p.name]
                mad = float(np.nanmax(diff)) if len(diff) else 0.0
                ok = bool((diff <= tol).all())  # NaN counts as a failure
                row = {
                    "model": model_key, "dataset": dname, "engine": engine or "default", "peer": p.name,
                    "rows": len(Xs), "max_abs_diff": mad, "over": int((~(diff <= tol)).sum()),
                    "tolerance": tol, "ok": ok,
                }
                rows.append(row)
                verdict = "ok" if ok else f"{row['over']} rows over {tol:g}"
                log(f"gate {model_key}/{dname} scorewell[{row['engine']}] vs {p.name}: max abs diff {mad:.2e} ({verdict})")
                if not ok and p.name == LIBRARY[model_key]:
                    # Speed only counts for correct outputs (bench/run.py's rule).
                    i = int(np.argmax(~(diff <= tol)))
                    raise SystemExit(
                        f"{model_key}/{dname}: scorewell[{row['engine']}] disagrees with {p.name} on "
                        f"{row['over']}/{len(Xs)} rows (first: row {i}: {got[i]!r} vs {want[i]!r}); not benchmarking"
                    )
    return rows


# --------------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------------


def compilers_running() -> str:
    """Compiler processes alive now: other sessions' cargo builds share these cores."""
    names = ("rustc", "cargo", "cc1", "cc1plus", "ld", "gcc", "clang")
    counts: dict[str, int] = {}
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            c = comm.read_text().strip()
        except OSError:
            continue
        if c in names:
            counts[c] = counts.get(c, 0) + 1
    return ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "none"


def fmt_ms(x: float) -> str:
    return f"{x:.1f} ms" if x < 10 else f"{x:,.0f} ms"


def fmt_s(x: float | None) -> str:
    return "—" if x is None else (f"{x:.2f} s" if x < 10 else f"{x:.0f} s")


def render(a, env, gates, results, builds, scorewell_loads, skipped, total_s) -> str:
    rate, us = core.fmt_rate, core.fmt_us
    L = [f"# Compiled forests: scorewell vs lleaves, tl2cgen, ONNX Runtime, {_dt.date.today().isoformat()}", ""]
    L += [f"Command: `{' '.join(['.venv-bench-compiled/bin/python bench/compiled/run.py', *sys.argv[1:]])}`", ""]
    L.append(
        f"Rows scored: **{a.rows:,}** per dataset x {len(FEATURES)} float32 features. Datasets: "
        "*project* = held-out rows of bench/run.py's generator (3% NaN in 10 columns); *normal* = "
        f"seeded standard-normal rows with {NORMAL_NAN_RATE:.0%} NaN in every column. Models are trained on "
        f"{a.train_rows:,} project rows only. {a.rounds} round(s) per setting, contenders taking turns, "
        f"each statistic the best round's; batch = best of {a.repeat} passes over all rows after a "
        "warm-up (peers: one call on the whole C-contiguous float32 array in this Python process; "
        "scorewell: `scorewell bench`, 65,536-row Arrow batches in memory, Parquet decoding not timed)."
    )
    L.append("")
    L.append("Models:")
    L.append(f"- lightgbm: {a.trees} trees, num_leaves {a.leaves}, binary (bench/run.py's train_lightgbm)")
    L.append(f"- xgboost: {a.trees} trees, max_depth {a.depth}, binary:logistic, hist (bench/run.py's train_xgboost)")
    L.append(f"- sklearn: RandomForestRegressor, {a.rf_trees} trees, max_depth {a.rf_depth}, joblib file")
    L.append("")

    L += ["## Batch throughput: scorewell rows/s ÷ peer rows/s (> 1: scorewell faster)", ""]
    L.append("The lower of the two datasets, then each dataset's. Same thread count on both sides.")
    L.append("")
    L += ["| model | threads | scorewell engine | vs peer | ratio (lower) | project | normal |",
          "|---|---:|---|---|---:|---:|---:|"]
    for (m, n, label, peer), per in ratio_rows(results, "rows_per_s", lambda sw, p: sw / p).items():
        flag = "" if all(g["ok"] for g in gates if g["model"] == m and g["peer"] == peer) else " †"
        L.append(f"| {m} | {n} | {label} | {peer}{flag} | **{min(per.values()):.2f}x** | "
                 f"{_cell(per.get('project'))} | {_cell(per.get('normal'))} |")
    L.append("")
    if any(not g["ok"] for g in gates):
        L += ["† this peer's outputs missed its tolerance in the correctness gate (below).", ""]

    L += ["## Batch rows/s", ""]
    L += ["| model | dataset | threads | who | rows/s (best) | best / median s | per round |",
          "|---|---|---:|---|---:|---:|---|"]
    for (m, d, n), r in results.items():
        for who, s in r["best"].items():
            L.append(f"| {m} | {d} | {n} | {who} | {rate(s['rows_per_s'])} | {s['batch_best_s']:.3f} / "
                     f"{s['batch_median_s']:.3f} | {' '.join(rate(x['rows_per_s']) for x in r['rounds'][who])} |")
    L.append("")

    t1 = min(n for (_, _, n) in results)
    L += [f"## Single-row latency, in process, {t1} thread (µs, lower is better)", ""]
    L.append(
        "scorewell: `scorewell bench --single-rows`, one-row Arrow `RecordBatch`es through "
        "`Scorer::score`, no Python. Peers: `predict` on a 1-row numpy view `X[i:i+1]` in a Python "
        "loop, timed with perf_counter_ns, so their figures **include the Python call and the "
        "binding's per-call work** (lleaves: a float64 copy; tl2cgen: a DMatrix; ONNX Runtime: "
        "`run` with a feed dict; scikit-learn: its validation and a joblib dispatch). Warm-up calls "
        f"first. Calls: {a.single:,}"
        + (f" (scikit-learn {Sklearn.single_cap:,})." if a.single > Sklearn.single_cap else ".")
    )
    L.append("")
    L += ["| model | dataset | who | p50 | p99 | peer p50 ÷ scorewell p50 |", "|---|---|---|---:|---:|---|"]
    for (m, d, n), r in results.items():
        if n != t1:
            continue
        sws = {w: s for w, s in r["best"].items() if w.startswith("scorewell")}
        for who, s in r["best"].items():
            vs = "" if who.startswith("scorewell") else ", ".join(
                f"{s['latency_p50_us'] / sw['latency_p50_us']:.1f}x vs {w}" for w, sw in sws.items())
            L.append(f"| {m} | {d} | {who} | {us(s['latency_p50_us'])} | {us(s['latency_p99_us'])} | {vs} |")
    L.append("")
    L += ["Lower of the two datasets (peer p50 ÷ scorewell p50; > 1: scorewell faster):", ""]
    L += ["| model | scorewell engine | vs peer | ratio (lower) |", "|---|---|---|---:|"]
    for (m, n, label, peer), per in ratio_rows(results, "latency_p50_us", lambda sw, p: p / sw).items():
        if n == t1:
            L.append(f"| {m} | {label} | {peer} | **{min(per.values()):.1f}x** |")
    L.append("")

    L += ["## Compile and load", ""]
    L.append(
        "First build: the time the cached artifact took to make, on the machine state recorded "
        "with it (a rerun loads the cache and quotes that time). Load: this run, the best round for "
        "scorewell (`load_ms`, and `compile_ms` where the build reports it)."
    )
    L.append("")
    L += ["| model | who | first build | built when (load avg) | load this run | note |", "|---|---|---:|---|---:|---|"]
    for b in builds:
        first = b.get("first") or {}
        when = f"{first.get('when', '?')} ({first.get('load_average', '?')})" if first else "—"
        L.append(f"| {b['model']} | {b['who']} | {fmt_s(first.get('seconds')) if first else '—'} | {when} | "
                 f"{fmt_ms(b['load_ms'])} | {b['note']} |")
    for s in scorewell_loads:
        compile_ms = s.get("compile_ms")
        note = f"compile_ms {compile_ms:.0f}" if isinstance(compile_ms, (int, float)) and compile_ms == compile_ms else ""
        L.append(f"| {s['model']} | scorewell ({s['label']}) | — | — | {fmt_ms(s['load_ms'])} | {note} |")
    L.append("")

    L += ["## Correctness gate", ""]
    L.append(
        f"`scorewell score` on the first {a.check_rows:,} rows of each dataset against each peer at 1 thread. "
        "XGBoost must give the same float32 bits; the other libraries must be within the tolerance or "
        "nothing is timed. Compiled peers are reported, and flagged when over."
    )
    L.append("")
    L += ["| model | dataset | scorewell engine | peer | rows | max abs diff | tolerance | result |",
          "|---|---|---|---|---:|---:|---:|---|"]
    for g in gates:
        tol = "exact (float32)" if g["tolerance"] == 0 else f"{g['tolerance']:g}"
        verdict = "ok" if g["ok"] else f"**{g['over']} rows over**"
        L.append(f"| {g['model']} | {g['dataset']} | {g['engine']} | {g['peer']} | {g['rows']:,} | "
                 f"{g['max_abs_diff']:.2e} | {tol} | {verdict} |")
    L.append("")

    if skipped:
        L += ["## Not run", ""]
        L += [f"- {line}" for line in skipped]
        L.append("")

    L += ["## Machine and versions", ""]
    L.append("Other sessions may be building on this machine during the run (shared cores): compare "
             "the load average and compiler processes below before trusting small differences.")
    L.append("")
    for k, v in env.items():
        L.append(f"- {k}: {v}")
    L.append(f"- whole run: {total_s:.0f} s")
    L.append("")
    return "\n".join(L)


def engine_label(who: str) -> str:
    """"scorewell (compile)" -> "compile"."""
    return who[len("scorewell ("):-1]


def _cell(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}x"


def ratio_rows(results, key, ratio) -> dict:
    """(model, threads, scorewell label, peer) -> {dataset: ratio}."""
    out: dict = {}
    for (m, d, n), r in results.items():
        best = r["best"]
        for sw_name, sw in best.items():
            if not sw_name.startswith("scorewell"):
                continue
            for peer, p in best.items():
                if peer.startswith("scorewell"):
                    continue
                v = ratio(sw[key], p[key])
                if v == v:  # NaN: no single rows at this thread count
                    out.setdefault((m, n, engine_label(sw_name), peer), {})[d] = v
    return out


# --------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    shared.add_model_and_output_args(ap, BENCH / "out" / "compiled")
    ap.set_defaults(results=None)  # None: bench/results, except that --quick writes nothing unless asked
    ap.add_argument("--leaves", type=int, default=63, help="LightGBM num_leaves")
    ap.add_argument("--rf-trees", type=int, default=100, help="RandomForest n_estimators")
    ap.add_argument("--rf-depth", type=int, default=12, help="RandomForest max_depth")
    ap.add_argument("--models", default="lightgbm,xgboost,sklearn")
    ap.add_argument("--datasets", default="project,normal")
    ap.add_argument("--rows", type=int, default=None, help="rows per dataset (default 300,000; --quick 50,000)")
    ap.add_argument("--quick", action="store_true", help="50k rows, 1 round, fewer single-row calls; no results file")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts; latency at the first")
    ap.add_argument("--repeat", type=int, default=None, help="batch passes per round (default 3; --quick 2)")
    ap.add_argument("--rounds", type=int, default=None, help="rounds per setting (default 2; --quick 1)")
    ap.add_argument("--single", type=int, default=None, help="single-row calls (default 2000; --quick 500)")
    ap.add_argument("--check-rows", type=int, default=None, help="gate rows per dataset (default 5000; --quick 2000)")
    ap.add_argument("--scorewell", type=Path, default=ROOT / "target" / "release" / "scorewell")
    a = ap.parse_args()
    a.rows = a.rows or (50_000 if a.quick else 300_000)
    a.repeat = a.repeat or (2 if a.quick else 3)
    a.rounds = a.rounds or (1 if a.quick else 2)
    a.single = a.single if a.single is not None else (500 if a.quick else 2000)
    a.check_rows = min(a.rows, a.check_rows or (2000 if a.quick else 5000))
    threads = [int(t) for t in a.threads.split(",") if t.strip()]
    models = [m.strip() for m in a.models.split(",") if m.strip()]
    if unknown := set(models) - set(LIBRARY):
        raise SystemExit(f"unknown model(s) {sorted(unknown)} (lightgbm, xgboost, sklearn)")
    warnings.filterwarnings("ignore", message="X does not have valid feature names")  # numpy into a DataFrame-fitted forest

    start = time.perf_counter()
    a.out.mkdir(parents=True, exist_ok=True)
    exe = a.scorewell.resolve()
    if not exe.exists():
        raise SystemExit(f"{exe} missing: cargo build --release -p scorewell-cli")
    core.GIT_REV_AT_START = core.git_rev()
    load_before, compilers_before = core.loadavg(), compilers_running()
    # Time a private copy, as bench/run.py does: others rebuilding target/release mid-run
    # must not mix builds.
    snap = a.out / f"scorewell-{_dt.datetime.fromtimestamp(exe.stat().st_mtime).strftime('%Y%m%dT%H%M%S')}"
    if not snap.exists():
        shutil.copy2(exe, snap.with_suffix(".tmp"))
        os.replace(snap.with_suffix(".tmp"), snap)
    engines = ["interpret", "compile", "auto"] if takes_engine(snap, "bench") else [None]
    engines_score = engines if takes_engine(snap, "score") else [None]
    log(f"timing {snap.name} (copy of {exe}); engines: {', '.join(e or 'default' for e in engines)}")

    data = datasets(a.out, [d.strip() for d in a.datasets.split(",") if d.strip()], a.rows, a.seed)
    paths = core.ensure_models(a.out, a, [m for m in models if m != "sklearn"])
    if "sklearn" in models:
        paths["sklearn"] = ensure_forest(a.out, a)

    gates, results, builds, sw_loads, skipped = [], {}, [], [], []
    for m in models:
        path = paths[m]
        lib = library_peer(m, path)
        peers = [lib]
        builds.append({"model": m, "who": lib.name, "first": None, "load_ms": lib.load_ms, "note": path.name})
        try:
            comp = compiled_peer(m, path, lib, a.out)
        except Exception as e:  # not installed, or failed to compile: report it, time the rest
            skipped.append(f"{m}: {COMPILED[m]}: {type(e).__name__}: {e}")
            log(f"{m}: skipping {COMPILED[m]}: {type(e).__name__}: {e}")
        else:
            peers.append(comp)
            builds.append({"model": m, "who": comp.name, "first": comp.build["first"],
                           "load_ms": comp.load_ms, "note": comp.note})
        model_engines = list(engines)
        gates += gate(snap, m, path, peers, data, a, model_engines, skipped)

        for d, (X, pq) in data.items():
            for n in threads:
                single = a.single if n == threads[0] else 0
                rounds: dict[str, list[dict]] = {}
                for k in range(a.rounds):
                    contenders: list = [*peers, *model_engines]
                    shift = k % len(contenders)  # take turns, so a noisy spell doesn't hit one side only
                    for c in contenders[shift:] + contenders[:shift]:
                        if isinstance(c, str) or c is None:
                            try:
                                s = scorewell_bench(snap, path, pq, n, a.repeat, single, c)
                            except ScorewellFailed as e:
                                drop_engine(m, c, e, model_engines, skipped)
                                continue
                            if s["rows"] != len(X):
                                raise SystemExit(f"scorewell bench read {s['rows']} rows, expected {len(X)}")
                            who = f"scorewell ({s['label']})"
                        else:
                            cap = min(single, c.single_cap) if c.single_cap else single
                            s = core.time_library(c, X, n, a.repeat, cap).summary()
                            who = c.name
                        rounds.setdefault(who, []).append(s)
                        log(f"{m}/{d} threads={n} round {k + 1}: {who} {s['rows_per_s']:,.0f} rows/s"
                            + (f", p50 {s['latency_p50_us']:.1f} µs" if single else ""))
                best = {who: core.best_of(rs) for who, rs in rounds.items()}
                results[(m, d, n)] = {"best": best, "rounds": rounds}
                if n == threads[0] and d == next(iter(data)):
                    sw_loads += [{"model": m, "label": engine_label(w), **s}
                                 for w, s in best.items() if w.startswith("scorewell")]
        del peers, lib

    env = core.environment(exe, snap)
    env = {
        "scorewell": env["scorewell"], "scorewell binary": env["scorewell binary"],
        "load average": f"{load_before} before, {core.loadavg()} after (1/5/15 min)",
        "compiler processes": f"{compilers_before} at start, {compilers_running()} at the end",
        "nproc": env["nproc"], "cpu": env["cpu"], "memory": env["memory"], "os": env["os"],
        "python": env["python"], "numpy": env["numpy"],
        "peers": ", ".join(f"{d} {version(d)}" for d in (
            "xgboost-cpu", "lightgbm", "scikit-learn", "lleaves", "llvmlite", "treelite", "tl2cgen",
            "skl2onnx", "onnxruntime")),
        "gcc": core.sh(["gcc", "--version"]).splitlines()[0],
    }
    report = render(a, env, gates, results, builds, sw_loads, skipped, time.perf_counter() - start)
    print(report)
    if a.no_write or (a.quick and a.results is None):
        return
    dest_dir = a.results or BENCH / "results"
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / f"compiled-{_dt.date.today().isoformat()}{'-quick' if a.quick else ''}.md"
    dest.write_text(report)
    dest.with_suffix(".json").write_text(json.dumps({
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(a).items()},
        "env": env, "gates": gates, "builds": builds,
        "results": [{"model": m, "dataset": d, "threads": n, **r} for (m, d, n), r in results.items()],
    }, indent=1, default=str) + "\n")
    log(f"wrote {dest.relative_to(ROOT) if dest.is_relative_to(ROOT) else dest} (+ .json)")


if __name__ == "__main__":
    main()
