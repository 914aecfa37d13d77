//! The `pandas_categorical:` line the Python package appends (`_dump_pandas_categorical` in
//! `python-package/lightgbm/basic.py`): `null`, or a JSON list with one list of category values
//! per pandas `category` column, in column order. A value's position in its list is the code
//! LightGBM sees.
//!
//! Only that shape is read, so a small JSON reader suffices. Values become the strings Python's
//! `str()` gives: `json.dumps` writes numbers with `repr`, which is what `str()` prints, so the
//! number text is kept as is (`NaN`/`Infinity` become `nan`/`inf`); `true` → `True`,
//! `null` → `None`.

/// The category lists, or None for `null`. The error says what is wrong (the caller adds where).
pub(super) fn parse(text: &str) -> Result<Option<Vec<Vec<String>>>, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    p.ws();
    let out = if p.eat_word("null") {
        None
    } else {
        p.expect(b'[')?;
        let mut lists = Vec::new();
        p.ws();
        if !p.eat(b']') {
            loop {
                p.ws();
                lists.push(p.list()?);
                p.ws();
                if p.eat(b']') {
                    break;
                }
                p.expect(b',')?;
            }
        }
        Some(lists)
    };
    p.ws();
    if p.i != p.s.len() {
        return Err(format!("unexpected text at character {}", p.i + 1));
    }
    Ok(out)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn eat_word(&mut self, w: &str) -> bool {
        if self.s.get(self.i..self.i + w.len()) == Some(w.as_bytes()) {
            self.i += w.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, b: u8) -> Result<(), String> {
        if self.eat(b) {
            Ok(())
        } else {
            Err(match self.peek() {
                Some(c) => format!(
                    "expected `{}` at character {}, found `{}`",
                    b as char,
                    self.i + 1,
                    c as char
                ),
                None => format!("expected `{}`, found the end of the line", b as char),
            })
        }
    }

    /// `[v, v, ...]` of scalars.
    fn list(&mut self) -> Result<Vec<String>, String> {
        self.expect(b'[')?;
        let mut out = Vec::new();
        self.ws();
        if self.eat(b']') {
            return Ok(out);
        }
        loop {
            self.ws();
            out.push(self.scalar()?);
            self.ws();
            if self.eat(b']') {
                return Ok(out);
            }
            self.expect(b',')?;
        }
    }

    fn scalar(&mut self) -> Result<String, String> {
        for (word, text) in [
            ("null", "None"),
            ("true", "True"),
            ("false", "False"),
            ("NaN", "nan"),
            ("Infinity", "inf"),
            ("-Infinity", "-inf"),
        ] {
            if self.eat_word(word) {
                return Ok(text.to_string());
            }
        }
        match self.peek() {
            Some(b'"') => self.string(),
            Some(b'-' | b'0'..=b'9') => {
                let start = self.i;
                while matches!(
                    self.peek(),
                    Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                ) {
                    self.i += 1;
                }
                let tok = std::str::from_utf8(self.s.get(start..self.i).unwrap_or_default())
                    .unwrap_or_default();
                if tok.parse::<f64>().is_err() {
                    return Err(format!("`{tok}` is not a number"));
                }
                Ok(tok.to_string())
            }
            Some(c) => Err(format!(
                "unexpected `{}` at character {} (expected a category value)",
                c as char,
                self.i + 1
            )),
            None => Err("the line ends inside a category list".into()),
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.expect(b'"')?;
        let mut bytes = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                return Err("the line ends inside a string".into());
            };
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let Some(e) = self.peek() else {
                        return Err("the line ends inside a string".into());
                    };
                    self.i += 1;
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
                        other => return Err(format!("bad escape `\\{}`", other as char)),
                    };
                    let mut buf = [0u8; 4];
                    bytes.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                other => bytes.push(other),
            }
        }
        String::from_utf8(bytes).map_err(|_| "a string is not valid UTF-8".to_string())
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let digits = self
            .s
            .get(self.i..self.i + 4)
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| u32::from_str_radix(d, 16).ok())
            .ok_or_else(|| "bad `\\u` escape".to_string())?;
        self.i += 4;
        Ok(digits)
    }

    /// After `\u`: one code point, joining a surrogate pair (Python escapes non-ASCII this way).
    fn unicode_escape(&mut self) -> Result<char, String> {
        let hi = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&hi) {
            if !(self.eat(b'\\') && self.eat(b'u')) {
                return Err("unpaired surrogate in a `\\u` escape".into());
            }
            let lo = self.hex4()?;
            if !(0xDC00..0xE000).contains(&lo) {
                return Err("unpaired surrogate in a `\\u` escape".into());
            }
            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
        } else {
            hi
        };
        char::from_u32(code).ok_or_else(|| "bad `\\u` escape".to_string())
    }
}
