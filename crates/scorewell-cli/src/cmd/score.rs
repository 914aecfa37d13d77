//! `scorewell score`: file in, file out, streaming, every core.
//!
//! Three threads overlap the work: one decodes input batches, the caller scores each batch
//! with all cores (rayon inside the evaluator), one encodes output. Bounded channels between
//! them keep at most a few batches in memory, so inputs larger than RAM stream through.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use anyhow::{Context, Result, bail};
use arrow_array::RecordBatch;
use arrow_schema::Schema;
use clap::Args as ClapArgs;
use scorewell::OutputMode;
use scorewell_io::{BatchReader, BatchWriter};

use super::{ModelArgs, data_format, init_threads, open_input};
use crate::progress::Progress;

/// Arguments of `scorewell score`.
#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(flatten)]
    model: ModelArgs,
    /// Input file (.parquet, .csv, .jsonl).
    #[arg(long, short)]
    input: PathBuf,
    /// Output file (.parquet, .csv, .jsonl); written to a temporary file and renamed at the end.
    #[arg(long, short)]
    output: PathBuf,
    /// Input format instead of the extension's: parquet, csv, jsonl.
    #[arg(long, value_name = "FORMAT")]
    input_format: Option<String>,
    /// Output format instead of the extension's: parquet, csv, jsonl.
    #[arg(long, value_name = "FORMAT")]
    output_format: Option<String>,
    /// Write raw margins (`margin`, `margin_<k>`) instead of predictions.
    #[arg(long)]
    output_margin: bool,
    /// Rows per batch.
    #[arg(long, default_value_t = scorewell_io::DEFAULT_BATCH_ROWS)]
    batch_rows: usize,
    /// Worker threads for scoring (0 = one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
    /// Input columns to copy into the output, comma-separated, before the scorer's outputs
    /// (default: every input column, as `--keep-all`); `--keep ''` writes only the outputs.
    #[arg(
        long,
        value_name = "COLUMNS",
        value_delimiter = ',',
        conflicts_with = "keep_all"
    )]
    keep: Option<Vec<String>>,
    /// Copy every input column into the output (the default).
    #[arg(long)]
    keep_all: bool,
    /// Read the model's inputs by position: the input's first columns, in order, are the
    /// model's features whatever their names (for models fitted on bare arrays, whose files
    /// name them `x0…`, `Column_0…` or `f0…`). They are also written under the model's names.
    #[arg(long)]
    columns_by_position: bool,
}

enum ToWriter {
    Batch(RecordBatch),
    /// Everything was written: the writer may move the file into place.
    Done,
}

/// Run `scorewell score`.
pub fn run(args: Args) -> Result<()> {
    init_threads(args.threads)?;
    let in_format = data_format(args.input_format.as_deref(), &args.input)?;
    let out_format = data_format(args.output_format.as_deref(), &args.output)?;
    if args.batch_rows == 0 {
        bail!("--batch-rows must be at least 1");
    }
    let mode = if args.output_margin {
        OutputMode::Margin
    } else {
        OutputMode::Prediction
    };
    let scorer = scorewell::load_with(&args.model.model, &args.model.load_options(mode)?)?;
    let scorer = if args.columns_by_position {
        scorer.by_position()
    } else {
        scorer
    };
    let reader = open_input(&args.input, in_format, args.batch_rows, &[&scorer])?;
    let bound = scorer
        .bind(reader.schema())
        .with_context(|| format!("{}", args.input.display()))?;
    let keep = kept_columns(
        args.keep.as_deref(),
        &reader.schema(),
        &bound.output_schema(),
    )
    .with_context(|| format!("{}", args.input.display()))?;
    let out_schema = match &keep {
        Some(indices) => Arc::new(bound.output_schema().project(indices)?),
        None => bound.output_schema(),
    };
    let writer = BatchWriter::create(&args.output, out_format, out_schema)?;
    let mut progress = Progress::new(reader.extent(), args.quiet);
    let input_path = args.input.clone();

    std::thread::scope(|s| -> Result<()> {
        let (batch_tx, batch_rx) = sync_channel::<scorewell_io::Result<RecordBatch>>(2);
        let (out_tx, out_rx) = sync_channel::<ToWriter>(2);
        let bytes = reader.bytes_counter();
        s.spawn(move || read_all(reader, batch_tx));
        let writer_thread = s.spawn(move || write_all(writer, out_rx));
        let scored = (|| -> Result<()> {
            for batch in batch_rx {
                let batch = batch?;
                let mut out = bound
                    .score(&batch)
                    .with_context(|| format!("{}", input_path.display()))?;
                if let Some(indices) = &keep {
                    out = out.project(indices)?;
                }
                progress.advance(out.num_rows() as u64, bytes.load(Ordering::Relaxed));
                if out_tx.send(ToWriter::Batch(out)).is_err() {
                    break; // the writer failed; its error is reported below
                }
            }
            Ok(())
        })();
        if scored.is_ok() {
            // A failed send means the writer already stopped with an error, reported below.
            let _ = out_tx.send(ToWriter::Done);
        }
        drop(out_tx);
        let written = writer_thread
            .join()
            .map_err(|_| anyhow::anyhow!("the output writer thread panicked"))?;
        progress.finish();
        scored?;
        written?;
        Ok(())
    })
}

/// Which columns of the scored batches to write, when `--keep` narrows the copied inputs:
/// the kept input columns in the order given, then every column the scorer appended.
/// `None` writes everything (the default, `--keep-all`).
fn kept_columns(
    keep: Option<&[String]>,
    input: &Schema,
    scored: &Schema,
) -> Result<Option<Vec<usize>>> {
    let Some(keep) = keep else { return Ok(None) };
    let keep: Vec<&str> = keep
        .iter()
        .map(|c| c.trim())
        .filter(|c| !c.is_empty())
        .collect();
    let mut indices = Vec::with_capacity(keep.len());
    for name in &keep {
        if input.index_of(name).is_err() {
            bail!("--keep names column `{name}`, which the input does not have");
        }
        match scored.index_of(name) {
            Ok(i) => indices.push(i),
            Err(_) => bail!("--keep names column `{name}`, which the scorer does not pass through"),
        }
    }
    // What the scorer appended: every output column that is not an input column.
    indices.extend(
        scored
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, f)| input.index_of(f.name()).is_err())
            .map(|(i, _)| i),
    );
    Ok(Some(indices))
}

fn read_all(reader: BatchReader, tx: SyncSender<scorewell_io::Result<RecordBatch>>) {
    for batch in reader {
        let stop = batch.is_err();
        if tx.send(batch).is_err() || stop {
            return;
        }
    }
}

fn write_all(mut writer: BatchWriter, rx: Receiver<ToWriter>) -> Result<()> {
    for msg in rx {
        match msg {
            ToWriter::Batch(batch) => writer.write(&batch)?,
            ToWriter::Done => {
                writer.finish()?;
                return Ok(());
            }
        }
    }
    // The scorer stopped early: dropping the writer removes the temporary file.
    Ok(())
}
