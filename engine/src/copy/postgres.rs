//! PostgreSQL's own COPY forms: `COPY table [(columns)] FROM STDIN` and
//! `COPY {table | (query)} TO STDOUT`, `WITH (FORMAT text | csv, HEADER, DELIMITER, NULL,
//! QUOTE, ESCAPE)` or the pre-9.0 spellings.
//!
//! This is the engine side, an API a protocol layer drives: [`CopyIn`] collects the bytes of
//! the client's CopyData messages and `Session::copy_in_finish` loads them with the same
//! decoder as COPY from files (PostgreSQL's text escapes on). A binary COPY FROM STDIN
//! reaches the engine as text too: the protocol layer holds the binary decoders of every type
//! and pushes each tuple as a line of PostgreSQL's text format; `Session::copy_out` runs the
//! source and encodes its rows with [`encode`]. A `COPY ... FROM STDIN` whose data follows in
//! the statement text (as in a dump, ending at `\.`) runs through `Session::execute` directly.

use arrow_array::RecordBatch;
use sqlparser::ast::{self, CopyLegacyCsvOption, CopyLegacyOption, CopyOption};

use crate::copy::options::{Compression, CopyOptions, InputFormat, TimeFormat};
use crate::copy::{parse_stdin, Builders, HeldRows, LoadPlan, RowSink, Windows};
use crate::error::{Error, Result};
use crate::exec::stream::RowStream;
use crate::interrupt::Interrupt;
use crate::pgtext::{format_value, Zone};
use crate::ResultColumn;
use basalt_storage::{Savepoint, SqlType, Transaction};

/// The layout options of a PostgreSQL COPY.
#[derive(Clone, Debug, PartialEq)]
pub struct PgFormat {
    /// FORMAT binary: PostgreSQL's binary COPY format, which the protocol layer encodes (it
    /// holds the binary encoders of every type); no other layout option applies.
    pub binary: bool,
    pub csv: bool,
    pub header: bool,
    pub delimiter: u8,
    pub null: String,
    pub quote: u8,
    /// CSV's escape character inside quotes (the quote unless ESCAPE names another).
    pub escape: u8,
}

/// The most input [`CopyIn::push`] parses on the caller's thread; beyond it the protocol
/// layer hands the parse to `Session::copy_in_flush` (on a worker thread).
pub const INLINE_PARSE_BYTES_MAX: usize = 1 << 20;

/// Input below which a look for complete records that found none is repeated at the next
/// message that brings a newline (above it, once the input has doubled).
const RETRY_AFTER_BYTES_MIN: usize = 64 << 10;

/// Rows the records of a COPY FROM STDIN's messages gather into before they are cut as one
/// batch (a file's chunk of 8 MB of lineitem is about as many).
pub(crate) const STDIN_BATCH_ROWS: usize = 65_536;

/// Runs of rows that wait for the appender thread while it appends another.
const RUNS_QUEUED_MAX: usize = 1;

