//! Shared short-lived credentials.

use std::time::Duration;

use async_trait::async_trait;

use super::StoreError;

/// Short-lived shared credentials (WeChat tokens and tickets, session keys).
#[async_trait]
pub trait Credentials: Send + Sync + 'static {
    /// A shared short-lived credential (a WeChat access token or ticket, a session key, an OAuth state).
    async fn credential(&self, name: &str) -> Result<Option<String>, StoreError>;

    async fn put_credential(
        &self,
        name: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<(), StoreError>;

    /// Drops the credential only if it is still `value` (compare-and-delete), so an instance that saw a token
    /// fail cannot throw away the fresh one another instance just fetched. Returns whether it did.
    async fn expire_credential_if(&self, name: &str, value: &str) -> Result<bool, StoreError>;

    /// Reads and deletes in one step: a single-use credential can be taken once.
    async fn take_credential(&self, name: &str) -> Result<Option<String>, StoreError>;
}
