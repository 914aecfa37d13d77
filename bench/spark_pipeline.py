"""Spark ML PipelineModel benchmark: scorewell scoring the folder Spark saved vs Spark's own
`PipelineModel.transform` in local mode, same rows, same run.

The pipeline: StringIndexer (2 string columns, handleInvalid=keep) + OneHotEncoder +
VectorAssembler (with 5 numeric columns) + RandomForestClassifier (50 trees, depth 8, 3
classes), trained here on seeded rows and saved with `model.save` (cached in bench/out/).

- Single row: Spark transforms a one-row DataFrame and collects it (the median of --single
  runs after warm-up); scorewell's figure is `scorewell bench`'s in-process latency of
  `Scorer::score` on one-row batches (p50 over 10,000 rows).
- Batch: Spark transforms a cached DataFrame of --rows rows and writes it with the `noop`
  format (every row and column materialised, no I/O); scorewell's figure is `scorewell bench`'s
  best pass over the same rows read from parquet.
- Check: scorewell's `prediction` column equals Spark's on the first 2,000 rows.

Usage:
    bash scripts/setup-python-package.sh          # .venv with pyspark + Java 17
    cargo build --release -p scorewell-cli
    .venv/bin/python bench/spark_pipeline.py                  # 200k rows
    .venv/bin/python bench/spark_pipeline.py --rows 20000 --no-write    # smoke test

Writes bench/results/spark-pipeline-<date>.md unless --no-write.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench/out/spark_pipeline"
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

CITIES = [f"city_{i}" for i in range(20)]
DEVICES = ["ios", "android", "web", "tv", "watch"]
NUMERIC = ["amount", "age", "score", "tenure", "visits"]


def rows(n: int, seed: int) -> pa.Table:
    r = np.random.default_rng(seed)
    city = np.array(CITIES + ["unseen_city"])[np.minimum(r.zipf(1.6, n) - 1, len(CITIES))]
    device = np.array(DEVICES)[r.integers(0, len(DEVICES), n)]
    cols = {
        "city": pa.array(city.tolist(), pa.string()),
        "device": pa.array(device.tolist(), pa.string()),
        "amount": r.gamma(2.0, 50.0, n),
        "age": r.integers(18, 80, n).astype(np.float64),
        "score": r.normal(0, 1, n),
        "tenure": r.exponential(3.0, n),
        "visits": r.poisson(4.0, n).astype(np.float64),
    }
    z = 0.01 * cols["amount"] + cols["score"] + (np.char.startswith(city.astype(str), "city_1")) * 0.7
    cols["label"] = np.where(z < 0.8, 0.0, np.where(z < 1.8, 1.0, 2.0))
    return pa.table(cols)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--single", type=int, default=30, help="timed one-row Spark transforms")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--threads", type=int, default=2, help="scorewell worker threads")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()

    from pyspark.sql import SparkSession
    from pyspark.ml import Pipeline, PipelineModel
    from pyspark.ml import feature as F
    from pyspark.ml.classification import RandomForestClassifier

    t0 = time.perf_counter()
    spark = (
        SparkSession.builder.master(args.master)
        .appName("scorewell-bench-spark-pipeline")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    print(f"spark {spark.version} up in {time.perf_counter() - t0:.1f}s", flush=True)

    model_dir = OUT / "model"
    OUT.mkdir(parents=True, exist_ok=True)
    if not (model_dir / "metadata").is_dir():
        train = spark.createDataFrame(rows(20_000, 1).to_pandas())
        pipeline = Pipeline(stages=[
            F.StringIndexer(inputCols=["city", "device"], outputCols=["city_idx", "device_idx"], handleInvalid="keep"),
            F.OneHotEncoder(inputCols=["city_idx", "device_idx"], outputCols=["city_oh", "device_oh"], handleInvalid="keep"),
            F.VectorAssembler(inputCols=["city_oh", "device_oh"] + NUMERIC, outputCol="features"),
            RandomForestClassifier(featuresCol="features", labelCol="label", numTrees=50, maxDepth=8, seed=7),
        ])
        t = time.perf_counter()
        pipeline.fit(train).write().overwrite().save(str(model_dir))
        print(f"trained and saved in {time.perf_counter() - t:.1f}s", flush=True)
    model = PipelineModel.load(str(model_dir))

    table = rows(args.rows, 2).drop(["label"])
    input_path = OUT / f"rows-{args.rows}.parquet"
    pq.write_table(table, input_path)
    df = spark.createDataFrame(table.to_pandas()).repartition(2).cache()
    df.count()

    # Spark: one-row transform + collect.
    one = [spark.createDataFrame(table.slice(i, 1).to_pandas()).cache() for i in range(args.single + 5)]
    for d in one:
        d.count()
    for d in one[:5]:
        model.transform(d).collect()
    single = []
    for d in one[5:]:
        t = time.perf_counter()
        model.transform(d).collect()
        single.append(time.perf_counter() - t)
    spark_single_ms = statistics.median(single) * 1e3

    # Spark: batch transform of the cached rows.
    batch = []
    for _ in range(3):
        t = time.perf_counter()
        model.transform(df).write.format("noop").mode("overwrite").save()
        batch.append(time.perf_counter() - t)
    spark_rows_per_s = args.rows / min(batch)

    # Spark's predictions for the check.
    check_n = min(2000, args.rows)
    spark_pred = [r["prediction"] for r in model.transform(spark.createDataFrame(table.slice(0, check_n).to_pandas())).select("prediction").collect()]
    spark.stop()

    exe = ROOT / "target/release/scorewell"
    bench = json.loads(subprocess.run(
        [str(exe), "bench", str(model_dir), "--input", str(input_path), "--threads", str(args.threads),
         "--single-rows", "10000", "--repeat", "5"],
        check=True, capture_output=True, text=True).stdout)
    scored = OUT / "scored.parquet"
    pq.write_table(table.slice(0, check_n), OUT / "check.parquet")
    subprocess.run([str(exe), "score", str(model_dir), "--input", str(OUT / "check.parquet"), "--output", str(scored), "--quiet"],
                   check=True)
    ours = pq.read_table(scored).column("prediction").to_pylist()
    agree = sum(a == b for a, b in zip(ours, spark_pred))

    sw_single_us = bench["latency_p50_us"]
    res = {
        "rows": args.rows,
        "spark_single_ms": spark_single_ms,
        "spark_rows_per_s": spark_rows_per_s,
        "scorewell_single_p50_us": sw_single_us,
        "scorewell_single_p99_us": bench["latency_p99_us"],
        "scorewell_rows_per_s": bench["rows_per_s"],
        "scorewell_load_ms": bench["load_ms"],
        "single_speedup": spark_single_ms * 1e3 / sw_single_us,
        "batch_speedup": bench["rows_per_s"] / spark_rows_per_s,
        "predictions_equal": f"{agree}/{check_n}",
    }
    print(json.dumps(res, indent=2))
    if args.no_write:
        return
    date = datetime.date.today().isoformat()
    import pyspark
    load = os.getloadavg()
    md = f"""# Spark ML PipelineModel: scorewell vs Spark `transform` ({date})

