//! Feature transforms as scorewell pipeline [`Stage`]s, following Spark ML's definitions
//! (a Spark `PipelineModel` loader builds these same stages from Spark's saved params).
//!
//! Every transform lives in its own file, named by its kind (`standard_scaler`,
//! `string_indexer`, `hashing_tf`, …). Each has a params struct whose docs state the
//! parameter contract and a `new(name, params)` constructor that validates it; [`build`]
//! makes any kind from JSON params, reporting bad params with their path inside the params
//! object (`splits[3]: …`).
//!
//! ```
//! use std::sync::Arc;
//! use arrow_array::{ArrayRef, Float64Array, RecordBatch};
//! use scorewell_core::{Pipeline, Scorer};
//!
//! let stage = scorewell_transform::build(
//!     "bucketizer",
//!     "age_bucket",
//!     &serde_json::json!({"input": "age", "output": "age_bucket", "splits": [0, 18, 65, "inf"]}),
//! )
//! .unwrap();
//! let scorer = Scorer::new(Pipeline::new().push(stage));
//! let age: ArrayRef = Arc::new(Float64Array::from(vec![12.0, 40.0, 80.0]));
//! let batch = RecordBatch::try_from_iter([("age", age)]).unwrap();
//! let out = scorer.score(&batch).unwrap();
//! assert_eq!(out.schema().field(1).name(), "age_bucket");
//! ```
//!
//! Conventions shared by all transforms:
//!
//! - Numeric inputs accept integer, float, decimal and boolean Arrow columns (booleans read
//!   as 0/1); nulls are missing values. Scalar outputs are `Float64`, vector outputs use
//!   [`scorewell_core::vector`] (Spark's `VectorUDT` layout), token outputs are
//!   `list<utf8>`.
//! - A null input row gives a null output row where Spark's UDF would receive a null
//!   primitive (and return null) or would throw a `NullPointerException` (text and vector
//!   transforms): scoring one bad row should not fail a whole batch that Spark would also
//!   have failed. Where Spark's `handleInvalid` defines what a null does, that is followed.
//! - Where Spark raises an error for a value (an unseen label with `handle_invalid =
//!   "error"`), `apply` fails with [`scorewell_core::ScoreError::InvalidValue`] naming the
//!   column and the row.
//! - JSON numbers cannot be infinite or NaN, so float params also take the strings `"inf"`,
//!   `"-inf"` and `"nan"` (Spark's Bucketizer splits usually start at `-inf`).
#![warn(missing_docs)]

use std::sync::{Arc, OnceLock};

use scorewell_core::Stage;

mod common;
mod error;
mod java;
pub mod murmur3;
mod registry;
mod scaling;
mod serde_f64;

mod binarizer;
mod bucketizer;
mod imputer;
mod index_to_string;
mod max_abs_scaler;
mod min_max_scaler;
mod one_hot_encoder;
mod standard_scaler;
mod string_indexer;
mod vector_assembler;

#[cfg(test)]
mod testutil;

pub use binarizer::{Binarizer, BinarizerParams};
pub use bucketizer::{Bucketizer, BucketizerParams};
pub use common::HandleInvalid;
pub use error::TransformError;
pub use imputer::{Imputer, ImputerParams, Strategy as ImputerStrategy};
pub use index_to_string::{IndexToString, IndexToStringParams};
pub use max_abs_scaler::{MaxAbsScaler, MaxAbsScalerParams};
pub use min_max_scaler::{MinMaxScaler, MinMaxScalerParams};
pub use one_hot_encoder::{OneHotEncoder, OneHotEncoderParams};
pub use registry::Registry;
pub use standard_scaler::{StandardScaler, StandardScalerParams};
pub use string_indexer::{StringIndexer, StringIndexerParams};
pub use vector_assembler::{VectorAssembler, VectorAssemblerParams};

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut reg = Registry::default();
        binarizer::register(&mut reg);
        bucketizer::register(&mut reg);
        imputer::register(&mut reg);
        max_abs_scaler::register(&mut reg);
        min_max_scaler::register(&mut reg);
        index_to_string::register(&mut reg);
        one_hot_encoder::register(&mut reg);
        string_indexer::register(&mut reg);
        vector_assembler::register(&mut reg);
        standard_scaler::register(&mut reg);
        reg
    })
}

/// Build the stage of `kind` named `name` from its JSON `params`.
///
/// Errors: [`TransformError::UnknownKind`] listing the supported kinds, or
/// [`TransformError::Param`] with the JSON path of the bad value inside `params`.
pub fn build(
    kind: &str,
    name: &str,
    params: &serde_json::Value,
) -> Result<Arc<dyn Stage>, TransformError> {
    let reg = registry();
    match reg.get(kind) {
        Some(build) => build(name, params),
        None => Err(TransformError::UnknownKind {
            kind: kind.to_string(),
            supported: reg.kinds().join(", "),
        }),
    }
}

/// Every kind [`build`] knows, sorted.
pub fn kinds() -> Vec<&'static str> {
    registry().kinds()
}

#[cfg(test)]
mod tests {
    #[test]
    fn unknown_kind_lists_the_supported_ones() {
        let err = super::build("pca", "p", &serde_json::json!({})).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("unknown transform kind `pca` (supported: "),
            "{msg}"
        );
        assert!(msg.contains("standard_scaler"), "{msg}");
    }
}
