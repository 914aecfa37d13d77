//! `ColumnTransformer`, `OneHotEncoder` and `OrdinalEncoder`: the first step of a Pipeline,
//! turning the input columns (numbers and strings) into the estimator's matrix.
//!
//! - `transformers_` are applied in order (the remainder last) and their outputs concatenated;
//!   columns are chosen by name, position, boolean mask or slice.
//! - A block is numeric (passthrough, a scaler or imputer, or a Pipeline of them) or an
//!   encoder (alone or after a SimpleImputer), one lookup per column.
//! - A null in a string column is Python's `None`: it matches a `None` category and a
//!   SimpleImputer with `missing_values=None`, exactly as scikit-learn treats data read from
//!   Parquet or Arrow. A NaN category or NaN imputer matches NaN in numeric columns only.
//! - OneHotEncoder: category → output column through `_default_to_infrequent_mappings` and
//!   `drop_idx_`; unknown values (including missing ones not seen in fit) raise (`error`),
//!   give zeros (`ignore`), or go to the infrequent column (`infrequent_if_exist`, `warn`).
//! - OrdinalEncoder: category → its position; missing categories → `encoded_missing_value`;
//!   unknown → `unknown_value` (or an error with `handle_unknown='error'`).

use std::collections::HashMap;

use super::attrs::Est;
use super::preprocess;
use crate::error::Result;
use crate::model::{Block, Encoder, EncoderKind, Fill, Front, Lookup, Unknown};
use crate::pickle::{Data, Obj, Value};

/// The category lookup of one encoder column (`categories_[j]`).
fn lookup(est: &Est<'_>, v: &Value) -> Result<Lookup> {
    let mut l = Lookup::default();
    let bad = || est.bad("categories_", "neither strings nor numbers");
    let items: Vec<Value> = match est.p.obj(v) {
        Some(Obj::Array(a)) => match &a.data {
            Data::Objects(o) => o.clone(),
            Data::Bytes(_) => {
                if let Some(s) = a.unicode_strings() {
                    s.into_iter()
                        .map(|s| Value::Str(s.as_str().into()))
                        .collect()
                } else {
                    a.to_f64()
                        .ok_or_else(bad)?
                        .into_iter()
                        .map(Value::Float)
                        .collect()
                }
            }
        },
        Some(Obj::List(o)) => o.clone(),
        _ => return Err(bad()),
    };
    for (i, item) in items.iter().enumerate() {
        match item {
            Value::Str(s) => {
                l.text.insert(s.to_string(), i);
            }
            Value::None => l.none = Some(i),
            other => match other.as_f64() {
                Some(f) if f.is_nan() => l.nan = Some(i),
                Some(f) => {
                    l.numbers.insert((f + 0.0).to_bits(), i);
                }
                None => return Err(bad()),
            },
        }
    }
    l.len = items.len();
    Ok(l)
}

/// Per column, an optional array attribute holding one entry per feature (object arrays
/// with `None` entries, or lists).
fn per_feature<'p>(est: &Est<'p>, name: &str) -> Vec<Option<&'p Value>> {
    let items: Vec<&Value> = match est.get(name).and_then(|v| est.p.obj(v)) {
        Some(Obj::Array(a)) => match &a.data {
            Data::Objects(o) => o.iter().collect(),
            _ => return Vec::new(),
        },
        Some(Obj::List(l)) => l.iter().collect(),
        _ => return Vec::new(),
    };
    items
        .into_iter()
        .map(|v| (!matches!(v, Value::None)).then_some(v))
        .collect()
}

fn ints_of(est: &Est<'_>, v: &Value) -> Option<Vec<i64>> {
    if let Some(i) = v.as_int() {
        return Some(vec![i]);
    }
    match est.p.obj(v)? {
        Obj::Array(a) => a.to_i64(),
        Obj::List(l) | Obj::Tuple(l) => l.iter().map(Value::as_int).collect(),
        _ => None,
    }
}

