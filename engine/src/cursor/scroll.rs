//! Where a cursor stands and which rows a FETCH or MOVE returns, computed exactly as
//! PostgreSQL's portal code does (`DoPortalRunFetch`, `PortalRunSelect`, `DoPortalRewind` in
//! `pquery.c`), so positions, counts and NO SCROLL errors match it case by case.
//!
//! Rows are numbered 1..=n. The executor's position is 0 before the first row, k on row k,
//! and n + 1 after the last; the portal also keeps `pos` (rows from the start to the current
//! one) and the flags `at_start` and `at_end`, which PostgreSQL's rules are written in:
//!
//! ```text
//!   at_start ----FETCH 1----> on row 1 ... on row n ----FETCH 1----> at_end
//!      ^                                                               |
//!      +------------------ BACKWARD ALL, ABSOLUTE 0 -------------------+
//! ```

use super::parse::{Count, Direction};
use crate::error::{Error, Result};

/// PostgreSQL's FETCH_ALL: a count larger than any result.
const ALL: u64 = u64::MAX;

/// A cursor's position in its `n` rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Scroll {
    /// Rows before and including the current one (PostgreSQL's `portalPos`).
    pos: u64,
    at_start: bool,
    at_end: bool,
    /// NO SCROLL: any step backward is an error.
    no_scroll: bool,
    /// Set when a step forward ran into the end of the rows (see [`Scroll::fetch_known`]).
    reached_end: bool,
}

/// The rows a FETCH returns: `len` rows from row `first` (1-based), going down when
/// `backward`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    pub first: u64,
    pub len: u64,
    pub backward: bool,
}

impl Span {
    const EMPTY: Span = Span {
        first: 0,
        len: 0,
        backward: false,
    };

    /// The lowest row the span covers (1-based); meaningless when empty.
    pub fn lowest(&self) -> u64 {
        if self.backward {
            self.first + 1 - self.len
        } else {
            self.first
        }
    }
}

impl Scroll {
    pub fn new(no_scroll: bool) -> Scroll {
        Scroll {
            pos: 0,
            at_start: true,
            at_end: false,
            no_scroll,
            reached_end: false,
        }
    }

    /// [`Scroll::fetch`] over the first `known` rows of a result, which has no more rows
    /// when `complete`. `None`, and the position unchanged, when the answer depends on rows
    /// beyond those: some step forward ran into row `known`'s end before the result's.
    pub fn fetch_known(
        &mut self,
        known: u64,
        complete: bool,
        direction: Direction,
        moving: bool,
    ) -> Result<Option<(Span, u64)>> {
        let mut trial = *self;
        trial.reached_end = false;
        let outcome = trial.fetch(known, direction, moving)?;
        if trial.reached_end && !complete {
            return Ok(None);
        }
        *self = trial;
        Ok(Some(outcome))
    }

    /// The executor's position: 0 before the first row, n + 1 after the last.
    pub(crate) fn current(&self) -> u64 {
        self.pos + u64::from(self.at_end)
    }

    /// The lowest row a later FETCH can still return: rows below it may be forgotten.
    pub fn lowest_reachable(&self) -> u64 {
        if self.no_scroll {
            // Only forward from here; a FETCH 0 (which backs up one row) is refused.
            self.current() + 1
        } else {
            1
        }
    }

