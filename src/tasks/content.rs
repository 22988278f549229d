//! Reading content (an article, a course): the dwell time is the server's, from the customer's first open of
//! the content to their report that it was read, so a client cannot claim a read it did not spend.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Serialize;

use super::lookup::{first_actionable, task_activities, tasks_where, Located};
use super::model::{TaskError, TaskKind};
use super::settle::{settle_user, TaskPaid};
use crate::calendar::shanghai;
use crate::campaigns::gate::{self, Scope};
use crate::entities::customer_events;
use crate::outbox::{self, Event, EventKind};
use crate::state::Context;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ContentOpened {
    pub content: String,
    /// When it was first opened (Asia/Shanghai); a read counts from here.
    pub opened_at: String,
    /// Report the read no sooner than this many seconds after `opened_at`.
    pub min_seconds: u32,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ContentRead {
    pub content: String,
    pub read_at: String,
    pub paid: Vec<TaskPaid>,
}

/// The content task the customer may act on now.
async fn located(
    cx: Context<'_>,
    user_id: i64,
    campaign_slug: &str,
    content: &str,
) -> Result<(i64, Located), TaskError> {
    let admitted = gate::admit(cx.db, cx.store, campaign_slug, Scope::Campaign, cx.now).await?;
    let activities = task_activities(cx.db, admitted.campaign.id).await?;
    let found = tasks_where(&activities, |t| {
        t.kind == TaskKind::ContentRead && t.content.as_deref() == Some(content)
    });
    let first_seen = crate::users::service::first_seen(cx.db, user_id)
        .await?
        .unwrap_or(cx.now);
    let located = first_actionable(found, first_seen, cx.now, TaskError::ContentNotFound)?;
    Ok((admitted.campaign.id, located))
}

fn open_ref(campaign_id: i64, content: &str, user_id: i64) -> String {
    format!("open:{campaign_id}:{content}:{user_id}")
}

pub async fn open_content(
    cx: Context<'_>,
    user_id: i64,
    campaign_slug: &str,
    content: &str,
) -> Result<ContentOpened, TaskError> {
    let (campaign_id, located) = located(cx, user_id, campaign_slug, content).await?;
    let source_ref = open_ref(campaign_id, content, user_id);
    outbox::record(
        cx.db,
        &Event {
            user_id,
            kind: EventKind::ContentOpened,
            source_ref: &source_ref,
            campaign_id: Some(campaign_id),
            activity_id: Some(located.activity.id),
            subject: Some(content),
            at: cx.now,
        },
    )
    .await?;
    let opened_at = recorded_at(cx, EventKind::ContentOpened, &source_ref)
        .await?
        .unwrap_or(cx.now);
    Ok(ContentOpened {
        content: content.to_owned(),
        opened_at: shanghai(opened_at),
        min_seconds: located.task.min_seconds.unwrap_or(0),
    })
}

pub async fn read_content(
    cx: Context<'_>,
    user_id: i64,
    campaign_slug: &str,
    content: &str,
) -> Result<ContentRead, TaskError> {
    let (campaign_id, located) = located(cx, user_id, campaign_slug, content).await?;
    let opened_at = recorded_at(
        cx,
        EventKind::ContentOpened,
        &open_ref(campaign_id, content, user_id),
    )
    .await?
    .ok_or(TaskError::ContentNotOpened)?;
    let dwell = cx.now - opened_at;
    if dwell < chrono::Duration::seconds(i64::from(located.task.min_seconds.unwrap_or(0))) {
        return Err(TaskError::ReadTooShort);
    }
    let source_ref = format!("read:{campaign_id}:{content}:{user_id}");
    outbox::record(
        cx.db,
        &Event {
            user_id,
            kind: EventKind::ContentRead,
            source_ref: &source_ref,
            campaign_id: Some(campaign_id),
            activity_id: Some(located.activity.id),
            subject: Some(content),
            at: cx.now,
        },
    )
    .await?;
    let read_at = recorded_at(cx, EventKind::ContentRead, &source_ref)
        .await?
        .unwrap_or(cx.now);
    let paid = settle_user(cx, user_id).await?.unwrap_or_default();
    Ok(ContentRead {
        content: content.to_owned(),
        read_at: shanghai(read_at),
        paid,
    })
}

async fn recorded_at(
    cx: Context<'_>,
    kind: EventKind,
    source_ref: &str,
) -> Result<Option<DateTime<Utc>>, TaskError> {
    Ok(customer_events::Entity::find()
        .filter(customer_events::Column::Kind.eq(kind.as_str()))
        .filter(customer_events::Column::SourceRef.eq(source_ref))
        .one(cx.db)
        .await?
        .map(|e| e.occurred_at))
}
