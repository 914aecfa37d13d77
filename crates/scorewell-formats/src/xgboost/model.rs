//! From the parsed document (JSON or UBJSON) to a [`ForestModel`].

use std::sync::Arc;

use scorewell_core::{FeatureKind, FeatureSpec, ForestModel, ModelInfo};
use scorewell_forest::{
    CategoryCast, Comparison, Forest, ForestBuilder, LinearTerm, Link, Missing, NanRoute,
    Precision, SplitTest, TreeBuilder,
};

use crate::doc::{self, Doc, Problem};
use crate::{FormatError, Result};

/// XGBoost's `InvalidCat` bound: categories are below 2^24 (exact in `float`).
const MAX_CATEGORY: i64 = 1 << 24;

/// `num_feature` sizes the schema (one name and kind per feature, `f0…` when the file lists
/// none) while nothing in the file need back it: see [`scorewell_core::MAX_DECLARED_FEATURES`].
pub(crate) const MAX_FEATURES: usize = scorewell_core::MAX_DECLARED_FEATURES;

/// How `base_score` (stored in output space) becomes a margin: the objective's `ProbToMargin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProbToMargin {
    Identity,
    /// `-ln(1/b - 1)` (`LogisticRegression::ProbToMargin`, regression_loss.h).
    Logit,
    /// `ln(b)` (Poisson, gamma, Tweedie, Cox, AFT).
    Log,
}

/// The link and base-score transform of every objective scorewell knows.
fn objective(name: &str) -> Option<(Link, ProbToMargin)> {
    use ProbToMargin::*;
    Some(match name {
        "binary:logistic" | "reg:logistic" => (Link::Logistic { scale: 1.0 }, Logit),
        "binary:logitraw" => (Link::Identity, Identity),
        "binary:hinge" => (Link::Step, Identity),
        "multi:softprob" => (Link::Softmax, Identity),
        "multi:softmax" => (Link::ArgMax, Identity),
        "count:poisson" | "reg:gamma" | "reg:tweedie" | "survival:cox" | "survival:aft" => {
            (Link::Exp, Log)
        }
        "reg:squarederror"
        | "reg:squaredlogerror"
        | "reg:pseudohubererror"
        | "reg:absoluteerror"
        | "reg:quantileerror"
        | "reg:linear"
        | "rank:pairwise"
        | "rank:ndcg"
        | "rank:map" => (Link::Identity, Identity),
        _ => return None,
    })
}

struct Ctx {
    format: &'static str,
}

impl Ctx {
    fn invalid(&self, message: impl Into<String>) -> FormatError {
        FormatError::Invalid {
            format: self.format,
            message: message.into(),
        }
    }
    fn unsupported(&self, what: impl Into<String>) -> FormatError {
        FormatError::Unsupported {
            format: self.format,
            what: what.into(),
        }
    }
}

trait OrInvalid<T> {
    fn at(self, ctx: &Ctx) -> Result<T>;
}

impl<T> OrInvalid<T> for std::result::Result<T, Problem> {
    fn at(self, ctx: &Ctx) -> Result<T> {
        self.map_err(|m| ctx.invalid(m))
    }
}

