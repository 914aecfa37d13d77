//! `index_to_string`: Spark ML's `IndexToString.transform`
//! (`mllib/src/main/scala/org/apache/spark/ml/feature/StringIndexer.scala`, Spark 3.x/4.x).
//!
//! A numeric index is truncated to an integer as Java's `(int)` cast does (NaN becomes 0,
//! out-of-range values saturate) and mapped to `labels[index]`; an index outside the labels
//! fails the batch. Null gives null.

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_schema::{FieldRef, Schema};
use scorewell_core::{Binding, InputColumn, Stage, StageOutput};

use crate::common::{self, Accept};
use crate::error::{TransformError, invalid};
use crate::java;
use crate::registry::{Registry, parse};

/// Parameters of [`IndexToString`].
///
/// - `input`: a numeric column of indices; `output`: a string column.
/// - `labels` (required, non-empty): index → label. Spark can also read them from the
///   input column's ML attribute metadata; a loader must pass them explicitly.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexToStringParams {
    /// Index column.
    pub input: String,
    /// Label column.
    pub output: String,
    /// Labels in index order.
    pub labels: Vec<String>,
}

/// Maps indices back to labels (see the module docs).
#[derive(Debug, Clone)]
pub struct IndexToString {
    name: String,
    input: String,
    output: String,
    labels: Vec<String>,
}

impl IndexToString {
    /// Validate `params` and build the stage.
    pub fn new(name: &str, params: IndexToStringParams) -> Result<Self, TransformError> {
        common::check_names("input", std::slice::from_ref(&params.input), false)?;
        common::check_names("output", std::slice::from_ref(&params.output), false)?;
        if params.labels.is_empty() {
            return Err(TransformError::param(
                "labels",
                "must hold at least one label",
            ));
        }
        Ok(Self {
            name: name.to_string(),
            input: params.input,
            output: params.output,
            labels: params.labels,
        })
    }
}

pub(crate) fn register(reg: &mut Registry) {
    reg.add("index_to_string", |name, params| {
        Ok(Arc::new(IndexToString::new(name, parse(params)?)?))
    });
}

impl Stage for IndexToString {
    fn name(&self) -> &str {
        &self.name
    }

    fn inputs(&self) -> Vec<InputColumn> {
        common::input_columns(std::slice::from_ref(&self.input), Accept::Numeric)
    }

    fn output_fields(&self) -> Vec<FieldRef> {
        vec![common::string_field(&self.output)]
    }

    fn bind(&self, schema: &Schema) -> scorewell_core::Result<Binding> {
        common::bind(schema, &self.name, [(self.input.as_str(), Accept::Numeric)])
    }

    fn apply(&self, binding: &Binding, batch: &RecordBatch) -> scorewell_core::Result<StageOutput> {
        let values = common::f64_column(batch.column(binding.columns[0]))?;
        let mut out: Vec<Option<&str>> = Vec::with_capacity(values.len());
        for (row, v) in values.iter().enumerate() {
            out.push(match v {
                None => None,
                Some(x) => {
                    let i = x as i32;
                    match usize::try_from(i).ok().and_then(|i| self.labels.get(i)) {
                        Some(label) => Some(label.as_str()),
                        None => {
                            return Err(invalid(
                                &self.input,
                                row,
                                format!(
                                    "index {} is outside the {} labels",
                                    java::double_to_string(x),
                                    self.labels.len()
                                ),
                            ));
                        }
                    }
                }
            });
        }
        Ok(vec![Arc::new(StringArray::from(out)) as ArrayRef].into())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::testutil::*;

    #[test]
    fn maps_truncated_indices_to_labels() {
        let stage = build(
            "index_to_string",
            json!({"input": "i", "output": "s", "labels": ["a", "b"]}),
        );
        let out = run(
            &stage,
            &[(
                "i",
                floats(&[Some(1.0), Some(1.9), None, Some(f64::NAN), Some(-0.5)]),
            )],
        )
        .unwrap();
        assert_eq!(
            read_strs(&out[0]),
            vec![
                Some("b".into()),
                Some("b".into()),
                None,
                Some("a".into()),
                Some("a".into())
            ]
        );
        let err = run(&stage, &[("i", ints(&[Some(2)]))]).unwrap_err();
        assert!(
            err.to_string()
                .contains("column `i`, row 0 of the batch: index 2.0 is outside the 2 labels"),
            "{err}"
        );
        assert_eq!(
            build_err(
                "index_to_string",
                json!({"input": "i", "output": "s", "labels": []})
            ),
            "labels: must hold at least one label"
        );
    }
}
