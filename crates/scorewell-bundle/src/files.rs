//! Reading a bundle's files from a directory or a zip archive, defensively.
//!
//! Zip archives are read into memory (bundles hold models, not datasets) and never extracted
//! to disk, so no entry name can write anywhere. Entry names that are absolute or climb out
//! of the root, symlinks, encrypted entries, entries whose expansion ratio or size is absurd
//! and archives whose total size passes a limit are refused before their bytes are read; the
//! sizes a zip declares are not trusted: reads stop at the limit whatever the header says.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use crate::error::BundleError;

/// Size limits for reading bundles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest single file, in bytes (default 2 GiB).
    pub max_entry_bytes: u64,
    /// Largest total of all files, in bytes (default 4 GiB).
    pub max_total_bytes: u64,
    /// Largest expansion ratio of a compressed entry over 1 MiB (default 200).
    pub max_ratio: u64,
    /// Most entries in an archive (default 10,000).
    pub max_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_entry_bytes: 2 << 30,
            max_total_bytes: 4 << 30,
            max_ratio: 200,
            max_entries: 10_000,
        }
    }
}

/// Entries smaller than this are never refused for their ratio: tiny files of zeros
/// compress extremely well and are harmless.
const RATIO_FLOOR: u64 = 1 << 20;

/// Where a bundle's files live.
#[derive(Debug, Clone)]
pub(crate) enum Files {
    /// A directory on disk, read file by file on demand.
    Dir(PathBuf),
    /// An archive's entries, decompressed into memory.
    Zip(Arc<BTreeMap<String, Arc<[u8]>>>),
}

impl Files {
    /// Read a zip archive held in memory.
    pub(crate) fn zip(bytes: &[u8], limits: &Limits) -> Result<Self, BundleError> {
        let zip_error = |e: zip::result::ZipError| BundleError::Zip(e.to_string());
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(zip_error)?;
        if archive.len() > limits.max_entries {
            return Err(BundleError::Zip(format!(
                "{} entries (limit {})",
                archive.len(),
                limits.max_entries
            )));
        }
        let mut entries = BTreeMap::new();
        let mut total = 0u64;
        for i in 0..archive.len() {
            let mut entry = archive.by_index(i).map_err(zip_error)?;
            let raw = entry.name().to_string();
            let refuse = |reason: String| BundleError::UnsafeEntry {
                entry: raw.clone(),
                reason,
            };
            if entry.is_dir() {
                continue;
            }
            if entry.is_symlink() {
                return Err(refuse("symbolic links are not allowed in bundles".into()));
            }
            if entry.encrypted() {
                return Err(refuse("encrypted entries are not supported".into()));
            }
            let name = safe_name(&raw).map_err(refuse)?;
            let declared = entry.size();
            let compressed = entry.compressed_size().max(1);
            if declared > RATIO_FLOOR && declared / compressed > limits.max_ratio {
                return Err(refuse(format!(
                    "expands {}× ({} → {} bytes; limit {}×)",
                    declared / compressed,
                    compressed,
                    declared,
                    limits.max_ratio
                )));
            }
            let budget = limits
                .max_entry_bytes
                .min(limits.max_total_bytes.saturating_sub(total));
            if declared > budget {
                return Err(refuse(size_reason(declared, limits)));
            }
            // The header's size may lie: read at most one byte past the budget and check.
            let mut data = Vec::with_capacity(declared.min(budget) as usize);
            (&mut entry)
                .take(budget + 1)
                .read_to_end(&mut data)
                .map_err(|e| refuse(format!("cannot decompress: {e}")))?;
            let actual = data.len() as u64;
            if actual > budget {
                return Err(refuse(size_reason(actual, limits)));
            }
            if actual > RATIO_FLOOR && actual / compressed > limits.max_ratio {
                return Err(refuse(format!(
                    "expands more than {}× its compressed size",
                    limits.max_ratio
                )));
            }
            total += actual;
            if entries.insert(name.clone(), Arc::from(data)).is_some() {
                return Err(refuse("the archive holds this name twice".into()));
            }
        }
        // A zip made by zipping the bundle's folder has every path under one top directory.
        let entries = strip_common_folder(entries);
        Ok(Files::Zip(Arc::new(entries)))
    }

