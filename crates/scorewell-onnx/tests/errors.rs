//! One clear error each, never a panic: graphs tract would compute differently, bytes that
//! are not ONNX, and input rows of the wrong width, type or value.

use std::path::Path;
use std::sync::Arc;

use arrow_array::types::Float64Type;
use arrow_array::{ArrayRef, Float64Array, ListArray, RecordBatch};
use prost::Message;
use scorewell_core::Stage;
use scorewell_onnx::{OnnxError, OnnxModel, OnnxStage};
use tract_onnx::pb::{
    AttributeProto, GraphProto, ModelProto, NodeProto, attribute_proto::AttributeType,
};

fn fixture(case: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/conformance/onnx")
        .join(case)
        .join("model.onnx");
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The `lstm_forward` fixture with its LSTM node (and graph) changed by `edit`.
fn lstm_with(edit: impl FnOnce(&mut NodeProto, &mut GraphProto)) -> Vec<u8> {
    let mut model = ModelProto::decode(&fixture("lstm_forward")[..]).expect("fixture decodes");
    let mut graph = model.graph.take().expect("graph");
    let at = graph
        .node
        .iter()
        .position(|n| n.op_type == "LSTM")
        .expect("an LSTM node");
    let mut node = graph.node.remove(at);
    edit(&mut node, &mut graph);
    graph.node.insert(at, node);
    model.graph = Some(graph);
    model.encode_to_vec()
}

fn strings_attr(name: &str, values: &[&str]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Strings as i32,
        strings: values.iter().map(|v| v.as_bytes().to_vec()).collect(),
        ..Default::default()
    }
}

fn load_err(bytes: &[u8]) -> String {
    OnnxModel::from_bytes(bytes)
        .expect_err("should be refused")
        .to_string()
}

#[test]
fn the_unedited_lstm_loads() {
    // Guards the tests below: each refusal comes from its edit, not from the fixture.
    OnnxModel::from_bytes(&lstm_with(|_, _| {})).expect("loads");
}

#[test]
fn non_default_recurrent_activations_are_refused() {
    let err = load_err(&lstm_with(|n, _| {
        n.attribute.push(strings_attr(
            "activations",
            &["HardSigmoid", "Tanh", "Tanh"],
        ))
    }));
    assert!(
        err.starts_with(
            "node `lstm` (LSTM): activations [\"HardSigmoid\", \"Tanh\", \"Tanh\"] are not supported"
        ),
        "{err}"
    );
    // The defaults spelled out (any case) are fine.
    OnnxModel::from_bytes(&lstm_with(|n, _| {
        n.attribute
            .push(strings_attr("activations", &["sigmoid", "TANH", "Tanh"]))
    }))
    .expect("default activations load");
}

#[test]
fn clip_and_input_forget_are_refused() {
    let err = load_err(&lstm_with(|n, _| {
        n.attribute.push(AttributeProto {
            name: "clip".into(),
            r#type: AttributeType::Float as i32,
            f: 3.0,
            ..Default::default()
        })
    }));
    assert!(
        err.contains("node `lstm` (LSTM): the clip attribute"),
        "{err}"
    );
    let err = load_err(&lstm_with(|n, _| {
        n.attribute.push(AttributeProto {
            name: "input_forget".into(),
            r#type: AttributeType::Int as i32,
            i: 1,
            ..Default::default()
        })
    }));
    assert!(err.contains("node `lstm` (LSTM): input_forget=1"), "{err}");
}

#[test]
fn a_sequence_lens_from_the_data_is_refused() {
    // sequence_lens (input 4) wired to a graph input, as a masked export would.
    let err = load_err(&lstm_with(|n, g| {
        n.input.truncate(4);
        n.input.push("lens".into());
        let mut lens = g.input[0].clone();
        lens.name = "lens".into();
        g.input.push(lens);
    }));
    assert!(
        err.contains("node `lstm` (LSTM): sequence_lens input `lens` is not an initializer"),
        "{err}"
    );
}

