//! Where a model comes from: a local path, or (with the `remote` feature) an object in S3,
//! Google Cloud Storage, Azure Blob Storage or on any HTTP(S) server.
//!
//! [`resolve`] turns what a user typed into a local path every loader already understands. A
//! remote object is downloaded into an on-disk cache (keyed by URL, under the object's own file
//! name so format detection by extension keeps working), revalidated with its ETag on the next
//! call, and only ever moved into place once complete and verified: a partial download is never
//! used. An optional `sha256` pin is checked before any loader sees a byte.
//!
//! ```no_run
//! # fn main() -> Result<(), scorewell_source::SourceError> {
//! let found = scorewell_source::resolve("s3://models/fraud-3.zip#sha256=ab12…", &Default::default())?;
//! println!("scoring {}", found.path.display());
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod cache;
mod error;
mod location;
mod pin;
#[cfg(feature = "remote")]
mod remote;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use cache::default_cache_dir;
pub use error::SourceError;
pub use location::Location;
pub use pin::Sha256Pin;

/// How remote models are fetched. The defaults suit models of a few hundred megabytes on a
/// slow link; see docs/SOURCES.md.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// The expected sha256 of the model file, checked before it is parsed. A pin in the URL
    /// (`#sha256=…`) is checked too; both must match.
    pub sha256: Option<Sha256Pin>,
    /// Where downloads are kept (`None`: [`default_cache_dir`]).
    pub cache_dir: Option<PathBuf>,
    /// Longest one request (headers and body) may take.
    pub timeout: Duration,
    /// Longest establishing a connection may take.
    pub connect_timeout: Duration,
    /// Retries of a failed request (connection errors, 5xx, throttling), with backoff.
    pub retries: usize,
    /// Largest object fetched: a larger declared length is refused before any byte is
    /// written, so a wrong URL or a forged length cannot fill the disk.
    pub max_bytes: u64,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self {
            sha256: None,
            cache_dir: None,
            // object_store's 30 s default would cut off a large model on a slow link.
            timeout: Duration::from_secs(300),
            connect_timeout: Duration::from_secs(5),
            retries: 3,
            // Four times the bundle reader's 1 GiB total: room for big models, not for a disk.
            max_bytes: 4 << 30,
        }
    }
}

impl FetchOptions {
    /// The defaults, changed by `SCOREWELL_FETCH_TIMEOUT_S` (seconds per request),
    /// `SCOREWELL_FETCH_RETRIES` and `SCOREWELL_CACHE_DIR` where they are set.
    pub fn from_env() -> Result<Self, SourceError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// [`FetchOptions::from_env`] reading variables through `lookup`.
    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SourceError> {
        let mut o = Self::default();
        let var = |name: &'static str| lookup(name).filter(|v| !v.trim().is_empty());
        let number = |name: &'static str, value: String| {
            value
                .trim()
                .parse::<u64>()
                .map_err(|_| SourceError::BadSetting {
                    name,
                    value,
                    expected: "a whole number",
                })
        };
        if let Some(v) = var("SCOREWELL_FETCH_TIMEOUT_S") {
            o.timeout = Duration::from_secs(number("SCOREWELL_FETCH_TIMEOUT_S", v)?.max(1));
        }
        if let Some(v) = var("SCOREWELL_FETCH_RETRIES") {
            o.retries = number("SCOREWELL_FETCH_RETRIES", v)? as usize;
        }
        if let Some(v) = var("SCOREWELL_FETCH_MAX_BYTES") {
            o.max_bytes = number("SCOREWELL_FETCH_MAX_BYTES", v)?;
        }
        o.cache_dir = var("SCOREWELL_CACHE_DIR").map(PathBuf::from);
        Ok(o)
    }
}

/// How a resolved model got to its local path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// It was a local path all along.
    Local,
    /// It was downloaded just now.
    Downloaded,
    /// The cached copy was still current (the server answered 304 Not Modified).
    Revalidated,
}

/// A model made local: the path to hand to a loader, and where it came from.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// What the user gave, without any `#sha256=` pin.
    pub location: Location,
    /// A local file or directory holding the model.
    pub path: PathBuf,
    /// The object's ETag, for a remote model whose server sent one.
    pub etag: Option<String>,
    /// The file's sha256 (lowercase hex) when it was computed: for every remote model, and for
    /// a pinned local file.
    pub sha256: Option<String>,
    /// How it got here.
    pub origin: Origin,
}

/// Make `spec` (a path, `file://`, `s3://`, `gs://`, `az://`, `http(s)://`, optionally with
/// `#sha256=<hex>`) a local path, downloading and verifying a remote model.
pub fn resolve(spec: &str, options: &FetchOptions) -> Result<Resolved, SourceError> {
    let (location, url_pin) = Location::parse(spec)?;
    let pins: Vec<&Sha256Pin> = options.sha256.iter().chain(url_pin.as_ref()).collect();
    match &location {
        Location::Local(path) => {
            let sha256 = if pins.is_empty() {
                None
            } else {
                Some(pin::check_file(path, &location.to_string(), &pins)?)
            };
            Ok(Resolved {
                path: path.clone(),
                location,
                etag: None,
                sha256,
                origin: Origin::Local,
            })
        }
        Location::Remote(url) => fetch_remote(url, &location, &pins, options),
    }
}

#[cfg(feature = "remote")]
fn fetch_remote(
    url: &str,
    location: &Location,
    pins: &[&Sha256Pin],
    options: &FetchOptions,
) -> Result<Resolved, SourceError> {
    let dir = options.cache_dir.clone().unwrap_or_else(default_cache_dir);
    let entry = cache::Entry::for_url(&dir, url)?;
    let fetched = remote::fetch(url, &entry, pins, options)?;
    Ok(Resolved {
        location: location.clone(),
        path: fetched.path,
        etag: fetched.etag,
        sha256: Some(fetched.sha256),
        origin: fetched.origin,
    })
}

#[cfg(not(feature = "remote"))]
fn fetch_remote(
    url: &str,
    _: &Location,
    _: &[&Sha256Pin],
    _: &FetchOptions,
) -> Result<Resolved, SourceError> {
    Err(SourceError::RemoteDisabled {
        url: location::redact(url),
    })
}

/// Whether this build can fetch remote models.
pub const fn remote_enabled() -> bool {
    cfg!(feature = "remote")
}

/// The file name a location's model is known by (its last path segment), for format detection.
pub fn file_name(path: &Path) -> Option<&str> {
    path.file_name().and_then(|n| n.to_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_settings_change_the_defaults_or_are_refused_by_name() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let o = FetchOptions::from_lookup(env(&[
            ("SCOREWELL_FETCH_TIMEOUT_S", "20"),
            ("SCOREWELL_FETCH_RETRIES", "0"),
            ("SCOREWELL_FETCH_MAX_BYTES", "1000"),
            ("SCOREWELL_CACHE_DIR", "/c"),
        ]))
        .unwrap();
        assert_eq!(o.timeout, Duration::from_secs(20));
        assert_eq!((o.retries, o.max_bytes), (0, 1000));
        assert_eq!(o.cache_dir, Some(PathBuf::from("/c")));
        let d = FetchOptions::from_lookup(env(&[("SCOREWELL_FETCH_RETRIES", " ")])).unwrap();
        assert_eq!(
            d.retries,
            FetchOptions::default().retries,
            "blank means unset"
        );
        let err =
            FetchOptions::from_lookup(env(&[("SCOREWELL_FETCH_TIMEOUT_S", "5m")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "SCOREWELL_FETCH_TIMEOUT_S=5m: expected a whole number"
        );
    }
}
