//! Linear models: LogisticRegression (binomial, multinomial), LinearRegression, LinearSVC,
//! GeneralizedLinearRegression (`ml/classification/LogisticRegression.scala`,
//! `ml/regression/GeneralizedLinearRegression.scala`, …, Spark 3.x/4.x).

use std::sync::Arc;

use scorewell_core::Stage;
use scorewell_core::vector::VectorRef;

use super::{Ctx, Registry};
use crate::error::Result;
use crate::model::{Decide, Head, ModelStage, ProbRule, RegressionLink, RowKernel, dot};
use crate::reader::Matrix;

pub(crate) fn register(reg: &mut Registry) {
    reg.add(
        "org.apache.spark.ml.classification.LogisticRegressionModel",
        logistic,
    );
    reg.add("org.apache.spark.ml.classification.LinearSVCModel", svc);
    reg.add(
        "org.apache.spark.ml.regression.LinearRegressionModel",
        linear_regression,
    );
    reg.add(
        "org.apache.spark.ml.regression.GeneralizedLinearRegressionModel",
        glr,
    );
}

type Built = Result<Vec<Arc<dyn Stage>>>;

/// `margin = w · x + b`, written as `[margin]` or as `[-margin, margin]`.
#[derive(Debug)]
pub(crate) struct Linear {
    pub(crate) w: Vec<f64>,
    pub(crate) b: f64,
    pub(crate) pair: bool,
}

impl RowKernel for Linear {
    fn width(&self) -> usize {
        if self.pair { 2 } else { 1 }
    }
    fn num_features(&self) -> usize {
        self.w.len()
    }
    fn row(&self, x: VectorRef<'_>, out: &mut [f64]) {
        let m = dot(x, &self.w) + self.b;
        if self.pair {
            out[0] = -m;
            out[1] = m;
        } else {
            out[0] = m;
        }
    }
}

/// `raw = intercepts + W x` (Spark's `gemv` starting from the intercepts).
#[derive(Debug)]
pub(crate) struct MultiLinear {
    pub(crate) w: Matrix,
    pub(crate) b: Vec<f64>,
}

impl RowKernel for MultiLinear {
    fn width(&self) -> usize {
        self.w.rows
    }
    fn num_features(&self) -> usize {
        self.w.cols
    }
    fn row(&self, x: VectorRef<'_>, out: &mut [f64]) {
        for (k, o) in out.iter_mut().enumerate() {
            let row = self.w.row(k);
            let mut s = self.b[k];
            x.for_each_active(|j, v| s += v * row[j]);
            *o = s;
        }
    }
}

/// The `rawPredictionCol` / `probabilityCol` / `predictionCol` columns of a classifier.
pub(crate) fn classifier_head(
    ctx: &Ctx<'_>,
    probability: Option<ProbRule>,
    decide: Decide,
) -> Result<Head> {
    let m = ctx.meta;
    let prob_col = if probability.is_some() {
        m.col("probabilityCol")?
    } else {
        None
    };
    Ok(Head::Classifier {
        raw: m.col("rawPredictionCol")?,
        probability: prob_col.zip(probability),
        prediction: m.col("predictionCol")?,
        decide,
        rule: probability,
    })
}

/// Whether the classifier writes neither `rawPredictionCol` nor `probabilityCol`, so Spark
/// predicts through the model's `predict(features)`.
pub(crate) fn predicts_from_features(ctx: &Ctx<'_>) -> Result<bool> {
    Ok(ctx.meta.col("rawPredictionCol")?.is_none() && ctx.meta.col("probabilityCol")?.is_none())
}

/// `thresholds` when set explicitly.
pub(crate) fn thresholds(ctx: &Ctx<'_>) -> Result<Option<Vec<f64>>> {
    if ctx.meta.is_set("thresholds") {
        ctx.meta.opt_f64s("thresholds")
    } else {
        Ok(None)
    }
}

/// `thresholds` checked against the class count, as Spark's `transform` requires.
pub(crate) fn class_thresholds(ctx: &Ctx<'_>, classes: usize) -> Result<Option<Vec<f64>>> {
    let t = thresholds(ctx)?;
    if let Some(t) = &t
        && t.len() != classes
    {
        return Err(ctx.invalid(format!(
            "{} thresholds for {classes} classes (Spark's transform refuses this model)",
            t.len()
        )));
    }
    Ok(t)
}

pub(crate) fn stage(ctx: &mut Ctx<'_>, kernel: Arc<dyn crate::model::Kernel>, head: Head) -> Built {
    let features = ctx.meta.str("featuresCol")?;
    let model = ModelStage::new(ctx.name(), features, kernel, head);
    finish(ctx, model)
}

