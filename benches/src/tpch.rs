//! TPC-H data, queries and answers.
//!
//! The eight tables are generated with the `tpchgen` crate (a Rust port of the TPC's `dbgen`,
//! same output) and turned into Arrow batches of exactly the column types of
//! `benches/tpch/schema.sql`, so they load through `Session::append_batches`. Each table is cut
//! into generator parts of about [`BATCH_ROWS`] rows, generated in parallel on the rayon pool,
//! one batch per part, in key order.

use std::fmt::Write as _;
use std::sync::Arc;

use crate::answers::{compare, Answer};
use arrow_array::builder::{Date32Builder, Decimal128Builder, Int32Builder, Int64Builder};
use arrow_array::builder::{GenericStringBuilder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, Field, Schema, SchemaRef};
use basalt_engine::{pgtext, QueryResult, Session, StatementResult};
use basalt_storage::SqlType;
use rayon::prelude::*;
use tpchgen::decimal::TPCHDecimal;
use tpchgen::generators::{
    CustomerGenerator, LineItemGenerator, NationGenerator, OrderGenerator, PartGenerator,
    PartSuppGenerator, RegionGenerator, SupplierGenerator,
};

/// Rows per generated batch (and per generator part).
pub const BATCH_ROWS: usize = 100_000;

/// `CREATE TABLE` statements for the eight tables.
pub const SCHEMA_SQL: &str = include_str!("../tpch/schema.sql");

/// The keys and indexes the harness creates in PostgreSQL after loading it (`tpch --compare`).
pub const PG_KEYS_SQL: &str = include_str!("../tpch/postgres-keys.sql");

/// The queries PostgreSQL runs under `tpch --compare` unless `--pg-queries` says otherwise. At
/// scale factor 1 PostgreSQL 15 finishes every one of the 22 within a minute (the slowest, Q18,
/// took 6.6 s on a busy 2-core machine, with the keys and indexes of [`PG_KEYS_SQL`] and as many
/// processes as the other engines have threads), so all of them run; at larger scale factors the
/// harness's statement timeout (`--pg-timeout`, 60 s) cuts off those that take longer, and
/// `--pg-queries` picks a subset.
pub const PG_QUERIES: &[usize] = &[
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
];

/// Parses a set of query numbers: `all` (the 22), `none`, or a comma-separated list such as
/// `1,6,14`. The numbers come back sorted, each once.
pub fn parse_query_set(text: &str) -> Result<Vec<usize>, String> {
    let text = text.trim();
    match text.to_ascii_lowercase().as_str() {
        "all" => return Ok((1..=QUERIES.len()).collect()),
        "none" | "" => return Ok(Vec::new()),
        _ => {}
    }
    let mut out = Vec::new();
    for part in text.split(',') {
        let part = part.trim();
        let n = part
            .strip_prefix(['q', 'Q'])
            .unwrap_or(part)
            .parse::<usize>()
            .ok()
            .filter(|n| query(*n).is_some())
            .ok_or_else(|| {
                format!(
                    "{part:?} is not a query: give `all`, `none` or numbers from 1 to {}",
                    QUERIES.len()
                )
            })?;
        out.push(n);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// The 22 queries, `QUERIES[0]` being Q1.
pub const QUERIES: [&str; 22] = [
    include_str!("../tpch/queries/q01.sql"),
    include_str!("../tpch/queries/q02.sql"),
    include_str!("../tpch/queries/q03.sql"),
    include_str!("../tpch/queries/q04.sql"),
    include_str!("../tpch/queries/q05.sql"),
    include_str!("../tpch/queries/q06.sql"),
    include_str!("../tpch/queries/q07.sql"),
    include_str!("../tpch/queries/q08.sql"),
    include_str!("../tpch/queries/q09.sql"),
    include_str!("../tpch/queries/q10.sql"),
    include_str!("../tpch/queries/q11.sql"),
    include_str!("../tpch/queries/q12.sql"),
    include_str!("../tpch/queries/q13.sql"),
    include_str!("../tpch/queries/q14.sql"),
    include_str!("../tpch/queries/q15.sql"),
    include_str!("../tpch/queries/q16.sql"),
    include_str!("../tpch/queries/q17.sql"),
    include_str!("../tpch/queries/q18.sql"),
    include_str!("../tpch/queries/q19.sql"),
    include_str!("../tpch/queries/q20.sql"),
    include_str!("../tpch/queries/q21.sql"),
    include_str!("../tpch/queries/q22.sql"),
];

/// The text of query `n` (1 to 22).
pub fn query(n: usize) -> Option<&'static str> {
    n.checked_sub(1).and_then(|i| QUERIES.get(i).copied())
}

/// Whether the query's result order is defined (it has an ORDER BY); otherwise results compare
/// as multisets.
pub fn is_ordered(sql: &str) -> bool {
    sql.to_ascii_lowercase().contains("order by")
}

/// The eight tables, smallest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    Region,
    Nation,
    Supplier,
    Customer,
    Part,
    PartSupp,
    Orders,
    LineItem,
}

