//! Tree models scored by the shared forest evaluator, reading a vector column.

use scorewell_core::ScoreError;
use scorewell_core::vector::{VectorColumn, VectorRef};
use scorewell_forest::{FeatureSource, Float, Forest, LeafTables, Predictor};

use super::Kernel;

/// A compiled forest whose margins are the raw values (or `[-m, m]` for GBT classifiers).
#[derive(Debug)]
pub(crate) struct ForestKernel {
    predictor: Predictor,
    num_features: usize,
    /// GBT classification: one margin `m` becomes `[-m, m]`.
    negate_pair: bool,
    /// Classifiers: each tree is its own group whose "margin" is the reached leaf's number;
    /// the raw values are then summed from these tables in tree order, as Spark sums votes.
    leaves: Option<LeafTables>,
}

impl ForestKernel {
    pub(crate) fn new(forest: &Forest, negate_pair: bool) -> Self {
        Self {
            predictor: Predictor::compile(forest),
            num_features: forest.num_features(),
            negate_pair,
            leaves: None,
        }
    }

    /// `forest` has one tree per group with leaf numbers as leaf values; `table` maps them
    /// to `k` raw values. One walk per tree instead of one per tree and class.
    pub(crate) fn with_leaf_table(forest: &Forest, table: LeafTables) -> Self {
        Self {
            predictor: Predictor::compile(forest),
            num_features: forest.num_features(),
            negate_pair: false,
            leaves: Some(table),
        }
    }
}

impl Kernel for ForestKernel {
    fn engine(&self) -> Option<scorewell_forest::EngineInfo> {
        Some(self.predictor.engine())
    }

    fn width(&self) -> usize {
        match &self.leaves {
            Some(t) => t.width,
            None if self.negate_pair => 2,
            None => self.predictor.num_outputs(true),
        }
    }

    fn num_features(&self) -> Option<usize> {
        Some(self.num_features)
    }

    fn compute(&self, x: &VectorColumn, out: &mut [f64]) -> Result<(), ScoreError> {
        let margins = self.predictor.predict(
            &VectorRows {
                column: x,
                width: self.num_features,
            },
            true,
        );
        if let Some(table) = &self.leaves {
            table.accumulate(&margins, out);
        } else if self.negate_pair {
            for (o, m) in out.chunks_exact_mut(2).zip(margins) {
                o[0] = -m;
                o[1] = m;
            }
        } else {
            out.copy_from_slice(&margins[..out.len()]);
        }
        Ok(())
    }
}

/// A vector column as evaluator rows: sparse entries not stored are 0, null rows are NaN.
struct VectorRows<'a> {
    column: &'a VectorColumn,
    width: usize,
}

impl FeatureSource for VectorRows<'_> {
    fn num_rows(&self) -> usize {
        self.column.len()
    }

    fn fill<T: Float>(&self, start: usize, rows: usize, stride: usize, out: &mut [T]) {
        let n = self.width.min(stride);
        for r in 0..rows {
            let dst = &mut out[r * stride..][..n];
            match self.column.get(start + r) {
                None => dst.iter_mut().for_each(|d| *d = T::from_f64(f64::NAN)),
                Some(VectorRef::Dense(v)) => {
                    for (d, s) in dst.iter_mut().zip(v.iter().chain(std::iter::repeat(&0.0))) {
                        *d = T::from_f64(*s);
                    }
                }
                Some(VectorRef::Sparse {
                    indices, values, ..
                }) => {
                    dst.iter_mut().for_each(|d| *d = T::from_f64(0.0));
                    for (i, v) in indices.iter().zip(values) {
                        if let Some(d) = dst.get_mut(*i as usize) {
                            *d = T::from_f64(*v);
                        }
                    }
                }
            }
        }
    }
}
