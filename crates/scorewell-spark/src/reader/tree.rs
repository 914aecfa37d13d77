//! Spark's saved decision trees (`ml/tree/treeModels.scala`, `NodeData` and
//! `EnsembleModelReadWrite`).
//!
//! A tree is rows of `NodeData {id, prediction, impurity, impurityStats, rawCount (≥ 3.0),
//! gain, leftChild, rightChild, split {featureIndex, leftCategoriesOrThreshold,
//! numCategories}}`, ids in pre-order, children −1 for leaves, rows in any order. A single tree
//! stores them as top-level columns of `data/`; an ensemble stores `(treeID, nodeData)` rows in
//! `data/` and `(treeID, metadata, weights)` rows in `treesMetadata/` (Spark 4 names these
//! tuple columns `_1`, `_2`, `_3`, so they are read by position).

use std::collections::BTreeMap;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{Array, ArrayRef, RecordBatch, StructArray};

use crate::error::Result;
use crate::reader::data::integer;
use crate::reader::{Source, Table, invalid};

/// One saved node.
#[derive(Debug, Clone, PartialEq)]
pub struct SparkNode {
    /// Pre-order id.
    pub id: i64,
    /// The node's prediction (class index for classifiers, mean for regressors).
    pub prediction: f64,
    /// Impurity statistics (class counts for classifiers).
    pub stats: Vec<f64>,
    /// Left child id, −1 for a leaf.
    pub left: i64,
    /// Right child id, −1 for a leaf.
    pub right: i64,
    /// Split feature.
    pub feature: i64,
    /// Threshold (continuous) or left categories (categorical).
    pub left_categories_or_threshold: Vec<f64>,
    /// −1 for continuous splits, else the feature's category count.
    pub num_categories: i64,
}

/// One saved tree: nodes sorted by id, and its ensemble weight.
#[derive(Debug, Clone, PartialEq)]
pub struct SparkTree {
    /// Nodes sorted by id; the root first.
    pub nodes: Vec<SparkNode>,
    /// The tree's weight (1.0 for single trees and random forests).
    pub weight: f64,
}

/// Read a single tree's `data/`.
pub fn read_tree(source: &Source, stage: &Path) -> Result<SparkTree> {
    let table = Table::read(source, stage, "data")?;
    let batch = table_struct(&table)?;
    let mut nodes = nodes_of(&table, &batch)?;
    sort_and_check(stage, &mut nodes, "the tree")?;
    Ok(SparkTree { nodes, weight: 1.0 })
}

/// Read an ensemble's trees, ordered by tree id, with their weights from `treesMetadata/`.
pub fn read_ensemble(source: &Source, stage: &Path) -> Result<Vec<SparkTree>> {
    let meta = Table::read(source, stage, "treesMetadata")?;
    let ids = meta.column_at(0)?;
    let weights = meta.column_at(2)?;
    let weights = weights
        .as_primitive_opt::<Float64Type>()
        .ok_or_else(|| meta.error("tree weights are not doubles"))?;
    let mut trees: BTreeMap<i64, SparkTree> = BTreeMap::new();
    for row in 0..meta.num_rows() {
        let id = integer(ids, row).ok_or_else(|| meta.error("tree ids are not integers"))?;
        trees.insert(
            id,
            SparkTree {
                nodes: Vec::new(),
                weight: weights.value(row),
            },
        );
    }
    let data = Table::read(source, stage, "data")?;
    let tree_ids = data.column("treeID")?;
    let node_data = data
        .column("nodeData")?
        .as_struct_opt()
        .ok_or_else(|| data.error("`nodeData` is not a struct"))?
        .clone();
    let tree_of: Vec<i64> = (0..data.num_rows())
        .map(|r| integer(tree_ids, r).ok_or_else(|| data.error("`treeID` is not an integer")))
        .collect::<Result<_>>()?;
    let nodes = nodes_of(&data, &node_data)?;
    for (node, tree) in nodes.into_iter().zip(tree_of) {
        trees
            .get_mut(&tree)
            .ok_or_else(|| data.error(format!("tree {tree} is not in `treesMetadata/`")))?
            .nodes
            .push(node);
    }
    let mut out = Vec::with_capacity(trees.len());
    for (id, mut tree) in trees {
        sort_and_check(stage, &mut tree.nodes, &format!("tree {id}"))?;
        out.push(tree);
    }
    if out.is_empty() {
        return Err(invalid(stage, "the ensemble has no trees"));
    }
    Ok(out)
}

