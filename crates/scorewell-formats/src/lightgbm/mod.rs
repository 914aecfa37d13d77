//! LightGBM's text model format (`model.txt`, `version=v2`, `v3` and `v4`), as written by
//! `GBDT::SaveModelToString` and read by `GBDT::LoadModelFromString`
//! ([`src/boosting/gbdt_model_text.cpp`][load]).
//!
//! # File layout
//!
//! A header of `key=value` lines (`version`, `num_class`, `num_tree_per_iteration`,
//! `max_feature_idx`, `objective`, a bare `average_output` line for random forests,
//! `feature_names`, `feature_infos`, `tree_sizes`), then one `Tree=i` block per tree (blank-line
//! separated `key=value` lines, see `tree.rs`), then `end of trees`. What follows is ignored
//! (`feature_importances:`, `parameters:`) except the `pandas_categorical:` line the Python
//! package appends. The `end of trees` line is required, so a truncated file is an error rather
//! than a smaller model. Lines may end in `\r\n` and carry trailing blanks.
//!
//! # Semantics (LightGBM at commit `bae0b7ba`)
//!
//! - Everything is `f64` ([`Precision::F64`]); a numeric split goes left iff `x <= threshold`
//!   ([`Comparison::LessEqual`]).
//! - Inputs with `|x| <= kZeroThreshold` (`1e-35f`, [`include/LightGBM/meta.h`][meta]) never
//!   reach the trees as themselves: the row readers of [`src/c_api.cpp`][capi] keep only values
//!   with `fabs(x) > kZeroThreshold || isnan(x)`, so they read as 0 ([`InputRule::SnapTinyToZero`]).
//! - `decision_type` ([`NumericalDecision`][numdec]): bit 0 categorical, bit 1 default-left,
//!   bits 2–3 the missing type. Missing type 0 (None): NaN becomes 0.0 and is compared
//!   ([`Missing::NanAsZero`]); 1 (Zero): NaN and `|x| <= 1e-35` take the default direction
//!   ([`Missing::ZeroAndNanDefault`]); 2 (NaN): NaN takes the default direction
//!   ([`Missing::NanDefault`]). The categorical bit is only looked at when the tree has
//!   `num_cat > 0` (`Tree::GetLeaf`).
//! - Categorical split ([`CategoricalDecision`][catdec]): NaN goes right; otherwise
//!   `static_cast<int>(x)` (truncation), negative goes right, and a category whose bit is set in
//!   `cat_threshold[cat_boundaries[k] .. cat_boundaries[k+1]]`, `k = (int)threshold`, goes
//!   left ([`CategoryCast::TruncateThenCheck`], [`NanRoute::Right`]). This is v4 and v3 since
//!   LightGBM 3.3.0 (#4468); before that NaN was cast to `int` first (undefined behaviour,
//!   `INT_MIN` on x86, so also right). Values beyond `i32` are out of every set (x86's cast
//!   gives `INT_MIN`, which goes right).
//! - Children: `c >= 0` is internal node `c`, `c < 0` is leaf `~c`. In the IR, internal node `i`
//!   is node `i` and leaf `j` is node `num_leaves - 1 + j`, so error messages name the file's
//!   internal node indices.
//! - Linear trees ([`Tree::Predict`][predict]): a leaf outputs
//!   `leaf_const + Σ leaf_coeff·x[leaf_features]`, or `leaf_value` when one of its features is
//!   NaN ([`LinearLeaf`]).
//! - Tree `i` adds to output group `i % num_tree_per_iteration`; leaf values already include
//!   shrinkage and the initial score, so every weight is 1 and the base margin is 0.
//! - `average_output` ([`GBDT::Predict`][gbdtpred]): the summed scores are divided by the number
//!   of iterations (`num_trees / num_tree_per_iteration`) before the objective's transform
//!   ([`Aggregation::Mean`]). LightGBM's `raw_score=True` skips that division; the IR's margin
//!   does not.
//! - The link comes from the `objective=` line; see `objective.rs`.
//! - Features: `feature_names` gives the names; a feature whose `feature_infos` entry is a
//!   category list (`1:0:3`, not `[min:max]` or `none`) is categorical, and its names come
//!   from `pandas_categorical` when that line has one list per categorical feature.
//!
//! [load]: https://github.com/microsoft/LightGBM/blob/bae0b7ba953341a32b2a9c5c5c437a1b976f576f/src/boosting/gbdt_model_text.cpp#L424
//! [meta]: https://github.com/microsoft/LightGBM/blob/bae0b7ba953341a32b2a9c5c5c437a1b976f576f/include/LightGBM/meta.h#L56
//! [capi]: https://github.com/microsoft/LightGBM/blob/bae0b7ba953341a32b2a9c5c5c437a1b976f576f/src/c_api.cpp#L1368
//! [numdec]: https://github.com/microsoft/LightGBM/blob/bae0b7ba953341a32b2a9c5c5c437a1b976f576f/include/LightGBM/tree.h#L337
//! [catdec]: https://github.com/microsoft/LightGBM/blob/bae0b7ba953341a32b2a9c5c5c437a1b976f576f/include/LightGBM/tree.h#L374
//! [predict]: https://github.com/microsoft/LightGBM/blob/bae0b7ba953341a32b2a9c5c5c437a1b976f576f/include/LightGBM/tree.h#L587
//! [gbdtpred]: https://github.com/microsoft/LightGBM/blob/bae0b7ba953341a32b2a9c5c5c437a1b976f576f/src/boosting/gbdt_prediction.cpp#L57
//!
//! [`Precision::F64`]: scorewell_forest::Precision::F64
//! [`Comparison::LessEqual`]: scorewell_forest::Comparison::LessEqual
//! [`InputRule::SnapTinyToZero`]: scorewell_forest::InputRule::SnapTinyToZero
//! [`Missing::NanAsZero`]: scorewell_forest::Missing::NanAsZero
//! [`Missing::ZeroAndNanDefault`]: scorewell_forest::Missing::ZeroAndNanDefault
//! [`Missing::NanDefault`]: scorewell_forest::Missing::NanDefault
//! [`CategoryCast::TruncateThenCheck`]: scorewell_forest::CategoryCast::TruncateThenCheck
//! [`NanRoute::Right`]: scorewell_forest::NanRoute::Right
//! [`LinearLeaf`]: scorewell_forest::LinearLeaf
//! [`Aggregation::Mean`]: scorewell_forest::Aggregation::Mean

