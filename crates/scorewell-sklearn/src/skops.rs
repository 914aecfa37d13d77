//! skops files (`skops.io.dump`): a zip holding `schema.json`, a tree of typed nodes, and one
//! `.npy` file per numeric array. They are read into the same values a pickle decodes to, so
//! the estimators are mapped by the same code; classes go through the same allow-list, and
//! nothing is constructed or called.

use std::collections::HashMap;
use std::io::Read;
use std::rc::Rc;

use serde_json::Value as Json;

use crate::error::{Result, SklearnError};
use crate::pickle::numpy::{Data, Dtype, NdArray};
use crate::pickle::{Obj, Pickle, Value};

/// Whether `bytes` look like a skops file: a zip with a `schema.json`.
pub fn is_skops(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
        && zip::ZipArchive::new(std::io::Cursor::new(bytes))
            .is_ok_and(|z| z.index_for_name("schema.json").is_some())
}

fn bad(message: impl Into<String>) -> SklearnError {
    SklearnError::Pickle {
        message: format!("skops: {}", message.into()),
        offset: 0,
    }
}

/// Decode a skops file into the pickle value model.
pub fn read(bytes: &[u8]) -> Result<Pickle> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| bad(format!("not a readable zip: {e}")))?;
    let mut schema = String::new();
    zip.by_name("schema.json")
        .map_err(|_| bad("no schema.json in the archive"))?
        .take(1 << 30)
        .read_to_string(&mut schema)
        .map_err(|e| bad(format!("schema.json: {e}")))?;
    let json: Json = serde_json::from_str(&schema).map_err(|e| bad(format!("schema.json: {e}")))?;
    let mut r = Reader {
        zip,
        arena: Vec::new(),
        seen: HashMap::new(),
        depth: 0,
    };
    let root = r.node(&json)?;
    Ok(Pickle {
        arena: r.arena,
        root,
    })
}

struct Reader<'a> {
    zip: zip::ZipArchive<std::io::Cursor<&'a [u8]>>,
    arena: Vec<Obj>,
    seen: HashMap<i64, Value>,
    depth: usize,
}

/// Nesting beyond this is refused (a hostile schema could nest without end).
const MAX_DEPTH: usize = 200;

fn name_of(node: &Json) -> String {
    let m = node.get("__module__").and_then(Json::as_str).unwrap_or("");
    let c = node.get("__class__").and_then(Json::as_str).unwrap_or("");
    format!("{m}.{c}")
}

/// A JSON value (from a JsonNode's text) as a pickle value.
fn plain(r: &mut Reader<'_>, j: &Json) -> Value {
    match j {
        Json::Null => Value::None,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::Str(Rc::from(s.as_str())),
        Json::Array(items) => {
            let v = items.iter().map(|i| plain(r, i)).collect();
            r.alloc(Obj::List(v))
        }
        Json::Object(map) => {
            let v = map
                .iter()
                .map(|(k, v)| (Value::Str(Rc::from(k.as_str())), plain(r, v)))
                .collect();
            r.alloc(Obj::Dict(v))
        }
    }
}

