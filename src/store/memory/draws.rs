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
            let forgotten = Forgotten {
                pool: inner.live(&keys[5], now).is_none(),
                user: inner.live(&keys[6], now).is_none(),
            };
            if forgotten.pool || forgotten.user {
                return DrawOutcome::Forgotten(forgotten);
            }
            let per_prize: Vec<(u32, u32, u32)> = (0..spec.prizes.len())
                .map(|i| {
                    let k = lottery::FIXED_KEYS + i * lottery::KEYS_PER_PRIZE;
                    let free = inner.numbers(&keys[k + 3], now).len() as u32;
                    (
                        inner.count(&keys[k], now).saturating_sub(free),
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
            let k = lottery::FIXED_KEYS + index * lottery::KEYS_PER_PRIZE;
            let stock_seq = match spec.prizes[index].stock {
                Some(_) => Some(match inner.numbers(&keys[k + 3], now).pop_first() {
                    Some(seq) => seq,
                    None => {
                        inner.bump(&keys[k], 1, None, now);
                        inner.count(&keys[k], now)
                    }
                }),
                None => {
                    inner.bump(&keys[k], 1, None, now);
                    None
                }
            };
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
                stock_seq,
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

    async fn undo_draw(
        &self,
        spec: &DrawSpec,
        won: &Won,
        release_stock: bool,
    ) -> Result<(), StoreError> {
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
            let k = lottery::FIXED_KEYS + index * lottery::KEYS_PER_PRIZE;
            match won.stock_seq {
                None => inner.bump(&keys[k], -1, None, now),
                Some(seq) if release_stock => {
                    inner.numbers(&keys[k + 3], now).insert(seq);
                }
                Some(_) => {}
            }
            for key in [&keys[k + 1], &keys[k + 2], &keys[3]] {
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
        let base = self.keys.pool(campaign, pool_id);
        let marker = format!(
            "{base}:{}",
            lottery::counter::hydrated(lottery::Scope::User(user_id))
        );
        let key = format!("{base}:{}", lottery::counter::granted(user_id));
        self.with(|inner, now| {
            // An unhydrated scope reads every grant from the database when it is rebuilt.
            if inner.live(&marker, now).is_some() {
                inner.bump(&key, i64::from(count), None, now);
            }
        });
        Ok(())
    }

    async fn hydrate(
        &self,
        campaign: &str,
        pool_id: i64,
        hydration: &lottery::Hydration,
    ) -> Result<(), StoreError> {
        let base = self.keys.pool(campaign, pool_id);
        self.with(|inner, now| {
            for counter in &hydration.counters {
                let ttl = counter
                    .expires
                    .then(|| Duration::from_millis(lottery::DAY_TTL_MS));
                let value = Value::Count(i64::from(counter.value));
                inner.put(format!("{base}:{}", counter.name), value, ttl, now);
            }
            for (prize_id, free) in &hydration.free_stock {
                let key = format!("{base}:{}", lottery::counter::free(*prize_id));
                let numbers = Value::Numbers(free.iter().copied().collect());
                inner.put(key, numbers, None, now);
            }
            let marker = format!("{base}:{}", lottery::counter::hydrated(hydration.scope));
            inner.put(marker, Value::Flag, None, now);
        });
        Ok(())
    }

    async fn forget(
        &self,
        campaign: &str,
        pool_id: i64,
        scope: lottery::Scope,
    ) -> Result<(), StoreError> {
        let marker = format!(
            "{}:{}",
            self.keys.pool(campaign, pool_id),
            lottery::counter::hydrated(scope)
        );
        self.with(|inner, _| inner.entries.remove(&marker));
        Ok(())
    }
}
