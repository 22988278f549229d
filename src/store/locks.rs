//! Store locks.

use std::time::Duration;

use async_trait::async_trait;

use super::{LockToken, StoreError};

/// Named locks that free themselves at expiry, so one instance at a time does a job.
#[async_trait]
pub trait Locks: Send + Sync + 'static {
    /// Takes `name` for `ttl` if nobody holds it. The lock frees itself at expiry if its holder dies.
    async fn lock(&self, name: &str, ttl: Duration) -> Result<Option<LockToken>, StoreError>;

    /// Releases `name` only if `token` still holds it (compare-and-delete). Returns whether it did.
    async fn unlock(&self, name: &str, token: &LockToken) -> Result<bool, StoreError>;
}
