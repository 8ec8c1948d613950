//! The catalog as storage sees it: table definitions, committed tables and their segments, and
//! the immutable [`Manifest`] that ties one database version together.

use std::sync::Arc;

use arrow_schema::{Field, Schema, SchemaRef};
use serde::{Deserialize, Serialize};

use crate::column_encoding::ColumnEncoding;
use crate::delete_vector::DeleteVector;
use crate::resident::Resident;
use crate::types::SqlType;
use crate::zone_map::ZoneMap;

/// One column of a table definition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ColumnDef {
    pub name: String,
    pub ty: SqlType,
    pub nullable: bool,
    /// The column's `ENCODE` preference; absent in manifests before format version 3 (AUTO).
    #[serde(default)]
    pub encoding: ColumnEncoding,
}

/// How Redshift would distribute a table's rows over its nodes (`DISTSTYLE`). Basalt runs on
/// one node, so the style is kept in the catalog and reported, and changes no placement.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DistStyle {
    #[default]
    Auto,
    Even,
    /// By the value of the table's `dist_key` column.
    Key,
    All,
}

impl DistStyle {
    /// The Redshift keyword, upper case.
    pub fn keyword(self) -> &'static str {
        match self {
            DistStyle::Auto => "AUTO",
            DistStyle::Even => "EVEN",
            DistStyle::Key => "KEY",
            DistStyle::All => "ALL",
        }
    }
}

/// A table's sort key. Rows appended to a table with a compound or interleaved key are sorted
/// by its columns (in order, ascending, NULLs last) before they are cut into segments, so the
/// zone maps of those columns' blocks are narrow. INTERLEAVED is kept as declared and sorts as
/// COMPOUND does.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortKey {
    /// `SORTKEY AUTO`, and no sort key: rows stay in the order they were appended.
    #[default]
    Auto,
    /// Column names, most significant first.
    Compound(Vec<String>),
    Interleaved(Vec<String>),
}

impl SortKey {
    /// The sort key's column names, most significant first (empty for AUTO).
    pub fn columns(&self) -> &[String] {
        match self {
            SortKey::Auto => &[],
            SortKey::Compound(c) | SortKey::Interleaved(c) => c,
        }
    }
}

/// A table definition as the catalog records it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TableDef {
    pub schema: String,
    pub name: String,
    pub columns: Vec<ColumnDef>,
    /// `DISTSTYLE`; absent in manifests before format version 3 (AUTO).
    #[serde(default)]
    pub dist_style: DistStyle,
    /// The `DISTKEY` column's name, set exactly when `dist_style` is KEY.
    #[serde(default)]
    pub dist_key: Option<String>,
    /// `SORTKEY`; absent in manifests before format version 3 (AUTO).
    #[serde(default)]
    pub sort_key: SortKey,
    /// The owning role's OID (format version 5); absent for tables of the bootstrap
    /// superuser, and in older manifests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<u32>,
}

impl TableDef {
    /// A definition with Redshift's defaults: DISTSTYLE AUTO and SORTKEY AUTO.
    pub fn new(
        schema: impl Into<String>,
        name: impl Into<String>,
        columns: Vec<ColumnDef>,
    ) -> Self {
        TableDef {
            schema: schema.into(),
            name: name.into(),
            columns,
            dist_style: DistStyle::Auto,
            dist_key: None,
            sort_key: SortKey::Auto,
            owner: None,
        }
    }

    /// The position of column `name`.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The positions of the sort key's columns, most significant first.
    pub fn sort_columns(&self) -> Vec<usize> {
        self.sort_key
            .columns()
            .iter()
            .filter_map(|c| self.column_index(c))
            .collect()
    }

    /// Checks the table attributes against the columns: a KEY style has exactly one existing
    /// distribution column and no other style has one; sort key columns exist, once each; every
    /// column's encoding fits its type. The error says what is wrong.
    pub fn check_attributes(&self) -> Result<(), String> {
        match (self.dist_style, &self.dist_key) {
            (DistStyle::Key, Some(k)) => {
                if self.column_index(k).is_none() {
                    return Err(format!("DISTKEY column \"{k}\" does not exist"));
                }
            }
            (DistStyle::Key, None) => return Err("DISTSTYLE KEY without a DISTKEY column".into()),
            (style, Some(_)) => {
                return Err(format!(
                    "a DISTKEY column with DISTSTYLE {}",
                    style.keyword()
                ))
            }
            (_, None) => {}
        }
        let sort = self.sort_key.columns();
        for (i, c) in sort.iter().enumerate() {
            if self.column_index(c).is_none() {
                return Err(format!("SORTKEY column \"{c}\" does not exist"));
            }
            if sort[..i].contains(c) {
                return Err(format!("SORTKEY column \"{c}\" appears twice"));
            }
        }
        if matches!(
            self.sort_key,
            SortKey::Compound(_) | SortKey::Interleaved(_)
        ) && sort.is_empty()
        {
            return Err("a SORTKEY without columns".into());
        }
        for c in &self.columns {
            c.encoding
                .check_stored(c.ty)
                .map_err(|e| format!("column \"{}\": {e}", c.name))?;
        }
        Ok(())
    }
    /// `schema.name`, as error messages and conflict reports name the table.
    pub fn qualified_name(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }

    /// The Arrow schema of a batch holding all of this table's columns.
    pub fn arrow_schema(&self) -> SchemaRef {
        let fields: Vec<Field> = self.columns.iter().map(ColumnDef::arrow_field).collect();
        Arc::new(Schema::new(fields))
    }
}

impl ColumnDef {
    /// The Arrow field of this column: its name, [`SqlType::arrow_type`] and nullability.
    pub fn arrow_field(&self) -> Field {
        Field::new(&self.name, self.ty.arrow_type(), self.nullable)
    }
}

/// A committed table: its definition and its segments.
#[derive(Clone, Debug, PartialEq)]
pub struct TableMeta {
    /// Unique for the life of the data directory and never reused, starting at
    /// [`crate::TABLE_ID_MIN`] (table ids become `pg_class` OIDs).
    pub id: u64,
    pub def: TableDef,
    /// Segments in the order they were appended.
    pub segments: Vec<SegmentMeta>,
    /// The manifest version of the last commit that created this table or appended to it.
    /// Commits compare it with their base version to detect conflicting writers.
    pub change_version: u64,
}

impl TableMeta {
    /// Rows in all segments, deleted rows included.
    pub fn rows(&self) -> u64 {
        self.segments.iter().map(|s| s.rows).sum()
    }

    /// Rows in all segments that are not deleted.
    pub fn live_rows(&self) -> u64 {
        self.segments.iter().map(SegmentMeta::live_rows).sum()
    }
}

/// One immutable segment file of a table.
#[derive(Clone, Debug, PartialEq)]
pub struct SegmentMeta {
    /// Unique within the data directory and never reused while any manifest refers to it.
    pub id: u64,
    pub rows: u64,
    /// The segment file's length in bytes; a file of another length is corrupt.
    pub bytes: u64,
    /// One zone map per column (in `TableDef::columns` order), aggregated over the segment's
    /// blocks, so scans can skip a segment without opening its file. They cover deleted rows
    /// too (a wider range than the live rows', which is safe for skipping).
    pub zone_maps: Vec<ZoneMap>,
    /// The rows deleted from this segment (DELETE, UPDATE); empty for a fresh segment.
    pub deleted: DeleteVector,
    /// For a segment whose rows live in memory and in the write-ahead log rather than in a
    /// file (small INSERTs, see `docs/wal.md`): its rows, of which this version holds the
    /// first `rows`. `bytes` is then their size in memory. Never in a manifest file: a
    /// checkpoint writes the rows to the segment file of the same id first.
    pub resident: Option<Arc<Resident>>,
}

impl SegmentMeta {
    /// True when the segment's rows are in memory and the WAL, not in a segment file.
    pub fn is_resident(&self) -> bool {
        self.resident.is_some()
    }

    /// Rows of this segment that are not deleted.
    pub fn live_rows(&self) -> u64 {
        self.rows.saturating_sub(self.deleted.count())
    }
}

/// An immutable version of the whole database.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Manifest {
    /// Increases by one with every commit; 0 is the empty database before the first commit.
    pub version: u64,
    pub tables: Vec<TableMeta>,
    /// Roles, memberships and privileges (format version 5).
    pub security: crate::security::Security,
    /// External schemas and tables (format version 4).
    pub external: crate::external::ExternalCatalog,
    /// Views and indexes (format version 6).
    pub objects: crate::objects::Objects,
}

impl Manifest {
    /// The table `schema.name`, if this version holds it.
    pub fn table(&self, schema: &str, name: &str) -> Option<&TableMeta> {
        self.tables
            .iter()
            .find(|t| t.def.schema == schema && t.def.name == name)
    }

    /// The table with id `id`, if this version holds it.
    pub fn table_by_id(&self, id: u64) -> Option<&TableMeta> {
        self.tables.iter().find(|t| t.id == id)
    }

    pub(crate) fn table_by_id_mut(&mut self, id: u64) -> Option<&mut TableMeta> {
        self.tables.iter_mut().find(|t| t.id == id)
    }
}
