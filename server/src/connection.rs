//! One client connection: startup and authentication, then the simple and extended query
//! protocols over the connection's own session.
//!
//! pgwire decodes and encodes messages and keeps the prepared statements and portals; this
//! module decides what each message does. Where pgwire's default handling differs from
//! PostgreSQL (transaction status in ReadyForQuery, NoData, streaming a portal instead of
//! buffering it, the checks of Bind) the handler is overridden here.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use basalt_engine::{CancelHandle, ResultColumn, TransactionStatus};
use futures::sink::{Sink, SinkExt};
use futures::StreamExt;
use pgwire::api::auth::{
    protocol_negotiation, save_startup_parameters_to_metadata, AuthDriver, AuthOutcome,
    StartupHandler,
};
use pgwire::api::cancel::CancelHandler;
use pgwire::api::copy::CopyHandler;
use pgwire::api::portal::{Format, Portal, PortalExecutionState};
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::results::{FieldInfo, Response, Tag};
use pgwire::api::stmt::{QueryParser, StoredStatement};
use pgwire::api::store::{Entry, PortalStore};
use pgwire::api::{
    ClientInfo, ClientPortalStore, PgWireConnectionState, Type, DEFAULT_NAME, METADATA_USER,
};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::cancel::CancelRequest;
use pgwire::messages::copy::{CopyData, CopyDone, CopyFail, CopyInResponse, CopyOutResponse};
use pgwire::messages::data::{NoData, ParameterDescription, RowDescription};
use pgwire::messages::extendedquery::{
    Bind, BindComplete, Describe, Execute, Parse, ParseComplete, PortalSuspended, Sync as PgSync,
    TARGET_TYPE_BYTE_PORTAL, TARGET_TYPE_BYTE_STATEMENT,
};
use pgwire::messages::response::{
    self as wire, CommandComplete, EmptyQueryResponse, ReadyForQuery,
};
use pgwire::messages::simplequery::Query;
use pgwire::messages::startup::{ParameterStatus, SecretKey};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};

use crate::auth::{check_login, password_failed, Auth, LoginPlan, ServerParameters, StartupReport};
use crate::backend::{Backend, BackendSession};
use crate::exec::{self, Outcome, SharedSession};
use crate::params::{parameter_format, parameter_text};
use crate::sqlstate::{code, SqlError};
use crate::types::{field_descriptions, field_infos, pg_type, ResultFormats};

/// What every connection of one server shares.
pub(crate) struct Shared<B: Backend> {
    pub(crate) backend: Arc<B>,
    pub(crate) auth: Auth,
    pub(crate) driver: AuthDriver<ServerParameters>,
    /// The sessions a cancel request can reach, by the process id their BackendKeyData gave.
    pub(crate) cancels: std::sync::Mutex<std::collections::HashMap<i32, Cancellable>>,
    /// Open connections per role with a connection limit, by role name.
    pub(crate) role_connections: std::sync::Mutex<HashMap<String, usize>>,
    /// Refuse connections that are not encrypted.
    pub(crate) require_tls: bool,
}

/// A session's cancel handle and the secret key a cancel request must present.
pub(crate) struct Cancellable {
    secret_key: SecretKey,
    handle: CancelHandle,
}

impl<B: Backend> Shared<B> {
    fn cancels(&self) -> std::sync::MutexGuard<'_, HashMap<i32, Cancellable>> {
        self.cancels
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The session of a connection, opened once authentication succeeds.
type SessionCell<S> = Arc<OnceLock<SharedSession<S>>>;

type StatementOf<B> = <<B as Backend>::Session as BackendSession>::Statement;

/// A parsed and described statement, as prepared statements and portals keep it.
pub(crate) struct Prepared<T> {
    statement: T,
    /// Parameter types: the client's where it declared one, the engine's otherwise.
    params: Vec<Type>,
    /// Result columns; `None` for a statement that returns no rows.
    columns: Option<Vec<ResultColumn>>,
}

/// The handlers of one connection.
pub(crate) struct Connection<B: Backend> {
    shared: Arc<Shared<B>>,
    session: SessionCell<B::Session>,
    parser: Arc<StatementParser<B::Session>>,
    /// Set when the connection must be refused at startup (too many connections).
    refusal: Option<SqlError>,
    /// Names of the statements Parse has prepared, for DEALLOCATE ALL.
    statement_names: std::sync::Mutex<std::collections::BTreeSet<String>>,
    /// The process id under which this connection's session is registered for cancel
    /// requests, once startup completed.
    cancel_pid: OnceLock<i32>,
    /// The COPY FROM STDIN whose CopyData messages are arriving.
    copy_in: std::sync::Mutex<Option<<B::Session as BackendSession>::CopyIn>>,
    /// The error that ended a COPY FROM STDIN while a window of its data was loading (the
    /// load panicked), reported when the client ends the COPY.
    copy_in_lost: std::sync::Mutex<Option<SqlError>>,
    /// Who is logging in, from the startup message on.
    login: std::sync::Mutex<Option<LoginPlan>>,
    /// The role whose connection count this connection holds, once it counts.
    counted_role: OnceLock<String>,
    /// Cancels the session's running statement when the client hangs up.
    hangup: OnceLock<CancelHandle>,
}

impl<B: Backend> Drop for Connection<B> {
    fn drop(&mut self) {
        if let Some(pid) = self.cancel_pid.get() {
            self.shared.cancels().remove(pid);
        }
        if let Some(role) = self.counted_role.get() {
            let mut counts = lock_copy(&self.shared.role_connections);
            if let Some(n) = counts.get_mut(role) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    counts.remove(role);
                }
            }
        }
    }
}

