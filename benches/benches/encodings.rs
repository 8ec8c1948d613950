//! Block encodings: encode and decode throughput (values/s) per block encoding (PLAIN,
//! DICTIONARY, RUN_LENGTH, delta and frame-of-reference bit-packing, each uncompressed; PLAIN
//! under LZ4 and under ZSTD; and the writer's own choice, AUTO) on generated columns of several
//! types, in the blocks the segment writer cuts (`WRITER_BLOCK_ROWS_MAX` rows); beside them, the
//! parquet crate decoding the same column from an in-memory Parquet file (the peer). Printed
//! before the timings: the bytes a TPC-H-lineitem-like table of 1M rows takes per column under
//! AUTO (in the writer's blocks and the format's largest), ZSTD and PLAIN (RAW); after them, the
//! run as Markdown tables (values/s and the ratios to the peer), read back from criterion's
//! estimates.
//!
//! Run with `cargo bench -p basalt-benches --bench encodings`; set `BASALT_SIZES_ONLY=1` to print
//! the size report and skip the timings.

use std::sync::Arc;
use std::time::Duration;

use arrow_array::{
    ArrayRef, BooleanArray, Date32Array, Decimal128Array, Int32Array, Int64Array, StringArray,
};
use basalt_benches::Rng;
use basalt_storage::segment::{
    BlockCompression, BlockEncoding, EncodedColumn, BLOCK_ROWS_MAX, WRITER_BLOCK_ROWS_MAX,
};
use basalt_storage::{ColumnEncoding, SqlType};
use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};

/// Rows per generated column in the throughput benchmarks: four full blocks as the writer cuts
/// them.
const ROWS: usize = 131_072;
/// Rows of the lineitem-like table in the size report.
const LINEITEM_ROWS: usize = 1_000_000;

const WORDS: [&str; 24] = [
    "furiously",
    "quickly",
    "carefully",
    "blithely",
    "slyly",
    "ironic",
    "final",
    "pending",
    "regular",
    "express",
    "special",
    "bold",
    "deposits",
    "packages",
    "accounts",
    "requests",
    "theodolites",
    "pinto",
    "beans",
    "foxes",
    "ideas",
    "instructions",
    "dolphins",
    "asymptotes",
];

fn comment(rng: &mut Rng) -> String {
    let mut s = String::new();
    let target = 10 + rng.below(34) as usize;
    while s.len() < target {
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
    }
    s.truncate(target);
    s
}

fn decimal(values: impl Iterator<Item = i128>) -> ArrayRef {
    Arc::new(
        Decimal128Array::from_iter_values(values)
            .with_precision_and_scale(12, 2)
            .expect("decimal(12,2)"),
    )
}

