//! Redshift's COPY and UNLOAD statements, read from tokens.
//!
//! sqlparser knows only part of Redshift's option list (no MAXERROR, TRIMBLANKS, FORMAT AS
//! PARQUET, PARTITION BY ...), so `parse.rs` hands a statement that starts with `UNLOAD`, or
//! with `COPY name [(columns)] FROM '...'`, to this module instead. Options may come in any
//! order, each at most once; an unknown word is a syntax error pointing at it.

use sqlparser::tokenizer::{Token, TokenWithSpan};

use crate::error::{Error, Result};
use crate::planner::bind::span_position;

/// The input layout of a COPY.
#[derive(Clone, Debug, PartialEq)]
pub enum InputFormat {
    /// Delimited text, Redshift's default (`|`).
    Text,
    Csv,
    /// `FIXEDWIDTH 'label:width,...'`: the widths, in characters.
    FixedWidth(Vec<usize>),
    /// `JSON 'auto'`, `'auto ignorecase'` or a jsonpaths file.
    Json(JsonMode),
    Parquet,
}

/// How JSON objects map to columns.
#[derive(Clone, Debug, PartialEq)]
pub enum JsonMode {
    /// Keys equal to column names.
    Auto { ignore_case: bool },
    /// A jsonpaths file: one path per column, in order.
    Paths(String),
}

/// Compression of input or output files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
    Lz4,
    Bzip2,
}

/// A DATEFORMAT or TIMEFORMAT.
#[derive(Clone, Debug, PartialEq)]
pub enum TimeFormat {
    /// The engine's own input function (what INSERT accepts).
    Default,
    /// `'auto'`: the engine's input function, then a list of common layouts.
    Auto,
    /// `'epochsecs'`.
    EpochSecs,
    /// `'epochmillisecs'`.
    EpochMillis,
    /// A pattern such as `'YYYY-MM-DD HH24:MI:SS'`.
    Pattern(String),
}

/// Everything a COPY asks for.
#[derive(Clone, Debug)]
pub struct CopyOptions {
    pub format: InputFormat,
    pub delimiter: Option<u8>,
    pub quote: u8,
    /// CSV's escape character inside quotes (PostgreSQL's ESCAPE): `None` is the quote
    /// itself, a doubled quote.
    pub csv_escape: Option<u8>,
    pub ignore_header: u64,
    pub null_as: Option<String>,
    pub empty_as_null: bool,
    pub blanks_as_null: bool,
    pub trim_blanks: bool,
    pub truncate_columns: bool,
    /// `ACCEPTINVCHARS`: the replacement character for invalid UTF-8.
    pub accept_inv_chars: Option<char>,
    pub remove_quotes: bool,
    pub escape: bool,
    pub date_format: TimeFormat,
    pub time_format: TimeFormat,
    pub compression: Compression,
    pub max_error: u64,
    pub manifest: bool,
    /// PostgreSQL's COPY FROM STDIN rules: backslash escapes such as `\t` and `\n` in text,
    /// and an empty field of a non-string type is an error rather than NULL.
    pub postgres: bool,
    /// The zone of TIMESTAMPTZ text without one: the session's for PostgreSQL's COPY FROM
    /// STDIN, UTC for Redshift's COPY (as Redshift reads it).
    pub zone: crate::kernels::zones::Zone,
    /// `STATUPDATE`: `Some(true)` analyzes the table after the load, `Some(false)` never;
    /// `None` (the default) analyzes it when it was empty before (Redshift's rule).
    pub stat_update: Option<bool>,
}

impl Default for CopyOptions {
    /// Redshift's defaults: '|'-delimited text, nothing optional turned on.
    fn default() -> Self {
        CopyOptions {
            format: InputFormat::Text,
            delimiter: None,
            quote: b'"',
            csv_escape: None,
            ignore_header: 0,
            null_as: None,
            empty_as_null: false,
            blanks_as_null: false,
            trim_blanks: false,
            truncate_columns: false,
            accept_inv_chars: None,
            remove_quotes: false,
            escape: false,
            date_format: TimeFormat::Default,
            time_format: TimeFormat::Default,
            compression: Compression::None,
            max_error: 0,
            manifest: false,
            postgres: false,
            zone: crate::kernels::zones::Zone::UTC,
            stat_update: None,
        }
    }
}

