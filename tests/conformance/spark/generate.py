"""Train small seeded Spark ML pipelines in local mode, save them with `model.save`, and store
Spark's own `transform` outputs next to them, for scorewell's Spark conformance test
(crates/scorewell-spark/tests/conformance.rs).

    .venv/bin/python tests/conformance/spark/generate.py [case ...]

Each case becomes tests/conformance/spark/cases/spark_<major>_<minor>_<case>/ (the PySpark
version that ran it; run this script under another PySpark to add that version's cases):

    model/            the PipelineModel (or single model) exactly as `save` wrote it
    input.parquet     the rows given to `transform` (plain columns: strings, doubles, ints)
    expected.parquet  `id` plus every output column Spark's transform added; vectors densified
                      to list<double>, token arrays as list<string>, scalars as Spark typed them
    case.toml         description, spark_version, rtol, atol, rows, outputs

Everything is seeded and the data is tiny, so regenerating with the same PySpark gives the
same model files up to uids and timestamps.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
CASES = HERE / "cases"

os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

from pyspark.sql import SparkSession  # noqa: E402
from pyspark.sql import types as T  # noqa: E402
from pyspark.ml import Pipeline, PipelineModel  # noqa: E402
from pyspark.ml import feature as F  # noqa: E402
from pyspark.ml import classification as C  # noqa: E402
from pyspark.ml import regression as R  # noqa: E402
from pyspark.ml.clustering import KMeans  # noqa: E402
from pyspark.ml.linalg import Vectors, VectorUDT  # noqa: E402

spark = (
    SparkSession.builder.master("local[1]")
    .appName("scorewell-spark-conformance")
    .config("spark.ui.enabled", "false")
    .config("spark.sql.shuffle.partitions", "1")
    .config("spark.driver.memory", "1g")
    .getOrCreate()
)
spark.sparkContext.setLogLevel("ERROR")
SPARK_VERSION = spark.version

PA_TYPES = {
    T.StringType: pa.string(),
    T.DoubleType: pa.float64(),
    T.FloatType: pa.float32(),
    T.IntegerType: pa.int32(),
    T.LongType: pa.int64(),
    T.BooleanType: pa.bool_(),
}

# Input column kinds: Spark type, Arrow type. A "vec" column is a dense VectorUDT in Spark and
# a list<double> in input.parquet (scorewell reads plain lists as dense vectors).
KINDS = {
    "str": (T.StringType(), pa.string()),
    "f64": (T.DoubleType(), pa.float64()),
    "f32": (T.FloatType(), pa.float32()),
    "i32": (T.IntegerType(), pa.int32()),
    "i64": (T.LongType(), pa.int64()),
    "vec": (VectorUDT(), pa.list_(pa.float64())),
}


def spark_schema(columns: dict) -> T.StructType:
    return T.StructType([T.StructField(name, KINDS[kind][0], True) for name, (kind, _) in columns.items()])


def frame(columns: dict):
    """columns: name -> (kind, list). Returns (spark df, pyarrow table) with the same rows."""
    n = len(next(iter(columns.values()))[1])
    spark_values = [
        [None if v is None else Vectors.dense(v) for v in values] if kind == "vec" else values
        for kind, values in columns.values()
    ]
    rows = [tuple(col[i] for col in spark_values) for i in range(n)]
    df = spark.createDataFrame(rows, spark_schema(columns)).coalesce(1)
    arrays = {name: pa.array(values, type=KINDS[kind][1]) for name, (kind, values) in columns.items()}
    return df, pa.table(arrays)


def to_arrow(field: T.StructField, values: list) -> pa.Array:
    dt = field.dataType
    if isinstance(dt, VectorUDT):
        return pa.array(
            [None if v is None else [float(x) for x in v.toArray()] for v in values],
            type=pa.list_(pa.float64()),
        )
    if isinstance(dt, T.ArrayType) and isinstance(dt.elementType, T.StringType):
        return pa.array(values, type=pa.list_(pa.string()))
    for cls, t in PA_TYPES.items():
        if isinstance(dt, cls):
            return pa.array(values, type=t)
    raise TypeError(f"{field.name}: no arrow type for {dt}")


def save_case(name, description, model, test_cols, *, rtol, atol, notes=(), make_frame=None):
    major, minor = SPARK_VERSION.split(".")[:2]
    name = f"spark_{major}_{minor}_{name}"
    out = CASES / name
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    model.save(str(out / "model"))
    # Read the model back from disk, so the expected outputs are those of the saved files.
    loaded = PipelineModel.load(str(out / "model")) if isinstance(model, PipelineModel) else type(model).load(str(out / "model"))
    df, table = (make_frame or frame)(test_cols)
    pq.write_table(table, out / "input.parquet", compression="zstd")
    scored = loaded.transform(df)
    new = [f for f in scored.schema.fields if f.name not in test_cols]
    rows = scored.select(["id"] + [f.name for f in new]).collect()
    arrays = {"id": pa.array([r["id"] for r in rows], type=pa.int64())}
    for f in new:
        arrays[f.name] = to_arrow(f, [r[f.name] for r in rows])
    pq.write_table(pa.table(arrays), out / "expected.parquet", compression="zstd")
    # Spark writes .crc side files and _SUCCESS markers; the reader ignores them, keep the case small.
    for p in (out / "model").rglob("*"):
        if p.name.startswith(".") and p.name.endswith(".crc"):
            p.unlink()
    lines = [
        f'description = "{description}"',
        'producer = "pyspark"',
        f'spark_version = "{SPARK_VERSION}"',
        'model = "model"',
        'input = "input.parquet"',
        'expected = "expected.parquet"',
        f"rows = {len(rows)}",
        "outputs = [" + ", ".join(f'"{f.name}"' for f in new) + "]",
        f"rtol = {rtol!r}",
        f"atol = {atol!r}",
    ]
    lines += [f"# note: {n}" for n in notes]
    (out / "case.toml").write_text("\n".join(lines) + "\n")
    print(f"{name}: {len(rows)} rows, outputs {[f.name for f in new]}")


EXACT = dict(rtol=0.0, atol=0.0, notes=["bit-exact with Spark: same operations in the same order"])
# GBT sums tree predictions with BLAS ddot: in tree order in Spark 4.3 (bit-exact), vectorised in 3.5.
GBT = dict(rtol=1e-9, atol=1e-12, notes=["GBT margins: Spark 3.5 sums tree predictions with a vectorised BLAS ddot (another order), Spark 4.3 in tree order (bit-exact)"])
BLAS = dict(rtol=1e-9, atol=1e-12, notes=["Spark sums some dot products through BLAS (vectorised, another order): a few ulps apart"])

rng = np.random.default_rng(20261122)


def maybe(values, p_null, r):
    return [None if r.random() < p_null else v for v in values]


# ---------------------------------------------------------------------------------------------
# data sets

WORDS = (
    "free money win prize now click offer cheap deal urgent meeting report project schedule "
    "lunch team update review budget quarter invoice the a to of and is in for on you your "
    "with this that our we are be it please thanks hello"
).split()
SPAM = set("free money win prize now click offer cheap deal urgent".split())


def emails(n, r, with_null=False):
    texts, labels = [], []
    for _ in range(n):
        k = int(r.integers(4, 12))
        words = [WORDS[int(i)] for i in r.integers(0, len(WORDS), k)]
        spam = sum(w in SPAM for w in words)
        texts.append(" ".join(w.upper() if r.random() < 0.2 else w for w in words) + ("!" if r.random() < 0.3 else ""))
        labels.append(1.0 if spam >= 2 else 0.0)
    return texts, labels


CITIES = ["paris", "london", "berlin", "rome", "madrid"]
DEVICES = ["ios", "android", "web"]


def mixed(n, r, unseen=False, nulls=False):
    city = [CITIES[int(i)] for i in r.integers(0, len(CITIES), n)]
    device = [DEVICES[int(i)] for i in r.integers(0, len(DEVICES), n)]
    amount = [float(round(x, 3)) for x in r.gamma(2.0, 50.0, n)]
    age = [float(int(x)) for x in r.integers(18, 80, n)]
    score = [float(x) for x in r.normal(0.0, 1.0, n)]
    if unseen:
        for i in range(0, n, 7):
            city[i] = "tokyo"
        for i in range(3, n, 11):
            device[i] = "tv"
    if nulls:
        for i in range(2, n, 9):
            city[i] = None
        for i in range(5, n, 13):
            amount[i] = None
        for i in range(4, n, 10):
            age[i] = float("nan")
    label3 = []
    label2 = []
    for c, d, a, g, s in zip(city, device, amount, age, score):
        a = a or 0.0
        z = (0.01 * a) + (0.5 if c in ("paris", "rome") else -0.3) + (0.4 if d == "ios" else 0.0) + s
        label2.append(1.0 if z > 1.2 else 0.0)
        label3.append(0.0 if z < 0.6 else (1.0 if z < 1.6 else 2.0))
    return dict(city=city, device=device, amount=amount, age=age, score=score, label2=label2, label3=label3)


def cols(d, **kinds):
    return {k: (kinds.get(k, "f64" if k not in ("city", "device", "text") else "str"), v) for k, v in d.items()}


def with_id(d):
    n = len(next(iter(d.values()))[1])
    return {"id": ("i64", list(range(n))), **d}


# ---------------------------------------------------------------------------------------------
# cases


def case_text_lr():
    r = np.random.default_rng(1)
    texts, labels = emails(300, r)
    train, _ = frame({"text": ("str", texts), "label": ("f64", labels)})
    stages = [
        F.Tokenizer(inputCol="text", outputCol="words"),
        F.StopWordsRemover(inputCol="words", outputCol="filtered"),
        F.HashingTF(inputCol="filtered", outputCol="tf", numFeatures=64),
        F.IDF(inputCol="tf", outputCol="tfidf", minDocFreq=1),
        C.LogisticRegression(featuresCol="tfidf", labelCol="label", maxIter=50, regParam=0.01),
    ]
    model = Pipeline(stages=stages).fit(train)
    t, _ = emails(60, np.random.default_rng(2))
    t[3] = ""
    t[4] = "Free FREE money, now!  click"
    save_case("text_lr", "Tokenizer -> StopWordsRemover -> HashingTF -> IDF -> binomial LogisticRegression (email spam)",
              model, with_id({"text": ("str", t)}), **EXACT)


def mixed_features(handle="keep"):
    return [
        F.StringIndexer(inputCols=["city", "device"], outputCols=["city_idx", "device_idx"], handleInvalid=handle),
        F.OneHotEncoder(inputCols=["city_idx", "device_idx"], outputCols=["city_oh", "device_oh"], handleInvalid="keep" if handle == "keep" else "error"),
        F.VectorAssembler(inputCols=["city_oh", "device_oh", "amount", "age", "score"], outputCol="features", handleInvalid=handle),
    ]


def case_mixed_rf():
    d = mixed(400, np.random.default_rng(3))
    train, _ = frame(cols(d))
    rf = C.RandomForestClassifier(featuresCol="features", labelCol="label3", numTrees=12, maxDepth=5, seed=7)
    model = Pipeline(stages=mixed_features() + [rf]).fit(train)
    t = mixed(80, np.random.default_rng(4), unseen=True)
    del t["label2"], t["label3"]
    save_case("mixed_rf", "StringIndexer(multi, keep) + OneHotEncoder + VectorAssembler + 3-class RandomForestClassifier; unseen labels",
              model, with_id(cols(t)), **EXACT)


def case_mixed_gbt():
    d = mixed(400, np.random.default_rng(5))
    train, _ = frame(cols(d))
    gbt = C.GBTClassifier(featuresCol="features", labelCol="label2", maxIter=15, maxDepth=3, seed=7)
    model = Pipeline(stages=mixed_features() + [gbt]).fit(train)
    t = mixed(80, np.random.default_rng(6), unseen=True)
    del t["label2"], t["label3"]
    save_case("mixed_gbt", "StringIndexer(multi, keep) + OneHotEncoder + VectorAssembler + GBTClassifier; unseen labels",
              model, with_id(cols(t)), **GBT)


def case_categorical_trees():
    # Indexed strings assembled without one-hot: Spark's trees get categorical splits.
    d = mixed(400, np.random.default_rng(7))
    train, _ = frame(cols(d))
    stages = [
        F.StringIndexer(inputCols=["city", "device"], outputCols=["city_idx", "device_idx"], handleInvalid="keep"),
        F.VectorAssembler(inputCols=["city_idx", "device_idx", "amount", "age", "score"], outputCol="features"),
        C.DecisionTreeClassifier(featuresCol="features", labelCol="label3", maxDepth=5, predictionCol="dt_pred",
                                 rawPredictionCol="dt_raw", probabilityCol="dt_prob", seed=1),
        R.DecisionTreeRegressor(featuresCol="features", labelCol="amount", maxDepth=5, predictionCol="dtr_pred", seed=1),
        R.RandomForestRegressor(featuresCol="features", labelCol="score", numTrees=8, maxDepth=4, predictionCol="rfr_pred", seed=3),
        R.GBTRegressor(featuresCol="features", labelCol="score", maxIter=10, maxDepth=3, predictionCol="gbtr_pred", seed=3),
    ]
    model = Pipeline(stages=stages).fit(train)
    t = mixed(80, np.random.default_rng(8), unseen=True)
    del t["label2"], t["label3"]
    save_case("trees_categorical", "StringIndexer + VectorAssembler (categorical features) + DecisionTree classifier/regressor, RandomForestRegressor, GBTRegressor",
              model, with_id(cols(t)), **GBT)


def case_skip_nulls():
    d = mixed(300, np.random.default_rng(9))
    train, _ = frame(cols(d))
    stages = mixed_features("skip") + [C.LogisticRegression(featuresCol="features", labelCol="label3", maxIter=30, regParam=0.05)]
    model = Pipeline(stages=stages).fit(train)
    t = mixed(90, np.random.default_rng(10), unseen=True, nulls=True)
    del t["label2"], t["label3"]
    save_case("skip_unseen_nulls", "handleInvalid=skip (StringIndexer, VectorAssembler) with unseen labels, null strings, null and NaN numbers; multinomial LogisticRegression",
              model, with_id(cols(t)), **BLAS)


def case_keep_nulls():
    d = mixed(300, np.random.default_rng(11))
    train, _ = frame(cols(d))
    stages = [
        F.StringIndexer(inputCol="city", outputCol="city_idx", handleInvalid="keep", stringOrderType="alphabetAsc"),
        F.StringIndexer(inputCol="device", outputCol="device_idx", handleInvalid="keep"),
        F.OneHotEncoder(inputCols=["city_idx", "device_idx"], outputCols=["city_oh", "device_oh"], dropLast=False),
        F.VectorAssembler(inputCols=["city_oh", "device_oh", "amount", "age"], outputCol="features", handleInvalid="keep"),
        C.LogisticRegression(featuresCol="features", labelCol="label2", maxIter=30, regParam=0.01, threshold=0.3),
    ]
    model = Pipeline(stages=stages).fit(train)
    t = mixed(90, np.random.default_rng(12), unseen=True, nulls=True)
    del t["label2"], t["label3"]
    save_case("keep_unseen_nulls", "handleInvalid=keep (StringIndexer single-column, VectorAssembler) with unseen labels and nulls; OneHot dropLast=false; binomial LR threshold 0.3",
              model, with_id(cols(t)), **EXACT)


def numeric_data(n, r):
    x = r.normal(0.0, 1.0, (n, 4)) * [1.0, 3.0, 0.5, 10.0] + [0.0, 5.0, -1.0, 20.0]
    y = x @ [1.5, -0.7, 2.0, 0.1] + r.normal(0, 0.3, n)
    return {
        "x0": [float(v) for v in x[:, 0]],
        "x1": [float(v) for v in x[:, 1]],
        "x2": [float(v) for v in x[:, 2]],
        "x3": [float(v) for v in x[:, 3]],
        "y": [float(v) for v in y],
        "yb": [1.0 if v > np.median(y) else 0.0 for v in y],
        "ycount": [float(r.poisson(np.exp(0.1 * v[0] + 0.5))) for v in x],
        "ypos": [float(np.exp(0.2 * v[0]) + 0.1) for v in x],
        "y3": [float(0 if v[0] < -0.5 else (1 if v[0] < 0.5 else 2)) for v in x],
    }


NUM = ["x0", "x1", "x2", "x3"]


def num_cols(d):
    return {k: ("f64", v) for k, v in d.items()}


def strip_labels(d):
    return {k: v for k, v in d.items() if k in NUM}


def case_scalers():
    d = numeric_data(200, np.random.default_rng(13))
    train, _ = frame(num_cols(d))
    stages = [
        F.VectorAssembler(inputCols=NUM, outputCol="raw"),
        F.StandardScaler(inputCol="raw", outputCol="std", withMean=True, withStd=True),
        F.StandardScaler(inputCol="raw", outputCol="std_only"),
        F.MinMaxScaler(inputCol="raw", outputCol="minmax", min=-1.0, max=2.0),
        F.MaxAbsScaler(inputCol="raw", outputCol="maxabs"),
        F.Normalizer(inputCol="raw", outputCol="l2"),
        F.Normalizer(inputCol="raw", outputCol="l1", p=1.0),
        F.Normalizer(inputCol="raw", outputCol="linf", p=float("inf")),
        F.ElementwiseProduct(inputCol="std", outputCol="weighted", scalingVec=[0.5, -1.0, 2.0, 0.0]),
        F.VectorSlicer(inputCol="weighted", outputCol="sliced", indices=[0, 2]),
        R.LinearRegression(featuresCol="std", labelCol="y", predictionCol="lin_pred", regParam=0.01),
    ]
    model = Pipeline(stages=stages).fit(train)
    t = strip_labels(numeric_data(50, np.random.default_rng(14)))
    save_case("scalers_linear", "VectorAssembler + StandardScaler (two configs), MinMaxScaler, MaxAbsScaler, Normalizer (p=2, 1, inf), ElementwiseProduct, VectorSlicer, LinearRegression",
              model, with_id(num_cols(t)), **EXACT)


def case_imputer_buckets():
    r = np.random.default_rng(15)
    d = numeric_data(200, r)
    for i in range(0, 200, 9):
        d["x0"][i] = None
    for i in range(1, 200, 7):
        d["x1"][i] = float("nan")
    train, _ = frame(num_cols(d))
    stages = [
        F.Imputer(inputCols=["x0", "x1"], outputCols=["x0_imp", "x1_imp"], strategy="median"),
        F.Imputer(inputCol="x2", outputCol="x2_imp", strategy="mean", missingValue=-1.0),
        F.Bucketizer(inputCol="x3", outputCol="x3_bucket", splits=[-float("inf"), 10.0, 20.0, 30.0, float("inf")]),
        F.Bucketizer(inputCols=["x0", "x1"], outputCols=["x0_bucket", "x1_bucket"],
                     splitsArray=[[-float("inf"), -1.0, 0.0, 1.0, float("inf")], [-float("inf"), 0.0, 5.0, float("inf")]], handleInvalid="keep"),
        F.Binarizer(inputCol="x2_imp", outputCol="x2_bin", threshold=-1.0),
        F.Binarizer(inputCols=["x0_imp", "x3"], outputCols=["x0_bin", "x3_bin"], thresholds=[0.0, 20.0]),
        F.VectorAssembler(inputCols=["x0_imp", "x1_imp", "x2_imp", "x3_bucket", "x0_bucket", "x1_bucket"], outputCol="features", handleInvalid="keep"),
        F.Binarizer(inputCol="features", outputCol="features_bin", threshold=1.0),
        F.VectorAssembler(inputCols=["x0_imp", "x1_imp", "x2_imp", "x3_bucket"], outputCol="svc_features"),
        C.LinearSVC(featuresCol="svc_features", labelCol="yb", maxIter=30, regParam=0.01, predictionCol="svc_pred", rawPredictionCol="svc_raw"),
    ]
    model = Pipeline(stages=stages).fit(train)
    t = strip_labels(numeric_data(60, np.random.default_rng(16)))
    for i in range(0, 60, 5):
        t["x0"][i] = None
    for i in range(2, 60, 6):
        t["x1"][i] = float("nan")
    for i in range(3, 60, 8):
        t["x2"][i] = -1.0
    save_case("imputer_bucketizer_binarizer", "Imputer (multi median, single mean with missingValue=-1), Bucketizer (single, multi keep), Binarizer (scalar, multi, vector), LinearSVC",
              model, with_id(num_cols(t)), **EXACT)


def case_text_nb():
    r = np.random.default_rng(17)
    texts, labels = emails(300, r)
    train, _ = frame({"text": ("str", texts), "label": ("f64", labels)})
    stages = [
        F.RegexTokenizer(inputCol="text", outputCol="tokens", pattern="\\w+", gaps=False, minTokenLength=2),
        F.NGram(inputCol="tokens", outputCol="bigrams", n=2),
        F.CountVectorizer(inputCol="tokens", outputCol="counts", vocabSize=40, minDF=2.0),
        F.CountVectorizer(inputCol="bigrams", outputCol="bigram_presence", vocabSize=30, binary=True),
        F.HashingTF(inputCol="tokens", outputCol="hashed_binary", numFeatures=32, binary=True),
        F.StopWordsRemover(inputCol="tokens", outputCol="kept", stopWords=["the", "A", "to"], caseSensitive=True),
        C.NaiveBayes(featuresCol="counts", labelCol="label", modelType="multinomial", smoothing=1.0,
                     predictionCol="nb_pred", rawPredictionCol="nb_raw", probabilityCol="nb_prob"),
        C.NaiveBayes(featuresCol="counts", labelCol="label", modelType="complement",
                     predictionCol="cnb_pred", rawPredictionCol="cnb_raw", probabilityCol="cnb_prob"),
        C.NaiveBayes(featuresCol="bigram_presence", labelCol="label", modelType="bernoulli",
                     predictionCol="bnb_pred", rawPredictionCol="bnb_raw", probabilityCol="bnb_prob"),
    ]
    model = Pipeline(stages=stages).fit(train)
    t, _ = emails(50, np.random.default_rng(18))
    save_case("text_countvec_naive_bayes", "RegexTokenizer + NGram + CountVectorizer (counts, binary) + HashingTF binary + StopWordsRemover (custom, case-sensitive) + NaiveBayes multinomial/complement/bernoulli",
              model, with_id({"text": ("str", t)}), **BLAS)


def case_glr():
    d = numeric_data(300, np.random.default_rng(19))
    train, _ = frame(num_cols(d))
    a = F.VectorAssembler(inputCols=NUM, outputCol="features")
    glrs = [
        R.GeneralizedLinearRegression(family="gaussian", labelCol="y", predictionCol="gauss", linkPredictionCol="gauss_link"),
        R.GeneralizedLinearRegression(family="gaussian", link="log", labelCol="ypos", predictionCol="gauss_log"),
        R.GeneralizedLinearRegression(family="poisson", labelCol="ycount", predictionCol="poisson"),
        R.GeneralizedLinearRegression(family="poisson", link="sqrt", labelCol="ycount", predictionCol="poisson_sqrt"),
        R.GeneralizedLinearRegression(family="binomial", labelCol="yb", predictionCol="binom", linkPredictionCol="binom_link"),
        R.GeneralizedLinearRegression(family="binomial", link="probit", labelCol="yb", predictionCol="binom_probit"),
        R.GeneralizedLinearRegression(family="binomial", link="cloglog", labelCol="yb", predictionCol="binom_cloglog"),
        R.GeneralizedLinearRegression(family="gamma", labelCol="ypos", predictionCol="gamma_inv"),
        R.GeneralizedLinearRegression(family="gamma", link="log", labelCol="ypos", predictionCol="gamma_log"),
        R.GeneralizedLinearRegression(family="tweedie", variancePower=1.5, labelCol="ycount", predictionCol="tweedie"),
        R.GeneralizedLinearRegression(family="tweedie", variancePower=1.2, linkPower=0.0, labelCol="ycount", predictionCol="tweedie_log"),
    ]
    model = Pipeline(stages=[a] + glrs).fit(train)
    t = strip_labels(numeric_data(40, np.random.default_rng(20)))
    save_case("glr_families", "GeneralizedLinearRegression: gaussian (identity, log), poisson (log, sqrt), binomial (logit, probit, cloglog), gamma (inverse, log), tweedie (power, log)",
              model, with_id(num_cols(t)), **dict(BLAS, notes=["probit uses breeze's erfc, scorewell libm's erfc: a few ulps apart", "binomial means are clipped into [1e-16, 1 - 1e-16] (Family.project)"]))


def case_multiclass_models():
    d = numeric_data(300, np.random.default_rng(21))
    train, _ = frame(num_cols(d))
    stages = [
        F.VectorAssembler(inputCols=NUM, outputCol="features"),
        F.StandardScaler(inputCol="features", outputCol="scaled", withMean=True),
        C.LogisticRegression(featuresCol="scaled", labelCol="y3", maxIter=50, regParam=0.01, thresholds=[0.5, 0.2, 0.3],
                             predictionCol="lr_pred", rawPredictionCol="lr_raw", probabilityCol="lr_prob"),
        C.MultilayerPerceptronClassifier(featuresCol="scaled", labelCol="y3", layers=[4, 6, 5, 3], maxIter=60, seed=5,
                                         predictionCol="mlp_pred", rawPredictionCol="mlp_raw", probabilityCol="mlp_prob"),
        C.NaiveBayes(featuresCol="features", labelCol="y3", modelType="gaussian",
                     predictionCol="gnb_pred", rawPredictionCol="gnb_raw", probabilityCol="gnb_prob"),
        KMeans(featuresCol="scaled", k=4, seed=3, predictionCol="cluster"),
        KMeans(featuresCol="features", k=3, seed=3, distanceMeasure="cosine", predictionCol="cluster_cos"),
        C.RandomForestClassifier(featuresCol="features", labelCol="y3", numTrees=6, maxDepth=4, seed=2,
                                 predictionCol="rf_pred", rawPredictionCol="rf_raw", probabilityCol="rf_prob"),
    ]
    model = Pipeline(stages=stages).fit(train)
    t = strip_labels(numeric_data(50, np.random.default_rng(22)))
    save_case("multiclass_models", "multinomial LogisticRegression with thresholds, MultilayerPerceptronClassifier, NaiveBayes gaussian, KMeans (euclidean, cosine), RandomForestClassifier",
              model, with_id(num_cols(t)), **BLAS)


def case_index_to_string_nested():
    d = mixed(300, np.random.default_rng(23))
    d["outcome"] = [["low", "mid", "high"][int(v)] for v in d["label3"]]
    train, _ = frame(cols(d, outcome="str"))
    inner = Pipeline(stages=[
        F.StringIndexer(inputCol="city", outputCol="city_idx", handleInvalid="keep"),
        F.StringIndexer(inputCol="outcome", outputCol="label"),
    ])
    features = F.VectorAssembler(inputCols=["city_idx", "amount", "score"], outputCol="features")
    lr = C.LogisticRegression(featuresCol="features", labelCol="label", maxIter=30)
    inner_model = inner.fit(train)
    labels = inner_model.stages[1].labels
    outer = Pipeline(stages=[inner_model, features, lr,
                             F.IndexToString(inputCol="prediction", outputCol="predicted_outcome", labels=labels)])
    model = outer.fit(train)
    t = mixed(40, np.random.default_rng(24), unseen=True)
    t["outcome"] = ["low"] * 40
    del t["label2"], t["label3"], t["device"], t["age"]
    save_case("nested_pipeline_index_to_string", "a PipelineModel nested inside a PipelineModel; IndexToString with labels",
              model, with_id(cols(t, outcome="str")), **BLAS)


def case_single_stage():
    train, _ = frame({"id": ("i64", [0]), "x0": ("f64", [1.0])})
    b = F.Bucketizer(inputCol="x0", outputCol="bucket", splits=[-float("inf"), -1.0, 0.0, 1.0, float("inf")], handleInvalid="keep")
    t = strip_labels(numeric_data(20, np.random.default_rng(25)))
    t["x0"][3] = float("nan")
    t["x0"][4] = None
    save_case("single_bucketizer", "a single transformer saved on its own (Bucketizer, not in a PipelineModel)",
              b, with_id(num_cols(t)), **EXACT)


def case_string_numeric_indexer():
    r = np.random.default_rng(26)
    n = 200
    codes = [float(v) for v in r.integers(0, 5, n)]
    train, _ = frame({"code": ("f64", codes), "word": ("str", [["x", "y", "z"][int(v) % 3] for v in codes])})
    stages = [
        F.StringIndexer(inputCol="code", outputCol="code_idx", handleInvalid="keep", stringOrderType="alphabetDesc"),
        F.StringIndexer(inputCol="word", outputCol="word_idx", stringOrderType="frequencyAsc"),
        F.IndexToString(inputCol="word_idx", outputCol="word_back"),
    ]
    model = Pipeline(stages=stages).fit(train)
    tc = [0.0, 1.0, 2.0, 3.0, 4.0, 7.0, 1.5, 2.0]
    save_case("string_indexer_numeric_input", "StringIndexer on a double column (values cast to strings), order types; IndexToString reading labels from the upstream indexer's metadata",
              model, with_id({"code": ("f64", tc), "word": ("str", ["x", "y", "z", "x", "y", "z", "x", "y"])}), **EXACT)


def numeric_models_data(seed, n):
    d = numeric_data(n, np.random.default_rng(seed))
    train, _ = frame(num_cols(d))
    return train


def case_label_indexer_absent():
    # The usual pattern: the label's StringIndexer is inside the PipelineModel, which is then
    # scored on rows without the label: Spark skips that indexer (no `label` column).
    d = mixed(300, np.random.default_rng(27))
    d["outcome"] = [["low", "mid", "high"][int(v)] for v in d["label3"]]
    train, _ = frame(cols(d, outcome="str"))
    stages = [
        F.StringIndexer(inputCols=["city", "device"], outputCols=["city_idx", "device_idx"], handleInvalid="keep"),
        F.StringIndexer(inputCol="outcome", outputCol="label"),
        F.StringIndexer(inputCols=["device", "outcome"], outputCols=["device_idx2", "label_keep"], handleInvalid="keep"),
        F.OneHotEncoder(inputCols=["city_idx", "device_idx"], outputCols=["city_oh", "device_oh"]),
        F.VectorAssembler(inputCols=["city_oh", "device_oh", "amount", "score"], outputCol="features"),
        C.RandomForestClassifier(featuresCol="features", labelCol="label", numTrees=5, maxDepth=4, seed=1),
    ]
    fitted = Pipeline(stages=stages).fit(train)
    labels = fitted.stages[1].labels
    model = PipelineModel(stages=fitted.stages + [
        F.IndexToString(inputCol="prediction", outputCol="predicted_outcome", labels=labels)])
    t = mixed(50, np.random.default_rng(28), unseen=True)
    del t["label2"], t["label3"]
    save_case("label_indexer_absent", "a label StringIndexer (single and multi-column) inside the PipelineModel, scored on rows without the label: Spark skips it; IndexToString on the prediction",
              model, with_id(cols(t)), **EXACT)


def case_glr_tweedie_offset():
    r = np.random.default_rng(29)
    d = numeric_data(300, r)
    d["off"] = [float(v) for v in r.uniform(-0.5, 0.5, 300)]
    train, _ = frame(num_cols(d))
    a = F.VectorAssembler(inputCols=NUM, outputCol="features")
    glrs = [
        # variancePower 0, 1, 2 are the Gaussian, Poisson and gamma families (Family.fromParams).
        R.GeneralizedLinearRegression(family="tweedie", variancePower=0.0, labelCol="y", predictionCol="tw0", linkPredictionCol="tw0_link"),
        R.GeneralizedLinearRegression(family="tweedie", variancePower=0.0, linkPower=1.0, labelCol="y", predictionCol="tw0_identity"),
        R.GeneralizedLinearRegression(family="tweedie", variancePower=1.0, labelCol="ycount", predictionCol="tw1"),
        R.GeneralizedLinearRegression(family="tweedie", variancePower=2.0, linkPower=0.0, labelCol="ypos", predictionCol="tw2_log"),
        R.GeneralizedLinearRegression(family="tweedie", variancePower=2.0, labelCol="ypos", predictionCol="tw2"),
        R.GeneralizedLinearRegression(family="poisson", offsetCol="off", labelCol="ycount", predictionCol="poisson_off", linkPredictionCol="poisson_off_link"),
        R.GeneralizedLinearRegression(family="gaussian", offsetCol="off", labelCol="y", predictionCol="gauss_off"),
        R.GeneralizedLinearRegression(family="tweedie", variancePower=1.5, offsetCol="off", labelCol="ycount", predictionCol="tw15_off"),
    ]
    model = Pipeline(stages=[a] + glrs).fit(train)
    r2 = np.random.default_rng(30)
    t = strip_labels(numeric_data(40, r2))
    t["off"] = [None if i % 9 == 4 else float(v) for i, v in enumerate(r2.uniform(-1.0, 1.0, 40))]
    # Far-out rows push the identity-link predictions below zero, where only a positive family clips.
    t["x1"][3] = 60.0
    t["x0"][7] = -40.0
    save_case("glr_tweedie_offset", "GeneralizedLinearRegression tweedie with variancePower 0, 1, 2 (Gaussian, Poisson, gamma families), offsetCol with nulls",
              model, with_id(num_cols(t)), **BLAS)


def case_classifier_thresholds():
    d = numeric_data(300, np.random.default_rng(31))
    train, _ = frame(num_cols(d))
    a = F.VectorAssembler(inputCols=NUM, outputCol="features")
    feats = a.transform(train)
    fit = lambda est: est.fit(feats)  # noqa: E731
    gbt = fit(C.GBTClassifier(labelCol="yb", maxIter=8, maxDepth=3, seed=2))
    gbt.setThresholds([0.7, 0.3]).setRawPredictionCol("gbt_raw").setProbabilityCol("gbt_prob").setPredictionCol("gbt_pred")
    gbt_f = fit(C.GBTClassifier(labelCol="yb", maxIter=8, maxDepth=3, seed=2))
    gbt_f.setThresholds([0.4, 0.6]).setRawPredictionCol("").setProbabilityCol("").setPredictionCol("gbt_f_pred")
    dt = fit(C.DecisionTreeClassifier(labelCol="y3", maxDepth=4, seed=3))
    dt.setThresholds([0.2, 0.5, 0.3]).setRawPredictionCol("dt_raw").setProbabilityCol("dt_prob").setPredictionCol("dt_pred")
    dt_f = fit(C.DecisionTreeClassifier(labelCol="y3", maxDepth=4, seed=3))
    dt_f.setThresholds([0.1, 0.8, 0.1]).setRawPredictionCol("").setProbabilityCol("").setPredictionCol("dt_f_pred")
    rf = fit(C.RandomForestClassifier(labelCol="y3", numTrees=6, maxDepth=3, seed=4))
    rf.setThresholds([0.5, 0.2, 0.3]).setRawPredictionCol("rf_raw").setProbabilityCol("").setPredictionCol("rf_pred")
    # Strong regularisation keeps binomial probabilities near the thresholds.
    lr = fit(C.LogisticRegression(labelCol="yb", maxIter=30, regParam=0.3))
    lr.setThresholds([0.4, 0.6]).setRawPredictionCol("lr_raw").setProbabilityCol("lr_prob").setPredictionCol("lr_pred")
    lr_p = fit(C.LogisticRegression(labelCol="yb", maxIter=30, regParam=0.3))
    lr_p.setThreshold(0.45).setRawPredictionCol("").setProbabilityCol("lr_p_prob").setPredictionCol("lr_p_pred")
    lr_f = fit(C.LogisticRegression(labelCol="yb", maxIter=30, regParam=0.3))
    lr_f.setThreshold(0.35).setRawPredictionCol("").setProbabilityCol("").setPredictionCol("lr_f_pred")
    lr_0 = fit(C.LogisticRegression(labelCol="yb", maxIter=30, regParam=0.3))
    lr_0.setThreshold(0.0).setRawPredictionCol("lr0_raw").setProbabilityCol("").setPredictionCol("lr0_pred")
    lr_1 = fit(C.LogisticRegression(labelCol="yb", maxIter=30, regParam=0.3))
    lr_1.setThreshold(1.0).setRawPredictionCol("lr1_raw").setProbabilityCol("").setPredictionCol("lr1_pred")
    mlr = fit(C.LogisticRegression(labelCol="y3", maxIter=30, regParam=0.01))
    mlr.setThresholds([0.3, 0.5, 0.2]).setRawPredictionCol("").setProbabilityCol("mlr_prob").setPredictionCol("mlr_pred")
    mlp = fit(C.MultilayerPerceptronClassifier(labelCol="y3", layers=[4, 5, 3], maxIter=40, seed=5))
    mlp.setThresholds([0.1, 0.1, 0.8]).setRawPredictionCol("").setProbabilityCol("").setPredictionCol("mlp_f_pred")
    nb = fit(C.NaiveBayes(labelCol="y3", modelType="gaussian"))
    nb.setThresholds([0.6, 0.2, 0.2]).setRawPredictionCol("nb_raw").setProbabilityCol("nb_prob").setPredictionCol("nb_pred")
    svc = fit(C.LinearSVC(labelCol="yb", maxIter=30, regParam=0.01))
    svc.setThreshold(0.3).setRawPredictionCol("").setPredictionCol("svc_f_pred")
    model = PipelineModel(stages=[a, gbt, gbt_f, dt, dt_f, rf, lr, lr_p, lr_f, lr_0, lr_1, mlr, mlp, nb, svc])
    t = strip_labels(numeric_data(60, np.random.default_rng(32)))
    save_case("classifier_thresholds", "classifier predictions as Spark decides them: thresholds (GBT, DT, RF, LR binomial and multinomial, MLP, NaiveBayes), from rawPrediction, from probability, or through predict() when neither is written; LR threshold 0 and 1",
              model, with_id(num_cols(t)), **BLAS)


def case_tree_leaf_variance():
    d = numeric_data(300, np.random.default_rng(33))
    train, _ = frame(num_cols(d))
    stages = [
        F.VectorAssembler(inputCols=NUM, outputCol="features"),
        C.DecisionTreeClassifier(labelCol="y3", maxDepth=4, seed=1, leafCol="dtc_leaf",
                                 rawPredictionCol="dtc_raw", probabilityCol="dtc_prob", predictionCol="dtc_pred"),
        R.DecisionTreeRegressor(labelCol="y", maxDepth=4, seed=1, varianceCol="dtr_var", leafCol="dtr_leaf", predictionCol="dtr_pred"),
        R.DecisionTreeRegressor(labelCol="y", maxDepth=3, seed=1, varianceCol="dtr_var_only", predictionCol="dtr_pred2"),
        C.RandomForestClassifier(labelCol="y3", numTrees=4, maxDepth=3, seed=2, leafCol="rfc_leaf",
                                 rawPredictionCol="rfc_raw", probabilityCol="rfc_prob", predictionCol="rfc_pred"),
        R.RandomForestRegressor(labelCol="y", numTrees=3, maxDepth=3, seed=2, leafCol="rfr_leaf", predictionCol="rfr_pred"),
        # PySpark's GBTClassifier takes no rawPredictionCol/probabilityCol: the defaults.
        C.GBTClassifier(labelCol="yb", maxIter=4, maxDepth=3, seed=3, leafCol="gbtc_leaf", predictionCol="gbtc_pred"),
        R.GBTRegressor(labelCol="y", maxIter=4, maxDepth=3, seed=3, leafCol="gbtr_leaf", predictionCol="gbtr_pred"),
    ]
    model = Pipeline(stages=stages).fit(train)
    t = strip_labels(numeric_data(40, np.random.default_rng(34)))
    save_case("tree_leaf_variance", "leafCol of every tree model (a double for one tree, a vector for ensembles) and DecisionTreeRegressor varianceCol",
              model, with_id(num_cols(t)), **GBT)


def case_categorical_non_integer():
    # Trees trained on indexed categories, then scored on raw index columns holding values that
    # are no category (1.5, -1, 7, NaN): Spark looks the double up in a Set[Double].
    d = mixed(400, np.random.default_rng(35))
    train, _ = frame(cols(d))
    assembler = F.VectorAssembler(inputCols=["city_idx", "device_idx", "amount", "score"], outputCol="features", handleInvalid="keep")
    stages = [
        F.StringIndexer(inputCols=["city", "device"], outputCols=["city_idx", "device_idx"]),
        assembler,
        C.DecisionTreeClassifier(labelCol="label3", maxDepth=5, seed=1, predictionCol="dt_pred",
                                 rawPredictionCol="dt_raw", probabilityCol="dt_prob"),
        R.RandomForestRegressor(labelCol="score", numTrees=6, maxDepth=4, seed=3, predictionCol="rf_pred"),
        C.GBTClassifier(labelCol="label2", maxIter=6, maxDepth=3, seed=2, predictionCol="gbt_pred"),
    ]
    fitted = Pipeline(stages=stages).fit(train)
    model = PipelineModel(stages=fitted.stages[1:])
    r = np.random.default_rng(36)
    n = 60
    odd_city = [0.0, 1.0, 2.0, 3.0, 4.0, 1.5, 2.5, 0.5, -1.0, 7.0, 5.0, float("nan"), -0.0, 3.0000001]
    odd_device = [0.0, 1.0, 2.0, 0.5, 1.5, -1.0, 3.0, float("nan"), -0.0]
    t = {
        "city_idx": [odd_city[i % len(odd_city)] for i in range(n)],
        "device_idx": [odd_device[(i * 5) % len(odd_device)] for i in range(n)],
        "amount": [float(round(x, 3)) for x in r.gamma(2.0, 50.0, n)],
        "score": [float(x) for x in r.normal(0.0, 1.0, n)],
    }
    save_case("categorical_non_integer", "trees with categorical splits scored on category values that are not categories (1.5, -1, 7, NaN, -0.0): Spark's Set[Double] lookup, left or right by which side Spark stores",
              model, with_id(num_cols(t)), **GBT)


def case_regex_posix():
    stages = [
        F.RegexTokenizer(inputCol="text", outputCol="punct_split", pattern="[\\p{Punct}\\s]+"),
        F.RegexTokenizer(inputCol="text", outputCol="alpha", pattern="\\p{Alpha}+", gaps=False),
        F.RegexTokenizer(inputCol="text", outputCol="alnum", pattern="\\p{Alnum}+", gaps=False, toLowercase=False),
        F.RegexTokenizer(inputCol="text", outputCol="upper", pattern="\\p{Upper}\\p{Lower}*", gaps=False, toLowercase=False),
        F.RegexTokenizer(inputCol="text", outputCol="digits", pattern="0x\\p{XDigit}+|\\p{Digit}+", gaps=False, toLowercase=False),
        F.RegexTokenizer(inputCol="text", outputCol="not_graph", pattern="\\P{Graph}+"),
        F.RegexTokenizer(inputCol="text", outputCol="blank", pattern="\\p{Blank}+", toLowercase=False),
        F.RegexTokenizer(inputCol="text", outputCol="space_cntrl", pattern="[\\p{Space}\\p{Cntrl}]+", toLowercase=False),
        F.RegexTokenizer(inputCol="text", outputCol="printable", pattern="\\p{Print}+", gaps=False, toLowercase=False),
        F.RegexTokenizer(inputCol="text", outputCol="not_punct", pattern="[^\\p{Punct}]+", gaps=False, toLowercase=False),
    ]
    model = PipelineModel(stages=stages)
    texts = [
        "Hello, World! It's 2024.", "café—naïve «quoted» text…", "tabs\tand\nnewlines\x0bvt\x07bell",
        "ÀÉÎ ÕÜ çà ß", "", "ABC-def_GHI 0x1F2e ff", "snake_case & kebab-case (x+y)/z", "emoji 😀 ok",
        "a\u00a0b\u2003c", "Ünïcödé DIGITS ٣٤ 12", "$100.00 [a] {b} |c| ~d~ `e` @f #g",
    ]
    save_case("regex_posix", "RegexTokenizer with java.util.regex POSIX classes (Punct, Alpha, Alnum, Upper, Lower, Digit, XDigit, Graph, Blank, Space, Cntrl, Print), which are ASCII-only in Java",
              model, with_id({"text": ("str", texts)}), **EXACT)


def case_imputer_types():
    r = np.random.default_rng(37)
    n = 120
    i = [None if k % 7 == 3 else int(v) for k, v in enumerate(r.integers(-50, 50, n))]
    big = [None if k % 5 == 1 else int(v) for k, v in enumerate(r.integers(0, 1000, n))]
    f = [None if k % 6 == 2 else float(np.float32(v)) for k, v in enumerate(r.normal(3.0, 2.0, n))]
    x = [None if k % 8 == 0 else float(v) for k, v in enumerate(r.normal(0.0, 1.0, n))]
    train, _ = frame({"i": ("i32", i), "big": ("i64", big), "f": ("f32", f), "x": ("f64", x)})
    stages = [
        F.Imputer(inputCols=["i", "big", "f", "x"], outputCols=["i_mean", "big_mean", "f_mean", "x_mean"], strategy="mean"),
        F.Imputer(inputCols=["i", "f"], outputCols=["i_median", "f_median"], strategy="median"),
        F.Imputer(inputCol="big", outputCol="big_missing", missingValue=7.0, strategy="mean"),
    ]
    model = Pipeline(stages=stages).fit(train)
    r2 = np.random.default_rng(38)
    m = 30
    ti = [None if k % 4 == 0 else int(v) for k, v in enumerate(r2.integers(-50, 50, m))]
    tb = [7 if k % 5 == 2 else (None if k % 6 == 0 else int(v)) for k, v in enumerate(r2.integers(0, 1000, m))]
    tf = [None if k % 3 == 1 else (float("nan") if k % 7 == 5 else float(np.float32(v))) for k, v in enumerate(r2.normal(3.0, 2.0, m))]
    tx = [None if k % 5 == 3 else float(v) for k, v in enumerate(r2.normal(0.0, 1.0, m))]
    save_case("imputer_types", "Imputer on int, long, float and double columns: outputs cast back to the input's type (mean, median, missingValue)",
              model, with_id({"i": ("i32", ti), "big": ("i64", tb), "f": ("f32", tf), "x": ("f64", tx)}), **EXACT)


def case_model_output_vectors():
    r = np.random.default_rng(39)
    d = numeric_data(200, r)
    d["vin"] = [[float(a), float(b), float(c)] for a, b, c in r.uniform(0.0, 1.0, (200, 3))]
    train, _ = frame({**num_cols({k: v for k, v in d.items() if k != "vin"}), "vin": ("vec", d["vin"])})
    stages = [
        F.VectorAssembler(inputCols=NUM, outputCol="features"),
        C.LogisticRegression(labelCol="yb", maxIter=30),
        F.VectorAssembler(inputCols=["probability", "x0", "rawPrediction"], outputCol="stacked", handleInvalid="keep"),
        F.Binarizer(inputCol="probability", outputCol="prob_bin", threshold=0.5),
        F.Binarizer(inputCols=["rawPrediction", "x1"], outputCols=["raw_bin", "x1_bin"], thresholds=[0.0, 5.0]),
        F.Binarizer(inputCol="vin", outputCol="vin_bin", threshold=0.4),
    ]
    model = Pipeline(stages=stages).fit(train)
    r2 = np.random.default_rng(40)
    t = strip_labels(numeric_data(30, r2))
    vin = [[float(a), float(b), float(c)] for a, b, c in r2.uniform(0.0, 1.0, (30, 3))]
    save_case("model_output_vectors", "model outputs as vectors downstream: VectorAssembler(keep) of probability and rawPrediction, Binarizer on them (single and multi-column), Binarizer on a vector pipeline input",
              model, with_id({**num_cols(t), "vin": ("vec", vin)}), **EXACT)


ALL = {f.__name__[5:]: f for f in [
    case_text_lr, case_mixed_rf, case_mixed_gbt, case_categorical_trees, case_skip_nulls, case_keep_nulls,
    case_scalers, case_imputer_buckets, case_text_nb, case_glr, case_multiclass_models,
    case_index_to_string_nested, case_single_stage, case_string_numeric_indexer,
    case_label_indexer_absent, case_glr_tweedie_offset, case_classifier_thresholds, case_tree_leaf_variance,
    case_categorical_non_integer, case_regex_posix, case_imputer_types, case_model_output_vectors,
]}


# ---------------------------------------------------------------------------------------------
# stages added later: feature hashing, vector indexing and projections, selectors, size hints,
# tuning models, isotonic/AFT/FM/one-vs-rest models. Some take vector and boolean input columns.

from pyspark.ml.linalg import DenseVector, SparseVector  # noqa: E402
from pyspark.ml import evaluation as EV  # noqa: E402
from pyspark.ml import clustering as CL  # noqa: E402
from pyspark.ml import tuning as TU  # noqa: E402

VECTOR_ARROW = pa.struct([
    pa.field("type", pa.int8(), False),
    pa.field("size", pa.int32()),
    pa.field("indices", pa.list_(pa.int32())),
    pa.field("values", pa.list_(pa.float64())),
])


def spark_vector(v):
    """None, a list (dense) or (size, {index: value}) (sparse) as a pyspark.ml vector."""
    if v is None:
        return None
    if isinstance(v, tuple):
        return SparseVector(v[0], dict(v[1]))
    return DenseVector(v)


def arrow_vector(v):
    """The same vector in Spark's VectorUDT struct layout."""
    if v is None:
        return None
    if isinstance(v, tuple):
        size, entries = v
        idx = sorted(entries)
        return {"type": 0, "size": size, "indices": idx, "values": [float(entries[i]) for i in idx]}
    return {"type": 1, "size": None, "indices": None, "values": [float(x) for x in v]}


