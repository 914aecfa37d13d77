//! The Open Inference Protocol's binary tensor data extension (REST): what `tritonclient` and
//! KServe's client send by default.
//!
//! A request body is a JSON header of `Inference-Header-Content-Length` bytes followed by raw
//! tensor data. An input whose `parameters` hold `binary_data_size` has no `data`: its values
//! are the next that many bytes, little-endian, row-major, no padding — BOOL one byte each,
//! BYTES a 4-byte little-endian length then the bytes. Outputs asked for with
//! `"parameters": {"binary_data": true}` (or all of them, with the request parameter
//! `binary_data_output`) come back the same way: the answer's JSON names each one's
//! `binary_data_size`, and the answer carries the header with the JSON's length.
//!
//! Decoded values go through the same column builder as JSON values, so a binary request
//! scores exactly as the same tensors sent as JSON.

use std::borrow::Cow;

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrowPrimitiveType};
use arrow_buffer::ToByteSlice;
use arrow_schema::DataType;
use axum::http::HeaderMap;

use super::Value;
use crate::error::ApiError;

/// IEEE half precision (arrow's `f16`, from the `half` crate).
type F16 = <Float16Type as ArrowPrimitiveType>::Native;

/// The header giving the length of a body's JSON part.
pub(crate) const HEADER_LENGTH: &str = "inference-header-content-length";

/// The JSON part's length from the request headers, if the body carries binary data.
pub(crate) fn header_length(headers: &HeaderMap) -> Result<Option<usize>, ApiError> {
    let Some(value) = headers.get(HEADER_LENGTH) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .map(Some)
        .ok_or_else(|| {
            ApiError::InvalidRequest(format!(
                "header Inference-Header-Content-Length is not a byte count: {value:?}"
            ))
        })
}

/// `body` split into its JSON header and the binary data after it.
pub(crate) fn split(body: &[u8], header_len: usize) -> Result<(&[u8], &[u8]), ApiError> {
    if header_len > body.len() {
        return Err(ApiError::InvalidRequest(format!(
            "Inference-Header-Content-Length is {header_len} but the body has {} bytes",
            body.len()
        )));
    }
    Ok(body.split_at(header_len))
}

/// Bytes per element of a fixed-size datatype (`None`: BYTES, or unknown).
fn element_size(datatype: &str) -> Option<usize> {
    Some(match datatype {
        "BOOL" | "INT8" | "UINT8" => 1,
        "INT16" | "UINT16" | "FP16" => 2,
        "INT32" | "UINT32" | "FP32" => 4,
        "INT64" | "UINT64" | "FP64" => 8,
        _ => return None,
    })
}

/// The `count` values of input `name`'s binary data.
pub(crate) fn decode<'a>(
    name: &str,
    datatype: &str,
    data: &'a [u8],
    count: usize,
) -> Result<Vec<Value<'a>>, String> {
    let Some(size) = element_size(datatype) else {
        return decode_bytes(name, data, count);
    };
    let need = count.saturating_mul(size);
    if data.len() != need {
        return Err(format!(
            "input `{name}`: {count} {datatype} values take {need} bytes, binary_data_size is {}",
            data.len()
        ));
    }
    let chunks = data.chunks_exact(size);
    macro_rules! le {
        ($t:ty) => {
            chunks
                .map(|c| {
                    let mut b = [0u8; std::mem::size_of::<$t>()];
                    b.copy_from_slice(c);
                    Value::Num(<$t>::from_le_bytes(b) as f64)
                })
                .collect()
        };
    }
    Ok(match datatype {
        "BOOL" => chunks.map(|c| Value::Bool(c[0] != 0)).collect(),
        "INT8" => le!(i8),
        "UINT8" => le!(u8),
        "INT16" => le!(i16),
        "UINT16" => le!(u16),
        "INT32" => le!(i32),
        "UINT32" => le!(u32),
        "INT64" => le!(i64),
        "UINT64" => le!(u64),
        "FP32" => le!(f32),
        "FP64" => le!(f64),
        // FP16: the half's bits, widened exactly.
        _ => chunks
            .map(|c| Value::Num(F16::from_le_bytes([c[0], c[1]]).to_f64()))
            .collect(),
    })
}