/// Build the model from a parsed XGBoost document.
pub(crate) fn build(root: &Doc, format: &'static str) -> Result<ForestModel> {
    let ctx = &Ctx { format };
    doc::object(root, "(top level)").at(ctx)?;
    let producer = match root.member("version") {
        Some(v) => {
            let parts = doc::int_array(v, "version").at(ctx)?;
            let parts: Vec<String> = parts.iter().map(|p| p.to_string()).collect();
            Some(format!("xgboost {}", parts.join(".")))
        }
        None => None,
    };
    let learner = doc::field(root, "(top level)", "learner").at(ctx)?;

    let mp_path = "learner.learner_model_param";
    let mp = doc::field(learner, "learner", "learner_model_param").at(ctx)?;
    let num_feature = doc::int_like(
        doc::field(mp, mp_path, "num_feature").at(ctx)?,
        &format!("{mp_path}.num_feature"),
    )
    .at(ctx)?;
    let num_feature = usize::try_from(num_feature).map_err(|_| {
        ctx.invalid(format!(
            "`{mp_path}.num_feature` is negative: {num_feature}"
        ))
    })?;
    if num_feature > MAX_FEATURES {
        return Err(ctx.invalid(format!(
            "`{mp_path}.num_feature` declares {num_feature} features, more than the {MAX_FEATURES} scorewell reads"
        )));
    }
    let optional_int = |key: &str, default: i64| -> Result<i64> {
        match mp.member(key) {
            Some(v) => doc::int_like(v, &format!("{mp_path}.{key}")).at(ctx),
            None => Ok(default),
        }
    };
    let num_class = optional_int("num_class", 0)?;
    let num_target = optional_int("num_target", 1)?;
    if !(0..=1 << 20).contains(&num_class) || !(0..=1 << 20).contains(&num_target) {
        return Err(ctx.invalid(format!(
            "`{mp_path}` has num_class = {num_class}, num_target = {num_target}"
        )));
    }
    let base_score_raw = match mp.member("base_score") {
        Some(Doc::Str(s)) => s.clone(),
        Some(Doc::Int(i)) => i.to_string(),
        Some(Doc::Float(f)) => f.to_string(),
        Some(other) => {
            return Err(ctx.invalid(format!(
                "`{mp_path}.base_score` should be a string, got {}",
                other.kind()
            )));
        }
        None => "0.5".to_string(),
    };
    let base_scores = parse_base_score(&base_score_raw)
        .map_err(|m| ctx.invalid(format!("`{mp_path}.base_score`: {m}")))?;

    let obj_name = doc::string(
        doc::field(
            doc::field(learner, "learner", "objective").at(ctx)?,
            "learner.objective",
            "name",
        )
        .at(ctx)?,
        "learner.objective.name",
    )
    .at(ctx)?;
    let (link, prob_to_margin) =
        objective(obj_name).ok_or_else(|| ctx.unsupported(format!("objective `{obj_name}`")))?;

    // Output groups: classes, else targets (one single-output tree per target per round).
    let groups = if num_class > 0 {
        num_class as usize
    } else {
        num_target.max(1) as usize
    };
    let base_margin = match base_scores.len() {
        1 => vec![base_scores[0]; groups],
        n if n == groups => base_scores,
        n => {
            return Err(ctx.invalid(format!(
                "`{mp_path}.base_score` has {n} values but the model has {groups} outputs"
            )));
        }
    };
    let base_margin = base_margin
        .iter()
        .map(|&b| to_margin(prob_to_margin, b, obj_name).map(f64::from))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|m| ctx.invalid(format!("`{mp_path}.base_score`: {m}")))?;

    let mut builder = ForestBuilder::new(num_feature, groups);
    builder
        .comparison(Comparison::Less)
        .precision(Precision::F32)
        .link(link)
        .base_margin(base_margin.clone());

    // The booster: gbtree, dart (a gbtree plus one weight per tree), or gblinear.
    let gb = doc::field(learner, "learner", "gradient_booster").at(ctx)?;
    let gb_path = "learner.gradient_booster";
    let booster = doc::string(
        doc::field(gb, gb_path, "name").at(ctx)?,
        &format!("{gb_path}.name"),
    )
    .at(ctx)?;
    let (model, model_path, weight_drop) = match booster {
        "gbtree" => (
            doc::field(gb, gb_path, "model").at(ctx)?,
            format!("{gb_path}.model"),
            None,
        ),
        "dart" => {
            let inner_path = format!("{gb_path}.gbtree");
            let inner = doc::field(gb, gb_path, "gbtree").at(ctx)?;
            let model = doc::field(inner, &inner_path, "model").at(ctx)?;
            let wpath = format!("{gb_path}.weight_drop");
            let weights =
                doc::f32_array(doc::field(gb, gb_path, "weight_drop").at(ctx)?, &wpath).at(ctx)?;
            (model, format!("{inner_path}.model"), Some(weights))
        }
        "gblinear" => {
            let model_path = format!("{gb_path}.model");
            let model = doc::field(gb, gb_path, "model").at(ctx)?;
            // gblinear adds the first intercept to every group, even where 3.1+ stores one per
            // class (checked against 3.2's `predict` on a 3-class model).
            builder
                .base_margin(vec![base_margin[0]; groups])
                .linear(linear_term(ctx, model, &model_path, num_feature, groups)?);
            let forest = builder
                .build()
                .map_err(|source| FormatError::Forest { format, source })?;
            let features = features(ctx, learner, model, &model_path, num_feature, &[])?;
            let details = vec![
                ("booster".to_string(), booster.to_string()),
                ("num_class".to_string(), num_class.to_string()),
                ("num_target".to_string(), num_target.to_string()),
                ("base_score".to_string(), base_score_raw),
            ];
            return Ok(forest_model(
                forest, features, format, producer, obj_name, details,
            ));
        }
        other => return Err(ctx.unsupported(format!("booster `{other}`"))),
    };

    let trees_path = format!("{model_path}.trees");
    let trees = doc::array(
        doc::field(model, &model_path, "trees").at(ctx)?,
        &trees_path,
    )
    .at(ctx)?;
    let info_path = format!("{model_path}.tree_info");
    let tree_info = doc::int_array(
        doc::field(model, &model_path, "tree_info").at(ctx)?,
        &info_path,
    )
    .at(ctx)?;
    if tree_info.len() != trees.len() {
        return Err(ctx.invalid(format!(
            "`{info_path}` has {} entries but there are {} trees",
            tree_info.len(),
            trees.len()
        )));
    }
    let param_path = format!("{model_path}.gbtree_model_param");
    let mut num_parallel_tree = 1;
    if let Some(param) = model.member("gbtree_model_param") {
        if let Some(v) = param.member("num_trees") {
            let declared = doc::int_like(v, &format!("{param_path}.num_trees")).at(ctx)?;
            if declared != trees.len() as i64 {
                return Err(ctx.invalid(format!(
                    "`{param_path}.num_trees` is {declared} but `{trees_path}` has {} trees",
                    trees.len()
                )));
            }
        }
        if let Some(v) = param.member("num_parallel_tree") {
            num_parallel_tree =
                doc::int_like(v, &format!("{param_path}.num_parallel_tree")).at(ctx)?;
        }
    }
    if let Some(w) = &weight_drop
        && w.len() != trees.len()
    {
        return Err(ctx.invalid(format!(
            "`{gb_path}.weight_drop` has {} entries but there are {} trees",
            w.len(),
            trees.len()
        )));
    }

    let mut categorical_features = vec![false; num_feature];
    let mut multi_target = false;
    for (i, t) in trees.iter().enumerate() {
        let path = format!("{trees_path}[{i}]");
        let per_target = read_tree(ctx, t, &path, i, &mut categorical_features)?;
        let weight = weight_drop
            .as_ref()
            .and_then(|w| w.get(i))
            .map_or(1.0, |&w| f64::from(w));
        if per_target.len() > 1 {
            // A vector-leaf tree serves every target at once (its `tree_info` entry is 0): it
            // becomes one scalar tree per target, each summed into its own margin.
            if per_target.len() != groups {
                return Err(ctx.invalid(format!(
                    "`{path}.tree_param.size_leaf_vector` is {} but the model has {groups} targets",
                    per_target.len()
                )));
            }
            multi_target = true;
            for (target, tree) in per_target.into_iter().enumerate() {
                builder.push_tree(tree, target as u32, weight);
            }
            continue;
        }
        let group = tree_info[i];
        let group = u32::try_from(group).map_err(|_| {
            ctx.invalid(format!(
                "`{info_path}[{i}]` is not a valid output group: {group}"
            ))
        })?;
        for tree in per_target {
            builder.push_tree(tree, group, weight);
        }
    }
    let forest = builder
        .build()
        .map_err(|source| FormatError::Forest { format, source })?;

    let features = features(
        ctx,
        learner,
        model,
        &model_path,
        num_feature,
        &categorical_features,
    )?;
    let mut details = vec![
        ("booster".to_string(), booster.to_string()),
        ("num_trees".to_string(), trees.len().to_string()),
        (
            "num_parallel_tree".to_string(),
            num_parallel_tree.to_string(),
        ),
        ("num_class".to_string(), num_class.to_string()),
        ("num_target".to_string(), num_target.to_string()),
        ("base_score".to_string(), base_score_raw),
    ];
    if forest.has_categorical() {
        details.push(("categorical_splits".to_string(), "yes".to_string()));
    }
    if multi_target {
        details.push((
            "multi_strategy".to_string(),
            "multi_output_tree".to_string(),
        ));
    }
    Ok(forest_model(
        forest, features, format, producer, obj_name, details,
    ))
}

