//! AVX2 walks through the implicit top levels of trees, eight walks at a time.
//!
//! Each lane walks its own tree (`base[l]`: where that tree's implicit nodes start) over its own
//! row (`row[l]`: where that row's features start in the block). One step gathers the lanes'
//! feature ids, thresholds and feature values, compares, and moves every lane to
//! `2i + 1 + went_right`; the arithmetic is the scalar path's, lane by lane, so results are
//! identical. Callers fall back to the scalar walk when AVX2 is absent or a tree has flagged
//! (categorical, zero-as-missing) nodes.

use crate::compiled::{DEFAULT_LEFT, FEATURE_MASK};

/// Lanes per call.
pub(crate) const WIDTH: usize = 8;

/// Whether this CPU can run the AVX2 walks (checked once; `is_x86_feature_detected!` caches).
#[inline]
pub(crate) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Walk `levels` implicit levels in `f32`; returns each lane's position (`2^levels - 1 ..`).
///
/// # Safety
/// AVX2 must be available; for every lane, `base[l] + i < feature.len()` and `< value.len()` for
/// every position `i < 2^levels - 1`, and `row[l] + f < x.len()` for every feature id `f` in
/// those nodes. All offsets must fit in `i32`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn walk_f32(
    feature: &[u32],
    value: &[f32],
    base: &[u32; WIDTH],
    x: &[f32],
    row: &[u32; WIDTH],
    levels: u32,
) -> [u32; WIDTH] {
    use std::arch::x86_64::*;
    // SAFETY: the caller guarantees AVX2 and that every gathered offset is in bounds.
    unsafe {
        let base = _mm256_loadu_si256(base.as_ptr().cast());
        let row = _mm256_loadu_si256(row.as_ptr().cast());
        let mask = _mm256_set1_epi32(FEATURE_MASK as i32);
        let two = _mm256_set1_epi32(2);
        let mut pos = _mm256_setzero_si256();
        for _ in 0..levels {
            let at = _mm256_add_epi32(base, pos);
            let f = _mm256_i32gather_epi32::<4>(feature.as_ptr().cast(), at);
            let t = _mm256_i32gather_ps::<4>(value.as_ptr(), at);
            let xi = _mm256_add_epi32(_mm256_and_si256(f, mask), row);
            let v = _mm256_i32gather_ps::<4>(x.as_ptr(), xi);
            let le = _mm256_castps_si256(_mm256_cmp_ps::<_CMP_LE_OQ>(v, t));
            let nan = _mm256_castps_si256(_mm256_cmp_ps::<_CMP_UNORD_Q>(v, v));
            // DEFAULT_LEFT is the sign bit: an arithmetic shift spreads it over the lane.
            let dl = _mm256_srai_epi32::<31>(f);
            let left = _mm256_or_si256(le, _mm256_and_si256(nan, dl));
            // pos = 2 pos + 2 - (left ? 1 : 0); `left` is -1 where true.
            pos = _mm256_add_epi32(_mm256_add_epi32(_mm256_add_epi32(pos, pos), two), left);
        }
        let mut out = [0u32; WIDTH];
        _mm256_storeu_si256(out.as_mut_ptr().cast(), pos);
        out
    }
}

/// [`walk_f32`] in `f64`: two groups of four lanes, interleaved.
///
/// # Safety
/// As for [`walk_f32`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn walk_f64(
    feature: &[u32],
    value: &[f64],
    base: &[u32; WIDTH],
    x: &[f64],
    row: &[u32; WIDTH],
    levels: u32,
) -> [u32; WIDTH] {
    use std::arch::x86_64::*;
    // SAFETY: the caller guarantees AVX2 and that every gathered offset is in bounds.
    unsafe {
        let mask = _mm_set1_epi32(FEATURE_MASK as i32);
        let two = _mm_set1_epi32(2);
        // Packs the low 32 bits of each 64-bit compare mask into four 32-bit lanes.
        let pack = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
        let halves = [0usize, 4];
        let bases = halves.map(|h| _mm_loadu_si128(base[h..].as_ptr().cast()));
        let rows = halves.map(|h| _mm_loadu_si128(row[h..].as_ptr().cast()));
        let mut pos = [_mm_setzero_si128(); 2];
        for _ in 0..levels {
            for h in 0..2 {
                let at = _mm_add_epi32(bases[h], pos[h]);
                let f = _mm_i32gather_epi32::<4>(feature.as_ptr().cast(), at);
                let t = _mm256_i32gather_pd::<8>(value.as_ptr(), at);
                let xi = _mm_add_epi32(_mm_and_si128(f, mask), rows[h]);
                let v = _mm256_i32gather_pd::<8>(x.as_ptr(), xi);
                let le = _mm256_castpd_si256(_mm256_cmp_pd::<_CMP_LE_OQ>(v, t));
                let nan = _mm256_castpd_si256(_mm256_cmp_pd::<_CMP_UNORD_Q>(v, v));
                let le = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(le, pack));
                let nan = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(nan, pack));
                let dl = _mm_srai_epi32::<31>(f);
                let left = _mm_or_si128(le, _mm_and_si128(nan, dl));
                pos[h] = _mm_add_epi32(_mm_add_epi32(_mm_add_epi32(pos[h], pos[h]), two), left);
            }
        }
        let mut out = [0u32; WIDTH];
        _mm_storeu_si128(out.as_mut_ptr().cast(), pos[0]);
        _mm_storeu_si128(out[4..].as_mut_ptr().cast(), pos[1]);
        out
    }
}

const _: () = assert!(
    DEFAULT_LEFT == 1 << 31,
    "walks read default_left from the sign bit"
);

