//! Convolutions, pools and step-axis layers against a naive reference written out loop by loop
//! in this file, plus the shapes and shape errors the builder gives. Parity with real Keras is in
//! the Keras frontend's conformance cases.

use scorewell_nn::{
    Activation, Conv, GlobalPool2D, GraphBuilder, Layer, NnError, Padding, Pool, PoolKind, StepOp,
    Tensor,
};

/// Deterministic values in [-1, 1).
fn values(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s % 2000) as f32 / 1000.0 - 1.0
        })
        .collect()
}

fn run(layer: Layer, input: &[usize], x: &[f32]) -> Result<(Vec<usize>, Vec<f32>), NnError> {
    let mut g = GraphBuilder::new();
    let i = g.add_input("x", input.to_vec())?;
    let y = g.add_layer("layer", layer, &[i])?;
    g.add_output("y", y)?;
    let g = g.build()?;
    let per: usize = input.iter().product();
    let mut shape = vec![x.len() / per];
    shape.extend_from_slice(input);
    let out = g.run(vec![Tensor::new(shape, x.to_vec()).expect("input size")])?;
    let t = out.into_iter().next().expect("one output");
    Ok((t.shape()[1..].to_vec(), t.into_data()))
}

fn close(got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-5 * (1.0 + w.abs()),
            "value {i}: {g} vs {w}"
        );
    }
}

/// Output size and padding before, per axis, written independently of the crate's code.
fn axis(n: usize, k: usize, s: usize, d: usize, padding: Padding) -> (usize, usize) {
    let span = (k - 1) * d + 1;
    match padding {
        Padding::Valid => ((n - span) / s + 1, 0),
        Padding::Same => {
            let out = n.div_ceil(s);
            let total = ((out - 1) * s + span).saturating_sub(n);
            (out, total / 2)
        }
        Padding::Causal => ((n + span - 1 - span) / s + 1, span - 1),
    }
}

struct Spec {
    h: usize,
    w: usize,
    c: usize,
    kh: usize,
    kw: usize,
    filters: usize,
    stride: [usize; 2],
    dilation: [usize; 2],
    groups: usize,
    padding: Padding,
}

/// A 2-D convolution by its definition; a 1-D one is the `h = kh = 1` case.
fn reference(sp: &Spec, x: &[f32], kernel: &[f32], bias: &[f32]) -> Vec<f32> {
    let (oh, ph) = axis(sp.h, sp.kh, sp.stride[0], sp.dilation[0], sp.padding);
    let (ow, pw) = axis(sp.w, sp.kw, sp.stride[1], sp.dilation[1], sp.padding);
    let (cg, fg) = (sp.c / sp.groups, sp.filters / sp.groups);
    let mut out = Vec::new();
    for sample in x.chunks(sp.h * sp.w * sp.c) {
        for oy in 0..oh {
            for ox in 0..ow {
                for f in 0..sp.filters {
                    let g = f / fg;
                    let mut acc = bias[f];
                    for i in 0..sp.kh {
                        for j in 0..sp.kw {
                            let iy =
                                (oy * sp.stride[0] + i * sp.dilation[0]) as isize - ph as isize;
                            let ix =
                                (ox * sp.stride[1] + j * sp.dilation[1]) as isize - pw as isize;
                            if iy < 0 || ix < 0 || iy >= sp.h as isize || ix >= sp.w as isize {
                                continue;
                            }
                            for ci in 0..cg {
                                let v =
                                    sample[(iy as usize * sp.w + ix as usize) * sp.c + g * cg + ci];
                                let k = kernel[((i * sp.kw + j) * cg + ci) * sp.filters + f];
                                acc += v * k;
                            }
                        }
                    }
                    out.push(acc);
                }
            }
        }
    }
    out
}

