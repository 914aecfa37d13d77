//! `HistGradientBoostingClassifier` / `HistGradientBoostingRegressor`
//! (`ensemble/_hist_gradient_boosting/_predictor.pyx`).
//!
//! - Inputs are `float64` (no `float32` cast); a numeric node sends `x <= num_threshold` left,
//!   NaN to its `missing_go_to_left` side.
//! - Categorical features are first encoded by the model's own `_preprocessor` (an
//!   OrdinalEncoder, unknown and missing → NaN) and moved in front of the numeric ones. A
//!   categorical node sends NaN and negative codes to the missing side, codes in
//!   `raw_left_cat_bitsets` left, other known codes (`_bin_mapper.bin_thresholds_`) right,
//!   and unknown codes to the missing side — expressed as one bitset test: with the missing
//!   side left, "in known ∖ left goes right"; with it right, "in left goes left".
//! - `raw = _baseline_prediction + Σ_iterations leaf` per class, in iteration order; leaf
//!   values already carry the learning rate. Probabilities: expit (binary) or softmax.

use std::collections::HashMap;

use scorewell_forest::{
    CategoryCast, Comparison, ForestBuilder, LeafTables, LeafValues, Missing, NanRoute, Precision,
    Predictor, SplitTest, TreeBuilder,
};

use super::attrs::{Est, strings};
use super::tree::preorder;
use super::{Final, classes_of};
use crate::error::Result;
use crate::model::{Categories, Finish, Head, LabelRule, Output, Step};
use crate::pickle::{Obj, Value};

/// What the HistGradientBoosting model needs besides its head.
pub struct HgbExtras {
    /// Per input column (in input order), its OrdinalEncoder categories.
    pub categories: Vec<(usize, Categories)>,
    /// The column reorder that puts categorical features first, when there are any.
    pub reorder: Option<Step>,
}

/// Read the model.
pub fn hist_gradient_boosting(est: &Est<'_>, classify: bool) -> Result<(Final, HgbExtras)> {
    let nf = est.n_features_in()?;
    let (baseline, _) = est.floats("_baseline_prediction")?;
    let k = baseline.len().max(1);
    let bin_mapper = est.child("_bin_mapper")?;
    let extras = preprocessor(est, nf)?;
    // Known categories per (remapped) feature, as bitsets of codes.
    let mut known: HashMap<usize, Vec<u32>> = HashMap::new();
    if let Some(Value::Ref(_)) = bin_mapper.get("is_categorical_") {
        let is_cat = bin_mapper.ints("is_categorical_").unwrap_or_default();
        let thresholds = bin_mapper.list("bin_thresholds_").unwrap_or(&[]);
        for (f, c) in is_cat.iter().enumerate() {
            if *c != 0 {
                let codes = thresholds
                    .get(f)
                    .and_then(|t| match est.p.obj(t) {
                        Some(Obj::Array(a)) => a.to_f64(),
                        _ => None,
                    })
                    .ok_or_else(|| bin_mapper.bad("bin_thresholds_", "no known categories"))?;
                let mut bits = vec![0u32; 8];
                for code in codes {
                    if (0.0..256.0).contains(&code) {
                        let c = code as usize;
                        bits[c / 32] |= 1 << (c % 32);
                    }
                }
                known.insert(f, bits);
            }
        }
    }
    let iterations = est.list("_predictors")?;
    let mut builder = ForestBuilder::new(nf, (iterations.len() * k).max(1));
    builder
        .comparison(Comparison::LessEqual)
        .precision(Precision::F64);
    let mut tables = Vec::new();
    for it in iterations {
        let predictors = est
            .p
            .items(it)
            .ok_or_else(|| est.bad("_predictors", "not a list of lists"))?;
        for (g, pred) in predictors.iter().enumerate() {
            let pred = est.p.estimator(pred)?;
            let (tree, values) = predictor_tree(&pred, &known)?;
            builder.push_tree(tree, tables.len() as u32, 1.0);
            tables.push(LeafValues {
                group: Some(g as u32),
                values,
            });
        }
    }
    let forest = builder.build()?;
    let head = Head::Trees {
        predictor: Box::new(Predictor::compile(&forest)),
        num_features: nf,
        tables: LeafTables {
            width: k,
            base: baseline,
            trees: tables,
        },
        finish: match (classify, k, est.str("loss")) {
            (false, _, Some("poisson" | "gamma")) => Finish::Exp,
            (false, _, _) => Finish::Identity,
            (true, 1, _) => Finish::Expit2(1.0),
            (true, _, _) => Finish::Softmax,
        },
    };
    let output = if classify {
        Output::Proba {
            classes: classes_of(est)?,
            label: LabelRule::ArgMax,
        }
    } else {
        Output::Regression { targets: 1 }
    };
    Ok((Final { head, output }, extras))
}

