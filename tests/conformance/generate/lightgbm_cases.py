"""LightGBM conformance cases (trained with the pinned lightgbm in .venv)."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import lightgbm as lgb

from common import (
    Data,
    add_inf_rows,
    binary_labels,
    expected_columns,
    mixed_dtypes_data,
    multiclass_labels,
    rank_labels,
    register,
    rng,
    sigmoid,
    sprinkle_nan,
    sprinkle_null,
    write_case,
    xy,
)

V = lgb.__version__
TOL = dict(
    rtol=1e-12,
    atol=1e-12,
    tol_comment="LightGBM computes in float64 and model.txt stores doubles with 17 significant digits; "
                "only summation-order / libm rounding may differ",
)
BASE = {
    "verbose": -1, "seed": 7, "deterministic": True, "force_row_wise": True, "num_threads": 1,
    "num_leaves": 15, "learning_rate": 0.2, "min_data_in_leaf": 10,
}


def model_text(case_dir: Path) -> str:
    return (case_dir / "model.txt").read_text()


def tree_values(text: str, key: str) -> list[str]:
    return re.findall(rf"^{key}=(.*)$", text, flags=re.M)


def run_case(
    case_dir: Path,
    *,
    description: str,
    params: dict,
    train: Data,
    label,
    rounds: int,
    test: Data,
    group=None,
    categorical: list[str] | None = None,
    pandas_category: bool = False,
    notes: list[str] | None = None,
    tol: dict | None = None,
) -> dict:
    """Train, save model.txt, reload it, predict via two routes, write the case.

    Categorical features are passed as float codes with `categorical_feature=` (so the model
    uses the codes directly), unless pandas_category=True (pandas category dtype, categories 0..K-1).
    """
    params = {**BASE, **params}

    def frame(data: Data):
        return data.typed_frame() if pandas_category or data.has_bool_or_int() else data.float_frame()

    ds = lgb.Dataset(frame(train), label=label, group=group,
                     categorical_feature=categorical if categorical else "auto", free_raw_data=False)
    booster = lgb.train(params, ds, num_boost_round=rounds)
    path = case_dir / "model.txt"
    booster.save_model(str(path))
    loaded = lgb.Booster(model_file=str(path))
    assert loaded.feature_name() == test.names, (loaded.feature_name(), test.names)

    x = frame(test)
    pred = loaded.predict(x)
    margin = loaded.predict(x, raw_score=True)
    np.testing.assert_array_equal(pred, loaded.predict(x))
    np.testing.assert_array_equal(margin, loaded.predict(x, raw_score=True))
    # the reloaded model must agree with the in-memory one
    np.testing.assert_allclose(pred, booster.predict(x), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(margin, booster.predict(x, raw_score=True), rtol=1e-13, atol=1e-13)
    if not pandas_category:
        # second route: plain float64 numpy matrix (NULL -> NaN)
        fm = test.float_matrix()
        np.testing.assert_allclose(pred, loaded.predict(fm), rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(margin, loaded.predict(fm, raw_score=True), rtol=1e-13, atol=1e-13)
    assert np.all(np.isfinite(margin)), "non-finite margins"
    return write_case(
        case_dir, description=description, producer="lightgbm", producer_version=V, model="model.txt",
        data=test, expected=expected_columns(pred, margin), notes=notes, **(tol or TOL),
    )


def _has_bool_or_int(self: Data) -> bool:
    return any(v.dtype.kind in "iub" for v in self.cols.values()) and not self.cats


Data.has_bool_or_int = _has_bool_or_int  # type: ignore[attr-defined]


def simple(suffix, description, params, label_fn, rounds=10, seed=1, nf=5, group_fn=None, check=None, notes=None):
    @register("lightgbm", V, suffix)
    def _case(case_dir: Path):
        train, test, z, r = xy(seed, nf=nf)
        label = label_fn(z, r, train)
        group = group_fn(len(z)) if group_fn else None
        out = run_case(case_dir, description=description, params=params, train=train, label=label,
                       rounds=rounds, test=test, group=group, notes=notes)
        if check:
            check(model_text(case_dir))
        return out


def _assert(cond, msg="self-check failed"):
    assert cond, msg


def objective_line(expected: str):
    return lambda t: _assert(re.search(rf"^objective={re.escape(expected)}$", t, re.M), f"objective != {expected}")


simple("binary", "LightGBM binary (sigmoid:1)", {"objective": "binary"}, lambda z, r, t: binary_labels(z, r),
       check=objective_line("binary sigmoid:1"))
simple("binary_sigmoid_0_7", "LightGBM binary with sigmoid=0.7: p = 1/(1+exp(-0.7*raw))",
       {"objective": "binary", "sigmoid": 0.7}, lambda z, r, t: binary_labels(z, r),
       check=objective_line("binary sigmoid:0.7"))
simple("multiclass", "LightGBM multiclass (softmax), 4 classes",
       {"objective": "multiclass", "num_class": 4}, lambda z, r, t: multiclass_labels(t, r, 4), rounds=8)
simple("multiclassova", "LightGBM multiclassova (one-vs-all: per-class sigmoid, not normalised), 3 classes",
       {"objective": "multiclassova", "num_class": 3}, lambda z, r, t: multiclass_labels(t, r, 3), rounds=8)
simple("regression", "LightGBM regression (L2), identity transform",
       {"objective": "regression"}, lambda z, r, t: 3 * z + 5 + 0.2 * r.normal(size=len(z)))
simple("regression_sqrt", "LightGBM regression with reg_sqrt=True: prediction = sign(raw)*raw^2",
       {"objective": "regression", "reg_sqrt": True}, lambda z, r, t: np.abs(3 * z + 0.5 * r.normal(size=len(z))) * 4,
       check=objective_line("regression sqrt"))
simple("regression_l1", "LightGBM regression_l1", {"objective": "regression_l1"},
       lambda z, r, t: 3 * z + r.standard_t(2, size=len(z)))
simple("huber", "LightGBM huber (alpha=1.5)", {"objective": "huber", "alpha": 1.5},
       lambda z, r, t: 3 * z + r.standard_t(2, size=len(z)))
simple("fair", "LightGBM fair loss (fair_c=1.0)", {"objective": "fair", "fair_c": 1.0},
       lambda z, r, t: 3 * z + r.normal(size=len(z)))
simple("quantile", "LightGBM quantile regression (alpha=0.8)", {"objective": "quantile", "alpha": 0.8},
       lambda z, r, t: 3 * z + r.normal(size=len(z)))
simple("mape", "LightGBM MAPE regression", {"objective": "mape"},
       lambda z, r, t: np.exp(0.5 * z) * 10 + r.random(len(z)))
simple("poisson", "LightGBM poisson (exp transform)", {"objective": "poisson"},
       lambda z, r, t: r.poisson(np.exp(0.7 * z + 1)).astype(float))
simple("gamma", "LightGBM gamma (exp transform)", {"objective": "gamma"},
       lambda z, r, t: r.gamma(2.0, np.exp(0.5 * z) / 2.0))
simple("tweedie", "LightGBM tweedie, variance power 1.3 (exp transform)",
       {"objective": "tweedie", "tweedie_variance_power": 1.3},
       lambda z, r, t: np.where(r.random(len(z)) < 0.35, 0.0, r.gamma(2.0, np.exp(0.5 * z))))
simple("cross_entropy", "LightGBM cross_entropy (xentropy) with labels in [0,1]: sigmoid transform",
       {"objective": "cross_entropy"}, lambda z, r, t: np.clip(sigmoid(2 * z) + 0.1 * r.normal(size=len(z)), 0, 1))
simple("cross_entropy_lambda", "LightGBM cross_entropy_lambda (xentlambda): prediction = log(1+exp(raw))",
       {"objective": "cross_entropy_lambda"},
       lambda z, r, t: np.clip(sigmoid(2 * z) + 0.1 * r.normal(size=len(z)), 0, 1))


RF_NOTE = ("average_output: LightGBM raw_score=True (margin) is the SUM over trees, NOT averaged; "
           "prediction = transform(sum / num_iterations)")


simple("lambdarank", "LightGBM lambdarank with 30 query groups of 10 (prediction == raw score)",
       {"objective": "lambdarank"}, rank_labels, group_fn=lambda n: [10] * (n // 10))
simple("rank_xendcg", "LightGBM rank_xendcg with 30 query groups of 10 (prediction == raw score)",
       {"objective": "rank_xendcg"}, rank_labels, group_fn=lambda n: [10] * (n // 10))
simple("rf", "LightGBM random forest (boosting=rf, bagging 0.7/1): average_output, score = mean over trees",
       {"objective": "binary", "boosting": "rf", "bagging_fraction": 0.7, "bagging_freq": 1,
        "feature_fraction": 0.8}, lambda z, r, t: binary_labels(z, r), rounds=8,
       check=lambda t: _assert("\naverage_output\n" in t, "average_output missing"), notes=[RF_NOTE])
simple("rf_multiclass", "LightGBM random forest, multiclass 3 classes (average_output + softmax)",
       {"objective": "multiclass", "num_class": 3, "boosting": "rf", "bagging_fraction": 0.7, "bagging_freq": 1},
       lambda z, r, t: multiclass_labels(t, r, 3), rounds=5, notes=[RF_NOTE])
simple("dart", "LightGBM dart (drop_rate=0.3); trees saved already rescaled",
       {"objective": "binary", "boosting": "dart", "drop_rate": 0.3, "skip_drop": 0.0},
       lambda z, r, t: binary_labels(z, r), rounds=12)
simple("goss", "LightGBM GOSS sampling (data_sample_strategy=goss)",
       {"objective": "regression", "data_sample_strategy": "goss", "top_rate": 0.3, "other_rate": 0.2,
        "learning_rate": 0.3}, lambda z, r, t: 3 * z + 0.2 * r.normal(size=len(z)), rounds=10)
simple("one_tree", "LightGBM binary with a single tree", {"objective": "binary"},
       lambda z, r, t: binary_labels(z, r), rounds=1)
simple("one_leaf", "LightGBM regression where every tree is a constant (num_leaves=1: min_data_in_leaf > rows)",
       {"objective": "regression", "min_data_in_leaf": 1000}, lambda z, r, t: 3 * z + 5, rounds=3,
       check=lambda t: _assert(set(tree_values(t, "num_leaves")) == {"1"}, tree_values(t, "num_leaves")))
simple("wide_50f", "LightGBM regression, 50 features, 30 trees of 63 leaves",
       {"objective": "regression", "num_leaves": 63, "min_data_in_leaf": 3, "learning_rate": 0.1},
       lambda z, r, t: 3 * z + 0.1 * r.normal(size=len(z)), rounds=30, nf=50, seed=11)
simple("init_score_boost_from_average", "LightGBM regression, boost_from_average folds the label mean into tree 0",
       {"objective": "regression", "boost_from_average": True}, lambda z, r, t: 3 * z + 100.0, rounds=3)


# ----------------------------------------------------------------------------
# missing values
# ----------------------------------------------------------------------------
def missing_types(text: str) -> set[int]:
    out = set()
    for line in tree_values(text, "decision_type"):
        for d in line.split():
            out.add((int(d) >> 2) & 3)
    return out


@register("lightgbm", V, "missing_nan_null")
def _missing(case_dir: Path):
    train, test, z, r = xy(21, nf=6)
    train = sprinkle_nan(r, train, 0.2)
    test = sprinkle_nan(r, test, 0.2, ["f0", "f1", "f2"])
    test = sprinkle_null(r, test, 0.2, ["f3", "f4"])
    out = run_case(case_dir, description="LightGBM binary trained with NaNs (missing type NaN); input has NaN and NULL",
                   params={"objective": "binary"}, train=train, label=binary_labels(z, r), rounds=10, test=test)
    assert 2 in missing_types(model_text(case_dir))
    return out


@register("lightgbm", V, "missing_none_nan_input")
def _missing_none(case_dir: Path):
    train, test, z, r = xy(24)
    test = sprinkle_nan(r, test, 0.2)
    test = sprinkle_null(r, test, 0.1, ["f4"])
    out = run_case(case_dir, description="LightGBM trained without NaN (missing type None): NaN/NULL input is treated as 0.0",
                   params={"objective": "regression"}, train=train, label=3 * z, rounds=10, test=test)
    assert missing_types(model_text(case_dir)) == {0}
    return out


@register("lightgbm", V, "zero_as_missing")
def _zero(case_dir: Path):
    train, test, z, r = xy(25)
    for d in (train, test):
        for k in ("f0", "f1"):
            v = d.cols[k]
            v[r.random(len(v)) < 0.25] = 0.0
    test = sprinkle_nan(r, test, 0.1)
    test.cols["f2"][:6] = [0.0, -0.0, 1e-36, -1e-36, 1e-30, 5e-324]
    out = run_case(case_dir, description="LightGBM zero_as_missing=True (missing type Zero; NaN and |x|<=1e-35 follow default)",
                   params={"objective": "regression", "zero_as_missing": True}, train=train,
                   label=3 * z + 2 * (train.cols["f0"] == 0), rounds=10, test=test)
    assert 1 in missing_types(model_text(case_dir))
    return out


@register("lightgbm", V, "use_missing_false")
def _nouse(case_dir: Path):
    train, test, z, r = xy(26)
    train = sprinkle_nan(r, train, 0.2)
    test = sprinkle_nan(r, test, 0.2)
    out = run_case(case_dir, description="LightGBM use_missing=False (missing type None everywhere; NaN -> 0.0)",
                   params={"objective": "binary", "use_missing": False}, train=train,
                   label=binary_labels(z, r), rounds=10, test=test)
    assert missing_types(model_text(case_dir)) == {0}
    return out


@register("lightgbm", V, "inf_inputs")
def _inf(case_dir: Path):
    train, test, z, r = xy(22, nf=4)
    train = sprinkle_nan(r, train, 0.25)
    test = sprinkle_nan(r, test, 0.1)
    test = add_inf_rows(test, test.names)
    return run_case(case_dir, description="LightGBM binary trained with NaN; input rows with +inf/-inf and NaN",
                    params={"objective": "binary"}, train=train, label=binary_labels(z, r), rounds=10, test=test,
                    notes=["±inf is an ordinary value: +inf goes right (x <= threshold false), -inf left"])


@register("lightgbm", V, "mixed_dtypes")
def _dtypes(case_dir: Path):
    train, test, y = mixed_dtypes_data()
    return run_case(case_dir, description="LightGBM binary on float64, int64, int32 and bool columns",
                    params={"objective": "binary"}, train=train, label=y, rounds=10, test=test,
                    notes=["bool column: true=1.0, false=0.0"])


# ----------------------------------------------------------------------------
# categorical
# ----------------------------------------------------------------------------
K_BIG = 70


def cat_data(r, n, null_frac=0.0):
    d = Data({
        "x0": r.normal(size=n),
        "color": r.integers(0, 3, n).astype(np.int32),
        "city": r.integers(0, K_BIG, n).astype(np.int64),
        "x1": r.normal(size=n),
    }, cats={"color": 3, "city": K_BIG})
    if null_frac:
        d = sprinkle_null(r, d, null_frac, ["color", "city"])
    return d


def cat_target(d: Data, r):
    m = np.nan_to_num(d.float_matrix(), nan=0)
    eff_big = rng(999).normal(size=K_BIG) * 1.5
    eff_small = np.array([-1.0, 0.5, 1.2])
    return m[:, 0] + eff_small[m[:, 1].astype(int)] + eff_big[m[:, 2].astype(int)] + 0.3 * r.normal(size=len(m))


CAT_PARAMS = {"objective": "regression", "min_data_per_group": 5, "cat_smooth": 1.0, "cat_l2": 1.0,
              "max_cat_threshold": 64, "min_data_in_leaf": 5}


def check_multiword_bitsets(text: str):
    bounds = [list(map(int, b.split())) for b in tree_values(text, "cat_boundaries")]
    widths = {b[i + 1] - b[i] for b in bounds for i in range(len(b) - 1)}
    assert max(widths) >= 2, f"no multi-word bitsets: {widths}"


def run_multiword_cat_case(case_dir: Path, seed: int, description: str, edit_test=None, **kw):
    """A CAT_PARAMS regression on cat_data (800 train / 250 test rows) whose trees must hold
    multi-word bitsets; `edit_test(test)` may change the test rows first."""
    r = rng(seed)
    train = cat_data(r, 800, null_frac=0.03)
    test = cat_data(r, 250, null_frac=0.08)
    if edit_test is not None:
        edit_test(test)
    out = run_case(case_dir, description=description, params=CAT_PARAMS, train=train,
                   label=cat_target(train, r), rounds=15, test=test, **kw)
    check_multiword_bitsets(model_text(case_dir))
    return out


def unseen_and_negative_codes(test: Data):
    test.cols["city"][:10] = [70, 71, 95, 96, 1000, 2**31 - 1, -1, -2, -1000, 69]
    test.cols["color"][10:16] = [3, 4, 31, 32, -1, -7]


@register("lightgbm", V, "categorical")
def _cat(case_dir: Path):
    return run_multiword_cat_case(
        case_dir, 31, "LightGBM categorical (codes via categorical_feature): one-hot for 3 levels, "
        "many-vs-many multi-word bitsets for 70 levels; input has unseen/negative codes and NULLs",
        edit_test=unseen_and_negative_codes, categorical=["color", "city"],
        notes=["code in bitset -> left; not in bitset / beyond bitset -> right; negative -> right; "
               "NaN/NULL -> right when missing type NaN, else code 0"])


@register("lightgbm", V, "categorical_pandas")
def _cat_pd(case_dir: Path):
    return run_multiword_cat_case(
        case_dir, 33, "LightGBM categorical trained from pandas category dtype (categories 0..K-1; "
        "pandas_categorical line in model.txt); input holds the codes",
        pandas_category=True, notes=["pandas_categorical lists categories [0..K-1], so value == code"])


@register("lightgbm", V, "categorical_binary_nan_train")
def _cat_bin(case_dir: Path):
    r = rng(34)
    train = cat_data(r, 800, null_frac=0.15)
    test = cat_data(r, 250, null_frac=0.15)
    y = (cat_target(train, r) > 0).astype(float)
    return run_case(case_dir, description="LightGBM binary, categorical features with many missing codes in training",
                    params={**CAT_PARAMS, "objective": "binary"}, train=train, label=y, rounds=10, test=test,
                    categorical=["color", "city"])


# ----------------------------------------------------------------------------
# linear trees
# ----------------------------------------------------------------------------
@register("lightgbm", V, "linear_tree")
def _linear(case_dir: Path):
    train, test, z, r = xy(51, nf=4)
    y = 2 * train.cols["f0"] + np.where(train.cols["f1"] > 0, 3 * train.cols["f2"], -train.cols["f3"])
    train = sprinkle_nan(r, train, 0.05)
    test = sprinkle_nan(r, test, 0.15)
    test = sprinkle_null(r, test, 0.05, ["f3"])
    out = run_case(case_dir, description="LightGBM linear_tree=True (leaf = leaf_const + sum coeff*x; leaf_value if a leaf feature is NaN)",
                   params={"objective": "regression", "linear_tree": True, "linear_lambda": 0.01, "num_leaves": 6},
                   train=train, label=y, rounds=8, test=test,
                   notes=["a NaN/NULL in any of the leaf's linear features -> the plain leaf_value is used"])
    t = model_text(case_dir)
    assert "is_linear=1" in t
    return out


@register("lightgbm", V, "linear_tree_binary")
def _linear_bin(case_dir: Path):
    train, test, z, r = xy(52, nf=4)
    test = sprinkle_nan(r, test, 0.1)
    return run_case(case_dir, description="LightGBM linear_tree=True, binary objective",
                    params={"objective": "binary", "linear_tree": True, "num_leaves": 4},
                    train=train, label=binary_labels(z, r), rounds=6, test=test)
