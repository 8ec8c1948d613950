//! The system catalogs as tables any query can read: `pg_catalog.pg_namespace`, `pg_class`,
//! `pg_attribute`, `pg_type`, `pg_database`, `pg_tables`, Redshift's `pg_table_def`,
//! `svv_table_info` and `stv_blocklist`, `pg_cursors` (the session's open cursors), and
//! `information_schema.schemata`, `tables` and `columns`, and `pg_stats`; the constraints in
//! `pg_constraint` and `information_schema.table_constraints`, `key_column_usage`,
//! `referential_constraints` and `constraint_column_usage`; the sessions (`pg_stat_activity`,
//! `stv_sessions`, `stv_recents`, from `sessions.rs`), `sys_query_history` (STL_QUERY's
//! rows) and Redshift's `svv_tables` and `svv_columns`. `stv_blocklist`
//! reads more than the manifest: the block zone maps in the segment footers, through the
//! store; `pg_stats`, `pg_class.reltuples` and `svv_table_info.stats_off` read ANALYZE's
//! statistics, which the store keeps beside the manifests (so they are not part of the
//! snapshot).
//!
//! Their rows are built from the statement's manifest when a query names them, so they always
//! describe the snapshot the query runs against; a table's id is its `pg_class` OID. A catalog
//! becomes constant rows (a `Values` plan), and from there filters, joins, grouping and
//! ordering work on it as on any table. Each catalog has the columns of PostgreSQL 15's (or
//! Redshift's) that Basalt can fill truthfully, with the same names, in the same order; the
//! columns whose types Basalt does not have (arrays, `aclitem`, `pg_node_tree`) are left out.
//! OIDs are `integer`, names `text`, and `"char"` columns `char(1)`.

use basalt_storage::{
    ColumnEncoding, ConstraintDef, ConstraintKind, DistStyle, Manifest, SortKey, SqlType,
    Statistics, Store, TableMeta, ZoneValue,
};
use sqlparser::ast;

use sqlparser::tokenizer::Span;

use crate::error::{Error, Result};
use crate::planner::bind::{normalize_ident, Binder, Scope, ScopeColumn};
use crate::planner::expr::{BinaryOp, Expr};
use crate::planner::plan::Plan;
use crate::types::Datum;

pub(crate) mod procs;

/// The only database.
pub const DATABASE: &str = "dev";
/// The OID of the bootstrap superuser, who owns everything.
const OWNER_OID: i64 = 10;
const OWNER: &str = "basalt";
pub(crate) const DATABASE_OID: i64 = 5;
const HEAP_AM_OID: i64 = 2;

/// The schemas and their OIDs (PostgreSQL's for `pg_catalog` and `public`).
const PG_CATALOG_OID: i64 = 11;
/// `pg_language` OIDs of the languages of the built-in functions.
const INTERNAL_LANGUAGE_OID: i64 = 12;
const SQL_LANGUAGE_OID: i64 = 14;
pub(crate) const PUBLIC_OID: i64 = 2200;
/// `pg_default`, the tablespace the database is in, as PostgreSQL's OID.
const DEFAULT_TABLESPACE_OID: i64 = 1663;
/// `pg_global`, PostgreSQL's tablespace of the shared catalogs.
const GLOBAL_TABLESPACE_OID: i64 = 1664;
const INFORMATION_SCHEMA_OID: i64 = 13_000;
const SCHEMAS: &[(&str, i64)] = &[
    ("pg_catalog", PG_CATALOG_OID),
    ("public", PUBLIC_OID),
    ("information_schema", INFORMATION_SCHEMA_OID),
];

const INT: SqlType = SqlType::Integer;
const SMALL: SqlType = SqlType::SmallInt;
const TEXT: SqlType = SqlType::Text;
const BOOL: SqlType = SqlType::Boolean;
const CHAR: SqlType = SqlType::Char { length: 1 };
/// `aclitem[]` columns, as arrays of their text form.
const ACL: SqlType = SqlType::Array {
    element: basalt_storage::types::ArrayElement::Text,
};
const BIGINT: SqlType = SqlType::BigInt;
const PERCENT: SqlType = SqlType::Decimal {
    precision: 5,
    scale: 2,
};

/// The columns of pg_user and of pg_shadow, which differ only in who may read them.
const PG_USER_COLUMNS: &[(&str, SqlType)] = &[
    ("usename", TEXT),
    ("usesysid", INT),
    ("usecreatedb", BOOL),
    ("usesuper", BOOL),
    ("userepl", BOOL),
    ("usebypassrls", BOOL),
    ("passwd", TEXT),
    ("valuntil", SqlType::Timestamp),
];

/// One catalog: where it lives, its OID in `pg_class`, whether it is a view, and its columns.
struct Catalog {
    schema: &'static str,
    name: &'static str,
    oid: i64,
    view: bool,
    columns: &'static [(&'static str, SqlType)],
}

/// `oid[]` columns.
const OIDS: SqlType = SqlType::Array {
    element: basalt_storage::types::ArrayElement::Integer,
};
/// `int2vector` and `oidvector` columns.
const INT2VECTOR: SqlType = SqlType::Array {
    element: basalt_storage::types::ArrayElement::Int2Vector,
};
const OIDVECTOR: SqlType = SqlType::Array {
    element: basalt_storage::types::ArrayElement::OidVector,
};
/// `name[]` values, as arrays of text.
const NAMES: SqlType = SqlType::Array {
    element: basalt_storage::types::ArrayElement::Text,
};
const SMALLS: SqlType = SqlType::Array {
    element: basalt_storage::types::ArrayElement::SmallInt,
};

