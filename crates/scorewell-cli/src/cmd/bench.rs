//! `scorewell bench`: in-process timings of the same `Scorer` the other commands use, printed as
//! JSON so `bench/` scripts can put them beside the original library's numbers.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Result, bail};
use arrow_array::RecordBatch;
use clap::Args as ClapArgs;
use scorewell::OutputMode;
use scorewell_io::DataFormat;

use super::{ModelArgs, init_threads, open_input};

/// Arguments of `scorewell bench`.
#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(flatten)]
    model: ModelArgs,
    /// Rows to score (.parquet, .csv, .jsonl); all are held in memory.
    #[arg(long, short)]
    input: PathBuf,
    /// Timed passes over the whole input; the best and median are reported.
    #[arg(long, default_value_t = 5)]
    repeat: usize,
    /// Rows scored one at a time for the latency figures (0 to skip).
    #[arg(long, default_value_t = 10_000)]
    single_rows: usize,
    /// Worker threads (0 = one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Rows per batch in the throughput passes.
    #[arg(long, default_value_t = scorewell_io::DEFAULT_BATCH_ROWS)]
    batch_rows: usize,
}

/// Run `scorewell bench`.
pub fn run(args: Args) -> Result<()> {
    init_threads(args.threads)?;
    if args.repeat == 0 {
        bail!("--repeat must be at least 1");
    }
    let load_start = Instant::now();
    let scorer = scorewell::load_with(
        &args.model.model,
        &args.model.load_options(OutputMode::Prediction)?,
    )?;
    let load_ms = load_start.elapsed().as_secs_f64() * 1e3;
    let format = DataFormat::from_path(&args.input)?;
    let reader = open_input(&args.input, format, args.batch_rows, &[&scorer])?;
    let bound = scorer.bind(reader.schema())?;
    let batches: Vec<RecordBatch> = reader.collect::<scorewell_io::Result<_>>()?;
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    if rows == 0 {
        bail!("{}: no rows to time", args.input.display());
    }

    let mut checksum = 0.0;
    let mut pass = || -> Result<f64> {
        let t = Instant::now();
        for b in &batches {
            let out = bound.score(b)?;
            // Keep the result observable so the work cannot be optimised away.
            if let Some(c) = out.columns().last() {
                checksum += c.len() as f64;
            }
        }
        Ok(t.elapsed().as_secs_f64())
    };
    pass()?; // warm-up: page in the model and the data
    let mut secs: Vec<f64> = (0..args.repeat).map(|_| pass()).collect::<Result<_>>()?;
    secs.sort_by(f64::total_cmp);

    let mut lat_us = Vec::new();
    if args.single_rows > 0 {
        let first = &batches[0];
        let n = args.single_rows.min(rows);
        let singles: Vec<RecordBatch> = (0..n)
            .map(|i| {
                let b = &batches[(i / first.num_rows().max(1)).min(batches.len() - 1)];
                b.slice(i % b.num_rows(), 1)
            })
            .collect();
        for row in singles.iter().take(1000.min(n)) {
            scorer.score(row)?; // warm-up
        }
        // `auto` times both evaluators on its first single rows before it keeps one: finish
        // that before the timed calls, so they time the evaluator that will serve requests.
        let measuring = || {
            scorer
                .engines()
                .iter()
                .any(|(_, e)| e.running_small == scorewell::forest::Running::Measuring)
        };
        for row in singles.iter().cycle().take(20_000) {
            if !measuring() {
                break;
            }
            scorer.score(row)?;
        }
        for row in &singles {
            let t = Instant::now();
            let out = scorer.score(row)?;
            lat_us.push(t.elapsed().as_secs_f64() * 1e6);
            checksum += out.num_rows() as f64;
        }
        lat_us.sort_by(f64::total_cmp);
    }
    let pct = |v: &[f64], p: f64| -> f64 {
        if v.is_empty() {
            return f64::NAN;
        }
        v[((v.len() - 1) as f64 * p).round() as usize]
    };
    // JSON has no NaN: a figure that was not measured is null.
    let num = |v: f64| {
        if v.is_finite() {
            format!("{v:.3}")
        } else {
            "null".into()
        }
    };
    let mean = if lat_us.is_empty() {
        f64::NAN
    } else {
        lat_us.iter().sum::<f64>() / lat_us.len() as f64
    };
    let engines = scorer.engines();
    // After the timed passes: with `auto`, the evaluator each forest settled on.
    let mut names: Vec<&str> = engines.iter().map(|(_, e)| e.name()).collect();
    names.dedup();
    let engine = if names.is_empty() {
        "none".to_string()
    } else {
        names.join("+")
    };
    let mut small: Vec<&str> = engines
        .iter()
        .map(|(_, e)| e.running_small.name())
        .collect();
    small.dedup();
    let engine_single = small.join("+");
    let compile_ms: f64 = engines.iter().map(|(_, e)| e.compile_ms).sum();
    println!(
        "{{\"engine\":\"{engine}\",\"engine_single\":\"{engine_single}\",\"compile_ms\":{compile_ms:.1},\"rows\":{rows},\"threads\":{},\"load_ms\":{},\"batch_best_s\":{:.6},\"batch_median_s\":{:.6},\"rows_per_s\":{:.1},\"single_rows\":{},\"latency_p50_us\":{},\"latency_p99_us\":{},\"latency_mean_us\":{},\"checksum\":{checksum}}}",
        rayon::current_num_threads(),
        num(load_ms),
        secs[0],
        secs[secs.len() / 2],
        rows as f64 / secs[0],
        lat_us.len(),
        num(pct(&lat_us, 0.5)),
        num(pct(&lat_us, 0.99)),
        num(mean),
    );
    Ok(())
}
