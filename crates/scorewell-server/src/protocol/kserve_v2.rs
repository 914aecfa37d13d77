//! The Open Inference Protocol (KServe v2) REST inference request and response.
//!
//! Request: `{"id"?, "parameters"?, "inputs": [{"name", "shape", "datatype", "data"}],
//! "outputs"?: [{"name"}]}`, one input tensor per column: `shape` is `[N]` or `[N, 1]`, `data`
//! is row-major (flat or nested). `BYTES` tensors hold strings; `FP16/32/64`, `INT*`, `UINT*`
//! hold numbers (floating-point tensors also the strings `"NaN"`, `"Infinity"`,
//! `"-Infinity"`); `BOOL` holds booleans; `null` is a missing value in any tensor.
//!
//! Response: `{"model_name", "model_version", "id"?, "outputs": [{"name", "datatype",
//! "shape": [N], "data"}]}`, by default one tensor per model output; `outputs` in the request
//! picks (and orders) them, and may also name pass-through inputs.

use std::fmt;

use arrow_array::RecordBatch;
use arrow_schema::DataType;
use serde::de::{self, DeserializeSeed, Deserializer, SeqAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use super::json::ColumnOut;
use super::{BatchBuilder, Built, Value, binary, decode_error, literal_at, quote_non_finite};
use crate::error::ApiError;
use crate::limits::Limits;
use crate::repository::LoadedModel;

#[derive(Debug, Deserialize)]
struct InferRequest {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    parameters: Params,
    inputs: Vec<InferInput>,
    #[serde(default)]
    outputs: Option<Vec<RequestedOutput>>,
}

/// The `parameters` this server reads (of a request, an input or an output); the others are
/// ignored.
#[derive(Debug, Default, Deserialize)]
struct Params {
    /// Every output as binary data (binary tensor data extension).
    #[serde(default)]
    binary_data_output: Option<bool>,
    /// An input's data is this many bytes of the binary part, not `data`.
    #[serde(default)]
    binary_data_size: Option<u64>,
    /// An output as binary data.
    #[serde(default)]
    binary_data: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct InferInput {
    name: String,
    shape: Vec<i64>,
    datatype: String,
    #[serde(default)]
    parameters: Params,
    #[serde(default)]
    data: Option<Flat>,
}

#[derive(Debug, Deserialize)]
struct RequestedOutput {
    name: String,
    #[serde(default)]
    parameters: Params,
}

/// A tensor's `data`, flattened row-major.
#[derive(Debug)]
struct Flat(Vec<Value<'static>>);

impl<'de> Deserialize<'de> for Flat {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut out = Vec::new();
        FlatSeed(&mut out).deserialize(d)?;
        Ok(Flat(out))
    }
}

struct FlatSeed<'a>(&'a mut Vec<Value<'static>>);

impl<'de> DeserializeSeed<'de> for FlatSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FlatSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tensor data: an array of numbers, strings, booleans or nulls")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(FlatSeed(&mut *self.0))?.is_some() {}
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.0.push(Value::Num(v));
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.0.push(Value::Num(v as f64));
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.0.push(Value::Num(v as f64));
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.0.push(Value::Bool(v));
        Ok(())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.0.push(Value::Str(v.to_string().into()));
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.0.push(Value::Null);
        Ok(())
    }
}

/// A parsed inference request.
pub(crate) struct Request {
    pub(crate) built: Built,
    id: Option<String>,
    /// The outputs to answer with, and whether each goes as binary data.
    outputs: Vec<(String, bool)>,
}

impl Request {
    /// Rows to score.
    pub(crate) fn rows(&self) -> usize {
        self.built.batch.num_rows()
    }

    /// The request's id, echoed in the answer.
    pub(crate) fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Number { float: bool },
    Bool,
    Bytes,
}

fn kind(datatype: &str) -> Option<Kind> {
    Some(match datatype {
        "FP16" | "FP32" | "FP64" => Kind::Number { float: true },
        "INT8" | "INT16" | "INT32" | "INT64" | "UINT8" | "UINT16" | "UINT32" | "UINT64" => {
            Kind::Number { float: false }
        }
        "BOOL" => Kind::Bool,
        "BYTES" => Kind::Bytes,
        _ => return None,
    })
}

/// The OIP datatype of an Arrow type, for metadata and responses.
pub(crate) fn datatype(dt: &DataType) -> &'static str {
    match dt {
        DataType::Float16 => "FP16",
        DataType::Float32 => "FP32",
        DataType::Float64 => "FP64",
        DataType::Int8 => "INT8",
        DataType::Int16 => "INT16",
        DataType::Int32 => "INT32",
        DataType::Int64 => "INT64",
        DataType::UInt8 => "UINT8",
        DataType::UInt16 => "UINT16",
        DataType::UInt32 => "UINT32",
        DataType::UInt64 => "UINT64",
        DataType::Boolean => "BOOL",
        _ => "BYTES",
    }
}

