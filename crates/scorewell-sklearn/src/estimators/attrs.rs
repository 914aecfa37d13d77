//! Typed reads of a pickled estimator's attributes (its `__dict__`).

use crate::error::{Result, SklearnError};
use crate::pickle::{NdArray, Obj, Pickle, Value};

/// The most input features an estimator may declare (see [`Est::n_features_in`]).
pub const MAX_FEATURES: usize = scorewell_core::MAX_DECLARED_FEATURES;

impl Pickle {
    /// The arena object `v` refers to.
    pub fn obj(&self, v: &Value) -> Option<&Obj> {
        match v {
            Value::Ref(i) => self.arena.get(*i),
            _ => None,
        }
    }

    /// The elements of a tuple or list.
    pub fn items(&self, v: &Value) -> Option<&[Value]> {
        match self.obj(v)? {
            Obj::Tuple(t) | Obj::List(t) => Some(t),
            _ => None,
        }
    }

    /// `v` as an estimator: a scikit-learn object with a state dict.
    pub fn estimator<'p>(&'p self, v: &Value) -> Result<Est<'p>> {
        match self.obj(v) {
            Some(Obj::Instance { class, state, .. }) => {
                let attrs = match state.as_ref().and_then(|s| self.obj(s)) {
                    Some(Obj::Dict(d)) => d.as_slice(),
                    // (dict, slots) state, as `__reduce_ex__` gives objects with __slots__.
                    Some(Obj::Tuple(t)) => match t.first().and_then(|d| self.obj(d)) {
                        Some(Obj::Dict(d)) => d.as_slice(),
                        _ => &[],
                    },
                    _ => &[],
                };
                Ok(Est {
                    p: self,
                    class,
                    attrs,
                })
            }
            Some(Obj::Global { module, name }) => Err(SklearnError::Unsupported {
                class: format!("{module}.{name}"),
                message: "a class or function, not a fitted estimator".into(),
            }),
            Some(other) => Err(SklearnError::Unsupported {
                class: kind_of(other).into(),
                message: "expected a fitted scikit-learn estimator".into(),
            }),
            None => Err(SklearnError::Unsupported {
                class: format!("{v:?}"),
                message: "expected a fitted scikit-learn estimator".into(),
            }),
        }
    }
}

fn kind_of(o: &Obj) -> &'static str {
    match o {
        Obj::List(_) => "list",
        Obj::Tuple(_) => "tuple",
        Obj::Dict(_) => "dict",
        Obj::Set(_) => "set",
        Obj::Global { .. } => "global",
        Obj::Instance { .. } => "object",
        Obj::Dtype(_) => "numpy.dtype",
        Obj::Array(_) => "numpy.ndarray",
    }
}

/// A pickled estimator: its class and attributes.
#[derive(Clone, Copy)]
pub struct Est<'p> {
    /// The whole pickle, to follow references.
    pub p: &'p Pickle,
    /// `module.Class` as pickled (e.g. `sklearn.ensemble._forest.RandomForestClassifier`).
    pub class: &'p str,
    attrs: &'p [(Value, Value)],
}

