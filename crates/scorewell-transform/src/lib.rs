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
mod count_vectorizer;
mod decision;
mod elementwise_product;
mod ensemble;
mod feature_hasher;
mod hashing_tf;
mod idf;
mod imputer;
mod index_to_string;
mod max_abs_scaler;
mod min_max_scaler;
mod ngram;
mod normalizer;
mod one_hot_encoder;
mod regex_tokenizer;
mod standard_scaler;
mod stop_words_remover;
mod string_indexer;
mod tokenizer;
mod vector_assembler;
mod vector_slicer;

#[cfg(test)]
mod testutil;

pub use binarizer::{Binarizer, BinarizerParams};
pub use bucketizer::{Bucketizer, BucketizerParams};
pub use common::HandleInvalid;
pub use count_vectorizer::{CountVectorizer, CountVectorizerParams};
pub use decision::{Decision, DecisionParams, Threshold};
pub use elementwise_product::{ElementwiseProduct, ElementwiseProductParams};
pub use ensemble::{Combine, Ensemble, EnsembleParams, Missing};
pub use error::TransformError;
pub use feature_hasher::{FeatureHasher, FeatureHasherParams};
pub use hashing_tf::{HashFunction, HashingTF, HashingTFParams};
pub use idf::{Idf, IdfParams};
pub use imputer::{Imputer, ImputerParams, Strategy as ImputerStrategy};
pub use index_to_string::{IndexToString, IndexToStringParams};
pub use max_abs_scaler::{MaxAbsScaler, MaxAbsScalerParams};
pub use min_max_scaler::{MinMaxScaler, MinMaxScalerParams};
pub use ngram::{NGram, NGramParams};
pub use normalizer::{Normalizer, NormalizerParams};
pub use one_hot_encoder::{OneHotEncoder, OneHotEncoderParams};
pub use regex_tokenizer::{RegexTokenizer, RegexTokenizerParams};
pub use registry::Registry;
pub use standard_scaler::{StandardScaler, StandardScalerParams};
pub use stop_words_remover::{ENGLISH_STOP_WORDS, StopWordsRemover, StopWordsRemoverParams};
pub use string_indexer::{StringIndexer, StringIndexerParams};
pub use tokenizer::{Tokenizer, TokenizerParams};
pub use vector_assembler::{VectorAssembler, VectorAssemblerParams};
pub use vector_slicer::{VectorSlicer, VectorSlicerParams};

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut reg = Registry::default();
        binarizer::register(&mut reg);
        bucketizer::register(&mut reg);
        count_vectorizer::register(&mut reg);
        decision::register(&mut reg);
        elementwise_product::register(&mut reg);
        ensemble::register(&mut reg);
        feature_hasher::register(&mut reg);
        hashing_tf::register(&mut reg);
        idf::register(&mut reg);
        imputer::register(&mut reg);
        index_to_string::register(&mut reg);
        max_abs_scaler::register(&mut reg);
        min_max_scaler::register(&mut reg);
        ngram::register(&mut reg);
        normalizer::register(&mut reg);
        one_hot_encoder::register(&mut reg);
        regex_tokenizer::register(&mut reg);
        standard_scaler::register(&mut reg);
        stop_words_remover::register(&mut reg);
        string_indexer::register(&mut reg);
        tokenizer::register(&mut reg);
        vector_assembler::register(&mut reg);
        vector_slicer::register(&mut reg);
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

    #[test]
    fn a_missing_input_names_the_column_and_the_transform() {
        let stage = crate::testutil::build(
            "tokenizer",
            serde_json::json!({"input": "city", "output": "t"}),
        );
        let err = crate::testutil::run(&stage, &[("town", crate::testutil::strs(&[Some("a")]))])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "input has no column `city` (needed by transform `tokenizer`); input columns are: town"
        );
    }

    #[test]
    fn every_kind_is_registered_once() {
        let kinds = super::kinds();
        assert_eq!(kinds.len(), 23, "{kinds:?}");
        assert!(kinds.windows(2).all(|w| w[0] < w[1]));
    }
}
