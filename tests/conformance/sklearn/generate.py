"""Generate scikit-learn conformance cases for crates/scorewell-sklearn.

    .venv/bin/python tests/conformance/sklearn/generate.py [--out DIR] [--only SUBSTR ...]
    bash scripts/generate-sklearn-legacy.sh [--out DIR]      (= generate.py --legacy, sklearn 1.2)

Each case is a folder DIR/<name>/ (default DIR = tests/conformance/sklearn/cases):

    model.joblib | model.pkl | model.skops
                               the fitted estimator exactly as joblib.dump / pickle.dump /
                               skops.io.dump wrote it (skops: ids and timestamps canonicalised)
    input.parquet              the scoring rows, one column per input feature, in model order
    expected.parquet           scikit-learn's own outputs for input.parquet (absent for refusals
                               and scoring errors)
    case.toml                  description, producer, producer_version, model, input, expected,
                               rtol, atol, expect_error [, score_error]

Output columns (see README.md): classifiers with predict_proba -> prediction_0..k-1 + label;
classifiers without -> decision (binary) / decision_0..k-1 + label; regressors -> prediction;
IsolationForest -> score, decision, label.

Everything is seeded and single-threaded. Expected outputs are computed by the model *reloaded
from the written file*, on the frame *read back from input.parquet*, so the case is exactly
what a consumer of the folder sees.

A normal run writes (and, without --only, first deletes) every case except the legacy_* ones;
--legacy writes (and deletes) only legacy_<major>_<minor>_* cases and must run under that
old scikit-learn (tests/conformance/sklearn/requirements-legacy.txt).
"""
from __future__ import annotations

import argparse
import inspect
import io
import json
import os
import pickle
import shutil
import sys
import time
import warnings
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import sklearn
from sklearn.base import is_classifier
from sklearn.compose import ColumnTransformer
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
from sklearn.preprocessing import (
    FunctionTransformer,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    StandardScaler,
)
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

try:  # optional: the legacy (scikit-learn 1.2) venv has no skops
    import skops
    import skops.io as sio
except ImportError:  # pragma: no cover
    skops = sio = None

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "cases"
VERSION = sklearn.__version__
# Cases written by `--legacy` (an old scikit-learn in its own venv) start with this prefix;
# a normal run neither writes nor deletes them, a legacy run touches nothing else.
LEGACY_PREFIX = "legacy_"

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
    """save: "joblib" | ("joblib", compress) | ("pickle", protocol) | ("bytes", name, data)
    | ("skops", zip compression: zipfile.ZIP_STORED (skops' default) | zipfile.ZIP_DEFLATED)."""
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
    elif kind == "skops":
        if sio is None:
            raise RuntimeError("skops is not installed (bash scripts/setup-python.sh)")
        path = case_dir / "model.skops"
        buf = io.BytesIO()
        sio.dump(model, buf, compression=save[1])
        path.write_bytes(canonical_skops(buf.getvalue()))
    else:
        raise ValueError(save)
    return path.name


# skops names every node `"__id__": id(obj)` and every array file `<id(obj)>.npy` (CPython
# addresses), and zips them with the current time: two dumps of one model differ. Renumber
# both in order of first appearance in schema.json (same number for the same id, so shared
# objects stay shared) and pin the zip timestamps; nothing else changes (entry order,
# ZIP_STORED, schema.json formatting, .npy bytes).
SKOPS_ID_BASE = 140_000_000_000_000  # address-sized, like the ids skops writes
SKOPS_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def canonical_skops(data: bytes) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    schema = json.loads(src.read("schema.json"))
    ids: dict[int, int] = {}

    def renum(i: int) -> int:
        if i not in ids:
            ids[i] = SKOPS_ID_BASE + 16 * (len(ids) + 1)
        return ids[i]

    files: dict[str, str] = {}

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "__id__" and isinstance(v, int):
                    node[k] = renum(v)
                elif k == "file" and isinstance(v, str):
                    stem, ext = v.rsplit(".", 1)
                    if not stem.isdigit():
                        raise ValueError(f"unexpected skops file name {v!r}")
                    files[v] = f"{renum(int(stem))}.{ext}"
                    node[k] = files[v]
                else:
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(schema)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            if info.filename == "schema.json":
                body = json.dumps(schema, indent=2).encode()
                name = info.filename
            else:
                body = src.read(info.filename)
                name = files[info.filename]
            zi = zipfile.ZipInfo(name, date_time=SKOPS_ZIP_TIME)
            zi.compress_type = info.compress_type
            zi.external_attr = info.external_attr
            dst.writestr(zi, body)
    return out.getvalue()


def load_model(path: Path):
    if path.suffix == ".pkl":
        with open(path, "rb") as fh:
            return pickle.load(fh)
    if path.suffix == ".skops":
        return sio.load(path, trusted=sio.get_untrusted_types(file=path))
    return joblib.load(path)


def write_parquet(df: pd.DataFrame, path: Path) -> None:
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path)


