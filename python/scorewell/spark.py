"""Score Spark DataFrames with scorewell on the executors.

>>> from scorewell.spark import score_dataframe
>>> scored = score_dataframe(spark_df, "fraud-3.zip")     # input columns + prediction

How it works: the model's bytes are broadcast once (a :class:`scorewell.Scorer` pickles as its
bytes). On Spark 4.1 and later, the model's input columns alone go to Python through an Arrow
UDF (:func:`pyspark.sql.functions.arrow_udf`), straight into the Rust scorer, and only the
output columns come back; the DataFrame's other columns never leave the JVM. On older Spark,
each partition's Arrow batches go through :meth:`pyspark.sql.DataFrame.mapInArrow` and come
back with the input columns untouched (the same buffers) plus the output columns; that route
moves every column to Python and back, which costs most of the time for cheap models. On each
executor the first batch builds the model; every later task in that Python worker process
reuses it (the process-wide cache keyed by the bytes' sha256), so a model is built once per
worker process.

The output schema is derived on the driver from the scorer and the DataFrame's schema, so a
missing or wrong-typed column fails there, before any task runs, with the same message the
CLI gives.

Older Spark (3.0–3.2, no ``mapInArrow``): :func:`score_dataframe_pandas` does the same through
``mapInPandas`` (a pandas UDF over partitions), at the price of a pandas round trip per batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from . import ModelSource, Scorer, load

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame
    from pyspark.sql.types import StructType

__all__ = ["arrow_mapper", "output_struct", "score_dataframe", "score_dataframe_pandas"]


def score_dataframe(
    df: DataFrame,
    model: Scorer | ModelSource,
    *,
    output_margin: bool = False,
    format: str | None = None,
) -> DataFrame:
    """Score ``df`` on the executors: its columns followed by the model's output columns.

    Args:
        df: the rows to score; the model's inputs are found by column name, other columns pass
            through. Integer, float and boolean columns (nulls are missing values), and string
            columns for categorical features whose model stores category names.
        model: a :class:`scorewell.Scorer`, or a path/bytes for :func:`scorewell.load`.
        output_margin: raw margins instead of predictions (when ``model`` is a path or bytes).
        format: force a model format by name (when ``model`` is a path or bytes).

    Returns:
        A lazy DataFrame (an Arrow UDF on Spark 4.1+, ``df.mapInArrow`` before); nothing runs
        until an action.

    Raises:
        scorewell.SchemaError: a model input is missing from ``df`` or has a type the model
            cannot read (raised here, on the driver).
    """
    scorer = _as_scorer(model, output_margin, format)
    schema = output_struct(df.schema, scorer)
    inputs = [name for name in scorer.inputs if name in df.columns]
    arrow_udf = _arrow_udf()
    if arrow_udf is None or not inputs:
        func, schema = arrow_mapper(df, scorer)
        return df.mapInArrow(func, schema)
    return _score_with_arrow_udf(df, scorer, inputs, schema, arrow_udf)


def _arrow_udf() -> Any:
    """``pyspark.sql.functions.arrow_udf`` (Spark 4.1+), or None."""
    try:
        from pyspark.sql.functions import arrow_udf
    except ImportError:
        return None
    return arrow_udf


def _score_with_arrow_udf(
    df: DataFrame, scorer: Scorer, inputs: list[str], schema: StructType, arrow_udf: Any
) -> DataFrame:
    """Send only ``inputs`` to Python and bring back only the output columns (a struct of
    them when there are several, taken apart again in the JVM)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StructType

    added = StructType(schema.fields[len(df.schema.fields) :])
    shipped = _ship(df, scorer)
    first_output = len(inputs)

    # The type hints make it a scalar Arrow UDF (arrays in, an array out).
    def score_arrays(*arrays: pa.Array) -> pa.Array:
        batch = pa.RecordBatch.from_arrays(list(arrays), names=inputs)
        out = shipped().score(batch)
        if out.num_columns - first_output == 1:
            return out.column(first_output)
        fields = [out.schema.field(i) for i in range(first_output, out.num_columns)]
        return pa.StructArray.from_arrays(out.columns[first_output:], fields=fields)

    def col(name: str) -> Any:
        return F.col("`" + name.replace("`", "``") + "`")

    args = [col(name) for name in inputs]
    if len(added.fields) == 1:
        udf = arrow_udf(score_arrays, added.fields[0].dataType)
        return df.select("*", udf(*args).alias(added.fields[0].name))
    # Non-deterministic, so the optimizer cannot copy the call into each field it takes out.
    udf = arrow_udf(score_arrays, added).asNondeterministic()
    packed = "__scorewell_outputs"
    with_outputs = df.select("*", udf(*args).alias(packed))
    return with_outputs.select(
        *[col(name) for name in df.columns],
        *[col(packed).getField(f.name).alias(f.name) for f in added.fields],
    )


def score_dataframe_pandas(
    df: DataFrame,
    model: Scorer | ModelSource,
    *,
    output_margin: bool = False,
    format: str | None = None,
) -> DataFrame:
    """:func:`score_dataframe` for Spark without ``mapInArrow`` (3.0–3.2): uses ``mapInPandas``.

    Same arguments, result and errors; each batch makes a round trip through pandas, so prefer
    :func:`score_dataframe` where it exists.
    """
    scorer = _as_scorer(model, output_margin, format)
    schema = output_struct(df.schema, scorer)
    shipped = _ship(df, scorer)

    def score_partition(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        scorer = shipped()
        for frame in frames:
            yield scorer.score(frame)

    return df.mapInPandas(score_partition, schema)


def arrow_mapper(
    df: DataFrame,
    model: Scorer | ModelSource,
    *,
    output_margin: bool = False,
    format: str | None = None,
) -> tuple[Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]], StructType]:
    """The function and schema :func:`score_dataframe` hands to ``df.mapInArrow``.

    For composing scoring with other per-partition work in one Python pass: wrap the
    function, extend the schema, and call ``df.mapInArrow`` yourself. The model is broadcast
    when this is called.
    """
    scorer = _as_scorer(model, output_margin, format)
    schema = output_struct(df.schema, scorer)
    shipped = _ship(df, scorer)

    def score_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        scorer = shipped()
        for batch in batches:
            yield scorer.score(batch)

    return score_partition, schema


def output_struct(schema: StructType, model: Scorer | ModelSource) -> StructType:
    """The Spark schema of scored rows for input rows of ``schema``.

    Raises:
        scorewell.SchemaError: a model input is missing or has a type the model cannot read.
    """
    from pyspark.sql.pandas.types import from_arrow_type, to_arrow_schema
    from pyspark.sql.types import StructField, StructType

    scorer = model if isinstance(model, Scorer) else load(model)
    arrow_out = scorer.output_schema(to_arrow_schema(schema))
    added = [
        StructField(f.name, from_arrow_type(f.type), f.nullable)
        for f in list(arrow_out)[len(schema.fields) :]
    ]
    return StructType([*schema.fields, *added])


def _as_scorer(model: Scorer | ModelSource, output_margin: bool, format: str | None) -> Scorer:
    if isinstance(model, Scorer):
        return model
    return load(model, output_margin=output_margin, format=format)


def _ship(df: DataFrame, scorer: Scorer) -> Callable[[], Scorer]:
    """A picklable getter for ``scorer`` on the executors: a broadcast of its bytes, or (Spark
    Connect, which has no broadcasts) the scorer itself pickled with the function."""
    try:
        broadcast: Any = df.sparkSession.sparkContext.broadcast(scorer)
    except Exception:  # Spark Connect: no SparkContext on the client
        return lambda: scorer
    return lambda: broadcast.value
