//! A neural-network model stage: Arrow vector columns in, `scorewell-nn` graph, Float64 out.

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch};
use arrow_schema::{DataType, Field, FieldRef, Schema};
use scorewell_nn::{Graph, Tensor};

use crate::error::{Result, ScoreError};
use crate::stage::{Binding, InputColumn, Stage, StageOutput};
use crate::vector::{VectorColumn, bind_vector_columns};

/// Scores a [`Graph`]. Each graph input binds to the column of the same name, holding per row
/// the input tensor flattened row-major (a list or fixed-size list of floats, or a Spark
/// vector). Outputs are `Float64` columns: a graph with one output of `k` values per row
/// appends `prediction` (`k = 1`) or `prediction_0 … prediction_{k-1}`, as tree models do; with
/// several outputs each is named after its output layer the same way (`p`, `q_0`, `q_1`, ...).
#[derive(Debug)]
pub struct NnStage {
    name: String,
    graph: Arc<Graph>,
    /// Per graph output: its width (values per row).
    widths: Vec<usize>,
    outputs: Vec<FieldRef>,
    /// Per graph input: its name and element count per row.
    inputs: Vec<(String, usize)>,
    /// Per graph input: the column it reads (its own name unless renamed).
    columns: Vec<String>,
}

impl NnStage {
    /// A stage called `name` (for errors and `inspect`) scoring `graph`.
    pub fn new(name: &str, graph: Arc<Graph>) -> Self {
        let widths: Vec<usize> = graph.outputs().map(|(_, s)| s.iter().product()).collect();
        let names: Vec<String> = if widths.len() == 1 {
            vec!["prediction".to_owned()]
        } else {
            graph.outputs().map(|(n, _)| n.to_owned()).collect()
        };
        let inputs: Vec<(String, usize)> = graph
            .inputs()
            .map(|(n, s)| (n.to_owned(), s.iter().product()))
            .collect();
        Self {
            name: name.to_owned(),
            outputs: output_fields(&names, &widths),
            columns: inputs.iter().map(|(n, _)| n.clone()).collect(),
            graph,
            widths,
            inputs,
        }
    }

    /// The same stage reading renamed columns (`input name → column`, every key a graph
    /// input) and, for a graph with one output, naming its columns `output` (`output`,
    /// `output_0`, ...) instead of `prediction`: a bundle's stages must not collide.
    pub fn with_names(
        mut self,
        columns: &std::collections::BTreeMap<String, String>,
        output: Option<&str>,
    ) -> std::result::Result<Self, String> {
        for (input, column) in columns {
            let i = self
                .inputs
                .iter()
                .position(|(n, _)| n == input)
                .ok_or_else(|| {
                    let known: Vec<&str> = self.inputs.iter().map(|(n, _)| n.as_str()).collect();
                    format!(
                        "`{input}` is not a model input (inputs: {})",
                        known.join(", ")
                    )
                })?;
            self.columns[i] = column.clone();
        }
        if let Some(output) = output {
            if self.widths.len() != 1 {
                return Err(format!(
                    "`output` names the columns of a one-output model; this one has {} outputs, named after their layers",
                    self.widths.len()
                ));
            }
            self.outputs = output_fields(&[output.to_owned()], &self.widths);
        }
        Ok(self)
    }

