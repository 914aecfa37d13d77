//! Handing memory freed by a reload back to the system.
//!
//! glibc's malloc gives threads arenas of their own and keeps freed memory in each for reuse. A
//! reload builds the new model on a blocking thread and the old one is freed later by whichever
//! thread drops it last, so over many reloads the arenas fill with freed pages of old models.
//! In the soak (`bench/soak`) the resident size grew by a third over ten minutes; with one arena
//! (`MALLOC_ARENA_MAX=1`) it stayed flat, so nothing leaked. `malloc_trim` returns those pages.

/// Returns the free pages of every malloc arena to the system (glibc; elsewhere nothing).
pub(crate) fn release_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointers; it only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}