impl<B: Backend> Connection<B> {
    /// A connection that will authenticate through `shared`, or be refused with `refusal`.
    pub(crate) fn new(shared: Arc<Shared<B>>, refusal: Option<SqlError>) -> Self {
        let session: SessionCell<B::Session> = Arc::new(OnceLock::new());
        Connection {
            shared,
            parser: Arc::new(StatementParser {
                session: Arc::clone(&session),
            }),
            session,
            refusal,
            statement_names: std::sync::Mutex::default(),
            cancel_pid: OnceLock::new(),
            copy_in: std::sync::Mutex::new(None),
            copy_in_lost: std::sync::Mutex::new(None),
            login: std::sync::Mutex::new(None),
            counted_role: OnceLock::new(),
            hangup: OnceLock::new(),
        }
    }

    /// The client closed its socket: the statement the session runs, if any, is cancelled,
    /// so its work stops and its query slot, snapshot and memory go at once instead of when
    /// it would have finished. (Its result then goes nowhere and the connection ends.)
    pub(crate) fn client_gone(&self) {
        if let Some(handle) = self.hangup.get() {
            handle.cancel();
        }
    }

    /// Runs `DEALLOCATE` on the connection's prepared statements; the command tag, or `None`
    /// to let the session answer (a name that is not prepared, or a failed transaction).
    fn deallocate<C>(&self, client: &C, target: Option<String>) -> Option<&'static str>
    where
        C: ClientPortalStore,
        C::PortalStore: PortalStore,
    {
        if self.transaction_status() == wire::TransactionStatus::Error {
            return None;
        }
        let mut names = self
            .statement_names
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match target {
            None => {
                for name in std::mem::take(&mut *names) {
                    client.portal_store().rm_statement(&name);
                }
                Some("DEALLOCATE ALL")
            }
            Some(name) => {
                client.portal_store().get_statement(&name)?;
                client.portal_store().rm_statement(&name);
                names.remove(&name);
                Some("DEALLOCATE")
            }
        }
    }

    fn session(&self) -> Result<SharedSession<B::Session>, SqlError> {
        session_of(&self.session)
    }

    /// The columns of the session's open cursor `name`.
    fn cursor_columns(&self, name: &str) -> Option<Vec<ResultColumn>> {
        // The connection's own statements have all finished here, so the lock is free.
        let session = self.session.get()?;
        exec::lock(session).cursor_columns(name)
    }

    /// The session's transaction status as ReadyForQuery reports it.
    fn transaction_status(&self) -> wire::TransactionStatus {
        let status = match self.session.get() {
            // The connection's own statements have all finished here, so the lock is free.
            Some(session) => exec::lock(session).transaction_status(),
            None => TransactionStatus::Idle,
        };
        match status {
            TransactionStatus::Idle => wire::TransactionStatus::Idle,
            TransactionStatus::InBlock => wire::TransactionStatus::Transaction,
            TransactionStatus::Failed => wire::TransactionStatus::Error,
        }
    }

