//! Binding and column-reading behaviour of the core.

use std::sync::Arc;

use arrow_array::{
    ArrayRef, BooleanArray, DictionaryArray, Float32Array, Float64Array, Int64Array, RecordBatch,
    StringArray, UInt8Array, types::Int32Type,
};
use scorewell_forest::{CategoryCast, ForestBuilder, Missing, NanRoute, SplitTest, TreeBuilder};

use crate::*;

/// prediction = 1 if a < 0.5 else 2, plus 10 if category b ∈ {1} (b missing → +20).
fn scorer(mode: OutputMode, categories: Option<Vec<&str>>) -> Scorer {
    let mut t0 = TreeBuilder::new();
    t0.numeric(0, 0.5, Missing::NanDefault, true, 1, 2);
    t0.leaf(1.0);
    t0.leaf(2.0);
    let mut t1 = TreeBuilder::new();
    t1.split(
        1,
        SplitTest::Categorical {
            bitset: vec![0b10],
            in_set_goes_left: true,
            nan: NanRoute::Right,
            cast: CategoryCast::TruncateThenCheck,
        },
        false,
        1,
        2,
    );
    t1.leaf(10.0);
    t1.leaf(20.0);
    let mut b = ForestBuilder::new(2, 1);
    b.comparison(scorewell_forest::Comparison::Less);
    b.push_tree(t0, 0, 1.0).push_tree(t1, 0, 1.0);
    let model = ForestModel {
        forest: b.build().expect("valid"),
        features: vec![
            FeatureSpec::numeric("a"),
            FeatureSpec {
                name: "b".into(),
                kind: FeatureKind::Categorical {
                    categories: categories.map(|c| c.into_iter().map(String::from).collect()),
                },
            },
        ],
        info: ModelInfo::default(),
    };
    let stage = ForestStage::new("m", Arc::new(model), mode).expect("stage");
    Scorer::new(Pipeline::new().push(Arc::new(stage)))
}

fn batch(cols: Vec<(&str, ArrayRef)>) -> RecordBatch {
    RecordBatch::try_from_iter(cols).expect("batch")
}

fn prediction(out: &RecordBatch) -> Vec<f64> {
    out.column_by_name("prediction")
        .expect("prediction column")
        .as_any()
        .downcast_ref::<Float64Array>()
        .expect("f64")
        .values()
        .to_vec()
}

#[test]
fn reads_every_numeric_type_and_treats_null_as_missing() {
    let s = scorer(OutputMode::Prediction, None);
    let a: ArrayRef = Arc::new(Float32Array::from(vec![Some(0.1), None, Some(0.9)]));
    let b: ArrayRef = Arc::new(Int64Array::from(vec![Some(1), Some(2), None]));
    let out = s.score(&batch(vec![("a", a), ("b", b)])).expect("score");
    assert_eq!(prediction(&out), vec![11.0, 21.0, 22.0]);
    let a: ArrayRef = Arc::new(BooleanArray::from(vec![true, false]));
    let b: ArrayRef = Arc::new(UInt8Array::from(vec![1, 0]));
    let out = s.score(&batch(vec![("b", b), ("a", a)])).expect("score");
    assert_eq!(prediction(&out), vec![12.0, 21.0]);
    assert_eq!(out.num_columns(), 3);
}

#[test]
fn missing_and_mistyped_columns_are_named() {
    let s = scorer(OutputMode::Prediction, None);
    let a: ArrayRef = Arc::new(Float64Array::from(vec![0.1]));
    let err = s.score(&batch(vec![("a", a.clone())])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "input has no column `b` (needed by model feature 1); input columns are: a"
    );
    let b: ArrayRef = Arc::new(StringArray::from(vec!["x"]));
    let err = s.score(&batch(vec![("a", a), ("b", b)])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "column `b` has type Utf8, expected an integer category code (the model stores no category names)"
    );
}

