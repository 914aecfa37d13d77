//! Fetching through object_store: one client per URL, built from the cloud's standard
//! credential chain, a conditional GET against the cached ETag, and a streamed, hashed,
//! length-checked download that is committed to the cache only when whole and verified.

use std::io::Write;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Once;

use futures_util::StreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::http::HttpBuilder;
use object_store::path::Path as ObjectPath;
use object_store::{
    BackoffConfig, ClientOptions, GetOptions, ObjectStore, ObjectStoreScheme, RetryConfig,
};
use sha2::{Digest, Sha256};

use crate::cache::{Entry, Meta};
use crate::error::SourceError;
use crate::location::redact;
use crate::pin::{Sha256Pin, hash_file, hex};
use crate::{FetchOptions, Origin};

/// What a fetch left in the cache.
pub(crate) struct Fetched {
    pub path: PathBuf,
    pub etag: Option<String>,
    pub sha256: String,
    pub origin: Origin,
}

/// Bring `url` into `entry`, revalidating a cached copy, and check `pins` before returning.
pub(crate) fn fetch(
    url: &str,
    entry: &Entry,
    pins: &[&Sha256Pin],
    options: &FetchOptions,
) -> Result<Fetched, SourceError> {
    install_crypto();
    // Our own runtime on our own thread: callers may be plain threads, rayon workers, or a
    // tokio blocking thread (the server's reloads), and none of them may be blocked on a
    // runtime they are already inside.
    std::thread::scope(|s| {
        s.spawn(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| SourceError::Remote {
                    url: redact(url),
                    detail: format!("cannot start the download runtime: {e}"),
                })?;
            runtime.block_on(fetch_async(url, entry, pins, options))
        })
        .join()
        .unwrap_or_else(|_| {
            Err(SourceError::Remote {
                url: redact(url),
                detail: "the download thread panicked".into(),
            })
        })
    })
}

async fn fetch_async(
    url: &str,
    entry: &Entry,
    pins: &[&Sha256Pin],
    options: &FetchOptions,
) -> Result<Fetched, SourceError> {
    let shown = redact(url);
    let (store, path) = store_for(url, options)?;
    let cached = entry.current();
    let get = GetOptions {
        if_none_match: cached.as_ref().and_then(|m| m.etag.clone()),
        ..Default::default()
    };
    let result = match store.get_opts(&path, get).await {
        Ok(r) => r,
        Err(object_store::Error::NotModified { .. }) => {
            let meta = cached.ok_or_else(|| SourceError::Remote {
                url: shown.clone(),
                detail: "the server answered 304 Not Modified to an unconditional GET".into(),
            })?;
            let file = entry.file(&meta.sha256);
            if !pins.is_empty() {
                // Pins are checked against the bytes, not against what the cache recorded.
                let actual = hash_file(&file)?;
                for pin in pins {
                    pin.check(&shown, &actual)?;
                }
            }
            return Ok(Fetched {
                path: file,
                etag: meta.etag,
                sha256: meta.sha256,
                origin: Origin::Revalidated,
            });
        }
        Err(e) => return Err(classify(&shown, e, options)),
    };
    let expected = result.range.end - result.range.start;
    if expected > options.max_bytes {
        return Err(SourceError::TooLarge {
            url: shown,
            size: expected,
            limit: options.max_bytes,
        });
    }
    let etag = result.meta.e_tag.clone();
    let mut tmp = tempfile::Builder::new()
        .prefix(".download-")
        .suffix(".part")
        .tempfile_in(entry.dir())
        .map_err(|source| SourceError::Io {
            path: entry.dir().to_path_buf(),
            source,
        })?;
    let mut hasher = Sha256::new();
    let mut got = 0u64;
    let mut stream = result.into_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| match classify(&shown, e, options) {
            SourceError::Remote { url, .. } if got < expected => {
                SourceError::Truncated { url, expected, got }
            }
            other => other,
        })?;
        got += chunk.len() as u64;
        if got > expected {
            break;
        }
        hasher.update(&chunk);
        tmp.write_all(&chunk).map_err(|source| SourceError::Io {
            path: tmp.path().to_path_buf(),
            source,
        })?;
    }
    if got != expected {
        return Err(SourceError::Truncated {
            url: shown,
            expected,
            got,
        });
    }
    tmp.as_file().sync_all().map_err(|source| SourceError::Io {
        path: tmp.path().to_path_buf(),
        source,
    })?;
    let sha256 = hex(&hasher.finalize());
    for pin in pins {
        pin.check(&shown, &sha256)?;
    }
    let meta = Meta {
        url: url.to_string(),
        etag: etag.clone(),
        size: got,
        sha256: sha256.clone(),
    };
    let path = entry.commit(tmp, &meta)?;
    Ok(Fetched {
        path,
        etag,
        sha256,
        origin: Origin::Downloaded,
    })
}

/// rustls needs one process-wide crypto provider; ring is the one compiled in.
fn install_crypto() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        #[allow(deprecated)] // ring lacks post-quantum key exchange; fine for fetching models
        let provider = rustls::crypto::ring::default_provider();
        let _ = provider.install_default();
    });
}

