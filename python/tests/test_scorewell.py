"""Tests for the `scorewell` package (scorewell/__init__.py): results equal the CLI's bit for
bit on every conformance case, pickling builds once per process, errors carry the CLI's
messages, and pandas/pyarrow round trips keep nulls, index and buffers."""

from __future__ import annotations

import pickle
import struct
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import scorewell
from conftest import ROOT, SPARK_CASES, Case, conformance_cases, run_cli

CASES = conformance_cases()
SPARK = conformance_cases(SPARK_CASES)


def bits(values: pa.Array | pa.ChunkedArray | pd.Series | np.ndarray) -> np.ndarray:
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        values = values.to_numpy(zero_copy_only=False)
    return np.ascontiguousarray(np.asarray(values, dtype=np.float64)).view(np.uint64)


def assert_same_outputs(got, want: pa.Table, names: list[str], what: str) -> None:
    for name in names:
        g, w = bits(got[name]), bits(want[name])
        bad = np.flatnonzero(g != w)
        assert bad.size == 0, (
            f"{what}: column {name}: {bad.size} of {len(w)} rows differ; first at row {bad[0]}:\n"
            f"  cli:    {w.view(np.float64)[bad[0]]!r}\n  python: {g.view(np.float64)[bad[0]]!r}"
        )


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_conformance_cases_equal_the_cli_bit_for_bit(case: Case, tmp_path: Path) -> None:
    if case.expect_error:
        with pytest.raises(scorewell.ScorewellError) as caught:
            scorewell.load(case.model)
        assert case.expect_error in str(caught.value)
        cli = run_cli(case.model, case.input, tmp_path / "out.parquet")
        assert cli.returncode == 1 and cli.message == str(caught.value)
        return
    table = pq.read_table(case.input)
    for margin in (False, True):
        scorer = scorewell.load(case.model, output_margin=margin)
        out = tmp_path / f"cli-{margin}.parquet"
        cli = run_cli(case.model, case.input, out, output_margin=margin)
        assert cli.returncode == 0, cli.stderr
        want = pq.read_table(out)
        assert want.schema.names == table.schema.names + scorer.outputs
        got = scorer.score(table)
        assert isinstance(got, pa.Table)
        assert got.schema.names == want.schema.names
        assert_same_outputs(got, want, scorer.outputs, f"{case.name} pyarrow margin={margin}")
        frame = scorer.score(table.to_pandas())
        assert_same_outputs(frame, want, scorer.outputs, f"{case.name} pandas margin={margin}")


def canonical(value: Any) -> Any:
    """`value` (from `to_pylist`) with every float replaced by its bits: equal means
    bit-identical, NaN and -0.0 included, through lists, vectors and structs."""
    if isinstance(value, float):
        return struct.pack("<d", value)
    if isinstance(value, list):
        return [canonical(v) for v in value]
    if isinstance(value, dict):
        return {k: canonical(v) for k, v in value.items()}
    return value


def assert_identical(got: pa.Table, want: pa.Table, names: list[str], what: str) -> None:
    """Columns `names` of `got` and `want` have one type and bit-identical values.

    Not `pa.Table.equals`: it calls two NaNs different, and Spark outputs hold NaN."""
    for name in names:
        g, w = got.column(name), want.column(name)
        assert g.type == w.type, f"{what}: column {name} is {g.type}, the CLI's is {w.type}"
        gv, wv = canonical(g.to_pylist()), canonical(w.to_pylist())
        bad = [i for i, (a, b) in enumerate(zip(gv, wv)) if a != b]
        assert len(gv) == len(wv) and not bad, (
            f"{what}: column {name}: {len(bad)} of {len(wv)} rows differ; first at row {bad[0]}:\n"
            f"  cli:    {w[bad[0]]!r}\n  python: {g[bad[0]]!r}"
        )


@pytest.mark.parametrize("case", SPARK, ids=[c.name for c in SPARK])
def test_spark_conformance_cases_equal_the_cli_bit_for_bit(case: Case, tmp_path: Path) -> None:
    # Saved Spark ML folders: outputs include vectors (structs) and arrays, compared whole.
    table = pq.read_table(case.input)
    scorer = scorewell.load(case.model)
    cli = run_cli(case.model, case.input, tmp_path / "out.parquet")
    assert cli.returncode == 0, cli.stderr
    want = pq.read_table(tmp_path / "out.parquet")
    got = scorer.score(table)
    assert isinstance(got, pa.Table)
    assert got.schema.names == want.schema.names
    outputs = want.schema.names[table.num_columns :]
    assert outputs, "the pipeline appends columns"
    assert_identical(got, want, want.schema.names, f"{case.name} pyarrow")
    batch = scorer.score(table.combine_chunks().to_batches()[0])
    assert isinstance(batch, pa.RecordBatch)
    assert_identical(pa.Table.from_batches([batch]), want, outputs, f"{case.name} record batch")


