//! Model sets, splits and shadows on real per-key models made by XGBoost and LightGBM
//! (tests/routing/generate.py; `SCOREWELL_ROUTING_DIR` points at freshly generated ones).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type};
use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch, StringArray};
use scorewell_core::{Pipeline, Scorer};

use super::create::{ModelFile, ModelSetOptions, create_model_set, folder_options};
use super::model_set::Unseen;
use super::route_stats;
use crate::manifest::{ColumnType, ModelParams};
use crate::{Bundle, BundleError, NewBundle};

fn cases() -> PathBuf {
    match std::env::var_os("SCOREWELL_ROUTING_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/routing/cases"),
    }
}

fn read_parquet(path: PathBuf) -> RecordBatch {
    let file = std::fs::File::open(&path).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
    arrow_select::concat::concat_batches(&batches[0].schema(), &batches).unwrap()
}

/// The `device_id` column as strings (null stays null).
fn keys(batch: &RecordBatch) -> Vec<Option<String>> {
    let column = batch.column_by_name("device_id").unwrap();
    let cast = arrow_cast::cast(column, &arrow_schema::DataType::Utf8).unwrap();
    cast.as_string::<i32>()
        .iter()
        .map(|k| k.map(str::to_string))
        .collect()
}

fn floats(column: &ArrayRef) -> Vec<Option<f64>> {
    match column.data_type() {
        arrow_schema::DataType::Float32 => column
            .as_primitive::<Float32Type>()
            .iter()
            .map(|v| v.map(f64::from))
            .collect(),
        _ => column.as_primitive::<Float64Type>().iter().collect(),
    }
}

fn options(case: &str, key_type: ColumnType, unseen: Option<Unseen>) -> ModelSetOptions {
    let dir = cases().join(case);
    let default = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_stem().is_some_and(|s| s == "default"))
        .unwrap();
    let mut options = folder_options("device_id", &dir.join("models"), Some(&default)).unwrap();
    options.name = format!("{case}-{unseen:?}");
    options.version = "1".into();
    options.created_at = Some("2026-12-05T00:00:00Z".into());
    options.key_type = Some(key_type);
    options.unseen = unseen;
    options.record = Some("scored_by".into());
    options
}

/// `batch` with its key column dictionary-encoded, as pandas categoricals arrive.
fn with_dictionary_keys(batch: &RecordBatch) -> RecordBatch {
    let dict = arrow_schema::DataType::Dictionary(
        Box::new(arrow_schema::DataType::Int32),
        Box::new(batch.schema().field(0).data_type().clone()),
    );
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    columns[0] = arrow_cast::cast(&columns[0], &dict).unwrap();
    let fields: Vec<arrow_schema::Field> = batch
        .schema()
        .fields()
        .iter()
        .zip(&columns)
        .map(|(f, c)| f.as_ref().clone().with_data_type(c.data_type().clone()))
        .collect();
    RecordBatch::try_new(Arc::new(arrow_schema::Schema::new(fields)), columns).unwrap()
}

/// The xgboost case's model set named `name`, with key d1's model inside a bundle of its own
/// (with the pipeline `spec`, if given).
fn with_nested_d1(name: &str, spec: Option<PathBuf>) -> ModelSetOptions {
    let nested = crate::create(&crate::CreateOptions {
        name: "d1".into(),
        version: "1".into(),
        models: vec![cases().join("xgboost/models/d1.json")],
        spec,
        ..Default::default()
    })
    .unwrap()
    .to_zip_bytes()
    .unwrap();
    let mut o = options("xgboost", ColumnType::Utf8, None);
    o.name = name.into();
    o.models.insert(
        "d1".into(),
        ModelFile {
            file_name: "d1.zip".into(),
            bytes: Arc::from(nested),
        },
    );
    o
}

/// A bundle, zipped and opened again as a user would.
fn reopen(bundle: &NewBundle) -> Bundle {
    Bundle::from_bytes(&bundle.to_zip_bytes().unwrap()).unwrap()
}

