//! annoy's `_get_all_nns`, step for step.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::index::AnnoyIndex;
use crate::kernels;
use crate::metric::Metric;
use crate::{Error, Result};

/// The answer to one query: item ids nearest first, and annoy's distance for each.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Neighbors {
    /// Item ids, nearest first.
    pub ids: Vec<i64>,
    /// annoy's (normalised) distance of each id.
    pub distances: Vec<f32>,
}

/// A query as annoy holds it: floats (with the squared norm angular caches), or packed bits.
enum Query {
    Floats { v: Vec<f32>, norm: f32 },
    Bits(Vec<u64>),
}

/// A priority-queue entry ordered as C++'s `std::pair<T, S>`: by priority, then by node id,
/// so that ties pop the larger node first exactly as annoy's `std::priority_queue` does.
#[derive(Clone, Copy)]
struct Entry<D> {
    priority: D,
    node: i32,
}

impl<D: PartialOrd> PartialEq for Entry<D> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl<D: PartialOrd> Eq for Entry<D> {}
impl<D: PartialOrd> PartialOrd for Entry<D> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<D: PartialOrd> Ord for Entry<D> {
    fn cmp(&self, other: &Self) -> Ordering {
        // `a < b` for pairs: a.first < b.first, or neither is less and a.second < b.second.
        // Incomparable priorities (NaN) count as equal, as `operator<` makes them.
        match self.priority.partial_cmp(&other.priority) {
            Some(Ordering::Equal) | None => self.node.cmp(&other.node),
            Some(o) => o,
        }
    }
}

impl AnnoyIndex {
    /// The `n` nearest items to `vector` (annoy's `get_nns_by_vector`). `search_k` is annoy's:
    /// `-1` inspects `n × trees` candidates; larger is more exact and slower.
    pub fn nns_by_vector(&self, vector: &[f32], n: usize, search_k: i64) -> Result<Neighbors> {
        if vector.len() != self.dims {
            return Err(Error::Query(format!(
                "the query has {} values; the index holds {}-dimensional vectors",
                vector.len(),
                self.dims
            )));
        }
        if let Some(k) = vector.iter().position(|x| x.is_nan()) {
            return Err(Error::Query(format!(
                "the query's value {k} is NaN; annoy cannot order distances to it"
            )));
        }
        let query = match self.metric {
            Metric::Hamming => {
                // annoy's Python wrapper packs bit j of word i from x[64i + j] > 0.5.
                let mut words = vec![0u64; self.layout.stored_dims];
                for (k, x) in vector.iter().enumerate() {
                    words[k / 64] |= u64::from(*x > 0.5) << (k % 64);
                }
                Query::Bits(words)
            }
            _ => Query::Floats {
                norm: kernels::dot(vector, vector),
                v: vector.to_vec(),
            },
        };
        self.search(&query, n, search_k)
    }

    /// The `n` nearest items to item `item` (annoy's `get_nns_by_item`), itself included.
    pub fn nns_by_item(&self, item: i64, n: usize, search_k: i64) -> Result<Neighbors> {
        let i = self.check_item(item)?;
        let query = match self.metric {
            Metric::Hamming => Query::Bits(self.bits(i)[..self.layout.stored_dims].to_vec()),
            _ => {
                let v = self.vector(i)[..self.dims].to_vec();
                Query::Floats {
                    norm: kernels::dot(&v, &v),
                    v,
                }
            }
        };
        self.search(&query, n, search_k)
    }

    fn corrupt(&self, node: i64, reason: String) -> Error {
        Error::Corrupt {
            source_name: self.source_name.clone(),
            node,
            reason,
        }
    }

    fn check_node(&self, from: usize, id: i32) -> Result<usize> {
        if id < 0 || id as usize >= self.n_nodes {
            return Err(self.corrupt(
                from as i64,
                format!(
                    "it refers to node {id}, outside the file's {} nodes",
                    self.n_nodes
                ),
            ));
        }
        Ok(id as usize)
    }