/// `COPY table [(columns)] FROM 'location' options`.
#[derive(Clone, Debug)]
pub struct CopyStatement {
    pub schema: Option<String>,
    pub table: String,
    pub columns: Vec<String>,
    pub from: String,
    pub options: CopyOptions,
}

/// The output layout of an UNLOAD.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    Text,
    Csv,
    Json,
    Parquet,
}

/// Everything an UNLOAD asks for.
#[derive(Clone, Debug)]
pub struct UnloadOptions {
    pub format: OutputFormat,
    pub partition_by: Vec<String>,
    pub partition_include: bool,
    pub header: bool,
    pub delimiter: Option<u8>,
    pub null_as: String,
    pub add_quotes: bool,
    pub escape: bool,
    pub parallel: bool,
    pub max_file_bytes: u64,
    pub manifest: bool,
    pub manifest_verbose: bool,
    pub allow_overwrite: bool,
    pub clean_path: bool,
    pub compression: Compression,
    pub extension: Option<String>,
}

/// `UNLOAD ('query') TO 'location' options`.
#[derive(Clone, Debug)]
pub struct UnloadStatement {
    pub query: String,
    pub to: String,
    pub options: UnloadOptions,
}

/// Redshift's default MAXFILESIZE (6.2 GB) and its bounds (5 MB to 6.2 GB).
pub const MAX_FILE_BYTES_DEFAULT: u64 = 6_200 * 1024 * 1024;
const MAX_FILE_BYTES_MIN: u64 = 5 * 1024 * 1024;

/// A cursor over the significant tokens of one statement.
pub(crate) struct Cursor<'a> {
    sql: &'a str,
    tokens: Vec<&'a TokenWithSpan>,
    pub(crate) at: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(sql: &'a str, tokens: &'a [TokenWithSpan]) -> Self {
        let tokens = tokens
            .iter()
            .filter(|t| !matches!(t.token, Token::Whitespace(_) | Token::EOF))
            .collect();
        Cursor { sql, tokens, at: 0 }
    }

    pub(crate) fn peek(&self) -> Option<&'a Token> {
        self.tokens.get(self.at).map(|t| &t.token)
    }

    pub(crate) fn next(&mut self) -> Option<&'a Token> {
        let t = self.peek();
        if t.is_some() {
            self.at += 1;
        }
        t
    }

    /// The 1-based character position of the current token (or of the end).
    pub(crate) fn position(&self) -> Option<u32> {
        match self.tokens.get(self.at) {
            Some(t) => span_position(self.sql, t.span),
            None => u32::try_from(self.sql.chars().count() + 1).ok(),
        }
    }

    /// A syntax error at the current token (or at the end).
    pub(crate) fn error(&self) -> Error {
        match self.tokens.get(self.at) {
            Some(t) => Error::Syntax {
                message: format!("syntax error at or near \"{}\"", t.token),
                position: span_position(self.sql, t.span),
            },
            None => Error::Syntax {
                message: "syntax error at end of input".into(),
                position: u32::try_from(self.sql.chars().count() + 1).ok(),
            },
        }
    }

    /// Consumes `word` (case-insensitive) if it comes next.
    pub(crate) fn eat(&mut self, word: &str) -> bool {
        match self.peek() {
            Some(Token::Word(w))
                if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word) =>
            {
                self.at += 1;
                true
            }
            _ => false,
        }
    }

    pub(crate) fn expect(&mut self, word: &str) -> Result<()> {
        if self.eat(word) {
            Ok(())
        } else {
            Err(self.error())
        }
    }

    pub(crate) fn eat_token(&mut self, token: &Token) -> bool {
        if self.peek() == Some(token) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    /// An identifier: unquoted words fold to lower case, as everywhere in Basalt.
    pub(crate) fn ident(&mut self) -> Result<String> {
        match self.peek() {
            Some(Token::Word(w)) => {
                self.at += 1;
                Ok(match w.quote_style {
                    Some(_) => w.value.clone(),
                    None => w.value.to_lowercase(),
                })
            }
            _ => Err(self.error()),
        }
    }

    pub(crate) fn string(&mut self) -> Result<String> {
        match self.peek() {
            Some(Token::SingleQuotedString(s)) | Some(Token::EscapedStringLiteral(s)) => {
                self.at += 1;
                Ok(s.clone())
            }
            _ => Err(self.error()),
        }
    }

    pub(crate) fn number(&mut self) -> Result<u64> {
        match self.peek() {
            Some(Token::Number(n, _)) => match n.parse::<u64>() {
                Ok(v) => {
                    self.at += 1;
                    Ok(v)
                }
                Err(_) => Err(self.error()),
            },
            _ => Err(self.error()),
        }
    }

    /// The word of the current token, upper-cased, if it is an unquoted word.
    pub(crate) fn keyword(&self) -> Option<String> {
        match self.peek() {
            Some(Token::Word(w)) if w.quote_style.is_none() => Some(w.value.to_uppercase()),
            _ => None,
        }
    }

    /// The statement text and its significant tokens (for handing a part to sqlparser).
    pub(crate) fn parts(&self) -> (&'a str, &[&'a TokenWithSpan]) {
        (self.sql, &self.tokens)
    }

    pub(crate) fn done(&self) -> bool {
        self.at >= self.tokens.len()
    }
}

