//! Moving data between files and tables: Redshift's COPY (files into a table) and UNLOAD
//! (a query's rows into files).
//!
//! - `options`: the COPY and UNLOAD statements and their options, parsed from tokens.
//! - `files`: [`files::FileStore`], the one interface to where files live (local paths now),
//!   location listing (file, directory, glob, prefix) and decompression.
//! - `text`: splitting delimited text, CSV and fixed-width input into records of fields.
//! - `json`: JSON objects (`'auto'`, `'auto ignorecase'`, jsonpaths) into records.
//! - `values`: one field to one typed value, through the engine's input functions, and the
//!   column builders the values go into.
//! - `parquet`: Parquet input by column position, and Parquet output for UNLOAD.
//! - `unload`: writing a query's batches as text, CSV, JSON or Parquet files.
//! - `load_errors`: STL_LOAD_ERRORS, the rows COPY rejected.
//!
//! A COPY reads every file in parallel (one rayon task per file), builds Arrow arrays of the
//! table's column types directly, and hands the batches to the session, which appends them in
//! one commit: an error beyond MAXERROR leaves the table untouched.

pub mod files;
pub mod json;
pub mod load_errors;
pub mod options;
pub mod parquet;
pub mod postgres;
pub mod text;
pub mod unload;
pub mod values;

use std::borrow::Cow;
use std::io::Read;
use std::sync::Arc;

use arrow_array::{new_null_array, ArrayRef, RecordBatch};
use arrow_schema::{Field as ArrowField, Schema};
use basalt_storage::{SqlType, TableDef};
use rayon::prelude::*;

use crate::copy::files::FileStore;
use crate::copy::load_errors::LoadErrorRow;
use crate::copy::options::{CopyOptions, CopyStatement, InputFormat};
use crate::copy::text::{Layout, Splitter};
use crate::copy::values::{convert, convert_plain, convert_text_into, ColumnBuilder};
use crate::error::{Error, Result};
use crate::interrupt::Interrupt;
use crate::types::Datum;

/// Longest raw line and raw field kept in STL_LOAD_ERRORS, in characters (Redshift's).
const RAW_LINE_CHARS_MAX: usize = 1024;

/// Bytes of text input one worker parses at a time.
const CHUNK_BYTES: usize = 8 << 20;

/// Records read between checks for a cancel request or a statement timeout.
const INTERRUPT_CHECK_ROWS: usize = 16_384;

/// A column COPY fills.
#[derive(Debug, Clone)]
pub struct TargetColumn {
    /// Its position in the table.
    pub index: usize,
    pub name: String,
    pub ty: SqlType,
    pub nullable: bool,
}

/// What a COPY loads into: the table and the columns its input fields fill, in order.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    pub table: TableDef,
    pub targets: Vec<TargetColumn>,
    pub options: CopyOptions,
}

impl LoadPlan {
    /// Checks the column list against the table.
    pub fn new(stmt: &CopyStatement, table: &TableDef) -> Result<LoadPlan> {
        let mut targets = Vec::new();
        if stmt.columns.is_empty() {
            for (index, c) in table.columns.iter().enumerate() {
                targets.push(TargetColumn {
                    index,
                    name: c.name.clone(),
                    ty: c.ty,
                    nullable: c.nullable,
                });
            }
        } else {
            for name in &stmt.columns {
                let index = table
                    .columns
                    .iter()
                    .position(|c| &c.name == name)
                    .ok_or_else(|| Error::UndefinedColumn {
                        name: format!("{name}\" of relation \"{}", table.name),
                        position: None,
                    })?;
                if targets.iter().any(|t: &TargetColumn| t.index == index) {
                    return Err(Error::DuplicateColumn { name: name.clone() });
                }
                let c = &table.columns[index];
                targets.push(TargetColumn {
                    index,
                    name: c.name.clone(),
                    ty: c.ty,
                    nullable: c.nullable,
                });
            }
            // A NOT NULL column left out would be NULL in every row, unless it has a DEFAULT.
            for (i, c) in table.columns.iter().enumerate() {
                let default = table.default_value(i).map_err(Error::Internal)?;
                if !c.nullable && default.is_none() && !targets.iter().any(|t| t.index == i) {
                    return Err(Error::NotNullViolation {
                        table: table.name.clone(),
                        column: c.name.clone(),
                    });
                }
            }
        }
        Ok(LoadPlan {
            table: table.clone(),
            targets,
            options: stmt.options.clone(),
        })
    }

    /// The Arrow schema of the full table.
    fn schema(&self) -> Arc<Schema> {
        Arc::new(Schema::new(
            self.table
                .columns
                .iter()
                .map(|c| ArrowField::new(&c.name, c.ty.arrow_type(), true))
                .collect::<Vec<_>>(),
        ))
    }

    /// A batch of the full table from arrays of the target columns.
    fn table_batch(&self, arrays: Vec<ArrayRef>, rows: usize) -> Result<RecordBatch> {
        // Columns left out: their DEFAULT (ALTER TABLE ADD COLUMN ... DEFAULT), or NULL.
        // Only the columns left out are made here: a NULL array of a target column would be
        // zeroed memory thrown away at once.
        let mut cols: Vec<Option<ArrayRef>> = vec![None; self.table.columns.len()];
        for (t, a) in self.targets.iter().zip(arrays) {
            cols[t.index] = Some(a);
        }
        let mut out: Vec<ArrayRef> = Vec::with_capacity(cols.len());
        for (i, (c, col)) in self.table.columns.iter().zip(cols).enumerate() {
            out.push(match col {
                Some(a) => a,
                None => match self.table.default_value(i).map_err(Error::Internal)? {
                    Some(one) => crate::kernels::eval::repeat(&one, rows)?,
                    None => new_null_array(&c.ty.arrow_type(), rows),
                },
            });
        }
        Ok(RecordBatch::try_new(self.schema(), out)?)
    }
}

/// One input field: its value (`None` for NULL) and its bytes as read, for error reports.
pub(crate) type InputField<'a> = (Option<Cow<'a, [u8]>>, &'a [u8]);

/// A row COPY could not load.
#[derive(Debug)]
pub struct Reject {
    pub file: String,
    pub line: u64,
    pub column: String,
    /// The column's type, as Redshift's `type` column shows it.
    pub column_type: String,
    pub raw_line: String,
    pub raw_field: String,
    pub error: Error,
}

/// What reading one file produced.
#[derive(Debug)]
struct FileOutcome {
    batches: Vec<RecordBatch>,
    rejects: Vec<Reject>,
}

/// The outcome of a whole COPY: the rows it rejected (at most MAXERROR of them) and the rows
/// it handed on.
#[derive(Debug)]
pub struct Loaded {
    pub rejects: Vec<Reject>,
    pub rows: u64,
}

/// Where a COPY's batches go as they are read, in file order: the session appends them to
/// its transaction, so that no more than a window of the input is in memory at once.
pub type BatchSink<'s> = dyn FnMut(Vec<RecordBatch>) -> Result<()> + 's;

