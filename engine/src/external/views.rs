//! Redshift's system views of the external catalog, built from the statement's manifest:
//! SVV_EXTERNAL_SCHEMAS, SVV_EXTERNAL_TABLES, SVV_EXTERNAL_COLUMNS and
//! SVV_EXTERNAL_PARTITIONS (the partitions registered with ALTER TABLE ... ADD PARTITION;
//! `key=value` directories found at query time are not registered, as in Redshift).
//! `catalog.rs` declares their columns; these functions give their rows, in the same order.

use basalt_storage::{ExternalTable, Manifest, SqlType};

use crate::types::Datum;

/// The view names, as `catalog.rs` declares them.
pub const VIEWS: &[&str] = &[
    "svv_external_schemas",
    "svv_external_tables",
    "svv_external_columns",
    "svv_external_partitions",
];

/// SVV_EXTERNAL_SCHEMAS.eskind of a data catalog schema, as Redshift numbers it.
const ESKIND_DATA_CATALOG: i64 = 1;
/// First OID of external schemas (above the built-in schemas' and tables').
const SCHEMA_OID_BASE: i64 = 200_000;
/// The bootstrap superuser, who owns everything.
const OWNER_OID: i64 = 10;

fn text(s: &str) -> Datum {
    Datum::Text(s.to_string())
}

/// A JSON object of string pairs, keys sorted (Redshift prints these columns as JSON).
fn json_object<'a>(pairs: impl IntoIterator<Item = (&'a String, &'a String)>) -> String {
    let map: serde_json::Map<String, serde_json::Value> = pairs
        .into_iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    serde_json::Value::Object(map).to_string()
}

/// The Hive type name of a column type, as SVV_EXTERNAL_COLUMNS.external_type shows it.
pub fn external_type(ty: SqlType) -> String {
    match ty {
        SqlType::SmallInt => "smallint".into(),
        SqlType::Integer => "int".into(),
        SqlType::BigInt => "bigint".into(),
        SqlType::Decimal { precision, scale } => format!("decimal({precision},{scale})"),
        SqlType::Real => "float".into(),
        SqlType::Double => "double".into(),
        SqlType::Boolean => "boolean".into(),
        SqlType::Char { length } => format!("char({length})"),
        SqlType::Varchar { length } => format!("varchar({length})"),
        SqlType::Text => "string".into(),
        SqlType::Date => "date".into(),
        SqlType::Timestamp => "timestamp".into(),
        SqlType::Time => "time".into(),
        SqlType::Timestamptz => "timestamptz".into(),
        SqlType::Interval => "interval".into(),
        SqlType::Array { element } => format!("array<{}>", external_type(element.sql_type())),
    }
}

/// Input format, output format and serialization library of a table, as Hive names them.
fn formats(t: &ExternalTable) -> (&'static str, &'static str) {
    match t.stored_as.as_str() {
        "PARQUET" => (
            "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
            "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
        ),
        _ => (
            "org.apache.hadoop.mapred.TextInputFormat",
            "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
        ),
    }
}

/// The SerDe parameters as Hive records them: a delimiter also as `serialization.format`,
/// Parquet's `serialization.format` 1.
fn serde_parameters(t: &ExternalTable) -> String {
    let mut p = t.serde_parameters.clone();
    if let Some(d) = p.get("field.delim").cloned() {
        p.entry("serialization.format".into()).or_insert(d);
    } else if t.stored_as == "PARQUET" {
        p.entry("serialization.format".into())
            .or_insert_with(|| "1".into());
    }
    json_object(&p)
}

fn parameters(t: &ExternalTable) -> String {
    let mut p = t.properties.clone();
    p.insert("EXTERNAL".into(), "TRUE".into());
    json_object(&p)
}

/// Whether the table's files are compressed, as Redshift's `compressed` shows it.
fn compressed(t: &ExternalTable) -> Datum {
    let named = t
        .properties
        .get("compression_type")
        .or_else(|| t.properties.get("parquet.compression"))
        .is_some_and(|c| !c.eq_ignore_ascii_case("none"));
    Datum::Int(i64::from(named))
}

/// The rows of view `name` (one of [`VIEWS`]).
pub fn rows(name: &str, manifest: &Manifest) -> Vec<Vec<Datum>> {
    let db = crate::catalog::DATABASE;
    let ext = &manifest.external;
    match name {
        "svv_external_schemas" => ext
            .schemas
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let mut options = std::collections::BTreeMap::new();
                if let Some(r) = &s.iam_role {
                    options.insert("IAM_ROLE".to_string(), r.clone());
                }
                vec![
                    Datum::Int(SCHEMA_OID_BASE + i as i64),
                    Datum::Int(ESKIND_DATA_CATALOG),
                    text(&s.name),
                    Datum::Int(OWNER_OID),
                    text(&s.database),
                    text(&json_object(&options)),
                ]
            })
            .collect(),
        "svv_external_tables" => ext
            .tables
            .iter()
            .map(|t| {
                let (input, output) = formats(t);
                vec![
                    text(db),
                    text(&t.schema),
                    text(&t.name),
                    text("EXTERNAL_TABLE"),
                    text(&t.location),
                    text(input),
                    text(output),
                    text(&t.serde),
                    text(&serde_parameters(t)),
                    compressed(t),
                    text(&parameters(t)),
                ]
            })
            .collect(),
        "svv_external_columns" => ext
            .tables
            .iter()
            .flat_map(|t| {
                let data = t.columns.iter().map(|c| (c, 0i64));
                let keys = t
                    .partition_columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (c, i as i64 + 1));
                data.chain(keys)
                    .enumerate()
                    .map(|(n, (c, part_key))| {
                        vec![
                            text(db),
                            text(&t.schema),
                            text(&t.name),
                            text(&c.name),
                            text(&external_type(c.ty)),
                            Datum::Int(n as i64 + 1),
                            Datum::Int(part_key),
                            text("true"),
                        ]
                    })
                    .collect::<Vec<_>>()
            })
            .collect(),
        "svv_external_partitions" => ext
            .tables
            .iter()
            .flat_map(|t| {
                let (input, output) = formats(t);
                t.partitions
                    .iter()
                    .map(|p| {
                        let values = serde_json::Value::Array(
                            p.values
                                .iter()
                                .map(|v| serde_json::Value::String(v.clone()))
                                .collect(),
                        );
                        vec![
                            text(db),
                            text(&t.schema),
                            text(&t.name),
                            text(&values.to_string()),
                            text(&p.location),
                            text(input),
                            text(output),
                            text(&t.serde),
                            text(&serde_parameters(t)),
                            compressed(t),
                            text("{}"),
                        ]
                    })
                    .collect::<Vec<_>>()
            })
            .collect(),
        _ => Vec::new(),
    }
}
