//! Creating, opening, verifying and building bundles; tamper and unsafe-archive refusals.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch};

use crate::*;

/// A LightGBM stump: `x <= 0.5 → low, else high` (regression, identity link).
fn stump(low: f64, high: f64) -> String {
    format!(
        "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\nmax_feature_idx=0\nobjective=regression\nfeature_names=x\nfeature_infos=[0:1]\ntree_sizes=100\n\nTree=0\nnum_leaves=2\nnum_cat=0\nsplit_feature=0\nsplit_gain=1\nthreshold=0.5\ndecision_type=2\nleft_child=-1\nright_child=-2\nleaf_value={low} {high}\nleaf_weight=1 1\nleaf_count=1 1\ninternal_value=0\ninternal_weight=0\ninternal_count=2\nis_linear=0\nshrinkage=1\n\n\nend of trees\n"
    )
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn options(models: Vec<PathBuf>, spec: Option<PathBuf>) -> CreateOptions {
    CreateOptions {
        name: "fraud".into(),
        version: "3".into(),
        models,
        spec,
        description: None,
        created_at: Some("2026-11-22T00:00:00Z".into()),
        spark: Vec::new(),
    }
}

fn batch(xs: &[f64]) -> RecordBatch {
    let x: ArrayRef = Arc::new(Float64Array::from(xs.to_vec()));
    RecordBatch::try_from_iter([("x", x)]).unwrap()
}

fn column(batch: &RecordBatch, name: &str) -> Vec<f64> {
    let idx = batch.schema().index_of(name).unwrap();
    let col = batch.column(idx);
    let col = col.as_any().downcast_ref::<Float64Array>().unwrap();
    col.values().to_vec()
}

#[test]
fn a_model_only_bundle_scores_like_the_bare_model_as_zip_and_directory() {
    let dir = tempfile::tempdir().unwrap();
    let model = write(dir.path(), "model.txt", &stump(1.0, 2.0));
    let bundle = create(&options(vec![model], None)).unwrap();
    assert_eq!(bundle.manifest.inputs.len(), 1);
    assert_eq!(bundle.manifest.outputs[0].name, "prediction");
    let zip = dir.path().join("fraud-3.zip");
    bundle.write(&zip).unwrap();
    let folder = dir.path().join("fraud-3");
    bundle.write(&folder).unwrap();
    assert!(is_bundle(&zip) && is_bundle(&folder));
    for path in [&zip, &folder] {
        let opened = Bundle::open(path).unwrap();
        let report = opened.verify().unwrap();
        assert_eq!(report.verified, vec![("models/model.txt".to_string(), 413)]);
        let scored = opened.scorer().unwrap().score(&batch(&[0.1, 0.9])).unwrap();
        assert_eq!(column(&scored, "prediction"), vec![1.0, 2.0]);
        assert_eq!(scored.num_columns(), 2, "input column + prediction");
    }
    // Equal bundles give equal bytes, whichever way they were opened.
    let a = Bundle::open(&zip).unwrap().to_zip_bytes().unwrap();
    let b = Bundle::open(&folder).unwrap().to_zip_bytes().unwrap();
    assert_eq!(a, b);
}

#[test]
fn several_models_feed_named_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.txt", &stump(1.0, 2.0));
    let b = write(dir.path(), "b.txt", &stump(10.0, 20.0));
    let bundle = create(&options(vec![a, b], None)).unwrap();
    let zip = bundle.to_zip_bytes().unwrap();
    let scorer = Bundle::from_bytes(&zip).unwrap().scorer().unwrap();
    let scored = scorer.score(&batch(&[0.9])).unwrap();
    // Default outputs: the last stage's.
    assert_eq!(column(&scored, "prediction_1"), vec![20.0]);
}

#[test]
fn changing_one_byte_of_an_artifact_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let model = write(dir.path(), "model.txt", &stump(1.0, 2.0));
    let folder = dir.path().join("b");
    create(&options(vec![model], None))
        .unwrap()
        .write(&folder)
        .unwrap();
    let artifact = folder.join("models/model.txt");
    let mut bytes = std::fs::read(&artifact).unwrap();
    let at = bytes.iter().position(|b| *b == b'1').unwrap();
    bytes[at] = b'7';
    std::fs::write(&artifact, bytes).unwrap();
    let bundle = Bundle::open(&folder).unwrap();
    let verify = bundle.verify().unwrap_err().to_string();
    assert!(
        verify.starts_with("artifact `models/model.txt` was modified: sha256 is "),
        "{verify}"
    );
    let build = bundle.scorer().unwrap_err().to_string();
    assert!(
        build.contains("artifact `models/model.txt` was modified"),
        "{build}"
    );
}