    fn search(&self, query: &Query, n: usize, search_k: i64) -> Result<Neighbors> {
        let search_k: usize = match search_k {
            -1 => n.saturating_mul(self.roots.len()),
            // annoy compares against `(size_t)search_k`: other negatives mean no limit.
            k if k < 0 => usize::MAX,
            k => k as usize,
        };
        let candidates = match query {
            Query::Floats { v, .. } => self.candidates_f32(v, search_k)?,
            Query::Bits(bits) => self.candidates_bits(bits, search_k)?,
        };
        self.rank(query, candidates, n)
    }

    /// Walk the trees best-first until `search_k` candidates are found (floats): a child's
    /// priority is `min(d, ±margin)`.
    fn candidates_f32(&self, q: &[f32], search_k: usize) -> Result<Vec<i32>> {
        self.walk(f32::INFINITY, search_k, |i, d| {
            let margin = self.margin_f32(i, q);
            // std::min(d, m): `m < d ? m : d`.
            let min = |m: f32| if m < d { m } else { d };
            Ok((min(margin), min(-margin)))
        })
    }

    /// The same walk for hamming: integer priorities that lose one for each wrong-side step.
    fn candidates_bits(&self, q: &[u64], search_k: usize) -> Result<Vec<i32>> {
        self.walk(u64::MAX, search_k, |i, d| {
            // The split bit: bit 63 − b%64 of word b/64 (most significant first).
            let b = self.bits(i)[0];
            let word = usize::try_from(b / 64).ok().filter(|&w| w < q.len());
            let Some(word) = word else {
                return Err(self.corrupt(
                    i as i64,
                    format!("split bit {b} is past the {}-bit vectors", q.len() * 64),
                ));
            };
            let side = (q[word] & (1u64 << (63 - b % 64))) != 0;
            Ok((
                d.wrapping_sub(u64::from(!side)),
                d.wrapping_sub(u64::from(side)),
            ))
        })
    }

    /// annoy's best-first walk from every root, with priorities of type `D` starting at
    /// `initial`; `split(node, d)` gives the (right, left) children's priorities.
    fn walk<D: Copy + PartialOrd>(
        &self,
        initial: D,
        search_k: usize,
        split: impl Fn(usize, D) -> Result<(D, D)>,
    ) -> Result<Vec<i32>> {
        let mut heap: BinaryHeap<Entry<D>> = self
            .roots
            .iter()
            .map(|&r| Entry {
                priority: initial,
                node: r,
            })
            .collect();
        let mut nns = Vec::new();
        let mut visits = 0usize;
        while nns.len() < search_k {
            let Some(Entry { priority: d, node }) = heap.pop() else {
                break;
            };
            // Roots come from the loader and children were checked when pushed.
            let i = node as usize;
            self.visit(&mut visits, i)?;
            match self.kind(i)? {
                NodeKind::Item => nns.push(node),
                NodeKind::Bucket(len) => self.push_bucket(i, len, &mut nns)?,
                NodeKind::Split => {
                    let (right_d, left_d) = split(i, d)?;
                    // annoy pushes the right child first.
                    let right = self.check_node(i, self.child(i, 1))?;
                    let left = self.check_node(i, self.child(i, 0))?;
                    heap.push(Entry {
                        priority: right_d,
                        node: right as i32,
                    });
                    heap.push(Entry {
                        priority: left_d,
                        node: left as i32,
                    });
                }
            }
        }
        Ok(nns)
    }

    /// A valid index is a forest: each node is reached once. More visits than nodes means the
    /// file's children form a cycle; stop rather than loop.
    fn visit(&self, visits: &mut usize, node: usize) -> Result<()> {
        *visits += 1;
        if *visits > self.n_nodes + self.roots.len() {
            return Err(self.corrupt(
                node as i64,
                "the trees loop back on themselves (a node is reached twice)".into(),
            ));
        }
        Ok(())
    }

