//! The compiled evaluator against the reference evaluator on random forests and random rows,
//! plus hand-checked semantics of each split rule.

use proptest::prelude::*;

use crate::reference;
use crate::*;

/// SplitMix64: a tiny seeded generator so one proptest `u64` describes a whole forest.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    /// Values that hit thresholds exactly, zero, tiny values, NaN and infinities often.
    fn finite(&mut self) -> f64 {
        (self.below(2000) as f64 - 1000.0) / 250.0
    }
    fn value(&mut self) -> f64 {
        const SPECIAL: [f64; 10] = [0.0, -0.0, 1e-40, -1e-36, 0.5, -0.5, 1.0, 2.0, 0.1, 3.0];
        match self.below(10) {
            0 => f64::NAN,
            1 => f64::INFINITY,
            2 => f64::NEG_INFINITY,
            3..=5 => SPECIAL[self.below(10) as usize],
            _ => (self.below(2000) as f64 - 1000.0) / 250.0,
        }
    }
}

/// `plain` forests have no flagged nodes (no categorical or zero-as-missing splits), so the
/// SIMD walks run on them; `leaf_percent` is the chance a node above `max_depth` is a leaf.
fn random_tree(
    rng: &mut Rng,
    num_features: u32,
    cast: CategoryCast,
    max_depth: u32,
    plain: bool,
    leaf_percent: u64,
) -> TreeBuilder {
    let mut t = TreeBuilder::new();
    // Reserve node ids as we go: children are pushed after their parent, breadth-last.
    #[allow(clippy::too_many_arguments)]
    fn grow(
        rng: &mut Rng,
        t: &mut TreeBuilder,
        nf: u32,
        cast: CategoryCast,
        depth: u32,
        plain: bool,
        leaf_percent: u64,
    ) -> u32 {
        if depth == 0 || rng.chance(leaf_percent) {
            if rng.chance(15) {
                let k = rng.below(3) as usize;
                let lin = LinearLeaf {
                    constant: rng.value().clamp(-5.0, 5.0).max(-5.0),
                    features: (0..k).map(|_| rng.below(nf as u64) as u32).collect(),
                    coefficients: (0..k)
                        .map(|_| (rng.below(100) as f64 - 50.0) / 10.0)
                        .collect(),
                };
                let v = (rng.below(200) as f64 - 100.0) / 64.0;
                let lin = LinearLeaf {
                    constant: if lin.constant.is_finite() {
                        lin.constant
                    } else {
                        0.25
                    },
                    ..lin
                };
                return t.linear_leaf(v, lin);
            }
            return t.leaf((rng.below(200) as f64 - 100.0) / 64.0);
        }
        let feature = rng.below(nf as u64) as u32;
        let default_left = rng.chance(50);
        let test = if !plain && rng.chance(20) {
            let words = 1 + rng.below(3) as usize;
            SplitTest::Categorical {
                bitset: (0..words).map(|_| rng.next() as u32).collect(),
                in_set_goes_left: rng.chance(50),
                nan: [NanRoute::Default, NanRoute::Left, NanRoute::Right][rng.below(3) as usize],
                cast,
            }
        } else {
            let threshold = if rng.chance(3) {
                // Finite in f64 but infinite once rounded to f32: the flagged slow path.
                if rng.chance(50) { 1e39 } else { -1e39 }
            } else {
                loop {
                    let v = rng.value();
                    if v.is_finite() {
                        break v;
                    }
                }
            };
            let missing = [
                Missing::NanDefault,
                Missing::NanAsZero,
                Missing::ZeroAndNanDefault,
            ][rng.below(3) as usize];
            SplitTest::Numeric { threshold, missing }
        };
        // Placeholder children, patched once they exist.
        let me = t.split(feature, test.clone(), default_left, 0, 0);
        let left = grow(rng, t, nf, cast, depth - 1, plain, leaf_percent);
        let right = grow(rng, t, nf, cast, depth - 1, plain, leaf_percent);
        t.patch_children(me, left, right);
        me
    }
    grow(
        rng,
        &mut t,
        num_features,
        cast,
        max_depth,
        plain,
        leaf_percent,
    );
    t
}