/// BYTES elements: each a 4-byte little-endian length, then that many bytes (UTF-8 here: the
/// models read strings).
fn decode_bytes<'a>(
    name: &str,
    mut data: &'a [u8],
    count: usize,
) -> Result<Vec<Value<'a>>, String> {
    // Each element takes at least its 4-byte length: a count the data cannot hold is refused
    // before anything is allocated for it.
    if count > data.len() / 4 {
        return Err(format!(
            "input `{name}`: {count} BYTES elements need at least {} bytes, binary_data_size is {}",
            count.saturating_mul(4),
            data.len()
        ));
    }
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let truncated = || format!("input `{name}`: BYTES element {i} is cut short");
        let (len, rest) = data.split_first_chunk::<4>().ok_or_else(truncated)?;
        let len = u32::from_le_bytes(*len) as usize;
        if rest.len() < len {
            return Err(truncated());
        }
        let (bytes, rest) = rest.split_at(len);
        let text = std::str::from_utf8(bytes)
            .map_err(|_| format!("input `{name}`: BYTES element {i} is not UTF-8 text"))?;
        out.push(Value::Str(Cow::Borrowed(text)));
        data = rest;
    }
    if !data.is_empty() {
        return Err(format!(
            "input `{name}`: {} bytes left after its {count} BYTES elements",
            data.len()
        ));
    }
    Ok(out)
}