RICH_KINDS = {
    "str": (T.StringType(), pa.string()),
    "f64": (T.DoubleType(), pa.float64()),
    "i32": (T.IntegerType(), pa.int32()),
    "i64": (T.LongType(), pa.int64()),
    "bool": (T.BooleanType(), pa.bool_()),
    "vec": (VectorUDT(), VECTOR_ARROW),
}


def rich_frame(columns: dict):
    """`frame`, plus "bool" columns and "vec" columns (values as `spark_vector` takes them)."""
    n = len(next(iter(columns.values()))[1])
    schema = T.StructType([T.StructField(name, RICH_KINDS[kind][0], True) for name, (kind, _) in columns.items()])
    rows = [tuple(spark_vector(v[i]) if kind == "vec" else v[i] for kind, v in columns.values()) for i in range(n)]
    df = spark.createDataFrame(rows, schema).coalesce(1)
    arrays = {
        name: pa.array([arrow_vector(x) for x in v] if kind == "vec" else v, type=RICH_KINDS[kind][1])
        for name, (kind, v) in columns.items()
    }
    return df, pa.table(arrays)


def case_feature_hasher():
    def data(n, r, nulls):
        d = mixed(n, r, unseen=nulls, nulls=nulls)
        code = [int(v) for v in r.integers(0, 6, n)]
        flag = [bool(v) for v in r.integers(0, 2, n)]
        # Categorical doubles are hashed as Java's Double.toString writes them.
        ratio = [float(v) for v in r.choice([0.5, 1.0, 0.001, 1e10, 1e-5, 123456789.0, -0.0, 2.5e-3, 1e7], n)]
        if nulls:
            for i in range(1, n, 7):
                code[i] = None
            for i in range(2, n, 5):
                flag[i] = None
            for i in range(3, n, 11):
                ratio[i] = None
        return {"city": ("str", d["city"]), "device": ("str", d["device"]), "amount": ("f64", d["amount"]),
                "age": ("f64", d["age"]), "code": ("i64", code), "flag": ("bool", flag), "ratio": ("f64", ratio),
                "label2": ("f64", d["label2"])}
    train, _ = rich_frame(data(300, np.random.default_rng(30), False))
    stages = [
        F.FeatureHasher(inputCols=["city", "device", "amount", "age", "code", "flag", "ratio"], outputCol="hashed",
                        numFeatures=64, categoricalCols=["code", "ratio", "not_an_input"]),
        F.FeatureHasher(inputCols=["city", "amount", "code"], outputCol="hashed_default"),
        C.LogisticRegression(featuresCol="hashed_default", labelCol="label2", maxIter=30, regParam=0.01),
    ]
    model = Pipeline(stages=stages).fit(train)
    t = data(60, np.random.default_rng(31), True)
    del t["label2"]
    save_case("feature_hasher", "FeatureHasher (strings, doubles with NaN, longs and doubles as categories, booleans, nulls; 64 and 2^18 features) + LogisticRegression",
              model, with_id(t), make_frame=rich_frame, **EXACT)


