//! The fast evaluator. A [`Forest`] is compiled once into a flat node array laid out for
//! traversal; scoring then runs block by block over rows, in parallel with rayon.
//!
//! Layout and traversal (none of this is QuickScorer's bitvector scheme):
//! - Every node is `{threshold, feature|flags, left}`; trees are stored breadth-first, so a
//!   node's right child is `left + 1` and the hot top levels of a tree share cache lines
//!   (16 bytes a node in `f64`, 12 in `f32`).
//! - A leaf points at itself and its threshold slot holds its value; its feature is a slot of
//!   the row that always holds -∞, so its test always says "left". A walk
//!   can therefore take extra steps after reaching a leaf without changing its result, which lets
//!   one loop advance several walks in lockstep with no per-walk branch: 8 rows through one tree
//!   (large batches), or one row through 8 trees (single rows). The independent walks hide the
//!   memory latency of each other's node loads.
//! - Every numeric test is reduced at compile time to `left = x <= t'`: `x < t` becomes
//!   `x <= next_down(t)`, "NaN compares as zero" becomes a default direction of `0 <= t'`, and
//!   the default direction itself is folded into *which copy of the row* the node reads. Each
//!   row is stored twice side by side, once with NaN replaced by -∞ (read by nodes whose missing
//!   values go left) and once with NaN replaced by +∞ (nodes whose missing values go right), so
//!   the hot comparison needs no NaN test. (A real ±∞ is the same in both copies; a value that
//!   differs between the copies was NaN.) Tests that cannot be reduced — categorical sets,
//!   LightGBM's zero-as-missing when a feature mixes rules, infinite thresholds — are flagged
//!   and take a slower path that reads the raw value back from the two copies.
//! - Shallow whole trees of plain tests are not walked in blocks of `MASK_MIN_ROWS` rows or
//!   more: `masks` takes every node's test for 64 rows at once and selects each row's path
//!   with bitwise operations (see there).

use rayon::prelude::*;

#[cfg(feature = "jit")]
use crate::engine::{Chooser, Running};
use crate::engine::{Engine, EngineInfo};
use crate::float::Float;
use crate::ir::{
    Aggregation, CategoryCast, Comparison, Forest, InputRule, Missing, NanRoute, Node, SplitTest,
};
use crate::link::Link;
use crate::masks::{self, ColumnBlock, MaskedTree};
use crate::reference::{ZERO_THRESHOLD, in_category_set, prepare};
use crate::source::FeatureSource;

pub(crate) const DEFAULT_LEFT: u32 = 1 << 31;
pub(crate) const LEAF: u32 = 1 << 30;
pub(crate) const SPECIAL: u32 = 1 << 29;
pub(crate) const FEATURE_MASK: u32 = SPECIAL - 1;
pub(crate) const NO_LINEAR: u32 = u32::MAX;

/// [`Engine::Auto`] interprets forests smaller than this: generating their code costs more
/// than it can save.
const AUTO_MIN_NODES: usize = 256;
/// The largest forest generated into code (about 16 bytes of code a node).
const MAX_JIT_NODES: usize = 4 << 20;

/// Rows walked together through a tree in one lockstep loop.
const LANES: usize = 8;
/// Rows per block: one block's features (≈ rows × features values) stay in L1/L2 while every
/// tree passes over them.
const BLOCK_ROWS: usize = 128;
/// Fewest rows scored by predicate masks (`masks`): every node of a tree is tested, for
/// eight rows at a time, so a few rows are cheaper to walk.
const MASK_MIN_ROWS: usize = 16;

#[derive(Clone, Copy, Debug)]
#[repr(C)]
pub(crate) struct CNode<T> {
    /// Threshold for a split (already in `<=` form), leaf value for a leaf, index into
    /// `specials` for a flagged split.
    pub(crate) value: T,
    /// Feature index plus the flag bits above.
    pub(crate) feature: u32,
    /// The left child; the right one is next to it. A leaf points at itself.
    pub(crate) left: u32,
}

#[derive(Clone, Debug)]
pub(crate) enum Special<T> {
    Categorical {
        words: std::ops::Range<usize>,
        in_set_goes_left: bool,
        nan: NanRoute,
        cast: CategoryCast,
    },
    ZeroMissing {
        threshold: T,
    },
    /// A numeric test whose threshold is infinite or NaN, where the ±∞ stand-ins for NaN
    /// would compare wrongly.
    Numeric {
        threshold: T,
    },
}

/// The top `levels` levels of a tree stored as a complete binary tree: the walk starts with
/// `levels` steps of `i = 2i + 1 + went_right`, with no child pointer to load and no leaf test.
/// A leaf above the last level is copied to every last-level slot below it, so any path
/// through the padding under it ends on it. Each last-level slot names the pointer-layout node
/// the walk continues from; when `complete`, that is always a leaf and the walk ends there.
#[derive(Clone, Copy, Debug)]
struct Top {
    levels: u32,
    complete: bool,
    nodes: usize,
    slots: usize,
}

/// Levels kept in the implicit layout for a tree too deep or sparse to store whole.
const TOP_LEVELS: usize = 6;
/// Deepest tree stored whole in the implicit layout (2^10 slots).
const TOP_MAX_LEVELS: usize = 10;
/// A tree is stored whole when `2^depth <= TOP_MAX_WASTE × leaves`: sparser trees would spend
/// more time on padding than the pointer layout spends on child loads.
const TOP_MAX_WASTE: usize = 4;

#[derive(Clone, Debug)]
pub(crate) struct CLinear {
    pub(crate) constant: f64,
    pub(crate) features: Vec<u32>,
    pub(crate) coefficients: Vec<f64>,
}

