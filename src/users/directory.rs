//! [`UserDirectory`]: the users domain over a [`Store`]. It checks
//! requests, assigns ids and timestamps, applies update masks and etag
//! checks, and pages, filters and orders listings; `service` exposes it as
//! `users.v1.UserService` and `streams` adds the streaming calls.

use std::sync::Arc;
use std::time::SystemTime;

use prost::Message as _;

use super::budgets::{Budgets, rows_that_fit};
use super::caller::Caller;
use super::errors::UserError;
use super::filter::{self, Filter};
use super::listing::{ListQuery, OrderBy};
use super::mask::{self, MaskPath};
use super::page_token::{InvalidPageToken, PageTokens};
use super::store::{Store, StoreError, Written};
use super::validation::{Violation, validate_create};
use crate::proto::users::v1::{
    CreateUserRequest, DeleteUserRequest, ListUsersRequest, ListUsersResponse, UpdateUserRequest, User,
};

/// The page size when a request gives none.
const DEFAULT_PAGE_SIZE: usize = 50;
/// The largest page; larger requests are lowered to it.
const MAX_PAGE_SIZE: usize = 1000;

/// The user service over a store; cheap to clone (streams keep a clone).
#[derive(Clone)]
pub(crate) struct UserDirectory {
    pub(super) store: Arc<dyn Store>,
    tokens: PageTokens,
    pub(super) budgets: Budgets,
}

impl UserDirectory {
    /// A service over `store`, signing page tokens with the store's key.
    pub(crate) fn new(store: Arc<dyn Store>) -> Self {
        let tokens = PageTokens::new(store.page_token_key());
        Self {
            store,
            tokens,
            budgets: Budgets::default(),
        }
    }

    /// The same service with these budgets.
    pub(crate) fn with_budgets(self, budgets: Budgets) -> Self {
        Self { budgets, ..self }
    }

    pub(super) async fn create(&self, request: CreateUserRequest) -> Result<User, UserError> {
        let request = validate_create(request).map_err(UserError::invalid_user)?;
        let now = prost_types::Timestamp::from(SystemTime::now());
        let user = User {
            id: uuid::Uuid::now_v7().to_string(),
            name: request.name,
            email: request.email,
            role: request.role,
            // Always present (empty when not given), as it is when read back.
            address: Some(request.address.unwrap_or_default()),
            tags: request.tags,
            metadata: request.metadata,
            created_at: Some(now),
            updated_at: Some(now),
            etag: String::new(),
        };
        match self.store.insert(&user).await {
            Ok(stored) => Ok(stored),
            Err(StoreError::DuplicateEmail) => Err(UserError::EmailTaken { email: user.email }),
            Err(err) => Err(err.into()),
        }
    }

    pub(super) async fn get(&self, id: String) -> Result<User, UserError> {
        require_id(&id, "id")?;
        match self.store.get(&id).await? {
            Some(found) => Ok(found.user),
            None => Err(UserError::NotFound { id }),
        }
    }

    /// Updates a user; a caller that may not change roles (see
    /// [`Caller`]) is refused any update whose mask names `role`.
    pub(super) async fn update(
        &self,
        request: UpdateUserRequest,
        caller: &Caller,
    ) -> Result<User, UserError> {
        let Some(patch) = request.user else {
            return Err(UserError::invalid_field(
                "user is required",
                "user",
                "must be set (the user's new values, with its id)",
            ));
        };
        require_id(&patch.id, "user.id")?;
        let paths = match request.update_mask {
            Some(mask) if !mask.paths.is_empty() => mask::resolve(&mask.paths).map_err(|violations| {
                let summary = violations
                    .iter()
                    .map(|v| v.description.as_str())
                    .collect::<Vec<_>>()
                    .join("; ");
                UserError::InvalidArgument {
                    message: format!("invalid update_mask: {summary}"),
                    violations,
                }
            })?,
            // AIP-134: no mask means "the fields that are populated".
            _ => mask::implied(&patch),
        };
        if !caller.may_change_roles() && paths.contains(&MaskPath::Role) {
            return Err(UserError::PermissionDenied(
                "only an admin may change user.role".to_owned(),
            ));
        }
        let Some(current) = self.store.get(&patch.id).await? else {
            return Err(UserError::NotFound { id: patch.id });
        };
        check_etag(&request.etag, &current.user.etag)?;

        let mut updated = current.user.clone();
        mask::apply(&mut updated, &patch, &paths);
        let valid = validate_create(CreateUserRequest {
            name: updated.name,
            email: updated.email,
            role: updated.role,
            address: updated.address,
            tags: updated.tags,
            metadata: updated.metadata,
        })
        .map_err(|violations| {
            UserError::invalid_user(
                violations
                    .into_iter()
                    .map(|v| Violation::new(&format!("user.{}", v.field), v.description))
                    .collect(),
            )
        })?;
        let updated = User {
            name: valid.name,
            email: valid.email,
            role: valid.role,
            address: Some(valid.address.unwrap_or_default()),
            tags: valid.tags,
            metadata: valid.metadata,
            updated_at: Some(next_updated_at(current.user.updated_at.as_ref())),
            ..current.user
        };
        match self.store.update(&updated, current.revision).await {
            Ok(Written::Done(stored)) => Ok(stored),
            Ok(Written::NotFound) => Err(UserError::NotFound { id: updated.id }),
            Ok(Written::Conflict) => Err(concurrent_write(&updated.id)),
            Err(StoreError::DuplicateEmail) => Err(UserError::EmailTaken { email: updated.email }),
            Err(err) => Err(err.into()),
        }
    }

