//! The ONNX model as a pipeline stage: Arrow vector columns in, Float64 columns out, named as
//! `scorewell_core::NnStage` names a Keras graph's.

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch};
use arrow_schema::{DataType, Field, FieldRef, Schema};
use scorewell_core::vector::{VectorColumn, bind_vector_columns};
use scorewell_core::{Binding, InputColumn, Result, ScoreError, Stage, StageOutput};
use tract_onnx::prelude::{IntoTValue, TValue, TVec, Tensor};

use crate::model::{Batch, InputType, OnnxModel};

/// Scores an [`OnnxModel`]. Each graph input binds to the column of the same ONNX name, whose
/// rows hold the input tensor of one row flattened row-major (a list or fixed-size list of
/// numbers, or a Spark vector). A graph with one output of `k` values per row appends
/// `prediction` (`k = 1`) or `prediction_0 … prediction_{k-1}`, as tree models do; with several
/// outputs each is named after its ONNX output the same way (`p`, `q_0`, `q_1`, ...).
#[derive(Debug)]
pub struct OnnxStage {
    name: String,
    model: Arc<OnnxModel>,
    /// Per graph output: its width (values per row).
    widths: Vec<usize>,
    fields: Vec<FieldRef>,
}

impl OnnxStage {
    /// A stage called `name` (for errors and `inspect`) scoring `model`.
    pub fn new(name: &str, model: Arc<OnnxModel>) -> Self {
        let widths: Vec<usize> = model
            .outputs()
            .iter()
            .map(|o| o.row_shape.iter().product())
            .collect();
        let bases: Vec<String> = if widths.len() == 1 {
            vec!["prediction".to_owned()]
        } else {
            model.outputs().iter().map(|o| o.name.clone()).collect()
        };
        let mut fields = Vec::new();
        for (base, &k) in bases.iter().zip(&widths) {
            for i in 0..k {
                let col = if k == 1 {
                    base.clone()
                } else {
                    format!("{base}_{i}")
                };
                fields.push(Arc::new(Field::new(col, DataType::Float64, false)));
            }
        }
        Self {
            name: name.to_owned(),
            model,
            widths,
            fields,
        }
    }

    /// The model this stage scores.
    pub fn model(&self) -> &OnnxModel {
        &self.model
    }

    fn in_stage(&self, e: crate::OnnxError) -> ScoreError {
        ScoreError::InStage {
            stage: self.name.clone(),
            source: Box::new(ScoreError::Model {
                model: "onnx".into(),
                message: e.to_string(),
            }),
        }
    }

