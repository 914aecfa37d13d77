//! Variables from a Keras 3 weights file (`model.weights.h5` / `*.weights.h5`): each layer's
//! variables are the datasets `layers/<object path>/vars/0..n`, in the layer's own order.

use hdf5_reader::Hdf5File;

use crate::error::KerasError;

pub(crate) struct Weights {
    file: Hdf5File,
}

impl Weights {
    pub(crate) fn open(bytes: &[u8]) -> Result<Self, KerasError> {
        let file = Hdf5File::from_bytes(bytes)
            .map_err(|e| KerasError::Hdf5(format!("not a readable HDF5 file: {e}")))?;
        Ok(Self { file })
    }

    /// Reads variable `index` of the layer stored under `path` (a Keras 3 object path, such as
    /// `lstm/cell` or `bidirectional/backward_layer/cell`), which must have `expected` shape.
    /// `_flat` is the variable's position in the top-level layer's `get_weights()` list (for
    /// a Bidirectional's backward cell: the forward cell's variable count + `index`); a Keras 3
    /// file does not need it, a Keras 2 `.h5` names its variables in that order. The declared
    /// shape is compared before anything is read, so a dataset declaring a huge extent is
    /// refused without allocating it.
    pub(crate) fn var(
        &self,
        layer: &str,
        path: &str,
        index: usize,
        _flat: usize,
        variable: &str,
        expected: &[usize],
    ) -> Result<Vec<f32>, KerasError> {
        let full = format!("layers/{path}/vars/{index}");
        let ds = self
            .file
            .dataset(&full)
            .map_err(|_| KerasError::MissingWeight {
                layer: layer.to_owned(),
                variable: variable.to_owned(),
                path: full.clone(),
            })?;
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
        let mut out = vec![0.0f32; expected.iter().product()];
        ds.read_into(&mut out).map_err(|e| {
            KerasError::Hdf5(format!(
                "reading `{full}` (layer `{layer}`, weight `{variable}`): {e}"
            ))
        })?;
        Ok(out)
    }
}
