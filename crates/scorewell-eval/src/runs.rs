//! Exact ranking over inputs larger than memory: an external sort of `(score, label)` pairs.
//!
//! Pairs collect in a buffer of bounded length. A full buffer is sorted by descending score,
//! collapsed into one `(score, positives, negatives)` entry per distinct score, and written to
//! an anonymous temporary file as a sorted run. When [`RUN_FANIN`] runs exist they are merged
//! into one, so open files and merge width stay bounded. [`ScoreRuns::into_levels`] merges the
//! runs with the buffer and yields every distinct score once, highest first, with its counts:
//! exactly what ROC AUC, average precision and the precision/recall curve need.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};

use crate::error::{EvalError, Result};

/// Runs merged into one when this many exist.
const RUN_FANIN: usize = 16;
/// Bytes of one collapsed entry on disk: score, positives, negatives.
const ENTRY_BYTES: usize = 24;

/// One distinct score with how many positive and negative rows have it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Level {
    /// The score.
    pub score: f64,
    /// Rows with label 1.
    pub pos: u64,
    /// Rows with label 0.
    pub neg: u64,
}

/// Pairs of one model's scores and labels, sorted lazily and spilled to disk past a limit.
#[derive(Debug)]
pub(crate) struct ScoreRuns {
    buf: Vec<(f64, bool)>,
    cap: usize,
    runs: Vec<File>,
}

impl ScoreRuns {
    /// Keep at most `cap` pairs in memory (16 bytes each).
    pub fn new(cap: usize) -> Self {
        Self {
            buf: Vec::new(),
            cap: cap.max(1),
            runs: Vec::new(),
        }
    }

    /// Add one row. `score` must not be NaN (callers drop NaN scores first).
    pub fn push(&mut self, score: f64, positive: bool) -> Result<()> {
        // -0.0 and 0.0 are the same score (NumPy sorts them as ties).
        self.buf.push((score + 0.0, positive));
        if self.buf.len() >= self.cap {
            self.spill()?;
        }
        Ok(())
    }

    fn spill(&mut self) -> Result<()> {
        let levels = collapse(std::mem::take(&mut self.buf));
        let file = write_run(levels.into_iter().map(Ok))?;
        self.runs.push(file);
        if self.runs.len() >= RUN_FANIN {
            let runs = std::mem::take(&mut self.runs);
            let merged = Merge::new(runs, Vec::new())?;
            self.runs.push(write_run(merged)?);
        }
        Ok(())
    }

    /// Every distinct score once, highest first.
    pub fn into_levels(self) -> Result<Merge> {
        Merge::new(self.runs, collapse(self.buf))
    }
}

/// Sort descending and merge equal scores.
fn collapse(mut pairs: Vec<(f64, bool)>) -> Vec<Level> {
    pairs.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
    let mut out: Vec<Level> = Vec::new();
    for (score, positive) in pairs {
        match out.last_mut() {
            Some(last) if last.score == score => {
                if positive {
                    last.pos += 1
                } else {
                    last.neg += 1
                }
            }
            _ => out.push(Level {
                score,
                pos: u64::from(positive),
                neg: u64::from(!positive),
            }),
        }
    }
    out
}

fn write_run(levels: impl Iterator<Item = Result<Level>>) -> Result<File> {
    let file = tempfile::tempfile().map_err(EvalError::spill)?;
    let mut w = BufWriter::with_capacity(1 << 16, file);
    for level in levels {
        let level = level?;
        let mut bytes = [0u8; ENTRY_BYTES];
        bytes[..8].copy_from_slice(&level.score.to_le_bytes());
        bytes[8..16].copy_from_slice(&level.pos.to_le_bytes());
        bytes[16..].copy_from_slice(&level.neg.to_le_bytes());
        w.write_all(&bytes).map_err(EvalError::spill)?;
    }
    let mut file = w
        .into_inner()
        .map_err(|e| EvalError::spill(e.into_error()))?;
    file.seek(SeekFrom::Start(0)).map_err(EvalError::spill)?;
    Ok(file)
}

enum Source {
    Memory(std::vec::IntoIter<Level>),
    Disk(BufReader<File>),
}

impl Source {
    fn next(&mut self) -> Result<Option<Level>> {
        match self {
            Source::Memory(it) => Ok(it.next()),
            Source::Disk(r) => {
                let mut bytes = [0u8; ENTRY_BYTES];
                match r.read_exact(&mut bytes) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
                    Err(e) => return Err(EvalError::spill(e)),
                }
                let word = |i: usize| {
                    let mut w = [0u8; 8];
                    w.copy_from_slice(&bytes[i..i + 8]);
                    w
                };
                Ok(Some(Level {
                    score: f64::from_le_bytes(word(0)),
                    pos: u64::from_le_bytes(word(8)),
                    neg: u64::from_le_bytes(word(16)),
                }))
            }
        }
    }
}

/// A k-way merge of sorted runs (k is at most [`RUN_FANIN`] + 1, so a linear scan for the
/// largest head is as fast as a heap).
pub struct Merge {
    sources: Vec<Source>,
    heads: Vec<Option<Level>>,
}

impl std::fmt::Debug for Merge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Merge")
            .field("runs", &self.sources.len())
            .finish()
    }
}

impl Merge {
    fn new(files: Vec<File>, memory: Vec<Level>) -> Result<Self> {
        let mut sources: Vec<Source> = files
            .into_iter()
            .map(|f| Source::Disk(BufReader::with_capacity(1 << 16, f)))
            .collect();
        sources.push(Source::Memory(memory.into_iter()));
        let heads = sources
            .iter_mut()
            .map(Source::next)
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { sources, heads })
    }

    fn next_level(&mut self) -> Result<Option<Level>> {
        let mut best: Option<f64> = None;
        for level in self.heads.iter().flatten() {
            if best.is_none_or(|b| level.score.total_cmp(&b).is_gt()) {
                best = Some(level.score);
            }
        }
        let Some(score) = best else { return Ok(None) };
        let mut out = Level {
            score,
            pos: 0,
            neg: 0,
        };
        for (head, source) in self.heads.iter_mut().zip(self.sources.iter_mut()) {
            // Within a run scores are distinct, so each source contributes at most once.
            if let Some(level) = head
                && level.score == score
            {
                out.pos += level.pos;
                out.neg += level.neg;
                *head = source.next()?;
            }
        }
        Ok(Some(out))
    }
}

impl Iterator for Merge {
    type Item = Result<Level>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_level().transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spilled_runs_merge_into_the_same_levels_as_one_sort() {
        let mut state = 7u64;
        let pairs: Vec<(f64, bool)> = (0..5000)
            .map(|i| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let score = ((state >> 33) % 300) as f64 / 7.0 - 10.0;
                (
                    if i % 97 == 0 { -0.0 } else { score },
                    (state >> 20) & 1 == 1,
                )
            })
            .collect();
        let mut small = ScoreRuns::new(37); // > RUN_FANIN spills, so runs are re-merged too
        let mut big = ScoreRuns::new(1 << 20);
        for &(s, l) in &pairs {
            small.push(s, l).unwrap();
            big.push(s, l).unwrap();
        }
        let a: Vec<Level> = small.into_levels().unwrap().map(|l| l.unwrap()).collect();
        let b: Vec<Level> = big.into_levels().unwrap().map(|l| l.unwrap()).collect();
        assert_eq!(a, b);
        assert!(a.windows(2).all(|w| w[0].score > w[1].score));
        assert_eq!(a.iter().map(|l| l.pos + l.neg).sum::<u64>(), 5000);
        assert_eq!(a.iter().filter(|l| l.score == 0.0).count(), 1);
    }
}
