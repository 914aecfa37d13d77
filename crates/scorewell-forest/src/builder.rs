//! The one way to make a [`Forest`]: every frontend goes through [`ForestBuilder`], which checks
//! the structure once so the evaluator can trust it.

use crate::error::ForestError;
use crate::ir::{
    Aggregation, Comparison, Forest, InputRule, LinearLeaf, LinearTerm, Node, Precision, SplitTest,
    Tree,
};
use crate::link::Link;

/// Collects the nodes of one tree. Nodes are numbered in the order they are pushed (the frontend
/// uses its own file's numbering by pushing in that order); node 0 is the root.
#[derive(Debug, Clone, Default)]
pub struct TreeBuilder {
    nodes: Vec<Node>,
    declared_leaves: Option<usize>,
}

impl TreeBuilder {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty tree with room for `n` nodes.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            nodes: Vec::with_capacity(n),
            declared_leaves: None,
        }
    }

    /// Declare how many leaves the model file says the tree has; `build` checks it.
    pub fn declare_leaves(&mut self, n: usize) -> &mut Self {
        self.declared_leaves = Some(n);
        self
    }

    /// Append a numeric split; returns its index.
    pub fn numeric(
        &mut self,
        feature: u32,
        threshold: f64,
        missing: crate::Missing,
        default_left: bool,
        left: u32,
        right: u32,
    ) -> u32 {
        self.push(Node::Split {
            feature,
            test: SplitTest::Numeric { threshold, missing },
            default_left,
            left,
            right,
        })
    }

    /// Append a split with any test; returns its index.
    pub fn split(
        &mut self,
        feature: u32,
        test: SplitTest,
        default_left: bool,
        left: u32,
        right: u32,
    ) -> u32 {
        self.push(Node::Split {
            feature,
            test,
            default_left,
            left,
            right,
        })
    }

    /// Append a constant leaf; returns its index.
    pub fn leaf(&mut self, value: f64) -> u32 {
        self.push(Node::Leaf {
            value,
            linear: None,
        })
    }

    /// Append a linear leaf (`value` is the fallback used when one of its features is NaN).
    pub fn linear_leaf(&mut self, value: f64, linear: LinearLeaf) -> u32 {
        self.push(Node::Leaf {
            value,
            linear: Some(Box::new(linear)),
        })
    }

    /// Set the children of split node `node` after they were pushed (frontends that emit a
    /// parent before knowing its children's indices). Ignored for leaves and out-of-range nodes;
    /// `build` validates the result.
    pub fn patch_children(&mut self, node: u32, new_left: u32, new_right: u32) {
        if let Some(Node::Split { left, right, .. }) = self.nodes.get_mut(node as usize) {
            *left = new_left;
            *right = new_right;
        }
    }

    /// Number of nodes so far.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether no node was pushed.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    fn push(&mut self, node: Node) -> u32 {
        self.nodes.push(node);
        (self.nodes.len() - 1) as u32
    }

    /// Check the tree: children in range, every node reached exactly once from node 0,
    /// features in range, no NaN thresholds or leaves.
    fn build(self, tree: usize, num_features: usize) -> Result<Tree, ForestError> {
        let n = self.nodes.len();
        if n == 0 {
            return Err(ForestError::EmptyTree { tree });
        }
        if n > u32::MAX as usize / 2 {
            return Err(ForestError::Invalid(format!("tree {tree} has {n} nodes")));
        }
        let check_feature = |node: usize, feature: u64| {
            if feature as usize >= num_features {
                Err(ForestError::FeatureOutOfRange {
                    tree,
                    node,
                    feature,
                    num_features,
                })
            } else {
                Ok(())
            }
        };
        for (i, node) in self.nodes.iter().enumerate() {
            match node {
                Node::Split {
                    feature,
                    test,
                    left,
                    right,
                    ..
                } => {
                    check_feature(i, *feature as u64)?;
                    for child in [*left, *right] {
                        if child as usize >= n {
                            return Err(ForestError::ChildOutOfRange {
                                tree,
                                node: i,
                                child: child as i64,
                                num_nodes: n,
                            });
                        }
                    }
                    if let SplitTest::Numeric { threshold, .. } = test
                        && threshold.is_nan()
                    {
                        return Err(ForestError::NanValue {
                            tree,
                            node: i,
                            what: "threshold",
                        });
                    }
                }
                Node::Leaf { value, linear } => {
                    if value.is_nan() {
                        return Err(ForestError::NanValue {
                            tree,
                            node: i,
                            what: "leaf value",
                        });
                    }
                    if let Some(lin) = linear {
                        if lin.features.len() != lin.coefficients.len() {
                            return Err(ForestError::Invalid(format!(
                                "tree {tree}, node {i}: linear leaf has {} features but {} coefficients",
                                lin.features.len(),
                                lin.coefficients.len()
                            )));
                        }
                        for f in &lin.features {
                            check_feature(i, *f as u64)?;
                        }
                    }
                }
            }
        }
        // Reachability: each node must be entered exactly once from the root.
        let mut seen = vec![false; n];
        let mut stack = vec![0u32];
        seen[0] = true;
        while let Some(i) = stack.pop() {
            if let Node::Split { left, right, .. } = &self.nodes[i as usize] {
                for child in [*left, *right] {
                    if seen[child as usize] {
                        return Err(ForestError::SharedNode {
                            tree,
                            node: child as usize,
                        });
                    }
                    seen[child as usize] = true;
                    stack.push(child);
                }
            }
        }
        if let Some(orphan) = seen.iter().position(|s| !s) {
            return Err(ForestError::OrphanNode { tree, node: orphan });
        }
        let tree_out = Tree { nodes: self.nodes };
        if let Some(declared) = self.declared_leaves {
            let found = tree_out.num_leaves();
            if found != declared {
                return Err(ForestError::LeafCountMismatch {
                    tree,
                    declared,
                    found,
                });
            }
        }
        Ok(tree_out)
    }
}

