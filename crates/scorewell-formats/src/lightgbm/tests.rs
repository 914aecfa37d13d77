#![allow(clippy::unwrap_used)]

use super::*;
use scorewell_forest::{DenseRows, Link, Predictor};

/// A stump on feature 0 at `threshold` with `decision_type`, leaves `l` and `r`.
fn stump(i: usize, threshold: &str, decision_type: u8, l: f64, r: f64) -> String {
    format!(
        "Tree={i}\nnum_leaves=2\nnum_cat=0\nsplit_feature=0\nsplit_gain=1\nthreshold={threshold}\n\
         decision_type={decision_type}\nleft_child=-1\nright_child=-2\nleaf_value={l} {r}\n\
         leaf_weight=1 1\nleaf_count=1 1\ninternal_value=0\ninternal_weight=0\ninternal_count=2\n\
         is_linear=0\nshrinkage=1\n\n"
    )
}

/// A one-leaf tree.
fn constant(i: usize, v: f64) -> String {
    format!(
        "Tree={i}\nnum_leaves=1\nnum_cat=0\nsplit_feature=\nsplit_gain=\nthreshold=\n\
         decision_type=\nleft_child=\nright_child=\nleaf_value={v}\nleaf_weight=\nleaf_count=\n\
         internal_value=\ninternal_weight=\ninternal_count=\nis_linear=0\nshrinkage=1\n\n"
    )
}

struct Doc {
    num_class: usize,
    per_iteration: usize,
    objective: String,
    names: String,
    infos: String,
    extra_header: String,
    trees: Vec<String>,
    tail: String,
}

impl Doc {
    fn new(objective: &str, trees: Vec<String>) -> Self {
        Self {
            num_class: 1,
            per_iteration: 1,
            objective: objective.into(),
            names: "f0".into(),
            infos: "[-1:1]".into(),
            extra_header: String::new(),
            trees,
            tail: String::new(),
        }
    }

    fn features(mut self, names: &str, infos: &str) -> Self {
        self.names = names.into();
        self.infos = infos.into();
        self
    }

    fn render(&self) -> String {
        let sizes: Vec<String> = self.trees.iter().map(|t| t.len().to_string()).collect();
        let max_idx = self.names.split_whitespace().count() as i64 - 1;
        format!(
            "tree\nversion=v4\nnum_class={}\nnum_tree_per_iteration={}\nlabel_index=0\n\
             max_feature_idx={max_idx}\nobjective={}\n{}feature_names={}\nfeature_infos={}\n\
             tree_sizes={}\n\n{}end of trees\n\nfeature_importances:\nf0=1\n\nparameters:\n\
             [boosting: gbdt]\n[objective: regression]\nend of parameters\n{}",
            self.num_class,
            self.per_iteration,
            self.objective,
            self.extra_header,
            self.names,
            self.infos,
            sizes.join(" "),
            self.trees.concat(),
            self.tail
        )
    }

    fn load(&self) -> Result<ForestModel> {
        load(self.render().as_bytes())
    }
}

fn predict(model: &ForestModel, rows: &[f64]) -> Vec<f64> {
    Predictor::compile(&model.forest).predict(&DenseRows::new(rows, model.features.len()), false)
}

fn margins(model: &ForestModel, rows: &[f64]) -> Vec<f64> {
    Predictor::compile(&model.forest).predict(&DenseRows::new(rows, model.features.len()), true)
}

fn err(doc: &str) -> String {
    load(doc.as_bytes()).unwrap_err().to_string()
}

#[test]
fn stump_goes_left_on_less_or_equal() {
    let m = Doc::new("regression", vec![stump(0, "0.5", 2, -1.0, 1.0)])
        .load()
        .unwrap();
    assert_eq!(
        predict(
            &m,
            &[0.2, 0.5, 0.50000001, f64::INFINITY, f64::NEG_INFINITY]
        ),
        [-1.0, -1.0, 1.0, 1.0, -1.0]
    );
    assert_eq!(m.forest.precision(), Precision::F64);
    assert_eq!(m.forest.input_rule(), InputRule::SnapTinyToZero);
    assert_eq!(m.forest.link(), Link::Identity);
    assert_eq!(m.features, vec![FeatureSpec::numeric("f0")]);
    assert_eq!(m.info.format, "lightgbm-text");
    assert_eq!(m.info.producer.as_deref(), Some("lightgbm (model.txt v4)"));
    assert_eq!(m.info.objective, "regression");
}

