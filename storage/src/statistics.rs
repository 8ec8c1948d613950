//! Table statistics (ANALYZE): per-column row, null, distinct and width figures and value
//! ranges, kept in their own files beside the manifests (format: `docs/statistics.md`).
//!
//! ```text
//! <dir>/stats/<table id, 20 digits>.stats     one file per analyzed table
//! ```
//!
//! Statistics are advisory: the planner's estimates use them when present, and nothing else
//! depends on them. A missing, unreadable, stale or corrupt file is ignored (corrupt ones with
//! a line on standard error), never an error of a query or of startup. They are transactional
//! as PostgreSQL's `pg_statistic` rows are: ANALYZE in autocommit writes its file when it
//! finishes; inside a transaction block the statistics stay with the transaction (seen by its
//! own statements through a [`StatisticsScope`], by no other session), are written after its
//! commit publishes and are discarded when it rolls back (or rolls back to a savepoint taken
//! before). A table's file is deleted after the commit that drops the table (and at startup,
//! for tables no longer in the catalog).
//!
//! Staleness is measured, not guessed: a file records each segment's row and deleted-row
//! counts at the time of analysis, so the rows inserted and deleted since (SVV_TABLE_INFO's
//! `stats_off`) follow from comparing them with the table's segments now.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use arrow_array::cast::AsArray;
use arrow_array::types::Decimal128Type;
use arrow_array::Array;

use crate::bytes::{ByteReader, PutLe};
use crate::catalog::TableMeta;
use crate::durable::{create_dir, list_dir, replace_file, ReplaceError, TMP_SUFFIX};
use crate::error::{io_at, Error, Result};
use crate::hll::Sketch;
use crate::segment::physical::{PhysicalType, Piece};
use crate::types::SqlType;
use crate::zone_map::ZoneMap;

/// The statistics directory inside the data directory.
pub const STATS_DIR: &str = "stats";
const STATS_EXTENSION: &str = ".stats";
const MAGIC: &[u8; 8] = b"BSLTSTAT";
/// The statistics file format version this build writes and reads.
pub const STATS_FORMAT_VERSION: u16 = 1;
/// Largest statistics file read (a table of 1,600 columns with long string bounds fits).
const STATS_FILE_BYTES_MAX: u64 = 64 << 20;

/// Statistics of one column over the live rows of its table at the time of analysis.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnStats {
    /// The column's position in the table definition when analyzed.
    pub index: u32,
    /// The column's name when analyzed; statistics apply to a column only while its name and
    /// type still match.
    pub name: String,
    /// Rows analyzed (non-null and null), and the nulls among them; min and max of the
    /// non-null values (string bounds may be truncated, as in zone maps).
    pub zone: ZoneMap,
    /// Estimated distinct non-null values (exact up to the sketch's sparse limit).
    pub distinct: u64,
    /// Total stored width of the non-null values, in PostgreSQL's measure (see
    /// [`value_width`]).
    pub width_bytes: u64,
    physical: PhysicalType,
}

impl ColumnStats {
    /// The fraction of rows that are NULL (0 for no rows).
    pub fn null_frac(&self) -> f64 {
        if self.zone.row_count == 0 {
            0.0
        } else {
            self.zone.null_count as f64 / self.zone.row_count as f64
        }
    }

    /// Non-null values analyzed.
    pub fn non_null(&self) -> u64 {
        self.zone.row_count - self.zone.null_count.min(self.zone.row_count)
    }

    /// PostgreSQL's `avg_width`: the average width of the non-null values, truncated.
    pub fn avg_width(&self) -> u32 {
        match self.non_null() {
            0 => 0,
            n => u32::try_from(self.width_bytes / n).unwrap_or(u32::MAX),
        }
    }

    /// PostgreSQL's `n_distinct`: a positive count when the distinct values are at most a
    /// tenth of the rows, otherwise minus their share of the rows (-1: every row distinct);
    /// a column whose values all differ is -(1 - null_frac), and an all-NULL column 0.
    pub fn n_distinct(&self) -> f64 {
        let rows = self.zone.row_count as f64;
        let non_null = self.non_null();
        if non_null == 0 || rows == 0.0 {
            return 0.0;
        }
        if self.distinct >= non_null {
            return -(non_null as f64 / rows);
        }
        let d = self.distinct as f64;
        if d > 0.1 * rows {
            -(d / rows)
        } else {
            d
        }
    }

