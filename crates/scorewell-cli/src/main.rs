//! `scorewell`: score trained models from the command line.
//!
//! Exit codes: 0 success, 1 any error (the message names the file, column or tree),
//! 2 bad command-line usage. A closed output pipe (`scorewell inspect m.json | head`) counts
//! as success.

mod cmd;
mod progress;

use clap::{Parser, Subcommand};

/// Score trained machine-learning models natively: XGBoost, LightGBM.
#[derive(Debug, Parser)]
#[command(name = "scorewell", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// How tree models are scored: `compile` generates native code at load time, `interpret`
    /// walks the trees' arrays, `auto` compiles all but small models.
    #[arg(
        long,
        global = true,
        value_name = "ENGINE",
        env = "SCOREWELL_ENGINE",
        default_value = "auto",
        value_parser = ["auto", "interpret", "compile"]
    )]
    engine: String,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Score a Parquet, CSV or JSON Lines file and write the rows with prediction columns.
    Score(cmd::score::Args),
    /// Describe a model: format, objective, trees, inputs and outputs.
    Inspect(cmd::inspect::Args),
    /// Time scoring of a file in process: batch throughput and single-row latency.
    Bench(cmd::bench::Args),
    /// Measure a model (and compare it to a baseline) on labelled rows: metrics, report, flips.
    Eval(Box<cmd::eval::Args>),
    /// Make bundles: one verified package of transforms, models and a decision.
    Bundle(cmd::bundle::Args),
    /// Check a bundle's manifest and artifact checksums; exit 1 if anything was changed.
    Verify(cmd::bundle::VerifyArgs),
    /// Build Annoy nearest-neighbour indexes.
    Index(cmd::index::Args),
    /// Serve models over HTTP: a JSON API, the Open Inference Protocol, metrics, hot reload.
    Serve(cmd::serve::Args),
}

fn main() {
    let cli = Cli::parse();
    match cli.engine.parse::<scorewell::forest::Engine>() {
        Ok(engine) => scorewell::forest::set_default_engine(engine),
        Err(e) => {
            eprintln!("scorewell: {e}");
            std::process::exit(2);
        }
    }
    if !matches!(cli.command, Command::Serve(_)) {
        // Library warnings (a forest left to the interpreter under `--engine compile`, an
        // ignored setting) on stderr; `serve` installs its own logger.
        let _ = tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_max_level(tracing::Level::WARN)
            .without_time()
            .with_target(false)
            .try_init();
    }
    let result = match cli.command {
        Command::Score(args) => cmd::score::run(args),
        Command::Inspect(args) => cmd::inspect::run(args),
        Command::Bench(args) => cmd::bench::run(args),
        Command::Eval(args) => cmd::eval::run(*args),
        Command::Bundle(args) => cmd::bundle::run(args),
        Command::Verify(args) => cmd::bundle::verify(args),
        Command::Serve(args) => cmd::serve::run(args),
        Command::Index(args) => cmd::index::run(args),
    };
    if let Err(err) = result {
        if is_broken_pipe(&err) {
            std::process::exit(0);
        }
        eprintln!("scorewell: {}", one_line(&err));
        std::process::exit(1);
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The error and its causes on one line. Library errors already carry their causes in their
/// message, so a cause whose text is already shown is skipped instead of repeated.
fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line.replace('\n', " ")
}