/// Reads every file of a COPY and hands its rows to `sink` in batches of the table's columns.
///
/// Files are read one after another, each in bounded windows whose pieces are parsed in
/// parallel; rejected rows are collected in file order. When more rows are rejected than
/// MAXERROR allows, `Err` carries the first one past the limit and the rejects up to it (for
/// STL_LOAD_ERRORS), and the caller discards what `sink` received.
pub fn load(
    fs: &dyn FileStore,
    stmt: &CopyStatement,
    plan: &LoadPlan,
    interrupt: &Interrupt,
    sink: &mut BatchSink<'_>,
) -> std::result::Result<Loaded, (Error, Vec<Reject>)> {
    let mut state = LoadState {
        sink,
        rejects: Vec::new(),
        rows: 0,
        max: plan.options.max_error as usize,
        over: None,
        peak_input_bytes: 0,
    };
    let outcome = list_files(fs, stmt).and_then(|files| {
        for f in &files {
            interrupt.check()?;
            load_file(fs, f, plan, interrupt, &mut state)?;
            if state.over.is_some() {
                break;
            }
        }
        Ok(())
    });
    let LoadState {
        rejects,
        rows,
        over,
        ..
    } = state;
    match (outcome, over) {
        (Err(e), _) => Err((e, rejects)),
        (Ok(()), Some(e)) => Err((e, rejects)),
        (Ok(()), None) => Ok(Loaded { rejects, rows }),
    }
}

/// A load in progress: the sink, the rejects so far, and the error once MAXERROR is passed.
pub(crate) struct LoadState<'a, 's> {
    sink: &'a mut BatchSink<'s>,
    rejects: Vec<Reject>,
    rows: u64,
    max: usize,
    over: Option<Error>,
    /// The most bytes of JSON input held at once, for the tests of the bound.
    peak_input_bytes: usize,
}

impl LoadState<'_, '_> {
    /// Takes the outcome of a piece of input; `false` once the load must stop.
    fn take(&mut self, outcome: FileOutcome) -> Result<bool> {
        if self.over.is_some() {
            return Ok(false);
        }
        self.rejects.extend(outcome.rejects);
        if self.rejects.len() > self.max {
            self.rejects.truncate(self.max + 1);
            if let Some(last) = self.rejects.last() {
                self.over = Some(clone_error(&last.error));
            }
            return Ok(false);
        }
        let batches: Vec<RecordBatch> = outcome
            .batches
            .into_iter()
            .filter(|b| b.num_rows() > 0)
            .collect();
        if !batches.is_empty() {
            self.rows += batches.iter().map(|b| b.num_rows() as u64).sum::<u64>();
            (self.sink)(batches)?;
        }
        Ok(true)
    }
}

/// A copy of a row error (errors are not `Clone`; the ones a row produces are messages).
fn clone_error(e: &Error) -> Error {
    match e {
        Error::Load { message, cause } => Error::Load {
            message: message.clone(),
            cause: Box::new(clone_error(cause)),
        },
        Error::InvalidTextRepresentation { message } => Error::InvalidTextRepresentation {
            message: message.clone(),
        },
        Error::InvalidDatetime { message } => Error::InvalidDatetime {
            message: message.clone(),
        },
        Error::NumericOutOfRange { message } => Error::NumericOutOfRange {
            message: message.clone(),
        },
        Error::StringTooLong { message } => Error::StringTooLong {
            message: message.clone(),
        },
        Error::CharacterNotInRepertoire { message } => Error::CharacterNotInRepertoire {
            message: message.clone(),
        },
        Error::BadCopyFileFormat { message } => Error::BadCopyFileFormat {
            message: message.clone(),
        },
        Error::NotNullViolation { table, column } => Error::NotNullViolation {
            table: table.clone(),
            column: column.clone(),
        },
        Error::DatatypeMismatch { message, position } => Error::DatatypeMismatch {
            message: message.clone(),
            position: *position,
        },
        other => Error::Internal(other.to_string()),
    }
}

/// The files of a COPY: the location's, or a manifest's entries.
fn list_files(fs: &dyn FileStore, stmt: &CopyStatement) -> Result<Vec<String>> {
    if !stmt.options.manifest {
        return fs.list(&stmt.from);
    }
    let shown = fs.display(&stmt.from);
    let bytes = fs.read(&stmt.from)?;
    let bad = |why: String| Error::InvalidParameter {
        message: format!("invalid manifest file \"{shown}\": {why}"),
    };
    let doc: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
    let entries = doc
        .get("entries")
        .and_then(|e| e.as_array())
        .ok_or_else(|| bad("no \"entries\" array".into()))?;
    let mut out = Vec::new();
    for entry in entries {
        let url = entry
            .get("url")
            .and_then(|u| u.as_str())
            .ok_or_else(|| bad("an entry has no \"url\"".into()))?;
        let mandatory = entry
            .get("mandatory")
            .and_then(|m| m.as_bool())
            .unwrap_or(false);
        match fs.list(url) {
            Ok(files) => out.extend(files),
            Err(Error::UndefinedFile { .. }) if !mandatory => {}
            Err(e) => return Err(e),
        }
    }
    if out.is_empty() {
        return Err(Error::UndefinedFile {
            message: format!("manifest file \"{shown}\" lists no file that exists"),
        });
    }
    Ok(out)
}

/// Fills target columns row by row; a row with any bad field is rejected whole.
pub(crate) struct RowSink<'a> {
    plan: &'a LoadPlan,
    file: String,
    builders: Vec<ColumnBuilder>,
    values: Vec<Datum>,
    rows: usize,
    rejects: Vec<Reject>,
}

impl<'a> RowSink<'a> {
    fn new(plan: &'a LoadPlan, file: String) -> Self {
        RowSink::with_rows(plan, file, 0)
    }

    /// A sink whose builders have room for `rows` rows, so that a chunk's values are not
    /// copied as the builders grow.
    fn with_rows(plan: &'a LoadPlan, file: String, rows: usize) -> Self {
        RowSink {
            plan,
            file,
            builders: plan
                .targets
                .iter()
                .map(|t| ColumnBuilder::with_capacity(t.ty, rows))
                .collect(),
            values: Vec::with_capacity(plan.targets.len()),
            rows: 0,
            rejects: Vec::new(),
        }
    }

    /// A sink that goes on filling `kept`, the builders an earlier sink left (see
    /// [`RowSink::suspend`]).
    fn resume(plan: &'a LoadPlan, file: String, kept: Builders) -> Self {
        RowSink {
            plan,
            file,
            builders: kept.columns,
            values: kept.values,
            rows: kept.rows,
            rejects: Vec::new(),
        }
    }

    /// The builders with the rows so far, to be resumed, and the rows rejected.
    fn suspend(self) -> (Builders, Vec<Reject>) {
        let kept = Builders {
            columns: self.builders,
            values: self.values,
            rows: self.rows,
        };
        (kept, self.rejects)
    }

