//! The `waform` binary: everything lives in the library.

/// Recipients are compiled on several threads, and a batch's messages are sometimes freed on
/// another worker than the one that made them: jemalloc handles that far better than the
/// system allocator.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read at its start (its `malloc_conf`, under tikv-jemalloc-sys's symbol
/// prefix). Freed pages go back to the system after one second instead of ten: each thread
/// allocates from an arena of its own, whose freed pages no other thread reuses, so with the
/// default a million-row plan kept 11-15 MiB of freed pages (65-70 MiB peak instead of
/// 55-60). One arena for all threads kept the peak as low, but ran some 13% slower.
#[unsafe(export_name = "_rjem_malloc_conf")]
static MALLOC_CONF: &[u8; 20] = b"dirty_decay_ms:1000\0";

fn main() {
    std::process::exit(waform::cli::main());
}