#[test]
fn missing_types_none_zero_nan() {
    let rows = [f64::NAN, 0.0, 1e-36, 0.3, 0.7];
    // None (0): NaN is 0.0, compared.
    let none = Doc::new("regression", vec![stump(0, "0.5", 0, -1.0, 1.0)])
        .load()
        .unwrap();
    assert_eq!(predict(&none, &rows), [-1.0, -1.0, -1.0, -1.0, 1.0]);
    // Zero (4), default right: NaN, 0 and |x| <= 1e-35 go right.
    let zero = Doc::new("regression", vec![stump(0, "0.5", 4, -1.0, 1.0)])
        .load()
        .unwrap();
    assert_eq!(predict(&zero, &rows), [1.0, 1.0, 1.0, -1.0, 1.0]);
    // NaN (8), default right: only NaN takes the default.
    let nan = Doc::new("regression", vec![stump(0, "0.5", 8, -1.0, 1.0)])
        .load()
        .unwrap();
    assert_eq!(predict(&nan, &rows), [1.0, -1.0, -1.0, -1.0, 1.0]);
    // NaN with default left (8 | 2).
    let nan_left = Doc::new("regression", vec![stump(0, "0.5", 10, -1.0, 1.0)])
        .load()
        .unwrap();
    assert_eq!(predict(&nan_left, &[f64::NAN, 0.7]), [-1.0, 1.0]);
    // Missing type 3 is not a LightGBM value.
    let e = Doc::new("regression", vec![stump(0, "0.5", 12, -1.0, 1.0)])
        .load()
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("(Tree=0, key `decision_type`): node 0: decision_type 12 has missing type 3"),
        "{e}"
    );
}

#[test]
fn tiny_inputs_reach_the_trees_as_zero() {
    let m = Doc::new("regression", vec![stump(0, "-1e-36", 0, -1.0, 1.0)])
        .load()
        .unwrap();
    // -1e-36 would go left (-1e-36 <= -1e-36) but LightGBM reads it as 0.0.
    assert_eq!(predict(&m, &[-1e-36, -1e-35, -2e-35]), [1.0, 1.0, -1.0]);
}

fn categorical_tree(i: usize) -> String {
    // Set {0, 1, 3, 33, 40}: word 0 = 0b1011, word 1 = bits 1 and 8.
    format!(
        "Tree={i}\nnum_leaves=2\nnum_cat=1\nsplit_feature=1\nsplit_gain=1\nthreshold=0\n\
         decision_type=1\nleft_child=-1\nright_child=-2\nleaf_value=-1 1\nleaf_weight=1 1\n\
         leaf_count=1 1\ninternal_value=0\ninternal_weight=0\ninternal_count=2\n\
         cat_boundaries=0 2\ncat_threshold=11 258\nis_linear=0\nshrinkage=1\n\n"
    )
}

#[test]
fn categorical_split_with_two_word_bitset() {
    let m = Doc::new("regression", vec![categorical_tree(0)])
        .features("num cat", "[0:1] 0:1:2:3:33:40")
        .load()
        .unwrap();
    let xs = [
        0.0,
        1.0,
        2.0,
        3.0,
        33.0,
        33.7,
        40.0,
        41.0,
        64.0,
        -0.5,
        -1.0,
        f64::NAN,
        1e10,
    ];
    let rows: Vec<f64> = xs.iter().flat_map(|x| [0.0, *x]).collect();
    assert_eq!(
        predict(&m, &rows),
        [
            -1.0, -1.0, 1.0, -1.0, -1.0, -1.0, -1.0, 1.0, 1.0, -1.0, 1.0, 1.0, 1.0
        ]
    );
    assert_eq!(m.features[0].kind, FeatureKind::Numeric);
    assert_eq!(
        m.features[1].kind,
        FeatureKind::Categorical { categories: None }
    );
    assert!(m.forest.has_categorical());
}