fn forest_model(
    forest: Forest,
    features: Vec<FeatureSpec>,
    format: &str,
    producer: Option<String>,
    objective: &str,
    details: Vec<(String, String)>,
) -> ForestModel {
    ForestModel {
        forest,
        features,
        info: ModelInfo {
            format: format.to_string(),
            producer,
            objective: objective.to_string(),
            details,
        },
    }
}

/// The `gblinear` booster's `model.weights` (`src/gbm/gblinear_model.h`): one row of `groups`
/// weights per feature, then one row of biases.
fn linear_term(
    ctx: &Ctx,
    model: &Doc,
    model_path: &str,
    num_feature: usize,
    groups: usize,
) -> Result<LinearTerm> {
    let path = format!("{model_path}.weights");
    let w = doc::f32_array(doc::field(model, model_path, "weights").at(ctx)?, &path).at(ctx)?;
    let expected = (num_feature + 1) * groups;
    if w.len() != expected {
        return Err(ctx.invalid(format!(
            "`{path}` has {} entries but {num_feature} features and a bias for {groups} outputs need {expected}",
            w.len()
        )));
    }
    let (weights, bias) = w.split_at(num_feature * groups);
    Ok(LinearTerm {
        weights: weights.iter().map(|&v| f64::from(v)).collect(),
        bias: bias.iter().map(|&v| f64::from(v)).collect(),
    })
}

