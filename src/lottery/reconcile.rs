//! Reconciliation: the store's counters raised back to what the draw records and grants say.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

use super::model::LotteryError;
use crate::entities::{campaigns, chance_grants, draw_records, prize_pools};

/// Rebuilds one pool's store counters from `draw_records` and `chance_grants`: after a store flush nothing is
/// lost, and a counter that fell behind the database is repaired. Counters are only ever raised (see
/// `LotteryStore::restore_pool_counters`).
pub async fn reconcile_pool(
    db: &DatabaseConnection,
    store: &dyn crate::store::StateStore,
    campaign: &campaigns::Model,
    pool: &prize_pools::Model,
    now: DateTime<Utc>,
) -> Result<usize, LotteryError> {
    use crate::store::lottery::{counter, CounterValue};
    use std::collections::HashMap;

    let today = crate::calendar::day_key(now);
    let records = draw_records::Entity::find()
        .filter(draw_records::Column::PoolId.eq(pool.id))
        .order_by_asc(draw_records::Column::Id)
        .all(db)
        .await?;
    let grants = chance_grants::Entity::find()
        .filter(chance_grants::Column::PoolId.eq(pool.id))
        .all(db)
        .await?;
    let mut counts: HashMap<String, (u32, bool)> = HashMap::new();
    let mut add =
        |name: String, by: u32, expires: bool| counts.entry(name).or_insert((0, expires)).0 += by;
    let mut since: HashMap<i64, u32> = HashMap::new();
    // A stocked prize's counter is the highest unit handed out, which a refused draw can leave above the count.
    let mut highest_unit: HashMap<i64, u32> = HashMap::new();
    for record in &records {
        add(counter::stock(record.prize_id), 1, false);
        if let Some(seq) = record.stock_seq {
            let highest = highest_unit.entry(record.prize_id).or_default();
            *highest = (*highest).max(seq.max(0) as u32);
        }
        add(counter::used(record.user_id), 1, false);
        add(counter::won(record.user_id, record.prize_id), 1, false);
        if record.day == today {
            add(
                counter::won_on(record.user_id, &today, record.prize_id),
                1,
                true,
            );
        }
        if let Some(tier) = pool.guarantee_tier {
            let counter = since.entry(record.user_id).or_insert(0);
            *counter = if record.tier <= tier { 0 } else { *counter + 1 };
        }
    }
    for grant in &grants {
        add(
            counter::granted(grant.user_id),
            grant.amount.max(0) as u32,
            false,
        );
    }
    for (prize_id, highest) in highest_unit {
        let entry = counts.entry(counter::stock(prize_id)).or_insert((0, false));
        entry.0 = entry.0.max(highest);
    }
    let mut values: Vec<CounterValue> = counts
        .into_iter()
        .map(|(name, (value, expires))| CounterValue {
            name,
            value,
            expires,
        })
        .collect();
    values.extend(since.into_iter().map(|(user, value)| CounterValue {
        name: counter::since(user),
        value,
        expires: false,
    }));
    store
        .restore_pool_counters(&campaign.slug, pool.id, &values)
        .await?;
    Ok(values.len())
}

/// Reconciles every pool of every campaign that has not ended.
pub async fn reconcile_all(
    db: &DatabaseConnection,
    store: &dyn crate::store::StateStore,
    now: DateTime<Utc>,
) -> Result<usize, LotteryError> {
    let mut counters = 0;
    for campaign in campaigns::Entity::find()
        .filter(campaigns::Column::EndsAt.gt(now))
        .all(db)
        .await?
    {
        for pool in prize_pools::Entity::find()
            .filter(prize_pools::Column::CampaignId.eq(campaign.id))
            .all(db)
            .await?
        {
            counters += reconcile_pool(db, store, &campaign, &pool, now).await?;
        }
    }
    Ok(counters)
}
