//! What customers won: the draws that gave something (every prize but a "thanks"), newest first, for "my
//! prizes" and for the staff who deliver physical prizes.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Query;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde::Serialize;

use super::model::{LotteryError, PrizeKind};
use crate::entities::{campaigns, draw_records, prize_pools, prizes};

/// One won prize, as its winner and the fulfilment staff see it (a blind box's prize revealed).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Win {
    pub draw_id: i64,
    #[serde(skip)]
    pub user_id: i64,
    pub campaign: String,
    pub campaign_name: String,
    pub pool: String,
    pub pool_name: String,
    pub prize: WonPrize,
    pub won_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WonPrize {
    pub slug: String,
    pub name: String,
    pub tier: i32,
    /// coupon, points or physical
    pub kind: String,
    pub value_fen: i64,
    pub points: i64,
    /// For a coupon prize, whether it issues a coupon into "my coupons" (otherwise staff deliver it).
    pub issues_coupon: bool,
}

/// The customer's wins, newest first, at most `limit`.
pub async fn wins(
    db: &DatabaseConnection,
    user_id: i64,
    limit: u64,
) -> Result<Vec<Win>, LotteryError> {
    let draws = draw_records::Entity::find()
        .filter(draw_records::Column::UserId.eq(user_id))
        .filter(draw_records::Column::PrizeId.in_subquery(winning_prizes(None)))
        .order_by_desc(draw_records::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    described(db, draws).await
}

/// One win by its draw id: the customer's own when `user_id` is given.
pub async fn win(
    conn: &impl ConnectionTrait,
    draw_id: i64,
    user_id: Option<i64>,
) -> Result<Option<Win>, LotteryError> {
    let mut query = draw_records::Entity::find_by_id(draw_id)
        .filter(draw_records::Column::PrizeId.in_subquery(winning_prizes(None)));
    if let Some(user_id) = user_id {
        query = query.filter(draw_records::Column::UserId.eq(user_id));
    }
    let draws: Vec<_> = query.one(conn).await?.into_iter().collect();
    Ok(described(conn, draws).await?.pop())
}

/// The wins with these draw ids, in id order (draws that won nothing are left out).
pub async fn wins_by_id(
    conn: &impl ConnectionTrait,
    draw_ids: &[i64],
) -> Result<Vec<Win>, LotteryError> {
    let draws = draw_records::Entity::find()
        .filter(draw_records::Column::Id.is_in(draw_ids.iter().copied()))
        .filter(draw_records::Column::PrizeId.in_subquery(winning_prizes(None)))
        .order_by_asc(draw_records::Column::Id)
        .all(conn)
        .await?;
    described(conn, draws).await
}

/// Wins of physical prizes, oldest first from `after_id`, for the staff who deliver them.
pub async fn physical_wins(
    db: &DatabaseConnection,
    after_id: i64,
    limit: u64,
) -> Result<Vec<Win>, LotteryError> {
    let draws = draw_records::Entity::find()
        .filter(draw_records::Column::Id.gt(after_id))
        .filter(
            draw_records::Column::PrizeId.in_subquery(winning_prizes(Some(PrizeKind::Physical))),
        )
        .order_by_asc(draw_records::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    described(db, draws).await
}

/// The prizes that count as a win: every kind but "thanks", or only `kind`.
fn winning_prizes(kind: Option<PrizeKind>) -> sea_orm::sea_query::SelectStatement {
    let mut query = Query::select();
    query.column(prizes::Column::Id).from(prizes::Entity);
    match kind {
        Some(kind) => query.and_where(prizes::Column::Kind.eq(kind.as_str())),
        None => query.and_where(prizes::Column::Kind.ne(PrizeKind::Thanks.as_str())),
    };
    query.to_owned()
}

/// The draws with their prize, pool and campaign, in the order given.
async fn described(
    conn: &impl ConnectionTrait,
    draws: Vec<draw_records::Model>,
) -> Result<Vec<Win>, LotteryError> {
    if draws.is_empty() {
        return Ok(Vec::new());
    }
    let prize_ids: Vec<i64> = draws.iter().map(|d| d.prize_id).collect();
    let prizes: HashMap<i64, prizes::Model> = prizes::Entity::find()
        .filter(prizes::Column::Id.is_in(prize_ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let pool_ids: Vec<i64> = draws.iter().map(|d| d.pool_id).collect();
    let pools: HashMap<i64, prize_pools::Model> = prize_pools::Entity::find()
        .filter(prize_pools::Column::Id.is_in(pool_ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let campaign_ids: Vec<i64> = pools.values().map(|p| p.campaign_id).collect();
    let campaigns: HashMap<i64, campaigns::Model> = campaigns::Entity::find()
        .filter(campaigns::Column::Id.is_in(campaign_ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let mut wins = Vec::with_capacity(draws.len());
    for draw in draws {
        let prize = prizes.get(&draw.prize_id);
        let pool = pools.get(&draw.pool_id);
        let campaign = pool.and_then(|pool| campaigns.get(&pool.campaign_id));
        let (Some(prize), Some(pool), Some(campaign)) = (prize, pool, campaign) else {
            return Err(LotteryError::Unexpected(anyhow::anyhow!(
                "draw {} names a prize, pool or campaign that is gone",
                draw.id
            )));
        };
        wins.push(Win {
            draw_id: draw.id,
            user_id: draw.user_id,
            campaign: campaign.slug.clone(),
            campaign_name: campaign.name.clone(),
            pool: pool.slug.clone(),
            pool_name: pool.name.clone(),
            prize: WonPrize {
                slug: prize.slug.clone(),
                name: prize.name.clone(),
                tier: prize.tier,
                kind: prize.kind.clone(),
                value_fen: prize.value_fen,
                points: prize.points,
                issues_coupon: prize.coupon_template.is_some(),
            },
            won_at: draw.created_at,
        });
    }
    Ok(wins)
}
