//! ANALYZE: gathering table statistics (see `basalt_storage::statistics` and
//! `docs/statistics.md`).
//!
//! ```text
//! ANALYZE [VERBOSE | (VERBOSE)] [table [(column [, ...])] [, ...]] [PREDICATE COLUMNS | ALL COLUMNS]
//! ```
//!
//! sqlparser reads a Hive-style ANALYZE, so the statement is read here from tokens (it travels
//! as a `copy::options::Transfer::Analyze`, as external DDL does). Without a table it analyzes
//! every table the session's role owns (all of them for a superuser). Each table's segments are
//! read in parallel, one rayon task per segment, each filling per-column accumulators (zone
//! map, distinct sketch, widths) that merge once; the result replaces the table's statistics
//! file, or, inside a transaction block, becomes the block's statistics of the table: its own
//! statements plan with them, its commit writes them and its rollback discards them, as
//! PostgreSQL's `pg_statistic` rows are transactional. Basalt records no predicate columns, so `PREDICATE COLUMNS` analyzes every column,
//! as Redshift does for a table with none recorded. `ANALYZE COMPRESSION` is Redshift's
//! encoding report, which Basalt does not offer (0A000): it chooses each block's encoding as
//! it writes it.

use std::sync::Arc;

use basalt_storage::statistics::{ColumnAccumulator, TableStats};
use basalt_storage::{GatheredStatistics, Manifest, Store, TableMeta, Transaction};
use rayon::prelude::*;
use sqlparser::tokenizer::{Token, TokenWithSpan};

use crate::copy::options::Cursor;
use crate::error::{Error, Result};
use crate::interrupt::Interrupt;

/// A parsed ANALYZE.
#[derive(Clone, Debug, PartialEq)]
pub struct AnalyzeStatement {
    pub verbose: bool,
    /// The tables named, in order; empty for every table.
    pub targets: Vec<AnalyzeTarget>,
}

/// One table of an ANALYZE, with the columns named (empty: every column).
#[derive(Clone, Debug, PartialEq)]
pub struct AnalyzeTarget {
    pub schema: Option<String>,
    pub name: String,
    pub columns: Vec<String>,
}

/// True when the tokens (whitespace skipped) start with ANALYZE (or PostgreSQL's ANALYSE).
pub fn is_analyze(tokens: &[TokenWithSpan]) -> bool {
    let mut c = Cursor::new("", tokens);
    c.eat("analyze") || c.eat("analyse")
}

/// Parses an ANALYZE statement (`tokens` without the `;`).
pub fn parse(sql: &str, tokens: &[TokenWithSpan]) -> Result<AnalyzeStatement> {
    let mut c = Cursor::new(sql, tokens);
    if !(c.eat("analyze") || c.eat("analyse")) {
        return Err(c.error());
    }
    if c.keyword().as_deref() == Some("COMPRESSION") {
        return Err(Error::Unsupported {
            message: "ANALYZE COMPRESSION is not supported: Basalt chooses each block's \
                      encoding from its data when it writes it"
                .into(),
        });
    }
    let mut verbose = false;
    if c.eat("verbose") {
        verbose = true;
    } else if c.eat_token(&Token::LParen) {
        // PostgreSQL's option list: `(VERBOSE [boolean], ...)`.
        loop {
            let mark = c.at;
            let option = c.ident()?;
            match option.as_str() {
                "verbose" => {
                    verbose = !(c.eat("false") || c.eat("off"));
                    let _ = c.eat("true") || c.eat("on");
                }
                _ => {
                    c.at = mark;
                    return Err(Error::Syntax {
                        message: format!("unrecognized ANALYZE option \"{option}\""),
                        position: c.position(),
                    });
                }
            }
            if c.eat_token(&Token::RParen) {
                break;
            }
            if !c.eat_token(&Token::Comma) {
                return Err(c.error());
            }
        }
    }
    let mut targets = Vec::new();
    let columns_clause = |c: &mut Cursor<'_>| -> bool {
        let mark = c.at;
        if (c.eat("predicate") || c.eat("all")) && c.eat("columns") {
            return true;
        }
        c.at = mark;
        false
    };
    if !c.done() && !columns_clause(&mut c) {
        loop {
            let first = c.ident()?;
            let (schema, name) = if c.eat_token(&Token::Period) {
                (Some(first), c.ident()?)
            } else {
                (None, first)
            };
            let mut columns = Vec::new();
            if c.eat_token(&Token::LParen) {
                loop {
                    columns.push(c.ident()?);
                    if c.eat_token(&Token::RParen) {
                        break;
                    }
                    if !c.eat_token(&Token::Comma) {
                        return Err(c.error());
                    }
                }
            }
            targets.push(AnalyzeTarget {
                schema,
                name,
                columns,
            });
            if !c.eat_token(&Token::Comma) {
                break;
            }
        }
        columns_clause(&mut c);
    }
    if !c.done() {
        return Err(c.error());
    }
    Ok(AnalyzeStatement { verbose, targets })
}