    /// Reads rows `start..end` of every input column into tensors shaped `[rows, row_shape..]`.
    fn tensors(&self, columns: &[VectorColumn], start: usize, end: usize) -> Result<TVec<TValue>> {
        let mut tensors = TVec::new();
        for (input, column) in self.model.inputs().iter().zip(columns) {
            let width: usize = input.row_shape.iter().product();
            let mut values = Vec::with_capacity((end - start) * width);
            for row in start..end {
                let invalid = |message: String| ScoreError::InvalidValue {
                    column: input.name.clone(),
                    row,
                    message,
                };
                let v = column
                    .get(row)
                    .ok_or_else(|| invalid("null row; the model needs a value".into()))?;
                if v.len() != width {
                    return Err(invalid(format!(
                        "the ONNX input has shape {:?} per row, {width} values flattened \
                         row-major; this row has {}",
                        input.row_shape,
                        v.len()
                    )));
                }
                values.extend(v.to_dense());
                if matches!(input.ty, InputType::I32 | InputType::I64) {
                    // i32 bounds are exact in f64; i64's are not, and 2^63 itself is past
                    // i64::MAX, so that range is half-open.
                    let in_range = |x: f64| match input.ty {
                        InputType::I32 => (f64::from(i32::MIN)..=f64::from(i32::MAX)).contains(&x),
                        _ => (-(2f64.powi(63))..2f64.powi(63)).contains(&x),
                    };
                    let row_values = values.get(values.len() - width..).unwrap_or_default();
                    if let Some(bad) = row_values
                        .iter()
                        .find(|&&x| x.fract() != 0.0 || !in_range(x))
                    {
                        return Err(invalid(format!(
                            "{bad} is not an {} (the ONNX input's element type)",
                            input.ty.onnx_name()
                        )));
                    }
                }
            }
            let mut shape = Vec::with_capacity(input.row_shape.len() + 1);
            shape.push(end - start);
            shape.extend_from_slice(&input.row_shape);
            let tensor = match input.ty {
                InputType::F32 => {
                    let v: Vec<f32> = values.iter().map(|&x| x as f32).collect();
                    Tensor::from_shape(&shape, &v)
                }
                InputType::F64 => Tensor::from_shape(&shape, &values),
                InputType::I32 => {
                    let v: Vec<i32> = values.iter().map(|&x| x as i32).collect();
                    Tensor::from_shape(&shape, &v)
                }
                InputType::I64 => {
                    let v: Vec<i64> = values.iter().map(|&x| x as i64).collect();
                    Tensor::from_shape(&shape, &v)
                }
            }
            .map_err(|e| ScoreError::InvalidValue {
                column: input.name.clone(),
                row: start,
                message: format!("{e:#}"),
            })?;
            tensors.push(tensor.into_tvalue());
        }
        Ok(tensors)
    }
}

impl Stage for OnnxStage {
    fn name(&self) -> &str {
        &self.name
    }

    fn inputs(&self) -> Vec<InputColumn> {
        self.model
            .inputs()
            .iter()
            .map(|i| InputColumn::vector(i.name.clone()))
            .collect()
    }

    fn output_fields(&self) -> Vec<FieldRef> {
        self.fields.clone()
    }

    fn bind(&self, schema: &Schema) -> Result<Binding> {
        bind_vector_columns(
            schema,
            self.model
                .inputs()
                .iter()
                .map(|input| (input.name.as_str(), format!("ONNX input `{}`", input.name))),
        )
    }

    fn apply(&self, binding: &Binding, batch: &RecordBatch) -> Result<StageOutput> {
        let rows = batch.num_rows();
        let columns = self
            .model
            .inputs()
            .iter()
            .zip(&binding.columns)
            .map(|(input, &idx)| VectorColumn::try_new(batch.column(idx), &input.name))
            .collect::<Result<Vec<_>>>()?;
        let chunk = match self.model.batch() {
            Batch::Any => rows.max(1),
            Batch::Fixed(d) => d,
        };
        if !rows.is_multiple_of(chunk) {
            return Err(self.in_stage(crate::OnnxError::Run(format!(
                "the graph was exported for exactly {chunk} rows per call and the batch has \
                 {rows}; export it with a dynamic batch axis (torch.onnx.export dynamic_axes)"
            ))));
        }
        let mut values: Vec<Vec<f64>> = vec![Vec::new(); self.widths.len()];
        let mut start = 0;
        while start < rows {
            let end = start + chunk;
            let out = self
                .model
                .run(self.tensors(&columns, start, end)?)
                .map_err(|e| self.in_stage(e))?;
            for ((acc, got), &k) in values.iter_mut().zip(out).zip(&self.widths) {
                if got.len() != (end - start) * k {
                    return Err(self.in_stage(crate::OnnxError::Run(format!(
                        "an output has {} values for {} rows of {k}",
                        got.len(),
                        end - start
                    ))));
                }
                acc.extend(got);
            }
            start = end;
        }
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.fields.len());
        for (v, &k) in values.iter().zip(&self.widths) {
            for j in 0..k {
                let col: Vec<f64> = v.iter().skip(j).step_by(k).copied().collect();
                arrays.push(Arc::new(Float64Array::from(col)));
            }
        }
        Ok(arrays.into())
    }
}
