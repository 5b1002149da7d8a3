//! Tests of [`SqliteStore`](super::SqliteStore) and, through it, of the
//! service: storage round trips, uniqueness, paging, persistence.

use std::sync::Arc;

use tonic::{Code, Request};

use super::SqliteStore;
use crate::proto::users::v1::user_service_server::UserService;
use crate::proto::users::v1::{
    Address, CreateUserRequest, DeleteUserRequest, GetUserRequest, ListUsersRequest,
};
use crate::users::listing::ListQuery;
use crate::users::store::{StoreError, Written};
use crate::users::{Store, UserDirectory};

fn open(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(&dir.path().join("nested/users.db")).unwrap()
}

fn create(name: &str, email: &str) -> CreateUserRequest {
    CreateUserRequest {
        name: name.into(),
        email: email.into(),
        role: 2,
        address: Some(Address {
            city: "Paris".into(),
            ..Default::default()
        }),
        tags: vec!["b".into(), "a".into()],
        metadata: [("team".into(), "core".into())].into(),
    }
}

#[tokio::test]
async fn create_get_delete_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let service = UserDirectory::new(Arc::new(open(&dir)));
    let created = service
        .create_user(Request::new(create("  Ada ", "Ada@Example.com")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.name, "Ada");
    assert_eq!(uuid::Uuid::parse_str(&created.id).unwrap().get_version_num(), 7);
    assert_eq!(created.created_at, created.updated_at);

    let get = |id: &str| service.get_user(Request::new(GetUserRequest { id: id.into() }));
    let fetched = get(&created.id).await.unwrap().into_inner().user.unwrap();
    assert_eq!(fetched, created);

    let duplicate = service
        .create_user(Request::new(create("Other", "ada@EXAMPLE.com")))
        .await
        .unwrap_err();
    assert_eq!(duplicate.code(), Code::AlreadyExists);
    assert_eq!(
        duplicate.message(),
        r#"a user with email "ada@EXAMPLE.com" already exists"#
    );

    let delete = |id: &str| {
        service.delete_user(Request::new(DeleteUserRequest {
            id: id.into(),
            ..Default::default()
        }))
    };
    delete(&created.id).await.unwrap();
    assert_eq!(delete(&created.id).await.unwrap_err().code(), Code::NotFound);
    let missing = get(&created.id).await.unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    assert_eq!(missing.message(), format!("user {:?} not found", created.id));
    assert_eq!(get("").await.unwrap_err().code(), Code::InvalidArgument);
}

