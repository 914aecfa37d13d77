//! `VectorIndexerModel` (`ml/feature/VectorIndexer.scala`, Spark 2.x–4.x): data one row
//! `numFeatures: int, categoryMaps: map<int, map<double, int>>` (feature index → original value
//! → category index).
//!
//! Each categorical feature's value is replaced by its category index; other features pass
//! through. A dense vector has every categorical feature looked up; a sparse vector only its
//! stored entries (Spark relies on 0.0 always mapping to 0, so unstored zeros are never
//! checked). Values are matched as Scala's `Map[Double, Int]` matches them: `-0.0` finds
//! `0.0`, NaN finds nothing. A value missing from its map fails the row (`handleInvalid =
//! "error"`), drops it (`"skip"`), or becomes the map's size (`"keep"`). The output keeps the
//! input's dense or sparse layout; a vector whose size is not `numFeatures` is an error.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type};
use arrow_array::{Array, MapArray};
use scorewell_core::Stage;
use scorewell_core::vector::{VectorBuilder, VectorRef};
use scorewell_transform::HandleInvalid;

use super::{Ctx, Registry, handle_invalid};
use crate::error::Result;
use crate::model::{OnInvalid, Reject, VectorMap, VectorMapStage};

pub(crate) fn register(reg: &mut Registry) {
    reg.add(
        "org.apache.spark.ml.feature.VectorIndexerModel",
        vector_indexer,
    );
}

/// One categorical feature's value → category map.
#[derive(Debug)]
struct CategoryMap {
    /// Keyed by the bits of `value + 0.0` (so `-0.0` and `0.0` share a key); NaN keys are
    /// left out, as Scala's `==` never matches NaN.
    by_bits: HashMap<u64, f64>,
    /// The saved map's size, NaN keys included: the `keep` category.
    size: usize,
}

impl CategoryMap {
    fn get(&self, v: f64) -> Option<f64> {
        self.by_bits.get(&(v + 0.0).to_bits()).copied()
    }
}

#[derive(Debug)]
struct VectorIndexer {
    num_features: usize,
    /// Sorted by feature index.
    maps: Vec<(usize, CategoryMap)>,
    keep: bool,
}

impl VectorIndexer {
    fn lookup(&self, feature: usize, map: &CategoryMap, v: f64) -> Result<f64, Reject> {
        match map.get(v) {
            Some(c) => Ok(c),
            None if self.keep => Ok(map.size as f64),
            None => Err(Reject::Invalid(format!(
                "VectorIndexer encountered invalid value {v} on feature index {feature}"
            ))),
        }
    }
}

impl VectorMap for VectorIndexer {
    fn map(&self, x: VectorRef<'_>, out: &mut VectorBuilder) -> Result<(), Reject> {
        if x.len() != self.num_features {
            return Err(Reject::Error(format!(
                "VectorIndexerModel expected vector of length {} but found length {}",
                self.num_features,
                x.len()
            )));
        }
        match x {
            VectorRef::Dense(values) => {
                let mut v = values.to_vec();
                for (feature, map) in &self.maps {
                    v[*feature] = self.lookup(*feature, map, v[*feature])?;
                }
                out.push_dense(&v);
            }
            VectorRef::Sparse {
                size,
                indices,
                values,
            } => {
                let mut v = values.to_vec();
                let (mut c, mut k) = (0, 0);
                while c < self.maps.len() && k < indices.len() {
                    let (feature, map) = &self.maps[c];
                    let at = indices[k] as usize;
                    if *feature < at {
                        c += 1;
                    } else if *feature > at {
                        k += 1;
                    } else {
                        v[k] = self.lookup(*feature, map, v[k])?;
                        c += 1;
                        k += 1;
                    }
                }
                out.push_sparse(size, indices, &v);
            }
        }
        Ok(())
    }
}

/// Decode `map<int, map<double, int>>` (row 0).
fn category_maps(col: &dyn Array) -> std::result::Result<Vec<(usize, CategoryMap)>, String> {
    let outer: &MapArray = col.as_map_opt().ok_or_else(|| {
        format!(
            "expected map<int, map<double, int>>, got {}",
            col.data_type()
        )
    })?;
    if outer.is_empty() || outer.is_null(0) {
        return Err("`categoryMaps` is null".into());
    }
    let entries = outer.value(0);
    let features = entries
        .column(0)
        .as_primitive_opt::<Int32Type>()
        .ok_or("`categoryMaps` keys are not ints")?;
    let inner: &MapArray = entries
        .column(1)
        .as_map_opt()
        .ok_or("`categoryMaps` values are not maps")?;
    let mut maps = Vec::with_capacity(features.len());
    for i in 0..features.len() {
        if features.is_null(i) || inner.is_null(i) {
            return Err("`categoryMaps` holds a null entry".into());
        }
        let feature = usize::try_from(features.value(i))
            .map_err(|_| "negative feature index in `categoryMaps`")?;
        let m = inner.value(i);
        let values = m
            .column(0)
            .as_primitive_opt::<Float64Type>()
            .ok_or("category values are not doubles")?;
        let cats = m
            .column(1)
            .as_primitive_opt::<Int32Type>()
            .ok_or("category indices are not ints")?;
        if values.null_count() > 0 || cats.null_count() > 0 {
            return Err(format!("feature {feature}: null category"));
        }
        let by_bits = values
            .values()
            .iter()
            .zip(cats.values().iter())
            .filter(|(v, _)| !v.is_nan())
            .map(|(v, c)| ((v + 0.0).to_bits(), f64::from(*c)))
            .collect();
        maps.push((
            feature,
            CategoryMap {
                by_bits,
                size: values.len(),
            },
        ));
    }
    maps.sort_by_key(|(f, _)| *f);
    if maps.windows(2).any(|w| w[0].0 == w[1].0) {
        return Err("`categoryMaps` lists a feature twice".into());
    }
    Ok(maps)
}