#[test]
fn an_unknown_op_is_named_with_its_node_and_domain() {
    let err = load_err(&lstm_with(|n, _| {
        n.op_type = "FancyRnn".into();
        n.domain = "com.example".into();
    }));
    assert_eq!(
        err,
        "node `lstm`: op type `FancyRnn` (domain `com.example`) is not supported by the ONNX \
         engine (tract)"
    );
}

/// Allocation discipline: an initializer (or a node's tensor attribute) whose dims declare
/// far more elements than it stores is refused by scorewell's scan, naming it, before tract
/// sizes a tensor from the dims.
#[test]
fn forged_initializer_dims_are_refused() {
    let forged = lstm_with(|node, graph| {
        let w = node.input[1].clone();
        let t = graph
            .initializer
            .iter_mut()
            .find(|t| t.name == w)
            .expect("W is an initializer");
        t.dims = vec![1 << 40, 1 << 20];
    });
    match OnnxModel::from_bytes(&forged) {
        Err(OnnxError::Interface { kind, reason, .. }) => {
            assert_eq!(kind, "initializer");
            assert!(
                reason.starts_with("its dims [1099511627776, 1048576] declare 1152921504606846976 elements, but it stores"),
                "{reason}"
            );
        }
        Err(other) => panic!("expected an initializer error, got {other}"),
        Ok(_) => panic!("a forged initializer loaded"),
    }
    let err = load_err(&lstm_with(|node, graph| {
        let w = node.input[1].clone();
        let t = graph
            .initializer
            .iter_mut()
            .find(|t| t.name == w)
            .expect("W");
        t.dims = vec![i64::MAX, 4];
    }));
    assert!(err.contains("are negative or overflow 64 bits"), "{err}");
    // The same dims on a constant node's `value` attribute.
    let err = load_err(&lstm_with(|_, graph| {
        let w = graph.initializer[0].clone();
        graph.node.insert(
            0,
            NodeProto {
                name: "forged".into(),
                op_type: "Constant".into(),
                output: vec!["forged_out".into()],
                attribute: vec![AttributeProto {
                    name: "value".into(),
                    r#type: AttributeType::Tensor as i32,
                    t: Some(tract_onnx::pb::TensorProto {
                        dims: vec![1 << 40],
                        ..w
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            },
        );
    }));
    assert!(
        err.starts_with(
            "node `forged` (Constant): attribute `value`: its dims [1099511627776] declare"
        ),
        "{err}"
    );
}

/// The load error of the fixture with a node `forged` of type `op` inserted first, whose
/// input `at` (and input 0) is a stored int64 tensor `forged_shape` holding `shape`.
fn forged_op(op: &str, at: usize, shape: Vec<i64>) -> String {
    load_err(&lstm_with(|_, graph| {
        graph.initializer.push(tract_onnx::pb::TensorProto {
            name: "forged_shape".into(),
            data_type: 7, // INT64
            dims: vec![shape.len() as i64],
            int64_data: shape,
            ..Default::default()
        });
        let mut input = vec![String::new(); at + 1];
        input[0] = "forged_shape".into();
        input[at] = "forged_shape".into();
        graph.node.insert(
            0,
            NodeProto {
                name: "forged".into(),
                op_type: op.into(),
                input,
                output: vec!["forged_out".into()],
                ..Default::default()
            },
        );
    }))
}

/// A stored shape asking an op for 2^40 elements is refused before the ONNX engine folds the
/// op into a constant (which would allocate it at load).
#[test]
fn forged_constant_shapes_are_refused() {
    for (op, at) in [
        ("ConstantOfShape", 0),
        ("Expand", 1),
        ("Tile", 1),
        ("Resize", 3),
    ] {
        let err = forged_op(op, at, vec![1 << 20, 1 << 20]);
        assert!(
            err.starts_with(&format!(
                "node `forged` ({op}): input `forged_shape` = [1048576, 1048576] asks for more than 16777216 elements"
            )),
            "{op}: {err}"
        );
        // Overflowing 64 bits is refused too, not wrapped.
        let err = forged_op(op, at, vec![i64::MAX, i64::MAX]);
        assert!(err.contains("asks for more than"), "{op}: {err}");
    }
}

/// The shape a PyTorch export builds at run time: the batch size out of `Shape`, concatenated
/// with stored numbers. One forged number there (a fuzzing finding) asked tract for 84 GB while
/// it folded the graph's constants; the known elements alone are enough to refuse it.
#[test]
fn forged_shapes_built_from_constants_are_refused() {
    let int64s = |name: &str, values: Vec<i64>| tract_onnx::pb::TensorProto {
        name: name.into(),
        data_type: 7, // INT64
        dims: vec![values.len() as i64],
        int64_data: values,
        ..Default::default()
    };
    let node = |name: &str, op: &str, input: &[&str]| NodeProto {
        name: name.into(),
        op_type: op.into(),
        input: input.iter().map(|s| s.to_string()).collect(),
        output: vec![format!("{name}_out")],
        ..Default::default()
    };
    let err = load_err(&lstm_with(|_, graph| {
        let x = graph.input[0].name.clone();
        graph.initializer.push(int64s("zero", vec![0]));
        graph.initializer.push(int64s("huge", vec![1 << 40]));
        graph.initializer.push(int64s("twelve", vec![12]));
        let chain = [
            node("shape", "Shape", &[&x]),
            node("batch", "Gather", &["shape_out", "zero"]),
            node("dims", "Concat", &["batch_out", "huge", "twelve"]),
            node("forged", "ConstantOfShape", &["dims_out"]),
        ];
        for (i, n) in chain.into_iter().enumerate() {
            graph.node.insert(i, n);
        }
    }));
    assert!(
        err.starts_with(
            "node `forged` (ConstantOfShape): input `dims_out` = [?, 1099511627776, 12] asks for more than 16777216 elements"
        ),
        "{err}"
    );
    // A Range whose stored bounds ask for 2^40 steps.
    let err = load_err(&lstm_with(|_, graph| {
        graph.initializer.push(int64s("start", vec![0]));
        graph.initializer.push(int64s("limit", vec![1 << 40]));
        graph.initializer.push(int64s("delta", vec![1]));
        graph
            .node
            .insert(0, node("forged", "Range", &["start", "limit", "delta"]));
    }));
    assert!(
        err.starts_with(
            "node `forged` (Range): start 0, limit 1099511627776, delta 1 asks for more than"
        ),
        "{err}"
    );
}

#[test]
fn bytes_that_are_not_onnx_are_an_error() {
    assert!(matches!(
        OnnxModel::from_bytes(b"PK\x03\x04 a zip, not a protobuf"),
        Err(OnnxError::Decode(_))
    ));
    let truncated = fixture("gemm_mlp");
    let err = OnnxModel::from_bytes(&truncated[..truncated.len() / 2]).expect_err("truncated");
    assert!(matches!(err, OnnxError::Decode(_)), "{err}");
    assert!(matches!(
        OnnxModel::from_bytes(&ModelProto::default().encode_to_vec()),
        Err(OnnxError::Decode(_))
    ));
}

fn list_column(rows: Vec<Option<Vec<f64>>>) -> ArrayRef {
    Arc::new(ListArray::from_iter_primitive::<Float64Type, _, _>(
        rows.into_iter().map(|r| r.map(|v| v.into_iter().map(Some))),
    ))
}

fn apply_err(case: &str, columns: Vec<(&str, ArrayRef)>) -> String {
    let stage = OnnxStage::new(
        case,
        Arc::new(OnnxModel::from_bytes(&fixture(case)).expect("loads")),
    );
    let batch = RecordBatch::try_from_iter(columns).expect("batch");
    match stage.bind(&batch.schema()) {
        Err(e) => e.to_string(),
        Ok(b) => stage
            .apply(&b, &batch)
            .expect_err("should be refused")
            .to_string(),
    }
}

#[test]
fn rows_of_the_wrong_width_type_or_value_are_errors() {
    let ok = vec![0.5; 6];
    let err = apply_err(
        "gemm_mlp",
        vec![("x", list_column(vec![Some(ok.clone()), Some(vec![1.0; 5])]))],
    );
    assert_eq!(
        err,
        "column `x`, row 1 of the batch: the ONNX input `x` has shape [6] per row, 6 values \
         flattened row-major; this row has 5"
    );
    let err = apply_err("gemm_mlp", vec![("x", list_column(vec![Some(ok), None]))]);
    assert_eq!(
        err,
        "column `x`, row 1 of the batch: null row; the model needs a value"
    );
    let err = apply_err(
        "gemm_mlp",
        vec![("x", Arc::new(Float64Array::from(vec![1.0])) as ArrayRef)],
    );
    assert!(err.starts_with("column `x` has type Float64"), "{err}");
    let err = apply_err(
        "gemm_mlp",
        vec![("y", list_column(vec![Some(vec![0.0; 6])]))],
    );
    assert!(err.starts_with("input has no column `x`"), "{err}");
    // int64 token ids: a fraction, or a value past i64, is not silently truncated.
    let err = apply_err(
        "int64_embedding",
        vec![(
            "tokens",
            list_column(vec![Some(vec![1.0, 2.0, 3.5, 0.0, 1.0])]),
        )],
    );
    assert_eq!(
        err,
        "column `tokens`, row 0 of the batch: 3.5 is not an int64 (the ONNX input's element type)"
    );
    let err = apply_err(
        "int64_embedding",
        vec![(
            "tokens",
            list_column(vec![Some(vec![1.0, 2.0, 1e19, 0.0, 1.0])]),
        )],
    );
    assert!(err.contains("is not an int64"), "{err}");
    // An id outside the embedding table: tract's Gather error, not a panic.
    let err = apply_err(
        "int64_embedding",
        vec![(
            "tokens",
            list_column(vec![Some(vec![1.0, 2.0, 99.0, 0.0, 1.0])]),
        )],
    );
    assert!(err.starts_with("stage `int64_embedding`:"), "{err}");
}

#[test]
fn outputs_are_named_like_tree_models_or_after_the_onnx_outputs() {
    let names = |case: &str| -> Vec<String> {
        let m = Arc::new(OnnxModel::from_bytes(&fixture(case)).expect("loads"));
        OnnxStage::new(case, m)
            .output_fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    };
    assert_eq!(names("tf_conv1d"), ["prediction"]);
    assert_eq!(
        names("tf_mlp"),
        ["prediction_0", "prediction_1", "prediction_2"]
    );
    assert_eq!(
        names("gemm_mlp"),
        ["score", "probs_0", "probs_1", "probs_2"]
    );
}

/// Found by fuzzing (target `onnx`): an `Expand` of a stored scalar to `Concat(stored,
/// Shape(input), stored)`, whose stored numbers ask for 1.2 billion elements. The `Shape` of a
/// graph input was not followed, so the check never saw the shape, and tract allocated 4.8 GB
/// while it typed the graph. The input's declared dims are followed now.
#[test]
fn an_expand_to_a_shape_built_from_the_inputs_dims_is_refused() {
    let bytes = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../scorewell-fuzz/regressions/onnx/expand-to-a-shape-from-the-inputs-dims.onnx"),
    )
    .expect("committed regression");
    let err = load_err(&bytes);
    assert!(
        err.starts_with("node `node_zeros` (Expand): input `val_7` = ["),
        "{err}"
    );
    assert!(
        err.contains("asks for more than 16777216 elements"),
        "{err}"
    );
}

/// Found by fuzzing (target `onnx`): the same PyTorch LSTM export with a stored number of the
/// `Expand`'s target forged to -34057748479. tract narrowed it to 301989889 and allocated
/// 14.5 GB while it typed the graph (the size bound counted a negative dim as 0). A negative
/// shape, repeat count or size is refused, naming the node, for each op sized by one.
#[test]
fn negative_sizes_are_refused() {
    let bytes = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../scorewell-fuzz/regressions/onnx/expand-to-a-negative-size.onnx"),
    )
    .expect("committed regression");
    let err = load_err(&bytes);
    assert!(
        err.starts_with(
            "node `node_zeros` (Expand): input `val_7` = [-34057748479, ?, 12] holds a negative size"
        ),
        "{err}"
    );
    for (op, at) in [
        ("ConstantOfShape", 0),
        ("Expand", 1),
        ("Tile", 1),
        ("Resize", 3),
    ] {
        let err = forged_op(op, at, vec![-1, 4]);
        assert!(
            err.starts_with(&format!(
                "node `forged` ({op}): input `forged_shape` = [-1, 4] holds a negative size, which ONNX does not allow"
            )),
            "{op}: {err}"
        );
    }
}

/// An `Expand` whose target alone is small but whose data's dims broadcast against it to a
/// large output: [2^12, 1] data to a [1, 2^13] target is 2^25 elements.
#[test]
fn an_expand_is_sized_by_the_broadcast_of_its_data_and_target() {
    let err = load_err(&lstm_with(|_, graph| {
        graph.initializer.push(tract_onnx::pb::TensorProto {
            name: "column".into(),
            data_type: 1, // FLOAT
            dims: vec![1 << 12, 1],
            raw_data: vec![0; 4 << 12],
            ..Default::default()
        });
        graph.initializer.push(tract_onnx::pb::TensorProto {
            name: "target".into(),
            data_type: 7, // INT64
            dims: vec![2],
            int64_data: vec![1, 1 << 13],
            ..Default::default()
        });
        graph.node.insert(
            0,
            NodeProto {
                name: "forged".into(),
                op_type: "Expand".into(),
                input: vec!["column".into(), "target".into()],
                output: vec!["forged_out".into()],
                ..Default::default()
            },
        );
    }));
    assert!(
        err.starts_with(
            "node `forged` (Expand): input `target` = [1, 8192], broadcast with the data's dims to [4096, 8192], asks for more than 16777216 elements"
        ),
        "{err}"
    );
}

/// Found by fuzzing (target `onnx`): a `Transpose` whose `perm` is not a permutation. tract
/// splits `perm` into cycles, and on a repeated axis that loop grew a vector until memory
/// ran out (2 GB under the fuzzer's limit).
#[test]
fn a_transpose_whose_perm_is_not_a_permutation_is_refused() {
    let bytes = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../scorewell-fuzz/regressions/onnx/transpose-perm-not-a-permutation.onnx"),
    )
    .expect("committed regression");
    let err = load_err(&bytes);
    assert!(err.contains("(Transpose): attribute `perm` = ["), "{err}");
    assert!(err.contains("does not list each of the axes"), "{err}");
    for perm in [vec![1, 1, 2], vec![0, 3, 1], vec![-1, 0, 1]] {
        let err = load_err(&lstm_with(|_, graph| {
            let t = graph
                .node
                .iter_mut()
                .find(|n| n.op_type == "Transpose")
                .expect("the fixture transposes");
            let attr = t
                .attribute
                .iter_mut()
                .find(|a| a.name == "perm")
                .expect("with a perm");
            attr.ints = perm.clone();
        }));
        assert!(
            err.contains(&format!(
                "attribute `perm` = {perm:?} does not list each of the axes 0..3 once"
            )),
            "{perm:?}: {err}"
        );
    }
}
