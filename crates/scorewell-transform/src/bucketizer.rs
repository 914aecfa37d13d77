//! `bucketizer`: Spark ML's `Bucketizer.transform`
//! (`mllib/src/main/scala/org/apache/spark/ml/feature/Bucketizer.scala`, Spark 3.x/4.x).
//!
//! Bucket `i` holds `[splits[i], splits[i+1])`, the last bucket also holds its upper split.
//! Values are placed by Java's `Arrays.binarySearch`, which orders `-0.0` below `0.0`. A
//! value outside the splits is an error whatever `handle_invalid` says; `handle_invalid`
//! governs NaN (and null with `skip`):
//!
//! - `error`: NaN fails the batch; null gives null.
//! - `keep`: NaN goes to an extra bucket, index `splits.len() - 1`; null gives null.
//! - `skip`: rows with null or NaN in any input column are dropped.

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch};
use arrow_schema::{FieldRef, Schema};
use scorewell_core::{Binding, InputColumn, Stage, StageOutput};

use crate::common::{self, Accept, HandleInvalid};
use crate::error::{TransformError, invalid};
use crate::java;
use crate::registry::{Registry, parse};
use crate::serde_f64;

/// Parameters of [`Bucketizer`].
///
/// - `input` + `output` with `splits`, or `inputs` + `outputs` with `splits_array` (one
///   splits list per input): numeric columns in, Float64 bucket indices out.
/// - `splits`: at least 3 values, strictly increasing, no NaN; use `"-inf"` / `"inf"` to
///   make open-ended buckets.
/// - `handle_invalid` (default `error`): `error`, `skip` or `keep` (see the module docs).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketizerParams {
    /// Input column.
    pub input: Option<String>,
    /// Output column.
    pub output: Option<String>,
    /// Input columns.
    pub inputs: Option<Vec<String>>,
    /// Output columns, one per input.
    pub outputs: Option<Vec<String>>,
    /// Bucket boundaries for `input`.
    #[serde(default, deserialize_with = "serde_f64::list")]
    pub splits: Vec<f64>,
    /// Bucket boundaries per input of `inputs`.
    #[serde(default, deserialize_with = "serde_f64::lists")]
    pub splits_array: Vec<Vec<f64>>,
    /// What NaN (and null with `skip`) does.
    #[serde(default)]
    pub handle_invalid: HandleInvalid,
}

/// Maps values to bucket indices (see the module docs).
#[derive(Debug, Clone)]
pub struct Bucketizer {
    name: String,
    inputs: Vec<String>,
    outputs: Vec<String>,
    splits: Vec<Vec<f64>>,
    handle_invalid: HandleInvalid,
}

fn check_splits(path: &str, splits: &[f64]) -> Result<(), TransformError> {
    if splits.len() < 3 {
        return Err(TransformError::param(
            path,
            format!("needs at least 3 values (2 buckets), got {}", splits.len()),
        ));
    }
    for (i, s) in splits.iter().enumerate() {
        if s.is_nan() {
            return Err(TransformError::param(
                format!("{path}[{i}]"),
                "must not be NaN",
            ));
        }
        if i > 0 && splits[i - 1] >= *s {
            return Err(TransformError::param(
                format!("{path}[{i}]"),
                format!(
                    "splits must be strictly increasing, but {} follows {}",
                    s,
                    splits[i - 1]
                ),
            ));
        }
    }
    Ok(())
}

impl Bucketizer {
    /// Validate `params` and build the stage.
    pub fn new(name: &str, params: BucketizerParams) -> Result<Self, TransformError> {
        let (inputs, outputs, multi) =
            common::column_pairs(params.input, params.output, params.inputs, params.outputs)?;
        let splits = if multi {
            if !params.splits.is_empty() {
                return Err(TransformError::param(
                    "splits",
                    "use `splits_array` with `inputs`",
                ));
            }
            if params.splits_array.len() != inputs.len() {
                return Err(TransformError::param(
                    "splits_array",
                    format!(
                        "has {} lists for {} input columns",
                        params.splits_array.len(),
                        inputs.len()
                    ),
                ));
            }
            for (i, s) in params.splits_array.iter().enumerate() {
                check_splits(&format!("splits_array[{i}]"), s)?;
            }
            params.splits_array
        } else {
            if !params.splits_array.is_empty() {
                return Err(TransformError::param(
                    "splits_array",
                    "use `splits` with `input`",
                ));
            }
            check_splits("splits", &params.splits)?;
            vec![params.splits]
        };
        Ok(Self {
            name: name.to_string(),
            inputs,
            outputs,
            splits,
            handle_invalid: params.handle_invalid,
        })
    }
}