def case_vector_indexer():
    def data(n, r, test):
        x0 = [float(v) for v in r.normal(0, 1, n)]
        x1 = [float(v) for v in r.normal(5, 2, n)]
        cat_a = [float(v) for v in r.integers(0, 3, n)]
        cat_b = [float(v) for v in r.choice([-1.0, 2.5, 10.0], n)]
        y3 = [float((a + (b > 0) + (x > 0)) % 3) for a, b, x in zip(cat_a, cat_b, x0)]
        # v: size 4, features 0 (values 0, 1, 2) and 2 (values 0, 5, 7) categorical.
        v = []
        for i in range(n):
            f0, f2 = float(r.integers(0, 3)), float(r.choice([0.0, 5.0, 7.0]))
            f1, f3 = float(r.normal()), float(r.integers(0, 50))
            dense = [f0, f1, f2, f3]
            v.append(dense if i % 2 else (4, {k: x for k, x in enumerate(dense) if x != 0.0}))
        if test:
            for i in range(0, n, 9):
                cat_a[i] = 7.0       # unseen: keep gives the extra category
            for i in range(4, n, 13):
                cat_b[i] = -0.0       # not a category of cat_b (no zero): keep
            v[5] = [3.0, 0.5, 5.0, 1.0]             # unseen f0 in a dense vector: skip drops the row
            v[6] = (4, {0: 9.0, 1: 2.0})           # unseen f0 stored in a sparse vector: dropped
            v[7] = (4, {1: 2.0, 3: 4.0})           # categorical zeros not stored: kept
            v[8] = [-0.0, 1.0, 7.0, 2.0]            # -0.0 finds category 0.0
            v[10] = (4, {2: 6.0})                   # unseen f2, sparse: dropped
        return {"x0": ("f64", x0), "x1": ("f64", x1), "cat_a": ("f64", cat_a), "cat_b": ("f64", cat_b),
                "v": ("vec", v), "y3": ("f64", y3)}
    train, _ = rich_frame(data(300, np.random.default_rng(32), False))
    stages = [
        F.VectorAssembler(inputCols=["x0", "cat_a", "x1", "cat_b"], outputCol="raw"),
        F.VectorIndexer(inputCol="raw", outputCol="indexed", maxCategories=4, handleInvalid="keep"),
        C.DecisionTreeClassifier(featuresCol="indexed", labelCol="y3", maxDepth=4, seed=1),
        F.VectorIndexer(inputCol="v", outputCol="v_indexed", maxCategories=3, handleInvalid="skip"),
    ]
    model = Pipeline(stages=stages).fit(train)
    t = data(50, np.random.default_rng(33), True)
    del t["y3"]
    save_case("vector_indexer", "VectorIndexer (keep, on assembled features, into a DecisionTree with categorical splits; skip, on dense and sparse vectors with unseen values, -0.0 and unstored zeros)",
              model, with_id(t), make_frame=rich_frame, **EXACT)