/// Scorer of the xgboost case's model set (string keys, no unseen-key policy), zipped and
/// opened again.
fn xgboost_set() -> Scorer {
    reopen(&create_model_set(&options("xgboost", ColumnType::Utf8, None)).unwrap())
        .scorer()
        .unwrap()
}

/// The xgboost case's input rows.
fn xgboost_input() -> RecordBatch {
    read_parquet(cases().join("xgboost").join("input.parquet"))
}

/// Scorer of one bare model file, as `scorewell score model.json` builds it.
fn alone(path: &std::path::Path) -> Scorer {
    let bytes = std::fs::read(path).unwrap();
    let name = path.file_name().unwrap().to_str().unwrap();
    let stage =
        crate::build::forest_stage("m", &bytes, name, &ModelParams::default(), "test").unwrap();
    Scorer::new(Pipeline::new().push(Arc::new(stage)))
}

/// Every row scored by its key's model equals the library's prediction and, bit for bit,
/// scoring that row with the model alone.
fn check_case(case: &str, key_type: ColumnType, rtol: f64) {
    let dir = cases().join(case);
    let bundle = create_model_set(&options(case, key_type, None)).unwrap();
    let scorer = reopen(&bundle).scorer().unwrap();
    let input = read_parquet(dir.join("input.parquet"));
    let expected = read_parquet(dir.join("expected.parquet"));
    let expected = floats(expected.column_by_name("prediction").unwrap());
    let scored = scorer.score(&input).unwrap();
    let got = floats(scored.column_by_name("prediction").unwrap());
    let tags = scored
        .column_by_name("scored_by")
        .unwrap()
        .as_string::<i32>()
        .clone();
    let keys = keys(&input);
    let ext = if case == "xgboost" { "json" } else { "txt" };
    let mut per_key: BTreeMap<String, usize> = BTreeMap::new();
    for (row, key) in keys.iter().enumerate() {
        let own = dir
            .join("models")
            .join(format!("{}.{ext}", key.as_deref().unwrap_or("-")));
        let (path, label) = if own.is_file() {
            (own, key.clone().unwrap())
        } else {
            (dir.join(format!("default.{ext}")), "(default)".to_string())
        };
        let (want, got) = (expected[row].unwrap(), got[row].unwrap());
        assert!(
            (want - got).abs() <= rtol * want.abs().max(1.0),
            "{case} row {row} key {key:?}: library {want}, scorewell {got}"
        );
        let one = alone(&path).score(&input.slice(row, 1)).unwrap();
        let one = floats(one.column_by_name("prediction").unwrap())[0].unwrap();
        assert_eq!(
            one.to_bits(),
            got.to_bits(),
            "{case} row {row}: not bit-identical"
        );
        assert!(
            tags.value(row).starts_with(&format!("{label}@")),
            "{}",
            tags.value(row)
        );
        *per_key.entry(label).or_default() += 1;
    }
    // Every key, the default and a null key were in the input.
    assert_eq!(per_key.len(), 4, "{per_key:?}");
    assert!(keys.iter().any(Option::is_none));
}

#[test]
fn xgboost_per_key_models_score_each_row_as_its_model_alone() {
    check_case("xgboost", ColumnType::Utf8, 1e-6);
}

#[test]
fn lightgbm_per_key_models_with_integer_keys_score_each_row_as_its_model_alone() {
    check_case("lightgbm", ColumnType::Int64, 1e-12);
}

