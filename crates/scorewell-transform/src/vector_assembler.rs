//! `vector_assembler`: Spark ML's `VectorAssembler.transform` and `VectorAssembler.assemble`
//! (`mllib/src/main/scala/org/apache/spark/ml/feature/VectorAssembler.scala`, Spark 3.x/4.x).
//!
//! Numeric, boolean (0/1) and vector columns are concatenated in `inputs` order. The result
//! is stored as Spark's `Vectors.sparse(...).compressed` chooses: sparse when
//! `1.5 * (nnz + 1) < size`, dense otherwise (NaN counts as non-zero). `handle_invalid`:
//!
//! - `error`: a null in any input, or NaN in a numeric input, fails the batch (NaN inside a
//!   vector passes, as in Spark).
//! - `skip`: rows with a null in any input or NaN in a numeric input are dropped.
//! - `keep`: a null numeric gives NaN; a null vector gives as many NaN as the vector's size,
//!   which must be known from `vector_sizes` (Spark reads it from `VectorSizeHint`
//!   metadata).

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::{Array, Float64Array, RecordBatch};
use arrow_schema::{FieldRef, Schema};
use scorewell_core::vector::{VectorBuilder, VectorColumn, is_vector};
use scorewell_core::{Binding, InputColumn, Stage, StageOutput};

use crate::common::{self, Accept, HandleInvalid, push_compressed};
use crate::error::{TransformError, invalid};
use crate::registry::{Registry, parse};

/// Parameters of [`VectorAssembler`].
///
/// - `inputs` (required, non-empty): numeric, boolean or vector columns.
/// - `output`: the vector column.
/// - `handle_invalid` (default `error`): `error`, `skip` or `keep` (see the module docs).
/// - `vector_sizes` (optional): size of each vector input by column name, needed for null
///   vectors under `keep`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VectorAssemblerParams {
    /// Columns to concatenate.
    pub inputs: Vec<String>,
    /// Vector output column.
    pub output: String,
    /// What null and NaN do.
    #[serde(default)]
    pub handle_invalid: HandleInvalid,
    /// Known sizes of vector inputs.
    #[serde(default)]
    pub vector_sizes: BTreeMap<String, usize>,
}

/// Concatenates columns into one vector (see the module docs).
#[derive(Debug, Clone)]
pub struct VectorAssembler {
    name: String,
    inputs: Vec<String>,
    output: String,
    handle_invalid: HandleInvalid,
    vector_sizes: BTreeMap<String, usize>,
}

impl VectorAssembler {
    /// Validate `params` and build the stage.
    pub fn new(name: &str, params: VectorAssemblerParams) -> Result<Self, TransformError> {
        if params.inputs.is_empty() {
            return Err(TransformError::param(
                "inputs",
                "must name at least one column",
            ));
        }
        common::check_names("inputs", &params.inputs, false)?;
        common::check_names("output", std::slice::from_ref(&params.output), false)?;
        for name in params.vector_sizes.keys() {
            if !params.inputs.contains(name) {
                return Err(TransformError::param(
                    format!("vector_sizes.{name}"),
                    "is not one of `inputs`",
                ));
            }
        }
        Ok(Self {
            name: name.to_string(),
            inputs: params.inputs,
            output: params.output,
            handle_invalid: params.handle_invalid,
            vector_sizes: params.vector_sizes,
        })
    }
}

enum Part {
    Scalar(Float64Array),
    Vector(Box<VectorColumn>),
}

pub(crate) fn register(reg: &mut Registry) {
    reg.add("vector_assembler", |name, params| {
        Ok(Arc::new(VectorAssembler::new(name, parse(params)?)?))
    });
}

impl Stage for VectorAssembler {
    fn name(&self) -> &str {
        &self.name
    }

    fn inputs(&self) -> Vec<InputColumn> {
        common::input_columns(&self.inputs, Accept::NumericOrVector)
    }

    fn output_fields(&self) -> Vec<FieldRef> {
        vec![common::vector_field(&self.output)]
    }

    fn bind(&self, schema: &Schema) -> scorewell_core::Result<Binding> {
        common::bind(
            schema,
            &self.name,
            self.inputs
                .iter()
                .map(|c| (c.as_str(), Accept::NumericOrVector)),
        )
    }