fn manifest_with(edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let model = write(dir.path(), "model.txt", &stump(1.0, 2.0));
    let bundle = create(&options(vec![model], None)).unwrap();
    let mut json: serde_json::Value = serde_json::from_slice(&bundle.manifest.to_json()).unwrap();
    edit(&mut json);
    let manifest = serde_json::to_vec(&json).unwrap();
    let files = std::iter::once((MANIFEST_FILE, &manifest[..]))
        .chain(bundle.artifacts.iter().map(|(n, b)| (n.as_str(), &b[..])));
    crate::bundle::write_zip(files).unwrap()
}

fn open_error(bytes: &[u8]) -> String {
    match Bundle::from_bytes(bytes).and_then(|b| b.scorer()) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn manifest_errors_name_the_json_path() {
    let bytes = manifest_with(|m| m["stages"][0]["params"]["output_margin"] = "yes".into());
    assert_eq!(
        open_error(&bytes),
        "scorewell.json at stages[0].params.output_margin: invalid type: string \"yes\", expected a boolean"
    );
    let bytes = manifest_with(|m| m["inputs"][0]["type"] = "complex".into());
    let err = open_error(&bytes);
    assert!(
        err.starts_with("scorewell.json at inputs[0].type: unknown variant `complex`"),
        "{err}"
    );
    let bytes = manifest_with(|m| m["format_version"] = 9.into());
    assert_eq!(
        open_error(&bytes),
        "scorewell.json has format_version 9; this scorewell reads versions 1 to 1 (upgrade scorewell)"
    );
    let bytes = manifest_with(|m| m["format_version"] = 0.into());
    assert_eq!(
        open_error(&bytes),
        "scorewell.json at format_version: 0 is not a manifest version; versions start at 1 (this scorewell reads 1 to 1)"
    );
    let bytes = manifest_with(|m| m["stages"][0]["kind"] = "pca".into());
    let err = open_error(&bytes);
    assert!(
        err.starts_with("scorewell.json at stages[0].kind: "),
        "{err}"
    );
    let bytes = manifest_with(|m| m["outputs"][0]["name"] = "score".into());
    let err = open_error(&bytes);
    assert!(
        err.contains("output `score` is not produced by any stage"),
        "{err}"
    );
    let bytes =
        manifest_with(|m| m["stages"][0]["params"]["features"] = serde_json::json!(["amount"]));
    let err = open_error(&bytes);
    assert!(
        err.contains("stage `model` reads column `amount`, which is neither a bundle input"),
        "{err}"
    );
}

/// A zip whose one entry is named `name`, holding `bytes`, optionally marked as a symlink.
fn zip_with(name: &str, bytes: &[u8], symlink: bool) -> Vec<u8> {
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    if symlink {
        out.add_symlink(name, "/etc/passwd", options).unwrap();
    } else {
        out.start_file(name, options).unwrap();
        out.write_all(bytes).unwrap();
    }
    out.finish().unwrap().into_inner()
}

#[test]
fn unsafe_archives_are_refused_before_anything_is_read() {
    let err = open_error(&zip_with("../evil.json", b"{}", false));
    assert_eq!(
        err,
        "refusing bundle entry `../evil.json`: the path climbs out of the bundle (`..`)"
    );
    let err = open_error(&zip_with("/abs.json", b"{}", false));
    assert!(err.contains("absolute paths are not allowed"), "{err}");
    let err = open_error(&zip_with("models/link", b"", true));
    assert_eq!(
        err,
        "refusing bundle entry `models/link`: symbolic links are not allowed in bundles"
    );
    // 8 MiB of zeros deflates ~1000×: a bomb at small scale.
    let zeros = vec![0u8; 8 << 20];
    let err = open_error(&zip_with("big.bin", &zeros, false));
    assert!(err.contains("expands"), "{err}");
    let small = Limits {
        max_entry_bytes: 1000,
        ..Limits::default()
    };
    let err = Bundle::from_bytes_with(&zip_with("a.bin", &[7u8; 5000], false), small)
        .unwrap_err()
        .to_string();
    assert!(err.contains("over the size limit"), "{err}");
    assert_eq!(
        open_error(b"PK\x03\x04garbage"),
        open_error(b"PK\x03\x04garbage")
    );
    assert!(open_error(b"PK\x03\x04garbage").starts_with("corrupt zip archive"));
    assert_eq!(
        open_error(&zip_with("readme.txt", b"hi", false)),
        "no scorewell.json at the bundle root (is this a bundle?)"
    );
}

#[cfg(unix)]
#[test]
fn a_symlinked_artifact_in_a_directory_bundle_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let model = write(dir.path(), "model.txt", &stump(1.0, 2.0));
    let folder = dir.path().join("b");
    create(&options(vec![model.clone()], None))
        .unwrap()
        .write(&folder)
        .unwrap();
    let artifact = folder.join("models/model.txt");
    std::fs::remove_file(&artifact).unwrap();
    std::os::unix::fs::symlink(&model, &artifact).unwrap();
    let err = Bundle::open(&folder)
        .unwrap()
        .verify()
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "refusing bundle entry `models/model.txt`: symbolic links are not allowed in bundles"
    );
}