    /// ParameterStatus for each reported parameter the last statements changed, sent before
    /// ReadyForQuery as PostgreSQL does.
    async fn report_parameters<C>(&self, client: &mut C) -> PgWireResult<()>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let changes = match self.session.get() {
            // The connection's own statements have all finished here, so the lock is free.
            Some(session) => exec::lock(session).reported_parameters(),
            None => Vec::new(),
        };
        for (name, value) in changes {
            feed(
                client,
                PgWireBackendMessage::ParameterStatus(ParameterStatus::new(name, value)),
            )
            .await?;
        }
        Ok(())
    }

    /// Opens the session and completes the startup: AuthenticationOk, parameters, key data,
    /// ReadyForQuery.
    async fn finish_startup<C>(
        &self,
        client: &mut C,
        user: &str,
        final_message: Option<pgwire::messages::startup::Authentication>,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        // The role's connection limit, counted from the moment it authenticated.
        let limit = lock_copy(&self.login)
            .as_ref()
            .and_then(LoginPlan::connection_limit);
        if let Some(limit) = limit {
            let mut counts = lock_copy(&self.shared.role_connections);
            let open = counts.entry(user.to_owned()).or_insert(0);
            if *open >= limit {
                return Err(SqlError::fatal(
                    code::TOO_MANY_CONNECTIONS,
                    format!("too many connections for role \"{user}\""),
                )
                .into());
            }
            *open += 1;
            let _ = self.counted_role.set(user.to_owned());
        }
        let mut session = self.shared.backend.session(user);
        // As PostgreSQL, every startup parameter other than these names a configuration
        // parameter, and so does each `-c name=value` in `options`; a bad one refuses the
        // connection.
        let mut settings: Vec<(String, String)> = Vec::new();
        for (name, value) in client.metadata() {
            match name.as_str() {
                "options" => settings.extend(option_settings(value)?),
                "user" | "database" | "replication" => {}
                _ if name.starts_with("_pq_.") => {}
                _ => settings.push((name.clone(), value.clone())),
            }
        }
        for (name, value) in &settings {
            if let Err(error) = session.set_startup_parameter(name, value) {
                let mut fatal = SqlError::from_engine(&error);
                fatal.severity = SqlError::fatal(fatal.code, "").severity;
                return Err(fatal.into());
            }
        }
        let cancel = session.cancel_handle();
        if let Some(handle) = &cancel {
            let _ = self.hangup.set(handle.clone());
        }
        let report = session.reported_parameters();
        if !report.is_empty() {
            client.session_extensions().insert(StartupReport(report));
        }
        if self
            .session
            .set(Arc::new(std::sync::Mutex::new(session)))
            .is_err()
        {
            return Err(SqlError::protocol_violation("session already started").into());
        }
        self.shared
            .driver
            .complete_authentication(client, final_message)
            .await?;
        let (pid, _) = client.pid_and_secret_key();
        if let Some(session) = self.session.get() {
            exec::lock(session).set_backend_pid(pid);
        }
        if let Some(handle) = cancel {
            let (pid, secret_key) = client.pid_and_secret_key();
            if self.cancel_pid.set(pid).is_ok() {
                self.shared
                    .cancels()
                    .insert(pid, Cancellable { secret_key, handle });
            }
        }
        Ok(())
    }

    /// Runs a simple Query message: each statement in turn, stopping at the first error.
    async fn run_simple<C>(&self, client: &mut C, sql: &str) -> PgWireResult<()>
    where
        C: ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let session = match self.session() {
            Ok(session) => session,
            Err(error) => return send_error(client, error).await,
        };
        let text = sql.to_owned();
        let statements =
            match exec::blocking(&session, move |s| s.parse(&text).map_err(engine_error)).await {
                Ok(statements) => statements,
                Err(error) => return send_error(client, error).await,
            };
        if statements.is_empty() {
            return feed(
                client,
                PgWireBackendMessage::EmptyQueryResponse(EmptyQueryResponse::new()),
            )
            .await;
        }
        for statement in statements {
            if let Some(target) = <B::Session as BackendSession>::deallocates(&statement) {
                if let Some(tag) = self.deallocate(client, target) {
                    feed(client, command_complete(Tag::new(tag))).await?;
                    continue;
                }
            }
            match <B::Session as BackendSession>::copy_direction(&statement) {
                Some(true) => {
                    // The rest of the query string is not run: the client now sends data.
                    return match self.start_copy_in(client, &session, statement).await? {
                        Ok(()) => Ok(()),
                        Err(error) => send_error(client, error).await,
                    };
                }
                Some(false) => {
                    if let Err(error) = self.copy_out(client, &session, statement).await? {
                        // The COPY failed: the rest of the query string is not run.
                        return send_error(client, error).await;
                    }
                    continue;
                }
                None => {}
            }
            let outcome = exec::execute(
                &session,
                statement,
                Vec::new(),
                ResultFormats::AllText,
                true,
            )
            .await;
            match outcome {
                Err(error) => return send_error(client, error).await,
                Ok(Outcome::Command(tag)) => {
                    feed(client, command_complete(Tag::new(&tag))).await?;
                }
                Ok(Outcome::Rows(mut response)) => {
                    let fields = response.row_schema();
                    feed(
                        client,
                        PgWireBackendMessage::RowDescription(row_description(&fields)),
                    )
                    .await?;
                    let mut rows = 0usize;
                    while let Some(row) = response.data_rows().next().await {
                        match row {
                            Ok(row) => {
                                feed(client, PgWireBackendMessage::DataRow(row)).await?;
                                rows += 1;
                            }
                            Err(error) => {
                                let info = ErrorInfo::from(error);
                                return feed(
                                    client,
                                    PgWireBackendMessage::ErrorResponse(info.into()),
                                )
                                .await;
                            }
                        }
                    }
                    let tag = Tag::new(response.command_tag()).with_rows(rows);
                    feed(client, command_complete(tag)).await?;
                }
            }
        }
        Ok(())
    }

    /// Runs a COPY TO STDOUT: CopyOutResponse, the output as CopyData messages as the query
    /// produces it, CopyDone and `COPY n`. A failure (before or part-way) is returned
    /// unsent: the simple protocol answers it at once, the extended one then waits for Sync.
    /// The output is encoded on a blocking thread at most [`COPY_OUT_CHUNKS_IN_FLIGHT_MAX`]
    /// pieces ahead of the socket; a client that hangs up ends the wait on the socket, which
    /// drops the channel, which stops the encoder and with it the query.
    async fn copy_out<C>(
        &self,
        client: &mut C,
        session: &SharedSession<B::Session>,
        statement: StatementOf<B>,
    ) -> PgWireResult<Result<(), SqlError>>
    where
        C: ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let started = exec::blocking(session, move |s| s.copy_out(&statement)).await;
        let output = match started {
            Ok(output) => output,
            Err(error) => return Ok(Err(error)),
        };
        let format = i8::from(output.binary);
        feed(
            client,
            PgWireBackendMessage::CopyOutResponse(CopyOutResponse::new(
                format,
                output.columns as i16,
                vec![i16::from(format); output.columns],
            )),
        )
        .await?;
        let (tx, mut rx) = tokio::sync::mpsc::channel(COPY_OUT_CHUNKS_IN_FLIGHT_MAX);
        let chunks = output.chunks;
        drop(tokio::task::spawn_blocking(move || {
            for chunk in chunks {
                let failed = chunk.is_err();
                if tx.blocking_send(chunk).is_err() || failed {
                    return;
                }
            }
        }));
        let mut rows = 0u64;
        while let Some(chunk) = rx.recv().await {
            let piece = match chunk {
                Ok(piece) => piece,
                // As PostgreSQL: an error ends the copy without CopyDone.
                Err(error) => return Ok(Err(error)),
            };
            rows += piece.rows;
            let data = bytes::Bytes::from(piece.data);
            // Binary rows go one per message, as PostgreSQL sends them (tokio-postgres's
            // binary reader counts on it); text in messages of at most COPY_OUT_CHUNK_BYTES.
            let ends: Vec<usize> = match piece.message_ends {
                Some(ends) => ends,
                None => (1..=data.len().div_ceil(COPY_OUT_CHUNK_BYTES))
                    .map(|i| (i * COPY_OUT_CHUNK_BYTES).min(data.len()))
                    .collect(),
            };
            let mut start = 0;
            for end in ends {
                if end > start {
                    feed(
                        client,
                        PgWireBackendMessage::CopyData(CopyData::new(data.slice(start..end))),
                    )
                    .await?;
                }
                start = end;
            }
        }
        feed(client, PgWireBackendMessage::CopyDone(CopyDone::new())).await?;
        feed(
            client,
            command_complete(
                Tag::new("COPY").with_rows(usize::try_from(rows).unwrap_or(usize::MAX)),
            ),
        )
        .await?;
        Ok(Ok(()))
    }

    /// Starts a COPY FROM STDIN: the session checks the table and options, then the client
    /// is told to send its data (CopyInResponse) and the caller puts the connection in copy
    /// mode. A refusal is returned unsent, as [`Connection::copy_out`] returns its errors.
    async fn start_copy_in<C>(
        &self,
        client: &mut C,
        session: &SharedSession<B::Session>,
        statement: StatementOf<B>,
    ) -> PgWireResult<Result<(), SqlError>>
    where
        C: ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let started = exec::blocking(session, move |s| {
            s.copy_in_start(&statement).map_err(engine_error)
        })
        .await;
        let (copy, format) = match started {
            Ok(started) => started,
            Err(error) => return Ok(Err(error)),
        };
        *lock_copy(&self.copy_in) = Some(copy);
        *lock_copy(&self.copy_in_lost) = None;
        let code = i8::from(format.binary);
        feed(
            client,
            PgWireBackendMessage::CopyInResponse(CopyInResponse::new(
                code,
                format.columns as i16,
                vec![i16::from(code); format.columns],
            )),
        )
        .await?;
        Ok(Ok(()))
    }

    /// Execute of a COPY portal, as PostgreSQL answers it: COPY FROM STDIN sends
    /// CopyInResponse and leaves the connection in copy mode (Sync is ignored there; the
    /// client's CopyDone or CopyFail ends it, then a Sync gets ReadyForQuery); COPY TO STDOUT
    /// sends CopyOutResponse, the data, CopyDone and `COPY n`. An error goes back to pgwire,
    /// which answers it and waits for Sync.
    async fn execute_copy<C>(
        &self,
        client: &mut C,
        statement: StatementOf<B>,
        copy_in: bool,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let session = self.session()?;
        client.set_state(PgWireConnectionState::QueryInProgress);
        let result = if copy_in {
            self.start_copy_in(client, &session, statement).await
        } else {
            self.copy_out(client, &session, statement).await
        };
        let started_copy_in = copy_in && matches!(result, Ok(Ok(())));
        client.set_state(if started_copy_in {
            PgWireConnectionState::CopyInProgress(true)
        } else {
            PgWireConnectionState::ReadyForQuery
        });
        result?.map_err(|error| -> PgWireError { error.into() })?;
        // The Sync the client may have sent already is ignored in copy mode: the
        // CopyInResponse must go out now.
        client.flush().await.map_err(PgWireError::from)
    }

    /// The text values of a portal's parameters, decoded by their types.
    fn portal_params(
        portal: &Portal<Arc<Prepared<StatementOf<B>>>>,
    ) -> Result<Vec<Option<String>>, SqlError> {
        let prepared = &portal.statement.statement;
        let codes = format_codes(&portal.parameter_format);
        decode_params(&prepared.params, &codes, &portal.parameters)
    }

    /// Sends up to `max_rows` rows of a portal (all if 0), starting it if needed.
    async fn run_portal<C>(
        &self,
        client: &mut C,
        portal: &Portal<Arc<Prepared<StatementOf<B>>>>,
        max_rows: usize,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Arc<Prepared<StatementOf<B>>>>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let state = portal.state();
        let mut state = state.lock().await;
        if matches!(*state, PortalExecutionState::Initial) {
            match ExtendedQueryHandler::do_query(self, client, portal, max_rows).await {
                Ok(Response::Query(response)) => *state = PortalExecutionState::Suspended(response),
                Ok(Response::Execution(tag)) => {
                    *state = PortalExecutionState::Finished;
                    return feed(client, command_complete(tag)).await;
                }
                Ok(_) => {
                    *state = PortalExecutionState::Finished;
                    return Err(SqlError::internal("unexpected statement outcome").into());
                }
                Err(error) => {
                    *state = PortalExecutionState::Finished;
                    return Err(error);
                }
            }
        }
        let PortalExecutionState::Suspended(response) = &mut *state else {
            // PostgreSQL answers a finished portal with no rows.
            return feed(client, command_complete(Tag::new("SELECT").with_rows(0))).await;
        };
        let mut sent = 0usize;
        let finished = loop {
            if max_rows > 0 && sent == max_rows {
                break false;
            }
            match response.data_rows().next().await {
                Some(Ok(row)) => {
                    feed(client, PgWireBackendMessage::DataRow(row)).await?;
                    sent += 1;
                }
                Some(Err(error)) => {
                    *state = PortalExecutionState::Finished;
                    return Err(error);
                }
                None => break true,
            }
        };
        if finished {
            let tag = Tag::new(response.command_tag()).with_rows(sent);
            *state = PortalExecutionState::Finished;
            feed(client, command_complete(tag)).await
        } else {
            feed(
                client,
                PgWireBackendMessage::PortalSuspended(PortalSuspended::new()),
            )
            .await
        }
    }
}

