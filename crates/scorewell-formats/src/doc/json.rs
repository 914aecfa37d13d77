//! A lenient JSON reader: standard JSON plus the bare `NaN`, `Infinity` and `-Infinity` that
//! strict parsers such as `serde_json` refuse. XGBoost's writer (`src/common/json.cc`) emits them
//! for non-finite floats (1.x writes `NaN` as the threshold of categorical splits; multi-target
//! trees carry it too), and Python's `json.dumps` (LightGBM's `pandas_categorical` line) writes
//! them too.

use std::fmt;

use super::Doc;

/// Nesting deeper than this is refused rather than risk the stack; models nest about 8 deep.
const MAX_DEPTH: usize = 128;

/// Where and why reading stopped. `Display` gives the full message with line, column and byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JsonError {
    /// Byte offset into the input.
    pub(crate) offset: usize,
    /// 1-based line.
    pub(crate) line: usize,
    /// 1-based column, in bytes.
    pub(crate) column: usize,
    /// What is wrong, without the position.
    pub(crate) message: String,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid JSON at line {}, column {} (byte {}): {}",
            self.line, self.column, self.offset, self.message
        )
    }
}

/// Parse one JSON value filling `bytes` (surrounding whitespace allowed).
pub(crate) fn parse(bytes: &[u8]) -> Result<Doc, JsonError> {
    let mut p = Parser { b: bytes, pos: 0 };
    let v = p.value(0).map_err(|m| p.locate(m))?;
    p.ws();
    if p.pos < bytes.len() {
        return Err(p.locate("unexpected data after the end of the document".into()));
    }
    Ok(v)
}

struct Parser<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn locate(&self, message: String) -> JsonError {
        let upto = &self.b[..self.pos.min(self.b.len())];
        let line = upto.iter().filter(|&&c| c == b'\n').count() + 1;
        let column = upto.len() - upto.iter().rposition(|&c| c == b'\n').map_or(0, |i| i + 1) + 1;
        JsonError {
            offset: self.pos,
            line,
            column,
            message,
        }
    }

    fn ws(&mut self) {
        while let Some(c) = self.b.get(self.pos) {
            if matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn eat(&mut self, lit: &str) -> bool {
        if self.b[self.pos.min(self.b.len())..].starts_with(lit.as_bytes()) {
            self.pos += lit.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<Doc, String> {
        self.ws();
        let Some(c) = self.peek() else {
            return Err("unexpected end of input, expected a value".into());
        };
        match c {
            b'{' => self.object(depth + 1),
            b'[' => self.array(depth + 1),
            b'"' => Ok(Doc::Str(self.string()?)),
            b't' if self.eat("true") => Ok(Doc::Bool(true)),
            b'f' if self.eat("false") => Ok(Doc::Bool(false)),
            b'n' if self.eat("null") => Ok(Doc::Null),
            b'N' if self.eat("NaN") => Ok(Doc::Float(f64::NAN)),
            b'I' if self.eat("Infinity") => Ok(Doc::Float(f64::INFINITY)),
            b'-' if self.eat("-Infinity") => Ok(Doc::Float(f64::NEG_INFINITY)),
            b'-' | b'0'..=b'9' => self.number(),
            _ => Err(format!("unexpected `{}`", char::from(c).escape_debug())),
        }
    }

    fn number(&mut self) -> Result<Doc, String> {
        let start = self.pos;
        let mut float = false;
        while let Some(c) = self.peek() {
            match c {
                b'0'..=b'9' | b'-' | b'+' => {}
                b'.' | b'e' | b'E' => float = true,
                _ => break,
            }
            self.pos += 1;
        }
        // The slice holds only ASCII digits and signs, so it is valid UTF-8.
        let text = std::str::from_utf8(&self.b[start..self.pos]).unwrap_or("");
        if !float && let Ok(i) = text.parse::<i64>() {
            return Ok(Doc::Int(i));
        }
        text.parse::<f64>()
            .map(Doc::Float)
            .map_err(|_| format!("malformed number {text:?}"))
    }

    fn string(&mut self) -> Result<String, String> {
        self.pos += 1; // opening quote
        let mut out = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                return Err("unterminated string".into());
            };
            self.pos += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let Some(e) = self.peek() else {
                        return Err("unterminated string escape".into());
                    };
                    self.pos += 1;
                    let ch = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        other => return Err(format!("invalid escape \\{}", char::from(other))),
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                _ => out.push(c),
            }
        }
        String::from_utf8(out).map_err(|_| "string is not valid UTF-8".into())
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let digits = self
            .b
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| "truncated \\u escape".to_string())?;
        let s = std::str::from_utf8(digits).map_err(|_| "invalid \\u escape".to_string())?;
        let v = u32::from_str_radix(s, 16).map_err(|_| format!("invalid \\u escape {s:?}"))?;
        self.pos += 4;
        Ok(v)
    }

    fn unicode_escape(&mut self) -> Result<char, String> {
        let hi = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&hi) && self.eat("\\u") {
            let lo = self.hex4()?;
            if !(0xDC00..0xE000).contains(&lo) {
                return Err("invalid surrogate pair".into());
            }
            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
        } else {
            hi
        };
        Ok(char::from_u32(code).unwrap_or('\u{FFFD}'))
    }

    fn check_depth(&self, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            Err(format!("nested more than {MAX_DEPTH} deep"))
        } else {
            Ok(())
        }
    }

    fn array(&mut self, depth: usize) -> Result<Doc, String> {
        self.check_depth(depth)?;
        self.pos += 1;
        let mut items = Vec::new();
        self.ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Doc::Array(items));
        }
        loop {
            items.push(self.value(depth)?);
            self.ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Doc::Array(items));
                }
                Some(c) => {
                    return Err(format!(
                        "expected `,` or `]` in an array, got {:?}",
                        char::from(c)
                    ));
                }
                None => return Err("unexpected end of input inside an array".into()),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Doc, String> {
        self.check_depth(depth)?;
        self.pos += 1;
        let mut members = Vec::new();
        self.ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Doc::Object(members));
        }
        loop {
            self.ws();
            match self.peek() {
                Some(b'"') => {}
                Some(c) => return Err(format!("expected a member name, got {:?}", char::from(c))),
                None => return Err("unexpected end of input inside an object".into()),
            }
            let key = self.string()?;
            self.ws();
            if self.peek() != Some(b':') {
                return Err(format!("expected `:` after member name {key:?}"));
            }
            self.pos += 1;
            let v = self.value(depth)?;
            members.push((key, v));
            self.ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Doc::Object(members));
                }
                Some(c) => {
                    return Err(format!(
                        "expected `,` or `}}` in an object, got {:?}",
                        char::from(c)
                    ));
                }
                None => return Err("unexpected end of input inside an object".into()),
            }
        }
    }
}
