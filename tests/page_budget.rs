//! A `ListUsers` page stops before the user that would pass its bytes
//! (`--max-page-bytes`) and gives a `next_page_token`; following the tokens
//! reads every user once, in order, over REST and over gRPC. Over gRPC a
//! page always fits `--max-message-bytes`.

mod common;

use common::{TestServer, form_encode, large_request};
use gateway::proto::users::v1::ListUsersRequest;

const USERS: usize = 10;
const USER_BYTES: usize = 3_000;

/// Creates the users over gRPC, one by one; their ids in creation order.
async fn create_users(server: &TestServer) -> Vec<String> {
    let mut client = server.grpc().await;
    let mut ids = Vec::new();
    for n in 0..USERS {
        let created = client
            .create_user(large_request(n, USER_BYTES))
            .await
            .expect("CreateUser");
        ids.push(created.into_inner().id);
    }
    ids
}

/// Every page's user ids over REST, following the tokens.
async fn rest_pages(server: &TestServer) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut token = String::new();
    loop {
        let path = format!("/v1/users?page_size=1000&page_token={}", form_encode(&token));
        let (status, body) = server.get_json(&path).await;
        assert_eq!(status, 200, "{body}");
        let ids = body["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|user| user["id"].as_str().unwrap().to_owned())
            .collect();
        pages.push(ids);
        token = body["nextPageToken"].as_str().unwrap().to_owned();
        if token.is_empty() {
            return pages;
        }
    }
}

/// Every page's user ids over gRPC, following the tokens.
async fn grpc_pages(server: &TestServer) -> Vec<Vec<String>> {
    let mut client = server.grpc().await;
    let mut pages = Vec::new();
    let mut page_token = String::new();
    loop {
        let request = ListUsersRequest {
            page_size: 1000,
            page_token,
            ..Default::default()
        };
        let page = client.list_users(request).await.expect("ListUsers").into_inner();
        pages.push(page.users.into_iter().map(|user| user.id).collect());
        page_token = page.next_page_token;
        if page_token.is_empty() {
            return pages;
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_stops_at_its_bytes_and_the_next_continues_without_gaps_or_repeats() {
    let server = TestServer::start_configured(|config| config.max_page_bytes = 10_000).await;
    let ids = create_users(&server).await;
    assert_eq!(ids.len(), USERS);
    for (face, pages) in [
        ("rest", rest_pages(&server).await),
        ("grpc", grpc_pages(&server).await),
    ] {
        // Three users of about 3 kB fit in 10 kB, a fourth does not.
        let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
        assert_eq!(sizes, [3, 3, 3, 1], "{face}");
        assert_eq!(pages.concat(), ids, "{face}: every user once, in order");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn over_grpc_a_page_fits_the_largest_message() {
    let server = TestServer::start_configured(|config| config.max_message_bytes = 8_000).await;
    let ids = create_users(&server).await;
    let pages = grpc_pages(&server).await;
    assert!(pages.len() > 1, "{pages:?}");
    assert_eq!(pages.concat(), ids);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_larger_than_the_page_budget_is_a_page_of_its_own() {
    let server = TestServer::start_configured(|config| config.max_page_bytes = 1_000).await;
    let ids = create_users(&server).await;
    let pages = rest_pages(&server).await;
    assert_eq!(pages.len(), USERS);
    assert_eq!(pages.concat(), ids);
}
