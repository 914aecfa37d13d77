//! The distance metrics annoy 1.17.3 ships, and the node layout each one implies.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// An annoy metric. The file does not record it: the caller must say which one built it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// `sqrt(2 − 2·cos)`, annoy's default.
    Angular,
    /// Euclidean (L2) distance.
    Euclidean,
    /// Manhattan (L1) distance.
    Manhattan,
    /// Inner product (larger is nearer), in annoy 1.17.3's layout.
    Dot,
    /// Hamming distance over bits (`x > 0.5`), packed into 64-bit words.
    Hamming,
}

/// Every metric, in the order error messages list them.
pub const METRICS: [Metric; 5] = [
    Metric::Angular,
    Metric::Euclidean,
    Metric::Manhattan,
    Metric::Dot,
    Metric::Hamming,
];

impl Metric {
    /// The name annoy uses (`AnnoyIndex(f, "angular")`).
    pub fn name(self) -> &'static str {
        match self {
            Metric::Angular => "angular",
            Metric::Euclidean => "euclidean",
            Metric::Manhattan => "manhattan",
            Metric::Dot => "dot",
            Metric::Hamming => "hamming",
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Metric {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        // annoy accepts these spellings too.
        match s {
            "angular" => Ok(Metric::Angular),
            "euclidean" => Ok(Metric::Euclidean),
            "manhattan" => Ok(Metric::Manhattan),
            "dot" => Ok(Metric::Dot),
            "hamming" => Ok(Metric::Hamming),
            other => Err(Error::UnknownMetric(other.to_string())),
        }
    }
}

/// Where a metric's node keeps its fields, in 32-bit words from the node's start. Every node
/// is `n_descendants: i32` first; see research/engines.md §4 for the C structs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Words per node (the file is a whole number of nodes).
    pub node_words: usize,
    /// First word of `children` (and of a bucket's item list, which spills past it).
    pub children: usize,
    /// First word of the vector.
    pub vector: usize,
    /// The largest item list a bucket node holds (annoy's `_K`).
    pub max_bucket: usize,
    /// Vector length in the file's units: floats, or 64-bit words for hamming.
    pub stored_dims: usize,
}

impl Layout {
    /// The layout of `metric` for `dims`-dimensional vectors.
    pub fn new(metric: Metric, dims: usize) -> Self {
        let (children, vector, stored_dims, vector_words) = match metric {
            // i32 n; union { i32 children[2]; f32 norm }; f32 v[f]
            Metric::Angular => (1, 3, dims, dims),
            // i32 n; f32 a; i32 children[2]; f32 v[f]
            Metric::Euclidean | Metric::Manhattan => (2, 4, dims, dims),
            // i32 n; i32 children[2]; f32 dot_factor; f32 v[f]   (1.17.3)
            Metric::Dot => (1, 4, dims, dims),
            // i32 n; i32 children[2]; pad; u64 v[ceil(f/64)]
            Metric::Hamming => {
                let words = dims.div_ceil(64);
                (1, 4, words, 2 * words)
            }
        };
        let node_words = vector + vector_words;
        Self {
            node_words,
            children,
            vector,
            max_bucket: node_words - children,
            stored_dims,
        }
    }

    /// Bytes per node.
    pub fn node_bytes(&self) -> usize {
        self.node_words * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sizes annoylib.h gives (`offsetof(Node, v) + f * sizeof(T)`) and its `_K`.
    #[test]
    fn node_sizes_and_bucket_capacity_match_annoy() {
        let l = Layout::new(Metric::Angular, 10);
        assert_eq!((l.node_bytes(), l.max_bucket), (52, 12));
        let l = Layout::new(Metric::Euclidean, 10);
        assert_eq!((l.node_bytes(), l.max_bucket), (56, 12));
        let l = Layout::new(Metric::Dot, 10);
        assert_eq!((l.node_bytes(), l.max_bucket), (56, 13));
        let l = Layout::new(Metric::Hamming, 100);
        assert_eq!((l.node_bytes(), l.max_bucket), (32, 7));
        assert!("cosine".parse::<Metric>().is_err());
    }
}
