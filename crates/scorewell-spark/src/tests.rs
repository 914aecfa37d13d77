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
    stage(
        dir.path(),
        "org.apache.spark.ml.feature.Word2VecModel",
        "{}",
    );
    let err = crate::load(dir.path()).expect_err("refused").to_string();
    assert!(
        err.contains(
            "unsupported Spark stage `org.apache.spark.ml.feature.Word2VecModel` (supported: "
        ),
        "{err}"
    );
    for name in [
        "StringIndexerModel",
        "GBTClassificationModel",
        "CrossValidatorModel",
        "FeatureHasher",
        "OneVsRestModel",
        "PCAModel",
        "VectorIndexerModel",
        "VectorSizeHint",
    ] {
        assert!(err.contains(name), "{name}: {err}");
    }
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
fn a_corrupt_parquet_part_file_names_the_stage_and_the_file() {
    let dir = tempfile::tempdir().expect("tmp");
    stage(
        dir.path(),
        "org.apache.spark.ml.feature.IDFModel",
        r#"{"inputCol":"tf","outputCol":"x"}"#,
    );
    write(
        &dir.path().join("data/part-00000-a.snappy.parquet"),
        "not parquet",
    );
    let err = crate::load(dir.path()).expect_err("refused").to_string();
    assert!(
        err.starts_with(&format!(
            "{}: data/part-00000-a.snappy.parquet: not a readable parquet file",
            dir.path().display()
        )),
        "{err}"
    );
}

fn write_parquet(path: &Path, batch: &arrow_array::RecordBatch) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    let file = std::fs::File::create(path).expect("create");
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).expect("writer");
    w.write(batch).expect("write");
    w.close().expect("close");
}

fn strings(values: &[&str]) -> std::sync::Arc<dyn arrow_array::Array> {
    std::sync::Arc::new(arrow_array::StringArray::from(values.to_vec()))
}

#[test]
fn spark_2_string_indexer_data_holds_labels_not_labels_array() {
    let dir = tempfile::tempdir().expect("tmp");
    write(
        &dir.path().join("metadata/part-00000"),
        r#"{"class":"org.apache.spark.ml.feature.StringIndexerModel","timestamp":1,"sparkVersion":"2.3.4","uid":"si","paramMap":{"inputCol":"c","outputCol":"i","handleInvalid":"keep"}}"#,
    );
    let mut labels =
        arrow_array::builder::ListBuilder::new(arrow_array::builder::StringBuilder::new());
    labels.values().append_value("b");
    labels.values().append_value("a");
    labels.append(true);
    let data = arrow_array::RecordBatch::try_from_iter([(
        "labels",
        std::sync::Arc::new(labels.finish()) as std::sync::Arc<dyn arrow_array::Array>,
    )])
    .expect("batch");
    write_parquet(&dir.path().join("data/part-00000-x.snappy.parquet"), &data);
    let scorer = crate::load(dir.path()).expect("loads");
    let input =
        arrow_array::RecordBatch::try_from_iter([("c", strings(&["a", "b", "z"]))]).expect("input");
    let out = scorer.score(&input).expect("scores");
    let i = out
        .column_by_name("i")
        .expect("i")
        .as_any()
        .downcast_ref::<arrow_array::Float64Array>()
        .expect("f64");
    assert_eq!(i.values().to_vec(), vec![1.0, 0.0, 2.0]);
}

#[test]
fn hashing_tf_picks_the_hash_by_spark_version() {
    // Strings whose length is not a multiple of 4 hash differently before Spark 3.0.
    let index_for = |version: &str| {
        let dir = tempfile::tempdir().expect("tmp");
        write(
            &dir.path().join("metadata/part-00000"),
            &format!(
                r#"{{"class":"org.apache.spark.ml.feature.HashingTF","timestamp":1,"sparkVersion":"{version}","uid":"h","paramMap":{{"inputCol":"w","outputCol":"tf","numFeatures":1048576}}}}"#
            ),
        );
        let scorer = crate::load(dir.path()).expect("loads");
        let mut words =
            arrow_array::builder::ListBuilder::new(arrow_array::builder::StringBuilder::new());
        words.values().append_value("spark");
        words.append(true);
        let input = arrow_array::RecordBatch::try_from_iter([(
            "w",
            std::sync::Arc::new(words.finish()) as std::sync::Arc<dyn arrow_array::Array>,
        )])
        .expect("input");
        let out = scorer.score(&input).expect("scores");
        let tf = scorewell_core::vector::VectorColumn::try_new(
            out.column_by_name("tf").expect("tf"),
            "tf",
        )
        .expect("vector");
        let mut at = Vec::new();
        tf.get(0).expect("row").for_each_active(|i, _| at.push(i));
        at
    };
    let new = index_for("3.0.0");
    let old = index_for("2.4.8");
    assert_eq!((new.len(), old.len()), (1, 1));
    assert_ne!(new, old);
}