/// A forest compiled for scoring in precision `T`.
#[derive(Clone, Debug)]
pub struct CompiledForest<T> {
    pub(crate) nodes: Vec<CNode<T>>,
    pub(crate) roots: Vec<u32>,
    pub(crate) groups: Vec<u32>,
    /// Per tree: the implicit layout of its top levels.
    tops: Vec<Top>,
    /// Implicit layouts: node `i`'s children are `2i+1` and `2i+2`; feature|flags per node.
    top_feature: Vec<u32>,
    /// Threshold (or `specials` index) per implicit node.
    top_value: Vec<T>,
    /// Per last-level slot: the leaf value when the layout is complete.
    top_leaf: Vec<T>,
    /// Per last-level slot: the pointer-layout node the walk continues from.
    top_next: Vec<u32>,
    pub(crate) specials: Vec<Special<T>>,
    pub(crate) category_words: Vec<u32>,
    /// Per node: index into `linear_leaves`, or `NO_LINEAR`. Empty when no leaf is linear.
    pub(crate) linear_of: Vec<u32>,
    pub(crate) linear_leaves: Vec<CLinear>,
    /// Per leaf-bearing tree weight is folded into constant leaves; linear leaves need it here.
    pub(crate) tree_weight: Vec<T>,
    base: Vec<T>,
    mean_divisor: Option<T>,
    num_features: usize,
    /// Features per row copy (at least one, so padding nodes can read feature 0).
    pub(crate) width: usize,
    /// Values per row in a block: the NaN→-∞ copy, the NaN→+∞ copy, then the -∞ slot
    /// leaves read (`2 * width`).
    pub(crate) stride: usize,
    pub(crate) num_groups: usize,
    link: Link,
    input_rule: InputRule,
    zero_missing: Vec<usize>,
    /// Per aligned chunk of LANES trees: whether they share one number of implicit levels,
    /// so one row can walk all of them in lockstep.
    even_chunks: Vec<bool>,
    /// Per tree: scored by predicate masks in blocks of `MASK_MIN_ROWS` rows or more
    /// (stored whole, at most `masks::MAX_LEVELS` deep, only plain numeric tests, constant
    /// leaves).
    masked: Vec<bool>,
    /// Every tree is `masked`, and nothing else reads a block's rows (no linear term, no
    /// generated code): blocks are read into columns only ([`Self::accumulate_columns`]).
    all_masked: bool,
    /// The linear term in precision `T`: feature-major weights, then one bias per group.
    linear: Option<(Vec<T>, Vec<T>)>,
    /// Generated code for the tree walks, shared by clones; `None` interprets.
    #[cfg(feature = "jit")]
    jit: Option<std::sync::Arc<crate::jit::Code>>,
    /// With [`Engine::Auto`] and code: which of the two runs (shared by clones), chosen
    /// apart for calls of fewer than [`LANES`] rows (index 0: single-row requests, where the
    /// interpreter walks trees in lockstep) and for larger ones (index 1: rows in lockstep).
    #[cfg(feature = "jit")]
    chooser: Option<std::sync::Arc<[Chooser; 2]>>,
    engine: EngineInfo,
}

/// The compiled form of a forest in its own precision.
#[derive(Clone, Debug)]
pub enum Predictor {
    /// XGBoost-style `f32` arithmetic.
    F32(CompiledForest<f32>),
    /// LightGBM-style `f64` arithmetic.
    F64(CompiledForest<f64>),
}

impl Predictor {
    /// Compile `forest` in its declared precision, with the process's
    /// [`default_engine`](crate::default_engine).
    pub fn compile(forest: &Forest) -> Self {
        Self::with_engine(forest, crate::default_engine())
    }

    /// Compile `forest` in its declared precision for `engine`.
    pub fn with_engine(forest: &Forest, engine: Engine) -> Self {
        match forest.precision {
            crate::Precision::F32 => {
                Predictor::F32(CompiledForest::compile(forest).with_engine(engine))
            }
            crate::Precision::F64 => {
                Predictor::F64(CompiledForest::compile(forest).with_engine(engine))
            }
        }
    }

    /// Which engine scores this forest now, and what generating its code cost.
    pub fn engine(&self) -> EngineInfo {
        match self {
            Predictor::F32(c) => c.engine(),
            Predictor::F64(c) => c.engine(),
        }
    }

    /// Number of features a row must have.
    pub fn num_features(&self) -> usize {
        match self {
            Predictor::F32(c) => c.num_features,
            Predictor::F64(c) => c.num_features,
        }
    }

    /// Values per row produced by [`Predictor::predict`] with `margin = margin_only`.
    pub fn num_outputs(&self, margin_only: bool) -> usize {
        match self {
            Predictor::F32(c) => c.num_outputs(margin_only),
            Predictor::F64(c) => c.num_outputs(margin_only),
        }
    }

    /// Score every row of `src`. Returns `rows × num_outputs` values, row-major: the linked
    /// predictions, or the raw margins when `margin_only`.
    pub fn predict<S: FeatureSource>(&self, src: &S, margin_only: bool) -> Vec<f64> {
        match self {
            Predictor::F32(c) => c.predict(src, margin_only),
            Predictor::F64(c) => c.predict(src, margin_only),
        }
    }
}

struct Scratch<T> {
    x: Vec<T>,
    margins: Vec<T>,
    /// The block column-major, for forests scored by predicate masks alone.
    columns: Vec<T>,
}

