//! Masks through a built graph.

use crate::activation::Activation;
use crate::graph::GraphBuilder;
use crate::layer::{Dense, Embedding, Layer, MergeOp};
use crate::pool1d::{GlobalPool1D, PoolOp};
use crate::tensor::Tensor;

fn embedding(vocab: usize, mask_zero: bool) -> Layer {
    // Row v is (v, -v): easy to read back.
    let table = (0..vocab).flat_map(|v| [v as f32, -(v as f32)]).collect();
    Layer::Embedding(Embedding {
        table,
        table_shape: vec![vocab, 2],
        mask_zero,
    })
}

fn pool(op: PoolOp) -> Layer {
    Layer::GlobalPool1D(GlobalPool1D {
        op,
        channels_first: false,
        keepdims: false,
    })
}

#[test]
fn average_pooling_skips_padding_and_max_pooling_does_not() {
    let mut g = GraphBuilder::new();
    let t = g.add_input("t", vec![4]).expect("input");
    let e = g.add_layer("emb", embedding(10, true), &[t]).expect("emb");
    let d = Layer::Dense(Dense {
        kernel: vec![1.0, 0.0, 0.0, 1.0],
        kernel_shape: vec![2, 2],
        bias: Some(vec![0.5, 0.5]),
        activation: Activation::Linear,
    });
    let d = g.add_layer("dense", d, &[e]).expect("dense");
    assert!(
        g.masked(e) && g.masked(d),
        "Embedding makes a mask, Dense carries it"
    );
    let avg = g
        .add_layer("avg", pool(PoolOp::Average), &[d])
        .expect("avg");
    let max = g.add_layer("max", pool(PoolOp::Max), &[d]).expect("max");
    let flat = g.add_layer("flat", Layer::Flatten, &[d]).expect("flat");
    assert!(!g.masked(avg) && !g.masked(max) && !g.masked(flat));
    g.add_output("avg", avg).expect("out");
    g.add_output("max", max).expect("out");
    let graph = g.build().expect("graph");
    let ids = Tensor::new(vec![2, 4], vec![3.0, 0.0, 5.0, 0.0, 0.0, 0.0, 0.0, 0.0]).expect("t");
    let out = graph.run(vec![ids]).expect("run");
    // Row 0: steps 3 and 5 used; the padding rows are (0.5, 0.5) after the bias.
    assert_eq!(out[0].data()[..2], [4.5, -3.5]);
    assert_eq!(out[1].data()[..2], [5.5, 0.5]);
    // Row 1 is all padding: 0/0, as Keras.
    assert!(out[0].data()[2].is_nan());
    assert_eq!(out[1].data()[2..], [0.5, 0.5]);
}

#[test]
fn merges_or_masks_and_concatenate_follows_keras() {
    let mut g = GraphBuilder::new();
    let a = g.add_input("a", vec![3]).expect("a");
    let b = g.add_input("b", vec![3]).expect("b");
    let x = g.add_input("x", vec![3, 2]).expect("x");
    let ea = g.add_layer("ea", embedding(10, true), &[a]).expect("ea");
    let eb = g.add_layer("eb", embedding(10, true), &[b]).expect("eb");
    let add = g
        .add_layer("add", Layer::Merge(MergeOp::Add), &[ea, eb])
        .expect("add");
    let half = g
        .add_layer("half", Layer::Merge(MergeOp::Add), &[ea, x])
        .expect("half");
    assert!(
        g.masked(add) && !g.masked(half),
        "a merge needs every input masked"
    );
    let cat_f = g
        .add_layer("cat_f", Layer::Concatenate { axis: -1 }, &[ea, x])
        .expect("cat");
    let cat_t = g
        .add_layer("cat_t", Layer::Concatenate { axis: 0 }, &[ea, x])
        .expect("cat");
    for (name, n) in [("add", add), ("cat_f", cat_f), ("cat_t", cat_t)] {
        let avg = g
            .add_layer(&format!("avg_{name}"), pool(PoolOp::Average), &[n])
            .expect("avg");
        g.add_output(name, avg).expect("out");
    }
    let graph = g.build().expect("graph");
    let out = graph
        .run(vec![
            Tensor::new(vec![1, 3], vec![2.0, 0.0, 0.0]).expect("a"),
            Tensor::new(vec![1, 3], vec![0.0, 4.0, 0.0]).expect("b"),
            Tensor::new(vec![1, 3, 2], vec![1.0; 6]).expect("x"),
        ])
        .expect("run");
    // add: steps 0 and 1 used (a OR b), values (2,-2) and (4,-4).
    assert_eq!(out[0].data(), [3.0, -3.0]);
    // Along the features an unmasked input makes every step used.
    assert_eq!(out[1].data(), [2.0 / 3.0, -2.0 / 3.0, 1.0, 1.0]);
    // Along time the masks are concatenated: ea's step 0 and x's three steps.
    assert_eq!(out[2].data(), [5.0 / 4.0, 1.0 / 4.0]);
}

