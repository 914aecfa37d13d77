//! `BisectingKMeansModel` (`ml/clustering/BisectingKMeans.scala`, which saves its
//! `mllib.clustering.BisectingKMeansModel` under `data/`): `data/metadata/part-*` is a JSON line
//! with `rootId` and (format 2.0+) `distanceMeasure`; `data/data/` holds one row per tree node,
//! `index: int, size: bigint, center: vector, norm: double, cost, height, children: array<int>`
//! (leaves have indices 0..k-1, inner nodes negative ones).
//!
//! `predict` walks from the root, at each node moving to the child whose center costs least
//! (`minBy`: the first of equals), and returns the leaf's index as an `Int32`. The Euclidean
//! cost is `MLUtils.fastSquaredDistance(center, x)`, with its shortcut
//! `|c|² + |x|² - 2 c·x` when the norms' precision bound allows it; the cosine cost is
//! `1 - c·x / |c| / |x|`. A vector whose size is not the centers' is an error, and so is a zero vector under
//! the cosine measure (Spark's assertion).

use std::sync::Arc;

use scorewell_core::vector::{VectorColumn, VectorRef};
use scorewell_core::{ScoreError, Stage};
use serde_json::Value;

use super::linear::stage;
use super::one_vs_rest::java_greater;
use super::{Ctx, Registry};
use crate::error::Result;
use crate::model::{Head, Kernel, dot};
use crate::reader::{Table, part_files};

pub(crate) fn register(reg: &mut Registry) {
    reg.add(
        "org.apache.spark.ml.clustering.BisectingKMeansModel",
        bisecting_kmeans,
    );
}

/// `MLUtils.EPSILON`: the machine epsilon, 2^-52.
const EPSILON: f64 = f64::EPSILON;

#[derive(Debug)]
struct Node {
    /// Cluster index for a leaf.
    index: i32,
    center: Vec<f64>,
    norm: f64,
    /// Positions in `BisectingKMeans::nodes`.
    children: Vec<usize>,
}

#[derive(Debug)]
struct BisectingKMeans {
    nodes: Vec<Node>,
    root: usize,
    cosine: bool,
    /// Spark 4 (Scala 2.13) compares costs in the total order, earlier versions with `<`.
    total_order: bool,
    /// The features column, for errors.
    features: String,
}

/// Java's `Math.max(a, 0.0)`: NaN stays NaN.
fn java_max0(a: f64) -> f64 {
    if a.is_nan() { a } else { a.max(0.0) }
}

impl BisectingKMeans {
    fn cost(&self, node: &Node, x: VectorRef<'_>, x_norm: f64) -> f64 {
        let c = &node.center;
        if self.cosine {
            return 1.0 - dot(x, c) / node.norm / x_norm;
        }
        let sqdist = || {
            let mut s = 0.0;
            for (i, ci) in c.iter().enumerate() {
                let d = ci - x.get(i);
                s += d * d;
            }
            s
        };
        let sum_squared_norm = node.norm * node.norm + x_norm * x_norm;
        let norm_diff = node.norm - x_norm;
        let bound1 = 2.0 * EPSILON * sum_squared_norm / (norm_diff * norm_diff + EPSILON);
        if bound1 < 1e-6 {
            sum_squared_norm - 2.0 * dot(x, c)
        } else if matches!(x, VectorRef::Sparse { .. }) {
            let d = dot(x, c);
            let sq = java_max0(sum_squared_norm - 2.0 * d);
            let bound2 = EPSILON * (sum_squared_norm + 2.0 * d.abs()) / (sq + EPSILON);
            if bound2 > 1e-6 { sqdist() } else { sq }
        } else {
            sqdist()
        }
    }

    fn less(&self, a: f64, b: f64) -> bool {
        if self.total_order {
            java_greater(b, a)
        } else {
            a < b
        }
    }
}

