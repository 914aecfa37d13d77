#!/usr/bin/env python3
"""Independent pure-numpy re-implementation of tree evaluation, checked against the cases.

It documents (executably) the semantics the Rust scorer must follow, and fails loudly if
a generated case disagrees with them. It only recomputes *margins* (raw scores); the output
transforms are listed in ../README.md.

    .venv/bin/python tests/conformance/generate/reference_check.py [--cases DIR]
"""
from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DEFAULT_OUT  # noqa: E402


def load_input(case: Path, meta: dict) -> np.ndarray:
    t = pq.read_table(case / meta["input"])
    cols = []
    for name in t.column_names:
        c = t.column(name).combine_chunks()
        v = c.to_numpy(zero_copy_only=False).astype(np.float64)  # bool -> 0/1, NULL -> NaN
        v[np.asarray(c.is_null())] = np.nan
        cols.append(v)
    return np.column_stack(cols)


def expected_margin(case: Path, meta: dict) -> np.ndarray:
    t = pq.read_table(case / meta["expected"])
    names = [n for n in t.column_names if n.startswith("margin")]
    return np.column_stack([t.column(n).to_numpy() for n in names])


def parse_toml(path: Path) -> dict:
    out = {}
    for line in path.read_text().splitlines():
        m = re.match(r'^(\w+) = (.*)$', line)
        if m:
            v = m.group(2)
            out[m.group(1)] = json.loads(v) if v.startswith('"') else float(v)
    return out


# --------------------------------------------------------------------------- XGBoost
def xgb_margin(model: dict, X: np.ndarray) -> np.ndarray:
    lrn = model["learner"]
    base = [float(s) for s in lrn["learner_model_param"]["base_score"].strip("[]").split(",")]
    obj = lrn["objective"]["name"]
    if obj in ("binary:logistic", "reg:logistic"):
        base = [math.log(b / (1 - b)) for b in base]          # ProbToMargin = logit
    # NB binary:logitraw: base_score is used as-is (identity), NOT logit-transformed
    elif obj in ("count:poisson", "reg:gamma", "reg:tweedie", "survival:cox"):
        base = [math.log(b) for b in base]                    # ProbToMargin = log
    # everything else (incl. multi:softprob/softmax, whose base_score is a per-class vector): identity
    gb = lrn["gradient_booster"]
    weights = None
    if gb["name"] == "gblinear":
        # weights: one row per feature (then the bias row), one column per group; a missing
        # value is absent from the sparse row and adds nothing; every group starts from base[0].
        n_groups = max(int(lrn["learner_model_param"]["num_class"]), 1)
        W = np.array(gb["model"]["weights"], dtype=np.float32).reshape(-1, n_groups)
        Xf = X.astype(np.float32)
        out = np.zeros((len(X), n_groups))
        for r in range(len(X)):
            for g in range(n_groups):
                acc = np.float32(W[-1, g]) + np.float32(base[0])
                for f in range(X.shape[1]):
                    if not np.isnan(Xf[r, f]):
                        acc = np.float32(acc + np.float32(Xf[r, f] * W[f, g]))
                out[r, g] = acc
        return out
    if gb["name"] == "dart":
        weights = gb["weight_drop"]
        gb = gb["gbtree"]
    trees, info = gb["model"]["trees"], gb["model"]["tree_info"]
    n_vec = max(int(t["tree_param"].get("size_leaf_vector", "1")) for t in trees)
    n_out = max(len(base), max(info) + 1, n_vec)
    base = base * n_out if len(base) == 1 else base
    Xf = X.astype(np.float32)
    out = np.tile(np.array(base, dtype=np.float64), (len(X), 1))
    for t_i, t in enumerate(trees):
        left, right = t["left_children"], t["right_children"]
        cond, idx, dleft = t["split_conditions"], t["split_indices"], t["default_left"]
        stype = t.get("split_type", [0] * len(left))
        cats = {n: set(t["categories"][s:s + z]) for n, s, z in
                zip(t["categories_nodes"], t["categories_segments"], t["categories_sizes"])}
        w = weights[t_i] if weights else 1.0
        for r in range(len(X)):
            n = 0
            while left[n] != -1:
                x = Xf[r, idx[n]]
                if np.isnan(x):
                    n = left[n] if dleft[n] else right[n]
                elif stype[n] == 1:
                    # in the node's category set -> RIGHT; anything else (negative, unseen) -> LEFT
                    c = int(x) if 0 <= x < 2**24 else -1
                    n = right[n] if c in cats[n] else left[n]
                else:
                    n = left[n] if x < np.float32(cond[n]) else right[n]
            k = int(t["tree_param"].get("size_leaf_vector", "1"))
            if k > 1:
                # vector leaf: `leaf_weights[right * k:]` (3.2) or `base_weights[node * k:]`
                vec = (t["leaf_weights"][right[n] * k:(right[n] + 1) * k] if "leaf_weights" in t
                       else t["base_weights"][n * k:(n + 1) * k])
                out[r, :k] += w * np.array(vec)
            else:
                out[r, info[t_i]] += w * cond[n]
    return out


