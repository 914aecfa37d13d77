//! The columns of a stage that scores a tensor model (a Keras graph, an ONNX graph): each model
//! input reads one vector column holding the row's input tensor flattened row-major, and each
//! output tensor becomes Float64 columns. Both formats name and check them alike, here.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type};
use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch};
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

    /// Input `i`'s rows as one row-major `f32` buffer (`rows × width`). A list or fixed-size
    /// list of floats whose rows are all present, `width` long and free of null items is read
    /// straight from its child array in one pass (the common case, and most of a small
    /// model's time otherwise); anything else goes row by row through [`VectorColumn`], which
    /// also gives the precise error for a bad row.
    pub fn dense_f32(&self, i: usize, binding: &Binding, batch: &RecordBatch) -> Result<Vec<f32>> {
        let input = &self.inputs[i];
        let array = batch.column(binding.columns[i]);
        if let Some(values) = plain_floats(array, input.width) {
            return Ok(values);
        }
        let column = VectorColumn::try_new(array, &input.column)?;
        let mut data = vec![0.0f32; array.len() * input.width];
        for (row, out) in data.chunks_exact_mut(input.width.max(1)).enumerate() {
            self.row(i, &column, row)?.write_dense(out, |x| x as f32);
        }
        Ok(data)
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

/// The values of a list column of floats with every row present and `width` long, and no
/// null items, as `f32`; `None` for anything else.
fn plain_floats(array: &ArrayRef, width: usize) -> Option<Vec<f32>> {
    if array.logical_null_count() != 0 {
        return None;
    }
    let rows = array.len();
    // Every row's offsets `width` apart: the rows are one contiguous run of the child.
    fn uniform<O: Copy + TryInto<usize>>(offsets: &[O], width: usize) -> Option<(usize, usize)> {
        let at = |o: O| o.try_into().ok();
        let first = at(*offsets.first()?)?;
        let mut previous = first;
        for &o in &offsets[1..] {
            let o = at(o)?;
            if o.checked_sub(previous)? != width {
                return None;
            }
            previous = o;
        }
        Some((first, previous))
    }
    let (values, (start, end)) = match array.data_type() {
        DataType::List(_) => {
            let l = array.as_list::<i32>();
            (l.values(), uniform(l.value_offsets(), width)?)
        }
        DataType::LargeList(_) => {
            let l = array.as_list::<i64>();
            (l.values(), uniform(l.value_offsets(), width)?)
        }
        // A sliced fixed-size list holds only its own rows' values.
        DataType::FixedSizeList(_, n) if usize::try_from(*n).ok() == Some(width) => {
            (array.as_fixed_size_list().values(), (0, rows * width))
        }
        _ => return None,
    };
    if values.len() < end || values.slice(start, end - start).null_count() != 0 {
        return None;
    }
    match values.data_type() {
        DataType::Float32 => {
            Some(values.as_primitive::<Float32Type>().values()[start..end].to_vec())
        }
        DataType::Float64 => Some(
            values.as_primitive::<Float64Type>().values()[start..end]
                .iter()
                .map(|&x| x as f32)
                .collect(),
        ),
        _ => None,
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::builder::{
        FixedSizeListBuilder, Float32Builder, Float64Builder, LargeListBuilder,
    };
    use arrow_array::types::{Float32Type, Float64Type};
    use arrow_array::{Array, ArrayRef, ListArray, RecordBatch};

    use super::TensorIo;

    fn io(width: usize) -> TensorIo {
        TensorIo::new(
            "model input",
            [("x".to_owned(), vec![width])],
            [("y".to_owned(), 1)],
        )
    }

    fn read(array: ArrayRef, width: usize) -> crate::Result<Vec<f32>> {
        let io = io(width);
        let batch = RecordBatch::try_from_iter([("x", array)]).expect("batch");
        let binding = io.bind(&batch.schema())?;
        io.dense_f32(0, &binding, &batch)
    }

    #[test]
    fn every_list_layout_reads_the_same_values() {
        let rows = [[1.5f32, -2.0], [0.25, 3.0], [7.0, 8.0]];
        let want: Vec<f32> = rows.iter().flatten().copied().collect();
        let f32_list = ListArray::from_iter_primitive::<Float32Type, _, _>(
            rows.iter()
                .map(|r| Some(r.iter().map(|&v| Some(v)).collect::<Vec<_>>())),
        );
        let mut large = LargeListBuilder::new(Float64Builder::new());
        let mut fixed = FixedSizeListBuilder::new(Float32Builder::new(), 2);
        for r in rows {
            r.iter()
                .for_each(|&v| large.values().append_value(f64::from(v)));
            large.append(true);
            r.iter().for_each(|&v| fixed.values().append_value(v));
            fixed.append(true);
        }
        let fixed = fixed.finish();
        assert_eq!(read(Arc::new(f32_list.clone()), 2).expect("list"), want);
        assert_eq!(read(Arc::new(large.finish()), 2).expect("large list"), want);
        assert_eq!(read(Arc::new(fixed.clone()), 2).expect("fixed"), want);
        // Slices read only their own rows, whatever their parent holds.
        assert_eq!(
            read(Arc::new(fixed.slice(1, 2)), 2).expect("fixed slice"),
            want[2..]
        );
        assert_eq!(
            read(Arc::new(f32_list.slice(2, 1)), 2).expect("list slice"),
            want[4..]
        );
    }

    #[test]
    fn rows_that_do_not_fit_take_the_row_path_and_its_errors() {
        let list = |rows: Vec<Option<Vec<Option<f64>>>>| -> ArrayRef {
            Arc::new(ListArray::from_iter_primitive::<Float64Type, _, _>(rows))
        };
        let err = read(
            list(vec![
                Some(vec![Some(1.0), Some(2.0)]),
                Some(vec![Some(1.0)]),
            ]),
            2,
        )
        .expect_err("short row");
        assert!(err.to_string().contains("row 1 of the batch"), "{err}");
        assert!(err.to_string().contains("this row has 1"), "{err}");
        let err =
            read(list(vec![Some(vec![Some(1.0), Some(2.0)]), None]), 2).expect_err("null row");
        assert!(err.to_string().contains("null row"), "{err}");
        // A null item is not a plain run of floats: the row path reads it as before.
        let with_null = list(vec![Some(vec![Some(1.0), None])]);
        assert_eq!(
            with_null
                .as_any()
                .downcast_ref::<ListArray>()
                .map(|l| l.values().null_count()),
            Some(1)
        );
        assert_eq!(read(with_null, 2).expect("row path").len(), 2);
    }
}