fn random_forest(seed: u64) -> (Forest, Vec<f64>, usize) {
    let mut rng = Rng(seed);
    let nf = 1 + rng.below(6) as usize;
    let groups = 1 + rng.below(3) as usize;
    let mut b = ForestBuilder::new(nf, groups);
    let precision = if rng.chance(50) {
        Precision::F32
    } else {
        Precision::F64
    };
    let cast = [
        CategoryCast::CheckThenTruncate,
        CategoryCast::TruncateThenCheck,
        CategoryCast::Exact,
    ][rng.below(3) as usize];
    b.precision(precision)
        .comparison(if rng.chance(50) {
            Comparison::Less
        } else {
            Comparison::LessEqual
        })
        .input_rule(if rng.chance(50) {
            InputRule::Plain
        } else {
            InputRule::SnapTinyToZero
        })
        .base_margin(
            (0..groups)
                .map(|_| (rng.below(100) as f64) / 100.0)
                .collect(),
        )
        .link(
            [
                Link::Identity,
                Link::Softmax,
                Link::Exp,
                Link::Logistic { scale: 0.7 },
            ][rng.below(4) as usize],
        );
    if rng.chance(20) {
        b.aggregation(Aggregation::Mean { divisor: 3.0 });
    } else if rng.chance(25) {
        b.linear(LinearTerm {
            weights: (0..nf * groups).map(|_| rng.finite()).collect(),
            bias: (0..groups).map(|_| rng.finite()).collect(),
        });
    }
    let plain = rng.chance(50);
    // Complete trees of one depth let eight trees walk one row together with SIMD.
    let uniform = plain && rng.chance(50);
    let uniform_depth = rng.below(8) as u32;
    let num_trees = 1 + rng.below(24) as usize;
    for i in 0..num_trees {
        let (depth, leaf_percent) = if uniform {
            (uniform_depth, 0)
        } else {
            (rng.below(11) as u32, 20)
        };
        let w = if rng.chance(20) { 0.5 } else { 1.0 };
        let tree = random_tree(&mut rng, nf as u32, cast, depth, plain, leaf_percent);
        b.push_tree(tree, (i % groups) as u32, w);
    }
    let forest = b.build().expect("random forest is valid");
    let rows = 1 + rng.below(300) as usize;
    let data = (0..rows * nf).map(|_| rng.value()).collect();
    (forest, data, nf)
}

fn reference_all(forest: &Forest, data: &[f64], nf: usize, margin: bool) -> Vec<f64> {
    data.chunks(nf)
        .flat_map(|row| match (forest.precision(), margin) {
            (Precision::F32, true) => reference::margins::<f32>(forest, row),
            (Precision::F32, false) => reference::predict::<f32>(forest, row),
            (Precision::F64, true) => reference::margins::<f64>(forest, row),
            (Precision::F64, false) => reference::predict::<f64>(forest, row),
        })
        .collect()
}

fn same(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
}

/// Both engines; with the `jit` feature the second generates native code.
const ENGINES: [Engine; 2] = [Engine::Interpret, Engine::Compile];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn compiled_equals_reference_bit_for_bit(seed in any::<u64>()) {
        let (forest, data, nf) = random_forest(seed);
        for engine in ENGINES {
            let predictor = Predictor::with_engine(&forest, engine);
            prop_assert_eq!(predictor.engine().compiled, engine == Engine::Compile && JIT_AVAILABLE);
            for margin in [true, false] {
                let got = predictor.predict(&DenseRows::new(&data, nf), margin);
                let want = reference_all(&forest, &data, nf, margin);
                prop_assert!(same(&got, &want), "seed {seed} {engine} margin {margin}\n got {got:?}\nwant {want:?}");
            }
        }
    }
}

/// A one-split forest over one feature.
fn one_split(test: SplitTest, default_left: bool, cmp: Comparison, precision: Precision) -> Forest {
    let mut t = TreeBuilder::new();
    t.split(0, test, default_left, 1, 2);
    t.leaf(-1.0);
    t.leaf(1.0);
    let mut b = ForestBuilder::new(1, 1);
    b.comparison(cmp).precision(precision).push_tree(t, 0, 1.0);
    b.build().expect("valid")
}

