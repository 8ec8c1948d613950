//! ADD and DROP COLUMN through the store's public API: segments written before a change keep
//! the columns they hold and read as the new definition (an added column filled with its
//! default, a dropped one left out), in files and in resident (WAL) rows, across a restart
//! and a crash, with zone-map pruning; and a writer of the old columns conflicts.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef, Int32Array, Int64Array, RecordBatch};

use crate::catalog::{ColumnDef, Manifest, TableDef};
use crate::test_util::{int_batch, int_def};
use crate::types::SqlType;
use crate::zone_map::{ColumnRange, ZoneValue};
use crate::{Error, Store, StoreOptions};

fn int_column(name: &str) -> ColumnDef {
    ColumnDef {
        name: name.into(),
        ty: SqlType::Integer,
        nullable: true,
        encoding: Default::default(),
    }
}

fn one_int(v: i32) -> ArrayRef {
    Arc::new(Int32Array::from(vec![v]))
}

/// `t`'s definition in `store`'s newest version.
fn def_of(store: &Store) -> TableDef {
    store.snapshot().table("public", "t").unwrap().def.clone()
}

/// Commits `change` applied to `t`'s definition.
fn alter(store: &Arc<Store>, change: impl FnOnce(&mut TableDef)) {
    let mut def = def_of(store);
    change(&mut def);
    let id = store.snapshot().table("public", "t").unwrap().id;
    let mut txn = store.begin();
    txn.redefine_table(id, def).unwrap();
    txn.commit().unwrap();
}

/// Appends `columns` (in `t`'s definition's order) to `t`.
fn insert(store: &Arc<Store>, columns: Vec<ArrayRef>) {
    let def = def_of(store);
    let batch = RecordBatch::try_new(def.arrow_schema(), columns).unwrap();
    let mut txn = store.begin();
    txn.append("public", "t", &[batch]).unwrap();
    txn.commit().unwrap();
}

/// Every row of `t` in `manifest`, each column as `Option<i64>` (BIGINT or INTEGER).
fn rows(store: &Store, manifest: &Manifest) -> Vec<Vec<Option<i64>>> {
    let table = manifest.table("public", "t").unwrap();
    let all: Vec<usize> = (0..table.def.columns.len()).collect();
    let mut out = Vec::new();
    for segment in &table.segments {
        let batch = store.read_segment(table, segment, &all).unwrap();
        for r in 0..batch.num_rows() {
            out.push(
                batch
                    .columns()
                    .iter()
                    .map(|c| {
                        if c.is_null(r) {
                            None
                        } else if let Some(a) = c.as_primitive_opt::<Int64Type>() {
                            Some(a.value(r))
                        } else {
                            Some(i64::from(c.as_primitive::<Int32Type>().value(r)))
                        }
                    })
                    .collect(),
            );
        }
    }
    out
}

fn open(dir: &Path, wal: bool) -> Arc<Store> {
    let options = StoreOptions {
        wal_append_rows_max: if wal { 4_096 } else { 0 },
        ..StoreOptions::default()
    };
    Arc::new(Store::open_with(dir, options).unwrap())
}