impl Reader<'_> {
    fn alloc(&mut self, o: Obj) -> Value {
        self.arena.push(o);
        Value::Ref(self.arena.len() - 1)
    }

    fn node(&mut self, node: &Json) -> Result<Value> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(bad("nodes nested too deeply"));
        }
        let v = self.node_inner(node);
        self.depth -= 1;
        v
    }

    fn children(&mut self, list: Option<&Json>) -> Result<Vec<Value>> {
        match list {
            Some(Json::Array(items)) => items.iter().map(|i| self.node(i)).collect(),
            None | Some(Json::Null) => Ok(Vec::new()),
            Some(_) => Err(bad("a container whose content is not a list")),
        }
    }

    fn node_inner(&mut self, node: &Json) -> Result<Value> {
        let id = node.get("__id__").and_then(Json::as_i64);
        if let Some(v) = id.and_then(|i| self.seen.get(&i)) {
            return Ok(v.clone());
        }
        let loader = node
            .get("__loader__")
            .and_then(Json::as_str)
            .ok_or_else(|| bad("a node without __loader__"))?;
        let content = node.get("content");
        let class = name_of(node);
        let v = match loader {
            "JsonNode" => {
                let text = content.and_then(Json::as_str).unwrap_or("null");
                match text {
                    "NaN" => Value::Float(f64::NAN),
                    "Infinity" => Value::Float(f64::INFINITY),
                    "-Infinity" => Value::Float(f64::NEG_INFINITY),
                    t => {
                        let j: Json = serde_json::from_str(t)
                            .map_err(|e| bad(format!("JsonNode `{t}`: {e}")))?;
                        plain(self, &j)
                    }
                }
            }
            "ListNode" | "SetNode" => {
                let items = self.children(content)?;
                self.alloc(Obj::List(items))
            }
            "TupleNode" => {
                let items = self.children(content)?;
                self.alloc(Obj::Tuple(items))
            }
            "DictNode" | "_DictWithDeprecatedKeysNode" | "DefaultDictNode" => {
                let content = match loader {
                    "DictNode" => content,
                    _ => content.and_then(|c| c.get("main")),
                };
                return self.node_dict(node, content, id);
            }
            "ObjectNode"
            | "ReduceNode"
            | "TreeNode"
            | "LossNode"
            | "ConstructorFromReduceNode"
            | "SGDNode" => {
                check_class(&class)?;
                let (args, state) = if loader == "ConstructorFromReduceNode" {
                    let args = match content {
                        Some(c) => self.node(c)?,
                        None => Value::None,
                    };
                    (args, None)
                } else {
                    let args = match node.get("__reduce__").and_then(|r| r.get("args")) {
                        Some(a) => self.node(a)?,
                        None => Value::None,
                    };
                    let state = match content {
                        Some(c) if !c.is_null() => Some(self.node(c)?),
                        _ => None,
                    };
                    (args, state)
                };
                let args = match &args {
                    Value::Ref(i) => match self.arena.get(*i) {
                        Some(Obj::Tuple(t)) | Some(Obj::List(t)) => t.clone(),
                        _ => vec![args.clone()],
                    },
                    Value::None => Vec::new(),
                    other => vec![other.clone()],
                };
                self.alloc(Obj::Instance { class, args, state })
            }
            "NdArrayNode" => self.array(node, &class)?,
            "DTypeNode" => {
                let inner = content.ok_or_else(|| bad("DTypeNode without content"))?;
                let a = self.array(inner, "numpy.ndarray")?;
                let dtype = match &a {
                    Value::Ref(i) => match self.arena.get(*i) {
                        Some(Obj::Array(a)) => a.dtype.clone(),
                        _ => return Err(bad("DTypeNode without an array")),
                    },
                    _ => return Err(bad("DTypeNode without an array")),
                };
                self.alloc(Obj::Dtype(dtype))
            }
            "FunctionNode" | "TypeNode" => {
                let (module, name) = class.rsplit_once('.').unwrap_or(("", &class));
                self.alloc(Obj::Global {
                    module: module.to_string(),
                    name: name.to_string(),
                })
            }
            "PartialNode" => {
                let func = match content.and_then(|c| c.get("func")) {
                    Some(f) => self.node(f)?,
                    None => Value::None,
                };
                self.alloc(Obj::Instance {
                    class: "functools.partial".into(),
                    args: vec![func],
                    state: None,
                })
            }
            "SliceNode" => {
                let get = |k: &str| match content.and_then(|c| c.get(k)) {
                    Some(Json::Number(n)) => n.as_i64().map_or(Value::None, Value::Int),
                    _ => Value::None,
                };
                let args = vec![get("start"), get("stop"), get("step")];
                self.alloc(Obj::Instance {
                    class: "builtins.slice".into(),
                    args,
                    state: None,
                })
            }
            // Random number generators are kept by estimators but never used to score.
            "RandomStateNode" | "RandomGeneratorNode" | "BitGeneratorNode" => {
                self.alloc(Obj::Instance {
                    class,
                    args: Vec::new(),
                    state: None,
                })
            }
            other => {
                return Err(SklearnError::Refused(format!("{class} (skops {other})")));
            }
        };
        if let Some(i) = id {
            self.seen.insert(i, v.clone());
        }
        Ok(v)
    }

    fn node_dict(&mut self, node: &Json, content: Option<&Json>, id: Option<i64>) -> Result<Value> {
        let Some(Json::Object(map)) = content else {
            return Err(bad("a dict node whose content is not an object"));
        };
        // Keys are strings in JSON; `key_types` says which were ints.
        let key_types: Vec<String> = match node.get("key_types").and_then(|k| k.get("content")) {
            Some(Json::Array(t)) => t
                .iter()
                .map(|t| {
                    t.get("__class__")
                        .and_then(Json::as_str)
                        .unwrap_or("str")
                        .to_string()
                })
                .collect(),
            _ => Vec::new(),
        };
        let mut items = Vec::with_capacity(map.len());
        for (i, (k, v)) in map.iter().enumerate() {
            let key = match key_types.get(i).map(String::as_str) {
                Some("int") => k
                    .parse()
                    .map(Value::Int)
                    .unwrap_or(Value::Str(Rc::from(k.as_str()))),
                _ => Value::Str(Rc::from(k.as_str())),
            };
            items.push((key, self.node(v)?));
        }
        let v = self.alloc(Obj::Dict(items));
        if let Some(i) = id {
            self.seen.insert(i, v.clone());
        }
        Ok(v)
    }

    /// An NdArrayNode: a `.npy` member, or (object arrays) a JSON list with a shape; a numpy
    /// scalar class (`numpy.float64`) becomes a plain number.
    fn array(&mut self, node: &Json, class: &str) -> Result<Value> {
        let a = match node.get("type").and_then(Json::as_str) {
            Some("numpy") => {
                let file = node
                    .get("file")
                    .and_then(Json::as_str)
                    .ok_or_else(|| bad("NdArrayNode without a file"))?;
                let mut bytes = Vec::new();
                self.zip
                    .by_name(file)
                    .map_err(|_| bad(format!("array file {file} is missing")))?
                    .take(8 << 30)
                    .read_to_end(&mut bytes)
                    .map_err(|e| bad(format!("{file}: {e}")))?;
                npy(&bytes).map_err(|m| bad(format!("{file}: {m}")))?
            }
            Some("json") => {
                // `tolist()` of an object array: nested lists in C order, with its shape.
                let items = self.children(node.get("content"))?;
                let shape: Vec<usize> = match node.get("shape") {
                    Some(sh) => {
                        let v = self.node(sh)?;
                        match v {
                            Value::Ref(i) => match self.arena.get(i) {
                                Some(Obj::Tuple(t)) | Some(Obj::List(t)) => t
                                    .iter()
                                    .map(|d| d.as_int().and_then(|d| usize::try_from(d).ok()))
                                    .collect::<Option<_>>()
                                    .ok_or_else(|| bad("a bad array shape"))?,
                                _ => vec![items.len()],
                            },
                            _ => vec![items.len()],
                        }
                    }
                    None => vec![items.len()],
                };
                let mut flat = Vec::new();
                let mut stack: Vec<Value> = items.into_iter().rev().collect();
                while let Some(v) = stack.pop() {
                    match &v {
                        Value::Ref(i) if shape.len() > 1 => match self.arena.get(*i) {
                            Some(Obj::List(inner)) => stack.extend(inner.iter().rev().cloned()),
                            _ => flat.push(v),
                        },
                        _ => flat.push(v),
                    }
                }
                if NdArray::checked_len(&shape) != Some(flat.len()) {
                    return Err(bad("an object array whose elements do not fill its shape"));
                }
                NdArray {
                    dtype: Dtype {
                        kind: 'O',
                        itemsize: 8,
                        little_endian: true,
                        fields: Vec::new(),
                    },
                    shape,
                    fortran: false,
                    data: Data::Objects(flat),
                }
            }
            other => return Err(bad(format!("NdArrayNode of type {other:?}"))),
        };
        let scalar = class != "numpy.ndarray" && class.starts_with("numpy.") && a.shape.is_empty();
        if scalar {
            return Ok(match a.dtype.kind {
                'f' => Value::Float(
                    a.to_f64()
                        .and_then(|v| v.first().copied())
                        .unwrap_or(f64::NAN),
                ),
                _ => a
                    .to_i64()
                    .and_then(|v| v.first().copied())
                    .map_or(Value::None, Value::Int),
            });
        }
        Ok(self.alloc(Obj::Array(a)))
    }
}

