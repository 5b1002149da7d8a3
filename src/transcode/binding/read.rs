//! Reads the bindings of a descriptor pool: each `google.api.http` rule
//! (and its `additional_bindings`) of each method, with this gateway's
//! `gateway.v1.http_response` option, resolved against the request and
//! response messages. Anything that cannot be served is a [`SetupError`]
//! naming the method.
//!
//! `get: "/v1/{name=shelves/*/books/*}"` on `GetBook(GetBookRequest)` gives a
//! GET binding whose one path variable, over three segments, sets `name`.

use http::{Method, StatusCode};
use prost_reflect::{
    DescriptorPool, DynamicMessage, ExtensionDescriptor, MessageDescriptor, MethodDescriptor,
};

use super::conventions;
use super::fields::{BodySelector, is_singular_scalar, resolve_field_path, singular_message};
use super::header_template::{HeaderTemplate, HeaderTemplateError};
use super::model::{Binding, PathVariable, SuccessResponse};
use crate::transcode::auth::{Access, access_of};
use crate::transcode::interceptor::{CallKind, grpc_path};
use crate::transcode::proto::gateway::v1::HttpResponse;
use crate::transcode::proto::google::api::{HttpRule, http_rule::Pattern};
use crate::transcode::routing::PathTemplate;
use crate::transcode::setup_error::SetupError;

const HTTP_RULE_EXTENSION: &str = "google.api.http";
const HTTP_RESPONSE_EXTENSION: &str = "gateway.v1.http_response";

/// Reads every HTTP binding of every service in the pool.
pub(crate) fn read_bindings(pool: &DescriptorPool) -> Result<Vec<Binding>, SetupError> {
    let Some(http_extension) = pool.get_extension_by_name(HTTP_RULE_EXTENSION) else {
        return Ok(Vec::new());
    };
    let response_extension = pool.get_extension_by_name(HTTP_RESPONSE_EXTENSION);
    let mut bindings = Vec::new();
    for service in pool.services() {
        for method in service.methods() {
            let options = method.options();
            if !options.has_extension(&http_extension) {
                continue;
            }
            let rule: HttpRule = option_message(&method, &options, &http_extension)?;
            let success: HttpResponse = match &response_extension {
                Some(extension) if options.has_extension(extension) => {
                    option_message(&method, &options, extension)?
                }
                _ => HttpResponse::default(),
            };
            let access = access_of(&method)?;
            bindings.push(read_binding(&method, &rule, &success, &access)?);
            for additional in &rule.additional_bindings {
                if !additional.additional_bindings.is_empty() {
                    return Err(bad_option(
                        &method,
                        HTTP_RULE_EXTENSION,
                        "additional_bindings cannot be nested",
                    ));
                }
                bindings.push(read_binding(&method, additional, &success, &access)?);
            }
        }
    }
    Ok(bindings)
}

fn option_message<T: prost::Message + Default>(
    method: &MethodDescriptor,
    options: &DynamicMessage,
    extension: &ExtensionDescriptor,
) -> Result<T, SetupError> {
    match options.get_extension(extension).as_message() {
        Some(message) => message
            .transcode_to()
            .map_err(|error| bad_option(method, extension.full_name(), &format!("unreadable: {error}"))),
        None => Err(bad_option(method, extension.full_name(), "not a message")),
    }
}

fn read_success(
    method: &MethodDescriptor,
    body_message: Option<&MessageDescriptor>,
    option: &HttpResponse,
) -> Result<SuccessResponse, SetupError> {
    let status = match option.status {
        0 => StatusCode::OK,
        code => u16::try_from(code)
            .ok()
            .and_then(|code| StatusCode::from_u16(code).ok())
            .filter(StatusCode::is_success)
            .ok_or_else(|| {
                let reason = format!("status {code} is not a 2xx code");
                bad_option(method, HTTP_RESPONSE_EXTENSION, &reason)
            })?,
    };
    let location = if option.location.is_empty() {
        None
    } else {
        let body_message = body_message.ok_or_else(|| {
            let reason = "location needs a message as the response body";
            bad_option(method, HTTP_RESPONSE_EXTENSION, reason)
        })?;
        let template = HeaderTemplate::parse(&option.location, body_message)
            .map_err(|error| location_error(method, error))?;
        Some(template)
    };
    Ok(SuccessResponse {
        status,
        location,
        // A stream's messages share one set of headers: no per-message ETag.
        etag: body_message
            .filter(|_| !method.is_server_streaming())
            .and_then(conventions::etag_field),
    })
}

fn location_error(method: &MethodDescriptor, error: HeaderTemplateError) -> SetupError {
    const ROLE: &str = "http_response.location";
    let method = method.full_name().to_owned();
    match error {
        HeaderTemplateError::Syntax(reason) => SetupError::BadOption {
            method,
            option: HTTP_RESPONSE_EXTENSION.to_owned(),
            reason,
        },
        HeaderTemplateError::UnknownField(path, reason) => SetupError::UnknownField {
            method,
            role: ROLE,
            path,
            reason,
        },
        HeaderTemplateError::NotScalar(path) => SetupError::UnsupportedField {
            method,
            role: ROLE,
            path,
            reason: "a placeholder must be a singular scalar field".to_owned(),
        },
    }
}