/// The `-c name=value` and `--name=value` settings of a startup `options` string (words split
/// on spaces; a backslash escapes the next character).
fn option_settings(options: &str) -> Result<Vec<(String, String)>, SqlError> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut chars = options.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => word.extend(chars.next()),
            c if c.is_ascii_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    let mut settings = Vec::new();
    let mut words = words.into_iter();
    while let Some(word) = words.next() {
        let setting = if word == "-c" {
            words.next().unwrap_or_default()
        } else if let Some(rest) = word.strip_prefix("-c").or_else(|| word.strip_prefix("--")) {
            rest.to_owned()
        } else {
            return Err(SqlError::fatal(
                code::PROTOCOL_VIOLATION,
                format!("invalid command-line argument for server process: {word}"),
            ));
        };
        let Some((name, value)) = setting.split_once('=') else {
            return Err(SqlError::fatal(
                code::SYNTAX_ERROR,
                format!("-c {setting} requires a value"),
            ));
        };
        settings.push((name.replace('-', "_"), value.to_owned()));
    }
    Ok(settings)
}

/// Bytes of COPY TO STDOUT output per CopyData message.
const COPY_OUT_CHUNK_BYTES: usize = 64 * 1024;
/// Most encoded pieces of a COPY TO STDOUT (a batch each) waiting for the socket.
const COPY_OUT_CHUNKS_IN_FLIGHT_MAX: usize = 2;

