//! Joins. With equality keys: a hash join that builds on the right input (or, for an inner
//! join, on the smaller input) and probes with the other input's batches in parallel. Without keys: a nested loop over bounded chunks of pairs.
//! The residual filter runs on the candidate pairs; a pair that fails it is no match.
//!
//! Outer joins follow sink -> combine -> finalize: each probe reports which of its left rows
//! matched (emitting the unmatched ones, NULL-padded, at once for LEFT and FULL) and a bitmap of
//! the build rows it matched; the bitmaps are OR-ed once, and the build rows no probe matched
//! are emitted, NULL-padded, for RIGHT and FULL.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow_array::{new_null_array, Array, ArrayRef, BooleanArray, RecordBatch, UInt32Array};
use arrow_row::{RowConverter, SortField};
use basalt_storage::SqlType;
use rayon::prelude::*;

use super::hash::{int_keys, is_int_key, BuildIntHasher, BytesHasher};
use super::memory::{batches_size, MemoryBudget};
use super::{concat, make_batch};
use crate::error::Result;
use crate::kernels::eval::{evaluate, evaluate_predicate, filter_batch};
use crate::kernels::interval::{order_key_type, order_keys};
use crate::planner::expr::Expr;
use crate::planner::plan::JoinType;

/// Candidate pairs produced per chunk of a nested loop.
const CROSS_CHUNK_ROWS_MAX: usize = 64 * 1024;

/// One probe's result: joined batches and the build rows it matched (only tracked when the
/// join keeps unmatched right rows).
struct ProbeOutput {
    batches: Vec<RecordBatch>,
    right_matched: Vec<bool>,
}

/// The join's fixed inputs, shared by all probes.
struct JoinSpec<'a> {
    right: &'a RecordBatch,
    /// The query's budget, which the output made so far counts against.
    memory: &'a MemoryBudget,
    produced: AtomicU64,
    join_type: JoinType,
    filter: Option<&'a Expr>,
}

impl JoinSpec<'_> {
    fn keeps_left(&self) -> bool {
        matches!(self.join_type, JoinType::Left | JoinType::Full)
    }

    fn keeps_right(&self) -> bool {
        matches!(self.join_type, JoinType::Right | JoinType::Full)
    }

    /// Counts `batches`, just made, against the query's budget: a join's output can be far
    /// larger than its inputs, so it stops as soon as it is over, not when it is done.
    fn account(&self, batches: &[RecordBatch]) -> Result<()> {
        let size = batches_size(batches);
        let total = self.produced.fetch_add(size, Ordering::Relaxed) + size;
        self.memory.check(total)
    }
}

