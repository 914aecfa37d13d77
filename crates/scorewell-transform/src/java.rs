//! The JVM behaviours Spark's results depend on: `Double.toString`, `String.split` and the
//! ASCII-only `\s \d \w` of `java.util.regex`.

use regex::Regex;

/// Java's `Double.toString` (JDK 19+, which prints the shortest digits that round-trip, as
/// Rust does): plain notation for 10⁻³ ≤ |x| < 10⁷ with at least one fraction digit,
/// otherwise `d.dddE±n`.
pub(crate) fn double_to_string(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    format_java(&format!("{x:e}"), (1e-3..1e7).contains(&x.abs()))
}

/// Java's `Float.toString` (same layout as [`double_to_string`], with `float` digits).
pub(crate) fn float_to_string(x: f32) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    format_java(&format!("{x:e}"), (1e-3..1e7).contains(&x.abs()))
}

/// `sci` is Rust's `{:e}` form (`-1.25e-7`): shortest round-trip digits and an exponent.
fn format_java(sci: &str, plain: bool) -> String {
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut out = String::with_capacity(digits.len() + 8);
    if negative {
        out.push('-');
    }
    if plain {
        if exp >= 0 {
            let point = exp as usize + 1;
            if digits.len() <= point {
                out.push_str(&digits);
                out.extend(std::iter::repeat_n('0', point - digits.len()));
                out.push_str(".0");
            } else {
                out.push_str(&digits[..point]);
                out.push('.');
                out.push_str(&digits[point..]);
            }
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-exp - 1) as usize));
            out.push_str(&digits);
        }
    } else {
        out.push_str(&digits[..1]);
        out.push('.');
        out.push_str(if digits.len() > 1 { &digits[1..] } else { "0" });
        out.push('E');
        out.push_str(&exp.to_string());
    }
    out
}

/// Java's `Pattern.split(input)` (limit 0): a zero-width match at the start makes no
/// leading empty string, trailing empty strings are removed, and no match at all returns
/// the input itself (so `""` splits into `[""]`).
pub(crate) fn split<'a>(re: &Regex, input: &'a str) -> Vec<&'a str> {
    let mut parts = Vec::new();
    let mut index = 0;
    let mut matched = false;
    for m in re.find_iter(input) {
        if m.start() == 0 && m.end() == 0 {
            continue;
        }
        matched = true;
        parts.push(&input[index..m.start()]);
        index = m.end();
    }
    if !matched {
        return vec![input];
    }
    parts.push(&input[index..]);
    while parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    parts
}

/// Translate a `java.util.regex` pattern's `\s \S \d \D \w \W` to their ASCII meaning (Java's
/// default; Rust's are Unicode). Other syntax passes through: patterns that only Java
/// supports (look-around, back-references, possessive quantifiers) fail to compile.
pub(crate) fn translate_pattern(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('s') => out.push_str(r"[\t\n\x0B\x0C\r ]"),
            Some('S') => out.push_str(r"[^\t\n\x0B\x0C\r ]"),
            Some('d') => out.push_str("[0-9]"),
            Some('D') => out.push_str("[^0-9]"),
            Some('w') => out.push_str("[a-zA-Z0-9_]"),
            Some('W') => out.push_str("[^a-zA-Z0-9_]"),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Java's `String.length()`: UTF-16 code units.
pub(crate) fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_print_as_java_does() {
        for (x, want) in [
            (1.0, "1.0"),
            (-2.5, "-2.5"),
            (0.001, "0.001"),
            (0.0001, "1.0E-4"),
            (1234567.0, "1234567.0"),
            (1e7, "1.0E7"),
            (1.5e10, "1.5E10"),
            (123.456, "123.456"),
            (0.1 + 0.2, "0.30000000000000004"),
            (-0.0, "-0.0"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
        ] {
            assert_eq!(double_to_string(x), want, "{x}");
        }
        assert_eq!(float_to_string(0.1), "0.1");
        assert_eq!(float_to_string(1e-5), "1.0E-5");
    }

    #[test]
    fn split_follows_java() {
        let ws = Regex::new(&translate_pattern(r"\s")).unwrap();
        assert_eq!(split(&ws, ""), vec![""]);
        assert_eq!(split(&ws, " a  b "), vec!["", "a", "", "b"]);
        assert_eq!(split(&ws, "   "), Vec::<&str>::new());
        assert_eq!(
            split(&ws, "a\u{00a0}b"),
            vec!["a\u{00a0}b"],
            "NBSP is not \\s in Java"
        );
        let empty = Regex::new("").unwrap();
        assert_eq!(split(&empty, "ab"), vec!["a", "b"]);
    }

    #[test]
    fn translation_keeps_escapes() {
        assert_eq!(translate_pattern(r"\\s\."), r"\\s\.");
        assert_eq!(translate_pattern(r"[\w-]+"), "[[a-zA-Z0-9_]-]+");
        assert_eq!(utf16_len("a😀"), 3);
    }
}