#[test]
fn unseen_and_null_keys_follow_the_policy() {
    let input = xgboost_input();
    let keys = keys(&input);
    let known = |k: &Option<String>| matches!(k.as_deref(), Some("d1" | "d2" | "d3"));
    let with_default = xgboost_set().score(&input).unwrap();
    let with_default = floats(with_default.column_by_name("prediction").unwrap());

    let nulls =
        create_model_set(&options("xgboost", ColumnType::Utf8, Some(Unseen::Null))).unwrap();
    let scored = reopen(&nulls).scorer().unwrap().score(&input).unwrap();
    let got = floats(scored.column_by_name("prediction").unwrap());
    let tags = scored.column_by_name("scored_by").unwrap();
    for (row, key) in keys.iter().enumerate() {
        if known(key) {
            assert_eq!(got[row], with_default[row], "row {row}");
            assert!(tags.is_valid(row));
        } else {
            assert_eq!(got[row], None, "row {row} key {key:?}");
            assert!(tags.is_null(row));
        }
    }

    // A dictionary-encoded key column follows the same policy row for row.
    let dict_input = with_dictionary_keys(&input);
    let scored = reopen(&nulls).scorer().unwrap().score(&dict_input).unwrap();
    assert_eq!(floats(scored.column_by_name("prediction").unwrap()), got);

    let strict =
        create_model_set(&options("xgboost", ColumnType::Utf8, Some(Unseen::Error))).unwrap();
    let err = reopen(&strict)
        .scorer()
        .unwrap()
        .score(&input)
        .unwrap_err()
        .to_string();
    let dict_err = reopen(&strict)
        .scorer()
        .unwrap()
        .score(&dict_input)
        .unwrap_err()
        .to_string();
    assert_eq!(dict_err, err);
    let first = keys.iter().position(|k| !known(k)).unwrap();
    let what = match &keys[first] {
        Some(k) => format!("key `{k}`"),
        None => "a null key".into(),
    };
    assert!(
        err.contains(&format!(
            "column `device_id`, row {first} of the batch: {what} has no model"
        )),
        "{err}"
    );
    // Known keys alone score under `error`.
    let rows: Vec<u32> = (0..keys.len() as u32)
        .filter(|&r| known(&keys[r as usize]))
        .collect();
    let only_known =
        arrow_select::take::take_record_batch(&input, &arrow_array::UInt32Array::from(rows))
            .unwrap();
    reopen(&strict)
        .scorer()
        .unwrap()
        .score(&only_known)
        .unwrap();
}

#[test]
fn unseen_default_without_a_default_model_is_refused() {
    let mut o = options("xgboost", ColumnType::Utf8, Some(Unseen::Default));
    o.default = None;
    let err = create_model_set(&o).unwrap_err().to_string();
    assert!(
        err.contains("params.unseen") && err.contains("needs a `default` model"),
        "{err}"
    );
}

#[test]
fn a_key_column_of_the_wrong_type_is_refused_by_name() {
    let bundle = create_model_set(&options("xgboost", ColumnType::Utf8, None)).unwrap();
    let scorer = reopen(&bundle).scorer().unwrap();
    let input = read_parquet(cases().join("xgboost/input.parquet"));
    let mut columns: Vec<(String, ArrayRef)> = input
        .schema()
        .fields()
        .iter()
        .zip(input.columns())
        .map(|(f, c)| (f.name().clone(), c.clone()))
        .collect();
    columns[0].1 = Arc::new(Float64Array::from(vec![1.0; input.num_rows()]));
    let bad = RecordBatch::try_from_iter(columns).unwrap();
    let err = scorer.score(&bad).unwrap_err().to_string();
    assert_eq!(
        err,
        "column `device_id` has type Float64, expected a string or integer key"
    );
}

#[test]
fn models_whose_outputs_differ_are_refused_naming_the_key_and_column() {
    let mut o = options("xgboost", ColumnType::Utf8, None);
    // A multiclass model writes `prediction_0..2`, the binary ones `prediction`.
    let conformance =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance/cases");
    o.models.insert(
        "multi".into(),
        ModelFile::read(&conformance.join("xgboost_2_1_multi_softprob/model.json")).unwrap(),
    );
    let err = create_model_set(&o).unwrap_err().to_string();
    assert!(
        err.contains("key `multi`") && err.contains("not column `prediction`"),
        "{err}"
    );
}

