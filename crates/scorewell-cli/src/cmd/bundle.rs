//! `scorewell bundle create` and `scorewell verify`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args as ClapArgs, Subcommand};
use scorewell::bundle::{Bundle, CreateOptions};

/// Arguments of `scorewell bundle`.
#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    command: BundleCommand,
}

#[derive(Debug, Subcommand)]
enum BundleCommand {
    /// Package model files and a transforms spec into a verified bundle (zip or directory).
    Create(CreateArgs),
    /// List the stage kinds a bundle may use (parameters: docs/BUNDLE.md and the
    /// scorewell-transform docs).
    Kinds,
}

/// Arguments of `scorewell bundle create`.
#[derive(Debug, ClapArgs)]
struct CreateArgs {
    /// A model file (XGBoost JSON/UBJSON, LightGBM text); repeat for several models.
    #[arg(long, value_name = "FILE")]
    model: Vec<PathBuf>,
    /// Pipeline spec (YAML or JSON): inputs, transform and model stages, decision, outputs.
    #[arg(long, value_name = "FILE")]
    transforms: Option<PathBuf>,
    /// A folder saved by Spark ML's `model.save` (PipelineModel or one model), bundled as a
    /// `spark_pipeline` stage; repeat for several.
    #[arg(long, value_name = "FOLDER")]
    spark: Vec<PathBuf>,
    /// The bundle's name (default: the --spark folder's name).
    #[arg(long, required_unless_present = "spark")]
    name: Option<String>,
    /// The model's version.
    #[arg(long, default_value = "1")]
    version: String,
    /// A description for humans.
    #[arg(long)]
    description: Option<String>,
    /// Output: a path ending in `.zip` writes a zip, any other a directory.
    #[arg(long, short)]
    output: PathBuf,
}

/// Run `scorewell bundle …`.
pub fn run(args: Args) -> Result<()> {
    match args.command {
        BundleCommand::Create(args) => create(args),
        BundleCommand::Kinds => {
            let mut out = std::io::stdout().lock();
            for kind in scorewell::bundle::stage_kinds() {
                writeln!(out, "{kind}")?;
            }
            Ok(())
        }
    }
}

fn create(args: CreateArgs) -> Result<()> {
    let name = args.name.unwrap_or_else(|| {
        args.spark
            .first()
            .and_then(|f| f.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    let bundle = scorewell::bundle::create(&CreateOptions {
        name,
        spark: args.spark,
        version: args.version,
        models: args.model,
        spec: args.transforms,
        description: args.description,
        created_at: None,
    })?;
    bundle
        .write(&args.output)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    let m = &bundle.manifest;
    let size: u64 = m.artifacts.values().map(|a| a.size).sum();
    eprintln!(
        "wrote {}: {} {} ({} stages, {} artifacts, {} bytes)",
        args.output.display(),
        m.name,
        m.version,
        m.stages.len() + usize::from(m.decision.is_some()),
        m.artifacts.len(),
        size
    );
    Ok(())
}

/// Arguments of `scorewell verify`.
#[derive(Debug, ClapArgs)]
pub struct VerifyArgs {
    /// The bundle (directory or zip).
    bundle: PathBuf,
}

/// Run `scorewell verify`: check the manifest and every artifact's checksum, and that the
/// pipeline builds. Exit 1 on any mismatch.
pub fn verify(args: VerifyArgs) -> Result<()> {
    let path = &args.bundle;
    let bundle = Bundle::open(path).with_context(|| path.display().to_string())?;
    let report = bundle
        .verify()
        .with_context(|| path.display().to_string())?;
    bundle
        .scorer()
        .with_context(|| path.display().to_string())?;
    let mut out = std::io::stdout().lock();
    for (name, size) in &report.verified {
        writeln!(out, "ok        {name} ({size} bytes)")?;
    }
    for name in &report.unlisted {
        writeln!(out, "unlisted  {name} (not in the manifest; never read)")?;
    }
    let m = bundle.manifest();
    writeln!(
        out,
        "{}: {} {} verified ({} artifacts)",
        path.display(),
        m.name,
        m.version,
        report.verified.len()
    )?;
    Ok(())
}