/// `"5E-1"` (before 3.1) or `"[5E-1]"` / `"[1E-1,2E-1]"` (3.1 and later, one per output).
fn parse_base_score(s: &str) -> std::result::Result<Vec<f32>, String> {
    let t = s.trim();
    let inner = match t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        Some(inner) => inner,
        None => t,
    };
    let values = inner
        .split(',')
        .map(|p| {
            p.trim()
                .parse::<f32>()
                .map_err(|_| format!("{s:?} is not a number or a bracketed list of numbers"))
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    if values.iter().any(|v| v.is_nan()) {
        return Err(format!("{s:?} contains NaN"));
    }
    Ok(values)
}

/// The objective's `ProbToMargin`, in `float` like XGBoost.
fn to_margin(p: ProbToMargin, b: f32, objective: &str) -> std::result::Result<f32, String> {
    match p {
        ProbToMargin::Identity => Ok(b),
        ProbToMargin::Logit => {
            if b > 0.0 && b < 1.0 {
                Ok(-(1.0f32 / b - 1.0f32).ln())
            } else {
                Err(format!(
                    "{b} is outside (0, 1), which `{objective}` requires"
                ))
            }
        }
        ProbToMargin::Log => {
            if b > 0.0 {
                Ok(b.ln())
            } else {
                Err(format!("{b} is not positive, which `{objective}` requires"))
            }
        }
    }
}

/// An array member of a tree with exactly `n` entries.
fn tree_array<'a>(ctx: &Ctx, t: &'a Doc, path: &str, key: &str) -> Result<&'a Doc> {
    doc::field(t, path, key).at(ctx)
}

