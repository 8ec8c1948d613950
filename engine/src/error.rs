//! The engine's one error type, grouped by who is at fault.

use basalt_storage::Error as StorageError;

/// Everything that can go wrong while planning or running a statement.
///
/// The server maps each variant to a SQLSTATE code; the engine itself knows nothing of codes.
/// `position` fields are 1-based character offsets into the statement text, as PostgreSQL
/// reports them in an ErrorResponse.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    // --- The user's statement is wrong (class 42, 0A) -------------------------------------------
    /// The SQL text does not parse.
    #[error("{message}")]
    Syntax {
        message: String,
        position: Option<u32>,
    },
    #[error("relation \"{name}\" does not exist")]
    UndefinedTable { name: String, position: Option<u32> },
    /// DROP TABLE of a table that does not exist (42P01), in PostgreSQL's wording for DROP.
    #[error("table \"{name}\" does not exist")]
    UndefinedTableToDrop { name: String },
    /// DROP VIEW of a view that does not exist (42P01).
    #[error("view \"{name}\" does not exist")]
    UndefinedView { name: String },
    /// DROP INDEX of an index that does not exist (42704).
    #[error("index \"{name}\" does not exist")]
    UndefinedIndex { name: String },
    /// A relation of another kind than the statement names: DROP VIEW of a table, DROP
    /// TABLE of a view (42809), with PostgreSQL's hint naming the right statement.
    #[error("\"{name}\" is not {expected}")]
    WrongRelationKind {
        name: String,
        /// "a table", "a view", "an index".
        expected: &'static str,
        hint: Option<String>,
    },
    /// ALTER TABLE ... SET SCHEMA of an index (42809): an index lives in its table's schema.
    #[error("cannot change schema of index \"{name}\"")]
    IndexSchemaChange { name: String },
    /// Dropping an object others depend on, without CASCADE (2BP01): the detail lists them.
    #[error("{message}")]
    DependentObjectsStillExist { message: String, detail: String },
    /// A statement that needs an object in another state (55000): INSERT into a view, a
    /// backward step of a NO SCROLL cursor, a cursor whose query failed.
    #[error("{message}")]
    ObjectNotInPrerequisiteState {
        message: String,
        detail: Option<String>,
        hint: Option<String>,
    },
    /// A qualified name whose qualifier is not in FROM (42P01).
    #[error("missing FROM-clause entry for table \"{name}\"")]
    MissingFromEntry { name: String, position: Option<u32> },
    #[error("column \"{name}\" does not exist")]
    UndefinedColumn { name: String, position: Option<u32> },
    /// A DISTKEY or SORTKEY naming a column the table does not have.
    #[error("column \"{name}\" named in {key} does not exist")]
    UndefinedKeyColumn {
        name: String,
        key: &'static str,
        position: Option<u32>,
    },
    /// Table attributes that contradict each other (DISTSTYLE KEY without a DISTKEY, two
    /// DISTKEYs, ...).
    #[error("{message}")]
    InvalidTableDefinition {
        message: String,
        position: Option<u32>,
    },
    /// An ENCODE that does not fit the column's type, as Redshift reports it.
    #[error("invalid encoding type specified for column \"{column}\"")]
    InvalidEncoding {
        column: String,
        position: Option<u32>,
    },
    #[error("column reference \"{name}\" is ambiguous")]
    AmbiguousColumn { name: String, position: Option<u32> },
    /// A JOIN USING column one side does not have (42703); `side` is "left" or "right".
    #[error("column \"{name}\" specified in USING clause does not exist in {side} table")]
    UndefinedUsingColumn { name: String, side: &'static str },
    /// A JOIN USING column one side has more than once (42702).
    #[error("common column name \"{name}\" appears more than once in {side} table")]
    AmbiguousUsingColumn { name: String, side: &'static str },
    /// A column that does not exist, with PostgreSQL's wording for where (42703): a record
    /// field that is not there.
    #[error("{message}")]
    UndefinedColumnMessage {
        message: String,
        position: Option<u32>,
    },
    /// A column named twice in one USING list (42701).
    #[error("column name \"{name}\" appears more than once in USING clause")]
    DuplicateUsingColumn { name: String },
    /// A type name that does not exist (42704).
    #[error("type \"{name}\" does not exist")]
    UndefinedType { name: String, position: Option<u32> },
    /// A collation or other named object that does not exist (42704).
    #[error("{message}")]
    UndefinedObject {
        message: String,
        position: Option<u32>,
    },
    /// An expression whose type nothing determines, such as `ARRAY[]` (42P18).
    #[error("{message}")]
    IndeterminateDatatype {
        message: String,
        position: Option<u32>,
    },
    /// A schema that does not exist (3F000).
    #[error("schema \"{name}\" does not exist")]
    UndefinedSchema { name: String, position: Option<u32> },
    /// An unqualified CREATE when no schema of the search path exists (3F000).
    #[error("no schema has been selected to create in")]
    NoSchemaSelected { position: Option<u32> },
    /// An ORDER BY or GROUP BY reference that is not allowed there (42P10).
    #[error("{message}")]
    InvalidColumnReference {
        message: String,
        position: Option<u32>,
    },
    #[error("relation \"{name}\" already exists")]
    DuplicateTable { name: String },
    /// ALTER ... SET SCHEMA to a schema where the name (the relation's or an index's) is
    /// taken (42P07).
    #[error("relation \"{name}\" already exists in schema \"{schema}\"")]
    DuplicateRelationInSchema { name: String, schema: String },
    #[error("schema \"{name}\" already exists")]
    DuplicateSchema { name: String },
    /// Another object of the name exists (42710).
    #[error("{message}")]
    DuplicateObject { message: String },
    /// DROP of an object others depend on, without CASCADE, or of a role that owns objects
    /// or holds privileges (2BP01).
    #[error("{message}")]
    DependentObjects { message: String },
    #[error("column \"{name}\" specified more than once")]
    DuplicateColumn { name: String },
    /// A column name a relation already has (42701): ALTER TABLE ... RENAME COLUMN.
    #[error("column \"{column}\" of relation \"{relation}\" already exists")]
    DuplicateColumnOfRelation { column: String, relation: String },
    #[error("table name \"{name}\" specified more than once")]
    DuplicateAlias { name: String },
    #[error("WITH query name \"{name}\" specified more than once")]
    DuplicateWithQuery { name: String, position: Option<u32> },
    /// A WITH RECURSIVE query of a shape that cannot run (42P19).
    #[error("{message}")]
    InvalidRecursion {
        message: String,
        position: Option<u32>,
    },
    /// A value or expression has the wrong type for where it is used (42804).
    #[error("{message}")]
    DatatypeMismatch {
        message: String,
        position: Option<u32>,
    },
    /// A FOREIGN KEY whose referenced columns are not a key of the referenced table, or
    /// whose column counts differ (42830).
    #[error("{message}")]
    InvalidForeignKey { message: String },
    /// A FOREIGN KEY column whose type cannot be compared with its referenced column's
    /// (42804).
    #[error("{message}")]
    ForeignKeyTypeMismatch { message: String, detail: String },
    /// A column named twice in one key (42701); `constraint` is "primary key", "unique" or
    /// "foreign key".
    #[error("column \"{name}\" appears twice in {constraint} constraint")]
    DuplicateKeyColumn {
        name: String,
        constraint: &'static str,
    },
    /// A FOREIGN KEY naming a column that does not exist (42703).
    #[error("column \"{name}\" referenced in foreign key constraint does not exist")]
    UndefinedForeignKeyColumn { name: String },
    /// No cast exists between two types (42846).
    #[error("{message}")]
    CannotCoerce {
        message: String,
        position: Option<u32>,
    },
    /// No function or operator matches the argument types (42883).
    #[error("{message}")]
    UndefinedFunction {
        message: String,
        position: Option<u32>,
    },
    /// Several functions or operators match the argument types equally well (42725).
    #[error("{message}")]
    AmbiguousFunction {
        message: String,
        position: Option<u32>,
    },
    /// A column is used outside an aggregate where GROUP BY requires one (42803).
    #[error("{message}")]
    Grouping {
        message: String,
        position: Option<u32>,
    },
    /// A window name that no WINDOW clause defines (42704).
    #[error("window \"{name}\" does not exist")]
    UndefinedWindow { name: String, position: Option<u32> },
    /// A window function or clause used where it is not allowed, or a window that is not
    /// valid (42P20).
    #[error("{message}")]
    Windowing {
        message: String,
        position: Option<u32>,
    },
    /// A function used as the wrong kind of function, e.g. OVER on a scalar function or a
    /// window function without OVER (42809).
    #[error("{message}")]
    WrongObjectType {
        message: String,
        position: Option<u32>,
    },
    /// An invalid type modifier, e.g. DECIMAL(50,2) (22023 in PostgreSQL for typmods: 42601).
    #[error("{message}")]
    InvalidTypeModifier {
        message: String,
        position: Option<u32>,
    },
    /// A construct Basalt does not support yet (0A000).
    #[error("{message}")]
    Unsupported { message: String },
    /// A construct Basalt does not support yet, at a place in the statement (0A000).
    #[error("{message}")]
    UnsupportedAt {
        message: String,
        position: Option<u32>,
    },

    // --- Roles and privileges (class 42, 2B, 55, 0L) ----------------------------------------------
    /// A role that does not exist (42704).
    #[error("role \"{name}\" does not exist")]
    UndefinedRole { name: String },
    /// CREATE of a role whose name is taken (42710).
    #[error("role \"{name}\" already exists")]
    DuplicateRole { name: String },
    /// A role name that is reserved, such as `public` (42939).
    #[error("{message}")]
    ReservedName { message: String },
    /// DROP of the role the session runs as (55006).
    #[error("{message}")]
    ObjectInUse { message: String },
    /// A privilege that does not apply to the object kind (0LP01).
    #[error("{message}")]
    InvalidGrantOperation { message: String },
    /// A database that does not exist (3D000).
    #[error("database \"{name}\" does not exist")]
    UndefinedDatabase { name: String },

    // --- The data is wrong (class 22, 23) -------------------------------------------------------
    #[error("division by zero")]
    DivisionByZero,
    /// A scalar subquery returned more than one row (21000).
    #[error("{message}")]
    CardinalityViolation { message: String },
    /// A value does not fit its type (22003).
    #[error("{message}")]
    NumericOutOfRange { message: String },
    /// A string cannot be read as a value of the target type (22P02).
    #[error("{message}")]
    InvalidTextRepresentation { message: String },
    /// A string cannot be read as a date or time (22007), or a date/time is out of range (22008).
    #[error("{message}")]
    InvalidDatetime { message: String },
    /// A date/time computation PostgreSQL reports as a field overflow (22008) whose message
    /// does not say "out of range" (`stride must be greater than zero`).
    #[error("{message}")]
    DatetimeOverflow { message: String },
    /// A string is too long for its column (22001).
    #[error("{message}")]
    StringTooLong { message: String },
    /// NULL into a NOT NULL column (23502).
    #[error(
        "null value in column \"{column}\" of relation \"{table}\" violates not-null constraint"
    )]
    NotNullViolation { table: String, column: String },
    /// A LIKE pattern or ESCAPE clause that is not valid (22025).
    #[error("{message}")]
    InvalidEscapeSequence { message: String },
    /// A negative length given to substring (22011).
    #[error("negative substring length not allowed")]
    NegativeSubstringLength,
    /// A regular expression that does not compile (2201B).
    #[error("{message}")]
    InvalidRegularExpression { message: String },
    /// The logarithm of zero or of a negative number (2201E).
    #[error("{message}")]
    InvalidLogArgument { message: String },
    /// A power or root with no real result (2201F).
    #[error("{message}")]
    InvalidPowerArgument { message: String },
    /// A bucket count of zero or less given to ntile (22014).
    #[error("argument of ntile must be greater than zero")]
    InvalidNtileArgument,
    /// A position of zero or less given to nth_value (22016).
    #[error("argument of nth_value must be greater than zero")]
    InvalidNthValueArgument,
    /// A negative window frame offset (22013).
    #[error("{message}")]
    InvalidFrameOffset { message: String },
    /// A NULL window frame offset (22004).
    #[error("{message}")]
    NullFrameOffset { message: String },
    /// A NULL where a function needs a value, such as format()'s %I (22004).
    #[error("{message}")]
    NullValueNotAllowed { message: String },
    /// A bad count or bounds given to width_bucket (2201G).
    #[error("{message}")]
    InvalidWidthBucketArgument { message: String },
    /// A result too large for Basalt to build (54000).
    #[error("{message}")]
    ProgramLimitExceeded { message: String },
    /// More elements than PostgreSQL allows where each becomes a column or a grouping set's
    /// member, such as CUBE's 12 (54011).
    #[error("{message}")]
    TooManyColumns { message: String },
    /// A negative LIMIT or FETCH FIRST count (2201W).
    #[error("LIMIT must not be negative")]
    NegativeLimit,
    /// A negative OFFSET (2201X).
    #[error("OFFSET must not be negative")]
    NegativeOffset,
    /// Any other invalid argument to a function (22023).
    #[error("{message}")]
    InvalidParameter { message: String },
    /// SET, SHOW or RESET of a configuration parameter that does not exist (42704).
    #[error("unrecognized configuration parameter \"{name}\"")]
    UnrecognizedParameter { name: String },
    /// DEALLOCATE of a prepared statement that does not exist (26000).
    #[error("prepared statement \"{name}\" does not exist")]
    UndefinedPreparedStatement { name: String },
    /// SET or RESET of a read-only configuration parameter (55P02).
    #[error("parameter \"{name}\" cannot be changed")]
    ReadOnlyParameter { name: String },

    /// Invalid UTF-8 in loaded data (22021).
    #[error("{message}")]
    CharacterNotInRepertoire { message: String },
    /// A COPY input line with the wrong number of columns or an unterminated quote (22P04).
    #[error("{message}")]
    BadCopyFileFormat { message: String },

    // --- Transactions (class 25, 40) ------------------------------------------------------------
    /// A statement in a transaction block that an earlier error aborted (25P02).
    #[error("current transaction is aborted, commands ignored until end of transaction block")]
    InFailedTransaction,
    /// A statement that cannot run inside a transaction block (25001).
    #[error("{message}")]
    ActiveTransaction { message: String },
    /// A concurrent commit conflicts with this transaction (40001).
    #[error("{message}")]
    SerializationFailure { message: String },
    /// A statement that needs a transaction block outside one (25P01): DECLARE without
    /// WITH HOLD, SAVEPOINT, RELEASE, ROLLBACK TO.
    #[error("{message}")]
    NoActiveTransaction { message: String },
    /// RELEASE or ROLLBACK TO a savepoint that is not open (3B001).
    #[error("savepoint \"{name}\" does not exist")]
    UndefinedSavepoint { name: String },

    // --- Cursors (class 34, 42, 55) -------------------------------------------------------------
    /// FETCH, MOVE or CLOSE of a cursor that is not open (34000).
    #[error("cursor \"{name}\" does not exist")]
    UndefinedCursor { name: String },
    /// DECLARE of a name an open cursor has (42P03).
    #[error("cursor \"{name}\" already exists")]
    DuplicateCursor { name: String },

    // --- Resources and the environment ----------------------------------------------------------
    #[error("out of memory for query: {message}")]
    OutOfMemory { message: String },
    #[error("canceling statement due to user request")]
    Cancelled,
    #[error("canceling statement due to statement timeout")]
    StatementTimeout,
    /// A row COPY could not load: `cause` with the file, line and column appended to its
    /// message. The SQLSTATE is the cause's.
    #[error("{message}")]
    Load { message: String, cause: Box<Error> },
    /// A file COPY should read does not exist (58P01).
    #[error("{message}")]
    UndefinedFile { message: String },
    /// A file UNLOAD would write exists already (58P02).
    #[error("{message}")]
    DuplicateFile { message: String },
    /// The server may not read or write a file (42501).
    #[error("{message}")]
    InsufficientPrivilege { message: String },
    /// Any other failure reading or writing a file (58030).
    #[error("{message}")]
    Io { message: String },
    /// A compressed or Parquet input file that is truncated or corrupt (XX001).
    #[error("{message}")]
    DataCorrupted { message: String },
    #[error(transparent)]
    Storage(#[from] StorageError),

    // --- Us ---------------------------------------------------------------------------------------
    /// A bug in Basalt.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// PostgreSQL's DETAIL line for this error, if it has one.
    pub fn detail(&self) -> Option<&str> {
        match self {
            Error::DependentObjectsStillExist { detail, .. }
            | Error::ForeignKeyTypeMismatch { detail, .. } => Some(detail),
            Error::ObjectNotInPrerequisiteState { detail, .. } => detail.as_deref(),
            _ => None,
        }
    }

    /// PostgreSQL's HINT line for this error, if it has one.
    pub fn hint(&self) -> Option<&str> {
        match self {
            Error::DependentObjectsStillExist { .. } => {
                Some("Use DROP ... CASCADE to drop the dependent objects too.")
            }
            Error::WrongRelationKind { hint, .. }
            | Error::ObjectNotInPrerequisiteState { hint, .. } => hint.as_deref(),
            Error::IndexSchemaChange { .. } => Some("Change the schema of the table instead."),
            _ => None,
        }
    }

    /// This error without its position: for an error in text other than the statement's
    /// (a view's query), whose positions would point into the wrong text.
    pub fn without_position(mut self) -> Self {
        match &mut self {
            Error::Syntax { position, .. }
            | Error::UndefinedTable { position, .. }
            | Error::UndefinedColumn { position, .. }
            | Error::UndefinedKeyColumn { position, .. }
            | Error::InvalidTableDefinition { position, .. }
            | Error::InvalidEncoding { position, .. }
            | Error::AmbiguousColumn { position, .. }
            | Error::DatatypeMismatch { position, .. }
            | Error::CannotCoerce { position, .. }
            | Error::MissingFromEntry { position, .. }
            | Error::UndefinedType { position, .. }
            | Error::UndefinedObject { position, .. }
            | Error::IndeterminateDatatype { position, .. }
            | Error::UndefinedSchema { position, .. }
            | Error::NoSchemaSelected { position }
            | Error::InvalidColumnReference { position, .. }
            | Error::DuplicateWithQuery { position, .. }
            | Error::InvalidRecursion { position, .. }
            | Error::UndefinedFunction { position, .. }
            | Error::AmbiguousFunction { position, .. }
            | Error::Grouping { position, .. }
            | Error::Windowing { position, .. }
            | Error::UndefinedWindow { position, .. }
            | Error::WrongObjectType { position, .. }
            | Error::UndefinedColumnMessage { position, .. }
            | Error::InvalidTypeModifier { position, .. } => *position = None,
            _ => {}
        }
        self
    }

    /// The 1-based character position in the statement text this error points at, if any.
    pub fn position(&self) -> Option<u32> {
        match self {
            Error::Syntax { position, .. }
            | Error::UndefinedTable { position, .. }
            | Error::UndefinedColumn { position, .. }
            | Error::UndefinedKeyColumn { position, .. }
            | Error::InvalidTableDefinition { position, .. }
            | Error::InvalidEncoding { position, .. }
            | Error::AmbiguousColumn { position, .. }
            | Error::DatatypeMismatch { position, .. }
            | Error::CannotCoerce { position, .. }
            | Error::MissingFromEntry { position, .. }
            | Error::UndefinedType { position, .. }
            | Error::UndefinedObject { position, .. }
            | Error::IndeterminateDatatype { position, .. }
            | Error::UndefinedSchema { position, .. }
            | Error::NoSchemaSelected { position }
            | Error::InvalidColumnReference { position, .. }
            | Error::DuplicateWithQuery { position, .. }
            | Error::InvalidRecursion { position, .. }
            | Error::UndefinedFunction { position, .. }
            | Error::AmbiguousFunction { position, .. }
            | Error::Grouping { position, .. }
            | Error::Windowing { position, .. }
            | Error::UndefinedWindow { position, .. }
            | Error::WrongObjectType { position, .. }
            | Error::UndefinedColumnMessage { position, .. }
            | Error::InvalidTypeModifier { position, .. }
            | Error::UnsupportedAt { position, .. } => *position,
            _ => None,
        }
    }
}

impl From<arrow_schema::ArrowError> for Error {
    fn from(e: arrow_schema::ArrowError) -> Self {
        use arrow_schema::ArrowError as A;
        match e {
            A::DivideByZero => Error::DivisionByZero,
            A::ArithmeticOverflow(m) => Error::NumericOutOfRange {
                message: normalize_overflow(&m),
            },
            A::CastError(m) | A::ParseError(m) => Error::InvalidTextRepresentation { message: m },
            other => Error::Internal(other.to_string()),
        }
    }
}

fn normalize_overflow(m: &str) -> String {
    if m.contains("Overflow") || m.contains("overflow") {
        "numeric value out of range".to_string()
    } else {
        m.to_string()
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
