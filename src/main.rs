//! The `lhp` binary: the command line with the built-in types and no native plugins.

/// Generator threads build events and modules that the hook thread frees: mimalloc's
/// per-thread heaps keep that from contending on the system allocator's locks.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_arena_eager_commit` in mimalloc v2's `mi_option_e`.
const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
/// `mi_option_purge_delay` in mimalloc v2's `mi_option_e`.
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> std::process::ExitCode {
    // A run is short and its peak memory is what a user sees: memory is committed as it is
    // used and given back as soon as it is freed, instead of mimalloc's defaults (arenas
    // committed up front, frees purged after 10 ms), which cost about a fifth of the peak.
    // Transparent huge pages are off (libmimalloc-sys's `no_thp`, in Cargo.toml): with frees
    // purged at once, a huge-page arena rounds the peak up by whole 2 MiB pages (about 5 MB
    // of 37 at 3,000 flowgroups).
    // SAFETY: mi_option_set only stores the values; it is safe to call at any time.
    unsafe {
        libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 0);
        libmimalloc_sys::mi_option_set(PURGE_DELAY, 0);
    }
    lhp::Cli::new().run()
}