fn check(sp: Spec, rank1: bool, batch: usize) {
    let per = sp.h * sp.w * sp.c;
    let x = values(batch * per, 1);
    let cg = sp.c / sp.groups;
    let kernel = values(sp.kh * sp.kw * cg * sp.filters, 2);
    let bias = values(sp.filters, 3);
    let (input, kernel_shape, strides, dilation) = if rank1 {
        (
            vec![sp.w, sp.c],
            vec![sp.kw, cg, sp.filters],
            vec![sp.stride[1]],
            vec![sp.dilation[1]],
        )
    } else {
        (
            vec![sp.h, sp.w, sp.c],
            vec![sp.kh, sp.kw, cg, sp.filters],
            sp.stride.to_vec(),
            sp.dilation.to_vec(),
        )
    };
    let layer = Layer::Conv(Conv {
        kernel: kernel.clone(),
        kernel_shape,
        strides,
        dilation,
        padding: sp.padding,
        groups: sp.groups,
        bias: Some(bias.clone()),
        activation: Activation::Linear,
    });
    let (shape, got) = run(layer.clone(), &input, &x).expect("conv runs");
    let (oh, _) = axis(sp.h, sp.kh, sp.stride[0], sp.dilation[0], sp.padding);
    let (ow, _) = axis(sp.w, sp.kw, sp.stride[1], sp.dilation[1], sp.padding);
    let want_shape = if rank1 {
        vec![ow, sp.filters]
    } else {
        vec![oh, ow, sp.filters]
    };
    assert_eq!(shape, want_shape);
    close(&got, &reference(&sp, &x, &kernel, &bias));
    // One row at a time gives the same values as the batch.
    let single: Vec<f32> = x
        .chunks(per)
        .flat_map(|row| run(layer.clone(), &input, row).expect("one row").1)
        .collect();
    close(&single, &got);
}

fn conv1d(
    w: usize,
    c: usize,
    k: usize,
    filters: usize,
    (stride, dilation): (usize, usize),
    groups: usize,
    padding: Padding,
) -> Spec {
    Spec {
        h: 1,
        w,
        c,
        kh: 1,
        kw: k,
        filters,
        stride: [1, stride],
        dilation: [1, dilation],
        groups,
        padding,
    }
}

#[test]
fn conv1d_matches_the_definition_for_every_padding_stride_and_dilation() {
    for padding in [Padding::Valid, Padding::Same, Padding::Causal] {
        for (stride, dilation) in [(1, 1), (2, 1), (3, 1), (1, 2), (1, 3)] {
            // Odd and even lengths, so `same` is asymmetric in some.
            for w in [7, 8] {
                check(conv1d(w, 3, 3, 4, (stride, dilation), 1, padding), true, 5);
                check(conv1d(w, 4, 2, 6, (stride, dilation), 2, padding), true, 3);
            }
        }
    }
    // A batch larger than one patch chunk (dilation forces the gathered path).
    check(conv1d(50, 8, 3, 4, (1, 2), 1, Padding::Same), true, 300);
    // Samples so large that the graph runs the batch in chunks of rows.
    check(conv1d(2000, 8, 3, 4, (1, 1), 1, Padding::Same), true, 40);
}

