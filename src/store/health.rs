//! Whether the store answers.

use async_trait::async_trait;

use super::StoreError;

/// Reachability, for logs and `/readyz`.
#[async_trait]
pub trait Health: Send + Sync + 'static {
    /// `memory` or `redis`, for logs and `/readyz`.
    fn backend(&self) -> &'static str;

    async fn ping(&self) -> Result<(), StoreError>;
}
