//! From a decoded pickle to a [`SklearnModel`]: the estimator classes scorewell scores, each
//! refused by name when it is not one of them.

pub mod attrs;
mod columns;
mod forest;
mod hgb;
mod linear;
mod preprocess;
pub mod tree;

use attrs::{Est, strings};

use crate::error::{Result, SklearnError};
use crate::model::{Classes, Head, Input, Output, SklearnModel, Step};
use crate::pickle::{Obj, Pickle, Value};

/// A final estimator's head and outputs.
pub struct Final {
    /// Its arithmetic.
    pub head: Head,
    /// What it appends.
    pub output: Output,
}

/// The final estimators scorewell scores.
pub const ESTIMATORS: &[&str] = &[
    "DecisionTreeClassifier",
    "DecisionTreeRegressor",
    "ExtraTreeClassifier",
    "ExtraTreeRegressor",
    "RandomForestClassifier",
    "RandomForestRegressor",
    "ExtraTreesClassifier",
    "ExtraTreesRegressor",
    "GradientBoostingClassifier",
    "GradientBoostingRegressor",
    "HistGradientBoostingClassifier",
    "HistGradientBoostingRegressor",
    "IsolationForest",
    "LogisticRegression",
    "LogisticRegressionCV",
    "SGDClassifier",
    "LinearSVC",
    "Perceptron",
    "RidgeClassifier",
    "PassiveAggressiveClassifier",
    "LinearRegression",
    "Ridge",
    "RidgeCV",
    "Lasso",
    "LassoCV",
    "ElasticNet",
    "ElasticNetCV",
    "SGDRegressor",
    "LinearSVR",
    "HuberRegressor",
    "BayesianRidge",
    "ARDRegression",
];

/// Why well-known classes cannot be scored, so the error says more than "unsupported".
fn refusal(name: &str) -> Option<&'static str> {
    Some(match name {
        "FunctionTransformer" => {
            "holds a Python function, which scorewell never runs; move the function into the data preparation or replace it with a supported transformer"
        }
        "ColumnTransformer" | "OneHotEncoder" | "OrdinalEncoder" => {
            "is supported as the first step of a Pipeline only"
        }
        _ => return None,
    })
}

pub(crate) fn unsupported(est: &Est<'_>) -> SklearnError {
    let name = est.name();
    if let Some(why) = refusal(name) {
        return est.unsupported(why.to_string());
    }
    est.unsupported(format!(
        "not a scikit-learn estimator scorewell scores (`{}`). Supported estimators: {}; transformers in a Pipeline: {}",
        est.class,
        ESTIMATORS.join(", "),
        preprocess::SUPPORTED.join(", ")
    ))
}

/// Read `classes_`.
pub fn classes_of(est: &Est<'_>) -> Result<Classes> {
    let v = est.req("classes_")?;
    if let Some(s) = strings(est.p, v) {
        return Ok(Classes::Text(s));
    }
    let Some(Obj::Array(a)) = est.p.obj(v) else {
        return Err(est.bad("classes_", "not an array"));
    };
    let bad = || est.bad("classes_", format!("dtype {}", a.dtype.describe()));
    Ok(match a.dtype.kind {
        'i' | 'u' => Classes::Int(a.to_i64().ok_or_else(bad)?),
        'b' => Classes::Bool(
            a.to_i64()
                .ok_or_else(bad)?
                .iter()
                .map(|v| *v != 0)
                .collect(),
        ),
        'f' => Classes::Float(a.to_f64().ok_or_else(bad)?),
        _ => return Err(bad()),
    })
}

/// The final estimator: its head, outputs, and any steps/categories it brings.
fn final_estimator(est: &Est<'_>) -> Result<(Final, Option<hgb::HgbExtras>)> {
    let f = match est.name() {
        "DecisionTreeClassifier" | "ExtraTreeClassifier" => forest::classifier(est, false)?,
        "RandomForestClassifier" | "ExtraTreesClassifier" => forest::classifier(est, true)?,
        "DecisionTreeRegressor" | "ExtraTreeRegressor" => forest::regressor(est, false)?,
        "RandomForestRegressor" | "ExtraTreesRegressor" => forest::regressor(est, true)?,
        "GradientBoostingClassifier" => forest::gradient_boosting(est, true)?,
        "GradientBoostingRegressor" => forest::gradient_boosting(est, false)?,
        "HistGradientBoostingClassifier" => {
            let (f, x) = hgb::hist_gradient_boosting(est, true)?;
            return Ok((f, Some(x)));
        }
        "HistGradientBoostingRegressor" => {
            let (f, x) = hgb::hist_gradient_boosting(est, false)?;
            return Ok((f, Some(x)));
        }
        "IsolationForest" => forest::isolation_forest(est)?,
        "LogisticRegression"
        | "LogisticRegressionCV"
        | "SGDClassifier"
        | "LinearSVC"
        | "Perceptron"
        | "RidgeClassifier"
        | "PassiveAggressiveClassifier" => linear::classifier(est)?,
        "LinearRegression" | "Ridge" | "RidgeCV" | "Lasso" | "LassoCV" | "ElasticNet"
        | "ElasticNetCV" | "SGDRegressor" | "LinearSVR" | "HuberRegressor" | "BayesianRidge"
        | "ARDRegression" => linear::regressor(est)?,
        _ => return Err(unsupported(est)),
    };
    Ok((f, None))
}

