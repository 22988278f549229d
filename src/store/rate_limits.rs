//! Rate limits: one atomic GCRA step per request.

use async_trait::async_trait;

use super::{RateDecision, StoreError};
use crate::config::RateLimitRule;

/// Request budgets (GCRA), shared by every instance.
#[async_trait]
pub trait RateLimits: Send + Sync + 'static {
    /// One GCRA decision for `subject` in `bucket` (a smooth sliding window: `rule.limit` requests per
    /// `rule.window_secs`, bursts up to the limit). With `spend` the request is counted when allowed; without,
    /// the budget is only looked at.
    async fn rate_limit_step(
        &self,
        bucket: &str,
        subject: &str,
        rule: RateLimitRule,
        spend: bool,
    ) -> Result<RateDecision, StoreError>;

    /// Counts one request of `subject` against `bucket`.
    async fn rate_limit(
        &self,
        bucket: &str,
        subject: &str,
        rule: RateLimitRule,
    ) -> Result<RateDecision, StoreError> {
        self.rate_limit_step(bucket, subject, rule, true).await
    }

    /// What `rate_limit` would decide now, counting nothing: for budgets spent only by failures.
    async fn rate_limit_peek(
        &self,
        bucket: &str,
        subject: &str,
        rule: RateLimitRule,
    ) -> Result<RateDecision, StoreError> {
        self.rate_limit_step(bucket, subject, rule, false).await
    }
}