/// The lineitem-like columns: name, type, values.
fn lineitem(rows: usize) -> Vec<(&'static str, SqlType, ArrayRef)> {
    let mut rng = Rng::new(0x2545_F491_4F6C_DD1D);
    let mut orderkeys = Vec::with_capacity(rows);
    let mut linenumbers = Vec::with_capacity(rows);
    let (mut order, mut line, mut lines) = (1i64, 0i32, 1i32);
    for _ in 0..rows {
        if line == lines {
            order += 1 + (rng.below(8) == 0) as i64 * 3;
            line = 0;
            lines = 1 + rng.below(7) as i32;
        }
        line += 1;
        orderkeys.push(order);
        linenumbers.push(line);
    }
    let quantities: Vec<i128> = (0..rows)
        .map(|_| 100 * (1 + rng.below(50) as i128))
        .collect();
    let prices: Vec<i128> = quantities
        .iter()
        .map(|q| q * (90_000 + rng.below(1_000_000) as i128) / 100)
        .collect();
    let start = 8035; // 1992-01-01
    let shipdates: Vec<i32> = (0..rows)
        .map(|_| start + rng.below(7 * 365) as i32)
        .collect();
    let flags = ["A", "N", "R"];
    let modes = ["AIR", "FOB", "MAIL", "RAIL", "REG AIR", "SHIP", "TRUCK"];
    let instructs = [
        "COLLECT COD",
        "DELIVER IN PERSON",
        "NONE",
        "TAKE BACK RETURN",
    ];
    let text = |values: Vec<String>| -> ArrayRef { Arc::new(StringArray::from(values)) };
    let pick =
        |rng: &mut Rng, from: &[&str]| from[rng.below(from.len() as u64) as usize].to_string();
    vec![
        (
            "l_orderkey",
            SqlType::BigInt,
            Arc::new(Int64Array::from(orderkeys)) as ArrayRef,
        ),
        (
            "l_partkey",
            SqlType::Integer,
            Arc::new(Int32Array::from_iter_values(
                (0..rows).map(|_| 1 + rng.below(200_000) as i32),
            )),
        ),
        (
            "l_suppkey",
            SqlType::Integer,
            Arc::new(Int32Array::from_iter_values(
                (0..rows).map(|_| 1 + rng.below(10_000) as i32),
            )),
        ),
        (
            "l_linenumber",
            SqlType::Integer,
            Arc::new(Int32Array::from(linenumbers)),
        ),
        (
            "l_quantity",
            SqlType::Decimal {
                precision: 12,
                scale: 2,
            },
            decimal(quantities.into_iter()),
        ),
        (
            "l_extendedprice",
            SqlType::Decimal {
                precision: 12,
                scale: 2,
            },
            decimal(prices.into_iter()),
        ),
        (
            "l_discount",
            SqlType::Decimal {
                precision: 12,
                scale: 2,
            },
            decimal((0..rows).map(|_| rng.below(11) as i128)),
        ),
        (
            "l_tax",
            SqlType::Decimal {
                precision: 12,
                scale: 2,
            },
            decimal((0..rows).map(|_| rng.below(9) as i128)),
        ),
        (
            "l_returnflag",
            SqlType::Char { length: 1 },
            text((0..rows).map(|_| pick(&mut rng, &flags)).collect()),
        ),
        (
            "l_linestatus",
            SqlType::Char { length: 1 },
            text(
                (0..rows)
                    .map(|i| if i < rows / 2 { "F" } else { "O" }.to_string())
                    .collect(),
            ),
        ),
        (
            "l_shipdate",
            SqlType::Date,
            Arc::new(Date32Array::from(shipdates.clone())),
        ),
        (
            "l_commitdate",
            SqlType::Date,
            Arc::new(Date32Array::from_iter_values(
                shipdates.iter().map(|d| d - 30 + rng.below(61) as i32),
            )),
        ),
        (
            "l_receiptdate",
            SqlType::Date,
            Arc::new(Date32Array::from_iter_values(
                shipdates.iter().map(|d| d + 1 + rng.below(30) as i32),
            )),
        ),
        (
            "l_shipinstruct",
            SqlType::Char { length: 25 },
            text((0..rows).map(|_| pick(&mut rng, &instructs)).collect()),
        ),
        (
            "l_shipmode",
            SqlType::Char { length: 10 },
            text((0..rows).map(|_| pick(&mut rng, &modes)).collect()),
        ),
        (
            "l_comment",
            SqlType::Varchar { length: 44 },
            text((0..rows).map(|_| comment(&mut rng)).collect()),
        ),
        (
            "l_returned",
            SqlType::Boolean,
            Arc::new(BooleanArray::from_iter(
                (0..rows).map(|i| Some(i % 4096 < 1024)),
            )),
        ),
    ]
}

/// Prints bytes per column under AUTO (in the writer's blocks and in the format's largest), ZSTD
/// and RAW (PLAIN, uncompressed) and the encodings AUTO chose.
fn print_sizes() {
    println!(
        "lineitem-like table, {LINEITEM_ROWS} rows: bytes on disk per column, in blocks of \
         {WRITER_BLOCK_ROWS_MAX} rows (AUTO {BLOCK_ROWS_MAX}: in blocks of {BLOCK_ROWS_MAX})"
    );
    println!(
        "{:<16} {:>12} {:>12} {:>12} {:>12} {:>7}  AUTO's encoding + compression (blocks)",
        "column",
        "RAW",
        "AUTO",
        format!("AUTO {BLOCK_ROWS_MAX}"),
        "ZSTD",
        "ratio"
    );
    let (mut raw_total, mut auto_total, mut large_total, mut zstd_total) = (0, 0, 0, 0);
    for (name, ty, array) in lineitem(LINEITEM_ROWS) {
        let encode = |p| EncodedColumn::encode(ty, array.as_ref(), p).expect("encode");
        let raw = encode(ColumnEncoding::Raw);
        let auto = encode(ColumnEncoding::Auto);
        let large = EncodedColumn::encode_in_blocks(
            ty,
            array.as_ref(),
            ColumnEncoding::Auto,
            BLOCK_ROWS_MAX,
        )
        .expect("encode");
        let zstd = encode(ColumnEncoding::Zstd);
        assert_eq!(auto.decode().expect("decode").to_data(), array.to_data());
        let mut chosen: Vec<(String, usize)> = Vec::new();
        for (e, c) in auto.block_encodings() {
            let label = format!("{e}+{c}");
            match chosen.iter_mut().find(|(l, _)| *l == label) {
                Some((_, n)) => *n += 1,
                None => chosen.push((label, 1)),
            }
        }
        let chosen: Vec<String> = chosen.iter().map(|(l, n)| format!("{l} ({n})")).collect();
        println!(
            "{name:<16} {:>12} {:>12} {:>12} {:>12} {:>6.1}x  {}",
            raw.len_bytes(),
            auto.len_bytes(),
            large.len_bytes(),
            zstd.len_bytes(),
            raw.len_bytes() as f64 / auto.len_bytes() as f64,
            chosen.join(", ")
        );
        raw_total += raw.len_bytes();
        auto_total += auto.len_bytes();
        large_total += large.len_bytes();
        zstd_total += zstd.len_bytes();
    }
    println!(
        "{:<16} {raw_total:>12} {auto_total:>12} {large_total:>12} {zstd_total:>12} {:>6.1}x",
        "total",
        raw_total as f64 / auto_total as f64
    );
}

