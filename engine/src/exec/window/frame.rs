//! Window frames: the rows of its partition that each row's frame holds (its bounds, in
//! ROWS, RANGE or GROUPS, less the rows its EXCLUDE clause takes out), and the running state
//! an aggregate keeps over them.
//!
//! A frame is at most three runs of sorted positions: the rows between its bounds before the
//! excluded ones, the current row when EXCLUDE TIES keeps it, and the rows after. An aggregate
//! keeps a state for the run it can carry from row to row:
//! - without an inverse (float sums and moments, MIN/MAX, the collecting and ordered-set
//!   aggregates), the first run, which grows while its start stays put and starts again when
//!   the start moves, as PostgreSQL does: a float SUM adds the same values in the same order.
//!   The other runs are added to a copy, so a frame that excludes rows costs its rows after
//!   the hole, as in PostgreSQL, which aggregates such frames afresh for every row.
//! - with an exact inverse (counts, exact sums and moments, BOOL_AND/BOOL_OR, as PostgreSQL's
//!   moving-aggregate functions), all the rows between the bounds: rows that leave the frame
//!   at its start are taken out, and a copy takes out the excluded ones. Sliding and
//!   shrinking frames then cost each row once.
//!
//! Rows whose frames hold the same rows (peers under RANGE, every row of a partition without
//! ORDER BY) share one state.

use std::ops::Range;

use arrow_array::Array;
use arrow_row::{RowConverter, SortField};
use rayon::prelude::*;

use super::operator::Ctx;
use crate::error::{Error, Result};
use crate::exec::make_batch;
use crate::kernels::eval::evaluate;
use crate::planner::expr::{FrameBound, FrameExclude, FrameUnits, RangeBound, WindowFrame};
use crate::types::Datum;

/// Where RANGE offset bounds put each row's frame start and end (sorted positions), when the
/// frame has such bounds.
#[derive(Default)]
pub(super) struct RangeEnds {
    start: Option<Vec<u32>>,
    end: Option<Vec<u32>>,
}

/// The rows of one row's frame: the sorted positions in `span` (between its bounds), less
/// those in `hole` (the rows EXCLUDE takes out), but with `keep` (the current row, which
/// EXCLUDE TIES keeps).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct FrameRows {
    pub span: Range<usize>,
    pub hole: Range<usize>,
    pub keep: Option<usize>,
}

impl FrameRows {
    /// The frame of the row at `row`, whose peer group is `peers`, between bounds `span`.
    pub fn new(span: Range<usize>, exclude: FrameExclude, row: usize, peers: Range<usize>) -> Self {
        let (hole, keep) = match exclude {
            // The same empty hole for every row, so rows with the same bounds share a state.
            FrameExclude::NoOthers => (0..0, None),
            FrameExclude::CurrentRow => (row..row + 1, None),
            FrameExclude::Group => (peers, None),
            FrameExclude::Ties => (peers, Some(row)),
        };
        FrameRows { span, hole, keep }
    }

    /// The frame's rows as three ascending runs of sorted positions, some of them empty: the
    /// rows before the hole, the kept row, the rows after the hole.
    pub fn runs(&self) -> [Range<usize>; 3] {
        let s = &self.span;
        if self.hole.is_empty() {
            return [s.clone(), s.end..s.end, s.end..s.end];
        }
        let before = s.start..s.end.min(self.hole.start).max(s.start);
        let kept = match self.keep {
            Some(k) if s.contains(&k) && self.hole.contains(&k) => k..k + 1,
            _ => s.end..s.end,
        };
        let after = s.start.max(self.hole.end).min(s.end)..s.end;
        [before, kept, after]
    }