fn lock_copy<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

#[async_trait]
impl<B: Backend> CopyHandler for Connection<B> {
    async fn on_copy_data<C>(&self, client: &mut C, copy_data: CopyData) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let (full, failed) = match lock_copy(&self.copy_in).as_mut() {
            Some(copy) => {
                let full = <B::Session as BackendSession>::copy_in_push(copy, &copy_data.data);
                (full, <B::Session as BackendSession>::copy_in_failed(copy))
            }
            None => return Ok(()),
        };
        if full {
            // A full window is parsed and appended before more data is read, so the load
            // holds about a window however much the client sends; the socket waits meanwhile.
            let Some(mut copy) = lock_copy(&self.copy_in).take() else {
                return Ok(());
            };
            let session = self.session()?;
            let flushed = exec::blocking(&session, move |s| {
                s.copy_in_flush(&mut copy);
                Ok(copy)
            })
            .await;
            match flushed {
                Ok(copy) => {
                    let failed = <B::Session as BackendSession>::copy_in_failed(&copy);
                    *lock_copy(&self.copy_in) = Some(copy);
                    if !failed {
                        return Ok(());
                    }
                }
                Err(error) => {
                    *lock_copy(&self.copy_in_lost) = Some(error);
                    return Ok(());
                }
            }
        } else if !failed {
            return Ok(());
        }
        // As PostgreSQL: a row that does not load ends the COPY at the CopyData that brought
        // it, with nothing loaded (a block fails). The ErrorResponse goes out now; pgwire then
        // leaves copy mode, ignoring the client's further CopyData and its CopyDone (simple
        // protocol), or discarding messages until Sync (extended).
        let Some(copy) = lock_copy(&self.copy_in).take() else {
            return Ok(());
        };
        let session = self.session()?;
        let finished = exec::blocking(&session, move |s| s.copy_in_finish(copy)).await;
        client.set_transaction_status(self.transaction_status());
        match finished {
            Ok(_) => Err(SqlError::internal("a failed COPY loaded its rows").into()),
            Err(error) => Err(error.into()),
        }
    }

    async fn on_copy_done<C>(&self, client: &mut C, _done: CopyDone) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let copy = lock_copy(&self.copy_in).take();
        let Some(copy) = copy else {
            if let Some(error) = lock_copy(&self.copy_in_lost).take() {
                client.set_transaction_status(self.transaction_status());
                return Err(error.into());
            }
            return Err(SqlError::error(code::PROTOCOL_VIOLATION, "no COPY in progress").into());
        };
        let session = self.session()?;
        let finished = exec::blocking(&session, move |s| s.copy_in_finish(copy)).await;
        client.set_transaction_status(self.transaction_status());
        let tag = finished?;
        client.send(command_complete(Tag::new(&tag))).await?;
        Ok(())
    }

    async fn on_copy_fail<C>(&self, client: &mut C, fail: CopyFail) -> PgWireError
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let copy = lock_copy(&self.copy_in).take();
        *lock_copy(&self.copy_in_lost) = None;
        if let (Some(copy), Ok(session)) = (copy, self.session()) {
            // An abandoned COPY fails the transaction block it ran in, as any error does.
            let aborted = exec::blocking(&session, move |s| {
                s.copy_in_abort(copy);
                Ok(())
            })
            .await;
            drop(aborted);
        }
        client.set_transaction_status(self.transaction_status());
        SqlError::error(
            code::QUERY_CANCELED,
            format!("COPY from stdin failed: {}", fail.message),
        )
        .into()
    }
}

fn session_of<S>(cell: &SessionCell<S>) -> Result<SharedSession<S>, SqlError> {
    cell.get()
        .cloned()
        .ok_or_else(|| SqlError::protocol_violation("no session: the startup has not completed"))
}

fn engine_error(error: basalt_engine::Error) -> SqlError {
    SqlError::from_engine(&error)
}

async fn feed<C>(client: &mut C, message: PgWireBackendMessage) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    client.feed(message).await?;
    Ok(())
}

async fn send_error<C>(client: &mut C, error: SqlError) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let info = ErrorInfo::from(error);
    feed(client, PgWireBackendMessage::ErrorResponse(info.into())).await
}

fn command_complete(tag: Tag) -> PgWireBackendMessage {
    PgWireBackendMessage::CommandComplete(CommandComplete::from(tag))
}

fn row_description(fields: &[FieldInfo]) -> RowDescription {
    RowDescription::new(fields.iter().map(Into::into).collect())
}

/// A statement or portal name as PostgreSQL quotes it in errors (`""` for the unnamed one).
fn shown_name(name: &Option<String>) -> &str {
    name.as_deref().unwrap_or("")
}

