/// A dense row-major `f32` tensor whose first axis is the batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    shape: Vec<usize>,
    data: Vec<f32>,
}

impl Tensor {
    /// Wraps `data` as a tensor of `shape`; `None` if the element count differs.
    pub fn new(shape: Vec<usize>, data: Vec<f32>) -> Option<Self> {
        let count = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))?;
        (count == data.len()).then_some(Self { shape, data })
    }

    /// The full shape, batch first.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The batch size (the first axis).
    pub fn batch(&self) -> usize {
        self.shape.first().copied().unwrap_or(0)
    }

    /// The elements, row-major.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// Takes the elements out.
    pub fn into_data(self) -> Vec<f32> {
        self.data
    }

    // Callers inside the crate build the shape from a sample shape the builder resolved, so the
    // element count always matches.
    pub(crate) fn from_parts(shape: Vec<usize>, data: Vec<f32>) -> Self {
        debug_assert_eq!(shape.iter().product::<usize>(), data.len());
        Self { shape, data }
    }
}
