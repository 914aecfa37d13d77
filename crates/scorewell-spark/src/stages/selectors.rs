//! Feature selectors (`ml/feature/Selector.scala`, `ChiSqSelector.scala`,
//! `UnivariateFeatureSelector.scala`, `VarianceThresholdSelector.scala`, Spark 3.1+; the Spark
//! 2.x/3.0 `ChiSqSelectorModel` has the same data and transform): data one row
//! `selectedFeatures: array<int>` (strictly increasing), params `featuresCol`, `outputCol`.
//!
//! `SelectorModel.transform` keeps the selected entries: a dense vector becomes the dense
//! vector of `x[selected[j]]` (an error if the vector is too short), a sparse vector the
//! sparse vector of size `selected.len()` holding its stored entries at selected indices,
//! renumbered (no size check, as in Spark).

use std::sync::Arc;

use scorewell_core::Stage;
use scorewell_core::vector::{VectorBuilder, VectorRef};

use super::{Ctx, Registry};
use crate::error::Result;
use crate::model::{OnInvalid, Reject, VectorMap, VectorMapStage};

pub(crate) fn register(reg: &mut Registry) {
    for class in [
        "org.apache.spark.ml.feature.ChiSqSelectorModel",
        "org.apache.spark.ml.feature.UnivariateFeatureSelectorModel",
        "org.apache.spark.ml.feature.VarianceThresholdSelectorModel",
    ] {
        reg.add(class, selector);
    }
}

#[derive(Debug)]
struct Select {
    /// Strictly increasing.
    selected: Vec<usize>,
}

impl VectorMap for Select {
    fn map(&self, x: VectorRef<'_>, out: &mut VectorBuilder) -> Result<(), Reject> {
        match x {
            VectorRef::Dense(values) => {
                let mut y = Vec::with_capacity(self.selected.len());
                for i in &self.selected {
                    y.push(*values.get(*i).ok_or_else(|| {
                        Reject::Error(format!(
                            "the selector picks feature {i}, but the vector has size {}",
                            values.len()
                        ))
                    })?);
                }
                out.push_dense(&y);
            }
            VectorRef::Sparse {
                indices, values, ..
            } => {
                let (mut ix, mut vs) = (Vec::new(), Vec::new());
                let (mut i, mut j) = (0, 0);
                while i < indices.len() && j < self.selected.len() {
                    let (at, want) = (indices[i] as usize, self.selected[j]);
                    if at == want {
                        ix.push(j as i32);
                        vs.push(values[i]);
                        i += 1;
                        j += 1;
                    } else if at > want {
                        j += 1;
                    } else {
                        i += 1;
                    }
                }
                out.push_sparse(self.selected.len(), &ix, &vs);
            }
        }
        Ok(())
    }
}

fn selector(ctx: &mut Ctx<'_>) -> Result<Vec<Arc<dyn Stage>>> {
    let data = ctx.data()?;
    data.one_row()?;
    let selected: Vec<usize> = data
        .integers("selectedFeatures", 0)?
        .into_iter()
        .map(|i| usize::try_from(i).ok().filter(|i| *i < i32::MAX as usize))
        .collect::<Option<_>>()
        .ok_or_else(|| ctx.invalid("`selectedFeatures` holds a negative index"))?;
    if selected.windows(2).any(|w| w[0] >= w[1]) {
        return Err(ctx.invalid("`selectedFeatures` is not strictly increasing"));
    }
    let input = ctx.meta.str("featuresCol")?;
    let output = ctx.meta.str("outputCol")?;
    ctx.cols.vector(&output, Some(selected.len()));
    Ok(vec![Arc::new(VectorMapStage::new(
        ctx.name(),
        input,
        output,
        Arc::new(Select { selected }),
        OnInvalid::Error,
    ))])
}

#[cfg(test)]
mod tests {
    use super::*;
    use scorewell_core::vector::VectorColumn;

    fn run(x: VectorRef<'_>) -> Result<(usize, Vec<i32>, Vec<f64>), Reject> {
        let mut b = VectorBuilder::default();
        Select {
            selected: vec![1, 3, 4],
        }
        .map(x, &mut b)?;
        let col = b.finish();
        let v = VectorColumn::try_new(&col, "v").expect("vector");
        let row = v.get(0).expect("row");
        let (mut ix, mut vs) = (Vec::new(), Vec::new());
        row.for_each_active(|i, x| {
            ix.push(i as i32);
            vs.push(x);
        });
        Ok((row.len(), ix, vs))
    }

    #[test]
    fn keeps_selected_entries_of_dense_and_sparse_vectors() {
        assert_eq!(
            run(VectorRef::Dense(&[0.0, 1.0, 2.0, 3.0, 4.0, 5.0])),
            Ok((3, vec![0, 1, 2], vec![1.0, 3.0, 4.0]))
        );
        // Sparse: stored entries at selected indices, renumbered; no size check.
        assert_eq!(
            run(VectorRef::Sparse {
                size: 9,
                indices: &[0, 3, 4, 8],
                values: &[9.0, 0.0, -4.0, 8.0],
            }),
            Ok((3, vec![1, 2], vec![0.0, -4.0]))
        );
        assert_eq!(
            run(VectorRef::Dense(&[0.0, 1.0, 2.0])),
            Err(Reject::Error(
                "the selector picks feature 3, but the vector has size 3".into()
            ))
        );
    }
}
