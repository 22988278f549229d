//! Draw chances, granted once per source reference within the pool's caps (total and per Asia/Shanghai day).

use chrono::{DateTime, Utc};
use chrono_tz::Asia::Shanghai;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
};

use super::{Chances, RewardError};
use crate::entities::{chance_grants, prize_pools, users};

/// The campaign's prize pool named `slug`: what a reward in chances names (a quiz level's, a team's).
pub async fn pool_by_slug(
    conn: &impl ConnectionTrait,
    campaign_id: i64,
    slug: &str,
) -> Result<Option<prize_pools::Model>, DbErr> {
    prize_pools::Entity::find()
        .filter(prize_pools::Column::CampaignId.eq(campaign_id))
        .filter(prize_pools::Column::Slug.eq(slug))
        .one(conn)
        .await
}

/// The chances granted to `user_id` in `pool_id` (since `since`, or ever): what the pool's caps, and the draw's
/// database guard, count.
pub(crate) async fn granted(
    conn: &impl ConnectionTrait,
    user_id: i64,
    pool_id: i64,
    since: Option<DateTime<Utc>>,
) -> Result<u32, DbErr> {
    use sea_orm::QuerySelect;
    let mut query = chance_grants::Entity::find()
        .select_only()
        .column_as(chance_grants::Column::Amount.sum(), "total")
        .filter(chance_grants::Column::UserId.eq(user_id))
        .filter(chance_grants::Column::PoolId.eq(pool_id));
    if let Some(since) = since {
        query = query.filter(chance_grants::Column::CreatedAt.gte(since));
    }
    let total: Option<Option<i64>> = query.into_tuple().one(conn).await?;
    Ok(u32::try_from(total.flatten().unwrap_or(0).max(0)).unwrap_or(u32::MAX))
}

/// The chances `wanted` may grant today under the pool's caps: all of them, fewer, or none. Called with the pool
/// customer's row locked, so concurrent grants to one user cannot pass a cap together (or, unlocked, as a read of
/// what a grant now would give).
pub async fn within_caps(
    txn: &impl ConnectionTrait,
    pool: &prize_pools::Model,
    user_id: i64,
    wanted: u32,
    now: DateTime<Utc>,
) -> Result<u32, RewardError> {
    use chrono::TimeZone;
    let granted_since = |since| granted(txn, user_id, pool.id, since);
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

/// The pool, with its customer's row locked: the caps are per customer, so one customer's concurrent grants are
/// counted one after another while other customers' grants (and draws) do not wait. (SQLite writes one
/// transaction at a time: no lock to take.)
async fn lock_customer(
    txn: &impl ConnectionTrait,
    pool_id: i64,
    user_id: i64,
) -> Result<prize_pools::Model, RewardError> {
    use sea_orm::QuerySelect;
    if txn.get_database_backend() != sea_orm::DbBackend::Sqlite {
        users::Entity::find_by_id(user_id)
            .lock_exclusive()
            .one(txn)
            .await?;
    }
    prize_pools::Entity::find_by_id(pool_id)
        .one(txn)
        .await?
        .ok_or(RewardError::PoolNotFound)
}

/// Whether the grant under `source_ref` has been recorded: a read, so a repeat costs no write transaction.
pub async fn chances_granted_under(
    conn: &impl ConnectionTrait,
    source_ref: &str,
) -> Result<bool, DbErr> {
    Ok(chance_grants::Entity::find()
        .filter(chance_grants::Column::SourceRef.eq(source_ref))
        .one(conn)
        .await?
        .is_some())
}

async fn insert_grant(
    txn: &impl ConnectionTrait,
    user_id: i64,
    pool: &prize_pools::Model,
    source: &str,
    source_ref: &str,
    amount: u32,
    now: DateTime<Utc>,
) -> Result<(), RewardError> {
    chance_grants::ActiveModel {
        user_id: Set(user_id),
        pool_id: Set(pool.id),
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

/// Records a grant of `chances` on the caller's transaction, once per source reference and within the pool's
/// caps: fewer (or none) near a cap, or with `all_or_none`, all or a refusal. Returns how many were granted (0 for
/// a repeat).
pub(super) async fn grant(
    txn: &impl ConnectionTrait,
    user_id: i64,
    chances: &Chances<'_>,
    source_ref: &str,
    now: DateTime<Utc>,
) -> Result<u32, RewardError> {
    let pool = lock_customer(txn, chances.pool_id, user_id).await?;
    if chances_granted_under(txn, source_ref).await? {
        return Ok(0);
    }
    let granted = within_caps(txn, &pool, user_id, chances.amount, now).await?;
    if chances.all_or_none && granted < chances.amount {
        return Err(RewardError::ChanceCapReached);
    }
    if granted > 0 {
        insert_grant(
            txn,
            user_id,
            &pool,
            chances.source,
            source_ref,
            granted,
            now,
        )
        .await?;
    }
    Ok(granted)
}
