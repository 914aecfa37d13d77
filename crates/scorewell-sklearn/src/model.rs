//! A loaded scikit-learn model: how its inputs are read, the preprocessing steps, and the
//! final estimator, as plain data the scoring code runs.

use std::collections::HashMap;

use scorewell_forest::{DenseRows, LeafTables, Predictor};

/// A fitted scikit-learn model ready to score.
#[derive(Debug)]
pub struct SklearnModel {
    /// The columns read, in the order the estimator's `X` has them.
    pub inputs: Vec<Input>,
    /// A ColumnTransformer or encoder building the matrix from the inputs (else the inputs
    /// are the matrix's columns).
    pub front: Option<Front>,
    /// Preprocessing steps (a `Pipeline`'s transformers), in order.
    pub steps: Vec<Step>,
    /// The final estimator.
    pub head: Head,
    /// What the model appends.
    pub output: Output,
    /// The estimator tree, one line per estimator, indented by nesting (for `inspect`).
    pub summary: Vec<String>,
    /// The scikit-learn version that saved the file, when it says.
    pub version: Option<String>,
}

/// One input column.
#[derive(Debug, Clone)]
pub struct Input {
    /// Column name: `feature_names_in_`, or sklearn's `x0, x1, …` for models fitted on arrays.
    pub name: String,
    /// When set, the column's values are categories replaced by their ordinal codes (an
    /// `OrdinalEncoder`, e.g. HistGradientBoosting's own); unknown values and missing ones
    /// become NaN.
    pub categories: Option<Categories>,
    /// Read as strings (an encoder's string categories), not numbers.
    pub text: bool,
    /// False for columns a ColumnTransformer drops: they are not read, so need not exist.
    pub used: bool,
}

/// Category → code maps.
#[derive(Debug, Clone)]
pub enum Categories {
    /// String categories.
    Text(HashMap<String, f64>),
    /// Numeric categories, by their exact value (as `f64` bits; `-0.0` is `0.0`).
    Numbers(HashMap<u64, f64>),
}

impl Categories {
    /// The code of a numeric value, NaN when unknown or missing.
    pub fn number(&self, x: f64) -> f64 {
        match self {
            Categories::Numbers(m) if !x.is_nan() => {
                m.get(&(x + 0.0).to_bits()).copied().unwrap_or(f64::NAN)
            }
            _ => f64::NAN,
        }
    }
}

/// A row-major matrix of `f64`.
#[derive(Debug, Clone)]
pub struct Matrix {
    /// Values, `rows × width`.
    pub data: Vec<f64>,
    /// Columns.
    pub width: usize,
}

impl Matrix {
    /// Rows.
    pub fn rows(&self) -> usize {
        self.data.len().checked_div(self.width).unwrap_or(0)
    }
}

/// A preprocessing step over the dense matrix.
#[derive(Debug, Clone)]
pub enum Step {
    /// Per-column `x = ((x - sub) / div) * mul + add`, each part optional and each done as
    /// its own rounding step, as numpy does them in place: StandardScaler (sub, div),
    /// RobustScaler (sub, div), MaxAbsScaler (div), MinMaxScaler (mul, add).
    Affine {
        /// Subtracted first.
        sub: Option<Vec<f64>>,
        /// Then divided by.
        div: Option<Vec<f64>>,
        /// Then multiplied by.
        mul: Option<Vec<f64>>,
        /// Then added.
        add: Option<Vec<f64>>,
    },
    /// SimpleImputer: replace `missing` (NaN matches NaN) by `fill[j]`, keep the columns in
    /// `keep` (columns all-missing at fit are dropped), then append a 0/1 indicator for each
    /// column in `indicator`, computed before imputation.
    Impute {
        /// The value that means missing.
        missing: f64,
        /// One fill value per input column.
        fill: Vec<f64>,
        /// Columns kept.
        keep: Vec<usize>,
        /// Columns with an indicator.
        indicator: Vec<usize>,
    },
    /// Reorder columns (HistGradientBoosting moves its categorical features first).
    Select(Vec<usize>),
}

