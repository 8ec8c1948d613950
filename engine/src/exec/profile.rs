//! EXPLAIN ANALYZE: what each operator of a plan produced while it ran.
//!
//! The executor records, per plan node, the rows and batches it output, the memory its output
//! holds, the time it took (inclusive of its inputs, as PostgreSQL reports), how many times it
//! ran, and for scans what storage read and skipped. Nodes are told apart by address, which
//! is stable because plans are never mutated while they run.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use arrow_array::RecordBatch;
use basalt_storage::ScanCounts;

use crate::planner::plan::Plan;

/// One plan node's figures.
#[derive(Debug, Default, Clone)]
pub struct NodeStats {
    pub rows: u64,
    pub batches: u64,
    /// Bytes of Arrow memory the node's output holds.
    pub output_bytes: u64,
    pub time: Duration,
    pub loops: u64,
    pub scan: Option<ScanCounts>,
}

/// The figures of every node that ran, filled in by the executor.
#[derive(Debug, Default)]
pub struct Profile {
    nodes: Mutex<HashMap<usize, NodeStats>>,
}

fn key(plan: &Plan) -> usize {
    plan as *const Plan as usize
}

impl Profile {
    fn with<T>(&self, plan: &Plan, f: impl FnOnce(&mut NodeStats) -> T) -> T {
        let mut nodes = self.nodes.lock().unwrap_or_else(PoisonError::into_inner);
        f(nodes.entry(key(plan)).or_default())
    }

    /// Records one run of `plan` that produced `output` in `time`.
    pub(crate) fn record(&self, plan: &Plan, output: &[RecordBatch], time: Duration) {
        let rows: usize = output.iter().map(|b| b.num_rows()).sum();
        let bytes: usize = output.iter().map(|b| b.get_array_memory_size()).sum();
        self.with(plan, |s| {
            s.rows += rows as u64;
            s.batches += output.len() as u64;
            s.output_bytes += bytes as u64;
            s.time += time;
            s.loops += 1;
        });
    }

    /// Records one batch that `plan` produced in `time` as part of a pipeline (see
    /// [`super::pipeline`]); the node counts as having run once however many batches it made.
    pub(crate) fn record_morsel(&self, plan: &Plan, batch: &RecordBatch, time: Duration) {
        self.with(plan, |s| {
            s.rows += batch.num_rows() as u64;
            s.batches += 1;
            s.output_bytes += batch.get_array_memory_size() as u64;
            s.time += time;
            s.loops = 1;
        });
    }

    /// Marks `plan` as having run in a pipeline, even if it produced no batch.
    pub(crate) fn record_pipelined(&self, plan: &Plan) {
        self.with(plan, |s| s.loops = s.loops.max(1));
    }

    /// Records what a scan node read and skipped.
    pub(crate) fn record_scan(&self, plan: &Plan, counts: &ScanCounts) {
        self.with(plan, |s| {
            s.scan.get_or_insert_with(ScanCounts::default).add(counts)
        });
    }

    /// The figures of `plan`, if it ran.
    pub fn stats(&self, plan: &Plan) -> Option<NodeStats> {
        let nodes = self.nodes.lock().unwrap_or_else(PoisonError::into_inner);
        nodes.get(&key(plan)).cloned()
    }
}

/// The annotation EXPLAIN ANALYZE appends to a node's line.
pub fn describe(stats: Option<&NodeStats>) -> String {
    let Some(s) = stats else {
        return " (never executed)".into();
    };
    let mut text = format!(
        " (actual rows={} loops={} time={:.3} ms output={} kB",
        s.rows,
        s.loops,
        s.time.as_secs_f64() * 1000.0,
        s.output_bytes.div_ceil(1024)
    );
    if let Some(c) = &s.scan {
        text.push_str(&format!(
            " segments read={} skipped={} blocks read={} skipped={}",
            c.segments_read, c.segments_skipped, c.blocks_read, c.blocks_skipped
        ));
    }
    text.push(')');
    text
}