const DEC: SqlType = SqlType::Decimal {
    precision: 15,
    scale: 2,
};

const fn chr(length: u32) -> SqlType {
    SqlType::Char { length }
}

const fn var(length: u32) -> SqlType {
    SqlType::Varchar { length }
}

const REGION: &[(&str, SqlType)] = &[
    ("r_regionkey", SqlType::Integer),
    ("r_name", chr(25)),
    ("r_comment", var(152)),
];

const NATION: &[(&str, SqlType)] = &[
    ("n_nationkey", SqlType::Integer),
    ("n_name", chr(25)),
    ("n_regionkey", SqlType::Integer),
    ("n_comment", var(152)),
];

const SUPPLIER: &[(&str, SqlType)] = &[
    ("s_suppkey", SqlType::BigInt),
    ("s_name", chr(25)),
    ("s_address", var(40)),
    ("s_nationkey", SqlType::Integer),
    ("s_phone", chr(15)),
    ("s_acctbal", DEC),
    ("s_comment", var(101)),
];

const CUSTOMER: &[(&str, SqlType)] = &[
    ("c_custkey", SqlType::BigInt),
    ("c_name", var(25)),
    ("c_address", var(40)),
    ("c_nationkey", SqlType::Integer),
    ("c_phone", chr(15)),
    ("c_acctbal", DEC),
    ("c_mktsegment", chr(10)),
    ("c_comment", var(117)),
];

const PART: &[(&str, SqlType)] = &[
    ("p_partkey", SqlType::BigInt),
    ("p_name", var(55)),
    ("p_mfgr", chr(25)),
    ("p_brand", chr(10)),
    ("p_type", var(25)),
    ("p_size", SqlType::Integer),
    ("p_container", chr(10)),
    ("p_retailprice", DEC),
    ("p_comment", var(23)),
];

const PARTSUPP: &[(&str, SqlType)] = &[
    ("ps_partkey", SqlType::BigInt),
    ("ps_suppkey", SqlType::BigInt),
    ("ps_availqty", SqlType::Integer),
    ("ps_supplycost", DEC),
    ("ps_comment", var(199)),
];

const ORDERS: &[(&str, SqlType)] = &[
    ("o_orderkey", SqlType::BigInt),
    ("o_custkey", SqlType::BigInt),
    ("o_orderstatus", chr(1)),
    ("o_totalprice", DEC),
    ("o_orderdate", SqlType::Date),
    ("o_orderpriority", chr(15)),
    ("o_clerk", chr(15)),
    ("o_shippriority", SqlType::Integer),
    ("o_comment", var(79)),
];

