/// Which `hard_sigmoid` formula a model was trained with: Keras changed it in 3.0, and a Keras 2
/// file must keep the Keras 2 one to predict what it predicted when it was saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HardSigmoid {
    /// Keras 2 / tf.keras: `clip(0.2 x + 0.5, 0, 1)`.
    Keras2,
    /// Keras 3: `clip(x / 6 + 0.5, 0, 1)`.
    Keras3,
}

/// An element-wise (or, for softmax, last-axis) activation function.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activation {
    Linear,
    Relu,
    /// `min(max(x, 0), 6)`.
    Relu6,
    /// `x` if positive, else `alpha * x`.
    LeakyRelu {
        alpha: f32,
    },
    /// `x` if positive, else `alpha * (exp(x) - 1)`.
    Elu {
        alpha: f32,
    },
    Selu,
    /// Exact (erf) when `approximate` is false, the tanh form otherwise.
    Gelu {
        approximate: bool,
    },
    /// `x * sigmoid(x)` (Keras' `swish`).
    Silu,
    Sigmoid,
    HardSigmoid(HardSigmoid),
    Tanh,
    /// Over the last axis.
    Softmax,
    Softplus,
    Softsign,
    Exponential,
}

const SELU_ALPHA: f32 = 1.673_263_2;
const SELU_SCALE: f32 = 1.050_701;

fn sigmoid(x: f32) -> f32 {
    // Split on the sign so that exp never overflows.
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

fn softplus(x: f32) -> f32 {
    // log(1 + e^x) without overflow for large x.
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

impl Activation {
    /// Applies the activation in place to `data`, whose last axis has `width` elements.
    pub fn apply(self, data: &mut [f32], width: usize) {
        match self {
            Activation::Linear => {}
            Activation::Softmax => {
                if width == 0 {
                    return;
                }
                for row in data.chunks_exact_mut(width) {
                    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    let mut sum = 0.0;
                    for v in row.iter_mut() {
                        *v = (*v - max).exp();
                        sum += *v;
                    }
                    for v in row.iter_mut() {
                        *v /= sum;
                    }
                }
            }
            // Its own loop, so that it vectorises (the generic one below calls `scalar` per value).
            Activation::Relu => data.iter_mut().for_each(|v| *v = v.max(0.0)),
            _ => {
                for v in data.iter_mut() {
                    *v = self.scalar(*v);
                }
            }
        }
    }

    /// The element-wise function; softmax (not element-wise) maps to the identity here.
    pub fn scalar(self, x: f32) -> f32 {
        match self {
            Activation::Linear | Activation::Softmax => x,
            Activation::Relu => x.max(0.0),
            Activation::Relu6 => x.clamp(0.0, 6.0),
            Activation::LeakyRelu { alpha } => {
                if x >= 0.0 {
                    x
                } else {
                    alpha * x
                }
            }
            Activation::Elu { alpha } => {
                if x > 0.0 {
                    x
                } else {
                    alpha * x.exp_m1()
                }
            }
            Activation::Selu => {
                if x > 0.0 {
                    SELU_SCALE * x
                } else {
                    SELU_SCALE * SELU_ALPHA * x.exp_m1()
                }
            }
            Activation::Gelu { approximate: false } => {
                0.5 * x * (1.0 + libm::erff(x * std::f32::consts::FRAC_1_SQRT_2))
            }
            Activation::Gelu { approximate: true } => {
                const C: f32 = 0.797_884_6; // sqrt(2 / pi)
                0.5 * x * (1.0 + (C * (x + 0.044_715 * x * x * x)).tanh())
            }
            Activation::Silu => x * sigmoid(x),
            Activation::Sigmoid => sigmoid(x),
            Activation::HardSigmoid(HardSigmoid::Keras2) => (0.2 * x + 0.5).clamp(0.0, 1.0),
            Activation::HardSigmoid(HardSigmoid::Keras3) => (x / 6.0 + 0.5).clamp(0.0, 1.0),
            Activation::Tanh => x.tanh(),
            Activation::Softplus => softplus(x),
            Activation::Softsign => x / (1.0 + x.abs()),
            Activation::Exponential => x.exp(),
        }
    }
}
