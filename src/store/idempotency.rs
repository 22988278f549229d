//! Dedupe and idempotency records.

use std::time::Duration;

use async_trait::async_trait;

use super::{IdempotencyBegin, StoreError};

/// Dedupe marks and `Idempotency-Key` claims with their kept responses.
#[async_trait]
pub trait Idempotency: Send + Sync + 'static {
    /// Records `id` in `scope` for `ttl`; true the first time it is seen, false for a repeat.
    async fn dedupe(&self, scope: &str, id: &str, ttl: Duration) -> Result<bool, StoreError>;

    /// Claims `key` for a request whose body hashes to `fingerprint`. A claim that is neither completed nor
    /// abandoned within `pending_ttl` (its holder died) lapses, so the key can be retried.
    async fn idempotency_begin(
        &self,
        key: &str,
        fingerprint: &str,
        pending_ttl: Duration,
    ) -> Result<IdempotencyBegin, StoreError>;

    /// Stores the response of a claimed key, kept for `ttl`.
    async fn idempotency_complete(
        &self,
        key: &str,
        fingerprint: &str,
        response: &[u8],
        ttl: Duration,
    ) -> Result<(), StoreError>;

    /// Drops a claim that has no response (the action failed unexpectedly), so the client can retry.
    async fn idempotency_abandon(&self, key: &str, fingerprint: &str) -> Result<(), StoreError>;
}