class Writer:
    def __init__(self, out: Path, only: list[str] | None):
        self.out = out
        self.only = only
        self.written: list[str] = []
        # every case's arguments, written or not, so later families can re-save a model
        self.made: dict[str, dict] = {}

    def wanted(self, name: str) -> bool:
        return not self.only or any(s in name for s in self.only)

    def case(self, name: str, *, description: str, model, input_df: pd.DataFrame,
             fitted_on_frame: bool, tol=TREE_TOL, save="joblib", expect_error: str = "",
             score_error: str = "", notes: list[str] | None = None) -> None:
        """Write one case. `model` is the fitted estimator (or None with save=("bytes", ...));
        `input_df` holds the scoring rows with the parquet column names; `fitted_on_frame`
        says whether to score with the DataFrame itself or its float64 values. A non-empty
        `score_error`: the model loads, but scoring input_df must fail with an error message
        containing it (no expected.parquet; the key is written only when set)."""
        self.made[name] = dict(model=model, input_df=input_df, fitted_on_frame=fitted_on_frame,
                               tol=tol, notes=notes)
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
        assert not (expect_error and score_error)
        if score_error:
            df = pq.read_table(case_dir / "input.parquet").to_pandas()
            X = df if fitted_on_frame else df.to_numpy(dtype=np.float64)
            for m in (load_model(case_dir / model_name), model):
                try:
                    outputs(m, X)
                except Exception as e:  # noqa: BLE001 - any error, checked by message
                    assert score_error in str(e), (score_error, str(e))
                else:
                    raise AssertionError(f"{name}: scoring did not fail")
            lines.append('expected = ""')
        elif not expect_error:
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
        if score_error:
            lines.append(f"score_error = {toml_str(score_error)}")
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
# ColumnTransformer / encoders on mixed numeric + string DataFrames
# ---------------------------------------------------------------------------------------
def ohe(**kw) -> OneHotEncoder:
    """OneHotEncoder, spelling `sparse_output` as `sparse` where the installed scikit-learn
    predates it (< 1.2)."""
    if "sparse_output" in kw and "sparse_output" not in inspect.signature(OneHotEncoder).parameters:
        kw["sparse"] = kw.pop("sparse_output")
    return OneHotEncoder(**kw)


def strings(values) -> np.ndarray:
    return np.array(list(values), dtype=object)


def draw(r, values, n: int, p=None) -> np.ndarray:
    """n draws from `values` (an object array of strings / None)."""
    values = strings(values)
    return values[r.choice(len(values), size=n, p=p)]


def exact_counts(r, counts: dict, n: int) -> np.ndarray:
    """An object column with exactly counts[v] copies of each v (None allowed), shuffled."""
    col = strings(v for v, c in counts.items() for _ in range(c))
    assert len(col) == n, (len(col), n)
    return col[r.permutation(n)]


def put(col: np.ndarray, specials: list, start: int = 0) -> np.ndarray:
    """Overwrite col[start:start+len(specials)] (a copy) with `specials`."""
    col = col.copy()
    col[start:start + len(specials)] = specials
    return col


def effect(col: np.ndarray, eff: dict) -> np.ndarray:
    return np.array([eff[v] for v in col], dtype=np.float64)


def logit_labels(r, z: np.ndarray) -> np.ndarray:
    return (z + 0.4 * r.normal(size=len(z)) > np.median(z)).astype(np.int64)


def ct_notes(m: Pipeline) -> list[str]:
    """Describe the fitted ColumnTransformer's output order (first step of `m`)."""
    ct = m.steps[0][1]
    order = ", ".join(f"{k}[{s.start}:{s.stop}]" for k, s in ct.output_indices_.items()
                      if s.stop > s.start)
    return [f"ColumnTransformer output columns: {order}; sparse_output_ = {ct.sparse_output_}",
            f"feature names out: {', '.join(ct.get_feature_names_out())}"]