    /// Whether these statistics describe column `def` (same name and stored type).
    pub fn matches(&self, def: &crate::ColumnDef) -> bool {
        self.name == def.name && self.physical == PhysicalType::of(def.ty)
    }
}

/// A segment's row counts when its table was analyzed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentMark {
    pub id: u64,
    pub rows: u64,
    pub deleted: u64,
}

/// The statistics of one table.
#[derive(Clone, Debug, PartialEq)]
pub struct TableStats {
    pub table_id: u64,
    /// The manifest version analyzed.
    pub version: u64,
    /// When, in microseconds since 1970-01-01 UTC.
    pub analyzed_at_us: i64,
    /// Live rows analyzed.
    pub rows: u64,
    /// Rows inserted or deleted before `marks` were last taken that still count as changes
    /// since the analysis (VACUUM moves rows to new segments without changing them).
    pub carried_changes: u64,
    /// The table's segments when analyzed (or when VACUUM last rewrote them).
    pub marks: Vec<SegmentMark>,
    /// The analyzed columns, in table order (ANALYZE may name a subset).
    pub columns: Vec<ColumnStats>,
}

impl TableStats {
    /// The segment marks of `table` as it is now.
    pub fn marks_of(table: &TableMeta) -> Vec<SegmentMark> {
        table
            .segments
            .iter()
            .map(|s| SegmentMark {
                id: s.id,
                rows: s.rows,
                deleted: s.deleted.count(),
            })
            .collect()
    }

    /// Rows inserted plus rows deleted since the analysis: rows beyond each marked segment's
    /// count and all rows of new segments, deleted rows beyond each segment's count, and the
    /// live rows of marked segments that are gone (truncated or dropped by VACUUM).
    pub fn changes_since(&self, table: &TableMeta) -> u64 {
        let marks: HashMap<u64, &SegmentMark> = self.marks.iter().map(|m| (m.id, m)).collect();
        let mut changes = self.carried_changes;
        let mut present = 0usize;
        for s in &table.segments {
            let deleted = s.deleted.count();
            match marks.get(&s.id) {
                Some(m) => {
                    present += 1;
                    changes += s.rows.saturating_sub(m.rows) + deleted.saturating_sub(m.deleted);
                }
                None => changes += s.rows + deleted,
            }
        }
        if present < self.marks.len() {
            let now: std::collections::HashSet<u64> = table.segments.iter().map(|s| s.id).collect();
            changes += self
                .marks
                .iter()
                .filter(|m| !now.contains(&m.id))
                .map(|m| m.rows.saturating_sub(m.deleted))
                .sum::<u64>();
        }
        changes
    }

    /// Redshift's `stats_off`: changed rows since the analysis as a percentage of the rows
    /// analyzed, at most 100 (100 for a table analyzed empty that has changed since).
    pub fn stats_off_percent(&self, table: &TableMeta) -> f64 {
        let changes = self.changes_since(table) as f64;
        if changes == 0.0 {
            return 0.0;
        }
        (100.0 * changes / (self.rows as f64).max(1.0)).min(100.0)
    }

    /// The statistics of column `def`, if it was analyzed and still matches.
    pub fn column(&self, def: &crate::ColumnDef) -> Option<&ColumnStats> {
        self.columns
            .iter()
            .find(|c| c.name == def.name)
            .filter(|c| c.matches(def))
    }

