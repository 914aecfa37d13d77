//! The `objective=` line → the link applied to the margins.
//!
//! LightGBM rebuilds the objective from this line (`ObjectiveFunction::CreateObjectiveFunction`
//! in `src/objective/objective_function.cpp`: the first token is the name, the others are
//! `key:value` pairs or flags) and calls its `ConvertOutput`:
//!
//! | name | `ConvertOutput` (file) | link |
//! |---|---|---|
//! | `regression`, `regression_l1`, `quantile`, `fair`, `mape` | identity, or `Sign(x)·x·x` with the `sqrt` flag (`regression_objective.hpp`, `RegressionL2loss`) | `Identity` / `SignedSquare` |
//! | `huber` | identity: its constructor turns `sqrt` off | `Identity` |
//! | `poisson`, `gamma`, `tweedie` | `exp(x)` (`RegressionPoissonLoss`) | `Exp` |
//! | `binary sigmoid:α` | `1/(1+exp(-α·x))` (`binary_objective.hpp`) | `Logistic { scale: α }` |
//! | `multiclass num_class:N` | softmax (`multiclass_objective.hpp`) | `Softmax` |
//! | `multiclassova num_class:N sigmoid:α` | per-class `1/(1+exp(-α·x))` | `Logistic { scale: α }` |
//! | `cross_entropy` | `1/(1+exp(-x))` (`xentropy_objective.hpp`) | `Logistic { scale: 1 }` |
//! | `cross_entropy_lambda` | `log1p(exp(x))` | `Softplus` |
//! | `lambdarank`, `rank_xendcg` | identity (base class) | `Identity` |
//! | `custom` (or no line) | no objective: raw scores | `Identity` |
//!
//! Aliases (`ParseObjectiveAlias` in `include/LightGBM/config.h`) are accepted for the name.

use scorewell_forest::Link;

use super::NAME;
use super::text::{Field, Num};
use crate::error::{FormatError, Result};

/// The canonical objective name for `name` (LightGBM's `ParseObjectiveAlias`).
fn canonical(name: &str) -> &str {
    match name {
        "regression"
        | "regression_l2"
        | "mean_squared_error"
        | "mse"
        | "l2"
        | "l2_root"
        | "root_mean_squared_error"
        | "rmse" => "regression",
        "regression_l1" | "mean_absolute_error" | "l1" | "mae" => "regression_l1",
        "multiclass" | "softmax" => "multiclass",
        "multiclassova" | "multiclass_ova" | "ova" | "ovr" => "multiclassova",
        "xentropy" | "cross_entropy" => "cross_entropy",
        "xentlambda" | "cross_entropy_lambda" => "cross_entropy_lambda",
        "mean_absolute_percentage_error" | "mape" => "mape",
        "rank_xendcg" | "xendcg" | "xe_ndcg" | "xe_ndcg_mart" | "xendcg_mart" => "rank_xendcg",
        "none" | "null" | "custom" | "na" => "custom",
        other => other,
    }
}

/// The link of the objective line `field` (None: no line), for a model with `groups` margins.
pub(super) fn link(field: Option<&Field<'_>>, groups: usize) -> Result<Link> {
    let Some(field) = field else {
        return Ok(Link::Identity);
    };
    let mut tokens = field.value.split_ascii_whitespace();
    let Some(name) = tokens.next() else {
        return Ok(Link::Identity);
    };
    let params: Vec<&str> = tokens.collect();
    let flag = |f: &str| params.contains(&f);
    let param = |key: &str| -> Option<&str> {
        params.iter().rev().find_map(|p| {
            let (k, v) = p.split_once(':')?;
            (k == key).then_some(v)
        })
    };
    let sigmoid = || -> Result<f64> {
        let v = param("sigmoid").ok_or_else(|| field.err("`sigmoid:` parameter is missing"))?;
        match f64::parse(v) {
            Some(a) if a > 0.0 && a.is_finite() => Ok(a),
            _ => Err(field.err(format_args!("sigmoid `{v}` should be a positive number"))),
        }
    };
    let num_class = || -> Result<()> {
        let v = param("num_class").ok_or_else(|| field.err("`num_class:` parameter is missing"))?;
        match usize::parse(v) {
            Some(n) if n == groups => Ok(()),
            _ => Err(field.err(format_args!(
                "num_class `{v}` does not match the {groups} trees per iteration"
            ))),
        }
    };
    let link = match canonical(name) {
        "regression" | "regression_l1" | "quantile" | "fair" | "mape" => {
            if flag("sqrt") {
                Link::SignedSquare
            } else {
                Link::Identity
            }
        }
        "huber" | "lambdarank" | "rank_xendcg" | "custom" => Link::Identity,
        "poisson" | "gamma" | "tweedie" => Link::Exp,
        "binary" => Link::Logistic { scale: sigmoid()? },
        "multiclass" => {
            num_class()?;
            Link::Softmax
        }
        "multiclassova" => {
            num_class()?;
            Link::Logistic { scale: sigmoid()? }
        }
        "cross_entropy" => Link::Logistic { scale: 1.0 },
        "cross_entropy_lambda" => Link::Softplus,
        _ => {
            return Err(FormatError::Unsupported {
                format: NAME,
                what: format!(
                    "objective `{name}` (supported: regression, regression_l1, huber, fair, \
                     quantile, mape, poisson, gamma, tweedie, binary, multiclass, multiclassova, \
                     cross_entropy, cross_entropy_lambda, lambdarank, rank_xendcg, custom)"
                ),
            });
        }
    };
    // Single-output objectives convert only `output[0]` in LightGBM.
    let per_group = matches!(canonical(name), "multiclass" | "multiclassova");
    if groups != 1 && !per_group && link != Link::Identity {
        return Err(field.err(format_args!(
            "objective `{name}` has one output but the model has {groups} trees per iteration"
        )));
    }
    Ok(link)
}
