//! ML vector columns: one dense or sparse vector of doubles per row.
//!
//! The Arrow layout is Spark ML's `VectorUDT` SQL type, so vectors cross into and out of
//! Spark's `mapInArrow` unchanged:
//!
//! ```text
//! struct<type: int8 (0 = sparse, 1 = dense), size: int32 (sparse only),
//!        indices: list<int32> (sparse only), values: list<float64>>
//! ```
//!
//! On input, plain `list<float64>` / `fixed_size_list<float64>` columns (what pyarrow and
//! pandas users have) are read as dense vectors too.

use std::sync::Arc;

use arrow_array::builder::{Float64Builder, Int8Builder, Int32Builder, ListBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int32Type};
use arrow_array::{Array, ArrayRef, Float64Array, Int32Array, StructArray};
use arrow_buffer::NullBuffer;
use arrow_schema::{DataType, Field, Fields};

use crate::error::{Result, ScoreError};

/// What a vector column may hold, for type errors.
pub const VECTOR_TYPES: &str =
    "a vector (Spark VectorUDT struct, list<double> or fixed_size_list<double>)";

/// The Arrow type of a vector column (Spark's `VectorUDT.sqlType`).
pub fn vector_data_type() -> DataType {
    DataType::Struct(vector_fields())
}

fn vector_fields() -> Fields {
    Fields::from(vec![
        Field::new("type", DataType::Int8, false),
        Field::new("size", DataType::Int32, true),
        Field::new(
            "indices",
            DataType::List(Arc::new(Field::new("element", DataType::Int32, false))),
            true,
        ),
        Field::new(
            "values",
            DataType::List(Arc::new(Field::new("element", DataType::Float64, false))),
            true,
        ),
    ])
}

/// Whether `dt` can be read as a vector column.
pub fn is_vector(dt: &DataType) -> bool {
    match dt {
        DataType::Struct(fields) => {
            let names: Vec<&str> = fields.iter().map(|f| f.name().as_str()).collect();
            names == ["type", "size", "indices", "values"]
        }
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            matches!(f.data_type(), DataType::Float64 | DataType::Float32)
        }
        _ => false,
    }
}

/// Binds each `(column, needed_by)` of a stage reading tensors: the column must exist and hold
/// vectors (the types [`is_vector`] accepts); `needed_by` says who reads it, for the error.
pub fn bind_vector_columns<'a>(
    schema: &arrow_schema::Schema,
    columns: impl IntoIterator<Item = (&'a str, String)>,
) -> Result<crate::Binding> {
    let mut bound = Vec::new();
    for (name, needed_by) in columns {
        let idx = crate::find_column(schema, name, || needed_by)?;
        let dt = schema.field(idx).data_type();
        if !is_vector(dt) {
            return Err(ScoreError::ColumnType {
                column: name.to_string(),
                expected: VECTOR_TYPES.into(),
                got: dt.to_string(),
            });
        }
        bound.push(idx);
    }
    Ok(crate::Binding::new(bound))
}

/// One row's vector, borrowed from a column.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum VectorRef<'a> {
    /// All values.
    Dense(&'a [f64]),
    /// `size` entries, zero except at `indices` (ascending) which hold `values`.
    Sparse {
        /// The vector's length.
        size: usize,
        /// Positions of the stored values.
        indices: &'a [i32],
        /// The stored values.
        values: &'a [f64],
    },
}

impl VectorRef<'_> {
    /// The vector's length.
    pub fn len(&self) -> usize {
        match self {
            VectorRef::Dense(v) => v.len(),
            VectorRef::Sparse { size, .. } => *size,
        }
    }

    /// Whether the vector has no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value at position `i` (zero for an unstored sparse entry).
    pub fn get(&self, i: usize) -> f64 {
        match self {
            VectorRef::Dense(v) => v.get(i).copied().unwrap_or(0.0),
            VectorRef::Sparse {
                indices, values, ..
            } => match indices.binary_search(&(i as i32)) {
                Ok(k) => values[k],
                Err(_) => 0.0,
            },
        }
    }

    /// Writes every entry into `out` (`out.len() == self.len()`, zero where a sparse vector
    /// stores nothing) through `f`, without an intermediate `Vec`.
    pub fn write_dense<T: Copy>(&self, out: &mut [T], f: impl Fn(f64) -> T) {
        match self {
            VectorRef::Dense(v) => out.iter_mut().zip(*v).for_each(|(o, &x)| *o = f(x)),
            VectorRef::Sparse { .. } => {
                out.fill(f(0.0));
                self.for_each_active(|i, x| {
                    if let Some(o) = out.get_mut(i) {
                        *o = f(x);
                    }
                });
            }
        }
    }

    /// Visit the stored entries as `(index, value)` (every entry for dense vectors).
    pub fn for_each_active(&self, mut f: impl FnMut(usize, f64)) {
        match self {
            VectorRef::Dense(v) => v.iter().enumerate().for_each(|(i, x)| f(i, *x)),
            VectorRef::Sparse {
                indices, values, ..
            } => indices
                .iter()
                .zip(values.iter())
                .for_each(|(i, x)| f(*i as usize, *x)),
        }
    }

    /// Copy into a dense `Vec`.
    pub fn to_dense(&self) -> Vec<f64> {
        match self {
            VectorRef::Dense(v) => v.to_vec(),
            VectorRef::Sparse { size, .. } => {
                let mut out = vec![0.0; *size];
                self.for_each_active(|i, x| out[i] = x);
                out
            }
        }
    }
}

