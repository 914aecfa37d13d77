//! Decision trees, random forests, extra trees, gradient boosting and isolation forests:
//! every tree is a leaf-number tree (`f32` input, see [`super::tree`]) and the library's sums
//! are replayed from leaf tables in its order.
//!
//! - `DecisionTree*`, `ExtraTree*`: the leaf's `value` (class fractions from scikit-learn 1.4,
//!   weighted counts before, which `predict_proba` normalised by their sum).
//! - `RandomForest*`, `ExtraTrees*`: the trees' values summed in order from 0, then divided by
//!   the number of trees (`_accumulate_prediction`, then `/= len(estimators_)`).
//! - `GradientBoosting*`: `raw = init + Σ learning_rate · leaf` in stage order, per class
//!   (`predict_stages`); `init` is the `init_` DummyClassifier's prior through the loss link
//!   (logit, half-logit, symmetric multinomial logit), a DummyRegressor's constant, or 0.
//! - `IsolationForest`: per tree `path[leaf] + c(n_samples[leaf]) - 1` summed, then
//!   `-2^(-sum / (n_trees · c(max_samples)))`.

use scorewell_forest::{Comparison, ForestBuilder, LeafTables, LeafValues, Precision, Predictor};

use super::attrs::Est;
use super::tree::SkTree;
use super::{Final, classes_of};
use crate::error::Result;
use crate::model::{Finish, Head, LabelRule, Output};

/// A forest of leaf-number trees in `f32` (scikit-learn's tree input cast).
struct LeafForest {
    builder: ForestBuilder,
    tables: Vec<LeafValues>,
}

impl LeafForest {
    fn new(num_features: usize, trees: usize) -> Self {
        let mut builder = ForestBuilder::new(num_features, trees.max(1));
        builder
            .comparison(Comparison::LessEqual)
            .precision(Precision::F32);
        Self {
            builder,
            tables: Vec::new(),
        }
    }

    /// Add one tree whose leaf `i` (scikit-learn node `nodes[i]`) contributes `value(node)`.
    fn push(
        &mut self,
        est: &Est<'_>,
        tree: &SkTree,
        feature_map: Option<&[usize]>,
        group: Option<u32>,
        value: impl Fn(usize) -> Vec<f64>,
    ) -> Result<()> {
        let (b, leaves) = tree.leaf_number_tree(est, true, feature_map)?;
        let g = self.tables.len() as u32;
        self.builder.push_tree(b, g, 1.0);
        let values = leaves.iter().flat_map(|&n| value(n)).collect();
        self.tables.push(LeafValues { group, values });
        Ok(())
    }

    fn finish(
        self,
        num_features: usize,
        width: usize,
        base: Vec<f64>,
        finish: Finish,
    ) -> Result<Head> {
        let forest = self.builder.build()?;
        Ok(Head::Trees {
            predictor: Box::new(Predictor::compile(&forest)),
            num_features,
            tables: LeafTables {
                width,
                base,
                trees: self.tables,
            },
            finish,
        })
    }
}

fn n_features(est: &Est<'_>) -> Result<usize> {
    est.n_features_in()
}

/// A classifier tree's class values at a leaf, as its `predict_proba` gives them.
fn class_values(tree: &SkTree, node: usize, k: usize, normalise: bool) -> Vec<f64> {
    let v = &tree.value(node)[..k];
    if !normalise {
        return v.to_vec();
    }
    // scikit-learn < 1.4 stored weighted counts; predict_proba divided by their sum (a zero
    // sum by 1).
    let sum: f64 = v.iter().sum();
    let sum = if sum == 0.0 { 1.0 } else { sum };
    v.iter().map(|x| x / sum).collect()
}

fn single_output(est: &Est<'_>) -> Result<()> {
    match est.get("n_outputs_").and_then(|v| v.as_int()) {
        Some(1) | None => Ok(()),
        Some(n) => Err(est.unsupported(format!(
            "multi-output models ({n} outputs) are not supported yet"
        ))),
    }
}

/// The trees of a forest (`estimators_`), or the tree itself.
fn members<'p>(est: &Est<'p>, ensemble: bool) -> Result<Vec<Est<'p>>> {
    if !ensemble {
        return Ok(vec![*est]);
    }
    est.list("estimators_")?
        .iter()
        .map(|t| est.p.estimator(t))
        .collect()
}

