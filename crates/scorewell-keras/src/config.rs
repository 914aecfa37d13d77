//! The architecture JSON (Keras 3 `config.json` / `to_json()`) read into a flat description:
//! layers in order, each with the tensors its call(s) read. Both `inbound_nodes` forms are
//! accepted: Keras 3's `{"args": [...keras tensors...], "kwargs": {}}` and Keras 2's
//! `[[layer, node, tensor, kwargs], ...]`.

use serde_json::Value;

use crate::error::KerasError;
use crate::mask_ops;

/// A reference to one output of one call of a layer: (layer name, call index).
pub(crate) type TensorRef = (String, usize);

pub(crate) struct LayerDesc {
    pub class: String,
    pub name: String,
    pub config: Value,
    /// Where the layer's variables live in a Keras 3 weights file (`layers/<path>/vars/<i>`).
    pub weights_path: String,
    /// One entry per call of the layer (a shared layer is called more than once).
    pub calls: Vec<Vec<TensorRef>>,
    /// Keras 3 call keyword arguments that hold tensors (`mask`, `initial_state`), any call.
    pub tensor_kwargs: Vec<String>,
}

pub(crate) struct ModelDesc {
    pub name: String,
    pub layers: Vec<LayerDesc>,
    /// (input layer name, per-sample shape)
    pub inputs: Vec<(String, Vec<usize>)>,
    pub outputs: Vec<TensorRef>,
    /// The `keras_version` the file names: `hard_sigmoid` changed formula in Keras 3.
    pub keras3: bool,
}

fn cfg_err(msg: impl Into<String>) -> KerasError {
    KerasError::Config(msg.into())
}