/// True when the tokens (whitespace skipped) are a Redshift COPY from a file location or an
/// UNLOAD, the statements this module parses.
pub fn is_transfer(tokens: &[TokenWithSpan]) -> bool {
    if crate::external::ddl::is_external(tokens)
        || crate::analyze::is_analyze(tokens)
        || crate::checkpoint::is_checkpoint(tokens)
        || crate::alter::is_comment_on_constraint(tokens)
        || crate::set_schema::is_set_schema(tokens)
        || crate::comment_function::is_comment_on_function(tokens)
    {
        return true;
    }
    let mut c = Cursor::new("", tokens);
    if c.eat("unload") {
        return true;
    }
    if !c.eat("copy") {
        return false;
    }
    // COPY name[.name] [(columns)] FROM '...'
    while matches!(c.peek(), Some(Token::Word(_)) | Some(Token::Period)) {
        c.next();
    }
    if c.eat_token(&Token::LParen) {
        while !matches!(c.peek(), Some(Token::RParen) | None) {
            c.next();
        }
        c.next();
    }
    // `FROM` has been consumed as a word above when present; look back for it.
    let from = c.at > 0
        && matches!(c.tokens.get(c.at - 1).map(|t| &t.token),
            Some(Token::Word(w)) if w.value.eq_ignore_ascii_case("from"));
    let from = from || c.eat("from");
    from && matches!(c.peek(), Some(Token::SingleQuotedString(_)))
}

/// A parsed COPY or UNLOAD.
#[derive(Clone, Debug)]
pub enum Transfer {
    Copy(CopyStatement),
    Unload(UnloadStatement),
    /// External schema and table DDL (see `external::ddl`), read by the same cursor.
    External(crate::external::ddl::ExternalStatement),
    /// ANALYZE (see `analyze`), which sqlparser reads in Hive's form.
    Analyze(crate::analyze::AnalyzeStatement),
    /// CHECKPOINT (see `checkpoint`), which sqlparser does not read.
    Checkpoint,
    /// COMMENT ON CONSTRAINT (see `alter`), which sqlparser does not read.
    CommentOnConstraint(crate::alter::CommentOnConstraint),
    /// ALTER TABLE ... SET SCHEMA (see `set_schema`), which sqlparser does not read.
    SetSchema(crate::set_schema::SetSchema),
    /// COMMENT ON FUNCTION / AGGREGATE (see `comment_function`), whose argument list
    /// sqlparser does not read.
    CommentOnFunction(crate::comment_function::CommentOnFunction),
}

