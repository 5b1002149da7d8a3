//! A configurable `UserService` that answers from memory: `GetUser` from
//! the users it was given (answering, as metadata, which metadata it saw,
//! see [`seen_metadata`]), `StreamUsers` as its [`StreamMode`] says, every
//! other method UNIMPLEMENTED. For what the real service cannot be made to
//! do on demand (fail mid-stream, stream forever) and for benchmarks that
//! want the service to cost nothing.
//!
//! Self-contained (the benchmarks include this file on its own), so it
//! uses nothing else from `tests/common`.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;

use gateway::proto::users::v1::user_service_server::UserService;
use gateway::proto::users::v1::{
    BulkCreateUsersResponse, CreateUserRequest, DeleteUserRequest, GetUserRequest, GetUserResponse,
    ListUsersRequest, ListUsersResponse, StreamUsersRequest, SyncRequest, SyncResponse, UpdateUserRequest,
    User,
};
use tokio::sync::{Notify, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

/// What `StreamUsers` does.
#[derive(Clone, Copy, Default)]
pub enum StreamMode {
    /// Fails with UNIMPLEMENTED, like the other methods.
    #[default]
    Unimplemented,
    /// Sends two users, then DATA_LOSS.
    FailAfterTwo,
    /// Sends users forever through a bounded channel, and notifies
    /// [`StubService::reader_gone`] once a send fails because the reader is gone.
    Endless,
}

/// See the module documentation.
#[derive(Default)]
pub struct StubService {
    users: HashMap<String, User>,
    stream: StreamMode,
    reader_gone: Arc<Notify>,
}

impl StubService {
    /// Adds `user`, for `GetUser` to answer.
    pub fn with_user(mut self, user: User) -> StubService {
        self.users.insert(user.id.clone(), user);
        self
    }

    pub fn streaming(mut self, mode: StreamMode) -> StubService {
        self.stream = mode;
        self
    }

    /// Notified when an [`StreamMode::Endless`] stream loses its reader.
    pub fn reader_gone(&self) -> Arc<Notify> {
        self.reader_gone.clone()
    }
}

/// What `GetUser` answers as metadata: `seen-keys` (the request's keys,
/// sorted, comma-separated), `seen-forwarded-for` and `seen-forwarded-host`
/// (those values), and `echo-bin` as it came.
pub fn seen_metadata(request: &tonic::metadata::MetadataMap) -> tonic::metadata::MetadataMap {
    use tonic::metadata::KeyRef;
    let mut keys: Vec<&str> = request
        .keys()
        .map(|key| match key {
            KeyRef::Ascii(key) => key.as_str(),
            KeyRef::Binary(key) => key.as_str(),
        })
        .collect();
    keys.sort();
    let mut seen = tonic::metadata::MetadataMap::new();
    if let Ok(value) = keys.join(",").parse() {
        seen.insert("seen-keys", value);
    }
    for (key, answer) in [
        ("x-forwarded-for", "seen-forwarded-for"),
        ("x-forwarded-host", "seen-forwarded-host"),
    ] {
        if let Some(value) = request.get(key) {
            seen.insert(answer, value.clone());
        }
    }
    if let Some(value) = request.get_bin("echo-bin") {
        seen.insert_bin("echo-bin", value.clone());
    }
    seen
}

/// The `n`th user a stub stream sends.
pub fn stub_user(n: usize) -> User {
    User {
        id: format!("stub-{n}"),
        name: format!("Stub {n}"),
        email: format!("stub{n}@example.com"),
        ..Default::default()
    }
}

type StubStream<T> = Pin<Box<dyn futures_util::Stream<Item = Result<T, Status>> + Send>>;

fn unimplemented<T>() -> Result<T, Status> {
    Err(Status::unimplemented("stub"))
}

#[tonic::async_trait]
impl UserService for StubService {
    async fn create_user(&self, _: Request<CreateUserRequest>) -> Result<Response<User>, Status> {
        unimplemented()
    }

    async fn get_user(&self, request: Request<GetUserRequest>) -> Result<Response<GetUserResponse>, Status> {
        let seen = seen_metadata(request.metadata());
        let id = &request.get_ref().id;
        match self.users.get(id) {
            Some(user) => {
                let mut response = Response::new(GetUserResponse {
                    user: Some(user.clone()),
                });
                *response.metadata_mut() = seen;
                Ok(response)
            }
            None => Err(Status::with_metadata(
                tonic::Code::NotFound,
                format!("no stub user {id:?}"),
                seen,
            )),
        }
    }

    async fn list_users(&self, _: Request<ListUsersRequest>) -> Result<Response<ListUsersResponse>, Status> {
        unimplemented()
    }

    async fn update_user(&self, _: Request<UpdateUserRequest>) -> Result<Response<User>, Status> {
        unimplemented()
    }

    async fn delete_user(&self, _: Request<DeleteUserRequest>) -> Result<Response<()>, Status> {
        unimplemented()
    }

    type StreamUsersStream = StubStream<User>;

    async fn stream_users(
        &self,
        _: Request<StreamUsersRequest>,
    ) -> Result<Response<Self::StreamUsersStream>, Status> {
        match self.stream {
            StreamMode::Unimplemented => unimplemented(),
            StreamMode::FailAfterTwo => {
                let items = vec![
                    Ok(stub_user(0)),
                    Ok(stub_user(1)),
                    Err(Status::data_loss("the disk ate user 2")),
                    Ok(stub_user(3)), // never sent: the error ends the stream
                ];
                Ok(Response::new(Box::pin(futures_util::stream::iter(items))))
            }
            StreamMode::Endless => {
                let (sender, receiver) = mpsc::channel(4);
                let reader_gone = self.reader_gone.clone();
                tokio::spawn(async move {
                    for n in 0.. {
                        if sender.send(Ok(stub_user(n))).await.is_err() {
                            reader_gone.notify_one();
                            return;
                        }
                    }
                });
                Ok(Response::new(Box::pin(ReceiverStream::new(receiver))))
            }
        }
    }

    async fn bulk_create_users(
        &self,
        _: Request<Streaming<CreateUserRequest>>,
    ) -> Result<Response<BulkCreateUsersResponse>, Status> {
        unimplemented()
    }

    type SyncUsersStream = StubStream<SyncResponse>;

    async fn sync_users(
        &self,
        _: Request<Streaming<SyncRequest>>,
    ) -> Result<Response<Self::SyncUsersStream>, Status> {
        unimplemented()
    }
}
