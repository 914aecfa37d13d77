//! The document model the JSON-like readers produce: JSON through [`json`] (XGBoost model
//! files and LightGBM's `pandas_categorical` line), UBJSON through `xgboost::ubjson`. UBJSON's
//! typed arrays stay typed (no per-element boxing), and every accessor takes the JSON path it is
//! reading so an error can say where.
// With only the `lightgbm` feature the UBJSON variants and most accessors go unused.
#![cfg_attr(not(feature = "xgboost"), allow(dead_code))]

pub(crate) mod json;

/// A parsed JSON/UBJSON value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Doc {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Array(Vec<Doc>),
    Object(Vec<(String, Doc)>),
    /// A UBJSON `[$d#…` array.
    F32s(Vec<f32>),
    /// A UBJSON `[$D#…` array.
    F64s(Vec<f64>),
    /// A UBJSON integer-typed array (`$i`, `$U`, `$I`, `$l`, `$L`).
    Ints(Vec<i64>),
}

impl Doc {
    /// A short name of the value's type, for messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Doc::Null => "null",
            Doc::Bool(_) => "a boolean",
            Doc::Int(_) => "an integer",
            Doc::Float(_) => "a number",
            Doc::Str(_) => "a string",
            Doc::Array(_) | Doc::F32s(_) | Doc::F64s(_) | Doc::Ints(_) => "an array",
            Doc::Object(_) => "an object",
        }
    }

    /// The member `key` of an object, if this is an object that has it.
    pub(crate) fn member(&self, key: &str) -> Option<&Doc> {
        match self {
            Doc::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// A failed read: the message already names the path.
pub(crate) type Problem = String;

fn wrong(path: &str, expected: &str, got: &Doc) -> Problem {
    format!("`{path}` should be {expected}, got {}", got.kind())
}

/// The object at `path`.
pub(crate) fn object<'a>(v: &'a Doc, path: &str) -> Result<&'a [(String, Doc)], Problem> {
    match v {
        Doc::Object(m) => Ok(m),
        other => Err(wrong(path, "an object", other)),
    }
}

/// Member `key` of the object `v` at `path`; missing is an error.
pub(crate) fn field<'a>(v: &'a Doc, path: &str, key: &str) -> Result<&'a Doc, Problem> {
    let members = object(v, path)?;
    members
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
        .ok_or_else(|| format!("`{path}` has no member `{key}`"))
}

/// A string at `path`.
pub(crate) fn string<'a>(v: &'a Doc, path: &str) -> Result<&'a str, Problem> {
    match v {
        Doc::Str(s) => Ok(s),
        other => Err(wrong(path, "a string", other)),
    }
}

/// An integer written either as a number or as a decimal string (XGBoost's parameter
/// objects store every value as a string).
pub(crate) fn int_like(v: &Doc, path: &str) -> Result<i64, Problem> {
    match v {
        Doc::Int(i) => Ok(*i),
        Doc::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(*f as i64),
        Doc::Str(s) => s
            .trim()
            .parse::<i64>()
            .map_err(|_| format!("`{path}` should be an integer, got the string {s:?}")),
        other => Err(wrong(path, "an integer", other)),
    }
}

/// An array of values at `path` (a typed UBJSON array is not accepted here).
pub(crate) fn array<'a>(v: &'a Doc, path: &str) -> Result<&'a [Doc], Problem> {
    match v {
        Doc::Array(a) => Ok(a),
        Doc::F32s(a) if a.is_empty() => Ok(&[]),
        Doc::F64s(a) if a.is_empty() => Ok(&[]),
        Doc::Ints(a) if a.is_empty() => Ok(&[]),
        other => Err(wrong(path, "an array of values", other)),
    }
}

/// A numeric array read as `f32` (XGBoost stores split conditions and leaves as `float`).
pub(crate) fn f32_array(v: &Doc, path: &str) -> Result<Vec<f32>, Problem> {
    match v {
        Doc::F32s(a) => Ok(a.clone()),
        Doc::F64s(a) => Ok(a.iter().map(|&x| x as f32).collect()),
        Doc::Ints(a) => Ok(a.iter().map(|&x| x as f32).collect()),
        Doc::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, e)| match e {
                Doc::Float(f) => Ok(*f as f32),
                Doc::Int(n) => Ok(*n as f32),
                other => Err(wrong(&format!("{path}[{i}]"), "a number", other)),
            })
            .collect(),
        other => Err(wrong(path, "an array of numbers", other)),
    }
}

/// A numeric array read as integers; booleans count as 0/1 (`default_left` was a bool array
/// before XGBoost 1.6).
pub(crate) fn int_array(v: &Doc, path: &str) -> Result<Vec<i64>, Problem> {
    match v {
        Doc::Ints(a) => Ok(a.clone()),
        Doc::F32s(a) => a
            .iter()
            .enumerate()
            .map(|(i, &f)| exact_int(f as f64, path, i))
            .collect(),
        Doc::F64s(a) => a
            .iter()
            .enumerate()
            .map(|(i, &f)| exact_int(f, path, i))
            .collect(),
        Doc::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, e)| match e {
                Doc::Int(n) => Ok(*n),
                Doc::Bool(b) => Ok(i64::from(*b)),
                Doc::Float(f) => exact_int(*f, path, i),
                other => Err(wrong(&format!("{path}[{i}]"), "an integer", other)),
            })
            .collect(),
        other => Err(wrong(path, "an array of integers", other)),
    }
}

fn exact_int(f: f64, path: &str, i: usize) -> Result<i64, Problem> {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        Ok(f as i64)
    } else {
        Err(format!("`{path}[{i}]` should be an integer, got {f}"))
    }
}
