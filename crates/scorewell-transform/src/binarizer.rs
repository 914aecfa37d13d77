//! `binarizer`: Spark ML's `Binarizer.transform`
//! (`mllib/src/main/scala/org/apache/spark/ml/feature/Binarizer.scala`, Spark 3.x/4.x).
//!
//! A value becomes 1.0 when strictly greater than the threshold, else 0.0 (NaN gives 0.0).
//! Scalar columns give Float64 (null stays null). Vector columns give vectors stored as
//! Spark's `compressed` chooses; with a threshold ≥ 0 only stored entries can become 1, so a
//! sparse input yields a sparse output, while a negative threshold turns every unstored
//! zero into 1.

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch};
use arrow_schema::{FieldRef, Schema};
use scorewell_core::vector::{VectorBuilder, VectorColumn, is_vector};
use scorewell_core::{Binding, InputColumn, Stage, StageOutput};

use crate::common::{self, Accept, push_compressed};
use crate::error::TransformError;
use crate::registry::{Registry, parse};
use crate::serde_f64;

/// Parameters of [`Binarizer`].
///
/// - `input` + `output`, or `inputs` + `outputs`.
/// - `threshold` (default 0.0): used for every column unless `thresholds` is given.
/// - `thresholds`: one threshold per input of `inputs`.
/// - `vector` (default `false`): the inputs are vector columns (outputs are vectors);
///   otherwise they are numeric columns (outputs Float64). `null` decides per column from
///   the input's type when the stage is bound, as Spark does (the declared
///   [`Stage::output_fields`] are then Float64; the bound schema has the real types).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BinarizerParams {
    /// Input column.
    pub input: Option<String>,
    /// Output column.
    pub output: Option<String>,
    /// Input columns.
    pub inputs: Option<Vec<String>>,
    /// Output columns, one per input.
    pub outputs: Option<Vec<String>>,
    /// The threshold for every column.
    #[serde(default, deserialize_with = "serde_f64::one")]
    pub threshold: f64,
    /// One threshold per input column.
    #[serde(default, deserialize_with = "serde_f64::list")]
    pub thresholds: Vec<f64>,
    /// Whether the inputs are vector columns; `None` decides by each input's type.
    #[serde(default = "scalar")]
    pub vector: Option<bool>,
}

fn scalar() -> Option<bool> {
    Some(false)
}

/// Thresholds values to 0/1 (see the module docs).
#[derive(Debug, Clone)]
pub struct Binarizer {
    name: String,
    inputs: Vec<String>,
    outputs: Vec<String>,
    thresholds: Vec<f64>,
    vector: Option<bool>,
}

impl Binarizer {
    /// Validate `params` and build the stage.
    pub fn new(name: &str, params: BinarizerParams) -> Result<Self, TransformError> {
        let (inputs, outputs, multi) =
            common::column_pairs(params.input, params.output, params.inputs, params.outputs)?;
        let thresholds = if params.thresholds.is_empty() {
            vec![params.threshold; inputs.len()]
        } else if !multi {
            return Err(TransformError::param(
                "thresholds",
                "use `threshold` with `input`",
            ));
        } else if params.thresholds.len() != inputs.len() {
            return Err(TransformError::param(
                "thresholds",
                format!(
                    "has {} values for {} input columns",
                    params.thresholds.len(),
                    inputs.len()
                ),
            ));
        } else {
            params.thresholds
        };
        Ok(Self {
            name: name.to_string(),
            inputs,
            outputs,
            thresholds,
            vector: params.vector,
        })
    }

    fn accept(&self) -> Accept {
        match self.vector {
            Some(true) => Accept::Vector,
            Some(false) => Accept::Numeric,
            None => Accept::NumericOrVector,
        }
    }
}

fn binarize_vectors(array: &ArrayRef, column: &str, t: f64) -> scorewell_core::Result<ArrayRef> {
    let vectors = VectorColumn::try_new(array, column)?;
    let mut b = VectorBuilder::with_capacity(vectors.len());
    let (mut indices, mut values) = (Vec::new(), Vec::new());
    for row in 0..vectors.len() {
        let Some(v) = vectors.get(row) else {
            b.push_null();
            continue;
        };
        indices.clear();
        values.clear();
        if t >= 0.0 {
            v.for_each_active(|i, x| {
                if x > t {
                    indices.push(i as i32);
                    values.push(1.0);
                }
            });
            push_compressed(&mut b, v.len(), &indices, &values);
        } else {
            let mut dense = vec![1.0; v.len()];
            v.for_each_active(|i, x| {
                if x <= t {
                    dense[i] = 0.0;
                }
            });
            common::push_compressed_dense(&mut b, &dense);
        }
    }
    Ok(b.finish())
}

pub(crate) fn register(reg: &mut Registry) {
    reg.add("binarizer", |name, params| {
        Ok(Arc::new(Binarizer::new(name, parse(params)?)?))
    });
}

impl Stage for Binarizer {
    fn name(&self) -> &str {
        &self.name
    }

    fn inputs(&self) -> Vec<InputColumn> {
        common::input_columns(&self.inputs, self.accept())
    }

    fn output_fields(&self) -> Vec<FieldRef> {
        let field = if self.vector == Some(true) {
            common::vector_field
        } else {
            common::f64_field
        };
        self.outputs.iter().map(|o| field(o)).collect()
    }

