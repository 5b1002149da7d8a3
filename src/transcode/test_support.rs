//! For the engine's unit tests: compiles a proto written in the test, in
//! memory, against `proto/` and Google's well-known types.

use prost_reflect::DescriptorPool;

/// The pool of `source` (one file, which may import from `proto/`), with
/// its imports; the compiler's message when it does not compile.
pub(crate) fn compile(source: &str) -> Result<DescriptorPool, String> {
    let mut resolver = protox::file::ChainFileResolver::new();
    resolver.add(InMemory(source.to_owned()));
    resolver.add(protox::file::IncludeFileResolver::new("proto".into()));
    resolver.add(protox::file::GoogleFileResolver::new());
    let mut compiler = protox::Compiler::with_file_resolver(resolver);
    compiler.include_imports(true);
    compiler.open_file(FILE_NAME).map_err(|error| error.to_string())?;
    DescriptorPool::decode(compiler.encode_file_descriptor_set().as_slice())
        .map_err(|error| error.to_string())
}

const FILE_NAME: &str = "test.proto";

struct InMemory(String);

impl protox::file::FileResolver for InMemory {
    fn open_file(&self, name: &str) -> Result<protox::file::File, protox::Error> {
        match name {
            FILE_NAME => protox::file::File::from_source(name, &self.0),
            _ => Err(protox::Error::file_not_found(name)),
        }
    }
}
