//! The input readers `scorewell score` opens rows with (CSV, JSON Lines, Parquet), on a file
//! holding the fuzzed bytes: schema inference, type overrides and every batch.

use std::collections::HashMap;

use arrow_schema::DataType;
use scorewell_io::{BatchReader, DataFormat, ReadOptions};

fn read(data: &[u8], name: &str, format: DataFormat) {
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let path = dir.path().join(name);
    if std::fs::write(&path, data).is_err() {
        return;
    }
    // Small batches, and a numeric override as scoring passes for model inputs, so the
    // typed-parsing path runs too.
    let options = ReadOptions {
        batch_rows: 7,
        type_overrides: HashMap::from([("x".to_owned(), DataType::Float64)]),
    };
    if let Ok(reader) = BatchReader::open(&path, format, &options) {
        for batch in reader {
            if batch.is_err() {
                break;
            }
        }
    }
}

pub(crate) fn csv(data: &[u8]) {
    read(data, "rows.csv", DataFormat::Csv);
}

pub(crate) fn jsonl(data: &[u8]) {
    read(data, "rows.jsonl", DataFormat::JsonLines);
}

pub(crate) fn parquet(data: &[u8]) {
    read(data, "rows.parquet", DataFormat::Parquet);
}
