//! The `users.v1.UserService` implementation: the tonic trait, each method
//! a thin call into [`UserDirectory`] (unary) or its streams, with domain
//! errors mapped to `tonic::Status`.

use tonic::{Request, Response, Status, Streaming};

use super::directory::UserDirectory;
use super::streams::ResponseStream;
use crate::proto::users::v1::user_service_server::UserService;
use crate::proto::users::v1::{
    BulkCreateUsersResponse, CreateUserRequest, DeleteUserRequest, GetUserRequest, GetUserResponse,
    ListUsersRequest, ListUsersResponse, StreamUsersRequest, SyncRequest, SyncResponse, UpdateUserRequest,
    User,
};

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

    async fn update_user(&self, request: Request<UpdateUserRequest>) -> Result<Response<User>, Status> {
        Ok(Response::new(self.update(request.into_inner()).await?))
    }

    async fn delete_user(&self, request: Request<DeleteUserRequest>) -> Result<Response<()>, Status> {
        self.delete(request.into_inner()).await?;
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
        Ok(Response::new(self.bulk_create(request.into_inner()).await?))
    }

    type SyncUsersStream = ResponseStream<SyncResponse>;

    async fn sync_users(
        &self,
        request: Request<Streaming<SyncRequest>>,
    ) -> Result<Response<Self::SyncUsersStream>, Status> {
        Ok(Response::new(self.sync(request.into_inner())))
    }
}
