//! Prize pools: created before their campaign goes live (then frozen), and their published odds.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use serde::Serialize;

use super::model::{validate, LotteryError, PoolInput, PoolKind, PrizeKind};
use crate::audit::{self, Actor};
use crate::calendar::{scheduled_status, Status};
use crate::campaigns::gate::{self};
use crate::entities::{campaigns, prize_pools, prizes};

pub(super) async fn campaign(
    conn: &impl ConnectionTrait,
    slug: &str,
) -> Result<campaigns::Model, LotteryError> {
    gate::find_campaign(conn, slug)
        .await?
        .ok_or(LotteryError::NotFound)
}

/// Adds a pool to a campaign that has not gone live: once customers can draw, the odds cannot change.
pub async fn create_pool(
    db: &DatabaseConnection,
    actor: &Actor,
    campaign_slug: &str,
    input: &PoolInput,
    now: DateTime<Utc>,
) -> Result<PoolOdds, LotteryError> {
    validate(input)?;
    let txn = crate::db::begin_write(db).await?;
    let campaign = campaign(&txn, campaign_slug).await?;
    if is_frozen(&campaign, now) {
        return Err(LotteryError::Frozen);
    }
    let pool = insert_pool(&txn, &campaign, input).await?;
    let odds = odds_of(&txn, &campaign, &pool).await?;
    audit::record(
        &txn,
        actor,
        audit::Entry::new(
            "pool.create",
            "prize_pool",
            format!("{campaign_slug}/{}", input.slug),
        )
        .after(&odds),
    )
    .await?;
    txn.commit().await?;
    Ok(odds)
}

/// Stores a checked pool and its prizes for `campaign` (from the staff API, or with its campaign from the
/// calendar file).
pub async fn insert_pool(
    txn: &impl ConnectionTrait,
    campaign: &campaigns::Model,
    input: &PoolInput,
) -> Result<prize_pools::Model, LotteryError> {
    validate(input)?;
    for prize in &input.prizes {
        if let Some(template) = &prize.coupon_template {
            let found = crate::entities::coupon_templates::Entity::find()
                .filter(crate::entities::coupon_templates::Column::Slug.eq(template.as_str()))
                .one(txn)
                .await?;
            if prize.kind != PrizeKind::Coupon || found.is_none() {
                return Err(LotteryError::Invalid(format!(
                    "prize {}: coupon_template must name an existing template, on a coupon prize",
                    prize.slug
                )));
            }
        }
    }
    let pool = prize_pools::ActiveModel {
        campaign_id: Set(campaign.id),
        slug: Set(input.slug.clone()),
        name: Set(input.name.clone()),
        kind: Set(match input.kind {
            PoolKind::Lottery => "lottery",
            PoolKind::BlindBox => "blind_box",
        }
        .into()),
        daily_free_chances: Set(input.daily_free_chances as i32),
        guarantee_after: Set(input.guarantee.as_ref().map(|g| g.after as i32)),
        guarantee_tier: Set(input.guarantee.as_ref().map(|g| g.tier)),
        consolation_prize: Set(input.consolation.clone()),
        chance_daily_cap: Set(input.chance_daily_cap.map(|c| c as i32)),
        chance_total_cap: Set(input.chance_total_cap.map(|c| c as i32)),
        chance_cost_points: Set(input.chance_cost_points.map(|c| c as i32)),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(txn)
    .await
    .map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            LotteryError::Invalid("a pool with this slug exists".into())
        }
        _ => e.into(),
    })?;
    for (position, prize) in input.prizes.iter().enumerate() {
        prizes::ActiveModel {
            pool_id: Set(pool.id),
            slug: Set(prize.slug.clone()),
            name: Set(prize.name.clone()),
            tier: Set(prize.tier),
            kind: Set(prize.kind.as_str().into()),
            value_fen: Set(prize.value_fen),
            points: Set(prize.points),
            weight_bp: Set(prize.weight_bp),
            stock_total: Set(prize.stock.map(|s| s as i32)),
            per_user_total: Set(prize.per_user_total.map(|s| s as i32)),
            per_user_daily: Set(prize.per_user_daily.map(|s| s as i32)),
            position: Set(position as i32),
            coupon_template: Set(prize.coupon_template.clone()),
            ..Default::default()
        }
        .insert(txn)
        .await?;
    }
    Ok(pool)
}

/// A pool's published terms, generated from the same rows the draw reads.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PoolOdds {
    pub campaign: String,
    pub pool: String,
    pub name: String,
    pub kind: String,
    pub daily_free_chances: i32,
    pub guarantee: Option<String>,
    pub prizes: Vec<PublishedPrize>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublishedPrize {
    pub slug: String,
    pub name: String,
    pub tier: i32,
    pub kind: String,
    pub value_fen: i64,
    pub points: i64,
    pub weight_bp: i32,
    /// The odds as customers read them, e.g. `0.10%`.
    pub probability: String,
    pub stock_total: Option<i32>,
    pub per_user_total: Option<i32>,
    pub per_user_daily: Option<i32>,
    pub consolation: bool,
}

