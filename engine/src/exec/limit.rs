//! LIMIT / OFFSET: slices batches without copying.

use arrow_array::RecordBatch;

pub fn limit(input: Vec<RecordBatch>, offset: u64, limit: Option<u64>) -> Vec<RecordBatch> {
    let mut skip = offset as usize;
    let mut left = limit.map(|l| l as usize).unwrap_or(usize::MAX);
    let mut out = Vec::new();
    for b in input {
        if left == 0 {
            break;
        }
        let n = b.num_rows();
        if skip >= n {
            skip -= n;
            continue;
        }
        let take = (n - skip).min(left);
        out.push(b.slice(skip, take));
        left -= take;
        skip = 0;
    }
    out
}