impl<T: Float> CompiledForest<T> {
    /// Compile a validated forest.
    pub fn compile(forest: &Forest) -> Self {
        let num_features = forest.num_features;
        // Padding nodes read feature 0 harmlessly; keep at least one column so that read is in bounds.
        let width = num_features.max(1);
        let stride = 2 * width + 1;
        let has_linear = forest.trees.iter().flat_map(|t| &t.nodes).any(|n| {
            matches!(
                n,
                Node::Leaf {
                    linear: Some(_),
                    ..
                }
            )
        });
        // Linear leaves and linear terms read raw feature values, so zero must stay zero.
        let zero_missing = if has_linear || forest.linear.is_some() {
            Vec::new()
        } else {
            zero_missing_features(forest)
        };
        let mut is_zero_missing = vec![false; num_features];
        for &f in &zero_missing {
            is_zero_missing[f] = true;
        }

        let mut out = CompiledForest {
            nodes: Vec::with_capacity(forest.num_nodes()),
            roots: Vec::with_capacity(forest.trees.len()),
            groups: forest.tree_group.clone(),
            tops: Vec::with_capacity(forest.trees.len()),
            top_feature: Vec::new(),
            top_value: Vec::new(),
            top_leaf: Vec::new(),
            top_next: Vec::new(),
            specials: Vec::new(),
            category_words: Vec::new(),
            linear_of: Vec::new(),
            linear_leaves: Vec::new(),
            tree_weight: forest.tree_weight.iter().map(|w| T::from_f64(*w)).collect(),
            base: forest.base_margin.iter().map(|b| T::from_f64(*b)).collect(),
            mean_divisor: match forest.aggregation {
                Aggregation::Sum => None,
                Aggregation::Mean { divisor } => Some(T::from_f64(divisor)),
            },
            num_features,
            width,
            stride,
            num_groups: forest.num_groups,
            link: forest.link,
            input_rule: forest.input_rule,
            zero_missing,
            even_chunks: Vec::new(),
            masked: Vec::new(),
            all_masked: false,
            linear: forest.linear.as_ref().map(|term| {
                let cast = |v: &[f64]| v.iter().map(|w| T::from_f64(*w)).collect();
                (cast(&term.weights), cast(&term.bias))
            }),
            #[cfg(feature = "jit")]
            jit: None,
            #[cfg(feature = "jit")]
            chooser: None,
            engine: EngineInfo::interpreted(None),
        };

        for (t, tree) in forest.trees.iter().enumerate() {
            let weight = forest.tree_weight[t];
            // Breadth-first order: new index of each IR node.
            let n = tree.nodes.len();
            let mut order = Vec::with_capacity(n);
            let mut depth_of = vec![0u16; n];
            order.push(0u32);
            let mut head = 0;
            while head < order.len() {
                let i = order[head] as usize;
                head += 1;
                if let Node::Split { left, right, .. } = &tree.nodes[i] {
                    depth_of[*left as usize] = depth_of[i].saturating_add(1);
                    depth_of[*right as usize] = depth_of[i].saturating_add(1);
                    order.push(*left);
                    order.push(*right);
                }
            }
            let base = out.nodes.len() as u32;
            let mut new_index = vec![0u32; n];
            for (pos, &old) in order.iter().enumerate() {
                new_index[old as usize] = base + pos as u32;
            }
            for &old in &order {
                let me = new_index[old as usize];
                let node = match &tree.nodes[old as usize] {
                    Node::Leaf { value, linear } => {
                        if let Some(lin) = linear {
                            if out.linear_of.is_empty() {
                                out.linear_of = vec![NO_LINEAR; forest.num_nodes()];
                            }
                            out.linear_of[me as usize] = out.linear_leaves.len() as u32;
                            out.linear_leaves.push(CLinear {
                                constant: lin.constant,
                                features: lin.features.clone(),
                                coefficients: lin.coefficients.clone(),
                            });
                        }
                        let v = if linear.is_some() {
                            T::from_f64(*value)
                        } else {
                            T::from_f64(*value) * T::from_f64(weight)
                        };
                        CNode {
                            value: v,
                            feature: LEAF | (2 * width) as u32,
                            left: me,
                        }
                    }
                    Node::Split {
                        feature,
                        test,
                        default_left,
                        left,
                        right,
                    } => {
                        let children = new_index[*left as usize];
                        // Breadth-first order enqueues a node's children one after the other.
                        debug_assert_eq!(new_index[*right as usize], children + 1);
                        let mut dl = *default_left;
                        let (value, special) = match test {
                            SplitTest::Numeric { threshold, missing } => {
                                let thr = le_threshold::<T>(*threshold, forest.comparison);
                                let finite = thr.to_f64().is_finite();
                                match missing {
                                    Missing::NanDefault if finite => (thr, false),
                                    Missing::NanAsZero if finite => {
                                        dl = T::ZERO <= thr;
                                        (thr, false)
                                    }
                                    Missing::ZeroAndNanDefault
                                        if finite && is_zero_missing[*feature as usize] =>
                                    {
                                        (thr, false)
                                    }
                                    Missing::NanDefault | Missing::NanAsZero => {
                                        if *missing == Missing::NanAsZero {
                                            dl = T::ZERO <= thr;
                                        }
                                        out.specials.push(Special::Numeric { threshold: thr });
                                        (T::from_f64((out.specials.len() - 1) as f64), true)
                                    }
                                    Missing::ZeroAndNanDefault => {
                                        out.specials.push(Special::ZeroMissing { threshold: thr });
                                        (T::from_f64((out.specials.len() - 1) as f64), true)
                                    }
                                }
                            }
                            SplitTest::Categorical {
                                bitset,
                                in_set_goes_left,
                                nan,
                                cast,
                            } => {
                                let start = out.category_words.len();
                                out.category_words.extend_from_slice(bitset);
                                out.specials.push(Special::Categorical {
                                    words: start..out.category_words.len(),
                                    in_set_goes_left: *in_set_goes_left,
                                    nan: *nan,
                                    cast: *cast,
                                });
                                (T::from_f64((out.specials.len() - 1) as f64), true)
                            }
                        };
                        // Fast nodes read the row copy whose NaN stand-in goes their default
                        // way; flagged nodes read both copies (raw feature index).
                        let mut flags = if special || dl {
                            *feature
                        } else {
                            *feature + width as u32
                        };
                        if dl {
                            flags |= DEFAULT_LEFT;
                        }
                        if special {
                            flags |= SPECIAL;
                        }
                        CNode {
                            value,
                            feature: flags,
                            left: children,
                        }
                    }
                };
                out.nodes.push(node);
            }
            out.roots.push(base);
            let depth = tree.depth();
            let whole =
                depth <= TOP_MAX_LEVELS && (1usize << depth) <= TOP_MAX_WASTE * tree.num_leaves();
            let levels = if whole { depth } else { depth.min(TOP_LEVELS) };
            let top = out.add_top(base, levels, levels == depth);
            out.tops.push(top);
        }
        out.even_chunks = out
            .tops
            .chunks_exact(LANES)
            .map(|c| c.iter().all(|p| p.levels == c[0].levels))
            .collect();
        // Elsewhere the node tests would be one scalar compare per row (no SIMD version is
        // written), slower than walking.
        let maskable = out.linear_of.is_empty() && cfg!(target_arch = "x86_64");
        out.masked = out
            .tops
            .iter()
            .map(|top| {
                let internal = (1usize << top.levels) - 1;
                top.complete
                    && top.levels <= masks::MAX_LEVELS
                    && maskable
                    && out.top_feature[top.nodes..top.nodes + internal]
                        .iter()
                        .all(|f| f & SPECIAL == 0)
            })
            .collect();
        out.all_masked =
            !out.masked.is_empty() && out.masked.iter().all(|m| *m) && out.linear.is_none();
        out
    }

