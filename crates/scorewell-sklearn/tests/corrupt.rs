//! Corrupt files never panic: every committed scikit-learn fixture, cut at many points and
//! with bytes flipped (seeded), either loads or fails with an error — and when it loads, it
//! binds and scores its own input without panicking either.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use scorewell_core::Stage;

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance/sklearn/cases");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flat_map(|e| std::fs::read_dir(e.unwrap().path()).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "joblib" || e == "pkl"))
        .collect();
    files.sort();
    files
}

/// A small seeded generator (xorshift), so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn try_load(bytes: &[u8], input: &Path) {
    if let Ok(model) = scorewell_sklearn::load(bytes) {
        let stage = scorewell_sklearn::SklearnStage::new(Arc::new(model));
        let file = std::fs::File::open(input).unwrap();
        let mut reader =
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                .unwrap()
                .build()
                .unwrap();
        let batch = reader.next().unwrap().unwrap();
        if let Ok(binding) = stage.bind(&batch.schema()) {
            let _ = stage.apply(&binding, &batch);
        }
    }
}

#[test]
fn truncated_and_flipped_files_give_errors_not_panics() {
    let mut rng = Rng(0x5eed);
    let files = fixtures();
    assert!(files.len() >= 20);
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        let input = f.with_file_name("input.parquet");
        // Cuts: a spread of prefixes, including the very short ones.
        let n = bytes.len();
        for cut in (0..n).step_by((n / 40).max(1)).chain([1, 2, 3, n - 1]) {
            let cut = cut.min(n);
            let r = std::panic::catch_unwind(|| try_load(&bytes[..cut], &input));
            assert!(r.is_ok(), "{}: cut at {cut} panicked", f.display());
        }
        // Flips: 30 corrupted copies with 1–4 random bytes changed.
        for _ in 0..30 {
            let mut b = bytes.clone();
            for _ in 0..1 + rng.next() % 4 {
                let at = (rng.next() as usize) % n;
                b[at] = rng.next() as u8;
            }
            let r = std::panic::catch_unwind(|| try_load(&b, &input));
            assert!(r.is_ok(), "{}: a flipped copy panicked", f.display());
        }
    }
}

/// Allocation discipline: `n_features_in_` sizes the input schema (`x0, x1, …` when the file
/// names no columns) with nothing else in the file behind it, so a forged 2^40 is refused
/// instead of making a trillion names.
#[test]
fn forged_n_features_in_is_refused() {
    let short = |s: &str| [&[0x8c, s.len() as u8][..], s.as_bytes()].concat();
    let mut p = b"\x80\x04".to_vec();
    p.extend(short("sklearn.tree._classes"));
    p.extend(short("DecisionTreeRegressor"));
    p.extend(b"\x93)\x81}");
    p.extend(short("n_features_in_"));
    p.extend([0x8a, 8]); // LONG1, 8 bytes
    p.extend((1u64 << 40).to_le_bytes());
    p.extend(b"sb.");
    match scorewell_sklearn::load(&p) {
        Err(scorewell_sklearn::SklearnError::Attribute {
            attribute, message, ..
        }) => {
            assert_eq!(attribute, "n_features_in_");
            assert_eq!(
                message,
                "declares 1099511627776 features, more than the 16777216 scorewell reads"
            );
        }
        Err(other) => panic!("expected an attribute error, got {other}"),
        Ok(_) => panic!("a forged n_features_in_ loaded"),
    }
}
