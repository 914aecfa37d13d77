//! Where a saved model's files come from: the file system, or files held in memory (a Spark
//! folder packed inside a scorewell bundle, already checked against its checksums).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;

use crate::error::{Result, SparkError};

/// A tree of files.
#[derive(Debug, Clone)]
pub enum Source {
    /// Paths are file-system paths.
    Disk,
    /// Paths are keys of the map (`/`-separated).
    Memory(Arc<BTreeMap<String, Arc<[u8]>>>),
}

fn key(path: &Path) -> String {
    path.components()
        .filter_map(|c| match c {
            std::path::Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

impl Source {
    /// Whether `path` is a folder.
    pub fn is_dir(&self, path: &Path) -> bool {
        match self {
            Source::Disk => path.is_dir(),
            Source::Memory(files) => {
                let prefix = format!("{}/", key(path));
                files
                    .range(prefix.clone()..)
                    .next()
                    .is_some_and(|(k, _)| k.starts_with(&prefix))
            }
        }
    }

    /// The names of the files directly in `dir` (not sub-folders), sorted.
    pub fn files(&self, dir: &Path) -> Result<Vec<String>> {
        match self {
            Source::Disk => {
                let io = |source| SparkError::Io {
                    path: dir.to_path_buf(),
                    source,
                };
                let mut out = Vec::new();
                for entry in std::fs::read_dir(dir).map_err(io)? {
                    let entry = entry.map_err(io)?;
                    if entry.path().is_file() {
                        out.push(entry.file_name().to_string_lossy().into_owned());
                    }
                }
                out.sort();
                Ok(out)
            }
            Source::Memory(files) => {
                let prefix = format!("{}/", key(dir));
                Ok(files
                    .range(prefix.clone()..)
                    .take_while(|(k, _)| k.starts_with(&prefix))
                    .filter_map(|(k, _)| {
                        let rest = &k[prefix.len()..];
                        (!rest.contains('/')).then(|| rest.to_string())
                    })
                    .collect())
            }
        }
    }

    /// The names of the folders directly in `dir`, sorted.
    pub fn dirs(&self, dir: &Path) -> Result<Vec<String>> {
        match self {
            Source::Disk => {
                let io = |source| SparkError::Io {
                    path: dir.to_path_buf(),
                    source,
                };
                let mut out = Vec::new();
                for entry in std::fs::read_dir(dir).map_err(io)? {
                    let entry = entry.map_err(io)?;
                    if entry.path().is_dir() {
                        out.push(entry.file_name().to_string_lossy().into_owned());
                    }
                }
                out.sort();
                Ok(out)
            }
            Source::Memory(files) => {
                let prefix = format!("{}/", key(dir));
                let mut out: Vec<String> = files
                    .range(prefix.clone()..)
                    .take_while(|(k, _)| k.starts_with(&prefix))
                    .filter_map(|(k, _)| {
                        let rest = &k[prefix.len()..];
                        rest.split_once('/').map(|(d, _)| d.to_string())
                    })
                    .collect();
                out.dedup();
                Ok(out)
            }
        }
    }

    /// A file's bytes.
    pub fn read(&self, path: &Path) -> Result<Bytes> {
        match self {
            Source::Disk => std::fs::read(path)
                .map(Bytes::from)
                .map_err(|source| SparkError::Io {
                    path: path.to_path_buf(),
                    source,
                }),
            Source::Memory(files) => files
                .get(&key(path))
                .map(|b| Bytes::copy_from_slice(b))
                .ok_or_else(|| SparkError::Io {
                    path: path.to_path_buf(),
                    source: std::io::Error::from(std::io::ErrorKind::NotFound),
                }),
        }
    }
}
