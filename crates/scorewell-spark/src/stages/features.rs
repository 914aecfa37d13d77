//! Scalar feature stages: StringIndexer, IndexToString, OneHotEncoder, VectorAssembler,
//! scalers, Imputer, Bucketizer, Binarizer — saved params and data mapped onto
//! `scorewell_transform`.

use std::collections::BTreeMap;
use std::sync::Arc;

use scorewell_core::Stage;
use scorewell_transform as t;

use super::{Ctx, InOut, NumericInputs, Registry, handle_invalid};
use crate::error::Result;

pub(crate) fn register(reg: &mut Registry) {
    reg.add(
        "org.apache.spark.ml.feature.StringIndexerModel",
        string_indexer,
    );
    reg.add("org.apache.spark.ml.feature.IndexToString", index_to_string);
    reg.add("org.apache.spark.ml.feature.OneHotEncoderModel", one_hot);
    reg.add("org.apache.spark.ml.feature.VectorAssembler", assembler);
    reg.add(
        "org.apache.spark.ml.feature.StandardScalerModel",
        standard_scaler,
    );
    reg.add(
        "org.apache.spark.ml.feature.MinMaxScalerModel",
        min_max_scaler,
    );
    reg.add(
        "org.apache.spark.ml.feature.MaxAbsScalerModel",
        max_abs_scaler,
    );
    reg.add("org.apache.spark.ml.feature.ImputerModel", imputer);
    reg.add("org.apache.spark.ml.feature.Bucketizer", bucketizer);
    reg.add("org.apache.spark.ml.feature.Binarizer", binarizer);
}

type Built = Result<Vec<Arc<dyn Stage>>>;

/// Spark ≥ 3.0 saves `labelsArray` (one list per input column); Spark 2.x saved `labels`.
fn string_indexer(ctx: &mut Ctx<'_>) -> Built {
    let data = ctx.data()?;
    data.one_row()?;
    let labels_array = if data.has("labelsArray") {
        data.string_lists("labelsArray", 0)?
    } else {
        vec![data.strings("labels", 0)?]
    };
    let io = ctx.in_out()?;
    let handle = handle_invalid(ctx, "error")?;
    let outputs = io.outputs();
    for (o, labels) in outputs.iter().zip(&labels_array) {
        let mut meta = labels.clone();
        if handle == t::HandleInvalid::Keep {
            meta.push("__unknown".into());
        }
        ctx.cols.set_labels(o, meta);
    }
    let params = match io {
        InOut::Single(i, o) => {
            let labels = labels_array
                .into_iter()
                .next()
                .ok_or_else(|| ctx.invalid("`labelsArray` is empty"))?;
            t::StringIndexerParams {
                input: Some(i),
                output: Some(o),
                inputs: None,
                outputs: None,
                labels: Some(labels),
                labels_array: None,
                handle_invalid: handle,
            }
        }
        InOut::Multi(i, o) => t::StringIndexerParams {
            input: None,
            output: None,
            inputs: Some(i),
            outputs: Some(o),
            labels: None,
            labels_array: Some(labels_array),
            handle_invalid: handle,
        },
    };
    ctx.transform(t::StringIndexer::new(ctx.name(), params))
}

/// `labels` param, or else the labels an upstream StringIndexer gave the input column (Spark
/// reads them from the column's nominal attribute).
fn index_to_string(ctx: &mut Ctx<'_>) -> Built {
    let input = ctx.meta.str("inputCol")?;
    let output = ctx.meta.str("outputCol")?;
    let labels = match ctx.meta.opt_strs("labels")? {
        Some(l) if !l.is_empty() => l,
        _ => ctx.cols.labels(&input).cloned().ok_or_else(|| {
            ctx.invalid(format!(
                "IndexToString has no `labels` and column `{input}` does not come from a StringIndexer in this pipeline"
            ))
        })?,
    };
    ctx.transform(t::IndexToString::new(
        ctx.name(),
        t::IndexToStringParams {
            input,
            output,
            labels,
        },
    ))
}