const LINEITEM: &[(&str, SqlType)] = &[
    ("l_orderkey", SqlType::BigInt),
    ("l_partkey", SqlType::BigInt),
    ("l_suppkey", SqlType::BigInt),
    ("l_linenumber", SqlType::Integer),
    ("l_quantity", DEC),
    ("l_extendedprice", DEC),
    ("l_discount", DEC),
    ("l_tax", DEC),
    ("l_returnflag", chr(1)),
    ("l_linestatus", chr(1)),
    ("l_shipdate", SqlType::Date),
    ("l_commitdate", SqlType::Date),
    ("l_receiptdate", SqlType::Date),
    ("l_shipinstruct", chr(25)),
    ("l_shipmode", chr(10)),
    ("l_comment", var(44)),
];

impl Table {
    pub const ALL: [Table; 8] = [
        Table::Region,
        Table::Nation,
        Table::Supplier,
        Table::Customer,
        Table::Part,
        Table::PartSupp,
        Table::Orders,
        Table::LineItem,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Table::Region => "region",
            Table::Nation => "nation",
            Table::Supplier => "supplier",
            Table::Customer => "customer",
            Table::Part => "part",
            Table::PartSupp => "partsupp",
            Table::Orders => "orders",
            Table::LineItem => "lineitem",
        }
    }

    /// The columns as `schema.sql` declares them (a test checks the two agree).
    pub fn columns(self) -> &'static [(&'static str, SqlType)] {
        match self {
            Table::Region => REGION,
            Table::Nation => NATION,
            Table::Supplier => SUPPLIER,
            Table::Customer => CUSTOMER,
            Table::Part => PART,
            Table::PartSupp => PARTSUPP,
            Table::Orders => ORDERS,
            Table::LineItem => LINEITEM,
        }
    }

    /// The Arrow schema of the table's batches.
    pub fn arrow_schema(self) -> SchemaRef {
        let fields: Vec<Field> = self
            .columns()
            .iter()
            .map(|(name, ty)| Field::new(*name, ty.arrow_type(), false))
            .collect();
        Arc::new(Schema::new(fields))
    }

    /// About how many rows the table has at scale factor `sf`.
    pub fn approx_rows(self, sf: f64) -> u64 {
        let scaled = |base: f64| (base * sf).max(1.0) as u64;
        match self {
            Table::Region => 5,
            Table::Nation => 25,
            Table::Supplier => scaled(10_000.0),
            Table::Customer => scaled(150_000.0),
            Table::Part => scaled(200_000.0),
            Table::PartSupp => scaled(800_000.0),
            Table::Orders => scaled(1_500_000.0),
            Table::LineItem => scaled(6_000_000.0),
        }
    }

    /// How many generator parts (and batches) the table is cut into at scale factor `sf`.
    pub fn parts(self, sf: f64) -> i32 {
        let parts = self.approx_rows(sf).div_ceil(BATCH_ROWS as u64).max(1);
        i32::try_from(parts).unwrap_or(i32::MAX)
    }

    /// Generates part `part` (1-based) of `parts` as one batch.
    pub fn generate_part(self, sf: f64, part: i32, parts: i32) -> Result<RecordBatch, ArrowError> {
        let columns = match self {
            Table::Region => region(sf, part, parts),
            Table::Nation => nation(sf, part, parts),
            Table::Supplier => supplier(sf, part, parts),
            Table::Customer => customer(sf, part, parts),
            Table::Part => part_table(sf, part, parts),
            Table::PartSupp => partsupp(sf, part, parts),
            Table::Orders => orders(sf, part, parts),
            Table::LineItem => lineitem(sf, part, parts),
        }?;
        RecordBatch::try_new(self.arrow_schema(), columns)
    }

    /// Generates the whole table, handing its batches to `sink` in key order, a few at a time
    /// (as many as the rayon pool has threads), so that no more than that many batches are in
    /// memory at once. Returns the number of rows generated.
    pub fn generate<E>(
        self,
        sf: f64,
        mut sink: impl FnMut(Vec<RecordBatch>) -> Result<(), E>,
    ) -> Result<u64, E>
    where
        E: From<ArrowError>,
    {
        let parts = self.parts(sf);
        let chunk = rayon::current_num_threads().max(1) as i32;
        let mut rows = 0u64;
        let mut first = 1;
        while first <= parts {
            let last = (first + chunk - 1).min(parts);
            let batches = (first..=last)
                .into_par_iter()
                .map(|p| self.generate_part(sf, p, parts))
                .collect::<Result<Vec<_>, _>>()?;
            rows += batches.iter().map(|b| b.num_rows() as u64).sum::<u64>();
            sink(batches)?;
            first = last + 1;
        }
        Ok(rows)
    }
}

