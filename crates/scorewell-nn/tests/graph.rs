//! Layer semantics against values worked out by hand (or with a naive reference in the test),
//! and the builder's errors. Parity against real Keras belongs to the Keras frontend's
//! conformance cases.

use scorewell_nn::{
    Activation, BatchNorm, Dense, Embedding, GraphBuilder, HardSigmoid, Layer, LayerNorm, MergeOp,
    NnError, Tensor,
};

fn close(a: &[f32], b: &[f32], tol: f32) {
    assert_eq!(a.len(), b.len(), "{a:?} vs {b:?}");
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= tol * (1.0 + y.abs()), "{a:?} vs {b:?}");
    }
}

fn t(shape: &[usize], data: &[f32]) -> Tensor {
    Tensor::new(shape.to_vec(), data.to_vec()).expect("shape matches data")
}

fn dense(kernel: &[f32], shape: [usize; 2], bias: Option<&[f32]>, activation: Activation) -> Layer {
    Layer::Dense(Dense {
        kernel: kernel.to_vec(),
        kernel_shape: shape.to_vec(),
        bias: bias.map(<[f32]>::to_vec),
        activation,
    })
}

#[test]
fn mlp_matches_a_naive_matrix_product() {
    // 3 -> 4 (relu) -> 2 (softmax), weights from a small deterministic sequence.
    let w1: Vec<f32> = (0..12).map(|i| ((i * 7 % 11) as f32 - 5.0) / 4.0).collect();
    let b1 = [0.1, -0.2, 0.3, 0.0];
    let w2: Vec<f32> = (0..8).map(|i| ((i * 5 % 7) as f32 - 3.0) / 3.0).collect();
    let b2 = [0.05, -0.05];
    let mut g = GraphBuilder::new();
    let x = g.add_input("x", vec![3]).unwrap();
    let h = g
        .add_layer("h", dense(&w1, [3, 4], Some(&b1), Activation::Relu), &[x])
        .unwrap();
    let y = g
        .add_layer(
            "y",
            dense(&w2, [4, 2], Some(&b2), Activation::Softmax),
            &[h],
        )
        .unwrap();
    g.add_output("y", y).unwrap();
    let graph = g.build().unwrap();
    assert_eq!(graph.parameter_count(), 12 + 4 + 8 + 2);

    let rows = [[1.0f32, -2.0, 0.5], [0.0, 0.0, 0.0], [3.0, 1.0, -1.0]];
    let flat: Vec<f32> = rows.iter().flatten().copied().collect();
    let out = graph.run(vec![t(&[3, 3], &flat)]).unwrap();
    assert_eq!(out[0].shape(), &[3, 2]);

    let mut expected = Vec::new();
    for r in rows {
        let hid: Vec<f32> = (0..4)
            .map(|j| (b1[j] + (0..3).map(|i| r[i] * w1[i * 4 + j]).sum::<f32>()).max(0.0))
            .collect();
        let z: Vec<f32> = (0..2)
            .map(|j| b2[j] + (0..4).map(|i| hid[i] * w2[i * 2 + j]).sum::<f32>())
            .collect();
        let s = z[0].exp() + z[1].exp();
        expected.extend([z[0].exp() / s, z[1].exp() / s]);
    }
    close(out[0].data(), &expected, 1e-6);

    // One row alone gives the same answer as inside the batch.
    let single = graph.run(vec![t(&[1, 3], &flat[6..9])]).unwrap();
    close(single[0].data(), &expected[4..6], 1e-6);
}