/// Keras' `to_snake_case`, which names each layer's group in the weights file after its class
/// (`BatchNormalization` → `batch_normalization`), not after the layer's own name.
pub(crate) fn snake_case(class: &str) -> String {
    let chars: Vec<char> = class.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if i > 0 && c.is_ascii_uppercase() {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(char::is_ascii_lowercase);
            if next_lower || prev.is_ascii_lowercase() {
                out.push('_');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// Hands out Keras' de-duplicated object names: `dense`, `dense_1`, ...
#[derive(Default)]
struct Namer(std::collections::HashMap<String, usize>);

impl Namer {
    fn next(&mut self, class: &str) -> String {
        let base = snake_case(class);
        let n = self.0.entry(base.clone()).or_insert(0);
        let name = if *n == 0 {
            base.clone()
        } else {
            format!("{base}_{n}")
        };
        *n += 1;
        name
    }
}

fn layer_name(layer: &Value) -> Option<String> {
    layer
        .get("name")
        .or_else(|| layer.get("config")?.get("name"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// A per-sample shape from `[null, d1, d2, ...]`.
fn sample_shape(layer: &str, shape: &Value) -> Result<Vec<usize>, KerasError> {
    let dims = shape
        .as_array()
        .filter(|d| !d.is_empty())
        .ok_or_else(|| cfg_err(format!("input `{layer}` has no batch shape")))?;
    dims[1..]
        .iter()
        .map(|d| {
            d.as_u64().and_then(|d| usize::try_from(d).ok()).ok_or_else(|| {
                cfg_err(format!(
                    "input `{layer}` has a variable dimension in {shape}; scorewell needs fixed input shapes"
                ))
            })
        })
        .collect()
}

fn input_shape(layer: &str, config: &Value) -> Result<Vec<usize>, KerasError> {
    let shape = config
        .get("batch_shape")
        .or_else(|| config.get("batch_input_shape"))
        .ok_or_else(|| cfg_err(format!("input `{layer}` has no batch_shape")))?;
    sample_shape(layer, shape)
}

/// Collects the keras tensors of a Keras 3 call's args, in order.
fn keras3_tensors(v: &Value, out: &mut Vec<TensorRef>) {
    match v {
        Value::Object(o)
            if o.get("class_name").and_then(Value::as_str) == Some("__keras_tensor__") =>
        {
            let h = o.get("config").and_then(|c| c.get("keras_history"));
            let layer = h.and_then(|h| h.get(0)).and_then(Value::as_str);
            let node = h.and_then(|h| h.get(1)).and_then(Value::as_u64);
            if let (Some(l), Some(n)) = (layer, node) {
                out.push((l.to_owned(), n as usize));
            }
        }
        Value::Array(a) => a.iter().for_each(|x| keras3_tensors(x, out)),
        _ => {}
    }
}

fn calls(layer: &str, inbound: &Value) -> Result<Vec<Vec<TensorRef>>, KerasError> {
    let nodes = inbound
        .as_array()
        .ok_or_else(|| cfg_err(format!("layer `{layer}`: inbound_nodes is not a list")))?;
    nodes
        .iter()
        .map(|node| {
            let mut refs = Vec::new();
            if let Some(args) = node.get("args") {
                keras3_tensors(args, &mut refs);
            } else if let Some(list) = node.as_array() {
                // Keras 2: [[layer, node_index, tensor_index, kwargs], ...]
                for r in list {
                    let l = r.get(0).and_then(Value::as_str);
                    let n = r.get(1).and_then(Value::as_u64);
                    match (l, n) {
                        (Some(l), Some(n)) => refs.push((l.to_owned(), n as usize)),
                        _ => {
                            return Err(cfg_err(format!(
                                "layer `{layer}`: unreadable inbound node {r}"
                            )));
                        }
                    }
                }
            }
            if refs.is_empty() {
                return Err(cfg_err(format!(
                    "layer `{layer}`: a call with no input tensors"
                )));
            }
            Ok(refs)
        })
        .collect()
}

/// The keyword arguments of Keras 3 calls that hold keras tensors.
fn tensor_kwargs(inbound: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let nodes = inbound.as_array().map(Vec::as_slice).unwrap_or_default();
    for kwargs in nodes.iter().filter_map(|n| n.get("kwargs")?.as_object()) {
        for (k, v) in kwargs {
            let mut refs = Vec::new();
            keras3_tensors(v, &mut refs);
            if !refs.is_empty() && !out.contains(k) {
                out.push(k.clone());
            }
        }
    }
    out
}

/// `input_layers` / `output_layers`: `[[name, node, tensor], ...]` or a single `[name, node, tensor]`.
fn endpoints(v: Option<&Value>, what: &str) -> Result<Vec<TensorRef>, KerasError> {
    let list = v
        .and_then(Value::as_array)
        .ok_or_else(|| cfg_err(format!("the model config has no {what}")))?;
    let one = |r: &Value| -> Option<TensorRef> {
        Some((r.get(0)?.as_str()?.to_owned(), r.get(1)?.as_u64()? as usize))
    };
    if list.first().is_some_and(Value::is_string) {
        return one(&Value::Array(list.clone()))
            .map(|r| vec![r])
            .ok_or_else(|| cfg_err(format!("unreadable {what}")));
    }
    list.iter()
        .map(|r| one(r).ok_or_else(|| cfg_err(format!("unreadable entry {r} in {what}"))))
        .collect()
}

pub(crate) fn parse(root: &Value, version: Option<&str>) -> Result<ModelDesc, KerasError> {
    let class = root
        .get("class_name")
        .and_then(Value::as_str)
        .ok_or_else(|| cfg_err("no top-level class_name"))?;
    let config = root
        .get("config")
        .ok_or_else(|| cfg_err("no top-level config"))?;
    let name = config
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("model")
        .to_owned();
    // Keras <= 2.1 wrote a Sequential config as the bare list of its layers.
    let layers = config
        .get("layers")
        .or(Some(config).filter(|c| c.is_array()))
        .and_then(Value::as_array)
        .ok_or_else(|| cfg_err(format!("`{class}` config has no layers")))?;
    // No version recorded: a Keras 3 config carries `module` keys, a Keras 2 one does not.
    let keras3 = match version {
        Some(v) => !v.starts_with('2') && !v.starts_with('1'),
        None => root.get("module").is_some(),
    };
    let mut namer = Namer::default();
    let mut model = ModelDesc {
        name,
        layers: Vec::new(),
        inputs: Vec::new(),
        outputs: Vec::new(),
        keras3,
    };
    match class {
        "Sequential" => {
            let mut prev: Option<TensorRef> = None;
            for (i, l) in layers.iter().enumerate() {
                let lclass = l
                    .get("class_name")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
                    .to_owned();
                let lname = layer_name(l).unwrap_or_else(|| format!("layer_{i}"));
                let lconfig = l.get("config").cloned().unwrap_or(Value::Null);
                if lclass == "InputLayer" {
                    model
                        .inputs
                        .push((lname.clone(), input_shape(&lname, &lconfig)?));
                    prev = Some((lname, 0));
                    continue;
                }
                let input = match prev.take() {
                    Some(p) => p,
                    None => {
                        // No InputLayer: the first layer (or the model) records the input shape.
                        let shape = lconfig
                            .get("batch_input_shape")
                            .or_else(|| l.get("build_config")?.get("input_shape"))
                            .or_else(|| config.get("build_input_shape"))
                            .ok_or_else(|| {
                                cfg_err("the Sequential model declares no input shape")
                            })?;
                        // Keras 2 names the InputLayer it makes `<first layer>_input`, and
                        // that is the model's input name.
                        let input = if keras3 {
                            "input".to_owned()
                        } else {
                            format!("{lname}_input")
                        };
                        model
                            .inputs
                            .push((input.clone(), sample_shape(&input, shape)?));
                        (input, 0)
                    }
                };
                model.layers.push(LayerDesc {
                    weights_path: namer.next(&lclass),
                    class: lclass,
                    name: lname.clone(),
                    config: lconfig,
                    calls: vec![vec![input]],
                    tensor_kwargs: Vec::new(),
                });
                prev = Some((lname, 0));
            }
            let last = prev.ok_or_else(|| cfg_err("the Sequential model has no layers"))?;
            model.outputs.push(last);
        }
        "Functional" | "Model" => {
            let inputs = endpoints(config.get("input_layers"), "input_layers")?;
            let mut ops = Vec::new();
            for (i, l) in layers.iter().enumerate() {
                let lclass = l
                    .get("class_name")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
                    .to_owned();
                let lname = layer_name(l).unwrap_or_else(|| format!("layer_{i}"));
                let lconfig = l.get("config").cloned().unwrap_or(Value::Null);
                let op = mask_ops::is_op(l);
                // Operations are not layers: they own no variables and take no name in the
                // weights file.
                let weights_path = if op {
                    String::new()
                } else {
                    namer.next(&lclass)
                };
                if lclass == "InputLayer" {
                    continue;
                }
                let inbound = l.get("inbound_nodes").unwrap_or(&Value::Null);
                let calls = calls(&lname, inbound)?;
                model.layers.push(LayerDesc {
                    class: lclass,
                    name: lname,
                    config: lconfig,
                    weights_path,
                    calls,
                    tensor_kwargs: tensor_kwargs(inbound),
                });
                if op {
                    ops.push(model.layers.len() - 1);
                }
            }
            mask_ops::drop_mask_ops(&mut model.layers, &ops);
            for (input, _) in inputs {
                let l = layers
                    .iter()
                    .find(|l| layer_name(l).as_deref() == Some(&input))
                    .ok_or_else(|| {
                        cfg_err(format!("input layer `{input}` is not among the layers"))
                    })?;
                let shape = input_shape(&input, l.get("config").unwrap_or(&Value::Null))?;
                model.inputs.push((input, shape));
            }
            model.outputs = endpoints(config.get("output_layers"), "output_layers")?;
        }
        other => {
            return Err(KerasError::Unsupported {
                layer: model.name,
                class: other.to_owned(),
            });
        }
    }
    Ok(model)
}

#[cfg(test)]
mod tests {
    use super::snake_case;

    #[test]
    fn snake_case_matches_keras() {
        for (c, s) in [
            ("Dense", "dense"),
            ("BatchNormalization", "batch_normalization"),
            ("InputLayer", "input_layer"),
            ("Conv1D", "conv1d"),
            ("LSTM", "lstm"),
            ("GlobalAveragePooling1D", "global_average_pooling1d"),
        ] {
            assert_eq!(snake_case(c), s);
        }
    }
}