/// pgwire's resolved format back to Bind's codes.
fn format_codes(format: &Format) -> Vec<i16> {
    match format {
        Format::UnifiedText => Vec::new(),
        Format::UnifiedBinary => vec![1],
        Format::Individual(codes) => codes.clone(),
    }
}

fn decode_params(
    types: &[Type],
    codes: &[i16],
    raw: &[Option<bytes::Bytes>],
) -> Result<Vec<Option<String>>, SqlError> {
    raw.iter()
        .enumerate()
        .map(|(i, value)| match value {
            None => Ok(None),
            Some(bytes) => {
                let ty = types.get(i).unwrap_or(&Type::UNKNOWN);
                parameter_text(i, ty, parameter_format(codes, i), bytes).map(Some)
            }
        })
        .collect()
}

/// Checks Bind's counts and format codes against the statement, as PostgreSQL does.
fn check_bind(bind: &Bind, params: usize, columns: usize) -> Result<(), SqlError> {
    let formats = bind.parameter_format_codes.len();
    let supplied = bind.parameters.len();
    if formats > 1 && formats != supplied {
        return Err(SqlError::protocol_violation(format!(
            "bind message has {formats} parameter formats but {supplied} parameters"
        )));
    }
    if supplied != params {
        return Err(SqlError::protocol_violation(format!(
            "bind message supplies {supplied} parameters, but prepared statement \"{}\" requires {params}",
            shown_name(&bind.statement_name)
        )));
    }
    let results = bind.result_column_format_codes.len();
    if results > 1 && results != columns {
        return Err(SqlError::protocol_violation(format!(
            "bind message has {results} result formats but query has {columns} columns"
        )));
    }
    for code in bind
        .parameter_format_codes
        .iter()
        .chain(&bind.result_column_format_codes)
    {
        if !matches!(code, 0 | 1) {
            return Err(SqlError::error(
                code::INVALID_PARAMETER_VALUE,
                format!("unsupported format code: {code}"),
            ));
        }
    }
    Ok(())
}

/// Parses and describes statements for the extended protocol, through the connection's session.
pub(crate) struct StatementParser<S: BackendSession> {
    session: SessionCell<S>,
}

#[async_trait]
impl<S: BackendSession> QueryParser for StatementParser<S> {
    type Statement = Arc<Prepared<S::Statement>>;

    async fn parse_sql<C>(
        &self,
        _client: &C,
        sql: &str,
        types: &[Option<Type>],
    ) -> PgWireResult<Option<Self::Statement>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let session = session_of(&self.session)?;
        let text = sql.to_owned();
        let parsed = exec::blocking(&session, move |s| {
            let mut statements = s.parse(&text).map_err(engine_error)?;
            if statements.len() > 1 {
                return Err(SqlError::error(
                    code::SYNTAX_ERROR,
                    "cannot insert multiple commands into a prepared statement",
                ));
            }
            let Some(statement) = statements.pop() else {
                return Ok(None);
            };
            let description = s.describe(&statement).map_err(engine_error)?;
            Ok(Some((statement, description)))
        })
        .await?;
        let Some((statement, description)) = parsed else {
            return Ok(None);
        };
        let count = types.len().max(description.params.len());
        let params = (0..count)
            .map(|i| {
                types
                    .get(i)
                    .cloned()
                    .flatten()
                    .or_else(|| description.params.get(i).map(|t| pg_type(*t)))
                    .unwrap_or(Type::UNKNOWN)
            })
            .collect();
        Ok(Some(Arc::new(Prepared {
            statement,
            params,
            columns: description.columns,
        })))
    }

    fn get_parameter_types(&self, stmt: &Self::Statement) -> PgWireResult<Vec<Type>> {
        Ok(stmt.params.clone())
    }

    fn get_result_schema(
        &self,
        stmt: &Self::Statement,
        column_format: Option<&Format>,
    ) -> PgWireResult<Vec<FieldInfo>> {
        let formats = column_format
            .map(|f| ResultFormats::from_codes(&format_codes(f)))
            .unwrap_or_default();
        Ok(stmt
            .columns
            .as_deref()
            .map(|columns| field_infos(columns, &formats))
            .unwrap_or_default())
    }
}

#[async_trait]
impl<B: Backend> StartupHandler for Connection<B> {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        match message {
            PgWireFrontendMessage::Startup(ref startup) => {
                protocol_negotiation(client, startup).await?;
                save_startup_parameters_to_metadata(client, startup);
                if let Some(refusal) = &self.refusal {
                    return Err(refusal.clone().into());
                }
                if self.shared.require_tls && !client.is_secure() {
                    // PostgreSQL's refusal when pg_hba.conf has only hostssl lines.
                    let metadata = client.metadata();
                    let field = |k: &str| metadata.get(k).cloned().unwrap_or_default();
                    return Err(SqlError::fatal(
                        code::INVALID_AUTHORIZATION_SPECIFICATION,
                        format!(
                            "no pg_hba.conf entry for host \"{}\", user \"{}\", database \"{}\", no encryption",
                            client.socket_addr().ip(),
                            field("user"),
                            field("database"),
                        ),
                    )
                    .into());
                }
                let backend = Arc::clone(&self.shared.backend);
                let plan = check_login(client.metadata(), |user| backend.login(user))?;
                let mechanism = plan.mechanism(&self.shared.auth);
                let user = plan.user.clone();
                *lock_copy(&self.login) = Some(plan);
                match mechanism {
                    None => self.finish_startup(client, &user, None).await,
                    Some(mechanism) => {
                        match self
                            .shared
                            .driver
                            .begin_authentication(client, mechanism)
                            .await?
                        {
                            AuthOutcome::InProgress => Ok(()),
                            AuthOutcome::Authenticated { final_message, .. } => {
                                self.finish_startup(client, &user, final_message).await
                            }
                        }
                    }
                }
            }
            PgWireFrontendMessage::PasswordMessageFamily(message) => {
                // The SCRAM exchange names no user (libpq sends an empty one): use the startup's.
                let user = client
                    .metadata()
                    .get(METADATA_USER)
                    .cloned()
                    .unwrap_or_default();
                match self
                    .shared
                    .driver
                    .advance_authentication(client, message)
                    .await
                {
                    Ok(AuthOutcome::InProgress) => Ok(()),
                    Ok(AuthOutcome::Authenticated { final_message, .. }) => {
                        self.finish_startup(client, &user, final_message).await
                    }
                    Err(PgWireError::InvalidPassword(_)) => Err(password_failed(&user).into()),
                    Err(error) => Err(error),
                }
            }
            _ => Ok(()),
        }
    }
}

