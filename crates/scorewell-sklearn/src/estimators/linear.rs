//! Linear models: `raw = X · coef_ᵀ + intercept_` (`LinearModel`, `LinearClassifierMixin`).
//!
//! - Regressors predict `raw` (several targets: one column each).
//! - `LogisticRegression.predict_proba`: one-vs-rest (expit, normalised; binary `[1-p, p]`)
//!   when `multi_class` is `ovr`, or `auto`/unset with two classes or the liblinear solver;
//!   otherwise softmax (binary multinomial: softmax of `[-raw, raw]`).
//! - `SGDClassifier`: `log_loss` as one-vs-rest, `modified_huber` as
//!   `(clip(raw, -1, 1) + 1) / 2` normalised; other losses have no probabilities.
//! - The label is `classes_[raw > 0]` for one raw value, else `classes_[argmax(raw)]`.

use super::attrs::Est;
use super::{Final, classes_of};
use crate::error::Result;
use crate::model::{Finish, Head, LabelRule, Output};

/// The coefficients as `k × n`, and the intercepts.
fn weights(est: &Est<'_>) -> Result<(Vec<f64>, Vec<f64>, usize)> {
    let (coef, shape) = est.floats("coef_")?;
    let (k, n) = match shape.as_slice() {
        [n] => (1, *n),
        [k, n] => (*k, *n),
        _ => return Err(est.bad("coef_", format!("unexpected shape {shape:?}"))),
    };
    let intercept = match est.get("intercept_") {
        None => vec![0.0; k],
        Some(_) => {
            let (b, _) = est.floats("intercept_")?;
            match b.len() {
                1 if k > 1 => vec![b[0]; k],
                len if len == k => b,
                len => {
                    return Err(est.bad(
                        "intercept_",
                        format!("{len} intercepts for {k} rows of coefficients"),
                    ));
                }
            }
        }
    };
    Ok((coef, intercept, n))
}

/// A linear regressor.
pub fn regressor(est: &Est<'_>) -> Result<Final> {
    let (coef, intercept, n) = weights(est)?;
    let targets = intercept.len();
    Ok(Final {
        head: Head::Linear {
            coef,
            intercept,
            num_features: n,
            finish: Finish::Identity,
        },
        output: Output::Regression { targets },
    })
}

/// A linear classifier.
pub fn classifier(est: &Est<'_>) -> Result<Final> {
    let (coef, intercept, n) = weights(est)?;
    let classes = classes_of(est)?;
    let k = intercept.len();
    let proba = match est.name() {
        "LogisticRegression" | "LogisticRegressionCV" => {
            let multi = est.str("multi_class").unwrap_or("auto");
            let liblinear = est.str("solver") == Some("liblinear");
            let ovr = multi == "ovr"
                || multi == "warn"
                || (multi != "multinomial" && (classes.len() <= 2 || liblinear));
            Some(match (ovr, k) {
                (true, _) => Finish::OneVsRest,
                (false, 1) => Finish::SoftmaxPair,
                (false, _) => Finish::Softmax,
            })
        }
        "SGDClassifier" => match est.str("loss") {
            Some("log_loss" | "log") => Some(Finish::OneVsRest),
            Some("modified_huber") => Some(Finish::ModifiedHuber),
            _ => None,
        },
        _ => None,
    };
    let head = |finish| Head::Linear {
        coef,
        intercept,
        num_features: n,
        finish,
    };
    Ok(match proba {
        Some(finish) => Final {
            head: head(finish),
            output: Output::Proba {
                classes,
                label: LabelRule::RawPositive,
            },
        },
        None => Final {
            head: head(Finish::Identity),
            output: Output::Decision { classes },
        },
    })
}
