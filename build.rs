//! Compiles `proto/` with protox (pure Rust, no `protoc`), embeds the file
//! descriptor set (with source info, so comments reach the OpenAPI document)
//! for the transcoding engine, and generates the prost/tonic code, plus for
//! every service a `…Direct` wrapper that lets the engine call its unary
//! methods without gRPC framing (`src/transcode/direct.rs`).

use std::{env, fs, path::PathBuf};

const PROTO_ROOT: &str = "proto";
const ENTRY_FILES: &[&str] = &[
    "users/v1/users.proto",
    "google/rpc/status.proto",
    "google/rpc/error_details.proto",
];
/// The engine's own messages, added to any pool that lacks them.
const ENGINE_FILES: &[&str] = &["google/rpc/status.proto", "google/rpc/error_details.proto"];
const TEST_FILES: &[&str] = &[
    "testdata/library.proto",
    "google/rpc/status.proto",
    "google/rpc/error_details.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed={PROTO_ROOT}");
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);

    let mut compiler = protox::Compiler::new([PROTO_ROOT])?;
    compiler.include_source_info(true).include_imports(true);
    compiler.open_files(ENTRY_FILES)?;
    fs::write(
        out_dir.join("descriptors.bin"),
        compiler.encode_file_descriptor_set(),
    )?;

    let mut engine_compiler = protox::Compiler::new([PROTO_ROOT])?;
    engine_compiler.include_imports(true);
    engine_compiler.open_files(ENGINE_FILES)?;
    fs::write(
        out_dir.join("engine_descriptors.bin"),
        engine_compiler.encode_file_descriptor_set(),
    )?;

    // The engine's unit tests, and `examples/library.rs`, run against a
    // service of their own, `gateway.test.Library`.
    let mut test_compiler = protox::Compiler::new([PROTO_ROOT])?;
    test_compiler.include_source_info(true).include_imports(true);
    test_compiler.open_files(TEST_FILES)?;
    fs::write(
        out_dir.join("test_descriptors.bin"),
        test_compiler.encode_file_descriptor_set(),
    )?;

    // Well-known types come from prost-types (their descriptors stay in
    // the set: prost reads the fields of `google.protobuf.Duration` to
    // derive `RetryInfo`; the module it writes for them is never included).
    let file_descriptor_set = compiler.file_descriptor_set();
    let tonic = tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .service_generator();
    prost_build::Config::new()
        .out_dir(&out_dir)
        .service_generator(Box::new(WithDirectCalls { tonic }))
        .compile_fds(file_descriptor_set)?;

    // Its Rust code, for the example, in a folder of its own; the types it
    // shares with the engine (`google.*`) are the engine's.
    let test_out = out_dir.join("library");
    fs::create_dir_all(&test_out)?;
    let test_set = test_compiler.file_descriptor_set();
    prost_build::Config::new()
        .out_dir(&test_out)
        .extern_path(".google.api", "::gateway::transcode::proto::google::api")
        .extern_path(".google.rpc", "::gateway::transcode::proto::google::rpc")
        .service_generator(Box::new(WithDirectCalls {
            tonic: tonic_prost_build::configure()
                .build_client(true)
                .build_server(true)
                .service_generator(),
        }))
        .compile_fds(test_set)?;
    Ok(())
}

/// tonic's client and server, then the direct-call wrapper of the service.
struct WithDirectCalls {
    tonic: Box<dyn prost_build::ServiceGenerator>,
}

impl prost_build::ServiceGenerator for WithDirectCalls {
    fn generate(&mut self, service: prost_build::Service, buf: &mut String) {
        let direct = direct_calls(&service);
        self.tonic.generate(service, buf);
        buf.push_str(&direct);
    }

    fn finalize(&mut self, buf: &mut String) {
        self.tonic.finalize(buf);
    }

    fn finalize_package(&mut self, package: &str, buf: &mut String) {
        self.tonic.finalize_package(package, buf);
    }
}

/// `pub mod <service>_direct { pub struct <Service>Direct<T>(Arc<T>); … }`:
/// each unary method decodes its request, calls the trait method of
/// tonic's generated `<service>_server::<Service>` and encodes the answer.
fn direct_calls(service: &prost_build::Service) -> String {
    let name = &service.name;
    let snake = snake_case(name);
    let full_name = format!("{}.{}", service.package, service.proto_name);
    let unary: Vec<_> = service
        .methods
        .iter()
        .filter(|method| !method.client_streaming && !method.server_streaming)
        .collect();
    let paths: Vec<String> = unary
        .iter()
        .map(|method| format!("/{full_name}/{}", method.proto_name))
        .collect();
    let mut arms = String::new();
    for (method, path) in unary.iter().zip(&paths) {
        arms.push_str(&format!(
            "            {path:?} => Box::pin(::gateway::transcode::direct::call_unary(\n                request,\n                move |request: tonic::Request<{input}>| async move {{ service.{method_name}(request).await }},\n            )),\n",
            input = nested_type(&method.input_type),
            method_name = method.name,
        ));
    }
    format!(
        r#"
/// Direct in-process calls of the unary methods of `{full_name}`, for the
/// transcoding engine (generated by `build.rs`; see `transcode::direct`).
pub mod {snake}_direct {{
    use super::{snake}_server::{name};

    /// Calls the unary methods of a `{name}` implementation with encoded
    /// messages, without gRPC framing.
    pub struct {name}Direct<T>(pub std::sync::Arc<T>);

    impl<T: {name}> ::gateway::transcode::direct::DirectService for {name}Direct<T> {{
        fn unary_paths(&self) -> &'static [&'static str] {{
            &{paths:?}
        }}

        fn call(
            &self,
            grpc_path: &str,
            request: tonic::Request<bytes::Bytes>,
        ) -> ::gateway::transcode::direct::DirectCall {{
            let service = std::sync::Arc::clone(&self.0);
            match grpc_path {{
{arms}            _ => {{
                let status = tonic::Status::unimplemented(format!("no unary method at {{grpc_path}}"));
                Box::pin(std::future::ready(Err(status)))
            }}
            }}
        }}
    }}
}}
"#
    )
}

/// A prost type path as seen from a module nested in the package's module.
fn nested_type(path: &str) -> String {
    if path == "()" || path.starts_with("::") || path.starts_with("crate::") {
        path.to_owned()
    } else {
        format!("super::{path}")
    }
}

/// `UserService` → `user_service`, as tonic names its modules.
fn snake_case(name: &str) -> String {
    let mut snake = String::new();
    for (index, character) in name.char_indices() {
        if character.is_ascii_uppercase() && index > 0 {
            snake.push('_');
        }
        snake.push(character.to_ascii_lowercase());
    }
    snake
}
