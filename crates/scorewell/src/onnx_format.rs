//! ONNX models: a `.onnx` file (ONNX has no magic bytes, so the name decides) or any file
//! loaded with the format `onnx`. Scored through tract with the `onnx` cargo feature; without
//! it such a model gets an error saying so, not a format-detection failure.

use std::path::Path;

use crate::{Error, LoadOptions, OutputMode, Scorer};

/// The format name that forces ONNX.
pub(crate) const FORMAT: &str = "onnx";

/// True when `options` or `file_name` select ONNX.
pub(crate) fn wants_onnx(options: &LoadOptions, file_name: Option<&str>) -> bool {
    match options.format.as_deref() {
        Some(f) => f.eq_ignore_ascii_case(FORMAT),
        None => file_name.is_some_and(|n| n.to_ascii_lowercase().ends_with(".onnx")),
    }
}

/// A scorer with one ONNX stage for a `.onnx` file's bytes.
#[cfg(feature = "onnx")]
pub(crate) fn onnx_scorer(
    bytes: &[u8],
    path: &Path,
    options: &LoadOptions,
) -> Result<Scorer, Error> {
    use std::sync::Arc;

    if options.mode == OutputMode::Margin {
        return Err(margins(path));
    }
    let model = scorewell_onnx::OnnxModel::from_bytes(bytes).map_err(|e| Error::Onnx {
        path: path.to_path_buf(),
        source: Box::new(e),
    })?;
    let stage = scorewell_onnx::OnnxStage::new("onnx", Arc::new(model));
    Ok(Scorer::new(crate::Pipeline::new().push(Arc::new(stage))))
}

/// Without the feature: say what is missing.
#[cfg(not(feature = "onnx"))]
pub(crate) fn onnx_scorer(
    _bytes: &[u8],
    path: &Path,
    options: &LoadOptions,
) -> Result<Scorer, Error> {
    if options.mode == OutputMode::Margin {
        return Err(margins(path));
    }
    Err(Error::OnnxDisabled {
        path: path.to_path_buf(),
    })
}

