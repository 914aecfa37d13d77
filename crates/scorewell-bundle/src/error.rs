//! The bundle error type.

use scorewell_core::ScoreError;
use scorewell_formats::FormatError;

/// Anything that can go wrong reading, verifying or building a bundle.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// A file of the bundle could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The bundle has no `scorewell.json` at its root.
    #[error("no scorewell.json at the bundle root (is this a bundle?)")]
    NoManifest,
    /// The manifest is malformed; `path` is the JSON path of the offending value.
    #[error("scorewell.json{}: {message}", if path.is_empty() { String::new() } else { format!(" at {path}") })]
    Manifest {
        /// JSON path, e.g. `stages[2].params.threshold` (empty for syntax errors).
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The manifest's format version is newer than this build understands (version 0, which
    /// no scorewell ever wrote, is a [`BundleError::Manifest`] error instead).
    #[error(
        "scorewell.json has format_version {found}; this scorewell reads versions 1 to {supported} (upgrade scorewell)"
    )]
    UnsupportedVersion {
        /// The version found.
        found: u32,
        /// The newest version supported.
        supported: u32,
    },
    /// An artifact's bytes do not match the manifest's checksum.
    #[error("artifact `{artifact}` was modified: sha256 is {actual}, the manifest says {expected}")]
    Checksum {
        /// The artifact's path in the bundle.
        artifact: String,
        /// The manifest's checksum.
        expected: String,
        /// The checksum of the bytes found.
        actual: String,
    },
    /// An artifact named by the manifest is missing from the bundle.
    #[error("artifact `{0}` is listed in scorewell.json but missing from the bundle")]
    MissingArtifact(String),
    /// A stage refers to an artifact with no checksum entry.
    #[error("scorewell.json at {at}: artifact `{artifact}` has no sha256 entry in `artifacts`")]
    UnlistedArtifact {
        /// JSON path of the stage.
        at: String,
        /// The artifact.
        artifact: String,
    },
    /// A zip entry or directory entry is unsafe to read.
    #[error("refusing bundle entry `{entry}`: {reason}")]
    UnsafeEntry {
        /// The entry's name.
        entry: String,
        /// Why it is refused.
        reason: String,
    },
    /// The bundle has more files than [`crate::Limits::max_entries`] allows.
    #[error("the bundle holds {count} files, over the limit of {limit}")]
    TooManyEntries {
        /// How many entries the archive lists.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// The zip archive is corrupt.
    #[error("corrupt zip archive: {0}")]
    Zip(String),
    /// A model artifact could not be parsed.
    #[error("scorewell.json at {at}: model `{artifact}`: {source}")]
    Model {
        /// JSON path of the stage.
        at: String,
        /// The artifact.
        artifact: String,
        /// What the format frontend said.
        #[source]
        source: FormatError,
    },
    /// A stage's kind or parameters are invalid. Displayed like [`BundleError::Manifest`]:
    /// `scorewell.json at stages[2].params.splits[1]: ...`.
    #[error("scorewell.json at {at}: {message}")]
    Stage {
        /// JSON path, e.g. `stages[2].params.splits[1]`.
        at: String,
        /// What is wrong.
        message: String,
    },
    /// Building the scorer failed (a stage reads a column nobody provides, ...).
    #[error(transparent)]
    Score(#[from] ScoreError),
    /// The transforms file given to `bundle create` is malformed.
    #[error("{file}: {message}")]
    Spec {
        /// The file.
        file: String,
        /// What is wrong (with its location).
        message: String,
    },
}
