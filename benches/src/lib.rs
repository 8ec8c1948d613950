//! Basalt's benchmarks.
//!
//! - `benches/storage.rs`: writing and reading segments, and a filtered scan that zone maps
//!   prune (criterion).
//! - `benches/engine.rs`: SQL over the embedded engine: scan, filter, aggregate, join (criterion).
//! - `benches/encodings.rs`: block encodings' throughput (values/s, encode and decode, per
//!   encoding and type, beside the parquet crate decoding the same column) and sizes
//!   (criterion).
//! - `src/bin/tpch.rs`: the TPC-H harness: generates and loads the data, times the 22 queries,
//!   and with `--compare` runs DuckDB, DataFusion and (for a subset of the queries) PostgreSQL
//!   15 beside Basalt and checks the answers.
//! - `src/bin/copy.rs`: COPY of TPC-H lineitem from '|'-delimited text and from Parquet,
//!   beside DuckDB loading the same files into a native table.
//! - `src/bin/storage.rs`: lineitem's bytes on disk beside Parquet (ZSTD) and DuckDB, its
//!   full decode to Arrow beside the parquet crate's read, and zone maps: a one-week
//!   `l_shipdate` query on a copy sorted by `l_shipdate` beside the unsorted table.
//! - `tests/tpch.rs`: the 22 queries at scale factor 0.01 against DuckDB's stored answers.
//! - `src/bin/clickbench.rs`: ClickBench-style web analytics: a generated 105-column `hits`
//!   table and the 43 queries, beside DuckDB with answer checks.
//! - `src/bin/wire.rs`: rows per second over the PostgreSQL protocol, `basalt serve` beside
//!   PostgreSQL 15, read by psycopg (a full SELECT and COPY TO STDOUT).
//! - `tests/clickbench.rs`: the hits generator's shapes and determinism, and a few queries.
//! - `tests/storage.rs`: the storage harness's checks (decoded rows, blocks read) at scale
//!   factor 0.01.
//!
//! This library holds the data generators the benchmarks share: [`tpch`] for TPC-H,
//! [`clickbench`] for the web analytics `hits` table, [`answers`] for comparing query results
//! between engines, [`harness`] for what the harness binaries share, [`peers`] for the Python
//! process running the peers, [`postgres`] for the PostgreSQL cluster the wire and TPC-H
//! harnesses start, and [`storage`] for the storage harness's parts. Performance is claimed only
//! from benchmarks measured beside a peer engine in the same run; these micro-benchmarks track
//! Basalt against itself.

pub mod answers;
pub mod clickbench;
pub mod harness;
pub mod peers;
pub mod postgres;
pub mod storage;
pub mod tpch;

use std::sync::Arc;

use arrow_array::{ArrayRef, Decimal128Array, Int32Array, Int64Array, RecordBatch, StringArray};
use basalt_storage::{ColumnDef, SqlType, TableDef};

/// A deterministic pseudo-random sequence (xorshift), so every run measures the same data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A value in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// The `facts` table: `id BIGINT, grp INTEGER, amount DECIMAL(12,2), tag VARCHAR(16)`.
pub fn facts_def() -> TableDef {
    let col = |name: &str, ty: SqlType| ColumnDef {
        name: name.into(),
        ty,
        nullable: true,
        encoding: Default::default(),
    };
    TableDef::new(
        "public",
        "facts",
        vec![
            col("id", SqlType::BigInt),
            col("grp", SqlType::Integer),
            col(
                "amount",
                SqlType::Decimal {
                    precision: 12,
                    scale: 2,
                },
            ),
            col("tag", SqlType::Varchar { length: 16 }),
        ],
    )
}

/// `rows` rows of `facts` starting at id `start`: 100 groups, amounts up to 10,000.00, and 20
/// distinct tags.
pub fn facts_batch(start: i64, rows: usize, rng: &mut Rng) -> RecordBatch {
    let ids: Int64Array = (start..start + rows as i64).collect();
    let grps: Int32Array = (0..rows).map(|_| (rng.next_u64() % 100) as i32).collect();
    let amounts = (0..rows)
        .map(|_| Some((rng.next_u64() % 1_000_000) as i128))
        .collect::<Decimal128Array>()
        .with_precision_and_scale(12, 2)
        .unwrap_or_else(|_| Decimal128Array::from(vec![0i128; rows]));
    let tags: StringArray = (0..rows)
        .map(|_| Some(format!("tag-{:02}", rng.next_u64() % 20)))
        .collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(ids),
        Arc::new(grps),
        Arc::new(amounts),
        Arc::new(tags),
    ];
    RecordBatch::try_new(facts_def().arrow_schema(), columns)
        .unwrap_or_else(|e| panic!("facts batch does not match its schema: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    // The generator is deterministic and produces the documented shape.
    #[test]
    fn facts_are_deterministic() {
        let a = facts_batch(0, 1000, &mut Rng::new(7));
        let b = facts_batch(0, 1000, &mut Rng::new(7));
        assert_eq!(a, b);
        assert_eq!(a.num_columns(), 4);
        assert_eq!(a.num_rows(), 1000);
    }
}