const CATALOGS: &[Catalog] = &[
    // The DEFAULTs of columns added by ALTER TABLE ADD COLUMN, as SQL text.
    Catalog {
        schema: "pg_catalog",
        name: "pg_attrdef",
        oid: 2604,
        view: false,
        columns: &[
            ("oid", INT),
            ("adrelid", INT),
            ("adnum", SMALL),
            ("adbin", TEXT),
        ],
    },
    // The comments of COMMENT ON: of relations, columns, schemas and constraints here, the
    // database's in pg_shdescription.
    Catalog {
        schema: "pg_catalog",
        name: "pg_tablespace",
        oid: 1213,
        view: false,
        columns: &[
            ("oid", INT),
            ("spcname", TEXT),
            ("spcowner", INT),
            ("spcacl", ACL),
            ("spcoptions", ACL),
        ],
    },
    Catalog {
        schema: "pg_catalog",
        name: "pg_shdescription",
        oid: 2396,
        view: false,
        columns: &[("objoid", INT), ("classoid", INT), ("description", TEXT)],
    },
    Catalog {
        schema: "pg_catalog",
        name: "pg_description",
        oid: 2609,
        view: false,
        columns: &[
            ("objoid", INT),
            ("classoid", INT),
            ("objsubid", INT),
            ("description", TEXT),
        ],
    },
    // Basalt has no sequences (no SERIAL or IDENTITY columns), so this is empty.
    Catalog {
        schema: "pg_catalog",
        name: "pg_sequence",
        oid: 2224,
        view: false,
        columns: &[
            ("seqrelid", INT),
            ("seqtypid", INT),
            ("seqstart", BIGINT),
            ("seqincrement", BIGINT),
            ("seqmax", BIGINT),
            ("seqmin", BIGINT),
            ("seqcache", BIGINT),
            ("seqcycle", BOOL),
        ],
    },
    // The session's parameters, as SHOW ALL lists them.
    Catalog {
        schema: "pg_catalog",
        name: "pg_settings",
        oid: 12_104,
        view: true,
        columns: &[
            ("name", TEXT),
            ("setting", TEXT),
            ("unit", TEXT),
            ("category", TEXT),
            ("short_desc", TEXT),
            ("extra_desc", TEXT),
            ("context", TEXT),
            ("vartype", TEXT),
            ("source", TEXT),
            ("min_val", TEXT),
            ("max_val", TEXT),
            ("enumvals", NAMES),
            ("boot_val", TEXT),
            ("reset_val", TEXT),
            ("sourcefile", TEXT),
            ("sourceline", INT),
            ("pending_restart", BOOL),
        ],
    },
    Catalog {
        schema: "pg_catalog",
        name: "pg_policy",
        oid: 3256,
        view: false,
        columns: &[
            ("oid", INT),
            ("polname", TEXT),
            ("polrelid", INT),
            ("polcmd", CHAR),
            ("polpermissive", BOOL),
            ("polroles", OIDS),
            ("polqual", TEXT),
            ("polwithcheck", TEXT),
        ],
    },
    Catalog {
        schema: "pg_catalog",
        name: "pg_statistic_ext",
        oid: 3381,
        view: false,
        columns: &[
            ("oid", INT),
            ("stxrelid", INT),
            ("stxname", TEXT),
            ("stxnamespace", INT),
            ("stxowner", INT),
            ("stxstattarget", INT),
            ("stxkeys", SMALLS),
            ("stxkind", ACL),
            ("stxexprs", TEXT),
        ],
    },
    // PRIMARY KEY, UNIQUE and FOREIGN KEY constraints (kept, not enforced); NOT NULL is
    // pg_attribute.attnotnull, as in PostgreSQL 15.
    Catalog {
        schema: "pg_catalog",
        name: "pg_constraint",
        oid: 2606,
        view: false,
        columns: &[
            ("oid", INT),
            ("conname", TEXT),
            ("connamespace", INT),
            ("contype", CHAR),
            ("condeferrable", BOOL),
            ("condeferred", BOOL),
            ("convalidated", BOOL),
            ("conrelid", INT),
            ("contypid", INT),
            ("conindid", INT),
            ("conparentid", INT),
            ("confrelid", INT),
            ("confupdtype", CHAR),
            ("confdeltype", CHAR),
            ("confmatchtype", CHAR),
            ("conislocal", BOOL),
            ("coninhcount", INT),
            ("connoinherit", BOOL),
            ("conkey", SMALLS),
            ("confkey", SMALLS),
            ("conbin", TEXT),
        ],
    },
    // Basalt has no rewrite rules: its views keep their query as text rather than as a
    // `_RETURN` rule, so pg_rewrite is empty (psql's `\d+ view` lists the rules other than
    // `_RETURN`).
    Catalog {
        schema: "pg_catalog",
        name: "pg_rewrite",
        oid: 2618,
        view: false,
        columns: &[
            ("oid", INT),
            ("rulename", TEXT),
            ("ev_class", INT),
            ("ev_type", CHAR),
            ("ev_enabled", CHAR),
            ("is_instead", BOOL),
            ("ev_qual", TEXT),
            ("ev_action", TEXT),
        ],
    },
    // Basalt has no triggers (its foreign keys are not enforced, so they need none).
    Catalog {
        schema: "pg_catalog",
        name: "pg_trigger",
        oid: 2620,
        view: false,
        columns: &[
            ("oid", INT),
            ("tgrelid", INT),
            ("tgparentid", INT),
            ("tgname", TEXT),
            ("tgfoid", INT),
            ("tgtype", SMALL),
            ("tgenabled", CHAR),
            ("tgisinternal", BOOL),
            ("tgconstrrelid", INT),
            ("tgconstrindid", INT),
            ("tgconstraint", INT),
            ("tgdeferrable", BOOL),
            ("tginitdeferred", BOOL),
            ("tgnargs", SMALL),
            ("tgattr", SMALLS),
            ("tgqual", TEXT),
            ("tgoldtable", TEXT),
            ("tgnewtable", TEXT),
        ],
    },
    // The built-in functions Basalt shares with PostgreSQL (`procs`), and their languages.
    Catalog {
        schema: "pg_catalog",
        name: "pg_proc",
        oid: 1255,
        view: false,
        columns: &[
            ("oid", INT),
            ("proname", TEXT),
            ("pronamespace", INT),
            ("proowner", INT),
            ("prolang", INT),
            ("procost", SqlType::Real),
            ("prorows", SqlType::Real),
            ("provariadic", INT),
            ("prosupport", INT),
            ("prokind", CHAR),
            ("prosecdef", BOOL),
            ("proleakproof", BOOL),
            ("proisstrict", BOOL),
            ("proretset", BOOL),
            ("provolatile", CHAR),
            ("proparallel", CHAR),
            ("pronargs", INT),
            ("pronargdefaults", INT),
            ("prorettype", INT),
            ("proargtypes", OIDVECTOR),
            ("proallargtypes", OIDS),
            ("proargmodes", ACL),
            ("proargnames", ACL),
            ("proargdefaults", TEXT),
            ("protrftypes", OIDS),
            ("prosrc", TEXT),
            ("probin", TEXT),
            ("prosqlbody", TEXT),
            ("proconfig", ACL),
            ("proacl", ACL),
        ],
    },
    Catalog {
        schema: "pg_catalog",
        name: "pg_language",
        oid: 2612,
        view: false,
        columns: &[
            ("oid", INT),
            ("lanname", TEXT),
            ("lanowner", INT),
            ("lanispl", BOOL),
            ("lanpltrusted", BOOL),
            ("lanplcallfoid", INT),
            ("laninline", INT),
            ("lanvalidator", INT),
            ("lanacl", ACL),
        ],
    },
    // Basalt has no extensions: an empty pg_extension, so tools that list them see none.
    Catalog {
        schema: "pg_catalog",
        name: "pg_extension",
        oid: 3079,
        view: false,
        columns: &[
            ("oid", INT),
            ("extname", TEXT),
            ("extowner", INT),
            ("extnamespace", INT),
            ("extrelocatable", BOOL),
            ("extversion", TEXT),
            ("extconfig", OIDS),
            ("extcondition", ACL),
        ],
    },
    Catalog {
        schema: "pg_catalog",
        name: "pg_inherits",
        oid: 2611,
        view: false,
        columns: &[
            ("inhrelid", INT),
            ("inhparent", INT),
            ("inhseqno", INT),
            ("inhdetachpending", BOOL),
        ],
    },
    Catalog {
        schema: "pg_catalog",
        name: "pg_publication",
        oid: 6104,
        view: false,
        columns: &[
            ("oid", INT),
            ("pubname", TEXT),
            ("pubowner", INT),
            ("puballtables", BOOL),
            ("pubinsert", BOOL),
            ("pubupdate", BOOL),
            ("pubdelete", BOOL),
            ("pubtruncate", BOOL),
            ("pubviaroot", BOOL),
        ],
    },
    Catalog {
        schema: "pg_catalog",
        name: "pg_publication_namespace",
        oid: 6237,
        view: false,
        columns: &[("oid", INT), ("pnpubid", INT), ("pnnspid", INT)],
    },
    Catalog {
        schema: "pg_catalog",
        name: "pg_publication_rel",
        oid: 6106,
        view: false,
        columns: &[
            ("oid", INT),
            ("prpubid", INT),
            ("prrelid", INT),
            ("prqual", TEXT),
            ("prattrs", SMALLS),
        ],
    },
    Catalog {
        schema: "pg_catalog",
        name: "pg_collation",
        oid: 3456,
        view: false,
        columns: &[
            ("oid", INT),
            ("collname", TEXT),
            ("collnamespace", INT),
            ("collowner", INT),
            ("collprovider", CHAR),
            ("collisdeterministic", BOOL),
            ("collencoding", INT),
            ("collcollate", TEXT),
            ("collctype", TEXT),
        ],
    },
    Catalog {
        schema: "pg_catalog",
        name: "pg_am",
        oid: 2601,
        view: false,
        columns: &[
            ("oid", INT),
            ("amname", TEXT),
            ("amhandler", TEXT),
            ("amtype", CHAR),
        ],
    },
    Catalog {
        schema: "pg_catalog",
        name: "pg_opclass",
        oid: 2616,
        view: false,
        columns: &[
            ("oid", INT),
            ("opcmethod", INT),
            ("opcname", TEXT),
            ("opcnamespace", INT),
            ("opcowner", INT),
            ("opcfamily", INT),
            ("opcintype", INT),
            ("opcdefault", BOOL),
            ("opckeytype", INT),
        ],
    },
    Catalog {
        schema: "pg_catalog",
        name: "pg_namespace",
        oid: 2615,
        view: false,
        columns: &[
            ("oid", INT),
            ("nspname", TEXT),
            ("nspowner", INT),
            ("nspacl", ACL),
        ],
    },
    Catalog {
        schema: "pg_catalog",
        name: "pg_class",
        oid: 1259,
        view: false,
        columns: &[
            ("oid", INT),
            ("relname", TEXT),
            ("relnamespace", INT),
            ("reltype", INT),
            ("reloftype", INT),
            ("relowner", INT),
            ("relam", INT),
            ("relfilenode", INT),
            ("reltablespace", INT),
            ("relpages", INT),
            ("reltuples", SqlType::Real),
            ("relallvisible", INT),
            ("reltoastrelid", INT),
            ("relhasindex", BOOL),
            ("relisshared", BOOL),
            ("relpersistence", CHAR),
            ("relkind", CHAR),
            ("relnatts", SMALL),
            ("relchecks", SMALL),
            ("relhasrules", BOOL),
            ("relhastriggers", BOOL),
            ("relhassubclass", BOOL),
            ("relrowsecurity", BOOL),
            ("relforcerowsecurity", BOOL),
            ("relispopulated", BOOL),
            ("relreplident", CHAR),
            ("relispartition", BOOL),
            ("relrewrite", INT),
            ("relacl", ACL),
            ("reloptions", ACL),
            ("relpartbound", TEXT),
        ],
    },
    Catalog {
        schema: "pg_catalog",
        name: "pg_attribute",
        oid: 1249,
        view: false,
        columns: &[
            ("attrelid", INT),
            ("attname", TEXT),
            ("atttypid", INT),
            ("attstattarget", INT),
            ("attlen", SMALL),
            ("attnum", SMALL),
            ("attndims", INT),
            ("attcacheoff", INT),
            ("atttypmod", INT),
            ("attbyval", BOOL),
            ("attalign", CHAR),
            ("attstorage", CHAR),
            ("attcompression", CHAR),
            ("attnotnull", BOOL),
            ("atthasdef", BOOL),
            ("atthasmissing", BOOL),
            // Empty for every column, which a CHAR(1) would pad to a space on the wire;
            // PostgreSQL's "char" sends an empty string, so clients test for ''.
            ("attidentity", TEXT),
            ("attgenerated", TEXT),
            ("attisdropped", BOOL),
            ("attislocal", BOOL),
            ("attinhcount", INT),
            ("attcollation", INT),
            ("attacl", ACL),
            ("attoptions", ACL),
            ("attfdwoptions", ACL),
        ],
    },
    Catalog {
        schema: "pg_catalog",
        name: "pg_type",
        oid: 1247,
        view: false,
        columns: &[
            ("oid", INT),
            ("typname", TEXT),
            ("typnamespace", INT),
            ("typowner", INT),
            ("typlen", SMALL),
            ("typbyval", BOOL),
            ("typtype", CHAR),
            ("typcategory", CHAR),
            ("typispreferred", BOOL),
            ("typisdefined", BOOL),
            ("typdelim", CHAR),
            ("typrelid", INT),
            ("typelem", INT),
            ("typarray", INT),
            ("typinput", INT),
            ("typoutput", INT),
            ("typreceive", INT),
            ("typsend", INT),
            ("typalign", CHAR),
            ("typstorage", CHAR),
            ("typnotnull", BOOL),
            ("typbasetype", INT),
            ("typtypmod", INT),
            ("typndims", INT),
            ("typcollation", INT),
        ],
    },
    Catalog {
        schema: "pg_catalog",
        name: "pg_database",
        oid: 1262,
        view: false,
        columns: &[
            ("oid", INT),
            ("datname", TEXT),
            ("datdba", INT),
            ("encoding", INT),
            ("datlocprovider", CHAR),
            ("datistemplate", BOOL),
            ("datallowconn", BOOL),
            ("datconnlimit", INT),
            ("datfrozenxid", INT),
            ("datminmxid", INT),
            ("dattablespace", INT),
            ("datcollate", TEXT),
            ("datctype", TEXT),
            ("daticulocale", TEXT),
            ("datcollversion", TEXT),
            ("datacl", ACL),
        ],
    },
    Catalog {
        schema: "pg_catalog",
        name: "pg_tables",
        oid: 12_000,
        view: true,
        columns: &[
            ("schemaname", TEXT),
            ("tablename", TEXT),
            ("tableowner", TEXT),
            ("tablespace", TEXT),
            ("hasindexes", BOOL),
            ("hasrules", BOOL),
            ("hastriggers", BOOL),
            ("rowsecurity", BOOL),
        ],
    },
    Catalog {
        schema: "pg_catalog",
        name: "pg_index",
        oid: 2610,
        view: false,
        columns: &[
            ("indexrelid", INT),
            ("indrelid", INT),
            ("indnatts", SMALL),
            ("indnkeyatts", SMALL),
            ("indisunique", BOOL),
            ("indnullsnotdistinct", BOOL),
            ("indisprimary", BOOL),
            ("indisexclusion", BOOL),
            ("indimmediate", BOOL),
            ("indisclustered", BOOL),
            ("indisvalid", BOOL),
            ("indcheckxmin", BOOL),
            ("indisready", BOOL),
            ("indislive", BOOL),
            ("indisreplident", BOOL),
            ("indcollation", OIDVECTOR),
            ("indclass", OIDVECTOR),
            ("indkey", INT2VECTOR),
            ("indoption", INT2VECTOR),
            ("indexprs", TEXT),
            ("indpred", TEXT),
        ],
    },
    Catalog {
        schema: "pg_catalog",
        name: "pg_indexes",
        oid: 12_007,
        view: true,
        columns: &[
            ("schemaname", TEXT),
            ("tablename", TEXT),
            ("indexname", TEXT),
            ("tablespace", TEXT),
            ("indexdef", TEXT),
        ],
    },
    Catalog {
        schema: "pg_catalog",
        name: "pg_views",
        oid: 12_006,
        view: true,
        columns: &[
            ("schemaname", TEXT),
            ("viewname", TEXT),
            ("viewowner", TEXT),
            ("definition", TEXT),
        ],
    },
    Catalog {
        schema: "pg_catalog",
        name: "pg_table_def",
        oid: 12_001,
        view: true,
        columns: &[
            ("schemaname", TEXT),
            ("tablename", TEXT),
            ("column", TEXT),
            ("type", TEXT),
            ("encoding", TEXT),
            ("distkey", BOOL),
            ("sortkey", INT),
            ("notnull", BOOL),
        ],
    },
    Catalog {
        schema: "pg_catalog",
        name: "stl_load_errors",
        oid: 12_002,
        view: true,
        columns: crate::copy::load_errors::COLUMNS,
    },
    Catalog {
        schema: "pg_catalog",
        name: "stl_query",
        oid: 12_008,
        view: true,
        columns: crate::query_log::COLUMNS,
    },
    Catalog {
        schema: "pg_catalog",
        name: "pg_roles",
        oid: 12_010,
        view: true,
        columns: &[
            ("rolname", TEXT),
            ("rolsuper", BOOL),
            ("rolinherit", BOOL),
            ("rolcreaterole", BOOL),
            ("rolcreatedb", BOOL),
            ("rolcanlogin", BOOL),
            ("rolreplication", BOOL),
            ("rolconnlimit", INT),
            ("rolpassword", TEXT),
            ("rolvaliduntil", SqlType::Timestamp),
            ("rolbypassrls", BOOL),
            ("oid", INT),
        ],
    },
    Catalog {
        schema: "pg_catalog",
        name: "pg_authid",
        oid: 1260,
        view: false,
        columns: &[
            ("oid", INT),
            ("rolname", TEXT),
            ("rolsuper", BOOL),
            ("rolinherit", BOOL),
            ("rolcreaterole", BOOL),
            ("rolcreatedb", BOOL),
            ("rolcanlogin", BOOL),
            ("rolreplication", BOOL),
            ("rolbypassrls", BOOL),
            ("rolconnlimit", INT),
            ("rolpassword", TEXT),
            ("rolvaliduntil", SqlType::Timestamp),
        ],
    },
    Catalog {
        schema: "pg_catalog",
        name: "pg_user",
        oid: 12_011,
        view: true,
        columns: PG_USER_COLUMNS,
    },
    Catalog {
        schema: "pg_catalog",
        name: "pg_shadow",
        oid: 12_012,
        view: true,
        columns: PG_USER_COLUMNS,
    },
    Catalog {
        schema: "pg_catalog",
        name: "pg_group",
        oid: 12_013,
        view: true,
        columns: &[("groname", TEXT), ("grosysid", INT), ("grolist", OIDS)],
    },
    Catalog {
        schema: "pg_catalog",
        name: "pg_auth_members",
        oid: 1261,
        view: false,
        columns: &[
            ("roleid", INT),
            ("member", INT),
            ("grantor", INT),
            ("admin_option", BOOL),
        ],
    },
    Catalog {
        schema: "pg_catalog",
        name: "stv_wlm_query_state",
        oid: 12_005,
        view: true,
        columns: &[
            ("query", BIGINT),
            ("service_class", INT),
            ("slot_count", INT),
            ("wlm_start_time", SqlType::Timestamp),
            ("state", TEXT),
            ("queue_time", BIGINT),
            ("exec_time", BIGINT),
            ("username", TEXT),
            ("querytxt", TEXT),
        ],
    },
    // The open sessions, one row each (`sessions.rs`), with PostgreSQL 15's columns but
    // client_addr, client_hostname, client_port, wait_event_type, wait_event, backend_xid and
    // backend_xmin.
    Catalog {
        schema: "pg_catalog",
        name: "pg_stat_activity",
        oid: 12_050,
        view: true,
        columns: &[
            ("datid", INT),
            ("datname", TEXT),
            ("pid", INT),
            ("leader_pid", INT),
            ("usesysid", INT),
            ("usename", TEXT),
            ("application_name", TEXT),
            ("backend_start", SqlType::Timestamptz),
            ("xact_start", SqlType::Timestamptz),
            ("query_start", SqlType::Timestamptz),
            ("state_change", SqlType::Timestamptz),
            ("state", TEXT),
            ("query_id", BIGINT),
            ("query", TEXT),
            ("backend_type", TEXT),
        ],
    },
    // Redshift's active sessions (without timeout_sec: Basalt has no idle session timeout).
    Catalog {
        schema: "pg_catalog",
        name: "stv_sessions",
        oid: 12_051,
        view: true,
        columns: &[
            ("starttime", SqlType::Timestamp),
            ("process", INT),
            ("user_name", TEXT),
            ("db_name", TEXT),
        ],
    },
    // Redshift's running and recently run queries: each session's statement, `Running` or
    // `Done`, with its duration in microseconds.
    Catalog {
        schema: "pg_catalog",
        name: "stv_recents",
        oid: 12_052,
        view: true,
        columns: &[
            ("userid", INT),
            ("status", TEXT),
            ("starttime", SqlType::Timestamp),
            ("duration", BIGINT),
            ("user_name", TEXT),
            ("db_name", TEXT),
            ("query", TEXT),
            ("pid", INT),
        ],
    },
    // Redshift's query history: the queries of STL_QUERY with their type, status and elapsed
    // time in microseconds (the columns Basalt can fill).
    Catalog {
        schema: "pg_catalog",
        name: "sys_query_history",
        oid: 12_053,
        view: true,
        columns: &[
            ("user_id", INT),
            ("query_id", BIGINT),
            ("query_label", TEXT),
            ("transaction_id", BIGINT),
            ("session_id", INT),
            ("database_name", TEXT),
            ("query_type", TEXT),
            ("status", TEXT),
            ("start_time", SqlType::Timestamp),
            ("end_time", SqlType::Timestamp),
            ("elapsed_time", BIGINT),
            ("query_text", TEXT),
        ],
    },
    // Redshift's tables and views of every user schema, external tables included.
    Catalog {
        schema: "pg_catalog",
        name: "svv_tables",
        oid: 12_054,
        view: true,
        columns: &[
            ("table_catalog", TEXT),
            ("table_schema", TEXT),
            ("table_name", TEXT),
            ("table_type", TEXT),
            ("remarks", TEXT),
        ],
    },
    // Redshift's columns of the relations SVV_TABLES lists.
    Catalog {
        schema: "pg_catalog",
        name: "svv_columns",
        oid: 12_055,
        view: true,
        columns: &[
            ("table_catalog", TEXT),
            ("table_schema", TEXT),
            ("table_name", TEXT),
            ("column_name", TEXT),
            ("ordinal_position", INT),
            ("column_default", TEXT),
            ("is_nullable", TEXT),
            ("data_type", TEXT),
            ("character_maximum_length", INT),
            ("numeric_precision", INT),
            ("numeric_precision_radix", INT),
            ("numeric_scale", INT),
            ("datetime_precision", INT),
            ("interval_type", TEXT),
            ("interval_precision", TEXT),
            ("character_set_catalog", TEXT),
            ("character_set_schema", TEXT),
            ("character_set_name", TEXT),
            ("collation_catalog", TEXT),
            ("collation_schema", TEXT),
            ("collation_name", TEXT),
            ("domain_name", TEXT),
            ("remarks", TEXT),
        ],
    },
    Catalog {
        schema: "pg_catalog",
        name: "pg_cursors",
        oid: 12_030,
        view: true,
        columns: &[
            ("name", TEXT),
            ("statement", TEXT),
            ("is_holdable", BOOL),
            ("is_binary", BOOL),
            ("is_scrollable", BOOL),
            ("creation_time", SqlType::Timestamp),
        ],
    },
    Catalog {
        schema: "pg_catalog",
        name: "svv_table_info",
        oid: 12_003,
        view: true,
        columns: &[
            ("database", TEXT),
            ("schema", TEXT),
            ("table_id", INT),
            ("table", TEXT),
            ("encoded", TEXT),
            ("diststyle", TEXT),
            ("sortkey1", TEXT),
            ("max_varchar", INT),
            ("sortkey1_enc", TEXT),
            ("sortkey_num", INT),
            ("size", BIGINT),
            ("unsorted", PERCENT),
            ("stats_off", PERCENT),
            ("tbl_rows", BIGINT),
            ("estimated_visible_rows", BIGINT),
        ],
    },
    // ANALYZE's statistics (rows from `stats_rows`); PostgreSQL's columns Basalt fills.
    Catalog {
        schema: "pg_catalog",
        name: "pg_stats",
        oid: 12_040,
        view: true,
        columns: &[
            ("schemaname", TEXT),
            ("tablename", TEXT),
            ("attname", TEXT),
            ("inherited", BOOL),
            ("null_frac", SqlType::Real),
            ("avg_width", INT),
            ("n_distinct", SqlType::Real),
        ],
    },
    // External tables' views (rows from `external::views`).
    Catalog {
        schema: "pg_catalog",
        name: "svv_external_schemas",
        oid: 12_020,
        view: true,
        columns: &[
            ("esoid", INT),
            ("eskind", SMALL),
            ("schemaname", TEXT),
            ("esowner", INT),
            ("databasename", TEXT),
            ("esoptions", TEXT),
        ],
    },
    Catalog {
        schema: "pg_catalog",
        name: "svv_external_tables",
        oid: 12_021,
        view: true,
        columns: &[
            ("redshift_database_name", TEXT),
            ("schemaname", TEXT),
            ("tablename", TEXT),
            ("tabletype", TEXT),
            ("location", TEXT),
            ("input_format", TEXT),
            ("output_format", TEXT),
            ("serialization_lib", TEXT),
            ("serde_parameters", TEXT),
            ("compressed", INT),
            ("parameters", TEXT),
        ],
    },
    Catalog {
        schema: "pg_catalog",
        name: "svv_external_columns",
        oid: 12_022,
        view: true,
        columns: &[
            ("redshift_database_name", TEXT),
            ("schemaname", TEXT),
            ("tablename", TEXT),
            ("columnname", TEXT),
            ("external_type", TEXT),
            ("columnnum", INT),
            ("part_key", INT),
            ("is_nullable", TEXT),
        ],
    },
    Catalog {
        schema: "pg_catalog",
        name: "svv_external_partitions",
        oid: 12_023,
        view: true,
        columns: &[
            ("redshift_database_name", TEXT),
            ("schemaname", TEXT),
            ("tablename", TEXT),
            ("values", TEXT),
            ("location", TEXT),
            ("input_format", TEXT),
            ("output_format", TEXT),
            ("serialization_lib", TEXT),
            ("serde_parameters", TEXT),
            ("compressed", INT),
            ("parameters", TEXT),
        ],
    },
    Catalog {
        schema: "pg_catalog",
        name: "stv_blocklist",
        oid: 12_004,
        view: true,
        columns: &[
            ("slice", INT),
            ("col", INT),
            ("tbl", INT),
            ("blocknum", INT),
            ("num_values", INT),
            ("minvalue", BIGINT),
            ("maxvalue", BIGINT),
        ],
    },
    Catalog {
        schema: "information_schema",
        name: "table_constraints",
        oid: 13_006,
        view: true,
        columns: &[
            ("constraint_catalog", TEXT),
            ("constraint_schema", TEXT),
            ("constraint_name", TEXT),
            ("table_catalog", TEXT),
            ("table_schema", TEXT),
            ("table_name", TEXT),
            ("constraint_type", TEXT),
            ("is_deferrable", TEXT),
            ("initially_deferred", TEXT),
            ("enforced", TEXT),
            ("nulls_distinct", TEXT),
        ],
    },
    Catalog {
        schema: "information_schema",
        name: "key_column_usage",
        oid: 13_007,
        view: true,
        columns: &[
            ("constraint_catalog", TEXT),
            ("constraint_schema", TEXT),
            ("constraint_name", TEXT),
            ("table_catalog", TEXT),
            ("table_schema", TEXT),
            ("table_name", TEXT),
            ("column_name", TEXT),
            ("ordinal_position", INT),
            ("position_in_unique_constraint", INT),
        ],
    },
    Catalog {
        schema: "information_schema",
        name: "referential_constraints",
        oid: 13_008,
        view: true,
        columns: &[
            ("constraint_catalog", TEXT),
            ("constraint_schema", TEXT),
            ("constraint_name", TEXT),
            ("unique_constraint_catalog", TEXT),
            ("unique_constraint_schema", TEXT),
            ("unique_constraint_name", TEXT),
            ("match_option", TEXT),
            ("update_rule", TEXT),
            ("delete_rule", TEXT),
        ],
    },
    Catalog {
        schema: "information_schema",
        name: "constraint_column_usage",
        oid: 13_009,
        view: true,
        columns: &[
            ("table_catalog", TEXT),
            ("table_schema", TEXT),
            ("table_name", TEXT),
            ("column_name", TEXT),
            ("constraint_catalog", TEXT),
            ("constraint_schema", TEXT),
            ("constraint_name", TEXT),
        ],
    },
    Catalog {
        schema: "information_schema",
        name: "table_privileges",
        oid: 13_004,
        view: true,
        columns: &[
            ("grantor", TEXT),
            ("grantee", TEXT),
            ("table_catalog", TEXT),
            ("table_schema", TEXT),
            ("table_name", TEXT),
            ("privilege_type", TEXT),
            ("is_grantable", TEXT),
            ("with_hierarchy", TEXT),
        ],
    },
    Catalog {
        schema: "information_schema",
        name: "schemata",
        oid: 13_001,
        view: true,
        columns: &[
            ("catalog_name", TEXT),
            ("schema_name", TEXT),
            ("schema_owner", TEXT),
            ("default_character_set_catalog", TEXT),
            ("default_character_set_schema", TEXT),
            ("default_character_set_name", TEXT),
            ("sql_path", TEXT),
        ],
    },
    Catalog {
        schema: "information_schema",
        name: "tables",
        oid: 13_002,
        view: true,
        columns: &[
            ("table_catalog", TEXT),
            ("table_schema", TEXT),
            ("table_name", TEXT),
            ("table_type", TEXT),
            ("self_referencing_column_name", TEXT),
            ("reference_generation", TEXT),
            ("user_defined_type_catalog", TEXT),
            ("user_defined_type_schema", TEXT),
            ("user_defined_type_name", TEXT),
            ("is_insertable_into", TEXT),
            ("is_typed", TEXT),
            ("commit_action", TEXT),
        ],
    },
    Catalog {
        schema: "information_schema",
        name: "views",
        oid: 13_005,
        view: true,
        columns: &[
            ("table_catalog", TEXT),
            ("table_schema", TEXT),
            ("table_name", TEXT),
            ("view_definition", TEXT),
            ("check_option", TEXT),
            ("is_updatable", TEXT),
            ("is_insertable_into", TEXT),
            ("is_trigger_updatable", TEXT),
            ("is_trigger_deletable", TEXT),
            ("is_trigger_insertable_into", TEXT),
        ],
    },
    Catalog {
        schema: "information_schema",
        name: "columns",
        oid: 13_003,
        view: true,
        columns: &[
            ("table_catalog", TEXT),
            ("table_schema", TEXT),
            ("table_name", TEXT),
            ("column_name", TEXT),
            ("ordinal_position", INT),
            ("column_default", TEXT),
            ("is_nullable", TEXT),
            ("data_type", TEXT),
            ("character_maximum_length", INT),
            ("character_octet_length", INT),
            ("numeric_precision", INT),
            ("numeric_precision_radix", INT),
            ("numeric_scale", INT),
            ("datetime_precision", INT),
            ("interval_type", TEXT),
            ("interval_precision", INT),
            ("character_set_catalog", TEXT),
            ("character_set_schema", TEXT),
            ("character_set_name", TEXT),
            ("collation_catalog", TEXT),
            ("collation_schema", TEXT),
            ("collation_name", TEXT),
            ("domain_catalog", TEXT),
            ("domain_schema", TEXT),
            ("domain_name", TEXT),
            ("udt_catalog", TEXT),
            ("udt_schema", TEXT),
            ("udt_name", TEXT),
            ("is_identity", TEXT),
            ("is_generated", TEXT),
            ("is_updatable", TEXT),
        ],
    },
];

/// The built-in types Basalt has, as `pg_type` describes them:
/// (oid, name, length, by value, category, alignment, collation), in the order of
/// PostgreSQL's `pg_type` (its heap order), which clients listing types without ORDER BY see.
const TYPES: &[(i64, &str, i64, bool, &str, &str, i64)] = &[
    (16, "bool", 1, true, "B", "c", 0),
    (20, "int8", 8, true, "N", "d", 0),
    (21, "int2", 2, true, "N", "s", 0),
    (22, "int2vector", -1, false, "A", "i", 0),
    (23, "int4", 4, true, "N", "i", 0),
    (25, "text", -1, false, "S", "i", 100),
    (30, "oidvector", -1, false, "A", "i", 0),
    (700, "float4", 4, true, "N", "i", 0),
    (701, "float8", 8, true, "N", "d", 0),
    (1042, "bpchar", -1, false, "S", "i", 100),
    (1043, "varchar", -1, false, "S", "i", 100),
    (1082, "date", 4, true, "D", "i", 0),
    (1083, "time", 8, true, "D", "d", 0),
    (1114, "timestamp", 8, true, "D", "d", 0),
    (1184, "timestamptz", 8, true, "D", "d", 0),
    (1186, "interval", 16, false, "T", "d", 0),
    (1700, "numeric", -1, false, "N", "i", 0),
    (1000, "_bool", -1, false, "A", "i", 0),
    (1016, "_int8", -1, false, "A", "d", 0),
    (1005, "_int2", -1, false, "A", "i", 0),
    (1007, "_int4", -1, false, "A", "i", 0),
    (1009, "_text", -1, false, "A", "i", 100),
    (1021, "_float4", -1, false, "A", "i", 0),
    (1022, "_float8", -1, false, "A", "d", 0),
    (1014, "_bpchar", -1, false, "A", "i", 100),
    (1015, "_varchar", -1, false, "A", "i", 100),
    (1182, "_date", -1, false, "A", "i", 0),
    (1183, "_time", -1, false, "A", "d", 0),
    (1115, "_timestamp", -1, false, "A", "d", 0),
    (1185, "_timestamptz", -1, false, "A", "d", 0),
    (1187, "_interval", -1, false, "A", "d", 0),
    (1231, "_numeric", -1, false, "A", "i", 0),
];

/// PostgreSQL's input, output, receive and send functions (OID, name) of the types in
/// `TYPES`, which `pg_type.typinput` ... `typsend` hold and `regproc` casts resolve.
const TYPE_IO_PROCS: &[(i64, &str)] = &[
    (38, "int2in"),
    (39, "int2out"),
    (40, "int2vectorin"),
    (41, "int2vectorout"),
    (42, "int4in"),
    (43, "int4out"),
    (46, "textin"),
    (47, "textout"),
    (54, "oidvectorin"),
    (55, "oidvectorout"),
    (200, "float4in"),
    (201, "float4out"),
    (214, "float8in"),
    (215, "float8out"),
    (460, "int8in"),
    (461, "int8out"),
    (750, "array_in"),
    (751, "array_out"),
    (1044, "bpcharin"),
    (1045, "bpcharout"),
    (1046, "varcharin"),
    (1047, "varcharout"),
    (1084, "date_in"),
    (1085, "date_out"),
    (1143, "time_in"),
    (1144, "time_out"),
    (1150, "timestamptz_in"),
    (1151, "timestamptz_out"),
    (1160, "interval_in"),
    (1161, "interval_out"),
    (1242, "boolin"),
    (1243, "boolout"),
    (1312, "timestamp_in"),
    (1313, "timestamp_out"),
    (1701, "numeric_in"),
    (1702, "numeric_out"),
    (2400, "array_recv"),
    (2401, "array_send"),
    (2404, "int2recv"),
    (2405, "int2send"),
    (2406, "int4recv"),
    (2407, "int4send"),
    (2408, "int8recv"),
    (2409, "int8send"),
    (2410, "int2vectorrecv"),
    (2411, "int2vectorsend"),
    (2414, "textrecv"),
    (2415, "textsend"),
    (2420, "oidvectorrecv"),
    (2421, "oidvectorsend"),
    (2424, "float4recv"),
    (2425, "float4send"),
    (2426, "float8recv"),
    (2427, "float8send"),
    (2430, "bpcharrecv"),
    (2431, "bpcharsend"),
    (2432, "varcharrecv"),
    (2433, "varcharsend"),
    (2436, "boolrecv"),
    (2437, "boolsend"),
    (2460, "numeric_recv"),
    (2461, "numeric_send"),
    (2468, "date_recv"),
    (2469, "date_send"),
    (2470, "time_recv"),
    (2471, "time_send"),
    (2474, "timestamp_recv"),
    (2475, "timestamp_send"),
    (2476, "timestamptz_recv"),
    (2477, "timestamptz_send"),
    (2478, "interval_recv"),
    (2479, "interval_send"),
];

