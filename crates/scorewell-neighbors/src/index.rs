//! Loading an `.ann` file: the node array, its layout and its roots.

use std::path::Path;
use std::sync::Arc;

use crate::metric::{Layout, Metric};
use crate::{Error, Result};

/// Where the node array lives. Both are at least 8-byte aligned (a page, or a `Vec<u64>`), so
/// the words can be viewed as `i32`/`f32`/`u64` without copying.
#[derive(Debug)]
enum Storage {
    Mapped(memmap2::Mmap),
    Owned(Vec<u64>, usize),
}

impl Storage {
    fn bytes(&self) -> &[u8] {
        match self {
            Storage::Mapped(m) => m,
            Storage::Owned(words, len) => &bytemuck::cast_slice::<u64, u8>(words)[..*len],
        }
    }
}

/// A loaded annoy index: immutable, `Send + Sync`, cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct AnnoyIndex {
    storage: Arc<Storage>,
    pub(crate) metric: Metric,
    pub(crate) dims: usize,
    pub(crate) layout: Layout,
    pub(crate) n_nodes: usize,
    pub(crate) n_items: i32,
    pub(crate) roots: Vec<i32>,
    pub(crate) source_name: String,
}

impl AnnoyIndex {
    /// Map `path` read-only (no copy) as an index of `metric` over `dims`-dimensional vectors.
    pub fn open(path: impl AsRef<Path>, metric: Metric, dims: usize) -> Result<Self> {
        let path = path.as_ref();
        let io = |source| Error::Io {
            path: path.display().to_string(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        // SAFETY: the map is read-only and private to this index. Like annoy itself, we rely on
        // the file not being truncated while mapped (a rewrite replaces it by rename).
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
        Self::new(
            Storage::Mapped(map),
            metric,
            dims,
            path.display().to_string(),
        )
    }

    /// Read an index from bytes (copied once into aligned memory).
    pub fn from_bytes(bytes: &[u8], metric: Metric, dims: usize) -> Result<Self> {
        let mut words = vec![0u64; bytes.len().div_ceil(8)];
        bytemuck::cast_slice_mut::<u64, u8>(&mut words)[..bytes.len()].copy_from_slice(bytes);
        Self::new(
            Storage::Owned(words, bytes.len()),
            metric,
            dims,
            "<bytes>".into(),
        )
    }

    /// Name the index's source in error messages (a bundle artifact's path, say).
    pub fn with_source_name(mut self, name: impl Into<String>) -> Self {
        self.source_name = name.into();
        self
    }

    fn new(storage: Storage, metric: Metric, dims: usize, source_name: String) -> Result<Self> {
        let layout_error = |reason: String| Error::Layout {
            source_name: source_name.clone(),
            metric,
            dims,
            reason,
        };
        if cfg!(target_endian = "big") {
            return Err(layout_error(
                "annoy files are little-endian; this host is big-endian".into(),
            ));
        }
        if dims == 0 {
            return Err(layout_error("the dimension must be at least 1".into()));
        }
        let size = storage.bytes().len();
        if size == 0 {
            return Err(layout_error("the file is empty".into()));
        }
        // Every node holds a vector of `dims` values (bits for hamming, 4-byte floats else): a
        // dimension no node of this file could hold is refused before it sizes the layout.
        let vector_bytes = match metric {
            Metric::Hamming => dims.div_ceil(8),
            _ => dims.saturating_mul(4),
        };
        if vector_bytes > size {
            return Err(layout_error(format!(
                "a node's vector of {dims} dimensions takes at least {vector_bytes} bytes, \
                 more than the whole file's {size}"
            )));
        }
        let layout = Layout::new(metric, dims);
        let node_bytes = layout.node_bytes();
        if !size.is_multiple_of(node_bytes) {
            return Err(layout_error(format!(
                "its size, {size} bytes, is not a multiple of the {node_bytes}-byte node this metric \
                 and dimension imply (a different metric or dimension, or a truncated file)"
            )));
        }
        let n_nodes = size / node_bytes;
        if n_nodes > i32::MAX as usize {
            return Err(layout_error(format!(
                "{n_nodes} nodes is more than annoy's 32-bit node ids address"
            )));
        }
        let mut index = Self {
            storage: Arc::new(storage),
            metric,
            dims,
            layout,
            n_nodes,
            n_items: 0,
            roots: Vec::new(),
            source_name,
        };
        index.find_roots()?;
        Ok(index)
    }

    /// annoy's loader: the roots are the trailing nodes that share the last node's descendant
    /// count (build appends a copy of every root); when the original last root precedes the
    /// copies it is recognised by its first child and dropped. That count is the item count.
    fn find_roots(&mut self) -> Result<()> {
        let mut m: Option<i32> = None;
        let mut roots = Vec::new();
        for i in (0..self.n_nodes).rev() {
            let k = self.n_descendants(i);
            match m {
                None => m = Some(k),
                Some(m) if m == k => {}
                Some(_) => break,
            }
            roots.push(i as i32);
        }
        if roots.len() > 1 {
            let first = self.child(roots[0] as usize, 0);
            let last = self.child(roots[roots.len() - 1] as usize, 0);
            if first == last {
                roots.pop();
            }
        }
        let n_items = m.unwrap_or(0);
        if n_items < 0 || n_items as usize > self.n_nodes {
            return Err(Error::Layout {
                source_name: self.source_name.clone(),
                metric: self.metric,
                dims: self.dims,
                reason: format!(
                    "its roots claim {n_items} items but the file holds {} nodes",
                    self.n_nodes
                ),
            });
        }
        self.n_items = n_items;
        self.roots = roots;
        Ok(())
    }

    /// The node array as 32-bit words.
    #[inline]
    pub(crate) fn words(&self) -> &[u32] {
        // The storage is 8-byte aligned and a whole number of 4-byte words (checked in `new`).
        bytemuck::cast_slice(self.storage.bytes())
    }

    /// Node `i`'s words; `i < n_nodes` is the caller's to check.
    #[inline]
    pub(crate) fn node(&self, i: usize) -> &[u32] {
        let w = self.layout.node_words;
        &self.words()[i * w..(i + 1) * w]
    }

    #[inline]
    pub(crate) fn n_descendants(&self, i: usize) -> i32 {
        self.node(i)[0] as i32
    }

    #[inline]
    pub(crate) fn child(&self, i: usize, k: usize) -> i32 {
        self.node(i)[self.layout.children + k] as i32
    }

    /// Node `i`'s float vector (not for hamming).
    #[inline]
    pub(crate) fn vector(&self, i: usize) -> &[f32] {
        bytemuck::cast_slice(&self.node(i)[self.layout.vector..])
    }

    /// Node `i`'s packed bit words (hamming).
    #[inline]
    pub(crate) fn bits(&self, i: usize) -> &[u64] {
        // Nodes are 16 + 8w bytes and the vector starts 16 bytes in: 8-byte aligned.
        bytemuck::cast_slice(&self.node(i)[self.layout.vector..])
    }

    /// Node `i`'s stored float in the word after `n_descendants` (angular's cached squared
    /// norm, euclidean's plane offset) or at word 3 (dot's extra dimension).
    #[inline]
    pub(crate) fn scalar(&self, i: usize, word: usize) -> f32 {
        f32::from_bits(self.node(i)[word])
    }

    /// The metric the index was opened as.
    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// The vector dimension the index was opened with.
    pub fn dims(&self) -> usize {
        self.dims
    }

    /// Items in the index (annoy's `get_n_items`: one more than the largest item id).
    pub fn n_items(&self) -> usize {
        self.n_items as usize
    }

    /// Trees in the index (annoy's `get_n_trees`).
    pub fn n_trees(&self) -> usize {
        self.roots.len()
    }

    /// Nodes in the file.
    pub fn n_nodes(&self) -> usize {
        self.n_nodes
    }

    /// Bytes in the file.
    pub fn size_bytes(&self) -> usize {
        self.storage.bytes().len()
    }

    /// The raw file bytes (what a pickled index or a bundle artifact holds).
    pub fn as_bytes(&self) -> &[u8] {
        self.storage.bytes()
    }

    /// True when the index is a read-only map of a file rather than a copy in memory.
    pub fn is_mapped(&self) -> bool {
        matches!(*self.storage, Storage::Mapped(_))
    }

    /// The stored vector of `item` (annoy's `get_item_vector`; hamming bits as 0.0/1.0).
    pub fn item_vector(&self, item: i64) -> Result<Vec<f32>> {
        let i = self.check_item(item)?;
        Ok(match self.metric {
            Metric::Hamming => {
                let bits = self.bits(i);
                (0..self.dims)
                    .map(|k| ((bits[k / 64] >> (k % 64)) & 1) as f32)
                    .collect()
            }
            _ => self.vector(i)[..self.dims].to_vec(),
        })
    }

    /// `item` as a node index, if annoy's Python API would accept it.
    pub(crate) fn check_item(&self, item: i64) -> Result<usize> {
        if item < 0 {
            return Err(Error::Query(format!(
                "item {item}: item ids cannot be negative"
            )));
        }
        if item >= i64::from(self.n_items) {
            return Err(Error::Query(format!(
                "item {item} is out of range: the index holds items 0..{}",
                self.n_items
            )));
        }
        Ok(item as usize)
    }

    /// Walk every node once and report the first that refers outside the index. Queries check
    /// what they touch anyway; this is for `inspect` and for callers that want to refuse a bad
    /// file up front (it reads the whole file).
    pub fn validate(&self) -> Result<()> {
        for i in 0..self.n_nodes {
            let n = self.n_descendants(i);
            let corrupt = |reason: String| Error::Corrupt {
                source_name: self.source_name.clone(),
                node: i as i64,
                reason,
            };
            if n < 0 {
                return Err(corrupt(format!("negative descendant count {n}")));
            }
            let items = if n == 1 && (i as i64) < i64::from(self.n_items) {
                0
            } else if n as usize <= self.layout.max_bucket {
                n as usize
            } else {
                2
            };
            for k in 0..items {
                let c = self.child(i, k);
                if c < 0 || c as usize >= self.n_nodes {
                    return Err(corrupt(format!(
                        "child {k} is {c}, outside the file's {} nodes",
                        self.n_nodes
                    )));
                }
            }
        }
        Ok(())
    }
}