    /// True once this file alone has more rejects than MAXERROR allows.
    fn over_limit(&self) -> bool {
        self.rejects.len() as u64 > self.plan.options.max_error
    }

    fn reject(&mut self, line: u64, column: &str, raw_line: &[u8], raw_field: &[u8], cause: Error) {
        let at = if column.is_empty() {
            format!("file {}, line {line}", self.file)
        } else {
            format!("file {}, line {line}, column {column}", self.file)
        };
        let column_type = self
            .plan
            .targets
            .iter()
            .find(|t| t.name == column)
            .map(|t| t.ty.pg_name())
            .unwrap_or_default();
        self.rejects.push(Reject {
            file: self.file.clone(),
            line,
            column: column.to_string(),
            column_type,
            raw_line: lossy_prefix(raw_line),
            raw_field: lossy_prefix(raw_field),
            error: Error::Load {
                message: format!("{cause} ({at})"),
                cause: Box::new(cause),
            },
        });
    }

    /// One row: a field per target column (`None` is NULL), with the raw bytes for errors.
    fn row(&mut self, line: u64, raw_line: &[u8], fields: &[InputField<'_>]) {
        // Values are converted in place: a text slot keeps its buffer from row to row.
        self.values.resize(self.plan.targets.len(), Datum::Null);
        for (i, (t, (value, raw))) in self.plan.targets.iter().zip(fields).enumerate() {
            if let Some(bytes) = value {
                if let Some(d) = convert_plain(bytes, t.ty, &self.plan.options) {
                    self.values[i] = d;
                    continue;
                }
            }
            let text = match value {
                None => None,
                Some(bytes) => match decode(bytes, self.plan.options.accept_inv_chars) {
                    Ok(s) => Some(s),
                    Err(e) => return self.reject(line, &t.name, raw_line, raw, e),
                },
            };
            let slot = &mut self.values[i];
            let done = match text.as_deref() {
                Some(s) if t.ty.is_string() => convert_text_into(s, t.ty, &self.plan.options, slot),
                text => convert(text, t.ty, &self.plan.options).map(|d| *slot = d),
            };
            if let Err(e) = done {
                return self.reject(line, &t.name, raw_line, raw, e);
            }
            if self.values[i].is_null() && !t.nullable {
                let e = Error::NotNullViolation {
                    table: self.plan.table.name.clone(),
                    column: t.name.clone(),
                };
                return self.reject(line, &t.name, raw_line, raw, e);
            }
        }
        for (b, v) in self.builders.iter_mut().zip(&self.values) {
            // Values were converted for this column's type, so this cannot fail.
            if let Err(e) = b.append(v) {
                let name = self.plan.targets.first().map(|t| t.name.clone());
                return self.reject(line, &name.unwrap_or_default(), raw_line, &[], e);
            }
        }
        self.rows += 1;
    }

    fn finish(mut self) -> Result<FileOutcome> {
        let arrays = self
            .builders
            .iter_mut()
            .map(|b| b.finish())
            .collect::<Result<Vec<_>>>()?;
        let batch = self.plan.table_batch(arrays, self.rows)?;
        Ok(FileOutcome {
            batches: vec![batch],
            rejects: self.rejects,
        })
    }
}

/// Column builders filled across the messages of a COPY FROM STDIN, so that the records of
/// many small messages go into one batch rather than a batch each.
pub(crate) struct Builders {
    columns: Vec<ColumnBuilder>,
    values: Vec<Datum>,
    /// Rows in the builders.
    rows: usize,
}

impl std::fmt::Debug for Builders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builders")
            .field("columns", &self.columns.len())
            .field("rows", &self.rows)
            .finish()
    }
}

impl Builders {
    /// Empty builders of the plan's target columns with room for `rows` rows.
    pub(crate) fn new(plan: &LoadPlan, rows: usize) -> Self {
        Builders {
            columns: plan
                .targets
                .iter()
                .map(|t| ColumnBuilder::with_capacity(t.ty, rows))
                .collect(),
            values: Vec::with_capacity(plan.targets.len()),
            rows: 0,
        }
    }

    /// Rows in the builders.
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// The rows so far as a batch of the table's columns (`None` when there are none); the
    /// builders start again empty, with room for `rows` rows.
    pub(crate) fn cut(&mut self, plan: &LoadPlan, rows: usize) -> Result<Option<RecordBatch>> {
        if self.rows == 0 {
            return Ok(None);
        }
        let arrays = self
            .columns
            .iter_mut()
            .map(|b| b.finish())
            .collect::<Result<Vec<_>>>()?;
        let filled = self.rows.max(1);
        // The next batch's strings are about as long as this one's: room for them up front
        // (and a sixteenth more).
        self.columns = plan
            .targets
            .iter()
            .zip(&arrays)
            .map(|(t, a)| {
                let bytes = a
                    .as_any()
                    .downcast_ref::<arrow_array::StringArray>()
                    .map_or(0, |s| s.value_data().len());
                let bytes = bytes.saturating_mul(rows) / filled;
                ColumnBuilder::with_capacity_and_bytes(t.ty, rows, bytes + bytes / 16)
            })
            .collect();
        let used = std::mem::take(&mut self.rows);
        Ok(Some(plan.table_batch(arrays, used)?))
    }
}

fn lossy_prefix(b: &[u8]) -> String {
    String::from_utf8_lossy(b)
        .chars()
        .take(RAW_LINE_CHARS_MAX)
        .collect()
}

/// Bytes to text: invalid UTF-8 is an error (22021), or replaced byte by byte under
/// ACCEPTINVCHARS.
fn decode<'b>(bytes: &'b [u8], replacement: Option<char>) -> Result<Cow<'b, str>> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(Cow::Borrowed(s)),
        Err(e) => match replacement {
            Some(r) => {
                let mut out = String::with_capacity(bytes.len());
                let mut rest = bytes;
                loop {
                    match std::str::from_utf8(rest) {
                        Ok(s) => {
                            out.push_str(s);
                            break;
                        }
                        Err(e) => {
                            let good = e.valid_up_to();
                            out.push_str(std::str::from_utf8(&rest[..good]).unwrap_or_default());
                            let bad = e.error_len().unwrap_or(rest.len() - good);
                            for _ in 0..bad {
                                out.push(r);
                            }
                            rest = &rest[good + bad..];
                        }
                    }
                }
                Ok(Cow::Owned(out))
            }
            None => {
                let at = e.valid_up_to();
                let len = e.error_len().unwrap_or(bytes.len() - at).max(1);
                let shown: Vec<String> = bytes[at..(at + len).min(bytes.len())]
                    .iter()
                    .map(|b| format!("0x{b:02x}"))
                    .collect();
                Err(Error::CharacterNotInRepertoire {
                    message: format!(
                        "invalid byte sequence for encoding \"UTF8\": {}",
                        shown.join(" ")
                    ),
                })
            }
        },
    }
}

