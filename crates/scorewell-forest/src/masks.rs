//! Shallow complete trees scored 64 rows at a time by predicate masks.
//!
//! A walk through a shallow tree is a short chain of dependent loads (node, feature value,
//! next node), and a batch of small per-key models is mostly such walks. For a tree stored
//! whole in the implicit layout (every leaf on its last level, padding included), this
//! evaluator takes the other way round:
//!
//! 1. Every internal node's test is evaluated for 64 rows at once, from the block's features
//!    laid out column by column: one `u64` per node, bit `j` set where row `j` goes right. The
//!    loop has no dependent loads and no branches, so the compiler vectorizes it.
//! 2. Level by level, the mask of the node each row actually reaches is selected from that
//!    level's node masks by the directions already taken (a binary multiplexer per level made
//!    of bitwise `and`/`or`, the selector bits being the earlier levels' masks): after level
//!    `d - 1`, row `j`'s directions, read from bit `j` of each level's mask, spell its leaf
//!    slot.
//! 3. Each row adds its leaf, tree by tree in model order, so the sums round as the walk's do.
//!
//! The tests compared are exactly the walk's (`x <= t'` on the same prepared copies of the
//! row), so the result is the same bit for bit. Every node of the tree is evaluated, where a
//! walk evaluates one per level, which pays for trees up to [`MAX_LEVELS`] deep.
//!
//! (This is per-row predication over all nodes of a complete tree. It is not QuickScorer:
//! there are no per-leaf bitvectors and no feature-ordered traversal across trees.)

use crate::compiled::FEATURE_MASK;
use crate::float::Float;

/// Rows per mask.
pub(crate) const ROWS: usize = 64;
/// The deepest tree scored by masks: 2^5 - 1 = 31 tests per row, where the walk takes 5 steps
/// of dependent loads; deeper trees are cheaper to walk.
pub(crate) const MAX_LEVELS: u32 = 5;

/// The block's rows as columns: value `c` of row `j` at `c * rows + j`, for the first
/// `columns` values of each row (`x` holds `rows` rows of `stride` values).
pub(crate) fn transpose<T: Float>(
    x: &[T],
    rows: usize,
    stride: usize,
    columns: usize,
    out: &mut Vec<T>,
) {
    out.clear();
    out.resize(columns * rows, T::ZERO);
    for (j, row) in x.chunks_exact(stride).take(rows).enumerate() {
        for (c, &v) in row[..columns].iter().enumerate() {
            out[c * rows + j] = v;
        }
    }
}

/// Byte `k` of `SPREAD[b]` is bit `k` of `b`: eight rows' directions at one level, one per
/// byte, so eight leaf slots are assembled with a few shifts and adds.
const SPREAD: [u64; 256] = {
    let mut table = [0u64; 256];
    let mut b = 0;
    while b < 256 {
        let mut k = 0;
        while k < 8 {
            table[b] |= ((b as u64 >> k) & 1) << (8 * k);
            k += 1;
        }
        b += 1;
    }
    table
};

/// [`Float::node_masks`] for any precision: one comparison per row.
#[inline(always)]
pub(crate) fn node_masks_portable<T: Float>(
    features: &[u32],
    thresholds: &[T],
    columns: &[T],
    pitch: usize,
    n: usize,
    out: &mut [u64],
) {
    for ((r, &f), &t) in out.iter_mut().zip(features).zip(thresholds) {
        let c = (f & FEATURE_MASK) as usize * pitch;
        *r = tail_mask(&columns[c..c + n], t);
    }
}

/// Bit `j` set where `!(col[j] <= threshold)`.
// `!(v <= t)` on purpose: it is the walk's test negated, true for NaN.
#[allow(clippy::neg_cmp_op_on_partial_ord)]
#[inline(always)]
fn tail_mask<T: Float>(col: &[T], threshold: T) -> u64 {
    let mut mask = 0u64;
    for (j, &v) in col.iter().enumerate() {
        mask |= u64::from(!(v <= threshold)) << j;
    }
    mask
}

