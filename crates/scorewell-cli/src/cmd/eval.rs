//! `scorewell eval`: re-score labelled history with a candidate (and a baseline) model and
//! measure them: a table on the terminal, `metrics.json`, an HTML report, decision flips.
//!
//! Models load only through `scorewell::load` and score only through `Scorer::score`, so the
//! numbers come from the production scoring code. One thread decodes input batches while the
//! caller scores them (all cores) and feeds the streaming accumulators of `scorewell-eval`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::sync_channel;

use anyhow::{Context, Result, bail};
use arrow_array::RecordBatch;
use arrow_schema::Schema;
use clap::{Args as ClapArgs, ValueEnum};
use scorewell::Scorer;
use scorewell_eval::{EvalSpec, Evaluator, TaskSpec};
use scorewell_io::{BatchWriter, DataFormat};

use super::{data_format, init_threads, open_input};
use crate::progress::Progress;

/// Which metrics to compute.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum TaskArg {
    /// The candidate's objective decides (regression, binary, multiclass); for a model that
    /// does not say, binary for one score column, multiclass for `<score>_0 …`.
    Auto,
    /// Labels 0/1.
    Binary,
    /// Labels are class indices.
    Multiclass,
    /// Real-valued labels.
    Regression,
}

/// Arguments of `scorewell eval`.
#[derive(Debug, ClapArgs)]
pub struct Args {
    /// The candidate model file.
    candidate: PathBuf,
    /// A baseline model scored on the same rows; adds deltas, intervals and decision flips.
    #[arg(long, value_name = "MODEL")]
    baseline: Option<PathBuf>,
    /// Labelled input (.parquet, .csv, .jsonl).
    #[arg(long, short)]
    input: PathBuf,
    /// Input format instead of the extension's: parquet, csv, jsonl.
    #[arg(long, value_name = "FORMAT")]
    input_format: Option<String>,
    /// The label column.
    #[arg(long)]
    label: String,
    /// An id column, written with each decision flip.
    #[arg(long, value_name = "COLUMN")]
    id: Option<String>,
    /// The model output to evaluate (multiclass: `<column>_<k>`). Default: the score the
    /// candidate bundle's decision reads, else `prediction`.
    #[arg(long, value_name = "COLUMN")]
    score_column: Option<String>,
    /// The baseline's output to evaluate. Default: the score the baseline bundle's decision
    /// reads, else --score-column, else `prediction`.
    #[arg(long, value_name = "COLUMN")]
    baseline_score_column: Option<String>,
    /// Which metrics to compute.
    #[arg(long, value_enum, default_value_t = TaskArg::Auto)]
    task: TaskArg,
    /// Decision thresholds (flag when score >= t), repeated or comma-separated, each reported
    /// once. A candidate bundle's decision rules come first, then these, then a baseline
    /// bundle's rules; with none, 0.5. Flips judge each model at its bundle's first rule, a
    /// model without one at the first threshold.
    #[arg(long, value_delimiter = ',', value_name = "T")]
    threshold: Vec<f64>,
    /// Report the best recall whose precision reaches this (repeatable).
    #[arg(long, value_delimiter = ',', value_name = "P")]
    at_precision: Vec<f64>,
    /// Bootstrap replicates for confidence intervals of the deltas (0: none).
    #[arg(long, default_value_t = 0, value_name = "N")]
    bootstrap: usize,
    /// Seed of the bootstrap.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Also compute every metric per value of this column.
    #[arg(long, value_name = "COLUMN")]
    group_by: Option<String>,
    /// Bins of the calibration table.
    #[arg(long, default_value_t = 10, value_name = "N")]
    calibration_bins: usize,
    /// Write metrics.json here.
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
    /// Write the HTML report here.
    #[arg(long, value_name = "PATH")]
    report: Option<PathBuf>,
    /// Write decision flips here (.csv, .parquet, .jsonl). Default when comparing binary
    /// models: `flips.csv` beside --json (or --report, or in the current directory).
    #[arg(long, value_name = "PATH")]
    flips: Option<PathBuf>,
    /// Score/label pairs per model kept in memory before a sorted run spills to disk.
    #[arg(long, default_value_t = 1 << 20, value_name = "N")]
    memory_rows: usize,
    /// Rows per batch.
    #[arg(long, default_value_t = scorewell_io::DEFAULT_BATCH_ROWS)]
    batch_rows: usize,
    /// Worker threads for scoring (0 = one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

/// The scored batch plus the input columns the scorer did not return (label, id, group),
/// so that evaluation reads them from the same rows the model scored.
fn view(input: &RecordBatch, scored: RecordBatch) -> Result<RecordBatch> {
    let schema = scored.schema();
    let missing: Vec<usize> = (0..input.num_columns())
        .filter(|&i| {
            schema
                .column_with_name(input.schema().field(i).name())
                .is_none()
        })
        .collect();
    if missing.is_empty() || input.num_rows() != scored.num_rows() {
        return Ok(scored);
    }
    let mut fields: Vec<_> = schema.fields().iter().cloned().collect();
    let mut columns = scored.columns().to_vec();
    for i in missing {
        fields.push(input.schema().fields()[i].clone());
        columns.push(input.column(i).clone());
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

/// A bundle's decision: the score column it reads and its rules' thresholds, in order
/// (`None` for a bare model file or a bundle without one).
type Decision = (String, Vec<f64>);

fn decision(path: &Path) -> Result<Option<Decision>> {
    if !scorewell::bundle::is_bundle(path) {
        return Ok(None);
    }
    let bundle = scorewell::Bundle::open(path).with_context(|| path.display().to_string())?;
    Ok(bundle.manifest().decision.as_ref().map(|d| {
        (
            d.score.clone(),
            d.rules.iter().map(|r| r.at_least).collect(),
        )
    }))
}

/// The decision's thresholds when it reads `column`.
fn rules(decision: Option<&Decision>, column: &str) -> Vec<f64> {
    decision
        .filter(|(score, _)| score == column)
        .map(|(_, rules)| rules.clone())
        .unwrap_or_default()
}

fn default_flips_path(args: &Args) -> PathBuf {
    let dir = args
        .json
        .as_deref()
        .or(args.report.as_deref())
        .and_then(Path::parent)
        .unwrap_or(Path::new(""));
    dir.join("flips.csv")
}

/// Run `scorewell eval`.
pub fn run(args: Args) -> Result<()> {
    init_threads(args.threads)?;
    if args.batch_rows == 0 {
        bail!("--batch-rows must be at least 1");
    }
    let in_format = data_format(args.input_format.as_deref(), &args.input)?;
    let candidate = scorewell::load(&args.candidate)?;
    let baseline = args.baseline.as_ref().map(scorewell::load).transpose()?;
    let scorers: Vec<&Scorer> = std::iter::once(&candidate)
        .chain(baseline.as_ref())
        .collect();
    let reader = open_input(&args.input, in_format, args.batch_rows, &scorers)?;
    let input_schema = reader.schema();
    if input_schema.column_with_name(&args.label).is_none() {
        let names: Vec<&str> = input_schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        bail!(
            "{}: no label column `{}` (columns: {})",
            args.input.display(),
            args.label,
            names.join(", ")
        );
    }
    // A bundle's decision says which score it acts on and at which thresholds; each model
    // is judged by its own.
    let candidate_decision = decision(&args.candidate)?;
    let baseline_decision = match &args.baseline {
        Some(path) => decision(path)?,
        None => None,
    };
    let score_column = args
        .score_column
        .clone()
        .or_else(|| candidate_decision.as_ref().map(|(score, _)| score.clone()))
        .unwrap_or_else(|| "prediction".to_string());
    let baseline_score_column = args
        .baseline_score_column
        .clone()
        .or_else(|| baseline_decision.as_ref().map(|(score, _)| score.clone()))
        .or_else(|| args.score_column.clone())
        .unwrap_or_else(|| "prediction".to_string());
    let candidate_rules = rules(candidate_decision.as_ref(), &score_column);
    let baseline_rules = rules(baseline_decision.as_ref(), &baseline_score_column);
    let thresholds: Vec<f64> = candidate_rules
        .iter()
        .chain(&args.threshold)
        .chain(&baseline_rules)
        .copied()
        .collect();
    let task = match args.task {
        // The model knows what it predicts; column shapes are the fallback.
        TaskArg::Auto => match scorewell::model_task(&candidate, &score_column) {
            Some(scorewell::ModelTask::Regression) => TaskSpec::Regression,
            Some(scorewell::ModelTask::Multiclass) => TaskSpec::Multiclass,
            Some(scorewell::ModelTask::Binary) => TaskSpec::Binary,
            _ => TaskSpec::Auto,
        },
        TaskArg::Binary => TaskSpec::Binary,
        TaskArg::Multiclass => TaskSpec::Multiclass,
        TaskArg::Regression => TaskSpec::Regression,
    };
    let spec = EvalSpec {
        label: args.label.clone(),
        baseline_score_column: (args.baseline.is_some() && baseline_score_column != score_column)
            .then_some(baseline_score_column),
        score_column,
        id: args.id.clone(),
        group_by: args.group_by.clone(),
        task,
        thresholds,
        baseline_threshold: baseline_rules.first().copied(),
        at_precision: args.at_precision.clone(),
        calibration_bins: args.calibration_bins,
        bootstrap: args.bootstrap,
        seed: args.seed,
        memory_rows: args.memory_rows,
    };
    let input_path = args.input.clone();
    let mut progress = Progress::new(reader.extent(), args.quiet);
    type Flips = Option<(BatchWriter, PathBuf)>;

    let outcome = std::thread::scope(|s| -> Result<(Option<Evaluator>, Flips)> {
        let (tx, rx) = sync_channel::<scorewell_io::Result<RecordBatch>>(2);
        let bytes = reader.bytes_counter();
        s.spawn(move || {
            for batch in reader {
                let stop = batch.is_err();
                if tx.send(batch).is_err() || stop {
                    return;
                }
            }
        });
        // Metrics run on their own thread, overlapping the scoring of the next batch.
        let (eval_tx, eval_rx) = sync_channel::<(RecordBatch, Option<RecordBatch>)>(2);
        let (spec, args, input_path) = (&spec, &args, &input_path);
        let metrics = s.spawn(move || -> Result<(Option<Evaluator>, Flips)> {
            let context = || format!("{}", input_path.display());
            let mut evaluator: Option<Evaluator> = None;
            let mut flips: Flips = None;
            for (cand, base) in eval_rx {
                let e = match &mut evaluator {
                    Some(e) => e,
                    None => {
                        let e = Evaluator::new(
                            spec.clone(),
                            &cand.schema(),
                            base.as_ref().map(|b| b.schema()).as_deref(),
                        )
                        .with_context(context)?;
                        if base.is_some() && e.task() == scorewell_eval::Task::Binary {
                            let path = args
                                .flips
                                .clone()
                                .unwrap_or_else(|| default_flips_path(args));
                            let format = DataFormat::from_path(&path)?;
                            flips =
                                Some((BatchWriter::create(&path, format, e.flips_schema())?, path));
                        }
                        evaluator.insert(e)
                    }
                };
                let flipped = e.push(&cand, base.as_ref()).with_context(context)?;
                // The first batch goes out even when empty, so a CSV always has its header.
                if let (Some(f), Some((w, _))) = (flipped, flips.as_mut())
                    && (f.num_rows() > 0 || w.rows() == 0)
                {
                    w.write(&f)?;
                }
            }
            Ok((evaluator, flips))
        });
        let scored = (|| -> Result<()> {
            for batch in rx {
                let batch = batch?;
                let context = || format!("{}", input_path.display());
                let cand = view(&batch, candidate.score(&batch).with_context(context)?)?;
                let base = match &baseline {
                    Some(b) => Some(view(&batch, b.score(&batch).with_context(context)?)?),
                    None => None,
                };
                progress.advance(batch.num_rows() as u64, bytes.load(Ordering::Relaxed));
                if eval_tx.send((cand, base)).is_err() {
                    break; // the metrics thread failed; its error is reported below
                }
            }
            Ok(())
        })();
        drop(eval_tx);
        let measured = metrics
            .join()
            .map_err(|_| anyhow::anyhow!("the metrics thread panicked"))?;
        scored?;
        measured
    });
    progress.finish();
    let (evaluator, flips) = outcome?;
    let Some(evaluator) = evaluator else {
        bail!("{}: no rows to evaluate", args.input.display());
    };
    let mut result = evaluator
        .finish()
        .with_context(|| format!("{}", args.input.display()))?;
    result.candidate_model = args.candidate.display().to_string();
    result.baseline_model = args.baseline.as_ref().map(|p| p.display().to_string());
    result.input = args.input.display().to_string();
    if let Some(path) = &args.json {
        scorewell_eval::write_atomic(path, result.to_json()?.as_bytes())?;
    }
    if let Some(path) = &args.report {
        scorewell_eval::write_atomic(path, scorewell_eval::report::html(&result)?.as_bytes())?;
    }
    let flips_path = match flips {
        Some((w, path)) => {
            w.finish()?;
            Some(path)
        }
        None => None,
    };
    print!("{}", scorewell_eval::report::terminal_table(&result));
    if let Some(p) = flips_path {
        println!("flips written to {}", p.display());
    }
    Ok(())
}