/// Record the model's vector outputs (`rawPrediction`, `probability`, vector extras) with
/// their sizes, as Spark's output schema carries them, so later stages know them.
pub(crate) fn finish(ctx: &mut Ctx<'_>, model: ModelStage) -> Built {
    for (name, size) in model.vector_outputs() {
        ctx.cols.vector(&name, Some(size));
    }
    Ok(vec![Arc::new(model)])
}

fn logistic(ctx: &mut Ctx<'_>) -> Built {
    let data = ctx.data()?;
    data.one_row()?;
    let (matrix, intercepts, multinomial) = if data.has("coefficientMatrix") {
        (
            data.matrix("coefficientMatrix", 0)?,
            data.vector("interceptVector", 0)?,
            data.bool("isMultinomial", 0)?,
        )
    } else {
        // Spark < 2.1: binomial only, `intercept` + `coefficients`.
        let w = data.vector("coefficients", 0)?;
        (
            Matrix {
                rows: 1,
                cols: w.len(),
                values: w,
            },
            vec![data.f64("intercept", 0)?],
            false,
        )
    };
    if intercepts.len() != matrix.rows {
        return Err(ctx.invalid(format!(
            "{} intercepts for {} coefficient rows",
            intercepts.len(),
            matrix.rows
        )));
    }
    if multinomial {
        let thresholds = class_thresholds(ctx, matrix.rows)?;
        let head = classifier_head(
            ctx,
            Some(ProbRule::LogisticSoftmax),
            Decide::Default(thresholds),
        )?;
        stage(
            ctx,
            Arc::new(MultiLinear {
                w: matrix,
                b: intercepts,
            }),
            head,
        )
    } else {
        if matrix.rows != 1 {
            return Err(ctx.invalid("a binomial model must have one coefficient row"));
        }
        let head = classifier_head(
            ctx,
            Some(ProbRule::SigmoidComplement),
            Decide::Binomial(binomial_threshold(ctx)?),
        )?;
        let kernel = Linear {
            w: matrix.values,
            b: intercepts[0],
            pair: true,
        };
        stage(ctx, Arc::new(kernel), head)
    }
}

/// `LogisticRegressionParams.getThreshold`: with `thresholds` set, `1 / (1 + t0 / t1)`, else
/// `threshold` (default 0.5).
fn binomial_threshold(ctx: &Ctx<'_>) -> Result<f64> {
    match thresholds(ctx)? {
        Some(t) if t.len() == 2 => Ok(1.0 / (1.0 + t[0] / t[1])),
        Some(t) => Err(ctx.invalid(format!(
            "a binomial LogisticRegressionModel needs 2 thresholds, has {}",
            t.len()
        ))),
        None => Ok(ctx.meta.opt_f64("threshold")?.unwrap_or(0.5)),
    }
}

fn svc(ctx: &mut Ctx<'_>) -> Built {
    let data = ctx.data()?;
    data.one_row()?;
    let kernel = Linear {
        w: data.vector("coefficients", 0)?,
        b: data.f64("intercept", 0)?,
        pair: true,
    };
    let threshold = ctx.meta.opt_f64("threshold")?.unwrap_or(0.0);
    let head = classifier_head(ctx, None, Decide::Raw1Above(threshold))?;
    stage(ctx, Arc::new(kernel), head)
}

fn linear_regression(ctx: &mut Ctx<'_>) -> Built {
    let data = ctx.data()?;
    data.one_row()?;
    let kernel = Linear {
        w: data.vector("coefficients", 0)?,
        b: data.f64("intercept", 0)?,
        pair: false,
    };
    let head = Head::Regressor {
        prediction: ctx.meta.col("predictionCol")?,
        link: RegressionLink::Identity,
        link_prediction: None,
    };
    stage(ctx, Arc::new(kernel), head)
}

/// A GLM's inverse link (`GeneralizedLinearRegression.Link.unlink`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum GlmLink {
    Identity,
    Log,
    Logit,
    Inverse,
    Probit,
    CLogLog,
    Sqrt,
    /// `eta^(1/p)` (Tweedie power links other than 0, 1, -1, 0.5).
    Power(f64),
}

impl GlmLink {
    pub(crate) fn unlink(self, eta: f64) -> f64 {
        match self {
            GlmLink::Identity => eta,
            GlmLink::Log => eta.exp(),
            GlmLink::Logit => 1.0 / (1.0 + (-eta).exp()),
            GlmLink::Inverse => 1.0 / eta,
            // breeze `Gaussian(0, 1).cdf(eta)` = 0.5 * erfc(-eta / sqrt 2)
            GlmLink::Probit => 0.5 * libm::erfc(-eta / std::f64::consts::SQRT_2),
            GlmLink::CLogLog => 1.0 - (-eta.exp()).exp(),
            GlmLink::Sqrt => eta * eta,
            GlmLink::Power(p) => {
                if p == 0.0 {
                    eta.exp()
                } else {
                    eta.powf(1.0 / p)
                }
            }
        }
    }

