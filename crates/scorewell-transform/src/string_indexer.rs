//! `string_indexer`: Spark ML's `StringIndexerModel.transform`
//! (`mllib/src/main/scala/org/apache/spark/ml/feature/StringIndexer.scala`, Spark 3.x/4.x).
//!
//! Each value is looked up in its column's `labels` (index = position; with a label listed
//! twice the later position wins, as Spark's map does). Numeric columns are first cast to
//! strings as Spark's `cast(StringType)` does (`1`, `1.0`, `1.0E7`, `NaN`), so labels fitted
//! on numbers match. Unseen values and nulls follow `handle_invalid`:
//!
//! - `error`: fail the batch.
//! - `keep`: index `labels.len()`.
//! - `skip`: drop the row (rows with null, NaN in a float column, or an unseen value in any
//!   input column).
//!
//! An input column absent from the scored batch is skipped with its output, as Spark's
//! `StringIndexerModel.transform` skips it (a label indexer in a pipeline scored on rows
//! without the label): the inputs are declared [optional](scorewell_core::InputColumn::optional)
//! and the binding drops their outputs. Under `skip` Spark still filters on every input, so
//! an absent input is an error there, as in Spark.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, FieldRef, Schema};
use scorewell_core::{Binding, InputColumn, Stage, StageOutput};

use crate::common::{self, Accept, HandleInvalid};
use crate::error::{TransformError, invalid};
use crate::registry::{Registry, parse};

/// Parameters of [`StringIndexer`].
///
/// - `input` + `output` with `labels`, or `inputs` + `outputs` with `labels_array` (one
///   label list per input): string or numeric columns in, Float64 indices out.
/// - `labels`: the fitted labels in index order (Spark's model data `labelsArray[i]`).
/// - `handle_invalid` (default `error`): `error`, `skip` or `keep` (see the module docs).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StringIndexerParams {
    /// Input column.
    pub input: Option<String>,
    /// Output column.
    pub output: Option<String>,
    /// Input columns.
    pub inputs: Option<Vec<String>>,
    /// Output columns, one per input.
    pub outputs: Option<Vec<String>>,
    /// Labels for `input`, in index order.
    pub labels: Option<Vec<String>>,
    /// Labels per input of `inputs`, in index order.
    pub labels_array: Option<Vec<Vec<String>>>,
    /// What unseen values and nulls do.
    #[serde(default)]
    pub handle_invalid: HandleInvalid,
}

/// Maps labels to indices (see the module docs).
#[derive(Debug, Clone)]
pub struct StringIndexer {
    name: String,
    inputs: Vec<String>,
    outputs: Vec<String>,
    /// Per input: label → index, and the number of labels.
    index: Vec<(HashMap<String, f64>, usize)>,
    handle_invalid: HandleInvalid,
}

impl StringIndexer {
    /// Validate `params` and build the stage.
    pub fn new(name: &str, params: StringIndexerParams) -> Result<Self, TransformError> {
        let (inputs, outputs, multi) =
            common::column_pairs(params.input, params.output, params.inputs, params.outputs)?;
        let labels = match (multi, params.labels, params.labels_array) {
            (false, Some(labels), None) => vec![labels],
            (true, None, Some(array)) => {
                if array.len() != inputs.len() {
                    return Err(TransformError::param(
                        "labels_array",
                        format!(
                            "has {} lists for {} input columns",
                            array.len(),
                            inputs.len()
                        ),
                    ));
                }
                array
            }
            (false, _, Some(_)) => {
                return Err(TransformError::param(
                    "labels_array",
                    "use `labels` with `input`",
                ));
            }
            (true, Some(_), _) => {
                return Err(TransformError::param(
                    "labels",
                    "use `labels_array` with `inputs`",
                ));
            }
            (false, None, None) => return Err(TransformError::param("", "missing field `labels`")),
            (true, None, None) => {
                return Err(TransformError::param("", "missing field `labels_array`"));
            }
        };
        let index = labels
            .into_iter()
            .map(|labels| {
                let n = labels.len();
                let map = labels
                    .into_iter()
                    .enumerate()
                    .map(|(i, l)| (l, i as f64))
                    .collect();
                (map, n)
            })
            .collect();
        Ok(Self {
            name: name.to_string(),
            inputs,
            outputs,
            index,
            handle_invalid: params.handle_invalid,
        })
    }
}

impl StringIndexer {
    /// Whether absent inputs are skipped: not under `skip`, whose row filter reads them all.
    fn optional(&self) -> bool {
        self.handle_invalid != HandleInvalid::Skip
    }
}

