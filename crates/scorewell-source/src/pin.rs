//! `sha256` pins: a model is checked against one before it is parsed.

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::SourceError;

/// An expected sha256, as 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sha256Pin(String);

impl Sha256Pin {
    /// Parse `<hex>` or `sha256:<hex>` (either case).
    pub fn parse(s: &str) -> Result<Self, SourceError> {
        let t = s.trim();
        let hex = t
            .strip_prefix("sha256:")
            .or_else(|| t.strip_prefix("SHA256:"))
            .unwrap_or(t);
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(SourceError::BadPin { pin: s.to_string() });
        }
        Ok(Self(hex.to_ascii_lowercase()))
    }

    /// The digest, lowercase hex.
    pub fn hex(&self) -> &str {
        &self.0
    }

    /// Refuse `actual` (lowercase hex) unless it is this digest.
    pub fn check(&self, url: &str, actual: &str) -> Result<(), SourceError> {
        if self.0 == actual {
            Ok(())
        } else {
            Err(SourceError::DigestMismatch {
                url: url.to_string(),
                expected: self.0.clone(),
                actual: actual.to_string(),
            })
        }
    }
}

impl std::str::FromStr for Sha256Pin {
    type Err = SourceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// The sha256 of the file at `path`, lowercase hex.
pub(crate) fn hash_file(path: &Path) -> Result<String, SourceError> {
    let io = |source| SourceError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// Hash the local file at `path` and check every pin; returns the digest.
pub(crate) fn check_file(
    path: &Path,
    shown: &str,
    pins: &[&Sha256Pin],
) -> Result<String, SourceError> {
    if path.is_dir() {
        return Err(SourceError::PinOnDirectory {
            path: path.to_path_buf(),
        });
    }
    let actual = hash_file(path)?;
    for pin in pins {
        pin.check(shown, &actual)?;
    }
    Ok(actual)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_parse_with_or_without_prefix_and_check() {
        let hex = "0f".repeat(32);
        let a = Sha256Pin::parse(&format!("sha256:{}", hex.to_uppercase())).unwrap();
        assert_eq!(a, Sha256Pin::parse(&hex).unwrap());
        assert!(a.check("u", &hex).is_ok());
        let err = a.check("s3://b/m", &"00".repeat(32)).unwrap_err();
        assert!(
            err.to_string().starts_with("s3://b/m: sha256 mismatch"),
            "{err}"
        );
        assert!(Sha256Pin::parse("md5:abc").is_err());
        assert!(Sha256Pin::parse(&"g".repeat(64)).is_err());
    }

    #[test]
    fn local_files_are_checked_and_directories_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("m.json");
        std::fs::write(&file, b"abc").unwrap();
        // sha256("abc")
        let good =
            Sha256Pin::parse("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
                .unwrap();
        assert_eq!(check_file(&file, "m", &[&good]).unwrap(), good.hex());
        let bad = Sha256Pin::parse(&"11".repeat(32)).unwrap();
        assert!(matches!(
            check_file(&file, "m", &[&good, &bad]),
            Err(SourceError::DigestMismatch { .. })
        ));
        assert!(matches!(
            check_file(dir.path(), "d", &[&good]),
            Err(SourceError::PinOnDirectory { .. })
        ));
    }
}
