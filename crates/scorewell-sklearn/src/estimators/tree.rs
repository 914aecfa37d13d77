//! scikit-learn's `Tree` (`sklearn/tree/_tree.pyx`) as a leaf-number tree.
//!
//! - A split sends `x` left when `x32 <= threshold`: trees cast their input to `float32`
//!   (`_validate_X_predict(dtype=np.float32)`) and compare with the `float64` threshold. For a
//!   float32 `x` that is the same as `x32 <= t32` where `t32` is the largest float32 not above
//!   the threshold, which the `f32` evaluator computes exactly.
//! - NaN goes to the side `missing_go_to_left` names (scikit-learn ≥ 1.3). Files from 1.2 and
//!   earlier have no such field; those versions refuse NaN, and here NaN goes right, where
//!   `NaN <= t` (false) leads.
//! - Node layouts: 8 fields / 64 bytes from 1.3, 7 fields / 56 bytes before; both are read by
//!   field name.

use scorewell_forest::{Missing, TreeBuilder};

use super::attrs::Est;
use crate::error::Result;

/// One fitted tree, by node number.
#[derive(Debug, Clone)]
pub struct SkTree {
    /// Left child per node (-1 at leaves).
    pub left: Vec<i64>,
    /// Right child per node.
    pub right: Vec<i64>,
    /// Feature tested per node.
    pub feature: Vec<i64>,
    /// Threshold per node (`float64`).
    pub threshold: Vec<f64>,
    /// Where NaN goes per node (scikit-learn ≥ 1.3).
    pub missing_left: Option<Vec<i64>>,
    /// Training samples per node.
    pub n_node_samples: Vec<i64>,
    /// `value[node, output, class]`, flattened.
    pub values: Vec<f64>,
    /// Values per node (`n_outputs × max_n_classes`).
    pub stride: usize,
}

impl SkTree {
    /// Read the `tree_` of a fitted `DecisionTree*` / `ExtraTree*`.
    pub fn of(est: &Est<'_>) -> Result<Self> {
        let tree = est.child("tree_")?;
        let nodes = tree.array("nodes")?;
        let field_i = |name: &str| {
            nodes
                .field_i64(name)
                .ok_or_else(|| tree.bad("nodes", format!("no integer field `{name}`")))
        };
        let left = field_i("left_child")?;
        let right = field_i("right_child")?;
        let feature = field_i("feature")?;
        let n_node_samples = field_i("n_node_samples")?;
        let threshold = nodes
            .field_f64("threshold")
            .ok_or_else(|| tree.bad("nodes", "no field `threshold`"))?;
        let missing_left = nodes.field_i64("missing_go_to_left");
        let (values, shape) = tree.floats("values")?;
        let n = left.len();
        if shape.first() != Some(&n) || n == 0 {
            return Err(tree.bad(
                "values",
                format!("shape {shape:?} does not match {n} nodes"),
            ));
        }
        let stride = values.len() / n;
        if stride == 0 {
            return Err(tree.bad("values", "no value per node"));
        }
        Ok(Self {
            left,
            right,
            feature,
            threshold,
            missing_left,
            n_node_samples,
            values,
            stride,
        })
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.left.len()
    }

    /// Whether the tree has no nodes (never, for a file that loaded).
    pub fn is_empty(&self) -> bool {
        self.left.is_empty()
    }

    /// Whether `node` is a leaf.
    pub fn is_leaf(&self, node: usize) -> bool {
        self.left[node] < 0
    }

    /// The values of `node` (`n_outputs × max_n_classes`).
    pub fn value(&self, node: usize) -> &[f64] {
        &self.values[node * self.stride..][..self.stride]
    }

    /// Build the evaluator's tree. Leaves answer their leaf number; returns the tree and, per
    /// leaf number, the scikit-learn node it is. `feature_map` renames features (an
    /// IsolationForest tree sees a subset of the columns).
    pub fn leaf_number_tree(
        &self,
        est: &Est<'_>,
        f32_input: bool,
        feature_map: Option<&[usize]>,
    ) -> Result<(TreeBuilder, Vec<usize>)> {
        let n = self.len();
        let children = |node: usize| {
            if self.is_leaf(node) {
                return Ok(None);
            }
            match (
                usize::try_from(self.left[node]),
                usize::try_from(self.right[node]),
            ) {
                (Ok(l), Ok(r)) => Ok(Some((l, r))),
                _ => Err(format!("node {node} has a negative child")),
            }
        };
        let (order, pos) = preorder(n, children).map_err(|m| est.bad("tree_", m))?;
        let mut b = TreeBuilder::with_capacity(order.len());
        let mut leaves = Vec::new();
        for &node in &order {
            if self.is_leaf(node) {
                leaves.push(node);
                b.leaf((leaves.len() - 1) as f64);
                continue;
            }
            let f = usize::try_from(self.feature[node])
                .map_err(|_| est.bad("tree_", format!("node {node} has a negative feature")))?;
            let f = match feature_map {
                Some(m) => *m.get(f).ok_or_else(|| {
                    est.bad("estimators_features_", format!("no column for feature {f}"))
                })?,
                None => f,
            };
            let t = self.threshold[node];
            let threshold = if f32_input { f32_floor(t) } else { t };
            let default_left = self.missing_left.as_ref().is_some_and(|m| m[node] != 0);
            b.numeric(
                f as u32,
                threshold,
                Missing::NanDefault,
                default_left,
                pos[self.left[node] as usize],
                pos[self.right[node] as usize],
            );
        }
        Ok((b, leaves))
    }
}

/// Number the nodes of a tree reachable from node 0 in pre-order (left subtree first), so
/// each is pushed once, the root first, and a split's children have known positions.
/// Returns the nodes in that order and each node's position (`u32::MAX` when unreached).
pub fn preorder(
    n: usize,
    children: impl Fn(usize) -> Result<Option<(usize, usize)>, String>,
) -> Result<(Vec<usize>, Vec<u32>), String> {
    let mut order = Vec::with_capacity(n);
    let mut pos = vec![u32::MAX; n];
    let mut stack = vec![0usize];
    while let Some(node) = stack.pop() {
        if node >= n || pos[node] != u32::MAX {
            return Err("node links do not form a tree".into());
        }
        pos[node] = order.len() as u32;
        order.push(node);
        if let Some((l, r)) = children(node)? {
            stack.push(r);
            stack.push(l);
        }
    }
    Ok((order, pos))
}

/// The largest `f32` not above `t`, as `f64`: for any `f32` `x`, `x <= t` exactly when
/// `x <= f32_floor(t)`.
pub fn f32_floor(t: f64) -> f64 {
    if !t.is_finite() {
        return t;
    }
    let f = t as f32;
    let f = if f as f64 > t { f.next_down() } else { f };
    f as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float32_floor_keeps_comparisons_of_float32_values() {
        for t in [0.5 + 1e-9, 0.1, -0.1, 1e30, 3.4e38, -7.25, 1e-45] {
            let fl = f32_floor(t);
            assert!(fl <= t);
            for x in [t as f32, (t as f32).next_up(), (t as f32).next_down()] {
                assert_eq!((x as f64) <= t, (x as f64) <= fl, "x={x} t={t} floor={fl}");
            }
        }
    }
}
