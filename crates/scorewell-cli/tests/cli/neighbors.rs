//! `scorewell score` / `inspect` / `index build` on Annoy indexes.

use std::fs::File;
use std::sync::Arc;

use arrow_array::builder::{Float64Builder, ListBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::util::{Dir, scorewell};

fn annoy_case(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/conformance/annoy/cases")
        .join(name)
}

/// The case's lookups by vector with the given search_k: (vector, annoy's ids).
fn lookups(case: &str, search_k: i64) -> Vec<(Vec<f64>, Vec<i64>)> {
    let json: serde_json::Value =
        serde_json::from_reader(File::open(annoy_case(case).join("case.json")).expect("case.json"))
            .expect("json");
    json["lookups"]
        .as_array()
        .expect("lookups")
        .iter()
        .filter(|l| l.get("vector").is_some() && l["search_k"] == search_k)
        .map(|l| {
            let v = l["vector"]
                .as_array()
                .expect("vector")
                .iter()
                .map(|x| x.as_f64().expect("f64"))
                .collect();
            let ids = l["ids"]
                .as_array()
                .expect("ids")
                .iter()
                .map(|x| x.as_i64().expect("id"))
                .collect();
            (v, ids)
        })
        .collect()
}

fn write_queries(path: &std::path::Path, name: &str, vectors: &[Vec<f64>]) {
    let mut list = ListBuilder::new(Float64Builder::new());
    for v in vectors {
        list.values().append_slice(v);
        list.append(true);
    }
    list.append(false); // a null query: null outputs
    let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(0..vectors.len() as i64 + 1));
    let batch =
        RecordBatch::try_from_iter([("id", ids), (name, Arc::new(list.finish()) as ArrayRef)])
            .expect("batch");
    let mut w = ArrowWriter::try_new(File::create(path).expect("create"), batch.schema(), None)
        .expect("writer");
    w.write(&batch).expect("write");
    w.close().expect("close");
}

fn neighbor_ids(path: &std::path::Path) -> Vec<Option<Vec<i64>>> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(path).expect("open"))
        .expect("parquet")
        .build()
        .expect("reader");
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.expect("batch");
        let list = batch
            .column_by_name("neighbors")
            .expect("neighbors")
            .as_list::<i32>()
            .clone();
        for r in 0..list.len() {
            out.push(
                (!list.is_null(r))
                    .then(|| list.value(r).as_primitive::<Int64Type>().values().to_vec()),
            );
        }
    }
    out
}

#[test]
fn a_bare_index_scores_annoys_neighbours_for_each_row() {
    let dir = Dir::new();
    let index = annoy_case("euclidean_300x16").join("index.ann");
    for search_k in [-1i64, 2000] {
        let want = lookups("euclidean_300x16", search_k);
        let input = dir.path("q.parquet");
        write_queries(
            &input,
            "embedding",
            &want.iter().map(|w| w.0.clone()).collect::<Vec<_>>(),
        );
        let out = dir.path(&format!("nn{search_k}.parquet"));
        scorewell(&[
            &"score",
            &index,
            &"--metric",
            &"euclidean",
            &"--dims",
            &"16",
            &"--k",
            &"10",
            &"--search-k",
            &search_k.to_string(),
            &"-i",
            &input,
            &"-o",
            &out,
        ])
        .ok();
        let got = neighbor_ids(&out);
        assert_eq!(got.len(), want.len() + 1);
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g.as_ref(), Some(&w.1), "search_k {search_k}");
        }
        assert_eq!(got[want.len()], None, "a null query gives null neighbours");
    }
}

