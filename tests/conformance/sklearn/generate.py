"""Generate scikit-learn conformance cases for crates/scorewell-sklearn.

    .venv/bin/python tests/conformance/sklearn/generate.py [--out DIR] [--only SUBSTR ...]

Each case is a folder DIR/<name>/ (default DIR = tests/conformance/sklearn/cases):

    model.joblib | model.pkl   the fitted estimator exactly as joblib.dump / pickle.dump wrote it
    input.parquet              the scoring rows, one column per input feature, in model order
    expected.parquet           scikit-learn's own outputs for input.parquet (absent for refusals)
    case.toml                  description, producer, producer_version, model, input, expected,
                               rtol, atol, expect_error

Output columns (see README.md): classifiers with predict_proba -> prediction_0..k-1 + label;
classifiers without -> decision (binary) / decision_0..k-1 + label; regressors -> prediction;
IsolationForest -> score, decision, label.

Everything is seeded and single-threaded. Expected outputs are computed by the model *reloaded
from the written file*, on the frame *read back from input.parquet*, so the case is exactly
what a consumer of the folder sees.
"""
from __future__ import annotations

import argparse
import io
import os
import pickle
import shutil
import sys
import time
import warnings
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import sklearn
from sklearn.base import is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    IsolationForest,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import (
    ElasticNet,
    Lasso,
    LinearRegression,
    LogisticRegression,
    Ridge,
    SGDClassifier,
    SGDRegressor,
)
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, StandardScaler
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "cases"
VERSION = sklearn.__version__

N_TRAIN = 300
N_SCORE = 64

# Tolerances (see README.md). Trees only add/average float64 leaf values (exact up to
# summation order); anything with exp/log/softmax or a fitted float coefficient vector
# gets a looser relative tolerance.
TREE_TOL = (1e-12, 1e-12)
SMOOTH_TOL = (1e-9, 1e-12)

# Small, shallow ensembles: the model files must stay small.
TREE_KW = dict(max_depth=5, random_state=0)
FOREST_KW = dict(n_estimators=8, max_depth=5, random_state=0, n_jobs=1)
GB_KW = dict(n_estimators=10, max_depth=3, learning_rate=0.2, random_state=0)
HGB_KW = dict(max_iter=10, max_depth=4, max_leaf_nodes=12, learning_rate=0.2, random_state=0)


# ---------------------------------------------------------------------------------------
# Synthetic data
# ---------------------------------------------------------------------------------------
def gaussian(seed: int, n: int, p: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, p))


def latent(X: np.ndarray, seed: int) -> np.ndarray:
    """A smooth nonlinear signal of the (NaN-free) features."""
    r = np.random.default_rng(seed + 1000)
    w = r.normal(size=X.shape[1])
    return X @ w / np.sqrt(X.shape[1]) + 0.5 * np.sin(2 * X[:, 0]) + 0.3 * X[:, 1] * X[:, -1]


def reg_target(X, seed):
    r = np.random.default_rng(seed + 2000)
    return 3.0 * latent(X, seed) + 10.0 + 0.2 * r.normal(size=len(X))


def binary_target(X, seed):
    r = np.random.default_rng(seed + 3000)
    return (latent(X, seed) + 0.3 * r.normal(size=len(X)) > 0).astype(np.int64)


def multiclass_target(X, seed, k=3):
    r = np.random.default_rng(seed + 4000)
    W = r.normal(size=(X.shape[1], k))
    return np.argmax(X @ W + 0.3 * r.normal(size=(len(X), k)), axis=1).astype(np.int64)


def sprinkle_nan(X: np.ndarray, seed: int, frac: float, cols=None) -> np.ndarray:
    X = X.copy()
    r = np.random.default_rng(seed + 5000)
    for j in cols if cols is not None else range(X.shape[1]):
        X[r.random(len(X)) < frac, j] = np.nan
    return X


def names_x(p: int) -> list[str]:
    """scikit-learn's default feature names for a model fitted on a bare array."""
    return [f"x{i}" for i in range(p)]


def names_f(p: int) -> list[str]:
    return [f"f{i}" for i in range(p)]


# ---------------------------------------------------------------------------------------
# Scoring rows: random rows, rows exactly on / next to tree thresholds, NaN rows
# ---------------------------------------------------------------------------------------
def path_to(left, right, feature, threshold, target):
    """Ancestors of node `target` as (feature, threshold, went_left)."""
    parent = {}
    for node in range(len(left)):
        if left[node] >= 0 and left[node] != node:
            parent[int(left[node])] = (node, True)
            parent[int(right[node])] = (node, False)
    out = []
    node = target
    while node in parent:
        p, went_left = parent[node]
        out.append((int(feature[p]), float(threshold[p]), went_left, p))
        node = p
    return out[::-1]


def threshold_variants(thr: float) -> list[float]:
    """thr itself, its float64 neighbours, and the float32 values around it: scikit-learn trees
    cast X to float32 and compare `x32 <= thr` with a float64 threshold."""
    t32 = np.float32(thr)
    vals = [
        thr,
        np.nextafter(thr, np.inf),
        np.nextafter(thr, -np.inf),
        float(t32),
        float(np.nextafter(t32, np.float32(np.inf))),
        float(np.nextafter(t32, np.float32(-np.inf))),
    ]
    return [float(v) for v in vals]


