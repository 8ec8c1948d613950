//! Crash recovery: a child process writes (single-row INSERTs, bulk appends the size of a COPY,
//! UPDATE, DELETE, CREATE and DROP TABLE, in autocommit and in transaction blocks, some rolled
//! back; TRUNCATE and VACUUM in autocommit), logging each statement before it runs and each acknowledged commit after, with an
//! fsync; it is killed with SIGKILL at a random moment, 36 times over the same data directory.
//! After each kill the directory is reopened and checked: its contents are exactly what the
//! acknowledged commits made (plus, or not, the one commit in flight), no orphan file survives
//! startup, and every block's checksum passes.
//!
//! The child is this test executable run again with `BASALT_CRASH_CHILD` set. The seed is
//! `BASALT_CRASH_SEED` (default fixed), so a failure can be replayed.

// Helpers below are test code too: a failed unwrap is a failed test.
#![cfg(test)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use arrow_array::{Array, Int32Array, Int64Array, RecordBatch};
use basalt_engine::{Engine, StatementResult};

const CHILD_ENV: &str = "BASALT_CRASH_CHILD";
const SEED_ENV: &str = "BASALT_CRASH_SEED";
const ROUNDS: u64 = 36;

/// splitmix64: a small seeded generator, enough to vary the workload.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// One logged operation, applied to the model exactly as the database applies it.
#[derive(Clone, Debug)]
enum Op {
    Create(String),
    Drop(String),
    /// Rows `(id, k)` for ids `first..first + count`, all with `k`.
    Insert {
        table: String,
        first: i64,
        count: i64,
        k: i32,
    },
    Delete {
        table: String,
        lo: i64,
        hi: i64,
    },
    Update {
        table: String,
        lo: i64,
        hi: i64,
        k: i32,
    },
    /// Every row of the table deleted.
    Truncate(String),
    /// The table rewritten: its rows unchanged.
    Vacuum(String),
}

type Model = BTreeMap<String, BTreeMap<i64, i32>>;

fn apply(model: &mut Model, op: &Op) {
    match op {
        Op::Create(t) => {
            model.insert(t.clone(), BTreeMap::new());
        }
        Op::Drop(t) => {
            model.remove(t);
        }
        Op::Insert {
            table,
            first,
            count,
            k,
        } => {
            let rows = model.get_mut(table).expect("insert into a modelled table");
            for id in *first..first + count {
                rows.insert(id, *k);
            }
        }
        Op::Delete { table, lo, hi } => {
            let rows = model.get_mut(table).expect("delete from a modelled table");
            rows.retain(|id, _| !(lo..=hi).contains(&id));
        }
        Op::Update { table, lo, hi, k } => {
            let rows = model.get_mut(table).expect("update of a modelled table");
            for (_, v) in rows.range_mut(*lo..=*hi) {
                *v = *k;
            }
        }
        Op::Truncate(t) => {
            model
                .get_mut(t)
                .expect("truncate of a modelled table")
                .clear();
        }
        Op::Vacuum(_) => {}
    }
}

fn encode(op: &Op) -> String {
    match op {
        Op::Create(t) => format!("create {t}"),
        Op::Drop(t) => format!("drop {t}"),
        Op::Insert {
            table,
            first,
            count,
            k,
        } => format!("insert {table} {first} {count} {k}"),
        Op::Delete { table, lo, hi } => format!("delete {table} {lo} {hi}"),
        Op::Update { table, lo, hi, k } => format!("update {table} {lo} {hi} {k}"),
        Op::Truncate(t) => format!("truncate {t}"),
        Op::Vacuum(t) => format!("vacuum {t}"),
    }
}

fn decode(line: &str) -> Op {
    let f: Vec<&str> = line.split(' ').collect();
    let n = |i: usize| f[i].parse::<i64>().unwrap();
    match f[0] {
        "create" => Op::Create(f[1].into()),
        "drop" => Op::Drop(f[1].into()),
        "insert" => Op::Insert {
            table: f[1].into(),
            first: n(2),
            count: n(3),
            k: n(4) as i32,
        },
        "delete" => Op::Delete {
            table: f[1].into(),
            lo: n(2),
            hi: n(3),
        },
        "update" => Op::Update {
            table: f[1].into(),
            lo: n(2),
            hi: n(3),
            k: n(4) as i32,
        },
        "truncate" => Op::Truncate(f[1].into()),
        "vacuum" => Op::Vacuum(f[1].into()),
        other => panic!("bad log line {other}"),
    }
}

