//! The least-recently-used cache of built models behind a routing stage.
//!
//! A model's cost is the size of its artifact in bytes: known before the model is built, and
//! an upper bound in practice, since the compiled forest keeps fewer bytes per node than the
//! JSON or text file it came from (docs/ROUTING.md has the measured figures). A cache over
//! its budget drops the least recently used models until it fits again; it always keeps the
//! model just built, so one model larger than the budget still scores.
//!
//! A hit (every warm request) only stamps its slot with a tick; the oldest slot is found by a
//! scan when something must be dropped, which happens only after a build, itself far slower
//! than scanning ten thousand slots.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use foldhash::fast::RandomState;

use super::stats::StageStats;

/// Built models by index, under a byte budget.
#[derive(Debug)]
pub(crate) struct Cache<T> {
    budget: u64,
    state: Mutex<State<T>>,
}

#[derive(Debug)]
struct State<T> {
    /// Incremented on every use: the recency order.
    tick: u64,
    /// Sum of the cached models' costs.
    used: u64,
    slots: HashMap<usize, Slot<T>, RandomState>,
}

#[derive(Debug)]
struct Slot<T> {
    value: Arc<T>,
    cost: u64,
    tick: u64,
}

impl<T> Cache<T> {
    /// An empty cache holding at most `budget` bytes of models.
    pub(crate) fn new(budget: u64) -> Self {
        Self {
            budget,
            state: Mutex::new(State {
                tick: 0,
                used: 0,
                slots: HashMap::default(),
            }),
        }
    }

    /// The model at `index`, built with `build` (which returns it and its cost) when it is not
    /// cached. The build runs outside the lock, so other keys keep scoring meanwhile; two
    /// threads missing the same key at once may both build it, and the first one cached wins.
    pub(crate) fn get_or_build<E>(
        &self,
        index: usize,
        stats: &StageStats,
        build: impl FnOnce() -> Result<(T, u64), E>,
    ) -> Result<Arc<T>, E> {
        if let Some(hit) = self.touch(index) {
            return Ok(hit);
        }
        let (value, cost) = build()?;
        stats.built();
        let value = Arc::new(value);
        // A poisoned lock means another thread panicked mid-update; scoring without the cache
        // is still correct.
        let Ok(mut state) = self.state.lock() else {
            return Ok(value);
        };
        let state = &mut *state;
        state.tick += 1;
        let tick = state.tick;
        if let Some(slot) = state.slots.get_mut(&index) {
            slot.tick = tick;
            return Ok(slot.value.clone());
        }
        state.slots.insert(
            index,
            Slot {
                value: value.clone(),
                cost,
                tick,
            },
        );
        state.used += cost;
        while state.used > self.budget && state.slots.len() > 1 {
            let Some(oldest) = state
                .slots
                .iter()
                .filter(|(i, _)| **i != index)
                .min_by_key(|(_, slot)| slot.tick)
                .map(|(i, _)| *i)
            else {
                break;
            };
            if let Some(slot) = state.slots.remove(&oldest) {
                state.used -= slot.cost;
                stats.evicted();
            }
        }
        stats.cached(state.slots.len() as u64, state.used);
        Ok(value)
    }

    /// The cached model at `index`, marked as just used.
    fn touch(&self, index: usize) -> Option<Arc<T>> {
        let mut state = self.state.lock().ok()?;
        let state = &mut *state;
        state.tick += 1;
        let tick = state.tick;
        let slot = state.slots.get_mut(&index)?;
        slot.tick = tick;
        Some(slot.value.clone())
    }

    /// How many models are cached and their total cost.
    #[cfg(test)]
    pub(crate) fn usage(&self) -> (usize, u64) {
        self.state
            .lock()
            .map(|s| (s.slots.len(), s.used))
            .unwrap_or((0, 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_recently_used_models_are_dropped_to_fit_the_budget() {
        let stats = StageStats::default();
        let cache = Cache::<usize>::new(30);
        let get = |i: usize| {
            cache
                .get_or_build(i, &stats, || Ok::<_, ()>((i, 10)))
                .unwrap()
        };
        get(0);
        get(1);
        get(2);
        assert_eq!(cache.usage(), (3, 30));
        get(0); // 1 is now the oldest
        get(3);
        assert_eq!(cache.usage(), (3, 30));
        assert_eq!(stats.snapshot().evictions, 1);
        assert_eq!(stats.snapshot().builds, 4);
        get(0);
        get(2);
        get(3);
        assert_eq!(stats.snapshot().builds, 4, "0, 2 and 3 stayed cached");
        get(1);
        assert_eq!(stats.snapshot().builds, 5, "1 was dropped");
    }

    #[test]
    fn a_model_over_the_budget_is_still_kept_alone() {
        let stats = StageStats::default();
        let cache = Cache::<usize>::new(5);
        cache
            .get_or_build(0, &stats, || Ok::<_, ()>((0, 10)))
            .unwrap();
        assert_eq!(cache.usage(), (1, 10));
        cache
            .get_or_build(1, &stats, || Ok::<_, ()>((1, 10)))
            .unwrap();
        assert_eq!(cache.usage(), (1, 10));
    }

    #[test]
    fn a_failed_build_caches_nothing() {
        let stats = StageStats::default();
        let cache = Cache::<usize>::new(100);
        assert!(
            cache
                .get_or_build(0, &stats, || Err::<(usize, u64), _>("bad"))
                .is_err()
        );
        assert_eq!(cache.usage(), (0, 0));
        assert_eq!(stats.snapshot().builds, 0);
    }
}