#[test]
fn a_batch_run_in_chunks_of_rows_keeps_every_output_in_order() {
    // 70,000 values per sample: a few rows per chunk, so a batch of 7 takes several passes.
    let width = 70_000;
    let mut g = GraphBuilder::new();
    let x = g.add_input("x", vec![width / 2, 2]).unwrap();
    let flat = g.add_layer("flat", Layer::Flatten, &[x]).unwrap();
    let crop = Layer::Steps(StepOp::Crop {
        before: 1,
        after: width / 2 - 2,
    });
    let first = g.add_layer("crop", crop, &[x]).unwrap();
    g.add_output("all", flat).unwrap();
    g.add_output("again", flat).unwrap();
    g.add_output("second_step", first).unwrap();
    let g = g.build().unwrap();
    let data: Vec<f32> = (0..7 * width).map(|v| v as f32).collect();
    let out = g
        .run(vec![
            Tensor::new(vec![7, width / 2, 2], data.clone()).unwrap(),
        ])
        .unwrap();
    assert_eq!(out[0].shape(), &[7, width]);
    assert_eq!(out[0].data(), &data[..]);
    assert_eq!(out[1], out[0]);
    let want: Vec<f32> = (0..7)
        .flat_map(|r| [(r * width + 2) as f32, (r * width + 3) as f32])
        .collect();
    assert_eq!(out[2].shape(), &[7, 1, 2]);
    assert_eq!(out[2].data(), &want[..]);
    // A wrong per-sample shape is still reported against the whole batch.
    let err = g
        .run(vec![Tensor::new(vec![7, width], data).unwrap()])
        .unwrap_err();
    assert!(err.to_string().contains("batch=7"), "{err}");
}

#[test]
fn conv2d_matches_the_definition() {
    for padding in [Padding::Valid, Padding::Same] {
        for (stride, dilation) in [
            ([1, 1], [1, 1]),
            ([2, 1], [1, 1]),
            ([2, 3], [1, 1]),
            ([1, 1], [2, 1]),
        ] {
            let sp = Spec {
                h: 7,
                w: 6,
                c: 2,
                kh: 3,
                kw: 2,
                filters: 4,
                stride,
                dilation,
                groups: 1,
                padding,
            };
            check(sp, false, 3);
        }
    }
    let grouped = Spec {
        h: 5,
        w: 5,
        c: 6,
        kh: 2,
        kw: 3,
        filters: 9,
        stride: [1, 2],
        dilation: [1, 1],
        groups: 3,
        padding: Padding::Same,
    };
    check(grouped, false, 2);
}

fn conv1d_layer(k: usize, c: usize, filters: usize, padding: Padding) -> Layer {
    Layer::Conv(Conv {
        kernel: vec![0.5; k * c * filters],
        kernel_shape: vec![k, c, filters],
        strides: vec![1],
        dilation: vec![1],
        padding,
        groups: 1,
        bias: None,
        activation: Activation::Relu,
    })
}

#[test]
fn conv_shape_errors_name_the_layer() {
    // A kernel longer than the input with `valid` padding: an error, not an underflow.
    let err = run(conv1d_layer(5, 2, 3, Padding::Valid), &[4, 2], &[0.0; 8]).unwrap_err();
    assert!(
        matches!(&err, NnError::Shape { layer, .. } if layer == "layer"),
        "{err}"
    );
    assert!(err.to_string().contains("only 4"), "{err}");
    // `same` and `causal` accept it.
    let (shape, _) = run(conv1d_layer(5, 2, 3, Padding::Same), &[4, 2], &[1.0; 8]).unwrap();
    assert_eq!(shape, vec![4, 3]);
    let (shape, _) = run(conv1d_layer(5, 2, 3, Padding::Causal), &[4, 2], &[1.0; 8]).unwrap();
    assert_eq!(shape, vec![4, 3]);
    // Channels that do not match the kernel.
    let err = run(conv1d_layer(2, 3, 3, Padding::Valid), &[4, 2], &[0.0; 8]).unwrap_err();
    assert!(
        matches!(&err, NnError::WeightShape { layer, variable, .. } if layer == "layer" && variable == "kernel"),
        "{err}"
    );
    // A 1-D kernel over a 2-D input.
    let err = run(
        conv1d_layer(2, 2, 3, Padding::Valid),
        &[4, 4, 2],
        &[0.0; 32],
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("Conv1D takes an input of 2 axes"),
        "{err}"
    );
    // Groups that do not divide the channels.
    let Layer::Conv(mut c) = conv1d_layer(2, 1, 3, Padding::Valid) else {
        unreachable!()
    };
    c.groups = 2;
    let err = run(Layer::Conv(c), &[4, 2], &[0.0; 8]).unwrap_err();
    assert!(err.to_string().contains("2 groups"), "{err}");
    // Causal padding on a 2-D convolution.
    let conv2d = Layer::Conv(Conv {
        kernel: vec![1.0; 4],
        kernel_shape: vec![2, 2, 1, 1],
        strides: vec![1, 1],
        dilation: vec![1, 1],
        padding: Padding::Causal,
        groups: 1,
        bias: None,
        activation: Activation::Linear,
    });
    let err = run(conv2d, &[3, 3, 1], &[0.0; 9]).unwrap_err();
    assert!(err.to_string().contains("causal"), "{err}");
}