    /// The rows between the bounds that the frame leaves out, in order.
    pub fn excluded(&self) -> impl Iterator<Item = usize> + '_ {
        let from = self.hole.start.max(self.span.start);
        let to = self.hole.end.min(self.span.end);
        (from..to.max(from)).filter(move |j| Some(*j) != self.keep)
    }

    /// The frame's `k`-th row (from 0) in window order, if it has that many.
    pub fn nth(&self, mut k: usize) -> Option<usize> {
        for r in self.runs() {
            if k < r.len() {
                return Some(r.start + k);
            }
            k -= r.len();
        }
        None
    }

    /// The frame's last row, if it has any.
    pub fn last(&self) -> Option<usize> {
        self.runs()
            .iter()
            .rev()
            .find(|r| !r.is_empty())
            .map(|r| r.end - 1)
    }
}

/// How an aggregate's state takes in the row at a sorted position.
pub(super) type Step<'a, S> = &'a (dyn Fn(&mut S, usize) -> Result<()> + Sync);

/// The states of every row's frame: `states` holds one state per distinct frame, and
/// `slots[i]` is the index of row `i`'s (rows in sorted order).
pub(super) struct FrameStates<S> {
    pub states: Vec<S>,
    pub slots: Vec<u32>,
}

/// Brings `state`, which holds the rows `held`, to hold the rows `target` instead, taking
/// rows in with `add` and out with `remove` when there is one.
fn move_to<S: Clone>(
    state: &mut S,
    held: &mut Range<usize>,
    target: Range<usize>,
    init: &S,
    add: Step<'_, S>,
    remove: Option<Step<'_, S>>,
) -> Result<()> {
    if target.start == held.start && target.end >= held.end {
        for j in held.end..target.end {
            add(state, j)?;
        }
    } else if let (Some(remove), true) = (
        remove,
        target.start >= held.start && target.start <= held.end && target.end >= held.end,
    ) {
        for j in held.start..target.start {
            remove(state, j)?;
        }
        for j in held.end..target.end {
            add(state, j)?;
        }
    } else {
        *state = init.clone();
        for j in target.clone() {
            add(state, j)?;
        }
    }
    *held = target;
    Ok(())
}

