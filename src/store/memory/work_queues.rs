use std::collections::{BTreeMap, VecDeque};

use super::*;
use crate::store::{QueueDepth, Work, WorkQueue};

/// A stream with one consumer group, as Redis keeps it: messages not yet taken, and those taken and not acked.
#[derive(Debug, Clone, Default)]
pub(super) struct Queue {
    next_id: u64,
    waiting: VecDeque<(u64, String)>,
    pending: BTreeMap<u64, Taken>,
}

#[derive(Debug, Clone)]
struct Taken {
    payload: String,
    /// When a consumer last took it: what `reclaim`'s idle time is measured from.
    at: Instant,
}

impl MemoryStore {
    fn with_queue<T>(&self, queue: &str, f: impl FnOnce(&mut Queue, Instant) -> T) -> T {
        let key = self.keys.queue(queue);
        self.with(|inner, now| {
            if !matches!(
                inner.live(&key, now).map(|e| &e.value),
                Some(Value::Queue(_))
            ) {
                inner.put(key.clone(), Value::Queue(Box::default()), None, now);
            }
            match inner.entries.get_mut(&key).map(|e| &mut e.value) {
                Some(Value::Queue(queue)) => f(queue, now),
                _ => unreachable!("just put"),
            }
        })
    }
}

#[async_trait]
impl WorkQueue for MemoryStore {
    async fn enqueue(&self, queue: &str, payloads: &[String]) -> Result<(), StoreError> {
        self.with_queue(queue, |queue, _| {
            for payload in payloads {
                queue.next_id += 1;
                queue.waiting.push_back((queue.next_id, payload.clone()));
            }
        });
        Ok(())
    }

    async fn take(
        &self,
        queue: &str,
        _consumer: &str,
        count: usize,
    ) -> Result<Vec<Work>, StoreError> {
        Ok(self.with_queue(queue, |queue, now| {
            let mut taken = Vec::new();
            while taken.len() < count {
                let Some((id, payload)) = queue.waiting.pop_front() else {
                    break;
                };
                queue.pending.insert(
                    id,
                    Taken {
                        payload: payload.clone(),
                        at: now,
                    },
                );
                taken.push(Work {
                    id: id.to_string(),
                    payload,
                });
            }
            taken
        }))
    }

    async fn reclaim(
        &self,
        queue: &str,
        _consumer: &str,
        idle: Duration,
        count: usize,
    ) -> Result<Vec<Work>, StoreError> {
        Ok(self.with_queue(queue, |queue, now| {
            let mut reclaimed = Vec::new();
            for (id, taken) in queue.pending.iter_mut() {
                if reclaimed.len() >= count {
                    break;
                }
                if now.saturating_duration_since(taken.at) >= idle {
                    taken.at = now;
                    reclaimed.push(Work {
                        id: id.to_string(),
                        payload: taken.payload.clone(),
                    });
                }
            }
            reclaimed
        }))
    }

    async fn ack(&self, queue: &str, ids: &[String]) -> Result<(), StoreError> {
        self.with_queue(queue, |queue, _| {
            for id in ids.iter().filter_map(|id| id.parse::<u64>().ok()) {
                queue.pending.remove(&id);
            }
        });
        Ok(())
    }

    async fn queue_depth(&self, queue: &str) -> Result<QueueDepth, StoreError> {
        Ok(self.with_queue(queue, |queue, _| QueueDepth {
            waiting: queue.waiting.len() as u64,
            pending: queue.pending.len() as u64,
        }))
    }
}