/// Parses one COPY-from-file or UNLOAD statement (`tokens` without the `;`).
pub fn parse_transfer(sql: &str, tokens: &[TokenWithSpan]) -> Result<Transfer> {
    if crate::external::ddl::is_external(tokens) {
        return crate::external::ddl::parse(sql, tokens).map(Transfer::External);
    }
    if crate::analyze::is_analyze(tokens) {
        return crate::analyze::parse(sql, tokens).map(Transfer::Analyze);
    }
    if crate::checkpoint::is_checkpoint(tokens) {
        return crate::checkpoint::parse(sql, tokens).map(|()| Transfer::Checkpoint);
    }
    if crate::alter::is_comment_on_constraint(tokens) {
        return crate::alter::parse_comment_on_constraint(sql, tokens)
            .map(Transfer::CommentOnConstraint);
    }
    if crate::set_schema::is_set_schema(tokens) {
        return crate::set_schema::parse(sql, tokens).map(Transfer::SetSchema);
    }
    if crate::comment_function::is_comment_on_function(tokens) {
        return crate::comment_function::parse(sql, tokens).map(Transfer::CommentOnFunction);
    }
    let mut c = Cursor::new(sql, tokens);
    if c.eat("unload") {
        return parse_unload(&mut c).map(Transfer::Unload);
    }
    c.expect("copy")?;
    parse_copy(&mut c).map(Transfer::Copy)
}

