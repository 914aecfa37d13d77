//! Variables from a weights file, in either of the two layouts Keras writes:
//!
//! - **Keras 3** (`model.weights.h5` in a `.keras`, `save_weights('x.weights.h5')`): each
//!   layer's variables are the datasets `layers/<object path>/vars/0..n`, in the layer's order.
//! - **Legacy** (Keras 1/2 and tf.keras `save_weights('w.h5')` at the file's root; whole-model
//!   `.h5` files, Keras 3's included, under `model_weights/`): the group carries a `layer_names`
//!   attribute (split into `layer_names0`, `layer_names1`, … when it outgrows an object header),
//!   each named layer has a group whose `weight_names` attribute lists its variables in
//!   `get_weights()` order, and variable `i` is the dataset `<group>/<layer>/<weight_names[i]>`.
//!
//! The layout is detected from the content, not the file name.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

use hdf5_reader::{Attribute, Dataset, Hdf5File, group::Group};

use crate::error::KerasError;

pub(crate) enum Weights {
    Keras3(Hdf5File, usize),
    Legacy(Legacy),
}

/// A legacy weights group, with its attributes read once at open.
pub(crate) struct Legacy {
    file: Hdf5File,
    /// The file's size in bytes (see `read_checked`).
    len: usize,
    /// `""` for a `save_weights` file, `"model_weights/"` for a whole-model file.
    prefix: &'static str,
    /// Each entry of `layer_names`, in order, with its `weight_names`.
    layers: Vec<(String, Vec<String>)>,
    /// The `(layer, flat index)` pairs the architecture read, to check afterwards that every
    /// stored variable was used, as Keras's loader insists.
    read: RefCell<BTreeSet<(String, usize)>>,
}

pub(crate) fn hdf5_err(e: impl std::fmt::Display) -> KerasError {
    KerasError::Hdf5(format!("not a readable HDF5 file: {e}"))
}

/// Opens HDF5 bytes in memory (no temp file). A file shorter than the end-of-file address
/// its superblock records is refused as truncated, as libhdf5 does: the lost tail may hold
/// nothing a reader follows (free space in a global heap), but a cut file is not what was saved.
pub(crate) fn open_file(bytes: &[u8]) -> Result<Hdf5File, KerasError> {
    let file = Hdf5File::from_bytes(bytes).map_err(hdf5_err)?;
    let sb = file.superblock();
    let declared = sb.base_address.saturating_add(sb.eof_address);
    if declared > bytes.len() as u64 {
        return Err(KerasError::Hdf5(format!(
            "truncated file: it declares {declared} bytes, {} are present",
            bytes.len()
        )));
    }
    Ok(file)
}

/// The strings an attribute holds: fixed-length (NULLPAD, as Keras 2 with older h5py wrote
/// them) or variable-length (h5py 3). Keras writes `weight_names` of a layer without weights
/// as an empty float64 array (numpy's default dtype for `[]`), so any empty attribute is an
/// empty list whatever its type.
fn strings(attr: &Attribute) -> Result<Vec<String>, KerasError> {
    if attr.num_elements().map_err(hdf5_err)? == 0 {
        return Ok(Vec::new());
    }
    if let Some(s) = &attr.decoded_strings {
        return Ok(s.clone());
    }
    attr.read_strings().map_err(|e| {
        KerasError::Hdf5(format!(
            "attribute `{}` is not a list of strings: {e}",
            attr.name
        ))
    })
}

/// A string attribute (`model_config`, `keras_version`, ...), if the group has it.
pub(crate) fn string_attr(group: &Group, name: &str) -> Result<Option<String>, KerasError> {
    let attrs = group.attributes().map_err(hdf5_err)?;
    let Some(attr) = attrs.iter().find(|a| a.name == name) else {
        return Ok(None);
    };
    if let Some(s) = attr.decoded_strings.as_ref().and_then(|s| s.first()) {
        return Ok(Some(s.clone()));
    }
    attr.read_string()
        .map(Some)
        .map_err(|e| KerasError::Hdf5(format!("attribute `{name}` is not a string: {e}")))
}

