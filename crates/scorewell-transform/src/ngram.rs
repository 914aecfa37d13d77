//! `ngram`: Spark ML's `NGram`
//! (`mllib/src/main/scala/org/apache/spark/ml/feature/NGram.scala`, Spark 3.x/4.x).
//!
//! `tokens.iterator.sliding(n).withPartial(false).map(_.mkString(" "))`: every run of `n`
//! consecutive tokens joined by one space; fewer than `n` tokens give an empty list. A null
//! token is written `null`, as Scala's `mkString` does. A null row gives null.

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{FieldRef, Schema};
use scorewell_core::{Binding, InputColumn, Stage, StageOutput};

use crate::common::{self, Accept, StringLists};
use crate::error::TransformError;
use crate::registry::{Registry, parse};

/// Parameters of [`NGram`].
///
/// - `input`, `output`: `list<utf8>` columns.
/// - `n` (default 2, at least 1): tokens per n-gram.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NGramParams {
    /// Token column.
    pub input: String,
    /// N-gram column.
    pub output: String,
    /// Tokens per n-gram.
    #[serde(default = "two")]
    pub n: usize,
}

fn two() -> usize {
    2
}

/// Makes n-grams of token lists (see the module docs).
#[derive(Debug, Clone)]
pub struct NGram {
    name: String,
    input: String,
    output: String,
    n: usize,
}

impl NGram {
    /// Validate `params` and build the stage.
    pub fn new(name: &str, params: NGramParams) -> Result<Self, TransformError> {
        common::check_names("input", std::slice::from_ref(&params.input), false)?;
        common::check_names("output", std::slice::from_ref(&params.output), false)?;
        if params.n < 1 {
            return Err(TransformError::param("n", "must be at least 1"));
        }
        Ok(Self {
            name: name.to_string(),
            input: params.input,
            output: params.output,
            n: params.n,
        })
    }
}

pub(crate) fn register(reg: &mut Registry) {
    reg.add("ngram", |name, params| {
        Ok(Arc::new(NGram::new(name, parse(params)?)?))
    });
}

impl Stage for NGram {
    fn name(&self) -> &str {
        &self.name
    }

    fn inputs(&self) -> Vec<InputColumn> {
        common::input_columns(std::slice::from_ref(&self.input), Accept::StringList)
    }

    fn output_fields(&self) -> Vec<FieldRef> {
        vec![common::string_list_field(&self.output)]
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
        let mut b = common::string_list_builder(batch.num_rows());
        let mut joined = String::new();
        for row in 0..batch.num_rows() {
            let Some(tokens) = lists.row(row) else {
                b.append_null();
                continue;
            };
            let tokens: Vec<&str> = tokens.map(|t| t.unwrap_or("null")).collect();
            for window in tokens.windows(self.n) {
                joined.clear();
                for (i, t) in window.iter().enumerate() {
                    if i > 0 {
                        joined.push(' ');
                    }
                    joined.push_str(t);
                }
                b.values().append_value(&joined);
            }
            b.append(true);
        }
        Ok(vec![Arc::new(b.finish()) as ArrayRef].into())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::testutil::*;

    fn s(v: &[&str]) -> Option<Vec<Option<String>>> {
        Some(v.iter().map(|x| Some(x.to_string())).collect())
    }

    #[test]
    fn joins_windows_and_handles_short_and_null() {
        let stage = build("ngram", json!({"input": "w", "output": "g"}));
        let input = str_lists(&[
            Some(vec![Some("a"), Some("b"), None, Some("")]),
            Some(vec![Some("solo")]),
            Some(vec![]),
            None,
        ]);
        let out = run(&stage, &[("w", input)]).unwrap();
        assert_eq!(
            read_str_lists(&out[0]),
            vec![s(&["a b", "b null", "null "]), s(&[]), s(&[]), None]
        );
        let one = build("ngram", json!({"input": "w", "output": "g", "n": 1}));
        let out = run(
            &one,
            &[("w", str_lists(&[Some(vec![Some("x"), Some("y")])]))],
        )
        .unwrap();
        assert_eq!(read_str_lists(&out[0]), vec![s(&["x", "y"])]);
        assert_eq!(
            build_err("ngram", json!({"input": "w", "output": "g", "n": 0})),
            "n: must be at least 1"
        );
    }
}
