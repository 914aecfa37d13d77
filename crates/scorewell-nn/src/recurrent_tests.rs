//! The batch evaluator against a plain per-step reference written from the Keras formulas.

use super::*;

/// A small deterministic generator (no dependency needed for test data).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) - 0.5
    }
    fn vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.next()).collect()
    }
}

fn layer(cell: Cell, units: usize, width: usize, seed: u64) -> Recurrent {
    let mut r = Lcg(seed);
    let g = cell.gates() * units;
    Recurrent {
        cell,
        units,
        kernel: r.vec(width * g),
        recurrent_kernel: r.vec(units * g),
        bias: Some(r.vec(g)),
        recurrent_bias: (cell == Cell::Gru { reset_after: true }).then(|| r.vec(g)),
        activation: Activation::Tanh,
        recurrent_activation: Activation::Sigmoid,
        return_sequences: true,
        go_backwards: false,
        zero_output_for_mask: false,
    }
}

fn sig(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// One sample, step by step, as Keras' cells write it.
fn reference(r: &Recurrent, x: &[f32], steps: usize, width: usize, mask: &[bool]) -> Vec<f32> {
    let u = r.units;
    let g = r.cell.gates() * u;
    let (mut h, mut c) = (vec![0.0f32; u], vec![0.0f32; u]);
    let mut outs = Vec::new();
    let proj = |m: &[f32], v: &[f32], j: usize| -> f32 {
        v.iter().enumerate().map(|(k, a)| a * m[k * g + j]).sum()
    };
    for p in 0..steps {
        let t = if r.go_backwards { steps - 1 - p } else { p };
        let xt = &x[t * width..(t + 1) * width];
        if !mask[t] {
            outs.push(if r.zero_output_for_mask {
                vec![0.0; u]
            } else {
                h.clone()
            });
            continue;
        }
        let xw: Vec<f32> = (0..g)
            .map(|j| proj(&r.kernel, xt, j) + r.bias.as_ref().map_or(0.0, |b| b[j]))
            .collect();
        let hu: Vec<f32> = (0..g)
            .map(|j| {
                proj(&r.recurrent_kernel, &h, j) + r.recurrent_bias.as_ref().map_or(0.0, |b| b[j])
            })
            .collect();
        let new_h: Vec<f32> = match r.cell {
            Cell::SimpleRnn => (0..u).map(|j| (xw[j] + hu[j]).tanh()).collect(),
            Cell::Lstm => (0..u)
                .map(|j| {
                    let i = sig(xw[j] + hu[j]);
                    let f = sig(xw[u + j] + hu[u + j]);
                    c[j] = f * c[j] + i * (xw[2 * u + j] + hu[2 * u + j]).tanh();
                    sig(xw[3 * u + j] + hu[3 * u + j]) * c[j].tanh()
                })
                .collect(),
            Cell::Gru { reset_after } => {
                let z: Vec<f32> = (0..u).map(|j| sig(xw[j] + hu[j])).collect();
                let rg: Vec<f32> = (0..u).map(|j| sig(xw[u + j] + hu[u + j])).collect();
                let rh: Vec<f32> = (0..u).map(|j| rg[j] * h[j]).collect();
                (0..u)
                    .map(|j| {
                        let rec = if reset_after {
                            rg[j] * hu[2 * u + j]
                        } else {
                            proj(&r.recurrent_kernel[2 * u..], &rh, j)
                        };
                        let hh = (xw[2 * u + j] + rec).tanh();
                        z[j] * h[j] + (1.0 - z[j]) * hh
                    })
                    .collect()
            }
        };
        h = new_h;
        outs.push(h.clone());
    }
    if r.return_sequences {
        outs.concat()
    } else {
        outs.pop().unwrap_or_default()
    }
}

fn check(r: &Recurrent, batch: usize, steps: usize, width: usize, seed: u64) {
    let mut g = Lcg(seed);
    let x = g.vec(batch * steps * width);
    // Some steps masked in every position, one row entirely.
    let mask: Vec<bool> = (0..batch * steps)
        .map(|i| g.next() > -0.25 && i / steps != 1)
        .collect();
    for m in [None, Some(mask.as_slice())] {
        let got = r.run(&x, batch, steps, width, m);
        let mut want = Vec::new();
        for b in 0..batch {
            let all = vec![true; steps];
            let mb = m.map_or(all.as_slice(), |m| &m[b * steps..(b + 1) * steps]);
            want.extend(reference(
                r,
                &x[b * steps * width..(b + 1) * steps * width],
                steps,
                width,
                mb,
            ));
        }
        assert_eq!(got.len(), want.len());
        for (i, (a, b)) in got.iter().zip(&want).enumerate() {
            assert!(
                (a - b).abs() < 2e-5,
                "{:?} batch {batch} value {i}: {a} vs {b}",
                r.cell
            );
        }
    }
}

#[test]
fn every_cell_matches_the_per_step_reference() {
    let cells = [
        Cell::Lstm,
        Cell::Gru { reset_after: true },
        Cell::Gru { reset_after: false },
        Cell::SimpleRnn,
    ];
    for (k, cell) in cells.into_iter().enumerate() {
        // One row, a partial block of four and several blocks with a remainder.
        for batch in [1, 3, 13] {
            let mut r = layer(cell, 5, 3, k as u64 + 1);
            check(&r, batch, 6, 3, 7);
            r.go_backwards = true;
            r.return_sequences = false;
            check(&r, batch, 6, 3, 8);
            r.zero_output_for_mask = true;
            r.return_sequences = true;
            check(&r, batch, 6, 3, 9);
        }
    }
}

#[test]
fn a_row_scores_to_the_same_bits_alone_and_in_any_batch() {
    // Online scoring (one row) and batch re-scoring must agree exactly, whatever the batch.
    let cells = [
        Cell::Lstm,
        Cell::Gru { reset_after: true },
        Cell::Gru { reset_after: false },
        Cell::SimpleRnn,
    ];
    let (steps, width, units) = (5, 3, 6);
    for (k, cell) in cells.into_iter().enumerate() {
        let r = layer(cell, units, width, k as u64 + 21);
        let x = Lcg(k as u64 + 40).vec(17 * steps * width);
        let mask: Vec<bool> = (0..17 * steps).map(|i| i % 7 != 3).collect();
        let all = r.run(&x, 17, steps, width, Some(&mask));
        let per = all.len() / 17;
        for b in [0, 5, 16] {
            let one = r.run(
                &x[b * steps * width..][..steps * width],
                1,
                steps,
                width,
                Some(&mask[b * steps..][..steps]),
            );
            assert_eq!(one, all[b * per..][..per], "{cell:?} row {b}");
        }
    }
}

#[test]
fn a_masked_step_keeps_the_state_and_repeats_the_output() {
    let r = layer(Cell::Lstm, 4, 2, 3);
    let x = Lcg(5).vec(3 * 2);
    let out = r.run(&x, 1, 3, 2, Some(&[true, false, true]));
    // Step 1 repeats step 0; step 2 equals running the sequence without step 1.
    assert_eq!(out[4..8], out[0..4]);
    let skipped = [x[0], x[1], x[4], x[5]];
    let short = r.run(&skipped, 1, 2, 2, None);
    assert_eq!(out[8..12], short[4..8]);
    // Every step masked: the initial zero state.
    assert!(
        r.run(&x, 1, 3, 2, Some(&[false; 3]))
            .iter()
            .all(|&v| v == 0.0)
    );
}

#[test]
fn bidirectional_flips_the_backward_sequence_into_time_order() {
    let forward = layer(Cell::Gru { reset_after: true }, 3, 2, 11);
    let mut backward = layer(Cell::Gru { reset_after: true }, 3, 2, 12);
    backward.go_backwards = true;
    let x = Lcg(13).vec(2 * 4 * 2);
    let f = forward.run(&x, 2, 4, 2, None);
    let b = backward.run(&x, 2, 4, 2, None);
    let bi = Bidirectional {
        forward,
        backward,
        merge: BiMerge::Concat,
    };
    let out = bi.run(&x, 2, 4, 2, None);
    for s in 0..2 {
        for t in 0..4 {
            let o = &out[(s * 4 + t) * 6..][..6];
            assert_eq!(o[..3], f[(s * 4 + t) * 3..][..3]);
            // The backward layer walked t = 3, 2, 1, 0: its step 3 - t is time t.
            assert_eq!(o[3..], b[(s * 4 + 3 - t) * 3..][..3]);
        }
    }
    let sum = Bidirectional {
        merge: BiMerge::Ave,
        ..bi
    };
    let avg = sum.run(&x, 2, 4, 2, None);
    assert!((avg[0] - (f[0] + b[3 * 3]) / 2.0).abs() < 1e-7);
}

#[test]
fn shapes_and_weights_are_checked_with_the_layer_named() {
    let r = layer(Cell::Lstm, 4, 3, 1);
    assert_eq!(r.output_shape("l", &[7, 3]), Ok(vec![7, 4]));
    let err = r.output_shape("l", &[3]).expect_err("rank 1");
    assert!(
        err.to_string()
            .starts_with("layer `l`: LSTM takes (timesteps, features)"),
        "{err}"
    );
    assert_eq!(
        r.output_shape("l", &[7, 2]),
        Err(NnError::WeightShape {
            layer: "l".into(),
            variable: "kernel".into(),
            expected: vec![2, 16],
            found: vec![48],
        })
    );
    let odd = Recurrent {
        recurrent_bias: Some(vec![0.0; 16]),
        ..r.clone()
    };
    assert!(odd.output_shape("l", &[7, 3]).is_err());
    let bi = Bidirectional {
        forward: r.clone(),
        backward: Recurrent {
            units: 2,
            kernel: vec![0.0; 24],
            recurrent_kernel: vec![0.0; 16],
            bias: None,
            ..r
        },
        merge: BiMerge::Sum,
    };
    assert!(bi.output_shape("b", &[7, 3]).is_err());
    assert_eq!(
        Bidirectional {
            merge: BiMerge::Concat,
            ..bi
        }
        .output_shape("b", &[7, 3]),
        Ok(vec![7, 6])
    );
}
