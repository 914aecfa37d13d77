//! latency-probe MODEL [ITERS]: splits one-row scoring latency into its parts, on rows of 50
//! Float32 columns `f0..f49` (bench/run.py's data layout, NaN-free values from a fixed LCG).
//!   score      = Scorer::score(row)        (what `scorewell bench` reports: bind + score)
//!   bind       = Scorer::bind(schema)      (resolve columns by name, build the output schema)
//!   bound      = BoundScorer::score(row)   (pre-bound: extract columns, evaluate, build output)
//!   evaluator  = Predictor::predict(DenseRows of 1 row)   (the compiled forest alone)
use std::sync::Arc;
use std::time::Instant;

use arrow_array::{ArrayRef, Float32Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use scorewell::forest::{DenseRows, Predictor};

fn pct(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn time(name: &str, iters: usize, mut f: impl FnMut(usize)) {
    for i in 0..iters.min(1000) {
        f(i);
    }
    let mut lat = Vec::with_capacity(iters);
    for i in 0..iters {
        let t = Instant::now();
        f(i);
        lat.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let mean = lat.iter().sum::<f64>() / lat.len() as f64;
    println!(
        "{name:<10} p50 {:>8.2} us  p99 {:>8.2} us  mean {:>8.2} us",
        pct(lat.clone(), 0.5),
        pct(lat, 0.99),
        mean
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let model_path = args.get(1).expect("usage: latency-probe MODEL [ITERS]");
    let iters: usize = args.get(2).map(|s| s.parse().expect("ITERS")).unwrap_or(20_000);
    let nf = 50;
    let mut seed = 0x2545F4914F6CDD1Du64;
    let mut rnd = move || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((seed >> 33) as f64 / (1u64 << 31) as f64) * 40.0 - 5.0
    };
    let rows: Vec<Vec<f64>> = (0..256).map(|_| (0..nf).map(|_| rnd()).collect()).collect();
    let schema = Arc::new(Schema::new(
        (0..nf).map(|f| Field::new(format!("f{f}"), DataType::Float32, true)).collect::<Vec<_>>(),
    ));
    let batches: Vec<RecordBatch> = rows
        .iter()
        .map(|r| {
            let cols: Vec<ArrayRef> =
                r.iter().map(|&v| Arc::new(Float32Array::from(vec![v as f32])) as ArrayRef).collect();
            RecordBatch::try_new(schema.clone(), cols).expect("batch")
        })
        .collect();
    let dense: Vec<Vec<f64>> = rows.iter().map(|r| r.iter().map(|&v| v as f32 as f64).collect()).collect();

    let scorer = scorewell::load(model_path).expect("load");
    let bound = scorer.bind(schema.clone()).expect("bind");
    let model = scorewell::load_model(model_path, None).expect("load model");
    let predictor = Predictor::compile(&model.forest);
    println!("{model_path}: {iters} single-row calls each, rayon threads {}", rayon_threads());

    let mut sink = 0.0f64;
    time("score", iters, |i| {
        sink += scorer.score(&batches[i % 256]).expect("score").num_rows() as f64;
    });
    time("bind", iters, |i| {
        sink += scorer.bind(batches[i % 256].schema()).expect("bind").output_schema().fields().len() as f64;
    });
    time("bound", iters, |i| {
        sink += bound.score(&batches[i % 256]).expect("score").num_rows() as f64;
    });
    time("evaluator", iters, |i| {
        sink += predictor.predict(&DenseRows::new(&dense[i % 256], nf), false)[0];
    });
    eprintln!("(checksum {sink})");
}

fn rayon_threads() -> String {
    std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "default".into())
}
