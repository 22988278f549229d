//! Draw chances: granted once per source reference within the pool's caps, or bought with points.

use chrono::{DateTime, Utc};
use chrono_tz::Asia::Shanghai;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
};

use super::model::LotteryError;
use super::pools::{campaign, pool_and_prizes};
use crate::campaigns::gate::{self, Scope};
use crate::entities::{chance_grants, prize_pools};
use crate::points::service::{self as points, PointsChange};
use crate::state::AppState;

/// The chances `wanted` may grant today under the pool's caps: all of them, fewer, or none. Called with the pool
/// row locked, so concurrent grants to one user cannot pass a cap together.
pub(super) async fn within_caps(
    txn: &impl ConnectionTrait,
    pool: &prize_pools::Model,
    user_id: i64,
    wanted: u32,
    now: DateTime<Utc>,
) -> Result<u32, LotteryError> {
    use chrono::TimeZone;
    use sea_orm::QuerySelect;
    let granted_since = |since: Option<DateTime<Utc>>| async move {
        let mut query = chance_grants::Entity::find()
            .select_only()
            .column_as(chance_grants::Column::Amount.sum(), "total")
            .filter(chance_grants::Column::UserId.eq(user_id))
            .filter(chance_grants::Column::PoolId.eq(pool.id));
        if let Some(since) = since {
            query = query.filter(chance_grants::Column::CreatedAt.gte(since));
        }
        let total: Option<Option<i64>> = query.into_tuple().one(txn).await?;
        Ok::<u32, DbErr>(total.flatten().unwrap_or(0).max(0) as u32)
    };
    let mut allowed = wanted;
    if let Some(cap) = pool.chance_total_cap {
        allowed = allowed.min((cap as u32).saturating_sub(granted_since(None).await?));
    }
    if let Some(cap) = pool.chance_daily_cap {
        let local = now
            .with_timezone(&Shanghai)
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default();
        let start = Shanghai
            .from_local_datetime(&local)
            .single()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(now);
        allowed = allowed.min((cap as u32).saturating_sub(granted_since(Some(start)).await?));
    }
    Ok(allowed)
}

pub(super) async fn lock_pool(
    txn: &impl ConnectionTrait,
    pool_id: i64,
) -> Result<prize_pools::Model, LotteryError> {
    use sea_orm::QuerySelect;
    prize_pools::Entity::find_by_id(pool_id)
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or(LotteryError::NotFound)
}

pub(super) async fn insert_grant(
    txn: &impl ConnectionTrait,
    user_id: i64,
    pool_id: i64,
    source: &str,
    source_ref: &str,
    amount: u32,
    now: DateTime<Utc>,
) -> Result<(), LotteryError> {
    chance_grants::ActiveModel {
        user_id: Set(user_id),
        pool_id: Set(pool_id),
        source: Set(source.to_owned()),
        source_ref: Set(source_ref.to_owned()),
        amount: Set(amount as i32),
        // The caps count grants by this time: it must be the same clock they are measured with.
        created_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// Grants up to `amount` draw chances, once per source reference and within the pool's caps; returns how many
/// were granted (0 for a repeat or a reached cap). Recorded in the database, then counted in the store.
pub async fn grant_chances(
    state: &AppState,
    user_id: i64,
    campaign_slug: &str,
    pool_id: i64,
    source: &str,
    source_ref: &str,
    amount: u32,
) -> Result<u32, LotteryError> {
    let txn = crate::db::begin_write(&state.db).await?;
    let granted = record_grant(
        &txn,
        user_id,
        pool_id,
        source,
        source_ref,
        amount,
        state.clock.now(),
    )
    .await?;
    txn.commit().await?;
    if granted > 0 {
        state
            .store
            .add_chances(campaign_slug, pool_id, user_id, granted)
            .await?;
    }
    Ok(granted)
}

/// Records a grant of up to `amount` chances on the caller's transaction, once per source reference and within
/// the pool's caps; returns how many (0 for a repeat or a reached cap). The caller adds them to the store after
/// its commit.
pub async fn record_grant(
    txn: &impl ConnectionTrait,
    user_id: i64,
    pool_id: i64,
    source: &str,
    source_ref: &str,
    amount: u32,
    now: DateTime<Utc>,
) -> Result<u32, LotteryError> {
    let pool = lock_pool(txn, pool_id).await?;
    let repeat = chance_grants::Entity::find()
        .filter(chance_grants::Column::SourceRef.eq(source_ref))
        .one(txn)
        .await?;
    let granted = match repeat {
        Some(_) => 0,
        None => within_caps(txn, &pool, user_id, amount, now).await?,
    };
    if granted > 0 {
        insert_grant(txn, user_id, pool_id, source, source_ref, granted, now).await?;
    }
    Ok(granted)
}

/// Exchanges points for `count` chances of a live campaign's pool, once per `request_key`: all of them within
/// the caps, or none (`chance_cap_reached`). The points and the grant are one transaction.
pub async fn buy_chances(
    state: &AppState,
    user_id: i64,
    campaign_slug: &str,
    pool_slug: &str,
    count: u32,
    request_key: &str,
) -> Result<u32, LotteryError> {
    if !(1..=100).contains(&count) {
        return Err(LotteryError::Invalid("count: 1 to 100 chances".into()));
    }
    let now = state.clock.now();
    let source_ref = format!("chances:{user_id}:{request_key}");
    let txn = crate::db::begin_write(&state.db).await?;
    let campaign = campaign(&txn, campaign_slug).await?;
    let (pool, _) = pool_and_prizes(&txn, &campaign, pool_slug).await?;
    if let Some(done) = chance_grants::Entity::find()
        .filter(chance_grants::Column::SourceRef.eq(source_ref.as_str()))
        .one(&txn)
        .await?
    {
        // The grant row is the durable record of the key: another pool or count is another request.
        if done.pool_id != pool.id || u32::try_from(done.amount) != Ok(count) {
            return Err(LotteryError::KeyReused);
        }
        return Ok(count);
    }
    gate::check(
        &txn,
        state.store.as_ref(),
        &campaign,
        Scope::Pool(pool_slug),
        now,
    )
    .await?;
    let pool = lock_pool(&txn, pool.id).await?;
    let cost = pool.chance_cost_points.ok_or(LotteryError::NotForSale)?;
    if within_caps(&txn, &pool, user_id, count, now).await? < count {
        return Err(LotteryError::ChanceCapReached);
    }
    let spend = PointsChange {
        user_id,
        delta: -(i64::from(cost) * i64::from(count)),
        reason: "chance_exchange",
        source_ref: &source_ref,
        campaign: Some(&campaign.slug),
    };
    points::apply(&txn, &spend, 100).await?;
    insert_grant(
        &txn,
        user_id,
        pool.id,
        "points_exchange",
        &source_ref,
        count,
        now,
    )
    .await?;
    txn.commit().await?;
    state
        .store
        .add_chances(&campaign.slug, pool.id, user_id, count)
        .await?;
    Ok(count)
}