/// A tensor in a metadata answer: its name and datatype.
pub(crate) type TensorMeta = (String, &'static str);

/// A model's input and output tensors for metadata answers: `FP64` for numeric inputs,
/// `BYTES` for inputs that take category names or text; outputs by type.
pub(crate) fn tensor_metadata(model: &LoadedModel) -> (Vec<TensorMeta>, Vec<TensorMeta>) {
    let inputs = model
        .inputs()
        .iter()
        .map(|c| (c.name.clone(), if c.numeric { "FP64" } else { "BYTES" }))
        .collect();
    let outputs = model
        .outputs()
        .iter()
        .map(|f| (f.name().clone(), datatype(f.data_type())))
        .collect();
    (inputs, outputs)
}

/// Parse an inference request into a batch for `model`; `header_len` is the JSON part's
/// length when the body carries binary tensor data after it.
pub(crate) fn parse(
    model: &LoadedModel,
    body: &[u8],
    limits: &Limits,
    header_len: Option<usize>,
) -> Result<Request, ApiError> {
    let (json, mut binary_data) = match header_len {
        Some(n) => binary::split(body, n)?,
        None => (body, &[][..]),
    };
    let req: InferRequest = match serde_json::from_slice(json) {
        Ok(req) => req,
        // tritonclient writes NaN and infinities as bare literals: read them as the strings
        // "NaN", "Infinity", "-Infinity" (which floating-point tensors take) and try again.
        Err(e) if literal_at(json, e.line(), e.column()) => {
            serde_json::from_slice(&quote_non_finite(json)).map_err(|_| decode_error(e, json))?
        }
        Err(e) => return Err(decode_error(e, json)),
    };
    let bad = |m: String| ApiError::InvalidRequest(m);
    let mut tensors = Vec::with_capacity(req.inputs.len());
    for input in req.inputs {
        let name = &input.name;
        let data: Vec<Value<'_>> = match (input.parameters.binary_data_size, input.data) {
            (Some(size), None) => {
                let size = usize::try_from(size).unwrap_or(usize::MAX);
                if size > binary_data.len() {
                    return Err(bad(format!(
                        "input `{name}`: binary_data_size is {size} but {} bytes of binary data are left",
                        binary_data.len()
                    )));
                }
                let (mine, rest) = binary_data.split_at(size);
                binary_data = rest;
                let count = elements(&input.shape);
                binary::decode(name, &input.datatype, mine, count).map_err(bad)?
            }
            (None, Some(data)) => data.0,
            (Some(_), Some(_)) => {
                return Err(bad(format!(
                    "input `{name}` has both `data` and binary_data_size; send one"
                )));
            }
            (None, None) => {
                return Err(bad(format!(
                    "input `{name}` has no `data` (nor binary_data_size for binary data)"
                )));
            }
        };
        tensors.push(TensorIn {
            name: input.name,
            datatype: input.datatype,
            shape: input.shape,
            data,
        });
    }
    if !binary_data.is_empty() {
        return Err(bad(format!(
            "{} bytes of binary data follow the inputs' binary_data_size",
            binary_data.len()
        )));
    }
    let all_binary = req.parameters.binary_data_output.unwrap_or(false);
    let outputs = req.outputs.map(|list| {
        list.into_iter()
            .map(|o| (o.name, o.parameters.binary_data.unwrap_or(all_binary)))
            .collect()
    });
    build(model, limits, tensors, req.id, outputs, all_binary)
}

/// How many values a tensor of `shape` holds (0 for a shape with a negative dimension,
/// which [`build`] then refuses).
pub(crate) fn elements(shape: &[i64]) -> usize {
    shape
        .iter()
        .try_fold(1usize, |n, &d| {
            usize::try_from(d).ok().map(|d| n.saturating_mul(d))
        })
        .unwrap_or(0)
}

/// One input tensor, its values flattened row-major: from JSON `data`, binary tensor data or
/// a gRPC request.
pub(crate) struct TensorIn<'a> {
    pub(crate) name: String,
    pub(crate) datatype: String,
    pub(crate) shape: Vec<i64>,
    pub(crate) data: Vec<Value<'a>>,
}