/// Spark's `Bucketizer.binarySearchForBuckets` for a non-NaN value.
fn bucket(splits: &[f64], x: f64) -> Option<usize> {
    let last = splits.len() - 1;
    if x == splits[last] {
        return Some(last - 1);
    }
    match splits.binary_search_by(|s| s.total_cmp(&x)) {
        Ok(i) => Some(i),
        Err(0) => None,
        Err(i) if i == splits.len() => None,
        Err(i) => Some(i - 1),
    }
}

pub(crate) fn register(reg: &mut Registry) {
    reg.add("bucketizer", |name, params| {
        Ok(Arc::new(Bucketizer::new(name, parse(params)?)?))
    });
}

impl Stage for Bucketizer {
    fn name(&self) -> &str {
        &self.name
    }

    fn inputs(&self) -> Vec<InputColumn> {
        common::input_columns(&self.inputs, Accept::Numeric)
    }

    fn output_fields(&self) -> Vec<FieldRef> {
        self.outputs.iter().map(|o| common::f64_field(o)).collect()
    }

    fn bind(&self, schema: &Schema) -> scorewell_core::Result<Binding> {
        common::bind(
            schema,
            &self.name,
            self.inputs.iter().map(|c| (c.as_str(), Accept::Numeric)),
        )
    }

