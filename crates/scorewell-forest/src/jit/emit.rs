//! Cranelift IR for a run of trees: a loop over rows, and inside it each tree as nested
//! branches. Every test here restates one of the interpreter's (`CompiledForest::step` and
//! `special_left`, `leaf_value`), on the same prepared row, so the two agree bit for bit.

use std::ops::Range;

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{Block, Function, InstBuilder, MemFlagsData, Type, Value, types};
use cranelift_codegen::isa::TargetFrontendConfig;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};

use crate::compiled::{
    CLinear, CNode, CompiledForest, DEFAULT_LEFT, FEATURE_MASK, LEAF, NO_LINEAR, SPECIAL, Special,
};
use crate::float::Float;
use crate::ir::CategoryCast;
use crate::reference::ZERO_THRESHOLD;

/// Emit `fn(x, rows, margins)` for `trees` into `func`.
pub(super) fn function<T: Float>(
    func: &mut Function,
    builder_ctx: &mut FunctionBuilderContext,
    forest: &CompiledForest<T>,
    trees: Range<usize>,
    words: &[u32],
    config: TargetFrontendConfig,
) {
    let ptr = config.pointer_type();
    let mut b = FunctionBuilder::new(func, builder_ctx);
    let e = Emitter {
        forest,
        words,
        ptr,
        ty: if size_of::<T>() == 4 {
            types::F32
        } else {
            types::F64
        },
        size: size_of::<T>() as i32,
    };

    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    let header = b.create_block();
    for _ in 0..3 {
        b.append_block_param(header, ptr);
    }
    let body = b.create_block();
    let exit = b.create_block();

    b.switch_to_block(entry);
    let params = b.block_params(entry).to_vec();
    b.ins().jump(
        header,
        &[params[0].into(), params[1].into(), params[2].into()],
    );

    // header(x, rows_left, margins): one row per trip.
    b.switch_to_block(header);
    let [x, left, m] = <[Value; 3]>::try_from(b.block_params(header)).expect("three params");
    b.ins().brif(left, body, &[], exit, &[]);

    b.switch_to_block(body);
    // The margins this run of trees touches live in registers for the row.
    let mut groups: Vec<usize> = trees.clone().map(|t| forest.groups[t] as usize).collect();
    groups.sort_unstable();
    groups.dedup();
    let mut acc: Vec<Option<Value>> = vec![None; forest.num_groups];
    for &g in &groups {
        acc[g] = Some(
            b.ins()
                .load(e.ty, MemFlagsData::trusted(), m, e.size * g as i32),
        );
    }
    for t in trees {
        let join = b.create_block();
        b.append_block_param(join, e.ty);
        e.tree(&mut b, t, x, join);
        b.switch_to_block(join);
        let v = b.block_params(join)[0];
        let g = forest.groups[t] as usize;
        let a = acc[g].expect("group loaded above");
        acc[g] = Some(b.ins().fadd(a, v));
    }
    for &g in &groups {
        let a = acc[g].expect("group loaded above");
        b.ins()
            .store(MemFlagsData::trusted(), a, m, e.size * g as i32);
    }
    let row_bytes = (forest.stride * size_of::<T>()) as i64;
    let margin_bytes = (forest.num_groups * size_of::<T>()) as i64;
    let x2 = b.ins().iadd_imm_s(x, row_bytes);
    let left2 = b.ins().iadd_imm_s(left, -1);
    let m2 = b.ins().iadd_imm_s(m, margin_bytes);
    b.ins().jump(header, &[x2.into(), left2.into(), m2.into()]);

    b.switch_to_block(exit);
    b.ins().return_(&[]);
    b.seal_all_blocks();
    b.finalize(config);
}

/// Subtrees of constant leaves at most this high are computed without branches (3 tests for
/// height 2, against 2 branches that each mispredict about half the time on real rows).
const BRANCH_FREE_HEIGHT: u8 = 2;

