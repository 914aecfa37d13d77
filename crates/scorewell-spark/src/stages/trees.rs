//! Decision trees, random forests and gradient-boosted trees (classification and regression,
//! `ml/tree/treeModels.scala`, `ml/classification/RandomForestClassifier.scala`, …), built as
//! `scorewell_forest` forests.
//!
//! - Continuous split: left iff `x <= threshold` (NaN goes right, as `NaN <= t` is false).
//! - Categorical split (`CategoricalSplit.shouldGoLeft`): Spark keeps the smaller side's
//!   categories as a `Set[Double]` and looks the value itself up: with at most
//!   `numCategories / 2` left categories, left iff `x` is one of them; otherwise left iff `x`
//!   is not one of the right categories. So a value that is no category (1.5, −1, 7 of 3,
//!   NaN) goes right in the first case and left in the second ([`CategoryCast::Exact`]).
//! - A k-class classifier: each Spark tree is one IR tree in its own output group, whose leaves
//!   hold their own node number; the evaluator finds every tree's leaf in one walk and the raw
//!   values are summed in tree order from a table of k values per leaf: a decision tree's class
//!   counts (`rawPrediction` = `impurityStats`), a random forest's counts divided by the leaf
//!   total (`rawPrediction` = the sum of normalized votes).
//! - GBT: `margin = Σ weightᵢ · treeᵢ`; a classifier's `rawPrediction` is `[-m, m]` and its
//!   probability `1 / (1 + e^(-2m))`. Random forest regression averages the trees.
//! - `leafCol` (Spark ≥ 3.0): the reached leaf's index, leaves numbered from 0 in pre-order
//!   (left subtree first); a `Float64` for a single tree, a dense vector with one index per
//!   tree for ensembles. A decision tree regressor's `varianceCol`: the leaf's
//!   `impurityStats` `[count, sum, sumSq]` as `(sumSq - sum² / count) / count` (0 when empty).
//! - A decision tree classifier writing neither `rawPredictionCol` nor `probabilityCol`
//!   predicts the leaf's saved `prediction` (its `predict` override, thresholds unused).

use std::collections::HashMap;
use std::sync::Arc;

use scorewell_core::{ScoreError, Stage};
use scorewell_forest::{
    CategoryCast, ForestBuilder, LeafTables, LeafValues, Missing, NanRoute, SplitTest, TreeBuilder,
};

use super::linear::{class_thresholds, classifier_head, finish, predicts_from_features};
use super::{Ctx, Registry};
use crate::error::{Result, SparkError};
use crate::model::{Decide, Extra, ForestKernel, Head, ModelStage, ProbRule, RegressionLink};
use crate::reader::{SparkNode, SparkTree, read_ensemble, read_tree};

pub(crate) fn register(reg: &mut Registry) {
    reg.add(
        "org.apache.spark.ml.classification.DecisionTreeClassificationModel",
        dt_classifier,
    );
    reg.add(
        "org.apache.spark.ml.classification.RandomForestClassificationModel",
        rf_classifier,
    );
    reg.add(
        "org.apache.spark.ml.classification.GBTClassificationModel",
        gbt_classifier,
    );
    reg.add(
        "org.apache.spark.ml.regression.DecisionTreeRegressionModel",
        dt_regressor,
    );
    reg.add(
        "org.apache.spark.ml.regression.RandomForestRegressionModel",
        rf_regressor,
    );
    reg.add(
        "org.apache.spark.ml.regression.GBTRegressionModel",
        gbt_regressor,
    );
}

type Built = Result<Vec<Arc<dyn Stage>>>;

/// The most features, classes or categories a tree model may declare: these size the forest's
/// input rows, its leaf tables and its category bitsets.
const MAX_DECLARED: usize = scorewell_core::MAX_DECLARED_FEATURES;

/// The metadata's `numFeatures` or `numClasses`, at most [`MAX_DECLARED`].
fn declared(ctx: &Ctx<'_>, key: &str) -> Result<usize> {
    let n = ctx.meta.extra_usize(key)?;
    if n > MAX_DECLARED {
        return Err(ctx.invalid(format!(
            "metadata declares {key} = {n}, more than the {MAX_DECLARED} scorewell reads"
        )));
    }
    Ok(n)
}

