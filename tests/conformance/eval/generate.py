#!/usr/bin/env python3
"""Generate the `scorewell eval` conformance cases: seeded scores and labels with
scikit-learn's metric values, one JSON file per case.

Usage: .venv/bin/python tests/conformance/eval/generate.py [--out DIR] [--seed N]
       (default: cases/ here, seed 20261122: the committed cases)

`--seed` draws other scores, labels and sizes: scripts/check-eval-conformance.sh passes a new
one on every run, so the "fresh" check sees data no committed case has.

Each case holds `labels` (null = missing label), `scores` (one list per row for multiclass;
null = NaN score), the options (`thresholds`, `at_precision`, `calibration_bins`) and
`expected`: what scikit-learn (pinned in tests/conformance/requirements.txt) computes on the
rows that scorewell evaluates, i.e. after dropping rows with a missing label or a NaN score
(docs/EVAL.md). Values scikit-learn refuses to define (ROC AUC with one class, log loss of
scores outside [0, 1], R² of one row) are null.
The Rust test `crates/scorewell-eval/tests/conformance.rs` compares to 1e-9.
"""

import argparse
import json
import math
import pathlib
import warnings

import numpy as np
import sklearn
from scipy.stats import rankdata
from sklearn.calibration import calibration_curve
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    f1_score,
    log_loss,
    mean_absolute_error,
    precision_recall_curve,
    precision_recall_fscore_support,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
    root_mean_squared_error,
)

HERE = pathlib.Path(__file__).resolve().parent


def nullable(xs):
    return [None if (x is None or (isinstance(x, float) and math.isnan(x))) else x for x in xs]


def binary_expected(y, s, thresholds, at_precision, bins):
    y = y.astype(int)
    out = {"rows": int(len(y)), "positives": int(y.sum()), "negatives": int((1 - y).sum())}
    one_class = len(np.unique(y)) < 2
    if one_class:
        out["roc_auc"] = None
    else:
        out["roc_auc"] = float(roc_auc_score(y, s))
        # A second route: the Mann-Whitney U statistic with mid-ranks for ties.
        ranks = rankdata(s)
        p, n = y.sum(), len(y) - y.sum()
        u = (ranks[y == 1].sum() - p * (p + 1) / 2) / (p * n)
        assert abs(u - out["roc_auc"]) < 1e-12, (u, out["roc_auc"])
    out["average_precision"] = float(average_precision_score(y, s))
    # scikit-learn refuses probabilities outside [0, 1]; scorewell reports null then.
    try:
        out["log_loss"] = float(log_loss(y, s, labels=[0, 1]))
    except ValueError:
        out["log_loss"] = None
    try:
        out["brier"] = float(brier_score_loss(y, s, pos_label=1))
    except ValueError:
        out["brier"] = None
    at = []
    for t in thresholds:
        pred = (s >= t).astype(int)
        tn, fp, fn, tp = confusion_matrix(y, pred, labels=[0, 1]).ravel()
        at.append({
            "threshold": t,
            "precision": float(precision_score(y, pred, zero_division=0)),
            "recall": float(recall_score(y, pred, zero_division=0)),
            "f1": float(f1_score(y, pred, zero_division=0)),
            "tp": int(tp), "fp": int(fp), "fn": int(fn), "tn": int(tn),
        })
    out["at_thresholds"] = at
    rap = []
    precision, recall, thr = precision_recall_curve(y, s)
    for target in at_precision:
        if y.sum() == 0:
            # No positives: recall is undefined; scorewell reports 0 with no threshold.
            rap.append({"min_precision": target, "recall": 0.0, "threshold": None, "precision": None})
            continue
        # Real thresholds only (drop the appended precision=1, recall=0 end point).
        p, r = precision[:-1], recall[:-1]
        ok = p >= target
        if not ok.any():
            rap.append({"min_precision": target, "recall": 0.0, "threshold": None, "precision": None})
            continue
        best = r[ok].max()
        idx = np.where(ok & (r == best))[0]
        i = idx[np.argmax(thr[idx])]  # the highest threshold reaching the best recall
        rap.append({"min_precision": target, "recall": float(best), "threshold": float(thr[i]),
                    "precision": float(p[i])})
    out["recall_at_precision"] = rap
    if s.min() < 0 or s.max() > 1:
        out["calibration"] = None
    else:
        prob_true, prob_pred = calibration_curve(y, s, n_bins=bins, strategy="uniform")
        out["calibration"] = [
            {"mean_predicted": float(pp), "fraction_positive": float(pt)}
            for pt, pp in zip(prob_true, prob_pred)
        ]
    return out


