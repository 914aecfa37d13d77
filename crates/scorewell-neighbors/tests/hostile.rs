//! Files and queries that must give one clear error each, never a panic, an out-of-bounds
//! read or an endless walk.

use std::path::Path;

use scorewell_neighbors::build::{BuildOptions, Builder};
use scorewell_neighbors::{AnnoyIndex, Error, Metric};

fn fixture() -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/conformance/annoy/cases/angular_300x16/index.ann");
    std::fs::read(p).expect("fixture")
}

const NODE: usize = 12 + 4 * 16; // angular, 16 dimensions

fn set_word(bytes: &mut [u8], node: usize, word: usize, value: i32) {
    let at = node * NODE + word * 4;
    bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

fn word(bytes: &[u8], node: usize, word: usize) -> i32 {
    let at = node * NODE + word * 4;
    i32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

/// The first split node after the items (its descendant count exceeds the bucket size).
fn first_split(bytes: &[u8], items: usize) -> usize {
    (items..bytes.len() / NODE)
        .find(|&i| word(bytes, i, 0) > 18)
        .expect("a split node")
}

#[test]
fn truncated_files_and_wrong_dimensions_name_the_layout() {
    let bytes = fixture();
    let e = AnnoyIndex::from_bytes(&bytes[..bytes.len() - 7], Metric::Angular, 16).unwrap_err();
    assert!(
        e.to_string().contains("not a multiple of the 76-byte node"),
        "{e}"
    );
    let e = AnnoyIndex::from_bytes(&bytes, Metric::Angular, 15).unwrap_err();
    assert!(matches!(e, Error::Layout { .. }), "{e}");
    let e = AnnoyIndex::from_bytes(&[], Metric::Angular, 16).unwrap_err();
    assert!(e.to_string().contains("empty"), "{e}");
    let e = AnnoyIndex::from_bytes(&bytes, Metric::Angular, 0).unwrap_err();
    assert!(e.to_string().contains("at least 1"), "{e}");
    // Euclidean nodes are 4 bytes longer: this size fits neither 80-byte nodes...
    let e = AnnoyIndex::from_bytes(&bytes, Metric::Euclidean, 16).unwrap_err();
    assert!(
        e.to_string()
            .contains("not an annoy euclidean index of 16 dimensions"),
        "{e}"
    );
    let e = AnnoyIndex::open("/nonexistent/x.ann", Metric::Angular, 16).unwrap_err();
    assert!(e.to_string().starts_with("/nonexistent/x.ann: "), "{e}");
}

/// Allocation discipline: the item count the roots declare is checked against the nodes the
/// file holds.
#[test]
fn forged_root_item_count_is_refused() {
    let mut bytes = fixture();
    let last = bytes.len() / NODE - 1;
    set_word(&mut bytes, last, 0, 1_000_000_000);
    let e = AnnoyIndex::from_bytes(&bytes, Metric::Angular, 16).unwrap_err();
    assert!(e.to_string().contains("claim 1000000000 items"), "{e}");
}

#[test]
fn children_out_of_range_and_cycles_stop_the_walk_with_the_node() {
    let good = fixture();
    let split = first_split(&good, 300);
    let q = vec![0.5f32; 16];

    let mut bytes = good.clone();
    set_word(&mut bytes, split, 1, 99_999_999);
    set_word(&mut bytes, split, 2, 99_999_999);
    let index = AnnoyIndex::from_bytes(&bytes, Metric::Angular, 16).expect("loads lazily");
    let e = index.nns_by_vector(&q, 10, 1_000_000).unwrap_err();
    assert!(
        e.to_string()
            .contains(&format!("corrupt index at node {split}")),
        "{e}"
    );
    assert!(index.validate().is_err());

    // A split whose children are itself: a cycle.
    let mut bytes = good.clone();
    set_word(&mut bytes, split, 1, split as i32);
    set_word(&mut bytes, split, 2, split as i32);
    let index = AnnoyIndex::from_bytes(&bytes, Metric::Angular, 16).expect("loads lazily");
    let e = index.nns_by_vector(&q, 10, 1_000_000).unwrap_err();
    assert!(e.to_string().contains("loop back on themselves"), "{e}");

    // A negative descendant count.
    let mut bytes = good;
    set_word(&mut bytes, split, 0, -5);
    let index = AnnoyIndex::from_bytes(&bytes, Metric::Angular, 16).expect("loads lazily");
    assert!(
        index
            .validate()
            .unwrap_err()
            .to_string()
            .contains("negative descendant count")
    );
}

#[test]
fn queries_of_the_wrong_length_with_nan_or_bad_items_are_refused() {
    let index = AnnoyIndex::from_bytes(&fixture(), Metric::Angular, 16).expect("index");
    let e = index.nns_by_vector(&[1.0; 15], 3, -1).unwrap_err();
    assert!(
        e.to_string()
            .contains("the query has 15 values; the index holds 16-dimensional"),
        "{e}"
    );
    let mut q = vec![1.0f32; 16];
    q[4] = f32::NAN;
    let e = index.nns_by_vector(&q, 3, -1).unwrap_err();
    assert!(e.to_string().contains("value 4 is NaN"), "{e}");
    assert!(
        index
            .nns_by_item(300, 3, -1)
            .unwrap_err()
            .to_string()
            .contains("out of range")
    );
    assert!(
        index
            .nns_by_item(-1, 3, -1)
            .unwrap_err()
            .to_string()
            .contains("negative")
    );
    assert!(index.item_vector(300).is_err());
    index.validate().expect("the fixture is sound");
}

#[test]
fn built_indexes_load_and_find_each_item_first() {
    for metric in [
        Metric::Angular,
        Metric::Euclidean,
        Metric::Manhattan,
        Metric::Hamming,
    ] {
        let mut b = Builder::new(BuildOptions {
            metric,
            dims: 12,
            trees: 5,
            seed: Some(7),
        })
        .expect("builder");
        let vector = |i: usize| -> Vec<f32> {
            (0..12)
                .map(|k| {
                    (((i * 31 + k * 17) % 23) as f32 / 7.0 - 1.0).max(0.0) + (i == k) as u8 as f32
                })
                .collect()
        };
        for i in 0..150 {
            b.add_item(i as i64, &vector(i)).expect("add");
        }
        let bytes = b.build().expect("build");
        let index = AnnoyIndex::from_bytes(&bytes, metric, 12).expect("load");
        assert_eq!((index.n_items(), index.n_trees()), (150, 5), "{metric}");
        index.validate().expect("sound");
        let nn = index.nns_by_vector(&vector(3), 1, -1).expect("query");
        assert_eq!(
            index.item_vector(nn.ids[0]).expect("item"),
            index.item_vector(3).expect("item"),
            "{metric}"
        );
    }
    let e = Builder::new(BuildOptions {
        metric: Metric::Angular,
        dims: 3,
        trees: 1,
        seed: None,
    })
    .expect("builder")
    .add_item(0, &[1.0, f32::NAN, 0.0])
    .unwrap_err();
    assert!(e.to_string().contains("not a finite number"), "{e}");
}

/// Allocation discipline: a dimension (given by a bundle's manifest or a caller) that no node
/// of the file could hold is refused before it sizes anything; u64::MAX must not overflow the
/// node layout.
#[test]
fn forged_dimension_is_refused() {
    let bytes = fixture();
    for metric in [
        Metric::Angular,
        Metric::Euclidean,
        Metric::Dot,
        Metric::Hamming,
    ] {
        for dims in [usize::MAX, 1 << 40] {
            let e = AnnoyIndex::from_bytes(&bytes, metric, dims).unwrap_err();
            match &e {
                Error::Layout { reason, .. } => assert!(
                    reason.starts_with(&format!(
                        "a node's vector of {dims} dimensions takes at least"
                    )),
                    "{e}"
                ),
                other => panic!("expected a layout error, got {other}"),
            }
        }
    }
}
