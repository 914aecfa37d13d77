"""Tests for scorewell.spark in a real local PySpark session (`local[2]`, several partitions,
data with nulls): the scored rows equal the CLI's output for the same rows bit for bit, and each
executor Python process builds the model once."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import scorewell
from conftest import ROOT, run_cli

pytestmark = pytest.mark.spark
pyspark = pytest.importorskip("pyspark")

from pyspark import cloudpickle  # noqa: E402
from pyspark.sql import SparkSession  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402
from pyspark.sql.types import LongType  # noqa: E402

from scorewell.spark import arrow_mapper, score_dataframe, score_dataframe_pandas  # noqa: E402

# Functions defined here run on the executors, which cannot import this test module.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

CASE = ROOT / "tests/conformance/cases/xgboost_3_2_missing_nan_null"
PARTITIONS = 4


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("scorewell-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(PARTITIONS))
        .config("spark.driver.memory", "1g")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def rows() -> pa.Table:
    """The case's input (nulls and NaNs included) with an `id` column first."""
    table = pq.read_table(CASE / "input.parquet")
    assert sum(c.null_count for c in table.columns) > 0, "the data must have nulls"
    return table.add_column(0, "id", pa.array(np.arange(table.num_rows, dtype=np.int64)))


@pytest.fixture(scope="module")
def cli_scored(rows: pa.Table, tmp_path_factory: pytest.TempPathFactory) -> pa.Table:
    folder = tmp_path_factory.mktemp("cli")
    pq.write_table(rows, folder / "rows.parquet")
    cli = run_cli(CASE / "model.json", folder / "rows.parquet", folder / "scored.parquet")
    assert cli.returncode == 0, cli.stderr
    return pq.read_table(folder / "scored.parquet").sort_by("id")


def sorted_arrow(df) -> pa.Table:
    return pa.Table.from_pandas(df.toPandas(), preserve_index=False).sort_by("id")


def assert_predictions_equal(got: pa.Table, want: pa.Table) -> None:
    assert got.column("id").to_pylist() == want.column("id").to_pylist()
    g = got.column("prediction").to_numpy().view(np.uint64)
    w = want.column("prediction").to_numpy().view(np.uint64)
    assert (g == w).all(), f"{(g != w).sum()} rows differ"


def test_score_dataframe_equals_the_cli(spark, rows, cli_scored) -> None:
    df = spark.createDataFrame(rows).repartition(PARTITIONS, "id")
    assert df.rdd.getNumPartitions() == PARTITIONS
    scored = score_dataframe(df, CASE / "model.json")
    assert scored.columns == [*rows.schema.names, "prediction"]
    assert_predictions_equal(sorted_arrow(scored), cli_scored)
    # The pandas-UDF variant for older Spark gives the same rows.
    via_pandas = score_dataframe_pandas(df, scorewell.load(CASE / "model.json"))
    assert_predictions_equal(sorted_arrow(via_pandas), cli_scored)


