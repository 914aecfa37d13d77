//! Times one symbolic-row-count plan against a plan per row count (the two
//! [`Planning`] modes) on the committed conformance models, at 1 and 1,000 rows per call.
//!
//!     cargo run --release -p scorewell-onnx --example plans
//!
//! Prints per model and mode the median time of one call (after warm-up), in microseconds,
//! and the load time (decode, check, optimise, plan for one row count), in milliseconds.

use std::path::Path;
use std::time::Instant;

use scorewell_onnx::{OnnxModel, Planning};
use tract_onnx::prelude::{IntoTValue, TVec, Tensor};

fn inputs(model: &OnnxModel, rows: usize) -> TVec<tract_onnx::prelude::TValue> {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    model
        .inputs()
        .iter()
        .map(|i| {
            let mut shape = vec![rows];
            shape.extend_from_slice(&i.row_shape);
            let n: usize = shape.iter().product();
            let v: Vec<f32> = (0..n)
                .map(|_| {
                    // xorshift: repeatable values in [-1, 1) without a rand dependency.
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    (seed >> 40) as f32 / (1u64 << 23) as f32 - 1.0
                })
                .collect();
            Tensor::from_shape(&shape, &v).expect("shape").into_tvalue()
        })
        .collect()
}

fn median_us(model: &OnnxModel, rows: usize) -> f64 {
    let calls = if rows == 1 { 2000 } else { 50 };
    let input = inputs(model, rows);
    for _ in 0..calls / 10 {
        model.run(input.clone()).expect("runs");
    }
    let mut t: Vec<f64> = (0..calls)
        .map(|_| {
            let s = Instant::now();
            model.run(input.clone()).expect("runs");
            s.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance/onnx");
    println!("model                 planning       1 row (us)   1000 rows (us)   load (ms)");
    for case in ["tf_mlp", "tf_conv1d", "gemm_mlp", "lstm_forward"] {
        let bytes = std::fs::read(dir.join(case).join("model.onnx")).expect("fixture");
        for planning in [Planning::Symbolic, Planning::PerRowCount] {
            let s = Instant::now();
            let model = OnnxModel::from_bytes_with(&bytes, planning).expect("loads");
            let load_ms = s.elapsed().as_secs_f64() * 1e3;
            let one = median_us(&model, 1);
            let many = median_us(&model, 1000);
            let planning = format!("{planning:?}");
            println!("{case:<21} {planning:<14} {one:>10.1}   {many:>14.1}   {load_ms:>8.1}");
        }
    }
}
