//! `one_hot_encoder`: Spark ML's `OneHotEncoderModel.transform`
//! (`mllib/src/main/scala/org/apache/spark/ml/feature/OneHotEncoder.scala`, Spark 3.x/4.x).
//!
//! A category index `x` (a number, truncated to an integer when `0 <= x < category_size`)
//! becomes a sparse vector with a single 1.0 at `x`. The vector length is `category_size`,
//! minus one with `drop_last` (the last category encodes as all zeros), plus one with
//! `handle_invalid = "keep"` (an extra slot for invalid values; with `drop_last` too, that
//! slot is the dropped one, so invalid values encode as all zeros). Invalid values are
//! negative, NaN or ≥ `category_size`: with `error` they fail the batch. Null gives null.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{FieldRef, Schema};
use scorewell_core::vector::VectorBuilder;
use scorewell_core::{Binding, InputColumn, Stage, StageOutput};

use crate::common::{self, Accept, HandleInvalid};
use crate::error::{TransformError, invalid};
use crate::java;
use crate::registry::{Registry, parse};

/// Parameters of [`OneHotEncoder`].
///
/// - `input` + `output`, or `inputs` + `outputs`: numeric index columns in, vector columns
///   out.
/// - `category_sizes` (required): the number of categories per input column, as fitted
///   (Spark's model data `categorySizes`).
/// - `drop_last` (default `true`): leave out the last category.
/// - `handle_invalid` (default `error`): `error` or `keep`; Spark's OneHotEncoder has no
///   `skip`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OneHotEncoderParams {
    /// Input column.
    pub input: Option<String>,
    /// Output column.
    pub output: Option<String>,
    /// Input columns.
    pub inputs: Option<Vec<String>>,
    /// Output columns, one per input.
    pub outputs: Option<Vec<String>>,
    /// Categories per input column.
    pub category_sizes: Vec<usize>,
    /// Leave out the last category.
    #[serde(default = "yes")]
    pub drop_last: bool,
    /// What invalid indices do.
    #[serde(default)]
    pub handle_invalid: HandleInvalid,
}

fn yes() -> bool {
    true
}

/// One-hot encodes category indices (see the module docs).
#[derive(Debug, Clone)]
pub struct OneHotEncoder {
    name: String,
    inputs: Vec<String>,
    outputs: Vec<String>,
    category_sizes: Vec<usize>,
    /// Output vector length per input.
    sizes: Vec<usize>,
    keep_invalid: bool,
}

impl OneHotEncoder {
    /// Validate `params` and build the stage.
    pub fn new(name: &str, params: OneHotEncoderParams) -> Result<Self, TransformError> {
        let (inputs, outputs, _) =
            common::column_pairs(params.input, params.output, params.inputs, params.outputs)?;
        if params.handle_invalid == HandleInvalid::Skip {
            return Err(TransformError::param(
                "handle_invalid",
                "OneHotEncoder supports `error` and `keep`, not `skip`",
            ));
        }
        if params.category_sizes.len() != inputs.len() {
            return Err(TransformError::param(
                "category_sizes",
                format!(
                    "has {} values for {} input columns",
                    params.category_sizes.len(),
                    inputs.len()
                ),
            ));
        }
        for (i, n) in params.category_sizes.iter().enumerate() {
            common::check_vector_size(&format!("category_sizes[{i}]"), *n + 1)?;
        }
        let keep_invalid = params.handle_invalid == HandleInvalid::Keep;
        let sizes = params
            .category_sizes
            .iter()
            .map(|n| match (params.drop_last, keep_invalid) {
                (false, true) => n + 1,
                (true, false) => n.saturating_sub(1),
                _ => *n,
            })
            .collect();
        Ok(Self {
            name: name.to_string(),
            inputs,
            outputs,
            category_sizes: params.category_sizes,
            sizes,
            keep_invalid,
        })
    }
}

pub(crate) fn register(reg: &mut Registry) {
    reg.add("one_hot_encoder", |name, params| {
        Ok(Arc::new(OneHotEncoder::new(name, parse(params)?)?))
    });
}

impl Stage for OneHotEncoder {
    fn name(&self) -> &str {
        &self.name
    }

    fn inputs(&self) -> Vec<InputColumn> {
        common::input_columns(&self.inputs, Accept::Numeric)
    }