/// A forest averages its trees (`/= len(estimators_)`); a lone tree is its own answer.
fn mean_of(ensemble: bool, trees: usize) -> Finish {
    if ensemble {
        Finish::Divide(trees as f64)
    } else {
        Finish::Identity
    }
}

/// `DecisionTreeClassifier`, `ExtraTreeClassifier`, `RandomForestClassifier`,
/// `ExtraTreesClassifier`.
pub fn classifier(est: &Est<'_>, ensemble: bool) -> Result<Final> {
    single_output(est)?;
    let nf = n_features(est)?;
    let classes = classes_of(est)?;
    let k = classes.len();
    let trees = members(est, ensemble)?;
    let mut forest = LeafForest::new(nf, trees.len());
    for t in &trees {
        let tree = SkTree::of(t)?;
        if tree.stride < k {
            return Err(t.bad("tree_", "fewer values per node than classes"));
        }
        let normalise = t.version().is_some_and(|v| v < (1, 4));
        forest.push(t, &tree, None, None, |n| {
            class_values(&tree, n, k, normalise)
        })?;
    }
    let finish = mean_of(ensemble, trees.len());
    Ok(Final {
        head: forest.finish(nf, k, vec![0.0; k], finish)?,
        output: Output::Proba {
            classes,
            label: LabelRule::ArgMax,
        },
    })
}

/// `DecisionTreeRegressor`, `ExtraTreeRegressor`, `RandomForestRegressor`,
/// `ExtraTreesRegressor`.
pub fn regressor(est: &Est<'_>, ensemble: bool) -> Result<Final> {
    single_output(est)?;
    let nf = n_features(est)?;
    let trees = members(est, ensemble)?;
    let mut forest = LeafForest::new(nf, trees.len());
    for t in &trees {
        let tree = SkTree::of(t)?;
        forest.push(t, &tree, None, Some(0), |n| vec![tree.value(n)[0]])?;
    }
    let finish = mean_of(ensemble, trees.len());
    Ok(Final {
        head: forest.finish(nf, 1, vec![0.0], finish)?,
        output: Output::Regression { targets: 1 },
    })
}

/// `GradientBoostingClassifier` / `GradientBoostingRegressor`.
pub fn gradient_boosting(est: &Est<'_>, classify: bool) -> Result<Final> {
    let nf = n_features(est)?;
    let lr = est.f64("learning_rate")?;
    let loss = est.str("loss").unwrap_or("");
    let stages = est.array("estimators_")?;
    let (Some(&n_stages), Some(&k)) = (stages.shape.first(), stages.shape.get(1)) else {
        return Err(est.bad("estimators_", "not a 2-D array of trees"));
    };
    let crate::pickle::Data::Objects(trees) = &stages.data else {
        return Err(est.bad("estimators_", "not an array of trees"));
    };
    let init = init_raw(est, classify, k, loss)?;
    let mut forest = LeafForest::new(nf, n_stages * k);
    for (i, t) in trees.iter().enumerate() {
        let t = est.p.estimator(t)?;
        let tree = SkTree::of(&t)?;
        let group = (i % k) as u32;
        forest.push(&t, &tree, None, Some(group), |n| {
            vec![lr * tree.value(n)[0]]
        })?;
    }
    if !classify {
        return Ok(Final {
            head: forest.finish(nf, 1, init, Finish::Identity)?,
            output: Output::Regression { targets: 1 },
        });
    }
    let classes = classes_of(est)?;
    let finish = match (loss, k) {
        ("exponential", 1) => Finish::Expit2(2.0),
        (_, 1) => Finish::Expit2(1.0),
        _ => Finish::Softmax,
    };
    Ok(Final {
        head: forest.finish(nf, k, init, finish)?,
        output: Output::Proba {
            classes,
            label: if k == 1 {
                LabelRule::RawNonNegative
            } else {
                LabelRule::ArgMax
            },
        },
    })
}