/// A LightGBM stump on `x`, its leaves set by `k`, written as LightGBM writes its text.
fn stump(k: usize) -> String {
    let (low, high) = (k as f64, -(k as f64) - 0.5);
    format!(
        "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\nmax_feature_idx=0\nobjective=regression\nfeature_names=x\nfeature_infos=[0:1]\ntree_sizes=100\n\nTree=0\nnum_leaves=2\nnum_cat=0\nsplit_feature=0\nsplit_gain=1\nthreshold=0.5\ndecision_type=2\nleft_child=-1\nright_child=-2\nleaf_value={low} {high}\nleaf_weight=1 1\nleaf_count=1 1\ninternal_value=0\ninternal_weight=0\ninternal_count=2\nis_linear=0\nshrinkage=1\n\n\nend of trees\n"
    )
}

fn stat(bundle: &str) -> super::StatsSnapshot {
    route_stats()
        .into_iter()
        .find(|s| s.bundle == bundle)
        .unwrap_or_default()
}

#[test]
fn ten_thousand_models_open_without_building_any_and_stay_in_budget() {
    const N: usize = 10_000;
    let models: BTreeMap<String, ModelFile> = (0..N)
        .map(|k| {
            let file = ModelFile {
                file_name: format!("k{k}.txt"),
                bytes: Arc::from(stump(k).into_bytes()),
            };
            (format!("k{k}"), file)
        })
        .collect();
    let size = models["k0"].bytes.len() as u64;
    let budget = 50 * size + size / 2;
    let options = ModelSetOptions {
        name: "ten-thousand".into(),
        version: "1".into(),
        key: "device".into(),
        models,
        unseen: Some(Unseen::Null),
        cache_bytes: Some(budget),
        created_at: Some("2026-12-05T00:00:00Z".into()),
        ..ModelSetOptions::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ten-thousand.zip");
    create_model_set(&options).unwrap().write(&path).unwrap();

    let bundle = Bundle::open(&path).unwrap();
    let scorer = bundle.scorer().unwrap();
    assert_eq!(stat("ten-thousand").builds, 0, "opening built a model");

    // 2,000 rows over 500 keys (and one unseen key): each row gets its own key's stump.
    let rows = 2_000;
    let key: StringArray = (0..rows)
        .map(|r| {
            Some(if r == 7 {
                "nope".to_string()
            } else {
                format!("k{}", (r * 37) % 500)
            })
        })
        .collect();
    let x: Float64Array = (0..rows).map(|r| Some((r % 2) as f64)).collect();
    let batch = RecordBatch::try_from_iter([
        ("device", Arc::new(key) as ArrayRef),
        ("x", Arc::new(x) as ArrayRef),
    ])
    .unwrap();
    let scored = scorer.score(&batch).unwrap();
    let got = floats(scored.column_by_name("prediction").unwrap());
    for (r, value) in got.iter().enumerate() {
        if r == 7 {
            assert_eq!(*value, None);
            continue;
        }
        let k = ((r * 37) % 500) as f64;
        let want = if r % 2 == 0 { k } else { -k - 0.5 };
        assert_eq!(*value, Some(want), "row {r}");
    }
    let s = stat("ten-thousand");
    assert_eq!(s.builds, 500, "each key built once within the batch");
    assert!(s.cached_bytes <= budget, "{} > {budget}", s.cached_bytes);
    assert_eq!(s.cached_models, 50);
    assert_eq!(s.evictions, 450);
}

#[test]
fn a_tampered_model_is_refused_on_first_use_naming_it() {
    let bundle = create_model_set(&options("xgboost", ColumnType::Utf8, None)).unwrap();
    let mut artifacts = bundle.artifacts.clone();
    let name = "models/d2.json";
    let mut bytes = artifacts[name].to_vec();
    let at = bytes.len() / 2;
    bytes[at] = if bytes[at] == b'1' { b'2' } else { b'1' };
    artifacts.insert(name.into(), Arc::from(bytes));
    let mut entries: BTreeMap<String, Arc<[u8]>> = artifacts;
    entries.insert(
        crate::MANIFEST_FILE.into(),
        Arc::from(bundle.manifest.to_json()),
    );
    // Opening and building the scorer read no model: the tampering shows on first use.
    let scorer = Bundle::from_entries(entries).unwrap().scorer().unwrap();
    let input = read_parquet(cases().join("xgboost/input.parquet"));
    let err = scorer.score(&input).unwrap_err().to_string();
    assert!(
        err.contains("model `d2 (models/d2.json)`") && err.contains("was modified"),
        "{err}"
    );
}

fn split_bundle(weights: &[f64], salt: &str) -> Result<Bundle, BundleError> {
    let dir = cases().join("xgboost");
    let files = [
        ("champion", "default.json"),
        ("challenger", "models/d3.json"),
    ];
    let mut artifacts: BTreeMap<String, Arc<[u8]>> = BTreeMap::new();
    let mut arms = Vec::new();
    for ((arm, file), w) in files.iter().zip(weights) {
        let bytes: Arc<[u8]> = Arc::from(std::fs::read(dir.join(file)).unwrap());
        let name = format!("models/{arm}.json");
        artifacts.insert(name.clone(), bytes);
        arms.push(serde_json::json!({"name": arm, "weight": w, "model": name}));
    }
    let manifest = serde_json::json!({
        "format_version": 1, "name": format!("ab-{salt}"), "version": "1",
        "created_at": "2026-12-05T00:00:00Z", "producer": "test",
        "inputs": [{"name": "device_id", "type": "utf8"},
                   {"name": "f0", "type": "float64"}, {"name": "f1", "type": "float64"},
                   {"name": "f2", "type": "float64"}, {"name": "f3", "type": "float64"}],
        "stages": [
            {"kind": "split", "name": "ab", "params": {"key": "device_id", "salt": salt, "arms": arms}},
            {"kind": "shadow", "name": "watch", "params": {"model": "models/shadow.json", "primary": "prediction"}}
        ],
        "outputs": [{"name": "prediction"}, {"name": "arm"}],
        "artifacts": {}
    });
    artifacts.insert(
        "models/shadow.json".into(),
        Arc::from(std::fs::read(dir.join("models/d1.json")).unwrap()),
    );
    let mut manifest = manifest;
    for (name, bytes) in &artifacts {
        manifest["artifacts"][name] = serde_json::json!({
            "sha256": crate::sha256_hex(bytes), "size": bytes.len()
        });
    }
    artifacts.insert(
        crate::MANIFEST_FILE.into(),
        Arc::from(serde_json::to_vec(&manifest).unwrap()),
    );
    Bundle::from_entries(artifacts)
}

#[test]
fn a_split_sends_each_key_to_one_arm_by_weight_and_records_it() {
    let scorer = split_bundle(&[0.7, 0.3], "exp1").unwrap().scorer().unwrap();
    let dir = cases().join("xgboost");
    let input = xgboost_input();
    let scored = scorer.score(&input).unwrap();
    let arms = scored
        .column_by_name("arm")
        .unwrap()
        .as_string::<i32>()
        .clone();
    let got = floats(scored.column_by_name("prediction").unwrap());
    let keys = keys(&input);
    let champion = alone(&dir.join("default.json"));
    let challenger = alone(&dir.join("models/d3.json"));
    let mut arm_of: BTreeMap<Option<String>, String> = BTreeMap::new();
    for (row, key) in keys.iter().enumerate() {
        let arm = arms.value(row).to_string();
        // The same key always goes the same way; a null key goes to the first arm.
        let first = arm_of.entry(key.clone()).or_insert(arm.clone());
        assert_eq!(*first, arm, "key {key:?}");
        if key.is_none() {
            assert_eq!(arm, "champion");
        }
        let model = if arm == "champion" {
            &champion
        } else {
            &challenger
        };
        let one = model.score(&input.slice(row, 1)).unwrap();
        let one = floats(one.column_by_name("prediction").unwrap())[0];
        assert_eq!(
            one.map(f64::to_bits),
            got[row].map(f64::to_bits),
            "row {row}"
        );
    }
    // The shadow never changes the answer and is not returned.
    assert!(scored.column_by_name("shadow_prediction").is_none());
    let s = stat("ab-exp1");
    assert_eq!(s.kind, "split");
    let rows: u64 = s.arms.values().map(|a| a.rows).sum();
    assert_eq!(rows, input.num_rows() as u64);
    let counted: u64 = s.arms.values().flat_map(|a| a.counts.iter()).sum();
    assert_eq!(counted, input.num_rows() as u64);
    let watch = route_stats()
        .into_iter()
        .find(|s| s.bundle == "ab-exp1" && s.stage == "watch")
        .unwrap();
    assert_eq!(watch.arms["shadow"].rows, input.num_rows() as u64);
    assert_eq!(watch.arms["primary"].rows, input.num_rows() as u64);
    let text = super::encode_route_metrics();
    assert!(
        text.contains(
            "scorewell_route_arm_rows_total{bundle=\"ab-exp1\",stage=\"ab\",arm=\"champion\"}"
        ),
        "{text}"
    );
    assert!(text.contains("scorewell_route_arm_score_bucket{bundle=\"ab-exp1\",stage=\"watch\",arm=\"shadow\",le=\"+Inf\"} 200"), "{text}");
}

#[test]
fn split_weights_that_do_not_sum_to_one_are_refused() {
    let err = split_bundle(&[0.7, 0.2], "bad")
        .unwrap()
        .scorer()
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "scorewell.json at stages[0].params.arms: the arms' weights (0.7 + 0.2) sum to 0.8999999999999999; they must sum to 1"
    );
    let err = split_bundle(&[1.5, -0.5], "neg")
        .unwrap()
        .scorer()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("stages[0].params.arms[0].weight: weight 1.5"),
        "{err}"
    );
}

