//! A tree-ensemble model as frontends describe it, and the stage that scores it.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch};
use arrow_schema::{DataType, Field, FieldRef, Schema};
use scorewell_forest::{Forest, Predictor};

use crate::columns::{
    FeatureColumn, FeatureColumns, NUMERIC_TYPES, is_numeric, is_string, string_codes,
};
use crate::error::{Result, ScoreError};
use crate::stage::{Binding, InputColumn, Stage, StageOutput, find_column};

/// How one model input is read.
#[derive(Debug, Clone, PartialEq)]
pub enum FeatureKind {
    /// A number; integers and booleans are widened, null is missing.
    Numeric,
    /// A category given as its integer code, or — when the model file lists the category
    /// names — as a string mapped to its position in that list (unknown names are missing).
    Categorical {
        /// Category names in code order, if the model stores them.
        categories: Option<Arc<[String]>>,
    },
}

/// One model input.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureSpec {
    /// Column name the value is read from.
    pub name: String,
    /// How it is read.
    pub kind: FeatureKind,
}

impl FeatureSpec {
    /// A numeric feature.
    pub fn numeric(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            kind: FeatureKind::Numeric,
        }
    }
}

/// What a model file said about itself, for `inspect` and for errors.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelInfo {
    /// The file format, e.g. `xgboost-json`.
    pub format: String,
    /// The library and version that wrote it, e.g. `xgboost 3.1.2`, when the file says.
    pub producer: Option<String>,
    /// The training objective as written in the file.
    pub objective: String,
    /// Other facts worth showing (`booster`, `num_class`, ...).
    pub details: Vec<(String, String)>,
}

/// A loaded tree-ensemble model: the IR plus how its inputs are named.
#[derive(Debug, Clone)]
pub struct ForestModel {
    /// The validated forest.
    pub forest: Forest,
    /// One spec per forest feature, in feature-index order.
    pub features: Vec<FeatureSpec>,
    /// Provenance.
    pub info: ModelInfo,
}

/// Which values a model stage appends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputMode {
    /// What the original library's `predict()` returns (after the link).
    #[default]
    Prediction,
    /// The raw margins (`output_margin=True` / `raw_score=True`).
    Margin,
}

/// The stage that scores a [`ForestModel`].
///
/// Output columns (all `Float64`): with one value per row, `prediction` (or `margin`); with
/// `k > 1` values, `prediction_0 … prediction_{k-1}` (or `margin_0 …`).
#[derive(Debug)]
pub struct ForestStage {
    name: String,
    model: Arc<ForestModel>,
    predictor: Predictor,
    mode: OutputMode,
    outputs: Vec<FieldRef>,
    category_index: Vec<Option<HashMap<String, f64>>>,
}

impl ForestStage {
    /// Compile `model` into a stage named `name` producing `mode` outputs, scored by the
    /// process's [`default_engine`](scorewell_forest::default_engine).
    pub fn new(name: impl Into<String>, model: Arc<ForestModel>, mode: OutputMode) -> Result<Self> {
        Self::with_engine(name, model, mode, scorewell_forest::default_engine())
    }

    /// [`ForestStage::new`] scored by `engine`.
    pub fn with_engine(
        name: impl Into<String>,
        model: Arc<ForestModel>,
        mode: OutputMode,
        engine: scorewell_forest::Engine,
    ) -> Result<Self> {
        let forest = &model.forest;
        if model.features.len() != forest.num_features() {
            return Err(ScoreError::SchemaMismatch(format!(
                "the model names {} features but its trees use {}",
                model.features.len(),
                forest.num_features()
            )));
        }
        let predictor = Predictor::with_engine(forest, engine);
        let margin = mode == OutputMode::Margin;
        let outputs = output_fields(
            if margin { "margin" } else { "prediction" },
            predictor.num_outputs(margin),
        );
        let category_index = model
            .features
            .iter()
            .map(|f| match &f.kind {
                FeatureKind::Categorical {
                    categories: Some(names),
                } => Some(
                    names
                        .iter()
                        .enumerate()
                        .map(|(i, n)| (n.clone(), i as f64))
                        .collect(),
                ),
                _ => None,
            })
            .collect();
        Ok(Self {
            name: name.into(),
            model,
            predictor,
            mode,
            outputs,
            category_index,
        })
    }