/// One `TreePredictor` as a tree whose leaves answer their leaf number, and the leaf values.
fn predictor_tree(
    pred: &Est<'_>,
    known: &HashMap<usize, Vec<u32>>,
) -> Result<(TreeBuilder, Vec<f64>)> {
    let nodes = pred.array("nodes")?;
    let field_f = |name: &str| {
        nodes
            .field_f64(name)
            .ok_or_else(|| pred.bad("nodes", format!("no field `{name}`")))
    };
    let value = field_f("value")?;
    let feature = field_f("feature_idx")?;
    let threshold = field_f("num_threshold")?;
    let missing_left = field_f("missing_go_to_left")?;
    let left = field_f("left")?;
    let right = field_f("right")?;
    let is_leaf = field_f("is_leaf")?;
    let is_cat = nodes.field_f64("is_categorical");
    let bitset_idx = nodes.field_f64("bitset_idx");
    let raw_left: Vec<u32> = match pred.get("raw_left_cat_bitsets") {
        Some(_) => pred
            .ints("raw_left_cat_bitsets")
            .unwrap_or_default()
            .into_iter()
            .map(|v| v as u32)
            .collect(),
        None => Vec::new(),
    };
    let n = value.len();
    let children = |i: usize| {
        if is_leaf[i] != 0.0 {
            return Ok(None);
        }
        Ok(Some((left[i] as usize, right[i] as usize)))
    };
    let (order, pos) = preorder(n, children).map_err(|m| pred.bad("nodes", m))?;
    let mut b = TreeBuilder::with_capacity(order.len());
    let mut values = Vec::new();
    for &i in &order {
        if is_leaf[i] != 0.0 {
            b.leaf(values.len() as f64);
            values.push(value[i]);
            continue;
        }
        let f = feature[i] as usize;
        let default_left = missing_left[i] != 0.0;
        let (l, r) = (pos[left[i] as usize], pos[right[i] as usize]);
        if is_cat.as_ref().is_some_and(|c| c[i] != 0.0) {
            let idx = bitset_idx.as_ref().map_or(0, |b| b[i] as usize);
            let left_bits = raw_left
                .get(idx * 8..idx * 8 + 8)
                .ok_or_else(|| pred.bad("raw_left_cat_bitsets", format!("no bitset {idx}")))?;
            let known_bits = known.get(&f).ok_or_else(|| {
                pred.bad(
                    "nodes",
                    format!("feature {f} is split as a category but not categorical"),
                )
            })?;
            let (bitset, in_set_goes_left) = if default_left {
                let right_only: Vec<u32> = known_bits
                    .iter()
                    .zip(left_bits)
                    .map(|(k, l)| k & !l)
                    .collect();
                (right_only, false)
            } else {
                (left_bits.to_vec(), true)
            };
            b.split(
                f as u32,
                SplitTest::Categorical {
                    bitset,
                    in_set_goes_left,
                    nan: NanRoute::Default,
                    cast: CategoryCast::CheckThenTruncate,
                },
                default_left,
                l,
                r,
            );
        } else {
            b.numeric(
                f as u32,
                threshold[i],
                Missing::NanDefault,
                default_left,
                l,
                r,
            );
        }
    }
    Ok((b, values))
}

