//! Where the evaluator reads feature values from.

use crate::float::Float;

/// A table of `num_rows()` rows the evaluator can copy blocks of rows out of.
///
/// The evaluator asks for small blocks (a few hundred rows) from several threads at once, so an
/// implementation over columnar data (Arrow) never materialises the whole matrix.
pub trait FeatureSource: Sync {
    /// Number of rows.
    fn num_rows(&self) -> usize;

    /// Write rows `start .. start + rows` into `out`, row-major with `stride` values per row:
    /// feature `f` of row `r` goes to `out[r * stride + f]`. A missing value (null) is written as
    /// NaN. Values are rounded to `T` the way C's `static_cast` does (to nearest).
    /// `out` has exactly `rows * stride` elements; positions past the last feature are padding.
    fn fill<T: Float>(&self, start: usize, rows: usize, stride: usize, out: &mut [T]);

    /// The same rows column-major: feature `f < width` of row `r` goes to
    /// `out[f * pitch + r]` (`pitch >= rows`, `out` has `width * pitch` elements); features
    /// from `width` on are not written. The predicate-mask evaluator reads rows as columns, so
    /// a source over columnar data writes them without going through rows. The default
    /// copies a row-major block ([`Self::fill`]) into columns.
    fn fill_columns<T: Float>(
        &self,
        start: usize,
        rows: usize,
        width: usize,
        pitch: usize,
        out: &mut [T],
    ) {
        // The row-major block is as wide as the evaluator's own (2 width + 1), so a source
        // fills it exactly as it fills the evaluator's.
        let stride = 2 * width + 1;
        let mut x = vec![T::NAN; rows * stride];
        self.fill(start, rows, stride, &mut x);
        for (r, row) in x.chunks_exact(stride).enumerate() {
            for (f, &v) in row[..width].iter().enumerate() {
                out[f * pitch + r] = v;
            }
        }
    }
}

/// A dense row-major `f64` matrix, for tests, benchmarks and callers that already hold one.
#[derive(Debug, Clone, Copy)]
pub struct DenseRows<'a> {
    data: &'a [f64],
    num_features: usize,
}

impl<'a> DenseRows<'a> {
    /// Wrap `data` (row-major). Panics if `data.len()` is not a multiple of `num_features`,
    /// which is a programming error, not an input error.
    pub fn new(data: &'a [f64], num_features: usize) -> Self {
        assert!(
            num_features > 0 && data.len().is_multiple_of(num_features),
            "DenseRows: {} values is not a whole number of rows of {num_features}",
            data.len()
        );
        Self { data, num_features }
    }
}

impl FeatureSource for DenseRows<'_> {
    fn num_rows(&self) -> usize {
        self.data.len() / self.num_features
    }

    fn fill<T: Float>(&self, start: usize, rows: usize, stride: usize, out: &mut [T]) {
        let nf = self.num_features.min(stride);
        for r in 0..rows {
            let src = &self.data[(start + r) * self.num_features..][..nf];
            let dst = &mut out[r * stride..][..nf];
            for (d, s) in dst.iter_mut().zip(src) {
                *d = T::from_f64(*s);
            }
        }
    }
}
