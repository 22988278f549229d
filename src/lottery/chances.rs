//! Draw chances: granted (through `rewards`) once per source reference within the pool's caps, or bought with
//! points.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::model::LotteryError;
use super::pools::{campaign, pool_and_prizes, published_pool};
use crate::campaigns::gate::{self, Scope};
use crate::entities::chance_grants;
use crate::rewards::{self, Chances, Grant, Granted, PointsChange, Reward, Rewards};
use crate::state::Context;

/// Grants up to `amount` draw chances in their own transaction, once per source reference and within the
/// pool's caps; returns how many were granted (0 for a repeat or a reached cap).
pub async fn grant_chances(
    cx: Context<'_>,
    user_id: i64,
    campaign_slug: &str,
    pool_id: i64,
    source: &str,
    source_ref: &str,
    amount: u32,
) -> Result<u32, LotteryError> {
    let Context { db, store, now } = cx;
    let txn = crate::db::begin_write(db).await?;
    let mut rewards = Rewards::new(now);
    let grant = Grant {
        user_id,
        source_ref,
        reward: Reward::Chances(Chances {
            campaign: campaign_slug,
            pool_id,
            amount,
            source,
            all_or_none: false,
        }),
    };
    let granted = match rewards.grant(&txn, &grant).await? {
        Granted::Chances(granted) => granted,
        _ => 0,
    };
    txn.commit().await?;
    rewards.after_commit(store).await;
    Ok(granted)
}

/// Exchanges points for `count` chances of a live campaign's pool, once per `request_key`: all of them within
/// the caps, or none (`chance_cap_reached`). The points and the grant are one transaction.
pub async fn buy_chances(
    cx: Context<'_>,
    user_id: i64,
    campaign_slug: &str,
    pool_slug: &str,
    count: u32,
    request_key: &str,
) -> Result<u32, LotteryError> {
    let Context { db, store, now } = cx;
    if !(1..=100).contains(&count) {
        return Err(LotteryError::Invalid("count: 1 to 100 chances".into()));
    }
    let source_ref = format!("chances:{user_id}:{request_key}");
    let txn = crate::db::begin_write(db).await?;
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
    gate::check(&txn, store, &campaign, Scope::Pool(pool_slug), now).await?;
    let cost = pool.chance_cost_points.ok_or(LotteryError::NotForSale)?;
    let spend = PointsChange {
        user_id,
        delta: -(i64::from(cost) * i64::from(count)),
        reason: "chance_exchange",
        source_ref: &source_ref,
        campaign: Some(&campaign.slug),
    };
    // All of them or none (the caps are checked first); a refusal of either rolls the other back.
    let mut rewards = Rewards::new(now);
    let grant = Grant {
        user_id,
        source_ref: &source_ref,
        reward: Reward::Chances(Chances {
            campaign: &campaign.slug,
            pool_id: pool.id,
            amount: count,
            source: "points_exchange",
            all_or_none: true,
        }),
    };
    rewards.grant(&txn, &grant).await?;
    rewards::spend_points(&txn, &spend, now).await?;
    txn.commit().await?;
    rewards.after_commit(store).await;
    Ok(count)
}

/// A customer's draw chances in a pool, as the database counts them.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ChancesLeft {
    /// Draws the customer can make now, today's free chances included.
    pub left: u32,
    /// Of `left`, the free chances of today not yet granted (they are granted on the day's first draw).
    pub free_today: u32,
    /// Points one more chance costs, when chances are for sale.
    pub cost_points: Option<i32>,
}

/// The chances a customer has left in a pool of a published campaign.
pub async fn chances_left(
    cx: Context<'_>,
    user_id: i64,
    campaign_slug: &str,
    pool_slug: &str,
) -> Result<ChancesLeft, LotteryError> {
    let Context { db, now, .. } = cx;
    let (_, pool) = published_pool(db, campaign_slug, pool_slug).await?;
    let counts = super::guard::customer_counts(db, pool.id, user_id).await?;
    let day = crate::calendar::day_key(now);
    let free_granted =
        rewards::chances_granted_under(db, &daily_free_ref(pool.id, user_id, &day)).await?;
    // What the day's first draw would grant: the free chances, within the pool's caps.
    let free_today = match free_granted || pool.daily_free_chances <= 0 {
        true => 0,
        false => {
            let wanted = pool.daily_free_chances as u32;
            rewards::chances_within_caps(db, &pool, user_id, wanted, now).await?
        }
    };
    Ok(ChancesLeft {
        left: counts.granted.saturating_sub(counts.draws) + free_today,
        free_today,
        cost_points: pool.chance_cost_points,
    })
}

/// The source reference of a customer's free chances of one day: granted once, whichever draw comes first.
pub(super) fn daily_free_ref(pool_id: i64, user_id: i64, day: &str) -> String {
    format!("daily_free:{pool_id}:{user_id}:{day}")
}
