//! The route table: a trie over path segments (literal children first, then
//! `*`, then `**`) whose leaves are keyed by verb and HTTP method. It is
//! generic over its payload; the builder rejects duplicate routes and the
//! built table is immutable. One lookup answers match, 404 or 405 (with the
//! methods for `Allow`).
//!
//! ```text
//! /v1/users            GET, POST
//! /v1/users/*          GET, DELETE, PATCH
//! /v1/users  :stream   GET
//! ```

use std::collections::HashMap;

use http::Method;

use super::template::MatchSegment;

/// A route table under construction.
pub(crate) struct RouterBuilder<T> {
    root: Node<T>,
}

/// The immutable route table.
pub(crate) struct Router<T> {
    root: Node<T>,
}

struct Node<T> {
    literals: HashMap<String, Node<T>>,
    single: Option<Box<Node<T>>>,
    multi: Option<Box<Node<T>>>,
    endpoints: Vec<Endpoint<T>>,
}

struct Endpoint<T> {
    verb: Option<String>,
    method: Method,
    payload: T,
}

/// The outcome of a lookup.
#[derive(Debug, PartialEq)]
pub(crate) enum Lookup<'r, 'p, T> {
    /// The route and the path's segments (verb removed), for variable capture.
    Found {
        payload: &'r T,
        segments: Vec<&'p str>,
    },
    /// The path exists, but not for this method.
    MethodNotAllowed {
        allow: Vec<Method>,
    },
    NotFound,
}

/// Two bindings claim the same method, path shape and verb.
#[derive(Debug, thiserror::Error)]
#[error("duplicate route {method} {shape}")]
pub(crate) struct DuplicateRoute {
    pub(crate) method: Method,
    pub(crate) shape: String,
}

impl<T> Default for Node<T> {
    fn default() -> Self {
        Node {
            literals: HashMap::new(),
            single: None,
            multi: None,
            endpoints: Vec::new(),
        }
    }
}

impl<T> RouterBuilder<T> {
    pub(crate) fn new() -> Self {
        RouterBuilder {
            root: Node::default(),
        }
    }

    /// Adds a route; `segments` come from `PathTemplate::flatten`.
    pub(crate) fn insert(
        &mut self,
        method: Method,
        segments: &[MatchSegment],
        verb: Option<&str>,
        payload: T,
    ) -> Result<(), DuplicateRoute> {
        let mut node = &mut self.root;
        for segment in segments {
            node = match segment {
                MatchSegment::Literal(text) => node.literals.entry(text.clone()).or_default(),
                MatchSegment::Single => node.single.get_or_insert_with(Default::default),
                MatchSegment::Multi => node.multi.get_or_insert_with(Default::default),
            };
        }
        let taken = node
            .endpoints
            .iter()
            .any(|endpoint| endpoint.method == method && endpoint.verb.as_deref() == verb);
        if taken {
            return Err(DuplicateRoute {
                method,
                shape: describe_shape(segments, verb),
            });
        }
        node.endpoints.push(Endpoint {
            verb: verb.map(str::to_owned),
            method,
            payload,
        });
        Ok(())
    }

    pub(crate) fn build(self) -> Router<T> {
        Router { root: self.root }
    }
}

fn describe_shape(segments: &[MatchSegment], verb: Option<&str>) -> String {
    let mut shape = String::new();
    for segment in segments {
        shape.push('/');
        shape.push_str(match segment {
            MatchSegment::Literal(text) => text,
            MatchSegment::Single => "*",
            MatchSegment::Multi => "**",
        });
    }
    if let Some(verb) = verb {
        shape.push(':');
        shape.push_str(verb);
    }
    shape
}

impl<T> Router<T> {
    /// Looks up `method path` (the path without its query string).
    pub(crate) fn lookup<'r, 'p>(&'r self, method: &Method, path: &'p str) -> Lookup<'r, 'p, T> {
        self.walk(Some(method), path)
    }