    pub(super) async fn delete(&self, request: DeleteUserRequest) -> Result<(), UserError> {
        let DeleteUserRequest { id, etag } = request;
        require_id(&id, "id")?;
        let revision = if etag.is_empty() {
            None
        } else {
            let Some(current) = self.store.get(&id).await? else {
                return Err(UserError::NotFound { id });
            };
            check_etag(&etag, &current.user.etag)?;
            Some(current.revision)
        };
        match self.store.delete(&id, revision).await? {
            Written::Done(()) => Ok(()),
            Written::NotFound => Err(UserError::NotFound { id }),
            Written::Conflict => Err(concurrent_write(&id)),
        }
    }

    pub(super) async fn list(&self, request: ListUsersRequest) -> Result<ListUsersResponse, UserError> {
        let limit = page_size(request.page_size)?;
        let (filter, order_by) = parse_query(&request.filter, &request.order_by)?;
        let after = if request.page_token.is_empty() {
            None
        } else {
            let cursor = self
                .tokens
                .decode(&request.page_token, &request.filter, &request.order_by)
                .map_err(|err| UserError::invalid_field(err.to_string(), "page_token", err.to_string()))?;
            if cursor.keys.len() != order_by.keys.len() {
                // Cannot happen for a token we sealed for this order_by.
                return Err(UserError::invalid_field(
                    InvalidPageToken.to_string(),
                    "page_token",
                    InvalidPageToken.to_string(),
                ));
            }
            Some(cursor)
        };
        let page = self
            .store
            .list(ListQuery {
                filter,
                order_by,
                after,
                limit: limit + 1,
                max_bytes: Some(self.budgets.max_page_bytes),
                count_total: true,
            })
            .await?;
        let mut rows = page.rows;
        let kept = rows_that_fit(
            rows.iter().map(|(user, _)| user.encoded_len()),
            limit,
            self.budgets.max_page_bytes,
        );
        let next_page_token = if rows.len() > kept {
            rows.truncate(kept);
            rows.last()
                .map(|(_, cursor)| self.tokens.encode(cursor, &request.filter, &request.order_by))
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(ListUsersResponse {
            total_size: i32::try_from(page.total_size).unwrap_or(i32::MAX),
            users: rows.into_iter().map(|(user, _)| user).collect(),
            next_page_token,
        })
    }
}

/// The parsed `filter` and `order_by` of a listing or a stream.
pub(super) fn parse_query(filter: &str, order_by: &str) -> Result<(Option<Filter>, OrderBy), UserError> {
    let filter = filter::parse(filter)
        .map_err(|err| UserError::invalid_field(err.to_string(), "filter", err.to_string()))?;
    let order_by = OrderBy::parse(order_by).map_err(|problem| {
        UserError::invalid_field(format!("invalid order_by: {problem}"), "order_by", problem)
    })?;
    Ok((filter, order_by))
}

/// A non-empty request etag must be the current one.
fn check_etag(requested: &str, current: &str) -> Result<(), UserError> {
    if requested.is_empty() || requested == current {
        return Ok(());
    }
    Err(UserError::Aborted(format!(
        "etag {requested:?} is stale: the user has changed since that version was read \
         (read it again and retry); nothing was written"
    )))
}

fn concurrent_write(id: &str) -> UserError {
    UserError::Aborted(format!(
        "user {id:?} was changed by a concurrent write; nothing was written (read it again and retry)"
    ))
}

/// Now, but at least one nanosecond after `previous`, so `updated_at`
/// moves strictly forward even if the clock did not (or went back).
fn next_updated_at(previous: Option<&prost_types::Timestamp>) -> prost_types::Timestamp {
    let now = prost_types::Timestamp::from(SystemTime::now());
    let Some(previous) = previous else {
        return now;
    };
    let (mut seconds, mut nanos) = (previous.seconds, previous.nanos + 1);
    if nanos >= 1_000_000_000 {
        seconds += 1;
        nanos -= 1_000_000_000;
    }
    let floor = prost_types::Timestamp { seconds, nanos };
    if (now.seconds, now.nanos) > (floor.seconds, floor.nanos) {
        now
    } else {
        floor
    }
}

fn require_id(id: &str, field: &str) -> Result<(), UserError> {
    if id.is_empty() {
        return Err(UserError::invalid_field(
            format!("{field} must not be empty"),
            field,
            "must not be empty",
        ));
    }
    Ok(())
}

/// The effective page size: 0 means the default, larger than the maximum
/// means the maximum, negative is an error.
fn page_size(requested: i32) -> Result<usize, UserError> {
    match usize::try_from(requested) {
        Ok(0) => Ok(DEFAULT_PAGE_SIZE),
        Ok(size) => Ok(size.min(MAX_PAGE_SIZE)),
        Err(_) => Err(UserError::invalid_field(
            "page_size must not be negative",
            "page_size",
            format!("must not be negative (got {requested})"),
        )),
    }
}