/// Where `sf`'s stored answers live: `benches/tpch/answers/sf<sf>/`.
pub fn answers_dir(sf: f64) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tpch/answers")
        .join(format!("sf{sf}"))
}

/// The ratchet file of queries known to fail: `benches/tpch/answers/known-failing.txt`.
pub fn known_failing_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tpch/answers/known-failing.txt")
}

/// Creates the eight tables in `session` and loads them, generated at scale factor `sf`.
/// `each` sees every table's batches after they are appended (to export them, say). Returns the
/// rows loaded per table. The tables are then analyzed.
pub fn create_and_load(
    session: &mut Session,
    sf: f64,
    mut each: impl FnMut(Table, &[RecordBatch]) -> anyhow::Result<()>,
) -> anyhow::Result<Vec<(Table, u64)>> {
    session.run(SCHEMA_SQL)?;
    let mut loaded = Vec::new();
    for table in Table::ALL {
        let rows = table.generate(sf, |batches| -> anyhow::Result<()> {
            session.append_batches(table.name(), &batches)?;
            each(table, &batches)
        })?;
        loaded.push((table, rows));
    }
    // As the benchmark does after its load (COPY's STATUPDATE on empty tables).
    session.run("ANALYZE")?;
    Ok(loaded)
}

/// Runs query `sql` (possibly several statements) and returns the last statement's rows.
pub fn run_query(session: &mut Session, sql: &str) -> Result<QueryResult, String> {
    let results = session.run(sql).map_err(|e| e.to_string())?;
    match results.into_iter().last() {
        Some(StatementResult::Query(q)) => Ok(q),
        _ => Err("the last statement returned no rows".into()),
    }
}

/// Runs query `n` and compares its result with the stored answer of scale factor `sf`.
pub fn check_query(session: &mut Session, sf: f64, n: usize) -> Result<(), String> {
    let sql = query(n).ok_or_else(|| format!("there is no query {n}"))?;
    let path = answers_dir(sf).join(format!("q{n:02}.tbl"));
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let expected = Answer::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let actual = Answer::from_query(&run_query(session, sql)?);
    compare(&actual, &expected, is_ordered(sql)).map_err(|m| format!("wrong answer: {m}"))
}

/// Writes `batch` as `|`-delimited text, one line per row, no header (the form `dbgen` writes,
/// without its trailing delimiter). Fails on a value holding `|` or a line break.
pub fn write_delimited(
    out: &mut impl std::io::Write,
    table: Table,
    batch: &RecordBatch,
) -> std::io::Result<()> {
    let types: Vec<SqlType> = table.columns().iter().map(|(_, t)| *t).collect();
    let mut line = String::new();
    for row in 0..batch.num_rows() {
        line.clear();
        for (i, ty) in types.iter().enumerate() {
            if i > 0 {
                line.push('|');
            }
            let value = pgtext::format_value(batch.column(i).as_ref(), row, *ty, pgtext::Zone::UTC)
                .unwrap_or_default();
            if value.contains(['|', '\n', '\r']) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: a value holds a delimiter: {value:?}", table.name()),
                ));
            }
            line.push_str(&value);
        }
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

fn decimals(capacity: usize) -> Result<Decimal128Builder, ArrowError> {
    Decimal128Builder::with_capacity(capacity).with_precision_and_scale(15, 2)
}

fn dec(d: TPCHDecimal) -> i128 {
    i128::from(d.0)
}

/// Appends the `Display` form of `value` as one string.
fn push_display(b: &mut StringBuilder, value: impl std::fmt::Display) {
    // Writing into a string builder cannot fail.
    let _ = write!(b, "{value}");
    b.append_value("");
}