    /// Generate native code for the tree walks when `engine` asks for it and this build and
    /// model allow it; otherwise keep interpreting, with the reason in [`Self::engine`].
    pub fn with_engine(mut self, engine: Engine) -> Self {
        let nodes = self.nodes.len();
        let reason = match engine {
            Engine::Interpret => {
                self.engine = EngineInfo::interpreted(None);
                return self;
            }
            _ if !crate::JIT_AVAILABLE => {
                "this build has no code generator (cargo feature `jit`)".to_string()
            }
            Engine::Auto if nodes < AUTO_MIN_NODES => {
                format!("a small model ({nodes} nodes) is scored as fast interpreted")
            }
            _ if nodes > MAX_JIT_NODES => format!(
                "{nodes} nodes would make more than the {} MiB of code allowed",
                (MAX_JIT_NODES * 16) >> 20
            ),
            _ => return self.generate(engine == Engine::Auto),
        };
        if engine == Engine::Compile {
            tracing::warn!("forest interpreted: {reason}");
        }
        self.engine = EngineInfo::interpreted(Some(reason));
        self
    }

    #[cfg(feature = "jit")]
    fn generate(mut self, adaptive: bool) -> Self {
        match crate::jit::compile(&self) {
            Ok(code) => {
                self.engine = code.info.clone();
                self.jit = Some(std::sync::Arc::new(code));
                // The generated code reads row-major blocks.
                self.all_masked = false;
                if adaptive {
                    self.chooser = Some(Default::default());
                    self.engine.running = Running::Measuring;
                    self.engine.running_small = Running::Measuring;
                }
            }
            Err(reason) => {
                tracing::warn!("forest interpreted: {reason}");
                self.engine = EngineInfo::interpreted(Some(reason));
            }
        }
        self
    }

    #[cfg(not(feature = "jit"))]
    fn generate(self, _adaptive: bool) -> Self {
        self
    }

    /// Which engine scores this forest now.
    pub fn engine(&self) -> EngineInfo {
        #[cfg(feature = "jit")]
        if let Some([small, blocks]) = self.chooser.as_deref() {
            let mut info = self.engine.clone();
            info.running = blocks.running();
            info.running_small = small.running();
            return info;
        }
        self.engine.clone()
    }

    /// Trees stored whole in the implicit layout, and trees that continue in the pointer one.
    #[cfg(test)]
    pub(crate) fn layout_counts(&self) -> (usize, usize) {
        let whole = self.tops.iter().filter(|p| p.complete).count();
        (whole, self.tops.len() - whole)
    }

    /// Trees scored by predicate masks, and trees walked.
    #[cfg(test)]
    pub(crate) fn masked_counts(&self) -> (usize, usize) {
        let masked = self.masked.iter().filter(|m| **m).count();
        (masked, self.masked.len() - masked)
    }

    /// Copy the top `levels` levels of the pointer-layout tree at `root` into the implicit
    /// layout.
    fn add_top(&mut self, root: u32, levels: usize, complete: bool) -> Top {
        let top = Top {
            levels: levels as u32,
            complete,
            nodes: self.top_feature.len(),
            slots: self.top_leaf.len(),
        };
        let internal = (1usize << levels) - 1;
        self.top_feature.resize(top.nodes + internal, 0);
        self.top_value.resize(top.nodes + internal, T::ZERO);
        self.top_leaf.resize(top.slots + internal + 1, T::ZERO);
        self.top_next.resize(top.slots + internal + 1, 0);
        // (pointer node, implicit position, level)
        let mut stack = vec![(root, 0usize, 0usize)];
        while let Some((node, pos, level)) = stack.pop() {
            let n = self.nodes[node as usize];
            if n.feature & LEAF == 0 && level < levels {
                self.top_feature[top.nodes + pos] = n.feature;
                self.top_value[top.nodes + pos] = n.value;
                stack.push((n.left, 2 * pos + 1, level + 1));
                stack.push((n.left + 1, 2 * pos + 2, level + 1));
            } else {
                // Padding below a shallow leaf keeps feature 0 and threshold 0: whichever way
                // it goes, it lands on a slot that continues from this node.
                let mut first = pos;
                for _ in level..levels {
                    first = 2 * first + 1;
                }
                let first_slot = first - internal;
                for slot in first_slot..first_slot + (1usize << (levels - level)) {
                    self.top_leaf[top.slots + slot] = n.value;
                    self.top_next[top.slots + slot] = node;
                }
            }
        }
        top
    }

