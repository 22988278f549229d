use super::*;

#[async_trait]
impl Locks for MemoryStore {
    async fn lock(&self, name: &str, ttl: Duration) -> Result<Option<LockToken>, StoreError> {
        let key = self.keys.lock(name);
        Ok(self.with(|inner, now| {
            if inner.live(&key, now).is_some() {
                return None;
            }
            let token = LockToken::random();
            inner.put(key, Value::Text(token.0.clone()), Some(ttl), now);
            Some(token)
        }))
    }

    async fn unlock(&self, name: &str, token: &LockToken) -> Result<bool, StoreError> {
        let key = self.keys.lock(name);
        Ok(self.with(|inner, now| {
            let held = matches!(inner.live(&key, now), Some(Entry { value: Value::Text(t), .. }) if *t == token.0);
            if held {
                inner.entries.remove(&key);
            }
            held
        }))
    }
}