fn pool(kind: PoolKind, size: &[usize], strides: &[usize], padding: Padding) -> Layer {
    Layer::Pool(Pool {
        kind,
        pool_size: size.to_vec(),
        strides: strides.to_vec(),
        padding,
    })
}

#[test]
fn pools_1d_by_hand() {
    // 5 steps, 1 channel.
    let x = [1.0, -2.0, 3.0, 4.0, -5.0];
    let (s, y) = run(pool(PoolKind::Max, &[2], &[2], Padding::Valid), &[5, 1], &x).unwrap();
    assert_eq!((s, y), (vec![2, 1], vec![1.0, 4.0]));
    // `same`: 3 outputs, one padded cell at the end; the average counts real cells only.
    let (s, y) = run(
        pool(PoolKind::Average, &[2], &[2], Padding::Same),
        &[5, 1],
        &x,
    )
    .unwrap();
    assert_eq!((s, y), (vec![3, 1], vec![-0.5, 3.5, -5.0]));
    let (_, y) = run(pool(PoolKind::Max, &[2], &[2], Padding::Same), &[5, 1], &x).unwrap();
    assert_eq!(y, vec![1.0, 4.0, -5.0]);
    // Window 3, stride 1, `same`: one padded cell on each side.
    let (_, y) = run(
        pool(PoolKind::Average, &[3], &[1], Padding::Same),
        &[5, 1],
        &x,
    )
    .unwrap();
    close(&y, &[-0.5, 2.0 / 3.0, 5.0 / 3.0, 2.0 / 3.0, -0.5]);
    // Window 4, stride 1, `same` on 5 steps: one before, two after.
    let (_, y) = run(pool(PoolKind::Max, &[4], &[1], Padding::Same), &[5, 1], &x).unwrap();
    assert_eq!(y, vec![3.0, 4.0, 4.0, 4.0, 4.0]);
    let (_, y) = run(
        pool(PoolKind::Average, &[4], &[1], Padding::Same),
        &[5, 1],
        &x,
    )
    .unwrap();
    close(&y, &[2.0 / 3.0, 1.5, 0.0, 2.0 / 3.0, -0.5]);
    let err = run(pool(PoolKind::Max, &[6], &[1], Padding::Valid), &[5, 1], &x).unwrap_err();
    assert!(
        matches!(&err, NnError::Shape { layer, .. } if layer == "layer"),
        "{err}"
    );
}

#[test]
fn pools_2d_by_hand() {
    // 3 × 3 × 2: channel 0 counts 0..9, channel 1 is its negation.
    let x: Vec<f32> = (0..9).flat_map(|v| [v as f32, -(v as f32)]).collect();
    let (s, y) = run(
        pool(PoolKind::Max, &[2, 2], &[2, 2], Padding::Same),
        &[3, 3, 2],
        &x,
    )
    .unwrap();
    assert_eq!(s, vec![2, 2, 2]);
    assert_eq!(y, vec![4.0, 0.0, 5.0, -2.0, 7.0, -6.0, 8.0, -8.0]);
    let (_, y) = run(
        pool(PoolKind::Average, &[2, 2], &[2, 2], Padding::Same),
        &[3, 3, 2],
        &x,
    )
    .unwrap();
    close(&y, &[2.0, -2.0, 3.5, -3.5, 6.5, -6.5, 8.0, -8.0]);
    let (s, y) = run(
        pool(PoolKind::Average, &[2, 3], &[1, 1], Padding::Valid),
        &[3, 3, 2],
        &x,
    )
    .unwrap();
    assert_eq!(s, vec![2, 1, 2]);
    close(&y, &[2.5, -2.5, 5.5, -5.5]);
}