impl Step {
    /// Check that the step's vectors fit `width` input columns (a corrupt or hand-made file
    /// could disagree with itself; scoring must then fail at load, not index out of bounds).
    pub fn check(&self, width: usize) -> std::result::Result<(), String> {
        let fits = |v: &Option<Vec<f64>>| v.as_ref().is_none_or(|v| v.len() == width);
        match self {
            Step::Affine { sub, div, mul, add } => {
                if [sub, div, mul, add].into_iter().all(fits) {
                    Ok(())
                } else {
                    Err(format!("a scaler's vectors do not have {width} entries"))
                }
            }
            Step::Impute {
                fill,
                keep,
                indicator,
                ..
            } => {
                if fill.len() == width && keep.iter().chain(indicator).all(|&j| j < width) {
                    Ok(())
                } else {
                    Err(format!(
                        "an imputer's statistics do not cover {width} columns"
                    ))
                }
            }
            Step::Select(c) => {
                if c.iter().all(|&j| j < width) {
                    Ok(())
                } else {
                    Err("a column reorder points past the columns".into())
                }
            }
        }
    }

    /// Apply to every row.
    pub fn apply(&self, m: Matrix) -> Matrix {
        match self {
            Step::Affine { sub, div, mul, add } => {
                let mut m = m;
                let w = m.width;
                for row in m.data.chunks_exact_mut(w.max(1)) {
                    for (j, x) in row.iter_mut().enumerate() {
                        if let Some(s) = sub {
                            *x -= s[j];
                        }
                        if let Some(d) = div {
                            *x /= d[j];
                        }
                        if let Some(k) = mul {
                            *x *= k[j];
                        }
                        if let Some(a) = add {
                            *x += a[j];
                        }
                    }
                }
                m
            }
            Step::Impute {
                missing,
                fill,
                keep,
                indicator,
            } => {
                let is_missing = |x: f64| {
                    if missing.is_nan() {
                        x.is_nan()
                    } else {
                        x == *missing
                    }
                };
                let width = keep.len() + indicator.len();
                let mut out = Vec::with_capacity(m.rows() * width);
                for row in m.data.chunks_exact(m.width.max(1)) {
                    for &j in keep {
                        let x = row[j];
                        out.push(if is_missing(x) { fill[j] } else { x });
                    }
                    for &j in indicator {
                        out.push(if is_missing(row[j]) { 1.0 } else { 0.0 });
                    }
                }
                Matrix { data: out, width }
            }
            Step::Select(columns) => {
                let mut out = Vec::with_capacity(m.rows() * columns.len());
                for row in m.data.chunks_exact(m.width.max(1)) {
                    out.extend(columns.iter().map(|&j| row[j]));
                }
                Matrix {
                    data: out,
                    width: columns.len(),
                }
            }
        }
    }

    /// Columns out for `width` columns in.
    pub fn width_out(&self, width: usize) -> usize {
        match self {
            Step::Affine { .. } => width,
            Step::Impute {
                keep, indicator, ..
            } => keep.len() + indicator.len(),
            Step::Select(c) => c.len(),
        }
    }
}

/// The final estimator's arithmetic.
#[derive(Debug)]
pub enum Head {
    /// Tree ensembles: a leaf-number forest and the values summed per leaf.
    Trees {
        /// The forest (leaves answer their leaf number).
        predictor: Box<Predictor>,
        /// Features it reads.
        num_features: usize,
        /// Leaf values, base and summing order.
        tables: LeafTables,
        /// What turns the sums into the outputs.
        finish: Finish,
    },
    /// Linear models: `raw = X · coefᵀ + intercept`.
    Linear {
        /// `k × n`, row-major.
        coef: Vec<f64>,
        /// `k` intercepts.
        intercept: Vec<f64>,
        /// Features.
        num_features: usize,
        /// What turns the raw values into the outputs.
        finish: Finish,
    },
}