/// Reads one file into batches of the table's columns, handing them to `state` as they
/// are read.
fn load_file(
    fs: &dyn FileStore,
    file: &str,
    plan: &LoadPlan,
    interrupt: &Interrupt,
    state: &mut LoadState<'_, '_>,
) -> Result<()> {
    let shown = fs.display(file);
    let o = &plan.options;
    if o.format == InputFormat::Parquet {
        let input = parquet::SharedFile::new(fs.open(file)?, &shown)?;
        return parquet::stream_parquet(input, &shown, plan, interrupt, &mut |batches| {
            state.take(FileOutcome {
                batches,
                rejects: Vec::new(),
            })
        });
    }
    let mut input = files::reader(fs.open(file)?, o.compression);
    if let InputFormat::Json(mode) = &o.format {
        let columns = json::JsonColumns::new(mode, fs, &RowSink::new(plan, shown.clone()))?;
        return stream_json(
            input.as_mut(),
            o.compression,
            &shown,
            plan,
            &columns,
            CHUNK_BYTES * 2,
            interrupt,
            state,
        );
    }
    stream_delimited(
        input.as_mut(),
        o.compression,
        &shown,
        plan,
        interrupt,
        state,
    )
}

/// Delimited and fixed-width input read as a stream: a window of the input at a time is cut
/// into chunks at record boundaries and the chunks are parsed in parallel; the unfinished
/// record at the window's end starts the next window. A window grows only while it holds no
/// complete chunk (a record longer than a window, or REMOVEQUOTES input, which is never cut).
fn stream_delimited(
    input: &mut dyn Read,
    compression: options::Compression,
    shown: &str,
    plan: &LoadPlan,
    interrupt: &Interrupt,
    state: &mut LoadState<'_, '_>,
) -> Result<()> {
    let mut windows = Windows::new(&plan.options);
    let mut eof = false;
    loop {
        interrupt.check()?;
        let want = windows.wanted();
        if want > 0 && !eof {
            let got = input
                .take(want as u64)
                .read_to_end(&mut windows.buf)
                .map_err(|e| files::read_error(&e, compression, shown))?;
            eof = got < want;
        }
        if windows.parse(eof, false, shown, plan, interrupt, state)? != Parsed::More {
            return Ok(());
        }
    }
}

/// JSON input read as a stream: a window of `window_bytes` at a time, its complete values
/// loaded and the value it cuts off carried into the next window (which grows while it
/// holds no complete value). A window is cut where top-level values end into a piece per
/// worker ([`json::split_values`]), and the pieces are parsed in parallel; their rows and
/// rejects are taken in order, and a syntax error in one drops the pieces after it, as it
/// ends the file.
#[allow(clippy::too_many_arguments)]
fn stream_json(
    input: &mut dyn Read,
    compression: options::Compression,
    shown: &str,
    plan: &LoadPlan,
    columns: &json::JsonColumns,
    window_bytes: usize,
    interrupt: &Interrupt,
    state: &mut LoadState<'_, '_>,
) -> Result<()> {
    let mut window = window_bytes.max(1);
    let piece_bytes = (window_bytes / rayon::current_num_threads().max(1)).max(1);
    let mut buf: Vec<u8> = Vec::new();
    let mut line = 1u64;
    let mut eof = false;
    loop {
        interrupt.check()?;
        if buf.len() < window && !eof {
            let want = window - buf.len();
            let got = input
                .take(want as u64)
                .read_to_end(&mut buf)
                .map_err(|e| files::read_error(&e, compression, shown))?;
            eof = got < want;
        }
        state.peak_input_bytes = state.peak_input_bytes.max(buf.len());
        let pieces = json::split_values(&buf, piece_bytes, line);
        let last = pieces.len() - 1;
        let parts: Vec<Result<(FileOutcome, json::JsonWindow)>> = pieces
            .par_iter()
            .enumerate()
            .map(|(k, (range, at_line))| {
                let mut sink = RowSink::new(plan, shown.to_string());
                // Every piece but the last ends where a value ends.
                let piece_eof = eof || k < last;
                let done = json::load_json_window(
                    &buf[range.clone()],
                    piece_eof,
                    *at_line,
                    columns,
                    &mut sink,
                );
                Ok((sink.finish()?, done))
            })
            .collect();
        let mut consumed = 0;
        for ((range, _), part) in pieces.iter().zip(parts) {
            let (outcome, done) = part?;
            if !state.take(outcome)? || done.broken {
                return Ok(());
            }
            if range.end == buf.len() {
                if done.finished {
                    return Ok(());
                }
                consumed = range.start + done.consumed;
                line = done.line;
            }
        }
        if consumed == 0 {
            // No value ends in the window: read more.
            window = window.max(buf.len()) * 2;
            continue;
        }
        buf.drain(..consumed);
    }
}

/// What [`Windows::parse`] left to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// Records (or a header) wait for more input.
    More,
    /// The input is parsed to its end.
    Done,
    /// The load must stop: MAXERROR was passed.
    Stopped,
}

/// Delimited or fixed-width input arriving a window at a time, from a file or from a
/// client's COPY FROM STDIN: the bytes gathered but not yet parsed, and where they are.
///
/// The buffer holds at most a window (plus the last piece a caller added): [`Windows::parse`]
/// parses every complete record in it and keeps only the unfinished one at its end.
#[derive(Debug)]
pub(crate) struct Windows {
    layout: Layout,
    ignore_header: u64,
    /// Bytes to gather before parsing; doubles while no record ends in a window.
    pub(crate) window_bytes: usize,
    /// Bytes of input one worker parses at a time.
    chunk_bytes: usize,
    /// The input not parsed yet: the unfinished record of the last window, then what
    /// arrived since.
    pub(crate) buf: Vec<u8>,
    /// The line `buf` starts on.
    line: u64,
    /// Whether IGNOREHEADER's lines are still to be skipped.
    header: bool,
    /// The most bytes `buf` held when parsed, for the tests of its bound.
    pub(crate) peak_bytes: usize,
    /// Windows parsed so far (and pieces parsed by [`Windows::parse_here`]).
    pub(crate) windows: u64,
}

impl Windows {
    pub(crate) fn new(o: &CopyOptions) -> Self {
        Windows::sized(o, CHUNK_BYTES)
    }

    /// Windows of two chunks of `chunk_bytes` per worker.
    pub(crate) fn sized(o: &CopyOptions, chunk_bytes: usize) -> Self {
        let chunk_bytes = chunk_bytes.max(1);
        Windows {
            layout: layout(o),
            ignore_header: o.ignore_header,
            window_bytes: chunk_bytes * 2 * rayon::current_num_threads().max(1),
            chunk_bytes,
            buf: Vec::new(),
            line: 1,
            header: true,
            peak_bytes: 0,
            windows: 0,
        }
    }

    /// Bytes to add before the window is full.
    pub(crate) fn wanted(&self) -> usize {
        self.window_bytes.saturating_sub(self.buf.len())
    }