/// Which way each value goes, the same with both engines.
fn sides(forest: &Forest, xs: &[f64]) -> Vec<&'static str> {
    let [a, b] = ENGINES.map(|e| {
        Predictor::with_engine(forest, e)
            .predict(&DenseRows::new(xs, 1), false)
            .into_iter()
            .map(|v| if v < 0.0 { "L" } else { "R" })
            .collect::<Vec<_>>()
    });
    assert_eq!(a, b, "interpreter and generated code disagree");
    a
}

#[test]
fn xgboost_numeric_rule_is_strict_less_in_f32_with_default_for_nan() {
    let test = SplitTest::Numeric {
        threshold: 0.5,
        missing: Missing::NanDefault,
    };
    let p = one_split(test, false, Comparison::Less, Precision::F32);
    // 0.50000001 rounds to 0.5f32, which is not < 0.5.
    assert_eq!(
        sides(
            &p,
            &[
                0.4,
                0.5,
                0.500_000_01,
                f64::NAN,
                f64::NEG_INFINITY,
                f64::INFINITY
            ]
        ),
        ["L", "R", "R", "R", "L", "R"]
    );
}

#[test]
fn lightgbm_numeric_rules() {
    let le = |missing, dl| {
        one_split(
            SplitTest::Numeric {
                threshold: -0.25,
                missing,
            },
            dl,
            Comparison::LessEqual,
            Precision::F64,
        )
    };
    // None: NaN compares as 0, which is > -0.25: right, whatever the default says.
    assert_eq!(
        sides(&le(Missing::NanAsZero, true), &[f64::NAN, -0.25, -0.3]),
        ["R", "L", "L"]
    );
    // Zero: zero and NaN follow the default.
    assert_eq!(
        sides(
            &le(Missing::ZeroAndNanDefault, true),
            &[f64::NAN, 0.0, 1e-36, 0.1]
        ),
        ["L", "L", "L", "R"]
    );
    assert_eq!(
        sides(&le(Missing::NanDefault, true), &[f64::NAN, 0.0]),
        ["L", "R"]
    );
}

#[test]
fn categorical_rules_of_both_libraries() {
    // Categories 1 and 33 in the set.
    let bitset = vec![0b10, 0b10];
    let xgb = one_split(
        SplitTest::Categorical {
            bitset: bitset.clone(),
            in_set_goes_left: false,
            nan: NanRoute::Default,
            cast: CategoryCast::CheckThenTruncate,
        },
        true,
        Comparison::Less,
        Precision::F32,
    );
    assert_eq!(
        sides(
            &xgb,
            &[1.0, 33.0, 1.9, 2.0, -0.5, 99.0, f64::NAN, f64::INFINITY]
        ),
        ["R", "R", "R", "L", "L", "L", "L", "L"]
    );
    let lgb = one_split(
        SplitTest::Categorical {
            bitset,
            in_set_goes_left: true,
            nan: NanRoute::Right,
            cast: CategoryCast::TruncateThenCheck,
        },
        true,
        Comparison::LessEqual,
        Precision::F64,
    );
    assert_eq!(
        sides(&lgb, &[1.0, 33.0, 2.0, -1.0, 99.0, f64::NAN]),
        ["L", "L", "R", "R", "R", "R"]
    );
}

#[test]
fn single_rows_and_large_batches_agree() {
    let (forest, data, nf) = random_forest(7);
    for engine in ENGINES {
        let p = Predictor::with_engine(&forest, engine);
        let batch = p.predict(&DenseRows::new(&data, nf), false);
        let k = p.num_outputs(false);
        for (r, row) in data.chunks(nf).enumerate() {
            let one = p.predict(&DenseRows::new(row, nf), false);
            assert!(same(&one, &batch[r * k..(r + 1) * k]), "{engine}");
        }
    }
}

