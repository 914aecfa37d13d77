//! Reading pickle and joblib files without executing them.

pub mod joblib;
pub mod numpy;
pub mod value;
pub mod vm;

pub use numpy::{Data, Dtype, NdArray};
pub use value::{Obj, Value};
pub use vm::{Pickle, read};