    /// Where the records start in the buffer: past IGNOREHEADER's lines (counted) the first
    /// time, then at its start; `None` while the header is not all in.
    fn past_header(&mut self, eof: bool) -> Option<usize> {
        if !self.header {
            return Some(0);
        }
        let mut h = Splitter::new(&self.buf, self.layout.clone());
        h.skip_lines(self.ignore_header);
        let (at, first_line) = h.position();
        if at >= self.buf.len() && !eof && self.ignore_header > 0 {
            return None;
        }
        self.header = false;
        self.line = first_line;
        Some(at)
    }

    /// Parses the complete records in the buffer (all of it at `eof`) on this thread into
    /// `sink`, whose builders go on from earlier calls, and keeps the unfinished record: what
    /// COPY FROM STDIN does with the records each message completes. False when no record
    /// ended (the buffer waits for more).
    pub(crate) fn parse_here(
        &mut self,
        eof: bool,
        interrupt: &Interrupt,
        sink: &mut RowSink<'_>,
    ) -> Result<bool> {
        self.peak_bytes = self.peak_bytes.max(self.buf.len());
        let Some(start) = self.past_header(eof) else {
            return Ok(false);
        };
        let end = if eof {
            Some(self.buf.len())
        } else {
            text::last_record_end(&self.buf[start..], &self.layout).map(|e| start + e)
        };
        let Some(end) = end else {
            self.buf.drain(..start);
            return Ok(false);
        };
        self.windows += 1;
        self.line = delimited(
            &self.buf[start..end],
            self.line,
            self.layout.clone(),
            sink,
            interrupt,
        )?;
        self.buf.drain(..end);
        Ok(true)
    }

    /// Parses the complete records in the buffer (every record at `eof`), in parallel by
    /// chunks, and hands their rows to `state`; keeps the unfinished record for the next
    /// window. Without `eof`, a buffer holding no complete chunk waits for more input, and
    /// the window grows so that more arrives; with `partial` (a window not yet full, as
    /// COPY FROM STDIN parses what each message completes) every complete record is parsed,
    /// the last chunk's too, and a buffer without one waits without growing the window.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn parse(
        &mut self,
        eof: bool,
        partial: bool,
        shown: &str,
        plan: &LoadPlan,
        interrupt: &Interrupt,
        state: &mut LoadState<'_, '_>,
    ) -> Result<Parsed> {
        self.peak_bytes = self.peak_bytes.max(self.buf.len());
        let Some(start) = self.past_header(eof) else {
            // A header longer than the window waits for more.
            if !partial {
                self.window_bytes *= 2;
            }
            return Ok(Parsed::More);
        };
        let mut pieces = text::chunks(
            &self.buf[start..],
            &self.layout,
            self.chunk_bytes,
            self.line,
        );
        let carry = if eof {
            None
        } else {
            match pieces.pop() {
                Some((range, at_line)) if partial => {
                    let body = &self.buf[start + range.start..start + range.end];
                    match text::last_record_end(body, &self.layout) {
                        Some(end) => {
                            let lines = body[..end].iter().filter(|b| **b == b'\n').count();
                            pieces.push((range.start..range.start + end, at_line));
                            Some((range.start + end..range.end, at_line + lines as u64))
                        }
                        None if !pieces.is_empty() => Some((range, at_line)),
                        None => {
                            // No record ends in what arrived: wait for more.
                            if start > 0 {
                                self.buf.drain(..start);
                            }
                            return Ok(Parsed::More);
                        }
                    }
                }
                Some(last) if !pieces.is_empty() => Some(last),
                _ => {
                    // No record ends in the window: read more before parsing.
                    self.window_bytes = self.window_bytes.max(self.buf.len()) * 2;
                    if start > 0 {
                        self.buf.drain(..start);
                    }
                    return Ok(Parsed::More);
                }
            }
        };
        self.windows += 1;
        let buf = &self.buf;
        let layout = &self.layout;
        // Each piece's lines, from where the next one starts (the last, at the end of the
        // input, counts its own): room for its rows.
        let next_lines: Vec<Option<u64>> = pieces
            .iter()
            .skip(1)
            .map(|(_, l)| Some(*l))
            .chain(std::iter::once(carry.as_ref().map(|(_, l)| *l)))
            .collect();
        let parse_piece =
            |((range, at_line), next_line): (&(std::ops::Range<usize>, u64), &Option<u64>)| {
                let chunk = &buf[start + range.start..start + range.end];
                let rows = match next_line {
                    Some(next) => next.saturating_sub(*at_line) as usize + 1,
                    None => chunk.iter().filter(|b| **b == b'\n').count() + 1,
                };
                let mut sink = RowSink::with_rows(plan, shown.to_string(), rows);
                delimited(chunk, *at_line, layout.clone(), &mut sink, interrupt)?;
                sink.finish()
            };
        // One piece (as a COPY FROM STDIN message's records usually are) is parsed on this
        // thread: handing it to the pool from outside costs more than parsing it.
        let parts: Vec<Result<FileOutcome>> = if pieces.len() == 1 {
            pieces.iter().zip(&next_lines).map(parse_piece).collect()
        } else {
            pieces
                .par_iter()
                .zip(&next_lines)
                .map(parse_piece)
                .collect()
        };
        for p in parts {
            if !state.take(p?)? {
                return Ok(Parsed::Stopped);
            }
        }
        match carry {
            Some((range, at_line)) => {
                self.buf.drain(..start + range.start);
                self.line = at_line;
                Ok(Parsed::More)
            }
            None => {
                self.buf.clear();
                Ok(Parsed::Done)
            }
        }
    }
}

/// Reads one text, CSV or JSON file of an external table (its bytes already read) into
/// batches of the plan's columns. Every row must load: the first bad one is the error, and
/// it names the file, the line and the column.
pub(crate) fn read_external_file(
    fs: &dyn FileStore,
    file: &str,
    bytes: Vec<u8>,
    plan: &LoadPlan,
    interrupt: &Interrupt,
) -> Result<Vec<RecordBatch>> {
    let shown = fs.display(file);
    let o = &plan.options;
    let data = files::decompress(bytes, o.compression, &shown)?;
    let outcome = if let InputFormat::Json(mode) = &o.format {
        let mut sink = RowSink::new(plan, shown);
        json::load_json(&data, mode, fs, &mut sink)?;
        sink.finish()?
    } else {
        load_delimited(&data, &shown, plan, interrupt)?
    };
    if let Some(first) = outcome.rejects.into_iter().next() {
        return Err(first.error);
    }
    Ok(outcome
        .batches
        .into_iter()
        .filter(|b| b.num_rows() > 0)
        .collect())
}

