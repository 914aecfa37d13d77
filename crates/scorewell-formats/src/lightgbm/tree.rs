//! One `Tree=i` block → a [`TreeBuilder`].
//!
//! Keys and their lengths follow `Tree::Tree(const char*)` and `Tree::ToString` in
//! `src/io/tree.cpp`; the decision rules follow `NumericalDecision` / `CategoricalDecision` and
//! `Tree::Predict` in `include/LightGBM/tree.h`.

use scorewell_forest::{CategoryCast, LinearLeaf, Missing, NanRoute, SplitTest, TreeBuilder};

use super::text::{Field, invalid};
use crate::error::Result;

/// The lines of one `Tree=i` block.
#[derive(Debug)]
pub(super) struct Block<'a> {
    /// Tree index (position in the file, checked against the `Tree=` line).
    pub index: usize,
    /// Line number of the `Tree=` line.
    pub line: usize,
    /// The `key=value` lines, in file order.
    pub fields: Vec<Field<'a>>,
}

impl<'a> Block<'a> {
    fn get(&self, key: &str) -> Option<&Field<'a>> {
        self.fields.iter().rev().find(|f| f.key == key)
    }

    fn need(&self, key: &str) -> Result<&Field<'a>> {
        self.get(key).ok_or_else(|| {
            invalid(format!(
                "line {} (Tree={}): missing key `{key}`",
                self.line, self.index
            ))
        })
    }
}

/// What a tree block turned into.
pub(super) struct Parsed {
    pub tree: TreeBuilder,
    pub linear: bool,
    /// Features tested by categorical splits.
    pub categorical_features: Vec<u32>,
}

/// `decision_type` bits (`kCategoricalMask`, `kDefaultLeftMask`, `GetMissingType`).
const CATEGORICAL_BIT: i32 = 1;
const DEFAULT_LEFT_BIT: i32 = 2;

/// Build tree `block`. Node numbering: internal node `i` of the file is node `i`, leaf `j` is
/// node `num_leaves - 1 + j`, so builder errors name the file's internal node indices.
pub(super) fn parse(block: &Block<'_>) -> Result<Parsed> {
    let nl_field = block.need("num_leaves")?;
    let num_leaves: usize = nl_field.one()?;
    if num_leaves == 0 {
        return Err(nl_field.err("a tree needs at least one leaf"));
    }
    let num_cat_f = block.need("num_cat")?;
    let num_cat: usize = num_cat_f.one()?;
    // Read first: its length bounds every other allocation by the file size.
    let leaf_value: Vec<f64> = block.need("leaf_value")?.list(num_leaves)?;
    let linear = match block.get("is_linear") {
        Some(f) => f.one::<i64>()? != 0,
        None => false,
    };
    let linear_leaves = if linear {
        Some(linear_leaves(block, num_leaves)?)
    } else {
        None
    };
    let num_internal = num_leaves - 1;
    let mut tree = TreeBuilder::with_capacity(2 * num_leaves - 1);
    tree.declare_leaves(num_leaves);
    let mut categorical_features = Vec::new();
    if num_internal > 0 {
        let left_f = block.need("left_child")?;
        let right_f = block.need("right_child")?;
        let feature_f = block.need("split_feature")?;
        let threshold_f = block.need("threshold")?;
        let left: Vec<i32> = left_f.list(num_internal)?;
        let right: Vec<i32> = right_f.list(num_internal)?;
        let features: Vec<i64> = feature_f.list(num_internal)?;
        let thresholds: Vec<f64> = threshold_f.list(num_internal)?;
        let decision_f = block.get("decision_type");
        let decision: Vec<i32> = match decision_f {
            Some(f) => f.list(num_internal)?,
            None => vec![0; num_internal],
        };
        let cats = if num_cat > 0 {
            Some(CatSets::parse(block, num_cat_f, num_cat)?)
        } else {
            None
        };
        let child = |field: &Field<'_>, node: usize, c: i32| -> Result<u32> {
            if c >= 0 {
                let c = c as usize;
                if c < num_internal {
                    return Ok(c as u32);
                }
                Err(field.err(format_args!(
                    "node {node} has child {c} but the tree has {num_internal} internal nodes"
                )))
            } else {
                let leaf = !(c as i64) as usize;
                if leaf < num_leaves {
                    return Ok((num_internal + leaf) as u32);
                }
                Err(field.err(format_args!(
                    "node {node} has child {c} (leaf {leaf}) but the tree has {num_leaves} leaves"
                )))
            }
        };
        for node in 0..num_internal {
            let (Some(&l), Some(&r), Some(&feature), Some(&threshold), Some(&dt)) = (
                left.get(node),
                right.get(node),
                features.get(node),
                thresholds.get(node),
                decision.get(node),
            ) else {
                return Err(invalid("internal error: list lengths were checked"));
            };
            let (l, r) = (child(left_f, node, l)?, child(right_f, node, r)?);
            let feature = u32::try_from(feature).map_err(|_| {
                feature_f.err(format_args!("node {node} has feature index {feature}"))
            })?;
            let default_left = dt & DEFAULT_LEFT_BIT != 0;
            let dt_err = |what: &str| match decision_f {
                Some(f) => f.err(format_args!("node {node}: decision_type {dt} {what}")),
                None => invalid("internal error: default decision_type"),
            };
            if !(0..=127).contains(&dt) {
                return Err(dt_err("is out of range (0..=127)"));
            }
            // `GetLeaf` only looks at the categorical bit when the tree has categorical splits.
            let test = match &cats {
                Some(cats) if dt & CATEGORICAL_BIT != 0 => {
                    categorical_features.push(feature);
                    SplitTest::Categorical {
                        bitset: cats.bitset(threshold_f, node, threshold)?,
                        in_set_goes_left: true,
                        nan: NanRoute::Right,
                        cast: CategoryCast::TruncateThenCheck,
                    }
                }
                _ => {
                    let missing = match (dt >> 2) & 3 {
                        0 => Missing::NanAsZero,
                        1 => Missing::ZeroAndNanDefault,
                        2 => Missing::NanDefault,
                        _ => {
                            return Err(dt_err(
                                "has missing type 3 (expected 0 None, 1 Zero or 2 NaN)",
                            ));
                        }
                    };
                    SplitTest::Numeric { threshold, missing }
                }
            };
            tree.split(feature, test, default_left, l, r);
        }
    }
    match linear_leaves {
        Some(leaves) => {
            for (value, lin) in leaf_value.into_iter().zip(leaves) {
                tree.linear_leaf(value, lin);
            }
        }
        None => {
            for value in leaf_value {
                tree.leaf(value);
            }
        }
    }
    Ok(Parsed {
        tree,
        linear,
        categorical_features,
    })
}

