//! What a prize pool is made of, its checks, and the lottery's errors.

use sea_orm::DbErr;
use serde::{Deserialize, Serialize};

use crate::calendar::is_count_limit;
use crate::campaigns::gate::GateError;
use crate::error::{AppError, ErrorCode};
use crate::store::StoreError;

/// All of a pool's odds, in basis points.
pub(super) const FULL_ODDS_BP: i32 = 10_000;
/// The regulatory cap on a single prize's value: 50,000 yuan.
pub(super) const MAX_PRIZE_VALUE_FEN: i64 = 5_000_000;

#[derive(Debug, thiserror::Error)]
pub enum LotteryError {
    #[error("{0}")]
    Invalid(String),
    #[error("no such campaign or pool")]
    NotFound,
    #[error("the campaign is live or over: its pools and odds are frozen")]
    Frozen,
    #[error(transparent)]
    Gate(#[from] GateError),
    /// The store's atomic draw step saw the pause switch.
    #[error("the campaign is paused")]
    Paused,
    #[error("no draw chance left")]
    NoChance,
    #[error("every prize is gone")]
    OutOfStock,
    /// Another instance is rebuilding this pool's counters after the store forgot them.
    #[error("the pool's counters are being rebuilt")]
    StoreRebuilding,
    #[error("chances of this pool are not for sale")]
    NotForSale,
    #[error("{}", crate::idempotency::KEY_REUSED)]
    KeyReused,
    #[error(transparent)]
    Points(#[from] crate::rewards::PointsError),
    #[error(transparent)]
    Reward(#[from] crate::rewards::RewardError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<DbErr> for LotteryError {
    fn from(error: DbErr) -> Self {
        LotteryError::Unexpected(error.into())
    }
}

impl From<LotteryError> for AppError {
    fn from(error: LotteryError) -> Self {
        let message = error.to_string();
        match error {
            LotteryError::Invalid(_) => AppError::new(ErrorCode::InvalidPool, message),
            LotteryError::NotFound => AppError::new(ErrorCode::PoolNotFound, message),
            LotteryError::Frozen => AppError::new(ErrorCode::PoolFrozen, message),
            LotteryError::Gate(e) => e.into(),
            LotteryError::Paused => AppError::new(ErrorCode::CampaignPaused, message),
            LotteryError::NoChance => AppError::new(ErrorCode::NoChance, message),
            LotteryError::OutOfStock => AppError::new(ErrorCode::OutOfStock, message),
            LotteryError::StoreRebuilding => AppError::store_rebuilding(),
            LotteryError::NotForSale => AppError::new(ErrorCode::ChancesNotForSale, message),
            LotteryError::KeyReused => crate::idempotency::key_reused(),
            LotteryError::Points(e) => e.into(),
            LotteryError::Reward(e) => e.into(),
            LotteryError::Store(e) => e.into(),
            LotteryError::Unexpected(e) => AppError::unexpected(e),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PoolKind {
    Lottery,
    BlindBox,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PrizeKind {
    Coupon,
    Points,
    Physical,
    Thanks,
}

impl PrizeKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            PrizeKind::Coupon => "coupon",
            PrizeKind::Points => "points",
            PrizeKind::Physical => "physical",
            PrizeKind::Thanks => "thanks",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GuaranteeInput {
    pub after: u32,
    pub tier: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrizeInput {
    pub slug: String,
    pub name: String,
    pub tier: i32,
    pub kind: PrizeKind,
    #[serde(default)]
    pub value_fen: i64,
    #[serde(default)]
    pub points: i64,
    pub weight_bp: i32,
    pub stock: Option<u32>,
    pub per_user_total: Option<u32>,
    pub per_user_daily: Option<u32>,
    /// For a coupon prize: the coupon template it issues (without one, the prize is recorded for fulfilment).
    #[serde(default)]
    pub coupon_template: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PoolInput {
    pub slug: String,
    pub name: String,
    pub kind: PoolKind,
    #[serde(default)]
    pub daily_free_chances: u32,
    pub guarantee: Option<GuaranteeInput>,
    /// The prize (by slug, weight 0) given when nothing else is left.
    pub consolation: Option<String>,
    /// Chances one user may be granted per day (Asia/Shanghai) and in all, whatever their source.
    #[serde(default)]
    pub chance_daily_cap: Option<u32>,
    #[serde(default)]
    pub chance_total_cap: Option<u32>,
    /// Points one chance costs when exchanged (absent: chances are not for sale).
    #[serde(default)]
    pub chance_cost_points: Option<u32>,
    pub prizes: Vec<PrizeInput>,
}

/// Every check a pool passes before it is stored.
pub fn validate(input: &PoolInput) -> Result<(), LotteryError> {
    let invalid = |m: String| Err(LotteryError::Invalid(m));
    let slug_ok = crate::calendar::is_slug;
    if !slug_ok(&input.slug) || input.name.trim().is_empty() {
        return invalid("slug and name: a slug (a-z, 0-9, '-') and a non-empty name".into());
    }
    if input.prizes.is_empty() || input.prizes.len() > 50 || input.daily_free_chances > 10 {
        return invalid("prizes: 1 to 50; daily_free_chances: at most 10".into());
    }
    let mut slugs = std::collections::HashSet::new();
    for (i, prize) in input.prizes.iter().enumerate() {
        if !slug_ok(&prize.slug)
            || !slugs.insert(prize.slug.as_str())
            || prize.name.trim().is_empty()
        {
            return invalid(format!("prizes[{i}]: a unique slug and a name"));
        }
        if !(1..=9).contains(&prize.tier) || !(0..=FULL_ODDS_BP).contains(&prize.weight_bp) {
            return invalid(format!("prizes[{i}]: tier 1-9 and weight_bp 0-10000"));
        }
        if !(0..=MAX_PRIZE_VALUE_FEN).contains(&prize.value_fen) {
            return invalid(format!(
                "prizes[{i}].value_fen: at most 5,000,000 fen (50,000 yuan) by regulation"
            ));
        }
        if !is_count_limit(prize.stock)
            || !is_count_limit(prize.per_user_total)
            || !is_count_limit(prize.per_user_daily)
        {
            return invalid(format!(
                "prizes[{i}]: stock, per_user_total and per_user_daily 1 to 10,000,000 when set"
            ));
        }
        if (prize.kind == PrizeKind::Points) != (prize.points > 0) || prize.points > 1_000_000 {
            return invalid(format!(
                "prizes[{i}].points: set (1-1,000,000) for points prizes only"
            ));
        }
    }
    let cap_ok = |cap: Option<u32>| cap.is_none_or(|c| (1..=1000).contains(&c));
    if !cap_ok(input.chance_daily_cap)
        || !cap_ok(input.chance_total_cap)
        || input
            .chance_cost_points
            .is_some_and(|c| !(1..=1_000_000).contains(&c))
    {
        return invalid("chance caps: 1-1000; chance_cost_points: 1-1,000,000".into());
    }
    let total: i32 = input.prizes.iter().map(|p| p.weight_bp).sum();
    if total != FULL_ODDS_BP {
        return invalid(format!(
            "the published odds must add up to 10000 basis points, not {total}"
        ));
    }
    if let Some(consolation) = &input.consolation {
        let found = input.prizes.iter().find(|p| &p.slug == consolation);
        if !found.is_some_and(|p| p.weight_bp == 0 && p.stock.is_none()) {
            return invalid(
                "consolation: a prize of this pool with weight 0 and unlimited stock".into(),
            );
        }
    }
    if let Some(g) = &input.guarantee {
        if !(2..=1000).contains(&g.after)
            || !input
                .prizes
                .iter()
                .any(|p| p.tier <= g.tier && p.weight_bp > 0)
        {
            return invalid(
                "guarantee: after 2-1000 draws, of a tier some drawable prize has".into(),
            );
        }
    }
    Ok(())
}