/// Translate one Spark tree with `leaf` giving each leaf's value.
fn tree_builder(
    ctx: &Ctx<'_>,
    tree: &SparkTree,
    num_features: usize,
    leaf: &dyn Fn(&SparkNode) -> f64,
) -> Result<TreeBuilder> {
    let pos: HashMap<i64, u32> = tree
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id, i as u32))
        .collect();
    let child = |id: i64, node: i64| {
        pos.get(&id)
            .copied()
            .ok_or_else(|| ctx.invalid(format!("tree node {node} points at missing child {id}")))
    };
    let mut b = TreeBuilder::with_capacity(tree.nodes.len());
    for n in &tree.nodes {
        if n.left < 0 || n.right < 0 {
            b.leaf(leaf(n));
            continue;
        }
        let (l, r) = (child(n.left, n.id)?, child(n.right, n.id)?);
        let feature = u32::try_from(n.feature)
            .ok()
            .filter(|f| (*f as usize) < num_features)
            .ok_or_else(|| {
                ctx.invalid(format!(
                    "tree node {} splits on feature {} of {num_features}",
                    n.id, n.feature
                ))
            })?;
        if n.num_categories < 0 {
            let [threshold] = n.left_categories_or_threshold[..] else {
                return Err(ctx.invalid(format!(
                    "tree node {} is a continuous split without one threshold",
                    n.id
                )));
            };
            b.numeric(feature, threshold, Missing::NanDefault, false, l, r);
        } else {
            let k = n.num_categories as usize;
            if k > MAX_DECLARED {
                return Err(ctx.invalid(format!(
                    "tree node {} declares {k} categories, more than the {MAX_DECLARED} scorewell reads",
                    n.id
                )));
            }
            let mut left = vec![false; k];
            for c in &n.left_categories_or_threshold {
                if *c < 0.0 || c.fract() != 0.0 || *c >= n.num_categories as f64 {
                    return Err(ctx.invalid(format!(
                        "tree node {} has left category {c} outside 0..{}",
                        n.id, n.num_categories
                    )));
                }
                left[*c as usize] = true;
            }
            // Spark stores the left set when it is the smaller side (`isLeft`), else the
            // right set, and tests membership of that set.
            let is_left = n.left_categories_or_threshold.len() <= k / 2;
            let mut bitset = vec![0u32; k.div_ceil(32).max(1)];
            for (c, _) in left.iter().enumerate().filter(|(_, l)| **l == is_left) {
                bitset[c / 32] |= 1 << (c % 32);
            }
            let test = SplitTest::Categorical {
                bitset,
                in_set_goes_left: is_left,
                nan: if is_left {
                    NanRoute::Right
                } else {
                    NanRoute::Left
                },
                cast: CategoryCast::Exact,
            };
            b.split(feature, test, false, l, r);
        }
    }
    Ok(b)
}

fn forest_error(ctx: &Ctx<'_>, e: scorewell_forest::ForestError) -> SparkError {
    SparkError::Score {
        stage: ctx.dir().to_path_buf(),
        source: ScoreError::Forest(e),
    }
}

/// Per-class trees: `value(node, class)` is each leaf's value for that class.
fn class_forest(
    ctx: &Ctx<'_>,
    trees: &[SparkTree],
    value: fn(&SparkNode, usize) -> f64,
) -> Result<ForestKernel> {
    let num_features = declared(ctx, "numFeatures")?;
    let k = declared(ctx, "numClasses")?;
    if k == 0 {
        return Err(ctx.invalid("numClasses is 0"));
    }
    let mut fb = ForestBuilder::new(num_features, trees.len());
    let mut values = Vec::with_capacity(trees.len());
    for (t, tree) in trees.iter().enumerate() {
        if let Some(n) = tree.nodes.iter().find(|n| n.left < 0 && n.stats.len() != k) {
            return Err(ctx.invalid(format!(
                "leaf {} has {} impurity stats for {k} classes",
                n.id,
                n.stats.len()
            )));
        }
        let mut table = vec![0.0; tree.nodes.len() * k];
        for (i, n) in tree.nodes.iter().enumerate() {
            if n.left < 0 || n.right < 0 {
                for c in 0..k {
                    table[i * k + c] = value(n, c);
                }
            }
        }
        let number: HashMap<i64, f64> = tree
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id, i as f64))
            .collect();
        let tb = tree_builder(ctx, tree, num_features, &|n| number[&n.id])?;
        fb.push_tree(tb, t as u32, 1.0);
        values.push(table);
    }
    let forest = fb.build().map_err(|e| forest_error(ctx, e))?;
    Ok(ForestKernel::with_leaf_table(
        &forest,
        LeafTables {
            width: k,
            base: vec![0.0; k],
            trees: values
                .into_iter()
                .map(|values| LeafValues {
                    group: None,
                    values,
                })
                .collect(),
        },
    ))
}