/// `array` as binary tensor data of the datatype [`super::kserve_v2::datatype`] names for it;
/// `None` for types with no binary form here (then the tensor is sent as JSON). A missing
/// value has no binary form: NaN for floats, 0 or `false` for integers and booleans, an empty
/// string for BYTES.
pub(crate) fn encode(array: &dyn Array) -> Option<Vec<u8>> {
    fn prim<T: ArrowPrimitiveType>(array: &dyn Array, missing: T::Native) -> Vec<u8> {
        let a = array.as_primitive::<T>();
        let mut out = Vec::with_capacity(a.len() * std::mem::size_of::<T::Native>());
        for i in 0..a.len() {
            let v = if a.is_null(i) { missing } else { a.value(i) };
            out.extend_from_slice(v.to_byte_slice());
        }
        out
    }
    Some(match array.data_type() {
        DataType::Float64 => prim::<Float64Type>(array, f64::NAN),
        DataType::Float32 => prim::<Float32Type>(array, f32::NAN),
        DataType::Float16 => prim::<Float16Type>(array, F16::NAN),
        DataType::Int8 => prim::<Int8Type>(array, 0),
        DataType::Int16 => prim::<Int16Type>(array, 0),
        DataType::Int32 => prim::<Int32Type>(array, 0),
        DataType::Int64 => prim::<Int64Type>(array, 0),
        DataType::UInt8 => prim::<UInt8Type>(array, 0),
        DataType::UInt16 => prim::<UInt16Type>(array, 0),
        DataType::UInt32 => prim::<UInt32Type>(array, 0),
        DataType::UInt64 => prim::<UInt64Type>(array, 0),
        DataType::Boolean => {
            let a = array.as_boolean();
            (0..a.len())
                .map(|i| u8::from(a.is_valid(i) && a.value(i)))
                .collect()
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Dictionary(_, _) => {
            let text = arrow_cast::cast(array, &DataType::Utf8).ok()?;
            let text = text.as_string::<i32>();
            let mut out = Vec::with_capacity(text.value_data().len() + 4 * text.len());
            for i in 0..text.len() {
                let s = if text.is_null(i) { "" } else { text.value(i) };
                out.extend_from_slice(&(s.len() as u32).to_le_bytes());
                out.extend_from_slice(s.as_bytes());
            }
            out
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int32Array, StringArray};

    use super::*;

    #[test]
    fn every_fixed_size_datatype_decodes_little_endian() {
        assert_eq!(
            decode("x", "INT16", &[1, 0, 0xff, 0xff], 2).unwrap(),
            vec![Value::Num(1.0), Value::Num(-1.0)]
        );
        let f = 1.5f32.to_le_bytes();
        assert_eq!(decode("x", "FP32", &f, 1).unwrap(), vec![Value::Num(1.5)]);
        let h = F16::from_f32(-2.0).to_le_bytes();
        assert_eq!(decode("x", "FP16", &h, 1).unwrap(), vec![Value::Num(-2.0)]);
        assert_eq!(
            decode("x", "BOOL", &[1, 0], 2).unwrap(),
            vec![Value::Bool(true), Value::Bool(false)]
        );
        let u = u64::MAX.to_le_bytes();
        assert_eq!(
            decode("x", "UINT64", &u, 1).unwrap(),
            vec![Value::Num(u64::MAX as f64)]
        );
        let err = decode("x", "FP64", &[0; 12], 2).unwrap_err();
        assert_eq!(
            err,
            "input `x`: 2 FP64 values take 16 bytes, binary_data_size is 12"
        );
    }

    #[test]
    fn bytes_elements_are_length_prefixed_and_checked() {
        let mut data = Vec::new();
        for s in ["NL", "", "web"] {
            data.extend_from_slice(&(s.len() as u32).to_le_bytes());
            data.extend_from_slice(s.as_bytes());
        }
        let strs = |v: Vec<Value<'_>>| -> Vec<String> {
            v.into_iter()
                .map(|v| match v {
                    Value::Str(s) => s.into_owned(),
                    other => panic!("{other:?}"),
                })
                .collect()
        };
        assert_eq!(
            strs(decode("c", "BYTES", &data, 3).unwrap()),
            ["NL", "", "web"]
        );
        assert!(
            decode("c", "BYTES", &data[..data.len() - 1], 3)
                .unwrap_err()
                .contains("element 2 is cut short")
        );
        assert!(
            decode("c", "BYTES", &data, 2)
                .unwrap_err()
                .contains("7 bytes left after its 2")
        );
        assert!(
            decode("c", "BYTES", &[0xff; 8], 1_000_000)
                .unwrap_err()
                .contains("need at least")
        );
        let bad = [1, 0, 0, 0, 0xff];
        assert!(
            decode("c", "BYTES", &bad, 1)
                .unwrap_err()
                .contains("not UTF-8")
        );
    }

    #[test]
    fn outputs_encode_with_their_missing_values_marked() {
        let f: ArrayRef = Arc::new(Float64Array::from(vec![Some(0.25), None]));
        let bytes = encode(f.as_ref()).unwrap();
        assert_eq!(&bytes[..8], &0.25f64.to_le_bytes());
        assert!(f64::from_le_bytes(bytes[8..].try_into().unwrap()).is_nan());
        let i: ArrayRef = Arc::new(Int32Array::from(vec![Some(-2), None]));
        assert_eq!(
            encode(i.as_ref()).unwrap(),
            [0xfe, 0xff, 0xff, 0xff, 0, 0, 0, 0]
        );
        let b: ArrayRef = Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)]));
        assert_eq!(encode(b.as_ref()).unwrap(), [1, 0, 0]);
        let s: ArrayRef = Arc::new(StringArray::from(vec![Some("ok"), None]));
        assert_eq!(
            encode(s.as_ref()).unwrap(),
            [2, 0, 0, 0, b'o', b'k', 0, 0, 0, 0]
        );
    }

    #[test]
    fn the_header_length_must_fit_the_body() {
        assert_eq!(split(b"{}abc", 2).unwrap(), (&b"{}"[..], &b"abc"[..]));
        assert!(split(b"{}", 3).is_err());
        let mut headers = HeaderMap::new();
        assert_eq!(header_length(&headers).unwrap(), None);
        headers.insert(HEADER_LENGTH, "12".parse().unwrap());
        assert_eq!(header_length(&headers).unwrap(), Some(12));
        headers.insert(HEADER_LENGTH, "twelve".parse().unwrap());
        assert!(header_length(&headers).is_err());
    }
}
