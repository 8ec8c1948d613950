//! What the harnesses share: medians and geometric means, sizes and memory, the machine's
//! description, and peer answers turned into [`Answer`]s.

use std::path::Path;
use std::process::Command;

use anyhow::{anyhow, Result};
use serde_json::Value;

use crate::answers::{Answer, Kind};

/// The median of `v` (the mean of the two middle values when `v` has an even length); NaN when
/// `v` is empty.
pub fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// The geometric mean of positive values; `None` for none.
pub fn geomean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| (v.iter().map(|x| x.ln()).sum::<f64>() / v.len() as f64).exp())
}

/// Basalt's time over a peer's, when both ran and the peer's is positive.
pub fn ratio(basalt: &Result<f64, String>, peer: &Option<Result<f64, String>>) -> Option<f64> {
    match (basalt, peer) {
        (Ok(a), Some(Ok(b))) if *b > 0.0 => Some(a / b),
        _ => None,
    }
}

/// Geometric means over the queries on which every engine has a time: `times` holds one row per
/// query with one entry per engine (`None` where the engine did not run the query or failed it).
/// Returns how many queries count and each engine's geometric mean over them, so that the
/// ratio of two means is the geometric mean of the per-query ratios over the same queries.
pub fn common_geomeans(times: &[Vec<Option<f64>>]) -> (usize, Vec<Option<f64>>) {
    let engines = times.iter().map(Vec::len).max().unwrap_or(0);
    let complete: Vec<Vec<f64>> = times
        .iter()
        .filter(|row| row.len() == engines && row.iter().all(|t| t.is_some_and(|t| t > 0.0)))
        .map(|row| row.iter().flatten().copied().collect())
        .collect();
    let means = (0..engines)
        .map(|e| geomean(&complete.iter().map(|row| row[e]).collect::<Vec<_>>()))
        .collect();
    (complete.len(), means)
}

/// The bytes of every file under `dir`.
pub fn dir_size(dir: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            dir_size(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}

/// Bytes as MB below a gigabyte, GB above.
pub fn human_bytes(b: u64) -> String {
    let b = b as f64;
    if b >= 1e9 {
        format!("{:.2} GB", b / 1e9)
    } else {
        format!("{:.1} MB", b / 1e6)
    }
}

/// A `/proc/<pid>/status` field in bytes (the file gives kB).
pub fn proc_status_kb(pid: Option<u32>, field: &str) -> Option<u64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/status"),
        None => "/proc/self/status".into(),
    };
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The peak resident memory of a process (this one when `pid` is `None`).
pub fn vm_hwm(pid: Option<u32>) -> Option<u64> {
    proc_status_kb(pid, "VmHWM:")
}

/// The machine's memory.
pub fn mem_total() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
}

/// The CPU's model name.
pub fn cpu_model() -> Option<String> {
    let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("model name"))?;
    Some(line.split_once(':')?.1.trim().to_string())
}

/// `commit <hash>` of the checkout the harness was built from (`-dirty` when it has changes).
pub fn git_commit() -> Option<String> {
    let out = Command::new("git")
        .args(["describe", "--always", "--dirty"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| format!("commit {}", String::from_utf8_lossy(&out.stdout).trim()))
}

/// `Machine: <cpu>, <n> cores, <memory> memory`.
pub fn machine_line() -> String {
    format!(
        "Machine: {}, {} cores, {} memory",
        cpu_model().unwrap_or_else(|| "unknown CPU".into()),
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        mem_total()
            .map(human_bytes)
            .unwrap_or_else(|| "unknown".into()),
    )
}

/// `Date: <UTC date and time>` (from `date -u`).
pub fn date_line() -> String {
    let date = Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    format!("Date: {}", date.unwrap_or_else(|| "unknown".into()))
}

/// The `Command:` line of a harness's output: how to run it again.
pub fn command_line(bin: &str) -> String {
    format!(
        "Command: cargo run --release -p basalt-benches --bin {bin} -- {}",
        std::env::args().skip(1).collect::<Vec<_>>().join(" ")
    )
}

/// A peer's `query` response (with `"rows": true`) as an [`Answer`].
pub fn peer_answer(v: &Value) -> Result<Answer> {
    let names = v["columns"]
        .as_array()
        .ok_or_else(|| anyhow!("no columns"))?;
    let types = v["types"].as_array().ok_or_else(|| anyhow!("no types"))?;
    let columns = names
        .iter()
        .zip(types)
        .map(|(n, t)| {
            (
                n.as_str().unwrap_or_default().to_string(),
                Kind::of_type_name(t.as_str().unwrap_or_default()),
            )
        })
        .collect();
    let rows = v["rows"]
        .as_array()
        .ok_or_else(|| anyhow!("no rows"))?
        .iter()
        .map(|r| {
            r.as_array()
                .map(|cells| {
                    cells
                        .iter()
                        .map(|c| c.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect();
    Ok(Answer { columns, rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Odd and even lengths, and the geometric mean of 1 and 4.
    #[test]
    fn median_and_geomean() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(Vec::new()).is_nan());
        assert_eq!(geomean(&[1.0, 4.0]), Some(2.0));
        assert_eq!(geomean(&[]), None);
    }

    // Only the queries every engine ran count; a peer that ran none leaves every mean empty.
    #[test]
    fn common_geomeans_skip_missing_peers() {
        let times = vec![
            vec![Some(1.0), Some(4.0), None],
            vec![Some(2.0), Some(8.0), Some(1.0)],
            vec![Some(8.0), Some(2.0), Some(2.0)],
            vec![None, Some(1.0), Some(1.0)],
        ];
        let (n, means) = common_geomeans(&times);
        assert_eq!(n, 2);
        let expected = [4.0, 4.0, 2.0f64.sqrt()];
        assert_eq!(means.len(), 3);
        for (m, e) in means.iter().zip(expected) {
            assert!(m.is_some_and(|m| (m - e).abs() < 1e-12), "{m:?} != {e}");
        }
        let (n, means) = common_geomeans(&[vec![Some(1.0), None], vec![Some(3.0), None]]);
        assert_eq!((n, means), (0, vec![None, None]));
        assert_eq!(common_geomeans(&[]), (0, Vec::new()));
    }
}