#[test]
fn activations_match_their_formulas() {
    let cases: &[(Activation, f32, f32)] = &[
        (Activation::Linear, -1.5, -1.5),
        (Activation::Relu, -1.5, 0.0),
        (Activation::Relu6, 7.0, 6.0),
        (Activation::LeakyRelu { alpha: 0.2 }, -2.0, -0.4),
        (Activation::Elu { alpha: 1.0 }, -1.0, -0.632_120_56),
        (Activation::Selu, -1.0, -1.111_330_7),
        (Activation::Selu, 2.0, 2.101_402),
        (Activation::Gelu { approximate: false }, 1.0, 0.841_344_7),
        (Activation::Gelu { approximate: true }, 1.0, 0.841_191_97),
        (Activation::Silu, 1.0, 0.731_058_6),
        (Activation::Sigmoid, 0.0, 0.5),
        (Activation::Sigmoid, -100.0, 0.0),
        // Keras 2 and Keras 3 disagree on hard_sigmoid: 0.2x+0.5 against x/6+0.5.
        (Activation::HardSigmoid(HardSigmoid::Keras2), 1.0, 0.7),
        (
            Activation::HardSigmoid(HardSigmoid::Keras3),
            1.0,
            0.666_666_7,
        ),
        (Activation::HardSigmoid(HardSigmoid::Keras2), 3.0, 1.0),
        (Activation::Tanh, 0.5, 0.462_117_16),
        (Activation::Softplus, 1.0, 1.313_261_7),
        (Activation::Softplus, 100.0, 100.0),
        (Activation::Softsign, 3.0, 0.75),
        (Activation::Exponential, 1.0, std::f32::consts::E),
    ];
    for &(a, x, y) in cases {
        let got = a.scalar(x);
        assert!(
            (got - y).abs() <= 1e-6 * (1.0 + y.abs()),
            "{a:?}({x}) = {got}, expected {y}"
        );
    }
    let mut v = [1.0f32, 2.0, 3.0, 1000.0, 1000.0, 1000.0];
    Activation::Softmax.apply(&mut v, 3);
    close(
        &v,
        &[
            0.090_030_57,
            0.244_728_48,
            0.665_240_94,
            1.0 / 3.0,
            1.0 / 3.0,
            1.0 / 3.0,
        ],
        1e-6,
    );
}

#[test]
fn normalisations_keep_epsilon_inside_the_root() {
    let mut g = GraphBuilder::new();
    let x = g.add_input("x", vec![2]).unwrap();
    let bn = Layer::BatchNorm(BatchNorm {
        gamma: Some(vec![2.0, 1.0]),
        beta: None,
        moving_mean: vec![1.0, -1.0],
        moving_variance: vec![3.999, 0.0],
        epsilon: 1e-3,
    });
    let b = g.add_layer("bn", bn, &[x]).unwrap();
    let ln = Layer::LayerNorm(LayerNorm {
        gamma: None,
        beta: Some(vec![0.5, 0.5]),
        epsilon: 1e-3,
    });
    let l = g.add_layer("ln", ln, &[x]).unwrap();
    g.add_output("bn", b).unwrap();
    g.add_output("ln", l).unwrap();
    let graph = g.build().unwrap();
    let out = graph.run(vec![t(&[1, 2], &[3.0, 1.0])]).unwrap();
    // bn: 2*(3-1)/sqrt(4) = 2; (1+1)/sqrt(0.001) = 63.245553
    close(out[0].data(), &[2.0, 63.245_553], 1e-6);
    // ln: mean 2, variance 1 -> (±1)/sqrt(1.001) + 0.5
    let d = 1.0 / 1.001f32.sqrt();
    close(out[1].data(), &[0.5 + d, 0.5 - d], 1e-6);
}

