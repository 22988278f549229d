//! The database as the last guard of a draw: whatever the store said (flushed, stale, failed over), a draw is
//! recorded only within the customer's chances, the prize's per-customer limits and its stock.

use sea_orm::sea_query::{Expr, ExprTrait, Func, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter, QuerySelect,
};

use crate::entities::{chance_grants, draw_records, prizes, users};
use crate::rewards::chances_granted;
use crate::store::lottery::Scope;

/// Why the database refused a draw the store had allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    /// The customer's recorded draws already use every chance granted.
    NoChance,
    /// The customer already holds as many of this prize as it allows (in total or today).
    UserLimit,
    /// Another draw holds the stock unit handed out (its record may still be on its way).
    StockTaken,
    /// The stock unit handed out is beyond the stock: the store's count of the prize is wrong.
    StockBeyond,
}

impl Refusal {
    /// Whether the draw's stock unit goes back to the free units: not when another draw holds it, nor when it is
    /// no unit of the stock at all.
    pub(super) fn releases_unit(self) -> bool {
        matches!(self, Refusal::NoChance | Refusal::UserLimit)
    }

    /// The scope whose store counters are wrong, to rebuild from the database. A unit taken by another draw
    /// says so only when it keeps happening (`last` attempt): right after a rebuild, units of draws still being
    /// recorded look free, and drawing again simply takes the next one.
    pub(super) fn wrong_scope(self, user_id: i64, last: bool) -> Option<Scope> {
        match self {
            Refusal::NoChance | Refusal::UserLimit => Some(Scope::User(user_id)),
            Refusal::StockBeyond => Some(Scope::Pool),
            Refusal::StockTaken => last.then_some(Scope::Pool),
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
        granted: chances_granted(conn, user_id, pool_id, None).await?,
    })
}

fn count(value: Option<i64>) -> u32 {
    u32::try_from(std::cmp::max(value.unwrap_or(0), 0)).unwrap_or(u32::MAX)
}

/// Checks a draw of `prize` against the database, on the transaction that will record it. The customer's row
/// is locked first (PostgreSQL), so one customer's concurrent draws are counted one after another (other customers' draws do
/// not wait); the stock unit is checked here against the stock and, on insert, by the unique (prize, unit) key.
pub(super) async fn check(
    txn: &impl ConnectionTrait,
    user_id: i64,
    prize: &prizes::Model,
    stock_seq: Option<u32>,
    day: &str,
) -> Result<Option<Refusal>, DbErr> {
    // SQLite writes one transaction at a time (`BEGIN IMMEDIATE`) and has no row locks: no lock to take.
    if txn.get_database_backend() != DbBackend::Sqlite {
        users::Entity::find_by_id(user_id)
            .lock_exclusive()
            .one(txn)
            .await?;
    }
    let is_prize = Expr::col(draw_records::Column::PrizeId).eq(prize.id);
    let won_sum = |condition: Expr| Expr::from(Func::sum(Expr::case(condition, 1).finally(0)));
    // The chances granted ride along as a subquery: the whole check is one statement on the draw's transaction.
    let granted = Query::select()
        .expr(Func::coalesce([
            Expr::from(Func::sum(Expr::col((
                chance_grants::Entity,
                chance_grants::Column::Amount,
            )))),
            Expr::val(0),
        ]))
        .from(chance_grants::Entity)
        .and_where(
            Expr::col((chance_grants::Entity, chance_grants::Column::PoolId)).eq(prize.pool_id),
        )
        .and_where(Expr::col((chance_grants::Entity, chance_grants::Column::UserId)).eq(user_id))
        .to_owned();
    let (draws, won, won_today, granted): (i64, Option<i64>, Option<i64>, i64) =
        draw_records::Entity::find()
            .select_only()
            .column_as(draw_records::Column::Id.count(), "draws")
            .column_as(won_sum(is_prize.clone()), "won")
            .column_as(
                won_sum(is_prize.and(Expr::col(draw_records::Column::Day).eq(day))),
                "won_today",
            )
            .column_as(Expr::SubQuery(None, Box::new(granted.into())), "granted")
            .filter(draw_records::Column::PoolId.eq(prize.pool_id))
            .filter(draw_records::Column::UserId.eq(user_id))
            .into_tuple()
            .one(txn)
            .await?
            .unwrap_or_default();
    if count(Some(draws)) >= count(Some(granted)) {
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
            return Ok(Some(Refusal::StockBeyond));
        }
    }
    Ok(None)
}
