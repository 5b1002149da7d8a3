//! Streaming does not buffer: the real release binary streams 200,000 users
//! over HTTP NDJSON to a deliberately slow reader while its resident memory
//! is sampled. Ignored by default (it takes a while); run it with
//!
//! ```sh
//! cargo test --release --locked --test stream_memory -- --ignored --nocapture
//! ```

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{GatewayProcess, bulk_create, database_in, guarded_for};
use gateway::proto::users::v1::{Address, CreateUserRequest, UserRole};

const USERS: usize = 200_000;
const BATCH: usize = 50_000;
/// The reader pauses for `PAUSE` after every `PAUSE_EVERY` bytes.
const PAUSE_EVERY: usize = 32 * 1024;
const PAUSE: Duration = Duration::from_millis(5);
const SAMPLE_EVERY: Duration = Duration::from_millis(100);
/// The whole stream must be read within this (a liveness guard, not a benchmark).
const STREAM_GUARD: Duration = Duration::from_secs(300);
const MAX_GROWTH_BYTES: u64 = 10 * 1024 * 1024;

/// The resident set size of `pid`, in bytes, from `/proc/<pid>/status`.
fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc/<pid>/status");
    let line = status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .expect("a VmRSS line");
    let kilobytes: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|value| value.parse().ok())
        .expect("VmRSS in kB");
    kilobytes * 1024
}

fn megabytes(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn user_request(n: usize) -> CreateUserRequest {
    CreateUserRequest {
        name: format!("Streamed User {n}"),
        email: format!("streamed.user.{n}@example.com"),
        role: UserRole::Viewer as i32,
        address: Some(Address {
            street: format!("{n} Long Street"),
            city: "Oslo".to_owned(),
            state: String::new(),
            country: "NO".to_owned(),
            postal_code: "0150".to_owned(),
        }),
        tags: vec!["bulk".to_owned(), format!("group-{}", n % 100)],
        metadata: [("source".to_owned(), "stream_memory".to_owned())].into(),
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "slow: run explicitly (see the module docs)"]
async fn streaming_200k_users_to_a_slow_reader_keeps_memory_flat() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let binary = GatewayProcess::start(&database_in(dir.path())).await;
    let (addr, pid) = (binary.addr(), binary.pid());

    // Fill the database over gRPC, a client stream per batch.
    let mut client = binary.grpc().await;
    let inserting = Instant::now();
    for batch in 0..USERS / BATCH {
        let requests = (batch * BATCH..(batch + 1) * BATCH).map(user_request);
        let response = bulk_create(&mut client, requests).await;
        assert_eq!(
            response.created_count as usize,
            BATCH,
            "{:?}",
            response.failures.first()
        );
    }
    let insert_time = inserting.elapsed();
    println!(
        "inserted {USERS} users in {:.1} s ({:.0} users/s)",
        insert_time.as_secs_f64(),
        USERS as f64 / insert_time.as_secs_f64()
    );

    // The first stream pays one-time costs (the SQLite readers' page
    // caches, blocking-pool threads and their allocator arenas); it is read
    // at full speed and its growth is reported, not asserted.
    let cold = rss_bytes(pid);
    let sampler = Sampler::start(pid);
    let warm_up = read_stream(addr, None).await;
    assert_eq!(warm_up.lines, USERS, "the warm-up stream");
    let cold_peak = sampler.stop().await.peak;
    println!(
        "warm-up stream (full speed): {:.1} s; VmRSS {:.1} MB before, peak {:.1} MB (one-time growth {:.1} MB)",
        warm_up.elapsed.as_secs_f64(),
        megabytes(cold),
        megabytes(cold_peak),
        megabytes(cold_peak.saturating_sub(cold))
    );

    // The measured stream, to a slow reader.
    let baseline = rss_bytes(pid);
    let sampler = Sampler::start(pid);
    let slow = read_stream(addr, Some(pid)).await;
    let sampled = sampler.stop().await;
    let peak = sampled.peak.max(rss_bytes(pid));
    let growth = peak.saturating_sub(baseline);
    for (lines, rss) in &slow.timeline {
        println!("  after {lines:>6} lines: VmRSS {:.1} MB", megabytes(*rss));
    }
    println!(
        "slow stream: {} lines ({:.1} MB) in {:.1} s; {} samples",
        slow.lines,
        megabytes(slow.bytes as u64),
        slow.elapsed.as_secs_f64(),
        sampled.samples
    );
    println!(
        "server VmRSS: baseline {:.1} MB, peak {:.1} MB, growth {:.1} MB (limit {:.0} MB); total {:.1} s",
        megabytes(baseline),
        megabytes(peak),
        megabytes(growth),
        megabytes(MAX_GROWTH_BYTES),
        started.elapsed().as_secs_f64()
    );
    assert!(
        slow.last.starts_with("{\"id\":"),
        "the last line is a user: {}",
        slow.last
    );
    let last_name = format!("\"Streamed User {}\"", USERS - 1);
    assert!(slow.last.contains(&last_name), "{}", slow.last);
    assert_eq!(slow.lines, USERS);
    assert!(
        growth < MAX_GROWTH_BYTES,
        "the server grew by {:.1} MB while streaming",
        megabytes(growth)
    );
    drop(binary);
}

/// Samples a process's VmRSS every [`SAMPLE_EVERY`] until stopped.
struct Sampler {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Sampled>,
}

struct Sampled {
    peak: u64,
    samples: u32,
}

impl Sampler {
    fn start(pid: u32) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn({
            let stop = stop.clone();
            async move {
                let mut sampled = Sampled { peak: 0, samples: 0 };
                while !stop.load(Ordering::Relaxed) {
                    sampled.peak = sampled.peak.max(rss_bytes(pid));
                    sampled.samples += 1;
                    tokio::time::sleep(SAMPLE_EVERY).await;
                }
                sampled
            }
        });
        Sampler { stop, task }
    }

    async fn stop(self) -> Sampled {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.expect("the sampler")
    }
}

