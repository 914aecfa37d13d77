//! A batch's rows grouped by the model that scores them, and the outputs put back in row order.
//!
//! Grouping is a counting sort by model index: two passes over the assignments and no hashing,
//! which matters when a million rows are routed over a thousand models (a hash map per row cost
//! more than the trees). The routed columns are permuted into grouped order once per batch, so
//! each group reads a slice; the scatter writes each group's primitive outputs straight into
//! the output buffer. Other types go through Arrow's `take` and `interleave`.

use std::ops::Range;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{
    Array, ArrayRef, ArrowPrimitiveType, PrimitiveArray, UInt32Array, new_null_array,
};
use arrow_buffer::{BooleanBufferBuilder, NullBuffer, ScalarBuffer};
use arrow_schema::{ArrowError, DataType};

/// Rows grouped by model: `rows[range]` are the rows of one model, in row order.
#[derive(Debug, Default)]
pub(crate) struct Groups {
    /// Every assigned row, grouped by model (an Arrow buffer: the take indices of
    /// [`Groups::permute`] without a copy).
    pub(crate) rows: ScalarBuffer<u32>,
    /// (model, its range of `rows`), by model index.
    pub(crate) groups: Vec<(u32, Range<usize>)>,
    /// Rows no model scores (their outputs are null).
    pub(crate) unassigned: usize,
    /// Each row's position in `rows` (`UNASSIGNED` for rows no model scores).
    pos: Vec<u32>,
}

const UNASSIGNED: u32 = u32::MAX;

impl Groups {
    /// Group the rows of `assign` (each row's model, or `None`) over `models` models.
    pub(crate) fn new(assign: &[Option<u32>], models: usize) -> Self {
        if assign.len() < models {
            // Fewer rows than models (a small request to a large model set): sorting the
            // rows costs less than a count per model.
            return Self::by_sorting(assign);
        }
        let mut counts = vec![0u32; models];
        let mut unassigned = 0;
        for a in assign {
            match a {
                Some(m) => counts[*m as usize] += 1,
                None => unassigned += 1,
            }
        }
        let mut next = Vec::with_capacity(models);
        let mut groups = Vec::new();
        let mut at = 0usize;
        for (m, &c) in counts.iter().enumerate() {
            next.push(at as u32);
            if c > 0 {
                groups.push((m as u32, at..at + c as usize));
            }
            at += c as usize;
        }
        let mut rows = vec![0u32; at];
        let mut pos = vec![UNASSIGNED; assign.len()];
        for (row, a) in assign.iter().enumerate() {
            if let Some(m) = a {
                let slot = &mut next[*m as usize];
                rows[*slot as usize] = row as u32;
                pos[row] = *slot;
                *slot += 1;
            }
        }
        Self {
            rows: rows.into(),
            groups,
            unassigned,
            pos,
        }
    }

    fn by_sorting(assign: &[Option<u32>]) -> Self {
        let mut pairs: Vec<(u32, u32)> = assign
            .iter()
            .enumerate()
            .filter_map(|(row, a)| a.map(|m| (m, row as u32)))
            .collect();
        pairs.sort_unstable();
        let unassigned = assign.len() - pairs.len();
        let mut groups: Vec<(u32, Range<usize>)> = Vec::new();
        for (i, &(m, _)) in pairs.iter().enumerate() {
            match groups.last_mut() {
                Some((last, range)) if *last == m => range.end = i + 1,
                _ => groups.push((m, i..i + 1)),
            }
        }
        let mut pos = vec![UNASSIGNED; assign.len()];
        for (slot, &(_, row)) in pairs.iter().enumerate() {
            pos[row as usize] = slot as u32;
        }
        Self {
            rows: pairs
                .into_iter()
                .map(|(_, row)| row)
                .collect::<Vec<_>>()
                .into(),
            groups,
            unassigned,
            pos,
        }
    }

    /// The rows of group `g`.
    pub(crate) fn members(&self, g: usize) -> &[u32] {
        &self.rows[self.groups[g].1.clone()]
    }