struct Emitter<'a, T> {
    forest: &'a CompiledForest<T>,
    words: &'a [u32],
    ptr: Type,
    ty: Type,
    size: i32,
}

impl<T: Float> Emitter<'_, T> {
    fn constant(&self, b: &mut FunctionBuilder<'_>, v: T) -> Value {
        if self.ty == types::F32 {
            b.ins().f32const(v.to_f64() as f32)
        } else {
            b.ins().f64const(v.to_f64())
        }
    }

    fn load(&self, b: &mut FunctionBuilder<'_>, x: Value, slot: usize) -> Value {
        // Rows are only read while the function runs and nothing writes them meanwhile.
        let flags = MemFlagsData::trusted().with_readonly();
        b.ins().load(self.ty, flags, x, self.size * slot as i32)
    }

    /// Tree `t` for the row at `x`, ending with a jump to `join` carrying its value. Emitted
    /// depth first, left child first, so the left path falls through.
    fn tree(&self, b: &mut FunctionBuilder<'_>, t: usize, x: Value, join: Block) {
        let nodes = &self.forest.nodes;
        let root = self.forest.roots[t];
        let heights = self.plain_heights(t);
        let height = |i: u32| heights[(i - root) as usize];
        // (node, the block that holds it; None for the root, which continues the current one)
        let mut stack: Vec<(u32, Option<Block>)> = vec![(root, None)];
        while let Some((i, block)) = stack.pop() {
            if let Some(block) = block {
                b.switch_to_block(block);
            }
            let node = nodes[i as usize];
            if node.feature & LEAF != 0 {
                let v = self.leaf(b, t, i, x, join);
                b.ins().jump(join, &[v.into()]);
                continue;
            }
            if height(i) <= BRANCH_FREE_HEIGHT {
                // The bottom levels: a few compares and selects cost less than the branch
                // mispredictions they replace, which dominate on unpredictable data.
                let v = self.branch_free(b, i, x);
                b.ins().jump(join, &[v.into()]);
                continue;
            }
            let go_left = self.test(b, &node, x);
            let (l, r) = (node.left, node.left + 1);
            // A child that is a plain leaf is a jump to `join` with its value: no block.
            let target = |b: &mut FunctionBuilder<'_>, child: u32, stack: &mut Vec<_>| {
                let c = nodes[child as usize];
                if c.feature & LEAF != 0 && !self.is_linear(child) {
                    let v = self.constant(b, c.value);
                    (join, vec![v.into()])
                } else {
                    let blk = b.create_block();
                    stack.push((child, Some(blk)));
                    (blk, vec![])
                }
            };
            // Push right before left so the left subtree is emitted next.
            let (rb, ra) = target(b, r, &mut stack);
            let (lb, la) = target(b, l, &mut stack);
            b.ins().brif(go_left, lb, &la, rb, &ra);
        }
    }

    /// Per node of tree `t` (from its root): the height of its subtree when every leaf in it
    /// is a constant, else `u8::MAX`. Children follow their parents in the compiled layout,
    /// so one backward pass sees every child first.
    fn plain_heights(&self, t: usize) -> Vec<u8> {
        let root = self.forest.roots[t] as usize;
        let end = self
            .forest
            .roots
            .get(t + 1)
            .map_or(self.forest.nodes.len(), |r| *r as usize);
        let mut h = vec![u8::MAX; end - root];
        for i in (root..end).rev() {
            let node = &self.forest.nodes[i];
            h[i - root] = if node.feature & LEAF != 0 {
                if self.is_linear(i as u32) { u8::MAX } else { 0 }
            } else {
                let l = h[node.left as usize - root];
                let r = h[node.left as usize + 1 - root];
                l.max(r).saturating_add(1)
            };
        }
        h
    }

    /// A subtree of constant leaves as selects: every test is computed, no branch taken.
    fn branch_free(&self, b: &mut FunctionBuilder<'_>, i: u32, x: Value) -> Value {
        let node = self.forest.nodes[i as usize];
        if node.feature & LEAF != 0 {
            return self.constant(b, node.value);
        }
        let go_left = self.test(b, &node, x);
        let l = self.branch_free(b, node.left, x);
        let r = self.branch_free(b, node.left + 1, x);
        b.ins().select(go_left, l, r)
    }

    fn is_linear(&self, i: u32) -> bool {
        !self.forest.linear_of.is_empty() && self.forest.linear_of[i as usize] != NO_LINEAR
    }

    /// The condition "go left" at a split (an `i8`).
    fn test(&self, b: &mut FunctionBuilder<'_>, node: &CNode<T>, x: Value) -> Value {
        let feature = (node.feature & FEATURE_MASK) as usize;
        if node.feature & SPECIAL == 0 {
            // The compiled node reads the row copy whose NaN stand-in goes its default way.
            let v = self.load(b, x, feature);
            let t = self.constant(b, node.value);
            return b.ins().fcmp(FloatCC::LessThanOrEqual, v, t);
        }
        let default_left = node.feature & DEFAULT_LEFT != 0;
        let raw = self.raw(b, x, feature);
        match &self.forest.specials[node.value.to_f64() as usize] {
            Special::Numeric { threshold } => {
                // (x <= t) | (isnan(x) & default_left); a NaN threshold sends only NaN left.
                let t = self.constant(b, *threshold);
                let le = b.ins().fcmp(FloatCC::LessThanOrEqual, raw, t);
                if default_left {
                    let nan = b.ins().fcmp(FloatCC::Unordered, raw, raw);
                    b.ins().bor(le, nan)
                } else {
                    le
                }
            }
            Special::ZeroMissing { threshold } => {
                // NaN or |x| <= kZeroThreshold follows the default; else x <= t. The zero
                // threshold is a float literal, exact in both precisions.
                let a = b.ins().fabs(raw);
                let z = self.constant(b, T::from_f64(ZERO_THRESHOLD));
                let zero = b.ins().fcmp(FloatCC::UnorderedOrLessThanOrEqual, a, z);
                let t = self.constant(b, *threshold);
                let le = b.ins().fcmp(FloatCC::LessThanOrEqual, raw, t);
                let dl = b.ins().iconst(types::I8, i64::from(default_left));
                b.ins().select(zero, dl, le)
            }
            Special::Categorical {
                words,
                in_set_goes_left,
                nan,
                cast,
            } => {
                let in_set = self.in_set(b, raw, words.clone(), *cast);
                let left = if *in_set_goes_left {
                    in_set
                } else {
                    b.ins().icmp_imm_u(IntCC::Equal, in_set, 0)
                };
                let nan_left = nan.goes_left(default_left);
                let is_nan = b.ins().fcmp(FloatCC::Unordered, raw, raw);
                let nl = b.ins().iconst(types::I8, i64::from(nan_left));
                b.ins().select(is_nan, nl, left)
            }
        }
    }

    /// The raw value of `feature`: NaN where the row's two copies differ.
    fn raw(&self, b: &mut FunctionBuilder<'_>, x: Value, feature: usize) -> Value {
        let lo = self.load(b, x, feature);
        let hi = self.load(b, x, feature + self.forest.width);
        let same = b.ins().fcmp(FloatCC::Equal, lo, hi);
        let nan = self.constant(b, T::NAN);
        b.ins().select(same, lo, nan)
    }

    /// Whether a non-NaN `x` is in the category set `words` (`in_category_set`), as an `i8`.
    /// Every operation is total (a saturating conversion, a clamped word index), so the result
    /// of an out-of-range value is computed and then masked, with no branch.
    fn in_set(
        &self,
        b: &mut FunctionBuilder<'_>,
        x: Value,
        words: Range<usize>,
        cast: CategoryCast,
    ) -> Value {
        if words.is_empty() {
            return b.ins().iconst(types::I8, 0);
        }
        let x = if self.ty == types::F32 {
            b.ins().fpromote(types::F64, x)
        } else {
            x
        };
        let zero = b.ins().f64const(0.0);
        let in_range = |b: &mut FunctionBuilder<'_>, v: Value, limit: f64| {
            let lim = b.ins().f64const(limit);
            let ge = b.ins().fcmp(FloatCC::GreaterThanOrEqual, v, zero);
            let lt = b.ins().fcmp(FloatCC::LessThan, v, lim);
            b.ins().band(ge, lt)
        };
        let (ok, c) = match cast {
            CategoryCast::CheckThenTruncate => {
                let ok = in_range(b, x, 16_777_216.0);
                (ok, b.ins().fcvt_to_uint_sat(types::I64, x))
            }
            CategoryCast::TruncateThenCheck => {
                let t = b.ins().trunc(x);
                let ok = in_range(b, t, 2_147_483_648.0);
                (ok, b.ins().fcvt_to_uint_sat(types::I64, t))
            }
            CategoryCast::Exact => {
                let ok = in_range(b, x, 2_147_483_648.0);
                let t = b.ins().trunc(x);
                let whole = b.ins().fcmp(FloatCC::Equal, t, x);
                (
                    b.ins().band(ok, whole),
                    b.ins().fcvt_to_uint_sat(types::I64, x),
                )
            }
        };
        let word = b.ins().ushr_imm_u(c, 5);
        let len = (words.end - words.start) as i64;
        let in_words = b.ins().icmp_imm_u(IntCC::UnsignedLessThan, word, len);
        let ok = b.ins().band(ok, in_words);
        let zero_word = b.ins().iconst(types::I64, 0);
        let index = b.ins().select(ok, word, zero_word);
        let offset = b.ins().ishl_imm_u(index, 2);
        let base_addr = self.words[words.start..].as_ptr() as i64;
        let base = b.ins().iconst(self.ptr, base_addr);
        let offset = if self.ptr == types::I64 {
            offset
        } else {
            b.ins().ireduce(self.ptr, offset)
        };
        let addr = b.ins().iadd(base, offset);
        let w = b
            .ins()
            .load(types::I32, MemFlagsData::trusted().with_readonly(), addr, 0);
        let c32 = b.ins().ireduce(types::I32, c);
        let shift = b.ins().band_imm_u(c32, 31);
        let bits = b.ins().ushr(w, shift);
        let bit = b.ins().band_imm_u(bits, 1);
        let set = b.ins().icmp_imm_u(IntCC::NotEqual, bit, 0);
        b.ins().band(ok, set)
    }

    /// The value of leaf `i` of tree `t`: its constant, or its linear model on the row.
    fn leaf(&self, b: &mut FunctionBuilder<'_>, t: usize, i: u32, x: Value, join: Block) -> Value {
        let node = self.forest.nodes[i as usize];
        if !self.is_linear(i) {
            return self.constant(b, node.value);
        }
        let lin: &CLinear = &self.forest.linear_leaves[self.forest.linear_of[i as usize] as usize];
        let weight = self.forest.tree_weight[t];
        // A NaN input gives the leaf's constant output instead, in the tree's weight.
        let fallback = node.value * weight;
        let mut acc = b.ins().f64const(lin.constant);
        for (f, c) in lin.features.iter().zip(&lin.coefficients) {
            let raw = self.raw(b, x, *f as usize);
            let v = if self.ty == types::F32 {
                b.ins().fpromote(types::F64, raw)
            } else {
                raw
            };
            let is_nan = b.ins().fcmp(FloatCC::Unordered, v, v);
            let fb = self.constant(b, fallback);
            let next = b.create_block();
            b.ins().brif(is_nan, join, &[fb.into()], next, &[]);
            b.switch_to_block(next);
            let c = b.ins().f64const(*c);
            let p = b.ins().fmul(c, v);
            acc = b.ins().fadd(acc, p);
        }
        let v = if self.ty == types::F32 {
            b.ins().fdemote(types::F32, acc)
        } else {
            acc
        };
        let w = self.constant(b, weight);
        b.ins().fmul(v, w)
    }
}