/// `leaf_const`, `num_features`, `leaf_features`, `leaf_coeff` of a linear tree. The last two are
/// every leaf's list concatenated (`Tree::ToString` adds extra spaces between leaves).
fn linear_leaves(block: &Block<'_>, num_leaves: usize) -> Result<Vec<LinearLeaf>> {
    let constants: Vec<f64> = match block.get("leaf_const") {
        Some(f) => f.list(num_leaves)?,
        None => vec![0.0; num_leaves],
    };
    let counts: Vec<usize> = match block.get("num_features") {
        Some(f) => f.list(num_leaves)?,
        None => vec![0; num_leaves],
    };
    let total = counts
        .iter()
        .try_fold(0usize, |a, &c| a.checked_add(c))
        .ok_or_else(|| invalid(format!("Tree={}: num_features overflows", block.index)))?;
    let (features, coefficients): (Vec<u32>, Vec<f64>) = if total > 0 {
        (
            block.need("leaf_features")?.list(total)?,
            block.need("leaf_coeff")?.list(total)?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    let mut out = Vec::with_capacity(num_leaves);
    let mut start = 0usize;
    for (constant, count) in constants.into_iter().zip(counts) {
        let end = start + count;
        let (Some(f), Some(c)) = (features.get(start..end), coefficients.get(start..end)) else {
            return Err(invalid("internal error: linear list lengths were checked"));
        };
        out.push(LinearLeaf {
            constant,
            features: f.to_vec(),
            coefficients: c.to_vec(),
        });
        start = end;
    }
    Ok(out)
}

/// `cat_boundaries` and `cat_threshold`: set `k` is words
/// `cat_threshold[cat_boundaries[k] .. cat_boundaries[k+1]]`.
struct CatSets<'a> {
    boundaries: Vec<usize>,
    words: Vec<u32>,
    words_field: Field<'a>,
}

impl<'a> CatSets<'a> {
    fn parse(block: &Block<'a>, num_cat_f: &Field<'_>, num_cat: usize) -> Result<Self> {
        let bf = block.need("cat_boundaries")?;
        // `num_cat + 1` boundaries: a forged `num_cat` must not overflow the count; `list`
        // then compares it with the values the line really holds.
        let expected = num_cat.checked_add(1).ok_or_else(|| {
            num_cat_f.err(format_args!(
                "declares {num_cat} category sets, more than a file can hold"
            ))
        })?;
        let boundaries: Vec<usize> = bf.list(expected)?;
        if boundaries.windows(2).any(|w| w.first() > w.get(1)) {
            return Err(bf.err("boundaries are not in increasing order"));
        }
        let words_field = *block.need("cat_threshold")?;
        let words: Vec<u32> = words_field.list(boundaries.last().copied().unwrap_or_default())?;
        Ok(Self {
            boundaries,
            words,
            words_field,
        })
    }

    /// The bitset of the split at `node` whose threshold (the set index) is `threshold`.
    fn bitset(&self, threshold_f: &Field<'_>, node: usize, threshold: f64) -> Result<Vec<u32>> {
        let k = threshold.trunc();
        let sets = self.boundaries.len().saturating_sub(1);
        if !(k >= 0.0 && k < sets as f64) {
            return Err(threshold_f.err(format_args!(
                "node {node} is categorical with set index {threshold}, but num_cat is {sets}"
            )));
        }
        let k = k as usize;
        let range = self
            .boundaries
            .get(k)
            .zip(self.boundaries.get(k + 1))
            .and_then(|(&a, &b)| self.words.get(a..b));
        match range {
            Some(words) => Ok(words.to_vec()),
            None => Err(self.words_field.err(format_args!(
                "node {node}: category set {k} is out of range"
            ))),
        }
    }
}