fn table_struct(table: &Table) -> Result<StructArray> {
    let names = [
        "id",
        "prediction",
        "impurityStats",
        "leftChild",
        "rightChild",
        "split",
    ];
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for name in names {
        let col = table.column(name)?;
        fields.push(arrow_schema::Field::new(
            name,
            col.data_type().clone(),
            true,
        ));
        columns.push(col.clone());
    }
    let batch = RecordBatch::try_new(
        std::sync::Arc::new(arrow_schema::Schema::new(fields)),
        columns,
    )
    .map_err(|e| table.error(e))?;
    Ok(StructArray::from(batch))
}

fn nodes_of(table: &Table, s: &StructArray) -> Result<Vec<SparkNode>> {
    let field = |name: &str| -> Result<&ArrayRef> {
        s.column_by_name(name)
            .ok_or_else(|| table.error(format!("node data has no `{name}`")))
    };
    let id = field("id")?;
    let prediction = field("prediction")?
        .as_primitive_opt::<Float64Type>()
        .ok_or_else(|| table.error("node `prediction` is not a double"))?;
    let stats = field("impurityStats")?
        .as_list_opt::<i32>()
        .ok_or_else(|| table.error("node `impurityStats` is not a list"))?;
    let left = field("leftChild")?;
    let right = field("rightChild")?;
    let split = field("split")?
        .as_struct_opt()
        .ok_or_else(|| table.error("node `split` is not a struct"))?;
    let sfield = |name: &str| -> Result<&ArrayRef> {
        split
            .column_by_name(name)
            .ok_or_else(|| table.error(format!("node split has no `{name}`")))
    };
    let feature = sfield("featureIndex")?;
    let cats = sfield("leftCategoriesOrThreshold")?
        .as_list_opt::<i32>()
        .ok_or_else(|| table.error("split `leftCategoriesOrThreshold` is not a list"))?;
    let num_cats = sfield("numCategories")?;
    let int = |a: &ArrayRef, r: usize, what: &str| {
        integer(a, r).ok_or_else(|| table.error(format!("node `{what}` is not an integer")))
    };
    let doubles = |l: &arrow_array::ListArray, r: usize, what: &str| -> Result<Vec<f64>> {
        if l.is_null(r) {
            return Ok(Vec::new());
        }
        let v = l.value(r);
        Ok(v.as_primitive_opt::<Float64Type>()
            .ok_or_else(|| table.error(format!("node `{what}` is not a list of doubles")))?
            .values()
            .to_vec())
    };
    (0..s.len())
        .map(|r| {
            let leaf_split = split.is_null(r);
            Ok(SparkNode {
                id: int(id, r, "id")?,
                prediction: prediction.value(r),
                stats: doubles(stats, r, "impurityStats")?,
                left: int(left, r, "leftChild")?,
                right: int(right, r, "rightChild")?,
                feature: if leaf_split {
                    -1
                } else {
                    int(feature, r, "featureIndex")?
                },
                left_categories_or_threshold: if leaf_split {
                    Vec::new()
                } else {
                    doubles(cats, r, "leftCategoriesOrThreshold")?
                },
                num_categories: if leaf_split {
                    -1
                } else {
                    int(num_cats, r, "numCategories")?
                },
            })
        })
        .collect()
}

fn sort_and_check(stage: &Path, nodes: &mut [SparkNode], what: &str) -> Result<()> {
    nodes.sort_by_key(|n| n.id);
    if nodes.is_empty() {
        return Err(invalid(stage, format!("{what} has no nodes")));
    }
    if nodes.windows(2).any(|w| w[0].id == w[1].id) {
        return Err(invalid(stage, format!("{what} repeats a node id")));
    }
    Ok(())
}