fn vector_indexer(ctx: &mut Ctx<'_>) -> Result<Vec<Arc<dyn Stage>>> {
    let data = ctx.data()?;
    data.one_row()?;
    let num_features = usize::try_from(data.i64("numFeatures", 0)?)
        .map_err(|_| ctx.invalid("negative `numFeatures`"))?;
    let maps = category_maps(data.column("categoryMaps")?.as_ref())
        .map_err(|m| data.error(format!("column `categoryMaps`: {m}")))?;
    if let Some((f, _)) = maps.iter().find(|(f, _)| *f >= num_features) {
        return Err(ctx.invalid(format!(
            "categoryMaps names feature {f}, outside 0..{num_features}"
        )));
    }
    let handle = handle_invalid(ctx, "error")?;
    let input = ctx.meta.str("inputCol")?;
    let output = ctx.meta.str("outputCol")?;
    ctx.cols.vector(&output, Some(num_features));
    let map = VectorIndexer {
        num_features,
        maps,
        keep: handle == HandleInvalid::Keep,
    };
    let on_invalid = if handle == HandleInvalid::Skip {
        OnInvalid::Skip
    } else {
        OnInvalid::Error
    };
    Ok(vec![Arc::new(VectorMapStage::new(
        ctx.name(),
        input,
        output,
        Arc::new(map),
        on_invalid,
    ))])
}

#[cfg(test)]
mod tests {
    use super::*;
    use scorewell_core::vector::VectorColumn;

    fn indexer(keep: bool) -> VectorIndexer {
        let map = |pairs: &[(f64, f64)]| CategoryMap {
            by_bits: pairs
                .iter()
                .filter(|(v, _)| !v.is_nan())
                .map(|(v, c)| ((v + 0.0).to_bits(), *c))
                .collect(),
            size: pairs.len(),
        };
        VectorIndexer {
            num_features: 3,
            maps: vec![
                (0, map(&[(0.0, 0.0), (5.0, 1.0), (f64::NAN, 2.0)])),
                (2, map(&[(-1.0, 0.0), (1.0, 1.0)])),
            ],
            keep,
        }
    }

    fn run(m: &VectorIndexer, x: VectorRef<'_>) -> Result<Vec<f64>, Reject> {
        let mut b = VectorBuilder::default();
        m.map(x, &mut b)?;
        let col = b.finish();
        let v = VectorColumn::try_new(&col, "v").expect("vector");
        Ok(v.get(0).expect("row").to_dense())
    }

    #[test]
    fn dense_rows_look_up_every_categorical_feature() {
        let m = indexer(false);
        assert_eq!(
            run(&m, VectorRef::Dense(&[5.0, 7.5, 1.0])),
            Ok(vec![1.0, 7.5, 1.0])
        );
        // -0.0 finds 0.0, as Scala's `==` does; NaN finds nothing, even a saved NaN.
        assert_eq!(
            run(&m, VectorRef::Dense(&[-0.0, 0.0, -1.0])),
            Ok(vec![0.0, 0.0, 0.0])
        );
        assert!(matches!(
            run(&m, VectorRef::Dense(&[f64::NAN, 0.0, 1.0])),
            Err(Reject::Invalid(_))
        ));
        // Feature 2 has no zero category: a dense zero is invalid.
        assert!(matches!(
            run(&m, VectorRef::Dense(&[0.0, 0.0, 0.0])),
            Err(Reject::Invalid(_))
        ));
        assert_eq!(
            run(&indexer(true), VectorRef::Dense(&[9.0, 0.0, 3.0])),
            Ok(vec![3.0, 0.0, 2.0])
        );
    }

    #[test]
    fn sparse_rows_check_only_their_stored_entries() {
        let m = indexer(false);
        let sparse = |indices: &'static [i32], values: &'static [f64]| VectorRef::Sparse {
            size: 3,
            indices,
            values,
        };
        // The unstored zero of feature 2 is not checked (Spark assumes 0.0 maps to 0).
        assert_eq!(run(&m, sparse(&[0], &[5.0])), Ok(vec![1.0, 0.0, 0.0]));
        assert_eq!(
            run(&m, sparse(&[1, 2], &[4.0, -1.0])),
            Ok(vec![0.0, 4.0, 0.0])
        );
        assert!(matches!(
            run(&m, sparse(&[2], &[0.0])),
            Err(Reject::Invalid(_))
        ));
        assert!(matches!(
            run(&indexer(true), VectorRef::Dense(&[1.0])),
            Err(Reject::Error(m)) if m == "VectorIndexerModel expected vector of length 3 but found length 1"
        ));
    }
}
