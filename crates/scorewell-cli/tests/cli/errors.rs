//! Bad input gives one clear error line, exit code 1, no panic and no partial output.

use crate::util::{Dir, case, scorewell};

/// Run a failing score and check that `out` keeps its old contents.
fn fails_without_touching_output(
    dir: &Dir,
    model: &std::path::Path,
    input: &std::path::Path,
) -> String {
    let out = dir.write("out.parquet", "previous contents");
    let line = scorewell(&[&"score", &model, &"-i", &input, &"-o", &out])
        .err()
        .to_string();
    assert_eq!(
        std::fs::read_to_string(&out).expect("read"),
        "previous contents"
    );
    let stray: Vec<String> = dir
        .listing()
        .into_iter()
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(stray.is_empty(), "temporary files left: {stray:?}");
    line
}

#[test]
fn truncated_and_corrupt_models_name_the_file() {
    let dir = Dir::new();
    let c = case("xgboost_3_2_binary_logistic");
    let text = std::fs::read(c.join("model.json")).expect("read");
    let truncated = dir.write("truncated.json", &text[..text.len() / 2]);
    let line = fails_without_touching_output(&dir, &truncated, &c.join("input.parquet"));
    assert!(line.contains("truncated.json"), "{line}");

    let lgb = std::fs::read_to_string(case("lightgbm_4_7_binary").join("model.txt")).expect("read");
    let cut = dir.write("cut.txt", &lgb[..lgb.len() / 3]);
    let line = fails_without_touching_output(
        &dir,
        &cut,
        &case("lightgbm_4_7_binary").join("input.parquet"),
    );
    assert!(line.contains("cut.txt"), "{line}");

    let garbage = dir.write("garbage.bin", [0u8, 159, 146, 150, 1, 2, 3]);
    let line = fails_without_touching_output(&dir, &garbage, &c.join("input.parquet"));
    assert!(
        line.contains("garbage.bin") && line.contains("not a recognised model file"),
        "{line}"
    );

    // The first bytes of a model XGBoost 1.7 saved as `model.bin` (legacy binary format).
    let mut legacy = b"binf\0\0\0\x3f\x03\0\0\0".to_vec();
    legacy.resize(200, 0);
    let legacy = dir.write("model.bin", legacy);
    let line = fails_without_touching_output(&dir, &legacy, &c.join("input.parquet"));
    assert!(
        line.contains("model.bin: xgboost-binary: unsupported legacy binary format")
            && line.contains("save it as `model.json`"),
        "{line}"
    );

    let empty = dir.write("empty.json", "");
    let line = fails_without_touching_output(&dir, &empty, &c.join("input.parquet"));
    assert!(
        line.contains("empty.json: the model file is empty"),
        "{line}"
    );
}

#[test]
fn a_split_on_feature_900_of_a_50_feature_model_names_tree_and_node() {
    let dir = Dir::new();
    let c = case("xgboost_3_2_wide_50f");
    let text = std::fs::read_to_string(c.join("model.json")).expect("read");
    // Point the root split of the first tree at feature 900.
    let key = "\"split_indices\":[";
    let at = text.find(key).expect("split_indices") + key.len();
    let end = at + text[at..].find([',', ']']).expect("first index");
    let edited = format!("{}900{}", &text[..at], &text[end..]);
    let model = dir.write("model.json", edited);
    let line = fails_without_touching_output(&dir, &model, &c.join("input.parquet"));
    assert!(
        line.contains("tree 0, node 0") && line.contains("feature 900"),
        "{line}"
    );
    assert!(line.contains("model.json"), "{line}");
}

#[test]
fn wrong_column_types_and_missing_columns_name_the_column() {
    let dir = Dir::new();
    let c = case("lightgbm_4_7_regression");
    let model = c.join("model.txt");
    let input =
        std::fs::read_to_string(case("lightgbm_4_7_regression").join("model.txt")).expect("model");
    let names: Vec<&str> = input
        .lines()
        .find_map(|l| l.strip_prefix("feature_names="))
        .expect("feature names")
        .split(' ')
        .collect();
    // A text value in a numeric column of a CSV.
    let mut csv = names.join(",") + "\n";
    csv += &vec!["1.5"; names.len()].join(",");
    csv += "\n";
    let mut bad_row = vec!["2.5"; names.len()];
    bad_row[1] = "abc";
    csv += &bad_row.join(",");
    csv += "\n";
    let bad = dir.write("bad.csv", csv);
    let line = fails_without_touching_output(&dir, &model, &bad);
    assert!(
        line.contains(names[1]) && line.contains("bad.csv"),
        "{line}"
    );

    // A missing column.
    let short = dir.write("short.csv", format!("{}\n1.0\n", names[0]));
    let line = fails_without_touching_output(&dir, &model, &short);
    assert!(
        line.contains(&format!("input has no column `{}`", names[1])),
        "{line}"
    );

    // An empty input file.
    let empty = dir.write("empty.csv", "");
    let line = fails_without_touching_output(&dir, &model, &empty);
    assert!(line.contains("empty.csv: the file is empty"), "{line}");
}

#[test]
fn a_string_column_in_parquet_is_refused_by_name() {
    let dir = Dir::new();
    let c = case("lightgbm_4_7_regression");
    // Re-encode one column as strings through CSV with quotes and a forced text value.
    let first = scorewell(&[&"inspect", &c.join("model.txt")])
        .ok()
        .to_string();
    let feature = first
        .lines()
        .skip_while(|l| !l.starts_with("inputs:"))
        .nth(1)
        .and_then(|l| l.split_whitespace().nth(1))
        .expect("a feature name")
        .to_string();
    let jsonl = dir.write("rows.jsonl", format!("{{\"{feature}\": \"high\"}}\n"));
    let line = fails_without_touching_output(&dir, &c.join("model.txt"), &jsonl);
    assert!(
        line.contains(&feature) && line.contains("rows.jsonl"),
        "{line}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let run = scorewell(&[&"score"]);
    assert_eq!(run.code, 2);
    let run = scorewell(&[&"score", &"m.json", &"-i", &"x.txt", &"-o", &"y.csv"]);
    assert!(
        run.err().contains("cannot tell the file format"),
        "{}",
        run.stderr
    );
}
