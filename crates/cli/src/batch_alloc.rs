//! Allocator settings for a short batch command that builds large trees
//! and exits (`flow check` of big flows).
//!
//! glibc's malloc is tuned for long-lived programs: it returns freed memory
//! at the top of its heap to the kernel (then faults it in again page by
//! page), serves large blocks (pest's token queue doubles past 1 MiB) from
//! fresh `mmap`s, and touches every new page as a 4 KiB fault. Checking a
//! 5,000-stage flow touched about 38 MiB this way: about 9,800 page faults,
//! a quarter of its time on this project's 2-core VMs. For a process that
//! lives a fraction of a second, keeping what it freed and asking for
//! transparent huge pages on the heap costs nothing but a larger peak
//! resident size (rounded up to 2 MiB pages), and `flow check` of that flow
//! faults about 900 times instead (figures in `bench/README.md`).
//!
//! Not for `flow run` or `flow serve`, whose resident memory is bounded
//! (issue 6: at most 16 MiB on a 200 MB log) and which live long.

/// Below this much flow source (bytes, all files of the command), the
/// defaults are kept: a small check touches a few MiB, where huge pages
/// measured no faster (a 28 KB pipeline: the same 5.3 ms) and only raise
/// the resident size. A 1,000-stage flow (160 KB) checked 20% faster.
pub const MIN_SOURCE_BYTES: u64 = 64 * 1024;

/// How much the heap grows at a time, and the part of it given huge pages
/// (bytes).
const HEAP_STEP: usize = 64 << 20;

/// Applies the settings (see the module docs) to this process's malloc.
/// Only on Linux with glibc; a no-op elsewhere. Never fails: a setting the
/// C library or kernel refuses leaves the default.
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only changes malloc's parameters; `malloc`/`free`
    // are paired; `sbrk(0)` reads the current break; `madvise` is given a
    // page-aligned range that lies inside the heap just grown (it only
    // changes how future faults in that mapped range are served).
    unsafe {
        libc::mallopt(libc::M_TOP_PAD, HEAP_STEP as libc::c_int);
        libc::mallopt(libc::M_TRIM_THRESHOLD, (4 * HEAP_STEP) as libc::c_int);
        libc::mallopt(libc::M_MMAP_THRESHOLD, (4 * HEAP_STEP) as libc::c_int);
        // Grow the heap now (a block larger than any free space the start-up
        // left; the top pad comes on top of it), so that the range below the
        // new break is mapped heap when it is advised.
        // (`black_box`: a malloc freed unused may be optimised away.)
        let probe = std::hint::black_box(libc::malloc(1 << 20));
        if probe.is_null() {
            return;
        }
        libc::free(probe);
        let top = libc::sbrk(0) as usize;
        if top == usize::MAX {
            return; // sbrk failed: (void*)-1
        }
        const HUGE_PAGE: usize = 2 << 20;
        let start = (top.saturating_sub(HEAP_STEP) + HUGE_PAGE - 1) & !(HUGE_PAGE - 1);
        if start < top {
            libc::madvise(start as *mut libc::c_void, top - start, libc::MADV_HUGEPAGE);
        }
    }
}
