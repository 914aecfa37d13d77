//! Loading an ONNX model from bytes into a tract plan, once, with the batch axis symbolic.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use tract_onnx::pb::{self, tensor_proto::DataType as PbType, tensor_shape_proto::dimension};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::DimLike;

use crate::check::check_model;
use crate::error::{OnnxError, Result, chain};

/// The element types scorewell feeds into a graph input (converted from the column's floats).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputType {
    /// `tensor(float)`.
    F32,
    /// `tensor(double)`.
    F64,
    /// `tensor(int32)`: token ids and other integer codes.
    I32,
    /// `tensor(int64)`.
    I64,
}

impl InputType {
    fn datum(self) -> DatumType {
        match self {
            Self::F32 => f32::datum_type(),
            Self::F64 => f64::datum_type(),
            Self::I32 => i32::datum_type(),
            Self::I64 => i64::datum_type(),
        }
    }

    /// The ONNX spelling, for `inspect` and errors.
    pub fn onnx_name(self) -> &'static str {
        match self {
            Self::F32 => "float",
            Self::F64 => "double",
            Self::I32 => "int32",
            Self::I64 => "int64",
        }
    }
}

/// A graph input: its ONNX name, element type and the shape of one row (the batch axis left
/// out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// The ONNX name, which is also the column it binds to.
    pub name: String,
    /// The element type the graph wants.
    pub ty: InputType,
    /// One row's shape; a row holds the product of these values, flattened row-major.
    pub row_shape: Vec<usize>,
}

/// A graph output: its ONNX name, element type and one row's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// The ONNX name.
    pub name: String,
    /// The element type, spelled as ONNX does (`float`, `int64`, ...); scored values are
    /// cast to f64.
    pub ty: String,
    /// One row's shape (the batch axis left out).
    pub row_shape: Vec<usize>,
}

/// How rows map onto the graph's leading axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Batch {
    /// Every input's leading axis is symbolic: any number of rows per call.
    Any,
    /// The graph was exported with a fixed leading axis (often 1 from `torch.onnx.export`
    /// without `dynamic_axes`): rows run in chunks of this size.
    Fixed(usize),
}

/// What `inspect` shows about an ONNX model.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// `producer_name producer_version` from the file (tf2onnx, pytorch, ...).
    pub producer: String,
    /// The default-domain opset the file imports.
    pub opset: i64,
    /// Nodes of the top-level graph per op type.
    pub op_counts: BTreeMap<String, usize>,
}

/// How tract plans are made for the row counts a model is called with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Planning {
    /// A plan per row count, made on first use and kept (at most [`PLAN_CACHE`]). The
    /// default: measured faster than [`Planning::Symbolic`] at 1 and 1,000 rows on every
    /// conformance model (up to 2x for a Conv1D model at 1 row; `examples/plans.rs`,
    /// docs/ONNX.md), for a planning pass the first time a row count is seen.
    #[default]
    PerRowCount,
    /// One plan with a symbolic row count, for workloads calling with many different row
    /// counts. Graphs with recurrent ops are planned per row count all the same.
    Symbolic,
}

/// How many per-row-count plans a model keeps; a Spark or server workload sees a few batch
/// sizes (the configured one and the last, shorter, batch), so this is rarely reached, and
/// when it is the cache starts over rather than grow.
pub const PLAN_CACHE: usize = 16;

type Plan = Arc<TypedRunnableModel>;

enum Plans {
    /// One plan for every row count.
    Symbolic(Plan),
    /// tract types some ops only with a concrete row count — a recurrent node without an
    /// initial state builds its zero state from the batch size, and panics on a symbol
    /// (tract 0.23 `rec/common.rs`) — so those graphs get a plan per row count.
    PerRowCount {
        template: Box<InferenceModel>,
        cache: Mutex<HashMap<usize, Plan>>,
    },
}

impl std::fmt::Debug for Plans {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Symbolic(_) => f.write_str("Symbolic"),
            Self::PerRowCount { cache, .. } => {
                let n = cache.lock().map_or(0, |c| c.len());
                write!(f, "PerRowCount({n} plans)")
            }
        }
    }
}

/// An ONNX model ready to run: decoded, checked, typed, optimised and planned once.
#[derive(Debug)]
pub struct OnnxModel {
    plans: Plans,
    inputs: Vec<Input>,
    outputs: Vec<Output>,
    batch: Batch,
    summary: Summary,
}

