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

/// The most a member's declared size reserves up front; the rest grows as bytes arrive.
const FIRST_READ: u64 = 64 * 1024;

/// Reads one member, refusing one that declares more than `limit` bytes. The declared size is
/// not trusted further: it reserves at most [`FIRST_READ`] bytes, and a member that inflates
/// past it is refused one byte later, so a lying header cannot make us inflate more than it
/// admits to.
pub(crate) fn read_member(
    zip: &mut zip::ZipArchive<Cursor<&[u8]>>,
    name: &str,
    limit: u64,
) -> Result<Vec<u8>, KerasError> {
    let file = zip
        .by_name(name)
        .map_err(|_| KerasError::Archive(format!("the archive has no `{name}`")))?;
    let declared = file.size();
    if declared > limit {
        return Err(KerasError::Archive(format!(
            "`{name}` declares {declared} bytes, more than the {limit} allowed"
        )));
    }
    let mut out = Vec::with_capacity(usize::try_from(declared.min(FIRST_READ)).unwrap_or(0));
    file.take(declared.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| KerasError::Archive(format!("reading `{name}`: {e}")))?;
    if out.len() as u64 > declared {
        return Err(KerasError::Archive(format!(
            "`{name}` declares {declared} bytes but holds more"
        )));
    }
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

    /// Sets the uncompressed size `member` declares, in its local header and its central
    /// directory entry (both little-endian u32).
    fn forge_size(mut zip: Vec<u8>, member: &str, size: u32) -> Vec<u8> {
        let mut patched = 0;
        for at in 0..zip.len().saturating_sub(46) {
            let (name_len_at, name_at, size_at) = match &zip[at..at + 4] {
                b"PK\x03\x04" => (at + 26, at + 30, at + 22),
                b"PK\x01\x02" => (at + 28, at + 46, at + 24),
                _ => continue,
            };
            let n = u16::from_le_bytes([zip[name_len_at], zip[name_len_at + 1]]) as usize;
            if zip.get(name_at..name_at + n) == Some(member.as_bytes()) {
                zip[size_at..size_at + 4].copy_from_slice(&size.to_le_bytes());
                patched += 1;
            }
        }
        assert_eq!(
            patched, 2,
            "one local header and one central directory entry"
        );
        zip
    }

    /// Allocation discipline: a member's declared size is checked against the limit before
    /// anything is reserved, and a member holding more than it declares is refused rather
    /// than read on to the limit.
    #[test]
    fn forged_member_sizes_are_refused() {
        let weights = vec![7u8; 1000];
        let bytes =
            archive_from_parts(br#"{"class_name": "Sequential", "config": {}}"#, &weights).unwrap();
        let read = |bytes: &[u8], limit: u64| {
            let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
            read_member(&mut zip, WEIGHTS, limit)
        };
        let huge = forge_size(bytes.clone(), WEIGHTS, u32::MAX - 1);
        match read(&huge, 1 << 20) {
            Err(KerasError::Archive(m)) => assert_eq!(
                m,
                "`model.weights.h5` declares 4294967294 bytes, more than the 1048576 allowed"
            ),
            other => panic!("expected an archive error, got {other:?}"),
        }
        let small = forge_size(bytes, WEIGHTS, 10);
        match read(&small, 1 << 20) {
            Err(KerasError::Archive(m)) => {
                assert_eq!(m, "`model.weights.h5` declares 10 bytes but holds more")
            }
            other => panic!("expected an archive error, got {other:?}"),
        }
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
