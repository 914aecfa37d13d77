//! `feature_hasher`: Spark ML's `FeatureHasher.transform`
//! (`mllib/src/main/scala/org/apache/spark/ml/feature/FeatureHasher.scala`, Spark 2.3–4.x).
//!
//! Numeric columns not listed in `categorical_cols` add their value at index
//! `nonNegativeMod(murmur3("<column>"), num_features)`; string and boolean columns, and
//! numeric columns listed in `categorical_cols`, add 1.0 at the index of
//! `"<column>=<value>"`, the value written as Spark's `toString` does (`true`, `3`, `2.0`).
//! Strings hash their UTF-8 bytes with the reference MurmurHash3 (seed 42). Collisions add
//! up; nulls are skipped; indices are ascending and zeros stay stored (a numeric 0.0 is an
//! explicit entry), as Spark's `Vectors.sparse(n, seq)` keeps them. `categorical_cols`
//! entries that are not inputs are ignored, as in Spark.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, FieldRef, Schema};
use scorewell_core::vector::VectorBuilder;
use scorewell_core::{Binding, InputColumn, Stage, StageOutput};

use crate::common::{self, Accept};
use crate::error::TransformError;
use crate::hashing_tf::{checked_num_features, default_num_features};
use crate::murmur3::{self, SEED};
use crate::registry::{Registry, parse};

/// Parameters of [`FeatureHasher`].
///
/// - `inputs` (required, non-empty): numeric, boolean or string columns.
/// - `output`: a vector column.
/// - `num_features` (default 2^18 = 262144, at least 1): the vector size.
/// - `categorical_cols` (default none): numeric inputs to treat as categories.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureHasherParams {
    /// Columns to hash.
    pub inputs: Vec<String>,
    /// Vector column.
    pub output: String,
    /// Vector size.
    #[serde(default = "default_num_features")]
    pub num_features: usize,
    /// Numeric columns hashed as categories.
    #[serde(default)]
    pub categorical_cols: Vec<String>,
}

/// Hashes several columns into one vector (see the module docs).
#[derive(Debug, Clone)]
pub struct FeatureHasher {
    name: String,
    inputs: Vec<String>,
    output: String,
    num_features: i32,
    categorical: Vec<bool>,
}

impl FeatureHasher {
    /// Validate `params` and build the stage.
    pub fn new(name: &str, params: FeatureHasherParams) -> Result<Self, TransformError> {
        if params.inputs.is_empty() {
            return Err(TransformError::param(
                "inputs",
                "must name at least one column",
            ));
        }
        common::check_names("inputs", &params.inputs, false)?;
        common::check_names("output", std::slice::from_ref(&params.output), false)?;
        let num_features = checked_num_features(params.num_features)?;
        let categorical = params
            .inputs
            .iter()
            .map(|c| params.categorical_cols.contains(c))
            .collect();
        Ok(Self {
            name: name.to_string(),
            inputs: params.inputs,
            output: params.output,
            num_features,
            categorical,
        })
    }

    fn index(&self, term: &str) -> i32 {
        common::non_negative_mod(
            murmur3::hash_bytes(term.as_bytes(), SEED),
            self.num_features,
        )
    }
}

pub(crate) fn register(reg: &mut Registry) {
    reg.add("feature_hasher", |name, params| {
        Ok(Arc::new(FeatureHasher::new(name, parse(params)?)?))
    });
}

impl Stage for FeatureHasher {
    fn name(&self) -> &str {
        &self.name
    }

    fn inputs(&self) -> Vec<InputColumn> {
        common::input_columns(&self.inputs, Accept::Scalar)
    }

    fn output_fields(&self) -> Vec<FieldRef> {
        vec![common::vector_field(&self.output)]
    }

    fn bind(&self, schema: &Schema) -> scorewell_core::Result<Binding> {
        common::bind(
            schema,
            &self.name,
            self.inputs.iter().map(|c| (c.as_str(), Accept::Scalar)),
        )
    }