/// A COPY FROM STDIN as its data arrives.
///
/// The client's bytes gather in a window ([`crate::copy::Windows`]). Each message's newly
/// complete records are parsed as it arrives ([`CopyIn::push`], on the caller's thread, up
/// to [`INLINE_PARSE_BYTES_MAX`] at a time), so a bad row fails the COPY as soon as its line
/// is in, as in PostgreSQL; their rows are held until a run of them is ready. When a window
/// is full, more than that waits, or a run is held, `Session::copy_in_flush` parses (a full
/// window in parallel) and appends the whole runs to the load's transaction (its own, or the
/// transaction block's), so the load holds about a window of input and a run of rows
/// however much the client sends. Nothing is visible before `Session::copy_in_finish`
/// commits; an error, or the client's CopyFail, drops what was appended.
#[derive(Debug)]
pub struct CopyIn {
    pub(crate) schema: String,
    pub(crate) plan: LoadPlan,
    /// Whether the client sends PostgreSQL's binary COPY format, which the protocol layer
    /// decodes into text lines before pushing them.
    binary: bool,
    /// The input not parsed yet.
    pub(crate) input: Windows,
    /// Where the search for an end-of-data line `\.` resumes: the start of the last line
    /// not yet ended by a newline.
    line_start: usize,
    /// Whether a `\.` line ended the data; what follows it is ignored.
    ended: bool,
    /// The statement's interrupt, started when the COPY started.
    pub(crate) interrupt: Interrupt,
    /// The load's own transaction, outside a transaction block.
    pub(crate) own: Option<Transaction>,
    /// Inside a block: the block's state before the load, restored if it fails.
    pub(crate) mark: Option<Savepoint>,
    /// The builders the records of each message go into, until a batch is cut from them.
    builders: Option<Builders>,
    /// Rows parsed and not yet appended.
    pub(crate) held: HeldRows,
    /// A run of rows the appender could not take yet: `Session::copy_in_flush` hands it over.
    pub(crate) pending: Option<Vec<RecordBatch>>,
    /// The thread that appends the runs to the load's own transaction, once one is ready.
    pub(crate) appender: Option<Appender>,
    /// Rows parsed so far.
    pub(crate) rows: u64,
    /// Rows appended at a time (a segment, or a sorted run): `push` asks for a flush once
    /// this many are held.
    pub(crate) run_rows: usize,
    /// The input bytes below which another look for complete records is not worth it: a
    /// look that found none in a large buffer (a long record, or a CSV field holding
    /// newlines) waits until the buffer has doubled, so a long record is not scanned from
    /// its start at every message.
    retry_bytes: usize,
    /// The load's error; the rest of the data is ignored and the COPY fails at its end.
    pub(crate) error: Option<Error>,
}

impl CopyIn {
    pub(crate) fn new(schema: String, plan: LoadPlan, binary: bool, interrupt: Interrupt) -> Self {
        let input = Windows::new(&plan.options);
        CopyIn {
            schema,
            plan,
            binary,
            input,
            line_start: 0,
            ended: false,
            interrupt,
            own: None,
            mark: None,
            builders: None,
            held: HeldRows::default(),
            pending: None,
            appender: None,
            rows: 0,
            run_rows: usize::MAX,
            retry_bytes: 0,
            error: None,
        }
    }

    /// Parses windows of `chunk_bytes` per worker and two workers' worth instead of the
    /// default, so that tests see many windows in little data.
    #[doc(hidden)]
    pub fn with_chunk_bytes(mut self, chunk_bytes: usize) -> Self {
        self.input = Windows::sized(&self.plan.options, chunk_bytes);
        self
    }

    /// The number of columns the client sends (for CopyInResponse).
    pub fn columns(&self) -> usize {
        self.plan.targets.len()
    }

    /// Whether the client sends PostgreSQL's binary COPY format (`FORMAT binary`). The
    /// protocol layer then decodes it and pushes each tuple as a line of the text format
    /// (tab-separated, `\N` for NULL, backslash escapes).
    pub fn binary(&self) -> bool {
        self.binary
    }

    /// The types of the columns the client sends, in order: what a binary COPY's fields
    /// are decoded as.
    pub fn column_types(&self) -> Vec<SqlType> {
        self.plan.targets.iter().map(|t| t.ty).collect()
    }

    /// Whether the load has failed (a row that does not parse, a failed append): it is
    /// over, and `Session::copy_in_finish` reports the error, however much data follows.
    pub fn failed(&self) -> bool {
        self.error.is_some()
    }