#[test]
fn category_names_map_to_codes_and_unknown_names_are_missing() {
    let s = scorer(OutputMode::Prediction, Some(vec!["red", "green"]));
    let a: ArrayRef = Arc::new(Float64Array::from(vec![0.1, 0.1, 0.1, 0.1]));
    let b: ArrayRef = Arc::new(StringArray::from(vec![
        Some("green"),
        Some("red"),
        Some("blue"),
        None,
    ]));
    let out = s
        .score(&batch(vec![("a", a.clone()), ("b", b)]))
        .expect("score");
    assert_eq!(prediction(&out), vec![11.0, 21.0, 21.0, 21.0]);
    let dict: DictionaryArray<Int32Type> =
        vec!["green", "red", "green", "blue"].into_iter().collect();
    let out = s
        .score(&batch(vec![("a", a), ("b", Arc::new(dict))]))
        .expect("score");
    assert_eq!(prediction(&out), vec![11.0, 21.0, 11.0, 21.0]);
}

#[test]
fn margin_mode_names_margin_and_output_clash_is_refused() {
    let s = scorer(OutputMode::Margin, None);
    let a: ArrayRef = Arc::new(Float64Array::from(vec![0.1]));
    let b: ArrayRef = Arc::new(Float64Array::from(vec![1.0]));
    let out = s
        .score(&batch(vec![("a", a.clone()), ("b", b.clone())]))
        .expect("score");
    assert!(out.column_by_name("margin").is_some());
    let s = scorer(OutputMode::Prediction, None);
    let p: ArrayRef = Arc::new(Float64Array::from(vec![1.0]));
    let err = s
        .score(&batch(vec![("a", a), ("b", b), ("prediction", p)]))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("output column `prediction` already exists"),
        "{err}"
    );
}

#[test]
fn scorer_is_send_sync_and_cheap_to_clone() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<Scorer>();
    assert_send_sync::<BoundScorer>();
}

#[test]
fn reused_binding_follows_schema_changes() {
    let s = scorer(OutputMode::Prediction, None);
    let a: ArrayRef = Arc::new(Float64Array::from(vec![0.1, 0.9]));
    let b: ArrayRef = Arc::new(Int64Array::from(vec![1, 2]));
    let first = batch(vec![("a", a.clone()), ("b", b.clone())]);
    assert_eq!(prediction(&s.score(&first).unwrap()), vec![11.0, 22.0]);
    // Same schema again (a new Arc, equal fields): the kept binding applies.
    let again = batch(vec![("a", a.clone()), ("b", b.clone())]);
    assert_eq!(prediction(&s.score(&again).unwrap()), vec![11.0, 22.0]);
    // Columns swapped: a new binding, not the kept one.
    let swapped = batch(vec![("b", b.clone()), ("a", a.clone())]);
    assert_eq!(prediction(&s.score(&swapped).unwrap()), vec![11.0, 22.0]);
    // A clone shares nothing that could leak wrong bindings across schemas.
    let clone = s.clone();
    let wrong: ArrayRef = Arc::new(StringArray::from(vec!["x", "y"]));
    assert!(clone.score(&batch(vec![("a", a), ("b", wrong)])).is_err());
    assert_eq!(prediction(&s.score(&first).unwrap()), vec![11.0, 22.0]);
}

/// Drops rows whose `a` is negative, as Spark's `handleInvalid = "skip"` does.
#[derive(Debug)]
struct DropNegative;

impl Stage for DropNegative {
    fn name(&self) -> &str {
        "drop-negative"
    }
    fn inputs(&self) -> Vec<InputColumn> {
        vec![InputColumn::new("a", true)]
    }
    fn output_fields(&self) -> Vec<arrow_schema::FieldRef> {
        vec![Arc::new(arrow_schema::Field::new(
            "kept",
            arrow_schema::DataType::Boolean,
            false,
        ))]
    }
    fn bind(&self, schema: &arrow_schema::Schema) -> Result<Binding> {
        Ok(Binding::new(vec![find_column(schema, "a", || {
            "drop-negative".into()
        })?]))
    }
    fn apply(&self, binding: &Binding, batch: &RecordBatch) -> Result<StageOutput> {
        let a = batch.column(binding.columns[0]);
        let a = a.as_any().downcast_ref::<Float64Array>().expect("f64");
        let keep: BooleanArray = a
            .iter()
            .map(|v| Some(v.is_some_and(|v| v >= 0.0)))
            .collect();
        Ok(StageOutput {
            columns: vec![Arc::new(keep.clone())],
            keep: Some(keep),
        })
    }
}