fn check_len(ctx: &Ctx, len: usize, n: usize, path: &str, key: &str) -> Result<()> {
    if len != n {
        return Err(ctx.invalid(format!(
            "`{path}.{key}` has {len} entries but `{path}.tree_param.num_nodes` is {n}"
        )));
    }
    Ok(())
}

fn read_tree(
    ctx: &Ctx,
    t: &Doc,
    path: &str,
    tree_index: usize,
    categorical_features: &mut [bool],
) -> Result<Vec<TreeBuilder>> {
    let tp_path = format!("{path}.tree_param");
    let tp = doc::field(t, path, "tree_param").at(ctx)?;
    // 0 (XGBoost < 2.0 writes it for scalar trees) and 1 mean one value per leaf.
    let targets = match tp.member("size_leaf_vector") {
        Some(v) => doc::int_like(v, &format!("{tp_path}.size_leaf_vector")).at(ctx)?,
        None => 1,
    };
    let targets = usize::try_from(targets)
        .ok()
        .filter(|&k| k <= 1 << 20)
        .ok_or_else(|| {
            ctx.invalid(format!(
                "`{tp_path}.size_leaf_vector` is not a target count: {targets}"
            ))
        })?
        .max(1);
    let n = doc::int_like(
        doc::field(tp, &tp_path, "num_nodes").at(ctx)?,
        &format!("{tp_path}.num_nodes"),
    )
    .at(ctx)?;
    let n = usize::try_from(n)
        .map_err(|_| ctx.invalid(format!("`{tp_path}.num_nodes` is negative: {n}")))?;
    let num_deleted = match tp.member("num_deleted") {
        Some(v) => doc::int_like(v, &format!("{tp_path}.num_deleted")).at(ctx)?,
        None => 0,
    };

    let ints = |key: &str| -> Result<Vec<i64>> {
        let v = doc::int_array(tree_array(ctx, t, path, key)?, &format!("{path}.{key}")).at(ctx)?;
        check_len(ctx, v.len(), n, path, key)?;
        Ok(v)
    };
    let left = ints("left_children")?;
    let right = ints("right_children")?;
    let split_indices = ints("split_indices")?;
    let default_left = ints("default_left")?;
    let conditions = doc::f32_array(
        tree_array(ctx, t, path, "split_conditions")?,
        &format!("{path}.split_conditions"),
    )
    .at(ctx)?;
    check_len(ctx, conditions.len(), n, path, "split_conditions")?;
    let split_type = match t.member("split_type") {
        Some(v) => {
            let s = doc::int_array(v, &format!("{path}.split_type")).at(ctx)?;
            check_len(ctx, s.len(), n, path, "split_type")?;
            s
        }
        None => vec![0; n],
    };
    let cats = Categories::read(ctx, t, path)?;

    // Pruned ("deleted") nodes stay in the arrays, unreachable; keep only what the root reaches.
    let order: Vec<usize> = if num_deleted > 0 {
        reachable(&left, &right).unwrap_or_else(|| (0..n).collect())
    } else {
        (0..n).collect()
    };
    let mut new_index = vec![u32::MAX; n];
    for (k, &i) in order.iter().enumerate() {
        new_index[i] = k as u32;
    }
    let child = |i: usize, c: i64, side: &str| -> Result<u32> {
        if c < 0 {
            return Err(ctx.invalid(format!(
                "`{path}` (tree {tree_index}), node {i}: {side} child is {c} but the left child is not -1"
            )));
        }
        Ok(
            match usize::try_from(c).ok().and_then(|c| new_index.get(c)) {
                Some(&k) if k != u32::MAX => k,
                // Out of range: let the builder report it with the tree's size.
                _ => u32::try_from(c).unwrap_or(u32::MAX),
            },
        )
    };

    let leaf_vectors = if targets > 1 {
        Some(LeafVectors::read(ctx, t, path, targets, n)?)
    } else {
        None
    };
    let mut trees = vec![TreeBuilder::with_capacity(order.len()); targets];
    for &i in &order {
        if left[i] == -1 {
            match &leaf_vectors {
                None => {
                    trees[0].leaf(f64::from(conditions[i]));
                }
                Some(lv) => {
                    let values = lv.of(ctx, path, i, right[i])?;
                    for (tree, v) in trees.iter_mut().zip(values) {
                        tree.leaf(f64::from(*v));
                    }
                }
            }
            continue;
        }
        let l = child(i, left[i], "left")?;
        let r = child(i, right[i], "right")?;
        let feature = u32::try_from(split_indices[i]).map_err(|_| {
            ctx.invalid(format!(
                "`{path}.split_indices[{i}]` (tree {tree_index}, node {i}) is not a feature index: {}",
                split_indices[i]
            ))
        })?;
        let dl = default_left[i] != 0;
        let test = match split_type[i] {
            0 => SplitTest::Numeric {
                threshold: f64::from(conditions[i]),
                missing: Missing::NanDefault,
            },
            1 => {
                if let Some(slot) = categorical_features.get_mut(feature as usize) {
                    *slot = true;
                }
                SplitTest::Categorical {
                    bitset: cats.bitset(ctx, path, i)?,
                    in_set_goes_left: false,
                    nan: NanRoute::Default,
                    cast: CategoryCast::CheckThenTruncate,
                }
            }
            other => {
                return Err(ctx.invalid(format!(
                    "`{path}.split_type[{i}]` (tree {tree_index}) is {other}; expected 0 (numeric) or 1 (categorical)"
                )));
            }
        };
        for tree in &mut trees {
            tree.split(feature, test.clone(), dl, l, r);
        }
    }
    Ok(trees)
}

