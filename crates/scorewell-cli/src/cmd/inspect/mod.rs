//! `scorewell inspect`: what a model is, what it reads, what it writes.

use std::io::Write;

use anyhow::{Context, Result};
use clap::Args as ClapArgs;
use scorewell::{FeatureKind, OutputMode};

use super::ModelArgs;

mod nn;
#[cfg(feature = "onnx")]
mod onnx;

/// Arguments of `scorewell inspect`.
#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(flatten)]
    model: ModelArgs,
}

/// Run `scorewell inspect`.
pub fn run(args: Args) -> Result<()> {
    let path = args.model.local_path()?;
    // Before the bundle check: a `.keras` archive is a zip too.
    let options = args.model.load_options(OutputMode::Prediction)?;
    if let Some(model) = scorewell::keras_model_at(&path, &options)? {
        return nn::inspect_keras(&args.model.model, model);
    }
    if scorewell::bundle::is_bundle(&path) {
        return inspect_bundle(&path);
    }
    if scorewell::spark::is_spark_model(&path) {
        return inspect_pipeline(&path);
    }
    if args.model.model_format.is_none()
        && path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(scorewell::sklearn::has_sklearn_extension)
    {
        return inspect_sklearn(&args.model.model, &path);
    }
    if args.model.model_format.as_deref().map_or_else(
        || {
            path.extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("onnx"))
        },
        |f| f.eq_ignore_ascii_case("onnx"),
    ) {
        #[cfg(feature = "onnx")]
        return onnx::inspect(&args.model.model, &path);
        #[cfg(not(feature = "onnx"))]
        anyhow::bail!(
            "{}: ONNX models need scorewell built with the `onnx` cargo feature \
             (cargo build --release -p scorewell-cli --features onnx)",
            args.model.model.display()
        );
    }
    if let Some(n) = &options.neighbors {
        return inspect_annoy(&path, n);
    }
    if path.extension().is_some_and(|e| e == "ann") {
        anyhow::bail!(
            "{}: an Annoy index records neither its metric nor its dimension; give them (--metric, --dims)",
            args.model.model.display()
        );
    }
    let model = scorewell::load_model(&path, args.model.model_format.as_deref())?;
    let forest = &model.forest;
    let depth = forest.trees().iter().map(|t| t.depth()).max().unwrap_or(0);
    let leaves: usize = forest.trees().iter().map(|t| t.num_leaves()).sum();
    let info = &model.info;
    let scorer = scorewell::scorer_for(model.clone(), OutputMode::Prediction)?;
    let margin = scorewell::scorer_for(model.clone(), OutputMode::Margin)?;
    let outputs = |s: &scorewell::Scorer| -> Vec<String> {
        s.pipeline()
            .stages()
            .iter()
            .flat_map(|st| st.output_fields())
            .map(|f| f.name().clone())
            .collect()
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "model:      {}", args.model.model.display())?;
    writeln!(out, "format:     {}", info.format)?;
    if let Some(p) = &info.producer {
        writeln!(out, "producer:   {p}")?;
    }
    writeln!(out, "objective:  {}", info.objective)?;
    for (k, v) in &info.details {
        writeln!(out, "{:<11} {v}", format!("{k}:"))?;
    }
    if let Some(term) = forest.linear() {
        writeln!(
            out,
            "linear:     {} weights ({} features x {} outputs) + {} biases",
            term.weights.len(),
            forest.num_features(),
            forest.num_groups(),
            term.bias.len()
        )?;
    }
    if !forest.trees().is_empty() || forest.linear().is_none() {
        writeln!(
            out,
            "trees:      {} ({} leaves, max depth {depth}, {} nodes)",
            forest.trees().len(),
            leaves,
            forest.num_nodes()
        )?;
    }
    for (_, engine) in scorer.engines() {
        writeln!(out, "engine:     {engine}")?;
    }
    writeln!(out, "link:       {}", forest.link().name())?;
    writeln!(out, "outputs:    {}", outputs(&scorer).join(", "))?;
    writeln!(out, "margins:    {}", outputs(&margin).join(", "))?;
    writeln!(out, "inputs:     {}", model.features.len())?;
    for (i, f) in model.features.iter().enumerate() {
        let kind = match &f.kind {
            FeatureKind::Numeric => "number".to_string(),
            FeatureKind::Categorical { categories: None } => "category code".to_string(),
            FeatureKind::Categorical {
                categories: Some(c),
            } => format!("category ({} names)", c.len()),
        };
        writeln!(out, "  {i:>4}  {:<24} {kind}", f.name)?;
    }
    Ok(())
}