    /// The file's bytes (see `docs/statistics.md`).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.put_u16(STATS_FORMAT_VERSION);
        out.put_u16(0);
        out.put_u64(self.table_id);
        out.put_u64(self.version);
        out.put_u64(self.analyzed_at_us as u64);
        out.put_u64(self.rows);
        out.put_u64(self.carried_changes);
        out.put_u32(u32::try_from(self.marks.len()).unwrap_or(u32::MAX));
        for m in &self.marks {
            out.put_u64(m.id);
            out.put_u64(m.rows);
            out.put_u64(m.deleted);
        }
        out.put_u32(u32::try_from(self.columns.len()).unwrap_or(u32::MAX));
        for c in &self.columns {
            out.put_u32(c.index);
            let name = c.name.as_bytes();
            out.put_u16(u16::try_from(name.len()).unwrap_or(u16::MAX));
            out.extend_from_slice(&name[..name.len().min(usize::from(u16::MAX))]);
            out.put_u8(c.physical.id());
            out.put_u64(c.zone.row_count);
            out.put_u64(c.zone.null_count);
            out.put_u64(c.distinct);
            out.put_u64(c.width_bytes);
            c.zone.write_bounds(c.physical, &mut out);
        }
        let crc = crc32c::crc32c(&out);
        out.put_u32(crc);
        out
    }

    /// Reads what [`TableStats::encode`] wrote; the error says what is wrong.
    pub fn decode(bytes: &[u8]) -> std::result::Result<TableStats, String> {
        if bytes.len() < MAGIC.len() + 4 + 4 {
            return Err(format!("{} bytes is too short", bytes.len()));
        }
        let (body, crc) = bytes.split_at(bytes.len() - 4);
        let stored = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
        if crc32c::crc32c(body) != stored {
            return Err("checksum mismatch".into());
        }
        let mut r = ByteReader::new(body);
        if r.take(MAGIC.len())? != MAGIC {
            return Err("not a statistics file (bad magic)".into());
        }
        let version = r.u16()?;
        if version != STATS_FORMAT_VERSION {
            return Err(format!("unknown statistics format version {version}"));
        }
        let _reserved = r.u16()?;
        let table_id = r.u64()?;
        let analyzed_version = r.u64()?;
        let analyzed_at_us = r.u64()? as i64;
        let rows = r.u64()?;
        let carried_changes = r.u64()?;
        let mark_count = r.u32()?;
        let mut marks = Vec::new();
        for _ in 0..mark_count {
            marks.push(SegmentMark {
                id: r.u64()?,
                rows: r.u64()?,
                deleted: r.u64()?,
            });
        }
        let column_count = r.u32()?;
        let mut columns = Vec::new();
        for _ in 0..column_count {
            let index = r.u32()?;
            let name_len = r.u16()?;
            let name = std::str::from_utf8(r.take(usize::from(name_len))?)
                .map_err(|_| "a column name is not UTF-8".to_string())?
                .to_owned();
            let ty = r.u8()?;
            let physical = PhysicalType::from_id(ty)
                .ok_or_else(|| format!("column \"{name}\": unknown physical type {ty}"))?;
            let row_count = r.u64()?;
            let null_count = r.u64()?;
            if null_count > row_count {
                return Err(format!("column \"{name}\": more nulls than rows"));
            }
            let distinct = r.u64()?;
            let width_bytes = r.u64()?;
            let zone = ZoneMap::read_bounds(physical, row_count, null_count, &mut r)
                .map_err(|e| format!("column \"{name}\": {e}"))?;
            columns.push(ColumnStats {
                index,
                name,
                zone,
                distinct,
                width_bytes,
                physical,
            });
        }
        if r.remaining() != 0 {
            return Err(format!("{} bytes after the last column", r.remaining()));
        }
        Ok(TableStats {
            table_id,
            version: analyzed_version,
            analyzed_at_us,
            rows,
            carried_changes,
            marks,
            columns,
        })
    }
}

/// Gathers one column's statistics from its values, batch by batch; accumulators of parts of a
/// table merge (the distinct sketch merges exactly).
#[derive(Clone, Debug)]
pub struct ColumnAccumulator {
    index: u32,
    name: String,
    ty: SqlType,
    zone: ZoneMap,
    sketch: Sketch,
    width_bytes: u64,
}

impl ColumnAccumulator {
    /// An accumulator for column `def` at position `index`.
    pub fn new(index: usize, def: &crate::ColumnDef) -> ColumnAccumulator {
        ColumnAccumulator {
            index: u32::try_from(index).unwrap_or(u32::MAX),
            name: def.name.clone(),
            ty: def.ty,
            zone: ZoneMap::empty(),
            sketch: Sketch::new(),
            width_bytes: 0,
        }
    }

