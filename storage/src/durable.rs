//! Durable file-system steps: atomic replacement of a small file, and directory fsync.
//!
//! What Basalt assumes of the file system (POSIX, e.g. ext4 or XFS on Linux):
//! - `fsync` of a file makes its contents durable; `fsync` of a directory makes the names in it
//!   (creations, renames, removals) durable. Neither implies the other.
//! - `rename` within one directory atomically replaces the target: after a crash the name holds
//!   either the old file or the new one, never a mix.
//! - Nothing else is assumed atomic: a crash may leave any prefix of an unsynced write, so every
//!   file Basalt reads back carries a checksum.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{io_at, Error, Result};

/// A failed [`replace_file`], by whether the new file may already be visible under its name.
#[derive(Debug)]
pub(crate) enum ReplaceError {
    /// Failed before the rename: the target name is unchanged and no temporary file is left.
    Before(Error),
    /// The rename happened but making it durable failed: after a crash the name may hold the old
    /// or the new contents.
    After(Error),
}

/// Durably writes `bytes` as `dir/name`: write `dir/name.tmp`, fsync it, rename it over
/// `dir/name`, fsync `dir`.
pub(crate) fn replace_file(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), ReplaceError> {
    let target = dir.join(name);
    let tmp = dir.join(format!("{name}{TMP_SUFFIX}"));
    let written = (|| -> Result<()> {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(io_at(&tmp))?;
        file.write_all(bytes).map_err(io_at(&tmp))?;
        file.sync_all().map_err(io_at(&tmp))?;
        std::fs::rename(&tmp, &target).map_err(io_at(&target))
    })();
    if let Err(e) = written {
        // Best effort: a leftover temporary file is removed by the next startup.
        let _ = std::fs::remove_file(&tmp);
        return Err(ReplaceError::Before(e));
    }
    sync_dir(dir).map_err(ReplaceError::After)
}

/// Suffix of files being written; startup removes any it finds.
pub(crate) const TMP_SUFFIX: &str = ".tmp";

/// Makes the names in directory `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_at(dir))
    }
    #[cfg(not(unix))]
    {
        // Other platforms cannot open a directory for fsync; their metadata journaling is
        // what makes renames durable there.
        let _ = dir;
        Ok(())
    }
}

/// Creates directory `dir` (and its parents) if missing, making the new name durable.
pub(crate) fn create_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(io_at(dir))?;
    match dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => sync_dir(parent),
        _ => Ok(()),
    }
}

/// The entries of directory `dir` as (path, file name) pairs; names that are not UTF-8 are
/// returned with a lossy name, which matches none of Basalt's patterns.
pub(crate) fn list_dir(dir: &Path) -> Result<Vec<(PathBuf, String)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_at(dir))? {
        let entry = entry.map_err(io_at(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        out.push((entry.path(), name));
    }
    Ok(out)
}
