//! Where COPY reads and UNLOAD writes: one small interface, [`FileStore`], so that object
//! storage can sit beside the local file system later.
//!
//! A location names a file, a directory (every file under it), a glob (`*` and `?` in any
//! path component) or, as an S3 key prefix does in Redshift, every file whose path starts with
//! it. Local locations are absolute paths, `file://` URLs, or paths relative to the data
//! directory.

use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};

use crate::copy::options::Compression;
use crate::error::{Error, Result};

/// File access for COPY and UNLOAD.
pub trait FileStore: Send + Sync + std::fmt::Debug {
    /// The files a COPY location names, sorted by name. None is an error.
    fn list(&self, location: &str) -> Result<Vec<String>>;
    /// The files whose names start with `prefix` (UNLOAD's check for existing output).
    fn list_prefix(&self, prefix: &str) -> Result<Vec<String>>;
    /// A file's whole contents.
    fn read(&self, file: &str) -> Result<Vec<u8>>;
    /// A file opened for reading from its start, for loads that stream it in bounded pieces.
    fn open(&self, file: &str) -> Result<std::fs::File>;
    /// Writes a file, creating its directory; replaces an existing file.
    fn write(&self, file: &str, bytes: &[u8]) -> Result<()>;
    /// Removes a file.
    fn remove(&self, file: &str) -> Result<()>;
    /// The name a location's file is reported with (in errors and STL_LOAD_ERRORS).
    fn display(&self, file: &str) -> String;
    /// Whether a file or directory is at `location` (external tables tell a missing
    /// location from an empty one).
    fn exists(&self, location: &str) -> bool;
}

/// The local file system, relative paths resolved against the data directory.
#[derive(Debug, Clone)]
pub struct LocalFiles {
    root: PathBuf,
}

impl LocalFiles {
    pub fn new(root: &Path) -> Self {
        LocalFiles {
            root: root.to_path_buf(),
        }
    }

    /// The path a location names.
    pub fn resolve(&self, location: &str) -> Result<PathBuf> {
        let raw = match location.strip_prefix("file://") {
            Some(rest) => rest,
            None if location.contains("://") => {
                return Err(Error::Unsupported {
                    message: format!(
                        "only local paths and file:// locations are supported: \"{location}\""
                    ),
                })
            }
            None => location,
        };
        let p = Path::new(raw);
        Ok(if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.root.join(p)
        })
    }
}

fn path_string(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// An I/O error on `path` as the engine reports it: PostgreSQL's wording for COPY.
pub fn io_error(path: &str, verb: &str, e: &std::io::Error) -> Error {
    let reason = match e.kind() {
        ErrorKind::NotFound => "No such file or directory".to_string(),
        ErrorKind::PermissionDenied => "Permission denied".to_string(),
        _ => e.to_string(),
    };
    let message = format!("could not {verb} file \"{path}\": {reason}");
    match e.kind() {
        ErrorKind::NotFound => Error::UndefinedFile { message },
        ErrorKind::PermissionDenied => Error::InsufficientPrivilege { message },
        _ => Error::Io { message },
    }
}

fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?'])
}

/// Shell-style match of one path component: `*` any run, `?` one character.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// Every regular file under `dir`, recursively, skipping names that start with `.`.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| io_error(&path_string(dir), "open directory", &e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io_error(&path_string(dir), "read directory", &e))?;
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            walk(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// Paths matching a glob whose components may hold wildcards.
fn glob(path: &Path) -> Result<Vec<PathBuf>> {
    let mut current = vec![PathBuf::new()];
    for comp in path.components() {
        let s = comp.as_os_str().to_string_lossy();
        let mut next = Vec::new();
        for base in &current {
            if has_wildcard(&s) {
                let dir = if base.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    base.as_path()
                };
                let Ok(entries) = std::fs::read_dir(dir) else {
                    continue;
                };
                for entry in entries.flatten() {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if !name.starts_with('.') && glob_match(&s, &name) {
                        next.push(base.join(&name));
                    }
                }
            } else {
                next.push(base.join(comp.as_os_str()));
            }
        }
        current = next;
    }
    let mut files = Vec::new();
    for p in current {
        if p.is_dir() {
            walk(&p, &mut files)?;
        } else if p.exists() {
            files.push(p);
        }
    }
    Ok(files)
}

