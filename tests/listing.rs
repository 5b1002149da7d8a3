//! `ListUsers` over real sockets: AIP-160 filters, `order_by`, `totalSize`,
//! page tokens bound to their filter and order, and keyset pagination that
//! neither repeats nor skips users while others insert and delete.

mod common;

use std::collections::{HashMap, HashSet};

use common::{TestServer, assert_error_body, form_encode};
use gateway::proto::users::v1::user_service_client::UserServiceClient;
use gateway::proto::users::v1::{
    Address, CreateUserRequest, DeleteUserRequest, ListUsersRequest, User, UserRole,
};
use serde_json::Value;
use tonic::transport::Channel;

const INVALID_ARGUMENT: i64 = 3;

struct Person {
    name: &'static str,
    email: &'static str,
    role: UserRole,
    city: &'static str,
    country: &'static str,
    postal_code: &'static str,
    tags: &'static [&'static str],
}

const PEOPLE: [Person; 6] = [
    Person {
        name: "Ada Lovelace",
        email: "ada@example.com",
        role: UserRole::Admin,
        city: "London",
        country: "UK",
        postal_code: "SW1Y",
        tags: &["math", "vip"],
    },
    Person {
        name: "Grace Hopper",
        email: "grace@example.com",
        role: UserRole::Editor,
        city: "Arlington",
        country: "US",
        postal_code: "22201",
        tags: &["navy"],
    },
    Person {
        name: "Alan Turing",
        email: "Alan@Example.org",
        role: UserRole::Viewer,
        city: "London",
        country: "UK",
        postal_code: "NW1",
        tags: &["math"],
    },
    Person {
        name: "Barbara Liskov",
        email: "barbara@example.com",
        role: UserRole::Admin,
        city: "Boston",
        country: "US",
        postal_code: "02139",
        tags: &["vip"],
    },
    Person {
        name: "Adele Goldberg",
        email: "adele@example.net",
        role: UserRole::Editor,
        city: "Oslo",
        country: "NO",
        postal_code: "0150",
        tags: &[],
    },
    Person {
        name: "Ad_a 50% Test",
        email: "test@example.com",
        role: UserRole::Unspecified,
        city: "",
        country: "",
        postal_code: "",
        tags: &["x' OR 1=1 --"],
    },
];

/// Starts a server holding [`PEOPLE`], created in order over gRPC.
async fn directory() -> (TestServer, Vec<User>) {
    let server = TestServer::start().await;
    let mut client = server.grpc().await;
    let mut users = Vec::new();
    for person in &PEOPLE {
        let request = CreateUserRequest {
            name: person.name.into(),
            email: person.email.into(),
            role: person.role as i32,
            address: Some(Address {
                city: person.city.into(),
                country: person.country.into(),
                postal_code: person.postal_code.into(),
                ..Default::default()
            }),
            tags: person.tags.iter().map(|t| (*t).to_owned()).collect(),
            metadata: HashMap::new(),
        };
        users.push(client.create_user(request).await.expect("create").into_inner());
    }
    (server, users)
}

/// One REST page: status and body.
async fn page(server: &TestServer, filter: &str, order_by: &str, size: usize, token: &str) -> (u16, Value) {
    let path = format!(
        "/v1/users?filter={}&order_by={}&page_size={size}&page_token={}",
        form_encode(filter),
        form_encode(order_by),
        form_encode(token)
    );
    server.get_json(&path).await
}

/// Walks every page over REST; returns the names in order and the
/// `totalSize` of each page.
async fn walk(server: &TestServer, filter: &str, order_by: &str, size: usize) -> (Vec<String>, Vec<i64>) {
    let (mut names, mut totals, mut token) = (Vec::new(), Vec::new(), String::new());
    for _ in 0..100 {
        let (status, body) = page(server, filter, order_by, size, &token).await;
        assert_eq!(status, 200, "filter {filter:?} order_by {order_by:?}: {body}");
        for user in body["users"].as_array().expect("users") {
            names.push(user["name"].as_str().unwrap().to_owned());
        }
        totals.push(body["totalSize"].as_i64().expect("totalSize"));
        token = body["nextPageToken"].as_str().unwrap().to_owned();
        if token.is_empty() {
            return (names, totals);
        }
    }
    panic!("paging did not end");
}