    fn apply(&self, binding: &Binding, batch: &RecordBatch) -> scorewell_core::Result<StageOutput> {
        let parts: Vec<Part> = binding
            .columns
            .iter()
            .zip(&self.inputs)
            .map(|(c, name)| {
                let array = batch.column(*c);
                if is_vector(array.data_type()) {
                    VectorColumn::try_new(array, name).map(|v| Part::Vector(Box::new(v)))
                } else {
                    common::f64_column(array).map(Part::Scalar)
                }
            })
            .collect::<Result<_, _>>()?;
        let rows = batch.num_rows();
        let mut keep = vec![true; rows];
        let mut b = VectorBuilder::with_capacity(rows);
        let (mut indices, mut values) = (Vec::new(), Vec::new());
        'rows: for (row, kept) in keep.iter_mut().enumerate() {
            indices.clear();
            values.clear();
            let mut size = 0usize;
            for (part, column) in parts.iter().zip(&self.inputs) {
                let bad = match part {
                    Part::Scalar(a) => match (a.is_valid(row), a.value(row)) {
                        (false, _) => Some("null"),
                        (true, x) if x.is_nan() => Some("NaN"),
                        (true, x) => {
                            if x != 0.0 {
                                indices.push(size as i32);
                                values.push(x);
                            }
                            size += 1;
                            None
                        }
                    },
                    Part::Vector(v) => match v.get(row) {
                        None => Some("null"),
                        Some(v) => {
                            v.for_each_active(|i, x| {
                                if x != 0.0 {
                                    indices.push((size + i) as i32);
                                    values.push(x);
                                }
                            });
                            size += v.len();
                            None
                        }
                    },
                };
                let Some(what) = bad else { continue };
                match self.handle_invalid {
                    HandleInvalid::Skip => {
                        *kept = false;
                        b.push_null();
                        continue 'rows;
                    }
                    HandleInvalid::Error => {
                        return Err(invalid(
                            column,
                            row,
                            format!(
                                "{what} while assembling a vector; set handle_invalid to \"keep\" \
                                 or \"skip\" to keep or drop such rows"
                            ),
                        ));
                    }
                    HandleInvalid::Keep => {
                        let n = match part {
                            Part::Scalar(_) => 1,
                            Part::Vector(_) => match self.vector_sizes.get(column) {
                                Some(n) => *n,
                                None => {
                                    return Err(invalid(
                                        column,
                                        row,
                                        "null vector with handle_invalid = \"keep\" and no size \
                                         for it in `vector_sizes`",
                                    ));
                                }
                            },
                        };
                        for i in 0..n {
                            indices.push((size + i) as i32);
                            values.push(f64::NAN);
                        }
                        size += n;
                    }
                }
            }
            if size > i32::MAX as usize {
                return Err(invalid(
                    &self.output,
                    row,
                    "assembled vector exceeds 2^31 - 1 values",
                ));
            }
            push_compressed(&mut b, size, &indices, &values);
        }
        Ok(StageOutput {
            columns: vec![b.finish()],
            keep: common::keep_mask(keep),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::testutil::*;

    #[test]
    fn concatenates_and_compresses_like_spark() {
        let stage = build(
            "vector_assembler",
            json!({"inputs": ["a", "v", "b"], "output": "f"}),
        );
        let out = run(
            &stage,
            &[
                ("a", floats(&[Some(1.0), Some(0.0)])),
                (
                    "v",
                    vectors(&[
                        Some(V::Dense(vec![2.0, f64::NAN])),
                        Some(V::Sparse(6, vec![5], vec![3.0])),
                    ]),
                ),
                ("b", bools(&[Some(true), Some(false)])),
            ],
        )
        .unwrap();
        let got = read_vectors(&out[0]);
        // Row 0: 4 values, 3 non-zero (NaN counts) → dense. Row 1: 8 values, 1 non-zero → sparse.
        assert_dense(&got[0], &[1.0, 2.0, f64::NAN, 1.0]);
        assert_eq!(got[1], Some(V::Sparse(8, vec![6], vec![3.0])));
    }

    #[test]
    fn error_skip_and_keep() {
        let cols = || {
            vec![
                ("a", ints(&[Some(1), None, Some(2)])),
                ("f", floats(&[Some(f64::NAN), Some(1.0), Some(2.0)])),
                (
                    "v",
                    vectors(&[Some(V::Dense(vec![1.0])), Some(V::Dense(vec![2.0])), None]),
                ),
            ]
        };
        let error = build(
            "vector_assembler",
            json!({"inputs": ["a", "f", "v"], "output": "o"}),
        );
        let err = run(&error, &cols()).unwrap_err();
        assert!(
            err.to_string()
                .contains("column `f`, row 0 of the batch: NaN while assembling"),
            "{err}"
        );

        let skip = build(
            "vector_assembler",
            json!({"inputs": ["a", "f", "v"], "output": "o", "handle_invalid": "skip"}),
        );
        let out = run_full(&skip, &cols()).unwrap();
        assert_eq!(kept(&out), vec![false, false, false]);

        let keep = build(
            "vector_assembler",
            json!({"inputs": ["a", "f", "v"], "output": "o", "handle_invalid": "keep", "vector_sizes": {"v": 2}}),
        );
        let got = read_vectors(&run(&keep, &cols()).unwrap()[0]);
        assert_dense(&got[0], &[1.0, f64::NAN, 1.0]);
        assert_dense(&got[1], &[f64::NAN, 1.0, 2.0]);
        assert_dense(&got[2], &[2.0, 2.0, f64::NAN, f64::NAN]);

        let keep_unsized = build(
            "vector_assembler",
            json!({"inputs": ["v"], "output": "o", "handle_invalid": "keep"}),
        );
        let err = run(&keep_unsized, &[("v", vectors(&[None]))]).unwrap_err();
        assert!(
            err.to_string().contains("no size for it in `vector_sizes`"),
            "{err}"
        );
    }

    #[test]
    fn rejects_strings_and_unknown_size_names() {
        let stage = build("vector_assembler", json!({"inputs": ["s"], "output": "o"}));
        let err = run(&stage, &[("s", strs(&[Some("x")]))]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("column `s` has type Utf8, expected a number"),
            "{err}"
        );
        assert_eq!(
            build_err(
                "vector_assembler",
                json!({"inputs": ["a"], "output": "o", "vector_sizes": {"b": 2}})
            ),
            "vector_sizes.b: is not one of `inputs`"
        );
    }
}
