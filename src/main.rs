//! The `waform` binary: everything lives in the library.

/// Recipients are compiled on worker threads and their messages freed on the writing thread:
/// jemalloc handles that far better than the system allocator.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    std::process::exit(waform::cli::main());
}