    fn apply(&self, binding: &Binding, batch: &RecordBatch) -> scorewell_core::Result<StageOutput> {
        let columns: Vec<Float64Array> = binding
            .columns
            .iter()
            .map(|c| common::f64_column(batch.column(*c)))
            .collect::<Result<_, _>>()?;
        let rows = batch.num_rows();
        let skip = self.handle_invalid == HandleInvalid::Skip;
        let mut keep = vec![true; rows];
        if skip {
            for values in &columns {
                for (row, v) in values.iter().enumerate() {
                    if v.is_none_or(f64::is_nan) {
                        keep[row] = false;
                    }
                }
            }
        }
        let mut out = Vec::with_capacity(columns.len());
        for (k, values) in columns.iter().enumerate() {
            let splits = &self.splits[k];
            let mut buckets = Vec::with_capacity(rows);
            for (row, v) in values.iter().enumerate() {
                let b = match v {
                    _ if !keep[row] => None,
                    None => None,
                    Some(x) if x.is_nan() => {
                        if self.handle_invalid == HandleInvalid::Keep {
                            Some((splits.len() - 1) as f64)
                        } else {
                            return Err(invalid(
                                &self.inputs[k],
                                row,
                                "NaN value; set handle_invalid to \"keep\" or \"skip\" to bucket or drop NaN",
                            ));
                        }
                    }
                    Some(x) => match bucket(splits, x) {
                        Some(b) => Some(b as f64),
                        None => {
                            return Err(invalid(
                                &self.inputs[k],
                                row,
                                format!(
                                    "value {} is outside the bucketizer bounds [{}, {}]",
                                    java::double_to_string(x),
                                    java::double_to_string(splits[0]),
                                    java::double_to_string(splits[splits.len() - 1])
                                ),
                            ));
                        }
                    },
                };
                buckets.push(b);
            }
            out.push(Arc::new(Float64Array::from(buckets)) as ArrayRef);
        }
        Ok(StageOutput {
            columns: out,
            keep: common::keep_mask(keep),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::testutil::*;

    #[test]
    fn places_values_including_edges_and_infinities() {
        let stage = build(
            "bucketizer",
            json!({"input": "x", "output": "b", "splits": ["-inf", -0.5, 0.0, 0.5, "inf"]}),
        );
        let x = floats(&[
            Some(-1e300),
            Some(-0.5),
            Some(-0.3),
            Some(-0.0),
            Some(0.0),
            Some(0.5),
            Some(f64::INFINITY),
            None,
        ]);
        let out = run(&stage, &[("x", x)]).unwrap();
        // -0.0 sorts below 0.0 in Java's binarySearch, so it stays in bucket 1.
        assert_f64(
            &out[0],
            &[
                Some(0.0),
                Some(1.0),
                Some(1.0),
                Some(1.0),
                Some(2.0),
                Some(3.0),
                Some(3.0),
                None,
            ],
        );
    }

    #[test]
    fn nan_handling_follows_handle_invalid() {
        let x = || floats(&[Some(1.0), Some(f64::NAN), None]);
        let error = build(
            "bucketizer",
            json!({"input": "x", "output": "b", "splits": [0, 1, 2]}),
        );
        let err = run(&error, &[("x", x())]).unwrap_err();
        assert!(
            err.to_string()
                .contains("column `x`, row 1 of the batch: NaN value"),
            "{err}"
        );

        let keep = build(
            "bucketizer",
            json!({"input": "x", "output": "b", "splits": [0, 1, 2], "handle_invalid": "keep"}),
        );
        let out = run(&keep, &[("x", x())]).unwrap();
        assert_f64(&out[0], &[Some(1.0), Some(2.0), None]);

        let skip = build(
            "bucketizer",
            json!({"input": "x", "output": "b", "splits": [0, 1, 2], "handle_invalid": "skip"}),
        );
        let out = run_full(&skip, &[("x", x())]).unwrap();
        assert_eq!(kept(&out), vec![true, false, false]);
    }

    #[test]
    fn out_of_bounds_is_an_error_even_with_keep() {
        let stage = build(
            "bucketizer",
            json!({"input": "x", "output": "b", "splits": [0, 1, 2], "handle_invalid": "keep"}),
        );
        let err = run(&stage, &[("x", ints(&[Some(1), Some(3)]))]).unwrap_err();
        assert!(
            err.to_string().contains(
                "row 1 of the batch: value 3.0 is outside the bucketizer bounds [0.0, 2.0]"
            ),
            "{err}"
        );
    }

    #[test]
    fn several_columns_and_split_errors() {
        let stage = build(
            "bucketizer",
            json!({"inputs": ["a", "b"], "outputs": ["a_b", "b_b"],
                   "splits_array": [[0, 10, 20], ["-inf", 0, "inf"]], "handle_invalid": "skip"}),
        );
        let out = run_full(
            &stage,
            &[
                ("a", ints(&[Some(15), Some(20)])),
                ("b", floats(&[Some(-3.0), Some(f64::NAN)])),
            ],
        )
        .unwrap();
        assert_eq!(kept(&out), vec![true, false]);
        assert_f64(&out.columns[0], &[Some(1.0), None]);
        assert_f64(&out.columns[1], &[Some(0.0), None]);

        assert_eq!(
            build_err(
                "bucketizer",
                json!({"input": "x", "output": "b", "splits": [0, 1, 1, 2]})
            ),
            "splits[2]: splits must be strictly increasing, but 1 follows 1"
        );
        assert_eq!(
            build_err(
                "bucketizer",
                json!({"input": "x", "output": "b", "splits": [0, 1]})
            ),
            "splits: needs at least 3 values (2 buckets), got 2"
        );
        assert_eq!(
            build_err(
                "bucketizer",
                json!({"input": "x", "output": "b", "splits": [0, "x", 1]})
            ),
            "splits[1]: expected a number, \"inf\", \"-inf\" or \"nan\", got \"x\""
        );
        assert_eq!(
            build_err(
                "bucketizer",
                json!({"input": "x", "output": "b", "splits": [0, 1, 2], "handle_invalid": "drop"})
            ),
            "handle_invalid: unknown variant `drop`, expected one of `error`, `skip`, `keep`"
        );
        assert_eq!(
            build_err(
                "bucketizer",
                json!({"inputs": ["a"], "outputs": ["b"], "splits_array": [[0, 1, 2], [0, 1, 2]]})
            ),
            "splits_array: has 2 lists for 1 input columns"
        );
    }
}