/// A scikit-learn pickle/joblib file: the estimator tree, the version that saved it, its
/// inputs and outputs.
fn inspect_sklearn(shown: &std::path::Path, path: &std::path::Path) -> Result<()> {
    use scorewell::sklearn::{SklearnStage, model::Categories, model::Head, pickle::joblib};
    let bytes = std::fs::read(path).with_context(|| path.display().to_string())?;
    let model = scorewell::sklearn::load(&bytes).with_context(|| shown.display().to_string())?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "model:      {}", shown.display())?;
    let packing = joblib::compressor(&bytes).map_or(String::new(), |c| format!(", {c}-compressed"));
    writeln!(out, "format:     scikit-learn pickle/joblib{packing}")?;
    if let Some(v) = &model.version {
        writeln!(out, "producer:   scikit-learn {v}")?;
    }
    writeln!(out, "estimator:  {}", model.summary.join("\n            "))?;
    match &model.head {
        Head::Trees { tables, .. } => writeln!(out, "trees:      {}", tables.trees.len())?,
        Head::Linear {
            intercept,
            num_features,
            ..
        } => writeln!(
            out,
            "linear:     {} x {num_features} coefficients",
            intercept.len()
        )?,
    }
    let model = std::sync::Arc::new(model);
    let stage = SklearnStage::new(model.clone());
    let names: Vec<String> = scorewell::Stage::output_fields(&stage)
        .iter()
        .map(|f| format!("{} ({})", f.name(), f.data_type()))
        .collect();
    writeln!(out, "outputs:    {}", names.join(", "))?;
    writeln!(out, "inputs:     {}", model.inputs.len())?;
    for (i, input) in model.inputs.iter().enumerate() {
        let kind = match &input.categories {
            _ if !input.used => "not read (dropped by the ColumnTransformer)".to_string(),
            None if input.text => "text (encoded)".to_string(),
            None => "number".to_string(),
            Some(Categories::Text(c)) => format!("category ({} names)", c.len()),
            Some(Categories::Numbers(c)) => format!("category ({} values)", c.len()),
        };
        writeln!(out, "  {i:>4}  {:<24} {kind}", input.name)?;
    }
    Ok(())
}