/// A fitted OneHotEncoder / OrdinalEncoder as one encoder per column, each preceded by
/// `fills` (a SimpleImputer's) when given.
fn encoders(est: &Est<'_>, fills: Option<&[Fill]>) -> Result<Vec<Encoder>> {
    let cats = est.list("categories_")?;
    let mut out = Vec::with_capacity(cats.len());
    match est.name() {
        "OneHotEncoder" => {
            let drop = match est.get("drop_idx_") {
                None | Some(Value::None) => vec![None; cats.len()],
                Some(v) => match est.p.obj(v) {
                    Some(Obj::Array(a)) => match &a.data {
                        Data::Objects(o) => o.iter().map(Value::as_int).collect(),
                        _ => a
                            .to_i64()
                            .unwrap_or_default()
                            .into_iter()
                            .map(Some)
                            .collect(),
                    },
                    _ => return Err(est.bad("drop_idx_", "not an array")),
                },
            };
            let infrequent = est.flag("_infrequent_enabled", false);
            let mappings = if infrequent {
                per_feature(est, "_default_to_infrequent_mappings")
            } else {
                Vec::new()
            };
            let infrequent_idx = if infrequent {
                per_feature(est, "_infrequent_indices")
            } else {
                Vec::new()
            };
            let unknown_mode = est.str("handle_unknown").unwrap_or("error");
            for (j, c) in cats.iter().enumerate() {
                let l = lookup(est, c)?;
                let mapping: Option<Vec<i64>> = mappings
                    .get(j)
                    .copied()
                    .flatten()
                    .and_then(|m| ints_of(est, m));
                let has_infrequent = infrequent_idx.get(j).copied().flatten().is_some();
                // Mapped space: frequent categories in order, then the infrequent column.
                let mapped = |c: usize| -> usize {
                    mapping
                        .as_ref()
                        .map_or(c, |m| m.get(c).map_or(c, |v| *v as usize))
                };
                let n_mapped = match &mapping {
                    Some(m) => m.iter().copied().max().map_or(0, |v| v as usize + 1),
                    None => l.len,
                };
                let dropped = drop.get(j).copied().flatten().map(|d| mapped(d as usize));
                let column = |m: usize| -> Option<usize> {
                    match dropped {
                        Some(d) if m == d => None,
                        Some(d) if m > d => Some(m - 1),
                        _ => Some(m),
                    }
                };
                let width = n_mapped - usize::from(dropped.is_some());
                let unknown = match unknown_mode {
                    "ignore" => Unknown::Ignore,
                    "infrequent_if_exist" | "warn" if has_infrequent => {
                        // The infrequent column is the last of the mapped space.
                        match column(n_mapped - 1) {
                            Some(c) => Unknown::Column(c),
                            None => Unknown::Ignore,
                        }
                    }
                    "infrequent_if_exist" | "warn" => Unknown::Ignore,
                    _ => Unknown::Error,
                };
                let out_of: Vec<Option<usize>> = (0..l.len).map(|c| column(mapped(c))).collect();
                out.push(Encoder {
                    lookup: l,
                    fill: fills.and_then(|f| f.get(j).cloned()),
                    kind: EncoderKind::OneHot {
                        columns: out_of,
                        width,
                        unknown,
                    },
                });
            }
        }
        "OrdinalEncoder" => {
            if est.flag("_infrequent_enabled", false) {
                return Err(est.unsupported(
                    "infrequent categories (min_frequency / max_categories) are not supported yet",
                ));
            }
            let unknown = match est.str("handle_unknown") {
                Some("use_encoded_value") => Some(est.f64("unknown_value")?),
                _ => None,
            };
            let missing = match est.get("encoded_missing_value") {
                Some(v) => v.as_f64().unwrap_or(f64::NAN),
                None => f64::NAN,
            };
            for (j, c) in cats.iter().enumerate() {
                out.push(Encoder {
                    lookup: lookup(est, c)?,
                    fill: fills.and_then(|f| f.get(j).cloned()),
                    kind: EncoderKind::Ordinal { unknown, missing },
                });
            }
        }
        _ => return Err(est.unsupported("not an encoder")),
    }
    Ok(out)
}