fn parse_copy(c: &mut Cursor<'_>) -> Result<CopyStatement> {
    let first = c.ident()?;
    let (schema, table) = if c.eat_token(&Token::Period) {
        (Some(first), c.ident()?)
    } else {
        (None, first)
    };
    let mut columns = Vec::new();
    if c.eat_token(&Token::LParen) {
        loop {
            columns.push(c.ident()?);
            if c.eat_token(&Token::Comma) {
                continue;
            }
            if c.eat_token(&Token::RParen) {
                break;
            }
            return Err(c.error());
        }
    }
    c.expect("from")?;
    let from = c.string()?;
    let mut o = CopyOptions::default();
    let mut seen: Vec<String> = Vec::new();
    let mut format_set = false;
    c.eat("with");
    while !c.done() {
        let Some(kw) = c.keyword() else {
            return Err(c.error());
        };
        let mark = c.at;
        c.next();
        // FORMAT [AS] x is the same option as x alone.
        let kw = if kw == "FORMAT" {
            c.eat("as");
            match c.keyword() {
                Some(k) if ["CSV", "JSON", "PARQUET", "FIXEDWIDTH"].contains(&k.as_str()) => {
                    c.next();
                    k
                }
                _ => return Err(c.error()),
            }
        } else {
            kw
        };
        let group = match kw.as_str() {
            "CSV" | "JSON" | "PARQUET" | "FIXEDWIDTH" => "FORMAT".to_string(),
            "GZIP" | "ZSTD" | "LZ4" | "BZIP2" => "COMPRESSION".to_string(),
            other => other.to_string(),
        };
        if seen.contains(&group) {
            c.at = mark;
            return Err(Error::Syntax {
                message: format!("conflicting or redundant options: {kw}"),
                position: c.error().position(),
            });
        }
        seen.push(group);
        match kw.as_str() {
            "CSV" => {
                o.format = InputFormat::Csv;
                format_set = true;
                if c.eat("quote") {
                    c.eat("as");
                    o.quote = single_byte(c, "quote")?;
                    seen.push("QUOTE".into());
                }
            }
            "QUOTE" => {
                c.eat("as");
                o.quote = single_byte(c, "quote")?;
            }
            "JSON" => {
                c.eat("as");
                let spec = c.string()?;
                let lower = spec.trim().to_ascii_lowercase();
                o.format = InputFormat::Json(match lower.as_str() {
                    "auto" => JsonMode::Auto { ignore_case: false },
                    "auto ignorecase" => JsonMode::Auto { ignore_case: true },
                    "noshred" => {
                        return Err(Error::Unsupported {
                            message: "JSON 'noshred' is not supported".into(),
                        })
                    }
                    _ => JsonMode::Paths(spec),
                });
                format_set = true;
            }
            "PARQUET" => {
                o.format = InputFormat::Parquet;
                format_set = true;
            }
            "FIXEDWIDTH" => {
                c.eat("as");
                let spec = c.string()?;
                o.format = InputFormat::FixedWidth(fixed_width_spec(&spec)?);
                format_set = true;
            }
            "DELIMITER" => {
                c.eat("as");
                o.delimiter = Some(single_byte(c, "delimiter")?);
            }
            "IGNOREHEADER" => {
                c.eat("as");
                o.ignore_header = c.number()?;
            }
            "NULL" => {
                c.eat("as");
                o.null_as = Some(c.string()?);
            }
            "EMPTYASNULL" => o.empty_as_null = true,
            "BLANKSASNULL" => o.blanks_as_null = true,
            "TRIMBLANKS" => o.trim_blanks = true,
            "TRUNCATECOLUMNS" => o.truncate_columns = true,
            "REMOVEQUOTES" => o.remove_quotes = true,
            "ESCAPE" => o.escape = true,
            "ACCEPTINVCHARS" => {
                c.eat("as");
                let ch =
                    if matches!(c.peek(), Some(Token::SingleQuotedString(_))) {
                        let s = c.string()?;
                        let mut chars = s.chars();
                        match (chars.next(), chars.next()) {
                            (Some(ch), None) if ch.is_ascii() => ch,
                            _ => return Err(Error::InvalidParameter {
                                message:
                                    "ACCEPTINVCHARS replacement must be a single ASCII character"
                                        .into(),
                            }),
                        }
                    } else {
                        '?'
                    };
                o.accept_inv_chars = Some(ch);
            }
            "DATEFORMAT" => {
                c.eat("as");
                o.date_format = time_format(&c.string()?);
            }
            "TIMEFORMAT" => {
                c.eat("as");
                o.time_format = time_format(&c.string()?);
            }
            "GZIP" => o.compression = Compression::Gzip,
            "ZSTD" => o.compression = Compression::Zstd,
            "LZ4" => o.compression = Compression::Lz4,
            "BZIP2" => o.compression = Compression::Bzip2,
            "MAXERROR" => {
                c.eat("as");
                o.max_error = c.number()?;
            }
            "MANIFEST" => o.manifest = true,
            // Compression analysis: Basalt chooses every block's encoding as it writes.
            "COMPUPDATE" => {
                let _ = c.eat("on")
                    || c.eat("off")
                    || c.eat("true")
                    || c.eat("false")
                    || c.eat("preset");
            }
            // `STATUPDATE [ON | TRUE | OFF | FALSE]`; the bare keyword is ON.
            "STATUPDATE" => {
                o.stat_update = Some(!(c.eat("off") || c.eat("false")));
                let _ = c.eat("on") || c.eat("true");
            }
            // Credentials name who may read object storage; local files need none.
            "IAM_ROLE" => {
                if !c.eat("default") {
                    c.string()?;
                }
            }
            "CREDENTIALS" | "REGION" => {
                c.eat("as");
                c.string()?;
            }
            _ => {
                c.at = mark;
                return Err(c.error());
            }
        }
    }
    let _ = format_set;
    check_copy_options(&o)?;
    Ok(CopyStatement {
        schema,
        table,
        columns,
        from,
        options: o,
    })
}

