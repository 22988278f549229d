//! The in-process backend: one mutex around a map, so every operation is atomic by construction. It serves a
//! single-instance deployment (and `cargo run`); several instances must share Redis instead.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::{gcra, IdempotencyBegin, Keys, LockToken, RateDecision, StateStore, StoreError};
use crate::config::RateLimitRule;

/// Expired entries are swept this often (in operations), so keys nobody reads again do not pile up.
const SWEEP_EVERY: u64 = 4096;

#[derive(Debug, Clone)]
enum Value {
    Flag,
    Text(String),
    Micros(u64),
    Idempotency {
        fingerprint: String,
        response: Option<Vec<u8>>,
    },
}

#[derive(Debug)]
struct Entry {
    value: Value,
    expires_at: Option<Instant>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    operations: u64,
}

impl Inner {
    /// The live entry under `key`, dropping it first if it has expired.
    fn live(&mut self, key: &str, now: Instant) -> Option<&mut Entry> {
        let expired = self
            .entries
            .get(key)
            .is_some_and(|e| e.expires_at.is_some_and(|at| at <= now));
        if expired {
            self.entries.remove(key);
        }
        self.entries.get_mut(key)
    }

    fn put(&mut self, key: String, value: Value, ttl: Option<Duration>, now: Instant) {
        let expires_at = ttl.map(|ttl| now + ttl);
        self.entries.insert(key, Entry { value, expires_at });
    }

    fn tick(&mut self, now: Instant) {
        self.operations += 1;
        if self.operations.is_multiple_of(SWEEP_EVERY) {
            self.entries
                .retain(|_, e| e.expires_at.is_none_or(|at| at > now));
        }
    }
}

pub struct MemoryStore {
    keys: Keys,
    epoch: Instant,
    inner: Mutex<Inner>,
}