#[test]
fn a_saved_linear_regression_scores_vectors_and_refuses_malformed_ones() {
    use scorewell_core::vector::VectorBuilder;
    let dir = tempfile::tempdir().expect("tmp");
    write(
        &dir.path().join("metadata/part-00000"),
        r#"{"class":"org.apache.spark.ml.regression.LinearRegressionModel","timestamp":1,"sparkVersion":"3.5.1","uid":"lr","paramMap":{"featuresCol":"f"},"defaultParamMap":{"predictionCol":"prediction"}}"#,
    );
    let mut coefficients = VectorBuilder::default();
    coefficients.push_dense(&[1.0, 2.0]);
    let data = arrow_array::RecordBatch::try_from_iter([
        (
            "intercept",
            std::sync::Arc::new(arrow_array::Float64Array::from(vec![0.5]))
                as std::sync::Arc<dyn arrow_array::Array>,
        ),
        ("coefficients", coefficients.finish()),
        (
            "scale",
            std::sync::Arc::new(arrow_array::Float64Array::from(vec![1.0])),
        ),
    ])
    .expect("batch");
    write_parquet(&dir.path().join("data/part-00000.parquet"), &data);
    let scorer = crate::load(dir.path()).expect("loads");
    let mut f = VectorBuilder::default();
    f.push_dense(&[3.0, 4.0]);
    f.push_sparse(2, &[1], &[1.0]);
    f.push_null();
    let input = arrow_array::RecordBatch::try_from_iter([("f", f.finish())]).expect("input");
    let out = scorer.score(&input).expect("scores");
    let p = out
        .column_by_name("prediction")
        .expect("prediction")
        .as_any()
        .downcast_ref::<arrow_array::Float64Array>()
        .expect("f64");
    assert_eq!(
        p.iter().collect::<Vec<_>>(),
        vec![Some(11.5), Some(2.5), None]
    );
    let mut bad = VectorBuilder::default();
    bad.push_sparse(2, &[5], &[1.0]);
    let input = arrow_array::RecordBatch::try_from_iter([("f", bad.finish())]).expect("input");
    let err = scorer.score(&input).expect_err("refused").to_string();
    assert!(
        err.ends_with(
            "column `f`, row 0 of the batch: sparse vector of size 2 has index 5; indices must be strictly ascending in 0..2"
        ),
        "{err}"
    );
}

type ArrayRef = std::sync::Arc<dyn arrow_array::Array>;

/// A saved model: metadata with `params` (a JSON object) and a one-row `data/` of `columns`.
fn saved_model(class: &str, params: &str, columns: Vec<(&str, ArrayRef)>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tmp");
    write(
        &dir.path().join("metadata/part-00000"),
        &format!(
            r#"{{"class":"org.apache.spark.ml.{class}","timestamp":1,"sparkVersion":"3.5.1","uid":"m","paramMap":{params},"defaultParamMap":{{"featuresCol":"f","predictionCol":"prediction","rawPredictionCol":"rawPrediction","probabilityCol":"probability"}}}}"#
        ),
    );
    let data = arrow_array::RecordBatch::try_from_iter(columns).expect("batch");
    write_parquet(&dir.path().join("data/part-00000.parquet"), &data);
    dir
}

fn dense_vector(values: &[f64]) -> ArrayRef {
    let mut b = scorewell_core::vector::VectorBuilder::default();
    b.push_dense(values);
    b.finish()
}

/// A dense `rows × cols` MatrixUDT given row by row.
fn dense_matrix(rows: usize, cols: usize, row_major: &[f64]) -> ArrayRef {
    use arrow_array::builder::{Float64Builder, Int32Builder, ListBuilder};
    use arrow_schema::{DataType, Field};
    use std::sync::Arc;
    let mut values = ListBuilder::new(Float64Builder::new());
    values.values().append_slice(row_major);
    values.append(true);
    let empty = || {
        let mut b = ListBuilder::new(Int32Builder::new());
        b.append(false);
        Arc::new(b.finish()) as ArrayRef
    };
    let fields: Vec<(Arc<Field>, ArrayRef)> = vec![
        (
            Arc::new(Field::new("type", DataType::Int8, false)),
            Arc::new(arrow_array::Int8Array::from(vec![1])),
        ),
        (
            Arc::new(Field::new("numRows", DataType::Int32, false)),
            Arc::new(arrow_array::Int32Array::from(vec![rows as i32])),
        ),
        (
            Arc::new(Field::new("numCols", DataType::Int32, false)),
            Arc::new(arrow_array::Int32Array::from(vec![cols as i32])),
        ),
        (
            Arc::new(Field::new(
                "colPtrs",
                DataType::List(Arc::new(Field::new("item", DataType::Int32, true))),
                true,
            )),
            empty(),
        ),
        (
            Arc::new(Field::new(
                "rowIndices",
                DataType::List(Arc::new(Field::new("item", DataType::Int32, true))),
                true,
            )),
            empty(),
        ),
        (
            Arc::new(Field::new(
                "values",
                DataType::List(Arc::new(Field::new("item", DataType::Float64, true))),
                true,
            )),
            Arc::new(values.finish()),
        ),
        (
            Arc::new(Field::new("isTransposed", DataType::Boolean, false)),
            Arc::new(arrow_array::BooleanArray::from(vec![true])),
        ),
    ];
    Arc::new(arrow_array::StructArray::from(fields))
}

