//! A customer's points: grants and spends in their own transaction, staff adjustments, the statement. The
//! ledger itself is written by `rewards`, the one door for every grant.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;

use crate::audit::{self, Actor};
use crate::entities::{points_accounts, points_ledger};
pub use crate::rewards::points::{LedgerEntry, PointsChange, PointsError};
use crate::rewards::{self, Grant, Granted, Reward, Rewards};

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
        let result = if change.delta > 0 {
            let grant = Grant {
                user_id: change.user_id,
                source_ref: change.source_ref,
                reward: Reward::Points {
                    amount: change.delta,
                    reason: change.reason,
                    campaign: change.campaign,
                },
            };
            // Points need nothing from the store after the commit.
            match Rewards::new(now).grant(&txn, &grant).await {
                Ok(Granted::Points { entry, new }) => Ok((entry, new)),
                Ok(_) => Err(PointsError::Unexpected(anyhow::anyhow!(
                    "not a points grant"
                ))),
                Err(e) => Err(e.into()),
            }
        } else {
            rewards::spend_points(&txn, change, now).await
        };
        let result = match (result, audited_by) {
            (Ok((entry, true)), Some(actor)) => {
                let target = format!("user:{}", change.user_id);
                let audit_entry =
                    audit::Entry::new("points.adjust", "points_account", target).after(&entry);
                audit::record(&txn, actor, audit_entry)
                    .await
                    .map(|_| entry)
                    .map_err(PointsError::from)
            }
            (result, _) => result.map(|(entry, _)| entry),
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

#[derive(Debug, Serialize, utoipa::ToSchema)]
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

/// The balances of `user_ids` (a customer with no account has none listed): a push's `{{points}}`.
pub async fn balances(
    conn: &impl sea_orm::ConnectionTrait,
    user_ids: &[i64],
) -> Result<std::collections::HashMap<i64, i64>, sea_orm::DbErr> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    Ok(crate::entities::points_accounts::Entity::find()
        .filter(crate::entities::points_accounts::Column::UserId.is_in(user_ids.iter().copied()))
        .all(conn)
        .await?
        .into_iter()
        .map(|account| (account.user_id, account.balance))
        .collect())
}
