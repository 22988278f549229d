//! Work queues: what one instance puts in, any instance takes out (a push's deliveries). Each queue has one
//! consumer group; a message taken is that consumer's until it acks it, and one a consumer took but never
//! acked (it died, or stopped mid-run) can be reclaimed by another after an idle time. Redis Streams
//! (XADD / XREADGROUP / XACK / XAUTOCLAIM) in production; the memory store keeps the same contract. The queue is
//! the fast path: the database holds what each message stands for, so a lost queue is refilled from it.

use std::time::Duration;

use async_trait::async_trait;

use super::StoreError;

/// One message handed to a consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Work {
    /// The queue's id of the message (what `ack` takes).
    pub id: String,
    pub payload: String,
}

/// How much a queue holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueDepth {
    /// Not yet taken by any consumer.
    pub waiting: u64,
    /// Taken and not acked.
    pub pending: u64,
}

#[async_trait]
pub trait WorkQueue: Send + Sync + 'static {
    /// Appends each payload to `queue` as one message.
    async fn enqueue(&self, queue: &str, payloads: &[String]) -> Result<(), StoreError>;

    /// Up to `count` messages nobody has taken yet, now `consumer`'s until acked. Returns at once (an empty list
    /// when there is nothing).
    async fn take(
        &self,
        queue: &str,
        consumer: &str,
        count: usize,
    ) -> Result<Vec<Work>, StoreError>;

    /// Up to `count` messages another consumer took at least `idle` ago and never acked, now `consumer`'s.
    async fn reclaim(
        &self,
        queue: &str,
        consumer: &str,
        idle: Duration,
        count: usize,
    ) -> Result<Vec<Work>, StoreError>;

    /// Done with these messages: they are gone from the queue.
    async fn ack(&self, queue: &str, ids: &[String]) -> Result<(), StoreError>;

    async fn queue_depth(&self, queue: &str) -> Result<QueueDepth, StoreError>;
}
