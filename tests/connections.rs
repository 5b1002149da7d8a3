//! What bad clients cannot do to the server's connections: hold them with
//! a head sent a byte a second (slowloris), with sockets that send nothing,
//! with idle keep-alive connections (HTTP/1.1 and HTTP/2), with more idle
//! connections than the cap, or with a REST body that stops half-way. And
//! what good clients keep: a quiet gRPC stream is not cut.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{
    RawResponse, SyncCall, TestServer, assert_error_body, body_chunk, guarded, guarded_for, upsert,
};
use gateway::proto::users::v1::{ListUsersRequest, User};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const SHORT: Duration = Duration::from_millis(300);
/// How long a wait during the slowloris may take before the test fails: on
/// a loaded machine, the attackers' rounds take a while.
const ATTACK_GUARD: Duration = Duration::from_secs(60);

async fn connect(server: &TestServer) -> TcpStream {
    TcpStream::connect(server.addr()).await.expect("connect")
}

/// One slowloris client: sends a head that never ends, a byte a second,
/// and connects again whenever the server closes its connection (counted
/// in `closed`).
async fn slowloris(addr: std::net::SocketAddr, closed: Arc<AtomicUsize>) {
    let head = b"GET /v1/users HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
    loop {
        let Ok(mut stream) = TcpStream::connect(addr).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let mut sent = 0;
        let mut byte = [0_u8; 1];
        loop {
            let next = head.get(sent).copied().unwrap_or(b'a');
            tokio::select! {
                _ = stream.read(&mut byte) => break,
                () = tokio::time::sleep(Duration::from_secs(1)) => {
                    if stream.write_all(&[next]).await.is_err() {
                        break;
                    }
                    sent += 1;
                }
            }
        }
        closed.fetch_add(1, Ordering::Relaxed);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slowloris_of_200_connections_neither_holds_them_nor_blocks_others() {
    let server = TestServer::start_configured(|config| {
        config.header_read_timeout = Duration::from_secs(2);
        // Room for the attackers and the normal clients: what is tested is
        // that the slow heads are cut off and others served meanwhile (a
        // cap the attackers fill makes others queue behind them, which
        // `idle_connections_beyond_the_cap_make_room_for_a_new_client`
        // covers for idle sockets).
        config.max_connections = Some(250);
    })
    .await;
    let closed = Arc::new(AtomicUsize::new(0));
    let attackers: Vec<_> = (0..200)
        .map(|_| tokio::spawn(slowloris(server.addr(), closed.clone())))
        .collect();
    // Until every attacker has had a connection closed on it at least once
    // (each after at most the header read timeout).
    guarded_for(ATTACK_GUARD, "the slow heads to be cut off", async {
        while closed.load(Ordering::Relaxed) < 200 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;

    // Meanwhile, with the attack still on, both faces answer.
    let (status, _) = guarded_for(
        ATTACK_GUARD,
        "a REST call during the attack",
        server.get_json("/v1/users"),
    )
    .await;
    assert_eq!(status, 200);
    let mut client = guarded_for(ATTACK_GUARD, "a gRPC connection during the attack", server.grpc()).await;
    guarded_for(
        ATTACK_GUARD,
        "a gRPC call during the attack",
        client.list_users(ListUsersRequest::default()),
    )
    .await
    .expect("ListUsers");
    for attacker in attackers {
        attacker.abort();
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_socket_that_sends_nothing_is_closed_after_the_header_read_timeout() {
    let server = TestServer::start_configured(|config| config.header_read_timeout = SHORT).await;
    let mut silent = RawResponse::new(connect(&server).await);
    silent.closed().await;
    assert!(silent.unread().is_empty(), "{:?}", silent.unread());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_http1_connection_is_closed_after_the_idle_timeout() {
    let server = TestServer::start_configured(|config| config.idle_timeout = SHORT).await;
    let mut stream = connect(&server).await;
    stream
        .write_all(b"GET /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .expect("send a request");
    let mut raw = RawResponse::new(stream);
    let (head, body) = raw.json().await;
    assert!(head.starts_with("http/1.1 404"), "{head}");
    assert_error_body(&body, 5);
    // The connection is kept alive for another request, then closed.
    raw.closed().await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_http2_connection_is_sent_goaway_after_the_idle_timeout() {
    let server = TestServer::start_configured(|config| config.idle_timeout = SHORT).await;
    let (mut send, connection) = h2::client::handshake(connect(&server).await)
        .await
        .expect("an HTTP/2 handshake");
    let connection = tokio::spawn(connection);
    let request = http::Request::get(server.url("/openapi.json")).body(()).unwrap();
    let (response, _) = send.send_request(request, true).expect("send a request");
    let response = guarded("the response", response).await.expect("a response");
    assert_eq!(response.status(), 200);
    drop(response);
    // The client stays; the server ends the connection.
    let ended = guarded("the server to end the connection", connection).await;
    ended.expect("the connection task").expect("a clean GOAWAY");
    drop(send);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_connections_beyond_the_cap_make_room_for_a_new_client() {
    let cap = 4;
    // Timeouts far longer than the test: only the cap's pressure can free a place.
    let server = TestServer::start_configured(|config| {
        config.max_connections = Some(cap);
        config.header_read_timeout = Duration::from_secs(600);
        config.idle_timeout = Duration::from_secs(600);
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..3 * cap {
        idle.push(RawResponse::new(connect(&server).await));
    }
    let (status, _) = guarded(
        "a request past the idle connections",
        server.get_json("/v1/users"),
    )
    .await;
    assert_eq!(status, 200);
    // The first ones to come were closed to make room.
    for silent in idle.iter_mut().take(cap) {
        silent.closed().await;
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rest_body_that_stalls_gets_408_with_a_status_body() {
    let server = TestServer::start_configured(|config| config.body_read_timeout = SHORT).await;
    let mut stream = connect(&server).await;
    stream
        .write_all(
            b"POST /v1/users HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"name\": \"Ada\",",
        )
        .await
        .expect("send half a request");
    let (head, body) = RawResponse::new(stream).json().await;
    assert!(head.starts_with("http/1.1 408"), "{head}");
    assert_error_body(&body, 4);
    assert!(
        body["message"].as_str().unwrap().contains("sent nothing for"),
        "{body}"
    );

    // A client stream's body: the lines before the stall are applied.
    let mut stream = connect(&server).await;
    stream
        .write_all(
            b"POST /v1/users:bulkCreate HTTP/1.1\r\nHost: 127.0.0.1\r\n\
              Content-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n",
        )
        .await
        .expect("send the head");
    let line = "{\"name\": \"Ada\", \"email\": \"ada@example.com\"}\n";
    stream.write_all(&body_chunk(line)).await.expect("send a line");
    let (head, body) = RawResponse::new(stream).json().await;
    assert!(head.starts_with("http/1.1 408"), "{head}");
    assert_error_body(&body, 4);
    let (status, listed) = server.get_json("/v1/users").await;
    assert_eq!(status, 200);
    assert_eq!(listed["users"][0]["email"], "ada@example.com", "{listed}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_quiet_grpc_stream_outlives_the_body_and_idle_timeouts() {
    let server = TestServer::start_configured(|config| {
        config.body_read_timeout = SHORT;
        config.idle_timeout = SHORT;
    })
    .await;
    let mut client = server.grpc().await;
    let mut sync = SyncCall::open(&mut client).await;
    for (round, email) in ["quiet@example.com", "later@example.com"].into_iter().enumerate() {
        let user = User {
            name: "Quiet".to_owned(),
            email: email.to_owned(),
            ..Default::default()
        };
        let answer = sync.round_trip(upsert(user)).await;
        assert_eq!(answer.index, round as i32);
        // Quiet for three times the timeouts.
        tokio::time::sleep(3 * SHORT).await;
    }
    drop(sync);
    server.shutdown().await;
}