/// The OIDs of a type's input, output, receive and send functions, as PostgreSQL's
/// `pg_type.dat` gives them: every array type uses `array_in` / `array_out` /
/// `array_recv` / `array_send`.
fn type_io_procs(type_oid: i64) -> [i64; 4] {
    match type_oid {
        16 => [1242, 1243, 2436, 2437],
        20 => [460, 461, 2408, 2409],
        21 => [38, 39, 2404, 2405],
        22 => [40, 41, 2410, 2411],
        23 => [42, 43, 2406, 2407],
        25 => [46, 47, 2414, 2415],
        30 => [54, 55, 2420, 2421],
        700 => [200, 201, 2424, 2425],
        701 => [214, 215, 2426, 2427],
        1042 => [1044, 1045, 2430, 2431],
        1043 => [1046, 1047, 2432, 2433],
        1082 => [1084, 1085, 2468, 2469],
        1083 => [1143, 1144, 2470, 2471],
        1114 => [1312, 1313, 2474, 2475],
        1184 => [1150, 1151, 2476, 2477],
        1186 => [1160, 1161, 2478, 2479],
        1700 => [1701, 1702, 2460, 2461],
        _ => [750, 751, 2400, 2401],
    }
}

/// (element type OID, array type OID) of the built-in types, as in PostgreSQL's `pg_type.dat`.
const ARRAY_TYPES: &[(i64, i64)] = &[
    (16, 1000),
    (21, 1005),
    (23, 1007),
    (25, 1009),
    (1042, 1014),
    (1043, 1015),
    (20, 1016),
    (700, 1021),
    (701, 1022),
    (1114, 1115),
    (1082, 1182),
    (1083, 1183),
    (1184, 1185),
    (1186, 1187),
    (1700, 1231),
    // The vectors come after the arrays, so that an element type's array is found first.
    (21, 22),
    (26, 30),
];

/// The OID of the type arrays of `ty` have: `_int4` for `integer`, `_text` for `text`.
fn array_type_oid(element: basalt_storage::types::ArrayElement) -> i64 {
    match element {
        basalt_storage::types::ArrayElement::Int2Vector => return 22,
        basalt_storage::types::ArrayElement::OidVector => return 30,
        _ => {}
    }
    let (elem_oid, ..) = type_info(element.sql_type());
    ARRAY_TYPES
        .iter()
        .find(|(e, _)| *e == elem_oid)
        .map_or(0, |(_, a)| *a)
}

/// An `aclitem[]` value: NULL for an object with its default privileges.
fn acl_datum(items: Option<Vec<String>>) -> Datum {
    items.map_or(Datum::Null, |v| {
        Datum::Array(v.into_iter().map(Datum::Text).collect())
    })
}

/// The `pg_type` OID, name, length and alignment of a column type.
/// The `pg_type` OID of `ty`.
pub(crate) fn type_oid(ty: SqlType) -> i64 {
    type_info(ty).0
}

fn type_info(ty: SqlType) -> (i64, &'static str, i64, &'static str) {
    let oid = match ty {
        SqlType::Boolean => 16,
        SqlType::BigInt => 20,
        SqlType::SmallInt => 21,
        SqlType::Integer => 23,
        SqlType::Text => 25,
        SqlType::Real => 700,
        SqlType::Double => 701,
        SqlType::Char { .. } => 1042,
        SqlType::Varchar { .. } => 1043,
        SqlType::Date => 1082,
        SqlType::Timestamp => 1114,
        SqlType::Time => 1083,
        SqlType::Timestamptz => 1184,
        SqlType::Interval => 1186,
        SqlType::Decimal { .. } => 1700,
        SqlType::Array { element } => array_type_oid(element),
    };
    let (_, name, len, _, _, align, _) = TYPES
        .iter()
        .find(|t| t.0 == oid)
        .copied()
        .unwrap_or((oid, "unknown", -1, false, "X", "i", 0));
    (oid, name, len, align)
}

/// PostgreSQL's type modifier: length + 4 for character types, (precision << 16 | scale) + 4
/// for numeric, -1 otherwise.
fn typmod(ty: SqlType) -> i64 {
    match ty {
        SqlType::Char { length } | SqlType::Varchar { length } => i64::from(length) + 4,
        SqlType::Decimal { precision, scale } => {
            ((i64::from(precision) << 16) | i64::from(scale as u8)) + 4
        }
        _ => -1,
    }
}

/// A table of any kind the catalogs describe: a user table or a catalog.
struct Relation<'a> {
    oid: i64,
    schema: &'a str,
    name: &'a str,
    view: bool,
    rows: f64,
    columns: Vec<(&'a str, SqlType, bool)>,
    /// The owning role's OID.
    owner: i64,
}

fn relations(manifest: &Manifest) -> Vec<Relation<'_>> {
    let mut out: Vec<Relation<'_>> = CATALOGS
        .iter()
        .map(|c| Relation {
            oid: c.oid,
            schema: c.schema,
            name: c.name,
            view: c.view,
            rows: -1.0,
            columns: c.columns.iter().map(|(n, t)| (*n, *t, false)).collect(),
            owner: OWNER_OID,
        })
        .collect();
    let mut tables: Vec<&TableMeta> = manifest.tables.iter().collect();
    tables.sort_by_key(|t| t.id);
    out.extend(tables.into_iter().map(|t| {
        Relation {
            oid: i64::try_from(t.id).unwrap_or(i64::MAX),
            schema: &t.def.schema,
            name: &t.def.name,
            view: false,
            rows: t.segments.iter().map(|s| s.rows as f64).sum(),
            columns: t
                .def
                .columns
                .iter()
                .map(|c| (c.name.as_str(), c.ty, !c.nullable))
                .collect(),
            owner: i64::from(crate::security::table_owner(t)),
        }
    }));
    let mut views: Vec<&basalt_storage::ViewDef> = manifest.objects.views.iter().collect();
    views.sort_by_key(|v| v.id);
    out.extend(views.into_iter().map(|v| {
        Relation {
            oid: i64::try_from(v.id).unwrap_or(i64::MAX),
            schema: &v.schema,
            name: &v.name,
            view: true,
            rows: 0.0,
            columns: v
                .columns
                .iter()
                .map(|c| (c.name.as_str(), c.ty, false))
                .collect(),
            owner: i64::from(
                v.owner
                    .unwrap_or(basalt_storage::security::BOOTSTRAP_ROLE_OID),
            ),
        }
    }));
    out
}

/// Whether schema `schema` holds a relation (a catalog, table or view) named `name`.
fn relations_named(manifest: &Manifest, schema: &str, name: &str) -> bool {
    CATALOGS
        .iter()
        .any(|c| c.schema == schema && c.name == name)
        || manifest.table(schema, name).is_some()
        || manifest.objects.view(schema, name).is_some()
        || manifest
            .objects
            .indexes
            .iter()
            .any(|i| i.schema == schema && i.name == name)
}

/// What `regclass` names: the relations, and the indexes (also `pg_class` rows), as
/// (OID, schema, name).
fn regclass_entries(manifest: &Manifest) -> Vec<(i64, &str, &str)> {
    relations(manifest)
        .iter()
        .map(|r| (r.oid, r.schema, r.name))
        .chain(manifest.objects.indexes.iter().map(|i| {
            (
                i64::try_from(i.id).unwrap_or(i64::MAX),
                i.schema.as_str(),
                i.name.as_str(),
            )
        }))
        .collect()
}

/// A column's encoding as Redshift's catalogs name it: the keyword in lower case, `none` for
/// RAW.
fn encoding_name(e: ColumnEncoding) -> String {
    match e {
        ColumnEncoding::Raw => "none".to_owned(),
        other => other.keyword().to_ascii_lowercase(),
    }
}

/// `pg_table_def.sortkey`: 0 for a column outside the sort key; else its 1-based position,
/// positive in a compound key and alternately positive and negative in an interleaved one.
fn sort_key_position(key: &SortKey, column: &str) -> i64 {
    let Some(i) = key.columns().iter().position(|c| c == column) else {
        return 0;
    };
    let n = i64::try_from(i).unwrap_or(i64::MAX - 1) + 1;
    match key {
        SortKey::Interleaved(_) if n % 2 == 0 => -n,
        _ => n,
    }
}

/// The OID of a temporary schema `pg_temp_N`: above any relation id a database reaches.
const TEMP_SCHEMA_OID_BASE: i64 = 2_000_000_000;

/// The OID of schema `name`: PostgreSQL's for the built-in ones, the manifest's for user
/// schemas.
fn schema_oid(manifest: &Manifest, name: &str) -> i64 {
    if let Some((_, oid)) = SCHEMAS.iter().find(|(n, _)| *n == name) {
        return *oid;
    }
    if let Some(s) = manifest.objects.schema(name) {
        return i64::try_from(s.id).unwrap_or(i64::MAX);
    }
    name.strip_prefix(basalt_storage::objects::TEMP_SCHEMA_PREFIX)
        .and_then(|n| n.parse::<i64>().ok())
        .map_or(PUBLIC_OID, |n| TEMP_SCHEMA_OID_BASE.saturating_add(n))
}

/// Every schema a session whose temporary schema is `temp` sees, as (name, OID, owner OID):
/// the built-in ones, the user schemas, and its temporary schema while that holds tables.
fn namespaces(manifest: &Manifest, temp: &str) -> Vec<(String, i64, i64)> {
    let mut out: Vec<(String, i64, i64)> = SCHEMAS
        .iter()
        .map(|(n, oid)| ((*n).to_owned(), *oid, OWNER_OID))
        .collect();
    out.extend(manifest.objects.schemas.iter().map(|s| {
        (
            s.name.clone(),
            i64::try_from(s.id).unwrap_or(i64::MAX),
            i64::from(
                s.owner
                    .unwrap_or(basalt_storage::security::BOOTSTRAP_ROLE_OID),
            ),
        )
    }));
    if !temp.is_empty() && manifest.tables.iter().any(|t| t.def.schema == temp) {
        out.push((temp.to_owned(), schema_oid(manifest, temp), OWNER_OID));
    }
    out
}

fn int(v: i64) -> Datum {
    Datum::Int(v)
}

fn text(v: &str) -> Datum {
    Datum::Text(v.to_owned())
}

fn opt_int(v: Option<i64>) -> Datum {
    v.map_or(Datum::Null, Datum::Int)
}

/// One megabyte, Redshift's block size, in which SVV_TABLE_INFO counts a table's size.
const MEGABYTE: u64 = 1 << 20;

/// SVV_TABLE_INFO's rows: one per user table.
fn table_info_rows(manifest: &Manifest, stats: Option<&Statistics>) -> Vec<Vec<Datum>> {
    let mut tables: Vec<&TableMeta> = manifest.tables.iter().collect();
    tables.sort_by_key(|t| t.id);
    tables
        .into_iter()
        .map(|t| {
            let def = &t.def;
            let encoded = if def
                .columns
                .iter()
                .all(|c| c.encoding == ColumnEncoding::Auto)
            {
                "Y, AUTO(ENCODE)"
            } else {
                "Y"
            };
            let diststyle = match (def.dist_style, &def.dist_key) {
                (DistStyle::Key, Some(k)) => format!("KEY({k})"),
                (style, _) => style.keyword().to_owned(),
            };
            let sort = def.sort_key.columns();
            let sortkey1 = match &def.sort_key {
                SortKey::Auto => Datum::Text("AUTO(SORTKEY)".into()),
                SortKey::Interleaved(_) => Datum::Text("INTERLEAVED".into()),
                SortKey::Compound(c) => c.first().map_or(Datum::Null, |c| text(c)),
            };
            let sortkey1_enc = sort
                .first()
                .and_then(|c| def.columns.iter().find(|x| x.name == *c))
                .map_or(Datum::Null, |c| text(&encoding_name(c.encoding)));
            let max_varchar = def
                .columns
                .iter()
                .filter_map(|c| match c.ty {
                    SqlType::Varchar { length } => Some(i64::from(length)),
                    _ => None,
                })
                .max();
            let bytes: u64 = t.segments.iter().map(|s| s.bytes).sum();
            vec![
                text(DATABASE),
                text(&def.schema),
                int(i64::try_from(t.id).unwrap_or(i64::MAX)),
                text(&def.name),
                text(encoded),
                text(&diststyle),
                sortkey1,
                opt_int(max_varchar),
                sortkey1_enc,
                int(i64::try_from(sort.len()).unwrap_or(i64::MAX)),
                int(i64::try_from(bytes.div_ceil(MEGABYTE)).unwrap_or(i64::MAX)),
                unsorted_percent(t),
                stats_off(t, stats),
                int(i64::try_from(t.rows()).unwrap_or(i64::MAX)),
                int(i64::try_from(t.live_rows()).unwrap_or(i64::MAX)),
            ]
        })
        .collect()
}

/// SVV_TABLE_INFO's `stats_off`: how stale the table's statistics are, as the rows inserted
/// and deleted since ANALYZE in percent of the rows it analyzed (at most 100); 100 for a table
/// never analyzed.
fn stats_off(t: &TableMeta, stats: Option<&Statistics>) -> Datum {
    let percent = stats
        .and_then(|s| s.get(t.id))
        .map_or(100.0, |s| s.stats_off_percent(t));
    Datum::Decimal((percent * 100.0).round() as i128, 2)
}

/// PG_STATS's rows: one per analyzed column of every table with analyzed rows whose
/// columns the session may read, in table then column order.
fn stats_rows(
    manifest: &Manifest,
    stats: &Statistics,
    session: Option<&crate::security::SessionInfo>,
) -> Vec<Vec<Datum>> {
    let mut tables: Vec<&TableMeta> = manifest.tables.iter().collect();
    tables.sort_by_key(|t| t.id);
    let mut out = Vec::new();
    for t in tables {
        if let Some(s) = session {
            if crate::security::check_table(manifest, &s.actor, t, 'r').is_err() {
                continue;
            }
        }
        let Some(table_stats) = stats.get(t.id) else {
            continue;
        };
        // As PostgreSQL, a table analyzed empty has no column statistics.
        if table_stats.rows == 0 {
            continue;
        }
        for def in &t.def.columns {
            let Some(c) = table_stats.column(def) else {
                continue;
            };
            out.push(vec![
                text(&t.def.schema),
                text(&t.def.name),
                text(&def.name),
                Datum::Boolean(false),
                Datum::Float(f64::from(c.null_frac() as f32)),
                int(i64::from(c.avg_width())),
                Datum::Float(f64::from(c.n_distinct() as f32)),
            ]);
        }
    }
    out
}

/// SVV_TABLE_INFO's `unsorted`: the percentage of rows in segments whose range of the first
/// sort key column overlaps another segment's beyond a shared end value (every segment file is
/// sorted within itself, so
/// only such overlaps leave the table out of order), and of rows still in memory (small
/// INSERTs, appended in arrival order: Redshift's unsorted region); NULL for a table without a
/// sort key.
fn unsorted_percent(t: &TableMeta) -> Datum {
    let Some(first) = t.def.sort_columns().first().copied() else {
        return Datum::Null;
    };
    let total = t.rows();
    if total == 0 {
        return Datum::Decimal(0, 2);
    }
    let ranges: Vec<Option<(&ZoneValue, &ZoneValue)>> = t
        .segments
        .iter()
        .map(|s| {
            let z = s.zone_map(&t.def, first)?;
            Some((z.min.as_ref()?, z.max.as_ref()?))
        })
        .collect();
    // Ranges that only touch (one segment ends on the key value the next starts with) are in
    // order: rows with equal keys have no order among them.
    let overlaps = |a: (&ZoneValue, &ZoneValue), b: (&ZoneValue, &ZoneValue)| {
        a.0.compare(b.1) == Some(std::cmp::Ordering::Less)
            && b.0.compare(a.1) == Some(std::cmp::Ordering::Less)
    };
    let unsorted: u64 = t
        .segments
        .iter()
        .enumerate()
        .filter(|(i, s)| {
            s.is_resident()
                || ranges.iter().enumerate().any(|(j, other)| {
                    j != *i
                        && match (ranges[*i], other) {
                            (Some(a), Some(b)) => overlaps(a, *b),
                            _ => false,
                        }
                })
        })
        .map(|(_, s)| s.rows)
        .sum();
    let hundredths = i128::from(unsorted) * 10_000 / i128::from(total);
    Datum::Decimal(hundredths, 2)
}

/// STV_BLOCKLIST's rows: one per block of every column of every user table, read from the
/// segment footers. Blocks are numbered per column across the table's segments in order.
fn block_rows(manifest: &Manifest, store: &Store) -> Result<Vec<Vec<Datum>>> {
    let mut tables: Vec<&TableMeta> = manifest.tables.iter().collect();
    tables.sort_by_key(|t| t.id);
    let mut out = Vec::new();
    for t in tables {
        let tbl = int(i64::try_from(t.id).unwrap_or(i64::MAX));
        let mut next = vec![0i64; t.def.columns.len()];
        // Rows of small INSERTs still in memory (and the WAL) have no blocks until a
        // checkpoint writes them to a segment file.
        for segment in t.segments.iter().filter(|s| !s.is_resident()) {
            let reader = store.open_segment(t, segment)?;
            for (c, blocknum) in next.iter_mut().enumerate() {
                for block in reader.blocks(c).unwrap_or_default() {
                    let z = &block.zone_map;
                    out.push(vec![
                        int(0),
                        int(i64::try_from(c).unwrap_or(i64::MAX)),
                        tbl.clone(),
                        int(*blocknum),
                        int(i64::try_from(z.row_count).unwrap_or(i64::MAX)),
                        block_bound(z.min.as_ref()),
                        block_bound(z.max.as_ref()),
                    ]);
                    *blocknum += 1;
                }
            }
        }
    }
    Ok(out)
}

/// A zone-map bound as STV_BLOCKLIST shows it, a BIGINT: integers, dates (days since
/// 1970-01-01) and timestamps (microseconds) as they are stored; decimals as their unscaled
/// value, clamped to BIGINT; booleans as 0 or 1; strings as their first eight bytes read as a
/// big-endian integer (zero-padded), as Redshift keeps the first eight characters; NULL for
/// floating-point columns and all-NULL blocks.
fn block_bound(v: Option<&ZoneValue>) -> Datum {
    match v {
        Some(ZoneValue::Int(i)) => int(*i),
        Some(ZoneValue::Decimal(d)) => {
            int(i64::try_from(*d).unwrap_or(if *d < 0 { i64::MIN } else { i64::MAX }))
        }
        Some(ZoneValue::Boolean(b)) => int(i64::from(*b)),
        Some(ZoneValue::Bytes(bytes)) => {
            let mut first = [0u8; 8];
            for (to, from) in first.iter_mut().zip(bytes) {
                *to = *from;
            }
            int(i64::from_be_bytes(first))
        }
        Some(ZoneValue::Float(_)) | None => Datum::Null,
    }
}

/// The rows of the role catalogs (`None` for any other catalog): the bootstrap superuser,
/// then the catalog's roles in creation order. Passwords show as `********` outside
/// `pg_shadow` and `pg_authid`, as in PostgreSQL.
fn role_rows(name: &str, security: &basalt_storage::Security) -> Option<Vec<Vec<Datum>>> {
    use basalt_storage::security::Role;
    let bootstrap = Role {
        oid: OWNER_OID as u32,
        name: OWNER.into(),
        group: false,
        login: true,
        superuser: true,
        create_db: true,
        create_role: true,
        connection_limit: -1,
        valid_until: None,
        password: None,
    };
    let roles: Vec<&Role> = std::iter::once(&bootstrap)
        .chain(security.roles.iter())
        .collect();
    let b = Datum::Boolean;
    let oid = |r: &Role| int(i64::from(r.oid));
    let until = |r: &Role| r.valid_until.map_or(Datum::Null, Datum::Timestamp);
    let masked = |r: &Role| {
        if r.password.is_some() {
            text("********")
        } else {
            Datum::Null
        }
    };
    let hash = |r: &Role| r.password.as_deref().map_or(Datum::Null, text);
    let user_row = |r: &Role, passwd: Datum| {
        vec![
            text(&r.name),
            oid(r),
            b(r.create_db || r.superuser),
            b(r.superuser),
            b(r.superuser),
            b(r.superuser),
            passwd,
            until(r),
        ]
    };
    Some(match name {
        "pg_roles" => roles
            .iter()
            .map(|r| {
                vec![
                    text(&r.name),
                    b(r.superuser),
                    b(true),
                    b(r.create_role || r.superuser),
                    b(r.create_db || r.superuser),
                    b(r.login),
                    b(r.superuser),
                    int(i64::from(r.connection_limit)),
                    text("********"),
                    until(r),
                    b(r.superuser),
                    oid(r),
                ]
            })
            .collect(),
        "pg_authid" => roles
            .iter()
            .map(|r| {
                vec![
                    oid(r),
                    text(&r.name),
                    b(r.superuser),
                    b(true),
                    b(r.create_role || r.superuser),
                    b(r.create_db || r.superuser),
                    b(r.login),
                    b(r.superuser),
                    b(r.superuser),
                    int(i64::from(r.connection_limit)),
                    hash(r),
                    until(r),
                ]
            })
            .collect(),
        "pg_user" => roles
            .iter()
            .filter(|r| r.login)
            .map(|r| user_row(r, masked(r)))
            .collect(),
        "pg_shadow" => roles
            .iter()
            .filter(|r| r.login)
            .map(|r| user_row(r, hash(r)))
            .collect(),
        "pg_group" => roles
            .iter()
            .filter(|r| !r.login)
            .map(|r| {
                let members: Vec<Datum> = security
                    .members
                    .iter()
                    .filter(|m| m.group == r.oid)
                    .map(|m| Datum::Int(i64::from(m.member)))
                    .collect();
                vec![text(&r.name), oid(r), Datum::Array(members)]
            })
            .collect(),
        "pg_auth_members" => security
            .members
            .iter()
            .map(|m| {
                vec![
                    int(i64::from(m.group)),
                    int(i64::from(m.member)),
                    int(OWNER_OID),
                    b(false),
                ]
            })
            .collect(),
        _ => return None,
    })
}