/// How raw sums become the values a model appends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Finish {
    /// As they are.
    Identity,
    /// Divided by the number of trees (random forests: `proba /= len(estimators_)`).
    Divide(f64),
    /// One raw value → `[1 - expit(s·raw), expit(s·raw)]` (binary log loss `s = 1`, exponential
    /// loss `s = 2`).
    Expit2(f64),
    /// Softmax over the raw values.
    Softmax,
    /// Binary `[-raw, raw]` then softmax (a multinomial LogisticRegression on two classes).
    SoftmaxPair,
    /// One-vs-rest: expit each (then normalise by the row sum); one raw value → `[1-p, p]`.
    OneVsRest,
    /// SGDClassifier `modified_huber`: `(clip(raw, -1, 1) + 1) / 2`, normalised.
    ModifiedHuber,
    /// IsolationForest `score_samples`: `-2^(-sum / denominator)`.
    Isolation(f64),
    /// `e^raw` (HistGradientBoosting poisson and gamma losses).
    Exp,
}

/// The classes a classifier predicts, typed as scikit-learn stored them.
#[derive(Debug, Clone, PartialEq)]
pub enum Classes {
    /// Integer labels.
    Int(Vec<i64>),
    /// Float labels.
    Float(Vec<f64>),
    /// String labels.
    Text(Vec<String>),
    /// Boolean labels.
    Bool(Vec<bool>),
}