    /// Runs a FETCH (`moving` false) or MOVE over `n` rows: the rows to return and the
    /// count for the command tag. PostgreSQL's `DoPortalRunFetch`.
    pub fn fetch(&mut self, n: u64, direction: Direction, moving: bool) -> Result<(Span, u64)> {
        let (forward, count) = match direction {
            Direction::Forward(c) => (true, count_of(c)),
            Direction::Backward(c) => (false, count_of(c)),
            Direction::Absolute(k) if k > 0 => {
                let k = k.unsigned_abs();
                if k - 1 <= self.pos / 2 {
                    self.rewind()?;
                    if k > 1 {
                        self.select(n, true, k - 1)?;
                    }
                } else {
                    let pos = self.pos + u64::from(self.at_end);
                    if k <= pos {
                        self.select(n, false, pos - k + 1)?;
                    } else if k > pos + 1 {
                        self.select(n, true, k - pos - 1)?;
                    }
                }
                return self.select(n, true, 1).map(counted);
            }
            Direction::Absolute(k) if k < 0 => {
                let k = k.unsigned_abs();
                self.select(n, true, ALL)?;
                if k > 1 {
                    self.select(n, false, k - 1)?;
                }
                return self.select(n, false, 1).map(counted);
            }
            Direction::Absolute(_) => {
                self.rewind()?;
                return Ok((Span::EMPTY, 0));
            }
            Direction::Relative(k) if k > 0 => {
                let k = k.unsigned_abs();
                if k > 1 {
                    self.select(n, true, k - 1)?;
                }
                return self.select(n, true, 1).map(counted);
            }
            Direction::Relative(k) if k < 0 => {
                let k = k.unsigned_abs();
                if k > 1 {
                    self.select(n, false, k - 1)?;
                }
                return self.select(n, false, 1).map(counted);
            }
            Direction::Relative(_) => (true, 0),
        };
        let (mut forward, mut count) = (forward, count);
        if count == 0 {
            // Zero re-reads the current row, if the cursor is on one.
            let on_row = !self.at_start && !self.at_end;
            if moving {
                return Ok((Span::EMPTY, u64::from(on_row)));
            }
            if on_row {
                self.select(n, false, 1)?;
                (forward, count) = (true, 1);
            }
        }
        if !forward && count == ALL && moving {
            // MOVE BACKWARD ALL is a rewind.
            let mut moved = self.pos;
            if moved > 0 && !self.at_end {
                moved -= 1;
            }
            self.rewind()?;
            return Ok((Span::EMPTY, moved));
        }
        self.select(n, forward, count).map(counted)
    }

    /// Moves `count` rows (ALL: as far as the rows go) and returns the rows passed.
    /// PostgreSQL's `PortalRunSelect`.
    fn select(&mut self, n: u64, forward: bool, count: u64) -> Result<Span> {
        if forward {
            if self.at_end || count == 0 {
                return Ok(Span::EMPTY);
            }
            let current = self.current();
            let len = count.min(n.saturating_sub(current));
            if len > 0 {
                self.at_start = false;
            }
            if len < count {
                self.at_end = true;
                self.reached_end = true;
            }
            self.pos += len;
            Ok(Span {
                first: current + 1,
                len,
                backward: false,
            })
        } else {
            if self.no_scroll {
                return Err(no_backward_scan());
            }
            if self.at_start || count == 0 {
                return Ok(Span::EMPTY);
            }
            let current = self.current();
            let len = count.min(current.saturating_sub(1));
            if len > 0 && self.at_end {
                self.at_end = false;
                self.pos += 1;
            }
            if len < count {
                self.at_start = true;
                self.pos = 0;
            } else {
                self.pos -= len;
            }
            Ok(Span {
                first: current.saturating_sub(1),
                len,
                backward: true,
            })
        }
    }

    /// Back to before the first row. PostgreSQL's `DoPortalRewind`: a no-op for a cursor that
    /// has not moved, an error for any other NO SCROLL cursor.
    fn rewind(&mut self) -> Result<()> {
        if self.at_start && !self.at_end {
            return Ok(());
        }
        if self.no_scroll {
            return Err(no_backward_scan());
        }
        self.pos = 0;
        self.at_start = true;
        self.at_end = false;
        Ok(())
    }
}

fn count_of(count: Count) -> u64 {
    match count {
        Count::Rows(n) => n,
        Count::All => ALL,
    }
}

fn counted(span: Span) -> (Span, u64) {
    (span, span.len)
}