#[tokio::test(flavor = "multi_thread")]
async fn filters_select_the_right_users() {
    let (server, users) = directory().await;
    let grace_created = users[1].created_at.unwrap().to_string();
    let [ada, grace, alan, barbara, adele, test] = PEOPLE.map(|p| p.name);
    let cases: Vec<(String, Vec<&str>)> = vec![
        ("".into(), vec![ada, grace, alan, barbara, adele, test]),
        ("role = USER_ROLE_ADMIN".into(), vec![ada, barbara]),
        ("role != USER_ROLE_ADMIN".into(), vec![grace, alan, adele, test]),
        (
            "role = USER_ROLE_ADMIN AND address.city = \"London\"".into(),
            vec![ada],
        ),
        (
            "address.city = London OR address.city = Boston".into(),
            vec![ada, alan, barbara],
        ),
        // AIP-160: OR binds tighter than AND, so this is
        // (EDITOR OR math) AND UK — not EDITOR OR (math AND UK).
        (
            "role = USER_ROLE_EDITOR OR tags:\"math\" AND address.country = \"UK\"".into(),
            vec![ada, alan],
        ),
        (
            "(role = USER_ROLE_EDITOR OR tags:math) AND address.country = UK".into(),
            vec![ada, alan],
        ),
        (
            "(address.city = \"London\" OR address.city = \"Oslo\") AND NOT role = USER_ROLE_VIEWER".into(),
            vec![ada, adele],
        ),
        ("NOT tags:\"math\"".into(), vec![grace, barbara, adele, test]),
        ("-tags:math".into(), vec![grace, barbara, adele, test]),
        ("tags:\"vip\" tags:\"math\"".into(), vec![ada]),
        ("tags:vip".into(), vec![ada, barbara]),
        ("name = \"Ad*\"".into(), vec![ada, adele, test]),
        ("name = \"Ad_*\"".into(), vec![test]),
        ("name = 'Ad_a 50%*'".into(), vec![test]),
        ("name = \"Ad%*\"".into(), vec![]),
        ("name != \"Ad*\"".into(), vec![grace, alan, barbara]),
        ("name = \"Ada Lovelace\"".into(), vec![ada]),
        ("name = \"ada lovelace\"".into(), vec![]),
        ("name:\"LOVE\"".into(), vec![ada]),
        ("email = \"ADA@EXAMPLE.COM\"".into(), vec![ada]),
        ("email = \"alan@example.org\"".into(), vec![alan]),
        ("email:\"example.org\"".into(), vec![alan]),
        ("address.postalCode = \"0150\"".into(), vec![adele]),
        ("address.postal_code >= \"2\"".into(), vec![ada, grace, alan]),
        (
            format!("created_at > \"{grace_created}\""),
            vec![alan, barbara, adele, test],
        ),
        (format!("createdAt <= '{grace_created}'"), vec![ada, grace]),
        (
            "updated_at >= \"2000-01-01T00:00:00Z\"".into(),
            vec![ada, grace, alan, barbara, adele, test],
        ),
        ("created_at < \"2000-01-01T00:00:00+02:00\"".into(), vec![]),
    ];
    for (filter, expected) in cases {
        let (names, totals) = walk(&server, &filter, "", 2).await;
        assert_eq!(names, expected, "filter {filter:?}");
        assert!(
            totals.iter().all(|t| *t == expected.len() as i64),
            "filter {filter:?}: totalSize {totals:?}"
        );
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_filters_and_orders_are_400_saying_why() {
    let (server, _) = directory().await;
    let cases: &[(&str, &str, &[&str])] = &[
        ("name =", "", &["position 7", "expected a value"]),
        ("(name = a", "", &["position 10", "expected `)`"]),
        ("name = a AND", "", &["position 13", "expected a field name"]),
        ("name = \"open", "", &["position 8", "no closing"]),
        ("nickname = a", "", &["unknown field \"nickname\""]),
        ("role = ADMIN", "", &["is not a role"]),
        ("created_at > yesterday", "", &["RFC 3339"]),
        ("tags = vip", "", &["`tags` is a list"]),
        ("", "nickname", &["order_by", "\"nickname\""]),
        ("", "name sideways", &["order_by", "expected `asc`, `desc`"]),
    ];
    for (filter, order_by, words) in cases {
        let (status, body) = page(&server, filter, order_by, 10, "").await;
        assert_eq!(status, 400, "{filter:?} {order_by:?}: {body}");
        assert_error_body(&body, INVALID_ARGUMENT);
        let message = body["message"].as_str().unwrap();
        for word in *words {
            assert!(message.contains(word), "{filter:?} {order_by:?}: {message}");
        }
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn injection_attempts_are_just_strings() {
    let (server, _) = directory().await;
    for filter in [
        "name = \"x' OR 1=1 --\"",
        "name = 'x\\' OR \\'1\\'=\\'1'",
        "name = \"x\\\"; DROP TABLE users; --\"",
        "email = \"a@b.co' OR email_key LIKE '%\"",
        "address.city = \"') OR 1=1 OR ('\"",
        "name:\"%'--\"",
        "name = \"%*\"",
    ] {
        let (names, totals) = walk(&server, filter, "", 10).await;
        assert!(names.is_empty() && totals == [0], "{filter:?} found {names:?}");
    }
    // The value with SQL in it is found exactly, as data.
    let (names, _) = walk(&server, "tags:\"x' OR 1=1 --\"", "", 10).await;
    assert_eq!(names, ["Ad_a 50% Test"]);
    let (names, totals) = walk(&server, "", "", 10).await;
    assert_eq!(
        (names.len(), totals),
        (PEOPLE.len(), vec![PEOPLE.len() as i64]),
        "the table is intact"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn order_by_sorts_with_mixed_directions_across_pages() {
    let (server, _) = directory().await;
    let people: Vec<&Person> = PEOPLE.iter().collect();
    let by = |order: &dyn Fn(&&Person, &&Person) -> std::cmp::Ordering| {
        let mut sorted = people.clone();
        sorted.sort_by(order);
        sorted.iter().map(|p| p.name.to_owned()).collect::<Vec<_>>()
    };
    let created: Vec<String> = PEOPLE.iter().map(|p| p.name.to_owned()).collect();
    let mut reversed = created.clone();
    reversed.reverse();
    let cases: Vec<(&str, Vec<String>)> = vec![
        ("", created.clone()),
        ("created_at", created.clone()),
        ("created_at desc", reversed.clone()),
        ("name", by(&|a, b| a.name.cmp(b.name))),
        ("name desc", by(&|a, b| b.name.cmp(a.name))),
        (
            "email desc",
            by(&|a, b| b.email.to_lowercase().cmp(&a.email.to_lowercase())),
        ),
        (
            "role desc, name",
            by(&|a, b| (b.role as i32).cmp(&(a.role as i32)).then(a.name.cmp(b.name))),
        ),
        (
            "address.city, name desc",
            by(&|a, b| a.city.cmp(b.city).then(b.name.cmp(a.name))),
        ),
        // Ties on every key fall back to creation order.
        ("address.country desc", {
            let mut sorted = people.clone();
            sorted.sort_by(|a, b| b.country.cmp(a.country));
            sorted.iter().map(|p| p.name.to_owned()).collect()
        }),
    ];
    for (order_by, expected) in cases {
        for size in [1, 2, 4, 50] {
            let (names, _) = walk(&server, "", order_by, size).await;
            assert_eq!(names, expected, "order_by {order_by:?}, page size {size}");
        }
    }
    // Filter and order together.
    let (names, totals) = walk(
        &server,
        "address.country = UK OR address.country = US",
        "name desc",
        1,
    )
    .await;
    assert_eq!(
        names,
        ["Grace Hopper", "Barbara Liskov", "Alan Turing", "Ada Lovelace"]
    );
    assert_eq!(totals, [4, 4, 4, 4]);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn page_tokens_are_bound_to_their_filter_and_order() {
    let (server, _) = directory().await;
    let filter = "role != USER_ROLE_VIEWER";
    let (status, first) = page(&server, filter, "name", 2, "").await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["totalSize"], 5);
    let token = first["nextPageToken"].as_str().unwrap().to_owned();
    assert!(!token.is_empty());
    for user in first["users"].as_array().unwrap() {
        assert!(!token.contains(user["id"].as_str().unwrap()));
    }

    let (status, second) = page(&server, filter, "name", 2, &token).await;
    assert_eq!(status, 200, "{second}");

    let mut tampered = token.clone().into_bytes();
    let middle = tampered.len() / 2;
    tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let cases = [
        ("tampered", filter, "name", tampered.as_str()),
        ("another filter", "role = USER_ROLE_ADMIN", "name", token.as_str()),
        ("no filter", "", "name", token.as_str()),
        ("another order", filter, "name desc", token.as_str()),
        ("garbage", filter, "name", "not-a-token"),
    ];
    for (what, filter, order_by, token) in cases {
        let (status, body) = page(&server, filter, order_by, 2, token).await;
        assert_eq!(status, 400, "{what}: {body}");
        assert_error_body(&body, INVALID_ARGUMENT);
        assert!(
            body["message"].as_str().unwrap().contains("page_token"),
            "{what}: {body}"
        );
    }
    server.shutdown().await;
}

// ------------------------------------------------- pagination under writes

const ORIGINALS: usize = 1000;
const PAGE_SIZE: usize = 37;
const INSERTS: usize = 300;

async fn create_many(
    client: &UserServiceClient<Channel>,
    prefix: &str,
    range: std::ops::Range<usize>,
) -> Vec<String> {
    let mut tasks = Vec::new();
    for chunk in range.collect::<Vec<_>>().chunks(125) {
        let (mut client, chunk, prefix) = (client.clone(), chunk.to_vec(), prefix.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for n in chunk {
                let request = CreateUserRequest {
                    // Names in a scrambled order, so name order differs from creation order.
                    name: format!("{prefix} {:04}", (n * 7919) % 10_000),
                    email: format!("{prefix}{n}@example.com").to_lowercase(),
                    ..Default::default()
                };
                ids.push(client.create_user(request).await.expect("create").into_inner().id);
            }
            ids
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.extend(task.await.expect("creating users"));
    }
    ids
}

/// Walks every page over gRPC (`order_by`), returning the ids in order.
async fn walk_ids(mut client: UserServiceClient<Channel>, order_by: &str) -> Vec<String> {
    let (mut ids, mut token) = (Vec::new(), String::new());
    // Bounded: every user that could exist fits in this many pages.
    for _ in 0..(ORIGINALS + INSERTS) / PAGE_SIZE + 10 {
        let page = client
            .list_users(ListUsersRequest {
                page_size: PAGE_SIZE as i32,
                page_token: token,
                order_by: order_by.to_owned(),
                ..Default::default()
            })
            .await
            .expect("list a page")
            .into_inner();
        assert!(page.users.len() <= PAGE_SIZE);
        ids.extend(page.users.into_iter().map(|u| u.id));
        token = page.next_page_token;
        if token.is_empty() {
            return ids;
        }
        tokio::task::yield_now().await;
    }
    panic!("paging ({order_by:?}) did not end");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn paging_never_repeats_or_skips_while_others_write() {
    let server = TestServer::start().await;
    let client = server.grpc().await;
    let originals = create_many(&client, "Original", 0..ORIGINALS).await;
    assert_eq!(originals.len(), ORIGINALS);

    // A writer inserts new users and deletes every third original (in a
    // scrambled order) while two walks page through, by creation order
    // and by name descending.
    let writer = {
        let mut client = client.clone();
        let originals = originals.clone();
        tokio::spawn(async move {
            let mut deleted = HashSet::new();
            for step in 0..INSERTS {
                let request = CreateUserRequest {
                    name: format!("Newcomer {:04}", (step * 7919) % 10_000),
                    email: format!("newcomer{step}@example.com"),
                    ..Default::default()
                };
                client.create_user(request).await.expect("insert while paging");
                if step % 3 == 0 {
                    let victim = &originals[(step * 389) % ORIGINALS];
                    if deleted.insert(victim.clone()) {
                        let request = DeleteUserRequest {
                            id: victim.clone(),
                            ..Default::default()
                        };
                        client.delete_user(request).await.expect("delete while paging");
                    }
                }
                tokio::task::yield_now().await;
            }
            deleted
        })
    };
    let by_id = tokio::spawn(walk_ids(client.clone(), ""));
    let by_name = tokio::spawn(walk_ids(client.clone(), "name desc"));
    let (by_id, by_name) = (
        by_id.await.expect("walk by id"),
        by_name.await.expect("walk by name"),
    );
    let deleted = writer.await.expect("the writer");
    assert!(!deleted.is_empty());

    for (order, ids) in [("creation order", &by_id), ("name desc", &by_name)] {
        let mut seen = HashSet::new();
        for id in ids {
            assert!(seen.insert(id.clone()), "{order}: {id} returned twice");
        }
        let skipped: Vec<&String> = originals
            .iter()
            .filter(|id| !deleted.contains(*id) && !seen.contains(*id))
            .collect();
        assert!(
            skipped.is_empty(),
            "{order}: skipped {} originals: {skipped:?}",
            skipped.len()
        );
    }
    // Creation order really is id order.
    let mut sorted = by_id.clone();
    sorted.sort();
    assert_eq!(sorted, by_id);
    drop(client);
    server.shutdown().await;
}
