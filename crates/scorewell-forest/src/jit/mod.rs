//! Native code for a compiled forest, generated at load time with Cranelift.
//!
//! The generated code replaces only the interpreter's tree walks ([`Code::accumulate`]): it reads
//! the same prepared block of rows (each row's NaN→-∞ and NaN→+∞ copies, see
//! [`crate::compiled`]) and adds each tree's leaf value into the same margins, tree by tree in
//! model order, so its results are the interpreter's bit for bit. Everything around the walks
//! (input rules, base margins, the linear term, averaging, links) stays shared Rust code.
//!
//! Shape of the code (see [`emit`]): every tree becomes nested branches whose thresholds and
//! leaf values are immediates, so a split costs one load of the row's value, one compare and one
//! branch, with no node array to fetch. Trees are grouped into functions of a bounded size; each
//! function loops over all rows of a block before the next function runs, so one function's
//! code stays in the instruction cache while it serves the whole block.
//!
//! Memory: Cranelift's JIT module writes the code into pages that become read-and-execute only
//! when writing is finished (`finalize_definitions`), never writable and executable at once.

mod emit;

use std::time::Instant;

use cranelift_codegen::ir::{AbiParam, UserFuncName};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::FunctionBuilderContext;
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{Linkage, Module, default_libcall_names};

use crate::compiled::CompiledForest;
use crate::engine::{EngineInfo, Running};
use crate::float::Float;

/// Nodes per generated function. A function of this size is about 10–20 KiB of code, inside a
/// core's L1 instruction cache while it loops over a block of rows; it also keeps Cranelift's
/// per-function passes (register allocation) small.
const NODES_PER_FUNCTION: usize = 1024;

/// One generated function: adds its trees' leaf values for `rows` rows of a prepared block
/// (`x`, `stride` values a row) into `margins` (`num_groups` values a row).
type ChunkFn = unsafe extern "C" fn(x: *const u8, rows: usize, margins: *mut u8);

/// Generated code for one forest.
pub(crate) struct Code {
    /// Owns the executable memory; taken in `Drop` to free it.
    module: Option<JITModule>,
    functions: Vec<ChunkFn>,
    /// The category bitsets, at the address the code was generated with.
    _words: Box<[u32]>,
    pub(crate) info: EngineInfo,
}

// SAFETY: after `finalize_definitions` the module is only touched again by `Drop`, which has
// exclusive access; the functions are pure reads of their arguments and of `_words`, which
// never changes, so calling them from several threads at once is sound.
unsafe impl Send for Code {}
// SAFETY: as above.
unsafe impl Sync for Code {}

impl Drop for Code {
    fn drop(&mut self) {
        if let Some(module) = self.module.take() {
            // SAFETY: `functions` dies with `self`; no pointer into the module outlives it.
            unsafe { module.free_memory() };
        }
    }
}

impl std::fmt::Debug for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Code").field("info", &self.info).finish()
    }
}

impl Code {
    /// Add every tree's value for `rows` prepared rows in `x` into `margins`.
    pub(crate) fn accumulate<T: Float>(
        &self,
        forest: &CompiledForest<T>,
        x: &[T],
        rows: usize,
        margins: &mut [T],
    ) {
        assert!(x.len() >= rows * forest.stride && margins.len() >= rows * forest.num_groups);
        for f in &self.functions {
            // SAFETY: the code reads at most `stride` values of each of `rows` rows of `x` and
            // writes `num_groups` values of each row of `margins` (checked above); it was
            // generated for this forest's stride, groups and precision (`compile`).
            unsafe { f(x.as_ptr().cast(), rows, margins.as_mut_ptr().cast()) };
        }
    }
}