    fn num_outputs(&self, margin_only: bool) -> usize {
        if margin_only {
            self.num_groups
        } else {
            self.link.num_outputs(self.num_groups)
        }
    }

    /// Score every row of `src`; see [`Predictor::predict`].
    pub fn predict<S: FeatureSource>(&self, src: &S, margin_only: bool) -> Vec<f64> {
        let rows = src.num_rows();
        let k = self.num_outputs(margin_only);
        let mut out = vec![0.0; rows * k];
        if rows == 0 {
            return out;
        }
        let new_scratch = || Scratch {
            x: vec![T::ZERO; BLOCK_ROWS * self.stride],
            margins: vec![T::ZERO; BLOCK_ROWS * self.num_groups],
            columns: Vec::new(),
        };
        if rows <= BLOCK_ROWS {
            // Small requests skip rayon entirely: its hand-off costs more than they do.
            let mut scratch = Scratch {
                x: vec![T::ZERO; rows * self.stride],
                margins: vec![T::ZERO; rows * self.num_groups],
                columns: Vec::new(),
            };
            self.score_block(src, 0, rows, margin_only, &mut scratch, &mut out);
            return out;
        }
        out.par_chunks_mut(BLOCK_ROWS * k)
            .enumerate()
            .for_each_init(new_scratch, |scratch, (b, chunk)| {
                let start = b * BLOCK_ROWS;
                let n = chunk.len() / k;
                self.score_block(src, start, n, margin_only, scratch, chunk);
            });
        out
    }

    fn score_block<S: FeatureSource>(
        &self,
        src: &S,
        start: usize,
        rows: usize,
        margin_only: bool,
        scratch: &mut Scratch<T>,
        out: &mut [f64],
    ) {
        let stride = self.stride;
        let g = self.num_groups;
        let margins = &mut scratch.margins[..rows * g];
        for r in 0..rows {
            for (j, m) in margins[r * g..(r + 1) * g].iter_mut().enumerate() {
                *m = if self.mean_divisor.is_some() {
                    T::ZERO
                } else {
                    self.base[j]
                };
            }
        }
        if self.all_masked && self.masked_rows(rows) == rows {
            self.accumulate_columns(src, start, rows, &mut scratch.columns, margins);
            self.finish_block(rows, margin_only, margins, out);
            return;
        }
        let x = &mut scratch.x[..rows * stride];
        if self.num_features == 0 {
            // A model without features still reads column 0; the source writes nothing there.
            x.fill(T::ZERO);
        }
        src.fill(start, rows, stride, x);
        self.prepare_inputs(x);
        if let Some((weights, bias)) = &self.linear {
            self.add_linear(weights, bias, x, rows, margins);
        }
        #[cfg(feature = "jit")]
        if let Some(code) = &self.jit {
            let chooser = self
                .chooser
                .as_deref()
                .map(|c| &c[usize::from(rows >= LANES)]);
            let (use_code, timed) = chooser.map_or((true, false), Chooser::pick);
            let started = timed.then(std::time::Instant::now);
            if use_code {
                code.accumulate(self, x, rows, margins);
            } else {
                self.interpret(x, rows, margins);
            }
            if let (Some(c), Some(t)) = (chooser, started) {
                c.record(use_code, rows, t.elapsed().as_nanos() as u64);
            }
        } else {
            self.interpret(x, rows, margins);
        }
        #[cfg(not(feature = "jit"))]
        self.interpret(x, rows, margins);
        self.finish_block(rows, margin_only, margins, out);
    }

    /// The rows of a block of `rows` that predicate masks score: all of them, or whole
    /// chunks of 64 when the last chunk is too small to pay for testing every node.
    fn masked_rows(&self, rows: usize) -> usize {
        if rows % masks::ROWS >= MASK_MIN_ROWS {
            rows
        } else {
            rows / masks::ROWS * masks::ROWS
        }
    }

    /// A block of a forest whose every tree predicate masks score ([`Self::all_masked`]):
    /// the rows are read straight into columns, the layout the masks read, and prepared
    /// there as [`Self::prepare_inputs`] prepares rows (value by value, the same values), so
    /// the row-major block and its transposition are never made.
    fn accumulate_columns<S: FeatureSource>(
        &self,
        src: &S,
        start: usize,
        rows: usize,
        columns: &mut Vec<T>,
        margins: &mut [T],
    ) {
        let (width, pitch) = (self.width, rows);
        columns.resize((2 * width + 1) * pitch, T::ZERO);
        let (lo, rest) = columns.split_at_mut(width * pitch);
        let (hi, leaf_slot) = rest.split_at_mut(width * pitch);
        if self.num_features == 0 {
            lo.fill(T::ZERO);
        }
        src.fill_columns(start, rows, width, pitch, lo);
        leaf_slot.fill(T::NEG_INFINITY);
        if self.input_rule != InputRule::Plain {
            for v in lo.iter_mut() {
                *v = prepare(self.input_rule, *v);
            }
        }
        for &f in &self.zero_missing {
            for v in &mut lo[f * pitch..(f + 1) * pitch] {
                if v.to_f64().abs() <= ZERO_THRESHOLD {
                    *v = T::NAN;
                }
            }
        }
        for (l, h) in lo.iter_mut().zip(hi.iter_mut()) {
            let nan = l.is_nan();
            *h = if nan { T::INFINITY } else { *l };
            *l = if nan { T::NEG_INFINITY } else { *l };
        }
        for t in 0..self.tops.len() {
            T::add_tree_rows(
                self.masked_tree(t),
                ColumnBlock {
                    columns,
                    pitch,
                    rows,
                    margins: &mut *margins,
                    groups: self.num_groups,
                    group: self.groups[t] as usize,
                },
            );
        }
    }

