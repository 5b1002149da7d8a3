//! An OpenAPI 3.1 document of every HTTP binding in a descriptor pool,
//! built at start from the same bindings the engine serves: one operation
//! per binding (additional bindings included), one tag per service,
//! summaries and descriptions from the proto comments, and component
//! schemas of the messages in their proto3 JSON form.
//!
//! - `paths` — path templates → OpenAPI paths (multi-segment variables expanded);
//! - `operations` — a binding → parameters, request body, responses;
//! - `schemas` — messages, enums and fields → JSON Schemas;
//! - `comments` — proto comments from the source info;
//! - `security` — the `bearerAuth` scheme and each operation's `security`.
//!
//! `document(&pool)` for the test service `gateway.test.Library` gives, among
//! others, `POST /v1/search/{int64_value}:archive` with operationId
//! `Library_Archive` and a `202` response with a `Location` header.

mod comments;
mod operations;
mod paths;
mod schemas;
mod security;

use std::collections::BTreeMap;

use http::Method;
use prost_reflect::{DescriptorPool, ServiceDescriptor};
use utoipa::openapi::path::{HttpMethod, Paths};
use utoipa::openapi::schema::{Object, Schema, Type};
use utoipa::openapi::tag::Tag;
use utoipa::openapi::{Components, Info, OpenApi, RefOr};

use self::comments::Commented as _;
use self::operations::{OperationContext, operation};
use self::schemas::Schemas;
use crate::transcode::binding::{Binding, Bindings};
use crate::transcode::setup_error::SetupError;

const STATUS_MESSAGE: &str = "google.rpc.Status";
const HTTP_RESPONSE_EXTENSION: &str = "gateway.v1.http_response";

/// The OpenAPI document of every HTTP binding in `pool`.
pub fn document(pool: &DescriptorPool) -> Result<OpenApi, SetupError> {
    Ok(document_of(&Bindings::read(pool)?))
}

/// The OpenAPI document of bindings already read, as the gateway serves them.
pub fn document_of(bindings: &Bindings) -> OpenApi {
    build(&bindings.pool, bindings.list.iter().map(|binding| &**binding))
}

/// The document as pretty-printed JSON, ending with a newline.
pub fn to_json(document: &OpenApi) -> String {
    let mut text = document
        .to_pretty_json()
        .expect("an OpenAPI model always serializes");
    text.push('\n');
    text
}

/// The document as YAML.
pub fn to_yaml(document: &OpenApi) -> String {
    document.to_yaml().expect("an OpenAPI model always serializes")
}

pub(crate) fn build<'b>(pool: &DescriptorPool, bindings: impl IntoIterator<Item = &'b Binding>) -> OpenApi {
    let mut schemas = Schemas::new(pool);
    let status = match pool.get_message_by_name(STATUS_MESSAGE) {
        Some(message) => schemas.message(&message),
        None => RefOr::T(Schema::Object(Object::with_type(Type::Object))),
    };
    let mut paths = Paths::new();
    let mut operation_ids = BTreeMap::new();
    let mut services: Vec<ServiceDescriptor> = Vec::new();
    // Whether any operation names the bearer scheme.
    let mut guarded = false;
    for binding in bindings {
        let Some(http_method) = http_method(&binding.http_method) else {
            // OpenAPI 3.1 has no place for other methods (a custom rule's kind).
            continue;
        };
        let service = binding.method.parent_service();
        if !services.contains(service) {
            services.push(service.clone());
        }
        let context = OperationContext {
            operation_id: operation_id(binding, &mut operation_ids),
            tag: service.full_name().to_owned(),
            status: &status,
            location: location_template(pool, binding),
        };
        let (path, operation) = operation(binding, &context, &mut schemas);
        guarded |= operation.security.is_some();
        paths.add_path_operation(path, vec![http_method], operation);
    }
    let mut document = OpenApi::new(info(&services), paths);
    document.tags = Some(services.iter().map(tag).collect());
    let mut components = Components::new();
    components.schemas = schemas.into_components();
    if guarded {
        components.add_security_scheme(security::BEARER_AUTH, security::bearer_scheme());
    }
    document.components = Some(components);
    document
}

fn info(services: &[ServiceDescriptor]) -> Info {
    let names: Vec<&str> = services.iter().map(ServiceDescriptor::full_name).collect();
    let title = if names.is_empty() {
        "HTTP/JSON API".to_owned()
    } else {
        names.join(", ")
    };
    let mut info = Info::new(title, env!("CARGO_PKG_VERSION").to_owned());
    info.description = Some(
        "The HTTP/JSON API transcoded onto the gRPC service(s) of the same name, generated from \
         their `google.api.http` annotations. Bodies are proto3 JSON: lowerCamelCase names (proto \
         names accepted too), enums by name, 64-bit integers as strings, RFC 3339 timestamps. \
         Every error is a `google.rpc.Status` with the HTTP status of its gRPC code. \
         A path variable over several segments (`{name=shelves/*/books/*}`) appears as one \
         parameter per segment (`/shelves/{shelf}/books/{book}`)."
            .to_owned(),
    );
    info
}

fn tag(service: &ServiceDescriptor) -> Tag {
    let mut tag = Tag::new(service.full_name());
    tag.description = service.comments();
    tag
}

fn http_method(method: &Method) -> Option<HttpMethod> {
    Some(match *method {
        Method::GET => HttpMethod::Get,
        Method::POST => HttpMethod::Post,
        Method::PUT => HttpMethod::Put,
        Method::DELETE => HttpMethod::Delete,
        Method::PATCH => HttpMethod::Patch,
        Method::HEAD => HttpMethod::Head,
        Method::OPTIONS => HttpMethod::Options,
        Method::TRACE => HttpMethod::Trace,
        _ => return None,
    })
}

/// `Service_Method`, then `Service_Method2`, `…3` for its additional
/// bindings; `package_Service_Method` if another service of the same short
/// name took `Service_Method` first. `owners` maps each id to its method.
fn operation_id(binding: &Binding, owners: &mut BTreeMap<String, String>) -> String {
    let method = binding.method.full_name();
    let service = binding.method.parent_service();
    let short = format!("{}_{}", service.name(), binding.method.name());
    let base = match owners.get(&short) {
        Some(owner) if owner != method => {
            format!(
                "{}_{}",
                service.full_name().replace('.', "_"),
                binding.method.name()
            )
        }
        _ => short,
    };
    let id = std::iter::once(base.clone())
        .chain((2..).map(|suffix| format!("{base}{suffix}")))
        .find(|candidate| !owners.contains_key(candidate))
        .expect("some suffix is free");
    owners.insert(id.clone(), method.to_owned());
    id
}

/// The text of the method's `Location` template, for the header's description.
fn location_template(pool: &DescriptorPool, binding: &Binding) -> Option<String> {
    let extension = pool.get_extension_by_name(HTTP_RESPONSE_EXTENSION)?;
    let options = binding.method.options();
    if !options.has_extension(&extension) {
        return None;
    }
    let value = options.get_extension(&extension);
    let location = value.as_message()?.get_field_by_name("location")?;
    location
        .as_str()
        .filter(|text| !text.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests;
