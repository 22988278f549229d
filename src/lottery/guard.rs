//! The database as the last guard of a draw: whatever the store said (flushed, stale, failed over), a draw is
//! recorded only within the customer's chances, the prize's per-customer limits and its stock.

use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};

use crate::entities::{chance_grants, draw_records, prizes, users};
use crate::store::lottery::Scope;

/// Why the database refused a draw the store had allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    /// The customer's recorded draws already use every chance granted.
    NoChance,
    /// The customer already holds as many of this prize as it allows (in total or today).
    UserLimit,
    /// The stock unit handed out is beyond the stock, or another draw holds it.
    Stock,
}

impl Refusal {
    /// The scope whose store counters were wrong, to rebuild before the next draw.
    pub(super) fn scope(self, user_id: i64) -> Scope {
        match self {
            Refusal::Stock => Scope::Pool,
            Refusal::NoChance | Refusal::UserLimit => Scope::User(user_id),
        }
    }
}

/// What the database holds of one customer in one pool, counted on `conn`.
pub(super) struct CustomerCounts {
    pub draws: u32,
    pub granted: u32,
}

/// The customer's draws and granted chances in a pool.
pub(super) async fn customer_counts(
    conn: &impl ConnectionTrait,
    pool_id: i64,
    user_id: i64,
) -> Result<CustomerCounts, DbErr> {
    let draws: Option<i64> = draw_records::Entity::find()
        .select_only()
        .column_as(draw_records::Column::Id.count(), "draws")
        .filter(draw_records::Column::PoolId.eq(pool_id))
        .filter(draw_records::Column::UserId.eq(user_id))
        .into_tuple()
        .one(conn)
        .await?;
    Ok(CustomerCounts {
        draws: count(draws),
        granted: granted(conn, pool_id, user_id).await?,
    })
}

async fn granted(conn: &impl ConnectionTrait, pool_id: i64, user_id: i64) -> Result<u32, DbErr> {
    let granted: Option<Option<i64>> = chance_grants::Entity::find()
        .select_only()
        .column_as(chance_grants::Column::Amount.sum(), "granted")
        .filter(chance_grants::Column::PoolId.eq(pool_id))
        .filter(chance_grants::Column::UserId.eq(user_id))
        .into_tuple()
        .one(conn)
        .await?;
    Ok(count(granted.flatten()))
}

fn count(value: Option<i64>) -> u32 {
    u32::try_from(std::cmp::max(value.unwrap_or(0), 0)).unwrap_or(u32::MAX)
}

/// Checks a draw of `prize` against the database, on the transaction that will record it. The customer's row
/// is locked first, so one customer's concurrent draws are counted one after another (other customers' draws do
/// not wait); the stock unit is checked here against the stock and, on insert, by the unique (prize, unit) key.
pub(super) async fn check(
    txn: &impl ConnectionTrait,
    user_id: i64,
    prize: &prizes::Model,
    stock_seq: Option<u32>,
    day: &str,
) -> Result<Option<Refusal>, DbErr> {
    users::Entity::find_by_id(user_id)
        .lock_exclusive()
        .one(txn)
        .await?;
    let is_prize = Expr::col(draw_records::Column::PrizeId).eq(prize.id);
    let won_sum = |condition: Expr| Expr::from(Func::sum(Expr::case(condition, 1).finally(0)));
    let (draws, won, won_today): (i64, Option<i64>, Option<i64>) = draw_records::Entity::find()
        .select_only()
        .column_as(draw_records::Column::Id.count(), "draws")
        .column_as(won_sum(is_prize.clone()), "won")
        .column_as(
            won_sum(is_prize.and(Expr::col(draw_records::Column::Day).eq(day))),
            "won_today",
        )
        .filter(draw_records::Column::PoolId.eq(prize.pool_id))
        .filter(draw_records::Column::UserId.eq(user_id))
        .into_tuple()
        .one(txn)
        .await?
        .unwrap_or_default();
    if count(Some(draws)) >= granted(txn, prize.pool_id, user_id).await? {
        return Ok(Some(Refusal::NoChance));
    }
    let reached = |limit: Option<i32>, held: Option<i64>| {
        limit.is_some_and(|limit| count(held) >= count(Some(i64::from(limit))))
    };
    if reached(prize.per_user_total, won) || reached(prize.per_user_daily, won_today) {
        return Ok(Some(Refusal::UserLimit));
    }
    if let Some(stock) = prize.stock_total {
        let within = stock_seq.is_some_and(|seq| seq >= 1 && i64::from(seq) <= i64::from(stock));
        if !within {
            return Ok(Some(Refusal::Stock));
        }
    }
    Ok(None)
}
