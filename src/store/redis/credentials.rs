use super::*;

#[async_trait]
impl Credentials for RedisStore {
    async fn credential(&self, name: &str) -> Result<Option<String>, StoreError> {
        self.conn()
            .get(self.keys.credential(name))
            .await
            .map_err(unavailable)
    }

    async fn put_credential(
        &self,
        name: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let _: () = redis::cmd("SET")
            .arg(self.keys.credential(name))
            .arg(value)
            .arg("PX")
            .arg(millis(ttl))
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn expire_credential_if(&self, name: &str, value: &str) -> Result<bool, StoreError> {
        // The same compare-and-delete as a lock release.
        let deleted: i64 = self
            .scripts
            .compare_and_delete
            .key(self.keys.credential(name))
            .arg(value)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(deleted == 1)
    }

    async fn take_credential(&self, name: &str) -> Result<Option<String>, StoreError> {
        redis::cmd("GETDEL")
            .arg(self.keys.credential(name))
            .query_async(&mut self.conn())
            .await
            .map_err(unavailable)
    }
}