#[test]
fn a_shadow_writes_its_outputs_under_other_names_when_asked() {
    let dir = cases().join("xgboost");
    let bundle = split_bundle(&[1.0, 0.0], "shadowed").unwrap();
    let mut manifest = bundle.manifest().clone();
    manifest.outputs.push(crate::manifest::OutputSpec {
        name: "shadow_prediction".into(),
        ty: None,
    });
    let mut entries: BTreeMap<String, Arc<[u8]>> = manifest
        .artifacts
        .keys()
        .map(|k| (k.clone(), bundle.artifact(k).unwrap()))
        .collect();
    entries.insert(crate::MANIFEST_FILE.into(), Arc::from(manifest.to_json()));
    let scorer = Bundle::from_entries(entries).unwrap().scorer().unwrap();
    let input = xgboost_input();
    let scored = scorer.score(&input).unwrap();
    let shadow = alone(&dir.join("models/d1.json")).score(&input).unwrap();
    let champion = alone(&dir.join("default.json")).score(&input).unwrap();
    assert_eq!(
        floats(scored.column_by_name("shadow_prediction").unwrap()),
        floats(shadow.column_by_name("prediction").unwrap())
    );
    assert_eq!(
        floats(scored.column_by_name("prediction").unwrap()),
        floats(champion.column_by_name("prediction").unwrap())
    );
}