    /// The graph this stage scores.
    pub fn graph(&self) -> &Graph {
        &self.graph
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

impl Stage for NnStage {
    fn name(&self) -> &str {
        &self.name
    }

    fn inputs(&self) -> Vec<InputColumn> {
        self.columns
            .iter()
            .map(|c| InputColumn::vector(c.clone()))
            .collect()
    }

    fn output_fields(&self) -> Vec<FieldRef> {
        self.outputs.clone()
    }

    fn bind(&self, schema: &Schema) -> Result<Binding> {
        bind_vector_columns(
            schema,
            self.inputs
                .iter()
                .zip(&self.columns)
                .map(|((input, _), name)| (name.as_str(), format!("model input `{input}`"))),
        )
    }

    fn apply(&self, binding: &Binding, batch: &RecordBatch) -> Result<StageOutput> {
        let rows = batch.num_rows();
        let mut tensors = Vec::with_capacity(self.inputs.len());
        for (((input, width), name), &idx) in
            self.inputs.iter().zip(&self.columns).zip(&binding.columns)
        {
            let column = VectorColumn::try_new(batch.column(idx), name)?;
            let mut data = Vec::with_capacity(rows * width);
            for row in 0..rows {
                let invalid = |message: String| ScoreError::InvalidValue {
                    column: name.clone(),
                    row,
                    message,
                };
                let v = column
                    .get(row)
                    .ok_or_else(|| invalid("null row; the model needs a value".into()))?;
                if v.len() != *width {
                    return Err(invalid(format!(
                        "the model input holds {width} values per row (the tensor flattened row-major), this row has {}",
                        v.len()
                    )));
                }
                data.extend(v.to_dense().into_iter().map(|x| x as f32));
            }
            let mut shape = vec![rows];
            shape.extend_from_slice(
                self.graph
                    .inputs()
                    .find(|(n, _)| n == input)
                    .map_or(&[][..], |(_, s)| s),
            );
            // Every row was checked to hold `width` values, the product of this shape.
            let tensor = Tensor::new(shape, data).ok_or_else(|| ScoreError::InvalidValue {
                column: name.clone(),
                row: 0,
                message: "input tensor size".into(),
            })?;
            tensors.push(tensor);
        }
        let out = self.graph.run(tensors).map_err(|e| ScoreError::InStage {
            stage: self.name.clone(),
            source: Box::new(e.into()),
        })?;
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.outputs.len());
        for (t, &k) in out.iter().zip(&self.widths) {
            let values = t.data();
            for j in 0..k {
                let col: Vec<f64> = values
                    .iter()
                    .skip(j)
                    .step_by(k)
                    .map(|&v| f64::from(v))
                    .collect();
                columns.push(Arc::new(Float64Array::from(col)));
            }
        }
        Ok(columns.into())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::types::Float64Type;
    use arrow_array::{Array, ArrayRef, Float64Array, ListArray, RecordBatch};
    use scorewell_nn::{Activation, Dense, GraphBuilder, Layer};

    use super::NnStage;
    use crate::stage::Stage;

    fn stage() -> NnStage {
        let mut g = GraphBuilder::new();
        let x = g.add_input("x", vec![2]).unwrap();
        let d = Layer::Dense(Dense {
            kernel: vec![1.0, -1.0, 2.0, 0.5],
            kernel_shape: vec![2, 2],
            bias: Some(vec![0.5, 0.0]),
            activation: Activation::Relu,
        });
        let y = g.add_layer("y", d, &[x]).unwrap();
        g.add_output("y", y).unwrap();
        NnStage::new("keras", Arc::new(g.build().unwrap()))
    }

    fn batch(rows: Vec<Option<Vec<Option<f64>>>>) -> RecordBatch {
        let list = ListArray::from_iter_primitive::<Float64Type, _, _>(rows);
        RecordBatch::try_from_iter([("x", Arc::new(list) as ArrayRef)]).unwrap()
    }

    #[test]
    fn binds_by_input_name_and_scores_rows() {
        let s = stage();
        let names: Vec<String> = s.output_fields().iter().map(|f| f.name().clone()).collect();
        assert_eq!(names, ["prediction_0", "prediction_1"]);
        let b = batch(vec![
            Some(vec![Some(1.0), Some(2.0)]),
            Some(vec![Some(-1.0), Some(0.0)]),
        ]);
        let binding = s.bind(&b.schema()).unwrap();
        let out = s.apply(&binding, &b).unwrap();
        let col = |i: usize| {
            let a = out.columns[i]
                .as_any()
                .downcast_ref::<Float64Array>()
                .unwrap();
            a.values().to_vec()
        };
        // row 0: [1*1 + 2*2 + 0.5, 1*-1 + 2*0.5] = [5.5, 0]; row 1: [-1 + 0.5 -> 0, 1]
        assert_eq!(col(0), [5.5, 0.0]);
        assert_eq!(col(1), [0.0, 1.0]);
    }

    #[test]
    fn renamed_inputs_and_output_bind_and_name_columns() {
        let renames = [("x".to_owned(), "embedding".to_owned())].into();
        let s = stage().with_names(&renames, Some("risk")).unwrap();
        let names: Vec<String> = s.output_fields().iter().map(|f| f.name().clone()).collect();
        assert_eq!(names, ["risk_0", "risk_1"]);
        let list = ListArray::from_iter_primitive::<Float64Type, _, _>(vec![Some(vec![
            Some(1.0),
            Some(2.0),
        ])]);
        let b = RecordBatch::try_from_iter([("embedding", Arc::new(list) as ArrayRef)]).unwrap();
        let out = s.apply(&s.bind(&b.schema()).unwrap(), &b).unwrap();
        assert_eq!(out.columns.len(), 2);
        let unknown = [("nope".to_owned(), "c".to_owned())].into();
        let err = stage().with_names(&unknown, None).unwrap_err();
        assert_eq!(err, "`nope` is not a model input (inputs: x)");
    }

    #[test]
    fn a_row_of_the_wrong_width_names_column_and_row() {
        let s = stage();
        let b = batch(vec![
            Some(vec![Some(1.0), Some(2.0)]),
            Some(vec![Some(1.0)]),
        ]);
        let binding = s.bind(&b.schema()).unwrap();
        let err = s.apply(&binding, &b).unwrap_err();
        assert_eq!(
            err.to_string(),
            "column `x`, row 1 of the batch: the model input holds 2 values per row \
             (the tensor flattened row-major), this row has 1"
        );
        let other = RecordBatch::try_from_iter([(
            "z",
            Arc::new(Float64Array::from(vec![1.0])) as ArrayRef,
        )])
        .unwrap();
        assert!(
            s.bind(&other.schema())
                .unwrap_err()
                .to_string()
                .starts_with("input has no column `x`")
        );
        let wrong = RecordBatch::try_from_iter([(
            "x",
            Arc::new(Float64Array::from(vec![1.0])) as ArrayRef,
        )])
        .unwrap();
        assert!(
            s.bind(&wrong.schema())
                .unwrap_err()
                .to_string()
                .starts_with("column `x` has type Float64")
        );
    }
}