/// The batch for `model` from its input tensors; `outputs` names (and says which to send as
/// binary data) the outputs to answer with, or `None` for every model output, binary when
/// `all_binary`.
pub(crate) fn build(
    model: &LoadedModel,
    limits: &Limits,
    inputs: Vec<TensorIn<'_>>,
    id: Option<String>,
    outputs: Option<Vec<(String, bool)>>,
    all_binary: bool,
) -> Result<Request, ApiError> {
    let max_rows = limits.max_rows;
    let bad = |m: String| ApiError::InvalidRequest(m);
    let mut b = BatchBuilder::new(model, limits);
    let mut rows: Option<usize> = None;
    for (i, input) in inputs.into_iter().enumerate() {
        let name = &input.name;
        let k = kind(&input.datatype).ok_or_else(|| {
            bad(format!(
                "input `{name}`: unknown datatype `{}` (use BOOL, INT8…INT64, UINT8…UINT64, FP16, FP32, FP64 or BYTES)",
                input.datatype
            ))
        })?;
        // A vector input (an embedding for a nearest-neighbour stage) takes an [N, D] tensor:
        // row-major data, one vector of D numbers per row.
        let vector_input = model
            .input_position(name)
            .and_then(|p| model.inputs().get(p))
            .is_some_and(|c| c.vector);
        let (n, width) = match input.shape.as_slice() {
            [n, rest @ ..] if *n >= 0 && rest.iter().all(|&d| d == 1) => (*n as usize, None),
            [n, d] if *n >= 0 && *d >= 0 && vector_input => (*n as usize, Some(*d as usize)),
            _ => {
                return Err(bad(format!(
                    "input `{name}`: shape {:?} is not one column; send one tensor per column, shaped [N] or [N, 1] ([N, D] for a vector input)",
                    input.shape
                )));
            }
        };
        let values = n.saturating_mul(width.unwrap_or(1));
        let data = input.data;
        if data.len() != values {
            return Err(bad(format!(
                "input `{name}`: shape {:?} needs {values} values, data has {}",
                input.shape,
                data.len()
            )));
        }
        match rows {
            None => rows = Some(n),
            Some(m) if m != n => {
                return Err(bad(format!(
                    "input `{name}` has {n} rows but the first input has {m}"
                )));
            }
            Some(_) => {}
        }
        if n > max_rows {
            return Err(ApiError::TooManyRows { limit: max_rows });
        }
        let col = b.column(name, i).map_err(bad)?;
        b.touch(col).map_err(|_| {
            b.limit_error()
                .unwrap_or_else(|| bad(format!("input `{name}` appears twice")))
        })?;
        if let Some(d) = width {
            if !matches!(k, Kind::Number { .. }) {
                return Err(bad(format!(
                    "input `{name}`: a vector input takes a numeric tensor, not {}",
                    input.datatype
                )));
            }
            let mut data = data.into_iter();
            for row in 0..n {
                let mut items = Vec::with_capacity(d);
                for (k, v) in data.by_ref().take(d).enumerate() {
                    match v {
                        Value::Num(x) => items.push(x),
                        other => {
                            return Err(bad(format!(
                                "input `{name}`, row {row}, element {k}: {} in a {} tensor",
                                other.describe(),
                                input.datatype
                            )));
                        }
                    }
                }
                b.push(col, row, Value::List(items)).map_err(|e| {
                    b.limit_error()
                        .unwrap_or_else(|| bad(format!("input `{name}` ({}): {e}", input.datatype)))
                })?;
            }
            continue;
        }
        for (row, v) in data.into_iter().enumerate() {
            let fits = match (&v, k) {
                (Value::Null, _) => true,
                (Value::Num(_), Kind::Number { .. }) => true,
                (Value::Str(s), Kind::Number { float: true }) => super::special_number(s).is_some(),
                (Value::Bool(_), Kind::Bool) => true,
                (Value::Str(_), Kind::Bytes) => true,
                _ => false,
            };
            if !fits {
                return Err(bad(format!(
                    "input `{name}`, element {row}: {} in a {} tensor",
                    v.describe(),
                    input.datatype
                )));
            }
            b.push(col, row, v).map_err(|e| {
                b.limit_error()
                    .unwrap_or_else(|| bad(format!("input `{name}` ({}): {e}", input.datatype)))
            })?;
        }
    }
    let outputs = outputs.unwrap_or_else(|| {
        model
            .outputs()
            .iter()
            .map(|f| (f.name().clone(), all_binary))
            .collect()
    });
    let built = b.finish(rows.unwrap_or(0))?;
    Ok(Request { built, id, outputs })
}

/// An encoded answer: the body, and the length of its JSON part when binary tensor data
/// follow it (the `Inference-Header-Content-Length` of the response).
pub(crate) struct Answer {
    pub(crate) body: Vec<u8>,
    pub(crate) json_len: Option<usize>,
}