/// information_schema.table_privileges: one row per table, grant and privilege (defaults
/// included), where the session's role (or a group of it, or PUBLIC) is the grantor or the
/// grantee; a superuser sees every row. The owner's privileges are grantable.
fn table_privilege_rows(
    manifest: &Manifest,
    session: Option<&crate::security::SessionInfo>,
) -> Vec<Vec<Datum>> {
    use basalt_storage::security::{GrantObject, PUBLIC_ROLE_OID};
    let security = &manifest.security;
    let sees = |oid: u32| match session {
        None => true,
        Some(s) => {
            s.actor.superuser
                || oid == PUBLIC_ROLE_OID
                || oid == s.actor.oid
                || s.actor.groups.contains(&oid)
        }
    };
    let name = |oid: u32| {
        if oid == PUBLIC_ROLE_OID {
            "PUBLIC".to_owned()
        } else {
            crate::security::role_name(security, oid)
        }
    };
    let mut tables: Vec<&TableMeta> = manifest.tables.iter().collect();
    tables.sort_by_key(|t| t.id);
    let mut out = Vec::new();
    for t in tables {
        let owner = crate::security::table_owner(t);
        for g in crate::security::acl(security, &GrantObject::Table(t.id), owner) {
            if !sees(g.grantor) && !sees(g.grantee) {
                continue;
            }
            for letter in g.privileges.chars() {
                let grantable = g.grantable.contains(letter) || g.grantee == owner;
                out.push(vec![
                    text(&name(g.grantor)),
                    text(&name(g.grantee)),
                    text(DATABASE),
                    text(&t.def.schema),
                    text(&t.def.name),
                    text(crate::security::privilege_name(letter)),
                    text(if grantable { "YES" } else { "NO" }),
                    text(if letter == 'r' { "YES" } else { "NO" }),
                ]);
            }
        }
    }
    out
}

/// Every index with its table, in id order.
fn index_rows(manifest: &Manifest) -> Vec<(&basalt_storage::IndexDef, &TableMeta)> {
    let mut out: Vec<_> = manifest
        .objects
        .indexes
        .iter()
        .filter_map(|i| manifest.table_by_id(i.table).map(|t| (i, t)))
        .collect();
    out.sort_by_key(|(i, _)| i.id);
    out
}

/// The rows of catalog `name`.
fn rows(
    name: &str,
    manifest: &Manifest,
    stats: Option<&Statistics>,
    path: &crate::schemas::SearchPath,
) -> Vec<Vec<Datum>> {
    let b = Datum::Boolean;
    match name {
        "svv_table_info" => table_info_rows(manifest, stats),
        n if crate::external::views::VIEWS.contains(&n) => {
            crate::external::views::rows(n, manifest)
        }
        // The one table access method, PostgreSQL's heap (every table's relam).
        "pg_am" => std::iter::once(vec![
            int(HEAP_AM_OID),
            text("heap"),
            text("heap_tableam_handler"),
            text("t"),
        ])
        .chain(
            crate::views::indexes::ACCESS_METHODS
                .iter()
                .map(|(name, oid)| {
                    vec![
                        int(*oid),
                        text(name),
                        text(&format!("{name}handler")),
                        text("i"),
                    ]
                }),
        )
        .collect(),
        "pg_indexes" => index_rows(manifest)
            .into_iter()
            .map(|(i, t)| {
                vec![
                    text(&i.schema),
                    text(&t.def.name),
                    text(&i.name),
                    Datum::Null,
                    text(&crate::views::indexes::index_definition(i, &t.def.name)),
                ]
            })
            .collect(),
        "pg_index" => index_rows(manifest)
            .into_iter()
            .map(|(i, t)| {
                let column = |c: &basalt_storage::IndexColumn| {
                    t.def.column_index(&c.name).map(|p| (p, &t.def.columns[p]))
                };
                let keys = i
                    .columns
                    .iter()
                    .map(|c| Datum::Int(column(c).map_or(0, |(p, _)| p as i64 + 1)))
                    .collect();
                // The operator class of each key: the method's default one for its type.
                let classes = i
                    .columns
                    .iter()
                    .map(|c| {
                        Datum::Int(column(c).map_or(0, |(_, col)| {
                            crate::views::indexes::default_opclass(&i.method, col.ty)
                        }))
                    })
                    .collect();
                // A string key's collation (PostgreSQL's "default", 100), else none.
                let collations = i
                    .columns
                    .iter()
                    .map(|c| {
                        let text = column(c).is_some_and(|(_, col)| {
                            matches!(
                                col.ty,
                                SqlType::Char { .. } | SqlType::Varchar { .. } | SqlType::Text
                            )
                        });
                        Datum::Int(if text { 100 } else { 0 })
                    })
                    .collect();
                // indoption bits: 1 DESC, 2 NULLS FIRST.
                let options = i
                    .columns
                    .iter()
                    .map(|c| {
                        let nulls_first = c.nulls_first.unwrap_or(c.descending);
                        Datum::Int(i64::from(
                            u8::from(c.descending) | (u8::from(nulls_first) << 1),
                        ))
                    })
                    .collect();
                let n = i.columns.len() as i64;
                let primary = manifest
                    .objects
                    .constraint_of_index(i.id)
                    .is_some_and(|c| c.kind == ConstraintKind::PrimaryKey);
                vec![
                    int(i64::try_from(i.id).unwrap_or(i64::MAX)),
                    int(i64::try_from(t.id).unwrap_or(i64::MAX)),
                    int(n),
                    int(n),
                    b(i.unique),
                    b(false),
                    b(primary),
                    b(false),
                    b(true),
                    b(false),
                    b(true),
                    b(false),
                    b(true),
                    b(true),
                    b(false),
                    Datum::Array(collations),
                    Datum::Array(classes),
                    Datum::Array(keys),
                    Datum::Array(options),
                    Datum::Null,
                    Datum::Null,
                ]
            })
            .collect(),
        "pg_opclass" => crate::views::indexes::OPERATOR_CLASSES
            .iter()
            .map(|c| {
                vec![
                    int(c.oid),
                    int(c.method),
                    text(c.name),
                    int(PG_CATALOG_OID),
                    int(OWNER_OID),
                    int(c.family),
                    int(c.input_type),
                    b(c.default),
                    int(c.key_type),
                ]
            })
            .collect(),
        "pg_namespace" => namespaces(manifest, &path.temp)
            .iter()
            .map(|(n, oid, owner)| {
                vec![
                    int(*oid),
                    text(n),
                    int(*owner),
                    acl_datum(schema_acl(manifest, n)),
                ]
            })
            .collect(),
        "pg_class" => relations(manifest)
            .iter()
            .map(|r| {
                vec![
                    int(r.oid),
                    text(r.name),
                    int(schema_oid(manifest, r.schema)),
                    int(0),
                    int(0),
                    int(r.owner),
                    int(if r.view { 0 } else { HEAP_AM_OID }),
                    int(if r.view { 0 } else { r.oid }),
                    int(0),
                    int(0),
                    // Rows as of the last ANALYZE; -1 for a table never analyzed (and for
                    // the catalogs), as PostgreSQL 14 and later.
                    Datum::Float(if r.view || r.rows < 0.0 {
                        -1.0
                    } else {
                        stats
                            .and_then(|s| s.get(u64::try_from(r.oid).unwrap_or(0)))
                            .map_or(-1.0, |s| s.rows as f64)
                    }),
                    int(0),
                    int(0),
                    b(manifest
                        .objects
                        .indexes
                        .iter()
                        .any(|i| i64::try_from(i.table) == Ok(r.oid))),
                    b(false),
                    text("p"),
                    text(if r.view { "v" } else { "r" }),
                    int(r.columns.len() as i64),
                    int(0),
                    b(r.view),
                    // Basalt has no triggers. (PostgreSQL's foreign keys are triggers on both
                    // tables, and psql lists foreign keys only where relhastriggers is set; its
                    // trigger query then needs a correlated subquery with LIMIT, which Basalt
                    // cannot run yet, so foreign keys do not set it.)
                    b(false),
                    b(false),
                    b(false),
                    b(false),
                    b(true),
                    text(if r.view { "n" } else { "d" }),
                    b(false),
                    int(0),
                    u64::try_from(r.oid)
                        .ok()
                        .filter(|id| *id >= basalt_storage::TABLE_ID_MIN)
                        .and_then(|id| {
                            crate::security::acl_items(
                                &manifest.security,
                                &basalt_storage::security::GrantObject::Table(id),
                            )
                        })
                        .map_or(Datum::Null, |a| acl_datum(Some(a))),
                    Datum::Null,
                    Datum::Null,
                ]
            })
            .chain(index_rows(manifest).into_iter().map(|(i, t)| {
                let am = crate::views::indexes::ACCESS_METHODS
                    .iter()
                    .find(|(m, _)| *m == i.method)
                    .map_or(0, |(_, oid)| *oid);
                let oid = i64::try_from(i.id).unwrap_or(i64::MAX);
                vec![
                    int(oid),
                    text(&i.name),
                    int(schema_oid(manifest, &i.schema)),
                    int(0),
                    int(0),
                    int(i64::from(crate::security::table_owner(t))),
                    int(am),
                    int(oid),
                    int(0),
                    // An index holds no entries: one page, as an empty PostgreSQL B-tree's
                    // metapage.
                    int(1),
                    Datum::Float(0.0),
                    int(0),
                    int(0),
                    b(false),
                    b(false),
                    text("p"),
                    text("i"),
                    int(i.columns.len() as i64),
                    int(0),
                    b(false),
                    b(false),
                    b(false),
                    b(false),
                    b(false),
                    b(true),
                    text("n"),
                    b(false),
                    int(0),
                    Datum::Null,
                    Datum::Null,
                    Datum::Null,
                ]
            }))
            .collect(),
        "pg_collation" => vec![
            vec![
                int(100),
                text("default"),
                int(PG_CATALOG_OID),
                int(OWNER_OID),
                text("d"),
                b(true),
                int(-1),
                Datum::Null,
                Datum::Null,
            ],
            vec![
                int(950),
                text("C"),
                int(PG_CATALOG_OID),
                int(OWNER_OID),
                text("c"),
                b(true),
                int(-1),
                text("C"),
                text("C"),
            ],
            vec![
                int(951),
                text("POSIX"),
                int(PG_CATALOG_OID),
                int(OWNER_OID),
                text("c"),
                b(true),
                int(-1),
                text("POSIX"),
                text("POSIX"),
            ],
            vec![
                int(962),
                text("ucs_basic"),
                int(PG_CATALOG_OID),
                int(OWNER_OID),
                text("c"),
                b(true),
                int(6),
                text("C"),
                text("C"),
            ],
        ],
        "pg_attrdef" => {
            let mut out = Vec::new();
            for t in &manifest.tables {
                for i in 0..t.def.columns.len() {
                    if let Some(sql) = default_sql(manifest, t.id as i64, i) {
                        // Its OID: the table's id in the high bits, the column id in the
                        // low ones, unique and above every built-in OID.
                        let oid = ((t.id as i64) << 16) | i64::from(t.def.column_id(i) & 0xffff);
                        out.push(vec![
                            int(oid),
                            int(t.id as i64),
                            int(i as i64 + 1),
                            text(&sql),
                        ]);
                    }
                }
            }
            out
        }
        "pg_attribute" => {
            let mut out = Vec::new();
            for r in relations(manifest) {
                for (i, (col, ty, not_null)) in r.columns.iter().enumerate() {
                    let has_default = default_sql(manifest, r.oid, i).is_some();
                    let (oid, _, len, align) = type_info(*ty);
                    let collation = if ty.is_string() { 100 } else { 0 };
                    out.push(vec![
                        int(r.oid),
                        text(col),
                        int(oid),
                        int(-1),
                        int(len),
                        int(i as i64 + 1),
                        int(0),
                        int(-1),
                        int(typmod(*ty)),
                        b(len > 0),
                        text(align),
                        // PostgreSQL keeps numeric uncompressed-first ("main").
                        text(if len > 0 {
                            "p"
                        } else if oid == 1700 {
                            "m"
                        } else {
                            "x"
                        }),
                        // attcompression: PostgreSQL's zero byte (the default method); a
                        // one-character column would pad it to a space, so NULL, which
                        // clients read as the same empty value.
                        Datum::Null,
                        b(*not_null),
                        b(has_default),
                        b(false),
                        text(""),
                        text(""),
                        b(false),
                        b(true),
                        int(0),
                        int(collation),
                        Datum::Null,
                        Datum::Null,
                        Datum::Null,
                    ]);
                }
            }
            out
        }
        "pg_type" => TYPES
            .iter()
            .map(|(oid, name, len, byval, category, align, collation)| {
                vec![
                    int(*oid),
                    text(name),
                    int(PG_CATALOG_OID),
                    int(OWNER_OID),
                    int(*len),
                    b(*byval),
                    text("b"),
                    text(category),
                    b(matches!(*name, "bool" | "text" | "float8" | "timestamp")),
                    b(true),
                    text(","),
                    int(0),
                    int(ARRAY_TYPES
                        .iter()
                        .find(|(_, a)| a == oid)
                        .map_or(0, |(e, _)| *e)),
                    int(ARRAY_TYPES
                        .iter()
                        .find(|(e, _)| e == oid)
                        .map_or(0, |(_, a)| *a)),
                ]
                .into_iter()
                .chain(type_io_procs(*oid).into_iter().map(int))
                .chain([
                    text(align),
                    text(if *len > 0 {
                        "p"
                    } else if *oid == 1700 {
                        "m"
                    } else {
                        "x"
                    }),
                    b(false),
                    int(0),
                    int(-1),
                    int(0),
                    int(*collation),
                ])
                .collect()
            })
            .collect(),
        "pg_database" => vec![vec![
            int(DATABASE_OID),
            text(DATABASE),
            int(OWNER_OID),
            int(6),
            text("c"),
            b(false),
            b(true),
            int(-1),
            int(0),
            int(0),
            int(DEFAULT_TABLESPACE_OID),
            text("C"),
            text("C"),
            Datum::Null,
            Datum::Null,
            acl_datum(crate::security::acl_items(
                &manifest.security,
                &basalt_storage::security::GrantObject::Database,
            )),
        ]],
        "pg_tables" => relations(manifest)
            .iter()
            .filter(|r| !r.view)
            .map(|r| {
                vec![
                    text(r.schema),
                    text(r.name),
                    text(&crate::security::role_name(
                        &manifest.security,
                        u32::try_from(r.owner).unwrap_or(0),
                    )),
                    Datum::Null,
                    b(false),
                    b(false),
                    b(false),
                    b(false),
                ]
            })
            .collect(),
        "pg_views" => {
            let mut views: Vec<&basalt_storage::ViewDef> = manifest.objects.views.iter().collect();
            views.sort_by_key(|v| v.id);
            views
                .into_iter()
                .map(|v| {
                    let owner = v
                        .owner
                        .unwrap_or(basalt_storage::security::BOOTSTRAP_ROLE_OID);
                    vec![
                        text(&v.schema),
                        text(&v.name),
                        text(&crate::security::role_name(&manifest.security, owner)),
                        text(&v.query),
                    ]
                })
                .collect()
        }
        "views" => {
            let mut views: Vec<&basalt_storage::ViewDef> = manifest.objects.views.iter().collect();
            views.sort_by_key(|v| v.id);
            views
                .into_iter()
                .map(|v| {
                    vec![
                        text(DATABASE),
                        text(&v.schema),
                        text(&v.name),
                        text(&v.query),
                        text("NONE"),
                        text("NO"),
                        text("NO"),
                        text("NO"),
                        text("NO"),
                        text("NO"),
                    ]
                })
                .collect()
        }
        "pg_table_def" => {
            // As Redshift: the user tables of the schemas on the search path.
            let mut tables: Vec<&TableMeta> = manifest
                .tables
                .iter()
                .filter(|t| path.schemas.contains(&t.def.schema))
                .collect();
            tables.sort_by_key(|t| t.id);
            let mut out = Vec::new();
            for t in tables {
                for c in &t.def.columns {
                    out.push(vec![
                        text(&t.def.schema),
                        text(&t.def.name),
                        text(&c.name),
                        text(&c.ty.pg_name()),
                        text(&encoding_name(c.encoding)),
                        b(t.def.dist_key.as_deref() == Some(c.name.as_str())),
                        int(sort_key_position(&t.def.sort_key, &c.name)),
                        b(!c.nullable),
                    ]);
                }
            }
            out
        }
        "schemata" => namespaces(manifest, &path.temp)
            .iter()
            .map(|(n, _, owner)| {
                vec![
                    text(DATABASE),
                    text(n),
                    text(&crate::security::role_name(
                        &manifest.security,
                        u32::try_from(*owner).unwrap_or(0),
                    )),
                    Datum::Null,
                    Datum::Null,
                    Datum::Null,
                    Datum::Null,
                ]
            })
            .collect(),
        "tables" => relations(manifest)
            .iter()
            .map(|r| {
                vec![
                    text(DATABASE),
                    text(r.schema),
                    text(r.name),
                    text(if r.view {
                        "VIEW"
                    } else if basalt_storage::is_temp_schema(r.schema) {
                        "LOCAL TEMPORARY"
                    } else {
                        "BASE TABLE"
                    }),
                    Datum::Null,
                    Datum::Null,
                    Datum::Null,
                    Datum::Null,
                    Datum::Null,
                    text(if r.view { "NO" } else { "YES" }),
                    text("NO"),
                    Datum::Null,
                ]
            })
            .collect(),
        "pg_constraint"
        | "table_constraints"
        | "key_column_usage"
        | "referential_constraints"
        | "constraint_column_usage" => constraint_catalog_rows(name, manifest),
        "columns" => {
            let mut out = Vec::new();
            for r in relations(manifest) {
                for (i, (col, ty, not_null)) in r.columns.iter().enumerate() {
                    let mut row = information_schema_column(&r, i, col, *ty, *not_null);
                    if let (Some(sql), Some(slot)) =
                        (default_sql(manifest, r.oid, i), row.get_mut(5))
                    {
                        *slot = Datum::Text(sql);
                    }
                    out.push(row);
                }
            }
            out
        }
        "pg_description" => descriptions(manifest)
            .into_iter()
            .filter(|d| d.classoid != crate::alter::PG_DATABASE_OID)
            .map(|d| {
                vec![
                    int(d.objoid),
                    int(d.classoid),
                    int(d.objsubid),
                    text(d.description),
                ]
            })
            .collect(),
        // PostgreSQL's two built-in tablespaces; Basalt keeps every file under the data
        // directory, so there are no others.
        "pg_tablespace" => [
            (DEFAULT_TABLESPACE_OID, "pg_default"),
            (GLOBAL_TABLESPACE_OID, "pg_global"),
        ]
        .into_iter()
        .map(|(oid, name)| {
            vec![
                int(oid),
                text(name),
                int(OWNER_OID),
                Datum::Null,
                Datum::Null,
            ]
        })
        .collect(),
        "pg_proc" => procs::procs()
            .map(|p| {
                let sql = p.language == SQL_LANGUAGE_OID;
                let set = p.set_returning;
                let outputs = |f: &dyn Fn(&(&str, i64)) -> Datum| match set {
                    Some(s) => Datum::Array(s.outputs.iter().map(f).collect()),
                    None => Datum::Null,
                };
                vec![
                    int(p.oid),
                    text(p.name),
                    int(PG_CATALOG_OID),
                    int(OWNER_OID),
                    int(p.language),
                    Datum::Float(match set {
                        Some(s) => s.cost,
                        None if sql => 100.0,
                        None => 1.0,
                    }),
                    Datum::Float(set.map_or(0.0, |s| s.rows)),
                    int(0),
                    int(0),
                    text(&p.kind.to_string()),
                    Datum::Boolean(false),
                    Datum::Boolean(false),
                    Datum::Boolean(p.strict),
                    Datum::Boolean(set.is_some()),
                    text(&p.volatile.to_string()),
                    text(&p.parallel.to_string()),
                    int(p.args.len() as i64),
                    int(0),
                    int(p.result),
                    Datum::Array(p.args.iter().map(|a| int(*a)).collect()),
                    outputs(&|(_, ty)| int(*ty)),
                    outputs(&|_| text("o")),
                    outputs(&|(name, _)| text(name)),
                    Datum::Null,
                    Datum::Null,
                    text(p.source),
                    Datum::Null,
                    Datum::Null,
                    Datum::Null,
                    Datum::Null,
                ]
            })
            .collect(),
        // The languages of the functions in pg_proc, with PostgreSQL's OIDs and validators.
        "pg_language" => [
            (INTERNAL_LANGUAGE_OID, "internal", 2246),
            (SQL_LANGUAGE_OID, "sql", 2248),
        ]
        .into_iter()
        .map(|(oid, name, validator)| {
            vec![
                int(oid),
                text(name),
                int(OWNER_OID),
                Datum::Boolean(false),
                Datum::Boolean(oid == SQL_LANGUAGE_OID),
                int(0),
                int(0),
                int(validator),
                Datum::Null,
            ]
        })
        .collect(),
        "pg_shdescription" => descriptions(manifest)
            .into_iter()
            .filter(|d| d.classoid == crate::alter::PG_DATABASE_OID)
            .map(|d| vec![int(d.objoid), int(d.classoid), text(d.description)])
            .collect(),
        _ => Vec::new(),
    }
}

