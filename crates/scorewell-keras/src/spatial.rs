//! Keras convolution, pooling and step-axis layer classes mapped onto `scorewell-nn`: `Conv1D`,
//! `Conv2D`, `MaxPooling1D/2D`, `AveragePooling1D/2D`, `GlobalMaxPooling2D`,
//! `GlobalAveragePooling2D`, `ZeroPadding1D`, `Cropping1D`, `UpSampling1D` (and their Keras
//! aliases). Only `data_format="channels_last"` (the default) is accepted.
//!
//! Config keys and variable order follow `keras/src/layers/convolutional/base_conv.py`
//! (`save_own_variables`: kernel, then bias when `use_bias`) and
//! `keras/src/layers/pooling/base_pooling.py`, Keras 3.15; Keras 2 writes the same keys.

use serde_json::Value;

use scorewell_nn::{Conv, GlobalPool2D, Layer, Padding, Pool, PoolKind, StepOp};

use crate::config::LayerDesc;
use crate::error::KerasError;
use crate::layers::{activation, bool_opt, layer_err};
use crate::weights::Weights;

/// The classes this module maps.
pub(crate) const CLASSES: &[&str] = &[
    "Conv1D",
    "Convolution1D",
    "Conv2D",
    "Convolution2D",
    "MaxPooling1D",
    "MaxPool1D",
    "MaxPooling2D",
    "MaxPool2D",
    "AveragePooling1D",
    "AvgPool1D",
    "AveragePooling2D",
    "AvgPool2D",
    "GlobalMaxPooling2D",
    "GlobalMaxPool2D",
    "GlobalAveragePooling2D",
    "GlobalAvgPool2D",
    "ZeroPadding1D",
    "Cropping1D",
    "UpSampling1D",
];

/// A config entry that is an int or a list of `n` ints (Keras' `standardize_tuple`); `default`
/// when absent or null.
fn tuple(
    d: &LayerDesc,
    key: &str,
    n: usize,
    default: Option<&[usize]>,
) -> Result<Vec<usize>, KerasError> {
    let bad = |v: &Value| {
        layer_err(
            d,
            format!("`{key}` must be an integer or {n} integers, got {v}"),
        )
    };
    let as_usize = |v: &Value| v.as_u64().and_then(|x| usize::try_from(x).ok());
    match d.config.get(key) {
        None | Some(Value::Null) => default
            .map(<[usize]>::to_vec)
            .ok_or_else(|| layer_err(d, format!("no `{key}`"))),
        Some(v @ Value::Array(items)) => {
            if items.len() != n {
                return Err(bad(v));
            }
            items
                .iter()
                .map(|x| as_usize(x).ok_or_else(|| bad(v)))
                .collect()
        }
        Some(v) => as_usize(v).map(|x| vec![x; n]).ok_or_else(|| bad(v)),
    }
}

fn channels_last(d: &LayerDesc) -> Result<(), KerasError> {
    match d.config.get("data_format") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(s)) if s == "channels_last" => Ok(()),
        Some(other) => Err(layer_err(
            d,
            format!("data_format {other} is not supported (only \"channels_last\")"),
        )),
    }
}

fn padding(d: &LayerDesc, allow_causal: bool) -> Result<Padding, KerasError> {
    match d.config.get("padding").and_then(Value::as_str) {
        None | Some("valid") => Ok(Padding::Valid),
        Some("same") => Ok(Padding::Same),
        Some("causal") if allow_causal => Ok(Padding::Causal),
        Some(other) => Err(layer_err(d, format!("padding `{other}` is not supported"))),
    }
}

/// Maps one of [`CLASSES`]; `in_shape` is the per-sample input shape.
pub(crate) fn map_layer(
    d: &LayerDesc,
    in_shape: &[usize],
    w: &Weights,
    keras3: bool,
) -> Result<Layer, KerasError> {
    let class = d.class.as_str();
    let rank = if class.contains("2D") { 2 } else { 1 };
    Ok(match class {
        "Conv1D" | "Convolution1D" | "Conv2D" | "Convolution2D" => {
            channels_last(d)?;
            let filters = d
                .config
                .get("filters")
                .and_then(Value::as_u64)
                .and_then(|f| usize::try_from(f).ok())
                .ok_or_else(|| layer_err(d, "no `filters`"))?;
            let kernel_size = tuple(d, "kernel_size", rank, None)?;
            let strides = tuple(d, "strides", rank, Some(&[1; 2][..rank]))?;
            let dilation = tuple(d, "dilation_rate", rank, Some(&[1; 2][..rank]))?;
            let groups = d.config.get("groups").and_then(Value::as_u64).unwrap_or(1) as usize;
            let channels = in_shape.last().copied().unwrap_or(0);
            if groups == 0 || channels % groups != 0 {
                return Err(layer_err(
                    d,
                    format!("{channels} input channels cannot be split into {groups} groups"),
                ));
            }
            let mut kernel_shape = kernel_size;
            kernel_shape.extend([channels / groups, filters]);
            let path = &d.weights_path;
            let kernel = w.var(&d.name, path, 0, 0, "kernel", &kernel_shape)?;
            let bias = if bool_opt(d, "use_bias", true) {
                Some(w.var(&d.name, path, 1, 1, "bias", &[filters])?)
            } else {
                None
            };
            Layer::Conv(Conv {
                kernel,
                kernel_shape,
                strides,
                dilation,
                padding: padding(d, rank == 1)?,
                groups,
                bias,
                activation: activation(d, d.config.get("activation"), keras3)?,
            })
        }
        "MaxPooling1D" | "MaxPool1D" | "MaxPooling2D" | "MaxPool2D" | "AveragePooling1D"
        | "AvgPool1D" | "AveragePooling2D" | "AvgPool2D" => {
            channels_last(d)?;
            let kind = if class.starts_with("Max") {
                PoolKind::Max
            } else {
                PoolKind::Average
            };
            let pool_size = tuple(d, "pool_size", rank, Some(&[2; 2][..rank]))?;
            // Keras: strides default to the pool size.
            let strides = tuple(d, "strides", rank, Some(&pool_size))?;
            Layer::Pool(Pool {
                kind,
                pool_size,
                strides,
                padding: padding(d, false)?,
            })
        }
        "GlobalMaxPooling2D" | "GlobalMaxPool2D" | "GlobalAveragePooling2D" | "GlobalAvgPool2D" => {
            channels_last(d)?;
            Layer::GlobalPool2D(GlobalPool2D {
                kind: if class.starts_with("GlobalMax") {
                    PoolKind::Max
                } else {
                    PoolKind::Average
                },
                keepdims: bool_opt(d, "keepdims", false),
            })
        }
        "ZeroPadding1D" => {
            channels_last(d)?;
            let p = tuple(d, "padding", 2, Some(&[1, 1]))?;
            Layer::Steps(StepOp::ZeroPad {
                before: p[0],
                after: p[1],
            })
        }
        "Cropping1D" => {
            let c = tuple(d, "cropping", 2, Some(&[1, 1]))?;
            Layer::Steps(StepOp::Crop {
                before: c[0],
                after: c[1],
            })
        }
        "UpSampling1D" => {
            let n = tuple(d, "size", 1, Some(&[2]))?[0];
            if n == 0 {
                return Err(layer_err(d, "`size` must be positive"));
            }
            Layer::Steps(StepOp::UpSample(n))
        }
        other => {
            return Err(KerasError::Unsupported {
                layer: d.name.clone(),
                class: other.to_owned(),
            });
        }
    })
}
