#!/usr/bin/env python3
"""Benchmark `scorewell eval` against XGBoost scoring plus scikit-learn computing the same
metrics, on N labelled rows (10,000,000 by default), in the same run.

Usage:
    bash scripts/setup-python.sh && cargo build --release -p scorewell-cli
    .venv/bin/python bench/eval/run.py                 # 10M rows (data cached in bench/out/)
    .venv/bin/python bench/eval/run.py --rows 1000000 --no-write

Both sides read the same Parquet file, score the same two XGBoost models (candidate and
baseline) and compute, for each model: ROC AUC, average precision, log loss, Brier, the
confusion matrix, precision/recall/F1 at the threshold, recall at a fixed precision and the
calibration table. scorewell also writes the report, metrics.json and the flips file and, with
--bootstrap, the delta intervals (scikit-learn has no equivalent; it gets no such work).
Each side runs as its own process under /usr/bin/time -v, which reports its peak RSS.
"""

import argparse
import datetime
import json
import os
import pathlib
import re
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "bench" / "out"
FEATURES = 8


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def make_data(rows, seed):
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = OUT / f"eval_r{rows}_s{seed}.parquet"
    if path.exists():
        return path
    log(f"writing {rows:,} labelled rows to {path}")
    rng = np.random.default_rng(seed)
    chunk = 1_000_000
    w = None
    tmp = path.with_suffix(".parquet.tmp")
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        X = rng.normal(size=(n, FEATURES)).astype(np.float32)
        logit = 1.2 * X[:, 0] - 0.8 * X[:, 1] + 0.5 * X[:, 2] * X[:, 3] - 2.0
        y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int8)
        cols = {f"x{i}": X[:, i] for i in range(FEATURES)}
        cols["message_id"] = np.arange(start, start + n, dtype=np.int64)
        cols["is_attack"] = y
        table = pa.table(cols)
        if w is None:
            w = pq.ParquetWriter(tmp, table.schema, compression="snappy")
        w.write_table(table, row_group_size=n)
    w.close()
    tmp.rename(path)
    return path


def make_models(seed):
    import numpy as np
    import xgboost as xgb

    paths = {"candidate": OUT / f"eval_candidate_s{seed}.json", "baseline": OUT / f"eval_baseline_s{seed}.json"}
    if all(p.exists() for p in paths.values()):
        return paths
    rng = np.random.default_rng(seed + 1)
    n = 50_000
    X = rng.normal(size=(n, FEATURES)).astype(np.float32)
    logit = 1.2 * X[:, 0] - 0.8 * X[:, 1] + 0.5 * X[:, 2] * X[:, 3] - 2.0
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int8)
    d = xgb.DMatrix(X, label=y, feature_names=[f"x{i}" for i in range(FEATURES)])
    params = {"objective": "binary:logistic", "tree_method": "hist", "seed": seed}
    xgb.train({**params, "max_depth": 6, "eta": 0.1}, d, 60).save_model(paths["candidate"])
    xgb.train({**params, "max_depth": 3, "eta": 0.1}, d, 40).save_model(paths["baseline"])
    return paths


PY_SIDE = r'''
import json, sys, time
import numpy as np, pyarrow.parquet as pq, xgboost as xgb
from sklearn.calibration import calibration_curve
from sklearn.metrics import (average_precision_score, brier_score_loss, confusion_matrix, f1_score,
    log_loss, precision_recall_curve, precision_score, recall_score, roc_auc_score)
data, cand, base, threshold, at_precision, threads = sys.argv[1:7]
threshold, at_precision, threads = float(threshold), float(at_precision), int(threads)
t0 = time.perf_counter()
table = pq.read_table(data)
X = np.column_stack([table.column(f"x{i}").to_numpy() for i in range(%d)])
y = table.column("is_attack").to_numpy().astype(np.int64)
t_read = time.perf_counter()
scores = {}
for name, path in (("candidate", cand), ("baseline", base)):
    b = xgb.Booster(); b.load_model(path); b.set_param({"nthread": threads})
    scores[name] = b.inplace_predict(X).astype(np.float64)
t_score = time.perf_counter()
out = {}
for name, s in scores.items():
    pred = (s >= threshold).astype(np.int64)
    p, r, thr = precision_recall_curve(y, s)
    ok = p[:-1] >= at_precision
    out[name] = {
        "roc_auc": roc_auc_score(y, s), "average_precision": average_precision_score(y, s),
        "log_loss": log_loss(y, s, labels=[0, 1]), "brier": brier_score_loss(y, s, pos_label=1),
        "precision": precision_score(y, pred, zero_division=0), "recall": recall_score(y, pred, zero_division=0),
        "f1": f1_score(y, pred, zero_division=0), "confusion": confusion_matrix(y, pred, labels=[0, 1]).ravel().tolist(),
        "recall_at_precision": float(r[:-1][ok].max()) if ok.any() else 0.0,
        "calibration": [a.tolist() for a in calibration_curve(y, s, n_bins=10)],
    }
t_metrics = time.perf_counter()
json.dump({"read_s": t_read - t0, "score_s": t_score - t_read, "metrics_s": t_metrics - t_score,
           "total_s": t_metrics - t0, "metrics": {k: {m: v for m, v in d.items() if m != "calibration"} for k, d in out.items()}},
          sys.stdout, default=float)
''' % FEATURES