    /// Appends a chunk of the client's data (one CopyData message) and parses the records it
    /// completes into the builders the earlier messages' records are in. True when the
    /// protocol layer must call `Session::copy_in_flush` before pushing more: a window is
    /// full, more than [`INLINE_PARSE_BYTES_MAX`] waits to be parsed, or a run of rows is
    /// ready and the appender is busy (or not started). A row that does not load fails the
    /// COPY here ([`CopyIn::failed`]).
    pub fn push(&mut self, chunk: &[u8]) -> bool {
        if self.ended || self.error.is_some() {
            return false;
        }
        self.input.buf.extend_from_slice(chunk);
        self.find_end(false);
        if self.input.wanted() == 0 {
            return true;
        }
        let new_line = self.ended || chunk.contains(&b'\n');
        if new_line && self.input.buf.len() >= self.retry_bytes {
            if self.input.buf.len() > INLINE_PARSE_BYTES_MAX {
                return true;
            }
            if let Err(e) = self.parse_here(false) {
                self.error = Some(e);
                return false;
            }
        }
        if self.pending.is_none() && self.held.rows >= self.run_rows {
            let run = self.held.take(Vec::new(), self.run_rows);
            self.pending = Some(run);
        }
        if let Some(appender) = &self.appender {
            appender.free_appended();
        }
        match (self.pending.take(), &self.appender) {
            (Some(run), Some(appender)) => {
                self.pending = appender.try_hand(run).err();
                self.pending.is_some()
            }
            (pending, _) => {
                self.pending = pending;
                self.pending.is_some()
            }
        }
    }

    /// Looks for an end-of-data line `\.` among the lines ended since the last look (and
    /// the unended last line at the end of the data); the data stops before it.
    fn find_end(&mut self, eof: bool) {
        let buf = &self.input.buf;
        let mut start = self.line_start.min(buf.len());
        if !buf[start..].contains(&b'\\') {
            // No line from here on can be `\.`: the next look starts at the last line.
            if let Some(i) = buf[start..].iter().rposition(|b| *b == b'\n') {
                self.line_start = start + i + 1;
            }
            return;
        }
        loop {
            let end = match buf[start..].iter().position(|b| *b == b'\n') {
                Some(i) => start + i,
                None if eof => buf.len(),
                None => break,
            };
            let line = &buf[start..end];
            if line == b"\\." || line == b"\\.\r" {
                self.input.buf.truncate(start);
                self.ended = true;
                break;
            }
            if end >= buf.len() {
                break;
            }
            start = end + 1;
        }
        self.line_start = start;
    }

    /// Parses the complete records gathered (all of them at `eof`) and holds their rows:
    /// on this thread into the builders when little input waits, in parallel by windows
    /// (as COPY from a file) when much does.
    pub(crate) fn parse(&mut self, eof: bool) -> Result<()> {
        if eof {
            self.find_end(true);
        }
        if self.input.buf.len() <= INLINE_PARSE_BYTES_MAX {
            return self.parse_here(eof);
        }
        // The rows in the builders come first.
        self.cut(0)?;
        let before = self.input.buf.len();
        let partial = !eof && self.input.wanted() > 0;
        let held = &mut self.held;
        let rows = parse_stdin(
            &mut self.input,
            eof,
            partial,
            &self.plan,
            &self.interrupt,
            &mut |batches| {
                held.take(batches, usize::MAX);
                Ok(())
            },
        )?;
        self.consumed(before);
        self.rows += rows;
        Ok(())
    }

    /// Parses the complete records gathered (all of them at `eof`) on this thread into the
    /// builders; cuts a batch from them once they hold [`STDIN_BATCH_ROWS`] rows (at `eof`,
    /// whatever they hold).
    fn parse_here(&mut self, eof: bool) -> Result<()> {
        let kept = match self.builders.take() {
            Some(b) => b,
            None => Builders::new(&self.plan, STDIN_BATCH_ROWS),
        };
        let rows_before = kept.rows();
        let mut sink = RowSink::resume(&self.plan, "STDIN".into(), kept);
        let before = self.input.buf.len();
        let parsed = self.input.parse_here(eof, &self.interrupt, &mut sink);
        let (kept, rejects) = sink.suspend();
        self.rows += (kept.rows() - rows_before) as u64;
        self.builders = Some(kept);
        // PostgreSQL has no MAXERROR: the first bad row is the error, naming its line.
        if let Some(first) = rejects.into_iter().next() {
            return Err(first.error);
        }
        parsed?;
        self.consumed(before);
        self.cut(if eof { 0 } else { STDIN_BATCH_ROWS })
    }