/// What ANALYZE did to one table, for VERBOSE.
#[derive(Clone, Debug)]
pub struct Analyzed {
    pub schema: String,
    pub name: String,
    pub segments: usize,
    pub live_rows: u64,
    pub dead_rows: u64,
}

impl Analyzed {
    /// PostgreSQL's two INFO lines for the table.
    pub fn info_lines(&self) -> [String; 2] {
        [
            format!("analyzing \"{}.{}\"", self.schema, self.name),
            format!(
                "\"{}\": scanned {n} of {n} segments, containing {} live rows and {} dead rows; \
                 {} rows in sample, {} estimated total rows",
                self.name,
                self.live_rows,
                self.dead_rows,
                self.live_rows,
                self.live_rows,
                n = self.segments,
            ),
        ]
    }
}

/// The tables and columns an ANALYZE covers in `manifest`, checked: named tables must exist
/// (external ones cannot be analyzed) and be owned by `actor` (or `actor` a superuser), named
/// columns must exist, once each. Without names: every table `actor` may analyze.
pub fn resolve(
    stmt: &AnalyzeStatement,
    manifest: &Manifest,
    actor: &crate::security::Actor,
    path: &crate::schemas::SearchPath,
) -> Result<Vec<(TableMeta, Vec<usize>)>> {
    if stmt.targets.is_empty() {
        let mut tables: Vec<&TableMeta> = manifest
            .tables
            .iter()
            .filter(|t| !crate::schemas::is_foreign_temp(&t.def.schema, &path.temp))
            .filter(|t| crate::security::check_owner(actor, t).is_ok())
            .collect();
        tables.sort_by_key(|t| t.id);
        return Ok(tables
            .into_iter()
            .map(|t| (t.clone(), (0..t.def.columns.len()).collect()))
            .collect());
    }
    let mut out = Vec::new();
    for target in &stmt.targets {
        let schema = &path.resolve(manifest, target.schema.as_deref(), &target.name);
        if manifest.external.table(schema, &target.name).is_some() {
            return Err(Error::WrongObjectType {
                message: format!("cannot analyze external table \"{schema}.{}\"", target.name),
                position: None,
            });
        }
        let table = manifest
            .table(schema, &target.name)
            .ok_or_else(|| Error::UndefinedTable {
                name: target.name.clone(),
                position: None,
            })?;
        crate::security::check_owner(actor, table)?;
        let mut columns = Vec::new();
        for name in &target.columns {
            let i = table
                .def
                .column_index(name)
                .ok_or_else(|| Error::UndefinedColumn {
                    name: name.clone(),
                    position: None,
                })?;
            if columns.contains(&i) {
                return Err(Error::DuplicateColumn { name: name.clone() });
            }
            columns.push(i);
        }
        if columns.is_empty() {
            columns = (0..table.def.columns.len()).collect();
        }
        columns.sort_unstable();
        out.push((table.clone(), columns));
    }
    Ok(out)
}

/// Gathers the statistics of `columns` of `table` (as of its manifest version `version`) and
/// stores them. Named columns keep the statistics of the table's other columns from before,
/// while they still match.
pub fn analyze_table(
    store: &Store,
    table: &TableMeta,
    columns: &[usize],
    version: u64,
    interrupt: &Interrupt,
    txn: Option<&mut Transaction>,
) -> Result<Analyzed> {
    let none = GatheredStatistics::new();
    analyze_table_gathered(store, table, columns, version, interrupt, txn, &none)
}