# --------------------------------------------------------------------------- LightGBM
K_ZERO = float(np.float32(1e-35))


def lgb_parse(text: str):
    header, _, rest = text.partition("\nTree=")
    head = dict(l.split("=", 1) for l in header.splitlines() if "=" in l)
    trees = []
    for block in ("Tree=" + rest).split("\nTree=")[0:]:
        block = block.split("end of trees")[0]
        kv = dict(l.split("=", 1) for l in block.splitlines() if "=" in l)
        trees.append(kv)
    return head, trees, "\naverage_output\n" in header + "\n"


def nums(s, f=float):
    return [f(v) for v in s.split()] if s else []


def lgb_margin(text: str, X: np.ndarray) -> np.ndarray:
    head, trees, avg = lgb_parse(text)
    k = int(head["num_tree_per_iteration"])
    out = np.zeros((len(X), k))
    for t_i, t in enumerate(trees):
        leaf_value = nums(t["leaf_value"])
        nl = int(t["num_leaves"])
        linear = t.get("is_linear", "0") == "1"
        if linear:
            leaf_const = nums(t["leaf_const"])
            nfeat = nums(t["num_features"], int)
            lfeat = nums(t["leaf_features"], int)
            lcoef = nums(t["leaf_coeff"])
            offs = np.concatenate([[0], np.cumsum(nfeat)]).astype(int)
        if nl > 1:
            sf = nums(t["split_feature"], int)
            thr = nums(t["threshold"])
            dt = nums(t["decision_type"], int)
            lc, rc = nums(t["left_child"], int), nums(t["right_child"], int)
            cb = nums(t.get("cat_boundaries", ""), int)
            ct = nums(t.get("cat_threshold", ""), int)
        for r in range(len(X)):
            node = 0
            if nl > 1:
                while node >= 0:
                    x, d = X[r, sf[node]], dt[node]
                    mtype = (d >> 2) & 3
                    if d & 1:  # categorical
                        if np.isnan(x):
                            go_left = False if mtype == 2 else None
                            if go_left is None:
                                x = 0.0
                        if not np.isnan(x):
                            i = int(x)
                            if i < 0:
                                go_left = False
                            else:
                                ci = int(thr[node])
                                words = ct[cb[ci]:cb[ci + 1]]
                                go_left = i // 32 < len(words) and (words[i // 32] >> (i % 32)) & 1 == 1
                    else:
                        if np.isnan(x) and mtype != 2:
                            x = 0.0
                        if (mtype == 1 and abs(x) <= K_ZERO) or (mtype == 2 and np.isnan(x)):
                            go_left = bool(d & 2)
                        else:
                            go_left = x <= thr[node]
                    node = lc[node] if go_left else rc[node]
                leaf = ~node
            else:
                leaf = 0
            v = leaf_value[leaf]
            if linear:
                fs = lfeat[offs[leaf]:offs[leaf + 1]]
                xs = X[r, fs]
                if not np.isnan(xs).any():  # any NaN among the leaf's features -> plain leaf_value
                    v = leaf_const[leaf] + float(np.dot(lcoef[offs[leaf]:offs[leaf + 1]], xs))
            out[r, t_i % k] += v
    # average_output (boosting=rf): LightGBM's raw_score=True returns the un-averaged SUM;
    # only the transformed prediction uses sum / num_iterations. The case contract stores
    # raw_score=True as `margin`, so the sum is what we compare here.
    del avg
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    bad = 0
    for case in sorted(p for p in args.cases.iterdir() if (p / "case.toml").exists()):
        if args.only not in case.name:
            continue
        meta = parse_toml(case / "case.toml")
        if meta.get("expect_error"):
            continue
        X = load_input(case, meta)
        want = expected_margin(case, meta)
        mf = case / meta["model"]
        if meta["producer"] == "xgboost":
            if mf.suffix == ".ubj":
                import xgboost as xgb  # only to convert UBJSON to JSON
                model = json.loads(xgb.Booster(model_file=str(mf)).save_raw("json"))
            else:
                model = json.loads(mf.read_text())
            got, tol = xgb_margin(model, X), 2e-5
        else:
            got, tol = lgb_margin(mf.read_text(), X), 1e-12
        err = np.max(np.abs(got - want) / (1 + np.abs(want)))
        ok = err <= tol
        bad += not ok
        print(f"{'ok ' if ok else 'BAD'} {case.name:<48} max rel err {err:.2e}")
    print("all margins reproduced" if not bad else f"{bad} cases disagree")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
