//! Reading content (an article, a course): the dwell time is the server's, from the customer's first open of
//! the content to their report that it was read, so a client cannot claim a read it did not spend.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::lookup::{first_actionable, may_act, task_activities, tasks_where, Located};
use super::model::{TaskError, TaskKind};
use super::settle::{settle_after_action, TaskPaid};
use crate::calendar::shanghai;
use crate::campaigns::gate::{self, Scope};
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

/// The content tasks with this content the customer may act on now (a task activity's and a plan day's may
/// share one): each counts its own open and read.
async fn actionable(
    cx: Context<'_>,
    user_id: i64,
    campaign_slug: &str,
    content: &str,
) -> Result<(i64, Vec<Located>), TaskError> {
    let admitted = gate::admit(cx.db, cx.store, campaign_slug, Scope::Campaign, cx.now).await?;
    let activities = task_activities(cx.db, admitted.campaign.id).await?;
    let found = tasks_where(&activities, |t| {
        t.kind == TaskKind::ContentRead && t.content.as_deref() == Some(content)
    });
    let first_seen = crate::users::service::first_seen(cx.db, user_id)
        .await?
        .unwrap_or(cx.now);
    let open: Vec<Located> = found
        .iter()
        .filter(|located| may_act(located, first_seen, cx.now).is_ok())
        .cloned()
        .collect();
    if open.is_empty() {
        // Why not, as the first of them says.
        first_actionable(found, first_seen, cx.now, TaskError::ContentNotFound)?;
    }
    Ok((admitted.campaign.id, open))
}

/// An open or a read of `content` for one activity, by one customer: recorded once each.
fn source_ref(kind: EventKind, activity_id: i64, content: &str, user_id: i64) -> String {
    let step = if kind == EventKind::ContentOpened {
        "open"
    } else {
        "read"
    };
    format!("{step}:{activity_id}:{content}:{user_id}")
}

/// Records the customer's open or read of `content` for `located`'s activity, once; returns when the first
/// one was recorded.
async fn record_once(
    cx: Context<'_>,
    kind: EventKind,
    (user_id, campaign_id): (i64, i64),
    located: &Located,
    content: &str,
) -> Result<DateTime<Utc>, TaskError> {
    let source_ref = &source_ref(kind, located.activity.id, content, user_id);
    let event = Event {
        user_id,
        kind,
        source_ref,
        campaign_id: Some(campaign_id),
        activity_id: Some(located.activity.id),
        subject: Some(content),
        at: cx.now,
    };
    outbox::record(cx.db, &event).await?;
    Ok(outbox::recorded_at(cx.db, kind, source_ref)
        .await?
        .unwrap_or(cx.now))
}

pub async fn open_content(
    cx: Context<'_>,
    user_id: i64,
    campaign_slug: &str,
    content: &str,
) -> Result<ContentOpened, TaskError> {
    let (campaign_id, open) = actionable(cx, user_id, campaign_slug, content).await?;
    let mut first_open = cx.now;
    for located in &open {
        let who = (user_id, campaign_id);
        let opened = record_once(cx, EventKind::ContentOpened, who, located, content).await?;
        first_open = first_open.min(opened);
    }
    Ok(ContentOpened {
        content: content.to_owned(),
        opened_at: shanghai(first_open),
        min_seconds: open
            .iter()
            .filter_map(|l| l.task.min_seconds)
            .max()
            .unwrap_or(0),
    })
}

pub async fn read_content(
    cx: Context<'_>,
    user_id: i64,
    campaign_slug: &str,
    content: &str,
) -> Result<ContentRead, TaskError> {
    let (campaign_id, open) = actionable(cx, user_id, campaign_slug, content).await?;
    let (mut read, mut opened_any, mut read_at) = (false, false, cx.now);
    for located in &open {
        let Some(opened_at) = outbox::recorded_at(
            cx.db,
            EventKind::ContentOpened,
            &source_ref(
                EventKind::ContentOpened,
                located.activity.id,
                content,
                user_id,
            ),
        )
        .await?
        else {
            continue;
        };
        opened_any = true;
        let minimum = chrono::Duration::seconds(i64::from(located.task.min_seconds.unwrap_or(0)));
        if cx.now - opened_at < minimum {
            continue;
        }
        let who = (user_id, campaign_id);
        let at = record_once(cx, EventKind::ContentRead, who, located, content).await?;
        read_at = read_at.min(at);
        read = true;
    }
    match (read, opened_any) {
        (false, false) => return Err(TaskError::ContentNotOpened),
        (false, true) => return Err(TaskError::ReadTooShort),
        _ => {}
    }
    let paid = settle_after_action(cx, user_id).await;
    Ok(ContentRead {
        content: content.to_owned(),
        read_at: shanghai(read_at),
        paid,
    })
}