fn sql(op: &Op) -> Option<String> {
    Some(match op {
        Op::Create(t) => format!("CREATE TABLE {t} (id BIGINT NOT NULL, k INTEGER NOT NULL)"),
        Op::Drop(t) => format!("DROP TABLE {t}"),
        Op::Insert {
            table,
            first,
            count,
            k,
        } if *count <= 20 => {
            let values: Vec<String> = (*first..first + count)
                .map(|id| format!("({id}, {k})"))
                .collect();
            format!("INSERT INTO {table} VALUES {}", values.join(", "))
        }
        // Bulk: the embedded append API, as COPY commits.
        Op::Insert { .. } => return None,
        Op::Delete { table, lo, hi } => {
            format!("DELETE FROM {table} WHERE id BETWEEN {lo} AND {hi}")
        }
        Op::Update { table, lo, hi, k } => {
            format!("UPDATE {table} SET k = {k} WHERE id BETWEEN {lo} AND {hi}")
        }
        Op::Truncate(t) => format!("TRUNCATE {t}"),
        Op::Vacuum(t) => format!("VACUUM {t}"),
    })
}

/// The log: `begin <n>` before a commit is attempted, its ops, then `commit <n>` once it is
/// acknowledged (fsynced), or `rollback <n>` when the child rolled it back.
struct Log(std::fs::File);

impl Log {
    /// One `write`, so a kill never leaves half a line.
    fn line(&mut self, s: &str) {
        self.0.write_all(format!("{s}\n").as_bytes()).unwrap();
    }
    fn sync(&mut self) {
        self.0.sync_data().unwrap();
    }
}

fn run(session: &mut basalt_engine::Session, op: &Op) {
    match sql(op) {
        Some(text) => {
            session.run(&text).unwrap();
        }
        None => {
            let Op::Insert {
                table,
                first,
                count,
                k,
            } = op
            else {
                unreachable!()
            };
            let ids = Int64Array::from_iter_values(*first..first + count);
            let ks = Int32Array::from(vec![*k; *count as usize]);
            let batch = RecordBatch::try_from_iter([
                ("id", Arc::new(ids) as Arc<dyn Array>),
                ("k", Arc::new(ks) as Arc<dyn Array>),
            ])
            .unwrap();
            session.append_batches(table, &[batch]).unwrap();
        }
    }
}

