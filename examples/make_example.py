#!/usr/bin/env python3
"""Build the bundled example: a small XGBoost fraud model and transactions to score.

    .venv/bin/python examples/make_example.py

Writes (seeded, reproducible with the pinned .venv):
  examples/fraud/model.json         XGBoost binary:logistic, 50 trees, max_depth 4
  examples/fraud/transactions.csv   1000 transactions to score; an empty cell = missing

The model is trained on a separate synthetic sample; the CSV holds fresh rows from the same
generator, with a `transaction_id` column the model does not use (scorewell passes it through).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb

HERE = Path(__file__).resolve().parent / "fraud"
SEED = 7
FEATURES = ["amount", "hour", "account_age_days", "n_tx_24h", "is_foreign", "merchant_risk"]


def transactions(n: int, rng: np.random.Generator) -> pd.DataFrame:
    amount = np.round(rng.lognormal(3.6, 1.1, n), 2)  # median ~ 37, long tail
    hour = rng.integers(0, 24, n)
    account_age_days = rng.integers(0, 3650, n)
    n_tx_24h = rng.poisson(2.0, n)
    is_foreign = (rng.random(n) < 0.12).astype(np.int64)
    merchant_risk = np.round(rng.beta(2.0, 8.0, n), 3)

    # Ground truth: fraud is likelier for large amounts at night on new accounts with bursts of
    # activity abroad at risky merchants.
    night = (hour < 6) | (hour >= 23)
    logit = (
        -5.0
        + 0.9 * np.log1p(amount / 100.0)
        + 1.1 * night
        + 1.4 * (account_age_days < 30)
        + 0.35 * np.minimum(n_tx_24h, 10)
        + 1.2 * is_foreign
        + 4.0 * merchant_risk
    )
    fraud = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)

    df = pd.DataFrame({
        "amount": amount,
        "hour": hour.astype(np.float64),
        "account_age_days": account_age_days.astype(np.float64),
        "n_tx_24h": n_tx_24h.astype(np.float64),
        "is_foreign": is_foreign.astype(np.float64),
        "merchant_risk": merchant_risk,
    })
    # Some fields are not always known: a new device has no account age, some merchants no score.
    for col, rate in (("account_age_days", 0.04), ("merchant_risk", 0.06), ("hour", 0.01)):
        df.loc[rng.random(n) < rate, col] = np.nan
    return df, fraud


def main() -> None:
    rng = np.random.default_rng(SEED)
    HERE.mkdir(parents=True, exist_ok=True)

    train, y = transactions(20_000, rng)
    dtrain = xgb.DMatrix(train, label=y, feature_names=FEATURES, missing=np.nan)
    params = {
        "objective": "binary:logistic",
        "tree_method": "hist",
        "max_depth": 4,
        "eta": 0.15,
        "min_child_weight": 2.0,
        "eval_metric": "auc",
        "seed": SEED,
        "nthread": 1,
    }
    booster = xgb.train(params, dtrain, num_boost_round=50)
    booster.save_model(HERE / "model.json")

    score, y_score = transactions(1000, rng)
    out = score.copy()
    out.insert(0, "transaction_id", [f"tx{100000 + i}" for i in range(len(out))])
    for col in ("hour", "account_age_days", "n_tx_24h", "is_foreign"):
        out[col] = out[col].astype("Int64")  # whole numbers in the CSV; <NA> -> empty cell
    out.to_csv(HERE / "transactions.csv", index=False, na_rep="")

    # Sanity: the saved model reloads and separates the classes.
    p = xgb.Booster(model_file=str(HERE / "model.json")).inplace_predict(score[FEATURES].to_numpy())
    auc = _auc(p, y_score)
    print(f"wrote {HERE}/model.json ({(HERE / 'model.json').stat().st_size / 1e3:.0f} KB) and "
          f"transactions.csv ({(HERE / 'transactions.csv').stat().st_size / 1e3:.0f} KB); "
          f"{int(y_score.sum())} frauds in {len(y_score)} rows, AUC {auc:.3f}, "
          f"mean score {p.mean():.4f}")


def _auc(p: np.ndarray, y: np.ndarray) -> float:
    order = np.argsort(p)
    ranks = np.empty(len(p))
    ranks[order] = np.arange(1, len(p) + 1)
    pos = y == 1
    n1, n0 = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)) if n1 and n0 else float("nan")


if __name__ == "__main__":
    main()
