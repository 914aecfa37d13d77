"""ONNX models from Python: scored like ONNX Runtime in a wheel built with the `onnx` feature
(SCOREWELL_PY_FEATURES=onnx bash scripts/setup-python-package.sh), and refused naming that
feature in the default wheel. Which build this is comes from `_scorewell.FEATURES`, so each
build checks its own behaviour."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pyarrow as pa
import pytest

import scorewell
from conftest import ROOT

CASE = ROOT / "tests" / "conformance" / "onnx" / "tf_mlp"


def test_onnx_models_score_as_onnx_runtime_or_name_the_missing_feature() -> None:
    data = json.loads((CASE / "data.json").read_text())
    rows = data["inputs"]["features"]
    if "onnx" not in scorewell._scorewell.FEATURES:
        with pytest.raises(scorewell.UnsupportedModelError, match="`onnx` cargo feature"):
            scorewell.load(CASE / "model.onnx")
        return
    want = np.array(data["outputs"]["probs"])
    scorer = scorewell.load((CASE / "model.onnx").read_bytes(), format="onnx")
    for s in (scorer, pickle.loads(pickle.dumps(scorer))):
        out = s.score(pa.table({"features": rows}))
        got = np.stack([out.column(f"prediction_{j}").to_numpy() for j in range(3)], axis=1)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    one = scorer.score_one({"features": rows[0]})
    assert [one[f"prediction_{j}"] for j in range(3)] == pytest.approx(want[0], rel=1e-5)
