//! Telling a path from a URL, and the `#sha256=` pin a URL may carry.

use std::fmt;
use std::path::PathBuf;

use crate::error::SourceError;
use crate::pin::Sha256Pin;

/// Schemes read through object storage or HTTP.
const REMOTE_SCHEMES: [&str; 10] = [
    "s3", "s3a", "gs", "az", "adl", "azure", "abfs", "abfss", "http", "https",
];

/// Where a model is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A file or directory on this machine.
    Local(PathBuf),
    /// An object-store or HTTP(S) URL (without its pin), in the form it is fetched by.
    Remote(String),
}

impl Location {
    /// Split `spec` into a location and the pin its `#sha256=<hex>` suffix carries.
    ///
    /// A Google Cloud Storage https link (`https://storage.googleapis.com/bucket/key`) becomes
    /// `gs://bucket/key`, so it is read with GCS credentials rather than anonymously.
    pub fn parse(spec: &str) -> Result<(Self, Option<Sha256Pin>), SourceError> {
        let spec = spec.trim();
        let (body, pin) = match spec.rsplit_once("#sha256=") {
            Some((body, hex)) => (body, Some(Sha256Pin::parse(hex)?)),
            None => (spec, None),
        };
        let Some(scheme) = scheme_of(body) else {
            return Ok((Self::Local(PathBuf::from(body)), pin));
        };
        let scheme = scheme.to_ascii_lowercase();
        if scheme == "file" {
            let rest = &body["file://".len()..];
            // `file:///abs/path` or `file://localhost/abs/path`; other hosts are not local.
            let path = match rest.strip_prefix("localhost") {
                Some(p) => p,
                None => rest,
            };
            if !path.starts_with('/') {
                return Err(SourceError::BadLocation {
                    url: redact(body),
                    reason: "a file:// URL needs an absolute path (file:///dir/model.json)".into(),
                });
            }
            return Ok((Self::Local(PathBuf::from(percent_decode(path)?)), pin));
        }
        if !REMOTE_SCHEMES.contains(&scheme.as_str()) {
            return Err(SourceError::UnsupportedScheme {
                url: redact(body),
                scheme,
            });
        }
        if body.contains('#') {
            return Err(SourceError::BadLocation {
                url: redact(body),
                reason: "the only fragment a model URL takes is `#sha256=<hex>`".into(),
            });
        }
        let rest = &body[scheme.len() + 3..];
        let (host, key) = rest.split_once('/').unwrap_or((rest, ""));
        if host.is_empty() || key.is_empty() || key.ends_with('/') {
            return Err(SourceError::BadLocation {
                url: redact(body),
                reason: "expected scheme://bucket-or-host/path/to/model, naming one object".into(),
            });
        }
        let url = if scheme == "https"
            && matches!(host, "storage.googleapis.com" | "storage.cloud.google.com")
        {
            format!("gs://{key}")
        } else {
            format!("{scheme}://{rest}")
        };
        Ok((Self::Remote(url), pin))
    }

    /// Whether the model must be fetched.
    pub fn is_remote(&self) -> bool {
        matches!(self, Self::Remote(_))
    }

    /// The last segment of the path: the name the model is known and detected by.
    pub fn file_name(&self) -> Option<String> {
        match self {
            Self::Local(p) => p.file_name().map(|n| n.to_string_lossy().into_owned()),
            Self::Remote(url) => {
                let path = url.split(['?']).next().unwrap_or(url);
                path.rsplit('/').next().map(str::to_string)
            }
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local(p) => write!(f, "{}", p.display()),
            Self::Remote(url) => f.write_str(&redact(url)),
        }
    }
}

/// The scheme of `s` when it is a URL (`scheme://…`). A Windows drive (`C:\…`) is not one.
fn scheme_of(s: &str) -> Option<&str> {
    let (scheme, _) = s.split_once("://")?;
    let ok = scheme.len() > 1
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    ok.then_some(scheme)
}

/// `url` fit for logs and errors: credentials in user info or a query string (presigned URLs,
/// SAS tokens) are replaced by `…`.
pub fn redact(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(q) = out.find('?') {
        out.truncate(q);
        out.push_str("?…");
    }
    if let Some(start) = out.find("://").map(|i| i + 3) {
        let host_end = out[start..].find('/').map_or(out.len(), |i| start + i);
        if let Some(at) = out[start..host_end].rfind('@') {
            out.replace_range(start..start + at, "…");
        }
    }
    out
}

fn percent_decode(s: &str) -> Result<String, SourceError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            let Some(b) = hex else {
                return Err(SourceError::BadLocation {
                    url: s.to_string(),
                    reason: "a `%` must be followed by two hex digits".into(),
                });
            };
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| SourceError::BadLocation {
        url: s.to_string(),
        reason: "the decoded path is not UTF-8".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(s: &str) -> String {
        match Location::parse(s).unwrap().0 {
            Location::Remote(u) => u,
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn paths_stay_paths_and_urls_are_recognised() {
        let (l, pin) = Location::parse("models/m.json").unwrap();
        assert_eq!(l, Location::Local("models/m.json".into()));
        assert!(pin.is_none());
        assert_eq!(
            Location::parse("C:\\m\\x.json").unwrap().0,
            Location::Local("C:\\m\\x.json".into())
        );
        assert_eq!(
            Location::parse("file:///tmp/a%20b.json").unwrap().0,
            Location::Local("/tmp/a b.json".into())
        );
        assert_eq!(remote("s3://models/fraud-3.zip"), "s3://models/fraud-3.zip");
        assert_eq!(remote("S3://models/f.zip"), "s3://models/f.zip");
        assert_eq!(
            remote("https://storage.googleapis.com/bkt/dir/m.txt"),
            "gs://bkt/dir/m.txt"
        );
        assert_eq!(
            remote("https://acct.blob.core.windows.net/c/m.zip"),
            "https://acct.blob.core.windows.net/c/m.zip"
        );
    }

    #[test]
    fn pins_come_off_the_end() {
        let hex = "ab".repeat(32);
        let (l, pin) = Location::parse(&format!("s3://b/m.json#sha256={hex}")).unwrap();
        assert_eq!(l, Location::Remote("s3://b/m.json".into()));
        assert_eq!(pin.unwrap().hex(), hex);
        let (l, pin) =
            Location::parse(&format!("dir/m.json#sha256={}", hex.to_uppercase())).unwrap();
        assert_eq!(l, Location::Local("dir/m.json".into()));
        assert_eq!(pin.unwrap().hex(), hex);
        assert!(Location::parse("s3://b/m.json#sha256=12").is_err());
    }

    #[test]
    fn bad_locations_say_what_is_wrong() {
        let msg = |s: &str| Location::parse(s).unwrap_err().to_string();
        assert!(msg("ftp://h/m.json").contains("unsupported model location scheme `ftp`"));
        assert!(msg("s3://bucket").contains("naming one object"));
        assert!(msg("s3://bucket/dir/").contains("naming one object"));
        assert!(msg("https://h/m.json#frag").contains("#sha256"));
        assert!(msg("file://relative/m.json").contains("absolute path"));
    }

    #[test]
    fn secrets_are_kept_out_of_messages() {
        assert_eq!(
            redact("https://u:p@host/m.zip?sig=secret"),
            "https://…@host/m.zip?…"
        );
        assert_eq!(redact("s3://b/k"), "s3://b/k");
        assert_eq!(
            Location::parse("https://h/m.zip?X-Amz-Signature=s")
                .unwrap()
                .0
                .to_string(),
            "https://h/m.zip?…"
        );
    }
}