/// Continue eight walks through the pointer layout until every lane sits on a leaf; returns
/// the leaf node indices. `nodes` points at the compiled node array: each node is
/// `{value: T, feature: u32, children: [u32; 2]}` (`repr(C)`), `size` bytes long, with the
/// feature at `feature_at` and the children at `children_at`; only those fields are read,
/// never padding. Leaves point at themselves.
///
/// # Safety
/// AVX2 must be available; `nodes` must point at the node array, and every `start[l]` and
/// every child reachable from it must be an index into it; `row[l] + f < x.len()` for every
/// feature id `f` reached; the array's byte length must fit in `i32`; no reachable node may
/// carry the SPECIAL flag.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn descend_f32(
    nodes: *const u8,
    size: usize,
    feature_at: usize,
    children_at: usize,
    start: &[u32; WIDTH],
    x: &[f32],
    row: &[u32; WIDTH],
) -> [u32; WIDTH] {
    use std::arch::x86_64::*;
    // SAFETY: the caller guarantees AVX2 and that every gathered offset is in bounds.
    unsafe {
        let base = nodes;
        let row = _mm256_loadu_si256(row.as_ptr().cast());
        let mask = _mm256_set1_epi32(FEATURE_MASK as i32);
        let leaf = _mm256_set1_epi32(crate::compiled::LEAF as i32);
        let size_v = _mm256_set1_epi32(size as i32);
        let feat_off = _mm256_set1_epi32(feature_at as i32);
        let right_off = _mm256_set1_epi32(children_at as i32 + 4);
        let mut idx = _mm256_loadu_si256(start.as_ptr().cast());
        loop {
            let off = _mm256_mullo_epi32(idx, size_v);
            let f = _mm256_i32gather_epi32::<1>(base.cast(), _mm256_add_epi32(off, feat_off));
            let at_leaf = _mm256_cmpeq_epi32(_mm256_and_si256(f, leaf), leaf);
            if _mm256_movemask_epi8(at_leaf) == -1 {
                break;
            }
            let t = _mm256_i32gather_ps::<1>(base.cast(), off);
            let xi = _mm256_add_epi32(_mm256_and_si256(f, mask), row);
            let v = _mm256_i32gather_ps::<4>(x.as_ptr(), xi);
            let le = _mm256_castps_si256(_mm256_cmp_ps::<_CMP_LE_OQ>(v, t));
            let nan = _mm256_castps_si256(_mm256_cmp_ps::<_CMP_UNORD_Q>(v, v));
            let dl = _mm256_srai_epi32::<31>(f);
            let left = _mm256_or_si256(le, _mm256_and_si256(nan, dl));
            // Right child at children_at + 4, left at children_at: `left` is -1 where true.
            let child = _mm256_add_epi32(
                _mm256_add_epi32(off, right_off),
                _mm256_slli_epi32::<2>(left),
            );
            idx = _mm256_i32gather_epi32::<1>(base.cast(), child);
        }
        let mut out = [0u32; WIDTH];
        _mm256_storeu_si256(out.as_mut_ptr().cast(), idx);
        out
    }
}

/// [`descend_f32`] with `f64` values: two groups of four lanes.
///
/// # Safety
/// As for [`descend_f32`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn descend_f64(
    nodes: *const u8,
    size: usize,
    feature_at: usize,
    children_at: usize,
    start: &[u32; WIDTH],
    x: &[f64],
    row: &[u32; WIDTH],
) -> [u32; WIDTH] {
    use std::arch::x86_64::*;
    // SAFETY: the caller guarantees AVX2 and that every gathered offset is in bounds.
    unsafe {
        let base = nodes;
        let mask = _mm_set1_epi32(FEATURE_MASK as i32);
        let leaf = _mm_set1_epi32(crate::compiled::LEAF as i32);
        let size_v = _mm_set1_epi32(size as i32);
        let feat_off = _mm_set1_epi32(feature_at as i32);
        let right_off = _mm_set1_epi32(children_at as i32 + 4);
        let pack = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
        let halves = [0usize, 4];
        let rows = halves.map(|h| _mm_loadu_si128(row[h..].as_ptr().cast()));
        let mut idx = halves.map(|h| _mm_loadu_si128(start[h..].as_ptr().cast()));
        loop {
            let mut all_leaves = true;
            for h in 0..2 {
                let off = _mm_mullo_epi32(idx[h], size_v);
                let f = _mm_i32gather_epi32::<1>(base.cast(), _mm_add_epi32(off, feat_off));
                let at_leaf = _mm_cmpeq_epi32(_mm_and_si128(f, leaf), leaf);
                if _mm_movemask_epi8(at_leaf) == 0xffff {
                    continue;
                }
                all_leaves = false;
                let t = _mm256_i32gather_pd::<1>(base.cast(), off);
                let xi = _mm_add_epi32(_mm_and_si128(f, mask), rows[h]);
                let v = _mm256_i32gather_pd::<8>(x.as_ptr(), xi);
                let le = _mm256_castpd_si256(_mm256_cmp_pd::<_CMP_LE_OQ>(v, t));
                let nan = _mm256_castpd_si256(_mm256_cmp_pd::<_CMP_UNORD_Q>(v, v));
                let le = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(le, pack));
                let nan = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(nan, pack));
                let dl = _mm_srai_epi32::<31>(f);
                let left = _mm_or_si128(le, _mm_and_si128(nan, dl));
                let child = _mm_add_epi32(_mm_add_epi32(off, right_off), _mm_slli_epi32::<2>(left));
                idx[h] = _mm_i32gather_epi32::<1>(base.cast(), child);
            }
            if all_leaves {
                break;
            }
        }
        let mut out = [0u32; WIDTH];
        _mm_storeu_si128(out.as_mut_ptr().cast(), idx[0]);
        _mm_storeu_si128(out[4..].as_mut_ptr().cast(), idx[1]);
        out
    }
}
