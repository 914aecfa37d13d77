//! Which models the function serves: `SCOREWELL_MODEL`.

use std::path::PathBuf;

use scorewell_server::{App, Config, ModelSpec, Repository};

/// The models named by the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Models {
    specs: Vec<ModelSpec>,
    fetch_sha256: Option<String>,
}

impl Models {
    /// Read `SCOREWELL_MODEL` (and `SCOREWELL_MODEL_SHA256`).
    pub fn from_env() -> Result<Self, String> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let task_root = var("LAMBDA_TASK_ROOT").map(PathBuf::from);
        Self::parse(
            var("SCOREWELL_MODEL").as_deref(),
            var("SCOREWELL_MODEL_SHA256"),
            task_root,
        )
    }

    /// `value`: one location (a URL, or a path in the package), or `name=location` pairs
    /// separated by commas or whitespace. A relative path is taken inside the package
    /// (`task_root`, Lambda's `/var/task`).
    pub fn parse(
        value: Option<&str>,
        sha256: Option<String>,
        task_root: Option<PathBuf>,
    ) -> Result<Self, String> {
        let value = value.ok_or_else(|| {
            "SCOREWELL_MODEL is not set: give the model's URL (s3://bucket/model.zip) or its path in the package".to_string()
        })?;
        let mut specs: Vec<ModelSpec> = Vec::new();
        for item in value
            .split([',', ' ', '\n', '\t'])
            .filter(|s| !s.is_empty())
        {
            let (name, location) = match item.split_once('=') {
                Some((n, l)) if !n.contains([':', '/', '#']) => (Some(n), l),
                _ => (None, item),
            };
            let is_url = location.contains("://");
            let location = match (&task_root, is_url) {
                (Some(root), false) if !location.starts_with('/') => {
                    root.join(location).to_string_lossy().into_owned()
                }
                _ => location.to_string(),
            };
            let spec = match name {
                Some(n) => ModelSpec::new(n, location),
                None => ModelSpec::from_path(location),
            };
            if !scorewell_server::repository::valid_name(&spec.name) {
                return Err(format!(
                    "SCOREWELL_MODEL: `{item}` gives the model name `{}`, which cannot be a URL path segment; name it: name=location",
                    spec.name
                ));
            }
            specs.push(spec);
        }
        if specs.is_empty() {
            return Err("SCOREWELL_MODEL is empty".into());
        }
        if sha256.is_some() && specs.len() > 1 {
            return Err("SCOREWELL_MODEL_SHA256 pins one model; with several, pin each in its URL (…/model.zip#sha256=<hex>)".into());
        }
        Ok(Self {
            specs,
            fetch_sha256: sha256,
        })
    }

    /// Fetch, verify and build every model; the error names the model and says why.
    pub fn open(self) -> Result<App, String> {
        let mut fetch = scorewell::FetchOptions::from_env().map_err(|e| e.to_string())?;
        fetch.sha256 = self
            .fetch_sha256
            .as_deref()
            .map(|s| {
                scorewell::Sha256Pin::parse(s).map_err(|e| format!("SCOREWELL_MODEL_SHA256: {e}"))
            })
            .transpose()?;
        let repo = Repository::open_with(self.specs, None, fetch).map_err(|e| e.to_string())?;
        // One request at a time per execution environment, and no watching: a new model
        // version is a new deployment (or a new execution environment) on Lambda.
        let config = Config {
            poll_interval: None,
            ..Config::default()
        };
        Ok(App::new(repo, config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_url_or_named_pairs() {
        let one = Models::parse(Some("s3://b/fraud-3.zip"), None, None).unwrap();
        assert_eq!(
            one.specs,
            vec![ModelSpec::new("fraud-3", "s3://b/fraud-3.zip")]
        );
        let two = Models::parse(
            Some("fraud=s3://b/f.zip, spam=model.json"),
            None,
            Some("/var/task".into()),
        )
        .unwrap();
        assert_eq!(
            two.specs,
            vec![
                ModelSpec::new("fraud", "s3://b/f.zip"),
                ModelSpec::new("spam", "/var/task/model.json"),
            ]
        );
    }

    #[test]
    fn mistakes_are_named() {
        assert!(
            Models::parse(None, None, None)
                .unwrap_err()
                .contains("SCOREWELL_MODEL is not set")
        );
        assert!(
            Models::parse(Some(" , "), None, None)
                .unwrap_err()
                .contains("empty")
        );
        let err = Models::parse(
            Some("a=s3://b/a.zip,b=s3://b/b.zip"),
            Some("ab".repeat(32)),
            None,
        )
        .unwrap_err();
        assert!(err.contains("pin each in its URL"), "{err}");
    }
}
