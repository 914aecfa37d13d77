//! Transformers of a `Pipeline`, as matrix steps.
//!
//! - `StandardScaler`: `x -= mean_; x /= scale_` (each only when fitted with it).
//! - `RobustScaler`: `x -= center_; x /= scale_`.
//! - `MaxAbsScaler`: `x /= scale_`.
//! - `MinMaxScaler`: `x *= scale_; x += min_` (and `clip` is refused).
//! - `SimpleImputer`: `missing_values` replaced by `statistics_`; columns whose statistic is
//!   NaN (all missing at fit) are dropped unless `keep_empty_features`; `add_indicator`
//!   appends the `MissingIndicator`'s columns.

use super::attrs::Est;
use crate::error::Result;
use crate::model::Step;
use crate::pickle::Value;

/// The transformers this module reads.
pub const SUPPORTED: &[&str] = &[
    "StandardScaler",
    "MinMaxScaler",
    "MaxAbsScaler",
    "RobustScaler",
    "SimpleImputer",
];

fn optional(est: &Est<'_>, name: &str) -> Result<Option<Vec<f64>>> {
    match est.get(name) {
        None | Some(Value::None) => Ok(None),
        Some(_) => Ok(Some(est.floats(name)?.0)),
    }
}

/// The step for one fitted transformer, or `None` when the class is not a transformer this
/// module knows.
pub fn step(est: &Est<'_>) -> Result<Option<Step>> {
    let affine = |sub, div, mul, add| Step::Affine { sub, div, mul, add };
    Ok(Some(match est.name() {
        "StandardScaler" => affine(
            optional(est, "mean_")?,
            optional(est, "scale_")?,
            None,
            None,
        ),
        "RobustScaler" => affine(
            optional(est, "center_")?,
            optional(est, "scale_")?,
            None,
            None,
        ),
        "MaxAbsScaler" => affine(None, optional(est, "scale_")?, None, None),
        "MinMaxScaler" => {
            if est.flag("clip", false) {
                return Err(est.unsupported("clip=True is not supported yet"));
            }
            affine(None, None, optional(est, "scale_")?, optional(est, "min_")?)
        }
        "SimpleImputer" => imputer(est)?,
        _ => return Ok(None),
    }))
}

fn imputer(est: &Est<'_>) -> Result<Step> {
    let missing = match est.get("missing_values") {
        Some(Value::Float(f)) => *f,
        Some(Value::Int(i)) => *i as f64,
        None | Some(Value::None) => f64::NAN,
        Some(_) => {
            return Err(
                est.unsupported("only numeric missing_values (NaN by default) are supported")
            );
        }
    };
    let (fill, _) = est.floats("statistics_")?;
    let keep_empty = est.flag("keep_empty_features", false);
    let keep: Vec<usize> = (0..fill.len())
        .filter(|j| keep_empty || !fill[*j].is_nan())
        .collect();
    let indicator = match est.get("indicator_") {
        None | Some(Value::None) => Vec::new(),
        Some(v) => {
            let ind = est.p.estimator(v)?;
            ind.ints("features_")?
                .into_iter()
                .map(|f| usize::try_from(f).map_err(|_| ind.bad("features_", "negative")))
                .collect::<Result<_>>()?
        }
    };
    // A kept column whose statistic is NaN (keep_empty_features) is filled with 0.
    let fill = fill
        .iter()
        .map(|f| if f.is_nan() { 0.0 } else { *f })
        .collect();
    Ok(Step::Impute {
        missing,
        fill,
        keep,
        indicator,
    })
}