#[test]
fn pandas_categorical_names_categories_in_feature_order() {
    let mut doc =
        Doc::new("regression", vec![categorical_tree(0)]).features("a b c", "1:0 0:1:3 [0:5]");
    doc.tail = "\npandas_categorical:[[\"x\", \"y \\\"q\\\" \\u00e9\\ud83d\\ude00\"], [1, 2.5, true, null]]\n".into();
    let m = doc.load().unwrap();
    let names = |f: usize| match &m.features[f].kind {
        FeatureKind::Categorical {
            categories: Some(c),
        } => c.to_vec(),
        other => panic!("feature {f}: {other:?}"),
    };
    assert_eq!(names(0), ["x", "y \"q\" é😀"]);
    assert_eq!(names(1), ["1", "2.5", "True", "None"]);
    assert_eq!(m.features[2].kind, FeatureKind::Numeric);

    // `null`: no names.
    doc.tail = "\npandas_categorical:null\n".into();
    let m = doc.load().unwrap();
    assert_eq!(
        m.features[0].kind,
        FeatureKind::Categorical { categories: None }
    );

    // One list for two categorical features: ambiguous, so no names.
    doc.tail = "\npandas_categorical:[[\"x\"]]\n".into();
    let m = doc.load().unwrap();
    assert_eq!(
        m.features[1].kind,
        FeatureKind::Categorical { categories: None }
    );
    assert!(
        m.info
            .details
            .iter()
            .any(|(k, _)| k == "pandas_categorical")
    );

    doc.tail = "\npandas_categorical:[[\"x\", ]]\n".into();
    let e = doc.load().unwrap_err().to_string();
    assert!(
        e.contains("(key `pandas_categorical`): unexpected `]`"),
        "{e}"
    );
}

#[test]
fn pandas_categorical_values_print_as_python_str() {
    let lists = pandas::parse(
        " [[1e-05, 1e+16, 0.0001, -0.0, 2.0, NaN, -Infinity, 1113178120592002.2, -7, false]] ",
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        lists,
        [[
            "1e-05",
            "1e+16",
            "0.0001",
            "-0.0",
            "2.0",
            "nan",
            "-inf",
            "1113178120592002.2",
            "-7",
            "False"
        ]]
    );
    assert_eq!(pandas::parse("[]").unwrap(), Some(vec![]));
    for (text, expected) in [
        (
            "[[1]] x",
            "unexpected data after the end of the document at character 7",
        ),
        (
            "[[{}]]",
            "`pandas_categorical[0][0]` should be a category value",
        ),
        ("[1]", "`pandas_categorical[0]` should be an array"),
        ("{}", "`pandas_categorical` should be an array"),
        ("[[\"a]]", "unterminated string"),
    ] {
        let e = pandas::parse(text).unwrap_err();
        assert!(e.starts_with(expected), "{text}: {e}");
    }
    for (f, repr) in [
        (0.1, "0.1"),
        (1.5e16, "1.5e+16"),
        (9999999999999998.0, "9999999999999998.0"),
        (9.99e-5, "9.99e-05"),
        (5e-324, "5e-324"),
        (f64::MAX, "1.7976931348623157e+308"),
        (-(2152548015248394.0 + 0.25), "-2152548015248394.2"),
        (123456789.125, "123456789.125"),
    ] {
        assert_eq!(pandas::python_float_repr(f), repr);
    }
}

#[test]
fn linear_tree_leaves_and_nan_fallback() {
    let tree = "Tree=0\nnum_leaves=2\nnum_cat=0\nsplit_feature=0\nsplit_gain=1\nthreshold=0.5\n\
                decision_type=2\nleft_child=-1\nright_child=-2\nleaf_value=-1 -2\nleaf_weight=1 1\n\
                leaf_count=1 1\ninternal_value=0\ninternal_weight=0\ninternal_count=2\nis_linear=1\n\
                leaf_const=1 2\nnum_features=1 2\nleaf_features=0  0 1  \nleaf_coeff=0.5  -1 2  \n\
                shrinkage=0.1\n\n"
        .to_string();
    let single = "Tree=1\nnum_leaves=1\nnum_cat=0\nsplit_feature=\nsplit_gain=\nthreshold=\n\
                  decision_type=\nleft_child=\nright_child=\nleaf_value=100\nleaf_weight=\n\
                  leaf_count=\ninternal_value=\ninternal_weight=\ninternal_count=\nis_linear=1\n\
                  leaf_const=10\nnum_features=1\nleaf_features=1 \nleaf_coeff=3 \nshrinkage=1\n\n"
        .to_string();
    let m = Doc::new("regression", vec![tree, single])
        .features("f0 f1", "[0:1] [0:1]")
        .load()
        .unwrap();
    let out = predict(&m, &[0.2, 3.0, 0.9, 3.0, 0.9, f64::NAN, f64::NAN, 1.0]);
    let expect = [
        1.0 + 0.5 * 0.2 + (10.0 + 9.0),
        2.0 - 0.9 + 6.0 + (10.0 + 9.0),
        -2.0 + 100.0,
        // NaN on feature 0 goes left (missing type None), and leaf 0 uses feature 0.
        -1.0 + (10.0 + 3.0),
    ];
    for (o, e) in out.iter().zip(expect) {
        assert!((o - e).abs() < 1e-12, "{out:?} vs {expect:?}");
    }
    assert!(
        m.info
            .details
            .contains(&("linear_tree".into(), "true".into()))
    );
}

