use redis::streams::{
    StreamAutoClaimOptions, StreamAutoClaimReply, StreamId, StreamPendingReply, StreamReadOptions,
    StreamReadReply,
};

use super::*;
use crate::store::{QueueDepth, Work, WorkQueue};

/// Every queue's one consumer group: the instances that deliver.
const GROUP: &str = "workers";
/// The field a message's payload travels in.
const FIELD: &str = "p";

fn work(entry: StreamId) -> Result<Work, StoreError> {
    let payload = match entry.map.get(FIELD) {
        Some(value) => redis::from_redis_value_ref::<String>(value)
            .map_err(|e| StoreError::Protocol(format!("queue payload: {e}")))?,
        None => {
            return Err(StoreError::Protocol(
                "a queue message without a payload".into(),
            ))
        }
    };
    Ok(Work {
        id: entry.id,
        payload,
    })
}

fn missing_group(error: &redis::RedisError) -> bool {
    error.code() == Some("NOGROUP")
}

impl RedisStore {
    /// Makes the queue's stream and group (from its first message) unless they exist.
    async fn ensure_group(&self, key: &str) -> Result<(), StoreError> {
        let created: Result<(), redis::RedisError> =
            self.conn().xgroup_create_mkstream(key, GROUP, "0").await;
        match created {
            Err(error) if error.code() != Some("BUSYGROUP") => Err(unavailable(error)),
            _ => Ok(()),
        }
    }
}

#[async_trait]
impl WorkQueue for RedisStore {
    async fn enqueue(&self, queue: &str, payloads: &[String]) -> Result<(), StoreError> {
        if payloads.is_empty() {
            return Ok(());
        }
        let key = self.keys.queue(queue);
        self.ensure_group(&key).await?;
        let mut pipeline = redis::pipe();
        for payload in payloads {
            pipeline.xadd(&key, "*", &[(FIELD, payload)]).ignore();
        }
        pipeline
            .query_async::<()>(&mut self.conn())
            .await
            .map_err(unavailable)
    }

    async fn take(
        &self,
        queue: &str,
        consumer: &str,
        count: usize,
    ) -> Result<Vec<Work>, StoreError> {
        let key = self.keys.queue(queue);
        let options = StreamReadOptions::default()
            .group(GROUP, consumer)
            .count(count);
        let mut read: Result<Option<StreamReadReply>, _> =
            self.conn().xread_options(&[&key], &[">"], &options).await;
        if matches!(&read, Err(error) if missing_group(error)) {
            // A flushed or never-used queue: nothing is lost by making it (its messages live in the database).
            self.ensure_group(&key).await?;
            read = self.conn().xread_options(&[&key], &[">"], &options).await;
        }
        let read = read.map_err(unavailable)?;
        read.into_iter()
            .flat_map(|reply| reply.keys)
            .flat_map(|stream| stream.ids)
            .map(work)
            .collect()
    }

    async fn reclaim(
        &self,
        queue: &str,
        consumer: &str,
        idle: Duration,
        count: usize,
    ) -> Result<Vec<Work>, StoreError> {
        let key = self.keys.queue(queue);
        let claimed: Result<StreamAutoClaimReply, _> = self
            .conn()
            .xautoclaim_options(
                &key,
                GROUP,
                consumer,
                millis(idle),
                "0-0",
                StreamAutoClaimOptions::default().count(count),
            )
            .await;
        match claimed {
            Ok(reply) => reply.claimed.into_iter().map(work).collect(),
            Err(error) if missing_group(&error) => Ok(Vec::new()),
            Err(error) => Err(unavailable(error)),
        }
    }

    async fn ack(&self, queue: &str, ids: &[String]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let key = self.keys.queue(queue);
        redis::pipe()
            .xack(&key, GROUP, ids)
            .ignore()
            .xdel(&key, ids)
            .ignore()
            .query_async::<()>(&mut self.conn())
            .await
            .map_err(unavailable)
    }

    async fn queue_depth(&self, queue: &str) -> Result<QueueDepth, StoreError> {
        let key = self.keys.queue(queue);
        let length: u64 = self.conn().xlen(&key).await.map_err(unavailable)?;
        let pending: Result<StreamPendingReply, _> = self.conn().xpending(&key, GROUP).await;
        let pending = match pending {
            Ok(reply) => reply.count() as u64,
            Err(error) if missing_group(&error) => 0,
            Err(error) => return Err(unavailable(error)),
        };
        Ok(QueueDepth {
            waiting: length.saturating_sub(pending),
            pending,
        })
    }
}
