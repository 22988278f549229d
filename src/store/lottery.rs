//! The draw, as the store sees it: which prize (if any) one draw gets, given the counters. The memory backend
//! runs `decide` under its lock; `redis/draw.lua` is the same decision on Redis. Every counter here is a count of
//! what `draw_records` holds, so all of them can be rebuilt from the database.
//!
//! A store that forgot is never trusted: a pool's stock counters live under the pool's "hydrated" marker, and a
//! customer's counters in that pool (chances, wins, the guarantee) under the customer's. A draw on a scope whose
//! marker is missing (a flush, a restart without persistence, an evicted key) answers `Forgotten`, and the caller
//! rebuilds the scope from the database (`hydrate`) before drawing. A stocked prize hands out a stock sequence
//! number, recorded with the draw under a unique key, so the database refuses a sale past the stock whatever
//! the store says; a number a draw could not use goes back to the prize's free numbers.

use async_trait::async_trait;

use super::StoreError;
/// One prize's rules, in the order the pool lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrizeRule {
    pub id: i64,
    /// 1 is the top tier.
    pub tier: i32,
    /// Basis points of the published odds; 0 for a prize that is never drawn by weight (the consolation).
    pub weight: u32,
    pub stock: Option<u32>,
    pub per_user_total: Option<u32>,
    pub per_user_daily: Option<u32>,
}

/// "After `after` draws without a prize of tier `tier` or better, the next draw is one."
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Guarantee {
    pub after: u32,
    pub tier: i32,
}

/// Everything one draw needs, decided in one atomic store step.
#[derive(Debug, Clone)]
pub struct DrawSpec {
    /// The campaign's slug: its pause flag is checked, and its hash tag groups the keys.
    pub campaign: String,
    pub pool_id: i64,
    pub user_id: i64,
    /// Unique per draw: a repeat returns the first answer.
    pub request_id: String,
    /// The Asia/Shanghai date, for per-day limits.
    pub day: String,
    pub prizes: Vec<PrizeRule>,
    pub guarantee: Option<Guarantee>,
    /// Index into `prizes` of the prize given when nothing else is left.
    pub consolation: Option<usize>,
    /// A uniformly random number below 2^53 (the caller's, so the pick is reproducible in tests).
    pub random: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Won {
    pub prize_id: i64,
    pub guaranteed: bool,
    /// The user's guarantee counter before this draw (to restore it if the draw is undone).
    pub previous_since: u32,
    /// For a stocked prize, which unit of its stock this draw took (1..=stock): recorded with the draw.
    pub stock_seq: Option<u32>,
}

/// The two scopes of a pool's counters, each under its own hydrated marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The pool's stock counters and free stock numbers.
    Pool,
    /// One customer's counters in the pool: chances granted and used, wins per prize, the guarantee counter.
    User(i64),
}

/// Which scopes of a draw the store has no (trusted) counters for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forgotten {
    pub pool: bool,
    pub user: bool,
}

/// A scope's counters as the database says they are, written with the scope's marker in one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hydration {
    pub scope: Scope,
    /// Every counter of the scope, zeros included: each is set, not raised.
    pub counters: Vec<CounterValue>,
    /// Per stocked prize (Pool scope): the stock numbers at or below its counter that no draw record holds.
    pub free_stock: Vec<(i64, Vec<u32>)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrawOutcome {
    Won(Won),
    /// The same request id drew before: its first answer.
    Replayed(Won),
    Paused,
    NoChance,
    OutOfStock,
    /// A scope's marker is missing: rebuild it from the database, then draw again. Nothing was moved.
    Forgotten(Forgotten),
}

/// The counters one decision reads.
pub struct Counters<'a> {
    pub chances_granted: u32,
    pub chances_used: u32,
    pub since: u32,
    /// Per prize, in `prizes` order: (stock used (handed out less free numbers), won by this user, won by this
    /// user today).
    pub per_prize: &'a [(u32, u32, u32)],
}

pub enum Decision {
    NoChance,
    OutOfStock,
    /// Index into `prizes`, and whether the guarantee chose it.
    Prize(usize, bool),
}

