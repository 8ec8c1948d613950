//! The one place where errors become PostgreSQL error responses.
//!
//! Every error the server sends goes through [`SqlError`]: engine and storage errors through
//! [`SqlError::from_engine`], and the server's own (startup, protocol, parameters) through the
//! constructors here with a code from [`code`]. A variant added to the engine's or storage's
//! error enum maps to `XX000` until it is given its code below, so the workspace keeps building
//! while the mapping catches up.

use basalt_engine::Error as EngineError;
use basalt_storage::Error as StorageError;
use pgwire::error::{ErrorInfo, PgWireError, SEVERITY_ERROR, SEVERITY_FATAL};

/// The SQLSTATE codes Basalt sends, named as in PostgreSQL's `errcodes.txt`.
pub mod code {
    /// `42601`: the statement does not parse.
    pub const SYNTAX_ERROR: &str = "42601";
    /// `42P01`: a table that does not exist, or a qualifier missing from FROM.
    pub const UNDEFINED_TABLE: &str = "42P01";
    /// `42704`: a type name that does not exist.
    pub const UNDEFINED_OBJECT: &str = "42704";
    /// `3F000`: a schema that does not exist.
    pub const INVALID_SCHEMA_NAME: &str = "3F000";
    /// `42P10`: an ORDER BY or GROUP BY reference that is not allowed there.
    pub const INVALID_COLUMN_REFERENCE: &str = "42P10";
    /// `42703`: a column that does not exist.
    pub const UNDEFINED_COLUMN: &str = "42703";
    /// `42702`: a column name that matches more than one column.
    pub const AMBIGUOUS_COLUMN: &str = "42702";
    /// `42P07`: a table that already exists.
    pub const DUPLICATE_TABLE: &str = "42P07";
    /// `42701`: a column named twice.
    pub const DUPLICATE_COLUMN: &str = "42701";
    /// `42712`: a table alias used twice.
    pub const DUPLICATE_ALIAS: &str = "42712";
    /// `42804`: an expression of the wrong type.
    pub const DATATYPE_MISMATCH: &str = "42804";
    /// `42846`: no cast between two types.
    pub const CANNOT_COERCE: &str = "42846";
    /// `42883`: no function or operator for the argument types.
    pub const UNDEFINED_FUNCTION: &str = "42883";
    /// `42725`: several functions or operators match the argument types.
    pub const AMBIGUOUS_FUNCTION: &str = "42725";
    /// `42803`: a column outside an aggregate that GROUP BY requires.
    pub const GROUPING_ERROR: &str = "42803";
    /// `42P05`: a prepared statement name already in use.
    pub const DUPLICATE_PREPARED_STATEMENT: &str = "42P05";
    /// `0A000`: a feature Basalt does not support.
    pub const FEATURE_NOT_SUPPORTED: &str = "0A000";
    /// `22012`: division by zero.
    pub const DIVISION_BY_ZERO: &str = "22012";
    /// `22003`: a number does not fit its type.
    pub const NUMERIC_VALUE_OUT_OF_RANGE: &str = "22003";
    /// `22P02`: text that does not read as a value of its type.
    pub const INVALID_TEXT_REPRESENTATION: &str = "22P02";
    /// `22P03`: a binary parameter that does not decode.
    pub const INVALID_BINARY_REPRESENTATION: &str = "22P03";
    /// `22007`: text that does not read as a date or time.
    pub const INVALID_DATETIME_FORMAT: &str = "22007";
    /// `22008`: a date or time out of range.
    pub const DATETIME_FIELD_OVERFLOW: &str = "22008";
    /// `22015`: an interval field too large ("interval field value out of range").
    pub const INTERVAL_FIELD_OVERFLOW: &str = "22015";
    /// `22001`: a string longer than its column allows.
    pub const STRING_DATA_RIGHT_TRUNCATION: &str = "22001";
    /// `22021`: bytes that are not valid UTF-8.
    pub const CHARACTER_NOT_IN_REPERTOIRE: &str = "22021";
    /// `22023`: an invalid argument or type modifier.
    pub const INVALID_PARAMETER_VALUE: &str = "22023";
    /// `23502`: NULL into a NOT NULL column.
    pub const NOT_NULL_VIOLATION: &str = "23502";
    /// `25001`: a statement that cannot run inside a transaction block.
    pub const ACTIVE_SQL_TRANSACTION: &str = "25001";
    /// `25P01`: a statement that needs a transaction block outside one.
    pub const NO_ACTIVE_SQL_TRANSACTION: &str = "25P01";
    /// `3B001`: a savepoint name that is not open.
    pub const INVALID_SAVEPOINT_SPECIFICATION: &str = "3B001";
    /// `42P03`: a cursor name already in use.
    pub const DUPLICATE_CURSOR: &str = "42P03";
    /// `55000`: an object not in the state the statement needs (a NO SCROLL cursor asked to
    /// go back).
    pub const OBJECT_NOT_IN_PREREQUISITE_STATE: &str = "55000";
    /// `25P02`: a statement in a transaction block that an error aborted.
    pub const IN_FAILED_SQL_TRANSACTION: &str = "25P02";
    /// `26000`: a prepared statement name that does not exist.
    pub const INVALID_SQL_STATEMENT_NAME: &str = "26000";
    /// `34000`: a portal name that does not exist.
    pub const INVALID_CURSOR_NAME: &str = "34000";
    /// `40001`: a concurrent commit conflicts with this transaction.
    pub const SERIALIZATION_FAILURE: &str = "40001";
    /// `55006`: the data directory is in use by another process.
    pub const OBJECT_IN_USE: &str = "55006";
    /// `53100`: the file system holding the data directory is full.
    pub const DISK_FULL: &str = "53100";
    /// `53200`: a query over its memory budget.
    pub const OUT_OF_MEMORY: &str = "53200";
    /// `53300`: more connections than the server allows.
    pub const TOO_MANY_CONNECTIONS: &str = "53300";
    /// `54011`: more result columns than the protocol can describe.
    pub const TOO_MANY_COLUMNS: &str = "54011";
    /// `57014`: a statement cancelled on request.
    pub const QUERY_CANCELED: &str = "57014";
    pub const CANT_CHANGE_RUNTIME_PARAM: &str = "55P02";
    /// `57P01`: the server is shutting down and closes the connection.
    pub const ADMIN_SHUTDOWN: &str = "57P01";
    /// `58030`: an I/O error on the server.
    pub const IO_ERROR: &str = "58030";
    /// `08P01`: a message that breaks the protocol.
    pub const PROTOCOL_VIOLATION: &str = "08P01";
    /// `28000`: an unknown role or a missing user name.
    pub const INVALID_AUTHORIZATION_SPECIFICATION: &str = "28000";
    /// `28P01`: a wrong password.
    pub const INVALID_PASSWORD: &str = "28P01";
    /// `3D000`: a database that does not exist.
    pub const INVALID_CATALOG_NAME: &str = "3D000";
    /// `22P04`: a COPY input line that does not have the table's layout.
    pub const BAD_COPY_FILE_FORMAT: &str = "22P04";
    /// `58P01`: a file that does not exist.
    pub const UNDEFINED_FILE: &str = "58P01";
    /// `58P02`: a file that exists already.
    pub const DUPLICATE_FILE: &str = "58P02";
    /// `42501`: no permission for an object or a file.
    pub const INSUFFICIENT_PRIVILEGE: &str = "42501";
    /// `XX001`: corrupt data on disk.
    pub const DATA_CORRUPTED: &str = "XX001";
    /// `XX000`: a bug in Basalt.
    pub const INTERNAL_ERROR: &str = "XX000";
}

