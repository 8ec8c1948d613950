//! Basalt's SQL engine. (API skeleton; the implementation is being written.)

pub mod error;
pub mod pgtext;

use std::path::Path;
use std::sync::Arc;

use arrow_array::RecordBatch;
pub use basalt_storage::SqlType;
pub use error::{Error, Result};

/// A name and type of one result column.
#[derive(Clone, Debug, PartialEq)]
pub struct ResultColumn {
    pub name: String,
    pub ty: SqlType,
}

/// Rows returned by a query.
#[derive(Clone, Debug)]
pub struct QueryResult {
    pub columns: Vec<ResultColumn>,
    pub batches: Vec<RecordBatch>,
}

impl QueryResult {
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum()
    }
}

/// What one statement produced.
#[derive(Clone, Debug)]
pub enum StatementResult {
    /// A row set (SELECT, VALUES, SHOW ...).
    Query(QueryResult),
    /// A command and its PostgreSQL command tag, e.g. `INSERT 0 3` or `CREATE TABLE`.
    Command { tag: String },
}

/// One parsed statement, ready to describe or execute.
#[derive(Clone, Debug)]
pub struct Statement {
    ast: sqlparser::ast::Statement,
}

impl Statement {
    /// The statement's SQL text, reformatted.
    pub fn sql(&self) -> String {
        self.ast.to_string()
    }
}

/// What a statement will return, known before it runs.
#[derive(Clone, Debug)]
pub struct Description {
    /// Types of the `$n` parameters, in order.
    pub params: Vec<SqlType>,
    /// Result columns; `None` for a statement that returns no rows.
    pub columns: Option<Vec<ResultColumn>>,
}

/// Where a session stands with respect to transaction blocks, as ReadyForQuery reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransactionStatus {
    /// Not in a transaction block (`I`).
    Idle,
    /// In a transaction block (`T`).
    InBlock,
    /// In a transaction block that an error aborted (`E`): only ROLLBACK is accepted.
    Failed,
}

/// An open database: one data directory.
#[derive(Debug)]
pub struct Engine {
    store: Arc<basalt_storage::Store>,
}

impl Engine {
    /// Opens (creating if needed) the data directory `dir`.
    pub fn open(dir: &Path) -> Result<Arc<Engine>> {
        let store = Arc::new(basalt_storage::Store::open(dir)?);
        Ok(Arc::new(Engine { store }))
    }

    /// A new session for `user`.
    pub fn session(self: &Arc<Self>, user: &str) -> Session {
        Session {
            engine: self.clone(),
            user: user.to_string(),
        }
    }
}

/// A connection's state: settings, and later its open transaction.
#[derive(Debug)]
pub struct Session {
    engine: Arc<Engine>,
    user: String,
}

impl Session {
    /// Parses SQL text holding zero or more `;`-separated statements.
    pub fn parse(&self, sql: &str) -> Result<Vec<Statement>> {
        let _ = (&self.engine, &self.user, sql);
        Err(Error::Internal("not built".into()))
    }

    /// Describes a statement without running it.
    pub fn describe(&mut self, stmt: &Statement) -> Result<Description> {
        let _ = stmt;
        Err(Error::Internal("not built".into()))
    }

    /// Runs one statement. `params` are the text values of `$1`, `$2`, ... (NULL as `None`).
    pub fn execute(&mut self, stmt: &Statement, params: &[Option<String>]) -> Result<StatementResult> {
        let _ = (stmt, params);
        Err(Error::Internal("not built".into()))
    }

    /// The session's transaction state, for ReadyForQuery.
    pub fn transaction_status(&self) -> TransactionStatus {
        TransactionStatus::Idle
    }

    /// Parses and runs every statement in `sql`, stopping at the first error.
    pub fn run(&mut self, sql: &str) -> Result<Vec<StatementResult>> {
        let stmts = self.parse(sql)?;
        let mut out = Vec::with_capacity(stmts.len());
        for s in &stmts {
            out.push(self.execute(s, &[])?);
        }
        Ok(out)
    }
}
