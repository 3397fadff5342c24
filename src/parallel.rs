//! An ordered parallel map: items are read, transformed and collected in batches on `jobs`
//! threads, the results in input order, so the output is the same whatever the number of
//! threads.
//!
//! There is no reader or collector thread: each worker reads a batch when it needs one, maps
//! it, and collects every batch that is ready next in order when no other worker is collecting.
//! So no worker waits for another to take its turn, the rows a worker parses are mapped in the
//! same core's cache, and a batch is usually collected where it was mapped.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// Items per batch handed to a worker, the usual `batch` of [`ordered_map`] (the compiler
/// hands chunks of this many rows, one chunk per batch).
pub const BATCH: usize = 512;

/// Batches read but not yet collected, per worker: this bounds the items in flight.
const IN_FLIGHT: usize = 3;

/// The number of threads to use when the caller does not say: the machine's cores.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// What the workers share.
struct Shared<N, C, O> {
    state: Mutex<State<O>>,
    changed: Condvar,
    /// The item source; only the worker whose turn it is to read locks it.
    next: Mutex<N>,
    /// The collector; only the worker whose turn it is to collect locks it.
    collect: Mutex<C>,
}

/// Who reads, who collects, and the batches in flight.
struct State<O> {
    /// Batches read and not yet collected, from the next one to collect; `None` while a
    /// worker maps it.
    pending: VecDeque<Option<Vec<O>>>,
    /// The number of batches collected: the number of the batch at the front of `pending`.
    collected: usize,
    /// A worker is reading a batch.
    reading: bool,
    /// A worker is collecting.
    collecting: bool,
    /// The source has no more items.
    exhausted: bool,
    /// Collecting stopped: `collect` said so, or a worker panicked.
    stopped: bool,
}

impl<O> State<O> {
    /// The next batch to collect has been mapped.
    fn ready(&self) -> bool {
        matches!(self.pending.front(), Some(Some(_)))
    }
}

impl<N, C, O> Shared<N, C, O> {
    fn lock(&self) -> MutexGuard<'_, State<O>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Wakes the other workers when a worker leaves, stopping everything if it panicked (a batch
/// it held would otherwise never be collected).
struct Leaving<'s, N, C, O>(&'s Shared<N, C, O>);

impl<N, C, O> Drop for Leaving<'_, N, C, O> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.lock().stopped = true;
        }
        self.0.changed.notify_all();
    }
}

/// The next batch of items from the source: `size` of them, fewer at its end.
fn read_batch<I>(next: &Mutex<impl FnMut() -> Option<I>>, size: usize) -> Vec<I> {
    let mut next = next.lock().unwrap_or_else(PoisonError::into_inner);
    let mut batch = Vec::with_capacity(size);
    while batch.len() < size {
        match next() {
            Some(item) => batch.push(item),
            None => break,
        }
    }
    batch
}

/// Collect the batches at the front of `pending` that are mapped, in order, releasing the lock
/// while each is collected; stops everything if `collect` says so.
fn collect_ready<'s, N, C, O>(
    shared: &'s Shared<N, C, O>,
    mut state: MutexGuard<'s, State<O>>,
) -> MutexGuard<'s, State<O>>
where
    C: FnMut(O, &[O]) -> bool,
{
    while !state.stopped && state.ready() {
        let Some(Some(done)) = state.pending.pop_front() else {
            break;
        };
        state.collected += 1;
        drop(state);
        let going = {
            let mut collect = shared
                .collect
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let mut items = done.into_iter();
            let mut going = true;
            while let Some(item) = items.next() {
                if !collect(item, items.as_slice()) {
                    going = false;
                    break;
                }
            }
            going
        };
        state = shared.lock();
        state.stopped |= !going;
        shared.changed.notify_all();
    }
    state
}