/// A vector column opened for reading by row.
#[derive(Debug)]
pub struct VectorColumn {
    kind: Option<arrow_array::Int8Array>,
    size: Option<Int32Array>,
    indices: Option<(Int32Array, Vec<usize>)>,
    /// All values, flattened, with each row's range in `offsets`.
    values: Float64Array,
    offsets: Vec<usize>,
    nulls: Option<NullBuffer>,
}

impl VectorColumn {
    /// Open `array` (of a type [`is_vector`] accepts); `column` names it in errors.
    ///
    /// Sparse rows are checked here, once, so readers can trust them: as many indices as
    /// values, indices strictly ascending in `0..size` (what Spark's `SparseVector`
    /// constructor requires), and a type of 0 (sparse) or 1 (dense).
    pub fn try_new(array: &ArrayRef, column: &str) -> Result<Self> {
        let type_error = || ScoreError::ColumnType {
            column: column.to_string(),
            expected: VECTOR_TYPES.into(),
            got: array.data_type().to_string(),
        };
        if !is_vector(array.data_type()) {
            return Err(type_error());
        }
        let nulls = array.logical_nulls();
        match array.data_type() {
            DataType::Struct(_) => {
                let s: &StructArray = array.as_struct();
                let kind = s
                    .column(0)
                    .as_primitive_opt::<arrow_array::types::Int8Type>();
                let size = s.column(1).as_primitive_opt::<Int32Type>();
                let (Some(kind), Some(size)) = (kind, size) else {
                    return Err(type_error());
                };
                let indices = s.column(2).as_list_opt::<i32>().ok_or_else(type_error)?;
                let values = s.column(3).as_list_opt::<i32>().ok_or_else(type_error)?;
                let index_values = indices
                    .values()
                    .as_primitive_opt::<Int32Type>()
                    .ok_or_else(type_error)?
                    .clone();
                let flat = values
                    .values()
                    .as_primitive_opt::<Float64Type>()
                    .ok_or_else(type_error)?
                    .clone();
                let vectors = Self {
                    kind: Some(kind.clone()),
                    size: Some(size.clone()),
                    indices: Some((index_values, offsets(indices.value_offsets()))),
                    values: flat,
                    offsets: offsets(values.value_offsets()),
                    nulls,
                };
                vectors.check_rows(column)?;
                Ok(vectors)
            }
            DataType::List(_) => {
                let l = array.as_list::<i32>();
                Ok(Self::dense(l.values(), offsets(l.value_offsets()), nulls))
            }
            DataType::LargeList(_) => {
                let l = array.as_list::<i64>();
                Ok(Self::dense(l.values(), offsets(l.value_offsets()), nulls))
            }
            DataType::FixedSizeList(_, n) => {
                let l = array.as_fixed_size_list();
                let n = *n as usize;
                let offs = (0..=l.len()).map(|i| (l.offset() + i) * n).collect();
                Ok(Self::dense(l.values(), offs, nulls))
            }
            _ => Err(type_error()),
        }
    }

    fn dense(values: &ArrayRef, mut offsets: Vec<usize>, nulls: Option<NullBuffer>) -> Self {
        // A sliced list (one row cut from a large batch) still holds its parent's whole child
        // array: convert only the slice's values, or scoring one row costs the whole batch.
        let start = offsets.first().copied().unwrap_or(0);
        let end = offsets.last().copied().unwrap_or(start);
        let values = values.slice(start, end - start);
        offsets.iter_mut().for_each(|o| *o -= start);
        let values = match values.data_type() {
            DataType::Float32 => values
                .as_primitive::<Float32Type>()
                .unary::<_, Float64Type>(f64::from),
            // `is_vector` admitted only f32 and f64 items.
            _ => values.as_primitive::<Float64Type>().clone(),
        };
        Self {
            kind: None,
            size: None,
            indices: None,
            values,
            offsets,
            nulls,
        }
    }

