//! The `pandas_categorical:` line the Python package appends (`_dump_pandas_categorical` in
//! `python-package/lightgbm/basic.py`): `null`, or a JSON list with one list of category values
//! per pandas `category` column, in column order. A value's position in its list is the code
//! LightGBM sees.
//!
//! The line is read with the crate's lenient JSON reader (`json.dumps` writes `NaN` and
//! `Infinity` bare). Values become the strings Python's `str()` gives: strings as they are,
//! integers in decimal, floats as `repr` (what `json.dumps` wrote, `NaN`/`Infinity` becoming
//! `nan`/`inf`), `true` → `True`, `null` → `None`.

use crate::doc::{self, Doc, json};

/// The path errors name.
const PATH: &str = "pandas_categorical";

/// The category lists, or None for `null`. The error says what is wrong (the caller adds where).
pub(super) fn parse(text: &str) -> Result<Option<Vec<Vec<String>>>, String> {
    let value = json::parse(text.as_bytes())
        .map_err(|e| format!("{} at character {}", e.message, e.offset + 1))?;
    if value == Doc::Null {
        return Ok(None);
    }
    let lists = doc::array(&value, PATH)?;
    let mut out = Vec::with_capacity(lists.len());
    for (i, list) in lists.iter().enumerate() {
        let path = format!("{PATH}[{i}]");
        let values = doc::array(list, &path)?;
        let names = values
            .iter()
            .enumerate()
            .map(|(j, v)| {
                python_str(v).ok_or_else(|| {
                    format!(
                        "`{path}[{j}]` should be a category value (a string, number, boolean or \
                         null), got {}",
                        v.kind()
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        out.push(names);
    }
    Ok(Some(out))
}

/// What Python's `str()` prints for the scalar `v`; None for a container.
fn python_str(v: &Doc) -> Option<String> {
    Some(match v {
        Doc::Null => "None".into(),
        Doc::Bool(true) => "True".into(),
        Doc::Bool(false) => "False".into(),
        Doc::Int(i) => i.to_string(),
        Doc::Float(f) => python_float_repr(*f),
        Doc::Str(s) => s.clone(),
        Doc::Array(_) | Doc::Object(_) | Doc::F32s(_) | Doc::F64s(_) | Doc::Ints(_) => return None,
    })
}

/// Python's `repr(float)`: the shortest digits that read back as `f` (of equally short ones,
/// the nearest, ties to even), positional for magnitudes in [1e-4, 1e16) (with `.0` when
/// integral), else `d.ddde±XX`.
pub(super) fn python_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    // Rust's shortest form has the right length, but on a tie between two candidates of that
    // length it may take the far one; rounding `f` exactly to that many digits takes the near
    // one (ties to even), which is what Python prints whenever it reads back as `f`.
    let shortest = format!("{:e}", f.abs());
    let (mantissa, _) = shortest.split_once('e').unwrap_or((&shortest, "0"));
    let len = mantissa.bytes().filter(u8::is_ascii_digit).count();
    let nearest = format!("{:.*e}", len.saturating_sub(1), f.abs());
    let sci = if nearest.parse::<f64>() == Ok(f.abs()) {
        nearest
    } else {
        shortest
    };
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exp: i32 = exp.parse().unwrap_or(0);
    let sign = if f.is_sign_negative() { "-" } else { "" };
    let body = if (0..16).contains(&exp) {
        let point = exp as usize + 1;
        if digits.len() <= point {
            format!("{digits:0<point$}.0")
        } else {
            format!("{}.{}", &digits[..point], &digits[point..])
        }
    } else if (-4..0).contains(&exp) {
        format!("0.{}{digits}", "0".repeat((-exp - 1) as usize))
    } else {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let exp_sign = if exp < 0 { '-' } else { '+' };
        format!("{first}{dot}{rest}e{exp_sign}{:02}", exp.unsigned_abs())
    };
    format!("{sign}{body}")
}
