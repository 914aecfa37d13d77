//! Float params that may be infinite or NaN: JSON numbers, or the strings `"inf"`,
//! `"+inf"`, `"-inf"`, `"infinity"`, `"-infinity"` and `"nan"` (any case).

use serde::{Deserialize, Deserializer};

#[derive(Deserialize)]
#[serde(untagged)]
enum Num {
    Number(f64),
    Text(String),
}

fn from_num<E: serde::de::Error>(n: Num) -> Result<f64, E> {
    match n {
        Num::Number(x) => Ok(x),
        Num::Text(s) => match s.to_ascii_lowercase().as_str() {
            "inf" | "+inf" | "infinity" | "+infinity" => Ok(f64::INFINITY),
            "-inf" | "-infinity" => Ok(f64::NEG_INFINITY),
            "nan" => Ok(f64::NAN),
            _ => Err(E::custom(format!(
                "expected a number, \"inf\", \"-inf\" or \"nan\", got \"{s}\""
            ))),
        },
    }
}

/// One float.
pub(crate) fn one<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    from_num(Num::deserialize(d)?)
}

/// A list of floats; elements are deserialized one by one so errors carry `[i]`.
pub(crate) fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
    Ok(Vec::<F>::deserialize(d)?.into_iter().map(|f| f.0).collect())
}

/// An optional float (for fields with `#[serde(default)]`).
pub(crate) fn opt_one<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    one(d).map(Some)
}

/// An optional list of floats (for fields with `#[serde(default)]`).
pub(crate) fn opt_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<f64>>, D::Error> {
    list(d).map(Some)
}

/// A list of lists of floats.
pub(crate) fn lists<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<f64>>, D::Error> {
    Ok(Vec::<Vec<F>>::deserialize(d)?
        .into_iter()
        .map(|v| v.into_iter().map(|f| f.0).collect())
        .collect())
}

/// A float as a type, for nesting in containers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct F(pub(crate) f64);

impl<'de> Deserialize<'de> for F {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        one(d).map(F)
    }
}
