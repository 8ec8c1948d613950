//! A session's cursors: DECLARE (bound by the binder, see `bind_declare`), FETCH, MOVE, CLOSE,
//! and what the end of a transaction block or a savepoint does to them.

use std::sync::{Arc, Mutex};

use std::sync::atomic::AtomicBool;

use sqlparser::ast;

use super::parse::FetchCommand;
use super::parse::{Count, Direction};
use super::{lock, Cursor, CursorOptions, Feed, FetchStream, Reader, RowStore, Rows, Spill, Step};
use crate::error::{Error, Result};
use crate::exec::stream::{self, Idle, QueryJob, RowStream};
use crate::interrupt::InterruptSource;
use crate::planner::bind::{normalize_ident, Binder};
use crate::planner::plan::Plan;
use crate::planner::select::BoundQuery;
use crate::planner::statement::BoundStatement;
use crate::types::Datum;
use crate::StatementResult;
use crate::{command, Description, QueryResult, ResultColumn, Session, Statement};

impl Binder<'_> {
    /// `DECLARE name [BINARY] [ASENSITIVE | INSENSITIVE] [[NO] SCROLL] CURSOR [WITH[OUT] HOLD]
    /// FOR query`: the query is bound now, against the statement's snapshot.
    pub(crate) fn bind_declare(&mut self, stmts: &[ast::Declare]) -> Result<BoundStatement> {
        let [declare] = stmts else {
            return Err(unsupported_declare());
        };
        let (Some(ast::DeclareType::Cursor), [name], Some(query)) = (
            &declare.declare_type,
            declare.names.as_slice(),
            &declare.for_query,
        ) else {
            return Err(unsupported_declare());
        };
        let options = CursorOptions {
            binary: declare.binary == Some(true),
            no_scroll: declare.scroll == Some(false),
            hold: declare.hold == Some(true),
        };
        let query = self.bind_top_query(query)?;
        Ok(BoundStatement::DeclareCursor {
            name: normalize_ident(name),
            options,
            query,
        })
    }
}

fn unsupported_declare() -> Error {
    Error::Unsupported {
        message: "only DECLARE ... CURSOR FOR query is supported".into(),
    }
}

impl Session {
    /// Runs a bound DECLARE. A cursor without WITH HOLD needs a transaction block; one with
    /// WITH HOLD outside a block runs at once (its implicit transaction ends here).
    pub(crate) fn declare_cursor(
        &mut self,
        name: String,
        options: CursorOptions,
        query: BoundQuery,
        statement: &Arc<str>,
    ) -> Result<StatementResult> {
        if !options.hold && self.txn.is_none() {
            return Err(Error::NoActiveTransaction {
                message: "DECLARE CURSOR can only be used in transaction blocks".into(),
            });
        }
        if self.cursor_index(&name).is_some() {
            return Err(Error::DuplicateCursor { name });
        }
        let BoundQuery { plan, columns } = query;
        let rows = if self.txn.is_some() {
            Rows::Pending(Box::new(plan))
        } else {
            // Its implicit transaction ends here: it is read whole now, as at a COMMIT.
            let mut store = RowStore::streaming(
                Some(self.start_feed(plan, statement)?),
                Some(self.cursor_spill()),
            );
            let interrupt = self.statement_interrupt();
            while store.pull(&|| interrupt.check())? {}
            Rows::Ready(Arc::new(Mutex::new(Reader::new(store, options.no_scroll))))
        };
        let created_micros = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        self.cursors.push(Cursor {
            name,
            statement: Arc::clone(statement),
            columns,
            options,
            created_micros,
            rows,
            level: self.savepoints.len(),
            in_block: self.txn.is_some(),
        });
        Ok(command("DECLARE CURSOR"))
    }

    /// FETCH, MOVE and CLOSE; `None` for any other statement.
    pub(crate) fn cursor_statement(&mut self, stmt: &Statement) -> Option<Result<StatementResult>> {
        if let Some(fetch) = &stmt.fetch {
            let fetch = Arc::clone(fetch);
            return Some(self.fetch(&fetch));
        }
        match &stmt.ast {
            ast::Statement::Close { cursor } if stmt.is_plain() => Some(match cursor {
                ast::CloseCursor::All => {
                    self.cursors.clear();
                    Ok(command("CLOSE CURSOR ALL"))
                }
                ast::CloseCursor::Specific { name } => {
                    let name = normalize_ident(name);
                    match self.cursor_index(&name) {
                        Some(i) => {
                            self.cursors.remove(i);
                            Ok(command("CLOSE CURSOR"))
                        }
                        None => Err(Error::UndefinedCursor { name }),
                    }
                }
            }),
            _ => None,
        }
    }

    /// What FETCH, MOVE and CLOSE return, known before they run: a FETCH returns its cursor's
    /// columns (none if there is no such cursor yet). `None` for any other statement.
    pub(crate) fn describe_cursor_statement(&self, stmt: &Statement) -> Option<Description> {
        let columns = match (&stmt.fetch, &stmt.ast) {
            (Some(fetch), _) if !fetch.moving => self.cursor_columns(&fetch.cursor),
            (Some(_), _) => None,
            (None, ast::Statement::Close { .. }) if stmt.is_plain() => None,
            _ => return None,
        };
        Some(Description {
            params: Vec::new(),
            columns,
        })
    }

