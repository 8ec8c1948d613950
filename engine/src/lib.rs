//! Basalt's SQL engine: from SQL text to Arrow batches.
//!
//! The pipeline, in module order:
//! - `parse`: SQL text to sqlparser ASTs (PostgreSQL dialect), syntax errors with positions.
//! - `planner`: the binder resolves names and types (`bind`, `select`, `statement`) into bound
//!   expressions (`expr`) and a plan tree (`plan`); `subquery` decorrelates subqueries into
//!   joins.
//! - `exec`: physical operators that run a plan over Arrow record batches on the rayon pool.
//! - `kernels`: whole-array casts, arithmetic and expression evaluation used by operators.
//! - `types`: SQL values (`Datum`), input functions and implicit-cast rules.
//! - `pgtext`: PostgreSQL's text output format for every type.
//! - `security`: users, groups, passwords and privileges (CREATE USER, GRANT, ...).
//! - `copy`: Redshift's COPY (files into a table) and UNLOAD (a query into files).
//! - `external`: external schemas and tables, read in place from Parquet, text and JSON.
//! - `analyze`: ANALYZE, which gathers the table statistics the planner's estimates use;
//!   `checkpoint`: CHECKPOINT, which writes the write-ahead log's rows to segment files.
//! - `query_log`: STL_QUERY, the log of the queries the engine ran; `sessions`: the open
//!   sessions and what each is doing (`pg_stat_activity`, STV_SESSIONS, STV_RECENTS).
//! - `schemas`: CREATE / DROP SCHEMA, the search path, and each session's temporary schema.
//! - `constraints`: PRIMARY KEY, UNIQUE and FOREIGN KEY constraints (kept, not enforced).
//! - `alter`: ALTER TABLE and COMMENT ON (`comment_function`: COMMENT ON FUNCTION and
//!   AGGREGATE); `rename`: ALTER VIEW / ALTER INDEX ... RENAME TO; `set_schema`: ALTER TABLE /
//!   ALTER VIEW ... SET SCHEMA.
//! - `cursor`: DECLARE, FETCH, MOVE, CLOSE; `savepoint`: SAVEPOINT, RELEASE, ROLLBACK TO and
//!   the end of a transaction block.
//!
//! [`Engine`] opens a data directory; a [`Session`] runs statements with its own transaction
//! state. The server and the benchmark harness both use the engine through this API.

#[cfg(feature = "mimalloc")]
pub mod allocator;
mod alter;
pub mod analyze;
pub mod catalog;
mod checkpoint;
mod comment_function;
pub mod constraints;
pub mod copy;
pub mod cursor;
pub mod error;
mod exec;
pub mod external;
pub mod interrupt;
pub mod kernels;
mod parse;
pub mod pgtext;
pub mod planner;
pub mod query_log;
mod rename;
mod savepoint;
pub mod schemas;
pub mod security;
pub mod sessions;
mod set_schema;
pub mod settings;
pub mod types;
pub mod views;
pub mod wlm;

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray};
pub use basalt_storage::SqlType;
use basalt_storage::{Store, Transaction};
pub use error::{Error, Result};
pub use exec::stream::{Executed, RowStream};
pub use interrupt::CancelHandle;

use crate::planner::bind::Binder;
use crate::planner::statement::BoundStatement;

/// Basalt's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The PostgreSQL version Basalt presents to clients (so drivers use modern catalog queries).
pub const PG_VERSION: &str = "15.0";

/// `server_version` as clients see it: [`PG_VERSION`] with Basalt's name and version, in the
/// style of distribution builds such as `15.4 (Debian 15.4-1)`, which every driver parses.
pub const SERVER_VERSION: &str = concat!("15.0 (Basalt ", env!("CARGO_PKG_VERSION"), ")");

/// [`PG_VERSION`] as `server_version_num` shows it.
pub const PG_VERSION_NUM: &str = "150000";

/// What `SELECT version()` returns.
pub fn version_string() -> String {
    format!(
        "PostgreSQL {PG_VERSION} on {}-{}, compiled by rustc, 64-bit, Basalt {VERSION}",
        std::env::consts::ARCH,
        std::env::consts::OS
    )
}

/// A name and type of one result column.
#[derive(Clone, Debug, PartialEq)]
pub struct ResultColumn {
    pub name: String,
    pub ty: SqlType,
    /// The table column this result column shows unchanged, if it is one.
    pub origin: Option<ColumnOrigin>,
}

impl ResultColumn {
    /// A computed column: one that no table column stands behind.
    pub fn computed(name: impl Into<String>, ty: SqlType) -> ResultColumn {
        ResultColumn {
            name: name.into(),
            ty,
            origin: None,
        }
    }
}

/// A table column as PostgreSQL's RowDescription names it: the table's `pg_class` OID and the
/// column's `attnum` (from 1). Drivers read it for `ResultSetMetaData.getTableName`,
/// `isNullable` and the like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ColumnOrigin {
    pub table: u32,
    pub column: i16,
}

impl ColumnOrigin {
    /// Column `index` (from 0) of table `id`, if both fit PostgreSQL's OID and attnum types.
    pub fn of_table(id: u64, index: usize) -> Option<ColumnOrigin> {
        Some(ColumnOrigin {
            table: u32::try_from(id).ok()?,
            column: i16::try_from(index + 1).ok()?,
        })
    }
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
    /// A row set (SELECT, VALUES, EXPLAIN ...).
    Query(QueryResult),
    /// A command and its PostgreSQL command tag, e.g. `INSERT 0 3` or `CREATE TABLE`.
    Command { tag: String },
}

/// One parsed statement, ready to describe or execute.
#[derive(Clone, Debug)]
pub struct Statement {
    ast: sqlparser::ast::Statement,
    /// A Redshift COPY from files or UNLOAD, which `ast` does not describe (it is then an
    /// empty statement placeholder, never executed).
    transfer: Option<Arc<copy::options::Transfer>>,
    /// Redshift's CREATE TABLE attributes, which the parser does not see (see `parse`).
    attributes: Option<Arc<parse::TableAttributes>>,
    /// A role or privilege statement, which `ast` does not describe (it is then an empty
    /// statement placeholder, never executed).
    security: Option<Arc<security::Command>>,
    /// A FETCH or MOVE, which `ast` does not describe (it is then an empty statement
    /// placeholder, never executed).
    fetch: Option<Arc<cursor::parse::FetchCommand>>,
    /// The whole text it was parsed from, for error positions.
    text: Arc<str>,
}

impl Statement {
    /// The statement's SQL text, reformatted.
    pub fn sql(&self) -> String {
        if !self.is_plain() {
            return self.text.trim().to_string();
        }
        self.ast.to_string()
    }

    /// Whether `ast` is the statement itself (not a placeholder for one read apart).
    fn is_plain(&self) -> bool {
        self.transfer.is_none() && self.security.is_none() && self.fetch.is_none()
    }

    /// The command tag's word for the rows this statement returns, if it returns rows:
    /// `FETCH` for a FETCH (`FETCH n`), `SELECT` for everything else (`SELECT n`).
    pub fn row_tag(&self) -> &'static str {
        match &self.fetch {
            Some(_) => "FETCH",
            None => "SELECT",
        }
    }

    /// `Some(true)` for `COPY ... FROM STDIN` without its data in the statement text (the
    /// client sends it through the copy protocol), `Some(false)` for `COPY ... TO STDOUT`,
    /// `None` for any other statement.
    pub fn copy_direction(&self) -> Option<bool> {
        use sqlparser::ast::{CopyTarget, Statement as S};
        match &self.ast {
            S::Copy {
                to: false,
                target: CopyTarget::Stdin,
                payload: None,
                ..
            } if self.transfer.is_none() => Some(true),
            S::Copy {
                to: true,
                target: CopyTarget::Stdout,
                ..
            } if self.transfer.is_none() => Some(false),
            _ => None,
        }
    }

    /// For `DEALLOCATE [PREPARE] name | ALL`: `Some(None)` for ALL, `Some(Some(name))` for
    /// one statement; `None` for any other statement. Prepared statements live in the
    /// protocol layer, which acts on these before the engine sees them.
    pub fn deallocates(&self) -> Option<Option<String>> {
        match &self.ast {
            sqlparser::ast::Statement::Deallocate { name, .. } => {
                if name.quote_style.is_none() && name.value.eq_ignore_ascii_case("all") {
                    Some(None)
                } else {
                    Some(Some(planner::bind::normalize_ident(name)))
                }
            }
            _ => None,
        }
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
    store: Arc<Store>,
    /// The query slots statements wait for (workload management).
    queue: wlm::Queue,
    /// Where COPY and UNLOAD find files; relative paths start at the data directory.
    files: Arc<dyn copy::files::FileStore>,
    /// STL_LOAD_ERRORS.
    load_errors: Arc<copy::load_errors::LoadErrorLog>,
    /// STL_QUERY, and the engine's query and transaction ids.
    queries: Arc<query_log::QueryLog>,
    /// The open sessions, for `pg_stat_activity`.
    sessions: Arc<sessions::Sessions>,
    /// Each session's starting `query_memory_limit`, as SHOW prints it.
    query_memory_limit: String,
    /// The number of the next session's temporary schema (`pg_temp_N`).
    next_temp_schema: std::sync::atomic::AtomicU64,
}

/// How an [`Engine`] runs.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Most statements executing at once; the rest wait in a queue. Redshift's default queue
    /// has five slots, and so does Basalt's.
    pub max_concurrent_queries: usize,
    /// Each session's starting `query_memory_limit` in bytes (0: none); `None` is half the
    /// machine's memory.
    pub query_memory_limit: Option<u64>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            max_concurrent_queries: 5,
            query_memory_limit: None,
        }
    }
}