#[test]
fn a_stage_that_drops_rows_filters_every_column_before_the_next_stage() {
    let model = scorer(OutputMode::Prediction, None);
    let forest = model.pipeline().stages()[0].clone();
    let scorer = Scorer::new(Pipeline::new().push(Arc::new(DropNegative)).push(forest));
    let a: ArrayRef = Arc::new(Float64Array::from(vec![0.1, -1.0, 0.9]));
    let b: ArrayRef = Arc::new(Float64Array::from(vec![1.0, 1.0, 0.0]));
    let batch = RecordBatch::try_from_iter([("a", a), ("b", b)]).unwrap();
    let out = scorer.score(&batch).unwrap();
    assert_eq!(out.num_rows(), 2);
    let a = out
        .column(0)
        .as_any()
        .downcast_ref::<Float64Array>()
        .unwrap();
    assert_eq!(a.values(), &[0.1, 0.9]);
    let p = out
        .column(3)
        .as_any()
        .downcast_ref::<Float64Array>()
        .unwrap();
    assert_eq!(p.values(), &[11.0, 22.0]);
}

#[test]
fn selected_outputs_hide_intermediate_columns_and_unknown_ones_are_refused() {
    let model = scorer(OutputMode::Prediction, None);
    let forest = model.pipeline().stages()[0].clone();
    let pipeline = Pipeline::new().push(Arc::new(DropNegative)).push(forest);
    let a: ArrayRef = Arc::new(Float64Array::from(vec![0.1]));
    let b: ArrayRef = Arc::new(Float64Array::from(vec![1.0]));
    let batch = RecordBatch::try_from_iter([("a", a), ("b", b)]).unwrap();
    let selected = Scorer::new(pipeline.clone().select_outputs(vec!["prediction".into()]));
    let out = selected.score(&batch).unwrap();
    let schema = out.schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["a", "b", "prediction"]);
    let wrong = Scorer::new(pipeline.select_outputs(vec!["score".into()]));
    let err = wrong.score(&batch).unwrap_err().to_string();
    assert_eq!(
        err,
        "output `score` is not produced by any stage (stages produce: kept, prediction)"
    );
}

/// Copies `a` to `a_copy`; `a` is optional: without it the stage appends nothing.
#[derive(Debug)]
struct OptionalCopy;

impl Stage for OptionalCopy {
    fn name(&self) -> &str {
        "optional-copy"
    }
    fn inputs(&self) -> Vec<InputColumn> {
        vec![InputColumn {
            optional: true,
            ..InputColumn::new("a", true)
        }]
    }
    fn output_fields(&self) -> Vec<arrow_schema::FieldRef> {
        vec![Arc::new(arrow_schema::Field::new(
            "a_copy",
            arrow_schema::DataType::Float64,
            true,
        ))]
    }
    fn bind(&self, schema: &arrow_schema::Schema) -> Result<Binding> {
        Ok(match schema.column_with_name("a") {
            Some((i, _)) => Binding::new(vec![i]),
            None => Binding::with_outputs(Vec::new(), Vec::new()),
        })
    }
    fn apply(&self, binding: &Binding, batch: &RecordBatch) -> Result<StageOutput> {
        Ok(binding
            .columns
            .iter()
            .map(|&i| batch.column(i).clone())
            .collect::<Vec<_>>()
            .into())
    }
}

/// Reads `a_copy`.
#[derive(Debug)]
struct ReadsCopy;

impl Stage for ReadsCopy {
    fn name(&self) -> &str {
        "reads-copy"
    }
    fn inputs(&self) -> Vec<InputColumn> {
        vec![InputColumn::new("a_copy", true)]
    }
    fn output_fields(&self) -> Vec<arrow_schema::FieldRef> {
        Vec::new()
    }
    fn bind(&self, schema: &arrow_schema::Schema) -> Result<Binding> {
        Ok(Binding::new(vec![find_column(schema, "a_copy", || {
            "reads-copy".into()
        })?]))
    }
    fn apply(&self, _: &Binding, _: &RecordBatch) -> Result<StageOutput> {
        Ok(Vec::new().into())
    }
}