    /// The result columns of open cursor `name` (the extended protocol's Describe of a
    /// portal of that name).
    pub fn cursor_columns(&self, name: &str) -> Option<Vec<ResultColumn>> {
        self.cursor_index(name)
            .and_then(|i| self.cursors.get(i))
            .map(|c| c.columns().to_vec())
    }

    /// Whether `stmt` is a FETCH from a BINARY cursor, whose rows a simple-protocol client
    /// receives in binary format.
    pub fn fetches_binary(&self, stmt: &Statement) -> bool {
        match &stmt.fetch {
            Some(fetch) if !fetch.moving => self
                .cursor_index(&fetch.cursor)
                .and_then(|i| self.cursors.get(i))
                .is_some_and(Cursor::binary),
            _ => false,
        }
    }

    /// The rows of `pg_cursors`.
    pub(crate) fn cursor_catalog_rows(&self) -> Vec<Vec<Datum>> {
        self.cursors.iter().map(Cursor::catalog_row).collect()
    }

    fn cursor_index(&self, name: &str) -> Option<usize> {
        self.cursors.iter().position(|c| c.name == name)
    }

    fn fetch(&mut self, fetch: &FetchCommand) -> Result<StatementResult> {
        let i = self
            .cursor_index(&fetch.cursor)
            .ok_or_else(|| Error::UndefinedCursor {
                name: fetch.cursor.clone(),
            })?;
        let result = self.fetch_at(i, fetch);
        if result.is_err() {
            // As PostgreSQL, a cursor whose FETCH failed cannot be run again (a savepoint
            // may bring the transaction back, not the cursor).
            if let Some(cursor) = self.cursors.get_mut(i) {
                cursor.rows = Rows::Failed;
            }
        }
        result
    }

    fn fetch_at(&mut self, i: usize, fetch: &FetchCommand) -> Result<StatementResult> {
        let cannot_run = || Error::ObjectNotInPrerequisiteState {
            message: format!("portal \"{}\" cannot be run", fetch.cursor),
            detail: None,
            hint: None,
        };
        let pending = match self.cursors.get_mut(i).map(|c| (&mut c.rows, &c.statement)) {
            Some((rows @ Rows::Pending(_), statement)) => {
                let statement = Arc::clone(statement);
                match std::mem::replace(rows, Rows::Failed) {
                    Rows::Pending(plan) => Some((plan, statement)),
                    _ => None,
                }
            }
            Some((Rows::Ready(_), _)) => None,
            Some((Rows::Failed, _)) | None => return Err(cannot_run()),
        };
        if let Some((plan, statement)) = pending {
            self.start_reader(i, *plan, &statement)?;
        }
        let interrupt = self.statement_interrupt();
        let check = || interrupt.check();
        let cursor = self
            .cursors
            .get(i)
            .ok_or_else(|| Error::Internal("cursor vanished during FETCH".into()))?;
        let Rows::Ready(shared) = &cursor.rows else {
            return Err(Error::Internal("cursor has no rows after running".into()));
        };
        let shared = Arc::clone(shared);
        let columns = cursor.columns.clone();
        let no_scroll = cursor.options.no_scroll;
        let mut reader = lock(&shared);
        if reader.failed {
            return Err(cannot_run());
        }
        // A FETCH forward returns rows as they are read (FETCH 0 re-reads the current row).
        let forward = match (fetch.moving, fetch.direction) {
            (false, Direction::Forward(Count::Rows(n))) if n > 0 => Some(Some(n)),
            (false, Direction::Forward(Count::All)) => Some(None),
            _ => None,
        };
        if let Some(mut remaining) = forward {
            let mut batches = Vec::new();
            loop {
                match reader.forward_step(&mut remaining)? {
                    Step::Rows(rows) => batches.extend(rows),
                    Step::Done => break,
                    // Rows are in hand and the rest must wait for the query: the rest
                    // streams (the first batch is read here, so an error in the query
                    // itself comes before any row, as in PostgreSQL).
                    Step::NeedRows if self.stream_wanted && !batches.is_empty() => {
                        drop(reader);
                        let stream = FetchStream {
                            reader: shared,
                            remaining,
                            pending: batches.into(),
                            interrupt: interrupt.clone(),
                            failed: Arc::clone(&self.stream_failed),
                            done: false,
                        };
                        self.streamed = Some(RowStream::fetched(columns.clone(), stream));
                        // What the caller sees is the stream; this empty result never
                        // leaves.
                        return Ok(StatementResult::Query(QueryResult {
                            columns,
                            batches: Vec::new(),
                        }));
                    }
                    Step::NeedRows => {
                        reader.store.pull(&check)?;
                    }
                }
            }
            return Ok(StatementResult::Query(QueryResult { columns, batches }));
        }
        let Reader { store, scroll, .. } = &mut *reader;
        // The scroll rules need the result's size only where a FETCH reaches the end of the
        // rows known: until it does not, or the result is complete, read one more batch.
        let (span, count) = loop {
            if let Some(outcome) =
                scroll.fetch_known(store.total, store.complete(), fetch.direction, fetch.moving)?
            {
                break outcome;
            }
            if fetch.moving && no_scroll {
                // A NO SCROLL cursor's MOVE ends at or past every row read so far: none of
                // them can be returned again.
                store.forget_below(store.total + 1);
            }
            store.pull(&check)?;
        };
        let batches = if fetch.moving {
            Vec::new()
        } else {
            store.rows(span)?
        };
        store.forget_below(scroll.lowest_reachable());
        if fetch.moving {
            return Ok(command(&format!("MOVE {count}")));
        }
        Ok(StatementResult::Query(QueryResult { columns, batches }))
    }