impl Classes {
    /// Number of classes.
    pub fn len(&self) -> usize {
        match self {
            Classes::Int(v) => v.len(),
            Classes::Float(v) => v.len(),
            Classes::Text(v) => v.len(),
            Classes::Bool(v) => v.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How the predicted label is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelRule {
    /// The class of the largest output, first on ties (`classes_[argmax(proba)]`).
    ArgMax,
    /// The class of the largest raw value; one raw value picks class 1 when `> 0`
    /// (`LinearClassifierMixin.predict`).
    RawPositive,
    /// Like [`LabelRule::RawPositive`] with `>= 0` (GradientBoostingClassifier).
    RawNonNegative,
}

/// What a model appends.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Regression: `prediction`, or `prediction_0 …` for several targets.
    Regression {
        /// Targets.
        targets: usize,
    },
    /// Classification with probabilities: `prediction_0 … prediction_{k-1}` (`predict_proba`
    /// in `classes_` order) and `label` (`predict`).
    Proba {
        /// The classes.
        classes: Classes,
        /// How `label` is chosen.
        label: LabelRule,
    },
    /// Classification without probabilities: `decision` (binary) or `decision_0 …`, and
    /// `label`.
    Decision {
        /// The classes.
        classes: Classes,
    },
    /// Outlier detection (IsolationForest): `score` (`score_samples`), `decision`
    /// (`decision_function = score - offset_`) and `label` (`-1` outlier, `1` inlier).
    Outlier {
        /// `offset_`.
        offset: f64,
    },
}

/// What the head computed for a block of rows.
#[derive(Debug)]
pub struct Scored {
    /// Raw sums or linear values, `rows × raw_width`.
    pub raw: Vec<f64>,
    /// Raw values per row.
    pub raw_width: usize,
    /// The finished values (probabilities, predictions, scores), `rows × width`.
    pub values: Vec<f64>,
    /// Values per row.
    pub width: usize,
}

impl Head {
    /// Raw values per row, and finished values per row.
    pub fn widths(&self) -> (usize, usize) {
        let (raw, finish) = match self {
            Head::Trees { tables, finish, .. } => (tables.width, *finish),
            Head::Linear {
                intercept, finish, ..
            } => (intercept.len(), *finish),
        };
        (raw, finish.out_width(raw))
    }

    /// Features the head reads.
    pub fn num_features(&self) -> usize {
        match self {
            Head::Trees { num_features, .. } | Head::Linear { num_features, .. } => *num_features,
        }
    }

    /// Score `x` (`rows × num_features`).
    pub fn score(&self, x: &Matrix) -> Scored {
        let rows = x.rows();
        let (raw, raw_width, finish) = match self {
            Head::Trees {
                predictor,
                num_features,
                tables,
                finish,
            } => {
                let leaves = if rows == 0 {
                    Vec::new()
                } else {
                    predictor
                        .as_ref()
                        .predict(&DenseRows::new(&x.data, (*num_features).max(1)), true)
                };
                let mut raw = vec![0.0; rows * tables.width];
                tables.accumulate(&leaves, &mut raw);
                (raw, tables.width, *finish)
            }
            Head::Linear {
                coef,
                intercept,
                num_features,
                finish,
            } => {
                let k = intercept.len();
                let mut raw = Vec::with_capacity(rows * k);
                for row in x.data.chunks_exact((*num_features).max(1)) {
                    for (c, b) in coef.chunks_exact((*num_features).max(1)).zip(intercept) {
                        let dot: f64 = row.iter().zip(c).map(|(a, w)| a * w).sum();
                        raw.push(dot + b);
                    }
                }
                (raw, k, *finish)
            }
        };
        let (values, width) = finish.apply(&raw, raw_width);
        Scored {
            raw,
            raw_width,
            values,
            width,
        }
    }
}

fn expit(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn softmax(row: &mut [f64]) {
    let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for v in row.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    row.iter_mut().for_each(|v| *v /= sum);
}

impl Finish {
    /// Values per row out for `width` raw values per row.
    pub fn out_width(self, width: usize) -> usize {
        match self {
            Finish::Expit2(_) | Finish::SoftmaxPair => 2,
            Finish::OneVsRest | Finish::ModifiedHuber if width == 1 => 2,
            _ => width,
        }
    }

    /// Apply to `raw` (`rows × width`); returns the values and their width.
    pub fn apply(self, raw: &[f64], width: usize) -> (Vec<f64>, usize) {
        let w = width.max(1);
        match self {
            Finish::Identity => (raw.to_vec(), width),
            Finish::Divide(n) => (raw.iter().map(|v| v / n).collect(), width),
            Finish::Exp => (raw.iter().map(|v| v.exp()).collect(), width),
            Finish::Isolation(den) => (
                raw.iter()
                    .map(|v| -(2f64.powf(-(if den != 0.0 { v / den } else { 1.0 }))))
                    .collect(),
                width,
            ),
            Finish::Expit2(s) => {
                let mut out = Vec::with_capacity(raw.len() * 2);
                for &r in raw {
                    let p = expit(s * r);
                    out.extend([1.0 - p, p]);
                }
                (out, 2)
            }
            Finish::Softmax => {
                let mut out = raw.to_vec();
                out.chunks_exact_mut(w).for_each(softmax);
                (out, width)
            }
            Finish::SoftmaxPair => {
                let mut out = Vec::with_capacity(raw.len() * 2);
                for &r in raw {
                    let mut pair = [-r, r];
                    softmax(&mut pair);
                    out.extend(pair);
                }
                (out, 2)
            }
            Finish::OneVsRest => {
                if width == 1 {
                    return Finish::Expit2(1.0).apply(raw, 1);
                }
                let mut out: Vec<f64> = raw.iter().map(|&r| expit(r)).collect();
                for row in out.chunks_exact_mut(w) {
                    let sum: f64 = row.iter().sum();
                    row.iter_mut().for_each(|v| *v /= sum);
                }
                (out, width)
            }
            Finish::ModifiedHuber => {
                let p = |r: f64| (r.clamp(-1.0, 1.0) + 1.0) / 2.0;
                if width == 1 {
                    let mut out = Vec::with_capacity(raw.len() * 2);
                    for &r in raw {
                        let p1 = p(r);
                        out.extend([1.0 - p1, p1]);
                    }
                    return (out, 2);
                }
                let mut out: Vec<f64> = raw.iter().map(|&r| p(r)).collect();
                for row in out.chunks_exact_mut(w) {
                    let sum: f64 = row.iter().sum();
                    if sum == 0.0 {
                        row.iter_mut().for_each(|v| *v = 1.0 / width as f64);
                    } else {
                        row.iter_mut().for_each(|v| *v /= sum);
                    }
                }
                (out, width)
            }
        }
    }
}

/// The index of the largest value, first on ties; NaN never wins (numpy's argmax would pick
/// the first NaN, which only arises from NaN inputs scikit-learn refuses).
pub fn argmax(v: &[f64]) -> usize {
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        if *x > v[best] {
            best = i;
        }
    }
    best
}

/// The label index for one row.
pub fn label_index(rule: LabelRule, raw: &[f64], values: &[f64]) -> usize {
    match rule {
        LabelRule::ArgMax => argmax(values),
        LabelRule::RawPositive | LabelRule::RawNonNegative if raw.len() == 1 => {
            let positive = if rule == LabelRule::RawPositive {
                raw[0] > 0.0
            } else {
                raw[0] >= 0.0
            };
            positive as usize
        }
        _ => argmax(raw),
    }
}

/// How a Pipeline's first step (a ColumnTransformer or an encoder) turns the input columns
/// into the estimator's matrix: blocks whose outputs are concatenated in order.
#[derive(Debug, Clone)]
pub struct Front {
    /// The blocks, in `transformers_` order.
    pub blocks: Vec<Block>,
}

/// One input column's values for a batch.
#[derive(Debug)]
pub enum Raw {
    /// Numbers (nulls are NaN).
    Num(Vec<f64>),
    /// Strings (nulls are `None`).
    Text(arrow_array::StringArray),
}

/// One ColumnTransformer block.
#[derive(Debug, Clone)]
pub enum Block {
    /// Numeric columns through matrix steps (none: passthrough).
    Numeric {
        /// Input positions.
        columns: Vec<usize>,
        /// Steps applied to those columns.
        steps: Vec<Step>,
    },
    /// One encoder per column.
    Encode {
        /// Input positions.
        columns: Vec<usize>,
        /// Encoders, one per column.
        encoders: Vec<Encoder>,
    },
}

/// Category positions of one encoded column.
#[derive(Debug, Clone, Default)]
pub struct Lookup {
    /// String categories.
    pub text: HashMap<String, usize>,
    /// Numeric categories by `f64` bits (`-0.0` as `0.0`).
    pub numbers: HashMap<u64, usize>,
    /// The `None` category.
    pub none: Option<usize>,
    /// The NaN category.
    pub nan: Option<usize>,
    /// Number of categories.
    pub len: usize,
}

/// A SimpleImputer's fill ahead of an encoder.
#[derive(Debug, Clone)]
pub struct Fill {
    /// The fill when it is a string.
    pub text: Option<String>,
    /// The fill when it is a number.
    pub number: Option<f64>,
    /// `missing_values=None` (nulls in string columns are missing) rather than NaN.
    pub none_is_missing: bool,
}

/// What an encoder does with an unknown value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unknown {
    /// Refuse the row (`handle_unknown='error'`).
    Error,
    /// All zeros.
    Ignore,
    /// The infrequent category's column.
    Column(usize),
}

/// An encoder of one column.
#[derive(Debug, Clone)]
pub struct Encoder {
    /// Its categories.
    pub lookup: Lookup,
    /// An imputer ahead of it.
    pub fill: Option<Fill>,
    /// One-hot or ordinal.
    pub kind: EncoderKind,
}

/// The two encoders.
#[derive(Debug, Clone)]
pub enum EncoderKind {
    /// OneHotEncoder: per category its output column (`None`: dropped).
    OneHot {
        /// Output column per category.
        columns: Vec<Option<usize>>,
        /// Output columns.
        width: usize,
        /// Unknown values.
        unknown: Unknown,
    },
    /// OrdinalEncoder.
    Ordinal {
        /// `unknown_value`; `None` refuses unknown values.
        unknown: Option<f64>,
        /// `encoded_missing_value`.
        missing: f64,
    },
}

impl Encoder {
    fn width(&self) -> usize {
        match &self.kind {
            EncoderKind::OneHot { width, .. } => *width,
            EncoderKind::Ordinal { .. } => 1,
        }
    }

