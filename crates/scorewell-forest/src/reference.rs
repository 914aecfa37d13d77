//! A deliberately simple evaluator that walks the IR node by node. It is the executable
//! definition of what a [`Forest`] computes; the fast evaluator is tested against it.

use crate::float::Float;
use crate::ir::{
    Aggregation, CategoryCast, Comparison, Forest, InputRule, Missing, Node, SplitTest,
};

/// LightGBM's `kZeroThreshold` (a `float` literal widened to `double`).
pub const ZERO_THRESHOLD: f64 = 1e-35f32 as f64;

/// Prepare one raw value the way the forest's input rule says, in precision `T`.
#[inline]
pub(crate) fn prepare<T: Float>(rule: InputRule, x: T) -> T {
    match rule {
        InputRule::Plain => x,
        InputRule::SnapTinyToZero => {
            let v = x.to_f64();
            if v.abs() <= ZERO_THRESHOLD {
                T::ZERO
            } else {
                x
            }
        }
    }
}

/// Whether a category split puts `x` (not NaN) in its set.
#[inline]
pub(crate) fn in_category_set(bitset: &[u32], cast: CategoryCast, x: f64) -> bool {
    let c = match cast {
        CategoryCast::CheckThenTruncate => {
            if !(0.0..16_777_216.0).contains(&x) {
                return false;
            }
            x as u64
        }
        CategoryCast::TruncateThenCheck => {
            let t = x.trunc();
            if !(0.0..2_147_483_648.0).contains(&t) {
                return false;
            }
            t as u64
        }
        CategoryCast::Exact => {
            if !(0.0..2_147_483_648.0).contains(&x) || x.trunc() != x {
                return false;
            }
            x as u64
        }
    };
    let word = (c / 32) as usize;
    word < bitset.len() && (bitset[word] >> (c % 32)) & 1 == 1
}

/// Margins (one per group) of one row of raw feature values, computed in precision `T`.
///
/// For [`Aggregation::Mean`] this is the plain sum of trees, as LightGBM's `raw_score=True`
/// returns it; [`predict`] divides before the link.
pub fn margins<T: Float>(forest: &Forest, row: &[f64]) -> Vec<f64> {
    let acc = sum_trees::<T>(forest, row);
    acc.iter().map(|a| a.to_f64()).collect()
}

fn sum_trees<T: Float>(forest: &Forest, row: &[f64]) -> Vec<T> {
    let x: Vec<T> = row
        .iter()
        .map(|v| prepare(forest.input_rule, T::from_f64(*v)))
        .collect();
    let mut acc: Vec<T> = match forest.aggregation {
        Aggregation::Sum => forest.base_margin.iter().map(|b| T::from_f64(*b)).collect(),
        Aggregation::Mean { .. } => vec![T::ZERO; forest.num_groups],
    };
    if let Some(term) = &forest.linear {
        for (g, a) in acc.iter_mut().enumerate() {
            *a = *a + T::from_f64(term.bias[g]);
            for (f, v) in x.iter().enumerate() {
                if !v.is_nan() {
                    *a = *a + *v * T::from_f64(term.weights[f * forest.num_groups + g]);
                }
            }
        }
    }
    for (t, tree) in forest.trees.iter().enumerate() {
        let leaf = leaf_value::<T>(forest, tree.nodes(), &x);
        let g = forest.tree_group[t] as usize;
        acc[g] = acc[g] + leaf * T::from_f64(forest.tree_weight[t]);
    }
    acc
}

/// Outputs (after the link) of one row.
pub fn predict<T: Float>(forest: &Forest, row: &[f64]) -> Vec<f64> {
    let mut m = sum_trees::<T>(forest, row);
    if let Aggregation::Mean { divisor } = forest.aggregation {
        for (a, b) in m.iter_mut().zip(&forest.base_margin) {
            *a = *a / T::from_f64(divisor) + T::from_f64(*b);
        }
    }
    let mut out = vec![0.0; forest.num_outputs()];
    forest.link.apply(&m, &mut out);
    out
}

fn leaf_value<T: Float>(forest: &Forest, nodes: &[Node], x: &[T]) -> T {
    let mut i = 0usize;
    loop {
        match &nodes[i] {
            Node::Leaf { value, linear } => {
                if let Some(lin) = linear {
                    let mut out = lin.constant;
                    for (f, c) in lin.features.iter().zip(&lin.coefficients) {
                        let v = x[*f as usize].to_f64();
                        if v.is_nan() {
                            return T::from_f64(*value);
                        }
                        out += c * v;
                    }
                    return T::from_f64(out);
                }
                return T::from_f64(*value);
            }
            Node::Split {
                feature,
                test,
                default_left,
                left,
                right,
            } => {
                let v = x[*feature as usize];
                let go_left = match test {
                    SplitTest::Numeric { threshold, missing } => {
                        let mut v = v.to_f64();
                        let t = *threshold;
                        let cmp = |v: f64| {
                            // Compare in T, as the original library does.
                            let (a, b) = (T::from_f64(v), T::from_f64(t));
                            match forest.comparison {
                                Comparison::Less => a < b,
                                Comparison::LessEqual => a <= b,
                            }
                        };
                        match missing {
                            Missing::NanDefault => {
                                if v.is_nan() {
                                    *default_left
                                } else {
                                    cmp(v)
                                }
                            }
                            Missing::NanAsZero => {
                                if v.is_nan() {
                                    v = 0.0;
                                }
                                cmp(v)
                            }
                            Missing::ZeroAndNanDefault => {
                                if v.is_nan() || v.abs() <= ZERO_THRESHOLD {
                                    *default_left
                                } else {
                                    cmp(v)
                                }
                            }
                        }
                    }
                    SplitTest::Categorical {
                        bitset,
                        in_set_goes_left,
                        nan,
                        cast,
                    } => {
                        let v = v.to_f64();
                        if v.is_nan() {
                            nan.goes_left(*default_left)
                        } else {
                            in_category_set(bitset, *cast, v) == *in_set_goes_left
                        }
                    }
                };
                i = if go_left { *left } else { *right } as usize;
            }
        }
    }
}