impl Ctx<'_> {
    /// The rows of the frame of the row at sorted position `i` in partition `part`.
    pub(super) fn frame_rows(
        &self,
        frame: &WindowFrame,
        ends: &RangeEnds,
        part: &Range<usize>,
        i: usize,
    ) -> FrameRows {
        let span = self.frame_span(frame, ends, part, i);
        let peers = self.peer_start[i] as usize..self.peer_end[i] as usize;
        FrameRows::new(span, frame.exclude, i, peers)
    }

    /// Folds every row's frame into a state, starting from `init`: `add` takes in a row and
    /// `remove`, for aggregates that have an exact inverse, takes out a row added before.
    pub(super) fn frame_states<S: Clone + Send + Sync>(
        &self,
        frame: &WindowFrame,
        init: S,
        add: Step<'_, S>,
        remove: Option<Step<'_, S>>,
    ) -> Result<FrameStates<S>> {
        let ends = self.range_ends(frame)?;
        let per_part: Vec<FrameStates<S>> = self
            .parts
            .par_iter()
            .map(|part| {
                let mut states: Vec<S> = Vec::new();
                let mut slots = Vec::with_capacity(part.len());
                let mut run = init.clone();
                let mut held = part.start..part.start;
                let mut last: Option<FrameRows> = None;
                for i in part.clone() {
                    let rows = self.frame_rows(frame, &ends, part, i);
                    if last.as_ref() == Some(&rows) {
                        slots.push(states.len() as u32 - 1);
                        continue;
                    }
                    let [before, kept, after] = rows.runs();
                    let target = if remove.is_some() {
                        rows.span.clone()
                    } else {
                        before
                    };
                    move_to(&mut run, &mut held, target, &init, add, remove)?;
                    let mut state = run.clone();
                    match remove {
                        Some(remove) => {
                            for j in rows.excluded() {
                                remove(&mut state, j)?;
                            }
                        }
                        None => {
                            for j in kept.chain(after) {
                                add(&mut state, j)?;
                            }
                        }
                    }
                    slots.push(states.len() as u32);
                    states.push(state);
                    last = Some(rows);
                }
                Ok(FrameStates { states, slots })
            })
            .collect::<Result<_>>()?;
        let mut out = FrameStates {
            states: Vec::new(),
            slots: Vec::with_capacity(self.batch.num_rows()),
        };
        for p in per_part {
            let base = out.states.len() as u32;
            out.slots.extend(p.slots.into_iter().map(|s| s + base));
            out.states.extend(p.states);
        }
        Ok(out)
    }

    /// The bounds of the frame of the row at sorted position `i` in partition `part`, as a
    /// half-open range of sorted positions (empty when the bounds cross), before EXCLUDE. `ends` holds the RANGE offset
    /// bounds ([`Ctx::range_ends`]).
    fn frame_span(
        &self,
        frame: &WindowFrame,
        ends: &RangeEnds,
        part: &Range<usize>,
        i: usize,
    ) -> Range<usize> {
        let offset = |d: &Datum| match d {
            Datum::Int(v) => usize::try_from(*v).unwrap_or(usize::MAX),
            _ => 0,
        };
        // GROUPS: the first row of the group `k` groups before (or after) the row's, kept
        // inside the partition.
        let group = self.peer_group[i] as usize;
        let first_group = self.peer_group[part.start] as usize;
        let last_group = self.peer_group[part.end - 1] as usize;
        let group_start = |g: usize| self.group_starts[g] as usize;
        let start = match (&frame.start, frame.units) {
            (FrameBound::UnboundedPreceding, _) => part.start,
            (FrameBound::CurrentRow, FrameUnits::Rows) => i,
            (FrameBound::CurrentRow, _) => self.peer_start[i] as usize,
            (FrameBound::UnboundedFollowing, _) => part.end,
            (FrameBound::Preceding(d), FrameUnits::Rows) => {
                i.saturating_sub(offset(d)).max(part.start)
            }
            (FrameBound::Following(d), FrameUnits::Rows) => {
                i.saturating_add(offset(d)).min(part.end)
            }
            (FrameBound::Preceding(d), FrameUnits::Groups) => {
                group_start(group.saturating_sub(offset(d)).max(first_group))
            }
            (FrameBound::Following(d), FrameUnits::Groups) => match group.checked_add(offset(d)) {
                Some(g) if g <= last_group => group_start(g),
                _ => part.end,
            },
            (FrameBound::Preceding(_) | FrameBound::Following(_), FrameUnits::Range) => {
                match &ends.start {
                    Some(v) => v[i] as usize,
                    None => self.peer_start[i] as usize,
                }
            }
        };
        let end = match (&frame.end, frame.units) {
            (FrameBound::UnboundedPreceding, _) => part.start,
            (FrameBound::CurrentRow, FrameUnits::Rows) => i + 1,
            (FrameBound::CurrentRow, _) => self.peer_end[i] as usize,
            (FrameBound::UnboundedFollowing, _) => part.end,
            (FrameBound::Preceding(d), FrameUnits::Rows) => {
                (i + 1).saturating_sub(offset(d)).max(part.start)
            }
            (FrameBound::Following(d), FrameUnits::Rows) => {
                i.saturating_add(offset(d)).saturating_add(1).min(part.end)
            }
            (FrameBound::Preceding(d), FrameUnits::Groups) => match group.checked_sub(offset(d)) {
                Some(g) if g >= first_group => group_start(g + 1),
                _ => part.start,
            },
            (FrameBound::Following(d), FrameUnits::Groups) => {
                let g = group.saturating_add(offset(d)).min(last_group);
                group_start(g + 1)
            }
            (FrameBound::Preceding(_) | FrameBound::Following(_), FrameUnits::Range) => {
                match &ends.end {
                    Some(v) => v[i] as usize,
                    None => self.peer_end[i] as usize,
                }
            }
        };
        start..end.max(start)
    }

    /// The frame starts and ends that RANGE offset bounds give: for a row whose key is not
    /// NULL, the first row (start) or one past the last row (end) of its partition whose key
    /// is within the bound, in ORDER BY order; NULL keys are never within a bound and a row
    /// whose key is NULL has its peers for frame (as in PostgreSQL).
    pub(super) fn range_ends(&self, frame: &WindowFrame) -> Result<RangeEnds> {
        if frame.range_start.is_none() && frame.range_end.is_none() {
            return Ok(RangeEnds::default());
        }
        let Some((key_expr, options)) = self.order_key else {
            return Err(Error::Internal(
                "RANGE offset without an ORDER BY key".into(),
            ));
        };
        let raw = evaluate(key_expr, self.batch)?;
        let keys = make_batch(vec![raw.clone()], raw.len())?;
        let find = |range: &Option<RangeBound>, is_start: bool| -> Result<Option<Vec<u32>>> {
            let Some(range) = range else {
                return Ok(None);
            };
            let key = crate::kernels::interval::order_key(&evaluate(&range.key, &keys)?)?;
            let bound = crate::kernels::interval::order_key(&evaluate(&range.bound, &keys)?)?;
            let converter = RowConverter::new(vec![SortField::new_with_options(
                key.data_type().clone(),
                options,
            )])?;
            let key_rows = converter.convert_columns(std::slice::from_ref(&key))?;
            let bound_rows = converter.convert_columns(std::slice::from_ref(&bound))?;
            let out = self.per_partition(|part| {
                let mut v = Vec::with_capacity(part.len());
                for i in part.clone() {
                    if raw.is_null(i) || bound.is_null(i) {
                        let peers = if is_start {
                            self.peer_start[i]
                        } else {
                            self.peer_end[i]
                        };
                        v.push(peers);
                        continue;
                    }
                    let b = bound_rows.row(i);
                    // Keys ascend in row form within the partition, NULLs included (they sort
                    // at the end the ORDER BY puts them, so no bound reaches them).
                    let (mut lo, mut hi) = (part.start, part.end);
                    while lo < hi {
                        let mid = lo + (hi - lo) / 2;
                        let k = key_rows.row(mid);
                        let before = if is_start { k < b } else { k <= b };
                        if before {
                            lo = mid + 1;
                        } else {
                            hi = mid;
                        }
                    }
                    v.push(lo as u32);
                }
                Ok(v)
            })?;
            Ok(Some(out))
        };
        Ok(RangeEnds {
            start: find(&frame.range_start, true)?,
            end: find(&frame.range_end, false)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Int64Array, RecordBatch};
    use arrow_schema::{DataType, Field, Schema};

    use super::*;

    // A partition of 8 rows in peer groups {0,1}, {2,3,4}, {5}, {6,7}; row 3 excludes:
    // CURRENT ROW takes out 3, GROUP takes out 2..5, TIES takes out 2 and 4 but keeps 3.
    #[test]
    fn exclusion_takes_out_the_current_row_or_its_peers() {
        let peers = 2..5;
        let f = |e| FrameRows::new(0..8, e, 3, peers.clone());
        let rows = |r: &FrameRows| -> Vec<usize> { r.runs().into_iter().flatten().collect() };
        assert_eq!(
            rows(&f(FrameExclude::NoOthers)),
            vec![0, 1, 2, 3, 4, 5, 6, 7]
        );
        assert_eq!(
            rows(&f(FrameExclude::CurrentRow)),
            vec![0, 1, 2, 4, 5, 6, 7]
        );
        assert_eq!(rows(&f(FrameExclude::Group)), vec![0, 1, 5, 6, 7]);
        assert_eq!(rows(&f(FrameExclude::Ties)), vec![0, 1, 3, 5, 6, 7]);
        let ties = f(FrameExclude::Ties);
        assert_eq!(ties.excluded().collect::<Vec<_>>(), vec![2, 4]);
        assert_eq!(
            (ties.nth(0), ties.nth(2), ties.nth(5)),
            (Some(0), Some(3), Some(7))
        );
        assert_eq!(ties.nth(6), None);
        assert_eq!(ties.last(), Some(7));
    }

    // Bounds that cut through the peer group: ROWS BETWEEN 1 PRECEDING AND CURRENT ROW at
    // row 3 is 2..4; TIES keeps 3 only, GROUP leaves nothing, and the kept row must lie
    // between the bounds (a frame of rows 0..2 keeps nothing of the group).
    #[test]
    fn exclusion_stays_within_the_bounds() {
        let f = |span: Range<usize>, e| FrameRows::new(span, e, 3, 2..5);
        assert_eq!(
            f(2..4, FrameExclude::Ties)
                .runs()
                .into_iter()
                .flatten()
                .collect::<Vec<_>>(),
            vec![3]
        );
        assert_eq!(f(2..4, FrameExclude::Group).len_for_test(), 0);
        assert_eq!(f(2..4, FrameExclude::Group).last(), None);
        assert_eq!(
            f(0..2, FrameExclude::Ties)
                .runs()
                .into_iter()
                .flatten()
                .collect::<Vec<_>>(),
            vec![0, 1]
        );
        assert_eq!(f(0..2, FrameExclude::Ties).excluded().count(), 0);
    }

    impl FrameRows {
        fn len_for_test(&self) -> usize {
            self.runs().iter().map(|r| r.len()).sum()
        }
    }

    /// A context over one partition of `n` rows in the given peer groups (one ORDER BY key).
    fn with_ctx<T>(groups: &[usize], test: impl FnOnce(&Ctx<'_>) -> T) -> T {
        let n: usize = groups.iter().sum();
        let (mut peer_start, mut peer_end, mut peer_group) = (vec![], vec![], vec![]);
        let mut group_starts = vec![];
        let mut at = 0u32;
        for (g, len) in groups.iter().enumerate() {
            group_starts.push(at);
            for _ in 0..*len {
                peer_start.push(at);
                peer_end.push(at + *len as u32);
                peer_group.push(g as u32);
            }
            at += *len as u32;
        }
        group_starts.push(n as u32);
        let schema = Arc::new(Schema::new(vec![Field::new("k", DataType::Int64, false)]));
        let key: Vec<i64> = peer_group.iter().map(|g| i64::from(*g)).collect();
        let batch = RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(key))]).unwrap();
        let parts: Vec<Range<usize>> = std::iter::once(0..n).collect();
        let ctx = Ctx {
            batch: &batch,
            parts: &parts,
            peer_start: &peer_start,
            peer_end: &peer_end,
            peer_group: &peer_group,
            group_starts: &group_starts,
            order_key: None,
        };
        test(&ctx)
    }

    // Every frame shape over peer groups of 2, 3, 1, 2 and 1 rows, with every EXCLUDE: a
    // state with an inverse (it slides and takes excluded rows out) and one without (it
    // restarts and adds the rows after the hole) both fold each row's frame to the list of
    // its rows, in window order, as the frame's runs give them.
    #[test]
    fn folds_with_and_without_an_inverse_see_the_frame_rows() {
        use FrameBound::*;
        let shapes = [
            (FrameUnits::Rows, UnboundedPreceding, CurrentRow),
            (FrameUnits::Rows, UnboundedPreceding, UnboundedFollowing),
            (
                FrameUnits::Rows,
                Preceding(Datum::Int(2)),
                Following(Datum::Int(1)),
            ),
            (FrameUnits::Rows, CurrentRow, UnboundedFollowing),
            (
                FrameUnits::Rows,
                Following(Datum::Int(1)),
                Following(Datum::Int(3)),
            ),
            (FrameUnits::Range, UnboundedPreceding, CurrentRow),
            (FrameUnits::Range, CurrentRow, UnboundedFollowing),
            (
                FrameUnits::Groups,
                Preceding(Datum::Int(1)),
                Following(Datum::Int(1)),
            ),
            (
                FrameUnits::Groups,
                Preceding(Datum::Int(2)),
                Preceding(Datum::Int(1)),
            ),
        ];
        let excludes = [
            FrameExclude::NoOthers,
            FrameExclude::CurrentRow,
            FrameExclude::Group,
            FrameExclude::Ties,
        ];
        with_ctx(&[2, 3, 1, 2, 1], |ctx| {
            let part = 0..ctx.batch.num_rows();
            for (units, start, end) in &shapes {
                for exclude in excludes {
                    let frame = WindowFrame {
                        units: *units,
                        start: start.clone(),
                        end: end.clone(),
                        range_start: None,
                        range_end: None,
                        exclude,
                    };
                    let ends = RangeEnds::default();
                    let want: Vec<Vec<usize>> = part
                        .clone()
                        .map(|i| {
                            let rows = ctx.frame_rows(&frame, &ends, &part, i);
                            rows.runs().into_iter().flatten().collect()
                        })
                        .collect();
                    let add: Step<'_, Vec<usize>> = &|s, j| {
                        s.push(j);
                        Ok(())
                    };
                    let remove: Step<'_, Vec<usize>> = &|s, j| {
                        let at = s.iter().position(|x| *x == j).unwrap();
                        s.remove(at);
                        Ok(())
                    };
                    for inverse in [None, Some(remove)] {
                        let got = ctx.frame_states(&frame, Vec::new(), add, inverse).unwrap();
                        assert_eq!(got.slots.len(), want.len());
                        for (i, w) in want.iter().enumerate() {
                            let state = &got.states[got.slots[i] as usize];
                            assert_eq!(
                                state,
                                w,
                                "row {i} of {units:?} {start:?}..{end:?} {exclude:?}, \
                                 inverse: {}",
                                inverse.is_some()
                            );
                        }
                    }
                }
            }
        });
    }

    // 1,000 rows in peer groups of 4: sliding, shrinking and excluding frames cost a state
    // with an inverse a bounded number of steps per row, not the frame's size; without an
    // inverse a running frame still costs one step per row.
    #[test]
    fn steps_stay_linear_with_an_inverse() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use FrameBound::*;
        let groups = vec![4; 250];
        let frame = |units, start, end, exclude| WindowFrame {
            units,
            start,
            end,
            range_start: None,
            range_end: None,
            exclude,
        };
        with_ctx(&groups, |ctx| {
            let steps = AtomicUsize::new(0);
            let step: Step<'_, i64> = &|s, _| {
                steps.fetch_add(1, Ordering::Relaxed);
                *s += 1;
                Ok(())
            };
            let count = |f: &WindowFrame, inverse: bool| {
                steps.store(0, Ordering::Relaxed);
                ctx.frame_states(f, 0, step, inverse.then_some(step))
                    .unwrap();
                steps.load(Ordering::Relaxed)
            };
            let cases = [
                (
                    FrameUnits::Rows,
                    CurrentRow,
                    UnboundedFollowing,
                    FrameExclude::NoOthers,
                ),
                (
                    FrameUnits::Rows,
                    UnboundedPreceding,
                    UnboundedFollowing,
                    FrameExclude::CurrentRow,
                ),
                (
                    FrameUnits::Range,
                    UnboundedPreceding,
                    UnboundedFollowing,
                    FrameExclude::Ties,
                ),
                (
                    FrameUnits::Groups,
                    Preceding(Datum::Int(3)),
                    Following(Datum::Int(3)),
                    FrameExclude::Group,
                ),
            ];
            for (units, start, end, exclude) in cases {
                let f = frame(units, start, end, exclude);
                let n = count(&f, true);
                assert!(n <= 10 * 1000, "{f:?} took {n} steps");
            }
            let running = frame(
                FrameUnits::Rows,
                UnboundedPreceding,
                CurrentRow,
                FrameExclude::NoOthers,
            );
            assert_eq!(count(&running, false), 1000);
        });
    }

    // Rows with the same frame share one state: under the default RANGE frame, peers do.
    #[test]
    fn peers_share_one_state() {
        with_ctx(&[2, 3, 1], |ctx| {
            let add: Step<'_, usize> = &|s, _| {
                *s += 1;
                Ok(())
            };
            let got = ctx
                .frame_states(&WindowFrame::default_frame(), 0, add, None)
                .unwrap();
            assert_eq!(got.states, vec![2, 5, 6]);
            assert_eq!(got.slots, vec![0, 0, 1, 1, 1, 2]);
        });
    }
}