#[test]
fn masking_zeroes_and_masks_whole_steps() {
    let mut g = GraphBuilder::new();
    let x = g.add_input("x", vec![3, 2]).expect("x");
    let m = g.add_layer("m", Layer::Masking(-1.0), &[x]).expect("m");
    let avg = g
        .add_layer("avg", pool(PoolOp::Average), &[m])
        .expect("avg");
    g.add_output("m", m).expect("out");
    g.add_output("avg", avg).expect("out");
    let graph = g.build().expect("graph");
    let data = vec![1.0, 2.0, -1.0, -1.0, -1.0, 5.0];
    let out = graph
        .run(vec![Tensor::new(vec![1, 3, 2], data).expect("x")])
        .expect("run");
    assert_eq!(out[0].data(), [1.0, 2.0, 0.0, 0.0, -1.0, 5.0]);
    assert_eq!(out[1].data(), [0.0, 3.5]);
}

#[test]
fn a_mask_over_channels_first_input_is_refused() {
    let mut g = GraphBuilder::new();
    let t = g.add_input("t", vec![4]).expect("t");
    let e = g.add_layer("emb", embedding(10, true), &[t]).expect("emb");
    let cf = Layer::GlobalPool1D(GlobalPool1D {
        op: PoolOp::Average,
        channels_first: true,
        keepdims: false,
    });
    let err = g
        .add_layer("gap", cf, &[e])
        .expect_err("channels_first with a mask");
    assert!(
        err.to_string()
            .starts_with("layer `gap`: a mask over channels_first"),
        "{err}"
    );
}

#[test]
fn keras2_merges_and_the_masks_present() {
    use crate::mask::MaskRules;
    let mut g = GraphBuilder::new();
    g.set_mask_rules(MaskRules::Keras2);
    let a = g.add_input("a", vec![3]).expect("a");
    let b = g.add_input("b", vec![3]).expect("b");
    let x = g.add_input("x", vec![3, 2]).expect("x");
    let ea = g.add_layer("ea", embedding(10, true), &[a]).expect("ea");
    let eb = g.add_layer("eb", embedding(10, true), &[b]).expect("eb");
    let add = g
        .add_layer("add", Layer::Merge(MergeOp::Add), &[ea, eb])
        .expect("add");
    let half = g
        .add_layer("half", Layer::Merge(MergeOp::Add), &[ea, x])
        .expect("half");
    let cat = g
        .add_layer("cat", Layer::Concatenate { axis: -1 }, &[ea, x])
        .expect("cat");
    assert!(g.masked(add) && g.masked(half) && g.masked(cat));
    for (name, n) in [("add", add), ("half", half), ("cat", cat)] {
        let avg = g
            .add_layer(&format!("avg_{name}"), pool(PoolOp::Average), &[n])
            .expect("avg");
        g.add_output(name, avg).expect("out");
    }
    let graph = g.build().expect("graph");
    let out = graph
        .run(vec![
            Tensor::new(vec![1, 3], vec![2.0, 6.0, 0.0]).expect("a"),
            Tensor::new(vec![1, 3], vec![0.0, 4.0, 1.0]).expect("b"),
            Tensor::new(vec![1, 3, 2], vec![1.0; 6]).expect("x"),
        ])
        .expect("run");
    // add: only step 1 is used by both.
    assert_eq!(out[0].data(), [10.0, -10.0]);
    // An unmasked input does not widen the mask: ea's steps 0 and 1.
    assert_eq!(out[1].data(), [5.0, -3.0]);
    assert_eq!(out[2].data(), [4.0, -4.0, 1.0, 1.0]);
}
