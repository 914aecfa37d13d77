//! The predicate-mask evaluator ([`crate::masks`]) for `f32` trees on CPUs with AVX-512F.
//!
//! Two steps of the portable version change; the multiplexer between them is shared:
//!
//! - Node tests compare sixteen rows at once, and the compare writes its bits straight into a
//!   mask register (no movemask), so a node costs four compares per 64 rows where AVX takes
//!   eight compares and eight movemasks.
//! - Leaf lookup: a tree of at most five levels has at most 32 leaves, which fit in two
//!   registers. Each row's leaf slot is built in a vector lane from the level masks (one
//!   masked add per level), and one two-table permute fetches sixteen rows' leaves at once,
//!   where the portable loop loads each row's leaf and margin one by one.
//!
//! Each margin still gets `margin + leaf`, tree by tree in model order, in `f32` with the
//! usual rounding, so the sums are bit-identical to the walk's.

use std::arch::x86_64::*;

use crate::compiled::FEATURE_MASK;
use crate::masks::{ColumnBlock, MAX_LEVELS, MaskedTree, ROWS, by_depth, directions};

/// Rows per vector.
const LANES: usize = 16;

/// Whether this CPU runs [`add_tree_rows`].
#[inline(always)]
pub(crate) fn available() -> bool {
    std::is_x86_feature_detected!("avx512f")
}

/// The lanes of the first `n` rows (`n` may exceed 16).
#[inline(always)]
fn lanes(n: usize) -> __mmask16 {
    if n >= LANES {
        0xFFFF
    } else {
        ((1u32 << n) - 1) as __mmask16
    }
}

/// [`crate::masks::add_tree_rows`] for `f32`: `tree`'s leaves added to every row of
/// `block`, 64 rows at a time.
///
/// # Safety
/// The CPU must have AVX-512F ([`available`]).
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn add_tree_rows(tree: MaskedTree<'_, f32>, block: ColumnBlock<'_, f32>) {
    by_depth!(tree.levels, L => add_tree_rows_at::<L>(tree, block))
}