/// Delimited and fixed-width input: the data is cut into chunks at record boundaries and the
/// chunks are parsed in parallel, each into its own batch; rejects keep their order.
fn load_delimited(
    data: &[u8],
    shown: &str,
    plan: &LoadPlan,
    interrupt: &Interrupt,
) -> Result<FileOutcome> {
    let o = &plan.options;
    let layout = layout(o);
    let mut header = Splitter::new(data, layout.clone());
    header.skip_lines(o.ignore_header);
    let (body_start, first_line) = header.position();
    let chunks = text::chunks(&data[body_start..], &layout, CHUNK_BYTES, first_line);
    let parts: Vec<Result<FileOutcome>> = chunks
        .par_iter()
        .map(|(range, line)| {
            let mut sink = RowSink::new(plan, shown.to_string());
            let chunk = &data[body_start + range.start..body_start + range.end];
            delimited(chunk, *line, layout.clone(), &mut sink, interrupt)?;
            sink.finish()
        })
        .collect();
    let mut out = FileOutcome {
        batches: Vec::new(),
        rejects: Vec::new(),
    };
    for p in parts {
        let p = p?;
        out.batches.extend(p.batches);
        out.rejects.extend(p.rejects);
    }
    Ok(out)
}

/// Parses what a COPY FROM STDIN's buffer holds of complete records (all of it at `eof`)
/// and hands the rows to `sink`; the number of rows handed on. The first bad row is the
/// error (PostgreSQL has no MAXERROR), naming its line.
pub(crate) fn parse_stdin(
    input: &mut Windows,
    eof: bool,
    partial: bool,
    plan: &LoadPlan,
    interrupt: &Interrupt,
    sink: &mut BatchSink<'_>,
) -> Result<u64> {
    let mut state = LoadState {
        sink,
        rejects: Vec::new(),
        rows: 0,
        max: 0,
        over: None,
        peak_input_bytes: 0,
    };
    input.parse(eof, partial, "STDIN", plan, interrupt, &mut state)?;
    if let Some(first) = state.rejects.into_iter().next() {
        return Err(first.error);
    }
    Ok(state.rows)
}

/// Rows of a load on their way into a transaction, held until a whole run of them has
/// arrived: a segment's worth for a table without a sort key, [`SORTED_RUN_ROWS_MAX`] for
/// one with a sort key (the storage sorts each append, so each run is sorted within itself).
#[derive(Debug, Default)]
pub(crate) struct HeldRows {
    batches: Vec<RecordBatch>,
    rows: usize,
    /// The most rows held at once, for the tests of the bound.
    pub(crate) peak_rows: usize,
}

/// Rows a load into a table with a sort key sorts and appends at a time: four segments. A
/// larger load leaves several runs, each sorted, whose sort key ranges may overlap (what
/// SVV_TABLE_INFO's `unsorted` counts) until VACUUM rewrites the table in one sorted run.
pub const SORTED_RUN_ROWS_MAX: usize = 4 * basalt_storage::segment::SEGMENT_ROWS_MAX as usize;

const _: () =
    assert!(SORTED_RUN_ROWS_MAX.is_multiple_of(basalt_storage::segment::SEGMENT_ROWS_MAX as usize));

impl HeldRows {
    /// Adds `batches`; returns the rows to append now: whole runs of `run_rows`, in order
    /// (empty while less than a run is held).
    pub(crate) fn take(&mut self, batches: Vec<RecordBatch>, run_rows: usize) -> Vec<RecordBatch> {
        self.rows += batches.iter().map(|b| b.num_rows()).sum::<usize>();
        self.batches.extend(batches);
        self.peak_rows = self.peak_rows.max(self.rows);
        let run_rows = run_rows.max(1);
        if self.rows < run_rows {
            return Vec::new();
        }
        // Whole runs now; the rows past the last whole one wait for more.
        let mut now = (self.rows / run_rows) * run_rows;
        let mut ready = Vec::new();
        let mut rest = Vec::new();
        for b in std::mem::take(&mut self.batches) {
            let n = b.num_rows();
            if now >= n {
                now -= n;
                ready.push(b);
            } else if now > 0 {
                ready.push(b.slice(0, now));
                rest.push(b.slice(now, n - now));
                now = 0;
            } else {
                rest.push(b);
            }
        }
        self.rows = rest.iter().map(|b| b.num_rows()).sum();
        self.batches = rest;
        ready
    }

    /// The rows still held, at the end of the load.
    pub(crate) fn rest(&mut self) -> Vec<RecordBatch> {
        self.rows = 0;
        std::mem::take(&mut self.batches)
    }
}

/// How a COPY's text input splits into fields.
fn layout(o: &CopyOptions) -> Layout {
    match &o.format {
        InputFormat::Csv => Layout::Csv {
            delimiter: o.delimiter.unwrap_or(b','),
            quote: o.quote,
            escape: o.csv_escape.unwrap_or(o.quote),
        },
        InputFormat::FixedWidth(w) => Layout::FixedWidth(w.clone()),
        _ => Layout::Text {
            delimiter: o.delimiter.unwrap_or(b'|'),
            escape: o.escape,
            remove_quotes: o.remove_quotes,
        },
    }
}

/// Parses one chunk of delimited or fixed-width input that starts on line `line`; the line
/// after it (the one the next chunk starts on, when the chunk ends with a newline).
///
/// A row is reported on the line its record ends on: a CSV record with a quoted newline, or
/// a text record with an escaped one, on its last line, as PostgreSQL counts (and as
/// Redshift's STL_LOAD_ERRORS numbers a JSON object).
fn delimited(
    data: &[u8],
    line: u64,
    layout: Layout,
    sink: &mut RowSink<'_>,
    interrupt: &Interrupt,
) -> Result<u64> {
    let o = &sink.plan.options;
    let null_as: Vec<u8> = o
        .null_as
        .clone()
        .unwrap_or_else(|| "\\N".into())
        .into_bytes();
    let width = sink.plan.targets.len();
    let mut splitter = Splitter::new(data, layout)
        .starting_at_line(line)
        .pg_escapes(o.postgres);
    let mut fields: Vec<InputField<'_>> = Vec::with_capacity(width);
    // One vector of split fields for every record.
    let mut split: Vec<text::Field<'_>> = Vec::with_capacity(width + 1);
    let mut n = 0usize;
    while let Some(rec) = splitter.next_into(&mut split) {
        if sink.over_limit() {
            return Ok(splitter.position().1);
        }
        if n.is_multiple_of(INTERRUPT_CHECK_ROWS) {
            interrupt.check()?;
        }
        n += 1;
        // The record's last line: the splitter has counted its newlines, and the one that
        // ends it.
        let (end, after) = splitter.position();
        let last_line = if end > 0 && data[end - 1] == b'\n' {
            after.saturating_sub(1)
        } else {
            after
        };
        let rec_raw = match rec {
            Ok((_, raw)) => raw,
            Err(e) => {
                let cause = Error::BadCopyFileFormat { message: e.message };
                sink.reject(last_line, "", e.raw, &[], cause);
                continue;
            }
        };
        if split.len() != width {
            let cause = if split.len() > width {
                Error::BadCopyFileFormat {
                    message: "extra data after last expected column".into(),
                }
            } else {
                Error::BadCopyFileFormat {
                    message: format!(
                        "missing data for column \"{}\"",
                        sink.plan.targets[split.len()].name
                    ),
                }
            };
            sink.reject(last_line, "", rec_raw, &[], cause);
            continue;
        }
        fields.clear();
        for f in split.drain(..) {
            let is_null = !f.quoted && f.raw == null_as.as_slice();
            fields.push((if is_null { None } else { Some(f.value) }, f.raw));
        }
        sink.row(last_line, rec_raw, &fields);
    }
    Ok(splitter.position().1)
}

