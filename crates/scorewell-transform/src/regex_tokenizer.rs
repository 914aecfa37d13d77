//! `regex_tokenizer`: Spark ML's `RegexTokenizer`
//! (`mllib/src/main/scala/org/apache/spark/ml/feature/Tokenizer.scala`, Spark 3.x/4.x).
//!
//! Optionally lowercase, then either split on the pattern (`gaps = true`, Java
//! `Pattern.split` rules: no trailing empty tokens) or collect its matches (`gaps = false`),
//! and drop tokens shorter than `min_token_length` (counted in UTF-16 code units, as Java's
//! `String.length`). Patterns are Java regexes run by Rust's `regex` crate: `\s \d \w` and
//! the POSIX classes (`\p{Punct}`, `\p{Alpha}`, …) keep Java's ASCII meaning; look-around
//! and back-references are refused when the stage is built. Lowercasing is locale-independent. Null gives null.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{FieldRef, Schema};
use regex::Regex;
use scorewell_core::{Binding, InputColumn, Stage, StageOutput};

use crate::common::{self, Accept};
use crate::error::TransformError;
use crate::java;
use crate::registry::{Registry, parse};
use crate::tokenizer::tokenize_column;

/// Parameters of [`RegexTokenizer`].
///
/// - `input`: a string column; `output`: a `list<utf8>` column.
/// - `pattern` (default `\s+`): a Java regex.
/// - `gaps` (default `true`): the pattern matches separators (else it matches tokens).
/// - `min_token_length` (default 1): shorter tokens are dropped.
/// - `to_lowercase` (default `true`): lowercase before matching.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegexTokenizerParams {
    /// Text column.
    pub input: String,
    /// Token column.
    pub output: String,
    /// The regex.
    #[serde(default = "default_pattern")]
    pub pattern: String,
    /// Whether the pattern matches gaps between tokens.
    #[serde(default = "yes")]
    pub gaps: bool,
    /// Minimum token length.
    #[serde(default = "one")]
    pub min_token_length: usize,
    /// Lowercase first.
    #[serde(default = "yes")]
    pub to_lowercase: bool,
}

fn default_pattern() -> String {
    r"\s+".into()
}

fn yes() -> bool {
    true
}

fn one() -> usize {
    1
}

/// Splits text with a regex (see the module docs).
#[derive(Debug, Clone)]
pub struct RegexTokenizer {
    name: String,
    input: String,
    output: String,
    regex: Regex,
    gaps: bool,
    min_token_length: usize,
    to_lowercase: bool,
}

impl RegexTokenizer {
    /// Validate `params` and build the stage.
    pub fn new(name: &str, params: RegexTokenizerParams) -> Result<Self, TransformError> {
        common::check_names("input", std::slice::from_ref(&params.input), false)?;
        common::check_names("output", std::slice::from_ref(&params.output), false)?;
        let regex = Regex::new(&java::translate_pattern(&params.pattern))
            .map_err(|e| TransformError::param("pattern", e.to_string()))?;
        Ok(Self {
            name: name.to_string(),
            input: params.input,
            output: params.output,
            regex,
            gaps: params.gaps,
            min_token_length: params.min_token_length,
            to_lowercase: params.to_lowercase,
        })
    }
}

pub(crate) fn register(reg: &mut Registry) {
    reg.add("regex_tokenizer", |name, params| {
        Ok(Arc::new(RegexTokenizer::new(name, parse(params)?)?))
    });
}

impl Stage for RegexTokenizer {
    fn name(&self) -> &str {
        &self.name
    }

    fn inputs(&self) -> Vec<InputColumn> {
        common::input_columns(std::slice::from_ref(&self.input), Accept::String)
    }

    fn output_fields(&self) -> Vec<FieldRef> {
        vec![common::string_list_field(&self.output)]
    }

    fn bind(&self, schema: &Schema) -> scorewell_core::Result<Binding> {
        common::bind(schema, &self.name, [(self.input.as_str(), Accept::String)])
    }

    fn apply(&self, binding: &Binding, batch: &RecordBatch) -> scorewell_core::Result<StageOutput> {
        tokenize_column(binding, batch, |s, out| {
            let lower;
            let s = if self.to_lowercase {
                lower = s.to_lowercase();
                lower.as_str()
            } else {
                s
            };
            let keep = |t: &&str| java::utf16_len(t) >= self.min_token_length;
            if self.gaps {
                out.extend(
                    java::split(&self.regex, s)
                        .into_iter()
                        .filter(keep)
                        .map(str::to_string),
                );
            } else {
                out.extend(
                    self.regex
                        .find_iter(s)
                        .map(|m| m.as_str())
                        .filter(keep)
                        .map(str::to_string),
                );
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::testutil::*;

    fn tokens(
        params: serde_json::Value,
        text: &[Option<&str>],
    ) -> Vec<Option<Vec<Option<String>>>> {
        let stage = build("regex_tokenizer", params);
        read_str_lists(&run(&stage, &[("t", strs(text))]).unwrap()[0])
    }

    fn s(v: &[&str]) -> Option<Vec<Option<String>>> {
        Some(v.iter().map(|x| Some(x.to_string())).collect())
    }

    #[test]
    fn default_splits_on_whitespace_runs_and_drops_empty() {
        let got = tokens(
            json!({"input": "t", "output": "w"}),
            &[Some("  A b\t\tC "), Some(""), None],
        );
        assert_eq!(got, vec![s(&["a", "b", "c"]), s(&[]), None]);
    }

    #[test]
    fn matching_mode_min_length_and_case() {
        let got = tokens(
            json!({"input": "t", "output": "w", "pattern": "\\w+", "gaps": false,
                   "min_token_length": 2, "to_lowercase": false}),
            &[Some("I am Éta-42 x")],
        );
        // `\w` is ASCII in Java: "Éta" matches only "ta".
        assert_eq!(got, vec![s(&["am", "ta", "42"])]);
    }

    #[test]
    fn unsupported_patterns_are_param_errors() {
        let err = build_err(
            "regex_tokenizer",
            json!({"input": "t", "output": "w", "pattern": "(?<=a)b"}),
        );
        assert!(err.starts_with("pattern: regex parse error"), "{err}");
    }
}