def node_rows(base: np.ndarray, path, feat: int, thr: float) -> list[np.ndarray]:
    """Rows that reach the node (all ancestor splits satisfied), with `feat` set to each
    variant of `thr`."""
    row = base.copy()
    lo = np.full(len(row), -np.inf)
    hi = np.full(len(row), np.inf)
    for f, t, went_left, _ in path:
        if went_left:
            hi[f] = min(hi[f], t)
        else:
            lo[f] = max(lo[f], t)
    for f in range(len(row)):
        if not (lo[f] < row[f] <= hi[f]):
            if np.isfinite(lo[f]) and np.isfinite(hi[f]):
                row[f] = 0.5 * (lo[f] + hi[f])
            elif np.isfinite(hi[f]):
                row[f] = hi[f] - 0.5
            else:
                row[f] = lo[f] + 0.5
    rows = []
    for v in threshold_variants(thr):
        r = row.copy()
        r[feat] = v
        rows.append(r)
    return rows


def sk_tree_nodes(tree):
    """(left, right, feature, threshold, internal-node ids) of a fitted sklearn Tree."""
    t = tree.tree_
    internal = np.flatnonzero(t.children_left >= 0)
    return t.children_left, t.children_right, t.feature, t.threshold, internal


def hgb_tree_nodes(predictor):
    nodes = predictor.nodes
    leaf = nodes["is_leaf"].astype(bool)
    left = np.where(leaf, -1, nodes["left"]).astype(np.int64)
    right = np.where(leaf, -1, nodes["right"]).astype(np.int64)
    is_cat = nodes["is_categorical"].astype(bool)
    internal = np.flatnonzero(~leaf & ~is_cat)
    return left, right, nodes["feature_idx"], nodes["num_threshold"], internal, is_cat