/// The leaf values of a multi-target tree (`multi_strategy="multi_output_tree"`,
/// `src/tree/multi_target_tree_model.cc`): `targets` values per leaf. Newer XGBoost stores
/// them in `leaf_weights` (seen in 3.2), leaf by leaf, and reuses a leaf's `right_children` entry as its
/// position there; earlier versions keep them in `base_weights`, `targets` per node.
struct LeafVectors {
    targets: usize,
    values: Vec<f32>,
    by_leaf_index: bool,
}

impl LeafVectors {
    fn read(ctx: &Ctx, t: &Doc, path: &str, targets: usize, nodes: usize) -> Result<Self> {
        if let Some(v) = t.member("leaf_weights") {
            let values = doc::f32_array(v, &format!("{path}.leaf_weights")).at(ctx)?;
            // At least one leaf's vector: `targets` sizes a tree per target, so it must be
            // backed by values in the file before those trees are made.
            if values.len() % targets != 0 || values.len() < targets {
                return Err(ctx.invalid(format!(
                    "`{path}.leaf_weights` has {} entries, not one or more leaf vectors of {targets} targets",
                    values.len()
                )));
            }
            return Ok(Self {
                targets,
                values,
                by_leaf_index: true,
            });
        }
        let key = "base_weights";
        let values =
            doc::f32_array(tree_array(ctx, t, path, key)?, &format!("{path}.{key}")).at(ctx)?;
        if values.len() != nodes * targets {
            return Err(ctx.invalid(format!(
                "`{path}.{key}` has {} entries but {nodes} nodes of {targets} targets need {}",
                values.len(),
                nodes * targets
            )));
        }
        Ok(Self {
            targets,
            values,
            by_leaf_index: false,
        })
    }

    /// The values of leaf `node`, whose `right_children` entry is `right`.
    fn of(&self, ctx: &Ctx, path: &str, node: usize, right: i64) -> Result<&[f32]> {
        let (slot, what) = if self.by_leaf_index {
            (usize::try_from(right).ok(), "leaf_weights")
        } else {
            (Some(node), "base_weights")
        };
        slot.and_then(|s| self.values.get(s * self.targets..(s + 1) * self.targets))
            .ok_or_else(|| {
                ctx.invalid(format!(
                    "`{path}`: leaf {node} points outside `{what}` (leaf index {right})"
                ))
            })
    }
}

