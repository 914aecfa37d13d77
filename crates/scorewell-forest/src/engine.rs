//! Which evaluator scores a forest: the interpreter (always there) or native code generated at
//! load time (the `jit` feature), chosen per forest with a process-wide default.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU8, Ordering};

/// How a forest is turned into something that scores rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Engine {
    /// Generate native code when this build can and the model is worth it (see
    /// [`EngineInfo::reason`]); interpret otherwise.
    #[default]
    Auto,
    /// Always interpret.
    Interpret,
    /// Generate native code whenever this build can, whatever the model's size; a model whose
    /// code would exceed the size limit, or a build without the `jit` feature, is interpreted
    /// and says why.
    Compile,
}

impl Engine {
    /// The name `--engine` and `SCOREWELL_ENGINE` take.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Auto => "auto",
            Engine::Interpret => "interpret",
            Engine::Compile => "compile",
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Engine {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Engine::Auto),
            "interpret" => Ok(Engine::Interpret),
            "compile" => Ok(Engine::Compile),
            other => Err(format!(
                "unknown engine {other:?}: expected auto, interpret or compile"
            )),
        }
    }
}

/// Whether this build carries the code generator.
pub const JIT_AVAILABLE: bool = cfg!(feature = "jit");

// 0 = not set yet (read SCOREWELL_ENGINE on first use), then 1 + the Engine's index.
static DEFAULT_ENGINE: AtomicU8 = AtomicU8::new(0);

/// Set the engine [`crate::Predictor::compile`] uses from now on in this process (the CLI's
/// `--engine`). Overrides `SCOREWELL_ENGINE`.
pub fn set_default_engine(engine: Engine) {
    DEFAULT_ENGINE.store(1 + engine as u8, Ordering::Relaxed);
}

/// The engine [`crate::Predictor::compile`] uses: the last [`set_default_engine`], else the
/// `SCOREWELL_ENGINE` environment variable (`auto`, `interpret`, `compile`), else
/// [`Engine::Auto`]. An unreadable variable is reported once and ignored.
pub fn default_engine() -> Engine {
    match DEFAULT_ENGINE.load(Ordering::Relaxed) {
        0 => {
            let engine = match std::env::var("SCOREWELL_ENGINE") {
                Ok(v) => v.parse().unwrap_or_else(|e| {
                    tracing::warn!("SCOREWELL_ENGINE ignored: {e}");
                    Engine::Auto
                }),
                Err(_) => Engine::Auto,
            };
            set_default_engine(engine);
            engine
        }
        1 => Engine::Auto,
        2 => Engine::Interpret,
        _ => Engine::Compile,
    }
}

/// Which evaluator scores a forest's rows now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Running {
    /// The interpreter.
    Interpreter,
    /// The generated code.
    Code,
    /// [`Engine::Auto`] with both available: calls take turns, timed, until each has scored
    /// enough rows; then the faster keeps every call. Their results are identical, so only
    /// the speed depends on the choice.
    Measuring,
}

impl Running {
    /// `"compile"`, `"interpret"` or `"measuring"`.
    pub fn name(self) -> &'static str {
        match self {
            Running::Code => "compile",
            Running::Interpreter => "interpret",
            Running::Measuring => "measuring",
        }
    }
}

/// What scores a compiled forest, and what generating its code cost.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineInfo {
    /// True when native code was generated for it.
    pub compiled: bool,
    /// Which evaluator scores rows now (calls of 8 rows or more).
    pub running: Running,
    /// Which evaluator scores calls of fewer than 8 rows (single-row requests), chosen apart:
    /// the interpreter walks such rows through eight trees at once instead of eight rows
    /// through one tree, so the faster evaluator can differ.
    pub running_small: Running,
    /// Why the interpreter runs when native code was not generated (`None` when compiled, or
    /// when the interpreter was asked for).
    pub reason: Option<String>,
    /// Milliseconds spent generating code (0 when interpreted).
    pub compile_ms: f64,
    /// Bytes of generated machine code (0 when interpreted).
    pub code_bytes: usize,
    /// Generated functions (each covers a run of whole trees).
    pub functions: usize,
}