    /// Tree `t`, stored whole in the implicit layout, as predicate masks read it.
    fn masked_tree(&self, t: usize) -> MaskedTree<'_, T> {
        let top = &self.tops[t];
        let internal = (1usize << top.levels) - 1;
        MaskedTree {
            levels: top.levels,
            features: &self.top_feature[top.nodes..top.nodes + internal],
            thresholds: &self.top_value[top.nodes..top.nodes + internal],
            leaves: &self.top_leaf[top.slots..top.slots + internal + 1],
        }
    }

    /// A block's margins into its outputs: the mean of averaged forests, then the link.
    fn finish_block(&self, rows: usize, margin_only: bool, margins: &mut [T], out: &mut [f64]) {
        let g = self.num_groups;
        // LightGBM's `raw_score=True` returns the plain sum for averaged (rf) models; only the
        // transformed prediction is averaged.
        if let (Some(div), false) = (self.mean_divisor, margin_only) {
            for r in 0..rows {
                for j in 0..g {
                    let m = &mut margins[r * g + j];
                    *m = *m / div + self.base[j];
                }
            }
        }
        let k = self.num_outputs(margin_only);
        for r in 0..rows {
            let m = &margins[r * g..(r + 1) * g];
            let o = &mut out[r * k..(r + 1) * k];
            if margin_only {
                for (o, m) in o.iter_mut().zip(m) {
                    *o = m.to_f64();
                }
            } else {
                self.link.apply(m, o);
            }
        }
    }

    /// The interpreter's tree walks for a prepared block.
    fn interpret(&self, x: &[T], rows: usize, margins: &mut [T]) {
        if self.specials.is_empty() {
            self.accumulate::<false>(x, rows, margins);
        } else {
            self.accumulate::<true>(x, rows, margins);
        }
    }

    /// Apply the input rule to the raw values (written into each row's first copy), then lay
    /// out the two NaN stand-in copies.
    fn prepare_inputs(&self, x: &mut [T]) {
        let width = self.width;
        for row in x.chunks_exact_mut(self.stride) {
            let (lo, rest) = row.split_at_mut(width);
            let (hi, leaf_slot) = rest.split_at_mut(width);
            leaf_slot[0] = T::NEG_INFINITY;
            if self.input_rule != InputRule::Plain {
                for v in lo.iter_mut() {
                    *v = prepare(self.input_rule, *v);
                }
            }
            for &f in &self.zero_missing {
                if lo[f].to_f64().abs() <= ZERO_THRESHOLD {
                    lo[f] = T::NAN;
                }
            }
            for (l, h) in lo.iter_mut().zip(hi.iter_mut()) {
                if l.is_nan() {
                    *l = T::NEG_INFINITY;
                    *h = T::INFINITY;
                } else {
                    *h = *l;
                }
            }
        }
    }

    /// Add the linear term to each row's margins, bias first, then features in order: the
    /// order XGBoost's `gblinear` sums in, so the rounding is the same. Missing values are
    /// skipped, as XGBoost's sparse rows leave them out.
    fn add_linear(&self, weights: &[T], bias: &[T], x: &[T], rows: usize, margins: &mut [T]) {
        let g = self.num_groups;
        for r in 0..rows {
            let row = &x[r * self.stride..(r + 1) * self.stride];
            for (j, m) in margins[r * g..(r + 1) * g].iter_mut().enumerate() {
                let mut acc = *m + bias[j];
                for f in 0..self.num_features {
                    let v = self.raw(row, f);
                    if !v.is_nan() {
                        acc = acc + v * weights[f * g + j];
                    }
                }
                *m = acc;
            }
        }
    }

    /// The raw value of feature `f` in a prepared row: NaN where the two copies differ.
    #[inline(always)]
    fn raw(&self, row: &[T], f: usize) -> T {
        let (lo, hi) = (row[f], row[f + self.width]);
        if lo == hi { lo } else { T::NAN }
    }

    fn accumulate<const SPECIAL_NODES: bool>(&self, x: &[T], rows: usize, margins: &mut [T]) {
        // Each row's margin receives the trees in model order, whatever the grouping below:
        // the sum must round exactly as the original library's.
        let stride = self.stride;
        let g = self.num_groups;
        let full = rows / LANES * LANES;
        if rows >= MASK_MIN_ROWS && self.masked.iter().any(|m| *m) {
            self.accumulate_masked::<SPECIAL_NODES>(x, rows, margins);
            return;
        }
        if full > 0 {
            for t in 0..self.roots.len() {
                for r0 in (0..full).step_by(LANES) {
                    self.walk_group::<SPECIAL_NODES>(t, &x[r0 * stride..], &mut margins[r0 * g..]);
                }
            }
        }
        // A single-row request, or the tail of a block: one row through every tree, LANES trees
        // in lockstep where they share their number of implicit levels.
        let n = self.roots.len();
        for r in full..rows {
            let row = &x[r * stride..(r + 1) * stride];
            let m = &mut margins[r * g..(r + 1) * g];
            let mut t = 0;
            while t < n {
                let even =
                    t.is_multiple_of(LANES) && self.even_chunks.get(t / LANES) == Some(&true);
                if even {
                    let tops: [&Top; LANES] = std::array::from_fn(|l| &self.tops[t + l]);
                    let mut pos = [0usize; LANES];
                    for _ in 0..tops[0].levels {
                        for l in 0..LANES {
                            pos[l] = self.top_step::<SPECIAL_NODES>(tops[l], pos[l], row);
                        }
                    }
                    let vals = self.finish_lanes::<SPECIAL_NODES>(t, &tops, &pos, row);
                    for (l, v) in vals.into_iter().enumerate() {
                        let slot = if g == 1 {
                            &mut m[0]
                        } else {
                            &mut m[self.groups[t + l] as usize]
                        };
                        *slot = *slot + v;
                    }
                    t += LANES;
                } else {
                    let v = self.walk_one::<SPECIAL_NODES>(t, row);
                    let slot = &mut m[self.groups[t] as usize];
                    *slot = *slot + v;
                    t += 1;
                }
            }
        }
    }

    /// [`Self::accumulate`] for a block with trees that predicate masks score: those go 64
    /// rows at a time (`masks`), the others walk as usual, tree by tree in model order. A last
    /// chunk of fewer than [`MASK_MIN_ROWS`] rows walks every tree: testing every node of a
    /// tree for a handful of rows costs more than walking them.
    fn accumulate_masked<const SPECIAL_NODES: bool>(
        &self,
        x: &[T],
        rows: usize,
        margins: &mut [T],
    ) {
        let stride = self.stride;
        let g = self.num_groups;
        let masked_rows = self.masked_rows(rows);
        let mut columns = Vec::new();
        masks::transpose(x, masked_rows, stride, 2 * self.width, &mut columns);
        for t in 0..self.tops.len() {
            let walked = if self.masked[t] {
                T::add_tree_rows(
                    self.masked_tree(t),
                    ColumnBlock {
                        columns: &columns,
                        pitch: masked_rows,
                        rows: masked_rows,
                        margins: &mut *margins,
                        groups: g,
                        group: self.groups[t] as usize,
                    },
                );
                masked_rows
            } else {
                0
            };
            self.walk_rows::<SPECIAL_NODES>(t, x, walked, rows, margins);
        }
    }

    /// Tree `t` for rows `from..to` of a block, LANES rows in lockstep, then one by one.
    fn walk_rows<const SPECIAL_NODES: bool>(
        &self,
        t: usize,
        x: &[T],
        from: usize,
        to: usize,
        margins: &mut [T],
    ) {
        let stride = self.stride;
        let g = self.num_groups;
        let lockstep = from + (to - from) / LANES * LANES;
        for r0 in (from..lockstep).step_by(LANES) {
            self.walk_group::<SPECIAL_NODES>(t, &x[r0 * stride..], &mut margins[r0 * g..]);
        }
        for r in lockstep..to {
            let v = self.walk_one::<SPECIAL_NODES>(t, &x[r * stride..(r + 1) * stride]);
            let m = &mut margins[r * g + self.groups[t] as usize];
            *m = *m + v;
        }
    }

    #[inline(always)]
    fn top_step<const SPECIAL_NODES: bool>(&self, top: &Top, i: usize, row: &[T]) -> usize {
        // SAFETY: `i` is the position after k < top.levels steps, so i < 2^levels - 1 and
        // top.nodes + i is inside this tree's block of `top_feature`/`top_value` (add_top).
        let (f, thr) = unsafe {
            (
                *self.top_feature.get_unchecked(top.nodes + i),
                *self.top_value.get_unchecked(top.nodes + i),
            )
        };
        // SAFETY: feature ids were checked < num_features <= width by the builder and fast
        // nodes add at most `width`; padding nodes use 0; `row` has `stride` = 2 width + 1 values.
        let v = unsafe { *row.get_unchecked((f & FEATURE_MASK) as usize) };
        let left = if SPECIAL_NODES && f & SPECIAL != 0 {
            self.special_left(thr, row, (f & FEATURE_MASK) as usize, f & DEFAULT_LEFT != 0)
        } else {
            v <= thr
        };
        2 * i + 2 - left as usize
    }

    /// The value tree `t` gives one row.
    #[inline(always)]
    fn walk_one<const SPECIAL_NODES: bool>(&self, t: usize, row: &[T]) -> T {
        let top = &self.tops[t];
        let mut i = 0usize;
        for _ in 0..top.levels {
            i = self.top_step::<SPECIAL_NODES>(top, i, row);
        }
        self.finish::<SPECIAL_NODES>(t, i, row)
    }

    /// Continue tree `t`'s walk for one row from implicit position `pos` (on the last level).
    #[inline(always)]
    fn finish<const SPECIAL_NODES: bool>(&self, t: usize, pos: usize, row: &[T]) -> T {
        let top = &self.tops[t];
        // `pos` is on the last implicit level, so the slot is inside this tree's block.
        let slot = top.slots + (pos + 1 - (1usize << top.levels));
        if top.complete && self.linear_of.is_empty() {
            // SAFETY: slot < top.slots + 2^levels <= top_leaf.len() (add_top).
            return unsafe { *self.top_leaf.get_unchecked(slot) };
        }
        let mut node = self.top_next[slot];
        while !self.is_leaf(node) {
            node = self.step::<SPECIAL_NODES>(node, row);
        }
        self.leaf_value(t, node, row)
    }

    /// Finish the walks of trees `t..t + LANES` for one row from their last implicit positions,
    /// in lockstep: deep trees (LightGBM's leaf-wise ones reach depth 20) continue in the
    /// pointer layout, where one tree's walk is a chain of dependent loads; stepping eight
    /// trees together overlaps those chains. Walks that reach a leaf early stay on it.
    #[allow(clippy::needless_range_loop)]
    #[inline(always)]
    fn finish_lanes<const SPECIAL_NODES: bool>(
        &self,
        t: usize,
        tops: &[&Top; LANES],
        pos: &[usize; LANES],
        row: &[T],
    ) -> [T; LANES] {
        let slot: [usize; LANES] =
            std::array::from_fn(|l| tops[l].slots + (pos[l] + 1 - (1usize << tops[l].levels)));
        if self.linear_of.is_empty() && tops.iter().all(|top| top.complete) {
            return std::array::from_fn(|l| self.top_leaf[slot[l]]);
        }
        let mut node: [u32; LANES] = std::array::from_fn(|l| self.top_next[slot[l]]);
        while !node.iter().all(|&i| self.is_leaf(i)) {
            for l in 0..LANES {
                node[l] = self.step::<SPECIAL_NODES>(node[l], row);
            }
        }
        std::array::from_fn(|l| self.leaf_value(t + l, node[l], row))
    }

    /// Tree `t` over LANES rows in lockstep (`x` and `margins` start at the group's first row):
    /// first the implicit top levels, a fixed number of branch-free steps, then for deep trees
    /// the pointer layout until every walk of the group sits on a leaf.
    // Lane loops index several parallel arrays by lane; iterator chains hide that shape.
    #[allow(clippy::needless_range_loop)]
    #[inline(always)]
    fn walk_group<const SPECIAL_NODES: bool>(&self, t: usize, x: &[T], margins: &mut [T]) {
        let stride = self.stride;
        let g = self.num_groups;
        let group = self.groups[t] as usize;
        let top = &self.tops[t];
        let rows_x: [&[T]; LANES] = std::array::from_fn(|l| &x[l * stride..(l + 1) * stride]);
        let mut idx = [0usize; LANES];
        for _ in 0..top.levels {
            for l in 0..LANES {
                idx[l] = self.top_step::<SPECIAL_NODES>(top, idx[l], rows_x[l]);
            }
        }
        let internal = (1usize << top.levels) - 1;
        if top.complete && self.linear_of.is_empty() {
            for l in 0..LANES {
                let m = &mut margins[l * g + group];
                *m = *m + self.top_leaf[top.slots + (idx[l] - internal)];
            }
            return;
        }
        let mut node = [0u32; LANES];
        for l in 0..LANES {
            node[l] = self.top_next[top.slots + (idx[l] - internal)];
        }
        if !top.complete {
            while !node.iter().all(|&i| self.is_leaf(i)) {
                for l in 0..LANES {
                    node[l] = self.step::<SPECIAL_NODES>(node[l], rows_x[l]);
                }
            }
        }
        for l in 0..LANES {
            let m = &mut margins[l * g + group];
            *m = *m + self.leaf_value(t, node[l], rows_x[l]);
        }
    }

    #[inline(always)]
    fn is_leaf(&self, i: u32) -> bool {
        // SAFETY: as in `step`, `i` is always a valid compiled node index.
        unsafe { self.nodes.get_unchecked(i as usize) }.feature & LEAF != 0
    }

    #[inline(always)]
    fn step<const SPECIAL_NODES: bool>(&self, i: u32, row: &[T]) -> u32 {
        // SAFETY: `i` is a root or a child index produced by `compile`, and every child index
        // there was validated by `TreeBuilder::build` and remapped inside `nodes`.
        let node = unsafe { self.nodes.get_unchecked(i as usize) };
        let f = (node.feature & FEATURE_MASK) as usize;
        // SAFETY: feature ids were checked < num_features <= width by the builder and fast
        // nodes add at most `width`; leaves read `2 width`; `row` has `stride` = 2 width + 1
        // values.
        let x = unsafe { *row.get_unchecked(f) };
        let left = if SPECIAL_NODES && node.feature & SPECIAL != 0 {
            self.special_left(node.value, row, f, node.feature & DEFAULT_LEFT != 0)
        } else {
            x <= node.value
        };
        node.left + u32::from(!left)
    }

    #[cold]
    fn special_left(&self, index: T, row: &[T], feature: usize, default_left: bool) -> bool {
        let x = self.raw(row, feature);
        match &self.specials[index.to_f64() as usize] {
            Special::Numeric { threshold } => (x <= *threshold) | (x.is_nan() & default_left),
            Special::ZeroMissing { threshold } => {
                if x.is_nan() || x.to_f64().abs() <= ZERO_THRESHOLD {
                    default_left
                } else {
                    x <= *threshold
                }
            }
            Special::Categorical {
                words,
                in_set_goes_left,
                nan,
                cast,
            } => {
                if x.is_nan() {
                    nan.goes_left(default_left)
                } else {
                    in_category_set(&self.category_words[words.clone()], *cast, x.to_f64())
                        == *in_set_goes_left
                }
            }
        }
    }

    #[inline(always)]
    fn leaf_value(&self, tree: usize, i: u32, row: &[T]) -> T {
        let node = &self.nodes[i as usize];
        if !self.linear_of.is_empty() {
            let li = self.linear_of[i as usize];
            if li != NO_LINEAR {
                let lin = &self.linear_leaves[li as usize];
                let mut acc = lin.constant;
                for (f, c) in lin.features.iter().zip(&lin.coefficients) {
                    let v = self.raw(row, *f as usize).to_f64();
                    if v.is_nan() {
                        return node.value * self.tree_weight[tree];
                    }
                    acc += c * v;
                }
                return T::from_f64(acc) * self.tree_weight[tree];
            }
        }
        node.value
    }
}