/// The child: writes until killed. Ids are unique across rounds (`round << 32` on).
fn child(dir: &Path, round: u64, seed: u64) -> ! {
    // A failure in the child must not pass for the kill: record it and abort at once.
    let marker = dir.with_extension("failed");
    std::panic::set_hook(Box::new(move |info| {
        let _ = std::fs::write(&marker, info.to_string());
        std::process::abort();
    }));
    let engine = Engine::open(dir).unwrap();
    let mut session = engine.session("crash");
    let mut log = Log(std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(dir.with_extension("log"))
        .unwrap());
    let mut rng = Rng(seed ^ round.wrapping_mul(0x1234_5678_9ABC_DEF1));
    let mut next_id = (round << 32) as i64;
    let mut tables: Vec<String> = tables_of(&mut session);
    let mut txn = 0u64;
    let mut created = 0u64;
    let mut k = 0i32;
    loop {
        txn += 1;
        k += 1;
        let id = format!("{round}.{txn}");
        // What this commit does.
        let mut ops = Vec::new();
        let in_block = rng.below(5) == 0;
        let statements = if in_block { 1 + rng.below(4) } else { 1 };
        for _ in 0..statements {
            let live: Vec<&String> = tables.iter().collect();
            let pick = rng.below(100);
            let op = if !live.iter().any(|t| *t == "t") {
                Op::Create("t".into())
            } else if !in_block && pick >= 96 {
                // Outside blocks only: VACUUM refuses to run inside one. It rewrites t whole,
                // so kills land in the middle of it too.
                Op::Vacuum("t".into())
            } else if !in_block && pick >= 93 && live.len() >= 2 {
                let victims: Vec<&String> = live.iter().copied().filter(|t| *t != "t").collect();
                Op::Truncate(victims[rng.below(victims.len() as u64) as usize].clone())
            } else if pick < 45 {
                let count = 1;
                next_id += count;
                Op::Insert {
                    table: "t".into(),
                    first: next_id - count,
                    count,
                    k,
                }
            } else if pick < 52 {
                let count = 2 + rng.below(15) as i64;
                next_id += count;
                Op::Insert {
                    table: live[rng.below(live.len() as u64) as usize].clone(),
                    first: next_id - count,
                    count,
                    k,
                }
            } else if pick < 57 {
                let count = 5_000 + rng.below(20_000) as i64;
                next_id += count;
                Op::Insert {
                    table: "t".into(),
                    first: next_id - count,
                    count,
                    k,
                }
            } else if pick < 70 {
                let lo = (rng.below(round + 1) << 32) as i64 + rng.below(400) as i64;
                Op::Delete {
                    table: "t".into(),
                    lo,
                    hi: lo + rng.below(30) as i64,
                }
            } else if pick < 82 {
                let lo = (rng.below(round + 1) << 32) as i64 + rng.below(400) as i64;
                Op::Update {
                    table: "t".into(),
                    lo,
                    hi: lo + rng.below(30) as i64,
                    k,
                }
            } else if pick < 91 || live.len() < 2 {
                created += 1;
                let name = format!("u_{round}_{created}");
                tables.push(name.clone());
                Op::Create(name)
            } else {
                let victims: Vec<&String> = live.iter().copied().filter(|t| *t != "t").collect();
                let victim = victims[rng.below(victims.len() as u64) as usize].clone();
                tables.retain(|t| *t != victim);
                Op::Drop(victim)
            };
            if let Op::Create(t) = &op {
                if t == "t" {
                    tables.push("t".into());
                }
            }
            ops.push(op);
        }
        let rollback = in_block && rng.below(4) == 0;
        log.line(&format!("begin {id}"));
        for op in &ops {
            log.line(&encode(op));
        }
        log.sync();
        if in_block {
            session.run("BEGIN").unwrap();
        }
        for op in &ops {
            run(&mut session, op);
        }
        if rollback {
            session.run("ROLLBACK").unwrap();
            log.line(&format!("rollback {id}"));
            tables = tables_of(&mut session);
        } else {
            if in_block {
                session.run("COMMIT").unwrap();
            }
            log.line(&format!("commit {id}"));
        }
        log.sync();
    }
}

fn tables_of(session: &mut basalt_engine::Session) -> Vec<String> {
    let rows = query(
        session,
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
    );
    rows.into_iter().map(|r| r[0].clone()).collect()
}

/// Every row of a query's result as text.
fn query(session: &mut basalt_engine::Session, text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for result in session.run(text).unwrap() {
        let StatementResult::Query(q) = result else {
            continue;
        };
        for batch in &q.batches {
            for row in 0..batch.num_rows() {
                out.push(
                    batch
                        .columns()
                        .iter()
                        .map(|c| arrow_cast::display::array_value_to_string(c, row).unwrap())
                        .collect(),
                );
            }
        }
    }
    out
}

/// Reads the log from `from` (a line index): the acknowledged commits applied to `model` in
/// order, and the last commit begun but neither acknowledged nor rolled back, if any.
fn replay_log(path: &Path, from: usize, model: &mut Model) -> (usize, Option<Vec<Op>>) {
    let file = std::fs::File::open(path).unwrap();
    let lines: Vec<String> = std::io::BufReader::new(file)
        .lines()
        .map(|l| l.unwrap())
        .collect();
    let mut open: Option<Vec<Op>> = None;
    for line in &lines[from..] {
        if line.starts_with("begin ") {
            assert!(open.is_none(), "two commits in flight: {line}");
            open = Some(Vec::new());
        } else if line.starts_with("commit ") {
            for op in open.take().expect("commit without begin") {
                apply(model, &op);
            }
        } else if line.starts_with("rollback ") {
            open = None;
        } else if !line.is_empty() {
            open.as_mut()
                .expect("op outside a commit")
                .push(decode(line));
        }
    }
    (lines.len(), open)
}