/// A SimpleImputer ahead of an encoder: its fill per column.
fn fills(est: &Est<'_>) -> Result<Vec<Fill>> {
    if est
        .get("indicator_")
        .is_some_and(|v| !matches!(v, Value::None))
    {
        return Err(est.unsupported("add_indicator before an encoder is not supported yet"));
    }
    let none_missing = matches!(est.get("missing_values"), Some(Value::None));
    let stats = est.req("statistics_")?;
    let values: Vec<Value> = match est.p.obj(stats) {
        Some(Obj::Array(a)) => match &a.data {
            Data::Objects(o) => o.clone(),
            Data::Bytes(_) => a
                .to_f64()
                .ok_or_else(|| est.bad("statistics_", "not numbers"))?
                .into_iter()
                .map(Value::Float)
                .collect(),
        },
        _ => return Err(est.bad("statistics_", "not an array")),
    };
    Ok(values
        .into_iter()
        .map(|v| Fill {
            text: v.as_str().map(str::to_string),
            number: v.as_f64(),
            none_is_missing: none_missing,
        })
        .collect())
}

/// Column selection → input positions.
fn select(
    est: &Est<'_>,
    spec: &Value,
    names: &HashMap<String, usize>,
    n: usize,
) -> Result<Vec<usize>> {
    let bad = |m: String| est.bad("transformers_", m);
    let name = |s: &str| {
        names
            .get(s)
            .copied()
            .ok_or_else(|| bad(format!("no input column `{s}`")))
    };
    let index = |i: i64| -> Result<usize> {
        let i = if i < 0 { i + n as i64 } else { i };
        usize::try_from(i)
            .ok()
            .filter(|i| *i < n)
            .ok_or_else(|| bad(format!("column {i} out of range")))
    };
    if let Some(s) = spec.as_str() {
        return Ok(vec![name(s)?]);
    }
    if let Some(i) = spec.as_int() {
        return Ok(vec![index(i)?]);
    }
    match est.p.obj(spec) {
        Some(Obj::List(items)) | Some(Obj::Tuple(items)) => items
            .iter()
            .map(|v| match (v.as_str(), v.as_int()) {
                (Some(s), _) => name(s),
                (_, Some(i)) => index(i),
                _ => Err(bad(
                    "a column selector that is neither a name nor a position".into(),
                )),
            })
            .collect(),
        Some(Obj::Array(a)) if a.dtype.kind == 'b' => {
            let m = a.to_i64().unwrap_or_default();
            Ok((0..m.len().min(n)).filter(|i| m[*i] != 0).collect())
        }
        Some(Obj::Array(a)) => {
            if let Some(s) = super::attrs::strings(est.p, spec) {
                return s.iter().map(|s| name(s)).collect();
            }
            a.to_i64()
                .ok_or_else(|| bad("unreadable column selection".into()))?
                .into_iter()
                .map(index)
                .collect()
        }
        Some(Obj::Instance { class, args, .. }) if class == "builtins.slice" => {
            let int = |v: Option<&Value>| v.and_then(Value::as_int);
            let (start, stop, step) = (int(args.first()), int(args.get(1)), int(args.get(2)));
            if args.iter().any(|a| a.as_str().is_some()) {
                return Err(bad(
                    "slices of column names are not supported yet; select the columns by list"
                        .into(),
                ));
            }
            let norm = |v: i64| if v < 0 { (v + n as i64).max(0) } else { v.min(n as i64) } as usize;
            let (start, stop) = (start.map_or(0, norm), stop.map_or(n, norm));
            let step = step.unwrap_or(1).max(1) as usize;
            Ok((start..stop).step_by(step).collect())
        }
        _ => Err(bad("unreadable column selection".into())),
    }
}