fn strings() -> StringBuilder {
    GenericStringBuilder::new()
}

fn key32(key: i64) -> Result<i32, ArrowError> {
    i32::try_from(key).map_err(|_| ArrowError::ComputeError(format!("key {key} out of range")))
}

fn region(sf: f64, part: i32, parts: i32) -> Result<Vec<ArrayRef>, ArrowError> {
    let (mut key, mut name, mut comment) = (Int32Builder::new(), strings(), strings());
    for r in RegionGenerator::new(sf, part, parts).iter() {
        key.append_value(key32(r.r_regionkey)?);
        name.append_value(r.r_name);
        comment.append_value(r.r_comment);
    }
    Ok(vec![
        Arc::new(key.finish()),
        Arc::new(name.finish()),
        Arc::new(comment.finish()),
    ])
}

fn nation(sf: f64, part: i32, parts: i32) -> Result<Vec<ArrayRef>, ArrowError> {
    let (mut key, mut name, mut region, mut comment) = (
        Int32Builder::new(),
        strings(),
        Int32Builder::new(),
        strings(),
    );
    for n in NationGenerator::new(sf, part, parts).iter() {
        key.append_value(key32(n.n_nationkey)?);
        name.append_value(n.n_name);
        region.append_value(key32(n.n_regionkey)?);
        comment.append_value(n.n_comment);
    }
    Ok(vec![
        Arc::new(key.finish()),
        Arc::new(name.finish()),
        Arc::new(region.finish()),
        Arc::new(comment.finish()),
    ])
}

fn supplier(sf: f64, part: i32, parts: i32) -> Result<Vec<ArrayRef>, ArrowError> {
    let n = BATCH_ROWS;
    let mut key = Int64Builder::with_capacity(n);
    let (mut name, mut address, mut phone, mut comment) =
        (strings(), strings(), strings(), strings());
    let mut nation = Int32Builder::with_capacity(n);
    let mut acctbal = decimals(n)?;
    for s in SupplierGenerator::new(sf, part, parts).iter() {
        key.append_value(s.s_suppkey);
        push_display(&mut name, s.s_name);
        push_display(&mut address, s.s_address);
        nation.append_value(key32(s.s_nationkey)?);
        push_display(&mut phone, s.s_phone);
        acctbal.append_value(dec(s.s_acctbal));
        comment.append_value(&s.s_comment);
    }
    Ok(vec![
        Arc::new(key.finish()),
        Arc::new(name.finish()),
        Arc::new(address.finish()),
        Arc::new(nation.finish()),
        Arc::new(phone.finish()),
        Arc::new(acctbal.finish()),
        Arc::new(comment.finish()),
    ])
}

fn customer(sf: f64, part: i32, parts: i32) -> Result<Vec<ArrayRef>, ArrowError> {
    let n = BATCH_ROWS;
    let mut key = Int64Builder::with_capacity(n);
    let (mut name, mut address, mut phone, mut segment, mut comment) =
        (strings(), strings(), strings(), strings(), strings());
    let mut nation = Int32Builder::with_capacity(n);
    let mut acctbal = decimals(n)?;
    for c in CustomerGenerator::new(sf, part, parts).iter() {
        key.append_value(c.c_custkey);
        push_display(&mut name, c.c_name);
        push_display(&mut address, c.c_address);
        nation.append_value(key32(c.c_nationkey)?);
        push_display(&mut phone, c.c_phone);
        acctbal.append_value(dec(c.c_acctbal));
        segment.append_value(c.c_mktsegment);
        comment.append_value(c.c_comment);
    }
    Ok(vec![
        Arc::new(key.finish()),
        Arc::new(name.finish()),
        Arc::new(address.finish()),
        Arc::new(nation.finish()),
        Arc::new(phone.finish()),
        Arc::new(acctbal.finish()),
        Arc::new(segment.finish()),
        Arc::new(comment.finish()),
    ])
}