/// Redshift's STL_LOAD_ERRORS error code for a rejected row, whose column has type
/// `column_type` (as STL_LOAD_ERRORS shows it): a bad DATE is 1205, a bad TIMESTAMP 1206.
pub fn redshift_err_code(e: &Error, column_type: &str) -> i32 {
    let cause = match e {
        Error::Load { cause, .. } => cause.as_ref(),
        other => other,
    };
    match cause {
        Error::BadCopyFileFormat { message } if message.starts_with("extra") => 1202,
        Error::BadCopyFileFormat { message } if message.starts_with("missing") => 1203,
        Error::BadCopyFileFormat { .. } => 1214,
        Error::StringTooLong { .. } => 1204,
        Error::InvalidDatetime { .. } if column_type == "date" => 1205,
        Error::InvalidDatetime { .. } => 1206,
        Error::InvalidTextRepresentation { .. } | Error::NumericOutOfRange { .. } => 1207,
        Error::NotNullViolation { .. } => 1213,
        Error::CharacterNotInRepertoire { .. } => 1220,
        _ => 1216,
    }
}

/// The STL_LOAD_ERRORS rows for a COPY's rejects.
pub fn reject_rows(
    query: i64,
    table_id: i64,
    start_micros: i64,
    rejects: &[Reject],
) -> Vec<LoadErrorRow> {
    rejects
        .iter()
        .map(|r| {
            let reason = match &r.error {
                Error::Load { cause, .. } => cause.to_string(),
                other => other.to_string(),
            };
            LoadErrorRow {
                query,
                tbl: table_id,
                starttime: start_micros,
                filename: r.file.clone(),
                line_number: r.line as i64,
                colname: r.column.clone(),
                ty: r.column_type.clone(),
                raw_line: r.raw_line.clone(),
                raw_field_value: r.raw_field.clone(),
                err_code: redshift_err_code(&r.error, &r.column_type),
                err_reason: reason,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::copy::options::JsonMode;
    use arrow_select::concat::concat_batches;
    use basalt_storage::ColumnDef;

    /// A load of (a INTEGER, b TEXT) with `options`.
    /// The plan of a COPY into `t (a INTEGER, b TEXT)`.
    pub(crate) fn plan(options: CopyOptions) -> LoadPlan {
        let column = |name: &str, ty| ColumnDef {
            name: name.into(),
            ty,
            nullable: true,
            encoding: Default::default(),
        };
        let table = TableDef::new(
            "public",
            "t",
            vec![column("a", SqlType::Integer), column("b", SqlType::Text)],
        );
        let stmt = CopyStatement {
            schema: None,
            table: "t".into(),
            columns: Vec::new(),
            from: String::new(),
            options,
        };
        LoadPlan::new(&stmt, &table).unwrap()
    }

    fn one_batch(plan: &LoadPlan, batches: &[RecordBatch]) -> RecordBatch {
        concat_batches(&plan.schema(), batches).unwrap()
    }

    // Input: 100,000 CSV records (some quoted with a newline inside) after a header line,
    // pushed 1,000 bytes at a time into windows of 4 KB chunks. The windows parse every
    // record once, in order, with the same rows and line numbers as the whole input parsed
    // at once; the buffer never holds more than a window plus one push.
    #[test]
    fn windows_hold_one_window_and_match_whole_input() {
        let options = CopyOptions {
            format: InputFormat::Csv,
            ignore_header: 1,
            ..CopyOptions::default()
        };
        let plan = plan(options);
        let mut data = b"a,b\n".to_vec();
        for i in 0..100_000 {
            if i % 7 == 0 {
                data.extend_from_slice(format!("{i},\"x\ny{i}\"\n").as_bytes());
            } else {
                data.extend_from_slice(format!("{i},v{i}\n").as_bytes());
            }
        }
        data.extend_from_slice(b"bad,z\n");
        let whole = load_delimited(&data, "f", &plan, &Interrupt::none()).unwrap();

        let mut windows = Windows::sized(&plan.options, 4096);
        let window = windows.wanted();
        let mut got: Vec<RecordBatch> = Vec::new();
        let mut sink = |b: Vec<RecordBatch>| {
            got.extend(b);
            Ok(())
        };
        let mut state = LoadState {
            sink: &mut sink,
            rejects: Vec::new(),
            rows: 0,
            max: 10,
            over: None,
            peak_input_bytes: 0,
        };
        for piece in data.chunks(1000) {
            windows.buf.extend_from_slice(piece);
            if windows.wanted() == 0 {
                let step = windows
                    .parse(false, false, "f", &plan, &Interrupt::none(), &mut state)
                    .unwrap();
                assert_eq!(step, Parsed::More);
            }
        }
        let step = windows
            .parse(true, false, "f", &plan, &Interrupt::none(), &mut state)
            .unwrap();
        assert_eq!(step, Parsed::Done);
        assert!(windows.windows > 50, "{}", windows.windows);
        assert!(
            windows.peak_bytes <= window + 1000,
            "{}",
            windows.peak_bytes
        );
        assert_eq!(state.rows, 100_000);
        let rejects: Vec<(u64, String)> = state
            .rejects
            .iter()
            .map(|r| (r.line, r.error.to_string()))
            .collect();
        let whole_rejects: Vec<(u64, String)> = whole
            .rejects
            .iter()
            .map(|r| (r.line, r.error.to_string()))
            .collect();
        assert_eq!(rejects, whole_rejects);
        assert_eq!(rejects.len(), 1);
        assert_eq!(rejects[0].0, 100_000 + 100_000 / 7 + 1 + 2);
        drop(state);
        assert_eq!(one_batch(&plan, &got), one_batch(&plan, &whole.batches));
    }

    // Input: 30,000 JSON objects, some spread over lines, and a value that is not an object,
    // read in windows of 512 bytes (one object longer than a window). The rows, rejects and
    // their lines are those of the whole input parsed at once, and no window holds more
    // than twice the longest object or the window size.
    #[test]
    fn json_streams_in_windows() {
        let options = CopyOptions {
            format: InputFormat::Json(JsonMode::Auto { ignore_case: false }),
            max_error: 10,
            ..CopyOptions::default()
        };
        let plan = plan(options);
        let mut data = Vec::new();
        for i in 0..30_000 {
            match i % 5 {
                0 => data.extend_from_slice(
                    format!("{{\n \"a\": {i},\n \"b\": \"x{i}\"\n}}\n").as_bytes(),
                ),
                _ => data.extend_from_slice(format!("{{\"a\":{i},\"b\":\"y\"}} ").as_bytes()),
            }
            if i == 20_000 {
                data.extend_from_slice(b"\n17\n");
                let long = "z".repeat(2000);
                data.extend_from_slice(format!("{{\"a\":-1,\"b\":\"{long}\"}}\n").as_bytes());
            }
        }
        let mut whole_sink = RowSink::new(&plan, "f".into());
        json::load_json(
            &data,
            &JsonMode::Auto { ignore_case: false },
            &files::LocalFiles::new(&std::env::temp_dir()),
            &mut whole_sink,
        )
        .unwrap();
        let whole = whole_sink.finish().unwrap();

        let fs = files::LocalFiles::new(&std::env::temp_dir());
        let columns = json::JsonColumns::new(
            &JsonMode::Auto { ignore_case: false },
            &fs,
            &RowSink::new(&plan, "f".into()),
        )
        .unwrap();
        let mut got: Vec<RecordBatch> = Vec::new();
        let mut sink = |b: Vec<RecordBatch>| {
            got.extend(b);
            Ok(())
        };
        let mut state = LoadState {
            sink: &mut sink,
            rejects: Vec::new(),
            rows: 0,
            max: 10,
            over: None,
            peak_input_bytes: 0,
        };
        let mut input: &[u8] = &data;
        stream_json(
            &mut input,
            options::Compression::None,
            "f",
            &plan,
            &columns,
            512,
            &Interrupt::none(),
            &mut state,
        )
        .unwrap();
        assert_eq!(state.rows, 30_001);
        assert!(
            state.peak_input_bytes <= 2 * 2100,
            "{}",
            state.peak_input_bytes
        );
        let lines = |r: &[Reject]| {
            r.iter()
                .map(|r| (r.line, r.error.to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(lines(&state.rejects), lines(&whole.rejects));
        assert_eq!(state.rejects.len(), 1);
        drop(state);
        assert_eq!(one_batch(&plan, &got), one_batch(&plan, &whole.batches));
    }

    // Input: 20,000 JSON objects, with strings holding braces, brackets, quotes and
    // escaped newlines, objects spread over lines, and a syntax error at object 12,000, read
    // in windows of 700 bytes cut into pieces parsed in parallel. The rows loaded and the
    // reject (the rest of the file lost at the error, reported on its line) are those of the
    // whole input parsed at once on one thread.
    #[test]
    fn json_pieces_parse_as_one_stream() {
        let options = CopyOptions {
            format: InputFormat::Json(JsonMode::Auto { ignore_case: false }),
            max_error: 10,
            ..CopyOptions::default()
        };
        let plan = plan(options);
        let mut data = Vec::new();
        for i in 0..20_000 {
            if i == 12_000 {
                data.extend_from_slice(b"{\"a\": 1,, \"b\": \"x\"}\n");
            }
            match i % 4 {
                0 => data.extend_from_slice(
                    format!("{{\"a\": {i},\n \"b\": \"{{[\\\"\\n}}]\"}}\n").as_bytes(),
                ),
                1 => data
                    .extend_from_slice(format!("{{\"b\": \"}}\\\\\", \"a\": {i}}}  ").as_bytes()),
                _ => data.extend_from_slice(format!("{{\"a\":{i}}}\n").as_bytes()),
            }
        }
        let fs = files::LocalFiles::new(&std::env::temp_dir());
        let mut whole_sink = RowSink::new(&plan, "f".into());
        json::load_json(
            &data,
            &JsonMode::Auto { ignore_case: false },
            &fs,
            &mut whole_sink,
        )
        .unwrap();
        let whole = whole_sink.finish().unwrap();
        assert_eq!(whole.batches[0].num_rows(), 12_000);
        assert_eq!(whole.rejects.len(), 1);

        let columns = json::JsonColumns::new(
            &JsonMode::Auto { ignore_case: false },
            &fs,
            &RowSink::new(&plan, "f".into()),
        )
        .unwrap();
        let mut got: Vec<RecordBatch> = Vec::new();
        let mut sink = |b: Vec<RecordBatch>| {
            got.extend(b);
            Ok(())
        };
        let mut state = LoadState {
            sink: &mut sink,
            rejects: Vec::new(),
            rows: 0,
            max: 10,
            over: None,
            peak_input_bytes: 0,
        };
        let mut input: &[u8] = &data;
        stream_json(
            &mut input,
            options::Compression::None,
            "f",
            &plan,
            &columns,
            700,
            &Interrupt::none(),
            &mut state,
        )
        .unwrap();
        assert_eq!(state.rows, 12_000);
        let lines = |r: &[Reject]| {
            r.iter()
                .map(|r| (r.line, r.error.to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(lines(&state.rejects), lines(&whole.rejects));
        drop(state);
        assert_eq!(one_batch(&plan, &got), one_batch(&plan, &whole.batches));

        // The cut points of the same input: each piece but the last ends with a newline
        // outside strings and brackets, and every piece starts on the line counted for it.
        let pieces = json::split_values(&data, 300, 1);
        assert!(pieces.len() > 100, "{}", pieces.len());
        let mut line = 1;
        let mut at = 0;
        for (range, start_line) in &pieces {
            assert_eq!(range.start, at);
            assert_eq!(*start_line, line);
            line += data[range.clone()].iter().filter(|b| **b == b'\n').count() as u64;
            at = range.end;
        }
        assert_eq!(at, data.len());
    }

    // Input: batches of 7 rows held for runs of 10: each take hands on whole runs only, in
    // order; at most a run plus a batch is held; the rest comes out at the end.
    #[test]
    fn held_rows_hand_on_whole_runs() {
        let plan = plan(CopyOptions::default());
        let batch = |start: i32| {
            let a: ArrayRef = Arc::new(arrow_array::Int32Array::from_iter_values(start..start + 7));
            let b: ArrayRef = Arc::new(arrow_array::StringArray::from(vec!["x"; 7]));
            RecordBatch::try_new(plan.schema(), vec![a, b]).unwrap()
        };
        let mut held = HeldRows::default();
        let mut out = Vec::new();
        for i in 0..20 {
            let ready = held.take(vec![batch(i * 7)], 10);
            let n: usize = ready.iter().map(|b| b.num_rows()).sum();
            assert_eq!(n % 10, 0);
            out.extend(ready);
            assert!(held.rows < 10);
        }
        assert!(held.peak_rows <= 10 + 7, "{}", held.peak_rows);
        out.extend(held.rest());
        let all = one_batch(&plan, &out);
        let a = all
            .column(0)
            .as_any()
            .downcast_ref::<arrow_array::Int32Array>()
            .unwrap();
        assert_eq!(a.values().to_vec(), (0..140).collect::<Vec<i32>>());
    }

    // Invalid UTF-8: an error naming the byte, or replaced under ACCEPTINVCHARS.
    #[test]
    fn invalid_utf8() {
        let e = decode(b"a\xffb", None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid byte sequence for encoding \"UTF8\": 0xff"
        );
        assert_eq!(decode(b"a\xff\xfeb", Some('?')).unwrap(), "a??b");
        assert_eq!(decode("é".as_bytes(), None).unwrap(), "é");
    }
}