def hgb_left_codes(predictor, node: int, n_codes: int) -> set[int]:
    """Encoded category codes that a categorical HGB node sends left."""
    bits = predictor.raw_left_cat_bitsets[predictor.nodes["bitset_idx"][node]]
    return {c for c in range(n_codes) if (int(bits[c // 32]) >> (c % 32)) & 1}


def threshold_rows(trees, p: int, seed: int, n_nodes: int = 4, feature_map=None,
                   cat_counts: dict[int, int] | None = None) -> np.ndarray:
    """6 rows per picked node: reach an internal numeric node of one of `trees` and sit exactly
    on (or one ulp around, in float64 and float32) its threshold. `trees` are sklearn
    estimators with `tree_` or HGB predictors. For HGB with categorical features,
    `feature_map` maps an internal feature index to an input column (HGB puts categorical
    features first internally) and `cat_counts` maps an internal categorical feature index to
    its number of categories: categorical ancestors are satisfied with a category code
    (the caller maps codes back to input values), other categorical columns get a random
    known code."""
    r = np.random.default_rng(seed + 6000)
    fmap = feature_map if feature_map is not None else list(range(p))
    cat_counts = cat_counts or {}
    rows = []
    order = np.concatenate([r.permutation(len(trees)) for _ in range(5)])
    for ti in order:
        if len(rows) >= 6 * n_nodes:
            break
        tree = trees[ti]
        if hasattr(tree, "tree_"):
            left, right, feature, threshold, internal = sk_tree_nodes(tree)
            is_cat = np.zeros(len(left), bool)
        else:
            left, right, feature, threshold, internal, is_cat = hgb_tree_nodes(tree)
        if len(internal) == 0:
            continue
        node = int(r.choice(internal))
        path = path_to(left, right, feature, threshold, node)
        allowed = {f: set(range(n)) for f, n in cat_counts.items()}
        numeric = []
        for f, t, went_left, a in path:
            if is_cat[a]:
                goes_left = hgb_left_codes(tree, a, cat_counts[f])
                allowed[f] &= goes_left if went_left else set(range(cat_counts[f])) - goes_left
            else:
                numeric.append((fmap[f], t, went_left, a))
        if any(not codes for codes in allowed.values()):
            continue
        base = r.normal(size=p)
        for f, codes in sorted(allowed.items()):
            base[fmap[f]] = float(r.choice(sorted(codes)))
        rows += node_rows(base, numeric, fmap[int(feature[node])], float(threshold[node]))
    return np.array(rows, dtype=np.float64).reshape(-1, p)


def scoring_matrix(seed: int, p: int, thr_rows: np.ndarray | None = None, nan: bool = False,
                   n: int = N_SCORE) -> np.ndarray:
    """n scoring rows: threshold rows first, then random ones. With `nan`, ~10% NaN in every
    column of the random rows, plus one all-NaN row and one row NaN in each column alone."""
    r = np.random.default_rng(seed + 7000)
    head = thr_rows if thr_rows is not None else np.empty((0, p))
    rest = r.normal(size=(n - len(head), p)) * 1.2
    if nan:
        rest = sprinkle_nan(rest, seed + 7, 0.1)
        rest[0, :] = np.nan
        for j in range(min(p, len(rest) - 1)):
            rest[1 + j, :] = r.normal(size=p)
            rest[1 + j, j] = np.nan
    X = np.vstack([head, rest])
    assert X.shape == (n, p), X.shape
    return X


def frame(X: np.ndarray, names: list[str]) -> pd.DataFrame:
    return pd.DataFrame({n: X[:, j].astype(np.float64) for j, n in enumerate(names)})


# ---------------------------------------------------------------------------------------
# Expected outputs
# ---------------------------------------------------------------------------------------
def label_column(values, classes) -> np.ndarray:
    classes = np.asarray(classes)
    if classes.dtype.kind in "iub":
        return np.asarray(values).astype(np.int64)
    if classes.dtype.kind in "UO":
        return np.asarray(values).astype(object)
    raise ValueError(f"unsupported classes_ dtype {classes.dtype}")


def outputs(model, X) -> pd.DataFrame:
    out: dict[str, np.ndarray] = {}
    if isinstance(model, IsolationForest):
        out["score"] = model.score_samples(X).astype(np.float64)
        out["decision"] = model.decision_function(X).astype(np.float64)
        out["label"] = model.predict(X).astype(np.int64)
    elif is_classifier(model) and hasattr(model, "predict_proba"):
        proba = model.predict_proba(X)
        for k in range(proba.shape[1]):
            out[f"prediction_{k}"] = proba[:, k].astype(np.float64)
        out["label"] = label_column(model.predict(X), model.classes_)
    elif is_classifier(model):
        dec = model.decision_function(X)
        if dec.ndim == 1:
            out["decision"] = dec.astype(np.float64)
        else:
            for k in range(dec.shape[1]):
                out[f"decision_{k}"] = dec[:, k].astype(np.float64)
        out["label"] = label_column(model.predict(X), model.classes_)
    else:
        pred = model.predict(X)
        assert pred.ndim == 1, pred.shape
        out["prediction"] = pred.astype(np.float64)
    return pd.DataFrame(out)


# ---------------------------------------------------------------------------------------
# Writing a case
# ---------------------------------------------------------------------------------------
def toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def save_model(model, case_dir: Path, save) -> str:
    """save: "joblib" | ("joblib", compress) | ("pickle", protocol) | ("bytes", name, data)."""
    if save == "joblib":
        save = ("joblib", 0)
    kind = save[0]
    if kind == "joblib":
        path = case_dir / "model.joblib"
        joblib.dump(model, path, compress=save[1])
    elif kind == "pickle":
        path = case_dir / "model.pkl"
        with open(path, "wb") as fh:
            pickle.dump(model, fh, protocol=save[1])
    elif kind == "bytes":
        path = case_dir / save[1]
        path.write_bytes(save[2])
    else:
        raise ValueError(save)
    return path.name


def load_model(path: Path):
    if path.suffix == ".pkl":
        with open(path, "rb") as fh:
            return pickle.load(fh)
    return joblib.load(path)


def write_parquet(df: pd.DataFrame, path: Path) -> None:
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path)


class Writer:
    def __init__(self, out: Path, only: list[str] | None):
        self.out = out
        self.only = only
        self.written: list[str] = []

    def wanted(self, name: str) -> bool:
        return not self.only or any(s in name for s in self.only)

    def case(self, name: str, *, description: str, model, input_df: pd.DataFrame,
             fitted_on_frame: bool, tol=TREE_TOL, save="joblib", expect_error: str = "",
             notes: list[str] | None = None) -> None:
        """Write one case. `model` is the fitted estimator (or None with save=("bytes", ...));
        `input_df` holds the scoring rows with the parquet column names; `fitted_on_frame`
        says whether to score with the DataFrame itself or its float64 values."""
        if not self.wanted(name):
            return
        case_dir = self.out / name
        if case_dir.exists():
            shutil.rmtree(case_dir)
        case_dir.mkdir(parents=True)
        model_name = save_model(model, case_dir, save)
        write_parquet(input_df, case_dir / "input.parquet")

        lines = [
            f"description = {toml_str(description)}",
            'producer = "scikit-learn"',
            f"producer_version = {toml_str(VERSION)}",
            f"model = {toml_str(model_name)}",
            'input = "input.parquet"',
        ]
        if not expect_error:
            df = pq.read_table(case_dir / "input.parquet").to_pandas()
            X = df if fitted_on_frame else df.to_numpy(dtype=np.float64)
            reloaded = load_model(case_dir / model_name)
            expected = outputs(reloaded, X)
            # the in-memory model and a second call must agree bit for bit
            pd.testing.assert_frame_equal(expected, outputs(model, X), check_exact=True)
            pd.testing.assert_frame_equal(expected, outputs(reloaded, X), check_exact=True)
            assert len(expected) == len(df)
            write_parquet(expected, case_dir / "expected.parquet")
            lines.append('expected = "expected.parquet"')
        else:
            lines.append('expected = ""')
        lines.append(f"rtol = {tol[0]!r}")
        lines.append(f"atol = {tol[1]!r}")
        lines.append(f"expect_error = {toml_str(expect_error)}")
        for note in notes or []:
            lines.append(f"# note: {note}")
        (case_dir / "case.toml").write_text("\n".join(lines) + "\n")
        self.written.append(name)


# ---------------------------------------------------------------------------------------
# Families
# ---------------------------------------------------------------------------------------
def decision_trees(w: Writer) -> None:
    p = 5
    X = gaussian(1, N_TRAIN, p)
    y = multiclass_target(X, 1)
    Xn = sprinkle_nan(X, 1, 0.1, cols=[0, 1, 2])  # x3, x4 never missing in training
    m = DecisionTreeClassifier(**TREE_KW).fit(Xn, y)
    Xs = scoring_matrix(1, p, threshold_rows([m], p, 1), nan=True)
    w.case("dt_classifier_nan",
           description="DecisionTreeClassifier, 3 int classes, fitted on a numpy array with NaN in "
                       "x0..x2; scoring has NaN in every column and rows on thresholds",
           model=m, input_df=frame(Xs, names_x(p)), fitted_on_frame=False,
           notes=["NaN in x3/x4 at scoring goes to the child with more training samples "
                  "(no missing values seen there in training)"])

    X = gaussian(2, N_TRAIN, p)
    y = reg_target(X, 2)
    Xn = sprinkle_nan(X, 2, 0.1, cols=[0, 3])
    names = names_f(p)
    m = DecisionTreeRegressor(**TREE_KW).fit(frame(Xn, names), y)
    Xs = scoring_matrix(2, p, threshold_rows([m], p, 2), nan=True)
    w.case("dt_regressor_nan",
           description="DecisionTreeRegressor fitted on a DataFrame (f0..f4) with NaN in f0/f3; "
                       "saved with pickle protocol 5",
           model=m, input_df=frame(Xs, names), fitted_on_frame=True, save=("pickle", 5))


def random_forests(w: Writer) -> None:
    p = 6
    names = ["age", "income", "balance", "tenure", "score", "utilisation"]
    X = gaussian(3, N_TRAIN, p)
    y = binary_target(X, 3)
    Xn = sprinkle_nan(X, 3, 0.08, cols=[0, 1, 2, 3])
    m = RandomForestClassifier(**FOREST_KW).fit(frame(Xn, names), y)
    Xs = scoring_matrix(3, p, threshold_rows(m.estimators_, p, 3), nan=True)
    w.case("rf_classifier_binary_nan",
           description="RandomForestClassifier binary (classes 0/1), DataFrame with named columns, "
                       "NaN in training and scoring",
           model=m, input_df=frame(Xs, names), fitted_on_frame=True)

    p = 5
    X = gaussian(4, N_TRAIN, p)
    y = pd.Series(np.array(["a", "b", "c"], dtype=object)[multiclass_target(X, 4)])
    m = RandomForestClassifier(**FOREST_KW).fit(X, y)
    Xs = scoring_matrix(4, p, threshold_rows(m.estimators_, p, 4))
    w.case("rf_classifier_multiclass_strings",
           description="RandomForestClassifier with string classes 'a','b','c' (classes_ is an "
                       "object array), fitted on a numpy array",
           model=m, input_df=frame(Xs, names_x(p)), fitted_on_frame=False)

    X = gaussian(5, N_TRAIN, p)
    y = reg_target(X, 5)
    Xn = sprinkle_nan(X, 5, 0.1, cols=[1, 2])
    m = RandomForestRegressor(**FOREST_KW).fit(Xn, y)
    Xs = scoring_matrix(5, p, threshold_rows(m.estimators_, p, 5), nan=True)
    w.case("rf_regressor_nan",
           description="RandomForestRegressor, numpy array, NaN in x1/x2 in training and "
                       "everywhere in scoring",
           model=m, input_df=frame(Xs, names_x(p)), fitted_on_frame=False)


def extra_trees(w: Writer) -> None:
    p = 5
    names = names_f(p)
    X = gaussian(6, N_TRAIN, p)
    y = multiclass_target(X, 6, k=4)
    Xn = sprinkle_nan(X, 6, 0.1, cols=[0, 2, 4])
    m = ExtraTreesClassifier(**FOREST_KW).fit(frame(Xn, names), y)
    Xs = scoring_matrix(6, p, threshold_rows(m.estimators_, p, 6), nan=True)
    w.case("et_classifier_nan",
           description="ExtraTreesClassifier, 4 classes, DataFrame f0..f4, NaN in training "
                       "(f0/f2/f4) and scoring",
           model=m, input_df=frame(Xs, names), fitted_on_frame=True)

    X = gaussian(7, N_TRAIN, p)
    y = reg_target(X, 7)
    m = ExtraTreesRegressor(**FOREST_KW).fit(X, y)
    Xs = scoring_matrix(7, p, threshold_rows(m.estimators_, p, 7), nan=True)
    w.case("et_regressor",
           description="ExtraTreesRegressor, numpy array, no NaN in training, NaN in scoring; "
                       "saved with pickle protocol 5",
           model=m, input_df=frame(Xs, names_x(p)), fitted_on_frame=False, save=("pickle", 5))


def gradient_boosting(w: Writer) -> None:
    # GradientBoosting* reject NaN: no NaN anywhere.
    p = 5
    X = gaussian(8, N_TRAIN, p)
    y = binary_target(X, 8)
    names = names_f(p)
    m = GradientBoostingClassifier(**GB_KW).fit(frame(X, names), y)
    trees = list(m.estimators_.ravel())
    Xs = scoring_matrix(8, p, threshold_rows(trees, p, 8))
    w.case("gb_classifier_binary",
           description="GradientBoostingClassifier binary (log_loss, prior init), DataFrame f0..f4",
           model=m, input_df=frame(Xs, names), fitted_on_frame=True, tol=SMOOTH_TOL)

    X = gaussian(9, N_TRAIN, p)
    y = multiclass_target(X, 9)
    m = GradientBoostingClassifier(**GB_KW).fit(X, y)
    Xs = scoring_matrix(9, p, threshold_rows(list(m.estimators_.ravel()), p, 9))
    w.case("gb_classifier_multiclass",
           description="GradientBoostingClassifier, 3 classes (softmax), numpy array",
           model=m, input_df=frame(Xs, names_x(p)), fitted_on_frame=False, tol=SMOOTH_TOL)

    X = gaussian(10, N_TRAIN, p)
    y = reg_target(X, 10)
    m = GradientBoostingRegressor(loss="squared_error", **GB_KW).fit(X, y)
    Xs = scoring_matrix(10, p, threshold_rows(list(m.estimators_.ravel()), p, 10))
    w.case("gb_regressor",
           description="GradientBoostingRegressor squared_error (mean init), numpy array",
           model=m, input_df=frame(Xs, names_x(p)), fitted_on_frame=False, tol=SMOOTH_TOL)

    m = GradientBoostingRegressor(loss="huber", **GB_KW).fit(frame(X, names), y)
    Xs = scoring_matrix(11, p, threshold_rows(list(m.estimators_.ravel()), p, 11))
    w.case("gb_regressor_huber",
           description="GradientBoostingRegressor huber (median/quantile init), DataFrame f0..f4; "
                       "saved with pickle protocol 5",
           model=m, input_df=frame(Xs, names), fitted_on_frame=True, tol=SMOOTH_TOL,
           save=("pickle", 5))

    X = gaussian(12, N_TRAIN, p)
    y = binary_target(X, 12)
    m = GradientBoostingClassifier(init="zero", **GB_KW).fit(X, y)
    Xs = scoring_matrix(12, p, threshold_rows(list(m.estimators_.ravel()), p, 12))
    w.case("gb_classifier_zero_init",
           description="GradientBoostingClassifier binary with init='zero' (raw score starts at 0)",
           model=m, input_df=frame(Xs, names_x(p)), fitted_on_frame=False, tol=SMOOTH_TOL)


def hgb_trees(m) -> list:
    return [pred for it in m._predictors for pred in it]


def hist_gradient_boosting(w: Writer) -> None:
    p = 5
    names = names_f(p)
    X = gaussian(13, N_TRAIN, p)
    y = np.where(binary_target(X, 13) == 1, 5, 2)
    Xn = sprinkle_nan(X, 13, 0.1, cols=[0, 1, 2])
    m = HistGradientBoostingClassifier(**HGB_KW).fit(frame(Xn, names), y)
    Xs = scoring_matrix(13, p, threshold_rows(hgb_trees(m), p, 13), nan=True)
    w.case("hgb_classifier_binary_nan",
           description="HistGradientBoostingClassifier binary with int classes 2/5, DataFrame "
                       "f0..f4, NaN in training (f0..f2) and scoring",
           model=m, input_df=frame(Xs, names), fitted_on_frame=True, tol=SMOOTH_TOL,
           notes=["HGB compares float64 inputs against float64 thresholds (no float32 cast)"])

    X = gaussian(14, N_TRAIN, p)
    y = multiclass_target(X, 14)
    Xn = sprinkle_nan(X, 14, 0.1, cols=[1, 3])
    m = HistGradientBoostingClassifier(**HGB_KW).fit(Xn, y)
    Xs = scoring_matrix(14, p, threshold_rows(hgb_trees(m), p, 14), nan=True)
    w.case("hgb_classifier_multiclass_nan",
           description="HistGradientBoostingClassifier 3 classes (softmax), numpy array, NaN in "
                       "training (x1/x3) and scoring",
           model=m, input_df=frame(Xs, names_x(p)), fitted_on_frame=False, tol=SMOOTH_TOL)

    X = gaussian(15, N_TRAIN, p)
    y = reg_target(X, 15)
    Xn = sprinkle_nan(X, 15, 0.1, cols=[0, 4])
    m = HistGradientBoostingRegressor(**HGB_KW).fit(Xn, y)
    Xs = scoring_matrix(15, p, threshold_rows(hgb_trees(m), p, 15), nan=True)
    w.case("hgb_regressor_nan",
           description="HistGradientBoostingRegressor squared_error, numpy array, NaN in training "
                       "(x0/x4) and scoring; saved with pickle protocol 5",
           model=m, input_df=frame(Xs, names_x(p)), fitted_on_frame=False, save=("pickle", 5))

    hgb_categorical(w)


def hgb_categorical(w: Writer) -> None:
    # String categories from a pandas "category" column, placed in the middle so the internal
    # reordering (categorical features first) matters.
    r = np.random.default_rng(16)
    colours = np.array(["blue", "green", "red", "yellow", "black"], dtype=object)
    n = N_TRAIN
    size = r.normal(size=n)
    colour = colours[r.integers(0, len(colours), n)]
    colour[r.random(n) < 0.05] = None
    weight = r.normal(size=n)
    effect = {"blue": 0.0, "green": 1.5, "red": -2.0, "yellow": 0.7, "black": 3.0, None: -0.5}
    y = 2.0 * size + np.array([effect[c] for c in colour]) + np.sin(weight) + 0.1 * r.normal(size=n)
    size_n = size.copy()
    size_n[r.random(n) < 0.08] = np.nan
    train = pd.DataFrame({"size": size_n, "colour": pd.Categorical(colour), "weight": weight})
    m = HistGradientBoostingRegressor(categorical_features="from_dtype", **HGB_KW).fit(train, y)
    # internal feature order is [categoricals..., numericals...]
    fmap = [1, 0, 2]
    known = m._preprocessor.named_transformers_["encoder"].categories_[0][:-1]  # last is nan
    thr = threshold_rows(hgb_trees(m), 3, 16, feature_map=fmap, cat_counts={0: len(known)})
    k = N_SCORE - len(thr)
    s_size = r.normal(size=k)
    s_size[r.random(k) < 0.1] = np.nan
    s_colour = colours[r.integers(0, len(colours), k)].copy()
    s_colour[:4] = ["purple", None, "Red", ""]  # unseen, missing, case-different, empty
    s_colour[4 + r.permutation(k - 4)[:4]] = None
    t_colour = known[thr[:, 1].astype(np.int64)]
    score = pd.DataFrame({
        "size": np.concatenate([thr[:, 0], s_size]),
        "colour": pd.array(np.concatenate([t_colour, s_colour]), dtype=object),
        "weight": np.concatenate([thr[:, 2], r.normal(size=k)]),
    })
    w.case("hgb_regressor_categorical",
           description="HistGradientBoostingRegressor, categorical_features='from_dtype' on a pandas "
                       "category column of strings ('colour', middle column) plus numeric columns; "
                       "scoring has unseen ('purple', 'Red', '') and missing categories",
           model=m, input_df=score, fitted_on_frame=True,
           notes=["input.parquet holds 'colour' as a plain string column (NULL = missing)",
                  "HGB's _preprocessor OrdinalEncoder maps unseen strings to NaN: they follow the "
                  "missing-value direction of a categorical split",
                  "node feature_idx refer to the preprocessed order: categorical columns first"])

    # integer codes on a numpy array, categorical_features=[2]
    p = 4
    X = gaussian(17, N_TRAIN, p)
    X[:, 2] = r.integers(0, 6, N_TRAIN)
    X[r.random(N_TRAIN) < 0.05, 2] = np.nan
    y = binary_target(np.nan_to_num(X), 17) ^ (X[:, 2] == 3)
    m = HistGradientBoostingClassifier(categorical_features=[2], **HGB_KW).fit(X, y)
    fmap = [2, 0, 1, 3]
    known = m._preprocessor.named_transformers_["encoder"].categories_[0][:-1]  # 0.0 .. 5.0
    thr = threshold_rows(hgb_trees(m), p, 17, feature_map=fmap, cat_counts={0: len(known)})
    thr[:, 2] = known[thr[:, 2].astype(np.int64)]
    rest = scoring_matrix(17, p, n=N_SCORE - len(thr), nan=True)
    rest[2:, 2] = r.integers(0, 6, len(rest) - 2)
    special = [9.0, np.nan, -1.0, 2.5, 300.0, 255.0, 0.0, 5.0]  # unseen, missing, negative, ...
    rest[2:2 + len(special), 2] = special
    Xs = np.vstack([thr, rest])
    w.case("hgb_classifier_categorical_int",
           description="HistGradientBoostingClassifier binary, numpy array with integer category "
                       "codes in x2 (categorical_features=[2]); scoring has unseen codes (9, 300, "
                       "255), a non-integer code (2.5), a negative code and NaN",
           model=m, input_df=frame(Xs, names_x(p)), fitted_on_frame=False, tol=SMOOTH_TOL,
           notes=["codes also go through HGB's _preprocessor OrdinalEncoder (exact float match): "
                  "any value not seen in training becomes NaN (missing)",
                  "node feature_idx refer to the preprocessed order: categorical columns first"])


def isolation_forests(w: Writer) -> None:
    p = 4
    X = gaussian(18, N_TRAIN, p)
    X[:10] *= 4.0  # a few outliers
    m = IsolationForest(n_estimators=10, max_samples=128, random_state=0, n_jobs=1).fit(X)
    Xs = scoring_matrix(18, p, threshold_rows(m.estimators_, p, 18), nan=True)
    Xs[-6:] *= 5.0
    w.case("iforest",
           description="IsolationForest contamination='auto' (offset_ = -0.5), numpy array, "
                       "NaN in scoring only",
           model=m, input_df=frame(Xs, names_x(p)), fitted_on_frame=False, tol=SMOOTH_TOL,
           notes=["score_samples uses the average path length c(n) (log / Euler constant)",
                  "label is -1 (outlier) / 1 (inlier)"])

    names = ["lat", "lon", "speed", "altitude"]
    Xn = sprinkle_nan(X, 19, 0.05, cols=[2])
    m = IsolationForest(n_estimators=10, max_samples=100, contamination=0.1, random_state=1,
                        n_jobs=1).fit(frame(Xn, names))
    Xs = scoring_matrix(19, p, threshold_rows(m.estimators_, p, 19), nan=True)
    Xs[-6:] *= 5.0
    w.case("iforest_contamination",
           description="IsolationForest contamination=0.1 (offset_ from the training-score "
                       "percentile), DataFrame with named columns, NaN in training (speed) and scoring",
           model=m, input_df=frame(Xs, names), fitted_on_frame=True, tol=SMOOTH_TOL)


def linear_models(w: Writer) -> None:
    p = 6
    names = names_f(p)
    X = gaussian(20, N_TRAIN, p)
    yb = np.where(binary_target(X, 20) == 1, 1, -1)
    m = LogisticRegression(C=0.5, max_iter=1000).fit(frame(X, names), yb)
    w.case("logreg_binary",
           description="LogisticRegression binary with classes -1/1, DataFrame f0..f5",
           model=m, input_df=frame(scoring_matrix(20, p), names), fitted_on_frame=True,
           tol=SMOOTH_TOL)

    X = gaussian(21, N_TRAIN, p)
    y = multiclass_target(X, 21, k=4)
    m = LogisticRegression(max_iter=1000).fit(X, y)
    w.case("logreg_multiclass",
           description="LogisticRegression 4 classes (multinomial / softmax), numpy array; "
                       "saved with pickle protocol 5",
           model=m, input_df=frame(scoring_matrix(21, p), names_x(p)), fitted_on_frame=False,
           tol=SMOOTH_TOL, save=("pickle", 5))

    X = gaussian(22, N_TRAIN, p)
    y = reg_target(X, 22)
    for name, est, on_frame in [
        ("linear_regression", LinearRegression(), False),
        ("ridge", Ridge(alpha=2.0), True),
        ("lasso", Lasso(alpha=0.05, random_state=0), False),
        ("elasticnet", ElasticNet(alpha=0.05, l1_ratio=0.5, random_state=0), True),
        ("sgd_regressor", SGDRegressor(random_state=0, max_iter=1000, tol=1e-4), False),
    ]:
        cols = names if on_frame else names_x(p)
        Xfit = frame(X, names) if on_frame else X
        m = est.fit(Xfit, y)
        w.case(name,
               description=f"{type(est).__name__} ({est!r}), "
                           f"{'DataFrame f0..f5' if on_frame else 'numpy array'}",
               model=m, input_df=frame(scoring_matrix(22, p), cols), fitted_on_frame=on_frame,
               tol=SMOOTH_TOL)

    X = gaussian(23, N_TRAIN, p)
    y = multiclass_target(X, 23)
    m = SGDClassifier(loss="log_loss", random_state=0, max_iter=1000, tol=1e-4).fit(X, y)
    w.case("sgd_classifier_log",
           description="SGDClassifier loss='log_loss', 3 classes (one-vs-rest: expit then "
                       "normalise), numpy array",
           model=m, input_df=frame(scoring_matrix(23, p), names_x(p)), fitted_on_frame=False,
           tol=SMOOTH_TOL)

    X = gaussian(24, N_TRAIN, p)
    y = binary_target(X, 24)
    m = LinearSVC(C=0.5, random_state=0, max_iter=5000).fit(frame(X, names), y)
    w.case("linear_svc_binary",
           description="LinearSVC binary (no predict_proba): decision + label, DataFrame f0..f5",
           model=m, input_df=frame(scoring_matrix(24, p), names), fitted_on_frame=True,
           tol=SMOOTH_TOL)

    X = gaussian(25, N_TRAIN, p)
    species = np.array(["setosa", "versicolor", "virginica"])  # numpy unicode classes_
    y = species[multiclass_target(X, 25)]
    m = LinearSVC(C=0.5, random_state=0, max_iter=5000).fit(X, y)
    w.case("linear_svc_multiclass",
           description="LinearSVC 3 classes (one-vs-rest decision_0..2 + label), string classes "
                       "as a numpy '<U10' array, numpy input",
           model=m, input_df=frame(scoring_matrix(25, p), names_x(p)), fitted_on_frame=False,
           tol=SMOOTH_TOL)


def pipelines(w: Writer) -> None:
    p = 5
    names = ["alpha", "beta", "gamma", "delta", "epsilon"]
    X = gaussian(26, N_TRAIN, p) * np.array([1.0, 10.0, 0.1, 5.0, 100.0]) + np.array([0, 50, -1, 3, 1000])
    y = binary_target((X - X.mean(0)) / X.std(0), 26)
    m = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(max_iter=1000))])
    m.fit(frame(X, names), y)
    Xs = scoring_matrix(26, p) * np.array([1.0, 10.0, 0.1, 5.0, 100.0]) + np.array([0, 50, -1, 3, 1000])
    w.case("pipeline_scaler_logreg",
           description="Pipeline(StandardScaler, LogisticRegression) binary, DataFrame with names",
           model=m, input_df=frame(Xs, names), fitted_on_frame=True, tol=SMOOTH_TOL)

    X = gaussian(27, N_TRAIN, p) * 3.0 + 1.0
    y = multiclass_target(X, 27)
    Xn = sprinkle_nan(X, 27, 0.1, cols=[0, 1])
    m = Pipeline([
        ("impute", SimpleImputer(strategy="median", add_indicator=True)),
        ("scale", MinMaxScaler()),
        ("rf", RandomForestClassifier(**FOREST_KW)),
    ])
    m.fit(frame(Xn, names), y)
    Xs = scoring_matrix(27, p, nan=True) * 3.0 + 1.0
    w.case("pipeline_impute_scale_rf",
           description="Pipeline(SimpleImputer(median, add_indicator=True), MinMaxScaler, "
                       "RandomForestClassifier 3 classes), DataFrame with names, NaN in training "
                       "(alpha, beta) and scoring (all columns)",
           model=m, input_df=frame(Xs, names), fitted_on_frame=True,
           notes=["indicator columns exist only for features with NaN in training (alpha, beta); "
                  "NaN elsewhere is imputed silently",
                  "MinMaxScaler output (x * scale_ + min_) is not clipped and feeds float32-cast "
                  "tree comparisons: rows near a threshold may depend on the exact float64 "
                  "rounding of the scaler"])