fn features(rows: &[&[f64]]) -> ArrayRef {
    let mut b = scorewell_core::vector::VectorBuilder::default();
    for r in rows {
        b.push_dense(r);
    }
    b.finish()
}

fn f64s(out: &arrow_array::RecordBatch, name: &str) -> Vec<Option<f64>> {
    out.column_by_name(name)
        .unwrap_or_else(|| panic!("no `{name}`"))
        .as_any()
        .downcast_ref::<arrow_array::Float64Array>()
        .expect("f64")
        .iter()
        .collect()
}

#[test]
fn binomial_thresholds_become_one_threshold_as_spark_computes_it() {
    // See: issue 6. thresholds [t0, t1] → threshold 1 / (1 + t0 / t1) = 0.6, not 0.4.
    let model = saved_model(
        "classification.LogisticRegressionModel",
        r#"{"thresholds":[0.4,0.6]}"#,
        vec![
            ("coefficients", dense_vector(&[1.0])),
            (
                "intercept",
                std::sync::Arc::new(arrow_array::Float64Array::from(vec![0.0])),
            ),
        ],
    );
    let scorer = crate::load(model.path()).expect("loads");
    // Margins 0 (p1 = 0.5), 0.5 (p1 ≈ 0.62), -0.5 (p1 ≈ 0.38).
    let input =
        arrow_array::RecordBatch::try_from_iter([("f", features(&[&[0.0], &[0.5], &[-0.5]]))])
            .expect("input");
    let out = scorer.score(&input).expect("scores");
    assert_eq!(
        f64s(&out, "prediction"),
        vec![Some(0.0), Some(1.0), Some(0.0)]
    );
}

#[test]
fn tweedie_variance_power_zero_is_gaussian_and_the_offset_is_added() {
    // See: issue 6. Tweedie with variancePower 0 is the Gaussian family (no clip at 1e-16);
    // `offsetCol` is added to the linear predictor, a null offset gives null.
    let model = saved_model(
        "regression.GeneralizedLinearRegressionModel",
        r#"{"family":"tweedie","variancePower":0.0,"offsetCol":"off","linkPredictionCol":"eta"}"#,
        vec![
            ("coefficients", dense_vector(&[2.0])),
            (
                "intercept",
                std::sync::Arc::new(arrow_array::Float64Array::from(vec![1.0])),
            ),
        ],
    );
    let scorer = crate::load(model.path()).expect("loads");
    let off: ArrayRef = std::sync::Arc::new(arrow_array::Int32Array::from(vec![
        Some(-10),
        Some(3),
        None,
    ]));
    let input = arrow_array::RecordBatch::try_from_iter([
        ("f", features(&[&[1.0], &[0.0], &[1.0]])),
        ("off", off),
    ])
    .expect("input");
    let out = scorer.score(&input).expect("scores");
    assert_eq!(f64s(&out, "eta"), vec![Some(-7.0), Some(4.0), None]);
    assert_eq!(f64s(&out, "prediction"), vec![Some(-7.0), Some(4.0), None]);
    assert!(scorer.inputs().iter().any(|i| i.name == "off" && i.numeric));
    let no_offset =
        arrow_array::RecordBatch::try_from_iter([("f", features(&[&[1.0]]))]).expect("input");
    let err = scorer.score(&no_offset).expect_err("needs off").to_string();
    assert!(err.starts_with("input has no column `off`"), "{err}");
}

