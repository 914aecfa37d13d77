//! One module per subcommand.

pub mod bench;
pub mod bundle;
pub mod eval;
pub mod inspect;
pub mod score;
pub mod serve;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use arrow_schema::DataType;
use clap::Args as ClapArgs;
use scorewell::Scorer;
use scorewell_io::{BatchReader, DataFormat, ReadOptions};

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

/// The data format `explicit` names, else the one `path`'s extension says.
pub fn data_format(explicit: Option<&str>, path: &Path) -> Result<DataFormat> {
    Ok(match explicit {
        Some(name) => name.parse()?,
        None => DataFormat::from_path(path)?,
    })
}

/// Open `path` for streaming in batches of `batch_rows`, reading every numeric input of
/// `scorers` as floats: text formats guess column types, and `NaN`, `inf` and a column of
/// integers must all arrive as the numbers the models take.
pub fn open_input(
    path: &Path,
    format: DataFormat,
    batch_rows: usize,
    scorers: &[&Scorer],
) -> Result<BatchReader> {
    let type_overrides: HashMap<String, DataType> = scorers
        .iter()
        .flat_map(|s| s.inputs())
        .filter(|c| c.numeric)
        .map(|c| (c.name, DataType::Float64))
        .collect();
    let options = ReadOptions {
        batch_rows,
        type_overrides,
    };
    Ok(BatchReader::open(path, format, &options)?)
}