fn one_hot(ctx: &mut Ctx<'_>) -> Built {
    let data = ctx.data()?;
    data.one_row()?;
    let sizes: Vec<usize> = data
        .integers("categorySizes", 0)?
        .into_iter()
        .map(|s| usize::try_from(s).map_err(|_| ctx.invalid("negative category size")))
        .collect::<Result<_>>()?;
    let drop_last = ctx.meta.bool_or("dropLast", true)?;
    let handle = handle_invalid(ctx, "error")?;
    let io = ctx.in_out()?;
    for (o, s) in io.outputs().iter().zip(&sizes) {
        let keep = usize::from(handle == t::HandleInvalid::Keep);
        ctx.cols
            .vector(o, Some((s + keep).saturating_sub(usize::from(drop_last))));
    }
    let (input, output, inputs, outputs) = io.split();
    ctx.transform(t::OneHotEncoder::new(
        ctx.name(),
        t::OneHotEncoderParams {
            input,
            output,
            inputs,
            outputs,
            category_sizes: sizes,
            drop_last,
            handle_invalid: handle,
        },
    ))
}

fn assembler(ctx: &mut Ctx<'_>) -> Built {
    let inputs = ctx.meta.opt_strs("inputCols")?.unwrap_or_default();
    let output = ctx.meta.str("outputCol")?;
    let mut vector_sizes = BTreeMap::new();
    let mut total = Some(0usize);
    let scalars: Vec<String> = inputs
        .iter()
        .filter(|i| !ctx.cols.is_vector(i))
        .cloned()
        .collect();
    for i in &inputs {
        if ctx.cols.is_vector(i) {
            match ctx.cols.vector_size(i) {
                Some(s) => {
                    vector_sizes.insert(i.clone(), s);
                    total = total.map(|t| t + s);
                }
                None => total = None,
            }
        } else {
            total = total.map(|t| t + 1);
        }
    }
    ctx.cols.vector(&output, total);
    let handle = handle_invalid(ctx, "error")?;
    let stages = ctx.transform(t::VectorAssembler::new(
        ctx.name(),
        t::VectorAssemblerParams {
            inputs,
            output,
            handle_invalid: handle,
            vector_sizes,
        },
    ))?;
    Ok(NumericInputs::wrap(stages, &scalars))
}

pub(super) fn vector_in_out(ctx: &mut Ctx<'_>, size: usize) -> Result<(String, String)> {
    let input = ctx.meta.str("inputCol")?;
    let output = ctx.meta.str("outputCol")?;
    ctx.cols.vector(&output, Some(size));
    Ok((input, output))
}

fn standard_scaler(ctx: &mut Ctx<'_>) -> Built {
    let data = ctx.data()?;
    data.one_row()?;
    let std = data.vector("std", 0)?;
    let mean = data.vector("mean", 0)?;
    let (input, output) = vector_in_out(ctx, std.len())?;
    ctx.transform(t::StandardScaler::new(
        ctx.name(),
        t::StandardScalerParams {
            input: Some(input),
            output: Some(output),
            inputs: None,
            outputs: None,
            mean,
            std,
            with_mean: ctx.meta.bool_or("withMean", false)?,
            with_std: ctx.meta.bool_or("withStd", true)?,
        },
    ))
}

fn min_max_scaler(ctx: &mut Ctx<'_>) -> Built {
    let data = ctx.data()?;
    data.one_row()?;
    let original_min = data.vector("originalMin", 0)?;
    let original_max = data.vector("originalMax", 0)?;
    let (input, output) = vector_in_out(ctx, original_min.len())?;
    ctx.transform(t::MinMaxScaler::new(
        ctx.name(),
        t::MinMaxScalerParams {
            input: Some(input),
            output: Some(output),
            inputs: None,
            outputs: None,
            original_min,
            original_max,
            min: ctx.meta.opt_f64("min")?.unwrap_or(0.0),
            max: ctx.meta.opt_f64("max")?.unwrap_or(1.0),
        },
    ))
}

