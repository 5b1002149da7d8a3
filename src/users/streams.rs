//! The streaming RPCs of [`UserDirectory`]: `StreamUsers` (server stream),
//! `BulkCreateUsers` (client stream) and `SyncUsers` (bidirectional).
//!
//! Responses go through a channel under the stream's send budget
//! (`send_budget`), so a slow reader slows the producer instead of growing
//! memory, a stalled one ends the stream, and a reader that goes away stops
//! the work at the next message. `StreamUsers` reads its pages under the
//! same budget in bytes.

use std::pin::Pin;

use futures_util::future::join_all;
use futures_util::{FutureExt as _, Stream};
use prost::Message as _;
use tonic::{Status, Streaming};
use tracing::Instrument as _;

use super::audit;
use super::caller::Caller;
use super::directory::{UserDirectory, parse_query};
use super::errors::{UserError, rpc_status};
use super::listing::ListQuery;
use super::send_budget::budgeted_channel;
use super::service::outcome as outcome_code;
use crate::proto::users::v1::sync_request::Operation;
use crate::proto::users::v1::{
    BulkCreateFailure, BulkCreateUsersResponse, CreateUserRequest, DeleteUserRequest, StreamUsersRequest,
    SyncRequest, SyncResponse, SyncStatus, UpdateUserRequest, User,
};

/// Users read from the store per round trip while streaming (fewer when
/// they pass the stream's send budget in bytes).
const STREAM_PAGE: usize = 256;
/// The most `BulkCreateUsers` requests created together.
const BULK_BATCH: usize = 256;

/// A boxed response stream, as the generated service trait wants it.
pub(crate) type ResponseStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

impl UserDirectory {
    /// Streams every matching user; a bad filter or order fails the call
    /// before the first message.
    pub(super) fn users_stream(
        &self,
        request: StreamUsersRequest,
    ) -> Result<ResponseStream<User>, UserError> {
        let (filter, order_by) = parse_query(&request.filter, &request.order_by)?;
        let (sender, stream) = budgeted_channel(&self.budgets);
        let store = self.store.clone();
        let max_bytes = self.budgets.stream_send_bytes;
        tokio::spawn(async move {
            let mut query = ListQuery {
                filter,
                order_by,
                after: None,
                limit: STREAM_PAGE,
                max_bytes: Some(max_bytes),
                count_total: false,
            };
            loop {
                let page = match store.list(query.clone()).await {
                    Ok(page) => page,
                    Err(error) => {
                        let _ = sender.send(Err(UserError::from(error).into())).await;
                        return;
                    }
                };
                // A page cut short by its bytes is not the last.
                let page_bytes: usize = page.rows.iter().map(|(user, _)| user.encoded_len()).sum();
                let last_page = page.rows.len() < STREAM_PAGE && page_bytes <= max_bytes;
                for (user, cursor) in page.rows {
                    if let Err(stopped) = sender.send(Ok(user)).await {
                        tracing::debug!(?stopped, "StreamUsers stopped: its reader went away or stalled");
                        return;
                    }
                    query.after = Some(cursor);
                }
                if last_page {
                    return;
                }
            }
        });
        Ok(stream)
    }

    /// Creates a user per request; failures are reported by index. The
    /// requests already received are taken together (up to
    /// [`BULK_BATCH`]) and created at once, so the writer commits them in
    /// one group and the stream is read again soon: HTTP/2 counts each
    /// small frame left unread against the connection (see
    /// `serving/connection.rs`). Within a batch the creates reach the
    /// writer in request order, so of two requests with one email the
    /// first still wins.
    pub(super) async fn bulk_create(
        &self,
        mut requests: Streaming<CreateUserRequest>,
        caller: &Caller,
    ) -> Result<BulkCreateUsersResponse, Status> {
        let mut response = BulkCreateUsersResponse::default();
        let mut index = 0;
        let mut batch = Vec::with_capacity(BULK_BATCH);
        // (A stream is not read again once it has ended.)
        let mut ended = false;
        while !ended && let Some(request) = requests.message().await? {
            batch.push(request);
            while batch.len() < BULK_BATCH {
                match requests.message().now_or_never() {
                    Some(Ok(Some(request))) => batch.push(request),
                    Some(Ok(None)) => {
                        ended = true;
                        break;
                    }
                    Some(Err(status)) => return Err(status),
                    None => break,
                }
            }
            let created = join_all(batch.drain(..).map(|request| self.create(request))).await;
            for result in created {
                let id = result.as_ref().map_or("-", |user| user.id.as_str());
                audit::write(caller, "BulkCreateUsers", id, outcome_code(&result));
                match result {
                    Ok(_) => response.created_count += 1,
                    Err(error) => response.failures.push(BulkCreateFailure {
                        index,
                        status: Some(rpc_status(&error.into())),
                    }),
                }
                index += 1;
            }
        }
        Ok(response)
    }