    fn check_rows(&self, column: &str) -> Result<()> {
        let (Some(kind), Some(size), Some((indices, index_offsets))) =
            (&self.kind, &self.size, &self.indices)
        else {
            return Ok(());
        };
        let bad = |row: usize, message: String| ScoreError::InvalidValue {
            column: column.to_string(),
            row,
            message,
        };
        for row in 0..self.len() {
            if self.nulls.as_ref().is_some_and(|n| n.is_null(row)) {
                continue;
            }
            match kind.value(row) {
                1 => continue,
                0 => {}
                other => {
                    return Err(bad(
                        row,
                        format!("vector type is {other}; expected 0 (sparse) or 1 (dense)"),
                    ));
                }
            }
            let n = size.value(row);
            if size.is_null(row) || n < 0 {
                return Err(bad(row, "sparse vector without a valid size".into()));
            }
            let idx = &indices.values()[index_offsets[row]..index_offsets[row + 1]];
            let stored = self.offsets[row + 1] - self.offsets[row];
            if idx.len() != stored {
                return Err(bad(
                    row,
                    format!(
                        "sparse vector has {} indices but {stored} values",
                        idx.len()
                    ),
                ));
            }
            let mut previous = -1i64;
            for &i in idx {
                if i64::from(i) <= previous || i >= n {
                    return Err(bad(
                        row,
                        format!(
                            "sparse vector of size {n} has index {i}; indices must be strictly ascending in 0..{n}"
                        ),
                    ));
                }
                previous = i64::from(i);
            }
        }
        Ok(())
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Whether the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Row `i`'s vector, or `None` when it is null. Panics if `i` is out of range.
    pub fn get(&self, i: usize) -> Option<VectorRef<'_>> {
        if self.nulls.as_ref().is_some_and(|n| n.is_null(i)) {
            return None;
        }
        let values = &self.values.values()[self.offsets[i]..self.offsets[i + 1]];
        match (&self.kind, &self.size, &self.indices) {
            (Some(kind), Some(size), Some((indices, offs))) if kind.value(i) == 0 => {
                Some(VectorRef::Sparse {
                    size: size.value(i).max(0) as usize,
                    indices: &indices.values()[offs[i]..offs[i + 1]],
                    values,
                })
            }
            _ => Some(VectorRef::Dense(values)),
        }
    }
}

fn offsets<O: arrow_array::OffsetSizeTrait>(o: &[O]) -> Vec<usize> {
    o.iter().map(|x| x.as_usize()).collect()
}

/// Builds a vector column row by row.
#[derive(Debug)]
pub struct VectorBuilder {
    kind: Int8Builder,
    size: Int32Builder,
    indices: ListBuilder<Int32Builder>,
    values: ListBuilder<Float64Builder>,
    validity: Vec<bool>,
}

impl Default for VectorBuilder {
    fn default() -> Self {
        Self::with_capacity(0)
    }
}

impl VectorBuilder {
    /// A builder with room for `rows` rows.
    pub fn with_capacity(rows: usize) -> Self {
        let element = |dt| Arc::new(Field::new("element", dt, false));
        Self {
            kind: Int8Builder::with_capacity(rows),
            size: Int32Builder::with_capacity(rows),
            indices: ListBuilder::with_capacity(Int32Builder::new(), rows)
                .with_field(element(DataType::Int32)),
            values: ListBuilder::with_capacity(Float64Builder::new(), rows)
                .with_field(element(DataType::Float64)),
            validity: Vec::with_capacity(rows),
        }
    }

    /// Append a dense vector.
    pub fn push_dense(&mut self, values: &[f64]) {
        self.kind.append_value(1);
        self.size.append_null();
        self.indices.append_null();
        self.values.values().append_slice(values);
        self.values.append(true);
        self.validity.push(true);
    }

    /// Append a sparse vector of length `size` (indices ascending, in range).
    pub fn push_sparse(&mut self, size: usize, indices: &[i32], values: &[f64]) {
        self.kind.append_value(0);
        self.size.append_value(size as i32);
        self.indices.values().append_slice(indices);
        self.indices.append(true);
        self.values.values().append_slice(values);
        self.values.append(true);
        self.validity.push(true);
    }

    /// Append a borrowed vector as it is stored.
    pub fn push(&mut self, v: VectorRef<'_>) {
        match v {
            VectorRef::Dense(values) => self.push_dense(values),
            VectorRef::Sparse {
                size,
                indices,
                values,
            } => self.push_sparse(size, indices, values),
        }
    }