fn no_backward_scan() -> Error {
    Error::ObjectNotInPrerequisiteState {
        message: "cursor can only scan forward".into(),
        detail: None,
        hint: Some("Declare it with SCROLL option to enable backward scan.".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Count::{All, Rows};
    use Direction::*;

    /// The rows a FETCH returns, as row numbers in order.
    fn rows(s: &mut Scroll, n: u64, d: Direction) -> Vec<u64> {
        let (span, count) = s.fetch(n, d, false).unwrap();
        assert_eq!(span.len, count);
        (0..span.len)
            .map(|i| {
                if span.backward {
                    span.first - i
                } else {
                    span.first + i
                }
            })
            .collect()
    }

    fn moved(s: &mut Scroll, n: u64, d: Direction) -> u64 {
        s.fetch(n, d, true).unwrap().1
    }

    #[test]
    fn fetches_over_ten_rows_follow_postgres() {
        // Input: PostgreSQL 15's own session over a SCROLL cursor of rows 1..=10; each line
        // is the FETCH it ran and the rows it printed.
        let mut s = Scroll::new(false);
        let n = 10;
        assert_eq!(rows(&mut s, n, Forward(Rows(1))), [1]);
        assert_eq!(rows(&mut s, n, Forward(Rows(1))), [2]);
        assert_eq!(rows(&mut s, n, Forward(Rows(2))), [3, 4]);
        assert_eq!(rows(&mut s, n, Backward(Rows(1))), [3]);
        assert_eq!(rows(&mut s, n, Absolute(1)), [1]);
        assert_eq!(rows(&mut s, n, Absolute(-1)), [10]);
        assert_eq!(rows(&mut s, n, Forward(Rows(1))), Vec::<u64>::new());
        assert_eq!(rows(&mut s, n, Absolute(3)), [3]);
        assert_eq!(rows(&mut s, n, Relative(-1)), [2]);
        assert_eq!(rows(&mut s, n, Relative(0)), [2]);
        assert_eq!(rows(&mut s, n, Forward(Rows(1))), [3]);
        assert_eq!(rows(&mut s, n, Forward(Rows(2))), [4, 5]);
        assert_eq!(rows(&mut s, n, Forward(All)), [6, 7, 8, 9, 10]);
        assert_eq!(rows(&mut s, n, Backward(Rows(1))), [10]);
        assert_eq!(rows(&mut s, n, Backward(Rows(2))), [9, 8]);
        assert_eq!(rows(&mut s, n, Backward(All)), [7, 6, 5, 4, 3, 2, 1]);
        assert_eq!(rows(&mut s, n, Backward(Rows(1))), Vec::<u64>::new());
        assert_eq!(rows(&mut s, n, Forward(All)), (1..=10).collect::<Vec<_>>());
        assert_eq!(moved(&mut s, n, Absolute(1)), 1);
        assert_eq!(moved(&mut s, n, Forward(Rows(3))), 3);
        assert_eq!(moved(&mut s, n, Backward(All)), 3);
        assert_eq!(moved(&mut s, n, Forward(All)), 10);
        assert_eq!(moved(&mut s, n, Absolute(-1)), 1);
        assert_eq!(moved(&mut s, n, Absolute(0)), 0);
        assert_eq!(rows(&mut s, n, Absolute(-2)), [9]);
        assert_eq!(rows(&mut s, n, Absolute(100)), Vec::<u64>::new());
        assert_eq!(rows(&mut s, n, Forward(Rows(1))), Vec::<u64>::new());
        assert_eq!(rows(&mut s, n, Forward(Rows(0))), Vec::<u64>::new());
    }

    #[test]
    fn moves_count_as_postgres_counts() {
        // Input: PostgreSQL 15's MOVE tags over a cursor of rows 1..=5.
        let mut s = Scroll::new(false);
        let n = 5;
        assert_eq!(moved(&mut s, n, Forward(All)), 5);
        assert_eq!(moved(&mut s, n, Backward(All)), 5);
        assert_eq!(moved(&mut s, n, Forward(Rows(0))), 0);
        assert_eq!(rows(&mut s, n, Forward(Rows(0))), Vec::<u64>::new());
        assert_eq!(moved(&mut s, n, Relative(2)), 1);
        assert_eq!(rows(&mut s, n, Relative(0)), [2]);
        assert_eq!(moved(&mut s, n, Forward(Rows(0))), 1);
        assert_eq!(rows(&mut s, n, Backward(Rows(0))), [2]);
    }

    #[test]
    fn no_scroll_refuses_every_step_back_but_not_forward_absolutes() {
        // Input: PostgreSQL 15's outcomes for NO SCROLL cursors of rows 1..=5, each case on
        // a fresh cursor.
        let n = 5;
        let fresh = || Scroll::new(true);
        let refused = |s: &mut Scroll, d: Direction| {
            let e = s.fetch(n, d, false).unwrap_err();
            assert_eq!(e.to_string(), "cursor can only scan forward");
        };
        let mut s = fresh();
        assert_eq!(rows(&mut s, n, Absolute(1)), [1]);
        assert_eq!(rows(&mut s, n, Absolute(3)), [3]);
        let mut s = fresh();
        assert_eq!(rows(&mut s, n, Forward(Rows(0))), Vec::<u64>::new());
        assert_eq!(rows(&mut s, n, Forward(Rows(1))), [1]);
        refused(&mut s, Relative(0));
        refused(&mut fresh(), Absolute(-1));
        assert_eq!(moved(&mut fresh(), n, Backward(All)), 0);
        let mut s = fresh();
        assert_eq!(rows(&mut s, n, Forward(Rows(2))), [1, 2]);
        refused(&mut s, Absolute(2));
        let mut s = fresh();
        assert_eq!(rows(&mut s, n, Forward(Rows(2))), [1, 2]);
        assert!(s.fetch(n, Backward(All), true).is_err());
        let mut s = fresh();
        assert_eq!(rows(&mut s, n, Forward(Rows(1))), [1]);
        refused(&mut s, Absolute(1));
        let mut s = fresh();
        assert_eq!(rows(&mut s, n, Forward(Rows(1))), [1]);
        assert_eq!(rows(&mut s, n, Absolute(2)), [2]);
        assert_eq!(rows(&mut s, n, Absolute(5)), [5]);
        assert_eq!(rows(&mut s, n, Absolute(6)), Vec::<u64>::new());
        assert_eq!(rows(&mut s, n, Absolute(7)), Vec::<u64>::new());
        let mut s = fresh();
        assert_eq!(rows(&mut s, n, Absolute(0)), Vec::<u64>::new());
        assert_eq!(rows(&mut s, n, Absolute(1)), [1]);
        refused(&mut s, Absolute(1));
        let mut s = fresh();
        assert_eq!(rows(&mut s, n, Forward(All)), [1, 2, 3, 4, 5]);
        refused(&mut s, Absolute(5));
    }

    #[test]
    fn an_empty_result_returns_nothing_in_every_direction() {
        // Input: a SCROLL cursor over no rows, fetched every way.
        let mut s = Scroll::new(false);
        for d in [
            Forward(Rows(1)),
            Backward(Rows(1)),
            Absolute(1),
            Absolute(-1),
            Relative(3),
            Relative(-3),
            Forward(All),
            Backward(All),
            Forward(Rows(0)),
        ] {
            assert_eq!(rows(&mut s, 0, d), Vec::<u64>::new(), "{d:?}");
        }
    }

    #[test]
    fn fetches_over_known_rows_ask_for_more_only_when_they_reach_their_end() {
        // Input: a SCROLL cursor over a result of 10 rows of which 4 are known, then all.
        let mut s = Scroll::new(false);
        let four = |s: &mut Scroll, d| s.fetch_known(4, false, d, false).unwrap();
        assert_eq!(four(&mut s, Forward(Rows(3))).map(|o| o.1), Some(3));
        // One more row is known: FETCH 1 needs no more, FETCH 2 does.
        assert!(four(&mut s, Forward(Rows(2))).is_none());
        // LAST and ALL need the end, even where they finish going backward.
        assert!(four(&mut s, Absolute(-1)).is_none());
        assert!(four(&mut s, Forward(All)).is_none());
        assert_eq!(four(&mut s, Backward(Rows(2))).map(|o| o.1), Some(2));
        // The refused attempts left the position alone: on row 1, ABSOLUTE -1 is row 10.
        let (span, count) = s
            .fetch_known(10, true, Absolute(-1), false)
            .unwrap()
            .unwrap();
        assert_eq!((span.first, count), (10, 1));
    }

    #[test]
    fn the_lowest_reachable_row_rises_only_for_no_scroll_cursors() {
        // Input: a SCROLL and a NO SCROLL cursor of 10 rows, each fetched 4 rows forward.
        let mut scroll = Scroll::new(false);
        let mut forward = Scroll::new(true);
        rows(&mut scroll, 10, Forward(Rows(4)));
        rows(&mut forward, 10, Forward(Rows(4)));
        assert_eq!(scroll.lowest_reachable(), 1);
        assert_eq!(forward.lowest_reachable(), 5);
        rows(&mut forward, 10, Forward(All));
        assert_eq!(forward.lowest_reachable(), 12);
    }
}
