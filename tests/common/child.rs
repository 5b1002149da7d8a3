//! The real `gateway` binary as a child process: started on a port of its
//! own choosing (read from its listening line), ready once it answers, and
//! killed on drop so a failing test leaves nothing behind.

use std::ffi::OsStr;
use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::ops::Deref;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

use super::endpoint::Endpoint;
use super::guard::guarded_for;

/// How long the binary may take to print its listening line.
const LISTENING_LIMIT: Duration = Duration::from_secs(20);

/// A running `gateway` binary; its [`Endpoint`] is reached through it.
pub struct GatewayProcess {
    child: Child,
    endpoint: Endpoint,
    /// Every line the program has written to stdout so far.
    output: Arc<Mutex<Vec<String>>>,
}

impl Deref for GatewayProcess {
    type Target = Endpoint;

    fn deref(&self) -> &Endpoint {
        &self.endpoint
    }
}

impl GatewayProcess {
    /// Starts the binary on `127.0.0.1:0` with `database`, its default
    /// limits (no `GATEWAY_*` variable reaches it), no trace export (nor any
    /// `OTEL_*` variable) and warnings-only logs, and waits until it serves.
    pub async fn start(database: &Path) -> GatewayProcess {
        Self::start_with(database, &[]).await
    }

    /// [`GatewayProcess::start`], with `flags` added.
    pub async fn start_with(database: &Path, flags: &[&str]) -> GatewayProcess {
        let program = Path::new(env!("CARGO_BIN_EXE_gateway"));
        let mut args: Vec<&OsStr> = vec![
            "--addr".as_ref(),
            "127.0.0.1:0".as_ref(),
            "--database".as_ref(),
            database.as_os_str(),
        ];
        args.extend(flags.iter().map(OsStr::new));
        Self::start_program(program, &args).await
    }

    /// Starts `program` with `args`, the same way: any server of this
    /// repository that prints `… listening on http://<addr>` first.
    pub async fn start_program(program: &Path, args: &[&OsStr]) -> GatewayProcess {
        Self::start_program_with(program, args, &[]).await
    }

    /// [`GatewayProcess::start_program`], with `env` set for the program
    /// (after the defaults, so `RUST_LOG` may be overridden).
    pub async fn start_program_with(program: &Path, args: &[&OsStr], env: &[(&str, &str)]) -> GatewayProcess {
        let mut command = Command::new(program);
        command
            .args(args)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (name, _) in std::env::vars_os() {
            let text = name.to_string_lossy();
            if text.starts_with("GATEWAY_") || text.starts_with("OTEL_") {
                command.env_remove(name);
            }
        }
        command.envs(env.iter().copied());
        let mut child = command
            .spawn()
            .unwrap_or_else(|error| panic!("spawn {}: {error}", program.display()));
        let stdout = child.stdout.take().expect("the binary's stdout");
        let output = Arc::new(Mutex::new(Vec::new()));
        let line = guarded_for(
            LISTENING_LIMIT,
            "the listening line",
            first_line(stdout, output.clone()),
        )
        .await;
        let Some(addr) = listening_address(&line) else {
            let _ = child.kill();
            let status = child.wait().expect("reap the gateway");
            panic!("the gateway printed {line:?} instead of its address (then {status})");
        };
        let mut process = GatewayProcess {
            child,
            endpoint: Endpoint::new(addr),
            output,
        };
        let child = &mut process.child;
        let served = process
            .endpoint
            .wait_until_serving(|| child.try_wait().expect("poll the child").is_some())
            .await;
        if served.is_err() {
            let status = process.child.wait().expect("reap the gateway");
            panic!("the gateway exited before it served: {status}");
        }
        process
    }

    /// The lines the program has written to stdout so far.
    pub fn output(&self) -> Vec<String> {
        self.output
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILLs the binary and reaps it.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL the gateway");
        self.child.wait().expect("reap the gateway");
    }

    /// SIGTERMs the binary (a graceful stop) and waits until it exits.
    pub async fn terminate(mut self) -> ExitStatus {
        self.send_sigterm();
        self.exited(LISTENING_LIMIT).await
    }

    /// SIGTERMs the binary, which starts its drain.
    pub fn send_sigterm(&self) {
        self.send_signal("TERM");
    }

    /// Sends SIGHUP (read the key and certificate files again).
    pub fn send_sighup(&self) {
        self.send_signal("HUP");
    }

    fn send_signal(&self, name: &str) {
        let sent = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -{name} {}: {sent}", self.child.id());
    }

    /// Waits until the binary exits, at most `limit`.
    pub async fn exited(&mut self, limit: Duration) -> ExitStatus {
        let child = &mut self.child;
        guarded_for(limit, "the gateway to exit", async {
            loop {
                if let Some(status) = child.try_wait().expect("poll the child") {
                    return status;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The first line of `stdout` (empty if it closes first); every line,
/// that one included, is kept in `output`, read on a thread of its own so
/// the binary never blocks writing.
async fn first_line(stdout: ChildStdout, output: Arc<Mutex<Vec<String>>>) -> String {
    let (tx, rx) = oneshot::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(tx) = tx.take() {
                let _ = tx.send(line.clone());
            }
            output
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push(line);
        }
    });
    rx.await.unwrap_or_default()
}

/// The address in `gateway listening on http://<addr> …`.
fn listening_address(line: &str) -> Option<SocketAddr> {
    let rest = line.split_once("listening on http://")?.1;
    rest.split_whitespace().next()?.parse().ok()
}
