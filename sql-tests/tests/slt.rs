//! Every `.slt` file under `slt/` as two tests, `embedded::<path>` and `wire::<path>`, each on a
//! fresh database.
//!
//! `cargo test -p basalt-sql-tests --test slt -- smoke/` runs the files whose path contains
//! `smoke/`. With `BASALT_SLT_COMPLETE=1` the selected files' expected output is rewritten from
//! what the embedded engine returns (the wire tests are not run then); review the diff.

use std::path::{Path, PathBuf};

use basalt_sql_tests::database::Mode;
use basalt_sql_tests::files::{display_name, find_slt_files};
use basalt_sql_tests::harness::{complete_requested, run_test_file};
use sqllogictest::harness::{run, Arguments, Failed, Trial};

fn main() {
    let args = Arguments::from_args();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("slt");
    let files = match find_slt_files(&root) {
        Ok(files) if !files.is_empty() => files,
        Ok(_) => {
            eprintln!("no .slt files under {}", root.display());
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("{e:#}");
            std::process::exit(1);
        }
    };
    let complete = complete_requested();
    let mut trials = Vec::new();
    for mode in Mode::ALL {
        if complete && mode == Mode::Wire {
            continue;
        }
        for path in &files {
            let name = format!("{mode}::{}", display_name(&root, path));
            trials.push(trial(name, path.clone(), mode, complete));
        }
    }
    run(&args, trials).exit();
}

fn trial(name: String, path: PathBuf, mode: Mode, complete: bool) -> Trial {
    Trial::test(name, move || {
        run_test_file(&path, mode, complete).map_err(Failed::from)
    })
}
