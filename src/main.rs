//! The `gateway` binary: parses flags, starts logging (and trace export,
//! with `--otlp-endpoint`), binds the listener and runs the server until
//! Ctrl-C or SIGTERM. `gateway openapi [--yaml]`
//! prints the generated OpenAPI document instead, without opening the
//! database.

use clap::Parser as _;
use gateway::config::Config;
use gateway::logging::LogFormat;
use gateway::telemetry::Traces;
use tokio::net::TcpListener;

/// The command line: the server's flags, or a subcommand.
#[derive(Debug, clap::Parser)]
#[command(
    version,
    about = "Serves users.v1.UserService over gRPC and, transcoded, over HTTP/JSON on one port."
)]
struct Cli {
    #[command(flatten)]
    config: Config,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Prints the OpenAPI 3.1 document generated from the embedded
    /// descriptors (as served at /openapi.json) and exits.
    Openapi {
        /// Print YAML (as served at /openapi.yaml) instead of JSON.
        #[arg(long)]
        yaml: bool,
    },
}

/// Threads for blocking work (SQLite listings and streams). The store runs
/// at most one such task per reader connection; this is the backstop.
const MAX_BLOCKING_THREADS: usize = 8;

fn main() -> std::process::ExitCode {
    limit_malloc_arenas();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .build();
    match runtime {
        Ok(runtime) => runtime.block_on(serve()),
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// glibc's malloc gives each thread that allocates an arena of its own (up
/// to eight per core) and keeps what every arena has grown to. This
/// server's threads mostly wait on the network or on SQLite, so one arena
/// per core it may run on is plenty, and saves megabytes of resident
/// memory. `MALLOC_ARENA_MAX` in the environment still wins.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return;
    }
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let arenas = libc::c_int::try_from(cores).unwrap_or(libc::c_int::MAX);
    // SAFETY: mallopt only changes allocator settings, and runs here before
    // any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, arenas);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}

async fn serve() -> std::process::ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Openapi { yaml }) = cli.command {
        return print_openapi(yaml);
    }
    let config = cli.config;
    if let Err(error) = gateway::server::check(&config) {
        eprintln!("error: {error}");
        return std::process::ExitCode::FAILURE;
    }
    let traces = match config.otlp_endpoint.as_ref().map(Traces::start).transpose() {
        Ok(traces) => traces,
        Err(error) => {
            eprintln!("error: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let _log_writer = match gateway::logging::init(config.log_format, traces.as_ref()) {
        Ok(guard) => guard,
        Err(error) => {
            eprintln!("error: cannot start the log writer: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let listener = match TcpListener::bind(config.addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("error: cannot listen on {}: {error}", config.addr);
            return std::process::ExitCode::FAILURE;
        }
    };
    let address = listener.local_addr().map_or(config.addr, |address| address);
    // Printed whatever RUST_LOG says (scripts wait for it); in JSON mode it
    // is JSON like every other line.
    let scheme = if config.tls.tls_cert.is_some() {
        "https"
    } else {
        "http"
    };
    let listening = format!(
        "gateway listening on {scheme}://{address} (REST/JSON and gRPC), database {}",
        config.database.display()
    );
    match config.log_format {
        LogFormat::Text => println!("{listening}"),
        LogFormat::Json => println!(
            "{}",
            serde_json::json!({"level": "INFO", "message": listening, "address": address.to_string()})
        ),
    }
    let served = gateway::server::run(listener, config, shutdown_signal()).await;
    if let Some(traces) = traces {
        // The spans of the last calls are sent before the process ends.
        traces.shutdown().await;
    }
    match served {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn print_openapi(yaml: bool) -> std::process::ExitCode {
    match gateway::server::openapi_document() {
        Ok(document) if yaml => print!("{}", gateway::transcode::openapi::to_yaml(&document)),
        Ok(document) => print!("{}", gateway::transcode::openapi::to_json(&document)),
        Err(error) => {
            eprintln!("error: {error}");
            return std::process::ExitCode::FAILURE;
        }
    }
    std::process::ExitCode::SUCCESS
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}