/// The DEFAULT of column `i` of table `oid` as PostgreSQL's catalogs show it: a number as
/// written, anything else (and a negative number) quoted with its type, as `'x'::text`.
fn default_sql(manifest: &Manifest, oid: i64, i: usize) -> Option<String> {
    let table = manifest.table_by_id(u64::try_from(oid).ok()?)?;
    let value = table.def.default_value(i).ok()??;
    let ty = table.def.columns.get(i)?.ty;
    let shown = crate::pgtext::format_value(value.as_ref(), 0, ty, crate::pgtext::Zone::UTC)?;
    let bare = match ty {
        SqlType::SmallInt
        | SqlType::Integer
        | SqlType::BigInt
        | SqlType::Decimal { .. }
        | SqlType::Real
        | SqlType::Double => {
            !shown.starts_with('-') && shown.parse::<f64>().is_ok_and(f64::is_finite)
        }
        SqlType::Boolean => {
            return Some(if shown == "t" { "true" } else { "false" }.into());
        }
        _ => false,
    };
    Some(match bare {
        true => shown,
        // PostgreSQL casts a string constant to the type without its length.
        false => {
            let name = match ty {
                SqlType::Varchar { .. } => "character varying".to_owned(),
                SqlType::Char { .. } => "bpchar".to_owned(),
                other => other.pg_name(),
            };
            format!("'{}'::{name}", shown.replace('\'', "''"))
        }
    })
}

/// Every constraint with its table, in id order.
fn constraint_list(manifest: &Manifest) -> Vec<(&ConstraintDef, &TableMeta)> {
    let mut out: Vec<_> = manifest
        .objects
        .constraints
        .iter()
        .filter_map(|c| manifest.table_by_id(c.table).map(|t| (c, t)))
        .collect();
    out.sort_by_key(|(c, _)| c.id);
    out
}

/// The key constraint of table `table` whose columns are `columns` in any order: the one a
/// foreign key referencing them depends on (the primary key first, as PostgreSQL picks).
fn referenced_key<'a>(
    manifest: &'a Manifest,
    table: u64,
    columns: &[String],
) -> Option<&'a ConstraintDef> {
    let mut keys: Vec<&ConstraintDef> = manifest
        .objects
        .constraints_of(table)
        .filter(|k| {
            k.kind != ConstraintKind::ForeignKey
                && k.columns.len() == columns.len()
                && columns.iter().all(|c| k.columns.contains(c))
        })
        .collect();
    keys.sort_by_key(|k| (k.kind != ConstraintKind::PrimaryKey, k.id));
    keys.first().copied()
}

/// A column's attribute number (1-based), 0 if it is not there.
fn attnum(t: &TableMeta, column: &str) -> i64 {
    t.def.column_index(column).map_or(0, |i| i as i64 + 1)
}

fn referential_action(a: char) -> &'static str {
    match a {
        'r' => "RESTRICT",
        'c' => "CASCADE",
        'n' => "SET NULL",
        'd' => "SET DEFAULT",
        _ => "NO ACTION",
    }
}

/// The rows of `pg_constraint` and of the information_schema views over it.
fn constraint_catalog_rows(name: &str, manifest: &Manifest) -> Vec<Vec<Datum>> {
    let b = Datum::Boolean;
    let oid = |id: u64| int(i64::try_from(id).unwrap_or(i64::MAX));
    let attnums = |t: &TableMeta, columns: &[String]| {
        Datum::Array(columns.iter().map(|c| Datum::Int(attnum(t, c))).collect())
    };
    let mut out = Vec::new();
    for (c, t) in constraint_list(manifest) {
        let target = c
            .references
            .as_ref()
            .and_then(|r| manifest.table_by_id(r.table).map(|m| (r, m)));
        let key = target.and_then(|(r, m)| referenced_key(manifest, m.id, &r.columns));
        let schema = &t.def.schema;
        match name {
            "pg_constraint" => out.push(vec![
                oid(c.id),
                text(&c.name),
                int(schema_oid(manifest, schema)),
                text(&c.kind.letter().to_string()),
                b(false),
                b(false),
                b(true),
                oid(t.id),
                int(0),
                // A foreign key's conindid is the referenced key's index, as PostgreSQL's.
                c.index
                    .or_else(|| key.and_then(|k| k.index))
                    .map_or(int(0), oid),
                int(0),
                target.map_or(int(0), |(_, m)| oid(m.id)),
                text(&target.map_or(' ', |(r, _)| r.on_update).to_string()),
                text(&target.map_or(' ', |(r, _)| r.on_delete).to_string()),
                text(if target.is_some() { "s" } else { " " }),
                b(true),
                int(0),
                b(true),
                attnums(t, &c.columns),
                target.map_or(Datum::Null, |(r, m)| attnums(m, &r.columns)),
                Datum::Null,
            ]),
            "table_constraints" => out.push(vec![
                text(DATABASE),
                text(schema),
                text(&c.name),
                text(DATABASE),
                text(schema),
                text(&t.def.name),
                text(match c.kind {
                    ConstraintKind::PrimaryKey => "PRIMARY KEY",
                    ConstraintKind::Unique => "UNIQUE",
                    ConstraintKind::ForeignKey => "FOREIGN KEY",
                }),
                text("NO"),
                text("NO"),
                text("YES"),
                if c.kind == ConstraintKind::Unique {
                    text("YES")
                } else {
                    Datum::Null
                },
            ]),
            "key_column_usage" => {
                for (i, column) in c.columns.iter().enumerate() {
                    // Where the referenced column stands in the referenced key.
                    let in_unique = target.and_then(|(r, _)| {
                        let referenced = r.columns.get(i)?;
                        let k = key?;
                        k.columns.iter().position(|x| x == referenced)
                    });
                    out.push(vec![
                        text(DATABASE),
                        text(schema),
                        text(&c.name),
                        text(DATABASE),
                        text(schema),
                        text(&t.def.name),
                        text(column),
                        int(i as i64 + 1),
                        opt_int(in_unique.map(|p| p as i64 + 1)),
                    ]);
                }
            }
            "referential_constraints" => {
                if let Some((r, m)) = target {
                    out.push(vec![
                        text(DATABASE),
                        text(schema),
                        text(&c.name),
                        key.map_or(Datum::Null, |_| text(DATABASE)),
                        key.map_or(Datum::Null, |_| text(&m.def.schema)),
                        key.map_or(Datum::Null, |k| text(&k.name)),
                        text("NONE"),
                        text(referential_action(r.on_update)),
                        text(referential_action(r.on_delete)),
                    ]);
                }
            }
            // The columns a constraint uses: its own for a key, the referenced ones for a
            // foreign key.
            _ => {
                let (table, columns) = match target {
                    Some((r, m)) => (m, &r.columns),
                    None => (t, &c.columns),
                };
                let mut columns: Vec<&String> = columns.iter().collect();
                columns.sort_by_key(|n| attnum(table, n));
                for column in columns {
                    out.push(vec![
                        text(DATABASE),
                        text(&table.def.schema),
                        text(&table.def.name),
                        text(column),
                        text(DATABASE),
                        text(schema),
                        text(&c.name),
                    ]);
                }
            }
        }
    }
    if name == "table_constraints" {
        // PostgreSQL 15 lists each NOT NULL column as a CHECK constraint named
        // `<schema oid>_<table oid>_<attnum>_not_null`.
        let mut tables: Vec<&TableMeta> = manifest.tables.iter().collect();
        tables.sort_by_key(|t| t.id);
        for t in tables {
            for (i, col) in t.def.columns.iter().enumerate() {
                if col.nullable {
                    continue;
                }
                out.push(vec![
                    text(DATABASE),
                    text(&t.def.schema),
                    text(&format!(
                        "{}_{}_{}_not_null",
                        schema_oid(manifest, &t.def.schema),
                        t.id,
                        i + 1
                    )),
                    text(DATABASE),
                    text(&t.def.schema),
                    text(&t.def.name),
                    text("CHECK"),
                    text("NO"),
                    text("NO"),
                    text("YES"),
                    Datum::Null,
                ]);
            }
        }
    }
    out
}

fn information_schema_column(
    r: &Relation<'_>,
    i: usize,
    col: &str,
    ty: SqlType,
    not_null: bool,
) -> Vec<Datum> {
    let (_, udt, _, _) = type_info(ty);
    let data_type = crate::types::display_name(ty);
    let (char_len, octet_len) = match ty {
        SqlType::Char { length } | SqlType::Varchar { length } => (
            Some(i64::from(length)),
            Some(i64::from(length).saturating_mul(4)),
        ),
        SqlType::Text => (None, Some(1_073_741_824)),
        _ => (None, None),
    };
    let (precision, radix, scale) = match ty {
        SqlType::SmallInt => (Some(16), Some(2), Some(0)),
        SqlType::Integer => (Some(32), Some(2), Some(0)),
        SqlType::BigInt => (Some(64), Some(2), Some(0)),
        SqlType::Real => (Some(24), Some(2), None),
        SqlType::Double => (Some(53), Some(2), None),
        SqlType::Decimal { precision, scale } => {
            (Some(i64::from(precision)), Some(10), Some(i64::from(scale)))
        }
        _ => (None, None, None),
    };
    let datetime = match ty {
        SqlType::Date => Some(0),
        SqlType::Timestamp => Some(6),
        _ => None,
    };
    let null = || Datum::Null;
    vec![
        text(DATABASE),
        text(r.schema),
        text(r.name),
        text(col),
        int(i as i64 + 1),
        null(),
        text(if not_null { "NO" } else { "YES" }),
        text(&data_type),
        opt_int(char_len),
        opt_int(octet_len),
        opt_int(precision),
        opt_int(radix),
        opt_int(scale),
        opt_int(datetime),
        null(),
        null(),
        null(),
        null(),
        null(),
        null(),
        null(),
        null(),
        null(),
        null(),
        null(),
        text(DATABASE),
        text("pg_catalog"),
        text(udt),
        text("NO"),
        text("NEVER"),
        text(if r.view { "NO" } else { "YES" }),
    ]
}

/// The catalog a FROM item names, if it names one: `pg_catalog.x` or unqualified `x` for the
/// `pg_catalog` ones (which come first on every search path), `information_schema.x` for those.
/// A name in either catalog schema that is no catalog does not exist.
fn find(name: &ast::ObjectName) -> Result<Option<&'static Catalog>> {
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|p| p.as_ident().map(normalize_ident).unwrap_or_default())
        .collect();
    let (schema, table, qualified) = match parts.as_slice() {
        [t] => ("pg_catalog", t.as_str(), false),
        [s, t] => (s.as_str(), t.as_str(), true),
        [d, s, t] if d == DATABASE => (s.as_str(), t.as_str(), true),
        _ => return Ok(None),
    };
    let found = CATALOGS
        .iter()
        .find(|c| c.schema == schema && c.name == table);
    if found.is_none() && qualified && SCHEMAS.iter().any(|(s, _)| *s == schema && *s != "public") {
        return Err(Error::UndefinedTable {
            name: format!("{schema}.{table}"),
            position: None,
        });
    }
    Ok(found)
}

/// The system catalog `name` names, if any, as its name and whether it is a view: a name
/// in `pg_catalog` (unqualified names look there first) or `information_schema`. A
/// qualified name in a catalog schema that names no catalog is 42P01.
pub(crate) fn system_relation(name: &ast::ObjectName) -> Result<Option<(&'static str, bool)>> {
    Ok(find(name)?.map(|c| (c.name, c.view)))
}

/// A catalog named in FROM, as a plan of constant rows and the scope of its columns; `None`
/// when `name` is not a catalog.
/// STV_WLM_QUERY_STATE: the statements running or waiting for a slot, as Redshift shows them
/// (one queue, service class 6, one slot each; times in microseconds), with the user and the
/// statement's text (its first 4,000 characters, as Redshift's `querytxt`).
fn wlm_rows(queue: &crate::wlm::Queue) -> Vec<Vec<Datum>> {
    let micros = |d: std::time::Duration| int(i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
    queue
        .queries()
        .into_iter()
        .map(|q| {
            let start = q
                .queued_at
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
                .unwrap_or(0);
            vec![
                int(i64::try_from(q.query).unwrap_or(i64::MAX)),
                int(6),
                int(1),
                Datum::Timestamp(start),
                text(if q.running {
                    "Running"
                } else {
                    "QueuedWaiting"
                }),
                micros(q.queue_time),
                micros(q.exec_time),
                text(&q.user),
                text(&q.text.chars().take(4000).collect::<String>()),
            ]
        })
        .collect()
}

/// The rows of `pg_stat_activity`, STV_SESSIONS or STV_RECENTS (`name`) from the open
/// sessions. As in PostgreSQL, a role that is not a superuser sees what other roles' sessions
/// run as `<insufficient privilege>`; Redshift's STV_SESSIONS and STV_RECENTS show it only its
/// own sessions.
fn activity_rows(
    name: &str,
    manifest: &Manifest,
    session: &crate::security::SessionInfo,
) -> Vec<Vec<Datum>> {
    let sees =
        |a: &crate::sessions::Activity| session.actor.superuser || a.usesysid == session.actor.oid;
    let now = crate::query_log::now_micros();
    let all = session.sessions.snapshot();
    match name {
        "pg_stat_activity" => all
            .iter()
            .map(|a| {
                let usename = text(&crate::security::role_name(&manifest.security, a.usesysid));
                let head = [
                    int(DATABASE_OID),
                    text(DATABASE),
                    int(i64::from(a.pid)),
                    Datum::Null,
                    int(i64::from(a.usesysid)),
                    usename,
                    text(&a.application_name),
                ];
                let tail = if sees(a) {
                    [
                        Datum::Timestamptz(a.backend_start),
                        a.xact_start.map_or(Datum::Null, Datum::Timestamptz),
                        a.query_start.map_or(Datum::Null, Datum::Timestamptz),
                        Datum::Timestamptz(a.state_change),
                        text(a.state),
                        Datum::Null,
                        text(&a.query),
                        text("client backend"),
                    ]
                } else {
                    [
                        Datum::Null,
                        Datum::Null,
                        Datum::Null,
                        Datum::Null,
                        Datum::Null,
                        Datum::Null,
                        text("<insufficient privilege>"),
                        Datum::Null,
                    ]
                };
                head.into_iter().chain(tail).collect()
            })
            .collect(),
        "stv_sessions" => all
            .iter()
            .filter(|a| sees(a))
            .map(|a| {
                vec![
                    Datum::Timestamp(a.backend_start),
                    int(i64::from(a.pid)),
                    text(&a.user),
                    text(DATABASE),
                ]
            })
            .collect(),
        _ => all
            .iter()
            .filter(|a| sees(a))
            .filter_map(|a| {
                let start = a.query_start?;
                let running = a.state == "active";
                let end = if running { now } else { a.state_change };
                Some(vec![
                    int(i64::from(a.usesysid)),
                    text(if running { "Running" } else { "Done" }),
                    Datum::Timestamp(start),
                    int(end.saturating_sub(start).max(0)),
                    text(&a.user),
                    text(DATABASE),
                    text(&a.query),
                    int(i64::from(a.pid)),
                ])
            })
            .collect(),
    }
}

/// SYS_QUERY_HISTORY's rows from STL_QUERY's (`query_log::COLUMNS` order).
fn query_history_rows(log: Vec<Vec<Datum>>) -> Vec<Vec<Datum>> {
    log.into_iter()
        .filter_map(|row| {
            let [userid, query, label, xid, pid, database, querytxt, start, end, aborted] =
                <[Datum; 10]>::try_from(row).ok()?;
            let elapsed = match (&start, &end) {
                (Datum::Timestamp(s), Datum::Timestamp(e)) => int(e.saturating_sub(*s)),
                _ => Datum::Null,
            };
            let status = if matches!(aborted, Datum::Int(1)) {
                "failed"
            } else {
                "success"
            };
            let query_type = match &querytxt {
                Datum::Text(t) => query_type(t),
                _ => "UTILITY",
            };
            Some(vec![
                userid,
                query,
                label,
                xid,
                pid,
                database,
                text(query_type),
                text(status),
                start,
                end,
                elapsed,
                querytxt,
            ])
        })
        .collect()
}

/// SYS_QUERY_HISTORY.query_type of a logged statement, from its first keyword: SELECT,
/// INSERT, UPDATE, DELETE, COPY, UNLOAD, or CTAS for CREATE TABLE AS (the only CREATE that
/// STL_QUERY logs).
fn query_type(sql: &str) -> &'static str {
    let first: String = sql
        .trim_start_matches(|c: char| c.is_whitespace() || c == '(')
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<String>()
        .to_ascii_uppercase();
    match first.as_str() {
        "SELECT" | "WITH" | "VALUES" | "TABLE" => "SELECT",
        "INSERT" => "INSERT",
        "UPDATE" => "UPDATE",
        "DELETE" => "DELETE",
        "COPY" => "COPY",
        "UNLOAD" => "UNLOAD",
        "CREATE" => "CTAS",
        _ => "UTILITY",
    }
}

/// Whether `schema` is one of the built-in catalog schemas, which SVV_TABLES leaves out.
fn is_catalog_schema(schema: &str) -> bool {
    matches!(schema, "pg_catalog" | "information_schema")
}

/// The comment of relation `oid` (`column` 0) or of its column number `column`.
fn relation_comment<'a>(descriptions: &[Description<'a>], oid: i64, column: i64) -> Datum {
    descriptions
        .iter()
        .find(|d| {
            d.classoid == crate::alter::PG_CLASS_OID && d.objoid == oid && d.objsubid == column
        })
        .map_or(Datum::Null, |d| text(d.description))
}

/// SVV_TABLES: the tables (`BASE TABLE`, `LOCAL TEMPORARY`) and views of the user schemas,
/// then the external tables (`EXTERNAL TABLE`), each with its comment as `remarks`.
fn svv_table_rows(manifest: &Manifest) -> Vec<Vec<Datum>> {
    let descriptions = descriptions(manifest);
    let mut out: Vec<Vec<Datum>> = relations(manifest)
        .iter()
        .filter(|r| !is_catalog_schema(r.schema))
        .map(|r| {
            let kind = if r.view {
                "VIEW"
            } else if basalt_storage::is_temp_schema(r.schema) {
                "LOCAL TEMPORARY"
            } else {
                "BASE TABLE"
            };
            vec![
                text(DATABASE),
                text(r.schema),
                text(r.name),
                text(kind),
                relation_comment(&descriptions, r.oid, 0),
            ]
        })
        .collect();
    out.extend(manifest.external.tables.iter().map(|t| {
        vec![
            text(DATABASE),
            text(&t.schema),
            text(&t.name),
            text("EXTERNAL TABLE"),
            Datum::Null,
        ]
    }));
    out
}

/// SVV_COLUMNS: the columns of the relations of SVV_TABLES, as `information_schema.columns`
/// describes them, with each column's comment as `remarks`; an external table's partition
/// columns follow its data columns.
fn svv_column_rows(manifest: &Manifest) -> Vec<Vec<Datum>> {
    // information_schema.columns positions of SVV_COLUMNS' columns before `remarks`.
    const PICK: [usize; 22] = [
        0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 24,
    ];
    let descriptions = descriptions(manifest);
    let pick = |row: Vec<Datum>, remarks: Datum| -> Vec<Datum> {
        PICK.iter()
            .map(|i| row.get(*i).cloned().unwrap_or(Datum::Null))
            .chain(std::iter::once(remarks))
            .collect()
    };
    let mut out = Vec::new();
    for r in relations(manifest) {
        if is_catalog_schema(r.schema) {
            continue;
        }
        for (i, (col, ty, not_null)) in r.columns.iter().enumerate() {
            let mut row = information_schema_column(&r, i, col, *ty, *not_null);
            if let (Some(sql), Some(slot)) = (default_sql(manifest, r.oid, i), row.get_mut(5)) {
                *slot = Datum::Text(sql);
            }
            let remarks = relation_comment(&descriptions, r.oid, i as i64 + 1);
            out.push(pick(row, remarks));
        }
    }
    for t in &manifest.external.tables {
        let relation = Relation {
            oid: 0,
            schema: &t.schema,
            name: &t.name,
            view: false,
            rows: 0.0,
            columns: Vec::new(),
            owner: OWNER_OID,
        };
        let columns = t.columns.iter().chain(&t.partition_columns);
        for (i, c) in columns.enumerate() {
            let row = information_schema_column(&relation, i, &c.name, c.ty, false);
            out.push(pick(row, Datum::Null));
        }
    }
    out
}