def case_cross_validator():
    d = numeric_data(200, np.random.default_rng(34))
    train, _ = frame(num_cols(d))
    lr = C.LogisticRegression(featuresCol="features", labelCol="yb", maxIter=30)
    pipe = Pipeline(stages=[F.VectorAssembler(inputCols=NUM, outputCol="features"), lr])
    grid = TU.ParamGridBuilder().addGrid(lr.regParam, [0.01, 0.5]).build()
    cv = TU.CrossValidator(estimator=pipe, estimatorParamMaps=grid, numFolds=2, seed=7,
                           evaluator=EV.BinaryClassificationEvaluator(labelCol="yb"))
    model = cv.fit(train)
    t = strip_labels(numeric_data(40, np.random.default_rng(35)))
    save_case("cross_validator", "a CrossValidatorModel saved as the top-level folder, its bestModel a PipelineModel (VectorAssembler + LogisticRegression)",
              model, with_id(num_cols(t)), **EXACT)


def case_train_validation_split_nested():
    d = numeric_data(200, np.random.default_rng(36))
    train, _ = frame(num_cols(d))
    lin = R.LinearRegression(featuresCol="scaled", labelCol="y", predictionCol="tvs_pred")
    grid = TU.ParamGridBuilder().addGrid(lin.regParam, [0.0, 0.3]).build()
    tvs = TU.TrainValidationSplit(estimator=lin, estimatorParamMaps=grid, trainRatio=0.75, seed=7,
                                  evaluator=EV.RegressionEvaluator(labelCol="y", predictionCol="tvs_pred"))
    stages = [F.VectorAssembler(inputCols=NUM, outputCol="features"),
              F.StandardScaler(inputCol="features", outputCol="scaled"), tvs]
    model = Pipeline(stages=stages).fit(train)
    t = strip_labels(numeric_data(40, np.random.default_rng(37)))
    save_case("train_validation_split_nested", "a TrainValidationSplitModel as a PipelineModel stage (bestModel a LinearRegressionModel)",
              model, with_id(num_cols(t)), **EXACT)


