//! A stage's `metadata/part-*` JSON: class, Spark version, uid and params.
//!
//! Written by Spark's `DefaultParamsWriter.saveMetadata` (one JSON line, saved with
//! `saveAsTextFile`, so the part file's name varies by version: `part-00000` in Spark 2/3,
//! `part-00000-<uuid>-c000.txt` in Spark 4). `defaultParamMap` exists from Spark 2.4 on;
//! explicitly set params (`paramMap`) win over defaults.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::{Result, SparkError};
use crate::reader::{Source, part_files};

/// One stage's parsed metadata.
#[derive(Debug, Clone)]
pub struct Metadata {
    /// The stage folder, for errors.
    pub dir: PathBuf,
    /// The Spark class, e.g. `org.apache.spark.ml.feature.StringIndexerModel`.
    pub class: String,
    /// `sparkVersion` as (major, minor); (0, 0) when unparseable.
    pub version: (u32, u32),
    /// The version string as saved.
    pub spark_version: String,
    /// The stage uid.
    pub uid: String,
    /// `defaultParamMap` overlaid with `paramMap`.
    params: Map<String, Value>,
    /// The whole JSON object (models add fields such as `numFeatures`, `numClasses`).
    pub json: Map<String, Value>,
    /// Where the stage's files are.
    pub source: Source,
}

impl Metadata {
    /// Read `<dir>/metadata/part-*`.
    pub fn read(source: &Source, dir: &Path) -> Result<Self> {
        let meta_dir = dir.join("metadata");
        if !source.is_dir(&meta_dir) {
            return Err(SparkError::Invalid {
                stage: dir.to_path_buf(),
                message: "no `metadata/` folder (not a saved Spark ML stage)".into(),
            });
        }
        let parts = part_files(source, &meta_dir)?;
        let Some(first) = parts.first() else {
            return Err(invalid(dir, "`metadata/` holds no part file"));
        };
        let bytes = source.read(first)?;
        let text = String::from_utf8_lossy(&bytes);
        let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        let mut meta = Self::parse(dir, line)?;
        meta.source = source.clone();
        Ok(meta)
    }

    /// Parse one metadata JSON line (also used for trees' per-tree metadata).
    pub fn parse(dir: &Path, line: &str) -> Result<Self> {
        let value: Value = serde_json::from_str(line)
            .map_err(|e| invalid(dir, format!("metadata is not valid JSON: {e}")))?;
        let Value::Object(json) = value else {
            return Err(invalid(dir, "metadata is not a JSON object"));
        };
        let string = |key: &str| -> Result<String> {
            match json.get(key) {
                Some(Value::String(s)) => Ok(s.clone()),
                _ => Err(invalid(dir, format!("metadata has no string `{key}`"))),
            }
        };
        let class = string("class")?;
        let spark_version = string("sparkVersion")?;
        let uid = string("uid")?;
        let mut params = Map::new();
        for key in ["defaultParamMap", "paramMap"] {
            match json.get(key) {
                Some(Value::Object(m)) => params.extend(m.clone()),
                None | Some(Value::Null) if key == "defaultParamMap" => {}
                _ => return Err(invalid(dir, format!("metadata `{key}` is not an object"))),
            }
        }
        let version = parse_version(&spark_version);
        Ok(Self {
            dir: dir.to_path_buf(),
            class,
            version,
            spark_version,
            uid,
            params,
            json,
            source: Source::Disk,
        })
    }

    /// The short class name (`StringIndexerModel`).
    pub fn short_class(&self) -> &str {
        self.class.rsplit('.').next().unwrap_or(&self.class)
    }

    /// Whether the param is set or has a default.
    pub fn has(&self, name: &str) -> bool {
        self.params.get(name).is_some_and(|v| !v.is_null())
    }

    /// Whether the param was set explicitly (in `paramMap`).
    pub fn is_set(&self, name: &str) -> bool {
        self.json
            .get("paramMap")
            .and_then(Value::as_object)
            .is_some_and(|m| m.contains_key(name))
    }

    /// A param's raw JSON value.
    pub fn raw(&self, name: &str) -> Option<&Value> {
        self.params.get(name).filter(|v| !v.is_null())
    }

    fn bad(&self, name: &str, what: &str) -> SparkError {
        invalid(
            &self.dir,
            format!(
                "param `{name}` should be {what}, got {}",
                self.raw(name).map_or("nothing".into(), |v| v.to_string())
            ),
        )
    }

