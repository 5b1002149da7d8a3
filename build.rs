//! Compiles `proto/` with protox (pure Rust, no `protoc`), embeds the file
//! descriptor set (with source info, so comments reach the OpenAPI document)
//! for the transcoding engine, and generates the prost/tonic code.

use std::{env, fs, path::PathBuf};

const PROTO_ROOT: &str = "proto";
const ENTRY_FILES: &[&str] = &[
    "users/v1/users.proto",
    "google/rpc/status.proto",
    "google/rpc/error_details.proto",
];
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

    // The engine's unit tests run against a service of their own.
    let mut test_compiler = protox::Compiler::new([PROTO_ROOT])?;
    test_compiler.include_imports(true);
    test_compiler.open_files(TEST_FILES)?;
    fs::write(
        out_dir.join("test_descriptors.bin"),
        test_compiler.encode_file_descriptor_set(),
    )?;

    // Well-known types come from prost-types; generate everything else.
    let mut file_descriptor_set = compiler.file_descriptor_set();
    file_descriptor_set
        .file
        .retain(|file| !file.package().starts_with("google.protobuf"));
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(file_descriptor_set)?;
    Ok(())
}
