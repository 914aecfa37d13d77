//! One module per subcommand.

pub mod bench;
pub mod bundle;
pub mod eval;
pub mod inspect;
pub mod score;
pub mod serve;

use std::path::PathBuf;

use clap::Args as ClapArgs;

/// How to read the model; shared by every subcommand that loads one.
#[derive(Debug, Clone, ClapArgs)]
pub struct ModelArgs {
    /// Model file: XGBoost JSON/UBJSON (`Booster.save_model`) or LightGBM text (`save_model`).
    pub model: PathBuf,
    /// Model format instead of detecting it: xgboost-json, xgboost-ubj, lightgbm-text.
    #[arg(long, value_name = "NAME")]
    pub model_format: Option<String>,
}

/// Size the global thread pool (0 = one thread per core).
pub fn init_threads(threads: usize) -> anyhow::Result<()> {
    if threads > 0 {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global()
            .map_err(|e| anyhow::anyhow!("cannot start {threads} threads: {e}"))?;
    }
    Ok(())
}