#[test]
fn two_inputs_two_outputs_with_embedding_merges_and_concatenation() {
    let table: Vec<f32> = (0..8).map(|i| i as f32).collect(); // vocab 4, dim 2
    let mut g = GraphBuilder::new();
    let tokens = g.add_input("tokens", vec![3]).unwrap();
    let side = g.add_input("side", vec![3, 2]).unwrap();
    let emb = Layer::Embedding(Embedding {
        table,
        table_shape: vec![4, 2],
        mask_zero: true,
    });
    let e = g.add_layer("emb", emb, &[tokens]).unwrap();
    let sum = g
        .add_layer("sum", Layer::Merge(MergeOp::Add), &[e, side])
        .unwrap();
    let diff = g
        .add_layer("diff", Layer::Merge(MergeOp::Subtract), &[e, side])
        .unwrap();
    let mx = g
        .add_layer("max", Layer::Merge(MergeOp::Maximum), &[e, side])
        .unwrap();
    let avg = g
        .add_layer("avg", Layer::Merge(MergeOp::Average), &[e, side, mx])
        .unwrap();
    let cat = g
        .add_layer("cat", Layer::Concatenate { axis: -1 }, &[sum, diff])
        .unwrap();
    let flat = g.add_layer("flat", Layer::Flatten, &[cat]).unwrap();
    let steps = g
        .add_layer("steps", Layer::Concatenate { axis: 0 }, &[avg, side])
        .unwrap();
    let r = g
        .add_layer("r", Layer::Reshape(vec![None, Some(4)]), &[steps])
        .unwrap();
    g.add_output("flat", flat).unwrap();
    g.add_output("r", r).unwrap();
    let graph = g.build().unwrap();
    let shapes: Vec<_> = graph
        .outputs()
        .map(|(n, s)| (n.to_owned(), s.to_vec()))
        .collect();
    assert_eq!(
        shapes,
        [("flat".to_owned(), vec![12]), ("r".to_owned(), vec![3, 4])]
    );

    let side_v = [1.0f32, 1.0, 10.0, 0.0, -1.0, 2.0];
    let out = graph
        .run(vec![t(&[1, 3], &[2.0, 0.0, 3.0]), t(&[1, 3, 2], &side_v)])
        .unwrap();
    // emb rows: [4,5], [0,1], [6,7]
    let e = [4.0f32, 5.0, 0.0, 1.0, 6.0, 7.0];
    let mut flat_expected = Vec::new();
    for s in 0..3 {
        let (a, b) = (&e[s * 2..s * 2 + 2], &side_v[s * 2..s * 2 + 2]);
        flat_expected.extend([a[0] + b[0], a[1] + b[1], a[0] - b[0], a[1] - b[1]]);
    }
    close(out[0].data(), &flat_expected, 0.0);
    let mut r_expected = Vec::new();
    for s in 0..3 {
        for c in 0..2 {
            let (a, b) = (e[s * 2 + c], side_v[s * 2 + c]);
            r_expected.push((a + b + a.max(b)) / 3.0);
        }
    }
    r_expected.extend_from_slice(&side_v);
    close(out[1].data(), &r_expected, 1e-6);
}

#[test]
fn mismatched_weights_name_layer_variable_and_both_shapes() {
    let mut g = GraphBuilder::new();
    let x = g.add_input("x", vec![3]).unwrap();
    let err = g
        .add_layer(
            "dense_1",
            dense(&[0.0; 8], [4, 2], None, Activation::Linear),
            &[x],
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "layer `dense_1`: weight `kernel` has shape [4, 2], expected [3, 2]"
    );
    let err = g
        .add_layer(
            "dense_2",
            dense(&[0.0; 6], [3, 2], Some(&[0.0; 3]), Activation::Linear),
            &[x],
        )
        .unwrap_err();
    assert!(
        matches!(err, NnError::WeightShape { ref variable, .. } if variable == "bias"),
        "{err}"
    );
    let bn = Layer::BatchNorm(BatchNorm {
        gamma: None,
        beta: None,
        moving_mean: vec![0.0; 3],
        moving_variance: vec![1.0; 2],
        epsilon: 1e-3,
    });
    let err = g.add_layer("bn", bn, &[x]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "layer `bn`: weight `moving_variance` has shape [2], expected [3]"
    );
}