def unique_model(model: Path, newlines: int) -> bytes:
    # Trailing whitespace changes the digest, not the model: a model no other test has built.
    return model.read_bytes() + b"\n" * newlines


def test_pickled_copies_build_nothing_until_used_then_once(model: Path, frame: pd.DataFrame) -> None:
    scorer = scorewell.load(unique_model(model, 7), lazy=True)
    before = scorewell.build_count()
    copies = [pickle.loads(pickle.dumps(scorer)) for _ in range(50)]
    assert scorewell.build_count() == before, "unpickling builds nothing"
    results = [c.score(frame)["prediction"] for c in copies]
    assert scorewell.build_count() == before + 1
    assert all(c.digest == scorer.digest for c in copies)
    assert all(bits(r).tobytes() == bits(results[0]).tobytes() for r in results)
    scorer.score(frame)
    assert scorewell.build_count() == before + 1, "the original shares the copies' build"


def test_each_process_builds_once(model: Path, frame: pd.DataFrame, tmp_path: Path) -> None:
    pickled = tmp_path / "scorer.pkl"
    pickled.write_bytes(pickle.dumps(scorewell.load(model)))
    rows = tmp_path / "rows.pkl"
    frame.to_pickle(rows)
    script = textwrap.dedent(
        f"""
        import pickle, pandas as pd, scorewell
        data = open({str(pickled)!r}, "rb").read()
        frame = pd.read_pickle({str(rows)!r})
        for _ in range(20):
            pickle.loads(data).score(frame)
        print(scorewell.build_count())
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "1"


def test_load_accepts_paths_strings_and_bytes(model: Path) -> None:
    scorers = [
        scorewell.load(model),
        scorewell.load(str(model)),
        scorewell.load(model.read_bytes()),
        scorewell.load(bytearray(model.read_bytes())),
    ]
    assert {s.digest for s in scorers} == {scorers[0].digest}
    assert scorers[0].inputs == ["f0", "f1", "f2", "f3", "f4", "f5"]
    assert scorers[0].outputs == ["prediction"]
    assert scorewell.load(model, output_margin=True).outputs == ["margin"]
    with pytest.raises(TypeError, match="takes a path or bytes, not int"):
        scorewell.load(3)  # type: ignore[arg-type]


# (what is wrong with the file, its name, its bytes, the exception class)
BAD_MODELS = [
    ("empty", "m.json", b"  \n", scorewell.ModelLoadError),
    ("truncated", "m.json", b'{"learner": {"gradient_booster": ', scorewell.ModelLoadError),
    ("unrecognised", "m.bin", b"\x00\x01 no model here", scorewell.UnsupportedModelError),
]


@pytest.mark.parametrize("what, name, data, error", BAD_MODELS, ids=[b[0] for b in BAD_MODELS])
def test_load_errors_have_the_cli_messages(what, name, data, error, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(error) as caught:
        scorewell.load(path)
    cli = run_cli(path, tmp_path / "in.parquet", tmp_path / "out.parquet")
    assert cli.returncode == 1
    assert str(caught.value) == cli.message
    assert str(caught.value).startswith(f"{path}: ")
    with pytest.raises(error):
        scorewell.load(data)


def test_unsupported_models_raise_unsupported_model_error(tmp_path: Path) -> None:
    # A real model whose objective scorewell does not know.
    model = next(c.model for c in CASES if c.name == "xgboost_3_2_binary_logistic")
    path = tmp_path / "model.json"
    path.write_text(model.read_text().replace('"binary:logistic"', '"reg:mystery"'))
    with pytest.raises(scorewell.UnsupportedModelError, match="objective `reg:mystery`"):
        scorewell.load(path)


def test_a_missing_file_is_a_model_load_error(tmp_path: Path) -> None:
    path = tmp_path / "nope.json"
    with pytest.raises(scorewell.ModelLoadError) as caught:
        scorewell.load(path)
    assert str(caught.value) == run_cli(path, tmp_path / "in.parquet", tmp_path / "o.parquet").message


# (what, how to break the frame, the message)
SCHEMA_ERRORS = [
    (
        "missing",
        lambda f: f.drop(columns=["f0"]).assign(id="x"),
        "input has no column `f0` (needed by model feature 0); input columns are: "
        "f1, f2, f3, f4, f5, id",
    ),
    (
        "wrong type",
        lambda f: f.assign(f2=f["f2"].astype(str)),
        "column `f2` has type Utf8, expected a number (integer, float or boolean)",
    ),
    (
        "output name taken",
        lambda f: f.assign(prediction=1.0),
        None,  # the CLI's message, whatever it says
    ),
]


@pytest.mark.parametrize("what, breaks, message", SCHEMA_ERRORS, ids=[s[0] for s in SCHEMA_ERRORS])
def test_schema_errors_name_the_column_like_the_cli(
    what, breaks, message, model: Path, frame: pd.DataFrame, tmp_path: Path
) -> None:
    scorer = scorewell.load(model)
    frame = breaks(frame)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    rows = tmp_path / "rows.parquet"
    pq.write_table(table, rows)
    cli = run_cli(model, rows, tmp_path / "out.parquet")
    assert cli.returncode == 1
    expected = message or cli.message.removeprefix(f"{rows}: ")
    assert cli.message == f"{rows}: {expected}"
    for data in (frame, table, table.to_batches()[0]):
        with pytest.raises(scorewell.SchemaError) as caught:
            scorer.score(data)
        assert str(caught.value) == expected, type(data)
    with pytest.raises(scorewell.SchemaError):
        scorer.output_schema(table.schema)


@pytest.mark.parametrize(
    "values",
    [
        [1.5, "high", None],
        [1.5, b"bytes", 2.0],
        [1, 2.5, [3]],
    ],
    ids=["str", "bytes", "list"],
)
def test_object_columns_of_mixed_types_raise_schema_error_naming_the_column(
    values, model: Path, frame: pd.DataFrame
) -> None:
    frame = frame.head(3).copy()
    frame["f3"] = np.array(values, dtype=object)
    with pytest.raises(scorewell.SchemaError, match=r"^column `f3` \(pandas dtype object\)"):
        scorewell.load(model).score(frame)


def test_score_refuses_other_types(model: Path) -> None:
    with pytest.raises(TypeError, match="not list"):
        scorewell.load(model).score([[1.0, 2.0]])


def test_errors_share_one_base_class() -> None:
    for cls in (scorewell.SchemaError, scorewell.ModelLoadError, scorewell.UnsupportedModelError):
        assert issubclass(cls, scorewell.ScorewellError)
        assert cls.__module__ == "scorewell"


def test_pandas_round_trip_keeps_index_columns_and_nulls(model: Path) -> None:
    scorer = scorewell.load(model)
    frame = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "f0": [10.0, np.nan, None, 250.0],
            "f1": pd.array([1, None, 23, 4], dtype="Int64"),
            "f2": [100, 200, 300, 400],
            "f3": np.array([1.0, None, 3.0, 4.0], dtype=object),
            "f4": [True, False, True, False],
            "f5": np.array([0.1, np.nan, 0.3, 0.4], dtype=np.float32),
        },
        index=pd.Index([10, 20, 30, 40], name="row"),
    )
    out = scorer.score(frame)
    assert list(out.columns) == [*frame.columns, "prediction"]
    assert out.index.equals(frame.index)
    pd.testing.assert_frame_equal(out[frame.columns], frame)
    # The same rows as Arrow (nulls where pandas had NaN/None/NA) score identically.
    table = pa.table(
        {
            "f0": pa.array([10.0, None, None, 250.0]),
            "f1": pa.array([1, None, 23, 4], pa.int64()),
            "f2": pa.array([100, 200, 300, 400]),
            "f3": pa.array([1.0, None, 3.0, 4.0]),
            "f4": pa.array([True, False, True, False]),
            "f5": pa.array([0.1, None, 0.3, 0.4], pa.float32()),
        }
    )
    assert bits(out["prediction"]).tolist() == bits(scorer.score(table)["prediction"]).tolist()
    empty = scorer.score(frame.iloc[:0])
    assert list(empty.columns) == list(out.columns) and len(empty) == 0


def test_pyarrow_in_same_type_out_without_copies(model: Path, frame: pd.DataFrame) -> None:
    scorer = scorewell.load(model)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    chunked = pa.concat_tables([table.slice(0, 70), table.slice(70)])
    out_table = scorer.score(chunked)
    assert isinstance(out_table, pa.Table) and out_table.num_rows == table.num_rows
    batch = table.combine_chunks().to_batches()[0]
    out_batch = scorer.score(batch)
    assert isinstance(out_batch, pa.RecordBatch)
    assert out_batch.schema.names == [*batch.schema.names, "prediction"]
    assert bits(out_table["prediction"]).tolist() == bits(out_batch["prediction"]).tolist()
    # Input columns come back as the very same buffers (C Data Interface, no copy).
    for i in range(batch.num_columns):
        got = [b.address if b else None for b in out_batch.column(i).buffers()]
        want = [b.address if b else None for b in batch.column(i).buffers()]
        assert got == want, batch.schema.names[i]
    empty = scorer.score(table.schema.empty_table())
    assert empty.schema.names == out_table.schema.names and empty.num_rows == 0
    assert scorer.output_schema(table.schema) == out_batch.schema


def test_scoring_from_threads_gives_the_same_results(model: Path, frame: pd.DataFrame) -> None:
    scorer = scorewell.load(model)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    want = bits(scorer.score(table)["prediction"]).tolist()
    results: list[list[int]] = []

    def work() -> None:
        for _ in range(20):
            results.append(bits(scorer.score(table)["prediction"]).tolist())

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 80 and all(r == want for r in results)


def test_bundles_load_from_zip_folder_and_bytes_like_the_cli(
    model: Path, frame: pd.DataFrame, tmp_path: Path
) -> None:
    from conftest import cli_path

    made = {}
    for name in ("b.zip", "b"):
        done = subprocess.run(
            [str(cli_path()), "bundle", "create", "--model", str(model), "--name", "b",
             "--output", str(tmp_path / name)],
            capture_output=True, text=True,
        )
        assert done.returncode == 0, done.stderr
        made[name] = tmp_path / name
    rows = tmp_path / "rows.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), rows)
    cli = run_cli(made["b.zip"], rows, tmp_path / "out.parquet")
    assert cli.returncode == 0, cli.stderr
    want = pq.read_table(tmp_path / "out.parquet")
    scorers = [
        scorewell.load(made["b.zip"]),
        scorewell.load(made["b"]),
        scorewell.load(made["b.zip"].read_bytes()),
    ]
    scorers.append(pickle.loads(pickle.dumps(scorers[1])))
    for scorer in scorers:
        assert scorer.outputs == [n for n in want.schema.names if n not in frame.columns]
        assert_same_outputs(scorer.score(frame), want, scorer.outputs, "bundle")
    with pytest.raises(scorewell.ScorewellError, match="raw margins"):
        scorewell.load(made["b.zip"], output_margin=True)


def test_pandas_category_columns_read_as_their_values(tmp_path: Path) -> None:
    # LightGBM trained on pandas `category` columns: model.txt stores the categories
    # (pandas_categorical: color 0..2, city 0..69), and LightGBM maps a category by its value.
    case = ROOT / "tests/conformance/cases/lightgbm_4_7_categorical_pandas"
    scorer = scorewell.load(case / "model.txt")
    codes = pq.read_table(case / "input.parquet").to_pandas()  # float columns, NaN = missing
    want = bits(scorer.score(codes)["prediction"]).tolist()
    ints = {c: codes[c].astype("Int64") for c in ("color", "city")}
    assert all(s.isna().any() for s in ints.values()), "missing values take part"
    cities = sorted(ints["city"].dropna().unique())
    spellings = {
        "integer categories": codes.assign(**{c: s.astype("category") for c, s in ints.items()}),
        "string categories": codes.assign(
            **{c: s.astype(str).replace("<NA>", None).astype("category") for c, s in ints.items()}
        ),
        # Codes no longer equal values: the value decides, as in LightGBM.
        "reversed categories": codes.assign(
            city=pd.Categorical(ints["city"], categories=cities[::-1])
        ),
    }
    for what, frame in spellings.items():
        assert isinstance(frame["city"].dtype, pd.CategoricalDtype), what
        out = scorer.score(frame)
        assert bits(out["prediction"]).tolist() == want, what
        assert out["city"].equals(frame["city"]), what
    # A category the model never saw is missing, like LightGBM's pandas path (set_categories).
    unseen = codes.head(20).assign(city=pd.Categorical([999] * 20))
    missing = codes.head(20).assign(city=np.nan)
    assert bits(scorer.score(unseen)["prediction"]).tolist() == bits(
        scorer.score(missing)["prediction"]
    ).tolist()

    # A model that stores no names (XGBoost trained on codes) reads integer categories as the
    # codes they are, and refuses names it cannot map, naming the column.
    case = ROOT / "tests/conformance/cases/xgboost_3_2_categorical_partition"
    scorer = scorewell.load(case / "model.json")
    codes = pq.read_table(case / "input.parquet").to_pandas()
    want = bits(scorer.score(codes)["prediction"]).tolist()
    color = codes["color"].astype("Int64")
    assert bits(scorer.score(codes.assign(color=color.astype("category")))["prediction"]).tolist() == want
    with pytest.raises(scorewell.SchemaError, match="`color`"):
        scorer.score(codes.assign(color=color.astype(str).astype("category")))