impl Engine {
    /// Opens (creating if needed) the data directory `dir` with the default options.
    pub fn open(dir: &Path) -> Result<Arc<Engine>> {
        Self::open_with(dir, EngineOptions::default())
    }

    /// Opens (creating if needed) the data directory `dir`.
    pub fn open_with(dir: &Path, options: EngineOptions) -> Result<Arc<Engine>> {
        let store = Arc::new(Store::open(dir)?);
        // No session lives yet, so every temporary table is a crash's leftover.
        schemas::drop_temporary(&store, None)?;
        let root = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        Ok(Arc::new(Engine {
            store,
            queue: wlm::Queue::new(options.max_concurrent_queries),
            files: Arc::new(copy::files::LocalFiles::new(&root)),
            load_errors: Arc::default(),
            queries: Arc::default(),
            sessions: Arc::default(),
            query_memory_limit: exec::memory::format_bytes(
                options
                    .query_memory_limit
                    .unwrap_or_else(exec::memory::default_limit),
            ),
            next_temp_schema: std::sync::atomic::AtomicU64::new(1),
        }))
    }

    /// How many statements run and wait for a slot now.
    pub fn queue_state(&self) -> wlm::QueueState {
        self.queue.state()
    }

    /// A new session for `user`: a catalog role, or the bootstrap superuser. (The server opens
    /// sessions only for authenticated roles; an embedding program that names no catalog role
    /// runs as the bootstrap superuser under the name it gave.)
    pub fn session(self: &Arc<Self>, user: &str) -> Session {
        let security = &self.store.snapshot().security;
        let oid = security::role_oid(security, user)
            .unwrap_or(basalt_storage::security::BOOTSTRAP_ROLE_OID);
        let superuser = security::Actor::of(security, oid).superuser;
        let mut settings = settings::Settings::new(user);
        settings.set_session_user(user, superuser);
        settings.set_query_memory_limit(&self.query_memory_limit);
        Session {
            activity: self.sessions.register(user, oid),
            engine: self.clone(),
            user: user.to_string(),
            login_oid: oid,
            session_oid: oid,
            role_oid: oid,
            role_setting: "none".to_owned(),
            backend_pid: 0,
            txn: None,
            failed: false,
            savepoints: Vec::new(),
            cursors: Vec::new(),
            settings,
            interrupts: interrupt::InterruptSource::default(),
            statement_text: Arc::from(""),
            query: None,
            last_query_id: -1,
            block_xid: None,
            temp_schema: format!(
                "{}{}",
                basalt_storage::objects::TEMP_SCHEMA_PREFIX,
                self.next_temp_schema
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            ),
            stream_wanted: false,
            streamed: None,
            stream_failed: Arc::default(),
            statement_start: 0,
            block_start: None,
        }
    }

    /// How catalog role `user` logs in; `None` if there is no such catalog role (the bootstrap
    /// superuser is the server's business).
    pub fn login(&self, user: &str) -> Option<security::Login> {
        security::login(&self.store.snapshot().security, user)
    }
}

/// A connection's state: its user and its open transaction block, if any.
#[derive(Debug)]
pub struct Session {
    engine: Arc<Engine>,
    user: String,
    /// The role the session logged in as.
    login_oid: u32,
    /// The session user: the login role, or the one SET SESSION AUTHORIZATION chose.
    session_oid: u32,
    /// The current user, whose privileges every statement is checked against: the session
    /// user, or the role SET ROLE chose (the `role` setting, resolved after each statement
    /// since a ROLLBACK can undo it).
    role_oid: u32,
    /// The `role` setting `role_oid` was resolved from.
    role_setting: String,
    /// The process id the server reported for the connection (`pg_backend_pid()`).
    backend_pid: i32,
    /// What `pg_stat_activity` shows of the session.
    activity: sessions::Entry,
    /// The explicit transaction block (BEGIN ... COMMIT), if one is open.
    txn: Option<Transaction>,
    /// Set when a statement fails inside a block: only ROLLBACK (or COMMIT, or ROLLBACK TO a
    /// savepoint) is accepted.
    failed: bool,
    /// The open savepoints of the block, oldest first.
    savepoints: Vec<savepoint::Mark>,
    /// The open cursors, in the order they were declared.
    cursors: Vec<cursor::Cursor>,
    /// SET / SHOW / RESET configuration parameters.
    settings: settings::Settings,
    /// Cancel requests and `statement_timeout` for the running statement.
    interrupts: interrupt::InterruptSource,
    /// The text of the statement running (the whole query string it came in).
    statement_text: Arc<str>,
    /// The logged query running now (see [`query_log`]).
    query: Option<query_log::Running>,
    /// The id of the last logged query that ended (`pg_last_query_id()`), or -1.
    last_query_id: i64,
    /// The transaction id of the open block, once a logged query gave it one.
    block_xid: Option<i64>,
    /// This session's temporary schema (`pg_temp_N`), which holds its temporary tables.
    temp_schema: String,
    /// Set by [`Session::execute_streaming`]: a query's rows are to stream (into `streamed`)
    /// rather than be collected.
    stream_wanted: bool,
    streamed: Option<RowStream>,
    /// Set when a streamed query fails after its stream was handed out; the transaction
    /// block, if one is open, then fails as it does for a failed statement.
    stream_failed: Arc<std::sync::atomic::AtomicBool>,
    /// When the running statement started (µs since 1970, UTC): statement_timestamp().
    statement_start: i64,
    /// When the open transaction block started (its BEGIN): now() inside it.
    block_start: Option<i64>,
}

impl Drop for Session {
    /// Drops the session's temporary tables; a failure leaves them to the next start.
    fn drop(&mut self) {
        // An open block rolls back first, so its temporary tables were never committed.
        self.txn = None;
        if let Err(e) = schemas::drop_temporary(&self.engine.store, Some(&self.temp_schema)) {
            eprintln!(
                "basalt: dropping the temporary tables of {}: {e}",
                self.temp_schema
            );
        }
    }
}

impl Session {
    /// The user this session runs as.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// Records the process id the server gave the connection, for `pg_backend_pid()`.
    pub fn set_backend_pid(&mut self, pid: i32) {
        self.backend_pid = pid;
        // The server gives the pid after the startup parameters.
        let application_name = self.application_name();
        self.activity.update(|a| {
            a.pid = pid;
            a.application_name = application_name;
        });
    }

    fn application_name(&self) -> String {
        self.settings
            .get("application_name")
            .unwrap_or_default()
            .to_owned()
    }

    /// Who the session is now, against the catalog of `manifest`.
    fn session_info(&self, manifest: &basalt_storage::Manifest) -> security::SessionInfo {
        security::SessionInfo {
            actor: security::Actor::of(&manifest.security, self.role_oid),
            backend_pid: self.backend_pid,
            cursors: self.cursor_catalog_rows(),
            settings: self.settings.catalog_rows(),
            path: self.search_path(manifest),
            queries: Arc::clone(&self.engine.queries),
            sessions: Arc::clone(&self.engine.sessions),
            last_query_id: self.last_query_id,
        }
    }

    /// Where the session's unqualified names resolve against `manifest`.
    fn search_path(&self, manifest: &basalt_storage::Manifest) -> schemas::SearchPath {
        // `$user` is the current user, the role SET ROLE chose if any (as in PostgreSQL).
        let user = match self.settings.get("role") {
            Some(role) if role != "none" => role,
            _ => &self.user,
        };
        schemas::SearchPath::new(
            manifest,
            self.settings.get("search_path").unwrap_or("public"),
            user,
            &self.temp_schema,
        )
    }

    /// A handle that cancels the statement this session is running (`57014`), callable from
    /// any thread while the session itself is busy.
    pub fn cancel_handle(&self) -> CancelHandle {
        self.interrupts.handle()
    }

    /// Gives `binder` the statement's and the transaction's start, so now() is fixed for a
    /// transaction block and statement_timestamp() for a statement.
    fn set_clock(&self, binder: &Binder) {
        let statement = if self.statement_start == 0 {
            chrono::Utc::now().timestamp_micros()
        } else {
            self.statement_start
        };
        let _ = binder.statement_now.set(statement);
        let _ = binder.now.set(self.block_start.unwrap_or(statement));
    }

    /// The session's configuration parameters.
    pub fn settings(&self) -> &settings::Settings {
        &self.settings
    }

    /// The session's configuration parameters, for startup values and ParameterStatus
    /// reports.
    pub fn settings_mut(&mut self) -> &mut settings::Settings {
        &mut self.settings
    }

    /// Parses SQL text holding zero or more `;`-separated statements. A syntax error inside a
    /// transaction block aborts the block, as in PostgreSQL.
    pub fn parse(&mut self, sql: &str) -> Result<Vec<Statement>> {
        let text: Arc<str> = Arc::from(sql);
        let parsed = parse::parse_all(sql);
        if parsed.is_err() && self.txn.is_some() {
            self.failed = true;
        }
        Ok(parsed?
            .into_iter()
            .map(|p| match p {
                parse::Parsed::Sql(ast, attributes) => Statement {
                    ast: *ast,
                    transfer: None,
                    attributes: attributes.map(|a| Arc::new(*a)),
                    security: None,
                    fetch: None,
                    text: text.clone(),
                },
                parse::Parsed::Transfer(t) => Statement {
                    ast: sqlparser::ast::Statement::Commit {
                        chain: false,
                        end: false,
                        modifier: None,
                    },
                    transfer: Some(Arc::from(t)),
                    attributes: None,
                    security: None,
                    fetch: None,
                    text: text.clone(),
                },
                parse::Parsed::Security(c) => Statement {
                    ast: sqlparser::ast::Statement::Commit {
                        chain: false,
                        end: false,
                        modifier: None,
                    },
                    transfer: None,
                    attributes: None,
                    security: Some(Arc::from(c)),
                    fetch: None,
                    text: text.clone(),
                },
                parse::Parsed::Fetch(f) => Statement {
                    ast: sqlparser::ast::Statement::Commit {
                        chain: false,
                        end: false,
                        modifier: None,
                    },
                    transfer: None,
                    attributes: None,
                    security: None,
                    fetch: Some(Arc::from(f)),
                    text: text.clone(),
                },
            })
            .collect())
    }

