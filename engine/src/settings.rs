//! A session's configuration parameters: SET / SET LOCAL / RESET / SHOW, as PostgreSQL has them.
//!
//! Each parameter has a default, an optional value given by the client at startup (which
//! becomes the value RESET returns to), a session value, and a SET LOCAL value that lasts until
//! the transaction block ends. A SET inside a block is undone by ROLLBACK, as in PostgreSQL.
//!
//! Parameters marked `report` are the ones PostgreSQL announces with ParameterStatus messages;
//! [`Settings::reported_changes`] lists those whose value changed since the last report.
//!
//! Only parameters whose every accepted value Basalt honours are settable: a DateStyle other
//! than ISO output or a client encoding other than UTF8 is refused instead of silently ignored.

use crate::types::Datum;
use std::fmt::Write as _;

use sqlparser::ast;

use crate::error::{Error, Result};
use crate::kernels::zones::{fixed_offset, session_zone, Zone};

/// How a parameter's values are checked and written back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Fixed by the server.
    ReadOnly,
    /// Free text.
    Text,
    /// A Boolean; the accepted values are given (on/off), written as `on` / `off`.
    Bool { allowed: &'static [bool] },
    /// An integer in a range.
    Int { min: i64, max: i64 },
    /// A duration in milliseconds (a bare number is milliseconds), written with the largest
    /// unit that divides it, as PostgreSQL does.
    Millis,
    /// An amount of memory in bytes (a bare number is kilobytes, as for PostgreSQL's
    /// work_mem), at least `min_kb` kilobytes, written with the largest unit that divides it.
    Memory { min_kb: u64 },
    /// One of a list of lower-case words.
    Enum(&'static [&'static str]),
    /// `ISO, MDY` and the like: output style, then field order.
    DateStyle,
    /// A client encoding; only UTF8 (and its spellings) is accepted.
    Encoding,
    /// A time zone name or offset.
    TimeZone,
    /// A list of schema names.
    SearchPath,
}

struct Param {
    /// The name as PostgreSQL spells it (SHOW's column name and ParameterStatus's key).
    name: &'static str,
    /// The built-in value; `None` for session_authorization, which is the session's user.
    default: Option<&'static str>,
    /// Whether a change is reported to the client with ParameterStatus.
    report: bool,
    kind: Kind,
    description: &'static str,
}

const MESSAGE_LEVELS: &[&str] = &[
    "debug5", "debug4", "debug3", "debug2", "debug1", "log", "notice", "warning", "error",
];

/// Every parameter, sorted by name (case-insensitively) as SHOW ALL lists them.
const PARAMS: &[Param] = &[
    Param {
        name: "application_name",
        default: Some(""),
        report: true,
        kind: Kind::Text,
        description: "Sets the application name to be reported in statistics and logs.",
    },
    Param {
        name: "client_encoding",
        default: Some("UTF8"),
        report: true,
        kind: Kind::Encoding,
        description: "Sets the client's character set encoding.",
    },
    Param {
        name: "client_min_messages",
        default: Some("notice"),
        report: false,
        kind: Kind::Enum(MESSAGE_LEVELS),
        description: "Sets the message levels that are sent to the client.",
    },
    Param {
        name: "DateStyle",
        default: Some("ISO, MDY"),
        report: true,
        kind: Kind::DateStyle,
        description: "Sets the display format for date and time values.",
    },
    Param {
        name: "default_transaction_read_only",
        default: Some("off"),
        report: true,
        kind: Kind::Bool { allowed: &[false] },
        description: "Sets the default read-only status of new transactions.",
    },
    Param {
        name: "extra_float_digits",
        default: Some("1"),
        report: false,
        kind: Kind::Int { min: -15, max: 3 },
        description: "Sets the number of digits displayed for floating-point values.",
    },
    Param {
        name: "in_hot_standby",
        default: Some("off"),
        report: true,
        kind: Kind::ReadOnly,
        description: "Shows whether hot standby is currently active.",
    },
    Param {
        name: "integer_datetimes",
        default: Some("on"),
        report: true,
        kind: Kind::ReadOnly,
        description: "Shows whether datetimes are integer based.",
    },
    Param {
        name: "IntervalStyle",
        default: Some("postgres"),
        report: true,
        kind: Kind::Enum(&["postgres", "postgres_verbose", "sql_standard", "iso_8601"]),
        description: "Sets the display format for interval values.",
    },
    Param {
        name: "is_superuser",
        default: Some("on"),
        report: true,
        kind: Kind::ReadOnly,
        description: "Shows whether the current user is a superuser.",
    },
    Param {
        name: "max_identifier_length",
        default: Some("63"),
        report: false,
        kind: Kind::ReadOnly,
        description: "Shows the maximum identifier length.",
    },
    Param {
        name: "max_index_keys",
        default: Some("32"),
        report: false,
        kind: Kind::ReadOnly,
        description: "Shows the maximum number of index keys.",
    },
    Param {
        name: "query_group",
        default: Some(""),
        report: false,
        kind: Kind::Text,
        description: "Sets the label of the session's queries in STL_QUERY (empty: \
                      \"default\").",
    },
    Param {
        name: "query_memory_limit",
        // Each session starts with the engine's default, a share of the machine's memory.
        default: Some("0"),
        report: false,
        kind: Kind::Memory { min_kb: 0 },
        description: "Sets the most memory one query may hold (0: no limit); over it, the \
                      query fails with 53200.",
    },
    Param {
        name: "role",
        default: Some("none"),
        report: false,
        // Changed only by SET ROLE / RESET ROLE, which the session checks and applies.
        kind: Kind::ReadOnly,
        description: "Sets the current role.",
    },
    Param {
        name: "search_path",
        default: Some("\"$user\", public"),
        report: false,
        kind: Kind::SearchPath,
        description: "Sets the schema search order for names that are not schema-qualified.",
    },
    Param {
        name: "server_encoding",
        default: Some("UTF8"),
        report: true,
        kind: Kind::ReadOnly,
        description: "Shows the server (database) character set encoding.",
    },
    Param {
        name: "server_version",
        default: Some(crate::SERVER_VERSION),
        report: true,
        kind: Kind::ReadOnly,
        description: "Shows the server version.",
    },
    Param {
        name: "server_version_num",
        default: Some(crate::PG_VERSION_NUM),
        report: false,
        kind: Kind::ReadOnly,
        description: "Shows the server version as an integer.",
    },
    Param {
        name: "session_authorization",
        default: None,
        report: true,
        kind: Kind::ReadOnly,
        description: "Sets the session user name.",
    },
    Param {
        name: "standard_conforming_strings",
        default: Some("on"),
        report: true,
        kind: Kind::Bool { allowed: &[true] },
        description: "Causes '...' strings to treat backslashes literally.",
    },
    Param {
        name: "statement_timeout",
        default: Some("0"),
        report: false,
        kind: Kind::Millis,
        description: "Sets the maximum allowed duration of any statement.",
    },
    Param {
        name: "TimeZone",
        default: Some("UTC"),
        report: true,
        kind: Kind::TimeZone,
        description: "Sets the time zone for displaying and interpreting time stamps.",
    },
    Param {
        name: "transaction_isolation",
        default: Some("serializable"),
        report: false,
        kind: Kind::ReadOnly,
        description: "Sets the current transaction's isolation level.",
    },
    Param {
        name: "work_mem",
        default: Some("4MB"),
        report: false,
        // PostgreSQL's bounds, in kilobytes.
        kind: Kind::Memory { min_kb: 64 },
        description: "Sets the maximum memory to be used for query workspaces.",
    },
];

