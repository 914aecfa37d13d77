//! The ONNX model as a pipeline stage: Arrow vector columns in, Float64 columns out, named as
//! `scorewell_core::NnStage` names a Keras graph's.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{FieldRef, Schema};
use scorewell_core::tensor_io::TensorIo;
use scorewell_core::vector::VectorColumn;
use scorewell_core::{Binding, InputColumn, Result, ScoreError, Stage, StageOutput};
use tract_onnx::prelude::{IntoTValue, TValue, TVec, Tensor};

use crate::model::{Batch, InputType, OnnxModel};

/// Scores an [`OnnxModel`]. Each graph input binds to the column of the same ONNX name (or a
/// renamed one, [`OnnxStage::with_names`]), whose rows hold the input tensor of one row
/// flattened row-major (a list or fixed-size list of numbers, or a Spark vector). Outputs are
/// named as for Keras models ([`TensorIo`]), after the ONNX outputs.
#[derive(Debug)]
pub struct OnnxStage {
    name: String,
    model: Arc<OnnxModel>,
    io: TensorIo,
}

impl OnnxStage {
    /// A stage called `name` (for errors and `inspect`) scoring `model`.
    pub fn new(name: &str, model: Arc<OnnxModel>) -> Self {
        let io = TensorIo::new(
            "ONNX input",
            model
                .inputs()
                .iter()
                .map(|i| (i.name.clone(), i.row_shape.clone())),
            model
                .outputs()
                .iter()
                .map(|o| (o.name.clone(), o.row_shape.iter().product())),
        );
        Self {
            name: name.to_owned(),
            model,
            io,
        }
    }

    /// The same stage reading renamed columns and naming its output (a bundle's stages must
    /// not collide): see [`TensorIo::with_names`].
    pub fn with_names(
        mut self,
        columns: &std::collections::BTreeMap<String, String>,
        output: Option<&str>,
    ) -> std::result::Result<Self, String> {
        self.io = self.io.with_names(columns, output)?;
        Ok(self)
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
        for (i, (input, column)) in self.model.inputs().iter().zip(columns).enumerate() {
            let width = self.io.inputs()[i].width;
            let mut values = Vec::with_capacity((end - start) * width);
            for row in start..end {
                values.extend(self.io.row(i, column, row)?.to_dense());
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
                        return Err(ScoreError::InvalidValue {
                            column: self.io.inputs()[i].column.clone(),
                            row,
                            message: format!(
                                "{bad} is not an {} (the ONNX input's element type)",
                                input.ty.onnx_name()
                            ),
                        });
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
                column: self.io.inputs()[i].column.clone(),
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
        self.io.input_columns()
    }

    fn output_fields(&self) -> Vec<FieldRef> {
        self.io.output_fields()
    }

    fn bind(&self, schema: &Schema) -> Result<Binding> {
        self.io.bind(schema)
    }

    fn apply(&self, binding: &Binding, batch: &RecordBatch) -> Result<StageOutput> {
        let rows = batch.num_rows();
        let columns = self.io.columns(binding, batch)?;
        let widths = self.io.widths();
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
        let mut values: Vec<Vec<f64>> = vec![Vec::new(); widths.len()];
        let mut start = 0;
        while start < rows {
            let end = start + chunk;
            let out = self
                .model
                .run(self.tensors(&columns, start, end)?)
                .map_err(|e| self.in_stage(e))?;
            for ((acc, got), &k) in values.iter_mut().zip(out).zip(widths) {
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
        let values: Vec<&[f64]> = values.iter().map(Vec::as_slice).collect();
        Ok(self.io.output(&values))
    }
}