/// [`analyze_table`] of every column, taking the statistics of the segments in `gathered`
/// (gathered as a load wrote them) instead of reading those segments back. A segment with
/// deleted rows, or one written under another shape of the table, is read back all the same.
pub fn analyze_table_gathered(
    store: &Store,
    table: &TableMeta,
    columns: &[usize],
    version: u64,
    interrupt: &Interrupt,
    txn: Option<&mut Transaction>,
    gathered: &GatheredStatistics,
) -> Result<Analyzed> {
    let all_columns = columns.len() == table.def.columns.len()
        && columns.iter().enumerate().all(|(i, c)| i == *c);
    let known = |segment: &basalt_storage::SegmentMeta| -> Option<&Vec<ColumnAccumulator>> {
        let stats = gathered.get(&segment.id)?;
        let usable = all_columns
            && segment.deleted.is_empty()
            && segment.columns.is_none()
            && !segment.is_resident()
            && stats.len() == table.def.columns.len();
        usable.then_some(stats)
    };
    let fresh = || -> Vec<ColumnAccumulator> {
        columns
            .iter()
            .filter_map(|&i| {
                table
                    .def
                    .columns
                    .get(i)
                    .map(|d| ColumnAccumulator::new(i, d))
            })
            .collect()
    };
    let parts: Vec<Vec<ColumnAccumulator>> = table
        .segments
        .par_iter()
        .map(|segment| -> Result<Vec<ColumnAccumulator>> {
            interrupt.check()?;
            if let Some(stats) = known(segment) {
                return Ok(stats.clone());
            }
            let batch = store
                .read_segment(table, segment, columns)
                .map_err(crate::storage_error)?;
            let mut acc = fresh();
            for (a, array) in acc.iter_mut().zip(batch.columns()) {
                a.add(array.as_ref()).map_err(crate::storage_error)?;
            }
            Ok(acc)
        })
        .collect::<Result<_>>()?;
    let mut merged = fresh();
    for part in &parts {
        for (m, p) in merged.iter_mut().zip(part) {
            m.merge(p);
        }
    }
    let live_rows = table.live_rows();
    let mut gathered: Vec<_> = merged.into_iter().map(ColumnAccumulator::finish).collect();
    // Columns not named keep their earlier statistics (if the table has not changed shape).
    if columns.len() < table.def.columns.len() {
        let before = match &txn {
            Some(t) => t.statistics(table.id),
            None => store.statistics().get(table.id),
        };
        if let Some(before) = before {
            for def in &table.def.columns {
                if gathered.iter().any(|c| c.name == def.name) {
                    continue;
                }
                if let Some(old) = before.column(def) {
                    gathered.push(old.clone());
                }
            }
            gathered.sort_by_key(|c| c.index);
        }
    }
    let analyzed_at_us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0);
    let stats = TableStats {
        table_id: table.id,
        version,
        analyzed_at_us,
        rows: live_rows,
        carried_changes: 0,
        marks: TableStats::marks_of(table),
        columns: gathered,
    };
    match txn {
        // Inside a transaction block the statistics are the block's: written by its commit,
        // discarded by its rollback, as PostgreSQL's pg_statistic rows are.
        Some(t) => t.put_statistics(stats),
        None => {
            store
                .statistics()
                .put(stats)
                .map_err(crate::storage_error)?;
            // A table dropped meanwhile keeps no statistics.
            if store.snapshot().table_by_id(table.id).is_none() {
                store.statistics().remove(table.id);
            }
        }
    }
    Ok(Analyzed {
        schema: table.def.schema.clone(),
        name: table.def.name.clone(),
        segments: table.segments.len(),
        live_rows,
        dead_rows: table.rows() - live_rows,
    })
}

/// After VACUUM moved a table's rows into new segments (`after`), its statistics count the
/// changes made before as carried and take the new segments as their marks, so the rewrite
/// itself does not count as changes.
pub fn rebase_after_rewrite(store: &Store, before: &TableMeta, after: &TableMeta) {
    let Some(stats) = store.statistics().get(before.id) else {
        return;
    };
    let mut rebased = Arc::unwrap_or_clone(stats);
    rebased.carried_changes = rebased.changes_since(before);
    rebased.marks = TableStats::marks_of(after);
    if let Err(e) = store.statistics().put(rebased) {
        // Advisory: the table's statistics then count the rewrite as changes.
        eprintln!("basalt: could not update statistics after VACUUM: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::tokenizer::Tokenizer;

    fn parse_sql(sql: &str) -> Result<AnalyzeStatement> {
        let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql)
            .tokenize_with_location()
            .unwrap();
        assert!(is_analyze(&tokens));
        parse(sql, &tokens)
    }

    // Every form of the statement, and the errors of malformed ones with their positions.
    #[test]
    fn statements_parse() {
        let all = parse_sql("ANALYZE").unwrap();
        assert_eq!((all.verbose, all.targets.len()), (false, 0));
        let v = parse_sql("analyze verbose s.T (a, \"B\") predicate columns").unwrap();
        assert!(v.verbose);
        assert_eq!(
            v.targets,
            vec![AnalyzeTarget {
                schema: Some("s".into()),
                name: "t".into(),
                columns: vec!["a".into(), "B".into()],
            }]
        );
        let two = parse_sql("ANALYSE (VERBOSE) a, b (x) ALL COLUMNS").unwrap();
        assert!(two.verbose);
        assert_eq!(two.targets.len(), 2);
        assert!(parse_sql("ANALYZE ALL COLUMNS").unwrap().targets.is_empty());
        let e = parse_sql("ANALYZE t (a,)").unwrap_err();
        assert_eq!(e.to_string(), "syntax error at or near \")\"");
        assert_eq!(e.position(), Some(14));
        let e = parse_sql("ANALYZE t u").unwrap_err();
        assert_eq!(e.position(), Some(11));
        let e = parse_sql("ANALYZE (FULL) t").unwrap_err();
        assert_eq!(e.to_string(), "unrecognized ANALYZE option \"full\"");
        assert_eq!(e.position(), Some(10));
        let e = parse_sql("ANALYZE COMPRESSION t").unwrap_err();
        assert!(matches!(e, Error::Unsupported { .. }));
    }
}