    /// Every method served at `path`, sorted (empty when no route has
    /// its shape): what `Allow` and a CORS preflight list.
    pub(crate) fn methods(&self, path: &str) -> Vec<Method> {
        match self.walk(None, path) {
            Lookup::MethodNotAllowed { allow } => allow,
            Lookup::Found { .. } | Lookup::NotFound => Vec::new(),
        }
    }

    /// One lookup; with no `method`, nothing is found and every method at
    /// the path is collected.
    fn walk<'r, 'p>(&'r self, method: Option<&Method>, path: &'p str) -> Lookup<'r, 'p, T> {
        let Some(rest) = path.strip_prefix('/') else {
            return Lookup::NotFound;
        };
        let mut segments: Vec<&'p str> = rest.split('/').collect();
        let mut allow = Vec::new();

        // A `:verb` suffix on the last segment is tried first, then the
        // segment as a whole (an id may contain a colon).
        let last = segments.len() - 1;
        if let Some((head, verb)) = segments[last].rsplit_once(':') {
            let whole = segments[last];
            segments[last] = head;
            let mut search = Search::new(method, Some(verb), &mut allow);
            if let Some(payload) = search.node(&self.root, &segments, 0) {
                return Lookup::Found { payload, segments };
            }
            segments[last] = whole;
        }
        let mut search = Search::new(method, None, &mut allow);
        if let Some(payload) = search.node(&self.root, &segments, 0) {
            return Lookup::Found { payload, segments };
        }
        if allow.is_empty() {
            Lookup::NotFound
        } else {
            allow.sort_by(|a, b| a.as_str().cmp(b.as_str()));
            allow.dedup();
            Lookup::MethodNotAllowed { allow }
        }
    }
}

/// One depth-first walk; records the methods of path matches whose method
/// differs, so the same walk answers 405.
struct Search<'a> {
    /// None: match no method, collect them all.
    method: Option<&'a Method>,
    verb: Option<&'a str>,
    allow: &'a mut Vec<Method>,
}

impl<'a> Search<'a> {
    fn new(method: Option<&'a Method>, verb: Option<&'a str>, allow: &'a mut Vec<Method>) -> Self {
        Search { method, verb, allow }
    }

