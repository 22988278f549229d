//! Paying what tasks earn. Each event waits in the outbox (its `tasks_settled_at` unset) until a settlement for
//! its customer reads it: right after the customer's own action on this instance, or the `tasks.settle` job on
//! any instance. A settlement evaluates the customer's task and plan activities around the events and pays each
//! finished task, activity and plan day once (the rewards door's source references), then marks the events
//! settled in the same transaction: an event is never lost, and a second settlement pays nothing again.

use std::collections::HashMap;
use std::time::Duration;

use sea_orm::sea_query::{Expr, Func, NullOrdering, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait, Order, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use serde::Serialize;

use super::lookup::TASK_KINDS;
use super::model::TaskError;
use super::progress::{board, events_of, Board};
use crate::calendar::{ActivityKind, Status};
use crate::campaigns::gate;
use crate::entities::customer_events;
use crate::rewards::{Paid, Rewards};
use crate::state::Context;

/// A settlement outlives no request; a crashed holder's lock frees itself.
const SETTLE_LOCK_TTL: Duration = Duration::from_secs(30);
/// A customer whose settlement must wait (a paused campaign) is looked at again this much later ...
const WAIT_RETRY: chrono::Duration = chrono::Duration::minutes(1);
/// ... and one whose settlement failed (a reward that cannot be paid) this much later, so neither holds up
/// the customers behind them.
const FAILED_RETRY: chrono::Duration = chrono::Duration::minutes(5);
/// Customers settled per job pass; the rest wait for the next pass.
const USERS_PER_PASS: u64 = 200;

/// One payment a settlement made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TaskPaid {
    pub activity: String,
    /// The task's id, or `all` for finishing the whole activity (a plan's new-customer pack).
    pub task: String,
    pub paid: Paid,
}

/// What a job pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Settled {
    pub customers: u32,
    pub payments: u32,
    /// Customers whose settlement failed or waits (a paused campaign, a lock held elsewhere): tried again.
    pub deferred: u32,
}

/// Settles the outbox: every customer with unsettled events, a page per pass.
pub async fn settle_pending(cx: Context<'_>) -> Result<Settled, TaskError> {
    let users: Vec<i64> = customer_events::Entity::find()
        .select_only()
        .column(customer_events::Column::UserId)
        .filter(customer_events::Column::TasksSettledAt.is_null())
        .filter(
            Condition::any()
                .add(customer_events::Column::TasksRetryAt.is_null())
                .add(customer_events::Column::TasksRetryAt.lte(cx.now)),
        )
        .group_by(customer_events::Column::UserId)
        // Customers never held first, then those held longest ago: a crowd held by a paused campaign cannot
        // fill every pass.
        .order_by_with_nulls(
            SimpleExpr::from(Func::max(Expr::col(customer_events::Column::TasksRetryAt))),
            Order::Asc,
            NullOrdering::First,
        )
        .order_by_asc(customer_events::Column::UserId)
        .limit(USERS_PER_PASS)
        .into_tuple()
        .all(cx.db)
        .await?;
    let mut settled = Settled::default();
    for user_id in users {
        match settle_user(cx, user_id).await {
            Ok(Some(settlement)) => {
                settled.customers += 1;
                settled.payments += settlement.paid.len() as u32;
                settled.deferred += u32::from(settlement.held);
            }
            Ok(None) => settled.deferred += 1,
            Err(error) => {
                settled.deferred += 1;
                tracing::error!(user_id, error = ?error, "task settlement failed; retried later");
                hold_off(cx, user_id, FAILED_RETRY).await?;
            }
        }
    }
    Ok(settled)
}

/// Puts the customer's unsettled events off until `after` from now.
async fn hold_off(
    cx: Context<'_>,
    user_id: i64,
    after: chrono::Duration,
) -> Result<(), sea_orm::DbErr> {
    hold_off_on(cx.db, user_id, cx.now + after).await
}

