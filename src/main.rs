//! The `waform` binary: everything lives in the library.

/// Recipients are compiled on several threads, and a batch's messages are sometimes freed on
/// another worker than the one that made them: jemalloc handles that far better than the
/// system allocator.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    std::process::exit(waform::cli::main());
}
