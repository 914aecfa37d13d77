//! Just enough of Thrift's compact protocol to read a Parquet page header's sizes and its
//! length, without the parquet crate (whose header reader is private and which allocates a
//! page's declared size before it decompresses it).
//!
//! Every length and count is checked against the bytes left before anything is skipped, so
//! a forged count costs one comparison, not a loop: each element takes at least one byte.

/// A page header's fields that size what a reader allocates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PageSizes {
    /// The header's own length in bytes (the page's data follows it).
    pub header_len: usize,
    /// `uncompressed_page_size` (field 2).
    pub uncompressed: i64,
    /// `compressed_page_size` (field 3).
    pub compressed: i64,
}

/// Nesting deeper than any Parquet header: a forged header cannot recurse without bound.
const MAX_DEPTH: usize = 32;

/// Reads the page header at the start of `buf`: `None` when it is not a well-formed compact
/// struct or lacks either size.
pub(crate) fn page_header(buf: &[u8]) -> Option<PageSizes> {
    let mut r = Reader { buf, pos: 0 };
    let (mut uncompressed, mut compressed) = (None, None);
    let mut last = 0i16;
    loop {
        let (id, ty) = match r.field_header(&mut last)? {
            None => break,
            Some(f) => f,
        };
        match (id, ty) {
            (2, I32) => uncompressed = Some(r.zigzag()?),
            (3, I32) => compressed = Some(r.zigzag()?),
            _ => r.skip(ty, 0)?,
        }
    }
    Some(PageSizes {
        header_len: r.pos,
        uncompressed: uncompressed?,
        compressed: compressed?,
    })
}

const BOOL_TRUE: u8 = 1;
const BOOL_FALSE: u8 = 2;
const BYTE: u8 = 3;
const I16: u8 = 4;
const I32: u8 = 5;
const I64: u8 = 6;
const DOUBLE: u8 = 7;
const BINARY: u8 = 8;
const LIST: u8 = 9;
const SET: u8 = 10;
const MAP: u8 = 11;
const STRUCT: u8 = 12;
const UUID: u8 = 13;

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn left(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn advance(&mut self, n: usize) -> Option<()> {
        (n <= self.left()).then(|| self.pos += n)
    }

    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..70).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f).checked_shl(shift)?;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    fn zigzag(&mut self) -> Option<i64> {
        let v = self.varint()?;
        Some((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    /// The next field's id and type, `None` at the struct's end.
    fn field_header(&mut self, last: &mut i16) -> Option<Option<(i16, u8)>> {
        let b = self.byte()?;
        if b == 0 {
            return Some(None);
        }
        let ty = b & 0x0f;
        let delta = i16::from(b >> 4);
        let id = if delta == 0 {
            i16::try_from(self.zigzag()?).ok()?
        } else {
            last.checked_add(delta)?
        };
        *last = id;
        Some(Some((id, ty)))
    }

    /// A collection's element count, which the bytes left must be able to hold.
    fn count(&mut self, n: u64) -> Option<usize> {
        usize::try_from(n).ok().filter(|&n| n <= self.left())
    }

    /// Skips one value of type `ty` (in a field: booleans carry no byte there).
    fn skip(&mut self, ty: u8, depth: usize) -> Option<()> {
        match ty {
            BOOL_TRUE | BOOL_FALSE => Some(()),
            _ => self.skip_value(ty, depth),
        }
    }

    /// Skips one value of type `ty` as an element of a collection (booleans take a byte).
    fn skip_value(&mut self, ty: u8, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match ty {
            BOOL_TRUE | BOOL_FALSE | BYTE => self.advance(1),
            I16 | I32 | I64 => self.varint().map(drop),
            DOUBLE => self.advance(8),
            UUID => self.advance(16),
            BINARY => {
                let n = self.varint()?;
                let n = self.count(n)?;
                self.advance(n)
            }
            LIST | SET => {
                let h = self.byte()?;
                let n = match h >> 4 {
                    15 => self.varint()?,
                    n => u64::from(n),
                };
                let n = self.count(n)?;
                for _ in 0..n {
                    self.skip_value(h & 0x0f, depth + 1)?;
                }
                Some(())
            }
            MAP => {
                let n = self.varint()?;
                let n = self.count(n)?;
                if n == 0 {
                    return Some(());
                }
                let kv = self.byte()?;
                for _ in 0..n {
                    self.skip_value(kv >> 4, depth + 1)?;
                    self.skip_value(kv & 0x0f, depth + 1)?;
                }
                Some(())
            }
            STRUCT => {
                let mut last = 0i16;
                while let Some((_, t)) = self.field_header(&mut last)? {
                    self.skip(t, depth + 1)?;
                }
                Some(())
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varint(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    fn zigzag(v: i64, out: &mut Vec<u8>) {
        varint(((v << 1) ^ (v >> 63)) as u64, out);
    }

    /// A dictionary page header as writers lay it out: type, sizes, then a nested struct with
    /// a count, an encoding and a boolean.
    fn header(uncompressed: i64, compressed: i64) -> Vec<u8> {
        let mut h = vec![0x15];
        zigzag(2, &mut h); // type DICTIONARY_PAGE
        h.push(0x15);
        zigzag(uncompressed, &mut h);
        h.push(0x15);
        zigzag(compressed, &mut h);
        h.push(0x4c); // field 7 (delta 4), a struct
        h.push(0x15);
        zigzag(10, &mut h); // num_values
        h.push(0x15);
        zigzag(0, &mut h); // encoding PLAIN
        h.push(0x11); // is_sorted = true
        h.push(0); // end of dictionary_page_header
        h.push(0); // end of PageHeader
        h
    }

    #[test]
    fn reads_the_sizes_and_the_length_of_a_header() {
        let mut bytes = header(2_000_000_000, 12);
        let len = bytes.len();
        bytes.extend_from_slice(&[7; 12]);
        assert_eq!(
            page_header(&bytes),
            Some(PageSizes {
                header_len: len,
                uncompressed: 2_000_000_000,
                compressed: 12
            })
        );
    }

    #[test]
    fn truncated_or_forged_headers_are_none_at_once() {
        let bytes = header(100, 12);
        for cut in 0..bytes.len() {
            assert_eq!(page_header(&bytes[..cut]), None, "cut at {cut}");
        }
        // A binary field declaring 2^60 bytes, and a list of 2^60 booleans.
        let mut forged = vec![0x18];
        varint(1 << 60, &mut forged);
        assert_eq!(page_header(&forged), None);
        let mut forged = vec![0x19, 0xf1];
        varint(1 << 60, &mut forged);
        assert_eq!(page_header(&forged), None);
        // Structs nested past any real header.
        let forged = vec![0x1c; 1000];
        assert_eq!(page_header(&forged), None);
    }
}