fn inspect_bundle(path: &std::path::Path) -> Result<()> {
    let context = || path.display().to_string();
    let bundle = scorewell::Bundle::open(path).with_context(context)?;
    let m = bundle.manifest();
    let mut out = std::io::stdout().lock();
    writeln!(out, "bundle:     {}", path.display())?;
    writeln!(out, "name:       {} (version {})", m.name, m.version)?;
    writeln!(out, "created:    {} by {}", m.created_at, m.producer)?;
    writeln!(out, "format:     scorewell.json v{}", m.format_version)?;
    if let Some(d) = &m.description {
        writeln!(out, "about:      {d}")?;
    }
    writeln!(out, "inputs:     {}", m.inputs.len())?;
    for input in &m.inputs {
        let ty = serde_name(&input.ty);
        let null = if input.nullable { "" } else { ", not null" };
        writeln!(out, "  {:<28} {ty}{null}", input.name)?;
    }
    writeln!(out, "stages:     {}", m.stages.len())?;
    for (i, stage) in m.stages.iter().enumerate() {
        write!(out, "  {i:>3}  {:<20} {}", stage.kind, stage.name)?;
        if let Some(artifact) = &stage.artifact {
            write!(out, "  {artifact}")?;
            if let Some(a) = m.artifacts.get(artifact) {
                write!(
                    out,
                    " ({} bytes, sha256 {})",
                    a.size,
                    a.sha256.get(..16).unwrap_or(&a.sha256)
                )?;
            }
            if let Some(p) = stage.params.get("producer").and_then(|p| p.as_str()) {
                write!(out, ", made by {p}")?;
            }
        }
        writeln!(out)?;
    }
    if let Some(d) = &m.decision {
        let rules: Vec<String> = d
            .rules
            .iter()
            .map(|r| format!("{} >= {} → {}", d.score, r.at_least, r.label))
            .collect();
        writeln!(
            out,
            "decision:   {}; otherwise {} → column `{}`",
            rules.join("; "),
            d.otherwise,
            d.output
        )?;
    }
    writeln!(out, "outputs:    {}", m.outputs.len())?;
    for output in &m.outputs {
        let ty = output.ty.as_ref().map(serde_name).unwrap_or_default();
        writeln!(out, "  {:<28} {ty}", output.name)?;
    }
    let total: u64 = m.artifacts.values().map(|a| a.size).sum();
    writeln!(out, "artifacts:  {} ({total} bytes)", m.artifacts.len())?;
    for (name, a) in &m.artifacts {
        writeln!(
            out,
            "  {name:<40} {:>10} bytes  sha256 {}",
            a.size, a.sha256
        )?;
    }
    Ok(())
}

/// Anything `score` loads that is neither a bundle nor a bare model file (a folder saved by
/// Spark ML): its stages with what each reads and writes, and the scorer's inputs.
fn inspect_pipeline(path: &std::path::Path) -> Result<()> {
    let scorer = scorewell::load(path).with_context(|| path.display().to_string())?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "model:      {}", path.display())?;
    writeln!(out, "format:     Spark ML saved model (folder)")?;
    let inputs = scorer.inputs();
    writeln!(out, "inputs:     {}", inputs.len())?;
    for input in &inputs {
        writeln!(out, "  {}", input.name)?;
    }
    let stages = scorer.pipeline().stages();
    writeln!(out, "stages:     {}", stages.len())?;
    for (i, stage) in stages.iter().enumerate() {
        let reads: Vec<String> = stage.inputs().into_iter().map(|c| c.name).collect();
        let writes: Vec<String> = stage
            .output_fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        writeln!(
            out,
            "  {i:>3}  {:<36} {} -> {}",
            stage.name(),
            reads.join(", "),
            writes.join(", ")
        )?;
    }
    let outputs: Vec<String> = match scorer.pipeline().selected_outputs() {
        Some(names) => names.to_vec(),
        None => stages
            .iter()
            .flat_map(|s| s.output_fields())
            .map(|f| f.name().clone())
            .collect(),
    };
    writeln!(out, "outputs:    {}", outputs.join(", "))?;
    Ok(())
}

/// An Annoy index: its shape, and a full walk that reports the first corrupt node.
fn inspect_annoy(path: &std::path::Path, n: &scorewell::NeighborOptions) -> Result<()> {
    let index = scorewell::neighbors::AnnoyIndex::open(path, n.metric, n.dims)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "index:      {}", path.display())?;
    writeln!(
        out,
        "format:     annoy index (metric {}, {} dimensions)",
        n.metric, n.dims
    )?;
    writeln!(out, "items:      {}", index.n_items())?;
    writeln!(out, "trees:      {}", index.n_trees())?;
    writeln!(
        out,
        "nodes:      {} ({} bytes each)",
        index.n_nodes(),
        index.size_bytes() / index.n_nodes().max(1)
    )?;
    writeln!(
        out,
        "file size:  {} bytes (memory-mapped)",
        index.size_bytes()
    )?;
    match index.validate() {
        Ok(()) => writeln!(out, "check:      every node refers inside the file")?,
        Err(e) => anyhow::bail!(e),
    }
    writeln!(
        out,
        "outputs:    neighbors (list<int64>), distances (list<float32>)"
    )?;
    Ok(())
}

/// The name a value has in the manifest (`float64`, `utf8`, ...).
fn serde_name<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}
