//! The on-disk cache of fetched models.
//!
//! Layout: `<cache dir>/<sha256(url), 32 hex>/` holds `entry.json` (URL, ETag, size, sha256)
//! and one folder per content digest holding the model under its own file name. A version is
//! written to a temporary file, verified, renamed into its digest folder, and only then does
//! `entry.json` (itself renamed into place) point at it: readers see the old version or the
//! new one, never part of one, and two processes filling the same entry cannot mix one's
//! ETag with the other's bytes.

#![cfg_attr(not(feature = "remote"), allow(dead_code))]

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::SourceError;
use crate::location::redact;
use crate::pin::hex;

/// The cache directory used when none is given: `SCOREWELL_CACHE_DIR`; on AWS Lambda `/tmp`
/// (the only writable place); else `$XDG_CACHE_HOME/scorewell`, `~/.cache/scorewell`, or the
/// system temporary directory.
pub fn default_cache_dir() -> PathBuf {
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    if let Some(dir) = var("SCOREWELL_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    if var("AWS_LAMBDA_FUNCTION_NAME").is_some() {
        return PathBuf::from("/tmp/scorewell-cache");
    }
    if let Some(xdg) = var("XDG_CACHE_HOME") {
        return PathBuf::from(xdg).join("scorewell");
    }
    if let Some(home) = var("HOME") {
        return PathBuf::from(home).join(".cache").join("scorewell");
    }
    std::env::temp_dir().join("scorewell-cache")
}

/// What the cache knows about the version it holds for one URL.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Meta {
    pub url: String,
    pub etag: Option<String>,
    pub size: u64,
    pub sha256: String,
}

/// One URL's place in the cache.
#[derive(Debug)]
pub(crate) struct Entry {
    dir: PathBuf,
    name: String,
    url: String,
}

impl Entry {
    /// The entry for `url` under `cache_dir` (created if missing).
    pub fn for_url(cache_dir: &Path, url: &str) -> Result<Self, SourceError> {
        let key = hex(&Sha256::digest(url.as_bytes()))[..32].to_string();
        let dir = cache_dir.join(key);
        std::fs::create_dir_all(&dir).map_err(|source| SourceError::Io {
            path: dir.clone(),
            source,
        })?;
        let name = url
            .rsplit('/')
            .next()
            .filter(|n| !n.is_empty() && *n != "." && *n != "..")
            .unwrap_or("model")
            .to_string();
        Ok(Self {
            dir,
            name,
            url: url.to_string(),
        })
    }

    /// The folder partial downloads are written in (same file system as the final place, so
    /// the rename is atomic).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the version with digest `sha256` lives.
    pub fn file(&self, sha256: &str) -> PathBuf {
        self.dir.join(sha256).join(&self.name)
    }

    /// The version held now, if its file is intact (present, with the recorded size).
    pub fn current(&self) -> Option<Meta> {
        let text = std::fs::read(self.dir.join("entry.json")).ok()?;
        let meta: Meta = serde_json::from_slice(&text).ok()?;
        let len = std::fs::metadata(self.file(&meta.sha256)).ok()?.len();
        (meta.url == self.url && len == meta.size).then_some(meta)
    }

    /// Move the verified download `tmp` into place as the current version, then drop older
    /// versions.
    pub fn commit(
        &self,
        tmp: tempfile::NamedTempFile,
        meta: &Meta,
    ) -> Result<PathBuf, SourceError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| SourceError::Io { path, source }
        };
        let version_dir = self.dir.join(&meta.sha256);
        std::fs::create_dir_all(&version_dir).map_err(io(&version_dir))?;
        let file = self.file(&meta.sha256);
        tmp.persist(&file).map_err(|e| SourceError::Io {
            path: file.clone(),
            source: e.error,
        })?;
        let mut entry = tempfile::NamedTempFile::new_in(&self.dir).map_err(io(&self.dir))?;
        let json = serde_json::to_vec_pretty(meta).map_err(|e| SourceError::Remote {
            url: redact(&self.url),
            detail: format!("cannot record the cache entry: {e}"),
        })?;
        entry.write_all(&json).map_err(io(entry.path()))?;
        let entry_path = self.dir.join("entry.json");
        entry.persist(&entry_path).map_err(|e| SourceError::Io {
            path: entry_path,
            source: e.error,
        })?;
        self.prune(&meta.sha256);
        Ok(file)
    }

    /// Remove versions other than `keep`. Best effort: a file another process still has open
    /// stays readable to it (unlinking does not cut off open handles).
    fn prune(&self, keep: &str) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            let is_version = name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit());
            if is_version && name != keep {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_committed_version_is_current_and_replaces_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let entry = Entry::for_url(dir.path(), "s3://b/m.json").unwrap();
        assert!(entry.current().is_none());
        let put = |bytes: &[u8], sha: &str| {
            let mut tmp = tempfile::NamedTempFile::new_in(entry.dir()).unwrap();
            tmp.write_all(bytes).unwrap();
            let meta = Meta {
                url: "s3://b/m.json".into(),
                etag: Some("e".into()),
                size: bytes.len() as u64,
                sha256: sha.into(),
            };
            entry.commit(tmp, &meta).unwrap()
        };
        let a = put(b"one", &"aa".repeat(32));
        assert!(a.ends_with("m.json"));
        assert_eq!(entry.current().unwrap().sha256, "aa".repeat(32));
        let b = put(b"two!", &"bb".repeat(32));
        assert_eq!(std::fs::read(&b).unwrap(), b"two!");
        assert!(!a.exists(), "the old version is pruned");
        // A file whose size no longer matches the record is not used.
        std::fs::write(&b, b"tw").unwrap();
        assert!(entry.current().is_none());
    }

    #[test]
    fn entries_are_per_url_and_named_after_the_object() {
        let dir = tempfile::tempdir().unwrap();
        let a = Entry::for_url(dir.path(), "s3://b/x/model.ubj").unwrap();
        let b = Entry::for_url(dir.path(), "gs://b/x/model.ubj").unwrap();
        assert_ne!(a.dir(), b.dir());
        assert!(a.file("00").ends_with("00/model.ubj"));
    }
}