/// The `_preprocessor` ColumnTransformer of a model with categorical features: which input
/// columns are encoded with which categories, and the reorder putting them first.
fn preprocessor(est: &Est<'_>, nf: usize) -> Result<HgbExtras> {
    let none = HgbExtras {
        categories: Vec::new(),
        reorder: None,
    };
    let Some(pre) = est.get("_preprocessor") else {
        return Ok(none);
    };
    if matches!(pre, Value::None) {
        return Ok(none);
    }
    let pre = est.p.estimator(pre)?;
    let mut encoded: Vec<usize> = Vec::new();
    let mut passed: Vec<usize> = Vec::new();
    let mut categories = Vec::new();
    for t in pre.list("transformers_")? {
        let parts = est
            .p
            .items(t)
            .ok_or_else(|| pre.bad("transformers_", "not (name, transformer, columns)"))?;
        let [name, transformer, columns, ..] = parts else {
            return Err(pre.bad("transformers_", "not (name, transformer, columns)"));
        };
        let cols = column_indices(est, columns, nf)
            .ok_or_else(|| pre.bad("transformers_", "columns are not a mask or indices"))?;
        match name.as_str() {
            Some("encoder") => {
                let enc = est.p.estimator(transformer)?;
                let cats = enc.list("categories_")?;
                for (col, cat) in cols.iter().zip(cats) {
                    categories.push((*col, ordinal_categories(est, &enc, cat)?));
                }
                encoded.extend(cols);
            }
            Some("numerical") => passed.extend(cols),
            Some("remainder") => {}
            _ => {
                return Err(
                    pre.unsupported("an unexpected HistGradientBoosting _preprocessor layout")
                );
            }
        }
    }
    let mut order = encoded;
    order.extend(passed);
    Ok(HgbExtras {
        categories,
        reorder: Some(Step::Select(order)),
    })
}

/// A ColumnTransformer column selection (bool mask or integer indices) as indices.
fn column_indices(est: &Est<'_>, v: &Value, nf: usize) -> Option<Vec<usize>> {
    match est.p.obj(v)? {
        Obj::Array(a) if a.dtype.kind == 'b' => {
            let m = a.to_i64()?;
            Some((0..nf.min(m.len())).filter(|i| m[*i] != 0).collect())
        }
        Obj::Array(a) => a
            .to_i64()?
            .iter()
            .map(|&i| usize::try_from(i).ok())
            .collect(),
        Obj::List(l) | Obj::Tuple(l) => l
            .iter()
            .map(|i| i.as_int().and_then(|i| usize::try_from(i).ok()))
            .collect(),
        _ => None,
    }
}

/// One OrdinalEncoder column: category → position (a trailing NaN category is missing).
pub fn ordinal_categories(est: &Est<'_>, enc: &Est<'_>, cat: &Value) -> Result<Categories> {
    if let Some(names) = strings(est.p, cat) {
        let map = names
            .into_iter()
            .enumerate()
            .map(|(i, s)| (s, i as f64))
            .collect();
        return Ok(Categories::Text(map));
    }
    let values = match est.p.obj(cat) {
        Some(Obj::Array(a)) => a.to_f64(),
        _ => None,
    };
    // An object array mixing strings with a NaN (missing seen in fit): keep the strings.
    if values.is_none()
        && let Some(Obj::Array(a)) = est.p.obj(cat)
        && let crate::pickle::Data::Objects(items) = &a.data
    {
        let map = items
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.as_str().map(|s| (s.to_string(), i as f64)))
            .collect();
        return Ok(Categories::Text(map));
    }
    let values = values.ok_or_else(|| enc.bad("categories_", "neither strings nor numbers"))?;
    Ok(Categories::Numbers(
        values
            .iter()
            .enumerate()
            .filter(|(_, v)| !v.is_nan())
            .map(|(i, v)| ((v + 0.0).to_bits(), i as f64))
            .collect(),
    ))
}
