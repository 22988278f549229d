use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;

use crate::audit::{self, Actor};
use crate::calendar::ActivityKind;
use crate::entities::{activities, points_accounts, points_ledger};
use crate::error::{AppError, ErrorCode};

/// No multiplier.
const NO_FACTOR: i32 = 100;
/// The largest grant or spend, either way, before and after a points-week multiplier.
pub const MAX_DELTA: i64 = 100_000_000;
const DELTA_RULE: &str = "delta must be non-zero and at most 100,000,000 either way";

#[derive(Debug, thiserror::Error)]
pub enum PointsError {
    #[error("{0}")]
    Invalid(String),
    #[error("not enough points: the balance is {balance}")]
    Insufficient { balance: i64 },
    #[error("this source reference was already used for another grant")]
    SourceReused,
    #[error("{}", crate::idempotency::KEY_REUSED)]
    KeyReused,
    /// Another transaction recorded the same source reference first; the caller retries and finds it.
    #[error("a concurrent grant recorded the same source reference")]
    Concurrent,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<DbErr> for PointsError {
    fn from(error: DbErr) -> Self {
        match error.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => PointsError::Concurrent,
            _ => PointsError::Unexpected(error.into()),
        }
    }
}

impl From<PointsError> for AppError {
    fn from(error: PointsError) -> Self {
        let message = error.to_string();
        match error {
            PointsError::Invalid(_) => AppError::new(ErrorCode::InvalidPoints, message),
            PointsError::Insufficient { .. } => {
                AppError::new(ErrorCode::InsufficientPoints, message)
            }
            PointsError::SourceReused => AppError::new(ErrorCode::SourceReused, message),
            PointsError::KeyReused => crate::idempotency::key_reused(),
            PointsError::Concurrent => AppError::new(ErrorCode::ConcurrentRequest, message),
            PointsError::Unexpected(e) => AppError::unexpected(e),
        }
    }
}

/// A grant (delta > 0) or spend (delta < 0), named by what caused it.
#[derive(Debug, Clone)]
pub struct PointsChange<'a> {
    pub user_id: i64,
    pub delta: i64,
    /// What kind of event: `quiz_passed`, `invite_credited`, `redeem`, `staff_adjustment` ...
    pub reason: &'a str,
    /// Unique per grant (`quiz:<activity>:<level>:<user>`, `draw:<request id>`): the same reference grants once.
    pub source_ref: &'a str,
    /// The campaign that granted it, whose points week (if live) multiplies a grant.
    pub campaign: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LedgerEntry {
    pub id: i64,
    pub delta: i64,
    pub factor_percent: i32,
    pub reason: String,
    pub campaign: Option<String>,
    pub balance_after: i64,
    pub created_at: DateTime<Utc>,
}

impl From<points_ledger::Model> for LedgerEntry {
    fn from(row: points_ledger::Model) -> Self {
        Self {
            id: row.id,
            delta: row.delta,
            factor_percent: row.factor_percent,
            reason: row.reason,
            campaign: row.campaign_slug,
            balance_after: row.balance_after,
            created_at: row.created_at,
        }
    }
}

fn validate(change: &PointsChange) -> Result<(), PointsError> {
    let invalid = |m: &str| Err(PointsError::Invalid(m.to_owned()));
    if change.delta == 0 || change.delta.unsigned_abs() > MAX_DELTA.unsigned_abs() {
        return invalid(DELTA_RULE);
    }
    if !(1..=64).contains(&change.reason.len())
        || !change
            .reason
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.')
    {
        return invalid("reason must be 1-64 characters of a-z, '_' and '.'");
    }
    if !(1..=128).contains(&change.source_ref.len())
        || change
            .source_ref
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        return invalid("source_ref must be 1-128 characters without spaces");
    }
    Ok(())
}

/// `delta` multiplied by a points week's `factor_percent`, in checked arithmetic: the limit is checked on the
/// requested amount first, then on the result, so no input can wrap into another number.
pub fn multiplied(delta: i64, factor_percent: i32) -> Result<i64, PointsError> {
    let too_large =
        || PointsError::Invalid("delta must be non-zero and at most 100,000,000 either way".into());
    if delta == 0 || delta.unsigned_abs() > MAX_DELTA.unsigned_abs() || factor_percent < 0 {
        return Err(too_large());
    }
    let result = delta
        .checked_mul(i64::from(factor_percent))
        .map(|product| product / 100)
        .ok_or_else(too_large)?;
    if result == 0 || result.unsigned_abs() > MAX_DELTA.unsigned_abs() {
        return Err(too_large());
    }
    Ok(result)
}

