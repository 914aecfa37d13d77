//! Output transforms ("links") from margins to predictions.

use crate::float::Float;

/// The function that turns a row's margins into the values `predict()` returns.
///
/// Each variant is computed in the forest's precision with the original library's formula
/// (see [`Float::logistic`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Link {
    /// The margin itself (regression, ranking, raw scores).
    Identity,
    /// `1 / (1 + e^(-scale·x))` per group (binary logistic; LightGBM `sigmoid:α`; one-vs-all).
    Logistic {
        /// α, 1.0 for a plain sigmoid.
        scale: f64,
    },
    /// Softmax over the groups (multiclass probabilities).
    Softmax,
    /// Index of the largest margin, first one on ties (XGBoost `multi:softmax`); one output.
    ArgMax,
    /// `e^x` (Poisson, gamma, Tweedie, Cox).
    Exp,
    /// `sign(x)·x²` (LightGBM regression trained with `reg_sqrt`).
    SignedSquare,
    /// `ln(1 + e^x)` (LightGBM `cross_entropy_lambda`).
    Softplus,
    /// 1 when the margin is > 0, else 0 (XGBoost `binary:hinge`).
    Step,
}

impl Link {
    /// Number of outputs per row for `groups` margins.
    pub fn num_outputs(self, groups: usize) -> usize {
        match self {
            Link::ArgMax => 1,
            _ => groups,
        }
    }

    /// A short name, for `inspect` and error messages.
    pub fn name(self) -> &'static str {
        match self {
            Link::Identity => "identity",
            Link::Logistic { .. } => "logistic",
            Link::Softmax => "softmax",
            Link::ArgMax => "argmax",
            Link::Exp => "exp",
            Link::SignedSquare => "signed_square",
            Link::Softplus => "softplus",
            Link::Step => "step",
        }
    }

    /// Apply to one row: `margins.len()` groups in, [`Link::num_outputs`] values out.
    #[inline]
    pub fn apply<T: Float>(self, margins: &[T], out: &mut [f64]) {
        match self {
            Link::Identity => {
                for (o, m) in out.iter_mut().zip(margins) {
                    *o = m.to_f64();
                }
            }
            Link::Logistic { scale } => {
                let scale = T::from_f64(scale);
                for (o, m) in out.iter_mut().zip(margins) {
                    *o = m.logistic(scale).to_f64();
                }
            }
            Link::Exp => {
                for (o, m) in out.iter_mut().zip(margins) {
                    *o = m.exp().to_f64();
                }
            }
            Link::SignedSquare => {
                for (o, m) in out.iter_mut().zip(margins) {
                    let x = m.to_f64();
                    let sign = if x > 0.0 {
                        1.0
                    } else if x < 0.0 {
                        -1.0
                    } else {
                        0.0
                    };
                    *o = T::from_f64(sign * x * x).to_f64();
                }
            }
            Link::Softplus => {
                for (o, m) in out.iter_mut().zip(margins) {
                    *o = m.exp().ln_1p().to_f64();
                }
            }
            Link::Step => {
                for (o, m) in out.iter_mut().zip(margins) {
                    *o = if *m > T::ZERO { 1.0 } else { 0.0 };
                }
            }
            Link::Softmax => {
                let mut max = margins[0];
                for &m in &margins[1..] {
                    if m > max {
                        max = m;
                    }
                }
                let mut sum = T::ZERO;
                for (o, &m) in out.iter_mut().zip(margins) {
                    let e = (m - max).exp();
                    sum = sum + e;
                    *o = e.to_f64();
                }
                for o in out.iter_mut() {
                    *o = (T::from_f64(*o) / sum).to_f64();
                }
            }
            Link::ArgMax => {
                let mut best = 0usize;
                for (i, &m) in margins.iter().enumerate() {
                    if m > margins[best] {
                        best = i;
                    }
                }
                out[0] = best as f64;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_sums_to_one_and_argmax_takes_first_tie() {
        let mut out = [0.0; 3];
        Link::Softmax.apply(&[1.0f64, 2.0, 3.0], &mut out);
        assert!((out.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(out[2] > out[1] && out[1] > out[0]);
        let mut one = [0.0];
        Link::ArgMax.apply(&[2.0f32, 5.0, 5.0], &mut one);
        assert_eq!(one[0], 1.0);
    }

    #[test]
    fn logistic_matches_closed_form_and_stays_finite() {
        let mut out = [0.0];
        Link::Logistic { scale: 0.5 }.apply(&[2.0f64], &mut out);
        assert!((out[0] - 1.0 / (1.0 + (-1.0f64).exp())).abs() < 1e-15);
        Link::Logistic { scale: 1.0 }.apply(&[-1000.0f32], &mut out);
        assert!(out[0].is_finite() && out[0] >= 0.0);
    }

    #[test]
    fn signed_square_keeps_sign() {
        let mut out = [0.0; 3];
        Link::SignedSquare.apply(&[-2.0f64, 0.0, 3.0], &mut out);
        assert_eq!(out, [-4.0, 0.0, 9.0]);
    }
}
