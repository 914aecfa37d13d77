//! Errors raised while building or compiling a forest.

/// Something is structurally wrong with a forest handed to [`crate::ForestBuilder`].
///
/// Every variant names the tree (its index in the forest) and, where it applies, the node
/// (its index inside the tree as the frontend numbered it), so a user can find it in the model file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ForestError {
    /// A tree has no nodes at all.
    #[error("tree {tree}: has no nodes")]
    EmptyTree {
        /// Tree index.
        tree: usize,
    },
    /// A split node points at a child that does not exist.
    #[error(
        "tree {tree}, node {node}: child index {child} is out of range (the tree has {num_nodes} nodes)"
    )]
    ChildOutOfRange {
        /// Tree index.
        tree: usize,
        /// Node index.
        node: usize,
        /// The bad child index.
        child: i64,
        /// Number of nodes in the tree.
        num_nodes: usize,
    },
    /// A node cannot be reached from the root.
    #[error("tree {tree}, node {node}: node is not reachable from the root (orphan node)")]
    OrphanNode {
        /// Tree index.
        tree: usize,
        /// Node index.
        node: usize,
    },
    /// A node is the child of two parents, or of itself: the tree is not a tree.
    #[error("tree {tree}, node {node}: node is reached twice (a cycle or a shared child)")]
    SharedNode {
        /// Tree index.
        tree: usize,
        /// Node index.
        node: usize,
    },
    /// A split or a linear leaf uses a feature index the model does not have.
    #[error(
        "tree {tree}, node {node}: uses feature {feature} but the model has {num_features} features"
    )]
    FeatureOutOfRange {
        /// Tree index.
        tree: usize,
        /// Node index.
        node: usize,
        /// The feature index found.
        feature: u64,
        /// Number of features of the model.
        num_features: usize,
    },
    /// A tree is assigned to an output group the model does not have.
    #[error(
        "tree {tree}: output group {group} is out of range (the model has {num_groups} groups)"
    )]
    GroupOutOfRange {
        /// Tree index.
        tree: usize,
        /// The group found.
        group: u64,
        /// Number of output groups.
        num_groups: usize,
    },
    /// A threshold or a leaf value is NaN, which no comparison or sum can use.
    #[error("tree {tree}, node {node}: {what} is NaN")]
    NanValue {
        /// Tree index.
        tree: usize,
        /// Node index.
        node: usize,
        /// Which value (`threshold`, `leaf value`, ...).
        what: &'static str,
    },
    /// The number of leaves differs from what the model file declared.
    #[error("tree {tree}: the model declares {declared} leaves but the tree has {found}")]
    LeafCountMismatch {
        /// Tree index.
        tree: usize,
        /// Declared count.
        declared: usize,
        /// Counted leaves.
        found: usize,
    },
    /// The base margin has the wrong number of entries.
    #[error("base score has {got} values but the model has {expected} output groups")]
    BaseMarginLength {
        /// Number of groups.
        expected: usize,
        /// Number of values given.
        got: usize,
    },
    /// A forest-level parameter is invalid (zero groups, a bad averaging divisor, ...).
    #[error("invalid forest: {0}")]
    Invalid(String),
}