Pipeline: StringIndexer (2 columns, keep) + OneHotEncoder + VectorAssembler (+5 numeric) +
RandomForestClassifier (50 trees, depth 8, 3 classes), saved by PySpark {pyspark.__version__}
with `model.save`; scorewell scores the saved folder (`bench/spark_pipeline.py`).

Machine: {platform.machine()}, {os.cpu_count()} cores, load average {load[0]:.1f} at the end
(other jobs were running). Spark `{args.master}`, scorewell `--threads {args.threads}`.

| | Spark `transform` (local mode) | scorewell | scorewell faster by |
|---|---|---|---|
| single row | {spark_single_ms:.1f} ms (median of {args.single}, one-row DataFrame, `collect`) | {sw_single_us:.1f} µs p50, {bench['latency_p99_us']:.1f} µs p99 (`Scorer::score` on a one-row batch, in process) | {res['single_speedup']:,.0f}× |
| batch ({args.rows:,} rows) | {spark_rows_per_s:,.0f} rows/s (cached DataFrame, `noop` write, best of 3) | {bench['rows_per_s']:,.0f} rows/s (best of 5) | {res['batch_speedup']:,.1f}× |

scorewell loads the saved folder in {bench['load_ms']:.1f} ms. Predictions equal to Spark's on
{res['predictions_equal']} rows.
"""
    path = ROOT / f"bench/results/spark-pipeline-{date}.md"
    path.write_text(md)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