    /// Moves the builders' rows to the held rows as one batch once they hold at least
    /// `rows` (any at all for 0).
    fn cut(&mut self, rows: usize) -> Result<()> {
        let Some(b) = self.builders.as_mut() else {
            return Ok(());
        };
        if b.rows() < rows.max(1) {
            return Ok(());
        }
        if let Some(batch) = b.cut(&self.plan, STDIN_BATCH_ROWS)? {
            self.held.take(vec![batch], usize::MAX);
        }
        Ok(())
    }

    /// After a parse of a buffer of `before` bytes: where the search for `\.` resumes, and
    /// whether the next look for complete records waits for the input to double (a look
    /// that consumed nothing of a large buffer).
    fn consumed(&mut self, before: usize) {
        let consumed = before.saturating_sub(self.input.buf.len());
        self.line_start = self.line_start.saturating_sub(consumed);
        self.retry_bytes = if consumed == 0 && before > RETRY_AFTER_BYTES_MIN {
            before.saturating_mul(2)
        } else {
            0
        };
    }

    /// The most bytes of input the load held at once before parsing them.
    pub fn peak_input_bytes(&self) -> usize {
        self.input.peak_bytes
    }

    /// The most parsed rows the load held at once before appending them.
    pub fn peak_held_rows(&self) -> usize {
        self.held.peak_rows
    }

    /// The bytes of input gathered before they are parsed: a window, which grows only
    /// while no record ends in one.
    pub fn window_bytes(&self) -> usize {
        self.input.window_bytes
    }

    /// Windows of input parsed so far, and runs of records parsed as messages completed them.
    pub fn windows_parsed(&self) -> u64 {
        self.input.windows
    }
}

/// How the appender thread appends a run of rows to the load's transaction.
pub(crate) type AppendRun = dyn FnMut(&mut Transaction, &[RecordBatch]) -> Result<()> + Send;

/// A thread that appends a COPY FROM STDIN's runs of rows to the load's own transaction
/// while the connection goes on reading and parsing the client's data, so that encoding and
/// writing a segment overlap the parse of the next one's records.
///
/// ```text
///   push / copy_in_flush --run--> [queue of RUNS_QUEUED_MAX] --> thread: append(txn, run)
///   push <--appended run, freed by the thread that allocated it--'
///   copy_in_finish: close the queue, join --> the transaction back (to commit), or the
///                   first failed append's error (the transaction dropped, undone)
/// ```
///
/// The runs come back once appended so that the connection's thread, which built them,
/// frees them: its allocator then reuses that memory for the next builders instead of
/// taking (and zeroing) fresh pages while the memory freed on another thread waits.
#[derive(Debug)]
pub(crate) struct Appender {
    hand: std::sync::mpsc::SyncSender<Vec<RecordBatch>>,
    back: std::sync::mpsc::Receiver<Vec<RecordBatch>>,
    thread: std::thread::JoinHandle<(Transaction, Result<()>)>,
}

impl Appender {
    /// Starts the thread, which owns `txn` until [`Appender::finish`].
    pub(crate) fn start(mut txn: Transaction, mut append: Box<AppendRun>) -> Result<Appender> {
        let (hand, runs) = std::sync::mpsc::sync_channel::<Vec<RecordBatch>>(RUNS_QUEUED_MAX);
        let (give_back, back) = std::sync::mpsc::channel::<Vec<RecordBatch>>();
        let thread = std::thread::Builder::new()
            .name("basalt-copy-append".into())
            .spawn(move || {
                for run in runs {
                    if let Err(e) = append(&mut txn, &run) {
                        return (txn, Err(e));
                    }
                    // The connection may be gone; then the run is freed here.
                    drop(give_back.send(run));
                }
                (txn, Ok(()))
            })
            .map_err(|e| Error::Internal(format!("could not start COPY's appender: {e}")))?;
        Ok(Appender { hand, back, thread })
    }

    /// Frees the runs appended since the last call.
    pub(crate) fn free_appended(&self) {
        while let Ok(run) = self.back.try_recv() {
            drop(run);
        }
    }

    /// Hands a run over if the queue has room; gives it back if not, or if the thread has
    /// stopped (its error comes from [`Appender::finish`]).
    pub(crate) fn try_hand(
        &self,
        run: Vec<RecordBatch>,
    ) -> std::result::Result<(), Vec<RecordBatch>> {
        use std::sync::mpsc::TrySendError;
        self.hand.try_send(run).map_err(|e| match e {
            TrySendError::Full(run) | TrySendError::Disconnected(run) => run,
        })
    }

