//! The simple JSON API: `POST /v1/models/{name}/score`.
//!
//! Request: `{"rows": [{"field": value, ...}, ...]}` or `{"columns": {"field": [values], ...}}`.
//! Answer, in the same orientation: `{"model": name, "version": v, "rows": [...]}` or
//! `{"model": name, "version": v, "columns": {...}}`, holding the pass-through fields of the
//! request followed by the model's outputs (model inputs are not echoed). A pipeline that
//! drops rows answers with fewer rows; pass an `id` field through to match them up.
//! Value rules: see [`crate::protocol`].

use std::fmt;

use arrow_array::RecordBatch;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use super::{BatchBuilder, Built, Cell, Value, json_error};
use crate::error::ApiError;
use crate::limits::Limits;
use crate::repository::LoadedModel;

/// Which way a request was written, and so its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Orientation {
    /// `{"rows": [...]}`
    Rows,
    /// `{"columns": {...}}`
    Columns,
}

/// A parsed request.
pub(crate) struct Request {
    pub(crate) built: Built,
    pub(crate) orientation: Orientation,
}

impl Request {
    /// Rows to score.
    pub(crate) fn rows(&self) -> usize {
        self.built.batch.num_rows()
    }
}

/// Parse a `v1` body into a batch for `model`.
pub(crate) fn parse(
    model: &LoadedModel,
    body: &[u8],
    limits: &Limits,
) -> Result<Request, ApiError> {
    let mut b = BatchBuilder::new(model, limits);
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed = TopSeed { b: &mut b }
        .deserialize(&mut de)
        .and_then(|top| de.end().map(|()| top));
    let (orientation, rows) = match parsed {
        Ok(top) => top,
        Err(e) => return Err(json_error(e, body, &b)),
    };
    let built = b.finish(rows)?;
    Ok(Request { built, orientation })
}

/// Score `req` with `model` and write the answer.
pub(crate) fn answer(
    model: &LoadedModel,
    req: &Request,
    scored: &RecordBatch,
) -> Result<Vec<u8>, ApiError> {
    let first = req.built.inputs_present;
    let body = Answer {
        model,
        batch: scored,
        first,
        orientation: req.orientation,
    };
    let mut out = Vec::with_capacity(64 + 32 * scored.num_rows() * (scored.num_columns() - first));
    serde_json::to_writer(&mut out, &body).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(out)
}

struct TopSeed<'a, 'm> {
    b: &'a mut BatchBuilder<'m>,
}

impl<'de> DeserializeSeed<'de> for TopSeed<'_, '_> {
    type Value = (Orientation, usize);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_, '_> {
    type Value = (Orientation, usize);
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(r#"an object {"rows": [...]} or {"columns": {...}}"#)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found: Option<(Orientation, usize)> = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let orientation = match key.as_ref() {
                "rows" => Orientation::Rows,
                "columns" => Orientation::Columns,
                other => {
                    return Err(de::Error::custom(format!(
                        "unknown field `{other}`; expected `rows` or `columns`"
                    )));
                }
            };
            if found.is_some() {
                return Err(de::Error::custom(
                    "send either `rows` or `columns`, not both",
                ));
            }
            let rows = match orientation {
                Orientation::Rows => map.next_value_seed(RowsSeed { b: &mut *self.b })?,
                Orientation::Columns => map.next_value_seed(ColumnsSeed { b: &mut *self.b })?,
            };
            found = Some((orientation, rows));
        }
        found.ok_or_else(|| de::Error::custom("the body needs `rows` or `columns`"))
    }
}

/// `[{...}, ...]` → number of rows.
struct RowsSeed<'a, 'm> {
    b: &'a mut BatchBuilder<'m>,
}

impl<'de> DeserializeSeed<'de> for RowsSeed<'_, '_> {
    type Value = usize;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RowsSeed<'_, '_> {
    type Value = usize;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("`rows` as an array of objects")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
        let mut row = 0;
        while seq
            .next_element_seed(RowSeed {
                b: &mut *self.b,
                row,
            })?
            .is_some()
        {
            row += 1;
        }
        Ok(row)
    }
}

/// One row object.
struct RowSeed<'a, 'm> {
    b: &'a mut BatchBuilder<'m>,
    row: usize,
}

impl<'de> DeserializeSeed<'de> for RowSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "row {} as an object of field names to values", self.row)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        if self.row >= self.b.max_rows {
            self.b.too_many_rows = true;
            return Err(de::Error::custom("too many rows"));
        }
        let mut pos = 0;
        while let Some(col) = map.next_key_seed(KeySeed {
            b: &mut *self.b,
            guess: pos,
        })? {
            map.next_value_seed(CellSeed {
                b: &mut *self.b,
                col,
                row: self.row,
            })?;
            pos += 1;
        }
        Ok(())
    }
}

/// A field name → its column.
pub(super) struct KeySeed<'a, 'm> {
    pub(super) b: &'a mut BatchBuilder<'m>,
    pub(super) guess: usize,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_, '_> {
    type Value = usize;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_, '_> {
    type Value = usize;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<usize, E> {
        self.b.column(v, self.guess).map_err(E::custom)
    }
}