/// Nodes reached from the root, in file order; `None` if the links are not a tree.
fn reachable(left: &[i64], right: &[i64]) -> Option<Vec<usize>> {
    let n = left.len();
    let mut seen = vec![false; n];
    let mut stack = vec![0usize];
    if n == 0 {
        return None;
    }
    seen[0] = true;
    while let Some(i) = stack.pop() {
        if left[i] == -1 {
            continue;
        }
        for c in [left[i], right[i]] {
            let c = usize::try_from(c).ok().filter(|&c| c < n)?;
            if seen[c] {
                return None;
            }
            seen[c] = true;
            stack.push(c);
        }
    }
    Some((0..n).filter(|&i| seen[i]).collect())
}

/// A tree's categorical sets: node `categories_nodes[k]` sends the categories
/// `categories[categories_segments[k] ..][.. categories_sizes[k]]` right.
struct Categories {
    nodes: Vec<i64>,
    segments: Vec<i64>,
    sizes: Vec<i64>,
    values: Vec<i64>,
}

impl Categories {
    fn read(ctx: &Ctx, t: &Doc, path: &str) -> Result<Self> {
        let get = |key: &str| -> Result<Vec<i64>> {
            match t.member(key) {
                Some(v) => doc::int_array(v, &format!("{path}.{key}")).at(ctx),
                None => Ok(Vec::new()),
            }
        };
        let c = Categories {
            nodes: get("categories_nodes")?,
            segments: get("categories_segments")?,
            sizes: get("categories_sizes")?,
            values: get("categories")?,
        };
        if c.segments.len() != c.nodes.len() || c.sizes.len() != c.nodes.len() {
            return Err(ctx.invalid(format!(
                "`{path}`: categories_nodes, categories_segments and categories_sizes have {}, {} and {} entries",
                c.nodes.len(),
                c.segments.len(),
                c.sizes.len()
            )));
        }
        Ok(c)
    }

    fn bitset(&self, ctx: &Ctx, path: &str, node: usize) -> Result<Vec<u32>> {
        let Some(k) = self.nodes.iter().position(|&x| x == node as i64) else {
            // No stored set: every category goes left, as in XGBoost with an empty bit field.
            return Ok(Vec::new());
        };
        let (start, size) = (self.segments[k], self.sizes[k]);
        let range = usize::try_from(start)
            .ok()
            .zip(usize::try_from(size).ok())
            .and_then(|(s, z)| Some(s..s.checked_add(z)?))
            .filter(|r| r.end <= self.values.len())
            .ok_or_else(|| {
                ctx.invalid(format!(
                    "`{path}.categories_segments[{k}]`/`categories_sizes[{k}]` ({start}, {size}) point outside `categories` ({} entries)",
                    self.values.len()
                ))
            })?;
        let mut bitset = Vec::new();
        for (j, &c) in self.values[range.clone()].iter().enumerate() {
            if !(0..MAX_CATEGORY).contains(&c) {
                return Err(ctx.invalid(format!(
                    "`{path}.categories[{}]` (node {node}) is {c}; categories must be in 0..2^24",
                    range.start + j
                )));
            }
            let (word, bit) = ((c / 32) as usize, c % 32);
            if bitset.len() <= word {
                bitset.resize(word + 1, 0u32);
            }
            bitset[word] |= 1u32 << bit;
        }
        Ok(bitset)
    }
}