    /// The category of a cell, after the imputer; `Err` carries the value for messages.
    fn category(&self, raw: &Raw, row: usize) -> std::result::Result<usize, String> {
        use arrow_array::Array;
        match raw {
            Raw::Text(a) => {
                let mut v = (!a.is_null(row)).then(|| a.value(row));
                if v.is_none()
                    && let Some(f) = &self.fill
                    && f.none_is_missing
                {
                    v = f.text.as_deref();
                }
                match v {
                    Some(s) => self
                        .lookup
                        .text
                        .get(s)
                        .copied()
                        .ok_or_else(|| s.to_string()),
                    None => self.lookup.none.ok_or_else(|| "None".to_string()),
                }
            }
            Raw::Num(x) => {
                let mut v = x[row];
                if v.is_nan()
                    && let Some(f) = &self.fill
                    && !f.none_is_missing
                    && let Some(n) = f.number
                {
                    v = n;
                }
                if v.is_nan() {
                    return self.lookup.nan.ok_or_else(|| "nan".to_string());
                }
                self.lookup
                    .numbers
                    .get(&(v + 0.0).to_bits())
                    .copied()
                    .ok_or_else(|| v.to_string())
            }
        }
    }
}

impl Block {
    /// Columns this block appends.
    pub fn width(&self) -> usize {
        match self {
            Block::Numeric { columns, steps } => {
                steps.iter().fold(columns.len(), |w, s| s.width_out(w))
            }
            Block::Encode { encoders, .. } => encoders.iter().map(Encoder::width).sum(),
        }
    }
}

impl Front {
    /// Check every block's steps against its columns.
    pub fn check(&self) -> std::result::Result<(), String> {
        for b in &self.blocks {
            if let Block::Numeric { columns, steps } = b {
                let mut w = columns.len();
                for s in steps {
                    s.check(w)?;
                    w = s.width_out(w);
                }
            }
        }
        Ok(())
    }

