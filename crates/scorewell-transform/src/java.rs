//! The JVM behaviours Spark's results depend on: `Double.toString`, `String.split` and the
//! ASCII-only `\s \d \w` and POSIX classes (`\p{Punct}`, `\p{Alpha}`, …) of
//! `java.util.regex`.

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

/// Translate a `java.util.regex` pattern's `\s \S \d \D \w \W` and POSIX classes
/// (`\p{Lower}`, `\p{Upper}`, `\p{ASCII}`, `\p{Alpha}`, `\p{Digit}`, `\p{Alnum}`,
/// `\p{Punct}`, `\p{Graph}`, `\p{Print}`, `\p{Blank}`, `\p{Cntrl}`, `\p{XDigit}`,
/// `\p{Space}` and their `\P{…}` negations) to their ASCII meaning (Java's default; Rust's
/// are Unicode or unknown). Other syntax passes through: Unicode classes such as `\p{L}` mean
/// the same in both, and patterns that only Java supports (look-around, back-references,
/// possessive quantifiers) fail to compile.
pub(crate) fn translate_pattern(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars().peekable();
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
            Some(p @ ('p' | 'P')) if chars.peek() == Some(&'{') => {
                let rest: String = chars.clone().collect();
                let class = rest
                    .find('}')
                    .and_then(|end| posix_class(&rest[1..end]).map(|class| (end, class)));
                match class {
                    Some((end, class)) => {
                        out.push('[');
                        if p == 'P' {
                            out.push('^');
                        }
                        out.push_str(class);
                        out.push(']');
                        for _ in 0..=end {
                            chars.next();
                        }
                    }
                    None => {
                        out.push('\\');
                        out.push(p);
                    }
                }
            }
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// The ASCII members of a `java.util.regex` POSIX class, as the inside of a Rust character
/// class (`Pattern`'s docs: "POSIX character classes (US-ASCII only)").
fn posix_class(name: &str) -> Option<&'static str> {
    Some(match name {
        "Lower" => "a-z",
        "Upper" => "A-Z",
        "ASCII" => r"\x00-\x7F",
        "Alpha" => "a-zA-Z",
        "Digit" => "0-9",
        "Alnum" => "a-zA-Z0-9",
        "Punct" => r"\x21-\x2F\x3A-\x40\x5B-\x60\x7B-\x7E",
        "Graph" => r"\x21-\x7E",
        "Print" => r"\x20-\x7E",
        "Blank" => r" \t",
        "Cntrl" => r"\x00-\x1F\x7F",
        "XDigit" => "0-9a-fA-F",
        "Space" => r" \t\n\x0B\x0C\r",
        _ => return None,
    })
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
    fn posix_classes_are_ascii_only_as_in_java() {
        // See: issue 6 (RegexTokenizer patterns such as `[\p{Punct}\s]+`).
        let punct = Regex::new(&translate_pattern(r"[\p{Punct}\s]+")).unwrap();
        assert_eq!(
            split(&punct, "a,b!  c-d_e\"f«g»h—i"),
            vec!["a", "b", "c", "d", "e", "f«g»h—i"]
        );
        let all = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
        assert!(all.chars().all(|c| punct.is_match(&c.to_string())), "{all}");
        for (class, yes, no) in [
            (r"\p{Alpha}", "aZ", "é1_ß"),
            (r"\p{Alnum}", "a9Z", "é_٣"),
            (r"\p{Digit}", "09", "٣a"),
            (r"\p{Lower}", "az", "Aé"),
            (r"\p{Upper}", "AZ", "aÀ"),
            (r"\p{XDigit}", "09afAF", "gG"),
            (r"\p{Space}", " \t\n\x0B\x0C\r", "\u{a0}\u{2003}"),
            (r"\p{Blank}", " \t", "\n\u{a0}"),
            (r"\p{Cntrl}", "\x00\x1F\x7F", " é\u{85}"),
            (r"\p{Graph}", "!~a0", " é\x7F"),
            (r"\p{Print}", " ~a", "\x7Fé\t"),
            (r"\p{ASCII}", "\x00\x7F", "é"),
            (r"\P{Alpha}", "1é ", "a"),
        ] {
            let re = Regex::new(&format!("^{}$", translate_pattern(class))).unwrap();
            for c in yes.chars() {
                assert!(re.is_match(&c.to_string()), "{class} should match {c:?}");
            }
            for c in no.chars() {
                assert!(
                    !re.is_match(&c.to_string()),
                    "{class} should not match {c:?}"
                );
            }
        }
        // Unicode categories mean the same in both and pass through.
        assert_eq!(translate_pattern(r"\p{L}+\pN"), r"\p{L}+\pN");
    }

    #[test]
    fn translation_keeps_escapes() {
        assert_eq!(translate_pattern(r"\\s\."), r"\\s\.");
        assert_eq!(translate_pattern(r"[\w-]+"), "[[a-zA-Z0-9_]-]+");
        assert_eq!(utf16_len("a😀"), 3);
    }
}
