//! A pickle interpreter that builds values and never calls anything.
//!
//! Protocols 2–5 with in-band data. `GLOBAL` only records a name; `REDUCE`/`NEWOBJ` record a
//! call, and only for names on an allow-list (scikit-learn, numpy, joblib's array wrapper
//! and a few builtins) — anything else, `os.system` say, is refused by name. numpy arrays and
//! dtypes are decoded from their reconstruction calls, and joblib's array wrappers read the
//! raw array bytes joblib splices into the stream after them.

use std::collections::HashMap;
use std::rc::Rc;

use super::numpy::{Data, Dtype, NdArray};
use super::value::{Obj, Value};
use crate::error::{Result, SklearnError};

/// How deep joblib's nested object-array pickles may nest.
const MAX_NESTED: usize = 4;

/// A decoded pickle: the arena of containers and objects, and the value the stream returned.
#[derive(Debug)]
pub struct Pickle {
    /// Containers and objects, referred to by [`Value::Ref`].
    pub arena: Vec<Obj>,
    /// The pickled value.
    pub root: Value,
}

/// Decode a pickle or joblib stream (already decompressed).
pub fn read(bytes: &[u8]) -> Result<Pickle> {
    let mut vm = Vm {
        data: bytes,
        pos: 0,
        arena: Vec::new(),
        nested: 0,
    };
    let root = vm.run()?;
    Ok(Pickle {
        arena: vm.arena,
        root,
    })
}

/// Whether a pickle may record a call to `name` (`module.qualname`). Recording is all that
/// happens: the list keeps out names no scikit-learn file needs, so a hostile file is
/// refused with the name it asked for rather than silently carried along.
pub(crate) fn callable_allowed(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "builtins.set",
        "builtins.frozenset",
        "builtins.bytearray",
        "builtins.slice",
        "builtins.complex",
        "builtins.object",
        "copyreg._reconstructor",
        "_codecs.encode",
        "collections.OrderedDict",
        "functools.partial",
        "joblib.numpy_pickle.NumpyArrayWrapper",
    ];
    // Cython classes pickle under their extension module's bare name (`_loss.CyHalfBinomialLoss`
    // is sklearn/_loss/_loss.pyx).
    const PREFIXES: &[&str] = &["sklearn.", "numpy.", "_loss."];
    EXACT.contains(&name) || PREFIXES.iter().any(|p| name.starts_with(p)) || name == "numpy"
}

fn is_numpy(name: &str, suffix: &str) -> bool {
    // numpy < 2 spells its internals `numpy.core.…`, numpy 2 `numpy._core.…`.
    name.strip_prefix("numpy.core.")
        .or_else(|| name.strip_prefix("numpy._core."))
        == Some(suffix)
}

struct Vm<'a> {
    data: &'a [u8],
    pos: usize,
    arena: Vec<Obj>,
    nested: usize,
}

