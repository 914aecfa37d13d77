//! Building an index annoy loads: annoy's own algorithm (random two-means splits drawn from its
//! 64-bit KISS generator), one tree after another as annoy builds with `n_jobs=1`.
//!
//! The file layout is annoy's exactly; whether the trees come out byte for byte as annoy's
//! depends on float rounding in the two-means loop, which annoy's build leaves to the
//! compiler (see `docs/NEIGHBORS.md` for how close this gets).

use crate::kernels;
use crate::metric::{Layout, Metric};
use crate::{Error, Result};

/// annoy's `Kiss64Random`.
#[derive(Debug, Clone)]
struct Kiss64 {
    x: u64,
    y: u64,
    z: u64,
    c: u64,
}

impl Kiss64 {
    /// annoy's default seed when `set_seed` was not called.
    const DEFAULT_SEED: u64 = 1_234_567_890_987_654_321;

    fn new(seed: u64) -> Self {
        Self {
            x: seed,
            y: 362_436_362_436_362_436,
            z: 1_066_149_217_761_810,
            c: 123_456_123_456_123_456,
        }
    }

    fn kiss(&mut self) -> u64 {
        self.z = 6_906_969_069u64
            .wrapping_mul(self.z)
            .wrapping_add(1_234_567);
        self.y ^= self.y << 13;
        self.y ^= self.y >> 17;
        self.y ^= self.y << 43;
        let t = (self.x << 58).wrapping_add(self.c);
        self.c = self.x >> 6;
        self.x = self.x.wrapping_add(t);
        self.c = self.c.wrapping_add(u64::from(self.x < t));
        self.x.wrapping_add(self.y).wrapping_add(self.z)
    }

    fn flip(&mut self) -> bool {
        self.kiss() & 1 == 1
    }

    fn index(&mut self, n: usize) -> usize {
        (self.kiss() % n as u64) as usize
    }
}

/// What to build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The metric.
    pub metric: Metric,
    /// Vector dimension.
    pub dims: usize,
    /// Trees (`-1`: annoy's automatic count, until the nodes are twice the items).
    pub trees: i32,
    /// The seed (annoy's `set_seed`); `None` is annoy's default seed.
    pub seed: Option<u64>,
}

/// A node while building: the same fields the file holds, as values.
#[derive(Debug, Clone, Default)]
struct Node {
    n_descendants: i32,
    children: Vec<i32>,
    /// Angular's cached squared norm; euclidean/manhattan's plane offset; dot's extra dimension.
    scalar: f32,
    v: Vec<f32>,
    bits: Vec<u64>,
}

/// Adds items, then builds and serialises the forest.
#[derive(Debug)]
pub struct Builder {
    options: BuildOptions,
    layout: Layout,
    nodes: Vec<Node>,
    n_items: usize,
}

impl Builder {
    /// An empty builder.
    pub fn new(options: BuildOptions) -> Result<Self> {
        if options.dims == 0 {
            return Err(Error::Build("the dimension must be at least 1".into()));
        }
        Ok(Self {
            layout: Layout::new(options.metric, options.dims),
            options,
            nodes: Vec::new(),
            n_items: 0,
        })
    }

    /// Add `vector` as item `id` (ids need not be contiguous: gaps stay empty, as in annoy).
    pub fn add_item(&mut self, id: i64, vector: &[f32]) -> Result<()> {
        let dims = self.options.dims;
        if vector.len() != dims {
            return Err(Error::Build(format!(
                "item {id} has {} values; the index is {dims}-dimensional",
                vector.len()
            )));
        }
        if let Some(k) = vector.iter().position(|x| !x.is_finite()) {
            return Err(Error::Build(format!(
                "item {id}: value {k} is not a finite number"
            )));
        }
        let id = usize::try_from(id)
            .ok()
            .filter(|&i| i < i32::MAX as usize / 2)
            .ok_or_else(|| Error::Build(format!("item id {id} is negative or too large")))?;
        if self.nodes.len() <= id {
            self.nodes.resize(id + 1, Node::default());
        }
        let mut node = Node {
            n_descendants: 1,
            children: vec![0, 0],
            ..Node::default()
        };
        if self.options.metric == Metric::Hamming {
            let mut words = vec![0u64; self.layout.stored_dims];
            for (k, x) in vector.iter().enumerate() {
                words[k / 64] |= u64::from(*x > 0.5) << (k % 64);
            }
            node.bits = words;
        } else {
            node.v = vector.to_vec();
            if self.options.metric == Metric::Angular {
                node.scalar = kernels::dot(&node.v, &node.v);
            }
        }
        self.nodes[id] = node;
        self.n_items = self.n_items.max(id + 1);
        Ok(())
    }

