//! A saved Spark ML folder (metadata JSON and Parquet `data/`), read from memory as a bundle
//! holds it: the fuzzed input replaces one file of a real folder.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use crate::score::exercise_stages;

/// The folder the inputs edit: a StringIndexer → OneHotEncoder → VectorAssembler →
/// GBTClassifier pipeline saved by Spark 3.5 (a committed conformance fixture).
const FOLDER: &str = "tests/conformance/spark/cases/spark_3_5_mixed_gbt/model";

fn repo_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// The folder's files by `/`-separated path under `m/`, sorted.
fn folder(root: &Path) -> BTreeMap<String, Arc<[u8]>> {
    let mut files = BTreeMap::new();
    let base = root.join(FOLDER);
    let mut stack = vec![base.clone()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let (Ok(rel), Ok(bytes)) = (path.strip_prefix(&base), std::fs::read(&path)) {
                files.insert(format!("m/{}", rel.to_string_lossy()), Arc::from(bytes));
            }
        }
    }
    files
}

fn cached() -> &'static BTreeMap<String, Arc<[u8]>> {
    static FILES: OnceLock<BTreeMap<String, Arc<[u8]>>> = OnceLock::new();
    FILES.get_or_init(|| folder(repo_root()))
}

/// The first byte picks which file (in path order) the rest replaces.
pub(crate) fn folder_input(data: &[u8]) {
    let files = cached();
    let (Some((&pick, content)), false) = (data.split_first(), files.is_empty()) else {
        return;
    };
    let mut edited = files.clone();
    if let Some(name) = files.keys().nth(usize::from(pick) % files.len()) {
        edited.insert(name.clone(), Arc::from(content));
    }
    if let Ok(stages) = scorewell_spark::load_files("m/", edited) {
        exercise_stages(stages);
    }
}

/// Each file of the folder, prefixed with the byte that picks it.
pub(crate) fn seeds(root: &Path) -> Vec<Vec<u8>> {
    folder(root)
        .values()
        .enumerate()
        .map(|(i, bytes)| {
            let mut seed = vec![u8::try_from(i).unwrap_or(u8::MAX)];
            seed.extend_from_slice(bytes);
            seed
        })
        .collect()
}
