"""The online path: `Scorer.score_one` (a dict), `score_rows` (a list of dicts) and `predict`
(a NumPy array) score exactly as `score` does on a DataFrame of the same rows, on every
conformance case; they read missing values, types and shapes as documented; and scoring lets
other Python threads run."""

from __future__ import annotations

import asyncio
import json
import math
import pickle
import struct
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import scorewell
from conftest import ROOT, SPARK_CASES, Case, conformance_cases

SKLEARN_CASES = ROOT / "tests/conformance/sklearn/cases"
KERAS_CASES = ROOT / "tests/conformance/keras"
EVERY = [
    c
    for root in (ROOT / "tests/conformance/cases", SPARK_CASES, SKLEARN_CASES)
    for c in conformance_cases(root)
    if not c.expect_error
]
FRAUD = ROOT / "examples/fraud/bundle"


def canonical(value: Any) -> Any:
    """`value` with floats as their bits (NaN as one NaN: Arrow nulls come back as NaN in
    pandas and as None here, so both are "missing")."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "missing"
    if isinstance(value, (float, np.floating)):
        return struct.pack("<d", float(value))
    if isinstance(value, (np.integer, np.bool_)):
        return value.item()
    if isinstance(value, (list, tuple, np.ndarray)):
        return [canonical(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"type", "size", "indices", "values"}:
            return canonical(dense(value))  # an ML vector: dicts get it as a dense list
        return {k: canonical(v) for k, v in value.items()}
    return value


def dense(vector: dict[str, Any]) -> list[float]:
    """A Spark ML vector (the DataFrame path's struct) as its dense values."""
    if vector["type"] == 1:
        return list(vector["values"])
    out = [0.0] * int(vector["size"])
    for i, v in zip(vector["indices"], vector["values"]):
        out[i] = v
    return out


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The frame's rows as dicts of plain values, missing as None (what a service has)."""
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return [{str(k): v for k, v in row.items()} for row in rows]


def expected(scorer: scorewell.Scorer, frame: pd.DataFrame) -> list[dict[str, Any] | None]:
    """What `score(frame)` gives, a dict per input row; None for a row the pipeline dropped."""
    frame = frame.reset_index(drop=True)
    scored = scorer.score(frame)
    names = [name for name in scorer.outputs if name in scored.columns]
    by_row = {i: {name: scored[name].iloc[k] for name in names} for k, i in enumerate(scored.index)}
    return [by_row.get(i) for i in range(len(frame))]


@pytest.mark.parametrize("case", EVERY, ids=[c.name for c in EVERY])
def test_dicts_and_arrays_score_as_the_dataframe_path_on_every_case(case: Case) -> None:
    # Python floats are doubles: the frame's float32 columns are compared as float64.
    frame = pq.read_table(case.input).to_pandas()
    frame = frame.astype({c: np.float64 for c in frame.columns if frame[c].dtype == np.float32})
    scorer = scorewell.load(case.model)
    try:
        want = [canonical(r) for r in expected(scorer, frame)]
    except scorewell.ScorewellError as e:
        # Cases that score with an error (sklearn's handle_unknown='error') fail the same way.
        with pytest.raises(type(e)):
            scorer.score_rows(records(frame))
        return
    rows = records(frame)
    assert [canonical(r) for r in scorer.score_rows(rows)] == want
    for i in (0, len(rows) // 2, len(rows) - 1):
        assert canonical(scorer.score_one(rows[i])) == want[i], f"row {i}"
    numeric = set(scorer._native.numeric_inputs())
    inputs = [c for c in scorer.inputs if c in frame.columns]
    if inputs and all(c in numeric for c in inputs) and all(
        frame[c].dtype.kind in "fiub" for c in inputs
    ):
        x = frame[inputs].to_numpy(dtype=np.float64)
        got = scorer.predict(x, columns=inputs)
        assert_array_matches(got, want, scorer.outputs)


def assert_array_matches(got: Any, want: list[dict[str, Any]], outputs: list[str]) -> None:
    if isinstance(got, dict):
        for name, column in got.items():
            assert [canonical(v) for v in column] == [w[name] for w in want], name
    elif got.ndim == 1:
        assert [canonical(v) for v in got] == [w[outputs[0]] for w in want]
    else:
        assert got.shape == (len(want), len(outputs))
        for k, name in enumerate(outputs):
            assert [canonical(v) for v in got[:, k]] == [w[name] for w in want], name


@pytest.fixture(scope="module")
def xgb() -> scorewell.Scorer:
    """XGBoost binary:logistic over f0..f5 (inputs in that order)."""
    return scorewell.load(ROOT / "tests/conformance/cases/xgboost_3_2_missing_nan_null/model.json")


def test_missing_key_none_and_nan_are_all_missing(xgb: scorewell.Scorer) -> None:
    full = {f"f{i}": 0.5 * i for i in range(6)}
    frame = pd.DataFrame([full, {**full, "f2": None}])
    want = xgb.score(frame)["prediction"].tolist()
    assert xgb.score_one(full) == {"prediction": want[0]}
    holed = [{k: v for k, v in full.items() if k != "f2"}, {**full, "f2": None}, {**full, "f2": float("nan")}]
    assert [r["prediction"] for r in xgb.score_rows(holed)] == [want[1]] * 3
    assert xgb.score_one({**full, "unrelated": "ignored"}) == {"prediction": want[0]}


def test_ints_bools_and_numpy_scalars_read_as_numbers(xgb: scorewell.Scorer) -> None:
    row = {"f0": 1, "f1": True, "f2": np.float32(0.25), "f3": np.int64(-3), "f4": 2.5, "f5": 0}
    as_floats = {k: float(v) for k, v in row.items()}
    assert xgb.score_one(row) == xgb.score_one(as_floats)
    assert xgb.score_one(row)["prediction"] == xgb.score(pd.DataFrame([as_floats]))["prediction"][0]


def test_wrong_types_raise_schema_error_naming_the_key(xgb: scorewell.Scorer) -> None:
    # The model's own check, as for a DataFrame column of strings.
    with pytest.raises(scorewell.SchemaError, match=r"column `f3` has type Utf8, expected a number"):
        xgb.score_one({"f3": "abc"})
    with pytest.raises(scorewell.SchemaError, match=r"column `f1` holds values of mixed types: \[1, 2\] \(list\) in row 1 after float values"):
        xgb.score_rows([{"f1": 1.0}, {"f1": [1, 2]}])
    with pytest.raises(scorewell.SchemaError, match=r"column `f2` has type \{'a': 1\} \(dict\) in row 0"):
        xgb.score_one({"f2": {"a": 1}})
    with pytest.raises(TypeError, match="item 1 is a int"):
        xgb.score_rows([{"f1": 1.0}, 5])
    with pytest.raises(TypeError, match="takes a dict"):
        xgb.score_one([1.0, 2.0])  # type: ignore[arg-type]
    assert xgb.score_rows([]) == []


def test_fraud_bundle_from_dicts(tmp_path: Path) -> None:
    scorer = scorewell.load(FRAUD)
    frame = pd.read_csv(ROOT / "examples/fraud/transactions.csv").head(200)
    want = expected(scorer, frame)
    rows = records(frame)
    got = scorer.score_rows(rows)
    assert [canonical(r) for r in got] == [canonical(r) for r in want]
    one = scorer.score_one(rows[3])
    assert set(one) == {"fraud_probability", "decision"} and isinstance(one["decision"], str)
    # An unseen country and a missing channel, as the bundle's indexers handle them.
    odd = {**rows[3], "country": "ZZ", "channel": None}
    frame_odd = pd.DataFrame([odd]).astype({"channel": object})
    assert canonical(scorer.score_one(odd)) == canonical(expected(scorer, frame_odd)[0])
    with pytest.raises(scorewell.SchemaError, match="`country` holds values of mixed types"):
        scorer.score_rows([rows[0], {**rows[1], "country": 7}])


def test_predict_layouts_dtypes_and_names(xgb: scorewell.Scorer) -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(300, 6))
    x[rng.random(x.shape) < 0.1] = np.nan
    frame = pd.DataFrame(x, columns=xgb.inputs)
    want = xgb.score(frame)["prediction"].to_numpy()
    got = xgb.predict(x)
    assert got.dtype == np.float64 and got.shape == (300,)
    assert got.tobytes() == want.tobytes()
    assert xgb.predict(np.asfortranarray(x)).tobytes() == want.tobytes()
    assert xgb.predict(x[::2]).tobytes() == want[::2].tobytes()  # strided rows
    assert xgb.predict(x[5]).tobytes() == want[5:6].tobytes()  # 1-D: one row
    assert xgb.predict(x.tolist()).tobytes() == want.tobytes()  # array-like
    # Named columns, in another order and with an extra one.
    names = list(reversed(xgb.inputs)) + ["extra"]
    shuffled = np.column_stack([x[:, ::-1], np.ones(300)])
    assert xgb.predict(shuffled, columns=names).tobytes() == want.tobytes()
    # float32 scores as a float32 DataFrame does.
    x32 = x.astype(np.float32)
    want32 = xgb.score(pd.DataFrame(x32, columns=xgb.inputs))["prediction"].to_numpy()
    assert xgb.predict(x32).tobytes() == want32.tobytes()
    assert xgb.predict(np.asfortranarray(x32)).tobytes() == want32.tobytes()
    ints = np.arange(12).reshape(2, 6)
    assert xgb.predict(ints).tobytes() == xgb.predict(ints.astype(np.float64)).tobytes()
    assert xgb.predict(np.empty((0, 6))).shape == (0,)


def test_predict_refuses_bad_shapes(xgb: scorewell.Scorer) -> None:
    with pytest.raises(scorewell.SchemaError, match=r"the array has 5 columns; the model reads 6 inputs in this order: f0, f1"):
        xgb.predict(np.zeros((2, 5)))
    with pytest.raises(scorewell.SchemaError, match="2 names were given"):
        xgb.predict(np.zeros((2, 6)), columns=["f0", "f1"])
    with pytest.raises(TypeError, match="3-D"):
        xgb.predict(np.zeros((2, 3, 1)))
    with pytest.raises(TypeError, match="numeric array"):
        xgb.predict(np.array([["a"] * 6]))
    with pytest.raises(scorewell.SchemaError, match="f5"):
        xgb.predict(np.zeros((2, 6)), columns=["f0", "f1", "f2", "f3", "f4", "g"])


def test_predict_shapes_follow_the_outputs() -> None:
    multiclass = scorewell.load(ROOT / "tests/conformance/cases/xgboost_3_2_multi_softprob/model.json")
    n = len(multiclass.inputs)
    x = np.random.default_rng(3).normal(size=(10, n))
    got = multiclass.predict(x)
    assert got.shape == (10, len(multiclass.outputs)) and len(multiclass.outputs) > 1
    frame = multiclass.score(pd.DataFrame(x, columns=multiclass.inputs))
    for k, name in enumerate(multiclass.outputs):
        assert got[:, k].tobytes() == frame[name].to_numpy().tobytes()
    classifier = next(c for c in conformance_cases(SKLEARN_CASES) if c.name == "logreg_multiclass")
    sk = scorewell.load(classifier.model)
    frame = pq.read_table(classifier.input).to_pandas()
    x = frame[sk.inputs].to_numpy(dtype=np.float64)
    got = sk.predict(x)
    assert isinstance(got, dict) and list(got) == sk.outputs
    scored = sk.score(frame)
    assert got["label"].tolist() == scored["label"].tolist()


def test_scoring_releases_the_gil(xgb: scorewell.Scorer) -> None:
    # While one thread scores, another Python thread keeps running. With a switch interval far
    # longer than the test, the interpreter never takes the GIL from the scoring thread, so the
    # counter can only tick while the native call has released it (a held GIL gives 0 ticks).
    # Scoring repeats for a fixed time rather than a fixed size, so a fast or busy machine
    # (CI's two cores, shared with the scoring threads) still gives the counter time to run.
    x = np.random.default_rng(1).normal(size=(200_000, 6))
    xgb.predict(x[:10])
    ticks = 0
    done = threading.Event()

    def count() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            time.sleep(0)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1000.0)
    try:
        worker = threading.Thread(target=count)
        worker.start()
        start = ticks
        began = time.perf_counter()
        while time.perf_counter() - began < 0.3:
            xgb.predict(x)
        during = ticks - start
        done.set()
        worker.join()
    finally:
        sys.setswitchinterval(interval)
    assert during > 10, f"the other thread ran {during} times while scoring"


