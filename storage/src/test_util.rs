//! Tables and batches shared by the tests of several modules.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{
    ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array, Int16Array,
    Int32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};

use crate::{ColumnDef, Manifest, SqlType, Store, TableDef};

/// `10^38 - 1`, the largest DECIMAL(38, s) unscaled value.
pub(crate) const DECIMAL_38_MAX: i128 = 99_999_999_999_999_999_999_999_999_999_999_999_999;

/// A table with one nullable column of every SQL type, in this order: smallint, integer,
/// bigint, decimal(38,4), real, double, boolean, char(10), varchar(100), text, date, timestamp.
pub(crate) fn all_types_def(name: &str) -> TableDef {
    let types = [
        SqlType::SmallInt,
        SqlType::Integer,
        SqlType::BigInt,
        SqlType::Decimal {
            precision: 38,
            scale: 4,
        },
        SqlType::Real,
        SqlType::Double,
        SqlType::Boolean,
        SqlType::Char { length: 10 },
        SqlType::Varchar { length: 100 },
        SqlType::Text,
        SqlType::Date,
        SqlType::Timestamp,
    ];
    TableDef::new(
        "public",
        name,
        types
            .iter()
            .enumerate()
            .map(|(i, ty)| ColumnDef {
                name: format!("c{i}_{}", ty.pg_name().replace(' ', "_")),
                ty: *ty,
                nullable: true,
                encoding: Default::default(),
            })
            .collect(),
    )
}

fn batch(def: &TableDef, columns: Vec<ArrayRef>) -> RecordBatch {
    RecordBatch::try_new(def.arrow_schema(), columns).unwrap()
}

/// Edge values of every type in [`all_types_def`] order, with NULLs, empty strings, a long
/// string, NaN / ±Inf / -0.0, integer extremes, 38-digit decimals and dates far before 1970.
pub(crate) fn extremes_batch(def: &TableDef) -> RecordBatch {
    let long = "z".repeat(100_000) + "é";
    batch(
        def,
        vec![
            Arc::new(Int16Array::from(vec![
                Some(i16::MIN),
                Some(i16::MAX),
                None,
                Some(0),
                Some(-1),
                Some(1),
            ])),
            Arc::new(Int32Array::from(vec![
                Some(i32::MIN),
                Some(i32::MAX),
                Some(0),
                None,
                Some(-1),
                Some(7),
            ])),
            Arc::new(Int64Array::from(vec![
                Some(i64::MIN),
                Some(i64::MAX),
                Some(0),
                Some(-1),
                None,
                Some(42),
            ])),
            Arc::new(
                Decimal128Array::from(vec![
                    Some(DECIMAL_38_MAX),
                    Some(-DECIMAL_38_MAX),
                    Some(0),
                    Some(12_345),
                    Some(-1),
                    None,
                ])
                .with_precision_and_scale(38, 4)
                .unwrap(),
            ),
            Arc::new(Float32Array::from(vec![
                Some(f32::NAN),
                Some(f32::INFINITY),
                Some(f32::NEG_INFINITY),
                Some(-0.0),
                None,
                Some(f32::MIN_POSITIVE / 2.0),
            ])),
            Arc::new(Float64Array::from(vec![
                Some(f64::NEG_INFINITY),
                Some(-0.0),
                Some(f64::NAN),
                Some(f64::MAX),
                Some(f64::MIN),
                None,
            ])),
            Arc::new(BooleanArray::from(vec![
                Some(true),
                Some(false),
                None,
                Some(true),
                Some(false),
                Some(false),
            ])),
            Arc::new(StringArray::from(vec![
                Some("a         "),
                Some(""),
                None,
                Some("          "),
                Some("héllo     "),
                Some("z"),
            ])),
            Arc::new(StringArray::from(vec![
                Some(""),
                Some("héllo wörld ✓ 🦀"),
                Some("'quoted'\n\t"),
                None,
                Some("\u{0}"),
                Some("end"),
            ])),
            Arc::new(StringArray::from(vec![
                Some(long.as_str()),
                Some(""),
                None,
                Some("short"),
                Some(""),
                Some("z"),
            ])),
            // 0001-01-01, 1969-12-31, Date32 extremes, 1970-01-01, NULL.
            Arc::new(Date32Array::from(vec![
                Some(-719_162),
                Some(-1),
                Some(i32::MIN),
                Some(i32::MAX),
                Some(0),
                None,
            ])),
            // Year 1, 1969-12-31 23:59:59.999999, i64 extremes, NULL, 2000-01-01.
            Arc::new(TimestampMicrosecondArray::from(vec![
                Some(-62_135_596_800_000_000),
                Some(-1),
                Some(i64::MIN),
                Some(i64::MAX),
                None,
                Some(946_684_800_000_000),
            ])),
        ],
    )
}