#[test]
fn many_rows_use_all_blocks() {
    let (forest, data, nf) = random_forest(11);
    let big: Vec<f64> = data.iter().cycle().take(nf * 5000).copied().collect();
    let want = reference_all(&forest, &big, nf, false);
    for engine in ENGINES {
        let got = Predictor::with_engine(&forest, engine).predict(&DenseRows::new(&big, nf), false);
        assert!(same(&got, &want), "{engine}");
    }
}

/// A forest far larger than one generated function (hundreds of trees of up to 2^11 nodes),
/// scored by both engines on the same rows: the code is split into many functions, each
/// adding its run of trees in model order.
#[test]
fn a_large_forest_spans_many_generated_functions() {
    let mut rng = Rng(99);
    let nf = 8;
    for precision in [Precision::F32, Precision::F64] {
        let mut b = ForestBuilder::new(nf, 3);
        b.precision(precision).link(Link::Softmax);
        for i in 0..300 {
            let depth = 1 + rng.below(10) as u32;
            let tree = random_tree(
                &mut rng,
                nf as u32,
                CategoryCast::TruncateThenCheck,
                depth,
                i % 2 == 0,
                10,
            );
            b.push_tree(tree, i % 3, 1.0);
        }
        let forest = b.build().expect("valid");
        let data: Vec<f64> = (0..nf * 1000).map(|_| rng.value()).collect();
        let compiled = Predictor::with_engine(&forest, Engine::Compile);
        if JIT_AVAILABLE {
            assert!(compiled.engine().functions > 10, "{:?}", compiled.engine());
        }
        for margin in [true, false] {
            let want = reference_all(&forest, &data, nf, margin);
            let got = compiled.predict(&DenseRows::new(&data, nf), margin);
            assert!(same(&got, &want), "{precision:?} margin {margin}");
        }
    }
}

/// `auto` with code times both evaluators on the first rows, then keeps one; every answer on
/// the way equals the reference, whichever evaluator gave it.
#[test]
fn auto_measures_both_evaluators_then_keeps_one() {
    let mut rng = Rng(5);
    let nf = 6;
    let mut b = ForestBuilder::new(nf, 1);
    b.precision(Precision::F32).comparison(Comparison::Less);
    for _ in 0..40 {
        b.push_tree(
            random_tree(
                &mut rng,
                nf as u32,
                CategoryCast::CheckThenTruncate,
                6,
                false,
                10,
            ),
            0,
            1.0,
        );
    }
    let forest = b.build().expect("valid");
    assert!(forest.num_nodes() >= 256, "{}", forest.num_nodes());
    let p = Predictor::with_engine(&forest, Engine::Auto);
    if !JIT_AVAILABLE {
        assert_eq!(p.engine().running, Running::Interpreter);
        return;
    }
    assert_eq!(p.engine().running, Running::Measuring);
    let data: Vec<f64> = (0..nf * 200).map(|_| rng.value()).collect();
    let want = reference_all(&forest, &data, nf, false);
    for _ in 0..60 {
        let got = p.predict(&DenseRows::new(&data, nf), false);
        assert!(same(&got, &want));
    }
    assert_ne!(p.engine().running, Running::Measuring, "{}", p.engine());
    assert!(p.engine().compiled);
    // Single rows are timed apart: still measuring until they have scored enough.
    assert_eq!(p.engine().running_small, Running::Measuring);
    for row in data.chunks(nf).cycle().take(8200) {
        let got = p.predict(&DenseRows::new(row, nf), false);
        assert!(same(&got, &reference_all(&forest, row, nf, false)));
    }
    assert_ne!(
        p.engine().running_small,
        Running::Measuring,
        "{}",
        p.engine()
    );
}