mod objective;
mod pandas;
mod text;
mod tree;

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::sync::Arc;

use scorewell_core::{FeatureKind, FeatureSpec, ForestModel, ModelInfo};
use scorewell_forest::{Aggregation, Comparison, ForestBuilder, InputRule, Precision};

use crate::Format;
use crate::error::{FormatError, Result};
use text::{Field, Line, invalid};

/// The format's name in messages and `--model-format`.
pub const NAME: &str = "lightgbm-text";

/// The registry entry.
pub const TEXT: Format = Format {
    name: NAME,
    sniff,
    load,
};

/// Model-file versions this reader knows.
const VERSIONS: &[&str] = &["v2", "v3", "v4"];

/// Whether `bytes` start like a `model.txt`: a `tree` line or a `version=v` line, after an
/// optional byte-order mark and blank space.
pub fn sniff(bytes: &[u8], _file_name: Option<&str>) -> bool {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let rest = bytes.get(start..).unwrap_or_default();
    if rest.starts_with(b"version=v") {
        return true;
    }
    match rest.strip_prefix(b"tree") {
        Some(after) => matches!(after.first(), None | Some(b'\n' | b'\r' | b' ' | b'\t')),
        None => false,
    }
}

/// Parse a LightGBM `model.txt`.
pub fn load(bytes: &[u8]) -> Result<ForestModel> {
    let text = text::decode(bytes)?;
    let lines = text::lines(text);
    let mut rest = lines.as_slice();

    let header = Header::read(&mut rest);
    let blocks = read_trees(&mut rest)?;
    let pandas_line = rest.iter().find_map(|l| {
        l.text.strip_prefix("pandas_categorical:").map(|v| Field {
            line: l.no,
            tree: None,
            key: "pandas_categorical",
            value: v,
        })
    });

    let version = header.need("version")?;
    if !VERSIONS.contains(&version.value) {
        return Err(FormatError::Unsupported {
            format: NAME,
            what: format!(
                "model.txt version `{}` (supported: {})",
                version.value,
                VERSIONS.join(", ")
            ),
        });
    }
    let num_class_f = header.need("num_class")?;
    let num_class: usize = num_class_f.one()?;
    if num_class == 0 {
        return Err(num_class_f.err("must be at least 1"));
    }
    let per_iteration: usize = match header.get("num_tree_per_iteration") {
        Some(f) => f.one()?,
        None => num_class,
    };
    if per_iteration == 0 {
        return Err(header
            .need("num_tree_per_iteration")?
            .err("must be at least 1"));
    }
    let max_idx = header.need("max_feature_idx")?;
    let num_features = usize::try_from(max_idx.one::<i64>()?)
        .ok()
        .and_then(|m| m.checked_add(1))
        .ok_or_else(|| max_idx.err("must be at least 0"))?;
    let names_f = header.need("feature_names")?;
    let names: Vec<&str> = names_f.value.split_ascii_whitespace().collect();
    if names.len() != num_features {
        return Err(names_f.err(format_args!(
            "expected {num_features} names (max_feature_idx + 1), found {}",
            names.len()
        )));
    }
    let infos_f = header.need("feature_infos")?;
    let infos: Vec<&str> = infos_f.value.split_ascii_whitespace().collect();
    if infos.len() != num_features {
        return Err(infos_f.err(format_args!(
            "expected {num_features} entries (max_feature_idx + 1), found {}",
            infos.len()
        )));
    }
    if let Some(sizes) = header.get("tree_sizes") {
        let n = sizes.value.split_ascii_whitespace().count();
        if n != blocks.len() {
            return Err(sizes.err(format_args!(
                "lists {n} trees but the file has {} `Tree=` blocks",
                blocks.len()
            )));
        }
    }
    if blocks.len() % per_iteration != 0 {
        return Err(invalid(format!(
            "the file has {} trees, not a whole number of iterations of {per_iteration} trees",
            blocks.len()
        )));
    }
    let iterations = blocks.len() / per_iteration;
    let average = header.get("average_output").is_some();
    let objective = header.get("objective");
    let link = objective::link(objective, per_iteration)?;

    let mut builder = ForestBuilder::new(num_features, per_iteration);
    builder
        .comparison(Comparison::LessEqual)
        .precision(Precision::F64)
        .input_rule(InputRule::SnapTinyToZero)
        .link(link);
    if average {
        builder.aggregation(Aggregation::Mean {
            divisor: iterations as f64,
        });
    }
    let mut categorical: BTreeSet<usize> = infos
        .iter()
        .enumerate()
        .filter(|(_, info)| !info.starts_with('[') && **info != "none")
        .map(|(i, _)| i)
        .collect();
    let mut any_linear = false;
    for (i, block) in blocks.iter().enumerate() {
        let parsed = tree::parse(block)?;
        any_linear |= parsed.linear;
        categorical.extend(parsed.categorical_features.iter().map(|&f| f as usize));
        builder.push_tree(parsed.tree, (i % per_iteration) as u32, 1.0);
    }
    let forest = builder.build().map_err(|source| FormatError::Forest {
        format: NAME,
        source,
    })?;

    let mut details = vec![
        ("version".to_string(), version.value.to_string()),
        ("num_class".into(), num_class.to_string()),
        ("num_tree_per_iteration".into(), per_iteration.to_string()),
        ("num_trees".into(), blocks.len().to_string()),
        ("average_output".into(), average.to_string()),
        ("linear_tree".into(), any_linear.to_string()),
        ("categorical_features".into(), categorical.len().to_string()),
    ];
    let mut category_names: Vec<Option<Arc<[String]>>> = vec![None; categorical.len()];
    if let Some(field) = &pandas_line
        && let Some(lists) = pandas::parse(field.value).map_err(|e| field.err(e))?
    {
        if lists.len() == categorical.len() {
            category_names = lists.into_iter().map(|l| Some(l.into())).collect();
        } else {
            details.push((
                "pandas_categorical".into(),
                format!(
                    "{} lists for {} categorical features: category names not used",
                    lists.len(),
                    categorical.len()
                ),
            ));
        }
    }
    let mut features: Vec<FeatureSpec> = names.iter().map(|n| FeatureSpec::numeric(*n)).collect();
    for (&f, categories) in categorical.iter().zip(category_names) {
        if let Some(spec) = features.get_mut(f) {
            spec.kind = FeatureKind::Categorical { categories };
        }
    }
    Ok(ForestModel {
        forest,
        features,
        info: ModelInfo {
            format: NAME.into(),
            producer: Some(format!("lightgbm (model.txt {})", version.value)),
            objective: objective.map(|o| o.value.to_string()).unwrap_or_default(),
            details,
        },
    })
}

