//! The values a pickle stream builds, without ever running the code it names.
//!
//! Containers and objects live in an arena and are referred to by id: scikit-learn pickles
//! memoize an estimator at `NEWOBJ` and fill its state later with `BUILD`, so every reference
//! taken before the `BUILD` must see the state (a clone taken at `MEMOIZE` would not).

use std::rc::Rc;

use super::numpy::{Dtype, NdArray};

/// One value on the pickle stack or in a container.
#[derive(Debug, Clone)]
pub enum Value {
    /// `None`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// An integer that fits 64 bits.
    Int(i64),
    /// An integer that does not (kept as its little-endian two's complement bytes).
    BigInt(Rc<[u8]>),
    /// A float.
    Float(f64),
    /// A `str`.
    Str(Rc<str>),
    /// `bytes` or `bytearray`.
    Bytes(Rc<[u8]>),
    /// A container or object in the arena.
    Ref(usize),
}

/// A container or object.
#[derive(Debug, Clone)]
pub enum Obj {
    /// `list`.
    List(Vec<Value>),
    /// `tuple`.
    Tuple(Vec<Value>),
    /// `dict`, in insertion order.
    Dict(Vec<(Value, Value)>),
    /// `set` / `frozenset`.
    Set(Vec<Value>),
    /// A module attribute named by `GLOBAL` / `STACK_GLOBAL`: never imported.
    Global {
        /// Module.
        module: String,
        /// Qualified name.
        name: String,
    },
    /// An object made by calling a class (`NEWOBJ`) or a function (`REDUCE`) — recorded, not
    /// executed — with the state a later `BUILD` gave it.
    Instance {
        /// `module.name` of the class or function.
        class: String,
        /// The call's arguments.
        args: Vec<Value>,
        /// `__setstate__` / `__dict__` state.
        state: Option<Value>,
    },
    /// A numpy dtype (`numpy.dtype` reconstructed from its arguments and state).
    Dtype(Dtype),
    /// A numpy array (inline bytes, protocol-5 in-band buffer, or a joblib wrapper's data).
    Array(NdArray),
}

impl Value {
    /// The integer, also from a bool (Python's `True == 1`).
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(*b as i64),
            _ => None,
        }
    }

    /// The number as a float (ints widen).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Float(f) => Some(*f),
            Value::Int(i) => Some(*i as f64),
            Value::Bool(b) => Some(*b as i64 as f64),
            _ => None,
        }
    }

    /// The string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
}