/// One value → stored at (`col`, `row`).
pub(super) struct CellSeed<'a, 'm> {
    pub(super) b: &'a mut BatchBuilder<'m>,
    pub(super) col: usize,
    pub(super) row: usize,
}

impl CellSeed<'_, '_> {
    fn put<E: de::Error>(self, v: Value<'_>) -> Result<(), E> {
        self.b.push(self.col, self.row, v).map_err(E::custom)
    }
}

impl<'de> DeserializeSeed<'de> for CellSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for CellSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "row {}, field `{}`: a number, string, boolean or null",
            self.row,
            self.b.name(self.col)
        )
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.put(Value::Num(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.put(Value::Num(v as f64))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.put(Value::Num(v as f64))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.put(Value::Bool(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.put(Value::Str(v.into()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.put(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.put(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        // One row's vector. Each element counts against the request's value limit, checked
        // as the array is read so a huge array is refused before it is held.
        let mut items = Vec::new();
        while let Some(x) = seq.next_element::<Option<f64>>()? {
            let Some(x) = x else {
                return Err(de::Error::custom(format!(
                    "row {}, field `{}`: element {} of the array is null; vectors hold numbers only",
                    self.row,
                    self.b.name(self.col),
                    items.len()
                )));
            };
            items.push(x);
            self.b.count_list_value().map_err(de::Error::custom)?;
        }
        self.put(Value::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom(format!(
            "row {}, field `{}`: objects are not accepted as values",
            self.row,
            self.b.name(self.col)
        )))
    }
}

/// `{"field": [values], ...}` → number of rows.
struct ColumnsSeed<'a, 'm> {
    b: &'a mut BatchBuilder<'m>,
}

impl<'de> DeserializeSeed<'de> for ColumnsSeed<'_, '_> {
    type Value = usize;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ColumnsSeed<'_, '_> {
    type Value = usize;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("`columns` as an object of field names to arrays")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<usize, A::Error> {
        let mut rows: Option<(usize, usize)> = None;
        let mut pos = 0;
        while let Some(col) = map.next_key_seed(KeySeed {
            b: &mut *self.b,
            guess: pos,
        })? {
            self.b.touch(col).map_err(de::Error::custom)?;
            map.next_value_seed(ColumnSeed {
                b: &mut *self.b,
                col,
            })?;
            let n = self.b.len(col);
            match rows {
                None => rows = Some((n, col)),
                Some((m, first)) if m != n => {
                    return Err(de::Error::custom(format!(
                        "column `{}` has {n} values but `{}` has {m}",
                        self.b.name(col),
                        self.b.name(first)
                    )));
                }
                Some(_) => {}
            }
            pos += 1;
        }
        Ok(rows.map_or(0, |(n, _)| n))
    }
}

/// One column's array of values.
struct ColumnSeed<'a, 'm> {
    b: &'a mut BatchBuilder<'m>,
    col: usize,
}

impl<'de> DeserializeSeed<'de> for ColumnSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ColumnSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column `{}` as an array", self.b.name(self.col))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut row = 0;
        while seq
            .next_element_seed(CellSeed {
                b: &mut *self.b,
                col: self.col,
                row,
            })?
            .is_some()
        {
            row += 1;
        }
        Ok(())
    }
}

struct Answer<'a> {
    model: &'a LoadedModel,
    batch: &'a RecordBatch,
    first: usize,
    orientation: Orientation,
}

impl Serialize for Answer<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(3))?;
        map.serialize_entry("model", self.model.name())?;
        map.serialize_entry("version", self.model.version())?;
        match self.orientation {
            Orientation::Rows => map.serialize_entry("rows", &RowsOut(self))?,
            Orientation::Columns => map.serialize_entry("columns", &ColumnsOut(self))?,
        }
        map.end()
    }
}

struct RowsOut<'a>(&'a Answer<'a>);

impl Serialize for RowsOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let a = self.0;
        let mut seq = s.serialize_seq(Some(a.batch.num_rows()))?;
        for row in 0..a.batch.num_rows() {
            seq.serialize_element(&RowOut(a, row))?;
        }
        seq.end()
    }
}

struct RowOut<'a>(&'a Answer<'a>, usize);

impl Serialize for RowOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let RowOut(a, row) = *self;
        let schema = a.batch.schema_ref();
        let mut map = s.serialize_map(Some(a.batch.num_columns() - a.first))?;
        for (field, col) in schema.fields()[a.first..]
            .iter()
            .zip(&a.batch.columns()[a.first..])
        {
            map.serialize_entry(field.name(), &Cell(col.as_ref(), row))?;
        }
        map.end()
    }
}

struct ColumnsOut<'a>(&'a Answer<'a>);

impl Serialize for ColumnsOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let a = self.0;
        let schema = a.batch.schema_ref();
        let mut map = s.serialize_map(Some(a.batch.num_columns() - a.first))?;
        for (field, col) in schema.fields()[a.first..]
            .iter()
            .zip(&a.batch.columns()[a.first..])
        {
            map.serialize_entry(field.name(), &ColumnOut(col.as_ref()))?;
        }
        map.end()
    }
}

pub(super) struct ColumnOut<'a>(pub(super) &'a dyn arrow_array::Array);

impl Serialize for ColumnOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for i in 0..self.0.len() {
            seq.serialize_element(&Cell(self.0, i))?;
        }
        seq.end()
    }
}