#[test]
fn an_absent_optional_input_drops_its_outputs_and_selected_ones_with_them() {
    let optional = Scorer::new(
        Pipeline::new()
            .push(Arc::new(OptionalCopy))
            .select_outputs(vec!["a_copy".into()]),
    );
    let a: ArrayRef = Arc::new(Float64Array::from(vec![0.5]));
    let b: ArrayRef = Arc::new(Float64Array::from(vec![1.0]));
    let with_a = RecordBatch::try_from_iter([("a", a.clone()), ("b", b.clone())]).unwrap();
    let out = optional.score(&with_a).unwrap();
    assert_eq!(out.schema().field(2).name(), "a_copy");
    let without = RecordBatch::try_from_iter([("b", b.clone())]).unwrap();
    let out = optional.score(&without).unwrap();
    assert_eq!(out.num_columns(), 1, "no a_copy, as Spark skips the column");
    let inputs = optional.inputs();
    assert!(inputs[0].optional, "{inputs:?}");

    // A later stage reading the dropped column says where it would have come from.
    let reads = Scorer::new(
        Pipeline::new()
            .push(Arc::new(OptionalCopy))
            .push(Arc::new(ReadsCopy)),
    );
    let err = reads.score(&without).unwrap_err().to_string();
    assert_eq!(
        err,
        "input has no column `a_copy` (needed by reads-copy; stage `optional-copy` makes it \
         from `a`, absent from the input); input columns are: b"
    );
    // A column optional for one stage and required by another is required.
    let both = Scorer::new(
        Pipeline::new()
            .push(Arc::new(OptionalCopy))
            .push(Arc::new(DropNegative)),
    );
    assert!(!both.inputs()[0].optional);
}

/// Claims one output but returns none.
#[derive(Debug)]
struct Liar;

impl Stage for Liar {
    fn name(&self) -> &str {
        "liar"
    }
    fn inputs(&self) -> Vec<InputColumn> {
        Vec::new()
    }
    fn output_fields(&self) -> Vec<arrow_schema::FieldRef> {
        vec![Arc::new(arrow_schema::Field::new(
            "x",
            arrow_schema::DataType::Float64,
            true,
        ))]
    }
    fn bind(&self, _: &arrow_schema::Schema) -> Result<Binding> {
        Ok(Binding::new(Vec::new()))
    }
    fn apply(&self, _: &Binding, _: &RecordBatch) -> Result<StageOutput> {
        Ok(Vec::new().into())
    }
}

#[test]
fn a_stage_returning_the_wrong_column_count_is_an_error_not_a_panic() {
    let scorer = Scorer::new(Pipeline::new().push(Arc::new(Liar)));
    let b: ArrayRef = Arc::new(Float64Array::from(vec![1.0]));
    let batch = RecordBatch::try_from_iter([("b", b)]).unwrap();
    let err = scorer.score(&batch).unwrap_err().to_string();
    assert_eq!(
        err,
        "stage `liar`: batch schema differs from the schema the scorer was bound to: the stage \
         returned 0 columns, its binding appends 1"
    );
}

#[test]
fn score_outputs_returns_what_score_appends_for_every_pipeline_shape() {
    let model = scorer(OutputMode::Prediction, None);
    let forest = model.pipeline().stages()[0].clone();
    let a: ArrayRef = Arc::new(Float64Array::from(vec![0.1, -1.0, 0.9]));
    let b: ArrayRef = Arc::new(Float64Array::from(vec![1.0, 1.0, 0.0]));
    let input = RecordBatch::try_from_iter([("a", a), ("b", b)]).unwrap();
    let shapes = [
        // One stage; one stage dropping rows; two stages; two stages with a selection.
        Pipeline::new().push(forest.clone()),
        Pipeline::new().push(Arc::new(DropNegative)),
        Pipeline::new()
            .push(Arc::new(DropNegative))
            .push(forest.clone()),
        Pipeline::new()
            .push(Arc::new(DropNegative))
            .push(forest)
            .select_outputs(vec!["prediction".into(), "kept".into()]),
    ];
    for pipeline in shapes {
        let bound = Scorer::new(pipeline).bind(input.schema()).unwrap();
        let whole = bound.score(&input).unwrap();
        let (outputs, rows) = bound.score_outputs(&input).unwrap();
        assert_eq!(rows, whole.num_rows());
        assert_eq!(outputs.len(), whole.num_columns() - input.num_columns());
        for (got, want) in outputs.iter().zip(&whole.columns()[input.num_columns()..]) {
            assert_eq!(got.to_data(), want.to_data());
        }
    }
}