#[test]
fn the_engine_choice_says_what_runs_and_why() {
    let forest = one_split(
        SplitTest::Numeric {
            threshold: 0.5,
            missing: Missing::NanDefault,
        },
        true,
        Comparison::Less,
        Precision::F32,
    );
    let interpreted = Predictor::with_engine(&forest, Engine::Interpret);
    assert_eq!(interpreted.engine().name(), "interpret");
    assert_eq!(interpreted.engine().reason, None);
    // A forest this small is not worth compiling unless asked.
    let auto = Predictor::with_engine(&forest, Engine::Auto);
    assert!(!auto.engine().compiled);
    let why = auto.engine().reason.clone().expect("a reason");
    assert!(
        why.contains("small model") || why.contains("feature `jit`"),
        "{why}"
    );
    let compiled = Predictor::with_engine(&forest, Engine::Compile);
    assert_eq!(compiled.engine().compiled, JIT_AVAILABLE);
    if JIT_AVAILABLE {
        assert!(compiled.engine().code_bytes > 0 && compiled.engine().compile_ms >= 0.0);
        assert!(compiled.engine().to_string().starts_with("native code"));
    }
    assert_eq!("Compile".parse::<Engine>(), Ok(Engine::Compile));
    assert!(
        "fast"
            .parse::<Engine>()
            .unwrap_err()
            .contains("unknown engine")
    );
}

#[test]
fn random_forests_exercise_both_tree_layouts() {
    let (mut implicit, mut pointer) = (0, 0);
    for seed in 0..200 {
        let (forest, _, _) = random_forest(seed);
        let (i, p) = CompiledForest::<f64>::compile(&forest).layout_counts();
        implicit += i;
        pointer += p;
    }
    assert!(
        implicit > 100 && pointer > 100,
        "implicit {implicit}, pointer {pointer}"
    );
}

/// A chain 12 splits deep (too sparse for the implicit layout past its top levels) whose
/// thresholds all equal the inputs: every deep step is a tie, so `<` versus `<=` shows.
#[test]
fn deep_sparse_trees_walk_ties_and_nan_like_the_reference() {
    for (precision, cmp) in [
        (Precision::F32, Comparison::Less),
        (Precision::F64, Comparison::LessEqual),
        (Precision::F32, Comparison::LessEqual),
        (Precision::F64, Comparison::Less),
    ] {
        let mut t = TreeBuilder::new();
        let depth = 12;
        for d in 0..depth {
            let me = t.len() as u32;
            // Left child: a leaf; right child: the next split (or the final leaf).
            // The top levels send rows right (2.0, or NaN with default right) on features 0
            // and 1; from level 6 on, feature 2 decides, often by a tie.
            let (feature, default_left) = if d < 6 {
                ((d % 2) as u32, false)
            } else {
                (2, d % 2 == 0)
            };
            t.numeric(
                feature,
                1.0,
                Missing::NanDefault,
                default_left,
                me + 1,
                me + 2,
            );
            t.leaf(d as f64);
        }
        t.leaf(100.0);
        let mut b = ForestBuilder::new(3, 1);
        b.precision(precision).comparison(cmp);
        for _ in 0..9 {
            b.push_tree(t.clone(), 0, 1.0);
        }
        let forest = b.build().expect("valid");
        let mut data = Vec::new();
        for r in 0..19 {
            data.push(if r % 3 == 0 { f64::NAN } else { 2.0 });
            data.push(2.0);
            data.push([1.0, f64::NAN, 2.0, 0.5, 1.0][r % 5]);
        }
        let got = Predictor::with_engine(&forest, Engine::Compile)
            .predict(&DenseRows::new(&data, 3), true);
        let want = reference_all(&forest, &data, 3, true);
        assert!(
            same(&got, &want),
            "{precision:?} {cmp:?}\n got {got:?}\nwant {want:?}"
        );
        let single = Predictor::with_engine(&forest, Engine::Compile)
            .predict(&DenseRows::new(&data[..3], 3), true);
        assert!(same(&single, &want[..1]));
    }
}

/// Spark's categorical splits look the double itself up: 1.5 and -1 are in no set.
#[test]
fn exact_category_cast_takes_only_whole_non_negative_values() {
    let spark = one_split(
        SplitTest::Categorical {
            bitset: vec![0b110],
            in_set_goes_left: true,
            nan: NanRoute::Right,
            cast: CategoryCast::Exact,
        },
        true,
        Comparison::LessEqual,
        Precision::F64,
    );
    assert_eq!(
        sides(
            &spark,
            &[
                1.0,
                2.0,
                1.5,
                2.0000001,
                -0.0,
                0.0,
                -1.0,
                33.0,
                f64::NAN,
                f64::INFINITY
            ]
        ),
        ["L", "L", "R", "R", "R", "R", "R", "R", "R", "R"]
    );
    let zero = one_split(
        SplitTest::Categorical {
            bitset: vec![0b1],
            in_set_goes_left: true,
            nan: NanRoute::Right,
            cast: CategoryCast::Exact,
        },
        true,
        Comparison::LessEqual,
        Precision::F64,
    );
    assert_eq!(sides(&zero, &[-0.0, 0.0, 0.5]), ["L", "L", "R"]);
}