/// One value of a SET, as written.
#[derive(Clone, Debug)]
enum Value {
    /// A quoted string.
    Str(String),
    /// A bare word (folded to lower case unless double-quoted).
    Ident { text: String },
    /// A number, as written.
    Num(String),
    /// The text of `INTERVAL '...'` (SET TIME ZONE).
    Interval(String),
}

/// The parameter values at a SAVEPOINT, taken by [`Settings::savepoint`].
#[derive(Clone, Debug)]
pub struct SettingsMark {
    session: Vec<String>,
    local: Vec<Option<String>>,
}

/// A session's parameter values.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The value RESET returns to: the default, or what the client gave at startup.
    reset: Vec<String>,
    /// The session values (SET, SET SESSION).
    session: Vec<String>,
    /// SET LOCAL values, until the transaction block ends.
    local: Vec<Option<String>>,
    /// The session values when the open transaction block began, restored by ROLLBACK.
    saved: Option<Vec<String>>,
    /// The values last reported to the client.
    reported: Vec<Option<String>>,
}

impl Settings {
    /// The defaults for a session of `user`.
    pub fn new(user: &str) -> Settings {
        let values: Vec<String> = PARAMS
            .iter()
            .map(|p| p.default.unwrap_or(user).to_owned())
            .collect();
        Settings {
            reset: values.clone(),
            session: values,
            local: vec![None; PARAMS.len()],
            saved: None,
            reported: vec![None; PARAMS.len()],
        }
    }

