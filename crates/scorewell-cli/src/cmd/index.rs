//! `scorewell index build`: an Annoy index from a column of vectors.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args as ClapArgs, Subcommand};
use scorewell::neighbors::Metric;
use scorewell::neighbors::build::{BuildOptions, Builder};
use scorewell_io::DataFormat;

use super::data_format;

/// Arguments of `scorewell index`.
#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    command: IndexCommand,
}

#[derive(Debug, Subcommand)]
enum IndexCommand {
    /// Build an Annoy index (a file annoy itself loads) from a vector column.
    Build(BuildArgs),
}

/// Arguments of `scorewell index build`.
#[derive(Debug, ClapArgs)]
struct BuildArgs {
    /// Vectors (.parquet, .csv, .jsonl): one list/fixed-size-list column of floats per row.
    input: PathBuf,
    /// Where to write the index (written to a temporary file and renamed at the end).
    #[arg(long, short)]
    output: PathBuf,
    /// angular, euclidean, manhattan, dot or hamming.
    #[arg(long, default_value = "angular")]
    metric: String,
    /// Trees (more: better recall, a larger file; -1: annoy's automatic count).
    #[arg(long, default_value_t = 10, allow_negative_numbers = true)]
    trees: i32,
    /// Seed of annoy's random generator (default: annoy's own default seed).
    #[arg(long)]
    seed: Option<u64>,
    /// The vector column (default: the input's one list column).
    #[arg(long, value_name = "NAME")]
    vector_column: Option<String>,
    /// An integer column of item ids (default: row order, from 0).
    #[arg(long, value_name = "NAME")]
    id_column: Option<String>,
    /// Input format instead of the extension's: parquet, csv, jsonl.
    #[arg(long, value_name = "FORMAT")]
    input_format: Option<String>,
}

/// Run `scorewell index ...`.
pub fn run(args: Args) -> Result<()> {
    match args.command {
        IndexCommand::Build(args) => build(args),
    }
}

fn build(args: BuildArgs) -> Result<()> {
    let metric: Metric = args.metric.parse()?;
    let format: DataFormat = data_format(args.input_format.as_deref(), &args.input)?;
    let reader = scorewell_io::BatchReader::open(&args.input, format, &Default::default())?;
    let schema = reader.schema();
    let input = args.input.display().to_string();
    let vector_column = match &args.vector_column {
        Some(name) => name.clone(),
        None => {
            let lists: Vec<&str> = schema
                .fields()
                .iter()
                .filter(|f| scorewell::vector::is_vector(f.data_type()))
                .map(|f| f.name().as_str())
                .collect();
            match lists[..] {
                [one] => one.to_string(),
                _ => bail!(
                    "{input}: name the vector column with --vector-column (list columns found: {})",
                    if lists.is_empty() {
                        "none".into()
                    } else {
                        lists.join(", ")
                    }
                ),
            }
        }
    };
    let mut builder: Option<Builder> = None;
    let mut row_id: i64 = 0;
    let mut items = 0usize;
    for batch in reader {
        let batch = batch?;
        let column = batch
            .column_by_name(&vector_column)
            .with_context(|| format!("{input}: no column `{vector_column}`"))?;
        let vectors = scorewell::vector::VectorColumn::try_new(column, &vector_column)?;
        let ids = match &args.id_column {
            Some(name) => {
                let c = batch
                    .column_by_name(name)
                    .with_context(|| format!("{input}: no column `{name}`"))?;
                let ids = scorewell::neighbors::item_ids(c.as_ref(), name)
                    .map_err(|e| anyhow::anyhow!("{input}: {e}"))?;
                Some(ids)
            }
            None => None,
        };
        for r in 0..batch.num_rows() {
            let id = match &ids {
                Some(ids) => match ids[r] {
                    Some(id) => id,
                    None => bail!("{input}: row {row_id}: the item id is null"),
                },
                None => row_id,
            };
            row_id += 1;
            let Some(v) = vectors.get(r) else {
                bail!("{input}: row {}: the vector is null", row_id - 1);
            };
            let v: Vec<f32> = v.to_dense().into_iter().map(|x| x as f32).collect();
            let b = match &mut builder {
                Some(b) => b,
                None => builder.insert(Builder::new(BuildOptions {
                    metric,
                    dims: v.len(),
                    trees: args.trees,
                    seed: args.seed,
                })?),
            };
            b.add_item(id, &v)
                .with_context(|| format!("{input}: row {}", row_id - 1))?;
            items += 1;
        }
    }
    let Some(builder) = builder else {
        bail!("{input}: no vectors to index");
    };
    let bytes = builder.build()?;
    // Temp file and rename, with a plain create's mode: a failed run leaves no partial index.
    scorewell_eval::write_atomic(&args.output, &bytes)?;
    let mut err = std::io::stderr().lock();
    writeln!(
        err,
        "wrote {}: {items} items, {} bytes ({metric})",
        args.output.display(),
        bytes.len()
    )?;
    Ok(())
}
