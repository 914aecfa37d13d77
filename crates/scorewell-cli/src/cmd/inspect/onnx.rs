//! `scorewell inspect model.onnx`: producer, opset, inputs and outputs with their shapes (the
//! leading axis is the rows), op counts, and the columns scoring appends.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use scorewell::onnx::{Batch, OnnxModel, OnnxStage};

/// Prints what `path` (shown as `shown`) holds.
pub fn inspect(shown: &Path, path: &Path) -> Result<()> {
    let bytes = std::fs::read(path).with_context(|| path.display().to_string())?;
    let model = OnnxModel::from_bytes(&bytes).with_context(|| shown.display().to_string())?;
    let mut out = std::io::stdout().lock();
    let summary = model.summary();
    writeln!(out, "model:      {}", shown.display())?;
    writeln!(out, "format:     onnx (opset {})", summary.opset)?;
    if !summary.producer.is_empty() {
        writeln!(out, "producer:   {}", summary.producer)?;
    }
    let rows = match model.batch() {
        Batch::Any => "N".to_string(),
        Batch::Fixed(d) => d.to_string(),
    };
    let shape = |row: &[usize]| {
        std::iter::once(rows.clone())
            .chain(row.iter().map(usize::to_string))
            .collect::<Vec<_>>()
            .join(", ")
    };
    writeln!(out, "inputs:     {}", model.inputs().len())?;
    for i in model.inputs() {
        let width: usize = i.row_shape.iter().product();
        writeln!(
            out,
            "  {:<24} {}[{}]  ({width} values per row)",
            i.name,
            i.ty.onnx_name(),
            shape(&i.row_shape)
        )?;
    }
    writeln!(out, "outputs:    {}", model.outputs().len())?;
    for o in model.outputs() {
        writeln!(out, "  {:<24} {}[{}]", o.name, o.ty, shape(&o.row_shape))?;
    }
    let nodes: usize = summary.op_counts.values().sum();
    let ops: Vec<String> = summary
        .op_counts
        .iter()
        .map(|(op, n)| format!("{op} {n}"))
        .collect();
    writeln!(out, "nodes:      {nodes} ({})", ops.join(", "))?;
    let model = Arc::new(model);
    let stage = OnnxStage::new("onnx", model);
    let columns: Vec<String> = scorewell::Stage::output_fields(&stage)
        .iter()
        .map(|f| f.name().clone())
        .collect();
    writeln!(out, "columns:    {}", columns.join(", "))?;
    Ok(())
}