impl FileStore for LocalFiles {
    fn list(&self, location: &str) -> Result<Vec<String>> {
        let path = self.resolve(location)?;
        let shown = path_string(&path);
        let mut files = Vec::new();
        if has_wildcard(&shown) {
            files = glob(&path)?;
        } else {
            match std::fs::metadata(&path) {
                Ok(m) if m.is_dir() => walk(&path, &mut files)?,
                Ok(_) => files.push(path.clone()),
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    files = self
                        .list_prefix(&shown)?
                        .into_iter()
                        .map(PathBuf::from)
                        .collect()
                }
                Err(e) => return Err(io_error(&shown, "open", &e)),
            }
        }
        if files.is_empty() {
            return Err(Error::UndefinedFile {
                message: format!(
                    "could not open file \"{shown}\" for reading: No such file or directory"
                ),
            });
        }
        let mut names: Vec<String> = files.iter().map(|p| path_string(p)).collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    fn list_prefix(&self, prefix: &str) -> Result<Vec<String>> {
        let path = self.resolve(prefix)?;
        let shown = path_string(&path);
        // A prefix ending in `/` names a directory's contents.
        let (dir, start) = if shown.ends_with('/') {
            (path.clone(), String::new())
        } else {
            match (path.parent(), path.file_name()) {
                (Some(d), Some(f)) => (d.to_path_buf(), f.to_string_lossy().into_owned()),
                _ => (path.clone(), String::new()),
            }
        };
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_error(&path_string(&dir), "open directory", &e)),
        };
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| io_error(&path_string(&dir), "read directory", &e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !name.starts_with(&start) {
                continue;
            }
            let p = entry.path();
            if p.is_dir() {
                walk(&p, &mut files)?;
            } else {
                files.push(p);
            }
        }
        let mut names: Vec<String> = files.iter().map(|p| path_string(p)).collect();
        names.sort();
        Ok(names)
    }

    fn read(&self, file: &str) -> Result<Vec<u8>> {
        let shown = self.display(file);
        let mut f = self.open(file)?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf)
            .map_err(|e| io_error(&shown, "read", &e))?;
        Ok(buf)
    }

    fn open(&self, file: &str) -> Result<std::fs::File> {
        let path = self.resolve(file)?;
        let shown = path_string(&path);
        std::fs::File::open(&path)
            .map_err(|e| io_error(&shown, "open", &e))
            .map_err(|e| for_reading(e, &shown))
    }

    fn write(&self, file: &str, bytes: &[u8]) -> Result<()> {
        let path = self.resolve(file)?;
        let shown = path_string(&path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| io_error(&path_string(dir), "create directory", &e))?;
        }
        std::fs::write(&path, bytes).map_err(|e| io_error(&shown, "write", &e))
    }

    fn remove(&self, file: &str) -> Result<()> {
        let path = self.resolve(file)?;
        std::fs::remove_file(&path).map_err(|e| io_error(&path_string(&path), "remove", &e))
    }

    fn exists(&self, location: &str) -> bool {
        self.resolve(location).is_ok_and(|p| p.exists())
    }

    fn display(&self, file: &str) -> String {
        match self.resolve(file) {
            Ok(p) => path_string(&p),
            Err(_) => file.to_string(),
        }
    }
}

/// PostgreSQL says "could not open file "x" for reading: reason".
fn for_reading(e: Error, path: &str) -> Error {
    let fix = |m: String| {
        m.replacen(
            &format!("\"{path}\":"),
            &format!("\"{path}\" for reading:"),
            1,
        )
    };
    match e {
        Error::UndefinedFile { message } => Error::UndefinedFile {
            message: fix(message),
        },
        Error::InsufficientPrivilege { message } => Error::InsufficientPrivilege {
            message: fix(message),
        },
        Error::Io { message } => Error::Io {
            message: fix(message),
        },
        other => other,
    }
}

/// A file's bytes as a stream, decompressed as `compression` says. Reading a truncated or
/// corrupt stream fails with an I/O error that [`read_error`] turns into `DataCorrupted`.
pub fn reader(file: std::fs::File, compression: Compression) -> Box<dyn Read + Send> {
    let file = std::io::BufReader::with_capacity(1 << 20, file);
    match compression {
        Compression::None => Box::new(file),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(file)),
        Compression::Zstd => match zstd::stream::read::Decoder::with_buffer(file) {
            Ok(d) => Box::new(d),
            Err(e) => Box::new(Failed(Some(e))),
        },
        Compression::Lz4 => Box::new(lz4_flex::frame::FrameDecoder::new(file)),
        Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(file)),
    }
}

/// A stream whose first read fails (a decoder that could not start).
struct Failed(Option<std::io::Error>);

impl Read for Failed {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        Err(self
            .0
            .take()
            .unwrap_or_else(|| std::io::Error::other("stream failed")))
    }
}

