"""Tests for scorewell.bundle: model sets made from boosters, bytes and paths score each row
with its key's model, exactly as that model alone does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import scorewell
from conftest import ROOT

CASES = ROOT / "tests/routing/cases"


def frame(rng: np.random.Generator, n: int, keys: list[object]) -> pd.DataFrame:
    x = rng.normal(size=(n, 3))
    x[rng.random(x.shape) < 0.1] = np.nan
    df = pd.DataFrame(x, columns=["f0", "f1", "f2"])
    df.insert(0, "device_id", pd.Series([keys[i % len(keys)] for i in range(n)], dtype=object))
    return df


@pytest.fixture(scope="module")
def boosters() -> dict[str, object]:
    xgb = pytest.importorskip("xgboost")
    rng = np.random.default_rng(3)
    out = {}
    for key, cols in {"d1": ["f0", "f1"], "d2": ["f1", "f2"], "default": ["f0", "f1", "f2"]}.items():
        x = pd.DataFrame(rng.normal(size=(200, len(cols))), columns=cols)
        y = (x.sum(axis=1) + rng.normal(size=200) > 0).astype(float)
        params = {"objective": "binary:logistic", "max_depth": 3, "nthread": 1, "seed": 1}
        out[key] = xgb.train(params, xgb.DMatrix(x, label=y), num_boost_round=5)
    return out


def test_a_model_set_from_boosters_scores_each_row_as_its_model_alone(boosters, tmp_path) -> None:
    xgb = pytest.importorskip("xgboost")
    devices = scorewell.bundle.model_set(
        "device_id",
        {"d1": boosters["d1"], "d2": boosters["d2"]},
        default=boosters["default"],
        record="scored_by",
    )
    path = tmp_path / "devices.zip"
    devices.save(path)
    scorer = scorewell.load(path)
    assert scorer.inputs[0] == "device_id"
    df = frame(np.random.default_rng(5), 300, ["d1", "d2", "nope", None])
    scored = scorer.score(df)
    for key, group in df.groupby(df["device_id"].fillna("<null>"), sort=False):
        booster = boosters[key] if key in ("d1", "d2") else boosters["default"]
        cols = booster.feature_names
        want = booster.predict(xgb.DMatrix(group[cols]))
        got = scored.loc[group.index, "prediction"].to_numpy()
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
        alone = scorewell.load(bytes(booster.save_raw(raw_format="json"))).score(group[cols])
        assert (alone["prediction"].to_numpy() == got).all(), key
        label = key if key in ("d1", "d2") else "(default)"
        assert scored.loc[group.index, "scored_by"].str.startswith(f"{label}@").all()


def test_integer_keys_paths_and_the_null_policy(tmp_path: Path) -> None:
    lgb_dir = CASES / "lightgbm"
    models = {int(p.stem): p for p in (lgb_dir / "models").iterdir()}
    devices = scorewell.bundle.model_set("device_id", models, unseen="null")
    scorer = scorewell.load(devices.to_bytes())
    table = pd.read_parquet(lgb_dir / "input.parquet")
    scored = scorer.score(table)
    known = table["device_id"].isin(list(models))
    assert scored.loc[~known, "prediction"].isna().all()
    expected = pd.read_parquet(lgb_dir / "expected.parquet")["prediction"]
    np.testing.assert_allclose(scored.loc[known, "prediction"], expected[known], rtol=1e-12)


def test_models_whose_outputs_differ_are_refused_naming_the_key() -> None:
    multi = ROOT / "tests/conformance/cases/xgboost_2_1_multi_softprob/model.json"
    with pytest.raises(scorewell.ModelLoadError, match="key `multi`.*not column `prediction`"):
        scorewell.bundle.model_set(
            "device_id", {"d1": CASES / "xgboost/models/d1.json", "multi": multi}
        )


def test_bad_options_and_models_are_refused() -> None:
    d1 = (CASES / "xgboost/models/d1.json").read_bytes()
    with pytest.raises(scorewell.ScorewellError, match="unseen must be"):
        scorewell.bundle.model_set("k", {"a": d1}, unseen="skip")
    with pytest.raises(TypeError, match=r"models\['a'\]: expected model bytes"):
        scorewell.bundle.model_set("k", {"a": 3.5})
    with pytest.raises(scorewell.ModelLoadError, match="needs a `default` model"):
        scorewell.bundle.model_set("k", {"a": d1}, unseen="default")