def case_vector_models():
    def data(n, r, test):
        d = numeric_data(n, r)
        v = []
        for i in range(n):
            dense = [float(x) for x in np.round(r.normal(0, 2, 6) * (r.random(6) < 0.5), 1)]
            dense[5] = float(r.integers(0, 3))
            v.append(dense if i % 3 == 0 else (6, {k: x for k, x in enumerate(dense) if x != 0.0}))
        if test:
            v[2] = None                       # VectorSizeHint(skip) drops null vectors
            v[4] = [1.0, 2.0, 3.0]            # and vectors of another size
            v[7] = (7, {0: 1.0})
        cols = {k: ("f64", d[k]) for k in NUM}
        cols["v"] = ("vec", v)
        if not test:
            cols["y"] = ("f64", d["y"])
            cols["y3"] = ("f64", d["y3"])
        return cols
    train, _ = rich_frame(data(200, np.random.default_rng(38), False))
    stages = [
        F.VectorSizeHint(inputCol="v", size=6, handleInvalid="skip"),
        F.VectorAssembler(inputCols=NUM, outputCol="features"),
        F.PCA(k=3, inputCol="features", outputCol="pca"),
        F.PCA(k=2, inputCol="v", outputCol="v_pca"),
        F.RobustScaler(inputCol="features", outputCol="robust", withCentering=True, withScaling=True),
        F.RobustScaler(inputCol="v", outputCol="v_robust"),
        F.ChiSqSelector(featuresCol="v", labelCol="y3", outputCol="chi", numTopFeatures=2),
        F.UnivariateFeatureSelector(featuresCol="features", labelCol="y", outputCol="uni", selectionMode="numTopFeatures")
        .setSelectionThreshold(2).setFeatureType("continuous").setLabelType("continuous"),
        F.VarianceThresholdSelector(featuresCol="v", outputCol="var", varianceThreshold=0.5),
        F.VarianceThresholdSelector(featuresCol="features", outputCol="features_var", varianceThreshold=2.0),
    ]
    model = Pipeline(stages=stages).fit(train)
    save_case("vector_models", "VectorSizeHint (skip: null and wrong-size vectors), PCA, RobustScaler (centering+scaling, scaling only on sparse), ChiSqSelector, UnivariateFeatureSelector, VarianceThresholdSelector on dense and sparse vectors",
              model, with_id(data(40, np.random.default_rng(39), True)), make_frame=rich_frame,
              **(EXACT if SPARK_VERSION >= "4" else dict(BLAS, notes=["PCA: Spark 3.5 multiplies through a vectorised BLAS gemv (another order), Spark 4.3 in order (bit-exact)"])))


