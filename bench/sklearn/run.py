"""scikit-learn forests: scorewell against scikit-learn itself, same model file, same rows,
same run.

For each of two datasets — seeded normal data (50 features, 5% NaN) and the project's fraud
example (its numeric columns, resampled with noise to N rows, 3% NaN) — trains a
RandomForestClassifier (100 trees, max_depth 12) and a HistGradientBoostingClassifier (200
iterations) on 20,000 rows, saves each with joblib, and times in a fresh process per thread
count (RAYON_NUM_THREADS / OMP_NUM_THREADS / n_jobs set alike):
- batch: `predict_proba` on N rows vs `scorewell.load(path).score(table)` (median of 3);
- single rows: 500 one-row calls through each Python API (pandas row vs one-row Arrow batch),
  median per call.
Every run first checks that scorewell's probabilities equal scikit-learn's (rtol 1e-12).
ONNX Runtime is not in the pinned environment, so the skl2onnx comparison is not run here.

Usage: .venv/bin/python bench/sklearn/run.py [--rows 1000000] [--threads 1,2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

WORKER = r"""
import json, statistics, sys, time
import joblib, numpy as np, pyarrow as pa, pandas as pd
import scorewell
path, data, threads, rows = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
x = np.load(data)[:rows]
cols = [f"f{i}" for i in range(x.shape[1])]
frame = pd.DataFrame(x, columns=cols)
table = pa.Table.from_pandas(frame, preserve_index=False)
model = joblib.load(path)
if hasattr(model, "n_jobs"):
    model.n_jobs = threads
scorer = scorewell.load(path)
k = len(model.classes_)
check = scorer.score(table.slice(0, 5000)).to_pandas()[[f"prediction_{i}" for i in range(k)]].to_numpy()
np.testing.assert_allclose(check, model.predict_proba(frame.iloc[:5000]), rtol=1e-12, atol=1e-12)
def median(fn, n):
    times = []
    for _ in range(n):
        t = time.perf_counter(); fn(); times.append(time.perf_counter() - t)
    return statistics.median(times)
sk = median(lambda: model.predict_proba(frame), 3)
sw = median(lambda: scorer.score(table), 3)
one_frames = [frame.iloc[i:i+1] for i in range(500)]
one_tables = [table.slice(i, 1) for i in range(500)]
def per_call(fn, items):
    times = []
    for it in items:
        t = time.perf_counter(); fn(it); times.append(time.perf_counter() - t)
    return statistics.median(times)
sk1 = per_call(model.predict_proba, one_frames)
sw1 = per_call(scorer.score, one_tables)
print(json.dumps({"sk": sk, "sw": sw, "sk1": sk1, "sw1": sw1}))
"""


def datasets(rows: int, seed: int) -> dict[str, tuple]:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    n = rows + 20_000
    x = rng.normal(size=(n, 50))
    y = (x[:, 0] + x[:, 1] * x[:, 2] + 0.5 * x[:, 3] ** 2 + rng.normal(size=n) > 0.5).astype(int)
    x[rng.random(x.shape) < 0.05] = np.nan
    fraud = pd.read_csv(ROOT / "examples/fraud/transactions.csv")
    numeric = fraud[["amount", "hour", "account_age_days", "n_tx_24h", "merchant_risk"]].to_numpy(float)
    pick = rng.integers(0, len(fraud), n)
    fx = numeric[pick] * (1 + 0.05 * rng.normal(size=(n, numeric.shape[1])))
    fy = fraud["is_fraud"].to_numpy()[pick]
    fx[rng.random(fx.shape) < 0.03] = np.nan
    return {"normal-50-nan": (x, y), "fraud-example": (fx, fy)}


def main() -> None:
    import joblib
    import numpy as np
    import pandas as pd
    import sklearn
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier

    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--threads", default="1,2")
    args = ap.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    tmp = Path(tempfile.mkdtemp())
    worker = tmp / "worker.py"
    worker.write_text(WORKER)
    models = {
        "RandomForest 100 trees, depth 12": lambda: RandomForestClassifier(
            n_estimators=100, max_depth=12, random_state=0, n_jobs=2
        ),
        "HistGradientBoosting 200 iterations": lambda: HistGradientBoostingClassifier(
            max_iter=200, early_stopping=False, random_state=0
        ),
    }
    print(f"scikit-learn {sklearn.__version__}, {args.rows:,} rows, {os.cpu_count()} CPUs\n")
    print("| model | data | threads | sklearn batch s | scorewell batch s | batch ratio | sklearn 1 row µs | scorewell 1 row µs | 1-row ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    ratios: dict[tuple, list] = {}
    for dname, (x, y) in datasets(args.rows, 42).items():
        data = tmp / f"{dname}.npy"
        np.save(data, x[20_000:])
        train = pd.DataFrame(x[:20_000], columns=[f"f{i}" for i in range(x.shape[1])])
        for mname, make in models.items():
            path = tmp / f"{dname}-{mname.split()[0]}.joblib"
            joblib.dump(make().fit(train, y[:20_000]), path)
            for t in threads:
                env = dict(os.environ, RAYON_NUM_THREADS=str(t), OMP_NUM_THREADS=str(t))
                out = subprocess.run(
                    [sys.executable, str(worker), str(path), str(data), str(t), str(args.rows)],
                    env=env, capture_output=True, text=True, check=False,
                )
                if out.returncode != 0:
                    sys.exit(f"{dname} {mname} threads={t}: {out.stderr[-2000:]}")
                r = json.loads(out.stdout.strip().splitlines()[-1])
                batch, single = r["sk"] / r["sw"], r["sk1"] / r["sw1"]
                ratios.setdefault((mname, t), []).append((batch, single))
                print(
                    f"| {mname} | {dname} | {t} | {r['sk']:.3f} | {r['sw']:.3f} | {batch:.2f}x | "
                    f"{r['sk1'] * 1e6:.0f} | {r['sw1'] * 1e6:.0f} | {single:.1f}x |",
                    flush=True,
                )
    print("\nLower of the two datasets (scikit-learn time ÷ scorewell time; > 1 means scorewell is faster):\n")
    print("| model | threads | batch | single row |")
    print("|---|---|---|---|")
    for (mname, t), rs in ratios.items():
        print(f"| {mname} | {t} | {min(b for b, _ in rs):.2f}x | {min(s for _, s in rs):.1f}x |")


if __name__ == "__main__":
    main()