    /// A string param, if present.
    pub fn opt_str(&self, name: &str) -> Result<Option<String>> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.bad(name, "a string")),
        }
    }

    /// A required string param.
    pub fn str(&self, name: &str) -> Result<String> {
        self.opt_str(name)?
            .ok_or_else(|| self.bad(name, "a string"))
    }

    /// A column-name param that Spark treats as absent when empty (`probabilityCol = ""`).
    pub fn col(&self, name: &str) -> Result<Option<String>> {
        Ok(self.opt_str(name)?.filter(|s| !s.is_empty()))
    }

    /// A string-array param, if present.
    pub fn opt_strs(&self, name: &str) -> Result<Option<Vec<String>>> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .map(Some)
                .ok_or_else(|| self.bad(name, "an array of strings")),
            Some(_) => Err(self.bad(name, "an array of strings")),
        }
    }

    /// A float param, if present (Spark writes NaN and infinities as `"NaN"`, `"Inf"`,
    /// `"-Inf"`).
    pub fn opt_f64(&self, name: &str) -> Result<Option<f64>> {
        match self.raw(name) {
            None => Ok(None),
            Some(v) => json_f64(v)
                .map(Some)
                .ok_or_else(|| self.bad(name, "a number")),
        }
    }

    /// A required float param.
    pub fn f64(&self, name: &str) -> Result<f64> {
        self.opt_f64(name)?
            .ok_or_else(|| self.bad(name, "a number"))
    }

    /// A float-array param, if present.
    pub fn opt_f64s(&self, name: &str) -> Result<Option<Vec<f64>>> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(json_f64)
                .collect::<Option<Vec<_>>>()
                .map(Some)
                .ok_or_else(|| self.bad(name, "an array of numbers")),
            Some(_) => Err(self.bad(name, "an array of numbers")),
        }
    }

    /// A param holding an array of float arrays (`splitsArray`), if present.
    pub fn opt_f64s2(&self, name: &str) -> Result<Option<Vec<Vec<f64>>>> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::Array(rows)) => rows
                .iter()
                .map(|r| {
                    r.as_array()
                        .and_then(|items| items.iter().map(json_f64).collect::<Option<Vec<_>>>())
                })
                .collect::<Option<Vec<_>>>()
                .map(Some)
                .ok_or_else(|| self.bad(name, "an array of arrays of numbers")),
            Some(_) => Err(self.bad(name, "an array of arrays of numbers")),
        }
    }

    /// An integer param, if present.
    pub fn opt_i64(&self, name: &str) -> Result<Option<i64>> {
        match self.raw(name) {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| self.bad(name, "an integer")),
        }
    }

    /// A required non-negative integer param.
    pub fn usize(&self, name: &str) -> Result<usize> {
        self.opt_i64(name)?
            .and_then(|v| usize::try_from(v).ok())
            .ok_or_else(|| self.bad(name, "a non-negative integer"))
    }

    /// An integer-array param, if present.
    pub fn opt_usizes(&self, name: &str) -> Result<Option<Vec<usize>>> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_u64().and_then(|x| usize::try_from(x).ok()))
                .collect::<Option<Vec<_>>>()
                .map(Some)
                .ok_or_else(|| self.bad(name, "an array of non-negative integers")),
            Some(_) => Err(self.bad(name, "an array of non-negative integers")),
        }
    }

    /// A boolean param with a default for metadata written before the param existed.
    pub fn bool_or(&self, name: &str, default: bool) -> Result<bool> {
        match self.raw(name) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(self.bad(name, "true or false")),
        }
    }

    /// A vector param (`ElementwiseProduct.scalingVec`), saved as
    /// `{"type":1,"values":[…]}` or `{"type":0,"size":n,"indices":[…],"values":[…]}`.
    pub fn vector(&self, name: &str) -> Result<Vec<f64>> {
        let bad = || self.bad(name, "a vector");
        let v = match self.raw(name) {
            // Older Spark stores the vector as a JSON string.
            Some(Value::String(s)) => serde_json::from_str::<Value>(s).map_err(|_| bad())?,
            Some(v) => v.clone(),
            None => return Err(bad()),
        };
        let values = v
            .get("values")
            .and_then(Value::as_array)
            .and_then(|a| a.iter().map(json_f64).collect::<Option<Vec<_>>>())
            .ok_or_else(bad)?;
        match v.get("type").and_then(Value::as_i64) {
            Some(1) => Ok(values),
            Some(0) => {
                let size = v
                    .get("size")
                    .and_then(Value::as_u64)
                    .and_then(|s| usize::try_from(s).ok())
                    .ok_or_else(bad)?;
                let indices = v.get("indices").and_then(Value::as_array).ok_or_else(bad)?;
                let mut out = vec![0.0; size];
                for (i, x) in indices.iter().zip(values) {
                    let i = i.as_u64().and_then(|i| usize::try_from(i).ok());
                    *i.and_then(|i| out.get_mut(i)).ok_or_else(bad)? = x;
                }
                Ok(out)
            }
            _ => Err(bad()),
        }
    }

    /// An integer field of the metadata object itself (`numFeatures`, `numClasses`, …).
    pub fn extra_usize(&self, key: &str) -> Result<usize> {
        self.json
            .get(key)
            .and_then(Value::as_u64)
            .and_then(|v| usize::try_from(v).ok())
            .ok_or_else(|| invalid(&self.dir, format!("metadata has no integer `{key}`")))
    }

    /// Set a param as if saved in `paramMap`: how a wrapper (`OneVsRestModel`) points its
    /// sub-models at other columns, as Spark's `copy` + setters do before `transform`.
    pub(crate) fn set_param(&mut self, name: &str, value: Value) {
        self.params.insert(name.to_string(), value.clone());
        if let Some(Value::Object(set)) = self.json.get_mut("paramMap") {
            set.insert(name.to_string(), value);
        }
    }
}

