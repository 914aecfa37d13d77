//! Reading a bundle's files from a directory or a zip archive, defensively.
//!
//! Zip archives are read into memory (bundles hold models, not datasets) and never extracted
//! to disk, so no entry name can write anywhere. Entry names that are absolute or climb out
//! of the root, symlinks, encrypted entries and archives with too many entries are refused
//! before any bytes are read. Sizes are bounded three ways: per file, in total, and by
//! expansion: an entry may expand at most [`Limits::max_ratio`] times its compressed size,
//! and the whole archive at most that many times its real length. The sizes a zip header
//! declares are not trusted, for allocation or otherwise: a compressed size is capped by the
//! archive's real length, and reads stop one byte past whichever limit is nearest, whatever
//! the header says.
//!
//! Directory bundles are read file by file on demand; a path with a symbolic link in any of
//! its components is refused, and the files read count against the same limits.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::error::BundleError;

/// Size limits for reading bundles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest single file, in bytes (default 512 MiB).
    pub max_entry_bytes: u64,
    /// Largest total of all files read, in bytes (default 1 GiB).
    pub max_total_bytes: u64,
    /// Largest expansion ratio of a zip entry over its compressed size, and of a whole zip
    /// archive over its length; entries and archives expanding to at most 1 MiB are exempt
    /// (default 200).
    pub max_ratio: u64,
    /// Most entries in an archive or files in a bundle (default 100,000: a model set of
    /// 10,000 per-key models and more fits; each entry costs a name and a header).
    pub max_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_entry_bytes: 512 << 20,
            max_total_bytes: 1 << 30,
            max_ratio: 200,
            max_entries: 100_000,
        }
    }
}

/// Expansion below this size is never refused for its ratio: tiny files of zeros compress
/// extremely well and are harmless.
const RATIO_FLOOR: u64 = 1 << 20;

/// Where a bundle's files live.
#[derive(Debug, Clone)]
pub(crate) enum Files {
    /// A directory on disk, read file by file on demand.
    Dir {
        /// The bundle root.
        root: PathBuf,
        /// Bytes read so far per file, for the total-size limit.
        read: Arc<Mutex<BTreeMap<String, u64>>>,
    },
    /// An archive's entries, decompressed into memory.
    Zip(Arc<BTreeMap<String, Arc<[u8]>>>),
}

/// The most bytes one zip entry may expand to, and the limit that sets it.
struct Budget {
    bytes: u64,
    reason: String,
}

impl Budget {
    /// The nearest of the per-file, total and expansion limits for an entry whose compressed
    /// data is at most `compressed` bytes, with `total` bytes already expanded from an
    /// archive of `archive_len` bytes.
    fn for_entry(limits: &Limits, compressed: u64, total: u64, archive_len: u64) -> Self {
        let ratio = |n: u64| n.saturating_mul(limits.max_ratio).max(RATIO_FLOOR);
        let candidates = [
            (
                limits.max_entry_bytes,
                format!(
                    "is over the size limit of {} bytes per file",
                    limits.max_entry_bytes
                ),
            ),
            (
                limits.max_total_bytes.saturating_sub(total),
                format!(
                    "takes the bundle over its size limit of {} bytes",
                    limits.max_total_bytes
                ),
            ),
            (
                ratio(compressed),
                format!(
                    "expands more than {}× its compressed size of {compressed} bytes",
                    limits.max_ratio
                ),
            ),
            (
                ratio(archive_len).saturating_sub(total),
                format!(
                    "expands the archive past {}× its length of {archive_len} bytes",
                    limits.max_ratio
                ),
            ),
        ];
        let (bytes, reason) = candidates
            .into_iter()
            .min_by_key(|(bytes, _)| *bytes)
            .unwrap_or((0, String::new()));
        Self { bytes, reason }
    }
}

/// Entries are read into a buffer that starts at most this large and grows with the data
/// actually decompressed, never with the size a header claims.
const FIRST_READ: u64 = 64 * 1024;

impl Files {
    /// A directory bundle rooted at `root`.
    pub(crate) fn dir(root: &Path) -> Self {
        Files::Dir {
            root: root.to_path_buf(),
            read: Arc::default(),
        }
    }

