//! [`ModelTask`]: what a model's scores are (class probabilities, a regression value, ...), read
//! from its training objective, so tools can pick metrics without being told
//! (`scorewell eval --task auto`).

use scorewell_forest::Link;

use crate::{ForestModel, Scorer};

/// The kind of prediction a model was trained to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModelTask {
    /// Two classes: one score per row (a probability, or a margin with raw outputs).
    Binary,
    /// Several classes: one probability per class (`<score>_0 …`), or a class index.
    Multiclass,
    /// A real value per row (squared error, Poisson, quantile, ...).
    Regression,
    /// A ranking score, comparable only within a query group.
    Ranking,
}

impl ModelTask {
    /// The task of `model`, from its objective as XGBoost and LightGBM write it
    /// (`binary:logistic`, `reg:squarederror`, `multiclass num_class:3`, ...); for an objective
    /// not listed, from its link (softmax: multiclass; one logistic output: binary). `None` when
    /// neither says (`custom`, `cross_entropy`, `survival:cox`, no objective).
    pub fn of_model(model: &ForestModel) -> Option<Self> {
        let objective = model.info.objective.trim();
        if let Some(task) = of_objective(objective) {
            return Some(task);
        }
        match model.forest.link() {
            Link::Softmax => Some(ModelTask::Multiclass),
            Link::Logistic { .. } if model.forest.num_outputs() == 1 && objective.is_empty() => {
                Some(ModelTask::Binary)
            }
            _ => None,
        }
    }
}

/// XGBoost objectives are `family:detail`; LightGBM's first word is the objective, the rest
/// its parameters (`binary sigmoid:1`).
fn of_objective(objective: &str) -> Option<ModelTask> {
    use ModelTask::*;
    if let Some((family, detail)) = objective.split_once(':')
        && !objective.contains(' ')
    {
        return match (family, detail) {
            ("binary", _) => Some(Binary),
            ("multi", _) => Some(Multiclass),
            ("reg" | "count", _) | ("survival", "aft") => Some(Regression),
            ("rank", _) => Some(Ranking),
            _ => None,
        };
    }
    match objective.split_whitespace().next()? {
        "binary" => Some(Binary),
        "multiclass" | "multiclassova" => Some(Multiclass),
        "regression" | "regression_l1" | "huber" | "fair" | "quantile" | "mape" | "poisson"
        | "gamma" | "tweedie" => Some(Regression),
        "lambdarank" | "rank_xendcg" => Some(Ranking),
        _ => None,
    }
}

/// The task of the model stage in `scorer` that writes `column` (or the per-class columns
/// `column_0 …`); `None` when no model stage writes it or its objective does not say (e.g. a
/// Spark pipeline's stages, which are not tree-ensemble model files).
pub fn model_task(scorer: &Scorer, column: &str) -> Option<ModelTask> {
    let first_class = format!("{column}_0");
    scorer
        .pipeline()
        .stages()
        .iter()
        .find(|stage| {
            stage
                .output_fields()
                .iter()
                .any(|f| f.name() == column || f.name() == &first_class)
        })?
        .forest_model()
        .and_then(ModelTask::of_model)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objectives_name_their_task() {
        let cases = [
            ("binary:logistic", Some(ModelTask::Binary)),
            ("binary:logitraw", Some(ModelTask::Binary)),
            ("multi:softprob", Some(ModelTask::Multiclass)),
            ("reg:squarederror", Some(ModelTask::Regression)),
            ("reg:logistic", Some(ModelTask::Regression)),
            ("count:poisson", Some(ModelTask::Regression)),
            ("survival:cox", None),
            ("rank:ndcg", Some(ModelTask::Ranking)),
            ("binary sigmoid:1", Some(ModelTask::Binary)),
            ("multiclass num_class:3", Some(ModelTask::Multiclass)),
            (
                "multiclassova num_class:3 sigmoid:1",
                Some(ModelTask::Multiclass),
            ),
            ("regression", Some(ModelTask::Regression)),
            ("regression_l1", Some(ModelTask::Regression)),
            (
                "tweedie tweedie_variance_power:1.5",
                Some(ModelTask::Regression),
            ),
            ("lambdarank", Some(ModelTask::Ranking)),
            ("cross_entropy", None),
            ("custom", None),
            ("", None),
        ];
        for (objective, want) in cases {
            assert_eq!(of_objective(objective), want, "{objective}");
        }
    }
}