    /// Applies each request as it arrives and answers it at once.
    pub(super) fn sync(
        &self,
        mut requests: Streaming<SyncRequest>,
        caller: Caller,
    ) -> ResponseStream<SyncResponse> {
        let (sender, stream) = budgeted_channel(&self.budgets);
        let directory = self.clone();
        // The task's lines (the audit's) belong to the call.
        let span = tracing::Span::current();
        let task = async move {
            let mut index = 0;
            loop {
                let request = match requests.message().await {
                    Ok(Some(request)) => request,
                    Ok(None) => return,
                    Err(status) => {
                        let _ = sender.send(Err(status)).await;
                        return;
                    }
                };
                let answer = directory.apply(index, request, &caller).await;
                if let Err(stopped) = sender.send(Ok(answer)).await {
                    tracing::debug!(?stopped, "SyncUsers stopped: its client went away or stalled");
                    return;
                }
                index += 1;
            }
        };
        tokio::spawn(task.instrument(span));
        stream
    }

    async fn apply(&self, index: i32, request: SyncRequest, caller: &Caller) -> SyncResponse {
        let (id, outcome) = match request.operation {
            Some(Operation::Upsert(user)) => {
                let id = user.id.clone();
                (id, self.upsert(user, caller).await)
            }
            Some(Operation::DeleteId(id)) => {
                let deleted = self
                    .delete(DeleteUserRequest {
                        id: id.clone(),
                        etag: String::new(),
                    })
                    .await;
                (id, deleted.map(|()| (SyncStatus::Deleted, None)))
            }
            None => (
                String::new(),
                Err(UserError::invalid_field(
                    "operation is required: set upsert or delete_id",
                    "operation",
                    "must be set",
                )),
            ),
        };
        let written = match &outcome {
            Ok((_, Some(user))) => user.id.as_str(),
            _ => id.as_str(),
        };
        audit::write(caller, "SyncUsers", written, outcome_code(&outcome));
        match outcome {
            Ok((status, user)) => SyncResponse {
                index,
                id: user.as_ref().map_or(id, |user| user.id.clone()),
                status: status as i32,
                error: None,
                user,
            },
            Err(error) => SyncResponse {
                index,
                id,
                status: SyncStatus::Failed as i32,
                error: Some(rpc_status(&error.into())),
                user: None,
            },
        }
    }

    /// By id when given, else by email; every writable field is replaced.
    async fn upsert(&self, user: User, caller: &Caller) -> Result<(SyncStatus, Option<User>), UserError> {
        let existing_id = if user.id.is_empty() {
            self.store
                .get_by_email(&user.email)
                .await?
                .map(|found| found.user.id)
        } else {
            Some(user.id.clone())
        };
        let Some(id) = existing_id else {
            let created = self
                .create(CreateUserRequest {
                    name: user.name,
                    email: user.email,
                    role: user.role,
                    address: user.address,
                    tags: user.tags,
                    metadata: user.metadata,
                })
                .await?;
            return Ok((SyncStatus::Created, Some(created)));
        };
        let updated = self
            .update(
                UpdateUserRequest {
                    user: Some(User { id, ..user }),
                    update_mask: Some(prost_types::FieldMask {
                        paths: vec!["*".to_owned()],
                    }),
                    etag: String::new(),
                },
                caller,
            )
            .await?;
        Ok((SyncStatus::Updated, Some(updated)))
    }
}