    /// Read one file by its bundle path (already checked with [`safe_name`]).
    pub(crate) fn read(&self, name: &str, limits: &Limits) -> Result<Arc<[u8]>, BundleError> {
        match self {
            Files::Zip(entries) => entries
                .get(name)
                .cloned()
                .ok_or_else(|| BundleError::MissingArtifact(name.to_string())),
            Files::Dir(root) => {
                let path = root.join(name);
                let meta = std::fs::symlink_metadata(&path).map_err(|source| {
                    if source.kind() == std::io::ErrorKind::NotFound {
                        BundleError::MissingArtifact(name.to_string())
                    } else {
                        BundleError::Io {
                            path: path.display().to_string(),
                            source,
                        }
                    }
                })?;
                if meta.file_type().is_symlink() {
                    return Err(BundleError::UnsafeEntry {
                        entry: name.to_string(),
                        reason: "symbolic links are not allowed in bundles".into(),
                    });
                }
                if meta.len() > limits.max_entry_bytes {
                    return Err(BundleError::UnsafeEntry {
                        entry: name.to_string(),
                        reason: size_reason(meta.len(), limits),
                    });
                }
                std::fs::read(&path)
                    .map(Arc::from)
                    .map_err(|source| BundleError::Io {
                        path: path.display().to_string(),
                        source,
                    })
            }
        }
    }

    /// Every file's bundle path, sorted (for `verify`'s unlisted-file report and for zipping
    /// a directory).
    pub(crate) fn list(&self) -> Result<Vec<String>, BundleError> {
        match self {
            Files::Zip(entries) => Ok(entries.keys().cloned().collect()),
            Files::Dir(root) => {
                let mut out = Vec::new();
                walk(root, root, &mut out)?;
                out.sort();
                Ok(out)
            }
        }
    }
}

fn size_reason(size: u64, limits: &Limits) -> String {
    format!(
        "{size} bytes is over the size limit ({} bytes per file, {} in all)",
        limits.max_entry_bytes, limits.max_total_bytes
    )
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<(), BundleError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| BundleError::Io { path, source }
    };
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(io(&path))?;
        let rel = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        if kind.is_symlink() {
            return Err(BundleError::UnsafeEntry {
                entry: rel,
                reason: "symbolic links are not allowed in bundles".into(),
            });
        } else if kind.is_dir() {
            walk(root, &path, out)?;
        } else {
            out.push(rel);
        }
    }
    Ok(())
}

/// Check that `name` is a plain relative path inside the bundle and normalise it to
/// `/`-separated form.
pub(crate) fn safe_name(name: &str) -> Result<String, String> {
    if name.contains('\\') {
        return Err("backslashes are not allowed in bundle paths".into());
    }
    if name.contains('\0') {
        return Err("NUL bytes are not allowed in bundle paths".into());
    }
    let mut parts = Vec::new();
    for component in Path::new(name).components() {
        match component {
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            Component::CurDir => {}
            Component::ParentDir => return Err("the path climbs out of the bundle (`..`)".into()),
            Component::RootDir | Component::Prefix(_) => {
                return Err("absolute paths are not allowed in bundles".into());
            }
        }
    }
    if parts.is_empty() {
        return Err("empty path".into());
    }
    Ok(parts.join("/"))
}

fn strip_common_folder(entries: BTreeMap<String, Arc<[u8]>>) -> BTreeMap<String, Arc<[u8]>> {
    if entries.contains_key(crate::manifest::MANIFEST_FILE) {
        return entries;
    }
    let Some(first) = entries.keys().next() else {
        return entries;
    };
    let Some((folder, _)) = first.split_once('/') else {
        return entries;
    };
    let prefix = format!("{folder}/");
    if !entries.keys().all(|k| k.starts_with(&prefix)) {
        return entries;
    }
    entries
        .into_iter()
        .map(|(k, v)| (k[prefix.len()..].to_string(), v))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_names_stay_inside_the_root() {
        assert_eq!(safe_name("models/./m.json").unwrap(), "models/m.json");
        for bad in ["../x", "a/../../x", "/etc/passwd", "a\\b", ""] {
            assert!(safe_name(bad).is_err(), "{bad}");
        }
    }
}
