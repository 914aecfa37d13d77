//! The scoring core of scorewell: Arrow record batches in, record batches with prediction
//! columns out, through one [`Scorer`] that every surface (CLI, server, Python) calls.
//!
//! A [`Scorer`] is a [`Pipeline`] of [`Stage`]s. Stages name their input columns; binding a
//! scorer to an input schema resolves and type-checks them once ([`Scorer::bind`]).
//!
//! ```
//! use std::sync::Arc;
//! use arrow_array::{Float64Array, RecordBatch, ArrayRef};
//! use scorewell_core::{ForestModel, ForestStage, FeatureSpec, ModelInfo, OutputMode, Pipeline, Scorer};
//! use scorewell_forest::{ForestBuilder, Missing, TreeBuilder};
//!
//! let mut tree = TreeBuilder::new();
//! tree.numeric(0, 0.5, Missing::NanDefault, true, 1, 2);
//! tree.leaf(-1.0);
//! tree.leaf(1.0);
//! let mut b = ForestBuilder::new(1, 1);
//! b.push_tree(tree, 0, 1.0);
//! let model = ForestModel {
//!     forest: b.build().unwrap(),
//!     features: vec![FeatureSpec::numeric("amount")],
//!     info: ModelInfo::default(),
//! };
//! let stage = ForestStage::new("model", Arc::new(model), OutputMode::Prediction).unwrap();
//! let scorer = Scorer::new(Pipeline::new().push(Arc::new(stage)));
//! let amount: ArrayRef = Arc::new(Float64Array::from(vec![0.1, 0.9]));
//! let batch = RecordBatch::try_from_iter([("amount", amount)]).unwrap();
//! let scored = scorer.score(&batch).unwrap();
//! assert_eq!(scored.schema().field(1).name(), "prediction");
//! ```
#![warn(missing_docs)]

mod columns;
mod error;
pub mod guard;
mod model;
mod nn;
#[cfg(feature = "parquet")]
pub mod parquet_check;
mod positional;
mod scorer;
mod stage;
pub mod tensor_io;
#[cfg(feature = "parquet")]
mod thrift_compact;
pub mod vector;

pub use error::{Result, ScoreError};

/// The most features, classes or categories a model file may declare. XGBoost, scikit-learn
/// and Spark files state counts that nothing else in the file need back, and those counts size
/// schemas (one name per feature), input rows, leaf tables and bitsets; so each loader refuses a
/// larger count rather than allocate from it. 2^24 is wider than hashed feature spaces are made.
pub const MAX_DECLARED_FEATURES: usize = 1 << 24;
pub use model::{FeatureKind, FeatureSpec, ForestModel, ForestStage, ModelInfo, OutputMode};
pub use nn::NnStage;
pub use positional::ByPosition;
pub use scorer::{BoundScorer, Pipeline, Scorer};
pub use stage::{Binding, InputColumn, Stage, StageOutput, find_column};

#[cfg(test)]
mod tests;
