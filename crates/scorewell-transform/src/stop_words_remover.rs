//! `stop_words_remover`: Spark ML's `StopWordsRemover.transform`
//! (`mllib/src/main/scala/org/apache/spark/ml/feature/StopWordsRemover.scala`, Spark 3.x/4.x),
//! with Spark's default English list (`resources/org/apache/spark/ml/feature/stopwords/english.txt`,
//! 181 words with contractions such as `i'll`; checked against the list a real Spark 4.3 saves).
//!
//! Tokens found in `stop_words` are removed; null tokens are kept. Case-insensitive matching
//! (the default) lowercases both sides with Unicode's locale-independent mapping; Spark uses
//! `locale`, which gives the same result for every locale except Turkish, Azeri and
//! Lithuanian, which are refused. A null row gives null.

use std::collections::HashSet;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{FieldRef, Schema};
use scorewell_core::{Binding, InputColumn, Stage, StageOutput};

use crate::common::{self, Accept, StringLists};
use crate::error::TransformError;
use crate::registry::{Registry, parse};

/// Spark's default English stop words, in `english.txt` order (181 words: NLTK's 127 plus
/// contractions and a few more, as `StopWordsRemover.loadDefaultStopWords("english")` returns
/// them in Spark 3.x and 4.x).
pub const ENGLISH_STOP_WORDS: [&str; 181] = [
    "i",
    "me",
    "my",
    "myself",
    "we",
    "our",
    "ours",
    "ourselves",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
    "he",
    "him",
    "his",
    "himself",
    "she",
    "her",
    "hers",
    "herself",
    "it",
    "its",
    "itself",
    "they",
    "them",
    "their",
    "theirs",
    "themselves",
    "what",
    "which",
    "who",
    "whom",
    "this",
    "that",
    "these",
    "those",
    "am",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "being",
    "have",
    "has",
    "had",
    "having",
    "do",
    "does",
    "did",
    "doing",
    "a",
    "an",
    "the",
    "and",
    "but",
    "if",
    "or",
    "because",
    "as",
    "until",
    "while",
    "of",
    "at",
    "by",
    "for",
    "with",
    "about",
    "against",
    "between",
    "into",
    "through",
    "during",
    "before",
    "after",
    "above",
    "below",
    "to",
    "from",
    "up",
    "down",
    "in",
    "out",
    "on",
    "off",
    "over",
    "under",
    "again",
    "further",
    "then",
    "once",
    "here",
    "there",
    "when",
    "where",
    "why",
    "how",
    "all",
    "any",
    "both",
    "each",
    "few",
    "more",
    "most",
    "other",
    "some",
    "such",
    "no",
    "nor",
    "not",
    "only",
    "own",
    "same",
    "so",
    "than",
    "too",
    "very",
    "s",
    "t",
    "can",
    "will",
    "just",
    "don",
    "should",
    "now",
    "i'll",
    "you'll",
    "he'll",
    "she'll",
    "we'll",
    "they'll",
    "i'd",
    "you'd",
    "he'd",
    "she'd",
    "we'd",
    "they'd",
    "i'm",
    "you're",
    "he's",
    "she's",
    "it's",
    "we're",
    "they're",
    "i've",
    "we've",
    "you've",
    "they've",
    "isn't",
    "aren't",
    "wasn't",
    "weren't",
    "haven't",
    "hasn't",
    "hadn't",
    "don't",
    "doesn't",
    "didn't",
    "won't",
    "wouldn't",
    "shan't",
    "shouldn't",
    "mustn't",
    "can't",
    "couldn't",
    "cannot",
    "could",
    "here's",
    "how's",
    "let's",
    "ought",
    "that's",
    "there's",
    "what's",
    "when's",
    "where's",
    "who's",
    "why's",
    "would",
];

/// Parameters of [`StopWordsRemover`].
///
/// - `input` + `output`, or `inputs` + `outputs`: `list<utf8>` columns.
/// - `stop_words` (default: Spark's English list, [`ENGLISH_STOP_WORDS`]).
/// - `case_sensitive` (default `false`).
/// - `locale` (optional, e.g. `en_US`): Spark's locale for case-insensitive matching;
///   `tr`, `az` and `lt` locales are refused (see the module docs).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StopWordsRemoverParams {
    /// Input column.
    pub input: Option<String>,
    /// Output column.
    pub output: Option<String>,
    /// Input columns.
    pub inputs: Option<Vec<String>>,
    /// Output columns, one per input.
    pub outputs: Option<Vec<String>>,
    /// Words to remove.
    pub stop_words: Option<Vec<String>>,
    /// Match case exactly.
    #[serde(default)]
    pub case_sensitive: bool,
    /// Spark's locale param.
    pub locale: Option<String>,
}

/// Removes stop words from token lists (see the module docs).
#[derive(Debug, Clone)]
pub struct StopWordsRemover {
    name: String,
    inputs: Vec<String>,
    outputs: Vec<String>,
    words: HashSet<String>,
    case_sensitive: bool,
}