def case_isotonic_aft():
    def data(n, r, test):
        x0 = [float(v) for v in np.round(r.normal(0, 1, n), 1)]
        x1 = [float(v) for v in r.normal(0, 1, n)]
        if test:
            x0[1] = None
            x0[2] = float("nan")
            x0[3] = -9.0
            x0[4] = 9.0
        cols = {"x0": ("f64", x0), "x1": ("f64", x1)}
        if not test:
            cols["y"] = ("f64", [float(2 * a + r.normal(0, 0.5)) for a in x0])
            cols["time"] = ("f64", [float(np.exp(0.5 * a - 0.3 * b + r.normal(0, 0.3))) for a, b in zip(x0, x1)])
            cols["censor"] = ("f64", [float(r.random() < 0.7) for _ in range(n)])
        return cols
    train, _ = frame(data(200, np.random.default_rng(40), False))
    stages = [
        R.IsotonicRegression(featuresCol="x0", labelCol="y", predictionCol="iso"),
        F.VectorAssembler(inputCols=["x1", "x0"], outputCol="features", handleInvalid="keep"),
        R.IsotonicRegression(featuresCol="features", featureIndex=1, isotonic=False, labelCol="time", predictionCol="anti"),
        R.AFTSurvivalRegression(featuresCol="features", labelCol="time", censorCol="censor", predictionCol="aft",
                                quantilesCol="aft_q", quantileProbabilities=[0.1, 0.5, 0.9]),
        R.AFTSurvivalRegression(featuresCol="features", labelCol="time", censorCol="censor", predictionCol="aft_plain",
                                fitIntercept=False),
    ]
    model = Pipeline(stages=stages).fit(train)
    save_case("isotonic_aft", "IsotonicRegression on a double column (null, NaN, beyond the ends, exact boundaries) and antitonic on a vector featureIndex; AFTSurvivalRegression with and without quantiles",
              model, with_id(data(40, np.random.default_rng(41), True)),
              **(EXACT if SPARK_VERSION >= "4" else dict(BLAS, notes=["AFT: Spark 3.5 sums the dot product with a vectorised BLAS ddot (another order), Spark 4.3 in order (bit-exact)"])))