#[test]
fn create_explains_what_is_missing() {
    let err = create(&options(vec![], None)).unwrap_err().to_string();
    assert_eq!(
        err,
        "bundle create: nothing to bundle: give --model and/or --transforms"
    );
    let dir = tempfile::tempdir().unwrap();
    let spec = write(
        dir.path(),
        "spec.yaml",
        "stages:\n  - kind: model\n    name: m\n",
    );
    let err = create(&options(vec![], Some(spec)))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!(
            "{}: at stages[0].artifact: this model stage has no artifact and no --model file is left for it",
            dir.path().join("spec.yaml").display()
        )
    );
    let spec = write(
        dir.path(),
        "bad.yaml",
        "stages:\n  - kind: model\n    nme: m\n",
    );
    let err = create(&options(vec![], Some(spec)))
        .unwrap_err()
        .to_string();
    assert!(err.contains("bad.yaml: at stages[0]"), "{err}");
}

#[test]
fn a_feature_pipeline_feeds_several_detectors_an_ensemble_and_a_decision() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.txt", &stump(0.2, 0.8));
    // The second detector reads the scaled amount under the model's own feature name `x`.
    write(dir.path(), "b.txt", &stump(0.0, 1.0));
    let spec = write(
        dir.path(),
        "pipeline.yaml",
        r#"
inputs:
  - {name: x, type: float64}
stages:
  - kind: min_max_scaler
    name: scale
    params: {inputs: [x], outputs: [x_scaled], original_min: [0.0], original_max: [2.0]}
  - kind: model
    name: a
    artifact: a.txt
    params: {output: score_a}
  - kind: model
    name: b
    artifact: b.txt
    params: {output: score_b, features: [x_scaled]}
  - kind: ensemble
    name: combined
    params: {inputs: [score_a, score_b], output: score, method: weighted_mean, weights: [3, 1]}
decision:
  score: score
  rules: [{at_least: 0.5, label: block}]
  otherwise: allow
"#,
    );
    let bundle = create(&options(vec![], Some(spec))).unwrap();
    let names: Vec<&str> = bundle
        .manifest
        .outputs
        .iter()
        .map(|o| o.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["score", "decision"],
        "default outputs: last stage + decision"
    );
    let scorer = Bundle::from_bytes(&bundle.to_zip_bytes().unwrap())
        .unwrap()
        .scorer()
        .unwrap();
    // x = 0.4: a → 0.2 (x ≤ 0.5); scaled 0.2 → b → 0.0; (3·0.2 + 0) / 4 = 0.15 → allow.
    // x = 1.6: a → 0.8; scaled 0.8 → b → 1.0; (2.4 + 1) / 4 = 0.85 → block.
    let out = scorer.score(&batch(&[0.4, 1.6])).unwrap();
    let score = column(&out, "score");
    assert!(
        (score[0] - 0.15).abs() < 1e-12 && (score[1] - 0.85).abs() < 1e-12,
        "{score:?}"
    );
    let decision = out
        .column(2)
        .as_any()
        .downcast_ref::<arrow_array::StringArray>()
        .unwrap();
    assert_eq!(
        decision.iter().collect::<Vec<_>>(),
        [Some("allow"), Some("block")]
    );
    assert_eq!(
        out.num_columns(),
        3,
        "x_scaled, score_a and score_b stay internal"
    );
}