/// The multiplier of `campaign`'s points week live at `now` (100 when there is none).
pub async fn campaign_factor(
    conn: &impl ConnectionTrait,
    campaign: &str,
    now: DateTime<Utc>,
) -> Result<i32, PointsError> {
    let Some(campaign) = crate::campaigns::gate::find_campaign(conn, campaign).await? else {
        return Ok(NO_FACTOR);
    };
    let weeks = activities::Entity::find()
        .filter(activities::Column::CampaignId.eq(campaign.id))
        .filter(activities::Column::Kind.eq(ActivityKind::PointsWeek.as_str()))
        .filter(activities::Column::StartsAt.lte(now))
        .filter(activities::Column::EndsAt.gt(now))
        .all(conn)
        .await?;
    Ok(weeks
        .iter()
        .filter_map(|week| week.config.get("factor_percent").and_then(|f| f.as_i64()))
        .map(|f| i32::try_from(f).unwrap_or(NO_FACTOR))
        .max()
        .unwrap_or(NO_FACTOR))
}

/// What `apply` did: recorded a new entry, or found the one this source reference recorded before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub entry: LedgerEntry,
    pub new: bool,
}

/// Records `change` (its delta already final, multiplied by `factor_percent`) on the caller's transaction.
/// The same source reference returns the entry it recorded the first time.
pub async fn apply(
    txn: &DatabaseTransaction,
    change: &PointsChange<'_>,
    factor_percent: i32,
) -> Result<Applied, PointsError> {
    validate(change)?;
    let existing = points_ledger::Entity::find()
        .filter(points_ledger::Column::SourceRef.eq(change.source_ref))
        .one(txn)
        .await?;
    if let Some(existing) = existing {
        if existing.user_id != change.user_id || existing.reason != change.reason {
            return Err(PointsError::SourceReused);
        }
        return Ok(Applied {
            entry: existing.into(),
            new: false,
        });
    }
    let now = Utc::now();
    points_accounts::Entity::insert(points_accounts::ActiveModel {
        user_id: Set(change.user_id),
        balance: Set(0),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(points_accounts::Column::UserId)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    // One conditional update: the balance cannot go below zero however many spends race.
    let updated = points_accounts::Entity::update_many()
        .col_expr(
            points_accounts::Column::Balance,
            Expr::col(points_accounts::Column::Balance).add(change.delta),
        )
        .col_expr(points_accounts::Column::UpdatedAt, Expr::value(now))
        .filter(points_accounts::Column::UserId.eq(change.user_id))
        .filter(
            Expr::col(points_accounts::Column::Balance)
                .add(change.delta)
                .gte(0),
        )
        .exec(txn)
        .await?;
    let account = points_accounts::Entity::find_by_id(change.user_id)
        .one(txn)
        .await?
        .ok_or_else(|| PointsError::Unexpected(anyhow::anyhow!("points account vanished")))?;
    if updated.rows_affected == 0 {
        return Err(PointsError::Insufficient {
            balance: account.balance,
        });
    }
    let entry = points_ledger::ActiveModel {
        user_id: Set(change.user_id),
        delta: Set(change.delta),
        factor_percent: Set(factor_percent),
        reason: Set(change.reason.to_owned()),
        source_ref: Set(change.source_ref.to_owned()),
        campaign_slug: Set(change.campaign.map(str::to_owned)),
        balance_after: Set(account.balance),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(Applied {
        entry: entry.into(),
        new: true,
    })
}

/// Grants `change.delta` points (multiplied by its campaign's live points week) or spends them, in its own
/// transaction. A concurrent duplicate of the same source reference is retried once and returns the first entry.
pub async fn record(
    db: &DatabaseConnection,
    change: &PointsChange<'_>,
    now: DateTime<Utc>,
) -> Result<LedgerEntry, PointsError> {
    record_with(db, change, now, None).await
}

async fn record_with(
    db: &DatabaseConnection,
    change: &PointsChange<'_>,
    now: DateTime<Utc>,
    audited_by: Option<&Actor>,
) -> Result<LedgerEntry, PointsError> {
    for attempt in 0..2 {
        let txn = crate::db::begin_write(db).await?;
        let factor = match (change.delta > 0, change.campaign) {
            (true, Some(campaign)) => campaign_factor(&txn, campaign, now).await?,
            _ => NO_FACTOR,
        };
        let multiplied = PointsChange {
            delta: multiplied(change.delta, factor)?,
            ..change.clone()
        };
        let result = apply(&txn, &multiplied, factor).await;
        let result = match (result, audited_by) {
            (Ok(applied), Some(actor)) if applied.new => {
                let target = format!("user:{}", change.user_id);
                let entry = audit::Entry::new("points.adjust", "points_account", target)
                    .after(&applied.entry);
                audit::record(&txn, actor, entry)
                    .await
                    .map(|_| applied.entry)
                    .map_err(PointsError::from)
            }
            (result, _) => result.map(|applied| applied.entry),
        };
        match result {
            Ok(entry) => {
                txn.commit().await?;
                return Ok(entry);
            }
            Err(PointsError::Concurrent) if attempt == 0 => {
                txn.rollback().await?;
            }
            Err(error) => {
                txn.rollback().await?;
                return Err(error);
            }
        }
    }
    Err(PointsError::Concurrent)
}

/// A staff adjustment (customer-service compensation or correction), audited with the adjusting account.
pub async fn adjust(
    db: &DatabaseConnection,
    actor: &Actor,
    user_id: i64,
    delta: i64,
    idempotency_key: &str,
    now: DateTime<Utc>,
) -> Result<LedgerEntry, PointsError> {
    let users = crate::entities::users::Entity::find_by_id(user_id)
        .one(db)
        .await?;
    if users.is_none() {
        return Err(PointsError::Invalid("no such user".into()));
    }
    // Per adjusting account: two operators' keys never meet.
    let source_ref = format!(
        "staff_adjustment:{}:{idempotency_key}",
        actor.staff_id.unwrap_or_default()
    );
    let change = PointsChange {
        user_id,
        delta,
        reason: "staff_adjustment",
        source_ref: &source_ref,
        campaign: None,
    };
    // The ledger is the durable record of the key: the same key for another customer or another amount is a
    // different request, whatever the store remembers.
    let entry = match record_with(db, &change, now, Some(actor)).await {
        Err(PointsError::SourceReused) => return Err(PointsError::KeyReused),
        other => other?,
    };
    if entry.delta != delta {
        return Err(PointsError::KeyReused);
    }
    Ok(entry)
}

#[derive(Debug, Serialize)]
pub struct PointsStatement {
    pub balance: i64,
    pub entries: Vec<LedgerEntry>,
    /// Pass as `before_id` for the next (older) page.
    pub next_before_id: Option<i64>,
}

pub async fn statement(
    db: &DatabaseConnection,
    user_id: i64,
    before_id: Option<i64>,
    limit: u64,
) -> Result<PointsStatement, PointsError> {
    let balance = points_accounts::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .map(|a| a.balance)
        .unwrap_or(0);
    let mut query = points_ledger::Entity::find()
        .filter(points_ledger::Column::UserId.eq(user_id))
        .order_by_desc(points_ledger::Column::Id);
    if let Some(before_id) = before_id {
        query = query.filter(points_ledger::Column::Id.lt(before_id));
    }
    let limit = limit.clamp(1, 100);
    let entries: Vec<LedgerEntry> = query
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(LedgerEntry::from)
        .collect();
    let next_before_id = (entries.len() as u64 == limit)
        .then(|| entries.last().map(|e| e.id))
        .flatten();
    Ok(PointsStatement {
        balance,
        entries,
        next_before_id,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Whatever the amount and the factor, the result is the exact product (computed without overflow in
        /// i128) within the limit, or a refusal: never a wrapped number.
        #[test]
        fn multiplied_is_exact_or_refused(
            delta in prop_oneof![any::<i64>(), Just(i64::MAX), Just(i64::MIN), Just(4_611_686_018_427_387_909i64), -MAX_DELTA..=MAX_DELTA],
            factor in prop_oneof![any::<i32>(), 100..=1000i32],
        ) {
            let exact = i128::from(delta) * i128::from(factor) / 100;
            match multiplied(delta, factor) {
                Ok(result) => {
                    prop_assert_eq!(i128::from(result), exact);
                    prop_assert!(result != 0 && result.unsigned_abs() <= MAX_DELTA.unsigned_abs());
                    prop_assert!(delta.unsigned_abs() <= MAX_DELTA.unsigned_abs());
                }
                Err(PointsError::Invalid(_)) => prop_assert!(
                    delta == 0
                        || delta.unsigned_abs() > MAX_DELTA.unsigned_abs()
                        || factor < 0
                        || exact == 0
                        || exact.unsigned_abs() > MAX_DELTA.unsigned_abs() as u128
                ),
                Err(other) => prop_assert!(false, "unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn the_reported_overflows_are_refused() {
        assert!(multiplied(i64::MAX, 100).is_err());
        assert!(multiplied(4_611_686_018_427_387_909, 200).is_err());
        assert!(multiplied(i64::MIN, 100).is_err());
        assert_eq!(multiplied(1_000, 150).unwrap(), 1_500);
        assert_eq!(multiplied(-1_000, 100).unwrap(), -1_000);
    }
}