    /// Build the trees and return the file's bytes.
    pub fn build(mut self) -> Result<Vec<u8>> {
        if self.options.metric == Metric::Dot {
            self.dot_preprocess();
        }
        let mut random = Kiss64::new(self.options.seed.unwrap_or(Kiss64::DEFAULT_SEED));
        let mut roots = Vec::new();
        let n_items = self.n_items;
        loop {
            if self.options.trees < 0 {
                if self.nodes.len() >= 2 * n_items {
                    break;
                }
            } else if roots.len() >= self.options.trees as usize {
                break;
            }
            let indices: Vec<i32> = (0..n_items)
                .filter(|&i| self.nodes[i].n_descendants >= 1)
                .map(|i| i as i32)
                .collect();
            roots.push(self.make_tree(&indices, true, &mut random));
        }
        for r in roots {
            let copy = self.nodes[r as usize].clone();
            self.nodes.push(copy);
        }
        Ok(self.serialize())
    }

    /// annoy's Bachrach et al. transform: each item's extra dimension makes all norms equal.
    fn dot_preprocess(&mut self) {
        let n = self.n_items;
        for node in &mut self.nodes[..n] {
            let d = kernels::dot(&node.v, &node.v);
            node.scalar = if d < 0.0 { 0.0 } else { d.sqrt() };
        }
        let max_norm =
            self.nodes[..n].iter().fold(
                0.0f32,
                |m, node| if node.scalar > m { node.scalar } else { m },
            );
        for node in &mut self.nodes[..n] {
            let diff = max_norm * max_norm - node.scalar * node.scalar;
            node.scalar = if diff < 0.0 { 0.0 } else { diff.sqrt() };
        }
    }

    fn make_tree(&mut self, indices: &[i32], is_root: bool, random: &mut Kiss64) -> i32 {
        let max_bucket = self.layout.max_bucket;
        if indices.len() == 1 && !is_root {
            return indices[0];
        }
        if indices.len() <= max_bucket
            && (!is_root || self.n_items <= max_bucket || indices.len() == 1)
        {
            let node = Node {
                n_descendants: if is_root {
                    self.n_items as i32
                } else {
                    indices.len() as i32
                },
                children: indices.to_vec(),
                ..Node::default()
            };
            self.nodes.push(node);
            return (self.nodes.len() - 1) as i32;
        }
        let mut split = Node::default();
        let mut sides: [Vec<i32>; 2] = [Vec::new(), Vec::new()];
        for _attempt in 0..3 {
            sides[0].clear();
            sides[1].clear();
            split = self.create_split(indices, random);
            for &j in indices {
                let side = self.side(&split, j as usize, random);
                sides[usize::from(side)].push(j);
            }
            if imbalance(&sides) < 0.95 {
                break;
            }
        }
        while imbalance(&sides) > 0.99 {
            sides[0].clear();
            sides[1].clear();
            split.v.iter_mut().for_each(|x| *x = 0.0);
            split.bits.iter_mut().for_each(|x| *x = 0);
            for &j in indices {
                sides[usize::from(random.flip())].push(j);
            }
        }
        let flip = usize::from(sides[0].len() > sides[1].len());
        split.n_descendants = if is_root {
            self.n_items as i32
        } else {
            indices.len() as i32
        };
        let mut children = [0i32; 2];
        for side in 0..2 {
            // Smaller side first, as annoy does (it decides the node numbering).
            let s = side ^ flip;
            let part = std::mem::take(&mut sides[s]);
            children[s] = self.make_tree(&part, false, random);
        }
        split.children = children.to_vec();
        self.nodes.push(split);
        (self.nodes.len() - 1) as i32
    }

