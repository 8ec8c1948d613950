//! What the API tests share: running SQL and reading its rows as text, and looking at a data
//! directory's files.

use arrow_array::cast::AsArray;
use basalt_engine::{pgtext, Session, StatementResult};

/// Runs `sql` and gives the last statement's rows, each cell as PostgreSQL's text (`None` for
/// NULL), or the error's message.
pub fn try_cells(session: &mut Session, sql: &str) -> Result<Vec<Vec<Option<String>>>, String> {
    let results = session.run(sql).map_err(|e| e.to_string())?;
    let Some(StatementResult::Query(q)) = results.into_iter().last() else {
        return Err(format!("{sql}: not a query"));
    };
    let mut out = Vec::new();
    for b in &q.batches {
        for r in 0..b.num_rows() {
            out.push(
                q.columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        pgtext::format_value(b.column(i).as_ref(), r, c.ty, pgtext::Zone::UTC)
                    })
                    .collect(),
            );
        }
    }
    Ok(out)
}

/// Runs `sql` and renders every row as `a|b|c` (NULL as `NULL`), like a tiny psql.
pub fn rows(session: &mut Session, sql: &str) -> Vec<String> {
    try_cells(session, sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .map(|row| {
            row.into_iter()
                .map(|c| c.unwrap_or_else(|| "NULL".into()))
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

/// The single BIGINT value `sql` returns.
pub fn bigint(session: &mut Session, sql: &str) -> i64 {
    let results = session.run(sql).expect("the query runs");
    let Some(StatementResult::Query(q)) = results.last() else {
        panic!("{sql}: not a query");
    };
    q.batches[0]
        .column(0)
        .as_primitive::<arrow_array::types::Int64Type>()
        .value(0)
}

/// Files under `dir/tables`: the table data (none before the first table's first file).
pub fn data_files(dir: &std::path::Path) -> usize {
    let mut n = 0;
    let Ok(tables) = std::fs::read_dir(dir.join("tables")) else {
        return 0;
    };
    for table in tables {
        n += std::fs::read_dir(table.expect("a table directory").path())
            .expect("a table directory")
            .count();
    }
    n
}

/// Copies the files of `from` into `to` (the lock file excepted): the data directory as a
/// crash at this moment would leave it, since the copy sees what was written.
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("the copy's directory");
    for entry in std::fs::read_dir(from).expect("the directory copied") {
        let entry = entry.expect("an entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else if entry.file_name() != basalt_storage::LOCK_FILE {
            std::fs::copy(entry.path(), target).expect("a file copied");
        }
    }
}
