//! Leaf tables: a forest whose trees answer with the *number* of the leaf they reach, and per
//! tree a table of values per leaf that are summed in tree order.
//!
//! Libraries whose leaves hold vectors (a scikit-learn or Spark classifier's class
//! fractions) or whose sums must follow their own order and precision (scikit-learn sums
//! `f64` leaf values onto a starting value, tree by tree, while comparing in `f32`) are
//! matched exactly this way with one walk per tree, whatever the number of classes.

/// Values per leaf number, for one tree.
#[derive(Debug, Clone, PartialEq)]
pub struct LeafValues {
    /// The output this tree adds to, or `None` when each leaf holds one value per output.
    pub group: Option<u32>,
    /// `values[leaf]` (with a group) or `values[leaf * width + output]` (without).
    pub values: Vec<f64>,
}

/// How the leaves reached by each tree become a row's outputs.
#[derive(Debug, Clone, PartialEq)]
pub struct LeafTables {
    /// Outputs per row.
    pub width: usize,
    /// What the sums start from, one per output.
    pub base: Vec<f64>,
    /// One table per tree, in the order the library sums them.
    pub trees: Vec<LeafValues>,
}

impl LeafTables {
    /// `leaves` holds, per row, the leaf number each tree reached (`rows × trees`, as a
    /// leaf-number forest's margins); writes `rows × width` sums into `out`. A leaf number
    /// outside a table (which a validated forest never gives) adds nothing.
    pub fn accumulate(&self, leaves: &[f64], out: &mut [f64]) {
        let trees = self.trees.len().max(1);
        for (o, row) in out
            .chunks_exact_mut(self.width.max(1))
            .zip(leaves.chunks_exact(trees))
        {
            // A base shorter than the row (which the frontends never build) starts at zero.
            for (j, o) in o.iter_mut().enumerate() {
                *o = self.base.get(j).copied().unwrap_or(0.0);
            }
            for (table, leaf) in self.trees.iter().zip(row) {
                let leaf = *leaf as usize;
                match table.group {
                    Some(g) => {
                        if let (Some(v), Some(o)) = (table.values.get(leaf), o.get_mut(g as usize))
                        {
                            *o += v;
                        }
                    }
                    None => {
                        let at = leaf * self.width;
                        if let Some(v) = table.values.get(at..at + self.width) {
                            o.iter_mut().zip(v).for_each(|(o, v)| *o += v);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_start_from_the_base_in_tree_order() {
        let t = LeafTables {
            width: 2,
            base: vec![1.0, 2.0],
            trees: vec![
                LeafValues {
                    group: None,
                    values: vec![0.5, 0.5, 0.25, 0.75],
                },
                LeafValues {
                    group: Some(1),
                    values: vec![10.0, 20.0],
                },
            ],
        };
        let mut out = vec![0.0; 4];
        t.accumulate(&[1.0, 0.0, 0.0, 1.0], &mut out);
        assert_eq!(out, vec![1.25, 12.75, 1.5, 22.5]);
    }
}
