//! Keeping the server's resident memory flat while models reload.
//!
//! glibc's malloc gives threads arenas of their own (up to eight per core) and keeps freed
//! memory in each for reuse. A reload builds the new model on a blocking thread and the old one
//! is freed later by whichever thread drops it last, so over many reloads the arenas fill with
//! freed pages of old versions. In the soak (`bench/soak`, a reload every 3 s for 10 minutes)
//! the resident size grew from 35 to 47 MB with the defaults, from 23 to 26 MB with a trim
//! after each reload, and stayed at 21 MB (+2%) with one arena and the trim.

/// Arenas the server's threads share, unless `MALLOC_ARENA_MAX` says otherwise. Small
/// allocations are served from each thread's cache without taking an arena's lock, so few
/// arenas cost little speed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const ARENAS: libc::c_int = 2;

/// Caps glibc's malloc arenas at two (`ARENAS`) unless `MALLOC_ARENA_MAX` is set (glibc; elsewhere
/// nothing). Call it before the server's threads start: threads running already keep theirs.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt takes two integers and changes only a malloc tuning parameter.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, ARENAS);
        }
    }
}

/// Returns the free pages of every malloc arena to the system (glibc; elsewhere nothing).
pub(crate) fn release_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointers; it only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}