/// One output tensor of an answer: its values flattened row-major, its shape, and whether the
/// request asked for it as binary data.
pub(crate) struct OutTensor<'a> {
    pub(crate) name: &'a str,
    pub(crate) values: arrow_array::ArrayRef,
    pub(crate) shape: Vec<usize>,
    pub(crate) binary: bool,
}

/// The output tensors `req` asks for, from `scored`.
pub(crate) fn out_tensors<'a>(
    req: &'a Request,
    scored: &RecordBatch,
) -> Result<Vec<OutTensor<'a>>, ApiError> {
    let schema = scored.schema_ref();
    let first = req.built.inputs_present;
    req.outputs
        .iter()
        .map(|(name, binary)| {
            let i = schema.fields()[first..]
                .iter()
                .position(|f| f.name() == name)
                .ok_or_else(|| {
                    let available: Vec<&str> = schema.fields()[first..]
                        .iter()
                        .map(|f| f.name().as_str())
                        .collect();
                    ApiError::InvalidRequest(format!(
                        "no output named `{name}` (outputs: {})",
                        available.join(", ")
                    ))
                })?;
            let column = scored.column(first + i);
            // A list column whose rows all hold k values (a nearest-neighbour stage's ids and
            // distances) is the [N, k] tensor of its item type, row-major.
            let (values, shape) = match uniform_list(column.as_ref()) {
                Some((values, k)) => (values, vec![column.len(), k]),
                None => (column.clone(), vec![column.len()]),
            };
            Ok(OutTensor {
                name,
                values,
                shape,
                binary: *binary,
            })
        })
        .collect()
}

/// Write the inference response for `req`, scored as `scored`.
pub(crate) fn answer(
    model: &LoadedModel,
    req: &Request,
    scored: &RecordBatch,
) -> Result<Answer, ApiError> {
    let mut tensors = Vec::with_capacity(req.outputs.len());
    let mut tail = Vec::new();
    let mut any_binary = false;
    for out in out_tensors(req, scored)? {
        // An output with no binary form here (a struct) is sent as JSON even when asked for.
        let binary_size = match out
            .binary
            .then(|| binary::encode(out.values.as_ref()))
            .flatten()
        {
            Some(bytes) => {
                any_binary = true;
                let size = bytes.len();
                tail.extend_from_slice(&bytes);
                Some(size)
            }
            None => None,
        };
        tensors.push(Tensor {
            name: out.name,
            values: out.values,
            shape: out.shape,
            binary_size,
        });
    }
    let body = Response {
        model,
        id: req.id(),
        tensors,
    };
    let mut out = serde_json::to_vec(&body).map_err(|e| ApiError::Internal(e.to_string()))?;
    let json_len = any_binary.then_some(out.len());
    out.extend_from_slice(&tail);
    Ok(Answer {
        body: out,
        json_len,
    })
}

struct Response<'a> {
    model: &'a LoadedModel,
    id: Option<&'a str>,
    tensors: Vec<Tensor<'a>>,
}

impl Serialize for Response<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("model_name", self.model.name())?;
        map.serialize_entry("model_version", self.model.version())?;
        if let Some(id) = self.id {
            map.serialize_entry("id", id)?;
        }
        map.serialize_entry("outputs", &self.tensors)?;
        map.end()
    }
}

/// One output tensor: its values flattened row-major, and where they go.
struct Tensor<'a> {
    name: &'a str,
    values: arrow_array::ArrayRef,
    shape: Vec<usize>,
    /// Sent after the JSON as this many bytes, instead of as `data`.
    binary_size: Option<usize>,
}

impl Serialize for Tensor<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(4))?;
        map.serialize_entry("name", self.name)?;
        map.serialize_entry("datatype", datatype(self.values.data_type()))?;
        map.serialize_entry("shape", &self.shape)?;
        match self.binary_size {
            Some(size) => {
                map.serialize_entry("parameters", &serde_json::json!({"binary_data_size": size}))?
            }
            None => map.serialize_entry("data", &ColumnOut(self.values.as_ref()))?,
        }
        map.end()
    }
}

/// The values of a list column without nulls whose rows all have the same length, and that
/// length (the values sliced to the rows in view).
fn uniform_list(array: &dyn arrow_array::Array) -> Option<(arrow_array::ArrayRef, usize)> {
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    let list = array.as_list_opt::<i32>()?;
    if list.null_count() > 0 || list.is_empty() {
        return None;
    }
    let offsets = list.value_offsets();
    let k = (offsets[1] - offsets[0]) as usize;
    if offsets.windows(2).any(|w| (w[1] - w[0]) as usize != k) {
        return None;
    }
    let start = offsets[0] as usize;
    Some((list.values().slice(start, k * list.len()), k))
}
