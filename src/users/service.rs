//! The `users.v1.UserService` implementation: the tonic trait, each method
//! a thin call into [`UserDirectory`] (unary) or its streams, with domain
//! errors mapped to `tonic::Status`.

use tonic::{Request, Response, Status, Streaming};

use super::audit;
use super::caller::Caller;
use super::directory::UserDirectory;
use super::errors::UserError;
use super::streams::ResponseStream;
use crate::proto::users::v1::user_service_server::UserService;
use crate::proto::users::v1::{
    BulkCreateUsersResponse, CreateUserRequest, DeleteUserRequest, GetUserRequest, GetUserResponse,
    ListUsersRequest, ListUsersResponse, StreamUsersRequest, SyncRequest, SyncResponse, UpdateUserRequest,
    User,
};

/// The code a write ended with, for the audit trail.
pub(super) fn outcome<T>(result: &Result<T, UserError>) -> tonic::Code {
    result.as_ref().map_or_else(UserError::code, |_| tonic::Code::Ok)
}

#[tonic::async_trait]
impl UserService for UserDirectory {
    async fn create_user(&self, request: Request<CreateUserRequest>) -> Result<Response<User>, Status> {
        let caller = Caller::of(request.extensions());
        let created = self.create(request.into_inner()).await;
        let id = created.as_ref().map_or("-", |user| user.id.as_str());
        audit::write(&caller, "CreateUser", id, outcome(&created));
        Ok(Response::new(created?))
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

    async fn update_user(&self, request: Request<UpdateUserRequest>) -> Result<Response<User>, Status> {
        let caller = Caller::of(request.extensions());
        let request = request.into_inner();
        let id = request
            .user
            .as_ref()
            .map_or("", |user| user.id.as_str())
            .to_owned();
        let updated = self.update(request, &caller).await;
        audit::write(&caller, "UpdateUser", &id, outcome(&updated));
        Ok(Response::new(updated?))
    }

    async fn delete_user(&self, request: Request<DeleteUserRequest>) -> Result<Response<()>, Status> {
        let caller = Caller::of(request.extensions());
        let request = request.into_inner();
        let id = request.id.clone();
        let deleted = self.delete(request).await;
        audit::write(&caller, "DeleteUser", &id, outcome(&deleted));
        deleted?;
        Ok(Response::new(()))
    }

    type StreamUsersStream = ResponseStream<User>;

    async fn stream_users(
        &self,
        request: Request<StreamUsersRequest>,
    ) -> Result<Response<Self::StreamUsersStream>, Status> {
        Ok(Response::new(self.users_stream(request.into_inner())?))
    }

    async fn bulk_create_users(
        &self,
        request: Request<Streaming<CreateUserRequest>>,
    ) -> Result<Response<BulkCreateUsersResponse>, Status> {
        let caller = Caller::of(request.extensions());
        Ok(Response::new(
            self.bulk_create(request.into_inner(), &caller).await?,
        ))
    }

    type SyncUsersStream = ResponseStream<SyncResponse>;

    async fn sync_users(
        &self,
        request: Request<Streaming<SyncRequest>>,
    ) -> Result<Response<Self::SyncUsersStream>, Status> {
        let caller = Caller::of(request.extensions());
        Ok(Response::new(self.sync(request.into_inner(), caller)))
    }
}
