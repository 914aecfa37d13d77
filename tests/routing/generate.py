"""Per-key models for the model-set tests, made by the real libraries, with their predictions.

Writes <out>/xgboost/ and <out>/lightgbm/, each with
  models/<key>.json|.txt  one model per key, trained on that key's rows (the feature sets
                          differ per key; the outputs agree)
  default.json|.txt       the model for unseen keys, trained on every row
  input.parquet           the key column (with nulls and unseen keys) and features f0..f3
                          (with NaN)
  expected.parquet        `prediction`: each row scored by its key's model (the default for
                          unseen and null keys) through the library's own predict()

XGBoost keys are strings; LightGBM keys are integers. Seeded and single-threaded: rerunning
with the pinned libraries (tests/conformance/requirements.txt) gives the same files.

Usage: .venv/bin/python tests/routing/generate.py [--out DIR]   (default: tests/routing/cases)
"""

import argparse
import pathlib

import lightgbm as lgb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import xgboost as xgb

FEATURES = ["f0", "f1", "f2", "f3"]


def data(rng, n):
    x = rng.normal(size=(n, len(FEATURES)))
    x[rng.random(x.shape) < 0.08] = np.nan
    logit = 1.2 * np.nan_to_num(x[:, 0]) - 0.8 * np.nan_to_num(x[:, 1]) + 0.5 * np.nan_to_num(x[:, 2] * x[:, 3])
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.float64)
    return pd.DataFrame(x, columns=FEATURES), y


def write(df, path):
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path)


def xgboost_case(out, rng):
    keys = {"d1": ["f0", "f1", "f2"], "d2": ["f1", "f2", "f3"], "d3": FEATURES}
    (out / "models").mkdir(parents=True, exist_ok=True)
    params = {"objective": "binary:logistic", "max_depth": 3, "eta": 0.3, "nthread": 1, "seed": 7}
    models = {}
    for key, cols in keys.items():
        x, y = data(rng, 300)
        booster = xgb.train(params, xgb.DMatrix(x[cols], label=y), num_boost_round=8)
        booster.save_model(out / "models" / f"{key}.json")
        models[key] = (xgb.Booster(model_file=out / "models" / f"{key}.json"), cols)
    x, y = data(rng, 600)
    booster = xgb.train(params, xgb.DMatrix(x, label=y), num_boost_round=8)
    booster.save_model(out / "default.json")
    default = (xgb.Booster(model_file=out / "default.json"), FEATURES)
    choices = np.array(["d1", "d2", "d3", "unseen", None], dtype=object)
    return finish(out, rng, choices, models, default, lambda m, x: m.predict(xgb.DMatrix(x)).astype(np.float64))


def lightgbm_case(out, rng):
    keys = {7: ["f0", "f1"], 13: ["f0", "f2", "f3"], 42: FEATURES}
    (out / "models").mkdir(parents=True, exist_ok=True)
    params = {"objective": "binary", "num_leaves": 7, "learning_rate": 0.2, "min_data_in_leaf": 5,
              "num_threads": 1, "seed": 7, "deterministic": True, "verbose": -1}
    models = {}
    for key, cols in keys.items():
        x, y = data(rng, 300)
        booster = lgb.train(params, lgb.Dataset(x[cols], label=y), num_boost_round=8)
        booster.save_model(out / "models" / f"{key}.txt")
        models[key] = (lgb.Booster(model_file=out / "models" / f"{key}.txt"), cols)
    x, y = data(rng, 600)
    booster = lgb.train(params, lgb.Dataset(x, label=y), num_boost_round=8)
    booster.save_model(out / "default.txt")
    default = (lgb.Booster(model_file=out / "default.txt"), FEATURES)
    choices = np.array([7, 13, 42, 99, None], dtype=object)
    return finish(out, rng, choices, models, default, lambda m, x: m.predict(x, num_threads=1))


def finish(out, rng, choices, models, default, predict):
    n = 200
    x, _ = data(rng, n)
    key = choices[rng.integers(0, len(choices), n)]
    expected = np.empty(n)
    for i in range(n):
        model, cols = models.get(key[i], default)
        expected[i] = predict(model, x.iloc[[i]][cols])[0]
    # The same rows again, scored per group, must agree: predict is row-independent.
    for k, (model, cols) in models.items():
        rows = np.array([v == k for v in key])
        if rows.any():
            np.testing.assert_array_equal(predict(model, x[rows][cols]), expected[rows])
    frame = pd.DataFrame({"device_id": pd.array(key, dtype="Int64" if isinstance(choices[0], (int, np.integer)) else "string")})
    frame = pd.concat([frame, x], axis=1)
    write(frame, out / "input.parquet")
    write(pd.DataFrame({"prediction": expected}), out / "expected.parquet")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=pathlib.Path(__file__).parent / "cases", type=pathlib.Path)
    args = parser.parse_args()
    rng = np.random.default_rng(14)
    xgboost_case(args.out / "xgboost", rng)
    lightgbm_case(args.out / "lightgbm", rng)


if __name__ == "__main__":
    main()
