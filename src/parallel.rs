//! An ordered parallel map: items are read on one thread, transformed on `jobs` threads in
//! batches, and collected in input order, so the output is the same whatever the number of
//! threads.
//!
//! A batch is collected by the worker that transformed it, as soon as every earlier batch has
//! been: its results are still in that core's cache, and no thread waits in between to pass
//! them on.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Condvar, Mutex, PoisonError};

/// Both ends of one bounded queue per worker.
type Queues<T> = (Vec<SyncSender<T>>, Vec<Receiver<T>>);

/// Items per batch handed to a worker.
pub const BATCH: usize = 512;

/// Batches queued per worker: with [`BATCH`] this bounds the items in flight.
const QUEUED: usize = 2;

/// The number of threads to use when the caller does not say: the machine's cores.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Whose turn it is to collect, and the collector.
struct Turn<C> {
    state: Mutex<Collecting<C>>,
    changed: Condvar,
}

/// What the workers share to collect in turn.
struct Collecting<C> {
    /// The number of the next batch to collect.
    next: usize,
    /// Collecting stopped: `collect` said so, or a worker panicked.
    stopped: bool,
    collect: C,
}

/// Wakes the other workers when a worker leaves, stopping everything if it panicked (a batch
/// it held would otherwise never be collected).
struct Leaving<'t, C>(&'t Turn<C>);

impl<C> Drop for Leaving<'_, C> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut state = self.0.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.stopped = true;
        }
        self.0.changed.notify_all();
    }
}

/// Read items with `next`, map each with `work` on `jobs` threads, and give the results to
/// `collect` in the order the items were read, each with the results of its batch that come
/// after it (to look ahead; empty with one thread); `collect` returns false to stop early.
///
/// With `jobs` ≤ 1 everything runs on the calling thread. Otherwise batches go to the workers
/// in turn; a worker maps its batch, waits until the batches before it are collected, then
/// collects its own (so `collect` runs on the workers, one at a time). Memory is bounded by
/// `jobs × (2 + 1)` batches.
pub fn ordered_map<I, O, C>(
    jobs: usize,
    mut next: impl FnMut() -> Option<I> + Send,
    work: impl Fn(I) -> O + Sync,
    mut collect: C,
) where
    I: Send,
    O: Send,
    C: FnMut(O, &[O]) -> bool + Send,
{
    if jobs <= 1 {
        while let Some(item) = next() {
            if !collect(work(item), &[]) {
                return;
            }
        }
        return;
    }
    let turn = Turn {
        state: Mutex::new(Collecting {
            next: 0,
            stopped: false,
            collect,
        }),
        changed: Condvar::new(),
    };
    std::thread::scope(|scope| {
        let (inputs, input_ends): Queues<(usize, Vec<I>)> =
            (0..jobs).map(|_| sync_channel(QUEUED)).unzip();
        scope.spawn(move || {
            for number in 0.. {
                let mut batch = Vec::with_capacity(BATCH);
                while batch.len() < BATCH {
                    match next() {
                        Some(item) => batch.push(item),
                        None => break,
                    }
                }
                let last = batch.len() < BATCH;
                if batch.is_empty() || inputs[number % jobs].send((number, batch)).is_err() || last
                {
                    return;
                }
            }
        });
        let (work, turn) = (&work, &turn);
        for input in input_ends {
            scope.spawn(move || {
                let _leaving = Leaving(turn);
                for (number, batch) in input {
                    let done: Vec<O> = batch.into_iter().map(work).collect();
                    let mut state = turn.state.lock().unwrap_or_else(PoisonError::into_inner);
                    while state.next != number && !state.stopped {
                        state = turn
                            .changed
                            .wait(state)
                            .unwrap_or_else(PoisonError::into_inner);
                    }
                    if state.stopped {
                        return;
                    }
                    let collect = &mut state.collect;
                    let mut items = done.into_iter();
                    let mut going = true;
                    while let Some(item) = items.next() {
                        if !collect(item, items.as_slice()) {
                            going = false;
                            break;
                        }
                    }
                    state.next += 1;
                    state.stopped = !going;
                    drop(state);
                    turn.changed.notify_all();
                    if !going {
                        return;
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
                || source.next(),
                |i| i * 2,
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

    /// Stopping early returns without reading or collecting everything, and does not hang.
    #[test]
    fn stops_early() {
        let mut source = 0..1_000_000u64;
        let mut seen = 0;
        ordered_map(
            2,
            || source.next(),
            |i| i,
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
                        || source.next(),
                        |i| {
                            assert!(!(panic_in_work && i == 5000), "work");
                            i
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

    /// Every batch is collected on a worker thread, never on the caller's.
    #[test]
    fn workers_collect() {
        let caller = std::thread::current().id();
        let mut source = 0..5000u64;
        let mut on_caller = 0;
        ordered_map(
            2,
            || source.next(),
            |i| i,
            |_, _| {
                on_caller += usize::from(std::thread::current().id() == caller);
                true
            },
        );
        assert_eq!(on_caller, 0);
    }
}