/// Generate code for `forest`. An error names why it could not (an unsupported target, a
/// Cranelift failure); the caller then interprets.
pub(crate) fn compile<T: Float>(forest: &CompiledForest<T>) -> Result<Code, String> {
    let started = Instant::now();
    let mut flags = settings::builder();
    let set = |flags: &mut settings::Builder, k: &str, v: &str| {
        flags
            .set(k, v)
            .map_err(|e| format!("code generator setting {k}={v}: {e}"))
    };
    set(&mut flags, "opt_level", "speed")?;
    // The JIT places code anywhere in memory: no PC-relative calls to libraries.
    set(&mut flags, "is_pic", "false")?;
    set(&mut flags, "use_colocated_libcalls", "false")?;
    // The IR verifier doubles compile time; the emitter's output is checked by the tests,
    // which run it in debug builds.
    set(
        &mut flags,
        "enable_verifier",
        if cfg!(debug_assertions) {
            "true"
        } else {
            "false"
        },
    )?;
    let isa = cranelift_native::builder()
        .map_err(|e| format!("no code generator for this CPU: {e}"))?
        .finish(settings::Flags::new(flags))
        .map_err(|e| format!("code generator setup: {e}"))?;
    let mut module = JITModule::new(JITBuilder::with_isa(isa, default_libcall_names()));

    let words: Box<[u32]> = forest.category_words.clone().into_boxed_slice();
    let mut ctx = module.make_context();
    let mut builder_ctx = FunctionBuilderContext::new();
    let mut ids = Vec::new();
    let mut code_bytes = 0usize;
    for (n, trees) in chunks(forest).into_iter().enumerate() {
        let mut sig = module.make_signature();
        let ptr = module.target_config().pointer_type();
        sig.params.extend([AbiParam::new(ptr); 3]);
        let id = module
            .declare_function(&format!("trees_{n}"), Linkage::Local, &sig)
            .map_err(|e| format!("code generator: {e}"))?;
        ctx.func.signature = sig;
        ctx.func.name = UserFuncName::user(0, id.as_u32());
        emit::function(
            &mut ctx.func,
            &mut builder_ctx,
            forest,
            trees,
            &words,
            module.target_config(),
        );
        module
            .define_function(id, &mut ctx)
            .map_err(|e| format!("code generator: {e:?}"))?;
        code_bytes += ctx
            .compiled_code()
            .map_or(0, |c| c.code_info().total_size as usize);
        module.clear_context(&mut ctx);
        ids.push(id);
    }
    module
        .finalize_definitions()
        .map_err(|e| format!("code generator: {e}"))?;
    let functions = ids
        .iter()
        .map(|id| {
            let p = module.get_finalized_function(*id);
            // SAFETY: `p` is a finalized function generated with the signature `ChunkFn`
            // declares (three pointer-sized arguments, the platform's C convention).
            unsafe { std::mem::transmute::<*const u8, ChunkFn>(p) }
        })
        .collect::<Vec<_>>();
    let info = EngineInfo {
        compiled: true,
        running: Running::Code,
        running_small: Running::Code,
        reason: None,
        compile_ms: started.elapsed().as_secs_f64() * 1e3,
        code_bytes,
        functions: functions.len(),
    };
    Ok(Code {
        module: Some(module),
        functions,
        _words: words,
        info,
    })
}

/// Runs of whole trees, each up to [`NODES_PER_FUNCTION`] nodes (a bigger tree alone).
fn chunks<T: Float>(forest: &CompiledForest<T>) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut nodes = 0;
    for t in 0..forest.roots.len() {
        let size = tree_size(forest, t);
        if nodes > 0 && nodes + size > NODES_PER_FUNCTION {
            out.push(start..t);
            start = t;
            nodes = 0;
        }
        nodes += size;
    }
    if start < forest.roots.len() {
        out.push(start..forest.roots.len());
    }
    out
}

/// Nodes of tree `t`: trees are stored one after another, so up to the next root.
fn tree_size<T: Float>(forest: &CompiledForest<T>, t: usize) -> usize {
    let end = forest
        .roots
        .get(t + 1)
        .map_or(forest.nodes.len(), |r| *r as usize);
    end - forest.roots[t] as usize
}
