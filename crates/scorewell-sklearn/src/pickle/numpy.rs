//! numpy dtypes and arrays as pickles describe them, decoded from their raw bytes.
//!
//! numpy pickles an array as `_reconstruct(ndarray, (0,), b'b')` then `BUILD (version, shape,
//! dtype, is_fortran, raw bytes | list of objects)`, or with protocol 5 as
//! `_frombuffer(bytearray, dtype, shape, order)`; a dtype as `dtype('f8', False, True)` then
//! `BUILD (3, byteorder, subarray, names, fields, elsize, alignment, flags)`.

use std::rc::Rc;

use super::value::Value;

/// A numpy dtype: enough of it to decode numbers, strings and structured records.
#[derive(Debug, Clone, PartialEq)]
pub struct Dtype {
    /// numpy's kind character: `f` float, `i` signed, `u` unsigned, `b` bool, `O` object,
    /// `U` unicode, `S` bytes, `V` void (structured).
    pub kind: char,
    /// Bytes per element.
    pub itemsize: usize,
    /// Byte order of multi-byte elements (`>` in the state makes this false).
    pub little_endian: bool,
    /// Structured dtypes: `(name, field dtype, byte offset)` in declared order.
    pub fields: Vec<(String, Dtype, usize)>,
}

impl Dtype {
    /// Parse a dtype string as pickles spell it: `f8`, `<i8`, `u1`, `b1`, `O8`, `V64`, `U3`.
    pub fn parse(descr: &str) -> Option<Self> {
        let (little_endian, rest) = match descr.as_bytes().first()? {
            b'<' | b'|' | b'=' => (true, &descr[1..]),
            b'>' => (false, &descr[1..]),
            _ => (true, descr),
        };
        let kind = rest.chars().next()?;
        let size: usize = rest[kind.len_utf8()..].parse().ok()?;
        let itemsize = match kind {
            'f' | 'i' | 'u' | 'b' | 'O' | 'S' | 'V' => size,
            // numpy spells unicode lengths in characters of 4 bytes.
            'U' => size.checked_mul(4)?,
            _ => return None,
        };
        Some(Self {
            kind,
            itemsize,
            little_endian,
            fields: Vec::new(),
        })
    }

    /// A field of a structured dtype.
    pub fn field(&self, name: &str) -> Option<(&Dtype, usize)> {
        self.fields
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, d, o)| (d, *o))
    }

    /// `float64`, `int64`, ... for messages.
    pub fn describe(&self) -> String {
        format!("{}{}", self.kind, self.itemsize)
    }

    /// Decode one element at `bytes[..itemsize]` as a float (numbers and bools only).
    pub fn read_f64(&self, b: &[u8]) -> Option<f64> {
        let le = self.little_endian;
        macro_rules! num {
            ($t:ty, $n:expr) => {{
                let a: [u8; $n] = b.get(..$n)?.try_into().ok()?;
                if le {
                    <$t>::from_le_bytes(a)
                } else {
                    <$t>::from_be_bytes(a)
                }
            }};
        }
        Some(match (self.kind, self.itemsize) {
            ('f', 8) => num!(f64, 8),
            ('f', 4) => num!(f32, 4) as f64,
            ('f', 2) => half_to_f64(num!(u16, 2)),
            ('i', 8) => num!(i64, 8) as f64,
            ('i', 4) => num!(i32, 4) as f64,
            ('i', 2) => num!(i16, 2) as f64,
            ('i', 1) => num!(i8, 1) as f64,
            ('u', 8) => num!(u64, 8) as f64,
            ('u', 4) => num!(u32, 4) as f64,
            ('u', 2) => num!(u16, 2) as f64,
            ('u', 1) | ('b', 1) => *b.first()? as f64,
            _ => return None,
        })
    }

    /// Decode one element as an integer (integers and bools only).
    pub fn read_i64(&self, b: &[u8]) -> Option<i64> {
        match self.kind {
            'i' | 'u' | 'b' => {
                // Every integer of ≤ 53 bits round-trips through f64; wider ones are decoded
                // directly.
                if self.itemsize == 8 {
                    let a: [u8; 8] = b.get(..8)?.try_into().ok()?;
                    let v = if self.little_endian {
                        u64::from_le_bytes(a)
                    } else {
                        u64::from_be_bytes(a)
                    };
                    return if self.kind == 'u' {
                        i64::try_from(v).ok()
                    } else {
                        Some(v as i64)
                    };
                }
                self.read_f64(b).map(|f| f as i64)
            }
            _ => None,
        }
    }
}

/// IEEE half precision to double (numpy `float16`).
fn half_to_f64(h: u16) -> f64 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = ((h >> 10) & 0x1f) as i32;
    let frac = (h & 0x3ff) as f64;
    match exp {
        0 => sign * frac * 2f64.powi(-24),
        31 if frac == 0.0 => sign * f64::INFINITY,
        31 => f64::NAN,
        e => sign * (1.0 + frac / 1024.0) * 2f64.powi(e - 15),
    }
}

/// An array's elements.
#[derive(Debug, Clone)]
pub enum Data {
    /// Raw element bytes in the array's memory order.
    Bytes(Rc<[u8]>),
    /// Python objects (object dtype), in C order.
    Objects(Vec<Value>),
}

