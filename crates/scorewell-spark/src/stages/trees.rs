//! Decision trees, random forests and gradient-boosted trees (classification and regression,
//! `ml/tree/treeModels.scala`, `ml/classification/RandomForestClassifier.scala`, …), built as
//! `scorewell_forest` forests.
//!
//! - Continuous split: left iff `x <= threshold` (NaN goes right, as `NaN <= t` is false).
//! - Categorical split: left iff `x` is one of `leftCategories`.
//! - A k-class classifier: each Spark tree is one IR tree in its own output group, whose leaves
//!   hold their own node number; the evaluator finds every tree's leaf in one walk and the raw
//!   values are summed in tree order from a table of k values per leaf: a decision tree's class
//!   counts (`rawPrediction` = `impurityStats`), a random forest's counts divided by the leaf
//!   total (`rawPrediction` = the sum of normalized votes).
//! - GBT: `margin = Σ weightᵢ · treeᵢ`; a classifier's `rawPrediction` is `[-m, m]` and its
//!   probability `1 / (1 + e^(-2m))`. Random forest regression averages the trees.

use std::collections::HashMap;
use std::sync::Arc;

use scorewell_core::{ScoreError, Stage};
use scorewell_forest::{CategoryCast, ForestBuilder, Missing, NanRoute, SplitTest, TreeBuilder};

use super::linear::{classifier_head, stage, thresholds};
use super::{Ctx, Registry};
use crate::error::{Result, SparkError};
use crate::model::{Decide, ForestKernel, Head, LeafTable, ProbRule, RegressionLink};
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
            let mut bitset = vec![0u32; (n.num_categories as usize).div_ceil(32).max(1)];
            for c in &n.left_categories_or_threshold {
                if *c < 0.0 || c.fract() != 0.0 || *c >= n.num_categories as f64 {
                    return Err(ctx.invalid(format!(
                        "tree node {} has left category {c} outside 0..{}",
                        n.id, n.num_categories
                    )));
                }
                let c = *c as usize;
                bitset[c / 32] |= 1 << (c % 32);
            }
            let test = SplitTest::Categorical {
                bitset,
                in_set_goes_left: true,
                nan: NanRoute::Right,
                cast: CategoryCast::CheckThenTruncate,
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
    let num_features = ctx.meta.extra_usize("numFeatures")?;
    let k = ctx.meta.extra_usize("numClasses")?;
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
        LeafTable { k, values },
    ))
}

/// One margin: Σ weight · leaf prediction.
fn margin_forest(ctx: &Ctx<'_>, trees: &[SparkTree], pair: bool) -> Result<ForestKernel> {
    let num_features = ctx.meta.extra_usize("numFeatures")?;
    let mut fb = ForestBuilder::new(num_features, 1);
    for tree in trees {
        let tb = tree_builder(ctx, tree, num_features, &|n| n.prediction)?;
        fb.push_tree(tb, 0, tree.weight);
    }
    let forest = fb.build().map_err(|e| forest_error(ctx, e))?;
    Ok(ForestKernel::new(&forest, pair))
}

fn dt_classifier(ctx: &mut Ctx<'_>) -> Built {
    let tree = read_tree(&ctx.meta.source, ctx.dir())?;
    let kernel = class_forest(ctx, &[tree], |n, c| n.stats[c])?;
    let head = classifier_head(
        ctx,
        Some(ProbRule::Normalize),
        Decide::Argmax(thresholds(ctx)?),
    )?;
    stage(ctx, Arc::new(kernel), head)
}

fn rf_classifier(ctx: &mut Ctx<'_>) -> Built {
    let trees = read_ensemble(&ctx.meta.source, ctx.dir())?;
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
        Decide::Argmax(thresholds(ctx)?),
    )?;
    stage(ctx, Arc::new(kernel), head)
}

fn gbt_classifier(ctx: &mut Ctx<'_>) -> Built {
    let trees = read_ensemble(&ctx.meta.source, ctx.dir())?;
    let kernel = margin_forest(ctx, &trees, true)?;
    let head = classifier_head(
        ctx,
        Some(ProbRule::GbtLogLoss),
        Decide::Argmax(thresholds(ctx)?),
    )?;
    stage(ctx, Arc::new(kernel), head)
}

fn regressor(ctx: &Ctx<'_>, link: RegressionLink) -> Result<Head> {
    Ok(Head::Regressor {
        prediction: ctx.meta.col("predictionCol")?,
        link,
        link_prediction: None,
    })
}

fn dt_regressor(ctx: &mut Ctx<'_>) -> Built {
    let tree = read_tree(&ctx.meta.source, ctx.dir())?;
    let kernel = margin_forest(ctx, &[tree], false)?;
    stage(
        ctx,
        Arc::new(kernel),
        regressor(ctx, RegressionLink::Identity)?,
    )
}

fn rf_regressor(ctx: &mut Ctx<'_>) -> Built {
    let mut trees = read_ensemble(&ctx.meta.source, ctx.dir())?;
    // Spark averages the trees' predictions, ignoring the saved weights.
    trees.iter_mut().for_each(|t| t.weight = 1.0);
    let n = trees.len() as f64;
    let kernel = margin_forest(ctx, &trees, false)?;
    stage(
        ctx,
        Arc::new(kernel),
        regressor(ctx, RegressionLink::Mean(n))?,
    )
}

fn gbt_regressor(ctx: &mut Ctx<'_>) -> Built {
    let trees = read_ensemble(&ctx.meta.source, ctx.dir())?;
    let kernel = margin_forest(ctx, &trees, false)?;
    stage(
        ctx,
        Arc::new(kernel),
        regressor(ctx, RegressionLink::Identity)?,
    )
}