/// Rejects combinations Redshift rejects.
fn check_copy_options(o: &CopyOptions) -> Result<()> {
    let conflict = |a: &str, b: &str| {
        Err(Error::Unsupported {
            message: format!("{a} cannot be used with {b}"),
        })
    };
    match &o.format {
        InputFormat::Csv => {
            if o.escape {
                return conflict("ESCAPE", "CSV");
            }
            if o.remove_quotes {
                return conflict("REMOVEQUOTES", "CSV");
            }
        }
        InputFormat::FixedWidth(_) => {
            if o.delimiter.is_some() {
                return conflict("DELIMITER", "FIXEDWIDTH");
            }
            if o.remove_quotes {
                return conflict("REMOVEQUOTES", "FIXEDWIDTH");
            }
        }
        InputFormat::Json(_) | InputFormat::Parquet => {
            let name = if o.format == InputFormat::Parquet {
                "FORMAT AS PARQUET"
            } else {
                "JSON"
            };
            if o.delimiter.is_some() {
                return conflict("DELIMITER", name);
            }
            if o.ignore_header > 0 {
                return conflict("IGNOREHEADER", name);
            }
            if o.remove_quotes || o.escape {
                return conflict("REMOVEQUOTES and ESCAPE", name);
            }
            if o.format == InputFormat::Parquet && o.compression != Compression::None {
                return conflict("a compression option", name);
            }
        }
        InputFormat::Text => {}
    }
    if o.delimiter.is_some_and(|d| d == b'\n' || d == b'\r') {
        return Err(Error::InvalidParameter {
            message: "COPY delimiter cannot be newline or carriage return".into(),
        });
    }
    Ok(())
}

fn single_byte(c: &mut Cursor<'_>, what: &str) -> Result<u8> {
    let s = c.string()?;
    match s.as_bytes() {
        [b] if b.is_ascii() => Ok(*b),
        _ => Err(Error::Unsupported {
            message: format!("COPY {what} must be a single one-byte character"),
        }),
    }
}

fn time_format(s: &str) -> TimeFormat {
    match s.trim().to_ascii_lowercase().as_str() {
        "auto" => TimeFormat::Auto,
        "epochsecs" => TimeFormat::EpochSecs,
        "epochmillisecs" => TimeFormat::EpochMillis,
        _ => TimeFormat::Pattern(s.to_string()),
    }
}

/// `'label:width,label:width'` (labels are names or numbers; only the widths matter).
fn fixed_width_spec(spec: &str) -> Result<Vec<usize>> {
    let bad = || Error::InvalidParameter {
        message: format!("invalid FIXEDWIDTH specification: \"{spec}\""),
    };
    let mut widths = Vec::new();
    for part in spec.split(',') {
        let (_, w) = part.rsplit_once(':').ok_or_else(bad)?;
        let w: usize = w.trim().parse().map_err(|_| bad())?;
        if w == 0 {
            return Err(bad());
        }
        widths.push(w);
    }
    Ok(widths)
}

