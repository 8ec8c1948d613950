//! Tuning of mimalloc, for the binaries that make it their global allocator (the server and
//! the benchmark harnesses).
//!
//! A query allocates arrays of hundreds of megabytes and frees them when it ends. By default
//! mimalloc soon returns freed memory to the system, and the next query's arrays are faulted in
//! and zeroed by the kernel again: on TPC-H Q9 and Q18 the server spent about as long in the
//! kernel as in the query itself.

use std::ffi::c_long;

/// `mi_option_purge_delay`'s place in mimalloc's `mi_option_t`, the same in mimalloc 2 and 3
/// (the bindings name only some of the options).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// How long, in milliseconds, freed memory stays mapped for reuse before mimalloc returns it
/// to the system.
pub const PURGE_DELAY_MS: c_long = 10_000;

/// Keeps memory a query freed for reuse by the next for [`PURGE_DELAY_MS`]. Call it first
/// thing in `main`.
#[allow(unsafe_code)]
pub fn keep_freed_memory() {
    // SAFETY: sets one integer option; mimalloc reads its options with atomic loads.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) }
}