    fn output_fields(&self) -> Vec<FieldRef> {
        self.outputs
            .iter()
            .map(|o| common::vector_field(o))
            .collect()
    }

    fn bind(&self, schema: &Schema) -> scorewell_core::Result<Binding> {
        common::bind(
            schema,
            &self.name,
            self.inputs.iter().map(|c| (c.as_str(), Accept::Numeric)),
        )
    }

    fn apply(&self, binding: &Binding, batch: &RecordBatch) -> scorewell_core::Result<StageOutput> {
        let mut out = Vec::with_capacity(self.inputs.len());
        for (k, col) in binding.columns.iter().enumerate() {
            let values = common::f64_column(batch.column(*col))?;
            let categories = self.category_sizes[k];
            let size = self.sizes[k];
            let mut b = VectorBuilder::with_capacity(values.len());
            for (row, v) in values.iter().enumerate() {
                let Some(label) = v else {
                    b.push_null();
                    continue;
                };
                let index = if label >= 0.0 && label < categories as f64 {
                    label as usize
                } else if self.keep_invalid {
                    categories
                } else {
                    let what = if label < 0.0 { "negative" } else { "unseen" };
                    return Err(invalid(
                        &self.inputs[k],
                        row,
                        format!(
                            "{what} category index {} (the encoder knows {categories} categories); \
                             set handle_invalid to \"keep\" to encode invalid values",
                            java::double_to_string(label)
                        ),
                    ));
                };
                if index < size {
                    b.push_sparse(size, &[index as i32], &[1.0]);
                } else {
                    b.push_sparse(size, &[], &[]);
                }
            }
            out.push(b.finish());
        }
        Ok(out.into())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::testutil::*;

    fn encode(
        drop_last: bool,
        handle_invalid: &str,
        x: &[Option<f64>],
    ) -> Result<Vec<Option<V>>, String> {
        let stage = build(
            "one_hot_encoder",
            json!({"input": "x", "output": "v", "category_sizes": [3],
                   "drop_last": drop_last, "handle_invalid": handle_invalid}),
        );
        run(&stage, &[("x", floats(x))])
            .map(|o| read_vectors(&o[0]))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn drop_last_and_keep_combinations() {
        let x = [
            Some(0.0),
            Some(2.0),
            Some(1.5),
            Some(3.0),
            Some(-1.0),
            Some(f64::NAN),
            None,
        ];
        let sp = |i: &[i32], n| Some(V::Sparse(n, i.to_vec(), vec![1.0; i.len()]));
        assert_eq!(
            encode(true, "keep", &x).unwrap(),
            vec![
                sp(&[0], 3),
                sp(&[2], 3),
                sp(&[1], 3),
                sp(&[], 3),
                sp(&[], 3),
                sp(&[], 3),
                None
            ]
        );
        assert_eq!(
            encode(false, "keep", &x).unwrap(),
            vec![
                sp(&[0], 4),
                sp(&[2], 4),
                sp(&[1], 4),
                sp(&[3], 4),
                sp(&[3], 4),
                sp(&[3], 4),
                None
            ]
        );
        assert_eq!(
            encode(true, "error", &x[..3]).unwrap(),
            vec![sp(&[0], 2), sp(&[], 2), sp(&[1], 2)]
        );
        assert_eq!(encode(false, "error", &x[..1]).unwrap(), vec![sp(&[0], 3)]);
    }

    #[test]
    fn invalid_values_fail_with_error() {
        let err = encode(true, "error", &[Some(0.0), Some(-1.0)]).unwrap_err();
        assert!(
            err.contains("column `x`, row 1 of the batch: negative category index -1.0"),
            "{err}"
        );
        let err = encode(true, "error", &[Some(f64::NAN)]).unwrap_err();
        assert!(err.contains("unseen category index NaN"), "{err}");
        assert_eq!(
            build_err(
                "one_hot_encoder",
                json!({"input": "x", "output": "v", "category_sizes": [3], "handle_invalid": "skip"})
            ),
            "handle_invalid: OneHotEncoder supports `error` and `keep`, not `skip`"
        );
        assert_eq!(
            build_err(
                "one_hot_encoder",
                json!({"input": "x", "output": "v", "category_sizes": [-3]})
            ),
            "category_sizes[0]: invalid value: integer `-3`, expected usize"
        );
    }
}