async fn hold_off_on(
    conn: &impl ConnectionTrait,
    user_id: i64,
    until: chrono::DateTime<chrono::Utc>,
) -> Result<(), sea_orm::DbErr> {
    customer_events::Entity::update_many()
        .col_expr(customer_events::Column::TasksRetryAt, Expr::value(until))
        .filter(customer_events::Column::UserId.eq(user_id))
        .filter(customer_events::Column::TasksSettledAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

/// Settles the customer's events after an action of their own already committed: a failure is logged and
/// left to the job, never turned into an error for an action that happened.
pub async fn settle_after_action(cx: Context<'_>, user_id: i64) -> Vec<TaskPaid> {
    match settle_user(cx, user_id).await {
        Ok(settlement) => settlement.map(|s| s.paid).unwrap_or_default(),
        Err(error) => {
            tracing::error!(user_id, error = ?error, "task settlement after an action failed; the job retries");
            Vec::new()
        }
    }
}

/// What one customer's settlement paid, and whether some of their events wait for another (a paused campaign,
/// a reward that could not be paid).
#[derive(Debug, Clone, Default)]
pub struct Settlement {
    pub paid: Vec<TaskPaid>,
    pub held: bool,
}

/// Settles one customer's unsettled events. `None` when another settlement holds the customer (it pays).
pub async fn settle_user(cx: Context<'_>, user_id: i64) -> Result<Option<Settlement>, TaskError> {
    let lock = format!("tasks:settle:u{user_id}");
    let Some(token) = cx.store.lock(&lock, SETTLE_LOCK_TTL).await? else {
        return Ok(None);
    };
    let outcome = settle_locked(cx, user_id).await;
    if let Err(error) = cx.store.unlock(&lock, &token).await {
        tracing::warn!(?error, "task settlement lock not released; it expires");
    }
    outcome
}

async fn settle_locked(cx: Context<'_>, user_id: i64) -> Result<Option<Settlement>, TaskError> {
    let txn = crate::db::begin_write(cx.db).await?;
    let pending = customer_events::Entity::find()
        .filter(customer_events::Column::UserId.eq(user_id))
        .filter(customer_events::Column::TasksSettledAt.is_null())
        .all(&txn)
        .await?;
    let (Some(first), Some(last)) = (
        pending.iter().map(|e| e.occurred_at).min(),
        pending.iter().map(|e| e.occurred_at).max(),
    ) else {
        txn.rollback().await?;
        return Ok(Some(Settlement::default()));
    };
    let candidates = gate::activities_overlapping(&txn, &TASK_KINDS, first, last).await?;
    let mut rewards = Rewards::new(cx.now);
    let mut paid = Vec::new();
    let mut waits = false;
    let mut failed = false;
    if !candidates.is_empty() {
        let since = candidates
            .iter()
            .map(|a| a.starts_at)
            .min()
            .unwrap_or(first);
        let seen = events_of(&txn, user_id, since).await?;
        let first_seen = crate::users::service::first_seen(&txn, user_id)
            .await?
            .unwrap_or(cx.now);
        for activity in &candidates {
            let Some(campaign) = gate::find_campaign_by_id(&txn, activity.campaign_id).await?
            else {
                continue;
            };
            if campaign.status == Status::Draft.as_str() {
                continue;
            }
            // The gate's pause, whatever the clock says: paid when the campaign resumes, its events unsettled
            // until then. An ended campaign still pays what was done inside its windows.
            if gate::grants_held(cx.store, &campaign).await {
                waits = true;
                continue;
            }
            let slugs = activity_ids(&txn, campaign.id).await?;
            let board = match board(activity, &seen, &slugs, first_seen) {
                Ok(board) => board,
                Err(error) => {
                    // A config from before typed tasks: nothing it could pay.
                    tracing::warn!(activity = %activity.slug, %error, "a task activity that does not parse is skipped");
                    continue;
                }
            };
            // Each activity on its own savepoint: one that cannot pay (a pool gone) does not stop the others.
            let savepoint = txn.begin().await?;
            let mut paying = Rewards::new(cx.now);
            match pay_board(&savepoint, &mut paying, user_id, &board, &campaign).await {
                Ok(payments) => {
                    savepoint.commit().await?;
                    rewards.absorb(paying);
                    paid.extend(payments);
                }
                Err(error) => {
                    savepoint.rollback().await?;
                    tracing::error!(user_id, activity = %activity.slug, error = ?error, "a task reward could not be paid; retried later");
                    failed = true;
                }
            }
        }
    }
    if failed {
        hold_off_on(&txn, user_id, cx.now + FAILED_RETRY).await?;
    } else if waits {
        hold_off_on(&txn, user_id, cx.now + WAIT_RETRY).await?;
    } else {
        let ids: Vec<i64> = pending.iter().map(|e| e.id).collect();
        customer_events::Entity::update_many()
            .col_expr(customer_events::Column::TasksSettledAt, Expr::value(cx.now))
            .filter(customer_events::Column::Id.is_in(ids))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    rewards.after_commit(cx.store).await;
    Ok(Some(Settlement {
        paid,
        held: waits || failed,
    }))
}

/// The campaign's activities by slug (a poster or team task may name one).
pub async fn activity_ids(
    conn: &impl ConnectionTrait,
    campaign_id: i64,
) -> Result<HashMap<String, i64>, sea_orm::DbErr> {
    Ok(gate::campaign_activities(conn, campaign_id, &[])
        .await?
        .into_iter()
        .map(|a| (a.slug, a.id))
        .collect())
}

/// Pays every finished task of `board` with a reward, and the whole activity when all are finished.
async fn pay_board(
    txn: &DatabaseTransaction,
    rewards: &mut Rewards,
    user_id: i64,
    board: &Board,
    campaign: &crate::entities::campaigns::Model,
) -> Result<Vec<TaskPaid>, TaskError> {
    let activity = &board.activity;
    let mut paid = Vec::new();
    for standing in board.tasks.iter().filter(|t| t.done) {
        let Some(reward) = &standing.task.reward else {
            continue;
        };
        let source = format!("task:{}:{}:{user_id}", activity.id, standing.task.id);
        let payment = rewards
            .pay(txn, user_id, &source, reward, campaign, "task_done")
            .await?;
        if payment != Paid::default() {
            paid.push(TaskPaid {
                activity: activity.slug.clone(),
                task: standing.task.id.clone(),
                paid: payment,
            });
        }
    }
    if let (true, Some(reward)) = (board.all_done(), &board.reward) {
        let (source, reason) = match board.kind {
            ActivityKind::Plan => (format!("plan:{}:{user_id}", activity.id), "plan_finished"),
            _ => (format!("tasks:{}:{user_id}", activity.id), "tasks_finished"),
        };
        let payment = rewards
            .pay(txn, user_id, &source, reward, campaign, reason)
            .await?;
        if payment != Paid::default() {
            paid.push(TaskPaid {
                activity: activity.slug.clone(),
                task: "all".into(),
                paid: payment,
            });
        }
    }
    Ok(paid)
}
