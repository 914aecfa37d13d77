//! `hashing_tf`: Spark ML's `HashingTF.transform`
//! (`mllib/src/main/scala/org/apache/spark/ml/feature/HashingTF.scala`, Spark 3.x/4.x, and
//! `mllib/.../mllib/feature/HashingTF.scala` for models saved by Spark 2.x).
//!
//! Each term goes to index `nonNegativeMod(murmur3(term, seed 42), num_features)`; the
//! output is a sparse vector of term counts (or 1.0 with `binary`), indices ascending.
//! Strings hash their UTF-8 bytes; integers hash as Java `int`/`long`, floats by their IEEE
//! bits (NaN canonical), booleans as 0/1, a null term hashes to the seed itself. Spark 3.0
//! fixed how the 1–3 trailing bytes of a string are mixed; `hash_function = "murmur3_spark2"`
//! reproduces the old mixing for models saved by Spark < 3.0 (Spark's loader picks it from
//! the saved `sparkVersion`). A null row gives null.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef, ListArray, RecordBatch};
use arrow_schema::{DataType, Field, FieldRef, Schema};
use scorewell_core::vector::VectorBuilder;
use scorewell_core::{Binding, InputColumn, ScoreError, Stage, StageOutput};

use crate::common::{self, Accept};
use crate::error::TransformError;
use crate::murmur3::{self, SEED};
use crate::registry::{Registry, parse};

/// Which MurmurHash3 variant hashes strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HashFunction {
    /// Spark ≥ 3.0 (`FeatureHasher.murmur3Hash`, the reference algorithm).
    #[default]
    Murmur3,
    /// Spark < 3.0 (`mllib.feature.HashingTF.murmur3Hash`).
    Murmur3Spark2,
}

/// Parameters of [`HashingTF`].
///
/// - `input`: a list column of terms (strings, integers, floats or booleans); `output`: a
///   vector column.
/// - `num_features` (default 2^18 = 262144, at least 1): the vector size.
/// - `binary` (default `false`): 1.0 for every present term instead of its count.
/// - `hash_function` (default `murmur3`): `murmur3` for Spark ≥ 3.0 models,
///   `murmur3_spark2` for models saved by Spark 2.x.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HashingTFParams {
    /// Term list column.
    pub input: String,
    /// Vector column.
    pub output: String,
    /// Vector size.
    #[serde(default = "default_num_features")]
    pub num_features: usize,
    /// Presence instead of counts.
    #[serde(default)]
    pub binary: bool,
    /// Hash variant.
    #[serde(default)]
    pub hash_function: HashFunction,
}

pub(crate) fn default_num_features() -> usize {
    1 << 18
}

/// Hashes term lists into term-frequency vectors (see the module docs).
#[derive(Debug, Clone)]
pub struct HashingTF {
    name: String,
    input: String,
    output: String,
    num_features: i32,
    binary: bool,
    hash_function: HashFunction,
}

impl HashingTF {
    /// Validate `params` and build the stage.
    pub fn new(name: &str, params: HashingTFParams) -> Result<Self, TransformError> {
        common::check_names("input", std::slice::from_ref(&params.input), false)?;
        common::check_names("output", std::slice::from_ref(&params.output), false)?;
        let num_features = checked_num_features(params.num_features)?;
        Ok(Self {
            name: name.to_string(),
            input: params.input,
            output: params.output,
            num_features,
            binary: params.binary,
            hash_function: params.hash_function,
        })
    }

    /// The vector index of a string term (Spark's `HashingTF.indexOf`).
    pub fn index_of(&self, term: &str) -> usize {
        let h = match self.hash_function {
            HashFunction::Murmur3 => murmur3::hash_bytes(term.as_bytes(), SEED),
            HashFunction::Murmur3Spark2 => murmur3::hash_bytes_legacy(term.as_bytes(), SEED),
        };
        common::non_negative_mod(h, self.num_features) as usize
    }
}

pub(crate) fn checked_num_features(n: usize) -> Result<i32, TransformError> {
    if n == 0 {
        return Err(TransformError::param("num_features", "must be at least 1"));
    }
    i32::try_from(n).map_err(|_| {
        TransformError::param(
            "num_features",
            format!("{n} exceeds the largest vector size {}", i32::MAX),
        )
    })
}

