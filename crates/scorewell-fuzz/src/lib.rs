//! The fuzz targets of scorewell: one function per parser that takes arbitrary bytes and must
//! answer with an error, never a panic, a hang or an unbounded allocation.
//!
//! The cargo-fuzz binaries in `fuzz/` call these (coverage-guided, `scripts/fuzz.sh TARGET
//! SECONDS`); `tests/replay.rs` runs every target on its seed corpus and on seeded mutations
//! of it in every CI run, so a harness that stops compiling or a seed that panics is caught
//! without a nightly toolchain. Seeds come from the committed conformance fixtures
//! ([`Target::seeds`], [`regressions`]).

mod inputs;
mod models;
mod score;
mod server;
mod spark;

use std::path::{Path, PathBuf};

/// One fuzz target: its name (the `fuzz/fuzz_targets/<name>.rs` binary) and its body.
pub struct Target {
    /// The binary's name.
    pub name: &'static str,
    /// Feeds one input to the parser.
    pub run: fn(&[u8]),
    /// Its seed inputs, from the repository at the given root (the committed fixtures).
    pub seeds: fn(&Path) -> Vec<Vec<u8>>,
}

/// Every target.
pub const TARGETS: &[Target] = &[
    Target {
        name: "xgboost_json",
        run: models::xgboost_json,
        seeds: seeds_xgboost_json,
    },
    Target {
        name: "xgboost_ubj",
        run: models::xgboost_ubj,
        seeds: seeds_xgboost_ubj,
    },
    Target {
        name: "lightgbm_text",
        run: models::lightgbm_text,
        seeds: seeds_lightgbm_text,
    },
    Target {
        name: "bundle_zip",
        run: models::bundle_zip,
        seeds: seeds_bundle_zip,
    },
    Target {
        name: "bundle_manifest",
        run: models::bundle_manifest,
        seeds: seeds_bundle_manifest,
    },
    Target {
        name: "keras_h5",
        run: models::keras_h5,
        seeds: seeds_keras_h5,
    },
    Target {
        name: "keras_archive",
        run: models::keras_archive,
        seeds: seeds_keras_archive,
    },
    Target {
        name: "sklearn_pickle",
        run: models::sklearn_pickle,
        seeds: seeds_sklearn_pickle,
    },
    Target {
        name: "onnx",
        run: models::onnx,
        seeds: seeds_onnx,
    },
    Target {
        name: "annoy",
        run: models::annoy,
        seeds: seeds_annoy,
    },
    Target {
        name: "spark_folder",
        run: spark::folder_input,
        seeds: spark::seeds,
    },
    Target {
        name: "csv_input",
        run: inputs::csv,
        seeds: seeds_csv_input,
    },
    Target {
        name: "jsonl_input",
        run: inputs::jsonl,
        seeds: seeds_jsonl_input,
    },
    Target {
        name: "parquet_input",
        run: inputs::parquet,
        seeds: seeds_parquet_input,
    },
    Target {
        name: "server_v1",
        run: server::v1,
        seeds: seeds_server_v1,
    },
    Target {
        name: "server_oip",
        run: server::oip,
        seeds: seeds_server_oip,
    },
];

/// Once per fuzzing process, before the first input: libFuzzer's Rust harness makes every
/// panic abort, even one caught by `scorewell_core::guard::catch` around a third-party decoder
/// (the parquet crate panics on some malformed files, and scorewell turns that into an error).
/// The standard hook is put back, so only panics that escape a target are findings: the
/// harness still aborts on those.
pub fn init() {
    let _ = std::panic::take_hook();
}

/// The target called `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

/// The minimized inputs of past findings of `target` (committed under
/// `crates/scorewell-fuzz/regressions/<target>/`), each replayed on every CI run.
pub fn regressions(target: &Target, root: &Path) -> Vec<Vec<u8>> {
    let pattern = format!("crates/scorewell-fuzz/regressions/{}/**/*", target.name);
    files(root, &[pattern.as_str()])
}

