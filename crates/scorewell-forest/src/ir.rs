//! The forest IR: every tree format (XGBoost, LightGBM, later Spark and scikit-learn) is
//! translated into these types. They describe *what* a model computes, exactly, and carry no
//! layout decisions for speed; [`crate::CompiledForest`] derives the fast layout from them.

use crate::link::Link;

/// How a numeric split compares a feature value `x` with its threshold `t`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// Go left iff `x < t` (XGBoost).
    Less,
    /// Go left iff `x <= t` (LightGBM, Spark, scikit-learn).
    LessEqual,
}

/// The arithmetic a model was trained and is scored in.
///
/// XGBoost casts every input to `f32`, compares in `f32` and sums leaves in `f32`; LightGBM does all
/// of it in `f64`. Matching the original bit for bit needs the same precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// 32-bit floats throughout.
    F32,
    /// 64-bit floats throughout.
    F64,
}

/// How a numeric split treats a missing value (NaN or null) and, for LightGBM, zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// NaN follows the node's default direction (XGBoost; LightGBM `MissingType::NaN`).
    NanDefault,
    /// NaN is replaced by 0.0 and compared like any value (LightGBM `MissingType::None`).
    NanAsZero,
    /// NaN and zero (|x| ≤ 1e-35) follow the default direction (LightGBM `MissingType::Zero`).
    ZeroAndNanDefault,
}

/// Where a categorical split sends a NaN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NanRoute {
    /// The node's default direction (XGBoost).
    Default,
    /// Always left.
    Left,
    /// Always right (LightGBM).
    Right,
}

impl NanRoute {
    /// Whether NaN goes left at a node whose default direction is `default_left`.
    pub fn goes_left(self, default_left: bool) -> bool {
        match self {
            NanRoute::Default => default_left,
            NanRoute::Left => true,
            NanRoute::Right => false,
        }
    }
}

/// How a float feature value becomes a category index in a categorical split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CategoryCast {
    /// Negative values and values ≥ 2^24 are not in any set; others are truncated (XGBoost's
    /// `InvalidCat` check runs on the float before the cast).
    CheckThenTruncate,
    /// Truncate toward zero first, then values below zero are not in any set, so -0.5 is
    /// category 0 (LightGBM casts with `static_cast<int>` before its sign check).
    TruncateThenCheck,
    /// Only an exact non-negative integer is a category (−0.0 is 0): 1.5 and −1 are in no
    /// set (Spark's `CategoricalSplit` looks the double itself up in a `Set[Double]`).
    Exact,
}

/// What a feature value of a row is prepared into before any tree sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputRule {
    /// Round to the model's precision and nothing else (XGBoost).
    Plain,
    /// LightGBM's dense-row reader only keeps values with |x| > 1e-35 (or NaN); smaller values
    /// reach the trees as exactly 0.0.
    SnapTinyToZero,
}

/// One split test.
#[derive(Debug, Clone, PartialEq)]
pub enum SplitTest {
    /// `x` against a threshold, with the forest's [`Comparison`].
    Numeric {
        /// The threshold.
        threshold: f64,
        /// Missing-value rule.
        missing: Missing,
    },
    /// `x` as a category index against a bitset (bit `c % 32` of word `c / 32`).
    Categorical {
        /// The category set.
        bitset: Vec<u32>,
        /// True when categories in the set go left (LightGBM), false when they go right (XGBoost).
        in_set_goes_left: bool,
        /// Where NaN goes.
        nan: NanRoute,
        /// How a float becomes a category.
        cast: CategoryCast,
    },
}

/// A leaf whose output is a linear function of some features (LightGBM `linear_tree`).
#[derive(Debug, Clone, PartialEq)]
pub struct LinearLeaf {
    /// Intercept.
    pub constant: f64,
    /// Feature indices.
    pub features: Vec<u32>,
    /// One coefficient per feature.
    pub coefficients: Vec<f64>,
}

/// A linear term added to every row's margins before the trees (XGBoost's `gblinear` booster):
/// `margin[g] = base[g] + bias[g] + Σ_f x_f · weight[f][g]`, summed in feature order in the
/// forest's precision, where a missing `x_f` (NaN or null) contributes nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearTerm {
    /// `num_features × num_groups` weights, feature-major: `weights[f * num_groups + g]`.
    pub weights: Vec<f64>,
    /// One intercept per group.
    pub bias: Vec<f64>,
}

