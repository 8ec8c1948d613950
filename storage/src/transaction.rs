//! Write transactions: a working view over a pinned base manifest, segment files written as
//! rows are appended, and the commit that publishes them (protocol in `docs/transactions.md`).
//!
//! ```text
//!           create_table / drop_table / append
//!                  +------+
//!                  v      |
//!  begin --> [ Open ] ----+
//!               |  \
//!               |   \-- dropped, or commit refused (conflict, I/O error before the rename)
//!               |        --> rollback: delete every segment file it wrote
//!               |
//!               +-- commit published --> [ Committed ]: delete only the segment files of
//!               |                         tables it created or appended to and then dropped
//!               +-- commit failed after the manifest rename --> [ Indeterminate ]:
//!                                         delete nothing (the manifest may refer to them)
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use arrow_array::{Array, RecordBatch};

use crate::catalog::{Manifest, SegmentMeta, TableDef, TableMeta};
use crate::durable::{create_dir, sync_dir};
use crate::error::{Error, Result};
use crate::segment::physical::PhysicalType;
use crate::segment::writer::{
    span_string_bytes, split_rows, write_segment, write_segment_gathering,
};
use crate::segment::{SEGMENT_ROWS_MAX, SEGMENT_STRING_BYTES_MAX};
use crate::statistics::{ColumnAccumulator, StatisticsScope, TableStats};
use crate::store::{Changes, CommitError, Store, PENDING_BYTES_MAX, PENDING_ROWS_MAX};
use crate::types::{SqlType, DECIMAL_PRECISION_MAX};

/// Where a transaction stands; see the module diagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Open,
    Committed,
    Indeterminate,
}

/// A write transaction.
///
/// Reads see the base manifest pinned by [`Store::begin`] plus the transaction's own changes
/// ([`Transaction::snapshot`]). Appended rows go to new segment files at once, fsynced but
/// referenced by no manifest until [`Transaction::commit`]. Dropping a transaction without
/// committing rolls it back.
#[derive(Debug)]
pub struct Transaction {
    store: Arc<Store>,
    base: Arc<Manifest>,
    /// The base plus this transaction's changes; `None` until the first change, so read-only
    /// transactions never copy the manifest.
    view: Option<Manifest>,
    /// Tables created here and still in the view, in creation order.
    created: Vec<u64>,
    /// Every table created here, dropped again or not (their directories are ours to remove).
    created_ever: BTreeSet<u64>,
    /// Base tables dropped here, with their names.
    dropped: BTreeMap<u64, String>,
    /// Base tables appended to here, with their names and new segments.
    appended: BTreeMap<u64, (String, Vec<SegmentMeta>)>,
    /// Base tables whose rows were deleted or truncated here, with their names.
    modified: BTreeMap<u64, String>,
    /// Base tables truncated here.
    truncated: BTreeSet<u64>,
    /// Base tables whose definition (name, column names, owner, comments) changed here: a
    /// subset of `modified`.
    redefined: BTreeSet<u64>,
    /// Resident segments appended here (small appends, rows in memory until commit).
    pending: BTreeSet<u64>,
    /// Rows and bytes held in resident segments here, per table.
    pending_size: BTreeMap<u64, (u64, u64)>,
    /// Whether the security catalog (roles, grants) was changed here.
    security_changed: bool,
    /// Every segment file written here, as (table id, segment id).
    written: Vec<(u64, u64)>,
    /// After a commit: the written segments no manifest refers to.
    garbage: Vec<(u64, u64)>,
    /// True once the external catalog was replaced here.
    external_changed: bool,
    /// True once the views and indexes were replaced here.
    objects_changed: bool,
    /// Statistics ANALYZE gathered here, by table id: written after the commit publishes,
    /// discarded on rollback.
    statistics: Arc<HashMap<u64, Arc<TableStats>>>,
    /// Tables whose appended segments gather their statistics as they are written
    /// ([`Transaction::gather_statistics`]), with what each segment gathered.
    gathering: BTreeMap<u64, GatheredStatistics>,
    state: State,
}

/// The statistics of segments gathered as they were written: per segment id, one
/// accumulator per column of the table, in column order.
pub type GatheredStatistics = BTreeMap<u64, Vec<ColumnAccumulator>>;

impl Transaction {
    pub(crate) fn new(store: Arc<Store>, base: Arc<Manifest>) -> Transaction {
        Transaction {
            store,
            base,
            view: None,
            created: Vec::new(),
            created_ever: BTreeSet::new(),
            dropped: BTreeMap::new(),
            appended: BTreeMap::new(),
            modified: BTreeMap::new(),
            truncated: BTreeSet::new(),
            redefined: BTreeSet::new(),
            pending: BTreeSet::new(),
            pending_size: BTreeMap::new(),
            security_changed: false,
            written: Vec::new(),
            garbage: Vec::new(),
            external_changed: false,
            objects_changed: false,
            statistics: Arc::new(HashMap::new()),
            gathering: BTreeMap::new(),
            state: State::Open,
        }
    }

    /// The transaction's working view: its base version plus its own uncommitted changes.
    /// Its `version` is the base version.
    pub fn snapshot(&self) -> &Manifest {
        self.view.as_ref().unwrap_or(&self.base)
    }

    /// The committed version this transaction started from.
    pub fn base(&self) -> &Arc<Manifest> {
        &self.base
    }

    fn view_mut(&mut self) -> &mut Manifest {
        let base = &self.base;
        self.view.get_or_insert_with(|| (**base).clone())
    }

    /// Replaces the external catalog (external schemas and tables) with `catalog`. At commit,
    /// another commit that changed it after this transaction's base is a conflict.
    pub fn set_external(&mut self, catalog: crate::external::ExternalCatalog) -> Result<()> {
        catalog.check().map_err(Error::Internal)?;
        self.view_mut().external = catalog;
        self.external_changed = true;
        Ok(())
    }

    /// Replaces the views and indexes with `objects`, which may only name relations of this
    /// transaction's view. At commit, another commit that changed them after this
    /// transaction's base is a conflict.
    pub fn set_objects(&mut self, objects: crate::objects::Objects) -> Result<()> {
        objects
            .check(self.snapshot())
            .map_err(|e| Error::Internal(format!("views and indexes: {e}")))?;
        self.view_mut().objects = objects;
        self.objects_changed = true;
        Ok(())
    }

    /// A fresh relation id (a `pg_class` OID) for a view or an index, never handed out
    /// before.
    pub fn allocate_relation_id(&self) -> u64 {
        self.store.allocate_table_id()
    }

    /// Creates table `def.schema`.`def.name` with a fresh id.
    pub fn create_table(&mut self, def: TableDef) -> Result<()> {
        check_def(&def)?;
        check_name_free(self.snapshot(), &def, None)?;
        let id = self.store.allocate_table_id();
        let change_version = self.base.version;
        self.view_mut().tables.push(TableMeta {
            id,
            def,
            segments: Vec::new(),
            change_version,
        });
        self.created.push(id);
        self.created_ever.insert(id);
        Ok(())
    }

    /// Replaces the security catalog (roles, memberships, grants) with `security`. The commit
    /// fails with a serialization conflict if another commit after the base version changed
    /// it too.
    pub fn set_security(&mut self, security: crate::security::Security) -> Result<()> {
        security
            .check()
            .map_err(|e| Error::Internal(format!("security catalog: {e}")))?;
        self.view_mut().security = security;
        self.security_changed = true;
        Ok(())
    }

    /// Drops table `schema`.`name`. Its files stay until no kept manifest refers to them.
    pub fn drop_table(&mut self, schema: &str, name: &str) -> Result<()> {
        let id = self
            .snapshot()
            .table(schema, name)
            .map(|t| t.id)
            .ok_or_else(|| Error::NoSuchTable(name.to_string()))?;
        self.view_mut().tables.retain(|t| t.id != id);
        if let Some(at) = self.created.iter().position(|c| *c == id) {
            self.created.remove(at);
        } else {
            self.dropped.insert(id, name.to_string());
            self.appended.remove(&id);
            self.modified.remove(&id);
            self.truncated.remove(&id);
            self.redefined.remove(&id);
        }
        Ok(())
    }

