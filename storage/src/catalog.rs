//! The catalog as storage sees it: table definitions, committed tables and their segments, and
//! the immutable [`Manifest`] that ties one database version together.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch};
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
    /// Each column's stable id (format version 11), parallel to `columns`: segments name
    /// the columns they hold by these ids, so that ADD and DROP COLUMN rewrite no segment.
    /// Empty means the ids are the positions `0..columns.len()`, as for every table no
    /// ADD or DROP COLUMN changed (and in older manifests).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub column_ids: Vec<u32>,
    /// The id the next added column takes (format version 11); 0 means `columns.len()`.
    /// Above every id the table ever used, so a dropped column's id is never reused.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub next_column_id: u32,
    /// The values of columns added with a DEFAULT (format version 11): rows of segments
    /// written before the column was added read it, and INSERT fills it in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub defaults: Vec<ColumnDefault>,
}

/// The constant DEFAULT value of one column, by its stable id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnDefault {
    /// The column's id (an entry of [`TableDef::column_ids`]).
    pub column: u32,
    /// The value: one block of one non-NULL row in the segment block format
    /// (`docs/segment-format.md`), of the column's type.
    pub block: Vec<u8>,
}

fn is_zero(v: &u32) -> bool {
    *v == 0
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
            column_ids: Vec::new(),
            next_column_id: 0,
            defaults: Vec::new(),
        }
    }

    /// The stable id of column `i` (see [`TableDef::column_ids`]).
    pub fn column_id(&self, i: usize) -> u32 {
        match self.column_ids.get(i) {
            Some(id) => *id,
            None => i as u32,
        }
    }

    /// Every column's stable id, in column order.
    pub fn ids(&self) -> Vec<u32> {
        (0..self.columns.len()).map(|i| self.column_id(i)).collect()
    }

    /// The position of the column with stable id `id`.
    pub fn column_of_id(&self, id: u32) -> Option<usize> {
        if self.column_ids.is_empty() {
            return ((id as usize) < self.columns.len()).then_some(id as usize);
        }
        self.column_ids.iter().position(|c| *c == id)
    }

    /// The id the next added column takes.
    fn next_id(&self) -> u32 {
        match self.next_column_id {
            0 => self.columns.len() as u32,
            n => n,
        }
    }

    /// Appends `column` under a new stable id. `default`, a one-row array of the column's
    /// type, is the value rows written before have and INSERT fills in; a NULL or absent
    /// default leaves them NULL. The caller checks the rows already there allow a NOT NULL
    /// column.
    pub fn add_column(
        &mut self,
        column: ColumnDef,
        default: Option<&dyn Array>,
    ) -> Result<(), String> {
        let id = self.next_id();
        let next = id
            .checked_add(1)
            .ok_or_else(|| format!("table {} ran out of column ids", self.name))?;
        let block = match default {
            Some(value) if value.len() == 1 && !value.is_null(0) => {
                Some(encode_default(column.ty, value)?)
            }
            Some(value) if value.len() != 1 => {
                return Err(format!("a default of {} rows", value.len()))
            }
            _ => None,
        };
        self.column_ids = self.ids();
        self.column_ids.push(id);
        self.next_column_id = next;
        self.columns.push(column);
        if let Some(block) = block {
            self.defaults.push(ColumnDefault { column: id, block });
        }
        Ok(())
    }

    /// Removes column `i` (and its default). Its id is never used again; segments that hold
    /// it keep it, and readers skip it.
    pub fn drop_column(&mut self, i: usize) {
        if i >= self.columns.len() {
            return;
        }
        let next = self.next_id();
        let id = self.column_id(i);
        self.column_ids = self.ids();
        self.column_ids.remove(i);
        self.columns.remove(i);
        self.next_column_id = next;
        self.defaults.retain(|d| d.column != id);
    }

    /// The DEFAULT value of column `i` as a one-row array, if it has one.
    pub fn default_value(&self, i: usize) -> Result<Option<ArrayRef>, String> {
        let id = self.column_id(i);
        let (Some(d), Some(c)) = (
            self.defaults.iter().find(|d| d.column == id),
            self.columns.get(i),
        ) else {
            return Ok(None);
        };
        decode_default(c.ty, &d.block)
            .map(Some)
            .map_err(|e| format!("default of column \"{}\": {e}", c.name))
    }

    /// Column `i` for `rows` rows of a segment written before it was added: its default
    /// repeated, or NULLs.
    pub(crate) fn fill(&self, i: usize, rows: usize) -> Result<ArrayRef, String> {
        let ty = self
            .columns
            .get(i)
            .map(|c| c.ty.arrow_type())
            .ok_or_else(|| format!("no column {i}"))?;
        match self.default_value(i)? {
            None => Ok(arrow_array::new_null_array(&ty, rows)),
            Some(one) => {
                let zeros = arrow_array::UInt32Array::from(vec![0u32; rows]);
                arrow_select::take::take(one.as_ref(), &zeros, None).map_err(|e| e.to_string())
            }
        }
    }

    /// `batch`, whose columns are those with ids `held` (in that order), as a batch of this
    /// definition's columns: columns it lacks take their fill, columns it has that this
    /// definition dropped are left out.
    pub(crate) fn conform(&self, held: &[u32], batch: &RecordBatch) -> Result<RecordBatch, String> {
        if held.len() != batch.num_columns() {
            return Err(format!(
                "rows of {} columns said to hold {}",
                batch.num_columns(),
                held.len()
            ));
        }
        let rows = batch.num_rows();
        let mut arrays = Vec::with_capacity(self.columns.len());
        for i in 0..self.columns.len() {
            let id = self.column_id(i);
            match held.iter().position(|h| *h == id) {
                Some(at) => arrays.push(batch.column(at).clone()),
                None => arrays.push(self.fill(i, rows)?),
            }
        }
        let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(rows));
        RecordBatch::try_new_with_options(self.arrow_schema(), arrays, &options)
            .map_err(|e| e.to_string())
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
        if !self.column_ids.is_empty() && self.column_ids.len() != self.columns.len() {
            return Err(format!(
                "{} column ids for {} columns",
                self.column_ids.len(),
                self.columns.len()
            ));
        }
        let ids = self.ids();
        let next = self.next_id();
        for (i, id) in ids.iter().enumerate() {
            if ids[..i].contains(id) || *id >= next {
                return Err(format!("column id {id} is repeated or not below {next}"));
            }
        }
        for (k, d) in self.defaults.iter().enumerate() {
            let Some(i) = self.column_of_id(d.column) else {
                return Err(format!("a default for column id {} it lacks", d.column));
            };
            if self.defaults[..k].iter().any(|o| o.column == d.column) {
                return Err(format!("two defaults for column id {}", d.column));
            }
            self.default_value(i)?;
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
    /// The stable ids ([`TableDef::column_ids`]) of the columns the segment holds, in its
    /// order, when they differ from its table definition's (ADD or DROP COLUMN since it was
    /// written); `None` when it holds exactly the definition's columns. `zone_maps` follow
    /// the segment's columns.
    pub columns: Option<Arc<[u32]>>,
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

    /// The zone map of column `column` of `def` (the segment's table definition), if the
    /// segment holds the column: `None` for a column added after it was written.
    pub fn zone_map(&self, def: &TableDef, column: usize) -> Option<&ZoneMap> {
        match &self.columns {
            None => self.zone_maps.get(column),
            Some(held) => {
                let id = def.column_id(column);
                let at = held.iter().position(|h| *h == id)?;
                self.zone_maps.get(at)
            }
        }
    }

    /// The ids of the columns the segment holds, in its order.
    pub fn held_ids(&self, def: &TableDef) -> Vec<u32> {
        match &self.columns {
            None => def.ids(),
            Some(held) => held.to_vec(),
        }
    }
}

/// The one-block encoding of a one-row, non-NULL default `value` of type `ty`.
fn encode_default(ty: crate::types::SqlType, value: &dyn Array) -> Result<Vec<u8>, String> {
    let piece = crate::segment::physical::Piece::new(ty, value).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    crate::segment::block::encode_block(&[piece], ColumnEncoding::Raw, &mut out)?;
    // Check the bytes before they are kept, as every read will decode them.
    decode_default(ty, &out)?;
    Ok(out)
}

/// The one-row array a default's `block` holds.
fn decode_default(ty: crate::types::SqlType, block: &[u8]) -> Result<ArrayRef, String> {
    let mut builder = crate::segment::column::ColumnBuilder::new(ty, 1);
    crate::segment::block::decode_block(block, 1, 0, &mut builder)?;
    builder.finish()
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