def column_transformers(w: Writer) -> None:
    n, k = N_TRAIN, N_SCORE
    null_note = ("input.parquet string columns are plain parquet strings; NULL reads back as "
                 "Python None (not NaN), which is what expected.parquet was computed from")

    # -- ct_ohe_ordinal_logreg ---------------------------------------------------------
    r = np.random.default_rng(40)
    colours = ["red", "green", "blue", "yellow", "black"]
    bands = ["low", "mid", "high"]
    age = 40 + 12 * r.normal(size=n)
    income = np.exp(10 + 0.5 * r.normal(size=n))
    score = r.normal(size=n)
    colour = draw(r, colours, n)
    band = draw(r, bands, n, p=[0.5, 0.3, 0.2])
    z = (0.05 * (age - 40) + 0.8 * np.log(income / 22000) + score
         + effect(colour, dict(red=1.0, green=-0.5, blue=0.0, yellow=0.8, black=-1.2))
         + effect(band, dict(low=-0.7, mid=0.1, high=0.9)))
    y = logit_labels(r, z)
    age[r.random(n) < 0.08] = np.nan
    income[r.random(n) < 0.08] = np.nan
    train = pd.DataFrame({"age": age, "colour": colour, "income": income, "band": band,
                          "score": score})
    m = Pipeline([
        ("ct", ColumnTransformer([
            ("num", Pipeline([("imp", SimpleImputer(strategy="median")),
                              ("sc", StandardScaler())]), ["age", "income", "score"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["colour"]),
            ("ord", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
             ["band"]),
        ], remainder="drop")),
        ("clf", LogisticRegression(max_iter=1000)),
    ]).fit(train, y)
    s_age = 40 + 15 * r.normal(size=k)
    s_income = np.exp(10 + 0.6 * r.normal(size=k))
    s_score = 1.2 * r.normal(size=k)
    for col in (s_age, s_income, s_score):
        col[r.random(k) < 0.1] = np.nan
    s_colour = put(draw(r, colours, k), ["purple", "Red", "", None, " red", "red "])
    s_colour[10 + r.permutation(k - 10)[:3]] = None
    s_band = put(draw(r, bands, k), ["extreme", None, "LOW", "Mid"], start=3)
    score_df = pd.DataFrame({"age": s_age, "colour": s_colour, "income": s_income,
                             "band": s_band, "score": s_score})
    w.case("ct_ohe_ordinal_logreg",
           description="Pipeline(ColumnTransformer([num: SimpleImputer(median)+StandardScaler "
                       "on age/income/score, cat: OneHotEncoder(handle_unknown='ignore') on "
                       "colour, ord: OrdinalEncoder(use_encoded_value, unknown_value=-1) on "
                       "band], remainder='drop'), LogisticRegression); NaN in numerics, unseen "
                       "and NULL categories in scoring",
           model=m, input_df=score_df, fitted_on_frame=True, tol=SMOOTH_TOL,
           notes=[null_note,
                  "unseen colour ('purple', 'Red', '', ' red', 'red ', NULL) -> all-zero one-hot "
                  "block; unseen band ('extreme', 'LOW', 'Mid', NULL) -> -1",
                  "OrdinalEncoder codes follow sorted categories_: high=0, low=1, mid=2"]
           + ct_notes(m))

    # -- ct_ohe_drop_first_rf / ohe_unknown_error_case ----------------------------------
    r = np.random.default_rng(41)
    cities = ["paris", "berlin", "rome", "madrid"]
    X = gaussian(41, n, 3)
    city = draw(r, cities, n)
    y = ((latent(X, 41) + effect(city, dict(paris=0.8, berlin=-0.6, rome=0.3, madrid=-1.0))
          + 0.3 * r.normal(size=n)) > 0).astype(np.int64)
    Xn = sprinkle_nan(X, 41, 0.08, cols=[0, 2])
    train = pd.DataFrame({"x0": Xn[:, 0], "city": city, "x1": Xn[:, 1], "x2": Xn[:, 2]})
    m = Pipeline([
        ("ct", ColumnTransformer([("city", OneHotEncoder(drop="first", handle_unknown="error"),
                                   ["city"])], remainder="passthrough")),
        ("rf", RandomForestClassifier(**FOREST_KW)),
    ]).fit(train, y)
    Xs = scoring_matrix(41, 3, nan=True)
    s_city = draw(r, cities, k)
    score_df = pd.DataFrame({"x0": Xs[:, 0], "city": s_city, "x1": Xs[:, 1], "x2": Xs[:, 2]})
    w.case("ct_ohe_drop_first_rf",
           description="Pipeline(ColumnTransformer([OneHotEncoder(drop='first', "
                       "handle_unknown='error') on city (2nd column)], remainder='passthrough'), "
                       "RandomForestClassifier binary); NaN in the numeric columns; scoring has "
                       "only known cities",
           model=m, input_df=score_df, fitted_on_frame=True,
           notes=["categories_ sorted: berlin, madrid, paris, rome; drop_idx_ = [0] drops "
                  "'berlin' (encoded as all zeros)",
                  "output order: the transformers' columns first, then the remainder columns "
                  "x0, x1, x2 in input order; NaN passes through to the forest"] + ct_notes(m))
    s_city_bad = put(s_city, ["lisbon"], start=5)
    s_city_bad[20] = "lisbon"
    w.case("ohe_unknown_error_case",
           description="the ct_ohe_drop_first_rf model; scoring has an unseen city 'lisbon' in "
                       "rows 5 and 20: OneHotEncoder(handle_unknown='error') must fail scoring",
           model=m, input_df=score_df.assign(city=s_city_bad), fitted_on_frame=True,
           score_error="lisbon",
           notes=["scikit-learn: ValueError: Found unknown categories ['lisbon'] in column 0 "
                  "during transform"])

    # -- ct_ohe_if_binary_gb -------------------------------------------------------------
    r = np.random.default_rng(42)
    X = gaussian(42, n, 3)
    smoker = draw(r, ["yes", "no"], n, p=[0.3, 0.7])
    region = draw(r, ["north", "south", "west"], n)
    y = (reg_target(X, 42) + effect(smoker, dict(yes=4.0, no=0.0))
         + effect(region, dict(north=-1.0, south=2.0, west=0.5)))
    train = pd.DataFrame({"smoker": smoker, "n0": X[:, 0], "region": region, "n1": X[:, 1],
                          "n2": X[:, 2]})
    m = Pipeline([
        ("ct", ColumnTransformer([("cat", OneHotEncoder(drop="if_binary"), ["smoker", "region"])],
                                 remainder="passthrough")),
        ("gb", GradientBoostingRegressor(**GB_KW)),
    ]).fit(train, y)
    Xs = scoring_matrix(42, 3)
    score_df = pd.DataFrame({"smoker": draw(r, ["yes", "no"], k), "n0": Xs[:, 0],
                             "region": draw(r, ["north", "south", "west"], k), "n1": Xs[:, 1],
                             "n2": Xs[:, 2]})
    w.case("ct_ohe_if_binary_gb",
           description="Pipeline(ColumnTransformer([OneHotEncoder(drop='if_binary') on smoker "
                       "(yes/no) and region (3 values)], remainder='passthrough'), "
                       "GradientBoostingRegressor); no NaN, no unseen categories",
           model=m, input_df=score_df, fitted_on_frame=True, tol=SMOOTH_TOL,
           notes=["drop_idx_ = [0, None] (object array): smoker keeps one column (smoker_yes; "
                  "'no' is index 0 and dropped), region keeps all three"] + ct_notes(m))

    # -- ct_ohe_infrequent ---------------------------------------------------------------
    r = np.random.default_rng(43)
    X = gaussian(43, n, 2)
    product = exact_counts(r, {"A": 95, "B": 70, "C": 50, "D": 30, "E": 14, "F": 15, "G": 8,
                               "H": 6, None: 12}, n)
    channel = exact_counts(r, {"web": 160, "store": 130, "phone": 10}, n)
    peff = dict(A=0.0, B=1.0, C=-1.0, D=0.5, E=2.0, F=-2.0, G=1.5, H=-1.5)
    peff[None] = 0.7
    z = (latent(X, 43) + effect(product, peff)
         + effect(channel, dict(web=0.4, store=-0.4, phone=1.0)))
    y = logit_labels(r, z)
    train = pd.DataFrame({"product": product, "n0": X[:, 0], "channel": channel, "n1": X[:, 1]})
    m = Pipeline([
        ("ct", ColumnTransformer([
            ("cat", OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=15),
             ["product", "channel"]),
        ], remainder="passthrough")),
        ("clf", LogisticRegression(max_iter=1000)),
    ]).fit(train, y)
    Xs = scoring_matrix(43, 2)
    s_product = put(draw(r, ["A", "B", "C", "D", "E", "F", "G", "H"], k),
                    ["Z", "E", "G", "H", None, "F", "", "a", "D"])
    s_channel = put(draw(r, ["web", "store", "phone"], k), ["fax", "phone", None, "Web"],
                    start=9)
    score_df = pd.DataFrame({"product": s_product, "n0": Xs[:, 0], "channel": s_channel,
                             "n1": Xs[:, 1]})
    w.case("ct_ohe_infrequent",
           description="Pipeline(ColumnTransformer([OneHotEncoder(handle_unknown="
                       "'infrequent_if_exist', min_frequency=15) on product and channel], "
                       "remainder='passthrough'), LogisticRegression); training counts product "
                       "A95 B70 C50 D30 E14 F15 G8 H6 None12, channel web160 store130 phone10",
           model=m, input_df=score_df, fitted_on_frame=True, tol=SMOOTH_TOL,
           notes=[null_note,
                  "None is a category of its own (categories_ ends with None) and with 12 rows "
                  "it is infrequent: a NULL product maps to product_infrequent_sklearn",
                  "product: E (14 < 15), G, H, None infrequent; F (15) is frequent "
                  "(count >= min_frequency is kept); channel: only 'phone' infrequent",
                  "unseen values (Z, '', a, fax, Web, NULL channel) go to the infrequent column"]
           + ct_notes(m))

    # -- ct_ohe_max_categories -----------------------------------------------------------
    r = np.random.default_rng(44)
    X = gaussian(44, n, 2)
    grade = exact_counts(r, {"a": 90, "b": 60, "c": 60, "d": 40, "e": 30, "f": 20}, n)
    y = reg_target(X, 44) + effect(grade, dict(a=0.0, b=2.0, c=-2.0, d=1.0, e=3.0, f=-3.0))
    train = pd.DataFrame({"n0": X[:, 0], "grade": grade, "n1": X[:, 1]})
    m = Pipeline([
        ("ct", ColumnTransformer([
            ("grade", OneHotEncoder(max_categories=3, handle_unknown="infrequent_if_exist"),
             ["grade"]),
            ("num", "passthrough", ["n0", "n1"]),
        ])),
        ("ridge", Ridge(alpha=1.0)),
    ]).fit(train, y)
    Xs = scoring_matrix(44, 2)
    s_grade = put(draw(r, list("abcdef"), k), ["z", None, "A", "", "b", "c"])
    score_df = pd.DataFrame({"n0": Xs[:, 0], "grade": s_grade, "n1": Xs[:, 1]})
    w.case("ct_ohe_max_categories",
           description="Pipeline(ColumnTransformer([OneHotEncoder(max_categories=3, "
                       "handle_unknown='infrequent_if_exist') on a 6-valued grade, num: "
                       "'passthrough' n0/n1]), Ridge); training counts a90 b60 c60 d40 e30 f20 "
                       "(b/c tie)",
           model=m, input_df=score_df, fitted_on_frame=True, tol=SMOOTH_TOL,
           notes=[null_note,
                  "max_categories=3 counts the infrequent column: 2 frequent + 1 infrequent",
                  "the b/c tie is broken by a stable argsort of the counts: b (earlier) becomes "
                  "infrequent, c stays frequent: outputs grade_a, grade_c, "
                  "grade_infrequent_sklearn; read _infrequent_indices, do not recount",
                  "unseen ('z', 'A', '', NULL) -> the infrequent column"] + ct_notes(m))

    # -- ct_ohe_numeric_categories -------------------------------------------------------
    r = np.random.default_rng(45)
    X = gaussian(45, n, 2)
    ids = np.array([3, 7, 11, 42, 100], dtype=np.int64)
    store = ids[r.integers(0, len(ids), n)]
    sid = {3: 0.0, 7: 1.5, 11: -1.0, 42: 2.5, 100: -2.0}
    y = np.digitize(latent(X, 45) + np.array([sid[int(v)] for v in store])
                    + 0.3 * r.normal(size=n), [-0.8, 0.8]).astype(np.int64)
    train = pd.DataFrame({"f0": X[:, 0], "store_id": store, "f1": X[:, 1]})
    m = Pipeline([
        ("ct", ColumnTransformer([("store", OneHotEncoder(handle_unknown="ignore"),
                                   ["store_id"])], remainder="passthrough")),
        ("dt", DecisionTreeClassifier(**TREE_KW)),
    ]).fit(train, y)
    Xs = scoring_matrix(45, 2)
    s_store = ids[r.integers(0, len(ids), k)]
    s_store[:6] = [5, -1, 0, 99999, 2**40, 42]
    score_df = pd.DataFrame({"f0": Xs[:, 0], "store_id": s_store.astype(np.int64),
                             "f1": Xs[:, 1]})
    w.case("ct_ohe_numeric_categories",
           description="Pipeline(ColumnTransformer([OneHotEncoder(handle_unknown='ignore') on "
                       "an int64 store_id (3, 7, 11, 42, 100)], remainder='passthrough'), "
                       "DecisionTreeClassifier 3 classes); scoring has unseen ids",
           model=m, input_df=score_df, fitted_on_frame=True,
           notes=["store_id is an int64 parquet column; categories_ is an int64 array",
                  "unseen ids (5, -1, 0, 99999, 2**40) -> all-zero one-hot block"]
           + ct_notes(m))

    # -- ct_string_imputer_ohe / ct_string_imputer_none_ohe -------------------------------
    for name, imputer, seed in [
        ("ct_string_imputer_ohe", SimpleImputer(strategy="most_frequent"), 46),
        ("ct_string_imputer_none_ohe",
         SimpleImputer(missing_values=None, strategy="constant", fill_value="missing"), 50),
    ]:
        r = np.random.default_rng(seed)
        X = gaussian(seed, n, 3)
        colour = draw(r, ["red", "green", "blue", "grey"], n, p=[0.4, 0.3, 0.2, 0.1])
        colour[r.random(n) < 0.1] = None
        ceff = dict(red=0.5, green=-0.5, blue=1.0, grey=-1.0)
        ceff[None] = 1.5
        y = logit_labels(r, latent(X, seed) + effect(colour, ceff))
        train = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "colour": colour, "c": X[:, 2]})
        m = Pipeline([
            ("ct", ColumnTransformer([
                ("cat", Pipeline([("imp", imputer),
                                  ("ohe", OneHotEncoder(handle_unknown="ignore"))]), ["colour"]),
                ("num", "passthrough", ["a", "b", "c"]),
            ])),
            ("clf", LogisticRegression(max_iter=1000)),
        ]).fit(train, y)
        Xs = scoring_matrix(seed, 3)
        s_colour = put(draw(r, ["red", "green", "blue", "grey"], k), [None, "pink", None, ""])
        s_colour[4 + r.permutation(k - 4)[:5]] = None
        score_df = pd.DataFrame({"a": Xs[:, 0], "b": Xs[:, 1], "colour": s_colour,
                                 "c": Xs[:, 2]})
        if name == "ct_string_imputer_ohe":
            desc = ("Pipeline(ColumnTransformer([cat: Pipeline(SimpleImputer(strategy="
                    "'most_frequent'), OneHotEncoder(handle_unknown='ignore')) on colour, num: "
                    "'passthrough' a/b/c]), LogisticRegression); colour has None in training "
                    "and scoring")
            quirk = ["SimpleImputer's default missing_values=np.nan does NOT match None in an "
                     "object column: None is left alone (statistics_ = ['red'] is never used "
                     "here), and OneHotEncoder learns None as a category (categories_ = "
                     "[blue, green, grey, red, None]): a NULL colour sets the colour_None "
                     "column", null_note]
        else:
            desc = ("like ct_string_imputer_ohe with SimpleImputer(missing_values=None, "
                    "strategy='constant', fill_value='missing'): None is imputed to 'missing'")
            quirk = ["NULL colour -> 'missing' -> the colour_missing column; "
                     "categories_ = [blue, green, grey, missing, red]", null_note]
        w.case(name, description=desc, model=m, input_df=score_df, fitted_on_frame=True,
               tol=SMOOTH_TOL, notes=quirk + ct_notes(m))

    # -- ct_ordinal_missing --------------------------------------------------------------
    r = np.random.default_rng(47)
    X = gaussian(47, n, 3)
    colour = draw(r, ["red", "green", "blue"], n)
    u = r.random(n)
    colour[u < 0.06] = None
    colour[(u >= 0.06) & (u < 0.12)] = np.nan
    ceff = {"red": 1.0, "green": -1.0, "blue": 0.0, None: 2.0}
    y = reg_target(X, 47) + np.array([ceff.get(v, -2.0) for v in colour])  # NaN: -2
    Xn = sprinkle_nan(X, 47, 0.08, cols=[0, 2])
    train = pd.DataFrame({"n0": Xn[:, 0], "colour": colour, "n1": Xn[:, 1], "n2": Xn[:, 2]})
    m = Pipeline([
        ("ct", ColumnTransformer([
            ("ord", OrdinalEncoder(encoded_missing_value=-2, handle_unknown="use_encoded_value",
                                   unknown_value=-1), [1]),
            ("sc", StandardScaler(), [3]),
        ], remainder="passthrough")),
        ("hgb", HistGradientBoostingRegressor(**HGB_KW)),
    ]).fit(train, y)
    Xs = scoring_matrix(47, 3, nan=True)
    s_colour = put(draw(r, ["red", "green", "blue"], k), [None, "purple", "", "RED", None])
    s_colour[5 + r.permutation(k - 5)[:5]] = None
    score_df = pd.DataFrame({"n0": Xs[:, 0], "colour": s_colour, "n1": Xs[:, 1], "n2": Xs[:, 2]})
    w.case("ct_ordinal_missing",
           description="Pipeline(ColumnTransformer([ord: OrdinalEncoder(encoded_missing_value=-2, "
                       "handle_unknown='use_encoded_value', unknown_value=-1) on column [1] "
                       "(colour), sc: StandardScaler on column [3]], remainder='passthrough'), "
                       "HistGradientBoostingRegressor); colour has both None and float NaN in "
                       "training; columns selected by integer position",
           model=m, input_df=score_df, fitted_on_frame=True,
           notes=[null_note,
                  "categories_ = [blue, green, red, None, nan]: None is an ordinary category "
                  "(code 3); only float NaN is 'missing' (_missing_indices = {0: 4}) and "
                  "encodes to encoded_missing_value -2, which a parquet NULL never reaches",
                  "NULL colour -> 3.0; unseen ('purple', '', 'RED') -> -1.0",
                  "the HGB sees the codes as plain numbers (no categorical_features)"]
           + ct_notes(m))

    # -- ct_column_by_bool_mask_and_slice ------------------------------------------------
    p = 7
    names = [f"c{i}" for i in range(p)]
    X = gaussian(48, n, p) * np.arange(1, p + 1) + np.arange(p)
    y = reg_target(gaussian(48, n, p), 48)
    mask = np.array([True, False, True, False, False, False, False])
    m = Pipeline([
        ("ct", ColumnTransformer([("std", StandardScaler(), mask),
                                  ("mm", MinMaxScaler(), slice(3, 5))],
                                 remainder="passthrough")),
        ("lr", LinearRegression()),
    ]).fit(frame(X, names), y)
    Xs = scoring_matrix(48, p) * np.arange(1, p + 1) + np.arange(p)
    w.case("ct_column_by_bool_mask_and_slice",
           description="Pipeline(ColumnTransformer([std: StandardScaler on a boolean mask "
                       "(c0, c2), mm: MinMaxScaler on slice(3, 5) (c3, c4)], "
                       "remainder='passthrough' (c1, c5, c6)), LinearRegression)",
           model=m, input_df=frame(Xs, names), fitted_on_frame=True, tol=SMOOTH_TOL,
           notes=["transformers_ keep the column spec as given (numpy bool array, "
                  "builtins.slice(3, 5, None)); the remainder holds the int list [1, 5, 6]",
                  "output order c0, c2, c3, c4, c1, c5, c6"] + ct_notes(m))

    # -- ct_sparse_output_logreg ---------------------------------------------------------
    r = np.random.default_rng(51)
    X = gaussian(51, n, 1)
    towns = [f"town{i:02d}" for i in range(12)]
    shops = [f"shop{i}" for i in range(9)]
    town = draw(r, towns, n)
    shop = draw(r, shops, n)
    teff = dict(zip(towns, np.linspace(-1.5, 1.5, len(towns))))
    seff = dict(zip(shops, np.linspace(1.0, -1.0, len(shops))))
    y = logit_labels(r, X[:, 0] + effect(town, teff) + effect(shop, seff))
    train = pd.DataFrame({"town": town, "x": X[:, 0], "shop": shop})
    m = Pipeline([
        ("ct", ColumnTransformer([("oh", OneHotEncoder(handle_unknown="ignore"),
                                   ["town", "shop"])], remainder="passthrough")),
        ("clf", LogisticRegression(max_iter=1000)),
    ]).fit(train, y)
    assert m.steps[0][1].sparse_output_
    s_town = put(draw(r, towns, k), ["town99", None, "TOWN01"])
    s_shop = put(draw(r, shops, k), [None, "shop9"], start=2)
    score_df = pd.DataFrame({"town": s_town, "x": 1.2 * r.normal(size=k), "shop": s_shop})
    w.case("ct_sparse_output_logreg",
           description="Pipeline(ColumnTransformer([OneHotEncoder(handle_unknown='ignore') on "
                       "town (12 values) and shop (9 values)], remainder='passthrough' x), "
                       "LogisticRegression): output density 3/22 < sparse_threshold 0.3, so the "
                       "ColumnTransformer returns a scipy CSR matrix (sparse_output_ = True)",
           model=m, input_df=score_df, fitted_on_frame=True, tol=SMOOTH_TOL,
           notes=[null_note, "the sparse/dense choice does not change the values, only the "
                             "summation order inside LogisticRegression"] + ct_notes(m))

    # -- pipeline_ohe_only ---------------------------------------------------------------
    r = np.random.default_rng(49)
    cols = {"colour": ["red", "green", "blue"], "size": ["S", "M", "L", "XL"],
            "shape": ["round", "square"]}
    train = pd.DataFrame({c: draw(r, v, n) for c, v in cols.items()})
    z = (effect(train["colour"].to_numpy(), dict(red=1.0, green=0.0, blue=-1.0))
         + effect(train["size"].to_numpy(), dict(S=-1.0, M=0.0, L=0.8, XL=1.5))
         + effect(train["shape"].to_numpy(), dict(round=0.5, square=-0.5))
         + 0.7 * r.normal(size=n))
    y = strings(["cheap", "mid", "premium"])[np.digitize(z, [-0.7, 0.7])]
    m = Pipeline([("ohe", ohe(handle_unknown="ignore", sparse_output=False)),
                  ("clf", LogisticRegression(max_iter=1000))]).fit(train, y)
    score_df = pd.DataFrame({c: draw(r, v, k) for c, v in cols.items()})
    score_df["colour"] = put(score_df["colour"].to_numpy(), ["purple", None, "Red"])
    score_df["size"] = put(score_df["size"].to_numpy(), ["XXL", None, "s"], start=3)
    score_df["shape"] = put(score_df["shape"].to_numpy(), [None, "oval"], start=6)
    score_df.loc[9, :] = None
    w.case("pipeline_ohe_only",
           description="Pipeline(OneHotEncoder(handle_unknown='ignore', sparse_output=False), "
                       "LogisticRegression 3 string classes) on an all-string DataFrame "
                       "(colour, size, shape); scoring has unseen values and NULLs (row 9 all NULL)",
           model=m, input_df=score_df, fitted_on_frame=True, tol=SMOOTH_TOL,
           notes=[null_note, "unseen / NULL -> all-zero block for that column"])


