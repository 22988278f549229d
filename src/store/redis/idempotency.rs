use super::*;

#[async_trait]
impl Idempotency for RedisStore {
    async fn dedupe(&self, scope: &str, id: &str, ttl: Duration) -> Result<bool, StoreError> {
        let first: Option<String> = redis::cmd("SET")
            .arg(self.keys.dedupe(scope, id))
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(millis(ttl))
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(first.is_some())
    }

    async fn idempotency_begin(
        &self,
        key: &str,
        fingerprint: &str,
        pending_ttl: Duration,
    ) -> Result<IdempotencyBegin, StoreError> {
        let reply: Vec<Vec<u8>> = self
            .scripts
            .idempotency_begin
            .key(self.keys.idempotency(key))
            .arg(fingerprint)
            .arg(millis(pending_ttl))
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        match reply.as_slice() {
            [state] if state == b"started" => Ok(IdempotencyBegin::Started),
            [state] if state == b"in_progress" => Ok(IdempotencyBegin::InProgress),
            [state] if state == b"mismatch" => Ok(IdempotencyBegin::Mismatch),
            [state, response] if state == b"completed" => {
                Ok(IdempotencyBegin::Completed(response.clone()))
            }
            _ => Err(StoreError::Protocol(
                "idempotency_begin: unknown reply".into(),
            )),
        }
    }

    async fn idempotency_complete(
        &self,
        key: &str,
        fingerprint: &str,
        response: &[u8],
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let _: i64 = self
            .scripts
            .idempotency_complete
            .key(self.keys.idempotency(key))
            .arg(fingerprint)
            .arg(response)
            .arg(millis(ttl))
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn idempotency_abandon(&self, key: &str, fingerprint: &str) -> Result<(), StoreError> {
        let _: i64 = self
            .scripts
            .idempotency_abandon
            .key(self.keys.idempotency(key))
            .arg(fingerprint)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
