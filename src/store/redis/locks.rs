use super::*;

#[async_trait]
impl Locks for RedisStore {
    async fn lock(&self, name: &str, ttl: Duration) -> Result<Option<LockToken>, StoreError> {
        let token = LockToken::random();
        let taken: Option<String> = redis::cmd("SET")
            .arg(self.keys.lock(name))
            .arg(&token.0)
            .arg("NX")
            .arg("PX")
            .arg(millis(ttl))
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(taken.map(|_| token))
    }

    async fn unlock(&self, name: &str, token: &LockToken) -> Result<bool, StoreError> {
        let released: i64 = self
            .scripts
            .compare_and_delete
            .key(self.keys.lock(name))
            .arg(&token.0)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(released == 1)
    }
}