fn check_class(class: &str) -> Result<()> {
    if crate::pickle::vm::callable_allowed(class) || class.starts_with("builtins.") {
        Ok(())
    } else {
        Err(SklearnError::Refused(class.to_string()))
    }
}

/// A `.npy` file (format 1–3): header dict, then the raw data.
fn npy(b: &[u8]) -> std::result::Result<NdArray, String> {
    if !b.starts_with(b"\x93NUMPY") || b.len() < 10 {
        return Err("not a .npy file".into());
    }
    let (len, start) = match b[6] {
        1 => (u16::from_le_bytes([b[8], b[9]]) as usize, 10),
        2 | 3 if b.len() >= 12 => (u32::from_le_bytes([b[8], b[9], b[10], b[11]]) as usize, 12),
        v => return Err(format!(".npy format version {v}")),
    };
    let header = b.get(start..start + len).ok_or("truncated .npy header")?;
    let header = String::from_utf8_lossy(header);
    let lit = literal::parse(&header).ok_or("unreadable .npy header")?;
    let get = |k: &str| lit.get(k).ok_or(format!(".npy header lacks `{k}`"));
    let dtype = descr(get("descr")?).ok_or("unsupported .npy dtype")?;
    let fortran = matches!(get("fortran_order")?, literal::Lit::Bool(true));
    let shape = match get("shape")? {
        literal::Lit::Seq(items) => items
            .iter()
            .map(|i| match i {
                literal::Lit::Int(n) => {
                    usize::try_from(*n).map_err(|_| "negative dimension".to_string())
                }
                _ => Err("bad dimension".to_string()),
            })
            .collect::<std::result::Result<Vec<_>, _>>()?,
        _ => return Err("bad shape".into()),
    };
    let n = NdArray::checked_len(&shape)
        .and_then(|n| n.checked_mul(dtype.itemsize))
        .ok_or("shape overflows")?;
    let data = b
        .get(start + len..start + len + n)
        .ok_or("truncated .npy data")?;
    Ok(NdArray {
        dtype,
        shape,
        fortran,
        data: Data::Bytes(Rc::from(data)),
    })
}

