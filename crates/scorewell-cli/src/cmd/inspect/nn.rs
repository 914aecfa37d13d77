//! `scorewell inspect` for neural networks: inputs and outputs with their shapes and the
//! columns they bind to, every layer with its output shape, and the parameter count.

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use scorewell::Stage;
use scorewell::keras::KerasModel;

/// A per-sample shape as Keras prints it, with the batch axis as `None`.
fn shape(dims: &[usize]) -> String {
    let dims: Vec<String> = dims.iter().map(usize::to_string).collect();
    format!("(None, {})", dims.join(", "))
}

pub(super) fn inspect_keras(shown: &Path, model: KerasModel) -> Result<()> {
    let graph = &model.graph;
    let mut out = std::io::stdout().lock();
    writeln!(out, "model:      {}", shown.display())?;
    writeln!(out, "format:     keras")?;
    if let Some(v) = &model.keras_version {
        writeln!(out, "producer:   keras {v}")?;
    }
    writeln!(out, "name:       {}", model.name)?;
    writeln!(out, "parameters: {}", graph.parameter_count())?;
    writeln!(out, "inputs:     {}", graph.inputs().count())?;
    for (name, dims) in graph.inputs() {
        let width: usize = dims.iter().product();
        writeln!(
            out,
            "  {name:<24} {:<20} column `{name}`: {width} values per row, row-major",
            shape(dims)
        )?;
    }
    // The stage decides the output column names; show them next to the graph outputs.
    let stage = scorewell::NnStage::new("keras", std::sync::Arc::new(graph.clone()));
    let mut columns = stage.output_fields().into_iter().map(|f| f.name().clone());
    writeln!(out, "outputs:    {}", graph.outputs().count())?;
    for (name, dims) in graph.outputs() {
        let width: usize = dims.iter().product();
        let cols: Vec<String> = columns.by_ref().take(width).collect();
        let cols = match cols.as_slice() {
            [one] => one.clone(),
            [first, .., last] => format!("{first} … {last}"),
            [] => String::new(),
        };
        writeln!(out, "  {name:<24} {:<20} columns {cols}", shape(dims))?;
    }
    writeln!(out, "layers:     {}", graph.layers().count())?;
    for (name, kind, dims) in graph.layers() {
        writeln!(out, "  {name:<24} {kind:<20} {}", shape(dims))?;
    }
    Ok(())
}