/// A list attribute as Keras's `load_attributes_from_hdf5_group` reads it: `name` itself, or
/// the chunks `name0`, `name1`, … concatenated. `None` when the group has neither.
fn list_attr(attrs: &[Attribute], name: &str) -> Result<Option<Vec<String>>, KerasError> {
    if let Some(a) = attrs.iter().find(|a| a.name == name) {
        return strings(a).map(Some);
    }
    let mut out: Option<Vec<String>> = None;
    for chunk in 0.. {
        let key = format!("{name}{chunk}");
        let Some(a) = attrs.iter().find(|a| a.name == key) else {
            break;
        };
        out.get_or_insert_with(Vec::new).extend(strings(a)?);
    }
    Ok(out)
}

impl Weights {
    pub(crate) fn open(bytes: &[u8]) -> Result<Self, KerasError> {
        Self::from_file(open_file(bytes)?, bytes.len())
    }

    /// Picks the layout: a `layer_names` attribute on the root (a legacy `save_weights` file) or
    /// on `model_weights` (a whole-model file, which Keras's `load_weights` also accepts),
    /// else the Keras 3 `layers/…/vars` layout.
    pub(crate) fn from_file(file: Hdf5File, len: usize) -> Result<Self, KerasError> {
        let root = file.root_group().map_err(hdf5_err)?;
        let root_attrs = root.attributes().map_err(hdf5_err)?;
        let (group, attrs, prefix) = if list_attr(&root_attrs, "layer_names")?.is_some() {
            (root, root_attrs, "")
        } else {
            match file.group("model_weights") {
                Ok(g) => {
                    let attrs = g.attributes().map_err(hdf5_err)?;
                    (g, attrs, "model_weights/")
                }
                Err(_) => return Ok(Self::Keras3(file, len)),
            }
        };
        let names = list_attr(&attrs, "layer_names")?.ok_or_else(|| {
            KerasError::Hdf5(format!(
                "`{}` has no `layer_names` attribute",
                if prefix.is_empty() { "/" } else { prefix }
            ))
        })?;
        // Keras 2 reads a file without `keras_version` as Keras 1 and converts its weights
        // (`preprocess_weights_for_loading`); scorewell does not, so it refuses them.
        match string_attr(&group, "keras_version")? {
            None => {
                return Err(KerasError::Keras1(
                    "the weights file has no `keras_version`".into(),
                ));
            }
            Some(v) if v.starts_with("1.") => {
                return Err(KerasError::Keras1(format!(
                    "the weights file was written by Keras {v}"
                )));
            }
            Some(_) => {}
        }
        let mut layers = Vec::with_capacity(names.len());
        for name in names {
            let g = group.group(&name).map_err(|e| {
                KerasError::Hdf5(format!(
                    "`layer_names` lists `{name}`, but `{prefix}{name}` is not a group: {e}"
                ))
            })?;
            let attrs = g.attributes().map_err(hdf5_err)?;
            let weight_names = list_attr(&attrs, "weight_names")?.unwrap_or_default();
            layers.push((name, weight_names));
        }
        Ok(Self::Legacy(Legacy {
            file,
            len,
            prefix,
            layers,
            read: RefCell::new(BTreeSet::new()),
        }))
    }