/// Raw hashes of every element of a list column's values, nulls hashing to the seed.
fn element_hashes(
    values: &ArrayRef,
    strings: fn(&[u8], i32) -> i32,
) -> Result<Vec<i32>, ScoreError> {
    let n = values.len();
    let mut out = vec![SEED; n];
    let nulls = values.logical_nulls();
    let valid = |i: usize| nulls.as_ref().is_none_or(|nb| nb.is_valid(i));
    macro_rules! fill {
        ($array:expr, $f:expr) => {
            for (i, v) in $array.values().iter().enumerate() {
                if valid(i) {
                    out[i] = $f(*v);
                }
            }
        };
    }
    match values.data_type() {
        DataType::Null => {}
        DataType::Int8 => fill!(
            values.as_primitive::<Int8Type>(),
            |v: i8| murmur3::hash_int(v.into(), SEED)
        ),
        DataType::Int16 => fill!(values.as_primitive::<Int16Type>(), |v: i16| {
            murmur3::hash_int(v.into(), SEED)
        }),
        DataType::Int32 => fill!(values.as_primitive::<Int32Type>(), |v| murmur3::hash_int(
            v, SEED
        )),
        DataType::Int64 => fill!(values.as_primitive::<Int64Type>(), |v| murmur3::hash_long(
            v, SEED
        )),
        DataType::Float32 => fill!(values.as_primitive::<Float32Type>(), |v: f32| {
            let bits = if v.is_nan() { 0x7fc0_0000 } else { v.to_bits() };
            murmur3::hash_int(bits as i32, SEED)
        }),
        DataType::Float64 => fill!(values.as_primitive::<Float64Type>(), |v: f64| {
            let bits = if v.is_nan() {
                0x7ff8_0000_0000_0000
            } else {
                v.to_bits()
            };
            murmur3::hash_long(bits as i64, SEED)
        }),
        DataType::Boolean => {
            let b = values.as_boolean();
            for (i, slot) in out.iter_mut().enumerate() {
                if valid(i) {
                    *slot = murmur3::hash_int(i32::from(b.value(i)), SEED);
                }
            }
        }
        _ => {
            let s = common::string_column(values)?;
            for (i, v) in s.iter().enumerate() {
                if let Some(v) = v {
                    out[i] = strings(v.as_bytes(), SEED);
                }
            }
        }
    }
    Ok(out)
}

/// A list column as `ListArray` (large and fixed-size lists converted).
pub(crate) fn as_list(array: &ArrayRef) -> Result<ListArray, ScoreError> {
    if let Some(l) = array.as_list_opt::<i32>() {
        return Ok(l.clone());
    }
    let item = match array.data_type() {
        DataType::LargeList(f) | DataType::FixedSizeList(f, _) => f.data_type().clone(),
        other => other.clone(),
    };
    let target = DataType::List(Arc::new(Field::new("item", item, true)));
    Ok(arrow_cast::cast(array, &target)?.as_list::<i32>().clone())
}

pub(crate) fn register(reg: &mut Registry) {
    reg.add("hashing_tf", |name, params| {
        Ok(Arc::new(HashingTF::new(name, parse(params)?)?))
    });
}

impl Stage for HashingTF {
    fn name(&self) -> &str {
        &self.name
    }

    fn inputs(&self) -> Vec<InputColumn> {
        common::input_columns(std::slice::from_ref(&self.input), Accept::TermList)
    }

    fn output_fields(&self) -> Vec<FieldRef> {
        vec![common::vector_field(&self.output)]
    }

    fn bind(&self, schema: &Schema) -> scorewell_core::Result<Binding> {
        common::bind(
            schema,
            &self.name,
            [(self.input.as_str(), Accept::TermList)],
        )
    }