#[test]
fn int_keys_match_their_decimal_text_only() {
    let mut o = options("lightgbm", ColumnType::Int64, Some(Unseen::Null));
    o.record = None;
    let scorer = reopen(&create_model_set(&o).unwrap()).scorer().unwrap();
    let input = read_parquet(cases().join("lightgbm/input.parquet"));
    let n = input.num_rows();
    let mut columns: Vec<(String, ArrayRef)> = input
        .schema()
        .fields()
        .iter()
        .zip(input.columns())
        .map(|(f, c)| (f.name().clone(), c.clone()))
        .collect();
    let as_int: Vec<Option<i64>> = columns[0]
        .1
        .as_primitive::<arrow_array::types::Int64Type>()
        .iter()
        .collect();
    let from_ints = scorer.score(&input).unwrap();
    // The same keys as text score the same; `042` is not 42.
    let text: StringArray = as_int.iter().map(|k| k.map(|k| k.to_string())).collect();
    columns[0].1 = Arc::new(text);
    let from_text = scorer
        .score(&RecordBatch::try_from_iter(columns.clone()).unwrap())
        .unwrap();
    assert_eq!(
        floats(from_ints.column_by_name("prediction").unwrap()),
        floats(from_text.column_by_name("prediction").unwrap())
    );
    let padded: StringArray = (0..n).map(|_| Some("042")).collect();
    columns[0].1 = Arc::new(padded);
    let padded = scorer
        .score(&RecordBatch::try_from_iter(columns).unwrap())
        .unwrap();
    assert_eq!(padded.column_by_name("prediction").unwrap().null_count(), n);
}