/// The `<=` threshold equivalent to `x <cmp> T(t)` for every `x` of type `T`. The threshold is
/// rounded to `T` first, as the original libraries store and compare it in their own precision.
fn le_threshold<T: Float>(t: f64, cmp: Comparison) -> T {
    let r = T::from_f64(t);
    match cmp {
        Comparison::LessEqual => r,
        // Nothing is below -inf; NaN makes `x <= t'` false for every x.
        Comparison::Less if r == T::NEG_INFINITY => T::NAN,
        Comparison::Less => r.next_down(),
    }
}

/// Features on which every split treats zero as missing, so zero can become NaN once at input.
fn zero_missing_features(forest: &Forest) -> Vec<usize> {
    // 0 = unused, 1 = only zero-as-missing numeric splits, 2 = anything else.
    let mut state = vec![0u8; forest.num_features];
    for node in forest.trees.iter().flat_map(|t| &t.nodes) {
        if let Node::Split { feature, test, .. } = node {
            let s = &mut state[*feature as usize];
            let zero = matches!(
                test,
                SplitTest::Numeric {
                    missing: Missing::ZeroAndNanDefault,
                    ..
                }
            );
            *s = match (*s, zero) {
                (0 | 1, true) => 1,
                _ => 2,
            };
        }
    }
    state
        .iter()
        .enumerate()
        .filter(|(_, s)| **s == 1)
        .map(|(f, _)| f)
        .collect()
}