/// The `key=value` lines before the first tree.
struct Header<'a> {
    fields: Vec<Field<'a>>,
    /// Line number of the first line after the header, for "missing key" errors.
    end_line: usize,
}

impl<'a> Header<'a> {
    /// Consume lines up to the first `Tree=` or `end of trees` line.
    fn read(rest: &mut &[Line<'a>]) -> Self {
        let mut fields = Vec::new();
        let mut end_line = 1;
        while let Some((line, tail)) = rest.split_first() {
            end_line = line.no;
            if line.text.starts_with("Tree=") || line.text == "end of trees" {
                break;
            }
            if !line.text.is_empty() {
                let (key, value) = line.text.split_once('=').unwrap_or((line.text, ""));
                fields.push(Field {
                    line: line.no,
                    tree: None,
                    key,
                    value,
                });
            }
            *rest = tail;
        }
        Self { fields, end_line }
    }

    /// The last line with `key` (LightGBM keeps the last one too).
    fn get(&self, key: &str) -> Option<&Field<'a>> {
        self.fields.iter().rev().find(|f| f.key == key)
    }

    fn need(&self, key: &str) -> Result<&Field<'a>> {
        self.get(key).ok_or_else(|| {
            invalid(format!(
                "the header (lines 1-{}) has no `{key}=` line",
                self.end_line
            ))
        })
    }
}