impl Vm<'_> {
    fn fail<T>(&self, message: impl Into<String>) -> Result<T> {
        Err(SklearnError::Pickle {
            message: message.into(),
            offset: self.pos,
        })
    }

    fn take(&mut self, n: usize) -> Result<&[u8]> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.data.len());
        let Some(end) = end else {
            return Err(SklearnError::Truncated(format!(
                "{n} bytes needed at byte {} of {}",
                self.pos,
                self.data.len()
            )));
        };
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn le<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn len_u32(&mut self) -> Result<usize> {
        Ok(u32::from_le_bytes(self.le()?) as usize)
    }

    fn len_u64(&mut self) -> Result<usize> {
        let n = u64::from_le_bytes(self.le()?);
        usize::try_from(n).or_else(|_| self.fail("length does not fit this machine"))
    }

    fn line(&mut self) -> Result<String> {
        let rest = &self.data[self.pos..];
        let Some(end) = rest.iter().position(|b| *b == b'\n') else {
            return Err(SklearnError::Truncated("unterminated text line".into()));
        };
        let s = String::from_utf8_lossy(&rest[..end]).into_owned();
        self.pos += end + 1;
        Ok(s)
    }

    fn alloc(&mut self, obj: Obj) -> Value {
        self.arena.push(obj);
        Value::Ref(self.arena.len() - 1)
    }

    fn obj(&self, v: &Value) -> Option<&Obj> {
        match v {
            Value::Ref(i) => self.arena.get(*i),
            _ => None,
        }
    }

    fn items<'s>(&'s self, v: &Value) -> Option<&'s [Value]> {
        match self.obj(v)? {
            Obj::Tuple(t) | Obj::List(t) => Some(t),
            _ => None,
        }
    }

    fn global_name(&self, v: &Value) -> Result<String> {
        match self.obj(v) {
            Some(Obj::Global { module, name }) => Ok(format!("{module}.{name}")),
            _ => self.fail("a call whose callee is not a module attribute"),
        }
    }

    fn dtype(&self, v: &Value) -> Result<Dtype> {
        match self.obj(v) {
            Some(Obj::Dtype(d)) => Ok(d.clone()),
            _ => self.fail("expected a numpy dtype"),
        }
    }

    fn shape(&self, v: &Value) -> Result<Vec<usize>> {
        let dims = match v {
            Value::Int(n) => vec![Value::Int(*n)],
            other => match self.items(other) {
                Some(items) => items.to_vec(),
                None => return self.fail("expected an array shape"),
            },
        };
        dims.iter()
            .map(|d| match d.as_int().map(usize::try_from) {
                Some(Ok(n)) => Ok(n),
                _ => self.fail("an array dimension is not a non-negative integer"),
            })
            .collect()
    }

    fn array(
        &self,
        dtype: Dtype,
        shape: Vec<usize>,
        fortran: bool,
        raw: &Value,
    ) -> Result<NdArray> {
        let Some(n) = NdArray::checked_len(&shape) else {
            return self.fail("array shape overflows");
        };
        let data = match raw {
            Value::Bytes(b) => {
                if dtype.kind == 'O' {
                    return self.fail("object array given as raw bytes");
                }
                if Some(b.len()) != n.checked_mul(dtype.itemsize) {
                    return self.fail(format!(
                        "array of shape {shape:?} and dtype {} holds {} bytes",
                        dtype.describe(),
                        b.len()
                    ));
                }
                Data::Bytes(b.clone())
            }
            other => match self.items(other) {
                Some(items) if items.len() == n => Data::Objects(items.to_vec()),
                _ => return self.fail("array data is neither bytes nor a list of its elements"),
            },
        };
        Ok(NdArray {
            dtype,
            shape,
            fortran,
            data,
        })
    }

    /// The container on top of the stack, to fill in place (APPEND, SETITEM, ADDITEMS).
    fn top_mut(&mut self, stack: &[Value]) -> Option<&mut Obj> {
        match stack.last() {
            Some(Value::Ref(i)) => self.arena.get_mut(*i),
            _ => None,
        }
    }

    fn pop(&mut self, stack: &mut Vec<Value>) -> Result<Value> {
        match stack.pop() {
            Some(v) => Ok(v),
            None => self.fail("stack underflow"),
        }
    }

    fn pop_mark(&mut self, stack: &mut Vec<Value>, marks: &mut Vec<usize>) -> Result<Vec<Value>> {
        let Some(m) = marks.pop() else {
            return self.fail("no MARK to pop to");
        };
        if m > stack.len() {
            return self.fail("MARK beyond the stack");
        }
        Ok(stack.split_off(m))
    }

    fn run(&mut self) -> Result<Value> {
        let mut stack: Vec<Value> = Vec::new();
        let mut marks: Vec<usize> = Vec::new();
        let mut memo: HashMap<u32, Value> = HashMap::new();
        loop {
            if self.pos >= self.data.len() {
                return Err(SklearnError::Truncated(
                    "the stream ends before its STOP opcode".into(),
                ));
            }
            let op = self.u8()?;
            match op {
                0x80 => {
                    // PROTO
                    let p = self.u8()?;
                    if p > 5 {
                        return self.fail(format!("pickle protocol {p} is newer than 5"));
                    }
                }
                0x95 => {
                    // FRAME: a length prefix only; frames are read straight through.
                    self.take(8)?;
                }
                b'.' => return self.pop(&mut stack),
                b'(' => marks.push(stack.len()),
                b'0' => {
                    self.pop(&mut stack)?;
                }
                b'1' => {
                    self.pop_mark(&mut stack, &mut marks)?;
                }
                b'2' => {
                    let top = self.pop(&mut stack)?;
                    stack.push(top.clone());
                    stack.push(top);
                }
                b'N' => stack.push(Value::None),
                0x88 => stack.push(Value::Bool(true)),
                0x89 => stack.push(Value::Bool(false)),
                b'J' => stack.push(Value::Int(i32::from_le_bytes(self.le()?) as i64)),
                b'K' => stack.push(Value::Int(self.u8()? as i64)),
                b'M' => stack.push(Value::Int(u16::from_le_bytes(self.le()?) as i64)),
                0x8a | 0x8b => {
                    let n = if op == 0x8a {
                        self.u8()? as usize
                    } else {
                        self.len_u32()?
                    };
                    let b = self.take(n)?;
                    stack.push(long(b));
                }
                b'I' => {
                    // INT (text): protocol 0/1 and `True`/`False` as 01/00.
                    let line = self.line()?;
                    let v = match line.as_str() {
                        "01" => Value::Bool(true),
                        "00" => Value::Bool(false),
                        s => match s.parse() {
                            Ok(i) => Value::Int(i),
                            Err(_) => return self.fail(format!("bad INT `{s}`")),
                        },
                    };
                    stack.push(v);
                }
                b'G' => stack.push(Value::Float(f64::from_be_bytes(self.le()?))),
                b'F' | b'L' => {
                    // Protocol 0 text FLOAT / LONG (`123L`).
                    let line = self.line()?;
                    let t = line.trim_end_matches('L');
                    let v = if op == b'F' {
                        t.parse().map(Value::Float).ok()
                    } else {
                        t.parse().map(Value::Int).ok()
                    };
                    match v {
                        Some(v) => stack.push(v),
                        None => return self.fail(format!("bad text number `{line}`")),
                    }
                }
                b'S' | b'V' => {
                    // Protocol 0 STRING (a quoted repr) / UNICODE (raw-unicode-escape line).
                    let line = self.line()?;
                    let text = if op == b'S' {
                        unquote(&line).ok_or_else(|| SklearnError::Pickle {
                            message: format!("bad STRING {line}"),
                            offset: self.pos,
                        })?
                    } else {
                        line
                    };
                    stack.push(Value::Str(Rc::from(text.as_str())));
                }
                b'X' | 0x8c | 0x8d => {
                    let n = match op {
                        b'X' => self.len_u32()?,
                        0x8c => self.u8()? as usize,
                        _ => self.len_u64()?,
                    };
                    let b = self.take(n)?;
                    let s = String::from_utf8_lossy(b);
                    stack.push(Value::Str(Rc::from(s.as_ref())));
                }
                b'T' | b'U' => {
                    // Python 2 `str`: bytes read as Latin-1 text.
                    let n = if op == b'T' {
                        self.len_u32()?
                    } else {
                        self.u8()? as usize
                    };
                    let s: String = self.take(n)?.iter().map(|b| *b as char).collect();
                    stack.push(Value::Str(Rc::from(s.as_str())));
                }
                b'B' | b'C' | 0x8e | 0x96 => {
                    let n = match op {
                        b'B' => self.len_u32()?,
                        b'C' => self.u8()? as usize,
                        _ => self.len_u64()?,
                    };
                    let b = self.take(n)?;
                    stack.push(Value::Bytes(Rc::from(b)));
                }
                b')' => {
                    let v = self.alloc(Obj::Tuple(Vec::new()));
                    stack.push(v);
                }
                b't' => {
                    let items = self.pop_mark(&mut stack, &mut marks)?;
                    let v = self.alloc(Obj::Tuple(items));
                    stack.push(v);
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    if stack.len() < n {
                        return self.fail("stack underflow");
                    }
                    let items = stack.split_off(stack.len() - n);
                    let v = self.alloc(Obj::Tuple(items));
                    stack.push(v);
                }
                b']' => {
                    let v = self.alloc(Obj::List(Vec::new()));
                    stack.push(v);
                }
                b'l' => {
                    let items = self.pop_mark(&mut stack, &mut marks)?;
                    let v = self.alloc(Obj::List(items));
                    stack.push(v);
                }
                b'a' | b'e' => {
                    let items = if op == b'a' {
                        vec![self.pop(&mut stack)?]
                    } else {
                        self.pop_mark(&mut stack, &mut marks)?
                    };
                    match self.top_mut(&stack) {
                        Some(Obj::List(l)) | Some(Obj::Set(l)) => l.extend(items),
                        _ => return self.fail("APPEND to something that is not a list"),
                    }
                }
                b'}' => {
                    let v = self.alloc(Obj::Dict(Vec::new()));
                    stack.push(v);
                }
                b'd' => {
                    let items = self.pop_mark(&mut stack, &mut marks)?;
                    let pairs = pairs(items);
                    let Some(pairs) = pairs else {
                        return self.fail("DICT with an odd number of items");
                    };
                    let v = self.alloc(Obj::Dict(pairs));
                    stack.push(v);
                }
                b's' | b'u' => {
                    let items = if op == b's' {
                        let v = self.pop(&mut stack)?;
                        let k = self.pop(&mut stack)?;
                        vec![k, v]
                    } else {
                        self.pop_mark(&mut stack, &mut marks)?
                    };
                    let Some(new) = pairs(items) else {
                        return self.fail("SETITEMS with an odd number of items");
                    };
                    match self.top_mut(&stack) {
                        Some(Obj::Dict(d)) => d.extend(new),
                        _ => return self.fail("SETITEM on something that is not a dict"),
                    }
                }
                0x8f => {
                    let v = self.alloc(Obj::Set(Vec::new()));
                    stack.push(v);
                }
                0x90 => {
                    let items = self.pop_mark(&mut stack, &mut marks)?;
                    match self.top_mut(&stack) {
                        Some(Obj::Set(s)) => s.extend(items),
                        _ => return self.fail("ADDITEMS on something that is not a set"),
                    }
                }
                0x91 => {
                    let items = self.pop_mark(&mut stack, &mut marks)?;
                    let v = self.alloc(Obj::Set(items));
                    stack.push(v);
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    let v = self.alloc(Obj::Global { module, name });
                    stack.push(v);
                }
                0x93 => {
                    let name = self.pop(&mut stack)?;
                    let module = self.pop(&mut stack)?;
                    let (Some(m), Some(n)) = (module.as_str(), name.as_str()) else {
                        return self.fail("STACK_GLOBAL needs two strings");
                    };
                    let g = Obj::Global {
                        module: m.to_string(),
                        name: n.to_string(),
                    };
                    let v = self.alloc(g);
                    stack.push(v);
                }
                b'R' => {
                    let args = self.pop(&mut stack)?;
                    let callee = self.pop(&mut stack)?;
                    let v = self.reduce(&callee, &args)?;
                    stack.push(v);
                }
                0x81 | 0x92 => {
                    if op == 0x92 {
                        self.pop(&mut stack)?; // kwargs: no scikit-learn class uses them
                    }
                    let args = self.pop(&mut stack)?;
                    let cls = self.pop(&mut stack)?;
                    let class = self.global_name(&cls)?;
                    if !callable_allowed(&class) {
                        return Err(SklearnError::Refused(class));
                    }
                    let args = self.items(&args).map(<[Value]>::to_vec).unwrap_or_default();
                    let v = self.alloc(Obj::Instance {
                        class,
                        args,
                        state: None,
                    });
                    stack.push(v);
                }
                b'b' => {
                    let state = self.pop(&mut stack)?;
                    let Some(target) = stack.last().cloned() else {
                        return self.fail("BUILD with nothing to build");
                    };
                    self.build(&target, state)?;
                }
                b'p' => {
                    let line = self.line()?;
                    let Ok(i) = line.parse() else {
                        return self.fail("bad PUT index");
                    };
                    let Some(top) = stack.last() else {
                        return self.fail("PUT of an empty stack");
                    };
                    memo.insert(i, top.clone());
                }
                b'q' | b'r' | 0x94 => {
                    let i = match op {
                        b'q' => self.u8()? as u32,
                        b'r' => u32::from_le_bytes(self.le()?),
                        _ => memo.len() as u32,
                    };
                    let Some(top) = stack.last() else {
                        return self.fail("MEMOIZE of an empty stack");
                    };
                    memo.insert(i, top.clone());
                }
                b'g' | b'h' | b'j' => {
                    let i: u32 = match op {
                        b'g' => match self.line()?.parse() {
                            Ok(i) => i,
                            Err(_) => return self.fail("bad GET index"),
                        },
                        b'h' => self.u8()? as u32,
                        _ => u32::from_le_bytes(self.le()?),
                    };
                    let Some(v) = memo.get(&i) else {
                        return self.fail(format!("memo entry {i} used before it was stored"));
                    };
                    stack.push(v.clone());
                }
                b'P' | b'Q' => {
                    return self
                        .fail("persistent ids (PERSID) point outside the file; not supported");
                }
                0x82..=0x84 => {
                    return self.fail("extension registry codes (EXT1/2/4) are not supported");
                }
                0x97 | 0x98 => {
                    return self.fail(
                        "out-of-band buffers (pickle protocol 5 NEXT_BUFFER) cannot be in a file",
                    );
                }
                b'i' | b'o' => {
                    return self.fail("protocol-0 class instantiation (INST/OBJ) is not supported; save with protocol 2 or later");
                }
                other => return self.fail(format!("unknown or unsupported opcode 0x{other:02x}")),
            }
        }
    }

    /// `REDUCE`: record the call, decoding the numpy and builtin ones into values.
    fn reduce(&mut self, callee: &Value, args: &Value) -> Result<Value> {
        let name = self.global_name(callee)?;
        if !callable_allowed(&name) {
            return Err(SklearnError::Refused(name));
        }
        let args: Vec<Value> = self.items(args).map(<[Value]>::to_vec).unwrap_or_default();
        if is_numpy(&name, "numeric._frombuffer") {
            let [buf, dtype, shape, order] = args.as_slice() else {
                return self.fail("_frombuffer takes 4 arguments");
            };
            let dtype = self.dtype(dtype)?;
            let shape = self.shape(shape)?;
            let fortran = order.as_str() == Some("F");
            let a = self.array(dtype, shape, fortran, buf)?;
            return Ok(self.alloc(Obj::Array(a)));
        }
        if is_numpy(&name, "multiarray.scalar") {
            let [dtype, raw, ..] = args.as_slice() else {
                return self.fail("numpy scalar takes a dtype and its bytes");
            };
            let dtype = self.dtype(dtype)?;
            if dtype.kind == 'O' {
                return Ok(raw.clone());
            }
            let Value::Bytes(b) = raw else {
                return self.fail("numpy scalar without bytes");
            };
            return match dtype.kind {
                'f' => match dtype.read_f64(b) {
                    Some(f) => Ok(Value::Float(f)),
                    None => self.fail("bad float scalar"),
                },
                'i' | 'u' | 'b' => match dtype.read_i64(b) {
                    Some(i) => Ok(Value::Int(i)),
                    None => self.fail("bad integer scalar"),
                },
                'U' => {
                    let a = self.array(dtype, vec![], false, raw)?;
                    let s = a.unicode_strings().and_then(|v| v.into_iter().next());
                    Ok(Value::Str(Rc::from(s.unwrap_or_default().as_str())))
                }
                _ => Ok(raw.clone()),
            };
        }
        match name.as_str() {
            "numpy.dtype" => {
                let Some(descr) = args.first().and_then(Value::as_str) else {
                    return self.fail("numpy.dtype without a type string");
                };
                let Some(dtype) = Dtype::parse(descr) else {
                    return self.fail(format!("unsupported numpy dtype `{descr}`"));
                };
                return Ok(self.alloc(Obj::Dtype(dtype)));
            }
            "_codecs.encode" => {
                // How protocol 2 spells `bytes` under Python 3: encode(text, 'latin1').
                let Some(text) = args.first().and_then(Value::as_str) else {
                    return self.fail("_codecs.encode without text");
                };
                let bytes: Option<Vec<u8>> = text.chars().map(|c| u8::try_from(c).ok()).collect();
                return match bytes {
                    Some(b) => Ok(Value::Bytes(b.into())),
                    None => self.fail("_codecs.encode of non-Latin-1 text"),
                };
            }
            "builtins.bytearray" => {
                return Ok(match args.first() {
                    Some(Value::Bytes(b)) => Value::Bytes(b.clone()),
                    _ => Value::Bytes(Rc::from(&[][..])),
                });
            }
            "builtins.set" | "builtins.frozenset" => {
                let items = args
                    .first()
                    .and_then(|a| self.items(a))
                    .map(<[Value]>::to_vec)
                    .unwrap_or_default();
                return Ok(self.alloc(Obj::Set(items)));
            }
            "collections.OrderedDict" => return Ok(self.alloc(Obj::Dict(Vec::new()))),
            "copyreg._reconstructor" => {
                let class = match args.first() {
                    Some(c) => self.global_name(c)?,
                    None => return self.fail("copyreg._reconstructor without a class"),
                };
                if !callable_allowed(&class) {
                    return Err(SklearnError::Refused(class));
                }
                return Ok(self.alloc(Obj::Instance {
                    class,
                    args: Vec::new(),
                    state: None,
                }));
            }
            _ => {}
        }
        Ok(self.alloc(Obj::Instance {
            class: name,
            args,
            state: None,
        }))
    }

    /// `BUILD`: give the object at `target` its state, in place.
    fn build(&mut self, target: &Value, state: Value) -> Result<()> {
        let Value::Ref(id) = *target else {
            return self.fail("BUILD on a plain value");
        };
        let class = match self.arena.get(id) {
            Some(Obj::Instance { class, .. }) => class.clone(),
            Some(Obj::Dtype(_)) => return self.build_dtype(id, &state),
            _ => return self.fail("BUILD on something that is not an object"),
        };
        if is_numpy(&class, "multiarray._reconstruct") {
            let items = self
                .items(&state)
                .map(<[Value]>::to_vec)
                .unwrap_or_default();
            // (version, shape, dtype, is_fortran, data); very old numpy omits the version.
            let fields = match items.as_slice() {
                [_, shape, dtype, fortran, data] | [shape, dtype, fortran, data] => {
                    [shape.clone(), dtype.clone(), fortran.clone(), data.clone()]
                }
                _ => {
                    return self
                        .fail("ndarray state is not (version, shape, dtype, fortran, data)");
                }
            };
            let [shape, dtype, fortran, data] = fields;
            let a = self.array(
                self.dtype(&dtype)?,
                self.shape(&shape)?,
                fortran.as_int() == Some(1),
                &data,
            )?;
            self.arena[id] = Obj::Array(a);
            return Ok(());
        }
        if class == "joblib.numpy_pickle.NumpyArrayWrapper" {
            let a = self.joblib_array(&state)?;
            self.arena[id] = Obj::Array(a);
            return Ok(());
        }
        if let Some(Obj::Instance { state: s, .. }) = self.arena.get_mut(id) {
            *s = Some(state);
        }
        Ok(())
    }

    fn build_dtype(&mut self, id: usize, state: &Value) -> Result<()> {
        let items = self.items(state).map(<[Value]>::to_vec).unwrap_or_default();
        // (version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata])
        if items.len() < 8 {
            return self.fail("numpy dtype state is too short");
        }
        let little = items[1].as_str() != Some(">");
        let names: Vec<String> = self
            .items(&items[3])
            .map(|n| {
                n.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let mut fields = Vec::new();
        if !names.is_empty() {
            let Some(Obj::Dict(map)) = self.obj(&items[4]) else {
                return self.fail("structured dtype without a fields dict");
            };
            let map = map.clone();
            for n in &names {
                let entry = map.iter().find(|(k, _)| k.as_str() == Some(n.as_str()));
                let Some((_, v)) = entry else {
                    return self.fail(format!("structured dtype lacks field `{n}`"));
                };
                let parts = self.items(v).map(<[Value]>::to_vec).unwrap_or_default();
                let (Some(dt), Some(off)) = (parts.first(), parts.get(1).and_then(Value::as_int))
                else {
                    return self.fail(format!("field `{n}` is not (dtype, offset)"));
                };
                let dt = self.dtype(dt)?;
                let Ok(off) = usize::try_from(off) else {
                    return self.fail("negative field offset");
                };
                fields.push((n.clone(), dt, off));
            }
        }
        let elsize = items[5].as_int().unwrap_or(-1);
        if let Some(Obj::Dtype(d)) = self.arena.get_mut(id) {
            d.little_endian = little || d.itemsize == 1;
            if elsize > 0 && matches!(d.kind, 'V' | 'U' | 'S') {
                d.itemsize = elsize as usize;
            }
            d.fields = fields;
        }
        Ok(())
    }

    /// A joblib `NumpyArrayWrapper`'s array: its bytes follow the `BUILD` opcode in the
    /// stream — after a padding-length byte and that much padding (joblib ≥ 0.12 aligns the
    /// data to 16 bytes) — or, for object arrays, a nested pickle.
    fn joblib_array(&mut self, state: &Value) -> Result<NdArray> {
        let Some(Obj::Dict(map)) = self.obj(state) else {
            return self.fail("joblib array wrapper without a state dict");
        };
        let get = |k: &str| {
            map.iter()
                .find(|(key, _)| key.as_str() == Some(k))
                .map(|(_, v)| v.clone())
        };
        let (Some(shape), Some(dtype)) = (get("shape"), get("dtype")) else {
            return self.fail("joblib array wrapper lacks shape or dtype");
        };
        let fortran = get("order").as_ref().and_then(Value::as_str) == Some("F");
        let aligned = get("numpy_array_alignment_bytes").is_some();
        let shape = self.shape(&shape)?;
        let dtype = self.dtype(&dtype)?;
        if dtype.kind == 'O' {
            if self.nested >= MAX_NESTED {
                return self.fail("object arrays nested too deeply");
            }
            self.nested += 1;
            let inner = self.run();
            self.nested -= 1;
            return match self.obj(&inner?) {
                Some(Obj::Array(a)) => Ok(a.clone()),
                _ => self.fail("joblib object array did not hold an array"),
            };
        }
        if aligned {
            let pad = self.u8()? as usize;
            self.take(pad)?;
        }
        let Some(n) = NdArray::checked_len(&shape).and_then(|n| n.checked_mul(dtype.itemsize))
        else {
            return self.fail("array shape overflows");
        };
        let bytes = Value::Bytes(Rc::from(self.take(n)?));
        self.array(dtype, shape, fortran, &bytes)
    }
}

/// A protocol-0 `STRING` argument: a Python repr in single or double quotes, with the simple
/// backslash escapes (enough to read names and messages; arrays never use protocol 0).
fn unquote(line: &str) -> Option<String> {
    let q = line.chars().next()?;
    if !(q == '\'' || q == '"') || line.len() < 2 || !line.ends_with(q) {
        return None;
    }
    let inner = &line[1..line.len() - 1];
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'x' => {
                let h: String = chars.by_ref().take(2).collect();
                out.push(u8::from_str_radix(&h, 16).ok()? as char);
            }
            other => out.push(other),
        }
    }
    Some(out)
}

