//! The `lhp` binary: the command line with the built-in types and no native plugins.

/// Generator threads build events and modules that the hook thread frees: mimalloc's
/// per-thread heaps keep that from contending on the system allocator's locks.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_arena_eager_commit` in mimalloc v2's `mi_option_e`.
const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
/// `mi_option_purge_delay` in mimalloc v2's `mi_option_e`.
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
/// `mi_option_allow_thp` in mimalloc v2's `mi_option_e`.
const ALLOW_THP: libmimalloc_sys::mi_option_t = 37;

#[cfg(target_os = "linux")]
extern "C" {
    /// mimalloc's `mi_arena_area`: the start and size of an arena, by id (index + 1).
    fn mi_arena_area(arena_id: std::ffi::c_int, size: *mut usize) -> *mut u8;
}

/// Takes back the huge-page advice mimalloc gave the arenas it reserved before `main`
/// (options set here apply only to arenas reserved later).
fn no_huge_pages_in_early_arenas() {
    #[cfg(target_os = "linux")]
    for id in 1..=16 {
        let mut size = 0usize;
        // SAFETY: mi_arena_area only reads mimalloc's arena table and writes `size`.
        let start = unsafe { mi_arena_area(id, &mut size) };
        if start.is_null() {
            break;
        }
        // SAFETY: the range is an arena mimalloc mapped; the advice changes no contents. A
        // failure leaves the advice as it was, which is only slower.
        unsafe {
            libc::madvise(start.cast(), size, libc::MADV_NOHUGEPAGE);
        }
    }
}

fn main() -> std::process::ExitCode {
    // A run is short and its peak memory is what a user sees: memory is committed as it is
    // used and given back as soon as it is freed, instead of mimalloc's defaults (arenas
    // committed up front, frees purged after 10 ms), which cost about a fifth of the peak.
    // Transparent huge pages are off: with frees purged at once, a huge-page arena rounds the
    // peak up by whole 2 MiB pages (about 5 MB of 37 at 3,000 flowgroups).
    // SAFETY: mi_option_set only stores the values; it is safe to call at any time.
    unsafe {
        libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 0);
        libmimalloc_sys::mi_option_set(PURGE_DELAY, 0);
        libmimalloc_sys::mi_option_set(ALLOW_THP, 0);
    }
    no_huge_pages_in_early_arenas();
    lhp::Cli::new().run()
}