    fn node<'r, T>(&mut self, node: &'r Node<T>, segments: &[&str], index: usize) -> Option<&'r T> {
        if index == segments.len() {
            if let Some(found) = self.endpoints(node) {
                return Some(found);
            }
        } else {
            let segment = segments[index];
            if let Some(found) = node
                .literals
                .get(segment)
                .and_then(|child| self.node(child, segments, index + 1))
            {
                return Some(found);
            }
            if !segment.is_empty()
                && let Some(found) = node
                    .single
                    .as_deref()
                    .and_then(|child| self.node(child, segments, index + 1))
            {
                return Some(found);
            }
        }
        let rest_is_valid = segments[index..].iter().all(|segment| !segment.is_empty());
        match node.multi.as_deref() {
            Some(multi) if rest_is_valid => self.endpoints(multi),
            _ => None,
        }
    }

    fn endpoints<'r, T>(&mut self, node: &'r Node<T>) -> Option<&'r T> {
        let mut found = None;
        for endpoint in node.endpoints.iter().filter(|e| e.verb.as_deref() == self.verb) {
            if self.method == Some(&endpoint.method) {
                found = Some(&endpoint.payload);
            } else {
                self.allow.push(endpoint.method.clone());
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcode::routing::PathTemplate;

    fn table(routes: &[(&str, &'static str)]) -> Router<&'static str> {
        let mut builder = RouterBuilder::new();
        for (route, name) in routes {
            let (method, template) = route.split_once(' ').unwrap();
            let parsed = PathTemplate::parse(template).unwrap();
            let (segments, _) = parsed.flatten();
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            builder
                .insert(method, &segments, parsed.verb.as_deref(), *name)
                .unwrap();
        }
        builder.build()
    }

    fn outcome(router: &Router<&'static str>, request: &str) -> String {
        let (method, path) = request.split_once(' ').unwrap();
        match router.lookup(&Method::from_bytes(method.as_bytes()).unwrap(), path) {
            Lookup::Found { payload, segments } => format!("{payload} {}", segments.join("|")),
            Lookup::MethodNotAllowed { allow } => {
                let names: Vec<_> = allow.iter().map(Method::as_str).collect();
                format!("405 {}", names.join(","))
            }
            Lookup::NotFound => "404".to_owned(),
        }
    }

    #[test]
    fn lookups_answer_match_404_and_405() {
        let router = table(&[
            ("GET /v1/users", "list"),
            ("POST /v1/users", "create"),
            ("GET /v1/users/{id}", "get"),
            ("DELETE /v1/users/{id}", "delete"),
            ("GET /v1/users/me", "me"),
            ("GET /v1/users:stream", "stream"),
            ("POST /v1/users:bulkCreate", "bulk"),
            ("GET /v1/{name=shelves/*/books/*}", "book"),
            ("GET /v1/{name=files/**}", "file"),
            ("POST /v1/{name=files/**}:copy", "copy"),
        ]);
        let cases = [
            ("GET /v1/users", "list v1|users"),
            ("POST /v1/users", "create v1|users"),
            ("GET /v1/users/42", "get v1|users|42"),
            ("DELETE /v1/users/42", "delete v1|users|42"),
            ("GET /v1/users/me", "me v1|users|me"),
            ("DELETE /v1/users/me", "delete v1|users|me"),
            ("GET /v1/users:stream", "stream v1|users"),
            ("POST /v1/users:bulkCreate", "bulk v1|users"),
            ("GET /v1/users/a:b", "get v1|users|a:b"),
            ("GET /v1/shelves/1/books/2", "book v1|shelves|1|books|2"),
            ("GET /v1/files", "file v1|files"),
            ("GET /v1/files/a/b/c", "file v1|files|a|b|c"),
            ("POST /v1/files/a/b:copy", "copy v1|files|a|b"),
            ("PUT /v1/users", "405 GET,POST"),
            ("PATCH /v1/users/42", "405 DELETE,GET"),
            ("POST /v1/users:stream", "405 GET"),
            ("GET /v1/users/42/x", "404"),
            ("GET /v1/users/", "404"),
            ("GET /v1/shelves/1/books", "404"),
            ("GET /v1/files//a", "404"),
            ("GET /v2/users", "404"),
            ("GET /", "404"),
            ("GET v1/users", "404"),
            ("GET /v1/users:unknown", "404"),
        ];
        for (request, expected) in cases {
            assert_eq!(outcome(&router, request), expected, "{request}");
        }
    }

    #[test]
    fn methods_lists_every_method_at_a_path() {
        let router = table(&[
            ("GET /v1/users", "list"),
            ("POST /v1/users", "create"),
            ("GET /v1/users/{id}", "get"),
            ("DELETE /v1/users/{id}", "delete"),
            ("GET /v1/users:stream", "stream"),
            ("POST /v1/{name=files/**}:copy", "copy"),
        ]);
        let cases: [(&str, &[&str]); 6] = [
            ("/v1/users", &["GET", "POST"]),
            ("/v1/users/42", &["DELETE", "GET"]),
            ("/v1/users:stream", &["GET"]),
            ("/v1/files/a/b:copy", &["POST"]),
            ("/v1/nowhere", &[]),
            ("v1/users", &[]),
        ];
        for (path, expected) in cases {
            let methods = router.methods(path);
            let names: Vec<&str> = methods.iter().map(Method::as_str).collect();
            assert_eq!(names, expected, "{path}");
        }
    }

    #[test]
    fn duplicate_routes_are_rejected() {
        let mut builder = RouterBuilder::new();
        let parsed = PathTemplate::parse("/v1/users/{id}").unwrap();
        let (segments, _) = parsed.flatten();
        builder.insert(Method::GET, &segments, None, 1).unwrap();
        builder.insert(Method::POST, &segments, None, 2).unwrap();
        let other = PathTemplate::parse("/v1/users/{name}").unwrap().flatten().0;
        let error = builder.insert(Method::GET, &other, None, 3).unwrap_err();
        assert_eq!(error.to_string(), "duplicate route GET /v1/users/*");
    }
}
