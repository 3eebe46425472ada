//! The C allocator's settings for a process that runs attribution: freed memory is kept for
//! the next tensor instead of being handed back to the kernel and faulted in again.
//!
//! A gradient pass allocates and frees tensors of megabytes per operation. glibc's defaults
//! trim the heap and unmap large blocks as soon as they are freed, so every operation's output
//! is faulted in page by page: about a fifth of esrgan-slim's forward + gradient time on small
//! crops (`perf`: `clear_page_erms`, `do_anonymous_page`, `__do_sys_brk`). Plugins allocate
//! through the same `malloc`, so the host's setting covers them.

/// Keeps freed memory in the process (glibc: no trimming, blocks up to 32 MiB from the heap,
/// 256 MiB of headroom per heap growth). The resident size stays at its peak until the
/// process exits. Elsewhere (musl, macOS) it does nothing.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes glibc's thresholds; called before any thread allocates.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TOP_PAD, 256 << 20);
    }
}
