//! A `SyncUsers` bidi stream over gRPC driven one request at a time: open
//! it, send a request and wait for its answer.

use gateway::proto::users::v1::sync_request::Operation;
use gateway::proto::users::v1::user_service_client::UserServiceClient;
use gateway::proto::users::v1::{SyncRequest, SyncResponse, User};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::codec::Streaming;
use tonic::transport::Channel;

use super::guard::guarded;

/// An open `SyncUsers` call: where requests go, where answers come from.
pub struct SyncCall {
    pub requests: mpsc::Sender<SyncRequest>,
    pub responses: Streaming<SyncResponse>,
}

impl SyncCall {
    /// Opens the call (answered with its headers before any request).
    pub async fn open(client: &mut UserServiceClient<Channel>) -> SyncCall {
        let (requests, receiver) = mpsc::channel(1);
        let responses = guarded("SyncUsers", client.sync_users(ReceiverStream::new(receiver)))
            .await
            .expect("SyncUsers")
            .into_inner();
        SyncCall { requests, responses }
    }

    /// Sends `request` and waits for its answer before returning it.
    pub async fn round_trip(&mut self, request: SyncRequest) -> SyncResponse {
        self.requests
            .send(request)
            .await
            .expect("the request stream is open");
        guarded("a sync answer", self.responses.message())
            .await
            .expect("a sync answer")
            .expect("the sync stream is still open")
    }
}

pub fn upsert(user: User) -> SyncRequest {
    SyncRequest {
        operation: Some(Operation::Upsert(user)),
    }
}