fn json_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Inf" | "Infinity" => Some(f64::INFINITY),
            "-Inf" | "-Infinity" => Some(f64::NEG_INFINITY),
            _ => None,
        },
        _ => None,
    }
}

fn parse_version(v: &str) -> (u32, u32) {
    let mut it = v.split(['.', '-']).map(|p| p.parse::<u32>().ok());
    match (it.next().flatten(), it.next().flatten()) {
        (Some(a), Some(b)) => (a, b),
        (Some(a), None) => (a, 0),
        _ => (0, 0),
    }
}

/// A [`SparkError::Invalid`] for `dir`.
pub(crate) fn invalid(dir: &Path, message: impl Into<String>) -> SparkError {
    SparkError::Invalid {
        stage: dir.to_path_buf(),
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_overlay_defaults_and_decode_special_floats() {
        let m = Metadata::parse(
            Path::new("s"),
            r#"{"class":"a.B","sparkVersion":"3.5.1","uid":"B_1",
                "paramMap":{"splits":["-Inf",0.0,"Inf"],"x":"set"},
                "defaultParamMap":{"x":"default","y":2,"missingValue":"NaN"}}"#,
        )
        .unwrap();
        assert_eq!(m.version, (3, 5));
        assert_eq!(m.str("x").unwrap(), "set");
        assert_eq!(m.usize("y").unwrap(), 2);
        assert!(m.f64("missingValue").unwrap().is_nan());
        assert_eq!(
            m.opt_f64s("splits").unwrap().unwrap(),
            vec![f64::NEG_INFINITY, 0.0, f64::INFINITY]
        );
        assert!(m.is_set("x") && !m.is_set("y"));
    }

    #[test]
    fn spark_2_metadata_without_default_param_map_reads() {
        let m = Metadata::parse(
            Path::new("s"),
            r#"{"class":"a.B","sparkVersion":"2.3.0","uid":"B_1","paramMap":{"p":1}}"#,
        )
        .unwrap();
        assert_eq!(m.version, (2, 3));
        assert_eq!(m.usize("p").unwrap(), 1);
    }

    #[test]
    fn corrupt_metadata_names_the_stage() {
        let err = Metadata::parse(Path::new("stages/3_lr"), "{not json").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("stages/3_lr: metadata is not valid JSON"),
            "{err}"
        );
        let err = Metadata::parse(Path::new("st"), r#"{"class":"x"}"#).unwrap_err();
        assert_eq!(err.to_string(), "st: metadata has no string `sparkVersion`");
    }

    #[test]
    fn vector_params_decode_dense_and_sparse() {
        let m = Metadata::parse(
            Path::new("s"),
            r#"{"class":"a","sparkVersion":"4.0.0","uid":"u","paramMap":{
                "d":{"type":1,"values":[1.0,2.0]},
                "s":{"type":0,"size":3,"indices":[2],"values":[5.0]}}}"#,
        )
        .unwrap();
        assert_eq!(m.vector("d").unwrap(), vec![1.0, 2.0]);
        assert_eq!(m.vector("s").unwrap(), vec![0.0, 0.0, 5.0]);
    }
}