#[test]
fn bad_graphs_and_bad_inputs_are_errors() {
    let mut g = GraphBuilder::new();
    let x = g.add_input("x", vec![2, 3]).unwrap();
    let y = g.add_input("y", vec![2, 4]).unwrap();
    let err = g
        .add_layer("m", Layer::Merge(MergeOp::Add), &[x, y])
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("layer `m`: merged inputs must have one shape"),
        "{err}"
    );
    let err = g
        .add_layer("c", Layer::Concatenate { axis: 0 }, &[x, y])
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("cannot concatenate [2, 3] and [2, 4] on axis 0"),
        "{err}"
    );
    let err = g
        .add_layer("s", Layer::Merge(MergeOp::Subtract), &[x])
        .unwrap_err();
    assert_eq!(err.to_string(), "layer `s` (Merge) takes 2 input(s), got 1");
    let err = g
        .add_layer("r", Layer::Reshape(vec![None, Some(5)]), &[x])
        .unwrap_err();
    assert!(
        err.to_string().contains("cannot reshape [2, 3] (6 values)"),
        "{err}"
    );
    assert_eq!(
        g.add_input("x", vec![1]).unwrap_err(),
        NnError::DuplicateName("x".into())
    );
    let c = g
        .add_layer("c", Layer::Concatenate { axis: -1 }, &[x, y])
        .unwrap();
    g.add_output("c", c).unwrap();
    let graph = g.build().unwrap();

    // A row of the wrong width.
    let err = graph
        .run(vec![t(&[1, 6], &[0.0; 6]), t(&[1, 2, 4], &[0.0; 8])])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "input `x`: expected shape (batch=1, [2, 3]), got [1, 6]"
    );
    let err = graph.run(vec![t(&[1, 2, 3], &[0.0; 6])]).unwrap_err();
    assert!(err.to_string().contains("takes 2 input(s), got 1"), "{err}");
    assert!(GraphBuilder::new().build().is_err());
}

#[test]
fn embedding_refuses_ids_outside_the_vocabulary() {
    let mut g = GraphBuilder::new();
    let x = g.add_input("ids", vec![2]).unwrap();
    let emb = Layer::Embedding(Embedding {
        table: vec![0.0; 6],
        table_shape: vec![3, 2],
        mask_zero: false,
    });
    let e = g.add_layer("embedding", emb, &[x]).unwrap();
    g.add_output("e", e).unwrap();
    let graph = g.build().unwrap();
    for bad in [3.0, -1.0, 1.5, f32::NAN] {
        let err = graph.run(vec![t(&[1, 2], &[0.0, bad])]).unwrap_err();
        assert!(
            err.to_string().starts_with("layer `embedding`: token id"),
            "{bad}: {err}"
        );
    }
    assert_eq!(
        graph.run(vec![t(&[1, 2], &[2.0, 0.0])]).unwrap()[0].shape(),
        &[1, 2, 2]
    );
}

#[test]
fn permute_and_repeat_vector_move_values_as_keras_does() {
    let mut g = GraphBuilder::new();
    let x = g.add_input("x", vec![2, 3, 2]).unwrap();
    // Keras Permute((3, 1, 2)): output axes = input axes (2, 0, 1) -> shape (2, 2, 3).
    let p = g
        .add_layer("p", Layer::Permute(vec![2, 0, 1]), &[x])
        .unwrap();
    let v = g.add_input("v", vec![2]).unwrap();
    let r = g.add_layer("r", Layer::RepeatVector(3), &[v]).unwrap();
    g.add_output("p", p).unwrap();
    g.add_output("r", r).unwrap();
    assert!(
        g.add_layer("bad", Layer::Permute(vec![0, 0, 1]), &[x])
            .is_err()
    );
    assert!(g.add_layer("bad2", Layer::RepeatVector(2), &[x]).is_err());
    let graph = g.build().unwrap();
    let data: Vec<f32> = (0..12).map(|i| i as f32).collect();
    let out = graph
        .run(vec![t(&[1, 2, 3, 2], &data), t(&[1, 2], &[7.0, 8.0])])
        .unwrap();
    assert_eq!(out[0].shape(), &[1, 2, 2, 3]);
    // out[k][i][j] = in[i][j][k] with in[i][j][k] = 6i + 2j + k.
    let mut want = Vec::new();
    for k in 0..2 {
        for i in 0..2 {
            for j in 0..3 {
                want.push((6 * i + 2 * j + k) as f32);
            }
        }
    }
    assert_eq!(out[0].data(), &want[..]);
    assert_eq!(out[1].data(), &[7.0, 8.0, 7.0, 8.0, 7.0, 8.0]);
}