    /// Reads one variable of layer `layer`, which must have `expected` shape. `path` and
    /// `index` locate it in a Keras 3 file (`layers/<path>/vars/<index>`); `flat` is its
    /// position in the top-level layer's `get_weights()` list, which is how a legacy file
    /// orders it (`weight_names[flat]` of the group named after the layer). The declared shape
    /// is compared before anything is read, so a dataset declaring a huge extent is refused
    /// without allocating it.
    pub(crate) fn var(
        &self,
        layer: &str,
        path: &str,
        index: usize,
        flat: usize,
        variable: &str,
        expected: &[usize],
    ) -> Result<Vec<f32>, KerasError> {
        let missing = |path: String| KerasError::MissingWeight {
            layer: layer.to_owned(),
            variable: variable.to_owned(),
            path,
        };
        let (ds, full, len) = match self {
            Self::Keras3(file, len) => {
                let full = format!("layers/{path}/vars/{index}");
                let ds = file.dataset(&full).map_err(|_| missing(full.clone()))?;
                (ds, full, *len)
            }
            Self::Legacy(l) => {
                // Matched by layer name, not by Keras's positional zip of "layers with weights"
                // against "groups with non-empty weight_names": in every file Keras writes, the
                // names in `layer_names` are the config's layer names, so both rules pick the
                // same group, and the name needs no per-class knowledge of which layers own
                // weights (which would have to track every layer class added). Keras's count
                // check is kept: `finish` refuses a file whose variables were not all used.
                let group = format!("{}{layer}", l.prefix);
                let names = l
                    .layers
                    .iter()
                    .find(|(n, _)| n == layer)
                    .map(|(_, w)| w)
                    .ok_or_else(|| missing(group.clone()))?;
                let name = names
                    .get(flat)
                    .ok_or_else(|| missing(format!("{group} weight_names[{flat}]")))?;
                let full = format!("{group}/{name}");
                let ds = l.file.dataset(&full).map_err(|_| missing(full.clone()))?;
                l.read.borrow_mut().insert((layer.to_owned(), flat));
                (ds, full, l.len)
            }
        };
        read_checked(&ds, &full, len, layer, variable, expected)
    }

    /// After the graph is built: in a legacy file, every stored variable must have been read,
    /// as Keras's own loader requires (same number of layers with weights, same number of
    /// weights per layer). A layer the architecture lacks, or a variable it does not use, means
    /// the file belongs to another model.
    pub(crate) fn finish(&self) -> Result<(), KerasError> {
        let Self::Legacy(l) = self else {
            return Ok(());
        };
        let read = l.read.borrow();
        let mut used: HashMap<&str, usize> = HashMap::new();
        for (layer, _) in read.iter() {
            *used.entry(layer.as_str()).or_default() += 1;
        }
        for (layer, names) in &l.layers {
            let n = used.get(layer.as_str()).copied().unwrap_or(0);
            if n != names.len() {
                return Err(KerasError::WeightCount {
                    layer: layer.clone(),
                    stored: names.len(),
                    used: n,
                });
            }
        }
        Ok(())
    }
}

/// Keras writes weights uncompressed; deflate, the strongest filter an HDF5 writer offers,
/// cannot expand data more than about 1032 times. Anything claiming more than this ratio over
/// the whole file's size is refused before its buffer is allocated.
const MAX_EXPANSION: usize = 1032;

fn read_checked(
    ds: &Dataset,
    full: &str,
    file_len: usize,
    layer: &str,
    variable: &str,
    expected: &[usize],
) -> Result<Vec<f32>, KerasError> {
    let found: Vec<usize> = ds
        .shape()
        .iter()
        .map(|&d| usize::try_from(d).unwrap_or(usize::MAX))
        .collect();
    if found != expected {
        return Err(scorewell_nn::NnError::WeightShape {
            layer: layer.to_owned(),
            variable: variable.to_owned(),
            expected: expected.to_vec(),
            found,
        }
        .into());
    }
    // The architecture's own shape may be huge too (a config declaring `units: 10**12`), and
    // the file may declare the same: bound the allocation by what the file could hold.
    let values = expected
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n.saturating_mul(4) <= file_len.saturating_mul(MAX_EXPANSION))
        .ok_or_else(|| {
            KerasError::Hdf5(format!(
                "`{full}` (layer `{layer}`, weight `{variable}`) declares shape {expected:?}, more than a file of {file_len} bytes can hold"
            ))
        })?;
    let mut out = vec![0.0f32; values];
    ds.read_into(&mut out).map_err(|e| {
        KerasError::Hdf5(format!(
            "reading `{full}` (layer `{layer}`, weight `{variable}`): {e}"
        ))
    })?;
    Ok(out)
}