fn contents(dir: &Path) -> Model {
    let engine = Engine::open(dir).unwrap();
    let mut session = engine.session("check");
    let mut out = Model::new();
    for table in tables_of(&mut session) {
        let rows = query(&mut session, &format!("SELECT id, k FROM {table}"));
        let mut map = BTreeMap::new();
        for r in rows {
            let id: i64 = r[0].parse().unwrap();
            assert!(
                map.insert(id, r[1].parse().unwrap()).is_none(),
                "id {id} twice in {table}"
            );
        }
        out.insert(table, map);
    }
    out
}

fn describe(model: &Model) -> String {
    let tables: BTreeSet<(&String, usize)> = model.iter().map(|(t, r)| (t, r.len())).collect();
    format!("{tables:?}")
}

#[test]
fn killed_writers_recover_exactly_their_acknowledged_commits() {
    let seed: u64 = std::env::var(SEED_ENV)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x005E_EDBA_5A17);
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        let round: u64 = std::env::var("BASALT_CRASH_ROUND")
            .unwrap()
            .parse()
            .unwrap();
        child(Path::new(&dir), round, seed);
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let log = dir.with_extension("log");
    let exe = std::env::current_exe().unwrap();
    let mut rng = Rng(seed);
    let mut model = Model::new();
    let mut read = 0;
    let mut in_flight_applied = 0;
    let mut vacuums_in_flight = 0;
    for round in 0..ROUNDS {
        let mut child = std::process::Command::new(&exe)
            .args([
                "killed_writers_recover_exactly_their_acknowledged_commits",
                "--exact",
                "--nocapture",
            ])
            .env(CHILD_ENV, &dir)
            .env("BASALT_CRASH_ROUND", round.to_string())
            .env(SEED_ENV, seed.to_string())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(40 + rng.below(400)));
        // SIGKILL: no destructor, no checkpoint, no flush of anything not yet written.
        child.kill().unwrap();
        let status = child.wait().unwrap();
        let failed = dir.with_extension("failed");
        assert!(
            !failed.exists(),
            "round {round} (seed {seed}): the child failed: {}",
            std::fs::read_to_string(&failed).unwrap_or_default()
        );
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9),
            "round {round}: the child exited on its own: {status}"
        );

        // Startup recovery and garbage collection, then every checksum and every file.
        {
            let store = basalt_storage::Store::open(&dir).unwrap();
            let orphans = store.verify().unwrap();
            assert!(orphans.is_empty(), "round {round}: orphans {orphans:?}");
        }

        let (lines, open) = replay_log(&log, read, &mut model);
        if let Some(ops) = &open {
            vacuums_in_flight += ops.iter().filter(|op| matches!(op, Op::Vacuum(_))).count();
        }
        read = lines;
        let actual = contents(&dir);
        let mut with = model.clone();
        if let Some(ops) = &open {
            for op in ops {
                apply(&mut with, op);
            }
        }
        if actual == with && open.is_some() {
            in_flight_applied += 1;
            model = with;
        } else {
            assert!(
                actual == model,
                "round {round} (seed {seed}): the database holds {} but the acknowledged \
                 commits make {} (or {} with the one in flight)",
                describe(&actual),
                describe(&model),
                describe(&with),
            );
        }
        // The in-flight commit is settled now: the next round's log starts after it.
        let mut file = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        if open.is_some() {
            writeln!(file, "rollback settled").unwrap();
            read += 1;
        }
    }
    let rows: usize = model.values().map(BTreeMap::len).sum();
    assert!(rows > 1_000, "only {rows} rows written in {ROUNDS} rounds");
    // The log names every statement the child started, acknowledged or not.
    let log_text = std::fs::read_to_string(&log).unwrap();
    let vacuums = log_text
        .lines()
        .filter(|l| l.starts_with("vacuum "))
        .count();
    let truncates = log_text
        .lines()
        .filter(|l| l.starts_with("truncate "))
        .count();
    assert!(
        vacuums > 0 && truncates > 0,
        "{vacuums} VACUUMs and {truncates} TRUNCATEs run"
    );
    // Some kills land while a commit is in flight; whether it survived was checked above.
    eprintln!(
        "{ROUNDS} rounds, {rows} rows in {} tables, {in_flight_applied} commits in flight \
         at a kill survived; {vacuums} VACUUMs ({vacuums_in_flight} killed while running), \
         {truncates} TRUNCATEs",
        model.len()
    );
}