/// The message the HTTP response body holds: the output, or its
/// `response_body` field when that is a singular message.
fn response_message(method: &MethodDescriptor, response_body: &str) -> Option<MessageDescriptor> {
    let output = method.output();
    if response_body.is_empty() {
        return Some(output);
    }
    singular_message(&output.get_field_by_name(response_body)?)
}

fn http_method_and_template<'r>(
    method: &MethodDescriptor,
    rule: &'r HttpRule,
) -> Result<(Method, &'r str), SetupError> {
    Ok(match &rule.pattern {
        Some(Pattern::Get(path)) => (Method::GET, path),
        Some(Pattern::Put(path)) => (Method::PUT, path),
        Some(Pattern::Post(path)) => (Method::POST, path),
        Some(Pattern::Delete(path)) => (Method::DELETE, path),
        Some(Pattern::Patch(path)) => (Method::PATCH, path),
        Some(Pattern::Custom(custom)) => {
            let http_method = Method::from_bytes(custom.kind.as_bytes()).map_err(|_| {
                let reason = format!("invalid custom method {:?}", custom.kind);
                bad_option(method, HTTP_RULE_EXTENSION, &reason)
            })?;
            (http_method, &custom.path)
        }
        None => return Err(bad_option(method, HTTP_RULE_EXTENSION, "the rule has no pattern")),
    })
}

fn read_binding(
    method: &MethodDescriptor,
    rule: &HttpRule,
    success_option: &HttpResponse,
    access: &Access,
) -> Result<Binding, SetupError> {
    let body_message = response_message(method, &rule.response_body);
    let success = read_success(method, body_message.as_ref(), success_option)?;
    let (http_method, template_text) = http_method_and_template(method, rule)?;
    let template = PathTemplate::parse(template_text).map_err(|error| SetupError::Template {
        method: method.full_name().to_owned(),
        template: error.template,
        position: error.position,
        reason: error.message,
    })?;
    let input = method.input();
    let (_, spans) = template.flatten();
    let mut bound_fields = Vec::new();
    let mut path_variables = Vec::new();
    for span in spans {
        let path = span.field_path.join(".");
        let field =
            resolve_field_path(&input, &span.field_path).map_err(|reason| SetupError::UnknownField {
                method: method.full_name().to_owned(),
                role: "path variable",
                path: path.clone(),
                reason,
            })?;
        if !is_singular_scalar(field.leaf()) {
            return Err(SetupError::UnsupportedField {
                method: method.full_name().to_owned(),
                role: "path variable",
                path,
                reason: "a path variable must be a singular scalar field".to_owned(),
            });
        }
        bound_fields.push(path);
        path_variables.push(PathVariable { span, field });
    }
    let body = read_body_selector(method, &input, &rule.body)?;
    if let BodySelector::Field(field) = &body {
        bound_fields.push(field.name().to_owned());
    }
    let response_body = match rule.response_body.as_str() {
        "" => None,
        name => Some(top_level_field(method, &method.output(), name, "response_body")?),
    };
    Ok(Binding {
        grpc_path: grpc_path(method),
        kind: CallKind::of(method),
        route: template_text.into(),
        update_mask: conventions::update_mask(&http_method, &input, &body),
        if_match: conventions::etag_field(&input),
        access: access.clone(),
        method: method.clone(),
        http_method,
        template,
        path_variables,
        body,
        response_body,
        body_message,
        success,
        bound_fields,
    })
}

fn read_body_selector(
    method: &MethodDescriptor,
    input: &MessageDescriptor,
    body: &str,
) -> Result<BodySelector, SetupError> {
    Ok(match body {
        "" => BodySelector::None,
        "*" => BodySelector::Whole,
        name => BodySelector::Field(top_level_field(method, input, name, "body")?),
    })
}

/// The top-level field `name` of `message`, which `body` or
/// `response_body` (the `role`) names.
fn top_level_field(
    method: &MethodDescriptor,
    message: &MessageDescriptor,
    name: &str,
    role: &'static str,
) -> Result<prost_reflect::FieldDescriptor, SetupError> {
    if name.contains('.') {
        let reason = format!("{role} must name a top-level field of {}", message.full_name());
        let method = method.full_name().to_owned();
        return Err(match role {
            "body" => SetupError::UnsupportedBody { method, reason },
            _ => SetupError::UnsupportedResponseBody { method, reason },
        });
    }
    message
        .get_field_by_name(name)
        .ok_or_else(|| SetupError::UnknownField {
            method: method.full_name().to_owned(),
            role,
            path: name.to_owned(),
            reason: format!("{} has no field {name:?}", message.full_name()),
        })
}

fn bad_option(method: &MethodDescriptor, option: &str, reason: &str) -> SetupError {
    SetupError::BadOption {
        method: method.full_name().to_owned(),
        option: option.to_owned(),
        reason: reason.to_owned(),
    }
}