impl MemoryStore {
    pub fn new(key_prefix: &str) -> Self {
        Self {
            keys: Keys::new(key_prefix),
            epoch: Instant::now(),
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Runs `f` with the map locked: the whole of one store operation happens inside.
    fn with<T>(&self, f: impl FnOnce(&mut Inner, Instant) -> T) -> T {
        let now = Instant::now();
        // A panic inside `f` cannot leave a half-applied operation (each writes at most once, last), so a
        // poisoned lock is safe to keep using.
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.tick(now);
        f(&mut inner, now)
    }
}

#[async_trait]
impl StateStore for MemoryStore {
    fn backend(&self) -> &'static str {
        "memory"
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn rate_limit(
        &self,
        bucket: &str,
        subject: &str,
        rule: RateLimitRule,
    ) -> Result<RateDecision, StoreError> {
        let key = self.keys.rate_limit(bucket, subject);
        Ok(self.with(|inner, now| {
            let now_us =
                u64::try_from(now.duration_since(self.epoch).as_micros()).unwrap_or(u64::MAX);
            let stored = match inner.live(&key, now).map(|e| &e.value) {
                Some(Value::Micros(tat)) => Some(*tat),
                _ => None,
            };
            let (decision, new_tat) = gcra(now_us, stored, rule);
            if let Some(tat) = new_tat {
                let ttl = Duration::from_micros(tat - now_us);
                inner.put(key, Value::Micros(tat), Some(ttl), now);
            }
            decision
        }))
    }

    async fn lock(&self, name: &str, ttl: Duration) -> Result<Option<LockToken>, StoreError> {
        let key = self.keys.lock(name);
        Ok(self.with(|inner, now| {
            if inner.live(&key, now).is_some() {
                return None;
            }
            let token = LockToken::random();
            inner.put(key, Value::Text(token.0.clone()), Some(ttl), now);
            Some(token)
        }))
    }

    async fn unlock(&self, name: &str, token: &LockToken) -> Result<bool, StoreError> {
        let key = self.keys.lock(name);
        Ok(self.with(|inner, now| {
            let held = matches!(inner.live(&key, now), Some(Entry { value: Value::Text(t), .. }) if *t == token.0);
            if held {
                inner.entries.remove(&key);
            }
            held
        }))
    }

    async fn dedupe(&self, scope: &str, id: &str, ttl: Duration) -> Result<bool, StoreError> {
        let key = self.keys.dedupe(scope, id);
        Ok(self.with(|inner, now| {
            if inner.live(&key, now).is_some() {
                return false;
            }
            inner.put(key, Value::Flag, Some(ttl), now);
            true
        }))
    }

    async fn idempotency_begin(
        &self,
        key: &str,
        fingerprint: &str,
        pending_ttl: Duration,
    ) -> Result<IdempotencyBegin, StoreError> {
        let key = self.keys.idempotency(key);
        Ok(
            self.with(|inner, now| match inner.live(&key, now).map(|e| &e.value) {
                Some(Value::Idempotency {
                    fingerprint: stored,
                    response,
                }) => {
                    if stored != fingerprint {
                        IdempotencyBegin::Mismatch
                    } else if let Some(response) = response {
                        IdempotencyBegin::Completed(response.clone())
                    } else {
                        IdempotencyBegin::InProgress
                    }
                }
                _ => {
                    let value = Value::Idempotency {
                        fingerprint: fingerprint.to_owned(),
                        response: None,
                    };
                    inner.put(key, value, Some(pending_ttl), now);
                    IdempotencyBegin::Started
                }
            }),
        )
    }

    async fn idempotency_complete(
        &self,
        key: &str,
        fingerprint: &str,
        response: &[u8],
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let key = self.keys.idempotency(key);
        self.with(|inner, now| {
            // Never overwrite another request's record (possible only if our claim lapsed meanwhile).
            let foreign = matches!(
                inner.live(&key, now).map(|e| &e.value),
                Some(Value::Idempotency { fingerprint: stored, .. }) if stored != fingerprint
            );
            if !foreign {
                let value = Value::Idempotency {
                    fingerprint: fingerprint.to_owned(),
                    response: Some(response.to_vec()),
                };
                inner.put(key, value, Some(ttl), now);
            }
        });
        Ok(())
    }

    async fn idempotency_abandon(&self, key: &str, fingerprint: &str) -> Result<(), StoreError> {
        let key = self.keys.idempotency(key);
        self.with(|inner, now| {
            let ours_and_pending = matches!(
                inner.live(&key, now).map(|e| &e.value),
                Some(Value::Idempotency { fingerprint: stored, response: None }) if stored == fingerprint
            );
            if ours_and_pending {
                inner.entries.remove(&key);
            }
        });
        Ok(())
    }

    async fn set_paused(&self, campaign: &str, paused: bool) -> Result<(), StoreError> {
        let key = self.keys.paused(campaign);
        self.with(|inner, now| {
            if paused {
                inner.put(key, Value::Flag, None, now);
            } else {
                inner.entries.remove(&key);
            }
        });
        Ok(())
    }

    async fn is_paused(&self, campaign: &str) -> Result<bool, StoreError> {
        let key = self.keys.paused(campaign);
        Ok(self.with(|inner, now| inner.live(&key, now).is_some()))
    }

    async fn credential(&self, name: &str) -> Result<Option<String>, StoreError> {
        let key = self.keys.credential(name);
        Ok(
            self.with(|inner, now| match inner.live(&key, now).map(|e| &e.value) {
                Some(Value::Text(value)) => Some(value.clone()),
                _ => None,
            }),
        )
    }

    async fn put_credential(
        &self,
        name: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let key = self.keys.credential(name);
        self.with(|inner, now| inner.put(key, Value::Text(value.to_owned()), Some(ttl), now));
        Ok(())
    }

    async fn expire_credential_if(&self, name: &str, value: &str) -> Result<bool, StoreError> {
        let key = self.keys.credential(name);
        Ok(self.with(|inner, now| {
            let same = matches!(inner.live(&key, now), Some(Entry { value: Value::Text(v), .. }) if v == value);
            if same {
                inner.entries.remove(&key);
            }
            same
        }))
    }

    async fn take_credential(&self, name: &str) -> Result<Option<String>, StoreError> {
        let key = self.keys.credential(name);
        Ok(self.with(|inner, now| {
            inner.live(&key, now)?;
            match inner.entries.remove(&key).map(|e| e.value) {
                Some(Value::Text(value)) => Some(value),
                _ => None,
            }
        }))
    }
}
