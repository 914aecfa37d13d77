//! MultilayerPerceptronClassifier (`ml/classification/MultilayerPerceptronClassifier.scala`,
//! `ml/ann/Layer.scala`): data `weights: vector` (plus `layers: array<int>` before Spark 3;
//! later the `layers` param). Each affine layer takes
//! `out × in` weights (column-major) then `out` biases; hidden layers apply the sigmoid, the
//! last affine output is `rawPrediction` and its softmax is `probability`.

use std::sync::Arc;

use scorewell_core::Stage;
use scorewell_core::vector::VectorRef;

use super::linear::{class_thresholds, classifier_head, predicts_from_features, stage};
use super::{Ctx, Registry};
use crate::error::Result;
use crate::model::{Decide, ProbRule, RowKernel};

pub(crate) fn register(reg: &mut Registry) {
    reg.add(
        "org.apache.spark.ml.classification.MultilayerPerceptronClassificationModel",
        mlp,
    );
}

#[derive(Debug)]
struct Mlp {
    layers: Vec<usize>,
    /// Per affine layer: the offset of its weights in `weights`.
    offsets: Vec<usize>,
    weights: Vec<f64>,
}

impl RowKernel for Mlp {
    fn width(&self) -> usize {
        self.layers.last().copied().unwrap_or(0)
    }
    fn num_features(&self) -> usize {
        self.layers[0]
    }
    fn row(&self, x: VectorRef<'_>, out: &mut [f64]) {
        let mut input = x.to_dense();
        let last = self.layers.len() - 2;
        for (l, off) in self.offsets.iter().enumerate() {
            let (n_in, n_out) = (self.layers[l], self.layers[l + 1]);
            let w = &self.weights[*off..off + n_in * n_out];
            let b = &self.weights[off + n_in * n_out..off + n_in * n_out + n_out];
            let mut next: Vec<f64> = b.to_vec();
            for (i, xi) in input.iter().enumerate() {
                let col = &w[i * n_out..(i + 1) * n_out];
                for (o, wi) in next.iter_mut().zip(col) {
                    *o += wi * xi;
                }
            }
            if l < last {
                next.iter_mut().for_each(|v| *v = 1.0 / (1.0 + (-*v).exp()));
            }
            input = next;
        }
        out.copy_from_slice(&input);
    }
}

fn mlp(ctx: &mut Ctx<'_>) -> Result<Vec<Arc<dyn Stage>>> {
    let data = ctx.data()?;
    data.one_row()?;
    // Spark 2.x saved `layers` in the data; Spark 3+ keeps only the `layers` param.
    let layers: Vec<usize> = if data.has("layers") {
        data.integers("layers", 0)?
            .into_iter()
            .map(|v| usize::try_from(v).ok().filter(|v| *v > 0))
            .collect::<Option<_>>()
            .ok_or_else(|| ctx.invalid("MLP `layers` must be positive"))?
    } else {
        ctx.meta.opt_usizes("layers")?.unwrap_or_default()
    };
    if layers.contains(&0) {
        return Err(ctx.invalid("MLP `layers` must be positive"));
    }
    if layers.len() < 2 {
        return Err(ctx.invalid("MLP needs at least an input and an output layer"));
    }
    let weights = data.vector("weights", 0)?;
    let mut offsets = Vec::new();
    let mut off = 0usize;
    for pair in layers.windows(2) {
        offsets.push(off);
        off += pair[0] * pair[1] + pair[1];
    }
    if off != weights.len() {
        return Err(ctx.invalid(format!(
            "MLP layers {layers:?} need {off} weights, the model has {}",
            weights.len()
        )));
    }
    let classes = *layers.last().unwrap_or(&0);
    // `predict(features)` is the argmax of the output layer's softmax, thresholds unused.
    let decide = if predicts_from_features(ctx)? {
        Decide::ProbabilityArgmax
    } else {
        Decide::Default(class_thresholds(ctx, classes)?)
    };
    let head = classifier_head(ctx, Some(ProbRule::ExpNormalize), decide)?;
    stage(
        ctx,
        Arc::new(Mlp {
            layers,
            offsets,
            weights,
        }),
        head,
    )
}
