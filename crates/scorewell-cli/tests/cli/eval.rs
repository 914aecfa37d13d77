//! `scorewell eval`: metrics, comparison, outputs, and one clear error per misuse.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{Dir, scorewell};

/// A LightGBM tree on `x` with four leaves (`x <= cuts[0]`, `<= cuts[1]`, `<= cuts[2]`, above)
/// and the given objective.
fn lightgbm_tree(objective: &str, cuts: [f64; 3], leaves: [f64; 4]) -> String {
    format!(
        "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\nmax_feature_idx=0\nobjective={objective}\nfeature_names=x\nfeature_infos=[0:1]\ntree_sizes=100\n\nTree=0\nnum_leaves=4\nnum_cat=0\nsplit_feature=0 0 0\nsplit_gain=1 1 1\nthreshold={} {} {}\ndecision_type=2 2 2\nleft_child=1 -1 -3\nright_child=2 -2 -4\nleaf_value={} {} {} {}\nleaf_weight=1 1 1 1\nleaf_count=1 1 1 1\ninternal_value=0 0 0\ninternal_weight=0 0 0\ninternal_count=4 2 2\nis_linear=0\nshrinkage=1\n\n\nend of trees\n",
        cuts[1], cuts[0], cuts[2], leaves[0], leaves[1], leaves[2], leaves[3]
    )
}

/// A LightGBM binary classifier on `x` whose probability is `probs[leaf]` (the leaves hold
/// their logits): a small, fully known binary scorer.
fn tree_model(cuts: [f64; 3], probs: [f64; 4]) -> String {
    let logit = |p: f64| (p / (1.0 - p)).ln();
    lightgbm_tree("binary sigmoid:1", cuts, probs.map(logit))
}

/// Candidate, baseline and 3,000 labelled rows (`id`, `x`, `is_attack`, `segment`).
struct Fixture {
    dir: Dir,
    candidate: PathBuf,
    baseline: PathBuf,
    data: PathBuf,
}

fn fixture() -> Fixture {
    let dir = Dir::new();
    let candidate = dir.write(
        "cand.txt",
        tree_model([0.25, 0.5, 0.75], [0.1, 0.3, 0.6, 0.9]),
    );
    let baseline = dir.write(
        "base.txt",
        tree_model([0.3, 0.5, 0.7], [0.2, 0.4, 0.5, 0.7]),
    );
    let mut csv = String::from("id,x,is_attack,segment\n");
    let mut state = 42u64;
    for i in 0..3000 {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let x = (state >> 11) as f64 / (1u64 << 53) as f64;
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let u = (state >> 11) as f64 / (1u64 << 53) as f64;
        let y = u64::from(u < x * x);
        csv.push_str(&format!(
            "m{i},{x:.5},{y},{}\n",
            ["web", "mail", "api"][i % 3]
        ));
    }
    let data = dir.write("history.csv", csv);
    Fixture {
        dir,
        candidate,
        baseline,
        data,
    }
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read json")).expect("parse json")
}