    /// Replaces the definition of table `id` with `def` (ALTER TABLE ... RENAME, OWNER TO,
    /// ADD / DROP COLUMN, ALTER COLUMN TYPE, COMMENT ON): the name, the schema, column
    /// names, the owner, the comments and the attributes that name columns may change, and
    /// columns may come and go under new stable ids ([`TableDef::column_ids`]; see
    /// [`TableDef::add_column`] and [`TableDef::drop_column`]). A column keeping its id keeps
    /// its storage (its Arrow and physical type) and does not become NOT NULL; a new NOT NULL
    /// column needs a default or a table without rows. Segments keep the columns they hold:
    /// readers fill the added ones and skip the dropped ones. A new name must be free in its
    /// schema. At commit, another commit that changed the table after the base version is a
    /// conflict, as is one that took the new name meanwhile or appended rows of the old
    /// columns.
    pub fn redefine_table(&mut self, id: u64, def: TableDef) -> Result<()> {
        check_def(&def)?;
        let snapshot = self.snapshot();
        let old = snapshot
            .table_by_id(id)
            .ok_or_else(|| Error::NoSuchTable(def.name.clone()))?;
        let refuse = |what: String| {
            Err(Error::Internal(format!(
                "table {}: {what}",
                old.def.qualified_name()
            )))
        };
        let old_ids = old.def.ids();
        let new_ids = def.ids();
        if def.next_column_id != 0 && def.next_column_id < old.def.next_column_id {
            return refuse("the column id counter went back".into());
        }
        for (i, column) in def.columns.iter().enumerate() {
            match old.def.column_of_id(new_ids[i]) {
                Some(o) => {
                    let was = &old.def.columns[o];
                    let same_storage = was.ty.arrow_type() == column.ty.arrow_type()
                        && PhysicalType::of(was.ty) == PhysicalType::of(column.ty);
                    if !same_storage || (was.nullable && !column.nullable) {
                        return refuse(format!(
                            "column {} may not change from {} to {} or become NOT NULL",
                            column.name, was.ty, column.ty
                        ));
                    }
                }
                None => {
                    let next = old.def.next_column_id.max(old_ids.len() as u32);
                    if new_ids[i] < next {
                        return refuse(format!("column id {} was used before", new_ids[i]));
                    }
                    if !column.nullable
                        && def.default_value(i).ok().flatten().is_none()
                        && old.rows() > 0
                    {
                        return refuse(format!(
                            "a NOT NULL column {} without a default for its rows",
                            column.name
                        ));
                    }
                }
            }
        }
        if (old.def.schema.as_str(), old.def.name.as_str()) != (&def.schema, &def.name) {
            check_name_free(snapshot, &def, Some(id))?;
        }
        let old_name = old.def.name.clone();
        let reshaped = old_ids != new_ids;
        let old_def = old.def.clone();
        let pending = self.pending.clone();
        let table = self
            .view_mut()
            .table_by_id_mut(id)
            .ok_or_else(|| Error::Internal(format!("table {id} left the view")))?;
        if reshaped {
            let held: Arc<[u32]> = old_ids.into();
            for s in &mut table.segments {
                if s.columns.is_some() {
                    continue;
                }
                match (&s.resident, pending.contains(&s.id)) {
                    // This transaction's own small appends take the new columns now, so
                    // that they merge with the rows it appends after.
                    (Some(resident), true) => {
                        let rows = resident.read(&old_def.arrow_schema(), s.rows)?;
                        let rows = def.conform(&held, &rows).map_err(Error::Internal)?;
                        s.zone_maps =
                            crate::wal::zone_maps_of(&def, &rows).map_err(Error::Internal)?;
                        s.resident = Some(Arc::new(crate::resident::Resident::with(rows)));
                    }
                    _ => s.columns = Some(held.clone()),
                }
            }
        }
        table.def = def;
        if !self.created.contains(&id) {
            self.redefined.insert(id);
            self.mark_modified(id, &old_name);
        }
        Ok(())
    }

    /// From now on, segment files appended to table `table_id` gather ANALYZE's statistics of
    /// their columns as they are written (COPY's STATUPDATE), for
    /// [`Transaction::take_gathered_statistics`].
    pub fn gather_statistics(&mut self, table_id: u64) {
        self.gathering.entry(table_id).or_default();
    }

    /// The statistics gathered for table `table_id`'s segment files appended since
    /// [`Transaction::gather_statistics`], by segment id (segments a savepoint rolled back
    /// included: look them up by the ids of a table's segments). Gathering stops.
    pub fn take_gathered_statistics(&mut self, table_id: u64) -> GatheredStatistics {
        self.gathering.remove(&table_id).unwrap_or_default()
    }

    /// Appends `batches` (whose columns match the table's in number and Arrow type, with no
    /// NULLs in NOT NULL columns) to table `schema`.`name`.
    ///
    /// The rows are written to new segment files of at most [`SEGMENT_ROWS_MAX`] rows at once
    /// and fsynced; empty batches are skipped. Either every row is appended or, on error, none.
    pub fn append(&mut self, schema: &str, name: &str, batches: &[RecordBatch]) -> Result<()> {
        self.append_as(schema, name, batches, true)
    }