#[test]
fn global_pools_and_step_layers() {
    let x: Vec<f32> = (0..12).map(|v| v as f32).collect(); // 2 × 3 × 2
    for (keepdims, shape) in [(false, vec![2]), (true, vec![1, 1, 2])] {
        let l = Layer::GlobalPool2D(GlobalPool2D {
            kind: PoolKind::Average,
            keepdims,
        });
        let (s, y) = run(l, &[2, 3, 2], &x).unwrap();
        assert_eq!((s, y), (shape, vec![5.0, 6.0]));
    }
    let l = Layer::GlobalPool2D(GlobalPool2D {
        kind: PoolKind::Max,
        keepdims: false,
    });
    assert_eq!(run(l, &[2, 3, 2], &x).unwrap().1, vec![10.0, 11.0]);
    let l = Layer::GlobalPool2D(GlobalPool2D {
        kind: PoolKind::Max,
        keepdims: false,
    });
    assert!(run(l, &[6, 2], &x).is_err());

    // Steps: 3 steps of 2 channels, batch of 2.
    let x: Vec<f32> = (1..=12).map(|v| v as f32).collect();
    let (s, y) = run(
        Layer::Steps(StepOp::ZeroPad {
            before: 1,
            after: 2,
        }),
        &[3, 2],
        &x,
    )
    .unwrap();
    assert_eq!(s, vec![6, 2]);
    assert_eq!(
        &y[..12],
        &[0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 0.0, 0.0, 0.0, 0.0]
    );
    let (s, y) = run(
        Layer::Steps(StepOp::Crop {
            before: 2,
            after: 0,
        }),
        &[3, 2],
        &x,
    )
    .unwrap();
    assert_eq!((s, y), (vec![1, 2], vec![5.0, 6.0, 11.0, 12.0]));
    let (s, y) = run(Layer::Steps(StepOp::UpSample(2)), &[3, 2], &x[..6]).unwrap();
    assert_eq!(
        (s, y),
        (
            vec![6, 2],
            vec![1.0, 2.0, 1.0, 2.0, 3.0, 4.0, 3.0, 4.0, 5.0, 6.0, 5.0, 6.0]
        )
    );
    let err = run(
        Layer::Steps(StepOp::Crop {
            before: 2,
            after: 1,
        }),
        &[3, 2],
        &x,
    )
    .unwrap_err();
    assert!(
        matches!(&err, NnError::Shape { layer, .. } if layer == "layer"),
        "{err}"
    );
    let err = run(
        Layer::Steps(StepOp::ZeroPad {
            before: usize::MAX,
            after: 1,
        }),
        &[3, 2],
        &x,
    )
    .unwrap_err();
    assert!(matches!(&err, NnError::Shape { .. }), "{err}");
}

#[test]
fn activation_loops_agree_with_the_scalar_functions() {
    // `apply` has dedicated loops for the cheap functions conv layers use; they must compute
    // what `scalar` computes.
    let xs = [-3.0f32, -0.5, 0.0, 0.25, 2.0, 7.5];
    for a in [
        Activation::Relu,
        Activation::Relu6,
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::LeakyRelu { alpha: 0.1 },
    ] {
        let mut v = xs;
        a.apply(&mut v, 3);
        let want: Vec<f32> = xs.iter().map(|&x| a.scalar(x)).collect();
        assert_eq!(v.to_vec(), want, "{a:?}");
    }
}