    /// Adds the values of `array` (of the column's Arrow type).
    pub fn add(&mut self, array: &dyn Array) -> Result<()> {
        let piece = Piece::new(self.ty, array)?;
        self.zone.merge(&ZoneMap::of_pieces(&[piece]));
        crate::hll::insert_array(&mut self.sketch, array).map_err(Error::Internal)?;
        self.width_bytes += array_width(self.ty, array);
        Ok(())
    }

    /// Adds the values of one block, `pieces` of the column's Arrow type, whose zone map the
    /// block's encoder already computed.
    pub(crate) fn add_block(
        &mut self,
        pieces: &[arrow_array::ArrayRef],
        zone: &ZoneMap,
    ) -> Result<()> {
        self.zone.merge(zone);
        for array in pieces {
            crate::hll::insert_array(&mut self.sketch, array.as_ref()).map_err(Error::Internal)?;
            self.width_bytes += array_width(self.ty, array.as_ref());
        }
        Ok(())
    }

    /// Adds everything `other` (of the same column) gathered.
    pub fn merge(&mut self, other: &ColumnAccumulator) {
        self.zone.merge(&other.zone);
        self.sketch.merge(&other.sketch);
        self.width_bytes += other.width_bytes;
    }

    /// The column's statistics.
    pub fn finish(self) -> ColumnStats {
        let non_null = self.zone.row_count - self.zone.null_count.min(self.zone.row_count);
        ColumnStats {
            index: self.index,
            name: self.name,
            distinct: self.sketch.count().min(non_null),
            width_bytes: self.width_bytes,
            physical: PhysicalType::of(self.ty),
            zone: self.zone,
        }
    }
}

/// PostgreSQL's stored width of a value of `ty` (what `pg_stats.avg_width` averages):
/// fixed-width types their size; strings their bytes plus a 1-byte header up to 126 bytes,
/// 4 above; NUMERIC a 1-byte header, 2 bytes of numeric header and 2 bytes per base-10,000
/// digit (leading and trailing zero digits not stored). Values PostgreSQL would compress
/// (over about 2 kB) count uncompressed.
pub fn value_width(ty: SqlType, string_bytes: usize, decimal: i128) -> u64 {
    match ty {
        SqlType::Boolean => 1,
        SqlType::SmallInt => 2,
        SqlType::Integer | SqlType::Real | SqlType::Date => 4,
        SqlType::BigInt
        | SqlType::Double
        | SqlType::Timestamp
        | SqlType::Timestamptz
        | SqlType::Time => 8,
        SqlType::Interval => 16,
        SqlType::Char { .. } | SqlType::Varchar { .. } | SqlType::Text => {
            let n = string_bytes as u64;
            if n <= 126 {
                n + 1
            } else {
                n + 4
            }
        }
        SqlType::Decimal { scale, .. } => 3 + 2 * numeric_digits(decimal, scale),
        // No table column is an array; an array value's width is its text's.
        SqlType::Array { .. } => string_bytes as u64 + 4,
    }
}

/// Base-10,000 digits PostgreSQL stores for the unscaled value `v` at `scale`.
fn numeric_digits(v: i128, scale: i8) -> u64 {
    if v == 0 {
        return 0;
    }
    let scale = i32::from(scale.max(0));
    let magnitude = v.unsigned_abs();
    // Align the fraction to a whole number of 4-digit groups.
    let pad = (4 - scale % 4) % 4;
    let mut aligned = magnitude;
    for _ in 0..pad {
        aligned = aligned.saturating_mul(10);
    }
    // Base-10,000 groups from the last one (the last fraction group, or the units group
    // without a fraction): the digits stored run from the first non-zero group to the last.
    // Zero groups padding the integer part to one group are never stored.
    let (mut first, mut last) = (None, 0u64);
    let mut note = |k: u64, group_is_zero: bool| {
        if !group_is_zero {
            first.get_or_insert(k);
            last = k;
        }
    };
    let mut k = 0u64;
    match u64::try_from(aligned) {
        // The common case, in 64-bit arithmetic (this runs for every value a load analyzes).
        Ok(mut rest) => {
            while rest > 0 {
                note(k, rest.is_multiple_of(10_000));
                rest /= 10_000;
                k += 1;
            }
        }
        Err(_) => {
            let mut rest = aligned;
            while rest > 0 {
                note(k, rest.is_multiple_of(10_000));
                rest /= 10_000;
                k += 1;
            }
        }
    }
    last - first.unwrap_or(0) + 1
}

