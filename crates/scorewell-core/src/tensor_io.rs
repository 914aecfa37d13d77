//! The columns of a stage that scores a tensor model (a Keras graph, an ONNX graph): each model
//! input reads one vector column holding the row's input tensor flattened row-major, and each
//! output tensor becomes Float64 columns. Both formats name and check them alike, here.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch};
use arrow_schema::{DataType, Field, FieldRef, Schema};

use crate::error::{Result, ScoreError};
use crate::stage::{Binding, InputColumn, StageOutput};
use crate::vector::{VectorColumn, VectorRef, bind_vector_columns};

/// One model input: its name in the model, the column it reads and its shape per row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInput {
    /// The input's name in the model.
    pub name: String,
    /// The column it reads: its own name unless renamed.
    pub column: String,
    /// Its shape per row (no batch axis).
    pub shape: Vec<usize>,
    /// Values per row: the product of `shape`.
    pub width: usize,
}

/// The inputs and output columns of a tensor-model stage.
///
/// A model with one output of `k` values per row appends `prediction` (`k = 1`) or
/// `prediction_0 … prediction_{k-1}`, as tree models do; with several outputs each is named
/// after its output the same way (`p`, `q_0`, `q_1`, ...).
#[derive(Debug, Clone)]
pub struct TensorIo {
    /// How errors call an input ("model input", "ONNX input").
    label: &'static str,
    inputs: Vec<TensorInput>,
    /// Per output tensor: its values per row.
    widths: Vec<usize>,
    fields: Vec<FieldRef>,
}

impl TensorIo {
    /// `inputs` as `(name, shape per row)` and `outputs` as `(name, values per row)`, in the
    /// model's order; `label` says what an input is in errors.
    pub fn new(
        label: &'static str,
        inputs: impl IntoIterator<Item = (String, Vec<usize>)>,
        outputs: impl IntoIterator<Item = (String, usize)>,
    ) -> Self {
        let (names, widths): (Vec<String>, Vec<usize>) = outputs.into_iter().unzip();
        let names = if widths.len() == 1 {
            vec!["prediction".to_owned()]
        } else {
            names
        };
        Self {
            label,
            inputs: inputs
                .into_iter()
                .map(|(name, shape)| TensorInput {
                    column: name.clone(),
                    name,
                    width: shape.iter().product(),
                    shape,
                })
                .collect(),
            fields: output_fields(&names, &widths),
            widths,
        }
    }

    /// The same inputs reading renamed columns (`input name → column`, every key a model
    /// input) and, for a model with one output, its columns named `output` (`output`,
    /// `output_0`, ...) instead of `prediction`: a bundle's stages must not collide.
    pub fn with_names(
        mut self,
        columns: &BTreeMap<String, String>,
        output: Option<&str>,
    ) -> std::result::Result<Self, String> {
        for (input, column) in columns {
            let Some(i) = self.inputs.iter().position(|i| &i.name == input) else {
                let names: Vec<&str> = self.inputs.iter().map(|i| i.name.as_str()).collect();
                return Err(format!(
                    "`{input}` is not a model input (inputs: {})",
                    names.join(", ")
                ));
            };
            self.inputs[i].column = column.clone();
        }
        if let Some(output) = output {
            if self.widths.len() != 1 {
                return Err(format!(
                    "`output` names the columns of a one-output model; this one has {} outputs, named after themselves",
                    self.widths.len()
                ));
            }
            self.fields = output_fields(&[output.to_owned()], &self.widths);
        }
        Ok(self)
    }

    /// The model inputs, in the model's order.
    pub fn inputs(&self) -> &[TensorInput] {
        &self.inputs
    }

    /// Per output tensor, its values per row.
    pub fn widths(&self) -> &[usize] {
        &self.widths
    }

    /// The stage's input columns, for [`crate::Stage::inputs`].
    pub fn input_columns(&self) -> Vec<InputColumn> {
        self.inputs
            .iter()
            .map(|i| InputColumn::vector(i.column.clone()))
            .collect()
    }

    /// The output columns, for [`crate::Stage::output_fields`].
    pub fn output_fields(&self) -> Vec<FieldRef> {
        self.fields.clone()
    }

    /// Every input's column must exist and hold vectors.
    pub fn bind(&self, schema: &Schema) -> Result<Binding> {
        bind_vector_columns(
            schema,
            self.inputs
                .iter()
                .map(|i| (i.column.as_str(), format!("{} `{}`", self.label, i.name))),
        )
    }

    /// The bound input columns of `batch`, in input order.
    pub fn columns(&self, binding: &Binding, batch: &RecordBatch) -> Result<Vec<VectorColumn>> {
        self.inputs
            .iter()
            .zip(&binding.columns)
            .map(|(input, &idx)| VectorColumn::try_new(batch.column(idx), &input.column))
            .collect()
    }

    /// Row `row` of input `i`'s column: present, and holding exactly the input's values.
    pub fn row<'a>(&self, i: usize, column: &'a VectorColumn, row: usize) -> Result<VectorRef<'a>> {
        let input = &self.inputs[i];
        let invalid = |message: String| ScoreError::InvalidValue {
            column: input.column.clone(),
            row,
            message,
        };
        let v = column
            .get(row)
            .ok_or_else(|| invalid("null row; the model needs a value".into()))?;
        if v.len() != input.width {
            return Err(invalid(format!(
                "the {} `{}` has shape {:?} per row, {} values flattened row-major; this row has {}",
                self.label,
                input.name,
                input.shape,
                input.width,
                v.len()
            )));
        }
        Ok(v)
    }

    /// The output columns from each output tensor's values (`rows × width`, row-major).
    pub fn output<T: Copy + Into<f64>>(&self, outputs: &[&[T]]) -> StageOutput {
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.fields.len());
        for (values, &k) in outputs.iter().zip(&self.widths) {
            for j in 0..k {
                let col: Vec<f64> = values
                    .iter()
                    .skip(j)
                    .step_by(k)
                    .map(|&v| v.into())
                    .collect();
                arrays.push(Arc::new(Float64Array::from(col)));
            }
        }
        arrays.into()
    }
}

/// One Float64 column per output value: `base` for a one-value output, else `base_<i>`.
fn output_fields(names: &[String], widths: &[usize]) -> Vec<FieldRef> {
    let mut outputs = Vec::new();
    for (base, &k) in names.iter().zip(widths) {
        for i in 0..k {
            let col = if k == 1 {
                base.clone()
            } else {
                format!("{base}_{i}")
            };
            outputs.push(Arc::new(Field::new(col, DataType::Float64, false)));
        }
    }
    outputs
}