def case_one_vs_rest():
    # PySpark's OneVsRestModel.transform reads each sub-model's output from the OneVsRest's own
    # rawPredictionCol, so only the default name works there: one OneVsRest per pipeline.
    d = numeric_data(300, np.random.default_rng(42))
    train, _ = frame(num_cols(d))
    t = strip_labels(numeric_data(50, np.random.default_rng(43)))
    for name, classifier, features in [
        ("lr", C.LogisticRegression(maxIter=30, regParam=0.01), "scaled"),
        ("svc", C.LinearSVC(maxIter=20, regParam=0.1), "features"),
    ]:
        stages = [
            F.VectorAssembler(inputCols=NUM, outputCol="features"),
            F.StandardScaler(inputCol="features", outputCol="scaled", withMean=True),
            C.OneVsRest(classifier=classifier, featuresCol=features, labelCol="y3", predictionCol="ovr_pred"),
        ]
        model = Pipeline(stages=stages).fit(train)
        save_case(f"one_vs_rest_{name}", f"OneVsRest over {type(classifier).__name__} (3 classes): rawPrediction = each model's rawPrediction[1], prediction its argmax",
                  model, with_id(num_cols(t)), **EXACT)


def case_factorization_machines():
    d = numeric_data(300, np.random.default_rng(44))
    train, _ = frame(num_cols(d))
    stages = [
        F.VectorAssembler(inputCols=NUM, outputCol="features"),
        F.MinMaxScaler(inputCol="features", outputCol="scaled"),
        C.FMClassifier(featuresCol="scaled", labelCol="yb", factorSize=3, maxIter=50, stepSize=0.1, seed=3,
                       predictionCol="fmc_pred", rawPredictionCol="fmc_raw", probabilityCol="fmc_prob"),
        R.FMRegressor(featuresCol="scaled", labelCol="y", factorSize=2, maxIter=50, stepSize=0.1, seed=3, predictionCol="fmr_pred"),
        R.FMRegressor(featuresCol="scaled", labelCol="y", factorSize=2, maxIter=50, stepSize=0.1, seed=3,
                      fitLinear=False, fitIntercept=False, predictionCol="fmr_no_linear"),
    ]
    model = Pipeline(stages=stages).fit(train)
    t = strip_labels(numeric_data(50, np.random.default_rng(45)))
    save_case("factorization_machines", "FMClassifier and FMRegressor (with and without the linear term and intercept) on MinMax-scaled features",
              model, with_id(num_cols(t)), **EXACT)