pub(crate) fn register(reg: &mut Registry) {
    reg.add("string_indexer", |name, params| {
        Ok(Arc::new(StringIndexer::new(name, parse(params)?)?))
    });
}

impl Stage for StringIndexer {
    fn name(&self) -> &str {
        &self.name
    }

    fn inputs(&self) -> Vec<InputColumn> {
        let mut inputs = common::input_columns(&self.inputs, Accept::StringOrNumeric);
        for i in &mut inputs {
            i.optional = self.optional();
        }
        inputs
    }

    fn output_fields(&self) -> Vec<FieldRef> {
        self.outputs.iter().map(|o| common::f64_field(o)).collect()
    }

    fn bind(&self, schema: &Schema) -> scorewell_core::Result<Binding> {
        let present: Vec<usize> = (0..self.inputs.len())
            .filter(|&k| !self.optional() || schema.column_with_name(&self.inputs[k]).is_some())
            .collect();
        let mut binding = common::bind(
            schema,
            &self.name,
            present
                .iter()
                .map(|&k| (self.inputs[k].as_str(), Accept::StringOrNumeric)),
        )?;
        if present.len() < self.inputs.len() {
            binding.outputs = Some(
                present
                    .iter()
                    .map(|&k| common::f64_field(&self.outputs[k]))
                    .collect(),
            );
        }
        Ok(binding)
    }