    /// Hands a run over, waiting for room; false if the thread has stopped.
    pub(crate) fn hand(&self, run: Vec<RecordBatch>) -> bool {
        self.hand.send(run).is_ok()
    }

    /// Waits for the runs handed over to be appended: the transaction, or the first
    /// append's error.
    pub(crate) fn finish(self) -> Result<Transaction> {
        drop(self.hand);
        match self.thread.join() {
            Ok((txn, Ok(()))) => Ok(txn),
            Ok((_, Err(e))) => Err(e),
            Err(_) => Err(Error::Internal("COPY's appender panicked".into())),
        }
    }
}

fn single(c: char, what: &str) -> Result<u8> {
    if c.is_ascii() {
        Ok(c as u8)
    } else {
        Err(Error::Unsupported {
            message: format!("COPY {what} must be a single one-byte character"),
        })
    }
}

/// Reads a PostgreSQL COPY's options.
pub fn pg_format(options: &[CopyOption], legacy: &[CopyLegacyOption]) -> Result<PgFormat> {
    let (mut csv, mut binary) = (false, false);
    let (mut header, mut delimiter, mut null, mut quote, mut escape) =
        (false, None, None, b'"', None);
    let unsupported = |what: String| Error::Unsupported {
        message: format!("COPY option {what} is not supported"),
    };
    for o in options {
        match o {
            CopyOption::Format(f) => match f.value.to_ascii_lowercase().as_str() {
                "text" => (csv, binary) = (false, false),
                "csv" => (csv, binary) = (true, false),
                "binary" => (csv, binary) = (false, true),
                other => {
                    return Err(Error::Unsupported {
                        message: format!("COPY format \"{other}\" is not supported"),
                    })
                }
            },
            CopyOption::Header(h) => header = *h,
            CopyOption::Delimiter(c) => delimiter = Some(single(*c, "delimiter")?),
            CopyOption::Null(n) => null = Some(n.clone()),
            CopyOption::Quote(c) => quote = single(*c, "quote")?,
            CopyOption::Escape(c) => escape = Some(single(*c, "escape")?),
            CopyOption::Encoding(e)
                if e.eq_ignore_ascii_case("utf8") || e.eq_ignore_ascii_case("utf-8") => {}
            other => return Err(unsupported(other.to_string())),
        }
    }
    for o in legacy {
        match o {
            CopyLegacyOption::Delimiter(c) => delimiter = Some(single(*c, "delimiter")?),
            CopyLegacyOption::Null(n) => null = Some(n.clone()),
            CopyLegacyOption::Header => header = true,
            CopyLegacyOption::Csv(opts) => {
                csv = true;
                for c in opts {
                    match c {
                        CopyLegacyCsvOption::Header => header = true,
                        CopyLegacyCsvOption::Quote(q) => quote = single(*q, "quote")?,
                        CopyLegacyCsvOption::Escape(e) => escape = Some(single(*e, "escape")?),
                        other => return Err(unsupported(other.to_string())),
                    }
                }
            }
            other => return Err(unsupported(other.to_string())),
        }
    }
    if binary {
        let given = [
            (header, "HEADER"),
            (delimiter.is_some(), "DELIMITER"),
            (null.is_some(), "NULL"),
        ];
        if let Some((_, what)) = given.iter().find(|(set, _)| *set) {
            return Err(Error::Syntax {
                message: format!("cannot specify {what} in BINARY mode"),
                position: None,
            });
        }
    }
    if !csv && (quote != b'"' || escape.is_some()) {
        return Err(Error::Unsupported {
            message: "COPY QUOTE and ESCAPE are available only in CSV mode".into(),
        });
    }
    Ok(PgFormat {
        binary,
        csv,
        header,
        delimiter: delimiter.unwrap_or(if csv { b',' } else { b'\t' }),
        null: null.unwrap_or_else(|| if csv { String::new() } else { "\\N".into() }),
        quote,
        escape: escape.unwrap_or(quote),
    })
}

