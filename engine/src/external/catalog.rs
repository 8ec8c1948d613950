//! Running external DDL: each statement checks itself against the current external catalog
//! and gives the catalog after it (or nothing, when there is nothing to change), which the
//! session stores in its transaction as any DDL.

use basalt_storage::{
    ColumnDef, ColumnEncoding, ExternalCatalog, ExternalPartition, ExternalSchema, ExternalTable,
    Manifest, SqlType,
};
use sqlparser::ast;

use crate::copy::files::FileStore;
use crate::error::{Error, Result};
use crate::external::ddl::{CreateExternalTable, ExternalStatement};
use crate::external::source::{default_serde, layout, partition_type_ok, partition_value};

/// Schemas that always exist and can never be external.
const BUILT_IN_SCHEMAS: &[&str] = &["public", "pg_catalog", "information_schema"];

/// What an external DDL statement does: the new catalog (`None`: no change) and its tag.
#[derive(Debug)]
pub struct Outcome {
    pub catalog: Option<ExternalCatalog>,
    pub tag: &'static str,
}

/// Runs `stmt` against `manifest`'s external catalog. `bind_type` turns a column type as
/// written into a SQL type (the binder's rules, as CREATE TABLE uses them).
pub fn execute(
    stmt: &ExternalStatement,
    manifest: &Manifest,
    files: &dyn FileStore,
    bind_type: &dyn Fn(&ast::DataType) -> Result<SqlType>,
) -> Result<Outcome> {
    let mut catalog = manifest.external.clone();
    match stmt {
        ExternalStatement::CreateSchema {
            name,
            if_not_exists,
            database,
            iam_role,
        } => {
            let tag = "CREATE SCHEMA";
            if catalog.schema(name).is_some() || BUILT_IN_SCHEMAS.contains(&name.as_str()) {
                if *if_not_exists {
                    return Ok(Outcome { catalog: None, tag });
                }
                return Err(Error::DuplicateSchema { name: name.clone() });
            }
            catalog.schemas.push(ExternalSchema {
                name: name.clone(),
                database: database.clone(),
                iam_role: iam_role.clone(),
            });
            Ok(Outcome {
                catalog: Some(catalog),
                tag,
            })
        }
        ExternalStatement::CreateTable(t) => {
            let tag = "CREATE EXTERNAL TABLE";
            check_external_schema(&catalog, &t.schema)?;
            if catalog.table(&t.schema, &t.name).is_some() {
                if t.if_not_exists {
                    return Ok(Outcome { catalog: None, tag });
                }
                return Err(Error::DuplicateTable {
                    name: t.name.clone(),
                });
            }
            let table = define_table(t, files, bind_type)?;
            catalog.tables.push(table);
            Ok(Outcome {
                catalog: Some(catalog),
                tag,
            })
        }
        ExternalStatement::DropTable { names, if_exists } => {
            for (schema, name) in names {
                if catalog.table(schema, name).is_none() {
                    if *if_exists {
                        continue;
                    }
                    check_external_schema(&catalog, schema)?;
                    return Err(Error::UndefinedTableToDrop { name: name.clone() });
                }
                catalog
                    .tables
                    .retain(|t| !(t.schema == *schema && t.name == *name));
            }
            Ok(Outcome {
                catalog: Some(catalog),
                tag: "DROP EXTERNAL TABLE",
            })
        }
        ExternalStatement::DropSchema {
            names,
            if_exists,
            cascade,
        } => {
            for name in names {
                if catalog.schema(name).is_none() {
                    if BUILT_IN_SCHEMAS.contains(&name.as_str()) {
                        return Err(Error::Unsupported {
                            message: format!("schema \"{name}\" cannot be dropped"),
                        });
                    }
                    if *if_exists {
                        continue;
                    }
                    return Err(Error::UndefinedSchema {
                        name: name.clone(),
                        position: None,
                    });
                }
                if !cascade && catalog.tables.iter().any(|t| t.schema == *name) {
                    return Err(Error::DependentObjects {
                        message: format!(
                            "cannot drop schema {name} because other objects depend on it"
                        ),
                    });
                }
                catalog.schemas.retain(|s| s.name != *name);
                catalog.tables.retain(|t| t.schema != *name);
            }
            Ok(Outcome {
                catalog: Some(catalog),
                tag: "DROP SCHEMA",
            })
        }
        ExternalStatement::AddPartitions {
            schema,
            table,
            if_not_exists,
            partitions,
        } => {
            let t = external_table_mut(&mut catalog, schema, table)?;
            for (spec, location) in partitions {
                let values = partition_values(t, spec, location)?;
                if t.partitions.iter().any(|p| p.values == values) {
                    if *if_not_exists {
                        continue;
                    }
                    return Err(Error::DuplicateObject {
                        message: format!(
                            "partition ({}) of external table \"{schema}.{table}\" already exists",
                            spec_text(spec)
                        ),
                    });
                }
                t.partitions.push(ExternalPartition {
                    values,
                    location: location.clone(),
                });
            }
            Ok(Outcome {
                catalog: Some(catalog),
                tag: "ALTER TABLE",
            })
        }
        ExternalStatement::DropPartition {
            schema,
            table,
            values,
        } => {
            let t = external_table_mut(&mut catalog, schema, table)?;
            let wanted = partition_values(t, values, "")?;
            let before = t.partitions.len();
            t.partitions.retain(|p| p.values != wanted);
            if t.partitions.len() == before {
                return Err(Error::InvalidParameter {
                    message: format!(
                        "external table \"{schema}.{table}\" has no added partition ({})",
                        spec_text(values)
                    ),
                });
            }
            Ok(Outcome {
                catalog: Some(catalog),
                tag: "ALTER TABLE",
            })
        }
    }
}