pub(crate) fn relation(
    manifest: &Manifest,
    store: Option<&Store>,
    name: &ast::ObjectName,
    alias: Option<&ast::TableAlias>,
    load_errors: Option<&crate::copy::load_errors::LoadErrorLog>,
    queue: Option<&crate::wlm::Queue>,
    session: Option<&crate::security::SessionInfo>,
) -> Result<Option<(Plan, Scope)>> {
    let Some(catalog) = find(name)? else {
        return Ok(None);
    };
    let public_only;
    let path = match session {
        Some(s) => &s.path,
        None => {
            public_only = crate::schemas::SearchPath::public_only();
            &public_only
        }
    };
    // Other sessions' temporary tables are never shown.
    let visible = crate::schemas::without_foreign_temp(manifest, &path.temp);
    let manifest: &Manifest = &visible;
    // The catalogs holding password hashes are for superusers, as in PostgreSQL.
    if matches!(catalog.name, "pg_shadow" | "pg_authid")
        && !session.is_none_or(|s| s.actor.superuser)
    {
        let kind = if catalog.view { "view" } else { "table" };
        return Err(Error::InsufficientPrivilege {
            message: format!("permission denied for {kind} {}", catalog.name),
        });
    }
    let types: Vec<SqlType> = catalog.columns.iter().map(|(_, t)| *t).collect();
    let data = match (catalog.name, store) {
        ("stl_load_errors", _) => load_errors.map(|l| l.rows()).unwrap_or_default(),
        ("stl_query", _) => session
            .map(|s| s.queries.rows(s.actor.oid, s.actor.superuser))
            .unwrap_or_default(),
        ("stv_wlm_query_state", _) => queue.map(wlm_rows).unwrap_or_default(),
        ("pg_stat_activity" | "stv_sessions" | "stv_recents", _) => session
            .map(|s| activity_rows(catalog.name, manifest, s))
            .unwrap_or_default(),
        ("sys_query_history", _) => session
            .map(|s| query_history_rows(s.queries.rows(s.actor.oid, s.actor.superuser)))
            .unwrap_or_default(),
        ("svv_tables", _) => svv_table_rows(manifest),
        ("svv_columns", _) => svv_column_rows(manifest),
        // The session's own open cursors, as in PostgreSQL.
        ("pg_cursors", _) => session.map(|s| s.cursors.clone()).unwrap_or_default(),
        ("pg_settings", _) => session.map(|s| s.settings.clone()).unwrap_or_default(),
        ("stv_blocklist", Some(store)) => block_rows(manifest, store)?,
        ("stv_blocklist", None) => Vec::new(),
        ("table_privileges", _) => table_privilege_rows(manifest, session),
        ("pg_stats", Some(store)) => stats_rows(manifest, store.statistics(), session),
        ("pg_stats", None) => Vec::new(),
        (name, _) => match role_rows(name, &manifest.security) {
            Some(rows) => rows,
            None => rows(name, manifest, store.map(Store::statistics), path),
        },
    };
    let rows: Vec<Vec<Expr>> = data
        .into_iter()
        .map(|row| {
            row.into_iter()
                .zip(&types)
                .map(|(value, ty)| Expr::literal(value, *ty))
                .collect()
        })
        .collect();
    let relation = alias.map_or_else(|| catalog.name.to_owned(), |a| normalize_ident(&a.name));
    let renames: Vec<String> = alias
        .map(|a| a.columns.iter().map(|c| normalize_ident(&c.name)).collect())
        .unwrap_or_default();
    let scope = Scope {
        columns: catalog
            .columns
            .iter()
            .enumerate()
            .map(|(i, (name, ty))| ScopeColumn {
                relation: Some(relation.clone()),
                name: renames
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| (*name).to_owned()),
                ty: *ty,
                origin: u64::try_from(catalog.oid)
                    .ok()
                    .and_then(|oid| crate::ColumnOrigin::of_table(oid, i)),
            })
            .collect(),
        ..Default::default()
    };
    Ok(Some((Plan::Values { rows, types }, scope)))
}

/// A text NULL, what the catalog functions give for an OID that names nothing.
fn null_text() -> Expr {
    Expr::literal(Datum::Null, SqlType::Text)
}

/// The catalog lookup of OID `arg` among `entries` (OID, result): the result of the matching
/// OID, or `otherwise` for any other (and for NULL).
/// One comment as `pg_description` (or, for the database, `pg_shdescription`) shows it.
struct Description<'a> {
    objoid: i64,
    classoid: i64,
    /// The column's number for a column comment, else 0.
    objsubid: i64,
    description: &'a str,
}

/// The comments of objects that exist, with the catalog each object is in; a comment on a
/// column is numbered by the column's position. The functions of `pg_proc` have PostgreSQL's
/// descriptions unless a comment replaced them (an empty one removed the description).
fn descriptions(manifest: &Manifest) -> Vec<Description<'_>> {
    use crate::alter::{
        PG_CLASS_OID, PG_CONSTRAINT_OID, PG_DATABASE_OID, PG_NAMESPACE_OID, PG_PROC_OID,
    };
    let objects = &manifest.objects;
    let schemas = SCHEMA_DESCRIPTIONS
        .iter()
        .map(|(oid, d)| (*oid, PG_NAMESPACE_OID, *d));
    let functions = procs::procs().filter_map(|p| Some((p.oid, PG_PROC_OID, p.description?)));
    let built_in = schemas
        .chain(functions)
        .filter_map(|(objoid, classoid, d)| {
            let description = objects.comment(objoid.unsigned_abs(), None).unwrap_or(d);
            (!description.is_empty()).then_some(Description {
                objoid,
                classoid,
                objsubid: 0,
                description,
            })
        });
    objects
        .comments
        .iter()
        .filter(|c| c.column.is_some() || built_in_description(c.object).is_none())
        .filter_map(|c| {
            let id = c.object;
            let columns: Option<Vec<&str>> = if let Some(t) = manifest.table_by_id(id) {
                Some(t.def.columns.iter().map(|c| c.name.as_str()).collect())
            } else {
                objects
                    .view_by_id(id)
                    .map(|v| v.columns.iter().map(|c| c.name.as_str()).collect())
            };
            let (classoid, objsubid) = match (&c.column, columns) {
                (Some(column), Some(columns)) => {
                    let at = columns.iter().position(|n| n == column)?;
                    (PG_CLASS_OID, i64::try_from(at).ok()? + 1)
                }
                (Some(_), None) => return None,
                (None, Some(_)) => (PG_CLASS_OID, 0),
                (None, None) => {
                    let oid = i64::try_from(id).ok()?;
                    if oid == DATABASE_OID {
                        (PG_DATABASE_OID, 0)
                    } else if oid == PUBLIC_OID || objects.schemas.iter().any(|s| s.id == id) {
                        (PG_NAMESPACE_OID, 0)
                    } else if objects.indexes.iter().any(|i| i.id == id) {
                        (PG_CLASS_OID, 0)
                    } else if objects.constraints.iter().any(|k| k.id == id) {
                        (PG_CONSTRAINT_OID, 0)
                    } else {
                        return None;
                    }
                }
            };
            Some(Description {
                objoid: i64::try_from(id).ok()?,
                classoid,
                objsubid,
                description: &c.text,
            })
        })
        .chain(built_in)
        .collect()
}

/// PostgreSQL 15's descriptions of the built-in schemas Basalt has (`pg_toast`, the third,
/// it has not).
const SCHEMA_DESCRIPTIONS: &[(i64, &str)] = &[
    (PG_CATALOG_OID, "system catalog schema"),
    (PUBLIC_OID, "standard public schema"),
];

/// The description PostgreSQL gives built-in object `object` (a schema of
/// `SCHEMA_DESCRIPTIONS`, a function of `pg_proc`), which a COMMENT replaces; an empty
/// comment then stands for none.
pub(crate) fn built_in_description(object: u64) -> Option<&'static str> {
    let oid = i64::try_from(object).ok()?;
    SCHEMA_DESCRIPTIONS
        .iter()
        .find(|(o, _)| *o == oid)
        .map(|(_, d)| *d)
        .or_else(|| procs::procs().find(|p| p.oid == oid)?.description)
}

/// `pg_namespace.nspacl` of schema `name`: its grants, NULL while a user schema has its
/// defaults. The built-in schemas show theirs spelled out, as PostgreSQL's initdb sets them:
/// the owner's `UC` and PUBLIC's `UC` on `public` (Redshift's default, where PostgreSQL 15
/// gives PUBLIC only `U`), PUBLIC's `U` on `pg_catalog` and `information_schema`.
fn schema_acl(manifest: &Manifest, name: &str) -> Option<Vec<String>> {
    let security = &manifest.security;
    let object = basalt_storage::security::GrantObject::Schema(name.to_owned());
    let own = crate::security::acl_items(security, &object);
    if own.is_some() || !SCHEMAS.iter().any(|(s, _)| *s == name) {
        return own;
    }
    let owner = crate::security::schema_owner(manifest, name);
    Some(
        crate::security::acl(security, &object, owner)
            .iter()
            .map(|g| crate::security::aclitem(security, g))
            .collect(),
    )
}

/// The bytes each table's segments take, by table OID; views and indexes take none.
fn relation_sizes(manifest: &Manifest) -> Vec<(u64, i64)> {
    let tables = manifest.tables.iter().map(|t| {
        let bytes: u64 = t.segments.iter().map(|s| s.bytes).sum();
        (t.id, i64::try_from(bytes).unwrap_or(i64::MAX))
    });
    let views = manifest.objects.views.iter().map(|v| (v.id, 0));
    let indexes = manifest.objects.indexes.iter().map(|i| (i.id, 0));
    tables.chain(views).chain(indexes).collect()
}

fn lit_bigint(v: i64) -> Expr {
    Expr::literal(Datum::Int(v), SqlType::BigInt)
}

fn null_bigint() -> Expr {
    Expr::literal(Datum::Null, SqlType::BigInt)
}

/// The catalog OID a catalog name given to `obj_description` stands for, if it is one that
/// holds comments.
fn description_class(name: &str) -> Option<i64> {
    use crate::alter::{PG_CLASS_OID, PG_CONSTRAINT_OID, PG_DATABASE_OID, PG_NAMESPACE_OID};
    match name.strip_prefix("pg_catalog.").unwrap_or(name) {
        "pg_class" => Some(PG_CLASS_OID),
        "pg_namespace" => Some(PG_NAMESPACE_OID),
        "pg_constraint" => Some(PG_CONSTRAINT_OID),
        "pg_database" => Some(PG_DATABASE_OID),
        "pg_proc" => Some(crate::alter::PG_PROC_OID),
        _ => None,
    }
}

fn oid_lookup(
    binder: &Binder<'_>,
    arg: &Expr,
    entries: impl IntoIterator<Item = (u64, Expr)>,
    otherwise: Expr,
    span: Span,
) -> Result<Expr> {
    let arg = binder.cast(
        binder.coerce_unknown(arg.clone(), SqlType::Integer)?,
        SqlType::Integer,
        false,
        span,
    )?;
    let mut whens = Vec::new();
    for (oid, result) in entries {
        let oid = Expr::literal(
            Datum::Int(i64::try_from(oid).unwrap_or(i64::MAX)),
            SqlType::Integer,
        );
        whens.push((binder.binary(BinaryOp::Eq, arg.clone(), oid, span)?, result));
    }
    if whens.is_empty() {
        return Ok(otherwise);
    }
    let ty = otherwise.ty();
    Ok(Expr::Case {
        whens,
        otherwise: Some(Box::new(otherwise)),
        ty,
    })
}