/// A cancel request arrives on a connection of its own; it cancels the statement of the
/// session whose process id and secret key it carries. As PostgreSQL, nothing is sent back,
/// and a request matching no session is ignored.
#[async_trait]
impl<B: Backend> CancelHandler for Connection<B> {
    async fn on_cancel_request(&self, request: CancelRequest) {
        let cancels = self.shared.cancels();
        if let Some(target) = cancels.get(&request.pid) {
            if target.secret_key.eq_value(&request.secret_key) {
                target.handle.cancel();
            }
        }
    }
}

#[async_trait]
impl<B: Backend> SimpleQueryHandler for Connection<B> {
    async fn on_query<C>(&self, client: &mut C, query: Query) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if !matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
            return Err(PgWireError::NotReadyForQuery);
        }
        client.set_state(PgWireConnectionState::QueryInProgress);
        // As PostgreSQL, a simple query drops the unnamed statement and portal.
        client.portal_store().rm_statement(DEFAULT_NAME);
        client.portal_store().rm_portal(DEFAULT_NAME);
        let sent = if query.query.chars().all(|c| c == ';' || c.is_whitespace()) {
            feed(
                client,
                PgWireBackendMessage::EmptyQueryResponse(EmptyQueryResponse::new()),
            )
            .await
        } else {
            self.run_simple(client, &query.query).await
        };
        if lock_copy(&self.copy_in).is_some() {
            // COPY FROM STDIN: ReadyForQuery comes once the client's data is loaded.
            sent?;
            client.set_state(PgWireConnectionState::CopyInProgress(false));
            return client.flush().await.map_err(PgWireError::from);
        }
        let status = self.transaction_status();
        client.set_state(PgWireConnectionState::ReadyForQuery);
        client.set_transaction_status(status);
        sent?;
        self.report_parameters(client).await?;
        client
            .send(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(
                status,
            )))
            .await?;
        Ok(())
    }

    /// Runs every statement of `query` up to the first error and collects the results.
    ///
    /// The server answers Query messages with [`SimpleQueryHandler::on_query`] above, which
    /// streams each statement's rows before running the next; this is the same logic for
    /// callers that want the responses as values.
    async fn do_query<C>(&self, _client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let session = self.session()?;
        let text = query.to_owned();
        let statements =
            match exec::blocking(&session, move |s| s.parse(&text).map_err(engine_error)).await {
                Ok(statements) => statements,
                Err(error) => return Ok(vec![Response::Error(Box::new(error.into()))]),
            };
        if statements.is_empty() {
            return Ok(vec![Response::EmptyQuery]);
        }
        let mut responses = Vec::with_capacity(statements.len());
        for statement in statements {
            match exec::execute(
                &session,
                statement,
                Vec::new(),
                ResultFormats::AllText,
                true,
            )
            .await
            {
                Ok(Outcome::Command(tag)) => responses.push(Response::Execution(Tag::new(&tag))),
                Ok(Outcome::Rows(rows)) => responses.push(Response::Query(rows)),
                Err(error) => {
                    responses.push(Response::Error(Box::new(error.into())));
                    break;
                }
            }
        }
        Ok(responses)
    }
}

#[async_trait]
impl<B: Backend> ExtendedQueryHandler for Connection<B> {
    type Statement = Arc<Prepared<StatementOf<B>>>;
    type QueryParser = StatementParser<B::Session>;

    fn query_parser(&self) -> Arc<Self::QueryParser> {
        Arc::clone(&self.parser)
    }