/// A `.npy` `descr`: a type string or a structured list of `(name, type)` fields laid out
/// one after the other (numpy writes padding as unnamed `|V` fields).
fn descr(l: &literal::Lit) -> Option<Dtype> {
    match l {
        literal::Lit::Str(s) => Dtype::parse(s),
        literal::Lit::Seq(fields) => {
            let mut out = Vec::new();
            let mut offset = 0usize;
            for f in fields {
                let literal::Lit::Seq(parts) = f else {
                    return None;
                };
                let (literal::Lit::Str(name), Some(t)) = (parts.first()?, parts.get(1)) else {
                    return None;
                };
                let dt = descr(t)?;
                let size = dt.itemsize;
                if !name.is_empty() {
                    out.push((name.clone(), dt, offset));
                }
                offset += size;
            }
            Some(Dtype {
                kind: 'V',
                itemsize: offset,
                little_endian: true,
                fields: out,
            })
        }
        _ => None,
    }
}

/// The Python literals a `.npy` header holds: dicts, tuples/lists, strings, ints, bools.
mod literal {
    #[derive(Debug)]
    pub enum Lit {
        Str(String),
        Int(i64),
        Bool(bool),
        Seq(Vec<Lit>),
        Dict(Vec<(String, Lit)>),
    }

    impl Lit {
        pub fn get(&self, key: &str) -> Option<&Lit> {
            match self {
                Lit::Dict(d) => d.iter().find(|(k, _)| k == key).map(|(_, v)| v),
                _ => None,
            }
        }
    }

