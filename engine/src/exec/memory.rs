//! The per-query memory budget.
//!
//! Operators materialize their output; what a query holds at a moment is the outputs not yet
//! consumed, the shared subplans' results and the operator running now. Each output is
//! reserved against the query's budget when its operator finishes and released when the
//! operator that reads it finishes, so an operator's input and its output count together
//! while both live. Operators that can grow without bound before they finish (scans, nested
//! loop joins, recursive unions) also check what they have built so far as they go. A query
//! over its budget stops with 53200 and releases everything; the server and other sessions
//! go on.
//!
//! Sizes are Arrow's buffer sizes (`get_array_memory_size`), which count a buffer shared by
//! two arrays twice: the accounting errs towards stopping a query early, never late.

use std::sync::atomic::{AtomicU64, Ordering};

use arrow_array::RecordBatch;

use crate::error::{Error, Result};

/// A query's memory budget: the bytes reserved now, and the limit (0: none).
#[derive(Debug, Default)]
pub struct MemoryBudget {
    limit: u64,
    used: AtomicU64,
    peak: AtomicU64,
}

impl MemoryBudget {
    /// A budget of `limit` bytes; 0 means no limit.
    pub fn new(limit: u64) -> Self {
        MemoryBudget {
            limit,
            ..MemoryBudget::default()
        }
    }

    /// No limit.
    #[cfg(test)]
    pub fn unlimited() -> Self {
        MemoryBudget::default()
    }

    /// Reserves `bytes` until the returned reservation is dropped, or fails with 53200 (and
    /// reserves nothing) if that would take the query over its budget.
    pub fn reserve(&self, bytes: u64) -> Result<Reservation<'_>> {
        let before = self.used.fetch_add(bytes, Ordering::Relaxed);
        let now = before.saturating_add(bytes);
        if self.limit > 0 && now > self.limit {
            self.used.fetch_sub(bytes, Ordering::Relaxed);
            return Err(self.exceeded(now));
        }
        self.peak.fetch_max(now, Ordering::Relaxed);
        Ok(Reservation {
            budget: self,
            bytes,
        })
    }

    /// Reserves the size of `batches`.
    pub fn reserve_batches(&self, batches: &[RecordBatch]) -> Result<Reservation<'_>> {
        self.reserve(batches_size(batches))
    }

    /// Fails with 53200 if `pending` more bytes than are reserved now would take the query
    /// over its budget: for an operator still building its output.
    pub fn check(&self, pending: u64) -> Result<()> {
        let now = self.used.load(Ordering::Relaxed).saturating_add(pending);
        if self.limit > 0 && now > self.limit {
            return Err(self.exceeded(now));
        }
        Ok(())
    }

    /// The most bytes reserved at once so far.
    pub fn peak(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }

    fn exceeded(&self, needed: u64) -> Error {
        Error::OutOfMemory {
            message: format!(
                "the query needs more than its budget of {} (query_memory_limit); at least {}kB \
                 were needed",
                format_bytes(self.limit),
                needed.div_ceil(1024)
            ),
        }
    }
}

/// Bytes reserved against a [`MemoryBudget`], released when dropped.
#[derive(Debug)]
pub struct Reservation<'a> {
    budget: &'a MemoryBudget,
    bytes: u64,
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

/// The memory `batches` hold.
pub fn batches_size(batches: &[RecordBatch]) -> u64 {
    batches
        .iter()
        .map(|b| b.get_array_memory_size() as u64)
        .sum()
}

/// `bytes` in the largest of PostgreSQL's memory units that divides it (`64MB`, `1536kB`).
pub fn format_bytes(bytes: u64) -> String {
    if bytes == 0 {
        return "0".to_owned();
    }
    for (unit, size) in [
        ("TB", 1u64 << 40),
        ("GB", 1 << 30),
        ("MB", 1 << 20),
        ("kB", 1 << 10),
    ] {
        if bytes >= size && bytes.is_multiple_of(size) {
            return format!("{}{unit}", bytes / size);
        }
    }
    format!("{bytes}B")
}

/// The default query memory budget: half the machine's memory (4 GB when it cannot be read),
/// so that one runaway query stops long before the machine runs out.
pub fn default_limit() -> u64 {
    let half = total_memory().unwrap_or(8 << 30) / 2;
    // A whole number of megabytes, so SHOW prints it simply.
    (half >> 20).max(1) << 20
}

/// The machine's memory in bytes, from /proc/meminfo.
fn total_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line
        .trim_start_matches("MemTotal:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    kb.checked_mul(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_add_up_and_release_on_drop() {
        let budget = MemoryBudget::new(100);
        let a = budget.reserve(60).unwrap();
        assert!(budget.reserve(50).is_err());
        // A failed reservation reserves nothing.
        assert!(budget.check(40).is_ok());
        assert!(budget.check(41).is_err());
        drop(a);
        let b = budget.reserve(100).unwrap();
        assert_eq!(budget.peak(), 100);
        drop(b);
        assert!(budget.check(100).is_ok());
    }

    #[test]
    fn no_limit_means_unlimited() {
        let budget = MemoryBudget::unlimited();
        let _a = budget.reserve(u64::MAX / 2).unwrap();
        assert!(budget.check(u64::MAX / 4).is_ok());
    }

    #[test]
    fn the_error_is_53200_with_the_budget() {
        let budget = MemoryBudget::new(1 << 20);
        let err = budget.reserve(3 << 20).unwrap_err();
        assert!(matches!(err, Error::OutOfMemory { .. }));
        assert!(err.to_string().contains("1MB"), "{err}");
    }

    #[test]
    fn bytes_format_in_the_largest_unit_that_divides() {
        assert_eq!(format_bytes(64 << 20), "64MB");
        assert_eq!(format_bytes(1536 << 10), "1536kB");
        assert_eq!(format_bytes(3 << 30), "3GB");
        assert_eq!(format_bytes(1000), "1000B");
    }

    #[test]
    fn the_default_is_whole_megabytes() {
        let limit = default_limit();
        assert!(limit > 0);
        assert_eq!(limit % (1 << 20), 0);
    }
}
