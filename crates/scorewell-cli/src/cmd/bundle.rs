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
    Create(Box<CreateArgs>),
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
    /// The bundle's name (default: the --spark folder's name, or the --model-set key).
    #[arg(long, required_unless_present_any = ["spark", "model_set"])]
    name: Option<String>,
    /// The model's version.
    #[arg(long, default_value = "1")]
    version: String,
    /// A description for humans.
    #[arg(long)]
    description: Option<String>,
    /// Make a model set: this key column picks each row's model from --models
    /// (docs/ROUTING.md).
    #[arg(long, value_name = "KEY", requires = "models", conflicts_with_all = ["model", "transforms", "spark"])]
    model_set: Option<String>,
    /// With --model-set: a folder of `<key>.json|.ubj|.txt|.zip`, one model or zipped
    /// bundle per key value.
    #[arg(long, value_name = "DIR", requires = "model_set")]
    models: Option<PathBuf>,
    /// With --model-set: the model for keys without one of their own.
    #[arg(long, value_name = "FILE", requires = "model_set")]
    default: Option<PathBuf>,
    /// With --model-set: what unseen and null keys get: `default` (needs --default; the
    /// default when given), `null`, or `error` (the default without --default).
    #[arg(long, value_name = "POLICY", requires = "model_set")]
    unseen: Option<String>,
    /// With --model-set: the key column's type, `utf8` (default), `int64` or `int32`.
    #[arg(long, value_name = "TYPE", requires = "model_set")]
    key_type: Option<String>,
    /// With --model-set: also write this column, naming the key and model digest that
    /// scored each row.
    #[arg(long, value_name = "COLUMN", requires = "model_set")]
    record: Option<String>,
    /// With --model-set: the byte budget of built models (default 256 MiB).
    #[arg(long, value_name = "BYTES", requires = "model_set")]
    cache_bytes: Option<u64>,
    /// Output: a path ending in `.zip` writes a zip, any other a directory.
    #[arg(long, short)]
    output: PathBuf,
}

/// Run `scorewell bundle …`.
pub fn run(args: Args) -> Result<()> {
    match args.command {
        BundleCommand::Create(args) => create(*args),
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
    if let Some(key) = &args.model_set {
        return create_model_set(key, &args);
    }
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
    written(&bundle, &args.output)
}

/// `bundle create --model-set KEY --models DIR [--default FILE]`.
fn create_model_set(key: &str, args: &CreateArgs) -> Result<()> {
    let folder = args
        .models
        .as_ref()
        .context("--model-set needs --models DIR")?;
    let mut options = scorewell::bundle::folder_options(key, folder, args.default.as_ref())?;
    options.name = args.name.clone().unwrap_or_else(|| key.to_string());
    options.version = args.version.clone();
    options.description = args.description.clone();
    options.record = args.record.clone();
    options.cache_bytes = args.cache_bytes;
    options.unseen = args
        .unseen
        .as_deref()
        .map(|u| match u {
            "default" => Ok(scorewell::bundle::routing::Unseen::Default),
            "null" => Ok(scorewell::bundle::routing::Unseen::Null),
            "error" => Ok(scorewell::bundle::routing::Unseen::Error),
            other => anyhow::bail!("--unseen must be default, null or error, not `{other}`"),
        })
        .transpose()?;
    options.key_type = args
        .key_type
        .as_deref()
        .map(|t| {
            serde_json::from_value(serde_json::Value::String(t.into()))
                .map_err(|_| anyhow::anyhow!("--key-type must be utf8, int64 or int32, not `{t}`"))
        })
        .transpose()?;
    let bundle = scorewell::bundle::create_model_set(&options)?;
    written(&bundle, &args.output)
}

fn written(bundle: &scorewell::bundle::NewBundle, output: &std::path::Path) -> Result<()> {
    bundle
        .write(output)
        .with_context(|| format!("cannot write {}", output.display()))?;
    let m = &bundle.manifest;
    let size: u64 = m.artifacts.values().map(|a| a.size).sum();
    eprintln!(
        "wrote {}: {} {} ({} stages, {} artifacts, {} bytes)",
        output.display(),
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
    /// The bundle (directory or zip), or a URL to a zipped one.
    bundle: PathBuf,
}

/// Run `scorewell verify`: check the manifest and every artifact's checksum, and that the
/// pipeline builds. Exit 1 on any mismatch.
pub fn verify(args: VerifyArgs) -> Result<()> {
    let local = scorewell::resolve(&args.bundle, &scorewell::FetchOptions::from_env()?)?;
    let path = &args.bundle;
    let bundle = Bundle::open(&local).with_context(|| path.display().to_string())?;
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
