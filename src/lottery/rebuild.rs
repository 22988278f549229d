//! Rebuilding what the store forgot: a pool's stock counters, or one customer's counters in a pool, read from
//! the database and written with the scope's hydrated marker, by one instance at a time (a store lock per scope).

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::guard::customer_counts;
use super::model::LotteryError;
use crate::entities::{draw_records, prize_pools, prizes};
use crate::store::lottery::{counter, CounterValue, Forgotten, Hydration, Scope};
use crate::store::StateStore;

/// Long enough for the slowest rebuild; a holder that dies frees the lock at expiry.
const REBUILD_LOCK_TTL: Duration = Duration::from_secs(10);

/// What one scope of one pool is, for a rebuild.
pub(super) struct PoolScope<'a> {
    pub campaign: &'a str,
    pub pool: &'a prize_pools::Model,
    pub prizes: &'a [prizes::Model],
}

/// Whether the scopes were rebuilt here (`true`) or another instance holds a rebuild lock (`false`: wait and
/// draw again).
pub(super) async fn rebuild(
    db: &DatabaseConnection,
    store: &dyn StateStore,
    scope: &PoolScope<'_>,
    user_id: i64,
    forgotten: Forgotten,
    now: DateTime<Utc>,
) -> Result<bool, LotteryError> {
    let mut scopes = Vec::with_capacity(2);
    if forgotten.pool {
        scopes.push(Scope::Pool);
    }
    if forgotten.user {
        scopes.push(Scope::User(user_id));
    }
    for which in scopes {
        let name = match which {
            Scope::Pool => format!("lottery:rebuild:p{}", scope.pool.id),
            Scope::User(user) => format!("lottery:rebuild:p{}:u{user}", scope.pool.id),
        };
        let Some(token) = store.lock(&name, REBUILD_LOCK_TTL).await? else {
            return Ok(false);
        };
        let hydration = match which {
            Scope::Pool => pool_hydration(db, scope).await,
            Scope::User(user) => user_hydration(db, scope, user, now).await,
        };
        let written = match hydration {
            Ok(hydration) => store
                .hydrate(scope.campaign, scope.pool.id, &hydration)
                .await
                .map_err(LotteryError::from),
            Err(error) => Err(error),
        };
        if let Err(error) = store.unlock(&name, &token).await {
            tracing::warn!(
                ?error,
                "could not release a rebuild lock; it expires by itself"
            );
        }
        written?;
        tracing::info!(
            pool = scope.pool.id,
            ?which,
            "rebuilt the store's lottery counters"
        );
    }
    Ok(true)
}

/// Each stocked prize's highest unit handed out and the units below it no draw holds (refused or failed draws),
/// which go back to the free units.
async fn pool_hydration(
    db: &DatabaseConnection,
    scope: &PoolScope<'_>,
) -> Result<Hydration, LotteryError> {
    let units: HashMap<i64, (i64, Option<i32>)> = draw_records::Entity::find()
        .select_only()
        .column(draw_records::Column::PrizeId)
        .column_as(draw_records::Column::Id.count(), "units")
        .column_as(draw_records::Column::StockSeq.max(), "highest")
        .filter(draw_records::Column::PoolId.eq(scope.pool.id))
        .filter(draw_records::Column::StockSeq.is_not_null())
        .group_by(draw_records::Column::PrizeId)
        .into_tuple::<(i64, i64, Option<i32>)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(prize, units, highest)| (prize, (units, highest)))
        .collect();
    let mut hydration = Hydration {
        scope: Scope::Pool,
        counters: Vec::new(),
        free_stock: Vec::new(),
    };
    for prize in scope.prizes.iter().filter(|p| p.stock_total.is_some()) {
        let (units, highest) = units.get(&prize.id).copied().unwrap_or((0, None));
        let highest = highest.unwrap_or(0).max(0) as u32;
        let free = if i64::from(highest) > units {
            holes(db, prize.id, highest).await?
        } else {
            Vec::new()
        };
        hydration.counters.push(CounterValue {
            name: counter::stock(prize.id),
            value: highest,
            expires: false,
        });
        hydration.free_stock.push((prize.id, free));
    }
    Ok(hydration)
}

/// The units of `prize` at or below `highest` that no draw record holds.
async fn holes(
    db: &DatabaseConnection,
    prize_id: i64,
    highest: u32,
) -> Result<Vec<u32>, LotteryError> {
    let held: BTreeSet<u32> = draw_records::Entity::find()
        .select_only()
        .column(draw_records::Column::StockSeq)
        .filter(draw_records::Column::PrizeId.eq(prize_id))
        .filter(draw_records::Column::StockSeq.is_not_null())
        .into_tuple::<Option<i32>>()
        .all(db)
        .await?
        .into_iter()
        .flatten()
        .map(|seq| seq.max(0) as u32)
        .collect();
    Ok((1..=highest).filter(|seq| !held.contains(seq)).collect())
}

/// One customer's counters in the pool: chances granted and used, wins per prize (in total and today), and the
/// guarantee counter replayed from their draws in order.
async fn user_hydration(
    db: &DatabaseConnection,
    scope: &PoolScope<'_>,
    user_id: i64,
    now: DateTime<Utc>,
) -> Result<Hydration, LotteryError> {
    let today = crate::calendar::day_key(now);
    let counts = customer_counts(db, scope.pool.id, user_id).await?;
    let draws = draw_records::Entity::find()
        .filter(draw_records::Column::PoolId.eq(scope.pool.id))
        .filter(draw_records::Column::UserId.eq(user_id))
        .order_by_asc(draw_records::Column::Id)
        .all(db)
        .await?;
    let mut won: HashMap<i64, (u32, u32)> = HashMap::new();
    let mut since = 0u32;
    for draw in &draws {
        let entry = won.entry(draw.prize_id).or_default();
        entry.0 += 1;
        if draw.day == today {
            entry.1 += 1;
        }
        if let Some(tier) = scope.pool.guarantee_tier {
            since = if draw.tier <= tier { 0 } else { since + 1 };
        }
    }
    let kept = |name: String, value: u32| CounterValue {
        name,
        value,
        expires: false,
    };
    let mut counters = vec![
        kept(counter::granted(user_id), counts.granted),
        // The draws read after the count above are counted too: never fewer used than recorded.
        kept(counter::used(user_id), counts.draws.max(draws.len() as u32)),
        kept(counter::since(user_id), since),
    ];
    for prize in scope.prizes {
        let (total, today_count) = won.get(&prize.id).copied().unwrap_or_default();
        counters.push(kept(counter::won(user_id, prize.id), total));
        counters.push(CounterValue {
            name: counter::won_on(user_id, &today, prize.id),
            value: today_count,
            expires: true,
        });
    }
    Ok(Hydration {
        scope: Scope::User(user_id),
        counters,
        free_stock: Vec::new(),
    })
}

/// Whether the database says the customer has a chance the store did not count (a grant whose store step was
/// lost, or a store that came back stale).
pub(super) async fn owes_chances(
    db: &DatabaseConnection,
    pool_id: i64,
    user_id: i64,
) -> Result<bool, LotteryError> {
    let counts = customer_counts(db, pool_id, user_id).await?;
    Ok(counts.granted > counts.draws)
}