    async fn on_parse<C>(&self, client: &mut C, message: Parse) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if let Some(name) = &message.name {
            if client.portal_store().get_statement(name).is_some() {
                return Err(SqlError::error(
                    code::DUPLICATE_PREPARED_STATEMENT,
                    format!("prepared statement \"{name}\" already exists"),
                )
                .into());
            }
        }
        match StoredStatement::parse(client, &message, self.query_parser()).await? {
            Some(statement) => {
                client.portal_store().put_statement(Arc::new(statement));
                if let Some(name) = &message.name {
                    self.statement_names
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .insert(name.clone());
                }
            }
            None => client
                .portal_store()
                .put_empty_statement(message.name.as_deref().unwrap_or(DEFAULT_NAME)),
        }
        feed(
            client,
            PgWireBackendMessage::ParseComplete(ParseComplete::new()),
        )
        .await
    }

    async fn on_bind<C>(&self, client: &mut C, message: Bind) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let statement_name = message.statement_name.as_deref().unwrap_or(DEFAULT_NAME);
        let portal_name = message.portal_name.as_deref().unwrap_or(DEFAULT_NAME);
        match client.portal_store().get_statement(statement_name) {
            Some(Entry::Value(statement)) => {
                let prepared = &statement.statement;
                let columns = prepared.columns.as_ref().map_or(0, Vec::len);
                check_bind(&message, prepared.params.len(), columns)?;
                // Decode now so a bad parameter fails the Bind, as in PostgreSQL.
                decode_params(
                    &prepared.params,
                    &message.parameter_format_codes,
                    &message.parameters,
                )?;
                let portal = Portal::try_new(&message, Arc::clone(&statement))?;
                client.portal_store().put_portal(Arc::new(portal));
            }
            Some(Entry::Empty) => {
                check_bind(&message, 0, 0)?;
                client.portal_store().put_empty_portal(portal_name);
            }
            None => {
                return Err(SqlError::error(
                    code::INVALID_SQL_STATEMENT_NAME,
                    match &message.statement_name {
                        Some(name) => format!("prepared statement \"{name}\" does not exist"),
                        None => "unnamed prepared statement does not exist".to_owned(),
                    },
                )
                .into())
            }
        }
        feed(
            client,
            PgWireBackendMessage::BindComplete(BindComplete::new()),
        )
        .await
    }

    async fn on_describe<C>(&self, client: &mut C, message: Describe) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        let (params, columns, formats) = match message.target_type {
            TARGET_TYPE_BYTE_STATEMENT => match client.portal_store().get_statement(name) {
                Some(Entry::Value(statement)) => (
                    Some(statement.statement.params.clone()),
                    statement.statement.columns.clone(),
                    ResultFormats::AllText,
                ),
                Some(Entry::Empty) => (Some(Vec::new()), None, ResultFormats::AllText),
                None => {
                    return Err(SqlError::error(
                        code::INVALID_SQL_STATEMENT_NAME,
                        format!(
                            "prepared statement \"{}\" does not exist",
                            shown_name(&message.name)
                        ),
                    )
                    .into())
                }
            },
            TARGET_TYPE_BYTE_PORTAL => match client.portal_store().get_portal(name) {
                Some(Entry::Value(portal)) => (
                    None,
                    portal.statement.statement.columns.clone(),
                    ResultFormats::from_codes(&format_codes(&portal.result_column_format)),
                ),
                Some(Entry::Empty) => (None, None, ResultFormats::AllText),
                // A cursor is a portal too (psycopg describes its named cursors so).
                None => match self.cursor_columns(name) {
                    Some(columns) => (None, Some(columns), ResultFormats::AllText),
                    None => {
                        return Err(SqlError::error(
                            code::INVALID_CURSOR_NAME,
                            format!("portal \"{}\" does not exist", shown_name(&message.name)),
                        )
                        .into())
                    }
                },
            },
            other => return Err(PgWireError::InvalidTargetType(other)),
        };
        if let Some(params) = params {
            let oids = params.iter().map(Type::oid).collect();
            feed(
                client,
                PgWireBackendMessage::ParameterDescription(ParameterDescription::new(oids)),
            )
            .await?;
        }
        let message = match columns {
            Some(columns) => PgWireBackendMessage::RowDescription(RowDescription::new(
                field_descriptions(&columns, &formats),
            )),
            None => PgWireBackendMessage::NoData(NoData::new()),
        };
        feed(client, message).await
    }

    async fn on_execute<C>(&self, client: &mut C, message: Execute) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if !matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
            return Err(PgWireError::NotReadyForQuery);
        }
        let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        let portal = match client.portal_store().get_portal(name) {
            Some(Entry::Value(portal)) => portal,
            Some(Entry::Empty) => {
                return feed(
                    client,
                    PgWireBackendMessage::EmptyQueryResponse(EmptyQueryResponse::new()),
                )
                .await
            }
            None => {
                return Err(SqlError::error(
                    code::INVALID_CURSOR_NAME,
                    format!("portal \"{}\" does not exist", shown_name(&message.name)),
                )
                .into())
            }
        };
        let statement = &portal.statement.statement.statement;
        if let Some(copy_in) = <B::Session as BackendSession>::copy_direction(statement) {
            return self.execute_copy(client, statement.clone(), copy_in).await;
        }
        // A negative row limit is as good as none.
        let max_rows = usize::try_from(message.max_rows).unwrap_or(0);
        client.set_state(PgWireConnectionState::QueryInProgress);
        let result = self.run_portal(client, &portal, max_rows).await;
        // On an error the server moves on to wait for Sync.
        client.set_state(PgWireConnectionState::ReadyForQuery);
        result
    }

    async fn on_sync<C>(&self, client: &mut C, _message: PgSync) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let status = self.transaction_status();
        if status == wire::TransactionStatus::Idle {
            // Outside a transaction block, Sync ends the implicit transaction and with it
            // every portal.
            client.portal_store().clear_portals();
        } else {
            client.portal_store().rm_portal(DEFAULT_NAME);
        }
        client.set_transaction_status(status);
        self.report_parameters(client).await?;
        client
            .send(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(
                status,
            )))
            .await?;
        Ok(())
    }

    /// Starts a portal: decodes its parameters and runs its statement.
    async fn do_query<C>(
        &self,
        client: &mut C,
        portal: &Portal<Self::Statement>,
        _max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let session = self.session()?;
        if let Some(target) =
            <B::Session as BackendSession>::deallocates(&portal.statement.statement.statement)
        {
            if let Some(tag) = self.deallocate(client, target) {
                return Ok(Response::Execution(Tag::new(tag)));
            }
        }
        let params = Self::portal_params(portal)?;
        let formats = ResultFormats::from_codes(&format_codes(&portal.result_column_format));
        let statement = portal.statement.statement.statement.clone();
        Ok(
            match exec::execute(&session, statement, params, formats, false).await? {
                Outcome::Command(tag) => Response::Execution(Tag::new(&tag)),
                Outcome::Rows(rows) => Response::Query(rows),
            },
        )
    }
}