def multiclass_expected(y, P):
    y = y.astype(int)
    k = P.shape[1]
    pred = P.argmax(axis=1)
    prec, rec, f1, support = precision_recall_fscore_support(
        y, pred, labels=list(range(k)), zero_division=0)
    # scikit-learn 1.7 refuses probabilities outside [0, 1]; scorewell reports null then.
    try:
        loss = float(log_loss(y, P, labels=list(range(k))))
    except ValueError:
        loss = None
    return {
        "rows": int(len(y)),
        "accuracy": float(accuracy_score(y, pred)),
        "macro_f1": float(f1_score(y, pred, average="macro", zero_division=0)),
        "micro_f1": float(f1_score(y, pred, average="micro", zero_division=0)),
        "weighted_f1": float(f1_score(y, pred, average="weighted", zero_division=0)),
        "log_loss": loss,
        "per_class": [
            {"class": c, "precision": float(prec[c]), "recall": float(rec[c]), "f1": float(f1[c]),
             "support": int(support[c])}
            for c in range(k)
        ],
    }


def regression_expected(y, p):
    r2 = float(r2_score(y, p))  # NaN (and a warning) with fewer than 2 rows
    return {
        "rows": int(len(y)),
        "rmse": float(root_mean_squared_error(y, p)),
        "mae": float(mean_absolute_error(y, p)),
        "r2": None if math.isnan(r2) else r2,
    }


def case_binary(name, y, s, thresholds=(0.5,), at_precision=(0.5, 0.9), bins=10):
    y = np.asarray(y, dtype=float)
    s = np.asarray(s, dtype=float)
    keep = ~np.isnan(y) & ~np.isnan(s)
    return {
        "name": name, "task": "binary",
        "labels": nullable(y.tolist()), "scores": nullable(s.tolist()),
        "thresholds": list(thresholds), "at_precision": list(at_precision), "calibration_bins": bins,
        "skipped": {"missing_label": int(np.isnan(y).sum()),
                    "nan_score": int((~np.isnan(y) & np.isnan(s)).sum())},
        "expected": binary_expected(y[keep], s[keep], thresholds, at_precision, bins),
    }


def case_multiclass(name, y, P):
    y = np.asarray(y, dtype=float)
    keep = ~np.isnan(y) & ~np.isnan(P).any(axis=1)
    return {
        "name": name, "task": "multiclass", "labels": nullable(y.tolist()),
        "scores": [nullable(r) for r in P.tolist()],
        "skipped": {"missing_label": int(np.isnan(y).sum()),
                    "nan_score": int((~np.isnan(y) & np.isnan(P).any(axis=1)).sum())},
        "expected": multiclass_expected(y[keep], P[keep]),
    }


def case_regression(name, y, p):
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    keep = ~np.isnan(y) & ~np.isnan(p)
    return {
        "name": name, "task": "regression", "labels": nullable(y.tolist()),
        "scores": nullable(p.tolist()),
        "skipped": {"missing_label": int(np.isnan(y).sum()),
                    "nan_score": int((~np.isnan(y) & np.isnan(p)).sum())},
        "expected": regression_expected(y[keep], p[keep]),
    }


DEFAULT_SEED = 20261122


