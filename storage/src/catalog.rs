//! The catalog as storage sees it: table definitions, committed tables and their segments, and
//! the immutable [`Manifest`] that ties one database version together.

use std::sync::Arc;

use arrow_schema::{Field, Schema, SchemaRef};
use serde::{Deserialize, Serialize};

use crate::delete_vector::DeleteVector;
use crate::types::SqlType;
use crate::zone_map::ZoneMap;

/// One column of a table definition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ColumnDef {
    pub name: String,
    pub ty: SqlType,
    pub nullable: bool,
}

/// A table definition as the catalog records it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TableDef {
    pub schema: String,
    pub name: String,
    pub columns: Vec<ColumnDef>,
}

impl TableDef {
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
}

impl SegmentMeta {
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