impl Kernel for BisectingKMeans {
    fn width(&self) -> usize {
        1
    }
    fn num_features(&self) -> Option<usize> {
        Some(self.nodes[self.root].center.len())
    }
    fn compute(&self, x: &VectorColumn, out: &mut [f64]) -> std::result::Result<(), ScoreError> {
        for (row, out) in out.iter_mut().enumerate() {
            let Some(x) = x.get(row) else { continue };
            // `Vectors.norm(x, 2)`: over the stored values, in order.
            let mut sum = 0.0;
            x.for_each_active(|_, v| sum += v * v);
            let x_norm = sum.sqrt();
            if self.cosine && x_norm == 0.0 {
                return Err(ScoreError::InvalidValue {
                    column: self.features.clone(),
                    row,
                    message: "Cosine distance is not defined for zero-length vectors.".into(),
                });
            }
            let mut node = &self.nodes[self.root];
            while let Some((&first, rest)) = node.children.split_first() {
                let mut best = first;
                let mut best_cost = self.cost(&self.nodes[first], x, x_norm);
                for &child in rest {
                    let cost = self.cost(&self.nodes[child], x, x_norm);
                    if self.less(cost, best_cost) {
                        best = child;
                        best_cost = cost;
                    }
                }
                node = &self.nodes[best];
            }
            *out = f64::from(node.index);
        }
        Ok(())
    }
}

fn bisecting_kmeans(ctx: &mut Ctx<'_>) -> Result<Vec<Arc<dyn Stage>>> {
    let source = ctx.meta.source.clone();
    let meta_dir = ctx.dir().join("data/metadata");
    let part = part_files(&source, &meta_dir)
        .ok()
        .and_then(|p| p.into_iter().next())
        .ok_or_else(|| ctx.invalid("no `data/metadata/` part file (the mllib model's metadata)"))?;
    let text = source.read(&part)?;
    let json: Value = serde_json::from_slice(text.trim_ascii())
        .map_err(|e| ctx.invalid(format!("`data/metadata/` is not valid JSON: {e}")))?;
    let root_id = json
        .get("rootId")
        .and_then(Value::as_i64)
        .ok_or_else(|| ctx.invalid("`data/metadata/` has no integer `rootId`"))?;
    let measure = match json.get("distanceMeasure").and_then(Value::as_str) {
        Some(m) => m.to_string(),
        // Format 1.0 (Spark < 2.4) is Euclidean only.
        None => "euclidean".into(),
    };
    let cosine = match measure.as_str() {
        "euclidean" => false,
        "cosine" => true,
        other => {
            return Err(ctx.invalid(format!(
                "unsupported BisectingKMeans distanceMeasure `{other}`"
            )));
        }
    };
    let data = Table::read(&source, ctx.dir(), "data/data")?;
    let mut ids = Vec::with_capacity(data.num_rows());
    let mut nodes = Vec::with_capacity(data.num_rows());
    let mut child_ids = Vec::with_capacity(data.num_rows());
    for r in 0..data.num_rows() {
        let index = data.i64("index", r)?;
        ids.push(index);
        child_ids.push(data.integers("children", r)?);
        nodes.push(Node {
            index: i32::try_from(index).map_err(|_| ctx.invalid("node index out of range"))?,
            center: data.vector("center", r)?,
            norm: data.f64("norm", r)?,
            children: Vec::new(),
        });
    }
    let position = |id: i64| ids.iter().position(|i| *i == id);
    for (node, children) in nodes.iter_mut().zip(&child_ids) {
        node.children = children
            .iter()
            .map(|c| position(*c))
            .collect::<Option<_>>()
            .ok_or_else(|| ctx.invalid("a node names a child that is not in `data/data/`"))?;
    }
    let root = position(root_id)
        .ok_or_else(|| ctx.invalid(format!("root node {root_id} is not in `data/data/`")))?;
    let n = nodes[root].center.len();
    if nodes.iter().any(|nd| nd.center.len() != n) {
        return Err(ctx.invalid("cluster centers have different sizes"));
    }
    // Every walk must end at a leaf with a cluster index: no cycles, leaves indexed >= 0.
    let mut seen = vec![false; nodes.len()];
    let mut todo = vec![root];
    while let Some(i) = todo.pop() {
        if std::mem::replace(&mut seen[i], true) {
            return Err(ctx.invalid("the cluster tree has a cycle or a shared node"));
        }
        if nodes[i].children.is_empty() && nodes[i].index < 0 {
            return Err(ctx.invalid("a leaf of the cluster tree has a negative index"));
        }
        todo.extend(&nodes[i].children);
    }
    let head = Head::Cluster {
        prediction: ctx.meta.col("predictionCol")?,
    };
    let model = BisectingKMeans {
        nodes,
        root,
        cosine,
        total_order: ctx.meta.version.0 >= 4,
        features: ctx.meta.str("featuresCol")?,
    };
    stage(ctx, Arc::new(model), head)
}
