//! Spark ML classes registered by name, one file per class family; each maps a saved stage
//! (params + data) onto scorewell stages.

mod clustering;
mod features;
pub(crate) mod linear;
mod naive_bayes;
mod neural;
mod pipeline;
mod text;
mod trees;
mod vectors;

mod bisecting_kmeans;
mod factorization;
mod feature_hasher;
mod isotonic;
mod one_vs_rest;
mod pca;
mod polynomial;
mod refused;
mod robust_scaler;
mod selectors;
mod survival;
mod tuning;
mod vector_indexer;
mod vector_size_hint;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use scorewell_core::Stage;
use scorewell_transform::TransformError;

use crate::error::{Result, SparkError};
use crate::reader::{Metadata, Table, invalid};

pub(crate) use pipeline::build_stage_dir;

/// Builds the scorewell stages of one saved Spark stage.
pub(crate) type BuildFn = fn(&mut Ctx<'_>) -> Result<Vec<Arc<dyn Stage>>>;

/// Spark class name → builder.
#[derive(Default)]
pub(crate) struct Registry {
    classes: BTreeMap<&'static str, BuildFn>,
}

impl Registry {
    pub(crate) fn add(&mut self, class: &'static str, build: BuildFn) {
        self.classes.insert(class, build);
    }

    fn get(&self, class: &str) -> Option<BuildFn> {
        self.classes.get(class).copied()
    }

    /// The supported classes, short names, sorted.
    pub(crate) fn names(&self) -> Vec<&'static str> {
        let mut v: Vec<&str> = self
            .classes
            .keys()
            .map(|c| c.rsplit('.').next().unwrap_or(c))
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}

pub(crate) fn registry() -> &'static Registry {
    static REGISTRY: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut reg = Registry::default();
        pipeline::register(&mut reg);
        features::register(&mut reg);
        clustering::register(&mut reg);
        text::register(&mut reg);
        vectors::register(&mut reg);
        linear::register(&mut reg);
        naive_bayes::register(&mut reg);
        neural::register(&mut reg);
        trees::register(&mut reg);
        feature_hasher::register(&mut reg);
        vector_indexer::register(&mut reg);
        tuning::register(&mut reg);
        pca::register(&mut reg);
        robust_scaler::register(&mut reg);
        selectors::register(&mut reg);
        vector_size_hint::register(&mut reg);
        isotonic::register(&mut reg);
        survival::register(&mut reg);
        one_vs_rest::register(&mut reg);
        factorization::register(&mut reg);
        polynomial::register(&mut reg);
        bisecting_kmeans::register(&mut reg);
        reg
    })
}

/// What earlier stages tell later ones about their output columns (Spark keeps this in
/// column metadata: vector sizes, nominal labels).
#[derive(Debug, Default)]
pub(crate) struct Columns {
    /// Vector columns produced so far, with their size when known.
    vectors: HashMap<String, Option<usize>>,
    /// Labels of index columns produced by string indexers.
    labels: HashMap<String, Vec<String>>,
}

impl Columns {
    pub(crate) fn vector(&mut self, name: &str, size: Option<usize>) {
        self.vectors.insert(name.to_string(), size);
    }
    pub(crate) fn is_vector(&self, name: &str) -> bool {
        self.vectors.contains_key(name)
    }
    pub(crate) fn vector_size(&self, name: &str) -> Option<usize> {
        self.vectors.get(name).copied().flatten()
    }
    pub(crate) fn set_labels(&mut self, name: &str, labels: Vec<String>) {
        self.labels.insert(name.to_string(), labels);
    }
    pub(crate) fn labels(&self, name: &str) -> Option<&Vec<String>> {
        self.labels.get(name)
    }
}

/// One stage being built.
pub(crate) struct Ctx<'a> {
    pub(crate) meta: &'a Metadata,
    pub(crate) cols: &'a mut Columns,
}

impl Ctx<'_> {
    pub(crate) fn dir(&self) -> &Path {
        &self.meta.dir
    }
    /// The stage's `data/`.
    pub(crate) fn data(&self) -> Result<Table> {
        Table::read(&self.meta.source, self.dir(), "data")
    }
    /// A stage name for errors: the uid.
    pub(crate) fn name(&self) -> &str {
        &self.meta.uid
    }
    pub(crate) fn invalid(&self, message: impl Into<String>) -> SparkError {
        invalid(self.dir(), message)
    }
    pub(crate) fn transform<T: Stage + 'static>(
        &self,
        built: std::result::Result<T, TransformError>,
    ) -> Result<Vec<Arc<dyn Stage>>> {
        built
            .map(|s| vec![Arc::new(s) as Arc<dyn Stage>])
            .map_err(|source| SparkError::Transform {
                stage: self.dir().to_path_buf(),
                source,
            })
    }
    /// Single (`inputCol`/`outputCol`) or multi-column (`inputCols`/`outputCols`) params, as
    /// Spark picks them: the multi form when `inputCols` is set.
    pub(crate) fn in_out(&self) -> Result<InOut> {
        if self.meta.has("inputCols") {
            let inputs = self.meta.opt_strs("inputCols")?.unwrap_or_default();
            let outputs = self
                .meta
                .opt_strs("outputCols")?
                .ok_or_else(|| self.invalid("`inputCols` is set without `outputCols`"))?;
            Ok(InOut::Multi(inputs, outputs))
        } else {
            Ok(InOut::Single(
                self.meta.str("inputCol")?,
                self.meta.str("outputCol")?,
            ))
        }
    }
}

