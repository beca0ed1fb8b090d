//! The `lhp` binary: the command line with the built-in types and no native plugins.

/// Generator threads build events and modules that the hook thread frees: mimalloc's
/// per-thread heaps keep that from contending on the system allocator's locks.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    lhp::Cli::new().run()
}
