//! Transforms registered by kind name, built from JSON params.

use std::collections::BTreeMap;
use std::sync::Arc;

use scorewell_core::Stage;
use serde::de::DeserializeOwned;

use crate::error::TransformError;

/// Builds one kind of stage from its name and JSON params.
pub(crate) type BuildFn = fn(&str, &serde_json::Value) -> Result<Arc<dyn Stage>, TransformError>;

/// The kinds known to [`crate::build`]; each transform file adds itself in `register`.
#[derive(Default)]
pub struct Registry {
    kinds: BTreeMap<&'static str, BuildFn>,
}

impl Registry {
    /// Register `kind`; a second registration of the same name is a programming error.
    pub(crate) fn add(&mut self, kind: &'static str, build: BuildFn) {
        let previous = self.kinds.insert(kind, build);
        debug_assert!(
            previous.is_none(),
            "transform kind `{kind}` registered twice"
        );
    }

    pub(crate) fn get(&self, kind: &str) -> Option<BuildFn> {
        self.kinds.get(kind).copied()
    }

    pub(crate) fn kinds(&self) -> Vec<&'static str> {
        self.kinds.keys().copied().collect()
    }
}

/// Deserialize params, reporting the JSON path inside them on error (e.g. `splits[3]`).
pub(crate) fn parse<P: DeserializeOwned>(params: &serde_json::Value) -> Result<P, TransformError> {
    serde_path_to_error::deserialize(params).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        TransformError::param(path, e.into_inner().to_string())
    })
}