    /// The current value of parameter `name` (any case), or `None` if there is no such
    /// parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        lookup(name).map(|i| self.effective(i))
    }

    fn effective(&self, i: usize) -> &str {
        self.local[i].as_deref().unwrap_or(&self.session[i])
    }

    /// The rows of `pg_settings`: every parameter SHOW ALL lists, with PostgreSQL's columns.
    /// Durations show in milliseconds and memory in kilobytes, with their unit, as
    /// PostgreSQL's `setting` column does; `source` is `session` for a value SET in this
    /// session, `client` for one the client sent at startup, and `default` otherwise.
    pub fn catalog_rows(&self) -> Vec<Vec<Datum>> {
        let text = |v: &str| Datum::Text(v.to_owned());
        let opt = |v: Option<String>| v.map_or(Datum::Null, Datum::Text);
        PARAMS
            .iter()
            .enumerate()
            .filter(|(_, p)| !matches!(p.name, "is_superuser" | "role" | "session_authorization"))
            .map(|(i, p)| {
                let value = self.effective(i);
                let (setting, unit) = match p.kind {
                    Kind::Millis => (
                        parse_millis(value).map_or(value.to_owned(), |ms| ms.to_string()),
                        Some("ms"),
                    ),
                    Kind::Memory { .. } => (
                        parse_memory(value).map_or(value.to_owned(), |b| (b >> 10).to_string()),
                        Some("kB"),
                    ),
                    _ => (value.to_owned(), None),
                };
                let (vartype, min, max, enumvals) = match p.kind {
                    Kind::Bool { .. } => ("bool", None, None, None),
                    Kind::Int { min, max } => (
                        "integer",
                        Some(min.to_string()),
                        Some(max.to_string()),
                        None,
                    ),
                    Kind::Millis => (
                        "integer",
                        Some("0".to_owned()),
                        Some(i32::MAX.to_string()),
                        None,
                    ),
                    Kind::Memory { min_kb } => (
                        "integer",
                        Some(min_kb.to_string()),
                        Some(i32::MAX.to_string()),
                        None,
                    ),
                    Kind::Enum(words) => ("enum", None, None, Some(words)),
                    Kind::ReadOnly if p.name == "transaction_isolation" => (
                        "enum",
                        None,
                        None,
                        Some(
                            &[
                                "serializable",
                                "repeatable read",
                                "read committed",
                                "read uncommitted",
                            ][..],
                        ),
                    ),
                    Kind::ReadOnly if value.parse::<i64>().is_ok() => (
                        "integer",
                        Some(value.to_owned()),
                        Some(value.to_owned()),
                        None,
                    ),
                    Kind::ReadOnly if matches!(value, "on" | "off") => ("bool", None, None, None),
                    _ => ("string", None, None, None),
                };
                let default = p.default.unwrap_or(&self.reset[i]);
                let source = if self.local[i].is_some() || self.session[i] != self.reset[i] {
                    "session"
                } else if self.reset[i] != default {
                    "client"
                } else {
                    "default"
                };
                vec![
                    text(p.name),
                    text(&setting),
                    opt(unit.map(str::to_owned)),
                    text(category(p.name)),
                    text(p.description),
                    Datum::Null,
                    text(if p.kind == Kind::ReadOnly {
                        "internal"
                    } else {
                        "user"
                    }),
                    text(vartype),
                    text(source),
                    opt(min),
                    opt(max),
                    enumvals.map_or(Datum::Null, |w| {
                        Datum::Array(w.iter().map(|v| text(v)).collect())
                    }),
                    text(default),
                    text(&self.reset[i]),
                    Datum::Null,
                    Datum::Null,
                    Datum::Boolean(false),
                ]
            })
            .collect()
    }

    /// The session's time zone (`TimeZone`), in which TIMESTAMPTZ values are read and
    /// printed.
    pub fn time_zone(&self) -> Zone {
        self.get("TimeZone")
            .and_then(session_zone)
            .map_or(Zone::UTC, |(zone, _)| zone)
    }

    /// The statement timeout in milliseconds (0: none).
    pub fn statement_timeout_ms(&self) -> u64 {
        self.get("statement_timeout")
            .and_then(|v| parse_millis(v).ok())
            .and_then(|v| u64::try_from(v).ok())
            .unwrap_or(0)
    }

    /// Sets the session's starting query memory budget (`64MB`, as SHOW prints it); a value
    /// that does not parse leaves the budget as it was.
    pub fn set_query_memory_limit(&mut self, value: &str) {
        if let Some(i) = lookup("query_memory_limit") {
            if parse_memory(value).is_some() {
                self.reset[i] = value.to_owned();
                self.session[i] = value.to_owned();
            }
        }
    }

    /// The query memory budget in bytes (0: none).
    pub fn query_memory_limit_bytes(&self) -> u64 {
        self.get("query_memory_limit")
            .and_then(parse_memory)
            .unwrap_or(0)
    }

    /// `work_mem` in bytes: how much of a cursor's rows read so far it keeps in memory before
    /// it writes the older ones to a spill file.
    pub fn work_mem_bytes(&self) -> u64 {
        self.get("work_mem")
            .and_then(parse_memory)
            .unwrap_or(4 << 20)
    }

    /// Applies a parameter the client sent in its startup message: it becomes the session's
    /// value and the value RESET returns to.
    pub fn set_startup(&mut self, name: &str, value: &str) -> Result<()> {
        let i = lookup(name).ok_or_else(|| Error::UnrecognizedParameter {
            name: name.to_lowercase(),
        })?;
        let param = &PARAMS[i];
        if param.kind == Kind::ReadOnly {
            return Err(Error::ReadOnlyParameter {
                name: param.name.to_owned(),
            });
        }
        let canonical = canonical(param, &[Value::Str(value.to_owned())])?;
        self.reset[i] = canonical.clone();
        self.session[i] = canonical;
        Ok(())
    }

    /// Sets the read-only `session_authorization` and `is_superuser` for the session's
    /// (new) user: at startup and on SET SESSION AUTHORIZATION.
    pub fn set_session_user(&mut self, user: &str, superuser: bool) {
        let on = if superuser { "on" } else { "off" };
        // A new session user starts with no role set.
        for (name, value) in [
            ("session_authorization", user),
            ("is_superuser", on),
            ("role", "none"),
        ] {
            if let Some(i) = lookup(name) {
                self.reset[i] = value.to_owned();
                self.session[i] = value.to_owned();
            }
        }
    }

    /// Sets the current role's name (`none` for the session user), as SET ROLE does:
    /// undone when the transaction block rolls back, and for the block only with `local`.
    pub fn set_role(&mut self, name: &str, local: bool, in_block: bool) {
        if let Some(i) = lookup("role") {
            self.assign(i, name.to_owned(), local, in_block);
        }
    }

    /// Reported parameters whose value changed since the last call (all of them, the first
    /// time), with their new values; they count as reported from now on.
    pub fn reported_changes(&mut self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for (i, p) in PARAMS.iter().enumerate() {
            if !p.report {
                continue;
            }
            let value = self.effective(i).to_owned();
            if self.reported[i].as_deref() != Some(value.as_str()) {
                self.reported[i] = Some(value.clone());
                out.push((p.name, value));
            }
        }
        out
    }

    /// A transaction block begins.
    pub fn begin(&mut self) {
        if self.saved.is_none() {
            self.saved = Some(self.session.clone());
        }
    }

    /// The transaction block ends; `committed` keeps its SETs, otherwise they are undone.
    /// SET LOCAL values end either way.
    pub fn end(&mut self, committed: bool) {
        if let Some(saved) = self.saved.take() {
            if !committed {
                self.session = saved;
            }
        }
        self.local = vec![None; PARAMS.len()];
    }

    /// The session and SET LOCAL values now, for a SAVEPOINT.
    pub fn savepoint(&self) -> SettingsMark {
        SettingsMark {
            session: self.session.clone(),
            local: self.local.clone(),
        }
    }

    /// ROLLBACK TO SAVEPOINT: undoes the SETs (SET LOCAL included) made since `mark`.
    pub fn rollback_to(&mut self, mark: &SettingsMark) {
        self.session.clone_from(&mark.session);
        self.local.clone_from(&mark.local);
    }

    /// `set_config(name, value, is_local)`: sets a parameter from text, as SET does, and
    /// returns the new value.
    pub fn set_config(
        &mut self,
        name: &str,
        value: Option<&str>,
        is_local: bool,
        in_block: bool,
    ) -> Result<String> {
        let i = settable(name)?;
        let value = match value {
            None => self.reset[i].clone(),
            Some(v) => canonical(&PARAMS[i], &[Value::Str(v.to_owned())])?,
        };
        self.assign(i, value, is_local, in_block);
        Ok(self.effective(i).to_owned())
    }

    fn assign(&mut self, i: usize, value: String, local: bool, in_block: bool) {
        if local {
            // Outside a block SET LOCAL has no effect (PostgreSQL warns and moves on).
            if in_block {
                self.local[i] = Some(value);
            }
        } else {
            self.session[i] = value;
            self.local[i] = None;
        }
    }
}