#[test]
fn added_and_dropped_columns_take_fresh_ids_and_conform_maps_old_rows() {
    // Input: `t (x BIGINT)`; ADD y INTEGER DEFAULT 5, ADD z INTEGER, DROP x, ADD x INTEGER;
    // then rows held as ids [0] and [0, 1] conformed to the last definition.
    let mut def = int_def("t");
    def.add_column(int_column("y"), Some(one_int(5).as_ref()))
        .unwrap();
    def.add_column(int_column("z"), None).unwrap();
    def.drop_column(0);
    def.add_column(int_column("x"), Some(one_int(-1).as_ref()))
        .unwrap();
    assert_eq!(def.ids(), vec![1, 2, 3]);
    assert_eq!(def.next_column_id, 4);
    def.check_attributes().unwrap();
    // A NULL default is no default.
    let mut nulls = def.clone();
    let null: ArrayRef = Arc::new(Int32Array::from(vec![None::<i32>]));
    nulls
        .add_column(int_column("n"), Some(null.as_ref()))
        .unwrap();
    assert!(nulls.default_value(3).unwrap().is_none());

    let old = int_batch([10, 20]);
    let conformed = def.conform(&[0], &old).unwrap();
    assert_eq!(conformed.schema(), def.arrow_schema());
    let y = conformed.column(0).as_primitive::<Int32Type>();
    assert_eq!(y.values().to_vec(), vec![5, 5]);
    assert_eq!(conformed.column(1).null_count(), 2);
    let x = conformed.column(2).as_primitive::<Int32Type>();
    assert_eq!(x.values().to_vec(), vec![-1, -1]);

    // A batch holding x (dropped) and y: y is kept, x left out.
    let mut two = int_def("t");
    two.add_column(int_column("y"), None).unwrap();
    let held = RecordBatch::try_new(
        two.arrow_schema(),
        vec![
            Arc::new(Int64Array::from(vec![1, 2])),
            Arc::new(Int32Array::from(vec![Some(8), None])),
        ],
    )
    .unwrap();
    let conformed = def.conform(&[0, 1], &held).unwrap();
    let y = conformed.column(0).as_primitive::<Int32Type>();
    assert_eq!(y.value(0), 8);
    assert!(y.is_null(1));
    assert!(def.conform(&[0], &held).is_err());

    // Inconsistent definitions are refused: a repeated id, an id past the counter, a
    // default for a column that is not there.
    let mut bad = def.clone();
    bad.column_ids[1] = 1;
    assert!(bad.check_attributes().is_err());
    let mut bad = def.clone();
    bad.column_ids[0] = 9;
    assert!(bad.check_attributes().is_err());
    let mut bad = def.clone();
    bad.defaults[0].column = 0;
    assert!(bad.check_attributes().is_err());
}

#[test]
fn segments_written_before_add_and_drop_column_read_as_the_new_definition() {
    // Input: `t (x BIGINT)` with a segment file of 0..3; ADD y INTEGER DEFAULT 7; a segment
    // of (3, 30), (4, NULL); DROP x; a segment of y = 50; then a reopen.
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path(), false);
    let mut txn = store.begin();
    txn.create_table(int_def("t")).unwrap();
    txn.append("public", "t", &[int_batch(0..3)]).unwrap();
    txn.commit().unwrap();
    alter(&store, |d| {
        d.add_column(int_column("y"), Some(one_int(7).as_ref()))
            .unwrap()
    });
    insert(
        &store,
        vec![
            Arc::new(Int64Array::from(vec![3, 4])),
            Arc::new(Int32Array::from(vec![Some(30), None])),
        ],
    );
    let m = store.snapshot();
    let table = m.table("public", "t").unwrap();
    assert_eq!(table.segments[0].columns.as_deref(), Some(&[0u32][..]));
    assert_eq!(table.segments[1].columns, None);
    assert_eq!(
        rows(&store, &m),
        vec![
            vec![Some(0), Some(7)],
            vec![Some(1), Some(7)],
            vec![Some(2), Some(7)],
            vec![Some(3), Some(30)],
            vec![Some(4), None],
        ]
    );
    // A range on y: the old segment has no zone map of it and is read (its rows all hold
    // 7, which the caller's filter judges); the new one is skipped by its zone map.
    let range = ColumnRange {
        column: 1,
        lower: Some((ZoneValue::Int(100), true)),
        upper: None,
    };
    let old = store
        .scan_segment(
            table,
            &table.segments[0],
            &[0, 1],
            std::slice::from_ref(&range),
            false,
        )
        .unwrap();
    assert_eq!(old.batch.unwrap().num_rows(), 3);
    let new = store
        .scan_segment(table, &table.segments[1], &[0, 1], &[range], false)
        .unwrap();
    assert!(new.batch.is_none());
    assert_eq!(new.counts.segments_skipped, 1);

    alter(&store, |d| d.drop_column(0));
    insert(&store, vec![Arc::new(Int32Array::from(vec![50]))]);
    let expected = vec![
        vec![Some(7)],
        vec![Some(7)],
        vec![Some(7)],
        vec![Some(30)],
        vec![None],
        vec![Some(50)],
    ];
    assert_eq!(rows(&store, &store.snapshot()), expected);
    assert!(store.verify().unwrap().is_empty());
    drop(store);
    let store = open(tmp.path(), false);
    let m = store.snapshot();
    assert_eq!(rows(&store, &m), expected);
    let table = m.table("public", "t").unwrap();
    assert_eq!(table.segments[0].columns.as_deref(), Some(&[0u32][..]));
    assert_eq!(table.segments[1].columns.as_deref(), Some(&[0u32, 1][..]));
    assert_eq!(table.segments[2].columns, None);
}