/// Builds a validated [`Forest`].
///
/// ```
/// use scorewell_forest::{ForestBuilder, TreeBuilder, Missing, Link, Comparison, Precision};
/// let mut tree = TreeBuilder::new();
/// tree.numeric(0, 0.5, Missing::NanDefault, true, 1, 2);
/// tree.leaf(-1.0);
/// tree.leaf(1.0);
/// let mut b = ForestBuilder::new(1, 1);
/// b.comparison(Comparison::Less).precision(Precision::F32).link(Link::Identity);
/// b.push_tree(tree, 0, 1.0);
/// let forest = b.build().unwrap();
/// assert_eq!(forest.num_nodes(), 3);
/// ```
#[derive(Debug, Clone)]
pub struct ForestBuilder {
    num_features: usize,
    num_groups: usize,
    trees: Vec<(TreeBuilder, u32, f64)>,
    base_margin: Option<Vec<f64>>,
    aggregation: Aggregation,
    comparison: Comparison,
    precision: Precision,
    input_rule: InputRule,
    link: Link,
    linear: Option<LinearTerm>,
}

impl ForestBuilder {
    /// A forest over `num_features` inputs producing `num_groups` margins per row.
    ///
    /// Defaults: `x <= t`, `f64`, plain inputs, identity link, sum aggregation, zero base margin.
    pub fn new(num_features: usize, num_groups: usize) -> Self {
        Self {
            num_features,
            num_groups,
            trees: Vec::new(),
            base_margin: None,
            aggregation: Aggregation::Sum,
            comparison: Comparison::LessEqual,
            precision: Precision::F64,
            input_rule: InputRule::Plain,
            link: Link::Identity,
            linear: None,
        }
    }
    /// Set the split comparison.
    pub fn comparison(&mut self, c: Comparison) -> &mut Self {
        self.comparison = c;
        self
    }
    /// Set the arithmetic precision.
    pub fn precision(&mut self, p: Precision) -> &mut Self {
        self.precision = p;
        self
    }
    /// Set the input preparation rule.
    pub fn input_rule(&mut self, r: InputRule) -> &mut Self {
        self.input_rule = r;
        self
    }
    /// Set the link.
    pub fn link(&mut self, l: Link) -> &mut Self {
        self.link = l;
        self
    }
    /// Set sum or mean aggregation.
    pub fn aggregation(&mut self, a: Aggregation) -> &mut Self {
        self.aggregation = a;
        self
    }
    /// Set the starting margin of every group (one value per group).
    pub fn base_margin(&mut self, m: Vec<f64>) -> &mut Self {
        self.base_margin = Some(m);
        self
    }
    /// Add a tree contributing `weight ×` its leaf to output group `group`.
    pub fn push_tree(&mut self, tree: TreeBuilder, group: u32, weight: f64) -> &mut Self {
        self.trees.push((tree, group, weight));
        self
    }
    /// Add a linear term (see [`LinearTerm`]); a forest may have it with or without trees.
    pub fn linear(&mut self, term: LinearTerm) -> &mut Self {
        self.linear = Some(term);
        self
    }
    /// Number of trees added so far.
    pub fn num_trees(&self) -> usize {
        self.trees.len()
    }