pub fn decide(spec: &DrawSpec, counters: &Counters) -> Decision {
    if counters.chances_used >= counters.chances_granted {
        return Decision::NoChance;
    }
    let available = |i: usize| {
        let rule = &spec.prizes[i];
        let (stock_used, won, won_today) = counters.per_prize[i];
        rule.stock.is_none_or(|s| stock_used < s)
            && rule.per_user_total.is_none_or(|l| won < l)
            && rule.per_user_daily.is_none_or(|l| won_today < l)
    };
    let pick = |eligible: &dyn Fn(&PrizeRule) -> bool| {
        let candidates: Vec<usize> = (0..spec.prizes.len())
            .filter(|&i| spec.prizes[i].weight > 0 && eligible(&spec.prizes[i]) && available(i))
            .collect();
        let total: u64 = candidates
            .iter()
            .map(|&i| u64::from(spec.prizes[i].weight))
            .sum();
        if total == 0 {
            return None;
        }
        let mut r = spec.random % total;
        for i in candidates {
            let weight = u64::from(spec.prizes[i].weight);
            if r < weight {
                return Some(i);
            }
            r -= weight;
        }
        None
    };
    if let Some(g) = spec.guarantee {
        if counters.since + 1 >= g.after {
            if let Some(i) = pick(&|rule| rule.tier <= g.tier) {
                return Decision::Prize(i, true);
            }
        }
    }
    if let Some(i) = pick(&|_| true) {
        return Decision::Prize(i, false);
    }
    match spec.consolation {
        Some(i) if i < spec.prizes.len() && available(i) => Decision::Prize(i, false),
        _ => Decision::OutOfStock,
    }
}

/// The guarantee counter after a draw that won `tier`.
pub fn next_since(guarantee: Option<Guarantee>, since: u32, tier: i32) -> u32 {
    match guarantee {
        Some(g) if tier <= g.tier => 0,
        Some(_) => since + 1,
        None => since,
    }
}

/// `id|guaranteed|previous_since|stock_seq` (0: none), as kept under the request id.
pub fn encode(won: &Won) -> String {
    format!(
        "{}|{}|{}|{}",
        won.prize_id,
        u8::from(won.guaranteed),
        won.previous_since,
        won.stock_seq.unwrap_or(0)
    )
}

pub fn decode(text: &str) -> Option<Won> {
    let mut parts = text.split('|');
    let prize_id = parts.next()?.parse().ok()?;
    let guaranteed = parts.next()? == "1";
    let previous_since = parts.next()?.parse().ok()?;
    let stock_seq = parts.next().map_or(Some(0), |s| s.parse().ok())?;
    Some(Won {
        prize_id,
        guaranteed,
        previous_since,
        stock_seq: (stock_seq > 0).then_some(stock_seq),
    })
}

/// How long a draw's answer is kept under its request id, and per-day counters are kept.
pub(crate) const REQUEST_TTL_MS: u64 = 24 * 3600 * 1000;
pub(crate) const DAY_TTL_MS: u64 = 2 * 24 * 3600 * 1000;

/// Names of a pool's counters, relative to the pool's key: shared by the draw and by reconciliation.
pub mod counter {
    pub fn stock(prize_id: i64) -> String {
        format!("stock:{prize_id}")
    }
    pub fn granted(user_id: i64) -> String {
        format!("u{user_id}:granted")
    }
    pub fn used(user_id: i64) -> String {
        format!("u{user_id}:used")
    }
    pub fn since(user_id: i64) -> String {
        format!("u{user_id}:since")
    }
    pub fn won(user_id: i64, prize_id: i64) -> String {
        format!("u{user_id}:won:{prize_id}")
    }
    pub fn won_on(user_id: i64, day: &str, prize_id: i64) -> String {
        format!("u{user_id}:day:{day}:{prize_id}")
    }
    /// The stock numbers of a prize handed out and then given back (a draw whose record was refused).
    pub fn free(prize_id: i64) -> String {
        format!("stock:{prize_id}:free")
    }
    pub fn hydrated(scope: super::Scope) -> String {
        match scope {
            super::Scope::Pool => "hydrated".into(),
            super::Scope::User(user_id) => format!("u{user_id}:hydrated"),
        }
    }
}