    /// Starts cursor `i`'s query (see the module docs) and makes its reader.
    fn start_reader(&mut self, i: usize, plan: Plan, statement: &Arc<str>) -> Result<()> {
        let feed = self.start_feed(plan, statement)?;
        let spill = Some(self.cursor_spill());
        if let Some(cursor) = self.cursors.get_mut(i) {
            let store = RowStore::streaming(Some(feed), spill);
            cursor.rows = Rows::Ready(Arc::new(Mutex::new(Reader::new(
                store,
                cursor.options.no_scroll,
            ))));
        }
        Ok(())
    }

    /// Where a cursor whose query starts now keeps the rows it reads: `work_mem` bytes in
    /// memory, the rest in a spill file of the data directory.
    fn cursor_spill(&self) -> Spill {
        Spill {
            store: Arc::clone(&self.engine.store),
            memory_bytes_max: self.settings.work_mem_bytes(),
        }
    }

    /// The interrupt of the statement now running: its cancel requests and
    /// `statement_timeout`.
    pub(crate) fn statement_interrupt(&self) -> crate::interrupt::Interrupt {
        self.interrupts.start(std::time::Duration::from_millis(
            self.settings.statement_timeout_ms(),
        ))
    }

    /// Starts a cursor's query on a query thread of its own (see the module docs): it waits
    /// for a query slot if it reads tables, gives the slot back while nobody reads it, and
    /// stops when the feed is dropped.
    fn start_feed(&mut self, plan: Plan, statement: &Arc<str>) -> Result<Feed> {
        let mut nodes = Vec::new();
        plan.preorder(&mut nodes);
        let reads_tables = nodes.iter().any(|n| matches!(n, Plan::Scan { .. }));
        let source = InterruptSource::default();
        let interrupt = source.start(std::time::Duration::ZERO);
        let columns = Vec::new();
        let job = QueryJob {
            engine: Arc::clone(&self.engine),
            plan,
            memory_limit_bytes: self.settings.query_memory_limit_bytes(),
            interrupt,
            queue: reads_tables.then(|| (self.user.clone(), Arc::clone(statement))),
            failed: Arc::new(AtomicBool::new(false)),
        };
        let rows = stream::start_with(columns, job, Idle::YieldSlot)?;
        Ok(Feed {
            rows,
            cancel: source.handle(),
            _source: source,
        })
    }

    /// Before the block's COMMIT: WITH HOLD cursors declared in it read the rest of their
    /// rows now (those not run yet run now), while their snapshot's files are certainly there.
    /// An error fails the COMMIT.
    pub(crate) fn hold_cursors(&mut self) -> Result<()> {
        let interrupt = self.statement_interrupt();
        let check = || interrupt.check();
        for i in 0..self.cursors.len() {
            let pending = match self.cursors.get_mut(i) {
                Some(c) if c.options.hold && c.in_block => match &mut c.rows {
                    Rows::Pending(plan) => Some(((**plan).clone(), Arc::clone(&c.statement))),
                    _ => None,
                },
                _ => continue,
            };
            if let Some((plan, statement)) = pending {
                self.start_reader(i, plan, &statement)?;
            }
            if let Some(Cursor {
                rows: Rows::Ready(reader),
                ..
            }) = self.cursors.get(i)
            {
                let mut reader = lock(reader);
                while reader.store.pull(&check)? {}
            }
        }
        Ok(())
    }

    /// The block ended: after a commit the WITH HOLD cursors stay (as cursors of no block),
    /// after a rollback only those of earlier blocks do.
    pub(crate) fn cursors_after_block(&mut self, committed: bool) {
        self.cursors.retain(|c| {
            if committed {
                c.options.hold
            } else {
                !c.in_block
            }
        });
        for cursor in &mut self.cursors {
            cursor.in_block = false;
            cursor.level = 0;
        }
    }

    /// ROLLBACK TO the savepoint at `index`: the cursors declared after it are closed.
    pub(crate) fn cursors_after_rollback_to(&mut self, index: usize) {
        self.cursors.retain(|c| !c.in_block || c.level <= index);
    }

    /// RELEASE of the savepoint at `index`: its cursors now belong to the one before.
    pub(crate) fn cursors_after_release(&mut self, index: usize) {
        for cursor in &mut self.cursors {
            cursor.level = cursor.level.min(index);
        }
    }
}
