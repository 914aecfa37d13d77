//! The pipeline stage that scores a [`SklearnModel`] on Arrow batches.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, FieldRef, Schema};
use scorewell_core::{Binding, InputColumn, ScoreError, Stage, StageOutput, find_column};

use crate::model::{Categories, Classes, Head, Matrix, Output, Raw, SklearnModel, label_index};

/// Scores a scikit-learn model; see [`SklearnStage::output_fields`] for what it appends.
#[derive(Debug)]
pub struct SklearnStage {
    model: Arc<SklearnModel>,
    outputs: Vec<FieldRef>,
}

fn f64_field(name: String) -> FieldRef {
    Arc::new(Field::new(name, DataType::Float64, true))
}

fn numbered(base: &str, n: usize) -> Vec<FieldRef> {
    if n == 1 {
        return vec![f64_field(base.to_string())];
    }
    (0..n).map(|i| f64_field(format!("{base}_{i}"))).collect()
}

fn label_field(classes: &Classes) -> FieldRef {
    let dt = match classes {
        Classes::Int(_) => DataType::Int64,
        Classes::Float(_) => DataType::Float64,
        Classes::Text(_) => DataType::Utf8,
        Classes::Bool(_) => DataType::Boolean,
    };
    Arc::new(Field::new("label", dt, true))
}

fn is_numeric(dt: &DataType) -> bool {
    dt.is_numeric() || matches!(dt, DataType::Boolean | DataType::Null)
}

fn is_text(dt: &DataType) -> bool {
    match dt {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, v) => is_text(v),
        _ => false,
    }
}

impl SklearnStage {
    /// A stage for `model`. It appends:
    /// - regressors: `prediction` (`prediction_0 …` for several targets);
    /// - classifiers with `predict_proba`: `prediction_0 … prediction_{k-1}` (the class
    ///   probabilities in `classes_` order) and `label` (`predict`, typed like `classes_`:
    ///   Int64, Float64, Utf8 or Boolean);
    /// - classifiers without (LinearSVC, hinge SGD): `decision` (`decision_0 …` for more than
    ///   two classes) and `label`;
    /// - IsolationForest: `score` (`score_samples`), `decision` (`decision_function`) and
    ///   `label` (Int64, -1 for outliers).
    pub fn new(model: Arc<SklearnModel>) -> Self {
        let outputs = match &model.output {
            Output::Regression { targets } => numbered("prediction", *targets),
            Output::Proba { classes, .. } => {
                let mut f = (0..classes.len())
                    .map(|i| f64_field(format!("prediction_{i}")))
                    .collect::<Vec<_>>();
                f.push(label_field(classes));
                f
            }
            Output::Decision { classes } => {
                let n = if classes.len() <= 2 { 1 } else { classes.len() };
                let mut f = numbered("decision", n);
                f.push(label_field(classes));
                f
            }
            Output::Outlier { .. } => vec![
                f64_field("score".into()),
                f64_field("decision".into()),
                Arc::new(Field::new("label", DataType::Int64, true)),
            ],
        };
        Self { model, outputs }
    }

    /// The model.
    pub fn model(&self) -> &SklearnModel {
        &self.model
    }

    /// The input columns as one matrix, categories encoded; nulls are NaN.
    fn matrix(&self, binding: &Binding, batch: &RecordBatch) -> Result<Matrix, ScoreError> {
        let rows = batch.num_rows();
        if let Some(front) = &self.model.front {
            let mut raw = Vec::with_capacity(self.model.inputs.len());
            let mut bound = binding.columns.iter();
            for input in &self.model.inputs {
                if !input.used {
                    raw.push(Raw::Num(Vec::new()));
                    continue;
                }
                let Some(&idx) = bound.next() else {
                    break;
                };
                let column = batch.column(idx);
                raw.push(if input.text {
                    let text = arrow_cast::cast(column, &DataType::Utf8)?;
                    Raw::Text(text.as_string::<i32>().clone())
                } else {
                    let numbers = arrow_cast::cast(column, &DataType::Float64)?;
                    let numbers = numbers.as_primitive::<Float64Type>();
                    Raw::Num(
                        (0..rows)
                            .map(|i| {
                                if numbers.is_null(i) {
                                    f64::NAN
                                } else {
                                    numbers.value(i)
                                }
                            })
                            .collect(),
                    )
                });
            }
            let names: Vec<String> = self.model.inputs.iter().map(|i| i.name.clone()).collect();
            return front
                .apply(&raw, rows, &names)
                .map_err(|(column, row, message)| ScoreError::InvalidValue {
                    column,
                    row,
                    message,
                });
        }
        let n = self.model.inputs.len();
        let mut data = vec![0.0f64; rows * n];
        for (j, (input, &idx)) in self.model.inputs.iter().zip(&binding.columns).enumerate() {
            let column = batch.column(idx);
            let values: Vec<f64> = match &input.categories {
                Some(Categories::Text(map)) => {
                    let text = arrow_cast::cast(column, &DataType::Utf8)?;
                    text.as_string::<i32>()
                        .iter()
                        .map(|s| s.and_then(|s| map.get(s).copied()).unwrap_or(f64::NAN))
                        .collect()
                }
                other => {
                    let numbers = arrow_cast::cast(column, &DataType::Float64)?;
                    let numbers = numbers.as_primitive::<Float64Type>();
                    let get = |i: usize| {
                        if numbers.is_null(i) {
                            f64::NAN
                        } else {
                            numbers.value(i)
                        }
                    };
                    match other {
                        Some(c) => (0..rows).map(|i| c.number(get(i))).collect(),
                        None => (0..rows).map(get).collect(),
                    }
                }
            };
            for (r, v) in values.into_iter().enumerate() {
                data[r * n + j] = v;
            }
        }
        Ok(Matrix { data, width: n })
    }
}