/// The catalog and session functions clients call: `pg_get_userbyid(oid)` and
/// `pg_table_is_visible(oid)`, bound into expressions over their argument; `current_database()`,
/// `current_schema()`, `current_user` (and `session_user`, `current_role`) and
/// `current_setting(name [, missing_ok])`, constant for the statement. `Err` gives the
/// arguments back when `name` is not one of them.
pub(crate) fn function(
    binder: &Binder<'_>,
    name: &str,
    args: Vec<Expr>,
    span: Span,
) -> Result<std::result::Result<Expr, Vec<Expr>>> {
    let lit_int = |v: i64| Expr::literal(Datum::Int(v), SqlType::Integer);
    let lit_text = |v: &str| Expr::literal(Datum::Text(v.to_owned()), SqlType::Text);
    let lit_bool = |v: bool| Expr::literal(Datum::Boolean(v), SqlType::Boolean);
    match (name, args.as_slice()) {
        // Basalt keeps expressions in catalogs (pg_attrdef.adbin, pg_policy.polqual) as SQL
        // text, so decompiling one is the identity.
        ("pg_get_expr", [expr, _] | [expr, _, _]) => {
            let e = binder.coerce_unknown(expr.clone(), SqlType::Text)?;
            binder.cast(e, SqlType::Text, true, span).map(Ok)
        }
        // No relation is published: Basalt has no logical replication.
        ("pg_relation_is_publishable", [_]) => {
            Ok(Ok(Expr::literal(Datum::Boolean(false), SqlType::Boolean)))
        }
        // The constraint's definition as PostgreSQL prints it (pretty or not, the same for
        // keys and foreign keys); NULL for an OID that is no constraint.
        ("pg_get_constraintdef", [arg] | [arg, _]) => {
            let entries = constraint_list(binder.catalog).into_iter().map(|(c, _)| {
                let def = crate::constraints::constraint_definition(binder.catalog, c);
                (c.id, lit_text(&def))
            });
            oid_lookup(binder, arg, entries, null_text(), span).map(Ok)
        }
        // The comment of an object (COMMENT ON), or NULL. With a catalog name, only an
        // object of that catalog; a name that is no catalog of commented objects finds none.
        // The one-argument form is deprecated in PostgreSQL and looks in every catalog.
        ("obj_description" | "shobj_description", [arg, ..]) if args.len() <= 2 => {
            let class = match args.get(1) {
                None => None,
                Some(Expr::Literal {
                    value: Datum::Text(catalog),
                    ..
                }) => Some(description_class(catalog).unwrap_or(-1)),
                Some(Expr::Literal {
                    value: Datum::Null, ..
                }) => return Ok(Ok(null_text())),
                Some(_) => None,
            };
            let shared = name == "shobj_description";
            let entries: Vec<(u64, Expr)> = descriptions(binder.catalog)
                .into_iter()
                .filter(|d| d.objsubid == 0)
                .filter(|d| (d.classoid == crate::alter::PG_DATABASE_OID) == shared)
                .filter(|d| class.is_none_or(|c| c == d.classoid))
                .map(|d| {
                    (
                        u64::try_from(d.objoid).unwrap_or(0),
                        lit_text(d.description),
                    )
                })
                .collect();
            oid_lookup(binder, arg, entries, null_text(), span).map(Ok)
        }
        // The bytes a relation's segment files take (with its resident rows, not yet in a
        // file, counted as they would be written); a view or an index takes none (Basalt's
        // indexes hold no data). NULL for an OID that is no relation, as in PostgreSQL.
        ("pg_relation_size" | "pg_table_size" | "pg_total_relation_size", [arg, ..])
            if args.len() <= 2 =>
        {
            let sizes = relation_sizes(binder.catalog)
                .into_iter()
                .map(|(oid, bytes)| (oid, lit_bigint(bytes)));
            oid_lookup(binder, arg, sizes, null_bigint(), span).map(Ok)
        }
        ("pg_indexes_size", [arg]) => {
            let sizes = binder.catalog.tables.iter().map(|t| (t.id, lit_bigint(0)));
            oid_lookup(binder, arg, sizes, null_bigint(), span).map(Ok)
        }
        // The database's size: every table's. By name or by OID.
        ("pg_database_size", [arg]) => {
            let total: i64 = relation_sizes(binder.catalog).iter().map(|(_, b)| b).sum();
            if let Expr::Literal {
                value: Datum::Text(name),
                ..
            } = arg
            {
                if name != DATABASE {
                    return Err(Error::UndefinedDatabase { name: name.clone() });
                }
            }
            if matches!(
                arg.ty(),
                SqlType::Text | SqlType::Varchar { .. } | SqlType::Char { .. }
            ) || matches!(arg, Expr::Literal { unknown: true, .. })
            {
                let name = binder.cast(
                    binder.coerce_unknown(arg.clone(), SqlType::Text)?,
                    SqlType::Text,
                    false,
                    span,
                )?;
                let this = binder.binary(BinaryOp::Eq, name, lit_text(DATABASE), span)?;
                return Ok(Ok(Expr::Case {
                    whens: vec![(this, lit_bigint(total))],
                    otherwise: Some(Box::new(null_bigint())),
                    ty: SqlType::BigInt,
                }));
            }
            let entries = [(DATABASE_OID as u64, lit_bigint(total))];
            oid_lookup(binder, arg, entries, null_bigint(), span).map(Ok)
        }
        // The comment of column `column` of relation `relation`, or NULL.
        ("col_description", [relation, column]) => {
            let relation = binder.cast(
                binder.coerce_unknown(relation.clone(), SqlType::Integer)?,
                SqlType::Integer,
                false,
                span,
            )?;
            let column = binder.cast(
                binder.coerce_unknown(column.clone(), SqlType::Integer)?,
                SqlType::Integer,
                false,
                span,
            )?;
            let mut whens = Vec::new();
            for d in descriptions(binder.catalog)
                .into_iter()
                .filter(|d| d.objsubid > 0)
            {
                let this_relation =
                    binder.binary(BinaryOp::Eq, relation.clone(), lit_int(d.objoid), span)?;
                let this_column =
                    binder.binary(BinaryOp::Eq, column.clone(), lit_int(d.objsubid), span)?;
                whens.push((
                    binder.binary(BinaryOp::And, this_relation, this_column, span)?,
                    lit_text(d.description),
                ));
            }
            if whens.is_empty() {
                return Ok(Ok(null_text()));
            }
            Ok(Ok(Expr::Case {
                whens,
                otherwise: Some(Box::new(null_text())),
                ty: SqlType::Text,
            }))
        }
        // Basalt has no sequences (no SERIAL or IDENTITY columns), so no column owns one.
        ("pg_get_serial_sequence", [_, _]) => Ok(Ok(Expr::literal(Datum::Null, SqlType::Text))),
        ("pg_collation_is_visible", [arg]) => {
            // Every collation is in pg_catalog, which is always searched: visible when it
            // exists, NULL for an OID that is no collation (as PostgreSQL answers).
            let collations = rows("pg_collation", binder.catalog, None, &binder.search_path());
            let entries = collations.iter().filter_map(|row| match row.first() {
                Some(Datum::Int(oid)) => Some((
                    u64::try_from(*oid).unwrap_or(0),
                    Expr::literal(Datum::Boolean(true), SqlType::Boolean),
                )),
                _ => None,
            });
            let unknown = Expr::literal(Datum::Null, SqlType::Boolean);
            oid_lookup(binder, arg, entries, unknown, span).map(Ok)
        }
        // No triggers or rules exist (pg_trigger and pg_rewrite are empty).
        ("pg_get_triggerdef" | "pg_get_ruledef", [_] | [_, _]) => {
            Ok(Ok(Expr::literal(Datum::Null, SqlType::Text)))
        }
        ("pg_get_statisticsobjdef_columns", [_]) => {
            Ok(Ok(Expr::literal(Datum::Null, SqlType::Text)))
        }
        ("format_type", [oid, typmod]) => {
            format_type(binder, oid.clone(), typmod.clone(), span).map(Ok)
        }
        ("pg_encoding_to_char", [arg]) => {
            // PostgreSQL's encoding numbers (pg_wchar.h) of the server-side encodings; an
            // unknown number gives an empty string, as PostgreSQL's does.
            const ENCODINGS: [&str; 9] = [
                "SQL_ASCII",
                "EUC_JP",
                "EUC_CN",
                "EUC_KR",
                "EUC_TW",
                "EUC_JIS_2004",
                "UTF8",
                "MULE_INTERNAL",
                "LATIN1",
            ];
            let arg = binder.cast(
                binder.coerce_unknown(arg.clone(), SqlType::Integer)?,
                SqlType::Integer,
                false,
                span,
            )?;
            let mut whens = Vec::with_capacity(ENCODINGS.len());
            for (i, enc) in ENCODINGS.iter().enumerate() {
                let is = binder.binary(BinaryOp::Eq, arg.clone(), lit_int(i as i64), span)?;
                whens.push((is, lit_text(enc)));
            }
            let known = Expr::Case {
                whens,
                otherwise: Some(Box::new(lit_text(""))),
                ty: SqlType::Text,
            };
            // NULL in, NULL out.
            let null = Expr::IsNull {
                expr: Box::new(arg),
                negated: false,
            };
            Ok(Ok(Expr::Case {
                whens: vec![(null, Expr::literal(Datum::Null, SqlType::Text))],
                otherwise: Some(Box::new(known)),
                ty: SqlType::Text,
            }))
        }
        ("pg_get_userbyid", [arg]) => {
            // The bootstrap superuser and every catalog role by OID; any other OID prints as
            // PostgreSQL prints it.
            let arg = binder.cast(
                binder.coerce_unknown(arg.clone(), SqlType::Integer)?,
                SqlType::Integer,
                false,
                span,
            )?;
            let mut whens = vec![(
                binder.binary(BinaryOp::Eq, arg.clone(), lit_int(OWNER_OID), span)?,
                lit_text(OWNER),
            )];
            for role in &binder.catalog.security.roles {
                let is = binder.binary(
                    BinaryOp::Eq,
                    arg.clone(),
                    lit_int(i64::from(role.oid)),
                    span,
                )?;
                whens.push((is, lit_text(&role.name)));
            }
            let shown = binder.cast(arg, SqlType::Text, true, span)?;
            let unknown = binder.binary(
                BinaryOp::Concat,
                binder.binary(BinaryOp::Concat, lit_text("unknown (OID="), shown, span)?,
                lit_text(")"),
                span,
            )?;
            Ok(Ok(Expr::Case {
                whens,
                otherwise: Some(Box::new(unknown)),
                ty: SqlType::Text,
            }))
        }
        // The argument's type, as `regtype` prints it (no type modifier).
        ("pg_typeof", [arg]) => Ok(Ok(lit_text(&match arg {
            Expr::Literal { unknown: true, .. } => "unknown".to_owned(),
            other => crate::types::display_name(other.ty()),
        }))),
        ("pg_last_query_id", []) => Ok(Ok(lit_int(binder.session.map_or(-1, |s| s.last_query_id)))),
        ("pg_backend_pid", []) => Ok(Ok(lit_int(i64::from(
            binder.session.map_or(0, |s| s.backend_pid),
        )))),
        (
            "has_table_privilege" | "has_schema_privilege" | "has_database_privilege",
            [_, _] | [_, _, _],
        ) => privilege_function(binder, name, &args, span).map(Ok),
        ("has_column_privilege", [_, _, _] | [_, _, _, _]) => {
            column_privilege(binder, &args, span).map(Ok)
        }
        ("has_function_privilege", [_, _] | [_, _, _]) => {
            function_privilege(binder, &args, span).map(Ok)
        }
        // `to_regclass('x')` and the like: the reg* cast of a name, or NULL where the cast
        // would fail because nothing has that name.
        ("to_regclass" | "to_regtype" | "to_regproc" | "to_regnamespace" | "to_regrole", [arg])
            if arg.ty().is_string() || matches!(arg, Expr::Literal { unknown: true, .. }) =>
        {
            let kind = &name["to_".len()..];
            match reg_cast(binder, arg.clone(), kind, span) {
                Err(
                    Error::UndefinedTable { .. }
                    | Error::UndefinedType { .. }
                    | Error::UndefinedFunction { .. }
                    | Error::AmbiguousFunction { .. }
                    | Error::UndefinedSchema { .. }
                    | Error::UndefinedRole { .. },
                ) => Ok(Ok(Expr::literal(Datum::Null, SqlType::Integer))),
                other => other.map(Ok),
            }
        }
        // Every type and function lives in pg_catalog, which is on every search path first.
        ("pg_type_is_visible", [arg]) => Ok(Ok(oid_lookup(
            binder,
            arg,
            TYPES.iter().map(|t| (t.0.unsigned_abs(), lit_bool(true))),
            Expr::literal(Datum::Null, SqlType::Boolean),
            span,
        )?)),
        ("pg_function_is_visible", [arg]) => Ok(Ok(oid_lookup(
            binder,
            arg,
            procs::procs().map(|p| (p.oid.unsigned_abs(), lit_bool(true))),
            Expr::literal(Datum::Null, SqlType::Boolean),
            span,
        )?)),
        // The built-in tablespaces live in the data directory: PostgreSQL's empty location.
        ("pg_tablespace_location", [arg]) => Ok(Ok(oid_lookup(
            binder,
            arg,
            [DEFAULT_TABLESPACE_OID, GLOBAL_TABLESPACE_OID]
                .into_iter()
                .map(|oid| (oid.unsigned_abs(), lit_text(""))),
            null_text(),
            span,
        )?)),
        ("pg_get_function_result", [arg]) => Ok(Ok(oid_lookup(
            binder,
            arg,
            procs::procs().map(|p| (p.oid.unsigned_abs(), lit_text(p.result_text))),
            null_text(),
            span,
        )?)),
        // The built-in functions have no SQL-standard body (PostgreSQL's own SQL-language
        // ones do; Basalt does not keep their text).
        ("pg_get_function_sqlbody", [arg]) => {
            Ok(Ok(oid_lookup(binder, arg, [], null_text(), span)?))
        }
        ("pg_get_function_arguments" | "pg_get_function_identity_arguments", [arg]) => {
            Ok(Ok(oid_lookup(
                binder,
                arg,
                procs::procs().map(|p| (p.oid.unsigned_abs(), lit_text(p.args_text))),
                null_text(),
                span,
            )?))
        }
        ("pg_table_is_visible", [arg]) => {
            // Visible: a relation of a schema on the search path (pg_catalog first) that
            // no relation earlier on the path hides.
            let arg = binder.cast(
                binder.coerce_unknown(arg.clone(), SqlType::Integer)?,
                SqlType::Integer,
                false,
                span,
            )?;
            let path = binder.search_path();
            let order: Vec<&str> = std::iter::once("pg_catalog")
                .chain(path.schemas.iter().map(String::as_str))
                .collect();
            let all = relations(binder.catalog);
            // Indexes live in their table's schema and share its names.
            let named: Vec<(&str, &str, i64)> = all
                .iter()
                .map(|r| (r.schema, r.name, r.oid))
                .chain(binder.catalog.objects.indexes.iter().map(|i| {
                    (
                        i.schema.as_str(),
                        i.name.as_str(),
                        i64::try_from(i.id).unwrap_or(i64::MAX),
                    )
                }))
                .collect();
            let rank = |schema: &str| order.iter().position(|s| *s == schema);
            let visible: Vec<i64> = named
                .iter()
                .filter(|(schema, name, _)| {
                    rank(schema).is_some_and(|at| {
                        !named
                            .iter()
                            .any(|(s, n, _)| n == name && rank(s).is_some_and(|r| r < at))
                    })
                })
                .map(|(_, _, oid)| *oid)
                .collect();
            let mut test = Expr::literal(Datum::Boolean(false), SqlType::Boolean);
            for oid in visible {
                let eq = binder.binary(BinaryOp::Eq, arg.clone(), lit_int(oid), span)?;
                test = binder.binary(BinaryOp::Or, test, eq, span)?;
            }
            // NULL in, NULL out, as PostgreSQL's strict functions.
            Ok(Ok(Expr::Case {
                whens: vec![(
                    Expr::IsNull {
                        expr: Box::new(arg),
                        negated: false,
                    },
                    Expr::literal(Datum::Null, SqlType::Boolean),
                )],
                otherwise: Some(Box::new(test)),
                ty: SqlType::Boolean,
            }))
        }
        ("pg_get_indexdef", [arg]) | ("pg_get_indexdef", [arg, _, _]) => {
            // Column 0 (or none): the whole definition; column k: the k-th key column's
            // name; past the last: an empty string; a NULL column: NULL.
            let column = match args.get(1) {
                None => None,
                Some(c) => match binder.coerce_unknown(c.clone(), SqlType::Integer)? {
                    Expr::Literal {
                        value: Datum::Int(0),
                        ..
                    } => None,
                    c => Some(binder.cast(c, SqlType::Integer, false, span)?),
                },
            };
            let mut entries = Vec::new();
            for (i, t) in index_rows(binder.catalog) {
                let def = lit_text(&crate::views::indexes::index_definition(i, &t.def.name));
                let Some(column) = &column else {
                    entries.push((i.id, def));
                    continue;
                };
                let number = |k: i64| Expr::literal(Datum::Int(k), SqlType::Integer);
                let mut whens = vec![(
                    binder.binary(BinaryOp::Eq, column.clone(), number(0), span)?,
                    def,
                )];
                for (k, c) in i.columns.iter().enumerate() {
                    whens.push((
                        binder.binary(BinaryOp::Eq, column.clone(), number(k as i64 + 1), span)?,
                        lit_text(&quote_ident(&c.name)),
                    ));
                }
                let null_column = Expr::IsNull {
                    expr: Box::new(column.clone()),
                    negated: false,
                };
                whens.insert(0, (null_column, null_text()));
                entries.push((
                    i.id,
                    Expr::Case {
                        whens,
                        otherwise: Some(Box::new(lit_text(""))),
                        ty: SqlType::Text,
                    },
                ));
            }
            oid_lookup(binder, arg, entries, null_text(), span).map(Ok)
        }
        ("pg_get_viewdef", [arg]) | ("pg_get_viewdef", [arg, _]) => {
            let views = &binder.catalog.objects.views;
            let is_name = match arg {
                Expr::Literal { unknown: true, .. } => true,
                other => other.ty().is_string(),
            };
            if is_name {
                // pg_get_viewdef(text): a constant view name, qualified or not.
                let Expr::Literal { value, .. } =
                    binder.coerce_unknown(arg.clone(), SqlType::Text)?
                else {
                    return Err(constant_needed("pg_get_viewdef"));
                };
                let Datum::Text(name) = value else {
                    return Ok(Ok(Expr::literal(Datum::Null, SqlType::Text)));
                };
                let (schema, name) = match name.split_once('.') {
                    Some((s, n)) => (s.to_owned(), n.to_owned()),
                    None => (binder.resolve_unqualified(&name), name),
                };
                let view = binder.catalog.objects.view(&schema, &name).ok_or_else(|| {
                    Error::UndefinedTable {
                        name: name.clone(),
                        position: None,
                    }
                })?;
                return Ok(Ok(lit_text(&view.query)));
            }
            // pg_get_viewdef(oid): NULL for an OID that is no view.
            let entries = views.iter().map(|v| (v.id, lit_text(&v.query)));
            oid_lookup(binder, arg, entries, null_text(), span).map(Ok)
        }
        ("current_database", []) => Ok(Ok(lit_text(DATABASE))),
        ("session_user", []) => {
            let user = setting(binder, "session_authorization")?;
            Ok(Ok(lit_text(&user)))
        }
        // The role SET ROLE chose, else the session user.
        ("current_user" | "user" | "current_role", []) => {
            let role = setting(binder, "role")?;
            let user = if role == "none" {
                setting(binder, "session_authorization")?
            } else {
                role
            };
            Ok(Ok(lit_text(&user)))
        }
        ("current_schema", []) => {
            // The first schema of the search path that exists.
            setting(binder, "search_path")?;
            let path = binder.search_path();
            Ok(Ok(path.explicit.first().map_or_else(
                || Expr::literal(Datum::Null, SqlType::Text),
                |s| lit_text(s),
            )))
        }
        ("current_schemas", [implicit]) => {
            // The existing schemas of the search path; with `true`, also the implicitly
            // searched ones in front: the temporary schema (while it holds tables) and
            // pg_catalog (unless the path names it).
            let implicit = match binder.coerce_unknown(implicit.clone(), SqlType::Boolean)? {
                Expr::Literal {
                    value: Datum::Boolean(b),
                    ..
                } => b,
                Expr::Literal {
                    value: Datum::Null, ..
                } => return Ok(Ok(Expr::literal(Datum::Null, NAMES))),
                _ => return Err(constant_needed("current_schemas")),
            };
            setting(binder, "search_path")?;
            let path = binder.search_path();
            let mut out: Vec<Datum> = Vec::new();
            if implicit {
                if path.schemas.first().is_some_and(|s| *s == path.temp) {
                    out.push(Datum::Text(path.temp.clone()));
                }
                if !path.explicit.iter().any(|s| s == "pg_catalog") {
                    out.push(Datum::Text("pg_catalog".to_owned()));
                }
            }
            out.extend(path.explicit.iter().map(|s| Datum::Text(s.clone())));
            Ok(Ok(Expr::literal(Datum::Array(out), NAMES)))
        }
        ("current_setting", [name]) | ("current_setting", [name, _]) => {
            let missing_ok = match args.get(1) {
                None => false,
                Some(flag) => match binder.coerce_unknown(flag.clone(), SqlType::Boolean)? {
                    Expr::Literal {
                        value: Datum::Boolean(b),
                        ..
                    } => b,
                    _ => return Err(constant_needed("current_setting")),
                },
            };
            let Expr::Literal {
                value: Datum::Text(name),
                ..
            } = binder.coerce_unknown(name.clone(), SqlType::Text)?
            else {
                return Err(constant_needed("current_setting"));
            };
            let settings = binder.settings.ok_or_else(no_settings)?;
            match settings.get(&name) {
                Some(value) => Ok(Ok(lit_text(value))),
                None if missing_ok => Ok(Ok(Expr::literal(Datum::Null, SqlType::Text))),
                None => Err(Error::UnrecognizedParameter {
                    name: name.to_lowercase(),
                }),
            }
        }
        _ => Ok(Err(args)),
    }
}

/// `has_table_privilege([user,] table, privileges)` and its schema and database forms, with
/// constant arguments: whether the role (the session's, by default) holds any of the
/// comma-separated privileges.
fn privilege_function(binder: &Binder<'_>, name: &str, args: &[Expr], span: Span) -> Result<Expr> {
    // An object that is not a constant (psql's `has_database_privilege(d.datname, 'CONNECT')`,
    // `has_schema_privilege(n.oid, 'USAGE')`): the answer for each object of that kind, chosen
    // by a CASE over the object's name or OID; anything else is NULL.
    let at = args.len().saturating_sub(2);
    let Some(object) = args.get(at) else {
        return Err(constant_needed(name));
    };
    let object = binder.coerce_unknown(object.clone(), SqlType::Text)?;
    if matches!(object, Expr::Literal { .. }) {
        return constant_privilege(binder, name, args);
    }
    let by_oid = matches!(
        object.ty(),
        SqlType::SmallInt | SqlType::Integer | SqlType::BigInt
    );
    let mut whens = Vec::new();
    for (object_name, oid) in privilege_objects(binder, name) {
        let value = if by_oid {
            Datum::Int(oid)
        } else {
            Datum::Text(object_name)
        };
        let mut one = args.to_vec();
        one[at] = Expr::literal(value.clone(), object.ty());
        // A bad privilege word or role fails the call; an object the answer cannot be given
        // for is left to NULL.
        let answer = match constant_privilege(binder, name, &one) {
            Ok(answer) => answer,
            Err(e @ (Error::InvalidParameter { .. } | Error::UndefinedRole { .. })) => {
                return Err(e)
            }
            Err(_) => continue,
        };
        let is = binder.binary(
            BinaryOp::Eq,
            object.clone(),
            Expr::literal(value, object.ty()),
            span,
        )?;
        whens.push((is, answer));
    }
    Ok(Expr::Case {
        whens,
        otherwise: Some(Box::new(Expr::literal(Datum::Null, SqlType::Boolean))),
        ty: SqlType::Boolean,
    })
}

/// The objects a privilege function of `name` asks about, as (name, OID): the relations (by
/// qualified name, and by bare name where the search path finds it), the schemas, or the
/// database.
fn privilege_objects(binder: &Binder<'_>, name: &str) -> Vec<(String, i64)> {
    match name {
        "has_table_privilege" => {
            let mut out = Vec::new();
            for r in relations(binder.catalog) {
                out.push((format!("{}.{}", r.schema, r.name), r.oid));
                // pg_catalog comes first on every search path; the first match wins.
                if r.schema == "pg_catalog" || binder.resolve_unqualified(r.name) == r.schema {
                    out.push((r.name.to_owned(), r.oid));
                }
            }
            out
        }
        "has_schema_privilege" => namespaces(binder.catalog, &binder.search_path().temp)
            .into_iter()
            .map(|(name, oid, _)| (name, oid))
            .collect(),
        _ => vec![(DATABASE.to_owned(), DATABASE_OID)],
    }
}

/// The words of a constant privilege string (`'SELECT, UPDATE WITH GRANT OPTION'`), upper
/// case, each checked against `allowed`; `None` when the privileges are not a constant string.
fn privilege_words(
    binder: &Binder<'_>,
    privileges: &Expr,
    allowed: &[&str],
) -> Result<Option<Vec<String>>> {
    let Expr::Literal {
        value: Datum::Text(text),
        ..
    } = binder.coerce_unknown(privileges.clone(), SqlType::Text)?
    else {
        return Ok(None);
    };
    let mut words = Vec::new();
    for word in text.split(',') {
        let word = word.trim().to_ascii_uppercase();
        let word = word
            .strip_suffix(" WITH GRANT OPTION")
            .unwrap_or(&word)
            .to_owned();
        if !allowed.contains(&word.as_str()) {
            return Err(Error::InvalidParameter {
                message: format!("unrecognized privilege type: \"{word}\""),
            });
        }
        words.push(word);
    }
    Ok(Some(words))
}

/// `has_column_privilege([user,] table, column, privilege)`. Basalt grants privileges on
/// whole tables only, so a role holds a column privilege exactly when it holds the privilege
/// on the table: the answer is `has_table_privilege`'s, once the column is known to exist (a
/// constant name that is no column of a constant table is 42703, as in PostgreSQL) and the
/// privilege is one columns have (SELECT, INSERT, UPDATE, REFERENCES).
fn column_privilege(binder: &Binder<'_>, args: &[Expr], span: Span) -> Result<Expr> {
    let column_at = args.len() - 2;
    let table_at = column_at - 1;
    privilege_words(
        binder,
        &args[args.len() - 1],
        &["SELECT", "INSERT", "UPDATE", "REFERENCES"],
    )?;
    let column = binder.coerce_unknown(args[column_at].clone(), SqlType::Text)?;
    if matches!(
        column,
        Expr::Literal {
            value: Datum::Null,
            ..
        }
    ) {
        return Ok(Expr::literal(Datum::Null, SqlType::Boolean));
    }
    let table = binder.coerce_unknown(args[table_at].clone(), SqlType::Text)?;
    if let (
        Expr::Literal {
            value: Datum::Text(table),
            ..
        },
        Expr::Literal {
            value: Datum::Text(column),
            ..
        },
    ) = (&table, &column)
    {
        let (schema, name) = match table.split_once('.') {
            Some((s, n)) => (s.to_owned(), n.to_owned()),
            None => (binder.resolve_unqualified(table), table.clone()),
        };
        let found = relations(binder.catalog)
            .into_iter()
            .find(|r| {
                (r.schema == schema || (r.schema == "pg_catalog" && !table.contains('.')))
                    && r.name == name
            })
            .map(|r| r.columns.iter().any(|(c, _, _)| c == column));
        if found == Some(false) {
            return Err(Error::UndefinedColumnMessage {
                message: format!("column \"{column}\" of relation \"{name}\" does not exist"),
                position: None,
            });
        }
    }
    let mut table_args = args.to_vec();
    table_args.remove(column_at);
    privilege_function(binder, "has_table_privilege", &table_args, span)
}

/// `has_function_privilege([user,] function, 'EXECUTE')`: every role may execute every
/// function Basalt has (PostgreSQL grants EXECUTE to PUBLIC), so the answer is true for a
/// function that exists: a constant signature such as `'now()'` whose name is a function of
/// `pg_proc` (else 42883), or an OID of one (else NULL).
fn function_privilege(binder: &Binder<'_>, args: &[Expr], span: Span) -> Result<Expr> {
    privilege_words(binder, &args[args.len() - 1], &["EXECUTE"])?;
    if let [user, _, _] = args {
        if let Expr::Literal {
            value: Datum::Text(role),
            ..
        } = binder.coerce_unknown(user.clone(), SqlType::Text)?
        {
            if role != OWNER && crate::security::role_oid(&binder.catalog.security, &role).is_none()
            {
                return Err(Error::UndefinedRole { name: role });
            }
        }
    }
    let function = &args[args.len() - 2];
    let lit_true = || Expr::literal(Datum::Boolean(true), SqlType::Boolean);
    let null = || Expr::literal(Datum::Null, SqlType::Boolean);
    if function.ty().is_string() || matches!(function, Expr::Literal { unknown: true, .. }) {
        return match binder.coerce_unknown(function.clone(), SqlType::Text)? {
            Expr::Literal {
                value: Datum::Text(signature),
                ..
            } => {
                let name = signature
                    .split('(')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .trim_start_matches("pg_catalog.")
                    .to_ascii_lowercase();
                let known = signature.contains('(')
                    && (procs::procs().any(|p| p.name == name)
                        || TYPE_IO_PROCS.iter().any(|(_, p)| *p == name));
                if known {
                    Ok(lit_true())
                } else {
                    Err(Error::UndefinedFunction {
                        message: format!("function \"{signature}\" does not exist"),
                        position: None,
                    })
                }
            }
            Expr::Literal {
                value: Datum::Null, ..
            } => Ok(null()),
            _ => Err(constant_needed("has_function_privilege")),
        };
    }
    let oids: std::collections::BTreeSet<u64> = procs::procs()
        .map(|p| p.oid)
        .chain(TYPE_IO_PROCS.iter().map(|(oid, _)| *oid))
        .filter_map(|oid| u64::try_from(oid).ok())
        .collect();
    oid_lookup(
        binder,
        function,
        oids.into_iter().map(|oid| (oid, lit_true())),
        null(),
        span,
    )
}

