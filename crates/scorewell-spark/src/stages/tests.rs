//! Loader tests of the stages that need no `data/` (or only a nested folder): FeatureHasher,
//! VectorSizeHint, the tuning models; and the refusal of unsupported classes.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch, StringArray};
use scorewell_core::vector::{VectorBuilder, VectorColumn};

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

fn stage(root: &Path, class: &str, version: &str, params: &str) {
    write(
        &root.join("metadata/part-00000"),
        &format!(
            r#"{{"class":"{class}","timestamp":1,"sparkVersion":"{version}","uid":"s_1","paramMap":{params},"defaultParamMap":{{}}}}"#
        ),
    );
}

fn score(dir: &Path, columns: Vec<(&str, ArrayRef)>) -> Result<RecordBatch, String> {
    let scorer = crate::load(dir).map_err(|e| e.to_string())?;
    let input = RecordBatch::try_from_iter(columns).expect("input");
    scorer.score(&input).map_err(|e| e.to_string())
}

#[test]
fn feature_hasher_maps_its_params_and_refuses_spark_2_3() {
    let dir = tempfile::tempdir().expect("tmp");
    stage(
        dir.path(),
        "org.apache.spark.ml.feature.FeatureHasher",
        "3.5.1",
        r#"{"inputCols":["string"],"outputCol":"f"}"#,
    );
    let out = score(
        dir.path(),
        vec![(
            "string",
            Arc::new(StringArray::from(vec!["foo"])) as ArrayRef,
        )],
    )
    .expect("scores");
    let f = VectorColumn::try_new(out.column_by_name("f").expect("f"), "f").expect("vector");
    let row = f.get(0).expect("row");
    let mut at = Vec::new();
    row.for_each_active(|i, v| at.push((i, v)));
    // mmh3.hash(b"string=foo", 42) mod 2^18, the default numFeatures.
    assert_eq!((row.len(), at), (262_144, vec![(257_907, 1.0)]));

    stage(
        dir.path(),
        "org.apache.spark.ml.feature.FeatureHasher",
        "2.3.0",
        r#"{"inputCols":["string"],"outputCol":"f"}"#,
    );
    let err = crate::load(dir.path()).expect_err("refused").to_string();
    assert!(
        err.contains("FeatureHasher saved by Spark 2.3.0 hashes strings with a MurmurHash3 variant fixed in Spark 2.4"),
        "{err}"
    );
}

fn vectors(rows: &[Option<&[f64]>]) -> ArrayRef {
    let mut b = VectorBuilder::default();
    for r in rows {
        match r {
            Some(v) => b.push_dense(v),
            None => b.push_null(),
        }
    }
    b.finish()
}

#[test]
fn vector_size_hint_checks_skips_or_trusts_sizes() {
    let dir = tempfile::tempdir().expect("tmp");
    let hint = |mode: &str| {
        stage(
            dir.path(),
            "org.apache.spark.ml.feature.VectorSizeHint",
            "4.0.0",
            &format!(r#"{{"inputCol":"v","size":2,"handleInvalid":"{mode}"}}"#),
        );
    };
    let rows: [Option<&[f64]>; 3] = [Some(&[1.0, 2.0]), None, Some(&[1.0])];
    let ids: ArrayRef = Arc::new(Float64Array::from(vec![0.0, 1.0, 2.0]));
    let input = || vec![("id", ids.clone()), ("v", vectors(&rows))];

    hint("skip");
    let out = score(dir.path(), input()).expect("scores");
    assert_eq!(out.num_columns(), 2, "writes no column");
    assert_eq!(out.num_rows(), 1);

    hint("optimistic");
    assert_eq!(score(dir.path(), input()).expect("scores").num_rows(), 3);

    hint("error");
    let err = score(dir.path(), input()).expect_err("refused");
    assert!(
        err.contains("column `v`, row 1") && err.contains("Got null vector in VectorSizeHint"),
        "{err}"
    );
    let one: [Option<&[f64]>; 2] = [Some(&[1.0, 2.0]), Some(&[1.0])];
    let err = score(dir.path(), vec![("v", vectors(&one))]).expect_err("refused");
    assert!(
        err.contains("VectorSizeHint Expecting a vector of size 2 but got 1"),
        "{err}"
    );
}

#[test]
fn tuning_models_score_through_their_best_model() {
    let dir = tempfile::tempdir().expect("tmp");
    stage(
        dir.path(),
        "org.apache.spark.ml.tuning.TrainValidationSplitModel",
        "3.5.1",
        r#"{"seed":7}"#,
    );
    let err = crate::load(dir.path()).expect_err("refused").to_string();
    assert_eq!(
        err,
        format!(
            "{}: TrainValidationSplitModel has no `bestModel/` folder with the fitted model",
            dir.path().display()
        )
    );
    stage(
        &dir.path().join("bestModel"),
        "org.apache.spark.ml.feature.Bucketizer",
        "3.5.1",
        r#"{"inputCol":"x","outputCol":"b","splits":["-Inf",0.0,"Inf"]}"#,
    );
    let out = score(
        dir.path(),
        vec![(
            "x",
            Arc::new(Float64Array::from(vec![-1.0, 1.0])) as ArrayRef,
        )],
    )
    .expect("scores");
    let b = out.column_by_name("b").expect("b");
    let b = b.as_any().downcast_ref::<Float64Array>().expect("f64");
    assert_eq!(b.values().to_vec(), vec![0.0, 1.0]);
}

#[test]
fn sql_transformer_is_refused_naming_its_statement() {
    let dir = tempfile::tempdir().expect("tmp");
    stage(
        dir.path(),
        "org.apache.spark.ml.feature.SQLTransformer",
        "3.5.1",
        r#"{"statement":"SELECT *, a + b AS c FROM __THIS__"}"#,
    );
    let err = crate::load(dir.path()).expect_err("refused").to_string();
    assert!(
        err.starts_with(&format!(
            "{}: unsupported Spark stage `org.apache.spark.ml.feature.SQLTransformer`: it runs the Spark SQL statement `SELECT *, a + b AS c FROM __THIS__`, and scorewell does not evaluate SQL",
            dir.path().display()
        )),
        "{err}"
    );
    assert!(
        err.contains("(supported: ") && err.contains("PolynomialExpansion"),
        "{err}"
    );
}