# ---------------------------------------------------------------------------------------
# skops (.skops zip: schema.json + .npy files)
# ---------------------------------------------------------------------------------------
def skops_cases(w: Writer) -> None:
    """Models of other cases re-saved with skops.io.dump: same input, same expected."""
    stored, deflated = zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED
    for name, src, what, comp in [
        ("skops_rf_classifier_nan", "rf_classifier_binary_nan", "RandomForestClassifier", deflated),
        ("skops_hgb_categorical", "hgb_regressor_categorical",
         "HistGradientBoostingRegressor with a categorical string column", stored),
        ("skops_pipeline_scaler_logreg", "pipeline_scaler_logreg",
         "Pipeline(StandardScaler, LogisticRegression)", stored),
        ("skops_gb_classifier", "gb_classifier_multiclass",
         "GradientBoostingClassifier 3 classes", deflated),
    ]:
        c = w.made[src]
        how = ("compression=zipfile.ZIP_DEFLATED" if comp == deflated
               else "default compression (ZIP_STORED)")
        w.case(name,
               description=f"{what}: the {src} model and rows, saved with skops.io.dump, "
                           f"{how} (skops {skops.__version__})",
               model=c["model"], input_df=c["input_df"], fitted_on_frame=c["fitted_on_frame"],
               tol=c["tol"], save=("skops", comp),
               notes=(c["notes"] or []) + [
                   "expected.parquet equals the source case's",
                   "the zip is canonicalised after skops.io.dump: __id__ values and .npy names "
                   "renumbered in order of appearance, zip timestamps 1980-01-01"])