impl<'p> Est<'p> {
    /// The class name without its module.
    pub fn name(&self) -> &'p str {
        self.class.rsplit('.').next().unwrap_or(self.class)
    }

    fn err(&self, attribute: &str, message: impl Into<String>) -> SklearnError {
        SklearnError::Attribute {
            class: self.name().to_string(),
            attribute: attribute.to_string(),
            message: message.into(),
        }
    }

    /// An attribute, if set.
    pub fn get(&self, name: &str) -> Option<&'p Value> {
        self.attrs
            .iter()
            .find(|(k, _)| k.as_str() == Some(name))
            .map(|(_, v)| v)
    }

    /// An attribute that must be set.
    pub fn req(&self, name: &str) -> Result<&'p Value> {
        self.get(name).ok_or_else(|| {
            self.err(
                name,
                "missing (is the estimator fitted, and saved by scikit-learn?)",
            )
        })
    }

    /// A number attribute.
    pub fn f64(&self, name: &str) -> Result<f64> {
        self.req(name)?
            .as_f64()
            .ok_or_else(|| self.err(name, "not a number"))
    }

    /// `n_features_in_`, the input width. Nothing else in the file need back it (a tree may
    /// use two of a million features, and `x0, x1, …` names are made for an unnamed input), so
    /// a count past [`MAX_FEATURES`] is refused before anything is sized from it.
    pub fn n_features_in(&self) -> Result<usize> {
        let n = self.int("n_features_in_")?;
        let n = usize::try_from(n).map_err(|_| self.err("n_features_in_", "negative"))?;
        if n > MAX_FEATURES {
            return Err(self.err(
                "n_features_in_",
                format!("declares {n} features, more than the {MAX_FEATURES} scorewell reads"),
            ));
        }
        Ok(n)
    }

    /// An integer attribute.
    pub fn int(&self, name: &str) -> Result<i64> {
        self.req(name)?
            .as_int()
            .ok_or_else(|| self.err(name, "not an integer"))
    }

    /// A string attribute, `None` when absent or `None`.
    pub fn str(&self, name: &str) -> Option<&'p str> {
        self.get(name).and_then(Value::as_str)
    }

    /// A bool attribute (default when absent).
    pub fn flag(&self, name: &str, default: bool) -> bool {
        match self.get(name) {
            Some(Value::Bool(b)) => *b,
            Some(Value::Int(i)) => *i != 0,
            _ => default,
        }
    }

    /// An array attribute.
    pub fn array(&self, name: &str) -> Result<&'p NdArray> {
        match self.p.obj(self.req(name)?) {
            Some(Obj::Array(a)) => Ok(a),
            _ => Err(self.err(name, "not a numpy array")),
        }
    }

    /// A numeric array attribute as floats (C order) with its shape; a plain number is a
    /// 0-d array.
    pub fn floats(&self, name: &str) -> Result<(Vec<f64>, Vec<usize>)> {
        let v = self.req(name)?;
        if let Some(f) = v.as_f64() {
            return Ok((vec![f], vec![]));
        }
        let a = self.array(name)?;
        let data = a.to_f64().ok_or_else(|| {
            self.err(name, format!("dtype {} is not numeric", a.dtype.describe()))
        })?;
        Ok((data, a.shape.clone()))
    }

    /// A numeric array attribute as integers.
    pub fn ints(&self, name: &str) -> Result<Vec<i64>> {
        let a = self.array(name)?;
        a.to_i64()
            .ok_or_else(|| self.err(name, format!("dtype {} is not integer", a.dtype.describe())))
    }

    /// A list or tuple attribute.
    pub fn list(&self, name: &str) -> Result<&'p [Value]> {
        let v = self.req(name)?;
        self.p.items(v).ok_or_else(|| self.err(name, "not a list"))
    }

    /// An attribute holding another estimator.
    pub fn child(&self, name: &str) -> Result<Est<'p>> {
        self.p.estimator(self.req(name)?)
    }

    /// `(major, minor)` of the scikit-learn that saved this estimator.
    pub fn version(&self) -> Option<(u32, u32)> {
        let v = self.str("_sklearn_version")?;
        let mut it = v.split('.');
        let major = it.next()?.parse().ok()?;
        let minor = it
            .next()?
            .chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .ok()?;
        Some((major, minor))
    }

    /// An error about this estimator.
    pub fn unsupported(&self, message: impl Into<String>) -> SklearnError {
        SklearnError::Unsupported {
            class: self.name().to_string(),
            message: message.into(),
        }
    }

    /// An error about one attribute.
    pub fn bad(&self, attribute: &str, message: impl Into<String>) -> SklearnError {
        self.err(attribute, message)
    }
}

/// The strings of an array or list value (object arrays of `str`, `U` arrays).
pub fn strings(p: &Pickle, v: &Value) -> Option<Vec<String>> {
    if let Some(items) = p.items(v) {
        return items
            .iter()
            .map(|s| s.as_str().map(str::to_string))
            .collect();
    }
    match p.obj(v)? {
        Obj::Array(a) => {
            if let Some(s) = a.unicode_strings() {
                return Some(s);
            }
            match &a.data {
                crate::pickle::Data::Objects(o) => {
                    o.iter().map(|s| s.as_str().map(str::to_string)).collect()
                }
                _ => None,
            }
        }
        _ => None,
    }
}
