//! `VectorSizeHint` (`ml/feature/VectorSizeHint.scala`, Spark 2.3+): params only (`inputCol`,
//! `size`, `handleInvalid` error/skip/optimistic, default error). It writes no column: Spark
//! replaces `inputCol` by itself with the size in its metadata, so later stages (a
//! `VectorAssembler`) know the vector's size.
//!
//! `error` fails on a null vector or one of another size, `skip` drops those rows,
//! `optimistic` checks nothing. Like Spark, a size that contradicts the one an earlier stage
//! gives the column is refused.

use std::sync::Arc;

use arrow_array::{BooleanArray, RecordBatch};
use arrow_schema::{FieldRef, Schema};
use scorewell_core::vector::VectorColumn;
use scorewell_core::{Binding, InputColumn, ScoreError, Stage, StageOutput};

use super::{Ctx, Registry};
use crate::error::Result;
use crate::model::bind_vector;

pub(crate) fn register(reg: &mut Registry) {
    reg.add("org.apache.spark.ml.feature.VectorSizeHint", size_hint);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Error,
    Skip,
    Optimistic,
}

#[derive(Debug)]
struct SizeHint {
    name: String,
    column: String,
    size: usize,
    mode: Mode,
}

impl Stage for SizeHint {
    fn name(&self) -> &str {
        &self.name
    }

    fn inputs(&self) -> Vec<InputColumn> {
        vec![InputColumn::vector(self.column.clone())]
    }

    fn output_fields(&self) -> Vec<FieldRef> {
        Vec::new()
    }

    fn bind(&self, schema: &Schema) -> scorewell_core::Result<Binding> {
        Ok(Binding::new(vec![bind_vector(
            schema,
            &self.column,
            &self.name,
        )?]))
    }

    fn apply(&self, binding: &Binding, batch: &RecordBatch) -> scorewell_core::Result<StageOutput> {
        if self.mode == Mode::Optimistic {
            return Ok(Vec::new().into());
        }
        let x = VectorColumn::try_new(batch.column(binding.columns[0]), &self.column)?;
        let mut keep = Vec::with_capacity(x.len());
        for row in 0..x.len() {
            let problem = match x.get(row) {
                None => Some("Got null vector in VectorSizeHint".to_string()),
                Some(v) if v.len() != self.size => Some(format!(
                    "VectorSizeHint Expecting a vector of size {} but got {}",
                    self.size,
                    v.len()
                )),
                Some(_) => None,
            };
            match (problem, self.mode) {
                (Some(message), Mode::Error) => {
                    return Err(ScoreError::InvalidValue {
                        column: self.column.clone(),
                        row,
                        message,
                    });
                }
                (problem, _) => keep.push(problem.is_none()),
            }
        }
        let keep =
            (self.mode == Mode::Skip && keep.contains(&false)).then(|| BooleanArray::from(keep));
        Ok(StageOutput {
            columns: Vec::new(),
            keep,
        })
    }
}

fn size_hint(ctx: &mut Ctx<'_>) -> Result<Vec<Arc<dyn Stage>>> {
    let column = ctx.meta.str("inputCol")?;
    let size = ctx.meta.usize("size")?;
    let mode = match ctx
        .meta
        .opt_str("handleInvalid")?
        .unwrap_or_else(|| "error".into())
        .as_str()
    {
        "error" => Mode::Error,
        "skip" => Mode::Skip,
        "optimistic" => Mode::Optimistic,
        other => {
            return Err(ctx.invalid(format!(
                "param `handleInvalid` is `{other}`, expected error, skip or optimistic"
            )));
        }
    };
    if let Some(known) = ctx.cols.vector_size(&column)
        && known != size
    {
        return Err(ctx.invalid(format!(
            "Trying to set size of vectors in `{column}` to {size} but size already set to {known}"
        )));
    }
    ctx.cols.vector(&column, Some(size));
    Ok(vec![Arc::new(SizeHint {
        name: ctx.name().to_string(),
        column,
        size,
        mode,
    })])
}
