//! `PolynomialExpansion` (`ml/feature/PolynomialExpansion.scala`): params only (`inputCol`,
//! `outputCol`, `degree` default 2). A vector of `n` features becomes its `C(n + d, d) - 1`
//! monomials of degree 1 to `d`, in Spark's order: `f([a, b, c], d) = f([a, b], d) ++
//! f([a, b], d - 1)·c ++ … ++ [c^d]`, each power of the last feature built by repeated
//! multiplication. A dense input gives a dense output and a sparse input a sparse one; a
//! monomial whose running product is 0 is not expanded further (stays 0 or unstored), as in
//! Spark.

use std::sync::Arc;

use scorewell_core::Stage;
use scorewell_core::vector::{VectorBuilder, VectorRef};

use super::{Ctx, Registry};
use crate::error::Result;
use crate::model::{OnInvalid, Reject, VectorMap, VectorMapStage};

pub(crate) fn register(reg: &mut Registry) {
    reg.add(
        "org.apache.spark.ml.feature.PolynomialExpansion",
        polynomial_expansion,
    );
}

/// `C(n + d, d)`, or `None` past `i32::MAX` (Spark's `require`).
fn poly_size(n: usize, d: usize) -> Option<usize> {
    // After step i, c = C(n + i, i), which only grows with i.
    let mut c: u128 = 1;
    for i in 1..=d as u128 {
        c = c.checked_mul(n as u128 + i)? / i;
        if c > i32::MAX as u128 {
            return None;
        }
    }
    Some(c as usize)
}

#[derive(Debug)]
struct Expand {
    degree: usize,
}

/// Sizes are checked before expanding, so `poly_size` is known to fit below.
fn size(n: usize, d: usize) -> usize {
    poly_size(n, d).unwrap_or(usize::MAX)
}

/// Dense: write the monomials of `values[..=last]` times `multiplier` from `at` (-1: skip
/// the leading 1); return where the next block starts.
fn expand_dense(
    values: &[f64],
    last: isize,
    degree: usize,
    multiplier: f64,
    out: &mut [f64],
    at: isize,
) -> isize {
    if multiplier == 0.0 {
    } else if degree == 0 || last < 0 {
        if at >= 0 {
            out[at as usize] = multiplier;
        }
    } else {
        let v = values[last as usize];
        let mut alpha = multiplier;
        let mut start = at;
        let mut i = 0;
        while i <= degree && alpha != 0.0 {
            start = expand_dense(values, last - 1, degree - i, alpha, out, start);
            i += 1;
            alpha *= v;
        }
    }
    at + size((last + 1) as usize, degree) as isize
}

/// Sparse: the same over stored entries; `last_feature` is the highest feature index the
/// block covers.
#[allow(clippy::too_many_arguments)]
fn expand_sparse(
    indices: &[i32],
    values: &[f64],
    last: isize,
    last_feature: isize,
    degree: usize,
    multiplier: f64,
    out: &mut Vec<(i32, f64)>,
    at: isize,
) -> isize {
    if multiplier == 0.0 {
    } else if degree == 0 || last < 0 {
        if at >= 0 {
            out.push((at as i32, multiplier));
        }
    } else {
        let v = values[last as usize];
        let below = indices[last as usize] as isize - 1;
        let mut alpha = multiplier;
        let mut start = at;
        let mut i = 0;
        while i <= degree && alpha != 0.0 {
            start = expand_sparse(
                indices,
                values,
                last - 1,
                below,
                degree - i,
                alpha,
                out,
                start,
            );
            i += 1;
            alpha *= v;
        }
    }
    at + size((last_feature + 1) as usize, degree) as isize
}

impl VectorMap for Expand {
    fn map(&self, x: VectorRef<'_>, out: &mut VectorBuilder) -> Result<(), Reject> {
        let n = x.len();
        let Some(total) = poly_size(n, self.degree) else {
            return Err(Reject::Error(format!(
                "a degree-{} expansion of {n} features has more than {} entries",
                self.degree,
                i32::MAX
            )));
        };
        match x {
            VectorRef::Dense(values) => {
                let mut poly = vec![0.0; total - 1];
                expand_dense(values, n as isize - 1, self.degree, 1.0, &mut poly, -1);
                out.push_dense(&poly);
            }
            VectorRef::Sparse {
                indices, values, ..
            } => {
                let mut poly = Vec::new();
                expand_sparse(
                    indices,
                    values,
                    values.len() as isize - 1,
                    n as isize - 1,
                    self.degree,
                    1.0,
                    &mut poly,
                    -1,
                );
                poly.sort_by_key(|(i, _)| *i);
                let (ix, vs): (Vec<i32>, Vec<f64>) = poly.into_iter().unzip();
                out.push_sparse(total - 1, &ix, &vs);
            }
        }
        Ok(())
    }
}

fn polynomial_expansion(ctx: &mut Ctx<'_>) -> Result<Vec<Arc<dyn Stage>>> {
    let degree = ctx.meta.opt_i64("degree")?.unwrap_or(2);
    let degree = usize::try_from(degree)
        .ok()
        .filter(|d| *d >= 1)
        .ok_or_else(|| ctx.invalid(format!("param `degree` is {degree}, expected >= 1")))?;
    let input = ctx.meta.str("inputCol")?;
    let output = ctx.meta.str("outputCol")?;
    let size = ctx
        .cols
        .vector_size(&input)
        .and_then(|n| poly_size(n, degree))
        .map(|s| s - 1);
    ctx.cols.vector(&output, size);
    Ok(vec![Arc::new(VectorMapStage::new(
        ctx.name(),
        input,
        output,
        Arc::new(Expand { degree }),
        OnInvalid::Error,
    ))])
}

#[cfg(test)]
mod tests {
    use super::*;
    use scorewell_core::vector::VectorColumn;

    fn run(degree: usize, x: VectorRef<'_>) -> Vec<f64> {
        let mut b = VectorBuilder::default();
        Expand { degree }.map(x, &mut b).expect("expands");
        let col = b.finish();
        let v = VectorColumn::try_new(&col, "v").expect("vector");
        v.get(0).expect("row").to_dense()
    }

    #[test]
    fn expands_in_spark_order_dense_and_sparse() {
        // Spark's documented example: (x, y) at degree 2 is (x, x², y, xy, y²).
        assert_eq!(
            run(2, VectorRef::Dense(&[2.0, 3.0])),
            vec![2.0, 4.0, 3.0, 6.0, 9.0]
        );
        let (a, b, c) = (2.0, -1.0, 3.0);
        let want = vec![
            a,
            a * a,
            a * a * a,
            b,
            a * b,
            a * a * b,
            b * b,
            a * b * b,
            b * b * b,
            c,
            a * c,
            a * a * c,
            b * c,
            a * b * c,
            b * b * c,
            c * c,
            a * c * c,
            b * c * c,
            c * c * c,
        ];
        assert_eq!(run(3, VectorRef::Dense(&[a, b, c])), want);
        let sparse = VectorRef::Sparse {
            size: 3,
            indices: &[0, 2],
            values: &[a, c],
        };
        let dense_zero_b = run(3, VectorRef::Dense(&[a, 0.0, c]));
        assert_eq!(run(3, sparse), dense_zero_b);
        assert_eq!(poly_size(3, 3), Some(20));
        assert_eq!(poly_size(100_000, 10), None);
    }
}