impl OnnxModel {
    /// Loads a model from the bytes of a `.onnx` file. Refuses, naming the node, any op the
    /// engine cannot run and any recurrent node it would compute differently from ONNX
    /// Runtime (see [`crate`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Self::from_bytes_with(bytes, Planning::default())
    }

    /// [`OnnxModel::from_bytes`] with a chosen [`Planning`].
    pub fn from_bytes_with(bytes: &[u8], planning: Planning) -> Result<Self> {
        let onnx = tract_onnx::onnx();
        let mut proto = onnx
            .proto_model_for_read(&mut &bytes[..])
            .map_err(|e| OnnxError::Decode(chain(&e)))?;
        check_model(&proto, &|op| onnx.op_register.0.contains_key(op))?;
        drop_value_info(&mut proto);
        let graph = proto
            .graph
            .as_ref()
            .ok_or_else(|| OnnxError::Decode("the model has no graph".into()))?;

        let (inputs, batch) = read_inputs(graph)?;
        let template = guard(|| onnx.model_for_proto_model(&proto))?;
        let per_row_count =
            planning == Planning::PerRowCount || (batch == Batch::Any && has_recurrent(graph));
        let (plans, outputs) = if batch == Batch::Any && !per_row_count {
            let n = template.symbols.sym("N");
            let typed = optimise(template, &inputs, n.clone().into())?;
            let outputs = read_outputs(graph, &typed, &n.into())?;
            (Plans::Symbolic(plan(typed)?), outputs)
        } else {
            let rows = match batch {
                Batch::Fixed(d) => d,
                Batch::Any => 1,
            };
            let typed = optimise(template.clone(), &inputs, rows.into())?;
            let outputs = read_outputs(graph, &typed, &rows.into())?;
            let first = plan(typed)?;
            let cache = Mutex::new(HashMap::from([(rows, first)]));
            (
                Plans::PerRowCount {
                    template: Box::new(template),
                    cache,
                },
                outputs,
            )
        };

        let mut op_counts = BTreeMap::new();
        for node in &graph.node {
            *op_counts.entry(node.op_type.clone()).or_insert(0) += 1;
        }
        let opset = proto
            .opset_import
            .iter()
            .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
            .map_or(0, |o| o.version);
        let producer = format!("{} {}", proto.producer_name, proto.producer_version)
            .trim()
            .to_owned();
        Ok(Self {
            plans,
            inputs,
            outputs,
            batch,
            summary: Summary {
                producer,
                opset,
                op_counts,
            },
        })
    }

    /// The graph inputs, in ONNX order.
    pub fn inputs(&self) -> &[Input] {
        &self.inputs
    }

    /// The graph outputs, in ONNX order.
    pub fn outputs(&self) -> &[Output] {
        &self.outputs
    }

    /// How many rows one call of the graph takes.
    pub fn batch(&self) -> Batch {
        self.batch
    }

    /// Producer, opset and op counts, for `inspect`.
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// Runs the graph on one tensor per input (leading axis = rows), returning one f64 buffer
    /// per output, row-major. Callers with a [`Batch::Fixed`] graph pass that many rows.
    pub fn run(&self, inputs: TVec<TValue>) -> Result<Vec<Vec<f64>>> {
        let plan = match &self.plans {
            Plans::Symbolic(p) => p.clone(),
            Plans::PerRowCount { template, cache } => {
                let rows = inputs
                    .first()
                    .map_or(0, |t| t.shape().first().copied().unwrap_or(0));
                self.plan_for(template, cache, rows)?
            }
        };
        let out = guard(|| plan.run(inputs)).map_err(|e| match e {
            OnnxError::Load(m) => OnnxError::Run(m),
            other => other,
        })?;
        out.iter()
            .map(|t| {
                let t = t.cast_to::<f64>().map_err(|e| OnnxError::Run(chain(&e)))?;
                let view = t
                    .try_as_plain_ram()
                    .map_err(|e| OnnxError::Run(chain(&e)))?;
                let values = view
                    .as_slice::<f64>()
                    .map_err(|e| OnnxError::Run(chain(&e)))?;
                Ok(values.to_vec())
            })
            .collect()
    }

    /// The cached plan for `rows`, made now if absent. Made outside the lock: planning takes
    /// milliseconds and other threads may be scoring other row counts meanwhile.
    fn plan_for(
        &self,
        template: &InferenceModel,
        cache: &Mutex<HashMap<usize, Plan>>,
        rows: usize,
    ) -> Result<Plan> {
        let lock = || {
            cache
                .lock()
                .map_err(|_| OnnxError::Run("a thread panicked while planning this model".into()))
        };
        if let Some(p) = lock()?.get(&rows) {
            return Ok(p.clone());
        }
        let made = plan(optimise(template.clone(), &self.inputs, rows.into())?)?;
        let mut c = lock()?;
        if c.len() >= PLAN_CACHE {
            c.clear();
        }
        Ok(c.entry(rows).or_insert(made).clone())
    }
}