fn spec_text(spec: &[(String, String)]) -> String {
    spec.iter()
        .map(|(k, v)| format!("{k}='{v}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `schema` must be an external schema.
fn check_external_schema(catalog: &ExternalCatalog, schema: &str) -> Result<()> {
    if catalog.schema(schema).is_some() {
        return Ok(());
    }
    if BUILT_IN_SCHEMAS.contains(&schema) {
        return Err(Error::WrongObjectType {
            message: format!(
                "schema \"{schema}\" is not an external schema; create one with CREATE EXTERNAL SCHEMA"
            ),
            position: None,
        });
    }
    Err(Error::UndefinedSchema {
        name: schema.to_string(),
        position: None,
    })
}

fn external_table_mut<'c>(
    catalog: &'c mut ExternalCatalog,
    schema: &str,
    table: &str,
) -> Result<&'c mut ExternalTable> {
    check_external_schema(catalog, schema)?;
    catalog
        .tables
        .iter_mut()
        .find(|t| t.schema == schema && t.name == table)
        .ok_or_else(|| Error::UndefinedTable {
            name: format!("{schema}.{table}"),
            position: None,
        })
}

/// A partition's values in partition column order, each checked against its column's type.
fn partition_values(
    t: &ExternalTable,
    spec: &[(String, String)],
    location: &str,
) -> Result<Vec<String>> {
    if t.partition_columns.is_empty() {
        return Err(Error::InvalidParameter {
            message: format!(
                "external table \"{}.{}\" is not partitioned",
                t.schema, t.name
            ),
        });
    }
    for (k, _) in spec {
        if !t.partition_columns.iter().any(|c| c.name == *k) {
            return Err(Error::UndefinedColumn {
                name: format!("{k}\" of partition key of \"{}.{}", t.schema, t.name),
                position: None,
            });
        }
    }
    let mut values = Vec::with_capacity(t.partition_columns.len());
    for c in &t.partition_columns {
        let mut found = spec.iter().filter(|(k, _)| *k == c.name);
        let (Some((_, v)), None) = (found.next(), found.next()) else {
            return Err(Error::InvalidParameter {
                message: format!(
                    "a partition of \"{}.{}\" needs exactly one value for partition column \"{}\"",
                    t.schema, t.name, c.name
                ),
            });
        };
        partition_value(Some(v), c, location)?;
        values.push(v.clone());
    }
    Ok(values)
}

/// External column types: the binder's, plus Hive's STRING (VARCHAR(65535), as Spectrum
/// reads it) and TINYINT (SMALLINT).
fn column_type(
    t: &ast::DataType,
    bind_type: &dyn Fn(&ast::DataType) -> Result<SqlType>,
) -> Result<SqlType> {
    match t {
        ast::DataType::String(_) => Ok(SqlType::Varchar {
            length: basalt_storage::types::VARCHAR_LENGTH_MAX,
        }),
        ast::DataType::TinyInt(_) => Ok(SqlType::SmallInt),
        other => bind_type(other),
    }
}

fn columns(
    defs: &[ast::ColumnDef],
    bind_type: &dyn Fn(&ast::DataType) -> Result<SqlType>,
    into: &mut Vec<ColumnDef>,
) -> Result<()> {
    for c in defs {
        let name = crate::planner::bind::normalize_ident(&c.name);
        if into.iter().any(|x| x.name == name) {
            return Err(Error::DuplicateColumn { name });
        }
        if let Some(o) = c.options.first() {
            return Err(Error::Unsupported {
                message: format!("external table columns take no options: {}", o.option),
            });
        }
        into.push(ColumnDef {
            name,
            ty: column_type(&c.data_type, bind_type)?,
            nullable: true,
            encoding: ColumnEncoding::Auto,
        });
    }
    Ok(())
}

/// The definition a CREATE EXTERNAL TABLE asks for; without a column list, the columns come
/// from the files (`infer`).
fn define_table(
    t: &CreateExternalTable,
    files: &dyn FileStore,
    bind_type: &dyn Fn(&ast::DataType) -> Result<SqlType>,
) -> Result<ExternalTable> {
    let mut partition_columns = Vec::new();
    columns(&t.partitioned_by, bind_type, &mut partition_columns)?;
    if let Some(c) = partition_columns.iter().find(|c| !partition_type_ok(c.ty)) {
        return Err(Error::InvalidTableDefinition {
            message: format!(
                "partition column \"{}\" cannot be of type {}",
                c.name,
                c.ty.pg_name()
            ),
            position: None,
        });
    }
    let mut table = ExternalTable {
        schema: t.schema.clone(),
        name: t.name.clone(),
        columns: Vec::new(),
        partition_columns,
        stored_as: t.stored_as.clone(),
        serde: t
            .serde
            .clone()
            .unwrap_or_else(|| default_serde(&t.stored_as).to_string()),
        serde_parameters: t.serde_parameters.clone(),
        location: t.location.clone(),
        properties: t.properties.clone(),
        partitions: Vec::new(),
    };
    // The layout must make sense before any file is read.
    layout(&table)?;
    match &t.columns {
        Some(defs) => {
            let mut data = Vec::new();
            columns(defs, bind_type, &mut data)?;
            table.columns = data;
        }
        None => {
            let inferred = crate::external::infer::infer(&table, files)?;
            table.columns = inferred.columns;
            if t.partitioned_by.is_empty() {
                table.partition_columns = inferred.partition_columns;
            }
            if inferred.header {
                table
                    .properties
                    .entry("skip.header.line.count".into())
                    .or_insert_with(|| "1".into());
            }
        }
    }
    if table.columns.is_empty() {
        return Err(Error::InvalidTableDefinition {
            message: "an external table needs at least one column".into(),
            position: None,
        });
    }
    for c in &table.partition_columns {
        if table.columns.iter().any(|x| x.name == c.name) {
            return Err(Error::DuplicateColumn {
                name: c.name.clone(),
            });
        }
    }
    Ok(table)
}
