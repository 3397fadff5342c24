//! The `waform` binary: everything lives in the library.

/// Rows are read on one thread and freed on the worker threads that compile them: jemalloc
/// handles that far better than the system allocator.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    std::process::exit(waform::cli::main());
}