/// A `FunctionTransformer` without a function: what ColumnTransformer stores for
/// `"passthrough"` (and a passthrough remainder) since scikit-learn 1.4.
pub fn is_identity(est: &Est<'_>) -> bool {
    est.name() == "FunctionTransformer"
        && matches!(est.get("func"), None | Some(Value::None))
        && matches!(est.get("inverse_func"), None | Some(Value::None))
}

/// The block for one fitted transformer over `columns`.
fn block(est: &Est<'_>, columns: Vec<usize>) -> Result<Block> {
    if is_identity(est) {
        return Ok(Block::Numeric {
            columns,
            steps: Vec::new(),
        });
    }
    match est.name() {
        "OneHotEncoder" | "OrdinalEncoder" => Ok(Block::Encode {
            columns,
            encoders: encoders(est, None)?,
        }),
        "Pipeline" => {
            let steps: Vec<Est<'_>> = est
                .list("steps")?
                .iter()
                .filter_map(|s| est.p.items(s).and_then(|p| p.get(1)))
                .filter(|e| !matches!(e, Value::None) && e.as_str() != Some("passthrough"))
                .map(|e| est.p.estimator(e))
                .collect::<Result<_>>()?;
            if let Some(last) = steps.last()
                && matches!(last.name(), "OneHotEncoder" | "OrdinalEncoder")
            {
                let f = match steps.as_slice() {
                    [_] => None,
                    [imp, _] if imp.name() == "SimpleImputer" => Some(fills(imp)?),
                    _ => {
                        return Err(est.unsupported(
                            "an encoder after steps other than one SimpleImputer is not supported yet",
                        ));
                    }
                };
                return Ok(Block::Encode {
                    columns,
                    encoders: encoders(last, f.as_deref())?,
                });
            }
            let mut numeric = Vec::new();
            for s in &steps {
                numeric.push(preprocess::step(s)?.ok_or_else(|| super::unsupported(s))?);
            }
            Ok(Block::Numeric {
                columns,
                steps: numeric,
            })
        }
        _ => match preprocess::step(est)? {
            Some(s) => Ok(Block::Numeric {
                columns,
                steps: vec![s],
            }),
            None => Err(super::unsupported(est)),
        },
    }
}

/// The front of a Pipeline whose first step is `first` (a ColumnTransformer or an encoder
/// over every column), over the inputs `names`.
pub fn front(first: &Est<'_>, names: &[String]) -> Result<Option<Front>> {
    let index: HashMap<String, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.clone(), i))
        .collect();
    let n = names.len();
    let blocks = match first.name() {
        "OneHotEncoder" | "OrdinalEncoder" => vec![Block::Encode {
            columns: (0..n).collect(),
            encoders: encoders(first, None)?,
        }],
        "ColumnTransformer" => {
            let mut blocks = Vec::new();
            for t in first.list("transformers_")? {
                let parts = first.p.items(t).ok_or_else(|| {
                    first.bad("transformers_", "not (name, transformer, columns)")
                })?;
                let [_, transformer, spec, ..] = parts else {
                    return Err(first.bad("transformers_", "not (name, transformer, columns)"));
                };
                let columns = select(first, spec, &index, n)?;
                match transformer.as_str() {
                    Some("drop") => continue,
                    Some("passthrough") => blocks.push(Block::Numeric {
                        columns,
                        steps: Vec::new(),
                    }),
                    Some(other) => {
                        return Err(
                            first.bad("transformers_", format!("unknown transformer `{other}`"))
                        );
                    }
                    None => {
                        let t = first.p.estimator(transformer)?;
                        if columns.is_empty() {
                            continue;
                        }
                        blocks.push(block(&t, columns)?);
                    }
                }
            }
            blocks
        }
        _ => return Ok(None),
    };
    Ok(Some(Front { blocks }))
}