#[test]
fn annoy_errors_name_what_is_missing_or_wrong() {
    let dir = Dir::new();
    let index = annoy_case("angular_300x16").join("index.ann");
    let input = dir.path("q.parquet");
    write_queries(&input, "emb", &[vec![0.5; 16], vec![0.5; 15]]);
    let out = dir.path("o.parquet");
    // (extra arguments, what the one error line must say)
    let cases: [(&[&str], &str); 6] = [
        (&[], "records neither its metric nor its dimension"),
        (
            &["--metric", "angular", "--dims", "16"],
            "column `emb`, row 1",
        ),
        (
            &["--metric", "angular", "--dims", "16"],
            "the query has 15 values",
        ),
        (
            &["--metric", "cosine", "--dims", "16"],
            "unknown annoy metric `cosine`",
        ),
        (
            &["--metric", "dot", "--dims", "16"],
            "not a multiple of the 80-byte node",
        ),
        (
            &[
                "--metric",
                "angular",
                "--dims",
                "16",
                "--query-column",
                "nope",
            ],
            "no column `nope`",
        ),
    ];
    for (extra, want) in cases {
        let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> =
            vec![&"score", &index, &"-i", &input, &"-o", &out];
        args.extend(extra.iter().map(|a| a as &dyn AsRef<std::ffi::OsStr>));
        let run = scorewell(&args);
        assert!(run.err().contains(want), "{extra:?}: {}", run.stderr);
        assert!(!out.exists(), "no partial output");
    }
    let text = scorewell(&[
        &"inspect",
        &index,
        &"--metric",
        &"angular",
        &"--dims",
        &"16",
    ])
    .ok()
    .to_string();
    assert!(
        text.contains("items:      300") && text.contains("trees:      8"),
        "{text}"
    );
}

#[test]
fn index_build_writes_an_index_that_finds_each_item() {
    let dir = Dir::new();
    let vectors: Vec<Vec<f64>> = (0..120)
        .map(|i| {
            (0..6)
                .map(|k| {
                    (((i * 7 + k * 13) % 17) as f64) / 4.0 + if i % 6 == k { 3.0 } else { 0.0 }
                })
                .collect()
        })
        .collect();
    let input = dir.path("v.parquet");
    write_queries(&input, "v", &vectors);
    // The null row at the end is refused with its row number.
    let ann = dir.path("x.ann");
    let run = scorewell(&[
        &"index",
        &"build",
        &input,
        &"-o",
        &ann,
        &"--metric",
        &"euclidean",
        &"--trees",
        &"4",
        &"--seed",
        &"3",
    ]);
    assert!(
        run.err().contains("row 120: the vector is null"),
        "{}",
        run.stderr
    );
    assert!(!ann.exists());
    write_queries(&input, "v", &vectors[..119]);
    let input2 = dir.path("v2.parquet");
    // Rebuild without the null row: read back and drop it.
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&input).expect("open"))
        .expect("pq")
        .build()
        .expect("r");
    let batch = reader
        .map(|b| b.expect("batch"))
        .next()
        .expect("one batch")
        .slice(0, 119);
    let mut w = ArrowWriter::try_new(File::create(&input2).expect("create"), batch.schema(), None)
        .expect("w");
    w.write(&batch).expect("write");
    w.close().expect("close");
    let run = scorewell(&[
        &"index",
        &"build",
        &input2,
        &"-o",
        &ann,
        &"--metric",
        &"euclidean",
        &"--trees",
        &"4",
        &"--seed",
        &"3",
        &"--id-column",
        &"id",
    ]);
    run.ok();
    assert!(run.stderr.contains("119 items"), "{}", run.stderr);
    let text = scorewell(&[&"inspect", &ann, &"--metric", &"euclidean", &"--dims", &"6"])
        .ok()
        .to_string();
    assert!(
        text.contains("items:      119") && text.contains("trees:      4"),
        "{text}"
    );
    let out = dir.path("nn.parquet");
    scorewell(&[
        &"score",
        &ann,
        &"--metric",
        &"euclidean",
        &"--dims",
        &"6",
        &"--k",
        &"1",
        &"--search-k",
        &"100000",
        &"-i",
        &input2,
        &"-o",
        &out,
    ])
    .ok();
    let got = neighbor_ids(&out);
    for (i, g) in got.iter().enumerate() {
        let first = g.as_ref().expect("neighbours")[0] as usize;
        assert_eq!(
            vectors[first], vectors[i],
            "row {i}: its own vector is nearest"
        );
    }
}

