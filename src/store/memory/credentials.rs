use super::*;

#[async_trait]
impl Credentials for MemoryStore {
    async fn credential(&self, name: &str) -> Result<Option<String>, StoreError> {
        let key = self.keys.credential(name);
        Ok(
            self.with(|inner, now| match inner.live(&key, now).map(|e| &e.value) {
                Some(Value::Text(value)) => Some(value.clone()),
                _ => None,
            }),
        )
    }

    async fn put_credential(
        &self,
        name: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let key = self.keys.credential(name);
        self.with(|inner, now| inner.put(key, Value::Text(value.to_owned()), Some(ttl), now));
        Ok(())
    }

    async fn expire_credential_if(&self, name: &str, value: &str) -> Result<bool, StoreError> {
        let key = self.keys.credential(name);
        Ok(self.with(|inner, now| {
            let same = matches!(inner.live(&key, now), Some(Entry { value: Value::Text(v), .. }) if v == value);
            if same {
                inner.entries.remove(&key);
            }
            same
        }))
    }

    async fn take_credential(&self, name: &str) -> Result<Option<String>, StoreError> {
        let key = self.keys.credential(name);
        Ok(self.with(|inner, now| {
            inner.live(&key, now)?;
            match inner.entries.remove(&key).map(|e| e.value) {
                Some(Value::Text(value)) => Some(value),
                _ => None,
            }
        }))
    }
}