def test_threads_and_asyncio_give_the_same_results(xgb: scorewell.Scorer) -> None:
    rng = np.random.default_rng(2)
    rows = [{f"f{i}": float(v) for i, v in enumerate(rng.normal(size=6))} for _ in range(64)]
    want = xgb.score_rows(rows)
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(xgb.score_one, rows)) == want

    async def serve() -> list[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        return list(await asyncio.gather(*(loop.run_in_executor(None, xgb.score_one, r) for r in rows)))

    assert asyncio.run(serve()) == want


KERAS = sorted(p.parent for p in KERAS_CASES.glob("*/case.json"))


def keras_file(case: Path) -> Path:
    """The case's whole-model file: a Keras 3 archive, else a legacy (Keras 2) `.h5`."""
    archive = case / "model.keras"
    return archive if archive.exists() else case / "model.h5"


@pytest.mark.parametrize("case", KERAS, ids=[p.name for p in KERAS])
def test_keras_tensors_from_dicts_of_lists(case: Path) -> None:
    # Each input is a tensor flattened row-major: lists, nested lists or numpy arrays.
    scorer = scorewell.load(keras_file(case))
    inputs = json.loads((case / "data.json").read_text())["inputs"]
    n = len(next(iter(inputs.values())))
    frame = pa.table({k: pa.array([np.ravel(v).tolist() for v in vs]) for k, vs in inputs.items()})
    want = [canonical(r) for r in expected(scorer, frame.to_pandas())]
    nested = [{k: vs[i] for k, vs in inputs.items()} for i in range(n)]
    assert [canonical(r) for r in scorer.score_rows(nested)] == want
    arrays = [{k: np.asarray(v) for k, v in r.items()} for r in nested]
    assert [canonical(r) for r in scorer.score_rows(arrays)] == want
    assert canonical(scorer.score_one(nested[1])) == want[1]


def test_keras_json_and_weights_load_from_paths_and_bytes_and_pickle_as_one_blob() -> None:
    # The Spark pattern: to_json() + save_weights() shipped as bytes, built once per process.
    case = KERAS_CASES / "mlp_sequential"
    inputs = json.loads((case / "data.json").read_text())["inputs"]
    frame = pa.table({k: pa.array(vs) for k, vs in inputs.items()})
    want = scorewell.load(case / "model.keras").score(frame)
    parts = scorewell.load(case / "model.json", weights=case / "model.weights.h5")
    from_bytes = scorewell.load(
        (case / "model.json").read_bytes(), weights=(case / "model.weights.h5").read_bytes()
    )
    for scorer in (parts, from_bytes, pickle.loads(pickle.dumps(from_bytes))):
        assert scorer.score(frame).equals(want)
    # A .keras archive's bytes need no file name: its members say what it is.
    assert scorewell.load((case / "model.keras").read_bytes()).score(frame).equals(want)
    with pytest.raises(scorewell.ModelLoadError, match="model.to_json"):
        scorewell.load(b'{"learner": {}}', weights=b"")
    with pytest.raises(TypeError, match="sha256"):
        scorewell.load(case / "model.json", weights=case / "model.weights.h5", sha256="0" * 64)
