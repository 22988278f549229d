use chrono::{DateTime, Utc};
use chrono_tz::Asia::Shanghai;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::audit::{self, Actor};
use crate::calendar::{is_count_limit, status_at, Status};
use crate::campaigns::gate::{self, GateError, Scope};
use crate::coupons::service::CouponError;
use crate::entities::{campaigns, chance_grants, draw_records, prize_pools, prizes};
use crate::error::{AppError, ErrorCode};
use crate::points::service::{self as points, PointsChange};
use crate::state::AppState;
use crate::store::lottery::{DrawOutcome, DrawSpec, Guarantee, PrizeRule, Won};
use crate::store::StoreError;

/// All of a pool's odds, in basis points.
const FULL_ODDS_BP: i32 = 10_000;
/// The regulatory cap on a single prize's value: 50,000 yuan.
const MAX_PRIZE_VALUE_FEN: i64 = 5_000_000;

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
    #[error("chances of this pool are not for sale")]
    NotForSale,
    #[error("this would take you past the pool's chance limit")]
    ChanceCapReached,
    #[error("{}", crate::idempotency::KEY_REUSED)]
    KeyReused,
    #[error(transparent)]
    Points(#[from] crate::points::service::PointsError),
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
            LotteryError::NotForSale => AppError::new(ErrorCode::ChancesNotForSale, message),
            LotteryError::ChanceCapReached => AppError::new(ErrorCode::ChanceCapReached, message),
            LotteryError::KeyReused => crate::idempotency::key_reused(),
            LotteryError::Points(e) => e.into(),
            LotteryError::Store(e) => e.into(),
            LotteryError::Unexpected(e) => AppError::unexpected(e),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolKind {
    Lottery,
    BlindBox,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrizeKind {
    Coupon,
    Points,
    Physical,
    Thanks,
}

impl PrizeKind {
    fn as_str(&self) -> &'static str {
        match self {
            PrizeKind::Coupon => "coupon",
            PrizeKind::Points => "points",
            PrizeKind::Physical => "physical",
            PrizeKind::Thanks => "thanks",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GuaranteeInput {
    pub after: u32,
    pub tier: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
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

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
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

async fn campaign(
    conn: &impl ConnectionTrait,
    slug: &str,
) -> Result<campaigns::Model, LotteryError> {
    gate::find_campaign(conn, slug)
        .await?
        .ok_or(LotteryError::NotFound)
}

/// Adds a pool to a campaign that has not gone live: once customers can draw, the odds cannot change.
pub async fn create_pool(
    db: &DatabaseConnection,
    actor: &Actor,
    campaign_slug: &str,
    input: &PoolInput,
    now: DateTime<Utc>,
) -> Result<PoolOdds, LotteryError> {
    validate(input)?;
    let txn = crate::db::begin_write(db).await?;
    let campaign = campaign(&txn, campaign_slug).await?;
    if campaign.status != Status::Draft.as_str()
        && status_at(
            campaign.preheat_at,
            campaign.starts_at,
            campaign.ends_at,
            now,
        ) >= Status::Live
    {
        return Err(LotteryError::Frozen);
    }
    let pool = insert_pool(&txn, &campaign, input).await?;
    let odds = odds_of(&txn, &campaign, &pool).await?;
    audit::record(
        &txn,
        actor,
        audit::Entry::new(
            "pool.create",
            "prize_pool",
            format!("{campaign_slug}/{}", input.slug),
        )
        .after(&odds),
    )
    .await?;
    txn.commit().await?;
    Ok(odds)
}

/// Stores a checked pool and its prizes for `campaign` (from the staff API, or with its campaign from the
/// calendar file).
pub async fn insert_pool(
    txn: &impl ConnectionTrait,
    campaign: &campaigns::Model,
    input: &PoolInput,
) -> Result<prize_pools::Model, LotteryError> {
    validate(input)?;
    for prize in &input.prizes {
        if let Some(template) = &prize.coupon_template {
            let found = crate::entities::coupon_templates::Entity::find()
                .filter(crate::entities::coupon_templates::Column::Slug.eq(template.as_str()))
                .one(txn)
                .await?;
            if prize.kind != PrizeKind::Coupon || found.is_none() {
                return Err(LotteryError::Invalid(format!(
                    "prize {}: coupon_template must name an existing template, on a coupon prize",
                    prize.slug
                )));
            }
        }
    }
    let pool = prize_pools::ActiveModel {
        campaign_id: Set(campaign.id),
        slug: Set(input.slug.clone()),
        name: Set(input.name.clone()),
        kind: Set(match input.kind {
            PoolKind::Lottery => "lottery",
            PoolKind::BlindBox => "blind_box",
        }
        .into()),
        daily_free_chances: Set(input.daily_free_chances as i32),
        guarantee_after: Set(input.guarantee.as_ref().map(|g| g.after as i32)),
        guarantee_tier: Set(input.guarantee.as_ref().map(|g| g.tier)),
        consolation_prize: Set(input.consolation.clone()),
        chance_daily_cap: Set(input.chance_daily_cap.map(|c| c as i32)),
        chance_total_cap: Set(input.chance_total_cap.map(|c| c as i32)),
        chance_cost_points: Set(input.chance_cost_points.map(|c| c as i32)),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(txn)
    .await
    .map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => {
            LotteryError::Invalid("a pool with this slug exists".into())
        }
        _ => e.into(),
    })?;
    for (position, prize) in input.prizes.iter().enumerate() {
        prizes::ActiveModel {
            pool_id: Set(pool.id),
            slug: Set(prize.slug.clone()),
            name: Set(prize.name.clone()),
            tier: Set(prize.tier),
            kind: Set(prize.kind.as_str().into()),
            value_fen: Set(prize.value_fen),
            points: Set(prize.points),
            weight_bp: Set(prize.weight_bp),
            stock_total: Set(prize.stock.map(|s| s as i32)),
            per_user_total: Set(prize.per_user_total.map(|s| s as i32)),
            per_user_daily: Set(prize.per_user_daily.map(|s| s as i32)),
            position: Set(position as i32),
            coupon_template: Set(prize.coupon_template.clone()),
            ..Default::default()
        }
        .insert(txn)
        .await?;
    }
    Ok(pool)
}

/// A pool's published terms, generated from the same rows the draw reads.
#[derive(Debug, Clone, Serialize)]
pub struct PoolOdds {
    pub campaign: String,
    pub pool: String,
    pub name: String,
    pub kind: String,
    pub daily_free_chances: i32,
    pub guarantee: Option<String>,
    pub prizes: Vec<PublishedPrize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PublishedPrize {
    pub slug: String,
    pub name: String,
    pub tier: i32,
    pub kind: String,
    pub value_fen: i64,
    pub points: i64,
    pub weight_bp: i32,
    /// The odds as customers read them, e.g. `0.10%`.
    pub probability: String,
    pub stock_total: Option<i32>,
    pub per_user_total: Option<i32>,
    pub per_user_daily: Option<i32>,
    pub consolation: bool,
}

async fn pool_and_prizes(
    conn: &impl ConnectionTrait,
    campaign: &campaigns::Model,
    pool_slug: &str,
) -> Result<(prize_pools::Model, Vec<prizes::Model>), LotteryError> {
    let pool = prize_pools::Entity::find()
        .filter(prize_pools::Column::CampaignId.eq(campaign.id))
        .filter(prize_pools::Column::Slug.eq(pool_slug))
        .one(conn)
        .await?
        .ok_or(LotteryError::NotFound)?;
    let prizes = prizes::Entity::find()
        .filter(prizes::Column::PoolId.eq(pool.id))
        .order_by_asc(prizes::Column::Position)
        .all(conn)
        .await?;
    Ok((pool, prizes))
}

async fn odds_of(
    conn: &impl ConnectionTrait,
    campaign: &campaigns::Model,
    pool: &prize_pools::Model,
) -> Result<PoolOdds, LotteryError> {
    let (pool, prizes) = pool_and_prizes(conn, campaign, &pool.slug).await?;
    Ok(PoolOdds {
        campaign: campaign.slug.clone(),
        pool: pool.slug.clone(),
        name: pool.name.clone(),
        kind: pool.kind.clone(),
        daily_free_chances: pool.daily_free_chances,
        guarantee: match (pool.guarantee_after, pool.guarantee_tier) {
            (Some(after), Some(tier)) => Some(format!(
                "{after} 次内未抽中 {tier} 等奖及以上，第 {after} 次必得"
            )),
            _ => None,
        },
        prizes: prizes
            .iter()
            .map(|p| PublishedPrize {
                slug: p.slug.clone(),
                // A blind box publishes each prize's tier, value and odds, but not what it is until drawn.
                name: match pool.kind.as_str() {
                    "blind_box" => format!("{} 等奖（开启后揭晓）", p.tier),
                    _ => p.name.clone(),
                },
                tier: p.tier,
                kind: p.kind.clone(),
                value_fen: p.value_fen,
                points: p.points,
                weight_bp: p.weight_bp,
                probability: format!("{}.{:02}%", p.weight_bp / 100, p.weight_bp % 100),
                stock_total: p.stock_total,
                per_user_total: p.per_user_total,
                per_user_daily: p.per_user_daily,
                consolation: pool.consolation_prize.as_deref() == Some(p.slug.as_str()),
            })
            .collect(),
    })
}

pub async fn odds(
    db: &DatabaseConnection,
    campaign_slug: &str,
    pool_slug: &str,
) -> Result<PoolOdds, LotteryError> {
    let campaign = campaign(db, campaign_slug).await?;
    if campaign.status == Status::Draft.as_str() {
        return Err(LotteryError::NotFound);
    }
    let (pool, _) = pool_and_prizes(db, &campaign, pool_slug).await?;
    odds_of(db, &campaign, &pool).await
}

/// The chances `wanted` may grant today under the pool's caps: all of them, fewer, or none. Called with the pool
/// row locked, so concurrent grants to one user cannot pass a cap together.
async fn within_caps(
    txn: &impl ConnectionTrait,
    pool: &prize_pools::Model,
    user_id: i64,
    wanted: u32,
    now: DateTime<Utc>,
) -> Result<u32, LotteryError> {
    use chrono::TimeZone;
    use sea_orm::QuerySelect;
    let granted_since = |since: Option<DateTime<Utc>>| async move {
        let mut query = chance_grants::Entity::find()
            .select_only()
            .column_as(chance_grants::Column::Amount.sum(), "total")
            .filter(chance_grants::Column::UserId.eq(user_id))
            .filter(chance_grants::Column::PoolId.eq(pool.id));
        if let Some(since) = since {
            query = query.filter(chance_grants::Column::CreatedAt.gte(since));
        }
        let total: Option<Option<i64>> = query.into_tuple().one(txn).await?;
        Ok::<u32, DbErr>(total.flatten().unwrap_or(0).max(0) as u32)
    };
    let mut allowed = wanted;
    if let Some(cap) = pool.chance_total_cap {
        allowed = allowed.min((cap as u32).saturating_sub(granted_since(None).await?));
    }
    if let Some(cap) = pool.chance_daily_cap {
        let local = now
            .with_timezone(&Shanghai)
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default();
        let start = Shanghai
            .from_local_datetime(&local)
            .single()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(now);
        allowed = allowed.min((cap as u32).saturating_sub(granted_since(Some(start)).await?));
    }
    Ok(allowed)
}

async fn lock_pool(
    txn: &impl ConnectionTrait,
    pool_id: i64,
) -> Result<prize_pools::Model, LotteryError> {
    use sea_orm::QuerySelect;
    prize_pools::Entity::find_by_id(pool_id)
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or(LotteryError::NotFound)
}

async fn insert_grant(
    txn: &impl ConnectionTrait,
    user_id: i64,
    pool_id: i64,
    source: &str,
    source_ref: &str,
    amount: u32,
    now: DateTime<Utc>,
) -> Result<(), LotteryError> {
    chance_grants::ActiveModel {
        user_id: Set(user_id),
        pool_id: Set(pool_id),
        source: Set(source.to_owned()),
        source_ref: Set(source_ref.to_owned()),
        amount: Set(amount as i32),
        // The caps count grants by this time: it must be the same clock they are measured with.
        created_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// Grants up to `amount` draw chances, once per source reference and within the pool's caps; returns how many
/// were granted (0 for a repeat or a reached cap). Recorded in the database, then counted in the store.
pub async fn grant_chances(
    state: &AppState,
    user_id: i64,
    campaign_slug: &str,
    pool_id: i64,
    source: &str,
    source_ref: &str,
    amount: u32,
) -> Result<u32, LotteryError> {
    let txn = crate::db::begin_write(&state.db).await?;
    let granted = record_grant(
        &txn,
        user_id,
        pool_id,
        source,
        source_ref,
        amount,
        state.clock.now(),
    )
    .await?;
    txn.commit().await?;
    if granted > 0 {
        state
            .store
            .add_chances(campaign_slug, pool_id, user_id, granted)
            .await?;
    }
    Ok(granted)
}

/// Records a grant of up to `amount` chances on the caller's transaction, once per source reference and within
/// the pool's caps; returns how many (0 for a repeat or a reached cap). The caller adds them to the store after
/// its commit.
pub async fn record_grant(
    txn: &impl ConnectionTrait,
    user_id: i64,
    pool_id: i64,
    source: &str,
    source_ref: &str,
    amount: u32,
    now: DateTime<Utc>,
) -> Result<u32, LotteryError> {
    let pool = lock_pool(txn, pool_id).await?;
    let repeat = chance_grants::Entity::find()
        .filter(chance_grants::Column::SourceRef.eq(source_ref))
        .one(txn)
        .await?;
    let granted = match repeat {
        Some(_) => 0,
        None => within_caps(txn, &pool, user_id, amount, now).await?,
    };
    if granted > 0 {
        insert_grant(txn, user_id, pool_id, source, source_ref, granted, now).await?;
    }
    Ok(granted)
}

/// Exchanges points for `count` chances of a live campaign's pool, once per `request_key`: all of them within
/// the caps, or none (`chance_cap_reached`). The points and the grant are one transaction.
pub async fn buy_chances(
    state: &AppState,
    user_id: i64,
    campaign_slug: &str,
    pool_slug: &str,
    count: u32,
    request_key: &str,
) -> Result<u32, LotteryError> {
    if !(1..=100).contains(&count) {
        return Err(LotteryError::Invalid("count: 1 to 100 chances".into()));
    }
    let now = state.clock.now();
    let source_ref = format!("chances:{user_id}:{request_key}");
    let txn = crate::db::begin_write(&state.db).await?;
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
    gate::check(
        &txn,
        state.store.as_ref(),
        &campaign,
        Scope::Pool(pool_slug),
        now,
    )
    .await?;
    let pool = lock_pool(&txn, pool.id).await?;
    let cost = pool.chance_cost_points.ok_or(LotteryError::NotForSale)?;
    if within_caps(&txn, &pool, user_id, count, now).await? < count {
        return Err(LotteryError::ChanceCapReached);
    }
    let spend = PointsChange {
        user_id,
        delta: -(i64::from(cost) * i64::from(count)),
        reason: "chance_exchange",
        source_ref: &source_ref,
        campaign: Some(&campaign.slug),
    };
    points::apply(&txn, &spend, 100).await?;
    insert_grant(
        &txn,
        user_id,
        pool.id,
        "points_exchange",
        &source_ref,
        count,
        now,
    )
    .await?;
    txn.commit().await?;
    state
        .store
        .add_chances(&campaign.slug, pool.id, user_id, count)
        .await?;
    Ok(count)
}

/// What a customer gets from a draw.
#[derive(Debug, Clone, Serialize)]
pub struct DrawResult {
    pub draw_id: i64,
    pub prize: PublishedPrize,
    pub guaranteed: bool,
}

/// One draw: the campaign must be live; the store decides in one atomic step (pause, chance, limits,
/// guarantee, stock); then the record and its grant are written together, or the store step is undone.
pub async fn draw(
    state: &AppState,
    user_id: i64,
    campaign_slug: &str,
    pool_slug: &str,
    idempotency_key: &str,
) -> Result<DrawResult, LotteryError> {
    let now = state.clock.now();
    let campaign = gate::admit(
        &state.db,
        state.store.as_ref(),
        campaign_slug,
        Scope::Pool(pool_slug),
        now,
    )
    .await?
    .campaign;
    let (pool, prizes) = pool_and_prizes(&state.db, &campaign, pool_slug).await?;
    let day = now.with_timezone(&Shanghai).format("%Y-%m-%d").to_string();
    if pool.daily_free_chances > 0 {
        let source_ref = format!("daily_free:{}:{user_id}:{day}", pool.id);
        grant_chances(
            state,
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
    let (won, fresh) = match state.store.draw(&spec).await? {
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
    match record(
        state,
        user_id,
        &campaign,
        &pool,
        prize,
        &won,
        &request_id,
        &day,
    )
    .await
    {
        Ok(recorded) => {
            if fresh && !recorded.created {
                // The store lost this request (a flush) and drew again: the record already answers it.
                state.store.undo_draw(&spec, &won).await?;
            }
            let odds = odds_of(&state.db, &campaign, &pool).await?;
            let drawn = prizes
                .iter()
                .find(|p| p.id == recorded.prize_id)
                .ok_or(LotteryError::NotFound)?;
            let mut published = odds
                .prizes
                .into_iter()
                .find(|p| p.slug == drawn.slug)
                .ok_or(LotteryError::NotFound)?;
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
                if let Err(undo) = state.store.undo_draw(&spec, &won).await {
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

struct Recorded {
    draw_id: i64,
    prize_id: i64,
    guaranteed: bool,
    /// False when the request had been recorded before: that record stands.
    created: bool,
}

/// The draw record and what it grants, in one transaction; a repeat of the same request finds its record.
#[allow(clippy::too_many_arguments)]
async fn record(
    state: &AppState,
    user_id: i64,
    campaign: &campaigns::Model,
    pool: &prize_pools::Model,
    prize: &prizes::Model,
    won: &Won,
    request_id: &str,
    day: &str,
) -> Result<Recorded, LotteryError> {
    let txn = crate::db::begin_write(&state.db).await?;
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
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    if prize.kind == PrizeKind::Points.as_str() {
        let source_ref = format!("draw:{request_id}");
        let change = PointsChange {
            user_id,
            delta: prize.points,
            reason: "lottery_prize",
            source_ref: &source_ref,
            campaign: Some(&campaign.slug),
        };
        let factor = points::campaign_factor(&txn, &campaign.slug, state.clock.now())
            .await
            .map_err(|e| LotteryError::Unexpected(e.into()))?;
        let change = PointsChange {
            delta: points::multiplied(change.delta, factor)
                .map_err(|e| LotteryError::Unexpected(e.into()))?,
            ..change
        };
        points::apply(&txn, &change, factor)
            .await
            .map_err(|e| LotteryError::Unexpected(e.into()))?;
    }
    if let Some(template) = &prize.coupon_template {
        crate::coupons::service::issue(
            &txn,
            template,
            user_id,
            &format!("draw:{request_id}"),
            state.clock.now(),
        )
        .await
        .map_err(|e| match e {
            // The prize's coupons are gone (or this customer holds all they may): the draw is undone.
            CouponError::SoldOut | CouponError::LimitReached => LotteryError::OutOfStock,
            other => LotteryError::Unexpected(
                anyhow::Error::new(other).context("issuing the prize coupon"),
            ),
        })?;
    }
    txn.commit().await?;
    Ok(Recorded {
        draw_id: record.id,
        prize_id: prize.id,
        guaranteed: won.guaranteed,
        created: true,
    })
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

/// Rebuilds one pool's store counters from `draw_records` and `chance_grants`: after a store flush nothing is
/// lost, and a counter that fell behind the database is repaired. Counters are only ever raised (see
/// `StateStore::restore_pool_counters`).
pub async fn reconcile_pool(
    db: &DatabaseConnection,
    store: &dyn crate::store::StateStore,
    campaign: &campaigns::Model,
    pool: &prize_pools::Model,
    now: DateTime<Utc>,
) -> Result<usize, LotteryError> {
    use crate::store::lottery::{counter, CounterValue};
    use std::collections::HashMap;

    let today = now.with_timezone(&Shanghai).format("%Y-%m-%d").to_string();
    let records = draw_records::Entity::find()
        .filter(draw_records::Column::PoolId.eq(pool.id))
        .order_by_asc(draw_records::Column::Id)
        .all(db)
        .await?;
    let grants = chance_grants::Entity::find()
        .filter(chance_grants::Column::PoolId.eq(pool.id))
        .all(db)
        .await?;
    let mut counts: HashMap<String, (u32, bool)> = HashMap::new();
    let mut add =
        |name: String, by: u32, expires: bool| counts.entry(name).or_insert((0, expires)).0 += by;
    let mut since: HashMap<i64, u32> = HashMap::new();
    for record in &records {
        add(counter::stock(record.prize_id), 1, false);
        add(counter::used(record.user_id), 1, false);
        add(counter::won(record.user_id, record.prize_id), 1, false);
        if record.day == today {
            add(
                counter::won_on(record.user_id, &today, record.prize_id),
                1,
                true,
            );
        }
        if let Some(tier) = pool.guarantee_tier {
            let counter = since.entry(record.user_id).or_insert(0);
            *counter = if record.tier <= tier { 0 } else { *counter + 1 };
        }
    }
    for grant in &grants {
        add(
            counter::granted(grant.user_id),
            grant.amount.max(0) as u32,
            false,
        );
    }
    let mut values: Vec<CounterValue> = counts
        .into_iter()
        .map(|(name, (value, expires))| CounterValue {
            name,
            value,
            expires,
        })
        .collect();
    values.extend(since.into_iter().map(|(user, value)| CounterValue {
        name: counter::since(user),
        value,
        expires: false,
    }));
    store
        .restore_pool_counters(&campaign.slug, pool.id, &values)
        .await?;
    Ok(values.len())
}

/// Reconciles every pool of every campaign that has not ended.
pub async fn reconcile_all(
    db: &DatabaseConnection,
    store: &dyn crate::store::StateStore,
    now: DateTime<Utc>,
) -> Result<usize, LotteryError> {
    let mut counters = 0;
    for campaign in campaigns::Entity::find()
        .filter(campaigns::Column::EndsAt.gt(now))
        .all(db)
        .await?
    {
        for pool in prize_pools::Entity::find()
            .filter(prize_pools::Column::CampaignId.eq(campaign.id))
            .all(db)
            .await?
        {
            counters += reconcile_pool(db, store, &campaign, &pool, now).await?;
        }
    }
    Ok(counters)
}