/// Once customers can draw (a scheduled campaign gone live, or over), a campaign's pools and prizes never change.
fn is_frozen(campaign: &campaigns::Model, now: DateTime<Utc>) -> bool {
    scheduled_status(campaign, now).is_some_and(|status| status >= Status::Live)
}

/// A pool and its prizes, in position order.
pub(super) type PoolAndPrizes = (prize_pools::Model, Vec<prizes::Model>);

/// Frozen pools and their prizes, read once per instance: a draw then reads neither from the database. Only a
/// frozen campaign's pools are kept, so nothing kept can change (no route edits a frozen pool).
#[derive(Default)]
pub struct LivePools {
    pools: RwLock<HashMap<(i64, String), Arc<PoolAndPrizes>>>,
}

/// More live pools than a year's calendar holds: past it the cache starts over rather than grow.
const LIVE_POOLS_KEPT: usize = 1000;

impl LivePools {
    pub(super) async fn pool(
        &self,
        conn: &impl ConnectionTrait,
        campaign: &campaigns::Model,
        pool_slug: &str,
        now: DateTime<Utc>,
    ) -> Result<Arc<PoolAndPrizes>, LotteryError> {
        let key = (campaign.id, pool_slug.to_owned());
        if let Some(kept) = self.read().get(&key) {
            return Ok(kept.clone());
        }
        let loaded = Arc::new(pool_and_prizes(conn, campaign, pool_slug).await?);
        if is_frozen(campaign, now) {
            let mut pools = self
                .pools
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if pools.len() >= LIVE_POOLS_KEPT {
                pools.clear();
            }
            pools.insert(key, loaded.clone());
        }
        Ok(loaded)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<(i64, String), Arc<PoolAndPrizes>>> {
        self.pools
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

pub(super) async fn pool_and_prizes(
    conn: &impl ConnectionTrait,
    campaign: &campaigns::Model,
    pool_slug: &str,
) -> Result<PoolAndPrizes, LotteryError> {
    let pool = prize_pools::Entity::find()
        .filter(prize_pools::Column::CampaignId.eq(campaign.id))
        .filter(prize_pools::Column::Slug.eq(pool_slug))
        .one(conn)
        .await?
        .ok_or(LotteryError::NotFound)?;
    let prizes = prizes::Entity::find()
        .filter(prizes::Column::PoolId.eq(pool.id))
        .order_by_asc(prizes::Column::Position)
        .all(conn)
        .await?;
    Ok((pool, prizes))
}

pub(super) async fn odds_of(
    conn: &impl ConnectionTrait,
    campaign: &campaigns::Model,
    pool: &prize_pools::Model,
) -> Result<PoolOdds, LotteryError> {
    let (pool, prizes) = pool_and_prizes(conn, campaign, &pool.slug).await?;
    Ok(PoolOdds {
        campaign: campaign.slug.clone(),
        pool: pool.slug.clone(),
        name: pool.name.clone(),
        kind: pool.kind.clone(),
        daily_free_chances: pool.daily_free_chances,
        guarantee: match (pool.guarantee_after, pool.guarantee_tier) {
            (Some(after), Some(tier)) => Some(format!(
                "{after} 次内未抽中 {tier} 等奖及以上，第 {after} 次必得"
            )),
            _ => None,
        },
        prizes: prizes.iter().map(|p| published(&pool, p)).collect(),
    })
}

pub async fn odds(
    db: &DatabaseConnection,
    campaign_slug: &str,
    pool_slug: &str,
) -> Result<PoolOdds, LotteryError> {
    let (campaign, pool) = published_pool(db, campaign_slug, pool_slug).await?;
    odds_of(db, &campaign, &pool).await
}

/// A pool of a campaign customers can see (not a draft: a draft's pools do not exist for them).
pub(super) async fn published_pool(
    db: &DatabaseConnection,
    campaign_slug: &str,
    pool_slug: &str,
) -> Result<(campaigns::Model, prize_pools::Model), LotteryError> {
    let campaign = campaign(db, campaign_slug).await?;
    if campaign.status == Status::Draft.as_str() {
        return Err(LotteryError::NotFound);
    }
    let (pool, _) = pool_and_prizes(db, &campaign, pool_slug).await?;
    Ok((campaign, pool))
}

/// A prize as customers read it, from the pool and prize rows in hand.
pub(super) fn published(pool: &prize_pools::Model, p: &prizes::Model) -> PublishedPrize {
    PublishedPrize {
        slug: p.slug.clone(),
        // A blind box publishes each prize's tier, value and odds, but not what it is until drawn.
        name: match pool.kind.as_str() {
            "blind_box" => format!("{} 等奖（开启后揭晓）", p.tier),
            _ => p.name.clone(),
        },
        tier: p.tier,
        kind: p.kind.clone(),
        value_fen: p.value_fen,
        points: p.points,
        weight_bp: p.weight_bp,
        probability: format!("{}.{:02}%", p.weight_bp / 100, p.weight_bp % 100),
        stock_total: p.stock_total,
        per_user_total: p.per_user_total,
        per_user_daily: p.per_user_daily,
        consolation: pool.consolation_prize.as_deref() == Some(p.slug.as_str()),
    }
}