/// Consume the `Tree=i` blocks and the `end of trees` line.
fn read_trees<'a>(rest: &mut &[Line<'a>]) -> Result<Vec<tree::Block<'a>>> {
    let mut blocks = Vec::new();
    loop {
        let Some((line, tail)) = rest.split_first() else {
            return Err(invalid(format!(
                "the file ends after {} trees without an `end of trees` line (truncated?)",
                blocks.len()
            )));
        };
        *rest = tail;
        if line.text == "end of trees" {
            return Ok(blocks);
        }
        if line.text.is_empty() {
            continue;
        }
        let Some(index) = line.text.strip_prefix("Tree=") else {
            return Err(invalid(format!(
                "line {}: expected `Tree={}` or `end of trees`, found `{}`",
                line.no,
                blocks.len(),
                line.text.chars().take(60).collect::<String>()
            )));
        };
        if index.parse::<usize>().ok() != Some(blocks.len()) {
            return Err(invalid(format!(
                "line {}: expected `Tree={}`, found `{}`",
                line.no,
                blocks.len(),
                line.text.chars().take(60).collect::<String>()
            )));
        }
        let mut fields = Vec::new();
        while let Some((l, tail)) = rest.split_first() {
            if l.text.is_empty() || l.text.starts_with("Tree=") || l.text == "end of trees" {
                break;
            }
            let Some((key, value)) = l.text.split_once('=') else {
                return Err(invalid(format!(
                    "line {} (Tree={}): expected `key=value`, found `{}`",
                    l.no,
                    blocks.len(),
                    l.text.chars().take(60).collect::<String>()
                )));
            };
            fields.push(Field {
                line: l.no,
                tree: Some(blocks.len()),
                key,
                value,
            });
            *rest = tail;
        }
        blocks.push(tree::Block {
            index: blocks.len(),
            line: line.no,
            fields,
        });
    }
}
