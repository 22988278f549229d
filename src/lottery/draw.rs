//! One draw: the gate, the store's atomic step, then the durable record and its grant (or the store step undone).

use chrono_tz::Asia::Shanghai;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::chances::grant_chances;
use super::model::{LotteryError, PrizeKind};
use super::pools::{pool_and_prizes, published, PublishedPrize};
use crate::campaigns::gate::{self, Scope};
use crate::entities::{campaigns, draw_records, prize_pools, prizes};
use crate::rewards::{Grant, Reward, RewardError, Rewards};
use crate::state::Context;
use crate::store::lottery::{DrawOutcome, DrawSpec, Guarantee, PrizeRule, Won};

/// What a customer gets from a draw.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DrawResult {
    pub draw_id: i64,
    pub prize: PublishedPrize,
    pub guaranteed: bool,
}

/// One draw: the campaign must be live; the store decides in one atomic step (pause, chance, limits,
/// guarantee, stock); then the record and its grant are written together, or the store step is undone.
pub async fn draw(
    cx: Context<'_>,
    user_id: i64,
    campaign_slug: &str,
    pool_slug: &str,
    idempotency_key: &str,
) -> Result<DrawResult, LotteryError> {
    let Context { db, store, now } = cx;
    let campaign = gate::admit(db, store, campaign_slug, Scope::Pool(pool_slug), now)
        .await?
        .campaign;
    let (pool, prizes) = pool_and_prizes(db, &campaign, pool_slug).await?;
    let day = now.with_timezone(&Shanghai).format("%Y-%m-%d").to_string();
    if pool.daily_free_chances > 0 {
        let source_ref = format!("daily_free:{}:{user_id}:{day}", pool.id);
        grant_chances(
            cx,
            user_id,
            campaign_slug,
            pool.id,
            "daily_free",
            &source_ref,
            pool.daily_free_chances as u32,
        )
        .await?;
    }
    let request_id =
        hex::encode(&Sha256::digest(format!("{user_id}|{}|{idempotency_key}", pool.id))[..16]);
    let spec = DrawSpec {
        campaign: campaign.slug.clone(),
        pool_id: pool.id,
        user_id,
        request_id: request_id.clone(),
        day: day.clone(),
        prizes: prizes
            .iter()
            .map(|p| PrizeRule {
                id: p.id,
                tier: p.tier,
                weight: p.weight_bp as u32,
                stock: p.stock_total.map(|s| s as u32),
                per_user_total: p.per_user_total.map(|s| s as u32),
                per_user_daily: p.per_user_daily.map(|s| s as u32),
            })
            .collect(),
        guarantee: pool
            .guarantee_after
            .zip(pool.guarantee_tier)
            .map(|(after, tier)| Guarantee {
                after: after as u32,
                tier,
            }),
        consolation: pool
            .consolation_prize
            .as_ref()
            .and_then(|slug| prizes.iter().position(|p| &p.slug == slug)),
        random: rand::random::<u64>() >> 11,
    };
    let (won, fresh) = match store.draw(&spec).await? {
        DrawOutcome::Won(won) => (won, true),
        DrawOutcome::Replayed(won) => (won, false),
        DrawOutcome::Paused => return Err(LotteryError::Paused),
        DrawOutcome::NoChance => return Err(LotteryError::NoChance),
        DrawOutcome::OutOfStock => return Err(LotteryError::OutOfStock),
    };
    let prize = prizes
        .iter()
        .find(|p| p.id == won.prize_id)
        .ok_or_else(|| {
            LotteryError::Unexpected(anyhow::anyhow!("drawn prize is not in the pool"))
        })?;
    let drawn = Drawn {
        campaign: &campaign,
        pool: &pool,
        prize,
        won: &won,
    };
    match record(cx, user_id, &drawn, &request_id, &day).await {
        Ok(recorded) => {
            if fresh && !recorded.created {
                // The store lost this request (a flush) and drew again: the record already answers it.
                store.undo_draw(&spec, &won).await?;
            }
            let drawn = prizes
                .iter()
                .find(|p| p.id == recorded.prize_id)
                .ok_or(LotteryError::NotFound)?;
            // Built from the rows the draw read, not read again.
            let mut published = published(&pool, drawn);
            // Drawn, a blind box's prize is revealed.
            published.name = drawn.name.clone();
            Ok(DrawResult {
                draw_id: recorded.draw_id,
                prize: published,
                guaranteed: recorded.guaranteed,
            })
        }
        Err(error) => {
            if fresh {
                if let Err(undo) = store.undo_draw(&spec, &won).await {
                    tracing::error!(
                        ?undo,
                        "could not undo a draw whose record failed; reconciliation will repair it"
                    );
                }
            }
            Err(error)
        }
    }
}

