//! `scorewell inspect`: what a model is, what it reads, what it writes.

use std::io::Write;

use anyhow::Result;
use clap::Args as ClapArgs;
use scorewell::{FeatureKind, OutputMode};

use super::ModelArgs;

/// Arguments of `scorewell inspect`.
#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(flatten)]
    model: ModelArgs,
}

/// Run `scorewell inspect`.
pub fn run(args: Args) -> Result<()> {
    let model = scorewell::load_model(&args.model.model, args.model.model_format.as_deref())?;
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
    writeln!(
        out,
        "trees:      {} ({} leaves, max depth {depth}, {} nodes)",
        forest.trees().len(),
        leaves,
        forest.num_nodes()
    )?;
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
