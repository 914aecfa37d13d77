//! [`Bundle`]: an opened bundle — its manifest and its files — and checksum verification.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::error::BundleError;
use crate::files::{Files, Limits, safe_name};
use crate::manifest::{MANIFEST_FILE, Manifest};

/// The zip local-file-header magic: how bytes are recognised as a zipped bundle.
pub const ZIP_MAGIC: &[u8] = b"PK\x03\x04";

/// Whether `path` is a bundle: a directory with `scorewell.json`, or a zip archive.
pub fn is_bundle(path: &Path) -> bool {
    if path.is_dir() {
        return path.join(MANIFEST_FILE).is_file();
    }
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .is_ok_and(|()| magic == ZIP_MAGIC)
}

/// An opened bundle. Opening parses the manifest; artifacts are checked against their
/// checksums when read.
#[derive(Debug, Clone)]
pub struct Bundle {
    manifest: Manifest,
    files: Files,
    limits: Limits,
}

/// The outcome of [`Bundle::verify`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Artifacts whose checksums matched, with their sizes.
    pub verified: Vec<(String, u64)>,
    /// Files in the bundle that the manifest does not list (harmless: never read).
    pub unlisted: Vec<String>,
}

impl Bundle {
    /// Open a bundle directory or zip file.
    pub fn open(path: &Path) -> Result<Self, BundleError> {
        Self::open_with(path, Limits::default())
    }

    /// Open a bundle directory or zip file with explicit size limits.
    pub fn open_with(path: &Path, limits: Limits) -> Result<Self, BundleError> {
        if path.is_dir() {
            return Self::from_files(Files::dir(path), limits);
        }
        let bytes = std::fs::read(path).map_err(|source| BundleError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_bytes_with(&bytes, limits)
    }

    /// Open a zipped bundle held in memory.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, BundleError> {
        Self::from_bytes_with(bytes, Limits::default())
    }

    /// Open a zipped bundle held in memory with explicit size limits.
    pub fn from_bytes_with(bytes: &[u8], limits: Limits) -> Result<Self, BundleError> {
        Self::from_files(Files::zip(bytes, &limits)?, limits)
    }

    /// Open a bundle whose files are already in memory: bundle paths (`/`-separated, relative
    /// to the bundle root) to contents, e.g. a bundle directory read whole. Paths and sizes
    /// are checked as for a zip archive.
    pub fn from_entries(entries: BTreeMap<String, Arc<[u8]>>) -> Result<Self, BundleError> {
        Self::from_entries_with(entries, Limits::default())
    }

    /// [`Bundle::from_entries`] with explicit size limits.
    pub fn from_entries_with(
        entries: BTreeMap<String, Arc<[u8]>>,
        limits: Limits,
    ) -> Result<Self, BundleError> {
        Self::from_files(Files::entries(entries, &limits)?, limits)
    }

    /// A bundle from a manifest and files already in hand (used by `bundle create`).
    pub(crate) fn from_parts(manifest: Manifest, files: Files, limits: Limits) -> Self {
        Self {
            manifest,
            files,
            limits,
        }
    }

    fn from_files(files: Files, limits: Limits) -> Result<Self, BundleError> {
        let manifest_bytes = files.read(MANIFEST_FILE, &limits).map_err(|e| match e {
            BundleError::MissingArtifact(_) => BundleError::NoManifest,
            other => other,
        })?;
        let manifest = Manifest::from_json(&manifest_bytes)?;
        for name in manifest.artifacts.keys() {
            safe_name(name).map_err(|reason| BundleError::Manifest {
                path: format!("artifacts.{name}"),
                message: reason,
            })?;
        }
        Ok(Self {
            manifest,
            files,
            limits,
        })
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Read an artifact and check it against the manifest's checksum.
    pub fn artifact(&self, name: &str) -> Result<Arc<[u8]>, BundleError> {
        let spec =
            self.manifest
                .artifacts
                .get(name)
                .ok_or_else(|| BundleError::UnlistedArtifact {
                    at: "artifacts".into(),
                    artifact: name.to_string(),
                })?;
        let bytes = self.files.read(name, &self.limits)?;
        let actual = sha256_hex(&bytes);
        if actual != spec.sha256 {
            return Err(BundleError::Checksum {
                artifact: name.to_string(),
                expected: spec.sha256.clone(),
                actual,
            });
        }
        Ok(bytes)
    }

    /// Check every artifact against its checksum; the first mismatch is the error.
    pub fn verify(&self) -> Result<VerifyReport, BundleError> {
        let mut report = VerifyReport::default();
        for name in self.manifest.artifacts.keys() {
            let bytes = self.artifact(name)?;
            report.verified.push((name.clone(), bytes.len() as u64));
        }
        report.unlisted = self
            .files
            .list()?
            .into_iter()
            .filter(|f| f != MANIFEST_FILE && !self.manifest.artifacts.contains_key(f))
            .collect();
        Ok(report)
    }

    /// The bundle as a zip archive in memory: the manifest and every listed artifact, in a
    /// fixed order with fixed timestamps, so equal bundles give equal bytes (and digests).
    pub fn to_zip_bytes(&self) -> Result<Vec<u8>, BundleError> {
        let mut files = vec![(
            MANIFEST_FILE.to_string(),
            self.files.read(MANIFEST_FILE, &self.limits)?,
        )];
        for name in self.manifest.artifacts.keys() {
            files.push((name.clone(), self.artifact(name)?));
        }
        write_zip(files.iter().map(|(n, b)| (n.as_str(), &b[..])))
    }
}

/// Write `files` (bundle path, bytes) as a deterministic deflate-compressed zip.
pub(crate) fn write_zip<'a>(
    files: impl Iterator<Item = (&'a str, &'a [u8])>,
) -> Result<Vec<u8>, BundleError> {
    let zip_error = |e: zip::result::ZipError| BundleError::Zip(e.to_string());
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644)
        .large_file(false);
    for (name, bytes) in files {
        let options = if bytes.len() as u64 >= u32::MAX as u64 {
            options.large_file(true)
        } else {
            options
        };
        out.start_file(name, options).map_err(zip_error)?;
        out.write_all(bytes).map_err(|source| BundleError::Io {
            path: name.to_string(),
            source,
        })?;
    }
    Ok(out.finish().map_err(zip_error)?.into_inner())
}

/// sha256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}
