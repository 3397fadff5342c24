//! The `waform` binary: everything lives in the library.

/// Recipients are compiled on several threads, and a batch's messages are sometimes freed on
/// another worker than the one that made them: jemalloc handles that far better than the
/// system allocator.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read at its start (its `malloc_conf`, under tikv-jemalloc-sys's symbol
/// prefix). One arena for every thread: by default each thread of a pass takes an arena of
/// its own, and each arena keeps the pages it freed for ten seconds, so the peak memory of a
/// million-row plan grew by some 17 MiB with the number of arenas, not with the work.
#[unsafe(export_name = "_rjem_malloc_conf")]
static MALLOC_CONF: &[u8; 10] = b"narenas:1\0";

fn main() {
    std::process::exit(waform::cli::main());
}
