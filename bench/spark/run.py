"""Spark benchmark: scorewell.spark.score_dataframe vs a pandas UDF calling XGBoost's predict.

The model: XGBoost `binary:logistic`, 300 trees of depth 6 over 20 features, trained here on a
seeded sample (cached in bench/out/). Both run in ONE local Spark session on the SAME cached
DataFrame of rows like the training sample (two features 10% null), with the model shipped the
same way (a broadcast of its bytes, loaded once per Python worker process), and both end in the
same action (`write.format("noop")`, which materialises every row and column without I/O).

- scorewell: `score_dataframe(df, model)` (mapInArrow: Arrow batches into Rust, no pandas).
- baseline:  `df.withColumn("prediction", predict(*features))`, an iterator pandas UDF that
  stacks the feature Series into a float32 array and calls `Booster.inplace_predict` (XGBoost's
  fastest predict route), with the Booster cached per worker process.

Usage:
    bash scripts/setup-python-package.sh      # .venv with pyspark, xgboost, scorewell
    .venv/bin/python bench/spark/run.py                 # 2M rows, 3 rounds
    .venv/bin/python bench/spark/run.py --rows 200000 --rounds 1 --no-write   # smoke test

Writes bench/results/spark-<date>.md unless --no-write.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "bench/out"

_BOOSTERS: dict[int, object] = {}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--partitions", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3, help="timed runs of each, interleaved")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument(
        "--batch-rows",
        default="10000,65536",
        help="values of spark.sql.execution.arrow.maxRecordsPerBatch to time (Spark's default: 10000)",
    )
    ap.add_argument("--features", type=int, default=20)
    ap.add_argument("--trees", type=int, default=300)
    ap.add_argument("--depth", type=int, default=6)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    import pyspark
    import xgboost as xgb
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F
    from pyspark.sql.functions import pandas_udf

    import scorewell
    from scorewell.spark import score_dataframe

    model_path = train_model(args)
    FEATURES = [f"f{i}" for i in range(args.features)]

    spark = (
        SparkSession.builder.master(args.master)
        .appName("scorewell-spark-bench")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")

    # Rows drawn like the training sample: uniform features, f0 and f1 10% null.
    df = (
        spark.range(args.rows, numPartitions=args.partitions)
        .select(
            F.col("id"),
            *[
                (
                    F.when(F.rand(seed=100 + i) < 0.1, None).otherwise(F.rand(seed=i))
                    if i < 2
                    else F.rand(seed=i)
                ).alias(name)
                for i, name in enumerate(FEATURES)
            ],
        )
        .cache()
    )
    assert df.count() == args.rows

    model_bytes = model_path.read_bytes()
    shipped = spark.sparkContext.broadcast(model_bytes)

    @pandas_udf("double")
    def predict(batches: Iterator[tuple[pd.Series, ...]]) -> Iterator[pd.Series]:
        key = id(shipped)
        booster = _BOOSTERS.get(key)
        if booster is None:
            booster = xgb.Booster(model_file=bytearray(shipped.value))
            _BOOSTERS[key] = booster
        for cols in batches:
            x = np.column_stack([c.to_numpy(dtype=np.float32, na_value=np.nan) for c in cols])
            yield pd.Series(booster.inplace_predict(x), dtype=np.float64)

    @pandas_udf("double")
    def zeros_pandas(batches: Iterator[tuple[pd.Series, ...]]) -> Iterator[pd.Series]:
        for cols in batches:
            yield pd.Series(np.zeros(len(cols[0])))

    def zeros_arrow(*arrays: pa.Array) -> pa.Array:
        return pa.array(np.zeros(len(arrays[0])))

    def run_scorewell():
        return score_dataframe(df, model_bytes)

    def run_baseline():
        return df.withColumn("prediction", predict(*[F.col(c) for c in FEATURES]))

    # What Spark itself costs on each route: the same columns to Python and a column of zeros
    # back, no model. Whatever a side takes above its floor is its model's time.
    floors = {"baseline": lambda: df.withColumn("prediction", zeros_pandas(*[F.col(c) for c in FEATURES]))}
    if hasattr(F, "arrow_udf"):  # the route score_dataframe takes on Spark 4.1+
        floors["scorewell"] = lambda: df.select(
            "*", F.arrow_udf(zeros_arrow, "double")(*[F.col(c) for c in FEATURES]).alias("prediction")
        )

    # Correctness first: both agree on a sample (XGBoost computes in float32 as we do).
    sample = df.limit(20_000)
    a = score_dataframe(sample, model_bytes).select("id", "prediction").toPandas().sort_values("id")
    b = sample.withColumn("prediction", predict(*[F.col(c) for c in FEATURES]))
    b = b.select("id", "prediction").toPandas().sort_values("id")
    max_diff = float(np.max(np.abs(a["prediction"].to_numpy() - b["prediction"].to_numpy())))
    assert max_diff <= 1e-6, f"scorewell and xgboost disagree: max |diff| {max_diff}"

    def timed(make) -> float:
        start = time.perf_counter()
        make().write.format("noop").mode("overwrite").save()
        return time.perf_counter() - start

    settings = []
    for batch_rows in [int(b) for b in args.batch_rows.split(",")]:
        spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(batch_rows))
        timed(run_scorewell), timed(run_baseline)  # warm-up: workers started, models loaded
        times = {"scorewell": [], "baseline": []}
        floor_times: dict[str, list[float]] = {k: [] for k in floors}
        for _ in range(args.rounds):
            times["baseline"].append(timed(run_baseline))
            times["scorewell"].append(timed(run_scorewell))
            for k, make in floors.items():
                floor_times[k].append(timed(make))
        best = {k: min(v) for k, v in times.items()}
        rate = {k: args.rows / v for k, v in best.items()}
        floor = {k: min(v) for k, v in floor_times.items()}
        above = {k: best[k] - floor[k] for k in floor}
        settings.append(
            {
                "batch_rows": batch_rows,
                "seconds": times,
                "rows_per_s": rate,
                "ratio": rate["scorewell"] / rate["baseline"],
                "floor_seconds": floor_times,
                "model_seconds": above,
                "model_ratio": above["baseline"] / above["scorewell"] if len(above) == 2 else None,
            }
        )
    spark.stop()

    result = {
        "rows": args.rows,
        "partitions": args.partitions,
        "master": args.master,
        "model": f"xgboost binary:logistic, {args.trees} trees, max_depth {args.depth}, {args.features} features",
        "settings": settings,
        "max_abs_diff": max_diff,
        "versions": {
            "python": platform.python_version(),
            "pyspark": pyspark.__version__,
            "xgboost": xgb.__version__,
            "scorewell": scorewell.__version__,
        },
        "cpus": os.cpu_count(),
    }
    print(json.dumps(result, indent=2))
    if not args.no_write:
        write_markdown(result, args)


def train_model(args: argparse.Namespace) -> Path:
    """Train (or reuse) the benchmark model on a seeded sample drawn like the Spark rows."""
    import xgboost as xgb

    path = OUT / f"spark-xgb-{args.features}f-{args.trees}t-d{args.depth}.json"
    if path.exists():
        return path
    rng = np.random.default_rng(7)
    x = rng.random((20_000, args.features))
    x[rng.random(x.shape[0]) < 0.1, 0] = np.nan
    x[rng.random(x.shape[0]) < 0.1, 1] = np.nan
    logit = np.nan_to_num(x[:, 0], nan=0.5) * 3 - 2 * x[:, 2] + np.sin(6 * x[:, 3]) + x[:, 4] * x[:, 5]
    y = (logit + rng.normal(0, 0.5, x.shape[0]) > 0.6).astype(np.float32)
    names = [f"f{i}" for i in range(args.features)]
    dtrain = xgb.DMatrix(x, label=y, feature_names=names)
    params = {"objective": "binary:logistic", "max_depth": args.depth, "eta": 0.1, "seed": 7}
    booster = xgb.train(params, dtrain, num_boost_round=args.trees)
    OUT.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(path))
    return path


def floor_row(s: dict) -> str:
    """One row of the floor table: each route's Spark-only seconds, the model's seconds above
    them, and the ratio of those."""
    def sec(v: float | None) -> str:
        return "–" if v is None else f"{v:.2f}"

    floors = {k: min(v) for k, v in s["floor_seconds"].items()}
    model = s["model_seconds"]
    ratio = "–" if s["model_ratio"] is None else f"{s['model_ratio']:.2f}x"
    return (
        f"| {s['batch_rows']:,} | {sec(floors.get('scorewell'))} | {sec(floors.get('baseline'))} "
        f"| {sec(model.get('scorewell'))} | {sec(model.get('baseline'))} | {ratio} |"
    )


def write_markdown(r: dict, args: argparse.Namespace) -> None:
    date = datetime.date.today().isoformat()
    path = ROOT / f"bench/results/spark-{date}.md"
    k = lambda v: f"{v / 1e3:,.0f} k"  # noqa: E731
    rounds = lambda xs: " / ".join(f"{x:.2f}" for x in xs)  # noqa: E731
    v = r["versions"]
    rows = "\n".join(
        f"| {s['batch_rows']:,} | {k(s['rows_per_s']['scorewell'])} | {k(s['rows_per_s']['baseline'])} "
        f"| **{s['ratio']:.2f}x** | {'yes' if s['ratio'] >= 2 else 'no'} "
        f"| {rounds(s['seconds']['scorewell'])} | {rounds(s['seconds']['baseline'])} |"
        for s in r["settings"]
    )
    floor_rows = "\n".join(floor_row(s) for s in r["settings"])
    flags = "" if args.rows == 2_000_000 else f" --rows {args.rows}"
    path.write_text(
        f"""# scorewell in Spark vs a pandas UDF calling XGBoost, {date}