def cases(seed=DEFAULT_SEED):
    rng = np.random.default_rng(seed)
    n = 600
    y = (rng.random(n) < 0.3).astype(float)
    s = np.clip(0.35 * y + rng.beta(2, 4, n), 0, 1)
    yield case_binary("binary_random", y, s, thresholds=(0.3, 0.5, 0.7), at_precision=(0.5, 0.8, 0.99))

    n = 3000
    y = (rng.random(n) < 0.2).astype(float)
    s = np.round(np.clip(0.2 * y + rng.random(n) * 0.8, 0, 1), 2)  # ~100 distinct scores: ties
    yield case_binary("binary_ties", y, s, thresholds=(0.25, 0.5), at_precision=(0.3, 0.6))

    n = 200
    y = (rng.random(n) < 0.5).astype(float)
    s = np.round(rng.random(n), 1)  # 11 distinct scores, equal to calibration and threshold edges
    s[:10] = -0.0
    s[10:20] = 1.0
    yield case_binary("binary_heavy_ties_on_edges", y, s, thresholds=(0.0, 0.3, 1.0), at_precision=(0.5,))

    yield case_binary("binary_all_negative", np.zeros(50), rng.random(50), at_precision=(0.5,))
    yield case_binary("binary_all_positive", np.ones(50), rng.random(50), at_precision=(0.5,))

    n = 400
    y = (rng.random(n) < 0.4).astype(float)
    s = rng.random(n)
    s[rng.random(n) < 0.05] = np.nan
    y[rng.random(n) < 0.03] = np.nan
    yield case_binary("binary_nan_scores_and_missing_labels", y, s)

    n = 300
    y = (rng.random(n) < 0.5).astype(float)
    s = rng.random(n)
    s[:40] = 0.0  # log(0) clipped at eps
    s[40:80] = 1.0
    s[80:90] = 1e-300
    yield case_binary("binary_extreme_probabilities", y, s)

    n = 300
    y = (rng.random(n) < 0.5).astype(float)
    s = rng.normal(0, 3, n) + 2 * y  # margins, not probabilities: no calibration table
    yield case_binary("binary_margins", y, s, thresholds=(0.0, 1.5), at_precision=(0.7,))

    n = 500
    k = 4
    y = rng.integers(0, 3, n).astype(float)  # class 3 never a label
    P = rng.dirichlet(np.ones(k), n)
    P[np.arange(n), y.astype(int)] += 0.4
    P /= P.sum(axis=1, keepdims=True)
    P[:3] = [0.25, 0.25, 0.25, 0.25]  # argmax ties go to the first class
    P[5, 1] = np.nan
    yield case_multiclass("multiclass_4_with_absent_class", y, P)

    n = 500
    y = rng.normal(10, 4, n)
    p = y + rng.normal(0, 2, n)
    p[7] = np.nan
    yield case_regression("regression_normal", y, p)
    yield case_regression("regression_constant_labels", np.full(20, 3.0), np.full(20, 3.0) + np.arange(20) / 10)

    # New cases draw after the ones above, so those stay the same for the default seed.
    n = 300
    y = rng.integers(0, 3, n).astype(float)
    M = rng.normal(0, 2, (n, 3))  # margins, not probabilities: scikit-learn refuses log loss
    M[np.arange(n), y.astype(int)] += 1.5
    yield case_multiclass("multiclass_margins_outside_0_1", y, M)

    n = 300
    y = rng.integers(0, 3, n).astype(float)
    P = rng.random((n, 3))  # in [0, 1], rows not summing to 1: scikit-learn warns, no renormalising
    P[np.arange(n), y.astype(int)] += 0.3
    P = np.minimum(P, 1.0)
    yield case_multiclass("multiclass_rows_not_summing_to_one", y, P)

    # Constants whose NumPy mean is off by rounding: scikit-learn's R² denominator is then tiny
    # but nonzero, and R² a huge negative number; 3.0 above is exact. Sizes vary with the seed.
    yield case_regression("regression_constant_0_1_n20", np.full(20, 0.1),
                          0.1 + np.round(rng.normal(0, 0.5, 20), 2))
    for c in (0.1, 0.3, 2.7):
        n = int(rng.integers(2, 2000))
        name = f"regression_constant_{str(c).replace('.', '_')}"
        yield case_regression(name, np.full(n, c), c + np.round(rng.normal(0, 0.5, n), 2))
    yield case_regression("regression_one_row", [0.5], [0.7])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, default=HERE / "cases")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help=f"seed of every random draw (default {DEFAULT_SEED}: the committed cases)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    warnings.simplefilter("ignore", UndefinedMetricWarning)
    warnings.simplefilter("ignore", UserWarning)
    for case in cases(args.seed):
        case["producer"] = f"scikit-learn {sklearn.__version__}, numpy {np.__version__}"
        case["seed"] = args.seed
        path = args.out / f"{case['name']}.json"
        path.write_text(json.dumps(case, allow_nan=False, separators=(",", ":")) + "\n")
        print(path)


if __name__ == "__main__":
    main()
