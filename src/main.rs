//! The `waform` binary: everything lives in the library.

fn main() {
    std::process::exit(waform::cli::main());
}
