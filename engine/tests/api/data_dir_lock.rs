//! The data-directory lock: one open `Engine` per directory, in this process or another.

use basalt_engine::{Engine, Error};

#[test]
fn a_second_open_fails_naming_the_directory_until_the_first_is_dropped() {
    // Input: an engine open on a fresh directory, a second open of it in this process, a
    // second process trying the same lock (`flock -n`), then the first engine dropped.
    let dir = tempfile::tempdir().unwrap();
    let first = Engine::open(dir.path()).unwrap();
    let err = Engine::open(dir.path()).unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Storage(basalt_storage::Error::DirectoryLocked { .. })
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains(&dir.path().display().to_string()),
        "{message}"
    );

    let lock = dir.path().join(basalt_storage::LOCK_FILE);
    let other_process = || {
        std::process::Command::new("flock")
            .arg("-n")
            .arg(&lock)
            .arg("true")
            .status()
            .unwrap()
            .success()
    };
    assert!(!other_process(), "another process took the held lock");

    drop(first);
    assert!(other_process(), "the lock outlived the engine");
    let again = Engine::open(dir.path()).unwrap();
    let mut session = again.session("test");
    session.run("CREATE TABLE t (a INTEGER)").unwrap();
}