#[test]
fn resident_rows_before_and_after_a_change_survive_a_crash() {
    // Input: `t (x BIGINT)` with small (WAL) appends 0..2, ADD y INTEGER DEFAULT 9, small
    // appends (2, 1) and, in one transaction, (3, 2), DROP x and y = 3; then the store
    // crashed (no checkpoint) and reopened.
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path(), true);
    let mut txn = store.begin();
    txn.create_table(int_def("t")).unwrap();
    txn.commit().unwrap();
    insert(&store, vec![Arc::new(Int64Array::from(vec![0, 1]))]);
    alter(&store, |d| {
        d.add_column(int_column("y"), Some(one_int(9).as_ref()))
            .unwrap()
    });
    insert(
        &store,
        vec![
            Arc::new(Int64Array::from(vec![2])),
            Arc::new(Int32Array::from(vec![1])),
        ],
    );
    // Rows appended in a transaction before and after its own DROP COLUMN.
    let id = store.snapshot().table("public", "t").unwrap().id;
    let mut txn = store.begin();
    let before = RecordBatch::try_new(
        def_of(&store).arrow_schema(),
        vec![
            Arc::new(Int64Array::from(vec![3])),
            Arc::new(Int32Array::from(vec![2])),
        ],
    )
    .unwrap();
    txn.append("public", "t", &[before]).unwrap();
    let mut def = def_of(&store);
    def.drop_column(0);
    txn.redefine_table(id, def.clone()).unwrap();
    let after = RecordBatch::try_new(
        def.arrow_schema(),
        vec![Arc::new(Int32Array::from(vec![3]))],
    )
    .unwrap();
    txn.append("public", "t", &[after]).unwrap();
    assert_eq!(
        rows(&store, txn.snapshot()),
        vec![
            vec![Some(9)],
            vec![Some(9)],
            vec![Some(1)],
            vec![Some(2)],
            vec![Some(3)]
        ]
    );
    txn.commit().unwrap();
    insert(&store, vec![Arc::new(Int32Array::from(vec![4]))]);
    let expected = vec![
        vec![Some(9)],
        vec![Some(9)],
        vec![Some(1)],
        vec![Some(2)],
        vec![Some(3)],
        vec![Some(4)],
    ];
    assert_eq!(rows(&store, &store.snapshot()), expected);
    store.crash_on_drop.store(true, Ordering::Relaxed);
    drop(store);
    let store = open(tmp.path(), true);
    assert_eq!(rows(&store, &store.snapshot()), expected);
}

#[test]
fn appends_of_the_old_columns_conflict_with_a_committed_change() {
    // Input: `t (x BIGINT)`; a transaction appends 0..3 (as a file and, in another, as
    // resident rows) while another commits ADD y; then the same after a RENAME only.
    for wal in [false, true] {
        let tmp = tempfile::tempdir().unwrap();
        let store = open(tmp.path(), wal);
        let mut txn = store.begin();
        txn.create_table(int_def("t")).unwrap();
        txn.commit().unwrap();
        let mut writer = store.begin();
        writer.append("public", "t", &[int_batch(0..3)]).unwrap();
        alter(&store, |d| d.add_column(int_column("y"), None).unwrap());
        match writer.commit() {
            Err(Error::SerializationConflict(name)) => assert_eq!(name, "t"),
            other => panic!("{other:?}"),
        }
        assert!(rows(&store, &store.snapshot()).is_empty());
        // A change that keeps the columns lets appends through, as before.
        let mut writer = store.begin();
        writer.append("public", "t", &[]).unwrap();
        let batch = RecordBatch::try_new(
            def_of(&store).arrow_schema(),
            vec![
                Arc::new(Int64Array::from(vec![1])),
                Arc::new(Int32Array::from(vec![2])),
            ],
        )
        .unwrap();
        writer.append("public", "t", &[batch]).unwrap();
        alter(&store, |d| d.columns[0].name = "x2".into());
        writer.commit().unwrap();
        assert_eq!(
            rows(&store, &store.snapshot()),
            vec![vec![Some(1), Some(2)]]
        );
    }
}
