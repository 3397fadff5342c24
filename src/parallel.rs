//! An ordered parallel map: items are read on one thread, transformed on `jobs` threads in
//! batches, and handed back in input order, so the output is the same whatever the number of
//! threads.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// Both ends of one bounded queue per worker.
type Queues<T> = (Vec<SyncSender<Vec<T>>>, Vec<Receiver<Vec<T>>>);

/// Items per batch handed to a worker.
pub const BATCH: usize = 512;

/// Batches queued per worker, each way: with [`BATCH`] this bounds the items in flight.
const QUEUED: usize = 2;

/// The number of threads to use when the caller does not say: the machine's cores.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Read items with `next`, map each with `work` on `jobs` threads, and give the results to
/// `collect` in the order the items were read, each with the results of its batch that come
/// after it (to look ahead; empty with one thread); `collect` returns false to stop early.
///
/// With `jobs` ≤ 1 everything runs on the calling thread. Batches go to the workers in turn
/// and come back in the same turn, so no reordering buffer is needed and memory is bounded by
/// `jobs × 2 × 2` batches.
pub fn ordered_map<I, O>(
    jobs: usize,
    mut next: impl FnMut() -> Option<I> + Send,
    work: impl Fn(I) -> O + Sync,
    mut collect: impl FnMut(O, &[O]) -> bool,
) where
    I: Send,
    O: Send,
{
    if jobs <= 1 {
        while let Some(item) = next() {
            if !collect(work(item), &[]) {
                return;
            }
        }
        return;
    }
    std::thread::scope(|scope| {
        let (inputs, input_ends): Queues<I> = (0..jobs).map(|_| sync_channel(QUEUED)).unzip();
        let (output_ends, outputs): Queues<O> = (0..jobs).map(|_| sync_channel(QUEUED)).unzip();
        scope.spawn(move || {
            for turn in (0..jobs).cycle() {
                let mut batch = Vec::with_capacity(BATCH);
                while batch.len() < BATCH {
                    match next() {
                        Some(item) => batch.push(item),
                        None => break,
                    }
                }
                let last = batch.len() < BATCH;
                if batch.is_empty() || inputs[turn].send(batch).is_err() || last {
                    return;
                }
            }
        });
        let work = &work;
        for (input, output) in input_ends.into_iter().zip(output_ends) {
            scope.spawn(move || {
                for batch in input {
                    let done: Vec<O> = batch.into_iter().map(work).collect();
                    if output.send(done).is_err() {
                        return;
                    }
                }
            });
        }
        for turn in (0..jobs).cycle() {
            let Ok(batch) = outputs[turn].recv() else {
                return;
            };
            let mut items = batch.into_iter();
            while let Some(item) = items.next() {
                if !collect(item, items.as_slice()) {
                    return;
                }
            }
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
}