    /// Validate everything and produce the forest.
    pub fn build(self) -> Result<Forest, ForestError> {
        if self.num_groups == 0 {
            return Err(ForestError::Invalid(
                "the model has zero output groups".into(),
            ));
        }
        let base_margin = self
            .base_margin
            .unwrap_or_else(|| vec![0.0; self.num_groups]);
        if base_margin.len() != self.num_groups {
            return Err(ForestError::BaseMarginLength {
                expected: self.num_groups,
                got: base_margin.len(),
            });
        }
        if base_margin.iter().any(|b| b.is_nan()) {
            return Err(ForestError::Invalid("base score is NaN".into()));
        }
        if let Aggregation::Mean { divisor } = self.aggregation
            && !(divisor.is_finite() && divisor > 0.0)
        {
            return Err(ForestError::Invalid(format!(
                "averaging divisor must be positive, got {divisor}"
            )));
        }
        if let Some(term) = &self.linear {
            check_linear_term(term, self.num_features, self.num_groups, self.aggregation)?;
        }
        let mut trees = Vec::with_capacity(self.trees.len());
        let mut tree_group = Vec::with_capacity(self.trees.len());
        let mut tree_weight = Vec::with_capacity(self.trees.len());
        for (i, (tb, group, weight)) in self.trees.into_iter().enumerate() {
            if group as usize >= self.num_groups {
                return Err(ForestError::GroupOutOfRange {
                    tree: i,
                    group: group as u64,
                    num_groups: self.num_groups,
                });
            }
            if !weight.is_finite() {
                return Err(ForestError::Invalid(format!(
                    "tree {i}: weight {weight} is not finite"
                )));
            }
            trees.push(tb.build(i, self.num_features)?);
            tree_group.push(group);
            tree_weight.push(weight);
        }
        Ok(Forest {
            num_features: self.num_features,
            num_groups: self.num_groups,
            trees,
            tree_group,
            tree_weight,
            base_margin,
            aggregation: self.aggregation,
            comparison: self.comparison,
            precision: self.precision,
            input_rule: self.input_rule,
            link: self.link,
            linear: self.linear,
        })
    }
}

fn check_linear_term(
    term: &LinearTerm,
    num_features: usize,
    num_groups: usize,
    aggregation: Aggregation,
) -> Result<(), ForestError> {
    if aggregation != Aggregation::Sum {
        return Err(ForestError::Invalid(
            "a linear term needs summed (not averaged) trees".into(),
        ));
    }
    if term.weights.len() != num_features * num_groups || term.bias.len() != num_groups {
        return Err(ForestError::Invalid(format!(
            "the linear term has {} weights and {} biases; {num_features} features × {num_groups} groups need {} and {num_groups}",
            term.weights.len(),
            term.bias.len(),
            num_features * num_groups
        )));
    }
    if let Some(i) = term
        .weights
        .iter()
        .chain(&term.bias)
        .position(|w| w.is_nan())
    {
        return Err(ForestError::Invalid(format!(
            "linear term value {i} (weights, then biases) is NaN"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Missing;

    fn stump(feature: u32, left: u32, right: u32) -> TreeBuilder {
        let mut t = TreeBuilder::new();
        t.numeric(feature, 0.0, Missing::NanDefault, true, left, right);
        t.leaf(1.0);
        t.leaf(2.0);
        t
    }

    fn build_one(t: TreeBuilder, features: usize) -> Result<Forest, ForestError> {
        let mut b = ForestBuilder::new(features, 1);
        b.push_tree(t, 0, 1.0);
        b.build()
    }

    #[test]
    fn rejects_child_out_of_range_naming_tree_and_node() {
        let err = build_one(stump(0, 1, 7), 1).unwrap_err();
        assert_eq!(
            err.to_string(),
            "tree 0, node 0: child index 7 is out of range (the tree has 3 nodes)"
        );
    }

    #[test]
    fn rejects_orphan_and_shared_nodes() {
        let mut t = stump(0, 1, 2);
        t.leaf(3.0);
        assert!(matches!(
            build_one(t, 1),
            Err(ForestError::OrphanNode { node: 3, .. })
        ));
        assert!(matches!(
            build_one(stump(0, 1, 1), 1),
            Err(ForestError::SharedNode { .. })
        ));
        assert!(matches!(
            build_one(stump(0, 0, 2), 1),
            Err(ForestError::SharedNode { .. })
        ));
    }

    #[test]
    fn rejects_feature_out_of_range() {
        let err = build_one(stump(900, 1, 2), 50).unwrap_err();
        assert_eq!(
            err.to_string(),
            "tree 0, node 0: uses feature 900 but the model has 50 features"
        );
    }

    #[test]
    fn rejects_group_leaf_count_and_base_margin_errors() {
        let mut b = ForestBuilder::new(1, 2);
        b.push_tree(stump(0, 1, 2), 2, 1.0);
        assert!(matches!(
            b.build(),
            Err(ForestError::GroupOutOfRange { group: 2, .. })
        ));
        let mut t = stump(0, 1, 2);
        t.declare_leaves(3);
        assert!(matches!(
            build_one(t, 1),
            Err(ForestError::LeafCountMismatch { .. })
        ));
        let mut b = ForestBuilder::new(1, 2);
        b.base_margin(vec![0.0]);
        assert!(matches!(
            b.build(),
            Err(ForestError::BaseMarginLength { .. })
        ));
        assert!(matches!(
            build_one(TreeBuilder::new(), 1),
            Err(ForestError::EmptyTree { .. })
        ));
    }

    #[test]
    fn rejects_nan_threshold() {
        let mut t = TreeBuilder::new();
        t.numeric(0, f64::NAN, Missing::NanDefault, true, 1, 2);
        t.leaf(1.0);
        t.leaf(2.0);
        assert!(matches!(build_one(t, 1), Err(ForestError::NanValue { .. })));
    }
}
