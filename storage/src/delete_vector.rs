//! Delete vectors: which rows of an immutable segment file are deleted.
//!
//! DELETE does not rewrite segment files; it records the positions (0-based row numbers within
//! the segment) of the rows it removes in the segment's delete vector, which the manifest
//! carries beside the segment's zone maps (format in `docs/segment-format.md`). Every read path
//! applies it, so a deleted row is never returned; VACUUM rewrites segments without their
//! deleted rows. UPDATE is a delete plus an append.
//!
//! A delete vector is a list of runs `(first row, row count)`, sorted, non-empty, and neither
//! overlapping nor touching (two adjacent runs are always merged), so one set of rows has
//! exactly one representation and equality of vectors is equality of sets.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// The deleted rows of one segment. Cheap to clone (the runs are shared).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "Vec<(u32, u32)>", from = "Vec<(u32, u32)>")]
pub struct DeleteVector {
    runs: Arc<Vec<(u32, u32)>>,
}

/// The manifest's form: the runs as `[first, count]` pairs. Read as stored; the manifest
/// checks them with [`DeleteVector::check`].
impl From<Vec<(u32, u32)>> for DeleteVector {
    fn from(runs: Vec<(u32, u32)>) -> Self {
        DeleteVector {
            runs: Arc::new(runs),
        }
    }
}

impl From<DeleteVector> for Vec<(u32, u32)> {
    fn from(v: DeleteVector) -> Self {
        v.runs.as_ref().clone()
    }
}

impl DeleteVector {
    /// No deleted rows.
    pub fn new() -> DeleteVector {
        DeleteVector::default()
    }

    /// A delete vector holding `rows` (in any order, duplicates allowed).
    pub fn from_rows(rows: impl IntoIterator<Item = u32>) -> DeleteVector {
        DeleteVector::new().with_rows(rows)
    }

    /// True when no row is deleted.
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// The runs `(first row, row count)`, sorted.
    pub fn runs(&self) -> &[(u32, u32)] {
        &self.runs
    }

    /// How many rows are deleted.
    pub fn count(&self) -> u64 {
        self.runs.iter().map(|(_, n)| u64::from(*n)).sum()
    }

    /// Whether row `row` is deleted.
    pub fn contains(&self, row: u32) -> bool {
        let at = self.runs.partition_point(|(first, _)| *first <= row);
        at > 0
            && self
                .runs
                .get(at - 1)
                .is_some_and(|(first, n)| u64::from(row) < u64::from(*first) + u64::from(*n))
    }

    /// This vector with `rows` (in any order, duplicates allowed) deleted as well.
    pub fn with_rows(&self, rows: impl IntoIterator<Item = u32>) -> DeleteVector {
        let mut all: Vec<u32> = rows.into_iter().collect();
        all.sort_unstable();
        all.dedup();
        let mut added: Vec<(u32, u32)> = Vec::new();
        for row in all {
            match added.last_mut() {
                Some((first, n)) if u64::from(*first) + u64::from(*n) == u64::from(row) => *n += 1,
                _ => added.push((row, 1)),
            }
        }
        self.union_runs(&added)
    }

    /// The union of two normalized run lists, normalized.
    fn union_runs(&self, other: &[(u32, u32)]) -> DeleteVector {
        if other.is_empty() {
            return self.clone();
        }
        let mut merged: Vec<(u64, u64)> = self
            .runs
            .iter()
            .chain(other.iter())
            .map(|(f, n)| (u64::from(*f), u64::from(*f) + u64::from(*n)))
            .collect();
        merged.sort_unstable();
        let mut out: Vec<(u32, u32)> = Vec::with_capacity(merged.len());
        let mut current: Option<(u64, u64)> = None;
        for (start, end) in merged {
            current = match current {
                Some((s, e)) if start <= e => Some((s, e.max(end))),
                Some((s, e)) => {
                    out.push(run(s, e));
                    Some((start, end))
                }
                None => Some((start, end)),
            };
        }
        if let Some((s, e)) = current {
            out.push(run(s, e));
        }
        DeleteVector {
            runs: Arc::new(out),
        }
    }