/// Runs tract, turning its errors into [`OnnxError::Load`] and its panics (tract unwraps in
/// places on graphs it does not expect) into errors rather than taking the caller down.
fn guard<T>(f: impl FnOnce() -> TractResult<T>) -> Result<T> {
    match scorewell_core::guard::catch(f) {
        Ok(r) => r.map_err(|e| OnnxError::Load(chain(&e))),
        Err(msg) => Err(OnnxError::Load(format!(
            "the ONNX engine (tract) panicked: {msg}"
        ))),
    }
}

/// Sets every input's fact (leading axis `lead`) and types + optimises the graph.
fn optimise(mut model: InferenceModel, inputs: &[Input], lead: TDim) -> Result<TypedModel> {
    for (i, input) in inputs.iter().enumerate() {
        let shape: TVec<TDim> = std::iter::once(lead.clone())
            .chain(input.row_shape.iter().map(|&d| d.into()))
            .collect();
        guard(|| model.set_input_fact(i, InferenceFact::dt_shape(input.ty.datum(), shape)))?;
    }
    guard(|| model.into_optimized())
}

/// The model without its intermediate shape annotations (`graph.value_info`). They are
/// optional hints, and PyTorch's torch.export-based exporter writes them with the batch axis
/// as a symbol, which tract then cannot unify with the row count each plan fixes ("Impossible
/// to unify Sym(batch) with Val(1)"); tract infers every shape from the inputs anyway.
fn drop_value_info(proto: &mut pb::ModelProto) {
    if let Some(g) = proto.graph.as_mut() {
        g.value_info.clear();
    }
}

fn plan(typed: TypedModel) -> Result<Plan> {
    guard(|| typed.into_runnable())
}

/// ONNX's spelling of an element type, for `inspect` (tract's `Debug` otherwise).
fn onnx_type_name(dt: DatumType) -> String {
    let name = match dt {
        DatumType::F16 => "float16",
        DatumType::F32 => "float",
        DatumType::F64 => "double",
        DatumType::I8 => "int8",
        DatumType::I16 => "int16",
        DatumType::I32 => "int32",
        DatumType::I64 => "int64",
        DatumType::U8 => "uint8",
        DatumType::U16 => "uint16",
        DatumType::U32 => "uint32",
        DatumType::U64 => "uint64",
        DatumType::Bool => "bool",
        other => return format!("{other:?}"),
    };
    name.to_owned()
}

/// Whether any node, in any subgraph, is a recurrent op.
fn has_recurrent(graph: &pb::GraphProto) -> bool {
    graph.node.iter().any(|n| {
        matches!(n.op_type.as_str(), "LSTM" | "GRU" | "RNN")
            || n.attribute
                .iter()
                .any(|a| a.g.iter().chain(&a.graphs).any(has_recurrent))
    })
}

