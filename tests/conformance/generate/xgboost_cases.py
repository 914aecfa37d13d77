"""XGBoost conformance cases (trained with the pinned xgboost in .venv)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xgboost as xgb

from common import (
    Data,
    add_inf_rows,
    binary_labels,
    concat_data,
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

V = xgb.__version__
TOL = dict(
    rtol=1e-6,
    atol=1e-6,
    tol_comment="XGBoost accumulates leaf values in float32; allow float32 rounding differences",
)


def _assert(cond, msg="self-check failed"):
    assert cond, msg


# ----------------------------------------------------------------------------
# the generic train / save / reload / predict routine
# ----------------------------------------------------------------------------
def run_case(
    case_dir: Path,
    *,
    description: str,
    params: dict,
    train: Data,
    label,
    rounds: int,
    test: Data,
    fmt: str = "json",
    qid=None,
    numpy_types: list[str] | None = None,
    expect_error: str = "",
    notes: list[str] | None = None,
    booster: xgb.Booster | None = None,
) -> dict:
    """Train (unless `booster` given), save, reload, predict via two routes, write the case.

    numpy_types: pass data as a float numpy matrix with these XGBoost feature_types
    (used for categorical codes outside 0..K-1, which pandas cannot hold).
    """
    params = {"nthread": 1, "seed": 7, **params}

    def dmatrix(data: Data, **kw):
        if numpy_types is not None:
            return xgb.DMatrix(
                data.float_matrix(), feature_names=data.names, feature_types=numpy_types,
                enable_categorical=True, **kw,
            )
        return xgb.DMatrix(data.typed_frame(), enable_categorical=True, **kw)

    if booster is None:
        booster = xgb.train(params, dmatrix(train, label=label, qid=qid), rounds)
    model_file = f"model.{fmt}"
    path = case_dir / model_file
    case_dir.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(path))
    if expect_error:
        return write_case(
            case_dir, description=description, producer="xgboost", producer_version=V,
            model=model_file, data=test, expected=None, expect_error=expect_error, notes=notes, **TOL,
        )

    loaded = xgb.Booster(model_file=str(path))
    assert loaded.feature_names == test.names, (loaded.feature_names, test.names)

    test_in = test.float_matrix() if numpy_types is not None else test.typed_frame()
    fm = test.float_matrix()
    has_inf = bool(np.isinf(fm).any())

    def via_dmatrix(b, margin):
        if has_inf:
            # DMatrix refuses inf unless missing=inf; ±1e30 takes the same branch as ±inf
            # for every finite float32 split condition.
            sub = Data({k: np.where(np.isinf(v), np.sign(v) * 1e30, v) if v.dtype.kind == "f" else v
                        for k, v in test.cols.items()}, test.nulls, test.cats)
            d = dmatrix(sub)
        else:
            d = dmatrix(test)
        return b.predict(d, output_margin=margin)

    def via_inplace(b, margin):
        return b.inplace_predict(test_in, predict_type="margin" if margin else "value")

    primary = via_inplace if has_inf else via_dmatrix
    secondary = via_dmatrix if has_inf else via_inplace
    if params.get("booster") == "gblinear":
        # gblinear has no inplace_predict ("not supported by the current booster").
        assert not has_inf, "gblinear cases need DMatrix input, which refuses inf"
        secondary = via_dmatrix
    pred = primary(loaded, False)
    margin = primary(loaded, True)
    # determinism / reload / second-route self-checks
    np.testing.assert_array_equal(pred, primary(loaded, False))
    np.testing.assert_array_equal(margin, primary(loaded, True))
    np.testing.assert_allclose(pred, primary(booster, False), rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(pred, secondary(loaded, False), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(margin, secondary(loaded, True), rtol=1e-6, atol=1e-6)
    assert np.all(np.isfinite(margin)), "non-finite margins"

    notes = list(notes or [])
    if has_inf:
        notes.append("expected computed with Booster.inplace_predict (DMatrix rejects inf); "
                     "±inf behaves exactly like ±1e30 (a normal value, not missing)")
    return write_case(
        case_dir, description=description, producer="xgboost", producer_version=V, model=model_file,
        data=test, expected=expected_columns(pred, margin), notes=notes, **TOL,
    )


def model_json(case_dir: Path) -> dict:
    return json.loads((case_dir / "model.json").read_text())


# ----------------------------------------------------------------------------
# simple objective cases
# ----------------------------------------------------------------------------
def simple(suffix, description, params, label_fn, rounds=10, seed=1, nf=5, fmt="json", qid_fn=None, notes=None,
           check=None):
    @register("xgboost", V, suffix)
    def _case(case_dir: Path):
        train, test, z, r = xy(seed, nf=nf)
        label = label_fn(z, r, train)
        qid = qid_fn(len(z)) if qid_fn else None
        out = run_case(case_dir, description=description, params={"max_depth": 3, "eta": 0.3, **params},
                       train=train, label=label, rounds=rounds, test=test, fmt=fmt, qid=qid, notes=notes)
        if check:
            check(model_json(case_dir))
        return out


simple("binary_logistic", "XGBoost binary:logistic, 10 trees depth 3",
       {"objective": "binary:logistic"}, lambda z, r, t: binary_labels(z, r))
simple("binary_logitraw", "XGBoost binary:logitraw (prediction == margin)",
       {"objective": "binary:logitraw"}, lambda z, r, t: binary_labels(z, r),
       notes=["binary:logitraw uses base_score as a margin directly (no logit), unlike binary:logistic"])
simple("binary_hinge", "XGBoost binary:hinge (prediction is 0/1: margin > 0)",
       {"objective": "binary:hinge"}, lambda z, r, t: binary_labels(z, r))
simple("multi_softprob", "XGBoost multi:softprob, 4 classes, 8 rounds",
       {"objective": "multi:softprob", "num_class": 4}, lambda z, r, t: multiclass_labels(t, r, 4), rounds=8)
simple("multi_softmax", "XGBoost multi:softmax, 3 classes: prediction is the argmax class index",
       {"objective": "multi:softmax", "num_class": 3}, lambda z, r, t: multiclass_labels(t, r, 3), rounds=8)
simple("reg_squarederror", "XGBoost reg:squarederror (base_score = label mean)",
       {"objective": "reg:squarederror"}, lambda z, r, t: 3 * z + 5 + 0.2 * r.normal(size=len(z)))
simple("reg_absoluteerror", "XGBoost reg:absoluteerror (leaf values refreshed by median; base_score = median)",
       {"objective": "reg:absoluteerror"}, lambda z, r, t: 3 * z + 5 + r.standard_t(2, size=len(z)))
simple("reg_pseudohubererror", "XGBoost reg:pseudohubererror, huber_slope=2",
       {"objective": "reg:pseudohubererror", "huber_slope": 2.0}, lambda z, r, t: 3 * z + r.normal(size=len(z)))
simple("reg_logistic", "XGBoost reg:logistic with labels in [0,1] (sigmoid transform)",
       {"objective": "reg:logistic"}, lambda z, r, t: np.clip(sigmoid(2 * z) + 0.1 * r.normal(size=len(z)), 0, 1))
simple("count_poisson", "XGBoost count:poisson (exp transform; base_score stored as mean, margin = log)",
       {"objective": "count:poisson"}, lambda z, r, t: r.poisson(np.exp(0.7 * z + 1)).astype(float))
simple("reg_gamma", "XGBoost reg:gamma (exp transform)",
       {"objective": "reg:gamma"}, lambda z, r, t: r.gamma(2.0, np.exp(0.5 * z) / 2.0))
simple("reg_tweedie", "XGBoost reg:tweedie, tweedie_variance_power=1.4 (exp transform)",
       {"objective": "reg:tweedie", "tweedie_variance_power": 1.4},
       lambda z, r, t: np.where(r.random(len(z)) < 0.35, 0.0, r.gamma(2.0, np.exp(0.5 * z))))


def cox_labels(z, r, t):
    time = r.exponential(np.exp(-0.8 * z)) + 0.01
    censored = r.random(len(z)) < 0.3
    return np.where(censored, -time, time)  # negative label = right-censored


simple("reg_squaredlogerror", "XGBoost reg:squaredlogerror (labels > -1; prediction == margin)",
       {"objective": "reg:squaredlogerror"}, lambda z, r, t: np.exp(0.5 * z) + 0.1 * r.random(len(z)))
simple("rank_map", "XGBoost rank:map with binary relevance in 30 query groups (prediction == margin)",
       {"objective": "rank:map"}, lambda z, r, t: (z + 0.3 * r.normal(size=len(z)) > 0.5).astype(float),
       qid_fn=lambda n: np.repeat(np.arange(n // 10 + 1), 10)[:n])
simple("survival_cox", "XGBoost survival:cox (prediction = exp(margin), hazard ratio)",
       {"objective": "survival:cox"}, cox_labels)


def qids(n):
    return np.repeat(np.arange(n // 10 + 1), 10)[:n]


simple("rank_pairwise", "XGBoost rank:pairwise with 30 query groups (prediction == margin)",
       {"objective": "rank:pairwise"}, rank_labels, qid_fn=qids)
simple("rank_ndcg", "XGBoost rank:ndcg with 30 query groups (prediction == margin)",
       {"objective": "rank:ndcg"}, rank_labels, qid_fn=qids)
simple("one_tree", "XGBoost binary:logistic with a single tree (num_boost_round=1)",
       {"objective": "binary:logistic", "max_depth": 4}, lambda z, r, t: binary_labels(z, r), rounds=1)
simple("base_score_0_3", "XGBoost binary:logistic with base_score=0.3 set explicitly (margin offset logit(0.3))",
       {"objective": "binary:logistic", "base_score": 0.3}, lambda z, r, t: binary_labels(z, r), rounds=5)
simple("reg_base_score_neg", "XGBoost reg:squarederror with base_score=-2.5 set explicitly",
       {"objective": "reg:squarederror", "base_score": -2.5}, lambda z, r, t: 3 * z + 0.2 * r.normal(size=len(z)),
       rounds=5)
simple("one_leaf_trees", "XGBoost reg:squarederror where every tree is a single leaf (gamma=1e9: root never splits)",
       {"objective": "reg:squarederror", "gamma": 1e9, "base_score": 0.5},
       lambda z, r, t: 3 * z + 5, rounds=4,
       check=lambda j: _assert({t["tree_param"]["num_nodes"] for t in j["learner"]["gradient_booster"]["model"]["trees"]} == {"1"}))
simple("dart", "XGBoost dart booster (rate_drop=0.3); predict uses all trees scaled by weight_drop",
       {"objective": "binary:logistic", "booster": "dart", "rate_drop": 0.3, "skip_drop": 0.0,
        "sample_type": "weighted", "normalize_type": "forest"},
       lambda z, r, t: binary_labels(z, r), rounds=12)
simple("dart_regression", "XGBoost dart booster, reg:squarederror, normalize_type=tree",
       {"objective": "reg:squarederror", "booster": "dart", "rate_drop": 0.2, "skip_drop": 0.0,
        "normalize_type": "tree"},
       lambda z, r, t: 3 * z + 0.2 * r.normal(size=len(z)), rounds=10)
simple("boosted_forest_multiclass", "XGBoost multi:softprob with num_parallel_tree=3 (3 rounds x 3 classes x 3 trees)",
       {"objective": "multi:softprob", "num_class": 3, "num_parallel_tree": 3, "subsample": 0.8,
        "colsample_bynode": 0.8}, lambda z, r, t: multiclass_labels(t, r, 3), rounds=3)
simple("wide_50f", "XGBoost reg:squarederror, 50 features, 30 trees of depth 6",
       {"objective": "reg:squarederror", "max_depth": 6, "eta": 0.1}, lambda z, r, t: 3 * z + 0.1 * r.normal(size=len(z)),
       rounds=30, nf=50, seed=11)
# UBJSON copies
simple("binary_logistic_ubj", "XGBoost binary:logistic saved as UBJSON",
       {"objective": "binary:logistic"}, lambda z, r, t: binary_labels(z, r), fmt="ubj")
simple("multi_softprob_ubj", "XGBoost multi:softprob (4 classes) saved as UBJSON",
       {"objective": "multi:softprob", "num_class": 4}, lambda z, r, t: multiclass_labels(t, r, 4), rounds=8, fmt="ubj")


@register("xgboost", V, "rf_classifier")
def _rf(case_dir: Path):
    train, test, z, r = xy(12)
    clf = xgb.XGBRFClassifier(n_estimators=8, max_depth=4, subsample=0.8, colsample_bynode=0.8,
                              n_jobs=1, random_state=3)
    clf.fit(train.float_frame(), binary_labels(z, r))
    return run_case(case_dir, description="XGBoost XGBRFClassifier (1 round, num_parallel_tree=8)",
                    params={}, train=train, label=None, rounds=0, test=test, booster=clf.get_booster())



# ----------------------------------------------------------------------------
# missing values / inf / dtypes
# ----------------------------------------------------------------------------
@register("xgboost", V, "missing_nan_null")
def _missing(case_dir: Path):
    train, test, z, r = xy(21, nf=6)
    train = sprinkle_nan(r, train, 0.2)
    test = sprinkle_nan(r, test, 0.2, ["f0", "f1", "f2"])
    test = sprinkle_null(r, test, 0.2, ["f3", "f4"])  # parquet NULLs: must mean "missing" too
    return run_case(case_dir, description="XGBoost binary:logistic trained with NaNs; input has NaN and NULL (default directions)",
                    params={"objective": "binary:logistic", "max_depth": 4}, train=train,
                    label=binary_labels(z, r), rounds=10, test=test)


@register("xgboost", V, "inf_inputs")
def _inf(case_dir: Path):
    train, test, z, r = xy(22, nf=4)
    train = sprinkle_nan(r, train, 0.25)
    test = sprinkle_nan(r, test, 0.1)
    test = add_inf_rows(test, test.names)
    return run_case(case_dir, description="XGBoost binary:logistic; input rows with +inf/-inf and NaN",
                    params={"objective": "binary:logistic", "max_depth": 4}, train=train,
                    label=binary_labels(z, r), rounds=10, test=test)


@register("xgboost", V, "mixed_dtypes")
def _dtypes(case_dir: Path):
    train, test, y = mixed_dtypes_data()
    return run_case(case_dir, description="XGBoost binary:logistic on float64, int64, int32 and bool columns",
                    params={"objective": "binary:logistic", "max_depth": 3}, train=train, label=y, rounds=10,
                    test=test, notes=["bool column: true=1.0, false=0.0 (XGBoost feature type 'i')"])


# ----------------------------------------------------------------------------
# categorical
# ----------------------------------------------------------------------------
def cat_data(r, n, k_small=3, k_big=40, null_frac=0.0):
    c_small = r.integers(0, k_small, n).astype(np.int32)
    c_big = r.integers(0, k_big, n).astype(np.int64)
    d = Data({"x0": r.normal(size=n), "color": c_small, "city": c_big, "x1": r.normal(size=n)},
             cats={"color": k_small, "city": k_big})
    if null_frac:
        d = sprinkle_null(r, d, null_frac, ["color", "city"])
    return d


def cat_target(d: Data, r, k_big=40):
    m = np.nan_to_num(d.float_matrix(), nan=0)
    eff_big = rng(999).normal(size=k_big) * 1.5
    eff_small = np.array([-1.0, 0.5, 1.2])
    z = m[:, 0] + eff_small[m[:, 1].astype(int)] + eff_big[m[:, 2].astype(int)]
    return (z + 0.3 * r.normal(size=len(z)) > 0).astype(float)


def cat_case(suffix, description, params, fmt="json"):
    @register("xgboost", V, suffix)
    def _c(case_dir: Path):
        r = rng(31)
        train = cat_data(r, 400, null_frac=0.05)
        test = cat_data(r, 200, null_frac=0.1)
        return run_case(case_dir, description=description,
                        params={"objective": "binary:logistic", "tree_method": "hist", "max_depth": 4, **params},
                        train=train, label=cat_target(train, r), rounds=10, test=test, fmt=fmt,
                        notes=["categorical columns hold integer category codes 0..K-1 (NULL = missing); "
                               "model trained from pandas category dtype with categories 0..K-1, so the "
                               "'cats' encoder (XGBoost >= 3.1 models) is the identity"])


cat_case("categorical_partition", "XGBoost categorical features, partition-based splits (max_cat_to_onehot=1)",
         {"max_cat_to_onehot": 1})
cat_case("categorical_onehot", "XGBoost categorical features, one-hot splits for small cardinality (max_cat_to_onehot=8) + partition for the 40-level feature",
         {"max_cat_to_onehot": 8})
cat_case("categorical_ubj", "XGBoost categorical (partition splits) saved as UBJSON", {"max_cat_to_onehot": 1}, fmt="ubj")


@register("xgboost", V, "categorical_codes_unseen")
def _cat_numpy(case_dir: Path):
    r = rng(32)
    train = cat_data(r, 400)
    test = cat_data(r, 200, null_frac=0.05)
    # unseen / out-of-range codes in the input
    city = test.cols["city"].copy()
    city[:12] = [40, 41, 63, 64, 100, 1000, 70000, 16777215, 16777216, 2**30, 39, 0]
    test.cols["city"] = city
    color = test.cols["color"].copy()
    color[12:20] = [3, 5, 31, 32, -1, -2, -100, 2]
    city[20:22] = [-1, -40]
    test.cols["color"] = color
    types = ["q", "c", "c", "q"]
    return run_case(case_dir, description="XGBoost categorical model trained from numpy codes (feature_types 'c'); input has unseen codes >= K",
                    params={"objective": "binary:logistic", "tree_method": "hist", "max_depth": 4,
                            "max_cat_to_onehot": 1}, train=train, label=cat_target(train, r), rounds=10,
                    test=test, numpy_types=types,
                    notes=["codes not in a split's category set go LEFT (incl. codes >= bitset size and negative codes)"])


# ----------------------------------------------------------------------------
# multi-output
# ----------------------------------------------------------------------------
@register("xgboost", V, "multi_quantile")
def _mq(case_dir: Path):
    train, test, z, r = xy(41)
    y = 3 * z + r.normal(size=len(z))
    out = run_case(case_dir, description="XGBoost reg:quantileerror with quantile_alpha=[0.1,0.5,0.9] (3 outputs, one tree per output)",
                   params={"objective": "reg:quantileerror", "quantile_alpha": np.array([0.1, 0.5, 0.9]),
                           "tree_method": "hist", "max_depth": 3}, train=train, label=y, rounds=8, test=test)
    slv = {t["tree_param"]["size_leaf_vector"] for t in model_json(case_dir)["learner"]["gradient_booster"]["model"]["trees"]}
    assert slv <= {"0", "1"}, slv
    return out


@register("xgboost", V, "multi_target_one_output_per_tree")
def _mt1(case_dir: Path):
    train, test, z, r = xy(42)
    y = np.column_stack([3 * z, -z + r.normal(size=len(z))])
    return run_case(case_dir, description="XGBoost 2-target reg:squarederror, multi_strategy=one_output_per_tree (2 outputs)",
                    params={"objective": "reg:squarederror", "tree_method": "hist", "max_depth": 3,
                            "multi_strategy": "one_output_per_tree"}, train=train, label=y, rounds=6, test=test)


def _vector_leaf_sizes(case_dir: Path) -> set:
    return {t["tree_param"]["size_leaf_vector"] for t in model_json(case_dir)["learner"]["gradient_booster"]["model"]["trees"]}


@register("xgboost", V, "multi_target_tree")
def _mt2(case_dir: Path):
    train, test, z, r = xy(43)
    y = np.column_stack([3 * z, -z + r.normal(size=len(z))])
    test = sprinkle_nan(r, test, 0.1, ["f0", "f2"])
    out = run_case(case_dir, description="XGBoost multi_strategy=multi_output_tree (vector leaves, 2 targets), NaN in two features",
                   params={"objective": "reg:squarederror", "tree_method": "hist", "max_depth": 3,
                           "multi_strategy": "multi_output_tree"}, train=train, label=y, rounds=4, test=test)
    _assert(_vector_leaf_sizes(case_dir) == {"2"}, "expected vector-leaf trees")
    return out


@register("xgboost", V, "multi_target_tree_softprob")
def _mt3(case_dir: Path):
    train, test, z, r = xy(45)
    out = run_case(case_dir, description="XGBoost multi:softprob (3 classes) with multi_strategy=multi_output_tree: one vector-leaf tree per round",
                   params={"objective": "multi:softprob", "num_class": 3, "tree_method": "hist", "max_depth": 4,
                           "multi_strategy": "multi_output_tree"}, train=train,
                   label=multiclass_labels(train, r, 3), rounds=6, test=test)
    _assert(_vector_leaf_sizes(case_dir) == {"3"}, "expected vector-leaf trees")
    return out


@register("xgboost", V, "multi_target_tree_ubj")
def _mt4(case_dir: Path):
    train, test, z, r = xy(46)
    y = np.column_stack([3 * z, np.sin(z), -z + r.normal(size=len(z))])
    out = run_case(case_dir, description="XGBoost multi_output_tree with 3 targets saved as UBJSON",
                   params={"objective": "reg:squarederror", "tree_method": "hist", "max_depth": 5,
                           "multi_strategy": "multi_output_tree"}, train=train, label=y, rounds=5, test=test,
                   fmt="ubj")
    return out


# ----------------------------------------------------------------------------
# gblinear
# ----------------------------------------------------------------------------
@register("xgboost", V, "gblinear")
def _gblinear(case_dir: Path):
    train, test, z, r = xy(44)
    test = sprinkle_nan(r, test, 0.15)
    return run_case(case_dir, description="XGBoost gblinear booster, reg:squarederror, NaN inputs (missing adds nothing)",
                    params={"objective": "reg:squarederror", "booster": "gblinear"}, train=train,
                    label=3 * z + 1, rounds=5, test=test)


@register("xgboost", V, "gblinear_logistic")
def _gblinear_logistic(case_dir: Path):
    train, test, z, r = xy(47)
    train = sprinkle_nan(r, train, 0.1)
    test = sprinkle_nan(r, test, 0.1)
    return run_case(case_dir, description="XGBoost gblinear booster, binary:logistic, coord_descent updater, NaN in train and test",
                    params={"objective": "binary:logistic", "booster": "gblinear", "updater": "coord_descent",
                            "alpha": 0.01, "lambda": 0.1}, train=train, label=binary_labels(z, r), rounds=20,
                    test=test)


@register("xgboost", V, "gblinear_softprob")
def _gblinear_softprob(case_dir: Path):
    train, test, z, r = xy(48)
    return run_case(case_dir, description="XGBoost gblinear booster, multi:softprob with 3 classes (a weight per feature per class)",
                    params={"objective": "multi:softprob", "num_class": 3, "booster": "gblinear"}, train=train,
                    label=multiclass_labels(train, r, 3), rounds=10, test=test, fmt="ubj")
