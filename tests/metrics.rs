//! `GET /metrics`: calls over REST and gRPC are counted once each, by face,
//! method and code, in go-grpc-middleware's series; REST calls also in the
//! HTTP duration histogram, by route template; the in-flight gauge returns
//! to 0. The scrape is parsed, so label order does not matter.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{TestServer, create_request, guarded};
use gateway::proto::users::v1::{GetUserRequest, ListUsersRequest};
use serde_json::json;

/// An id no user has.
const MISSING_ID: &str = "no-such-user";
const SERVICE: &str = "users.v1.UserService";

/// One sample line of the text format: `name{label="value",...} value`.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// The samples of a scrape in the Prometheus or OpenMetrics text format
/// (comments and `# EOF` skipped); panics on a line it cannot read.
fn parse(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| parse_line(line).unwrap_or_else(|| panic!("unreadable sample line {line:?}")))
        .collect()
}

fn parse_line(line: &str) -> Option<Sample> {
    let name_end = line.find(['{', ' '])?;
    let name = line[..name_end].to_owned();
    let mut labels = BTreeMap::new();
    let mut rest = &line[name_end..];
    if let Some(after_brace) = rest.strip_prefix('{') {
        let mut chars = after_brace.char_indices();
        let mut key = String::new();
        loop {
            let (index, c) = chars.next()?;
            match c {
                '}' => {
                    rest = &after_brace[index + 1..];
                    break;
                }
                ',' if key.is_empty() => {}
                '=' => {
                    if chars.next()?.1 != '"' {
                        return None;
                    }
                    let mut value = String::new();
                    loop {
                        match chars.next()?.1 {
                            '"' => break,
                            '\\' => match chars.next()?.1 {
                                'n' => value.push('\n'),
                                escaped => value.push(escaped),
                            },
                            c => value.push(c),
                        }
                    }
                    labels.insert(std::mem::take(&mut key), value);
                }
                c => key.push(c),
            }
        }
    }
    // The value, then an optional timestamp.
    let value = rest.split_whitespace().next()?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        value => value.parse().ok()?,
    };
    Some(Sample { name, labels, value })
}

/// The value of the series `name` with exactly `labels`, if it is there.
fn value_of(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let wanted: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let mut found = samples.iter().filter(|s| s.name == name && s.labels == wanted);
    let sample = found.next()?;
    assert!(found.next().is_none(), "{name} {labels:?} appears twice");
    Some(sample.value)
}

/// The labels of a unary call of `method` over `protocol`.
fn call_labels<'a>(method: &'a str, protocol: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grpc_type", "unary"),
        ("grpc_service", SERVICE),
        ("grpc_method", method),
        ("protocol", protocol),
    ]
}

/// Scrapes `/metrics` with `accept`; returns the content type and samples.
async fn scrape(server: &TestServer, accept: Option<&str>) -> (String, Vec<Sample>) {
    let (status, content_type, text) = server.get_text("/metrics", accept).await;
    assert_eq!(status, 200, "{text}");
    (content_type, parse(&text))
}

/// Scrapes until `done` holds of the samples (a call's end is recorded
/// just after its answer is sent), failing after the guard.
async fn scrape_until(server: &TestServer, what: &str, done: impl Fn(&[Sample]) -> bool) -> Vec<Sample> {
    guarded(what, async {
        loop {
            let (_, samples) = scrape(server, None).await;
            if done(&samples) {
                return samples;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
}

fn handled_total(samples: &[Sample]) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == "grpc_server_handled_total" && s.labels["grpc_service"] == SERVICE)
        .map(|s| s.value)
        .sum()
}

fn in_flight_total(samples: &[Sample]) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == "grpc_server_in_flight_calls")
        .map(|s| s.value)
        .sum()
}