/// The contents of the files `patterns` name below `root`: each a path, or `folder/**/name`
/// for every file called `name` (`*` matching any run of characters) below `folder`.
fn files(root: &Path, patterns: &[&str]) -> Vec<Vec<u8>> {
    let mut found = Vec::new();
    for pattern in patterns {
        match pattern.split_once("/**/") {
            Some((folder, file)) => walk(&root.join(folder), file, &mut found),
            None => found.push(root.join(pattern)),
        }
    }
    found.sort();
    found.dedup();
    found.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

fn inline(seeds: &[&str]) -> Vec<Vec<u8>> {
    seeds.iter().map(|s| s.as_bytes().to_vec()).collect()
}

fn seeds_xgboost_json(root: &Path) -> Vec<Vec<u8>> {
    files(
        root,
        &[
            "tests/conformance/cases/**/model.json",
            "tests/routing/**/*.json",
        ],
    )
}

fn seeds_xgboost_ubj(root: &Path) -> Vec<Vec<u8>> {
    files(root, &["tests/conformance/cases/**/model.ubj"])
}

fn seeds_lightgbm_text(root: &Path) -> Vec<Vec<u8>> {
    files(root, &["tests/conformance/cases/**/model.txt"])
}

fn seeds_bundle_zip(root: &Path) -> Vec<Vec<u8>> {
    files(root, &["tests/bundles/**/*.zip"])
}

fn seeds_bundle_manifest(root: &Path) -> Vec<Vec<u8>> {
    files(root, &["tests/bundles/**/scorewell.json"])
}

fn seeds_keras_h5(root: &Path) -> Vec<Vec<u8>> {
    files(root, &["tests/conformance/keras/**/*.h5"])
}

fn seeds_keras_archive(root: &Path) -> Vec<Vec<u8>> {
    files(root, &["tests/conformance/keras/**/*.keras"])
}

fn seeds_sklearn_pickle(root: &Path) -> Vec<Vec<u8>> {
    files(
        root,
        &[
            "tests/conformance/sklearn/**/*.pkl",
            "tests/conformance/sklearn/**/*.joblib",
        ],
    )
}

fn seeds_onnx(root: &Path) -> Vec<Vec<u8>> {
    files(root, &["tests/conformance/onnx/**/*.onnx"])
}

fn seeds_annoy(root: &Path) -> Vec<Vec<u8>> {
    files(root, &["tests/conformance/annoy/**/*.ann"])
}

fn seeds_csv_input(root: &Path) -> Vec<Vec<u8>> {
    files(root, &["tests/bundles/**/*.csv"])
}

fn seeds_jsonl_input(_: &Path) -> Vec<Vec<u8>> {
    inline(&[
        "{\"x\": 0.5, \"y\": 1, \"id\": \"a\"}\n{\"x\": null, \"y\": \"NaN\"}\n",
        "{\"v\": [1.0, 2.5], \"s\": \"t\", \"b\": true}\n{\"v\": [], \"n\": {\"k\": 1}}\n",
    ])
}

fn seeds_parquet_input(root: &Path) -> Vec<Vec<u8>> {
    files(root, &["tests/**/*.parquet"])
}

fn seeds_server_v1(_: &Path) -> Vec<Vec<u8>> {
    inline(server::V1_SEEDS)
}

fn seeds_server_oip(_: &Path) -> Vec<Vec<u8>> {
    inline(server::OIP_SEEDS)
}

/// Files below `dir` whose name matches `pattern` (`*` matches any run of characters).
fn walk(dir: &Path, pattern: &str, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, pattern, found);
        } else if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| matches(pattern, n))
        {
            found.push(path);
        }
    }
}

fn matches(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, tail)) => {
            name.len() >= head.len() + tail.len() && name.starts_with(head) && name.ends_with(tail)
        }
    }
}