fn max_abs_scaler(ctx: &mut Ctx<'_>) -> Built {
    let data = ctx.data()?;
    data.one_row()?;
    let max_abs = data.vector("maxAbs", 0)?;
    let (input, output) = vector_in_out(ctx, max_abs.len())?;
    ctx.transform(t::MaxAbsScaler::new(
        ctx.name(),
        t::MaxAbsScalerParams {
            input: Some(input),
            output: Some(output),
            inputs: None,
            outputs: None,
            max_abs,
        },
    ))
}

/// `surrogateDF`: one row, one double column per input column, named after it.
fn imputer(ctx: &mut Ctx<'_>) -> Built {
    let data = ctx.data()?;
    data.one_row()?;
    let io = ctx.in_out()?;
    let surrogates = io
        .inputs()
        .iter()
        .map(|c| data.f64(c, 0))
        .collect::<Result<Vec<_>>>()?;
    let missing_value = ctx.meta.opt_f64("missingValue")?.unwrap_or(f64::NAN);
    let (input, output, inputs, outputs) = io.split();
    ctx.transform(t::Imputer::new(
        ctx.name(),
        t::ImputerParams {
            input,
            output,
            inputs,
            outputs,
            surrogates: Some(surrogates),
            missing_value,
            strategy: None,
            fill_value: None,
        },
    ))
}

fn bucketizer(ctx: &mut Ctx<'_>) -> Built {
    let io = ctx.in_out()?;
    let (splits, splits_array) = match io {
        InOut::Single(..) => (ctx.meta.opt_f64s("splits")?.unwrap_or_default(), Vec::new()),
        InOut::Multi(..) => (
            Vec::new(),
            ctx.meta.opt_f64s2("splitsArray")?.unwrap_or_default(),
        ),
    };
    let handle = handle_invalid(ctx, "error")?;
    let (input, output, inputs, outputs) = io.split();
    ctx.transform(t::Bucketizer::new(
        ctx.name(),
        t::BucketizerParams {
            input,
            output,
            inputs,
            outputs,
            splits,
            splits_array,
            handle_invalid: handle,
        },
    ))
}

/// Spark picks scalar or vector behaviour from each input column's type: columns an earlier
/// stage produced as vectors are vectors; for the others the binding decides by the input's
/// type (pipeline inputs are declared numeric for text readers, as the assembler's are).
fn binarizer(ctx: &mut Ctx<'_>) -> Built {
    let io = ctx.in_out()?;
    let all_vectors = io.inputs().iter().all(|c| ctx.cols.is_vector(c));
    for (i, o) in io.inputs().iter().zip(io.outputs()) {
        if ctx.cols.is_vector(i) {
            let size = ctx.cols.vector_size(i);
            ctx.cols.vector(&o, size);
        }
    }
    let scalars: Vec<String> = io
        .inputs()
        .into_iter()
        .filter(|c| !ctx.cols.is_vector(c))
        .collect();
    let threshold = ctx.meta.opt_f64("threshold")?.unwrap_or(0.0);
    let thresholds = match (&io, ctx.meta.is_set("thresholds")) {
        (InOut::Multi(..), true) => ctx.meta.opt_f64s("thresholds")?.unwrap_or_default(),
        _ => Vec::new(),
    };
    let (input, output, inputs, outputs) = io.split();
    let stages = ctx.transform(t::Binarizer::new(
        ctx.name(),
        t::BinarizerParams {
            input,
            output,
            inputs,
            outputs,
            threshold,
            thresholds,
            vector: all_vectors.then_some(true),
        },
    ))?;
    Ok(NumericInputs::wrap(stages, &scalars))
}