/// [`add_tree_rows`] for a tree of `LEVELS` levels.
#[target_feature(enable = "avx512f")]
fn add_tree_rows_at<const LEVELS: u32>(tree: MaskedTree<'_, f32>, block: ColumnBlock<'_, f32>) {
    let levels = LEVELS;
    let ColumnBlock {
        columns,
        pitch,
        rows,
        margins,
        groups,
        group,
    } = block;
    assert!(levels <= MAX_LEVELS && rows <= pitch);
    let internal = (1usize << levels) - 1;
    let (features, thresholds) = (&tree.features[..internal], &tree.thresholds[..internal]);
    let leaves = &tree.leaves[..internal + 1];
    assert!(rows == 0 || (rows - 1) * groups + group < margins.len());
    for &f in features {
        let c = (f & FEATURE_MASK) as usize;
        assert!(c * pitch + rows <= columns.len());
    }
    // SAFETY: every load below reads inside the slices checked above: the leaf tables read
    // `leaves.len()` values, a node's column `rows` values from `c * pitch`, and the margins
    // the rows' own; masked lanes are not read or written.
    unsafe {
        let table_lo = _mm512_maskz_loadu_ps(lanes(leaves.len()), leaves.as_ptr());
        let table_hi = if leaves.len() > LANES {
            _mm512_maskz_loadu_ps(lanes(leaves.len() - LANES), leaves.as_ptr().add(LANES))
        } else {
            _mm512_setzero_ps()
        };
        let one = _mm512_set1_epi32(1);
        let mut right = [0u64; (1 << MAX_LEVELS) - 1];
        for r0 in (0..rows).step_by(ROWS) {
            let n = (rows - r0).min(ROWS);
            // `!(v <= t)`: the walk's test negated, true for NaN.
            if n == ROWS {
                // A whole chunk (all but a batch's last): four plain compares a node.
                for ((r, &f), &t) in right.iter_mut().zip(features).zip(thresholds) {
                    let col = columns
                        .as_ptr()
                        .add((f & FEATURE_MASK) as usize * pitch + r0);
                    let t = _mm512_set1_ps(t);
                    let m0 = _mm512_cmp_ps_mask::<_CMP_NLE_UQ>(_mm512_loadu_ps(col), t);
                    let m1 = _mm512_cmp_ps_mask::<_CMP_NLE_UQ>(_mm512_loadu_ps(col.add(16)), t);
                    let m2 = _mm512_cmp_ps_mask::<_CMP_NLE_UQ>(_mm512_loadu_ps(col.add(32)), t);
                    let m3 = _mm512_cmp_ps_mask::<_CMP_NLE_UQ>(_mm512_loadu_ps(col.add(48)), t);
                    *r = u64::from(m0)
                        | (u64::from(m1) << 16)
                        | (u64::from(m2) << 32)
                        | (u64::from(m3) << 48);
                }
            } else {
                for ((r, &f), &t) in right.iter_mut().zip(features).zip(thresholds) {
                    let col = columns
                        .as_ptr()
                        .add((f & FEATURE_MASK) as usize * pitch + r0);
                    let t = _mm512_set1_ps(t);
                    let mut mask = 0u64;
                    for q in 0..n.div_ceil(LANES) {
                        let k = lanes(n - LANES * q);
                        let v = _mm512_maskz_loadu_ps(k, col.add(LANES * q));
                        let bits = _mm512_mask_cmp_ps_mask::<_CMP_NLE_UQ>(k, v, t);
                        mask |= u64::from(bits) << (LANES * q);
                    }
                    *r = mask;
                }
            }
            let went = directions(levels, &right[..internal]);
            for q in 0..n.div_ceil(LANES) {
                let k = lanes(n - LANES * q);
                let mut slot = _mm512_setzero_si512();
                for w in &went[..levels as usize] {
                    let dir = ((w >> (LANES * q)) & 0xFFFF) as __mmask16;
                    slot = _mm512_add_epi32(slot, slot);
                    slot = _mm512_mask_add_epi32(slot, dir, slot, one);
                }
                let leaf = _mm512_permutex2var_ps(table_lo, slot, table_hi);
                let first = r0 + LANES * q;
                if groups == 1 {
                    let m = margins.as_mut_ptr().add(first);
                    let sum = _mm512_add_ps(_mm512_maskz_loadu_ps(k, m), leaf);
                    _mm512_mask_storeu_ps(m, k, sum);
                } else {
                    let mut values = [0f32; LANES];
                    _mm512_storeu_ps(values.as_mut_ptr(), leaf);
                    let count = (n - LANES * q).min(LANES);
                    for (i, v) in values[..count].iter().enumerate() {
                        let m = &mut margins[(first + i) * groups + group];
                        *m += *v;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::masks;
    use crate::masks::tests::column;

    #[test]
    fn matches_the_portable_masks_bit_for_bit() {
        if !available() {
            eprintln!("this CPU has no AVX-512F: nothing to compare");
            return;
        }
        let width = 5;
        for levels in 1..=MAX_LEVELS {
            let internal = (1usize << levels) - 1;
            for rows in [1, 7, 16, 17, 63, 64, 65, 100, 128, 129, 200] {
                for groups in [1, 3] {
                    let seed = u64::from(levels) * 1000 + rows as u64 * 10 + groups as u64;
                    let columns = column::<f32>(seed, width * rows);
                    let features: Vec<u32> = (0..internal as u32).map(|k| k * 7 % 5).collect();
                    let thresholds = column::<f32>(seed + 1, internal)
                        .into_iter()
                        .map(|t| if t.is_nan() { 0.5 } else { t })
                        .collect::<Vec<_>>();
                    let leaves: Vec<f32> = (0..=internal).map(|s| s as f32 * 0.37 - 3.1).collect();
                    let start = column::<f32>(seed + 2, rows * groups)
                        .into_iter()
                        .map(|m| if m.is_finite() { m } else { 0.25 })
                        .collect::<Vec<_>>();
                    let group = groups - 1;
                    let tree = MaskedTree {
                        levels,
                        features: &features,
                        thresholds: &thresholds,
                        leaves: &leaves,
                    };
                    let block = |margins| ColumnBlock {
                        columns: &columns,
                        pitch: rows,
                        rows,
                        margins,
                        groups,
                        group,
                    };
                    let mut want = start.clone();
                    masks::add_tree_rows(tree, block(&mut want));
                    let mut got = start.clone();
                    // SAFETY: checked above that the CPU has AVX-512F.
                    unsafe { add_tree_rows(tree, block(&mut got)) };
                    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(
                        bits(&got),
                        bits(&want),
                        "{levels} levels, {rows} rows, {groups} groups"
                    );
                    assert_ne!(got, start, "the tree added nothing");
                }
            }
        }
    }
}