    fn side(&self, split: &Node, j: usize, random: &mut Kiss64) -> bool {
        let item = &self.nodes[j];
        let margin = match self.options.metric {
            Metric::Hamming => {
                let b = split.bits[0];
                return item.bits[(b / 64) as usize] & (1u64 << (63 - b % 64)) != 0;
            }
            Metric::Angular => kernels::dot(&split.v, &item.v),
            Metric::Dot => split
                .scalar
                .mul_add(split.scalar, kernels::dot(&split.v, &item.v)),
            Metric::Euclidean | Metric::Manhattan => split.scalar + kernels::dot(&split.v, &item.v),
        };
        if margin != 0.0 {
            margin > 0.0
        } else {
            random.flip()
        }
    }

    fn create_split(&self, indices: &[i32], random: &mut Kiss64) -> Node {
        let f = self.options.dims;
        let metric = self.options.metric;
        if metric == Metric::Hamming {
            return self.hamming_split(indices, random);
        }
        let (p, q) = self.two_means(
            indices,
            random,
            matches!(metric, Metric::Angular | Metric::Dot),
        );
        let mut n = Node {
            v: (0..f).map(|z| p.v[z] - q.v[z]).collect(),
            ..Node::default()
        };
        match metric {
            Metric::Dot => {
                n.scalar = p.scalar - q.scalar;
                dot_normalize(&mut n);
            }
            _ => normalize(&mut n.v),
        }
        if matches!(metric, Metric::Euclidean | Metric::Manhattan) {
            let mut a = 0.0f32;
            for z in 0..f {
                a += -n.v[z] * (p.v[z] + q.v[z]) / 2.0;
            }
            n.scalar = a;
        }
        n
    }

    fn hamming_split(&self, indices: &[i32], random: &mut Kiss64) -> Node {
        let dim = self.layout.stored_dims * 64;
        let words = self.layout.stored_dims;
        let count = |b: u64| {
            indices
                .iter()
                .filter(|&&j| {
                    self.nodes[j as usize].bits[(b / 64) as usize] & (1u64 << (63 - b % 64)) != 0
                })
                .count()
        };
        let mut bit = 0u64;
        let mut found = false;
        for _ in 0..20 {
            bit = random.index(dim) as u64;
            let c = count(bit);
            if c > 0 && c < indices.len() {
                found = true;
                break;
            }
        }
        if !found {
            for j in 0..dim as u64 {
                bit = j;
                let c = count(j);
                if c > 0 && c < indices.len() {
                    break;
                }
            }
        }
        let mut bits = vec![0u64; words];
        bits[0] = bit;
        Node {
            bits,
            ..Node::default()
        }
    }

