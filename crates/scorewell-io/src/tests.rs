//! Round trips through every format, and the no-partial-output guarantee.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{Array, ArrayRef, Float64Array, Int64Array, RecordBatch};
use arrow_schema::DataType;

use crate::*;

fn sample() -> RecordBatch {
    let a: ArrayRef = Arc::new(Float64Array::from(vec![Some(1.5), None, Some(-2.0)]));
    let b: ArrayRef = Arc::new(Int64Array::from(vec![1, 2, 3]));
    RecordBatch::try_from_iter([("a", a), ("b", b)]).expect("batch")
}

#[test]
fn every_format_round_trips_in_small_batches() {
    let dir = tempfile::tempdir().expect("tempdir");
    for format in [DataFormat::Parquet, DataFormat::Csv, DataFormat::JsonLines] {
        let path = dir.path().join(format!("x.{}", format.name()));
        let batch = sample();
        let mut w = BatchWriter::create(&path, format, batch.schema()).expect("create");
        w.write(&batch).expect("write");
        w.write(&batch).expect("write");
        w.finish().expect("finish");
        let opts = ReadOptions {
            batch_rows: 4,
            ..Default::default()
        };
        let batches: Vec<RecordBatch> =
            BatchReader::open(&path, DataFormat::from_path(&path).expect("fmt"), &opts)
                .expect("open")
                .collect::<Result<_>>()
                .expect("read");
        assert_eq!(
            batches.iter().map(|b| b.num_rows()).collect::<Vec<_>>(),
            vec![4, 2],
            "{format:?}"
        );
        let a = batches[0].column_by_name("a").expect("a");
        assert_eq!(a.null_count(), 1, "{format:?}");
    }
}

#[test]
fn csv_overrides_read_nan_inf_and_ints_as_floats() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("x.csv");
    std::fs::write(&path, "a,b\n1,NaN\n2,inf\n3,-inf\n4,\n").expect("write");
    let opts = ReadOptions {
        type_overrides: HashMap::from([
            ("a".into(), DataType::Float64),
            ("b".into(), DataType::Float64),
        ]),
        ..Default::default()
    };
    let batch = BatchReader::open(&path, DataFormat::Csv, &opts)
        .expect("open")
        .next()
        .expect("one")
        .expect("ok");
    let b = batch.column(1).as_primitive::<Float64Type>();
    assert!(b.value(0).is_nan());
    assert_eq!(b.value(1), f64::INFINITY);
    assert_eq!(b.value(2), f64::NEG_INFINITY);
    assert!(b.is_null(3));
}

#[test]
fn dropped_writer_leaves_no_file_and_empty_input_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("out.parquet");
    let batch = sample();
    let mut w = BatchWriter::create(&path, DataFormat::Parquet, batch.schema()).expect("create");
    w.write(&batch).expect("write");
    drop(w);
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "").expect("write");
    let err = BatchReader::open(&empty, DataFormat::Csv, &ReadOptions::default()).unwrap_err();
    assert!(
        err.to_string().ends_with("empty.csv: the file is empty"),
        "{err}"
    );
    assert!(DataFormat::from_path(std::path::Path::new("x.txt")).is_err());
}