def serialization(w: Writer) -> bytes:
    """The same small RF in every container scikit-learn models are shipped in. Returns the
    uncompressed joblib bytes (for the truncation refusal)."""
    p = 4
    X = gaussian(28, N_TRAIN, p)
    y = binary_target(X, 28)
    m = RandomForestClassifier(n_estimators=5, max_depth=4, random_state=0, n_jobs=1).fit(X, y)
    Xs = scoring_matrix(28, p, threshold_rows(m.estimators_, p, 28, n_nodes=3), nan=True)
    df = frame(Xs, names_x(p))
    variants = [
        ("rf_pickle_p2", ("pickle", 2), "pickle protocol 2"),
        ("rf_pickle_p4", ("pickle", 4), "pickle protocol 4"),
        ("rf_pickle_p5", ("pickle", 5), "pickle protocol 5 (in-band buffers)"),
        ("rf_joblib", ("joblib", 0), "joblib.dump uncompressed"),
        ("rf_joblib_zlib", ("joblib", 3), "joblib.dump compress=3 (zlib)"),
        ("rf_joblib_gzip", ("joblib", ("gzip", 3)), "joblib.dump compress=('gzip', 3)"),
        ("rf_joblib_bz2", ("joblib", ("bz2", 3)), "joblib.dump compress=('bz2', 3)"),
        ("rf_joblib_xz", ("joblib", ("xz", 3)), "joblib.dump compress=('xz', 3)"),
        ("rf_joblib_lzma", ("joblib", ("lzma", 3)), "joblib.dump compress=('lzma', 3) (raw .lzma "
                                                     "container)"),
    ]
    for name, save, what in variants:
        w.case(name,
               description=f"RandomForestClassifier (5 trees, depth 4, binary) saved with {what}",
               model=m, input_df=df, fitted_on_frame=False, save=save)
    buf = io.BytesIO()
    joblib.dump(m, buf)
    return buf.getvalue()


