//! Request limits and the concurrency gate.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;

/// What one request may ask of the server. Each limit has a CLI flag of the same name.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Largest request body in bytes; larger bodies get 413. Default 4 MiB
    /// (`--max-body-bytes`).
    pub max_body_bytes: usize,
    /// Most rows in one request; more get 413. Default 65,536 (`--max-rows`).
    pub max_rows: usize,
    /// Most values in one request, counted as rows × fields (a field missing from some rows
    /// still takes a cell in each, as a null); more get 413. This bounds the memory a small
    /// body can make the server allocate: a field first seen in the last row is filled with
    /// nulls for every row before it. Default 2,097,152 (`--max-cells`).
    pub max_cells: usize,
    /// Longest a request may take, body upload included; slower ones get 504. Default 10 s
    /// (`--timeout-ms`).
    pub timeout: Duration,
    /// Most scoring requests in progress at once; further ones get 429 at once rather than
    /// queueing. Default 512 (`--max-concurrency`).
    pub max_concurrency: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 4 * 1024 * 1024,
            max_rows: 65_536,
            max_cells: 2 * 1024 * 1024,
            timeout: Duration::from_secs(10),
            max_concurrency: 512,
        }
    }
}

/// Bodies up to this size are parsed on the connection's own task; larger ones are parsed
/// and scored on the blocking pool so they cannot stall other connections.
pub(crate) const INLINE_BODY_BYTES: usize = 64 * 1024;

/// Requests of at most this many rows (and a body within [`INLINE_BODY_BYTES`]) are also
/// scored on the connection's own task: that is cheaper than any hand-off for the single-row
/// requests that dominate online scoring, and short enough not to stall the worker. Larger
/// batches are scored on the blocking pool, where [`Limits::timeout`] can still answer 504.
pub(crate) const INLINE_ROWS: usize = 4;

/// Admits at most `max_concurrency` scoring requests at a time.
#[derive(Debug)]
pub(crate) struct Gate {
    permits: Arc<Semaphore>,
    limit: usize,
}

impl Gate {
    pub(crate) fn new(limit: usize) -> Self {
        let limit = limit.clamp(1, Semaphore::MAX_PERMITS);
        Self {
            permits: Arc::new(Semaphore::new(limit)),
            limit,
        }
    }

    /// A permit, or [`ApiError::Overloaded`] when all are taken.
    pub(crate) fn enter(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        self.permits
            .clone()
            .try_acquire_owned()
            .map_err(|_| ApiError::Overloaded { limit: self.limit })
    }

    /// Scoring requests in progress now.
    pub(crate) fn in_flight(&self) -> usize {
        self.limit - self.permits.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_refuses_past_its_limit_and_reopens() {
        let gate = Gate::new(2);
        let a = gate.enter().expect("first");
        let _b = gate.enter().expect("second");
        assert_eq!(gate.in_flight(), 2);
        let err = gate.enter().expect_err("third");
        assert_eq!(err.status(), axum::http::StatusCode::TOO_MANY_REQUESTS);
        drop(a);
        assert!(gate.enter().is_ok());
    }
}