/// One error as the client will see it: severity, SQLSTATE, message and the optional fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqlError {
    /// `ERROR` ends the statement; `FATAL` ends the connection.
    pub severity: &'static str,
    /// The five-character SQLSTATE, one of [`code`].
    pub code: &'static str,
    /// The primary message, lower case and without a trailing period, as PostgreSQL writes them.
    pub message: String,
    /// 1-based character position in the statement text the error points at.
    pub position: Option<u32>,
    /// The table the error concerns, if any.
    pub table: Option<String>,
    /// The column the error concerns, if any.
    pub column: Option<String>,
    /// PostgreSQL's DETAIL and HINT, boxed: most errors have neither.
    pub notes: Option<Box<Notes>>,
}

/// PostgreSQL's optional DETAIL (more about what is wrong) and HINT (what to do about it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Notes {
    pub detail: Option<String>,
    pub hint: Option<String>,
}

impl SqlError {
    /// An `ERROR`: the statement fails, the connection stays.
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(SEVERITY_ERROR, code, message.into())
    }

    /// A `FATAL` error: the server closes the connection after sending it.
    pub fn fatal(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(SEVERITY_FATAL, code, message.into())
    }

    /// An `XX000` error for a bug in Basalt.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::error(code::INTERNAL_ERROR, message)
    }

    /// An `08P01` error for a message the protocol does not allow.
    pub fn protocol_violation(message: impl Into<String>) -> Self {
        Self::error(code::PROTOCOL_VIOLATION, message)
    }

    fn new(severity: &'static str, code: &'static str, message: String) -> Self {
        SqlError {
            severity,
            code,
            message,
            position: None,
            table: None,
            column: None,
            notes: None,
        }
    }

    /// Maps an engine error (and a storage error inside it) to its SQLSTATE.
    pub fn from_engine(error: &EngineError) -> Self {
        let code = match error {
            EngineError::Syntax { .. } => code::SYNTAX_ERROR,
            EngineError::UndefinedTable { .. }
            | EngineError::UndefinedTableToDrop { .. }
            | EngineError::UndefinedView { .. }
            | EngineError::MissingFromEntry { .. } => code::UNDEFINED_TABLE,
            EngineError::UndefinedType { .. } | EngineError::UndefinedObject { .. } => {
                code::UNDEFINED_OBJECT
            }
            EngineError::IndeterminateDatatype { .. } => "42P18",
            EngineError::UndefinedSchema { .. } | EngineError::NoSchemaSelected { .. } => {
                code::INVALID_SCHEMA_NAME
            }
            EngineError::InvalidColumnReference { .. } => code::INVALID_COLUMN_REFERENCE,
            EngineError::UndefinedColumn { .. }
            | EngineError::UndefinedKeyColumn { .. }
            | EngineError::UndefinedForeignKeyColumn { .. }
            | EngineError::UndefinedUsingColumn { .. }
            | EngineError::UndefinedColumnMessage { .. } => code::UNDEFINED_COLUMN,
            EngineError::InvalidForeignKey { .. } => "42830",
            EngineError::ForeignKeyTypeMismatch { .. } => code::DATATYPE_MISMATCH,
            EngineError::InvalidTableDefinition { .. } => "42P16",
            // Redshift reports an ENCODE that does not fit the column's type as a feature it
            // does not support for that type.
            EngineError::InvalidEncoding { .. } => code::FEATURE_NOT_SUPPORTED,
            EngineError::AmbiguousColumn { .. } | EngineError::AmbiguousUsingColumn { .. } => {
                code::AMBIGUOUS_COLUMN
            }
            EngineError::DuplicateTable { .. } | EngineError::DuplicateRelationInSchema { .. } => {
                code::DUPLICATE_TABLE
            }
            EngineError::DuplicateSchema { .. } => "42P06",
            EngineError::DuplicateObject { .. } => "42710",
            EngineError::DependentObjects { .. }
            | EngineError::DependentObjectsStillExist { .. } => "2BP01",
            EngineError::UndefinedIndex { .. } => code::UNDEFINED_OBJECT,
            EngineError::WrongRelationKind { .. } | EngineError::IndexSchemaChange { .. } => {
                "42809"
            }
            EngineError::ObjectNotInPrerequisiteState { .. } => "55000",
            EngineError::DuplicateColumn { .. }
            | EngineError::DuplicateColumnOfRelation { .. }
            | EngineError::DuplicateKeyColumn { .. }
            | EngineError::DuplicateUsingColumn { .. } => code::DUPLICATE_COLUMN,
            EngineError::DuplicateAlias { .. } | EngineError::DuplicateWithQuery { .. } => {
                code::DUPLICATE_ALIAS
            }
            EngineError::DatatypeMismatch { .. } => code::DATATYPE_MISMATCH,
            EngineError::CannotCoerce { .. } => code::CANNOT_COERCE,
            EngineError::UndefinedFunction { .. } => code::UNDEFINED_FUNCTION,
            EngineError::AmbiguousFunction { .. } => code::AMBIGUOUS_FUNCTION,
            EngineError::Grouping { .. } => code::GROUPING_ERROR,
            EngineError::Windowing { .. } => "42P20",
            EngineError::InvalidRecursion { .. } => "42P19",
            EngineError::UndefinedWindow { .. } => code::UNDEFINED_OBJECT,
            EngineError::WrongObjectType { .. } => "42809",
            EngineError::InvalidNtileArgument => "22014",
            EngineError::InvalidNthValueArgument => "22016",
            EngineError::InvalidFrameOffset { .. } => "22013",
            EngineError::NullFrameOffset { .. } | EngineError::NullValueNotAllowed { .. } => {
                "22004"
            }
            EngineError::InvalidWidthBucketArgument { .. } => "2201G",
            // PostgreSQL reports an out-of-range modifier such as NUMERIC(50,2) or VARCHAR(0)
            // as 22023; a modifier that does not parse at all is a syntax error the parser
            // reports on its own.
            EngineError::InvalidTypeModifier { .. } => code::INVALID_PARAMETER_VALUE,
            EngineError::Unsupported { .. } | EngineError::UnsupportedAt { .. } => {
                code::FEATURE_NOT_SUPPORTED
            }
            EngineError::DivisionByZero => code::DIVISION_BY_ZERO,
            EngineError::CardinalityViolation { .. } => "21000",
            EngineError::NumericOutOfRange { .. } => code::NUMERIC_VALUE_OUT_OF_RANGE,
            EngineError::InvalidTextRepresentation { .. } => code::INVALID_TEXT_REPRESENTATION,
            // One variant covers both codes; PostgreSQL's range errors all say "out of range"
            // ("date/time field value out of range", "timestamp out of range").
            EngineError::InvalidDatetime { message }
                if message.starts_with("interval field value out of range") =>
            {
                code::INTERVAL_FIELD_OVERFLOW
            }
            EngineError::InvalidDatetime { message } if message.contains("out of range") => {
                code::DATETIME_FIELD_OVERFLOW
            }
            EngineError::InvalidDatetime { .. } => code::INVALID_DATETIME_FORMAT,
            EngineError::DatetimeOverflow { .. } => code::DATETIME_FIELD_OVERFLOW,
            EngineError::StringTooLong { .. } => code::STRING_DATA_RIGHT_TRUNCATION,
            EngineError::NotNullViolation { .. } => code::NOT_NULL_VIOLATION,
            EngineError::InvalidParameter { .. } => code::INVALID_PARAMETER_VALUE,
            EngineError::InvalidEscapeSequence { .. } => "22025",
            EngineError::NegativeSubstringLength => "22011",
            EngineError::InvalidRegularExpression { .. } => "2201B",
            EngineError::InvalidLogArgument { .. } => "2201E",
            EngineError::InvalidPowerArgument { .. } => "2201F",
            EngineError::ProgramLimitExceeded { .. } => "54000",
            EngineError::TooManyColumns { .. } => code::TOO_MANY_COLUMNS,
            EngineError::NegativeLimit => "2201W",
            EngineError::NegativeOffset => "2201X",
            EngineError::UnrecognizedParameter { .. } => code::UNDEFINED_OBJECT,
            EngineError::UndefinedPreparedStatement { .. } => code::INVALID_SQL_STATEMENT_NAME,
            EngineError::ReadOnlyParameter { .. } => code::CANT_CHANGE_RUNTIME_PARAM,
            EngineError::InFailedTransaction => code::IN_FAILED_SQL_TRANSACTION,
            EngineError::ActiveTransaction { .. } => code::ACTIVE_SQL_TRANSACTION,
            EngineError::SerializationFailure { .. } => code::SERIALIZATION_FAILURE,
            EngineError::NoActiveTransaction { .. } => code::NO_ACTIVE_SQL_TRANSACTION,
            EngineError::UndefinedSavepoint { .. } => code::INVALID_SAVEPOINT_SPECIFICATION,
            EngineError::UndefinedCursor { .. } => code::INVALID_CURSOR_NAME,
            EngineError::DuplicateCursor { .. } => code::DUPLICATE_CURSOR,
            EngineError::OutOfMemory { .. } => code::OUT_OF_MEMORY,
            EngineError::Cancelled | EngineError::StatementTimeout => code::QUERY_CANCELED,
            EngineError::Storage(storage) => storage_code(storage),
            EngineError::CharacterNotInRepertoire { .. } => code::CHARACTER_NOT_IN_REPERTOIRE,
            EngineError::BadCopyFileFormat { .. } => code::BAD_COPY_FILE_FORMAT,
            EngineError::UndefinedFile { .. } => code::UNDEFINED_FILE,
            EngineError::DuplicateFile { .. } => code::DUPLICATE_FILE,
            EngineError::InsufficientPrivilege { .. } => code::INSUFFICIENT_PRIVILEGE,
            EngineError::Io { .. } => code::IO_ERROR,
            EngineError::DataCorrupted { .. } => code::DATA_CORRUPTED,
            // A COPY row error carries the code of what went wrong with the row.
            EngineError::Load { cause, .. } => {
                let mut sql = SqlError::from_engine(cause);
                sql.message = error.to_string();
                return sql;
            }
            EngineError::UndefinedRole { .. } => code::UNDEFINED_OBJECT,
            EngineError::DuplicateRole { .. } => "42710",
            EngineError::ReservedName { .. } => "42939",
            EngineError::ObjectInUse { .. } => code::OBJECT_IN_USE,
            EngineError::InvalidGrantOperation { .. } => "0LP01",
            EngineError::UndefinedDatabase { .. } => code::INVALID_CATALOG_NAME,
            EngineError::Internal(_) => code::INTERNAL_ERROR,
            #[allow(unreachable_patterns)]
            _ => code::INTERNAL_ERROR,
        };
        let mut sql = SqlError::error(code, error.to_string());
        sql.position = error.position();
        if error.detail().is_some() || error.hint().is_some() {
            sql.notes = Some(Box::new(Notes {
                detail: error.detail().map(str::to_owned),
                hint: error.hint().map(str::to_owned),
            }));
        }
        if let EngineError::NotNullViolation { table, column } = error {
            sql.table = Some(table.clone());
            sql.column = Some(column.clone());
        }
        sql
    }
}

