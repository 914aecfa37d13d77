//! KMeans (`ml/clustering/KMeans.scala`, `mllib/clustering/DistanceMeasure.scala`): data rows
//! `(clusterIdx, clusterCenter)` in any order; the prediction is the closest center's index
//! (first on ties), by squared Euclidean distance or by cosine distance
//! `1 - c·x / |c| / |x|` divided in that order, as `CosineDistanceMeasure.distance(center,
//! point)` does; Spark refuses a zero-length point under cosine distance, and so does this.

use std::sync::Arc;

use scorewell_core::Stage;
use scorewell_core::vector::VectorRef;

use super::linear::stage;
use super::{Ctx, Registry};
use crate::error::Result;
use crate::model::{Head, RowKernel};

pub(crate) fn register(reg: &mut Registry) {
    reg.add("org.apache.spark.ml.clustering.KMeansModel", kmeans);
}

#[derive(Debug)]
struct KMeans {
    centers: Vec<Vec<f64>>,
    norms: Vec<f64>,
    cosine: bool,
}

impl RowKernel for KMeans {
    fn width(&self) -> usize {
        1
    }
    fn num_features(&self) -> usize {
        self.centers.first().map_or(0, Vec::len)
    }
    fn row(&self, x: VectorRef<'_>, out: &mut [f64]) {
        let x = x.to_dense();
        let norm = x.iter().map(|v| v * v).sum::<f64>().sqrt();
        let mut best = 0usize;
        let mut best_d = f64::INFINITY;
        for (k, c) in self.centers.iter().enumerate() {
            let d = if self.cosine {
                let dot: f64 = c.iter().zip(&x).map(|(a, b)| a * b).sum();
                1.0 - dot / self.norms[k] / norm
            } else {
                x.iter().zip(c).map(|(a, b)| (a - b) * (a - b)).sum()
            };
            if d < best_d {
                best_d = d;
                best = k;
            }
        }
        out[0] = best as f64;
    }
    fn check_row(&self, x: VectorRef<'_>) -> Result<(), String> {
        let mut sq = 0.0;
        x.for_each_active(|_, v| sq += v * v);
        // Spark asserts `norm > 0`, which NaN fails too.
        if self.cosine && (sq == 0.0 || sq.is_nan()) {
            return Err("cosine distance is not defined for zero-length vectors".into());
        }
        Ok(())
    }
}

fn kmeans(ctx: &mut Ctx<'_>) -> Result<Vec<Arc<dyn Stage>>> {
    let data = ctx.data()?;
    let mut rows = Vec::with_capacity(data.num_rows());
    for r in 0..data.num_rows() {
        rows.push((data.i64("clusterIdx", r)?, data.vector("clusterCenter", r)?));
    }
    rows.sort_by_key(|(i, _)| *i);
    if rows.is_empty() || rows.iter().enumerate().any(|(k, (i, _))| *i != k as i64) {
        return Err(ctx.invalid("cluster indices are not 0..k"));
    }
    let centers: Vec<Vec<f64>> = rows.into_iter().map(|(_, c)| c).collect();
    if centers.iter().any(|c| c.len() != centers[0].len()) {
        return Err(ctx.invalid("cluster centers have different sizes"));
    }
    let cosine = match ctx.meta.opt_str("distanceMeasure")?.as_deref() {
        None | Some("euclidean") => false,
        Some("cosine") => true,
        Some(other) => {
            return Err(ctx.invalid(format!("unsupported KMeans distanceMeasure `{other}`")));
        }
    };
    let norms = centers
        .iter()
        .map(|c| c.iter().map(|v| v * v).sum::<f64>().sqrt())
        .collect();
    let head = Head::Cluster {
        prediction: ctx.meta.col("predictionCol")?,
    };
    stage(
        ctx,
        Arc::new(KMeans {
            centers,
            norms,
            cosine,
        }),
        head,
    )
}