    /// Columns out.
    pub fn width(&self) -> usize {
        self.blocks.iter().map(Block::width).sum()
    }

    /// Build the matrix from the raw input columns. An error names the column (from
    /// `names`), the row and the value.
    pub fn apply(
        &self,
        raw: &[Raw],
        rows: usize,
        names: &[String],
    ) -> std::result::Result<Matrix, (String, usize, String)> {
        let width = self.width();
        let mut data = vec![0.0f64; rows * width];
        let mut at = 0usize;
        for block in &self.blocks {
            match block {
                Block::Numeric { columns, steps } => {
                    let mut sub = Vec::with_capacity(rows * columns.len());
                    for r in 0..rows {
                        for &c in columns {
                            sub.push(match &raw[c] {
                                Raw::Num(x) => x[r],
                                Raw::Text(_) => f64::NAN,
                            });
                        }
                    }
                    let mut m = Matrix {
                        data: sub,
                        width: columns.len(),
                    };
                    for s in steps {
                        m = s.apply(m);
                    }
                    for r in 0..rows {
                        data[r * width + at..][..m.width]
                            .copy_from_slice(&m.data[r * m.width..][..m.width]);
                    }
                    at += m.width;
                }
                Block::Encode { columns, encoders } => {
                    for (&c, enc) in columns.iter().zip(encoders) {
                        for r in 0..rows {
                            let cat = enc.category(&raw[c], r);
                            let out = &mut data[r * width + at..][..enc.width()];
                            match (&enc.kind, cat) {
                                (EncoderKind::OneHot { columns: map, .. }, Ok(k)) => {
                                    if let Some(Some(o)) = map.get(k) {
                                        out[*o] = 1.0;
                                    }
                                }
                                (EncoderKind::OneHot { unknown, .. }, Err(v)) => match unknown {
                                    Unknown::Ignore => {}
                                    Unknown::Column(o) => out[*o] = 1.0,
                                    Unknown::Error => {
                                        return Err((
                                            names[c].clone(),
                                            r,
                                            format!(
                                                "unknown category `{v}` (the OneHotEncoder was fitted with handle_unknown='error')"
                                            ),
                                        ));
                                    }
                                },
                                (EncoderKind::Ordinal { missing, .. }, Ok(k)) => {
                                    // Only a NaN category is "missing"; a None category is a
                                    // category like any other (`is_scalar_nan(None)` is false).
                                    out[0] = if Some(k) == enc.lookup.nan {
                                        *missing
                                    } else {
                                        k as f64
                                    };
                                }
                                (EncoderKind::Ordinal { unknown, .. }, Err(v)) => match unknown {
                                    Some(u) => out[0] = *u,
                                    None => {
                                        return Err((
                                            names[c].clone(),
                                            r,
                                            format!(
                                                "unknown category `{v}` (the OrdinalEncoder was fitted with handle_unknown='error')"
                                            ),
                                        ));
                                    }
                                },
                            }
                        }
                        at += enc.width();
                    }
                }
            }
        }
        Ok(Matrix { data, width })
    }
}
