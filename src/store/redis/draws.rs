use super::*;

#[async_trait]
impl LotteryStore for RedisStore {
    async fn draw(&self, spec: &DrawSpec) -> Result<DrawOutcome, StoreError> {
        let keys = lottery::keys(
            &self.keys.pool(&spec.campaign, spec.pool_id),
            self.keys.paused(&spec.campaign),
            spec,
        );
        let limit = |v: Option<u32>| v.map_or(-1, i64::from);
        let mut invocation = self.scripts.draw.prepare_invoke();
        for key in &keys {
            invocation.key(key);
        }
        let (after, tier) = spec.guarantee.map_or((0, 0), |g| (g.after, g.tier));
        invocation
            .arg(spec.prizes.len())
            .arg(spec.random & ((1u64 << 53) - 1))
            .arg(after)
            .arg(tier)
            .arg(spec.consolation.map_or(0, |i| i + 1))
            .arg(lottery::REQUEST_TTL_MS)
            .arg(lottery::DAY_TTL_MS);
        for prize in &spec.prizes {
            invocation
                .arg(prize.id)
                .arg(prize.tier)
                .arg(prize.weight)
                .arg(limit(prize.stock))
                .arg(limit(prize.per_user_total))
                .arg(limit(prize.per_user_daily));
        }
        let reply: Vec<String> = invocation
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        let won = |record: Option<&String>| {
            record
                .and_then(|r| lottery::decode(r))
                .ok_or_else(|| StoreError::Protocol("draw: unreadable record".into()))
        };
        match reply.first().map(String::as_str) {
            Some("paused") => Ok(DrawOutcome::Paused),
            Some("no_chance") => Ok(DrawOutcome::NoChance),
            Some("out_of_stock") => Ok(DrawOutcome::OutOfStock),
            Some("won") => Ok(DrawOutcome::Won(won(reply.get(1))?)),
            Some("replayed") => Ok(DrawOutcome::Replayed(won(reply.get(1))?)),
            Some("forgotten") => Ok(DrawOutcome::Forgotten(lottery::Forgotten {
                pool: reply.get(1).map(String::as_str) == Some("1"),
                user: reply.get(2).map(String::as_str) == Some("1"),
            })),
            _ => Err(StoreError::Protocol("draw: unknown reply".into())),
        }
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
        let index = lottery::index_of(spec, won.prize_id)
            .ok_or_else(|| StoreError::Protocol("undo_draw: prize is not in the pool".into()))?;
        let mut invocation = self.scripts.undo_draw.prepare_invoke();
        for key in &keys {
            invocation.key(key);
        }
        let after = spec.guarantee.map_or(0, |g| g.after);
        let _: i64 = invocation
            .arg(index + 1)
            .arg(won.previous_since)
            .arg(after)
            .arg(won.stock_seq.unwrap_or(0))
            .arg(if release_stock { "1" } else { "0" })
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn hydrate(
        &self,
        campaign: &str,
        pool_id: i64,
        hydration: &lottery::Hydration,
    ) -> Result<(), StoreError> {
        let base = self.keys.pool(campaign, pool_id);
        let mut invocation = self.scripts.hydrate.prepare_invoke();
        invocation.key(format!(
            "{base}:{}",
            lottery::counter::hydrated(hydration.scope)
        ));
        invocation.arg(hydration.counters.len());
        for counter in &hydration.counters {
            invocation.key(format!("{base}:{}", counter.name));
            let ttl = if counter.expires {
                lottery::DAY_TTL_MS
            } else {
                0
            };
            invocation.arg(counter.value).arg(ttl);
        }
        for (prize_id, free) in &hydration.free_stock {
            invocation.key(format!("{base}:{}", lottery::counter::free(*prize_id)));
            let list: Vec<String> = free.iter().map(u32::to_string).collect();
            invocation.arg(list.join(","));
        }
        let _: i64 = invocation
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
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
        let _: i64 = self.conn().del(marker).await.map_err(unavailable)?;
        Ok(())
    }

    async fn restore_pool_counters(
        &self,
        campaign: &str,
        pool_id: i64,
        values: &[lottery::CounterValue],
    ) -> Result<(), StoreError> {
        let base = self.keys.pool(campaign, pool_id);
        // In batches: one script call per batch keeps each atomic step short.
        for batch in values.chunks(500) {
            let mut invocation = self.scripts.raise_counters.prepare_invoke();
            for counter in batch {
                invocation.key(format!("{base}:{}", counter.name));
                invocation.arg(counter.value).arg(if counter.expires {
                    lottery::DAY_TTL_MS
                } else {
                    0
                });
            }
            let _: i64 = invocation
                .invoke_async(&mut self.conn())
                .await
                .map_err(unavailable)?;
        }
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
        let _: i64 = self
            .scripts
            .add_chances
            .key(format!(
                "{base}:{}",
                lottery::counter::hydrated(lottery::Scope::User(user_id))
            ))
            .key(format!("{base}:{}", lottery::counter::granted(user_id)))
            .arg(count)
            .invoke_async(&mut self.conn())
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