/// A client for `url`'s store and the object's path in it. Credentials and endpoints come
/// from each cloud's environment variables and metadata services, as their own SDKs read them.
fn store_for(
    url: &str,
    options: &FetchOptions,
) -> Result<(Box<dyn ObjectStore>, ObjectPath), SourceError> {
    let shown = redact(url);
    let bad = |detail: String| SourceError::BadLocation {
        url: shown.clone(),
        reason: detail,
    };
    let parsed = url::Url::parse(url).map_err(|e| bad(e.to_string()))?;
    let (scheme, path) = ObjectStoreScheme::parse(&parsed).map_err(|e| bad(e.to_string()))?;
    let client = ClientOptions::new()
        .with_timeout(options.timeout)
        .with_connect_timeout(options.connect_timeout);
    let retry = RetryConfig {
        backoff: BackoffConfig::default(),
        max_retries: options.retries,
        retry_timeout: options.timeout,
    };
    let built = match scheme {
        ObjectStoreScheme::AmazonS3 => {
            // An S3-compatible server on plain http (a private MinIO/SeaweedFS) is allowed
            // when the endpoint itself says http://.
            let endpoint = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT"]
                .iter()
                .find_map(|k| std::env::var(k).ok());
            let http = endpoint.is_some_and(|e| e.starts_with("http://"));
            with_env(
                AmazonS3Builder::new()
                    .with_client_options(client.with_allow_http(http))
                    .with_retry(retry),
                "AWS_",
                AmazonS3Builder::with_config,
            )
            .with_url(url)
            .build()
            .map(|s| Box::new(s) as Box<dyn ObjectStore>)
        }
        ObjectStoreScheme::GoogleCloudStorage => with_env(
            GoogleCloudStorageBuilder::new()
                .with_client_options(client)
                .with_retry(retry),
            "GOOGLE_",
            GoogleCloudStorageBuilder::with_config,
        )
        .with_url(url)
        .build()
        .map(|s| Box::new(s) as Box<dyn ObjectStore>),
        ObjectStoreScheme::MicrosoftAzure => with_env(
            MicrosoftAzureBuilder::new()
                .with_client_options(client)
                .with_retry(retry),
            "AZURE_",
            MicrosoftAzureBuilder::with_config,
        )
        .with_url(url)
        .build()
        .map(|s| Box::new(s) as Box<dyn ObjectStore>),
        ObjectStoreScheme::Http => HttpBuilder::new()
            .with_url(&parsed[..url::Position::BeforePath])
            .with_client_options(client.with_allow_http(parsed.scheme() == "http"))
            .with_retry(retry)
            .build()
            .map(|s| Box::new(s) as Box<dyn ObjectStore>),
        _ => {
            return Err(SourceError::UnsupportedScheme {
                url: shown,
                scheme: parsed.scheme().to_string(),
            });
        }
    };
    let store = built.map_err(|e| SourceError::Remote {
        url: shown.clone(),
        detail: format!("cannot configure the client: {}", one_line(&e)),
    })?;
    Ok((store, path))
}

/// Apply every `PREFIX*` environment variable the builder knows (the variable name, lower
/// case, is the config key), after our defaults so a user's setting wins — what each
/// builder's `from_env` does, which would otherwise run before our client options.
fn with_env<B, K: FromStr>(builder: B, prefix: &str, set: fn(B, K, String) -> B) -> B {
    std::env::vars()
        .filter(|(k, _)| k.starts_with(prefix))
        .filter_map(|(k, v)| Some((k.to_ascii_lowercase().parse::<K>().ok()?, v)))
        .fold(builder, |b, (k, v)| set(b, k, v))
}

/// One line naming the URL for an object_store failure.
fn classify(shown: &str, e: object_store::Error, options: &FetchOptions) -> SourceError {
    let detail = one_line(&e);
    match e {
        object_store::Error::NotFound { .. } => SourceError::NotFound {
            url: shown.to_string(),
        },
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => SourceError::Denied {
            url: shown.to_string(),
            detail,
        },
        _ if is_timeout(&e) => SourceError::Timeout {
            url: shown.to_string(),
            seconds: options.timeout.as_secs(),
            detail,
        },
        _ => SourceError::Remote {
            url: shown.to_string(),
            detail,
        },
    }
}

fn is_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(e);
    while let Some(err) = next {
        if err
            .downcast_ref::<reqwest::Error>()
            .is_some_and(reqwest::Error::is_timeout)
            || err
                .downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        next = err.source();
    }
    false
}

/// An error and its causes on one line, without repeats (object_store nests the same text).
fn one_line(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(e);
    while let Some(err) = next {
        let text = err.to_string().replace(['\n', '\r'], " ");
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = err.source();
    }
    let mut line = parts.join(": ");
    if line.len() > 400 {
        let cut = (0..=400)
            .rev()
            .find(|&i| line.is_char_boundary(i))
            .unwrap_or(0);
        line.truncate(cut);
        line.push('…');
    }
    line
}