    /// Describes a statement without running it.
    pub fn describe(&mut self, stmt: &Statement) -> Result<Description> {
        if let Some(description) = self.describe_cursor_statement(stmt) {
            return Ok(description);
        }
        if matches!(
            stmt.ast,
            sqlparser::ast::Statement::Savepoint { .. }
                | sqlparser::ast::Statement::ReleaseSavepoint { .. }
                | sqlparser::ast::Statement::Rollback {
                    savepoint: Some(_),
                    ..
                }
        ) && stmt.is_plain()
        {
            return Ok(Description {
                params: Vec::new(),
                columns: None,
            });
        }
        if stmt.transfer.is_some() || stmt.security.is_some() {
            let verbose_analyze = matches!(stmt.transfer.as_deref(),
                Some(copy::options::Transfer::Analyze(a)) if a.verbose);
            return Ok(Description {
                params: Vec::new(),
                columns: verbose_analyze.then(|| text_columns(&["INFO"])),
            });
        }
        // COPY FROM STDIN and TO STDOUT send no RowDescription (their data travels in the
        // copy sub-protocol); as in PostgreSQL, the table is checked only when they run.
        if settings::is_command(&stmt.ast)
            || security::role_statement(&stmt.ast).is_some()
            || stmt.deallocates().is_some()
            || stmt.copy_direction().is_some()
        {
            return Ok(Description {
                params: Vec::new(),
                columns: None,
            });
        }
        if views::is_relation_ddl(&stmt.ast)
            || matches!(stmt.ast, sqlparser::ast::Statement::CreateSchema { .. })
        {
            return Ok(Description {
                params: Vec::new(),
                columns: None,
            });
        }
        if let Some(columns) = settings::show_columns(&stmt.ast) {
            return Ok(Description {
                params: Vec::new(),
                columns: Some(text_columns(&columns?)),
            });
        }
        let manifest = self.current_manifest();
        let info = self.session_info(&manifest);
        let catalog = planner::dml::binding_catalog(&manifest, &stmt.ast, &info.path);
        let mut binder = Binder::new(&catalog, &stmt.text, None);
        self.set_clock(&binder);
        binder.settings = Some(&self.settings);
        binder.session = Some(&info);
        binder.load_errors = Some(&self.engine.load_errors);
        binder.table_attributes = stmt.attributes.as_deref();
        binder.store = Some(&self.engine.store);
        binder.queue = Some(&self.engine.queue);
        binder.files = Some(self.engine.files.clone());
        let bound = match binder.bind_statement(&stmt.ast) {
            Ok(b) => b,
            Err(e) => {
                if self.txn.is_some() {
                    self.failed = true;
                }
                return Err(e);
            }
        };
        let columns = match &bound {
            BoundStatement::Query(q) => Some(q.columns.clone()),
            BoundStatement::Explain(_) | BoundStatement::ExplainAnalyze(_) => {
                Some(vec![explain_column()])
            }
            _ => None,
        };
        Ok(Description {
            params: binder.param_types(),
            columns,
        })
    }

    /// The session's transaction state, for ReadyForQuery.
    pub fn transaction_status(&self) -> TransactionStatus {
        let failed = self.failed
            || self
                .stream_failed
                .load(std::sync::atomic::Ordering::Relaxed);
        match (&self.txn, failed) {
            (None, _) => TransactionStatus::Idle,
            (Some(_), false) => TransactionStatus::InBlock,
            (Some(_), true) => TransactionStatus::Failed,
        }
    }

    /// Runs one statement. `params` are the text values of `$1`, `$2`, ... (NULL as `None`).
    pub fn execute(
        &mut self,
        stmt: &Statement,
        params: &[Option<String>],
    ) -> Result<StatementResult> {
        let start = query_log::now_micros();
        let application_name = self.application_name();
        self.activity.update(|a| {
            a.state = "active";
            a.query = sessions::shown_text(&stmt.text).to_owned();
            a.query_start = Some(start);
            a.state_change = start;
            a.application_name = application_name;
        });
        let result = self.execute_statement(stmt, params);
        self.sync_role();
        let state = match self.transaction_status() {
            TransactionStatus::Idle => "idle",
            TransactionStatus::InBlock => "idle in transaction",
            TransactionStatus::Failed => "idle in transaction (aborted)",
        };
        let xact_start = self.block_start;
        let application_name = self.application_name();
        self.activity.update(|a| {
            a.state = state;
            a.xact_start = xact_start;
            a.state_change = query_log::now_micros();
            a.application_name = application_name;
        });
        result
    }

    fn execute_statement(
        &mut self,
        stmt: &Statement,
        params: &[Option<String>],
    ) -> Result<StatementResult> {
        use sqlparser::ast::Statement as S;
        let streamed_failure = self
            .stream_failed
            .swap(false, std::sync::atomic::Ordering::Relaxed);
        if streamed_failure && self.txn.is_some() {
            self.failed = true;
        }
        if self.failed {
            return match &stmt.ast {
                S::Rollback {
                    chain: false,
                    savepoint: Some(name),
                } if stmt.is_plain() => self.rollback_to(&planner::bind::normalize_ident(name)),
                S::Rollback { .. } | S::Commit { .. } if stmt.is_plain() => {
                    self.end_block(false)?;
                    Ok(command("ROLLBACK"))
                }
                _ => Err(Error::InFailedTransaction),
            };
        }
        self.statement_text = Arc::clone(&stmt.text);
        self.statement_start = chrono::Utc::now().timestamp_micros();
        self.query = query_log::logged_kind(stmt).map(|always| query_log::Running {
            id: self.engine.queries.next_query(),
            start: query_log::now_micros(),
            logged: always,
        });
        // The statistics the block's ANALYZE gathered are in force for this statement's
        // planning and catalogs, and for no other session's.
        let _statistics = self.txn.as_ref().map(Transaction::statistics_scope);
        let result = self.execute_inner(stmt, params);
        if result.is_err() && self.txn.is_some() {
            self.failed = true;
        }
        self.end_query(result.is_err());
        result
    }

    /// Logs the statement that just ended in STL_QUERY, if it is one that is logged.
    fn end_query(&mut self, aborted: bool) {
        let in_block = self.txn.is_some();
        if let Some(query) = self.query.take().filter(|q| q.logged) {
            let xid = match (in_block, self.block_xid) {
                (true, Some(xid)) => xid,
                (true, None) => *self.block_xid.insert(self.engine.queries.next_xid()),
                (false, _) => self.engine.queries.next_xid(),
            };
            let label = match self.settings.get("query_group") {
                Some(group) if !group.is_empty() => group.to_owned(),
                _ => "default".to_owned(),
            };
            let row = query_log::QueryRow {
                userid: self.role_oid,
                query: query.id,
                label,
                xid,
                pid: self.backend_pid,
                database: catalog::DATABASE.to_owned(),
                querytxt: self.statement_text.trim().to_owned(),
                starttime: query.start,
                endtime: query_log::now_micros(),
                aborted,
            };
            // A streamed query is logged when its stream ends, with how it ended.
            match self.streamed.as_mut() {
                Some(stream) => stream.log_on_end(Arc::clone(&self.engine.queries), row),
                None => self.engine.queries.record(row),
            }
            self.last_query_id = query.id;
        }
        if !in_block {
            self.block_xid = None;
        }
    }