/// The name and description of SHOW's single result column, and SHOW ALL's three.
pub fn show_columns(stmt: &ast::Statement) -> Option<Result<Vec<&'static str>>> {
    match stmt {
        ast::Statement::ShowVariable { variable } => {
            let name = show_name(variable);
            if name == "all" {
                return Some(Ok(vec!["name", "setting", "description"]));
            }
            Some(
                lookup(&name)
                    .map(|i| vec![PARAMS[i].name])
                    .ok_or(Error::UnrecognizedParameter { name }),
            )
        }
        _ => None,
    }
}

/// Whether `stmt` is a SET or RESET this module runs (a command without rows).
pub fn is_command(stmt: &ast::Statement) -> bool {
    match stmt {
        ast::Statement::Set(set) => matches!(
            set,
            ast::Set::SingleAssignment { hivevar: false, .. }
                | ast::Set::SetTimeZone { .. }
                | ast::Set::SetNames { .. }
                | ast::Set::SetTransaction { snapshot: None, .. }
        ),
        ast::Statement::Reset(reset) => !matches!(reset.reset, ast::Reset::SessionAuthorization),
        _ => false,
    }
}

/// What a SET / RESET / SHOW statement does to `settings`; `None` for any other statement.
pub enum Outcome {
    /// A command completed with this tag.
    Command(&'static str),
    /// SHOW's rows (one column, or SHOW ALL's three).
    Rows(Vec<Vec<String>>),
}

/// Runs `stmt` if it is a SET, RESET or SHOW of configuration parameters.
pub fn execute(
    settings: &mut Settings,
    stmt: &ast::Statement,
    in_block: bool,
) -> Option<Result<Outcome>> {
    use ast::Set as S;
    Some(match stmt {
        ast::Statement::Set(set) => match set {
            S::SingleAssignment {
                scope,
                hivevar: false,
                variable,
                values,
            } => set_statement(
                settings,
                &object_name(variable),
                values,
                scope.as_ref() == Some(&ast::ContextModifier::Local),
                in_block,
            ),
            S::SetTimeZone { local, value } => set_statement(
                settings,
                "timezone",
                std::slice::from_ref(value),
                *local,
                in_block,
            ),
            S::SetNames { charset_name, .. } => set_values(
                settings,
                "client_encoding",
                vec![Value::Ident {
                    text: charset_name.value.clone(),
                }],
                false,
                in_block,
            ),
            // Every transaction is serializable, as in Redshift: the weaker levels are accepted
            // and run as serializable.
            S::SetTransaction { snapshot: None, .. } => Ok(Outcome::Command("SET")),
            _ => return None,
        },
        ast::Statement::Reset(reset) => match &reset.reset {
            ast::Reset::ALL => {
                for (i, p) in PARAMS.iter().enumerate() {
                    if p.kind != Kind::ReadOnly {
                        let value = settings.reset[i].clone();
                        settings.assign(i, value, false, in_block);
                    }
                }
                Ok(Outcome::Command("RESET"))
            }
            ast::Reset::ConfigurationParameter(name) => settable(&object_name(name)).map(|i| {
                let value = settings.reset[i].clone();
                settings.assign(i, value, false, in_block);
                Outcome::Command("RESET")
            }),
            ast::Reset::SessionAuthorization => return None,
        },
        ast::Statement::ShowVariable { variable } => {
            let name = show_name(variable);
            if name == "all" {
                Ok(Outcome::Rows(
                    PARAMS
                        .iter()
                        .enumerate()
                        // As in PostgreSQL, these two are left out of SHOW ALL.
                        .filter(|(_, p)| {
                            !matches!(p.name, "is_superuser" | "role" | "session_authorization")
                        })
                        .map(|(i, p)| {
                            vec![
                                p.name.to_owned(),
                                settings.effective(i).to_owned(),
                                p.description.to_owned(),
                            ]
                        })
                        .collect(),
                ))
            } else {
                lookup(&name)
                    .map(|i| Outcome::Rows(vec![vec![settings.effective(i).to_owned()]]))
                    .ok_or(Error::UnrecognizedParameter { name })
            }
        }
        _ => return None,
    })
}

fn set_statement(
    settings: &mut Settings,
    name: &str,
    values: &[ast::Expr],
    local: bool,
    in_block: bool,
) -> Result<Outcome> {
    let i = settable(name)?;
    // SET name TO DEFAULT is RESET name (and SET TIME ZONE LOCAL too).
    if let [ast::Expr::Identifier(id)] = values {
        let word = id.value.to_ascii_lowercase();
        let reset = word == "default" || (word == "local" && PARAMS[i].kind == Kind::TimeZone);
        if id.quote_style.is_none() && reset {
            let value = settings.reset[i].clone();
            settings.assign(i, value, local, in_block);
            return Ok(Outcome::Command("SET"));
        }
    }
    let values = values
        .iter()
        .map(|v| set_value(PARAMS[i].name, v))
        .collect::<Result<Vec<_>>>()?;
    set_values(settings, name, values, local, in_block)
}

fn set_values(
    settings: &mut Settings,
    name: &str,
    values: Vec<Value>,
    local: bool,
    in_block: bool,
) -> Result<Outcome> {
    let i = settable(name)?;
    if values.len() > 1 && !matches!(PARAMS[i].kind, Kind::DateStyle | Kind::SearchPath) {
        return Err(Error::InvalidParameter {
            message: format!("SET {} takes only one argument", name.to_lowercase()),
        });
    }
    let value = canonical(&PARAMS[i], &values)?;
    settings.assign(i, value, local, in_block);
    Ok(Outcome::Command("SET"))
}

/// The index of a parameter SET may change.
fn settable(name: &str) -> Result<usize> {
    let i = lookup(name).ok_or_else(|| Error::UnrecognizedParameter {
        name: name.to_lowercase(),
    })?;
    if PARAMS[i].kind == Kind::ReadOnly {
        return Err(Error::ReadOnlyParameter {
            name: PARAMS[i].name.to_owned(),
        });
    }
    Ok(i)
}

fn lookup(name: &str) -> Option<usize> {
    let name = match name.to_ascii_lowercase().as_str() {
        "time zone" => "timezone".to_owned(),
        "transaction isolation level" => "transaction_isolation".to_owned(),
        "session authorization" => "session_authorization".to_owned(),
        other => other.to_owned(),
    };
    PARAMS
        .iter()
        .position(|p| p.name.eq_ignore_ascii_case(&name))
}

fn object_name(name: &ast::ObjectName) -> String {
    name.0
        .iter()
        .map(|part| match part.as_ident() {
            Some(id) if id.quote_style.is_some() => id.value.clone(),
            Some(id) => id.value.to_lowercase(),
            None => part.to_string(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn show_name(variable: &[ast::Ident]) -> String {
    variable
        .iter()
        .map(|id| match id.quote_style {
            Some(_) => id.value.clone(),
            None => id.value.to_lowercase(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// One SET value from its expression: a string, a word, or a (signed) number.
fn set_value(name: &str, e: &ast::Expr) -> Result<Value> {
    match e {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s)
            | ast::Value::EscapedStringLiteral(s)
            | ast::Value::DoubleQuotedString(s) => Ok(Value::Str(s.clone())),
            ast::Value::Number(n, _) => Ok(Value::Num(n.to_string())),
            ast::Value::Boolean(b) => Ok(Value::Ident {
                text: b.to_string(),
            }),
            other => Err(bad_value(name, &other.to_string())),
        },
        ast::Expr::Identifier(id) => Ok(Value::Ident {
            text: match id.quote_style {
                Some(_) => id.value.clone(),
                None => id.value.to_lowercase(),
            },
        }),
        ast::Expr::UnaryOp {
            op: ast::UnaryOperator::Minus,
            expr,
        } => match expr.as_ref() {
            ast::Expr::Value(v) => match &v.value {
                ast::Value::Number(n, _) => Ok(Value::Num(format!("-{n}"))),
                other => Err(bad_value(name, &format!("-{other}"))),
            },
            other => Err(bad_value(name, &format!("-{other}"))),
        },
        ast::Expr::UnaryOp {
            op: ast::UnaryOperator::Plus,
            expr,
        } => set_value(name, expr),
        // SET TIME ZONE INTERVAL '+03:30': the text PostgreSQL shows in its messages.
        ast::Expr::Interval(iv) if iv.leading_field.is_none() => match iv.value.as_ref() {
            ast::Expr::Value(v) => match &v.value {
                ast::Value::SingleQuotedString(s) => Ok(Value::Interval(s.clone())),
                other => Err(bad_value(name, &format!("INTERVAL {other}"))),
            },
            other => Err(bad_value(name, &format!("INTERVAL {other}"))),
        },
        other => Err(Error::Syntax {
            message: format!("syntax error at or near \"{other}\""),
            position: None,
        }),
    }
}

impl Value {
    fn text(&self) -> &str {
        match self {
            Value::Str(s) | Value::Num(s) | Value::Interval(s) => s,
            Value::Ident { text, .. } => text,
        }
    }
}

fn bad_value(name: &str, value: &str) -> Error {
    Error::InvalidParameter {
        message: format!("invalid value for parameter \"{name}\": \"{value}\""),
    }
}

/// Checks `values` for `param` and returns the value as SHOW will print it.
fn canonical(param: &Param, values: &[Value]) -> Result<String> {
    let name = param.name;
    let list = matches!(param.kind, Kind::DateStyle | Kind::SearchPath);
    if values.len() > 1 && !list {
        return Err(Error::InvalidParameter {
            message: format!("SET {name} takes only one argument"),
        });
    }
    let single = || values.first().map(Value::text).unwrap_or("");
    match param.kind {
        Kind::ReadOnly => Err(Error::ReadOnlyParameter {
            name: name.to_owned(),
        }),
        Kind::Text => Ok(single()
            .chars()
            .map(|c| {
                if c.is_ascii() && !c.is_ascii_control() {
                    c
                } else {
                    '?'
                }
            })
            .collect()),
        Kind::Bool { allowed } => {
            let v = parse_bool(single()).ok_or_else(|| Error::InvalidParameter {
                message: format!("parameter \"{name}\" requires a Boolean value"),
            })?;
            if !allowed.contains(&v) {
                return Err(Error::Unsupported {
                    message: format!("{name} = {} is not supported", if v { "on" } else { "off" }),
                });
            }
            Ok(if v { "on" } else { "off" }.to_owned())
        }
        Kind::Int { min, max } => {
            let text = single();
            let v: i64 = text.trim().parse().map_err(|_| bad_value(name, text))?;
            if v < min || v > max {
                return Err(Error::InvalidParameter {
                    message: format!(
                        "{v} is outside the valid range for parameter \"{name}\" ({min} .. {max})"
                    ),
                });
            }
            Ok(v.to_string())
        }
        Kind::Millis => {
            let text = single();
            let ms = parse_millis(text).map_err(|_| bad_value(name, text))?;
            if !(0..=i64::from(i32::MAX)).contains(&ms) {
                return Err(Error::InvalidParameter {
                    message: format!(
                        "{ms} ms is outside the valid range for parameter \"{name}\" (0 .. {})",
                        i32::MAX
                    ),
                });
            }
            Ok(format_millis(ms))
        }
        Kind::Memory { min_kb } => {
            let text = single();
            let bytes = parse_memory(text).ok_or_else(|| bad_value(name, text))?;
            if min_kb > 0 && !(min_kb..=i32::MAX as u64).contains(&(bytes >> 10)) {
                return Err(Error::InvalidParameter {
                    message: format!(
                        "{} kB is outside the valid range for parameter \"{name}\" ({min_kb} .. {})",
                        bytes >> 10,
                        i32::MAX
                    ),
                });
            }
            Ok(crate::exec::memory::format_bytes(bytes))
        }
        Kind::Enum(words) => {
            let v = single().to_lowercase();
            if words.contains(&v.as_str()) {
                Ok(v)
            } else {
                Err(bad_value(name, single()))
            }
        }
        Kind::DateStyle => date_style(values),
        Kind::Encoding => {
            let v = single();
            // As PostgreSQL's clean_encoding_name: only letters and digits count.
            let folded: String = v
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect::<String>()
                .to_ascii_lowercase();
            match folded.as_str() {
                "utf8" | "unicode" => Ok("UTF8".to_owned()),
                // SQL_ASCII asks for no conversion at all, which is what a UTF8 client gets.
                // psql under the C locale sends it.
                "sqlascii" => Ok("SQL_ASCII".to_owned()),
                _ => Err(Error::Unsupported {
                    message: format!(
                        "conversion between {} and UTF8 is not supported",
                        folded.to_uppercase()
                    ),
                }),
            }
        }
        Kind::TimeZone => match values.first() {
            Some(Value::Interval(text)) => {
                let shown = format!("INTERVAL '{text}'");
                let v = crate::types::temporal::parse_interval(text)
                    .map_err(|_| bad_value(name, &shown))?;
                // PostgreSQL adds the reason as a DETAIL line.
                let unit = if v.months != 0 {
                    Some("months")
                } else if v.days != 0 {
                    Some("days")
                } else {
                    None
                };
                if let Some(unit) = unit {
                    return Err(Error::InvalidParameter {
                        message: format!(
                            "invalid value for parameter \"{name}\": \"{shown}\" (Cannot specify {unit} in time zone interval.)"
                        ),
                    });
                }
                fixed_offset(v.micros / 1_000_000)
                    .map(|(_, text)| text)
                    .ok_or_else(|| bad_value(name, &shown))
            }
            _ => {
                let v = single();
                session_zone(v)
                    .map(|(_, text)| text)
                    .ok_or_else(|| bad_value(name, v))
            }
        },
        Kind::SearchPath => {
            let mut out = String::new();
            for (k, value) in values.iter().enumerate() {
                if k > 0 {
                    out.push_str(", ");
                }
                let text = value.text();
                let plain = !text.is_empty()
                    && text
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
                    && text
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                if plain {
                    out.push_str(text);
                } else {
                    let _ = write!(out, "\"{}\"", text.replace('"', "\"\""));
                }
            }
            Ok(out)
        }
    }
}

/// PostgreSQL's Boolean spellings (any unambiguous prefix of true/false/yes/no, on/off, 1/0).
fn parse_bool(text: &str) -> Option<bool> {
    let t = text.trim().to_ascii_lowercase();
    if t.is_empty() {
        return None;
    }
    let prefix = |word: &str| word.starts_with(t.as_str());
    match t.as_str() {
        "1" | "on" => Some(true),
        "0" | "of" | "off" => Some(false),
        _ if prefix("true") || prefix("yes") => Some(true),
        _ if prefix("false") || prefix("no") => Some(false),
        _ => None,
    }
}

/// PostgreSQL's `pg_settings.category` of parameter `name`.
fn category(name: &str) -> &'static str {
    match name {
        "application_name" => "Reporting and Logging / What to Log",
        "client_encoding" | "DateStyle" | "extra_float_digits" | "IntervalStyle" | "TimeZone" => {
            "Client Connection Defaults / Locale and Formatting"
        }
        "client_min_messages"
        | "default_transaction_read_only"
        | "query_group"
        | "search_path"
        | "statement_timeout"
        | "transaction_isolation" => "Client Connection Defaults / Statement Behavior",
        "standard_conforming_strings" => {
            "Version and Platform Compatibility / Previous PostgreSQL Versions"
        }
        "query_memory_limit" | "work_mem" => "Resource Usage / Memory",
        _ => "Preset Options",
    }
}

/// A duration with an optional unit (ms, s, min, h, d; milliseconds without one).
fn parse_millis(text: &str) -> std::result::Result<i64, ()> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '-' || c == '+' || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: f64 = number.parse().map_err(|_| ())?;
    let factor = match unit.trim() {
        "" | "ms" => 1.0,
        "s" => 1_000.0,
        "min" => 60_000.0,
        "h" => 3_600_000.0,
        "d" => 86_400_000.0,
        _ => return Err(()),
    };
    let ms = (number * factor).round();
    if !ms.is_finite() || ms.abs() > 1e15 {
        return Err(());
    }
    Ok(ms as i64)
}

/// An amount of memory: a whole number with a unit (B, kB, MB, GB, TB; none is kB), as
/// PostgreSQL's memory settings take it.
pub fn parse_memory(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: u64 = number.parse().ok()?;
    let factor: u64 = match unit.trim() {
        "B" => 1,
        "" | "kB" => 1 << 10,
        "MB" => 1 << 20,
        "GB" => 1 << 30,
        "TB" => 1 << 40,
        _ => return None,
    };
    number.checked_mul(factor)
}

fn format_millis(ms: i64) -> String {
    if ms == 0 {
        return "0".to_owned();
    }
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("min", 60_000),
        ("s", 1_000),
    ] {
        if ms % size == 0 {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

/// DateStyle's words, in any order and case: an output style and a field order.
fn date_style(values: &[Value]) -> Result<String> {
    let joined: Vec<String> = values.iter().map(|v| v.text().to_owned()).collect();
    let shown = joined.join(", ");
    let mut style: Option<&str> = None;
    let mut order: Option<&str> = None;
    for word in shown
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
    {
        let (slot, value) = match word.to_ascii_lowercase().as_str() {
            "iso" => (&mut style, "ISO"),
            "postgres" | "sql" | "german" => {
                return Err(Error::Unsupported {
                    message: format!(
                        "DateStyle \"{word}\" is not supported: dates are written in ISO style"
                    ),
                })
            }
            "mdy" | "us" | "noneuropean" => (&mut order, "MDY"),
            "dmy" | "european" => (&mut order, "DMY"),
            "ymd" => (&mut order, "YMD"),
            "default" => (&mut order, "MDY"),
            _ => return Err(bad_value("DateStyle", &shown)),
        };
        if slot.is_some_and(|s| s != value) {
            return Err(Error::InvalidParameter {
                message: format!(
                    "invalid value for parameter \"DateStyle\": \"{shown}\" (conflicting \"datestyle\" specifications)"
                ),
            });
        }
        *slot = Some(value);
    }
    Ok(format!(
        "{}, {}",
        style.unwrap_or("ISO"),
        order.unwrap_or("MDY")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(settings: &mut Settings, sql: &str, in_block: bool) -> Result<Outcome> {
        let stmt = crate::parse::parse(sql).unwrap().remove(0);
        execute(settings, &stmt, in_block).expect("a settings statement")
    }

    fn show(settings: &mut Settings, name: &str) -> String {
        match run(settings, &format!("SHOW {name}"), false).unwrap() {
            Outcome::Rows(rows) => rows[0][0].clone(),
            Outcome::Command(_) => panic!("SHOW returned no rows"),
        }
    }

    #[test]
    fn values_are_written_back_as_postgres_shows_them() {
        let mut s = Settings::new("alice");
        run(&mut s, "SET statement_timeout = 5000", false).unwrap();
        assert_eq!(show(&mut s, "statement_timeout"), "5s");
        run(&mut s, "SET statement_timeout TO '1500'", false).unwrap();
        assert_eq!(show(&mut s, "statement_timeout"), "1500ms");
        run(&mut s, "SET statement_timeout = '2min'", false).unwrap();
        assert_eq!(s.statement_timeout_ms(), 120_000);
        run(&mut s, "SET datestyle = 'iso'", false).unwrap();
        assert_eq!(show(&mut s, "DateStyle"), "ISO, MDY");
        run(&mut s, "SET datestyle = ymd, iso", false).unwrap();
        assert_eq!(show(&mut s, "datestyle"), "ISO, YMD");
        run(
            &mut s,
            "SET search_path = \"$user\", Public, \"Odd\"",
            false,
        )
        .unwrap();
        assert_eq!(show(&mut s, "search_path"), "\"$user\", public, \"Odd\"");
        run(&mut s, "SET extra_float_digits = -3", false).unwrap();
        assert_eq!(show(&mut s, "extra_float_digits"), "-3");
        run(&mut s, "SET client_encoding = 'utf-8'", false).unwrap();
        s.set_startup("client_encoding", "'utf-8'").unwrap();
        assert_eq!(show(&mut s, "client_encoding"), "UTF8");
        run(&mut s, "SET standard_conforming_strings = true", false).unwrap();
        assert_eq!(show(&mut s, "standard_conforming_strings"), "on");
        assert_eq!(show(&mut s, "session_authorization"), "alice");
    }

    #[test]
    fn bad_names_and_values_get_postgres_errors() {
        let mut s = Settings::new("u");
        let e = run(&mut s, "SET no_such = 1", false).err().unwrap();
        assert_eq!(
            e.to_string(),
            "unrecognized configuration parameter \"no_such\""
        );
        let e = run(&mut s, "SHOW no_such", false).err().unwrap();
        assert!(matches!(e, Error::UnrecognizedParameter { .. }));
        let e = run(&mut s, "SET server_version = '1'", false)
            .err()
            .unwrap();
        assert_eq!(
            e.to_string(),
            "parameter \"server_version\" cannot be changed"
        );
        let e = run(&mut s, "SET extra_float_digits = 9", false)
            .err()
            .unwrap();
        assert_eq!(
            e.to_string(),
            "9 is outside the valid range for parameter \"extra_float_digits\" (-15 .. 3)"
        );
        let e = run(&mut s, "SET client_min_messages = loud", false)
            .err()
            .unwrap();
        assert_eq!(
            e.to_string(),
            "invalid value for parameter \"client_min_messages\": \"loud\""
        );
        let e = run(&mut s, "SET statement_timeout = '5 parsecs'", false)
            .err()
            .unwrap();
        assert!(matches!(e, Error::InvalidParameter { .. }));
        let e = run(&mut s, "SET application_name = a, b", false)
            .err()
            .unwrap();
        assert_eq!(
            e.to_string(),
            "SET application_name takes only one argument"
        );
        let e = run(&mut s, "SET standard_conforming_strings = off", false)
            .err()
            .unwrap();
        assert!(matches!(e, Error::Unsupported { .. }));
    }

    #[test]
    fn rollback_undoes_set_and_local_ends_with_the_block() {
        let mut s = Settings::new("u");
        run(&mut s, "SET application_name = 'before'", false).unwrap();
        s.begin();
        run(&mut s, "SET application_name = 'inside'", true).unwrap();
        run(&mut s, "SET LOCAL client_min_messages = warning", true).unwrap();
        assert_eq!(show(&mut s, "client_min_messages"), "warning");
        s.end(false);
        assert_eq!(show(&mut s, "application_name"), "before");
        assert_eq!(show(&mut s, "client_min_messages"), "notice");
        s.begin();
        run(&mut s, "SET application_name = 'kept'", true).unwrap();
        s.end(true);
        assert_eq!(show(&mut s, "application_name"), "kept");
        // Outside a block SET LOCAL changes nothing.
        run(&mut s, "SET LOCAL application_name = 'x'", false).unwrap();
        assert_eq!(show(&mut s, "application_name"), "kept");
    }

    #[test]
    fn rollback_to_a_savepoint_undoes_only_the_later_sets() {
        // Input: a block that sets a value, takes a savepoint, sets it again and sets a LOCAL
        // value, then rolls back to the savepoint and commits.
        let mut s = Settings::new("u");
        s.begin();
        run(&mut s, "SET application_name = 'first'", true).unwrap();
        let mark = s.savepoint();
        run(&mut s, "SET application_name = 'second'", true).unwrap();
        run(&mut s, "SET LOCAL client_min_messages = warning", true).unwrap();
        s.rollback_to(&mark);
        assert_eq!(show(&mut s, "application_name"), "first");
        assert_eq!(show(&mut s, "client_min_messages"), "notice");
        s.end(true);
        assert_eq!(show(&mut s, "application_name"), "first");
    }

    #[test]
    fn reset_returns_to_the_startup_value_and_changes_are_reported_once() {
        let mut s = Settings::new("u");
        s.set_startup("application_name", "psql").unwrap();
        let first = s.reported_changes();
        assert!(first.contains(&("application_name", "psql".to_owned())));
        assert!(first.contains(&("server_version", crate::SERVER_VERSION.to_owned())));
        assert!(crate::SERVER_VERSION.starts_with(crate::PG_VERSION));
        assert!(s.reported_changes().is_empty());
        run(&mut s, "SET application_name = 'app'", false).unwrap();
        run(&mut s, "SET extra_float_digits = 3", false).unwrap();
        assert_eq!(
            s.reported_changes(),
            vec![("application_name", "app".to_owned())]
        );
        run(&mut s, "RESET application_name", false).unwrap();
        assert_eq!(show(&mut s, "application_name"), "psql");
        run(&mut s, "SET extra_float_digits TO DEFAULT", false).unwrap();
        assert_eq!(show(&mut s, "extra_float_digits"), "1");
        run(&mut s, "RESET ALL", false).unwrap();
        assert!(s.set_startup("bogus", "1").is_err());
    }

    #[test]
    fn time_zone_comes_from_startup_set_and_reset() {
        // Input: a client's startup TimeZone (as pgjdbc sends one), then SET TIME ZONE with a
        // number, LOCAL and a bad name, then RESET.
        let mut s = Settings::new("u");
        s.set_startup("TimeZone", "europe/berlin").unwrap();
        assert_eq!(show(&mut s, "timezone"), "Europe/Berlin");
        assert_eq!(s.time_zone(), session_zone("Europe/Berlin").unwrap().0);
        run(&mut s, "SET TIME ZONE -5", false).unwrap();
        assert_eq!(show(&mut s, "TimeZone"), "<-05>+05");
        assert_eq!(s.time_zone(), Zone::Fixed(-5 * 3600));
        run(&mut s, "SET TIME ZONE LOCAL", false).unwrap();
        assert_eq!(show(&mut s, "TimeZone"), "Europe/Berlin");
        let e = run(&mut s, "SET TIME ZONE 'Mars/Olympus'", false)
            .err()
            .unwrap();
        assert_eq!(
            e.to_string(),
            "invalid value for parameter \"TimeZone\": \"Mars/Olympus\""
        );
        run(&mut s, "SET TimeZone = 'UTC'", false).unwrap();
        run(&mut s, "RESET TimeZone", false).unwrap();
        assert_eq!(show(&mut s, "TimeZone"), "Europe/Berlin");
    }

    #[test]
    fn booleans_accept_postgres_spellings() {
        assert_eq!(parse_bool("on"), Some(true));
        assert_eq!(parse_bool("OFF"), Some(false));
        assert_eq!(parse_bool("t"), Some(true));
        assert_eq!(parse_bool("n"), Some(false));
        assert_eq!(parse_bool("o"), None);
        assert_eq!(parse_bool("of"), Some(false));
        assert_eq!(parse_bool("maybe"), None);
    }
}
