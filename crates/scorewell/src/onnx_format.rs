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
}