    fn apply(&self, binding: &Binding, batch: &RecordBatch) -> scorewell_core::Result<StageOutput> {
        let list = as_list(batch.column(binding.columns[0]))?;
        let strings = match self.hash_function {
            HashFunction::Murmur3 => murmur3::hash_bytes,
            HashFunction::Murmur3Spark2 => murmur3::hash_bytes_legacy,
        };
        let hashes = element_hashes(list.values(), strings)?;
        let offsets = list.value_offsets();
        let size = self.num_features as usize;
        let mut b = VectorBuilder::with_capacity(list.len());
        let mut counts: BTreeMap<i32, f64> = BTreeMap::new();
        for row in 0..list.len() {
            if list.is_null(row) {
                b.push_null();
                continue;
            }
            counts.clear();
            for h in &hashes[offsets[row] as usize..offsets[row + 1] as usize] {
                let slot = counts
                    .entry(common::non_negative_mod(*h, self.num_features))
                    .or_insert(0.0);
                *slot = if self.binary { 1.0 } else { *slot + 1.0 };
            }
            let indices: Vec<i32> = counts.keys().copied().collect();
            let values: Vec<f64> = counts.values().copied().collect();
            b.push_sparse(size, &indices, &values);
        }
        Ok(vec![b.finish()].into())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::ArrayRef;
    use arrow_array::builder::{Int64Builder, ListBuilder};
    use serde_json::json;

    use crate::testutil::*;

    #[test]
    fn known_indices_for_spark3_and_spark2() {
        // Expected indices: Python, `mmh3.hash(term.encode(), 42) % 2**18` for Spark 3, and a
        // separate Python transcription of Spark 2's `hashUnsafeBytes` for the legacy variant
        // (Python's `%` is already non-negative).
        let input = || {
            str_lists(&[
                Some(vec![Some("a"), Some("hello"), Some("a"), Some("abcd")]),
                Some(vec![]),
                None,
            ])
        };
        let stage = build("hashing_tf", json!({"input": "w", "output": "tf"}));
        let got = read_vectors(&run(&stage, &[("w", input())]).unwrap()[0]);
        assert_eq!(
            got[0],
            Some(V::Sparse(
                262144,
                vec![SPARK3_ABCD, SPARK3_A, SPARK3_HELLO],
                vec![1.0, 2.0, 1.0]
            ))
        );
        assert_eq!(got[1], Some(V::Sparse(262144, vec![], vec![])));
        assert_eq!(got[2], None);

        let legacy = build(
            "hashing_tf",
            json!({"input": "w", "output": "tf", "hash_function": "murmur3_spark2", "binary": true}),
        );
        let got = read_vectors(&run(&legacy, &[("w", input())]).unwrap()[0]);
        assert_eq!(
            got[0],
            Some(V::Sparse(
                262144,
                vec![SPARK2_ABCD, SPARK2_HELLO, SPARK2_A],
                vec![1.0, 1.0, 1.0]
            ))
        );
    }

    const SPARK3_A: i32 = 107107;
    const SPARK3_HELLO: i32 = 250593;
    const SPARK3_ABCD: i32 = 58828;
    const SPARK2_A: i32 = 227410;
    const SPARK2_HELLO: i32 = 165160;
    const SPARK2_ABCD: i32 = 58828;

    #[test]
    fn small_num_features_null_terms_and_integers() {
        let stage = build(
            "hashing_tf",
            json!({"input": "w", "output": "tf", "num_features": 16}),
        );
        // A null term hashes to the seed: 42 mod 16 = 10.
        let got =
            read_vectors(&run(&stage, &[("w", str_lists(&[Some(vec![None, None])]))]).unwrap()[0]);
        assert_eq!(got[0], Some(V::Sparse(16, vec![10], vec![2.0])));

        let mut b = ListBuilder::new(Int64Builder::new());
        b.values().append_value(1);
        b.append(true);
        let ints: ArrayRef = Arc::new(b.finish());
        // Spark hashes a Long with hashLong: `mmh3.hash(struct.pack('<q', 1), 42) % 16`.
        let got = read_vectors(&run(&stage, &[("w", ints)]).unwrap()[0]);
        assert_eq!(got[0], Some(V::Sparse(16, vec![LONG_1_MOD_16], vec![1.0])));
        assert_eq!(
            build_err(
                "hashing_tf",
                json!({"input": "w", "output": "tf", "num_features": 0})
            ),
            "num_features: must be at least 1"
        );
    }

    const LONG_1_MOD_16: i32 = 13;

    /// An empty token is a term like any other: murmur3 of no bytes (`mmh3.hash(b"", 42)`
    /// = 142593372; 249180 mod 2^18, 12 mod 16), the same in both hash variants since there
    /// are no tail bytes, and distinct from a null token (the seed, 42).
    #[test]
    fn empty_string_tokens_are_terms() {
        let tokens = || str_lists(&[Some(vec![Some(""), Some("a"), Some("")])]);
        for hash_function in ["murmur3", "murmur3_spark2"] {
            let stage = build(
                "hashing_tf",
                json!({"input": "w", "output": "tf", "hash_function": hash_function}),
            );
            let got = read_vectors(&run(&stage, &[("w", tokens())]).unwrap()[0]);
            let a = if hash_function == "murmur3" {
                SPARK3_A
            } else {
                SPARK2_A
            };
            let mut want = vec![(a, 1.0), (EMPTY, 2.0)];
            want.sort_by_key(|e| e.0);
            let (indices, values): (Vec<i32>, Vec<f64>) = want.into_iter().unzip();
            assert_eq!(
                got[0],
                Some(V::Sparse(262144, indices, values)),
                "{hash_function}"
            );
        }
        let small = build(
            "hashing_tf",
            json!({"input": "w", "output": "tf", "num_features": 16}),
        );
        let got = read_vectors(
            &run(
                &small,
                &[("w", str_lists(&[Some(vec![Some(""), None, Some("")])]))],
            )
            .unwrap()[0],
        );
        assert_eq!(got[0], Some(V::Sparse(16, vec![10, 12], vec![1.0, 2.0])));
    }

    const EMPTY: i32 = 249180;
}