    fn named(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "identity" => GlmLink::Identity,
            "log" => GlmLink::Log,
            "logit" => GlmLink::Logit,
            "inverse" => GlmLink::Inverse,
            "probit" => GlmLink::Probit,
            "cloglog" => GlmLink::CLogLog,
            "sqrt" => GlmLink::Sqrt,
            _ => return None,
        })
    }

    /// Spark's `Link.fromParams` for Tweedie power links.
    fn power(p: f64) -> Self {
        if p == 0.0 {
            GlmLink::Log
        } else if p == 1.0 {
            GlmLink::Identity
        } else if p == -1.0 {
            GlmLink::Inverse
        } else if p == 0.5 {
            GlmLink::Sqrt
        } else {
            GlmLink::Power(p)
        }
    }
}

/// `Family.project`: the fitted mean is clipped into the family's range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum GlmFamily {
    /// Infinities become ±`f64::MAX`.
    Gaussian,
    /// Into `[1e-16, 1 - 1e-16]`.
    Binomial,
    /// Poisson, gamma, Tweedie: at least 1e-16, +∞ becomes `f64::MAX`.
    Positive,
}

impl GlmFamily {
    pub(crate) fn project(self, mu: f64) -> f64 {
        const EPSILON: f64 = 1e-16;
        match self {
            GlmFamily::Gaussian if mu == f64::NEG_INFINITY => f64::MIN,
            GlmFamily::Gaussian if mu == f64::INFINITY => f64::MAX,
            GlmFamily::Gaussian => mu,
            GlmFamily::Binomial if mu < EPSILON => EPSILON,
            GlmFamily::Binomial if mu > 1.0 - EPSILON => 1.0 - EPSILON,
            GlmFamily::Binomial => mu,
            GlmFamily::Positive if mu < EPSILON => EPSILON,
            GlmFamily::Positive if mu.is_infinite() => f64::MAX,
            GlmFamily::Positive => mu,
        }
    }
}

/// `Family.fromParams`: Tweedie with `variancePower` 0, 1 or 2 is the Gaussian, Poisson or
/// gamma family (only the Gaussian projects differently: no lower clip).
fn glm_family(ctx: &Ctx<'_>) -> Result<GlmFamily> {
    let family = ctx
        .meta
        .opt_str("family")?
        .unwrap_or_else(|| "gaussian".into())
        .to_ascii_lowercase();
    Ok(match family.as_str() {
        "gaussian" => GlmFamily::Gaussian,
        "binomial" => GlmFamily::Binomial,
        "tweedie" if ctx.meta.opt_f64("variancePower")?.unwrap_or(0.0) == 0.0 => {
            GlmFamily::Gaussian
        }
        _ => GlmFamily::Positive,
    })
}

/// `FamilyAndLink.apply`: the set `link` (or `linkPower` for Tweedie), else the family's
/// canonical link (for Tweedie `Power(1 - variancePower)`, which is the Gaussian's identity,
/// the Poisson's log and the gamma's inverse at powers 0, 1, 2).
fn glm_link(ctx: &Ctx<'_>) -> Result<GlmLink> {
    let m = ctx.meta;
    let family = m.opt_str("family")?.unwrap_or_else(|| "gaussian".into());
    let family = family.to_ascii_lowercase();
    if family == "tweedie" {
        let p = if m.is_set("linkPower") {
            m.f64("linkPower")?
        } else {
            1.0 - m.opt_f64("variancePower")?.unwrap_or(0.0)
        };
        return Ok(GlmLink::power(p));
    }
    if m.is_set("link") {
        let name = m.str("link")?;
        return GlmLink::named(&name)
            .ok_or_else(|| ctx.invalid(format!("unsupported GLM link `{name}`")));
    }
    match family.as_str() {
        "gaussian" => Ok(GlmLink::Identity),
        "binomial" => Ok(GlmLink::Logit),
        "poisson" => Ok(GlmLink::Log),
        "gamma" => Ok(GlmLink::Inverse),
        other => Err(ctx.invalid(format!("unsupported GLM family `{other}`"))),
    }
}

/// `eta = w · x + b + offset` (`offsetCol` read as a double), `prediction = project(unlink(eta))`.
fn glr(ctx: &mut Ctx<'_>) -> Built {
    let data = ctx.data()?;
    data.one_row()?;
    let kernel = Linear {
        w: data.vector("coefficients", 0)?,
        b: data.f64("intercept", 0)?,
        pair: false,
    };
    let head = Head::Regressor {
        prediction: ctx.meta.col("predictionCol")?,
        link: RegressionLink::Glm(glm_link(ctx)?, glm_family(ctx)?),
        link_prediction: ctx.meta.col("linkPredictionCol")?,
    };
    let features = ctx.meta.str("featuresCol")?;
    let model = ModelStage::new(ctx.name(), features, Arc::new(kernel), head)
        .with_offset(ctx.meta.col("offsetCol")?);
    finish(ctx, model)
}