fn parse_unload(c: &mut Cursor<'_>) -> Result<UnloadStatement> {
    if !c.eat_token(&Token::LParen) {
        return Err(c.error());
    }
    let query = c.string()?;
    if !c.eat_token(&Token::RParen) {
        return Err(c.error());
    }
    c.expect("to")?;
    let to = c.string()?;
    let mut o = UnloadOptions {
        format: OutputFormat::Text,
        partition_by: Vec::new(),
        partition_include: false,
        header: false,
        delimiter: None,
        null_as: String::new(),
        add_quotes: false,
        escape: false,
        parallel: true,
        max_file_bytes: MAX_FILE_BYTES_DEFAULT,
        manifest: false,
        manifest_verbose: false,
        allow_overwrite: false,
        clean_path: false,
        compression: Compression::None,
        extension: None,
    };
    let mut seen: Vec<String> = Vec::new();
    while !c.done() {
        let Some(kw) = c.keyword() else {
            return Err(c.error());
        };
        let mark = c.at;
        c.next();
        let kw = if kw == "FORMAT" {
            c.eat("as");
            match c.keyword() {
                Some(k) if ["CSV", "JSON", "PARQUET"].contains(&k.as_str()) => {
                    c.next();
                    k
                }
                _ => return Err(c.error()),
            }
        } else {
            kw
        };
        let group = match kw.as_str() {
            "CSV" | "JSON" | "PARQUET" | "FIXEDWIDTH" => "FORMAT".to_string(),
            "GZIP" | "ZSTD" | "BZIP2" => "COMPRESSION".to_string(),
            other => other.to_string(),
        };
        if seen.contains(&group) {
            c.at = mark;
            return Err(Error::Syntax {
                message: format!("conflicting or redundant options: {kw}"),
                position: c.error().position(),
            });
        }
        seen.push(group);
        match kw.as_str() {
            "CSV" => o.format = OutputFormat::Csv,
            "JSON" => o.format = OutputFormat::Json,
            "PARQUET" => o.format = OutputFormat::Parquet,
            "FIXEDWIDTH" => {
                return Err(Error::Unsupported {
                    message: "UNLOAD with FIXEDWIDTH is not supported".into(),
                })
            }
            "PARTITION" => {
                c.expect("by")?;
                if !c.eat_token(&Token::LParen) {
                    return Err(c.error());
                }
                loop {
                    o.partition_by.push(c.ident()?);
                    if c.eat_token(&Token::Comma) {
                        continue;
                    }
                    if c.eat_token(&Token::RParen) {
                        break;
                    }
                    return Err(c.error());
                }
                o.partition_include = c.eat("include");
            }
            "HEADER" => o.header = true,
            "DELIMITER" => {
                c.eat("as");
                o.delimiter = Some(single_byte(c, "delimiter")?);
            }
            "NULL" => {
                c.eat("as");
                o.null_as = c.string()?;
            }
            "ADDQUOTES" => o.add_quotes = true,
            "ESCAPE" => o.escape = true,
            "PARALLEL" => {
                o.parallel = if c.eat("off") || c.eat("false") {
                    false
                } else {
                    let _ = c.eat("on") || c.eat("true");
                    true
                };
            }
            "MAXFILESIZE" => {
                c.eat("as");
                let n = c.number()?;
                let unit = if c.eat("gb") {
                    1024 * 1024 * 1024
                } else {
                    c.eat("mb");
                    1024 * 1024
                };
                let bytes = n.saturating_mul(unit);
                if !(MAX_FILE_BYTES_MIN..=MAX_FILE_BYTES_DEFAULT).contains(&bytes) {
                    return Err(Error::InvalidParameter {
                        message: "MAXFILESIZE must be between 5 MB and 6.2 GB".into(),
                    });
                }
                o.max_file_bytes = bytes;
            }
            "MANIFEST" => {
                o.manifest = true;
                o.manifest_verbose = c.eat("verbose");
            }
            "ALLOWOVERWRITE" => o.allow_overwrite = true,
            "CLEANPATH" => o.clean_path = true,
            "GZIP" => o.compression = Compression::Gzip,
            "ZSTD" => o.compression = Compression::Zstd,
            "BZIP2" => o.compression = Compression::Bzip2,
            "EXTENSION" => {
                c.eat("as");
                o.extension = Some(c.string()?);
            }
            "IAM_ROLE" => {
                if !c.eat("default") {
                    c.string()?;
                }
            }
            "CREDENTIALS" | "REGION" => {
                c.eat("as");
                c.string()?;
            }
            _ => {
                c.at = mark;
                return Err(c.error());
            }
        }
    }
    let conflict = |a: &str, b: &str| {
        Err(Error::Unsupported {
            message: format!("{a} cannot be used with {b}"),
        })
    };
    if o.allow_overwrite && o.clean_path {
        return conflict("ALLOWOVERWRITE", "CLEANPATH");
    }
    if o.format == OutputFormat::Parquet {
        if o.header || o.delimiter.is_some() || o.add_quotes || o.escape {
            return conflict(
                "HEADER, DELIMITER, ADDQUOTES and ESCAPE",
                "FORMAT AS PARQUET",
            );
        }
        if o.compression != Compression::None {
            return conflict("GZIP and ZSTD", "FORMAT AS PARQUET");
        }
    }
    if o.format == OutputFormat::Json && (o.header || o.delimiter.is_some()) {
        return conflict("HEADER and DELIMITER", "FORMAT AS JSON");
    }
    if o.format == OutputFormat::Csv && (o.add_quotes || o.escape) {
        return conflict("ADDQUOTES and ESCAPE", "CSV");
    }
    Ok(UnloadStatement {
        query,
        to,
        options: o,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::tokenizer::Tokenizer;

    fn parse(sql: &str) -> Result<Transfer> {
        let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql)
            .tokenize_with_location()
            .unwrap();
        assert!(is_transfer(&tokens), "{sql}");
        parse_transfer(sql, &tokens)
    }

    // A COPY with most options, in Redshift's spelling.
    #[test]
    fn copy_options() {
        let Transfer::Copy(c) = parse(
            "copy s.t (a, \"B\") from '/x' csv quote as '''' ignoreheader 1 null as 'nil' \
             emptyasnull blanksasnull dateformat 'YYYY/MM/DD' timeformat 'epochsecs' gzip \
             maxerror 3 compupdate off statupdate on acceptinvchars as '^'",
        )
        .unwrap() else {
            panic!("not a copy")
        };
        assert_eq!(c.schema.as_deref(), Some("s"));
        assert_eq!(c.columns, vec!["a".to_string(), "B".to_string()]);
        let o = c.options;
        assert_eq!(o.format, InputFormat::Csv);
        assert_eq!(o.quote, b'\'');
        assert_eq!(o.ignore_header, 1);
        assert_eq!(o.null_as.as_deref(), Some("nil"));
        assert!(o.empty_as_null && o.blanks_as_null);
        assert_eq!(o.date_format, TimeFormat::Pattern("YYYY/MM/DD".into()));
        assert_eq!(o.time_format, TimeFormat::EpochSecs);
        assert_eq!(o.compression, Compression::Gzip);
        assert_eq!(o.max_error, 3);
        assert_eq!(o.accept_inv_chars, Some('^'));
        assert_eq!(o.stat_update, Some(true));
    }

    // Unknown and repeated options, and conflicting ones.
    #[test]
    fn copy_option_errors() {
        let e = parse("COPY t FROM '/x' BOGUS").unwrap_err();
        assert_eq!(e.to_string(), "syntax error at or near \"BOGUS\"");
        assert_eq!(e.position(), Some(18));
        assert!(parse("COPY t FROM '/x' GZIP ZSTD").is_err());
        assert!(parse("COPY t FROM '/x' CSV ESCAPE").is_err());
        assert!(parse("COPY t FROM '/x' DELIMITER 'ab'").is_err());
        assert!(parse("COPY t FROM '/x' FIXEDWIDTH 'a:x'").is_err());
    }

    // An UNLOAD with its options.
    #[test]
    fn unload_options() {
        let Transfer::Unload(u) = parse(
            "UNLOAD ('select * from t where a = ''x''') TO '/out/p_' FORMAT AS PARQUET \
             PARTITION BY (a, b) INCLUDE PARALLEL OFF MAXFILESIZE 10 MB MANIFEST VERBOSE CLEANPATH",
        )
        .unwrap() else {
            panic!("not an unload")
        };
        assert_eq!(u.query, "select * from t where a = 'x'");
        assert_eq!(u.to, "/out/p_");
        let o = u.options;
        assert_eq!(o.format, OutputFormat::Parquet);
        assert_eq!(o.partition_by, vec!["a".to_string(), "b".to_string()]);
        assert!(o.partition_include && !o.parallel && o.manifest_verbose && o.clean_path);
        assert_eq!(o.max_file_bytes, 10 * 1024 * 1024);
    }

    // PostgreSQL's COPY forms are not Redshift transfers.
    #[test]
    fn postgres_copy_is_not_a_transfer() {
        for sql in [
            "COPY t FROM STDIN",
            "COPY t TO STDOUT",
            "COPY (SELECT 1) TO STDOUT",
        ] {
            let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql)
                .tokenize_with_location()
                .unwrap();
            assert!(!is_transfer(&tokens), "{sql}");
        }
    }
}