fn part_table(sf: f64, part: i32, parts: i32) -> Result<Vec<ArrayRef>, ArrowError> {
    let n = BATCH_ROWS;
    let mut key = Int64Builder::with_capacity(n);
    let (mut name, mut mfgr, mut brand, mut ty, mut container, mut comment) = (
        strings(),
        strings(),
        strings(),
        strings(),
        strings(),
        strings(),
    );
    let mut size = Int32Builder::with_capacity(n);
    let mut price = decimals(n)?;
    for p in PartGenerator::new(sf, part, parts).iter() {
        key.append_value(p.p_partkey);
        push_display(&mut name, p.p_name);
        push_display(&mut mfgr, p.p_mfgr);
        push_display(&mut brand, p.p_brand);
        ty.append_value(p.p_type);
        size.append_value(p.p_size);
        container.append_value(p.p_container);
        price.append_value(dec(p.p_retailprice));
        comment.append_value(p.p_comment);
    }
    Ok(vec![
        Arc::new(key.finish()),
        Arc::new(name.finish()),
        Arc::new(mfgr.finish()),
        Arc::new(brand.finish()),
        Arc::new(ty.finish()),
        Arc::new(size.finish()),
        Arc::new(container.finish()),
        Arc::new(price.finish()),
        Arc::new(comment.finish()),
    ])
}

fn partsupp(sf: f64, part: i32, parts: i32) -> Result<Vec<ArrayRef>, ArrowError> {
    let n = BATCH_ROWS;
    let (mut partkey, mut suppkey) = (
        Int64Builder::with_capacity(n),
        Int64Builder::with_capacity(n),
    );
    let mut qty = Int32Builder::with_capacity(n);
    let mut cost = decimals(n)?;
    let mut comment = strings();
    for ps in PartSuppGenerator::new(sf, part, parts).iter() {
        partkey.append_value(ps.ps_partkey);
        suppkey.append_value(ps.ps_suppkey);
        qty.append_value(ps.ps_availqty);
        cost.append_value(dec(ps.ps_supplycost));
        comment.append_value(ps.ps_comment);
    }
    Ok(vec![
        Arc::new(partkey.finish()),
        Arc::new(suppkey.finish()),
        Arc::new(qty.finish()),
        Arc::new(cost.finish()),
        Arc::new(comment.finish()),
    ])
}

fn orders(sf: f64, part: i32, parts: i32) -> Result<Vec<ArrayRef>, ArrowError> {
    let n = BATCH_ROWS;
    let (mut key, mut cust) = (
        Int64Builder::with_capacity(n),
        Int64Builder::with_capacity(n),
    );
    let (mut status, mut priority, mut clerk, mut comment) =
        (strings(), strings(), strings(), strings());
    let mut total = decimals(n)?;
    let mut date = Date32Builder::with_capacity(n);
    let mut shippriority = Int32Builder::with_capacity(n);
    for o in OrderGenerator::new(sf, part, parts).iter() {
        key.append_value(o.o_orderkey);
        cust.append_value(o.o_custkey);
        status.append_value(o.o_orderstatus.as_str());
        total.append_value(dec(o.o_totalprice));
        date.append_value(o.o_orderdate.to_unix_epoch());
        priority.append_value(o.o_orderpriority);
        push_display(&mut clerk, o.o_clerk);
        shippriority.append_value(o.o_shippriority);
        comment.append_value(o.o_comment);
    }
    Ok(vec![
        Arc::new(key.finish()),
        Arc::new(cust.finish()),
        Arc::new(status.finish()),
        Arc::new(total.finish()),
        Arc::new(date.finish()),
        Arc::new(priority.finish()),
        Arc::new(clerk.finish()),
        Arc::new(shippriority.finish()),
        Arc::new(comment.finish()),
    ])
}