/// A forest of mostly shallow trees with plain numeric tests and constant leaves, the kind
/// predicate masks score, between deeper or flagged trees that walk: rows must add the trees
/// in model order whichever evaluator takes each tree.
fn masked_forest(seed: u64) -> (Forest, Vec<f64>, usize) {
    fn grow(rng: &mut Rng, t: &mut TreeBuilder, nf: u32, depth: u32, leaf_percent: u64) -> u32 {
        if depth == 0 || rng.chance(leaf_percent) {
            return t.leaf((rng.below(200) as f64 - 100.0) / 64.0);
        }
        let threshold = loop {
            let v = rng.value();
            if v.is_finite() {
                break v;
            }
        };
        // Zero-as-missing tests are flagged (walked) once a feature mixes rules: keep them rare.
        let missing = match rng.below(10) {
            0 => Missing::ZeroAndNanDefault,
            1..=4 => Missing::NanAsZero,
            _ => Missing::NanDefault,
        };
        let test = SplitTest::Numeric { threshold, missing };
        let me = t.split(rng.below(nf as u64) as u32, test, rng.chance(50), 0, 0);
        let left = grow(rng, t, nf, depth - 1, leaf_percent);
        let right = grow(rng, t, nf, depth - 1, leaf_percent);
        t.patch_children(me, left, right);
        me
    }
    let mut rng = Rng(seed);
    let nf = 1 + rng.below(8) as usize;
    let groups = 1 + rng.below(3) as usize;
    let mut b = ForestBuilder::new(nf, groups);
    b.precision(if rng.chance(50) {
        Precision::F32
    } else {
        Precision::F64
    })
    .comparison(if rng.chance(50) {
        Comparison::Less
    } else {
        Comparison::LessEqual
    })
    .base_margin((0..groups).map(|g| g as f64 / 4.0).collect())
    .link(Link::Identity);
    for i in 0..1 + rng.below(40) as usize {
        let depth = if rng.chance(15) {
            6 + rng.below(3) as u32
        } else {
            rng.below(masks::MAX_LEVELS as u64 + 1) as u32
        };
        let mut t = TreeBuilder::new();
        let leaf_percent = if rng.chance(30) { 20 } else { 0 };
        grow(&mut rng, &mut t, nf as u32, depth, leaf_percent);
        b.push_tree(
            t,
            (i % groups) as u32,
            if rng.chance(20) { 0.5 } else { 1.0 },
        );
    }
    let forest = b.build().expect("masked forest is valid");
    let rows = 1 + rng.below(400) as usize;
    let data = (0..rows * nf).map(|_| rng.value()).collect();
    (forest, data, nf)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn predicate_masks_equal_the_reference_bit_for_bit(seed in any::<u64>()) {
        let (forest, data, nf) = masked_forest(seed);
        let predictor = Predictor::with_engine(&forest, Engine::Interpret);
        let got = predictor.predict(&DenseRows::new(&data, nf), true);
        let want = reference_all(&forest, &data, nf, true);
        prop_assert!(same(&got, &want), "seed {seed}\n got {got:?}\nwant {want:?}");
    }
}

#[test]
fn masked_forests_mix_masked_and_walked_trees() {
    let (mut masked, mut walked) = (0, 0);
    for seed in 0..100 {
        let (forest, _, _) = masked_forest(seed);
        let (m, w) = CompiledForest::<f64>::compile(&forest).masked_counts();
        masked += m;
        walked += w;
    }
    assert!(
        masked > 800 && walked > 200,
        "masked {masked}, walked {walked}"
    );
}