def case_polynomial_bisecting():
    def data(n, r):
        d = numeric_data(n, r)
        v = []
        for i in range(n):
            dense = [float(x) for x in np.round(r.normal(0, 2, 5) * (r.random(5) < 0.6), 1)]
            dense[i % 5] = float(i % 3 + 1)  # never all zero: cosine distance needs a norm
            v.append(dense if i % 4 == 0 else (5, {k: x for k, x in enumerate(dense) if x != 0.0}))
        cols = {k: ("f64", d[k]) for k in ["x0", "x1", "x2"]}
        cols["v"] = ("vec", v)
        return cols
    train, _ = rich_frame(data(200, np.random.default_rng(46)))
    stages = [
        F.VectorAssembler(inputCols=["x0", "x1", "x2"], outputCol="features"),
        F.PolynomialExpansion(inputCol="features", outputCol="poly3", degree=3),
        F.PolynomialExpansion(inputCol="v", outputCol="v_poly2"),
        CL.BisectingKMeans(featuresCol="features", k=4, seed=5, predictionCol="cluster"),
        CL.BisectingKMeans(featuresCol="v", k=3, seed=5, distanceMeasure="cosine", predictionCol="v_cluster"),
    ]
    model = Pipeline(stages=stages).fit(train)
    save_case("polynomial_bisecting", "PolynomialExpansion (degree 3 dense, degree 2 on sparse vectors) and BisectingKMeans (euclidean; cosine on sparse vectors)",
              model, with_id(data(50, np.random.default_rng(47))), make_frame=rich_frame, **EXACT)


ALL.update({f.__name__[5:]: f for f in [
    case_feature_hasher, case_vector_indexer, case_cross_validator, case_train_validation_split_nested,
    case_vector_models, case_isotonic_aft, case_one_vs_rest, case_factorization_machines,
    case_polynomial_bisecting,
]})

if __name__ == "__main__":
    wanted = sys.argv[1:] or list(ALL)
    for name in wanted:
        ALL[name]()
    spark.stop()
    total = sum(p.stat().st_size for p in CASES.rglob("*") if p.is_file())
    print(f"cases: {total / 1e6:.2f} MB")
