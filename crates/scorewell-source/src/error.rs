//! What can go wrong getting a model: one line each, naming the URL or path.

use std::path::PathBuf;

/// Why a model could not be made local.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The location is not a path or a URL scheme scorewell reads.
    #[error(
        "{url}: unsupported model location scheme `{scheme}` (supported: s3://, gs://, az://, http://, https://, file:// and paths)"
    )]
    UnsupportedScheme {
        /// The location as given.
        url: String,
        /// The scheme.
        scheme: String,
    },
    /// The location is malformed.
    #[error("{url}: {reason}")]
    BadLocation {
        /// The location as given.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// An environment setting has a value that cannot be used.
    #[error("{name}={value}: expected {expected}")]
    BadSetting {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
        /// What it should be.
        expected: &'static str,
    },
    /// A `sha256` pin is not 64 hex digits.
    #[error("bad sha256 pin `{pin}`: expected 64 hex digits, optionally after `sha256:`")]
    BadPin {
        /// The pin as given.
        pin: String,
    },
    /// The model's bytes do not hash to the pinned digest.
    #[error("{url}: sha256 mismatch: expected {expected}, got {actual}; the model was not loaded")]
    DigestMismatch {
        /// The model.
        url: String,
        /// The pin.
        expected: String,
        /// What the bytes hash to.
        actual: String,
    },
    /// A pin was given for a directory, which has no single digest.
    #[error(
        "{path}: a sha256 pin applies to one file; a bundle directory is verified by its manifest's checksums (zip it to pin it)"
    )]
    PinOnDirectory {
        /// The directory.
        path: PathBuf,
    },
    /// Remote models need the `remote` cargo feature.
    #[error(
        "{url}: this scorewell was built without remote model sources (cargo feature `remote`)"
    )]
    RemoteDisabled {
        /// The URL.
        url: String,
    },
    /// The object does not exist.
    #[error("{url}: not found")]
    NotFound {
        /// The URL.
        url: String,
    },
    /// The credentials were refused or missing.
    #[error("{url}: access denied: {detail}")]
    Denied {
        /// The URL.
        url: String,
        /// What the store said.
        detail: String,
    },
    /// The transfer took too long.
    #[error("{url}: timed out after {seconds} s: {detail}")]
    Timeout {
        /// The URL.
        url: String,
        /// The timeout in force.
        seconds: u64,
        /// What failed.
        detail: String,
    },
    /// The object is larger than [`crate::FetchOptions::max_bytes`].
    #[error(
        "{url}: the object is {size} bytes, more than the {limit}-byte limit (SCOREWELL_FETCH_MAX_BYTES); nothing was downloaded"
    )]
    TooLarge {
        /// The URL.
        url: String,
        /// Its declared length.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The body ended before the length the server announced.
    #[error("{url}: truncated transfer: received {got} of {expected} bytes; nothing was kept")]
    Truncated {
        /// The URL.
        url: String,
        /// The announced length.
        expected: u64,
        /// What arrived.
        got: u64,
    },
    /// Any other failure talking to the store.
    #[error("{url}: {detail}")]
    Remote {
        /// The URL.
        url: String,
        /// What went wrong, on one line.
        detail: String,
    },
    /// Reading a local file or writing the cache failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}