/// `[k1, v1, k2, v2, …]` as pairs; `None` for an odd count.
fn pairs(items: Vec<Value>) -> Option<Vec<(Value, Value)>> {
    if !items.len().is_multiple_of(2) {
        return None;
    }
    let mut out = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((k, v));
    }
    Some(out)
}

/// `LONG1`/`LONG4`: little-endian two's complement.
fn long(b: &[u8]) -> Value {
    if b.is_empty() {
        return Value::Int(0);
    }
    if b.len() > 8 {
        return Value::BigInt(Rc::from(b));
    }
    let negative = b[b.len() - 1] & 0x80 != 0;
    let mut a = if negative { [0xffu8; 8] } else { [0u8; 8] };
    a[..b.len()].copy_from_slice(b);
    Value::Int(i64::from_le_bytes(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_to_os_system_is_refused_by_name() {
        // pickle.dumps of an object whose __reduce__ is (os.system, ("echo",)), protocol 2.
        let p = b"\x80\x02cposix\nsystem\nq\x00X\x04\x00\x00\x00echoq\x01\x85q\x02Rq\x03.";
        let err = read(p).expect_err("refused").to_string();
        assert!(err.contains("posix.system"), "{err}");
    }

    #[test]
    fn truncation_and_unknown_opcodes_are_errors() {
        let err = read(b"\x80\x04\x95").expect_err("truncated").to_string();
        assert!(err.contains("truncated"), "{err}");
        let err = read(b"\x80\x04\xff").expect_err("bad opcode").to_string();
        assert!(err.contains("0xff"), "{err}");
        let err = read(b"\x80\x05\x97.").expect_err("out of band").to_string();
        assert!(err.contains("out-of-band"), "{err}");
    }

    /// `SHORT_BINUNICODE` of `s`.
    fn short(s: &str) -> Vec<u8> {
        let mut b = vec![0x8c, u8::try_from(s.len()).expect("short")];
        b.extend_from_slice(s.as_bytes());
        b
    }

    /// `numpy.dtype("f8", False, True)`.
    fn dtype_f8() -> Vec<u8> {
        [short("numpy"), short("dtype"), vec![0x93], short("f8")]
            .concat()
            .into_iter()
            .chain([0x89, 0x88, 0x87, b'R'])
            .collect()
    }

    /// `LONG1` of `v` in 8 bytes (positive: the top byte stays below 0x80 here).
    fn long1(v: u64) -> Vec<u8> {
        [&[0x8a, 8][..], &v.to_le_bytes()].concat()
    }

    /// Allocation discipline: every length prefix (BINBYTES8, BINUNICODE8, LONG4, BINBYTES,
    /// SHORT_BINBYTES, …) is checked against the bytes left before a buffer is taken for it.
    #[test]
    fn forged_lengths_are_refused_before_allocating() {
        let u32_max = u32::MAX.to_le_bytes();
        let cases: [(&[u8], &[u8], u64); 9] = [
            (b"\x8e", &(1u64 << 62).to_le_bytes(), 1 << 62), // BINBYTES8
            (b"\x8e", &u64::MAX.to_le_bytes(), u64::MAX),
            (b"\x8d", &(1u64 << 62).to_le_bytes(), 1 << 62), // BINUNICODE8
            (b"\x8b", &u32_max, u32::MAX as u64),            // LONG4
            (b"B", &u32_max, u32::MAX as u64),               // BINBYTES
            (b"X", &u32_max, u32::MAX as u64),               // BINUNICODE
            (b"T", &u32_max, u32::MAX as u64),               // BINSTRING
            (b"C", b"\xff", 255),                            // SHORT_BINBYTES
            (b"\x8c", b"\xff", 255),                         // SHORT_BINUNICODE
        ];
        for (op, len, declared) in cases {
            let p = [b"\x80\x04", op, len, b"ab."].concat();
            match read(&p) {
                Err(SklearnError::Truncated(m)) => {
                    assert!(m.starts_with(&format!("{declared} bytes needed")), "{m}")
                }
                other => panic!("{op:?}: expected a truncation error, got {other:?}"),
            }
        }
    }

    /// Allocation discipline for arrays: a joblib array's declared shape is checked against
    /// the bytes that follow, and a pickled ndarray's against its data, before either is read.
    #[test]
    fn forged_array_shapes_are_refused_before_allocating() {
        let wrapper = |shape: &[u64]| {
            let mut p = b"\x80\x04".to_vec();
            p.extend(short("joblib.numpy_pickle"));
            p.extend(short("NumpyArrayWrapper"));
            p.extend(b"\x93)\x81}(");
            p.extend(short("shape"));
            p.push(b'(');
            for d in shape {
                p.extend(long1(*d));
            }
            p.push(b't');
            p.extend(short("dtype"));
            p.extend(dtype_f8());
            p.extend(short("order"));
            p.extend(short("C"));
            p.extend(b"ub");
            p.extend([0u8; 8]);
            p.push(b'.');
            p
        };
        match read(&wrapper(&[1 << 40])) {
            Err(SklearnError::Truncated(m)) => {
                assert!(m.starts_with("8796093022208 bytes needed"), "{m}")
            }
            other => panic!("expected a truncation error, got {other:?}"),
        }
        let err = read(&wrapper(&[1 << 40, 1 << 40, 1 << 40]))
            .expect_err("overflow")
            .to_string();
        assert!(err.contains("array shape overflows"), "{err}");

        // numpy.core.multiarray._reconstruct, BUILD (1, (2**40,), f8, False, 8 bytes).
        let mut p = b"\x80\x04".to_vec();
        p.extend(short("numpy.core.multiarray"));
        p.extend(short("_reconstruct"));
        p.extend(b"\x93)\x81(K\x01");
        p.extend(long1(1 << 40));
        p.push(0x85);
        p.extend(dtype_f8());
        p.extend(b"\x89C\x08");
        p.extend([0u8; 8]);
        p.extend(b"tb.");
        match read(&p) {
            Err(SklearnError::Pickle { message, .. }) => assert_eq!(
                message,
                "array of shape [1099511627776] and dtype f8 holds 8 bytes"
            ),
            other => panic!("expected a pickle error, got {other:?}"),
        }
    }

    #[test]
    fn memo_references_see_state_built_later() {
        // obj = sklearn.X(); d = {'a': obj}; BUILD obj with {'k': 1} after memoizing it.
        let mut p = b"\x80\x04".to_vec();
        p.extend_from_slice(b"\x8c\x07sklearn\x8c\x01X\x93)\x81\x94"); // memo 0 = obj
        p.extend_from_slice(b"}\x8c\x01k\x4b\x01sb"); // BUILD {'k': 1}
        p.extend_from_slice(b"0}\x8c\x01a\x68\x00s."); // pop; {'a': memo[0]}
        let pk = read(&p).expect("reads");
        let Value::Ref(d) = pk.root else {
            panic!("dict")
        };
        let Obj::Dict(items) = &pk.arena[d] else {
            panic!("dict")
        };
        let Value::Ref(o) = items[0].1 else {
            panic!("ref")
        };
        assert!(matches!(&pk.arena[o], Obj::Instance { state: Some(_), .. }));
    }
}
