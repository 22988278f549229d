//! A campaign's tasks as the customer sees them: each task or plan activity with every task's progress, the
//! check-in streak, a form's answers and an upload's review. A read: it writes and pays nothing.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::check_in::checked_days;
use super::forms::answers_of;
use super::lookup::task_activities;
use super::model::{TaskError, TaskSpec, Tip};
use super::progress::{board, events_of, streak};
use super::settle::activity_ids;
use super::uploads::{latest_uploads, UploadView};
use crate::calendar::{day_key, shanghai, ActivityKind, Status};
use crate::campaigns::gate::{self, GateError};
use crate::rewards::RewardSpec;
use crate::state::Context;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TaskBoard {
    pub campaign: String,
    pub check_in: CheckInSummary,
    pub activities: Vec<ActivityView>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CheckInSummary {
    pub checked_in_today: bool,
    /// Days in a row up to today (or yesterday, before today's check-in).
    pub streak: u32,
    pub total_days: u32,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ActivityView {
    pub slug: String,
    pub name: String,
    pub kind: ActivityKind,
    pub starts_at: String,
    pub ends_at: String,
    pub open: bool,
    /// Plans: whether this customer's first visit falls in the plan's window (who the plan is for).
    pub eligible: bool,
    /// What finishing every task pays (a plan: the new-customer pack).
    pub reward: Option<RewardSpec>,
    pub done: bool,
    pub tasks: Vec<TaskView>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TaskView {
    #[serde(flatten)]
    pub spec: TaskSpec,
    pub target: u32,
    pub progress: u32,
    pub done: bool,
    /// Plans: the day, when it unlocks, and its tip once unlocked.
    pub day: Option<u32>,
    pub unlocks_at: Option<String>,
    pub unlocked: bool,
    pub tip: Option<Tip>,
    /// A form task's answers, as last saved.
    pub answers: Option<Value>,
    /// An upload task's latest upload and its review.
    pub upload: Option<UploadView>,
}

pub async fn task_board(
    cx: Context<'_>,
    user_id: i64,
    campaign_slug: &str,
) -> Result<TaskBoard, TaskError> {
    // A draft is not published: customers see no more of it here than in its listing.
    let campaign = gate::find_campaign(cx.db, campaign_slug)
        .await?
        .filter(|c| c.status != Status::Draft.as_str())
        .ok_or(GateError::NotFound)?;
    let activities = task_activities(cx.db, campaign.id).await?;
    let since = activities
        .iter()
        .map(|a| a.starts_at)
        .min()
        .unwrap_or(campaign.starts_at);
    let seen = events_of(cx.db, user_id, since).await?;
    let first_seen = crate::users::service::first_seen(cx.db, user_id)
        .await?
        .unwrap_or(cx.now);
    let slugs = activity_ids(cx.db, campaign.id).await?;
    let mut views = Vec::new();
    for activity in &activities {
        let board = board(activity, &seen, &slugs, first_seen)
            .map_err(|e| TaskError::Misconfigured(format!("{}: {e}", activity.slug)))?;
        let answers = answers_of(cx.db, user_id, activity.id).await?;
        let mut uploads = latest_uploads(cx.db, user_id, activity).await?;
        let done = board.all_done();
        let tasks = board
            .tasks
            .iter()
            .map(|standing| {
                let unlocks: Option<DateTime<Utc>> = standing.day.map(|(_, at)| at);
                let unlocked = board.eligible && unlocks.is_none_or(|at| at <= cx.now);
                let day = standing.day.map(|(n, _)| n);
                let mut spec = standing.task.clone();
                if !unlocked {
                    // A locked day shows what is coming, not its content.
                    spec.body = None;
                }
                TaskView {
                    target: spec.target(),
                    progress: standing.progress.min(spec.target()),
                    done: standing.done,
                    day,
                    unlocks_at: unlocks.map(shanghai),
                    unlocked,
                    tip: match (unlocked, day) {
                        (true, Some(n)) => board.tips.get(n as usize - 1).cloned(),
                        _ => None,
                    },
                    answers: answers.get(&spec.id).cloned(),
                    upload: uploads.remove(&spec.id),
                    spec,
                }
            })
            .collect();
        views.push(ActivityView {
            slug: activity.slug.clone(),
            name: activity.name.clone(),
            kind: board.kind,
            starts_at: shanghai(activity.starts_at),
            ends_at: shanghai(activity.ends_at),
            open: gate::activity_open(activity, cx.now),
            eligible: board.eligible,
            reward: board.reward.clone(),
            done,
            tasks,
        });
    }
    let days = checked_days(cx.db, user_id, campaign.id).await?;
    let today = cx
        .now
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive();
    Ok(TaskBoard {
        campaign: campaign.slug,
        check_in: CheckInSummary {
            checked_in_today: days.iter().any(|d| d.to_string() == day_key(cx.now)),
            streak: streak(&days, today),
            total_days: days.len() as u32,
        },
        activities: views,
    })
}