#[tokio::test]
async fn lists_in_pages_in_creation_order() {
    let dir = tempfile::tempdir().unwrap();
    let service = UserDirectory::new(Arc::new(open(&dir)));
    let mut ids = Vec::new();
    for i in 0..7 {
        let user = service
            .create_user(Request::new(create("U", &format!("u{i}@example.com"))))
            .await
            .unwrap()
            .into_inner();
        ids.push(user.id);
    }
    let list = |page_size: i32, page_token: String| {
        service.list_users(Request::new(ListUsersRequest {
            page_size,
            page_token,
            ..Default::default()
        }))
    };
    let (mut seen, mut token, mut pages) = (Vec::new(), String::new(), 0);
    loop {
        let page = list(3, token).await.unwrap().into_inner();
        pages += 1;
        seen.extend(page.users.into_iter().map(|u| u.id));
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!((seen, pages), (ids.clone(), 3));

    let all = list(0, String::new()).await.unwrap().into_inner();
    assert_eq!((all.users.len(), all.next_page_token.as_str()), (7, ""));
    let exact = list(7, String::new()).await.unwrap().into_inner();
    assert!(exact.next_page_token.is_empty());
    assert_eq!(
        list(-1, String::new()).await.unwrap_err().code(),
        Code::InvalidArgument
    );
    let bad = list(3, "garbage".into()).await.unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert!(bad.message().starts_with("page_token is invalid"), "{bad:?}");
}

#[tokio::test]
async fn key_and_data_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let key = store.page_token_key();
    let service = UserDirectory::new(Arc::new(store.clone()));
    let user = service
        .create_user(Request::new(create("Ada", "ada@example.com")))
        .await
        .unwrap()
        .into_inner();
    store.close().await.unwrap();
    drop((service, store));

    let reopened = open(&dir);
    assert_eq!(reopened.page_token_key(), key);
    assert_eq!(
        reopened.get(&user.id).await.unwrap().map(|v| v.user),
        Some(user.clone())
    );
    let mut same_id = user.clone();
    same_id.email = "someone.else@example.com".into();
    assert!(matches!(
        reopened.insert(&same_id).await,
        Err(StoreError::Internal(_))
    ));
    let mut other = user.clone();
    other.id = uuid::Uuid::now_v7().to_string();
    other.email = "ADA@example.com".into();
    assert!(matches!(
        reopened.insert(&other).await,
        Err(StoreError::DuplicateEmail)
    ));
    assert_eq!(
        reopened.delete(&user.id, Some(2)).await.unwrap(),
        Written::Conflict
    );
    assert_eq!(
        reopened.delete(&user.id, Some(1)).await.unwrap(),
        Written::Done(())
    );
    assert_eq!(reopened.delete(&user.id, None).await.unwrap(), Written::NotFound);
    let listed = reopened
        .list(ListQuery {
            limit: 10,
            count_total: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!((listed.rows.len(), listed.total_size), (0, 0));
}

#[tokio::test]
async fn a_version_1_database_migrates_and_its_users_get_etags() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        // The schema as the first release left it, with one user.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(super::schema::MIGRATIONS[0]).unwrap();
        conn.execute_batch(
            "PRAGMA user_version = 1;
             INSERT INTO users VALUES ('0190b0c2-7a3e-7c1d-9f2a-4b5c6d7e8f90', 'Old', 'old@example.com',
                 'old@example.com', 1, '', 'Paris', '', '', '', '[\"a\"]', '{}', 1000, 2000);",
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let old = store
        .get("0190b0c2-7a3e-7c1d-9f2a-4b5c6d7e8f90")
        .await
        .unwrap()
        .expect("the old user survives the migration");
    assert_eq!((old.user.name.as_str(), old.revision), ("Old", 1));
    assert!(!old.user.etag.is_empty());
    let service = UserDirectory::new(Arc::new(store));
    let page = service
        .list_users(Request::new(ListUsersRequest {
            filter: "tags:a AND address.city = Paris".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((page.users.len(), page.total_size), (1, 1));
    assert_eq!(page.users[0].etag, old.user.etag);
}

/// The read cache never serves a version older than one already
/// acknowledged or read: writers bump one user while readers poll it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reads_never_go_back_in_time_under_concurrent_writes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(&dir));
    let service = UserDirectory::new(store.clone());
    let created = service
        .create_user(Request::new(create("Ada", "ada@example.com")))
        .await
        .unwrap()
        .into_inner();
    let acknowledged = Arc::new(std::sync::atomic::AtomicI64::new(1));
    let writers: Vec<_> = (0..4)
        .map(|_| {
            let (store, id, acknowledged) = (store.clone(), created.id.clone(), acknowledged.clone());
            tokio::spawn(async move {
                for _ in 0..50 {
                    let current = store.get(&id).await.unwrap().unwrap();
                    if let Written::Done(_) = store.update(&current.user, current.revision).await.unwrap() {
                        acknowledged.fetch_max(current.revision + 1, std::sync::atomic::Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (store, id, acknowledged) = (store.clone(), created.id.clone(), acknowledged.clone());
            tokio::spawn(async move {
                let mut seen = 0;
                for _ in 0..500 {
                    let floor = acknowledged.load(std::sync::atomic::Ordering::SeqCst).max(seen);
                    let read = store.get(&id).await.unwrap().unwrap().revision;
                    assert!(
                        read >= floor,
                        "read revision {read} after {floor} was acknowledged or seen"
                    );
                    seen = read;
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    for task in writers.into_iter().chain(readers) {
        task.await.unwrap();
    }
    let last = store.get(&created.id).await.unwrap().unwrap().revision;
    assert_eq!(last, acknowledged.load(std::sync::atomic::Ordering::SeqCst));
    assert!(last > 1, "some updates succeeded");
    store.delete(&created.id, None).await.unwrap();
    assert!(
        store.get(&created.id).await.unwrap().is_none(),
        "a deleted user is not served from the cache"
    );
}

/// Commits reach the database file itself (not only the WAL) without the
/// writer's own checkpoint, which is not due after this few pages.
#[tokio::test]
async fn the_background_checkpointer_copies_commits_into_the_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let service = UserDirectory::new(Arc::new(open(&dir)));
    let commits = 2 * super::checkpointer::COMMITS_PER_CHECKPOINT;
    for n in 0..commits {
        service
            .create_user(Request::new(create("Ada", &format!("ada{n}@example.com"))))
            .await
            .unwrap();
    }
    let main_file = dir.path().join("nested/users.db");
    let copy = dir.path().join("main-file-only.db");
    let mut checkpointed = 0;
    for _ in 0..100 {
        // The main file alone, as if the WAL were lost.
        std::fs::copy(&main_file, &copy).unwrap();
        checkpointed = rusqlite::Connection::open(&copy)
            .and_then(|conn| conn.query_row("SELECT COUNT(*) FROM users", [], |row| row.get(0)))
            .unwrap_or(0);
        if checkpointed > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        checkpointed > 0,
        "no commit was checkpointed into the database file"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn the_database_and_its_journal_files_are_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let directory = UserDirectory::new(Arc::new(store.clone()));
    directory
        .create_user(Request::new(create("Ada", "ada@example.com")))
        .await
        .unwrap();
    let database = dir.path().join("nested/users.db");
    assert_eq!(mode(&dir.path().join("nested")), 0o700);
    for suffix in ["", "-wal", "-shm"] {
        let path = database.with_file_name(format!("users.db{suffix}"));
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
    store.close().await.unwrap();
}

#[tokio::test]
async fn a_damaged_file_is_refused_at_start_and_a_sound_one_served() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/users.db");
    open(&dir).close().await.unwrap();
    {
        // Pages enough that some lie in the middle of the file.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE filler(x BLOB);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
             INSERT INTO filler SELECT randomblob(600) FROM n;
             PRAGMA wal_checkpoint(TRUNCATE);",
        )
        .unwrap();
    }
    SqliteStore::open(&path)
        .expect("a sound file is served")
        .close()
        .await
        .unwrap();

    let length = std::fs::metadata(&path).unwrap().len();
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = (length / 2 / 4096 * 4096) as usize;
    bytes[middle..middle + 3 * 4096].fill(0xAB);
    std::fs::write(&path, &bytes).unwrap();
    let refused = SqliteStore::open(&path).err().expect("a damaged file is refused");
    let message = refused.to_string();
    assert!(
        message.contains("is damaged") && message.contains("restore it from a backup"),
        "{message}"
    );
}
