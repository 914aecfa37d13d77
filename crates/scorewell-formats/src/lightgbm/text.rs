//! Lines, `key=value` fields and number lists of a `model.txt`, with the line number and key
//! kept for every error.

use std::fmt;
use std::str::FromStr;

use super::NAME;
use crate::error::{FormatError, Result};

/// A `FormatError::Invalid` of this format.
pub(super) fn invalid(message: impl Into<String>) -> FormatError {
    FormatError::Invalid {
        format: NAME,
        message: message.into(),
    }
}

/// One line: its 1-based number and its text without the line ending and trailing blanks.
#[derive(Debug, Clone, Copy)]
pub(super) struct Line<'a> {
    pub no: usize,
    pub text: &'a str,
}

/// Split `text` into lines, accepting `\n` and `\r\n` endings and trailing spaces or tabs.
pub(super) fn lines(text: &str) -> Vec<Line<'_>> {
    text.split('\n')
        .enumerate()
        .map(|(i, raw)| Line {
            no: i + 1,
            text: raw
                .trim_end_matches(['\r', ' ', '\t'])
                .trim_start_matches([' ', '\t']),
        })
        .collect()
}

/// Decode the file as UTF-8 (dropping a byte-order mark); an error names the first bad line.
pub(super) fn decode(bytes: &[u8]) -> Result<&str> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let good = bytes.get(..e.valid_up_to()).unwrap_or_default();
        let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
        invalid(format!("line {line}: the file is not valid UTF-8 text"))
    })
}

/// Where a value came from: the line, the tree block (if any) and the key.
#[derive(Debug, Clone, Copy)]
pub(super) struct Field<'a> {
    pub line: usize,
    pub tree: Option<usize>,
    pub key: &'a str,
    pub value: &'a str,
}

impl fmt::Display for Field<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.tree {
            Some(t) => write!(f, "line {} (Tree={t}, key `{}`)", self.line, self.key),
            None => write!(f, "line {} (key `{}`)", self.line, self.key),
        }
    }
}

impl<'a> Field<'a> {
    /// An error about this field.
    pub fn err(&self, message: impl fmt::Display) -> FormatError {
        invalid(format!("{self}: {message}"))
    }

    /// The value as one number.
    pub fn one<T: Num>(&self) -> Result<T> {
        let mut tokens = self.value.split_ascii_whitespace();
        match (tokens.next(), tokens.next()) {
            (Some(tok), None) => T::parse(tok)
                .ok_or_else(|| self.err(format_args!("`{}` is not {}", short(tok), T::WHAT))),
            (None, _) => Err(self.err(format_args!("expected {}, found nothing", T::WHAT))),
            (Some(_), Some(_)) => Err(self.err(format_args!("expected one value, found several"))),
        }
    }

    /// The value as exactly `expected` space-separated numbers.
    pub fn list<T: Num>(&self, expected: usize) -> Result<Vec<T>> {
        let values = self
            .value
            .split_ascii_whitespace()
            .map(|tok| {
                T::parse(tok)
                    .ok_or_else(|| self.err(format_args!("`{}` is not {}", short(tok), T::WHAT)))
            })
            .collect::<Result<Vec<T>>>()?;
        if values.len() != expected {
            return Err(self.err(format_args!(
                "expected {expected} values, found {}",
                values.len()
            )));
        }
        Ok(values)
    }
}

/// At most 40 characters of `s`, for messages.
fn short(s: &str) -> String {
    if s.chars().count() <= 40 {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(40).collect();
        t.push('…');
        t
    }
}

/// A number type a field can hold.
pub(super) trait Num: Sized {
    /// "an integer", "a number", ... for messages.
    const WHAT: &'static str;
    /// Parse one token.
    fn parse(tok: &str) -> Option<Self>;
}

impl Num for f64 {
    const WHAT: &'static str = "a number";
    fn parse(tok: &str) -> Option<Self> {
        // Rust accepts what C's `%.17g` writes, including `inf`, `-inf` and `nan`.
        f64::from_str(tok).ok()
    }
}

macro_rules! int_num {
    ($($t:ty),*) => {$(
        impl Num for $t {
            const WHAT: &'static str = concat!("an integer in the range of ", stringify!($t));
            fn parse(tok: &str) -> Option<Self> {
                <$t>::from_str(tok).ok()
            }
        }
    )*};
}
int_num!(i32, u32, i64, usize);