/// Column params of a stage that takes one or several columns.
pub(crate) enum InOut {
    Single(String, String),
    Multi(Vec<String>, Vec<String>),
}

impl InOut {
    pub(crate) fn outputs(&self) -> Vec<String> {
        match self {
            InOut::Single(_, o) => vec![o.clone()],
            InOut::Multi(_, o) => o.clone(),
        }
    }
    pub(crate) fn inputs(&self) -> Vec<String> {
        match self {
            InOut::Single(i, _) => vec![i.clone()],
            InOut::Multi(i, _) => i.clone(),
        }
    }
    /// As the `(input, output, inputs, outputs)` option quadruple the transforms take.
    #[allow(clippy::type_complexity)]
    pub(crate) fn split(
        self,
    ) -> (
        Option<String>,
        Option<String>,
        Option<Vec<String>>,
        Option<Vec<String>>,
    ) {
        match self {
            InOut::Single(i, o) => (Some(i), Some(o), None, None),
            InOut::Multi(i, o) => (None, None, Some(i), Some(o)),
        }
    }
}

/// Build one saved stage by its class.
pub(crate) fn build(meta: &Metadata, cols: &mut Columns) -> Result<Vec<Arc<dyn Stage>>> {
    let reg = registry();
    let Some(build) = reg.get(&meta.class) else {
        let supported = reg.names().join(", ");
        return Err(match refused::reason(meta) {
            Some(reason) => SparkError::Refused {
                stage: meta.dir.clone(),
                class: meta.class.clone(),
                reason,
                supported,
            },
            None => SparkError::Unsupported {
                stage: meta.dir.clone(),
                class: meta.class.clone(),
                supported,
            },
        });
    };
    build(&mut Ctx { meta, cols })
}

/// A stage whose named inputs are declared numeric-only (`InputColumn::numeric`), so text
/// readers parse them as numbers and `bundle create` infers them as `float64`: Spark's
/// VectorAssembler also takes vectors, but pipeline inputs it reads are scalar columns.
#[derive(Debug)]
pub(crate) struct NumericInputs {
    pub(crate) inner: Arc<dyn Stage>,
    pub(crate) numeric: Vec<String>,
}

impl NumericInputs {
    /// Wrap each of `stages` so that `numeric` inputs are declared numeric.
    pub(crate) fn wrap(stages: Vec<Arc<dyn Stage>>, numeric: &[String]) -> Vec<Arc<dyn Stage>> {
        stages
            .into_iter()
            .map(|inner| {
                Arc::new(NumericInputs {
                    inner,
                    numeric: numeric.to_vec(),
                }) as Arc<dyn Stage>
            })
            .collect()
    }
}

impl Stage for NumericInputs {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn inputs(&self) -> Vec<scorewell_core::InputColumn> {
        let mut inputs = self.inner.inputs();
        for i in &mut inputs {
            i.numeric |= self.numeric.contains(&i.name);
        }
        inputs
    }
    fn output_fields(&self) -> Vec<arrow_schema::FieldRef> {
        self.inner.output_fields()
    }
    fn bind(
        &self,
        schema: &arrow_schema::Schema,
    ) -> scorewell_core::Result<scorewell_core::Binding> {
        self.inner.bind(schema)
    }
    fn apply(
        &self,
        binding: &scorewell_core::Binding,
        batch: &arrow_array::RecordBatch,
    ) -> scorewell_core::Result<scorewell_core::StageOutput> {
        self.inner.apply(binding, batch)
    }
}

/// `handleInvalid` as the transforms spell it.
pub(crate) fn handle_invalid(
    ctx: &Ctx<'_>,
    default: &str,
) -> Result<scorewell_transform::HandleInvalid> {
    use scorewell_transform::HandleInvalid;
    let v = ctx
        .meta
        .opt_str("handleInvalid")?
        .unwrap_or_else(|| default.to_string());
    match v.as_str() {
        "error" => Ok(HandleInvalid::Error),
        "skip" => Ok(HandleInvalid::Skip),
        "keep" => Ok(HandleInvalid::Keep),
        other => Err(ctx.invalid(format!(
            "param `handleInvalid` is `{other}`, expected error, skip or keep"
        ))),
    }
}