/// Feature names (`f0…` when the file has none, as XGBoost names them), kinds, and category
/// names from the `cats` encoder XGBoost ≥ 3.1 stores for string categories.
fn features(
    ctx: &Ctx,
    learner: &Doc,
    model: &Doc,
    model_path: &str,
    num_feature: usize,
    categorical_splits: &[bool],
) -> Result<Vec<FeatureSpec>> {
    let strings = |key: &str| -> Result<Vec<String>> {
        let path = format!("learner.{key}");
        let Some(v) = learner.member(key) else {
            return Ok(Vec::new());
        };
        let items = doc::array(v, &path).at(ctx)?;
        let out = items
            .iter()
            .enumerate()
            .map(|(i, s)| doc::string(s, &format!("{path}[{i}]")).map(str::to_string))
            .collect::<std::result::Result<Vec<_>, _>>()
            .at(ctx)?;
        if !out.is_empty() && out.len() != num_feature {
            return Err(ctx.invalid(format!(
                "`{path}` has {} entries but the model has {num_feature} features",
                out.len()
            )));
        }
        Ok(out)
    };
    let names = strings("feature_names")?;
    let types = strings("feature_types")?;
    let categories = category_names(ctx, model, model_path, num_feature)?;
    (0..num_feature)
        .map(|f| {
            let name = names.get(f).cloned().unwrap_or_else(|| format!("f{f}"));
            let declared_cat = match types.get(f).map(String::as_str) {
                None | Some("q" | "float" | "int" | "i") => false,
                Some("c") => true,
                Some(other) => {
                    return Err(ctx.unsupported(format!(
                        "feature type `{other}` (`learner.feature_types[{f}]`)"
                    )));
                }
            };
            let kind = if declared_cat || categorical_splits.get(f).copied().unwrap_or(false) {
                FeatureKind::Categorical {
                    categories: categories.get(f).cloned().flatten(),
                }
            } else {
                FeatureKind::Numeric
            };
            Ok(FeatureSpec { name, kind })
        })
        .collect()
}

/// Per feature, the category names in code order when the model's `cats` encoder stores them
/// as strings (`{offsets, values}`: UTF-8 bytes cut at `offsets`). Numeric category values
/// (`{type, values}`) give `None`: inputs are then taken as codes.
fn category_names(
    ctx: &Ctx,
    model: &Doc,
    model_path: &str,
    num_feature: usize,
) -> Result<Vec<Option<Arc<[String]>>>> {
    let path = format!("{model_path}.cats.enc");
    let Some(enc) = model.member("cats").and_then(|c| c.member("enc")) else {
        return Ok(Vec::new());
    };
    let enc = doc::array(enc, &path).at(ctx)?;
    if enc.is_empty() {
        return Ok(Vec::new());
    }
    if enc.len() != num_feature {
        return Err(ctx.invalid(format!(
            "`{path}` has {} entries but the model has {num_feature} features",
            enc.len()
        )));
    }
    enc.iter()
        .enumerate()
        .map(|(f, e)| {
            let p = format!("{path}[{f}]");
            let (Some(offsets), Some(values)) = (e.member("offsets"), e.member("values")) else {
                return Ok(None);
            };
            let offsets = doc::int_array(offsets, &format!("{p}.offsets")).at(ctx)?;
            if offsets.len() < 2 {
                return Ok(None);
            }
            let bytes: Vec<u8> = doc::int_array(values, &format!("{p}.values"))
                .at(ctx)?
                .into_iter()
                .map(|b| b as u8)
                .collect();
            let names = offsets
                .windows(2)
                .enumerate()
                .map(|(j, w)| {
                    let range = usize::try_from(w[0])
                        .ok()
                        .zip(usize::try_from(w[1]).ok())
                        .filter(|(a, b)| a <= b && *b <= bytes.len());
                    let Some((a, b)) = range else {
                        return Err(ctx.invalid(format!(
                            "`{p}.offsets[{j}..{}]` = {}..{} is outside the {} name bytes",
                            j + 2,
                            w[0],
                            w[1],
                            bytes.len()
                        )));
                    };
                    String::from_utf8(bytes[a..b].to_vec())
                        .map_err(|_| ctx.invalid(format!("`{p}`: category {j} is not valid UTF-8")))
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(Some(Arc::from(names)))
        })
        .collect()
}