class _Evil:
    """Pickles to a call of os.system. Never unpickle the result."""

    def __reduce__(self):
        return (os.system, ("echo pwned",))


def refusals(w: Writer, rf_joblib: bytes) -> None:
    p = 3
    X = np.abs(gaussian(29, N_TRAIN, p))
    y = np.log1p(X) @ np.array([1.0, -2.0, 0.5])
    m = Pipeline([("log", FunctionTransformer(np.log1p)), ("lr", LinearRegression())]).fit(X, y)
    Xs = np.abs(scoring_matrix(29, p))
    w.case("refuse_function_transformer",
           description="Pipeline(FunctionTransformer(np.log1p), LinearRegression): arbitrary "
                       "callables are refused",
           model=m, input_df=frame(Xs, names_x(p)), fitted_on_frame=False,
           expect_error="FunctionTransformer", tol=SMOOTH_TOL)

    # CPython pickles os.system as `posix.system` (its __module__ on Linux). The classic
    # payload spells it `os.system` with the GLOBAL opcode; write that by hand, and the
    # pickle.dumps output as a second case.
    classic = b"cos\nsystem\n(S'echo pwned'\ntR."
    w.case("refuse_os_system",
           description="hand-written pickle whose GLOBAL/REDUCE calls os.system('echo pwned'); "
                       "must be refused without executing anything",
           model=None, input_df=frame(Xs, names_x(p)), fitted_on_frame=False,
           save=("bytes", "model.pkl", classic), expect_error="os.system")
    dumped = pickle.dumps(_Evil(), protocol=5)
    assert b"posix" in dumped and b"system" in dumped
    w.case("refuse_posix_system",
           description="pickle.dumps of an object whose __reduce__ returns (os.system, "
                       "('echo pwned',)): CPython writes it as STACK_GLOBAL posix.system",
           model=None, input_df=frame(Xs, names_x(p)), fitted_on_frame=False,
           save=("bytes", "model.pkl", dumped), expect_error="posix.system")

    X = gaussian(30, N_TRAIN, p)
    y = binary_target(X, 30)
    m = KNeighborsClassifier(n_neighbors=3).fit(X[:60], y[:60])
    w.case("refuse_unknown_estimator",
           description="KNeighborsClassifier (not supported by scorewell-sklearn)",
           model=m, input_df=frame(scoring_matrix(30, p), names_x(p)), fitted_on_frame=False,
           expect_error="KNeighborsClassifier")

    w.case("refuse_truncated",
           description="the rf_joblib file cut in half",
           model=None, input_df=frame(scoring_matrix(28, 4, nan=True), names_x(4)),
           fitted_on_frame=False, save=("bytes", "model.joblib", rf_joblib[: len(rf_joblib) // 2]),
           expect_error="truncated")


# ---------------------------------------------------------------------------------------
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    ap.add_argument("--only", nargs="*", help="only cases whose name contains one of these")
    args = ap.parse_args(argv)
    np.random.seed(0)  # nothing should use the global RNG; pin it anyway
    warnings.filterwarnings("error", category=ConvergenceWarning)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    if not args.only:  # drop stale cases (only folders that look like cases)
        for child in sorted(out.iterdir()):
            if child.is_dir() and (child / "case.toml").exists():
                shutil.rmtree(child)
    w = Writer(out, args.only)
    t0 = time.perf_counter()
    decision_trees(w)
    random_forests(w)
    extra_trees(w)
    gradient_boosting(w)
    hist_gradient_boosting(w)
    isolation_forests(w)
    linear_models(w)
    pipelines(w)
    rf_bytes = serialization(w)
    refusals(w, rf_bytes)
    for name in w.written:
        size = sum(f.stat().st_size for f in (out / name).iterdir())
        print(f"{name:36s} {size / 1024:8.1f} KiB")
    print(f"{len(w.written)} cases in {time.perf_counter() - t0:.1f}s -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