    /// `column`'s assigned rows in grouped order, so each group's rows are the slice
    /// `groups[g].1` of it. Primitive columns are written in one pass over the rows in order
    /// (reads in order, each value stored at its row's position): on a batch whose keys are
    /// shuffled, a gather per group reads each group's rows scattered over the whole column
    /// and misses the CPU caches on almost every value. Other types go through Arrow's `take`.
    pub(crate) fn permute(&self, column: &dyn Array) -> Result<ArrayRef, ArrowError> {
        macro_rules! primitive {
            ($t:ty) => {
                Ok(Arc::new(
                    self.permute_primitive(column.as_primitive::<$t>()),
                ))
            };
        }
        match column.data_type() {
            DataType::Float64 => primitive!(Float64Type),
            DataType::Float32 => primitive!(Float32Type),
            DataType::Int64 => primitive!(Int64Type),
            DataType::Int32 => primitive!(Int32Type),
            _ => arrow_select::take::take(column, &UInt32Array::new(self.rows.clone(), None), None),
        }
    }

    fn permute_primitive<T: ArrowPrimitiveType>(
        &self,
        column: &PrimitiveArray<T>,
    ) -> PrimitiveArray<T> {
        let n = self.rows.len();
        let mut values = vec![T::Native::default(); n];
        for (&p, &v) in self.pos.iter().zip(column.values().iter()) {
            if p != UNASSIGNED {
                values[p as usize] = v;
            }
        }
        let nulls = column.nulls().filter(|n| n.null_count() > 0).map(|nulls| {
            let mut valid = BooleanBufferBuilder::new(n);
            valid.append_n(n, false);
            for (row, &p) in self.pos.iter().enumerate() {
                if p != UNASSIGNED && nulls.is_valid(row) {
                    valid.set_bit(p as usize, true);
                }
            }
            NullBuffer::new(valid.finish())
        });
        PrimitiveArray::<T>::new(ScalarBuffer::from(values), nulls)
            .with_data_type(column.data_type().clone())
    }

    /// Each row's group, `None` for unassigned rows.
    pub(crate) fn group_of_rows(&self, rows: usize) -> Vec<Option<usize>> {
        let mut out = vec![None; rows];
        for g in 0..self.groups.len() {
            for &row in self.members(g) {
                out[row as usize] = Some(g);
            }
        }
        out
    }

    /// One output column in row order from each group's column (`parts[g]` holds group `g`'s
    /// rows in order); unassigned rows are null. `data_type` is every part's type.
    pub(crate) fn scatter(
        &self,
        parts: &[&dyn Array],
        data_type: &DataType,
        rows: usize,
    ) -> Result<ArrayRef, ArrowError> {
        macro_rules! primitive {
            ($t:ty) => {
                Ok(Arc::new(self.scatter_primitive::<$t>(parts, rows)))
            };
        }
        match data_type {
            DataType::Float64 => primitive!(Float64Type),
            DataType::Float32 => primitive!(Float32Type),
            DataType::Int64 => primitive!(Int64Type),
            DataType::Int32 => primitive!(Int32Type),
            DataType::Int16 => primitive!(Int16Type),
            DataType::Int8 => primitive!(Int8Type),
            DataType::UInt64 => primitive!(UInt64Type),
            DataType::UInt32 => primitive!(UInt32Type),
            DataType::UInt16 => primitive!(UInt16Type),
            DataType::UInt8 => primitive!(UInt8Type),
            _ => self.interleave(parts, data_type, rows),
        }
    }

    fn scatter_primitive<T: ArrowPrimitiveType>(
        &self,
        parts: &[&dyn Array],
        rows: usize,
    ) -> PrimitiveArray<T> {
        let mut values = vec![T::Native::default(); rows];
        let nullable = self.unassigned > 0 || parts.iter().any(|p| p.null_count() > 0);
        let mut valid = nullable.then(|| {
            let mut b = BooleanBufferBuilder::new(rows);
            b.append_n(rows, false);
            b
        });
        for (g, part) in parts.iter().enumerate() {
            let part = part.as_primitive::<T>();
            let members = self.members(g);
            for (&row, &v) in members.iter().zip(part.values().iter()) {
                values[row as usize] = v;
            }
            if let Some(valid) = valid.as_mut() {
                for (k, &row) in members.iter().enumerate() {
                    valid.set_bit(row as usize, part.is_valid(k));
                }
            }
        }
        let nulls = valid.map(|mut b| NullBuffer::new(b.finish()));
        PrimitiveArray::<T>::new(ScalarBuffer::from(values), nulls)
    }