def test_each_executor_process_builds_the_model_once(spark, rows) -> None:
    df = spark.createDataFrame(rows).repartition(PARTITIONS * 2, "id")
    # A model no other test in those processes has built: trailing whitespace, new digest.
    model = (CASE / "model.json").read_bytes() + b"\n\n\n"
    score, schema = arrow_mapper(df, model)

    def score_and_report(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        # Worker processes are reused across tasks and tests: count this model's builds as
        # the growth of the process's counter from before its first batch.
        before = scorewell.build_count()
        for out in score(batches):
            report = {"pid": os.getpid(), "before": before, "after": scorewell.build_count()}
            for name, value in report.items():
                out = out.append_column(name, pa.array([value] * out.num_rows, pa.int64()))
            yield out

    schema = schema.add("pid", LongType()).add("before", LongType()).add("after", LongType())
    report = df.mapInArrow(score_and_report, schema)
    seen = report.groupBy("pid").agg(
        F.min("before").alias("before"), F.max("after").alias("after"), F.count("id").alias("rows")
    )
    seen = seen.collect()
    assert sum(r["rows"] for r in seen) == rows.num_rows
    assert seen and all(r["after"] - r["before"] == 1 for r in seen), seen


def test_schema_errors_are_raised_on_the_driver(spark, rows) -> None:
    df = spark.createDataFrame(rows).drop("f0")
    with pytest.raises(scorewell.SchemaError, match="input has no column `f0`"):
        score_dataframe(df, CASE / "model.json")


def test_string_columns_pass_through_unchanged(spark, rows, cli_scored) -> None:
    # Text the model does not read (nulls, non-ASCII, empty) comes back as it went in, beside
    # predictions equal to the CLI's.
    notes = pa.array(
        [None if i % 7 == 0 else ("" if i % 11 == 0 else f"row {i}: café ✓") for i in range(rows.num_rows)],
        pa.string(),
    )
    with_text = rows.append_column("note", notes)
    df = spark.createDataFrame(with_text).repartition(PARTITIONS, "id")
    for scored in (
        score_dataframe(df, CASE / "model.json"),
        score_dataframe_pandas(df, scorewell.load(CASE / "model.json")),
    ):
        assert scored.columns == [*with_text.schema.names, "prediction"]
        got = sorted_arrow(scored)
        assert got.column("note").to_pylist() == with_text.column("note").to_pylist()
        assert_predictions_equal(got, cli_scored)


@pytest.mark.parametrize("case", ["xgboost_3_2_multi_softprob", "lightgbm_4_7_multiclass"])
def test_several_outputs_come_back_as_columns_equal_to_the_cli(spark, case, tmp_path) -> None:
    # Several output columns travel back as one struct and are taken apart in the JVM (the
    # Arrow-UDF route of Spark 4.1+); their values equal the CLI's bit for bit.
    folder = ROOT / "tests/conformance/cases" / case
    model = next(p for p in folder.iterdir() if p.name.startswith("model."))
    table = pq.read_table(folder / "input.parquet")
    table = table.add_column(0, "id", pa.array(np.arange(table.num_rows, dtype=np.int64)))
    pq.write_table(table, tmp_path / "rows.parquet")
    cli = run_cli(model, tmp_path / "rows.parquet", tmp_path / "scored.parquet")
    assert cli.returncode == 0, cli.stderr
    want = pq.read_table(tmp_path / "scored.parquet").sort_by("id")
    outputs = [n for n in want.schema.names if n not in table.schema.names]
    assert len(outputs) > 1

    df = spark.createDataFrame(table).repartition(PARTITIONS, "id")
    scored = score_dataframe(df, model)
    assert scored.columns == [*table.schema.names, *outputs]
    got = sorted_arrow(scored)
    for name in outputs:
        g = got.column(name).to_numpy().view(np.uint64)
        w = want.column(name).to_numpy().view(np.uint64)
        assert (g == w).all(), f"{name}: {(g != w).sum()} rows differ"


def test_a_nearest_neighbour_bundle_scores_a_dataframe_of_embeddings(spark, tmp_path) -> None:
    """Embeddings in an array<double> column, the Annoy index shipped inside the bundle's bytes
    (no temporary file on the executors): each row gets annoy's neighbours."""
    import math

    from conftest import ANNOY_CASES, annoy_bundle

    case = ANNOY_CASES / "euclidean_300x16"
    bundle = annoy_bundle(tmp_path, "euclidean_300x16", "euclidean", 16, 4)
    queries = [[math.cos(i * 0.7 + r) * 2 for i in range(16)] for r in range(40)]
    df = spark.createDataFrame([(r, q) for r, q in enumerate(queries)], "id long, emb array<double>").repartition(
        PARTITIONS
    )
    got = {row["id"]: row["neighbors"] for row in score_dataframe(df, str(bundle)).collect()}
    index = scorewell.AnnoyIndex.load(case / "index.ann", dims=16, metric="euclidean")
    for r, q in enumerate(queries):
        assert got[r] == index.get_nns_by_vector(q, 4), f"row {r}"


def test_a_model_set_bundle_scores_unchanged_after_repartitioning_by_key(spark, tmp_path) -> None:
    """The documented pattern (docs/ROUTING.md): repartition by the key, so each executor
    builds only the models of its keys; the rows equal local scoring bit for bit."""
    cases = ROOT / "tests/routing/cases/xgboost"
    bundle = scorewell.bundle.model_set(
        "device_id",
        {p.stem: p for p in (cases / "models").iterdir()},
        default=cases / "default.json",
    )
    path = tmp_path / "devices.zip"
    bundle.save(path)
    rows = pq.read_table(cases / "input.parquet")
    rows = rows.add_column(0, "id", pa.array(np.arange(rows.num_rows, dtype=np.int64)))
    local = scorewell.load(path).score(rows).sort_by("id")
    df = spark.createDataFrame(rows).repartition(PARTITIONS, "device_id")
    scored = score_dataframe(df, path)
    assert_predictions_equal(sorted_arrow(scored), local)
