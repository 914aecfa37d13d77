//! Every Annoy conformance case: the real annoy's answers (tests/conformance/annoy, made by
//! its generate.py) reproduced exactly — the same ids in the same order, distances within
//! 1e-6 relative. `SCOREWELL_ANNOY_CASES=DIR` runs freshly generated cases instead.

use std::path::{Path, PathBuf};

use scorewell_neighbors::{AnnoyIndex, Metric};
use serde_json::Value;

/// Distances are compared to this relative tolerance (annoy's own rounding is reproduced, so
/// they are equal to the bit on the machine that made the fixtures; another compiler's annoy
/// may round the last bit differently).
const TOLERANCE: f64 = 1e-6;

fn cases_dir() -> PathBuf {
    match std::env::var_os("SCOREWELL_ANNOY_CASES") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance/annoy/cases"),
    }
}

fn close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= TOLERANCE * a.abs().max(b.abs()).max(1e-30)
}

fn run_case(dir: &Path) -> Result<usize, String> {
    let case: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("case.json")).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    let metric: Metric = case["metric"]
        .as_str()
        .unwrap_or_default()
        .parse()
        .map_err(|e| format!("{e}"))?;
    let dims = case["dims"].as_u64().unwrap_or(0) as usize;
    let mapped =
        AnnoyIndex::open(dir.join("index.ann"), metric, dims).map_err(|e| e.to_string())?;
    let bytes = std::fs::read(dir.join("index.ann")).map_err(|e| e.to_string())?;
    let owned = AnnoyIndex::from_bytes(&bytes, metric, dims).map_err(|e| e.to_string())?;
    let mut checked = 0;
    for index in [&mapped, &owned] {
        if index.n_items() as u64 != case["n_items"].as_u64().unwrap_or(0)
            || index.n_trees() as u64 != case["n_trees"].as_u64().unwrap_or(0)
        {
            return Err(format!(
                "items/trees {}/{} vs annoy's {}/{}",
                index.n_items(),
                index.n_trees(),
                case["n_items"],
                case["n_trees"]
            ));
        }
        for (item, want) in case["item_vectors"].as_object().into_iter().flatten() {
            let got = index
                .item_vector(item.parse().unwrap_or(-1))
                .map_err(|e| e.to_string())?;
            let want: Vec<f32> = want
                .as_array()
                .into_iter()
                .flatten()
                .map(|x| x.as_f64().unwrap_or(f64::NAN) as f32)
                .collect();
            if got != want {
                return Err(format!("item {item}: vector {got:?} vs annoy's {want:?}"));
            }
        }
        for (k, lookup) in case["lookups"].as_array().into_iter().flatten().enumerate() {
            let n = lookup["n"].as_u64().unwrap_or(0) as usize;
            let search_k = lookup["search_k"].as_i64().unwrap_or(-1);
            let got = if let Some(item) = lookup["item"].as_i64() {
                index.nns_by_item(item, n, search_k)
            } else {
                let v: Vec<f32> = lookup["vector"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|x| x.as_f64().unwrap_or(f64::NAN) as f32)
                    .collect();
                index.nns_by_vector(&v, n, search_k)
            }
            .map_err(|e| format!("lookup {k}: {e}"))?;
            let want_ids: Vec<i64> = lookup["ids"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|x| x.as_i64().unwrap_or(-1))
                .collect();
            if got.ids != want_ids {
                return Err(format!(
                    "lookup {k} (n {n}, search_k {search_k}): ids {:?} vs annoy's {want_ids:?}",
                    got.ids
                ));
            }
            for (j, want) in lookup["distances"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                let want = want.as_f64().unwrap_or(f64::NAN);
                let got = f64::from(got.distances[j]);
                if !close(got, want) {
                    return Err(format!(
                        "lookup {k}, neighbour {j}: distance {got} vs annoy's {want}"
                    ));
                }
            }
            checked += 1;
        }
    }
    Ok(checked)
}

#[test]
fn every_case_matches_annoy() {
    let dir = cases_dir();
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("case.json").is_file())
        .collect();
    names.sort();
    assert!(
        names.len() >= 12,
        "expected the annoy cases in {}",
        dir.display()
    );
    let mut failures = Vec::new();
    let mut lookups = 0;
    for case in &names {
        match run_case(case) {
            Ok(n) => lookups += n,
            Err(e) => failures.push(format!("{}: {e}", case.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from annoy:\n{}",
        failures.len(),
        names.len(),
        failures.join("\n")
    );
    eprintln!(
        "{} annoy cases, {lookups} lookups, all equal to annoy",
        names.len()
    );
}
