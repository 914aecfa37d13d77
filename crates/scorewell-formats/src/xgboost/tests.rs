#![allow(clippy::unwrap_used)]

use scorewell_core::FeatureKind;
use scorewell_forest::{DenseRows, Link, Predictor};

use super::*;
use crate::doc::Doc;

/// (left, right, feature, condition, default_left)
type NodeRow = (i64, i64, i64, f32, u8);

/// One tree as XGBoost writes it.
fn tree_json(id: usize, nodes: &[NodeRow], extra: &str) -> String {
    let col = |f: &dyn Fn(&NodeRow) -> String| nodes.iter().map(f).collect::<Vec<_>>().join(",");
    let n = nodes.len();
    format!(
        r#"{{"id":{id},"tree_param":{{"num_deleted":"0","num_feature":"2","num_nodes":"{n}","size_leaf_vector":"1"}},
        "left_children":[{}],"right_children":[{}],"split_indices":[{}],"split_conditions":[{}],
        "default_left":[{}],"base_weights":[],"loss_changes":[],"sum_hessian":[],"parents":[]{extra}}}"#,
        col(&|x| x.0.to_string()),
        col(&|x| x.1.to_string()),
        col(&|x| x.2.to_string()),
        col(&|x| format!("{:?}", x.3)),
        col(&|x| x.4.to_string()),
    )
}

/// A stump on feature 0 at 0.5: left leaf -1, right leaf +1, missing goes left.
fn stump(id: usize) -> String {
    tree_json(
        id,
        &[(1, 2, 0, 0.5, 1), (-1, -1, 0, -1.0, 0), (-1, -1, 0, 1.0, 0)],
        "",
    )
}

fn model_json(objective: &str, base_score: &str, num_class: u32, booster: &str) -> String {
    format!(
        r#"{{"learner":{{"attributes":{{}},"feature_names":["a","b"],"feature_types":["float","float"],
        "gradient_booster":{booster},
        "learner_model_param":{{"base_score":"{base_score}","boost_from_average":"1","num_class":"{num_class}","num_feature":"2","num_target":"1"}},
        "objective":{{"name":"{objective}"}}}},"version":[3,1,2]}}"#
    )
}

fn gbtree(trees: &[String], tree_info: &[u32]) -> String {
    let info: Vec<String> = tree_info.iter().map(|t| t.to_string()).collect();
    format!(
        r#"{{"name":"gbtree","model":{{"gbtree_model_param":{{"num_parallel_tree":"1","num_trees":"{}"}},
        "trees":[{}],"tree_info":[{}]}}}}"#,
        trees.len(),
        trees.join(","),
        info.join(",")
    )
}

fn predict(model: &ForestModel, rows: &[f64], margin: bool) -> Vec<f64> {
    let nf = model.forest.num_features();
    Predictor::compile(&model.forest).predict(&DenseRows::new(rows, nf), margin)
}

fn stump_model() -> String {
    model_json("reg:squarederror", "5E-1", 0, &gbtree(&[stump(0)], &[0]))
}

#[test]
fn stump_predicts_with_less_than_and_default_left() {
    let m = load_json(stump_model().as_bytes()).unwrap();
    // x < 0.5 goes left; 0.5 itself goes right; NaN follows default_left.
    let out = predict(&m, &[0.2, 0.0, 0.5, 0.0, f64::NAN, 0.0], false);
    assert_eq!(out, vec![-0.5, 1.5, -0.5]);
    assert_eq!(m.features[0].name, "a");
    assert_eq!(m.info.producer.as_deref(), Some("xgboost 3.1.2"));
    assert_eq!(m.info.format, "xgboost-json");
    assert_eq!(m.info.objective, "reg:squarederror");
    assert!(
        m.info
            .details
            .contains(&("booster".into(), "gbtree".into()))
    );
}

