//! Embedding → recurrent layer, folded: every token's input projection `table[v] · kernel +
//! bias` is computed once when the graph is built, so scoring gathers one row per token instead
//! of looking up the embedding and multiplying it by the kernel (half the arithmetic of an
//! Embedding + LSTM text model). Done only where the Embedding's output has no other reader and
//! the folded tables stay small.

use crate::layer::{Embedding, Layer};
use crate::recurrent::Recurrent;

/// Folded tables above this many floats (64 MB) are not made.
const MAX_FOLD_FLOATS: usize = 1 << 24;

/// The projected tables of one recurrent node: one per direction (forward, then backward).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Fold {
    pub tables: Vec<Vec<f32>>,
}

/// `vocab × gates·units`: each embedding row times the kernel, plus the bias.
fn project(e: &Embedding, r: &Recurrent) -> Vec<f32> {
    let (vocab, dim) = (e.table_shape[0], e.table_shape[1]);
    let g = r.cell.gates() * r.units;
    let mut out = vec![0.0f32; vocab * g];
    if let Some(b) = &r.bias {
        out.chunks_exact_mut(g.max(1))
            .for_each(|row| row.copy_from_slice(b));
    }
    crate::recurrent::project(&e.table, vocab, dim, &r.kernel, g, &mut out);
    out
}

/// The fold of `consumer` reading `emb`'s output, when it pays and fits.
pub(crate) fn plan(emb: &Layer, consumer: &Layer) -> Option<Fold> {
    let Layer::Embedding(e) = emb else {
        return None;
    };
    let rs: Vec<&Recurrent> = match consumer {
        Layer::Recurrent(r) => vec![r],
        Layer::Bidirectional(b) => vec![&b.forward, &b.backward],
        _ => return None,
    };
    let vocab = e.table_shape[0];
    let floats: usize = rs
        .iter()
        .map(|r| vocab.saturating_mul(r.cell.gates() * r.units))
        .sum();
    (floats <= MAX_FOLD_FLOATS).then(|| Fold {
        tables: rs.iter().map(|r| project(e, r)).collect(),
    })
}

#[cfg(test)]
mod tests {
    use crate::activation::Activation;
    use crate::error::NnError;
    use crate::graph::GraphBuilder;
    use crate::layer::{Embedding, Layer};
    use crate::recurrent::{BiMerge, Bidirectional, Cell, Recurrent};
    use crate::tensor::Tensor;

    fn lstm(go_backwards: bool) -> Recurrent {
        let v = |n: usize, k: f32| (0..n).map(|i| ((i as f32 * k).sin()) * 0.5).collect();
        Recurrent {
            cell: Cell::Lstm,
            units: 3,
            kernel: v(2 * 12, 0.7),
            recurrent_kernel: v(3 * 12, 1.3),
            bias: Some(v(12, 2.1)),
            recurrent_bias: None,
            activation: Activation::Tanh,
            recurrent_activation: Activation::Sigmoid,
            return_sequences: true,
            go_backwards,
            zero_output_for_mask: go_backwards,
        }
    }

    /// The same network with the Embedding folded, and with an Identity in between (no fold).
    fn run(layer: Layer, ids: &[f32]) -> [Result<Vec<f32>, NnError>; 2] {
        [false, true].map(|identity| {
            let mut g = GraphBuilder::new();
            let t = g.add_input("t", vec![4]).expect("t");
            let table = (0..10)
                .flat_map(|v| [v as f32 * 0.1, 1.0 - v as f32 * 0.2])
                .collect();
            let emb = Embedding {
                table,
                table_shape: vec![10, 2],
                mask_zero: true,
            };
            let mut x = g
                .add_layer("emb", Layer::Embedding(emb), &[t])
                .expect("emb");
            if identity {
                x = g.add_layer("id", Layer::Identity, &[x]).expect("id");
            }
            let r = g.add_layer("rnn", layer.clone(), &[x]).expect("rnn");
            g.add_output("rnn", r).expect("out");
            let graph = g.build().expect("graph");
            let t = Tensor::new(vec![ids.len() / 4, 4], ids.to_vec()).expect("ids");
            graph.run(vec![t]).map(|mut o| o.remove(0).into_data())
        })
    }

    #[test]
    fn a_folded_embedding_scores_as_the_unfolded_one() {
        let ids = [3.0, 0.0, 9.0, 1.0, 0.0, 0.0, 2.0, 2.0];
        let bi = Layer::Bidirectional(Box::new(Bidirectional {
            forward: lstm(false),
            backward: lstm(true),
            merge: BiMerge::Concat,
        }));
        for layer in [Layer::Recurrent(Box::new(lstm(false))), bi] {
            let [folded, plain] = run(layer, &ids);
            let (folded, plain) = (folded.expect("folded"), plain.expect("plain"));
            assert_eq!(folded.len(), plain.len());
            for (a, b) in folded.iter().zip(&plain) {
                assert!((a - b).abs() < 1e-6, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn a_folded_embedding_still_refuses_unknown_ids() {
        let [folded, _] = run(
            Layer::Recurrent(Box::new(lstm(false))),
            &[1.0, 10.0, 0.0, 0.0],
        );
        assert_eq!(
            folded.expect_err("id 10"),
            NnError::EmbeddingIndex {
                layer: "emb".into(),
                value: 10.0,
                vocab: 10
            }
        );
    }
}