def timed(cmd, env=None):
    """Run under /usr/bin/time -v; return (stdout, wall seconds, peak RSS MiB)."""
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(map(str, cmd))}\n{p.stderr[-3000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1)) / 1024
    return p.stdout, wall, rss


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--bootstrap", type=int, default=200)
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--at-precision", type=float, default=0.7)
    ap.add_argument("--scorewell", type=pathlib.Path, default=ROOT / "target" / "release" / "scorewell")
    ap.add_argument("--no-write", action="store_true", help="print only; no results file")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    data = make_data(args.rows, args.seed)
    models = make_models(args.seed)
    work = OUT / "eval-run"
    work.mkdir(exist_ok=True)

    log("scikit-learn side")
    py_out, py_wall, py_rss = timed([sys.executable, "-c", PY_SIDE, str(data), str(models["candidate"]),
                                     str(models["baseline"]), str(args.threshold), str(args.at_precision),
                                     str(args.threads)])
    py = json.loads(py_out)

    log("scorewell side")
    sw_cmd = [str(args.scorewell), "eval", str(models["candidate"]), "--baseline", str(models["baseline"]),
              "--input", str(data), "--label", "is_attack", "--id", "message_id",
              "--json", str(work / "metrics.json"), "--report", str(work / "report.html"),
              "--flips", str(work / "flips.csv"), "--threshold", str(args.threshold),
              "--at-precision", str(args.at_precision), "--bootstrap", str(args.bootstrap), "--seed", "1",
              "--threads", str(args.threads), "--quiet"]
    _, sw_wall, sw_rss = timed(sw_cmd)
    sw = json.loads((work / "metrics.json").read_text())

    # Same numbers on both sides (XGBoost and scorewell give the same predictions).
    worst = 0.0
    rows = []
    for name in ("candidate", "baseline"):
        s, p = sw[name], py["metrics"][name]
        at = s["at_thresholds"][0]
        pairs = {"roc_auc": (s["roc_auc"], p["roc_auc"]), "average_precision": (s["average_precision"], p["average_precision"]),
                 "log_loss": (s["log_loss"], p["log_loss"]), "brier": (s["brier"], p["brier"]),
                 "precision": (at["precision"], p["precision"]), "recall": (at["recall"], p["recall"]), "f1": (at["f1"], p["f1"]),
                 "recall_at_precision": (s["recall_at_precision"][0]["recall"], p["recall_at_precision"])}
        for metric, (a, b) in pairs.items():
            worst = max(worst, abs(a - b))
            rows.append((name, metric, a, b))
        assert [at["tn"], at["fp"], at["fn"], at["tp"]] == p["confusion"], (name, at, p["confusion"])

    date = datetime.date.today().isoformat()
    lines = [
        f"# scorewell eval benchmark, {date}", "",
        f"Command: `.venv/bin/python bench/eval/run.py --rows {args.rows} --threads {args.threads} --bootstrap {args.bootstrap}`", "",
        f"{args.rows:,} labelled rows ({FEATURES} float32 features, an int64 id, an int8 label; Parquet, snappy), "
        f"two XGBoost models (candidate: 60 trees, depth 6; baseline: 40 trees, depth 3), {args.threads} threads, "
        f"machine: {os.cpu_count()} cores. Each side is one process timed end to end (wall clock) under `/usr/bin/time -v`.", "",
        "| side | what it does | wall s | peak RSS MiB |", "|---|---|---:|---:|",
        f"| scorewell eval | read, score both models, all metrics for both, {args.bootstrap} bootstrap replicates, report.html, metrics.json, flips | {sw_wall:.1f} | {sw_rss:.0f} |",
        f"| XGBoost + scikit-learn | read ({py['read_s']:.1f} s), `inplace_predict` both ({py['score_s']:.1f} s), sklearn metrics for both ({py['metrics_s']:.1f} s) | {py_wall:.1f} | {py_rss:.0f} |",
        "", f"Speed-up: **{py_wall / sw_wall:.2f}x**; memory: **{py_rss / sw_rss:.1f}x** less peak RSS.", "",
        f"Largest difference between the two sides' metric values: {worst:.2e} (confusion matrices equal).", "",
        "| model | metric | scorewell | scikit-learn |", "|---|---|---:|---:|",
    ]
    lines += [f"| {n} | {m} | {a:.12g} | {b:.12g} |" for n, m, a, b in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        path = ROOT / "bench" / "results" / f"eval-{date}.md"
        path.write_text(text)
        log(f"wrote {path}")


if __name__ == "__main__":
    main()