#[test]
fn decision_errors_use_the_manifest_names() {
    let bytes = manifest_with(|m| {
        m["decision"] = serde_json::json!({
            "score": "prediction",
            "rules": [{"at_least": 0.2, "label": "review"}, {"at_least": 0.5, "label": "block"}],
            "otherwise": "allow"
        })
    });
    let err = open_error(&bytes);
    assert!(
        err.starts_with("scorewell.json at decision.rules[1].at_least: "),
        "{err}"
    );
}

#[test]
fn a_bad_transform_parameter_is_reported_at_its_json_path() {
    let dir = tempfile::tempdir().unwrap();
    let model = write(dir.path(), "m.txt", &stump(0.0, 1.0));
    let spec = write(
        dir.path(),
        "p.yaml",
        "stages:\n  - kind: bucketizer\n    name: b\n    params: {input: x, output: xb, splits: [0, 2, 1]}\n  - kind: model\n    name: m\n",
    );
    let err = create(&options(vec![model], Some(spec)))
        .unwrap_err()
        .to_string();
    // The spec file is named: the bundle's scorewell.json does not exist yet.
    assert!(
        err.contains("p.yaml: at stages[0].params.splits[2]: "),
        "{err}"
    );
}

/// See: issue 6. A Spark `model.save` folder bundled as a `spark_pipeline` stage scores like
/// the folder itself, from a zip and from bytes; a changed file is refused by name.
#[test]
fn a_spark_folder_bundles_as_one_spark_pipeline_stage() {
    let case = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/conformance/spark/cases/spark_4_3_mixed_gbt");
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(Vec::new(), None);
    opts.spark = vec![case.join("model")];
    let bundle = create(&opts).unwrap();
    let m = &bundle.manifest;
    assert_eq!(m.stages.len(), 1);
    assert_eq!(m.stages[0].kind, SPARK_KIND);
    assert_eq!(m.stages[0].artifact.as_deref(), Some("spark/model/"));
    assert!(m.artifacts.keys().all(|k| k.starts_with("spark/model/")));
    assert!(
        !m.artifacts
            .keys()
            .any(|k| k.ends_with("_SUCCESS") || k.ends_with(".crc"))
    );
    let names: Vec<&str> = m.outputs.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "city_idx",
            "device_idx",
            "city_oh",
            "device_oh",
            "features",
            "rawPrediction",
            "probability",
            "prediction"
        ]
    );

    let zip = dir.path().join("gbt.zip");
    bundle.write(&zip).unwrap();
    let input = {
        let file = std::fs::File::open(case.join("input.parquet")).unwrap();
        let mut reader =
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                .unwrap()
                .build()
                .unwrap();
        reader.next().unwrap().unwrap()
    };
    let direct = scorewell_spark::load(case.join("model")).unwrap();
    let want = direct.score(&input).unwrap();
    let got = Bundle::open(&zip)
        .unwrap()
        .scorer()
        .unwrap()
        .score(&input)
        .unwrap();
    assert_eq!(
        got.column_by_name("probability").unwrap(),
        want.column_by_name("probability").unwrap()
    );
    let bytes = std::fs::read(&zip).unwrap();
    let again = Bundle::from_bytes(&bytes).unwrap().scorer().unwrap();
    assert_eq!(again.score(&input).unwrap(), got);

    let folder = dir.path().join("gbt");
    bundle.write(&folder).unwrap();
    let data = std::fs::read_dir(folder.join("spark/model/stages"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("GBTClassifier"))
        .unwrap()
        .join("treesMetadata");
    let part = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("part-"))
        .unwrap();
    let mut text = std::fs::read(&part).unwrap();
    let last = text.len() - 1;
    text[last] ^= 1;
    std::fs::write(&part, text).unwrap();
    let err = Bundle::open(&folder)
        .unwrap()
        .scorer()
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("artifact `spark/model/stages/"), "{err}");
    assert!(err.contains("was modified"), "{err}");
}

/// A digest that is not 64 lowercase hex digits is refused where it stands, so nothing
/// downstream (`inspect` prints its first 16 characters) meets an odd one.
#[test]
fn artifact_checksums_must_be_64_lowercase_hex_digits() {
    let good = manifest_with(|_| {});
    assert!(Bundle::from_bytes(&good).unwrap().scorer().is_ok());
    for bad in [
        "é".repeat(32),
        "AB".repeat(32),
        "ab".repeat(31),
        "ab".repeat(33),
        "g".repeat(64),
    ] {
        let bytes = manifest_with(|m| {
            m["artifacts"]["models/model.txt"]["sha256"] = bad.clone().into();
        });
        let err = open_error(&bytes);
        assert!(
            err.starts_with("scorewell.json at artifacts.models/model.txt.sha256: sha256 must be 64 lowercase hex digits, got "),
            "{bad}: {err}"
        );
    }
}