/// Read items with `next`, map each on `jobs` threads with a `work` function each worker makes
/// with `worker` (so that workers can keep state of their own), and give the results to
/// `collect` in the order the items were read, each with the results of its batch that come
/// after it (to look ahead; empty with one thread); `collect` returns false to stop early.
///
/// With `jobs` ≤ 1 everything runs on the calling thread. Otherwise `jobs` workers each read a
/// batch of `batch` items when they need one (one at a time), map it, and collect the batches
/// that are next in order (one at a time), so `next` and `collect` run on the workers. Memory
/// is bounded by `jobs × 3` batches.
pub fn ordered_map<I, O, N, W, C>(
    jobs: usize,
    batch: usize,
    mut next: N,
    worker: impl Fn() -> W + Sync,
    mut collect: C,
) where
    I: Send,
    O: Send,
    N: FnMut() -> Option<I> + Send,
    W: FnMut(I) -> O,
    C: FnMut(O, &[O]) -> bool + Send,
{
    if jobs <= 1 {
        let mut work = worker();
        while let Some(item) = next() {
            if !collect(work(item), &[]) {
                return;
            }
        }
        return;
    }
    let shared = Shared {
        state: Mutex::new(State {
            pending: VecDeque::new(),
            collected: 0,
            reading: false,
            collecting: false,
            exhausted: false,
            stopped: false,
        }),
        changed: Condvar::new(),
        next: Mutex::new(next),
        collect: Mutex::new(collect),
    };
    let limit = jobs * IN_FLIGHT;
    let size = batch.max(1);
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let (shared, worker) = (&shared, &worker);
            scope.spawn(move || {
                let _leaving = Leaving(shared);
                let mut work = worker();
                let mut state = shared.lock();
                loop {
                    if state.stopped {
                        return;
                    }
                    if !state.collecting && state.ready() {
                        state.collecting = true;
                        state = collect_ready(shared, state);
                        state.collecting = false;
                    } else if !state.reading && !state.exhausted && state.pending.len() < limit {
                        state.reading = true;
                        drop(state);
                        let batch = read_batch(&shared.next, size);
                        state = shared.lock();
                        state.reading = false;
                        state.exhausted = batch.len() < size;
                        shared.changed.notify_all();
                        if batch.is_empty() {
                            continue;
                        }
                        let number = state.collected + state.pending.len();
                        state.pending.push_back(None);
                        drop(state);
                        let done: Vec<O> = batch.into_iter().map(&mut work).collect();
                        state = shared.lock();
                        let at = number - state.collected;
                        if let Some(slot) = state.pending.get_mut(at) {
                            *slot = Some(done);
                        }
                    } else if state.exhausted && !state.reading && state.pending.is_empty() {
                        return;
                    } else {
                        state = shared
                            .changed
                            .wait(state)
                            .unwrap_or_else(PoisonError::into_inner);
                    }
                }
            });
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Results come back in input order whatever the number of threads, and all of them, each
    /// with the results that follow it in its batch.
    #[test]
    fn keeps_the_input_order() {
        for jobs in [1, 2, 3, 8] {
            let mut source = 0..10_000u64;
            let mut seen = Vec::new();
            ordered_map(
                jobs,
                BATCH,
                || source.next(),
                || |i| i * 2,
                |o, ahead| {
                    let following = (1..).map(|k| o + 2 * k);
                    assert!(ahead.iter().zip(following).all(|(&a, b)| a == b));
                    assert!(ahead.len() < BATCH);
                    seen.push(o);
                    true
                },
            );
            assert_eq!(seen, (0..10_000u64).map(|i| i * 2).collect::<Vec<_>>());
        }
    }

    /// Results keep their order, and nothing hangs, when batches finish out of order and are
    /// mapped while another is being collected (slow items in both `work` and `collect`).
    #[test]
    fn uneven_batches_keep_the_order() {
        let slow = |i: u64| {
            let mut state = i + 1;
            if crate::testing::xorshift(&mut state).is_multiple_of(97) {
                std::thread::sleep(std::time::Duration::from_micros(300));
            }
        };
        for jobs in [2, 3] {
            let (done, finished) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let mut source = 0..20_000u64;
                let mut seen = Vec::new();
                ordered_map(
                    jobs,
                    BATCH,
                    || source.next(),
                    || {
                        |i| {
                            slow(i);
                            i
                        }
                    },
                    |o, _| {
                        slow(o + 7);
                        seen.push(o);
                        true
                    },
                );
                let _ = done.send(seen);
            });
            let seen = finished
                .recv_timeout(std::time::Duration::from_secs(60))
                .expect("ordered_map hung");
            assert_eq!(seen, (0..20_000u64).collect::<Vec<_>>());
        }
    }

    /// Stopping early returns without reading or collecting everything, and does not hang.
    #[test]
    fn stops_early() {
        let mut source = 0..1_000_000u64;
        let mut seen = 0;
        ordered_map(
            2,
            BATCH,
            || source.next(),
            || |i| i,
            |_, _| {
                seen += 1;
                seen < 1000
            },
        );
        assert_eq!(seen, 1000);
    }

    /// A panic while collecting or mapping on a worker reaches the caller instead of leaving
    /// the other workers waiting for their turn forever.
    #[test]
    fn a_panic_is_not_a_hang() {
        for panic_in_work in [false, true] {
            let (done, finished) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let result = std::panic::catch_unwind(|| {
                    let mut source = 0..100_000u64;
                    ordered_map(
                        2,
                        BATCH,
                        || source.next(),
                        || {
                            |i| {
                                assert!(!(panic_in_work && i == 5000), "work");
                                i
                            }
                        },
                        |o, _| {
                            assert!(panic_in_work || o != 5000, "collect");
                            true
                        },
                    );
                });
                let _ = done.send(result.is_err());
            });
            let panicked = finished
                .recv_timeout(std::time::Duration::from_secs(60))
                .expect("ordered_map hung after a panic");
            assert!(panicked);
        }
    }

    /// Each worker makes its own work function once, with state that no other worker shares.
    #[test]
    fn each_worker_has_its_own_state() {
        for jobs in [1, 2, 4] {
            let made = std::sync::atomic::AtomicUsize::new(0);
            let mut source = 0..50_000u64;
            let mut mapped = 0;
            ordered_map(
                jobs,
                BATCH,
                || source.next(),
                || {
                    made.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let mut count = 0u64;
                    move |_| {
                        count += 1;
                        count
                    }
                },
                |count, _| {
                    mapped = mapped.max(count);
                    true
                },
            );
            assert_eq!(made.into_inner(), jobs);
            assert!(jobs > 1 || mapped == 50_000);
        }
    }

    /// Every batch is collected on a worker thread, never on the caller's.
    #[test]
    fn workers_collect() {
        let caller = std::thread::current().id();
        let mut source = 0..5000u64;
        let mut on_caller = 0;
        ordered_map(
            2,
            BATCH,
            || source.next(),
            || |i| i,
            |_, _| {
                on_caller += usize::from(std::thread::current().id() == caller);
                true
            },
        );
        assert_eq!(on_caller, 0);
    }
}
