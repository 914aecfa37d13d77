//! A neural-network model stage: Arrow vector columns in, `scorewell-nn` graph, Float64 out.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{FieldRef, Schema};
use scorewell_nn::{Graph, Tensor};

use crate::error::{Result, ScoreError};
use crate::stage::{Binding, InputColumn, Stage, StageOutput};
use crate::tensor_io::TensorIo;

/// Scores a [`Graph`]. Each graph input binds to the column of the same name (or a renamed
/// one, [`NnStage::with_names`]), holding per row the input tensor flattened row-major (a list
/// or fixed-size list of floats, or a Spark vector). Outputs are named as [`TensorIo`] says,
/// after the output layers.
#[derive(Debug)]
pub struct NnStage {
    name: String,
    graph: Arc<Graph>,
    io: TensorIo,
}

impl NnStage {
    /// A stage called `name` (for errors and `inspect`) scoring `graph`.
    pub fn new(name: &str, graph: Arc<Graph>) -> Self {
        let io = TensorIo::new(
            "model input",
            graph.inputs().map(|(n, s)| (n.to_owned(), s.to_vec())),
            graph
                .outputs()
                .map(|(n, s)| (n.to_owned(), s.iter().product())),
        );
        Self {
            name: name.to_owned(),
            graph,
            io,
        }
    }

    /// The same stage reading renamed columns and naming its output: see
    /// [`TensorIo::with_names`].
    pub fn with_names(
        mut self,
        columns: &std::collections::BTreeMap<String, String>,
        output: Option<&str>,
    ) -> std::result::Result<Self, String> {
        self.io = self.io.with_names(columns, output)?;
        Ok(self)
    }

    /// The graph this stage scores.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }
}

impl Stage for NnStage {
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
        let mut tensors = Vec::with_capacity(self.io.inputs().len());
        for (i, input) in self.io.inputs().iter().enumerate() {
            let data = self.io.dense_f32(i, binding, batch)?;
            let mut full = vec![rows];
            full.extend_from_slice(&input.shape);
            // `dense_f32` gives `rows × width` values, the product of this shape.
            let tensor = Tensor::new(full, data).ok_or_else(|| ScoreError::InvalidValue {
                column: input.column.clone(),
                row: 0,
                message: "input tensor size".into(),
            })?;
            tensors.push(tensor);
        }
        let out = self.graph.run(tensors).map_err(|e| ScoreError::InStage {
            stage: self.name.clone(),
            source: Box::new(e.into()),
        })?;
        let values: Vec<&[f32]> = out.iter().map(Tensor::data).collect();
        Ok(self.io.output(&values))
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
            "column `x`, row 1 of the batch: the model input `x` has shape [2] per row, 2 values \
             flattened row-major; this row has 1"
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