fn lineitem(sf: f64, part: i32, parts: i32) -> Result<Vec<ArrayRef>, ArrowError> {
    let n = BATCH_ROWS;
    let mut orderkey = Int64Builder::with_capacity(n);
    let mut partkey = Int64Builder::with_capacity(n);
    let mut suppkey = Int64Builder::with_capacity(n);
    let mut linenumber = Int32Builder::with_capacity(n);
    let (mut quantity, mut price, mut discount, mut tax) =
        (decimals(n)?, decimals(n)?, decimals(n)?, decimals(n)?);
    let (mut returnflag, mut linestatus, mut instruct, mut mode, mut comment) =
        (strings(), strings(), strings(), strings(), strings());
    let (mut ship, mut commit, mut receipt) = (
        Date32Builder::with_capacity(n),
        Date32Builder::with_capacity(n),
        Date32Builder::with_capacity(n),
    );
    for l in LineItemGenerator::new(sf, part, parts).iter() {
        orderkey.append_value(l.l_orderkey);
        partkey.append_value(l.l_partkey);
        suppkey.append_value(l.l_suppkey);
        linenumber.append_value(l.l_linenumber);
        // The quantity is a whole number; the column is DECIMAL(15,2).
        quantity.append_value(i128::from(l.l_quantity) * 100);
        price.append_value(dec(l.l_extendedprice));
        discount.append_value(dec(l.l_discount));
        tax.append_value(dec(l.l_tax));
        returnflag.append_value(l.l_returnflag);
        linestatus.append_value(l.l_linestatus);
        ship.append_value(l.l_shipdate.to_unix_epoch());
        commit.append_value(l.l_commitdate.to_unix_epoch());
        receipt.append_value(l.l_receiptdate.to_unix_epoch());
        instruct.append_value(l.l_shipinstruct);
        mode.append_value(l.l_shipmode);
        comment.append_value(l.l_comment);
    }
    Ok(vec![
        Arc::new(orderkey.finish()),
        Arc::new(partkey.finish()),
        Arc::new(suppkey.finish()),
        Arc::new(linenumber.finish()),
        Arc::new(quantity.finish()),
        Arc::new(price.finish()),
        Arc::new(discount.finish()),
        Arc::new(tax.finish()),
        Arc::new(returnflag.finish()),
        Arc::new(linestatus.finish()),
        Arc::new(ship.finish()),
        Arc::new(commit.finish()),
        Arc::new(receipt.finish()),
        Arc::new(instruct.finish()),
        Arc::new(mode.finish()),
        Arc::new(comment.finish()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Decimal128Type, Int64Type};

    /// The generator's own text form of its first `rows` rows.
    fn dbgen_lines<T: std::fmt::Display>(it: impl Iterator<Item = T>, rows: usize) -> Vec<String> {
        it.take(rows).map(|r| r.to_string()).collect()
    }

    /// The first `rows` rows of part `part` of `parts`, as `write_delimited` writes them and as
    /// the generator's own `dbgen` text form has them (trailing delimiter dropped).
    fn both_forms(table: Table, part: i32, parts: i32, rows: usize) -> (Vec<String>, Vec<String>) {
        let sf = 0.01;
        let batch = table.generate_part(sf, part, parts).unwrap();
        assert_eq!(batch.schema(), table.arrow_schema());
        let mut out = Vec::new();
        let rows = rows.min(batch.num_rows());
        write_delimited(&mut out, table, &batch.slice(0, rows)).unwrap();
        let ours: Vec<String> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        let dbgen: Vec<String> = match table {
            Table::Orders => dbgen_lines(OrderGenerator::new(sf, part, parts).iter(), rows),
            Table::LineItem => dbgen_lines(LineItemGenerator::new(sf, part, parts).iter(), rows),
            Table::Supplier => dbgen_lines(SupplierGenerator::new(sf, part, parts).iter(), rows),
            Table::Customer => dbgen_lines(CustomerGenerator::new(sf, part, parts).iter(), rows),
            Table::Part => dbgen_lines(PartGenerator::new(sf, part, parts).iter(), rows),
            Table::PartSupp => dbgen_lines(PartSuppGenerator::new(sf, part, parts).iter(), rows),
            Table::Nation => dbgen_lines(NationGenerator::new(sf, part, parts).iter(), rows),
            Table::Region => dbgen_lines(RegionGenerator::new(sf, part, parts).iter(), rows),
        };
        let dbgen = dbgen
            .into_iter()
            .map(|l| l.strip_suffix('|').unwrap_or(&l).to_string())
            .collect();
        (ours, dbgen)
    }

    // Every table's batches hold exactly what dbgen writes, value for value, in the second part
    // too (parts start at the right key).
    #[test]
    fn batches_hold_dbgen_rows() {
        for table in Table::ALL {
            for (part, parts) in [(1, 1), (2, 3)] {
                let (ours, dbgen) = both_forms(table, part, parts, 50);
                assert_eq!(ours.len(), dbgen.len(), "{}", table.name());
                for (a, b) in ours.iter().zip(&dbgen) {
                    if table == Table::LineItem {
                        // dbgen writes the quantity as a whole number, the DECIMAL(15,2) column
                        // as 17.00.
                        let a: Vec<&str> = a.split('|').collect();
                        let b: Vec<&str> = b.split('|').collect();
                        assert_eq!(a.len(), b.len());
                        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
                            if i == 4 {
                                assert_eq!(*x, format!("{y}.00"));
                            } else {
                                assert_eq!(x, y, "lineitem column {i}");
                            }
                        }
                    } else {
                        assert_eq!(a, b, "{}", table.name());
                    }
                }
            }
        }
        let batch = Table::LineItem.generate_part(0.01, 1, 1).unwrap();
        assert_eq!(batch.column(0).as_primitive::<Int64Type>().value(0), 1);
        assert_eq!(
            batch.column(4).as_primitive::<Decimal128Type>().value(0),
            1700
        );
    }

    // The declared columns are those schema.sql creates, names and types.
    #[test]
    fn columns_match_schema_sql() {
        let dir = tempfile::tempdir().unwrap();
        let engine = basalt_engine::Engine::open(dir.path()).unwrap();
        let mut session = engine.session("basalt");
        session.run(SCHEMA_SQL).unwrap();
        for table in Table::ALL {
            let q = run_query(&mut session, &format!("SELECT * FROM {}", table.name())).unwrap();
            let got: Vec<(&str, SqlType)> =
                q.columns.iter().map(|c| (c.name.as_str(), c.ty)).collect();
            assert_eq!(got, table.columns(), "{}", table.name());
        }
    }

    // Parts cover the table exactly once: the row counts add up to the scale factor's.
    #[test]
    fn parts_add_up() {
        let sf = 0.01;
        for table in Table::ALL {
            let rows = table.generate::<ArrowError>(sf, |_| Ok(())).unwrap();
            let expected = match table {
                Table::LineItem => 60_175,
                Table::Orders => 15_000,
                other => other.approx_rows(sf),
            };
            assert_eq!(rows, expected, "{}", table.name());
        }
    }

    // `all`, `none`, lists with blanks, repeats and a `q` prefix; numbers outside 1..=22 and
    // words are errors.
    #[test]
    fn query_sets_parse() {
        assert_eq!(
            parse_query_set("all").unwrap(),
            (1..=22).collect::<Vec<_>>()
        );
        assert_eq!(parse_query_set("ALL").unwrap().len(), 22);
        assert_eq!(parse_query_set("none").unwrap(), Vec::<usize>::new());
        assert_eq!(parse_query_set("").unwrap(), Vec::<usize>::new());
        assert_eq!(
            parse_query_set("14, 1,6,q6,Q22").unwrap(),
            vec![1, 6, 14, 22]
        );
        assert!(parse_query_set("0").is_err());
        assert!(parse_query_set("23").is_err());
        assert!(parse_query_set("1,,2").is_err());
        assert!(parse_query_set("some").is_err());
        assert!(PG_QUERIES.iter().all(|n| query(*n).is_some()));
    }

    #[test]
    fn queries_are_numbered() {
        assert!(query(0).is_none());
        assert!(query(1).unwrap_or("").contains("l_returnflag"));
        assert!(query(22).unwrap_or("").contains("cntrycode"));
        assert!(query(23).is_none());
    }
}
