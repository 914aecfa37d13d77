//! `count_vectorizer`: Spark ML's `CountVectorizerModel.transform`
//! (`mllib/src/main/scala/org/apache/spark/ml/feature/CountVectorizer.scala`, Spark 3.x/4.x).
//!
//! Counts each vocabulary term in a token list (terms outside the vocabulary are ignored
//! but still count towards the document length), keeps counts ≥ the effective `min_tf`
//! (`min_tf` itself when ≥ 1, else `min_tf × number of tokens`), and writes a sparse vector
//! of size `vocabulary.len()` with indices ascending (1.0 instead of counts with `binary`).
//! A term listed twice in the vocabulary takes its later index, as Spark's map does. A null
//! row gives null.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{FieldRef, Schema};
use scorewell_core::vector::VectorBuilder;
use scorewell_core::{Binding, InputColumn, Stage, StageOutput};

use crate::common::{self, Accept, StringLists};
use crate::error::TransformError;
use crate::registry::{Registry, parse};

/// Parameters of [`CountVectorizer`].
///
/// - `input`: a `list<utf8>` column; `output`: a vector column.
/// - `vocabulary` (required): terms in index order (Spark's model data `vocabulary`).
/// - `min_tf` (default 1.0, ≥ 0): a count when ≥ 1, a fraction of the document's tokens
///   when < 1.
/// - `binary` (default `false`): 1.0 for every kept term instead of its count.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountVectorizerParams {
    /// Token column.
    pub input: String,
    /// Vector column.
    pub output: String,
    /// Terms in index order.
    pub vocabulary: Vec<String>,
    /// Minimum term frequency within a document.
    #[serde(default = "one")]
    pub min_tf: f64,
    /// Presence instead of counts.
    #[serde(default)]
    pub binary: bool,
}

fn one() -> f64 {
    1.0
}

/// Counts vocabulary terms (see the module docs).
#[derive(Debug, Clone)]
pub struct CountVectorizer {
    name: String,
    input: String,
    output: String,
    index: HashMap<String, i32>,
    size: usize,
    min_tf: f64,
    binary: bool,
}

impl CountVectorizer {
    /// Validate `params` and build the stage.
    pub fn new(name: &str, params: CountVectorizerParams) -> Result<Self, TransformError> {
        common::check_names("input", std::slice::from_ref(&params.input), false)?;
        common::check_names("output", std::slice::from_ref(&params.output), false)?;
        common::check_vector_size("vocabulary", params.vocabulary.len())?;
        if params.min_tf.is_nan() || params.min_tf < 0.0 {
            return Err(TransformError::param("min_tf", "must be at least 0"));
        }
        let size = params.vocabulary.len();
        let index = params
            .vocabulary
            .into_iter()
            .enumerate()
            .map(|(i, t)| (t, i as i32))
            .collect();
        Ok(Self {
            name: name.to_string(),
            input: params.input,
            output: params.output,
            index,
            size,
            min_tf: params.min_tf,
            binary: params.binary,
        })
    }
}

pub(crate) fn register(reg: &mut Registry) {
    reg.add("count_vectorizer", |name, params| {
        Ok(Arc::new(CountVectorizer::new(name, parse(params)?)?))
    });
}

impl Stage for CountVectorizer {
    fn name(&self) -> &str {
        &self.name
    }

    fn inputs(&self) -> Vec<InputColumn> {
        common::input_columns(std::slice::from_ref(&self.input), Accept::StringList)
    }

    fn output_fields(&self) -> Vec<FieldRef> {
        vec![common::vector_field(&self.output)]
    }

    fn bind(&self, schema: &Schema) -> scorewell_core::Result<Binding> {
        common::bind(
            schema,
            &self.name,
            [(self.input.as_str(), Accept::StringList)],
        )
    }