/// One vector width of node masks: `$cmp` compares `$lanes` values of a column with the
/// threshold (`!(v <= t)`, true for NaN like the walk's test) and `$movemask` packs the
/// result into bits; rows past the last whole vector take the portable test.
#[cfg(target_arch = "x86_64")]
macro_rules! node_masks_simd {
    ($(#[$attr:meta])* $name:ident, $t:ty, $lanes:expr, $set1:ident, $load:ident, $cmp:expr, $movemask:ident) => {
        $(#[$attr])*
        unsafe fn $name(
            features: &[u32],
            thresholds: &[$t],
            columns: &[$t],
            pitch: usize,
            n: usize,
            out: &mut [u64],
        ) {
            use std::arch::x86_64::*;
            let whole = n / $lanes;
            for ((r, &f), &t) in out.iter_mut().zip(features).zip(thresholds) {
                let c = (f & FEATURE_MASK) as usize * pitch;
                let col = &columns[c..c + n];
                let mut mask = 0u64;
                // SAFETY: the caller checked the CPU has the instructions; each load reads
                // `$lanes` values inside `col`.
                unsafe {
                    let tv = $set1(t);
                    for q in 0..whole {
                        let v = $load(col.as_ptr().add($lanes * q));
                        mask |= ($movemask($cmp(v, tv)) as u64) << ($lanes * q);
                    }
                }
                if $lanes * whole < n {
                    mask |= tail_mask(&col[$lanes * whole..], t) << ($lanes * whole);
                }
                *r = mask;
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
node_masks_simd!(
    /// SSE2 (every x86-64 has it): four rows a compare.
    #[inline(always)]
    f32_sse2, f32, 4, _mm_set1_ps, _mm_loadu_ps, _mm_cmpnle_ps, _mm_movemask_ps
);
#[cfg(target_arch = "x86_64")]
node_masks_simd!(
    /// AVX: eight rows a compare.
    #[target_feature(enable = "avx")]
    f32_avx, f32, 8, _mm256_set1_ps, _mm256_loadu_ps, _mm256_cmp_ps::<_CMP_NLE_UQ>, _mm256_movemask_ps
);
#[cfg(target_arch = "x86_64")]
node_masks_simd!(
    /// SSE2: two rows a compare.
    #[inline(always)]
    f64_sse2, f64, 2, _mm_set1_pd, _mm_loadu_pd, _mm_cmpnle_pd, _mm_movemask_pd
);
#[cfg(target_arch = "x86_64")]
node_masks_simd!(
    /// AVX: four rows a compare.
    #[target_feature(enable = "avx")]
    f64_avx, f64, 4, _mm256_set1_pd, _mm256_loadu_pd, _mm256_cmp_pd::<_CMP_NLE_UQ>, _mm256_movemask_pd
);

/// One implementation of [`Float::node_masks`] (same arguments).
#[cfg(target_arch = "x86_64")]
pub(crate) type NodeMasks<T> = unsafe fn(&[u32], &[T], &[T], usize, usize, &mut [u64]);

/// The `f32` and `f64` node tests on x86-64: (AVX, SSE2).
#[cfg(target_arch = "x86_64")]
pub(crate) const F32: (NodeMasks<f32>, NodeMasks<f32>) = (f32_avx, f32_sse2);
#[cfg(target_arch = "x86_64")]
pub(crate) const F64: (NodeMasks<f64>, NodeMasks<f64>) = (f64_avx, f64_sse2);

/// [`Float::node_masks`] on x86-64 with `(avx, sse2)`: AVX when the CPU has it, else SSE2.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn node_masks_x86<T>(
    (avx, sse2): (NodeMasks<T>, NodeMasks<T>),
    features: &[u32],
    thresholds: &[T],
    columns: &[T],
    pitch: usize,
    n: usize,
    out: &mut [u64],
) {
    let f = if std::is_x86_feature_detected!("avx") {
        avx
    } else {
        sse2
    };
    // SAFETY: the AVX version only runs when the CPU has AVX; SSE2 is part of x86-64.
    unsafe { f(features, thresholds, columns, pitch, n, out) }
}

/// The directions rows take through a complete tree of `levels` levels, from its node masks
/// `right` (implicit order, bit `j` set where row `j` goes right at that node): bit `j` of
/// `went[l]` is set where row `j` went right at level `l`, so row `j`'s leaf slot is those
/// bits read from level 0 down.
#[inline(always)]
pub(crate) fn directions(levels: u32, right: &[u64]) -> [u64; MAX_LEVELS as usize] {
    debug_assert!(levels <= MAX_LEVELS && right.len() + 1 >= 1 << levels);
    let mut went = [0u64; MAX_LEVELS as usize];
    let mut reached = [0u64; 1 << (MAX_LEVELS - 1)];
    for level in 0..levels as usize {
        let first = (1usize << level) - 1;
        let mut count = 1usize << level;
        reached[..count].copy_from_slice(&right[first..first + count]);
        // Siblings differ in the last direction taken: select between them by it, then by the
        // one before, up to the root's.
        for &select in went[..level].iter().rev() {
            count /= 2;
            for k in 0..count {
                reached[k] = (reached[2 * k] & !select) | (reached[2 * k + 1] & select);
            }
        }
        went[level] = reached[0];
    }
    went
}

/// One complete tree as predicate masks read it: `levels` levels, node tests `features` /
/// `thresholds` in implicit order (node `i`'s children are `2i + 1` and `2i + 2`), leaf
/// values per last-level slot in `leaves`.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct MaskedTree<'a, T> {
    pub(crate) levels: u32,
    pub(crate) features: &'a [u32],
    pub(crate) thresholds: &'a [T],
    pub(crate) leaves: &'a [T],
}

/// A block's rows as columns, and their margins: value `c` of row `j` is
/// `columns[c * pitch + j]` for `rows <= pitch` rows, and row `j`'s leaf is added to
/// `margins[j * groups + group]`.
#[doc(hidden)]
#[derive(Debug)]
pub struct ColumnBlock<'a, T> {
    pub(crate) columns: &'a [T],
    pub(crate) pitch: usize,
    pub(crate) rows: usize,
    pub(crate) margins: &'a mut [T],
    pub(crate) groups: usize,
    pub(crate) group: usize,
}

/// `$body` with `$l` a constant equal to `$levels` (0 to [`MAX_LEVELS`]): one copy of a
/// kernel per depth, so its level loops unroll and its masks stay in registers.
macro_rules! by_depth {
    ($levels:expr, $l:ident => $body:expr) => {
        $crate::masks::by_depth!(@arms $levels, $l => $body; 0 1 2 3 4 5)
    };
    // One arm per depth; the list ends at MAX_LEVELS (a test checks the two agree).
    (@arms $levels:expr, $l:ident => $body:expr; $($depth:literal)*) => {
        match $levels {
            $($depth => {
                const $l: u32 = $depth;
                $body
            })*
            levels => panic!(
                "a masked tree of {levels} levels (at most {})",
                $crate::masks::MAX_LEVELS
            ),
        }
    };
}
pub(crate) use by_depth;

/// `tree`'s leaves added to every row of `block`, 64 rows at a time.
#[inline]
pub(crate) fn add_tree_rows<T: Float>(tree: MaskedTree<'_, T>, block: ColumnBlock<'_, T>) {
    by_depth!(tree.levels, L => add_tree_rows_at::<T, L>(tree, block))
}

/// [`add_tree_rows`] for a tree of `LEVELS` levels.
fn add_tree_rows_at<T: Float, const LEVELS: u32>(
    tree: MaskedTree<'_, T>,
    block: ColumnBlock<'_, T>,
) {
    let ColumnBlock {
        columns,
        pitch,
        rows,
        margins,
        groups,
        group,
    } = block;
    for r0 in (0..rows).step_by(ROWS) {
        add_tree(
            LEVELS,
            tree.features,
            tree.thresholds,
            tree.leaves,
            &columns[r0..],
            pitch,
            (rows - r0).min(ROWS),
            &mut margins[r0 * groups..],
            groups,
            group,
        );
    }
}

/// One complete tree of `levels` levels over `n <= 64` rows: node tests `features` /
/// `thresholds` in implicit order (node `i`'s children are `2i + 1` and `2i + 2`), leaf values
/// per last-level slot in `leaves`. `columns` holds the rows as columns, `pitch` values
/// apart, starting at the first of the `n` rows. Row `j`'s leaf is added to
/// `margins[j * groups + group]`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn add_tree<T: Float>(
    levels: u32,
    features: &[u32],
    thresholds: &[T],
    leaves: &[T],
    columns: &[T],
    pitch: usize,
    n: usize,
    margins: &mut [T],
    groups: usize,
    group: usize,
) {
    debug_assert!(levels <= MAX_LEVELS && n <= ROWS);
    let levels = levels as usize;
    let internal = (1usize << levels) - 1;
    let mut right = [0u64; (1 << MAX_LEVELS) - 1];
    T::node_masks(
        features,
        thresholds,
        columns,
        pitch,
        n,
        &mut right[..internal],
    );
    let went = directions(levels as u32, &right[..internal]);
    // Eight rows at a time: byte i of `slots` is row (8q + i)'s leaf slot (< 32, so the
    // shifted bits never leave their byte).
    for q in 0..n.div_ceil(8) {
        let mut slots = 0u64;
        for w in &went[..levels] {
            slots = (slots << 1) | SPREAD[((w >> (8 * q)) & 0xFF) as usize];
        }
        for (i, j) in (8 * q..n.min(8 * q + 8)).enumerate() {
            let slot = ((slots >> (8 * i)) & 0xFF) as usize;
            let m = &mut margins[j * groups + group];
            *m = *m + leaves[slot];
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Columns of awkward values: ties with the thresholds, ±0, ±∞ and NaN (which the walk
    /// never sees after its input preparation, but which the test must still send right).
    pub(crate) fn column<T: Float>(seed: u64, len: usize) -> Vec<T> {
        let mut z = seed;
        (0..len)
            .map(|_| {
                z = z
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                match (z >> 33) % 8 {
                    0 => T::NAN,
                    1 => T::INFINITY,
                    2 => T::NEG_INFINITY,
                    3 => T::from_f64(-0.0),
                    _ => T::from_f64(((z >> 40) % 9) as f64 / 4.0 - 1.0),
                }
            })
            .collect()
    }

    /// One implementation of the node tests, by name.
    type Impl<T> = (
        &'static str,
        fn(&[u32], &[T], &[T], usize, usize, &mut [u64]),
    );

    #[allow(clippy::neg_cmp_op_on_partial_ord)]
    fn check<T: Float>(simd: &[Impl<T>]) {
        let pitch = 64;
        let columns: Vec<T> = (0..3).flat_map(|c| column::<T>(c + 1, pitch)).collect();
        let features = [0u32, 1, 2, 1, 0, 2, 2];
        let thresholds: Vec<T> = [0.0, -1.0, 0.25, 1.0, -0.0, 0.5, -0.75]
            .iter()
            .map(|t| T::from_f64(*t))
            .collect();
        for n in 1..=ROWS {
            let mut want = [0u64; 7];
            for (k, (&f, &t)) in features.iter().zip(&thresholds).enumerate() {
                for j in 0..n {
                    let v = columns[f as usize * pitch + j];
                    if !(v <= t) {
                        want[k] |= 1 << j;
                    }
                }
            }
            let mut got = [0u64; 7];
            node_masks_portable(&features, &thresholds, &columns, pitch, n, &mut got);
            assert_eq!(got, want, "portable, {n} rows");
            for (name, f) in simd {
                let mut got = [0u64; 7];
                f(&features, &thresholds, &columns, pitch, n, &mut got);
                assert_eq!(got, want, "{name}, {n} rows");
            }
        }
    }

    #[test]
    fn every_node_test_matches_the_walks_comparison() {
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY (each closure): SSE2 is part of x86-64; the AVX ones only run when the CPU
            // has AVX.
            let avx = std::is_x86_feature_detected!("avx");
            let mut f32s: Vec<Impl<f32>> = vec![("sse2", |f, t, c, p, n, o| unsafe {
                f32_sse2(f, t, c, p, n, o)
            })];
            let mut f64s: Vec<Impl<f64>> = vec![("sse2", |f, t, c, p, n, o| unsafe {
                f64_sse2(f, t, c, p, n, o)
            })];
            if avx {
                f32s.push(("avx", |f, t, c, p, n, o| unsafe {
                    f32_avx(f, t, c, p, n, o)
                }));
                f64s.push(("avx", |f, t, c, p, n, o| unsafe {
                    f64_avx(f, t, c, p, n, o)
                }));
            }
            check::<f32>(&f32s);
            check::<f64>(&f64s);
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            check::<f32>(&[]);
            check::<f64>(&[]);
        }
    }

    #[test]
    fn the_spread_table_puts_bit_k_in_byte_k() {
        assert_eq!(SPREAD[0], 0);
        assert_eq!(SPREAD[0b1000_0001], 0x0100_0000_0000_0001);
        assert_eq!(SPREAD[0xFF], 0x0101_0101_0101_0101);
    }

    #[test]
    fn by_depth_has_one_arm_for_every_depth_up_to_max_levels() {
        for levels in 0..=MAX_LEVELS {
            assert_eq!(by_depth!(levels, L => L), levels);
        }
        let past = std::panic::catch_unwind(|| by_depth!(MAX_LEVELS + 1, L => L));
        assert!(past.is_err(), "a depth past MAX_LEVELS must be refused");
    }
}
