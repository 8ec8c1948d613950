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
use crate::copy::values::{convert, convert_text_into, ColumnBuilder};
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
        let mut cols: Vec<ArrayRef> = Vec::with_capacity(self.table.columns.len());
        for (i, c) in self.table.columns.iter().enumerate() {
            let left_out = !self.targets.iter().any(|t| t.index == i);
            match self.table.default_value(i).map_err(Error::Internal)? {
                Some(one) if left_out => cols.push(crate::kernels::eval::repeat(&one, rows)?),
                _ => cols.push(new_null_array(&c.ty.arrow_type(), rows)),
            }
        }
        for (t, a) in self.targets.iter().zip(arrays) {
            cols[t.index] = a;
        }
        Ok(RecordBatch::try_new(self.schema(), cols)?)
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
struct LoadState<'a, 's> {
    sink: &'a mut BatchSink<'s>,
    rejects: Vec<Reject>,
    rows: u64,
    max: usize,
    over: Option<Error>,
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
        RowSink {
            plan,
            file,
            builders: plan
                .targets
                .iter()
                .map(|t| ColumnBuilder::new(t.ty))
                .collect(),
            values: Vec::with_capacity(plan.targets.len()),
            rows: 0,
            rejects: Vec::new(),
        }
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
    if let InputFormat::Json(mode) = &o.format {
        let data = files::decompress(fs.read(file)?, o.compression, &shown)?;
        let mut sink = RowSink::new(plan, shown);
        json::load_json(&data, mode, fs, &mut sink)?;
        state.take(sink.finish()?)?;
        return Ok(());
    }
    let mut input = files::reader(fs.open(file)?, o.compression);
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
    let o = &plan.options;
    let layout = layout(o);
    let mut window = CHUNK_BYTES * 2 * rayon::current_num_threads().max(1);
    let mut buf: Vec<u8> = Vec::new();
    let mut line = 1u64;
    let mut header = true;
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
        let mut start = 0;
        if header {
            // IGNOREHEADER's lines, counted; a header longer than the window waits for more.
            let mut h = Splitter::new(&buf, layout.clone());
            h.skip_lines(o.ignore_header);
            let (at, first_line) = h.position();
            if at >= buf.len() && !eof && o.ignore_header > 0 {
                window *= 2;
                continue;
            }
            header = false;
            start = at;
            line = first_line;
        }
        let mut pieces = text::chunks(&buf[start..], &layout, CHUNK_BYTES, line);
        let carry = if eof {
            None
        } else {
            match pieces.pop() {
                Some(last) if !pieces.is_empty() => Some(last),
                _ => {
                    // No record ends in the window: read more before parsing.
                    window = window.max(buf.len()) * 2;
                    if start > 0 {
                        buf.drain(..start);
                    }
                    continue;
                }
            }
        };
        let parts: Vec<Result<FileOutcome>> = pieces
            .par_iter()
            .map(|(range, at_line)| {
                let mut sink = RowSink::new(plan, shown.to_string());
                let chunk = &buf[start + range.start..start + range.end];
                delimited(chunk, *at_line, layout.clone(), &mut sink, interrupt)?;
                sink.finish()
            })
            .collect();
        for p in parts {
            if !state.take(p?)? {
                return Ok(());
            }
        }
        match carry {
            Some((range, at_line)) => {
                buf.drain(..start + range.start);
                line = at_line;
            }
            None => return Ok(()),
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

/// Loads a COPY FROM STDIN's data; the first bad row is the error (PostgreSQL has no
/// MAXERROR).
pub(crate) fn load_stdin(
    data: &[u8],
    plan: &LoadPlan,
    interrupt: &Interrupt,
) -> Result<Vec<RecordBatch>> {
    let outcome = load_delimited(data, "STDIN", plan, interrupt)?;
    if let Some(first) = outcome.rejects.into_iter().next() {
        return Err(first.error);
    }
    Ok(outcome
        .batches
        .into_iter()
        .filter(|b| b.num_rows() > 0)
        .collect())
}

/// How a COPY's text input splits into fields.
fn layout(o: &CopyOptions) -> Layout {
    match &o.format {
        InputFormat::Csv => Layout::Csv {
            delimiter: o.delimiter.unwrap_or(b','),
            quote: o.quote,
        },
        InputFormat::FixedWidth(w) => Layout::FixedWidth(w.clone()),
        _ => Layout::Text {
            delimiter: o.delimiter.unwrap_or(b'|'),
            escape: o.escape,
            remove_quotes: o.remove_quotes,
        },
    }
}

/// Parses one chunk of delimited or fixed-width input that starts on line `line`.
fn delimited(
    data: &[u8],
    line: u64,
    layout: Layout,
    sink: &mut RowSink<'_>,
    interrupt: &Interrupt,
) -> Result<()> {
    let o = &sink.plan.options;
    let null_as: Vec<u8> = o
        .null_as
        .clone()
        .unwrap_or_else(|| "\\N".into())
        .into_bytes();
    let width = sink.plan.targets.len();
    let splitter = Splitter::new(data, layout)
        .starting_at_line(line)
        .pg_escapes(o.postgres);
    let mut fields: Vec<InputField<'_>> = Vec::with_capacity(width);
    for (n, rec) in splitter.enumerate() {
        if sink.over_limit() {
            return Ok(());
        }
        if n % INTERRUPT_CHECK_ROWS == 0 {
            interrupt.check()?;
        }
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let cause = Error::BadCopyFileFormat { message: e.message };
                sink.reject(e.line, "", e.raw, &[], cause);
                continue;
            }
        };
        if rec.fields.len() != width {
            let cause = if rec.fields.len() > width {
                Error::BadCopyFileFormat {
                    message: "extra data after last expected column".into(),
                }
            } else {
                Error::BadCopyFileFormat {
                    message: format!(
                        "missing data for column \"{}\"",
                        sink.plan.targets[rec.fields.len()].name
                    ),
                }
            };
            sink.reject(rec.line, "", rec.raw, &[], cause);
            continue;
        }
        fields.clear();
        for f in rec.fields {
            let is_null = !f.quoted && f.raw == null_as.as_slice();
            fields.push((if is_null { None } else { Some(f.value) }, f.raw));
        }
        sink.row(rec.line, rec.raw, &fields);
    }
    Ok(())
}

/// Redshift's STL_LOAD_ERRORS error code for a rejected row.
pub fn redshift_err_code(e: &Error) -> i32 {
    let cause = match e {
        Error::Load { cause, .. } => cause.as_ref(),
        other => other,
    };
    match cause {
        Error::BadCopyFileFormat { message } if message.starts_with("extra") => 1202,
        Error::BadCopyFileFormat { message } if message.starts_with("missing") => 1203,
        Error::BadCopyFileFormat { .. } => 1214,
        Error::StringTooLong { .. } => 1204,
        Error::InvalidDatetime { message } if message.contains("type date") => 1205,
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
                err_code: redshift_err_code(&r.error),
                err_reason: reason,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