    fn bind(&self, schema: &Schema) -> scorewell_core::Result<Binding> {
        let accept = self.accept();
        let mut binding = common::bind(
            schema,
            &self.name,
            self.inputs.iter().map(|c| (c.as_str(), accept)),
        )?;
        if self.vector.is_none() {
            let outputs = binding
                .columns
                .iter()
                .zip(&self.outputs)
                .map(|(&i, o)| {
                    if is_vector(schema.field(i).data_type()) {
                        common::vector_field(o)
                    } else {
                        common::f64_field(o)
                    }
                })
                .collect();
            binding.outputs = Some(outputs);
        }
        Ok(binding)
    }

    fn apply(&self, binding: &Binding, batch: &RecordBatch) -> scorewell_core::Result<StageOutput> {
        let mut out = Vec::with_capacity(self.inputs.len());
        for (k, col) in binding.columns.iter().enumerate() {
            let t = self.thresholds[k];
            let array = batch.column(*col);
            let vector = self.vector.unwrap_or_else(|| is_vector(array.data_type()));
            if vector {
                out.push(binarize_vectors(array, &self.inputs[k], t)?);
            } else {
                let values = common::f64_column(array)?;
                let bin: Float64Array = values
                    .iter()
                    .map(|v| v.map(|x| if x > t { 1.0 } else { 0.0 }))
                    .collect();
                out.push(Arc::new(bin) as ArrayRef);
            }
        }
        Ok(out.into())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::testutil::*;

    #[test]
    fn scalars_are_strictly_greater() {
        let stage = build(
            "binarizer",
            json!({"input": "x", "output": "b", "threshold": 0.5}),
        );
        let out = run(
            &stage,
            &[("x", floats(&[Some(0.5), Some(0.51), Some(f64::NAN), None]))],
        )
        .unwrap();
        assert_f64(&out[0], &[Some(0.0), Some(1.0), Some(0.0), None]);
    }

    #[test]
    fn per_column_thresholds() {
        let stage = build(
            "binarizer",
            json!({"inputs": ["a", "b"], "outputs": ["a_b", "b_b"], "thresholds": [1, -1]}),
        );
        let out = run(
            &stage,
            &[
                ("a", ints(&[Some(1), Some(2)])),
                ("b", bools(&[Some(false), None])),
            ],
        )
        .unwrap();
        assert_f64(&out[0], &[Some(0.0), Some(1.0)]);
        assert_f64(&out[1], &[Some(1.0), None]);
    }

    #[test]
    fn sparse_stays_sparse_and_negative_threshold_fills() {
        let stage = build(
            "binarizer",
            json!({"input": "v", "output": "b", "threshold": 0.5, "vector": true}),
        );
        let input = || {
            vectors(&[
                Some(V::Sparse(6, vec![1, 4], vec![0.7, 0.2])),
                Some(V::Dense(vec![1.0, 2.0])),
                Some(V::Dense(vec![])),
                None,
            ])
        };
        let out = run(&stage, &[("v", input())]).unwrap();
        let got = read_vectors(&out[0]);
        assert_eq!(got[0], Some(V::Sparse(6, vec![1], vec![1.0])));
        assert_eq!(got[1], Some(V::Dense(vec![1.0, 1.0])));
        assert_eq!(got[2], Some(V::Dense(vec![])));
        assert_eq!(got[3], None);

        let negative = build(
            "binarizer",
            json!({"input": "v", "output": "b", "threshold": -0.5, "vector": true}),
        );
        let out = run(
            &negative,
            &[("v", vectors(&[Some(V::Sparse(3, vec![1], vec![-1.0]))]))],
        )
        .unwrap();
        assert_eq!(
            read_vectors(&out[0])[0],
            Some(V::Dense(vec![1.0, 0.0, 1.0]))
        );
    }

    #[test]
    fn vector_null_decides_each_column_by_its_type_at_bind_time() {
        // See: issue 6 (Spark picks scalar or vector behaviour from the input schema).
        let stage = build(
            "binarizer",
            json!({"inputs": ["x", "v"], "outputs": ["xb", "vb"], "thresholds": [0.5, 0.5], "vector": null}),
        );
        assert!(stage.inputs().iter().all(|i| !i.numeric));
        let cols = [
            ("x", floats(&[Some(0.7), Some(0.1)])),
            ("v", vectors(&[Some(V::Dense(vec![0.7, 0.1])), None])),
        ];
        let batch = batch(&cols);
        let binding = stage.bind(&batch.schema()).unwrap();
        let types: Vec<bool> = binding
            .outputs
            .iter()
            .flatten()
            .map(|f| scorewell_core::vector::is_vector(f.data_type()))
            .collect();
        assert_eq!(types, [false, true]);
        let out = run(&stage, &cols).unwrap();
        assert_f64(&out[0], &[Some(1.0), Some(0.0)]);
        assert_eq!(
            read_vectors(&out[1]),
            vec![Some(V::Dense(vec![1.0, 0.0])), None]
        );
    }

    #[test]
    fn a_vector_column_without_the_flag_is_a_type_error() {
        let stage = build("binarizer", json!({"input": "v", "output": "b"}));
        let err = run(&stage, &[("v", vectors(&[None]))]).unwrap_err();
        assert!(
            err.to_string().starts_with("column `v` has type Struct"),
            "{err}"
        );
        assert!(
            err.to_string()
                .ends_with("expected a number (integer, float, decimal or boolean)"),
            "{err}"
        );
    }
}