#[test]
fn a_declared_output_type_must_match_what_the_stage_writes() {
    let bytes = manifest_with(|m| m["outputs"][0]["type"] = "utf8".into());
    assert_eq!(
        open_error(&bytes),
        "scorewell.json at outputs[0].type: output `prediction` is declared `utf8` but its stage writes `float64`"
    );
    // Without a type, or with the right one, the bundle loads.
    for ty in [serde_json::Value::Null, "float64".into()] {
        let bytes = manifest_with(|m| {
            m["outputs"][0]["type"] = ty.clone();
            if ty.is_null() {
                m["outputs"][0].as_object_mut().unwrap().remove("type");
            }
        });
        assert!(Bundle::from_bytes(&bytes).unwrap().scorer().is_ok(), "{ty}");
    }
}

#[test]
fn column_type_names_are_the_manifest_names() {
    use crate::manifest::ColumnType::*;
    for ty in [Float64, Float32, Int64, Int32, Bool, Utf8, Vector, ListUtf8] {
        assert_eq!(serde_json::to_value(ty).unwrap(), ty.name(), "{ty:?}");
    }
}

/// Patch the sizes every header of a one-entry zip declares (local header and central
/// directory), as a hostile archive would.
fn forge_sizes(mut zip: Vec<u8>, compressed: u32, uncompressed: u32) -> Vec<u8> {
    let mut patched = 0;
    for at in 0..zip.len().saturating_sub(4) {
        let (c, u) = match &zip[at..at + 4] {
            b"PK\x03\x04" => (at + 18, at + 22),
            b"PK\x01\x02" => (at + 20, at + 24),
            _ => continue,
        };
        zip[c..c + 4].copy_from_slice(&compressed.to_le_bytes());
        zip[u..u + 4].copy_from_slice(&uncompressed.to_le_bytes());
        patched += 1;
    }
    assert_eq!(
        patched, 2,
        "one local header and one central directory entry"
    );
    zip
}

/// Allocation discipline: the sizes a zip declares are not trusted. An entry claiming a tiny
/// expansion from a huge compressed size is stopped once it expands past what the archive's
/// real length allows, and a huge declared size is refused before anything is reserved.
#[test]
fn forged_zip_header_cannot_hide_a_bomb() {
    let zeros = vec![0u8; 8 << 20];
    let honest = zip_with("big.bin", &zeros, false);
    assert!(honest.len() < 64 << 10, "{}", honest.len());
    let forged = forge_sizes(honest, u32::MAX - 1, 10);
    let err = open_error(&forged);
    assert!(
        err.starts_with("refusing bundle entry `big.bin`: expands "),
        "{err}"
    );
    assert!(err.contains("(it holds more than"), "{err}");
    // A huge declared size is refused before anything is read or reserved.
    let forged = forge_sizes(zip_with("big.bin", b"tiny", false), 6, u32::MAX - 1);
    let err = open_error(&forged);
    assert!(err.contains("(it declares 4294967294 bytes)"), "{err}");
}

/// Many entries that each stay under the per-entry ratio floor still cannot expand the
/// archive past its ratio limit as a whole.
#[test]
fn the_whole_archive_expands_at_most_max_ratio_times_its_length() {
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let zeros = vec![0u8; 900 << 10];
    for i in 0..12 {
        out.start_file(format!("part-{i}.bin"), options).unwrap();
        out.write_all(&zeros).unwrap();
    }
    let bytes = out.finish().unwrap().into_inner();
    let err = open_error(&bytes);
    assert!(
        err.contains("expands the archive past 200× its length of"),
        "{err}"
    );
}

#[test]
fn too_many_entries_is_a_limit_not_a_corrupt_archive() {
    let small = Limits {
        max_entries: 2,
        ..Limits::default()
    };
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    for i in 0..3 {
        out.start_file(format!("f{i}"), options).unwrap();
    }
    let bytes = out.finish().unwrap().into_inner();
    let err = Bundle::from_bytes_with(&bytes, small)
        .unwrap_err()
        .to_string();
    assert_eq!(err, "the bundle holds 3 files, over the limit of 2");
}

