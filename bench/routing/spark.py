#!/usr/bin/env python3
"""Model routing in Spark: per-device XGBoost models scored per key, scorewell vs the Spark way.

    .venv/bin/python bench/routing/spark.py                     # 1,000 models, 1M rows, local[2]
    .venv/bin/python bench/routing/spark.py --models 50 --rows 50000 --rounds 1 --no-write   # smoke test

In ONE local Spark session (`--master`, default `local[2]`), on the same cached DataFrame:

1. Models: bench/routing/run.py's per-device models on its "normal + 5% NaN" data (`--models`
   XGBoost models of `--trees` trees, depth 4, plus a global default; the folder tagged `d1`,
   cached in bench/out/routing/ and shared with run.py), and their scorewell model-set bundle
   (run.py's `variant(folder, "spark")`: key column `device_id`, cache budget 2 GiB).
2. Rows: run.py's normal + 5% NaN rows (`frame(x, models, seed=7)`, the same rows run.py times
   at the same `--rows`) plus a row id `id`, written once to a Parquet file in
   bench/out/routing/, read with `spark.read.parquet`, spread over `--partitions` partitions,
   cached and counted before anything else runs.
3. Both sides, each built once (one broadcast each) and ending in the same action,
   `.select("id", "prediction").write.format("noop")`:
   - baseline, the Spark way: `df.groupBy("device_id").applyInPandas(fn, "id long,
     prediction float")`; `fn` takes its key's `xgboost.Booster` (`nthread` 1) from a per
     Python worker process cache, loading it on first use from a broadcast dict of every
     model file's bytes, and calls `Booster.inplace_predict` on the group's feature matrix.
   - scorewell: `scorewell.spark.score_dataframe(df.repartition(P, "device_id"), bundle)`
     (the bundle's bytes broadcast once; on Spark 4.1+ an Arrow UDF sends only the model's
     input columns to Python and straight into Rust, which routes each row to its key's model).
   Both shuffle by `device_id` into `--partitions` partitions (spark.sql.shuffle.partitions is
   set to it and adaptive coalescing is off, so both run the same number of tasks), and both
   use one thread per task: XGBoost's `nthread` 1, and scorewell's thread pool set to
   `--scorewell-threads` (1) through the workers' RAYON_NUM_THREADS.
4. Correctness gate: on the rows with id < 20,000, both outputs joined on `id` must agree
   (rtol = atol = 1e-6), or nothing is timed.
5. Timing: `--warmups` (1) untimed runs of each (Python workers started, models loaded), then
   `--rounds` interleaved rounds (baseline, scorewell, baseline, ...); best of each, rows/s and
   the ratio scorewell / baseline.

Writes bench/results/routing-spark-YYYY-MM-DD.md (unless --no-write) and prints it. Needs the
pinned venv (pyspark 4.3.0, Java 17+) and the Python package (scripts/setup-python-package.sh).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib.util
import os
import shlex
import sys
import time
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import xgboost as xgb

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def _load_routing() -> types.ModuleType:
    """bench/routing/run.py as the module `routing_run`. Not `import run`: run.py itself does
    `import run as bench` for bench/run.py, which under the same name would give it back
    itself, half initialised."""
    spec = importlib.util.spec_from_file_location("routing_run", HERE / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


routing = _load_routing()

import scorewell  # noqa: E402

OUT = routing.OUT
FEATURES = [f"f{i}" for i in range(8)]
assert FEATURES == routing.FEATURES
DEFAULT_KEY = "<default>"  # the default model's entry in the baseline's broadcast dict
CHECK_ROWS = 20_000


def log(msg: str) -> None:
    print(f"[routing-spark] {msg}", file=sys.stderr, flush=True)


def loadavg() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def worker_boosters() -> dict:
    """This Python worker process's Boosters, by key.

    Kept in a module registered in `sys.modules`, not in a global of this script: Spark
    unpickles a UDF for every task, and cloudpickle ships a `__main__` function's globals by
    value, so a plain module-level dict here would be a fresh, empty copy in every task (every
    model loaded again for every task). A module in `sys.modules` lives as long as the
    (reused) worker process, like a module-level dict in an installed module."""
    module = sys.modules.get("_routing_spark_boosters")
    if module is None:
        module = types.ModuleType("_routing_spark_boosters")
        module.boosters = {}  # type: ignore[attr-defined]
        sys.modules[module.__name__] = module
    return module.boosters  # type: ignore[attr-defined]


def rows_file(a) -> Path:
    """run.py's normal + 5% NaN rows with a row id, as Parquet (written once)."""
    path = OUT / f"spark-rows-n{a.models}-r{a.rows}.parquet"
    if path.exists():
        return path
    t = time.perf_counter()
    x = routing.normal_x(np.random.default_rng(5), a.rows)  # as run.py draws its second dataset
    df = routing.frame(x, a.models, seed=7)
    df.insert(0, "id", np.arange(len(df), dtype=np.int64))
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp, row_group_size=65536)
    tmp.rename(path)
    log(f"wrote {a.rows:,} rows to {path.relative_to(ROOT)} in {time.perf_counter() - t:.1f}s")
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=int, default=1000)
    ap.add_argument("--trees", type=int, default=50)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3, help="timed runs of each, interleaved")
    ap.add_argument("--warmups", type=int, default=1, help="untimed runs of each before the rounds")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--partitions", type=int, default=8, help="partitions of the cached rows and of the key shuffle")
    ap.add_argument(
        "--scorewell-threads",
        type=int,
        default=1,
        help="RAYON_NUM_THREADS of the Python workers (scorewell's pool; the baseline's XGBoost has "
        "nthread 1); 0 leaves scorewell's default (all CPUs)",
    )
    ap.add_argument("--no-write", action="store_true")
    a = ap.parse_args()
    started = time.perf_counter()
    OUT.mkdir(parents=True, exist_ok=True)

    # Python workers: this interpreter (the venv's xgboost, pandas and scorewell).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    import pyspark
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    from scorewell.spark import score_dataframe

    folder = routing.train_models(a.models, a.trees, routing.normal_x, "d1")
    bundle = routing.variant(folder, "spark")
    rows_path = rows_file(a)
    model_files = {p.stem: p.read_bytes() for p in sorted((folder / "per_device").iterdir())}
    model_files[DEFAULT_KEY] = (folder / "default.json").read_bytes()
    log(
        f"{a.models} models of {a.trees} trees: {sum(map(len, model_files.values())) / 2**20:.1f} MiB of JSON, "
        f"bundle {bundle.stat().st_size / 2**20:.1f} MiB"
    )

    builder = SparkSession.builder
    if a.scorewell_threads > 0:
        builder = builder.config("spark.executorEnv.RAYON_NUM_THREADS", str(a.scorewell_threads))
    spark = (
        builder.master(a.master)
        .appName("scorewell-routing-spark-bench")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "4g")
        .config("spark.sql.shuffle.partitions", str(a.partitions))
        .config("spark.sql.adaptive.coalescePartitions.enabled", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    java = spark.sparkContext._jvm.System.getProperty("java.version")  # type: ignore[union-attr]

    df = spark.read.parquet(str(rows_path)).repartition(a.partitions).cache()
    assert df.count() == a.rows
    log(f"cached {a.rows:,} rows in {df.rdd.getNumPartitions()} partitions")

    # Baseline: the model files' bytes broadcast once; each worker process loads a key's
    # Booster the first time one of its tasks meets the key. `loads` counts those loads.
    shipped = spark.sparkContext.broadcast(model_files)
    loads = spark.sparkContext.accumulator(0)

    def score_group(key: tuple, pdf: pd.DataFrame) -> pd.DataFrame:
        boosters = worker_boosters()
        booster = boosters.get(key[0])
        if booster is None:
            models = shipped.value
            raw = models.get(key[0], models[DEFAULT_KEY])
            booster = xgb.Booster(model_file=bytearray(raw))
            booster.set_param({"nthread": 1})
            boosters[key[0]] = booster
            loads.add(1)
        x = pdf[FEATURES].to_numpy(dtype=np.float64, na_value=np.nan)
        return pd.DataFrame({"id": pdf["id"].to_numpy(), "prediction": booster.inplace_predict(x)})

    def baseline(frame):
        return frame.groupBy("device_id").applyInPandas(score_group, "id long, prediction float")

    def with_scorewell(frame):
        return score_dataframe(frame.repartition(a.partitions, "device_id"), str(bundle)).select("id", "prediction")

    # Correctness gate on the first 20,000 rows (ids 0..19,999), joined on id.
    head = df.where(F.col("id") < CHECK_ROWS)
    want = baseline(head).toPandas()
    got = with_scorewell(head).toPandas()
    both = want.merge(got, on="id", suffixes=("_xgb", "_scorewell"), validate="one_to_one")
    checked = min(CHECK_ROWS, a.rows)
    assert len(want) == len(got) == len(both) == checked, (len(want), len(got), len(both), checked)
    diff = float(np.max(np.abs(both["prediction_xgb"] - both["prediction_scorewell"])))
    np.testing.assert_allclose(
        both["prediction_scorewell"].to_numpy(np.float64),
        both["prediction_xgb"].to_numpy(np.float64),
        rtol=1e-6,
        atol=1e-6,
    )
    log(f"outputs agree on {checked:,} rows (max |diff| {diff:.1e}); scorewell's prediction is {got['prediction'].dtype}")

    # The timed DataFrames, each built once (score_dataframe broadcasts the bundle when called).
    sides = {"baseline": baseline(df), "scorewell": with_scorewell(df)}

    def timed(name: str) -> float:
        t = time.perf_counter()
        sides[name].write.format("noop").mode("overwrite").save()
        return time.perf_counter() - t

    warm: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(a.warmups):
        for name in sides:
            warm[name].append(timed(name))
    loads_warm = loads.value
    log("warm-up: " + ", ".join(f"{k} {rounds(v)}s" for k, v in warm.items()) + f"; baseline loaded {loads_warm} boosters so far")
    load_before = loadavg()
    times: dict[str, list[float]] = {name: [] for name in sides}
    for r in range(a.rounds):
        for name in sides:
            times[name].append(timed(name))
            log(f"round {r + 1}: {name} {times[name][-1]:.2f}s ({a.rows / times[name][-1]:,.0f} rows/s)")
    load_after = loadavg()
    loads_timed = loads.value - loads_warm
    spark.stop()

    best = {name: min(v) for name, v in times.items()}
    result = {
        "rps": {name: a.rows / s for name, s in best.items()},
        "best": best,
        "times": times,
        "warm": warm,
        "diff": diff,
        "checked": checked,
        "dtypes": (str(want["prediction"].dtype), str(got["prediction"].dtype)),
        "loads_warm": loads_warm,
        "loads_timed": loads_timed,
        "versions": {
            "pyspark": pyspark.__version__,
            "spark": spark.version,
            "java": java,
            "xgboost": xgb.__version__,
            "pandas": pd.__version__,
            "pyarrow": pa.__version__,
            "scorewell": scorewell.__version__,
        },
        "load": (load_before, load_after),
        "bundle_mib": bundle.stat().st_size / 2**20,
        "json_mib": sum(map(len, model_files.values())) / 2**20,
        "total": time.perf_counter() - started,
    }
    text = render(a, result)
    print(text)
    if not a.no_write:
        path = ROOT / "bench" / "results" / f"routing-spark-{_dt.date.today().isoformat()}.md"
        path.write_text(text)
        log(f"wrote {path}")


def threads_note(a) -> str:
    if a.scorewell_threads > 0:
        return (
            f"scorewell's thread pool (over which it spreads a batch's key groups) is set to "
            f"{a.scorewell_threads} thread(s) per Python worker (`RAYON_NUM_THREADS`), as the baseline's "
            "XGBoost has `nthread` 1: each of Spark's task slots gets one core on either side."
        )
    return (
        "scorewell's thread pool is left at its default (all CPUs per Python worker), while the "
        "baseline's XGBoost has `nthread` 1: scorewell may use more cores than Spark's task slots."
    )


def rounds(xs: list[float]) -> str:
    return " / ".join(f"{x:.2f}" for x in xs)


def render(a, r: dict) -> str:
    v = r["versions"]
    ratio = r["rps"]["scorewell"] / r["rps"]["baseline"]
    command = " ".join([".venv/bin/python bench/routing/spark.py", *map(shlex.quote, sys.argv[1:])])
    labels = {
        "baseline": '`groupBy("device_id").applyInPandas` + `Booster.inplace_predict`',
        "scorewell": '`score_dataframe(df.repartition(P, "device_id"), bundle)`',
    }
    lines = [
        f"# Model routing in Spark: scorewell vs applyInPandas + XGBoost ({_dt.date.today().isoformat()})",
        "",
        f"`{command}`",
        "",
        f"PySpark {v['pyspark']} (Spark {v['spark']}, Java {v['java']}), XGBoost {v['xgboost']}, pandas "
        f"{v['pandas']}, pyarrow {v['pyarrow']}, scorewell {v['scorewell']}; `{a.master}`, {os.cpu_count()} CPUs "
        f"on this machine, load average {r['load'][0]} before the timed rounds and {r['load'][1]} after. "
        f"The machine is shared with other builds and tests and noisy: figures are best-of-{a.rounds} and "
        f"only comparable within this run. Total {r['total']:.0f} s.",
        "",
        f"## {a.rows:,} rows over {a.models} device keys, one XGBoost model of {a.trees} trees per key",
        "",
        "| approach | rows/s | best (s) | rounds (s) | warm-up (s) |",
        "|---|---:|---:|---|---:|",
    ]
    for name in ("baseline", "scorewell"):
        lines.append(
            f"| {name}: {labels[name]} | {r['rps'][name]:,.0f} | {r['best'][name]:.2f} | "
            f"{rounds(r['times'][name])} | {rounds(r['warm'][name])} |"
        )
    lines += [
        "",
        f"scorewell / baseline: **{ratio:.2f}×**.",
        "",
        f"Both read the same cached DataFrame ({a.rows:,} rows of `id`, `device_id` and 8 float64 features "
        f"with 5% NaN, {a.partitions} partitions), shuffle it by `device_id` into {a.partitions} partitions "
        "(`spark.sql.shuffle.partitions`, adaptive coalescing off) and end in "
        '`.select("id", "prediction").write.format("noop")`. Each side is built once, so its models are '
        f"broadcast once ({r['json_mib']:.1f} MiB of model JSON for the baseline, a {r['bundle_mib']:.1f} MiB "
        f"bundle for scorewell), and timed after {a.warmups} untimed warm-up(s) of each, rounds interleaved.",
        "",
        "- **baseline** (the Spark way): `applyInPandas` hands each key's rows to a Python worker as one "
        "pandas DataFrame (every column, sorted by key within the partition); the function takes the "
        "key's `xgboost.Booster` (`nthread` 1) from the worker process's cache, loading it from the "
        "broadcast bytes the first time that process meets the key, and calls `inplace_predict` on the "
        "group's float64 feature matrix; one pandas DataFrame (`id`, `prediction`) comes back per group. "
        f"Boosters loaded: {r['loads_warm']} up to the end of the warm-up (the gate included), "
        f"{r['loads_timed']} during the timed rounds (a worker process meeting a key for the first time).",
        "- **scorewell**: `scorewell.spark.score_dataframe` on the rows repartitioned by `device_id`; on "
        "Spark 4.1+ an Arrow UDF sends only the model's input columns (`device_id`, `f0`..`f7`) to Python "
        "in Arrow batches (`spark.sql.execution.arrow.maxRecordsPerBatch`, default 10,000 rows, many keys "
        "each) straight into Rust, where the model set groups each batch's rows by key and scores each "
        "group with its model (built on first use, once per worker process); only `prediction` comes "
        "back. " + threads_note(a),
        "",
        f"Agreement before timing: the first {r['checked']:,} rows (ids), joined on `id`, max |scorewell − "
        f"xgboost| = {r['diff']:.1e} (rtol = atol = 1e-6). The baseline's `prediction` is {r['dtypes'][0]} "
        f"(XGBoost's output), scorewell's {r['dtypes'][1]}.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
