#!/usr/bin/env python3
"""Build the bundled example: a fraud pipeline (string indexing + XGBoost + a decision).

    .venv/bin/python examples/make_example.py

Writes (seeded, reproducible with the pinned .venv):
  examples/fraud/model.json         XGBoost binary:logistic, 50 trees, max_depth 4, trained on
                                    numeric features plus the indices of two string columns
  examples/fraud/features.yaml      the pipeline spec: two string indexers (labels in the order
                                    training used), the model, and decision thresholds
  examples/fraud/transactions.csv   1000 raw transactions to score, with their `is_fraud` outcome;
                                    an empty cell = missing
  examples/fraud/expected.csv       xgboost's own probability for each of them (parity check)
  examples/fraud/bundle/            the bundle, made by `scorewell bundle create`

The model is trained on a separate synthetic sample; the CSV holds fresh rows from the same
generator, with a `transaction_id` column the model does not use (scorewell passes it through).
Indices follow Spark's StringIndexer (frequencyDesc, ties by label); unseen labels and nulls map
to one extra index, as `handle_invalid: keep` does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb

HERE = Path(__file__).resolve().parent / "fraud"
SEED = 7
NUMERIC = ["amount", "hour", "account_age_days", "n_tx_24h", "merchant_risk"]
FEATURES = NUMERIC + ["country_index", "channel_index"]
COUNTRIES = ["NL", "DE", "BE", "FR", "GB", "US", "ES", "IT", "PL", "NG"]
COUNTRY_P = [0.70, 0.07, 0.06, 0.04, 0.04, 0.03, 0.02, 0.02, 0.01, 0.01]
CHANNELS = ["pos", "web", "app"]
CHANNEL_P = [0.55, 0.30, 0.15]
ROOT = Path(__file__).resolve().parent.parent


def transactions(n: int, rng: np.random.Generator) -> pd.DataFrame:
    amount = np.round(rng.lognormal(3.6, 1.1, n), 2)  # median ~ 37, long tail
    hour = rng.integers(0, 24, n)
    account_age_days = rng.integers(0, 3650, n)
    n_tx_24h = rng.poisson(2.0, n)
    merchant_risk = np.round(rng.beta(2.0, 8.0, n), 3)
    country = rng.choice(COUNTRIES, n, p=COUNTRY_P).astype(object)
    channel = rng.choice(CHANNELS, n, p=CHANNEL_P).astype(object)
    is_foreign = (country != "NL").astype(np.int64)
    online = (channel == "web").astype(np.int64)

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
        + 0.6 * online
        + 4.0 * merchant_risk
    )
    fraud = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)

    df = pd.DataFrame({
        "amount": amount,
        "hour": hour.astype(np.float64),
        "account_age_days": account_age_days.astype(np.float64),
        "n_tx_24h": n_tx_24h.astype(np.float64),
        "merchant_risk": merchant_risk,
        "country": country,
        "channel": channel,
    })
    # Some fields are not always known: a new device has no account age, some merchants no score.
    for col, rate in (("account_age_days", 0.04), ("merchant_risk", 0.06), ("hour", 0.01)):
        df.loc[rng.random(n) < rate, col] = np.nan
    df.loc[rng.random(n) < 0.02, "channel"] = None  # channel unknown
    return df, fraud


def string_labels(values: pd.Series) -> list[str]:
    """Labels in Spark StringIndexer's frequencyDesc order (ties broken by label)."""
    counts = values.dropna().value_counts()
    return sorted(counts.index, key=lambda label: (-counts[label], label))


def indexed(df: pd.DataFrame, labels: dict[str, list[str]]) -> pd.DataFrame:
    """The model's features: numeric columns plus string indices (unseen/null -> len(labels))."""
    out = df[NUMERIC].copy()
    for col, names in labels.items():
        index = {name: float(i) for i, name in enumerate(names)}
        out[f"{col}_index"] = df[col].map(lambda v: index.get(v, float(len(names)))).astype(np.float64)
    return out[FEATURES]


def spec(labels: dict[str, list[str]]) -> str:
    """The pipeline spec for `scorewell bundle create --transforms`."""
    lines = [
        "# Made by examples/make_example.py: raw transactions -> indices -> XGBoost -> decision.",
        "description: Card-transaction fraud score with a block/review/allow decision",
        "stages:",
    ]
    for col, names in labels.items():
        lines += [
            f"  - kind: string_indexer",
            f"    name: {col}_indexer",
            f"    params:",
            f"      input: {col}",
            f"      output: {col}_index",
            f"      labels: [{', '.join(names)}]",
            f"      handle_invalid: keep",
        ]
    lines += [
        "  - kind: model",
        "    name: fraud",
        "    params:",
        "      output: fraud_probability",
        "decision:",
        "  score: fraud_probability",
        "  rules:",
        "    - {at_least: 0.5, label: block}",
        "    - {at_least: 0.2, label: review}",
        "  otherwise: allow",
        "  missing: review",
        "outputs: [fraud_probability, decision]",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    rng = np.random.default_rng(SEED)
    HERE.mkdir(parents=True, exist_ok=True)

    train, y = transactions(20_000, rng)
    labels = {"country": string_labels(train["country"]), "channel": string_labels(train["channel"])}
    dtrain = xgb.DMatrix(indexed(train, labels), label=y, feature_names=FEATURES, missing=np.nan)
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
    (HERE / "features.yaml").write_text(spec(labels))

    score, y_score = transactions(1000, rng)
    score.loc[rng.random(len(score)) < 0.01, "country"] = "XX"  # a country training never saw
    out = score.copy()
    out.insert(0, "transaction_id", [f"tx{100000 + i}" for i in range(len(out))])
    out["is_fraud"] = y_score  # the outcome, for `scorewell eval`; the pipeline ignores it
    for col in ("hour", "account_age_days", "n_tx_24h"):
        out[col] = out[col].astype("Int64")  # whole numbers in the CSV; <NA> -> empty cell
    out.to_csv(HERE / "transactions.csv", index=False, na_rep="")

    # xgboost's own answers for the parity test, from the saved model reloaded.
    p = xgb.Booster(model_file=str(HERE / "model.json")).inplace_predict(
        indexed(score, labels).to_numpy())
    pd.DataFrame({"transaction_id": out["transaction_id"], "prediction": p}).to_csv(
        HERE / "expected.csv", index=False, float_format="%.17g")

    # The bundle, made by scorewell itself; a fixed date keeps it byte-for-byte reproducible.
    bundle = HERE / "bundle"
    shutil.rmtree(bundle, ignore_errors=True)
    subprocess.run(
        ["cargo", "run", "-q", "-p", "scorewell-cli", "--", "bundle", "create",
         "--model", str(HERE / "model.json"), "--transforms", str(HERE / "features.yaml"),
         "--name", "fraud", "--version", "1", "-o", str(bundle)],
        check=True, cwd=ROOT, env={**os.environ, "SOURCE_DATE_EPOCH": "1795219200"})

    auc = _auc(p, y_score)
    print(f"wrote {HERE}/model.json ({(HERE / 'model.json').stat().st_size / 1e3:.0f} KB), "
          f"features.yaml, transactions.csv, expected.csv and bundle/; "
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