fn array_width(ty: SqlType, array: &dyn Array) -> u64 {
    let valid = |i: usize| array.is_valid(i);
    match ty {
        SqlType::Char { .. } | SqlType::Varchar { .. } | SqlType::Text => {
            match array.as_string_opt::<i32>() {
                Some(a) => (0..a.len())
                    .filter(|i| valid(*i))
                    .map(|i| value_width(ty, a.value(i).len(), 0))
                    .sum(),
                None => 0,
            }
        }
        SqlType::Decimal { .. } => match array.as_primitive_opt::<Decimal128Type>() {
            Some(a) => (0..a.len())
                .filter(|i| valid(*i))
                .map(|i| value_width(ty, 0, a.value(i)))
                .sum(),
            None => 0,
        },
        _ => (array.len() - array.null_count()) as u64 * value_width(ty, 0, 0),
    }
}

/// The statistics files of a data directory, read once at open and kept in memory.
#[derive(Debug)]
pub struct Statistics {
    dir: PathBuf,
    tables: RwLock<HashMap<u64, Arc<TableStats>>>,
    /// Serializes writes and removals of files.
    writing: Mutex<()>,
}

impl Statistics {
    /// Reads `<data dir>/stats`, creating it if missing. A file that cannot be read or
    /// decoded, or whose table is not in `live_tables`, is skipped (a corrupt one with a line
    /// on standard error, a dropped table's deleted); only failing to create the directory is
    /// an error.
    pub(crate) fn open(data_dir: &Path, live_tables: &[u64]) -> Result<Statistics> {
        let dir = data_dir.join(STATS_DIR);
        create_dir(&dir)?;
        let mut tables = HashMap::new();
        let listed = match list_dir(&dir) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("basalt: ignoring statistics: {e}");
                Vec::new()
            }
        };
        for (path, name) in listed {
            if name.ends_with(TMP_SUFFIX) {
                let _ = std::fs::remove_file(&path);
                continue;
            }
            let Some(id) = name
                .strip_suffix(STATS_EXTENSION)
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            if !live_tables.contains(&id) {
                let _ = std::fs::remove_file(&path);
                continue;
            }
            match read_file(&path) {
                Ok(stats) if stats.table_id == id => {
                    tables.insert(id, Arc::new(stats));
                }
                Ok(stats) => eprintln!(
                    "basalt: ignoring statistics file {}: it holds table {}",
                    path.display(),
                    stats.table_id
                ),
                Err(e) => eprintln!("basalt: ignoring statistics file {}: {e}", path.display()),
            }
        }
        Ok(Statistics {
            dir,
            tables: RwLock::new(tables),
            writing: Mutex::new(()),
        })
    }

    /// The statistics of table `id`, if it was analyzed: the ones an open transaction gathered,
    /// while a [`StatisticsScope`] of it is in force on this thread, else the committed ones.
    pub fn get(&self, id: u64) -> Option<Arc<TableStats>> {
        let owner = self as *const Statistics as usize;
        let uncommitted = SCOPE.with(|scope| {
            scope
                .borrow()
                .as_ref()
                .filter(|s| s.owner == owner)
                .and_then(|s| s.tables.get(&id).cloned())
        });
        if uncommitted.is_some() {
            return uncommitted;
        }
        self.tables
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
            .cloned()
    }

    /// Durably writes `stats` as its table's statistics (replacing any before).
    pub fn put(&self, stats: TableStats) -> Result<()> {
        let _writing = self.writing.lock().unwrap_or_else(PoisonError::into_inner);
        let bytes = stats.encode();
        match replace_file(&self.dir, &file_name(stats.table_id), &bytes) {
            Ok(()) | Err(ReplaceError::After(_)) => {}
            Err(ReplaceError::Before(e)) => return Err(e),
        }
        self.tables
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(stats.table_id, Arc::new(stats));
        Ok(())
    }

    /// Forgets the statistics of table `id` and deletes its file (a failure to delete is
    /// logged; startup deletes files of tables no longer in the catalog).
    pub fn remove(&self, id: u64) {
        let _writing = self.writing.lock().unwrap_or_else(PoisonError::into_inner);
        let had = self
            .tables
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id)
            .is_some();
        let path = self.dir.join(file_name(id));
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !had => {}
            Err(e) => eprintln!(
                "basalt: could not delete statistics file {}: {e}",
                path.display()
            ),
        }
    }

    /// The directory holding the files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Makes [`Statistics::get`] on this thread return `uncommitted` (an open transaction's
    /// statistics, by table id) before the committed ones, until the scope is dropped.
    ///
    /// The planner and the catalogs read statistics through the store, which knows nothing
    /// of sessions; a session runs each statement's binding and planning on its own thread,
    /// inside the scope of its transaction, so they see what the transaction analyzed and
    /// no other session does. Scopes nest: dropping one restores the one before.
    pub fn scope(&self, uncommitted: Arc<HashMap<u64, Arc<TableStats>>>) -> StatisticsScope {
        let scope = Scope {
            owner: self as *const Statistics as usize,
            tables: uncommitted,
        };
        let previous = SCOPE.with(|s| s.borrow_mut().replace(scope));
        StatisticsScope {
            previous,
            _not_send: std::marker::PhantomData,
        }
    }
}