/// The load options of a COPY FROM STDIN in format `f`, TIMESTAMPTZ text without a zone
/// read in `zone`.
pub fn load_options(f: &PgFormat, zone: Zone) -> CopyOptions {
    CopyOptions {
        format: if f.csv {
            InputFormat::Csv
        } else {
            InputFormat::Text
        },
        delimiter: Some(f.delimiter),
        quote: f.quote,
        csv_escape: Some(f.escape),
        ignore_header: u64::from(f.header),
        null_as: Some(f.null.clone()),
        empty_as_null: false,
        blanks_as_null: false,
        trim_blanks: false,
        truncate_columns: false,
        accept_inv_chars: None,
        remove_quotes: false,
        escape: !f.csv,
        date_format: TimeFormat::Default,
        time_format: TimeFormat::Default,
        compression: Compression::None,
        max_error: 0,
        manifest: false,
        postgres: true,
        zone,
        // PostgreSQL's COPY leaves statistics to ANALYZE (and autovacuum).
        stat_update: Some(false),
    }
}

/// The table, columns and format of a COPY statement with a STDIN or STDOUT target.
pub(crate) fn is_stdio(stmt: &ast::Statement) -> bool {
    matches!(
        stmt,
        ast::Statement::Copy {
            target: ast::CopyTarget::Stdin | ast::CopyTarget::Stdout,
            ..
        }
    )
}

/// Encodes rows as COPY TO STDOUT sends them: text (tab-separated, `\N` for NULL, backslash
/// escapes) or CSV (quoted where needed, NULL as the NULL string), with an optional header.
/// TIMESTAMPTZ values are written in `zone`, the session's TimeZone.
pub fn encode(
    columns: &[ResultColumn],
    batches: &[RecordBatch],
    f: &PgFormat,
    zone: Zone,
) -> Vec<u8> {
    let mut out = String::new();
    let delim = f.delimiter as char;
    let quote = f.quote as char;
    let escape = f.escape as char;
    let field = |out: &mut String, v: Option<&str>| match v {
        None => out.push_str(&f.null),
        Some(v) if f.csv => {
            if v.is_empty() || v == f.null || v.contains([delim, quote, '\n', '\r']) {
                out.push(quote);
                for ch in v.chars() {
                    // As PostgreSQL: the quote and the escape character are escaped.
                    if ch == quote || ch == escape {
                        out.push(escape);
                    }
                    out.push(ch);
                }
                out.push(quote);
            } else {
                out.push_str(v);
            }
        }
        Some(v) => {
            for ch in v.chars() {
                match ch {
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' if delim == '\t' => out.push_str("\\t"),
                    c if c == delim => {
                        out.push('\\');
                        out.push(c);
                    }
                    c => out.push(c),
                }
            }
        }
    };
    if f.header {
        for (i, c) in columns.iter().enumerate() {
            if i > 0 {
                out.push(delim);
            }
            field(&mut out, Some(&c.name));
        }
        out.push('\n');
    }
    for b in batches {
        for row in 0..b.num_rows() {
            for (i, c) in columns.iter().enumerate() {
                if i > 0 {
                    out.push(delim);
                }
                field(
                    &mut out,
                    format_value(b.column(i).as_ref(), row, c.ty, zone).as_deref(),
                );
            }
            out.push('\n');
        }
    }
    out.into_bytes()
}

/// A running COPY TO STDOUT: its rows stream from the query as they are produced, and
/// [`CopyOut::next_chunk`] encodes them a batch at a time, so a result of any size leaves at
/// a steady memory footprint. Dropping it stops the query and frees its query slot.
#[derive(Debug)]
pub struct CopyOut {
    rows: RowStream,
    format: PgFormat,
    zone: Zone,
    /// Whether the CSV or text header line has yet to be sent.
    header_due: bool,
}

impl CopyOut {
    pub(crate) fn new(rows: RowStream, format: PgFormat, zone: Zone) -> Self {
        CopyOut {
            rows,
            header_due: format.header,
            format: PgFormat {
                header: false,
                ..format
            },
            zone,
        }
    }