/// The generated columns of the throughput benchmarks: name, type, values. Each suits some
/// encodings (few distinct values: dictionary; runs: run-length; sorted: delta; a narrow
/// range: frame of reference) and not others; every applicable encoding is timed on each.
fn throughput_columns() -> Vec<(&'static str, SqlType, ArrayRef)> {
    let mut rng = Rng::new(0x9E37_79B9_7F4A_7C15);
    let start = 8035; // 1992-01-01
    vec![
        (
            "int_1_50",
            SqlType::Integer,
            Arc::new(Int32Array::from_iter_values(
                (0..ROWS).map(|_| 1 + rng.below(50) as i32),
            )),
        ),
        (
            "bigint_sorted",
            SqlType::BigInt,
            Arc::new(Int64Array::from_iter_values(
                (0..ROWS as i64).map(|i| 1_000_000 + 4 * i + (i % 3)),
            )),
        ),
        (
            "bigint_runs",
            SqlType::BigInt,
            Arc::new(Int64Array::from_iter_values(
                (0..ROWS as i64).map(|i| 7_000_000 + i / 64),
            )),
        ),
        (
            "decimal_price",
            SqlType::Decimal {
                precision: 12,
                scale: 2,
            },
            decimal((0..ROWS).map(|_| 90_000 + rng.below(10_000_000) as i128)),
        ),
        (
            "date_7_years",
            SqlType::Date,
            Arc::new(Date32Array::from_iter_values(
                (0..ROWS).map(|_| start + rng.below(7 * 365) as i32),
            )),
        ),
        (
            "text_5_values",
            SqlType::Text,
            Arc::new(StringArray::from_iter_values((0..ROWS).map(|_| {
                ["AIR", "MAIL", "RAIL", "SHIP", "TRUCK"][rng.below(5) as usize]
            }))),
        ),
        (
            "text_comment",
            SqlType::Text,
            Arc::new(StringArray::from_iter_values(
                (0..ROWS).map(|_| comment(&mut rng)),
            )),
        ),
    ]
}

/// What is timed per column: each block encoding uncompressed, PLAIN under LZ4 and under ZSTD,
/// and the writer's own choice (AUTO), as `(label, encoding)`.
fn variants() -> Vec<(String, Variant)> {
    let mut out: Vec<(String, Variant)> = BlockEncoding::ALL
        .into_iter()
        .map(|e| {
            (
                e.name().to_string(),
                Variant::Forced(e, BlockCompression::None),
            )
        })
        .collect();
    for c in [BlockCompression::Lz4, BlockCompression::Zstd] {
        out.push((
            format!("plain+{}", c.name()),
            Variant::Forced(BlockEncoding::Plain, c),
        ));
    }
    out.push(("auto".to_string(), Variant::Auto));
    out
}

#[derive(Clone, Copy)]
enum Variant {
    Forced(BlockEncoding, BlockCompression),
    Auto,
}

impl Variant {
    fn encode(self, ty: SqlType, array: &dyn arrow_array::Array) -> Option<EncodedColumn> {
        match self {
            Variant::Forced(e, c) => EncodedColumn::encode_forced(ty, array, e, c).ok(),
            Variant::Auto => EncodedColumn::encode(ty, array, ColumnEncoding::Auto).ok(),
        }
    }
}

/// The peer: the same column as one Parquet file in memory (one row group), with the parquet
/// crate's default encodings (dictionary, falling back to PLAIN) uncompressed and under ZSTD
/// level 3 (the level Basalt's ZSTD uses).
fn parquet_file(array: &ArrayRef, zstd: bool) -> bytes::Bytes {
    use parquet::arrow::ArrowWriter;
    use parquet::basic::{Compression, ZstdLevel};
    use parquet::file::properties::WriterProperties;
    let batch = arrow_array::RecordBatch::try_from_iter([("c", array.clone())]).expect("batch");
    let compression = if zstd {
        Compression::ZSTD(ZstdLevel::try_new(3).expect("level"))
    } else {
        Compression::UNCOMPRESSED
    };
    let props = WriterProperties::builder()
        .set_compression(compression)
        .set_max_row_group_row_count(Some(ROWS))
        .build();
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, batch.schema(), Some(props)).expect("writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");
    bytes::Bytes::from(out)
}