#[test]
fn naive_bayes_refuses_values_its_model_type_refuses() {
    // See: issue 6 (Spark's requireNonnegativeValues / requireZeroOneBernoulliValues).
    let nb = |model_type: &str| {
        saved_model(
            "classification.NaiveBayesModel",
            &format!(r#"{{"modelType":"{model_type}"}}"#),
            vec![
                ("pi", dense_vector(&[-0.7, -0.7])),
                ("theta", dense_matrix(2, 2, &[-0.5, -1.0, -1.2, -0.4])),
            ],
        )
    };
    let score = |model_type: &str, rows: &[&[f64]]| {
        let model = nb(model_type);
        let scorer = crate::load(model.path()).expect("loads");
        let input =
            arrow_array::RecordBatch::try_from_iter([("f", features(rows))]).expect("input");
        scorer.score(&input).map(|_| ()).map_err(|e| e.to_string())
    };
    assert!(score("multinomial", &[&[0.0, 3.0]]).is_ok());
    assert_eq!(
        score("multinomial", &[&[1.0, 0.0], &[2.0, -1.0]]).unwrap_err(),
        "stage `m`: column `f`, row 1 of the batch: multinomial naive Bayes requires nonnegative feature values, found -1 at index 1"
    );
    assert!(
        score("complement", &[&[f64::NAN, 0.0]])
            .unwrap_err()
            .ends_with(
                "complement naive Bayes requires nonnegative feature values, found NaN at index 0"
            ),
    );
    assert!(score("bernoulli", &[&[1.0, 0.0]]).is_ok());
    assert!(
        score("bernoulli", &[&[1.0, 2.0]])
            .unwrap_err()
            .ends_with("bernoulli naive Bayes requires 0 or 1 feature values, found 2 at index 1"),
    );
}

#[test]
fn cosine_kmeans_refuses_a_zero_vector_as_spark_asserts() {
    let dir = tempfile::tempdir().expect("tmp");
    write(
        &dir.path().join("metadata/part-00000"),
        r#"{"class":"org.apache.spark.ml.clustering.KMeansModel","timestamp":1,"sparkVersion":"3.5.1","uid":"k","paramMap":{"distanceMeasure":"cosine"},"defaultParamMap":{"featuresCol":"f","predictionCol":"cluster"}}"#,
    );
    let mut centers = scorewell_core::vector::VectorBuilder::default();
    centers.push_dense(&[1.0, 0.0]);
    centers.push_dense(&[0.0, 1.0]);
    let data = arrow_array::RecordBatch::try_from_iter([
        (
            "clusterIdx",
            std::sync::Arc::new(arrow_array::Int32Array::from(vec![0, 1])) as ArrayRef,
        ),
        ("clusterCenter", centers.finish()),
    ])
    .expect("batch");
    write_parquet(&dir.path().join("data/part-00000.parquet"), &data);
    let scorer = crate::load(dir.path()).expect("loads");
    let input =
        arrow_array::RecordBatch::try_from_iter([("f", features(&[&[0.2, 3.0]]))]).expect("input");
    let out = scorer.score(&input).expect("scores");
    let cluster = out
        .column_by_name("cluster")
        .expect("cluster")
        .as_any()
        .downcast_ref::<arrow_array::Int32Array>()
        .expect("i32")
        .value(0);
    assert_eq!(cluster, 1);
    let zero =
        arrow_array::RecordBatch::try_from_iter([("f", features(&[&[0.0, 0.0]]))]).expect("input");
    let err = scorer.score(&zero).expect_err("refused").to_string();
    assert!(
        err.ends_with("cosine distance is not defined for zero-length vectors"),
        "{err}"
    );
}

/// Allocation discipline: `numFeatures` and `numClasses` in a tree model's metadata size its
/// input rows and leaf tables while nothing in the saved trees need back them, so a forged
/// 2^40 is refused at load rather than allocated when scoring.
#[test]
fn forged_tree_metadata_counts_are_refused() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../../tests/conformance/spark/cases/spark_3_5_vector_indexer/model/stages/2_DecisionTreeClassifier_2c38435ddeca",
    );
    let metadata = std::fs::read_to_string(fixture.join("metadata/part-00000")).expect("fixture");
    assert!(metadata.contains(r#""numFeatures":4,"numClasses":3"#));
    for (key, forged) in [
        (
            "numFeatures",
            r#""numFeatures":1099511627776,"numClasses":3"#,
        ),
        (
            "numClasses",
            r#""numFeatures":4,"numClasses":1099511627776"#,
        ),
    ] {
        let dir = tempfile::tempdir().expect("tmp");
        write(
            &dir.path().join("metadata/part-00000"),
            &metadata.replace(r#""numFeatures":4,"numClasses":3"#, forged),
        );
        for entry in std::fs::read_dir(fixture.join("data")).expect("data") {
            let entry = entry.expect("entry");
            std::fs::create_dir_all(dir.path().join("data")).expect("mkdir");
            std::fs::copy(
                entry.path(),
                dir.path().join("data").join(entry.file_name()),
            )
            .expect("copy");
        }
        let err = crate::load(dir.path()).expect_err("refused").to_string();
        assert!(
            err.ends_with(&format!(
                "metadata declares {key} = 1099511627776, more than the 16777216 scorewell reads"
            )),
            "{err}"
        );
    }
}
