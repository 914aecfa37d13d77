//! Loader errors: each names the stage folder and the problem.

use std::path::Path;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

fn stage(root: &Path, class: &str, params: &str) {
    write(
        &root.join("metadata/part-00000"),
        &format!(
            r#"{{"class":"{class}","timestamp":1,"sparkVersion":"3.5.1","uid":"s_1","paramMap":{params},"defaultParamMap":{{}}}}"#
        ),
    );
}

#[test]
fn an_unsupported_class_is_refused_by_name_listing_the_supported_ones() {
    let dir = tempfile::tempdir().expect("tmp");
    stage(dir.path(), "org.apache.spark.ml.feature.PCAModel", "{}");
    let err = crate::load(dir.path()).expect_err("refused").to_string();
    assert!(
        err.contains("unsupported Spark stage `org.apache.spark.ml.feature.PCAModel` (supported: "),
        "{err}"
    );
    assert!(
        err.contains("StringIndexerModel") && err.contains("GBTClassificationModel"),
        "{err}"
    );
    assert!(err.starts_with(&dir.path().display().to_string()), "{err}");
}

#[test]
fn a_missing_data_folder_names_the_stage() {
    let dir = tempfile::tempdir().expect("tmp");
    stage(
        dir.path(),
        "org.apache.spark.ml.feature.StringIndexerModel",
        r#"{"inputCol":"a","outputCol":"b"}"#,
    );
    let err = crate::load(dir.path()).expect_err("refused").to_string();
    assert_eq!(
        err,
        format!(
            "{}: missing `data/` folder with the model's parquet data",
            dir.path().display()
        )
    );
}

#[test]
fn corrupt_metadata_in_a_pipeline_stage_names_that_stage() {
    let dir = tempfile::tempdir().expect("tmp");
    write(
        &dir.path().join("metadata/part-00000-x-c000.txt"),
        r#"{"class":"org.apache.spark.ml.PipelineModel","sparkVersion":"4.0.0","uid":"p","paramMap":{"stageUids":["Tokenizer_1","HashingTF_2"]}}"#,
    );
    stage(
        &dir.path().join("stages/0_Tokenizer_1"),
        "org.apache.spark.ml.feature.Tokenizer",
        r#"{"inputCol":"t","outputCol":"w"}"#,
    );
    write(
        &dir.path().join("stages/1_HashingTF_2/metadata/part-00000"),
        "{\"class\": truncated",
    );
    let err = crate::load(dir.path()).expect_err("refused").to_string();
    let stage = dir.path().join("stages/1_HashingTF_2");
    assert!(
        err.starts_with(&format!("{}: metadata is not valid JSON", stage.display())),
        "{err}"
    );
}

#[test]
fn a_folder_without_metadata_is_not_a_spark_model() {
    let dir = tempfile::tempdir().expect("tmp");
    assert!(!crate::is_spark_model(dir.path()));
    let err = crate::load(dir.path()).expect_err("refused").to_string();
    assert!(err.contains("no `metadata/` folder"), "{err}");
}

#[test]
fn spark_2_hashing_tf_uses_the_old_hash() {
    // A Spark 2.x HashingTF loads (no data folder); the hash switch is covered in
    // scorewell-transform's tests against Spark 2 outputs.
    let dir = tempfile::tempdir().expect("tmp");
    write(
        &dir.path().join("metadata/part-00000"),
        r#"{"class":"org.apache.spark.ml.feature.HashingTF","timestamp":1,"sparkVersion":"2.4.8","uid":"h","paramMap":{"inputCol":"w","outputCol":"tf","numFeatures":16}}"#,
    );
    let scorer = crate::load(dir.path()).expect("loads");
    assert_eq!(scorer.pipeline().stages().len(), 1);
}