/// `rows` generated rows for [`all_types_def`], starting at row number `start`; every column
/// is NULL on a different period so validity bitmaps differ between columns.
pub(crate) fn generated_batch(def: &TableDef, start: i64, rows: usize) -> RecordBatch {
    let n = start..start + rows as i64;
    let valid = |i: i64, period: i64| i % period != 0;
    batch(
        def,
        vec![
            Arc::new(Int16Array::from_iter(
                n.clone().map(|i| valid(i, 3).then_some(i as i16)),
            )),
            Arc::new(Int32Array::from_iter(
                n.clone().map(|i| valid(i, 5).then_some((i * 7919) as i32)),
            )),
            Arc::new(Int64Array::from_iter(
                n.clone().map(|i| valid(i, 7).then_some(i * 1_000_003)),
            )),
            Arc::new(
                Decimal128Array::from_iter(
                    n.clone()
                        .map(|i| valid(i, 11).then_some(i128::from(i) * 10_000 + 25)),
                )
                .with_precision_and_scale(38, 4)
                .unwrap(),
            ),
            Arc::new(Float32Array::from_iter(
                n.clone().map(|i| valid(i, 13).then_some(i as f32 / 3.0)),
            )),
            Arc::new(Float64Array::from_iter(
                n.clone().map(|i| valid(i, 17).then_some(i as f64 * 1.5)),
            )),
            Arc::new(BooleanArray::from_iter(
                n.clone().map(|i| valid(i, 19).then_some(i % 2 == 0)),
            )),
            Arc::new(StringArray::from_iter(
                n.clone()
                    .map(|i| valid(i, 23).then(|| format!("{:<10}", i % 1000))),
            )),
            Arc::new(StringArray::from_iter(
                n.clone()
                    .map(|i| valid(i, 29).then(|| format!("v{}", i % 97))),
            )),
            Arc::new(StringArray::from_iter(n.clone().map(|i| {
                valid(i, 31).then(|| "t".repeat(i.rem_euclid(40) as usize))
            }))),
            Arc::new(Date32Array::from_iter(
                n.clone().map(|i| valid(i, 37).then_some(i as i32 - 50_000)),
            )),
            Arc::new(TimestampMicrosecondArray::from_iter(
                n.map(|i| valid(i, 41).then_some(i * 1_000_000)),
            )),
        ],
    )
}

/// `rows` rows for [`all_types_def`] in which every value is NULL.
pub(crate) fn all_null_batch(def: &TableDef, rows: usize) -> RecordBatch {
    let columns = def
        .columns
        .iter()
        .map(|c| arrow_array::new_null_array(&c.ty.arrow_type(), rows))
        .collect();
    batch(def, columns)
}

/// A table `public.<name>` with one NOT NULL BIGINT column `x`.
pub(crate) fn int_def(name: &str) -> TableDef {
    TableDef::new(
        "public",
        name,
        vec![ColumnDef {
            name: "x".into(),
            ty: SqlType::BigInt,
            nullable: false,
            encoding: Default::default(),
        }],
    )
}

/// A batch for [`int_def`] holding `values`.
pub(crate) fn int_batch(values: impl IntoIterator<Item = i64>) -> RecordBatch {
    let def = int_def("any");
    batch(&def, vec![Arc::new(Int64Array::from_iter_values(values))])
}

/// Every value of `public.<name>`'s first (BIGINT) column in `manifest`, in segment order.
pub(crate) fn int_values(store: &Store, manifest: &Manifest, name: &str) -> Vec<i64> {
    let table = manifest.table("public", name).unwrap();
    let mut out = Vec::new();
    for segment in &table.segments {
        let batch = store.read_segment(table, segment, &[0]).unwrap();
        out.extend(
            batch
                .column(0)
                .as_primitive::<Int64Type>()
                .values()
                .iter()
                .copied(),
        );
    }
    out
}

/// Every file under `dir`, recursively, sorted.
pub(crate) fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Segment files under `dir/tables`.
pub(crate) fn segment_files(dir: &Path) -> Vec<PathBuf> {
    files_under(&dir.join("tables"))
}

/// Opens `dir` with the write-ahead log off: every append writes segment files.
pub(crate) fn open_files_only(dir: &Path) -> Store {
    let options = crate::StoreOptions {
        wal_append_rows_max: 0,
        ..crate::StoreOptions::default()
    };
    Store::open_with(dir, options).unwrap()
}