Command: `.venv/bin/python bench/spark/run.py{flags}`

One Spark session (`{r['master']}`, {r['cpus']} CPUs on this machine, shared with other work), one
cached DataFrame of **{r['rows']:,} rows** in {r['partitions']} partitions (uniform features, two of
them 10% null). Model: {r['model']}, trained by the script on a seeded sample. Each side's model
bytes are broadcast and loaded once per Python worker process; each run ends in
`write.format("noop")`. Best of {args.rounds} interleaved rounds after a warm-up, per Arrow batch
size (`spark.sql.execution.arrow.maxRecordsPerBatch`, which both routes use).

- scorewell: `scorewell.spark.score_dataframe(df, model)` (on Spark 4.1+ an Arrow UDF over the
  model's input columns, before that mapInArrow; Arrow batches into Rust either way).
- baseline: `df.withColumn("prediction", predict(*features))`, an iterator pandas UDF stacking
  the feature Series into float32 and calling `xgboost.Booster.inplace_predict`.

| Arrow batch rows | scorewell rows/s | baseline rows/s | ratio | ≥ 2x | scorewell rounds (s) | baseline rounds (s) |
|---:|---:|---:|---:|:---:|---|---|
{rows}

Where the time goes: each route's *floor* is the same job with a UDF of the same kind that
returns zeros (the same columns cross to Python and back, no model), best of the same rounds.
Above it is the model's own time; both routes pay their floor whatever the model.

| Arrow batch rows | scorewell floor (s) | baseline floor (s) | scorewell model (s) | XGBoost model (s) | model-time ratio |
|---:|---:|---:|---:|---:|---:|
{floor_rows}

Agreement on 20,000 rows before timing: max |scorewell − xgboost| = {r['max_abs_diff']:.1e}.
Versions: Python {v['python']}, PySpark {v['pyspark']}, XGBoost {v['xgboost']}, scorewell {v['scorewell']}.
"""
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