    /// The number of columns each row has (for CopyOutResponse).
    pub fn columns(&self) -> usize {
        self.rows.columns().len()
    }

    /// Whether the rows go out in PostgreSQL's binary format, which the protocol layer
    /// encodes from [`CopyOut::next_batch`].
    pub fn binary(&self) -> bool {
        self.format.binary
    }

    /// The result's columns.
    pub fn result_columns(&self) -> &[ResultColumn] {
        self.rows.columns()
    }

    /// The next batch of rows, not encoded; `None` at the end. An error ends the rows.
    pub fn next_batch(&mut self) -> Option<Result<RecordBatch>> {
        self.rows.next()
    }

    /// The next piece of the encoded output and the rows in it (the header line comes
    /// first, alone); `None` at the end. An error ends the output.
    pub fn next_chunk(&mut self) -> Option<Result<(Vec<u8>, u64)>> {
        if self.header_due {
            self.header_due = false;
            let header = PgFormat {
                header: true,
                ..self.format.clone()
            };
            return Some(Ok((
                encode(self.rows.columns(), &[], &header, self.zone),
                0,
            )));
        }
        let batch = match self.rows.next()? {
            Ok(batch) => batch,
            Err(e) => return Some(Err(e)),
        };
        let rows = batch.num_rows() as u64;
        let data = encode(
            self.rows.columns(),
            std::slice::from_ref(&batch),
            &self.format,
            self.zone,
        );
        Some(Ok((data, rows)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{ArrayRef, Int32Array, StringArray};
    use std::sync::Arc;

    // Text and CSV output of values that need escaping or quoting, and NULL.
    #[test]
    fn encodes_text_and_csv() {
        let columns = vec![
            ResultColumn {
                name: "a".into(),
                ty: SqlType::Integer,
                origin: None,
            },
            ResultColumn {
                name: "b".into(),
                ty: SqlType::Text,
                origin: None,
            },
        ];
        let a: ArrayRef = Arc::new(Int32Array::from(vec![Some(1), None]));
        let b: ArrayRef = Arc::new(StringArray::from(vec![Some("x\ty\\z"), Some("")]));
        let batch = RecordBatch::try_from_iter(vec![("a", a), ("b", b)]).unwrap();
        let text = pg_format(&[], &[]).unwrap();
        assert_eq!(
            String::from_utf8(encode(
                &columns,
                std::slice::from_ref(&batch),
                &text,
                Zone::UTC
            ))
            .unwrap(),
            "1\tx\\ty\\\\z\n\\N\t\n"
        );
        let csv = pg_format(
            &[CopyOption::Format("csv".into()), CopyOption::Header(true)],
            &[],
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(encode(&columns, &[batch], &csv, Zone::UTC)).unwrap(),
            "a,b\n1,x\ty\\z\n,\"\"\n"
        );
    }

    // The data ends at a `\.` line, found across pushes that cut lines anywhere (the
    // records before it parsed as their lines end), and at the end of the data without a
    // newline after it; a line that only starts with `\.` is data.
    #[test]
    fn end_of_data_marker() {
        let plan = crate::copy::tests::plan(load_options(&pg_format(&[], &[]).unwrap(), Zone::UTC));
        let copy = || CopyIn::new("public".into(), plan.clone(), false, Interrupt::none());
        let data = b"1\tx\n2\ty\n\\.\nignored\n";
        for cut in 0..data.len() {
            let mut c = copy();
            c.push(&data[..cut]);
            c.push(&data[cut..]);
            c.parse(true).unwrap();
            assert!(c.ended, "cut at {cut}");
            assert_eq!(c.rows, 2, "cut at {cut}");
            assert!(c.input.buf.is_empty(), "cut at {cut}");
        }
        let mut c = copy();
        c.push(b"1\tx\n\\.");
        assert!(!c.ended);
        c.parse(true).unwrap();
        assert!(c.ended);
        assert_eq!(c.rows, 1);
        let mut c = copy();
        c.push(b"1\tx\n\\.x\n");
        c.find_end(true);
        assert!(!c.ended);
    }
}