/// One margin: Σ weight · leaf prediction.
fn margin_forest(ctx: &Ctx<'_>, trees: &[SparkTree], pair: bool) -> Result<ForestKernel> {
    let num_features = declared(ctx, "numFeatures")?;
    let mut fb = ForestBuilder::new(num_features, 1);
    for tree in trees {
        let tb = tree_builder(ctx, tree, num_features, &|n| n.prediction)?;
        fb.push_tree(tb, 0, tree.weight);
    }
    let forest = fb.build().map_err(|e| forest_error(ctx, e))?;
    Ok(ForestKernel::new(&forest, pair))
}

/// Each leaf's index among the tree's leaves in pre-order (left subtree first), by node id:
/// Spark's `predictLeaf` numbering.
fn leaf_indices(ctx: &Ctx<'_>, tree: &SparkTree) -> Result<HashMap<i64, f64>> {
    let by_id: HashMap<i64, &SparkNode> = tree.nodes.iter().map(|n| (n.id, n)).collect();
    let mut out = HashMap::new();
    let mut stack = vec![tree.nodes[0].id];
    while let Some(id) = stack.pop() {
        let node = by_id
            .get(&id)
            .ok_or_else(|| ctx.invalid(format!("tree node {id} is missing")))?;
        if node.left < 0 || node.right < 0 {
            out.insert(id, out.len() as f64);
        } else if out.len() + stack.len() > tree.nodes.len() {
            return Err(ctx.invalid("tree nodes form a cycle"));
        } else {
            stack.push(node.right);
            stack.push(node.left);
        }
    }
    Ok(out)
}

/// One group per tree whose value is the reached leaf's index.
fn leaf_index_kernel(ctx: &Ctx<'_>, trees: &[SparkTree]) -> Result<ForestKernel> {
    let num_features = declared(ctx, "numFeatures")?;
    let mut fb = ForestBuilder::new(num_features, trees.len());
    for (t, tree) in trees.iter().enumerate() {
        let index = leaf_indices(ctx, tree)?;
        let tb = tree_builder(ctx, tree, num_features, &|n| {
            index.get(&n.id).copied().unwrap_or(f64::NAN)
        })?;
        fb.push_tree(tb, t as u32, 1.0);
    }
    let forest = fb.build().map_err(|e| forest_error(ctx, e))?;
    Ok(ForestKernel::new(&forest, false))
}

/// `leafCol` when set: a double for a single tree, a vector of indices for an ensemble.
fn leaf_extra(ctx: &Ctx<'_>, trees: &[SparkTree], ensemble: bool) -> Result<Option<Extra>> {
    let Some(name) = ctx.meta.col("leafCol")? else {
        return Ok(None);
    };
    Ok(Some(Extra {
        name,
        kernel: Arc::new(leaf_index_kernel(ctx, trees)?),
        vector: ensemble,
    }))
}

/// `features` + `kernel` + `head`, then `extras` in order.
fn tree_stage(
    ctx: &mut Ctx<'_>,
    kernel: ForestKernel,
    head: Head,
    extras: Vec<Option<Extra>>,
) -> Built {
    let features = ctx.meta.str("featuresCol")?;
    let model = ModelStage::new(ctx.name(), features, Arc::new(kernel), head)
        .with_extras(extras.into_iter().flatten().collect());
    finish(ctx, model)
}

fn dt_classifier(ctx: &mut Ctx<'_>) -> Built {
    let tree = read_tree(&ctx.meta.source, ctx.dir())?;
    let k = declared(ctx, "numClasses")?;
    let leaf = leaf_extra(ctx, std::slice::from_ref(&tree), false)?;
    if predicts_from_features(ctx)? {
        // `predict` is the leaf's saved prediction.
        let kernel = margin_forest(ctx, std::slice::from_ref(&tree), false)?;
        let head = classifier_head(ctx, Some(ProbRule::Normalize), Decide::Value)?;
        return tree_stage(ctx, kernel, head, vec![leaf]);
    }
    let kernel = class_forest(ctx, std::slice::from_ref(&tree), |n, c| n.stats[c])?;
    let head = classifier_head(
        ctx,
        Some(ProbRule::Normalize),
        Decide::Default(class_thresholds(ctx, k)?),
    )?;
    tree_stage(ctx, kernel, head, vec![leaf])
}