/// [`privilege_function`] for a constant object.
fn constant_privilege(binder: &Binder<'_>, name: &str, args: &[Expr]) -> Result<Expr> {
    use basalt_storage::security::GrantObject;
    let security = &binder.catalog.security;
    let constant = |e: &Expr| -> Result<Datum> {
        match binder.coerce_unknown(e.clone(), SqlType::Text)? {
            Expr::Literal { value, .. } => Ok(value),
            _ => Err(constant_needed(name)),
        }
    };
    let text_of = |d: &Datum| match d {
        Datum::Text(t) => Some(t.clone()),
        _ => None,
    };
    let (actor, object, privileges) = match args {
        [object, privileges] => (
            binder
                .session
                .map(|s| s.actor.clone())
                .ok_or_else(no_settings)?,
            constant(object)?,
            constant(privileges)?,
        ),
        [user, object, privileges] => {
            let oid = match constant(user)? {
                Datum::Int(oid) => u32::try_from(oid).unwrap_or(u32::MAX),
                Datum::Text(name) => crate::security::role_oid(security, &name)
                    .ok_or(Error::UndefinedRole { name })?,
                _ => return Ok(Expr::literal(Datum::Null, SqlType::Boolean)),
            };
            (
                crate::security::Actor::of(security, oid),
                constant(object)?,
                constant(privileges)?,
            )
        }
        _ => return Err(constant_needed(name)),
    };
    let Some(privileges) = text_of(&privileges) else {
        return Ok(Expr::literal(Datum::Null, SqlType::Boolean));
    };
    // The catalogs: everyone may read them (PostgreSQL grants SELECT on them to PUBLIC); the
    // rest is for superusers.
    let catalog = match (name, &object) {
        ("has_table_privilege", Datum::Int(oid)) => CATALOGS.iter().find(|c| c.oid == *oid),
        ("has_table_privilege", Datum::Text(t)) => match t.split_once('.') {
            Some((schema, n)) => CATALOGS.iter().find(|c| c.schema == schema && c.name == n),
            None => CATALOGS
                .iter()
                .find(|c| c.schema == "pg_catalog" && c.name == t)
                .or_else(|| {
                    let schema = binder.resolve_unqualified(t);
                    CATALOGS.iter().find(|c| c.schema == schema && c.name == t)
                }),
        },
        _ => None,
    };
    let (target, owner, allowed): (GrantObject, u32, &str) = match name {
        "has_table_privilege" if catalog.is_some() => (
            GrantObject::Table(catalog.map_or(0, |c| u64::try_from(c.oid).unwrap_or(0))),
            basalt_storage::security::BOOTSTRAP_ROLE_OID,
            crate::security::TABLE_PRIVILEGES,
        ),
        "has_table_privilege" => {
            let views = &binder.catalog.objects;
            let view = match &object {
                Datum::Int(oid) => u64::try_from(*oid).ok().and_then(|id| views.view_by_id(id)),
                Datum::Text(t) => {
                    let (schema, view) = match t.split_once('.') {
                        Some((s, v)) => (s.to_owned(), v),
                        None => (binder.resolve_unqualified(t), t.as_str()),
                    };
                    views.view(&schema, view)
                }
                _ => None,
            };
            let table = match &object {
                Datum::Int(oid) => u64::try_from(*oid)
                    .ok()
                    .and_then(|id| binder.catalog.table_by_id(id)),
                Datum::Text(t) => {
                    let (schema, table) = match t.split_once('.') {
                        Some((s, v)) => (s.to_owned(), v),
                        None => (binder.resolve_unqualified(t), t.as_str()),
                    };
                    binder.catalog.table(&schema, table)
                }
                _ => return Ok(Expr::literal(Datum::Null, SqlType::Boolean)),
            };
            if let (None, Some(v)) = (table, view) {
                (
                    GrantObject::Table(v.id),
                    v.owner
                        .unwrap_or(basalt_storage::security::BOOTSTRAP_ROLE_OID),
                    crate::security::TABLE_PRIVILEGES,
                )
            } else {
                let Some(table) = table else {
                    return match object {
                        Datum::Text(t) => Err(Error::UndefinedTable {
                            name: t,
                            position: None,
                        }),
                        // An OID that names no table is NULL, as in PostgreSQL.
                        _ => Ok(Expr::literal(Datum::Null, SqlType::Boolean)),
                    };
                };
                (
                    GrantObject::Table(table.id),
                    crate::security::table_owner(table),
                    crate::security::TABLE_PRIVILEGES,
                )
            }
        }
        "has_schema_privilege" => {
            let schema = match &object {
                Datum::Int(oid) => namespaces(binder.catalog, &binder.search_path().temp)
                    .into_iter()
                    .find(|(_, o, _)| o == oid)
                    .map(|(name, _, _)| name),
                other => text_of(other),
            };
            // An OID that names no schema is NULL, as in PostgreSQL.
            let Some(schema) = schema else {
                return Ok(Expr::literal(Datum::Null, SqlType::Boolean));
            };
            if !crate::schemas::exists(binder.catalog, &schema, &binder.search_path().temp) {
                return Err(Error::UndefinedSchema {
                    name: schema,
                    position: None,
                });
            }
            let owner = crate::security::schema_owner(binder.catalog, &schema);
            (
                GrantObject::Schema(schema),
                owner,
                crate::security::SCHEMA_PRIVILEGES,
            )
        }
        _ => {
            if matches!(object, Datum::Int(oid) if oid != DATABASE_OID) {
                return Ok(Expr::literal(Datum::Null, SqlType::Boolean));
            }
            if let Some(db) = text_of(&object).filter(|d| d != DATABASE) {
                return Err(Error::UndefinedDatabase { name: db });
            }
            (
                GrantObject::Database,
                crate::security::SCHEMA_OWNER,
                crate::security::DATABASE_PRIVILEGES,
            )
        }
    };
    let mut any = false;
    for word in privileges.split(',') {
        let word = word.trim().to_ascii_uppercase();
        let word = word.strip_suffix(" WITH GRANT OPTION").unwrap_or(&word);
        let letter = match word {
            "SELECT" => 'r',
            "INSERT" => 'a',
            "UPDATE" => 'w',
            "DELETE" => 'd',
            "TRUNCATE" => 'D',
            "REFERENCES" => 'x',
            "TRIGGER" => 't',
            "USAGE" => 'U',
            "CREATE" => 'C',
            "TEMP" | "TEMPORARY" => 'T',
            "CONNECT" => 'c',
            _ => 'z',
        };
        if !allowed.contains(letter) {
            return Err(Error::InvalidParameter {
                message: format!("unrecognized privilege type: \"{word}\""),
            });
        }
        any |= (catalog.is_some() && letter == 'r')
            || crate::security::allowed(security, &actor, &target, owner, letter);
    }
    Ok(Expr::literal(Datum::Boolean(any), SqlType::Boolean))
}

fn constant_needed(function: &str) -> Error {
    Error::Unsupported {
        message: format!("{function}() arguments must be constants"),
    }
}

fn no_settings() -> Error {
    Error::Internal("no session settings while binding".into())
}

fn setting(binder: &Binder<'_>, name: &str) -> Result<String> {
    binder
        .settings
        .and_then(|s| s.get(name))
        .map(str::to_owned)
        .ok_or_else(no_settings)
}

/// True for the OID-alias type names [`reg_cast`] handles.
pub(crate) fn is_reg_type(name: &str) -> bool {
    matches!(
        name,
        "regclass" | "regtype" | "regnamespace" | "regrole" | "regproc" | "regprocedure"
    )
}

/// The OID-alias types `regclass`, `regtype`, `regnamespace`, `regrole` and `regproc`, as
/// `expr::regclass` uses them: a name (a constant string) becomes its object's OID, so that
/// `attrelid = 't'::regclass` works; an OID becomes the object's name for display (as
/// PostgreSQL prints a reg* value), or the number when no such object exists.
pub(crate) fn reg_cast(binder: &Binder<'_>, value: Expr, kind: &str, span: Span) -> Result<Expr> {
    let position = binder.position(span);
    let lit_int = |v: i64| Expr::literal(Datum::Int(v), SqlType::Integer);
    let lit_text = |v: &str| Expr::literal(Datum::Text(v.to_owned()), SqlType::Text);
    if value.ty().is_string() || matches!(value, Expr::Literal { unknown: true, .. }) {
        let value = binder.coerce_unknown(value, SqlType::Text)?;
        let name = match &value {
            Expr::Literal {
                value: Datum::Text(s),
                ..
            } => s.clone(),
            Expr::Literal {
                value: Datum::Null, ..
            } => return Ok(Expr::literal(Datum::Null, SqlType::Integer)),
            _ => {
                return Err(Error::Unsupported {
                    message: format!("only a constant name can be cast to {kind}"),
                })
            }
        };
        // A number is an OID already, as in PostgreSQL.
        if let Ok(oid) = name.trim().parse::<i64>() {
            return Ok(lit_int(oid));
        }
        let oid = match kind {
            "regclass" => {
                let parts = split_qualified(&name);
                let all = regclass_entries(binder.catalog);
                let found = match parts.as_slice() {
                    [schema, rel] => all
                        .iter()
                        .find(|r| r.1 == schema && r.2 == rel)
                        .map(|r| r.0),
                    [rel] => std::iter::once("pg_catalog")
                        .chain(binder.search_path().schemas.iter().map(String::as_str))
                        .find_map(|schema| {
                            all.iter()
                                .find(|r| r.1 == schema && r.2 == rel)
                                .map(|r| r.0)
                        }),
                    _ => None,
                };
                found.ok_or_else(|| Error::UndefinedTable {
                    name: name.clone(),
                    position,
                })?
            }
            "regtype" => {
                let wanted = name.trim().to_ascii_lowercase();
                let wanted = wanted.strip_prefix("pg_catalog.").unwrap_or(&wanted);
                TYPES
                    .iter()
                    .find(|t| t.1 == wanted || type_display_name(t.0, -1) == wanted)
                    .map(|t| t.0)
                    .ok_or_else(|| Error::UndefinedType {
                        name: name.clone(),
                        position,
                    })?
            }
            "regnamespace" => {
                let parts = split_qualified(&name);
                namespaces(binder.catalog, &binder.search_path().temp)
                    .into_iter()
                    .find(|(s, _, _)| parts.len() == 1 && *s == parts[0])
                    .map(|(_, oid, _)| oid)
                    .ok_or_else(|| Error::UndefinedSchema {
                        name: name.clone(),
                        position,
                    })?
            }
            "regrole" => {
                let parts = split_qualified(&name);
                let role = parts.first().cloned().unwrap_or_default();
                if role == OWNER {
                    OWNER_OID
                } else {
                    binder
                        .catalog
                        .security
                        .roles
                        .iter()
                        .find(|r| r.name == role)
                        .map(|r| i64::from(r.oid))
                        .ok_or(Error::UndefinedRole { name: role })?
                }
            }
            _ => {
                let wanted = name.trim().to_ascii_lowercase();
                let wanted = wanted.strip_prefix("pg_catalog.").unwrap_or(&wanted);
                // A type's I/O function, or a function of pg_proc with that name, which must
                // be the only one (PostgreSQL's regproc names no overloaded function).
                let overloads: std::collections::BTreeSet<i64> = TYPE_IO_PROCS
                    .iter()
                    .filter(|(_, proc)| *proc == wanted)
                    .map(|(oid, _)| *oid)
                    .chain(procs::procs().filter(|p| p.name == wanted).map(|p| p.oid))
                    .collect();
                // A name PostgreSQL overloads is ambiguous there even where Basalt has one.
                let single = !procs::overloaded_in_postgres(wanted);
                match overloads.len() {
                    0 => {
                        return Err(Error::UndefinedFunction {
                            message: format!("function \"{name}\" does not exist"),
                            position,
                        })
                    }
                    1 if single => overloads.into_iter().next().unwrap_or_default(),
                    _ => {
                        return Err(Error::AmbiguousFunction {
                            message: format!("more than one function named \"{name}\""),
                            position,
                        })
                    }
                }
            }
        };
        return Ok(lit_int(oid));
    }
    // An OID: the object's name.
    let arg = binder.cast(
        binder.coerce_unknown(value, SqlType::Integer)?,
        SqlType::Integer,
        false,
        span,
    )?;
    let names: Vec<(i64, String)> = match kind {
        "regclass" => regclass_entries(binder.catalog)
            .into_iter()
            .map(|(oid, schema, name)| {
                // Unqualified when the name finds it: its schema is the first on the path
                // (pg_catalog first) holding the name.
                let path = binder.search_path();
                let first = std::iter::once("pg_catalog")
                    .chain(path.schemas.iter().map(String::as_str))
                    .find(|s| relations_named(binder.catalog, s, name));
                let shown = if first == Some(schema) {
                    quote_ident(name)
                } else {
                    format!("{}.{}", quote_ident(schema), quote_ident(name))
                };
                (oid, shown)
            })
            .collect(),
        "regtype" => TYPES
            .iter()
            .map(|t| (t.0, type_display_name(t.0, -1)))
            .collect(),
        "regnamespace" => namespaces(binder.catalog, &binder.search_path().temp)
            .iter()
            .map(|(n, oid, _)| (*oid, quote_ident(n)))
            .collect(),
        "regrole" => std::iter::once((OWNER_OID, OWNER.to_owned()))
            .chain(
                binder
                    .catalog
                    .security
                    .roles
                    .iter()
                    .map(|r| (i64::from(r.oid), quote_ident(&r.name))),
            )
            .collect(),
        // The types' I/O functions and the functions of pg_proc; 0 prints as `-`, as
        // PostgreSQL's regproc does.
        _ => {
            let mut all: std::collections::BTreeMap<i64, String> = TYPE_IO_PROCS
                .iter()
                .map(|(oid, n)| (*oid, (*n).to_owned()))
                .collect();
            for p in procs::procs() {
                all.entry(p.oid).or_insert_with(|| p.name.to_owned());
            }
            std::iter::once((0, "-".to_owned())).chain(all).collect()
        }
    };
    let mut whens = Vec::with_capacity(names.len());
    for (oid, name) in names {
        let is = binder.binary(BinaryOp::Eq, arg.clone(), lit_int(oid), span)?;
        whens.push((is, lit_text(&name)));
    }
    let shown = binder.cast(arg.clone(), SqlType::Text, true, span)?;
    let known = if whens.is_empty() {
        shown
    } else {
        Expr::Case {
            whens,
            otherwise: Some(Box::new(shown)),
            ty: SqlType::Text,
        }
    };
    Ok(Expr::Case {
        whens: vec![(
            Expr::IsNull {
                expr: Box::new(arg),
                negated: false,
            },
            Expr::literal(Datum::Null, SqlType::Text),
        )],
        otherwise: Some(Box::new(known)),
        ty: SqlType::Text,
    })
}

/// `a.b` or `"A".b` as its parts, unquoted (quoted parts keep their case).
fn split_qualified(name: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut was_quoted = false;
    let mut chars = name.trim().chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            '"' => {
                quoted = !quoted;
                was_quoted = true;
            }
            '.' if !quoted => {
                parts.push(if was_quoted {
                    std::mem::take(&mut cur)
                } else {
                    std::mem::take(&mut cur).to_lowercase()
                });
                was_quoted = false;
            }
            c => cur.push(c),
        }
    }
    parts.push(if was_quoted { cur } else { cur.to_lowercase() });
    parts
}

/// `format_type(oid, typmod)`'s text for a built-in type: `integer`, `character varying(10)`,
/// `numeric(12,2)`, `text[]`; `???` for an unknown OID, as PostgreSQL prints it.
fn type_display_name(oid: i64, typmod: i64) -> String {
    if let Some((elem, _)) = ARRAY_TYPES.iter().find(|(_, a)| *a == oid) {
        return format!("{}[]", type_display_name(*elem, typmod));
    }
    let m = typmod - 4;
    match oid {
        16 => "boolean".into(),
        20 => "bigint".into(),
        21 => "smallint".into(),
        23 => "integer".into(),
        25 => "text".into(),
        700 => "real".into(),
        701 => "double precision".into(),
        1042 if typmod >= 4 => format!("character({m})"),
        1042 => "bpchar".into(),
        1043 if typmod >= 4 => format!("character varying({m})"),
        1043 => "character varying".into(),
        1082 => "date".into(),
        1114 => "timestamp without time zone".into(),
        1083 => "time without time zone".into(),
        1184 => "timestamp with time zone".into(),
        1186 => "interval".into(),
        1700 if typmod >= 4 => format!("numeric({},{})", m >> 16, m & 0xffff),
        1700 => "numeric".into(),
        _ => "???".into(),
    }
}

/// `format_type(type_oid, typmod)` over expressions: a CASE over the built-in types, since
/// the modifier is usually a column (`pg_attribute.atttypmod`).
pub(crate) fn format_type(
    binder: &Binder<'_>,
    oid: Expr,
    typmod: Expr,
    span: Span,
) -> Result<Expr> {
    let lit_int = |v: i64| Expr::literal(Datum::Int(v), SqlType::Integer);
    let lit_text = |v: &str| Expr::literal(Datum::Text(v.to_owned()), SqlType::Text);
    let int = |e: Expr| -> Result<Expr> {
        binder.cast(
            binder.coerce_unknown(e, SqlType::Integer)?,
            SqlType::Integer,
            false,
            span,
        )
    };
    let (oid, typmod) = (int(oid)?, int(typmod)?);
    let text = |e: Expr| binder.cast(e, SqlType::Text, true, span);
    // typmod - 4, and its precision / scale halves for numeric.
    let m = binder.binary(BinaryOp::Sub, typmod.clone(), lit_int(4), span)?;
    let precision = binder.binary(BinaryOp::Div, m.clone(), lit_int(65536), span)?;
    let scale = binder.binary(BinaryOp::Mod, m.clone(), lit_int(65536), span)?;
    let has_mod = Expr::Case {
        whens: vec![(
            Expr::IsNull {
                expr: Box::new(typmod.clone()),
                negated: false,
            },
            Expr::literal(Datum::Boolean(false), SqlType::Boolean),
        )],
        otherwise: Some(Box::new(binder.binary(
            BinaryOp::GtEq,
            typmod,
            lit_int(4),
            span,
        )?)),
        ty: SqlType::Boolean,
    };
    let concat = |parts: Vec<Expr>| -> Result<Expr> {
        let mut it = parts.into_iter();
        let mut acc = it.next().unwrap_or_else(|| lit_text(""));
        for p in it {
            acc = binder.binary(BinaryOp::Concat, acc, p, span)?;
        }
        Ok(acc)
    };
    let with_mod = |name: &str, plain: &str, args: Vec<Expr>| -> Result<Expr> {
        let mut parts = vec![lit_text(&format!("{name}("))];
        for (i, a) in args.into_iter().enumerate() {
            if i > 0 {
                parts.push(lit_text(","));
            }
            parts.push(text(a)?);
        }
        parts.push(lit_text(")"));
        Ok(Expr::Case {
            whens: vec![(has_mod.clone(), concat(parts)?)],
            otherwise: Some(Box::new(lit_text(plain))),
            ty: SqlType::Text,
        })
    };
    let mut whens = Vec::new();
    for (t, ..) in TYPES {
        let shown = match *t {
            1042 => with_mod("character", "bpchar", vec![m.clone()])?,
            1043 => with_mod("character varying", "character varying", vec![m.clone()])?,
            1700 => with_mod("numeric", "numeric", vec![precision.clone(), scale.clone()])?,
            other => lit_text(&type_display_name(other, -1)),
        };
        let is = binder.binary(BinaryOp::Eq, oid.clone(), lit_int(*t), span)?;
        whens.push((is, shown));
    }
    Ok(Expr::Case {
        whens: vec![(
            Expr::IsNull {
                expr: Box::new(oid),
                negated: false,
            },
            Expr::literal(Datum::Null, SqlType::Text),
        )],
        otherwise: Some(Box::new(Expr::Case {
            whens,
            otherwise: Some(Box::new(lit_text("???"))),
            ty: SqlType::Text,
        })),
        ty: SqlType::Text,
    })
}

use crate::views::indexes::quote_ident;

#[cfg(test)]
mod tests {
    use super::*;

    // Every catalog's rows have exactly its columns, each value of the column's type.
    #[test]
    fn rows_match_their_columns() {
        // Input: an empty database, then one with a table that has a sort key and an
        // encoded column, a view over it and an index on it.
        let mut manifest = Manifest::default();
        for c in CATALOGS {
            assert!(rows(
                c.name,
                &manifest,
                None,
                &crate::schemas::SearchPath::public_only()
            )
            .iter()
            .all(|r| r.len() == c.columns.len()));
        }
        let mut def = basalt_storage::TableDef::new(
            "public",
            "t",
            vec![basalt_storage::ColumnDef {
                name: "a".into(),
                ty: SqlType::Varchar { length: 9 },
                nullable: false,
                encoding: ColumnEncoding::Lzo,
            }],
        );
        def.sort_key = SortKey::Compound(vec!["a".into()]);
        manifest.tables.push(TableMeta {
            id: 16_384,
            def,
            segments: Vec::new(),
            change_version: 0,
        });
        // A view and an index over it, so their pg_class, pg_index and pg_views rows count.
        let columns = manifest.tables[0].def.columns.clone();
        manifest.objects.views.push(basalt_storage::ViewDef {
            id: 16_385,
            schema: "public".into(),
            name: "v".into(),
            owner: None,
            columns,
            query: "SELECT a FROM t".into(),
            schema_binding: true,
            depends_on: vec![16_384],
        });
        manifest.objects.indexes.push(basalt_storage::IndexDef {
            id: 16_386,
            schema: "public".into(),
            name: "t_a".into(),
            table: 16_384,
            method: "btree".into(),
            unique: false,
            columns: vec![basalt_storage::IndexColumn {
                name: "a".into(),
                descending: false,
                nulls_first: None,
            }],
        });
        for c in CATALOGS {
            for row in rows(
                c.name,
                &manifest,
                None,
                &crate::schemas::SearchPath::public_only(),
            ) {
                assert_eq!(row.len(), c.columns.len(), "{}", c.name);
                for (value, (col, ty)) in row.iter().zip(c.columns) {
                    let ok = match value {
                        Datum::Null => true,
                        Datum::Int(_) => {
                            matches!(ty, SqlType::Integer | SqlType::SmallInt | SqlType::BigInt)
                        }
                        Datum::Decimal(_, scale) => {
                            matches!(ty, SqlType::Decimal { scale: s, .. } if s == scale)
                        }
                        Datum::Text(_) => ty.is_string(),
                        Datum::Boolean(_) => *ty == SqlType::Boolean,
                        Datum::Float(_) => *ty == SqlType::Real,
                        Datum::Array(_) => matches!(ty, SqlType::Array { .. }),
                        _ => false,
                    };
                    assert!(ok, "{}.{col}: {value:?} is not {ty}", c.name);
                }
            }
        }
    }

    #[test]
    fn type_modifiers_follow_postgres() {
        assert_eq!(typmod(SqlType::Varchar { length: 20 }), 24);
        assert_eq!(
            typmod(SqlType::Decimal {
                precision: 10,
                scale: 2
            }),
            655_366
        );
        assert_eq!(typmod(SqlType::Integer), -1);
    }
}
