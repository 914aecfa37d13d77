//! A small Universal Binary JSON reader (<https://ubjson.org>, draft 12, big-endian), enough
//! for what XGBoost's `src/common/json.cc` (`UBJReader`/`UBJWriter`) writes: typed and counted
//! containers (`[$d#L…`, `{L…`), `Z N T F i U I l L d D C S H`, and keys without an `S` marker.
//!
//! Every read is bounds-checked; a truncated or corrupt file gives an error with a byte offset.

use crate::doc::Doc;

/// Containers nested deeper than this are refused (a hostile file could otherwise overflow the
/// stack); XGBoost models nest about 8 deep.
const MAX_DEPTH: usize = 128;

/// Parse one UBJSON value that fills `bytes` (trailing `N` no-ops are allowed).
pub(crate) fn parse(bytes: &[u8]) -> Result<Doc, String> {
    let mut r = Reader { bytes, pos: 0 };
    let marker = r.marker("the top-level value")?;
    let doc = r.value(marker, 0)?;
    while r.pos < bytes.len() {
        if bytes[r.pos] != b'N' {
            return Err(format!(
                "unexpected data after the end of the document at byte {}",
                r.pos
            ));
        }
        r.pos += 1;
    }
    Ok(doc)
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        match end {
            Some(end) => {
                let s = &self.bytes[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(format!(
                "truncated UBJSON: {what} at byte {} needs {n} bytes but the file ends at byte {}",
                self.pos,
                self.bytes.len()
            )),
        }
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], String> {
        let s = self.take(N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    /// Next marker, skipping `N` no-ops.
    fn marker(&mut self, what: &str) -> Result<u8, String> {
        loop {
            let m = self.array::<1>(what)?[0];
            if m != b'N' {
                return Ok(m);
            }
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// An integer value introduced by `marker` (a length, a count, or a value).
    fn int(&mut self, marker: u8) -> Result<Option<i64>, String> {
        Ok(Some(match marker {
            b'i' => i8::from_be_bytes(self.array("an int8")?) as i64,
            b'U' => u8::from_be_bytes(self.array("a uint8")?) as i64,
            b'I' => i16::from_be_bytes(self.array("an int16")?) as i64,
            b'l' => i32::from_be_bytes(self.array("an int32")?) as i64,
            b'L' => i64::from_be_bytes(self.array("an int64")?),
            _ => return Ok(None),
        }))
    }

    /// A non-negative length or count.
    fn length(&mut self, what: &str) -> Result<usize, String> {
        let at = self.pos;
        let m = self.marker(what)?;
        match self.int(m)? {
            Some(n) if n >= 0 => {
                usize::try_from(n).map_err(|_| format!("{what} at byte {at} is too large: {n}"))
            }
            Some(n) => Err(format!("{what} at byte {at} is negative: {n}")),
            None => Err(format!(
                "{what} at byte {at} should be an integer marker, got {}",
                show(m)
            )),
        }
    }

    fn string(&mut self, what: &str) -> Result<String, String> {
        let n = self.length(what)?;
        let at = self.pos;
        let raw = self.take(n, what)?;
        String::from_utf8(raw.to_vec())
            .map_err(|_| format!("{what} at byte {at} is not valid UTF-8"))
    }

    fn value(&mut self, marker: u8, depth: usize) -> Result<Doc, String> {
        let at = self.pos.saturating_sub(1);
        if let Some(i) = self.int(marker)? {
            return Ok(Doc::Int(i));
        }
        Ok(match marker {
            b'Z' => Doc::Null,
            b'T' => Doc::Bool(true),
            b'F' => Doc::Bool(false),
            b'd' => Doc::Float(f32::from_be_bytes(self.array("a float32")?) as f64),
            b'D' => Doc::Float(f64::from_be_bytes(self.array("a float64")?)),
            b'C' => Doc::Str(char::from(self.array::<1>("a char")?[0]).to_string()),
            b'S' => Doc::Str(self.string("a string")?),
            b'H' => {
                let s = self.string("a high-precision number")?;
                match s.parse::<i64>() {
                    Ok(i) => Doc::Int(i),
                    Err(_) => Doc::Float(s.parse::<f64>().map_err(|_| {
                        format!("high-precision number at byte {at} is not a number: {s:?}")
                    })?),
                }
            }
            b'[' => self.array_value(depth + 1, at)?,
            b'{' => self.object_value(depth + 1, at)?,
            other => {
                return Err(format!(
                    "unknown UBJSON marker {} at byte {at}",
                    show(other)
                ));
            }
        })
    }

    /// The optional `$type` and `#count` after `[` or `{`.
    fn container_header(&mut self, at: usize) -> Result<(Option<u8>, Option<usize>), String> {
        let mut ty = None;
        if self.peek() == Some(b'$') {
            self.pos += 1;
            ty = Some(self.array::<1>("a container element type")?[0]);
            if self.peek() != Some(b'#') {
                return Err(format!(
                    "container at byte {at} has a `$` type but no `#` count"
                ));
            }
        }
        let mut count = None;
        if self.peek() == Some(b'#') {
            self.pos += 1;
            let n = self.length("a container count")?;
            // Each element takes at least one byte unless its type has no payload.
            let min_size = match ty {
                Some(b'Z' | b'T' | b'F' | b'N') => 0,
                _ => 1,
            };
            let remaining = self.bytes.len().saturating_sub(self.pos);
            if (min_size > 0 && n > remaining) || n > self.bytes.len() {
                return Err(format!(
                    "truncated UBJSON: container at byte {at} declares {n} elements but only {remaining} bytes remain"
                ));
            }
            count = Some(n);
        }
        Ok((ty, count))
    }

    fn check_depth(&self, depth: usize, at: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            Err(format!(
                "containers nested more than {MAX_DEPTH} deep at byte {at}"
            ))
        } else {
            Ok(())
        }
    }

    fn array_value(&mut self, depth: usize, at: usize) -> Result<Doc, String> {
        self.check_depth(depth, at)?;
        let (ty, count) = self.container_header(at)?;
        match (ty, count) {
            (Some(t), Some(n)) => self.typed_array(t, n, depth, at),
            (None, Some(n)) => {
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    let m = self.marker("an array element")?;
                    items.push(self.value(m, depth)?);
                }
                Ok(Doc::Array(items))
            }
            _ => {
                let mut items = Vec::new();
                loop {
                    let m = self.marker("an array element or `]`")?;
                    if m == b']' {
                        return Ok(Doc::Array(items));
                    }
                    items.push(self.value(m, depth)?);
                }
            }
        }
    }

    fn typed_array(&mut self, t: u8, n: usize, depth: usize, at: usize) -> Result<Doc, String> {
        fn fixed<'a, const N: usize, T>(
            r: &mut Reader<'a>,
            n: usize,
            at: usize,
            conv: impl Fn([u8; N]) -> T,
        ) -> Result<Vec<T>, String> {
            let total = n
                .checked_mul(N)
                .ok_or_else(|| format!("typed array at byte {at} is too large"))?;
            let raw = r.take(total, "a typed array's elements")?;
            Ok(raw
                .chunks_exact(N)
                .map(|c| {
                    let mut a = [0u8; N];
                    a.copy_from_slice(c);
                    conv(a)
                })
                .collect())
        }
        Ok(match t {
            b'd' => Doc::F32s(fixed(self, n, at, f32::from_be_bytes)?),
            b'D' => Doc::F64s(fixed(self, n, at, f64::from_be_bytes)?),
            b'i' => Doc::Ints(fixed(self, n, at, |a: [u8; 1]| {
                i8::from_be_bytes(a) as i64
            })?),
            b'U' => Doc::Ints(fixed(self, n, at, |a: [u8; 1]| a[0] as i64)?),
            b'I' => Doc::Ints(fixed(self, n, at, |a: [u8; 2]| {
                i16::from_be_bytes(a) as i64
            })?),
            b'l' => Doc::Ints(fixed(self, n, at, |a: [u8; 4]| {
                i32::from_be_bytes(a) as i64
            })?),
            b'L' => Doc::Ints(fixed(self, n, at, i64::from_be_bytes)?),
            b'Z' | b'T' | b'F' => {
                let v = self.value(t, depth)?;
                Doc::Array(vec![v; n])
            }
            other => {
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.value(other, depth)?);
                }
                Doc::Array(items)
            }
        })
    }

    fn object_value(&mut self, depth: usize, at: usize) -> Result<Doc, String> {
        self.check_depth(depth, at)?;
        let (ty, count) = self.container_header(at)?;
        let mut members = Vec::with_capacity(count.unwrap_or(0));
        let mut member = |r: &mut Self| -> Result<(), String> {
            let key = r.string("an object key")?;
            let m = match ty {
                Some(t) => t,
                None => r.marker("an object value")?,
            };
            let v = r.value(m, depth)?;
            members.push((key, v));
            Ok(())
        };
        match count {
            Some(n) => {
                for _ in 0..n {
                    member(self)?;
                }
            }
            None => loop {
                // Skip no-ops, then look for the end of the object.
                while self.peek() == Some(b'N') {
                    self.pos += 1;
                }
                match self.peek() {
                    Some(b'}') => {
                        self.pos += 1;
                        break;
                    }
                    Some(_) => member(self)?,
                    None => {
                        return Err(format!(
                            "truncated UBJSON: object starting at byte {at} is not closed before the end of the file"
                        ));
                    }
                }
            },
        }
        Ok(Doc::Object(members))
    }
}

fn show(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("`{}`", b as char)
    } else {
        format!("0x{b:02x}")
    }
}
