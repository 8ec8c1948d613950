//! External schemas and tables: definitions of data that stays in files outside the data
//! directory (Redshift Spectrum's external catalog). Storage only keeps the definitions in the
//! manifest, as the `external` field of format version 4; it never reads the files they name.
//!
//! A definition is plain data: the file layout is kept in the words of the `CREATE EXTERNAL
//! TABLE` that made it (`STORED AS`, the SerDe and its parameters, the table properties), so
//! the engine decides what they mean and the system views show them as written.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::catalog::ColumnDef;

/// Every external schema and table of one database version.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalCatalog {
    pub schemas: Vec<ExternalSchema>,
    pub tables: Vec<ExternalTable>,
}

/// `CREATE EXTERNAL SCHEMA name FROM DATA CATALOG DATABASE 'database' ...`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalSchema {
    pub name: String,
    /// The data catalog database it names.
    pub database: String,
    /// The `IAM_ROLE` as written (kept and shown; local files need no credentials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam_role: Option<String>,
}

/// One external table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalTable {
    pub schema: String,
    pub name: String,
    /// The columns held in the files, in file order.
    pub columns: Vec<ColumnDef>,
    /// `PARTITIONED BY` columns, whose values come from the partitions' directories.
    pub partition_columns: Vec<ColumnDef>,
    /// `STORED AS` keyword, upper case: `PARQUET`, `TEXTFILE` or `JSON`.
    pub stored_as: String,
    /// The SerDe class (`ROW FORMAT SERDE '...'`, or the one the format implies).
    pub serde: String,
    /// `FIELDS TERMINATED BY` and `WITH SERDEPROPERTIES`, by name.
    pub serde_parameters: BTreeMap<String, String>,
    /// The table's directory (a local path or `file://` URL).
    pub location: String,
    /// `TABLE PROPERTIES`, by name.
    pub properties: BTreeMap<String, String>,
    /// Partitions added by `ALTER TABLE ... ADD PARTITION`, besides those found under
    /// `location` in `key=value` directories.
    pub partitions: Vec<ExternalPartition>,
}

/// A partition: one value per partition column (as text) and its directory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalPartition {
    pub values: Vec<String>,
    pub location: String,
}

impl ExternalCatalog {
    pub fn is_empty(&self) -> bool {
        self.schemas.is_empty() && self.tables.is_empty()
    }

    /// The external schema `name`, if there is one.
    pub fn schema(&self, name: &str) -> Option<&ExternalSchema> {
        self.schemas.iter().find(|s| s.name == name)
    }

    /// The external table `schema.name`, if there is one.
    pub fn table(&self, schema: &str, name: &str) -> Option<&ExternalTable> {
        self.tables
            .iter()
            .find(|t| t.schema == schema && t.name == name)
    }

    /// Checks what every manifest holds: schema and table names are unique, every table's
    /// schema exists, column names are unique within a table, and every partition has one
    /// value per partition column.
    pub fn check(&self) -> Result<(), String> {
        let mut schemas = BTreeSet::new();
        for s in &self.schemas {
            if !schemas.insert(s.name.as_str()) {
                return Err(format!("external schema {} appears twice", s.name));
            }
        }
        let mut tables = BTreeSet::new();
        for t in &self.tables {
            let name = format!("{}.{}", t.schema, t.name);
            if !schemas.contains(t.schema.as_str()) {
                return Err(format!("external table {name} has no schema"));
            }
            if !tables.insert(name.clone()) {
                return Err(format!("external table {name} appears twice"));
            }
            let mut columns = BTreeSet::new();
            for c in t.columns.iter().chain(&t.partition_columns) {
                if !columns.insert(c.name.as_str()) {
                    return Err(format!("external table {name} has column {} twice", c.name));
                }
            }
            if t.columns.is_empty() {
                return Err(format!("external table {name} has no columns"));
            }
            if let Some(p) = t
                .partitions
                .iter()
                .find(|p| p.values.len() != t.partition_columns.len())
            {
                return Err(format!(
                    "external table {name} has a partition at {} with {} values for {} columns",
                    p.location,
                    p.values.len(),
                    t.partition_columns.len()
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::SqlType;

    fn column(name: &str) -> ColumnDef {
        ColumnDef {
            name: name.into(),
            ty: SqlType::Integer,
            nullable: true,
            encoding: Default::default(),
        }
    }

    #[test]
    fn check_rejects_inconsistent_catalogs() {
        // Input: one schema and one partitioned table, then the same with a missing schema, a
        // duplicate column, and a partition with too few values.
        let good = ExternalCatalog {
            schemas: vec![ExternalSchema {
                name: "s".into(),
                database: "db".into(),
                iam_role: None,
            }],
            tables: vec![ExternalTable {
                schema: "s".into(),
                name: "t".into(),
                columns: vec![column("a")],
                partition_columns: vec![column("p")],
                stored_as: "PARQUET".into(),
                serde: String::new(),
                serde_parameters: BTreeMap::new(),
                location: "/x".into(),
                properties: BTreeMap::new(),
                partitions: vec![ExternalPartition {
                    values: vec!["1".into()],
                    location: "/x/p=1".into(),
                }],
            }],
        };
        assert!(good.check().is_ok());
        let mut no_schema = good.clone();
        no_schema.schemas.clear();
        assert!(no_schema.check().is_err());
        let mut twice = good.clone();
        twice.tables[0].partition_columns[0].name = "a".into();
        assert!(twice.check().is_err());
        let mut short = good.clone();
        short.tables[0].partitions[0].values.clear();
        assert!(short.check().is_err());
    }
}