fn storage_code(error: &StorageError) -> &'static str {
    match error {
        StorageError::TableExists(_) => code::DUPLICATE_TABLE,
        StorageError::NoSuchTable(_) => code::UNDEFINED_TABLE,
        StorageError::SerializationConflict(_) => code::SERIALIZATION_FAILURE,
        StorageError::DirectoryLocked { .. } => code::OBJECT_IN_USE,
        StorageError::Corrupt { .. } => code::DATA_CORRUPTED,
        StorageError::Io { .. } => code::IO_ERROR,
        StorageError::DiskFull { .. } => code::DISK_FULL,
        StorageError::Internal(_) => code::INTERNAL_ERROR,
        #[allow(unreachable_patterns)]
        _ => code::INTERNAL_ERROR,
    }
}

impl std::fmt::Display for SqlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} ({})", self.severity, self.message, self.code)
    }
}

impl From<SqlError> for ErrorInfo {
    fn from(e: SqlError) -> Self {
        let mut info = ErrorInfo::new(e.severity.to_owned(), e.code.to_owned(), e.message);
        // PostgreSQL sends the severity twice: localized (S) and not (V).
        info.severity_nonlocalized = Some(e.severity.to_owned());
        info.position = e.position.map(|p| p.to_string());
        if e.table.is_some() {
            info.schema = Some("public".to_owned());
        }
        info.table = e.table;
        info.column = e.column;
        if let Some(notes) = e.notes {
            info.detail = notes.detail;
            info.hint = notes.hint;
        }
        info
    }
}