fn parquet_decode(file: &bytes::Bytes) -> usize {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file.clone())
        .expect("parquet")
        .with_batch_size(ROWS)
        .build()
        .expect("reader");
    reader.map(|b| b.expect("batch").num_rows()).sum()
}

fn encodings(c: &mut Criterion) {
    for (name, ty, array) in &throughput_columns() {
        let mut group = c.benchmark_group(format!("encodings/{name}"));
        group.throughput(Throughput::Elements(ROWS as u64));
        group.sample_size(10);
        group.warm_up_time(Duration::from_millis(200));
        group.measurement_time(Duration::from_millis(800));
        for (label, variant) in variants() {
            let Some(encoded) = variant.encode(*ty, array.as_ref()) else {
                continue;
            };
            assert_eq!(encoded.decode().expect("decode").to_data(), array.to_data());
            group.bench_function(BenchmarkId::new("encode", &label), |b| {
                b.iter(|| variant.encode(*ty, array.as_ref()))
            });
            group.bench_function(BenchmarkId::new("decode", &label), |b| {
                b.iter(|| encoded.decode().expect("decode"))
            });
        }
        for (label, zstd) in [("parquet", false), ("parquet+zstd", true)] {
            let file = parquet_file(array, zstd);
            assert_eq!(parquet_decode(&file), ROWS);
            group.bench_function(BenchmarkId::new("decode", label), |b| {
                b.iter(|| parquet_decode(&file))
            });
        }
        group.finish();
    }
}

/// Criterion's mean time per iteration, in nanoseconds, of `group/function/parameter` in this
/// run, read back from the estimates it saved.
fn mean_ns(group: &str, function: &str, parameter: &str) -> Option<f64> {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let path = dir
        .join("criterion")
        .join(group.replace('/', "_"))
        .join(function)
        .join(parameter)
        .join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["mean"]["point_estimate"].as_f64()
}

/// Prints the run as Markdown: millions of values per second per column and encoding, encode
/// and decode, and the ratio of Basalt's decode (AUTO, and AUTO's choice under ZSTD) to the
/// parquet crate's decode of the same column.
fn print_summary() {
    use basalt_benches::harness;
    println!("\n{}", harness::date_line());
    println!("{}", harness::machine_line());
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!(
            "Load average at the end of the run (1, 5, 15 min): {}",
            load.trim()
        );
    }
    if let Some(commit) = harness::git_commit() {
        println!("Basalt at {commit}");
    }
    let columns = throughput_columns();
    let variants = variants();
    let mvps = |ns: Option<f64>| match ns {
        Some(ns) => format!("{:.0}", ROWS as f64 / ns * 1e3),
        None => "-".to_string(),
    };
    for function in ["encode", "decode"] {
        println!(
            "\n{function}, millions of values per second ({ROWS} values, blocks of \
             {WRITER_BLOCK_ROWS_MAX}):\n"
        );
        let header: Vec<&str> = variants.iter().map(|(l, _)| l.as_str()).collect();
        println!("| column | {} |", header.join(" | "));
        println!("|---|{}", "---:|".repeat(header.len()));
        for (name, ..) in &columns {
            let group = format!("encodings/{name}");
            let cells: Vec<String> = variants
                .iter()
                .map(|(l, _)| mvps(mean_ns(&group, function, l)))
                .collect();
            println!("| {name} | {} |", cells.join(" | "));
        }
    }
    println!(
        "\ndecode beside the parquet crate (same column, same run), millions of values per \
         second; a ratio above 1 means Basalt decodes faster:\n"
    );
    println!(
        "| column | Basalt auto | parquet | Basalt/parquet | Basalt plain+zstd | parquet+zstd \
         | Basalt/parquet (zstd) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (name, ..) in &columns {
        let group = format!("encodings/{name}");
        let t = |p: &str| mean_ns(&group, "decode", p);
        let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => format!("{:.2}x", b / a),
            _ => "-".to_string(),
        };
        println!(
            "| {name} | {} | {} | {} | {} | {} | {} |",
            mvps(t("auto")),
            mvps(t("parquet")),
            ratio(t("auto"), t("parquet")),
            mvps(t("plain+zstd")),
            mvps(t("parquet+zstd")),
            ratio(t("plain+zstd"), t("parquet+zstd")),
        );
    }
}

criterion_group!(benches, encodings);

fn main() {
    print_sizes();
    if std::env::var_os("BASALT_SIZES_ONLY").is_none() {
        benches();
        Criterion::default().configure_from_args().final_summary();
        print_summary();
    }
}
