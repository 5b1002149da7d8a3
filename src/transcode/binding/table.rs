//! The validated bindings of a descriptor pool and their route table,
//! built once at start and shared by the gateway and the OpenAPI document.
//! Duplicate routes are found here, naming both methods.

use std::sync::Arc;

use prost_reflect::DescriptorPool;

use super::model::Binding;
use super::read::read_bindings;
use crate::transcode::proto::with_engine_types;
use crate::transcode::routing::{Router, RouterBuilder};
use crate::transcode::setup_error::SetupError;

/// Every HTTP binding of a descriptor pool, validated, with its route
/// table: read once at start and shared by the gateway and the OpenAPI
/// document. Cheap to clone.
#[derive(Clone)]
pub struct Bindings {
    pub(crate) pool: DescriptorPool,
    pub(crate) list: Arc<[Arc<Binding>]>,
    pub(crate) router: Arc<Router<Arc<Binding>>>,
}

impl Bindings {
    /// Reads and checks every `google.api.http` binding in `pool`: bad
    /// templates, unknown or unfit fields, bad options and duplicate routes
    /// fail here, each naming its method.
    pub fn read(pool: &DescriptorPool) -> Result<Self, SetupError> {
        let pool = with_engine_types(pool);
        let list: Vec<Arc<Binding>> = read_bindings(&pool)?.into_iter().map(Arc::new).collect();
        let mut builder = RouterBuilder::new();
        for (index, binding) in list.iter().enumerate() {
            let (segments, _) = binding.template.flatten();
            let verb = binding.template.verb.as_deref();
            if let Err(duplicate) =
                builder.insert(binding.http_method.clone(), &segments, verb, binding.clone())
            {
                let existing = list[..index]
                    .iter()
                    .find(|earlier| same_route(earlier, binding))
                    .map_or_else(String::new, |earlier| earlier.method.full_name().to_owned());
                return Err(SetupError::DuplicateRoute {
                    method: binding.method.full_name().to_owned(),
                    route: format!("{} {}", duplicate.method, duplicate.shape),
                    existing,
                });
            }
        }
        Ok(Bindings {
            pool,
            list: list.into(),
            router: Arc::new(builder.build()),
        })
    }

    /// The descriptor pool the bindings were read from.
    pub fn pool(&self) -> &DescriptorPool {
        &self.pool
    }

    /// How many bindings (routes) there are.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether the pool has no HTTP bindings at all.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// Whether two bindings have the same HTTP method, path shape and verb.
fn same_route(a: &Binding, b: &Binding) -> bool {
    a.http_method == b.http_method
        && a.template.verb == b.template.verb
        && a.template.flatten().0 == b.template.flatten().0
}
