//! `tokenizer`: Spark ML's `Tokenizer`
//! (`mllib/src/main/scala/org/apache/spark/ml/feature/Tokenizer.scala`, Spark 3.x/4.x).
//!
//! `s.toLowerCase.split("\\s")`: lowercase, then split on every single ASCII whitespace
//! character (space, `\t`, `\n`, `\x0B`, `\f`, `\r`) with Java's `String.split` rules, so
//! consecutive or leading whitespace yields empty tokens, trailing empty tokens are removed
//! and `""` gives `[""]`. Lowercasing is Unicode's locale-independent mapping (Java uses the
//! JVM's default locale, which differs only for Turkish, Azeri and Lithuanian). Null gives
//! null.

use std::sync::Arc;

use arrow_array::{Array, RecordBatch};
use arrow_schema::{FieldRef, Schema};
use regex::Regex;
use scorewell_core::{Binding, InputColumn, Stage, StageOutput};

use crate::common::{self, Accept};
use crate::error::TransformError;
use crate::java;
use crate::registry::{Registry, parse};

/// Parameters of [`Tokenizer`].
///
/// - `input`: a string column; `output`: a `list<utf8>` column.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenizerParams {
    /// Text column.
    pub input: String,
    /// Token column.
    pub output: String,
}

/// Lowercases and splits on whitespace (see the module docs).
#[derive(Debug, Clone)]
pub struct Tokenizer {
    name: String,
    input: String,
    output: String,
    whitespace: Regex,
}

impl Tokenizer {
    /// Validate `params` and build the stage.
    pub fn new(name: &str, params: TokenizerParams) -> Result<Self, TransformError> {
        common::check_names("input", std::slice::from_ref(&params.input), false)?;
        common::check_names("output", std::slice::from_ref(&params.output), false)?;
        let whitespace = Regex::new(&java::translate_pattern(r"\s"))
            .map_err(|e| TransformError::param("", e.to_string()))?;
        Ok(Self {
            name: name.to_string(),
            input: params.input,
            output: params.output,
            whitespace,
        })
    }
}

pub(crate) fn register(reg: &mut Registry) {
    reg.add("tokenizer", |name, params| {
        Ok(Arc::new(Tokenizer::new(name, parse(params)?)?))
    });
}

/// Apply `tokenize` to every non-null string of the input column.
pub(crate) fn tokenize_column(
    binding: &Binding,
    batch: &RecordBatch,
    mut tokenize: impl FnMut(&str, &mut Vec<String>),
) -> scorewell_core::Result<StageOutput> {
    let text = common::string_column(batch.column(binding.columns[0]))?;
    let mut b = common::string_list_builder(text.len());
    let mut tokens = Vec::new();
    for s in text.iter() {
        match s {
            None => b.append_null(),
            Some(s) => {
                tokens.clear();
                tokenize(s, &mut tokens);
                for t in &tokens {
                    b.values().append_value(t);
                }
                b.append(true);
            }
        }
    }
    Ok(vec![Arc::new(b.finish()) as arrow_array::ArrayRef].into())
}

impl Stage for Tokenizer {
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
            let lower = s.to_lowercase();
            out.extend(
                java::split(&self.whitespace, &lower)
                    .into_iter()
                    .map(str::to_string),
            );
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::testutil::*;

    #[test]
    fn lowercases_and_splits_like_java() {
        let stage = build("tokenizer", json!({"input": "t", "output": "w"}));
        let out = run(
            &stage,
            &[(
                "t",
                strs(&[
                    Some("Hello  World\t!"),
                    Some(""),
                    Some(" Lead "),
                    Some("   "),
                    None,
                ]),
            )],
        )
        .unwrap();
        let s = |v: &[&str]| Some(v.iter().map(|x| Some(x.to_string())).collect::<Vec<_>>());
        assert_eq!(
            read_str_lists(&out[0]),
            vec![
                s(&["hello", "", "world", "!"]),
                s(&[""]),
                s(&["", "lead"]),
                s(&[]),
                None
            ]
        );
    }

    /// Java's `\s` is ASCII whitespace only: every kind splits, Unicode spaces do not.
    /// Lowercasing is Unicode's (`İ` → `i̇`, final sigma), done before splitting.
    #[test]
    fn whitespace_kinds_unicode_and_lowercasing() {
        let stage = build("tokenizer", json!({"input": "t", "output": "w"}));
        let out = run(
            &stage,
            &[(
                "t",
                strs(&[
                    Some("a\nb\rc\u{0B}d\u{0C}e\tf g"),
                    Some("no\u{A0}break\u{2003}em"),
                    Some("\tTab\n\n"),
                    Some("ÉCOLE Straße İ"),
                    Some("ΟΔΟΣ ΣΑΣ"),
                    Some("\r\n"),
                ]),
            )],
        )
        .unwrap();
        let s = |v: &[&str]| Some(v.iter().map(|x| Some(x.to_string())).collect::<Vec<_>>());
        assert_eq!(
            read_str_lists(&out[0]),
            vec![
                s(&["a", "b", "c", "d", "e", "f", "g"]),
                s(&["no\u{A0}break\u{2003}em"]),
                s(&["", "tab"]),
                s(&["école", "straße", "i\u{307}"]),
                s(&["οδος", "σας"]),
                s(&[]),
            ]
        );
    }
}