    /// annoy's `two_means`: two centroids pulled towards 200 random items, each weighted by
    /// how many it has taken.
    fn two_means(&self, indices: &[i32], random: &mut Kiss64, cosine: bool) -> (Node, Node) {
        let metric = self.options.metric;
        let count = indices.len();
        let i = random.index(count);
        let mut j = random.index(count - 1);
        j += usize::from(j >= i);
        let mut p = self.nodes[indices[i] as usize].clone();
        let mut q = self.nodes[indices[j] as usize].clone();
        if metric != Metric::Dot {
            p.scalar = 0.0;
            q.scalar = 0.0;
        }
        if cosine {
            if metric == Metric::Dot {
                dot_normalize(&mut p);
                dot_normalize(&mut q);
            } else {
                normalize(&mut p.v);
                normalize(&mut q.v);
            }
        }
        let init = |n: &mut Node| {
            if metric == Metric::Angular {
                n.scalar = kernels::dot(&n.v, &n.v);
            }
        };
        init(&mut p);
        init(&mut q);
        let (mut ic, mut jc) = (1i32, 1i32);
        for _ in 0..200 {
            let k = &self.nodes[indices[random.index(count)] as usize];
            let di = ic as f32 * self.node_distance(&p, k);
            let dj = jc as f32 * self.node_distance(&q, k);
            let norm = if cosine {
                kernels::dot(&k.v, &k.v).sqrt()
            } else {
                1.0
            };
            if norm.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
                continue;
            }
            if di < dj {
                for z in 0..p.v.len() {
                    p.v[z] =
                        p.v[z].mul_add(ic as f32, k.v[z] * (1.0 / norm)) * (1.0 / (ic + 1) as f32);
                }
                init(&mut p);
                ic += 1;
            } else if dj < di {
                for z in 0..q.v.len() {
                    q.v[z] =
                        q.v[z].mul_add(jc as f32, k.v[z] * (1.0 / norm)) * (1.0 / (jc + 1) as f32);
                }
                init(&mut q);
                jc += 1;
            }
        }
        (p, q)
    }

    fn node_distance(&self, a: &Node, b: &Node) -> f32 {
        match self.options.metric {
            Metric::Angular => {
                let pp = if a.scalar != 0.0 {
                    a.scalar
                } else {
                    kernels::dot(&a.v, &a.v)
                };
                let qq = if b.scalar != 0.0 {
                    b.scalar
                } else {
                    kernels::dot(&b.v, &b.v)
                };
                kernels::angular(pp, qq, kernels::dot(&a.v, &b.v))
            }
            Metric::Euclidean => kernels::euclidean_squared(&a.v, &b.v),
            Metric::Manhattan => kernels::manhattan(&a.v, &b.v),
            Metric::Dot => -kernels::dot(&a.v, &b.v),
            Metric::Hamming => 0.0,
        }
    }

    fn serialize(&self) -> Vec<u8> {
        let l = &self.layout;
        let mut out = vec![0u32; self.nodes.len() * l.node_words];
        for (i, node) in self.nodes.iter().enumerate() {
            let w = &mut out[i * l.node_words..(i + 1) * l.node_words];
            w[0] = node.n_descendants as u32;
            let is_item = node.n_descendants == 1 && i < self.n_items;
            let is_bucket = !is_item && (node.n_descendants as usize) <= l.max_bucket;
            // Scalars first: angular's norm shares its word with children[0] (a union), and
            // the children written after it win for splits and buckets, as in annoy.
            match self.options.metric {
                Metric::Angular => w[1] = node.scalar.to_bits(),
                Metric::Euclidean | Metric::Manhattan => w[1] = node.scalar.to_bits(),
                Metric::Dot => w[3] = node.scalar.to_bits(),
                Metric::Hamming => {}
            }
            if self.options.metric == Metric::Hamming {
                for (k, b) in node.bits.iter().enumerate() {
                    w[l.vector + 2 * k] = *b as u32;
                    w[l.vector + 2 * k + 1] = (*b >> 32) as u32;
                }
            } else {
                for (k, x) in node.v.iter().enumerate() {
                    w[l.vector + k] = x.to_bits();
                }
            }
            let children: &[i32] = if is_bucket || !is_item {
                &node.children
            } else {
                &node.children[..node.children.len().min(2)]
            };
            if !(is_item && self.options.metric == Metric::Angular) {
                for (k, c) in children.iter().enumerate() {
                    w[l.children + k] = *c as u32;
                }
            }
        }
        bytemuck::cast_slice(&out).to_vec()
    }
}

fn imbalance(sides: &[Vec<i32>; 2]) -> f64 {
    let ls = sides[0].len() as f32 as f64;
    let rs = sides[1].len() as f32 as f64;
    let f = (ls / (ls + rs + 1e-9)) as f32;
    f64::from(f.max(1.0 - f))
}

fn normalize(v: &mut [f32]) {
    let norm = kernels::dot(v, v).sqrt();
    if norm > 0.0 {
        // annoy's `-ffast-math` turns the division into a multiplication by the reciprocal.
        let r = 1.0 / norm;
        v.iter_mut().for_each(|x| *x *= r);
    }
}

fn dot_normalize(n: &mut Node) {
    let norm = (kernels::dot(&n.v, &n.v) + n.scalar * n.scalar).sqrt();
    if norm > 0.0 {
        n.v.iter_mut().for_each(|x| *x /= norm);
        n.scalar /= norm;
    }
}
