use super::*;

#[async_trait]
impl RateLimits for RedisStore {
    async fn rate_limit_step(
        &self,
        bucket: &str,
        subject: &str,
        rule: RateLimitRule,
        spend: bool,
    ) -> Result<RateDecision, StoreError> {
        let (allowed, remaining, retry_after_us): (i64, i64, i64) = self
            .scripts
            .rate_limit
            .key(self.keys.rate_limit(bucket, subject))
            .arg(rule.limit)
            .arg(rule.window_secs)
            .arg(u8::from(spend))
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(RateDecision {
            allowed: allowed == 1,
            remaining: u32::try_from(remaining.max(0)).unwrap_or(u32::MAX),
            retry_after: Duration::from_micros(u64::try_from(retry_after_us.max(0)).unwrap_or(0)),
        })
    }
}
