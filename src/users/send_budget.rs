//! A stream's outgoing messages under a budget: the producer may be ahead
//! of its reader by at most `stream_send_bytes` of encoded messages (and a
//! few messages), so a slow reader slows the producer instead of growing
//! memory; a reader that takes nothing for `stream_idle_timeout` stops the
//! producer, and the stream then ends with RESOURCE_EXHAUSTED (dropping
//! what was buffered) the next time it is read. A reader that goes away
//! (the stream is dropped) stops the producer at its next message.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tonic::Status;

use super::budgets::Budgets;
use super::streams::ResponseStream;

/// Messages buffered between a producer and a slow reader, whatever their size.
const CHANNEL_CAPACITY: usize = 16;

/// Why a producer must stop.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Stopped {
    /// The reader went away.
    Gone,
    /// The reader took nothing for the idle timeout.
    Stalled,
}

/// The producer's end.
pub(super) struct BudgetedSender<T> {
    sender: mpsc::Sender<(Result<T, Status>, OwnedSemaphorePermit)>,
    bytes: Arc<Semaphore>,
    budget: u32,
    idle_timeout: Duration,
    stalled: Arc<AtomicBool>,
}

/// A sender and the response stream it feeds.
pub(super) fn budgeted_channel<T>(budgets: &Budgets) -> (BudgetedSender<T>, ResponseStream<T>)
where
    T: prost::Message + Send + 'static,
{
    let budget = u32::try_from(budgets.stream_send_bytes)
        .unwrap_or(u32::MAX)
        .max(1);
    let (sender, receiver) = mpsc::channel(CHANNEL_CAPACITY);
    let stalled = Arc::new(AtomicBool::new(false));
    let stream = receiving(receiver, stalled.clone(), budgets.stream_idle_timeout);
    let sender = BudgetedSender {
        sender,
        bytes: Arc::new(Semaphore::new(budget as usize)),
        budget,
        idle_timeout: budgets.stream_idle_timeout,
        stalled,
    };
    (sender, stream)
}

impl<T: prost::Message> BudgetedSender<T> {
    /// Queues `item` once the reader has taken enough of what came before.
    pub(super) async fn send(&self, item: Result<T, Status>) -> Result<(), Stopped> {
        let size = item.as_ref().map_or(0, prost::Message::encoded_len);
        // A message larger than the whole budget waits for all of it.
        let permits = u32::try_from(size).unwrap_or(u32::MAX).clamp(1, self.budget);
        let queued = async {
            let permit = self
                .bytes
                .clone()
                .acquire_many_owned(permits)
                .await
                .map_err(|_| Stopped::Gone)?;
            self.sender.send((item, permit)).await.map_err(|_| Stopped::Gone)
        };
        match tokio::time::timeout(self.idle_timeout, queued).await {
            Ok(queued) => queued,
            Err(_) => {
                self.stalled.store(true, Ordering::Release);
                Err(Stopped::Stalled)
            }
        }
    }
}

/// The reader's end: each message gives its bytes back as it is taken.
fn receiving<T: Send + 'static>(
    receiver: mpsc::Receiver<(Result<T, Status>, OwnedSemaphorePermit)>,
    stalled: Arc<AtomicBool>,
    idle_timeout: Duration,
) -> ResponseStream<T> {
    Box::pin(futures_util::stream::unfold(Some(receiver), move |receiver| {
        let stalled = stalled.clone();
        async move {
            let mut receiver = receiver?;
            if stalled.load(Ordering::Acquire) {
                let status = Status::resource_exhausted(format!(
                    "the stream was ended: its reader took nothing for {} s",
                    idle_timeout.as_secs_f64()
                ));
                return Some((Err(status), None));
            }
            let (item, _permit) = receiver.recv().await?;
            Some((item, Some(receiver)))
        }
    }))
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt as _;

    use super::*;
    use crate::proto::users::v1::User;

    fn user(name_bytes: usize) -> User {
        User {
            name: "x".repeat(name_bytes),
            ..User::default()
        }
    }

    fn budgets(stream_send_bytes: usize, idle_timeout: Duration) -> Budgets {
        Budgets {
            stream_send_bytes,
            stream_idle_timeout: idle_timeout,
            ..Budgets::default()
        }
    }

    #[tokio::test]
    async fn a_producer_ahead_by_the_budget_waits_and_a_stalled_one_stops() {
        let (sender, mut stream) = budgeted_channel::<User>(&budgets(1000, Duration::from_millis(20)));
        for _ in 0..3 {
            sender.send(Ok(user(300))).await.unwrap();
        }
        // A fourth does not fit until the reader takes one; nobody reads.
        assert_eq!(sender.send(Ok(user(300))).await, Err(Stopped::Stalled));
        let ended = stream.next().await.unwrap().unwrap_err();
        assert_eq!(ended.code(), tonic::Code::ResourceExhausted);
        assert!(stream.next().await.is_none());
    }

    #[tokio::test]
    async fn what_the_reader_takes_makes_room() {
        let (sender, mut stream) = budgeted_channel::<User>(&budgets(1000, Duration::from_secs(30)));
        let producer = tokio::spawn(async move {
            for _ in 0..10 {
                sender.send(Ok(user(300))).await.unwrap();
            }
            // A message larger than the budget still goes, alone.
            sender.send(Ok(user(5000))).await.unwrap();
        });
        let mut read = 0;
        while let Some(item) = stream.next().await {
            item.unwrap();
            read += 1;
        }
        assert_eq!(read, 11);
        producer.await.unwrap();
    }

    #[tokio::test]
    async fn a_reader_that_went_away_stops_the_producer() {
        let (sender, stream) = budgeted_channel::<User>(&budgets(1000, Duration::from_secs(30)));
        drop(stream);
        assert_eq!(sender.send(Ok(user(10))).await, Err(Stopped::Gone));
    }
}