fn margins(path: &Path) -> Error {
    Error::BundleOption(format!(
        "{}: raw margins are not offered for ONNX models; they append the graph's outputs",
        path.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load_bytes;

    fn fixture() -> Vec<u8> {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/conformance/onnx/tf_conv1d/model.onnx");
        std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    #[test]
    fn the_extension_or_the_format_name_selects_onnx() {
        let by_name = LoadOptions::default();
        assert!(wants_onnx(&by_name, Some("m.ONNX")));
        assert!(!wants_onnx(&by_name, Some("m.json")));
        assert!(!wants_onnx(&by_name, None));
        let forced = LoadOptions {
            format: Some("onnx".into()),
            ..LoadOptions::default()
        };
        assert!(wants_onnx(&forced, Some("model.bin")));
        let other = LoadOptions {
            format: Some("xgboost-json".into()),
            ..LoadOptions::default()
        };
        assert!(!wants_onnx(&other, Some("m.onnx")));
    }

    #[cfg(feature = "onnx")]
    #[test]
    fn onnx_bytes_load_into_a_one_stage_scorer() {
        let scorer =
            load_bytes(&fixture(), Some("m.onnx"), &LoadOptions::default()).expect("loads");
        let stages = scorer.pipeline().stages();
        assert_eq!(stages.len(), 1);
        assert_eq!(stages[0].name(), "onnx");
        let outputs: Vec<String> = stages[0]
            .output_fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(outputs, ["prediction"]);
        let margin = LoadOptions {
            mode: OutputMode::Margin,
            ..LoadOptions::default()
        };
        let err = load_bytes(&fixture(), Some("m.onnx"), &margin).expect_err("no margins");
        assert!(
            err.to_string()
                .contains("raw margins are not offered for ONNX")
        );
        let err = load_bytes(b"not onnx", Some("bad.onnx"), &LoadOptions::default())
            .expect_err("not onnx");
        assert!(
            err.to_string().starts_with("bad.onnx: not an ONNX model"),
            "{err}"
        );
    }

    #[cfg(not(feature = "onnx"))]
    #[test]
    fn without_the_feature_an_onnx_file_says_what_is_missing() {
        let err = load_bytes(&fixture(), Some("m.onnx"), &LoadOptions::default())
            .expect_err("no onnx feature");
        assert_eq!(
            err.to_string(),
            "m.onnx: ONNX models need scorewell built with the `onnx` cargo feature"
        );
    }

    /// A bundle at `dir/b.zip` made from `spec` (YAML) next to its artifacts in `dir`.
    #[cfg(feature = "onnx")]
    fn bundle(dir: &Path, spec: &str) -> Result<crate::Scorer, String> {
        std::fs::write(dir.join("spec.yaml"), spec).map_err(|e| e.to_string())?;
        let made = crate::bundle::create(&crate::bundle::CreateOptions {
            name: "onnx".into(),
            version: "1".into(),
            spec: Some(dir.join("spec.yaml")),
            ..Default::default()
        })
        .map_err(|e| e.to_string())?;
        made.write(&dir.join("b.zip")).map_err(|e| e.to_string())?;
        crate::load(dir.join("b.zip")).map_err(|e| e.to_string())
    }

    #[cfg(feature = "onnx")]
    fn case(name: &str) -> (std::path::PathBuf, serde_json::Value) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/conformance/onnx")
            .join(name);
        let data = std::fs::read_to_string(dir.join("data.json")).expect("case data");
        (
            dir.join("model.onnx"),
            serde_json::from_str(&data).expect("case json"),
        )
    }

    #[cfg(feature = "onnx")]
    fn rows(data: &serde_json::Value, input: &str) -> Vec<Vec<f64>> {
        let rows = data["inputs"][input].as_array().expect("rows");
        rows.iter()
            .map(|r| {
                r.as_array()
                    .expect("row")
                    .iter()
                    .map(|v| v.as_f64().expect("number"))
                    .collect()
            })
            .collect()
    }

    #[cfg(feature = "onnx")]
    fn list_batch(column: &str, rows: &[Vec<f64>]) -> arrow_array::RecordBatch {
        use arrow_array::types::Float64Type;
        let list = arrow_array::ListArray::from_iter_primitive::<Float64Type, _, _>(
            rows.iter()
                .map(|r| Some(r.iter().copied().map(Some).collect::<Vec<_>>())),
        );
        arrow_array::RecordBatch::try_from_iter([(
            column,
            std::sync::Arc::new(list) as arrow_array::ArrayRef,
        )])
        .expect("batch")
    }

    #[cfg(feature = "onnx")]
    fn column(batch: &arrow_array::RecordBatch, name: &str) -> Vec<f64> {
        use arrow_array::cast::AsArray;
        let col = batch
            .column_by_name(name)
            .unwrap_or_else(|| panic!("no column {name}"));
        col.as_primitive::<arrow_array::types::Float64Type>()
            .values()
            .to_vec()
    }

    #[cfg(feature = "onnx")]
    #[test]
    fn a_bundle_chains_an_onnx_model_into_a_tree_model_with_a_renamed_input() {
        // gemm_mlp: input `x` (6 values) read from column `feats`; outputs `score` (1 value)
        // and `probs` (3); a LightGBM stump on `score` after it.
        let (model, data) = case("gemm_mlp");
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::copy(&model, dir.path().join("m.onnx")).expect("copy");
        let want = data["outputs"]["score"].as_array().expect("scores");
        let want: Vec<f64> = want
            .iter()
            .map(|v| v[0].as_f64().expect("number"))
            .collect();
        let mut sorted = want.clone();
        sorted.sort_by(f64::total_cmp);
        let threshold = sorted[sorted.len() / 2];
        let stump = format!(
            "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\nmax_feature_idx=0\nobjective=regression\nfeature_names=score\nfeature_infos=[0:1]\ntree_sizes=100\n\nTree=0\nnum_leaves=2\nnum_cat=0\nsplit_feature=0\nsplit_gain=1\nthreshold={threshold}\ndecision_type=2\nleft_child=-1\nright_child=-2\nleaf_value=1 2\nleaf_weight=1 1\nleaf_count=1 1\ninternal_value=0\ninternal_weight=0\ninternal_count=2\nis_linear=0\nshrinkage=1\n\n\nend of trees\n"
        );
        std::fs::write(dir.path().join("stump.txt"), stump).expect("stump");
        let scorer = bundle(
            dir.path(),
            "inputs:\n  - {name: feats, type: vector}\nstages:\n  - kind: model\n    name: mlp\n    artifact: m.onnx\n    params: {inputs: {x: feats}}\n  - kind: model\n    name: risk\n    artifact: stump.txt\noutputs: [score, probs_0, probs_1, probs_2, prediction]\n",
        )
        .expect("bundle builds");
        let out = scorer
            .score(&list_batch("feats", &rows(&data, "x")))
            .expect("scores");
        let got = column(&out, "score");
        assert_eq!(got.len(), want.len());
        let leaves = column(&out, "prediction");
        for ((g, w), leaf) in got.iter().zip(&want).zip(&leaves) {
            assert!((g - w).abs() <= 1e-5 * (1.0 + w.abs()), "{g} vs {w}");
            assert_eq!(*leaf, if *g <= threshold { 1.0 } else { 2.0 });
        }
        assert!(
            leaves.contains(&1.0) && leaves.contains(&2.0),
            "both leaves: {leaves:?}"
        );
    }

    #[cfg(feature = "onnx")]
    #[test]
    fn an_onnx_bundle_stage_names_its_output_and_refuses_what_does_not_apply() {
        let (model, data) = case("tf_mlp");
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::copy(&model, dir.path().join("m.onnx")).expect("copy");
        let spec = |params: &str| {
            format!(
                "inputs:\n  - {{name: features, type: vector}}\nstages:\n  - kind: model\n    name: mlp\n    artifact: m.onnx\n    params: {params}\n"
            )
        };
        let scorer = bundle(dir.path(), &spec("{output: nn}")).expect("bundle builds");
        let out = scorer
            .score(&list_batch("features", &rows(&data, "features")))
            .expect("scores");
        let want = data["outputs"]["probs"].as_array().expect("probs");
        for j in 0..3 {
            for (g, w) in column(&out, &format!("nn_{j}")).iter().zip(want) {
                let w = w[j].as_f64().expect("number");
                assert!((g - w).abs() <= 1e-5 * (1.0 + w.abs()), "{g} vs {w}");
            }
        }
        for (params, message) in [
            ("{output_margin: true}", "an ONNX model has no margins"),
            ("{features: [a]}", "use `inputs` to rename"),
            ("{inputs: {nope: features}}", "`nope` is not a model input"),
        ] {
            let err = bundle(dir.path(), &spec(params)).expect_err(params);
            assert!(err.contains(message), "{params}: {err}");
        }
        // A multi-output graph's columns are named after its outputs; `output` is refused.
        let (two, _) = case("gemm_mlp");
        std::fs::copy(&two, dir.path().join("m.onnx")).expect("copy");
        let err = bundle(dir.path(), &spec("{output: nn}")).expect_err("two outputs");
        assert!(err.contains("this one has 2 outputs"), "{err}");
    }
}
