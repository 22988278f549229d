//! Pause flags.

use async_trait::async_trait;

use super::StoreError;

/// The campaign circuit breakers.
#[async_trait]
pub trait PauseFlags: Send + Sync + 'static {
    /// The campaign circuit breaker. Grant-type operations check it inside their own atomic step.
    async fn set_paused(&self, campaign: &str, paused: bool) -> Result<(), StoreError>;

    async fn is_paused(&self, campaign: &str) -> Result<bool, StoreError>;
}
