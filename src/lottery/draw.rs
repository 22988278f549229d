//! One draw: the gate, the store's atomic step (on counters rebuilt from the database if the store forgot them),
//! then the durable record and its grant within the database's own limits (or the store step undone).

use std::time::{Duration, Instant};

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set, SqlErr,
};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::chances::{daily_free_ref, grant_chances};
use super::guard::{self, Refusal};
use super::model::{LotteryError, PrizeKind};
use super::pools::{published, LivePools, PublishedPrize};
use super::rebuild::{owes_chances, rebuild, PoolScope};
use crate::campaigns::gate::{self, Scope};
use crate::entities::{campaigns, draw_records, prize_pools, prizes};
use crate::rewards::{chances_granted_under, Grant, Reward, RewardError, Rewards};
use crate::state::Context;
use crate::store::lottery::{self, DrawOutcome, DrawSpec, Guarantee, PrizeRule, Won};

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
    live_pools: &LivePools,
    user_id: i64,
    campaign_slug: &str,
    pool_slug: &str,
    idempotency_key: &str,
) -> Result<DrawResult, LotteryError> {
    let Context { db, store, now } = cx;
    let campaign = gate::admit(db, store, campaign_slug, Scope::Pool(pool_slug), now)
        .await?
        .campaign;
    let kept = live_pools.pool(db, &campaign, pool_slug, now).await?;
    let (pool, prizes) = (&kept.0, &kept.1);
    let day = crate::calendar::day_key(now);
    let free_ref = daily_free_ref(pool.id, user_id, &day);
    // Today's free chances are granted by the day's first draw; the others only read that they were.
    if pool.daily_free_chances > 0 && !chances_granted_under(db, &free_ref).await? {
        grant_chances(
            cx,
            user_id,
            campaign_slug,
            pool.id,
            "daily_free",
            &free_ref,
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
    let scope = PoolScope {
        campaign: &campaign.slug,
        pool,
        prizes,
    };
    let mut attempt = 1;
    loop {
        let (won, fresh) = decide(cx, &spec, &scope).await?;
        let prize = prizes
            .iter()
            .find(|p| p.id == won.prize_id)
            .ok_or_else(|| {
                LotteryError::Unexpected(anyhow::anyhow!("drawn prize is not in the pool"))
            })?;
        let drawn = Drawn {
            campaign: &campaign,
            pool,
            prize,
            won: &won,
        };
        match record(cx, user_id, &drawn, &request_id, &day).await {
            Ok(Ok(recorded)) => {
                if fresh && !recorded.created {
                    // The store lost this request (a flush) and drew again: the record already answers it.
                    store.undo_draw(&spec, &won, true).await?;
                }
                let drawn = prizes
                    .iter()
                    .find(|p| p.id == recorded.prize_id)
                    .ok_or(LotteryError::NotFound)?;
                // Built from the rows the draw read, not read again.
                let mut published = published(pool, drawn);
                // Drawn, a blind box's prize is revealed.
                published.name = drawn.name.clone();
                return Ok(DrawResult {
                    draw_id: recorded.draw_id,
                    prize: published,
                    guaranteed: recorded.guaranteed,
                });
            }
            Ok(Err(refusal)) => {
                // The store allowed what the database refuses: undo the step there, rebuild the scope that was
                // wrong, and draw again on the corrected counters (a few times at most).
                tracing::warn!(
                    ?refusal,
                    pool = pool.id,
                    "the database refused a draw the store allowed"
                );
                if fresh {
                    store
                        .undo_draw(&spec, &won, refusal.releases_unit())
                        .await?;
                }
                let last = attempt >= REDRAWS;
                if let Some(wrong) = refusal.wrong_scope(user_id, last) {
                    store.forget(&campaign.slug, pool.id, wrong).await?;
                }
                if last {
                    return Err(match refusal {
                        Refusal::NoChance => LotteryError::NoChance,
                        _ => LotteryError::OutOfStock,
                    });
                }
                attempt += 1;
            }
            Err(error) => {
                if fresh {
                    if let Err(undo) = store.undo_draw(&spec, &won, true).await {
                        tracing::error!(
                            ?undo,
                            "could not undo a draw whose record failed; reconciliation will repair it"
                        );
                    }
                }
                return Err(error);
            }
        }
    }
}

/// Store steps one draw may take when the database refuses what the store allowed.
const REDRAWS: u32 = 4;
/// How long a draw waits, in all, for another instance to rebuild counters the store forgot, before answering
/// `store_rebuilding`. Only waiting counts: a draw that rebuilt the counters itself goes on to draw, however
/// long the database took.
const REBUILD_WAIT: Duration = Duration::from_secs(2);
const REBUILD_POLL: Duration = Duration::from_millis(25);
/// Store steps one decision may take, rebuilds it may do itself, and the time it may take in all: markers that
/// keep vanishing (eviction, racing refusals) end in a 503, never in a request that runs on.
const DECIDE_PASSES: u32 = 100;
const OWN_REBUILDS: u32 = 3;
const DECIDE_LIMIT: Duration = Duration::from_secs(10);

/// The store's atomic step, run on counters it can trust: a forgotten scope is rebuilt from the database first
/// (or, while another instance rebuilds it, waited for), and a "no chance" is checked against the database once.
/// Returns what was drawn and whether this request drew it (not a replay).
async fn decide(
    cx: Context<'_>,
    spec: &DrawSpec,
    scope: &PoolScope<'_>,
) -> Result<(Won, bool), LotteryError> {
    let Context { db, store, now } = cx;
    let started = Instant::now();
    let mut waited = Duration::ZERO;
    let mut rebuilt = 0;
    let mut chances_checked = false;
    for _ in 0..DECIDE_PASSES {
        if started.elapsed() >= DECIDE_LIMIT {
            break;
        }
        match store.draw(spec).await? {
            DrawOutcome::Won(won) => return Ok((won, true)),
            DrawOutcome::Replayed(won) => return Ok((won, false)),
            DrawOutcome::Paused => return Err(LotteryError::Paused),
            DrawOutcome::OutOfStock => return Err(LotteryError::OutOfStock),
            DrawOutcome::NoChance => {
                // A grant whose store step was lost leaves the store short: the database has the last word.
                if chances_checked || !owes_chances(db, spec.pool_id, spec.user_id).await? {
                    return Err(LotteryError::NoChance);
                }
                chances_checked = true;
                let customer = lottery::Scope::User(spec.user_id);
                store.forget(&spec.campaign, spec.pool_id, customer).await?;
            }
            DrawOutcome::Forgotten(forgotten) => {
                if rebuilt >= OWN_REBUILDS {
                    break;
                }
                if rebuild(db, store, scope, spec.user_id, forgotten, now).await? {
                    rebuilt += 1;
                } else {
                    if waited >= REBUILD_WAIT {
                        return Err(LotteryError::StoreRebuilding);
                    }
                    tokio::time::sleep(REBUILD_POLL).await;
                    waited += REBUILD_POLL;
                }
            }
        }
    }
    Err(LotteryError::StoreRebuilding)
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

/// The draw record and what it grants, in one transaction, within the limits the database holds (or a
/// `Refusal`); a repeat of the same request finds its record.
pub(super) async fn record(
    cx: Context<'_>,
    user_id: i64,
    drawn: &Drawn<'_>,
    request_id: &str,
    day: &str,
) -> Result<Result<Recorded, Refusal>, LotteryError> {
    let Context { db, store, now } = cx;
    let Drawn {
        campaign,
        pool,
        prize,
        won,
    } = drawn;
    let txn = crate::db::begin_write(db).await?;
    if let Some(existing) = recorded(&txn, request_id).await? {
        txn.rollback().await?;
        return Ok(Ok(existing));
    }
    if let Some(refusal) = guard::check(&txn, user_id, prize, won.stock_seq, day).await? {
        txn.rollback().await?;
        return Ok(Err(refusal));
    }
    let inserted = draw_records::ActiveModel {
        request_id: Set(request_id.to_owned()),
        user_id: Set(user_id),
        pool_id: Set(pool.id),
        prize_id: Set(prize.id),
        tier: Set(prize.tier),
        guaranteed: Set(won.guaranteed),
        day: Set(day.to_owned()),
        stock_seq: Set(won.stock_seq.map(|seq| seq as i32)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    let record = match inserted {
        Ok(record) => record,
        Err(error) if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            // Another draw holds this stock unit, or (a retry racing itself after a flush) this request.
            txn.rollback().await?;
            return Ok(match recorded(db, request_id).await? {
                Some(existing) => Ok(existing),
                None => Err(Refusal::StockTaken),
            });
        }
        Err(error) => return Err(error.into()),
    };
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
    Ok(Ok(Recorded {
        draw_id: record.id,
        prize_id: prize.id,
        guaranteed: won.guaranteed,
        created: true,
    }))
}

/// The record of an earlier draw under `request_id`, if any.
async fn recorded(
    conn: &impl ConnectionTrait,
    request_id: &str,
) -> Result<Option<Recorded>, LotteryError> {
    Ok(draw_records::Entity::find()
        .filter(draw_records::Column::RequestId.eq(request_id))
        .one(conn)
        .await?
        .map(|existing| Recorded {
            draw_id: existing.id,
            prize_id: existing.prize_id,
            guaranteed: existing.guaranteed,
            created: false,
        }))
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
