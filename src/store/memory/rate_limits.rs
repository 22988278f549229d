use super::*;

#[async_trait]
impl RateLimits for MemoryStore {
    async fn rate_limit_step(
        &self,
        bucket: &str,
        subject: &str,
        rule: RateLimitRule,
        spend: bool,
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
            if let Some(tat) = new_tat.filter(|_| spend) {
                let ttl = Duration::from_micros(tat - now_us);
                inner.put(key, Value::Micros(tat), Some(ttl), now);
            }
            decision
        }))
    }
}