    /// Name the output column `base` (or `base_0 … base_{k-1}` for k outputs) instead of
    /// `prediction`/`margin`.
    pub fn with_output_name(mut self, base: &str) -> Self {
        self.outputs = output_fields(base, self.outputs.len());
        self
    }

    /// The model this stage scores.
    pub fn model(&self) -> &ForestModel {
        &self.model
    }

    /// The output mode.
    pub fn mode(&self) -> OutputMode {
        self.mode
    }
}

fn output_fields(base: &str, k: usize) -> Vec<FieldRef> {
    (0..k)
        .map(|i| {
            let name = if k == 1 {
                base.to_string()
            } else {
                format!("{base}_{i}")
            };
            Arc::new(Field::new(name, DataType::Float64, false))
        })
        .collect()
}

impl Stage for ForestStage {
    fn name(&self) -> &str {
        &self.name
    }

    fn inputs(&self) -> Vec<InputColumn> {
        self.model
            .features
            .iter()
            .zip(&self.category_index)
            .map(|(f, names)| InputColumn::new(f.name.clone(), names.is_none()))
            .collect()
    }

    fn output_fields(&self) -> Vec<FieldRef> {
        self.outputs.clone()
    }

    fn engines(&self) -> Vec<scorewell_forest::EngineInfo> {
        vec![self.predictor.engine()]
    }

    fn forest_model(&self) -> Option<&ForestModel> {
        Some(&self.model)
    }

    fn bind(&self, schema: &Schema) -> Result<Binding> {
        let mut columns = Vec::with_capacity(self.model.features.len());
        for (i, spec) in self.model.features.iter().enumerate() {
            // Inputs usually arrive in the model's own column order: check that position first
            // and search by name only when it holds another column.
            let idx = match schema.fields().get(i) {
                Some(field) if field.name() == &spec.name => i,
                _ => find_column(schema, &spec.name, || format!("model feature {i}"))?,
            };
            let dt = schema.field(idx).data_type();
            let named_categories = self.category_index[i].is_some();
            if !(is_numeric(dt) || (named_categories && is_string(dt))) {
                let expected = if named_categories {
                    format!("{NUMERIC_TYPES} or a category name")
                } else if matches!(spec.kind, FeatureKind::Categorical { .. }) {
                    "an integer category code (the model stores no category names)".into()
                } else {
                    NUMERIC_TYPES.into()
                };
                return Err(ScoreError::ColumnType {
                    column: spec.name.clone(),
                    expected,
                    got: dt.to_string(),
                });
            }
            columns.push(idx);
        }
        Ok(Binding::new(columns))
    }

    fn apply(&self, binding: &Binding, batch: &RecordBatch) -> Result<StageOutput> {
        let mut columns = Vec::with_capacity(binding.columns.len());
        for (f, &idx) in binding.columns.iter().enumerate() {
            let array = batch.column(idx);
            match &self.category_index[f] {
                Some(index) if is_string(array.data_type()) => {
                    let codes = string_codes(array, index).map_err(|e| match e {
                        ScoreError::ColumnType { expected, got, .. } => ScoreError::ColumnType {
                            column: self.model.features[f].name.clone(),
                            expected,
                            got,
                        },
                        other => other,
                    })?;
                    columns.push(FeatureColumn::Codes(codes));
                }
                _ => columns.push(FeatureColumn::Array(array.as_ref())),
            }
        }
        let source = FeatureColumns {
            columns,
            rows: batch.num_rows(),
        };
        let margin = self.mode == OutputMode::Margin;
        let values = self.predictor.predict(&source, margin);
        let k = self.outputs.len();
        let arrays: Vec<ArrayRef> = if k == 1 {
            vec![Arc::new(Float64Array::from(values))]
        } else {
            (0..k)
                .map(|j| {
                    let col: Vec<f64> = values.iter().skip(j).step_by(k).copied().collect();
                    Arc::new(Float64Array::from(col)) as ArrayRef
                })
                .collect()
        };
        Ok(arrays.into())
    }
}