    fn kind(&self, i: usize) -> Result<NodeKind> {
        let n = self.n_descendants(i);
        if n == 1 && (i as i64) < i64::from(self.n_items) {
            Ok(NodeKind::Item)
        } else if n < 0 {
            Err(self.corrupt(i as i64, format!("negative descendant count {n}")))
        } else if n as usize <= self.layout.max_bucket {
            Ok(NodeKind::Bucket(n as usize))
        } else {
            Ok(NodeKind::Split)
        }
    }

    fn push_bucket(&self, i: usize, len: usize, nns: &mut Vec<i32>) -> Result<()> {
        let words = &self.node(i)[self.layout.children..self.layout.children + len];
        for &w in words {
            self.check_node(i, w as i32)?;
            nns.push(w as i32);
        }
        Ok(())
    }

    fn margin_f32(&self, i: usize, q: &[f32]) -> f32 {
        let v = &self.vector(i)[..self.dims];
        match self.metric {
            Metric::Angular => kernels::dot(v, q),
            // 1.17.3 adds the square of the node's extra dimension (master does not); GCC
            // contracts that square and add into one FMA.
            Metric::Dot => {
                let f = self.scalar(i, 3);
                f.mul_add(f, kernels::dot(v, q))
            }
            Metric::Euclidean | Metric::Manhattan => self.scalar(i, 1) + kernels::dot(v, q),
            Metric::Hamming => 0.0,
        }
    }

    /// Sort and deduplicate the candidates, keep the items, order by (distance, id).
    fn rank(&self, query: &Query, mut nns: Vec<i32>, n: usize) -> Result<Neighbors> {
        nns.sort_unstable();
        nns.dedup();
        let mut scored: Vec<(f32, u64, i32)> = Vec::with_capacity(nns.len());
        for j in nns {
            let ju = j as usize; // checked when it was collected
            if self.n_descendants(ju) != 1 {
                continue; // annoy's guard for buckets that list non-items (#284)
            }
            scored.push(match query {
                Query::Floats { v, norm } => (self.distance_f32(v, *norm, ju), 0, j),
                Query::Bits(bits) => {
                    let d: u64 = bits
                        .iter()
                        .zip(self.bits(ju))
                        .map(|(a, b)| u64::from((a ^ b).count_ones()))
                        .sum();
                    (0.0, d, j)
                }
            });
        }
        let by_pair = |a: &(f32, u64, i32), b: &(f32, u64, i32)| {
            a.0.partial_cmp(&b.0)
                .unwrap_or(Ordering::Equal)
                .then(a.1.cmp(&b.1))
                .then(a.2.cmp(&b.2))
        };
        let p = n.min(scored.len());
        if p < scored.len() {
            scored.select_nth_unstable_by(p, by_pair);
            scored.truncate(p);
        }
        scored.sort_unstable_by(by_pair);
        let metric = self.metric;
        Ok(Neighbors {
            ids: scored.iter().map(|s| i64::from(s.2)).collect(),
            distances: scored
                .iter()
                .map(|s| match metric {
                    Metric::Angular | Metric::Euclidean => s.0.max(0.0).sqrt(),
                    Metric::Manhattan => s.0.max(0.0),
                    Metric::Dot => -s.0,
                    Metric::Hamming => s.1 as f32,
                })
                .collect(),
        })
    }

    fn distance_f32(&self, q: &[f32], q_norm: f32, j: usize) -> f32 {
        let v = &self.vector(j)[..self.dims];
        match self.metric {
            Metric::Angular => {
                // annoy falls back to computing a norm that older files did not cache.
                let pp = if q_norm != 0.0 {
                    q_norm
                } else {
                    kernels::dot(q, q)
                };
                let cached = self.scalar(j, 1);
                let qq = if cached != 0.0 {
                    cached
                } else {
                    kernels::dot(v, v)
                };
                kernels::angular(pp, qq, kernels::dot(q, v))
            }
            Metric::Euclidean => kernels::euclidean_squared(q, v),
            Metric::Manhattan => kernels::manhattan(q, v),
            Metric::Dot => -kernels::dot(q, v),
            Metric::Hamming => 0.0,
        }
    }
}

enum NodeKind {
    Item,
    Bucket(usize),
    Split,
}