#[cfg(unix)]
#[test]
fn a_symlinked_folder_in_a_directory_bundle_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let model = write(dir.path(), "model.txt", &stump(1.0, 2.0));
    let folder = dir.path().join("b");
    create(&options(vec![model], None))
        .unwrap()
        .write(&folder)
        .unwrap();
    // `models/` moves out of the bundle and a link takes its place.
    let outside = dir.path().join("elsewhere");
    std::fs::rename(folder.join("models"), &outside).unwrap();
    std::os::unix::fs::symlink(&outside, folder.join("models")).unwrap();
    let bundle = Bundle::open(&folder).unwrap();
    for err in [
        bundle.scorer().unwrap_err().to_string(),
        bundle.verify().unwrap_err().to_string(),
    ] {
        assert_eq!(
            err,
            "refusing bundle entry `models/model.txt`: `models` is a symbolic link; bundles may not hold any"
        );
    }
}

#[test]
fn directory_bundles_count_every_file_read_against_the_total_limit() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.txt", &stump(1.0, 2.0));
    let b = write(dir.path(), "b.txt", &stump(10.0, 20.0));
    let folder = dir.path().join("two");
    create(&options(vec![a, b], None))
        .unwrap()
        .write(&folder)
        .unwrap();
    let manifest = std::fs::metadata(folder.join(MANIFEST_FILE)).unwrap().len();
    // Room for the manifest and one model (413 bytes), not two.
    let tight = Limits {
        max_total_bytes: manifest + 600,
        ..Limits::default()
    };
    let err = Bundle::open_with(&folder, tight)
        .unwrap()
        .scorer()
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("refusing bundle entry `models/") && err.contains("over the size limit"),
        "{err}"
    );
    // Reading the same file again does not count twice.
    let roomy = Limits {
        max_total_bytes: manifest + 900,
        ..Limits::default()
    };
    let bundle = Bundle::open_with(&folder, roomy).unwrap();
    bundle.verify().unwrap();
    bundle.scorer().unwrap();
}

/// Files already in memory (a bundle directory read whole) load like a zip of them.
#[test]
fn a_bundle_loads_from_entries_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let model = write(dir.path(), "model.txt", &stump(1.0, 2.0));
    let bundle = create(&options(vec![model], None)).unwrap();
    let mut entries: std::collections::BTreeMap<String, Arc<[u8]>> = bundle.artifacts.clone();
    entries.insert(MANIFEST_FILE.into(), Arc::from(bundle.manifest.to_json()));
    let opened = Bundle::from_entries(entries.clone()).unwrap();
    let scored = opened.scorer().unwrap().score(&batch(&[0.1, 0.9])).unwrap();
    assert_eq!(column(&scored, "prediction"), vec![1.0, 2.0]);
    entries.insert("../x".into(), Arc::from(&b"x"[..]));
    let err = Bundle::from_entries(entries).unwrap_err().to_string();
    assert_eq!(
        err,
        "refusing bundle entry `../x`: the path climbs out of the bundle (`..`)"
    );
}

#[test]
fn tensor_model_stages_are_chosen_by_name_and_refused_without_their_feature() {
    // `.onnx` (or `format: onnx`) is an ONNX stage: without the `onnx` feature the build says
    // which feature is missing instead of misreading the file as a tree model.
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m.onnx", "not read without the feature");
    write(dir.path(), "m.bin", "not read without the feature");
    write(dir.path(), "w.h5", "weights");
    let cases = [
        ("m.onnx", "{}", "stages[0].artifact: models/m.onnx"),
        (
            "m.bin",
            "{format: onnx}",
            "stages[0].artifact: models/m.bin",
        ),
        ("m.onnx", "{features: [a]}", "an ONNX model has no margins"),
        (
            "m.onnx",
            "{weights: w.h5}",
            "an ONNX model holds its weights",
        ),
    ];
    for (i, (artifact, params, message)) in cases.iter().enumerate() {
        let spec = write(
            dir.path(),
            &format!("spec{i}.yaml"),
            &format!(
                "stages:\n  - kind: model\n    name: m\n    artifact: {artifact}\n    params: {params}\n"
            ),
        );
        let err = create(&options(vec![], Some(spec)))
            .unwrap_err()
            .to_string();
        assert!(err.contains(message), "{params}: {err}");
        if *params == "{}" || params.contains("format") {
            #[cfg(not(feature = "onnx"))]
            assert!(err.contains("cargo feature `onnx`"), "{err}");
            #[cfg(feature = "onnx")]
            assert!(err.contains("not an ONNX model"), "{err}");
        }
    }
}