pub(super) struct Recorded {
    draw_id: i64,
    prize_id: i64,
    guaranteed: bool,
    /// False when the request had been recorded before: that record stands.
    created: bool,
}

/// What the store's atomic step drew.
pub(super) struct Drawn<'a> {
    campaign: &'a campaigns::Model,
    pool: &'a prize_pools::Model,
    prize: &'a prizes::Model,
    won: &'a Won,
}

/// The draw record and what it grants, in one transaction; a repeat of the same request finds its record.
pub(super) async fn record(
    cx: Context<'_>,
    user_id: i64,
    drawn: &Drawn<'_>,
    request_id: &str,
    day: &str,
) -> Result<Recorded, LotteryError> {
    let Context { db, store, now } = cx;
    let Drawn {
        campaign,
        pool,
        prize,
        won,
    } = drawn;
    let txn = crate::db::begin_write(db).await?;
    if let Some(existing) = draw_records::Entity::find()
        .filter(draw_records::Column::RequestId.eq(request_id))
        .one(&txn)
        .await?
    {
        txn.rollback().await?;
        return Ok(Recorded {
            draw_id: existing.id,
            prize_id: existing.prize_id,
            guaranteed: existing.guaranteed,
            created: false,
        });
    }
    let record = draw_records::ActiveModel {
        request_id: Set(request_id.to_owned()),
        user_id: Set(user_id),
        pool_id: Set(pool.id),
        prize_id: Set(prize.id),
        tier: Set(prize.tier),
        guaranteed: Set(won.guaranteed),
        day: Set(day.to_owned()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let source_ref = format!("draw:{request_id}");
    let mut rewards = Rewards::new(now);
    if prize.kind == PrizeKind::Points.as_str() {
        let points = Reward::Points {
            amount: prize.points,
            reason: "lottery_prize",
            campaign: Some(&campaign.slug),
        };
        rewards
            .grant(&txn, &grant(user_id, &source_ref, points))
            .await
            .map_err(|e| LotteryError::Unexpected(e.into()))?;
    }
    if let Some(template) = &prize.coupon_template {
        let coupon = Reward::Coupon { template };
        rewards
            .grant(&txn, &grant(user_id, &source_ref, coupon))
            .await
            .map_err(|e| match e {
                // The prize's coupons are gone (or this customer holds all they may): the draw is undone.
                RewardError::CouponsSoldOut | RewardError::CouponLimitReached => {
                    LotteryError::OutOfStock
                }
                other => LotteryError::Unexpected(
                    anyhow::Error::new(other).context("issuing the prize coupon"),
                ),
            })?;
    }
    txn.commit().await?;
    rewards.after_commit(store).await;
    Ok(Recorded {
        draw_id: record.id,
        prize_id: prize.id,
        guaranteed: won.guaranteed,
        created: true,
    })
}

fn grant<'a>(user_id: i64, source_ref: &'a str, reward: Reward<'a>) -> Grant<'a> {
    Grant {
        user_id,
        source_ref,
        reward,
    }
}

/// Every draw of a pool, for auditors.
pub async fn draws(
    db: &DatabaseConnection,
    pool_id: Option<i64>,
    limit: u64,
) -> Result<Vec<draw_records::Model>, LotteryError> {
    use sea_orm::QuerySelect;
    let mut query = draw_records::Entity::find().order_by_desc(draw_records::Column::Id);
    if let Some(pool_id) = pool_id {
        query = query.filter(draw_records::Column::PoolId.eq(pool_id));
    }
    Ok(query.limit(limit.clamp(1, 500)).all(db).await?)
}