/// A create, a get of a missing id and a list, over REST then over gRPC;
/// returns the id of the user created over REST.
async fn make_calls(server: &TestServer) -> String {
    let user = server
        .create_user(json!({"name": "Ada", "email": "ada@example.com"}))
        .await;
    let created_id = user["id"].as_str().expect("the user has an id").to_owned();
    let (status, body) = server.get_json(&format!("/v1/users/{MISSING_ID}")).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = server.get_json("/v1/users").await;
    assert_eq!(status, 200, "{body}");

    let mut grpc = server.grpc().await;
    grpc.create_user(create_request("Grace", "grace@example.com", &[]))
        .await
        .expect("CreateUser over gRPC");
    let missing = grpc
        .get_user(GetUserRequest {
            id: MISSING_ID.to_owned(),
        })
        .await
        .expect_err("GetUser of a missing id fails");
    assert_eq!(missing.code(), tonic::Code::NotFound);
    grpc.list_users(ListUsersRequest::default())
        .await
        .expect("ListUsers over gRPC");
    created_id
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_over_both_faces_are_counted_by_method_code_and_protocol() {
    let server = TestServer::start().await;
    let (_, before) = scrape(&server, None).await;
    assert_eq!(handled_total(&before), 0.0, "no call yet");
    make_calls(&server).await;
    let samples = scrape_until(&server, "six ended calls and none in flight", |samples| {
        handled_total(samples) >= 6.0 && in_flight_total(samples) == 0.0
    })
    .await;
    assert_eq!(handled_total(&samples), 6.0, "{samples:#?}");

    for protocol in ["rest", "grpc"] {
        for (method, code) in [("CreateUser", "OK"), ("GetUser", "NotFound"), ("ListUsers", "OK")] {
            let labels = call_labels(method, protocol);
            let what = format!("{method} over {protocol}");
            assert_eq!(
                value_of(&samples, "grpc_server_started_total", &labels),
                Some(1.0),
                "started: {what}"
            );
            let mut handled = labels.clone();
            handled.push(("grpc_code", code));
            assert_eq!(
                value_of(&samples, "grpc_server_handled_total", &handled),
                Some(1.0),
                "handled: {what}"
            );
            assert_eq!(
                value_of(&samples, "grpc_server_handling_seconds_count", &labels),
                Some(1.0),
                "histogram count = handled count: {what}"
            );
            let mut inf = labels.clone();
            inf.push(("le", "+Inf"));
            assert_eq!(
                value_of(&samples, "grpc_server_handling_seconds_bucket", &inf),
                Some(1.0),
                "+Inf bucket: {what}"
            );
        }
        assert_eq!(
            value_of(&samples, "grpc_server_in_flight_calls", &[("protocol", protocol)]),
            Some(0.0),
            "in flight over {protocol}"
        );
    }
    // No call ended with another code.
    let codes: Vec<&str> = samples
        .iter()
        .filter(|s| s.name == "grpc_server_handled_total")
        .map(|s| s.labels["grpc_code"].as_str())
        .collect();
    assert!(
        codes.iter().all(|code| ["OK", "NotFound"].contains(code)),
        "{codes:?}"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rest_calls_are_timed_by_route_template_and_status() {
    let server = TestServer::start().await;
    let created_id = make_calls(&server).await;
    let samples = scrape_until(&server, "the REST calls to end", |samples| {
        handled_total(samples) >= 6.0 && in_flight_total(samples) == 0.0
    })
    .await;
    let count = "http_server_request_duration_seconds_count";
    for (method, route, status) in [
        ("POST", "/v1/users", "201"),
        ("GET", "/v1/users/{id}", "404"),
        ("GET", "/v1/users", "200"),
    ] {
        let labels = [
            ("http_request_method", method),
            ("http_route", route),
            ("http_response_status_code", status),
        ];
        assert_eq!(
            value_of(&samples, count, &labels),
            Some(1.0),
            "{method} {route} {status}"
        );
    }
    let http: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.name.starts_with("http_server_request_duration_seconds"))
        .collect();
    // Three series (count, sum and buckets each), gRPC calls not among them.
    let series: Vec<_> = http.iter().filter(|s| s.name == count).collect();
    assert_eq!(series.len(), 3, "{series:#?}");
    // Routes are templates: no raw path, so no id, in any label.
    for sample in &samples {
        for value in sample.labels.values() {
            assert!(
                !value.contains(MISSING_ID) && !value.contains(&created_id),
                "a raw path in {sample:?}"
            );
        }
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_scrape_is_prometheus_text_or_openmetrics_on_request() {
    let server = TestServer::start().await;
    make_calls(&server).await;
    let (content_type, samples) = scrape(&server, None).await;
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    assert!(samples.iter().any(|s| s.name == "grpc_server_started_total"));

    let accept = "application/openmetrics-text;version=1.0.0,text/plain;q=0.5";
    let (status, content_type, text) = server.get_text("/metrics", Some(accept)).await;
    assert_eq!(status, 200);
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert!(parse(&text).iter().any(|s| s.name == "grpc_server_started_total"));

    // `/metrics` is served, not transcoded: no other method, no call counted.
    let response = server
        .http
        .post(server.url("/metrics"))
        .send()
        .await
        .expect("POST /metrics");
    assert_eq!(response.status().as_u16(), 405);
    let (_, samples) = scrape(&server, None).await;
    assert!(
        samples
            .iter()
            .all(|s| !s.labels.values().any(|v| v.contains("metrics"))),
        "{samples:#?}"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_stores_own_figures_are_scraped() {
    let server = TestServer::start().await;
    let (_, before) = scrape(&server, None).await;
    let figure = |samples: &[Sample], name: &str| value_of(samples, name, &[]).unwrap_or(-1.0);
    assert_eq!(figure(&before, "gateway_store_commit_batch_size_count"), 0.0);
    assert!(figure(&before, "gateway_store_readers") >= 1.0);
    let user = server
        .create_user(json!({"name": "Ada", "email": "ada@example.com"}))
        .await;
    let id = user["id"].as_str().unwrap();
    for _ in 0..3 {
        let (status, body) = server.get_json(&format!("/v1/users/{id}")).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, _) = server.get_json(&format!("/v1/users/{MISSING_ID}")).await;
    assert_eq!(status, 404);
    let (_, after) = scrape(&server, None).await;
    // One write, in one committed batch of one.
    assert_eq!(figure(&after, "gateway_store_commit_batch_size_count"), 1.0);
    assert_eq!(figure(&after, "gateway_store_commit_batch_size_sum"), 1.0);
    let one = value_of(&after, "gateway_store_commit_batch_size_bucket", &[("le", "1")]);
    assert_eq!(one, Some(1.0), "the batch of one is in the first bucket");
    // The first read of the user misses and fills the cache, the next two
    // hit; the missing id misses.
    assert_eq!(figure(&after, "gateway_store_cache_hits_total"), 2.0);
    assert_eq!(figure(&after, "gateway_store_cache_misses_total"), 2.0);
    // Nothing is queued or reading between calls.
    assert_eq!(figure(&after, "gateway_store_write_queue_depth"), 0.0);
    assert_eq!(figure(&after, "gateway_store_readers_in_use"), 0.0);
    server.shutdown().await;
}