#[test]
fn old_layout_with_bool_default_left_and_no_feature_names() {
    let text = stump_model()
        .replace(
            r#""default_left":[1,0,0]"#,
            r#""default_left":[true,false,false]"#,
        )
        .replace(
            r#""feature_names":["a","b"],"feature_types":["float","float"],"#,
            "",
        )
        .replace(r#""version":[3,1,2]"#, r#""version":[1,0,0]"#)
        .replace(r#","num_target":"1""#, "");
    let m = load_json(text.as_bytes()).unwrap();
    assert_eq!(m.features[1].name, "f1");
    assert_eq!(predict(&m, &[f64::NAN, 0.0], false), vec![-0.5]);
}

#[test]
fn logistic_base_score_is_a_probability_in_every_layout() {
    for bs in ["2.5E-1", "[2.5E-1]"] {
        let text = model_json("binary:logistic", bs, 0, &gbtree(&[stump(0)], &[0]));
        let m = load_json(text.as_bytes()).unwrap();
        let expected = f64::from(-(1.0f32 / 0.25 - 1.0).ln());
        assert_eq!(m.forest.base_margin(), &[expected]);
        assert_eq!(m.forest.link(), Link::Logistic { scale: 1.0 });
    }
}

#[test]
fn vector_base_score_gives_one_margin_per_class() {
    let trees: Vec<String> = (0..3).map(stump).collect();
    let text = model_json(
        "multi:softprob",
        "[1E-1,2E-1,3E-1]",
        3,
        &gbtree(&trees, &[0, 1, 2]),
    );
    let m = load_json(text.as_bytes()).unwrap();
    assert_eq!(
        m.forest.base_margin(),
        &[0.1f32 as f64, 0.2f32 as f64, 0.3f32 as f64]
    );
    let margins = predict(&m, &[0.9, 0.0], true);
    assert_eq!(
        margins,
        vec![
            (0.1f32 + 1.0) as f64,
            (0.2f32 + 1.0) as f64,
            (0.3f32 + 1.0) as f64
        ]
    );
    assert_eq!(m.forest.link(), Link::Softmax);
    let wrong = model_json(
        "multi:softprob",
        "[1E-1,2E-1]",
        3,
        &gbtree(&trees, &[0, 1, 2]),
    );
    let err = load_json(wrong.as_bytes()).unwrap_err().to_string();
    assert!(
        err.contains("base_score") && err.contains("2 values"),
        "{err}"
    );
}

#[test]
fn log_link_objectives_take_ln_of_base_score() {
    let text = model_json("count:poisson", "[2E0]", 0, &gbtree(&[stump(0)], &[0]));
    let m = load_json(text.as_bytes()).unwrap();
    assert_eq!(m.forest.base_margin(), &[f64::from(2.0f32.ln())]);
    assert_eq!(m.forest.link(), Link::Exp);
}

#[test]
fn categorical_split_sends_listed_categories_right() {
    let extra = r#","split_type":[1,0,0],"categories":[1,3,40],"categories_nodes":[0],"categories_segments":[0],"categories_sizes":[3]"#;
    let tree = tree_json(
        0,
        &[
            (1, 2, 1, 1e-45, 0),
            (-1, -1, 0, -1.0, 0),
            (-1, -1, 0, 1.0, 0),
        ],
        extra,
    );
    let text = model_json("reg:squarederror", "0E0", 0, &gbtree(&[tree], &[0])).replace(
        r#""feature_types":["float","float"]"#,
        r#""feature_types":["float","c"]"#,
    );
    let m = load_json(text.as_bytes()).unwrap();
    assert!(m.forest.has_categorical());
    assert!(matches!(
        m.features[1].kind,
        FeatureKind::Categorical { categories: None }
    ));
    // 1, 3, 40 are in the set (right, +1); 0, 2, 41, 100, -1, 2^24 are not (left, -1);
    // NaN follows default_left (right here).
    let rows: Vec<f64> = [
        1.0,
        3.0,
        40.0,
        0.0,
        2.0,
        41.0,
        100.0,
        -1.0,
        16777216.0,
        f64::NAN,
    ]
    .iter()
    .flat_map(|&c| [0.0, c])
    .collect();
    let out = predict(&m, &rows, false);
    assert_eq!(
        out,
        vec![1.0, 1.0, 1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, 1.0]
    );
}

#[test]
fn string_categories_from_the_cats_encoder_become_feature_categories() {
    // "blue", "green", "red" as UTF-8 bytes cut at offsets, the way XGBoost 3.1 stores them.
    let cats = r#","cats":{"enc":[{"offsets":[],"values":[]},{"offsets":[0,4,9,12],"values":[98,108,117,101,103,114,101,101,110,114,101,100]}],"feature_segments":[0,0,3],"sorted_idx":[0,1,2]}"#;
    let booster = gbtree(&[stump(0)], &[0]).replace(
        r#""tree_info":[0]}"#,
        &format!(r#""tree_info":[0]{cats}}}"#),
    );
    let text = model_json("reg:squarederror", "0E0", 0, &booster).replace(
        r#""feature_types":["float","float"]"#,
        r#""feature_types":["float","c"]"#,
    );
    let m = load_json(text.as_bytes()).unwrap();
    match &m.features[1].kind {
        FeatureKind::Categorical {
            categories: Some(names),
        } => {
            assert_eq!(names.as_ref(), ["blue", "green", "red"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn dart_weights_scale_each_tree() {
    let booster = format!(
        r#"{{"name":"dart","gbtree":{},"weight_drop":[5E-1,2E0]}}"#,
        gbtree(&[stump(0), stump(1)], &[0, 0])
    );
    let m = load_json(model_json("reg:squarederror", "0E0", 0, &booster).as_bytes()).unwrap();
    assert_eq!(m.forest.tree_weights(), &[0.5, 2.0]);
    assert_eq!(predict(&m, &[0.9, 0.0], false), vec![2.5]);
    let bad = booster.replace("[5E-1,2E0]", "[5E-1]");
    let err = load_json(model_json("reg:squarederror", "0E0", 0, &bad).as_bytes()).unwrap_err();
    assert!(err.to_string().contains("weight_drop"), "{err}");
}

#[test]
fn gblinear_sums_bias_base_and_present_features_in_f32() {
    // Two features, two classes: rows of per-class weights, then the biases.
    let linear = r#"{"name":"gblinear","model":{"weights":[0.5,-1.25,2.0,0.25,0.125,-0.375],"boosted_rounds":3}}"#;
    let m = load_json(model_json("multi:softprob", "5E-1", 2, linear).as_bytes()).unwrap();
    assert!(m.forest.trees().is_empty());
    assert!(
        m.info
            .details
            .contains(&("booster".into(), "gblinear".into()))
    );
    let margins = predict(&m, &[1.5, 2.0, f64::NAN, 4.0], true);
    let f = |v: f32| f64::from(v);
    assert_eq!(
        margins,
        vec![
            f(0.125f32 + 0.5 + 1.5 * 0.5 + 2.0 * 2.0),
            f(-0.375f32 + 0.5 + 1.5 * -1.25 + 2.0 * 0.25),
            // The missing first feature adds nothing.
            f(0.125f32 + 0.5 + 4.0 * 2.0),
            f(-0.375f32 + 0.5 + 4.0 * 0.25),
        ]
    );
    let reference: Vec<f64> = [[1.5, 2.0], [f64::NAN, 4.0]]
        .iter()
        .flat_map(|row| scorewell_forest::reference::margins::<f32>(&m.forest, row))
        .collect();
    assert_eq!(margins, reference);

    let short = linear.replace("0.5,-1.25,", "");
    let err = load_json(model_json("multi:softprob", "5E-1", 2, &short).as_bytes()).unwrap_err();
    assert!(
        err.to_string()
            .contains("`learner.gradient_booster.model.weights` has 4 entries"),
        "{err}"
    );
}

/// A depth-1 vector-leaf tree over 2 targets as XGBoost 2.x writes it (leaf vectors in
/// `base_weights`, per node) or as 3.2 does (`leaf_weights`, indexed by `right_children`).
fn multi_target_model(v3: bool) -> String {
    let tree = if v3 {
        r#"{"id":0,"tree_param":{"num_deleted":"0","num_feature":"2","num_nodes":"3","size_leaf_vector":"2"},
        "left_children":[1,-1,-1],"right_children":[2,1,0],"split_indices":[1,0,0],
        "split_conditions":[0.5,1e-45,1e-45],"default_left":[0,0,0],"split_type":[0,0,0],
        "base_weights":[0.0,0.0,-1.0,3.0,4.0,-2.0],"leaf_weights":[4.0,-2.0,-1.0,3.0],
        "parents":[-1,0,0]}"#
    } else {
        r#"{"id":0,"tree_param":{"num_deleted":"0","num_feature":"2","num_nodes":"3","size_leaf_vector":"2"},
        "left_children":[1,-1,-1],"right_children":[2,-1,-1],"split_indices":[1,0,0],
        "split_conditions":[0.5,NaN,NaN],"default_left":[0,0,0],"split_type":[0,0,0],
        "base_weights":[0.0,0.0,-1.0,3.0,4.0,-2.0],"parents":[-1,0,0]}"#
    };
    model_json(
        "reg:squarederror",
        "[1E0,2E0]",
        0,
        &gbtree(&[tree.to_string()], &[0]),
    )
    .replace(r#""num_target":"1""#, r#""num_target":"2""#)
}

#[test]
fn multi_target_trees_give_one_margin_per_target_in_both_layouts() {
    for v3 in [false, true] {
        let m = load_json(multi_target_model(v3).as_bytes()).unwrap();
        assert_eq!(m.forest.num_groups(), 2);
        // b < 0.5 goes left (-1, 3); otherwise right (4, -2); NaN goes right (default_left 0).
        let out = predict(&m, &[0.0, 0.1, 0.0, 0.9, 0.0, f64::NAN], false);
        assert_eq!(out, vec![0.0, 5.0, 5.0, 0.0, 5.0, 0.0], "v3 = {v3}");
    }
    let bad = multi_target_model(true)
        .replace(r#""right_children":[2,1,0]"#, r#""right_children":[2,1,7]"#);
    let err = load_json(bad.as_bytes()).unwrap_err().to_string();
    assert!(err.contains("points outside `leaf_weights`"), "{err}");
    let three = multi_target_model(false).replace(r#""num_target":"2""#, r#""num_target":"3""#);
    let err = load_json(three.replace("[1E0,2E0]", "[1E0]").as_bytes()).unwrap_err();
    assert!(
        err.to_string()
            .contains("size_leaf_vector` is 2 but the model has 3 targets"),
        "{err}"
    );
}

#[test]
fn refuses_unknown_objective() {
    let obj = stump_model().replace("reg:squarederror", "reg:mystery");
    let err = load_json(obj.as_bytes()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "xgboost-json: unsupported objective `reg:mystery`"
    );
}

#[test]
fn errors_name_the_path_tree_and_node() {
    let short = stump_model().replace(r#""left_children":[1,-1,-1]"#, r#""left_children":[1,-1]"#);
    let err = load_json(short.as_bytes()).unwrap_err().to_string();
    assert!(
        err.contains("learner.gradient_booster.model.trees[0].left_children"),
        "{err}"
    );

    let wrong_type =
        stump_model().replace(r#""split_indices":[0,0,0]"#, r#""split_indices":[0,"x",0]"#);
    let err = load_json(wrong_type.as_bytes()).unwrap_err().to_string();
    assert!(err.contains("trees[0].split_indices[1]"), "{err}");

    let far = stump_model().replace(
        r#""right_children":[2,-1,-1]"#,
        r#""right_children":[9,-1,-1]"#,
    );
    let err = load_json(far.as_bytes()).unwrap_err();
    assert!(matches!(err, FormatError::Forest { .. }));
    assert!(err.to_string().contains("tree 0, node 0"), "{err}");

    let feature = stump_model().replace(r#""split_indices":[0,0,0]"#, r#""split_indices":[7,0,0]"#);
    let err = load_json(feature.as_bytes()).unwrap_err().to_string();
    assert!(err.contains("feature 7"), "{err}");

    let nan_leaf = stump_model().replace(
        r#""split_conditions":[0.5,-1.0,1.0]"#,
        r#""split_conditions":[0.5,NaN,1.0]"#,
    );
    let err = load_json(nan_leaf.as_bytes()).unwrap_err().to_string();
    assert!(
        err.contains("tree 0, node 1") && err.contains("NaN"),
        "{err}"
    );
}

#[test]
fn every_truncated_prefix_fails_cleanly() {
    let text = stump_model();
    let bytes = text.as_bytes();
    for n in 0..bytes.len() {
        let err = load_json(&bytes[..n]).expect_err("a prefix must not load");
        assert!(!err.to_string().is_empty());
    }
    let ubj = encode(&json::parse(bytes).unwrap());
    for n in 0..ubj.len() {
        let err = load_ubjson(&ubj[..n]).expect_err("a prefix must not load");
        let msg = err.to_string();
        assert!(msg.contains("byte") || msg.contains('`'), "{msg}");
    }
}

#[test]
fn corrupt_ubjson_does_not_panic() {
    let ubj = encode(&json::parse(stump_model().as_bytes()).unwrap());
    for i in 0..ubj.len() {
        for b in [0x00, 0xff, b'[', b'{', b'L', b'$', b'#'] {
            let mut c = ubj.clone();
            c[i] = b;
            let _ = load_ubjson(&c);
        }
    }
    let deep = vec![b'['; 10_000];
    assert!(
        load_ubjson(&deep)
            .unwrap_err()
            .to_string()
            .contains("nested")
    );
    let deep = "[".repeat(10_000);
    assert!(
        load_json(deep.as_bytes())
            .unwrap_err()
            .to_string()
            .contains("nested")
    );
}

/// Allocation discipline: every UBJSON count or length is checked against the bytes left
/// before anything is sized from it, so a forged 2^40 is refused rather than reserved.
#[test]
fn forged_ubjson_counts_and_lengths_are_refused() {
    const HUGE: i64 = 1 << 40;
    let with_count = |head: &[u8], n: i64, tail: &[u8]| {
        let mut b = head.to_vec();
        b.push(b'L');
        b.extend_from_slice(&n.to_be_bytes());
        b.extend_from_slice(tail);
        b
    };
    let cases = [
        // Counted array, typed arrays (with and without a payload), counted object.
        (
            with_count(b"[#", HUGE, b"Z"),
            "declares 1099511627776 elements",
        ),
        (
            with_count(b"[$d#", HUGE, &[0; 8]),
            "declares 1099511627776 elements",
        ),
        (
            with_count(b"[$Z#", HUGE, b""),
            "declares 1099511627776 elements",
        ),
        (
            with_count(b"{#", HUGE, b"Z"),
            "declares 1099511627776 elements",
        ),
        (
            with_count(b"[#", i64::MAX, b"Z"),
            "declares 9223372036854775807 elements",
        ),
        // A string value and an object key.
        (with_count(b"S", HUGE, b"ab"), "needs 1099511627776 bytes"),
        (with_count(b"{", HUGE, b"ab"), "needs 1099511627776 bytes"),
        // u64::MAX read as int64 is -1.
        (with_count(b"[#", -1, b"Z"), "is negative: -1"),
    ];
    for (bytes, needle) in cases {
        match load_ubjson(&bytes) {
            Err(FormatError::Invalid { format, message }) => {
                assert_eq!(format, "xgboost-ubj");
                assert!(message.contains(needle), "{message}");
            }
            other => panic!("{bytes:?}: expected an invalid-file error, got {other:?}"),
        }
    }
}

/// Allocation discipline: counts the JSON declares (features, nodes, trees, leaf-vector width)
/// are checked before they size anything.
#[test]
fn forged_json_declared_counts_are_refused() {
    let invalid = |text: &str| match load_json(text.as_bytes()) {
        Err(FormatError::Invalid { format, message }) => {
            assert_eq!(format, "xgboost-json");
            message
        }
        other => panic!("expected an invalid-file error, got {other:?}"),
    };
    let stump = stump_model();
    let m = invalid(&stump.replace(
        r#""num_class":"0","num_feature":"2""#,
        r#""num_class":"0","num_feature":"1099511627776""#,
    ));
    assert!(
        m.contains("`learner.learner_model_param.num_feature` declares 1099511627776 features"),
        "{m}"
    );
    let m = invalid(&stump.replace(r#""num_nodes":"3""#, r#""num_nodes":"1000000000000""#));
    assert!(
        m.contains("has 3 entries but `learner.gradient_booster.model.trees[0].tree_param.num_nodes` is 1000000000000"),
        "{m}"
    );
    let m = invalid(&stump.replace(r#""num_trees":"1""#, r#""num_trees":"1000000000000""#));
    assert!(m.contains("num_trees` is 1000000000000 but"), "{m}");
    // A leaf-vector width of 2^20 targets with no leaf vectors behind it.
    let wide = multi_target_model(true)
        .replace(
            r#""size_leaf_vector":"2""#,
            r#""size_leaf_vector":"1048576""#,
        )
        .replace(
            r#""leaf_weights":[4.0,-2.0,-1.0,3.0]"#,
            r#""leaf_weights":[]"#,
        );
    let m = invalid(&wide);
    assert!(
        m.contains(".leaf_weights` has 0 entries, not one or more leaf vectors of 1048576 targets"),
        "{m}"
    );
}

#[test]
fn ubjson_round_trip_matches_json() {
    let trees: Vec<String> = (0..3).map(stump).collect();
    let text = model_json(
        "multi:softprob",
        "[1E-1,2E-1,3E-1]",
        3,
        &gbtree(&trees, &[0, 1, 2]),
    );
    let from_json = load_json(text.as_bytes()).unwrap();
    let ubj = encode(&json::parse(text.as_bytes()).unwrap());
    assert!(sniff_ubjson(&ubj, None));
    assert!(!sniff_json(&ubj, None));
    let from_ubj = crate::load(&ubj, Some("model.ubj")).unwrap();
    assert_eq!(from_ubj.info.format, "xgboost-ubj");
    assert_eq!(from_json.forest, from_ubj.forest);
    let rows = [0.2, 0.0, 0.9, 1.0, f64::NAN, f64::NAN];
    assert_eq!(
        predict(&from_json, &rows, false),
        predict(&from_ubj, &rows, false)
    );
}

#[test]
fn sniffing() {
    let text = stump_model();
    assert!(sniff_json(format!("  \n{text}").as_bytes(), None));
    assert!(!sniff_ubjson(text.as_bytes(), None));
    assert!(!sniff_json(b"tree\nversion=v4\n", None));
    assert!(!sniff_ubjson(b"tree\nversion=v4\n", Some("model.ubj")));
    assert!(!sniff_json(b"version=v4", None));
    assert!(!sniff_json(br#"{"other": 1}"#, None));
}

/// A minimal UBJSON writer shaped like XGBoost's: `L` lengths, typed `$d`/`$L`/`$U` arrays.
fn encode(d: &Doc) -> Vec<u8> {
    let mut out = Vec::new();
    put(d, &mut out);
    out
}

fn put_len(n: usize, out: &mut Vec<u8>) {
    out.push(b'L');
    out.extend_from_slice(&(n as i64).to_be_bytes());
}

fn put(d: &Doc, out: &mut Vec<u8>) {
    match d {
        Doc::Null => out.push(b'Z'),
        Doc::Bool(b) => out.push(if *b { b'T' } else { b'F' }),
        Doc::Int(i) => {
            out.push(b'L');
            out.extend_from_slice(&i.to_be_bytes());
        }
        Doc::Float(f) => {
            out.push(b'd');
            out.extend_from_slice(&(*f as f32).to_be_bytes());
        }
        Doc::Str(s) => {
            out.push(b'S');
            put_len(s.len(), out);
            out.extend_from_slice(s.as_bytes());
        }
        Doc::Array(items)
            if !items.is_empty() && items.iter().all(|i| matches!(i, Doc::Int(_))) =>
        {
            let small = items.iter().all(|i| matches!(i, Doc::Int(0..=255)));
            out.extend_from_slice(if small { b"[$U#" } else { b"[$l#" });
            put_len(items.len(), out);
            for i in items {
                if let Doc::Int(v) = i {
                    if small {
                        out.push(*v as u8);
                    } else {
                        out.extend_from_slice(&(*v as i32).to_be_bytes());
                    }
                }
            }
        }
        Doc::Array(items)
            if !items.is_empty() && items.iter().all(|i| matches!(i, Doc::Float(_))) =>
        {
            out.extend_from_slice(b"[$d#");
            put_len(items.len(), out);
            for i in items {
                if let Doc::Float(v) = i {
                    out.extend_from_slice(&(*v as f32).to_be_bytes());
                }
            }
        }
        Doc::Array(items) => {
            out.push(b'[');
            out.push(b'#');
            put_len(items.len(), out);
            for i in items {
                put(i, out);
            }
        }
        Doc::Object(members) => {
            out.push(b'{');
            for (k, v) in members {
                put_len(k.len(), out);
                out.extend_from_slice(k.as_bytes());
                put(v, out);
            }
            out.push(b'}');
        }
        Doc::F32s(_) | Doc::F64s(_) | Doc::Ints(_) => {
            unreachable!("JSON never yields typed arrays")
        }
    }
}
