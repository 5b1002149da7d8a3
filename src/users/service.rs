//! [`UserDirectory`]: the `users.v1.UserService` implementation. It checks
//! requests, assigns ids and timestamps, pages listings, and leaves storage
//! to a [`Store`].

use std::sync::Arc;
use std::time::SystemTime;

use tonic::{Request, Response, Status};

use super::errors::UserError;
use super::page_token::PageTokens;
use super::store::{Store, StoreError};
use super::validation::validate_create;
use crate::proto::users::v1::user_service_server::UserService;
use crate::proto::users::v1::{
    CreateUserRequest, DeleteUserRequest, GetUserRequest, GetUserResponse, ListUsersRequest,
    ListUsersResponse, UpdateUserRequest, User,
};

/// The page size when a request gives none.
const DEFAULT_PAGE_SIZE: usize = 50;
/// The largest page; larger requests are lowered to it.
const MAX_PAGE_SIZE: usize = 1000;

/// The user service over a store.
pub(crate) struct UserDirectory {
    store: Arc<dyn Store>,
    tokens: PageTokens,
}

impl UserDirectory {
    /// A service over `store`, signing page tokens with the store's key.
    pub(crate) fn new(store: Arc<dyn Store>) -> Self {
        let tokens = PageTokens::new(store.page_token_key());
        Self { store, tokens }
    }

    async fn create(&self, request: CreateUserRequest) -> Result<User, UserError> {
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
            Ok(()) => Ok(user),
            Err(StoreError::DuplicateEmail) => Err(UserError::EmailTaken { email: user.email }),
            Err(err) => Err(err.into()),
        }
    }

    async fn get(&self, id: String) -> Result<User, UserError> {
        require_id(&id)?;
        self.store.get(&id).await?.ok_or(UserError::NotFound { id })
    }

    async fn delete(&self, id: String) -> Result<(), UserError> {
        require_id(&id)?;
        if self.store.delete(&id).await? {
            Ok(())
        } else {
            Err(UserError::NotFound { id })
        }
    }

    async fn list(&self, request: ListUsersRequest) -> Result<ListUsersResponse, UserError> {
        let limit = page_size(request.page_size)?;
        let after = if request.page_token.is_empty() {
            None
        } else {
            Some(self.tokens.decode(&request.page_token).map_err(|err| {
                UserError::invalid_field(
                    err.to_string(),
                    "page_token",
                    "is not a token from a previous ListUsers response, or was altered",
                )
            })?)
        };
        let mut users = self.store.list_after(after.as_deref(), limit + 1).await?;
        let next_page_token = if users.len() > limit {
            users.truncate(limit);
            users
                .last()
                .map(|last| self.tokens.encode(&last.id))
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(ListUsersResponse {
            total_size: 0,
            users,
            next_page_token,
        })
    }
}

fn require_id(id: &str) -> Result<(), UserError> {
    if id.is_empty() {
        return Err(UserError::invalid_field(
            "id must not be empty",
            "id",
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

#[tonic::async_trait]
impl UserService for UserDirectory {
    async fn create_user(&self, request: Request<CreateUserRequest>) -> Result<Response<User>, Status> {
        Ok(Response::new(self.create(request.into_inner()).await?))
    }

    async fn get_user(&self, request: Request<GetUserRequest>) -> Result<Response<GetUserResponse>, Status> {
        let user = self.get(request.into_inner().id).await?;
        Ok(Response::new(GetUserResponse { user: Some(user) }))
    }

    async fn list_users(
        &self,
        request: Request<ListUsersRequest>,
    ) -> Result<Response<ListUsersResponse>, Status> {
        Ok(Response::new(self.list(request.into_inner()).await?))
    }

    async fn update_user(&self, _request: Request<UpdateUserRequest>) -> Result<Response<User>, Status> {
        Err(Status::unimplemented("UpdateUser is not implemented yet"))
    }

    async fn delete_user(&self, request: Request<DeleteUserRequest>) -> Result<Response<()>, Status> {
        self.delete(request.into_inner().id).await?;
        Ok(Response::new(()))
    }
}