fn labels(classes: &Classes, idx: &[usize]) -> ArrayRef {
    match classes {
        Classes::Int(c) => Arc::new(Int64Array::from_iter_values(idx.iter().map(|&i| c[i]))),
        Classes::Float(c) => Arc::new(Float64Array::from_iter_values(idx.iter().map(|&i| c[i]))),
        Classes::Text(c) => Arc::new(StringArray::from_iter_values(
            idx.iter().map(|&i| c[i].as_str()),
        )),
        Classes::Bool(c) => Arc::new(BooleanArray::from(
            idx.iter().map(|&i| c[i]).collect::<Vec<bool>>(),
        )),
    }
}

fn columns_of(values: &[f64], width: usize) -> Vec<ArrayRef> {
    (0..width)
        .map(|j| {
            Arc::new(Float64Array::from_iter_values(
                values.iter().skip(j).step_by(width.max(1)).copied(),
            )) as ArrayRef
        })
        .collect()
}

impl Stage for SklearnStage {
    fn name(&self) -> &str {
        "sklearn"
    }

    fn engines(&self) -> Vec<scorewell_forest::EngineInfo> {
        match &self.model.head {
            Head::Trees { predictor, .. } => vec![predictor.engine()],
            _ => Vec::new(),
        }
    }

    fn inputs(&self) -> Vec<InputColumn> {
        self.model
            .inputs
            .iter()
            .filter(|i| i.used)
            .map(|i| {
                let text = i.text || matches!(i.categories, Some(Categories::Text(_)));
                InputColumn::new(i.name.clone(), !text)
            })
            .collect()
    }

    fn output_fields(&self) -> Vec<FieldRef> {
        self.outputs.clone()
    }

    fn bind(&self, schema: &Schema) -> Result<Binding, ScoreError> {
        let mut columns = Vec::with_capacity(self.model.inputs.len());
        for input in self.model.inputs.iter().filter(|i| i.used) {
            let name = &input.name;
            let idx = find_column(schema, name, || format!("scikit-learn input `{name}`"))?;
            let dt = schema.field(idx).data_type();
            let (ok, expected) = match input.categories {
                _ if input.text => (is_text(dt), "strings (categories)"),
                Some(Categories::Text(_)) => {
                    (is_text(dt) || is_numeric(dt), "strings (categories)")
                }
                _ => (is_numeric(dt), "a number (integer, float or boolean)"),
            };
            if !ok {
                return Err(ScoreError::ColumnType {
                    column: name.clone(),
                    expected: expected.into(),
                    got: dt.to_string(),
                });
            }
            columns.push(idx);
        }
        Ok(Binding::new(columns))
    }

    fn apply(&self, binding: &Binding, batch: &RecordBatch) -> Result<StageOutput, ScoreError> {
        let mut x = self.matrix(binding, batch)?;
        for step in &self.model.steps {
            x = step.apply(x);
        }
        let s = self.model.head.score(&x);
        let rows = batch.num_rows();
        let row_labels = |rule| -> Vec<usize> {
            (0..rows)
                .map(|r| {
                    label_index(
                        rule,
                        &s.raw[r * s.raw_width..][..s.raw_width],
                        &s.values[r * s.width..][..s.width],
                    )
                })
                .collect()
        };
        let columns = match &self.model.output {
            Output::Regression { .. } => columns_of(&s.values, s.width),
            Output::Proba { classes, label } => {
                let mut c = columns_of(&s.values, s.width);
                c.push(labels(classes, &row_labels(*label)));
                c
            }
            Output::Decision { classes } => {
                let mut c = columns_of(&s.values, s.width);
                c.push(labels(
                    classes,
                    &row_labels(crate::model::LabelRule::RawPositive),
                ));
                c
            }
            Output::Outlier { offset } => {
                let decision: Vec<f64> = s.values.iter().map(|v| v - offset).collect();
                let label = Int64Array::from_iter_values(
                    decision.iter().map(|d| if *d < 0.0 { -1 } else { 1 }),
                );
                vec![
                    Arc::new(Float64Array::from(s.values.clone())) as ArrayRef,
                    Arc::new(Float64Array::from(decision)),
                    Arc::new(label),
                ]
            }
        };
        Ok(columns.into())
    }
}
