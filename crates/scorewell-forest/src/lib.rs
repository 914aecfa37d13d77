//! The forest IR shared by every tree format, its validating builder, and the fast evaluator.
//!
//! Frontends (XGBoost, LightGBM, ...) build a [`Forest`] through [`ForestBuilder`]; nothing here
//! parses a file. [`Predictor::compile`] turns a forest into the layout the evaluator scores,
//! and [`mod@reference`] holds a plain node-by-node evaluator that defines the semantics.
//!
//! ```
//! use scorewell_forest::{DenseRows, ForestBuilder, Link, Missing, Predictor, TreeBuilder};
//! let mut tree = TreeBuilder::new();
//! tree.numeric(0, 0.5, Missing::NanDefault, true, 1, 2);
//! tree.leaf(-1.0);
//! tree.leaf(1.0);
//! let mut b = ForestBuilder::new(1, 1);
//! b.link(Link::Identity).push_tree(tree, 0, 1.0);
//! let predictor = Predictor::compile(&b.build().unwrap());
//! let out = predictor.predict(&DenseRows::new(&[0.2, 0.9, f64::NAN], 1), false);
//! assert_eq!(out, vec![-1.0, 1.0, -1.0]);
//! ```
#![warn(missing_docs)]

mod builder;
mod compiled;
mod engine;
mod error;
mod float;
mod ir;
#[cfg(feature = "jit")]
mod jit;
mod leaves;
mod link;
mod masks;
#[cfg(target_arch = "x86_64")]
mod masks_avx512;
pub mod reference;
mod source;

pub use builder::{ForestBuilder, TreeBuilder};
pub use compiled::{CompiledForest, Predictor};
pub use engine::{Engine, EngineInfo, JIT_AVAILABLE, Running, default_engine, set_default_engine};
pub use error::ForestError;
pub use float::Float;
pub use ir::{
    Aggregation, CategoryCast, Comparison, Forest, InputRule, LinearLeaf, LinearTerm, Missing,
    NanRoute, Node, Precision, SplitTest, Tree,
};
pub use leaves::{LeafTables, LeafValues};
pub use link::Link;
#[doc(hidden)]
pub use masks::{ColumnBlock, MaskedTree};
pub use source::{DenseRows, FeatureSource};

#[cfg(test)]
mod tests;