#[test]
fn a_nested_bundle_and_dictionary_keys_score_like_the_bare_model() {
    // d1's model inside a bundle of its own, as a key's model.
    let o = with_nested_d1("nested", None);
    let flat = reopen(&create_model_set(&options("xgboost", ColumnType::Utf8, None)).unwrap());
    let nested = reopen(&create_model_set(&o).unwrap());
    let input = xgboost_input();
    let want = flat.scorer().unwrap().score(&input).unwrap();
    let got = nested
        .scorer()
        .unwrap()
        .score(&with_dictionary_keys(&input))
        .unwrap();
    assert_eq!(
        floats(got.column_by_name("prediction").unwrap()),
        floats(want.column_by_name("prediction").unwrap())
    );
}

#[test]
fn rows_sorted_by_key_score_as_in_any_order() {
    // Runs of equal keys are looked up once; the outputs must not change with the order.
    let input = xgboost_input();
    let scorer = xgboost_set();
    let want = scorer.score(&input).unwrap();
    let keys = keys(&input);
    let mut order: Vec<u32> = (0..keys.len() as u32).collect();
    order.sort_by_key(|&r| keys[r as usize].clone());
    let order = arrow_array::UInt32Array::from(order);
    let sorted = arrow_select::take::take_record_batch(&input, &order).unwrap();
    let got = scorer.score(&sorted).unwrap();
    for name in ["prediction", "scored_by"] {
        let want = arrow_select::take::take(want.column_by_name(name).unwrap(), &order, None);
        assert_eq!(&want.unwrap(), got.column_by_name(name).unwrap(), "{name}");
    }
}

#[test]
fn a_nested_bundle_that_drops_rows_is_refused_naming_its_key() {
    // d1's model behind a string indexer that skips the keys it does not know: every row of
    // key d1 is dropped, and the stage cannot put them back in order.
    let tmp = tempfile::tempdir().unwrap();
    let spec = tmp.path().join("p.yaml");
    std::fs::write(
        &spec,
        "stages:\n  - {kind: string_indexer, name: idx, params: {input: device_id, output: known, labels: [d2], handle_invalid: skip}}\n  - {kind: model, name: m}\noutputs: [prediction]\n",
    )
    .unwrap();
    let o = with_nested_d1("dropping", Some(spec));
    let input = xgboost_input();
    let err = reopen(&create_model_set(&o).unwrap())
        .scorer()
        .unwrap()
        .score(&input)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("d1") && err.contains("a routed model must score every row"),
        "{err}"
    );
}