/// Joins `left` and `right` (output: left columns, then right columns). An inner hash join
/// builds its table on the smaller input.
#[allow(clippy::too_many_arguments)]
pub fn join(
    left: Vec<RecordBatch>,
    right: Vec<RecordBatch>,
    left_types: &[SqlType],
    right_types: &[SqlType],
    join_type: JoinType,
    keys: &[(Expr, Expr)],
    filter: Option<&Expr>,
    null_equal: bool,
    memory: &MemoryBudget,
) -> Result<Vec<RecordBatch>> {
    let rows = |b: &[RecordBatch]| b.iter().map(|b| b.num_rows()).sum::<usize>();
    if join_type != JoinType::Inner || keys.is_empty() || rows(&left) >= rows(&right) {
        return join_build_right(
            left,
            right,
            left_types,
            right_types,
            join_type,
            keys,
            filter,
            null_equal,
            memory,
        );
    }
    // Build on the left instead: join with the sides swapped, then put the columns back.
    let (nl, nr) = (left_types.len(), right_types.len());
    let keys: Vec<(Expr, Expr)> = keys.iter().map(|(l, r)| (r.clone(), l.clone())).collect();
    let filter = filter.map(|f| f.map_columns(&|i| if i < nl { i + nr } else { i - nl }));
    let swapped = join_build_right(
        right,
        left,
        right_types,
        left_types,
        join_type,
        &keys,
        filter.as_ref(),
        null_equal,
        memory,
    )?;
    swapped
        .into_iter()
        .map(|b| {
            let cols: Vec<ArrayRef> = b.columns()[nr..]
                .iter()
                .chain(&b.columns()[..nr])
                .cloned()
                .collect();
            make_batch(cols, b.num_rows())
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn join_build_right(
    left: Vec<RecordBatch>,
    right: Vec<RecordBatch>,
    left_types: &[SqlType],
    right_types: &[SqlType],
    join_type: JoinType,
    keys: &[(Expr, Expr)],
    filter: Option<&Expr>,
    null_equal: bool,
    memory: &MemoryBudget,
) -> Result<Vec<RecordBatch>> {
    let rtypes: Vec<arrow_schema::DataType> = right_types.iter().map(|t| t.arrow_type()).collect();
    let right = concat(&right, &rtypes)?;
    let spec = JoinSpec {
        right: &right,
        memory,
        produced: AtomicU64::new(0),
        join_type,
        filter,
    };
    if join_type == JoinType::Inner && (right.num_rows() == 0 || left.is_empty()) {
        return Ok(vec![]);
    }
    // Sink: probe every left batch in parallel.
    let outputs: Vec<ProbeOutput> = if keys.is_empty() {
        left.par_iter()
            .map(|l| cross(l, &spec))
            .collect::<Result<_>>()?
    } else {
        let table = HashTable::build(&right, keys, null_equal)?;
        left.par_iter()
            .map(|l| {
                let probed = table.probe(l, keys, &spec)?;
                spec.account(&probed.batches)?;
                Ok(probed)
            })
            .collect::<Result<_>>()?
    };
    // Combine: merge the build-side bitmaps once.
    let mut right_matched = vec![false; right.num_rows()];
    let mut out = Vec::new();
    for o in outputs {
        if spec.keeps_right() {
            for (m, seen) in right_matched.iter_mut().zip(&o.right_matched) {
                *m |= *seen;
            }
        }
        out.extend(o.batches);
    }
    // Finalize: the build rows no probe matched.
    if spec.keeps_right() {
        let unmatched: Vec<u32> = right_matched
            .iter()
            .enumerate()
            .filter(|(_, m)| !**m)
            .map(|(i, _)| i as u32)
            .collect();
        if !unmatched.is_empty() {
            let ri = UInt32Array::from(unmatched);
            let mut cols: Vec<ArrayRef> = left_types
                .iter()
                .map(|t| new_null_array(&t.arrow_type(), ri.len()))
                .collect();
            for c in right.columns() {
                cols.push(arrow_select::take::take(c.as_ref(), &ri, None)?);
            }
            out.push(make_batch(cols, ri.len())?);
        }
    }
    Ok(out.into_iter().filter(|b| b.num_rows() > 0).collect())
}

/// Joins the candidate pairs (`li`, `ri`), keeps those passing the filter, and records which
/// left and right rows matched.
fn combine(
    l: &RecordBatch,
    li: Vec<u32>,
    ri: Vec<u32>,
    spec: &JoinSpec<'_>,
    left_matched: &mut [bool],
    right_matched: &mut [bool],
) -> Result<Option<RecordBatch>> {
    if li.is_empty() {
        return Ok(None);
    }
    let li = UInt32Array::from(li);
    let ri = UInt32Array::from(ri);
    let mut cols: Vec<ArrayRef> = Vec::with_capacity(l.num_columns() + spec.right.num_columns());
    for c in l.columns() {
        cols.push(arrow_select::take::take(c.as_ref(), &li, None)?);
    }
    for c in spec.right.columns() {
        cols.push(arrow_select::take::take(c.as_ref(), &ri, None)?);
    }
    let batch = make_batch(cols, li.len())?;
    let (batch, mask) = match spec.filter {
        Some(f) => {
            let mask = evaluate_predicate(f, &batch)?;
            (filter_batch(&batch, &mask)?, Some(mask))
        }
        None => (batch, None),
    };
    let passed = |k: usize, mask: &Option<BooleanArray>| match mask {
        Some(m) => m.is_valid(k) && m.value(k),
        None => true,
    };
    if spec.keeps_left() || spec.keeps_right() {
        for k in 0..li.len() {
            if passed(k, &mask) {
                if let Some(m) = left_matched.get_mut(li.value(k) as usize) {
                    *m = true;
                }
                if let Some(m) = right_matched.get_mut(ri.value(k) as usize) {
                    *m = true;
                }
            }
        }
    }
    Ok(Some(batch))
}

/// The left rows of `l` that matched nothing, padded with NULLs on the right.
fn unmatched_left(
    l: &RecordBatch,
    left_matched: &[bool],
    spec: &JoinSpec<'_>,
) -> Result<Option<RecordBatch>> {
    let idx: Vec<u32> = left_matched
        .iter()
        .enumerate()
        .filter(|(_, m)| !**m)
        .map(|(i, _)| i as u32)
        .collect();
    if idx.is_empty() {
        return Ok(None);
    }
    let li = UInt32Array::from(idx);
    let mut cols: Vec<ArrayRef> = Vec::with_capacity(l.num_columns() + spec.right.num_columns());
    for c in l.columns() {
        cols.push(arrow_select::take::take(c.as_ref(), &li, None)?);
    }
    for c in spec.right.columns() {
        cols.push(new_null_array(c.data_type(), li.len()));
    }
    Ok(Some(make_batch(cols, li.len())?))
}

fn finish_probe(
    l: &RecordBatch,
    mut batches: Vec<RecordBatch>,
    left_matched: &[bool],
    right_matched: Vec<bool>,
    spec: &JoinSpec<'_>,
) -> Result<ProbeOutput> {
    if spec.keeps_left() {
        if let Some(b) = unmatched_left(l, left_matched, spec)? {
            batches.push(b);
        }
    }
    Ok(ProbeOutput {
        batches,
        right_matched,
    })
}

fn cross(l: &RecordBatch, spec: &JoinSpec<'_>) -> Result<ProbeOutput> {
    let (ln, rn) = (l.num_rows(), spec.right.num_rows());
    let mut left_matched = vec![false; ln];
    let mut right_matched = vec![false; if spec.keeps_right() { rn } else { 0 }];
    let mut out = Vec::new();
    let mut li = Vec::new();
    let mut ri = Vec::new();
    for i in 0..ln {
        for j in 0..rn {
            li.push(i as u32);
            ri.push(j as u32);
            if li.len() == CROSS_CHUNK_ROWS_MAX {
                let chunk = combine(
                    l,
                    std::mem::take(&mut li),
                    std::mem::take(&mut ri),
                    spec,
                    &mut left_matched,
                    &mut right_matched,
                )?;
                spec.account(chunk.as_slice())?;
                out.extend(chunk);
            }
        }
    }
    out.extend(combine(
        l,
        li,
        ri,
        spec,
        &mut left_matched,
        &mut right_matched,
    )?);
    finish_probe(l, out, &left_matched, right_matched, spec)
}

/// End of a chain in [`HashTable::next`].
const CHAIN_END: u32 = u32::MAX;

/// The build side: each key's most recent build row, and for every build row the previous row
/// with the same key (a chain), so building allocates nothing per row. A single integer or date
/// key is hashed as an integer; other keys as arrow-row bytes.
struct HashTable {
    keys: BuildKeys,
    next: Vec<u32>,
    null_equal: bool,
}

enum BuildKeys {
    Int(HashMap<i64, u32, BuildIntHasher>),
    Bytes {
        converter: RowConverter,
        map: HashMap<Box<[u8]>, u32, BytesHasher>,
    },
}

impl HashTable {
    fn build(right: &RecordBatch, keys: &[(Expr, Expr)], null_equal: bool) -> Result<Self> {
        let cols = keys
            .iter()
            .map(|(_, r)| evaluate(r, right))
            .collect::<Result<Vec<_>>>()?;
        let n = right.num_rows();
        let mut next = vec![CHAIN_END; n];
        let single_int = !null_equal
            && keys.len() == 1
            && keys
                .iter()
                .all(|(l, r)| is_int_key(l.ty()) && is_int_key(r.ty()));
        if single_int {
            if let Some(values) = int_keys(&cols[0]) {
                let col = &cols[0];
                let mut map: HashMap<i64, u32, BuildIntHasher> =
                    HashMap::with_capacity_and_hasher(n, BuildIntHasher);
                for (i, k) in values.iter().enumerate() {
                    if col.is_null(i) {
                        continue;
                    }
                    if let Some(prev) = map.insert(*k, i as u32) {
                        next[i] = prev;
                    }
                }
                return Ok(HashTable {
                    keys: BuildKeys::Int(map),
                    next,
                    null_equal,
                });
            }
        }
        // Keys compare as SQL compares them: equal intervals are one key.
        let converter = RowConverter::new(
            keys.iter()
                .map(|(_, r)| SortField::new(order_key_type(&r.ty().arrow_type())))
                .collect(),
        )?;
        let rows = converter.convert_columns(&order_keys(&cols)?)?;
        let mut map: HashMap<Box<[u8]>, u32, BytesHasher> = HashMap::default();
        for (i, slot) in next.iter_mut().enumerate() {
            if !null_equal && cols.iter().any(|c| c.is_null(i)) {
                continue;
            }
            if let Some(prev) = map.insert(rows.row(i).as_ref().into(), i as u32) {
                *slot = prev;
            }
        }
        Ok(HashTable {
            keys: BuildKeys::Bytes { converter, map },
            next,
            null_equal,
        })
    }

    fn probe(
        &self,
        l: &RecordBatch,
        keys: &[(Expr, Expr)],
        spec: &JoinSpec<'_>,
    ) -> Result<ProbeOutput> {
        let cols = keys
            .iter()
            .map(|(k, _)| evaluate(k, l))
            .collect::<Result<Vec<_>>>()?;
        let mut li = Vec::new();
        let mut ri = Vec::new();
        let mut chain = |i: usize, head: u32| {
            let mut j = head;
            while j != CHAIN_END {
                li.push(i as u32);
                ri.push(j);
                j = self.next.get(j as usize).copied().unwrap_or(CHAIN_END);
            }
        };
        match &self.keys {
            BuildKeys::Int(map) => {
                let col = &cols[0];
                let values = int_keys(col)
                    .ok_or_else(|| crate::error::Error::Internal("join key type".into()))?;
                for (i, k) in values.iter().enumerate() {
                    if col.is_null(i) {
                        continue;
                    }
                    if let Some(head) = map.get(k) {
                        chain(i, *head);
                    }
                }
            }
            BuildKeys::Bytes { converter, map } => {
                let rows = converter.convert_columns(&order_keys(&cols)?)?;
                for i in 0..l.num_rows() {
                    if !self.null_equal && cols.iter().any(|c| c.is_null(i)) {
                        continue;
                    }
                    if let Some(head) = map.get(rows.row(i).as_ref()) {
                        chain(i, *head);
                    }
                }
            }
        }
        let mut left_matched = vec![false; l.num_rows()];
        let mut right_matched = vec![
            false;
            if spec.keeps_right() {
                spec.right.num_rows()
            } else {
                0
            }
        ];
        let out: Vec<RecordBatch> =
            combine(l, li, ri, spec, &mut left_matched, &mut right_matched)?
                .into_iter()
                .collect();
        finish_probe(l, out, &left_matched, right_matched, spec)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::cast::AsArray;
    use arrow_array::types::Int32Type;
    use arrow_array::Int32Array;

    use super::*;

    fn ints(values: &[Option<i32>]) -> RecordBatch {
        let col: ArrayRef = Arc::new(Int32Array::from(values.to_vec()));
        make_batch(vec![col], values.len()).unwrap_or_else(|e| panic!("{e}"))
    }

    fn pairs(batches: &[RecordBatch]) -> Vec<(Option<i32>, Option<i32>)> {
        let mut out = Vec::new();
        for b in batches {
            let l = b.column(0).as_primitive::<Int32Type>();
            let r = b.column(1).as_primitive::<Int32Type>();
            for i in 0..b.num_rows() {
                let get =
                    |a: &arrow_array::PrimitiveArray<Int32Type>| a.is_valid(i).then(|| a.value(i));
                out.push((get(l), get(r)));
            }
        }
        out.sort();
        out
    }

    // Left rows 1, 2 in one probe batch and 2, NULL in another; right rows 2, 3, NULL. A build
    // row matched by only one probe is not reported unmatched; NULL keys match nothing.
    #[test]
    fn full_join_merges_build_matches_across_probes() {
        let key = || Expr::Column {
            index: 0,
            ty: SqlType::Integer,
        };
        let out = join(
            vec![ints(&[Some(1), Some(2)]), ints(&[Some(2), None])],
            vec![ints(&[Some(2), Some(3), None])],
            &[SqlType::Integer],
            &[SqlType::Integer],
            JoinType::Full,
            &[(key(), key())],
            None,
            false,
            &MemoryBudget::unlimited(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            pairs(&out),
            vec![
                (None, None),
                (None, None),
                (None, Some(3)),
                (Some(1), None),
                (Some(2), Some(2)),
                (Some(2), Some(2)),
            ]
        );
    }

    // The same inputs as a LEFT join with a filter that rejects every pair: each left row
    // comes back once, padded with NULLs.
    #[test]
    fn left_join_filter_rejecting_pairs_keeps_left_rows() {
        let key = || Expr::Column {
            index: 0,
            ty: SqlType::Integer,
        };
        let never = Expr::literal(crate::types::Datum::Boolean(false), SqlType::Boolean);
        let out = join(
            vec![ints(&[Some(1), Some(2)]), ints(&[Some(2), None])],
            vec![ints(&[Some(2), Some(3), None])],
            &[SqlType::Integer],
            &[SqlType::Integer],
            JoinType::Left,
            &[(key(), key())],
            Some(&never),
            false,
            &MemoryBudget::unlimited(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            pairs(&out),
            vec![
                (None, None),
                (Some(1), None),
                (Some(2), None),
                (Some(2), None)
            ]
        );
    }

    // An inner join builds on the smaller side: the pairs, the column order and a filter over
    // both sides come out the same whichever side is smaller.
    #[test]
    fn inner_join_builds_on_the_smaller_side() {
        let key = || Expr::Column {
            index: 0,
            ty: SqlType::Integer,
        };
        // Keep the pairs whose right value is below 3.
        let filter = Expr::Binary {
            op: crate::planner::expr::BinaryOp::Lt,
            left: Box::new(Expr::Column {
                index: 1,
                ty: SqlType::Integer,
            }),
            right: Box::new(Expr::literal(crate::types::Datum::Int(3), SqlType::Integer)),
            ty: SqlType::Boolean,
        };
        let small = || vec![ints(&[Some(1), Some(2), None])];
        let big = || {
            vec![
                ints(&[Some(1), Some(2), Some(2), Some(3)]),
                ints(&[Some(3), None]),
            ]
        };
        let run = |l, r| {
            join(
                l,
                r,
                &[SqlType::Integer],
                &[SqlType::Integer],
                JoinType::Inner,
                &[(key(), key())],
                Some(&filter),
                false,
                &MemoryBudget::unlimited(),
            )
            .unwrap_or_else(|e| panic!("{e}"))
        };
        let want = vec![(Some(1), Some(1)), (Some(2), Some(2)), (Some(2), Some(2))];
        assert_eq!(pairs(&run(small(), big())), want);
        assert_eq!(pairs(&run(big(), small())), want);
    }
}