#[test]
fn random_forest_averages_before_the_sigmoid() {
    let mut doc = Doc::new(
        "binary sigmoid:1",
        vec![stump(0, "0.5", 2, 1.0, 3.0), stump(1, "0.5", 2, 3.0, 5.0)],
    );
    doc.extra_header = "average_output\n".into();
    let m = doc.load().unwrap();
    assert_eq!(m.forest.aggregation(), Aggregation::Mean { divisor: 2.0 });
    let p = predict(&m, &[0.0, 1.0]);
    assert!((p[0] - 1.0 / (1.0 + (-2.0f64).exp())).abs() < 1e-15);
    assert!((p[1] - 1.0 / (1.0 + (-4.0f64).exp())).abs() < 1e-15);
}

#[test]
fn multiclass_trees_cycle_through_groups() {
    let trees = (0..6).map(|i| constant(i, i as f64)).collect();
    let mut doc = Doc::new("multiclass num_class:3", trees);
    doc.num_class = 3;
    doc.per_iteration = 3;
    let m = doc.load().unwrap();
    assert_eq!(m.forest.tree_groups(), [0, 1, 2, 0, 1, 2]);
    assert_eq!(m.forest.link(), Link::Softmax);
    assert_eq!(margins(&m, &[0.0]), [3.0, 5.0, 7.0]);

    let trees = (0..6).map(|i| constant(i, i as f64)).collect();
    let mut ova = Doc::new("multiclassova num_class:3 sigmoid:2", trees);
    ova.num_class = 3;
    ova.per_iteration = 3;
    assert_eq!(
        ova.load().unwrap().forest.link(),
        Link::Logistic { scale: 2.0 }
    );

    let trees = (0..5).map(|i| constant(i, i as f64)).collect();
    let mut partial = Doc::new("multiclass num_class:3", trees);
    partial.num_class = 3;
    partial.per_iteration = 3;
    let e = partial.load().unwrap_err().to_string();
    assert!(
        e.contains("5 trees, not a whole number of iterations of 3"),
        "{e}"
    );

    let trees = (0..6).map(|i| constant(i, i as f64)).collect();
    let mut wrong = Doc::new("multiclass num_class:4", trees);
    wrong.num_class = 3;
    wrong.per_iteration = 3;
    let e = wrong.load().unwrap_err().to_string();
    assert!(
        e.contains("num_class `4` does not match the 3 trees per iteration"),
        "{e}"
    );
}