fn rf_classifier(ctx: &mut Ctx<'_>) -> Built {
    let trees = read_ensemble(&ctx.meta.source, ctx.dir())?;
    let k = declared(ctx, "numClasses")?;
    let kernel = class_forest(ctx, &trees, |n, c| {
        let total: f64 = n.stats.iter().sum();
        if total != 0.0 {
            n.stats[c] / total
        } else {
            0.0
        }
    })?;
    let head = classifier_head(
        ctx,
        Some(ProbRule::Normalize),
        Decide::Default(class_thresholds(ctx, k)?),
    )?;
    let leaf = leaf_extra(ctx, &trees, true)?;
    tree_stage(ctx, kernel, head, vec![leaf])
}

fn gbt_classifier(ctx: &mut Ctx<'_>) -> Built {
    let trees = read_ensemble(&ctx.meta.source, ctx.dir())?;
    let kernel = margin_forest(ctx, &trees, true)?;
    let head = classifier_head(
        ctx,
        Some(ProbRule::GbtLogLoss),
        Decide::Default(class_thresholds(ctx, 2)?),
    )?;
    let leaf = leaf_extra(ctx, &trees, true)?;
    tree_stage(ctx, kernel, head, vec![leaf])
}

fn regressor(ctx: &Ctx<'_>, link: RegressionLink) -> Result<Head> {
    Ok(Head::Regressor {
        prediction: ctx.meta.col("predictionCol")?,
        link,
        link_prediction: None,
    })
}

/// `VarianceCalculator.calculate` of a leaf's `[count, sum, sumSq]`.
fn leaf_variance(n: &SparkNode) -> f64 {
    match n.stats[..] {
        [count, sum, sum_sq, ..] if count != 0.0 => (sum_sq - sum * sum / count) / count,
        _ => 0.0,
    }
}

fn dt_regressor(ctx: &mut Ctx<'_>) -> Built {
    let tree = read_tree(&ctx.meta.source, ctx.dir())?;
    let trees = std::slice::from_ref(&tree);
    let kernel = margin_forest(ctx, trees, false)?;
    let variance = match ctx.meta.col("varianceCol")? {
        None => None,
        Some(name) => {
            if let Some(n) = tree.nodes.iter().find(|n| n.left < 0 && n.stats.len() < 3) {
                return Err(ctx.invalid(format!(
                    "leaf {} has {} impurity stats, a variance needs [count, sum, sumSq]",
                    n.id,
                    n.stats.len()
                )));
            }
            let num_features = declared(ctx, "numFeatures")?;
            let mut fb = ForestBuilder::new(num_features, 1);
            fb.push_tree(
                tree_builder(ctx, &tree, num_features, &leaf_variance)?,
                0,
                1.0,
            );
            let forest = fb.build().map_err(|e| forest_error(ctx, e))?;
            Some(Extra {
                name,
                kernel: Arc::new(ForestKernel::new(&forest, false)),
                vector: false,
            })
        }
    };
    let leaf = leaf_extra(ctx, trees, false)?;
    let head = regressor(ctx, RegressionLink::Identity)?;
    tree_stage(ctx, kernel, head, vec![variance, leaf])
}

fn rf_regressor(ctx: &mut Ctx<'_>) -> Built {
    let mut trees = read_ensemble(&ctx.meta.source, ctx.dir())?;
    // Spark averages the trees' predictions, ignoring the saved weights.
    trees.iter_mut().for_each(|t| t.weight = 1.0);
    let n = trees.len() as f64;
    let kernel = margin_forest(ctx, &trees, false)?;
    let leaf = leaf_extra(ctx, &trees, true)?;
    let head = regressor(ctx, RegressionLink::Mean(n))?;
    tree_stage(ctx, kernel, head, vec![leaf])
}

fn gbt_regressor(ctx: &mut Ctx<'_>) -> Built {
    let trees = read_ensemble(&ctx.meta.source, ctx.dir())?;
    let kernel = margin_forest(ctx, &trees, false)?;
    let leaf = leaf_extra(ctx, &trees, true)?;
    let head = regressor(ctx, RegressionLink::Identity)?;
    tree_stage(ctx, kernel, head, vec![leaf])
}