impl From<SqlError> for PgWireError {
    fn from(e: SqlError) -> Self {
        PgWireError::UserError(Box::new(e.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(e: EngineError) -> &'static str {
        SqlError::from_engine(&e).code
    }

    // One engine error of each group and the SQLSTATE PostgreSQL uses for it.
    #[test]
    fn engine_errors_map_to_postgres_codes() {
        let pos = Some(8);
        assert_eq!(
            code_of(EngineError::Syntax {
                message: "syntax error at or near \"FRM\"".into(),
                position: pos
            }),
            "42601"
        );
        assert_eq!(
            code_of(EngineError::UndefinedTable {
                name: "t".into(),
                position: pos
            }),
            "42P01"
        );
        assert_eq!(
            code_of(EngineError::DuplicateAlias { name: "t".into() }),
            "42712"
        );
        assert_eq!(code_of(EngineError::DivisionByZero), "22012");
        assert_eq!(code_of(EngineError::InFailedTransaction), "25P02");
        assert_eq!(
            code_of(EngineError::NoActiveTransaction {
                message: "SAVEPOINT can only be used in transaction blocks".into()
            }),
            "25P01"
        );
        assert_eq!(
            code_of(EngineError::UndefinedSavepoint { name: "s".into() }),
            "3B001"
        );
        assert_eq!(
            code_of(EngineError::UndefinedCursor { name: "c".into() }),
            "34000"
        );
        assert_eq!(
            code_of(EngineError::DuplicateCursor { name: "c".into() }),
            "42P03"
        );
        assert_eq!(
            code_of(EngineError::ObjectNotInPrerequisiteState {
                message: "cursor can only scan forward".into(),
                detail: None,
                hint: None,
            }),
            "55000"
        );
        assert_eq!(
            code_of(EngineError::InvalidTypeModifier {
                message: "NUMERIC precision 50 must be between 1 and 38".into(),
                position: None
            }),
            "22023"
        );
        assert_eq!(
            code_of(EngineError::OutOfMemory {
                message: "hash join".into()
            }),
            "53200"
        );
        assert_eq!(code_of(EngineError::Internal("bug".into())), "XX000");
        assert_eq!(
            code_of(EngineError::MissingFromEntry {
                name: "t".into(),
                position: pos
            }),
            "42P01"
        );
        assert_eq!(
            code_of(EngineError::UndefinedType {
                name: "money".into(),
                position: pos
            }),
            "42704"
        );
    }

    // A datetime error is 22008 when it says "out of range" and 22007 otherwise.
    #[test]
    fn datetime_errors_split_by_message() {
        assert_eq!(
            code_of(EngineError::InvalidDatetime {
                message: "date/time field value out of range: \"2024-13-01\"".into()
            }),
            "22008"
        );
        assert_eq!(
            code_of(EngineError::InvalidDatetime {
                message: "invalid input syntax for type date: \"soon\"".into()
            }),
            "22007"
        );
    }

    // Storage errors keep their own codes through the engine's wrapper.
    #[test]
    fn storage_errors_map_through_engine() {
        let corrupt = EngineError::Storage(StorageError::Corrupt {
            file: "t/1.seg".into(),
            detail: "block 3 checksum".into(),
        });
        assert_eq!(code_of(corrupt), "XX001");
        let io = EngineError::Storage(StorageError::Io {
            path: "t/1.seg".into(),
            source: std::io::Error::other("disk gone"),
        });
        assert_eq!(code_of(io), "58030");
        let conflict = EngineError::Storage(StorageError::SerializationConflict("t".into()));
        assert_eq!(code_of(conflict), "40001");
        let full = EngineError::Storage(StorageError::DiskFull {
            path: "t/2.seg".into(),
            source: std::io::Error::other("ENOSPC"),
        });
        assert_eq!(code_of(full), "53100");
    }

    // The position survives into the ErrorResponse's P field; NOT NULL names table and column.
    #[test]
    fn error_fields_reach_the_response() {
        let e = SqlError::from_engine(&EngineError::UndefinedColumn {
            name: "nope".into(),
            position: Some(8),
        });
        let info = ErrorInfo::from(e);
        assert_eq!(info.code, "42703");
        assert_eq!(info.severity, "ERROR");
        assert_eq!(info.position.as_deref(), Some("8"));
        assert_eq!(info.message, "column \"nope\" does not exist");

        let e = SqlError::from_engine(&EngineError::NotNullViolation {
            table: "t".into(),
            column: "a".into(),
        });
        let info = ErrorInfo::from(e);
        assert_eq!(info.code, "23502");
        assert_eq!(info.table.as_deref(), Some("t"));
        assert_eq!(info.column.as_deref(), Some("a"));
        assert_eq!(info.position, None);
    }
}