    fn apply(&self, binding: &Binding, batch: &RecordBatch) -> scorewell_core::Result<StageOutput> {
        let lists = StringLists::try_new(batch.column(binding.columns[0]))?;
        let mut b = VectorBuilder::with_capacity(batch.num_rows());
        let mut counts: BTreeMap<i32, f64> = BTreeMap::new();
        let (mut indices, mut values) = (Vec::new(), Vec::new());
        for row in 0..batch.num_rows() {
            let Some(tokens) = lists.row(row) else {
                b.push_null();
                continue;
            };
            counts.clear();
            let mut token_count = 0u64;
            for t in tokens {
                if let Some(i) = t.and_then(|t| self.index.get(t)) {
                    *counts.entry(*i).or_insert(0.0) += 1.0;
                }
                token_count += 1;
            }
            let min_tf = if self.min_tf >= 1.0 {
                self.min_tf
            } else {
                token_count as f64 * self.min_tf
            };
            indices.clear();
            values.clear();
            for (i, c) in &counts {
                if *c >= min_tf {
                    indices.push(*i);
                    values.push(if self.binary { 1.0 } else { *c });
                }
            }
            b.push_sparse(self.size, &indices, &values);
        }
        Ok(vec![b.finish()].into())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::testutil::*;

    #[test]
    fn counts_with_min_tf_as_count_or_fraction() {
        let docs = || {
            str_lists(&[
                Some(vec![
                    Some("a"),
                    Some("b"),
                    Some("a"),
                    Some("zz"),
                    None,
                    Some("c"),
                ]),
                Some(vec![]),
                None,
            ])
        };
        let stage = build(
            "count_vectorizer",
            json!({"input": "w", "output": "v", "vocabulary": ["c", "a", "b"]}),
        );
        let got = read_vectors(&run(&stage, &[("w", docs())]).unwrap()[0]);
        assert_eq!(
            got[0],
            Some(V::Sparse(3, vec![0, 1, 2], vec![1.0, 2.0, 1.0]))
        );
        assert_eq!(got[1], Some(V::Sparse(3, vec![], vec![])));
        assert_eq!(got[2], None);

        // 6 tokens × 0.3 = 1.8: only "a" (2) stays; binary writes 1.0.
        let frac = build(
            "count_vectorizer",
            json!({"input": "w", "output": "v", "vocabulary": ["c", "a", "b"], "min_tf": 0.3, "binary": true}),
        );
        let got = read_vectors(&run(&frac, &[("w", docs())]).unwrap()[0]);
        assert_eq!(got[0], Some(V::Sparse(3, vec![1], vec![1.0])));

        let count = build(
            "count_vectorizer",
            json!({"input": "w", "output": "v", "vocabulary": ["c", "a"], "min_tf": 2}),
        );
        let got = read_vectors(&run(&count, &[("w", docs())]).unwrap()[0]);
        assert_eq!(got[0], Some(V::Sparse(2, vec![1], vec![2.0])));
        assert_eq!(
            build_err(
                "count_vectorizer",
                json!({"input": "w", "output": "v", "vocabulary": [], "min_tf": -1})
            ),
            "min_tf: must be at least 0"
        );
    }

    /// An empty token is counted when the vocabulary holds `""`, and otherwise ignored but
    /// still part of the document's length (which a fractional `min_tf` multiplies).
    #[test]
    fn empty_string_tokens() {
        let docs = || {
            str_lists(&[
                Some(vec![Some(""), Some("a"), Some(""), Some("b")]),
                Some(vec![Some("a"), Some(""), Some(""), Some("")]),
            ])
        };
        let with_empty = build(
            "count_vectorizer",
            json!({"input": "w", "output": "v", "vocabulary": ["", "a"]}),
        );
        let got = read_vectors(&run(&with_empty, &[("w", docs())]).unwrap()[0]);
        assert_eq!(got[0], Some(V::Sparse(2, vec![0, 1], vec![2.0, 1.0])));
        assert_eq!(got[1], Some(V::Sparse(2, vec![0, 1], vec![3.0, 1.0])));

        // 4 tokens × 0.5 = 2: "a" (once) is dropped although the empty tokens are not in
        // the vocabulary.
        let without = build(
            "count_vectorizer",
            json!({"input": "w", "output": "v", "vocabulary": ["a"], "min_tf": 0.5}),
        );
        let got = read_vectors(&run(&without, &[("w", docs())]).unwrap()[0]);
        assert_eq!(got[0], Some(V::Sparse(1, vec![], vec![])));
        assert_eq!(got[1], Some(V::Sparse(1, vec![], vec![])));
        let plain = build(
            "count_vectorizer",
            json!({"input": "w", "output": "v", "vocabulary": ["a"]}),
        );
        let got = read_vectors(&run(&plain, &[("w", docs())]).unwrap()[0]);
        assert_eq!(got[1], Some(V::Sparse(1, vec![0], vec![1.0])));
    }
}
