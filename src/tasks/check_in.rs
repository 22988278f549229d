//! Checking in: once per Asia/Shanghai day per campaign, while one of its task or plan activities with a
//! check-in task is open. The check-in is an event like any other; the streak is read back from them.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use serde::Serialize;

use super::lookup::{first_actionable, task_activities, tasks_where};
use super::model::{TaskError, TaskKind};
use super::progress::streak;
use super::settle::{settle_after_action, TaskPaid};
use crate::calendar::day_key;
use crate::campaigns::gate::{self, GateError, Scope};
use crate::entities::customer_events;
use crate::outbox::{self, Event, EventKind};
use crate::state::Context;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CheckIn {
    /// The Asia/Shanghai day checked in (`2026-01-20`).
    pub day: String,
    /// Days in a row up to today.
    pub streak: u32,
    /// Days checked in during this campaign.
    pub total_days: u32,
    /// What the check-in finished and paid.
    pub paid: Vec<TaskPaid>,
}

pub async fn check_in(
    cx: Context<'_>,
    user_id: i64,
    campaign_slug: &str,
) -> Result<CheckIn, TaskError> {
    let admitted = gate::admit(cx.db, cx.store, campaign_slug, Scope::Campaign, cx.now).await?;
    let campaign = admitted.campaign;
    let activities = task_activities(cx.db, campaign.id).await?;
    let with_check_in = tasks_where(&activities, |t| t.kind == TaskKind::CheckIn);
    // A check-in the customer can progress: a task activity's, or a plan's day they have reached. Each task
    // counts the days in its own window.
    let first_seen = crate::users::service::first_seen(cx.db, user_id)
        .await?
        .unwrap_or(cx.now);
    first_actionable(
        with_check_in,
        first_seen,
        cx.now,
        GateError::ActivityNotFound.into(),
    )?;
    let day = day_key(cx.now);
    let txn = crate::db::begin_write(cx.db).await?;
    let new = outbox::record(
        &txn,
        &Event {
            user_id,
            kind: EventKind::CheckedIn,
            source_ref: &format!("checkin:{}:{user_id}:{day}", campaign.id),
            campaign_id: Some(campaign.id),
            activity_id: None,
            subject: Some(&day),
            at: cx.now,
        },
    )
    .await?;
    if !new {
        txn.rollback().await?;
        return Err(TaskError::AlreadyCheckedIn);
    }
    txn.commit().await?;
    let paid = settle_after_action(cx, user_id).await;
    let days = checked_days(cx.db, user_id, campaign.id).await?;
    let today = cx
        .now
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive();
    Ok(CheckIn {
        day,
        streak: streak(&days, today),
        total_days: days.len() as u32,
        paid,
    })
}

/// The days the customer checked in during the campaign.
pub async fn checked_days(
    conn: &impl ConnectionTrait,
    user_id: i64,
    campaign_id: i64,
) -> Result<BTreeSet<NaiveDate>, DbErr> {
    Ok(customer_events::Entity::find()
        .filter(customer_events::Column::UserId.eq(user_id))
        .filter(customer_events::Column::Kind.eq(EventKind::CheckedIn.as_str()))
        .filter(customer_events::Column::CampaignId.eq(campaign_id))
        .all(conn)
        .await?
        .into_iter()
        .filter_map(|e| e.subject?.parse().ok())
        .collect())
}
