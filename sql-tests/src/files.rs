//! Finding test files.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// Every `.slt` file under `root` (recursively), sorted by path. `root` may also be one file.
pub fn find_slt_files(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    if root.is_file() {
        files.push(root.to_path_buf());
    } else {
        walk(root, &mut files)?;
    }
    files.sort();
    Ok(files)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read {}", dir.display()))?;
        let path = entry.path();
        let kind = entry
            .file_type()
            .with_context(|| format!("cannot read {}", path.display()))?;
        if kind.is_dir() {
            walk(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "slt") {
            files.push(path);
        }
    }
    Ok(())
}

/// `path` relative to `root` with `/` separators, for test names and reports.
pub fn display_name(root: &Path, path: &Path) -> String {
    let relative = if root.is_file() {
        path.file_name().map(Path::new).unwrap_or(path)
    } else {
        path.strip_prefix(root).unwrap_or(path)
    };
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    // A tree with .slt files at two depths and a file of another kind.
    #[test]
    fn finds_slt_files_recursively_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("b/deeper")).unwrap();
        std::fs::create_dir_all(root.join("a")).unwrap();
        for f in ["b/deeper/x.slt", "a/y.slt", "a/notes.md", "z.slt"] {
            std::fs::write(root.join(f), "").unwrap();
        }
        let found: Vec<String> = find_slt_files(root)
            .unwrap()
            .iter()
            .map(|p| display_name(root, p))
            .collect();
        assert_eq!(found, ["a/y.slt", "b/deeper/x.slt", "z.slt"]);
        let one = root.join("z.slt");
        assert_eq!(display_name(&one, &one), "z.slt");
    }
}