    /// Append a null row.
    pub fn push_null(&mut self) {
        // The child arrays need a slot too; Spark never reads it.
        self.kind.append_value(1);
        self.size.append_null();
        self.indices.append_null();
        self.values.append_null();
        self.validity.push(false);
    }

    /// Finish the column.
    pub fn finish(mut self) -> ArrayRef {
        let nulls = if self.validity.iter().all(|v| *v) {
            None
        } else {
            Some(NullBuffer::from(self.validity))
        };
        let children: Vec<ArrayRef> = vec![
            Arc::new(self.kind.finish()),
            Arc::new(self.size.finish()),
            Arc::new(self.indices.finish()),
            Arc::new(self.values.finish()),
        ];
        Arc::new(StructArray::new(vector_fields(), children, nulls))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_dense_sparse_and_null_rows() {
        let mut b = VectorBuilder::default();
        b.push_dense(&[1.0, 2.0]);
        b.push_null();
        b.push_sparse(5, &[1, 3], &[7.0, -1.0]);
        let array = b.finish();
        assert_eq!(array.data_type(), &vector_data_type());
        let col = VectorColumn::try_new(&array, "v").unwrap();
        assert_eq!(col.len(), 3);
        assert_eq!(col.get(0), Some(VectorRef::Dense(&[1.0, 2.0])));
        assert_eq!(col.get(1), None);
        let sparse = col.get(2).unwrap();
        assert_eq!(sparse.len(), 5);
        assert_eq!(sparse.get(3), -1.0);
        assert_eq!(sparse.get(2), 0.0);
        assert_eq!(sparse.to_dense(), vec![0.0, 7.0, 0.0, -1.0, 0.0]);
    }

    #[test]
    fn refuses_malformed_sparse_rows_naming_column_and_row() {
        let cases: [(usize, &[i32], &[f64], &str); 4] = [
            (
                3,
                &[0, 3],
                &[1.0, 2.0],
                "has index 3; indices must be strictly ascending in 0..3",
            ),
            (3, &[-1], &[1.0], "has index -1"),
            (5, &[2, 1], &[1.0, 2.0], "has index 1"),
            (5, &[1, 2], &[1.0], "has 2 indices but 1 values"),
        ];
        for (size, indices, values, message) in cases {
            let mut b = VectorBuilder::default();
            b.push_dense(&[1.0]);
            b.push_null();
            b.push_sparse(size, indices, values);
            let err = VectorColumn::try_new(&b.finish(), "features").unwrap_err();
            let text = err.to_string();
            assert!(
                text.starts_with("column `features`, row 2 of the batch: ")
                    && text.contains(message),
                "{text}"
            );
        }
    }

    #[test]
    fn a_sliced_list_reads_its_own_rows_and_converts_only_them() {
        let rows = (0..6).map(|r| Some((0..3).map(move |i| Some((r * 3 + i) as f32))));
        let list: ArrayRef = Arc::new(arrow_array::ListArray::from_iter_primitive::<
            Float32Type,
            _,
            _,
        >(rows));
        let fixed: ArrayRef = Arc::new(arrow_array::FixedSizeListArray::from_iter_primitive::<
            Float32Type,
            _,
            _,
        >(
            (0..6).map(|r| Some((0..3).map(move |i| Some((r * 3 + i) as f32)))),
            3,
        ));
        for array in [list, fixed] {
            let col = VectorColumn::try_new(&array.slice(4, 1), "v").unwrap();
            assert_eq!(col.len(), 1);
            assert_eq!(col.get(0), Some(VectorRef::Dense(&[12.0, 13.0, 14.0])));
            // Only the slice's three values were converted to f64, not the parent's 18.
            assert_eq!(col.values.len(), 3);
            let two = VectorColumn::try_new(&array.slice(1, 2), "v").unwrap();
            assert_eq!(two.get(1), Some(VectorRef::Dense(&[6.0, 7.0, 8.0])));
        }
    }

    #[test]
    fn reads_plain_lists_as_dense_and_refuses_other_types() {
        let list: ArrayRef = Arc::new(arrow_array::ListArray::from_iter_primitive::<
            Float64Type,
            _,
            _,
        >(vec![Some(vec![Some(1.0), Some(2.0)]), None]));
        let col = VectorColumn::try_new(&list.slice(0, 2), "v").unwrap();
        assert_eq!(col.get(0), Some(VectorRef::Dense(&[1.0, 2.0])));
        assert_eq!(col.get(1), None);
        let strings: ArrayRef = Arc::new(arrow_array::StringArray::from(vec!["a"]));
        let err = VectorColumn::try_new(&strings, "v").unwrap_err();
        assert!(
            err.to_string().contains("column `v` has type Utf8"),
            "{err}"
        );
    }
}