/// The raw prediction every row starts from (`_init_raw_predictions`).
fn init_raw(est: &Est<'_>, classify: bool, k: usize, loss: &str) -> Result<Vec<f64>> {
    let init = est.req("init_")?;
    if init.as_str() == Some("zero") {
        return Ok(vec![0.0; k]);
    }
    let init = est.p.estimator(init)?;
    match (classify, init.name()) {
        (false, "DummyRegressor") => {
            let (c, _) = init.floats("constant_")?;
            Ok(vec![*c.first().ok_or_else(|| init.bad("constant_", "empty"))?])
        }
        (true, "DummyClassifier") => {
            if init.str("strategy").unwrap_or("prior") != "prior" {
                return Err(init.unsupported(
                    "only the default `prior` strategy is supported as a GradientBoosting init",
                ));
            }
            let (prior, _) = init.floats("class_prior_")?;
            let eps = f32::EPSILON as f64;
            let clip = |p: f64| p.clamp(eps, 1.0 - eps);
            if k == 1 {
                let p = clip(*prior.get(1).ok_or_else(|| init.bad("class_prior_", "not binary"))?);
                let logit = (p / (1.0 - p)).ln();
                return Ok(vec![if loss == "exponential" { 0.5 * logit } else { logit }]);
            }
            let p: Vec<f64> = prior.iter().map(|&p| clip(p)).collect();
            // Before the common loss module (scikit-learn < 1.3), MultinomialDeviance started
            // from plain log(p); softmax makes the probabilities the same either way.
            if est.version().is_some_and(|v| v < (1, 3)) {
                return Ok(p.iter().map(|x| x.ln()).collect());
            }
            // Symmetric multinomial logit: log(p / gmean(p)), gmean = exp(mean(log p)).
            let mean_log = p.iter().map(|x| x.ln()).sum::<f64>() / p.len() as f64;
            let gm = mean_log.exp();
            Ok(p.iter().map(|x| (x / gm).ln()).collect())
        }
        (_, other) => Err(init.unsupported(format!(
            "`{other}` as a GradientBoosting init estimator is not supported (supported: the default DummyClassifier/DummyRegressor, or init='zero')"
        ))),
    }
}

/// scikit-learn's `_average_path_length` of one sample count.
fn average_path_length(n: f64) -> f64 {
    if n <= 1.0 {
        0.0
    } else if n <= 2.0 {
        1.0
    } else {
        2.0 * ((n - 1.0).ln() + 0.577_215_664_901_532_9) - 2.0 * (n - 1.0) / n
    }
}

/// `IsolationForest`.
pub fn isolation_forest(est: &Est<'_>) -> Result<Final> {
    let nf = n_features(est)?;
    let trees = est.list("estimators_")?;
    let features = est.list("estimators_features_")?;
    let max_samples = est.f64("_max_samples")?;
    let mut forest = LeafForest::new(nf, trees.len());
    for (t, f) in trees.iter().zip(features) {
        let t = est.p.estimator(t)?;
        let cols = match est.p.obj(f) {
            Some(crate::pickle::Obj::Array(a)) => a.to_i64(),
            _ => None,
        }
        .ok_or_else(|| est.bad("estimators_features_", "not integer arrays"))?;
        let cols: Vec<usize> = cols.iter().map(|&c| c.max(0) as usize).collect();
        let tree = SkTree::of(&t)?;
        // Depth of every node, the root counting 1 (`_decision_path_lengths`).
        let mut depth = vec![0.0f64; tree.len()];
        depth[0] = 1.0;
        for n in 0..tree.len() {
            if !tree.is_leaf(n) {
                let below = depth[n] + 1.0;
                for c in [tree.left[n], tree.right[n]] {
                    if let Some(d) = usize::try_from(c).ok().and_then(|c| depth.get_mut(c)) {
                        *d = below;
                    }
                }
            }
        }
        let subset = (cols.len() != nf).then_some(cols.as_slice());
        forest.push(&t, &tree, subset, Some(0), |n| {
            vec![depth[n] + average_path_length(tree.n_node_samples[n] as f64) - 1.0]
        })?;
    }
    let den = trees.len() as f64 * average_path_length(max_samples);
    Ok(Final {
        head: forest.finish(nf, 1, vec![0.0], Finish::Isolation(den))?,
        output: Output::Outlier {
            offset: est.f64("offset_")?,
        },
    })
}
