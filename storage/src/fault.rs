//! Fault injection for tests: make the next writes or fsyncs under a directory fail as a full
//! disk or an I/O error would, so tests can check that a failed write aborts its transaction
//! and leaves the store usable and consistent.
//!
//! Nothing is injected unless a test calls [`inject`]; the check on the write path is then one
//! relaxed atomic load.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::error::{Error, Result};

/// Where in the write path a fault strikes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Site {
    /// Writing a commit record to the write-ahead log.
    WalWrite,
    /// The fsync that makes write-ahead log records durable.
    WalSync,
    /// Writing a segment file (an append, or a checkpoint flushing resident rows): the fault
    /// strikes after the blocks are written and before the footer, leaving a partial file.
    SegmentWrite,
    /// Writing a manifest file.
    ManifestWrite,
}

/// The error a fault produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `ENOSPC`.
    DiskFull,
    /// `EIO`.
    Io,
}

#[derive(Debug)]
struct Fault {
    dir: PathBuf,
    site: Site,
    kind: Kind,
    remaining: u32,
}

static ARMED: AtomicBool = AtomicBool::new(false);
static FAULTS: Mutex<Vec<Fault>> = Mutex::new(Vec::new());

/// Makes the next `times` operations at `site` on files under `dir` fail with `kind`.
pub fn inject(dir: &Path, site: Site, kind: Kind, times: u32) {
    let mut faults = FAULTS.lock().unwrap_or_else(PoisonError::into_inner);
    faults.push(Fault {
        dir: dir.to_path_buf(),
        site,
        kind,
        remaining: times,
    });
    ARMED.store(true, Ordering::Relaxed);
}

/// Removes every fault under `dir` not yet used up.
/// Whether any fault was ever injected in this process: the write path's cheap test before it
/// does anything only a fault needs.
pub(crate) fn armed() -> bool {
    ARMED.load(Ordering::Relaxed)
}

pub fn clear(dir: &Path) {
    let mut faults = FAULTS.lock().unwrap_or_else(PoisonError::into_inner);
    faults.retain(|f| f.dir != dir);
}

/// Fails when a fault is armed for `site` on `path`.
pub(crate) fn check(site: Site, path: &Path) -> Result<()> {
    if !ARMED.load(Ordering::Relaxed) {
        return Ok(());
    }
    let mut faults = FAULTS.lock().unwrap_or_else(PoisonError::into_inner);
    let Some(fault) = faults
        .iter_mut()
        .find(|f| f.site == site && f.remaining > 0 && path.starts_with(&f.dir))
    else {
        return Ok(());
    };
    fault.remaining -= 1;
    let kind = fault.kind;
    faults.retain(|f| f.remaining > 0);
    let source = match kind {
        Kind::DiskFull => std::io::Error::new(ErrorKind::StorageFull, "No space left on device"),
        Kind::Io => std::io::Error::other("Input/output error"),
    };
    Err(Error::io(path, source))
}