#[test]
fn objective_links() {
    let link = |objective: &str| {
        Doc::new(objective, vec![constant(0, 0.5)])
            .load()
            .map(|m| m.forest.link())
    };
    assert_eq!(
        link("binary sigmoid:0.7").unwrap(),
        Link::Logistic { scale: 0.7 }
    );
    assert_eq!(link("regression sqrt").unwrap(), Link::SignedSquare);
    assert_eq!(link("regression_l1 sqrt").unwrap(), Link::SignedSquare);
    assert_eq!(link("huber sqrt").unwrap(), Link::Identity);
    assert_eq!(link("quantile").unwrap(), Link::Identity);
    assert_eq!(link("mape").unwrap(), Link::Identity);
    assert_eq!(link("fair").unwrap(), Link::Identity);
    assert_eq!(link("poisson").unwrap(), Link::Exp);
    assert_eq!(link("gamma").unwrap(), Link::Exp);
    assert_eq!(link("tweedie").unwrap(), Link::Exp);
    assert_eq!(
        link("cross_entropy").unwrap(),
        Link::Logistic { scale: 1.0 }
    );
    assert_eq!(link("xentropy").unwrap(), Link::Logistic { scale: 1.0 });
    assert_eq!(link("cross_entropy_lambda").unwrap(), Link::Softplus);
    assert_eq!(link("xentlambda").unwrap(), Link::Softplus);
    assert_eq!(link("lambdarank").unwrap(), Link::Identity);
    assert_eq!(link("rank_xendcg").unwrap(), Link::Identity);
    assert_eq!(link("custom").unwrap(), Link::Identity);

    let m = Doc::new("binary sigmoid:0.7", vec![constant(0, 2.0)])
        .load()
        .unwrap();
    let p = predict(&m, &[0.0]);
    assert!((p[0] - 1.0 / (1.0 + (-1.4f64).exp())).abs() < 1e-15);
    let m = Doc::new("regression sqrt", vec![stump(0, "0", 2, -3.0, 2.0)])
        .load()
        .unwrap();
    assert_eq!(predict(&m, &[-1.0, 1.0]), [-9.0, 4.0]);

    let e = link("binary").unwrap_err().to_string();
    assert!(
        e.contains("(key `objective`): `sigmoid:` parameter is missing"),
        "{e}"
    );
    let e = link("binary sigmoid:-1").unwrap_err().to_string();
    assert!(
        e.contains("sigmoid `-1` should be a positive number"),
        "{e}"
    );
}

#[test]
fn missing_objective_line_is_raw() {
    let doc = Doc::new("regression", vec![constant(0, 0.5)]).render();
    let m = load(doc.replace("objective=regression\n", "").as_bytes()).unwrap();
    assert_eq!(m.forest.link(), Link::Identity);
}

#[test]
fn unknown_objective_is_refused_by_name() {
    let e = Doc::new("survival_cox", vec![constant(0, 0.5)])
        .load()
        .unwrap_err();
    assert!(matches!(e, FormatError::Unsupported { .. }), "{e:?}");
    assert!(
        e.to_string()
            .starts_with("lightgbm-text: unsupported objective `survival_cox`"),
        "{e}"
    );
}

#[test]
fn unsupported_version_is_refused() {
    let doc = Doc::new("regression", vec![constant(0, 0.5)]).render();
    let e = load(doc.replace("version=v4", "version=v9").as_bytes()).unwrap_err();
    assert!(matches!(e, FormatError::Unsupported { .. }));
    assert!(
        e.to_string()
            .contains("model.txt version `v9` (supported: v2, v3, v4)"),
        "{e}"
    );
    for v in ["v2", "v3"] {
        load(
            doc.replace("version=v4", &format!("version={v}"))
                .as_bytes(),
        )
        .unwrap();
    }
}

#[test]
fn leaf_count_mismatch_names_line_tree_and_key() {
    let doc = Doc::new(
        "regression",
        vec![constant(0, 1.0), stump(1, "0.5", 2, 1.0, 2.0)],
    )
    .render();
    let bad = doc.replace("leaf_value=1 2", "leaf_value=1");
    let line = bad
        .lines()
        .position(|l| l == "leaf_value=1" && !l.contains(' '))
        .unwrap();
    // The first `leaf_value=1` is tree 0's; find tree 1's.
    let line = bad
        .lines()
        .enumerate()
        .skip(line + 1)
        .find(|(_, l)| *l == "leaf_value=1")
        .unwrap()
        .0
        + 1;
    assert_eq!(
        err(&bad),
        format!(
            "lightgbm-text: line {line} (Tree=1, key `leaf_value`): expected 2 values, found 1"
        )
    );
}