# ---------------------------------------------------------------------------------------
# Legacy scikit-learn 1.2 fixtures (--legacy, from .venv-sklearn12)
# ---------------------------------------------------------------------------------------
def legacy(w: Writer) -> None:
    """Files written by an old scikit-learn (no NaN: 1.2 trees reject it). Names carry the
    version; run only under that version."""
    tag = LEGACY_PREFIX + "_".join(VERSION.split(".")[:2]) + "_"
    sk = f"scikit-learn {VERSION}"

    p = 5
    names = ["age", "income", "balance", "tenure", "score"]
    X = gaussian(60, N_TRAIN, p)
    y = multiclass_target(X, 60)
    m = RandomForestClassifier(**FOREST_KW).fit(frame(X, names), y)
    Xs = scoring_matrix(60, p, threshold_rows(m.estimators_, p, 60))
    w.case(tag + "rf_classifier",
           description=f"RandomForestClassifier 3 classes, DataFrame with names, no NaN; {sk}",
           model=m, input_df=frame(Xs, names), fitted_on_frame=True,
           notes=["scikit-learn < 1.3 Tree nodes have 7 fields (no missing_go_to_left, "
                  "itemsize 56)",
                  "scikit-learn < 1.4 classifier trees store weighted class counts in value "
                  "(not fractions): predict_proba normalises each tree's leaf by its sum"])

    X = gaussian(61, N_TRAIN, p)
    y = reg_target(X, 61)
    m = DecisionTreeRegressor(**TREE_KW).fit(X, y)
    Xs = scoring_matrix(61, p, threshold_rows([m], p, 61))
    w.case(tag + "dt_regressor",
           description=f"DecisionTreeRegressor, numpy array, no NaN; {sk}",
           model=m, input_df=frame(Xs, names_x(p)), fitted_on_frame=False)

    X = gaussian(62, N_TRAIN, p)
    y = multiclass_target(X, 62)
    m = GradientBoostingClassifier(**GB_KW).fit(X, y)
    Xs = scoring_matrix(62, p, threshold_rows(list(m.estimators_.ravel()), p, 62))
    w.case(tag + "gb_classifier_multiclass",
           description=f"GradientBoostingClassifier 3 classes (prior init), numpy array; {sk}",
           model=m, input_df=frame(Xs, names_x(p)), fitted_on_frame=False, tol=SMOOTH_TOL,
           notes=["scikit-learn < 1.3 (loss object sklearn.ensemble._gb_losses."
                  "MultinomialDeviance) starts multiclass raw scores from "
                  "log(clip(prior, float32 eps)); >= 1.3 uses the symmetric logit "
                  "log(p) - mean(log(p)); softmax removes the difference"])

    X = gaussian(63, N_TRAIN, p)
    y = np.where(binary_target(X, 63) == 1, 7, 3)
    m = HistGradientBoostingClassifier(**HGB_KW).fit(frame(X, names_f(p)), y)
    Xs = scoring_matrix(63, p, threshold_rows(hgb_trees(m), p, 63))
    w.case(tag + "hgb_classifier",
           description=f"HistGradientBoostingClassifier binary, int classes 3/7, DataFrame "
                       f"f0..f4, no NaN; {sk}",
           model=m, input_df=frame(Xs, names_f(p)), fitted_on_frame=True, tol=SMOOTH_TOL)

    p = 6
    for name, mc, k, seed in [("logreg_multiclass", "multinomial", 4, 64),
                              ("logreg_ovr", "ovr", 3, 65)]:
        X = gaussian(seed, N_TRAIN, p)
        y = multiclass_target(X, seed, k=k)
        m = LogisticRegression(multi_class=mc, max_iter=1000).fit(X, y)
        w.case(tag + name,
               description=f"LogisticRegression(multi_class={mc!r}) {k} classes, numpy array; "
                           f"{sk}",
               model=m, input_df=frame(scoring_matrix(seed, p), names_x(p)),
               fitted_on_frame=False, tol=SMOOTH_TOL,
               notes=(["ovr: predict_proba = expit(decision) per class, then divided by the row "
                       "sum"] if mc == "ovr" else ["multinomial: softmax of decision_function"]))

    # ColumnTransformer + OneHotEncoder as 1.2 stores them ("passthrough" kept as a string)
    r = np.random.default_rng(67)
    X = gaussian(67, N_TRAIN, 2)
    colour = exact_counts(r, {"red": 120, "green": 90, "blue": 70, "pink": 12, None: 8}, N_TRAIN)
    ceff = {"red": 0.5, "green": -0.5, "blue": 1.0, "pink": -1.5, None: 1.5}
    y = logit_labels(r, latent(X, 67) + effect(colour, ceff))
    train = pd.DataFrame({"n0": X[:, 0], "colour": colour, "n1": X[:, 1]})
    m = Pipeline([
        ("ct", ColumnTransformer([
            ("num", "passthrough", ["n1"]),
            ("cat", OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=15),
             ["colour"]),
        ], remainder=StandardScaler())),
        ("clf", LogisticRegression(max_iter=1000)),
    ]).fit(train, y)
    Xs = scoring_matrix(67, 2)
    s_colour = put(draw(r, ["red", "green", "blue", "pink"], N_SCORE),
                   ["purple", None, "pink", "", "Red"])
    w.case(tag + "ct_ohe_logreg",
           description=f"Pipeline(ColumnTransformer([num: 'passthrough' n1, cat: OneHotEncoder("
                       f"handle_unknown='infrequent_if_exist', min_frequency=15) on colour], "
                       f"remainder=StandardScaler() (n0)), LogisticRegression); colour counts "
                       f"red120 green90 blue70 pink12 None8; {sk}",
           model=m, input_df=pd.DataFrame({"n0": Xs[:, 0], "colour": s_colour, "n1": Xs[:, 1]}),
           fitted_on_frame=True, tol=SMOOTH_TOL,
           notes=["input.parquet string columns are plain parquet strings; NULL reads back as "
                  "Python None",
                  "scikit-learn 1.2 keeps a named 'passthrough' as the string in transformers_ "
                  "and stores the remainder's columns as ints ([0]); the remainder here is a "
                  "fitted StandardScaler",
                  "pink (12) and None (8) are infrequent; unseen values -> the infrequent "
                  "column"] + ct_notes(m))

    p = 5
    names = ["alpha", "beta", "gamma", "delta", "epsilon"]
    scale = np.array([1.0, 10.0, 0.1, 5.0, 100.0])
    shift = np.array([0, 50, -1, 3, 1000])
    X = gaussian(66, N_TRAIN, p) * scale + shift
    y = binary_target((X - shift) / scale, 66)
    m = Pipeline([("scale", StandardScaler()), ("rf", RandomForestClassifier(**FOREST_KW))])
    m.fit(frame(X, names), y)
    Xs = scoring_matrix(66, p) * scale + shift
    w.case(tag + "pipeline_scaler_rf",
           description=f"Pipeline(StandardScaler, RandomForestClassifier binary), DataFrame "
                       f"with names, no NaN; {sk}",
           model=m, input_df=frame(Xs, names), fitted_on_frame=True)


