//! XGBoost models saved with `Booster.save_model`: JSON (`.json`, XGBoost ≥ 1.0) and UBJSON
//! (`.ubj`, XGBoost ≥ 1.6, the default since 2.1). Both are read into one document model and
//! translated into a [`scorewell_forest::Forest`] the same way; layouts of XGBoost 1.0 to 3.x
//! are accepted. The schema is upstream's `doc/model.schema`; the semantics follow these
//! XGBoost sources (dmlc/xgboost, checked against release 3.2):
//!
//! - **Trees** (`src/tree/tree_model.cc`, `include/xgboost/tree_model.h`): node 0 is the root; a
//!   node is a leaf iff `left_children[i] == -1`, and its value is `split_conditions[i]`. A split
//!   sends `x` left iff `x < split_conditions[i]` in `float`; a missing value follows
//!   `default_left[i]` (stored as bools before 1.6, as 0/1 since). `split_indices` may be i32 or
//!   i64 in UBJSON.
//! - **Categorical splits** (`split_type[i] == 1`, `src/common/categorical.h` `Decision`): the
//!   node's categories (`categories[categories_segments[k]..][..categories_sizes[k]]` for
//!   `categories_nodes[k] == i`) go **right**; every other category goes left, including
//!   negative values and values ≥ 2^24 (`InvalidCat`) and categories beyond the stored bit field.
//!   The missing check runs first and follows `default_left`.
//! - **Groups** (`src/gbm/gbtree_model.cc`): `tree_info[t]` is the output group of tree `t`;
//!   groups are `num_class` when > 0, else `num_target` (multi-quantile and one-output-per-tree
//!   multi-target models grow one single-output tree per target per round). Parallel trees
//!   (`num_parallel_tree`, boosted random forests) are summed: they were trained with
//!   `eta / num_parallel_tree`.
//! - **DART** (`src/gbm/gbtree.cc`, `Dart`): tree `t`'s output is multiplied by
//!   `weight_drop[t]`, passed as the tree weight.
//! - **Base score** (`src/learner.cc`, `src/objective/regression_loss.h`): `base_score` is stored
//!   in output space and turned into a margin with the objective's `ProbToMargin`, in `float`:
//!   logit for `binary:logistic` and `reg:logistic`; `ln` for `count:poisson`,
//!   `reg:gamma`, `reg:tweedie`, `survival:cox`, `survival:aft`; identity otherwise, including
//!   `binary:logitraw` (its `LogisticRaw::ProbToMargin` is the identity; checked against 1.7,
//!   2.1 and 3.2). No version from 1.0 to 3.2 stores it already transformed. Before 3.1 it is
//!   a plain number string (`"5E-1"`); since 3.1 a bracketed list (`"[5E-1]"`, or one value per
//!   class/target; multiclass intercepts are margins there, since softmax's `ProbToMargin` is
//!   the identity). A single value applies to every group.
//! - **Links** (`PredTransform` of each objective in `src/objective/`): sigmoid, softmax, argmax
//!   (`multi:softmax`), exp, step (`binary:hinge`), identity.
//! - **Features**: `learner.feature_names` (XGBoost's own default `f0…` when absent) and
//!   `feature_types` (`c` is categorical). Since 3.1 the booster's `cats` encoder may store each
//!   categorical feature's string categories; they become the feature's category names in code
//!   order.
//! - **Multi-target trees** (`multi_strategy="multi_output_tree"`, `size_leaf_vector > 1`,
//!   `src/tree/multi_target_tree_model.cc`): one tree whose leaves hold a value per target; it
//!   becomes one scalar tree per target with the same splits. Leaf vectors are read from
//!   `leaf_weights` (3.2, indexed by the leaf's `right_children` entry) or `base_weights`
//!   (before, indexed by node).
//! - **gblinear** (`src/gbm/gblinear.cc`, `GBLinear::Pred`): no trees; `model.weights` holds
//!   `num_feature + 1` rows of one weight per output group, the last row the biases. A row's
//!   margin is `bias + base_margin`, then `+= x_f · w_f` feature by feature in `float`, where a
//!   missing value is absent from XGBoost's sparse row and so adds nothing. Every group starts
//!   from the *first* intercept, also where 3.1+ stores one per class.
//!
//! Refused with [`FormatError::Unsupported`]: unknown objectives and feature types.
//! `learner.attributes.best_iteration` is ignored: like `Booster.predict`, every tree is used.
//!
//! Floats written as JSON text are parsed to `f64` and rounded to `f32`; XGBoost writes the
//! shortest text that round-trips its `float`, so this gives back the same value. The JSON
//! reader accepts the bare `NaN`/`Infinity` XGBoost writes; `serde_json` is not used.

mod model;
mod ubjson;

#[cfg(test)]
mod tests;

use scorewell_core::ForestModel;

use crate::doc::json;
use crate::{Format, FormatError, Result};

/// Name of the JSON format.
const JSON_NAME: &str = "xgboost-json";
/// Name of the UBJSON format.
const UBJSON_NAME: &str = "xgboost-ubj";

/// XGBoost JSON (`save_model("model.json")`).
pub const JSON: Format = Format {
    name: JSON_NAME,
    sniff: sniff_json,
    load: load_json,
};

/// XGBoost Universal Binary JSON (`save_model("model.ubj")`).
pub const UBJSON: Format = Format {
    name: UBJSON_NAME,
    sniff: sniff_ubjson,
    load: load_ubjson,
};

/// How far into a JSON file to look for the `"learner"` key.
const SNIFF_WINDOW: usize = 4096;

fn sniff_json(bytes: &[u8], _file_name: Option<&str>) -> bool {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace());
    let Some(start) = start else { return false };
    if bytes[start] != b'{' {
        return false;
    }
    let window = &bytes[start..bytes.len().min(start + SNIFF_WINDOW)];
    window
        .windows(b"\"learner\"".len())
        .any(|w| w == b"\"learner\"")
}

fn sniff_ubjson(bytes: &[u8], file_name: Option<&str>) -> bool {
    if bytes.first() != Some(&b'{') {
        return false;
    }
    let marker = matches!(
        bytes.get(1),
        Some(b'i' | b'U' | b'I' | b'l' | b'L' | b'$' | b'#')
    );
    let named = file_name.is_some_and(|n| n.to_ascii_lowercase().ends_with(".ubj"));
    marker || named
}

/// Load an XGBoost JSON model.
pub fn load_json(bytes: &[u8]) -> Result<ForestModel> {
    let doc = json::parse(bytes).map_err(|e| FormatError::Invalid {
        format: JSON_NAME,
        message: e.to_string(),
    })?;
    model::build(&doc, JSON_NAME)
}

/// Load an XGBoost UBJSON model.
pub fn load_ubjson(bytes: &[u8]) -> Result<ForestModel> {
    let doc = ubjson::parse(bytes).map_err(|message| FormatError::Invalid {
        format: UBJSON_NAME,
        message,
    })?;
    model::build(&doc, UBJSON_NAME)
}