/// What a read of `GET /v1/users:stream` saw.
struct StreamRead {
    lines: usize,
    bytes: usize,
    /// The last line, without its newline.
    last: String,
    elapsed: Duration,
    /// (lines read, the server's VmRSS) every [`TIMELINE_EVERY`] lines.
    timeline: Vec<(usize, u64)>,
}

const TIMELINE_EVERY: usize = 25_000;

/// Reads the whole stream; with `slow_for` (the server's pid), slowly,
/// noting the server's VmRSS as it goes.
async fn read_stream(addr: SocketAddr, slow_for: Option<u32>) -> StreamRead {
    let started = Instant::now();
    let read = async {
        let mut response = reqwest::get(format!("http://{addr}/v1/users:stream"))
            .await
            .expect("GET /v1/users:stream");
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(response.headers()["content-type"], "application/x-ndjson");
        let mut read = StreamRead {
            lines: 0,
            bytes: 0,
            last: String::new(),
            elapsed: Duration::ZERO,
            timeline: Vec::new(),
        };
        let mut tail: Vec<u8> = Vec::new(); // the end of the body so far
        let mut since_pause = 0;
        while let Some(chunk) = response.chunk().await.expect("a body chunk") {
            let before = read.lines;
            read.lines += chunk.iter().filter(|&&byte| byte == b'\n').count();
            read.bytes += chunk.len();
            tail.extend_from_slice(&chunk);
            if tail.len() > 4096 {
                tail.drain(..tail.len() - 4096);
            }
            let Some(pid) = slow_for else { continue };
            if read.lines / TIMELINE_EVERY != before / TIMELINE_EVERY {
                read.timeline.push((read.lines, rss_bytes(pid)));
            }
            since_pause += chunk.len();
            if since_pause >= PAUSE_EVERY {
                since_pause = 0;
                tokio::time::sleep(PAUSE).await;
            }
        }
        let tail = String::from_utf8_lossy(&tail);
        read.last = tail.trim_end().rsplit('\n').next().unwrap_or_default().to_owned();
        read
    };
    let mut read = guarded_for(STREAM_GUARD, "the whole stream", read).await;
    read.elapsed = started.elapsed();
    read
}
