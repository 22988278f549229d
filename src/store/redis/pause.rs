use super::*;

#[async_trait]
impl PauseFlags for RedisStore {
    async fn set_paused(&self, campaign: &str, paused: bool) -> Result<(), StoreError> {
        let key = self.keys.paused(campaign);
        let mut conn = self.conn();
        if paused {
            let _: () = conn.set(key, 1).await.map_err(unavailable)?;
        } else {
            let _: () = conn.del(key).await.map_err(unavailable)?;
        }
        Ok(())
    }

    async fn is_paused(&self, campaign: &str) -> Result<bool, StoreError> {
        let exists: bool = self
            .conn()
            .exists(self.keys.paused(campaign))
            .await
            .map_err(unavailable)?;
        Ok(exists)
    }
}