/// A numpy array.
#[derive(Debug, Clone)]
pub struct NdArray {
    /// Element type.
    pub dtype: Dtype,
    /// Dimensions.
    pub shape: Vec<usize>,
    /// Column-major memory order (`order='F'`).
    pub fortran: bool,
    /// The elements.
    pub data: Data,
}

impl NdArray {
    /// Number of elements, or `None` when the shape overflows.
    pub fn checked_len(shape: &[usize]) -> Option<usize> {
        shape.iter().try_fold(1usize, |a, d| a.checked_mul(*d))
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        Self::checked_len(&self.shape).unwrap_or(0)
    }

    /// True when the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The storage index of C-order element `i` (differs from `i` for Fortran-order arrays).
    fn storage_index(&self, i: usize) -> usize {
        if !self.fortran || self.shape.len() < 2 {
            return i;
        }
        // Unravel `i` in C order, ravel in Fortran order.
        let mut rest = i;
        let mut index = vec![0usize; self.shape.len()];
        for (d, n) in self.shape.iter().enumerate().rev() {
            index[d] = rest % n.max(&1);
            rest /= n.max(&1);
        }
        let mut at = 0usize;
        let mut stride = 1usize;
        for (d, n) in self.shape.iter().enumerate() {
            at += index[d] * stride;
            stride *= n;
        }
        at
    }

    fn element<'b>(&self, bytes: &'b [u8], i: usize) -> Option<&'b [u8]> {
        let at = self.storage_index(i).checked_mul(self.dtype.itemsize)?;
        bytes.get(at..at.checked_add(self.dtype.itemsize)?)
    }

    /// Every element as a float, in C order (numbers and bools; objects that are numbers).
    pub fn to_f64(&self) -> Option<Vec<f64>> {
        match &self.data {
            Data::Bytes(b) => (0..self.len())
                .map(|i| self.dtype.read_f64(self.element(b, i)?))
                .collect(),
            Data::Objects(v) => v.iter().map(Value::as_f64).collect(),
        }
    }

    /// Every element as an integer, in C order.
    pub fn to_i64(&self) -> Option<Vec<i64>> {
        match &self.data {
            Data::Bytes(b) => (0..self.len())
                .map(|i| self.dtype.read_i64(self.element(b, i)?))
                .collect(),
            Data::Objects(v) => v.iter().map(Value::as_int).collect(),
        }
    }

    /// One field of a 1-D structured array, as floats.
    pub fn field_f64(&self, name: &str) -> Option<Vec<f64>> {
        let (dt, offset) = self.dtype.field(name)?;
        let Data::Bytes(b) = &self.data else {
            return None;
        };
        (0..self.len())
            .map(|i| dt.read_f64(self.element(b, i)?.get(offset..)?))
            .collect()
    }

    /// One field of a 1-D structured array, as integers.
    pub fn field_i64(&self, name: &str) -> Option<Vec<i64>> {
        let (dt, offset) = self.dtype.field(name)?;
        let Data::Bytes(b) = &self.data else {
            return None;
        };
        (0..self.len())
            .map(|i| dt.read_i64(self.element(b, i)?.get(offset..)?))
            .collect()
    }

    /// Unicode (`U`) array elements as strings, trailing NULs removed.
    pub fn unicode_strings(&self) -> Option<Vec<String>> {
        let Data::Bytes(b) = &self.data else {
            return None;
        };
        if self.dtype.kind != 'U' {
            return None;
        }
        (0..self.len())
            .map(|i| {
                let e = self.element(b, i)?;
                let mut s = String::new();
                for c in e.chunks_exact(4) {
                    let a: [u8; 4] = c.try_into().ok()?;
                    let code = if self.dtype.little_endian {
                        u32::from_le_bytes(a)
                    } else {
                        u32::from_be_bytes(a)
                    };
                    if code == 0 {
                        break;
                    }
                    s.push(char::from_u32(code)?);
                }
                Some(s)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtype_strings_parse_with_byte_order_and_unicode_width() {
        let d = Dtype::parse("<f8").expect("f8");
        assert_eq!((d.kind, d.itemsize, d.little_endian), ('f', 8, true));
        assert_eq!(Dtype::parse(">i4").map(|d| d.little_endian), Some(false));
        assert_eq!(Dtype::parse("U3").map(|d| d.itemsize), Some(12));
        assert!(Dtype::parse("x9").is_none());
        assert!(Dtype::parse("f").is_none());
    }

    #[test]
    fn fortran_arrays_read_in_c_order() {
        // [[1, 2, 3], [4, 5, 6]] stored column-major: 1 4 2 5 3 6.
        let bytes: Vec<u8> = [1.0f64, 4.0, 2.0, 5.0, 3.0, 6.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let a = NdArray {
            dtype: Dtype::parse("f8").expect("f8"),
            shape: vec![2, 3],
            fortran: true,
            data: Data::Bytes(bytes.into()),
        };
        assert_eq!(a.to_f64(), Some(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]));
    }

    #[test]
    fn half_floats_decode() {
        assert_eq!(half_to_f64(0x3c00), 1.0);
        assert_eq!(half_to_f64(0xc000), -2.0);
        assert!(half_to_f64(0x7e00).is_nan());
    }
}
