//! The points ledger's one writer: a grant or spend and the balance change together, once per source
//! reference, never below zero; a grant is multiplied by its campaign's live points week exactly once.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
};
use serde::Serialize;

use crate::calendar::ActivityKind;
use crate::entities::{activities, points_accounts, points_ledger};
use crate::error::{AppError, ErrorCode};

/// No multiplier.
pub(crate) const NO_FACTOR: i32 = 100;
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
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
    let too_large = || PointsError::Invalid(DELTA_RULE.into());
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

/// What `write` did: recorded a new entry, or found the one this source reference recorded before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub entry: LedgerEntry,
    pub new: bool,
}

/// Grants `change.delta` points multiplied by its campaign's live points week, on the caller's transaction.
pub(super) async fn grant(
    conn: &impl ConnectionTrait,
    change: &PointsChange<'_>,
    now: DateTime<Utc>,
) -> Result<Applied, PointsError> {
    if change.delta < 0 {
        return Err(PointsError::Invalid("a grant must be positive".into()));
    }
    let factor = match change.campaign {
        Some(campaign) => campaign_factor(conn, campaign, now).await?,
        None => NO_FACTOR,
    };
    let multiplied = PointsChange {
        delta: multiplied(change.delta, factor)?,
        ..change.clone()
    };
    write(conn, &multiplied, factor, now).await
}

/// Spends `-change.delta` points (a negative delta) on the caller's transaction, never below zero.
pub(super) async fn spend(
    conn: &impl ConnectionTrait,
    change: &PointsChange<'_>,
    now: DateTime<Utc>,
) -> Result<Applied, PointsError> {
    if change.delta > 0 {
        return Err(PointsError::Invalid("a spend must be negative".into()));
    }
    write(conn, change, NO_FACTOR, now).await
}

/// Records `change` (its delta already final, multiplied by `factor_percent`). The same source reference
/// returns the entry it recorded the first time.
async fn write(
    txn: &impl ConnectionTrait,
    change: &PointsChange<'_>,
    factor_percent: i32,
    now: DateTime<Utc>,
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