impl StopWordsRemover {
    /// Validate `params` and build the stage.
    pub fn new(name: &str, params: StopWordsRemoverParams) -> Result<Self, TransformError> {
        let (inputs, outputs, _) =
            common::column_pairs(params.input, params.output, params.inputs, params.outputs)?;
        if let Some(locale) = &params.locale {
            let language = locale
                .split(['_', '-'])
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            if matches!(language.as_str(), "tr" | "az" | "lt") {
                return Err(TransformError::param(
                    "locale",
                    format!("locale-specific lowercasing (`{locale}`) is not supported"),
                ));
            }
        }
        let words: Vec<String> = match params.stop_words {
            Some(words) => words,
            None => ENGLISH_STOP_WORDS.iter().map(|w| w.to_string()).collect(),
        };
        let words = if params.case_sensitive {
            words.into_iter().collect()
        } else {
            words.iter().map(|w| w.to_lowercase()).collect()
        };
        Ok(Self {
            name: name.to_string(),
            inputs,
            outputs,
            words,
            case_sensitive: params.case_sensitive,
        })
    }

    fn is_stop_word(&self, token: &str) -> bool {
        if self.case_sensitive {
            self.words.contains(token)
        } else {
            self.words.contains(&token.to_lowercase())
        }
    }
}

pub(crate) fn register(reg: &mut Registry) {
    reg.add("stop_words_remover", |name, params| {
        Ok(Arc::new(StopWordsRemover::new(name, parse(params)?)?))
    });
}

impl Stage for StopWordsRemover {
    fn name(&self) -> &str {
        &self.name
    }

    fn inputs(&self) -> Vec<InputColumn> {
        common::input_columns(&self.inputs, Accept::StringList)
    }

    fn output_fields(&self) -> Vec<FieldRef> {
        self.outputs
            .iter()
            .map(|o| common::string_list_field(o))
            .collect()
    }

    fn bind(&self, schema: &Schema) -> scorewell_core::Result<Binding> {
        common::bind(
            schema,
            &self.name,
            self.inputs.iter().map(|c| (c.as_str(), Accept::StringList)),
        )
    }

    fn apply(&self, binding: &Binding, batch: &RecordBatch) -> scorewell_core::Result<StageOutput> {
        let mut out = Vec::with_capacity(self.inputs.len());
        for col in &binding.columns {
            let lists = StringLists::try_new(batch.column(*col))?;
            let mut b = common::string_list_builder(batch.num_rows());
            for row in 0..batch.num_rows() {
                match lists.row(row) {
                    None => b.append_null(),
                    Some(tokens) => {
                        for t in tokens {
                            if !t.is_some_and(|t| self.is_stop_word(t)) {
                                b.values().append_option(t);
                            }
                        }
                        b.append(true);
                    }
                }
            }
            out.push(Arc::new(b.finish()) as ArrayRef);
        }
        Ok(out.into())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::testutil::*;

    fn opt(v: &[Option<&str>]) -> Option<Vec<Option<String>>> {
        Some(v.iter().map(|x| x.map(str::to_string)).collect())
    }

    #[test]
    fn removes_english_words_case_insensitively_and_keeps_null_tokens() {
        let stage = build("stop_words_remover", json!({"input": "w", "output": "f"}));
        let input = str_lists(&[
            Some(vec![
                Some("The"),
                Some("quick"),
                None,
                Some("fox"),
                Some("WOULDN'T"),
                Some(""),
            ]),
            Some(vec![]),
            None,
        ]);
        let out = run(&stage, &[("w", input)]).unwrap();
        assert_eq!(
            read_str_lists(&out[0]),
            vec![
                opt(&[Some("quick"), None, Some("fox"), Some("")]),
                opt(&[]),
                None
            ]
        );
        assert_eq!(super::ENGLISH_STOP_WORDS.len(), 181);
    }

    /// See: issue 6. The default list is the one real Spark uses: a StopWordsRemover saved by
    /// PySpark 4.3.0 stores its default `stopWords` in its metadata.
    #[test]
    fn the_default_english_list_is_spark_4s() {
        let stages = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/conformance/spark/cases/spark_4_3_text_lr/model/stages");
        let Some(dir) = std::fs::read_dir(&stages)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.to_string_lossy().contains("StopWordsRemover"))
        else {
            panic!("no StopWordsRemover stage in {}", stages.display());
        };
        let meta = std::fs::read_dir(dir.join("metadata"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.to_string_lossy().contains("part-"))
            .unwrap();
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(meta).unwrap()).unwrap();
        let saved: Vec<&str> = json["defaultParamMap"]["stopWords"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_str().unwrap())
            .collect();
        assert_eq!(saved, super::ENGLISH_STOP_WORDS);
    }

    #[test]
    fn custom_case_sensitive_list_and_locale_check() {
        let stage = build(
            "stop_words_remover",
            json!({"inputs": ["w"], "outputs": ["f"], "stop_words": ["Foo"], "case_sensitive": true, "locale": "en_US"}),
        );
        let out = run(
            &stage,
            &[("w", str_lists(&[Some(vec![Some("Foo"), Some("foo")])]))],
        )
        .unwrap();
        assert_eq!(read_str_lists(&out[0]), vec![opt(&[Some("foo")])]);
        assert_eq!(
            build_err(
                "stop_words_remover",
                json!({"input": "w", "output": "f", "locale": "tr_TR"})
            ),
            "locale: locale-specific lowercasing (`tr_TR`) is not supported"
        );
    }
}
