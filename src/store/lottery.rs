//! The draw, as the store sees it: which prize (if any) one draw gets, given the counters. The memory backend
//! runs `decide` under its lock; `redis/draw.lua` is the same decision on Redis. Every counter here is a count of
//! what `draw_records` holds, so all of them can be rebuilt from the database.

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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrawOutcome {
    Won(Won),
    /// The same request id drew before: its first answer.
    Replayed(Won),
    Paused,
    NoChance,
    OutOfStock,
}

/// The counters one decision reads.
pub struct Counters<'a> {
    pub chances_granted: u32,
    pub chances_used: u32,
    pub since: u32,
    /// Per prize, in `prizes` order: (stock used, won by this user, won by this user today).
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

/// `id|guaranteed|previous_since`, as kept under the request id.
pub fn encode(won: &Won) -> String {
    format!(
        "{}|{}|{}",
        won.prize_id,
        u8::from(won.guaranteed),
        won.previous_since
    )
}

pub fn decode(text: &str) -> Option<Won> {
    let mut parts = text.split('|');
    let prize_id = parts.next()?.parse().ok()?;
    let guaranteed = parts.next()? == "1";
    let previous_since = parts.next()?.parse().ok()?;
    Some(Won {
        prize_id,
        guaranteed,
        previous_since,
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
}

/// The keys one draw reads and writes, in the order both backends use: the pause flag, the request, chances
/// granted, chances used, the guarantee counter, then per prize: stock used, won by the user, won today.
pub(crate) fn keys(pool_base: &str, paused_key: String, spec: &DrawSpec) -> Vec<String> {
    let user = spec.user_id;
    let mut keys = vec![
        paused_key,
        format!("{pool_base}:req:{}", spec.request_id),
        format!("{pool_base}:{}", counter::granted(user)),
        format!("{pool_base}:{}", counter::used(user)),
        format!("{pool_base}:{}", counter::since(user)),
    ];
    for prize in &spec.prizes {
        keys.push(format!("{pool_base}:{}", counter::stock(prize.id)));
        keys.push(format!("{pool_base}:{}", counter::won(user, prize.id)));
        keys.push(format!(
            "{pool_base}:{}",
            counter::won_on(user, &spec.day, prize.id)
        ));
    }
    keys
}

/// One counter as the database says it should be, for `restore_pool_counters`.
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

    /// Compensates a draw whose database record could not be written: puts back every counter it moved.
    async fn undo_draw(&self, spec: &DrawSpec, won: &Won) -> Result<(), StoreError>;

    /// Raises each of a pool's counters to at least `values` (what the database records). Never lowers one, so
    /// a draw in flight (counted in the store, not yet in the database) is not undone.
    async fn restore_pool_counters(
        &self,
        campaign: &str,
        pool_id: i64,
        values: &[CounterValue],
    ) -> Result<(), StoreError>;

    /// Adds draw chances (after their grant was recorded in the database).
    async fn add_chances(
        &self,
        campaign: &str,
        pool_id: i64,
        user_id: i64,
        count: u32,
    ) -> Result<(), StoreError>;
}