/// The uncommitted statistics in force on a thread, and the [`Statistics`] (by address) they
/// belong to, so that another store in the same process is not affected.
#[derive(Debug)]
struct Scope {
    owner: usize,
    tables: Arc<HashMap<u64, Arc<TableStats>>>,
}

thread_local! {
    static SCOPE: std::cell::RefCell<Option<Scope>> = const { std::cell::RefCell::new(None) };
}

/// While alive, an open transaction's statistics are in force on the thread that made it
/// (see [`Statistics::scope`]). Not `Send`: it belongs to its thread.
#[derive(Debug)]
#[must_use = "the statistics are in force only while the scope is alive"]
pub struct StatisticsScope {
    previous: Option<Scope>,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Drop for StatisticsScope {
    fn drop(&mut self) {
        let previous = self.previous.take();
        SCOPE.with(|s| *s.borrow_mut() = previous);
    }
}

/// The file name of table `id`'s statistics.
pub fn file_name(id: u64) -> String {
    format!("{id:020}{STATS_EXTENSION}")
}

fn read_file(path: &Path) -> Result<TableStats> {
    let len = std::fs::metadata(path).map_err(io_at(path))?.len();
    if len > STATS_FILE_BYTES_MAX {
        return Err(Error::corrupt(path, format!("{len} bytes is too large")));
    }
    let bytes = std::fs::read(path).map_err(io_at(path))?;
    TableStats::decode(&bytes).map_err(|e| Error::corrupt(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::ColumnDef;
    use arrow_array::{Decimal128Array, Int32Array, StringArray};

    fn def(name: &str, ty: SqlType) -> ColumnDef {
        ColumnDef {
            name: name.into(),
            ty,
            nullable: true,
            encoding: Default::default(),
        }
    }

    fn sample() -> TableStats {
        let mut a = ColumnAccumulator::new(0, &def("a", SqlType::Integer));
        a.add(&Int32Array::from(vec![Some(1), Some(2), Some(3), Some(3)]))
            .unwrap();
        let mut b = ColumnAccumulator::new(1, &def("b", SqlType::Text));
        b.add(&StringArray::from(vec![Some("abc"), Some("abc"), None]))
            .unwrap();
        let mut b2 = ColumnAccumulator::new(1, &def("b", SqlType::Text));
        b2.add(&StringArray::from(vec![Some("defghij")])).unwrap();
        b.merge(&b2);
        TableStats {
            table_id: 16_384,
            version: 7,
            analyzed_at_us: 1_700_000_000_000_000,
            rows: 4,
            carried_changes: 0,
            marks: vec![SegmentMark {
                id: 3,
                rows: 4,
                deleted: 0,
            }],
            columns: vec![a.finish(), b.finish()],
        }
    }

    // Input: four rows of an integer column (1, 2, 3, 3) and a text column ('abc', 'abc',
    // NULL, 'defghij') gathered in two parts; the figures are PostgreSQL 15's for this table.
    #[test]
    fn figures_match_postgres() {
        let s = sample();
        let a = &s.columns[0];
        assert_eq!(
            (a.null_frac(), a.avg_width(), a.n_distinct()),
            (0.0, 4, -0.75)
        );
        let b = &s.columns[1];
        assert_eq!(
            (b.null_frac(), b.avg_width(), b.n_distinct()),
            (0.25, 5, -0.5)
        );
        assert_eq!(b.distinct, 2);
    }

    // Input: NUMERIC values whose stored widths PostgreSQL 15 reports (1.50 -> 7 bytes,
    // 12345.67 -> 9, 0 -> 3, 0.0001 -> 5, 123456.7891 -> 9, 1.0000 -> 5,
    // -123456789012345678901234567890.12 -> 21, 10^29 -> 5, -0.05 -> 5).
    #[test]
    fn numeric_widths_count_base_10000_digits() {
        let d2 = SqlType::Decimal {
            precision: 10,
            scale: 2,
        };
        let d4 = SqlType::Decimal {
            precision: 12,
            scale: 4,
        };
        assert_eq!(value_width(d2, 0, 150), 7);
        assert_eq!(value_width(d2, 0, 1_234_567), 9);
        assert_eq!(value_width(d2, 0, 0), 3);
        assert_eq!(value_width(d4, 0, 1), 5);
        assert_eq!(value_width(d4, 0, 1_234_567_891), 9);
        assert_eq!(value_width(d4, 0, 10_000), 5);
        // Past 64 bits (PostgreSQL 15: 24, 8 and 8 bytes with a 4-byte header).
        let d36 = SqlType::Decimal {
            precision: 36,
            scale: 2,
        };
        assert_eq!(
            value_width(d36, 0, -12_345_678_901_234_567_890_123_456_789_012),
            21
        );
        assert_eq!(value_width(d36, 0, 10i128.pow(31)), 5);
        assert_eq!(value_width(d2, 0, -5), 5);
        let mut acc = ColumnAccumulator::new(0, &def("c", d2));
        let arr = Decimal128Array::from(vec![Some(150), Some(1_234_567), Some(0), None])
            .with_precision_and_scale(10, 2)
            .unwrap();
        acc.add(&arr).unwrap();
        assert_eq!(acc.finish().avg_width(), 6);
    }

    // Input: the sample statistics encoded, decoded, and then every single byte flipped.
    #[test]
    fn files_round_trip_and_corruption_is_detected() {
        let s = sample();
        let bytes = s.encode();
        assert_eq!(TableStats::decode(&bytes).unwrap(), s);
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x40;
            assert!(TableStats::decode(&bad).is_err(), "byte {i}");
        }
        assert!(TableStats::decode(&bytes[..bytes.len() - 1]).is_err());
        assert!(TableStats::decode(&[]).is_err());
    }

    // Input: statistics of a table with segments 3 (4 rows); then 2 rows appended to it,
    // one deleted, a new segment of 5 rows, and finally segment 3 gone.
    #[test]
    fn changes_count_inserted_and_deleted_rows() {
        let s = sample();
        let mut table = TableMeta {
            id: 16_384,
            def: crate::catalog::TableDef::new("public", "t", vec![def("a", SqlType::Integer)]),
            segments: vec![],
            change_version: 0,
        };
        let seg = |id, rows| crate::catalog::SegmentMeta {
            id,
            rows,
            bytes: 0,
            zone_maps: vec![],
            deleted: Default::default(),
            columns: None,
            resident: None,
        };
        table.segments = vec![seg(3, 4)];
        assert_eq!(s.changes_since(&table), 0);
        assert_eq!(s.stats_off_percent(&table), 0.0);
        table.segments = vec![seg(3, 6)];
        assert_eq!(s.changes_since(&table), 2);
        assert_eq!(s.stats_off_percent(&table), 50.0);
        table.segments = vec![seg(3, 6), seg(9, 5)];
        assert_eq!(s.changes_since(&table), 7);
        assert_eq!(s.stats_off_percent(&table), 100.0);
        table.segments = vec![seg(9, 5)];
        assert_eq!(s.changes_since(&table), 9);
    }

    // Input: a directory with a valid file, a corrupt file, a file of a dropped table and a
    // stray temporary file: only the valid one is loaded, nothing fails.
    #[test]
    fn unreadable_files_are_ignored_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let stats_dir = dir.path().join(STATS_DIR);
        std::fs::create_dir_all(&stats_dir).unwrap();
        let good = sample();
        std::fs::write(stats_dir.join(file_name(16_384)), good.encode()).unwrap();
        let mut corrupt = sample();
        corrupt.table_id = 16_385;
        let mut bytes = corrupt.encode();
        bytes[20] ^= 1;
        std::fs::write(stats_dir.join(file_name(16_385)), bytes).unwrap();
        let mut dropped = sample();
        dropped.table_id = 16_386;
        std::fs::write(stats_dir.join(file_name(16_386)), dropped.encode()).unwrap();
        std::fs::write(stats_dir.join("x.stats.tmp"), b"partial").unwrap();
        let stats = Statistics::open(dir.path(), &[16_384, 16_385]).unwrap();
        assert_eq!(stats.get(16_384).as_deref(), Some(&good));
        assert!(stats.get(16_385).is_none());
        assert!(stats.get(16_386).is_none());
        assert!(!stats_dir.join(file_name(16_386)).exists());
        assert!(!stats_dir.join("x.stats.tmp").exists());
        // put and remove round trip through the disk.
        let mut again = sample();
        again.table_id = 16_385;
        stats.put(again.clone()).unwrap();
        let reopened = Statistics::open(dir.path(), &[16_384, 16_385]).unwrap();
        assert_eq!(reopened.get(16_385).as_deref(), Some(&again));
        reopened.remove(16_385);
        assert!(reopened.get(16_385).is_none());
        assert!(!stats_dir.join(file_name(16_385)).exists());
    }

    #[test]
    fn a_transaction_keeps_its_statistics_until_commit() {
        // Input: a store with table `t`; statistics put in a transaction, seen through its
        // scope on this thread only, undone by a savepoint, discarded by a rollback, and
        // written (to memory and to the file) by a commit that changes nothing else.
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(crate::Store::open(dir.path()).unwrap());
        let mut t = store.begin();
        t.create_table(crate::test_util::int_def("t")).unwrap();
        t.commit().unwrap();
        let id = store.snapshot().table("public", "t").unwrap().id;
        let mut stats = sample();
        stats.table_id = id;

        let mut txn = store.begin();
        let mark = txn.savepoint();
        txn.put_statistics(stats.clone());
        assert!(store.statistics().get(id).is_none());
        {
            let _scope = txn.statistics_scope();
            assert_eq!(store.statistics().get(id).as_deref(), Some(&stats));
            let other = std::thread::spawn({
                let store = store.clone();
                move || store.statistics().get(id).is_none()
            });
            assert!(other.join().unwrap(), "another thread sees no scope");
        }
        assert!(store.statistics().get(id).is_none(), "the scope ended");
        txn.rollback_to(&mark);
        assert!(txn.statistics(id).is_none());
        txn.put_statistics(stats.clone());
        drop(txn);
        assert!(store.statistics().get(id).is_none(), "rolled back");
        assert!(std::fs::read_dir(dir.path().join(STATS_DIR))
            .unwrap()
            .next()
            .is_none());

        let mut txn = store.begin();
        txn.put_statistics(stats.clone());
        txn.commit().unwrap();
        assert_eq!(store.statistics().get(id).as_deref(), Some(&stats));
        let reopened = Statistics::open(dir.path(), &[id]).unwrap();
        assert_eq!(reopened.get(id).as_deref(), Some(&stats));
    }
}
