//! `UpdateUser` and etags over gRPC, real sockets: field masks (explicit,
//! implied, `*`), validation of the result, optimistic concurrency on
//! update and delete. The REST side (PATCH, PUT, If-Match, ETag) is in
//! `updates_rest.rs`.

mod common;

use common::{TestServer, full_request};
use gateway::proto::google::rpc::{BadRequest, Status as RpcStatus};
use gateway::proto::users::v1::user_service_client::UserServiceClient;
use gateway::proto::users::v1::{
    Address, DeleteUserRequest, GetUserRequest, UpdateUserRequest, User, UserRole,
};
use prost::Message as _;
use prost_types::FieldMask;
use tonic::Code;
use tonic::transport::Channel;

type Client = UserServiceClient<Channel>;

async fn create(client: &mut Client, email: &str) -> User {
    client
        .create_user(full_request(email))
        .await
        .expect("create")
        .into_inner()
}

async fn get(client: &mut Client, id: &str) -> User {
    client
        .get_user(GetUserRequest { id: id.to_owned() })
        .await
        .expect("get")
        .into_inner()
        .user
        .expect("a user")
}

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask {
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
    })
}

async fn update(
    client: &mut Client,
    user: User,
    paths: Option<FieldMask>,
    etag: &str,
) -> Result<User, tonic::Status> {
    client
        .update_user(UpdateUserRequest {
            user: Some(user),
            update_mask: paths,
            etag: etag.to_owned(),
        })
        .await
        .map(tonic::Response::into_inner)
}

