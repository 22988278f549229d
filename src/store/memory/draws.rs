use super::*;

#[async_trait]
impl LotteryStore for MemoryStore {
    async fn draw(&self, spec: &DrawSpec) -> Result<DrawOutcome, StoreError> {
        let keys = lottery::keys(
            &self.keys.pool(&spec.campaign, spec.pool_id),
            self.keys.paused(&spec.campaign),
            spec,
        );
        Ok(self.with(|inner, now| {
            if inner.live(&keys[0], now).is_some() {
                return DrawOutcome::Paused;
            }
            if let Some(Value::Text(prior)) = inner.live(&keys[1], now).map(|e| e.value.clone()) {
                return lottery::decode(&prior)
                    .map_or(DrawOutcome::OutOfStock, DrawOutcome::Replayed);
            }
            let per_prize: Vec<(u32, u32, u32)> = (0..spec.prizes.len())
                .map(|i| {
                    let k = 5 + i * 3;
                    (
                        inner.count(&keys[k], now),
                        inner.count(&keys[k + 1], now),
                        inner.count(&keys[k + 2], now),
                    )
                })
                .collect();
            let since = inner.count(&keys[4], now);
            let counters = Counters {
                chances_granted: inner.count(&keys[2], now),
                chances_used: inner.count(&keys[3], now),
                since,
                per_prize: &per_prize,
            };
            let (index, guaranteed) = match lottery::decide(spec, &counters) {
                Decision::NoChance => return DrawOutcome::NoChance,
                Decision::OutOfStock => return DrawOutcome::OutOfStock,
                Decision::Prize(index, guaranteed) => (index, guaranteed),
            };
            let k = 5 + index * 3;
            inner.bump(&keys[k], 1, None, now);
            inner.bump(&keys[k + 1], 1, None, now);
            inner.bump(
                &keys[k + 2],
                1,
                Some(Duration::from_millis(lottery::DAY_TTL_MS)),
                now,
            );
            inner.bump(&keys[3], 1, None, now);
            let next = lottery::next_since(spec.guarantee, since, spec.prizes[index].tier);
            inner.put(keys[4].clone(), Value::Count(i64::from(next)), None, now);
            let won = Won {
                prize_id: spec.prizes[index].id,
                guaranteed,
                previous_since: since,
            };
            let ttl = Some(Duration::from_millis(lottery::REQUEST_TTL_MS));
            inner.put(
                keys[1].clone(),
                Value::Text(lottery::encode(&won)),
                ttl,
                now,
            );
            DrawOutcome::Won(won)
        }))
    }

    async fn undo_draw(&self, spec: &DrawSpec, won: &Won) -> Result<(), StoreError> {
        let keys = lottery::keys(
            &self.keys.pool(&spec.campaign, spec.pool_id),
            self.keys.paused(&spec.campaign),
            spec,
        );
        let Some(index) = lottery::index_of(spec, won.prize_id) else {
            return Err(StoreError::Protocol(
                "undo_draw: prize is not in the pool".into(),
            ));
        };
        self.with(|inner, now| {
            let k = 5 + index * 3;
            for key in [&keys[k], &keys[k + 1], &keys[k + 2], &keys[3]] {
                inner.bump(key, -1, None, now);
            }
            if spec.guarantee.is_some() {
                inner.put(
                    keys[4].clone(),
                    Value::Count(i64::from(won.previous_since)),
                    None,
                    now,
                );
            }
            inner.entries.remove(&keys[1]);
        });
        Ok(())
    }

    async fn restore_pool_counters(
        &self,
        campaign: &str,
        pool_id: i64,
        values: &[lottery::CounterValue],
    ) -> Result<(), StoreError> {
        let base = self.keys.pool(campaign, pool_id);
        self.with(|inner, now| {
            for counter in values {
                let key = format!("{base}:{}", counter.name);
                let current = inner.count(&key, now);
                if current < counter.value {
                    let ttl = counter
                        .expires
                        .then(|| Duration::from_millis(lottery::DAY_TTL_MS));
                    inner.bump(&key, i64::from(counter.value - current), ttl, now);
                }
            }
        });
        Ok(())
    }

    async fn add_chances(
        &self,
        campaign: &str,
        pool_id: i64,
        user_id: i64,
        count: u32,
    ) -> Result<(), StoreError> {
        let key = format!(
            "{}:{}",
            self.keys.pool(campaign, pool_id),
            lottery::counter::granted(user_id)
        );
        self.with(|inner, now| inner.bump(&key, i64::from(count), None, now));
        Ok(())
    }
}