/// Keys per prize in `keys`: stock handed out, won by the user, won today, free stock numbers.
pub(crate) const KEYS_PER_PRIZE: usize = 4;
/// Keys before the first prize's in `keys`.
pub(crate) const FIXED_KEYS: usize = 7;

/// The keys one draw reads and writes, in the order both backends use: the pause flag, the request, chances
/// granted, chances used, the guarantee counter, the pool's and the user's hydrated markers, then per prize:
/// stock handed out, won by the user, won today, free stock numbers.
pub(crate) fn keys(pool_base: &str, paused_key: String, spec: &DrawSpec) -> Vec<String> {
    let user = spec.user_id;
    let mut keys = vec![
        paused_key,
        format!("{pool_base}:req:{}", spec.request_id),
        format!("{pool_base}:{}", counter::granted(user)),
        format!("{pool_base}:{}", counter::used(user)),
        format!("{pool_base}:{}", counter::since(user)),
        format!("{pool_base}:{}", counter::hydrated(Scope::Pool)),
        format!("{pool_base}:{}", counter::hydrated(Scope::User(user))),
    ];
    for prize in &spec.prizes {
        keys.push(format!("{pool_base}:{}", counter::stock(prize.id)));
        keys.push(format!("{pool_base}:{}", counter::won(user, prize.id)));
        keys.push(format!(
            "{pool_base}:{}",
            counter::won_on(user, &spec.day, prize.id)
        ));
        keys.push(format!("{pool_base}:{}", counter::free(prize.id)));
    }
    keys
}

/// One counter as the database says it should be, for `hydrate` and `restore_pool_counters`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterValue {
    /// A name from `counter`.
    pub name: String,
    pub value: u32,
    /// Per-day counters expire; the others are kept.
    pub expires: bool,
}

/// The index of a prize in `spec.prizes`.
pub(crate) fn index_of(spec: &DrawSpec, prize_id: i64) -> Option<usize> {
    spec.prizes.iter().position(|p| p.id == prize_id)
}

/// Lottery draws and their counters.
#[async_trait]
pub trait LotteryStore: Send + Sync + 'static {
    /// One lottery draw, in one atomic step: the campaign's pause flag, the request id, a chance, the per-user
    /// limits, the guarantee counter, a weighted pick among prizes in stock, and every counter it moves.
    async fn draw(&self, spec: &DrawSpec) -> Result<DrawOutcome, StoreError>;

    /// Compensates a draw whose database record could not be written: puts back every counter it moved. A
    /// stocked prize's number goes back to the free numbers when `release_stock` (it is not recorded by another
    /// draw), else it stays used.
    async fn undo_draw(
        &self,
        spec: &DrawSpec,
        won: &Won,
        release_stock: bool,
    ) -> Result<(), StoreError>;

    /// Sets a scope's counters to what the database says and marks the scope hydrated, in one step.
    async fn hydrate(
        &self,
        campaign: &str,
        pool_id: i64,
        hydration: &Hydration,
    ) -> Result<(), StoreError>;

    /// Drops a scope's hydrated marker (its counters were found wrong): the next draw on it rebuilds it.
    async fn forget(&self, campaign: &str, pool_id: i64, scope: Scope) -> Result<(), StoreError>;

    /// Raises each of a pool's counters to at least `values` (what the database records). Never lowers one, so
    /// a draw in flight (counted in the store, not yet in the database) is not undone.
    async fn restore_pool_counters(
        &self,
        campaign: &str,
        pool_id: i64,
        values: &[CounterValue],
    ) -> Result<(), StoreError>;

    /// Adds draw chances (after their grant was recorded in the database) to a hydrated customer scope; an
    /// unhydrated one reads them from the database when it is rebuilt.
    async fn add_chances(
        &self,
        campaign: &str,
        pool_id: i64,
        user_id: i64,
        count: u32,
    ) -> Result<(), StoreError>;
}