#[test]
fn bad_child_index_names_tree_and_node() {
    let doc = Doc::new("regression", vec![stump(0, "0.5", 2, 1.0, 2.0)]).render();
    let e = err(&doc.replace("left_child=-1", "left_child=3"));
    assert!(
        e.contains(
            "(Tree=0, key `left_child`): node 0 has child 3 but the tree has 1 internal nodes"
        ),
        "{e}"
    );
    let e = err(&doc.replace("right_child=-2", "right_child=-3"));
    assert!(
        e.contains("node 0 has child -3 (leaf 2) but the tree has 2 leaves"),
        "{e}"
    );
    // A cycle passes the index checks; the builder names tree and node.
    let e = err(&doc.replace("left_child=-1", "left_child=0"));
    assert_eq!(
        e,
        "lightgbm-text: tree 0, node 0: node is reached twice (a cycle or a shared child)"
    );
    let e = err(&doc.replace("split_feature=0", "split_feature=7"));
    assert_eq!(
        e,
        "lightgbm-text: tree 0, node 0: uses feature 7 but the model has 1 features"
    );
}

#[test]
fn header_errors_name_the_key() {
    let doc = Doc::new("regression", vec![constant(0, 1.0)]).render();
    let e = err(&doc.replace("feature_names=f0", "feature_names=f0 f1"));
    assert!(
        e.contains("(key `feature_names`): expected 1 names (max_feature_idx + 1), found 2"),
        "{e}"
    );
    let e = err(&doc.replace("num_class=1\n", ""));
    assert!(e.contains("has no `num_class=` line"), "{e}");
    let e = err(&doc.replace("tree_sizes=", "tree_sizes=1 "));
    assert!(
        e.contains("(key `tree_sizes`): lists 2 trees but the file has 1 `Tree=` blocks"),
        "{e}"
    );
    let e = err(&doc.replace("max_feature_idx=0", "max_feature_idx=x"));
    assert!(
        e.contains("(key `max_feature_idx`): `x` is not an integer"),
        "{e}"
    );
    let e = err(&doc.replace("Tree=0", "Tree=1"));
    assert!(e.contains("expected `Tree=0`, found `Tree=1`"), "{e}");
}

/// Allocation discipline: tree sizes and counts a `model.txt` declares are compared with the
/// values its lines hold before anything is sized from them; a forged `num_cat` of u64::MAX
/// must not overflow the boundary count.
#[test]
fn forged_declared_counts_are_refused() {
    let invalid = |doc: &str| match load(doc.as_bytes()) {
        Err(FormatError::Invalid { format, message }) => {
            assert_eq!(format, "lightgbm-text");
            message
        }
        other => panic!("expected an invalid-file error, got {other:?}"),
    };
    let cat = Doc::new("regression", vec![categorical_tree(0)])
        .features("a b", "[0:1] 1:2")
        .render();
    let m = invalid(&cat.replace("num_cat=1\n", "num_cat=18446744073709551615\n"));
    assert!(
        m.contains("(Tree=0, key `num_cat`): declares 18446744073709551615 category sets"),
        "{m}"
    );
    let m = invalid(&cat.replace("cat_boundaries=0 2", "cat_boundaries=0 1099511627776"));
    assert!(
        m.contains("(Tree=0, key `cat_threshold`): expected 1099511627776 values, found 2"),
        "{m}"
    );
    let doc = Doc::new("regression", vec![stump(0, "0.5", 2, -1.0, 1.0)]).render();
    let m = invalid(&doc.replace("num_leaves=2", "num_leaves=1099511627776"));
    assert!(
        m.contains("(Tree=0, key `leaf_value`): expected 1099511627776 values, found 2"),
        "{m}"
    );
    let m = invalid(&doc.replace("max_feature_idx=0", "max_feature_idx=1099511627775"));
    assert!(
        m.contains("(key `feature_names`): expected 1099511627776 names"),
        "{m}"
    );
}

#[test]
fn categorical_set_index_is_checked() {
    let doc = Doc::new("regression", vec![categorical_tree(0)])
        .features("a b", "[0:1] 1:2")
        .render();
    let e = err(&doc.replace("threshold=0\n", "threshold=1\n"));
    assert!(
        e.contains(
            "(Tree=0, key `threshold`): node 0 is categorical with set index 1, but num_cat is 1"
        ),
        "{e}"
    );
    let e = err(&doc.replace("cat_threshold=11 258", "cat_threshold=11"));
    assert!(
        e.contains("(Tree=0, key `cat_threshold`): expected 2 values, found 1"),
        "{e}"
    );
    let e = err(&doc.replace("cat_boundaries=0 2", "cat_boundaries=2 0"));
    assert!(e.contains("not in increasing order"), "{e}");
}

