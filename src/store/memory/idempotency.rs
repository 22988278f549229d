use super::*;

#[async_trait]
impl Idempotency for MemoryStore {
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
}