    fn apply(&self, binding: &Binding, batch: &RecordBatch) -> scorewell_core::Result<StageOutput> {
        let rows = batch.num_rows();
        // Which inputs the binding kept, by their outputs.
        let ks: Vec<usize> = match &binding.outputs {
            None => (0..self.inputs.len()).collect(),
            Some(fields) => fields
                .iter()
                .filter_map(|f| self.outputs.iter().position(|o| o == f.name()))
                .collect(),
        };
        let columns: Vec<(StringArray, bool)> = binding
            .columns
            .iter()
            .map(|c| {
                let array = batch.column(*c);
                let float = matches!(
                    array.data_type(),
                    DataType::Float16 | DataType::Float32 | DataType::Float64
                );
                common::spark_string_column(array).map(|s| (s, float))
            })
            .collect::<Result<_, _>>()?;
        let skip = self.handle_invalid == HandleInvalid::Skip;
        let mut keep = vec![true; rows];
        let mut indices: Vec<Vec<Option<f64>>> = Vec::with_capacity(columns.len());
        for (&k, (labels, float)) in ks.iter().zip(&columns) {
            let (map, n) = &self.index[k];
            let mut out = Vec::with_capacity(rows);
            for (row, label) in labels.iter().enumerate() {
                // Spark's skip runs `na.drop` first, which also drops NaN in float columns.
                let dropped = skip && *float && label == Some("NaN");
                let found = label.filter(|_| !dropped).and_then(|l| map.get(l).copied());
                let index = match (found, self.handle_invalid) {
                    (Some(i), _) => Some(i),
                    (_, HandleInvalid::Keep) => Some(*n as f64),
                    (_, HandleInvalid::Skip) => {
                        keep[row] = false;
                        None
                    }
                    (_, HandleInvalid::Error) => {
                        let message = match label {
                            None => "null value; set handle_invalid to \"keep\" or \"skip\" to index or drop nulls".to_string(),
                            Some(l) => format!("unseen label `{l}`; set handle_invalid to \"keep\" or \"skip\" to index or drop unseen labels"),
                        };
                        return Err(invalid(&self.inputs[k], row, message));
                    }
                };
                out.push(index);
            }
            indices.push(out);
        }
        let columns = indices
            .into_iter()
            .map(|mut v| {
                if skip {
                    for (x, k) in v.iter_mut().zip(&keep) {
                        if !k {
                            *x = None;
                        }
                    }
                }
                Arc::new(Float64Array::from(v)) as ArrayRef
            })
            .collect();
        Ok(StageOutput {
            columns,
            keep: common::keep_mask(keep),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::testutil::*;

    fn indexer(handle_invalid: &str) -> std::sync::Arc<dyn scorewell_core::Stage> {
        build(
            "string_indexer",
            json!({"input": "c", "output": "i", "labels": ["b", "a", ""], "handle_invalid": handle_invalid}),
        )
    }

    #[test]
    fn indexes_in_label_order_and_keeps_unseen_at_the_end() {
        let out = run(
            &indexer("keep"),
            &[(
                "c",
                strs(&[Some("a"), Some(""), Some("z"), None, Some("b")]),
            )],
        )
        .unwrap();
        assert_f64(
            &out[0],
            &[Some(1.0), Some(2.0), Some(3.0), Some(3.0), Some(0.0)],
        );
    }

    #[test]
    fn error_names_the_column_row_and_label() {
        let err = run(&indexer("error"), &[("c", strs(&[Some("a"), Some("zz")]))]).unwrap_err();
        assert!(
            err.to_string()
                .contains("column `c`, row 1 of the batch: unseen label `zz`"),
            "{err}"
        );
        let err = run(&indexer("error"), &[("c", strs(&[None]))]).unwrap_err();
        assert!(
            err.to_string().contains("row 0 of the batch: null value"),
            "{err}"
        );
    }

    #[test]
    fn skip_drops_rows_invalid_in_any_column() {
        let stage = build(
            "string_indexer",
            json!({"inputs": ["c", "n"], "outputs": ["ci", "ni"],
                   "labels_array": [["x", "y"], ["1", "2.5", "NaN"]], "handle_invalid": "skip"}),
        );
        let out = run_full(
            &stage,
            &[
                ("c", strs(&[Some("x"), Some("y"), None, Some("x")])),
                (
                    "n",
                    floats(&[Some(2.5), Some(7.0), Some(2.5), Some(f64::NAN)]),
                ),
            ],
        )
        .unwrap();
        // NaN in a float column is dropped by Spark's `na.drop` even when "NaN" is a label.
        assert_eq!(kept(&out), vec![true, false, false, false]);
        assert_f64(&out.columns[1], &[Some(1.0), None, None, None]);
    }

    #[test]
    fn numbers_are_indexed_by_their_spark_string_form() {
        let stage = build(
            "string_indexer",
            json!({"inputs": ["i", "f"], "outputs": ["ii", "fi"], "labels_array": [["3", "10"], ["1.0E7", "0.5"]]}),
        );
        let out = run(
            &stage,
            &[
                ("i", ints(&[Some(10), Some(3)])),
                ("f", floats(&[Some(0.5), Some(1e7)])),
            ],
        )
        .unwrap();
        assert_f64(&out[0], &[Some(1.0), Some(0.0)]);
        assert_f64(&out[1], &[Some(1.0), Some(0.0)]);
    }

    #[test]
    fn an_absent_input_is_skipped_with_its_output_except_under_skip() {
        // See: issue 6 (a label indexer in a pipeline scored on rows without the label).
        let multi = |handle: &str| {
            build(
                "string_indexer",
                json!({"inputs": ["c", "label"], "outputs": ["ci", "label_idx"],
                       "labels_array": [["x", "y"], ["no", "yes"]], "handle_invalid": handle}),
            )
        };
        for handle in ["error", "keep"] {
            let stage = multi(handle);
            assert!(stage.inputs().iter().all(|i| i.optional));
            let batch = batch(&[("c", strs(&[Some("y"), Some("x")]))]);
            let binding = stage.bind(&batch.schema()).unwrap();
            let names: Vec<String> = binding
                .outputs
                .iter()
                .flatten()
                .map(|f| f.name().clone())
                .collect();
            assert_eq!(names, ["ci"], "{handle}");
            let out = run(&stage, &[("c", strs(&[Some("y"), Some("x")]))]).unwrap();
            assert_f64(&out[0], &[Some(1.0), Some(0.0)]);
            let none = run(&stage, &[("other", strs(&[Some("y")]))]).unwrap();
            assert!(none.is_empty());
        }
        let skip = multi("skip");
        assert!(skip.inputs().iter().all(|i| !i.optional));
        let err = run(&skip, &[("c", strs(&[Some("y")]))]).unwrap_err();
        assert!(
            err.to_string().starts_with("input has no column `label`"),
            "{err}"
        );
    }

    #[test]
    fn params_errors() {
        assert_eq!(
            build_err("string_indexer", json!({"input": "c", "output": "i"})),
            "missing field `labels`"
        );
        assert_eq!(
            build_err(
                "string_indexer",
                json!({"inputs": ["c"], "outputs": ["i"], "labels": ["a"]})
            ),
            "labels: use `labels_array` with `inputs`"
        );
        assert_eq!(
            build_err(
                "string_indexer",
                json!({"input": "c", "output": "i", "labels": ["a", 3]})
            ),
            "labels[1]: invalid type: integer `3`, expected a string"
        );
    }
}