/// An error reading a [`reader`]'s stream: `DataCorrupted` for a compressed file (as
/// [`decompress`] reports it), an I/O error otherwise.
pub fn read_error(e: &std::io::Error, compression: Compression, file: &str) -> Error {
    let what = match compression {
        Compression::None => return io_error(file, "read", e),
        Compression::Gzip => "gzip",
        Compression::Zstd => "zstd",
        Compression::Lz4 => "lz4",
        Compression::Bzip2 => "bzip2",
    };
    Error::DataCorrupted {
        message: format!("could not decompress {what} file \"{file}\": {e}"),
    }
}

/// Decompresses a whole file. A truncated or corrupt stream is `DataCorrupted`, naming the file.
pub fn decompress(bytes: Vec<u8>, compression: Compression, file: &str) -> Result<Vec<u8>> {
    let corrupt = |what: &str, e: std::io::Error| Error::DataCorrupted {
        message: format!("could not decompress {what} file \"{file}\": {e}"),
    };
    match compression {
        Compression::None => Ok(bytes),
        Compression::Gzip => {
            let mut out = Vec::new();
            flate2::read::MultiGzDecoder::new(bytes.as_slice())
                .read_to_end(&mut out)
                .map_err(|e| corrupt("gzip", e))?;
            Ok(out)
        }
        Compression::Zstd => {
            let mut out = Vec::new();
            zstd::stream::read::Decoder::new(bytes.as_slice())
                .and_then(|mut d| d.read_to_end(&mut out))
                .map_err(|e| corrupt("zstd", e))?;
            Ok(out)
        }
        Compression::Lz4 => {
            let mut out = Vec::new();
            lz4_flex::frame::FrameDecoder::new(bytes.as_slice())
                .read_to_end(&mut out)
                .map_err(|e| corrupt("lz4", e))?;
            Ok(out)
        }
        Compression::Bzip2 => {
            let mut out = Vec::new();
            bzip2::read::MultiBzDecoder::new(bytes.as_slice())
                .read_to_end(&mut out)
                .map_err(|e| corrupt("bzip2", e))?;
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Wildcards against names.
    #[test]
    fn glob_matches_like_a_shell() {
        assert!(glob_match("*.txt", "a.txt"));
        assert!(glob_match("part_??", "part_01"));
        assert!(!glob_match("part_??", "part_1"));
        assert!(glob_match("a*b*c", "aXXbYYc"));
        assert!(!glob_match("*.csv", "a.txt"));
    }

    // A directory, a glob, a prefix, a missing location and a relative path.
    #[test]
    fn locations_resolve_to_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("d")).unwrap();
        std::fs::write(root.join("d/p_0"), "x").unwrap();
        std::fs::write(root.join("d/p_1"), "x").unwrap();
        std::fs::write(root.join("d/q.txt"), "x").unwrap();
        let fs = LocalFiles::new(root);
        let r = |s: &str| path_string(&root.join(s));
        assert_eq!(
            fs.list("d").unwrap(),
            vec![r("d/p_0"), r("d/p_1"), r("d/q.txt")]
        );
        assert_eq!(fs.list("d/*.txt").unwrap(), vec![r("d/q.txt")]);
        assert_eq!(fs.list("d/p_").unwrap(), vec![r("d/p_0"), r("d/p_1")]);
        let url = format!("file://{}", r("d/q.txt"));
        assert_eq!(fs.list(&url).unwrap(), vec![r("d/q.txt")]);
        let e = fs.list("d/none").unwrap_err();
        assert!(matches!(e, Error::UndefinedFile { .. }), "{e}");
        assert!(fs.list("s3://bucket/x").is_err());
    }

    // A permission error is reported as one, whatever user runs the test.
    #[test]
    fn io_errors_map_to_kinds() {
        let denied = std::io::Error::from(ErrorKind::PermissionDenied);
        let e = io_error("/x", "open", &denied);
        assert!(matches!(e, Error::InsufficientPrivilege { .. }));
        assert_eq!(
            e.to_string(),
            "could not open file \"/x\": Permission denied"
        );
        let other = std::io::Error::other("disk on fire");
        assert!(matches!(io_error("/x", "read", &other), Error::Io { .. }));
    }

    // A directory without read permission: listing it (as COPY does before it reads a
    // byte) fails with 42501, naming the directory. A user who may read any directory (root)
    // lists its file instead; such a user then runs this same test again in a child process
    // as `nobody` (uid 65534), which gets the refusal, and says why when it cannot.
    #[test]
    fn unreadable_directory_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let locked = dir.path().join("locked");
        std::fs::create_dir(&locked).unwrap();
        std::fs::write(locked.join("a.txt"), "1\n").unwrap();
        let mode = |m| std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(m));
        mode(0o000).unwrap();
        let privileged = std::fs::read_dir(&locked).is_ok();
        let listed = LocalFiles::new(dir.path()).list("locked");
        mode(0o755).unwrap();
        if privileged {
            assert_eq!(listed.unwrap(), vec![path_string(&locked.join("a.txt"))]);
            unreadable_directory_as_nobody();
        } else {
            let e = listed.unwrap_err();
            assert!(matches!(e, Error::InsufficientPrivilege { .. }), "{e}");
            let shown = path_string(&locked);
            assert!(
                e.to_string()
                    .contains(&format!("\"{shown}\": Permission denied")),
                "{e}"
            );
        }
    }

    /// Runs `unreadable_directory_is_refused` in this test binary as `nobody`, for a user
    /// who may read any directory; the child must pass. Skipped, with the reason printed,
    /// where this binary cannot run as `nobody` (or already is the child).
    fn unreadable_directory_as_nobody() {
        use std::os::unix::process::CommandExt;
        const NOBODY: u32 = 65_534;
        const CHILD: &str = "BASALT_TEST_UNPRIVILEGED_CHILD";
        if std::env::var_os(CHILD).is_some() {
            eprintln!("skipped: the unprivileged child may still read any directory");
            return;
        }
        let exe = match std::env::current_exe() {
            Ok(exe) => exe,
            Err(e) => {
                eprintln!("skipped: no path to this test binary ({e})");
                return;
            }
        };
        let name = "copy::files::tests::unreadable_directory_is_refused";
        let child = std::process::Command::new(&exe)
            .args([name, "--exact", "--test-threads=1", "--nocapture"])
            .env(CHILD, "1")
            .env("TMPDIR", "/tmp")
            .current_dir("/")
            .uid(NOBODY)
            .gid(NOBODY)
            .output();
        let out = match child {
            Ok(out) => out,
            Err(e) => {
                eprintln!(
                    "skipped: cannot run {} as uid {NOBODY} ({e})",
                    exe.display()
                );
                return;
            }
        };
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "as nobody:\n{stdout}\n{stderr}");
        // The child ran the test (a filter that matched nothing would pass too), and took
        // the refusal's branch.
        assert!(
            stdout.contains("1 passed"),
            "as nobody:\n{stdout}\n{stderr}"
        );
        assert!(
            !stderr.contains("skipped"),
            "as nobody:\n{stdout}\n{stderr}"
        );
    }

    // A gzip stream cut short.
    #[test]
    fn truncated_gzip_is_corrupt() {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&b"1|a\n".repeat(1000)).unwrap();
        let full = enc.finish().unwrap();
        assert_eq!(
            decompress(full.clone(), Compression::Gzip, "f")
                .unwrap()
                .len(),
            4000
        );
        let cut = full[..full.len() / 2].to_vec();
        let e = decompress(cut, Compression::Gzip, "f").unwrap_err();
        assert!(matches!(e, Error::DataCorrupted { .. }), "{e}");
    }

    // Two bzip2 streams back to back (as `cat a.bz2 b.bz2` makes), then one cut short and
    // one with a flipped byte.
    #[test]
    fn bzip2_streams_and_corruption() {
        use std::io::Write;
        let stream = |text: &[u8]| {
            let mut enc = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
            enc.write_all(text).unwrap();
            enc.finish().unwrap()
        };
        let first = stream(&b"1|a\n".repeat(1000));
        let mut both = first.clone();
        both.extend(stream(b"2|b\n"));
        let out = decompress(both, Compression::Bzip2, "f").unwrap();
        assert_eq!(out.len(), 4004);
        assert!(out.ends_with(b"1|a\n2|b\n"));
        let cut = first[..first.len() / 2].to_vec();
        let e = decompress(cut, Compression::Bzip2, "f").unwrap_err();
        assert!(matches!(e, Error::DataCorrupted { .. }), "{e}");
        assert!(e.to_string().contains("bzip2 file \"f\""), "{e}");
        let mut flipped = first.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 0x55;
        let e = decompress(flipped, Compression::Bzip2, "f").unwrap_err();
        assert!(matches!(e, Error::DataCorrupted { .. }), "{e}");
        let e = decompress(b"not bzip2".to_vec(), Compression::Bzip2, "f").unwrap_err();
        assert!(matches!(e, Error::DataCorrupted { .. }), "{e}");
    }
}