/// The input columns of the first estimator: `feature_names_in_` when it was fitted on a
/// DataFrame, else sklearn's own `x0, x1, …`.
fn input_names(est: &Est<'_>) -> Result<Vec<String>> {
    if let Some(v) = est.get("feature_names_in_")
        && let Some(names) = strings(est.p, v)
    {
        return Ok(names);
    }
    let n = est.n_features_in()?;
    Ok((0..n).map(|i| format!("x{i}")).collect())
}

/// Build the model a pickle holds.
pub fn model(p: &Pickle) -> Result<SklearnModel> {
    let root = p.estimator(&p.root)?;
    let mut summary = vec![root.name().to_string()];
    let mut stages: Vec<Est<'_>> = Vec::new();
    if root.name() == "Pipeline" {
        for s in root.list("steps")? {
            let pair = p
                .items(s)
                .ok_or_else(|| root.bad("steps", "not (name, estimator) pairs"))?;
            let Some(e) = pair.get(1) else {
                return Err(root.bad("steps", "not (name, estimator) pairs"));
            };
            // `None` and "passthrough" are identity steps.
            if matches!(e, Value::None) || e.as_str() == Some("passthrough") {
                continue;
            }
            let e = p.estimator(e)?;
            summary.push(format!("  {}", e.name()));
            stages.push(e);
        }
    } else {
        stages.push(root);
    }
    let Some((last, transformers)) = stages.split_last() else {
        return Err(root.unsupported("an empty Pipeline"));
    };
    let first = transformers.first().unwrap_or(last);
    let mut inputs: Vec<Input> = input_names(first)?
        .into_iter()
        .map(|name| Input {
            name,
            categories: None,
            text: false,
            used: true,
        })
        .collect();
    let names: Vec<String> = inputs.iter().map(|i| i.name.clone()).collect();
    let front = match transformers.first() {
        Some(t) => columns::front(t, &names)?,
        None => None,
    };
    let transformers = if front.is_some() {
        &transformers[1..]
    } else {
        transformers
    };
    if let Some(f) = &front {
        inputs.iter_mut().for_each(|i| i.used = false);
        for b in &f.blocks {
            let (crate::model::Block::Encode { columns, .. }
            | crate::model::Block::Numeric { columns, .. }) = b;
            for c in columns {
                inputs[*c].used = true;
            }
            if let crate::model::Block::Encode { columns, encoders } = b {
                for (c, e) in columns.iter().zip(encoders) {
                    if !e.lookup.text.is_empty() {
                        inputs[*c].text = true;
                    }
                }
            }
        }
    }
    let mut steps: Vec<Step> = Vec::new();
    for t in transformers {
        match preprocess::step(t)? {
            Some(s) => steps.push(s),
            None => return Err(unsupported(t)),
        }
    }
    let (fin, extras) = final_estimator(last)?;
    if let Some(x) = extras {
        if !x.categories.is_empty() && (!steps.is_empty() || front.is_some()) {
            return Err(last.unsupported(
                "categorical features after other Pipeline steps are not supported yet",
            ));
        }
        for (col, cats) in x.categories {
            let input = inputs
                .get_mut(col)
                .ok_or_else(|| last.bad("_preprocessor", format!("no input column {col}")))?;
            input.categories = Some(cats);
        }
        steps.extend(x.reorder);
    }
    let start = front.as_ref().map_or(inputs.len(), |f| f.width());
    let inconsistent = |m: String| root.unsupported(format!("inconsistent file: {m}"));
    if let Some(f) = &front {
        f.check().map_err(inconsistent)?;
    }
    let mut width = start;
    for s in &steps {
        s.check(width).map_err(inconsistent)?;
        width = s.width_out(width);
    }
    let (raw_width, out_width) = fin.head.widths();
    let classes_needed = match &fin.output {
        Output::Proba { classes, .. } => Some((classes.len(), out_width)),
        Output::Decision { classes } => {
            Some((classes.len(), if raw_width == 1 { 2 } else { raw_width }))
        }
        _ => None,
    };
    if let Some((have, need)) = classes_needed
        && have != need
    {
        return Err(inconsistent(format!("{have} classes for {need} outputs")));
    }
    if let Head::Linear {
        coef,
        intercept,
        num_features,
        ..
    } = &fin.head
        && coef.len() != intercept.len() * num_features
    {
        return Err(inconsistent(format!(
            "{} coefficients for {} outputs of {num_features} features",
            coef.len(),
            intercept.len()
        )));
    }
    if width != fin.head.num_features() {
        return Err(last.unsupported(format!(
            "the Pipeline gives {width} features but the estimator was fitted on {}",
            fin.head.num_features()
        )));
    }
    if root.name() != "Pipeline" {
        summary = vec![root.name().to_string()];
    }
    Ok(SklearnModel {
        inputs,
        front,
        steps,
        head: fin.head,
        output: fin.output,
        summary,
        version: root.str("_sklearn_version").map(str::to_string),
    })
}