# ---------------------------------------------------------------------------------------
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: %(default)s)")
    ap.add_argument("--only", nargs="*", help="only cases whose name contains one of these")
    ap.add_argument("--legacy", action="store_true",
                    help=f"write only the {LEGACY_PREFIX}<major>_<minor>_* cases, for an old "
                         "scikit-learn (scripts/generate-sklearn-legacy.sh)")
    args = ap.parse_args(argv)
    if args.legacy and not VERSION.startswith("1.2."):
        ap.error(f"--legacy expects scikit-learn 1.2.x (this is {VERSION}); "
                 "run scripts/generate-sklearn-legacy.sh")
    if not args.legacy and sio is None:
        ap.error("skops is not installed: bash scripts/setup-python.sh")
    np.random.seed(0)  # nothing should use the global RNG; pin it anyway
    warnings.filterwarnings("error", category=ConvergenceWarning)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    if not args.only:  # drop stale cases (only folders that look like cases, of this mode)
        for child in sorted(out.iterdir()):
            if (child.is_dir() and (child / "case.toml").exists()
                    and child.name.startswith(LEGACY_PREFIX) == args.legacy):
                shutil.rmtree(child)
    w = Writer(out, args.only)
    t0 = time.perf_counter()
    if args.legacy:
        legacy(w)
    else:
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
        column_transformers(w)
        skops_cases(w)
    assert all(n.startswith(LEGACY_PREFIX) == args.legacy for n in w.written)
    for name in w.written:
        size = sum(f.stat().st_size for f in (out / name).iterdir())
        print(f"{name:36s} {size / 1024:8.1f} KiB")
    print(f"{len(w.written)} cases in {time.perf_counter() - t0:.1f}s -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