    /// Read a zip archive held in memory.
    pub(crate) fn zip(bytes: &[u8], limits: &Limits) -> Result<Self, BundleError> {
        let zip_error = |e: zip::result::ZipError| BundleError::Zip(e.to_string());
        let archive_len = bytes.len() as u64;
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(zip_error)?;
        if archive.len() > limits.max_entries {
            return Err(too_many_entries(archive.len(), limits));
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
            // The compressed data lies inside the archive, whatever the header claims.
            let compressed = entry.compressed_size().min(archive_len);
            let budget = Budget::for_entry(limits, compressed, total, archive_len);
            let declared = entry.size();
            if declared > budget.bytes {
                return Err(refuse(format!(
                    "{} (it declares {declared} bytes)",
                    budget.reason
                )));
            }
            // The header's size may lie: read at most one byte past the budget and check.
            let mut data = Vec::with_capacity(declared.min(FIRST_READ) as usize);
            (&mut entry)
                .take(budget.bytes + 1)
                .read_to_end(&mut data)
                .map_err(|e| refuse(format!("cannot decompress: {e}")))?;
            let actual = data.len() as u64;
            if actual > budget.bytes {
                return Err(refuse(format!(
                    "{} (it holds more than {} bytes)",
                    budget.reason, budget.bytes
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

    /// Files already in memory, checked like a zip archive's entries.
    pub(crate) fn entries(
        entries: BTreeMap<String, Arc<[u8]>>,
        limits: &Limits,
    ) -> Result<Self, BundleError> {
        if entries.len() > limits.max_entries {
            return Err(too_many_entries(entries.len(), limits));
        }
        let mut total = 0u64;
        let mut checked = BTreeMap::new();
        for (raw, data) in entries {
            let refuse = |reason: String| BundleError::UnsafeEntry {
                entry: raw.clone(),
                reason,
            };
            let name = safe_name(&raw).map_err(refuse)?;
            let size = data.len() as u64;
            total += size;
            if size > limits.max_entry_bytes || total > limits.max_total_bytes {
                return Err(refuse(size_reason(size, limits)));
            }
            if checked.insert(name, data).is_some() {
                return Err(refuse("the bundle holds this name twice".into()));
            }
        }
        Ok(Files::Zip(Arc::new(checked)))
    }

    /// Read one file by its bundle path (already checked with [`safe_name`]).
    pub(crate) fn read(&self, name: &str, limits: &Limits) -> Result<Arc<[u8]>, BundleError> {
        match self {
            Files::Zip(entries) => entries
                .get(name)
                .cloned()
                .ok_or_else(|| BundleError::MissingArtifact(name.to_string())),
            Files::Dir { root, read } => read_dir_file(root, name, limits, read),
        }
    }

    /// Every file's bundle path, sorted (for `verify`'s unlisted-file report and for zipping
    /// a directory).
    pub(crate) fn list(&self) -> Result<Vec<String>, BundleError> {
        match self {
            Files::Zip(entries) => Ok(entries.keys().cloned().collect()),
            Files::Dir { root, .. } => {
                let mut out = Vec::new();
                walk(root, root, &mut out)?;
                out.sort();
                Ok(out)
            }
        }
    }
}

fn size_reason(size: u64, limits: &Limits) -> String {
    format!("{size} bytes is {}", size_reason_tail(limits))
}

fn size_reason_tail(limits: &Limits) -> String {
    format!(
        "over the size limit ({} bytes per file, {} in all)",
        limits.max_entry_bytes, limits.max_total_bytes
    )
}

pub(crate) fn too_many_entries(count: usize, limits: &Limits) -> BundleError {
    BundleError::TooManyEntries {
        count,
        limit: limits.max_entries,
    }
}

/// Read `name` under `root`, refusing a symbolic link in any component of the path and
/// bytes past the per-file or total limit. `read` holds the sizes of the files read before.
fn read_dir_file(
    root: &Path,
    name: &str,
    limits: &Limits,
    read: &Mutex<BTreeMap<String, u64>>,
) -> Result<Arc<[u8]>, BundleError> {
    let io = |path: &Path, source: std::io::Error| {
        if source.kind() == std::io::ErrorKind::NotFound {
            BundleError::MissingArtifact(name.to_string())
        } else {
            BundleError::Io {
                path: path.display().to_string(),
                source,
            }
        }
    };
    let unsafe_entry = |reason: String| BundleError::UnsafeEntry {
        entry: name.to_string(),
        reason,
    };
    let mut path = root.to_path_buf();
    let parts: Vec<&str> = name.split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        path.push(part);
        let meta = std::fs::symlink_metadata(&path).map_err(|e| io(&path, e))?;
        if meta.file_type().is_symlink() {
            return Err(unsafe_entry(if i + 1 == parts.len() {
                "symbolic links are not allowed in bundles".into()
            } else {
                format!(
                    "`{}` is a symbolic link; bundles may not hold any",
                    parts[..=i].join("/")
                )
            }));
        }
    }
    let others: u64 = read
        .lock()
        .map(|r| r.iter().filter(|(k, _)| *k != name).map(|(_, n)| n).sum())
        .unwrap_or(0);
    let budget = limits
        .max_entry_bytes
        .min(limits.max_total_bytes.saturating_sub(others));
    let file = std::fs::File::open(&path).map_err(|e| io(&path, e))?;
    let mut data = Vec::new();
    file.take(budget + 1)
        .read_to_end(&mut data)
        .map_err(|e| io(&path, e))?;
    let size = data.len() as u64;
    if size > budget {
        return Err(unsafe_entry(format!(
            "more than {budget} bytes: {}",
            size_reason_tail(limits)
        )));
    }
    if let Ok(mut r) = read.lock() {
        r.insert(name.to_string(), size);
    }
    Ok(Arc::from(data))
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