#[test]
fn crlf_trailing_blanks_bom_and_special_numbers() {
    let doc = Doc::new(
        "regression",
        vec![
            stump(0, "1e-35", 2, -1.0, 1.0),
            stump(1, "inf", 2, 0.5, 7.0),
        ],
    )
    .render();
    let messy: String = doc.lines().map(|l| format!("{l}  \r\n")).collect();
    let messy = format!("\u{feff}{messy}");
    assert!(sniff(messy.as_bytes(), None));
    let m = load(messy.as_bytes()).unwrap();
    assert_eq!(predict(&m, &[0.0, 1.0, f64::INFINITY]), [-0.5, 1.5, 1.5]);
    // A NaN leaf is refused by the builder.
    let e = err(&doc.replace("leaf_value=-1 1", "leaf_value=nan 1"));
    assert_eq!(e, "lightgbm-text: tree 0, node 1: leaf value is NaN");
}

#[test]
fn the_registry_picks_this_format() {
    let doc = Doc::new("regression", vec![constant(0, 1.5)]).render();
    let m = crate::load(doc.as_bytes(), Some("model.txt")).unwrap();
    assert_eq!(m.info.format, NAME);
    assert!(crate::format_named(NAME).is_some());
}

#[test]
fn sniffing() {
    assert!(sniff(b"tree\nversion=v4\n", None));
    assert!(sniff(b"  \r\ntree\r\n", None));
    assert!(sniff(b"version=v3\n", None));
    assert!(!sniff(b"{\"learner\": {}}", None));
    assert!(!sniff(b"treelite\n", None));
    assert!(!sniff(b"", None));
}

#[test]
fn zero_trees_and_garbage_are_errors_not_panics() {
    for doc in [
        "tree\n",
        "tree\nversion=v4\n",
        "\n\n",
        "tree\nend of trees\n",
        "Tree=x\n",
    ] {
        assert!(load(doc.as_bytes()).is_err(), "{doc:?}");
    }
    assert!(
        load(b"tree\n\xff\n")
            .unwrap_err()
            .to_string()
            .contains("line 2: the file is not valid UTF-8")
    );
}

fn full_doc() -> String {
    let mut doc = Doc::new(
        "multiclass num_class:2",
        vec![
            stump(0, "0.5", 10, 1.0, 2.0),
            categorical_tree(1),
            stump(2, "-0.25", 4, 3.0, 4.0),
            "Tree=3\nnum_leaves=3\nnum_cat=0\nsplit_feature=0 1\nthreshold=0.5 0.1\n\
             decision_type=2 2\nleft_child=1 -2\nright_child=-1 -3\nleaf_value=1 2 3\n\
             is_linear=1\nleaf_const=1 2 3\nnum_features=1 0 2\nleaf_features=0  1 0  \n\
             leaf_coeff=0.5  2 3  \nshrinkage=1\n\n"
                .to_string(),
        ],
    )
    .features("a b", "[0:1] 0:1:3");
    doc.num_class = 2;
    doc.per_iteration = 2;
    doc.tail = "\npandas_categorical:[[\"u\", \"v\", \"w\", \"z\"]]\n".into();
    doc.render()
}

#[test]
fn truncation_at_every_line_is_an_error() {
    let doc = full_doc();
    let full = load(doc.as_bytes()).unwrap();
    assert!(matches!(
        full.features[1].kind,
        FeatureKind::Categorical {
            categories: Some(_)
        }
    ));
    let end = doc.find("end of trees").unwrap();
    let mut offsets: Vec<usize> = doc.match_indices('\n').map(|(i, _)| i + 1).collect();
    offsets.push(0);
    for cut in offsets {
        let result = load(doc.as_bytes().get(..cut).unwrap());
        if cut <= end {
            assert!(result.is_err(), "cut at byte {cut} loaded");
        }
    }
}

#[test]
fn truncation_or_corruption_at_any_byte_never_panics() {
    let doc = full_doc();
    let bytes = doc.as_bytes();
    for cut in 0..=bytes.len() {
        let _ = load(bytes.get(..cut).unwrap());
    }
    // Overwrite single bytes with characters that change meaning.
    for i in 0..bytes.len() {
        for b in [b'-', b'9', b'\n', b' ', b'=', b'x'] {
            let mut v = bytes.to_vec();
            v[i] = b;
            let _ = load(&v);
        }
    }
}