    fn apply(&self, binding: &Binding, batch: &RecordBatch) -> scorewell_core::Result<StageOutput> {
        let rows = batch.num_rows();
        let mut entries: Vec<BTreeMap<i32, f64>> = vec![BTreeMap::new(); rows];
        for (k, col) in binding.columns.iter().enumerate() {
            let array = batch.column(*col);
            let column = &self.inputs[k];
            let numeric = common::is_numeric(array.data_type())
                && !matches!(array.data_type(), DataType::Boolean | DataType::Null);
            if numeric && !self.categorical[k] {
                let index = self.index(column);
                let values = common::f64_column(array)?;
                for (row, v) in values.iter().enumerate() {
                    if let Some(x) = v {
                        *entries[row].entry(index).or_insert(0.0) += x;
                    }
                }
            } else {
                let values = common::spark_string_column(array)?;
                let mut term = String::new();
                for (value, entry) in values.iter().zip(entries.iter_mut()) {
                    let Some(value) = value else { continue };
                    term.clear();
                    term.push_str(column);
                    term.push('=');
                    term.push_str(value);
                    *entry.entry(self.index(&term)).or_insert(0.0) += 1.0;
                }
            }
        }
        let mut b = VectorBuilder::with_capacity(rows);
        for row in entries {
            let indices: Vec<i32> = row.keys().copied().collect();
            let values: Vec<f64> = row.values().copied().collect();
            b.push_sparse(self.num_features as usize, &indices, &values);
        }
        Ok(vec![b.finish()].into())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::testutil::*;

    #[test]
    fn hashes_numeric_and_categorical_columns() {
        // Expected indices: Python, `mmh3.hash(term.encode(), 42) % 2**18`, for the terms
        // "real", "bool=true", "string=foo", "num=2" (num listed as categorical), "string=bar".
        let stage = build(
            "feature_hasher",
            json!({"inputs": ["real", "bool", "string", "num"], "output": "f", "categorical_cols": ["num", "absent"]}),
        );
        let out = run(
            &stage,
            &[
                ("real", floats(&[Some(2.5), Some(0.0), None])),
                ("bool", bools(&[Some(true), None, None])),
                ("string", strs(&[Some("foo"), Some("bar"), None])),
                ("num", ints(&[Some(2), None, None])),
            ],
        )
        .unwrap();
        let got = read_vectors(&out[0]);
        let mut row0 = vec![
            (REAL, 2.5),
            (BOOL_TRUE, 1.0),
            (STRING_FOO, 1.0),
            (NUM_2, 1.0),
        ];
        row0.sort_by_key(|e| e.0);
        let (i0, v0): (Vec<i32>, Vec<f64>) = row0.into_iter().unzip();
        assert_eq!(got[0], Some(V::Sparse(262144, i0, v0)));
        let mut row1 = vec![(REAL, 0.0), (STRING_BAR, 1.0)];
        row1.sort_by_key(|e| e.0);
        let (i1, v1): (Vec<i32>, Vec<f64>) = row1.into_iter().unzip();
        assert_eq!(got[1], Some(V::Sparse(262144, i1, v1)));
        assert_eq!(got[2], Some(V::Sparse(262144, vec![], vec![])));
    }

    const REAL: i32 = 174475;
    const BOOL_TRUE: i32 = 247670;
    const STRING_FOO: i32 = 257907;
    const NUM_2: i32 = 48553;
    const STRING_BAR: i32 = 173866;

    #[test]
    fn collisions_add_up_and_float_categories_print_like_java() {
        // num_features 1: everything lands at index 0.
        let stage = build(
            "feature_hasher",
            json!({"inputs": ["a", "b"], "output": "f", "num_features": 1, "categorical_cols": ["b"]}),
        );
        let out = run(
            &stage,
            &[("a", ints(&[Some(3)])), ("b", floats(&[Some(1.0)]))],
        )
        .unwrap();
        assert_eq!(
            read_vectors(&out[0])[0],
            Some(V::Sparse(1, vec![0], vec![4.0]))
        );
        assert_eq!(
            build_err("feature_hasher", json!({"inputs": [], "output": "f"})),
            "inputs: must name at least one column"
        );
    }

    /// A numeric NaN is a value like any other (stored, and it poisons what it collides
    /// with); a categorical NaN is the category `NaN` (Java's `Double.toString`); an empty
    /// string is the category `""`. Indices: `mmh3.hash(term.encode(), 42) % 2**18`.
    #[test]
    fn nan_and_empty_strings() {
        let stage = build(
            "feature_hasher",
            json!({"inputs": ["x", "b", "s"], "output": "f", "categorical_cols": ["b"]}),
        );
        let out = run(
            &stage,
            &[
                ("x", floats(&[Some(f64::NAN), None])),
                ("b", floats(&[Some(f64::NAN), None])),
                ("s", strs(&[Some(""), Some("")])),
            ],
        )
        .unwrap();
        let got = read_vectors(&out[0]);
        // Sorted: b=NaN (49160), x (130154), s= (157705).
        match &got[0] {
            Some(V::Sparse(262144, indices, values)) => {
                assert_eq!(indices, &[B_NAN, X, S_EMPTY]);
                assert_eq!(values[0], 1.0);
                assert!(values[1].is_nan(), "{values:?}");
                assert_eq!(values[2], 1.0);
            }
            other => panic!("expected a sparse vector, got {other:?}"),
        }
        assert_eq!(got[1], Some(V::Sparse(262144, vec![S_EMPTY], vec![1.0])));

        // One bucket: 3 + NaN is NaN.
        let one = build(
            "feature_hasher",
            json!({"inputs": ["a", "x"], "output": "f", "num_features": 1}),
        );
        let out = run(
            &one,
            &[("a", ints(&[Some(3)])), ("x", floats(&[Some(f64::NAN)]))],
        )
        .unwrap();
        match &read_vectors(&out[0])[0] {
            Some(V::Sparse(1, indices, values)) => {
                assert_eq!(indices, &[0]);
                assert!(values[0].is_nan(), "{values:?}");
            }
            other => panic!("expected a sparse vector, got {other:?}"),
        }
    }

    const X: i32 = 130154;
    const B_NAN: i32 = 49160;
    const S_EMPTY: i32 = 157705;
}