impl EngineInfo {
    pub(crate) fn interpreted(reason: Option<String>) -> Self {
        Self {
            compiled: false,
            running: Running::Interpreter,
            running_small: Running::Interpreter,
            reason,
            compile_ms: 0.0,
            code_bytes: 0,
            functions: 0,
        }
    }

    /// `"compile"`, `"interpret"` or `"measuring"`: the evaluator that runs now.
    pub fn name(&self) -> &'static str {
        self.running.name()
    }
}

impl fmt::Display for EngineInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.compiled {
            let code = format!(
                "{} KiB in {} functions, generated in {:.0} ms",
                self.code_bytes.div_ceil(1024),
                self.functions,
                self.compile_ms
            );
            match self.running {
                Running::Code => write!(f, "native code ({code})"),
                Running::Interpreter => write!(
                    f,
                    "interpreter, measured faster than the native code ({code}) on these rows"
                ),
                Running::Measuring => write!(
                    f,
                    "native code ({code}) and interpreter, timed on the first rows to keep the faster"
                ),
            }?;
            if self.running_small != self.running {
                write!(f, "; single rows: {}", self.running_small.name())?;
            }
            Ok(())
        } else {
            match &self.reason {
                Some(r) => write!(f, "interpreter ({r})"),
                None => f.write_str("interpreter"),
            }
        }
    }
}

/// Rows each evaluator scores, timed, before [`Engine::Auto`] keeps the faster one.
#[cfg(feature = "jit")]
const MEASURE_ROWS: u64 = 4096;

/// [`Engine::Auto`]'s choice between generated code and the interpreter for one forest, made
/// by timing both on the rows it is first given: which is faster depends on the rows as much
/// as on the model (branchy native code wins when splits are predictable, the interpreter's
/// branch-free lockstep walks when they are not), so no rule decided at load time fits all.
#[cfg(feature = "jit")]
#[derive(Debug, Default)]
pub(crate) struct Chooser {
    /// 0 measuring, 1 interpreter, 2 code.
    state: AtomicU8,
    turn: std::sync::atomic::AtomicU64,
    nanos: [std::sync::atomic::AtomicU64; 2],
    rows: [std::sync::atomic::AtomicU64; 2],
}

#[cfg(feature = "jit")]
impl Chooser {
    /// Whether this call uses the code, and whether to time it.
    pub(crate) fn pick(&self) -> (bool, bool) {
        match self.state.load(Ordering::Relaxed) {
            1 => (false, false),
            2 => (true, false),
            _ => (self.turn.fetch_add(1, Ordering::Relaxed) % 2 == 1, true),
        }
    }

    /// Record a timed call; decide once both have scored [`MEASURE_ROWS`].
    pub(crate) fn record(&self, code: bool, rows: usize, nanos: u64) {
        let i = usize::from(code);
        self.nanos[i].fetch_add(nanos, Ordering::Relaxed);
        self.rows[i].fetch_add(rows as u64, Ordering::Relaxed);
        let [r0, r1] = [0, 1].map(|i| self.rows[i].load(Ordering::Relaxed));
        if r0 >= MEASURE_ROWS && r1 >= MEASURE_ROWS {
            let [n0, n1] = [0, 1].map(|i| self.nanos[i].load(Ordering::Relaxed) as f64);
            let code_faster = n1 / r1 as f64 <= n0 / r0 as f64;
            self.state
                .store(if code_faster { 2 } else { 1 }, Ordering::Relaxed);
        }
    }

    pub(crate) fn running(&self) -> Running {
        match self.state.load(Ordering::Relaxed) {
            1 => Running::Interpreter,
            2 => Running::Code,
            _ => Running::Measuring,
        }
    }
}