/// One node of a tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// An internal node.
    Split {
        /// Feature index tested.
        feature: u32,
        /// The test.
        test: SplitTest,
        /// Direction of a missing value where the test defers to it.
        default_left: bool,
        /// Left child (node index in the same tree).
        left: u32,
        /// Right child.
        right: u32,
    },
    /// A leaf.
    Leaf {
        /// Output value (used as is, or as the fallback of a linear leaf when an input is NaN).
        value: f64,
        /// Linear model of the leaf, if any.
        linear: Option<Box<LinearLeaf>>,
    },
}

/// A validated tree: node 0 is the root, every node is reached exactly once.
#[derive(Debug, Clone, PartialEq)]
pub struct Tree {
    pub(crate) nodes: Vec<Node>,
}

impl Tree {
    /// The nodes, root first.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Number of leaves.
    pub fn num_leaves(&self) -> usize {
        self.nodes
            .iter()
            .filter(|n| matches!(n, Node::Leaf { .. }))
            .count()
    }

    /// Length of the longest root-to-leaf path, in edges.
    pub fn depth(&self) -> usize {
        let mut depth = vec![0usize; self.nodes.len()];
        let mut max = 0;
        // Validation guarantees a tree; visit parents before children with an explicit stack.
        let mut stack = vec![0u32];
        while let Some(i) = stack.pop() {
            let d = depth[i as usize];
            max = max.max(d);
            if let Node::Split { left, right, .. } = &self.nodes[i as usize] {
                depth[*left as usize] = d + 1;
                depth[*right as usize] = d + 1;
                stack.push(*left);
                stack.push(*right);
            }
        }
        max
    }
}

/// How tree outputs combine into a margin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Aggregation {
    /// margin = base + Σ weight·leaf (boosting).
    Sum,
    /// prediction = link((Σ weight·leaf) / divisor + base) (LightGBM `average_output`: the divisor
    /// is the number of boosting iterations). The margin output stays the plain sum, because
    /// that is what LightGBM's `raw_score=True` returns for such models.
    Mean {
        /// The divisor.
        divisor: f64,
    },
}

/// A validated tree ensemble. Build one with [`crate::ForestBuilder`].
#[derive(Debug, Clone, PartialEq)]
pub struct Forest {
    pub(crate) num_features: usize,
    pub(crate) num_groups: usize,
    pub(crate) trees: Vec<Tree>,
    pub(crate) tree_group: Vec<u32>,
    pub(crate) tree_weight: Vec<f64>,
    pub(crate) base_margin: Vec<f64>,
    pub(crate) aggregation: Aggregation,
    pub(crate) comparison: Comparison,
    pub(crate) precision: Precision,
    pub(crate) input_rule: InputRule,
    pub(crate) link: Link,
    pub(crate) linear: Option<LinearTerm>,
}

impl Forest {
    /// Number of input features the trees index into.
    pub fn num_features(&self) -> usize {
        self.num_features
    }
    /// Number of margins per row (classes for multiclass, 1 otherwise).
    pub fn num_groups(&self) -> usize {
        self.num_groups
    }
    /// Number of values per row after the link (1 for argmax-style links).
    pub fn num_outputs(&self) -> usize {
        self.link.num_outputs(self.num_groups)
    }
    /// The trees.
    pub fn trees(&self) -> &[Tree] {
        &self.trees
    }
    /// Output group of each tree.
    pub fn tree_groups(&self) -> &[u32] {
        &self.tree_group
    }
    /// Weight of each tree (1.0 except for DART).
    pub fn tree_weights(&self) -> &[f64] {
        &self.tree_weight
    }
    /// The margin each group starts from.
    pub fn base_margin(&self) -> &[f64] {
        &self.base_margin
    }
    /// Sum or mean of trees.
    pub fn aggregation(&self) -> Aggregation {
        self.aggregation
    }
    /// Split comparison.
    pub fn comparison(&self) -> Comparison {
        self.comparison
    }
    /// Arithmetic precision.
    pub fn precision(&self) -> Precision {
        self.precision
    }
    /// Input preparation rule.
    pub fn input_rule(&self) -> InputRule {
        self.input_rule
    }
    /// The link from margins to outputs.
    pub fn link(&self) -> Link {
        self.link
    }
    /// The linear term, if the model has one.
    pub fn linear(&self) -> Option<&LinearTerm> {
        self.linear.as_ref()
    }
    /// Total number of nodes.
    pub fn num_nodes(&self) -> usize {
        self.trees.iter().map(|t| t.nodes.len()).sum()
    }
    /// Whether any split is categorical.
    pub fn has_categorical(&self) -> bool {
        self.trees.iter().flat_map(|t| &t.nodes).any(|n| {
            matches!(
                n,
                Node::Split {
                    test: SplitTest::Categorical { .. },
                    ..
                }
            )
        })
    }
}