#[test]
fn compares_two_models_into_json_report_flips_and_a_table() {
    let f = fixture();
    let (metrics, report, flips) = (
        f.dir.path("metrics.json"),
        f.dir.path("report.html"),
        f.dir.path("flips.csv"),
    );
    let out = scorewell(&[
        &"eval",
        &f.candidate,
        &"--baseline",
        &f.baseline,
        &"--input",
        &f.data,
        &"--label",
        &"is_attack",
        &"--id",
        &"id",
        &"--json",
        &metrics,
        &"--report",
        &report,
        &"--threshold",
        &"0.35,0.5",
        &"--at-precision",
        &"0.6",
        &"--bootstrap",
        &"100",
        &"--seed",
        &"7",
        &"--group-by",
        &"segment",
        &"--quiet",
    ]);
    let table = out.ok().to_string();
    assert!(table.starts_with("3000 rows evaluated"), "{table}");
    assert!(
        table.contains("roc_auc") && table.contains("95% CI"),
        "{table}"
    );

    let m = json(&metrics);
    assert_eq!(m["schema_version"], 1);
    assert_eq!(m["task"], "binary");
    assert_eq!(m["rows"]["evaluated"], 3000);
    let auc = m["candidate"]["roc_auc"].as_f64().expect("auc");
    assert!(auc > 0.5 && auc < 1.0);
    let deltas = m["comparison"]["deltas"].as_array().expect("deltas");
    assert_eq!(deltas[0]["metric"], "roc_auc");
    let d = deltas[0]["delta"].as_f64().expect("delta");
    let (lo, hi) = (
        deltas[0]["ci"]["low"].as_f64().expect("low"),
        deltas[0]["ci"]["high"].as_f64().expect("high"),
    );
    assert!(lo <= d && d <= hi, "{lo} {d} {hi}");
    assert_eq!(m["comparison"]["bootstrap"]["replicates"], 100);
    let groups = m["groups"].as_array().expect("groups");
    let names: Vec<&str> = groups
        .iter()
        .map(|g| g["value"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(names, ["api", "mail", "web"]);
    assert_eq!(
        groups
            .iter()
            .map(|g| g["rows"].as_u64().unwrap_or(0))
            .sum::<u64>(),
        3000
    );

    // Flips at the first threshold (0.35): baseline 0.4 vs candidate 0.3 on x in (0.3, 0.5]
    // makes newly missed and cleared rows; the file holds exactly the counted rows.
    let text = std::fs::read_to_string(&flips).expect("flips");
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("row,id,is_attack,candidate_score,baseline_score,change")
    );
    let rows: Vec<&str> = lines.collect();
    let fl = &m["comparison"]["flips"];
    let total = [
        "newly_flagged_positive",
        "newly_flagged_negative",
        "newly_missed",
        "newly_cleared",
    ]
    .iter()
    .map(|k| fl[k].as_u64().expect("count"))
    .sum::<u64>();
    assert_eq!(rows.len() as u64, total);
    assert!(total > 0);
    assert!(
        rows.iter()
            .all(|r| r.split(',').nth(1).is_some_and(|id| id.starts_with('m')))
    );

    let html = std::fs::read_to_string(&report).expect("report");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(
        html.matches("<svg").count() >= 6,
        "ROC, PR, threshold, calibration, 2 distributions"
    );
    assert!(!html.contains("http://") || html.contains("xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(
        !html.contains("<script") && !html.contains("<link"),
        "self-contained"
    );

    // Same seed, same numbers; nothing but the outputs is left in the directory.
    let again = f.dir.path("again.json");
    scorewell(&[
        &"eval",
        &f.candidate,
        &"--baseline",
        &f.baseline,
        &"--input",
        &f.data,
        &"--label",
        &"is_attack",
        &"--id",
        &"id",
        &"--json",
        &again,
        &"--threshold",
        &"0.35,0.5",
        &"--at-precision",
        &"0.6",
        &"--bootstrap",
        &"100",
        &"--seed",
        &"7",
        &"--group-by",
        &"segment",
        &"--flips",
        &f.dir.path("flips2.csv"),
        &"-q",
    ])
    .ok();
    assert_eq!(json(&again)["comparison"], m["comparison"]);
    assert!(
        f.dir.listing().iter().all(|n| !n.ends_with(".tmp")),
        "{:?}",
        f.dir.listing()
    );
}

#[test]
fn spilling_sorted_runs_to_disk_changes_no_metric() {
    let f = fixture();
    let (a, b) = (f.dir.path("a.json"), f.dir.path("b.json"));
    for (path, memory) in [(&a, "1048576"), (&b, "50")] {
        scorewell(&[
            &"eval",
            &f.candidate,
            &"-i",
            &f.data,
            &"--label",
            &"is_attack",
            &"--json",
            path,
            &"--at-precision",
            &"0.5",
            &"--memory-rows",
            &memory,
            &"--batch-rows",
            &"128",
            &"--group-by",
            &"segment",
            &"-q",
        ])
        .ok();
    }
    let (mut ja, mut jb) = (json(&a), json(&b));
    assert!(ja["candidate"]["roc_auc"].as_f64().is_some());
    ja["input"] = serde_json::Value::Null;
    jb["input"] = serde_json::Value::Null;
    assert_eq!(ja, jb);
}

#[test]
fn regression_and_single_model_runs_need_no_baseline() {
    let f = fixture();
    let out = scorewell(&[
        &"eval",
        &f.candidate,
        &"-i",
        &f.data,
        &"--label",
        &"x",
        &"--task",
        &"regression",
        &"-q",
    ]);
    let table = out.ok();
    assert!(
        table.contains("rmse") && table.contains("r2") && !table.contains("baseline"),
        "{table}"
    );
}

#[test]
fn a_missing_label_column_is_one_clear_error() {
    let f = fixture();
    let err = scorewell(&[&"eval", &f.candidate, &"-i", &f.data, &"--label", &"label"])
        .err()
        .to_string();
    assert!(
        err.ends_with("history.csv: no label column `label` (columns: id, x, is_attack, segment)"),
        "{err}"
    );
}

#[test]
fn non_binary_labels_are_one_clear_error() {
    let f = fixture();
    let err = scorewell(&[&"eval", &f.candidate, &"-i", &f.data, &"--label", &"x"])
        .err()
        .to_string();
    assert!(err.contains("label column `x` has the value"), "{err}");
    assert!(
        err.contains("at row 0; binary metrics need labels 0 and 1"),
        "{err}"
    );
    let err = scorewell(&[
        &"eval",
        &f.candidate,
        &"-i",
        &f.data,
        &"--label",
        &"segment",
    ])
    .err()
    .to_string();
    assert!(
        err.ends_with("label column `segment` has type Utf8, which is not numeric"),
        "{err}"
    );
}

#[test]
fn failed_runs_leave_no_outputs() {
    let f = fixture();
    let metrics = f.dir.path("metrics.json");
    scorewell(&[
        &"eval",
        &f.candidate,
        &"--baseline",
        &f.baseline,
        &"-i",
        &f.data,
        &"--label",
        &"x",
        &"--json",
        &metrics,
        &"--flips",
        &f.dir.path("flips.csv"),
    ])
    .err();
    assert!(!metrics.exists());
    assert_eq!(f.dir.listing(), ["base.txt", "cand.txt", "history.csv"]);
}

/// Renders the report in headless Chromium and checks the screenshot shows something: run by
/// `scripts/check-report.sh`, which installs Chromium first.
#[test]
#[ignore = "needs Chromium: run scripts/check-report.sh"]
fn report_renders_in_headless_chromium() {
    let browser = std::env::var("SCOREWELL_CHROMIUM").unwrap_or_else(|_| "chromium".into());
    let f = fixture();
    let report = f.dir.path("report.html");
    scorewell(&[
        &"eval",
        &f.candidate,
        &"--baseline",
        &f.baseline,
        &"-i",
        &f.data,
        &"--label",
        &"is_attack",
        &"--report",
        &report,
        &"--bootstrap",
        &"50",
        &"-q",
    ])
    .ok();
    let blank = f
        .dir
        .write("blank.html", "<!DOCTYPE html><html><body></body></html>");
    let shot = |page: &Path, png: &Path| {
        let out = Command::new(&browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
            ])
            .arg("--window-size=1100,2000")
            .arg(format!("--screenshot={}", png.display()))
            .arg(format!("file://{}", page.display()))
            .output()
            .expect("run chromium (set SCOREWELL_CHROMIUM to its path)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::read(png).expect("screenshot")
    };
    let page = shot(&report, &f.dir.path("report.png"));
    let empty = shot(&blank, &f.dir.path("blank.png"));
    assert_eq!(&page[..8], b"\x89PNG\r\n\x1a\n");
    // A blank page compresses to a few KB; plots, text and tables cannot.
    assert!(
        page.len() > 50_000 && page.len() > 10 * empty.len(),
        "report screenshot {} bytes, blank page {} bytes",
        page.len(),
        empty.len()
    );
    if let Ok(dir) = std::env::var("SCOREWELL_REPORT_SHOT") {
        let _ = std::fs::copy(f.dir.path("report.png"), Path::new(&dir).join("report.png"));
    }
}

/// `--task` left out: the model's objective decides, so a regression model gets regression
/// metrics instead of the binary-label error.
#[test]
fn auto_task_follows_the_model_objective() {
    let f = fixture();
    let model = f.dir.write(
        "reg.txt",
        lightgbm_tree("regression", [0.25, 0.5, 0.75], [0.1, 0.4, 0.6, 0.9]),
    );
    let metrics = f.dir.path("reg.json");
    scorewell(&[
        &"eval", &model, &"-i", &f.data, &"--label", &"x", &"--json", &metrics, &"-q",
    ])
    .ok();
    let m = json(&metrics);
    assert_eq!(m["task"], "regression");
    let r2 = m["candidate"]["r2"].as_f64().expect("r2");
    assert!(r2 > 0.5 && r2 < 1.0, "{r2}");
    // The binary model on the same non-binary label still says what is wrong.
    let err = scorewell(&[&"eval", &f.candidate, &"-i", &f.data, &"--label", &"x"])
        .err()
        .to_string();
    assert!(err.contains("binary metrics need labels 0 and 1"), "{err}");
}

/// A bundle of `model` with a decision on `score` at `at_least`, written as a directory.
fn bundle_with_decision(
    dir: &Dir,
    name: &str,
    model: &Path,
    score: &str,
    at_least: f64,
) -> PathBuf {
    let spec = dir.write(
        &format!("{name}.yaml"),
        format!(
            "stages:\n  - kind: model\n    name: {name}\n    params: {{output: {score}}}\n\
             decision:\n  score: {score}\n  rules: [{{at_least: {at_least}, label: flag}}]\n  otherwise: pass\n\
             outputs: [{score}, decision]\n"
        ),
    );
    let out = dir.path(name);
    scorewell(&[
        &"bundle",
        &"create",
        &"--model",
        &model,
        &"--transforms",
        &spec,
        &"--name",
        &name,
        &"-o",
        &out,
    ])
    .ok();
    out
}

/// Flips judge each model at its own bundle's rule, on its own score column; a `--threshold`
/// repeating a rule is reported once.
#[test]
fn each_model_is_judged_at_its_own_bundle_rule() {
    let f = fixture();
    let candidate = bundle_with_decision(&f.dir, "cand", &f.candidate, "prediction", 0.35);
    let baseline = bundle_with_decision(&f.dir, "base", &f.baseline, "risk", 0.45);
    let (metrics, flips) = (f.dir.path("m.json"), f.dir.path("flips.csv"));
    scorewell(&[
        &"eval",
        &candidate,
        &"--baseline",
        &baseline,
        &"-i",
        &f.data,
        &"--label",
        &"is_attack",
        &"--threshold",
        &"0.35,0.6",
        &"--json",
        &metrics,
        &"--flips",
        &flips,
        &"-q",
    ])
    .ok();
    let m = json(&metrics);
    assert_eq!(m["task"], "binary");
    assert_eq!(m["score_columns"], serde_json::json!(["prediction"]));
    assert_eq!(m["baseline_score_columns"], serde_json::json!(["risk"]));
    assert_eq!(m["thresholds"], serde_json::json!([0.35, 0.6, 0.45]));
    for model in ["candidate", "baseline"] {
        assert_eq!(m[model]["at_thresholds"].as_array().map(Vec::len), Some(3));
    }
    let names: Vec<&str> = m["comparison"]["deltas"]
        .as_array()
        .expect("deltas")
        .iter()
        .filter_map(|d| d["metric"].as_str())
        .collect();
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "{names:?}");
    // The candidate flags x > 0.5 at 0.35 (0.6, 0.9); the baseline flags x > 0.5 at its own
    // 0.45 (0.5, 0.7): the same rows, so nothing flips.
    let fl = &m["comparison"]["flips"];
    assert_eq!(
        (fl["threshold"].as_f64(), fl["baseline_threshold"].as_f64()),
        (Some(0.35), Some(0.45))
    );
    for k in [
        "newly_flagged_positive",
        "newly_flagged_negative",
        "newly_missed",
        "newly_cleared",
    ] {
        assert_eq!(fl[k], 0, "{k}");
    }
    let text = std::fs::read_to_string(&flips).expect("flips");
    assert_eq!(text.lines().count(), 1, "header only: {text}");

    // A bare baseline has no rule of its own: it is judged at the candidate's, 0.35, where
    // its 0.4 on x in (0.3, 0.5] is flagged and the candidate's 0.3 is not.
    scorewell(&[
        &"eval",
        &candidate,
        &"--baseline",
        &f.baseline,
        &"-i",
        &f.data,
        &"--label",
        &"is_attack",
        &"--json",
        &metrics,
        &"--flips",
        &flips,
        &"-q",
    ])
    .ok();
    let fl = &json(&metrics)["comparison"]["flips"];
    assert_eq!(fl["baseline_threshold"].as_f64(), Some(0.35));
    assert!(
        fl["newly_missed"].as_u64().unwrap_or(0) + fl["newly_cleared"].as_u64().unwrap_or(0) > 0
    );
}

/// Record where `got` differs from scikit-learn's `want` by more than 1e-9 (relative above 1).
fn mismatches(
    path: &str,
    got: &serde_json::Value,
    want: &serde_json::Value,
    out: &mut Vec<String>,
) {
    use serde_json::Value;
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => {
            for (k, wv) in w {
                mismatches(&format!("{path}.{k}"), &g[k], wv, out);
            }
        }
        (Value::Array(g), Value::Array(w)) if g.len() == w.len() => {
            for (i, (gv, wv)) in g.iter().zip(w).enumerate() {
                mismatches(&format!("{path}[{i}]"), gv, wv, out);
            }
        }
        (Value::Number(g), Value::Number(w)) => {
            let (g, w) = (
                g.as_f64().unwrap_or(f64::NAN),
                w.as_f64().unwrap_or(f64::NAN),
            );
            let diff = (g - w).abs();
            if diff.is_nan() || diff > 1e-9 * w.abs().max(1.0) {
                out.push(format!("{path}: got {g:?}, want {w:?}"));
            }
        }
        (g, w) if g == w => {}
        (g, w) => out.push(format!("{path}: got {g}, want {w}")),
    }
}

/// End to end: an XGBoost multi:softprob model (float32 scores in XGBoost) scored from parquet
/// with float32 features and missing values; every metric equals scikit-learn's on XGBoost's
/// probabilities (as float64), made by `tests/conformance/eval/generate_cli.py`.
#[test]
fn multiclass_model_on_parquet_matches_scikit_learn() {
    let case = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/conformance/eval/cli/xgboost_3_2_multi_softprob");
    let expected = json(&case.join("expected.json"));
    let dir = Dir::new();
    let metrics = dir.path("m.json");
    scorewell(&[
        &"eval",
        &case.join("model.json"),
        &"-i",
        &case.join("input.parquet"),
        &"--label",
        &"y",
        &"--json",
        &metrics,
        &"-q",
    ])
    .ok();
    let m = json(&metrics);
    assert_eq!(m["task"], "multiclass", "the objective says so: no --task");
    assert_eq!(m["rows"]["evaluated"], expected["expected"]["rows"]);
    let mut out = Vec::new();
    mismatches(
        "candidate",
        &m["candidate"],
        &expected["expected"],
        &mut out,
    );
    assert!(
        out.is_empty(),
        "{} mismatches:\n{}",
        out.len(),
        out.join("\n")
    );
}
