use super::*;

#[async_trait]
impl PauseFlags for MemoryStore {
    async fn set_paused(&self, campaign: &str, paused: bool) -> Result<(), StoreError> {
        let key = self.keys.paused(campaign);
        self.with(|inner, now| {
            if paused {
                inner.put(key, Value::Flag, None, now);
            } else {
                inner.entries.remove(&key);
            }
        });
        Ok(())
    }

    async fn is_paused(&self, campaign: &str) -> Result<bool, StoreError> {
        let key = self.keys.paused(campaign);
        Ok(self.with(|inner, now| inner.live(&key, now).is_some()))
    }
}
