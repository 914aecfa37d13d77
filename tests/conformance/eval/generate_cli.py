#!/usr/bin/env python3
"""Generate the end-to-end `scorewell eval` fixture: a small XGBoost multi:softprob model, its
labelled input as parquet (float32 features, int64 labels, a few missing values) and
scikit-learn's metrics on XGBoost's own probabilities.

Usage: .venv/bin/python tests/conformance/eval/generate_cli.py [--out DIR] [--seed N]
       (default: cli/xgboost_3_2_multi_softprob here, seed 20261130)

XGBoost's `predict_proba` returns float32. scikit-learn is given them as float64
(`astype(np.float64)`): scorewell reads scores as float64 and clips log loss at float64's eps,
so that is what parity means (docs/EVAL.md, "Parity assumes float64 scores"). The file also
records scikit-learn's log loss on the float32 array (clipped at float32's eps, so it differs
when a probability is within 1.2e-7 of 0 or 1), for the record only.
The CLI test `crates/scorewell-cli/tests/cli/eval.rs` runs `scorewell eval model.json --input
input.parquet --label y` (no --task: the objective says multiclass) and compares to 1e-9.
"""

import argparse
import json
import pathlib
import warnings

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import sklearn
import xgboost as xgb
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import log_loss

from generate import multiclass_expected

HERE = pathlib.Path(__file__).resolve().parent
CLASSES = 3


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, default=HERE / "cli" / "xgboost_3_2_multi_softprob")
    parser.add_argument("--seed", type=int, default=20261130)
    args = parser.parse_args()
    warnings.simplefilter("ignore", UndefinedMetricWarning)
    rng = np.random.default_rng(args.seed)

    n_train, n_eval, nf = 600, 400, 4
    X = rng.normal(size=(n_train + n_eval, nf)).astype(np.float32)
    z = X[:, 0] + 0.7 * X[:, 1] - 0.5 * X[:, 2] + 0.8 * rng.normal(size=len(X))
    y = np.digitize(z, [-0.6, 0.6])  # 3 classes, overlapping: some rows misclassified
    X[rng.random(X.shape) < 0.03] = np.nan  # missing values take the default branch
    booster = xgb.train(
        {"objective": "multi:softprob", "num_class": CLASSES, "max_depth": 3, "eta": 0.3,
         "seed": 0, "nthread": 1},
        xgb.DMatrix(X[:n_train], label=y[:n_train]),
        num_boost_round=6,
    )
    X_eval, y_eval = X[n_train:], y[n_train:]
    proba = booster.predict(xgb.DMatrix(X_eval))
    assert proba.dtype == np.float32, proba.dtype

    args.out.mkdir(parents=True, exist_ok=True)
    booster.save_model(args.out / "model.json")
    columns = {f"f{i}": pa.array(X_eval[:, i], pa.float32(), from_pandas=True) for i in range(nf)}
    columns["y"] = pa.array(y_eval.astype(np.int64))
    pq.write_table(pa.table(columns), args.out / "input.parquet")

    expected = multiclass_expected(y_eval.astype(float), proba.astype(np.float64))
    record = {
        "model": "model.json",
        "input": "input.parquet",
        "label": "y",
        "seed": args.seed,
        "producer": f"xgboost {xgb.__version__}, scikit-learn {sklearn.__version__}, numpy {np.__version__}",
        "expected": expected,
        # Not compared: scikit-learn on the float32 array clips at float32's eps and sums in float32.
        "log_loss_of_float32_scores": float(log_loss(y_eval, proba, labels=list(range(CLASSES)))),
    }
    (args.out / "expected.json").write_text(json.dumps(record, indent=1) + "\n")
    print(args.out)


if __name__ == "__main__":
    main()