    pub fn parse(s: &str) -> Option<Lit> {
        let mut p = P {
            s: s.as_bytes(),
            i: 0,
            depth: 0,
        };
        p.value()
    }

    struct P<'a> {
        s: &'a [u8],
        i: usize,
        depth: usize,
    }

    impl P<'_> {
        fn ws(&mut self) {
            while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
                self.i += 1;
            }
        }
        fn value(&mut self) -> Option<Lit> {
            self.depth += 1;
            if self.depth > 64 {
                return None;
            }
            self.ws();
            let c = *self.s.get(self.i)?;
            let v = match c {
                b'{' => {
                    self.i += 1;
                    let mut d = Vec::new();
                    loop {
                        self.ws();
                        if self.s.get(self.i) == Some(&b'}') {
                            self.i += 1;
                            break;
                        }
                        let Lit::Str(k) = self.value()? else {
                            return None;
                        };
                        self.ws();
                        if self.s.get(self.i) != Some(&b':') {
                            return None;
                        }
                        self.i += 1;
                        let v = self.value()?;
                        d.push((k, v));
                        self.ws();
                        if self.s.get(self.i) == Some(&b',') {
                            self.i += 1;
                        }
                    }
                    Lit::Dict(d)
                }
                b'(' | b'[' => {
                    let close = if c == b'(' { b')' } else { b']' };
                    self.i += 1;
                    let mut items = Vec::new();
                    loop {
                        self.ws();
                        if self.s.get(self.i) == Some(&close) {
                            self.i += 1;
                            break;
                        }
                        items.push(self.value()?);
                        self.ws();
                        if self.s.get(self.i) == Some(&b',') {
                            self.i += 1;
                        }
                    }
                    Lit::Seq(items)
                }
                b'\'' | b'"' => {
                    self.i += 1;
                    let start = self.i;
                    while *self.s.get(self.i)? != c {
                        self.i += 1;
                    }
                    let text = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
                    self.i += 1;
                    Lit::Str(text)
                }
                _ => {
                    let start = self.i;
                    while self
                        .s
                        .get(self.i)
                        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'-')
                    {
                        self.i += 1;
                    }
                    match &self.s[start..self.i] {
                        b"True" => Lit::Bool(true),
                        b"False" => Lit::Bool(false),
                        t => Lit::Int(std::str::from_utf8(t).ok()?.parse().ok()?),
                    }
                }
            };
            self.depth -= 1;
            Some(v)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_headers_with_structured_dtypes_parse() {
        let header = "{'descr': [('left', '<i8'), ('thr', '<f8'), ('', '|V4')], 'fortran_order': False, 'shape': (2,), }";
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend_from_slice(&(header.len() as u16).to_le_bytes());
        b.extend_from_slice(header.as_bytes());
        for (l, t) in [(1i64, 0.5f64), (-1, 2.0)] {
            b.extend_from_slice(&l.to_le_bytes());
            b.extend_from_slice(&t.to_le_bytes());
            b.extend_from_slice(&[0; 4]);
        }
        let a = npy(&b).expect("parses");
        assert_eq!(a.dtype.itemsize, 20);
        assert_eq!(a.field_i64("left"), Some(vec![1, -1]));
        assert_eq!(a.field_f64("thr"), Some(vec![0.5, 2.0]));
        assert!(npy(&b[..b.len() - 1]).is_err());
    }
}