#[test]
fn batches_whose_columns_change_order_between_calls_score_as_alone() {
    // The routed columns' schema and each model's read columns are remembered for the last
    // batch schema; a batch with the columns in another order must not reuse them.
    let input = xgboost_input();
    let scorer = xgboost_set();
    let reversed: Vec<usize> = (0..input.num_columns()).rev().collect();
    let flipped = input.project(&reversed).unwrap();
    let row = |b: &RecordBatch, r: usize| b.slice(r, 1);
    let fresh = |b: &RecordBatch| xgboost_set().score(b).unwrap();
    let want = fresh(&input);
    let want_flipped = fresh(&flipped);
    for r in 0..input.num_rows().min(40) {
        for (batch, want) in [(&input, &want), (&flipped, &want_flipped), (&input, &want)] {
            let got = scorer.score(&row(batch, r)).unwrap();
            for name in ["prediction", "scored_by"] {
                assert_eq!(
                    &want.column_by_name(name).unwrap().slice(r, 1),
                    got.column_by_name(name).unwrap(),
                    "row {r}, {name}"
                );
            }
        }
    }
    // Whole batches too (the grouped path), alternating.
    for (batch, want) in [
        (&flipped, &want_flipped),
        (&input, &want),
        (&flipped, &want_flipped),
    ] {
        let got = scorer.score(batch).unwrap();
        assert_eq!(
            want.column_by_name("prediction").unwrap(),
            got.column_by_name("prediction").unwrap()
        );
    }
}

#[test]
fn a_schema_seen_again_gets_the_same_projection() {
    use arrow_schema::{DataType, Field, Schema};
    let schema = |names: &[&str]| {
        Arc::new(Schema::new(
            names
                .iter()
                .map(|n| Field::new(*n, DataType::Float64, true))
                .collect::<Vec<_>>(),
        ))
    };
    let last = super::LastProjection::default();
    let a = schema(&["k", "x", "y"]);
    let (_, first) = last
        .project(&a, Some(&[2, 0]), || Arc::from(vec![2, 0]))
        .unwrap();
    let (_, again) = last
        .project(&a, Some(&[2, 0]), || unreachable!("projected again"))
        .unwrap();
    assert!(Arc::ptr_eq(&first, &again));
    assert_eq!(first.field(0).name(), "y");
    // An equal schema in another Arc gets the same projection (batches of one reader may
    // each carry their own schema).
    let b = schema(&["k", "x", "y"]);
    let (_, from_b) = last
        .project(&b, Some(&[2, 0]), || unreachable!("projected again"))
        .unwrap();
    assert!(Arc::ptr_eq(&first, &from_b));
    // Other positions, or another schema, are projected anew.
    let (_, other) = last.project(&a, Some(&[1]), || Arc::from(vec![1])).unwrap();
    assert_eq!(other.field(0).name(), "x");
    let c = schema(&["k", "x", "z"]);
    let (positions, from_c) = last.project(&c, Some(&[1]), || Arc::from(vec![2])).unwrap();
    assert_eq!(&*positions, &[2]);
    assert_eq!(from_c.field(0).name(), "z");
}

#[test]
fn a_batch_large_enough_for_the_parallel_key_lookup_scores_as_its_parts() {
    // Past 65,536 rows the keys are looked up in parallel chunks: the chunks' seams must not
    // move a row to another model.
    let input = xgboost_input();
    let scorer = xgboost_set();
    let one = scorer.score(&input).unwrap();
    let copies = 70_000 / input.num_rows() + 1;
    let big =
        arrow_select::concat::concat_batches(&input.schema(), std::iter::repeat_n(&input, copies))
            .unwrap();
    assert!(big.num_rows() > 65_536);
    let got = scorer.score(&big).unwrap();
    for name in ["prediction", "scored_by"] {
        let part = one.column_by_name(name).unwrap();
        let want = arrow_select::concat::concat(&vec![part.as_ref(); copies]).unwrap();
        assert_eq!(&want, got.column_by_name(name).unwrap(), "{name}");
    }
}