    /// Checks the invariants for a segment of `rows` rows: runs sorted, non-empty, apart, and
    /// inside the segment.
    pub fn check(&self, rows: u64) -> Result<(), String> {
        let mut end_before: Option<u64> = None;
        for (first, n) in self.runs.iter() {
            let (first, n) = (u64::from(*first), u64::from(*n));
            if n == 0 {
                return Err(format!("empty delete run at row {first}"));
            }
            if end_before.is_some_and(|e| first <= e) {
                return Err(format!(
                    "delete run at row {first} overlaps or touches the one before"
                ));
            }
            if first + n > rows {
                return Err(format!(
                    "delete run of rows {first}..{} outside a segment of {rows} rows",
                    first + n
                ));
            }
            end_before = Some(first + n);
        }
        Ok(())
    }

    /// The positions of the rows of `first..first + count` that are not deleted, in order.
    pub fn live_rows(&self, first: u32, count: u32) -> Vec<u32> {
        let end = u64::from(first) + u64::from(count);
        let mut out = Vec::with_capacity(count as usize);
        let mut next = u64::from(first);
        let start_at = self
            .runs
            .partition_point(|(f, n)| u64::from(*f) + u64::from(*n) <= next);
        for (f, n) in self.runs.iter().skip(start_at) {
            let (f, e) = (u64::from(*f), u64::from(*f) + u64::from(*n));
            if f >= end {
                break;
            }
            while next < f.min(end) {
                out.push(next as u32);
                next += 1;
            }
            next = next.max(e);
        }
        while next < end {
            out.push(next as u32);
            next += 1;
        }
        out
    }
}

fn run(start: u64, end: u64) -> (u32, u32) {
    // Both ends come from u32 runs, so they fit.
    (start as u32, (end - start) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_merge_into_normalized_runs() {
        // Input: rows 5, 3, 4, 9 and a duplicate 5, then rows 6..9 added, then row 0.
        let v = DeleteVector::from_rows([5, 3, 4, 9, 5]);
        assert_eq!(v.runs(), &[(3, 3), (9, 1)]);
        assert_eq!(v.count(), 4);
        let v = v.with_rows(6..9);
        assert_eq!(v.runs(), &[(3, 7)]);
        let v = v.with_rows([0]);
        assert_eq!(v.runs(), &[(0, 1), (3, 7)]);
        assert!(v.contains(0) && v.contains(3) && v.contains(9));
        assert!(!v.contains(1) && !v.contains(2) && !v.contains(10));
        assert!(v.check(10).is_ok());
        assert!(v.check(9).is_err());
        assert_eq!(v, DeleteVector::from_rows([0, 3, 4, 5, 6, 7, 8, 9]));
        assert!(DeleteVector::new().is_empty());
        assert_eq!(DeleteVector::from_rows([u32::MAX]).runs(), &[(u32::MAX, 1)]);
    }

    #[test]
    fn live_rows_skip_deleted_runs() {
        // Input: rows 2..4 and 7 deleted out of 10, asked for every window.
        let v = DeleteVector::from_rows([2, 3, 7]);
        assert_eq!(v.live_rows(0, 10), vec![0, 1, 4, 5, 6, 8, 9]);
        for first in 0..10u32 {
            for count in 0..=(10 - first) {
                let expected: Vec<u32> =
                    (first..first + count).filter(|r| !v.contains(*r)).collect();
                assert_eq!(v.live_rows(first, count), expected, "{first} {count}");
            }
        }
    }

    #[test]
    fn check_rejects_unnormalized_runs() {
        // Input: hand-made run lists: touching, overlapping, empty, unsorted.
        let bad = |runs: Vec<(u32, u32)>| DeleteVector {
            runs: Arc::new(runs),
        };
        assert!(bad(vec![(0, 2), (2, 1)]).check(10).is_err());
        assert!(bad(vec![(0, 3), (2, 1)]).check(10).is_err());
        assert!(bad(vec![(4, 0)]).check(10).is_err());
        assert!(bad(vec![(5, 1), (1, 1)]).check(10).is_err());
        assert!(bad(vec![(1, 1), (5, 1)]).check(10).is_ok());
    }
}
