//! [`LazyScorer`]: model bytes that become a [`Scorer`] on first use, once per process.
//!
//! Spark ships a model to executors as bytes (a broadcast or a pickled object); each Python
//! worker may unpickle it many times. The process-wide cache below, keyed by the bytes'
//! sha256, the file name (it can decide the format) and the load options, makes every copy
//! share one built scorer. Entries live as long as the process: nothing is evicted, so a
//! process holds every distinct model it has built.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use sha2::{Digest, Sha256};

use crate::{Error, LoadOptions, OutputMode, Scorer, load_bytes};

/// Model or bundle bytes, built into a [`Scorer`] on the first [`LazyScorer::get`].
///
/// Cloning is cheap (the bytes are shared). Two handles with equal bytes, file name and options
/// share one scorer in a process, however they were made.
#[derive(Debug, Clone)]
pub struct LazyScorer {
    bytes: Arc<[u8]>,
    digest: Arc<str>,
    file_name: Option<Arc<str>>,
    options: LoadOptions,
}

impl LazyScorer {
    /// Hold `bytes` (a model file or a zipped bundle); `file_name` helps format detection.
    pub fn new(bytes: impl Into<Arc<[u8]>>, file_name: Option<&str>, options: LoadOptions) -> Self {
        let bytes = bytes.into();
        let digest = format!("{:x}", Sha256::digest(&bytes));
        Self {
            bytes,
            digest: digest.into(),
            file_name: file_name.map(Into::into),
            options,
        }
    }

    /// The bytes' sha256, lowercase hex.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// The held bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The file name given at creation.
    pub fn file_name(&self) -> Option<&str> {
        self.file_name.as_deref()
    }

    /// The load options.
    pub fn options(&self) -> &LoadOptions {
        &self.options
    }

    /// The scorer, built now if no handle in this process has built it yet. A failed build is
    /// not cached: the next call tries again. A built one stays cached until the process ends.
    pub fn get(&self) -> Result<Scorer, Error> {
        // The file name is part of the key: it can pick the format (`model.ubj` vs `model.json`),
        // so equal bytes under two names may build two different scorers (or one may fail).
        let key = CacheKey {
            digest: self.digest.clone(),
            file_name: self.file_name.clone(),
            margin: self.options.mode == OutputMode::Margin,
            format: self.options.format.clone(),
            neighbors: self.options.neighbors.clone(),
        };
        let slot = {
            let mut cache = cache().lock().unwrap_or_else(|p| p.into_inner());
            cache.entry(key).or_default().clone()
        };
        // Lock the one entry, not the whole cache, so unrelated models build in parallel and
        // concurrent callers of the same model wait for a single build.
        let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(scorer) = slot.as_ref() {
            return Ok(scorer.clone());
        }
        let scorer = load_bytes(&self.bytes, self.file_name.as_deref(), &self.options)?;
        BUILDS.fetch_add(1, Ordering::Relaxed);
        *slot = Some(scorer.clone());
        Ok(scorer)
    }
}

/// What decides the built scorer: the bytes, the name they are detected by and the options.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct CacheKey {
    digest: Arc<str>,
    file_name: Option<Arc<str>>,
    margin: bool,
    format: Option<String>,
    neighbors: Option<crate::NeighborOptions>,
}

type Slot = Arc<Mutex<Option<Scorer>>>;

/// Never evicted: Spark workers and notebooks load a handful of models, and a built scorer is
/// what makes the next unpickled copy free.
fn cache() -> &'static Mutex<HashMap<CacheKey, Slot>> {
    static CACHE: OnceLock<Mutex<HashMap<CacheKey, Slot>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

static BUILDS: AtomicU64 = AtomicU64::new(0);

/// How many scorers [`LazyScorer::get`] has built in this process (for tests and for checking
/// that a Spark worker builds each model once).
pub fn lazy_builds() -> u64 {
    BUILDS.load(Ordering::Relaxed)
}
