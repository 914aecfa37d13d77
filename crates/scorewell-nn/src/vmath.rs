//! Sigmoid and tanh written so that a loop over a slice vectorises: a recurrent layer spends most
//! of a single-row call in its gate activations, and the scalar `expf`/`tanhf` calls of the C
//! library do not vectorise. Accuracy is a few ulp of `exp` (Cephes' `expf` polynomial), far
//! inside the 1e-5 conformance tolerance; NaN stays NaN.

use crate::activation::Activation;

const LOG2E: f32 = std::f32::consts::LOG2_E;
// ln 2 split in two so that `x - n ln2` keeps its low bits (Cephes' C1, C2).
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
// e^88.37 is just under f32::MAX and e^-87.33 just over the smallest normal, so 2^n below
// stays a normal number.
const EXP_HI: f32 = 88.37;
const EXP_LO: f32 = -87.33;
// Adding and subtracting 1.5 * 2^23 rounds to the nearest integer without a libm call.
const ROUND: f32 = 12_582_912.0;

/// `e^x`, clamped to the normal range (NaN passes through).
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    // clamp (unlike min/max) keeps NaN.
    let x = x.clamp(EXP_LO, EXP_HI);
    let t = x * LOG2E + ROUND;
    let n = t - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let y = p * r * r + r + 1.0;
    // t's low mantissa bits hold n (ROUND's ulp is 1), so 2^n is built from bits alone: a
    // float-to-int cast does not vectorise (Rust's saturating `as`). n is in -126..=127 after
    // the clamp, so the biased exponent is a valid normal one.
    let biased = t.to_bits().wrapping_sub(ROUND.to_bits()).wrapping_add(127);
    let scale = f32::from_bits(biased << 23);
    y * scale
}

#[inline(always)]
pub(crate) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

#[inline(always)]
pub(crate) fn tanh(x: f32) -> f32 {
    // tanh|x| = (1 - e^-2|x|) / (1 + e^-2|x|): e^-2|x| <= 1 never overflows.
    let t = exp(-2.0 * x.abs());
    let y = (1.0 - t) / (1.0 + t);
    if x < 0.0 { -y } else { y }
}

/// Applies `a` in place to `data`, whose last axis is `width` wide; sigmoid and tanh take the
/// vectorised forms, everything else [`Activation::apply`].
#[inline(always)]
pub(crate) fn apply(a: Activation, data: &mut [f32], width: usize) {
    match a {
        Activation::Sigmoid => data.iter_mut().for_each(|v| *v = sigmoid(*v)),
        Activation::Tanh => data.iter_mut().for_each(|v| *v = tanh(*v)),
        other => other.apply(data, width),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_to_the_library_functions() {
        let mut worst = [0.0f32; 3];
        let mut x = -40.0f32;
        while x < 40.0 {
            let e = (exp(x) - x.exp()).abs() / x.exp();
            let s = (sigmoid(x) - 1.0 / (1.0 + (-x).exp())).abs();
            let t = (tanh(x) - x.tanh()).abs();
            for (w, v) in worst.iter_mut().zip([e, s, t]) {
                *w = w.max(v);
            }
            x += 0.0137;
        }
        assert!(worst[0] < 1e-6, "exp relative error {}", worst[0]);
        assert!(worst[1] < 1e-7, "sigmoid error {}", worst[1]);
        assert!(worst[2] < 2e-7, "tanh error {}", worst[2]);
        assert!(sigmoid(f32::NAN).is_nan() && tanh(f32::NAN).is_nan());
        assert_eq!(sigmoid(-1000.0), 1.0 / (1.0 + EXP_HI.exp()));
        assert_eq!(tanh(1000.0), 1.0);
        assert_eq!(tanh(-1000.0), -1.0);
    }
}