/// "embedding → nearest known signatures → tree model" as one bundle: the index and its label
/// table are artifacts, the nearest distance feeds a LightGBM model.
#[test]
fn a_bundle_chains_the_lookup_its_labels_and_a_tree_model() {
    let dir = Dir::new();
    let case = annoy_case("euclidean_300x16");
    std::fs::copy(case.join("index.ann"), dir.path("signatures.ann")).expect("copy");
    // Labels for the even item ids only.
    let ids: ArrayRef = Arc::new(Int64Array::from_iter_values((0..300).step_by(2)));
    let labels: ArrayRef = Arc::new(arrow_array::StringArray::from_iter_values(
        (0..300).step_by(2).map(|i| format!("attack-{i}")),
    ));
    let batch = RecordBatch::try_from_iter([("id", ids), ("label", labels)]).expect("labels");
    let mut w = ArrowWriter::try_new(
        File::create(dir.path("labels.parquet")).expect("create"),
        batch.schema(),
        None,
    )
    .expect("writer");
    w.write(&batch).expect("write");
    w.close().expect("close");
    let model = "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\nmax_feature_idx=0\nobjective=regression\nfeature_names=nearest_distance\nfeature_infos=[0:10]\ntree_sizes=100\n\nTree=0\nnum_leaves=2\nnum_cat=0\nsplit_feature=0\nsplit_gain=1\nthreshold=2.5\ndecision_type=2\nleft_child=-1\nright_child=-2\nleaf_value=1 2\nleaf_weight=1 1\nleaf_count=1 1\ninternal_value=0\ninternal_weight=0\ninternal_count=2\nis_linear=0\nshrinkage=1\n\n\nend of trees\n";
    dir.write("model.txt", model);
    dir.write(
        "spec.yaml",
        "inputs:\n  - {name: emb, type: vector}\nstages:\n  - kind: nearest_neighbors\n    name: signatures\n    artifact: signatures.ann\n    params: {metric: euclidean, dims: 16, input: emb, k: 3, search_k: 2000, labels: labels.parquet}\n  - kind: model\n    name: risk\n    artifact: model.txt\noutputs: [neighbors, nearest_label, nearest_distance, prediction]\n",
    );
    let zip = dir.path("nn.zip");
    scorewell(&[
        &"bundle",
        &"create",
        &"--transforms",
        &dir.path("spec.yaml"),
        &"--name",
        &"nn",
        &"-o",
        &zip,
    ])
    .ok();
    let want = lookups("euclidean_300x16", 2000);
    let input = dir.path("q.parquet");
    write_queries(
        &input,
        "emb",
        &want.iter().map(|w| w.0.clone()).collect::<Vec<_>>(),
    );
    let out = dir.path("out.parquet");
    scorewell(&[&"score", &zip, &"-i", &input, &"-o", &out]).ok();
    let batch = ParquetRecordBatchReaderBuilder::try_new(File::open(&out).expect("open"))
        .expect("parquet")
        .build()
        .expect("reader")
        .next()
        .expect("a batch")
        .expect("batch");
    let label = batch
        .column_by_name("nearest_label")
        .expect("label")
        .as_string::<i32>()
        .clone();
    let distance = batch
        .column_by_name("nearest_distance")
        .expect("d")
        .as_primitive::<arrow_array::types::Float32Type>()
        .clone();
    let prediction = batch
        .column_by_name("prediction")
        .expect("p")
        .as_primitive::<arrow_array::types::Float64Type>()
        .clone();
    let got = neighbor_ids(&out);
    for (r, (_, ids)) in want.iter().enumerate() {
        assert_eq!(got[r].as_deref(), Some(&ids[..3]), "row {r}");
        let nearest = ids[0];
        if nearest % 2 == 0 {
            assert_eq!(label.value(r), format!("attack-{nearest}"));
        } else {
            assert!(label.is_null(r), "row {r}: item {nearest} has no label");
        }
        let want_prediction = if distance.value(r) <= 2.5 { 1.0 } else { 2.0 };
        assert_eq!(prediction.value(r), want_prediction, "row {r}");
    }
    let text = scorewell(&[&"inspect", &zip]).ok().to_string();
    assert!(
        text.contains("nearest_neighbors") && text.contains("models/labels.parquet"),
        "{text}"
    );
}
