//! ONNX graphs scored through tract, a pure-Rust ONNX engine, as a scorewell [`Stage`]
//! ([`OnnxStage`]).
//!
//! A model is loaded from the bytes of a `.onnx` file ([`OnnxModel::from_bytes`]): decoded,
//! checked, typed, optimised and planned once, with the leading (batch) axis symbolic so one
//! plan runs any number of rows. Inputs bind to columns by their ONNX names; outputs are named
//! as for tree models when there is one, else after the ONNX outputs.
//!
//! Refused at load, with the node named: op types tract does not implement, and recurrent
//! nodes (`LSTM`, `GRU`, `RNN`) that tract would load but compute differently from ONNX
//! Runtime — non-default `activations`, `direction` other than `forward`, `clip`,
//! `input_forget=1`, or a `sequence_lens` that is not a uniform constant. (`bidirectional`
//! is run correctly: tract reverses the second direction; the conformance case checks it.)
//!
//! [`Stage`]: scorewell_core::Stage
#![warn(missing_docs)]

mod check;
mod error;
mod model;
mod shapes;
mod stage;

pub use error::{OnnxError, Result};
pub use model::{Batch, Input, InputType, OnnxModel, Output, PLAN_CACHE, Planning, Summary};
pub use stage::OnnxStage;