    /// The general case: Arrow's `interleave` over the parts and a one-row null array.
    fn interleave(
        &self,
        parts: &[&dyn Array],
        data_type: &DataType,
        rows: usize,
    ) -> Result<ArrayRef, ArrowError> {
        let nulls = new_null_array(data_type, 1);
        let mut place = vec![(parts.len(), 0usize); rows];
        for g in 0..self.groups.len() {
            for (k, &row) in self.members(g).iter().enumerate() {
                place[row as usize] = (g, k);
            }
        }
        let mut sources = parts.to_vec();
        sources.push(nulls.as_ref());
        arrow_select::interleave::interleave(&sources, &place)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Float32Array, StringArray};

    fn assign() -> Vec<Option<u32>> {
        vec![Some(2), None, Some(0), Some(2), Some(1), None, Some(0)]
    }

    #[test]
    fn counting_and_sorting_group_alike() {
        let a = assign();
        let counted = Groups::new(&a, 3);
        let sorted = Groups::new(&a, 100);
        for g in [&counted, &sorted] {
            assert_eq!(&g.rows[..], &[2, 6, 4, 0, 3]);
            assert_eq!(g.pos, vec![3, UNASSIGNED, 0, 4, 2, UNASSIGNED, 1]);
            assert_eq!(g.groups, vec![(0, 0..2), (1, 2..3), (2, 3..5)]);
            assert_eq!(g.unassigned, 2);
        }
    }

    #[test]
    fn scatter_puts_rows_back_with_nulls_where_unassigned() {
        let g = Groups::new(&assign(), 3);
        let p0 = Float32Array::from(vec![20.0, 60.0]);
        let p1 = Float32Array::from(vec![Some(40.0)]);
        let p2 = Float32Array::from(vec![Some(0.0), None]);
        let parts: Vec<&dyn Array> = vec![&p0, &p1, &p2];
        let out = g.scatter(&parts, &DataType::Float32, 7).unwrap();
        let want = Float32Array::from(vec![
            Some(0.0),
            None,
            Some(20.0),
            None,
            Some(40.0),
            None,
            Some(60.0),
        ]);
        assert_eq!(out.as_primitive::<Float32Type>(), &want);
        // The general path agrees.
        let s: Vec<StringArray> = [vec!["a", "b"], vec!["c"], vec!["d", "e"]]
            .into_iter()
            .map(StringArray::from)
            .collect();
        let parts: Vec<&dyn Array> = s.iter().map(|a| a as &dyn Array).collect();
        let out = g.scatter(&parts, &DataType::Utf8, 7).unwrap();
        let want = StringArray::from(vec![
            Some("d"),
            None,
            Some("a"),
            Some("e"),
            Some("c"),
            None,
            Some("b"),
        ]);
        assert_eq!(out.as_string::<i32>(), &want);
    }

    #[test]
    fn permute_puts_each_group_in_one_slice_like_take() {
        let g = Groups::new(&assign(), 3);
        let floats = Float32Array::from(vec![
            Some(0.0),
            Some(1.0),
            None,
            Some(3.0),
            Some(4.0),
            Some(5.0),
            Some(6.0),
        ]);
        let strings = StringArray::from(vec!["a", "b", "c", "d", "e", "f", "g"]);
        let all = UInt32Array::new(g.rows.clone(), None);
        for column in [&floats as &dyn Array, &strings] {
            let want = arrow_select::take::take(column, &all, None).unwrap();
            assert_eq!(&g.permute(column).unwrap(), &want);
        }
        let got = g.permute(&floats).unwrap();
        // Group 0 (model 0) holds rows 2 and 6.
        assert_eq!(
            got.slice(0, 2).as_primitive::<Float32Type>(),
            &Float32Array::from(vec![None, Some(6.0)])
        );
    }

    #[test]
    fn scatter_without_nulls_has_no_null_buffer() {
        let g = Groups::new(&[Some(1), Some(0)], 2);
        let p0 = Float32Array::from(vec![1.0]);
        let p1 = Float32Array::from(vec![2.0]);
        let out = g.scatter(&[&p0, &p1], &DataType::Float32, 2).unwrap();
        assert!(out.nulls().is_none());
        assert_eq!(out.as_primitive::<Float32Type>().values(), &[2.0, 1.0]);
    }
}
