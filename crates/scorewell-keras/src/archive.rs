//! One byte blob for a Keras model: the `.keras` archive layout (`config.json`,
//! `metadata.json`, `model.weights.h5`) built from an architecture JSON and its weights file.
//!
//! Teams ship `to_json()` output and the `save_weights` file as two byte strings. Every byte
//! path in scorewell (pickled Python scorers, Spark broadcasts, the per-process model cache
//! keyed by the bytes' digest) carries a single blob, so the pair is packed into the archive
//! layout the `.keras` loader already reads, instead of threading a second blob through all of
//! them. Members are stored, not deflated: weights do not compress, and packing stays a copy.

use std::io::{Cursor, Read, Write};

use serde_json::Value;

use crate::error::KerasError;

/// The members every `.keras` archive holds (Keras 3 `saving_lib`); `metadata.json` is optional.
const CONFIG: &str = "config.json";
const METADATA: &str = "metadata.json";
const WEIGHTS: &str = "model.weights.h5";

/// Packs `model.to_json()` output and its weights file (either layout: Keras 3
/// `.weights.h5` or Keras 2 `save_weights`) into `.keras` archive bytes. The JSON is parsed so
/// a wrong file fails here, naming the JSON, rather than later as a damaged archive; its
/// `keras_version`, when present, goes to `metadata.json`, where the archive loader reads the
/// version that decides version-dependent formulas (`hard_sigmoid`).
pub fn archive_from_parts(json: &[u8], weights: &[u8]) -> Result<Vec<u8>, KerasError> {
    let config: Value = serde_json::from_slice(json)
        .map_err(|e| KerasError::Config(format!("the architecture is not JSON: {e}")))?;
    if config.get("class_name").is_none() || config.get("config").is_none() {
        return Err(KerasError::Config(
            "the architecture JSON has no `class_name`/`config`; expected `model.to_json()` output"
                .into(),
        ));
    }
    let mut metadata = serde_json::Map::new();
    if let Some(v) = config.get("keras_version") {
        metadata.insert("keras_version".into(), v.clone());
    }
    let metadata = Value::Object(metadata).to_string();
    let store =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::with_capacity(
        json.len() + weights.len() + 1024,
    )));
    let io = |e: std::io::Error| KerasError::Archive(format!("packing: {e}"));
    let member = |e: zip::result::ZipError| KerasError::Archive(format!("packing: {e}"));
    for (name, bytes) in [
        (CONFIG, json),
        (METADATA, metadata.as_bytes()),
        (WEIGHTS, weights),
    ] {
        // Archives over 4 GiB need zip64 records.
        let options = store.large_file(bytes.len() as u64 >= u64::from(u32::MAX));
        zip.start_file(name, options).map_err(member)?;
        zip.write_all(bytes).map_err(io)?;
    }
    Ok(zip.finish().map_err(member)?.into_inner())
}

/// True when `bytes` are a zip holding a Keras model (`config.json` and `model.weights.h5`).
/// A scorewell bundle is a zip too; it holds a manifest instead.
pub fn is_keras_archive(bytes: &[u8]) -> bool {
    let Ok(mut zip) = zip::ZipArchive::new(Cursor::new(bytes)) else {
        return false;
    };
    let has = |zip: &mut zip::ZipArchive<_>, name: &str| zip.by_name(name).is_ok();
    has(&mut zip, CONFIG) && has(&mut zip, WEIGHTS)
}

/// Reads one member, refusing one that declares more than `limit` bytes; `take` bounds what a
/// lying header can make us inflate.
pub(crate) fn read_member(
    zip: &mut zip::ZipArchive<Cursor<&[u8]>>,
    name: &str,
    limit: u64,
) -> Result<Vec<u8>, KerasError> {
    let file = zip
        .by_name(name)
        .map_err(|_| KerasError::Archive(format!("the archive has no `{name}`")))?;
    if file.size() > limit {
        return Err(KerasError::Archive(format!(
            "`{name}` declares {} bytes, more than the {limit} allowed",
            file.size()
        )));
    }
    let mut out = Vec::with_capacity(usize::try_from(file.size()).unwrap_or(0));
    file.take(limit)
        .read_to_end(&mut out)
        .map_err(|e| KerasError::Archive(format!("reading `{name}`: {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_parts_read_back_as_an_archive() {
        let json = br#"{"class_name": "Sequential", "config": {}, "keras_version": "2.15.0"}"#;
        let bytes = archive_from_parts(json, b"\x89HDF weights").unwrap();
        assert!(is_keras_archive(&bytes));
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes.as_slice())).unwrap();
        assert_eq!(read_member(&mut zip, CONFIG, 1 << 20).unwrap(), json);
        assert_eq!(
            read_member(&mut zip, WEIGHTS, 1 << 20).unwrap(),
            b"\x89HDF weights"
        );
        let meta: Value =
            serde_json::from_slice(&read_member(&mut zip, METADATA, 1 << 20).unwrap()).unwrap();
        assert_eq!(meta["keras_version"], "2.15.0");
        // A member over the limit is refused by its declared size.
        assert!(read_member(&mut zip, WEIGHTS, 4).is_err());
    }

    #[test]
    fn a_non_keras_json_is_refused_by_name() {
        let err = archive_from_parts(br#"{"learner": {}}"#, b"").unwrap_err();
        assert!(err.to_string().contains("model.to_json()"), "{err}");
        let err = archive_from_parts(b"not json", b"").unwrap_err();
        assert!(err.to_string().contains("not JSON"), "{err}");
        assert!(!is_keras_archive(b"PK\x03\x04 truncated"));
    }
}
