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

/// `thresholds` when set explicitly.
pub(crate) fn thresholds(ctx: &Ctx<'_>) -> Result<Option<Vec<f64>>> {
    if ctx.meta.is_set("thresholds") {
        ctx.meta.opt_f64s("thresholds")
    } else {
        Ok(None)
    }
}

pub(crate) fn stage(ctx: &Ctx<'_>, kernel: Arc<dyn crate::model::Kernel>, head: Head) -> Built {
    let features = ctx.meta.str("featuresCol")?;
    Ok(vec![Arc::new(ModelStage::new(
        ctx.name(),
        features,
        kernel,
        head,
    ))])
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
    let thresholds = thresholds(ctx)?;
    if multinomial {
        let head = classifier_head(
            ctx,
            Some(ProbRule::LogisticSoftmax),
            Decide::Argmax(thresholds),
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
        let threshold = match thresholds {
            Some(t) if t.len() == 2 => 1.0 / (1.0 + t[1] / t[0]),
            _ => ctx.meta.opt_f64("threshold")?.unwrap_or(0.5),
        };
        // p0 = sigmoid(raw0), p1 = 1 - p0: bit for bit what Spark 3.5 and 4.3 write.
        let head = classifier_head(
            ctx,
            Some(ProbRule::SigmoidComplement),
            Decide::Probability1Above(threshold),
        )?;
        let kernel = Linear {
            w: matrix.values,
            b: intercepts[0],
            pair: true,
        };
        stage(ctx, Arc::new(kernel), head)
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

/// `FamilyAndLink.apply`: the set `link` (or `linkPower` for Tweedie), else the family's
/// canonical link.
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

fn glr(ctx: &mut Ctx<'_>) -> Built {
    if ctx.meta.col("offsetCol")?.is_some() {
        return Err(ctx.invalid(
            "GeneralizedLinearRegression with `offsetCol` is not supported (the offset column is not a features input)",
        ));
    }
    let data = ctx.data()?;
    data.one_row()?;
    let kernel = Linear {
        w: data.vector("coefficients", 0)?,
        b: data.f64("intercept", 0)?,
        pair: false,
    };
    let family = match ctx
        .meta
        .opt_str("family")?
        .unwrap_or_else(|| "gaussian".into())
        .to_ascii_lowercase()
        .as_str()
    {
        "gaussian" => GlmFamily::Gaussian,
        "binomial" => GlmFamily::Binomial,
        _ => GlmFamily::Positive,
    };
    let head = Head::Regressor {
        prediction: ctx.meta.col("predictionCol")?,
        link: RegressionLink::Glm(glm_link(ctx)?, family),
        link_prediction: ctx.meta.col("linkPredictionCol")?,
    };
    stage(ctx, Arc::new(kernel), head)
}
