//! Text stages: Tokenizer, RegexTokenizer, StopWordsRemover, NGram, HashingTF, IDF,
//! CountVectorizer.

use std::sync::Arc;

use scorewell_core::Stage;
use scorewell_transform as t;

use super::{Ctx, Registry};
use crate::error::Result;

pub(crate) fn register(reg: &mut Registry) {
    reg.add("org.apache.spark.ml.feature.Tokenizer", tokenizer);
    reg.add(
        "org.apache.spark.ml.feature.RegexTokenizer",
        regex_tokenizer,
    );
    reg.add("org.apache.spark.ml.feature.StopWordsRemover", stop_words);
    reg.add("org.apache.spark.ml.feature.NGram", ngram);
    reg.add("org.apache.spark.ml.feature.HashingTF", hashing_tf);
    reg.add("org.apache.spark.ml.feature.IDFModel", idf);
    reg.add(
        "org.apache.spark.ml.feature.CountVectorizerModel",
        count_vectorizer,
    );
}

type Built = Result<Vec<Arc<dyn Stage>>>;

fn single(ctx: &Ctx<'_>) -> Result<(String, String)> {
    Ok((ctx.meta.str("inputCol")?, ctx.meta.str("outputCol")?))
}

fn tokenizer(ctx: &mut Ctx<'_>) -> Built {
    let (input, output) = single(ctx)?;
    ctx.transform(t::Tokenizer::new(
        ctx.name(),
        t::TokenizerParams { input, output },
    ))
}

fn regex_tokenizer(ctx: &mut Ctx<'_>) -> Built {
    let (input, output) = single(ctx)?;
    let m = ctx.meta;
    ctx.transform(t::RegexTokenizer::new(
        ctx.name(),
        t::RegexTokenizerParams {
            input,
            output,
            pattern: m.opt_str("pattern")?.unwrap_or_else(|| "\\s+".into()),
            gaps: m.bool_or("gaps", true)?,
            min_token_length: m.opt_i64("minTokenLength")?.unwrap_or(1).max(0) as usize,
            to_lowercase: m.bool_or("toLowercase", true)?,
        },
    ))
}

/// `stopWords` is in the metadata (as a default since Spark 2.4), so the list Spark used is the
/// one scored, whatever the version's built-in list.
fn stop_words(ctx: &mut Ctx<'_>) -> Built {
    let io = ctx.in_out()?;
    let m = ctx.meta;
    let (input, output, inputs, outputs) = io.split();
    ctx.transform(t::StopWordsRemover::new(
        ctx.name(),
        t::StopWordsRemoverParams {
            input,
            output,
            inputs,
            outputs,
            stop_words: m.opt_strs("stopWords")?,
            case_sensitive: m.bool_or("caseSensitive", false)?,
            locale: m.opt_str("locale")?,
        },
    ))
}

fn ngram(ctx: &mut Ctx<'_>) -> Built {
    let (input, output) = single(ctx)?;
    let n = ctx.meta.opt_i64("n")?.unwrap_or(2).max(0) as usize;
    ctx.transform(t::NGram::new(
        ctx.name(),
        t::NGramParams { input, output, n },
    ))
}

/// Spark 3.0 changed how HashingTF hashes strings; models saved by Spark 2.x keep the old hash.
fn hashing_tf(ctx: &mut Ctx<'_>) -> Built {
    let (input, output) = single(ctx)?;
    let num_features = ctx.meta.opt_i64("numFeatures")?.unwrap_or(1 << 18).max(0) as usize;
    ctx.cols.vector(&output, Some(num_features));
    let hash_function = if ctx.meta.version.0 < 3 {
        t::HashFunction::Murmur3Spark2
    } else {
        t::HashFunction::Murmur3
    };
    ctx.transform(t::HashingTF::new(
        ctx.name(),
        t::HashingTFParams {
            input,
            output,
            num_features,
            binary: ctx.meta.bool_or("binary", false)?,
            hash_function,
        },
    ))
}

fn idf(ctx: &mut Ctx<'_>) -> Built {
    let data = ctx.data()?;
    data.one_row()?;
    let idf = data.vector("idf", 0)?;
    let (input, output) = single(ctx)?;
    ctx.cols.vector(&output, Some(idf.len()));
    ctx.transform(t::Idf::new(
        ctx.name(),
        t::IdfParams {
            input,
            output,
            idf,
            min_doc_freq: None,
        },
    ))
}

fn count_vectorizer(ctx: &mut Ctx<'_>) -> Built {
    let data = ctx.data()?;
    data.one_row()?;
    let vocabulary = data.strings("vocabulary", 0)?;
    let (input, output) = single(ctx)?;
    ctx.cols.vector(&output, Some(vocabulary.len()));
    let m = ctx.meta;
    ctx.transform(t::CountVectorizer::new(
        ctx.name(),
        t::CountVectorizerParams {
            input,
            output,
            vocabulary,
            min_tf: m.opt_f64("minTF")?.unwrap_or(1.0),
            binary: m.bool_or("binary", false)?,
        },
    ))
}