/// The graph inputs that are not initializers, with their types and row shapes, and how the
/// leading axis is declared.
fn read_inputs(graph: &pb::GraphProto) -> Result<(Vec<Input>, Batch)> {
    let mut inputs = Vec::new();
    let mut batches = Vec::new();
    for vi in &graph.input {
        if graph.initializer.iter().any(|t| t.name == vi.name) {
            continue;
        }
        let bad = |reason: String| OnnxError::Interface {
            kind: "input",
            name: vi.name.clone(),
            reason,
        };
        let Some(pb::type_proto::Value::TensorType(tt)) =
            vi.r#type.as_ref().and_then(|t| t.value.as_ref())
        else {
            return Err(bad("is not a tensor".into()));
        };
        let ty = match PbType::try_from(tt.elem_type) {
            Ok(PbType::Float) => InputType::F32,
            Ok(PbType::Double) => InputType::F64,
            Ok(PbType::Int32) => InputType::I32,
            Ok(PbType::Int64) => InputType::I64,
            other => {
                return Err(bad(format!(
                    "has element type {other:?}; scorewell feeds float, double, int32 or int64 \
                     tensors"
                )));
            }
        };
        let dims = tt.shape.as_ref().map_or(&[][..], |s| &s.dim[..]);
        let Some((lead, rest)) = dims.split_first() else {
            return Err(bad(
                "has no declared shape or is a scalar; scorewell needs a leading batch axis \
                 (one entry per row)"
                    .into(),
            ));
        };
        batches.push(match lead.value {
            Some(dimension::Value::DimValue(d)) if d > 0 => Batch::Fixed(d as usize),
            _ => Batch::Any,
        });
        let mut row_shape = Vec::with_capacity(rest.len());
        for (axis, d) in rest.iter().enumerate() {
            match d.value {
                Some(dimension::Value::DimValue(v)) if v > 0 => row_shape.push(v as usize),
                ref other => {
                    return Err(bad(format!(
                        "axis {} is {}; every axis but the first (the rows) must be a fixed size",
                        axis + 1,
                        match other {
                            Some(dimension::Value::DimParam(p)) => format!("symbolic (`{p}`)"),
                            _ => "unknown".into(),
                        }
                    )));
                }
            }
        }
        // Caps what one row may declare so a hostile header cannot make every row allocate
        // gigabytes (2^28 values = 1 GiB of f32 per row).
        if row_shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .is_none_or(|n| n > 1 << 28)
        {
            return Err(bad(format!("row shape {row_shape:?} is too large")));
        }
        inputs.push(Input {
            name: vi.name.clone(),
            ty,
            row_shape,
        });
    }
    if inputs.is_empty() {
        return Err(OnnxError::Interface {
            kind: "graph",
            name: graph.name.clone(),
            reason: "has no inputs to bind to columns".into(),
        });
    }
    let batch = match batches.iter().find(|b| **b != Batch::Any) {
        None => Batch::Any,
        Some(&fixed) => {
            // A graph mixing a symbolic and a fixed leading axis, or two fixed sizes, has no
            // single row count per call.
            if batches.iter().any(|b| *b != fixed) {
                return Err(OnnxError::Interface {
                    kind: "graph",
                    name: graph.name.clone(),
                    reason: format!(
                        "its inputs declare different leading (batch) axes: {}",
                        inputs
                            .iter()
                            .zip(&batches)
                            .map(|(i, b)| format!("{} {b:?}", i.name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            }
            fixed
        }
    };
    Ok((inputs, batch))
}

/// Output names from the file, shapes and types from the optimised model; the leading axis
/// must be the rows.
fn read_outputs(graph: &pb::GraphProto, typed: &TypedModel, lead: &TDim) -> Result<Vec<Output>> {
    let mut outputs = Vec::new();
    for (i, vi) in graph.output.iter().enumerate() {
        let bad = |reason: String| OnnxError::Interface {
            kind: "output",
            name: vi.name.clone(),
            reason,
        };
        let fact = typed
            .output_fact(i)
            .map_err(|e| OnnxError::Load(chain(&e)))?;
        let dt = fact.datum_type;
        if !(dt.is_float() || dt.is_integer() || dt == bool::datum_type()) {
            return Err(bad(format!(
                "has element type {dt:?}; scorewell writes numbers"
            )));
        }
        let dims: Vec<TDim> = fact.shape.iter().cloned().collect();
        let Some((first, rest)) = dims.split_first() else {
            return Err(bad("is a scalar; scorewell needs one entry per row".into()));
        };
        if first != lead {
            return Err(bad(format!(
                "leading axis is {first}, not the rows ({lead}); scorewell needs one entry per row"
            )));
        }
        let row_shape = rest
            .iter()
            .map(|d| {
                d.to_usize().map_err(|_| {
                    bad(format!(
                        "shape {dims:?} depends on the data; every axis but the rows must be \
                         fixed"
                    ))
                })
            })
            .collect::<Result<Vec<usize>>>()?;
        outputs.push(Output {
            name: vi.name.clone(),
            ty: onnx_type_name(dt),
            row_shape,
        });
    }
    Ok(outputs)
}