    /// [`Transaction::append`]; `small_ok` false writes segment files even for few rows.
    fn append_as(
        &mut self,
        schema: &str,
        name: &str,
        batches: &[RecordBatch],
        small_ok: bool,
    ) -> Result<()> {
        let table = self
            .snapshot()
            .table(schema, name)
            .ok_or_else(|| Error::NoSuchTable(name.to_string()))?;
        let (table_id, def) = (table.id, table.def.clone());
        let batches: Vec<&RecordBatch> = batches.iter().filter(|b| b.num_rows() > 0).collect();
        for batch in &batches {
            check_batch(&def, batch)?;
        }
        if batches.is_empty() {
            return Ok(());
        }
        let sorted;
        let batches: Vec<&RecordBatch> = match sort_by_key(&def, &batches)? {
            Some(batch) => {
                sorted = batch;
                vec![&sorted]
            }
            None => batches,
        };

        let lens: Vec<usize> = batches.iter().map(|b| b.num_rows()).collect();
        let total: u64 = lens.iter().map(|n| *n as u64).sum();
        let bytes: u64 = batches.iter().map(|b| crate::wal::batch_bytes(b)).sum();
        let (held_rows, held_bytes) = self
            .pending_size
            .get(&table_id)
            .copied()
            .unwrap_or_default();
        let options = self.store.options();
        if small_ok
            && total <= options.wal_append_rows_max
            && held_rows + total <= PENDING_ROWS_MAX
            && held_bytes + bytes <= PENDING_BYTES_MAX
        {
            return self.append_resident(table_id, name, &def, &batches, total, bytes);
        }
        let string_columns: Vec<usize> = (0..def.columns.len())
            .filter(|c| def.columns.get(*c).is_some_and(|col| col.ty.is_string()))
            .collect();
        // The cost of a span is its largest column's string bytes, so that every string column
        // of a segment fits one Arrow Utf8 array.
        let cost = |i: usize, first: usize, n: usize| -> u64 {
            let Some(batch) = batches.get(i) else {
                return 0;
            };
            string_columns
                .iter()
                .map(|c| span_string_bytes(batch.column(*c).as_ref(), first, n))
                .max()
                .unwrap_or(0)
        };
        let chunks = split_rows(
            &lens,
            SEGMENT_ROWS_MAX as usize,
            SEGMENT_STRING_BYTES_MAX,
            cost,
        );

        create_dir(&self.store.table_dir(table_id))?;
        let mut segments = Vec::with_capacity(chunks.len());
        let mut result = Ok(());
        for chunk in chunks {
            let slices: Vec<RecordBatch> = chunk
                .iter()
                .filter_map(|(i, first, n)| batches.get(*i).map(|b| b.slice(*first, *n)))
                .collect();
            let segment_id = self.store.allocate_segment_id();
            let path = self.store.segment_path(table_id, segment_id);
            let written = match self.gathering.get_mut(&table_id) {
                Some(gathered) => write_segment_gathering(
                    &path, table_id, segment_id, &def, &slices,
                )
                .map(|(meta, stats)| {
                    gathered.insert(segment_id, stats);
                    meta
                }),
                None => write_segment(&path, table_id, segment_id, &def, &slices),
            };
            match written {
                Ok(meta) => segments.push(meta),
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        if let Err(e) = result {
            for segment in &segments {
                let _ = std::fs::remove_file(self.store.segment_path(table_id, segment.id));
            }
            return Err(e);
        }
        let rows: u64 = segments.iter().map(|s| s.rows).sum();
        if rows != lens.iter().map(|n| *n as u64).sum::<u64>() {
            return Err(Error::Internal(format!(
                "wrote {rows} rows for an append of {lens:?}"
            )));
        }

        self.written
            .extend(segments.iter().map(|s| (table_id, s.id)));
        let view_table = self
            .view_mut()
            .table_by_id_mut(table_id)
            .ok_or_else(|| Error::Internal(format!("table {table_id} left the view")))?;
        view_table.segments.extend(segments.iter().cloned());
        if !self.created.contains(&table_id) {
            self.appended
                .entry(table_id)
                .or_insert_with(|| (name.to_string(), Vec::new()))
                .1
                .extend(segments);
        }
        Ok(())
    }

    /// A small append: the rows stay in memory as a resident segment of this transaction
    /// until commit, which writes them to the WAL (or, with DDL, to a segment file).
    fn append_resident(
        &mut self,
        table_id: u64,
        name: &str,
        def: &TableDef,
        batches: &[&RecordBatch],
        rows: u64,
        bytes: u64,
    ) -> Result<()> {
        let schema = def.arrow_schema();
        let arrow = |e: arrow_schema::ArrowError| {
            Error::Internal(format!("rows for {}: {e}", def.qualified_name()))
        };
        let normalized = batches
            .iter()
            .map(|b| RecordBatch::try_new(schema.clone(), b.columns().to_vec()))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(arrow)?;
        let batch = arrow_select::concat::concat_batches(&schema, &normalized).map_err(arrow)?;
        let zone_maps = crate::wal::zone_maps_of(def, &batch).map_err(Error::Internal)?;
        let segment = SegmentMeta {
            id: self.store.allocate_segment_id(),
            rows,
            bytes,
            zone_maps,
            deleted: crate::DeleteVector::new(),
            columns: None,
            resident: Some(Arc::new(crate::resident::Resident::with(batch))),
        };
        self.pending.insert(segment.id);
        let held = self.pending_size.entry(table_id).or_default();
        held.0 += rows;
        held.1 += bytes;
        let view_table = self
            .view_mut()
            .table_by_id_mut(table_id)
            .ok_or_else(|| Error::Internal(format!("table {table_id} left the view")))?;
        view_table.segments.push(segment.clone());
        if !self.created.contains(&table_id) {
            self.appended
                .entry(table_id)
                .or_insert_with(|| (name.to_string(), Vec::new()))
                .1
                .push(segment);
        }
        Ok(())
    }

    /// Deletes rows of table `schema`.`name`: `rows` maps segment ids to row positions within
    /// them (in any order; rows already deleted are ignored). Returns how many rows were newly
    /// deleted. Nothing is written until commit: the new delete vectors live in the view.
    pub fn delete_rows(
        &mut self,
        schema: &str,
        name: &str,
        rows: &BTreeMap<u64, Vec<u32>>,
    ) -> Result<u64> {
        let table = self
            .snapshot()
            .table(schema, name)
            .ok_or_else(|| Error::NoSuchTable(name.to_string()))?;
        let table_id = table.id;
        let mut updated = Vec::with_capacity(rows.len());
        let mut deleted = 0u64;
        for (segment_id, positions) in rows {
            let Some((at, segment)) = table
                .segments
                .iter()
                .enumerate()
                .find(|(_, s)| s.id == *segment_id)
            else {
                return Err(Error::Internal(format!(
                    "delete from segment {segment_id}, which table {} does not hold",
                    table.def.qualified_name()
                )));
            };
            if let Some(bad) = positions.iter().find(|p| u64::from(**p) >= segment.rows) {
                return Err(Error::Internal(format!(
                    "delete of row {bad} of segment {segment_id} of {} rows",
                    segment.rows
                )));
            }
            let vector = segment.deleted.with_rows(positions.iter().copied());
            deleted += vector.count() - segment.deleted.count();
            updated.push((at, vector));
        }
        if deleted == 0 {
            return Ok(0);
        }
        let view_table = self
            .view_mut()
            .table_by_id_mut(table_id)
            .ok_or_else(|| Error::Internal(format!("table {table_id} left the view")))?;
        for (at, vector) in updated {
            if let Some(segment) = view_table.segments.get_mut(at) {
                segment.deleted = vector;
            }
        }
        self.mark_modified(table_id, name);
        Ok(deleted)
    }

    /// Removes every row of table `schema`.`name` (TRUNCATE). Returns how many live rows it
    /// held. The segment files stay until no kept manifest refers to them.
    pub fn truncate(&mut self, schema: &str, name: &str) -> Result<u64> {
        let table = self
            .snapshot()
            .table(schema, name)
            .ok_or_else(|| Error::NoSuchTable(name.to_string()))?;
        let (table_id, rows) = (table.id, table.live_rows());
        let view_table = self
            .view_mut()
            .table_by_id_mut(table_id)
            .ok_or_else(|| Error::Internal(format!("table {table_id} left the view")))?;
        view_table.segments.clear();
        if let Some((_, segments)) = self.appended.get_mut(&table_id) {
            segments.clear();
        }
        self.pending_size.remove(&table_id);
        if !self.created.contains(&table_id) {
            self.truncated.insert(table_id);
        }
        self.mark_modified(table_id, name);
        Ok(rows)
    }

    /// Rewrites table `schema`.`name` (VACUUM): its live rows are read from every segment and
    /// appended again, sorted by its sort key, as new segments of at most
    /// [`SEGMENT_ROWS_MAX`] rows, which replace the old ones; deleted rows are left behind and
    /// small segments merged. Returns the number of rows kept, or `None` when the table is
    /// already one segment without deleted rows (nothing to gain). The old segment files stay
    /// until no kept manifest refers to them. The whole table is read into memory.
    pub fn rewrite(&mut self, schema: &str, name: &str) -> Result<Option<u64>> {
        let table = self
            .snapshot()
            .table(schema, name)
            .ok_or_else(|| Error::NoSuchTable(name.to_string()))?
            .clone();
        let deleted = table.rows() != table.live_rows();
        let resident = table.segments.iter().any(SegmentMeta::is_resident);
        if table.segments.len() <= 1 && !deleted && !resident {
            return Ok(None);
        }
        let all: Vec<usize> = (0..table.def.columns.len()).collect();
        let batches = table
            .segments
            .iter()
            .map(|segment| self.store.read_segment(&table, segment, &all))
            .collect::<Result<Vec<_>>>()?;
        self.truncate(schema, name)?;
        self.append_as(schema, name, &batches, false)?;
        Ok(Some(table.live_rows()))
    }

    /// Records that base table `id` changed other than by appending (tables created here need
    /// no record: the view's copy is published whole).
    fn mark_modified(&mut self, id: u64, name: &str) {
        if !self.created.contains(&id) {
            self.modified.entry(id).or_insert_with(|| name.to_string());
        }
    }

    /// Keeps `stats` (ANALYZE's, of a table this transaction sees) as the table's statistics
    /// within this transaction: its own statements see them (see
    /// [`Transaction::statistics_scope`]), the commit writes them, a rollback discards them.
    pub fn put_statistics(&mut self, stats: TableStats) {
        Arc::make_mut(&mut self.statistics).insert(stats.table_id, Arc::new(stats));
    }

    /// The statistics gathered here of table `id`, else the committed ones.
    pub fn statistics(&self, id: u64) -> Option<Arc<TableStats>> {
        match self.statistics.get(&id) {
            Some(s) => Some(s.clone()),
            None => self.store.statistics().get(id),
        }
    }

    /// Puts the statistics gathered here in force for the store's readers on this thread (the
    /// planner, the catalogs) while the scope lives.
    pub fn statistics_scope(&self) -> StatisticsScope {
        self.store.statistics().scope(self.statistics.clone())
    }

    /// Writes the statistics gathered here of the tables `published` holds (a table dropped
    /// after it was analyzed keeps none). After the commit published: statistics are advisory,
    /// so a failure to write them is logged, not a failure of the commit.
    fn publish_statistics(&self, published: &Manifest) {
        for (id, stats) in self.statistics.iter() {
            if published.table_by_id(*id).is_none() {
                continue;
            }
            if let Err(e) = self.store.statistics().put(TableStats::clone(stats)) {
                eprintln!("basalt: could not write the statistics of table {id}: {e}");
            }
        }
    }

    /// A mark to come back to with [`Transaction::rollback_to`] (SQL's SAVEPOINT): the
    /// transaction's view and its record of changes as they stand now.
    pub fn savepoint(&self) -> Savepoint {
        Savepoint {
            view: self.view.clone(),
            created: self.created.clone(),
            dropped: self.dropped.clone(),
            appended: self.appended.clone(),
            modified: self.modified.clone(),
            truncated: self.truncated.clone(),
            redefined: self.redefined.clone(),
            pending: self.pending.clone(),
            pending_size: self.pending_size.clone(),
            security_changed: self.security_changed,
            external_changed: self.external_changed,
            statistics: self.statistics.clone(),
            written: self.written.len(),
        }
    }

    /// Undoes every change made since `mark` was taken (ROLLBACK TO SAVEPOINT): the view and
    /// the record of changes go back to the mark, and the segment files written since are
    /// deleted. No reader can hold them: every snapshot taken since is discarded with them.
    /// The transaction stays open; `mark` can be rolled back to again.
    pub fn rollback_to(&mut self, mark: &Savepoint) {
        self.view = mark.view.clone();
        self.created = mark.created.clone();
        self.dropped = mark.dropped.clone();
        self.appended = mark.appended.clone();
        self.modified = mark.modified.clone();
        self.truncated = mark.truncated.clone();
        self.redefined = mark.redefined.clone();
        self.pending = mark.pending.clone();
        self.pending_size = mark.pending_size.clone();
        self.security_changed = mark.security_changed;
        self.external_changed = mark.external_changed;
        self.statistics = mark.statistics.clone();
        // Tables created since stay in `created_ever`: their directories go at the end.
        let since = self.written.split_off(mark.written.min(self.written.len()));
        for (table, segment) in since {
            let _ = std::fs::remove_file(self.store.segment_path(table, segment));
        }
    }

    /// Commits: checks for conflicting commits since the base version, then durably publishes
    /// a new manifest version holding this transaction's changes on top of the newest version.
    /// Returns the published manifest (or, when nothing changed, the latest one).
    ///
    /// Fails with [`Error::SerializationConflict`] when a table this transaction created,
    /// dropped, appended to, deleted from or truncated was created, dropped or changed by a
    /// commit after the base version; then nothing is written and this transaction's segment files are deleted.
    pub fn commit(mut self) -> Result<Arc<Manifest>> {
        let Some(view) = self.view.as_ref() else {
            self.state = State::Committed;
            let latest = self.store.snapshot();
            self.publish_statistics(&latest);
            return Ok(latest);
        };
        if self.created.is_empty()
            && self.dropped.is_empty()
            && self.appended.is_empty()
            && self.modified.is_empty()
            && !self.security_changed
            && !self.external_changed
            && !self.objects_changed
        {
            self.garbage = std::mem::take(&mut self.written);
            self.state = State::Committed;
            let latest = self.store.snapshot();
            self.publish_statistics(&latest);
            return Ok(latest);
        }

        // The segment files were fsynced when written; make their names durable too.
        let with_files: BTreeSet<u64> = self.written.iter().map(|(t, _)| *t).collect();
        let surviving: Vec<u64> = self
            .appended
            .keys()
            .copied()
            .chain(self.created.iter().copied())
            .filter(|id| with_files.contains(id) && view.table_by_id(*id).is_some())
            .collect();
        for id in &surviving {
            sync_dir(&self.store.table_dir(*id))?;
        }
        if !surviving.is_empty() {
            sync_dir(&self.store.tables_dir())?;
        }

        let changes = Changes {
            base_version: self.base.version,
            view,
            created: &self.created,
            dropped: &self.dropped,
            appended: &self.appended,
            modified: &self.modified,
            truncated: &self.truncated,
            redefined: &self.redefined,
            pending: &self.pending,
            security_changed: self.security_changed,
            external_base: self.external_changed.then_some(&self.base.external),
            objects_base: self.objects_changed.then_some(&self.base.objects),
        };
        match self.store.commit(&changes) {
            Ok(published) => {
                // A dropped table's statistics go with it.
                for id in self.dropped.keys() {
                    self.store.statistics().remove(*id);
                }
                self.publish_statistics(&published);
                let kept: HashSet<(u64, u64)> = published
                    .tables
                    .iter()
                    .flat_map(|t| t.segments.iter().map(move |s| (t.id, s.id)))
                    .collect();
                self.garbage = std::mem::take(&mut self.written)
                    .into_iter()
                    .filter(|key| !kept.contains(key))
                    .collect();
                self.state = State::Committed;
                Ok(published)
            }
            Err(CommitError::NothingWritten(e)) => Err(e),
            Err(CommitError::Indeterminate(e)) => {
                self.state = State::Indeterminate;
                Err(e)
            }
        }
    }

    /// Deletes segment files no manifest refers to, and the directories of tables created here
    /// that no manifest holds. Failures are left to the next startup's garbage collection.
    fn clean_up(&mut self) {
        let (files, dirs): (Vec<(u64, u64)>, Vec<u64>) = match self.state {
            State::Indeterminate => return,
            State::Open => (
                std::mem::take(&mut self.written),
                self.created_ever.iter().copied().collect(),
            ),
            State::Committed => (
                std::mem::take(&mut self.garbage),
                self.created_ever
                    .iter()
                    .copied()
                    .filter(|id| !self.created.contains(id))
                    .collect(),
            ),
        };
        for (table, segment) in files {
            let _ = std::fs::remove_file(self.store.segment_path(table, segment));
        }
        for table in dirs {
            // Only tables created here: no other transaction can be writing into them.
            let _ = std::fs::remove_dir(self.store.table_dir(table));
        }
    }
}

/// A transaction's state at a SAVEPOINT, taken by [`Transaction::savepoint`].
#[derive(Clone, Debug)]
pub struct Savepoint {
    view: Option<Manifest>,
    created: Vec<u64>,
    dropped: BTreeMap<u64, String>,
    appended: BTreeMap<u64, (String, Vec<SegmentMeta>)>,
    modified: BTreeMap<u64, String>,
    truncated: BTreeSet<u64>,
    redefined: BTreeSet<u64>,
    pending: BTreeSet<u64>,
    pending_size: BTreeMap<u64, (u64, u64)>,
    security_changed: bool,
    external_changed: bool,
    statistics: Arc<HashMap<u64, Arc<TableStats>>>,
    /// How many segment files the transaction had written.
    written: usize,
}

impl Drop for Transaction {
    fn drop(&mut self) {
        self.clean_up();
    }
}

/// Checks that `def`'s name is free in its schema of `snapshot` (but for table `own`, the
/// table being renamed) and that the schema exists.
fn check_name_free(snapshot: &Manifest, def: &TableDef, own: Option<u64>) -> Result<()> {
    if snapshot
        .table(&def.schema, &def.name)
        .is_some_and(|t| Some(t.id) != own)
        || snapshot.objects.view(&def.schema, &def.name).is_some()
        || snapshot.objects.index(&def.schema, &def.name).is_some()
    {
        return Err(Error::TableExists(def.name.clone()));
    }
    if !snapshot.objects.has_schema(&def.schema) {
        return Err(Error::Internal(format!(
            "table {}.{} in schema {}, which does not exist",
            def.schema, def.name, def.schema
        )));
    }
    Ok(())
}

/// Checks what storage relies on in a table definition.
fn check_def(def: &TableDef) -> Result<()> {
    def.check_attributes()
        .map_err(|e| Error::Internal(format!("table {}: {e}", def.qualified_name())))?;
    for column in &def.columns {
        if let SqlType::Array { .. } = column.ty {
            return Err(Error::Internal(format!(
                "column {} has type {}: tables have no array columns",
                column.name, column.ty
            )));
        }
        if let SqlType::Decimal { precision, scale } = column.ty {
            if precision == 0
                || precision > DECIMAL_PRECISION_MAX
                || scale < 0
                || scale as u8 > precision
            {
                return Err(Error::Internal(format!(
                    "column {} has type {}, outside DECIMAL(1..=38, 0..=precision)",
                    column.name, column.ty
                )));
            }
        }
    }
    Ok(())
}

/// The rows of `batches` as one batch sorted by `def`'s sort key (ascending, NULLs last, in
/// key order; rows with equal keys in any order), or `None` when the table has no sort key
/// and the rows are appended as given.
fn sort_by_key(def: &TableDef, batches: &[&RecordBatch]) -> Result<Option<RecordBatch>> {
    let key = def.sort_columns();
    if key.is_empty() {
        return Ok(None);
    }
    let arrow = |e: arrow_schema::ArrowError| {
        Error::Internal(format!("sorting rows of {}: {e}", def.qualified_name()))
    };
    let all = arrow_select::concat::concat_batches(&def.arrow_schema(), batches.iter().copied())
        .map_err(arrow)?;
    let options = arrow_ord::sort::SortOptions {
        descending: false,
        nulls_first: false,
    };
    let columns: Vec<arrow_ord::sort::SortColumn> = key
        .iter()
        .map(|c| arrow_ord::sort::SortColumn {
            values: all.column(*c).clone(),
            options: Some(options),
        })
        .collect();
    let indices = arrow_ord::sort::lexsort_to_indices(&columns, None).map_err(arrow)?;
    let sorted = arrow_select::take::take_record_batch(&all, &indices).map_err(arrow)?;
    Ok(Some(sorted))
}

/// Checks that `batch` fits table `def`: the caller (the engine) is expected to have cast the
/// values and enforced NOT NULL, so a mismatch is a bug on our side.
fn check_batch(def: &TableDef, batch: &RecordBatch) -> Result<()> {
    if batch.num_columns() != def.columns.len() {
        return Err(Error::Internal(format!(
            "a batch of {} columns for table {} of {}",
            batch.num_columns(),
            def.qualified_name(),
            def.columns.len()
        )));
    }
    for (column, array) in def.columns.iter().zip(batch.columns()) {
        let expected = column.ty.arrow_type();
        if array.data_type() != &expected {
            return Err(Error::Internal(format!(
                "column {} of {} is {}, given {}",
                column.name,
                def.qualified_name(),
                expected,
                array.data_type()
            )));
        }
        if !column.nullable && array.null_count() > 0 {
            return Err(Error::Internal(format!(
                "NULL in NOT NULL column {} of {}",
                column.name,
                def.qualified_name()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use arrow_array::{Int32Array, Int64Array};

    use super::*;
    use crate::test_util::{
        all_types_def, generated_batch, int_batch, int_def, int_values, segment_files,
    };

    /// A store whose every append writes segment files (the WAL's own tests are in
    /// `wal_tests`).
    fn open(dir: &Path) -> Arc<Store> {
        Arc::new(crate::test_util::open_files_only(dir))
    }

    fn create(store: &Arc<Store>, name: &str) {
        let mut txn = store.begin();
        txn.create_table(int_def(name)).unwrap();
        txn.commit().unwrap();
    }

    #[test]
    fn a_transaction_reads_its_own_writes_and_nobody_else_does() {
        // Input: a transaction that creates `t` and appends 0..100 to it, observed from the
        // transaction, from the store and from a concurrent transaction before it commits.
        let tmp = tempfile::tempdir().unwrap();
        let store = open(tmp.path());
        let mut txn = store.begin();
        txn.create_table(int_def("t")).unwrap();
        txn.append("public", "t", &[int_batch(0..100)]).unwrap();

        let view = txn.snapshot();
        assert_eq!(view.version, 0);
        assert_eq!(int_values(&store, view, "t"), (0..100).collect::<Vec<_>>());
        assert!(store.snapshot().table("public", "t").is_none());
        let other = store.begin();
        assert!(other.snapshot().table("public", "t").is_none());

        let committed = txn.commit().unwrap();
        assert_eq!(committed.version, 1);
        assert_eq!(int_values(&store, &store.snapshot(), "t").len(), 100);
        // The other transaction keeps its pinned base.
        assert!(other.snapshot().table("public", "t").is_none());
    }

    #[test]
    fn rollback_leaves_no_files() {
        // Input: a committed table `kept` (0..10); then a dropped transaction that created `t`
        // with 50,000 rows and appended 10..20 to `kept`.
        let tmp = tempfile::tempdir().unwrap();
        let store = open(tmp.path());
        create(&store, "kept");
        let mut txn = store.begin();
        txn.append("public", "kept", &[int_batch(0..10)]).unwrap();
        txn.commit().unwrap();
        let before = segment_files(tmp.path());
        assert_eq!(before.len(), 1);

        let mut txn = store.begin();
        txn.create_table(int_def("t")).unwrap();
        txn.append("public", "t", &[int_batch(0..50_000)]).unwrap();
        txn.append("public", "kept", &[int_batch(10..20)]).unwrap();
        assert_eq!(segment_files(tmp.path()).len(), 3);
        drop(txn);

        assert_eq!(segment_files(tmp.path()), before);
        let t_dir = store.table_dir(store.snapshot().tables[0].id + 1);
        assert!(!t_dir.exists());
        assert_eq!(store.snapshot().version, 2);
        assert_eq!(int_values(&store, &store.snapshot(), "kept").len(), 10);
    }

    #[test]
    fn rollback_to_a_savepoint_undoes_exactly_the_later_changes() {
        // Input: a committed table `t` holding 0..10; a transaction that appends 10..20,
        // takes a savepoint, then appends 20..30, deletes rows of the first segment, creates
        // `u`; rolled back to the savepoint (twice), appended 30..40, committed.
        let tmp = tempfile::tempdir().unwrap();
        let store = open(tmp.path());
        create(&store, "t");
        let mut txn = store.begin();
        txn.append("public", "t", &[int_batch(0..10)]).unwrap();
        txn.commit().unwrap();

        let mut txn = store.begin();
        txn.append("public", "t", &[int_batch(10..20)]).unwrap();
        let files_at_mark = segment_files(tmp.path());
        let mark = txn.savepoint();
        txn.append("public", "t", &[int_batch(20..30)]).unwrap();
        let first = txn.snapshot().table("public", "t").unwrap().segments[0].id;
        txn.delete_rows("public", "t", &BTreeMap::from([(first, vec![0, 1])]))
            .unwrap();
        txn.create_table(int_def("u")).unwrap();
        txn.append("public", "u", &[int_batch(0..5)]).unwrap();
        assert_eq!(int_values(&store, txn.snapshot(), "t").len(), 28);

        txn.rollback_to(&mark);
        assert_eq!(
            int_values(&store, txn.snapshot(), "t"),
            (0..20).collect::<Vec<_>>()
        );
        assert!(txn.snapshot().table("public", "u").is_none());
        // The files written after the mark are gone at once.
        assert_eq!(segment_files(tmp.path()), files_at_mark);

        // The mark holds again after more work.
        txn.append("public", "t", &[int_batch(40..45)]).unwrap();
        txn.rollback_to(&mark);
        assert_eq!(int_values(&store, txn.snapshot(), "t").len(), 20);

        txn.append("public", "t", &[int_batch(30..40)]).unwrap();
        txn.commit().unwrap();
        let expected: Vec<i64> = (0..20).chain(30..40).collect();
        assert_eq!(int_values(&store, &store.snapshot(), "t"), expected);
        assert!(store.snapshot().table("public", "u").is_none());
        drop(store);
        let store = open(tmp.path());
        assert_eq!(int_values(&store, &store.snapshot(), "t"), expected);
    }

    #[test]
    fn concurrent_appends_to_one_table_both_commit() {
        // Input: transactions A and B both begin on committed table `t`; A appends 1..4 and
        // commits, then B (which appended 100..102) commits; then C appends 7..8 while D
        // deletes `t`'s first row, D first.
        let tmp = tempfile::tempdir().unwrap();
        let store = open(tmp.path());
        create(&store, "t");
        let mut a = store.begin();
        let mut b = store.begin();
        a.append("public", "t", &[int_batch(1..4)]).unwrap();
        b.append("public", "t", &[int_batch(100..102)]).unwrap();
        assert_eq!(segment_files(tmp.path()).len(), 2);

        a.commit().unwrap();
        b.commit().unwrap();
        assert_eq!(store.snapshot().version, 3);
        assert_eq!(
            int_values(&store, &store.snapshot(), "t"),
            [1, 2, 3, 100, 101]
        );

        let mut c = store.begin();
        let mut d = store.begin();
        c.append("public", "t", &[int_batch(7..8)]).unwrap();
        let first = store.snapshot().table("public", "t").unwrap().segments[0].id;
        d.delete_rows("public", "t", &BTreeMap::from([(first, vec![0])]))
            .unwrap();
        d.commit().unwrap();
        c.commit().unwrap();
        let expected = [2, 3, 100, 101, 7];
        assert_eq!(int_values(&store, &store.snapshot(), "t"), expected);
        assert_eq!(segment_files(tmp.path()).len(), 3);
        drop(store);
        let store = open(tmp.path());
        assert_eq!(int_values(&store, &store.snapshot(), "t"), expected);
    }

    #[test]
    fn security_changes_commit_persist_and_conflict_with_each_other() {
        // Input: a committed role `alice`; then A and B both begin, A adds role `bob`, B adds
        // role `carol`, and a third transaction C only creates a table; A commits, then C,
        // then B.
        use crate::security::{Role, Security};
        let role = |oid: u32, name: &str| Role {
            oid,
            name: name.into(),
            group: false,
            login: true,
            superuser: false,
            create_db: false,
            create_role: false,
            connection_limit: -1,
            valid_until: None,
            password: None,
        };
        let with = |s: &Security, r: Role| {
            let mut s = s.clone();
            s.next_role_oid = r.oid + 1;
            s.roles.push(r);
            s
        };
        let tmp = tempfile::tempdir().unwrap();
        let store = open(tmp.path());
        let mut txn = store.begin();
        let s = with(&txn.snapshot().security, role(100, "alice"));
        txn.set_security(s).unwrap();
        let committed = txn.commit().unwrap();
        assert_eq!(committed.security.change_version, committed.version);

        let mut a = store.begin();
        let mut b = store.begin();
        let mut c = store.begin();
        let sa = with(&a.snapshot().security, role(101, "bob"));
        a.set_security(sa).unwrap();
        let sb = with(&b.snapshot().security, role(101, "carol"));
        b.set_security(sb).unwrap();
        c.create_table(int_def("t")).unwrap();
        a.commit().unwrap();
        c.commit().unwrap();
        assert!(matches!(b.commit(), Err(Error::SerializationConflict(_))));

        // An inconsistent catalog is refused before it reaches a commit.
        let mut bad = store.begin();
        let s = with(&bad.snapshot().security, role(102, "alice"));
        assert!(bad.set_security(s).is_err());
        drop(bad);

        drop(store);
        let store = open(tmp.path());
        let names: Vec<String> = store
            .snapshot()
            .security
            .roles
            .iter()
            .map(|r| r.name.clone())
            .collect();
        assert_eq!(names, ["alice", "bob"]);
        assert!(store.snapshot().table("public", "t").is_some());
    }

    #[test]
    fn drops_and_creations_conflict_with_concurrent_changes_to_the_same_table() {
        // Input: (1) A drops `t` while B appends to it, A first; (2) two transactions each
        // create `u`; (3) A appends to `v` while B drops it, A first.
        let tmp = tempfile::tempdir().unwrap();
        let store = open(tmp.path());
        create(&store, "t");
        create(&store, "v");

        let mut a = store.begin();
        let mut b = store.begin();
        a.drop_table("public", "t").unwrap();
        b.append("public", "t", &[int_batch(0..1)]).unwrap();
        a.commit().unwrap();
        assert!(matches!(b.commit(), Err(Error::SerializationConflict(t)) if t == "t"));

        let mut a = store.begin();
        let mut b = store.begin();
        a.create_table(int_def("u")).unwrap();
        b.create_table(int_def("u")).unwrap();
        a.commit().unwrap();
        assert!(matches!(b.commit(), Err(Error::SerializationConflict(t)) if t == "u"));

        let mut a = store.begin();
        let mut b = store.begin();
        a.append("public", "v", &[int_batch(0..1)]).unwrap();
        b.drop_table("public", "v").unwrap();
        a.commit().unwrap();
        assert!(matches!(b.commit(), Err(Error::SerializationConflict(t)) if t == "v"));

        let snapshot = store.snapshot();
        let names: Vec<&str> = snapshot
            .tables
            .iter()
            .map(|t| t.def.name.as_str())
            .collect();
        assert_eq!(names, ["v", "u"]);
    }

    #[test]
    fn concurrent_commits_to_different_tables_all_survive() {
        // Input: four threads, each committing 10 appends of 100 rows to its own table, all
        // started from transactions that may be several versions old when they commit.
        let tmp = tempfile::tempdir().unwrap();
        let store = open(tmp.path());
        for t in 0..4 {
            create(&store, &format!("t{t}"));
        }
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let store = store.clone();
                std::thread::spawn(move || {
                    let name = format!("t{t}");
                    for i in 0..10 {
                        let mut txn = store.begin();
                        txn.append("public", &name, &[int_batch(i * 100..(i + 1) * 100)])
                            .unwrap();
                        txn.commit().unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(store.snapshot().version, 4 + 40);

        // Input: A and B begin together; A appends to t0, B to t1; both commit.
        let mut a = store.begin();
        let mut b = store.begin();
        a.append("public", "t0", &[int_batch(5_000..5_001)])
            .unwrap();
        b.append("public", "t1", &[int_batch(6_000..6_001)])
            .unwrap();
        a.commit().unwrap();
        b.commit().unwrap();
        drop(store);

        let store = open(tmp.path());
        let snapshot = store.snapshot();
        for t in 0..4 {
            let values = int_values(&store, &snapshot, &format!("t{t}"));
            assert_eq!(values.len(), 1_000 + usize::from(t < 2), "t{t}");
        }
        assert_eq!(int_values(&store, &snapshot, "t1").last(), Some(&6_000));
    }

    #[test]
    fn large_appends_are_split_into_segments_and_empty_batches_skipped() {
        // Input: an empty batch, 600,000 rows in one batch, and another empty batch.
        let tmp = tempfile::tempdir().unwrap();
        let store = open(tmp.path());
        create(&store, "t");
        let mut txn = store.begin();
        txn.append("public", "t", &[int_batch(0..0)]).unwrap();
        assert!(txn.appended.is_empty());
        txn.append(
            "public",
            "t",
            &[int_batch(0..0), int_batch(0..600_000), int_batch(0..0)],
        )
        .unwrap();
        let committed = txn.commit().unwrap();
        let rows: Vec<u64> = committed.tables[0]
            .segments
            .iter()
            .map(|s| s.rows)
            .collect();
        let max = u64::from(SEGMENT_ROWS_MAX);
        assert_eq!(rows, [max, max, 600_000 - 2 * max]);
        assert_eq!(
            int_values(&store, &committed, "t"),
            (0..600_000).collect::<Vec<_>>()
        );
    }

    #[test]
    fn creating_and_dropping_in_one_transaction_leaves_nothing() {
        // Input: a transaction that creates `t`, appends 0..10, drops it and commits; then one
        // that appends to committed `k` and drops it in the same transaction.
        let tmp = tempfile::tempdir().unwrap();
        let store = open(tmp.path());
        let mut txn = store.begin();
        txn.create_table(int_def("t")).unwrap();
        txn.append("public", "t", &[int_batch(0..10)]).unwrap();
        txn.drop_table("public", "t").unwrap();
        assert!(txn.snapshot().table("public", "t").is_none());
        assert_eq!(txn.commit().unwrap().version, 0);
        assert!(segment_files(tmp.path()).is_empty());
        assert!(std::fs::read_dir(store.tables_dir())
            .unwrap()
            .next()
            .is_none());

        create(&store, "k");
        let mut txn = store.begin();
        txn.append("public", "k", &[int_batch(0..10)]).unwrap();
        txn.drop_table("public", "k").unwrap();
        let committed = txn.commit().unwrap();
        assert!(committed.tables.is_empty());
        assert!(segment_files(tmp.path()).is_empty());
    }

    #[test]
    fn catalog_errors_name_the_table() {
        // Input: a duplicate CREATE, DROP and append of a missing table, and a CREATE after a
        // DROP of the same name within one transaction.
        let tmp = tempfile::tempdir().unwrap();
        let store = open(tmp.path());
        create(&store, "t");
        let mut txn = store.begin();
        assert!(matches!(txn.create_table(int_def("t")), Err(Error::TableExists(n)) if n == "t"));
        assert!(matches!(txn.drop_table("public", "x"), Err(Error::NoSuchTable(n)) if n == "x"));
        assert!(matches!(
            txn.drop_table("other", "t"),
            Err(Error::NoSuchTable(_))
        ));
        assert!(matches!(txn.append("public", "x", &[]), Err(Error::NoSuchTable(n)) if n == "x"));

        txn.drop_table("public", "t").unwrap();
        txn.create_table(int_def("t")).unwrap();
        txn.append("public", "t", &[int_batch(7..8)]).unwrap();
        let committed = txn.commit().unwrap();
        let table = committed.table("public", "t").unwrap();
        assert_eq!(table.id, crate::TABLE_ID_MIN + 1);
        assert_eq!(int_values(&store, &committed, "t"), [7]);
    }

    #[test]
    fn batches_that_do_not_fit_the_table_are_refused() {
        // Input: batches with the wrong column count, the wrong Arrow type, and a NULL in a
        // NOT NULL column; and DECIMAL(39, 0) and DECIMAL(5, 6) definitions.
        let tmp = tempfile::tempdir().unwrap();
        let store = open(tmp.path());
        create(&store, "t");
        let mut txn = store.begin();
        let def = all_types_def("all");
        let wide = generated_batch(&def, 0, 3);
        assert!(matches!(
            txn.append("public", "t", &[wide]),
            Err(Error::Internal(_))
        ));
        let ints = arrow_array::RecordBatch::try_from_iter([(
            "x",
            Arc::new(Int32Array::from(vec![1])) as arrow_array::ArrayRef,
        )])
        .unwrap();
        assert!(matches!(
            txn.append("public", "t", &[ints]),
            Err(Error::Internal(_))
        ));
        let nulls = arrow_array::RecordBatch::try_from_iter([(
            "x",
            Arc::new(Int64Array::from(vec![Some(1), None])) as arrow_array::ArrayRef,
        )])
        .unwrap();
        assert!(matches!(
            txn.append("public", "t", &[nulls]),
            Err(Error::Internal(_))
        ));
        assert!(segment_files(tmp.path()).is_empty());

        for (precision, scale) in [(39, 0), (5, 6), (0, 0)] {
            let mut def = int_def("d");
            def.columns[0].ty = SqlType::Decimal { precision, scale };
            assert!(matches!(txn.create_table(def), Err(Error::Internal(_))));
        }
    }

    #[test]
    fn a_commit_that_cannot_write_its_manifest_publishes_nothing() {
        // Input: an append to `t` whose commit finds a plain file where `manifest/` should be;
        // then the directory is put back and the same append is retried.
        let tmp = tempfile::tempdir().unwrap();
        let store = open(tmp.path());
        create(&store, "t");
        let manifest_dir = tmp.path().join("manifest");
        let moved = tmp.path().join("manifest.moved");
        let mut txn = store.begin();
        txn.append("public", "t", &[int_batch(0..10)]).unwrap();
        std::fs::rename(&manifest_dir, &moved).unwrap();
        std::fs::write(&manifest_dir, b"not a directory").unwrap();
        assert!(matches!(txn.commit(), Err(Error::Io { .. })));
        assert_eq!(store.snapshot().version, 1);
        assert!(segment_files(tmp.path()).is_empty());

        std::fs::remove_file(&manifest_dir).unwrap();
        std::fs::rename(&moved, &manifest_dir).unwrap();
        let mut txn = store.begin();
        txn.append("public", "t", &[int_batch(0..10)]).unwrap();
        assert_eq!(txn.commit().unwrap().version, 2);
        assert_eq!(int_values(&store, &store.snapshot(), "t").len(), 10);
    }

    #[test]
    fn a_table_without_columns_still_counts_its_rows() {
        // Input: a table with zero columns and an append of a 5-row batch with no columns.
        let tmp = tempfile::tempdir().unwrap();
        let store = open(tmp.path());
        let def = TableDef::new("public", "empty", Vec::new());
        let batch = RecordBatch::try_new_with_options(
            def.arrow_schema(),
            Vec::new(),
            &arrow_array::RecordBatchOptions::new().with_row_count(Some(5)),
        )
        .unwrap();
        let mut txn = store.begin();
        txn.create_table(def).unwrap();
        txn.append("public", "empty", &[batch]).unwrap();
        let committed = txn.commit().unwrap();
        let table = committed.table("public", "empty").unwrap();
        let back = store.read_segment(table, &table.segments[0], &[]).unwrap();
        assert_eq!((back.num_columns(), back.num_rows()), (0, 5));
    }

    #[test]
    fn deletes_are_private_until_commit_and_survive_reopen() {
        // Input: `t` holding 0..100 in one segment; a transaction deletes rows 0, 1, 2 and 50
        // (row 1 twice), is observed from outside, commits, and the store is reopened.
        let tmp = tempfile::tempdir().unwrap();
        let store = open(tmp.path());
        let mut txn = store.begin();
        txn.create_table(int_def("t")).unwrap();
        txn.append("public", "t", &[int_batch(0..100)]).unwrap();
        txn.commit().unwrap();
        let segment = store.snapshot().table("public", "t").unwrap().segments[0].id;

        let mut txn = store.begin();
        let rows = BTreeMap::from([(segment, vec![1, 0, 2, 50, 1])]);
        assert_eq!(txn.delete_rows("public", "t", &rows).unwrap(), 4);
        // Deleting the same rows again deletes nothing new.
        assert_eq!(txn.delete_rows("public", "t", &rows).unwrap(), 0);
        assert_eq!(txn.snapshot().table("public", "t").unwrap().live_rows(), 96);
        assert_eq!(int_values(&store, &store.snapshot(), "t").len(), 100);
        txn.commit().unwrap();
        let expected: Vec<i64> = (3..100).filter(|v| *v != 50).collect();
        assert_eq!(int_values(&store, &store.snapshot(), "t"), expected);
        drop(store);
        let store = open(tmp.path());
        assert_eq!(int_values(&store, &store.snapshot(), "t"), expected);

        // A row outside the segment is a caller bug, reported, not a panic.
        let mut txn = store.begin();
        let bad = BTreeMap::from([(segment, vec![100])]);
        assert!(matches!(
            txn.delete_rows("public", "t", &bad),
            Err(Error::Internal(_))
        ));
    }

    #[test]
    fn concurrent_deletes_appends_and_truncates_of_one_table_conflict() {
        // Input: `t` holding 0..10; pairs of transactions begun together, each changing `t`
        // (delete / delete, delete / append, truncate / delete); the first of each commits.
        let tmp = tempfile::tempdir().unwrap();
        let store = open(tmp.path());
        create(&store, "t");
        let mut txn = store.begin();
        txn.append("public", "t", &[int_batch(0..10)]).unwrap();
        txn.commit().unwrap();
        let segment = store.snapshot().table("public", "t").unwrap().segments[0].id;
        let rows = |r: u32| BTreeMap::from([(segment, vec![r])]);

        let mut a = store.begin();
        let mut b = store.begin();
        a.delete_rows("public", "t", &rows(0)).unwrap();
        b.delete_rows("public", "t", &rows(1)).unwrap();
        a.commit().unwrap();
        assert!(matches!(b.commit(), Err(Error::SerializationConflict(t)) if t == "t"));

        // A delete conflicts with an append committed after its base.
        let mut a = store.begin();
        let mut b = store.begin();
        b.append("public", "t", &[int_batch(100..101)]).unwrap();
        a.delete_rows("public", "t", &rows(2)).unwrap();
        b.commit().unwrap();
        assert!(matches!(a.commit(), Err(Error::SerializationConflict(_))));

        let mut a = store.begin();
        let mut b = store.begin();
        assert_eq!(a.truncate("public", "t").unwrap(), 10);
        b.delete_rows("public", "t", &rows(3)).unwrap();
        a.commit().unwrap();
        assert!(matches!(b.commit(), Err(Error::SerializationConflict(_))));
        assert!(int_values(&store, &store.snapshot(), "t").is_empty());
    }

    #[test]
    fn truncate_rolls_back_and_commits() {
        // Input: `t` holding 0..5 plus 5..8 appended in the truncating transaction; first
        // rolled back, then committed, then more rows appended.
        let tmp = tempfile::tempdir().unwrap();
        let store = open(tmp.path());
        create(&store, "t");
        let mut txn = store.begin();
        txn.append("public", "t", &[int_batch(0..5)]).unwrap();
        txn.commit().unwrap();

        let mut txn = store.begin();
        txn.append("public", "t", &[int_batch(5..8)]).unwrap();
        assert_eq!(txn.truncate("public", "t").unwrap(), 8);
        drop(txn);
        assert_eq!(int_values(&store, &store.snapshot(), "t"), [0, 1, 2, 3, 4]);

        let mut txn = store.begin();
        txn.append("public", "t", &[int_batch(5..8)]).unwrap();
        txn.truncate("public", "t").unwrap();
        txn.append("public", "t", &[int_batch(9..10)]).unwrap();
        txn.commit().unwrap();
        assert_eq!(int_values(&store, &store.snapshot(), "t"), [9]);
        // The segment appended and truncated in the same transaction is gone already.
        assert_eq!(segment_files(tmp.path()).len(), 2);
    }

    #[test]
    fn appends_to_a_sorted_table_are_ordered_and_its_blocks_narrow() {
        // Input: `t` with SORTKEY(x) and 200,000 distinct values appended in a scrambled order
        // (i * 7919 mod 200,000) in two batches; `u`, the same without a sort key.
        let tmp = tempfile::tempdir().unwrap();
        let store = open(tmp.path());
        let n: i64 = 200_000;
        let scrambled: Vec<i64> = (0..n).map(|i| i * 7919 % n).collect();
        let mut txn = store.begin();
        let mut sorted = int_def("t");
        sorted.sort_key = crate::SortKey::Compound(vec!["x".into()]);
        txn.create_table(sorted).unwrap();
        txn.create_table(int_def("u")).unwrap();
        for name in ["t", "u"] {
            let (a, b) = scrambled.split_at(70_000);
            txn.append(
                "public",
                name,
                &[int_batch(a.to_vec()), int_batch(b.to_vec())],
            )
            .unwrap();
        }
        let committed = txn.commit().unwrap();
        assert_eq!(
            int_values(&store, &committed, "t"),
            (0..n).collect::<Vec<_>>()
        );
        assert_eq!(int_values(&store, &committed, "u"), scrambled);

        // Block zone maps: the sorted table's blocks cover disjoint ranges of as many values as
        // they hold rows, the unsorted one's each nearly the whole range.
        let widths = |name: &str| -> Vec<i64> {
            let table = committed.table("public", name).unwrap();
            let reader = store.open_segment(table, &table.segments[0]).unwrap();
            reader
                .blocks(0)
                .unwrap()
                .iter()
                .map(|b| match (&b.zone_map.min, &b.zone_map.max) {
                    (Some(crate::ZoneValue::Int(lo)), Some(crate::ZoneValue::Int(hi))) => hi - lo,
                    other => panic!("{other:?}"),
                })
                .collect()
        };
        let w = i64::from(crate::segment::WRITER_BLOCK_ROWS_MAX);
        let mut expected = vec![w - 1; (200_000 / w) as usize];
        expected.push(200_000 % w - 1);
        assert_eq!(widths("t"), expected);
        assert!(widths("u").iter().all(|w| *w > n / 2), "{:?}", widths("u"));
    }

    #[test]
    fn column_encodings_reach_the_writer_and_round_trip() {
        // Input: the all-types table, once with every column ENCODE RAW and once with each
        // column's narrowest fitting preference, each holding the same 5,000 generated rows.
        let tmp = tempfile::tempdir().unwrap();
        let store = open(tmp.path());
        let mut txn = store.begin();
        for (name, pick) in [("raw", true), ("fit", false)] {
            let mut def = all_types_def(name);
            for c in &mut def.columns {
                c.encoding = if pick {
                    crate::ColumnEncoding::Raw
                } else {
                    crate::ColumnEncoding::ALL
                        .into_iter()
                        .rev()
                        .find(|e| e.check(c.ty).is_ok())
                        .unwrap()
                };
            }
            let batch = generated_batch(&def, 0, 5_000);
            txn.create_table(def).unwrap();
            txn.append("public", name, &[batch]).unwrap();
        }
        let committed = txn.commit().unwrap();
        let expected = generated_batch(&all_types_def("x"), 0, 5_000);
        let mut bytes = Vec::new();
        for name in ["raw", "fit"] {
            let table = committed.table("public", name).unwrap();
            let all: Vec<usize> = (0..table.def.columns.len()).collect();
            let back = store.read_segment(table, &table.segments[0], &all).unwrap();
            assert_eq!(back.columns(), expected.columns(), "{name}");
            bytes.push(table.segments[0].bytes);
        }
        // RAW neither encodes nor compresses, so it is the larger file.
        assert!(bytes[0] > bytes[1], "{bytes:?}");

        // An encoding that does not fit its column is refused.
        let mut txn = store.begin();
        let mut def = int_def("bad");
        def.columns[0].encoding = crate::ColumnEncoding::Text255;
        assert!(matches!(txn.create_table(def), Err(Error::Internal(_))));
    }

    #[test]
    fn rewrite_drops_deleted_rows_merges_and_sorts_and_survives_reopen() {
        // Input: `t` with SORTKEY(x) and three appends (30..40, 0..10, 20..30), rows 0 and 5 of
        // the second segment deleted; then rewritten, committed, and the store reopened.
        let tmp = tempfile::tempdir().unwrap();
        let store = open(tmp.path());
        let mut def = int_def("t");
        def.sort_key = crate::SortKey::Compound(vec!["x".into()]);
        let mut txn = store.begin();
        txn.create_table(def).unwrap();
        txn.commit().unwrap();
        for range in [30..40, 0..10, 20..30] {
            let mut txn = store.begin();
            txn.append("public", "t", &[int_batch(range)]).unwrap();
            txn.commit().unwrap();
        }
        let second = store.snapshot().table("public", "t").unwrap().segments[1].id;
        let mut txn = store.begin();
        txn.delete_rows("public", "t", &BTreeMap::from([(second, vec![0, 5])]))
            .unwrap();
        txn.commit().unwrap();

        let before = store.snapshot();
        let mut txn = store.begin();
        assert_eq!(txn.rewrite("public", "t").unwrap(), Some(28));
        let committed = txn.commit().unwrap();
        let table = committed.table("public", "t").unwrap();
        assert_eq!(table.segments.len(), 1);
        assert_eq!(table.rows(), 28);
        let expected: Vec<i64> = (1..10).filter(|v| *v != 5).chain(20..40).collect();
        assert_eq!(int_values(&store, &committed, "t"), expected);
        // The snapshot pinned before still reads the old segments.
        assert_eq!(int_values(&store, &before, "t").len(), 28);

        // Nothing to gain from rewriting one segment without deleted rows.
        let mut txn = store.begin();
        assert_eq!(txn.rewrite("public", "t").unwrap(), None);
        drop(txn);
        drop(before);
        drop(store);
        let store = open(tmp.path());
        assert_eq!(int_values(&store, &store.snapshot(), "t"), expected);
    }
}