    /// Runs one statement as [`Session::execute`] does, except that a query's rows stream:
    /// the query runs on a thread of its own, batches arrive through the returned stream as
    /// its plan yields them, and an error after the first rows ends the stream.
    pub fn execute_streaming(
        &mut self,
        stmt: &Statement,
        params: &[Option<String>],
    ) -> Result<Executed> {
        self.stream_wanted = true;
        let result = self.execute(stmt, params);
        self.stream_wanted = false;
        let streamed = self.streamed.take();
        Ok(match (result?, streamed) {
            (_, Some(rows)) => Executed::Rows(rows),
            (done, None) => Executed::Done(done),
        })
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

    /// Appends Arrow batches to table `name` in schema `public`, in the session's transaction
    /// block or in a transaction of its own. This is the embedded bulk-load path: the batches
    /// must have exactly the table's columns, in order, with the table's Arrow types.
    pub fn append_batches(&mut self, name: &str, batches: &[RecordBatch]) -> Result<u64> {
        self.append_to("public", name, batches)
    }

    /// Appends batches of exactly the table's columns, checking types and NOT NULL and fitting
    /// CHAR(n) / VARCHAR(n) values as an INSERT would, in one commit.
    fn append_to(&mut self, schema: &str, name: &str, batches: &[RecordBatch]) -> Result<u64> {
        if self.failed {
            return Err(Error::InFailedTransaction);
        }
        let manifest = self.current_manifest();
        let table = manifest
            .table(schema, name)
            .ok_or_else(|| Error::UndefinedTable {
                name: name.to_string(),
                position: None,
            })?;
        let fitted = fit_batches(&table.def, name, batches)?;
        let rows: usize = fitted.iter().map(|b| b.num_rows()).sum();
        if rows > 0 {
            self.write(|t| t.append(schema, name, &fitted).map_err(storage_error))?;
        }
        Ok(rows as u64)
    }

    /// `COPY table FROM 'location'`: reads the files, then appends every row in one commit,
    /// or nothing when more rows fail than MAXERROR allows. Rejected rows go to
    /// STL_LOAD_ERRORS either way.
    fn copy_from_files(&mut self, stmt: &copy::options::CopyStatement) -> Result<StatementResult> {
        let manifest = self.current_manifest();
        let schema =
            self.search_path(&manifest)
                .resolve(&manifest, stmt.schema.as_deref(), &stmt.table);
        if manifest.external.table(&schema, &stmt.table).is_some() {
            return Err(Error::WrongObjectType {
                message: format!(
                    "cannot copy into external table \"{schema}.{}\"",
                    stmt.table
                ),
                position: None,
            });
        }
        let table = manifest
            .table(&schema, &stmt.table)
            .ok_or_else(|| Error::UndefinedTable {
                name: stmt.table.clone(),
                position: None,
            })?;
        let actor = security::Actor::of(&manifest.security, self.role_oid);
        security::check_table(&manifest, &actor, table, 'a')?;
        let plan = copy::LoadPlan::new(stmt, &table.def)?;
        let was_empty = table.live_rows() == 0;
        let (query, start) = match &self.query {
            Some(q) => (q.id, q.start),
            None => (self.engine.queries.next_query(), query_log::now_micros()),
        };
        let table_id = table.id as i64;
        let log = |rejects: &[copy::Reject]| {
            if !rejects.is_empty() {
                self.engine
                    .load_errors
                    .record(copy::reject_rows(query, table_id, start, rejects));
            }
        };
        let interrupt = self.statement_interrupt();
        // A load is as heavy as a query: it waits for a query slot.
        let engine = self.engine.clone();
        let _slot = engine
            .queue
            .acquire(&interrupt, &self.user, &self.statement_text)?;
        if self.failed {
            return Err(Error::InFailedTransaction);
        }
        // The rows go to the block's transaction (a savepoint undoes them if the load fails)
        // or to one of the load's own, a segment's worth at a time as they are read; a table
        // with a sort key gets them a sorted run at a time.
        let def = table.def.clone();
        let mut own = match self.txn {
            Some(_) => None,
            None => Some(self.engine.store.begin()),
        };
        // A load that will be analyzed (STATUPDATE) gathers its statistics as it writes.
        let analyze = own.is_some() && stmt.options.stat_update.unwrap_or(was_empty);
        let txn = match (own.as_mut(), self.txn.as_mut()) {
            (Some(t), _) | (None, Some(t)) => t,
            (None, None) => return Err(Error::Internal("COPY without a transaction".into())),
        };
        let mark = txn.savepoint();
        if analyze {
            txn.gather_statistics(table.id);
        }
        let files = self.engine.files.clone();
        let outcome = copy_overlapped(txn, &def, &schema, |sink| {
            copy::load(files.as_ref(), stmt, &plan, &interrupt, sink)
        });
        let gathered = match own.as_mut() {
            Some(t) => t.take_gathered_statistics(table.id),
            None => Default::default(),
        };
        match outcome {
            Ok(loaded) => {
                if let Some(t) = own {
                    t.commit().map_err(storage_error)?;
                }
                log(&loaded.rejects);
                drop(_slot);
                if analyze {
                    self.analyze_after_copy(&schema, &stmt.table, &gathered)?;
                }
                Ok(command(&format!("COPY {}", loaded.rows)))
            }
            Err((error, rejects)) => {
                // An own transaction's segment files go when it is dropped unfinished.
                drop(own);
                if let Some(t) = self.txn.as_mut() {
                    t.rollback_to(&mark);
                }
                log(&rejects);
                Err(error)
            }
        }
    }

    /// ANALYZE: gathers and stores the statistics of the tables it names (or of every table
    /// the session's role owns), as the session sees them. Inside a block they describe the
    /// block's view and are the block's: written by its commit, discarded by its rollback.
    fn analyze(&mut self, stmt: &analyze::AnalyzeStatement) -> Result<StatementResult> {
        let manifest = self.current_manifest();
        let actor = security::Actor::of(&manifest.security, self.role_oid);
        let path = self.search_path(&manifest);
        let targets = analyze::resolve(stmt, &manifest, &actor, &path)?;
        let interrupt = self.statement_interrupt();
        let engine = self.engine.clone();
        let _slot = engine
            .queue
            .acquire(&interrupt, &self.user, &self.statement_text)?;
        let mut info = Vec::new();
        for (table, columns) in &targets {
            let done = analyze::analyze_table(
                &self.engine.store,
                table,
                columns,
                manifest.version,
                &interrupt,
                self.txn.as_mut(),
            )?;
            info.extend(done.info_lines());
        }
        if !stmt.verbose {
            return Ok(command("ANALYZE"));
        }
        let rows = info.len();
        let col: ArrayRef = Arc::new(StringArray::from(info));
        Ok(StatementResult::Query(QueryResult {
            columns: text_columns(&["INFO"]),
            batches: vec![exec::make_batch(vec![col], rows)?],
        }))
    }

    /// COPY's STATUPDATE: analyzes the table after a load that committed on its own, when
    /// STATUPDATE is ON, or by default when the table was empty before (a load inside a
    /// transaction block is not analyzed: its rows may yet roll back). The segments the load
    /// wrote bring the statistics `gathered` as they were written; only the table's other
    /// segments are read.
    fn analyze_after_copy(
        &mut self,
        schema: &str,
        name: &str,
        gathered: &basalt_storage::GatheredStatistics,
    ) -> Result<()> {
        let manifest = self.engine.store.snapshot();
        let Some(table) = manifest.table(schema, name) else {
            return Ok(());
        };
        let columns: Vec<usize> = (0..table.def.columns.len()).collect();
        analyze::analyze_table_gathered(
            &self.engine.store,
            table,
            &columns,
            manifest.version,
            &interrupt::Interrupt::none(),
            None,
            gathered,
        )?;
        Ok(())
    }

    /// External schema and table DDL: the new external catalog is stored in the open
    /// transaction block, or committed at once.
    fn external_ddl(
        &mut self,
        stmt: &external::ddl::ExternalStatement,
        text: &Arc<str>,
    ) -> Result<StatementResult> {
        if let external::ddl::ExternalStatement::DropSchema {
            names,
            if_exists,
            cascade,
        } = stmt
        {
            return self.drop_schemas(names, *if_exists, *cascade, stmt, text);
        }
        let manifest = self.current_manifest();
        let outcome = {
            let binder = Binder::new(&manifest, text, None);
            let bind_type = |t: &sqlparser::ast::DataType| {
                binder.bind_type(t, sqlparser::tokenizer::Span::empty())
            };
            external::catalog::execute(stmt, &manifest, self.engine.files.as_ref(), &bind_type)?
        };
        if let Some(catalog) = outcome.catalog {
            self.write_at(&manifest, |t| {
                t.set_external(catalog).map_err(storage_error)
            })?;
        }
        Ok(command(outcome.tag))
    }

    /// `UNLOAD ('query') TO 'location'`: runs the query and writes its rows to files.
    fn unload(&mut self, stmt: &copy::options::UnloadStatement) -> Result<StatementResult> {
        let inner = parse::parse(&stmt.query)?;
        let [ast] = inner.as_slice() else {
            return Err(Error::InvalidParameter {
                message: "UNLOAD takes exactly one SELECT statement".into(),
            });
        };
        let result = self.run_query(ast, &stmt.query, "UNLOAD")?;
        copy::unload::unload(
            self.engine.files.as_ref(),
            stmt,
            &result.columns,
            &result.batches,
        )?;
        Ok(command("UNLOAD"))
    }

    /// Runs a query that UNLOAD or COPY TO names; anything but one SELECT is an error.
    fn run_query(
        &mut self,
        ast: &sqlparser::ast::Statement,
        text: &str,
        what: &str,
    ) -> Result<QueryResult> {
        let q = self.bind_read_query(ast, text, what)?;
        let store = self.engine.store.clone();
        let interrupt = self.statement_interrupt();
        // UNLOAD and COPY TO run a plan: they wait for a query slot as a SELECT does.
        let engine = self.engine.clone();
        let _slot = engine
            .queue
            .acquire(&interrupt, &self.user, &self.statement_text)?;
        let ctx = exec::ExecContext {
            store: &store,
            memory: &exec::memory::MemoryBudget::new(self.settings.query_memory_limit_bytes()),
            interrupt: &interrupt,
            profile: None,
            key_filters: Default::default(),
        };
        let batches = exec::execute(&q.plan, &ctx)?;
        interrupt.check()?;
        Ok(QueryResult {
            columns: q.columns,
            batches,
        })
    }

    /// Binds the SELECT `ast` of an UNLOAD or COPY TO (`what`) and checks the session may
    /// read what it reads.
    fn bind_read_query(
        &mut self,
        ast: &sqlparser::ast::Statement,
        text: &str,
        what: &str,
    ) -> Result<planner::select::BoundQuery> {
        if !matches!(ast, sqlparser::ast::Statement::Query(_)) {
            return Err(Error::InvalidParameter {
                message: format!("{what} takes exactly one SELECT statement"),
            });
        }
        let text: Arc<str> = Arc::from(text);
        let manifest = self.current_manifest();
        let bound = {
            let info = self.session_info(&manifest);
            let catalog = planner::dml::binding_catalog(&manifest, ast, &info.path);
            let mut binder = Binder::new(&catalog, &text, Some(&[]));
            self.set_clock(&binder);
            binder.settings = Some(&self.settings);
            binder.session = Some(&info);
            binder.load_errors = Some(&self.engine.load_errors);
            binder.files = Some(self.engine.files.clone());
            // `pg_sleep` in the query answers the statement's cancel requests and timeout.
            binder.interrupt_key = self.interrupts.key();
            (binder.bind_statement(ast)?, binder.accesses)
        };
        let (BoundStatement::Query(q), accesses) = bound else {
            return Err(Error::InvalidParameter {
                message: format!("{what} takes exactly one SELECT statement"),
            });
        };
        let actor = security::Actor::of(&manifest.security, self.role_oid);
        security::check_view_reads(&manifest, &actor, &accesses)?;
        security::check_reads(&manifest, &actor, &q.plan, None, &accesses)?;
        Ok(q)
    }

    /// For `COPY table [(columns)] FROM STDIN`: the sink that collects the client's data
    /// (`None` for any other statement). The protocol layer pushes each CopyData message into
    /// it and then calls [`Session::copy_in_finish`].
    pub fn copy_in_start(&mut self, stmt: &Statement) -> Option<Result<copy::postgres::CopyIn>> {
        use sqlparser::ast::{CopySource, CopyTarget, Statement as S};
        let S::Copy {
            source:
                CopySource::Table {
                    table_name,
                    columns,
                },
            to: false,
            target: CopyTarget::Stdin,
            options,
            legacy_options,
            ..
        } = &stmt.ast
        else {
            return None;
        };
        Some((|| {
            if self.failed {
                return Err(Error::InFailedTransaction);
            }
            let format = copy::postgres::pg_format(options, legacy_options)?;
            let parts: Vec<String> = table_name
                .0
                .iter()
                .map(|p| {
                    p.as_ident()
                        .map(planner::bind::normalize_ident)
                        .unwrap_or_default()
                })
                .collect();
            let manifest = self.current_manifest();
            let path = self.search_path(&manifest);
            let (schema, table) = match parts.as_slice() {
                [t] => (path.resolve(&manifest, None, t), t.clone()),
                [s, t] => (path.resolve(&manifest, Some(s), t), t.clone()),
                _ => {
                    return Err(Error::UndefinedTable {
                        name: table_name.to_string(),
                        position: None,
                    })
                }
            };
            let meta = manifest
                .table(&schema, &table)
                .ok_or_else(|| Error::UndefinedTable {
                    name: table.clone(),
                    position: None,
                })?;
            let actor = security::Actor::of(&manifest.security, self.role_oid);
            security::check_table(&manifest, &actor, meta, 'a')?;
            // A binary COPY arrives decoded into text lines (see `CopyIn::binary`), so it
            // loads with the text format's options.
            let request = copy::options::CopyStatement {
                schema: Some(schema.clone()),
                table: table.clone(),
                columns: columns.iter().map(planner::bind::normalize_ident).collect(),
                from: String::new(),
                options: copy::postgres::load_options(&format, self.settings.time_zone()),
            };
            let plan = copy::LoadPlan::new(&request, &meta.def)?;
            let interrupt = self.statement_interrupt();
            let mut copy = copy::postgres::CopyIn::new(schema, plan, format.binary, interrupt);
            copy.run_rows = copy_run_rows(&meta.def);
            // The rows go to the block's transaction (a savepoint undoes them if the load
            // fails) or to one of the load's own, as windows of the data arrive.
            match &self.txn {
                Some(t) => copy.mark = Some(t.savepoint()),
                None => copy.own = Some(self.engine.store.begin()),
            }
            Ok(copy)
        })())
    }

    /// Parses and appends what a COPY FROM STDIN gathered of complete records, when
    /// [`copy::postgres::CopyIn::push`] says a window is full. An error is kept in the copy:
    /// what it loaded is dropped, the rest of the data is ignored, and
    /// [`Session::copy_in_finish`] reports it.
    pub fn copy_in_flush(&mut self, copy: &mut copy::postgres::CopyIn) {
        if copy.error.is_some() {
            return;
        }
        if let Err(e) = self.copy_in_parse(copy, false) {
            self.copy_in_fail(copy, e);
        }
    }

    /// Parses the gathered records (all of them at `eof`) and appends whole runs of rows
    /// (every row at `eof`): to the load's own transaction through its appender thread
    /// (started with the first run), or to the transaction block's here.
    fn copy_in_parse(&mut self, copy: &mut copy::postgres::CopyIn, eof: bool) -> Result<()> {
        copy.parse(eof)?;
        let run_rows = copy.run_rows;
        let mut runs: Vec<Vec<RecordBatch>> = copy.pending.take().into_iter().collect();
        runs.push(copy.held.take(Vec::new(), run_rows));
        if eof {
            runs.push(copy.held.rest());
        }
        runs.retain(|r| !r.is_empty());
        if runs.is_empty() {
            return Ok(());
        }
        let def = copy.plan.table.clone();
        let schema = copy.schema.clone();
        if !eof && copy.appender.is_none() {
            if let Some(txn) = copy.own.take() {
                let (def, schema) = (def.clone(), schema.clone());
                copy.appender = Some(copy::postgres::Appender::start(
                    txn,
                    Box::new(move |txn, run| append_fitted(txn, &def, &schema, run)),
                )?);
            }
        }
        if let Some(appender) = &copy.appender {
            if runs.into_iter().all(|run| appender.hand(run)) {
                return Ok(());
            }
            // The appender stopped at an error, which is the load's.
            if let Some(a) = copy.appender.take() {
                a.finish()?;
            }
            return Err(Error::Internal("COPY's appender stopped".into()));
        }
        let txn = match (copy.own.as_mut(), self.txn.as_mut()) {
            (Some(t), _) | (None, Some(t)) => t,
            (None, None) => return Err(Error::Internal("COPY without a transaction".into())),
        };
        for run in runs {
            append_fitted(txn, &def, &schema, &run)?;
        }
        Ok(())
    }

    /// A COPY FROM STDIN failed: its rows are dropped (its own transaction, or the block
    /// back to the savepoint taken before it) and the error kept for its end.
    fn copy_in_fail(&mut self, copy: &mut copy::postgres::CopyIn, e: Error) {
        copy.own = None;
        if let Some(a) = copy.appender.take() {
            // What it appended goes with its transaction.
            drop(a.finish());
        }
        if let (Some(mark), Some(t)) = (copy.mark.take(), self.txn.as_mut()) {
            t.rollback_to(&mark);
        }
        copy.input.buf = Vec::new();
        drop(copy.held.rest());
        copy.pending = None;
        copy.error = Some(e);
    }

    /// Ends a COPY FROM STDIN: parses and appends the rest of its data and commits (its own
    /// transaction; inside a block the rows stay in the block's): `COPY n`. An error at any
    /// point leaves nothing loaded.
    pub fn copy_in_finish(&mut self, mut copy: copy::postgres::CopyIn) -> Result<StatementResult> {
        if self.failed {
            return Err(Error::InFailedTransaction);
        }
        if let Some(e) = copy.error.take() {
            // A row `CopyIn::push` refused: drop what the load appended.
            self.copy_in_fail(&mut copy, e);
        } else {
            let done = self.copy_in_parse(&mut copy, true).and_then(|()| {
                let own = match copy.appender.take() {
                    Some(a) => Some(a.finish()?),
                    None => copy.own.take(),
                };
                match own {
                    Some(t) => t.commit().map(drop).map_err(storage_error),
                    None => Ok(()),
                }
            });
            if let Err(e) = done {
                self.copy_in_fail(&mut copy, e);
            }
        }
        match copy.error.take() {
            None => Ok(command(&format!("COPY {}", copy.rows))),
            Some(e) => {
                if self.txn.is_some() {
                    self.failed = true;
                }
                Err(e)
            }
        }
    }

    /// Ends a COPY FROM STDIN that failed before its data was loaded (the client's
    /// CopyFail, or data the protocol layer could not decode): nothing is loaded, and inside
    /// a transaction block the transaction fails, as any error fails it.
    pub fn copy_in_abort(&mut self, mut copy: copy::postgres::CopyIn) {
        // An error `CopyIn::push` kept has not dropped the load's rows yet.
        let e = copy.error.take().unwrap_or(Error::Cancelled);
        self.copy_in_fail(&mut copy, e);
        drop(copy);
        if self.txn.is_some() {
            self.failed = true;
        }
    }

    /// For `COPY {table [(columns)] | (query)} TO STDOUT`: the rows, encoded as the client
    /// asked (`None` for any other statement). The protocol layer sends them as CopyData.
    pub fn copy_out(&mut self, stmt: &Statement) -> Option<Result<copy::postgres::CopyOut>> {
        self.statement_text = Arc::clone(&stmt.text);
        use sqlparser::ast::{CopySource, CopyTarget, Statement as S};
        let S::Copy {
            source,
            to: true,
            target: CopyTarget::Stdout,
            options,
            legacy_options,
            ..
        } = &stmt.ast
        else {
            return None;
        };
        Some((|| {
            if self.failed {
                return Err(Error::InFailedTransaction);
            }
            let format = copy::postgres::pg_format(options, legacy_options)?;
            let (ast, text) = match source {
                CopySource::Query(q) => {
                    let ast = sqlparser::ast::Statement::Query(q.clone());
                    let text = ast.to_string();
                    (ast, text)
                }
                CopySource::Table {
                    table_name,
                    columns,
                } => {
                    let list = if columns.is_empty() {
                        "*".to_string()
                    } else {
                        columns
                            .iter()
                            .map(|c| c.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    let text = format!("SELECT {list} FROM {table_name}");
                    let mut parsed = parse::parse(&text)?;
                    let ast = parsed.pop().ok_or_else(|| {
                        Error::Internal("COPY TO: no statement for the table".into())
                    })?;
                    (ast, text)
                }
            };
            let q = self.bind_read_query(&ast, &text, "COPY")?;
            // The rows stream from a query thread of their own, as a SELECT's do; it waits
            // for a query slot and holds it until the COPY ends.
            let interrupt = self.statement_interrupt();
            let job = exec::stream::QueryJob {
                engine: self.engine.clone(),
                plan: q.plan,
                memory_limit_bytes: self.settings.query_memory_limit_bytes(),
                interrupt,
                queue: Some((self.user.clone(), Arc::clone(&self.statement_text))),
                failed: Arc::clone(&self.stream_failed),
            };
            let rows = exec::stream::start(q.columns.clone(), job)?;
            Ok(copy::postgres::CopyOut::new(
                rows,
                format,
                self.settings.time_zone(),
            ))
        })())
    }

    /// PostgreSQL's COPY forms run through `execute`: FROM STDIN with its data in the statement
    /// text (as a dump writes it); anything that needs the copy sub-protocol of the client is
    /// refused here, the protocol layer drives `copy_in_start` and `copy_out` instead.
    fn copy_stdio(&mut self, stmt: &Statement) -> Result<StatementResult> {
        use sqlparser::ast::Statement as S;
        let payload = match &stmt.ast {
            S::Copy { payload, .. } => payload.clone(),
            _ => None,
        };
        if let Some(start) = self.copy_in_start(stmt) {
            let mut sink = start?;
            return match payload {
                Some(_) if sink.binary() => Err(Error::Unsupported {
                    message: "COPY FROM STDIN in binary format needs the copy protocol".into(),
                }),
                Some(p) => {
                    sink.push(p.data.as_bytes());
                    self.copy_in_finish(sink)
                }
                None => Err(Error::Unsupported {
                    message: "COPY FROM STDIN needs the copy protocol, which this connection does not offer".into(),
                }),
            };
        }
        if let Some(out) = self.copy_out(stmt) {
            out?;
            return Err(Error::Unsupported {
                message:
                    "COPY TO STDOUT needs the copy protocol, which this connection does not offer"
                        .into(),
            });
        }
        Err(Error::Unsupported {
            message:
                "COPY to or from a server file is written COPY table FROM 'path' (Redshift's form)"
                    .into(),
        })
    }

    fn current_manifest(&self) -> Arc<basalt_storage::Manifest> {
        match &self.txn {
            Some(t) => Arc::new(t.snapshot().clone()),
            None => self.engine.store.snapshot(),
        }
    }

    fn execute_inner(
        &mut self,
        stmt: &Statement,
        params: &[Option<String>],
    ) -> Result<StatementResult> {
        if let Some(command) = stmt.security.clone() {
            return self.execute_security(&command);
        }
        if let Some(t) = stmt.transfer.clone() {
            return match t.as_ref() {
                copy::options::Transfer::Copy(c) => self.copy_from_files(c),
                copy::options::Transfer::Unload(u) => self.unload(u),
                copy::options::Transfer::External(e) => self.external_ddl(e, &stmt.text),
                copy::options::Transfer::Analyze(a) => self.analyze(a),
                copy::options::Transfer::CommentOnConstraint(c) => {
                    self.comment_on_constraint(c, &stmt.text)
                }
                copy::options::Transfer::SetSchema(s) => self.alter_table_set_schema(s, &stmt.text),
                copy::options::Transfer::CommentOnFunction(c) => {
                    self.comment_on_function(c, &stmt.text)
                }
                copy::options::Transfer::Checkpoint => {
                    let manifest = self.current_manifest();
                    let superuser =
                        security::Actor::of(&manifest.security, self.role_oid).superuser;
                    checkpoint::run(&self.engine.store, superuser)?;
                    Ok(command("CHECKPOINT"))
                }
            };
        }
        if let Some(result) = self.cursor_statement(stmt) {
            return result;
        }
        if let Some(result) = self.savepoint_statement(stmt) {
            return result;
        }
        if copy::postgres::is_stdio(&stmt.ast) {
            return self.copy_stdio(stmt);
        }
        if let Some((target, local)) = security::role_statement(&stmt.ast) {
            return self.set_role(target, local, &stmt.ast);
        }
        if let Some(outcome) = settings::execute(&mut self.settings, &stmt.ast, self.txn.is_some())
        {
            return settings_result(&stmt.ast, outcome?);
        }
        // The engine itself holds no prepared statements (the protocol layer does).
        match stmt.deallocates() {
            Some(None) => return Ok(command("DEALLOCATE ALL")),
            Some(Some(name)) => return Err(Error::UndefinedPreparedStatement { name }),
            None => {}
        }
        if let Some(result) = self.execute_relation_ddl(stmt) {
            return result;
        }
        if let Some(result) = self.execute_schema_ddl(stmt) {
            return result;
        }
        let manifest = self.current_manifest();
        let (bound, accesses) = {
            let info = self.session_info(&manifest);
            let catalog = planner::dml::binding_catalog(&manifest, &stmt.ast, &info.path);
            let mut binder = Binder::new(&catalog, &stmt.text, Some(params));
            self.set_clock(&binder);
            binder.settings = Some(&self.settings);
            binder.session = Some(&info);
            binder.interrupt_key = self.interrupts.key();
            binder.load_errors = Some(&self.engine.load_errors);
            binder.table_attributes = stmt.attributes.as_deref();
            binder.store = Some(&self.engine.store);
            binder.queue = Some(&self.engine.queue);
            binder.files = Some(self.engine.files.clone());
            let bound = binder.bind_statement(&stmt.ast)?;
            (bound, binder.accesses)
        };
        let bound = self.authorize(bound, &manifest, &stmt.ast, &accesses)?;
        let store = self.engine.store.clone();
        let interrupt = self.statement_interrupt();
        // Statements that run plans over tables wait for a query slot; the rest (settings,
        // DDL, and queries of constants and system views, as Redshift's leader-node queries)
        // never queue.
        let engine = self.engine.clone();
        let reads_tables = |plan: &planner::plan::Plan| {
            let mut nodes = Vec::new();
            plan.preorder(&mut nodes);
            nodes
                .iter()
                .any(|n| matches!(n, planner::plan::Plan::Scan { .. }))
        };
        if let (BoundStatement::Query(q), Some(query)) = (&bound, self.query.as_mut()) {
            query.logged = reads_tables(&q.plan);
        }
        let _slot = match &bound {
            // A streamed query's own thread waits for its slot and holds it.
            BoundStatement::Query(_) if self.stream_wanted => None,
            BoundStatement::Query(q) if !reads_tables(&q.plan) => None,
            BoundStatement::ExplainAnalyze(plan) if !reads_tables(plan) => None,
            BoundStatement::Query(_)
            | BoundStatement::ExplainAnalyze(_)
            | BoundStatement::Insert { .. }
            | BoundStatement::CreateTableAs { exists: false, .. }
            | BoundStatement::Delete { .. }
            | BoundStatement::Update { .. } => Some(engine.queue.acquire(
                &interrupt,
                &self.user,
                &self.statement_text,
            )?),
            _ => None,
        };
        match bound {
            // A query of constants or system views runs whole before its rows go out, so
            // `SELECT 1 / 0` fails before its row description, as PostgreSQL's constant
            // folding makes it.
            BoundStatement::Query(q) if self.stream_wanted && reads_tables(&q.plan) => {
                let queue = Some((self.user.clone(), Arc::clone(&self.statement_text)));
                let job = exec::stream::QueryJob {
                    engine: self.engine.clone(),
                    plan: q.plan,
                    memory_limit_bytes: self.settings.query_memory_limit_bytes(),
                    interrupt,
                    queue,
                    failed: Arc::clone(&self.stream_failed),
                };
                self.streamed = Some(exec::stream::start(q.columns.clone(), job)?);
                // What the caller sees is the stream; this empty result never leaves.
                Ok(StatementResult::Query(QueryResult {
                    columns: q.columns,
                    batches: Vec::new(),
                }))
            }
            BoundStatement::Query(q) => {
                let ctx = exec::ExecContext {
                    store: &store,
                    memory: &exec::memory::MemoryBudget::new(
                        self.settings.query_memory_limit_bytes(),
                    ),
                    interrupt: &interrupt,
                    profile: None,
                    key_filters: Default::default(),
                };
                let batches = exec::stream::collect(&q.plan, &ctx)?;
                Ok(StatementResult::Query(QueryResult {
                    columns: q.columns,
                    batches,
                }))
            }
            BoundStatement::ExplainAnalyze(plan) => {
                let profile = exec::profile::Profile::default();
                let memory =
                    exec::memory::MemoryBudget::new(self.settings.query_memory_limit_bytes());
                let ctx = exec::ExecContext {
                    store: &store,
                    memory: &memory,
                    interrupt: &interrupt,
                    profile: Some(&profile),
                    key_filters: Default::default(),
                };
                let started = std::time::Instant::now();
                exec::execute(&plan, &ctx)?;
                let elapsed = started.elapsed();
                let lines = explain_analyze(&plan, &profile, memory.peak(), elapsed);
                let col: ArrayRef = Arc::new(StringArray::from(lines.clone()));
                let batch = exec::make_batch(vec![col], lines.len())?;
                Ok(StatementResult::Query(QueryResult {
                    columns: vec![explain_column()],
                    batches: vec![batch],
                }))
            }
            BoundStatement::Explain(lines) => {
                let col: ArrayRef = Arc::new(StringArray::from(lines.clone()));
                let batch = exec::make_batch(vec![col], lines.len())?;
                Ok(StatementResult::Query(QueryResult {
                    columns: vec![explain_column()],
                    batches: vec![batch],
                }))
            }
            BoundStatement::CreateTable {
                mut def,
                if_not_exists,
                constraints,
            } => {
                if if_not_exists && manifest.table(&def.schema, &def.name).is_some() {
                    return Ok(command("CREATE TABLE"));
                }
                if self.role_oid != basalt_storage::security::BOOTSTRAP_ROLE_OID {
                    def.owner = Some(self.role_oid);
                }
                let (schema, name) = (def.schema.clone(), def.name.clone());
                self.write(|t| {
                    t.create_table(def).map_err(storage_error)?;
                    if constraints.is_empty() {
                        return Ok(());
                    }
                    let snapshot = t.snapshot().clone();
                    let id = snapshot
                        .table(&schema, &name)
                        .map(|m| m.id)
                        .ok_or_else(|| Error::Internal(format!("table {name} vanished")))?;
                    let mut objects = snapshot.objects.clone();
                    let mut allocate = || t.allocate_relation_id();
                    constraints::add_constraints(
                        &snapshot,
                        &mut objects,
                        id,
                        &constraints,
                        &mut allocate,
                    )?;
                    t.set_objects(objects).map_err(storage_error)
                })?;
                Ok(command("CREATE TABLE"))
            }
            BoundStatement::CreateTableAs {
                mut def,
                plan,
                exists,
            } => {
                if exists {
                    return Ok(command("CREATE TABLE AS"));
                }
                if self.role_oid != basalt_storage::security::BOOTSTRAP_ROLE_OID {
                    def.owner = Some(self.role_oid);
                }
                let ctx = exec::ExecContext {
                    store: &store,
                    memory: &exec::memory::MemoryBudget::new(
                        self.settings.query_memory_limit_bytes(),
                    ),
                    interrupt: &interrupt,
                    profile: None,
                    key_filters: Default::default(),
                };
                let batches = exec::execute(&plan, &ctx)?;
                let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
                let (schema, name) = (def.schema.clone(), def.name.clone());
                // One commit: the table appears with its rows or not at all.
                self.write(|t| {
                    t.create_table(def).map_err(storage_error)?;
                    if rows > 0 {
                        t.append(&schema, &name, &batches).map_err(storage_error)?;
                    }
                    Ok(())
                })?;
                Ok(command(&format!("SELECT {rows}")))
            }
            BoundStatement::DropTable {
                names,
                if_exists,
                cascade,
            } => {
                for (schema, name) in &names {
                    if manifest.table(schema, name).is_some() {
                        continue;
                    }
                    if manifest.objects.view(schema, name).is_some() {
                        return Err(Error::WrongRelationKind {
                            name: name.clone(),
                            expected: "a table",
                            hint: Some("Use DROP VIEW to remove a view.".into()),
                        });
                    }
                    if manifest.objects.index(schema, name).is_some() {
                        return Err(Error::WrongRelationKind {
                            name: name.clone(),
                            expected: "a table",
                            hint: Some("Use DROP INDEX to remove an index.".into()),
                        });
                    }
                    if !if_exists {
                        return Err(Error::UndefinedTableToDrop { name: name.clone() });
                    }
                }
                self.write(|t| {
                    // Views over the tables (2BP01 unless CASCADE) and their indexes go first.
                    let ids: Vec<u64> = names
                        .iter()
                        .filter_map(|(schema, name)| t.snapshot().table(schema, name))
                        .map(|m| m.id)
                        .collect();
                    let mut objects = views::objects_after_drop(t.snapshot(), &ids, cascade)?;
                    constraints::drop_with_tables(t.snapshot(), &mut objects, &ids, cascade)?;
                    // The tables' comments and their columns' go with them.
                    objects.retain_comments(|c| !ids.contains(&c.object));
                    if objects != t.snapshot().objects {
                        t.set_objects(objects).map_err(storage_error)?;
                    }
                    for (schema, name) in &names {
                        if t.snapshot().table(schema, name).is_some() {
                            t.drop_table(schema, name).map_err(storage_error)?;
                        }
                    }
                    Ok(())
                })?;
                Ok(command("DROP TABLE"))
            }
            BoundStatement::Insert { schema, name, plan } => {
                let ctx = exec::ExecContext {
                    store: &store,
                    memory: &exec::memory::MemoryBudget::new(
                        self.settings.query_memory_limit_bytes(),
                    ),
                    interrupt: &interrupt,
                    profile: None,
                    key_filters: Default::default(),
                };
                let batches = exec::execute(&plan, &ctx)?;
                let table =
                    manifest
                        .table(&schema, &name)
                        .ok_or_else(|| Error::UndefinedTable {
                            name: name.clone(),
                            position: None,
                        })?;
                for b in &batches {
                    for (c, col) in table.def.columns.iter().zip(b.columns()) {
                        if !c.nullable && col.null_count() > 0 {
                            return Err(Error::NotNullViolation {
                                table: name.clone(),
                                column: c.name.clone(),
                            });
                        }
                    }
                }
                let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
                if rows > 0 {
                    self.write(|t| t.append(&schema, &name, &batches).map_err(storage_error))?;
                }
                Ok(command(&format!("INSERT 0 {rows}")))
            }
            BoundStatement::Delete { schema, name, plan } => {
                let ctx = exec::ExecContext {
                    store: &store,
                    memory: &exec::memory::MemoryBudget::new(
                        self.settings.query_memory_limit_bytes(),
                    ),
                    interrupt: &interrupt,
                    profile: None,
                    key_filters: Default::default(),
                };
                let batches = exec::execute(&plan, &ctx)?;
                let changes = exec::dml::collect(&batches, false)?;
                if changes.count > 0 {
                    self.write_at(&manifest, |t| {
                        t.delete_rows(&schema, &name, &changes.rows)
                            .map_err(storage_error)?;
                        Ok(())
                    })?;
                }
                Ok(command(&format!("DELETE {}", changes.count)))
            }
            BoundStatement::Update { schema, name, plan } => {
                let ctx = exec::ExecContext {
                    store: &store,
                    memory: &exec::memory::MemoryBudget::new(
                        self.settings.query_memory_limit_bytes(),
                    ),
                    interrupt: &interrupt,
                    profile: None,
                    key_filters: Default::default(),
                };
                let batches = exec::execute(&plan, &ctx)?;
                let changes = exec::dml::collect(&batches, true)?;
                let table =
                    manifest
                        .table(&schema, &name)
                        .ok_or_else(|| Error::UndefinedTable {
                            name: name.clone(),
                            position: None,
                        })?;
                for b in &changes.new_rows {
                    for (c, col) in table.def.columns.iter().zip(b.columns()) {
                        if !c.nullable && col.null_count() > 0 {
                            return Err(Error::NotNullViolation {
                                table: name.clone(),
                                column: c.name.clone(),
                            });
                        }
                    }
                }
                if changes.count > 0 {
                    self.write_at(&manifest, |t| {
                        t.delete_rows(&schema, &name, &changes.rows)
                            .map_err(storage_error)?;
                        t.append(&schema, &name, &changes.new_rows)
                            .map_err(storage_error)
                    })?;
                }
                Ok(command(&format!("UPDATE {}", changes.count)))
            }
            BoundStatement::Vacuum { names } => {
                // As PostgreSQL's VACUUM: it commits on its own, so not inside a block.
                if self.txn.is_some() {
                    return Err(Error::ActiveTransaction {
                        message: "VACUUM cannot run inside a transaction block".into(),
                    });
                }
                self.write_at(&manifest, |t| {
                    for (schema, name) in &names {
                        t.rewrite(schema, name).map_err(storage_error)?;
                    }
                    Ok(())
                })?;
                // VACUUM moves rows without changing them: statistics stay as fresh as they
                // were.
                let after = self.engine.store.snapshot();
                for (schema, name) in &names {
                    if let (Some(b), Some(a)) =
                        (manifest.table(schema, name), after.table(schema, name))
                    {
                        if a.id == b.id {
                            analyze::rebase_after_rewrite(&self.engine.store, b, a);
                        }
                    }
                }
                Ok(command("VACUUM"))
            }
            BoundStatement::Truncate { names } => {
                self.write_at(&manifest, |t| {
                    for (schema, name) in &names {
                        t.truncate(schema, name).map_err(storage_error)?;
                    }
                    Ok(())
                })?;
                Ok(command("TRUNCATE TABLE"))
            }
            BoundStatement::Begin => {
                if self.txn.is_none() {
                    self.txn = Some(self.engine.store.begin());
                    self.settings.begin();
                    self.block_start = Some(self.statement_start);
                }
                Ok(command("BEGIN"))
            }
            BoundStatement::Commit => {
                self.end_block(true)?;
                Ok(command("COMMIT"))
            }
            BoundStatement::Rollback => {
                self.end_block(false)?;
                Ok(command("ROLLBACK"))
            }
            BoundStatement::DeclareCursor {
                name,
                options,
                query,
            } => self.declare_cursor(name, options, query, &stmt.text),
        }
    }

    /// Runs a write that read `base` (the statement's snapshot) in the open transaction block,
    /// or in its own transaction started at `base` (autocommit), so that a commit to the same
    /// table after `base` makes it fail with a serialization conflict rather than be lost.
    fn write_at(
        &mut self,
        base: &Arc<basalt_storage::Manifest>,
        f: impl FnOnce(&mut Transaction) -> Result<()>,
    ) -> Result<()> {
        match &mut self.txn {
            Some(t) => f(t),
            None => {
                let mut t = self.engine.store.begin_at(base.clone());
                f(&mut t)?;
                t.commit().map_err(storage_error)?;
                Ok(())
            }
        }
    }

    /// Runs a write in the open transaction block, or in its own transaction (autocommit).
    fn write(&mut self, f: impl FnOnce(&mut Transaction) -> Result<()>) -> Result<()> {
        match &mut self.txn {
            Some(t) => f(t),
            None => {
                let mut t = self.engine.store.begin();
                f(&mut t)?;
                t.commit().map_err(storage_error)?;
                Ok(())
            }
        }
    }
}

/// Runs `load`, which reads a COPY's input and hands its rows to the sink it is given, while
/// a thread of its own appends them to `txn`: the rows are held until a whole run has
/// arrived (see [`copy_run_rows`]), then handed to the appender, the rest at the end. So the
/// next window of input is parsed while the previous run is encoded, written and fsynced.
///
/// The hand-over waits for the appender to take each run, so the load holds at most the run
/// being appended, the run handed over, the rows held and a window. When the appender fails,
/// its error is the load's; either way the caller undoes what was appended.
fn copy_overlapped<F>(
    txn: &mut Transaction,
    def: &basalt_storage::TableDef,
    schema: &str,
    load: F,
) -> std::result::Result<copy::Loaded, (Error, Vec<copy::Reject>)>
where
    F: FnOnce(
        &mut copy::BatchSink<'_>,
    ) -> std::result::Result<copy::Loaded, (Error, Vec<copy::Reject>)>,
{
    let run_rows = copy_run_rows(def);
    std::thread::scope(|scope| {
        let (hand, runs) = std::sync::mpsc::sync_channel::<Vec<RecordBatch>>(0);
        let appender = std::thread::Builder::new()
            .name("basalt-copy-append".into())
            .spawn_scoped(scope, move || -> Result<()> {
                for run in runs {
                    append_fitted(txn, def, schema, &run)?;
                }
                Ok(())
            });
        let appender = match appender {
            Ok(a) => a,
            Err(e) => {
                return Err((
                    Error::Internal(format!("could not start COPY's appender: {e}")),
                    Vec::new(),
                ))
            }
        };
        let stopped = || Error::Internal("COPY's appender stopped".into());
        let mut held = copy::HeldRows::default();
        let mut sink = |batches: Vec<RecordBatch>| -> Result<()> {
            let ready = held.take(batches, run_rows);
            if ready.is_empty() {
                return Ok(());
            }
            hand.send(ready).map_err(|_| stopped())
        };
        let loaded = load(&mut sink).and_then(|loaded| {
            let rest = held.rest();
            if !rest.is_empty() {
                hand.send(rest).map_err(|_| (stopped(), Vec::new()))?;
            }
            Ok(loaded)
        });
        drop(hand);
        let appended = appender
            .join()
            .unwrap_or_else(|_| Err(Error::Internal("COPY's appender panicked".into())));
        match (loaded, appended) {
            (Ok(loaded), Ok(())) => Ok(loaded),
            (Ok(_), Err(e)) => Err((e, Vec::new())),
            (Err((_, rejects)), Err(e)) => Err((e, rejects)),
            (Err(failed), Ok(())) => Err(failed),
        }
    })
}

/// The rows a load appends at a time: a segment's worth, or for a table with a sort key a
/// sorted run of [`copy::SORTED_RUN_ROWS_MAX`] (each append is sorted by the storage).
fn copy_run_rows(def: &basalt_storage::TableDef) -> usize {
    if def.sort_columns().is_empty() {
        basalt_storage::segment::SEGMENT_ROWS_MAX as usize
    } else {
        copy::SORTED_RUN_ROWS_MAX
    }
}

/// Checks and fits a load's rows (see [`fit_batches`]) and appends them to `txn`.
fn append_fitted(
    txn: &mut Transaction,
    def: &basalt_storage::TableDef,
    schema: &str,
    batches: &[RecordBatch],
) -> Result<()> {
    if batches.is_empty() {
        return Ok(());
    }
    let fitted = fit_batches(def, &def.name, batches)?;
    if fitted.iter().any(|b| b.num_rows() > 0) {
        txn.append(schema, &def.name, &fitted)
            .map_err(storage_error)?;
    }
    Ok(())
}

/// Checks batches of exactly a table's columns (types and NOT NULL) and fits CHAR(n) /
/// VARCHAR(n) values as an INSERT would.
fn fit_batches(
    def: &basalt_storage::TableDef,
    name: &str,
    batches: &[RecordBatch],
) -> Result<Vec<RecordBatch>> {
    let table = def;
    for b in batches {
        if b.num_columns() != table.columns.len() {
            return Err(Error::DatatypeMismatch {
                message: format!(
                    "table \"{name}\" has {} columns but the batch has {}",
                    table.columns.len(),
                    b.num_columns()
                ),
                position: None,
            });
        }
        for (c, col) in table.columns.iter().zip(b.columns()) {
            let want = c.ty.arrow_type();
            if col.data_type() != &want {
                return Err(Error::DatatypeMismatch {
                    message: format!(
                        "column \"{}\" is of type {} but the batch holds {}",
                        c.name,
                        c.ty,
                        col.data_type()
                    ),
                    position: None,
                });
            }
            if !c.nullable && col.null_count() > 0 {
                return Err(Error::NotNullViolation {
                    table: name.to_string(),
                    column: c.name.clone(),
                });
            }
        }
    }
    // CHAR(n) is stored blank-padded and both CHAR(n) and VARCHAR(n) enforce their length,
    // as an INSERT would.
    let mut fitted = Vec::with_capacity(batches.len());
    for b in batches {
        let mut cols = Vec::with_capacity(b.num_columns());
        for (c, col) in table.columns.iter().zip(b.columns()) {
            cols.push(match c.ty {
                SqlType::Char { .. } | SqlType::Varchar { .. } => {
                    kernels::cast::cast_array(col, c.ty, c.ty, false)?
                }
                _ => col.clone(),
            });
        }
        fitted.push(
            RecordBatch::try_new(b.schema(), cols).map_err(|e| Error::Internal(e.to_string()))?,
        );
    }
    Ok(fitted)
}

fn command(tag: &str) -> StatementResult {
    StatementResult::Command {
        tag: tag.to_string(),
    }
}

/// Text result columns with these names.
fn text_columns(names: &[&str]) -> Vec<ResultColumn> {
    names
        .iter()
        .map(|name| ResultColumn::computed(*name, SqlType::Text))
        .collect()
}

/// A SET / RESET / SHOW outcome as a statement result.
fn settings_result(
    stmt: &sqlparser::ast::Statement,
    outcome: settings::Outcome,
) -> Result<StatementResult> {
    match outcome {
        settings::Outcome::Command(tag) => Ok(command(tag)),
        settings::Outcome::Rows(rows) => {
            let names = settings::show_columns(stmt).unwrap_or_else(|| Ok(Vec::new()))?;
            let columns = text_columns(&names);
            let arrays: Vec<ArrayRef> = (0..columns.len())
                .map(|c| {
                    Arc::new(StringArray::from_iter_values(
                        rows.iter().map(|r| r[c].as_str()),
                    )) as ArrayRef
                })
                .collect();
            let batch = exec::make_batch(arrays, rows.len())?;
            Ok(StatementResult::Query(QueryResult {
                columns,
                batches: vec![batch],
            }))
        }
    }
}

/// The plan with each node's figures appended to its line, zone-map notes under the scans,
/// then the query's peak memory and the total execution time.
fn explain_analyze(
    plan: &planner::plan::Plan,
    profile: &exec::profile::Profile,
    peak_memory: u64,
    elapsed: std::time::Duration,
) -> Vec<String> {
    let mut lines = Vec::new();
    plan.explain(&mut lines, 0);
    let mut nodes = Vec::new();
    plan.preorder(&mut nodes);
    for (line, node) in lines.iter_mut().zip(&nodes) {
        line.push_str(&exec::profile::describe(profile.stats(node).as_ref()));
    }
    planner::ranges::annotate_explain(plan, &mut lines);
    lines.push(format!(
        "Peak Memory: {} kB (of the query's outputs held at once)",
        peak_memory.div_ceil(1024)
    ));
    lines.push(format!(
        "Execution Time: {:.3} ms",
        elapsed.as_secs_f64() * 1000.0
    ));
    lines
}

fn explain_column() -> ResultColumn {
    ResultColumn::computed("QUERY PLAN", SqlType::Text)
}

/// Storage errors that are really about the statement get the engine's own variants.
pub(crate) fn storage_error(e: basalt_storage::Error) -> Error {
    use basalt_storage::Error as S;
    match e {
        S::TableExists(name) => Error::DuplicateTable { name },
        S::NoSuchTable(name) => Error::UndefinedTable {
            name,
            position: None,
        },
        S::SerializationConflict(table) => Error::SerializationFailure {
            message: format!(
                "could not serialize access due to concurrent update on table \"{table}\" (serializable isolation violation)"
            ),
        },
        other => Error::Storage(other),
    }
}