/// The `update_mask` field violations of an INVALID_ARGUMENT status.
fn violations(status: &tonic::Status) -> Vec<(String, String)> {
    let rpc = RpcStatus::decode(status.details()).expect("a google.rpc.Status detail");
    let any = rpc
        .details
        .iter()
        .find(|any| any.type_url.ends_with("google.rpc.BadRequest"))
        .expect("a BadRequest detail");
    BadRequest::decode(any.value.as_slice())
        .expect("a BadRequest")
        .field_violations
        .into_iter()
        .map(|v| (v.field, v.description))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn explicit_implied_and_star_masks() {
    let server = TestServer::start().await;
    let mut client = server.grpc().await;
    let original = create(&mut client, "grace@example.com").await;

    // Explicit mask: only the named fields change, even if others are set.
    let patch = User {
        id: original.id.clone(),
        name: "Grace B. Hopper".into(),
        email: "other@example.com".into(),
        address: Some(Address {
            city: "Oslo".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let updated = update(&mut client, patch.clone(), mask(&["name", "address.city"]), "")
        .await
        .expect("update with a mask");
    let mut expected = original.clone();
    expected.name = "Grace B. Hopper".into();
    expected.address.as_mut().unwrap().city = "Oslo".into();
    expected.updated_at = updated.updated_at;
    expected.etag = updated.etag.clone();
    assert_eq!(updated, expected);
    assert_eq!(get(&mut client, &original.id).await, updated);

    // JSON names are accepted per segment.
    let patch = User {
        id: original.id.clone(),
        address: Some(Address {
            postal_code: "0150".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let camel = update(&mut client, patch, mask(&["address.postalCode"]), "")
        .await
        .expect("camelCase mask");
    assert_eq!(camel.address.as_ref().unwrap().postal_code, "0150");
    assert_eq!(camel.address.as_ref().unwrap().city, "Oslo");

    // No mask: the populated fields are the mask (AIP-134).
    let implied = update(
        &mut client,
        User {
            id: original.id.clone(),
            role: UserRole::Viewer as i32,
            tags: vec!["retired".into()],
            ..Default::default()
        },
        None,
        "",
    )
    .await
    .expect("implied mask");
    assert_eq!(implied.role, UserRole::Viewer as i32);
    assert_eq!(implied.tags, ["retired"]);
    assert_eq!(implied.name, "Grace B. Hopper");
    assert_eq!(implied.metadata, original.metadata);
    // An empty FieldMask is the same as none.
    let empty = update(
        &mut client,
        User {
            id: original.id.clone(),
            name: "Amazing Grace".into(),
            ..Default::default()
        },
        mask(&[]),
        "",
    )
    .await
    .expect("empty mask");
    assert_eq!(
        (empty.name.as_str(), empty.role),
        ("Amazing Grace", UserRole::Viewer as i32)
    );

    // `*`: full replacement; what is not given becomes empty.
    let replaced = update(
        &mut client,
        User {
            id: original.id.clone(),
            name: "G".into(),
            email: "g@example.com".into(),
            ..Default::default()
        },
        mask(&["*"]),
        "",
    )
    .await
    .expect("star mask");
    assert_eq!(
        (
            replaced.name.as_str(),
            replaced.email.as_str(),
            replaced.role,
            replaced.address.clone().unwrap_or_default(),
            replaced.tags.len(),
            replaced.metadata.len()
        ),
        ("G", "g@example.com", 0, Address::default(), 0, 0)
    );
    assert_eq!(replaced.id, original.id);
    assert_eq!(replaced.created_at, original.created_at);
    drop(client);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_masks_and_bad_results_are_invalid_arguments() {
    let server = TestServer::start().await;
    let mut client = server.grpc().await;
    let original = create(&mut client, "grace@example.com").await;
    let patch = User {
        id: original.id.clone(),
        name: "New".into(),
        ..Default::default()
    };
    let cases: &[(&[&str], &[&str])] = &[
        (&["nickname"], &["\"nickname\" is not a field"]),
        (&["id"], &["\"id\" is output only"]),
        (
            &["created_at", "updatedAt", "etag"],
            &["output only", "output only", "output only"],
        ),
        (&["tags.x"], &["inside a list or map"]),
        (&["metadata.team"], &["inside a list or map"]),
        (&["*", "name"], &["must be the only path"]),
        (&["name", "bogus", "id"], &["\"bogus\"", "\"id\""]),
    ];
    for (paths, expected) in cases {
        let status = update(&mut client, patch.clone(), mask(paths), "")
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{paths:?}: {status:?}");
        let found = violations(&status);
        assert_eq!(found.len(), expected.len(), "{paths:?}: {found:?}");
        for ((field, description), words) in found.iter().zip(*expected) {
            assert_eq!(field, "update_mask");
            assert!(description.contains(words), "{paths:?}: {description}");
            assert!(
                status.message().contains(words),
                "{paths:?}: {}",
                status.message()
            );
        }
    }

    // The result is validated like a create: no silent no-ops.
    for (user, paths, field) in [
        (
            User {
                id: original.id.clone(),
                ..Default::default()
            },
            &["name"][..],
            "user.name",
        ),
        (
            User {
                id: original.id.clone(),
                email: "nope".into(),
                ..Default::default()
            },
            &["email"][..],
            "user.email",
        ),
        (
            User {
                id: original.id.clone(),
                role: 42,
                ..Default::default()
            },
            &["role"][..],
            "user.role",
        ),
    ] {
        let status = update(&mut client, user, mask(paths), "").await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{paths:?}: {status:?}");
        assert_eq!(violations(&status)[0].0, field);
    }

    let no_user = client
        .update_user(UpdateUserRequest::default())
        .await
        .unwrap_err();
    assert_eq!(no_user.code(), Code::InvalidArgument);
    let no_id = update(
        &mut client,
        User {
            name: "x".into(),
            ..Default::default()
        },
        None,
        "",
    )
    .await
    .unwrap_err();
    assert_eq!(no_id.code(), Code::InvalidArgument);
    assert!(no_id.message().contains("user.id"), "{no_id:?}");
    let missing = update(
        &mut client,
        User {
            id: "no-such-user".into(),
            name: "x".into(),
            ..Default::default()
        },
        None,
        "",
    )
    .await
    .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    assert!(missing.message().contains("no-such-user"), "{missing:?}");

    // Nothing above changed the user.
    assert_eq!(get(&mut client, &original.id).await, original);
    drop(client);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn etags_change_on_every_write_and_stale_ones_abort() {
    let server = TestServer::start().await;
    let mut client = server.grpc().await;
    let original = create(&mut client, "grace@example.com").await;
    assert!(!original.etag.is_empty());
    assert_eq!(get(&mut client, &original.id).await.etag, original.etag);

    let mut etags = vec![original.etag.clone()];
    let mut previous = original.clone();
    for n in 0..5 {
        // The same values each time: still a write, so a new etag.
        let patch = User {
            id: original.id.clone(),
            name: "Same".into(),
            ..Default::default()
        };
        let etag = if n % 2 == 0 {
            previous.etag.clone()
        } else {
            String::new()
        };
        let updated = update(&mut client, patch, mask(&["name"]), &etag)
            .await
            .expect("update");
        assert!(!etags.contains(&updated.etag), "etag {} repeats", updated.etag);
        let (before, after) = (previous.updated_at.unwrap(), updated.updated_at.unwrap());
        assert!(
            (after.seconds, after.nanos) > (before.seconds, before.nanos),
            "updated_at moves forward: {before:?} -> {after:?}"
        );
        assert_eq!(updated.created_at, original.created_at);
        etags.push(updated.etag.clone());
        previous = updated;
    }

    // A stale etag aborts the update and the delete; nothing changes.
    let stale = original.etag.clone();
    let patch = User {
        id: original.id.clone(),
        name: "Lost update".into(),
        ..Default::default()
    };
    let aborted = update(&mut client, patch, mask(&["name"]), &stale)
        .await
        .unwrap_err();
    assert_eq!(aborted.code(), Code::Aborted, "{aborted:?}");
    assert!(aborted.message().contains("stale"), "{aborted:?}");
    let delete = |etag: &str| DeleteUserRequest {
        id: original.id.clone(),
        etag: etag.to_owned(),
    };
    let aborted = client.delete_user(delete(&stale)).await.unwrap_err();
    assert_eq!(aborted.code(), Code::Aborted, "{aborted:?}");
    assert!(aborted.message().contains("stale"), "{aborted:?}");
    assert_eq!(get(&mut client, &original.id).await, previous);

    // The current etag works for delete; then the user is gone.
    client
        .delete_user(delete(&previous.etag))
        .await
        .expect("delete with the current etag");
    let gone = client.delete_user(delete(&previous.etag)).await.unwrap_err();
    assert_eq!(gone.code(), Code::NotFound, "{gone:?}");
    let gone = client.delete_user(delete("")).await.unwrap_err();
    assert_eq!(gone.code(), Code::NotFound, "{gone:?}");
    drop(client);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_updates_with_the_same_etag_let_exactly_one_win() {
    let server = TestServer::start().await;
    let mut client = server.grpc().await;
    let original = create(&mut client, "grace@example.com").await;
    let mut tasks = Vec::new();
    for n in 0..8 {
        let mut client = client.clone();
        let (id, etag) = (original.id.clone(), original.etag.clone());
        tasks.push(tokio::spawn(async move {
            let patch = User {
                id,
                name: format!("Writer {n}"),
                ..Default::default()
            };
            update(&mut client, patch, mask(&["name"]), &etag).await
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.expect("the task ran") {
            Ok(user) => winners.push(user),
            Err(status) => assert_eq!(status.code(), Code::Aborted, "{status:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one writer wins");
    assert_eq!(get(&mut client, &original.id).await, winners[0]);
    drop(client);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicate_email_on_update_already_exists() {
    let server = TestServer::start().await;
    let mut client = server.grpc().await;
    create(&mut client, "taken@example.com").await;
    let other = create(&mut client, "free@example.com").await;
    let patch = User {
        id: other.id.clone(),
        email: "TAKEN@example.com".into(),
        ..Default::default()
    };
    let status = update(&mut client, patch, mask(&["email"]), "")
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");
    assert!(status.message().contains("TAKEN@example.com"), "{status:?}");
    assert_eq!(get(&mut client, &other.id).await, other);
    // Changing only the case of one's own email is fine.
    let patch = User {
        id: other.id.clone(),
        email: "FREE@example.com".into(),
        ..Default::default()
    };
    let updated = update(&mut client, patch, None, "")
        .await
        .expect("own email, new case");
    assert_eq!(updated.email, "FREE@example.com");
    drop(client);
    server.shutdown().await;
}
