//! The database holds the page-token key, so what the real binary creates
//! for it is owner-only whatever the umask: started under `umask 022` in a
//! missing directory, the directory is 0700 and the database, its `-wal`
//! and `-shm` files 0600.

mod common;

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use common::GatewayProcess;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test]
async fn the_database_and_its_directory_are_owner_only_under_umask_022() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("private/users.db");
    let gateway = Path::new(env!("CARGO_BIN_EXE_gateway"));
    let args: [&OsStr; 7] = [
        "-c".as_ref(),
        r#"umask 022 && exec "$0" "$@""#.as_ref(),
        gateway.as_os_str(),
        "--addr".as_ref(),
        "127.0.0.1:0".as_ref(),
        "--database".as_ref(),
        database.as_os_str(),
    ];
    let process = GatewayProcess::start_program(Path::new("/bin/sh"), &args).await;
    // A write, so the write-ahead log and its index exist.
    let created = process
        .http
        .post(process.url("/v1/users"))
        .json(&serde_json::json!({"name": "Ada", "email": "ada@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(mode(dir.path().join("private").as_path()), 0o700);
    for file in ["users.db", "users.db-wal", "users.db-shm"] {
        assert_eq!(mode(&dir.path().join("private").join(file)), 0o600, "{file}");
    }
    process.kill();
}
